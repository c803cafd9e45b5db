//! Prometheus remote storage as InfluxDB 1.6.7 maps it.
//!
//! **Read** (`POST /api/v1/prom/read?db=…`): the one query of a snappy protobuf
//! `ReadRequest` becomes `SELECT value FROM <__name__> WHERE time >= start AND time <= end
//! AND <label matchers> GROUP BY *` (no `__name__` matcher: every measurement; `=~`/`!~`
//! are InfluxQL's unanchored regexes, as 1.6.7 runs them), run on the query threads like any
//! query (so auth's READ check applies); the query layer encodes the answer as a snappy
//! `ReadResponse` (`query::prometheus_read`).
//!
//! **Write** (`POST /api/v1/prom/write?db=…`), as InfluxDB 1.6.7 maps it: a
//! snappy-compressed protobuf `WriteRequest` whose every sample becomes a point of
//! measurement `__name__`, tags every label (`__name__` included, empty values left out, as
//! line protocol leaves them out), field `value` (a float) at the sample's millisecond time.
//!
//! Owns the snappy block decoding (bounded by `max-inflated-body-size` before anything is
//! allocated), a protobuf reader for the three messages of the request (no generated code:
//! the schema is five fields), and the translation to line protocol, which is then planned by
//! `ingest::plan` exactly like a `/write` body (types, partial writes, retention).
//!
//! Facts recorded from influxd 1.6.7: a NaN sample is skipped without a word; a ±Inf sample
//! refuses the whole request, 400 `+/-Inf is an unsupported value for field value`, nothing
//! written; a series without `__name__` goes to `prom_metric_not_specified`; bad snappy is
//! 400 `snappy: corrupt input`; a truncated protobuf is 400 `unexpected EOF`; an empty body
//! is 204. Sluice differs in one place: a series whose `__name__` is empty also goes to
//! `prom_metric_not_specified` (1.6.7 stores a series with an empty measurement name, which
//! no query can name). A sample whose millisecond time is outside the nanosecond range
//! becomes a line the planner refuses as it refuses such a `/write` line (`time outside
//! range`, a partial write).
//!
//! Invariants: nothing here panics on any input; output is bounded by the decoded body.

use crate::http::framing::Request;
use crate::http::query_string::query_param;
use crate::http::response::Response;
use crate::http::write::{into_plan, target_of, HttpWriteContext, WritePlan, WriteScratch};
use crate::ingest::plan::plan_points;
use crate::line_protocol::{escape_into, EscapeKind, Precision};

/// The measurement of a series without a `__name__` label (InfluxDB's name for it).
const UNNAMED_METRIC: &[u8] = b"prom_metric_not_specified";
/// The error InfluxDB answers for an infinite sample.
const INFINITE_SAMPLE: &str = "+/-Inf is an unsupported value for field value";
/// The error for a label line protocol cannot carry (see `line_protocol_can_carry`).
const UNWRITABLE_LABEL: &str =
    "Prometheus write: a label holds a control character or ends in a backslash";
/// The error for a body that is not snappy (the Go library's text).
const CORRUPT_SNAPPY: &str = "snappy: corrupt input";
/// The error for a protobuf message cut short (Go's `io.ErrUnexpectedEOF`).
const UNEXPECTED_EOF: &str = "unexpected EOF";

/// Plans a remote-write request: 204 once durable, or InfluxDB's error.
pub fn plan_remote_write(
    request: &Request,
    params: &[(String, String)],
    http_context: &HttpWriteContext<'_>,
    scratch: &mut WriteScratch,
) -> WritePlan {
    let context = &http_context.planning;
    let (database, policy) = match target_of(params, context.meta) {
        Ok(target) => target,
        Err(answer) => return WritePlan::Respond(answer),
    };
    let decoded = match decompress(&request.body, http_context.max_inflated_body_bytes) {
        Ok(decoded) => decoded,
        Err(response) => return WritePlan::Respond(response),
    };
    let mut lines = Vec::with_capacity(decoded.len());
    if let Err(message) = write_request_to_lines(&decoded, &mut lines) {
        return WritePlan::Respond(Response::json_error(400, message));
    }
    drop(decoded);
    into_plan(plan_points(
        &lines,
        Precision::Millisecond,
        database,
        policy,
        context,
        scratch,
    ))
}

/// Decodes a snappy block, refusing before allocating when its declared size is past
/// `max_bytes`.
fn decompress(body: &[u8], max_bytes: usize) -> Result<Vec<u8>, Response> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let declared =
        snap::raw::decompress_len(body).map_err(|_| Response::json_error(400, CORRUPT_SNAPPY))?;
    if declared > max_bytes {
        return Err(Response::json_error(
            413,
            "Request Entity Too Large: body is larger than max-inflated-body-size after snappy decoding",
        ));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|_| Response::json_error(400, CORRUPT_SNAPPY))
}

/// Why a remote read is refused before it runs (InfluxDB's texts).
const NO_DATABASE: &str = "no database";
const CONTROL_CHARACTER: &str = "Prometheus read: a label matcher holds a control character";
const ONE_QUERY_ONLY: &str = "Prometheus read endpoint currently only supports one query at a time";

/// The InfluxQL of a remote-read request, or the answer that refuses it.
pub fn remote_read_statement(
    body: &[u8],
    params: &[(String, String)],
    meta: &crate::meta::MetaData,
    max_inflated_body_bytes: usize,
) -> Result<String, Response> {
    let database = query_param(params, "db").unwrap_or("");
    if database.is_empty() || meta.database(database).is_none() {
        return Err(Response::json_error(400, NO_DATABASE));
    }
    let decoded = decompress(body, max_inflated_body_bytes)?;
    let rp = query_param(params, "rp").unwrap_or("");
    let text = read_request_to_influxql(&decoded, database, rp).map_err(bad_request)?;
    // A matcher's bad regex is refused here with the regex error alone, as 1.6.7 words it
    // (the query layer would wrap it in `error parsing query: … at line 1, char N`).
    if let Err(error) = crate::influxql::parse_query(&text) {
        return Err(bad_request(&error.message));
    }
    Ok(text)
}

/// The InfluxQL of a decoded `ReadRequest` holding exactly one query.
fn read_request_to_influxql(
    decoded: &[u8],
    database: &str,
    retention_policy: &str,
) -> Result<String, &'static str> {
    let mut queries = Vec::new();
    let mut request = MessageReader::new(decoded);
    while let Some((number, value)) = request.next_field()? {
        if let (1, FieldValue::Bytes(query)) = (number, value) {
            queries.push(query);
        }
    }
    let [query] = queries.as_slice() else {
        return Err(ONE_QUERY_ONLY);
    };
    read_query_to_influxql(query, database, retention_policy)
}

/// Fuzzing entry point, not used by the server: the InfluxQL [`remote_read_statement`]
/// would build for a snappy-compressed `ReadRequest` `body` (before it parses the text to
/// refuse bad regexes), or the refusal's text. A body inflating past `max_inflated_bytes` or
/// not snappy is `snappy: corrupt input`.
pub fn read_request_to_influxql_for_fuzzing(
    body: &[u8],
    database: &str,
    retention_policy: &str,
    max_inflated_bytes: usize,
) -> Result<String, &'static str> {
    let decoded = decompress(body, max_inflated_bytes).map_err(|_| CORRUPT_SNAPPY)?;
    read_request_to_influxql(&decoded, database, retention_policy)
}

/// Fuzzing entry point, not used by the server: the line protocol (millisecond precision)
/// [`plan_remote_write`] would plan for a snappy-compressed `WriteRequest` `body`, or the
/// refusal's text. A body inflating past `max_inflated_bytes` or not snappy is
/// `snappy: corrupt input`.
pub fn decode_write_request_for_fuzzing(
    body: &[u8],
    max_inflated_bytes: usize,
) -> Result<Vec<u8>, &'static str> {
    let decoded = decompress(body, max_inflated_bytes).map_err(|_| CORRUPT_SNAPPY)?;
    let mut lines = Vec::with_capacity(decoded.len());
    write_request_to_lines(&decoded, &mut lines)?;
    Ok(lines)
}

fn bad_request(message: &str) -> Response {
    Response::json_error(400, message)
}

/// One label matcher of a read query.
struct Matcher<'a> {
    /// 0 `=`, 1 `!=`, 2 `=~`, 3 `!~`
    kind: u64,
    name: &'a [u8],
    value: &'a [u8],
}

fn read_query_to_influxql(
    query: &[u8],
    database: &str,
    retention_policy: &str,
) -> Result<String, &'static str> {
    let (mut start_ms, mut end_ms) = (0i64, 0i64);
    let mut matchers = Vec::new();
    let mut reader = MessageReader::new(query);
    while let Some((number, value)) = reader.next_field()? {
        match (number, value) {
            (1, FieldValue::Varint(raw)) => start_ms = raw as i64,
            (2, FieldValue::Varint(raw)) => end_ms = raw as i64,
            (3, FieldValue::Bytes(bytes)) => {
                let mut matcher = Matcher {
                    kind: 0,
                    name: b"",
                    value: b"",
                };
                let mut fields = MessageReader::new(bytes);
                while let Some((number, value)) = fields.next_field()? {
                    match (number, value) {
                        (1, FieldValue::Varint(kind)) => matcher.kind = kind,
                        (2, FieldValue::Bytes(name)) => matcher.name = name,
                        (3, FieldValue::Bytes(value)) => matcher.value = value,
                        _ => {}
                    }
                }
                matchers.push(matcher);
            }
            _ => {}
        }
    }
    let mut source = format!(
        "{}.{}.",
        quote_identifier(database),
        quote_identifier(retention_policy)
    );
    if retention_policy.is_empty() {
        source = format!("{}..", quote_identifier(database));
    }
    // Both bounds clamped to what InfluxQL's nanosecond times can hold (either may be any i64).
    let (min_ms, max_ms) = (i64::MIN / 1_000_000 + 1, i64::MAX / 1_000_000 - 1);
    let mut condition = format!(
        "time >= {}ms AND time <= {}ms",
        start_ms.clamp(min_ms, max_ms),
        end_ms.clamp(min_ms, max_ms)
    );
    let mut measurement = "/.+/".to_string();
    for matcher in &matchers {
        // InfluxQL has no way to write a control character in an identifier or a string
        // (the lexer ends a string at a newline and the input at a NUL): refuse it plainly
        // rather than build text that does not parse.
        if matcher
            .name
            .iter()
            .chain(matcher.value)
            .any(|byte| byte.is_ascii_control())
        {
            return Err(CONTROL_CHARACTER);
        }
        let name = String::from_utf8_lossy(matcher.name);
        let value = String::from_utf8_lossy(matcher.value);
        if name == "__name__" {
            measurement = match matcher.kind {
                0 => quote_identifier(&value),
                2 => format!("/{}/", value.replace('/', "\\/")),
                _ => return Err("Prometheus read: only = and =~ are supported for __name__"),
            };
            continue;
        }
        let operator = match matcher.kind {
            0 => "=",
            1 => "!=",
            2 => "=~",
            3 => "!~",
            _ => return Err("Prometheus read: unknown label matcher type"),
        };
        let operand = if matcher.kind >= 2 {
            format!("/{}/", value.replace('/', "\\/"))
        } else {
            format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
        };
        condition.push_str(&format!(
            " AND {} {operator} {operand}",
            quote_identifier(&name)
        ));
    }
    Ok(format!(
        "SELECT value FROM {source}{measurement} WHERE {condition} GROUP BY *"
    ))
}

/// `"name"`, with `"` and `\` escaped as InfluxQL reads them.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A protobuf field: its number and value.
enum FieldValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32,
}

/// Reads the fields of one protobuf message in order.
struct MessageReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> MessageReader<'a> {
    fn new(bytes: &'a [u8]) -> MessageReader<'a> {
        MessageReader { bytes, position: 0 }
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.position) else {
                return Err(UNEXPECTED_EOF);
            };
            self.position += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("proto: integer overflow")
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], &'static str> {
        let end = self.position.checked_add(count).ok_or(UNEXPECTED_EOF)?;
        let taken = self.bytes.get(self.position..end).ok_or(UNEXPECTED_EOF)?;
        self.position = end;
        Ok(taken)
    }

    /// The next field, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u64, FieldValue<'a>)>, &'static str> {
        if self.position >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        let value = match key & 7 {
            0 => FieldValue::Varint(self.varint()?),
            1 => {
                let bytes = self.take(8)?;
                let mut word = [0u8; 8];
                word.copy_from_slice(bytes);
                FieldValue::Fixed64(u64::from_le_bytes(word))
            }
            2 => {
                let length = usize::try_from(self.varint()?).map_err(|_| UNEXPECTED_EOF)?;
                FieldValue::Bytes(self.take(length)?)
            }
            5 => {
                self.take(4)?;
                FieldValue::Fixed32
            }
            _ => return Err("proto: illegal wireType"),
        };
        Ok(Some((number, value)))
    }
}

/// One label of a series.
struct Label<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

fn read_label(bytes: &[u8]) -> Result<Label<'_>, &'static str> {
    let mut label = Label {
        name: b"",
        value: b"",
    };
    let mut reader = MessageReader::new(bytes);
    while let Some((number, value)) = reader.next_field()? {
        match (number, value) {
            (1, FieldValue::Bytes(name)) => label.name = name,
            (2, FieldValue::Bytes(value)) => label.value = value,
            _ => {}
        }
    }
    Ok(label)
}

/// Appends one line per sample of the `WriteRequest` in `bytes` to `lines`.
fn write_request_to_lines(bytes: &[u8], lines: &mut Vec<u8>) -> Result<(), &'static str> {
    let mut request = MessageReader::new(bytes);
    let mut series_key = Vec::new();
    let mut labels = Vec::new();
    while let Some((number, value)) = request.next_field()? {
        let (1, FieldValue::Bytes(series)) = (number, value) else {
            continue;
        };
        labels.clear();
        let mut samples = Vec::new();
        let mut reader = MessageReader::new(series);
        while let Some((number, value)) = reader.next_field()? {
            match (number, value) {
                (1, FieldValue::Bytes(label)) => labels.push(read_label(label)?),
                (2, FieldValue::Bytes(sample)) => samples.push(sample),
                _ => {}
            }
        }
        if labels.iter().any(|label| {
            !line_protocol_can_carry(label.name) || !line_protocol_can_carry(label.value)
        }) {
            return Err(UNWRITABLE_LABEL);
        }
        series_key.clear();
        write_series_key(&labels, &mut series_key);
        for sample in samples {
            append_sample(&series_key, sample, lines)?;
        }
    }
    Ok(())
}

/// Whether line protocol can carry `text` as a name or tag value: no control character (a
/// line break would end the line) and no trailing backslash (it would escape the separator
/// after it). 1.6.7 builds its points without line protocol and stores such labels; Sluice
/// refuses the request instead of storing something else.
fn line_protocol_can_carry(text: &[u8]) -> bool {
    !text.iter().any(u8::is_ascii_control) && text.last() != Some(&b'\\')
}

/// `measurement,label=value,…` (escaped; empty values left out).
fn write_series_key(labels: &[Label<'_>], out: &mut Vec<u8>) {
    let name = labels
        .iter()
        .find(|label| label.name == b"__name__" && !label.value.is_empty())
        .map_or(UNNAMED_METRIC, |label| label.value);
    escape_into(name, EscapeKind::Measurement, out);
    for label in labels {
        if label.name.is_empty() || label.value.is_empty() {
            continue;
        }
        out.push(b',');
        escape_into(label.name, EscapeKind::TagKey, out);
        out.push(b'=');
        escape_into(label.value, EscapeKind::TagValue, out);
    }
}

/// `series value=<v> <ms>\n` for one `Sample`; a NaN is skipped, an infinity refuses.
fn append_sample(
    series_key: &[u8],
    sample: &[u8],
    lines: &mut Vec<u8>,
) -> Result<(), &'static str> {
    let (mut value, mut timestamp_ms) = (0.0f64, 0i64);
    let mut reader = MessageReader::new(sample);
    while let Some((number, field)) = reader.next_field()? {
        match (number, field) {
            (1, FieldValue::Fixed64(bits)) => value = f64::from_bits(bits),
            (2, FieldValue::Varint(raw)) => timestamp_ms = raw as i64,
            _ => {}
        }
    }
    if value.is_nan() {
        return Ok(());
    }
    if value.is_infinite() {
        return Err(INFINITE_SAMPLE);
    }
    use std::io::Write as _;
    lines.extend_from_slice(series_key);
    // `{:e}` prints the shortest text that reads back as the same float, in a form line
    // protocol takes whatever the magnitude (no 300-digit expansions).
    let _ = writeln!(lines, " value={value:e} {timestamp_ms}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::prometheus_read::{bytes_field, varint};

    fn series(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, value) in labels {
            let mut label = Vec::new();
            bytes_field(1, name.as_bytes(), &mut label);
            bytes_field(2, value.as_bytes(), &mut label);
            bytes_field(1, &label, &mut body);
        }
        for (value, time) in samples {
            let mut sample = vec![1 << 3 | 1];
            sample.extend_from_slice(&value.to_bits().to_le_bytes());
            varint(2 << 3, &mut sample);
            varint(*time as u64, &mut sample);
            bytes_field(2, &sample, &mut body);
        }
        let mut request = Vec::new();
        bytes_field(1, &body, &mut request);
        request
    }

    fn lines_of(request: &[u8]) -> Result<String, &'static str> {
        let mut lines = Vec::new();
        write_request_to_lines(request, &mut lines)?;
        Ok(String::from_utf8(lines).unwrap())
    }

    #[test]
    fn samples_become_lines_as_influxdb_maps_them() {
        let mut request = series(
            &[("__name__", "cpu usage"), ("host", "a,b"), ("empty", "")],
            &[(1.5, 1000), (f64::NAN, 1500), (-2.0, -5)],
        );
        request.extend(series(&[("job", "node")], &[(1e300, 7)]));
        assert_eq!(
            lines_of(&request).unwrap(),
            "cpu\\ usage,__name__=cpu\\ usage,host=a\\,b value=1.5e0 1000\n\
             cpu\\ usage,__name__=cpu\\ usage,host=a\\,b value=-2e0 -5\n\
             prom_metric_not_specified,job=node value=1e300 7\n"
        );
    }

    #[test]
    fn an_infinite_sample_refuses_and_truncation_is_an_eof() {
        let request = series(&[("__name__", "m")], &[(1.0, 1), (f64::INFINITY, 2)]);
        assert_eq!(lines_of(&request), Err(INFINITE_SAMPLE));
        for cut in 1..request.len() {
            let result = lines_of(&request[..cut]);
            assert!(result.is_err(), "a request cut at {cut} was accepted");
        }
        assert_eq!(lines_of(&[0x0f]), Err("proto: illegal wireType"));
    }

    /// Found by fuzz/fuzz_targets/prometheus.rs: a label with a line break (or a trailing
    /// backslash) made lines that do not parse back as the sample; such a request is refused.
    #[test]
    fn labels_line_protocol_cannot_carry_refuse_the_request() {
        for value in ["a\nb", "a\rb", "a\0b", "trailing\\"] {
            let request = series(&[("__name__", "m"), ("host", value)], &[(1.0, 1)]);
            assert_eq!(lines_of(&request), Err(UNWRITABLE_LABEL), "{value:?}");
        }
        let request = series(&[("__name__", "m"), ("host", "a\\b c,d=e")], &[(1.0, 1)]);
        assert_eq!(
            lines_of(&request).unwrap(),
            "m,__name__=m,host=a\\b\\ c\\,d\\=e value=1e0 1\n"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_u64;
        for length in 0..3000 {
            let bytes: Vec<u8> = (0..length % 97)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 56) as u8
                })
                .collect();
            let _ = lines_of(&bytes);
            let _ = decompress(&bytes, 1 << 20);
        }
    }

    /// Found by fuzz/fuzz_targets/prometheus.rs: a time past the nanosecond range is written
    /// as given, for the planner to refuse as it refuses such a `/write` line.
    #[test]
    fn a_time_outside_the_nanosecond_range_is_left_to_the_planner() {
        let request = series(&[], &[(0.0, 562_949_953_421_311)]);
        let lines = lines_of(&request).unwrap();
        assert_eq!(
            lines,
            "prom_metric_not_specified value=0e0 562949953421311\n"
        );
        let mut parser =
            crate::line_protocol::Parser::new(lines.as_bytes(), Precision::Millisecond, 0);
        let mut scratch = crate::line_protocol::Scratch::default();
        let error = parser.next_point(&mut scratch).unwrap().unwrap_err();
        assert_eq!(
            error.kind,
            crate::line_protocol::ParseErrorKind::TimeOutOfRange
        );
    }

    /// Found by fuzz/fuzz_targets/prometheus.rs: a start past the nanosecond range (or an
    /// end before it) was printed unclamped, and the InfluxQL overflowed.
    #[test]
    fn read_bounds_out_of_range_are_clamped() {
        let request = [
            0x08, 0x1a, 0x08, 0xff, 0x72, 0x0a, 0x0b, 0x08, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x00, 0x00, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let body = snap::raw::Encoder::new().compress_vec(&request).unwrap();
        let text = read_request_to_influxql_for_fuzzing(&body, "my db", "a.b", 1 << 20).unwrap();
        crate::influxql::parse_query(&text).unwrap();
        let mut query = Vec::new();
        for (number, raw) in [(1u64, i64::MIN as u64), (2, i64::MIN as u64)] {
            varint(number << 3, &mut query);
            varint(raw, &mut query);
        }
        let text = read_query_to_influxql(&query, "db", "").unwrap();
        crate::influxql::parse_query(&text).unwrap();
    }

    /// Found by fuzz/fuzz_targets/prometheus.rs: a matcher holding a control byte gave
    /// InfluxQL that does not lex; it is refused plainly instead. Every other byte is
    /// quoted so the statement parses.
    #[test]
    fn matchers_with_control_bytes_are_refused_and_the_rest_quoted() {
        let query_with = |name: &[u8], value: &[u8]| {
            let mut matcher = Vec::new();
            varint(2 << 3 | 2, &mut matcher);
            varint(name.len() as u64, &mut matcher);
            matcher.extend_from_slice(name);
            varint(3 << 3 | 2, &mut matcher);
            varint(value.len() as u64, &mut matcher);
            matcher.extend_from_slice(value);
            let mut query = Vec::new();
            varint(3 << 3 | 2, &mut query);
            varint(matcher.len() as u64, &mut query);
            query.extend_from_slice(&matcher);
            query
        };
        for byte in 0u8..0x20 {
            let query = query_with(b"host", &[b'a', byte, b'b']);
            assert_eq!(
                read_query_to_influxql(&query, "db", ""),
                Err(CONTROL_CHARACTER)
            );
        }
        for value in [&b"a'b\\c\"d/e"[..], "é 😀".as_bytes(), b"x=y,z"] {
            for name in [&b"host"[..], b"we\"ird name"] {
                let text = read_query_to_influxql(&query_with(name, value), "d\"b", "r p").unwrap();
                crate::influxql::parse_query(&text).unwrap();
            }
        }
    }
}
