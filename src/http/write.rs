//! `/write`: from a framed request to per-partition WAL records and the answer InfluxDB would
//! give, decided before the points are durable and sent only once they are.
//!
//! Runs on the event loop that owns the connection. Per point: build the canonical series key
//! into a reused buffer, check InfluxDB's shard-level rules (no `time` tag, `time` fields
//! dropped, field types fixed by the first write), then append the point to the record of the
//! partition that owns its series. Nothing is allocated per point or field except when a
//! record buffer grows.
//!
//! Error precedence, as InfluxDB 1.6.7 answers (golden data in tests/golden):
//! - two points of one request giving a field new to the database different types: `400 field
//!   type conflict`, and nothing of the request is written;
//! - a dropped point (`time` tag, conflict with a stored type, only `time` fields):
//!   `400 partial write: <first reason> dropped=N` (a `time` tag's reason wins), whatever
//!   parse errors the request also had;
//! - parse errors: `400 unable to parse '<line>': <why>`, one per bad line joined by `\n`, and
//!   prefixed `partial write: ` / suffixed ` dropped=0` when some lines were good.
//!
//! Good points are written in every case but the first.

use crate::http::framing::Request;
use crate::http::gzip::{gunzip_limited_detailed, GzipFailure};
use crate::http::query_string::query_param;
use crate::http::response::Response;
use crate::ingest::field_types::{FieldTypeRegistry, LocalFieldTypes};
use crate::ingest::record::{FieldType, RecordBuilder, StoredValue};
use crate::ingest::{measurement_of, Ingest};
use crate::limits::{
    INGEST_BATCH_MAX_BYTES, SERIES_KEY_MAX_BYTES, WRITE_BAD_LINE_NUMBERS_MAX,
    WRITE_ERROR_TEXT_MAX_BYTES,
};
use crate::line_protocol::{self, EscapeKind, FieldValue, Parser, Precision, Scratch};
use crate::meta::{Database, MetaData, RetentionPolicy};

/// What the event loop does with a write request.
pub enum WritePlan {
    /// answer now; nothing to make durable
    Respond(Response),
    /// make these records durable, then answer `on_durable`
    Submit {
        /// (partition, record, point count)
        records: Vec<(usize, Vec<u8>, u32)>,
        /// the answer once every record is durable
        on_durable: Response,
    },
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
    gunzipped: Vec<u8>,
    /// fields first seen in the current request, keyed by `staged_key`
    new_fields: std::collections::HashMap<Box<[u8]>, FieldType>,
    staged_key: Vec<u8>,
    /// field types this loop has seen
    pub field_types: LocalFieldTypes,
}

/// Inputs of one write besides the request.
pub struct WriteContext<'a> {
    /// meta snapshot
    pub meta: &'a MetaData,
    /// partitions
    pub ingest: &'a Ingest,
    /// shared field types
    pub registry: &'a FieldTypeRegistry,
    /// `[http] max-inflated-body-size`: bound on a gzip body after decoding
    pub max_body_bytes: usize,
    /// server time of the request, for points without a timestamp
    pub now_ns: i64,
}

/// Plans a `/write` request.
pub fn plan_write(
    request: &Request,
    params: &[(String, String)],
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
) -> WritePlan {
    let database_name = query_param(params, "db").unwrap_or("");
    if database_name.is_empty() {
        return WritePlan::Respond(Response::json_error(400, "database is required"));
    }
    let rp_name = query_param(params, "rp").unwrap_or("");
    let (database, policy) = match write_target(context.meta, database_name, rp_name) {
        Ok(target) => target,
        Err(answer) => return WritePlan::Respond(answer),
    };
    match query_param(params, "consistency").unwrap_or("") {
        "" | "any" | "one" | "quorum" | "all" => {}
        _ => return WritePlan::Respond(Response::json_error(400, "invalid consistency level")),
    }
    // InfluxDB treats an unknown precision as nanoseconds.
    let precision = Precision::from_param(query_param(params, "precision").unwrap_or(""))
        .unwrap_or(Precision::Nanosecond);

    let mut gunzipped = std::mem::take(&mut scratch.gunzipped);
    let body: &[u8] = if request.head.content_encoding_gzip {
        gunzipped.clear();
        match gunzip_limited_detailed(&request.body, context.max_body_bytes, &mut gunzipped) {
            Ok(()) => &gunzipped,
            Err(failure) => {
                scratch.gunzipped = gunzipped;
                let message = match failure {
                    GzipFailure::TooLarge => "Request Entity Too Large: body is larger than max-inflated-body-size after gzip decoding".to_string(),
                    other => other.influx_message(),
                };
                return WritePlan::Respond(Response::json_error(failure.status(), &message));
            }
        }
    } else {
        &request.body
    };
    let plan = plan_points(body, precision, database.id, policy, context, scratch);
    scratch.gunzipped = gunzipped;
    plan
}

/// Plans line protocol that an input (UDP, Graphite, collectd, OpenTSDB) received for
/// `database_name` / `rp_name`, with the same checks and answers as `/write`.
pub fn plan_lines(
    body: &[u8],
    precision: Precision,
    database_name: &str,
    rp_name: &str,
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
) -> WritePlan {
    let (database, policy) = match write_target(context.meta, database_name, rp_name) {
        Ok(target) => target,
        Err(answer) => return WritePlan::Respond(answer),
    };
    plan_points(body, precision, database.id, policy, context, scratch)
}

/// The database and retention policy a write goes to, or InfluxDB's answer when either is
/// missing (404 for the database, 500 for the retention policy, as 1.6.7 answers).
fn write_target<'m>(
    meta: &'m MetaData,
    database_name: &str,
    rp_name: &str,
) -> Result<(&'m Database, &'m RetentionPolicy), Response> {
    let Some(database) = meta.database(database_name) else {
        let message = format!("database not found: \"{database_name}\"");
        return Err(Response::json_error(404, &message));
    };
    let Some(policy) = database.retention_policy(rp_name) else {
        let message = format!("retention policy not found: {rp_name}");
        return Err(Response::json_error(500, &message));
    };
    Ok((database, policy))
}

struct Outcome {
    parse_errors: Vec<u8>,
    /// bad lines whose text did not fit in `WRITE_ERROR_TEXT_MAX_BYTES`
    parse_errors_untold: u64,
    /// 1-based numbers of the first bad lines, for `X-Sluice-Bad-Lines`
    bad_line_numbers: Vec<usize>,
    dropped: u64,
    drop_reason: String,
    /// points older than the retention policy keeps (InfluxDB reports them only when
    /// nothing else was dropped)
    beyond_retention: u64,
    points: u64,
}

fn plan_points(
    body: &[u8],
    precision: Precision,
    database_id: u64,
    policy: &RetentionPolicy,
    context: &WriteContext<'_>,
    scratch: &mut WriteScratch,
) -> WritePlan {
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
    let mut outcome = Outcome {
        parse_errors: Vec::new(),
        parse_errors_untold: 0,
        bad_line_numbers: Vec::new(),
        dropped: 0,
        drop_reason: String::new(),
        beyond_retention: 0,
        points: 0,
    };
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
                format!(
                    "max key length exceeded: {} > {}",
                    scratch.series_key.len(),
                    SERIES_KEY_MAX_BYTES
                ),
                false,
            );
            continue;
        }
        if !is_utf8(&scratch.series_key) {
            outcome.drop_point(INVALID_UTF8_REASON.to_string(), false);
            continue;
        }
        if point.tags.iter().any(|tag| tag.key == b"time") {
            let measurement = display_name(
                measurement_of(&scratch.series_key),
                EscapeKind::Measurement,
                &mut scratch.display,
            );
            outcome.drop_point(format!("invalid tag key: input tag \"time\" on measurement \"{measurement}\" is invalid"), true);
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
                return WritePlan::Respond(Response::json_error(400, "field type conflict"));
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
            return WritePlan::Respond(Response::json_error(400, "field type conflict"));
        }
    }
    let answer = outcome.answer();
    if records.is_empty() {
        WritePlan::Respond(answer)
    } else {
        WritePlan::Submit {
            records,
            on_durable: answer,
        }
    }
}

impl Outcome {
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

    fn drop_point(&mut self, reason: String, overrides: bool) {
        self.dropped += 1;
        if overrides || self.drop_reason.is_empty() {
            self.drop_reason = reason;
        }
    }

    fn answer(&self) -> Response {
        if self.dropped > 0 {
            let message = format!(
                "partial write: {} dropped={}",
                self.drop_reason, self.dropped
            );
            return Response::json_error(400, &message);
        }
        if self.beyond_retention > 0 {
            let message = format!(
                "partial write: points beyond retention policy dropped={}",
                self.beyond_retention
            );
            return Response::json_error(400, &message);
        }
        if !self.parse_errors.is_empty() || self.parse_errors_untold > 0 {
            let mut errors = String::from_utf8_lossy(&self.parse_errors).into_owned();
            if self.parse_errors_untold > 0 {
                errors.push_str(&format!(
                    "\n... and {} more lines unable to parse",
                    self.parse_errors_untold
                ));
            }
            let mut response = if self.points > 0 {
                Response::json_error(400, &format!("partial write: {errors} dropped=0"))
            } else {
                Response::json_error(400, &errors)
            };
            let numbers: Vec<String> = self.bad_line_numbers.iter().map(usize::to_string).collect();
            response
                .headers
                .push(("X-Sluice-Bad-Lines", numbers.join(",")));
            return response;
        }
        Response::no_content()
    }
}

enum FieldCheck {
    Ok,
    Drop(String),
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
            return FieldCheck::Drop(INVALID_UTF8_REASON.to_string());
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
            let field_name = String::from_utf8_lossy(&scratch.unescaped_key).into_owned();
            let measurement =
                display_name(measurement, EscapeKind::Measurement, &mut scratch.display);
            return FieldCheck::Drop(format!(
                "field type conflict: input field \"{field_name}\" on measurement \"{measurement}\" is type {}, already exists as type {}",
                wanted.name(),
                existing.name()
            ));
        }
    }
    if stored_fields == 0 {
        let measurement = display_name(measurement, EscapeKind::Measurement, &mut scratch.display);
        return FieldCheck::Drop(format!(
            "invalid field name: input field \"time\" on measurement \"{measurement}\" is invalid"
        ));
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
