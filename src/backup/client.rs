//! `sluice backup` and `sluice restore`: the client side of the backup protocol.
//!
//! A backup writes into a new or empty directory: each file as the server streams it,
//! checked against the size and SHA-256 the server computed and fsynced, then the manifest
//! last (`manifest::write_manifest`). A backup that fails leaves no manifest, so it can
//! never be restored by mistake.
//!
//! A restore first checks the whole backup (`manifest::read_verified`: manifest present,
//! every file's size and SHA-256) and sends nothing unless all of it is intact; then it
//! asks the server to create the databases (refused if one exists), sends each points file
//! as chunks of whole lines (`line_protocol::scan::complete_lines_end`, at most
//! `BACKUP_RESTORE_CHUNK_BYTES` each) and waits for the server's summary, which comes once
//! every point is durable. With `-newdb` the continuous queries of the renamed database are
//! not restored: their statements name the old database (the summary says so).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::manifest::{
    is_plain_file_name, read_verified, write_manifest, Manifest, ManifestFile, MANIFEST_FORMAT,
    MANIFEST_VERSION,
};
use super::protocol::{
    hex, parse_json, read_frame, read_json, write_frame, write_json, BackupSummary, DataTarget,
    FileHeader, FileKind, FileTrailer, FrameKind, Hello, Request, RestoreSummary, PROTOCOL_VERSION,
};
use crate::limits::{BACKUP_FRAME_MAX_BYTES, BACKUP_IO_TIMEOUT_MS, BACKUP_RESTORE_CHUNK_BYTES};

/// `sluice backup`'s options.
#[derive(Clone, Debug)]
pub struct BackupOptions {
    /// `-host`: the server's backup address
    pub host: String,
    /// `-db`
    pub database: Option<String>,
    /// `-rp`
    pub retention_policy: Option<String>,
    /// `-since`, ns
    pub since_ns: Option<i64>,
    /// where the backup goes (new or empty)
    pub directory: PathBuf,
}

/// `sluice restore`'s options.
#[derive(Clone, Debug)]
pub struct RestoreOptions {
    /// `-host`: the server's backup address
    pub host: String,
    /// `-db`: only this database of the backup
    pub database: Option<String>,
    /// `-newdb`: restore `-db` under this name
    pub new_database: Option<String>,
    /// the backup
    pub directory: PathBuf,
}

fn connect(host: &str) -> Result<TcpStream, String> {
    let addresses: Vec<_> = host
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?
        .collect();
    let timeout = Duration::from_millis(BACKUP_IO_TIMEOUT_MS);
    let mut last_error = format!("{host} resolves to no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(mut stream) => {
                let setup = stream
                    .set_read_timeout(Some(timeout))
                    .and_then(|()| stream.set_write_timeout(Some(timeout)));
                setup.map_err(|e| format!("connecting to {host}: {e}"))?;
                // The server speaks first: Ready when a backup thread took the connection,
                // Error when every one is busy.
                let mut payload = Vec::new();
                read_frame(&mut stream, &mut payload)
                    .map_err(|e| format!("backup service at {host}: {e}"))?;
                return Ok(stream);
            }
            Err(error) => {
                last_error = format!("connecting to the backup service at {host}: {error}")
            }
        }
    }
    Err(last_error)
}

fn hello(stream: &mut TcpStream, request: Request) -> Result<(), String> {
    let message = Hello {
        protocol: PROTOCOL_VERSION,
        request,
    };
    write_json(stream, FrameKind::Request, &message)
        .map_err(|e| format!("sending the request: {e}"))
}

/// Takes a backup into `options.directory`; returns its manifest.
pub fn backup(options: &BackupOptions) -> Result<Manifest, String> {
    let directory = &options.directory;
    prepare_directory(directory)?;
    let mut stream = connect(&options.host)?;
    hello(
        &mut stream,
        Request::Backup {
            database: options.database.clone(),
            retention_policy: options.retention_policy.clone(),
            since_ns: options.since_ns,
        },
    )?;
    let torn = |error: String| {
        format!(
            "{error}; the backup in {} is incomplete and has no manifest, so it will not \
             be restored",
            directory.display()
        )
    };
    let mut files = Vec::new();
    let mut payload = Vec::new();
    let summary: BackupSummary = loop {
        match read_frame(&mut stream, &mut payload).map_err(|e| torn(e.to_string()))? {
            FrameKind::FileStart => {
                let header: FileHeader = parse_json(&payload).map_err(|e| torn(e.to_string()))?;
                files.push(receive_file(&mut stream, directory, header).map_err(torn)?);
            }
            FrameKind::Done => break parse_json(&payload).map_err(|e| torn(e.to_string()))?,
            other => return Err(torn(format!("unexpected {other:?} frame"))),
        }
    };
    crate::fsio::sync_directory(directory).map_err(|e| torn(format!("syncing: {e}")))?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        version: MANIFEST_VERSION,
        started_ns: summary.started_ns,
        since_ns: options.since_ns,
        database: options.database.clone(),
        retention_policy: options.retention_policy.clone(),
        points: summary.points,
        files,
    };
    write_manifest(directory, &manifest).map_err(|e| torn(format!("writing the manifest: {e}")))?;
    Ok(manifest)
}

/// A backup goes into a directory of its own: new, or empty.
fn prepare_directory(directory: &Path) -> Result<(), String> {
    match std::fs::read_dir(directory) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{} is not empty: a backup goes into a new or empty directory",
                    directory.display()
                ));
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(directory)
                .map_err(|e| format!("creating {}: {e}", directory.display()))
        }
        Err(error) => Err(format!("reading {}: {error}", directory.display())),
    }
}

/// Writes the data frames of one file to `directory/name`, checks them against the
/// trailer, fsyncs the file.
fn receive_file(
    stream: &mut TcpStream,
    directory: &Path,
    header: FileHeader,
) -> Result<ManifestFile, String> {
    if !is_plain_file_name(&header.name) {
        return Err(format!("the server sent a file named {:?}", header.name));
    }
    let path = directory.join(&header.name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut payload = Vec::new();
    let trailer: FileTrailer = loop {
        match read_frame(stream, &mut payload).map_err(|e| e.to_string())? {
            FrameKind::Data => {
                file.write_all(&payload)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                hasher.update(&payload);
                bytes += payload.len() as u64;
            }
            FrameKind::FileEnd => break parse_json(&payload).map_err(|e| e.to_string())?,
            other => return Err(format!("unexpected {other:?} frame in {}", header.name)),
        }
    };
    let sha256 = hex(&hasher.finalize());
    if trailer.bytes != bytes || trailer.sha256 != sha256 {
        return Err(format!(
            "{} arrived damaged: {bytes} bytes, SHA-256 {sha256}; the server sent {} bytes, \
             SHA-256 {}",
            header.name, trailer.bytes, trailer.sha256
        ));
    }
    file.sync_all()
        .map_err(|e| format!("syncing {}: {e}", path.display()))?;
    Ok(ManifestFile {
        header,
        bytes,
        sha256,
        points: trailer.points,
    })
}

/// What a restore did, for the command to print.
#[derive(Debug)]
pub struct RestoreReport {
    /// the server's summary
    pub summary: RestoreSummary,
    /// continuous queries left out (a renamed database), as `database.name`
    pub skipped_continuous_queries: Vec<String>,
}

/// Checks the backup in `options.directory`, then restores it into the server.
pub fn restore(options: &RestoreOptions) -> Result<RestoreReport, String> {
    let directory = &options.directory;
    let (manifest, meta) = read_verified(directory).map_err(|e| e.to_string())?;
    let mut skipped_continuous_queries = Vec::new();
    // (name in the backup, name to create)
    let mut renames: Vec<(String, String)> = Vec::new();
    let mut databases = Vec::new();
    for database in &meta.databases {
        if options
            .database
            .as_deref()
            .is_some_and(|wanted| wanted != database.name)
        {
            continue;
        }
        let mut restored = database.clone();
        if let Some(new_name) = &options.new_database {
            restored.name = new_name.clone();
            for cq in restored.continuous_queries.drain(..) {
                skipped_continuous_queries.push(format!("{}.{}", database.name, cq.name));
            }
        }
        renames.push((database.name.clone(), restored.name.clone()));
        databases.push(restored);
    }
    if let Some(wanted) = &options.database {
        if databases.is_empty() {
            let held: Vec<&str> = meta.databases.iter().map(|db| db.name.as_str()).collect();
            return Err(format!(
                "database {wanted:?} is not in the backup in {} (it holds: {}); nothing was \
                 restored",
                directory.display(),
                held.join(", ")
            ));
        }
    }
    // Users belong to the whole server: restored only by a restore of everything.
    let users = if options.database.is_none() {
        meta.users.clone()
    } else {
        Vec::new()
    };
    let mut stream = connect(&options.host)?;
    hello(&mut stream, Request::Restore { databases, users })?;
    let mut payload = Vec::new();
    let failed = |e: super::protocol::FrameError| format!("restore refused: {e}");
    let kind = read_frame(&mut stream, &mut payload).map_err(failed)?;
    if kind != FrameKind::Ready {
        return Err(format!("restore: unexpected {kind:?} frame"));
    }
    for file in &manifest.files {
        if file.header.kind != FileKind::Points {
            continue;
        }
        let (Some(database), Some(retention_policy)) =
            (&file.header.database, &file.header.retention_policy)
        else {
            return Err(format!(
                "{}: the manifest names no database",
                file.header.name
            ));
        };
        let Some((_, target)) = renames.iter().find(|(from, _)| from == database) else {
            continue;
        };
        let target = DataTarget {
            database: target.clone(),
            retention_policy: retention_policy.clone(),
        };
        send_points(&mut stream, &directory.join(&file.header.name), &target)
            .map_err(|e| format!("{e}; the server dropped the databases it created"))?;
    }
    write_frame(&mut stream, FrameKind::Done, &[]).map_err(|e| format!("restore: {e}"))?;
    let summary: RestoreSummary =
        read_json(&mut stream, FrameKind::Done, &mut payload).map_err(failed)?;
    Ok(RestoreReport {
        summary,
        skipped_continuous_queries,
    })
}

/// Sends one points file as chunks of whole lines.
fn send_points(stream: &mut TcpStream, path: &Path, target: &DataTarget) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let mut lines = GzDecoder::new(std::io::BufReader::new(file));
    write_json(stream, FrameKind::FileStart, target).map_err(|e| format!("restore: {e}"))?;
    let mut chunk: Vec<u8> = Vec::with_capacity(BACKUP_RESTORE_CHUNK_BYTES);
    let mut at_end = false;
    while !at_end || !chunk.is_empty() {
        // Fill up to a chunk (more if one line is longer), then send the whole lines.
        let want = if chunk.len() < BACKUP_RESTORE_CHUNK_BYTES {
            BACKUP_RESTORE_CHUNK_BYTES
        } else {
            (chunk.len() * 2).min(BACKUP_FRAME_MAX_BYTES)
        };
        let before = chunk.len();
        chunk.resize(want, 0);
        let read = read_some(&mut lines, &mut chunk[before..])
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        chunk.truncate(before + read);
        at_end = read == 0;
        let end = crate::line_protocol::scan::complete_lines_end(&chunk, !at_end);
        if end == 0 {
            if chunk.len() >= BACKUP_FRAME_MAX_BYTES {
                return Err(format!(
                    "{}: a line longer than {BACKUP_FRAME_MAX_BYTES} bytes",
                    path.display()
                ));
            }
            continue;
        }
        write_frame(stream, FrameKind::Data, &chunk[..end]).map_err(|e| server_gone(stream, e))?;
        chunk.drain(..end);
    }
    write_frame(stream, FrameKind::FileEnd, &[]).map_err(|e| server_gone(stream, e))
}

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn read_some(input: &mut dyn Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// A failed send: the server's own error, if it sent one before closing.
fn server_gone(stream: &mut TcpStream, error: std::io::Error) -> String {
    let mut payload = Vec::new();
    match read_frame(stream, &mut payload) {
        Err(super::protocol::FrameError::Peer(text)) => format!("restore refused: {text}"),
        _ => format!("restore: {error}"),
    }
}
