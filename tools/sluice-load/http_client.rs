//! A minimal blocking HTTP/1.1 keep-alive client: just enough to drive `/write`, `/query` and
//! `/ping` of one server over plain TCP, or over TLS for an `https://` URL (rustls; the
//! server's certificate is not verified: this is a load generator, not a client to trust).
//!
//! Owns: the TCP connection, request framing (always `Content-Length`), and response parsing.
//! Does not own: retries or reconnection policy (the caller drops a [`Connection`] after any
//! error and opens a new one).
//!
//! Response algorithm ([`ResponseReader::read_response`]): fill the buffer until the blank line
//! that ends the header block (bounded by [`HEADER_BYTES_MAX`]); parse the status line and the
//! headers we need (`Content-Length`, `Transfer-Encoding`, `Connection`); then read the body:
//! none for 1xx/204/304; chunked (`size-hex[;ext] CRLF data CRLF ... 0 CRLF trailers CRLF`);
//! exactly `Content-Length` bytes; or, with neither, until the server closes. Bytes the server
//! sent past the end of one response stay buffered for the next. Bodies are capped at
//! [`BODY_BYTES_MAX`]. Nothing here panics on what the server sends.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// Largest status line plus header block accepted.
pub const HEADER_BYTES_MAX: usize = 64 * 1024;
/// Largest response body accepted (query results can be big).
pub const BODY_BYTES_MAX: usize = 512 * 1024 * 1024;
/// Largest chunk-size line (size, extensions) or trailer line accepted.
const CHUNK_LINE_BYTES_MAX: usize = 4 * 1024;
/// How much is read from the socket at a time.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// What went wrong on one exchange.
#[derive(Debug)]
pub enum HttpError {
    /// The socket failed (includes timeouts).
    Io(io::Error),
    /// The server closed the connection before a complete response.
    Closed,
    /// The response did not follow HTTP/1.x framing.
    Malformed(&'static str),
    /// The response exceeded a limit of this client.
    TooLarge(&'static str),
    /// The URL is not `http[s]://host[:port]`.
    BadUrl(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Io(error) => write!(f, "i/o error: {error}"),
            HttpError::Closed => write!(f, "connection closed before a complete response"),
            HttpError::Malformed(what) => write!(f, "malformed response: {what}"),
            HttpError::TooLarge(what) => write!(f, "response too large: {what}"),
            HttpError::BadUrl(url) => write!(f, "bad url {url:?}: expected http[s]://host[:port]"),
        }
    }
}

impl From<io::Error> for HttpError {
    fn from(error: io::Error) -> Self {
        HttpError::Io(error)
    }
}

impl HttpError {
    /// A short stable label for error tallies.
    pub fn kind_label(&self) -> &'static str {
        match self {
            HttpError::Io(error) if is_timeout(error) => "timeout",
            HttpError::Io(error) if error.kind() == io::ErrorKind::ConnectionRefused => "refused",
            HttpError::Io(_) => "io",
            HttpError::Closed => "closed",
            HttpError::Malformed(_) => "malformed",
            HttpError::TooLarge(_) => "too-large",
            HttpError::BadUrl(_) => "bad-url",
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, e.g. 204.
    pub status: u16,
    /// Decoded body (chunked framing removed; content encoding left as sent).
    pub body: Vec<u8>,
    /// The server will close (or has closed) the connection after this response.
    pub connection_close: bool,
}

/// Where to connect: from a base URL `http://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` for `connect`.
    pub address: String,
    /// Value of the `Host` header.
    pub host_header: String,
    /// `https://`: TLS, with the server name of the URL
    pub tls: Option<rustls_pki_types::ServerName<'static>>,
}

impl Endpoint {
    /// Parses `http[s]://host[:port]` (a trailing `/` is allowed; port defaults to 80, 443).
    pub fn from_url(url: &str) -> Result<Endpoint, HttpError> {
        let bad = || HttpError::BadUrl(url.to_string());
        let (rest, https) = match url.strip_prefix("https://") {
            Some(rest) => (rest, true),
            None => (url.strip_prefix("http://").ok_or_else(bad)?, false),
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') || authority.contains('@') {
            return Err(bad());
        }
        let has_port = match authority.rfind(':') {
            // `[::1]` without a port has its last ':' inside the brackets.
            Some(colon) => !authority[colon..].contains(']'),
            None => false,
        };
        let address = if has_port {
            authority.to_string()
        } else if https {
            format!("{authority}:443")
        } else {
            format!("{authority}:80")
        };
        let tls = if https {
            let host = match authority.rfind(':') {
                Some(colon) if has_port => &authority[..colon],
                _ => authority,
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Some(rustls_pki_types::ServerName::try_from(host.to_string()).map_err(|_| bad())?)
        } else {
            None
        };
        Ok(Endpoint {
            address,
            host_header: authority.to_string(),
            tls,
        })
    }
}

/// Percent-encodes `text` for a query-string value (everything but RFC 3986 unreserved).
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(text.len() * 3);
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    encoded
}

/// The socket, plain or through TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(stream) => stream.read(buffer),
            Stream::Tls(stream) => stream.read(buffer),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(stream) => stream.write(bytes),
            Stream::Tls(stream) => stream.write(bytes),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(stream) => stream.flush(),
            Stream::Tls(stream) => stream.flush(),
        }
    }
}

/// Accepts any server certificate (the bench's self-signed one): signatures are still
/// checked, the chain of trust is not.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &rustls_pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &rustls_pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration every TLS connection of this process shares.
fn tls_client_config() -> Result<Arc<rustls::ClientConfig>, HttpError> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    // ring has no post-quantum key exchange, hence the deprecation; the server has none either.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| HttpError::Io(io::Error::other(error)))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Ok(Arc::clone(CONFIG.get_or_init(|| Arc::new(config))))
}

/// A keep-alive connection to one server.
pub struct Connection {
    stream: Stream,
    reader: ResponseReader,
    host_header: String,
    request_head: Vec<u8>,
}

impl Connection {
    /// Connects with `timeout` for connecting and for every later read and write.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Connection, HttpError> {
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address resolved");
        for socket_address in endpoint.address.to_socket_addrs()? {
            match TcpStream::connect_timeout(&socket_address, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(timeout))?;
                    stream.set_write_timeout(Some(timeout))?;
                    let stream = match &endpoint.tls {
                        None => Stream::Plain(stream),
                        Some(name) => {
                            let session =
                                rustls::ClientConnection::new(tls_client_config()?, name.clone())
                                    .map_err(|error| HttpError::Io(io::Error::other(error)))?;
                            Stream::Tls(Box::new(rustls::StreamOwned::new(session, stream)))
                        }
                    };
                    return Ok(Connection {
                        stream,
                        reader: ResponseReader::new(),
                        host_header: endpoint.host_header.clone(),
                        request_head: Vec::with_capacity(512),
                    });
                }
                Err(error) => last_error = error,
            }
        }
        Err(HttpError::Io(last_error))
    }

    /// Sends one request and reads its response. `extra_headers` are written as given.
    /// After an error the connection is in an unknown state: drop it.
    pub fn exchange(
        &mut self,
        method: &str,
        path_and_query: &str,
        extra_headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        self.request_head.clear();
        let head = &mut self.request_head;
        write!(
            head,
            "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\n",
            self.host_header
        )?;
        for (name, value) in extra_headers {
            write!(head, "{name}: {value}\r\n")?;
        }
        if !body.is_empty() || method != "GET" {
            write!(head, "Content-Length: {}\r\n", body.len())?;
        }
        head.extend_from_slice(b"\r\n");
        self.stream.write_all(head)?;
        self.stream.write_all(body)?;
        self.reader.read_response(&mut self.stream)
    }
}

/// Parses responses out of a byte stream, keeping leftover bytes between responses.
pub struct ResponseReader {
    buffer: Vec<u8>,
    /// First unconsumed byte; `start <= end <= buffer.len()`.
    start: usize,
    /// One past the last valid byte.
    end: usize,
}

/// The parts of the header block that decide how the body is framed.
struct Head {
    status: u16,
    content_length: Option<usize>,
    chunked: bool,
    connection_close: bool,
}

impl Default for ResponseReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseReader {
    /// An empty reader.
    pub fn new() -> ResponseReader {
        ResponseReader {
            buffer: vec![0; READ_CHUNK_BYTES],
            start: 0,
            end: 0,
        }
    }

    /// Reads one complete response from `stream`.
    pub fn read_response<R: Read>(&mut self, stream: &mut R) -> Result<Response, HttpError> {
        let head_length = self.fill_until_head_end(stream)?;
        let head = parse_head(&self.buffer[self.start..self.start + head_length])?;
        self.start += head_length;
        let no_body = matches!(head.status, 100..=199 | 204 | 304);
        let mut body = Vec::new();
        let mut connection_close = head.connection_close;
        if no_body {
        } else if head.chunked {
            self.read_chunked(stream, &mut body)?;
        } else if let Some(length) = head.content_length {
            if length > BODY_BYTES_MAX {
                return Err(HttpError::TooLarge("content-length"));
            }
            self.read_exact_into(stream, length, &mut body)?;
        } else {
            self.read_to_close(stream, &mut body)?;
            connection_close = true;
        }
        Ok(Response {
            status: head.status,
            body,
            connection_close,
        })
    }

    fn available(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }

    /// Reads more bytes into the buffer, compacting or growing it; `Ok(0)` at end of stream.
    fn fill<R: Read>(&mut self, stream: &mut R) -> Result<usize, HttpError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buffer.len() {
            if self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buffer.resize(self.buffer.len() + READ_CHUNK_BYTES, 0);
            }
        }
        loop {
            match stream.read(&mut self.buffer[self.end..]) {
                Ok(count) => {
                    self.end += count;
                    return Ok(count);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(HttpError::Io(error)),
            }
        }
    }

    /// Returns the length of the head including the blank line that ends it.
    fn fill_until_head_end<R: Read>(&mut self, stream: &mut R) -> Result<usize, HttpError> {
        let mut searched_from: usize = 0;
        loop {
            let available = self.available();
            let search_start = searched_from.saturating_sub(3);
            if let Some(position) = find(&available[search_start..], b"\r\n\r\n") {
                return Ok(search_start + position + 4);
            }
            searched_from = available.len();
            if searched_from > HEADER_BYTES_MAX {
                return Err(HttpError::TooLarge("header block"));
            }
            if self.fill(stream)? == 0 {
                return Err(HttpError::Closed);
            }
        }
    }

    /// Takes one CRLF-terminated line (without the CRLF) of at most `limit` bytes.
    fn take_line<R: Read>(&mut self, stream: &mut R, limit: usize) -> Result<Vec<u8>, HttpError> {
        loop {
            if let Some(position) = find(self.available(), b"\r\n") {
                let line = self.buffer[self.start..self.start + position].to_vec();
                self.start += position + 2;
                return Ok(line);
            }
            if self.available().len() > limit {
                return Err(HttpError::TooLarge("chunk line"));
            }
            if self.fill(stream)? == 0 {
                return Err(HttpError::Closed);
            }
        }
    }

    fn read_exact_into<R: Read>(
        &mut self,
        stream: &mut R,
        length: usize,
        body: &mut Vec<u8>,
    ) -> Result<(), HttpError> {
        let mut remaining = length;
        while remaining > 0 {
            if self.start == self.end && self.fill(stream)? == 0 {
                return Err(HttpError::Closed);
            }
            let take = remaining.min(self.end - self.start);
            body.extend_from_slice(&self.buffer[self.start..self.start + take]);
            self.start += take;
            remaining -= take;
        }
        Ok(())
    }

    fn read_chunked<R: Read>(
        &mut self,
        stream: &mut R,
        body: &mut Vec<u8>,
    ) -> Result<(), HttpError> {
        loop {
            let size_line = self.take_line(stream, CHUNK_LINE_BYTES_MAX)?;
            let size_text = size_line.split(|&b| b == b';').next().unwrap_or(&[]);
            let size_text = std::str::from_utf8(size_text)
                .map_err(|_| HttpError::Malformed("chunk size not ASCII"))?
                .trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| HttpError::Malformed("chunk size not hex"))?;
            if size == 0 {
                // Trailers, ended by an empty line.
                while !self.take_line(stream, CHUNK_LINE_BYTES_MAX)?.is_empty() {}
                return Ok(());
            }
            if body.len().saturating_add(size) > BODY_BYTES_MAX {
                return Err(HttpError::TooLarge("chunked body"));
            }
            self.read_exact_into(stream, size, body)?;
            let mut line_end = Vec::with_capacity(2);
            self.read_exact_into(stream, 2, &mut line_end)?;
            if line_end != b"\r\n" {
                return Err(HttpError::Malformed("chunk data not followed by CRLF"));
            }
        }
    }

    fn read_to_close<R: Read>(
        &mut self,
        stream: &mut R,
        body: &mut Vec<u8>,
    ) -> Result<(), HttpError> {
        loop {
            body.extend_from_slice(self.available());
            self.start = self.end;
            if body.len() > BODY_BYTES_MAX {
                return Err(HttpError::TooLarge("body read to close"));
            }
            if self.fill(stream)? == 0 {
                return Ok(());
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn parse_head(head: &[u8]) -> Result<Head, HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::Malformed("head not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed("status line"));
    }
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .filter(|code| (100..=999).contains(code))
        .ok_or(HttpError::Malformed("status code"))?;
    let mut head = Head {
        status,
        content_length: None,
        chunked: false,
        connection_close: version == "HTTP/1.0",
    };
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header without ':'"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let length = value
                .parse()
                .map_err(|_| HttpError::Malformed("content-length"))?;
            head.content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                head.connection_close = true;
            } else if value.contains("keep-alive") {
                head.connection_close = false;
            }
        }
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes `step` at a time, to exercise every buffer boundary.
    struct Trickle {
        bytes: Vec<u8>,
        position: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let take = self
                .step
                .min(out.len())
                .min(self.bytes.len() - self.position);
            out[..take].copy_from_slice(&self.bytes[self.position..self.position + take]);
            self.position += take;
            Ok(take)
        }
    }

    fn read_all(bytes: &[u8], count: usize) -> Vec<Result<Response, String>> {
        let mut results = Vec::new();
        for step in [1, 2, 3, 7, 64, 100_000] {
            let mut stream = Trickle {
                bytes: bytes.to_vec(),
                position: 0,
                step,
            };
            let mut reader = ResponseReader::new();
            let these: Vec<_> = (0..count)
                .map(|_| reader.read_response(&mut stream).map_err(|e| e.to_string()))
                .collect();
            if results.is_empty() {
                results = these;
            } else {
                assert_eq!(results, these, "step {step}");
            }
        }
        results
    }

    fn ok(status: u16, body: &[u8], close: bool) -> Result<Response, String> {
        Ok(Response {
            status,
            body: body.to_vec(),
            connection_close: close,
        })
    }

    #[test]
    fn content_length_and_no_body_responses_back_to_back() {
        let wire = b"HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.6.7\r\n\r\n\
            HTTP/1.1 400 Bad Request\r\ncontent-length: 18\r\n\r\n{\"error\":\"bad\"}\n\n\n\
            HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let results = read_all(wire, 3);
        assert_eq!(results[0], ok(204, b"", false));
        assert_eq!(results[1], ok(400, b"{\"error\":\"bad\"}\n\n\n", false));
        assert_eq!(results[2], ok(200, b"", true));
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;name=x\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n\
            HTTP/1.1 204 No Content\r\n\r\n";
        let results = read_all(wire, 2);
        assert_eq!(results[0], ok(200, b"hello 0123456789", false));
        assert_eq!(results[1], ok(204, b"", false));
    }

    #[test]
    fn large_content_length_body_spans_many_reads() {
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        wire.extend_from_slice(&body);
        let mut stream = Trickle {
            bytes: wire,
            position: 0,
            step: 10_000,
        };
        let response = ResponseReader::new().read_response(&mut stream).unwrap();
        assert_eq!(response.body, body);
    }

    #[test]
    fn http10_without_length_reads_to_close() {
        let results = read_all(b"HTTP/1.0 200 OK\r\n\r\nabc", 1);
        assert_eq!(results[0], ok(200, b"abc", true));
    }

    #[test]
    fn errors_are_values() {
        let one = |wire: &[u8]| read_all(wire, 1).remove(0).unwrap_err();
        assert!(one(b"").contains("closed"));
        assert!(one(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").contains("closed"));
        assert!(one(b"SPDY 200 OK\r\n\r\n").contains("status line"));
        assert!(one(b"HTTP/1.1 2x0 OK\r\n\r\n").contains("status code"));
        assert!(one(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").contains("content-length"));
        assert!(one(b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n").contains("':'"));
        let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(one(bad_chunk).contains("hex"));
        let no_crlf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n";
        assert!(one(no_crlf).contains("CRLF"));
        let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', HEADER_BYTES_MAX + 10));
        assert!(one(&huge).contains("too large"));
    }

    #[test]
    fn endpoints_and_encoding() {
        let endpoint = Endpoint::from_url("http://127.0.0.1:8086/").unwrap();
        assert_eq!(endpoint.address, "127.0.0.1:8086");
        assert_eq!(endpoint.host_header, "127.0.0.1:8086");
        assert_eq!(
            Endpoint::from_url("http://example").unwrap().address,
            "example:80"
        );
        assert_eq!(
            Endpoint::from_url("http://[::1]").unwrap().address,
            "[::1]:80"
        );
        assert_eq!(
            Endpoint::from_url("http://[::1]:9").unwrap().address,
            "[::1]:9"
        );
        assert_eq!(Endpoint::from_url("https://x").unwrap().address, "x:443");
        assert!(Endpoint::from_url("https://x").unwrap().tls.is_some());
        assert!(Endpoint::from_url("ftp://x").is_err());
        assert!(Endpoint::from_url("http://x/path").is_err());
        assert_eq!(
            percent_encode("SELECT \"a\" FROM m"),
            "SELECT%20%22a%22%20FROM%20m"
        );
        assert_eq!(percent_encode("a-b_c.d~é"), "a-b_c.d~%C3%A9");
    }
}
