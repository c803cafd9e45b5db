//! The series log: the file format of the index, record encoding and the replay scan.
//!
//! File `series.log` in the index directory (little-endian):
//!
//! ```text
//! header : magic "SLUICESI" | version u32 = 1 | reserved u32 = 0          (16 bytes)
//! record*: payload_len u32 | crc32(payload) u32 | payload
//! payload: kind u8 = 1 (add)    | series id u32 | series key (1 ..= 65,535 bytes)
//!        | kind u8 = 2 (delete) | series id u32 * n     (1 <= n <= DELETE_IDS_PER_RECORD_MAX)
//! ```
//!
//! Replay rules, so that ids are dense, never reused, and memory is bounded by the file size:
//! * the id of an `add` record is exactly the number of `add` records before it (the id is
//!   stored anyway, as a check that no record was lost or repeated);
//! * a `delete` names only ids that earlier `add` records created (deleting one twice is
//!   harmless).
//!
//! A compacted log (one that drops the adds of deleted series) would need a record kind that
//! skips ids; version 1 has none, so the log only grows. See the index's module doc.
//!
//! The scan stops at the first record that is torn (runs past the end), has an impossible
//! length, a bad checksum, an unknown kind, or breaks the rules above: everything from there
//! on is the damaged tail, and the offset where it starts is returned.

use std::fmt;

use super::series_key::split_key;
use crate::key_table::ID_MAX;
use sluice_model::limits::SERIES_KEY_MAX_BYTES;

/// Name of the log file inside the index directory.
pub const SERIES_LOG_FILE_NAME: &str = "series.log";
/// First bytes of a series log.
pub(super) const MAGIC: &[u8; 8] = b"SLUICESI";
/// The format version this code writes and reads.
pub(super) const FORMAT_VERSION: u32 = 1;
/// Header bytes: magic, version, reserved.
pub(super) const HEADER_BYTES: usize = 16;
/// Record header bytes: payload length, checksum.
const RECORD_HEADER_BYTES: usize = 8;
/// Payload bytes before the body: kind and a series id.
const PAYLOAD_PREFIX_BYTES: usize = 5;
/// Ids in one delete record at most (bounds the record; larger deletes use several).
pub(super) const DELETE_IDS_PER_RECORD_MAX: usize = 16_384;
/// Longest payload either kind can have.
const PAYLOAD_MAX_BYTES: usize = {
    let add = 1 + 4 + SERIES_KEY_MAX_BYTES;
    let delete = 1 + 4 * DELETE_IDS_PER_RECORD_MAX;
    if add > delete {
        add
    } else {
        delete
    }
};
/// Record kind: a series was created.
const KIND_ADD: u8 = 1;
/// Record kind: series were deleted.
const KIND_DELETE: u8 = 2;

/// The header of a new log.
pub(super) fn header() -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    let (magic, rest) = header.split_at_mut(MAGIC.len());
    magic.copy_from_slice(MAGIC);
    for (target, source) in rest.iter_mut().zip(FORMAT_VERSION.to_le_bytes()) {
        *target = source;
    }
    header
}

/// What the first bytes of a file say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HeaderCheck {
    /// a whole, valid header
    Valid,
    /// shorter than a header but a prefix of one: a creation cut short by a crash
    Torn,
    /// not a series log
    ForeignMagic,
    /// a series log of another version
    UnsupportedVersion(u32),
}

/// Checks the header at the start of `file`.
pub(super) fn check_header(file: &[u8]) -> HeaderCheck {
    let expected = header();
    if file.len() < HEADER_BYTES {
        let prefix_matches = expected.get(..file.len()) == Some(file);
        return if prefix_matches {
            HeaderCheck::Torn
        } else {
            HeaderCheck::ForeignMagic
        };
    }
    if file.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return HeaderCheck::ForeignMagic;
    }
    let version = read_u32(file, MAGIC.len());
    if version != FORMAT_VERSION {
        return HeaderCheck::UnsupportedVersion(version);
    }
    HeaderCheck::Valid
}

/// Reads a little-endian u32 at `offset`; 0 past the end (callers check lengths first).
fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(source) = bytes.get(offset..offset + 4) {
        word.copy_from_slice(source);
    }
    u32::from_le_bytes(word)
}

fn append_record(out: &mut Vec<u8>, kind: u8, first_id: u32, body: &[u8]) {
    let payload_len = PAYLOAD_PREFIX_BYTES + body.len();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[kind]);
    hasher.update(&first_id.to_le_bytes());
    hasher.update(body);
    // payload_len <= PAYLOAD_MAX_BYTES, far below u32::MAX (callers bound the body).
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    out.extend_from_slice(&hasher.finalize().to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&first_id.to_le_bytes());
    out.extend_from_slice(body);
}

/// Appends an add record; `key` is a valid series key (at most `SERIES_KEY_MAX_BYTES`).
pub(super) fn append_add(out: &mut Vec<u8>, id: u32, key: &[u8]) {
    debug_assert!(
        key.len() <= SERIES_KEY_MAX_BYTES,
        "BUG: series key too long"
    );
    append_record(out, KIND_ADD, id, key);
}

/// Appends delete records for `ids`, split every [`DELETE_IDS_PER_RECORD_MAX`].
pub(super) fn append_deletes(out: &mut Vec<u8>, ids: &[u32]) {
    let mut body = Vec::new();
    for group in ids.chunks(DELETE_IDS_PER_RECORD_MAX) {
        let Some((&first, rest)) = group.split_first() else {
            continue;
        };
        body.clear();
        for id in rest {
            body.extend_from_slice(&id.to_le_bytes());
        }
        append_record(out, KIND_DELETE, first, &body);
    }
}

/// One record of the log.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Record<'a> {
    /// series `id` was created with `key`
    Add {
        /// its id
        id: u32,
        /// its series key
        key: &'a [u8],
    },
    /// series were deleted: `ids` is a non-empty run of little-endian u32
    Delete {
        /// the ids, 4 bytes each
        ids: &'a [u8],
    },
}

/// Why replay stopped before the end of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogDamage {
    /// the last record runs past the end of the file (a torn write)
    Torn,
    /// a record length no record can have
    BadLength(u32),
    /// the checksum does not match the payload
    BadChecksum,
    /// an unknown record kind
    BadKind(u8),
    /// an add record whose id is not the next id
    IdOutOfOrder(u32),
    /// a delete record naming an id no add record created
    UnknownId(u32),
    /// an add record whose series key does not split
    BadKey,
}

impl fmt::Display for LogDamage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogDamage::Torn => formatter.write_str("torn record"),
            LogDamage::BadLength(length) => write!(formatter, "impossible length {length}"),
            LogDamage::BadChecksum => formatter.write_str("checksum mismatch"),
            LogDamage::BadKind(kind) => write!(formatter, "unknown record kind {kind}"),
            LogDamage::IdOutOfOrder(id) => write!(formatter, "series id {id} out of order"),
            LogDamage::UnknownId(id) => write!(formatter, "delete of unknown series id {id}"),
            LogDamage::BadKey => formatter.write_str("invalid series key"),
        }
    }
}

/// Walks the records of a log and enforces the replay rules of the module doc.
pub(super) struct LogScanner<'a> {
    file: &'a [u8],
    offset: usize,
    /// the id the next add must have: the number of adds read
    next_id: u32,
}

impl<'a> LogScanner<'a> {
    /// A scanner over `file`, which starts with a valid header.
    pub(super) fn new(file: &'a [u8]) -> LogScanner<'a> {
        LogScanner {
            file,
            offset: HEADER_BYTES,
            next_id: 0,
        }
    }

    /// Where the records read so far end.
    pub(super) fn offset(&self) -> usize {
        self.offset
    }

    /// The number of add records read so far (ids below it are taken).
    pub(super) fn next_id(&self) -> u32 {
        self.next_id
    }

    /// The next record; `Ok(None)` at the clean end of the file, `Err` at damage (the scanner
    /// then stays at the damage's offset).
    pub(super) fn next_record(&mut self) -> Result<Option<Record<'a>>, LogDamage> {
        let Some(rest) = self.file.get(self.offset..) else {
            return Ok(None);
        };
        if rest.is_empty() {
            return Ok(None);
        }
        if rest.len() < RECORD_HEADER_BYTES {
            return Err(LogDamage::Torn);
        }
        let payload_len = read_u32(rest, 0);
        let length = payload_len as usize;
        if !(PAYLOAD_PREFIX_BYTES..=PAYLOAD_MAX_BYTES).contains(&length) {
            return Err(LogDamage::BadLength(payload_len));
        }
        let Some(payload) = rest.get(RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + length) else {
            return Err(LogDamage::Torn);
        };
        if crc32fast::hash(payload) != read_u32(rest, 4) {
            return Err(LogDamage::BadChecksum);
        }
        let kind = payload.first().copied().unwrap_or_default();
        let id = read_u32(payload, 1);
        let body = payload.get(PAYLOAD_PREFIX_BYTES..).unwrap_or_default();
        let record = match kind {
            KIND_ADD => {
                if id != self.next_id || id > ID_MAX {
                    return Err(LogDamage::IdOutOfOrder(id));
                }
                if split_key(body).is_err() {
                    return Err(LogDamage::BadKey);
                }
                self.next_id = id + 1;
                Record::Add { id, key: body }
            }
            KIND_DELETE => {
                if body.len() % 4 != 0 || body.len() / 4 + 1 > DELETE_IDS_PER_RECORD_MAX {
                    return Err(LogDamage::BadLength(payload_len));
                }
                let ids = payload.get(1..).unwrap_or_default();
                if let Some(unknown) = delete_ids(ids).find(|&id| id >= self.next_id) {
                    return Err(LogDamage::UnknownId(unknown));
                }
                Record::Delete { ids }
            }
            other => return Err(LogDamage::BadKind(other)),
        };
        self.offset += RECORD_HEADER_BYTES + length;
        Ok(Some(record))
    }
}

/// Whether the record at `offset` runs to the end of `file` or past it: the shape a write
/// cut by a crash leaves, as opposed to damage that records follow.
pub(super) fn record_reaches_end(file: &[u8], offset: usize) -> bool {
    let Some(rest) = file.get(offset..) else {
        return true;
    };
    if rest.len() < RECORD_HEADER_BYTES {
        return true;
    }
    let length = read_u32(rest, 0) as usize;
    RECORD_HEADER_BYTES.saturating_add(length) >= rest.len()
}

/// The ids of a delete record.
pub(super) fn delete_ids(ids: &[u8]) -> impl Iterator<Item = u32> + '_ {
    ids.chunks_exact(4).map(|chunk| read_u32(chunk, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(file: &[u8]) -> (Vec<Record<'_>>, Result<(), LogDamage>, usize) {
        let mut scanner = LogScanner::new(file);
        let mut records = Vec::new();
        loop {
            match scanner.next_record() {
                Ok(Some(record)) => records.push(record),
                Ok(None) => return (records, Ok(()), scanner.offset()),
                Err(damage) => return (records, Err(damage), scanner.offset()),
            }
        }
    }

    #[test]
    fn records_read_back_as_written() {
        let mut file = header().to_vec();
        append_add(&mut file, 0, b"cpu,host=a");
        append_add(&mut file, 1, b"mem");
        append_deletes(&mut file, &[0, 1]);
        let (records, end, offset) = scan_all(&file);
        assert_eq!(end, Ok(()));
        assert_eq!(offset, file.len());
        assert_eq!(records.len(), 3);
        assert_eq!(records[1], Record::Add { id: 1, key: b"mem" });
        let Record::Delete { ids } = &records[2] else {
            panic!("not a delete: {:?}", records[2]);
        };
        assert_eq!(delete_ids(ids).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn large_deletes_split_into_bounded_records() {
        let ids: Vec<u32> = (0..(DELETE_IDS_PER_RECORD_MAX as u32 * 2 + 5)).collect();
        let mut file = header().to_vec();
        for &id in &ids {
            append_add(&mut file, id, b"m");
        }
        append_deletes(&mut file, &ids);
        let (records, end, _) = scan_all(&file);
        assert_eq!(end, Ok(()));
        assert_eq!(records.len(), ids.len() + 3);
        let read: Vec<u32> = records
            .iter()
            .flat_map(|record| match record {
                Record::Delete { ids } => delete_ids(ids).collect::<Vec<_>>(),
                Record::Add { .. } => Vec::new(),
            })
            .collect();
        assert_eq!(read, ids);
    }

    #[test]
    fn ids_out_of_order_or_unknown_are_damage() {
        let mut file = header().to_vec();
        append_add(&mut file, 0, b"cpu");
        let good = file.len();
        let mut skipping = file.clone();
        append_add(&mut skipping, 2, b"cpu");
        let (records, end, offset) = scan_all(&skipping);
        assert_eq!(records.len(), 1);
        assert_eq!(end, Err(LogDamage::IdOutOfOrder(2)));
        assert_eq!(offset, good);
        append_deletes(&mut file, &[1]);
        assert_eq!(scan_all(&file).1, Err(LogDamage::UnknownId(1)));
    }

    #[test]
    fn header_checks() {
        assert_eq!(check_header(&header()), HeaderCheck::Valid);
        assert_eq!(check_header(&header()[..5]), HeaderCheck::Torn);
        assert_eq!(check_header(b""), HeaderCheck::Torn);
        assert_eq!(check_header(b"SLUICEWL"), HeaderCheck::ForeignMagic);
        let mut other = header();
        other[8] = 2;
        assert_eq!(check_header(&other), HeaderCheck::UnsupportedVersion(2));
    }
}
