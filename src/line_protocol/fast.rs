//! The fast path: one forward pass over a line of the shape Telegraf and most clients send.
//!
//! Owns no behaviour of its own. It accepts a line only when the general scanner in
//! [`super::scan`] would accept it with the same result; anything unusual (an error of any
//! kind, a `"` or `\` outside a string value, an empty key, a number the quick number parser
//! declines, a timestamp out of range) makes it answer `None`, and the caller clears the
//! scratch and runs the general scanner, which then produces the point or the exact error.
//!
//! # Algorithm
//! Outside string values there are no escapes to honour (a `\` anywhere else sends the line
//! to the general scanner), so every `,`, space and `=` is structural. The pass jumps from one
//! to the next with [`find_any`] (16 bytes per step): the measurement up to the first `,` or
//! space; each tag `key=value` up to `,` (another tag) or a space (end of tags); each field
//! `key=value` up to `,` or a space, its value converted where it starts (a string value
//! runs to its closing quote, skipping backslash pairs); then the timestamp (one SWAR pass
//! for the usual ` <digits>`). Tags are sorted only if they are not sorted already.
//!
//! # Why it equals the general scanner on what it accepts
//! - Measurement and tags: the general scanner's "previous byte is a backslash" test never
//!   fires without backslashes, so it finds the same separators; the fast path rejects an
//!   empty key or value and an `=` in a value, exactly where the general one errs.
//! - Fields: the general loop sees `=`, `,`, space and, in string values, `"` and backslash
//!   pairs; its counts of `=` and `,` balance exactly when every segment is one `key=value`,
//!   which is what the fast path requires. A string value opens with `"` when that count
//!   allows quoting, ends at the first `"` not in a backslash pair, and must be followed by
//!   `,`, a space or the line end, so both take the same content. Numbers and booleans go
//!   through the same [`scan::scan_simple_number`] and [`scan::scan_boolean`].
//! - Line ends: for a line with `"` or `\` the caller offers the text up to the next newline
//!   and only when the line has no leading whitespace, is not a comment and a newline follows.
//!   On an accepted line the line splitter's own scan (pairs, quote toggling after the first
//!   space) sees the same quotes and pairs, is outside quotes at that newline and so ends the
//!   line there with no newline inside.
//! - Size checks and the timestamp use the same functions and limits.

use super::find::find_any;
use super::scan;
use super::{Field, FieldValue, Precision, Scratch, Tag};

/// Parses a line (already stripped of leading whitespace) into the scratch, which must be
/// empty; returns the measurement and the timestamp (`None` for "no timestamp"), or `None`
/// when the general scanner must decide. `"` and `\` are accepted only inside string field
/// values of the form `"..."` followed by `,`, a space or the line end.
#[inline(always)]
pub fn parse_line<'a>(
    line: &'a [u8],
    precision: Precision,
    scratch: &mut Scratch<'a>,
) -> Option<(&'a [u8], Option<i64>)> {
    // The search below starts after the first byte (which is never a separator), so check
    // that byte here.
    if matches!(line.first(), None | Some(b',') | Some(b'"') | Some(b'\\')) {
        return None;
    }
    let measurement_end = find_any(line, 1, [b',', b' ', b'"', b'\\'])?;
    let measurement = line.get(..measurement_end)?;
    let mut key_end = measurement_end;
    match line.get(measurement_end) {
        Some(b',') => {
            key_end = scan_tags(line, measurement_end + 1, &mut scratch.tags)?;
            scan::sort_tags(&mut scratch.tags).ok()?;
        }
        Some(b' ') => {}
        _ => return None,
    }
    if key_end > scan::SERIES_KEY_SIZE_MAX_BYTES {
        return None;
    }
    let fields_start = scan::skip_whitespace(line, key_end);
    let fields_end = scan_fields(line, fields_start, &mut scratch.fields)?;
    for field in &scratch.fields {
        let size = key_end + scan::FIELD_KEY_SEPARATOR_SIZE_BYTES + field.key.len();
        if size > scan::SERIES_KEY_SIZE_MAX_BYTES {
            return None;
        }
    }
    let after_fields = line.get(fields_end..).unwrap_or_default();
    let timestamp = match after_fields.split_first() {
        None => None,
        // The usual ` <digits>` to the line end, read in one SWAR pass; `scan_timestamp` would
        // skip the one space and take the same path.
        Some((b' ', digits)) if digits.first().is_some_and(u8::is_ascii_digit) => {
            match scan::parse_short_digits(digits).and_then(|value| i64::try_from(value).ok()) {
                Some(value) => {
                    let scaled = value.checked_mul(precision.nanos_per_unit())?;
                    if scaled > scan::TIME_MAX_NS {
                        return None;
                    }
                    Some(scaled)
                }
                None => scan::scan_timestamp(line, fields_end, precision).ok()?,
            }
        }
        Some(_) => scan::scan_timestamp(line, fields_end, precision).ok()?,
    };
    Some((measurement, timestamp))
}

/// Tags from `index` (just after a comma); returns the index of the space ending them.
#[inline(always)]
fn scan_tags<'a>(line: &'a [u8], mut index: usize, tags: &mut Vec<Tag<'a>>) -> Option<usize> {
    loop {
        let key_start = index;
        let key_end = find_any(line, key_start, [b'=', b',', b' ', b'"', b'\\'])?;
        if key_end == key_start || line.get(key_end) != Some(&b'=') {
            return None;
        }
        let value_start = key_end + 1;
        if matches!(
            line.get(value_start),
            None | Some(b',') | Some(b' ') | Some(b'"') | Some(b'\\')
        ) {
            return None;
        }
        // The value's first byte may be `=` (InfluxDB accepts `t==a`).
        let value_end = find_any(line, value_start + 1, [b'=', b',', b' ', b'"', b'\\'])?;
        tags.push(Tag {
            key: line.get(key_start..key_end)?,
            value: line.get(value_start..value_end)?,
        });
        match line.get(value_end) {
            Some(b',') => index = value_end + 1,
            Some(b' ') => return Some(value_end),
            _ => return None,
        }
    }
}

/// Fields from `index`; returns the index just past them (a space or the line end).
#[inline(always)]
fn scan_fields<'a>(line: &'a [u8], mut index: usize, fields: &mut Vec<Field<'a>>) -> Option<usize> {
    loop {
        let key_start = index;
        let equals = find_any(line, key_start, [b'=', b',', b' ', b'"', b'\\'])?;
        if equals == key_start || line.get(equals) != Some(&b'=') {
            return None;
        }
        let value_start = equals + 1;
        let (value_end, value) = match line.get(value_start)? {
            b'0'..=b'9' | b'-' | b'.' => scan::scan_simple_number(line, value_start)?,
            b't' | b'T' | b'f' | b'F' => {
                let (end, value) = scan::scan_boolean(line, value_start).ok()?;
                (end, FieldValue::Boolean(value))
            }
            b'"' => scan_string(line, value_start)?,
            _ => return None,
        };
        fields.push(Field {
            key: line.get(key_start..equals)?,
            value,
        });
        match line.get(value_end) {
            Some(b',') => index = value_end + 1,
            _ => return Some(value_end),
        }
    }
}

/// A string value whose opening quote is at `quote`: up to the next `"` not taken by a
/// backslash pair (whose second byte must be in the line), which must be followed by `,`, a
/// space or the line end. Returns the index after the closing quote and the escaped content.
#[inline(always)]
fn scan_string(line: &[u8], quote: usize) -> Option<(usize, FieldValue<'_>)> {
    let mut index = quote + 1;
    loop {
        let found = find_any(line, index, [b'"', b'\\'])?;
        if line.get(found) == Some(&b'"') {
            let end = found + 1;
            if !matches!(line.get(end), None | Some(b',') | Some(b' ')) {
                return None;
            }
            return Some((end, FieldValue::String(line.get(quote + 1..found)?)));
        }
        if found + 1 >= line.len() {
            return None;
        }
        index = found + 2;
    }
}
