//! Line protocol: parsing request bodies into borrowed points, and formatting points back.
//!
//! Owns the InfluxDB 1.x line protocol grammar as InfluxDB 1.6.7 accepts it, the escaping
//! rules of each token kind, the canonical series key, and the `influx_inspect export` output
//! format. It does not own storage checks (field type conflicts, `time` as a field or tag key),
//! which InfluxDB makes after parsing; see "Checks left to the caller" below.
//!
//! # Invariants
//! - A [`Point`] borrows the body: measurement, tag and field keys and string values are
//!   slices of the input, still escaped. Nothing is copied per point or per field; the scratch
//!   vectors are reused, so steady-state parsing allocates only when building a [`ParseError`].
//! - Tags come out sorted by their *escaped* key bytes, which is InfluxDB's order (it compares
//!   the key text as written; e.g. `a-` sorts before `a\,b` although `,` < `-`). Written tag
//!   keys are always in canonical escaped form, so this is also the canonical key's order.
//! - Fields come out in input order, duplicates included (InfluxDB keeps the last value).
//!
//! # Algorithm
//! 1. Fast path (`fast`): one forward pass over lines of the common shape (no escapes
//!    outside string values, no leading whitespace, one `key=value` per segment, plain
//!    numbers, booleans, simple strings, a digit timestamp), walking the body's structural
//!    bytes with a 64-bit mask per 64 bytes (`structural`, SSE2); the newline that ends the
//!    line falls out of the same walk. Numbers are converted at the length the mask gives
//!    (`number`: whole words with SWAR; decimals of up to 19 significant digits exactly, by one
//!    float division or one 128-bit integer division; longer ones by `str::parse`); tags are
//!    sorted only if they are not sorted already. Anything else, including every error, blank
//!    lines and comments, goes to the general path below, which decides; `reference` keeps
//!    the original scanner, and differential tests and the fuzz target hold the two equal.
//! 2. General path, finding the line: `memchr3` for `\n`, `"` and `\`; if a newline comes
//!    first (or none of them), the line ends there, else a slow scan
//!    ([`scan::scan_line_end`]) tracks quotes in the field section, so that a quoted string
//!    may span lines, and skips backslash pairs.
//! 3. Strip leading spaces, tabs and NULs; skip empty lines and lines starting with `#`.
//! 4. Scan the measurement and the tags, treating a byte as escaped when the byte before it
//!    is a backslash; sort tags (a sortedness check first: usually already sorted) and reject
//!    duplicates.
//! 5. Scan the fields in one pass (backslash pairs, quote tracking, a typed value per `=`):
//!    numbers and booleans are validated and converted on the spot, string values are kept as
//!    escaped slices.
//! 6. Scan the optional timestamp, scale it by the precision with overflow checking.
//!
//! # Facts established against InfluxDB 1.6.7 (`/write` on loopback)
//!
//! The error text is `unable to parse '<line>': <message>`, where `<line>` is the line with
//! leading whitespace (space, tab, NUL) removed and the `\n` removed, but everything else kept
//! (a `\r` or trailing spaces stay). Several bad lines give several such texts joined by `\n`;
//! if some lines parsed, InfluxDB answers `partial write: <texts> dropped=0` (see
//! [`ParseError`] and the HTTP layer).
//!
//! | input (one line) | InfluxDB 1.6.7 |
//! |---|---|
//! | `cpu` / `cpu,host=a` | `missing fields` |
//! | `cpu ` / `cpu,host=a ` / `cpu v=1,` / `cpu v=1,w` / `cpu v` | `invalid field format` |
//! | `,host=a v=1` | `missing measurement` |
//! | `cpu,host` / `cpu,host= v=1` | `missing tag value` |
//! | `cpu,=a v=1` / `cpu, v=1` / `cpu,host=a, v=1` | `missing tag key` |
//! | `cpu,host=a=b v=1` | `invalid tag format` (an `=` inside a tag value) |
//! | `cpu,t==a v=1` | accepted: tag value `=a` (first byte is not checked) |
//! | `cpu,a=1,b=2,a=3 v=1` | `duplicate tags` |
//! | `cpu =1` | `missing field key` |
//! | `cpu v=` | `missing field value` |
//! | `v=1x`, `v=1.5i`, `v=1i5`, `v=1ii`, `v=0x10`, `v=1_000`, `v=.`, `v=-` | `invalid number` |
//! | `v=--1`, `v=1.5.5`, `v=NaN`, `v=nope`, `v=-Inf`, `v=1\r` | `invalid number` |
//! | `v=1e`, `v=1e5e5`, `v=1e400` | `invalid float` (`1e-400` is accepted as 0) |
//! | `v=1.`, `v=.5`, `v=-.5`, `v=1e5`, `v=1E+5`, `v=-0`, `v=01` | accepted floats |
//! | `v=9223372036854775808i` | `unable to parse integer N: strconv.ParseInt: parsing "N": value |
//! |   | out of range` with N the digits as written (also below i64::MIN) |
//! | `v=1u`, `v=18446744073709551615u` | `invalid number` (unsigned is disabled in 1.6.7) |
//! | `v=t, T, true, True, TRUE, f, F, false, False, FALSE` | booleans |
//! | `v=tRUE`, `v=truex`, `v=Inf`, `v=inf`, `v=+1`, `v=i`, `v==1` | `invalid boolean` |
//! | (any value not starting with a digit, `-`, `.`, `N`, `n` or `"`) | `invalid boolean` |
//! | `v="abc` / `v="a\"` | `unbalanced quotes` |
//! | `v=""` | accepted, empty string |
//! | `v="a"x` / `v="a""b"` / `v="a"` + `\r` | accepted; stored `a"` / `a""b` / `a"` (1) |
//! | `v="a\"b"`, `v="a\\b"`, `v="a\nb"` (backslash-n) | stored `a"b`, `a\b`, `a\nb` (2) |
//! | `v="line1` newline `line2"` | accepted: a quoted value may span lines |
//! | `cpu v=1 abc` / `cpu v=1 +1` / `cpu v=1 #c` / `cpu v=1 1` + tab | `bad timestamp` |
//! | `cpu v=1 -` | `strconv.ParseInt: parsing "-": invalid syntax` |
//! | `cpu v=1 99999999999999999999` | `strconv.ParseInt: parsing "99999999999999999999": value |
//! |   | out of range` |
//! | timestamp outside `-9223372036854775806..=9223372036854775806` ns (after scaling) | (3) |
//! | `cpu v=1 1 2` / `cpu v=2 2 # x` | `point is invalid` (non-space after the timestamp) |
//! | `cpu v=1 ` / `cpu v=1 1 ` / `cpu  v=1` / `cpu v=1  1` / `cpu v=1 ` + tab + `1` | accepted |
//! | `cpu\tv=1` | `missing fields` (a tab is not a separator) |
//! | `cpu v=1` + `\r\n` | `invalid number`, line shown with its `\r`: CRLF is **not** supported |
//! | `# c` / `  # c` / empty / whitespace-only lines | skipped |
//! | `cpu v=1,v=2` | accepted; the last value wins (4) |
//! | `"cpu" v=1`, `cpu "v"=1` | accepted; quotes are part of the name |
//! | `c\pu,t\ag=v\al v\x=1` | accepted; other backslashes are kept as they are |
//! | `cpu\\ v=1` | `invalid field format` (measurement `cpu\\ v=1`: the space is escaped) |
//! | `cpu,t=a\\ v=1` | `invalid tag format` (same rule in tag values) |
//! | precision `s` with `9223372037` | `time outside range ...` |
//! | precision `us`, `xyz`, or anything unknown | nanoseconds (only `u` means microseconds) |
//! | no timestamp | the server's "now", truncated to the precision unit |
//! | measurement + tags longer than 65535 bytes | `max key length exceeded: <len> > 65535` |
//!
//! (1) A string value runs to the next unquoted `,` or space, and InfluxDB drops its first and
//! last byte. (2) Only `\"` and `\\` are escapes inside strings. (3) `time outside range
//! -9223372036854775806 - 9223372036854775806`. (4) `v=1,v=2i` fails later, at the shard,
//! with `field type conflict`.
//!
//! Unescaping (what names mean once stored): measurements and field keys unescape `\,`,
//! `\ `, `\=` and `\"`; tag keys and values unescape `\,`, `\ `, `\=` only (`t=a\"b` and
//! `t=a"b` are two series). The canonical series key re-escapes: measurement `,` and space;
//! tag keys and values `,`, `=` and space (`cpu,t==a` is stored as `cpu,t=\=a`, and `c\=pu` is
//! the measurement `c=pu`). See [`key`].
//!
//! # Checks left to the caller (made by InfluxDB after parsing, exact texts)
//! - field key `time`: `partial write: invalid field name: input field "time" on measurement
//!   "cpu" is invalid dropped=1`
//! - tag key `time`: `partial write: invalid tag key: input tag "time" on measurement "cpu" is
//!   invalid dropped=1`
//! - type conflict with stored data: `partial write: field type conflict: input field "v" on
//!   measurement "cpu" is type integer, already exists as type float dropped=1`
//! - type conflict inside one request (same point or two points): the whole answer is
//!   `{"error":"field type conflict"}` (400) and nothing is written.
//!
//! # Known divergences
//! A field section where a string value is followed by `=` and a later comma balances the
//! counts (e.g. `a,b="x"=t`) is accepted by both, but InfluxDB then names the field `a,b`;
//! this parser splits the names differently. Such lines are not produced by any client.

#![cfg_attr(test, allow(clippy::unwrap_used))]

#[cfg(test)]
mod differential;
mod fast;
mod find;
pub mod format;
pub mod key;
mod number;
#[cfg(test)]
mod pieces;
/// The previous scanner, frozen: the oracle the fast path is checked against (tests, and the
/// fuzz target through the `reference-parser` feature). Not part of the server.
#[cfg(any(test, feature = "reference-parser"))]
#[doc(hidden)]
pub mod reference;
pub mod scan;
mod structural;
#[cfg(test)]
mod tests;

pub use format::{append_float, append_line, FormatField, FormatValue};
pub use key::{append_series_key, escape_into, is_expressible, unescape_into, EscapeKind};

/// Timestamp precision of a write (`precision=` on /write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// nanoseconds (`n`, `ns`, absent, or anything unrecognised)
    Nanosecond,
    /// microseconds (`u`)
    Microsecond,
    /// milliseconds (`ms`)
    Millisecond,
    /// seconds (`s`)
    Second,
    /// minutes (`m`)
    Minute,
    /// hours (`h`)
    Hour,
}

impl Precision {
    /// Parses the `precision` query parameter as InfluxDB 1.6.7 does: `u` (only) is
    /// microseconds, and any value it does not know (`us`, `µ`, `xyz`) means nanoseconds, so
    /// this never returns `None`.
    pub fn from_param(text: &str) -> Option<Precision> {
        Some(match text {
            // 1.6.7 treats "µ" as nanoseconds; the documented meaning (and the ingest issue)
            // is microseconds.
            "u" | "µ" => Precision::Microsecond,
            "ms" => Precision::Millisecond,
            "s" => Precision::Second,
            "m" => Precision::Minute,
            "h" => Precision::Hour,
            _ => Precision::Nanosecond,
        })
    }

    /// Nanoseconds per unit.
    pub fn nanos_per_unit(self) -> i64 {
        match self {
            Precision::Nanosecond => 1,
            Precision::Microsecond => 1_000,
            Precision::Millisecond => 1_000_000,
            Precision::Second => 1_000_000_000,
            Precision::Minute => 60_000_000_000,
            Precision::Hour => 3_600_000_000_000,
        }
    }

    /// All precisions, for tests and fuzzing.
    pub const ALL: [Precision; 6] = [
        Precision::Nanosecond,
        Precision::Microsecond,
        Precision::Millisecond,
        Precision::Second,
        Precision::Minute,
        Precision::Hour,
    ];
}

/// A field value as written; strings stay escaped slices of the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// 64-bit float (no suffix); always finite
    Float(f64),
    /// signed integer (`i` suffix)
    Integer(i64),
    /// unsigned integer (`u` suffix); only with [`Parser::accept_unsigned`]
    Unsigned(u64),
    /// boolean
    Boolean(bool),
    /// String contents, still escaped (`\"`, `\\`): the value's bytes minus its first and last
    /// byte, exactly what InfluxDB stores after unescaping with
    /// [`EscapeKind::StringFieldValue`].
    String(&'a [u8]),
}

/// One tag, both parts escaped exactly as in the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tag<'a> {
    /// escaped key
    pub key: &'a [u8],
    /// escaped value
    pub value: &'a [u8],
}

/// One field; key escaped as in the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field<'a> {
    /// escaped key
    pub key: &'a [u8],
    /// value
    pub value: FieldValue<'a>,
}

/// Reusable per-request scratch space.
#[derive(Default, Debug)]
pub struct Scratch<'a> {
    /// tags of the current point, sorted by escaped key (InfluxDB's order)
    pub tags: Vec<Tag<'a>>,
    /// fields of the current point, input order
    pub fields: Vec<Field<'a>>,
}

/// One parsed point, borrowing the body and the scratch.
#[derive(Debug)]
pub struct Point<'a, 's> {
    /// escaped measurement
    pub measurement: &'a [u8],
    /// tags sorted by escaped key
    pub tags: &'s [Tag<'a>],
    /// fields in input order
    pub fields: &'s [Field<'a>],
    /// nanoseconds since epoch (scaled, or the default time)
    pub timestamp_ns: i64,
}

/// Which rule a line broke; [`ParseErrorKind::message`] is InfluxDB 1.6.7's text for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// the line starts with a comma
    MissingMeasurement,
    /// no field section
    MissingFields,
    /// empty tag key
    MissingTagKey,
    /// tag key without `=value`, or empty value
    MissingTagValue,
    /// unescaped `=` inside a tag value
    InvalidTagFormat,
    /// the same tag key twice
    DuplicateTags,
    /// `=` with nothing before it
    MissingFieldKey,
    /// `=` with nothing after it
    MissingFieldValue,
    /// keys and values do not pair up
    InvalidFieldFormat,
    /// an odd number of quotes in the field section
    UnbalancedQuotes,
    /// a malformed number
    InvalidNumber,
    /// a float out of range or with a malformed exponent
    InvalidFloat,
    /// an integer out of range; the full message
    IntegerOutOfRange(String),
    /// a value that is not a number, string or boolean
    InvalidBoolean,
    /// a timestamp with a non-digit
    BadTimestamp,
    /// a timestamp that does not fit in i64; the full message
    TimestampUnparsable(String),
    /// a timestamp outside InfluxDB's range after scaling
    TimeOutOfRange,
    /// non-space bytes after the timestamp
    InvalidPoint,
    /// series key (or series key plus a field key) longer than the limit: the size found
    KeyTooLong(usize),
}

impl ParseErrorKind {
    /// InfluxDB 1.6.7's message text for this error.
    pub fn message(&self) -> String {
        let text = match self {
            ParseErrorKind::MissingMeasurement => "missing measurement",
            ParseErrorKind::MissingFields => "missing fields",
            ParseErrorKind::MissingTagKey => "missing tag key",
            ParseErrorKind::MissingTagValue => "missing tag value",
            ParseErrorKind::InvalidTagFormat => "invalid tag format",
            ParseErrorKind::DuplicateTags => "duplicate tags",
            ParseErrorKind::MissingFieldKey => "missing field key",
            ParseErrorKind::MissingFieldValue => "missing field value",
            ParseErrorKind::InvalidFieldFormat => "invalid field format",
            ParseErrorKind::UnbalancedQuotes => "unbalanced quotes",
            ParseErrorKind::InvalidNumber => "invalid number",
            ParseErrorKind::InvalidFloat => "invalid float",
            ParseErrorKind::InvalidBoolean => "invalid boolean",
            ParseErrorKind::BadTimestamp => "bad timestamp",
            ParseErrorKind::InvalidPoint => "point is invalid",
            ParseErrorKind::TimeOutOfRange => {
                return format!(
                    "time outside range {} - {}",
                    scan::TIME_MIN_NS,
                    scan::TIME_MAX_NS
                )
            }
            ParseErrorKind::KeyTooLong(size) => {
                return format!(
                    "max key length exceeded: {size} > {}",
                    scan::SERIES_KEY_SIZE_MAX_BYTES
                )
            }
            ParseErrorKind::IntegerOutOfRange(message)
            | ParseErrorKind::TimestampUnparsable(message) => return message.clone(),
        };
        text.to_string()
    }
}

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 1-based line number in the body (of the line's first byte)
    pub line_number: usize,
    /// byte offset in the body of `line`'s first byte
    pub line_offset: usize,
    /// The line as InfluxDB quotes it: leading spaces/tabs/NULs and the `\n` removed,
    /// everything else (a `\r`, trailing spaces, newlines inside a quoted value) kept.
    pub line: Vec<u8>,
    /// InfluxDB's message for it, e.g. "missing fields"
    pub message: String,
    /// the rule broken
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// InfluxDB's text for this line: `unable to parse '<line>': <message>`.
    pub fn influx_text(&self) -> String {
        format!(
            "unable to parse '{}': {}",
            String::from_utf8_lossy(&self.line),
            self.message
        )
    }
}

/// Iterates the points of a body.
pub struct Parser<'a> {
    body: &'a [u8],
    /// index of the next unread byte in `body`
    position: usize,
    /// 1-based number of the line starting at `position`, minus one
    line_number: usize,
    precision: Precision,
    /// the default time already truncated to `precision`
    default_time_ns: i64,
    accept_unsigned: bool,
    accept_crlf: bool,
    /// structural bytes of the block being walked (the fast path's cursor)
    structural: structural::StructuralCursor,
}

impl<'a> Parser<'a> {
    /// A parser over `body`; points without a timestamp get `default_time_ns` truncated to
    /// the precision unit (as InfluxDB does with its "now").
    pub fn new(body: &'a [u8], precision: Precision, default_time_ns: i64) -> Parser<'a> {
        let unit = precision.nanos_per_unit();
        let truncated = default_time_ns - default_time_ns.rem_euclid(unit);
        Parser {
            body,
            position: 0,
            line_number: 0,
            precision,
            default_time_ns: truncated,
            accept_unsigned: false,
            accept_crlf: false,
            structural: structural::StructuralCursor::default(),
        }
    }

    /// Accepts `\r\n` line endings: a `\r` right before the end of a line is not part of it
    /// (InfluxDB 1.6.7 keeps it, so such lines fail there with "invalid number" or "bad
    /// timestamp").
    pub fn accept_crlf(mut self, accept: bool) -> Parser<'a> {
        self.accept_crlf = accept;
        self
    }

    /// Accepts `u`-suffixed unsigned integers (InfluxDB 1.6.7 rejects them with "invalid
    /// number"; later versions accept them).
    pub fn accept_unsigned(mut self, accept: bool) -> Parser<'a> {
        self.accept_unsigned = accept;
        self
    }

    /// Index in the body of the next unread byte: after [`Parser::next_point`], the end
    /// of the line it read (past its newline), so a caller can cut the body by point.
    pub fn position(&self) -> usize {
        self.position.min(self.body.len())
    }

    /// The next point or error, skipping blank lines and comments; `None` at the end.
    pub fn next_point<'s>(
        &mut self,
        scratch: &'s mut Scratch<'a>,
    ) -> Option<Result<Point<'a, 's>, ParseError>> {
        let body = self.body;
        loop {
            if self.position >= body.len() {
                return None;
            }
            let line_start = self.position;
            scratch.tags.clear();
            scratch.fields.clear();
            let options = fast::FastOptions {
                precision: self.precision,
                accept_unsigned: self.accept_unsigned,
                accept_crlf: self.accept_crlf,
            };
            if let Some(line) =
                fast::parse_line(body, line_start, &mut self.structural, options, scratch)
            {
                self.position = line.line_end + 1;
                self.line_number += 1;
                return Some(Ok(Point {
                    measurement: line.measurement,
                    tags: &scratch.tags,
                    fields: &scratch.fields,
                    timestamp_ns: line.timestamp_ns.unwrap_or(self.default_time_ns),
                }));
            }
            // The general path: the exact line end, then the general scanner.
            let (line_end, newlines_inside) = scan::scan_line_end(body, line_start);
            self.position = line_end + 1;
            self.line_number += 1;
            let line_number = self.line_number;
            self.line_number += newlines_inside;
            let mut block = body.get(line_start..line_end).unwrap_or_default();
            if self.accept_crlf {
                if let Some(stripped) = block.strip_suffix(b"\r") {
                    block = stripped;
                }
            }
            let start = scan::skip_whitespace(block, 0);
            match block.get(start) {
                None | Some(b'#') => continue,
                Some(_) => {}
            }
            if let Some(stripped) = block.strip_suffix(b"\n") {
                block = stripped;
            }
            let line = block.get(start..).unwrap_or_default();
            scratch.tags.clear();
            scratch.fields.clear();
            return Some(match self.parse_line(line, scratch) {
                Ok((measurement, timestamp_ns)) => Ok(Point {
                    measurement,
                    tags: &scratch.tags,
                    fields: &scratch.fields,
                    timestamp_ns,
                }),
                Err(kind) => Err(ParseError {
                    line_number,
                    line_offset: line_start + start,
                    line: line.to_vec(),
                    message: kind.message(),
                    kind,
                }),
            });
        }
    }

    /// Parses one line (already stripped) into the scratch; returns the measurement and the
    /// timestamp.
    fn parse_line(
        &self,
        line: &'a [u8],
        scratch: &mut Scratch<'a>,
    ) -> Result<(&'a [u8], i64), ParseErrorKind> {
        let (measurement, key_end) = match scan::scan_measurement(line)? {
            scan::KeyEnd::Fields(end) => (line.get(..end).unwrap_or_default(), end),
            scan::KeyEnd::Tags(tags_start) => {
                let measurement = line.get(..tags_start - 1).unwrap_or_default();
                let end = scan::scan_tags(line, tags_start, &mut scratch.tags)?;
                scan::sort_tags(&mut scratch.tags)?;
                (measurement, end)
            }
        };
        if key_end > scan::SERIES_KEY_SIZE_MAX_BYTES {
            return Err(ParseErrorKind::KeyTooLong(key_end));
        }
        let fields_start = scan::skip_whitespace(line, key_end);
        let fields_end = scan::scan_fields(
            line,
            fields_start,
            self.accept_unsigned,
            &mut scratch.fields,
        )?;
        if scratch.fields.is_empty() {
            return Err(ParseErrorKind::MissingFields);
        }
        for field in &scratch.fields {
            let size = key_end + scan::FIELD_KEY_SEPARATOR_SIZE_BYTES + field.key.len();
            if size > scan::SERIES_KEY_SIZE_MAX_BYTES {
                return Err(ParseErrorKind::KeyTooLong(size));
            }
        }
        let timestamp = scan::scan_timestamp(line, fields_end, self.precision)?;
        Ok((measurement, timestamp.unwrap_or(self.default_time_ns)))
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
