//! OpenTSDB input decoders: telnet `put` lines and HTTP `/api/put` JSON bodies, turned into
//! line protocol exactly as InfluxDB 1.6.7's `[[opentsdb]]` service would store them.
//!
//! Owns: the pure decoding of one telnet line or one (already de-chunked, already gunzipped)
//! `/api/put` body, the routing rule of the OpenTSDB HTTP paths, the text and status of every
//! `/api/put` error, and the HTTP-or-telnet decision on a connection's first line. It does not
//! touch sockets, batching or writing (the service layer in [`super`] does).
//!
//! Every point becomes one line `measurement[,tag=value...] value=<float> <ns>` with names
//! escaped by [`escape_into`], the value printed by [`append_float`] (InfluxDB always stores a
//! float, even for `42`) and an explicit nanosecond timestamp. Invariant: each line parses with
//! [`crate::line_protocol::Parser`] (nanosecond precision) into exactly the point InfluxDB
//! stores, or is not written at all (see [`OpenTsdbErrorKind::Inexpressible`]).
//!
//! # Telnet (one line)
//! 1. Split on Unicode white space (Go's `strings.Fields`; bytes that are not UTF-8 are not
//!    space). `version` alone answers [`VERSION_ANSWER`] (no newline). Fewer than four fields,
//!    or a first field other than `put` (case matters) is a malformed line: nothing answered,
//!    the connection stays open.
//! 2. `put <metric> <timestamp> <value> <tagk=tagv>...`: a timestamp of 10 bytes is seconds, 13
//!    bytes milliseconds, any other length drops the line. A 10- or 13-byte timestamp that is
//!    not a decimal integer counts as 0 (the epoch). Milliseconds keep InfluxDB's slip: the
//!    sub-second part becomes `ms * 1000` nanoseconds (microseconds), so `1356998400123` is
//!    stored at `1356998400000123000`.
//! 3. Tags split at the first `=`; a tag with no `=`, an empty key or an empty value is
//!    skipped (the point is kept); a repeated key keeps the last value.
//! 4. The value is parsed as Go's `strconv.ParseFloat` does ([`super::gocompat::parse_float`]:
//!    decimal with `_` separators, hex `0x1.8p1`, `inf`, `nan`); unparsable, out of range, NaN
//!    or infinite drops the line.
//!
//! # HTTP `/api/put`
//! The body's first byte must be `{` (one point) or `[` (an array); then the first JSON value is
//! decoded as Go's `encoding/json` does into `{metric string, timestamp int64, value float64,
//! tags map[string]string}`: keys match exactly or case-insensitively (Go's folding, so `ſ`
//! matches `s`), the last duplicate wins, `tags` objects merge, `null` leaves a field as it is
//! (but resets `tags`), unknown keys and anything after the first value are ignored, invalid
//! UTF-8 becomes U+FFFD. Any syntax or type error rejects the whole body. A timestamp below
//! [`HTTP_SECONDS_BELOW`] is seconds (negative ones too), otherwise milliseconds with the same
//! slip as telnet. A point whose time is out of range, whose series key is too long or that line
//! protocol cannot express is dropped; the others are written.
//!
//! # Known divergences
//! InfluxDB stores names line protocol cannot carry: an empty metric (`""`, missing or `null`),
//! an empty tag key, a metric starting with `#`, names containing a newline or ending in a
//! backslash. Those points are dropped here ([`OpenTsdbErrorKind::Inexpressible`]). A JSON
//! timestamp of exactly `-62135596800` (Go's zero time) slips past InfluxDB's range check and
//! fails later there; it is dropped here as out of range.

use std::collections::BTreeMap;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::gocompat::{parse_float, ParseFloat};
use crate::line_protocol::{append_float, escape_into, is_expressible, EscapeKind};

/// What InfluxDB writes back for a telnet `version` line (no newline follows).
pub const VERSION_ANSWER: &str = "InfluxDB TSDB proxy";
/// The one field every OpenTSDB point gets.
pub const FIELD_KEY: &str = "value";
/// Longest series key plus field key InfluxDB accepts (`models.MaxKeyLength`).
pub const MAX_KEY_BYTES: usize = 65_535;
/// Bytes InfluxDB adds between series key and field key when it checks [`MAX_KEY_BYTES`].
const FIELD_KEY_SEPARATOR_BYTES: usize = 4;
/// A telnet timestamp of this many bytes is in seconds.
pub const TELNET_SECONDS_DIGITS: usize = 10;
/// A telnet timestamp of this many bytes is in milliseconds.
pub const TELNET_MILLISECONDS_DIGITS: usize = 13;
/// A JSON timestamp below this is in seconds, at or above it in milliseconds.
pub const HTTP_SECONDS_BELOW: i64 = 10_000_000_000;
/// Earliest and latest storable times (`models.MinNanoTime`, `models.MaxNanoTime`).
const MIN_TIME_NS: i128 = i64::MIN as i128 + 2;
const MAX_TIME_NS: i128 = i64::MAX as i128 - 1;
/// Go's zero `time.Time` in Unix seconds; InfluxDB skips its range check for it.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;
const NANOS_PER_SECOND: i128 = 1_000_000_000;
const MILLIS_PER_SECOND: i64 = 1_000;
/// InfluxDB turns the millisecond remainder into nanoseconds by this factor (not 1e6).
const MILLIS_REMAINDER_TO_NANOS: i128 = 1_000;
/// Shortest `Method SP URI SP HTTP/x.y` request line.
const HTTP_VERSION_BYTES: usize = "HTTP/1.1".len();

/// Why a telnet line or an `/api/put` body (or one point of it) was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenTsdbErrorKind {
    /// telnet: fewer than four fields, or the first is not `put` (and not `version`)
    MalformedLine,
    /// telnet: the timestamp is neither 10 nor 13 bytes long
    BadTimestampLength,
    /// the value is not a number Go parses, or overflows a float
    BadValue,
    /// the value is NaN or infinite
    UnsupportedValue,
    /// the time is outside what InfluxDB stores
    TimeOutOfRange,
    /// series key plus field key longer than [`MAX_KEY_BYTES`]
    KeyTooLong,
    /// InfluxDB would store this point, but line protocol cannot name it (empty metric or tag
    /// key, metric starting with `#`, newline, trailing backslash)
    Inexpressible,
    /// HTTP: empty body (`peek error: EOF`, 400)
    EmptyBody,
    /// HTTP: the body does not start with `{` or `[` (400)
    NotJsonArrayOrHash,
    /// HTTP: the body starts with `[` but does not decode (400)
    ArrayDecode,
    /// HTTP: the body starts with `{` but does not decode (400)
    ObjectDecode,
}

impl OpenTsdbErrorKind {
    /// The text InfluxDB answers for a body error (what `http.Error` writes, before its `\n`),
    /// or a description for the per-line and per-point kinds.
    pub fn message(&self) -> &'static str {
        match self {
            OpenTsdbErrorKind::MalformedLine => "malformed line",
            OpenTsdbErrorKind::BadTimestampLength => "bad time: must be 10 or 13 chars",
            OpenTsdbErrorKind::BadValue => "bad float",
            OpenTsdbErrorKind::UnsupportedValue => "NaN or +/-Inf is an unsupported value",
            OpenTsdbErrorKind::TimeOutOfRange => "time outside range",
            OpenTsdbErrorKind::KeyTooLong => "max key length exceeded",
            OpenTsdbErrorKind::Inexpressible => "name not expressible in line protocol",
            OpenTsdbErrorKind::EmptyBody => "peek error: EOF",
            OpenTsdbErrorKind::NotJsonArrayOrHash => "expected JSON array or hash",
            OpenTsdbErrorKind::ArrayDecode => "json array decode error",
            OpenTsdbErrorKind::ObjectDecode => "json object decode error",
        }
    }

    /// The HTTP status InfluxDB answers when a whole body fails with this kind (400; the
    /// per-point kinds never fail a body).
    pub fn http_status(&self) -> u16 {
        400
    }
}

impl std::fmt::Display for OpenTsdbErrorKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.message())
    }
}

/// Lets `&error.0` stand for the message text.
impl std::ops::Deref for OpenTsdbErrorKind {
    type Target = str;
    fn deref(&self) -> &str {
        self.message()
    }
}

/// Why OpenTSDB input was rejected; `.0` says which rule, and derefs to its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenTsdbError(pub OpenTsdbErrorKind);

impl std::fmt::Display for OpenTsdbError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(formatter)
    }
}

impl std::error::Error for OpenTsdbError {}

impl From<OpenTsdbErrorKind> for OpenTsdbError {
    fn from(kind: OpenTsdbErrorKind) -> Self {
        OpenTsdbError(kind)
    }
}

/// What a telnet line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetCommand {
    /// a `put`: one line-protocol line was appended to `out`
    Put,
    /// `version`: write this text back (InfluxDB adds no newline)
    Version(String),
    /// a blank line: nothing to do
    Ignored,
}

/// Parses one telnet line (a trailing `\n` / `\r\n` is allowed), appending one line-protocol
/// line to `out` for a `put`. On error `out` is unchanged and nothing is answered.
pub fn parse_telnet_line(line: &[u8], out: &mut Vec<u8>) -> Result<TelnetCommand, OpenTsdbError> {
    let mut fields = GoFields { rest: line };
    let Some(command) = fields.next() else {
        return Ok(TelnetCommand::Ignored);
    };
    if command == b"version" && fields.clone().next().is_none() {
        return Ok(TelnetCommand::Version(VERSION_ANSWER.to_string()));
    }
    let (Some(metric), Some(timestamp), Some(value)) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Err(OpenTsdbErrorKind::MalformedLine.into());
    };
    if command != b"put" {
        return Err(OpenTsdbErrorKind::MalformedLine.into());
    }
    let time_ns = telnet_time_ns(timestamp)?;
    let mut tags: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
    for tag in fields {
        let Some(equals) = memchr::memchr(b'=', tag) else {
            continue;
        };
        let (key, value) = (tag.get(..equals), tag.get(equals + 1..));
        if let (Some(key), Some(value)) = (key, value) {
            if !key.is_empty() && !value.is_empty() {
                tags.insert(key, value);
            }
        }
    }
    let value = match parse_float(value) {
        ParseFloat::Value(value) if value.is_finite() => value,
        // `inf`, `nan`...: parsed, then refused by models.NewPoint
        ParseFloat::Value(_) => return Err(OpenTsdbErrorKind::UnsupportedValue.into()),
        ParseFloat::Syntax | ParseFloat::Range(_) => return Err(OpenTsdbErrorKind::BadValue.into()),
    };
    append_point(
        metric,
        tags.iter().map(|(k, v)| (*k, *v)),
        value,
        time_ns,
        out,
    )?;
    Ok(TelnetCommand::Put)
}

/// The time of a telnet timestamp field, by its length.
fn telnet_time_ns(timestamp: &[u8]) -> Result<i64, OpenTsdbError> {
    // Go's ParseInt error leaves 0: a 10- or 13-byte non-number is the epoch.
    let number = std::str::from_utf8(timestamp)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .unwrap_or(0);
    match timestamp.len() {
        TELNET_SECONDS_DIGITS => time_from_seconds(number),
        TELNET_MILLISECONDS_DIGITS => Ok(time_from_milliseconds(number)?),
        _ => Err(OpenTsdbErrorKind::BadTimestampLength.into()),
    }
}

fn checked_time(time_ns: i128) -> Result<i64, OpenTsdbError> {
    if !(MIN_TIME_NS..=MAX_TIME_NS).contains(&time_ns) {
        return Err(OpenTsdbErrorKind::TimeOutOfRange.into());
    }
    i64::try_from(time_ns).map_err(|_| OpenTsdbErrorKind::TimeOutOfRange.into())
}

fn time_from_seconds(seconds: i64) -> Result<i64, OpenTsdbError> {
    checked_time(i128::from(seconds) * NANOS_PER_SECOND)
}

/// InfluxDB's `time.Unix(ms/1000, (ms%1000)*1000)` (truncating division, as Go's).
fn time_from_milliseconds(milliseconds: i64) -> Result<i64, OpenTsdbError> {
    let seconds = i128::from(milliseconds / MILLIS_PER_SECOND);
    let remainder = i128::from(milliseconds % MILLIS_PER_SECOND);
    checked_time(seconds * NANOS_PER_SECOND + remainder * MILLIS_REMAINDER_TO_NANOS)
}

/// Appends `metric,tags value=<value> <time_ns>\n`, or nothing and an error when InfluxDB
/// would reject the key or line protocol cannot carry the names. Tags with an empty value are
/// left out (InfluxDB leaves them out of the key too).
fn append_point<'t>(
    metric: &[u8],
    tags: impl Iterator<Item = (&'t [u8], &'t [u8])> + Clone,
    value: f64,
    time_ns: i64,
    out: &mut Vec<u8>,
) -> Result<(), OpenTsdbError> {
    let tags = tags.filter(|(_, value)| !value.is_empty());
    let expressible = is_expressible(metric, EscapeKind::Measurement)
        && tags.clone().all(|(key, value)| {
            is_expressible(key, EscapeKind::TagKey) && is_expressible(value, EscapeKind::TagValue)
        });
    if !expressible {
        return Err(OpenTsdbErrorKind::Inexpressible.into());
    }
    let mark = out.len();
    escape_into(metric, EscapeKind::Measurement, out);
    for (key, value) in tags {
        out.push(b',');
        escape_into(key, EscapeKind::TagKey, out);
        out.push(b'=');
        escape_into(value, EscapeKind::TagValue, out);
    }
    let key_bytes = out.len() - mark + FIELD_KEY_SEPARATOR_BYTES + FIELD_KEY.len();
    if key_bytes > MAX_KEY_BYTES {
        out.truncate(mark);
        return Err(OpenTsdbErrorKind::KeyTooLong.into());
    }
    out.push(b' ');
    out.extend_from_slice(FIELD_KEY.as_bytes());
    out.push(b'=');
    append_float(value, out);
    out.push(b' ');
    crate::line_protocol::format::append_i64(time_ns, out);
    out.push(b'\n');
    Ok(())
}

/// Iterates the fields of a line as Go's `strings.Fields` splits them.
#[derive(Clone)]
struct GoFields<'a> {
    rest: &'a [u8],
}

/// Length of the white space (Go's `unicode.IsSpace`) starting `bytes`, or 0.
fn space_len(bytes: &[u8]) -> usize {
    let Some(&first) = bytes.first() else {
        return 0;
    };
    if first.is_ascii() {
        return usize::from(matches!(first, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '));
    }
    let width = match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => return 0, // four-byte characters hold no white space
    };
    match bytes.get(..width).map(std::str::from_utf8) {
        Some(Ok(text)) if text.chars().all(char::is_whitespace) => width,
        _ => 0,
    }
}

impl<'a> Iterator for GoFields<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let skip = space_len(self.rest);
            if skip == 0 {
                break;
            }
            self.rest = self.rest.get(skip..).unwrap_or_default();
        }
        if self.rest.is_empty() {
            return None;
        }
        let mut end = 0;
        while end < self.rest.len() && space_len(self.rest.get(end..).unwrap_or_default()) == 0 {
            end += 1;
        }
        let (field, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(field)
    }
}

/// One `/api/put` point as Go's decoder leaves it.
#[derive(Default, Debug)]
struct JsonPoint {
    metric: String,
    timestamp: i64,
    value: f64,
    tags: Option<BTreeMap<String, String>>,
}

/// Parses an `/api/put` JSON body (one object or an array), appending line protocol to `out`;
/// returns the number of points appended. Points InfluxDB would drop one by one (time out of
/// range, key too long) and points line protocol cannot carry are left out without error.
/// On error `out` is unchanged; answer `error.0.http_status()` with `error.0.message()`.
pub fn parse_http_put(body: &[u8], out: &mut Vec<u8>) -> Result<usize, OpenTsdbError> {
    let (points, _dropped) = parse_http_put_counting(body, out)?;
    Ok(points)
}

/// [`parse_http_put`] that also returns how many decoded points were dropped.
pub fn parse_http_put_counting(
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<(usize, usize), OpenTsdbError> {
    let decode_error = match body.first() {
        None => return Err(OpenTsdbErrorKind::EmptyBody.into()),
        Some(b'{') => OpenTsdbErrorKind::ObjectDecode,
        Some(b'[') => OpenTsdbErrorKind::ArrayDecode,
        Some(_) => return Err(OpenTsdbErrorKind::NotJsonArrayOrHash.into()),
    };
    let text = go_lossy_utf8(body, false);
    let points = decode_points(&text).map_err(|_| OpenTsdbError(decode_error))?;
    let (mut written, mut dropped) = (0, 0);
    for point in &points {
        match append_json_point(point, out) {
            Ok(()) => written += 1,
            Err(_) => dropped += 1,
        }
    }
    Ok((written, dropped))
}

fn append_json_point(point: &JsonPoint, out: &mut Vec<u8>) -> Result<(), OpenTsdbError> {
    let time_ns = if point.timestamp == GO_ZERO_TIME_SECONDS {
        return Err(OpenTsdbErrorKind::TimeOutOfRange.into());
    } else if point.timestamp < HTTP_SECONDS_BELOW {
        time_from_seconds(point.timestamp)?
    } else {
        time_from_milliseconds(point.timestamp)?
    };
    let tags = point.tags.iter().flatten();
    append_point(
        point.metric.as_bytes(),
        tags.map(|(key, value)| (key.as_bytes(), value.as_bytes())),
        point.value,
        time_ns,
        out,
    )
}

/// `body` as text, each byte that is not part of valid UTF-8 replaced by U+FFFD (Go's rule).
/// With `surrogates`, a UTF-8-encoded surrogate (which `\ud800` escapes decode to as bytes)
/// becomes one U+FFFD.
fn go_lossy_utf8(body: &[u8], surrogates: bool) -> std::borrow::Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(body) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut text = String::with_capacity(body.len() + 8);
    let mut rest = body;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                break;
            }
            Err(error) => {
                let (valid, invalid) = rest.split_at(error.valid_up_to());
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                text.push(char::REPLACEMENT_CHARACTER);
                let skip = match invalid {
                    [0xed, 0xa0..=0xbf, 0x80..=0xbf, ..] if surrogates => 3,
                    _ => 1,
                };
                rest = invalid.get(skip..).unwrap_or_default();
            }
        }
    }
    std::borrow::Cow::Owned(text)
}

/// The points of the first JSON value of `text` (which starts with `{` or `[`).
fn decode_points(text: &str) -> Result<Vec<JsonPoint>, serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let first = match stream.next() {
        Some(result) => result?,
        None => return Err(de::Error::custom("no value")),
    };
    let raw = first.get();
    if raw.starts_with('[') {
        let elements: Vec<&RawValue> = serde_json::from_str(raw)?;
        elements
            .iter()
            .map(|element| decode_point(element.get()))
            .collect()
    } else {
        decode_point(raw).map(|point| vec![point])
    }
}

/// One array element or top-level object; `null` is a zero point (Go leaves it untouched).
fn decode_point(raw: &str) -> Result<JsonPoint, serde_json::Error> {
    let mut point = JsonPoint::default();
    if raw == "null" {
        return Ok(point);
    }
    let members: OrderedMembers = serde_json::from_str(raw)?;
    for (key, value) in members.0 {
        let value = value.get();
        let Some(field) = match_field(&key) else {
            continue;
        };
        if value == "null" {
            if field == Field::Tags {
                point.tags = None;
            }
            continue;
        }
        match field {
            Field::Metric => point.metric = serde_json::from_str::<GoString>(value)?.0,
            Field::Timestamp => {
                point.timestamp = value
                    .parse::<i64>()
                    .map_err(|_| de::Error::custom("cannot unmarshal into int64"))?;
            }
            Field::Value => {
                point.value = match value.as_bytes().first() {
                    Some(b'-' | b'0'..=b'9') => value.parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|value| value.is_finite())
                .ok_or_else(|| de::Error::custom("cannot unmarshal into float64"))?;
            }
            Field::Tags => {
                let tags: GoStringMap = serde_json::from_str(value)?;
                let map = point.tags.get_or_insert_with(BTreeMap::new);
                for (key, value) in tags.0 {
                    map.insert(key, value);
                }
            }
        }
    }
    Ok(point)
}

/// The JSON keys the decoder knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Metric,
    Timestamp,
    Value,
    Tags,
}

const FIELDS: [(&str, Field); 4] = [
    ("metric", Field::Metric),
    ("timestamp", Field::Timestamp),
    ("value", Field::Value),
    ("tags", Field::Tags),
];

/// Go's rule: an exact key match, else a case-insensitive one (`ſ` folds to `s`, the Kelvin
/// sign to `k`). Each key is matched on its own, in input order.
fn match_field(key: &str) -> Option<Field> {
    if let Some((_, field)) = FIELDS.iter().find(|(name, _)| *name == key) {
        return Some(*field);
    }
    let folded = key.chars().map(|c| match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        other => other.to_ascii_lowercase(),
    });
    FIELDS
        .iter()
        .find(|(name, _)| folded.clone().eq(name.chars()))
        .map(|(_, field)| *field)
}

/// An object's members in input order, values left raw.
struct OrderedMembers<'a>(Vec<(String, &'a RawValue)>);

impl<'de> de::Deserialize<'de> for OrderedMembers<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = OrderedMembers<'de>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key_seed(GoStringSeed)? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(OrderedMembers(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// A JSON string decoded as Go does (lone surrogate escapes become U+FFFD).
struct GoString(String);

impl<'de> de::Deserialize<'de> for GoString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        GoStringSeed.deserialize(deserializer).map(GoString)
    }
}

struct GoStringSeed;

impl<'de> DeserializeSeed<'de> for GoStringSeed {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        struct BytesVisitor;
        impl Visitor<'_> for BytesVisitor {
            type Value = String;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
                Ok(text.to_string())
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<String, E> {
                Ok(go_lossy_utf8(bytes, true).into_owned())
            }
        }
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

/// A JSON object of strings (`null` values become `""`, as in Go), duplicates last-wins.
struct GoStringMap(Vec<(String, String)>);

impl<'de> de::Deserialize<'de> for GoStringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = GoStringMap;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key_seed(GoStringSeed)? {
                    let value = map.next_value::<Option<GoString>>()?;
                    entries.push((key, value.map(|value| value.0).unwrap_or_default()));
                }
                Ok(GoStringMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

/// Where an HTTP request on the OpenTSDB port goes (InfluxDB checks the path first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpRoute {
    /// `POST /api/put`: decode the body with [`parse_http_put`]; 204 with no body on success
    Put,
    /// `/api/metadata/put`, any method: 204, no body, nothing read
    MetadataPut,
    /// `/api/put` with a method other than `POST`: 405, text `Method Not Allowed`
    MethodNotAllowed,
    /// any other path: 404, text `404 page not found`
    NotFound,
}

impl HttpRoute {
    /// Status and `text/plain` body text (InfluxDB adds `\n`) of the answers that need no body
    /// decoding; `None` for [`HttpRoute::Put`].
    pub fn fixed_answer(&self) -> Option<(u16, &'static str)> {
        match self {
            HttpRoute::Put => None,
            HttpRoute::MetadataPut => Some((204, "")),
            HttpRoute::MethodNotAllowed => Some((405, "Method Not Allowed")),
            HttpRoute::NotFound => Some((404, "404 page not found")),
        }
    }
}

/// Routes by the request path (without the query string; `?details` changes nothing) and
/// method, as InfluxDB's OpenTSDB handler does. Paths are compared exactly (no cleaning).
pub fn route_http(method: &str, path: &str) -> HttpRoute {
    match path {
        "/api/metadata/put" => HttpRoute::MetadataPut,
        "/api/put" if method == "POST" => HttpRoute::Put,
        "/api/put" => HttpRoute::MethodNotAllowed,
        _ => HttpRoute::NotFound,
    }
}

/// The `text/plain` body InfluxDB answers (400) when a gzip body's header cannot be read;
/// `go_error` is Go's text (`unexpected EOF`, `gzip: invalid header`, `EOF`).
pub fn gzip_header_error_text(go_error: &str) -> String {
    format!("could not read gzip, {go_error}")
}

/// Whether a connection whose first line (without its `\n`, a trailing `\r` allowed) is
/// `first_line` is HTTP: Go's request-line rules (`METHOD SP URI SP HTTP/x.y`, a token method,
/// a URI that is `*`, an absolute path or has a scheme, no control bytes). InfluxDB then also
/// needs well-formed headers; a request line that passes here with broken headers would make
/// InfluxDB fall back to telnet.
pub fn looks_like_http(first_line: &[u8]) -> bool {
    let line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let mut parts = line.splitn(3, |&byte| byte == b' ');
    let (Some(method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let method_ok = !method.is_empty() && method.iter().all(|&byte| is_token_byte(byte));
    let uri_ok = !uri.is_empty()
        && uri.iter().all(|&byte| byte > b' ' && byte != 0x7f)
        && (uri == b"*" || uri.starts_with(b"/") || has_scheme(uri));
    method_ok && uri_ok && is_http_version(version)
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn has_scheme(uri: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', uri) else {
        return false;
    };
    let scheme = uri.get(..colon).unwrap_or_default();
    matches!(scheme.first(), Some(first) if first.is_ascii_alphabetic())
        && scheme
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.'))
}

/// Go 1.19's `ParseHTTPVersion`: `HTTP/d.d`.
fn is_http_version(version: &[u8]) -> bool {
    version.len() == HTTP_VERSION_BYTES
        && matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_protocol::{unescape_into, FieldValue, Parser, Precision, Scratch};
    use proptest::prelude::*;

    /// A stored point, names unescaped.
    #[derive(Debug, Clone, PartialEq, PartialOrd)]
    struct StoredPoint {
        measurement: Vec<u8>,
        tags: Vec<(Vec<u8>, Vec<u8>)>,
        value: f64,
        time_ns: i64,
    }

    fn unescaped(escaped: &[u8], kind: EscapeKind) -> Vec<u8> {
        let mut out = Vec::new();
        unescape_into(escaped, kind, &mut out);
        out
    }

    /// Parses decoder output with Sluice's parser; every line must parse to one float `value`.
    fn parse_lp(lines: &[u8]) -> Vec<StoredPoint> {
        let mut parser = Parser::new(lines, Precision::Nanosecond, 0);
        let mut points = Vec::new();
        loop {
            let mut scratch = Scratch::default();
            let Some(result) = parser.next_point(&mut scratch) else {
                break;
            };
            let point = match result {
                Ok(point) => point,
                Err(error) => panic!("decoder output does not parse: {error:?} in {lines:?}"),
            };
            let [field] = point.fields else {
                panic!("one field expected: {:?}", point.fields)
            };
            assert_eq!(field.key, FIELD_KEY.as_bytes());
            let FieldValue::Float(value) = field.value else {
                panic!("float expected: {:?}", field.value)
            };
            points.push(StoredPoint {
                measurement: unescaped(point.measurement, EscapeKind::Measurement),
                tags: point
                    .tags
                    .iter()
                    .map(|tag| {
                        (
                            unescaped(tag.key, EscapeKind::TagKey),
                            unescaped(tag.value, EscapeKind::TagValue),
                        )
                    })
                    .collect(),
                value,
                time_ns: point.timestamp_ns,
            });
        }
        points
    }

    /// What the database keeps of a sequence of points: the last per series and time,
    /// without the points InfluxDB's write path drops (tag key `time`), sorted.
    fn as_stored(points: Vec<StoredPoint>) -> Vec<StoredPoint> {
        let mut kept: Vec<StoredPoint> = Vec::new();
        for point in points {
            if point.tags.iter().any(|(key, _)| key == b"time") {
                continue;
            }
            kept.retain(|old| {
                (&old.measurement, &old.tags, old.time_ns)
                    != (&point.measurement, &point.tags, point.time_ns)
            });
            kept.push(point);
        }
        kept.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        kept
    }

    fn expressible(point: &StoredPoint) -> bool {
        is_expressible(&point.measurement, EscapeKind::Measurement)
            && point.tags.iter().all(|(key, value)| {
                is_expressible(key, EscapeKind::TagKey)
                    && is_expressible(value, EscapeKind::TagValue)
            })
    }

    /// The corpus `points`, minus the ones line protocol cannot carry (see the module doc).
    fn expected_points(case: &serde_json::Value) -> Vec<StoredPoint> {
        let mut points = Vec::new();
        for point in case["points"].as_array().into_iter().flatten() {
            let mut tags: Vec<(Vec<u8>, Vec<u8>)> = point["tags"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.as_bytes().to_vec(),
                        v.as_str().unwrap_or("").as_bytes().to_vec(),
                    )
                })
                .collect();
            tags.sort();
            let stored = StoredPoint {
                measurement: point["measurement"]
                    .as_str()
                    .unwrap_or("")
                    .as_bytes()
                    .to_vec(),
                tags,
                value: point["value"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
                time_ns: point["time_ns"].as_i64().unwrap_or(i64::MIN),
            };
            if expressible(&stored) {
                points.push(stored);
            }
        }
        as_stored(points)
    }

    /// Each corpus file stores at least this many points.
    const MIN_COMPARED_POINTS: usize = 30;

    fn corpus(name: &str) -> Vec<serde_json::Value> {
        let path = format!(
            "{}/tests/golden/opentsdb/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect()
    }

    fn text_or_base64(case: &serde_json::Value, text_key: &str, base64_key: &str) -> Vec<u8> {
        if let Some(text) = case[text_key].as_str() {
            return text.as_bytes().to_vec();
        }
        let encoded = case[base64_key]
            .as_str()
            .unwrap_or_else(|| panic!("no body: {case}"));
        base64_decode(encoded)
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for byte in text.bytes().filter(|&b| b != b'=') {
            let index = ALPHABET.iter().position(|&a| a == byte).unwrap_or(0);
            bits = bits << 6 | index as u32;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }

    #[test]
    fn telnet_corpus_matches_influxdb() {
        let cases = corpus("telnet.jsonl");
        assert!(cases.len() >= 50, "corpus too small");
        let mut compared_points = 0;
        for case in &cases {
            let name = case["name"].as_str().unwrap_or("?");
            let mut lp = Vec::new();
            let mut answer = String::new();
            for line in case["lines"].as_array().into_iter().flatten() {
                let bytes = text_or_base64(line, "text", "base64");
                let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
                let before = lp.len();
                match parse_telnet_line(line, &mut lp) {
                    Ok(TelnetCommand::Version(text)) => answer.push_str(&text),
                    Ok(TelnetCommand::Put) => assert!(lp.len() > before, "{name}"),
                    Ok(TelnetCommand::Ignored) | Err(_) => assert_eq!(lp.len(), before, "{name}"),
                }
            }
            assert_eq!(
                answer,
                case["answer"].as_str().unwrap_or(""),
                "{name}: answer"
            );
            assert_eq!(
                case["connection_open"],
                serde_json::Value::Bool(true),
                "{name}"
            );
            let expected = expected_points(case);
            compared_points += expected.len();
            assert_eq!(as_stored(parse_lp(&lp)), expected, "{name}: points");
        }
        assert!(
            compared_points >= MIN_COMPARED_POINTS,
            "{compared_points} points compared"
        );
    }

    /// Status and text body Sluice gives a request, with the decoder's output.
    fn answer_http(case: &serde_json::Value) -> (u16, String, Vec<u8>) {
        let method = case["method"].as_str().unwrap_or("");
        let path = case["path"].as_str().unwrap_or("");
        let path = path.split('?').next().unwrap_or(path);
        let route = route_http(method, path);
        if let Some((status, text)) = route.fixed_answer() {
            let body = if text.is_empty() {
                String::new()
            } else {
                format!("{text}\n")
            };
            return (status, body, Vec::new());
        }
        let mut body = text_or_base64(case, "body", "body_base64");
        if case["body_encoding"] == "gzip" {
            let mut compressed = Vec::new();
            let mut encoder =
                flate2::write::GzEncoder::new(&mut compressed, flate2::Compression::default());
            std::io::Write::write_all(&mut encoder, &body).unwrap_or_default();
            drop(encoder.finish());
            body = compressed;
        }
        if case["headers"]["Content-Encoding"] == "gzip" {
            let mut inflated = Vec::new();
            let limit = usize::MAX / 2;
            match crate::http::gzip::gunzip_limited_detailed(&body, limit, &mut inflated) {
                Ok(()) => body = inflated,
                Err(failure) => {
                    let text = gzip_header_error_text(&failure.influx_message());
                    return (400, format!("{text}\n"), Vec::new());
                }
            }
        }
        let mut lp = Vec::new();
        match parse_http_put(&body, &mut lp) {
            Ok(_) => (204, String::new(), lp),
            Err(error) => (
                error.0.http_status(),
                format!("{}\n", error.0.message()),
                lp,
            ),
        }
    }

    #[test]
    fn http_corpus_matches_influxdb() {
        let cases = corpus("http.jsonl");
        assert!(cases.len() >= 50, "corpus too small");
        let mut compared_points = 0;
        for case in &cases {
            let name = case["name"].as_str().unwrap_or("?");
            let (status, body, lp) = answer_http(case);
            let expected_body = case["response_body"].as_str().unwrap_or("");
            if expected_body.starts_with("write series error") {
                // The write path answers this one (points it drops); the decoder succeeded.
                assert_eq!(status, 204, "{name}");
            } else {
                assert_eq!(
                    status,
                    case["status"].as_u64().unwrap_or(0) as u16,
                    "{name}"
                );
                assert_eq!(body, expected_body, "{name}: body");
            }
            let expected = expected_points(case);
            compared_points += expected.len();
            assert_eq!(as_stored(parse_lp(&lp)), expected, "{name}: points");
        }
        assert!(
            compared_points >= MIN_COMPARED_POINTS,
            "{compared_points} points compared"
        );
    }

    fn telnet(line: &str) -> (Result<TelnetCommand, OpenTsdbError>, String) {
        let mut out = b"keep".to_vec();
        let result = parse_telnet_line(line.as_bytes(), &mut out);
        let appended = String::from_utf8_lossy(out.get(4..).unwrap_or_default()).into_owned();
        assert!(out.starts_with(b"keep"));
        (result, appended)
    }

    fn telnet_error(line: &str) -> OpenTsdbErrorKind {
        match telnet(line) {
            (Err(error), appended) => {
                assert_eq!(appended, "", "{line}: nothing appended on error");
                error.0
            }
            (Ok(command), _) => panic!("{line}: expected an error, got {command:?}"),
        }
    }

    #[test]
    fn telnet_outputs() {
        let (result, lp) = telnet("put sys.cpu 1356998400 42 host=web01 cpu=0");
        assert_eq!(result, Ok(TelnetCommand::Put));
        assert_eq!(
            lp,
            "sys.cpu,cpu=0,host=web01 value=42 1356998400000000000\n"
        );
        let (_, lp) = telnet("put a,b 1356998400123 -1.5 k\u{20}=v k,1=v=w\r\n");
        assert_eq!(lp, "a\\,b,k\\,1=v\\=w value=-1.5 1356998400000123000\n");
        assert_eq!(telnet("   ").0, Ok(TelnetCommand::Ignored));
        assert_eq!(
            telnet(" version\r").0,
            Ok(TelnetCommand::Version(VERSION_ANSWER.to_string()))
        );
    }

    #[test]
    fn telnet_errors() {
        assert_eq!(
            telnet_error("put m 1356998400"),
            OpenTsdbErrorKind::MalformedLine
        );
        assert_eq!(
            telnet_error("PUT m 1356998400 1"),
            OpenTsdbErrorKind::MalformedLine
        );
        assert_eq!(telnet_error("version x"), OpenTsdbErrorKind::MalformedLine);
        assert_eq!(
            telnet_error("put m 135699840 1"),
            OpenTsdbErrorKind::BadTimestampLength
        );
        assert_eq!(
            telnet_error("put m 1356998400 x"),
            OpenTsdbErrorKind::BadValue
        );
        assert_eq!(
            telnet_error("put m 1356998400 1e999"),
            OpenTsdbErrorKind::BadValue
        );
        assert_eq!(
            telnet_error("put m 1356998400 -Inf"),
            OpenTsdbErrorKind::UnsupportedValue
        );
        assert_eq!(
            telnet_error("put m 1356998400 nan"),
            OpenTsdbErrorKind::UnsupportedValue
        );
        assert_eq!(
            telnet_error("put m 9999999999 1"),
            OpenTsdbErrorKind::TimeOutOfRange
        );
        assert_eq!(
            telnet_error("put #m 1356998400 1"),
            OpenTsdbErrorKind::Inexpressible
        );
        assert_eq!(
            telnet_error("put m\\ 1356998400 1"),
            OpenTsdbErrorKind::Inexpressible
        );
        assert_eq!(
            telnet_error("put m 1356998400 1 k=v\\"),
            OpenTsdbErrorKind::Inexpressible
        );
        let long = format!("put m 1356998400 1 k={}", "v".repeat(MAX_KEY_BYTES));
        assert_eq!(telnet_error(&long), OpenTsdbErrorKind::KeyTooLong);
        // the key limit counts escaped bytes, `#!~#` and `value`: 65535 fits exactly
        let fits = "m".repeat(MAX_KEY_BYTES - FIELD_KEY_SEPARATOR_BYTES - FIELD_KEY.len());
        assert_eq!(
            telnet(&format!("put {fits} 1356998400 1")).0,
            Ok(TelnetCommand::Put)
        );
        let over = format!("put {fits}x 1356998400 1");
        assert_eq!(telnet_error(&over), OpenTsdbErrorKind::KeyTooLong);
    }

    fn http_error(body: &str) -> OpenTsdbErrorKind {
        let mut out = Vec::new();
        match parse_http_put(body.as_bytes(), &mut out) {
            Err(error) => {
                assert!(out.is_empty());
                error.0
            }
            Ok(count) => panic!("{body}: expected an error, got {count} points"),
        }
    }

    fn http_lines(body: &[u8]) -> (usize, String) {
        let mut out = Vec::new();
        let count = parse_http_put(body, &mut out).unwrap_or_else(|e| panic!("{e}"));
        (count, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn http_errors() {
        assert_eq!(http_error(""), OpenTsdbErrorKind::EmptyBody);
        assert_eq!(http_error(" {}"), OpenTsdbErrorKind::NotJsonArrayOrHash);
        assert_eq!(http_error("{"), OpenTsdbErrorKind::ObjectDecode);
        assert_eq!(http_error("[{}"), OpenTsdbErrorKind::ArrayDecode);
        assert_eq!(http_error("[1]"), OpenTsdbErrorKind::ArrayDecode);
        assert_eq!(
            http_error(r#"{"value":"1"}"#),
            OpenTsdbErrorKind::ObjectDecode
        );
        assert_eq!(
            http_error(r#"{"value":1e400}"#),
            OpenTsdbErrorKind::ObjectDecode
        );
        assert_eq!(
            http_error(r#"{"timestamp":1.0}"#),
            OpenTsdbErrorKind::ObjectDecode
        );
        assert_eq!(
            http_error(r#"{"tags":{"a":1}}"#),
            OpenTsdbErrorKind::ObjectDecode
        );
        assert_eq!(
            http_error(r#"{"metric":[]}"#),
            OpenTsdbErrorKind::ObjectDecode
        );
        for kind in [
            OpenTsdbErrorKind::EmptyBody,
            OpenTsdbErrorKind::NotJsonArrayOrHash,
            OpenTsdbErrorKind::ArrayDecode,
            OpenTsdbErrorKind::ObjectDecode,
        ] {
            assert_eq!(kind.http_status(), 400);
        }
        assert_eq!(
            &*OpenTsdbError(OpenTsdbErrorKind::EmptyBody).0,
            "peek error: EOF"
        );
    }

    #[test]
    fn http_points_and_drops() {
        let body = br#"[{"metric":"m","timestamp":9999999999,"value":1},
            {"metric":"","timestamp":1,"value":1},
            {"Metric":"a b","timestamp":1356998400123,"value":2,"tags":{"k":"v","e":""}}]"#;
        let mut out = Vec::new();
        assert_eq!(parse_http_put_counting(body, &mut out).ok(), Some((1, 2)));
        assert_eq!(out, b"a\\ b,k=v value=2 1356998400000123000\n");
        // lone surrogate escapes and raw invalid UTF-8 become U+FFFD, as in Go
        let (_, lp) = http_lines(b"{\"metric\":\"\\ud800x\xff\",\"timestamp\":1,\"value\":1}");
        assert_eq!(lp, "\u{fffd}x\u{fffd} value=1 1000000000\n");
        assert_eq!(http_lines(b"[]"), (0, String::new()));
        assert_eq!(
            gzip_header_error_text("unexpected EOF"),
            "could not read gzip, unexpected EOF"
        );
    }

    #[test]
    fn routes() {
        assert_eq!(route_http("POST", "/api/put"), HttpRoute::Put);
        assert_eq!(route_http("GET", "/api/put"), HttpRoute::MethodNotAllowed);
        assert_eq!(
            route_http("GET", "/api/metadata/put"),
            HttpRoute::MetadataPut
        );
        assert_eq!(route_http("POST", "/api/put/"), HttpRoute::NotFound);
        assert_eq!(
            HttpRoute::NotFound.fixed_answer(),
            Some((404, "404 page not found"))
        );
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_http(b"POST /api/put HTTP/1.1\r"));
        assert!(looks_like_http(b"GET * HTTP/1.0"));
        assert!(looks_like_http(b"get http://x/y HTTP/2.0"));
        assert!(!looks_like_http(b"put m 1356998400 1 host=a"));
        assert!(!looks_like_http(b"put /m HTTP/1.1 1"));
        assert!(!looks_like_http(b"version"));
        assert!(!looks_like_http(b"POST /api/put HTTP/1.10"));
        assert!(!looks_like_http(b"POST api/put HTTP/1.1"));
    }

    #[test]
    fn values_follow_go_parse_float() {
        // gocompat's own tests cover the syntax; these check how the outcomes map here
        let stored = |text: &str| {
            let (result, lp) = telnet(&format!("put m 1356998400 {text}"));
            assert_eq!(result, Ok(TelnetCommand::Put), "{text}");
            lp
        };
        assert_eq!(stored("0x1.8p1"), "m value=3 1356998400000000000\n");
        assert_eq!(stored("1_000.5"), "m value=1000.5 1356998400000000000\n");
        assert_eq!(stored("1e-400"), "m value=0 1356998400000000000\n");
        for syntax_or_range in ["0x10", "1__0", "+nan", "-NaN", "1e400", "0x1p1024"] {
            let line = format!("put m 1356998400 {syntax_or_range}");
            assert_eq!(telnet_error(&line), OpenTsdbErrorKind::BadValue, "{line}");
        }
        for non_finite in ["Infinity", "-inf", "nan"] {
            let line = format!("put m 1356998400 {non_finite}");
            assert_eq!(
                telnet_error(&line),
                OpenTsdbErrorKind::UnsupportedValue,
                "{line}"
            );
        }
    }

    #[test]
    fn go_fields_split_on_unicode_space() {
        let fields: Vec<&[u8]> = GoFields {
            rest: b"a\xc2\xa0b\xe3\x80\x80c\xc2\x85\xffd",
        }
        .collect();
        assert_eq!(fields, vec![&b"a"[..], b"b", b"c", b"\xffd"]);
        let raw: Vec<&[u8]> = GoFields { rest: b"x\xc2 y" }.collect();
        assert_eq!(raw, vec![&b"x\xc2"[..], b"y"]);
    }

    /// A put with the names and numbers both encodings carry.
    #[derive(Debug, Clone)]
    struct RandomPut {
        metric: String,
        tags: Vec<(String, String)>,
        value: f64,
        timestamp: i64,
    }

    fn random_put() -> impl Strategy<Value = RandomPut> {
        let metric = "[a-z.][a-z0-9._,=\"/\\-]{0,12}";
        let tag = (
            "[a-zA-Z0-9._,\"/-]{1,6}",
            "[a-zA-Z0-9._,=\"/\\-]{0,5}[a-z0-9]",
        );
        let timestamp = prop_oneof![
            1_000_000_000i64..=9_223_372_036,
            -999_999_999i64..=-100_000_000,
            1_000_000_000_000i64..=9_223_372_036_854,
        ];
        let value = prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
        ];
        (metric, prop::collection::vec(tag, 0..4), value, timestamp).prop_map(
            |(metric, tags, value, timestamp)| RandomPut {
                metric,
                tags,
                value,
                timestamp,
            },
        )
    }

    proptest! {
        #[test]
        fn telnet_and_json_decode_to_the_same_points(put in random_put()) {
            let mut line = format!("put {} {} {}", put.metric, put.timestamp, put.value);
            for (key, value) in &put.tags {
                line.push_str(&format!(" {key}={value}"));
            }
            let mut from_telnet = Vec::new();
            prop_assert_eq!(
                parse_telnet_line(line.as_bytes(), &mut from_telnet),
                Ok(TelnetCommand::Put)
            );
            let tags: serde_json::Map<String, serde_json::Value> = put
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let object = serde_json::json!({
                "metric": put.metric, "timestamp": put.timestamp, "value": put.value,
                "tags": tags,
            });
            for body in [object.to_string(), format!("[{object}]")] {
                let mut from_json = Vec::new();
                prop_assert_eq!(parse_http_put(body.as_bytes(), &mut from_json), Ok(1));
                prop_assert_eq!(&from_json, &from_telnet);
            }
            let points = parse_lp(&from_telnet);
            prop_assert_eq!(points.len(), 1);
            let point = &points[0];
            prop_assert_eq!(&point.measurement, put.metric.as_bytes());
            let mut tags: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for (key, value) in &put.tags {
                tags.insert(key.as_bytes().to_vec(), value.as_bytes().to_vec());
            }
            let tags: Vec<(Vec<u8>, Vec<u8>)> = tags.into_iter().collect();
            let mut parsed_tags = point.tags.clone();
            parsed_tags.sort();
            prop_assert_eq!(parsed_tags, tags);
            prop_assert_eq!(point.value.to_bits(), put.value.to_bits());
            let expected_ns = if put.timestamp.unsigned_abs() < 10_000_000_000 {
                i128::from(put.timestamp) * 1_000_000_000
            } else {
                i128::from(put.timestamp / 1000) * 1_000_000_000
                    + i128::from(put.timestamp % 1000) * 1000
            };
            prop_assert_eq!(i128::from(point.time_ns), expected_ns);
        }
    }
}
