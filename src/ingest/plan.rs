//! Write planning: from line protocol for one database and retention policy to
//! per-partition WAL records, and a typed account of what was accepted, dropped and why.
//!
//! Every writer plans through here: `/write` (the HTTP layer parses the request, inflates
//! gzip and renders the [`WriteOutcome`] as InfluxDB's status and text), the inputs (UDP,
//! Graphite, collectd, OpenTSDB) and `SELECT ... INTO`. Runs on the caller's thread. Per
//! point: build the canonical series key into a reused buffer, check InfluxDB's shard-level
//! rules (no `time` tag, `time` fields dropped, field types fixed by the first write), then
//! append the point to the record of the partition that owns its series. Nothing is
//! allocated per point or field except when a record buffer grows.
//!
//! Outcome precedence, as InfluxDB 1.6.7 answers (golden data in tests/golden):
//! - two points of one request giving a field new to the database different types:
//!   [`WriteRefusal::FieldTypeConflict`], and nothing of the request is written;
//! - a dropped point (`time` tag, conflict with a stored type, only `time` fields): the
//!   first [`DropReason`] (a `time` tag's wins) and the count, whatever parse errors the
//!   request also had;
//! - points older than the retention policy, when nothing else was dropped;
//! - parse errors, one per bad line, and whether some lines were good.
//!
//! Good points are written in every case but a refusal.

use std::fmt;

use crate::ingest::field_types::{FieldTypeRegistry, LocalFieldTypes};
use crate::ingest::record::{FieldType, RecordBuilder, StoredValue};
use crate::ingest::{measurement_of, Ingest};
use crate::limits::{
    INGEST_BATCH_MAX_BYTES, SERIES_KEY_MAX_BYTES, WRITE_BAD_LINE_NUMBERS_MAX,
    WRITE_ERROR_TEXT_MAX_BYTES,
};
use crate::line_protocol::{self, EscapeKind, FieldValue, Parser, Precision, Scratch};
use crate::meta::{Database, MetaData, RetentionPolicy};

/// A planned write: the records to make durable (partition, record, point count; empty when
/// nothing is to be written) and what to report once they are.
pub struct PlannedWrite {
    /// (partition, record, point count)
    pub records: Vec<(usize, Vec<u8>, u32)>,
    /// what happened to the request's points
    pub outcome: WriteOutcome,
}

/// What happened to the points of one write.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// every line parsed and every point is written
    Accepted,
    /// some lines or points are not written; the rest are
    PointsRejected(RejectedPoints),
    /// nothing of the write is written
    Refused(WriteRefusal),
}

/// Why a whole write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteRefusal {
    /// no such database
    DatabaseNotFound {
        /// the name asked for
        database: String,
    },
    /// no such retention policy in the database
    RetentionPolicyNotFound {
        /// the name asked for
        retention_policy: String,
    },
    /// two points of the write give a field new to the database different types
    FieldTypeConflict,
}

/// Why one point is dropped while the rest of its write is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// the series key is longer than `SERIES_KEY_MAX_BYTES`
    SeriesKeyTooLong {
        /// its length
        length: usize,
    },
    /// a measurement, tag or field name is not UTF-8
    InvalidUtf8,
    /// a tag is named `time`
    TimeTag {
        /// the measurement, unescaped
        measurement: String,
    },
    /// a field has another type than the one stored for it
    FieldTypeConflict {
        /// the field, unescaped
        field: String,
        /// the measurement, unescaped
        measurement: String,
        /// the type written
        written: FieldType,
        /// the type stored
        stored: FieldType,
    },
    /// every field is named `time` (those are dropped), so nothing is left to store
    OnlyTimeFields {
        /// the measurement, unescaped
        measurement: String,
    },
}

/// The lines and points of a write that are not written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RejectedPoints {
    /// points written
    pub points: u64,
    /// points dropped, and the reason reported for them (the first, or a `time` tag's)
    pub dropped: u64,
    /// the reason reported for the dropped points
    pub drop_reason: Option<DropReason>,
    /// points older than the retention policy keeps (reported only when nothing else was
    /// dropped)
    pub beyond_retention: u64,
    /// InfluxDB's text for each bad line (`unable to parse '<line>': <why>`), newline-joined,
    /// at most `WRITE_ERROR_TEXT_MAX_BYTES`
    pub parse_errors: Vec<u8>,
    /// bad lines whose text did not fit
    pub parse_errors_untold: u64,
    /// 1-based numbers of the first bad lines (at most `WRITE_BAD_LINE_NUMBERS_MAX`)
    pub bad_line_numbers: Vec<usize>,
}

impl WriteOutcome {
    /// Whether every point of the write is written.
    pub fn is_accepted(&self) -> bool {
        matches!(self, WriteOutcome::Accepted)
    }
}

/// InfluxDB's error text for the outcome (empty when accepted).
impl fmt::Display for WriteOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteOutcome::Accepted => Ok(()),
            WriteOutcome::PointsRejected(rejected) => rejected.fmt(f),
            WriteOutcome::Refused(refusal) => refusal.fmt(f),
        }
    }
}

impl fmt::Display for WriteRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteRefusal::DatabaseNotFound { database } => {
                write!(f, "database not found: \"{database}\"")
            }
            WriteRefusal::RetentionPolicyNotFound { retention_policy } => {
                write!(f, "retention policy not found: {retention_policy}")
            }
            WriteRefusal::FieldTypeConflict => f.write_str("field type conflict"),
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::SeriesKeyTooLong { length } => {
                write!(
                    f,
                    "max key length exceeded: {length} > {SERIES_KEY_MAX_BYTES}"
                )
            }
            DropReason::InvalidUtf8 => f.write_str(INVALID_UTF8_REASON),
            DropReason::TimeTag { measurement } => write!(
                f,
                "invalid tag key: input tag \"time\" on measurement \"{measurement}\" is invalid"
            ),
            DropReason::FieldTypeConflict {
                field,
                measurement,
                written,
                stored,
            } => write!(
                f,
                "field type conflict: input field \"{field}\" on measurement \"{measurement}\" \
                 is type {}, already exists as type {}",
                written.name(),
                stored.name()
            ),
            DropReason::OnlyTimeFields { measurement } => write!(
                f,
                "invalid field name: input field \"time\" on measurement \"{measurement}\" is \
                 invalid"
            ),
        }
    }
}

impl fmt::Display for RejectedPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(reason) = self.drop_reason.as_ref().filter(|_| self.dropped > 0) {
            return write!(f, "partial write: {reason} dropped={}", self.dropped);
        }
        if self.beyond_retention > 0 {
            return write!(
                f,
                "partial write: points beyond retention policy dropped={}",
                self.beyond_retention
            );
        }
        let errors = String::from_utf8_lossy(&self.parse_errors);
        let untold = if self.parse_errors_untold > 0 {
            format!(
                "\n... and {} more lines unable to parse",
                self.parse_errors_untold
            )
        } else {
            String::new()
        };
        if self.points > 0 {
            write!(f, "partial write: {errors}{untold} dropped=0")
        } else {
            write!(f, "{errors}{untold}")
        }
    }
}

/// Inputs of planning one write.
pub struct WriteContext<'a> {
    /// meta snapshot
    pub meta: &'a MetaData,
    /// partitions
    pub ingest: &'a Ingest,
    /// shared field types
    pub registry: &'a FieldTypeRegistry,
    /// server time of the write, for points without a timestamp
    pub now_ns: i64,
}

/// Smallest and largest initial capacity of a record being built.
const RECORD_CAPACITY_MIN_BYTES: usize = 256;
const RECORD_CAPACITY_MAX_BYTES: usize = 64 * 1024;

/// Buffers an event loop reuses across write requests.
#[derive(Default)]
pub struct WriteScratch {
    series_key: Vec<u8>,
    unescaped_key: Vec<u8>,
    unescaped_string: Vec<u8>,
    display: Vec<u8>,
    /// a buffer the caller may decode a body into (gzip), reused across writes
    pub decoded_body: Vec<u8>,
    /// fields first seen in the current request, keyed by `staged_key`
    new_fields: std::collections::HashMap<Box<[u8]>, FieldType>,
    staged_key: Vec<u8>,
    /// field types this loop has seen
    pub field_types: LocalFieldTypes,
}

/// Plans `body` (line protocol) as a write to `database_name` / `rp_name` (empty: the
/// database's default policy).
pub fn plan_lines(
    body: &[u8],
    precision: Precision,
    database_name: &str,
    rp_name: &str,
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
) -> PlannedWrite {
    let (database, policy) = match write_target(context.meta, database_name, rp_name) {
        Ok(target) => target,
        Err(refusal) => return PlannedWrite::refused(refusal),
    };
    plan_points(body, precision, database, policy, context, scratch)
}

/// The database and retention policy a write goes to, or why there is none.
pub fn write_target<'m>(
    meta: &'m MetaData,
    database_name: &str,
    rp_name: &str,
) -> Result<(&'m Database, &'m RetentionPolicy), WriteRefusal> {
    let Some(database) = meta.database(database_name) else {
        return Err(WriteRefusal::DatabaseNotFound {
            database: database_name.to_string(),
        });
    };
    let Some(policy) = database.retention_policy(rp_name) else {
        return Err(WriteRefusal::RetentionPolicyNotFound {
            retention_policy: rp_name.to_string(),
        });
    };
    Ok((database, policy))
}

impl PlannedWrite {
    fn refused(refusal: WriteRefusal) -> PlannedWrite {
        PlannedWrite {
            records: Vec::new(),
            outcome: WriteOutcome::Refused(refusal),
        }
    }
}

/// Plans `body` as a write to `database` / `policy` (found by [`write_target`]).
pub fn plan_points(
    body: &[u8],
    precision: Precision,
    database: &Database,
    policy: &RetentionPolicy,
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
) -> PlannedWrite {
    let database_id = database.id;
    let rp = policy.name.as_bytes();
    // As InfluxDB: a point older than the policy's duration is dropped unless a shard group
    // that still exists holds its time.
    let retention_cutoff_ns = if policy.duration_ns > 0 {
        context.now_ns.saturating_sub(policy.duration_ns)
    } else {
        i64::MIN
    };
    let partitions = context.ingest.partition_count();
    let mut builders: Vec<Option<RecordBuilder>> = (0..partitions).map(|_| None).collect();
    let mut records: Vec<(usize, Vec<u8>, u32)> = Vec::new();
    let mut outcome = RejectedPoints::default();
    // Points without a timestamp get the request time truncated to the precision.
    let unit_ns = precision.nanos_per_unit();
    let default_time_ns = context.now_ns - context.now_ns.rem_euclid(unit_ns);
    scratch.new_fields.clear();
    // Unsigned integers and CRLF endings are accepted (the ingest issue asks for both;
    // InfluxDB 1.6.7 rejects them, later 1.x versions accept unsigned values).
    let mut parser = Parser::new(body, precision, default_time_ns)
        .accept_unsigned(true)
        .accept_crlf(true);
    let mut line_scratch = Scratch::default();
    while let Some(result) = parser.next_point(&mut line_scratch) {
        let point = match result {
            Ok(point) => point,
            Err(error) => {
                outcome.parse_error(&error);
                continue;
            }
        };
        scratch.series_key.clear();
        line_protocol::append_series_key(point.measurement, point.tags, &mut scratch.series_key);
        if scratch.series_key.len() > SERIES_KEY_MAX_BYTES {
            outcome.drop_point(
                DropReason::SeriesKeyTooLong {
                    length: scratch.series_key.len(),
                },
                false,
            );
            continue;
        }
        if !is_utf8(&scratch.series_key) {
            outcome.drop_point(DropReason::InvalidUtf8, false);
            continue;
        }
        if point.tags.iter().any(|tag| tag.key == b"time") {
            let measurement = display_name(
                measurement_of(&scratch.series_key),
                EscapeKind::Measurement,
                &mut scratch.display,
            );
            outcome.drop_point(DropReason::TimeTag { measurement }, true);
            continue;
        }
        if point.timestamp_ns < retention_cutoff_ns
            && policy.shard_group_at(point.timestamp_ns).is_none()
        {
            outcome.beyond_retention += 1;
            continue;
        }
        let partition = context.ingest.partition_of(&scratch.series_key);
        // A record is about as large as its share of the body: start there, capped.
        let record_capacity =
            (body.len() / partitions).clamp(RECORD_CAPACITY_MIN_BYTES, RECORD_CAPACITY_MAX_BYTES);
        let builder = builders[partition]
            .get_or_insert_with(|| RecordBuilder::new(database_id, rp, record_capacity));
        // Fields are checked before the point is started, so a dropped point leaves no trace.
        match check_fields(&point, database_id, context.registry, scratch) {
            FieldCheck::Ok => {}
            FieldCheck::Drop(reason) => {
                outcome.drop_point(reason, false);
                continue;
            }
            FieldCheck::ConflictWithinRequest => {
                return PlannedWrite::refused(WriteRefusal::FieldTypeConflict);
            }
        }
        builder.begin_point(&scratch.series_key, point.timestamp_ns);
        for field in point.fields {
            scratch.unescaped_key.clear();
            unescape(field.key, EscapeKind::FieldKey, &mut scratch.unescaped_key);
            if scratch.unescaped_key == b"time" {
                continue;
            }
            let value = match field.value {
                FieldValue::Float(v) => StoredValue::Float(v),
                FieldValue::Integer(v) => StoredValue::Integer(v),
                FieldValue::Unsigned(v) => StoredValue::Unsigned(v),
                FieldValue::Boolean(v) => StoredValue::Boolean(v),
                FieldValue::String(v) => {
                    scratch.unescaped_string.clear();
                    unescape(
                        v,
                        EscapeKind::StringFieldValue,
                        &mut scratch.unescaped_string,
                    );
                    StoredValue::String(&scratch.unescaped_string)
                }
            };
            builder.push_field(&scratch.unescaped_key, value);
        }
        outcome.points += 1;
        if builder.len_bytes() >= INGEST_BATCH_MAX_BYTES {
            if let Some(full) = builders[partition].take() {
                let count = full.point_count();
                records.push((partition, full.finish(), count));
            }
        }
    }
    for (partition, builder) in builders.into_iter().enumerate() {
        if let Some(builder) = builder {
            if builder.point_count() > 0 {
                let count = builder.point_count();
                records.push((partition, builder.finish(), count));
            }
        }
    }
    // Fix the types of fields this request created; another loop may have raced us to one.
    for (key, field_type) in &scratch.new_fields {
        let (measurement, field) = split_staged_key(key);
        let resolved = scratch.field_types.create(
            context.registry,
            database_id,
            measurement,
            field,
            *field_type,
        );
        if resolved != *field_type {
            return PlannedWrite::refused(WriteRefusal::FieldTypeConflict);
        }
    }
    let outcome = if outcome.is_clean() {
        WriteOutcome::Accepted
    } else {
        WriteOutcome::PointsRejected(outcome)
    };
    PlannedWrite { records, outcome }
}

impl RejectedPoints {
    fn parse_error(&mut self, error: &line_protocol::ParseError) {
        if self.bad_line_numbers.len() < WRITE_BAD_LINE_NUMBERS_MAX {
            self.bad_line_numbers.push(error.line_number);
        }
        if self.parse_errors.len() + error.line.len() > WRITE_ERROR_TEXT_MAX_BYTES {
            self.parse_errors_untold += 1;
            return;
        }
        if !self.parse_errors.is_empty() {
            self.parse_errors.push(b'\n');
        }
        self.parse_errors.extend_from_slice(b"unable to parse '");
        self.parse_errors.extend_from_slice(&error.line);
        self.parse_errors.extend_from_slice(b"': ");
        self.parse_errors
            .extend_from_slice(error.message.as_bytes());
    }

    fn drop_point(&mut self, reason: DropReason, overrides: bool) {
        self.dropped += 1;
        if overrides || self.drop_reason.is_none() {
            self.drop_reason = Some(reason);
        }
    }

    /// Whether nothing was rejected.
    fn is_clean(&self) -> bool {
        self.dropped == 0
            && self.beyond_retention == 0
            && self.parse_errors.is_empty()
            && self.parse_errors_untold == 0
    }
}

enum FieldCheck {
    Ok,
    Drop(DropReason),
    ConflictWithinRequest,
}

/// `measurement_len u32 LE | measurement | field`: unambiguous whatever bytes the names hold.
fn build_staged_key(measurement: &[u8], field: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&(measurement.len() as u32).to_le_bytes());
    out.extend_from_slice(measurement);
    out.extend_from_slice(field);
}

fn split_staged_key(key: &[u8]) -> (&[u8], &[u8]) {
    let length = key
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .unwrap_or(0);
    let rest = key.get(4..).unwrap_or(&[]);
    rest.split_at(length.min(rest.len()))
}

fn check_fields(
    point: &line_protocol::Point<'_, '_>,
    database_id: u64,
    registry: &FieldTypeRegistry,
    scratch: &mut WriteScratch,
) -> FieldCheck {
    let measurement = measurement_of(&scratch.series_key);
    let mut stored_fields = 0;
    for field in point.fields {
        scratch.unescaped_key.clear();
        unescape(field.key, EscapeKind::FieldKey, &mut scratch.unescaped_key);
        if scratch.unescaped_key == b"time" {
            continue;
        }
        if !is_utf8(&scratch.unescaped_key) {
            return FieldCheck::Drop(DropReason::InvalidUtf8);
        }
        stored_fields += 1;
        let wanted = match field.value {
            FieldValue::Float(_) => FieldType::Float,
            FieldValue::Integer(_) => FieldType::Integer,
            FieldValue::Unsigned(_) => FieldType::Unsigned,
            FieldValue::Boolean(_) => FieldType::Boolean,
            FieldValue::String(_) => FieldType::String,
        };
        let Some(existing) = scratch.field_types.lookup_at(
            registry,
            database_id,
            measurement,
            stored_fields - 1,
            &scratch.unescaped_key,
        ) else {
            build_staged_key(measurement, &scratch.unescaped_key, &mut scratch.staged_key);
            match scratch.new_fields.get(scratch.staged_key.as_slice()) {
                Some(staged) if *staged != wanted => return FieldCheck::ConflictWithinRequest,
                Some(_) => {}
                None => {
                    scratch
                        .new_fields
                        .insert(scratch.staged_key.as_slice().into(), wanted);
                }
            }
            continue;
        };
        if existing != wanted {
            let field = String::from_utf8_lossy(&scratch.unescaped_key).into_owned();
            let measurement =
                display_name(measurement, EscapeKind::Measurement, &mut scratch.display);
            return FieldCheck::Drop(DropReason::FieldTypeConflict {
                field,
                measurement,
                written: wanted,
                stored: existing,
            });
        }
    }
    if stored_fields == 0 {
        let measurement = display_name(measurement, EscapeKind::Measurement, &mut scratch.display);
        return FieldCheck::Drop(DropReason::OnlyTimeFields { measurement });
    }
    FieldCheck::Ok
}

/// Why a point with non-UTF-8 names is dropped (1.6.7 answers 500 for it and stores nothing;
/// names must be UTF-8 for every later JSON answer to be valid).
const INVALID_UTF8_REASON: &str = "invalid UTF-8 in measurement, tag or field key";

fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

/// Unescapes into `out`, copying straight through when there is no backslash (the common case).
fn unescape(escaped: &[u8], kind: EscapeKind, out: &mut Vec<u8>) {
    if memchr::memchr(b'\\', escaped).is_some() {
        line_protocol::unescape_into(escaped, kind, out);
    } else {
        out.extend_from_slice(escaped);
    }
}

fn display_name(escaped: &[u8], kind: EscapeKind, buffer: &mut Vec<u8>) -> String {
    buffer.clear();
    unescape(escaped, kind, buffer);
    String::from_utf8_lossy(buffer).into_owned()
}
