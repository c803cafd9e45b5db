//! The backup service: a listener on the top-level `bind-address` (loopback by default) and
//! a fixed pool of threads that serve `sluice backup` and `sluice restore`.
//!
//! Threads: `sluice-backup` accepts; `sluice-backup-N` (`[backup] max-connections` of them,
//! started with the server, never per connection; `[cluster] max-peer-connections` more,
//! started by the acceptor once the node is in a cluster, for peers' write sessions, so a
//! node alone keeps exactly the backup ones) each serve one connection at a time with
//! blocking I/O, so a backup never runs on an event loop. The acceptor hands a connection to
//! an idle server thread through a rendezvous channel; when none is idle, it answers the
//! connection with an `Error` frame (`too many backup connections`) and closes it. Sockets
//! time out after `BACKUP_IO_TIMEOUT_MS` without progress.
//!
//! Consistency of a backup: the server notes the time, takes the meta snapshot, then lists
//! the shards and reads each through `Shard::read` (the caches, then the files), the read
//! path of queries. A point acknowledged before that time was applied to its shard's cache
//! before its 204 (ARCHITECTURE.md, "The path of one write"), and leaves the cache only into
//! a file installed before the cache releases it; compactions swap file lists whole and a
//! replaced file stays readable while a reader holds it. So every point acknowledged before
//! the backup began is in it (unless deleted meanwhile by DELETE, DROP or retention, which
//! are deletions the backup then reflects); points written during it may or may not be.
//! Each shard becomes one gzip file of line protocol (`export::write_shard_points`), sent in
//! data frames with its size and SHA-256; memory is a series' columns at a time, as `export`.
//!
//! A restore creates the databases it names (none may exist: it never writes into an
//! existing one), then plans and writes the points it is sent through `/write`'s planner and
//! the partitions, waiting until each chunk is durable (`query::into::write_lines`), and
//! finally creates the continuous queries and the users that do not exist. If anything
//! fails, or the client goes away before `Done`, the databases it created are dropped again:
//! a restore that did not finish leaves nothing (a crash during one leaves the partly
//! restored databases, which `DROP DATABASE` removes).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{self, TrySendError};
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::manifest::META_FILE;
use super::protocol::{
    hex, read_frame, read_json, write_frame, write_json, BackupMeta, BackupSummary,
    ContinuousQueryMeta, DataTarget, DatabaseMeta, FileHeader, FileKind, FileTrailer, FrameError,
    FrameKind, Greeting, Hello, Request, RestoreSummary, RetentionPolicyMeta, UserMeta,
    PROTOCOL_VERSION,
};
use crate::ingest::plan::WriteOutcome;
use crate::limits::{BACKUP_DATA_FRAME_BYTES, BACKUP_IO_TIMEOUT_MS};
use crate::meta::{MetaData, MetaStore, RetentionPolicy, RetentionPolicySpec, UserPrivilege};
use crate::query::into::{write_lines_durably, Destination, IntoWriter};
use crate::storage::engine::shard::Shard;
use crate::storage::engine::Store;

/// How often the acceptor looks at the stop flag while no connection arrives.
const ACCEPT_POLL_MS: i32 = 100;
/// After an error frame, how long and how much of what the client still sends is read and
/// dropped before the connection is closed.
const BACKUP_LINGER_MS: u64 = 2_000;
/// See [`BACKUP_LINGER_MS`].
const BACKUP_LINGER_BYTES_MAX: usize = 64 * 1024 * 1024;

/// What the service reads and writes.
pub struct BackupContext {
    /// databases, retention policies, users, CQs
    pub meta: Arc<MetaStore>,
    /// the shards
    pub store: Arc<Store>,
    /// the durable write path restores use
    pub writer: IntoWriter,
    /// who may open a peer session (`cluster::rpc`) on this port
    pub peer_auth: crate::cluster::rpc::PeerAuth,
    /// the cluster, for a node that may be in one: whether it is now (the peer threads
    /// start then) and which shard groups this node owns (a peer's write to another is
    /// refused)
    pub peer_view: Option<Arc<dyn crate::cluster::view::ClusterView>>,
}

/// The connection each server thread is serving (a clone of its socket), so that `stop`
/// can cut a client that is idle instead of waiting out its timeout.
type ServingSlots = Arc<Vec<std::sync::Mutex<Option<TcpStream>>>>;

/// The running service.
pub struct BackupService {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    serving: ServingSlots,
    /// answers the peer threads it started
    acceptor: JoinHandle<Vec<JoinHandle<()>>>,
    servers: Vec<JoinHandle<()>>,
}

impl BackupService {
    /// Starts the acceptor and `max_connections` server threads on `listener`; once
    /// `context.peer_view` says this node is in a cluster, the acceptor starts
    /// `peer_threads` more (for peers' write sessions), so a node alone keeps exactly
    /// `max_connections`.
    pub fn start(
        listener: TcpListener,
        max_connections: usize,
        peer_threads: usize,
        context: Arc<BackupContext>,
    ) -> std::io::Result<BackupService> {
        let address = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stopping = Arc::new(AtomicBool::new(false));
        let (handoff, connections) = channel::bounded::<TcpStream>(0);
        let serving: ServingSlots = Arc::new(
            (0..max_connections + peer_threads)
                .map(|_| std::sync::Mutex::new(None))
                .collect(),
        );
        let spawner = ServerSpawner {
            connections,
            context: Arc::clone(&context),
            stopping: Arc::clone(&stopping),
            serving: Arc::clone(&serving),
        };
        let mut servers = Vec::with_capacity(max_connections);
        for index in 0..max_connections {
            servers.push(spawner.spawn(index)?);
        }
        let acceptor = {
            let stopping = Arc::clone(&stopping);
            let peers = PeerThreads {
                first_index: max_connections,
                count: peer_threads,
                started: Vec::new(),
                spawner,
            };
            std::thread::Builder::new()
                .name("sluice-backup".into())
                .spawn(move || {
                    accept_loop(&listener, &handoff, max_connections, peers, &stopping)
                })?
        };
        Ok(BackupService {
            address,
            stopping,
            serving,
            acceptor,
            servers,
        })
    }

    /// Where it listens.
    pub fn local_address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting; a backup or restore in progress stops at its next frame (a restore
    /// drops what it created). Returns once every thread has ended.
    pub fn stop(self) {
        self.stopping.store(true, Ordering::Release);
        let peer_threads = self.acceptor.join().unwrap_or_default();
        // A thread blocked reading an idle client wakes with an error at once.
        for slot in self.serving.iter() {
            let guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(stream) = guard.as_ref() {
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }
        for server in self.servers.into_iter().chain(peer_threads) {
            let _ = server.join();
        }
    }
}

/// What starting one more server thread needs.
struct ServerSpawner {
    connections: channel::Receiver<TcpStream>,
    context: Arc<BackupContext>,
    stopping: Arc<AtomicBool>,
    serving: ServingSlots,
}

impl ServerSpawner {
    fn spawn(&self, index: usize) -> std::io::Result<JoinHandle<()>> {
        let connections = self.connections.clone();
        let context = Arc::clone(&self.context);
        let stopping = Arc::clone(&self.stopping);
        let serving = Arc::clone(&self.serving);
        std::thread::Builder::new()
            .name(format!("sluice-backup-{index}"))
            .spawn(move || {
                for stream in connections {
                    set_serving(&serving, index, stream.try_clone().ok());
                    // Stopped between the hand-off and now: `stop` did not see it.
                    if !stopping.load(Ordering::Acquire) {
                        serve(stream, &context, &stopping);
                    }
                    set_serving(&serving, index, None);
                }
            })
    }
}

/// The threads for peers' sessions, started by the acceptor once the node is in a cluster.
struct PeerThreads {
    first_index: usize,
    count: usize,
    started: Vec<JoinHandle<()>>,
    spawner: ServerSpawner,
}

impl PeerThreads {
    /// Starts them if the node is now in a cluster and they are not running yet.
    fn start_when_clustered(&mut self) {
        if self.count == 0 || !self.started.is_empty() {
            return;
        }
        let clustered = self
            .spawner
            .context
            .peer_view
            .as_ref()
            .is_some_and(|view| view.clustered());
        if !clustered {
            return;
        }
        for index in self.first_index..self.first_index + self.count {
            match self.spawner.spawn(index) {
                Ok(thread) => self.started.push(thread),
                Err(error) => {
                    crate::log_warn!("backup", "starting a peer thread failed"; error = error);
                    break;
                }
            }
        }
        // A failed spawn is not retried: the started ones serve (count stays as planned).
        if self.started.is_empty() {
            self.count = 0;
        }
        crate::log_info!("cluster", "peer threads started on the data port"; threads = self.started.len());
    }
}

fn set_serving(serving: &ServingSlots, index: usize, stream: Option<TcpStream>) {
    let Some(slot) = serving.get(index) else {
        panic!("BUG: backup thread {index} has no serving slot");
    };
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = stream;
}

fn accept_loop(
    listener: &TcpListener,
    handoff: &channel::Sender<TcpStream>,
    max_connections: usize,
    mut peers: PeerThreads,
    stopping: &AtomicBool,
) -> Vec<JoinHandle<()>> {
    while !stopping.load(Ordering::Acquire) {
        peers.start_when_clustered();
        if !wait_readable(listener, ACCEPT_POLL_MS) {
            continue;
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                crate::log_warn!("backup", "accepting a backup connection failed"; error = error);
                continue;
            }
        };
        if let Err(error) = prepare(&stream) {
            crate::log_warn!("backup", "setting up a backup connection failed"; error = error);
            continue;
        }
        match handoff.try_send(stream) {
            Ok(()) => {}
            Err(TrySendError::Full(mut stream)) | Err(TrySendError::Disconnected(mut stream)) => {
                crate::log_warn!("backup", "backup connection refused: every backup thread is busy"; max_connections = max_connections);
                let text = format!(
                    "too many backup connections: {max_connections} are being served \
                     ([backup] max-connections); try again later"
                );
                let _ = write_frame(&mut stream, FrameKind::Error, text.as_bytes());
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }
    peers.started
}

/// Whether `listener` has a connection waiting, after at most `timeout_ms`.
fn wait_readable(listener: &TcpListener, timeout_ms: i32) -> bool {
    let mut poll_fd = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd on the stack, for the duration of the call.
    let ready = unsafe { libc::poll(&mut poll_fd, 1, timeout_ms) };
    ready > 0
}

fn prepare(stream: &TcpStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let timeout = Some(Duration::from_millis(BACKUP_IO_TIMEOUT_MS));
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    stream.set_nodelay(true)
}

/// Why a connection ended early.
enum Failure {
    /// the connection broke: nothing more can be said to the client
    Connection(FrameError),
    /// an error to send to the client
    Refused(String),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Connection(FrameError::Io(error))
    }
}

impl From<FrameError> for Failure {
    fn from(error: FrameError) -> Self {
        match error {
            FrameError::Peer(text) => Failure::Refused(format!("the client gave up: {text}")),
            other => Failure::Connection(other),
        }
    }
}

fn serve(mut stream: TcpStream, context: &BackupContext, stopping: &AtomicBool) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let result = (|| -> Result<&'static str, Failure> {
        let greeting = Greeting {
            protocol: PROTOCOL_VERSION,
            nonce: crate::cluster::rpc::random_nonce(),
        };
        write_json(&mut stream, FrameKind::Ready, &greeting)?;
        let mut payload = Vec::new();
        let hello: Hello = read_json(&mut stream, FrameKind::Request, &mut payload)?;
        if hello.protocol != PROTOCOL_VERSION {
            return Err(Failure::Refused(format!(
                "backup protocol version {} is not supported (this server speaks {})",
                hello.protocol, PROTOCOL_VERSION
            )));
        }
        match hello.request {
            Request::Backup {
                database,
                retention_policy,
                since_ns,
            } => {
                let selection = Selection {
                    database,
                    retention_policy,
                    since_ns: since_ns.unwrap_or(i64::MIN),
                };
                send_backup(&mut stream, context, &selection, stopping)?;
                Ok("backup")
            }
            Request::Restore { databases, users } => {
                restore(&mut stream, context, &databases, &users, stopping)?;
                Ok("restore")
            }
            Request::PeerSession {
                node_id,
                proof,
                cluster_id,
            } => {
                let clusters = crate::cluster::rpc::ClusterIds {
                    peer: cluster_id,
                    own: context.meta.snapshot().cluster_id,
                };
                serve_peer_session(
                    &mut stream,
                    context,
                    &greeting.nonce,
                    node_id,
                    proof,
                    clusters,
                    stopping,
                )?;
                Ok("peer session")
            }
        }
    })();
    match result {
        Ok(kind) => crate::log_info!("backup", "finished"; kind = kind, peer = peer),
        Err(Failure::Refused(text)) => {
            crate::log_warn!("backup", "backup connection ended with an error"; peer = peer, error = text);
            let _ = write_frame(&mut stream, FrameKind::Error, text.as_bytes());
            linger(&mut stream);
        }
        Err(Failure::Connection(error)) => {
            crate::log_warn!("backup", "backup connection failed"; peer = peer, error = error);
        }
    }
}

/// Shard writes from a cluster peer (`cluster::rpc`), through the durable path restores use.
fn serve_peer_session(
    stream: &mut TcpStream,
    context: &BackupContext,
    nonce: &str,
    node_id: u64,
    proof: Option<String>,
    clusters: crate::cluster::rpc::ClusterIds,
    stopping: &AtomicBool,
) -> Result<(), Failure> {
    use crate::cluster::rpc::SessionEnd;
    let writer = crate::cluster::local::LocalShardWriter {
        meta: &context.meta,
        writer: &context.writer,
        owner_check: context.peer_view.as_deref(),
    };
    let opening = crate::cluster::rpc::SessionOpening {
        nonce,
        node_id,
        proof: proof.as_deref(),
        clusters,
    };
    let served = crate::cluster::rpc::serve_peer_session(
        stream,
        opening,
        &context.peer_auth,
        &writer,
        stopping,
    );
    match served {
        Ok(writes) => {
            crate::log_debug!("cluster", "peer session ended"; node = node_id, writes = writes);
            Ok(())
        }
        Err(SessionEnd::Refused(text)) => Err(Failure::Refused(text)),
        Err(SessionEnd::Connection(error)) => Err(Failure::Connection(error)),
    }
}

/// After an error frame: stops writing and reads what the client is still sending (a
/// restore's points), for a bounded time and size, so the close does not reset the
/// connection before the client has read why.
fn linger(stream: &mut TcpStream) {
    use std::io::Read;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(BACKUP_LINGER_MS)));
    let started = std::time::Instant::now();
    let mut discarded = 0usize;
    let mut buffer = [0u8; 8192];
    while discarded < BACKUP_LINGER_BYTES_MAX
        && started.elapsed() < Duration::from_millis(BACKUP_LINGER_MS)
    {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => discarded += read,
        }
    }
}

/// What a backup covers.
struct Selection {
    database: Option<String>,
    retention_policy: Option<String>,
    since_ns: i64,
}

fn send_backup(
    stream: &mut TcpStream,
    context: &BackupContext,
    selection: &Selection,
    stopping: &AtomicBool,
) -> Result<(), Failure> {
    let started_ns = crate::time::now_ns();
    let meta = context.meta.snapshot();
    let backup_meta = backup_meta(&meta, selection)?;
    let meta_bytes = serde_json::to_vec_pretty(&backup_meta)
        .map_err(|e| Failure::Refused(format!("encoding the meta: {e}")))?;
    let header = FileHeader {
        name: META_FILE.to_string(),
        kind: FileKind::Meta,
        database: None,
        retention_policy: None,
        shard_start_ns: None,
        shard_end_ns: None,
    };
    write_json(stream, FrameKind::FileStart, &header)?;
    let mut sink = FrameSink::new(stream);
    sink.write_all(&meta_bytes)?;
    sink.finish(0)?;
    let mut shards: Vec<(String, Arc<Shard>)> = context
        .store
        .shards()
        .into_iter()
        .filter_map(|shard| {
            let database = meta.database_by_id(shard.database_id)?;
            let wanted = backup_meta
                .databases
                .iter()
                .any(|db| db.name == database.name)
                && selection
                    .retention_policy
                    .as_deref()
                    .is_none_or(|rp| rp == shard.retention_policy)
                && shard.end_ns > selection.since_ns;
            wanted.then(|| (database.name.clone(), shard))
        })
        .collect();
    shards.sort_by(|(a_db, a), (b_db, b)| {
        (a_db, &a.retention_policy, a.start_ns).cmp(&(b_db, &b.retention_policy, b.start_ns))
    });
    let mut points = 0u64;
    let mut line = Vec::with_capacity(256);
    for (index, (database, shard)) in shards.iter().enumerate() {
        if stopping.load(Ordering::Acquire) {
            return Err(Failure::Refused("the server is shutting down".into()));
        }
        let header = FileHeader {
            name: format!("points-{:06}.lp.gz", index + 1),
            kind: FileKind::Points,
            database: Some(database.clone()),
            retention_policy: Some(shard.retention_policy.clone()),
            shard_start_ns: Some(shard.start_ns),
            shard_end_ns: Some(shard.end_ns),
        };
        write_json(stream, FrameKind::FileStart, &header)?;
        let mut encoder = GzEncoder::new(FrameSink::new(stream), flate2::Compression::fast());
        let written =
            crate::export::write_shard_points(shard, selection.since_ns, &mut line, &mut encoder)?;
        encoder.finish()?.finish(written)?;
        points += written;
    }
    write_json(
        stream,
        FrameKind::Done,
        &BackupSummary { started_ns, points },
    )?;
    Ok(())
}

/// The meta a backup of `selection` carries; an unknown `-db` or `-rp` is refused.
fn backup_meta(meta: &MetaData, selection: &Selection) -> Result<BackupMeta, Failure> {
    let databases: Vec<DatabaseMeta> = meta
        .databases
        .iter()
        .filter(|db| {
            selection
                .database
                .as_deref()
                .is_none_or(|name| name == db.name)
        })
        .map(|db| DatabaseMeta {
            name: db.name.clone(),
            default_retention_policy: db.default_retention_policy.clone(),
            retention_policies: db
                .retention_policies
                .iter()
                .map(|rp| RetentionPolicyMeta {
                    name: rp.name.clone(),
                    duration_ns: rp.duration_ns,
                    shard_group_duration_ns: rp.shard_group_duration_ns,
                    replication: rp.replication,
                })
                .collect(),
            continuous_queries: db
                .continuous_queries
                .iter()
                .map(|cq| ContinuousQueryMeta {
                    name: cq.name.clone(),
                    query: cq.query.clone(),
                })
                .collect(),
        })
        .collect();
    if let Some(name) = &selection.database {
        if databases.is_empty() {
            return Err(Failure::Refused(format!("database not found: {name}")));
        }
    }
    if let Some(rp) = &selection.retention_policy {
        let found = databases
            .iter()
            .any(|db| db.retention_policies.iter().any(|p| &p.name == rp));
        if !found {
            return Err(Failure::Refused(format!(
                "retention policy not found: {rp}"
            )));
        }
    }
    // Users belong to the server, not to one database: only a whole backup carries them.
    let users = if selection.database.is_none() {
        meta.users
            .iter()
            .map(|user| UserMeta {
                name: user.name.clone(),
                password_hash: user.password_hash.clone(),
                admin: user.admin,
                privileges: user
                    .privileges
                    .iter()
                    .map(|(db, privilege)| (db.clone(), privilege_name(*privilege).to_string()))
                    .collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(BackupMeta { databases, users })
}

fn privilege_name(privilege: UserPrivilege) -> &'static str {
    match privilege {
        UserPrivilege::None => "NONE",
        UserPrivilege::Read => "READ",
        UserPrivilege::Write => "WRITE",
        UserPrivilege::All => "ALL",
    }
}

fn privilege_from_name(name: &str) -> Option<UserPrivilege> {
    Some(match name {
        "NONE" => UserPrivilege::None,
        "READ" => UserPrivilege::Read,
        "WRITE" => UserPrivilege::Write,
        "ALL" => UserPrivilege::All,
        _ => return None,
    })
}

/// Sends the bytes written to it as data frames of at most `BACKUP_DATA_FRAME_BYTES`,
/// counting and hashing them; `finish` sends the last frame and the `FileEnd`.
struct FrameSink<'a> {
    stream: &'a mut TcpStream,
    pending: Vec<u8>,
    hasher: Sha256,
    bytes: u64,
}

impl<'a> FrameSink<'a> {
    fn new(stream: &'a mut TcpStream) -> FrameSink<'a> {
        FrameSink {
            stream,
            pending: Vec::with_capacity(BACKUP_DATA_FRAME_BYTES),
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn send_pending(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            write_frame(self.stream, FrameKind::Data, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    fn finish(mut self, points: u64) -> std::io::Result<()> {
        self.send_pending()?;
        let trailer = FileTrailer {
            bytes: self.bytes,
            sha256: hex(&self.hasher.finalize_reset()),
            points,
        };
        write_json(self.stream, FrameKind::FileEnd, &trailer)
    }
}

impl Write for FrameSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let room = BACKUP_DATA_FRAME_BYTES - self.pending.len();
        let taken = &bytes[..bytes.len().min(room)];
        self.pending.extend_from_slice(taken);
        self.hasher.update(taken);
        self.bytes += taken.len() as u64;
        if self.pending.len() == BACKUP_DATA_FRAME_BYTES {
            self.send_pending()?;
        }
        Ok(taken.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Creates the databases, takes their points, then CQs and users; on any failure the
/// databases created are dropped again.
fn restore(
    stream: &mut TcpStream,
    context: &BackupContext,
    databases: &[DatabaseMeta],
    users: &[UserMeta],
    stopping: &AtomicBool,
) -> Result<(), Failure> {
    let mut created: Vec<(String, u64)> = Vec::new();
    let result = restore_into(stream, context, databases, users, stopping, &mut created);
    if result.is_err() {
        for (name, id) in &created {
            drop_database(context, name, *id);
        }
    }
    result
}

fn restore_into(
    stream: &mut TcpStream,
    context: &BackupContext,
    databases: &[DatabaseMeta],
    users: &[UserMeta],
    stopping: &AtomicBool,
    created: &mut Vec<(String, u64)>,
) -> Result<(), Failure> {
    let meta = context.meta.snapshot();
    for database in databases {
        if meta.database(&database.name).is_some() {
            return Err(Failure::Refused(format!(
                "database {:?} already exists: restore does not overwrite a database; drop \
                 it first, or restore it under another name with -db {} -newdb NAME",
                database.name, database.name
            )));
        }
    }
    for database in databases {
        created.push(create_database(context, database)?);
    }
    write_json(stream, FrameKind::Ready, &serde_json::json!({}))?;
    let points = receive_points(stream, context, created, stopping)?;
    let summary = finish_restore(context, databases, users, created, points)?;
    write_json(stream, FrameKind::Done, &summary)?;
    Ok(())
}

/// Creates one database with its retention policies; returns its name and id.
fn create_database(
    context: &BackupContext,
    database: &DatabaseMeta,
) -> Result<(String, u64), Failure> {
    let refused =
        |error: String| Failure::Refused(format!("creating database {:?}: {error}", database.name));
    if !crate::query::statements::databases::is_valid_name(&database.name) {
        return Err(refused("invalid name".into()));
    }
    let first_new_id = context.meta.snapshot().next_database_id;
    let default = database
        .retention_policies
        .iter()
        .find(|rp| rp.name == database.default_retention_policy)
        .ok_or_else(|| refused("its default retention policy is not in the backup".into()))?;
    let spec = RetentionPolicySpec {
        name: Some(default.name.clone()),
        duration_ns: Some(default.duration_ns),
        shard_group_duration_ns: Some(default.shard_group_duration_ns),
        replication: Some(default.replication),
    };
    context
        .meta
        .create_database(&database.name, &spec)
        .map_err(|e| refused(e.to_string()))?;
    let id = match context.meta.snapshot().database(&database.name) {
        Some(found) if found.id >= first_new_id => found.id,
        // Created by someone else between the check and now: not ours to fill or drop.
        _ => return Err(refused("it was created by another client meanwhile".into())),
    };
    let entry = (database.name.clone(), id);
    for policy in &database.retention_policies {
        if policy.name == default.name {
            continue;
        }
        let policy = RetentionPolicy {
            name: policy.name.clone(),
            duration_ns: policy.duration_ns,
            shard_group_duration_ns: policy.shard_group_duration_ns,
            replication: policy.replication,
            shard_groups: Vec::new(),
        };
        if let Err(error) = context
            .meta
            .create_retention_policy(&database.name, policy, false)
        {
            drop_database(context, &entry.0, entry.1);
            return Err(refused(error.to_string()));
        }
    }
    Ok(entry)
}

fn drop_database(context: &BackupContext, name: &str, id: u64) {
    match context.meta.drop_database(name) {
        Ok(()) => {
            context.writer.ingest.field_types.drop_database(id);
            context.store.drop_database(id);
            crate::log_warn!("backup", "restore failed: dropped the database it created"; database = name);
        }
        Err(error) => {
            crate::log_error!("backup", "restore failed and the database it created could not be dropped"; database = name, error = error);
        }
    }
}

/// Points a restore wrote, and those it left out.
#[derive(Default)]
struct RestoredPoints {
    /// durable
    written: u64,
    /// older than their retention policy keeps, so not written
    expired: u64,
}

/// Data frames until `Done`: each chunk of whole lines planned and made durable.
fn receive_points(
    stream: &mut TcpStream,
    context: &BackupContext,
    created: &[(String, u64)],
    stopping: &AtomicBool,
) -> Result<RestoredPoints, Failure> {
    let mut payload = Vec::new();
    let mut target: Option<DataTarget> = None;
    let mut scratch = crate::ingest::plan::WriteScratch::default();
    let mut points = RestoredPoints::default();
    loop {
        if stopping.load(Ordering::Acquire) {
            return Err(Failure::Refused("the server is shutting down".into()));
        }
        match read_frame(stream, &mut payload)? {
            FrameKind::FileStart => {
                let next: DataTarget = super::protocol::parse_json(&payload)?;
                if !created.iter().any(|(name, _)| *name == next.database) {
                    return Err(Failure::Refused(format!(
                        "points for database {:?}, which this restore did not create",
                        next.database
                    )));
                }
                target = Some(next);
            }
            FrameKind::Data => {
                let Some(target) = &target else {
                    return Err(Failure::Refused("points before a FileStart frame".into()));
                };
                write_chunk(&payload, target, context, &mut scratch, &mut points)?;
            }
            FrameKind::FileEnd => target = None,
            FrameKind::Done => return Ok(points),
            other => {
                return Err(Failure::Refused(format!(
                    "unexpected {other:?} frame during a restore"
                )))
            }
        }
    }
}

/// Plans one chunk of whole lines into `target` and waits until it is durable; points the
/// policy no longer keeps are counted, any other rejection fails the restore.
fn write_chunk(
    lines: &[u8],
    target: &DataTarget,
    context: &BackupContext,
    scratch: &mut crate::ingest::plan::WriteScratch,
    points: &mut RestoredPoints,
) -> Result<(), Failure> {
    let destination = Destination {
        database: &target.database,
        retention_policy: &target.retention_policy,
    };
    let refused = |error: String| {
        Failure::Refused(format!(
            "writing points to {}.{}: {error}",
            target.database, target.retention_policy
        ))
    };
    let meta = context.meta.snapshot();
    let now_ns = crate::time::now_ns();
    let outcome = write_lines_durably(lines, &destination, &meta, &context.writer, now_ns, scratch)
        .map_err(refused)?;
    match outcome {
        WriteOutcome::Accepted => {
            points.written += lines.iter().filter(|byte| **byte == b'\n').count() as u64
        }
        // Older than the policy keeps: retention would have deleted them by now.
        WriteOutcome::PointsRejected(rejected)
            if rejected.dropped == 0 && rejected.parse_errors.is_empty() =>
        {
            points.written += rejected.points;
            points.expired += rejected.beyond_retention;
        }
        other => return Err(refused(other.to_string())),
    }
    Ok(())
}

/// Continuous queries and users, once every point is durable.
fn finish_restore(
    context: &BackupContext,
    databases: &[DatabaseMeta],
    users: &[UserMeta],
    created: &[(String, u64)],
    points: RestoredPoints,
) -> Result<RestoreSummary, Failure> {
    for database in databases {
        for cq in &database.continuous_queries {
            context
                .meta
                .create_continuous_query(&database.name, &cq.name, &cq.query)
                .map_err(|e| {
                    Failure::Refused(format!(
                        "creating continuous query {} on {}: {e}",
                        cq.name, database.name
                    ))
                })?;
        }
    }
    let mut summary = RestoreSummary {
        databases: created.iter().map(|(name, _)| name.clone()).collect(),
        points: points.written,
        points_expired: points.expired,
        users_created: Vec::new(),
        users_kept: Vec::new(),
    };
    for user in users {
        if context.meta.snapshot().user(&user.name).is_some() {
            summary.users_kept.push(user.name.clone());
            continue;
        }
        let refused = |e: crate::meta::MetaError| {
            Failure::Refused(format!("creating user {}: {e}", user.name))
        };
        context
            .meta
            .create_user(&user.name, &user.password_hash, user.admin)
            .map_err(refused)?;
        for (database, privilege) in &user.privileges {
            let Some(privilege) = privilege_from_name(privilege) else {
                return Err(Failure::Refused(format!(
                    "user {}: unknown privilege {privilege:?}",
                    user.name
                )));
            };
            if context.meta.snapshot().database(database).is_some() {
                context
                    .meta
                    .set_privilege(
                        &user.name,
                        database,
                        crate::meta::PrivilegeChange::Set(privilege),
                    )
                    .map_err(refused)?;
            }
        }
        summary.users_created.push(user.name.clone());
    }
    Ok(summary)
}
