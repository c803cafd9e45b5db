//! The network event loops: a fixed pool of threads, each with its own `mio::Poll`, its own
//! SO_REUSEPORT listener, and the connections it accepted. A connection never moves between
//! loops; everything about it (buffers, parser state, the request in flight) is owned by its
//! loop and touched by no other thread.
//!
//! Per connection, at most one request is in flight (a write waiting for fsync, or a query on
//! the pool). While it is, the loop stops reading that socket, so a pipelining or fast client
//! is slowed by TCP flow control rather than by growing buffers; the answer comes back through
//! the loop's `Mailbox` (a bounded queue plus a `mio::Waker`). A query's answer is written to
//! the socket by the query thread itself when nothing else was pending on the connection
//! (`connection::ClientQueryReply`): the mailbox then only carries the unwritten rest and
//! the permission to read on.
//!
//! Memory per connection is bounded: the read buffer by `NET_READ_BUFFER_MAX_BYTES`, an
//! incomplete request head by `HTTP_MAX_HEAD_BYTES` (freed once parsed), the request body by `max-body-size`, and pending output by
//! `NET_MAX_PENDING_RESPONSE_BYTES` (reading stops above it).

pub mod body_memory;
mod connection;
pub mod debug_vars;
pub mod listener;
pub mod statistics;
mod tls;

pub use tls::server_config as tls_server_config;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::queue::ArrayQueue;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::config::Config;
use crate::config::InputKind;
use crate::ingest::plan::WriteContext;
use crate::ingest::{AckSink, Ingest};
use crate::inputs::{InputBatch, InputService};
use crate::meta::MetaStore;
use crate::query::QueryPool;
use connection::{Connection, Protocol, RenderedAnswer};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Tokens `FIRST_INPUT .. FIRST_INPUT + MAX_INPUTS` are the inputs' sockets.
const FIRST_INPUT: usize = 2;
/// Most input instances (`[[udp]]`, `[[graphite]]`, ...) a server runs.
pub const MAX_INPUTS: usize = 64;
/// The admin UI's listener (`[admin]`).
const ADMIN_LISTENER: Token = Token(FIRST_INPUT + MAX_INPUTS);
const FIRST_CONNECTION: usize = FIRST_INPUT + MAX_INPUTS + 1;
/// Largest UDP datagram.
const DATAGRAM_MAX_BYTES: usize = 64 * 1024;
/// Poll timeout while nothing is waiting: the housekeeping period.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_millis(250);
/// Poll timeout while a write waits for ingest queue space.
const QUEUE_RETRY_INTERVAL: Duration = Duration::from_millis(1);
/// Events handled per `poll` call.
const EVENTS_PER_POLL: usize = 1024;

/// State shared by every loop (read-mostly).
pub struct Shared {
    /// configuration
    pub config: Config,
    /// the meta group, for `/ping?wait_for_leader` (`None`: answered at once)
    pub leader_wait: Option<Arc<dyn crate::http::handlers::LeaderWait>>,
    /// databases
    pub meta: Arc<MetaStore>,
    /// partitions
    pub ingest: Arc<Ingest>,
    /// the storage engine (for `/debug/vars`)
    pub store: Arc<crate::storage::engine::Store>,
    /// query threads
    pub queries: QueryPool,
    /// set by the signal thread: stop accepting, finish in-flight requests, exit
    pub shutting_down: AtomicBool,
    /// open connections across all loops
    pub open_connections: AtomicUsize,
    /// counters for /debug/vars
    pub stats: HttpStats,
    /// the enabled inputs, in config order (each loop has one socket per input)
    pub inputs: Vec<Arc<InputService>>,
    /// the threads that plan writes too large for an event loop
    pub large_writes: crate::http::large_write::LargeWrites,
    /// `[http] auth-enabled`: checks credentials (`None`: auth off, nothing is checked)
    pub auth: Option<crate::http::auth::Authenticator>,
    /// `[http] https-enabled`: every HTTP connection speaks TLS with this configuration
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `[admin] enabled`: the admin UI's files (`None`: no admin listener)
    pub admin: Option<crate::http::admin::AdminSite>,
    /// `[admin] https-enabled`: every admin connection speaks TLS with this configuration
    pub admin_tls: Option<Arc<rustls::ServerConfig>>,
    /// `[http] max-body-memory`: request-body bytes held across all connections
    pub body_memory: Arc<body_memory::BodyMemory>,
    /// the subscriber's counters (zero with `[subscriber] enabled = false`)
    pub subscriber_stats: Arc<crate::subscriber::SubscriberStats>,
    /// the statistics registry (`/debug/vars`, `/metrics`); `Shared` is one of its sources
    pub statistics: Arc<sluice_base::statistics::Statistics>,
}

impl Shared {
    /// What planning a write needs, for a meta snapshot taken now.
    pub(crate) fn write_context<'a>(
        &'a self,
        meta: &'a crate::meta::MetaData,
        now_ns: i64,
    ) -> WriteContext<'a> {
        WriteContext {
            meta,
            ingest: &self.ingest,
            registry: &self.ingest.field_types,
            now_ns,
        }
    }

    /// What planning an HTTP write needs, for a meta snapshot taken now.
    pub(crate) fn http_write_context<'a>(
        &'a self,
        meta: &'a crate::meta::MetaData,
        now_ns: i64,
    ) -> crate::http::write::HttpWriteContext<'a> {
        crate::http::write::HttpWriteContext {
            planning: self.write_context(meta, now_ns),
            max_inflated_body_bytes: self.config.http.max_inflated_body_size,
            // A node of a cluster hands every write to a large-write thread, which writes
            // it to every owner (never on a loop: it waits on peers); alone, as before.
            write_piece_bytes: if meta.nodes.len() > 1 {
                0
            } else {
                self.config.http.write_piece_size
            },
        }
    }
}

/// One input's socket, before it joins a loop.
pub enum InputSocket {
    /// UDP: every loop reads datagrams
    Udp(std::net::UdpSocket),
    /// TCP: every loop accepts connections
    Tcp(std::net::TcpListener),
}

/// The listener a loop accepts a connection from.
#[derive(Clone, Copy)]
enum AcceptFrom {
    /// the HTTP API's
    Http,
    /// the admin UI's
    Admin,
    /// an input's (its position in the loop's inputs)
    Input(usize),
}

/// One input as one loop sees it.
struct LoopInput {
    service: Arc<InputService>,
    udp: Option<mio::net::UdpSocket>,
    listener: Option<TcpListener>,
    batch: InputBatch,
}

/// HTTP counters, owned here and updated by the loops and the query threads that answer;
/// read through the statistics registry (`net::statistics`, InfluxDB's `httpd` module).
#[derive(Default)]
pub struct HttpStats {
    /// requests answered
    pub requests: AtomicU64,
    /// /write requests answered 204
    pub writes_ok: AtomicU64,
    /// connections refused over the limit
    pub connections_refused: AtomicU64,
    /// connections closed at the limit to make room for a new one
    pub connections_shed: AtomicU64,
    /// writes answered 503 after waiting for queue space
    pub writes_timed_out: AtomicU64,
    /// requests by endpoint: /write, /query, /ping, /status, Prometheus read and write
    pub write_requests: AtomicU64,
    /// `/query` requests
    pub query_requests: AtomicU64,
    /// `/ping` requests
    pub ping_requests: AtomicU64,
    /// `/status` requests
    pub status_requests: AtomicU64,
    /// `/api/v1/prom/read` requests
    pub prometheus_read_requests: AtomicU64,
    /// `/api/v1/prom/write` requests
    pub prometheus_write_requests: AtomicU64,
    /// answers 401
    pub auth_failures: AtomicU64,
    /// answers 4xx
    pub client_errors: AtomicU64,
    /// answers 5xx
    pub server_errors: AtomicU64,
    /// points of /write requests made durable
    pub points_written_ok: AtomicU64,
    /// points of /write requests whose WAL write failed or timed out
    pub points_written_fail: AtomicU64,
    /// requests being handled now
    pub active_requests: AtomicI64,
    /// /write requests being handled now
    pub active_write_requests: AtomicI64,
    /// time from a request's arrival to its answer, ns, every request
    pub request_duration_ns: AtomicU64,
    /// the same, /write requests
    pub write_request_duration_ns: AtomicU64,
    /// the same, /query requests
    pub query_request_duration_ns: AtomicU64,
    /// body bytes of /write requests (as sent)
    pub write_request_bytes: AtomicU64,
    /// body bytes of /query answers
    pub query_response_bytes: AtomicU64,
}

impl HttpStats {
    /// Counts an answer's status: 4xx are client errors (401 also an authentication
    /// failure), 5xx server errors.
    pub(crate) fn count_status(&self, status: u16) {
        if status == 401 {
            self.auth_failures.fetch_add(1, Ordering::Relaxed);
        }
        match status / 100 {
            4 => self.client_errors.fetch_add(1, Ordering::Relaxed),
            5 => self.server_errors.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

/// A finished piece of work for one connection.
pub enum Completion {
    /// the write's records are durable (or failed)
    Write {
        /// connection slot
        slot: usize,
        /// request sequence
        sequence: u64,
        /// whether every record was fsynced
        durable: bool,
    },
    /// a large write's answer, decided by its large-write thread once it is durable
    LargeWrite {
        /// connection slot
        slot: usize,
        /// request sequence
        sequence: u64,
        /// the answer
        answer: crate::http::large_write::LargeWriteAnswer,
    },
    /// the query's answer, rendered (and possibly written already) by the query thread
    Query {
        /// connection slot
        slot: usize,
        /// request sequence
        sequence: u64,
        /// the answer's bytes and how many of them reached the socket
        answer: RenderedAnswer,
    },
    /// an answer another thread decided (`/ping?wait_for_leader`, by the meta group)
    Deferred {
        /// connection slot
        slot: usize,
        /// request sequence
        sequence: u64,
        /// the answer
        response: crate::http::response::Response,
    },
}

/// Where partitions and query threads post completions for one loop.
pub struct Mailbox {
    queue: ArrayQueue<Completion>,
    waker: Waker,
}

impl Mailbox {
    /// Wakes the loop (shutdown uses this to make it notice the flag).
    pub fn wake(&self) {
        let _ = self.waker.wake();
    }

    fn post(&self, completion: Completion) {
        if self.queue.push(completion).is_err() {
            // Capacity covers every request that can be in flight (see `mailbox_capacity`).
            crate::log_error!("net", "BUG: event-loop mailbox full; a completion was lost");
        }
        if let Err(error) = self.waker.wake() {
            crate::log_error!("net", "waking event loop failed"; error = error);
        }
    }
}

impl AckSink for Mailbox {
    fn write_complete(&self, connection: usize, sequence: u64, durable: bool) {
        self.post(Completion::Write {
            slot: connection,
            sequence,
            durable,
        });
    }
}

/// Each connection has at most one request in flight; requests abandoned by closed connections
/// are bounded by the queues that hold them.
fn mailbox_capacity(config: &Config, ingest_queue_capacity: usize) -> usize {
    config.http.max_connection_limit + ingest_queue_capacity + crate::limits::QUERY_QUEUE_DEPTH + 16
}

/// A loop ready to run on its own thread.
pub struct EventLoop {
    index: usize,
    poll: Poll,
    listener: Option<TcpListener>,
    /// the admin UI's listener (`[admin] enabled`)
    admin_listener: Option<TcpListener>,
    mailbox: Arc<Mailbox>,
    shared: Arc<Shared>,
    connections: Vec<Option<Connection>>,
    free_slots: Vec<usize>,
    next_sequence: u64,
    scratch: crate::http::write::WriteScratch,
    inputs: Vec<LoopInput>,
    /// receive buffer for one datagram
    datagram: Vec<u8>,
    /// line protocol decoded from an input, before planning
    input_lines: Vec<u8>,
    /// read buffers of connections that have none now (see `Connection::drive`)
    read_buffers: ReadBufferPool,
    /// slots whose connections wait for the partition queues or for body memory (retried
    /// every `QUEUE_RETRY_INTERVAL`)
    waiting_slots: std::collections::HashSet<usize>,
}

/// An event loop's spare connection read buffers, `NET_READ_CHUNK_BYTES` each, at most
/// `NET_READ_BUFFER_POOL_MAX` of them. A buffer is only lent: a connection takes one when it
/// is driven and gives it back once it has consumed every byte read, so memory follows the
/// connections being served, not the connections open.
#[derive(Default)]
struct ReadBufferPool {
    spare: Vec<Vec<u8>>,
}

impl ReadBufferPool {
    /// A buffer of `NET_READ_CHUNK_BYTES`: a spare one, else a new one.
    fn take(&mut self) -> Vec<u8> {
        self.spare
            .pop()
            .unwrap_or_else(|| vec![0; crate::limits::NET_READ_CHUNK_BYTES])
    }

    /// Keeps `buffer` for the next `take` if it has the standard size and there is room;
    /// frees it otherwise (a buffer grown for a long line, or one past the pool's bound).
    fn give_back(&mut self, buffer: Vec<u8>) {
        if buffer.len() == crate::limits::NET_READ_CHUNK_BYTES
            && self.spare.len() < crate::limits::NET_READ_BUFFER_POOL_MAX
        {
            self.spare.push(buffer);
        }
    }
}

/// Builds one loop per listener; `input_sockets[loop]` holds that loop's socket of every
/// input, in the order of `shared.inputs`, and `admin_listeners[loop]` its admin UI
/// listener (none when the admin UI is off).
pub fn build_loops(
    shared: &Arc<Shared>,
    listeners: Vec<std::net::TcpListener>,
    mut input_sockets: Vec<Vec<InputSocket>>,
    admin_listeners: Vec<std::net::TcpListener>,
) -> io::Result<Vec<EventLoop>> {
    let mut admin_listeners = admin_listeners.into_iter();
    let queue_capacity =
        shared.config.data.ingest_queue_depth * listeners.len() * shared.ingest.partition_count();
    let mut loops = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let poll = Poll::new()?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let mailbox = Arc::new(Mailbox {
            queue: ArrayQueue::new(mailbox_capacity(&shared.config, queue_capacity)),
            waker,
        });
        let sockets = if index < input_sockets.len() {
            std::mem::take(&mut input_sockets[index])
        } else {
            Vec::new()
        };
        let mut inputs = Vec::new();
        for (position, (socket, service)) in sockets.into_iter().zip(&shared.inputs).enumerate() {
            let token = Token(FIRST_INPUT + position);
            let mut input = LoopInput {
                service: Arc::clone(service),
                udp: None,
                listener: None,
                batch: InputBatch::new(shared.ingest.partition_count()),
            };
            match socket {
                InputSocket::Udp(socket) => {
                    let mut socket = mio::net::UdpSocket::from_std(socket);
                    poll.registry()
                        .register(&mut socket, token, Interest::READABLE)?;
                    input.udp = Some(socket);
                }
                InputSocket::Tcp(listener) => {
                    let mut listener = TcpListener::from_std(listener);
                    poll.registry()
                        .register(&mut listener, token, Interest::READABLE)?;
                    input.listener = Some(listener);
                }
            }
            inputs.push(input);
        }
        let admin_listener = match admin_listeners.next() {
            Some(listener) => {
                let mut listener = TcpListener::from_std(listener);
                poll.registry()
                    .register(&mut listener, ADMIN_LISTENER, Interest::READABLE)?;
                Some(listener)
            }
            None => None,
        };
        loops.push(EventLoop {
            index,
            poll,
            listener: Some(listener),
            admin_listener,
            mailbox,
            shared: Arc::clone(shared),
            connections: Vec::new(),
            free_slots: Vec::new(),
            next_sequence: 1,
            scratch: crate::http::write::WriteScratch::default(),
            inputs,
            datagram: vec![0; DATAGRAM_MAX_BYTES],
            input_lines: Vec::new(),
            read_buffers: ReadBufferPool::default(),
            waiting_slots: std::collections::HashSet::new(),
        });
    }
    Ok(loops)
}

impl EventLoop {
    /// The handle that wakes this loop (for shutdown).
    pub fn mailbox(&self) -> Arc<Mailbox> {
        Arc::clone(&self.mailbox)
    }

    /// Runs until shutdown is requested and every connection has finished.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        let mut last_housekeeping = Instant::now();
        loop {
            let timeout = if self.any_waiting_for_queue() || self.inputs_waiting() {
                QUEUE_RETRY_INTERVAL
            } else {
                HOUSEKEEPING_INTERVAL
            };
            if let Err(error) = self.poll.poll(&mut events, Some(timeout)) {
                if error.kind() != io::ErrorKind::Interrupted {
                    crate::log_error!("net", "poll failed; event loop stops"; event_loop = self.index, error = error);
                    break;
                }
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(AcceptFrom::Http),
                    ADMIN_LISTENER => self.accept(AcceptFrom::Admin),
                    WAKER => {}
                    Token(token) if token < FIRST_CONNECTION => {
                        self.input_ready(token - FIRST_INPUT)
                    }
                    Token(token) => self.drive(token - FIRST_CONNECTION),
                }
            }
            self.drain_mailbox();
            self.retry_queued_writes();
            self.tick_inputs();
            if last_housekeeping.elapsed() >= HOUSEKEEPING_INTERVAL {
                last_housekeeping = Instant::now();
                self.expire_connections();
            }
            if self.shared.shutting_down.load(Ordering::Acquire) && self.begin_or_finish_shutdown()
            {
                break;
            }
        }
    }

    fn any_waiting_for_queue(&self) -> bool {
        !self.waiting_slots.is_empty()
    }

    /// Keeps `waiting_slots` true for `slot` after one of its connection's methods ran (the
    /// only places its state changes): listed while it waits for the partition queues or for
    /// body memory, so the 1 ms retry visits the waiting connections, not every connection.
    fn note_waiting(&mut self, slot: usize) {
        let waiting = self
            .connections
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|connection| {
                connection.is_waiting_for_queue() || connection.is_waiting_for_body_memory()
            });
        if waiting {
            self.waiting_slots.insert(slot);
        }
    }

    /// Stops accepting and closes idle connections; true once none is left.
    fn begin_or_finish_shutdown(&mut self) -> bool {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        if let Some(mut listener) = self.admin_listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        for input in &mut self.inputs {
            if let Some(mut listener) = input.listener.take() {
                let _ = self.poll.registry().deregister(&mut listener);
            }
            if let Some(mut socket) = input.udp.take() {
                let _ = self.poll.registry().deregister(&mut socket);
            }
            input.batch.flush(&input.service, &self.shared.ingest);
        }
        for slot in 0..self.connections.len() {
            let idle = self.connections[slot]
                .as_ref()
                .is_some_and(|c| c.is_idle() || c.is_input_stream());
            if idle {
                self.close(slot);
            } else if let Some(connection) = self.connections[slot].as_mut() {
                connection.close_after_current_request();
            }
        }
        self.connections.iter().all(Option::is_none) && !self.inputs_waiting()
    }

    fn inputs_waiting(&self) -> bool {
        self.inputs.iter().any(|input| input.batch.has_waiting())
    }

    /// Accepts on the HTTP listener, the admin UI's or an input's.
    fn accept(&mut self, from: AcceptFrom) {
        loop {
            let listener = match from {
                AcceptFrom::Http => self.listener.as_ref(),
                AcceptFrom::Admin => self.admin_listener.as_ref(),
                AcceptFrom::Input(position) => {
                    self.inputs.get(position).and_then(|i| i.listener.as_ref())
                }
            };
            let Some(listener) = listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, _peer)) => {
                    let open = self.shared.open_connections.fetch_add(1, Ordering::AcqRel) + 1;
                    if open > self.shared.config.http.max_connection_limit
                        && !self.shed_one_connection()
                    {
                        self.shared.open_connections.fetch_sub(1, Ordering::AcqRel);
                        self.shared
                            .stats
                            .connections_refused
                            .fetch_add(1, Ordering::Relaxed);
                        // Closing at once is the clearest answer a client can get before HTTP.
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let mut tls = None;
                    let tls_config = match from {
                        AcceptFrom::Http => self.shared.tls.as_ref(),
                        AcceptFrom::Admin => self.shared.admin_tls.as_ref(),
                        AcceptFrom::Input(_) => None,
                    };
                    if let Some(config) = tls_config {
                        tls = tls::new_session(config);
                        if tls.is_none() {
                            self.shared.open_connections.fetch_sub(1, Ordering::AcqRel);
                            continue;
                        }
                    }
                    let protocol = match from {
                        AcceptFrom::Http => Protocol::Http,
                        AcceptFrom::Admin => Protocol::Admin,
                        AcceptFrom::Input(position) => {
                            match self.inputs.get(position).map(|i| i.service.config.kind) {
                                Some(InputKind::OpenTsdb) => {
                                    Protocol::OpenTsdbUndecided { input: position }
                                }
                                _ => Protocol::Lines { input: position },
                            }
                        }
                    };
                    self.add_connection(stream, protocol, tls);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    // EMFILE and friends: leave the rest in the backlog until the next event.
                    crate::log_warn!("net", "accept failed"; event_loop = self.index, error = error);
                    return;
                }
            }
        }
    }

    /// At the connection limit, closes this loop's connection that owes nothing (idle
    /// keep-alive, or a request still arriving) and has been quiet longest, if it has been
    /// quiet for `NET_SHED_MIN_QUIET_MS`; true when one was closed. Idle and trickling
    /// clients then cannot lock out a new one: they lose their slot first.
    fn shed_one_connection(&mut self) -> bool {
        let now = Instant::now();
        let quietest = self
            .connections
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| Some((slot, c.as_ref()?.sheddable_since()?)))
            .filter(|(_, since)| {
                now.saturating_duration_since(*since)
                    >= Duration::from_millis(crate::limits::NET_SHED_MIN_QUIET_MS)
            })
            .min_by_key(|(_, since)| *since);
        let Some((slot, _)) = quietest else {
            return false;
        };
        self.close(slot);
        self.shared
            .stats
            .connections_shed
            .fetch_add(1, Ordering::Relaxed);
        // `close` gave back the shed connection's count: the new one (counted by the
        // caller) is within the limit again.
        true
    }

    fn add_connection(
        &mut self,
        mut stream: mio::net::TcpStream,
        protocol: Protocol,
        tls: Option<tls::SharedSession>,
    ) {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.connections.push(None);
                self.connections.len() - 1
            }
        };
        let token = Token(slot + FIRST_CONNECTION);
        if let Err(error) = self.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            crate::log_warn!("net", "registering connection failed"; error = error);
            self.shared.open_connections.fetch_sub(1, Ordering::AcqRel);
            self.free_slots.push(slot);
            return;
        }
        self.connections[slot] = Some(Connection::new(stream, &self.shared.config, protocol, tls));
        self.drive(slot);
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut connection) = self.connections.get_mut(slot).and_then(Option::take) {
            let _ = self.poll.registry().deregister(connection.stream_mut());
            self.shared.open_connections.fetch_sub(1, Ordering::AcqRel);
            self.free_slots.push(slot);
        }
    }

    fn next_sequence(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence
    }

    /// Reads, handles and writes what a connection allows now.
    fn drive(&mut self, slot: usize) {
        let Some(mut connection) = self.connections.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let keep = connection.drive(slot, self);
        self.connections[slot] = Some(connection);
        if keep {
            self.note_waiting(slot);
        } else {
            self.close(slot);
        }
    }

    fn drain_mailbox(&mut self) {
        while let Some(completion) = self.mailbox.queue.pop() {
            let (slot, sequence) = match &completion {
                Completion::Write { slot, sequence, .. }
                | Completion::LargeWrite { slot, sequence, .. }
                | Completion::Query { slot, sequence, .. }
                | Completion::Deferred { slot, sequence, .. } => (*slot, *sequence),
            };
            let Some(connection) = self.connections.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if connection.complete(sequence, completion, &self.shared) {
                self.drive(slot);
            } else {
                self.note_waiting(slot);
            }
        }
    }

    fn retry_queued_writes(&mut self) {
        // Each listed slot is retried once; those still waiting are listed again by
        // `drive`/`note_waiting`, a closed one (or its slot's next connection) is dropped.
        let listed = std::mem::take(&mut self.waiting_slots);
        for slot in listed {
            let waiting_for_body_memory = self.connections[slot]
                .as_ref()
                .is_some_and(Connection::is_waiting_for_body_memory);
            if waiting_for_body_memory {
                self.drive(slot);
                continue;
            }
            let waiting = self.connections[slot]
                .as_ref()
                .is_some_and(Connection::is_waiting_for_queue);
            if waiting {
                let Some(connection) = self.connections[slot].as_mut() else {
                    continue;
                };
                if connection.retry_queued(&self.shared) {
                    self.drive(slot);
                } else {
                    self.note_waiting(slot);
                }
            }
        }
    }

    /// An input socket is readable.
    fn input_ready(&mut self, position: usize) {
        let Some(input) = self.inputs.get(position) else {
            return;
        };
        if input.listener.is_some() {
            self.accept(AcceptFrom::Input(position));
            return;
        }
        let now_ns = crate::time::now_ns();
        let meta = self.shared.meta.snapshot();
        let shared = Arc::clone(&self.shared);
        let context = shared.write_context(&meta, now_ns);
        let Some(input) = self.inputs.get_mut(position) else {
            return;
        };
        let Some(socket) = input.udp.as_ref() else {
            return;
        };
        let stats = &input.service.stats;
        loop {
            let length = match socket.recv_from(&mut self.datagram) {
                Ok((length, _)) => length,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    crate::log_warn!("net", "input receive failed"; input = input.service.config.kind.section(), error = error);
                    break;
                }
            };
            stats.received.fetch_add(1, Ordering::Relaxed);
            stats.bytes.fetch_add(length as u64, Ordering::Relaxed);
            if input.batch.is_backlogged(&input.service) {
                // The WAL queues are full: a datagram has nowhere to wait.
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.input_lines.clear();
            let datagram = self.datagram.get(..length).unwrap_or_default();
            let failures = input
                .service
                .decode_datagram(datagram, now_ns, &mut self.input_lines);
            stats.failed.fetch_add(failures, Ordering::Relaxed);
            input.batch.add_lines(
                &input.service,
                &self.input_lines,
                &context,
                &mut self.scratch,
            );
        }
    }

    /// Queues input batches that are due and retries waiting ones; wakes input connections
    /// that stopped reading while their input was backlogged.
    fn tick_inputs(&mut self) {
        let mut resumed = Vec::new();
        for (position, input) in self.inputs.iter_mut().enumerate() {
            let was_backlogged = input.batch.is_backlogged(&input.service);
            input.batch.tick(&input.service, &self.shared.ingest);
            if was_backlogged && !input.batch.is_backlogged(&input.service) {
                resumed.push(position);
            }
        }
        if resumed.is_empty() {
            return;
        }
        for slot in 0..self.connections.len() {
            let paused = self.connections[slot]
                .as_ref()
                .and_then(Connection::input)
                .is_some_and(|i| resumed.contains(&i));
            if paused {
                self.drive(slot);
            }
        }
    }

    fn expire_connections(&mut self) {
        let now = Instant::now();
        for slot in 0..self.connections.len() {
            let expired = self.connections[slot]
                .as_ref()
                .is_some_and(|c| c.expired(now, &self.shared.config));
            if expired {
                self.close(slot);
            }
        }
    }
}
