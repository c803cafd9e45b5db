//! The original, straightforward scanner, kept as the reference the fast one is checked against.
//!
//! Owns nothing used in production: the differential tests and the fuzz target parse every
//! input with both [`Parser`] here and [`super::Parser`] and require equal points and errors.
//! The algorithm is the one the module doc of [`super`] describes, scanning byte by byte
//! (`memchr3` for the measurement and tags, a table-driven loop for fields and line ends).
//! Do not optimise this file: its value is being obviously equal to the behaviour tested
//! against InfluxDB 1.6.7.
#![allow(missing_docs, dead_code)]

use super::ParseErrorKind as Kind;
use super::{Field, FieldValue, ParseError, Point, Precision, Scratch, Tag};

/// InfluxDB's limit on the series key (measurement and tag set, escaped), in bytes.
const SERIES_KEY_SIZE_MAX_BYTES: usize = 65_535;
/// Bytes InfluxDB adds between the series key and a field key (`#!~#`) when it checks
/// [`SERIES_KEY_SIZE_MAX_BYTES`] for each field.
const FIELD_KEY_SEPARATOR_SIZE_BYTES: usize = 4;
/// Smallest timestamp InfluxDB accepts, in nanoseconds (`i64::MIN + 2`).
const TIME_MIN_NS: i64 = i64::MIN + 2;
/// Largest timestamp InfluxDB accepts, in nanoseconds (`i64::MAX - 1`).
const TIME_MAX_NS: i64 = i64::MAX - 1;

/// Bytes InfluxDB skips before a line and before the field and timestamp sections.
fn is_skipped_whitespace(byte: u8) -> bool {
    byte == b' ' || byte == b'\t' || byte == 0
}

/// Index of the first byte at or after `index` that is not skipped whitespace.
fn skip_whitespace(buf: &[u8], mut index: usize) -> usize {
    while let Some(&byte) = buf.get(index) {
        if !is_skipped_whitespace(byte) {
            break;
        }
        index += 1;
    }
    index
}

/// Finds the end of the line starting at `start`: the index of the terminating `\n` or
/// `body.len()`. A `\n` inside a quoted field value, or right after a backslash, does not end
/// the line. Returns `(end, newlines_inside)`.
fn scan_line_end(body: &[u8], start: usize) -> (usize, usize) {
    let rest = body.get(start..).unwrap_or_default();
    // Fast path: if the first `\n`, `"` or `\` is a newline (or there is none), the line ends
    // there; quotes and backslashes need the slow scan.
    match memchr::memchr3(b'\n', b'"', b'\\', rest) {
        None => (body.len(), 0),
        Some(offset) if rest.get(offset) == Some(&b'\n') => (start + offset, 0),
        Some(_) => scan_line_end_slow(body, start),
    }
}

fn scan_line_end_slow(body: &[u8], start: usize) -> (usize, usize) {
    let mut index = start;
    let mut quoted = false;
    let mut in_fields = false;
    let mut equals = 0usize;
    let mut commas = 0usize;
    let mut newlines = 0usize;
    while let Some(&byte) = body.get(index) {
        if byte == b'\\' && index + 2 < body.len() {
            if body.get(index + 1) == Some(&b'\n') {
                newlines += 1;
            }
            index += 2;
            continue;
        }
        if byte == b' ' {
            in_fields = true;
        }
        if in_fields {
            if !quoted && byte == b'=' {
                equals += 1;
                index += 1;
                continue;
            }
            if !quoted && byte == b',' {
                commas += 1;
                index += 1;
                continue;
            }
            if byte == b'"' && equals > commas {
                quoted = !quoted;
                index += 1;
                continue;
            }
        }
        if byte == b'\n' {
            if !quoted {
                break;
            }
            newlines += 1;
        }
        index += 1;
    }
    (index, newlines)
}

/// Where the key section ended.
enum KeyEnd {
    /// Tags follow at this index (just after the comma).
    Tags(usize),
    /// The field section starts at this index (a space).
    Fields(usize),
}

/// Finds the next byte at or after `index` in `set` whose previous byte is not a backslash.
fn find_unescaped3(line: &[u8], mut index: usize, set: [u8; 3]) -> Option<(usize, u8)> {
    loop {
        let rest = line.get(index..)?;
        let offset = memchr::memchr3(set[0], set[1], set[2], rest)?;
        let found = index + offset;
        let byte = *line.get(found)?;
        if found > 0 && line.get(found - 1) == Some(&b'\\') {
            index = found + 1;
            continue;
        }
        return Some((found, byte));
    }
}

/// Scans the measurement (escaped) at the start of `line`.
fn scan_measurement(line: &[u8]) -> Result<KeyEnd, Kind> {
    match line.first() {
        None | Some(b',') => return Err(Kind::MissingMeasurement),
        Some(_) => {}
    }
    // The first byte is never a separator, escaped or not.
    match find_unescaped3(line, 1, [b',', b' ', b' ']) {
        None => Err(Kind::MissingFields),
        Some((index, b',')) => Ok(KeyEnd::Tags(index + 1)),
        Some((index, _)) => Ok(KeyEnd::Fields(index)),
    }
}

/// Scans the tag set starting at `index` (after the measurement's comma), pushing each tag.
/// Returns the index of the space that starts the field section.
fn scan_tags<'a>(line: &'a [u8], mut index: usize, tags: &mut Vec<Tag<'a>>) -> Result<usize, Kind> {
    loop {
        let key_start = index;
        match line.get(key_start) {
            None | Some(b' ') | Some(b',') | Some(b'=') => return Err(Kind::MissingTagKey),
            Some(_) => {}
        }
        let key_end = match find_unescaped3(line, key_start + 1, [b'=', b',', b' ']) {
            Some((found, b'=')) => found,
            _ => return Err(Kind::MissingTagValue),
        };
        let value_start = key_end + 1;
        match line.get(value_start) {
            None | Some(b',') | Some(b' ') => return Err(Kind::MissingTagValue),
            Some(_) => {}
        }
        let (value_end, separator) = find_unescaped3(line, value_start + 1, [b'=', b',', b' '])
            .ok_or(Kind::MissingFields)?;
        let key = line.get(key_start..key_end).unwrap_or_default();
        let value = line.get(value_start..value_end).unwrap_or_default();
        tags.push(Tag { key, value });
        match separator {
            b'=' => return Err(Kind::InvalidTagFormat),
            b',' => index = value_end + 1,
            _ => return Ok(value_end),
        }
    }
}

/// Sorts tags by escaped key (InfluxDB's order) and rejects duplicate keys.
fn sort_tags(tags: &mut [Tag<'_>]) -> Result<(), Kind> {
    let mut sorted = true;
    for pair in tags.windows(2) {
        if let [left, right] = pair {
            match left.key.cmp(right.key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(Kind::DuplicateTags),
                std::cmp::Ordering::Greater => sorted = false,
            }
        }
    }
    if sorted {
        return Ok(());
    }
    tags.sort_unstable_by(|left, right| left.key.cmp(right.key));
    for pair in tags.windows(2) {
        if let [left, right] = pair {
            if left.key == right.key {
                return Err(Kind::DuplicateTags);
            }
        }
    }
    Ok(())
}

/// Scans the field section starting at `start` (after skipping whitespace), pushing each field
/// in input order. Returns the index just past the section (a space or the line end).
fn scan_fields<'a>(
    line: &'a [u8],
    start: usize,
    accept_unsigned: bool,
    fields: &mut Vec<Field<'a>>,
) -> Result<usize, Kind> {
    let mut index = start;
    let mut quoted = false;
    let mut equals = 0usize;
    let mut commas = 0usize;
    let mut key_start = start;
    // (key, index of the opening quote) of a string value still being scanned
    let mut open_string: Option<(&'a [u8], usize)> = None;
    while let Some(&byte) = line.get(index) {
        if !is_field_section_special(byte) {
            index += 1;
            continue;
        }
        if byte == b'\\' && index + 1 < line.len() {
            index += 2;
            continue;
        }
        if byte == b'"' && equals > commas {
            quoted = !quoted;
            index += 1;
            continue;
        }
        if byte == b'=' && !quoted {
            equals += 1;
            check_field_key_present(line, index)?;
            let key = line.get(key_start..index).unwrap_or_default();
            let value_start = index + 1;
            let first = match line.get(value_start) {
                None | Some(b',') | Some(b' ') => return Err(Kind::MissingFieldValue),
                Some(&first) => first,
            };
            if matches!(first, b'0'..=b'9' | b'-' | b'.' | b'N' | b'n') {
                // InfluxDB sends `N`/`n` here too so that NaN is an "invalid number".
                let (end, value) = scan_number(line, value_start, accept_unsigned)?;
                fields.push(Field { key, value });
                index = end;
                continue;
            }
            if first != b'"' {
                let (end, value) = scan_boolean(line, value_start)?;
                fields.push(Field {
                    key,
                    value: FieldValue::Boolean(value),
                });
                index = end;
                continue;
            }
            open_string = Some((key, value_start));
        }
        if byte == b',' && !quoted {
            commas += 1;
            close_string(line, &mut open_string, index, fields);
            key_start = index + 1;
        }
        if byte == b' ' && !quoted {
            break;
        }
        index += 1;
    }
    if quoted {
        return Err(Kind::UnbalancedQuotes);
    }
    if equals == 0 || commas + 1 != equals {
        return Err(Kind::InvalidFieldFormat);
    }
    close_string(line, &mut open_string, index, fields);
    Ok(index)
}

/// Bytes that matter in the field section; everything else is skipped with one table lookup.
const FIELD_SECTION_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'\\' as usize] = true;
    table[b'"' as usize] = true;
    table[b'=' as usize] = true;
    table[b',' as usize] = true;
    table[b' ' as usize] = true;
    table
};

fn is_field_section_special(byte: u8) -> bool {
    FIELD_SECTION_SPECIAL[usize::from(byte)]
}

/// InfluxDB rejects `=` right after a space or comma (unless that byte is itself escaped).
fn check_field_key_present(line: &[u8], equals_index: usize) -> Result<(), Kind> {
    let before = equals_index
        .checked_sub(1)
        .and_then(|at| line.get(at).copied());
    let before_that = equals_index
        .checked_sub(2)
        .and_then(|at| line.get(at).copied());
    if matches!(before, Some(b' ') | Some(b',')) && before_that != Some(b'\\') {
        return Err(Kind::MissingFieldKey);
    }
    Ok(())
}

/// Pushes the pending string field: the value runs from the opening quote to `end`, and its
/// content is that minus its first and last byte (what InfluxDB stores, even for `"a"x`).
fn close_string<'a>(
    line: &'a [u8],
    open_string: &mut Option<(&'a [u8], usize)>,
    end: usize,
    fields: &mut Vec<Field<'a>>,
) {
    if let Some((key, value_start)) = open_string.take() {
        let content_end = end.saturating_sub(1).max(value_start + 1);
        let content = line.get(value_start + 1..content_end).unwrap_or_default();
        fields.push(Field {
            key,
            value: FieldValue::String(content),
        });
    }
}

/// Scans a number value starting at `start`; returns the end index (a `,`, a space or the
/// line end) and the value.
fn scan_number(
    line: &[u8],
    start: usize,
    accept_unsigned: bool,
) -> Result<(usize, FieldValue<'static>), Kind> {
    if let Some(found) = scan_simple_number(line, start) {
        return Ok(found);
    }
    let mut index = start;
    let negative = line.get(index) == Some(&b'-');
    if negative {
        index += 1;
        if index == line.len() {
            return Err(Kind::InvalidNumber);
        }
    }
    let mut decimal = false;
    let mut scientific = false;
    let mut suffix: Option<u8> = None;
    while let Some(&byte) = line.get(index) {
        if byte == b',' || byte == b' ' {
            break;
        }
        if suffix.is_some() {
            // Nothing may follow the `i` or `u` suffix.
            return Err(Kind::InvalidNumber);
        }
        if (byte == b'i' || byte == b'u') && index > start {
            suffix = Some(byte);
            index += 1;
            continue;
        }
        if byte == b'.' {
            if decimal {
                return Err(Kind::InvalidNumber);
            }
            decimal = true;
        }
        if index > start && (byte == b'e' || byte == b'E') {
            scientific = true;
            index += 1;
            continue;
        }
        let previous = index.checked_sub(1).and_then(|at| line.get(at).copied());
        if (byte == b'+' || byte == b'-') && matches!(previous, Some(b'e') | Some(b'E')) {
            index += 1;
            continue;
        }
        if !byte.is_ascii_digit() && byte != b'.' {
            // also `N`/`n` (NaN): not a digit
            return Err(Kind::InvalidNumber);
        }
        index += 1;
    }
    if suffix.is_some() && (decimal || scientific) {
        return Err(Kind::InvalidNumber);
    }
    let digit_count = index
        - start
        - usize::from(suffix == Some(b'i'))
        - usize::from(decimal)
        - usize::from(negative);
    if digit_count == 0 {
        return Err(Kind::InvalidNumber);
    }
    let text = line.get(start..index).unwrap_or_default();
    let value = match suffix {
        Some(b'i') => {
            let digits = text.get(..text.len() - 1).unwrap_or_default();
            FieldValue::Integer(parse_i64(digits).ok_or_else(|| integer_range_error(digits))?)
        }
        Some(_) => {
            if !accept_unsigned {
                return Err(Kind::InvalidNumber);
            }
            let digits = text.get(..text.len() - 1).unwrap_or_default();
            FieldValue::Unsigned(parse_u64(digits).ok_or_else(|| unsigned_error(digits))?)
        }
        None => FieldValue::Float(parse_float(text, scientific)?),
    };
    Ok((index, value))
}

/// One-pass fast path for the common shapes `-?digits[.digits]` and `-?digits i` with at most
/// [`EXACT_FLOAT_DIGITS_MAX`] digits; `None` sends the value to the full scanner (which also
/// produces every error).
fn scan_simple_number(line: &[u8], start: usize) -> Option<(usize, FieldValue<'static>)> {
    let mut index = start;
    let negative = line.get(index) == Some(&b'-');
    index += usize::from(negative);
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut fraction_digits = 0usize;
    let mut seen_point = false;
    loop {
        match line.get(index) {
            Some(&byte) if byte.is_ascii_digit() => {
                if digits == EXACT_FLOAT_DIGITS_MAX {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                digits += 1;
                fraction_digits += usize::from(seen_point);
            }
            Some(b'.') if !seen_point => seen_point = true,
            Some(b'i') if !seen_point && digits > 0 => {
                if !matches!(line.get(index + 1), None | Some(b',') | Some(b' ')) {
                    return None;
                }
                // Fewer than 16 digits: always fits.
                let magnitude = i64::try_from(mantissa).ok()?;
                let value = if negative { -magnitude } else { magnitude };
                return Some((index + 1, FieldValue::Integer(value)));
            }
            None | Some(b',') | Some(b' ') => break,
            Some(_) => return None,
        }
        index += 1;
    }
    if digits == 0 {
        return None;
    }
    let divisor = EXACT_POWERS_OF_TEN.get(fraction_digits)?;
    // Below 10^15 the mantissa converts exactly, and one division rounds correctly.
    let magnitude = mantissa as f64 / divisor;
    Some((
        index,
        FieldValue::Float(if negative { -magnitude } else { magnitude }),
    ))
}

fn integer_range_error(digits: &[u8]) -> Kind {
    let text = String::from_utf8_lossy(digits);
    Kind::IntegerOutOfRange(format!(
        "unable to parse integer {text}: strconv.ParseInt: parsing \"{text}\": value out of range"
    ))
}

fn unsigned_error(digits: &[u8]) -> Kind {
    let text = String::from_utf8_lossy(digits);
    let reason = if digits.first() == Some(&b'-') {
        "invalid syntax"
    } else {
        "value out of range"
    };
    Kind::IntegerOutOfRange(format!(
        "unable to parse unsigned {text}: strconv.ParseUint: parsing \"{text}\": {reason}"
    ))
}

/// Parses `-?[0-9]+` into an i64; `None` on overflow or bad syntax.
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively so i64::MIN parses.
    let mut value: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_sub(i64::from(byte - b'0'))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Parses `[0-9]+` into a u64; `None` on overflow or bad syntax.
fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    Some(value)
}

/// Parses a float whose syntax the scanner already checked (digits, one `.`, `e`/`E` with an
/// optional sign, a leading `-`). Out-of-range values are errors, as in Go's ParseFloat.
fn parse_float(text: &[u8], scientific: bool) -> Result<f64, Kind> {
    if !scientific {
        if let Some(value) = parse_simple_float(text) {
            return Ok(value);
        }
    }
    let parsed = std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse::<f64>().ok());
    match parsed {
        Some(value) if value.is_finite() => Ok(value),
        _ => Err(Kind::InvalidFloat),
    }
}

/// Mantissa digits that an f64 represents exactly (2^53 > 10^15).
const EXACT_FLOAT_DIGITS_MAX: usize = 15;
/// Powers of ten exactly representable as f64.
const EXACT_POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Exact fast path for short decimals like `12.5` or `-0.001`: an integer mantissa below 2^53
/// divided by an exact power of ten is correctly rounded. `None` means "use the slow path".
fn parse_simple_float(text: &[u8]) -> Option<f64> {
    let (negative, rest) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut fraction_digits = 0usize;
    let mut seen_point = false;
    for &byte in rest {
        if byte == b'.' {
            seen_point = true;
            continue;
        }
        mantissa = mantissa * 10 + u64::from(byte.wrapping_sub(b'0'));
        digits += 1;
        if seen_point {
            fraction_digits += 1;
        }
        if digits > EXACT_FLOAT_DIGITS_MAX {
            return None;
        }
    }
    let divisor = EXACT_POWERS_OF_TEN.get(fraction_digits)?;
    // u64 below 10^15 converts exactly.
    let magnitude = mantissa as f64 / divisor;
    Some(if negative { -magnitude } else { magnitude })
}

/// Scans a boolean value starting at `start` (not a digit, `-`, `.` or `"`).
fn scan_boolean(line: &[u8], start: usize) -> Result<(usize, bool), Kind> {
    let first = line.get(start).copied();
    if !matches!(first, Some(b't') | Some(b'T') | Some(b'f') | Some(b'F')) {
        return Err(Kind::InvalidBoolean);
    }
    let rest = line.get(start..).unwrap_or_default();
    let length = memchr::memchr2(b',', b' ', rest).unwrap_or(rest.len());
    let text = rest.get(..length).unwrap_or_default();
    let value = match text {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => true,
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => false,
        _ => return Err(Kind::InvalidBoolean),
    };
    Ok((start + length, value))
}

/// Scans the optional timestamp after the fields (`index` is the field section's end) and
/// returns it scaled to nanoseconds, or `None` when absent.
fn scan_timestamp(line: &[u8], index: usize, precision: Precision) -> Result<Option<i64>, Kind> {
    let start = skip_whitespace(line, index);
    let mut end = start;
    while let Some(&byte) = line.get(end) {
        if byte == b'\n' || byte == b' ' {
            break;
        }
        if !(byte.is_ascii_digit() || (end == start && byte == b'-')) {
            return Err(Kind::BadTimestamp);
        }
        end += 1;
    }
    if end == start {
        return Ok(None);
    }
    let text = line.get(start..end).unwrap_or_default();
    let value = match parse_i64(text) {
        Some(value) => value,
        None => return Err(timestamp_parse_error(text)),
    };
    let scaled = value
        .checked_mul(precision.nanos_per_unit())
        .ok_or(Kind::TimeOutOfRange)?;
    if !(TIME_MIN_NS..=TIME_MAX_NS).contains(&scaled) {
        return Err(Kind::TimeOutOfRange);
    }
    if line
        .get(end..)
        .unwrap_or_default()
        .iter()
        .any(|&byte| byte != b' ')
    {
        return Err(Kind::InvalidPoint);
    }
    Ok(Some(scaled))
}

fn timestamp_parse_error(text: &[u8]) -> Kind {
    let shown = String::from_utf8_lossy(text);
    let reason = if text == b"-" {
        "invalid syntax"
    } else {
        "value out of range"
    };
    Kind::TimestampUnparsable(format!("strconv.ParseInt: parsing \"{shown}\": {reason}"))
}

/// The reference parser: same API and results as [`super::Parser`], original algorithm.
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
            let (line_end, newlines_inside) = scan_line_end(body, line_start);
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
            let start = skip_whitespace(block, 0);
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
    ) -> Result<(&'a [u8], i64), Kind> {
        let (measurement, key_end) = match scan_measurement(line)? {
            KeyEnd::Fields(end) => (line.get(..end).unwrap_or_default(), end),
            KeyEnd::Tags(tags_start) => {
                let measurement = line.get(..tags_start - 1).unwrap_or_default();
                let end = scan_tags(line, tags_start, &mut scratch.tags)?;
                sort_tags(&mut scratch.tags)?;
                (measurement, end)
            }
        };
        if key_end > SERIES_KEY_SIZE_MAX_BYTES {
            return Err(Kind::KeyTooLong(key_end));
        }
        let fields_start = skip_whitespace(line, key_end);
        let fields_end = scan_fields(
            line,
            fields_start,
            self.accept_unsigned,
            &mut scratch.fields,
        )?;
        if scratch.fields.is_empty() {
            return Err(Kind::MissingFields);
        }
        for field in &scratch.fields {
            let size = key_end + FIELD_KEY_SEPARATOR_SIZE_BYTES + field.key.len();
            if size > SERIES_KEY_SIZE_MAX_BYTES {
                return Err(Kind::KeyTooLong(size));
            }
        }
        let timestamp = scan_timestamp(line, fields_end, self.precision)?;
        Ok((measurement, timestamp.unwrap_or(self.default_time_ns)))
    }
}

/// One parse result in owned form, floats by bits (so `-0.0` and `0.0` differ).
#[derive(Debug, PartialEq)]
enum Outcome {
    Point {
        measurement: Vec<u8>,
        tags: Vec<(Vec<u8>, Vec<u8>)>,
        fields: Vec<(Vec<u8>, OwnedValue)>,
        timestamp_ns: i64,
    },
    Error(ParseError),
}

#[derive(Debug, PartialEq)]
enum OwnedValue {
    Float(u64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    String(Vec<u8>),
}

fn outcome(result: Result<Point<'_, '_>, ParseError>) -> Outcome {
    match result {
        Ok(point) => Outcome::Point {
            measurement: point.measurement.to_vec(),
            tags: point
                .tags
                .iter()
                .map(|tag| (tag.key.to_vec(), tag.value.to_vec()))
                .collect(),
            fields: point
                .fields
                .iter()
                .map(|field| {
                    let value = match field.value {
                        FieldValue::Float(value) => OwnedValue::Float(value.to_bits()),
                        FieldValue::Integer(value) => OwnedValue::Integer(value),
                        FieldValue::Unsigned(value) => OwnedValue::Unsigned(value),
                        FieldValue::Boolean(value) => OwnedValue::Boolean(value),
                        FieldValue::String(value) => OwnedValue::String(value.to_vec()),
                    };
                    (field.key.to_vec(), value)
                })
                .collect(),
            timestamp_ns: point.timestamp_ns,
        },
        Err(error) => Outcome::Error(error),
    }
}

/// Default time the differential check parses with (not truncated by any unit).
const CHECK_DEFAULT_TIME_NS: i64 = 1_700_000_000_123_456_789;

/// Parses `body` with this reference parser and with [`super::Parser`], for every precision
/// and every combination of the `accept_unsigned` and `accept_crlf` options, and describes
/// the first difference (every field of every point, every error kind, message, line,
/// offset and line number are compared). `None` when they agree.
pub fn differences(body: &[u8]) -> Option<String> {
    for precision in Precision::ALL {
        for (accept_unsigned, accept_crlf) in [(false, false), (true, true), (true, false)] {
            let mut fast = super::Parser::new(body, precision, CHECK_DEFAULT_TIME_NS)
                .accept_unsigned(accept_unsigned)
                .accept_crlf(accept_crlf);
            let mut slow = Parser::new(body, precision, CHECK_DEFAULT_TIME_NS)
                .accept_unsigned(accept_unsigned)
                .accept_crlf(accept_crlf);
            let mut fast_scratch = Scratch::default();
            let mut slow_scratch = Scratch::default();
            for index in 0.. {
                let fast_result = fast.next_point(&mut fast_scratch).map(outcome);
                let slow_result = slow.next_point(&mut slow_scratch).map(outcome);
                if fast_result != slow_result {
                    return Some(format!(
                        "body {:?} ({precision:?}, unsigned {accept_unsigned}, crlf \
                         {accept_crlf}), result {index}:\n fast: {fast_result:?}\n \
                         reference: {slow_result:?}",
                        String::from_utf8_lossy(body)
                    ));
                }
                if fast_result.is_none() {
                    break;
                }
            }
        }
    }
    None
}
