//! Encoders of statement results: InfluxDB 1.6.7's JSON (compact, pretty, chunked) and CSV.
//!
//! Owns the byte form of a `/query` answer body; it never decides what a statement returns.
//! Every encoder appends to a caller's buffer.
//!
//! JSON, as Go's `encoding/json` writes InfluxDB's types:
//! * result keys in the order `statement_id`, `series`, `messages`, `partial`, `error`, each
//!   but the first omitted when empty; series keys `name`, `tags` (sorted by key),
//!   `columns`, `values`, `partial`, each omitted when empty;
//! * floats as Go formats them (`strconv.AppendFloat(f, 'f' or 'e', -1)`): plain shortest
//!   digits for `1e-6 <= |f| < 1e21`, else shortest exponent form with at least one exponent
//!   digit (`1e-7`, `1e+21`). NaN and ±Inf cannot be encoded: the whole answer becomes Go's
//!   marshal error text ([`UnsupportedValue`]);
//! * times per `epoch`: absent → RFC 3339 with nanoseconds, trailing zeros trimmed;
//!   `h`, `m`, `s`, `ms`, `u` → the time divided (truncated) to that unit; anything else
//!   (`ns`, `n`, `µ`, unknown) → nanoseconds.
//!
//! CSV (`Accept: application/csv` or `text/csv`): per statement with series, a header
//! `name,tags,<columns>` from its first series (again whenever the columns change, after a
//! blank line), a blank line between statements, times always integers, tags as
//! `k=v,k=v` with line-protocol escaping (empty values left out), fields quoted as Go's
//! `encoding/csv` does. Errors and empty statements write nothing.

use std::io::Write as _;

use crate::result::{Series, StatementResult, Value};
use sluice_model::gojson::push_json_string;
use sluice_model::time::CivilTime;

/// Nanoseconds per unit of each `epoch`.
const NANOS_PER_MICROSECOND: i64 = 1_000;
const NANOS_PER_MILLISECOND: i64 = 1_000_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;
/// For printing a zone offset as `hh:mm`.
const SECONDS_PER_MINUTE: u32 = 60;
const MINUTES_PER_HOUR: u32 = 60;

/// Go's JSON switches a float to exponent form below this magnitude...
const JSON_FLOAT_EXPONENT_BELOW: f64 = 1e-6;
/// ...and from this one.
const JSON_FLOAT_EXPONENT_FROM: f64 = 1e21;

/// Spaces per indentation level of `pretty=true` (Go's `MarshalIndent(v, "", "    ")`).
const PRETTY_INDENT_SPACES: usize = 4;

/// How times are written (`epoch` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epoch {
    /// no `epoch`: RFC 3339 strings (integers in CSV)
    Rfc3339,
    /// integers in units of this many nanoseconds
    Divided(i64),
}

impl Epoch {
    /// The precision `epoch=<text>` asks for (InfluxDB: empty means none; unknown units and
    /// `µ` fall back to nanoseconds).
    pub fn from_param(text: Option<&str>) -> Epoch {
        match text.map(str::trim) {
            None | Some("") => Epoch::Rfc3339,
            Some("h") => Epoch::Divided(NANOS_PER_HOUR),
            Some("m") => Epoch::Divided(NANOS_PER_MINUTE),
            Some("s") => Epoch::Divided(NANOS_PER_SECOND),
            Some("ms") => Epoch::Divided(NANOS_PER_MILLISECOND),
            Some("u") => Epoch::Divided(NANOS_PER_MICROSECOND),
            Some(_) => Epoch::Divided(1),
        }
    }
}

/// A float JSON cannot hold (NaN, ±Inf); InfluxDB answers with Go's marshal error instead
/// of the JSON body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UnsupportedValue(pub f64);

impl UnsupportedValue {
    /// The body InfluxDB 1.6.7 sends in place of the answer.
    pub fn influx_body(&self) -> Vec<u8> {
        let value = if self.0.is_nan() {
            "NaN"
        } else if self.0 > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        format!(
            "json: error calling MarshalJSON for type httpd.Response: json: error calling \
             MarshalJSON for type *query.Result: json: unsupported value: {value}\n"
        )
        .into_bytes()
    }
}

/// Appends `{"results":[...]}` plus a newline (`{}` plus a newline for no results).
pub fn json_response<R: std::borrow::Borrow<StatementResult>>(
    results: &[R],
    epoch: Epoch,
    out: &mut Vec<u8>,
) -> Result<(), UnsupportedValue> {
    if results.is_empty() {
        out.extend_from_slice(b"{}\n");
        return Ok(());
    }
    out.extend_from_slice(b"{\"results\":[");
    for (index, result) in results.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        json_result(result.borrow(), epoch, out)?;
    }
    out.extend_from_slice(b"]}\n");
    Ok(())
}

/// Appends one result object.
pub fn json_result(
    result: &StatementResult,
    epoch: Epoch,
    out: &mut Vec<u8>,
) -> Result<(), UnsupportedValue> {
    out.extend_from_slice(b"{\"statement_id\":");
    out.extend_from_slice(result.statement_id.to_string().as_bytes());
    if !result.series.is_empty() {
        out.extend_from_slice(b",\"series\":[");
        for (index, series) in result.series.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            json_series(series, epoch, out)?;
        }
        out.push(b']');
    }
    if !result.messages.is_empty() {
        out.extend_from_slice(b",\"messages\":[");
        for (index, message) in result.messages.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"level\":");
            push_json_string(out, message.level.as_bytes());
            out.extend_from_slice(b",\"text\":");
            push_json_string(out, message.text.as_bytes());
            out.push(b'}');
        }
        out.push(b']');
    }
    if result.partial {
        out.extend_from_slice(b",\"partial\":true");
    }
    if let Some(error) = &result.error {
        out.extend_from_slice(b",\"error\":");
        push_json_string(out, error.as_bytes());
    }
    out.push(b'}');
    Ok(())
}

fn json_series(series: &Series, epoch: Epoch, out: &mut Vec<u8>) -> Result<(), UnsupportedValue> {
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, name: &[u8]| {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(name);
    };
    if let Some(name) = series.name.as_deref().filter(|name| !name.is_empty()) {
        key(out, b"\"name\":");
        push_json_string(out, name.as_bytes());
    }
    if !series.tags.is_empty() {
        key(out, b"\"tags\":{");
        let mut tags: Vec<&(String, String)> = series.tags.iter().collect();
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        for (index, (tag_key, tag_value)) in tags.into_iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            push_json_string(out, tag_key.as_bytes());
            out.push(b':');
            push_json_string(out, tag_value.as_bytes());
        }
        out.push(b'}');
    }
    if !series.columns.is_empty() {
        key(out, b"\"columns\":[");
        for (index, column) in series.columns.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            push_json_string(out, column.as_bytes());
        }
        out.push(b']');
    }
    if !series.values.is_empty() {
        key(out, b"\"values\":[");
        for (row_index, row) in series.values.iter().enumerate() {
            if row_index > 0 {
                out.push(b',');
            }
            out.push(b'[');
            for (index, value) in row.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                json_value(value, epoch, out)?;
            }
            out.push(b']');
        }
        out.push(b']');
    }
    if series.partial {
        key(out, b"\"partial\":true");
    }
    out.push(b'}');
    Ok(())
}

/// Appends one cell as JSON.
pub fn json_value(value: &Value, epoch: Epoch, out: &mut Vec<u8>) -> Result<(), UnsupportedValue> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Float(float) => push_json_float(*float, out)?,
        Value::Integer(integer) => out.extend_from_slice(integer.to_string().as_bytes()),
        Value::Unsigned(unsigned) => out.extend_from_slice(unsigned.to_string().as_bytes()),
        Value::String(text) => push_json_string(out, text.as_bytes()),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Time(time_ns) => match epoch {
            Epoch::Rfc3339 => {
                out.push(b'"');
                push_rfc3339_nano(*time_ns, out);
                out.push(b'"');
            }
            Epoch::Divided(unit_ns) => {
                out.extend_from_slice((time_ns / unit_ns.max(1)).to_string().as_bytes())
            }
        },
        Value::ZonedTime {
            time_ns,
            offset_seconds,
        } => match epoch {
            Epoch::Rfc3339 => {
                out.push(b'"');
                push_rfc3339_nano_in_zone(*time_ns, *offset_seconds, out);
                out.push(b'"');
            }
            Epoch::Divided(unit_ns) => {
                out.extend_from_slice((time_ns / unit_ns.max(1)).to_string().as_bytes())
            }
        },
    }
    Ok(())
}

/// Appends a float as Go's `encoding/json` does; `Err` for NaN and ±Inf.
pub fn push_json_float(value: f64, out: &mut Vec<u8>) -> Result<(), UnsupportedValue> {
    if !value.is_finite() {
        return Err(UnsupportedValue(value));
    }
    let magnitude = value.abs();
    if magnitude != 0.0
        && !(JSON_FLOAT_EXPONENT_BELOW..JSON_FLOAT_EXPONENT_FROM).contains(&magnitude)
    {
        // Rust's `{:e}` has the same shortest digits; Go writes the exponent's sign always.
        let text = format!("{value:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) => {
                out.extend_from_slice(mantissa.as_bytes());
                out.push(b'e');
                if !exponent.starts_with('-') {
                    out.push(b'+');
                }
                out.extend_from_slice(exponent.as_bytes());
            }
            None => out.extend_from_slice(text.as_bytes()),
        }
    } else {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{value}");
    }
    Ok(())
}

/// Appends `ns` as Go's `time.RFC3339Nano` in UTC: fraction digits only as needed.
/// Digits are written directly (no `format!`): every row of a SELECT answer has a time.
pub fn push_rfc3339_nano(ns: i64, out: &mut Vec<u8>) {
    push_rfc3339_nano_in_zone(ns, 0, out);
}

/// Appends `ns` as Go's `time.RFC3339Nano` in a zone `offset_seconds` east of UTC: the
/// local wall time, then `Z` when the offset is 0, else `±hh:mm`.
pub fn push_rfc3339_nano_in_zone(ns: i64, offset_seconds: i32, out: &mut Vec<u8>) {
    let local_ns = ns.saturating_add(i64::from(offset_seconds).saturating_mul(NANOS_PER_SECOND));
    let civil = CivilTime::from_unix_ns(local_ns);
    match u32::try_from(civil.year)
        .ok()
        .filter(|year| *year <= YEAR_FOUR_DIGITS_MAX)
    {
        Some(year) => push_digits(year, 4, out),
        // i64 nanoseconds span the years 1677..=2262, so this is never taken; kept so the
        // function stays total.
        None => out.extend_from_slice(format!("{:04}", civil.year).as_bytes()),
    }
    for (separator, value) in [
        (b'-', civil.month),
        (b'-', civil.day),
        (b'T', civil.hour),
        (b':', civil.minute),
        (b':', civil.second),
    ] {
        out.push(separator);
        push_digits(value, 2, out);
    }
    if civil.nanosecond != 0 {
        out.push(b'.');
        let mut fraction = civil.nanosecond;
        let mut digits = FRACTION_DIGITS;
        while fraction % 10 == 0 {
            fraction /= 10;
            digits -= 1;
        }
        push_digits(fraction, digits, out);
    }
    if offset_seconds == 0 {
        out.push(b'Z');
        return;
    }
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let offset_minutes = offset_seconds.unsigned_abs() / SECONDS_PER_MINUTE;
    out.extend_from_slice(
        format!(
            "{sign}{:02}:{:02}",
            offset_minutes / MINUTES_PER_HOUR,
            offset_minutes % MINUTES_PER_HOUR
        )
        .as_bytes(),
    );
}

/// Largest year written with the four-digit fast path.
const YEAR_FOUR_DIGITS_MAX: u32 = 9999;
/// Digits of a nanosecond fraction.
const FRACTION_DIGITS: usize = 9;

/// Appends the last `width` decimal digits of `value`, zero-padded on the left.
fn push_digits(mut value: u32, width: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + width, b'0');
    if let Some(digits) = out.get_mut(start..) {
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
}

/// `ns` as Go's `time.RFC3339` (whole seconds), as SHOW SHARDS prints its times.
pub fn rfc3339_seconds(ns: i64) -> String {
    let civil = CivilTime::from_unix_ns(ns);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
    )
}

/// Splits a SELECT's result into the results a chunked answer sends, one line each: every
/// series cut into pieces of at most `chunk_size_rows` rows; a piece followed by more of its
/// series is `partial`, and every result but the statement's last is `partial`.
pub fn split_into_chunks(result: &StatementResult, chunk_size_rows: usize) -> Vec<StatementResult> {
    let mut chunks = Vec::new();
    for_each_chunk(result, chunk_size_rows, |chunk| {
        chunks.push(chunk.clone());
        true
    });
    chunks
}

/// [`split_into_chunks`] one chunk at a time (only one chunk's rows are copied at once);
/// stops early when `visit` returns false.
pub fn for_each_chunk(
    result: &StatementResult,
    chunk_size_rows: usize,
    mut visit: impl FnMut(&StatementResult) -> bool,
) {
    let chunk_size_rows = chunk_size_rows.max(1);
    if result.series.is_empty() || result.error.is_some() {
        visit(result);
        return;
    }
    let last_series = result.series.len() - 1;
    for (series_index, series) in result.series.iter().enumerate() {
        let pieces = series.values.len().div_ceil(chunk_size_rows).max(1);
        for piece in 0..pieces {
            let start = (piece * chunk_size_rows).min(series.values.len());
            let end = (start + chunk_size_rows).min(series.values.len());
            let last_of_statement = series_index == last_series && piece + 1 == pieces;
            let chunk = StatementResult {
                statement_id: result.statement_id,
                series: vec![Series {
                    name: series.name.clone(),
                    tags: series.tags.clone(),
                    columns: series.columns.clone(),
                    values: series.values.get(start..end).unwrap_or_default().to_vec(),
                    partial: piece + 1 != pieces || series.partial,
                }],
                messages: if last_of_statement {
                    result.messages.clone()
                } else {
                    Vec::new()
                },
                error: None,
                partial: if last_of_statement {
                    result.partial
                } else {
                    true
                },
            };
            if !visit(&chunk) {
                return;
            }
        }
    }
}

/// Appends the CSV form of `results` (see the module doc).
pub fn csv_response(results: &[StatementResult], epoch: Epoch, out: &mut Vec<u8>) {
    let mut header_written = false;
    let mut current_statement: Option<usize> = None;
    let mut fields: Vec<String> = Vec::new();
    for result in results {
        if result.series.is_empty() {
            continue;
        }
        let mut previous_columns: Option<&[String]> = None;
        if current_statement != Some(result.statement_id) {
            previous_columns = None;
        }
        for series in &result.series {
            let new_header = match previous_columns {
                None => current_statement != Some(result.statement_id),
                Some(columns) => columns != series.columns.as_slice(),
            };
            if new_header {
                if header_written {
                    out.push(b'\n');
                }
                fields.clear();
                fields.push("name".to_string());
                fields.push("tags".to_string());
                fields.extend(series.columns.iter().cloned());
                push_csv_record(&fields, out);
                header_written = true;
            }
            current_statement = Some(result.statement_id);
            previous_columns = Some(&series.columns);
            let tags = csv_tags(&series.tags);
            for row in &series.values {
                fields.clear();
                fields.push(series.name.clone().unwrap_or_default());
                fields.push(tags.clone());
                fields.extend(row.iter().map(|value| csv_value(value, epoch)));
                push_csv_record(&fields, out);
            }
        }
    }
}

/// The `tags` column: `k=v,k=v` sorted by key, escaped as in a series key; tags with an
/// empty value are left out (1.6.7 builds the column as a series key, which has none).
fn csv_tags(tags: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        tags.iter().filter(|(_, value)| !value.is_empty()).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = Vec::new();
    for (index, (key, value)) in sorted.into_iter().enumerate() {
        if index > 0 {
            text.push(b',');
        }
        sluice_line_protocol::escape_into(
            key.as_bytes(),
            sluice_line_protocol::EscapeKind::TagKey,
            &mut text,
        );
        text.push(b'=');
        sluice_line_protocol::escape_into(
            value.as_bytes(),
            sluice_line_protocol::EscapeKind::TagValue,
            &mut text,
        );
    }
    String::from_utf8_lossy(&text).into_owned()
}

fn csv_value(value: &Value, epoch: Epoch) -> String {
    match value {
        Value::Null => String::new(),
        Value::Float(float) => format!("{float}"),
        Value::Integer(integer) => integer.to_string(),
        Value::Unsigned(unsigned) => unsigned.to_string(),
        Value::String(text) => text.clone(),
        Value::Boolean(boolean) => boolean.to_string(),
        Value::Time(time_ns) | Value::ZonedTime { time_ns, .. } => match epoch {
            Epoch::Rfc3339 => time_ns.to_string(),
            Epoch::Divided(unit_ns) => (time_ns / unit_ns.max(1)).to_string(),
        },
    }
}

/// One CSV record with Go's `encoding/csv` quoting, ending in `\n`.
fn push_csv_record(fields: &[String], out: &mut Vec<u8>) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        if csv_field_needs_quotes(field) {
            out.push(b'"');
            for byte in field.bytes() {
                if byte == b'"' {
                    out.push(b'"');
                }
                out.push(byte);
            }
            out.push(b'"');
        } else {
            out.extend_from_slice(field.as_bytes());
        }
    }
    out.push(b'\n');
}

fn csv_field_needs_quotes(field: &str) -> bool {
    if field.is_empty() {
        return false;
    }
    if field == "\\." || field.contains([',', '"', '\r', '\n']) {
        return true;
    }
    field.chars().next().is_some_and(char::is_whitespace)
}

/// Re-indents compact JSON the way Go's `json.MarshalIndent(v, "", "    ")` does; several
/// documents (one per line, as a chunked answer) are each indented and end in a newline.
pub fn pretty_json(compact: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * PRETTY_INDENT_SPACES));
    };
    let mut bytes = compact.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                let closing = if byte == b'{' { b'}' } else { b']' };
                out.push(byte);
                if bytes.peek() == Some(&closing) {
                    bytes.next();
                    out.push(closing);
                    continue;
                }
                depth += 1;
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b'\n' => out.push(b'\n'),
            other => out.push(other),
        }
    }
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Message;

    fn float_text(value: f64) -> String {
        let mut out = Vec::new();
        push_json_float(value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_as_go_json() {
        assert_eq!(float_text(1e-7), "1e-7");
        assert_eq!(float_text(0.000001), "0.000001");
        assert_eq!(float_text(1e20), "100000000000000000000");
        assert_eq!(float_text(1e21), "1e+21");
        assert_eq!(float_text(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(float_text(5e-324), "5e-324");
        assert_eq!(float_text(-0.0), "-0");
        assert_eq!(float_text(12.0), "12");
        assert_eq!(float_text(18.017857142857142), "18.017857142857142");
        assert!(push_json_float(f64::NEG_INFINITY, &mut Vec::new()).is_err());
    }

    #[test]
    fn zoned_times_print_the_offset() {
        let zoned = |time_ns: i64, offset_seconds: i32| {
            let mut out = Vec::new();
            let value = Value::ZonedTime {
                time_ns,
                offset_seconds,
            };
            json_value(&value, Epoch::Rfc3339, &mut out).unwrap();
            out.push(b' ');
            json_value(&value, Epoch::Divided(NANOS_PER_SECOND), &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            zoned(1_793_491_200_000_000_000, 3600),
            "\"2026-11-01T01:00:00+01:00\" 1793491200"
        );
        assert_eq!(
            zoned(1_793_491_200_500_000_000, -4 * 3600),
            "\"2026-10-31T20:00:00.5-04:00\" 1793491200"
        );
        assert_eq!(
            zoned(1_793_491_200_000_000_000, 0),
            "\"2026-11-01T00:00:00Z\" 1793491200"
        );
        assert_eq!(
            zoned(0, 5 * 3600 + 45 * 60),
            "\"1970-01-01T05:45:00+05:45\" 0"
        );
    }

    #[test]
    fn csv_tags_leave_out_empty_values() {
        let tags = vec![
            ("region".to_string(), String::new()),
            ("host".to_string(), "a b".to_string()),
        ];
        assert_eq!(csv_tags(&tags), "host=a\\ b");
    }

    #[test]
    fn rfc3339_digits_match_the_formatted_text() {
        // Seed printed so a failure can be replayed.
        let seed: u64 = 0x005e_ed0f_71e5;
        println!("seed {seed:#x}");
        let mut state = seed;
        let mut samples = vec![0, 1, -1, i64::MIN, i64::MAX, -9_223_372_036_854_775_806];
        for _ in 0..2000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            samples.push(state as i64);
            samples.push((state as i64) / 1_000_000_000 * 1_000_000_000);
            samples.push((state as i64) / 1_000 * 1_000);
        }
        for ns in samples {
            let civil = CivilTime::from_unix_ns(ns);
            let mut expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
            );
            if civil.nanosecond != 0 {
                expected.push('.');
                expected.push_str(format!("{:09}", civil.nanosecond).trim_end_matches('0'));
            }
            expected.push('Z');
            let mut out = Vec::new();
            push_rfc3339_nano(ns, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), expected, "ns {ns}");
        }
    }

    #[test]
    fn times_and_epochs() {
        let mut out = Vec::new();
        push_rfc3339_nano(1_793_491_200_000_000_000, &mut out);
        assert_eq!(out, b"2026-11-01T00:00:00Z");
        out.clear();
        push_rfc3339_nano(1_500_000, &mut out);
        assert_eq!(out, b"1970-01-01T00:00:00.0015Z");
        assert_eq!(Epoch::from_param(Some("ms")), Epoch::Divided(1_000_000));
        assert_eq!(Epoch::from_param(Some("µ")), Epoch::Divided(1));
        assert_eq!(Epoch::from_param(None), Epoch::Rfc3339);
        out.clear();
        json_value(
            &Value::Time(1_793_491_210_000_000_000),
            Epoch::Divided(NANOS_PER_MINUTE),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"29891520");
    }

    #[test]
    fn result_key_order() {
        let result = StatementResult {
            statement_id: 3,
            series: vec![Series {
                name: Some("m".into()),
                tags: vec![("z".into(), "1".into()), ("a".into(), "<".into())],
                columns: vec!["time".into(), "v".into()],
                values: vec![vec![Value::Time(0), Value::Null]],
                partial: true,
            }],
            messages: vec![Message {
                level: "warning".into(),
                text: "w".into(),
            }],
            error: None,
            partial: true,
        };
        let mut out = Vec::new();
        json_result(&result, Epoch::Rfc3339, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"statement_id\":3,\"series\":[{\"name\":\"m\",\
             \"tags\":{\"a\":\"\\u003c\",\"z\":\"1\"},\
             \"columns\":[\"time\",\"v\"],\"values\":[[\"1970-01-01T00:00:00Z\",null]],\
             \"partial\":true}],\"messages\":[{\"level\":\"warning\",\"text\":\"w\"}],\
             \"partial\":true}"
        );
    }

    #[test]
    fn chunks_split_series_and_rows() {
        let series = |tag: &str, rows: usize| Series {
            name: Some("cpu".into()),
            tags: vec![("host".into(), tag.into())],
            columns: vec!["time".into()],
            values: (0..rows).map(|i| vec![Value::Time(i as i64)]).collect(),
            partial: false,
        };
        let result = StatementResult {
            statement_id: 0,
            series: vec![series("a", 3), series("b", 1)],
            ..StatementResult::default()
        };
        let chunks = split_into_chunks(&result, 2);
        let shape: Vec<(usize, bool, bool)> = chunks
            .iter()
            .map(|c| (c.series[0].values.len(), c.series[0].partial, c.partial))
            .collect();
        assert_eq!(
            shape,
            vec![(2, true, true), (1, false, true), (1, false, false)]
        );
    }

    #[test]
    fn csv_quoting_and_headers() {
        let result = |id: usize, name: &str| StatementResult {
            statement_id: id,
            series: vec![Series {
                name: Some(name.into()),
                tags: vec![("host".into(), "a".into()), ("region".into(), "e".into())],
                columns: vec!["time".into(), "s".into()],
                values: vec![vec![Value::Time(5), Value::String("x,\"y\"".into())]],
                partial: false,
            }],
            ..StatementResult::default()
        };
        let mut out = Vec::new();
        csv_response(
            &[
                result(0, "m"),
                StatementResult::error(1, "e"),
                result(2, "n"),
            ],
            Epoch::Rfc3339,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name,tags,time,s\nm,\"host=a,region=e\",5,\"x,\"\"y\"\"\"\n\n\
             name,tags,time,s\nn,\"host=a,region=e\",5,\"x,\"\"y\"\"\"\n"
        );
    }

    #[test]
    fn pretty_matches_go_indent() {
        let pretty = pretty_json(b"{\"results\":[{\"statement_id\":0}]}\n");
        assert_eq!(
            String::from_utf8(pretty).unwrap(),
            "{\n    \"results\": [\n        {\n            \"statement_id\": 0\n        }\
             \n    ]\n}\n"
        );
    }
}
