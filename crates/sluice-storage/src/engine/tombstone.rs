//! Tombstones of one shard: deleted time ranges of series, applied to the files that existed
//! when the delete ran.
//!
//! A tombstone `(series key, min_time, max_time, generation_mark)` removes the series' points
//! in `[min_time, max_time]` from every file whose last generation is `<= generation_mark`
//! (the files present at the delete). Files written later — snapshots of points written after
//! the delete, or compactions that already applied it — are not touched, so a point written
//! again after a DELETE stays. The cache is cleaned directly by the delete, and the engine
//! checkpoints before deleting (so no WAL segment holds an older copy of a deleted point).
//!
//! Persisted in `<shard>/tombstones`, append-only, fsynced before the delete returns:
//! ```text
//! header: magic "SLUICETB" | version u32 = 1
//! record: payload_len u32 | crc32(payload) u32 | payload
//! payload: min_time i64 | max_time i64 | generation_mark u64 | series key (u16 len + bytes)
//! ```
//! A torn tail (the delete it held was not acknowledged) is cut off when loading and after a
//! failed append, so later deletes never sit behind it; a corrupt record with records after
//! it is logged with its offset and skipped, and the file rewritten (see [`load`]).
//! [`check_file`] reads the file the same way (one scanner) for `sluice verify`, telling a
//! torn last record from a bad one that records follow.
//! The file is rewritten (temporary, fsync, rename) without the tombstones no file needs
//! any more once compactions have absorbed them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::column::Column;
use sluice_base::fsio::FileSystem;
use sluice_model::bytes::{put_bytes_u16, Reader};

const FILE_NAME: &str = "tombstones";
const MAGIC: &[u8; 8] = b"SLUICETB";
const VERSION: u32 = 1;
const HEADER_BYTES: usize = 12;
/// Bytes before a record's payload: its length and checksum.
const RECORD_HEADER_BYTES: usize = 8;

/// One deleted range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tombstone {
    /// first deleted time
    pub min_time: i64,
    /// last deleted time
    pub max_time: i64,
    /// applies to files whose last generation is at most this
    pub generation_mark: u64,
}

/// Every tombstone of a shard, by series key.
#[derive(Clone, Debug, Default)]
pub struct Tombstones {
    by_series: HashMap<Vec<u8>, Vec<Tombstone>>,
}

impl Tombstones {
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_series.is_empty()
    }

    /// The tombstones of `series_key` that apply to a file whose last generation is
    /// `file_generation`.
    pub fn applicable<'a>(
        &'a self,
        series_key: &[u8],
        file_generation: u64,
    ) -> impl Iterator<Item = &'a Tombstone> + 'a {
        self.by_series
            .get(series_key)
            .into_iter()
            .flatten()
            .filter(move |t| file_generation <= t.generation_mark)
    }

    /// Whether any tombstone applies to the series in a file of `file_generation`.
    pub fn touches(&self, series_key: &[u8], file_generation: u64) -> bool {
        self.applicable(series_key, file_generation)
            .next()
            .is_some()
    }

    /// Removes the deleted points from a column read from a file of `file_generation`.
    pub fn apply(&self, series_key: &[u8], file_generation: u64, column: &mut Column) {
        for tombstone in self.applicable(series_key, file_generation) {
            column.remove_range(tombstone.min_time, tombstone.max_time);
        }
    }

    /// Whether `series_key` already has exactly `tombstone`.
    pub fn contains(&self, series_key: &[u8], tombstone: &Tombstone) -> bool {
        self.by_series
            .get(series_key)
            .is_some_and(|held| held.contains(tombstone))
    }

    pub(crate) fn insert(&mut self, series_key: &[u8], tombstone: Tombstone) {
        self.by_series
            .entry(series_key.to_vec())
            .or_default()
            .push(tombstone);
    }

    /// Keeps only tombstones that still apply to a file of one of `file_generations`.
    pub fn retain_needed(&mut self, oldest_file_generation: Option<u64>) -> bool {
        let before: usize = self.by_series.values().map(Vec::len).sum();
        match oldest_file_generation {
            None => self.by_series.clear(),
            Some(oldest) => {
                for tombstones in self.by_series.values_mut() {
                    tombstones.retain(|t| oldest <= t.generation_mark);
                }
                self.by_series
                    .retain(|_, tombstones| !tombstones.is_empty());
            }
        }
        let after: usize = self.by_series.values().map(Vec::len).sum();
        after != before
    }
}

/// The tombstone file of a shard directory.
pub fn tombstone_path(shard_directory: &Path) -> PathBuf {
    shard_directory.join(FILE_NAME)
}

fn encode_record(series_key: &[u8], tombstone: &Tombstone, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(series_key.len() + 26);
    payload.extend_from_slice(&tombstone.min_time.to_le_bytes());
    payload.extend_from_slice(&tombstone.max_time.to_le_bytes());
    payload.extend_from_slice(&tombstone.generation_mark.to_le_bytes());
    put_bytes_u16(&mut payload, series_key);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

fn header() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes
}

/// Loads a shard's tombstones (none when the file is missing or unreadable).
///
/// A torn tail (a delete cut by a crash, never acknowledged) is cut off the file, so the
/// next delete is appended after the last whole record, not behind the torn one where no
/// load would reach it. A bad record with bytes after it is damage, not a crash: it is
/// logged as an error with its offset, the records after it are read on (when its length
/// is readable), and the file is rewritten from what was read. `read_only` (export) reads
/// the same and writes nothing.
pub fn load(file_system: &dyn FileSystem, shard_directory: &Path, read_only: bool) -> Tombstones {
    let mut tombstones = Tombstones::default();
    let path = tombstone_path(shard_directory);
    let Ok(bytes) = std::fs::read(&path) else {
        return tombstones;
    };
    if bytes.len() < HEADER_BYTES && header().starts_with(&bytes) {
        return tombstones; // a first append cut back or torn: it never held a record
    }
    let mut damaged = false;
    let mut start = 0;
    loop {
        let piece = if start == 0 {
            bytes.clone()
        } else {
            let mut piece = header();
            piece.extend_from_slice(bytes.get(start..).unwrap_or_default());
            piece
        };
        let shift = start.saturating_sub(HEADER_BYTES);
        match scan(&piece, |key, tombstone| tombstones.insert(key, tombstone)) {
            ScanEnd::Clean => break,
            ScanEnd::BadHeader => {
                sluice_base::log_error!("storage", "tombstone file has a bad header; ignored"; path = path.display());
                return tombstones;
            }
            ScanEnd::Damaged {
                offset,
                reaches_end: true,
            } => {
                let offset = if offset == 0 { 0 } else { offset + shift };
                sluice_base::log_warn!("storage", "cut off the torn tail of a tombstone file"; path = path.display(), offset = offset);
                if !damaged && !read_only {
                    cut_torn_tail(file_system, &path, offset);
                }
                break;
            }
            ScanEnd::Damaged { offset, .. } => {
                damaged = true;
                let file_offset = offset + shift;
                sluice_base::log_error!("storage", "corrupt tombstone record skipped"; path = path.display(), offset = file_offset);
                match record_end(&piece, offset) {
                    Some(end) => start = end + shift,
                    None => {
                        sluice_base::log_error!("storage", "tombstones after a corrupt record cannot be read"; path = path.display(), offset = file_offset);
                        break;
                    }
                }
            }
        }
    }
    if damaged && !read_only {
        if let Err(error) = rewrite(file_system, shard_directory, &tombstones) {
            sluice_base::log_error!("storage", "cannot rewrite a damaged tombstone file"; path = path.display(), error = error);
        }
    }
    tombstones
}

/// Where the record at `offset` ends, by its length field, when that lies inside `bytes`.
fn record_end(bytes: &[u8], offset: usize) -> Option<usize> {
    let length = Reader::new(bytes.get(offset..)?).u32().ok()? as usize;
    let end = offset
        .checked_add(RECORD_HEADER_BYTES)?
        .checked_add(length)?;
    (end < bytes.len()).then_some(end)
}

/// Cuts a tombstone file back to `length` (its last whole record), or removes it when not
/// even the header is whole.
fn cut_torn_tail(file_system: &dyn FileSystem, path: &Path, length: usize) {
    let result = if length < HEADER_BYTES {
        file_system.remove_file(path)
    } else {
        file_system
            .open_append(path)
            .and_then(|mut file| file.truncate_and_sync(length as u64))
    };
    if let Err(error) = result {
        sluice_base::log_error!("storage", "cannot cut the torn tail of a tombstone file"; path = path.display(), error = error);
    }
}

/// Where the reading of a tombstone file stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanEnd {
    /// at the end of the file, after its last whole record
    Clean,
    /// at once: the file does not start with the tombstone header
    BadHeader,
    /// at the record starting at `offset`, which is torn, fails its checksum or does not
    /// decode; everything from there on is ignored
    Damaged {
        /// file offset of the bad record
        offset: usize,
        /// whether the bad record is the last thing in the file (it runs to the end or past
        /// it), as a write cut by a crash leaves it; otherwise bytes follow it
        reaches_end: bool,
    },
}

/// What [`check_file`] found in a shard's tombstone file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileCheck {
    /// records read before the scan stopped
    pub records: usize,
    /// where it stopped
    pub end: ScanEnd,
}

/// Reads a shard's tombstone file as [`load`] does, without keeping the tombstones, and
/// says where the reading stopped; `None` when the shard has no tombstone file. Never
/// writes (for `sluice verify`).
pub fn check_file(shard_directory: &Path) -> std::io::Result<Option<FileCheck>> {
    let bytes = match std::fs::read(tombstone_path(shard_directory)) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut records = 0;
    let end = scan(&bytes, |_, _| records += 1);
    Ok(Some(FileCheck { records, end }))
}

/// Hands every whole record of a tombstone file to `visit`, in order; stops at the first
/// bad one. The one reading of the format, shared by [`load`] and [`check_file`] so that
/// `sluice verify` judges a file exactly as the server reads it.
fn scan(bytes: &[u8], mut visit: impl FnMut(&[u8], Tombstone)) -> ScanEnd {
    let expected_header = header();
    if bytes.len() < HEADER_BYTES && expected_header.starts_with(bytes) {
        // The write that created the file was cut short: it held no acknowledged delete.
        return ScanEnd::Damaged {
            offset: 0,
            reaches_end: true,
        };
    }
    if bytes.get(..HEADER_BYTES) != Some(expected_header.as_slice()) {
        return ScanEnd::BadHeader;
    }
    let mut offset = HEADER_BYTES;
    while let Some(rest) = bytes.get(offset..).filter(|rest| !rest.is_empty()) {
        let mut reader = Reader::new(rest);
        let length = reader.u32().ok().map(|length| length as usize);
        let record = (|| {
            let crc = reader.u32().ok()?;
            let payload = reader.take(length?).ok()?;
            if crc32fast::hash(payload) != crc {
                return None;
            }
            let mut fields = Reader::new(payload);
            let tombstone = Tombstone {
                min_time: fields.i64().ok()?,
                max_time: fields.i64().ok()?,
                generation_mark: fields.u64().ok()?,
            };
            Some((fields.bytes_u16().ok()?, tombstone))
        })();
        let Some((key, tombstone)) = record else {
            let record_bytes = length.map_or(usize::MAX, |length| {
                length.saturating_add(RECORD_HEADER_BYTES)
            });
            return ScanEnd::Damaged {
                offset,
                reaches_end: record_bytes >= rest.len(),
            };
        };
        visit(key, tombstone);
        offset = bytes.len() - reader.remaining();
    }
    ScanEnd::Clean
}

/// Appends tombstones for `series_keys` to the file and to `set`; fsyncs before returning.
pub fn append(
    file_system: &dyn FileSystem,
    shard_directory: &Path,
    set: &mut Tombstones,
    series_keys: &[Vec<u8>],
    tombstone: Tombstone,
) -> std::io::Result<()> {
    append_to_file(file_system, shard_directory, series_keys, tombstone)?;
    for key in series_keys {
        set.insert(key, tombstone);
    }
    Ok(())
}

/// Appends tombstones for `series_keys` to the file; fsyncs before returning. On error the
/// file holds what it held before (a failed append is cut off) unless the cut failed too.
pub fn append_to_file(
    file_system: &dyn FileSystem,
    shard_directory: &Path,
    series_keys: &[Vec<u8>],
    tombstone: Tombstone,
) -> std::io::Result<()> {
    sluice_base::fsio::create_directory_durably(file_system, shard_directory)?;
    let path = tombstone_path(shard_directory);
    let exists = path.exists();
    let mut length_before = match std::fs::metadata(&path) {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
        Err(error) => return Err(error),
    };
    let mut file = file_system.open_append(&path)?;
    // Shorter than its header: a first append that failed (cut back to nothing) or that a
    // crash tore. Nothing in it reads, and records appended behind it never would: start
    // it again with the header (found by the engine simulation, seed 40904).
    let fresh = length_before < HEADER_BYTES as u64;
    if fresh && length_before > 0 {
        file.truncate_and_sync(0)?;
        length_before = 0;
    }
    let mut bytes = if fresh { header() } else { Vec::new() };
    for key in series_keys {
        encode_record(key, &tombstone, &mut bytes);
    }
    if let Err(error) = file.write_all(&bytes).and_then(|()| file.sync_data()) {
        // A failed append (full disk) may leave part of a record: cut it off, or the next
        // delete would land behind it, where no load reaches.
        if let Err(cut_error) = file.truncate_and_sync(length_before) {
            sluice_base::log_error!("storage", "cannot cut a failed append off a tombstone file"; path = path.display(), error = cut_error);
        }
        return Err(error);
    }
    if !exists {
        file_system.sync_directory(shard_directory)?;
    }
    Ok(())
}

/// Rewrites the file with exactly `set` (after compactions absorbed some), atomically.
pub fn rewrite(
    file_system: &dyn FileSystem,
    shard_directory: &Path,
    set: &Tombstones,
) -> std::io::Result<()> {
    let path = tombstone_path(shard_directory);
    if set.is_empty() {
        return match file_system.remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => file_system.sync_directory(shard_directory),
        };
    }
    let mut bytes = header();
    for (key, tombstones) in &set.by_series {
        for tombstone in tombstones {
            encode_record(key, tombstone, &mut bytes);
        }
    }
    sluice_base::fsio::write_file_atomically(file_system, shard_directory, FILE_NAME, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::ColumnValues;
    use sluice_base::fsio::OsFileSystem;

    #[test]
    fn persisted_tombstones_apply_to_old_files_only() {
        let dir = std::env::temp_dir().join(format!("sluice-tomb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut set = Tombstones::default();
        let tombstone = Tombstone {
            min_time: 2,
            max_time: 3,
            generation_mark: 5,
        };
        append(&OsFileSystem, &dir, &mut set, &[b"cpu".to_vec()], tombstone).unwrap();
        let loaded = load(&OsFileSystem, &dir, false);
        let mut column = Column {
            times: vec![1, 2, 3, 4],
            values: ColumnValues::Integer(vec![1, 2, 3, 4]),
        };
        let mut newer = column.clone();
        loaded.apply(b"cpu", 5, &mut column);
        assert_eq!(column.times, vec![1, 4]);
        loaded.apply(b"cpu", 6, &mut newer);
        assert_eq!(newer.times.len(), 4);
        // A torn tail is ignored.
        let path = tombstone_path(&dir);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[9, 0, 0, 0, 1]);
        std::fs::write(&path, &bytes).unwrap();
        assert!(load(&OsFileSystem, &dir, false).touches(b"cpu", 1));
        let mut pruned = loaded.clone();
        assert!(pruned.retain_needed(Some(6)));
        rewrite(&OsFileSystem, &dir, &pruned).unwrap();
        assert!(load(&OsFileSystem, &dir, false).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A crash mid-delete leaves a torn record; the next delete used to be appended behind
    /// it, where no load reached it, so its points came back after a restart.
    #[test]
    fn a_delete_after_a_torn_tail_survives_reload() {
        let dir = std::env::temp_dir().join(format!("sluice-tomb-torn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let tombstone = Tombstone {
            min_time: 1,
            max_time: 2,
            generation_mark: 3,
        };
        append(
            &OsFileSystem,
            &dir,
            &mut Tombstones::default(),
            &[b"cpu".to_vec()],
            tombstone,
        )
        .unwrap();
        let path = tombstone_path(&dir);
        let mut bytes = std::fs::read(&path).unwrap();
        let torn = [9u8, 0, 0, 0, 1, 2];
        bytes.extend_from_slice(&torn);
        std::fs::write(&path, &bytes).unwrap();
        let mut set = load(&OsFileSystem, &dir, false);
        assert!(set.touches(b"cpu", 1));
        append(&OsFileSystem, &dir, &mut set, &[b"mem".to_vec()], tombstone).unwrap();
        let reloaded = load(&OsFileSystem, &dir, false);
        assert!(reloaded.touches(b"cpu", 1) && reloaded.touches(b"mem", 1));
        assert_eq!(check_file(&dir).unwrap().unwrap().end, ScanEnd::Clean);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Found by the engine simulation (seed 40904): the first append to a shard's tombstone
    /// file failed its fsync and was cut back to nothing; the next delete saw the file and
    /// appended its records without a header, so the next start ignored the whole file and
    /// the deleted points came back. The same for a header a crash tore.
    #[test]
    fn a_delete_after_a_failed_first_append_survives_reload() {
        use sluice_base::simulated_disk::{Faults, SimFileSystem};
        let dir = std::env::temp_dir().join(format!("sluice-tomb-first-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let tombstone = Tombstone {
            min_time: 1,
            max_time: 2,
            generation_mark: 3,
        };
        let disk = SimFileSystem::default();
        disk.inject(Faults {
            sync_eio: true,
            ..Faults::default()
        });
        let mut set = Tombstones::default();
        assert!(append(&disk, &dir, &mut set, &[b"cpu".to_vec()], tombstone).is_err());
        append(&disk, &dir, &mut set, &[b"mem".to_vec()], tombstone).unwrap();
        assert!(
            load(&disk, &dir, false).touches(b"mem", 1),
            "the second delete is lost"
        );
        std::fs::write(tombstone_path(&dir), &header()[..5]).unwrap();
        append(&disk, &dir, &mut set, &[b"disk".to_vec()], tombstone).unwrap();
        assert!(
            load(&disk, &dir, false).touches(b"disk", 1),
            "lost behind a torn header"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `check_file` reads as `load` does and tells a torn last record from a bad one with
    /// records after it (whose deletes `load` would drop).
    #[test]
    fn check_file_tells_a_torn_tail_from_damage_before_records() {
        let dir = std::env::temp_dir().join(format!("sluice-tomb-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(check_file(&dir).unwrap(), None);
        let tombstone = Tombstone {
            min_time: 1,
            max_time: 2,
            generation_mark: 3,
        };
        let keys = [b"cpu".to_vec(), b"mem".to_vec()];
        append(
            &OsFileSystem,
            &dir,
            &mut Tombstones::default(),
            &keys,
            tombstone,
        )
        .unwrap();
        let path = tombstone_path(&dir);
        let whole = std::fs::read(&path).unwrap();
        let clean = check_file(&dir).unwrap().unwrap();
        assert_eq!((clean.records, clean.end), (2, ScanEnd::Clean));
        let second = HEADER_BYTES + (whole.len() - HEADER_BYTES) / 2;
        std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        let torn = check_file(&dir).unwrap().unwrap();
        let torn_end = ScanEnd::Damaged {
            offset: second,
            reaches_end: true,
        };
        assert_eq!((torn.records, torn.end), (1, torn_end));
        let mut flipped = whole.clone();
        flipped[HEADER_BYTES + RECORD_HEADER_BYTES + 1] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let damaged = check_file(&dir).unwrap().unwrap();
        let damaged_end = ScanEnd::Damaged {
            offset: HEADER_BYTES,
            reaches_end: false,
        };
        assert_eq!((damaged.records, damaged.end), (0, damaged_end));
        let resynced = load(&OsFileSystem, &dir, true);
        assert!(
            !resynced.touches(b"cpu", 1),
            "the damaged record is skipped"
        );
        assert!(
            resynced.touches(b"mem", 1),
            "the record after it is read on"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            flipped,
            "read-only load writes nothing"
        );
        std::fs::write(&path, &whole[..5]).unwrap();
        assert_eq!(
            check_file(&dir).unwrap().unwrap().end,
            ScanEnd::Damaged {
                offset: 0,
                reaches_end: true
            }
        );
        std::fs::write(&path, b"SLUICEXX\x01\0\0\0").unwrap();
        assert_eq!(check_file(&dir).unwrap().unwrap().end, ScanEnd::BadHeader);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
