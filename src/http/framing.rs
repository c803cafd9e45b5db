//! HTTP/1.1 request framing: a pure state machine that turns the bytes of one connection
//! into complete requests (head + de-chunked body). It does no I/O.
//!
//! Owns: finding where each request's head and body end, parsing the head (via `httparse`),
//! de-chunking `Transfer-Encoding: chunked` bodies, and enforcing the head/body limits
//! *before* buffering. It does not gunzip ([`super::gzip`]), route, or write responses; it
//! does tell the caller which status to answer ([`FramingError::status`]) and, for the
//! errors Go's `net/http` answers itself, the exact bytes ([`FramingError::go_server_response`]).
//!
//! # Contract
//! The caller owns the connection's read buffer and calls [`RequestReader::advance`] with the
//! unread bytes. The reader returns how many it consumed; consumed bytes are copied into the
//! reader (partial head) or into the request body, so the caller may drop them. With
//! [`Progress::NeedMore`] all input was consumed. After [`Progress::Request`] the bytes past
//! `consumed` belong to the next (pipelined) request: call `advance` again with them. Feeding
//! the same bytes in any split gives the same requests and errors; only
//! [`Progress::SendContinue`] depends on the split (it is returned when a head asked for
//! `100-continue` and no body byte is yet in `input`).
//!
//! # Algorithm
//! Head: scan new bytes for the end of the head (`\n\r\n` or `\n\n`, which httparse also
//! accepts) with memchr, re-scanning at most 2 old bytes, so a head fed byte by byte costs
//! O(length). Only the bytes up to that end are given to httparse, so the parse never depends
//! on what follows. No end within `max_head_bytes` → [`FramingError::HeadTooLarge`].
//! Body: `Transfer-Encoding: chunked` wins over `Content-Length` (the request is then marked
//! `keep_alive = false`, as RFC 9112 §6.3 asks of a server that processes such a message);
//! else `Content-Length`; else no body. The body limit is checked against the declared length
//! or the running chunked total before the bytes are stored.
//!
//! # Facts from influxd 1.6.7 (max-body-size = 1000), for the response layer to match
//! - `/write` with a body over `max-body-size`: `413 Request Entity Too Large`, headers
//!   `Content-Type: application/json`, `Request-Id`, `X-Influxdb-Build`,
//!   `X-Influxdb-Error: Request Entity Too Large`, `X-Influxdb-Version`, `X-Request-Id`,
//!   `Date`, `Content-Length: 37`, body `{"error":"Request Entity Too Large"}\n`. The limit
//!   holds on the raw (still gzipped) bytes; `Content-Length` = limit is accepted. Only
//!   `/write` has the limit: a 3000-byte `POST /query` form passes.
//!   Go's server first reads and discards the body when the declared length is below
//!   256 KiB (the response is delayed until the whole body arrived) and keeps the connection
//!   open; at 256 KiB or more it answers at once with `Connection: close` and closes. With
//!   `Expect: 100-continue` it answers at once with `Connection: close`. Chunked bodies: the
//!   413 comes after the decoded total passes the limit and the rest of the body (up to
//!   256 KiB more) is discarded. This reader reproduces that: after
//!   [`FramingError::BodyTooLarge`], [`RequestReader::connection_reusable_after_error`] tells
//!   whether the body was skipped and the reader is ready for the next request.
//! - Malformed request line / header line / invalid `Content-Length` / duplicate differing
//!   `Content-Length` / bad `%` escape in the path / leading blank lines:
//!   `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection:
//!   close\r\n\r\n400 Bad Request`, then close. No `Date`, no `Content-Length`.
//!   Invalid header name: the text is `400 Bad Request: invalid header name` in the status
//!   line and the body; missing `Host` on HTTP/1.1: `400 Bad Request: missing required Host
//!   header`. Unknown version `HTTP/2.5`: `505 HTTP Version Not Supported: unsupported
//!   protocol version`. Head over 1 MiB + 4096 bytes: `431 Request Header Fields Too Large`
//!   (same plain-text shape). Duplicate identical `Content-Length`s are fine.
//! - `Transfer-Encoding` other than `chunked` (any case): `HTTP/1.1 501 Not Implemented` with
//!   plain body `Unsupported transfer encoding`, close.
//! - `Expect` other than `100-continue` (any case): `HTTP/1.1 417 Expectation Failed\r\n
//!   Connection: close\r\nContent-Length: 0\r\n\r\n`, close. `100-continue` is ignored on
//!   HTTP/1.0 and on requests without a body.
//! - Bad chunked bodies on `/write` are answered by the handler: `400` JSON
//!   `{"error":"<msg>"}\n` with `X-Influxdb-Error: <msg>` and `Connection: close`, where
//!   msg is `invalid byte in chunk length`, `http chunk length too large` (more than 16 hex
//!   digits), `malformed chunked encoding` (no CRLF after data), `header line too long`
//!   (chunk line of 4096 bytes or more) or `malformed MIME header: missing colon: "<line>"`
//!   (bad trailer). Chunk extensions and trailers are accepted and ignored; trailing
//!   spaces/tabs after the size are allowed, leading ones are not; `0x` prefixes are not.
//! - HTTP/1.0 keeps the connection only with `Connection: keep-alive`; `Connection` is a
//!   token list (`keep-alive, close` closes). Absolute-form targets (`http://h/ping`) route
//!   by their path. Methods are case-sensitive (`get` is not `GET`).
//! - `X-Request-Id` wins over `Request-Id` when both are sent.
//!
//! # Deliberate differences from Go
//! - Both `Content-Length` and `Transfer-Encoding: chunked`: Go serves and keeps the
//!   connection; we de-chunk and set `keep_alive = false` (request-smuggling safety).
//! - `Transfer-Encoding` on HTTP/1.0: Go ignores it (the chunks become the next request);
//!   we answer 400 and close.
//! - Obsolete line folding in a header is a 400 here (httparse), Go accepts it.
//! - More than `max_headers` header lines is a 431 here; Go counts only bytes. (Sluice's
//!   `HTTP_MAX_HEADERS` is as many lines as fit in the head bound, so only bytes count.)
//!
//! # Memory
//! An incomplete head is copied into `head_buffer`, grown at most to `max_head_bytes` (never
//! past it by doubling) and shrunk back to [`HEAD_BUFFER_KEEP_BYTES`] once the head is
//! parsed, so a connection holds a large head only while it is arriving. Header slots for
//! httparse are allocated per head for the lines it really has (at most `max_headers`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::query_string::percent_decode_path;
use crate::limits::NET_PENDING_HEAD_BYTES_MAX;

/// Go's default `MaxHeaderBytes` (1 MiB) plus the 4096 bytes of slack its reader allows.
pub const GO_MAX_HEAD_BYTES: usize = (1 << 20) + 4096;
/// Go's limit on one chunk-size or trailer line, newline included (`header line too long`).
pub const GO_MAX_CHUNK_LINE_BYTES: usize = 4096;
/// Header lines accepted by default; real clients send well under 20.
pub const DEFAULT_MAX_HEADERS: usize = 128;
/// Body bytes Go's server reads and throws away after a handler refused a body, to keep the
/// connection usable; a longer remainder makes it close the connection instead.
pub const DISCARD_AFTER_TOO_LARGE_MAX_BYTES: u64 = 256 * 1024;
/// A path InfluxDB applies `max-body-size` to.
pub const WRITE_PATH: &str = "/write";
/// InfluxDB 1.8's 2.x-compatible write (`http::write_v2`): `max-body-size` too, as it is
/// served by the same write handler.
pub const WRITE_V2_PATH: &str = "/api/v2/write";
/// Body bound for every path but the write paths: Go's cap on an urlencoded form body (10 MiB),
/// the only other body InfluxDB 1.6 reads (`POST /query`).
pub const NON_WRITE_MAX_BODY_BYTES: usize = 10 << 20;
/// Capacity of `head_buffer` kept between requests; a larger one is freed after its head.
pub const HEAD_BUFFER_KEEP_BYTES: usize = 8 * 1024;

/// Capacity of every reader's `head_buffer` in the process, against
/// `NET_PENDING_HEAD_BYTES_MAX`: one head may be as large as Go takes (1 MiB), but ten
/// thousand connections each holding most of one must not cost ten gigabytes.
static PENDING_HEAD_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Header slots tried on the stack before falling back to `max_headers` slots on the heap.
const INLINE_HEADER_SLOTS: usize = 32;
/// Most bytes reserved up front for a body from its declared length (it grows past that as
/// bytes really arrive), so a large declared length alone allocates little.
const BODY_RESERVE_MAX_BYTES: usize = 1 << 20;
/// Most hex digits in a chunk size (a `u64`), as Go.
const CHUNK_SIZE_MAX_HEX_DIGITS: usize = 16;

/// Bounds applied while framing. Every field is a hard limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramingLimits {
    /// Most bytes of a request head (request line + headers + blank line).
    pub max_head_bytes: usize,
    /// Most header lines in one head.
    pub max_headers: usize,
    /// Most body bytes (de-chunked, still compressed) of a `/write` request: InfluxDB's
    /// `[http] max-body-size`. Other paths are bounded by [`NON_WRITE_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Most bytes of one chunk-size or trailer line, newline included.
    pub max_chunk_line_bytes: usize,
    /// Most bytes of incomplete heads across every reader of the process
    /// (`NET_PENDING_HEAD_BYTES_MAX`).
    pub max_pending_head_bytes: usize,
}

impl FramingLimits {
    /// Limits matching influxd's defaults (`max-body-size = 25000000`).
    pub fn influxdb_defaults() -> Self {
        FramingLimits {
            max_head_bytes: GO_MAX_HEAD_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_body_bytes: 25_000_000,
            max_chunk_line_bytes: GO_MAX_CHUNK_LINE_BYTES,
            max_pending_head_bytes: NET_PENDING_HEAD_BYTES_MAX,
        }
    }

    fn body_limit_bytes(&self, head: &RequestHead) -> u64 {
        if head.path == WRITE_PATH || head.path == WRITE_V2_PATH {
            self.max_body_bytes as u64
        } else {
            NON_WRITE_MAX_BODY_BYTES as u64
        }
    }
}

/// What one call to [`RequestReader::advance`] achieved.
#[derive(Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // returned once per request and moved, never stored
pub enum Progress {
    /// All input was consumed; call again with more bytes.
    NeedMore,
    /// The head asked for `Expect: 100-continue` and no body byte has arrived yet: write
    /// `HTTP/1.1 100 Continue\r\n\r\n` once, then keep feeding.
    SendContinue,
    /// One complete request; bytes after `consumed` belong to the next request.
    Request(Request),
    /// Answer with [`FramingError::status`]; close the connection unless
    /// [`RequestReader::connection_reusable_after_error`] is true.
    Error(FramingError),
}

/// One complete request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The parsed head.
    pub head: RequestHead,
    /// The body, de-chunked but not gunzipped.
    pub body: Vec<u8>,
}

/// Request methods the server distinguishes; names are case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// Any other token, verbatim.
    Other(String),
}

impl Method {
    fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method token as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other(token) => token,
        }
    }
}

/// The parsed request line and the headers the server uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// Request method.
    pub method: Method,
    /// Raw request target, e.g. `/write?db=x`.
    pub target: String,
    /// Percent-decoded path (the path of an absolute-form target; `*` stays `*`).
    pub path: String,
    /// Raw query string after the first `?` (empty when none).
    pub query: String,
    /// Minor version: 0 or 1.
    pub version_minor: u8,
    /// Whether the connection may serve another request after this one.
    pub keep_alive: bool,
    /// Declared `Content-Length` (kept even when chunked framing overrides it).
    pub content_length: Option<u64>,
    /// Whether the body is `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// Whether a `100 Continue` is expected (HTTP/1.1 with a body only).
    pub expect_continue: bool,
    /// `Content-Encoding` is exactly `gzip` (case-sensitive, as InfluxDB).
    pub content_encoding_gzip: bool,
    /// First `Content-Type` value.
    pub content_type: Option<String>,
    /// First `Accept` value.
    pub accept: Option<String>,
    /// First non-empty `X-Request-Id`, else first non-empty `Request-Id`.
    pub x_request_id: Option<String>,
    /// First `Authorization` value.
    pub authorization: Option<String>,
    /// First `User-Agent` value.
    pub user_agent: Option<String>,
    /// First `Host` value (required on HTTP/1.1).
    pub host: Option<String>,
    /// First `Origin` value (answers then carry InfluxDB's CORS headers).
    pub origin: Option<String>,
    /// First `Accept-Encoding` value (the admin UI's assets are sent gzip when it allows).
    pub accept_encoding: Option<String>,
    /// First `If-None-Match` value (the admin UI's assets are answered 304 when it matches).
    pub if_none_match: Option<String>,
}

/// Why a chunked body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkedError {
    /// A byte other than a hex digit in a chunk size.
    InvalidChunkLength,
    /// More than 16 hex digits in a chunk size.
    ChunkLengthTooLarge,
    /// A chunk-size or trailer line reached `max_chunk_line_bytes`.
    LineTooLong,
    /// Chunk data not followed by CRLF.
    Malformed,
    /// A trailer line without a colon (the line, lossily decoded).
    MalformedTrailer(String),
}

/// Why a connection's request stream cannot be framed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// No end of head within `max_head_bytes` (431).
    HeadTooLarge,
    /// More than `max_headers` header lines (431).
    TooManyHeaders,
    /// Malformed request line or header line (400).
    MalformedHead,
    /// A header name with a byte that is not a token character (400).
    InvalidHeaderName,
    /// HTTP/1.1 without a `Host` header (400).
    MissingHost,
    /// `Content-Length` not a plain decimal number, or several that differ (400).
    InvalidContentLength,
    /// Invalid `%` escape in the path (400).
    InvalidPath,
    /// `Transfer-Encoding` on an HTTP/1.0 request (400; see module doc).
    TransferEncodingOnHttp10,
    /// An HTTP version other than 1.0 / 1.1 (505).
    UnsupportedVersion,
    /// A `Transfer-Encoding` other than `chunked` (501).
    UnsupportedTransferEncoding,
    /// An `Expect` other than `100-continue` (417).
    ExpectationFailed,
    /// The body exceeds the limit (413). See
    /// [`RequestReader::connection_reusable_after_error`] for whether the connection may stay.
    BodyTooLarge,
    /// Bad chunked framing (400, answered like a handler error).
    Chunked(ChunkedError),
}

impl FramingError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            FramingError::HeadTooLarge | FramingError::TooManyHeaders => 431,
            FramingError::MalformedHead
            | FramingError::InvalidHeaderName
            | FramingError::MissingHost
            | FramingError::InvalidContentLength
            | FramingError::InvalidPath
            | FramingError::TransferEncodingOnHttp10
            | FramingError::Chunked(_) => 400,
            FramingError::UnsupportedVersion => 505,
            FramingError::UnsupportedTransferEncoding => 501,
            FramingError::ExpectationFailed => 417,
            FramingError::BodyTooLarge => 413,
        }
    }

    /// For the errors InfluxDB's handlers report as `{"error":"<message>"}` (413 and bad
    /// chunked bodies), the message; `None` for errors Go's server answers itself.
    pub fn influx_message(&self) -> Option<String> {
        match self {
            FramingError::BodyTooLarge => Some("Request Entity Too Large".to_string()),
            FramingError::Chunked(error) => Some(match error {
                ChunkedError::InvalidChunkLength => "invalid byte in chunk length".to_string(),
                ChunkedError::ChunkLengthTooLarge => "http chunk length too large".to_string(),
                ChunkedError::LineTooLong => "header line too long".to_string(),
                ChunkedError::Malformed => "malformed chunked encoding".to_string(),
                ChunkedError::MalformedTrailer(line) => {
                    format!("malformed MIME header: missing colon: {line:?}")
                }
            }),
            _ => None,
        }
    }

    /// The exact bytes Go's `net/http` writes for errors it answers before any handler runs
    /// (the connection is closed after them); `None` for handler-answered errors.
    pub fn go_server_response(&self) -> Option<Vec<u8>> {
        let plain = |status_text: &str| {
            format!(
                "HTTP/1.1 {status_text}\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Connection: close\r\n\r\n{status_text}"
            )
        };
        let text = match self {
            FramingError::HeadTooLarge | FramingError::TooManyHeaders => {
                plain("431 Request Header Fields Too Large")
            }
            FramingError::MalformedHead
            | FramingError::InvalidContentLength
            | FramingError::InvalidPath
            | FramingError::TransferEncodingOnHttp10 => plain("400 Bad Request"),
            FramingError::InvalidHeaderName => plain("400 Bad Request: invalid header name"),
            FramingError::MissingHost => plain("400 Bad Request: missing required Host header"),
            FramingError::UnsupportedVersion => {
                plain("505 HTTP Version Not Supported: unsupported protocol version")
            }
            FramingError::UnsupportedTransferEncoding => "HTTP/1.1 501 Not Implemented\r\n\
                 Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n\
                 Unsupported transfer encoding"
                .to_string(),
            FramingError::ExpectationFailed => {
                "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                    .to_string()
            }
            FramingError::BodyTooLarge | FramingError::Chunked(_) => return None,
        };
        Some(text.into_bytes())
    }
}

/// Where the reader is in the current request.
#[derive(Debug)]
enum State {
    /// Waiting for a complete head; `head_buffer` holds its first bytes.
    Head,
    /// Reading a `Content-Length` body.
    FixedBody {
        head: Box<RequestHead>,
        remaining_bytes: u64,
        body: Vec<u8>,
    },
    /// Reading a chunked body.
    Chunked {
        head: Box<RequestHead>,
        decoder: ChunkedDecoder,
        body: Vec<u8>,
    },
    /// Skipping a refused `Content-Length` body before reporting a reusable 413.
    DiscardFixed { remaining_bytes: u64 },
    /// A fatal error was reported; it is reported again on every call.
    Failed(FramingError),
}

/// The framing state machine of one connection. See the module doc for the contract.
#[derive(Debug)]
pub struct RequestReader {
    limits: FramingLimits,
    state: State,
    /// Bytes of a head not yet complete; never longer than `limits.max_head_bytes`.
    head_buffer: Vec<u8>,
    /// Offset in `head_buffer` from which the end-of-head scan resumes.
    head_scan_from: usize,
    /// `head_buffer`'s capacity as counted in [`PENDING_HEAD_BYTES`].
    head_bytes_counted: usize,
}

impl Drop for RequestReader {
    fn drop(&mut self) {
        PENDING_HEAD_BYTES.fetch_sub(self.head_bytes_counted, Ordering::Relaxed);
    }
}

/// Result of looking for a head in the buffered + new bytes.
enum HeadStep {
    NeedMore,
    /// A parsed head; the `usize` counts the bytes of `input` it used.
    Parsed(Box<RequestHead>, usize),
    Failed(FramingError),
}

impl RequestReader {
    /// A reader waiting for the first request of a connection.
    pub fn new(limits: FramingLimits) -> Self {
        RequestReader {
            limits,
            state: State::Head,
            head_buffer: Vec::new(),
            head_scan_from: 0,
            head_bytes_counted: 0,
        }
    }

    /// While a body is being read: the most bytes it can hold (its declared length, or the
    /// path's body limit for a chunked body), for the connection's body-memory reservation.
    pub fn body_bound(&self) -> Option<u64> {
        match &self.state {
            State::Head | State::DiscardFixed { .. } | State::Failed(_) => None,
            State::FixedBody {
                remaining_bytes,
                body,
                ..
            } => Some(body.len() as u64 + remaining_bytes),
            State::Chunked { head, .. } => Some(self.limits.body_limit_bytes(head)),
        }
    }

    /// Brings [`PENDING_HEAD_BYTES`] in line with `head_buffer`'s capacity.
    fn count_head_capacity(&mut self) {
        let capacity = self.head_buffer.capacity();
        if capacity > self.head_bytes_counted {
            PENDING_HEAD_BYTES.fetch_add(capacity - self.head_bytes_counted, Ordering::Relaxed);
        } else {
            PENDING_HEAD_BYTES.fetch_sub(self.head_bytes_counted - capacity, Ordering::Relaxed);
        }
        self.head_bytes_counted = capacity;
    }

    /// After [`Progress::Error`]: true when the connection may stay open (a 413 whose body
    /// was skipped, as Go does for short bodies); the reader then waits for the next head.
    /// False after every other error: answer and close.
    pub fn connection_reusable_after_error(&self) -> bool {
        !matches!(self.state, State::Failed(_))
    }

    /// True when part of a request has been received but not the whole of it (the
    /// connection is not idle: the request-read timeout applies).
    pub fn is_mid_request(&self) -> bool {
        !(matches!(self.state, State::Head) && self.head_buffer.is_empty())
    }

    /// Feeds `input`; returns how many bytes were consumed and the progress.
    pub fn advance(&mut self, input: &[u8]) -> (usize, Progress) {
        let mut consumed = 0;
        loop {
            let rest = input.get(consumed..).unwrap_or_default();
            match &mut self.state {
                State::Failed(error) => return (consumed, Progress::Error(error.clone())),
                State::Head => match self.read_head(rest) {
                    HeadStep::NeedMore => return (input.len(), Progress::NeedMore),
                    HeadStep::Failed(error) => return (consumed, self.fail(error)),
                    HeadStep::Parsed(head, used) => {
                        consumed += used;
                        let body_arrived = consumed < input.len();
                        if let Some(progress) = self.start_body(head, body_arrived) {
                            return (consumed, progress);
                        }
                    }
                },
                State::FixedBody {
                    remaining_bytes,
                    body,
                    ..
                } => {
                    let take = usize::try_from(*remaining_bytes)
                        .unwrap_or(usize::MAX)
                        .min(rest.len());
                    body.extend_from_slice(rest.get(..take).unwrap_or_default());
                    *remaining_bytes -= take as u64;
                    consumed += take;
                    if *remaining_bytes > 0 {
                        return (consumed, Progress::NeedMore);
                    }
                    return (consumed, self.finish_request());
                }
                State::Chunked { decoder, body, .. } => {
                    let (used, step) = decoder.advance(rest, body, &self.limits);
                    consumed += used;
                    match step {
                        ChunkStep::NeedMore => return (consumed, Progress::NeedMore),
                        ChunkStep::Done => return (consumed, self.finish_request()),
                        ChunkStep::Failed(error) => return (consumed, self.fail(error)),
                        ChunkStep::RefusedReusable => {
                            self.state = State::Head;
                            let error = FramingError::BodyTooLarge;
                            return (consumed, Progress::Error(error));
                        }
                    }
                }
                State::DiscardFixed { remaining_bytes } => {
                    let take = usize::try_from(*remaining_bytes)
                        .unwrap_or(usize::MAX)
                        .min(rest.len());
                    *remaining_bytes -= take as u64;
                    consumed += take;
                    if *remaining_bytes > 0 {
                        return (consumed, Progress::NeedMore);
                    }
                    self.state = State::Head;
                    let error = FramingError::BodyTooLarge;
                    return (consumed, Progress::Error(error));
                }
            }
        }
    }

    fn fail(&mut self, error: FramingError) -> Progress {
        self.state = State::Failed(error.clone());
        Progress::Error(error)
    }

    fn finish_request(&mut self) -> Progress {
        match std::mem::replace(&mut self.state, State::Head) {
            State::FixedBody { head, body, .. } | State::Chunked { head, body, .. } => {
                Progress::Request(Request { head: *head, body })
            }
            other => {
                self.state = other;
                panic!("BUG: finish_request outside a body state")
            }
        }
    }

    /// Chooses the body framing for a parsed head. Returns the progress to report now, or
    /// `None` to keep consuming input in the new state.
    fn start_body(&mut self, head: Box<RequestHead>, body_arrived: bool) -> Option<Progress> {
        let limit_bytes = self.limits.body_limit_bytes(&head);
        let send_continue = head.expect_continue && !body_arrived;
        if head.chunked {
            let decoder = ChunkedDecoder::new(limit_bytes);
            self.state = State::Chunked {
                head,
                decoder,
                body: Vec::new(),
            };
            return send_continue.then_some(Progress::SendContinue);
        }
        let length = head.content_length.unwrap_or(0);
        if length == 0 {
            return Some(Progress::Request(Request {
                head: *head,
                body: Vec::new(),
            }));
        }
        if length > limit_bytes {
            if head.expect_continue || length >= DISCARD_AFTER_TOO_LARGE_MAX_BYTES {
                return Some(self.fail(FramingError::BodyTooLarge));
            }
            self.state = State::DiscardFixed {
                remaining_bytes: length,
            };
            return None;
        }
        let reserve = usize::try_from(length)
            .unwrap_or(usize::MAX)
            .min(BODY_RESERVE_MAX_BYTES);
        self.state = State::FixedBody {
            head,
            remaining_bytes: length,
            body: Vec::with_capacity(reserve),
        };
        send_continue.then_some(Progress::SendContinue)
    }

    /// Appends to `head_buffer`, growing it by doubling but never past `max_head_bytes`
    /// (callers never append past it); false, appending nothing, when the growth would take
    /// the process's incomplete heads past `max_pending_head_bytes` (the head is then
    /// refused as too large: under a flood of large heads, a new one waits its turn).
    fn buffer_head_bytes(&mut self, bytes: &[u8]) -> bool {
        let needed = self.head_buffer.len() + bytes.len();
        if needed > self.head_buffer.capacity() {
            let target = (self.head_buffer.capacity() * 2)
                .max(needed)
                .min(self.limits.max_head_bytes.max(needed));
            let growth = target.saturating_sub(self.head_buffer.capacity());
            let held = PENDING_HEAD_BYTES.load(Ordering::Relaxed);
            if held.saturating_add(growth) > self.limits.max_pending_head_bytes {
                return false;
            }
            self.head_buffer
                .reserve_exact(target - self.head_buffer.len());
            self.count_head_capacity();
        }
        self.head_buffer.extend_from_slice(bytes);
        true
    }

    /// Looks for a complete head in `head_buffer` + `input`.
    fn read_head(&mut self, input: &[u8]) -> HeadStep {
        let max_head_bytes = self.limits.max_head_bytes;
        let first_byte = self.head_buffer.first().or(input.first());
        if matches!(first_byte, Some(b'\r' | b'\n')) {
            // Go answers a blank line before the request line with 400; refusing it here
            // also keeps the end-of-head scan linear.
            return HeadStep::Failed(FramingError::MalformedHead);
        }
        if self.head_buffer.is_empty() {
            // Fast path: the whole head is in `input`; parse it in place.
            let window = input.get(..max_head_bytes).unwrap_or(input);
            let mut scan_from = 0;
            while let Some(end) = find_head_end(window, scan_from) {
                match parse_head(window.get(..end).unwrap_or_default(), &self.limits) {
                    Ok(Some(head)) => return HeadStep::Parsed(Box::new(head), end),
                    Ok(None) => scan_from = end,
                    Err(error) => return HeadStep::Failed(error),
                }
            }
            if window.len() >= max_head_bytes {
                return HeadStep::Failed(FramingError::HeadTooLarge);
            }
            if !self.buffer_head_bytes(input) {
                return HeadStep::Failed(FramingError::HeadTooLarge);
            }
            self.head_scan_from = input.len().saturating_sub(2);
            return HeadStep::NeedMore;
        }
        let old_len = self.head_buffer.len();
        let room = max_head_bytes.saturating_sub(old_len);
        let taken = input.get(..room).unwrap_or(input);
        if !self.buffer_head_bytes(taken) {
            return HeadStep::Failed(FramingError::HeadTooLarge);
        }
        while let Some(end) = find_head_end(&self.head_buffer, self.head_scan_from) {
            let head_bytes = self.head_buffer.get(..end).unwrap_or_default();
            match parse_head(head_bytes, &self.limits) {
                Ok(Some(head)) => {
                    self.head_buffer.clear();
                    if self.head_buffer.capacity() > HEAD_BUFFER_KEEP_BYTES {
                        self.head_buffer.shrink_to(HEAD_BUFFER_KEEP_BYTES);
                        self.count_head_capacity();
                    }
                    self.head_scan_from = 0;
                    return HeadStep::Parsed(Box::new(head), end.saturating_sub(old_len));
                }
                Ok(None) => self.head_scan_from = end,
                Err(error) => return HeadStep::Failed(error),
            }
        }
        if self.head_buffer.len() >= max_head_bytes {
            return HeadStep::Failed(FramingError::HeadTooLarge);
        }
        self.head_scan_from = self.head_buffer.len().saturating_sub(2);
        HeadStep::NeedMore
    }
}

/// The offset just past the first `\n\n` or `\n\r\n` whose `\n` is at or after `from`.
fn find_head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut position = from;
    loop {
        let tail = bytes.get(position..)?;
        let newline = position + memchr::memchr(b'\n', tail)?;
        match (bytes.get(newline + 1), bytes.get(newline + 2)) {
            (Some(b'\n'), _) => return Some(newline + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(newline + 3),
            (Some(_), _) => position = newline + 1,
            // The end may still arrive: rescan from this newline next time.
            (None, _) => return None,
        }
    }
}

/// Parses a head that ends exactly at the end of `bytes`. `Ok(None)` means httparse wants
/// more (the terminator found was blank lines before the request line).
fn parse_head(bytes: &[u8], limits: &FramingLimits) -> Result<Option<RequestHead>, FramingError> {
    let mut inline = [httparse::EMPTY_HEADER; INLINE_HEADER_SLOTS];
    let mut request = httparse::Request::new(&mut inline);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => return build_head(&request, limits).map(Some),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) if limits.max_headers > INLINE_HEADER_SLOTS => {}
        Err(error) => return Err(map_httparse_error(error)),
    }
    // One slot per line the head has (a header is at least one line), at most max_headers.
    let lines = memchr::memchr_iter(b'\n', bytes).count();
    let mut heap = vec![httparse::EMPTY_HEADER; lines.min(limits.max_headers)];
    let mut request = httparse::Request::new(&mut heap);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => build_head(&request, limits).map(Some),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(error) => Err(map_httparse_error(error)),
    }
}

fn map_httparse_error(error: httparse::Error) -> FramingError {
    match error {
        httparse::Error::TooManyHeaders => FramingError::TooManyHeaders,
        httparse::Error::HeaderName => FramingError::InvalidHeaderName,
        httparse::Error::Version => FramingError::UnsupportedVersion,
        _ => FramingError::MalformedHead,
    }
}

/// Header values the framing and the handlers need, gathered in one pass.
#[derive(Default)]
struct HeaderScan {
    content_length: Option<u64>,
    transfer_encoding: Option<String>,
    connection_close: bool,
    connection_keep_alive: bool,
    expect: Option<String>,
    content_encoding: Option<String>,
    content_type: Option<String>,
    accept: Option<String>,
    x_request_id: Option<String>,
    request_id: Option<String>,
    authorization: Option<String>,
    user_agent: Option<String>,
    host: Option<String>,
    origin: Option<String>,
    accept_encoding: Option<String>,
    if_none_match: Option<String>,
}

fn build_head(
    request: &httparse::Request<'_, '_>,
    limits: &FramingLimits,
) -> Result<RequestHead, FramingError> {
    let _ = limits;
    let (Some(method), Some(target), Some(version_minor)) =
        (request.method, request.path, request.version)
    else {
        return Err(FramingError::MalformedHead);
    };
    let mut scan = HeaderScan::default();
    for header in request.headers.iter() {
        scan_header(&mut scan, header.name, header.value)?;
    }
    let http11 = version_minor >= 1;
    if http11 && scan.host.is_none() {
        return Err(FramingError::MissingHost);
    }
    let chunked = match &scan.transfer_encoding {
        None => false,
        Some(_) if !http11 => return Err(FramingError::TransferEncodingOnHttp10),
        Some(coding) if coding.eq_ignore_ascii_case("chunked") => true,
        Some(_) => return Err(FramingError::UnsupportedTransferEncoding),
    };
    let has_body = chunked || scan.content_length.is_some_and(|length| length > 0);
    let expect_continue = match &scan.expect {
        None => false,
        Some(value) if value.eq_ignore_ascii_case("100-continue") => http11 && has_body,
        Some(_) => return Err(FramingError::ExpectationFailed),
    };
    let keep_alive = if http11 {
        let both_framings = chunked && scan.content_length.is_some();
        !scan.connection_close && !both_framings
    } else {
        scan.connection_keep_alive && !scan.connection_close
    };
    let (raw_path, query) = split_target(target);
    let path = percent_decode_path(raw_path).map_err(|_| FramingError::InvalidPath)?;
    Ok(RequestHead {
        method: Method::from_token(method),
        target: target.to_string(),
        path,
        query: query.to_string(),
        version_minor,
        keep_alive,
        content_length: scan.content_length,
        chunked,
        expect_continue,
        content_encoding_gzip: scan.content_encoding.as_deref() == Some("gzip"),
        content_type: scan.content_type,
        accept: scan.accept,
        x_request_id: scan.x_request_id.or(scan.request_id),
        authorization: scan.authorization,
        user_agent: scan.user_agent,
        host: scan.host,
        origin: scan.origin,
        accept_encoding: scan.accept_encoding,
        if_none_match: scan.if_none_match,
    })
}

/// Splits a request target into its raw path and raw query. An absolute-form target
/// (`http://host/p?q`) yields the path after its authority (`/` when it has none).
fn split_target(target: &str) -> (&str, &str) {
    let (before_query, query) = target.split_once('?').unwrap_or((target, ""));
    if before_query.starts_with('/') || before_query == "*" {
        return (before_query, query);
    }
    match before_query.split_once("://") {
        Some((_, after_scheme)) => match after_scheme.find('/') {
            Some(slash) => (after_scheme.get(slash..).unwrap_or("/"), query),
            None => ("/", query),
        },
        None => (before_query, query),
    }
}

fn scan_header(scan: &mut HeaderScan, name: &str, raw_value: &[u8]) -> Result<(), FramingError> {
    let value = String::from_utf8_lossy(raw_value);
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let first = |slot: &mut Option<String>| {
        if slot.is_none() {
            *slot = Some(value.to_string());
        }
    };
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "content-length" => {
            let length = parse_content_length(value)?;
            if scan.content_length.is_some_and(|seen| seen != length) {
                return Err(FramingError::InvalidContentLength);
            }
            scan.content_length = Some(length);
        }
        "transfer-encoding" => {
            if scan.transfer_encoding.is_some() {
                // Several codings (in one or more headers): only plain `chunked` is served.
                return Err(FramingError::UnsupportedTransferEncoding);
            }
            scan.transfer_encoding = Some(value.to_string());
        }
        "connection" => {
            for token in value.split(',') {
                let token = token.trim();
                scan.connection_close |= token.eq_ignore_ascii_case("close");
                scan.connection_keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
        "expect" => first(&mut scan.expect),
        "content-encoding" => first(&mut scan.content_encoding),
        "content-type" => first(&mut scan.content_type),
        "accept" => first(&mut scan.accept),
        "x-request-id" if !value.is_empty() => first(&mut scan.x_request_id),
        "request-id" if !value.is_empty() => first(&mut scan.request_id),
        "authorization" => first(&mut scan.authorization),
        "user-agent" => first(&mut scan.user_agent),
        "host" => first(&mut scan.host),
        "origin" => first(&mut scan.origin),
        "accept-encoding" => first(&mut scan.accept_encoding),
        "if-none-match" => first(&mut scan.if_none_match),
        _ => {}
    }
    Ok(())
}

/// A `Content-Length` is one or more ASCII digits that fit a `u64`.
fn parse_content_length(value: &str) -> Result<u64, FramingError> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(FramingError::InvalidContentLength);
    }
    value
        .parse()
        .map_err(|_| FramingError::InvalidContentLength)
}

/// Result of feeding bytes to a [`ChunkedDecoder`].
enum ChunkStep {
    NeedMore,
    Done,
    /// The body passed its limit and was skipped to its end: report a reusable 413.
    RefusedReusable,
    Failed(FramingError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkPhase {
    SizeLine,
    Data { remaining_bytes: u64 },
    DataCr,
    DataLf,
    TrailerLine,
}

/// Decodes a chunked body: `size[;ext]CRLF data CRLF ... 0CRLF [trailer: lines] CRLF`.
#[derive(Debug)]
struct ChunkedDecoder {
    phase: ChunkPhase,
    /// The chunk-size or trailer line read so far (without its `\n`).
    line: Vec<u8>,
    /// Decoded body bytes so far, stored or discarded.
    total_bytes: u64,
    limit_bytes: u64,
    /// Set once the body passed its limit: the bytes still allowed to be skipped.
    discard_budget_bytes: Option<u64>,
    /// Bytes of trailer lines so far (bounded by `max_head_bytes`).
    trailer_bytes: usize,
}

impl ChunkedDecoder {
    fn new(limit_bytes: u64) -> Self {
        ChunkedDecoder {
            phase: ChunkPhase::SizeLine,
            line: Vec::new(),
            total_bytes: 0,
            limit_bytes,
            discard_budget_bytes: None,
            trailer_bytes: 0,
        }
    }

    /// An error while skipping a refused body still answers 413, but closes.
    fn failure(&self, error: ChunkedError) -> ChunkStep {
        if self.discard_budget_bytes.is_some() {
            ChunkStep::Failed(FramingError::BodyTooLarge)
        } else {
            ChunkStep::Failed(FramingError::Chunked(error))
        }
    }

    fn advance(
        &mut self,
        input: &[u8],
        body: &mut Vec<u8>,
        limits: &FramingLimits,
    ) -> (usize, ChunkStep) {
        let mut consumed = 0;
        loop {
            let rest = input.get(consumed..).unwrap_or_default();
            match self.phase {
                ChunkPhase::SizeLine | ChunkPhase::TrailerLine => {
                    let (used, line_done) = match self.read_line(rest, limits) {
                        Ok(read) => read,
                        Err(error) => return (consumed, self.failure(error)),
                    };
                    consumed += used;
                    if !line_done {
                        return (consumed, ChunkStep::NeedMore);
                    }
                    let step = if self.phase == ChunkPhase::SizeLine {
                        self.end_size_line()
                    } else {
                        self.end_trailer_line(limits)
                    };
                    if let Some(step) = step {
                        return (consumed, step);
                    }
                }
                ChunkPhase::Data { remaining_bytes } => {
                    if rest.is_empty() {
                        return (consumed, ChunkStep::NeedMore);
                    }
                    let take = usize::try_from(remaining_bytes)
                        .unwrap_or(usize::MAX)
                        .min(rest.len());
                    if self.discard_budget_bytes.is_none() {
                        body.extend_from_slice(rest.get(..take).unwrap_or_default());
                    }
                    consumed += take;
                    let remaining_bytes = remaining_bytes - take as u64;
                    self.phase = if remaining_bytes == 0 {
                        ChunkPhase::DataCr
                    } else {
                        ChunkPhase::Data { remaining_bytes }
                    };
                }
                ChunkPhase::DataCr | ChunkPhase::DataLf => {
                    let Some(&byte) = rest.first() else {
                        return (consumed, ChunkStep::NeedMore);
                    };
                    let expected = if self.phase == ChunkPhase::DataCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if byte != expected {
                        return (consumed, self.failure(ChunkedError::Malformed));
                    }
                    consumed += 1;
                    self.phase = if self.phase == ChunkPhase::DataCr {
                        ChunkPhase::DataLf
                    } else {
                        ChunkPhase::SizeLine
                    };
                }
            }
        }
    }

    /// Appends `input` up to and including a `\n` to `line`. Returns the bytes used and
    /// whether the line is complete.
    fn read_line(
        &mut self,
        input: &[u8],
        limits: &FramingLimits,
    ) -> Result<(usize, bool), ChunkedError> {
        let (piece, complete) = match memchr::memchr(b'\n', input) {
            Some(newline) => (input.get(..newline).unwrap_or_default(), true),
            None => (input, false),
        };
        // The newline counts toward the limit, as in Go.
        let length_bytes = self.line.len() + piece.len() + usize::from(complete);
        if length_bytes >= limits.max_chunk_line_bytes {
            return Err(ChunkedError::LineTooLong);
        }
        self.line.extend_from_slice(piece);
        Ok((piece.len() + usize::from(complete), complete))
    }

    /// Handles a complete chunk-size line; returns a step to report, if any.
    fn end_size_line(&mut self) -> Option<ChunkStep> {
        let size = match parse_chunk_size(&self.line) {
            Ok(size) => size,
            Err(error) => return Some(self.failure(error)),
        };
        self.line.clear();
        if size == 0 {
            self.phase = ChunkPhase::TrailerLine;
            return None;
        }
        self.total_bytes = self.total_bytes.saturating_add(size);
        match &mut self.discard_budget_bytes {
            None if self.total_bytes > self.limit_bytes => {
                let over_bytes = self.total_bytes - self.limit_bytes;
                if over_bytes > DISCARD_AFTER_TOO_LARGE_MAX_BYTES {
                    return Some(ChunkStep::Failed(FramingError::BodyTooLarge));
                }
                self.discard_budget_bytes = Some(DISCARD_AFTER_TOO_LARGE_MAX_BYTES - over_bytes);
            }
            None => {}
            Some(budget) => {
                if size > *budget {
                    return Some(ChunkStep::Failed(FramingError::BodyTooLarge));
                }
                *budget -= size;
            }
        }
        self.phase = ChunkPhase::Data {
            remaining_bytes: size,
        };
        None
    }

    /// Handles a complete trailer line; the empty line ends the body.
    fn end_trailer_line(&mut self, limits: &FramingLimits) -> Option<ChunkStep> {
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        if line.is_empty() {
            self.line.clear();
            return Some(if self.discard_budget_bytes.is_some() {
                ChunkStep::RefusedReusable
            } else {
                ChunkStep::Done
            });
        }
        self.trailer_bytes += self.line.len() + 1;
        if self.trailer_bytes > limits.max_head_bytes {
            return Some(self.failure(ChunkedError::LineTooLong));
        }
        if !line.contains(&b':') {
            let text = String::from_utf8_lossy(line).into_owned();
            return Some(self.failure(ChunkedError::MalformedTrailer(text)));
        }
        self.line.clear();
        None
    }
}

/// Parses `HEX[;extension]` with trailing spaces/tabs/CR allowed, as Go does. An empty size
/// is 0.
fn parse_chunk_size(line: &[u8]) -> Result<u64, ChunkedError> {
    let mut end = line.len();
    while end > 0 && matches!(line.get(end - 1), Some(b' ' | b'\t' | b'\r')) {
        end -= 1;
    }
    let trimmed = line.get(..end).unwrap_or_default();
    let digits = match memchr::memchr(b';', trimmed) {
        Some(semicolon) => trimmed.get(..semicolon).unwrap_or_default(),
        None => trimmed,
    };
    let mut size: u64 = 0;
    for (index, &byte) in digits.iter().enumerate() {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => return Err(ChunkedError::InvalidChunkLength),
        };
        if index == CHUNK_SIZE_MAX_HEX_DIGITS {
            return Err(ChunkedError::ChunkLengthTooLarge);
        }
        size = size << 4 | u64::from(digit);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a connection sees, ignoring `SendContinue` (which depends on the split).
    #[derive(Debug, PartialEq, Eq)]
    #[allow(clippy::large_enum_variant)]
    enum Outcome {
        Request(Request),
        Error(FramingError),
        /// The connection must close (after a fatal error).
        Closed,
    }

    fn limits() -> FramingLimits {
        FramingLimits {
            max_head_bytes: 1024,
            max_headers: 40,
            max_body_bytes: 1000,
            max_chunk_line_bytes: 64,
            max_pending_head_bytes: NET_PENDING_HEAD_BYTES_MAX,
        }
    }

    /// Feeds `pieces` the way an event loop does, with a read buffer; stops at a fatal error.
    fn drive(limits: FramingLimits, pieces: &[&[u8]]) -> (Vec<Outcome>, usize) {
        let mut reader = RequestReader::new(limits);
        let mut pending: Vec<u8> = Vec::new();
        let mut outcomes = Vec::new();
        let mut continues = 0;
        for piece in pieces {
            pending.extend_from_slice(piece);
            loop {
                let (consumed, progress) = reader.advance(&pending);
                pending.drain(..consumed);
                match progress {
                    Progress::NeedMore => {
                        assert!(pending.is_empty(), "NeedMore must consume all input");
                        break;
                    }
                    Progress::SendContinue => continues += 1,
                    Progress::Request(request) => outcomes.push(Outcome::Request(request)),
                    Progress::Error(error) => {
                        outcomes.push(Outcome::Error(error));
                        if !reader.connection_reusable_after_error() {
                            outcomes.push(Outcome::Closed);
                            return (outcomes, continues);
                        }
                    }
                }
            }
        }
        (outcomes, continues)
    }

    fn whole(bytes: &[u8]) -> Vec<Outcome> {
        drive(limits(), &[bytes]).0
    }

    /// Every two-piece split and the byte-by-byte feed give the whole-feed result.
    fn assert_split_invariant(bytes: &[u8]) -> Vec<Outcome> {
        let expected = whole(bytes);
        for at in 0..=bytes.len() {
            let (first, second) = bytes.split_at(at);
            assert_eq!(
                drive(limits(), &[first, second]).0,
                expected,
                "split at {at}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(drive(limits(), &singles).0, expected, "byte by byte");
        expected
    }

    fn only_request(outcomes: Vec<Outcome>) -> Request {
        match <[Outcome; 1]>::try_from(outcomes) {
            Ok([Outcome::Request(request)]) => request,
            Ok(other) => panic!("BUG: expected one request, got {other:?}"),
            Err(other) => panic!("BUG: expected one request, got {other:?}"),
        }
    }

    /// The fatal error that ends `outcomes`.
    fn only_error(outcomes: Vec<Outcome>) -> FramingError {
        match &outcomes[outcomes.len().saturating_sub(2)..] {
            [Outcome::Error(error), Outcome::Closed] => error.clone(),
            other => panic!("BUG: expected an error, got {other:?}"),
        }
    }

    /// Incomplete heads count against one process-wide budget: a head that would need more
    /// buffer than is left is refused as too large (431), however small it is alone.
    #[test]
    fn incomplete_heads_share_one_budget() {
        let tight = FramingLimits {
            max_pending_head_bytes: 100,
            ..limits()
        };
        let first = [
            b"GET /ping HTTP/1.1\r\nHost: h\r\nX-Pad: ".as_slice(),
            &[b'a'; 200],
        ]
        .concat();
        let (outcomes, _) = drive(tight, &[&first, b"\r\n\r\n"]);
        assert_eq!(only_error(outcomes), FramingError::HeadTooLarge);
        // The same head in one piece needs no buffer at all.
        let whole = [first.as_slice(), b"\r\n\r\n"].concat();
        let (outcomes, _) = drive(tight, &[&whole]);
        assert!(
            matches!(outcomes.first(), Some(Outcome::Request(_))),
            "{outcomes:?}"
        );
    }

    #[test]
    fn parses_get_head_fields() {
        let request = only_request(assert_split_invariant(
            b"GET /query?db=x&q=SHOW+DATABASES HTTP/1.1\r\nHost: h\r\nAccept: text/csv\r\n\
              Authorization: Token abc\r\nUser-Agent: ua\r\nRequest-Id: r1\r\n\
              Content-Type: text/plain\r\n\r\n",
        ));
        let head = request.head;
        assert_eq!(head.method, Method::Get);
        assert_eq!(head.target, "/query?db=x&q=SHOW+DATABASES");
        assert_eq!(head.path, "/query");
        assert_eq!(head.query, "db=x&q=SHOW+DATABASES");
        assert_eq!(head.version_minor, 1);
        assert!(head.keep_alive);
        assert_eq!(head.content_length, None);
        assert_eq!(head.accept.as_deref(), Some("text/csv"));
        assert_eq!(head.authorization.as_deref(), Some("Token abc"));
        assert_eq!(head.user_agent.as_deref(), Some("ua"));
        assert_eq!(head.x_request_id.as_deref(), Some("r1"));
        assert_eq!(head.content_type.as_deref(), Some("text/plain"));
        assert_eq!(head.host.as_deref(), Some("h"));
        assert!(request.body.is_empty());
    }

    #[test]
    fn x_request_id_wins_over_request_id() {
        let request = only_request(whole(
            b"GET /ping HTTP/1.1\r\nHost: h\r\nRequest-Id: a\r\nX-Request-Id: b\r\n\r\n",
        ));
        assert_eq!(request.head.x_request_id.as_deref(), Some("b"));
    }

    #[test]
    fn methods_paths_and_targets() {
        let head = |bytes: &[u8]| only_request(whole(bytes)).head;
        let h = head(b"get /p%69ng+x HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(h.method, Method::Other("get".to_string()));
        assert_eq!(h.path, "/ping+x");
        let h = head(b"GET http://h:1/ping?a=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path.as_str(), h.query.as_str()), ("/ping", "a=1"));
        let h = head(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.method, h.path.as_str()), (Method::Options, "*"));
        for (token, method) in [
            ("HEAD", Method::Head),
            ("PUT", Method::Put),
            ("DELETE", Method::Delete),
        ] {
            let bytes = format!("{token} / HTTP/1.1\r\nHost: h\r\n\r\n");
            assert_eq!(head(bytes.as_bytes()).method, method);
            assert_eq!(method_token(&head(bytes.as_bytes()).method), token);
        }
    }

    fn method_token(method: &Method) -> String {
        method.as_str().to_string()
    }

    #[test]
    fn keep_alive_rules() {
        let keep = |bytes: &[u8]| only_request(whole(bytes)).head.keep_alive;
        assert!(!keep(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(keep(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n"
        ));
        assert!(!keep(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n"
        ));
        assert!(keep(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"
        ));
    }

    #[test]
    fn content_length_body_and_pipelining() {
        let bytes = b"POST /write?db=db HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nm v=1\n\
            GET /ping HTTP/1.1\r\nHost: h\r\n\r\n\
            POST /write HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
        let outcomes = assert_split_invariant(bytes);
        assert_eq!(outcomes.len(), 3);
        match &outcomes[..] {
            [Outcome::Request(a), Outcome::Request(b), Outcome::Request(c)] => {
                assert_eq!(a.body, b"m v=1\n");
                assert_eq!(a.head.content_length, Some(6));
                assert_eq!(b.head.path, "/ping");
                assert!(c.body.is_empty());
            }
            other => panic!("BUG: {other:?}"),
        }
        // One advance returns the first request and leaves the rest unconsumed.
        let mut reader = RequestReader::new(limits());
        let (consumed, progress) = reader.advance(bytes);
        assert!(matches!(progress, Progress::Request(_)));
        let first_len =
            b"POST /write?db=db HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nm v=1\n".len();
        assert_eq!(consumed, first_len);
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let bytes = b"POST /write HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n\
            3;name=value\r\nabc\r\nA \t\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n\
            GET /ping HTTP/1.1\r\nHost: h\r\n\r\n";
        let outcomes = assert_split_invariant(bytes);
        match &outcomes[..] {
            [Outcome::Request(a), Outcome::Request(b)] => {
                assert!(a.head.chunked);
                assert_eq!(a.body, b"abc0123456789");
                assert_eq!(b.head.path, "/ping");
            }
            other => panic!("BUG: {other:?}"),
        }
        let request = only_request(whole(
            b"POST /w HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
              0000000000000002\r\nab\r\n\r\n\r\n",
        ));
        assert_eq!(request.body, b"ab");
    }

    #[test]
    fn chunked_wins_over_content_length_and_closes() {
        let request = only_request(whole(
            b"POST /w HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\
              Transfer-Encoding: chunked\r\n\r\n6\r\nm v=1\n\r\n0\r\n\r\n",
        ));
        assert_eq!(request.body, b"m v=1\n");
        assert!(!request.head.keep_alive);
    }

    #[test]
    fn duplicate_identical_content_length_is_accepted() {
        let request = only_request(whole(
            b"POST /w HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
        ));
        assert_eq!(request.body, b"ab");
    }

    #[test]
    fn gzip_flag_is_case_sensitive() {
        let gz = |value: &str| {
            let bytes = format!("GET / HTTP/1.1\r\nHost: h\r\nContent-Encoding: {value}\r\n\r\n");
            only_request(whole(bytes.as_bytes()))
                .head
                .content_encoding_gzip
        };
        assert!(gz("gzip"));
        assert!(!gz("GZIP"));
    }

    #[test]
    fn send_continue_only_when_body_is_missing() {
        let head = b"POST /write HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\
            Content-Length: 6\r\n\r\n";
        let mut with_body = head.to_vec();
        with_body.extend_from_slice(b"m v=1\n");
        let (outcomes, continues) = drive(limits(), &[&head[..], b"m v=1\n"]);
        assert_eq!(continues, 1);
        assert_eq!(outcomes, whole(&with_body));
        assert!(only_request(outcomes).head.expect_continue);
        assert_eq!(drive(limits(), &[&with_body]).1, 0);
        // HTTP/1.0 and body-less requests ignore the expectation.
        let (outcomes, continues) = drive(
            limits(),
            &[b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"],
        );
        assert_eq!((outcomes.len(), continues), (1, 0));
        let (_, continues) = drive(
            limits(),
            &[
                b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
                b"x",
            ],
        );
        assert_eq!(continues, 0);
        // Chunked bodies too.
        let (_, continues) = drive(
            limits(),
            &[
                b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\
                  Transfer-Encoding: chunked\r\n\r\n",
                b"0\r\n\r\n",
            ],
        );
        assert_eq!(continues, 1);
    }

    fn error_of(bytes: &[u8]) -> FramingError {
        only_error(assert_split_invariant(bytes))
    }

    #[test]
    fn head_errors_and_statuses() {
        const P: &str = "POST / HTTP/1.1\r\nHost: h\r\n";
        let cases: Vec<(Vec<u8>, FramingError, u16)> = vec![
            (
                b"GARBAGE\r\n\r\n".to_vec(),
                FramingError::MalformedHead,
                400,
            ),
            (
                b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
                FramingError::MalformedHead,
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: h\r\nBad Header: y\r\n\r\n".to_vec(),
                FramingError::InvalidHeaderName,
                400,
            ),
            (
                b"GET / HTTP/1.1\r\n\r\n".to_vec(),
                FramingError::MissingHost,
                400,
            ),
            (
                b"GET / HTTP/2.5\r\nHost: h\r\n\r\n".to_vec(),
                FramingError::UnsupportedVersion,
                505,
            ),
            (
                b"GET /p%zz HTTP/1.1\r\nHost: h\r\n\r\n".to_vec(),
                FramingError::InvalidPath,
                400,
            ),
            (
                format!("{P}Content-Length: +6\r\n\r\n").into_bytes(),
                FramingError::InvalidContentLength,
                400,
            ),
            (
                format!("{P}Content-Length: 99999999999999999999\r\n\r\n").into_bytes(),
                FramingError::InvalidContentLength,
                400,
            ),
            (
                format!("{P}Content-Length: 6\r\nContent-Length: 7\r\n\r\n").into_bytes(),
                FramingError::InvalidContentLength,
                400,
            ),
            (
                format!("{P}Transfer-Encoding: gzip\r\n\r\n").into_bytes(),
                FramingError::UnsupportedTransferEncoding,
                501,
            ),
            (
                format!("{P}Transfer-Encoding: gzip, chunked\r\n\r\n").into_bytes(),
                FramingError::UnsupportedTransferEncoding,
                501,
            ),
            (
                format!("{P}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .into_bytes(),
                FramingError::UnsupportedTransferEncoding,
                501,
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
                FramingError::TransferEncodingOnHttp10,
                400,
            ),
            (
                format!("{P}Expect: foo\r\nContent-Length: 1\r\n\r\nx").into_bytes(),
                FramingError::ExpectationFailed,
                417,
            ),
        ];
        for (bytes, expected, status) in cases {
            let error = error_of(&bytes);
            assert_eq!(error, expected, "{}", String::from_utf8_lossy(&bytes));
            assert_eq!(error.status(), status);
            assert!(error.go_server_response().is_some());
            assert!(error.influx_message().is_none());
        }
    }

    #[test]
    fn head_too_large_and_too_many_headers() {
        let mut big = b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: ".to_vec();
        big.extend(vec![b'a'; 2000]);
        assert_eq!(error_of(&big), FramingError::HeadTooLarge);
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(error_of(&big), FramingError::HeadTooLarge);
        assert_eq!(FramingError::HeadTooLarge.status(), 431);
        let mut many = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        for index in 0..40 {
            many.extend_from_slice(format!("X-{index}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(error_of(&many), FramingError::TooManyHeaders);
        assert_eq!(FramingError::TooManyHeaders.status(), 431);
        // 39 headers + Host fit the 40 slots, past the 32 inline ones.
        let cut = many.len() - b"X-39: v\r\n\r\n".len();
        let mut fits = many[..cut].to_vec();
        fits.extend_from_slice(b"\r\n");
        assert_eq!(only_request(whole(&fits)).head.host.as_deref(), Some("h"));
        // A head exactly at the limit is accepted.
        let mut exact = b"GET / HTTP/1.1\r\nHost: h\r\nX: ".to_vec();
        exact.extend(vec![b'a'; 1024 - exact.len() - 4]);
        exact.extend_from_slice(b"\r\n\r\n");
        assert_eq!(exact.len(), 1024);
        assert!(matches!(
            &assert_split_invariant(&exact)[..],
            [Outcome::Request(_)]
        ));
    }

    #[test]
    fn go_server_responses_are_exact() {
        let text = |error: FramingError| {
            String::from_utf8(error.go_server_response().unwrap_or_default()).unwrap_or_default()
        };
        assert_eq!(
            text(FramingError::MalformedHead),
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Connection: close\r\n\r\n400 Bad Request"
        );
        assert_eq!(
            text(FramingError::UnsupportedTransferEncoding),
            "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Connection: close\r\n\r\nUnsupported transfer encoding"
        );
        assert!(text(FramingError::MissingHost)
            .starts_with("HTTP/1.1 400 Bad Request: missing required Host header\r\n"));
        assert!(FramingError::BodyTooLarge.go_server_response().is_none());
    }

    #[test]
    fn content_length_too_large() {
        // /write uses max_body_bytes (1000); 1000 itself is fine.
        let mut at_limit =
            b"POST /write HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n".to_vec();
        at_limit.extend(vec![b'x'; 1000]);
        assert_eq!(only_request(whole(&at_limit)).body.len(), 1000);
        // Small excess: the body is skipped, then a reusable 413, then the next request.
        let mut over = b"POST /write HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n".to_vec();
        over.extend(vec![b'x'; 1001]);
        over.extend_from_slice(b"GET /ping HTTP/1.1\r\nHost: h\r\n\r\n");
        let outcomes = assert_split_invariant(&over);
        let reusable = FramingError::BodyTooLarge;
        match &outcomes[..] {
            [Outcome::Error(error), Outcome::Request(next)] => {
                assert_eq!(error, &reusable);
                assert_eq!(next.head.path, "/ping");
            }
            other => panic!("BUG: {other:?}"),
        }
        assert_eq!(reusable.status(), 413);
        assert_eq!(
            reusable.influx_message().as_deref(),
            Some("Request Entity Too Large")
        );
        // Nothing is reported before the body is there.
        let (outcomes, _) = drive(limits(), &[&over[..60]]);
        assert!(outcomes.is_empty());
        // Other paths use NON_WRITE_MAX_BODY_BYTES.
        let mut query = b"POST /query HTTP/1.1\r\nHost: h\r\nContent-Length: 3000\r\n\r\n".to_vec();
        query.extend(vec![b'q'; 3000]);
        assert_eq!(only_request(whole(&query)).body.len(), 3000);
        // 256 KiB or more, or Expect: 100-continue: refused at once, connection closes.
        let closing = FramingError::BodyTooLarge;
        let closing = [Outcome::Error(closing), Outcome::Closed];
        let huge = b"POST /write HTTP/1.1\r\nHost: h\r\nContent-Length: 262144\r\n\r\n";
        assert_eq!(whole(huge), closing);
        let expect = b"POST /write HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\
            Content-Length: 5000\r\n\r\n";
        assert_eq!(whole(expect), closing);
    }

    fn chunked_request(path: &str, body: &[u8], chunk_bytes: usize) -> Vec<u8> {
        let mut bytes =
            format!("POST {path} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
                .into_bytes();
        for chunk in body.chunks(chunk_bytes) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        bytes
    }

    #[test]
    fn chunked_too_large() {
        let mut bytes = chunked_request("/write", &[b'x'; 1200], 100);
        bytes.extend_from_slice(b"GET /ping HTTP/1.1\r\nHost: h\r\n\r\n");
        let outcomes = assert_split_invariant(&bytes);
        match &outcomes[..] {
            [Outcome::Error(FramingError::BodyTooLarge), Outcome::Request(next)] => {
                assert_eq!(next.head.path, "/ping");
            }
            other => panic!("BUG: {other:?}"),
        }
        let ok = chunked_request("/write", &[b'x'; 1000], 100);
        assert_eq!(only_request(whole(&ok)).body.len(), 1000);
        // A chunk far past the limit closes at once.
        let huge = b"POST /write HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
            ffffffffffffffff\r\n";
        assert_eq!(
            whole(huge),
            vec![Outcome::Error(FramingError::BodyTooLarge), Outcome::Closed]
        );
        // A framing error while skipping: still 413, but closing.
        let mut broken = chunked_request("/write", &[b'x'; 1200], 100);
        broken.truncate(broken.len() - 10);
        broken.extend_from_slice(b"zz\r\n");
        assert_eq!(only_error(whole(&broken)), FramingError::BodyTooLarge);
    }

    #[test]
    fn chunked_errors() {
        let head = b"POST /write HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
        let cases: &[(&[u8], ChunkedError, &str)] = &[
            (
                b"zz\r\nm v=1\n\r\n0\r\n\r\n",
                ChunkedError::InvalidChunkLength,
                "invalid byte in chunk length",
            ),
            (
                b" 6\r\nm v=1\n\r\n0\r\n\r\n",
                ChunkedError::InvalidChunkLength,
                "invalid byte in chunk length",
            ),
            (
                b"0x6\r\nm v=1\n\r\n0\r\n\r\n",
                ChunkedError::InvalidChunkLength,
                "invalid byte in chunk length",
            ),
            (
                b"00000000000000001\r\n",
                ChunkedError::ChunkLengthTooLarge,
                "http chunk length too large",
            ),
            (
                b"6\r\nm v=1\nXX0\r\n\r\n",
                ChunkedError::Malformed,
                "malformed chunked encoding",
            ),
            (
                b"6\nm v=1\n\n0\n\n",
                ChunkedError::Malformed,
                "malformed chunked encoding",
            ),
            (
                b"0\r\nbad trailer\r\n\r\n",
                ChunkedError::MalformedTrailer("bad trailer".to_string()),
                "malformed MIME header: missing colon: \"bad trailer\"",
            ),
        ];
        for (body, expected, message) in cases {
            let mut bytes = head.to_vec();
            bytes.extend_from_slice(body);
            let error = error_of(&bytes);
            assert_eq!(error, FramingError::Chunked(expected.clone()));
            assert_eq!(error.status(), 400);
            assert_eq!(error.influx_message().as_deref(), Some(*message));
            assert!(error.go_server_response().is_none());
        }
        // Line limit (64 in these tests) counts the newline.
        let mut long = head.to_vec();
        long.extend_from_slice(b"1;");
        long.extend(vec![b'e'; 60]);
        let mut fits = long.clone();
        fits.extend_from_slice(b"\nx\r\n0\r\n\r\n");
        assert_eq!(only_request(whole(&fits)).body, b"x");
        long.extend_from_slice(b"e\nx\r\n0\r\n\r\n");
        assert_eq!(
            error_of(&long),
            FramingError::Chunked(ChunkedError::LineTooLong)
        );
        let mut endless = head.to_vec();
        endless.extend(vec![b'1'; 100]);
        assert_eq!(
            error_of(&endless),
            FramingError::Chunked(ChunkedError::LineTooLong)
        );
    }

    #[test]
    fn errors_are_sticky() {
        let mut reader = RequestReader::new(limits());
        let (_, first) = reader.advance(b"GARBAGE\r\n\r\n");
        let (consumed, again) = reader.advance(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(first, again);
        assert_eq!(consumed, 0);
    }

    /// A request as the property test generates it.
    #[derive(Debug, Clone)]
    struct Generated {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        chunk_sizes: Option<Vec<usize>>,
    }

    fn generated() -> impl Strategy<Value = Generated> {
        (
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
            "/[a-z0-9/]{0,12}(%4[1-9])?(\\?[a-z0-9=&+%]{0,16})?",
            prop::collection::vec(("X-[A-Za-z]{1,8}", "[ -~]{0,20}"), 0..5),
            prop::collection::vec(any::<u8>(), 0..300),
            prop::option::of(prop::collection::vec(1usize..64, 1..8)),
        )
            .prop_map(|(method, target, headers, body, chunk_sizes)| Generated {
                method: method.to_string(),
                target,
                headers,
                body,
                chunk_sizes,
            })
    }

    fn serialise(request: &Generated) -> Vec<u8> {
        let mut bytes = format!(
            "{} {} HTTP/1.1\r\nHost: h\r\n",
            request.method, request.target
        )
        .into_bytes();
        for (name, value) in &request.headers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        match &request.chunk_sizes {
            None => {
                bytes.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", request.body.len()).as_bytes(),
                );
                bytes.extend_from_slice(&request.body);
            }
            Some(sizes) => {
                bytes.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &request.body[..];
                let mut index = 0;
                while !rest.is_empty() {
                    let take = sizes[index % sizes.len()].min(rest.len());
                    bytes.extend_from_slice(format!("{take:X};ext=1\r\n").as_bytes());
                    bytes.extend_from_slice(&rest[..take]);
                    bytes.extend_from_slice(b"\r\n");
                    rest = &rest[take..];
                    index += 1;
                }
                bytes.extend_from_slice(b"0\r\n\r\n");
            }
        }
        bytes
    }

    fn split_by(bytes: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
        let mut pieces = Vec::new();
        let mut rest = bytes;
        let mut index = 0;
        while !rest.is_empty() {
            let take = sizes
                .get(index % sizes.len().max(1))
                .copied()
                .unwrap_or(rest.len());
            let take = take.clamp(1, rest.len());
            pieces.push(rest[..take].to_vec());
            rest = &rest[take..];
            index += 1;
        }
        pieces
    }

    proptest! {
        #[test]
        fn serialised_requests_parse_back_in_any_split(
            requests in prop::collection::vec(generated(), 1..4),
            split_sizes in prop::collection::vec(1usize..80, 1..10),
        ) {
            let mut stream = Vec::new();
            for request in &requests {
                stream.extend(serialise(request));
            }
            let pieces = split_by(&stream, &split_sizes);
            let piece_refs: Vec<&[u8]> = pieces.iter().map(|p| &p[..]).collect();
            let (outcomes, _) = drive(limits(), &piece_refs);
            prop_assert_eq!(&outcomes, &whole(&stream));
            prop_assert_eq!(outcomes.len(), requests.len());
            for (outcome, request) in outcomes.iter().zip(&requests) {
                let Outcome::Request(parsed) = outcome else {
                    return Err(TestCaseError::fail(format!("not a request: {outcome:?}")));
                };
                prop_assert_eq!(parsed.head.method.as_str(), request.method.as_str());
                prop_assert_eq!(&parsed.head.target, &request.target);
                prop_assert_eq!(&parsed.body, &request.body);
                prop_assert_eq!(parsed.head.chunked, request.chunk_sizes.is_some());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_split_invariant(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            split_sizes in prop::collection::vec(1usize..40, 1..6),
        ) {
            let pieces = split_by(&bytes, &split_sizes);
            let piece_refs: Vec<&[u8]> = pieces.iter().map(|p| &p[..]).collect();
            prop_assert_eq!(drive(limits(), &piece_refs).0, whole(&bytes));
        }
    }
}

#[cfg(test)]
mod mid_request_tests {
    use super::*;

    #[test]
    fn a_partial_request_is_mid_request() {
        let mut reader = RequestReader::new(FramingLimits::influxdb_defaults());
        assert!(!reader.is_mid_request());
        let (_, progress) = reader
            .advance(b"POST /write?db=x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nm v=");
        assert!(matches!(progress, Progress::NeedMore), "{progress:?}");
        assert!(reader.is_mid_request());
        let mut reader = RequestReader::new(FramingLimits::influxdb_defaults());
        reader.advance(b"GET /pi");
        assert!(reader.is_mid_request());
    }
}
