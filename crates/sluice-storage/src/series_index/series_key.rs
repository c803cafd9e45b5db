//! Splitting a canonical series key `measurement(,tagkey=tagvalue)*` into its escaped parts.
//!
//! The key is in the escaped form [`sluice_line_protocol::key`] writes: a `,` or `=` that
//! separates parts is never preceded by an escaping backslash. The scan walks backslash pairs
//! (`\x` is one unit), so `\,` and `\=` are content. The parts stay escaped; callers unescape
//! them with [`unescape_into`] when they need the names InfluxQL shows.
//!
//! Accepted: a non-empty measurement, then zero or more tags, each with a non-empty key and an
//! `=` (the value may be empty). The index does not re-canonicalise: the caller's key is the
//! identity of the series.

use std::fmt;

use sluice_line_protocol::key::{unescape_into, EscapeKind};
use sluice_model::limits::SERIES_KEY_MAX_BYTES;

/// Why a series key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidKey {
    /// longer than `SERIES_KEY_MAX_BYTES`
    TooLong,
    /// empty measurement (or an empty key)
    EmptyMeasurement,
    /// a tag without `=`
    TagWithoutEquals,
    /// a tag with an empty key
    EmptyTagKey,
}

impl fmt::Display for InvalidKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            InvalidKey::TooLong => "series key too long",
            InvalidKey::EmptyMeasurement => "series key has an empty measurement",
            InvalidKey::TagWithoutEquals => "series key has a tag without '='",
            InvalidKey::EmptyTagKey => "series key has a tag with an empty key",
        })
    }
}

/// The index of the first `separator` in `bytes` that is not escaped, if any.
fn find_unescaped(bytes: &[u8], separator: u8) -> Option<usize> {
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'\\' {
            index += 2;
        } else if byte == separator {
            return Some(index);
        } else {
            index += 1;
        }
    }
    None
}

/// Splits `bytes` at unescaped commas.
struct CommaParts<'k> {
    rest: Option<&'k [u8]>,
}

impl<'k> Iterator for CommaParts<'k> {
    type Item = &'k [u8];

    fn next(&mut self) -> Option<&'k [u8]> {
        let rest = self.rest?;
        match find_unescaped(rest, b',') {
            Some(comma) => {
                self.rest = rest.get(comma + 1..);
                rest.get(..comma)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The escaped parts of a series key.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct KeyParts<'k> {
    /// escaped measurement
    pub(super) measurement: &'k [u8],
    /// escaped (tag key, tag value) pairs, in key order
    pub(super) tags: Vec<(&'k [u8], &'k [u8])>,
}

/// Splits and validates `key`.
pub(super) fn split_key(key: &[u8]) -> Result<KeyParts<'_>, InvalidKey> {
    if key.len() > SERIES_KEY_MAX_BYTES {
        return Err(InvalidKey::TooLong);
    }
    let mut parts = CommaParts { rest: Some(key) };
    let measurement = parts.next().unwrap_or_default();
    if measurement.is_empty() {
        return Err(InvalidKey::EmptyMeasurement);
    }
    let mut tags = Vec::new();
    for tag in parts {
        let equals = find_unescaped(tag, b'=').ok_or(InvalidKey::TagWithoutEquals)?;
        let (tag_key, value) = tag.split_at(equals);
        if tag_key.is_empty() {
            return Err(InvalidKey::EmptyTagKey);
        }
        tags.push((tag_key, value.get(1..).unwrap_or_default()));
    }
    Ok(KeyParts { measurement, tags })
}

/// Unescaped measurement of an escaped one, appended to `out`.
pub(super) fn unescape_measurement(escaped: &[u8], out: &mut Vec<u8>) {
    unescape_into(escaped, EscapeKind::Measurement, out);
}

/// Unescaped tag key or value of an escaped one, appended to `out`.
pub(super) fn unescape_tag(escaped: &[u8], out: &mut Vec<u8>) {
    unescape_into(escaped, EscapeKind::TagValue, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_unescaped_separators_only() {
        let parts = split_key(br"c\,p\ u,a\=b=x\,y,k=\=v,e=").unwrap();
        assert_eq!(parts.measurement, br"c\,p\ u");
        assert_eq!(
            parts.tags,
            vec![
                (&br"a\=b"[..], &br"x\,y"[..]),
                (&b"k"[..], &br"\=v"[..]),
                (&b"e"[..], &b""[..])
            ]
        );
    }

    #[test]
    fn refuses_malformed_keys() {
        assert_eq!(split_key(b""), Err(InvalidKey::EmptyMeasurement));
        assert_eq!(split_key(b",a=b"), Err(InvalidKey::EmptyMeasurement));
        assert_eq!(split_key(b"cpu,ab"), Err(InvalidKey::TagWithoutEquals));
        assert_eq!(split_key(b"cpu,"), Err(InvalidKey::TagWithoutEquals));
        assert_eq!(split_key(b"cpu,=b"), Err(InvalidKey::EmptyTagKey));
        assert_eq!(split_key(br"cpu,a\=b"), Err(InvalidKey::TagWithoutEquals));
        let long = vec![b'm'; SERIES_KEY_MAX_BYTES + 1];
        assert_eq!(split_key(&long), Err(InvalidKey::TooLong));
        // A trailing lone backslash is content, not a panic.
        assert_eq!(split_key(b"cpu\\").unwrap().measurement, b"cpu\\");
        assert!(split_key(b"cpu,a=b\\").is_ok());
    }

    #[test]
    fn unescapes_as_influxql_shows_names() {
        let mut out = Vec::new();
        unescape_measurement(br"c\,p\ u\=", &mut out);
        assert_eq!(out, b"c,p u=");
        out.clear();
        unescape_tag(br"a\=b\,c\ d\x", &mut out);
        assert_eq!(out, br"a=b,c d\x");
    }
}
