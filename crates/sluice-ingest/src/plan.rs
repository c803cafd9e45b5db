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
//!
//! A body may also be planned in pieces ([`PiecewisePlan`]: a large gzip `/write`, inflated
//! a piece at a time). The pieces carry their rejections and line count forward, so the
//! answer's texts, counts and bad line numbers are those of the whole body; what can differ
//! (a new field's type fixed by an earlier piece, series limits counted per piece, a refusal
//! that ends the write after earlier pieces) is listed on [`PiecewisePlan`].

use std::fmt;

use crate::field_types::{FieldTypeRegistry, LocalFieldTypes};
use crate::record::{FieldType, RecordBuilder, StoredValue};
use crate::{measurement_of, Ingest, SeriesLimits};
use sluice_line_protocol::{
    self as line_protocol, EscapeKind, FieldValue, Parser, Precision, Scratch,
};
use sluice_model::limits::{
    INGEST_BATCH_MAX_BYTES, SERIES_KEY_MAX_BYTES, WRITE_BAD_LINE_NUMBERS_MAX,
    WRITE_ERROR_FIRST_LINE_MAX_BYTES, WRITE_ERROR_TEXT_MAX_BYTES,
};
use sluice_storage::meta::{Database, MetaData, RetentionPolicy};
use sluice_storage::series_index::{SeriesIndex, TagOverLimit};

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
    /// the point's series is new and one of its tag values is new to a tag key that has
    /// `max-values-per-tag` values already
    TagValueLimit {
        /// values the tag key has
        values: usize,
        /// `max-values-per-tag`
        max_values: usize,
        /// the measurement, unescaped
        measurement: String,
        /// the tag key, unescaped
        tag_key: String,
        /// the new value, unescaped
        tag_value: String,
    },
    /// the write's new series would take the database past `max-series-per-database`
    SeriesLimit {
        /// `max-series-per-database`
        max_series: usize,
    },
}

impl DropReason {
    fn tag_value_limit(over: TagOverLimit, limits: SeriesLimits) -> DropReason {
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        DropReason::TagValueLimit {
            values: over.values,
            max_values: limits.max_values_per_tag,
            measurement: text(over.measurement),
            tag_key: text(over.tag_key),
            tag_value: text(over.tag_value),
        }
    }

    /// Which reason is reported when several apply (the highest; see `drop_point`).
    fn rank(&self) -> i32 {
        match self {
            DropReason::SeriesLimit { .. } => 3,
            DropReason::TagValueLimit { .. } => 2,
            DropReason::TimeTag { .. } => 1,
            _ => 0,
        }
    }
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
    /// at most `WRITE_ERROR_TEXT_MAX_BYTES` past the first line's (itself at most
    /// `WRITE_ERROR_FIRST_LINE_MAX_BYTES`)
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
            DropReason::TagValueLimit {
                values,
                max_values,
                measurement,
                tag_key,
                tag_value,
            } => write!(
                f,
                "max-values-per-tag limit exceeded ({values}/{max_values}): measurement={} \
                 tag={} value={}",
                GoQuoted(measurement),
                GoQuoted(tag_key),
                GoQuoted(tag_value)
            ),
            DropReason::SeriesLimit { max_series } => {
                write!(f, "max-series-per-database limit exceeded: ({max_series})")
            }
        }
    }
}

/// A string as Go's `%q` prints it: in double quotes, with `"`, `\\` and control
/// characters escaped (`\n`, `\t`, `\r`, else `\x..` or `\u....`), printable characters as
/// they are.
struct GoQuoted<'a>(&'a str);

impl fmt::Display for GoQuoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
                c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
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

/// Plans `body` as a write to `database` / `policy` (found by [`write_target`]), as one
/// piece (see [`PiecewisePlan::plan_piece`] for the series limits).
pub fn plan_points(
    body: &[u8],
    precision: Precision,
    database: &Database,
    policy: &RetentionPolicy,
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
) -> PlannedWrite {
    let mut plan = PiecewisePlan::new();
    let pass = Pass {
        body,
        precision,
        database,
        policy,
        lines_before: 0,
    };
    // One piece, the last: no line count to carry (it would cost a pass over the body).
    let records = plan.plan(&pass, context, scratch);
    PlannedWrite {
        records,
        outcome: plan.outcome(),
    }
}

/// A write planned in pieces: the whole lines of a body that arrives a piece at a time (an
/// inflating gzip body; `line_protocol::scan::complete_lines_end` cuts them), each piece
/// planned, and made durable by the caller, before the next is planned. It carries from
/// one piece to the next what makes the pieces together answer as the whole body would:
/// the rejections so far (counts, the reported drop reason, the parse errors' text within
/// its bounds, the bad lines' numbers in the whole body) and the lines already planned.
///
/// What differs from planning the whole body at once, because each piece is planned
/// against what the database holds when it is planned, earlier pieces included:
/// - a field new to the database is fixed by the first piece that writes it; a later
///   piece's point giving it another type is dropped as a conflict with the stored type
///   (`partial write: field type conflict: …`), where the whole body is refused;
/// - two points of one piece giving a new field different types, in a shard group that
///   does not exist yet, refuse that piece ([`WriteRefusal::FieldTypeConflict`]) and end
///   the write: nothing after it is planned (in an existing one the later point is dropped,
///   as in a whole body);
/// - the series limits count the series the earlier pieces created as existing ones.
///
/// A body planned as one piece ([`plan_points`]) is planned exactly as a whole body.
#[derive(Default)]
pub struct PiecewisePlan {
    /// what the pieces planned so far rejected; bad line numbers are the whole body's
    rejected: RejectedPoints,
    /// lines of the body before the next piece (the `\n` bytes of the pieces planned)
    lines_before: usize,
    /// why a piece was refused; set once, and nothing more is planned
    refused: Option<WriteRefusal>,
}

impl PiecewisePlan {
    /// A write with no piece planned yet.
    pub fn new() -> PiecewisePlan {
        PiecewisePlan::default()
    }

    /// Plans the next `piece` of the body (whole lines: every piece but the last ends just
    /// after a newline) as a write to `database` / `policy` (found by [`write_target`]);
    /// returns its records (partition, record, point count), empty when it has nothing to
    /// write or is refused ([`PiecewisePlan::is_refused`]).
    ///
    /// Series limits (`[data] max-series-per-database`, `max-values-per-tag`), as InfluxDB
    /// 1.6.7 applies them to one write (checked against influxd, tests/golden/limits):
    /// - a point of a series the database does not have yet whose tag brings a value new
    ///   to its measurement's tag key, while that key already has `max-values-per-tag`
    ///   values, is dropped ([`DropReason::TagValueLimit`], the first such tag in key
    ///   order). Values new in this same write do not count, so one write may take a key
    ///   past the limit;
    /// - if the series count plus the points of new series left (each point counted, a
    ///   series written twice counts twice) passes `max-series-per-database`, every one of
    ///   those points is dropped ([`DropReason::SeriesLimit`]); points of existing series
    ///   are kept;
    /// - a limit's reason is the one reported (the series limit's first), whatever else
    ///   was dropped; every drop is counted.
    ///
    /// Cost: the planner reads the database's cardinality once per piece; a piece that
    /// cannot reach a limit (series count + its points within the series limit, no tag key
    /// at the value limit) is planned with no other lookup. Only a piece that may reach one
    /// is planned (again, from its start) looking up each point's series in the index. The
    /// counts are the index's, which takes a series when its point is applied after the
    /// WAL: writes planned at the same time on several threads do not see each other's new
    /// series, so a database may pass a limit by the new series of the writes in flight.
    pub fn plan_piece(
        &mut self,
        piece: &[u8],
        precision: Precision,
        database: &Database,
        policy: &RetentionPolicy,
        context: &WriteContext<'_>,
        scratch: &mut WriteScratch,
    ) -> Vec<(usize, Vec<u8>, u32)> {
        let pass = Pass {
            body: piece,
            precision,
            database,
            policy,
            lines_before: self.lines_before,
        };
        self.lines_before += memchr::memchr_iter(b'\n', piece).count();
        self.plan(&pass, context, scratch)
    }

    /// Plans `pass` unless a piece was refused; records the refusal.
    fn plan(
        &mut self,
        pass: &Pass<'_, '_>,
        context: &WriteContext<'_>,
        scratch: &mut WriteScratch,
    ) -> Vec<(usize, Vec<u8>, u32)> {
        if self.refused.is_some() {
            return Vec::new();
        }
        match plan_with_limits(pass, context, scratch, &mut self.rejected) {
            Ok(records) => records,
            Err(refusal) => {
                self.refused = Some(refusal);
                Vec::new()
            }
        }
    }

    /// Whether a piece was refused (nothing more is planned; the outcome is the refusal).
    pub fn is_refused(&self) -> bool {
        self.refused.is_some()
    }

    /// What happened to the points of every piece planned.
    pub fn outcome(self) -> WriteOutcome {
        if let Some(refusal) = self.refused {
            WriteOutcome::Refused(refusal)
        } else if self.rejected.is_clean() {
            WriteOutcome::Accepted
        } else {
            WriteOutcome::PointsRejected(self.rejected)
        }
    }
}

/// What a pass gives: its records (partition, record, point count), or why its body is
/// refused.
type PassResult = Result<Vec<(usize, Vec<u8>, u32)>, WriteRefusal>;

/// One planning pass's input: a body (or piece) and where it goes.
struct Pass<'b, 'm> {
    body: &'b [u8],
    precision: Precision,
    database: &'m Database,
    policy: &'m RetentionPolicy,
    /// lines of the whole body before `body` (bad lines are numbered in the whole body)
    lines_before: usize,
}

/// Plans `pass` under the series limits (see [`PiecewisePlan::plan_piece`]), adding its
/// rejections to `rejected`.
fn plan_with_limits(
    pass: &Pass<'_, '_>,
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
    rejected: &mut RejectedPoints,
) -> PassResult {
    let limits = context.ingest.series_limits();
    if limits.max_series_per_database == 0 && limits.max_values_per_tag == 0 {
        return plan_pass(pass, context, scratch, Limits::Off, rejected)
            .unwrap_or_else(unreachable_restart);
    }
    let Some(index) = context.ingest.store().series_index(pass.database.id) else {
        return plan_pass(pass, context, scratch, Limits::Off, rejected)
            .unwrap_or_else(unreachable_restart);
    };
    let (series, largest_tag_values) = index.cardinality();
    let values_reachable =
        limits.max_values_per_tag > 0 && largest_tag_values >= limits.max_values_per_tag;
    if !values_reachable {
        let headroom = if limits.max_series_per_database == 0 {
            u64::MAX
        } else {
            limits.max_series_per_database.saturating_sub(series) as u64
        };
        let before = rejected.mark();
        let quick = Limits::Headroom(headroom);
        if let Some(planned) = plan_pass(pass, context, scratch, quick, rejected) {
            return planned;
        }
        // Planned again from the start of the pass: forget what the quick pass counted.
        rejected.roll_back(before);
    }
    let checked = Limits::Checked {
        index: &index,
        series,
        limits,
    };
    plan_pass(pass, context, scratch, checked, rejected).unwrap_or_else(unreachable_restart)
}

fn unreachable_restart<T>() -> T {
    panic!("BUG: only a headroom pass asks to be planned again")
}

/// How one planning pass treats the series limits.
#[derive(Clone, Copy)]
enum Limits<'i> {
    /// no limit applies
    Off,
    /// no tag key is at its value limit and this many more series fit: plan without
    /// lookups, and give up (to be planned `Checked`) once more points than that have
    /// reached the series stage
    Headroom(u64),
    /// look up each point's series
    Checked {
        index: &'i SeriesIndex,
        /// series count of the database
        series: usize,
        limits: SeriesLimits,
    },
}

/// Records being built for one set of points: one builder per partition, the full records.
struct RecordSet {
    builders: Vec<Option<RecordBuilder>>,
    records: Vec<(usize, Vec<u8>, u32)>,
    points: u64,
}

impl RecordSet {
    fn new(partitions: usize) -> RecordSet {
        RecordSet {
            builders: (0..partitions).map(|_| None).collect(),
            records: Vec::new(),
            points: 0,
        }
    }

    /// Ends the point just written to `partition`'s record; takes the record if full.
    fn point_done(&mut self, partition: usize) {
        self.points += 1;
        let full = self.builders[partition]
            .as_ref()
            .is_some_and(|builder| builder.len_bytes() >= INGEST_BATCH_MAX_BYTES);
        if full {
            if let Some(full) = self.builders[partition].take() {
                let count = full.point_count();
                self.records.push((partition, full.finish(), count));
            }
        }
    }

    fn finish(mut self) -> Vec<(usize, Vec<u8>, u32)> {
        for (partition, builder) in self.builders.into_iter().enumerate() {
            if let Some(builder) = builder {
                if builder.point_count() > 0 {
                    let count = builder.point_count();
                    self.records.push((partition, builder.finish(), count));
                }
            }
        }
        self.records
    }
}

/// One pass over `body`; `None` when a [`Limits::Headroom`] pass runs out of headroom.
fn plan_pass(
    pass: &Pass<'_, '_>,
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
    limits: Limits<'_>,
    outcome: &mut RejectedPoints,
) -> Option<PassResult> {
    let Pass {
        body,
        precision,
        database,
        policy,
        lines_before,
    } = *pass;
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
    let mut kept = RecordSet::new(partitions);
    // points of new series, while a series limit is checked (kept only if they all fit)
    let mut new_series = RecordSet::new(partitions);
    let mut new_series_points: u64 = 0;
    let mut limited_points: u64 = 0;
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
                outcome.parse_error(&error, lines_before);
                continue;
            }
        };
        scratch.series_key.clear();
        line_protocol::append_series_key(point.measurement, point.tags, &mut scratch.series_key);
        if !is_utf8(&scratch.series_key) {
            if !names_are_utf8(&point) {
                outcome.drop_point(DropReason::InvalidUtf8, false);
                continue;
            }
            replace_invalid_utf8(&mut scratch.series_key, &mut scratch.display);
        }
        if scratch.series_key.len() > SERIES_KEY_MAX_BYTES {
            outcome.drop_point(
                DropReason::SeriesKeyTooLong {
                    length: scratch.series_key.len(),
                },
                false,
            );
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
        let mut is_new_series = false;
        match limits {
            Limits::Off => {}
            Limits::Headroom(headroom) => {
                limited_points += 1;
                if limited_points > headroom {
                    return None;
                }
            }
            Limits::Checked { index, limits, .. } => {
                if index.id_of(&scratch.series_key).is_none() {
                    if limits.max_values_per_tag > 0 {
                        let over = index
                            .tag_value_over_limit(&scratch.series_key, limits.max_values_per_tag);
                        if let Some(over) = over {
                            outcome.drop_point(DropReason::tag_value_limit(over, limits), false);
                            continue;
                        }
                    }
                    is_new_series = true;
                    new_series_points += 1;
                }
            }
        }
        let partition = context.ingest.partition_of(&scratch.series_key);
        // Fields are checked before the point is started, so a dropped point leaves no trace.
        match check_fields(&point, database_id, context.registry, scratch) {
            FieldCheck::Ok => {}
            FieldCheck::Drop(reason) => {
                outcome.drop_point(reason, false);
                continue;
            }
            FieldCheck::ConflictWithinRequest(reason) => {
                // As 1.6.7: where the point's shard exists, a field an earlier point of this
                // request created is already that shard's, so the conflict drops this point
                // (with the partial-write text); a write that creates the shard is refused
                // whole, with the bare `field type conflict`.
                if policy.shard_group_at(point.timestamp_ns).is_some() {
                    outcome.drop_point(reason, false);
                    continue;
                }
                return Some(Err(WriteRefusal::FieldTypeConflict));
            }
        }
        let set = if is_new_series {
            &mut new_series
        } else {
            &mut kept
        };
        // A record is about as large as its share of the body: start there, capped.
        let record_capacity =
            (body.len() / partitions).clamp(RECORD_CAPACITY_MIN_BYTES, RECORD_CAPACITY_MAX_BYTES);
        let mut builder = set.builders[partition]
            .take()
            .unwrap_or_else(|| RecordBuilder::new(database_id, rp, record_capacity));
        builder.begin_point(&scratch.series_key, point.timestamp_ns);
        for field in point.fields {
            if builder.len_bytes() >= INGEST_BATCH_MAX_BYTES {
                // A point larger than a batch continues in the next record as a point of
                // the same series and time (their fields merge when applied), so no record
                // outgrows the WAL's record bound however many fields one line has.
                let count = builder.point_count();
                set.records.push((partition, builder.finish(), count));
                builder = RecordBuilder::new(database_id, rp, record_capacity);
                builder.begin_point(&scratch.series_key, point.timestamp_ns);
            }
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
        set.builders[partition] = Some(builder);
        set.point_done(partition);
    }
    let mut records = kept.records_and_count(&mut outcome.points);
    if let Limits::Checked { series, limits, .. } = limits {
        let max_series = limits.max_series_per_database as u64;
        if max_series > 0 && series as u64 + new_series_points > max_series {
            // Those that fields dropped are counted already.
            outcome.dropped += new_series.points;
            outcome.drop_reason = Some(DropReason::SeriesLimit {
                max_series: limits.max_series_per_database,
            });
        } else {
            records.extend(new_series.records_and_count(&mut outcome.points));
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
            return Some(Err(WriteRefusal::FieldTypeConflict));
        }
    }
    Some(Ok(records))
}

impl RecordSet {
    /// The finished records; adds their points to `points`.
    fn records_and_count(self, points: &mut u64) -> Vec<(usize, Vec<u8>, u32)> {
        *points += self.points;
        self.finish()
    }
}

impl RejectedPoints {
    /// Counts a bad line; `lines_before` are the body's lines before the parsed piece.
    fn parse_error(&mut self, error: &line_protocol::ParseError, lines_before: usize) {
        if self.bad_line_numbers.len() < WRITE_BAD_LINE_NUMBERS_MAX {
            self.bad_line_numbers.push(lines_before + error.line_number);
        }
        // The first bad line is quoted whole as InfluxDB does (a million-tag line keeps its
        // `max key length exceeded`), up to WRITE_ERROR_FIRST_LINE_MAX_BYTES; later ones
        // only while the text stays within WRITE_ERROR_TEXT_MAX_BYTES.
        let first = self.parse_errors.is_empty() && self.parse_errors_untold == 0;
        if !first && self.parse_errors.len() + error.line.len() > WRITE_ERROR_TEXT_MAX_BYTES {
            self.parse_errors_untold += 1;
            return;
        }
        if !self.parse_errors.is_empty() {
            self.parse_errors.push(b'\n');
        }
        self.parse_errors.extend_from_slice(b"unable to parse '");
        match error.line.get(..WRITE_ERROR_FIRST_LINE_MAX_BYTES) {
            Some(prefix) if error.line.len() > WRITE_ERROR_FIRST_LINE_MAX_BYTES => {
                self.parse_errors.extend_from_slice(prefix);
                self.parse_errors.extend_from_slice(b"...");
            }
            _ => self.parse_errors.extend_from_slice(&error.line),
        }
        self.parse_errors.extend_from_slice(b"': ");
        self.parse_errors
            .extend_from_slice(error.message.as_bytes());
    }

    /// Counts a dropped point. `reason` is the one reported if none is yet, or if it ranks
    /// above the current one (a limit's), or if it ranks the same and `overrides` (a `time`
    /// tag's: the last one is reported).
    fn drop_point(&mut self, reason: DropReason, overrides: bool) {
        self.dropped += 1;
        let current = self.drop_reason.as_ref().map_or(-1, DropReason::rank);
        let new = reason.rank();
        if new > current || (new == current && overrides) {
            self.drop_reason = Some(reason);
        }
    }

    /// Where the counts and texts stand, for [`RejectedPoints::roll_back`].
    fn mark(&self) -> RejectedMark {
        RejectedMark {
            points: self.points,
            dropped: self.dropped,
            drop_reason: self.drop_reason.clone(),
            beyond_retention: self.beyond_retention,
            parse_errors_bytes: self.parse_errors.len(),
            parse_errors_untold: self.parse_errors_untold,
            bad_lines: self.bad_line_numbers.len(),
        }
    }

    /// Forgets everything counted since `mark` was taken (a pass planned again).
    fn roll_back(&mut self, mark: RejectedMark) {
        self.points = mark.points;
        self.dropped = mark.dropped;
        self.drop_reason = mark.drop_reason;
        self.beyond_retention = mark.beyond_retention;
        self.parse_errors.truncate(mark.parse_errors_bytes);
        self.parse_errors_untold = mark.parse_errors_untold;
        self.bad_line_numbers.truncate(mark.bad_lines);
    }

    /// Whether nothing was rejected.
    fn is_clean(&self) -> bool {
        self.dropped == 0
            && self.beyond_retention == 0
            && self.parse_errors.is_empty()
            && self.parse_errors_untold == 0
    }
}

/// [`RejectedPoints`] as it stood before a pass: the texts and lists only grow, so their
/// lengths are enough to go back.
struct RejectedMark {
    points: u64,
    dropped: u64,
    drop_reason: Option<DropReason>,
    beyond_retention: u64,
    parse_errors_bytes: usize,
    parse_errors_untold: u64,
    bad_lines: usize,
}

enum FieldCheck {
    Ok,
    Drop(DropReason),
    /// the type differs from the one an earlier point of this request gave a new field
    ConflictWithinRequest(DropReason),
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
                Some(staged) if *staged != wanted => {
                    let stored = *staged;
                    let field = String::from_utf8_lossy(&scratch.unescaped_key).into_owned();
                    let measurement =
                        display_name(measurement, EscapeKind::Measurement, &mut scratch.display);
                    return FieldCheck::ConflictWithinRequest(DropReason::FieldTypeConflict {
                        field,
                        measurement,
                        written: wanted,
                        stored,
                    });
                }
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

/// Why a point with non-UTF-8 names is dropped (1.6.7 answers 500 for a new measurement's
/// invalid name and stores nothing; names must be UTF-8 for every later JSON answer to be
/// valid). Tag values are not names: see [`replace_invalid_utf8`].
const INVALID_UTF8_REASON: &str = "invalid UTF-8 in measurement, tag or field key";

fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

/// Whether the measurement and every tag key of `point` are UTF-8 (escapes are ASCII, so the
/// escaped bytes are UTF-8 exactly when the names are).
fn names_are_utf8(point: &line_protocol::Point<'_, '_>) -> bool {
    is_utf8(point.measurement) && point.tags.iter().all(|tag| is_utf8(tag.key))
}

/// U+FFFD, the replacement character, in UTF-8.
const REPLACEMENT_CHARACTER_UTF8: &[u8] = "\u{fffd}".as_bytes();

/// Replaces each byte of every invalid UTF-8 sequence in a series key (only its tag values
/// can hold one: see [`names_are_utf8`]) with U+FFFD, using `spare` as the copy buffer.
///
/// InfluxDB 1.6.7 stores a tag value's bytes as sent, and its JSON answers show each invalid
/// byte as `\ufffd` (Go's encoder decodes byte by byte: `a\xe2\x82` shows as two), so
/// storing the replacement gives the same answers while every name and value Sluice keeps
/// stays UTF-8. The one difference: two values that differ only in their invalid bytes are one
/// series here and two there. Tag keys are unchanged, so their order holds, and the
/// replacement holds no ASCII, so the key's escaping stays canonical; the caller checks the
/// key length after this (each invalid byte becomes three).
fn replace_invalid_utf8(series_key: &mut Vec<u8>, spare: &mut Vec<u8>) {
    spare.clear();
    for chunk in series_key.utf8_chunks() {
        spare.extend_from_slice(chunk.valid().as_bytes());
        for _ in chunk.invalid() {
            spare.extend_from_slice(REPLACEMENT_CHARACTER_UTF8);
        }
    }
    std::mem::swap(series_key, spare);
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::record::decode_record;
    use crate::{IngestOptions, SeriesLimits};
    use sluice_line_protocol::scan::complete_lines_end;
    use sluice_storage::engine::{Store, StoreOptions};
    use sluice_storage::meta::{MetaStore, RetentionPolicySpec};

    const NOW_NS: i64 = 1_700_000_000_000_000_000;

    /// A meta store with database `db`, a store and running partitions in a fresh directory.
    struct Fixture {
        meta: Arc<MetaStore>,
        ingest: Ingest,
        directory: PathBuf,
    }

    impl Fixture {
        fn new(name: &str) -> Fixture {
            let directory =
                std::env::temp_dir().join(format!("sluice-plan-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&directory);
            let meta = Arc::new(MetaStore::open(&directory.join("meta")).expect("meta"));
            meta.create_database("db", &RetentionPolicySpec::default())
                .expect("database");
            let store = Store::open(
                StoreOptions {
                    data_dir: directory.join("data"),
                    partitions: 2,
                    cache_snapshot_bytes: usize::MAX,
                    cache_max_bytes: usize::MAX,
                    read_only: false,
                },
                Arc::clone(&meta),
            )
            .expect("store");
            let options = IngestOptions {
                wal_dir: directory.join("wal"),
                partitions: 2,
                queue_depth_per_loop: 4,
                event_loops: 1,
                fsync_delay: Duration::ZERO,
                segment_max_bytes: 1 << 20,
                wal_max_bytes: u64::MAX,
                group_max_records: 16,
                debug_commit_delay: Duration::ZERO,
                series_limits: SeriesLimits {
                    max_series_per_database: 0,
                    max_values_per_tag: 0,
                },
                committed_writes: None,
            };
            let (ingest, _) = Ingest::start(&options, &store).expect("ingest");
            Fixture {
                meta,
                ingest,
                directory,
            }
        }

        fn context<'a>(&'a self, meta: &'a MetaData) -> WriteContext<'a> {
            WriteContext {
                meta,
                ingest: &self.ingest,
                registry: &self.ingest.field_types,
                now_ns: NOW_NS,
            }
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            self.ingest.shutdown();
            let _ = std::fs::remove_dir_all(&self.directory);
        }
    }

    /// Every point of `records`, per partition in order: (series key, time, fields).
    fn points_of(records: &[(usize, Vec<u8>, u32)]) -> Vec<Vec<String>> {
        let mut partitions = vec![Vec::new(); 2];
        for (partition, payload, count) in records {
            let header = decode_record(payload, |_, point| {
                partitions[*partition].push(format!(
                    "{} {} {:?}",
                    String::from_utf8_lossy(point.series_key),
                    point.timestamp_ns,
                    point.fields
                ));
            })
            .expect("record");
            assert_eq!(header.point_count, *count);
        }
        partitions
    }

    /// Plans `body` in pieces cut where `arrivals` say bytes arrived, as a large write does.
    fn plan_arriving(
        body: &[u8],
        arrivals: &[usize],
        context: &WriteContext<'_>,
        scratch: &mut WriteScratch,
    ) -> (Vec<(usize, Vec<u8>, u32)>, WriteOutcome) {
        let (database, policy) = write_target(context.meta, "db", "").expect("target");
        let mut plan = PiecewisePlan::new();
        let mut records = Vec::new();
        let mut taken = 0;
        for arrived in arrivals.iter().copied().chain([body.len()]) {
            let buffered = &body[taken..arrived.clamp(taken, body.len())];
            let piece = &buffered[..complete_lines_end(buffered, arrived < body.len())];
            let planned = plan.plan_piece(
                piece,
                Precision::Nanosecond,
                database,
                policy,
                context,
                scratch,
            );
            records.extend(planned);
            taken += piece.len();
        }
        (records, plan.outcome())
    }

    /// Lines of every kind of outcome: good points, parse errors (one spanning two lines),
    /// a `time` tag, only `time` fields, a conflict with a stored type, comments, CRLF, and a
    /// last line whose open quote runs to the end of the body.
    const MIXED_BODY: &[u8] = b"cpu,host=a v=1,s=\"two\nlines\" 10\n\
        bad line here\n\
        # comment\n\
        cpu,host=b v=2 11\r\n\
        cpu,time=x v=3 12\n\
        mem,host=a time=1i 13\n\
        cpu,host=c v=4i 14\n\
        disk,path=/\\ x free=7i,ok=t 16\n\
        \n\
        cpu,host=e v=6\n\
        cpu,host=d v=5,s=\"unbalanced 15";

    #[test]
    fn pieces_cut_anywhere_plan_as_the_whole_body() {
        let fixture = Fixture::new("pieces");
        let meta = fixture.meta.snapshot();
        let context = fixture.context(&meta);
        let mut scratch = WriteScratch::default();
        // `v` is a float once stored: `v=4i` conflicts with the stored type in every plan.
        let setup = plan_lines(
            b"cpu v=0,s=\"\"",
            Precision::Nanosecond,
            "db",
            "",
            &context,
            &mut scratch,
        );
        assert!(setup.outcome.is_accepted());
        let database = meta.database("db").expect("db");
        let policy = database.retention_policy("").expect("policy");
        let whole = plan_points(
            MIXED_BODY,
            Precision::Nanosecond,
            database,
            policy,
            &context,
            &mut scratch,
        );
        let WriteOutcome::PointsRejected(rejected) = &whole.outcome else {
            panic!("expected rejections: {:?}", whole.outcome);
        };
        assert_eq!(rejected.points, 4);
        assert_eq!(rejected.dropped, 3);
        assert_eq!(rejected.bad_line_numbers, vec![3, 12]);
        let expected_points = points_of(&whole.records);
        for cut in 0..=MIXED_BODY.len() {
            let (records, outcome) = plan_arriving(MIXED_BODY, &[cut], &context, &mut scratch);
            assert_eq!(outcome, whole.outcome, "cut at {cut}");
            assert_eq!(points_of(&records), expected_points, "cut at {cut}");
        }
        for step in [1, 2, 3, 5, 8, 13] {
            let arrivals: Vec<usize> = (1..=MIXED_BODY.len() / step).map(|n| n * step).collect();
            let (records, outcome) = plan_arriving(MIXED_BODY, &arrivals, &context, &mut scratch);
            assert_eq!(outcome, whole.outcome, "pieces of {step} bytes");
            assert_eq!(
                points_of(&records),
                expected_points,
                "pieces of {step} bytes"
            );
        }
    }

    #[test]
    fn the_first_bad_line_and_the_text_bounds_carry_across_pieces() {
        let fixture = Fixture::new("text-bounds");
        let meta = fixture.meta.snapshot();
        let context = fixture.context(&meta);
        let mut scratch = WriteScratch::default();
        // Enough bad lines to pass WRITE_ERROR_TEXT_MAX_BYTES and the line-number list.
        let mut body = Vec::new();
        for n in 0..40_000 {
            body.extend_from_slice(format!("bad{n:05} line with no fields at all\n").as_bytes());
            body.extend_from_slice(format!("good v={n} {n}\n").as_bytes());
        }
        let database = meta.database("db").expect("db");
        let policy = database.retention_policy("").expect("policy");
        let whole = plan_points(
            &body,
            Precision::Nanosecond,
            database,
            policy,
            &context,
            &mut scratch,
        );
        let WriteOutcome::PointsRejected(rejected) = &whole.outcome else {
            panic!("expected rejections");
        };
        assert!(rejected.parse_errors_untold > 0);
        let arrivals: Vec<usize> = (1..body.len() / 4096).map(|n| n * 4096).collect();
        let (records, outcome) = plan_arriving(&body, &arrivals, &context, &mut scratch);
        assert_eq!(outcome, whole.outcome);
        assert_eq!(points_of(&records), points_of(&whole.records));
        assert_eq!(
            outcome.to_string().lines().next(),
            Some("partial write: unable to parse 'bad00000 line with no fields at all': invalid field format")
        );
    }

    #[test]
    fn invalid_utf8_in_tag_values_is_stored_replaced_and_in_names_refused() {
        let fixture = Fixture::new("utf8");
        let meta = fixture.meta.snapshot();
        let context = fixture.context(&meta);
        let mut scratch = WriteScratch::default();
        // As 1.6.7 shows them: each invalid byte one U+FFFD (a truncated sequence gives
        // two), valid multi-byte text and escapes untouched.
        let stored = plan_lines(
            b"m,a=x\\,\xff,b=\xe2\x82y,c=\xc3\xa9 v=1 1",
            Precision::Nanosecond,
            "db",
            "",
            &context,
            &mut scratch,
        );
        assert!(stored.outcome.is_accepted(), "{:?}", stored.outcome);
        let keys: Vec<String> = points_of(&stored.records)
            .concat()
            .iter()
            .map(|point| point.split(' ').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            keys,
            vec!["m,a=x\\,\u{fffd},b=\u{fffd}\u{fffd}y,c=\u{e9}".to_string()]
        );
        // Names stay refused: a measurement, a tag key, a field key.
        for line in [&b"m\xff v=1 1"[..], b"m,k\xff=a v=1 1", b"m v\xff=1 1"] {
            let refused = plan_lines(
                line,
                Precision::Nanosecond,
                "db",
                "",
                &context,
                &mut scratch,
            );
            assert_eq!(
                refused.outcome.to_string(),
                "partial write: invalid UTF-8 in measurement, tag or field key dropped=1",
                "{line:?}"
            );
            assert!(refused.records.is_empty());
        }
        // The replacement counts toward the key length bound (each invalid byte is 3 bytes).
        let mut long = b"m,t=".to_vec();
        long.extend(std::iter::repeat_n(0xff_u8, SERIES_KEY_MAX_BYTES / 3));
        long.extend_from_slice(b" v=1 1");
        let too_long = plan_lines(
            &long,
            Precision::Nanosecond,
            "db",
            "",
            &context,
            &mut scratch,
        );
        assert!(
            too_long
                .outcome
                .to_string()
                .contains("max key length exceeded"),
            "{}",
            too_long.outcome
        );
    }

    #[test]
    fn a_conflict_inside_a_piece_refuses_it_and_ends_the_write() {
        let fixture = Fixture::new("refusal");
        let meta = fixture.meta.snapshot();
        let context = fixture.context(&meta);
        let mut scratch = WriteScratch::default();
        let database = meta.database("db").expect("db");
        let policy = database.retention_policy("").expect("policy");
        let mut plan = PiecewisePlan::new();
        let first = plan.plan_piece(
            b"m a=1 1\n",
            Precision::Nanosecond,
            database,
            policy,
            &context,
            &mut scratch,
        );
        assert_eq!(first.len(), 1);
        // A new field given two types within one piece: that piece is refused.
        let second = plan.plan_piece(
            b"m b=1 2\nm b=\"x\" 3\n",
            Precision::Nanosecond,
            database,
            policy,
            &context,
            &mut scratch,
        );
        assert!(second.is_empty() && plan.is_refused());
        let third = plan.plan_piece(
            b"m a=2 4\n",
            Precision::Nanosecond,
            database,
            policy,
            &context,
            &mut scratch,
        );
        assert!(third.is_empty(), "nothing is planned after a refusal");
        assert_eq!(
            plan.outcome(),
            WriteOutcome::Refused(WriteRefusal::FieldTypeConflict)
        );
        // Across pieces the first piece fixed the type: the later point is dropped.
        let mut plan = PiecewisePlan::new();
        for piece in [&b"n c=1 1\n"[..], b"n c=\"x\" 2\nn c=2 3\n"] {
            plan.plan_piece(
                piece,
                Precision::Nanosecond,
                database,
                policy,
                &context,
                &mut scratch,
            );
        }
        assert_eq!(
            plan.outcome().to_string(),
            "partial write: field type conflict: input field \"c\" on measurement \"n\" is \
             type string, already exists as type float dropped=1"
        );
    }
}
