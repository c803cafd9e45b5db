//! STUB: OpenTSDB telnet and HTTP /api/put parsing; replaced by the real implementation.

/// Why OpenTSDB input was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTsdbError(pub String);

/// What a telnet line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetCommand {
    /// a `put`: one line-protocol line was appended to `out`
    Put,
    /// `version`: answer this text
    Version(String),
    /// blank line or a command that is ignored
    Ignored,
}

/// Parses one telnet line.
pub fn parse_telnet_line(line: &[u8], out: &mut Vec<u8>) -> Result<TelnetCommand, OpenTsdbError> {
    let _ = (line, out);
    Err(OpenTsdbError("not implemented".into()))
}

/// Parses an `/api/put` JSON body (one object or an array), appending line protocol to `out`;
/// returns the number of points.
pub fn parse_http_put(body: &[u8], out: &mut Vec<u8>) -> Result<usize, OpenTsdbError> {
    let _ = (body, out);
    Err(OpenTsdbError("not implemented".into()))
}
