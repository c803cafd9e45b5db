//! Go's JSON string encoding (`encoding/json`, as InfluxDB 1.6.7 writes every answer): one
//! place for the HTTP error bodies and the query encoders.
//!
//! Owns the escaping rules only: `<`, `>`, `&`, U+2028 and U+2029 escaped as `\uXXXX`,
//! control characters as Go writes them, invalid UTF-8 replaced by U+FFFD. No I/O; allocates
//! only by growing the caller's buffer.

/// Appends `bytes` as a JSON string the way Go's encoding/json does: `<`, `>`, `&`, U+2028
/// and U+2029 escaped as `\uXXXX`, invalid UTF-8 replaced by U+FFFD.
pub fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Runs of plain ASCII are copied whole; the text is nearly always all plain.
    let mut plain_start = 0;
    for (position, &byte) in bytes.iter().enumerate() {
        if !JSON_NEEDS_CARE[usize::from(byte)] {
            continue;
        }
        out.extend_from_slice(bytes.get(plain_start..position).unwrap_or_default());
        if !byte.is_ascii() {
            // From the first non-ASCII byte on, character by character (a char boundary:
            // everything before it is ASCII).
            push_json_text(out, bytes.get(position..).unwrap_or_default());
            out.push(b'"');
            return;
        }
        push_json_escaped(out, char::from(byte));
        plain_start = position + 1;
    }
    out.extend_from_slice(bytes.get(plain_start..).unwrap_or_default());
    out.push(b'"');
}

/// Bytes that are not copied as they are into a JSON string: the ones Go escapes, and every
/// non-ASCII byte (checked as UTF-8).
const JSON_NEEDS_CARE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte < 0x20
            || byte >= 0x80
            || byte == b'"' as usize
            || byte == b'\\' as usize
            || byte == b'<' as usize
            || byte == b'>' as usize
            || byte == b'&' as usize;
        byte += 1;
    }
    table
};

/// `bytes` as JSON string content, character by character; invalid UTF-8 becomes U+FFFD.
fn push_json_text(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for character in chunk.valid().chars() {
            push_json_escaped(out, character);
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
}

/// One character as Go's encoder writes it inside a string.
fn push_json_escaped(out: &mut Vec<u8>, character: char) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match character {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
            let code = character as u32;
            out.extend_from_slice(b"\\u");
            for shift in [12, 8, 4, 0] {
                out.push(HEX[((code >> shift) & 0xf) as usize]);
            }
        }
        other => {
            let mut buffer = [0u8; 4];
            out.extend_from_slice(other.encode_utf8(&mut buffer).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_escapes() {
        let mut out = Vec::new();
        push_json_string(&mut out, b"a\"b\\c<d>&\n\x01\xffz");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\n\\u0001\u{fffd}z\""
        );
    }

    proptest::proptest! {
        /// The plain-ASCII fast path writes what escaping every character one by one writes.
        #[test]
        fn fast_path_matches_char_by_char(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u8::ANY,
                    proptest::sample::select(b"az09 \"\\<>&\n\t".to_vec()),
                ],
                0..64,
            )
        ) {
            let mut fast = Vec::new();
            push_json_string(&mut fast, &bytes);
            let mut slow = b"\"".to_vec();
            push_json_text(&mut slow, &bytes);
            slow.push(b'"');
            proptest::prop_assert_eq!(fast, slow);
        }
    }
}
