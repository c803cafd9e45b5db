//! Formatting points as line protocol, the way `influx_inspect export` prints them.
//!
//! Owns the text form of values: floats as Go's `strconv.FormatFloat(v, 'g', -1, 64)` (the
//! shortest digits that round-trip; exponent form such as `1e+06` or `1.5e-05` when the
//! decimal exponent is below -4 or at least 6), integers with `i`, unsigned with `u`, booleans
//! as `true`/`false`, strings quoted with `\` and `"` escaped. Nothing here allocates beyond
//! growing the caller's `out`. Every line this module prints parses back to the same point.

use super::key::{escape_into, EscapeKind};

/// A value to format. String contents are **raw** (unescaped) bytes, as decoded from storage;
/// to format a parsed [`super::FieldValue::String`], unescape it first with
/// [`super::unescape_into`] and [`EscapeKind::StringFieldValue`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FormatValue<'a> {
    /// float
    Float(f64),
    /// signed integer
    Integer(i64),
    /// unsigned integer
    Unsigned(u64),
    /// boolean
    Boolean(bool),
    /// raw (unescaped) string contents
    String(&'a [u8]),
}

/// A field to format: raw (unescaped) key and its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FormatField<'a> {
    /// raw (unescaped) field key
    pub key: &'a [u8],
    /// value
    pub value: FormatValue<'a>,
}

/// Appends `series_key field=value[,field=value...] timestamp\n` to `out`. `series_key` is
/// already canonical (as [`super::append_series_key`] builds it); field keys are escaped here.
pub fn append_line(
    series_key: &[u8],
    fields: &[FormatField<'_>],
    timestamp_ns: i64,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(series_key);
    out.push(b' ');
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        escape_into(field.key, EscapeKind::FieldKey, out);
        out.push(b'=');
        append_value(field.value, out);
    }
    out.push(b' ');
    append_i64(timestamp_ns, out);
    out.push(b'\n');
}

/// Appends one value in line protocol form.
pub fn append_value(value: FormatValue<'_>, out: &mut Vec<u8>) {
    match value {
        FormatValue::Float(value) => append_float(value, out),
        FormatValue::Integer(value) => {
            append_i64(value, out);
            out.push(b'i');
        }
        FormatValue::Unsigned(value) => {
            append_u64(value, out);
            out.push(b'u');
        }
        FormatValue::Boolean(true) => out.extend_from_slice(b"true"),
        FormatValue::Boolean(false) => out.extend_from_slice(b"false"),
        FormatValue::String(raw) => {
            out.push(b'"');
            escape_into(raw, EscapeKind::StringFieldValue, out);
            out.push(b'"');
        }
    }
}

/// Room for any u64 in decimal.
const U64_DIGITS_MAX: usize = 20;

/// Appends `value` in decimal.
pub fn append_u64(mut value: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; U64_DIGITS_MAX];
    let mut start = U64_DIGITS_MAX;
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

/// Appends `value` in decimal.
pub fn append_i64(value: i64, out: &mut Vec<u8>) {
    if value < 0 {
        out.push(b'-');
    }
    append_u64(value.unsigned_abs(), out);
}

/// Go's `'g'` format with shortest precision switches to exponent form from this decimal
/// exponent up.
const EXPONENT_FORM_FROM: i32 = 6;
/// ... and below this one.
const EXPONENT_FORM_BELOW: i32 = -4;
/// Room for Rust's `{:e}` of any f64 (17 digits, point, sign, `e-324`).
const FLOAT_TEXT_MAX_BYTES: usize = 32;

/// Appends `value` as Go's `strconv.FormatFloat(value, 'g', -1, 64)` prints it: shortest
/// round-trip digits; `1e+06`, `1.5e-05`, `123456`, `0.0001`, `-0`, `NaN`, `+Inf`.
pub fn append_float(value: f64, out: &mut Vec<u8>) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    if value.is_sign_negative() {
        out.push(b'-');
    }
    if value == 0.0 {
        out.push(b'0');
        return;
    }
    // Rust's `{:e}` prints the shortest round-trip digits as `d[.ddd]e[-]x`.
    let mut text = [0u8; FLOAT_TEXT_MAX_BYTES];
    let length = {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        if write!(cursor, "{:e}", value.abs()).is_err() {
            panic!("BUG: a float's {{:e}} form is longer than {FLOAT_TEXT_MAX_BYTES} bytes");
        }
        cursor.position() as usize
    };
    let text = text.get(..length).unwrap_or_default();
    let exponent_at = memchr::memchr(b'e', text).unwrap_or(text.len());
    let mantissa = text.get(..exponent_at).unwrap_or_default();
    let exponent: i32 = std::str::from_utf8(text.get(exponent_at + 1..).unwrap_or_default())
        .ok()
        .and_then(|exponent| exponent.parse().ok())
        .unwrap_or(0);
    // significant digits without the point
    let mut digits = [0u8; FLOAT_TEXT_MAX_BYTES];
    let mut digit_count = 0usize;
    for &byte in mantissa.iter().filter(|byte| byte.is_ascii_digit()) {
        if let Some(slot) = digits.get_mut(digit_count) {
            *slot = byte;
            digit_count += 1;
        }
    }
    let digits = digits.get(..digit_count).unwrap_or_default();
    if !(EXPONENT_FORM_BELOW..EXPONENT_FORM_FROM).contains(&exponent) {
        append_exponent_form(digits, exponent, out);
    } else {
        append_plain_form(digits, exponent, out);
    }
}

fn append_exponent_form(digits: &[u8], exponent: i32, out: &mut Vec<u8>) {
    if let Some((first, rest)) = digits.split_first() {
        out.push(*first);
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest);
        }
    }
    out.push(b'e');
    out.push(if exponent < 0 { b'-' } else { b'+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push(b'0');
    }
    append_u64(u64::from(magnitude), out);
}

fn append_plain_form(digits: &[u8], exponent: i32, out: &mut Vec<u8>) {
    // digits before the point: exponent + 1 (may be <= 0)
    let integer_digits = exponent + 1;
    if integer_digits <= 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..integer_digits.unsigned_abs() {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
        return;
    }
    let integer_digits = integer_digits.unsigned_abs() as usize;
    if digits.len() <= integer_digits {
        out.extend_from_slice(digits);
        for _ in digits.len()..integer_digits {
            out.push(b'0');
        }
        return;
    }
    out.extend_from_slice(digits.get(..integer_digits).unwrap_or_default());
    out.push(b'.');
    out.extend_from_slice(digits.get(integer_digits..).unwrap_or_default());
}
