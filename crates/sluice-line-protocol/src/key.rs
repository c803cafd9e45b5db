//! Escaping of line protocol tokens, and the canonical series key.
//!
//! Owns which bytes each token kind escapes, as InfluxDB 1.6.7 does it:
//!
//! | kind | `escape_into` prefixes with `\` | `unescape_into` turns into the byte |
//! |---|---|---|
//! | measurement | `,` space | `\,` `\ ` `\=` `\"` |
//! | tag key, tag value | `,` `=` space | `\,` `\=` `\ ` |
//! | field key | `,` `=` space `"` | `\,` `\=` `\ ` `\"` |
//! | string field value | `\` `"` | `\\` `\"` |
//!
//! Any other backslash is an ordinary byte and is kept (`c\pu` is the measurement `c\pu`).
//! Unescaping is one left-to-right pass over backslash pairs.
//!
//! The canonical series key is `measurement(,tagkey=tagvalue)*` with every part unescaped and
//! escaped again, tags in the order [`super::Scratch::tags`] gives (sorted by escaped key, which
//! is InfluxDB's order). InfluxDB stores `cpu,t==a` as `cpu,t=\=a` and `c\=pu` as `c=pu`.
//!
//! A raw measurement with a backslash right before `=` or `"` does not survive escaping (its
//! escape set is smaller than its unescape set); InfluxDB has the same gap. A raw field key with
//! a backslash right before `,`, `=` or a space cannot be written (the field section is scanned
//! in backslash pairs). Names ending in a backslash, names containing `\n`, and measurements
//! starting with `#` or
//! with whitespace cannot be written in line protocol at all; escaping does not change that.

use super::Tag;

/// Which token a byte string is, for escaping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscapeKind {
    /// measurement name
    Measurement,
    /// tag key
    TagKey,
    /// tag value
    TagValue,
    /// field key
    FieldKey,
    /// contents of a string field value (between the quotes)
    StringFieldValue,
}

impl EscapeKind {
    /// Whether `escape_into` prefixes `byte` with a backslash.
    pub fn escapes(self, byte: u8) -> bool {
        match self {
            EscapeKind::Measurement => matches!(byte, b',' | b' '),
            EscapeKind::TagKey | EscapeKind::TagValue => matches!(byte, b',' | b'=' | b' '),
            EscapeKind::FieldKey => matches!(byte, b',' | b'=' | b' ' | b'"'),
            EscapeKind::StringFieldValue => matches!(byte, b'\\' | b'"'),
        }
    }

    /// Whether `unescape_into` turns `\` + `byte` into `byte`.
    pub fn unescapes(self, byte: u8) -> bool {
        match self {
            EscapeKind::Measurement | EscapeKind::FieldKey => {
                matches!(byte, b',' | b'=' | b' ' | b'"')
            }
            EscapeKind::TagKey | EscapeKind::TagValue => matches!(byte, b',' | b'=' | b' '),
            EscapeKind::StringFieldValue => matches!(byte, b'\\' | b'"'),
        }
    }
}

/// Calls `emit` with each byte `escaped` stands for under `kind`'s rules.
fn for_each_unescaped(escaped: &[u8], kind: EscapeKind, mut emit: impl FnMut(u8)) {
    let mut index = 0;
    while let Some(&byte) = escaped.get(index) {
        if byte == b'\\' {
            if let Some(&next) = escaped.get(index + 1) {
                if kind.unescapes(next) {
                    emit(next);
                    index += 2;
                    continue;
                }
            }
        }
        emit(byte);
        index += 1;
    }
}

/// Appends `escaped` with `kind`'s escapes removed to `out`.
pub fn unescape_into(escaped: &[u8], kind: EscapeKind, out: &mut Vec<u8>) {
    if memchr::memchr(b'\\', escaped).is_none() {
        out.extend_from_slice(escaped);
        return;
    }
    for_each_unescaped(escaped, kind, |byte| out.push(byte));
}

/// Appends `raw` with `kind`'s escapes added to `out`.
pub fn escape_into(raw: &[u8], kind: EscapeKind, out: &mut Vec<u8>) {
    let mut copied = 0;
    for (index, &byte) in raw.iter().enumerate() {
        if kind.escapes(byte) {
            out.extend_from_slice(raw.get(copied..index).unwrap_or_default());
            out.push(b'\\');
            out.push(byte);
            copied = index + 1;
        }
    }
    out.extend_from_slice(raw.get(copied..).unwrap_or_default());
}

/// Appends the canonical form (unescaped, then escaped) of `escaped` to `out`, in one pass.
pub fn canonicalize_into(escaped: &[u8], kind: EscapeKind, out: &mut Vec<u8>) {
    let needs_work = match kind {
        // Without a backslash only a tag value can differ: an `=` is legal there unescaped
        // (as its first byte) and canonical form escapes it.
        EscapeKind::TagValue => memchr::memchr2(b'\\', b'=', escaped).is_some(),
        _ => memchr::memchr(b'\\', escaped).is_some(),
    };
    if !needs_work {
        out.extend_from_slice(escaped);
        return;
    }
    for_each_unescaped(escaped, kind, |byte| {
        if kind.escapes(byte) {
            out.push(b'\\');
        }
        out.push(byte);
    });
}

/// Appends the canonical series key of a parsed point to `out`: `measurement,k=v,...`,
/// each part re-escaped canonically; `tags` must already be in InfluxDB's order (as the
/// parser returns them).
pub fn append_series_key(measurement: &[u8], tags: &[Tag<'_>], out: &mut Vec<u8>) {
    canonicalize_into(measurement, EscapeKind::Measurement, out);
    for tag in tags {
        out.push(b',');
        canonicalize_into(tag.key, EscapeKind::TagKey, out);
        out.push(b'=');
        canonicalize_into(tag.value, EscapeKind::TagValue, out);
    }
}

/// Whether the raw (unescaped) name `raw` of `kind` can be written in line protocol so that
/// parsing gives it back (see the module doc for the gaps, which InfluxDB shares). String field
/// values are always expressible.
pub fn is_expressible(raw: &[u8], kind: EscapeKind) -> bool {
    if kind == EscapeKind::StringFieldValue {
        return true;
    }
    if raw.is_empty() || memchr::memchr(b'\n', raw).is_some() {
        return false;
    }
    let first = raw.first().copied().unwrap_or_default();
    let starts_badly = first == b'\t' || first == 0;
    match kind {
        EscapeKind::Measurement => {
            !(starts_badly
                || first == b'#'
                || raw.last() == Some(&b'\\')
                || raw
                    .windows(2)
                    .any(|pair| matches!(pair, [b'\\', b'=' | b'"' | b',' | b' '])))
        }
        // A backslash before a byte that escaping prefixes reads back as an escaped
        // backslash followed by an unescaped separator.
        EscapeKind::TagKey | EscapeKind::TagValue => {
            raw.last() != Some(&b'\\')
                && !raw
                    .windows(2)
                    .any(|pair| matches!(pair, [b'\\', b',' | b'=' | b' ']))
        }
        _ => {
            // Field keys are scanned in backslash pairs: an odd run of backslashes must not
            // stand before a byte that escaping prefixes, nor end the key.
            let mut odd_run = false;
            for &byte in raw {
                if byte == b'\\' {
                    odd_run = !odd_run;
                    continue;
                }
                if odd_run && matches!(byte, b',' | b'=' | b' ') {
                    return false;
                }
                odd_run = false;
            }
            !starts_badly && !odd_run
        }
    }
}

#[cfg(test)]
mod expressible_tests {
    use super::*;

    #[test]
    fn a_backslash_before_an_escaped_byte_is_not_expressible() {
        assert!(!is_expressible(b"a\\ b", EscapeKind::TagValue));
        assert!(!is_expressible(b"a\\,b", EscapeKind::TagKey));
        assert!(!is_expressible(b"a\\ b", EscapeKind::Measurement));
        assert!(is_expressible(b"a\\b", EscapeKind::TagValue));
        assert!(is_expressible(b"a b,c=d", EscapeKind::TagValue));
    }
}
