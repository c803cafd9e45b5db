//! The peer write RPC: "write these points to shard S of db/rp", from the node that took a
//! write to another owner of the shard, on the data port (the top-level `bind-address`).
//!
//! ```text
//! client (PeerPool)                         server (a backup-service thread)
//!   connect ──────────────────────────────▶ Ready  {"protocol":1,"nonce":"<32 hex>"}
//!   Request {"op":"peer_session","node_id":N,"proof":hex HMAC-SHA-256(secret,
//!            "sluice-peer-session/1" | nonce | N as u64 LE)}      (proof: auth only)
//!                                    ◀───── Ready {} | Error "peer session refused: …"
//!   ShardWrite  hlen u32 LE | ShardWriteHeader JSON | lines ─▶ plan + WAL + fsync
//!                                    ◀───── ShardWriteAck JSON (only once durable)
//!   … one write at a time per connection; the connection is reused …
//! ```
//!
//! A write carries the writer's `precision` and its "now" (the time of lines without a
//! timestamp, and the retention cut-off), so every owner, and a hint delivered hours later,
//! plans the same points: the same write applied twice leaves the same points. Delivery is
//! at-least-once, and a duplicate overwrites a point with itself.
//!
//! Bounds: a shard write is at most `CLUSTER_SHARD_WRITE_MAX_BYTES` (the client refuses a
//! larger one, the server refuses a frame past `BACKUP_FRAME_MAX_BYTES`); the pool holds at
//! most `pool-max-connections` connections per peer, and a writer waits for a free one at
//! most until its deadline; dialing is bounded by `dial-timeout`, each exchange by the
//! writer's deadline (`shard-writer-timeout`). A session idle `CLUSTER_PEER_SESSION_IDLE_MS`
//! is closed by the server; the pool drops connections idle `CLUSTER_POOL_IDLE_MS` first.
//!
//! Authentication: with `[http] auth-enabled`, a session must prove `[http] shared-secret`
//! (the same on every node): an HMAC of a fresh random nonce, so a recorded handshake cannot
//! be replayed; the server checks it in constant time (`hmac`'s `verify_slice`).

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::view::NodeId;
use crate::backup::protocol::{
    hex, parse_json, read_frame, read_json, write_frame, write_json, FrameError, FrameKind,
    Greeting, Hello, Request, PROTOCOL_VERSION,
};
use crate::limits::{
    CLUSTER_PEER_SESSION_IDLE_MS, CLUSTER_POOL_IDLE_MS, CLUSTER_SHARD_WRITE_MAX_BYTES,
};
use crate::line_protocol::Precision;

/// What the session proof signs before the nonce, so the MAC means nothing elsewhere.
const PROOF_CONTEXT: &[u8] = b"sluice-peer-session/1";
/// Random bytes of a nonce.
const NONCE_BYTES: usize = 16;

/// Points for one shard of one database and retention policy, as sent to an owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardWrite {
    /// the database
    pub database: String,
    /// the retention policy (never empty: the writer resolved the default)
    pub retention_policy: String,
    /// the shard group the points fall in
    pub shard_group_id: u64,
    /// whole lines of line protocol
    pub lines: Vec<u8>,
    /// the unit of their timestamps (`/write`'s `precision`)
    pub precision: Precision,
    /// the writer's "now": the time of lines without a timestamp, ns
    pub now_ns: i64,
}

/// The JSON head of a `ShardWrite` frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardWriteHeader {
    /// chosen by the client, echoed in the ack
    pub write_id: u64,
    /// see [`ShardWrite`]
    pub database: String,
    /// see [`ShardWrite`]
    pub retention_policy: String,
    /// see [`ShardWrite`]
    pub shard_group_id: u64,
    /// see [`ShardWrite`]: `/write`'s `precision` value (`n`, `u`, `ms`, `s`, `m`, `h`)
    pub precision: String,
    /// see [`ShardWrite`]
    pub now_ns: i64,
}

/// The `precision` value that names `precision`.
pub fn precision_param(precision: Precision) -> &'static str {
    match precision {
        Precision::Nanosecond => "n",
        Precision::Microsecond => "u",
        Precision::Millisecond => "ms",
        Precision::Second => "s",
        Precision::Minute => "m",
        Precision::Hour => "h",
    }
}

/// The answer to a `ShardWrite`, sent once the points are durable or refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardWriteAck {
    /// the header's `write_id`
    pub write_id: u64,
    /// points made durable
    pub points: u64,
    /// why the write (or part of it) was not written; `None`: all of it is durable
    pub error: Option<String>,
    /// whether sending the same write again may succeed (a full queue, a failed fsync);
    /// false when it never will (no such database, a field type conflict, bad lines)
    pub retryable: bool,
}

impl ShardWriteAck {
    /// The points written, or why none were. A write some of whose points were rejected
    /// for good (bad lines, dropped points) counts as written: its good points are durable,
    /// and every owner rejects the same points of the same lines.
    pub fn into_result(self) -> Result<u64, PeerError> {
        match self.error {
            None => Ok(self.points),
            Some(_) if !self.retryable && self.points > 0 => Ok(self.points),
            Some(text) => Err(PeerError::Refused {
                text,
                retryable: self.retryable,
            }),
        }
    }
}

/// Applies a shard write on the node that received it (`local::LocalShardWriter`).
pub trait ShardWriter: Send + Sync {
    /// Writes `lines` durably into `header`'s database and retention policy; the ack says
    /// what happened (its `write_id` is filled in by the caller).
    fn write_shard(&self, header: &ShardWriteHeader, lines: &[u8]) -> ShardWriteAck;
}

/// Builds a `ShardWrite` frame's payload into `out` (cleared first).
pub fn encode_shard_write(header: &ShardWriteHeader, lines: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[0; 4]);
    if serde_json::to_writer(&mut *out, header).is_err() {
        panic!("BUG: a shard-write header did not serialise");
    }
    let header_length = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&header_length.to_le_bytes());
    out.extend_from_slice(lines);
}

/// Splits a `ShardWrite` payload into its header and lines.
pub fn decode_shard_write(payload: &[u8]) -> Result<(ShardWriteHeader, &[u8]), FrameError> {
    let malformed = |why: &str| FrameError::Malformed(format!("shard write: {why}"));
    let length_bytes: [u8; 4] = payload
        .get(..4)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| malformed("shorter than its header length"))?;
    let header_end = 4usize.saturating_add(u32::from_le_bytes(length_bytes) as usize);
    let header_bytes = payload
        .get(4..header_end)
        .ok_or_else(|| malformed("header longer than the frame"))?;
    let header = parse_json(header_bytes)?;
    Ok((header, &payload[header_end..]))
}

/// A fresh random nonce, lowercase hex.
pub fn random_nonce() -> String {
    let mut bytes = [0u8; NONCE_BYTES];
    let mut filled = 0;
    while filled < NONCE_BYTES {
        let rest = &mut bytes[filled..];
        // SAFETY: the pointer and length describe `rest`, a live, writable stack slice.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if got > 0 {
            filled += got as usize;
        } else if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            panic!("BUG: getrandom failed: {}", std::io::Error::last_os_error());
        }
    }
    hex(&bytes)
}

fn proof_mac(secret: &[u8], nonce: &str, node_id: NodeId) -> Hmac<Sha256> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => panic!("BUG: HMAC refused a key (it takes any length)"),
    };
    mac.update(PROOF_CONTEXT);
    mac.update(nonce.as_bytes());
    mac.update(&node_id.to_le_bytes());
    mac
}

/// The proof a session's `Hello` carries: hex HMAC-SHA-256 of the nonce and node id.
pub fn session_proof(secret: &[u8], nonce: &str, node_id: NodeId) -> String {
    hex(&proof_mac(secret, nonce, node_id).finalize().into_bytes())
}

/// Whether `proof` (hex) is [`session_proof`]'s; compared in constant time.
pub fn proof_is_valid(secret: &[u8], nonce: &str, node_id: NodeId, proof: &str) -> bool {
    let Some(bytes) = unhex(proof) else {
        return false;
    };
    proof_mac(secret, nonce, node_id)
        .verify_slice(&bytes)
        .is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// Who may open a peer session on this server.
#[derive(Clone, Debug)]
pub enum PeerAuth {
    /// `[http] auth-enabled = false`: any client that reaches the data port (as for
    /// restores, which is why it listens on loopback by default)
    Open,
    /// `[http] auth-enabled = true`: the client must prove this secret (`[http]
    /// shared-secret`); empty: every session is refused
    SharedSecret(Vec<u8>),
}

/// Why a peer session ended other than by the client closing it.
#[derive(Debug)]
pub enum SessionEnd {
    /// the connection broke or timed out
    Connection(FrameError),
    /// refused, with the text to send the client
    Refused(String),
}

impl From<FrameError> for SessionEnd {
    fn from(error: FrameError) -> Self {
        SessionEnd::Connection(error)
    }
}

impl From<std::io::Error> for SessionEnd {
    fn from(error: std::io::Error) -> Self {
        SessionEnd::Connection(FrameError::Io(error))
    }
}

/// What opens a peer session: the server's greeting nonce and the peer's `Hello`.
#[derive(Clone, Copy, Debug)]
pub struct SessionOpening<'a> {
    /// the nonce the server's greeting carried
    pub nonce: &'a str,
    /// the peer's node id
    pub node_id: NodeId,
    /// its proof of the shared secret, if any
    pub proof: Option<&'a str>,
    /// its cluster and this node's
    pub clusters: ClusterIds,
}

/// The cluster a peer says it is of and this node's (each 0 when unknown: not checked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClusterIds {
    /// from the peer's `Hello`
    pub peer: u64,
    /// this node's meta state's
    pub own: u64,
}

/// Serves one peer session after its `Hello` (the caller sent the greeting with `nonce`):
/// checks the proof, then answers shard writes until the client closes the connection, it is
/// idle `CLUSTER_PEER_SESSION_IDLE_MS`, or `stopping` is set. Returns the writes served.
pub fn serve_peer_session(
    stream: &mut TcpStream,
    opening: SessionOpening<'_>,
    auth: &PeerAuth,
    writer: &dyn ShardWriter,
    stopping: &AtomicBool,
) -> Result<u64, SessionEnd> {
    let SessionOpening {
        nonce,
        node_id,
        proof,
        clusters,
    } = opening;
    if clusters.peer != 0 && clusters.own != 0 && clusters.peer != clusters.own {
        return Err(SessionEnd::Refused(format!(
            "peer session refused: node {node_id} is of another cluster ({:016x}; this node: {:016x})",
            clusters.peer, clusters.own
        )));
    }
    if let PeerAuth::SharedSecret(secret) = auth {
        if secret.is_empty() {
            return Err(SessionEnd::Refused(
                "peer session refused: [http] auth-enabled needs [http] shared-secret set \
                 (the same on every node) for peer writes"
                    .into(),
            ));
        }
        let valid = proof.is_some_and(|proof| proof_is_valid(secret, nonce, node_id, proof));
        if !valid {
            return Err(SessionEnd::Refused(
                "peer session refused: bad or missing proof of the shared secret".into(),
            ));
        }
    }
    write_json(stream, FrameKind::Ready, &serde_json::json!({}))?;
    stream.set_read_timeout(Some(Duration::from_millis(CLUSTER_PEER_SESSION_IDLE_MS)))?;
    let mut payload = Vec::new();
    let mut served = 0u64;
    while !stopping.load(Ordering::Acquire) {
        let kind = match read_frame(stream, &mut payload) {
            Ok(kind) => kind,
            // The client closed the session, or left it idle: the normal end.
            Err(FrameError::Io(error)) if is_end_of_session(&error) => return Ok(served),
            Err(error) => return Err(error.into()),
        };
        if kind != FrameKind::ShardWrite {
            return Err(SessionEnd::Refused(format!(
                "unexpected {kind:?} frame in a peer session"
            )));
        }
        let (header, lines) = decode_shard_write(&payload)?;
        let mut ack = writer.write_shard(&header, lines);
        ack.write_id = header.write_id;
        write_json(stream, FrameKind::ShardWriteAck, &ack)?;
        served += 1;
    }
    Ok(served)
}

fn is_end_of_session(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Why a shard write to a peer did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerError {
    /// no connection could be made (dial, handshake or refused session)
    Unreachable(String),
    /// no answer before the deadline (or no free connection until then)
    Timeout,
    /// the connection broke during the exchange: the write may or may not be durable
    Connection(String),
    /// the peer answered that it did not write the points
    Refused {
        /// its text
        text: String,
        /// whether sending it again may succeed
        retryable: bool,
    },
    /// the write is larger than `CLUSTER_SHARD_WRITE_MAX_BYTES`
    TooLarge(usize),
}

impl PeerError {
    /// Whether delivering the same write later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PeerError::Refused { retryable, .. } => *retryable,
            PeerError::TooLarge(_) => false,
            _ => true,
        }
    }
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::Unreachable(why) => write!(f, "peer unreachable: {why}"),
            PeerError::Timeout => f.write_str("timeout"),
            PeerError::Connection(why) => write!(f, "peer connection failed: {why}"),
            PeerError::Refused { text, .. } => write!(f, "peer refused the write: {text}"),
            PeerError::TooLarge(bytes) => write!(
                f,
                "shard write of {bytes} bytes is larger than {CLUSTER_SHARD_WRITE_MAX_BYTES}"
            ),
        }
    }
}

/// Settings of the client side (`[cluster]`).
#[derive(Clone, Debug)]
pub struct PeerClientConfig {
    /// this node, named in the session's `Hello`
    pub local_node: NodeId,
    /// this node's cluster id, named in the session's `Hello` (0: none to check)
    pub cluster_id: u64,
    /// `[cluster] dial-timeout`
    pub dial_timeout: Duration,
    /// `[cluster] pool-max-connections`: open connections per peer at most (> 0)
    pub max_connections_per_peer: usize,
    /// `[http] shared-secret` when `[http] auth-enabled`
    pub shared_secret: Option<Vec<u8>>,
}

/// Connections to one peer.
#[derive(Default)]
struct PeerSlots {
    /// connected, not in use, with when they were last used
    idle: Vec<(TcpStream, Instant)>,
    /// connections that exist (idle, in use, or being dialled)
    open: usize,
}

/// The client side: a bounded pool of sessions per peer address, shared by every writer
/// thread.
pub struct PeerPool {
    config: PeerClientConfig,
    peers: Mutex<HashMap<String, PeerSlots>>,
    /// signalled when a connection is returned or closed
    freed: Condvar,
    next_write_id: AtomicU64,
}

/// A shard write sent on a connection, its ack not read yet (so a writer can send to every
/// owner before waiting for any). Dropping it unfinished closes the connection.
pub struct InFlight<'a> {
    pool: &'a PeerPool,
    address: String,
    stream: Option<TcpStream>,
    write_id: u64,
    reused: bool,
}

impl PeerPool {
    /// An empty pool.
    pub fn new(config: PeerClientConfig) -> PeerPool {
        if config.max_connections_per_peer == 0 {
            panic!("BUG: a peer pool of no connections");
        }
        PeerPool {
            config,
            peers: Mutex::new(HashMap::new()),
            freed: Condvar::new(),
            next_write_id: AtomicU64::new(1),
        }
    }

    fn peers(&self) -> MutexGuard<'_, HashMap<String, PeerSlots>> {
        sluice_base::locks::lock(&self.peers)
    }

    /// Sends `write` to `address` and waits for its ack until `deadline`; one retry on a
    /// fresh connection when a reused one turns out closed. Returns the points written.
    pub fn write(
        &self,
        address: &str,
        write: &ShardWrite,
        deadline: Instant,
    ) -> Result<u64, PeerError> {
        let first = self.begin(address, write, deadline)?;
        let reused = first.reused;
        match first.finish(deadline) {
            Err(PeerError::Connection(_)) if reused => {
                self.begin_fresh(address, write, deadline)?.finish(deadline)
            }
            other => other,
        }
    }

    /// Sends `write` to `address` on a pooled (or new) connection; the ack is read by
    /// [`InFlight::finish`].
    pub fn begin(
        &self,
        address: &str,
        write: &ShardWrite,
        deadline: Instant,
    ) -> Result<InFlight<'_>, PeerError> {
        let (stream, reused) = self.checkout(address, deadline, false)?;
        self.send(address, stream, reused, write, deadline)
    }

    fn begin_fresh(
        &self,
        address: &str,
        write: &ShardWrite,
        deadline: Instant,
    ) -> Result<InFlight<'_>, PeerError> {
        let (stream, reused) = self.checkout(address, deadline, true)?;
        self.send(address, stream, reused, write, deadline)
    }

    fn send(
        &self,
        address: &str,
        stream: TcpStream,
        reused: bool,
        write: &ShardWrite,
        deadline: Instant,
    ) -> Result<InFlight<'_>, PeerError> {
        let write_id = self.next_write_id.fetch_add(1, Ordering::Relaxed);
        let mut in_flight = InFlight {
            pool: self,
            address: address.to_string(),
            stream: Some(stream),
            write_id,
            reused,
        };
        let header = ShardWriteHeader {
            write_id,
            database: write.database.clone(),
            retention_policy: write.retention_policy.clone(),
            shard_group_id: write.shard_group_id,
            precision: precision_param(write.precision).to_string(),
            now_ns: write.now_ns,
        };
        let mut payload = Vec::with_capacity(write.lines.len() + 256);
        encode_shard_write(&header, &write.lines, &mut payload);
        if payload.len() > CLUSTER_SHARD_WRITE_MAX_BYTES {
            return Err(PeerError::TooLarge(payload.len()));
        }
        let Some(stream) = in_flight.stream.as_mut() else {
            panic!("BUG: an in-flight write without its connection");
        };
        set_deadline(stream, deadline)?;
        write_frame(stream, FrameKind::ShardWrite, &payload)
            .and_then(|()| stream.flush())
            .map_err(|e| io_error(&e))?;
        Ok(in_flight)
    }

    /// A connection to `address`: an idle one (unless `fresh`), a new one while fewer than
    /// `max_connections_per_peer` exist, or the first freed before `deadline`.
    fn checkout(
        &self,
        address: &str,
        deadline: Instant,
        fresh: bool,
    ) -> Result<(TcpStream, bool), PeerError> {
        let mut peers = self.peers();
        loop {
            let slots = peers.entry(address.to_string()).or_default();
            let now = Instant::now();
            while let Some((stream, last_used)) = slots.idle.pop() {
                let stale =
                    now.duration_since(last_used) >= Duration::from_millis(CLUSTER_POOL_IDLE_MS);
                if fresh || stale {
                    slots.open -= 1;
                    drop(stream);
                    continue;
                }
                return Ok((stream, true));
            }
            if slots.open < self.config.max_connections_per_peer {
                slots.open += 1;
                drop(peers);
                return match self.dial(address, deadline) {
                    Ok(stream) => Ok((stream, false)),
                    Err(error) => {
                        self.closed(address);
                        Err(error)
                    }
                };
            }
            let Some(left) = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
            else {
                return Err(PeerError::Timeout);
            };
            peers = match self.freed.wait_timeout(peers, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => panic!("BUG: the peer pool's lock was poisoned: {poisoned}"),
            };
        }
    }

    /// A connection was closed (or never made): room for another.
    fn closed(&self, address: &str) {
        let mut peers = self.peers();
        if let Some(slots) = peers.get_mut(address) {
            slots.open = slots.open.saturating_sub(1);
        }
        drop(peers);
        self.freed.notify_one();
    }

    fn give_back(&self, address: &str, stream: TcpStream) {
        let mut peers = self.peers();
        let slots = peers.entry(address.to_string()).or_default();
        slots.idle.push((stream, Instant::now()));
        drop(peers);
        self.freed.notify_one();
    }

    fn dial(&self, address: &str, deadline: Instant) -> Result<TcpStream, PeerError> {
        let unreachable = |why: String| PeerError::Unreachable(format!("{address}: {why}"));
        let addresses: Vec<_> = address
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("resolving: {e}")))?
            .collect();
        let mut last = unreachable("resolves to no address".into());
        for resolved in addresses {
            let timeout = self.config.dial_timeout.min(time_left(deadline)?);
            match TcpStream::connect_timeout(&resolved, timeout) {
                Ok(stream) => return self.handshake(stream, address, deadline),
                Err(error) => last = unreachable(error.to_string()),
            }
        }
        Err(last)
    }

    fn handshake(
        &self,
        mut stream: TcpStream,
        address: &str,
        deadline: Instant,
    ) -> Result<TcpStream, PeerError> {
        let refused = |e: FrameError| match e {
            FrameError::Io(ref io) if is_timeout(io) => PeerError::Timeout,
            other => PeerError::Unreachable(format!("{address}: {other}")),
        };
        stream
            .set_nodelay(true)
            .map_err(|e| PeerError::Unreachable(e.to_string()))?;
        set_deadline(&mut stream, deadline)?;
        let mut payload = Vec::new();
        let greeting: Greeting =
            read_json(&mut stream, FrameKind::Ready, &mut payload).map_err(refused)?;
        let proof = self
            .config
            .shared_secret
            .as_ref()
            .map(|secret| session_proof(secret, &greeting.nonce, self.config.local_node));
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            request: Request::PeerSession {
                node_id: self.config.local_node,
                proof,
                cluster_id: self.config.cluster_id,
            },
        };
        write_json(&mut stream, FrameKind::Request, &hello).map_err(|e| refused(e.into()))?;
        match read_frame(&mut stream, &mut payload).map_err(refused)? {
            FrameKind::Ready => Ok(stream),
            other => Err(PeerError::Unreachable(format!(
                "{address}: answered a peer session with a {other:?} frame"
            ))),
        }
    }
}

impl InFlight<'_> {
    /// Reads the ack (until `deadline`) and returns the connection to the pool.
    pub fn finish(mut self, deadline: Instant) -> Result<u64, PeerError> {
        let Some(mut stream) = self.stream.take() else {
            panic!("BUG: an in-flight write finished twice");
        };
        let result = read_ack(&mut stream, self.write_id, deadline);
        match &result {
            // The exchange completed: the connection is in a known state.
            Ok(_) | Err(PeerError::Refused { .. }) => self.pool.give_back(&self.address, stream),
            Err(_) => {
                drop(stream);
                self.pool.closed(&self.address);
            }
        }
        result
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            drop(stream);
            self.pool.closed(&self.address);
        }
    }
}

fn read_ack(stream: &mut TcpStream, write_id: u64, deadline: Instant) -> Result<u64, PeerError> {
    set_deadline(stream, deadline)?;
    let mut payload = Vec::new();
    let ack: ShardWriteAck = match read_json(stream, FrameKind::ShardWriteAck, &mut payload) {
        Ok(ack) => ack,
        Err(FrameError::Io(error)) => return Err(io_error(&error)),
        Err(other) => return Err(PeerError::Connection(other.to_string())),
    };
    if ack.write_id != write_id {
        return Err(PeerError::Connection(format!(
            "ack for write {} while waiting for {write_id}",
            ack.write_id
        )));
    }
    ack.into_result()
}

fn time_left(deadline: Instant) -> Result<Duration, PeerError> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or(PeerError::Timeout)
}

fn set_deadline(stream: &mut TcpStream, deadline: Instant) -> Result<(), PeerError> {
    let left = Some(time_left(deadline)?);
    stream
        .set_read_timeout(left)
        .and_then(|()| stream.set_write_timeout(left))
        .map_err(|e| PeerError::Connection(e.to_string()))
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn io_error(error: &std::io::Error) -> PeerError {
    if is_timeout(error) {
        PeerError::Timeout
    } else {
        PeerError::Connection(error.to_string())
    }
}

#[cfg(test)]
mod tests;
