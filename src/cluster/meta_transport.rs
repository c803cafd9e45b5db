//! The meta group's transport on `[meta] bind-address` (8091): length-prefixed frames over
//! TCP, a handshake that names the cluster (and carries the shared secret when auth is on),
//! Raft messages one way per connection, and the join request of a new node.
//!
//! Threads: `sluice-meta-listen` accepts (blocking; [`MetaListener::stop`] wakes it with a
//! connection of its own) and hands each connection to an idle
//! `sluice-meta-peer-N` (a fixed pool of [`META_PEER_THREADS`]; none idle → closed), which
//! reads its frames with blocking I/O (read timeout [`META_IO_TIMEOUT_MS`]) and posts Raft
//! messages to the raft thread's bounded inbox (full → dropped: Raft resends). One
//! `sluice-meta-send` thread takes outgoing messages from a bounded queue
//! ([`META_OUTBOX_DEPTH`]; full → dropped) and writes them on one connection per peer,
//! dialled on demand (connect timeout [`META_CONNECT_TIMEOUT_MS`]); a peer that cannot be
//! reached is skipped for [`META_PEER_BACKOFF_MS`] so it never holds up the others for long.
//!
//! Frames (little-endian): `length u32 | kind u8 | payload`, length counting kind and
//! payload, at most [`META_FRAME_BYTES_MAX`] (a longer frame closes the connection).
//! ```text
//! kind 1 hello    magic "SLUICEM1" | cluster_id u64 (0: a new node, join only)
//!                 | from_node u64 | secret (u32 len + bytes)
//! kind 2 welcome  status u8 (0 ok, 1 other cluster, 2 bad secret) | text (u32 len + bytes)
//! kind 3 raft     one eraftpb::Message (protobuf)
//! kind 4 join     meta | http | data address (u32 len + bytes each)
//! kind 5 joined   status u8 (0 ok, 1 refused) | node_id u64 | cluster_id u64
//!                 | peer_count u32 | (id u64 | meta address)* | text
//! ```
//! The secret is compared in constant time (`subtle`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, Sender, TrySendError};
use protobuf::Message as _;
use raft::eraftpb::Message;

use crate::meta::NodeAddresses;

/// Largest frame accepted (a Raft snapshot carries the whole meta state).
pub const META_FRAME_BYTES_MAX: usize = 64 << 20;
/// Connections read at once (one `sluice-meta-peer-N` thread each).
pub const META_PEER_THREADS: usize = 16;
/// Socket read/write timeout; also how often a peer thread looks at the stop flag.
pub const META_IO_TIMEOUT_MS: u64 = 1_000;
/// How long dialling a peer may take.
pub const META_CONNECT_TIMEOUT_MS: u64 = 500;
/// How long a peer that could not be reached is skipped.
pub const META_PEER_BACKOFF_MS: u64 = 1_000;
/// Outgoing Raft messages queued for the sender thread.
pub const META_OUTBOX_DEPTH: usize = 4_096;
const HELLO_MAGIC: &[u8; 8] = b"SLUICEM1";

const KIND_HELLO: u8 = 1;
const KIND_WELCOME: u8 = 2;
const KIND_RAFT: u8 = 3;
const KIND_JOIN: u8 = 4;
const KIND_JOINED: u8 = 5;

/// What a node proves about itself when it connects.
#[derive(Clone)]
pub struct Credentials {
    /// this node's cluster (0 before it joined one)
    pub cluster_id: u64,
    /// `[meta] shared-secret` when `[http] auth-enabled`, else empty
    pub secret: Vec<u8>,
}

/// The answer to a join.
#[derive(Clone, Debug)]
pub struct Joined {
    /// the id the new node got
    pub node_id: u64,
    /// the cluster it joined
    pub cluster_id: u64,
    /// every member's id and meta address
    pub peers: Vec<(u64, String)>,
}

/// What the peer threads hand to the rest of the meta group.
pub trait InboundHandler: Send + Sync {
    /// A Raft message arrived (must not block).
    fn raft_message(&self, message: Message);
    /// A node asks to join (may block for a bounded time on the group).
    fn join(&self, addresses: NodeAddresses) -> Result<Joined, String>;
    /// The cluster id this node serves now (0 while it has none).
    fn cluster_id(&self) -> u64;
}

fn put_text(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text);
}

/// Largest handshake frame (hello, welcome, join and its answer), bytes: these come before
/// the peer has proved anything, so an unknown client cannot make the node allocate a full
/// [`META_FRAME_BYTES_MAX`] frame per connection.
pub const META_HANDSHAKE_FRAME_BYTES_MAX: usize = 64 << 10;

/// Reads `[len|kind|payload]` of at most `frame_bytes_max` bytes; `Ok(None)` on a read
/// timeout before any byte.
fn read_frame(
    stream: &mut TcpStream,
    frame_bytes_max: usize,
) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut length = [0u8; 4];
    match stream.read(&mut length[..1]) {
        Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    }
    stream.read_exact(&mut length[1..])?;
    let length = u32::from_le_bytes(length) as usize;
    if length == 0 || length > frame_bytes_max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("meta frame of {length} bytes (at most {frame_bytes_max})"),
        ));
    }
    let mut frame = vec![0u8; length];
    stream.read_exact(&mut frame)?;
    let kind = frame[0];
    frame.remove(0);
    Ok(Some((kind, frame)))
}

/// Reads one handshake frame (at most [`META_HANDSHAKE_FRAME_BYTES_MAX`]), waiting through
/// read timeouts until `deadline`.
fn read_frame_until(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<(u8, Vec<u8>)> {
    loop {
        if let Some(frame) = read_frame(stream, META_HANDSHAKE_FRAME_BYTES_MAX)? {
            return Ok(frame);
        }
        if Instant::now() >= deadline {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
    }
}

fn write_frame(stream: &mut TcpStream, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(payload.len() + 5);
    frame.extend_from_slice(&((payload.len() + 1) as u32).to_le_bytes());
    frame.push(kind);
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// A small cursor over a frame's payload.
struct Payload<'a>(&'a [u8]);

impl<'a> Payload<'a> {
    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        if self.0.len() < count {
            return None;
        }
        let (head, rest) = self.0.split_at(count);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let length = self.u32()? as usize;
        self.take(length)
    }
    fn text(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

fn hello(credentials: &Credentials, from_node: u64) -> Vec<u8> {
    let mut payload = HELLO_MAGIC.to_vec();
    payload.extend_from_slice(&credentials.cluster_id.to_le_bytes());
    payload.extend_from_slice(&from_node.to_le_bytes());
    put_text(&mut payload, &credentials.secret);
    payload
}

/// Dials `address` and says hello; the connection is ready for frames once this returns.
fn dial(address: &str, credentials: &Credentials, from_node: u64) -> Result<TcpStream, String> {
    let socket_address: SocketAddr = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address}: no address"))?;
    let mut stream = TcpStream::connect_timeout(
        &socket_address,
        Duration::from_millis(META_CONNECT_TIMEOUT_MS),
    )
    .map_err(|e| format!("{address}: {e}"))?;
    let timeout = Some(Duration::from_millis(META_IO_TIMEOUT_MS));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    let _ = stream.set_nodelay(true);
    write_frame(&mut stream, KIND_HELLO, &hello(credentials, from_node))
        .map_err(|e| format!("{address}: {e}"))?;
    let deadline = Instant::now() + Duration::from_millis(4 * META_IO_TIMEOUT_MS);
    let (kind, payload) =
        read_frame_until(&mut stream, deadline).map_err(|e| format!("{address}: {e}"))?;
    let mut payload = Payload(&payload);
    let status = payload.u8();
    let text = payload.text().unwrap_or_default();
    match (kind, status) {
        (KIND_WELCOME, Some(0)) => Ok(stream),
        (KIND_WELCOME, Some(_)) => Err(format!("{address} refused this node: {text}")),
        _ => Err(format!("{address}: not a sluice meta service")),
    }
}

/// Asks the node at `address` to let this one join; blocks at most `timeout`, retrying
/// while the group has no leader.
pub fn request_join(
    address: &str,
    credentials: &Credentials,
    addresses: &NodeAddresses,
    timeout: Duration,
) -> Result<Joined, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match try_join(address, credentials, addresses, deadline) {
            Ok(joined) => return Ok(joined),
            Err((error, retry)) if !retry || Instant::now() >= deadline => return Err(error),
            Err((error, _)) => {
                crate::log_warn!("meta", "join: retrying"; error = error);
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

fn try_join(
    address: &str,
    credentials: &Credentials,
    addresses: &NodeAddresses,
    deadline: Instant,
) -> Result<Joined, (String, bool)> {
    let mut stream = dial(address, credentials, 0).map_err(|e| {
        let retry = !e.contains("refused this node");
        (e, retry)
    })?;
    let mut payload = Vec::new();
    put_text(&mut payload, addresses.meta.as_bytes());
    put_text(&mut payload, addresses.http.as_bytes());
    put_text(&mut payload, addresses.data.as_bytes());
    write_frame(&mut stream, KIND_JOIN, &payload).map_err(|e| (e.to_string(), true))?;
    let (kind, payload) =
        read_frame_until(&mut stream, deadline).map_err(|e| (e.to_string(), true))?;
    let malformed = || ("malformed join answer".to_string(), false);
    if kind != KIND_JOINED {
        return Err(malformed());
    }
    let mut payload = Payload(&payload);
    let status = payload.u8().ok_or_else(malformed)?;
    let node_id = payload.u64().ok_or_else(malformed)?;
    let cluster_id = payload.u64().ok_or_else(malformed)?;
    let count = payload.u32().ok_or_else(malformed)?;
    let mut peers = Vec::new();
    for _ in 0..count.min(1024) {
        let id = payload.u64().ok_or_else(malformed)?;
        peers.push((id, payload.text().ok_or_else(malformed)?));
    }
    let text = payload.text().unwrap_or_default();
    if status != 0 {
        // No leader yet is worth a retry; anything else is the answer.
        let retry = text.contains("timeout") || text.contains("leader");
        return Err((format!("join refused by {address}: {text}"), retry));
    }
    Ok(Joined {
        node_id,
        cluster_id,
        peers,
    })
}

/// The listening side: the listener thread and its pool of peer threads.
pub struct MetaListener {
    local_address: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl MetaListener {
    /// Binds `address` and starts the threads.
    pub fn start(
        listener: TcpListener,
        secret: Vec<u8>,
        handler: Arc<dyn InboundHandler>,
    ) -> Result<MetaListener, String> {
        let local_address = listener.local_addr().map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let (idle_sender, idle_receiver) = crossbeam::channel::bounded::<TcpStream>(0);
        let mut threads = Vec::new();
        for n in 0..META_PEER_THREADS {
            let receiver = idle_receiver.clone();
            let handler = Arc::clone(&handler);
            let secret = secret.clone();
            let stop = Arc::clone(&stop);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("sluice-meta-peer-{n}"))
                    .spawn(move || peer_thread(receiver, handler, secret, stop))
                    .map_err(|e| format!("meta peer thread: {e}"))?,
            );
        }
        let stop_listen = Arc::clone(&stop);
        threads.push(
            std::thread::Builder::new()
                .name("sluice-meta-listen".into())
                .spawn(move || listen_thread(listener, idle_sender, stop_listen))
                .map_err(|e| format!("meta listener thread: {e}"))?,
        );
        Ok(MetaListener {
            local_address,
            stop,
            threads,
        })
    }

    /// The address bound.
    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Stops accepting and reading; returns once the threads are gone.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        // The listener blocks in accept: one connection of our own wakes it to see the flag.
        let mut wake = self.local_address;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(META_CONNECT_TIMEOUT_MS));
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

fn listen_thread(listener: TcpListener, idle: Sender<TcpStream>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok(_) if stop.load(Ordering::Acquire) => break,
            Ok((stream, _)) => {
                if let Err(TrySendError::Full(stream) | TrySendError::Disconnected(stream)) =
                    idle.try_send(stream)
                {
                    crate::log_warn!("meta", "meta connection refused: every peer thread is busy";
                        peer_threads = META_PEER_THREADS);
                    drop(stream);
                }
            }
            Err(e) => {
                crate::log_warn!("meta", "meta listener accept failed"; error = e);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn peer_thread(
    connections: Receiver<TcpStream>,
    handler: Arc<dyn InboundHandler>,
    secret: Vec<u8>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Acquire) {
        let Ok(stream) = connections.recv_timeout(Duration::from_millis(META_IO_TIMEOUT_MS)) else {
            continue;
        };
        if let Err(error) = serve_peer(stream, handler.as_ref(), &secret, &stop) {
            crate::log_debug!("meta", "meta connection closed"; reason = error);
        }
    }
}

fn serve_peer(
    mut stream: TcpStream,
    handler: &dyn InboundHandler,
    secret: &[u8],
    stop: &AtomicBool,
) -> Result<(), String> {
    let _ = stream.set_nonblocking(false);
    let timeout = Some(Duration::from_millis(META_IO_TIMEOUT_MS));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + Duration::from_millis(4 * META_IO_TIMEOUT_MS);
    let (kind, payload) = read_frame_until(&mut stream, deadline).map_err(|e| e.to_string())?;
    let mut fields = Payload(&payload);
    if kind != KIND_HELLO || fields.take(HELLO_MAGIC.len()) != Some(HELLO_MAGIC) {
        return Err("not a sluice meta peer".into());
    }
    let peer_cluster = fields.u64().ok_or("short hello")?;
    let _from_node = fields.u64().ok_or("short hello")?;
    let peer_secret = fields.bytes().ok_or("short hello")?;
    let own_cluster = handler.cluster_id();
    let refusal = if !secrets_equal(peer_secret, secret) {
        Some((2u8, "bad shared secret"))
    } else if peer_cluster != 0 && own_cluster != 0 && peer_cluster != own_cluster {
        Some((1u8, "the peer belongs to another cluster"))
    } else {
        None
    };
    let mut welcome = Vec::new();
    match refusal {
        Some((status, text)) => {
            welcome.push(status);
            put_text(&mut welcome, text.as_bytes());
            let _ = write_frame(&mut stream, KIND_WELCOME, &welcome);
            crate::log_warn!("meta", "meta peer refused"; reason = text,
                peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default());
            return Err(text.into());
        }
        None => {
            welcome.push(0);
            put_text(&mut welcome, b"");
            write_frame(&mut stream, KIND_WELCOME, &welcome).map_err(|e| e.to_string())?;
        }
    }
    while !stop.load(Ordering::Acquire) {
        let Some((kind, payload)) =
            read_frame(&mut stream, META_FRAME_BYTES_MAX).map_err(|e| e.to_string())?
        else {
            continue;
        };
        match kind {
            KIND_RAFT if peer_cluster != 0 => {
                let message = Message::parse_from_bytes(&payload).map_err(|e| e.to_string())?;
                handler.raft_message(message);
            }
            KIND_JOIN => {
                let mut fields = Payload(&payload);
                let addresses = NodeAddresses {
                    meta: fields.text().ok_or("short join")?,
                    http: fields.text().ok_or("short join")?,
                    data: fields.text().ok_or("short join")?,
                };
                let answer = handler.join(addresses);
                write_frame(&mut stream, KIND_JOINED, &joined_payload(answer))
                    .map_err(|e| e.to_string())?;
            }
            other => return Err(format!("unexpected meta frame kind {other}")),
        }
    }
    Ok(())
}

fn joined_payload(answer: Result<Joined, String>) -> Vec<u8> {
    let mut payload = Vec::new();
    match answer {
        Ok(joined) => {
            payload.push(0);
            payload.extend_from_slice(&joined.node_id.to_le_bytes());
            payload.extend_from_slice(&joined.cluster_id.to_le_bytes());
            payload.extend_from_slice(&(joined.peers.len() as u32).to_le_bytes());
            for (id, address) in &joined.peers {
                payload.extend_from_slice(&id.to_le_bytes());
                put_text(&mut payload, address.as_bytes());
            }
            put_text(&mut payload, b"");
        }
        Err(text) => {
            payload.push(1);
            payload.extend_from_slice(&0u64.to_le_bytes());
            payload.extend_from_slice(&0u64.to_le_bytes());
            payload.extend_from_slice(&0u32.to_le_bytes());
            put_text(&mut payload, text.as_bytes());
        }
    }
    payload
}

/// Constant-time comparison of the shared secret.
fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.ct_eq(expected))
}

/// Where each peer's meta service is, by node id (kept by the raft thread from the meta
/// state's node records and the join answer).
pub type AddressBook = Arc<RwLock<HashMap<u64, String>>>;

/// The sending side: the `sluice-meta-send` thread.
pub struct MetaSender {
    outbox: Sender<Message>,
    thread: Option<JoinHandle<()>>,
}

impl MetaSender {
    /// Starts the sender thread for node `own_id`.
    pub fn start(
        own_id: u64,
        credentials: Arc<RwLock<Credentials>>,
        addresses: AddressBook,
    ) -> Result<MetaSender, String> {
        let (outbox, receiver) = crossbeam::channel::bounded(META_OUTBOX_DEPTH);
        let thread = std::thread::Builder::new()
            .name("sluice-meta-send".into())
            .spawn(move || send_thread(own_id, receiver, credentials, addresses))
            .map_err(|e| format!("meta sender thread: {e}"))?;
        Ok(MetaSender {
            outbox,
            thread: Some(thread),
        })
    }

    /// Queues `message`; dropped when the queue is full (Raft resends what matters).
    pub fn send(&self, message: Message) {
        let _ = self.outbox.try_send(message);
    }

    /// Stops the thread (messages still queued are dropped).
    pub fn stop(mut self) {
        let (closed, _) = crossbeam::channel::bounded(1);
        self.outbox = closed;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn send_thread(
    own_id: u64,
    outbox: Receiver<Message>,
    credentials: Arc<RwLock<Credentials>>,
    addresses: AddressBook,
) {
    let mut connections: HashMap<u64, TcpStream> = HashMap::new();
    let mut skipped_until: HashMap<u64, Instant> = HashMap::new();
    while let Ok(message) = outbox.recv() {
        let to = message.to;
        if skipped_until
            .get(&to)
            .is_some_and(|until| Instant::now() < *until)
        {
            continue;
        }
        let Ok(bytes) = message.write_to_bytes() else {
            continue;
        };
        let stream = match connections.entry(to) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let Some(address) = sluice_base::locks::read(&addresses).get(&to).cloned() else {
                    continue;
                };
                let credentials = sluice_base::locks::read(&credentials).clone();
                match dial(&address, &credentials, own_id) {
                    Ok(stream) => entry.insert(stream),
                    Err(error) => {
                        crate::log_debug!("meta", "meta peer unreachable"; node = to, error = error);
                        skipped_until.insert(
                            to,
                            Instant::now() + Duration::from_millis(META_PEER_BACKOFF_MS),
                        );
                        continue;
                    }
                }
            }
        };
        if write_frame(stream, KIND_RAFT, &bytes).is_err() {
            connections.remove(&to);
        }
    }
}

/// Connects to `address` and says hello as `from_node`: `Err` names the refusal (another
/// cluster, a bad secret) or why the node could not be reached.
pub fn check_peer(address: &str, credentials: &Credentials, from_node: u64) -> Result<(), String> {
    dial(address, credentials, from_node).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected pair of loopback sockets.
    fn socket_pair() -> (TcpStream, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn a_handshake_frame_past_its_bound_is_refused_before_any_allocation() {
        let (mut client, mut server) = socket_pair();
        // Declares a frame of the full Raft bound, as an unauthenticated hello.
        let declared = META_FRAME_BYTES_MAX as u32;
        client.write_all(&declared.to_le_bytes()).unwrap();
        client.write_all(&[KIND_HELLO]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let error = read_frame_until(&mut server, deadline).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("at most 65536"), "{error}");
    }

    #[test]
    fn a_handshake_frame_within_its_bound_reads() {
        let (mut client, mut server) = socket_pair();
        write_frame(&mut client, KIND_HELLO, b"hello").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let (kind, payload) = read_frame_until(&mut server, deadline).unwrap();
        assert_eq!((kind, payload.as_slice()), (KIND_HELLO, &b"hello"[..]));
    }
}
