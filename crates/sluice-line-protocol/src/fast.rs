//! The fast path: one forward pass over a line of the shape Telegraf and most clients send,
//! walking the body's structural bytes (`structural`) instead of searching for each token.
//!
//! Owns no behaviour of its own. It accepts a line only when the general scanner in
//! [`super::scan`] would accept it with the same result; anything unusual (an error of any
//! kind, a `"` or `\` outside a string value, an empty key, leading whitespace, a comment, a
//! number the quick readers decline, an odd timestamp) makes it answer `None`, and the caller
//! clears the scratch and runs the line splitter and the general scanner, which then produce
//! the point or the exact error.
//!
//! # Algorithm
//! Outside string values there are no escapes to honour (a `\` anywhere else sends the line
//! to the general scanner), so every `,`, space, `=` and newline is structural. The cursor
//! gives the next structural byte at or after an index from a 64-bit mask per 64 bytes of
//! body (computed once; consecutive tokens and lines share it). The pass goes from one to the
//! next: the measurement up to the first `,` or space (an `=` there is a plain byte); each tag
//! `key=value` up to `,` (another tag) or a space (end of tags); each field `key=value`, its
//! value's extent given by the next structural byte so that numbers are read at a known
//! length (`number::fixed_digits`: whole words, no search for the end); a string value runs to
//! its closing quote, skipping backslash pairs; then ` <digits>` up to the newline, which is
//! the line's end. Tags are sorted only if they are not sorted already.
//!
//! # Why it equals the general path on what it accepts
//! - Line end: every step moves to the next structural byte, except backslash pairs in
//!   strings (whose second byte is checked not to be a newline) and whitespace skipping (no
//!   newline), so the newline the pass ends on is the first one after the line start, where a
//!   clean line (no `"` or `\`) ends. A line with `"` or `\` is accepted only if that newline
//!   exists (not at the body's end) and no string value holds a newline; then the line
//!   splitter's own scan (pairs, quote toggling after the first space) sees the same quotes
//!   and pairs, is outside quotes at that newline and ends the line there. With CRLF accepted,
//!   a `\r` before that newline is stripped from the timestamp, the only token it may end.
//! - Measurement and tags: the general scanner's "previous byte is a backslash" test never
//!   fires without backslashes, so it finds the same separators; the fast path rejects an
//!   empty key or value and an `=` in a value, exactly where the general one errs.
//! - Fields: the general loop sees `=`, `,`, space and, in string values, `"` and backslash
//!   pairs; its counts of `=` and `,` balance exactly when every segment is one `key=value`,
//!   which is what the fast path requires. A string value opens with `"` when that count
//!   allows quoting, ends at the first `"` not in a backslash pair, and must be followed by
//!   `,`, a space or the line end, so both take the same content. A number is the text up to
//!   the next structural byte: `-?digits[.digits]` (at most 19 digits) is converted exactly
//!   (`number::decimal_to_f64`), `-?digits` + `i` (or `u` when unsigned integers are
//!   accepted) within range is the integer, and anything else goes through
//!   [`scan::scan_simple_number`] (the previous fast reader) on the same text.
//! - Size checks and the timestamp limits use the same functions and constants.

use super::number;
use super::scan;
use super::structural::StructuralCursor;
use super::{Field, FieldValue, Precision, Scratch, Tag};

/// What the fast path found on one line.
pub struct FastLine<'a> {
    /// the escaped measurement
    pub measurement: &'a [u8],
    /// the scaled timestamp, `None` when the line has none
    pub timestamp_ns: Option<i64>,
    /// index of the newline ending the line, or the body's length
    pub line_end: usize,
}

/// The settings of a parse that the fast path needs.
#[derive(Clone, Copy)]
pub struct FastOptions {
    /// timestamp unit
    pub precision: Precision,
    /// take `u`-suffixed integers
    pub accept_unsigned: bool,
    /// a `\r` before the newline is not part of the line
    pub accept_crlf: bool,
}

/// Parses the line starting at `start` in `body` into the scratch, which must be empty; `None`
/// when the general path must decide.
#[inline(always)]
pub fn parse_line<'a>(
    body: &'a [u8],
    start: usize,
    cursor: &mut StructuralCursor,
    options: FastOptions,
    scratch: &mut Scratch<'a>,
) -> Option<FastLine<'a>> {
    // The measurement search starts after the first byte (never a separator), so check that
    // byte here; leading whitespace, blank lines and comments go to the general path.
    let first = *body.get(start)?;
    if matches!(
        first,
        b',' | b'"' | b'\\' | b' ' | b'\t' | 0 | b'#' | b'\n' | b'\r'
    ) {
        return None;
    }
    let mut measurement_end = cursor.next(body, start + 1);
    while body.get(measurement_end) == Some(&b'=') {
        measurement_end = cursor.next(body, measurement_end + 1);
    }
    let measurement = body.get(start..measurement_end)?;
    let key_end = match body.get(measurement_end) {
        Some(b',') => {
            let end = scan_tags(body, measurement_end + 1, cursor, &mut scratch.tags)?;
            scan::sort_tags(&mut scratch.tags).ok()?;
            end
        }
        Some(b' ') => measurement_end,
        _ => return None,
    };
    let key_size = key_end - start;
    if key_size > scan::SERIES_KEY_SIZE_MAX_BYTES {
        return None;
    }
    let fields_start = scan::skip_whitespace(body, key_end);
    let mut quoted = false;
    let fields_end = scan_fields(
        body,
        fields_start,
        cursor,
        options.accept_unsigned,
        &mut quoted,
        &mut scratch.fields,
    )?;
    for field in &scratch.fields {
        let size = key_size + scan::FIELD_KEY_SEPARATOR_SIZE_BYTES + field.key.len();
        if size > scan::SERIES_KEY_SIZE_MAX_BYTES {
            return None;
        }
    }
    let (timestamp_ns, line_end) = match body.get(fields_end) {
        None | Some(b'\n') => (None, fields_end),
        Some(b' ') => scan_timestamp(body, fields_end + 1, cursor, options)?,
        _ => return None,
    };
    // See the module doc: a line with a string value needs a newline after it.
    if quoted && line_end >= body.len() {
        return None;
    }
    Some(FastLine {
        measurement,
        timestamp_ns,
        line_end,
    })
}

/// Tags from `index` (just after a comma); returns the index of the space ending them.
#[inline(always)]
fn scan_tags<'a>(
    body: &'a [u8],
    mut index: usize,
    cursor: &mut StructuralCursor,
    tags: &mut Vec<Tag<'a>>,
) -> Option<usize> {
    loop {
        let key_start = index;
        let key_end = cursor.next(body, key_start);
        if key_end == key_start || body.get(key_end) != Some(&b'=') {
            return None;
        }
        let value_start = key_end + 1;
        if matches!(
            body.get(value_start),
            None | Some(b',' | b' ' | b'"' | b'\\' | b'\n')
        ) {
            return None;
        }
        // The value's first byte may be `=` (InfluxDB accepts `t==a`).
        let value_end = cursor.next(body, value_start + 1);
        tags.push(Tag {
            key: body.get(key_start..key_end)?,
            value: body.get(value_start..value_end)?,
        });
        match body.get(value_end) {
            Some(b',') => index = value_end + 1,
            Some(b' ') => return Some(value_end),
            _ => return None,
        }
    }
}

/// Fields from `index`; returns the index just past them (a space, a newline or the body's
/// end). Sets `quoted` when a string value was read.
#[inline(always)]
fn scan_fields<'a>(
    body: &'a [u8],
    mut index: usize,
    cursor: &mut StructuralCursor,
    accept_unsigned: bool,
    quoted: &mut bool,
    fields: &mut Vec<Field<'a>>,
) -> Option<usize> {
    loop {
        let key_start = index;
        let equals = cursor.next(body, key_start);
        if equals == key_start || body.get(equals) != Some(&b'=') {
            return None;
        }
        let value_start = equals + 1;
        let (value_end, value) = match body.get(value_start)? {
            b'0'..=b'9' | b'-' | b'.' => {
                let end = cursor.next(body, value_start);
                (end, number_value(body, value_start, end, accept_unsigned)?)
            }
            b't' | b'T' | b'f' | b'F' => {
                let end = cursor.next(body, value_start + 1);
                let value = boolean_value(body.get(value_start..end)?)?;
                (end, FieldValue::Boolean(value))
            }
            b'"' => {
                *quoted = true;
                scan_string(body, value_start, cursor)?
            }
            _ => return None,
        };
        fields.push(Field {
            key: body.get(key_start..equals)?,
            value,
        });
        match body.get(value_end) {
            Some(b',') => index = value_end + 1,
            None | Some(b' ' | b'\n') => return Some(value_end),
            _ => return None,
        }
    }
}

/// The number `body[start..end]` (no structural byte inside); `None` unless the general
/// scanner would take it with this value.
#[inline(always)]
fn number_value(
    body: &[u8],
    start: usize,
    end: usize,
    accept_unsigned: bool,
) -> Option<FieldValue<'static>> {
    if let Some(value) = quick_number(body, start, end, accept_unsigned) {
        return Some(value);
    }
    // Exponents, long mantissas and the rest: the previous reader, on the value alone.
    let (number_end, value) = scan::scan_simple_number(body.get(..end)?, start)?;
    (number_end == end).then_some(value)
}

/// `-?digits[.digits]` (1 to 19 digits), `-?digits i` and, if accepted, `digits u` (1 to 19
/// digits), read at their known length; `None` for anything else, including values out of
/// range.
#[inline(always)]
fn quick_number(
    body: &[u8],
    start: usize,
    end: usize,
    accept_unsigned: bool,
) -> Option<FieldValue<'static>> {
    let negative = body.get(start) == Some(&b'-');
    let digits_start = start + usize::from(negative);
    let length = end.checked_sub(digits_start)?;
    if length == 0 || length > number::U64_DIGITS_MAX + 1 {
        return None;
    }
    let last = *body.get(end - 1)?;
    if length < number::WORD_SIZE_BYTES {
        if let Some(value) = short_number(body, digits_start, length, negative, last) {
            return Some(value);
        }
    }
    if last == b'i' || last == b'u' {
        let digits = length - 1;
        if digits == 0 || digits > number::U64_DIGITS_MAX {
            return None;
        }
        let magnitude = number::fixed_digits(body, digits_start, digits)?;
        if last == b'u' {
            return (accept_unsigned && !negative).then_some(FieldValue::Unsigned(magnitude));
        }
        let value = if negative {
            if magnitude > i64::MIN.unsigned_abs() {
                return None;
            }
            0i64.wrapping_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()?
        };
        return Some(FieldValue::Integer(value));
    }
    let text = body.get(digits_start..end)?;
    let (integer_digits, fraction_digits) = match text.iter().position(|&byte| byte == b'.') {
        Some(point) => (point, length - point - 1),
        None => (length, 0),
    };
    let digits = integer_digits + fraction_digits;
    if digits == 0 || digits > number::U64_DIGITS_MAX {
        return None;
    }
    let integer = number::fixed_digits(body, digits_start, integer_digits)?;
    let fraction = number::fixed_digits(body, end - fraction_digits, fraction_digits)?;
    // At most 19 digits in all: no overflow.
    let mantissa = integer
        .wrapping_mul(number::power_of_ten(fraction_digits)?)
        .wrapping_add(fraction);
    let magnitude = number::decimal_to_f64(mantissa, fraction_digits)?;
    Some(FieldValue::Float(if negative {
        -magnitude
    } else {
        magnitude
    }))
}

/// [`quick_number`] for a value of fewer than eight bytes after its sign, read with one SWAR
/// step ([`number::read_short_decimal`], which needs the word to extend past the value):
/// unsigned values go to the general reader.
#[inline(always)]
fn short_number(
    body: &[u8],
    digits_start: usize,
    length: usize,
    negative: bool,
    last: u8,
) -> Option<FieldValue<'static>> {
    let short = number::read_short_decimal(body.get(digits_start..)?)?;
    let digits = short.integer_digits + short.fraction_digits;
    if short.length == length && digits != 0 {
        // At most seven digits: the division is exact (Clinger).
        let magnitude = number::decimal_to_f64(short.mantissa, short.fraction_digits)?;
        return Some(FieldValue::Float(if negative {
            -magnitude
        } else {
            magnitude
        }));
    }
    if last == b'i'
        && short.length + 1 == length
        && short.fraction_digits == 0
        && short.integer_digits == short.length
        && digits != 0
    {
        // At most seven digits: no overflow either way.
        let magnitude = i64::try_from(short.mantissa).ok()?;
        return Some(FieldValue::Integer(if negative {
            -magnitude
        } else {
            magnitude
        }));
    }
    None
}

/// A boolean value's whole text, as InfluxDB spells them.
#[inline(always)]
fn boolean_value(text: &[u8]) -> Option<bool> {
    match text {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => Some(true),
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => Some(false),
        _ => None,
    }
}

/// A string value whose opening quote is at `quote`: up to the next `"` not taken by a
/// backslash pair (whose second byte must exist and not be a newline), which must be followed
/// by `,`, a space or the line end. Returns the index after the closing quote and the escaped
/// content.
#[inline(always)]
fn scan_string<'a>(
    body: &'a [u8],
    quote: usize,
    cursor: &mut StructuralCursor,
) -> Option<(usize, FieldValue<'a>)> {
    let mut index = quote + 1;
    loop {
        let found = cursor.next(body, index);
        match body.get(found)? {
            b'"' => {
                let end = found + 1;
                if !matches!(body.get(end), None | Some(b',' | b' ' | b'\n')) {
                    return None;
                }
                return Some((end, FieldValue::String(body.get(quote + 1..found)?)));
            }
            b'\\' => {
                if matches!(body.get(found + 1), None | Some(b'\n')) {
                    return None;
                }
                index = found + 2;
            }
            b'\n' => return None,
            _ => index = found + 1,
        }
    }
}

/// The timestamp ` <digits>` whose digits start at `start`, up to the newline (a `\r` before
/// it stripped when CRLF is accepted) or the body's end; returns it scaled and the line's end.
#[inline(always)]
fn scan_timestamp(
    body: &[u8],
    start: usize,
    cursor: &mut StructuralCursor,
    options: FastOptions,
) -> Option<(Option<i64>, usize)> {
    if !body.get(start).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let line_end = cursor.next(body, start);
    if !matches!(body.get(line_end), None | Some(b'\n')) {
        return None;
    }
    let mut digits_end = line_end;
    // line_end > start: the first digit is not structural.
    if options.accept_crlf && body.get(line_end - 1) == Some(&b'\r') {
        digits_end -= 1;
    }
    let length = digits_end - start;
    if length > scan::SHORT_DIGITS_MAX {
        return None;
    }
    let value = i64::try_from(number::fixed_digits(body, start, length)?).ok()?;
    let scaled = value.checked_mul(options.precision.nanos_per_unit())?;
    if scaled > scan::TIME_MAX_NS {
        return None;
    }
    Some((Some(scaled), line_end))
}
