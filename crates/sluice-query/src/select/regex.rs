//! Regex matching for InfluxQL's `=~` / `!~`, regex sources and regex field selections: an
//! unanchored "does it match anywhere" test.
//!
//! A thin wrapper over the `regex` crate (RE2 syntax and linear-time matching, as Go's
//! `regexp`), shared with the statement executors (`statements::compile_regex`), so the
//! server has one regex engine. The parser already rejected patterns Go refuses; a pattern
//! the crate refuses compiles to an error, which callers treat as "no match". Size limits
//! bound what one pattern may cost.

/// Largest compiled program one pattern may produce, bytes (the crate's size limit).
const COMPILED_SIZE_MAX_BYTES: usize = 10 * 1024 * 1024;

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Regex {
    inner: regex::Regex,
}

impl Regex {
    /// Compiles `pattern` (RE2 syntax).
    pub fn new(pattern: &str) -> Result<Regex, String> {
        regex::RegexBuilder::new(pattern)
            .size_limit(COMPILED_SIZE_MAX_BYTES)
            .build()
            .map(|inner| Regex { inner })
            .map_err(|error| error.to_string())
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.inner.is_match(text)
    }
}

/// Series of `measurement` whose tag `key` has a value (read as text, lossily) that
/// `is_match` accepts, `is_match` being `pattern`'s: with an anchored literal prefix only the
/// values in its sorted range are tried, else each distinct value once. Series without the
/// tag are not included (callers add them when the pattern matches "").
pub fn series_with_tag_matching_regex(
    index: &sluice_storage::series_index::SeriesIndex,
    measurement: &[u8],
    key: &[u8],
    pattern: &str,
    is_match: impl Fn(&str) -> bool,
) -> roaring::RoaringBitmap {
    let matches = |value: &[u8]| match std::str::from_utf8(value) {
        Ok(text) => is_match(text),
        Err(_) => is_match(&String::from_utf8_lossy(value)),
    };
    match anchored_literal_prefix(pattern) {
        Some(prefix) => {
            index.series_with_tag_prefix_matching(measurement, key, prefix.as_bytes(), matches)
        }
        None => index.series_with_tag_matching(measurement, key, matches),
    }
}

/// The literal text every match of `pattern` starts the input with, when the pattern is
/// `^` then plain characters (a backslash-escaped punctuation character counts as plain):
/// `^host12345` gives `host12345`, `^web\.0[1-3]` gives `web.0`, `^ab?` gives `a`. `None`
/// when there is no such text or the pattern has a `|` anywhere (`^a|b` matches "b" too):
/// the index then tries only the tag values in that prefix's sorted range.
pub fn anchored_literal_prefix(pattern: &str) -> Option<String> {
    let rest = pattern.strip_prefix('^')?;
    if pattern.contains('|') {
        return None;
    }
    let mut prefix = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '\\' => {
                chars.next();
                match chars.peek() {
                    Some(&escaped) if escaped.is_ascii_punctuation() => prefix.push(escaped),
                    // `\d`, `\b`, `\x41`, ... are not plain text.
                    _ => break,
                }
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => break,
            // A lossy-decoded tag value holds U+FFFD where its bytes were not UTF-8; such a
            // value would match here without starting with these bytes.
            '\u{FFFD}' => break,
            c if c.is_whitespace() => break,
            c => prefix.push(c),
        }
        chars.next();
    }
    // The last character may repeat zero times (`?`, `*`, `{0,}`): it is not certain.
    if matches!(chars.peek(), Some('?' | '*' | '{')) {
        prefix.pop();
    }
    (!prefix.is_empty()).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn anchored_literal_prefixes() {
        assert_eq!(
            anchored_literal_prefix("^host12345").as_deref(),
            Some("host12345")
        );
        assert_eq!(
            anchored_literal_prefix(r"^web\.0[1-3]$").as_deref(),
            Some("web.0")
        );
        assert_eq!(anchored_literal_prefix("^ab?c").as_deref(), Some("a"));
        assert_eq!(anchored_literal_prefix("^ab*").as_deref(), Some("a"));
        assert_eq!(anchored_literal_prefix("^ab{0,2}").as_deref(), Some("a"));
        assert_eq!(anchored_literal_prefix("^ab+").as_deref(), Some("ab"));
        assert_eq!(anchored_literal_prefix(r"^a\d").as_deref(), Some("a"));
        assert_eq!(anchored_literal_prefix("^a|b"), None);
        assert_eq!(anchored_literal_prefix("^(?i)ab"), None);
        assert_eq!(anchored_literal_prefix("host"), None);
        assert_eq!(anchored_literal_prefix("^"), None);
        assert_eq!(anchored_literal_prefix("^.x"), None);
        assert_eq!(anchored_literal_prefix("^a?"), None);
        assert_eq!(anchored_literal_prefix("^sé[a-z]").as_deref(), Some("sé"));
    }

    proptest! {
        /// Whatever the pattern, every text it matches starts with its prefix.
        #[test]
        fn every_match_starts_with_the_prefix(
            pattern in r"\^[ab.\\*+?|(){}0-2,\[\]$]{0,8}",
            texts in proptest::collection::vec("[ab.*+?|(){}0-2,]{0,6}", 1..20),
        ) {
            let (Some(prefix), Ok(regex)) = (anchored_literal_prefix(&pattern), Regex::new(&pattern)) else {
                return Ok(());
            };
            for text in &texts {
                if regex.is_match(text) {
                    prop_assert!(text.starts_with(&prefix), "{pattern:?} matched {text:?} without {prefix:?}");
                }
            }
        }
    }

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).is_ok_and(|r| r.is_match(text))
    }

    #[test]
    fn unanchored_classes_flags_and_anchors() {
        assert!(matches("ser", "server01"));
        assert!(matches("^server0[1-3]$", "server02"));
        assert!(!matches("^server0[1-3]$", "server04"));
        assert!(matches("(?i)CPU", "cpu"));
        assert!(matches(r"\d+", "abc123"));
        assert!(!matches(r"\bcp\b", "cpu"));
    }

    #[test]
    fn no_blow_up_on_nested_repeats() {
        let text = "a".repeat(5_000) + "b";
        assert!(!matches("^(a*)*c$", &text));
    }
}
