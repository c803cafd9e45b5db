//! The network event loops: a fixed pool of threads, each with its own `mio::Poll`, its own
//! SO_REUSEPORT listener, and the connections it accepted. A connection never moves between
//! loops; everything about it (buffers, parser state, the request in flight) is owned by its
//! loop and touched by no other thread.
//!
//! Per connection, at most one request is in flight (a write waiting for fsync, or a query on
//! the pool). While it is, the loop stops reading that socket, so a pipelining or fast client
//! is slowed by TCP flow control rather than by growing buffers; the answer comes back through
//! the loop's `Mailbox` (a bounded queue plus a `mio::Waker`).
//!
//! Memory per connection is bounded: the read buffer by `HTTP_MAX_HEAD_BYTES +
//! NET_READ_CHUNK_BYTES`, the request body by `max-body-size`, and pending output by
//! `NET_MAX_PENDING_RESPONSE_BYTES` (reading stops above it).

mod connection;
pub mod listener;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::queue::ArrayQueue;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::config::Config;
use crate::http::response::Response;
use crate::ingest::{AckSink, Ingest};
use crate::meta::MetaStore;
use crate::query::{QueryPool, QuerySink};
use connection::Connection;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONNECTION: usize = 2;
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
    /// databases
    pub meta: Arc<MetaStore>,
    /// partitions
    pub ingest: Arc<Ingest>,
    /// query threads
    pub queries: QueryPool,
    /// set by the signal thread: stop accepting, finish in-flight requests, exit
    pub shutting_down: AtomicBool,
    /// open connections across all loops
    pub open_connections: AtomicUsize,
    /// counters for /debug/vars
    pub stats: HttpStats,
}

/// HTTP counters.
#[derive(Default)]
pub struct HttpStats {
    /// requests answered
    pub requests: AtomicU64,
    /// /write requests answered 204
    pub writes_ok: AtomicU64,
    /// connections refused over the limit
    pub connections_refused: AtomicU64,
    /// writes answered 503 after waiting for queue space
    pub writes_timed_out: AtomicU64,
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
    /// the query's answer
    Query {
        /// connection slot
        slot: usize,
        /// request sequence
        sequence: u64,
        /// the answer
        response: Response,
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

impl QuerySink for Mailbox {
    fn query_complete(&self, connection: usize, sequence: u64, response: Response) {
        self.post(Completion::Query {
            slot: connection,
            sequence,
            response,
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
    mailbox: Arc<Mailbox>,
    shared: Arc<Shared>,
    connections: Vec<Option<Connection>>,
    free_slots: Vec<usize>,
    next_sequence: u64,
    scratch: crate::http::write::WriteScratch,
}

/// Builds one loop per listener.
pub fn build_loops(
    shared: &Arc<Shared>,
    listeners: Vec<std::net::TcpListener>,
) -> io::Result<Vec<EventLoop>> {
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
        loops.push(EventLoop {
            index,
            poll,
            listener: Some(listener),
            mailbox,
            shared: Arc::clone(shared),
            connections: Vec::new(),
            free_slots: Vec::new(),
            next_sequence: 1,
            scratch: crate::http::write::WriteScratch::default(),
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
            let timeout = if self.any_waiting_for_queue() {
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
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(token) => self.drive(token - FIRST_CONNECTION),
                }
            }
            self.drain_mailbox();
            self.retry_queued_writes();
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
        self.connections
            .iter()
            .flatten()
            .any(Connection::is_waiting_for_queue)
    }

    /// Stops accepting and closes idle connections; true once none is left.
    fn begin_or_finish_shutdown(&mut self) -> bool {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        for slot in 0..self.connections.len() {
            let idle = self.connections[slot]
                .as_ref()
                .is_some_and(Connection::is_idle);
            if idle {
                self.close(slot);
            } else if let Some(connection) = self.connections[slot].as_mut() {
                connection.close_after_current_request();
            }
        }
        self.connections.iter().all(Option::is_none)
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, _peer)) => {
                    let open = self.shared.open_connections.fetch_add(1, Ordering::AcqRel) + 1;
                    if open > self.shared.config.http.max_connection_limit {
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
                    self.add_connection(stream);
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

    fn add_connection(&mut self, mut stream: mio::net::TcpStream) {
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
        self.connections[slot] = Some(Connection::new(stream, &self.shared.config));
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
        if !keep {
            self.close(slot);
        }
    }

    fn drain_mailbox(&mut self) {
        while let Some(completion) = self.mailbox.queue.pop() {
            let (slot, sequence) = match &completion {
                Completion::Write { slot, sequence, .. }
                | Completion::Query { slot, sequence, .. } => (*slot, *sequence),
            };
            let Some(connection) = self.connections.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if connection.complete(sequence, completion, &self.shared) {
                self.drive(slot);
            }
        }
    }

    fn retry_queued_writes(&mut self) {
        for slot in 0..self.connections.len() {
            let waiting = self.connections[slot]
                .as_ref()
                .is_some_and(Connection::is_waiting_for_queue);
            if waiting {
                let Some(connection) = self.connections[slot].as_mut() else {
                    continue;
                };
                if connection.retry_queued(&self.shared) {
                    self.drive(slot);
                }
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
