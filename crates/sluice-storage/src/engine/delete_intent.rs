//! Delete intents: what makes `DELETE`, `DROP SERIES` and `DROP MEASUREMENT` all-or-nothing
//! across the shards of a database, a crash included.
//!
//! Owns `<data>/_deletes/<sequence>.intent`. A delete spans shards, and each shard's
//! tombstones are its own file: a full disk or an EIO on the third of five shards would
//! otherwise leave two shards with the points deleted and three with them (the answer an
//! error, a retry needed). Instead, with every affected shard locked against snapshots and
//! compactions, the delete records the whole of itself first, as a database redo log would:
//!
//! ```text
//! 1. per shard: generation mark = newest file's last generation (files present now)
//! 2. intent file written atomically (temporary, fsync, rename, fsync directory)
//!      fails ─▶ the delete fails; nothing was changed (an intent a failed directory
//!               sync left in place is removed first; should that fail too, the
//!               intent may be durable, so the delete goes on as if step 2 succeeded)
//! 3. per shard: tombstones (and the cache's points) removed in memory ─▶ readers see it
//! 4. per shard: tombstones appended to the shard's file and fsynced
//!      all done ─▶ the intent file is removed (directory fsynced)
//!      one fails ─▶ the intent stays: the next checkpoint rewrites the shards' tombstone
//!                   files from memory and removes it; a start-up redoes it (below)
//! ```
//!
//! Once step 2 is done the delete is done: the answer is a success whatever step 4 meets,
//! and a start-up ([`recover`]) applies every intent left to the shards it names, before
//! the WAL is replayed, with the marks it recorded. A mark confines a tombstone to the files
//! that existed at the delete, so redoing an intent (twice, or after later writes reached
//! newer files) never removes a point written after it. A start-up that finds an intent
//! file it cannot read logs it and leaves it (nothing half-applied came from it: step 2
//! is atomic).
//!
//! File (little-endian):
//! ```text
//! magic "SLUICEDI" | version u32 = 1 | body_len u32 | crc32(body) u32 | body
//! body: database_id u64 | min_time i64 | max_time i64
//!       | shards u32 | shards × (shard_id u64 | generation_mark u64)
//!       | keys u32 | keys × (series key: u16 len + bytes)
//! ```
//! Its size is that of the delete's series keys, which the tombstone files hold anyway.

use std::path::{Path, PathBuf};

use sluice_base::fsio::{self, FileSystem};
use sluice_model::bytes::{put_bytes_u16, Reader};

/// The directory of intents under the data directory (not a number: never a shard's).
pub const INTENTS_DIRECTORY: &str = "_deletes";
const MAGIC: &[u8; 8] = b"SLUICEDI";
const VERSION: u32 = 1;
const SUFFIX: &str = ".intent";

/// One delete, as recorded before any shard is touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteIntent {
    /// the database deleted from
    pub database_id: u64,
    /// first deleted time
    pub min_time: i64,
    /// last deleted time
    pub max_time: i64,
    /// (shard id, generation mark) of every shard that had files when the delete ran
    pub shards: Vec<(u64, u64)>,
    /// the series deleted (canonical keys)
    pub series_keys: Vec<Vec<u8>>,
}

/// The intents directory of a data directory.
pub fn intents_directory(data_dir: &Path) -> PathBuf {
    data_dir.join(INTENTS_DIRECTORY)
}

fn file_name(sequence: u64) -> String {
    format!("{sequence:020}{SUFFIX}")
}

/// Where intent number `sequence` is written.
pub fn intent_path(data_dir: &Path, sequence: u64) -> PathBuf {
    intents_directory(data_dir).join(file_name(sequence))
}

/// The sequence number of an intent file's name.
fn parse_file_name(name: &str) -> Option<u64> {
    name.strip_suffix(SUFFIX)?.parse().ok()
}

fn encode(intent: &DeleteIntent) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&intent.database_id.to_le_bytes());
    body.extend_from_slice(&intent.min_time.to_le_bytes());
    body.extend_from_slice(&intent.max_time.to_le_bytes());
    body.extend_from_slice(&(intent.shards.len() as u32).to_le_bytes());
    for (shard_id, mark) in &intent.shards {
        body.extend_from_slice(&shard_id.to_le_bytes());
        body.extend_from_slice(&mark.to_le_bytes());
    }
    body.extend_from_slice(&(intent.series_keys.len() as u32).to_le_bytes());
    for key in &intent.series_keys {
        put_bytes_u16(&mut body, key);
    }
    let mut file = Vec::with_capacity(body.len() + 20);
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&VERSION.to_le_bytes());
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

fn decode(bytes: &[u8]) -> Option<DeleteIntent> {
    let mut reader = Reader::new(bytes);
    if reader.take(MAGIC.len()).ok()? != MAGIC || reader.u32().ok()? != VERSION {
        return None;
    }
    let length = reader.u32().ok()? as usize;
    let crc = reader.u32().ok()?;
    let body = reader.take(length).ok()?;
    if crc32fast::hash(body) != crc || reader.remaining() != 0 {
        return None;
    }
    let mut body = Reader::new(body);
    let database_id = body.u64().ok()?;
    let min_time = body.i64().ok()?;
    let max_time = body.i64().ok()?;
    let shard_count = body.u32().ok()?;
    let mut shards = Vec::new();
    for _ in 0..shard_count {
        shards.push((body.u64().ok()?, body.u64().ok()?));
    }
    let key_count = body.u32().ok()?;
    let mut series_keys = Vec::new();
    for _ in 0..key_count {
        series_keys.push(body.bytes_u16().ok()?.to_vec());
    }
    if body.remaining() != 0 {
        return None;
    }
    Some(DeleteIntent {
        database_id,
        min_time,
        max_time,
        shards,
        series_keys,
    })
}

/// Whether the intent file at `path` reads (for `sluice verify`: a start-up would log one
/// that does not and leave it unapplied).
pub fn check_file(path: &Path) -> std::io::Result<bool> {
    Ok(decode(&std::fs::read(path)?).is_some())
}

/// An intent on disk.
#[derive(Clone, Debug)]
pub struct IntentFile {
    /// where it is
    pub path: PathBuf,
    /// the shards it names
    pub shard_ids: Vec<u64>,
}

/// Writes `intent` durably as number `sequence`; on error nothing of it is left to replay
/// but what a failed directory sync may keep (then a start-up applies it whole).
pub fn write(
    file_system: &dyn FileSystem,
    data_dir: &Path,
    sequence: u64,
    intent: &DeleteIntent,
) -> std::io::Result<IntentFile> {
    let directory = intents_directory(data_dir);
    fsio::create_directory_durably(file_system, &directory)?;
    let name = file_name(sequence);
    fsio::write_file_atomically(file_system, &directory, &name, &encode(intent))?;
    Ok(IntentFile {
        path: directory.join(name),
        shard_ids: intent.shards.iter().map(|(id, _)| *id).collect(),
    })
}

/// Removes an intent whose tombstones are all in their files.
pub fn remove(file_system: &dyn FileSystem, intent: &IntentFile) -> std::io::Result<()> {
    match file_system.remove_file(&intent.path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    match intent.path.parent() {
        Some(directory) => file_system.sync_directory(directory),
        None => Ok(()),
    }
}

/// What a start-up found in the intents directory.
pub struct Found {
    /// readable intents, oldest first
    pub intents: Vec<(IntentFile, DeleteIntent)>,
    /// the next sequence number to use
    pub next_sequence: u64,
}

/// Reads every intent under `data_dir` (oldest first); removes leftover temporaries
/// (`read_only`: touches nothing); logs and leaves an intent that does not read.
pub fn load(file_system: &dyn FileSystem, data_dir: &Path, read_only: bool) -> Found {
    let directory = intents_directory(data_dir);
    let mut found = Found {
        intents: Vec::new(),
        next_sequence: 1,
    };
    let Ok(entries) = std::fs::read_dir(&directory) else {
        return found;
    };
    let mut numbered: Vec<(u64, PathBuf)> = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            if !read_only {
                let _ = file_system.remove_file(&path);
            }
            continue;
        }
        if let Some(sequence) = parse_file_name(&name) {
            numbered.push((sequence, path));
        }
    }
    numbered.sort();
    for (sequence, path) in numbered {
        found.next_sequence = found.next_sequence.max(sequence + 1);
        let intent = match std::fs::read(&path) {
            Ok(bytes) => decode(&bytes),
            Err(error) => {
                sluice_base::log_error!("storage", "cannot read a delete intent"; path = path.display(), error = error);
                continue;
            }
        };
        match intent {
            Some(intent) => {
                let shard_ids = intent.shards.iter().map(|(id, _)| *id).collect();
                found.intents.push((IntentFile { path, shard_ids }, intent));
            }
            None => {
                sluice_base::log_error!("storage", "a delete intent is damaged; left for the operator"; path = path.display());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_base::fsio::OsFileSystem;

    fn intent() -> DeleteIntent {
        DeleteIntent {
            database_id: 3,
            min_time: -5,
            max_time: i64::MAX,
            shards: vec![(1, 7), (4, 2)],
            series_keys: vec![b"cpu,host=a".to_vec(), b"cpu,host=b".to_vec()],
        }
    }

    #[test]
    fn an_intent_round_trips_and_damage_is_refused() {
        let bytes = encode(&intent());
        assert_eq!(decode(&bytes), Some(intent()));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[30] ^= 4;
        assert_eq!(decode(&flipped), None);
    }

    #[test]
    fn intents_load_in_order_and_removed_ones_are_gone() {
        let dir = std::env::temp_dir().join(format!("sluice-intents-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = write(&OsFileSystem, &dir, 9, &intent()).unwrap();
        let mut later = intent();
        later.database_id = 4;
        write(&OsFileSystem, &dir, 10, &later).unwrap();
        std::fs::write(intents_directory(&dir).join("x.tmp"), b"torn").unwrap();
        let found = load(&OsFileSystem, &dir, false);
        assert_eq!(found.next_sequence, 11);
        let ids: Vec<u64> = found.intents.iter().map(|(_, i)| i.database_id).collect();
        assert_eq!(ids, [3, 4]);
        assert!(!intents_directory(&dir).join("x.tmp").exists());
        remove(&OsFileSystem, &first).unwrap();
        let found = load(&OsFileSystem, &dir, false);
        assert_eq!(found.intents.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
