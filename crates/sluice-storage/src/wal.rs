//! The write-ahead log of one partition: segment files of checksummed records, group commit,
//! and replay with torn-tail repair.
//!
//! Owns the directory `<wal-dir>/p<NN>/`. Only the partition's writer thread appends to it.
//!
//! Segment file layout (little-endian):
//! ```text
//! header : magic "SLUICEWL" | version u32 = 2 | reserved u32
//! record*: payload_len u32 | crc32(payload) u32 | payload (payload_len bytes)
//! ```
//! Version 2 segments may hold the record kinds that make a request of several records
//! all-or-nothing (parts and committed notes, `sluice_model::record`); version 1 segments
//! (written before them) hold write records only and replay as they always did. The framing
//! is the same in both; a reader takes either.
//! Segments are named `00000001.wal`, `00000002.wal`, … and replayed in that order. A writer
//! never appends to a segment that existed when it opened: it starts a new one, so replay can
//! treat a bad record at the end of any segment as a torn write from a crash.
//!
//! Invariants:
//! - `commit` returns Ok only after every appended record is written and `fdatasync`ed; that
//!   is the moment a write may be acknowledged.
//! - After a failed write or sync the writer cuts the segment back to its last committed
//!   record before it appends again; when the cut fails it never appends to that segment
//!   again. So no acknowledged record ever sits behind a torn one, where replay would cut it.
//! - A segment that cannot be started (full disk) leaves no file behind.
//! - Replay skips a damaged stretch that valid records follow (corruption: logged as an
//!   error with its offset, the file left for `sluice verify`) and replays the records after
//!   it; a damaged stretch nothing valid follows is a torn tail from a crash or a failed
//!   write, and is cut off, so a later replay sees the same records and records before the
//!   bad one are never lost.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_base::fsio::{FileSystem, OsFileSystem, WritableFile};

use sluice_model::limits::WAL_RECORD_MAX_BYTES;

const MAGIC: &[u8; 8] = b"SLUICEWL";
/// Version written into new segments.
const FORMAT_VERSION: u32 = 2;
/// Versions a reader takes (1: write records only; 2: also parts and committed notes).
const READABLE_VERSIONS: [u32; 2] = [1, 2];
const HEADER_BYTES: usize = 16;
const RECORD_HEADER_BYTES: usize = 8;
const SEGMENT_SUFFIX: &str = ".wal";

/// Appends records to a partition's current segment.
pub struct WalWriter {
    directory: PathBuf,
    file_system: Arc<dyn FileSystem>,
    /// The segment being appended to. `None` after a segment could not be started, or a
    /// failed write could not be cut off it: the next commit first starts a new segment, and
    /// fails (answered 500) until it can.
    file: Option<Box<dyn WritableFile>>,
    /// Number of the current segment, or of the last one created when `file` is `None`.
    segment_number: u64,
    /// Bytes of the current segment that are durable: header and every committed record.
    segment_bytes: u64,
    segment_max_bytes: u64,
    /// bound on the bytes of all this partition's segments, checked by
    /// [`WalWriter::check_room`] before a client write (`[data] wal-max-size`'s share)
    max_bytes: u64,
    /// bytes of the segments before the current one, as last counted
    older_segments_bytes: u64,
    pending: Vec<u8>,
}

/// Why [`WalWriter::check_room`] refused a write: the partition's segments would pass
/// their bound (snapshots cannot delete them).
#[derive(Debug)]
pub struct WalFull {
    /// the partition's directory
    pub directory: PathBuf,
    /// bytes its segments hold
    pub bytes: u64,
    /// its bound
    pub max_bytes: u64,
}

impl std::fmt::Display for WalFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the WAL in {} holds {} bytes, at its bound of {} ([data] wal-max-size shared \
             among the partitions): snapshots cannot delete its segments, so writes are \
             refused until one can",
            self.directory.display(),
            self.bytes,
            self.max_bytes
        )
    }
}

impl std::error::Error for WalFull {}

impl WalWriter {
    /// Opens `directory` (creating it) and starts a new segment after the existing ones.
    pub fn open(directory: &Path, segment_max_bytes: u64) -> io::Result<WalWriter> {
        Self::open_with(directory, segment_max_bytes, Arc::new(OsFileSystem))
    }

    /// [`WalWriter::open`] over a given file system. Failing to start the first segment (a
    /// full disk) is not an error: the writer opens without one and every commit fails until
    /// a segment can be created, so a server can start and serve reads on a full disk.
    pub fn open_with(
        directory: &Path,
        segment_max_bytes: u64,
        file_system: Arc<dyn FileSystem>,
    ) -> io::Result<WalWriter> {
        sluice_base::fsio::create_directory_durably(file_system.as_ref(), directory)?;
        let segments = list_segments(directory)?;
        let last = segments.last().map(|(number, _)| *number).unwrap_or(0);
        let older_segments_bytes = segments_bytes(&segments, u64::MAX);
        let mut writer = WalWriter {
            directory: directory.to_path_buf(),
            file_system,
            file: None,
            segment_number: last,
            segment_bytes: 0,
            segment_max_bytes,
            max_bytes: u64::MAX,
            older_segments_bytes,
            pending: Vec::new(),
        };
        if let Err(error) = writer.start_new_segment() {
            sluice_base::log_error!("wal", "cannot start a WAL segment; writes fail until it can";
                directory = directory.display(), error = error);
        }
        Ok(writer)
    }

    /// This writer refusing client writes ([`WalWriter::check_room`]) once its segments
    /// hold `max_bytes`.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> WalWriter {
        self.max_bytes = max_bytes;
        self
    }

    /// Whether `incoming` more bytes fit the partition's bound. Checked before a client
    /// write only: a checkpoint's carried records must always go in, or no checkpoint could
    /// ever free the space. When the running count says no, the older segments are counted
    /// again (a snapshot may have deleted some since).
    pub fn check_room(&mut self, incoming: u64) -> Result<(), WalFull> {
        let held = |writer: &WalWriter| writer.older_segments_bytes + writer.segment_bytes;
        if held(self).saturating_add(incoming) <= self.max_bytes {
            return Ok(());
        }
        if let Ok(segments) = list_segments(&self.directory) {
            self.older_segments_bytes = segments_bytes(&segments, self.segment_number);
        }
        if held(self).saturating_add(incoming) <= self.max_bytes {
            return Ok(());
        }
        Err(WalFull {
            directory: self.directory.clone(),
            bytes: held(self),
            max_bytes: self.max_bytes,
        })
    }

    /// Buffers one record (never empty); nothing is durable until [`WalWriter::commit`].
    pub fn append(&mut self, payload: &[u8]) {
        self.append_prefixed(&[], payload);
    }

    /// Buffers one record made of `prefix` then `payload` (a part's tag in front of its write
    /// record, without copying the record first).
    pub fn append_prefixed(&mut self, prefix: &[u8], payload: &[u8]) {
        let total = prefix.len() + payload.len();
        debug_assert!(total > 0, "BUG: empty WAL record");
        debug_assert!(total <= WAL_RECORD_MAX_BYTES, "BUG: WAL record too large");
        let length = u32::try_from(total).unwrap_or(u32::MAX);
        let mut crc = crc32fast::Hasher::new();
        crc.update(prefix);
        crc.update(payload);
        self.pending.extend_from_slice(&length.to_le_bytes());
        self.pending
            .extend_from_slice(&crc.finalize().to_le_bytes());
        self.pending.extend_from_slice(prefix);
        self.pending.extend_from_slice(payload);
    }

    /// Writes every buffered record and fsyncs; then rotates if the segment is full. On error
    /// none of the buffered records may be acknowledged, and they are dropped.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.write_pending();
        self.pending.clear();
        result
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            self.start_new_segment()?;
        }
        let Some(file) = self.file.as_mut() else {
            panic!("BUG: WAL segment missing right after it was started");
        };
        if let Err(error) = file
            .write_all(&self.pending)
            .and_then(|()| file.sync_data())
        {
            self.recover_from_failed_write(file_failure_context(&error));
            return Err(error);
        }
        self.segment_bytes += self.pending.len() as u64;
        if self.segment_bytes >= self.segment_max_bytes {
            if let Err(error) = self.start_new_segment() {
                // The records are durable; the next commit retries the rotation.
                sluice_base::log_warn!("wal", "cannot start the next WAL segment";
                    directory = self.directory.display(), error = error);
            }
        }
        Ok(())
    }

    /// After a failed write or sync the segment may end in part of a record. Appending
    /// behind it would put acknowledged records where replay stops (it cuts a segment at its
    /// first bad record), so the segment is cut back to its last committed record, which was
    /// synced before. If even that fails, the segment is never written again and the next
    /// commit starts a new one. Keeping the segment when the cut works means a full disk
    /// costs no new file per failed write.
    fn recover_from_failed_write(&mut self, why: &str) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if let Err(error) = file.truncate_and_sync(self.segment_bytes) {
            // Replay will cut the same tail (nothing in it was acknowledged).
            sluice_base::log_warn!("wal", "cannot cut a failed write off a WAL segment; starting another";
                segment = self.segment_number, why = why, error = error);
            self.file = None;
        }
    }

    /// Starts a new segment now (a snapshot will cover every older one). Records buffered
    /// but not committed stay buffered and go to the new segment. On failure the writer has
    /// no segment and no file is left behind, so repeated failures on a full disk do not
    /// pile up empty segments.
    pub fn start_new_segment(&mut self) -> io::Result<()> {
        if self.file.is_some() {
            self.older_segments_bytes += self.segment_bytes;
        }
        self.file = None;
        let number = self.segment_number + 1;
        let path = segment_path(&self.directory, number);
        let file = create_segment(self.file_system.as_ref(), &self.directory, &path)?;
        self.file = Some(file);
        self.segment_number = number;
        self.segment_bytes = HEADER_BYTES as u64;
        Ok(())
    }

    /// Whether a segment is open for appending (none after a segment could not be started,
    /// e.g. on a full disk, until the next commit starts one).
    pub fn has_segment(&self) -> bool {
        self.file.is_some()
    }

    /// Number of the segment being written (the last one started).
    pub fn segment_number(&self) -> u64 {
        self.segment_number
    }

    /// Durable bytes of the segment being written (header and committed records).
    pub fn segment_bytes(&self) -> u64 {
        self.segment_bytes
    }
}

fn file_failure_context(error: &io::Error) -> &'static str {
    if error.raw_os_error() == Some(libc::ENOSPC) {
        "no space left on device"
    } else {
        "write or sync failed"
    }
}

fn segment_path(directory: &Path, number: u64) -> PathBuf {
    directory.join(format!("{number:08}{SEGMENT_SUFFIX}"))
}

/// Creates a segment with its header, durable with its directory entry; on failure removes
/// whatever part of it was created.
fn create_segment(
    file_system: &dyn FileSystem,
    directory: &Path,
    path: &Path,
) -> io::Result<Box<dyn WritableFile>> {
    let mut file = file_system.create_new(path)?;
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    let written = file
        .write_all(&header)
        .and_then(|()| file.sync_data())
        .and_then(|()| file_system.sync_directory(directory));
    if let Err(error) = written {
        drop(file);
        if let Err(remove_error) = file_system.remove_file(path) {
            sluice_base::log_warn!("wal", "cannot remove a WAL segment that failed to start";
                path = path.display(), error = remove_error);
        }
        return Err(error);
    }
    Ok(file)
}

/// Bytes of the `segments` numbered below `before` (a segment gone meanwhile counts 0).
fn segments_bytes(segments: &[(u64, PathBuf)], before: u64) -> u64 {
    segments
        .iter()
        .filter(|(number, _)| *number < before)
        .filter_map(|(_, path)| fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum()
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
    remove_segments_before_with(&OsFileSystem, directory, first_kept)
}

/// [`remove_segments_before`] through `file_system` (the fault simulations' disk, where a
/// crash before the directory fsync can bring a removed segment back).
pub fn remove_segments_before_with(
    file_system: &dyn FileSystem,
    directory: &Path,
    first_kept: u64,
) -> io::Result<usize> {
    let mut removed = 0;
    for (number, path) in list_segments(directory)? {
        if number >= first_kept {
            break;
        }
        file_system.remove_file(&path)?;
        removed += 1;
    }
    if removed > 0 {
        file_system.sync_directory(directory)?;
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
    /// damaged stretches with valid records after them (corruption, not a crash): skipped,
    /// logged as errors with their location, the records after them replayed
    pub corrupt_stretches: usize,
    /// bytes in those stretches
    pub corrupt_bytes: u64,
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
///
/// A bad stretch with valid records after it is corruption (bit rot, a bad sector), not a
/// crash: it is skipped and logged as an error with its path and offset, the records after
/// it are replayed, and the file is left as it is (`sluice verify` reports it). A bad
/// stretch that nothing valid follows is a torn tail: in `Repair` mode it is cut off.
pub fn replay(
    directory: &Path,
    mode: ReplayMode,
    mut visit: impl FnMut(&[u8]),
) -> io::Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    for (_, path) in list_segments(directory)? {
        stats.segments += 1;
        let bytes = fs::read(&path)?;
        let scan = scan_segment_resyncing(&bytes, &mut visit);
        stats.records += scan.records;
        if scan.records == 0 && bytes.len() <= HEADER_BYTES && mode == ReplayMode::Repair {
            // A segment that never got a record (a restart without writes): drop it so
            // restarts do not pile up empty files.
            fs::remove_file(&path)?;
            continue;
        }
        for stretch in &scan.damaged {
            if let Some(resumed_at) = stretch.resumed_at {
                let skipped = (resumed_at - stretch.start) as u64;
                stats.corrupt_stretches += 1;
                stats.corrupt_bytes += skipped;
                sluice_base::log_error!("wal", "corrupt WAL records skipped; the records after them are replayed";
                    path = path.display(), offset = stretch.start, skipped_bytes = skipped);
            }
        }
        if let Some(torn_at) = scan.torn_tail_at() {
            let cut = (bytes.len() - torn_at) as u64;
            stats.truncated_segments += 1;
            stats.truncated_bytes += cut;
            sluice_base::log_warn!("wal", "cut off torn tail of WAL segment";
                path = path.display(), valid_bytes = torn_at, cut_bytes = cut);
            if mode == ReplayMode::Repair {
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(torn_at as u64)?;
                file.sync_all()?;
            }
        }
    }
    Ok(stats)
}

/// Visits the valid records of every segment of `directory` again, in order, as a
/// [`replay`] of it just did: for a second pass over a WAL that replay has read (and
/// repaired). Logs and changes nothing; returns the number of records.
pub fn reread(directory: &Path, mut visit: impl FnMut(&[u8])) -> io::Result<usize> {
    let mut records = 0;
    for (_, path) in list_segments(directory)? {
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            // Removed by the first pass (a segment that never got a record).
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        records += scan_segment_resyncing(&bytes, &mut visit).records;
    }
    Ok(records)
}

/// A stretch of a segment that does not read as records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DamagedStretch {
    /// offset where it starts
    pub start: usize,
    /// offset of the next valid record after it; `None` when none follows (a torn tail)
    pub resumed_at: Option<usize>,
}

/// What [`scan_segment_resyncing`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentScan {
    /// valid records visited
    pub records: usize,
    /// the stretches that did not read, in file order
    pub damaged: Vec<DamagedStretch>,
}

impl SegmentScan {
    /// Where the torn tail starts, when the segment ends in one.
    pub fn torn_tail_at(&self) -> Option<usize> {
        self.damaged
            .last()
            .filter(|stretch| stretch.resumed_at.is_none())
            .map(|stretch| stretch.start)
    }
}

/// Most payload bytes hashed while looking for a valid record after a bad one: the search
/// tries every offset, so a damaged segment of random-looking lengths could otherwise cost
/// far more than its size. Past it the rest of the segment counts as torn.
pub const RESYNC_HASH_BUDGET_BYTES: u64 = 1 << 30;

/// Visits every valid record of one segment, skipping damaged stretches: after a bad record
/// (a bad header, an impossible length, a failed checksum, or an empty record: no writer
/// makes one, but eight zero bytes read as one, and zeros are what a file extended by a
/// crash often ends in) the next offset where a valid, non-empty record starts is searched
/// for.
pub fn scan_segment_resyncing(bytes: &[u8], visit: &mut impl FnMut(&[u8])) -> SegmentScan {
    let mut scan = SegmentScan::default();
    let header_ok = header_is_valid(bytes);
    let mut position = HEADER_BYTES;
    if !header_ok {
        if bytes.len() <= HEADER_BYTES {
            // The segment's creation was cut short: it never held a record.
            scan.damaged.push(DamagedStretch {
                start: 0,
                resumed_at: None,
            });
            return scan;
        }
        let resumed_at = match record_at(bytes, HEADER_BYTES) {
            Some(length) if length > 0 => Some(HEADER_BYTES),
            _ => find_next_record(bytes, HEADER_BYTES).found(),
        };
        scan.damaged.push(DamagedStretch {
            start: 0,
            resumed_at,
        });
        match resumed_at {
            Some(next) => position = next,
            None => return scan,
        }
    }
    while position < bytes.len() {
        if let Some(length) = record_at(bytes, position).filter(|&length| length > 0) {
            let start = position + RECORD_HEADER_BYTES;
            visit(&bytes[start..start + length]);
            scan.records += 1;
            position = start + length;
            continue;
        }
        let resumed_at = find_next_record(bytes, position + 1).found();
        scan.damaged.push(DamagedStretch {
            start: position,
            resumed_at,
        });
        match resumed_at {
            Some(next) => position = next,
            None => break,
        }
    }
    scan
}

/// The payload length of the valid record at `offset` (length within bounds, payload inside
/// the segment, checksum matching); an empty record is valid here (eight zero bytes are one).
pub fn record_at(bytes: &[u8], offset: usize) -> Option<usize> {
    let header = bytes.get(offset..offset.checked_add(RECORD_HEADER_BYTES)?)?;
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(header.get(at..at + 4)?.try_into().ok()?))
    };
    let length = usize::try_from(word(0)?).ok()?;
    let crc = word(4)?;
    if length > WAL_RECORD_MAX_BYTES {
        return None;
    }
    let start = offset + RECORD_HEADER_BYTES;
    let payload = bytes.get(start..start.checked_add(length)?)?;
    (crc32fast::hash(payload) == crc).then_some(length)
}

/// Where the search for a valid record after a bad one ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resync {
    /// a valid record starts at this offset
    Found(usize),
    /// no valid record starts anywhere up to the end
    NotFound,
    /// the hashing budget ran out first
    GaveUp,
}

impl Resync {
    fn found(self) -> Option<usize> {
        match self {
            Resync::Found(offset) => Some(offset),
            Resync::NotFound | Resync::GaveUp => None,
        }
    }
}

/// The first offset at or after `from` where a valid, non-empty record starts. Empty records
/// are not taken: eight zero bytes are one (the crc32 of nothing is 0), and zeros are what a
/// file extended by a crash often ends in. A checksum matches random bytes once in 2^32
/// offsets, so over many damaged stretches a piece of garbage will pass for a record: the
/// reader of the payloads must check them (ingest decodes each record and skips one that does
/// not decode). Asking more of a candidate (a valid record after it) would lose the last good
/// record before a torn tail, which is worse.
pub fn find_next_record(bytes: &[u8], from: usize) -> Resync {
    let mut hashed = 0u64;
    let mut offset = from;
    while let Some(length_bytes) = bytes.get(offset..offset + 4) {
        let mut word = [0u8; 4];
        word.copy_from_slice(length_bytes);
        let length = u32::from_le_bytes(word) as usize;
        let fits = offset
            .checked_add(RECORD_HEADER_BYTES + length)
            .is_some_and(|end| end <= bytes.len());
        if length > 0 && length <= WAL_RECORD_MAX_BYTES && fits {
            hashed += length as u64;
            if hashed > RESYNC_HASH_BUDGET_BYTES {
                return Resync::GaveUp;
            }
            if record_at(bytes, offset).is_some() {
                return Resync::Found(offset);
            }
        }
        offset += 1;
    }
    Resync::NotFound
}

/// Whether `bytes` start with a segment header of a version this reader takes.
fn header_is_valid(bytes: &[u8]) -> bool {
    let version = bytes
        .get(8..12)
        .and_then(|word| word.try_into().ok())
        .map(u32::from_le_bytes);
    bytes.len() >= HEADER_BYTES
        && bytes.get(..MAGIC.len()) == Some(MAGIC.as_slice())
        && version.is_some_and(|version| READABLE_VERSIONS.contains(&version))
}

/// Visits the valid records of one segment; returns their count and where valid data ends.
pub fn scan_segment(bytes: &[u8], visit: &mut impl FnMut(&[u8])) -> (usize, usize) {
    if !header_is_valid(bytes) {
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
        for i in 1..=10u8 {
            writer.append(&vec![i; usize::from(i) * 10]);
            writer.commit().unwrap();
        }
        drop(writer);
        let mut writer = WalWriter::open(&dir, 1 << 20).unwrap();
        writer.append(b"after reopen");
        writer.commit().unwrap();
        let (records, stats) = read_all(&dir);
        assert_eq!(records.len(), 11);
        assert_eq!(records[2], vec![3u8; 30]);
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

    /// A file system over the real one whose disk can fill up and whose syncs can fail.
    #[derive(Default)]
    struct Faults {
        /// bytes that may still be written; a write past them writes what fits, then ENOSPC
        space_left: Option<u64>,
        /// every sync fails with EIO
        fail_syncs: bool,
        /// every truncation fails with EIO
        fail_truncates: bool,
    }

    struct FaultyFileSystem {
        faults: Arc<std::sync::Mutex<Faults>>,
    }

    struct FaultyFile {
        inner: Box<dyn WritableFile>,
        faults: Arc<std::sync::Mutex<Faults>>,
    }

    impl WritableFile for FaultyFile {
        fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
            let mut faults = self.faults.lock().unwrap();
            let fits = faults.space_left.map_or(bytes.len(), |left| {
                usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len())
            });
            if let Some(left) = faults.space_left.as_mut() {
                *left -= fits as u64;
            }
            self.inner.write_all(&bytes[..fits])?;
            if fits < bytes.len() {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            Ok(())
        }

        fn sync_data(&mut self) -> io::Result<()> {
            if self.faults.lock().unwrap().fail_syncs {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            self.inner.sync_data()
        }

        fn truncate_and_sync(&mut self, length: u64) -> io::Result<()> {
            if self.faults.lock().unwrap().fail_truncates {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            self.inner.truncate_and_sync(length)
        }
    }

    impl FileSystem for FaultyFileSystem {
        fn create_new(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
            let inner = OsFileSystem.create_new(path)?;
            Ok(Box::new(FaultyFile {
                inner,
                faults: Arc::clone(&self.faults),
            }))
        }

        fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
            OsFileSystem.create(path)
        }

        fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
            OsFileSystem.open_append(path)
        }

        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            OsFileSystem.rename(from, to)
        }

        fn remove_file(&self, path: &Path) -> io::Result<()> {
            OsFileSystem.remove_file(path)
        }

        fn sync_directory(&self, directory: &Path) -> io::Result<()> {
            OsFileSystem.sync_directory(directory)
        }

        fn create_dir_all(&self, path: &Path) -> io::Result<()> {
            OsFileSystem.create_dir_all(path)
        }

        fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
            OsFileSystem.remove_dir_all(path)
        }
    }

    fn faulty_writer(dir: &Path) -> (WalWriter, Arc<std::sync::Mutex<Faults>>) {
        let faults = Arc::new(std::sync::Mutex::new(Faults::default()));
        let file_system = Arc::new(FaultyFileSystem {
            faults: Arc::clone(&faults),
        });
        let writer = WalWriter::open_with(dir, 1 << 20, file_system).unwrap();
        (writer, faults)
    }

    /// The loss found in issue 15: a write cut short by a full disk left part of a record in
    /// the segment, the acknowledged writes after it went behind it, and replay cut them off.
    #[test]
    fn records_committed_after_a_full_disk_survive_replay() {
        let dir = temp_dir("enospc");
        let (mut writer, faults) = faulty_writer(&dir);
        writer.append(b"before the disk filled");
        writer.commit().unwrap();
        for space in [0u64, 5, 13, 40] {
            faults.lock().unwrap().space_left = Some(space);
            writer.append(&[7u8; 100]);
            let error = writer.commit().unwrap_err();
            assert_eq!(error.raw_os_error(), Some(libc::ENOSPC), "space {space}");
        }
        faults.lock().unwrap().space_left = None;
        for i in 0..3u8 {
            writer.append(&[b'a' + i; 3]);
            writer.commit().unwrap();
        }
        drop(writer);
        let (records, stats) = read_all(&dir);
        let expected: Vec<Vec<u8>> = vec![
            b"before the disk filled".to_vec(),
            b"aaa".to_vec(),
            b"bbb".to_vec(),
            b"ccc".to_vec(),
        ];
        assert_eq!(records, expected);
        assert_eq!(
            stats.truncated_segments, 0,
            "failed writes were cut off at once"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    /// Failing again and again on a full disk leaves no empty segments behind.
    #[test]
    fn repeated_failures_create_no_segments() {
        let dir = temp_dir("pileup");
        let (mut writer, faults) = faulty_writer(&dir);
        faults.lock().unwrap().space_left = Some(0);
        for _ in 0..50 {
            writer.append(b"refused");
            assert!(writer.commit().is_err());
            assert!(writer.start_new_segment().is_err());
        }
        assert!(list_segments(&dir).unwrap().len() <= 2);
        faults.lock().unwrap().space_left = None;
        writer.append(b"accepted");
        writer.commit().unwrap();
        drop(writer);
        assert_eq!(read_all(&dir).0, vec![b"accepted".to_vec()]);
        let _ = fs::remove_dir_all(&dir);
    }

    /// A writer opened on a full disk starts without a segment and recovers once space frees.
    #[test]
    fn opens_on_a_full_disk_and_recovers() {
        let dir = temp_dir("openfull");
        let faults = Arc::new(std::sync::Mutex::new(Faults {
            space_left: Some(3),
            ..Faults::default()
        }));
        let file_system = Arc::new(FaultyFileSystem {
            faults: Arc::clone(&faults),
        });
        let mut writer = WalWriter::open_with(&dir, 1 << 20, file_system).unwrap();
        assert!(list_segments(&dir).unwrap().is_empty());
        writer.append(b"refused");
        assert!(writer.commit().is_err());
        faults.lock().unwrap().space_left = None;
        writer.append(b"accepted");
        writer.commit().unwrap();
        drop(writer);
        assert_eq!(read_all(&dir).0, vec![b"accepted".to_vec()]);
        let _ = fs::remove_dir_all(&dir);
    }

    /// After a failed fsync the records of that commit are refused and later ones are kept.
    #[test]
    fn a_failed_sync_is_not_trusted_later() {
        let dir = temp_dir("eio");
        let (mut writer, faults) = faulty_writer(&dir);
        writer.append(b"one");
        writer.commit().unwrap();
        faults.lock().unwrap().fail_syncs = true;
        writer.append(b"unacknowledged");
        assert!(writer.commit().is_err());
        faults.lock().unwrap().fail_syncs = false;
        writer.append(b"two");
        writer.commit().unwrap();
        drop(writer);
        let (records, _) = read_all(&dir);
        assert_eq!(records, vec![b"one".to_vec(), b"two".to_vec()]);
        let _ = fs::remove_dir_all(&dir);
    }

    /// When the failed write cannot be cut off, the writer moves to a new segment; replay
    /// cuts the torn tail of the old one and keeps everything acknowledged on either side.
    #[test]
    fn a_segment_that_cannot_be_cut_is_left_for_a_new_one() {
        let dir = temp_dir("nocut");
        let (mut writer, faults) = faulty_writer(&dir);
        writer.append(b"one");
        writer.commit().unwrap();
        *faults.lock().unwrap() = Faults {
            space_left: Some(6),
            fail_syncs: false,
            fail_truncates: true,
        };
        writer.append(b"torn record");
        assert!(writer.commit().is_err());
        *faults.lock().unwrap() = Faults::default();
        writer.append(b"two");
        writer.commit().unwrap();
        assert_eq!(writer.segment_number(), 2);
        drop(writer);
        let (records, stats) = read_all(&dir);
        assert_eq!(records, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(stats.truncated_segments, 1);
        let _ = fs::remove_dir_all(&dir);
    }

    /// Bit rot in the middle of a sealed segment is not a torn tail: the damaged record is
    /// skipped and reported, the records after it are kept, and the file is left alone.
    #[test]
    fn corruption_in_the_middle_skips_one_record_not_the_rest() {
        let dir = temp_dir("rot");
        let mut writer = WalWriter::open(&dir, 1 << 20).unwrap();
        for payload in [&b"first record"[..], b"second record", b"third record"] {
            writer.append(payload);
            writer.commit().unwrap();
        }
        drop(writer);
        let path = dir.join("00000001.wal");
        let mut bytes = fs::read(&path).unwrap();
        let second_payload = HEADER_BYTES + RECORD_HEADER_BYTES + 12 + RECORD_HEADER_BYTES;
        bytes[second_payload + 3] ^= 0x10;
        fs::write(&path, &bytes).unwrap();
        let (records, stats) = read_all(&dir);
        assert_eq!(
            records,
            vec![b"first record".to_vec(), b"third record".to_vec()]
        );
        assert_eq!((stats.corrupt_stretches, stats.truncated_segments), (1, 0));
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "a corrupt segment is left as it is"
        );
        // A damaged header hides no record either.
        bytes[0] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let (records, stats) = read_all(&dir);
        assert_eq!(
            records,
            vec![b"first record".to_vec(), b"third record".to_vec()]
        );
        assert_eq!(stats.corrupt_stretches, 2);
        let _ = fs::remove_dir_all(&dir);
    }

    /// Segments written before version 2 (write records only) still replay.
    #[test]
    fn version_one_segments_replay() {
        let dir = temp_dir("v1");
        fs::create_dir_all(&dir).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        for payload in [&b"old one"[..], b"old two"] {
            bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            bytes.extend_from_slice(payload);
        }
        fs::write(dir.join("00000001.wal"), &bytes).unwrap();
        let mut writer = WalWriter::open(&dir, 1 << 20).unwrap();
        writer.append_prefixed(b"new ", b"one");
        writer.commit().unwrap();
        drop(writer);
        let (records, stats) = read_all(&dir);
        assert_eq!(
            records,
            vec![
                b"old one".to_vec(),
                b"old two".to_vec(),
                b"new one".to_vec()
            ]
        );
        assert_eq!((stats.corrupt_stretches, stats.truncated_segments), (0, 0));
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
            let scan = scan_segment_resyncing(&bytes, &mut |_| {});
            assert!(scan
                .damaged
                .iter()
                .all(|stretch| stretch.start < bytes.len()));
        }
    }

    /// A partition whose segments snapshots cannot delete refuses client writes once they
    /// hold its bound (with an error that says so), and takes them again once a snapshot
    /// deleted segments.
    #[test]
    fn writes_are_refused_at_the_wal_bound_and_taken_again_after_deletion() {
        let dir = temp_dir("wal-bound");
        let mut writer = WalWriter::open(&dir, 1024).unwrap().with_max_bytes(4096);
        let record = vec![7u8; 200];
        let mut refused = None;
        for _ in 0..100 {
            if let Err(full) = writer.check_room(record.len() as u64 + 8) {
                refused = Some(full);
                break;
            }
            writer.append(&record);
            writer.commit().unwrap();
        }
        let full = refused.expect("the bound never refused a write");
        assert!(full.to_string().contains("wal-max-size"), "{full}");
        let held: u64 = list_segments(&dir)
            .unwrap()
            .iter()
            .map(|(_, path)| fs::metadata(path).unwrap().len())
            .sum();
        assert!(held <= 4096, "the WAL passed its bound: {held} bytes");
        // A checkpoint still rotates and carries records: the bound is for client writes.
        writer.start_new_segment().unwrap();
        writer.append(&record);
        writer.commit().unwrap();
        remove_segments_before(&dir, writer.segment_number()).unwrap();
        writer.check_room(record.len() as u64 + 8).unwrap();
        let _ = fs::remove_dir_all(&dir);
    }
}
