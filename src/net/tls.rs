//! HTTPS on the event loops: the TLS configuration loaded at start-up, and the I/O of one
//! connection's TLS session (`rustls::ServerConnection`, sans-I/O: it never touches a socket
//! itself; the functions here feed it the socket's bytes and write out what it encrypted).
//!
//! A session is shared (`Arc<Mutex<_>>`) by the loop that owns the connection and, while a
//! query is in flight, the query thread that writes the answer (`connection::ClientQueryReply`),
//! just as the plain socket is. Each holds the lock only to move bytes in or out, never while
//! waiting for the socket, so the encrypted bytes leave in the order they were produced. The
//! session holds at most `NET_TLS_SEND_BUFFER_MAX_BYTES` of them unsent: past that it takes
//! no more plaintext, and the writer waits for the client to read.
//!
//! Only TLS 1.2 and 1.3 are offered (ring's cipher suites, rustls' defaults). A client that
//! speaks plain HTTP to the port gets Go's answer (`400 ... Client sent an HTTP request to an
//! HTTPS server.`) and the connection is closed.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::ServerConnection;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::limits::NET_TLS_SEND_BUFFER_MAX_BYTES;

/// The answer Go's HTTP server gives a plain HTTP request on a TLS port.
const PLAIN_HTTP_ANSWER: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// Loads `[http] https-certificate` and `https-private-key` (the key is read from the
/// certificate file when `private_key` is empty, as InfluxDB allows) into the configuration
/// every HTTPS connection starts from. The error names the file and what is wrong with it.
pub fn server_config(
    certificate: &str,
    private_key: &str,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .and_then(|certificates| certificates.collect())
        .map_err(|e| format!("https-certificate {certificate:?}: {e}"))?;
    if certificates.is_empty() {
        return Err(format!(
            "https-certificate {certificate:?}: no PEM certificate in the file"
        ));
    }
    let key_file = if private_key.is_empty() {
        certificate
    } else {
        private_key
    };
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("https-private-key {key_file:?}: no usable PEM private key ({e})"))?;
    // Deprecated only because ring has no post-quantum key exchange (aws-lc-rs has, but wants
    // cmake to build); InfluxDB 1.x offers none either.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|e| {
            format!("https-certificate {certificate:?} and key {key_file:?} do not work: {e}")
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One connection's TLS session, shared with the query thread writing its answer.
pub(super) type SharedSession = Arc<Mutex<ServerConnection>>;

/// A new connection's session; `None` only if the configuration is unusable (logged).
pub(super) fn new_session(config: &Arc<rustls::ServerConfig>) -> Option<SharedSession> {
    match ServerConnection::new(Arc::clone(config)) {
        Ok(mut session) => {
            session.set_buffer_limit(Some(NET_TLS_SEND_BUFFER_MAX_BYTES));
            Some(Arc::new(Mutex::new(session)))
        }
        Err(error) => {
            crate::log_warn!("net", "starting a TLS session failed"; error = error);
            None
        }
    }
}

/// The session, locked. A panic while it was held aborts the process (panic = "abort"), so
/// a poisoned lock cannot be met; taking the guard anyway keeps this free of `unwrap`.
pub(super) fn lock(session: &Mutex<ServerConnection>) -> MutexGuard<'_, ServerConnection> {
    sluice_base::locks::lock(session)
}

/// What one `read` found.
pub(super) enum ReadOutcome {
    /// this many decrypted bytes were put in the buffer
    Data(usize),
    /// nothing to decrypt until the socket has more
    WouldBlock,
    /// the client closed (with or without `close_notify`)
    Closed,
}

/// Reads the socket into the session until it has decrypted bytes for `buffer` (which must
/// not be empty), the socket would block, or the client closed; writes the session's
/// handshake replies as they arise. Returns the outcome and the encrypted bytes read. An
/// `Err` is a socket error or a TLS error (the alert, if any, has been sent).
pub(super) fn read(
    session: &Mutex<ServerConnection>,
    socket: &mut mio::net::TcpStream,
    buffer: &mut [u8],
) -> (io::Result<ReadOutcome>, usize) {
    let mut tls = lock(session);
    let mut encrypted = 0;
    loop {
        match tls.reader().read(buffer) {
            Ok(0) => return (Ok(ReadOutcome::Closed), encrypted),
            Ok(count) => return (Ok(ReadOutcome::Data(count)), encrypted),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                return (Ok(ReadOutcome::Closed), encrypted)
            }
            Err(error) => return (Err(error), encrypted),
        }
        match tls.read_tls(socket) {
            Ok(0) => return (Ok(ReadOutcome::Closed), encrypted),
            Ok(count) => encrypted += count,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                return (Ok(ReadOutcome::WouldBlock), encrypted)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return (Err(error), encrypted),
        }
        let processed = tls.process_new_packets();
        // Handshake messages, or the alert that reports an error: out now, best effort (a
        // full socket leaves them to the next flush).
        while tls.wants_write() {
            match tls.write_tls(socket) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if let Err(error) = processed {
            return (
                Err(io::Error::new(io::ErrorKind::InvalidData, error)),
                encrypted,
            );
        }
    }
}

/// Before the first TLS byte is read: when the client's first bytes are a plain HTTP request
/// line, answers as Go's server does and returns true (the caller closes the connection).
pub(super) fn refused_plain_http(socket: &mut mio::net::TcpStream) -> bool {
    let mut first = [0u8; 5];
    let looks_like_http = match socket.peek(&mut first) {
        Ok(5) => [
            &b"GET /"[..],
            b"HEAD ",
            b"POST ",
            b"PUT /",
            b"OPTIO",
            b"DELET",
            b"PATCH",
        ]
        .contains(&&first[..]),
        _ => false,
    };
    if looks_like_http {
        // Take what the client sent, so that closing sends a FIN rather than a reset.
        let mut discard = [0u8; 16 * 1024];
        let _ = socket.read(&mut discard);
        let _ = socket.write(PLAIN_HTTP_ANSWER);
        let _ = socket.shutdown(std::net::Shutdown::Write);
    }
    looks_like_http
}

/// Moves the bytes of `parts` (after the first `skip`) into the session as far as its buffer
/// takes them and writes encrypted bytes to `socket` until it would block. Returns the
/// plaintext bytes taken and whether the socket is full; `Err` on a socket error.
pub(super) fn write_parts(
    session: &Mutex<ServerConnection>,
    mut socket: impl Write,
    parts: &[&[u8]],
    skip: usize,
    room_left_allowed: usize,
) -> io::Result<(usize, bool)> {
    let mut tls = lock(session);
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let mut taken = 0;
    loop {
        if !write_out(&mut tls, &mut socket)? {
            return Ok((taken, true));
        }
        let left = total - skip - taken;
        if left == 0 || left <= room_left_allowed {
            return Ok((taken, false));
        }
        let mut offset = skip + taken;
        let mut slices = Vec::with_capacity(parts.len());
        for part in parts {
            if offset >= part.len() {
                offset -= part.len();
                continue;
            }
            slices.push(io::IoSlice::new(part.get(offset..).unwrap_or_default()));
            offset = 0;
        }
        let count = tls.writer().write_vectored(&slices)?;
        if count == 0 {
            // Only a session still handshaking holds plaintext back; wait for the client.
            return Ok((taken, true));
        }
        taken += count;
    }
}

/// Writes the session's encrypted bytes to `socket`: true when all are out, false when the
/// socket is full.
pub(super) fn write_out(tls: &mut ServerConnection, mut socket: impl Write) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(&mut socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}
