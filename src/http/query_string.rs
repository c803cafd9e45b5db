//! Query-string and form decoding (`application/x-www-form-urlencoded`) and path
//! percent-decoding, matching what InfluxDB 1.x's Go runtime does with `r.URL.Query()`.
//!
//! Owns: turning raw `a=1&b=%20x` text into ordered `(key, value)` pairs, and decoding
//! `%XX` escapes in a request path. Touches no I/O and no HTTP framing.
//!
//! Algorithm of [`parse_query_string`] (observed with influxd 1.6.7, whose Go runtime is
//! 1.17 or later):
//! 1. Split on `&` only. A segment that contains `;` is dropped whole (Go answers
//!    `q=SHOW+DATABASES;SHOW+DATABASES` with "missing required parameter \"q\"").
//! 2. Empty segments are skipped.
//! 3. Split each segment at its first `=`; no `=` means an empty value.
//! 4. Decode key and value: `+` is a space, `%XX` is a byte. A `%` not followed by two hex
//!    digits drops the whole pair (`q=SHOW%zz&q=SHOW+DATABASES` runs the second `q`).
//! 5. Decoded bytes that are not UTF-8 are replaced by U+FFFD.
//!
//! Pairs keep their order; [`query_param`] returns the first value for a key, like Go's
//! `url.Values.Get`. For `POST /query` Go's `r.FormValue` looks in the form body's pairs
//! before the URL's: the caller concatenates body pairs then URL pairs.

/// How a `+` is decoded: as a space in query strings and forms, literally in paths.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PlusMeans {
    Space,
    Plus,
}

/// A `%` escape that is not followed by two hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InvalidEscape {
    /// Byte offset of the offending `%` in the input.
    pub offset: usize,
}

/// Parses a raw query string (the text after `?`, or an urlencoded form body) into ordered
/// `(key, value)` pairs. Pairs whose key or value has an invalid escape, and segments that
/// contain `;`, are dropped (see the module doc).
pub fn parse_query_string(raw: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for segment in raw.split('&') {
        if segment.is_empty() || segment.contains(';') {
            continue;
        }
        let (raw_key, raw_value) = match segment.split_once('=') {
            Some((key, value)) => (key, value),
            None => (segment, ""),
        };
        let key = match unescape(raw_key.as_bytes(), PlusMeans::Space) {
            Ok(key) => key,
            Err(_) => continue,
        };
        let value = match unescape(raw_value.as_bytes(), PlusMeans::Space) {
            Ok(value) => value,
            Err(_) => continue,
        };
        pairs.push((key, value));
    }
    pairs
}

/// Returns the first value stored under `key`, like Go's `url.Values.Get` (which also
/// answers "" for a key that is present with an empty value).
pub fn query_param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(candidate, _)| candidate == key)
        .map(|(_, value)| value.as_str())
}

/// Decodes `%XX` escapes in a request path (`+` stays `+`). Bytes that do not form UTF-8
/// after decoding are replaced by U+FFFD.
pub fn percent_decode_path(raw: &str) -> Result<String, InvalidEscape> {
    unescape(raw.as_bytes(), PlusMeans::Plus)
}

fn unescape(raw: &[u8], plus: PlusMeans) -> Result<String, InvalidEscape> {
    if !raw
        .iter()
        .any(|&byte| byte == b'%' || (byte == b'+' && plus == PlusMeans::Space))
    {
        return Ok(String::from_utf8_lossy(raw).into_owned());
    }
    let mut decoded = Vec::with_capacity(raw.len());
    let mut index = 0;
    while let Some(&byte) = raw.get(index) {
        match byte {
            b'%' => {
                let high = raw.get(index + 1).copied().and_then(hex_value);
                let low = raw.get(index + 2).copied().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => decoded.push(high << 4 | low),
                    _ => return Err(InvalidEscape { offset: index }),
                }
                index += 3;
            }
            b'+' if plus == PlusMeans::Space => {
                decoded.push(b' ');
                index += 1;
            }
            _ => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    Ok(match String::from_utf8(decoded) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

/// The value of one hex digit, or `None` for any other byte.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        parse_query_string(raw)
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn decodes_plus_and_percent() {
        assert_eq!(
            pairs("db=my+db&q=SELECT%20*%20FROM%20%22m%22"),
            owned(&[("db", "my db"), ("q", "SELECT * FROM \"m\"")])
        );
    }

    #[test]
    fn keeps_order_and_duplicates_first_wins() {
        let list = pairs("q=a&q=b&p=");
        assert_eq!(list, owned(&[("q", "a"), ("q", "b"), ("p", "")]));
        assert_eq!(query_param(&list, "q"), Some("a"));
        assert_eq!(query_param(&list, "p"), Some(""));
        assert_eq!(query_param(&list, "missing"), None);
    }

    #[test]
    fn drops_invalid_escapes_and_semicolons() {
        assert_eq!(
            pairs("q=SHOW%zz&q=SHOW+DATABASES"),
            owned(&[("q", "SHOW DATABASES")])
        );
        assert_eq!(pairs("q=a%2&x=1"), owned(&[("x", "1")]));
        assert_eq!(pairs("q=a%"), owned(&[]));
        assert_eq!(pairs("k%zz=1&x=1"), owned(&[("x", "1")]));
        assert_eq!(pairs("q=SHOW+DATABASES;SHOW+DATABASES"), owned(&[]));
        assert_eq!(pairs("a=1;b=2&c=3"), owned(&[("c", "3")]));
    }

    #[test]
    fn empty_segments_and_missing_equals() {
        assert_eq!(pairs(""), owned(&[]));
        assert_eq!(
            pairs("&&a&=v&b=="),
            owned(&[("a", ""), ("", "v"), ("b", "=")])
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(pairs("a=%ff"), owned(&[("a", "\u{fffd}")]));
        assert_eq!(pairs("a=%C3%A9"), owned(&[("a", "é")]));
    }

    #[test]
    fn path_decoding_keeps_plus() {
        assert_eq!(percent_decode_path("/p%69ng+x"), Ok("/ping+x".to_string()));
        assert_eq!(
            percent_decode_path("/p%zzng"),
            Err(InvalidEscape { offset: 2 })
        );
        assert_eq!(percent_decode_path("/%4"), Err(InvalidEscape { offset: 1 }));
    }
}
