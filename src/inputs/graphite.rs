//! STUB: the Graphite plaintext parser; replaced by the real implementation.

/// Why a Graphite line was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphiteError(pub String);

/// A Graphite line parser configured with separator, templates and extra tags.
#[derive(Debug, Clone)]
pub struct GraphiteParser {
    _private: (),
}

impl GraphiteParser {
    /// Builds a parser from the `[[graphite]]` settings.
    pub fn new(
        separator: &str,
        templates: &[String],
        tags: &[String],
    ) -> Result<GraphiteParser, String> {
        let _ = (separator, templates, tags);
        Ok(GraphiteParser { _private: () })
    }

    /// Parses one line, appending one line-protocol line (with `\n`) to `out`.
    pub fn parse_line(
        &self,
        line: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), GraphiteError> {
        let _ = (line, now_ns, out);
        Err(GraphiteError("not implemented".into()))
    }
}
