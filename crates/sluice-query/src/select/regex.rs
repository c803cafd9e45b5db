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

#[cfg(test)]
mod tests {
    use super::*;

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
