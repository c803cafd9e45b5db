//! The write-ahead log of one partition: segment files of checksummed records, group commit,
//! and replay with torn-tail repair.
//!
//! Owns the directory `<wal-dir>/p<NN>/`. Only the partition's writer thread appends to it.
//!
//! Segment file layout (little-endian):
//! ```text
//! header : magic "SLUICEWL" | version u32 = 1 | reserved u32
//! record*: payload_len u32 | crc32(payload) u32 | payload (payload_len bytes)
//! ```
//! Segments are named `00000001.wal`, `00000002.wal`, … and replayed in that order. A writer
//! never appends to a segment that existed when it opened: it starts a new one, so replay can
//! treat a bad record at the end of any segment as a torn write from a crash.
//!
//! Invariants:
//! - `commit` returns Ok only after every appended record is written and `fdatasync`ed; that
//!   is the moment a write may be acknowledged.
//! - Replay stops a segment at its first record whose length is impossible or whose checksum
//!   fails, logs it, and truncates the file there, so a later replay sees the same records and
//!   records before the bad one are never lost.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::limits::WAL_RECORD_MAX_BYTES;

const MAGIC: &[u8; 8] = b"SLUICEWL";
const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 16;
const RECORD_HEADER_BYTES: usize = 8;
const SEGMENT_SUFFIX: &str = ".wal";

/// Appends records to a partition's current segment.
pub struct WalWriter {
    directory: PathBuf,
    file: File,
    segment_number: u64,
    segment_bytes: u64,
    segment_max_bytes: u64,
    pending: Vec<u8>,
}

impl WalWriter {
    /// Opens `directory` (creating it) and starts a new segment after the existing ones.
    pub fn open(directory: &Path, segment_max_bytes: u64) -> io::Result<WalWriter> {
        fs::create_dir_all(directory)?;
        let last = list_segments(directory)?
            .last()
            .map(|(number, _)| *number)
            .unwrap_or(0);
        let segment_number = last + 1;
        let file = create_segment(directory, segment_number)?;
        Ok(WalWriter {
            directory: directory.to_path_buf(),
            file,
            segment_number,
            segment_bytes: HEADER_BYTES as u64,
            segment_max_bytes,
            pending: Vec::new(),
        })
    }

    /// Buffers one record; nothing is durable until [`WalWriter::commit`].
    pub fn append(&mut self, payload: &[u8]) {
        let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        debug_assert!(
            payload.len() <= WAL_RECORD_MAX_BYTES,
            "BUG: WAL record too large"
        );
        self.pending.extend_from_slice(&length.to_le_bytes());
        self.pending
            .extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        self.pending.extend_from_slice(payload);
    }

    /// Writes every buffered record and fsyncs; then rotates if the segment is full.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self
            .file
            .write_all(&self.pending)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = result {
            // The segment may now hold a partial record; never append after it.
            self.pending.clear();
            self.rotate()?;
            return Err(error);
        }
        self.segment_bytes += self.pending.len() as u64;
        self.pending.clear();
        if self.segment_bytes >= self.segment_max_bytes {
            self.rotate()?;
        }
        Ok(())
    }

    /// Starts a new segment now (a snapshot will cover every older one). Records buffered
    /// but not committed stay buffered and go to the new segment.
    pub fn start_new_segment(&mut self) -> io::Result<()> {
        self.rotate()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.segment_number += 1;
        self.file = create_segment(&self.directory, self.segment_number)?;
        self.segment_bytes = HEADER_BYTES as u64;
        Ok(())
    }

    /// Number of the segment being written.
    pub fn segment_number(&self) -> u64 {
        self.segment_number
    }
}

fn create_segment(directory: &Path, number: u64) -> io::Result<File> {
    let path = directory.join(format!("{number:08}{SEGMENT_SUFFIX}"));
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)?;
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    file.write_all(&header)?;
    file.sync_all()?;
    crate::meta::sync_directory(directory)?;
    Ok(file)
}

/// Segment files of `directory`, sorted by number.
pub fn list_segments(directory: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    let entries = match fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(segments),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SEGMENT_SUFFIX) else {
            continue;
        };
        if let Ok(number) = stem.parse::<u64>() {
            segments.push((number, entry.path()));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Deletes the segments of `directory` numbered below `first_kept` (a snapshot covers them),
/// oldest first, then fsyncs the directory. Returns how many were deleted.
pub fn remove_segments_before(directory: &Path, first_kept: u64) -> io::Result<usize> {
    let mut removed = 0;
    for (number, path) in list_segments(directory)? {
        if number >= first_kept {
            break;
        }
        fs::remove_file(&path)?;
        removed += 1;
    }
    if removed > 0 {
        crate::meta::sync_directory(directory)?;
    }
    Ok(removed)
}

/// What a replay found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    /// segments read
    pub segments: usize,
    /// valid records handed to the visitor
    pub records: usize,
    /// segments whose tail was cut off
    pub truncated_segments: usize,
    /// bytes cut off
    pub truncated_bytes: u64,
}

/// Whether replay may repair (truncate) torn tails or must only read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayMode {
    /// truncate a segment at its first bad record (server start)
    Repair,
    /// leave files untouched (export from a copy, read-only media)
    ReadOnly,
}

/// Hands every valid record of every segment in `directory` to `visit`, in order.
pub fn replay(
    directory: &Path,
    mode: ReplayMode,
    mut visit: impl FnMut(&[u8]),
) -> io::Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    for (_, path) in list_segments(directory)? {
        stats.segments += 1;
        let bytes = fs::read(&path)?;
        let (records, valid_end) = scan_segment(&bytes, &mut visit);
        stats.records += records;
        if records == 0 && bytes.len() <= HEADER_BYTES && mode == ReplayMode::Repair {
            // A segment that never got a record (a restart without writes): drop it so
            // restarts do not pile up empty files.
            fs::remove_file(&path)?;
            continue;
        }
        if valid_end < bytes.len() {
            let cut = (bytes.len() - valid_end) as u64;
            stats.truncated_segments += 1;
            stats.truncated_bytes += cut;
            crate::log_warn!("wal", "cut off torn or corrupt tail of WAL segment";
                path = path.display(), valid_bytes = valid_end, cut_bytes = cut);
            if mode == ReplayMode::Repair {
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(valid_end as u64)?;
                file.sync_all()?;
            }
        }
    }
    Ok(stats)
}

/// Visits the valid records of one segment; returns their count and where valid data ends.
pub fn scan_segment(bytes: &[u8], visit: &mut impl FnMut(&[u8])) -> (usize, usize) {
    let header_ok = bytes.len() >= HEADER_BYTES
        && bytes.get(..MAGIC.len()) == Some(MAGIC.as_slice())
        && bytes.get(8..12) == Some(FORMAT_VERSION.to_le_bytes().as_slice());
    if !header_ok {
        return (0, 0);
    }
    let mut position = HEADER_BYTES;
    let mut records = 0;
    while let Some(header) = bytes.get(position..position + RECORD_HEADER_BYTES) {
        let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if length > WAL_RECORD_MAX_BYTES {
            break;
        }
        let start = position + RECORD_HEADER_BYTES;
        let Some(payload) = bytes.get(start..start + length) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        visit(payload);
        records += 1;
        position = start + length;
    }
    (records, position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-wal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn read_all(dir: &Path) -> (Vec<Vec<u8>>, ReplayStats) {
        let mut records = Vec::new();
        let stats = replay(dir, ReplayMode::Repair, |r| records.push(r.to_vec())).unwrap();
        (records, stats)
    }

    #[test]
    fn records_survive_reopen_and_rotation() {
        let dir = temp_dir("rotate");
        let mut writer = WalWriter::open(&dir, 64).unwrap();
        for i in 0..10u8 {
            writer.append(&vec![i; usize::from(i) * 10]);
            writer.commit().unwrap();
        }
        drop(writer);
        let mut writer = WalWriter::open(&dir, 1 << 20).unwrap();
        writer.append(b"after reopen");
        writer.commit().unwrap();
        let (records, stats) = read_all(&dir);
        assert_eq!(records.len(), 11);
        assert_eq!(records[3], vec![3u8; 30]);
        assert_eq!(records[10], b"after reopen");
        assert!(stats.segments > 2);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_torn_tail_is_cut_and_earlier_records_kept() {
        let dir = temp_dir("torn");
        let mut writer = WalWriter::open(&dir, 1 << 20).unwrap();
        writer.append(b"first");
        writer.append(b"second record");
        writer.commit().unwrap();
        drop(writer);
        let path = dir.join("00000001.wal");
        let whole = fs::read(&path).unwrap();
        let first_end = HEADER_BYTES + RECORD_HEADER_BYTES + 5;
        for cut in first_end + 1..whole.len() {
            fs::write(&path, &whole[..cut]).unwrap();
            let (records, stats) = read_all(&dir);
            assert_eq!(records, vec![b"first".to_vec()], "cut at {cut}");
            assert_eq!(stats.truncated_segments, 1);
            assert_eq!(fs::metadata(&path).unwrap().len() as usize, first_end);
        }
        // A flipped bit in the second record's payload.
        let mut flipped = whole.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        fs::write(&path, &flipped).unwrap();
        assert_eq!(read_all(&dir).0, vec![b"first".to_vec()]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_u64;
        for _ in 0..2000 {
            let length = (seed % 200) as usize;
            let mut bytes = Vec::new();
            bytes.extend_from_slice(MAGIC);
            bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            bytes.extend_from_slice(&0u32.to_le_bytes());
            for _ in 0..length {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                bytes.push((seed >> 56) as u8);
            }
            let (_, end) = scan_segment(&bytes, &mut |_| {});
            assert!(end <= bytes.len());
        }
    }
}
