//! The WAL record of one write batch: points of one database and retention policy, already
//! routed to one partition.
//!
//! ```text
//! kind u8 = 1 | database_id u64 | rp (u8 len + bytes) | point_count u32 | point*
//! point : series_key (u16 len + bytes, canonical escaped form) | timestamp_ns i64
//!         | field_count u16 | field*
//! field : key (u16 len + unescaped bytes) | type u8 | value
//! value : float f64 bits u64 | integer i64 | unsigned u64 | boolean u8
//!         | string (u32 len + unescaped bytes)
//! ```
//! Built by the event loop that parsed the request (`RecordBuilder`), appended unchanged by
//! the partition, decoded by replay and `sluice export` (`decode_record`).
//!
//! Two more kinds make a request of several records all-or-nothing (`sluice_ingest::atomic`
//! has the rules; WAL segment format version 2 may hold them, version 1 holds only kind 1):
//! ```text
//! part     : kind u8 = 2 | request_id u64 | part_index u32 | part_count u32 | write record
//! committed: kind u8 = 3 | count u32 | request_id u64 * count
//! ```
//! A part is one write record of a request that has `part_count` of them; its prefix is
//! written by the partition in front of the record ([`PartTag::prefix`]), so the record is
//! never copied. A committed note names requests known to be complete, written where a
//! checkpoint might otherwise delete the only evidence of it.

use crate::bytes::{put_bytes_u16, put_bytes_u32, Reader, Truncated};

/// Record kind of a write batch.
pub const RECORD_KIND_WRITE: u8 = 1;
/// Record kind of one part of a request of several records.
pub const RECORD_KIND_PART: u8 = 2;
/// Record kind of a note naming requests known to be complete.
pub const RECORD_KIND_COMMITTED: u8 = 3;
/// Bytes of a part's prefix before its write record.
pub const PART_PREFIX_BYTES: usize = 1 + 8 + 4 + 4;
/// Request ids one committed note holds at most (its size stays far below a WAL record's
/// bound; more ids take more notes).
pub const COMMITTED_NOTE_MAX_IDS: usize = 64 * 1024;
const POINT_COUNT_OFFSET: usize = 1 + 8;

/// Type of a field, fixed per (database, measurement, field key) once first written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum FieldType {
    /// 64-bit float
    Float = 1,
    /// signed 64-bit integer
    Integer = 2,
    /// unsigned 64-bit integer
    Unsigned = 3,
    /// UTF-8 string
    String = 4,
    /// boolean
    Boolean = 5,
}

impl FieldType {
    /// InfluxDB's name for the type, as in its error messages.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Float => "float",
            FieldType::Integer => "integer",
            FieldType::Unsigned => "unsigned",
            FieldType::String => "string",
            FieldType::Boolean => "boolean",
        }
    }

    /// The type with tag `tag` (the byte records and files store), if any.
    pub fn from_tag(tag: u8) -> Option<FieldType> {
        match tag {
            1 => Some(FieldType::Float),
            2 => Some(FieldType::Integer),
            3 => Some(FieldType::Unsigned),
            4 => Some(FieldType::String),
            5 => Some(FieldType::Boolean),
            _ => None,
        }
    }
}

/// A decoded field value; strings are unescaped bytes of the record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StoredValue<'a> {
    /// float
    Float(f64),
    /// integer
    Integer(i64),
    /// unsigned
    Unsigned(u64),
    /// boolean
    Boolean(bool),
    /// unescaped string contents
    String(&'a [u8]),
}

impl StoredValue<'_> {
    /// The value's type.
    pub fn field_type(&self) -> FieldType {
        match self {
            StoredValue::Float(_) => FieldType::Float,
            StoredValue::Integer(_) => FieldType::Integer,
            StoredValue::Unsigned(_) => FieldType::Unsigned,
            StoredValue::Boolean(_) => FieldType::Boolean,
            StoredValue::String(_) => FieldType::String,
        }
    }
}

/// Builds one write record in place.
#[derive(Debug)]
pub struct RecordBuilder {
    bytes: Vec<u8>,
    point_count: u32,
    field_count_offset: usize,
    field_count: u16,
    /// where the current point's series key is in `bytes` (after its length), and its time:
    /// a point with more fields than a count holds continues as another point of the same
    /// series and time
    point_key: std::ops::Range<usize>,
    point_timestamp_ns: i64,
}

impl RecordBuilder {
    /// Starts a record for `database_id` / `retention_policy` (≤ 255 bytes, checked by meta).
    pub fn new(database_id: u64, retention_policy: &[u8], capacity_bytes: usize) -> RecordBuilder {
        let mut bytes = Vec::with_capacity(capacity_bytes);
        bytes.push(RECORD_KIND_WRITE);
        bytes.extend_from_slice(&database_id.to_le_bytes());
        let rp_len = retention_policy.len().min(usize::from(u8::MAX));
        bytes.push(rp_len as u8);
        bytes.extend_from_slice(&retention_policy[..rp_len]);
        bytes.extend_from_slice(&0u32.to_le_bytes());
        RecordBuilder {
            bytes,
            point_count: 0,
            field_count_offset: 0,
            field_count: 0,
            point_key: 0..0,
            point_timestamp_ns: 0,
        }
    }

    /// Starts a point; its fields follow with [`RecordBuilder::push_field`].
    pub fn begin_point(&mut self, series_key: &[u8], timestamp_ns: i64) {
        self.point_count += 1;
        put_bytes_u16(&mut self.bytes, series_key);
        let key_end = self.bytes.len();
        self.point_key = key_end - series_key.len().min(usize::from(u16::MAX))..key_end;
        self.point_timestamp_ns = timestamp_ns;
        self.bytes.extend_from_slice(&timestamp_ns.to_le_bytes());
        self.field_count_offset = self.bytes.len();
        self.field_count = 0;
        self.bytes.extend_from_slice(&0u16.to_le_bytes());
    }

    /// Adds a field to the current point; `key` and string values are unescaped.
    ///
    /// A point's field count is a u16: the 65,536th field starts another point of the same
    /// series and time (its fields merge with the first's when applied, as two writes of one
    /// point do), so no field is lost however many a line has.
    pub fn push_field(&mut self, key: &[u8], value: StoredValue<'_>) {
        if self.field_count == u16::MAX {
            let series_key = self
                .bytes
                .get(self.point_key.clone())
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| {
                    panic!("BUG: the current point's series key is not in the record")
                });
            self.begin_point(&series_key, self.point_timestamp_ns);
        }
        self.field_count += 1;
        put_bytes_u16(&mut self.bytes, key);
        self.bytes.push(value.field_type() as u8);
        match value {
            StoredValue::Float(v) => self.bytes.extend_from_slice(&v.to_bits().to_le_bytes()),
            StoredValue::Integer(v) => self.bytes.extend_from_slice(&v.to_le_bytes()),
            StoredValue::Unsigned(v) => self.bytes.extend_from_slice(&v.to_le_bytes()),
            StoredValue::Boolean(v) => self.bytes.push(u8::from(v)),
            StoredValue::String(v) => put_bytes_u32(&mut self.bytes, v),
        }
        let offset = self.field_count_offset;
        if let Some(slot) = self.bytes.get_mut(offset..offset + 2) {
            slot.copy_from_slice(&self.field_count.to_le_bytes());
        }
    }

    /// Continues a finished record (so more points or records can be appended to it);
    /// `None` when `record` is not a write record.
    pub fn from_record(record: Vec<u8>) -> Option<RecordBuilder> {
        let mut reader = Reader::new(&record);
        if reader.u8().ok()? != RECORD_KIND_WRITE {
            return None;
        }
        reader.u64().ok()?;
        let rp_len = reader.u8().ok()?;
        reader.take(usize::from(rp_len)).ok()?;
        let point_count = reader.u32().ok()?;
        Some(RecordBuilder {
            bytes: record,
            point_count,
            field_count_offset: 0,
            field_count: 0,
            point_key: 0..0,
            point_timestamp_ns: 0,
        })
    }

    /// Appends every point of `record`, a finished write record of the same database and
    /// retention policy (an input gathering many small records into one batch).
    pub fn extend_from_record(&mut self, record: &[u8]) -> Result<(), Truncated> {
        let mut reader = Reader::new(record);
        let header_len = POINT_COUNT_OFFSET
            + 1
            + usize::from(self.bytes.get(POINT_COUNT_OFFSET).copied().unwrap_or(0));
        let header = reader.take(header_len)?;
        if header != self.bytes.get(..header_len).unwrap_or_default() {
            return Err(Truncated); // another database or retention policy
        }
        let count = reader.u32()?;
        let points = reader.take(reader.remaining())?;
        self.bytes.extend_from_slice(points);
        self.point_count += count;
        Ok(())
    }

    /// Points added so far.
    pub fn point_count(&self) -> u32 {
        self.point_count
    }

    /// Size of the record so far.
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The finished record.
    pub fn finish(mut self) -> Vec<u8> {
        let count = self.point_count.to_le_bytes();
        let rp_len = usize::from(self.bytes.get(POINT_COUNT_OFFSET).copied().unwrap_or(0));
        let at = POINT_COUNT_OFFSET + 1 + rp_len;
        if let Some(slot) = self.bytes.get_mut(at..at + 4) {
            slot.copy_from_slice(&count);
        }
        self.bytes
    }
}

/// Which request a part belongs to and how many parts that request has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartTag {
    /// unique among the requests whose records can be in the WAL together
    pub request_id: u64,
    /// 0-based index of this part in its request
    pub part_index: u32,
    /// parts of the request (at least 2: a request of one record needs no tag)
    pub part_count: u32,
}

impl PartTag {
    /// The bytes the partition writes in front of the part's write record.
    pub fn prefix(&self) -> [u8; PART_PREFIX_BYTES] {
        let mut prefix = [0u8; PART_PREFIX_BYTES];
        prefix[0] = RECORD_KIND_PART;
        prefix[1..9].copy_from_slice(&self.request_id.to_le_bytes());
        prefix[9..13].copy_from_slice(&self.part_index.to_le_bytes());
        prefix[13..17].copy_from_slice(&self.part_count.to_le_bytes());
        prefix
    }
}

/// One WAL record, by kind.
#[derive(Debug, PartialEq, Eq)]
pub enum WalEntry<'a> {
    /// a write record that stands alone (its request had one record)
    Write(&'a [u8]),
    /// a write record that is one part of a request of several
    Part(PartTag, &'a [u8]),
    /// requests known to be complete (little-endian u64 ids, `count` of them)
    Committed(&'a [u8]),
}

/// Splits a WAL record by kind; `None` for one that is none of them (garbage a resync took
/// for a record, a tag that cannot be). The write record inside is not decoded here.
pub fn classify_entry(payload: &[u8]) -> Option<WalEntry<'_>> {
    match *payload.first()? {
        RECORD_KIND_WRITE => Some(WalEntry::Write(payload)),
        RECORD_KIND_PART => {
            let mut reader = Reader::new(payload.get(1..)?);
            let tag = PartTag {
                request_id: reader.u64().ok()?,
                part_index: reader.u32().ok()?,
                part_count: reader.u32().ok()?,
            };
            let inner = payload.get(PART_PREFIX_BYTES..)?;
            let valid = tag.part_count >= 2
                && tag.part_index < tag.part_count
                && inner.first() == Some(&RECORD_KIND_WRITE);
            valid.then_some(WalEntry::Part(tag, inner))
        }
        RECORD_KIND_COMMITTED => {
            let mut reader = Reader::new(payload.get(1..)?);
            let count = reader.u32().ok()? as usize;
            let ids = reader.take(count.checked_mul(8)?).ok()?;
            (reader.remaining() == 0).then_some(WalEntry::Committed(ids))
        }
        _ => None,
    }
}

/// The request ids of a committed note's body (as [`WalEntry::Committed`] holds it).
pub fn committed_ids(ids: &[u8]) -> impl Iterator<Item = u64> + '_ {
    ids.chunks_exact(8).map(|chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        u64::from_le_bytes(word)
    })
}

/// Committed notes naming `ids`, at most [`COMMITTED_NOTE_MAX_IDS`] each.
pub fn encode_committed_notes(ids: &[u64]) -> Vec<Vec<u8>> {
    ids.chunks(COMMITTED_NOTE_MAX_IDS)
        .map(|chunk| {
            let mut note = Vec::with_capacity(5 + chunk.len() * 8);
            note.push(RECORD_KIND_COMMITTED);
            note.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            for id in chunk {
                note.extend_from_slice(&id.to_le_bytes());
            }
            note
        })
        .collect()
}

/// Checks a WAL record of any kind: a write record (alone or inside a part) must decode.
pub fn validate_entry(payload: &[u8]) -> Result<(), Truncated> {
    match classify_entry(payload).ok_or(Truncated)? {
        WalEntry::Write(record) | WalEntry::Part(_, record) => {
            decode_record(record, |_, _| {}).map(|_| ())
        }
        WalEntry::Committed(_) => Ok(()),
    }
}

/// One decoded point.
#[derive(Debug)]
pub struct DecodedPoint<'a> {
    /// canonical escaped series key
    pub series_key: &'a [u8],
    /// nanoseconds since the epoch
    pub timestamp_ns: i64,
    /// (unescaped key, value) pairs in written order
    pub fields: Vec<(&'a [u8], StoredValue<'a>)>,
}

/// A decoded write record's header.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordHeader<'a> {
    /// database id
    pub database_id: u64,
    /// retention policy name
    pub retention_policy: &'a [u8],
    /// number of points
    pub point_count: u32,
}

/// Decodes a write record, handing each point to `visit`. Unknown kinds are an error.
pub fn decode_record<'a>(
    payload: &'a [u8],
    mut visit: impl FnMut(&RecordHeader<'a>, &DecodedPoint<'a>),
) -> Result<RecordHeader<'a>, Truncated> {
    let mut reader = Reader::new(payload);
    if reader.u8()? != RECORD_KIND_WRITE {
        return Err(Truncated);
    }
    let database_id = reader.u64()?;
    let rp_len = reader.u8()?;
    let retention_policy = reader.take(usize::from(rp_len))?;
    let point_count = reader.u32()?;
    let header = RecordHeader {
        database_id,
        retention_policy,
        point_count,
    };
    // One point value reused for every point: its field list is not reallocated per point.
    let mut point = DecodedPoint {
        series_key: &[],
        timestamp_ns: 0,
        fields: Vec::new(),
    };
    for _ in 0..point_count {
        let series_key = reader.bytes_u16()?;
        let timestamp_ns = reader.i64()?;
        let field_count = reader.u16()?;
        let fields = &mut point.fields;
        fields.clear();
        for _ in 0..field_count {
            let key = reader.bytes_u16()?;
            let type_tag = reader.u8()?;
            let value = match FieldType::from_tag(type_tag).ok_or(Truncated)? {
                FieldType::Float => StoredValue::Float(f64::from_bits(reader.u64()?)),
                FieldType::Integer => StoredValue::Integer(reader.i64()?),
                FieldType::Unsigned => StoredValue::Unsigned(reader.u64()?),
                FieldType::Boolean => StoredValue::Boolean(reader.u8()? != 0),
                FieldType::String => StoredValue::String(reader.bytes_u32()?),
            };
            fields.push((key, value));
        }
        point.series_key = series_key;
        point.timestamp_ns = timestamp_ns;
        visit(&header, &point);
    }
    if reader.remaining() != 0 {
        return Err(Truncated);
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_merge() {
        let mut first = RecordBuilder::new(3, b"rp", 64);
        first.begin_point(b"a", 1);
        first.push_field(b"v", StoredValue::Integer(1));
        let mut second = RecordBuilder::new(3, b"rp", 64);
        second.begin_point(b"b", 2);
        second.push_field(b"v", StoredValue::Integer(2));
        second.begin_point(b"c", 3);
        second.push_field(b"v", StoredValue::Integer(3));
        first.extend_from_record(&second.finish()).unwrap();
        let mut keys = Vec::new();
        let merged = first.finish();
        let header = decode_record(&merged, |_, p| keys.push(p.series_key.to_vec())).unwrap();
        assert_eq!(header.point_count, 3);
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        let mut other_db = RecordBuilder::new(4, b"rp", 64);
        assert!(other_db
            .extend_from_record(&RecordBuilder::new(3, b"rp", 8).finish())
            .is_err());
    }

    /// A point with more fields than a u16 counts continues as points of the same series
    /// and time: every field decodes, none wraps the count (which lost the fields past
    /// 65,535 of a 70,000-field line before).
    #[test]
    fn a_point_past_the_field_count_continues_and_loses_nothing() {
        let field_total = usize::from(u16::MAX) * 2 + 7;
        let mut builder = RecordBuilder::new(1, b"autogen", 1 << 20);
        builder.begin_point(b"m,host=a", 42);
        for index in 0..field_total {
            builder.push_field(
                format!("f{index}").as_bytes(),
                StoredValue::Integer(index as i64),
            );
        }
        builder.begin_point(b"n", 43);
        builder.push_field(b"v", StoredValue::Boolean(true));
        let record = builder.finish();
        let mut seen = Vec::new();
        let header = decode_record(&record, |_, point| {
            for (key, value) in &point.fields {
                seen.push((
                    point.series_key.to_vec(),
                    point.timestamp_ns,
                    key.to_vec(),
                    *value,
                ));
            }
        })
        .unwrap();
        assert_eq!(
            header.point_count, 4,
            "three points of m (65535 + 65535 + 7 fields), one of n"
        );
        assert_eq!(seen.len(), field_total + 1);
        for (index, (key, time, field, value)) in seen.iter().take(field_total).enumerate() {
            assert_eq!((key.as_slice(), *time), (&b"m,host=a"[..], 42));
            assert_eq!(field, format!("f{index}").as_bytes());
            assert_eq!(*value, StoredValue::Integer(index as i64));
        }
        assert_eq!(
            seen.last().map(|s| (s.0.as_slice(), s.1)),
            Some((&b"n"[..], 43))
        );
    }

    #[test]
    fn parts_and_notes_classify() {
        let mut builder = RecordBuilder::new(3, b"rp", 64);
        builder.begin_point(b"a", 1);
        builder.push_field(b"v", StoredValue::Integer(1));
        let record = builder.finish();
        assert_eq!(classify_entry(&record), Some(WalEntry::Write(&record)));
        let tag = PartTag {
            request_id: 77,
            part_index: 1,
            part_count: 3,
        };
        let mut part = tag.prefix().to_vec();
        part.extend_from_slice(&record);
        assert_eq!(classify_entry(&part), Some(WalEntry::Part(tag, &record)));
        assert!(validate_entry(&part).is_ok());
        // An index past the count, or a count of one, is not a part.
        for (index, count) in [(3u32, 3u32), (0, 1)] {
            let mut bad = PartTag {
                part_index: index,
                part_count: count,
                ..tag
            }
            .prefix()
            .to_vec();
            bad.extend_from_slice(&record);
            assert_eq!(classify_entry(&bad), None);
        }
        let notes = encode_committed_notes(&[5, 9]);
        assert_eq!(notes.len(), 1);
        let Some(WalEntry::Committed(ids)) = classify_entry(&notes[0]) else {
            panic!("not a note");
        };
        assert_eq!(committed_ids(ids).collect::<Vec<_>>(), vec![5, 9]);
        assert_eq!(classify_entry(&notes[0][..notes[0].len() - 1]), None);
        assert_eq!(classify_entry(&[9, 1, 2]), None);
        assert_eq!(classify_entry(&[]), None);
    }

    #[test]
    fn round_trip() {
        let mut builder = RecordBuilder::new(7, b"autogen", 64);
        builder.begin_point(b"cpu,host=a", 42);
        builder.push_field(b"f", StoredValue::Float(1.5));
        builder.push_field(b"s", StoredValue::String(b"x\"y"));
        builder.begin_point(b"mem", -1);
        builder.push_field(b"i", StoredValue::Integer(-3));
        builder.push_field(b"u", StoredValue::Unsigned(u64::MAX));
        builder.push_field(b"b", StoredValue::Boolean(true));
        let bytes = builder.finish();
        let mut points = Vec::new();
        let header = decode_record(&bytes, |_, p| {
            points.push((
                p.series_key.to_vec(),
                p.timestamp_ns,
                format!("{:?}", p.fields),
            ))
        })
        .unwrap();
        assert_eq!(header.database_id, 7);
        assert_eq!(header.retention_policy, b"autogen");
        assert_eq!(header.point_count, 2);
        assert_eq!(points[0].0, b"cpu,host=a");
        assert_eq!(points[1].1, -1);
        assert!(points[1].2.contains("Unsigned(18446744073709551615)"));
        for cut in 0..bytes.len() {
            assert!(decode_record(&bytes[..cut], |_, _| {}).is_err());
        }
    }
}
