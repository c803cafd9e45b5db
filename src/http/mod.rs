//! HTTP/1.1 for the event loops: request framing, query strings, responses.
pub mod framing;
