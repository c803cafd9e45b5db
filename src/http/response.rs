//! HTTP responses as InfluxDB 1.x (Go's net/http) writes them: header order, JSON error
//! bodies, and Go's JSON string escaping.
//!
//! Header order matters to clients that compare raw bytes: Go writes the handler's headers
//! sorted by name, then `Date`, then `Content-Length` (omitted for 204/304 and HEAD-less
//! empty bodies), then `Connection: close` when the connection ends.

use crate::query::answer::{AnswerOutcome, QueryAnswer};
use crate::time::http_date;
pub use sluice_model::gojson::push_json_string;

/// One response, before serialisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// status code
    pub status: u16,
    /// headers set by the handler (the standard InfluxDB ones are added by `serialize`)
    pub headers: Vec<(&'static str, String)>,
    /// body bytes
    pub body: Vec<u8>,
    /// close the connection after this response
    pub close: bool,
}

impl Response {
    /// A response with no headers or body.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            close: false,
        }
    }

    /// 204 No Content with InfluxDB's JSON content type.
    pub fn no_content() -> Response {
        let mut response = Response::empty(204);
        response
            .headers
            .push(("Content-Type", "application/json".into()));
        response
    }

    /// A JSON body `{"error":"<message>"}` with `X-Influxdb-Error` (InfluxDB's httpError).
    pub fn json_error(status: u16, message: &str) -> Response {
        let mut body = Vec::with_capacity(message.len() + 16);
        body.extend_from_slice(b"{\"error\":");
        push_json_string(&mut body, message.as_bytes());
        body.extend_from_slice(b"}\n");
        let mut response = Response::empty(status);
        response
            .headers
            .push(("Content-Type", "application/json".into()));
        if status != 401 {
            response
                .headers
                .push(("X-Influxdb-Error", error_header_value(message)));
        }
        response.body = body;
        response
    }

    /// A JSON body.
    pub fn json(status: u16, body: Vec<u8>) -> Response {
        let mut response = Response::empty(status);
        response
            .headers
            .push(("Content-Type", "application/json".into()));
        response.body = body;
        response
    }

    /// Go's plain-text error (`http.Error`), e.g. for 404 and 405.
    pub fn plain_text(status: u16, text: &str) -> Response {
        let mut response = Response::empty(status);
        response
            .headers
            .push(("Content-Type", "text/plain; charset=utf-8".into()));
        response
            .headers
            .push(("X-Content-Type-Options", "nosniff".into()));
        response.body = format!("{text}\n").into_bytes();
        response
    }
}

impl From<QueryAnswer> for Response {
    /// A query's answer as InfluxDB sends it: a refused request's status and its message in
    /// `X-Influxdb-Error` (as `json_error`), the body's media type and encoding.
    fn from(answer: QueryAnswer) -> Response {
        let status = match answer.outcome {
            AnswerOutcome::Ran => 200,
            AnswerOutcome::BadRequest => 400,
            AnswerOutcome::Forbidden => 403,
            AnswerOutcome::Unavailable => 503,
            AnswerOutcome::Failed => 500,
        };
        let mut response = Response::empty(status);
        response
            .headers
            .push(("Content-Type", answer.content_type.to_string()));
        if let Some(encoding) = answer.content_encoding {
            response
                .headers
                .push(("Content-Encoding", encoding.to_string()));
        }
        if let Some(message) = &answer.error {
            response
                .headers
                .push(("X-Influxdb-Error", error_header_value(message)));
        }
        response.body = answer.body;
        response
    }
}

/// `X-Influxdb-Error` as InfluxDB sends it: line breaks become spaces, at most 1024 bytes.
fn error_header_value(message: &str) -> String {
    const MAX_BYTES: usize = 1024;
    let mut end = message.len().min(MAX_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    // Go's header writer trims the value (an error ending in "on " is sent ending in "on").
    message[..end].replace(['\r', '\n'], " ").trim().to_string()
}

/// Reason phrase of a status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        417 => "Expectation Failed",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Identity headers every response carries.
pub struct ResponseContext<'a> {
    /// `Request-Id` / `X-Request-Id` value; `None` for framing errors answered before routing
    pub request_id: Option<&'a str>,
    /// the request was HEAD: headers only
    pub head_only: bool,
    /// current time for `Date`
    pub now_ns: i64,
    /// the request was HTTP/1.0: answer in 1.0, `Connection: keep-alive` only when kept
    pub http10: bool,
}

/// Serialises `response` onto `out`.
pub fn serialize(response: &Response, context: &ResponseContext<'_>, out: &mut Vec<u8>) {
    if serialize_head(response, context, out) {
        out.extend_from_slice(&response.body);
    }
}

/// Serialises the status line and headers of `response` onto `out`; true when the body
/// follows them (not for HEAD, nor for statuses that have no body).
pub fn serialize_head(
    response: &Response,
    context: &ResponseContext<'_>,
    out: &mut Vec<u8>,
) -> bool {
    write_head(response, context, BodyFraming::Length, out)
}

/// Serialises the head of an answer whose body follows in HTTP chunks of unknown total
/// length (`Transfer-Encoding: chunked`, where Go's server puts it: after `Date` and
/// `Connection`). Only for HTTP/1.1 requests that are not HEAD.
pub fn serialize_streamed_head(
    response: &Response,
    context: &ResponseContext<'_>,
    out: &mut Vec<u8>,
) {
    write_head(response, context, BodyFraming::Chunked, out);
}

/// How a body's end is told.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyFraming {
    /// `Content-Length` of the response's body
    Length,
    /// `Transfer-Encoding: chunked`
    Chunked,
}

fn write_head(
    response: &Response,
    context: &ResponseContext<'_>,
    framing: BodyFraming,
    out: &mut Vec<u8>,
) -> bool {
    use std::io::Write;
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason_phrase(response.status)
    );
    let mut headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    if let Some(id) = context.request_id {
        headers.push(("Request-Id", id));
        headers.push(("X-Request-Id", id));
    }
    headers.push(("X-Influxdb-Build", "OSS"));
    headers.push(("X-Influxdb-Version", crate::INFLUXDB_COMPATIBLE_VERSION));
    headers.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    let _ = write!(out, "Date: {}\r\n", http_date(context.now_ns));
    let bodyless_status = response.status == 204 || response.status == 304 || response.status < 200;
    if !bodyless_status && framing == BodyFraming::Length {
        let _ = write!(out, "Content-Length: {}\r\n", response.body.len());
    }
    if context.http10 {
        // HTTP/1.0 closes by default; Go says so only when it keeps the connection.
        if !response.close {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
    } else if response.close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    if framing == BodyFraming::Chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
    !context.head_only && !bodyless_status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_order_matches_go() {
        let response = Response::json_error(404, "database not found: \"nope\"");
        let mut out = Vec::new();
        serialize(
            &response,
            &ResponseContext {
                request_id: Some("id"),
                head_only: false,
                now_ns: 0,
                http10: false,
            },
            &mut out,
        );
        let text = String::from_utf8(out).unwrap();
        let expected = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nRequest-Id: id\r\nX-Influxdb-Build: OSS\r\nX-Influxdb-Error: database not found: \"nope\"\r\nX-Influxdb-Version: 1.6.7\r\nX-Request-Id: id\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 41\r\n\r\n{\"error\":\"database not found: \\\"nope\\\"\"}\n";
        assert_eq!(text, expected);
    }
}
