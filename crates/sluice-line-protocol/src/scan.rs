//! Scanning one body into lines, and one line into a point.
//!
//! Owns the byte-level grammar; knows nothing about HTTP or storage. Every function takes the
//! line (or body) and an index and returns the index where it stopped, so a slice is never
//! copied. Errors are [`super::ParseErrorKind`] values; the caller attaches the line and its
//! number.
//!
//! Escapes follow InfluxDB 1.6.7 exactly, which uses two different rules:
//! - measurement, tag keys and tag values: a byte is escaped when the byte *before* it is a
//!   backslash (so `a\\ b` has an escaped space);
//! - line splitting and the field section: a backslash skips itself and the next byte (pairs).

use super::find::find_any;
use super::number;
use super::ParseErrorKind as Kind;
use super::{Field, FieldValue, Precision, Tag};

/// InfluxDB's limit on the series key (measurement and tag set, escaped), in bytes.
pub const SERIES_KEY_SIZE_MAX_BYTES: usize = 65_535;
/// Bytes InfluxDB adds between the series key and a field key (`#!~#`) when it checks
/// [`SERIES_KEY_SIZE_MAX_BYTES`] for each field.
pub const FIELD_KEY_SEPARATOR_SIZE_BYTES: usize = 4;
/// Smallest timestamp InfluxDB accepts, in nanoseconds (`i64::MIN + 2`).
pub const TIME_MIN_NS: i64 = i64::MIN + 2;
/// Largest timestamp InfluxDB accepts, in nanoseconds (`i64::MAX - 1`).
pub const TIME_MAX_NS: i64 = i64::MAX - 1;

/// Bytes InfluxDB skips before a line and before the field and timestamp sections.
pub fn is_skipped_whitespace(byte: u8) -> bool {
    byte == b' ' || byte == b'\t' || byte == 0
}

/// Index of the first byte at or after `index` that is not skipped whitespace.
pub fn skip_whitespace(buf: &[u8], mut index: usize) -> usize {
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
pub fn scan_line_end(body: &[u8], start: usize) -> (usize, usize) {
    let rest = body.get(start..).unwrap_or_default();
    // Fast path: if the first `\n`, `"` or `\\` is a newline (or there is none), the line ends
    // there; quotes and backslashes need the slow scan.
    match memchr::memchr3(b'\n', b'"', b'\\', rest) {
        None => (body.len(), 0),
        Some(offset) if rest.get(offset) == Some(&b'\n') => (start + offset, 0),
        Some(_) => scan_line_end_slow(body, start),
    }
}

/// Length of the longest prefix of `body` made of whole lines (as [`scan_line_end`] delimits
/// them) that parse exactly as they would inside a longer body, when `more_follows` says
/// more bytes come after `body` (the start of a body that arrives in pieces, such as an
/// inflating gzip stream); with `more_follows == false`, `body` is the rest of the body and
/// all of it is taken. The caller parses that prefix as one body, keeps the rest, and puts
/// it in front of the next bytes.
///
/// A line counts as complete only if its `\n` is followed by at least one more byte of
/// `body`: whether a backslash pairs with the next byte depends on two more bytes being left
/// in the body (InfluxDB's rule, kept by [`scan_line_end`]), so a line whose newline is the
/// last byte could end elsewhere once more bytes arrive. Line numbers carry over: the
/// prefix holds exactly as many `\n` bytes as it holds lines (the parser counts newlines
/// inside quoted values and escaped newlines as lines too).
pub fn complete_lines_end(body: &[u8], more_follows: bool) -> usize {
    if !more_follows {
        return body.len();
    }
    let mut complete_end = 0;
    while complete_end < body.len() {
        let (line_end, _) = scan_line_end(body, complete_end);
        if line_end + 1 >= body.len() {
            break;
        }
        complete_end = line_end + 1;
    }
    complete_end
}

fn scan_line_end_slow(body: &[u8], start: usize) -> (usize, usize) {
    let mut index = start;
    let mut quoted = false;
    let mut in_fields = false;
    let mut equals = 0usize;
    let mut commas = 0usize;
    let mut newlines = 0usize;
    // Bytes outside this set change no state: jump over them.
    while let Some(found) = find_any(body, index, [b'\\', b' ', b'=', b',', b'"', b'\n']) {
        index = found;
        let Some(&byte) = body.get(index) else { break };
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
    if index < body.len() && body.get(index) != Some(&b'\n') {
        // No special byte left: the line runs to the end of the body.
        index = body.len();
    }
    (index, newlines)
}

/// Where the key section ended.
pub enum KeyEnd {
    /// Tags follow at this index (just after the comma).
    Tags(usize),
    /// The field section starts at this index (a space).
    Fields(usize),
}

/// Finds the next byte at or after `index` in `set` whose previous byte is not a backslash.
fn find_unescaped3(line: &[u8], mut index: usize, set: [u8; 3]) -> Option<(usize, u8)> {
    loop {
        let found = find_any(line, index, set)?;
        let byte = *line.get(found)?;
        if found > 0 && line.get(found - 1) == Some(&b'\\') {
            index = found + 1;
            continue;
        }
        return Some((found, byte));
    }
}

/// Scans the measurement (escaped) at the start of `line`.
pub fn scan_measurement(line: &[u8]) -> Result<KeyEnd, Kind> {
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
pub fn scan_tags<'a>(
    line: &'a [u8],
    mut index: usize,
    tags: &mut Vec<Tag<'a>>,
) -> Result<usize, Kind> {
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

/// Byte-wise order of two keys, deciding on the first byte without a `memcmp` call when it
/// differs (the usual case for tag keys).
#[inline(always)]
fn compare_keys(left: &[u8], right: &[u8]) -> std::cmp::Ordering {
    match (left.first(), right.first()) {
        (Some(left_first), Some(right_first)) if left_first != right_first => {
            left_first.cmp(right_first)
        }
        _ => left.cmp(right),
    }
}

/// Sorts tags by escaped key (InfluxDB's order) and rejects duplicate keys.
pub fn sort_tags(tags: &mut [Tag<'_>]) -> Result<(), Kind> {
    let mut sorted = true;
    for pair in tags.windows(2) {
        if let [left, right] = pair {
            match compare_keys(left.key, right.key) {
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
pub fn scan_fields<'a>(
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
    loop {
        // Other bytes change no state: jump over them.
        let Some(found) = find_any(line, index, FIELD_SECTION_SPECIAL) else {
            index = line.len();
            break;
        };
        index = found;
        let Some(&byte) = line.get(index) else { break };
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

/// Bytes that matter in the field section; everything else is skipped.
const FIELD_SECTION_SPECIAL: [u8; 5] = [b'\\', b'"', b'=', b',', b' '];

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

/// One-pass fast path for the common shapes `-?digits[.digits]` and `-?digits i` (at most
/// [`number::U64_DIGITS_MAX`] digits); `None` sends the value to the full scanner (which
/// also produces every error).
///
/// Decimals with at most [`number::U64_DIGITS_MAX`] significant digits are converted
/// exactly here ([`number::decimal_to_f64`]); longer ones go to `str::parse::<f64>` on the
/// same text, which is what the full scanner would do with them (its syntax check passes for
/// this shape), without scanning them again.
#[inline(always)]
pub(super) fn scan_simple_number(
    line: &[u8],
    start: usize,
) -> Option<(usize, FieldValue<'static>)> {
    let value_text = line.get(start..)?;
    let (negative, unsigned_text) = match value_text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, value_text),
    };
    let sign_size = usize::from(negative);
    if let Some(short) = number::read_short_decimal(unsigned_text) {
        return finish_short_number(start + sign_size, negative, short, unsigned_text);
    }
    // Digits before and after an optional point; the mantissa wraps past 19 significant
    // digits, but then it is not used.
    let mut mantissa: u64 = 0;
    let integer_digits = number::read_digits(unsigned_text, &mut mantissa);
    let after_integer = unsigned_text.get(integer_digits..).unwrap_or_default();
    let (fraction_size, fraction_digits) = match after_integer.split_first() {
        Some((b'.', fraction)) => {
            let digits = number::read_digits(fraction, &mut mantissa);
            (1 + digits, digits)
        }
        Some((b'i', after)) => {
            if integer_digits == 0
                || integer_digits > number::U64_DIGITS_MAX
                || !matches!(after.first(), None | Some(b',') | Some(b' '))
            {
                return None;
            }
            // At most 19 digits: the mantissa did not wrap. i64::MIN's magnitude is allowed
            // when negative (it wraps to itself).
            let value = if negative {
                if mantissa > i64::MIN.unsigned_abs() {
                    return None;
                }
                0i64.wrapping_sub_unsigned(mantissa)
            } else {
                i64::try_from(mantissa).ok()?
            };
            let end = start + sign_size + integer_digits + 1;
            return Some((end, FieldValue::Integer(value)));
        }
        _ => (0, 0),
    };
    let length = integer_digits + fraction_size;
    if !matches!(unsigned_text.get(length), None | Some(b',') | Some(b' ')) {
        return None;
    }
    let digits = integer_digits + fraction_digits;
    if digits == 0 {
        return None;
    }
    let end = start + sign_size + length;
    let fits = digits <= number::U64_DIGITS_MAX
        || digits - number::leading_zero_digits(unsigned_text.get(..length)?)
            <= number::U64_DIGITS_MAX;
    let exact = if fits {
        number::decimal_to_f64(mantissa, fraction_digits)
    } else {
        None
    };
    let value = match exact {
        Some(magnitude) => {
            if negative {
                -magnitude
            } else {
                magnitude
            }
        }
        None => {
            let text = value_text.get(..sign_size + length)?;
            let value = std::str::from_utf8(text).ok()?.parse::<f64>().ok()?;
            if !value.is_finite() {
                return None;
            }
            value
        }
    };
    Some((end, FieldValue::Float(value)))
}

/// [`scan_simple_number`] for a number that [`number::read_short_decimal`] read whole (at
/// most seven digits: integers fit, and the float division is exact); `unsigned_start` is
/// the index of `unsigned_text` in the line.
#[inline(always)]
fn finish_short_number(
    unsigned_start: usize,
    negative: bool,
    short: number::ShortDecimal,
    unsigned_text: &[u8],
) -> Option<(usize, FieldValue<'static>)> {
    let end = unsigned_start + short.length;
    match short.next {
        b'i' => {
            if short.integer_digits == 0
                || short.fraction_digits != 0
                || short.length != short.integer_digits
                || !matches!(
                    unsigned_text.get(short.length + 1),
                    None | Some(b',') | Some(b' ')
                )
            {
                return None;
            }
            let magnitude = i64::try_from(short.mantissa).ok()?;
            let value = if negative { -magnitude } else { magnitude };
            Some((end + 1, FieldValue::Integer(value)))
        }
        b',' | b' ' => {
            if short.integer_digits + short.fraction_digits == 0 {
                return None;
            }
            let magnitude = number::decimal_to_f64(short.mantissa, short.fraction_digits)?;
            Some((
                end,
                FieldValue::Float(if negative { -magnitude } else { magnitude }),
            ))
        }
        _ => None,
    }
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
pub fn parse_i64(text: &[u8]) -> Option<i64> {
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
pub fn parse_u64(digits: &[u8]) -> Option<u64> {
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
pub(super) fn scan_boolean(line: &[u8], start: usize) -> Result<(usize, bool), Kind> {
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
pub fn scan_timestamp(
    line: &[u8],
    index: usize,
    precision: Precision,
) -> Result<Option<i64>, Kind> {
    let start = skip_whitespace(line, index);
    // Fast path: the rest of the line is 1 to 19 digits (every nanosecond timestamp since
    // 2001 has 19); one SWAR pass validates and converts them.
    if let Some(value) = line.get(start..).and_then(parse_short_digits) {
        if let Ok(value) = i64::try_from(value) {
            let scaled = value
                .checked_mul(precision.nanos_per_unit())
                .ok_or(Kind::TimeOutOfRange)?;
            if scaled > TIME_MAX_NS {
                return Err(Kind::TimeOutOfRange);
            }
            return Ok(Some(scaled));
        }
    }
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

/// Most decimal digits [`parse_short_digits`] takes: 19 digits always fit in a u64.
pub const SHORT_DIGITS_MAX: usize = number::U64_DIGITS_MAX;

/// Parses 1 to 19 ([`SHORT_DIGITS_MAX`]) ASCII digits (nothing else) into a u64; `None` for any
/// other text. Eight digits at a time ([`number::read_digits`]).
#[inline]
pub fn parse_short_digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > SHORT_DIGITS_MAX {
        return None;
    }
    let mut value: u64 = 0;
    (number::read_digits(text, &mut value) == text.len()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::parse_short_digits;

    #[test]
    fn short_digits_match_a_plain_parse() {
        let digits = b"9081726354019283746556473829101";
        for length in 0..digits.len() {
            for stop in 0..=length {
                for stopper in [b'.', b' ', b'/', b':', b'i', 0xFF, 0x00, 0xFA] {
                    let mut text = digits[..length].to_vec();
                    if stop < length {
                        text[stop] = stopper;
                    }
                    let all_digits = text.iter().all(u8::is_ascii_digit);
                    let expected = std::str::from_utf8(&text)
                        .ok()
                        .and_then(|text| text.parse::<u64>().ok())
                        .filter(|_| all_digits && text.len() <= 19);
                    assert_eq!(parse_short_digits(&text), expected, "{text:?}");
                }
            }
        }
    }
}
