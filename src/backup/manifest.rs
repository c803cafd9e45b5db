//! The backup directory: its files, its manifest, and the check a restore makes before it
//! sends anything.
//!
//! ```text
//! DIR/meta.json            BackupMeta (databases, retention policies, CQs, users) as JSON
//! DIR/points-NNNNNN.lp.gz  the points of one shard: gzip of line protocol, ns times
//! DIR/manifest.json        Manifest: format, version, when, what, and per file its
//!                          kind, database, retention policy, shard range, bytes, SHA-256
//! ```
//!
//! The manifest is written last, atomically (temporary file, fsync, rename, directory
//! fsync), after every other file is fsynced: a directory without one is a torn backup.
//! [`read_verified`] refuses a backup unless the manifest is there and parses, names only
//! plain file names, and every file it names has exactly its size and SHA-256; it reads
//! every byte once and writes nothing.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::protocol::{hex, BackupMeta, FileHeader, FileKind};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The meta file's name.
pub const META_FILE: &str = "meta.json";
/// `format` of a Sluice backup manifest.
pub const MANIFEST_FORMAT: &str = "sluice-backup";
/// `version` of the manifest this build writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`]
    pub format: String,
    /// [`MANIFEST_VERSION`]
    pub version: u32,
    /// when the server began the backup (ns since the epoch)
    pub started_ns: i64,
    /// `-since`: only points at or after this time (ns) are in it
    pub since_ns: Option<i64>,
    /// `-db`: only this database is in it
    pub database: Option<String>,
    /// `-rp`: only this retention policy is in it
    pub retention_policy: Option<String>,
    /// points in every points file
    pub points: u64,
    /// every file of the backup, meta first
    pub files: Vec<ManifestFile>,
}

/// One file of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// what it is and, for points, where they belong
    #[serde(flatten)]
    pub header: FileHeader,
    /// its size
    pub bytes: u64,
    /// its SHA-256, lowercase hex
    pub sha256: String,
    /// points in it
    pub points: u64,
}

/// Why a backup directory cannot be restored; the text names what is wrong.
#[derive(Debug)]
pub struct BackupInvalid(pub String);

impl std::fmt::Display for BackupInvalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes `manifest` as `DIR/manifest.json` atomically (the last step of a backup).
pub fn write_manifest(directory: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    text.push(b'\n');
    crate::fsio::write_file_atomically(&crate::fsio::OsFileSystem, directory, MANIFEST_FILE, &text)
}

/// A file name a manifest may name: plain, inside the backup directory.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\')
        && name != MANIFEST_FILE
}

/// The manifest and meta of the backup in `directory`, once every file it names is checked.
pub fn read_verified(directory: &Path) -> Result<(Manifest, BackupMeta), BackupInvalid> {
    let manifest_path = directory.join(MANIFEST_FILE);
    let text = match std::fs::read(&manifest_path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupInvalid(format!(
                "{} is missing: the backup is incomplete (torn) or {} is not a backup; \
                 nothing was restored",
                manifest_path.display(),
                directory.display()
            )))
        }
        Err(error) => {
            return Err(BackupInvalid(format!(
                "reading {}: {error}",
                manifest_path.display()
            )))
        }
    };
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|error| {
        BackupInvalid(format!(
            "{} is not a valid manifest: {error}",
            manifest_path.display()
        ))
    })?;
    if manifest.format != MANIFEST_FORMAT || manifest.version != MANIFEST_VERSION {
        return Err(BackupInvalid(format!(
            "{} is format {:?} version {}; this build reads {MANIFEST_FORMAT:?} version \
             {MANIFEST_VERSION}",
            manifest_path.display(),
            manifest.format,
            manifest.version
        )));
    }
    for file in &manifest.files {
        verify_file(directory, file)?;
    }
    let meta_entry = manifest
        .files
        .iter()
        .find(|file| file.header.kind == FileKind::Meta)
        .ok_or_else(|| BackupInvalid(format!("{} names no meta file", manifest_path.display())))?;
    let meta_path = directory.join(&meta_entry.header.name);
    let meta_text = std::fs::read(&meta_path)
        .map_err(|error| BackupInvalid(format!("reading {}: {error}", meta_path.display())))?;
    let meta: BackupMeta = serde_json::from_slice(&meta_text)
        .map_err(|error| BackupInvalid(format!("{} is not valid: {error}", meta_path.display())))?;
    Ok((manifest, meta))
}

/// Checks one file's name, size and SHA-256 against its manifest entry.
fn verify_file(directory: &Path, file: &ManifestFile) -> Result<(), BackupInvalid> {
    let name = &file.header.name;
    if !is_plain_file_name(name) {
        return Err(BackupInvalid(format!(
            "the manifest names {name:?}, which is not a file of the backup directory"
        )));
    }
    let path: PathBuf = directory.join(name);
    let mut opened = std::fs::File::open(&path).map_err(|error| {
        BackupInvalid(format!(
            "{}: {error} (named in the manifest)",
            path.display()
        ))
    })?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let read = match opened.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(BackupInvalid(format!(
                    "reading {}: {error}",
                    path.display()
                )))
            }
        };
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    if bytes != file.bytes {
        return Err(BackupInvalid(format!(
            "{} has {bytes} bytes, the manifest says {} (truncated or changed)",
            path.display(),
            file.bytes
        )));
    }
    let sha256 = hex(&hasher.finalize());
    if sha256 != file.sha256 {
        return Err(BackupInvalid(format!(
            "{} is corrupt: its SHA-256 is {sha256}, the manifest says {}",
            path.display(),
            file.sha256
        )));
    }
    Ok(())
}
