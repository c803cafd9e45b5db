//! One HTTP connection: its buffers, its framing state and its request in flight.
//!
//! States: `Ready` (reading and answering requests in order), `InFlight` (one write waiting
//! for fsync, one large write on a large-write thread, or one query on the pool; reading
//! paused), `WaitingForQueue` (a write whose
//! records do not all fit in the partition queues yet; retried every millisecond until
//! `enqueued-write-timeout`, then 503). Responses are written in request order because the
//! next request is not even parsed until the current one is answered.

use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::body_memory::BodyReservation;
use super::tls::{self, SharedSession};
use super::{Completion, EventLoop, Shared};
use crate::config::{Config, InputKind};
use crate::http::framing::{FramingError, FramingLimits, Method, Progress, Request, RequestReader};
use crate::http::handlers::{route, Action};
use crate::http::large_write::{DeliverAnswer, LargeWrite};
use crate::http::response::{
    serialize, serialize_head, serialize_streamed_head, Response, ResponseContext,
};
use crate::http::write::{queue_timeout_answer, wal_failure_answer};
use crate::ingest::Batch;
use crate::inputs::opentsdb_http;
use crate::limits::{
    HTTP_MAX_CHUNK_LINE_BYTES, HTTP_MAX_HEADERS, HTTP_MAX_HEAD_BYTES, NET_IDLE_OUTPUT_KEEP_BYTES,
    NET_LINGER_MAX_BYTES, NET_LINGER_TIMEOUT_MS, NET_MAX_PENDING_RESPONSE_BYTES,
    NET_QUERY_ANSWER_HANDOFF_MAX_BYTES, NET_READ_BUFFER_MAX_BYTES, NET_READ_CHUNK_BYTES,
    NET_STREAM_STALL_TIMEOUT_MS,
};
use crate::query::answer::{AnswerOutcome, QueryAnswer};

const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
const READ_BUFFER_MAX_BYTES: usize = NET_READ_BUFFER_MAX_BYTES;

/// How the answer of the request in flight is to be written.
struct Answer {
    sequence: u64,
    request_id: String,
    head_only: bool,
    keep_alive: bool,
    http10: bool,
    /// `Origin` of the request: the answer carries InfluxDB's CORS headers
    origin: Option<String>,
    /// counts the request as active until the answer is dropped (sent or given up on)
    tracker: RequestTracker,
}

/// What a request is, for the `httpd` counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestKind {
    Write,
    Query,
    Other,
}

/// Counts one request of the HTTP API in `httpd` (`net::statistics`): by endpoint when it
/// arrives, as active until it is dropped with its `Answer` (answered, or its connection
/// gone), then its duration. Dropping is the one way out, so the active gauges cannot leak.
struct RequestTracker {
    shared: Arc<Shared>,
    started: Instant,
    kind: RequestKind,
    /// points of a /write planned on the loop (counted written or failed once known)
    points: u64,
}

impl RequestTracker {
    fn start(shared: &Arc<Shared>, request: &Request) -> RequestTracker {
        let stats = &shared.stats;
        let mut kind = RequestKind::Other;
        let counter = match request.head.path.as_str() {
            "/write" => {
                kind = RequestKind::Write;
                stats
                    .write_request_bytes
                    .fetch_add(request.body.len() as u64, Ordering::Relaxed);
                stats.active_write_requests.fetch_add(1, Ordering::Relaxed);
                Some(&stats.write_requests)
            }
            "/query" => {
                kind = RequestKind::Query;
                Some(&stats.query_requests)
            }
            "/ping" => Some(&stats.ping_requests),
            "/status" => Some(&stats.status_requests),
            "/api/v1/prom/read" => Some(&stats.prometheus_read_requests),
            "/api/v1/prom/write" => Some(&stats.prometheus_write_requests),
            _ => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        stats.active_requests.fetch_add(1, Ordering::Relaxed);
        RequestTracker {
            shared: Arc::clone(shared),
            started: Instant::now(),
            kind,
            points: 0,
        }
    }

    /// The /write's points are durable (`true`) or failed.
    fn points_done(&mut self, durable: bool) {
        let stats = &self.shared.stats;
        let counter = if durable {
            &stats.points_written_ok
        } else {
            &stats.points_written_fail
        };
        counter.fetch_add(std::mem::take(&mut self.points), Ordering::Relaxed);
    }
}

impl Drop for RequestTracker {
    fn drop(&mut self) {
        let stats = &self.shared.stats;
        let took_ns = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        stats.active_requests.fetch_sub(1, Ordering::Relaxed);
        stats
            .request_duration_ns
            .fetch_add(took_ns, Ordering::Relaxed);
        match self.kind {
            RequestKind::Write => {
                stats.active_write_requests.fetch_sub(1, Ordering::Relaxed);
                stats
                    .write_request_duration_ns
                    .fetch_add(took_ns, Ordering::Relaxed);
            }
            RequestKind::Query => {
                stats
                    .query_request_duration_ns
                    .fetch_add(took_ns, Ordering::Relaxed);
            }
            RequestKind::Other => {}
        }
    }
}

enum State {
    Ready,
    WriteInFlight {
        answer: Answer,
        on_durable: Response,
    },
    /// A large write on a large-write thread; its answer comes back as a completion.
    LargeWriteInFlight {
        answer: Answer,
    },
    /// An answer another thread decides (`Completion::Deferred`).
    DeferredInFlight {
        answer: Answer,
    },
    /// The query's `Answer` travels with the job (`ClientQueryReply`).
    QueryInFlight {
        sequence: u64,
    },
    WaitingForQueue {
        answer: Answer,
        on_durable: Response,
        unsent: Vec<Batch>,
        since: Instant,
    },
}

/// What a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    /// the HTTP API
    Http,
    /// the admin UI's static files (`http::admin`)
    Admin,
    /// newline-separated lines of an input (Graphite, OpenTSDB telnet)
    Lines {
        /// the loop's input
        input: usize,
    },
    /// an OpenTSDB connection whose first bytes have not told yet whether it is HTTP
    OpenTsdbUndecided {
        /// the loop's input
        input: usize,
    },
    /// OpenTSDB's HTTP API (`/api/put`)
    OpenTsdbHttp {
        /// the loop's input
        input: usize,
    },
}

/// Longest line an input stream may send; a longer one is dropped and counted.
const INPUT_LINE_MAX_BYTES: usize = READ_BUFFER_MAX_BYTES;
/// An OpenTSDB connection decides telnet or HTTP on its first line; a first line longer
/// than this without a newline is telnet (no request line of ours is that long).
const SNIFF_BYTES: usize = 8 * 1024;

pub(super) struct Connection {
    stream: TcpStream,
    protocol: Protocol,
    /// an input stream dropping the rest of an over-long line
    skipping_long_line: bool,
    reader: RequestReader,
    read_buffer: Vec<u8>,
    read_start: usize,
    read_end: usize,
    output: Vec<u8>,
    output_offset: usize,
    state: State,
    peer_closed: bool,
    close_when_flushed: bool,
    /// The close follows an error answer that left request bytes unread (`linger`).
    linger_before_close: bool,
    /// Set once lingering began: when it gives up, and how many bytes it discarded.
    lingering: Option<(Instant, usize)>,
    last_activity: Instant,
    /// When the first byte of the request being read arrived, and how many bytes have
    /// arrived since (for `request-min-rate`); `None` between requests.
    request_arrival: Option<(Instant, u64)>,
    /// A second handle on `stream` (made at the first query) through which a query thread
    /// writes its answer while this connection waits for it; see `ClientQueryReply`.
    query_socket: Option<Arc<std::net::TcpStream>>,
    /// HTTPS: the TLS session every byte of `stream` goes through (`None`: plain HTTP).
    tls: Option<SharedSession>,
    /// HTTPS: the client's first bytes were checked for a plain HTTP request.
    tls_sniffed: bool,
    /// `[http] max-body-memory`: the reservation of the body being read (taken before the
    /// body is read past what the read buffer held; see `net::body_memory`)
    body_reservation: Option<BodyReservation>,
    /// the reservation of the request being answered (its body may still be in memory, on
    /// a large-write thread); released once the connection is `Ready` again
    answered_reservation: Option<BodyReservation>,
    /// since when the body being read has waited for room in `max-body-memory`
    waiting_for_body_memory: Option<Instant>,
}

enum ReadOutcome {
    Data,
    WouldBlock,
    Closed,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        config: &Config,
        protocol: Protocol,
        tls: Option<SharedSession>,
    ) -> Connection {
        Connection {
            stream,
            protocol,
            skipping_long_line: false,
            reader: RequestReader::new(framing_limits(config)),
            // taken from the loop's pool while the connection is driven (`drive`)
            read_buffer: Vec::new(),
            read_start: 0,
            read_end: 0,
            output: Vec::new(),
            output_offset: 0,
            state: State::Ready,
            peer_closed: false,
            close_when_flushed: false,
            linger_before_close: false,
            lingering: None,
            last_activity: Instant::now(),
            request_arrival: None,
            query_socket: None,
            tls,
            tls_sniffed: false,
            body_reservation: None,
            answered_reservation: None,
            waiting_for_body_memory: None,
        }
    }

    pub(super) fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// The loop input this connection feeds, if any.
    pub(super) fn input(&self) -> Option<usize> {
        match self.protocol {
            Protocol::Http | Protocol::Admin => None,
            Protocol::Lines { input }
            | Protocol::OpenTsdbUndecided { input }
            | Protocol::OpenTsdbHttp { input } => Some(input),
        }
    }

    /// A line stream of an input: it has no request in flight, so shutdown may close it.
    pub(super) fn is_input_stream(&self) -> bool {
        matches!(
            self.protocol,
            Protocol::Lines { .. } | Protocol::OpenTsdbUndecided { .. }
        )
    }

    pub(super) fn is_waiting_for_queue(&self) -> bool {
        matches!(self.state, State::WaitingForQueue { .. })
    }

    /// Whether the body being read waits for room in `[http] max-body-memory` (the loop
    /// drives the connection again at its queue-retry tick).
    pub(super) fn is_waiting_for_body_memory(&self) -> bool {
        self.waiting_for_body_memory.is_some()
    }

    /// Nothing in flight, nothing half-read, nothing unwritten.
    pub(super) fn is_idle(&self) -> bool {
        // A lingering connection has been answered; shutdown may close it at once.
        self.lingering.is_some()
            || matches!(self.state, State::Ready)
                && self.read_start == self.read_end
                && self.output_flushed()
                && !self.reader.is_mid_request()
    }

    pub(super) fn close_after_current_request(&mut self) {
        if matches!(self.state, State::Ready)
            && self.read_start == self.read_end
            && !self.reader.is_mid_request()
        {
            self.close_when_flushed = true;
        }
    }

    pub(super) fn expired(&self, now: Instant, config: &Config) -> bool {
        if matches!(self.protocol, Protocol::Lines { .. }) {
            // Metric streams (Graphite, OpenTSDB telnet) stay open between sends, as InfluxDB
            // keeps them; they hold one bounded buffer and count against the connection limit.
            return false;
        }
        if let Some((give_up_at, _)) = self.lingering {
            return now >= give_up_at;
        }
        if self.waiting_for_body_memory.is_some() {
            // Its slowness is ours: it ends with a 503 at enqueued-write-timeout instead.
            return false;
        }
        let idle_for = now.saturating_duration_since(self.last_activity);
        match self.state {
            // A TLS handshake is bounded like a request being read.
            State::Ready if self.is_idle() && !self.tls_handshaking() => {
                idle_for >= config.http.idle_timeout
            }
            State::Ready => {
                idle_for >= config.http.request_read_timeout
                    || self.arriving_too_slowly(now, config)
            }
            _ => false,
        }
    }

    /// Whether the request being read has averaged less than `request-min-rate` since its
    /// first byte, once past `request-min-rate-grace` (a slowloris trickle).
    fn arriving_too_slowly(&self, now: Instant, config: &Config) -> bool {
        let Some((started, bytes)) = self.request_arrival else {
            return false;
        };
        let elapsed = now.saturating_duration_since(started);
        let grace = config.http.request_min_rate_grace;
        let min_rate = config.http.request_min_rate;
        if min_rate == 0 || elapsed <= grace {
            return false;
        }
        let required = min_rate as f64 * (elapsed - grace).as_secs_f64();
        (bytes as f64) < required
    }

    /// Whether this connection may be closed to make room for a new one at the connection
    /// limit: nothing in flight and nothing owed to it (an idle keep-alive, or a request
    /// still arriving), with when it last did anything.
    pub(super) fn sheddable_since(&self) -> Option<Instant> {
        let owes_nothing = matches!(self.state, State::Ready)
            && self.output_flushed()
            && self.lingering.is_none()
            && self.waiting_for_body_memory.is_none()
            && !matches!(self.protocol, Protocol::Lines { .. });
        owes_nothing.then_some(self.last_activity)
    }

    /// Reads, handles and writes as far as possible; false when the connection is done.
    ///
    /// The read buffer is the loop's only while the connection is driven: taken from the
    /// loop's pool here and given back once every byte read is consumed, so a connection
    /// between requests (an idle keep-alive, one that never sent a byte) holds no read
    /// buffer, and its output buffer shrinks to `NET_IDLE_OUTPUT_KEEP_BYTES` (10,000 idle
    /// connections cost ~1 KB each, not the 64 KiB buffer and up to 1 MiB of answer
    /// capacity they kept before).
    pub(super) fn drive(&mut self, slot: usize, event_loop: &mut EventLoop) -> bool {
        if self.read_buffer.is_empty() {
            self.read_buffer = event_loop.read_buffers.take();
        }
        let keep = self.drive_protocol(slot, event_loop);
        if matches!(self.state, State::Ready) {
            self.answered_reservation = None;
        }
        if self.read_start == self.read_end {
            self.read_start = 0;
            self.read_end = 0;
            event_loop
                .read_buffers
                .give_back(std::mem::take(&mut self.read_buffer));
            if self.output_offset == self.output.len()
                && self.output.capacity() > NET_IDLE_OUTPUT_KEEP_BYTES
            {
                self.output.clear();
                self.output_offset = 0;
                self.output.shrink_to(NET_IDLE_OUTPUT_KEEP_BYTES);
            }
        }
        keep
    }

    fn drive_protocol(&mut self, slot: usize, event_loop: &mut EventLoop) -> bool {
        match self.protocol {
            Protocol::Http | Protocol::Admin | Protocol::OpenTsdbHttp { .. } => {
                self.drive_http(slot, event_loop)
            }
            Protocol::Lines { input } => self.drive_lines(input, event_loop),
            Protocol::OpenTsdbUndecided { input } => {
                // Read until the first line is complete (or long enough to be telnet).
                let first_line_end = loop {
                    let buffered = &self.read_buffer[self.read_start..self.read_end];
                    if let Some(end) = memchr::memchr(b'\n', buffered) {
                        break end;
                    }
                    if buffered.len() >= SNIFF_BYTES || self.peer_closed {
                        break buffered.len();
                    }
                    match self.read_more() {
                        Some(true) => {}
                        Some(false) if self.peer_closed => {}
                        Some(false) => return true, // wait for more bytes
                        None => return false,
                    }
                };
                let first_line =
                    &self.read_buffer[self.read_start..self.read_start + first_line_end];
                // Go's server decides by parsing a request line; so does `looks_like_http`.
                let is_http = crate::inputs::opentsdb::looks_like_http(first_line);
                self.protocol = if is_http {
                    Protocol::OpenTsdbHttp { input }
                } else {
                    Protocol::Lines { input }
                };
                self.drive_protocol(slot, event_loop)
            }
        }
    }

    /// Reads lines of an input stream, decodes them into the loop's input batch, writes any
    /// answers (OpenTSDB `version`); stops reading while the input is backlogged.
    fn drive_lines(&mut self, position: usize, event_loop: &mut EventLoop) -> bool {
        let now_ns = crate::time::now_ns();
        loop {
            if !self.flush() {
                return false;
            }
            let backlogged = event_loop
                .inputs
                .get(position)
                .is_none_or(|i| i.batch.is_backlogged(&i.service));
            if backlogged {
                return true; // resumed by the loop once the WAL queues drain
            }
            let mut got_data = false;
            if self.read_end - self.read_start < READ_BUFFER_MAX_BYTES {
                match self.read_more() {
                    Some(true) => got_data = true,
                    Some(false) => {}
                    None => return false,
                }
            }
            self.decode_lines(position, now_ns, event_loop);
            if !got_data {
                break;
            }
        }
        if !self.flush() {
            return false;
        }
        !self.peer_closed || self.output_offset < self.output.len()
    }

    /// Decodes every complete line in the read buffer (and, once the peer closed, the last
    /// unterminated one).
    fn decode_lines(&mut self, position: usize, now_ns: i64, event_loop: &mut EventLoop) {
        let Some(input) = event_loop.inputs.get_mut(position) else {
            return;
        };
        let service = Arc::clone(&input.service);
        event_loop.input_lines.clear();
        let mut lines = 0u64;
        let mut bytes = 0usize;
        let mut failures = 0u64;
        loop {
            let buffered = &self.read_buffer[self.read_start..self.read_end];
            let line_end = memchr::memchr(b'\n', buffered);
            let (line, consumed) = match line_end {
                Some(end) => (&buffered[..end], end + 1),
                // InfluxDB's Graphite service drops an unterminated last line; telnet keeps it.
                None if self.peer_closed
                    && !buffered.is_empty()
                    && service.config.kind == InputKind::Graphite =>
                {
                    self.read_start = self.read_end;
                    break;
                }
                None if self.peer_closed && !buffered.is_empty() => (buffered, buffered.len()),
                None => {
                    if buffered.len() >= INPUT_LINE_MAX_BYTES {
                        // No newline in a full buffer: drop this line up to its end.
                        failures += 1;
                        self.skipping_long_line = true;
                        self.read_start = self.read_end;
                    }
                    break;
                }
            };
            if self.skipping_long_line {
                self.skipping_long_line = false;
            } else {
                lines += 1;
                let (answer, failed) =
                    service.decode_stream_line(line, now_ns, &mut event_loop.input_lines);
                failures += failed;
                if let Some(answer) = answer {
                    self.output.extend_from_slice(answer.as_bytes());
                }
            }
            self.read_start += consumed;
            bytes += consumed;
        }
        self.compact_read_buffer();
        service.stats.received.fetch_add(lines, Ordering::Relaxed);
        service
            .stats
            .bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        service.stats.failed.fetch_add(failures, Ordering::Relaxed);
        if event_loop.input_lines.is_empty() {
            return;
        }
        let shared = Arc::clone(&event_loop.shared);
        let meta = shared.meta.snapshot();
        let context = shared.write_context(&meta, now_ns);
        if let Some(input) = event_loop.inputs.get_mut(position) {
            input.batch.add_lines(
                &service,
                &event_loop.input_lines,
                &context,
                &mut event_loop.scratch,
            );
        }
    }

    fn drive_http(&mut self, slot: usize, event_loop: &mut EventLoop) -> bool {
        loop {
            if !self.flush() {
                return false;
            }
            if !matches!(self.state, State::Ready) || self.close_when_flushed {
                break;
            }
            if self.output.len() - self.output_offset > NET_MAX_PENDING_RESPONSE_BYTES {
                break; // let the client read before we answer more pipelined requests
            }
            if self.read_start == self.read_end {
                if !self.body_admitted(&event_loop.shared) {
                    break;
                }
                match self.read_more() {
                    Some(true) => {}
                    Some(false) => break,
                    None => return false,
                }
            }
            let (consumed, progress) = self
                .reader
                .advance(&self.read_buffer[self.read_start..self.read_end]);
            self.read_start += consumed.min(self.read_end - self.read_start);
            if self.read_start == self.read_end {
                self.read_start = 0;
                self.read_end = 0;
            }
            match progress {
                Progress::NeedMore => {
                    if self.read_start != self.read_end {
                        // The reader keeps bytes it cannot use yet: make room and read more.
                        self.compact_read_buffer();
                        if !self.body_admitted(&event_loop.shared) {
                            break;
                        }
                        match self.read_more() {
                            Some(true) => {}
                            Some(false) => break,
                            None => return false,
                        }
                    }
                }
                Progress::SendContinue => self.output.extend_from_slice(CONTINUE_RESPONSE),
                Progress::Request(request) => {
                    // The next request's clock starts with its own bytes.
                    self.request_arrival = None;
                    self.answered_reservation = self.body_reservation.take();
                    self.handle(request, slot, event_loop)
                }
                Progress::Error(error) => {
                    if !self.answer_framing_error(&error) {
                        self.close_when_flushed = true;
                        self.linger_before_close = true;
                    }
                }
            }
        }
        if !self.flush() {
            return false;
        }
        let finished_output = self.output_flushed();
        if self.close_when_flushed && finished_output {
            self.send_close_notify();
            return self.linger_before_close && !self.peer_closed && self.linger();
        }
        // A peer that half-closed still gets the answers to what it sent.
        !(self.peer_closed
            && finished_output
            && matches!(self.state, State::Ready)
            && self.read_start == self.read_end)
    }

    /// The lingering close: our side is shut for writing (the client sees the answer end),
    /// and what the client still sends of the refused request is read and dropped until it
    /// closes, `NET_LINGER_MAX_BYTES` or `NET_LINGER_TIMEOUT_MS`. Closing with unread bytes
    /// would make the kernel send a reset, and a client still writing its body would get
    /// "broken pipe" or "connection reset" instead of the answer (Go's server pauses before
    /// such a close for the same reason). True while lingering goes on.
    fn linger(&mut self) -> bool {
        let (give_up_at, mut discarded) = match self.lingering {
            Some(lingering) => lingering,
            None => {
                if self.stream.shutdown(std::net::Shutdown::Write).is_err() {
                    return false;
                }
                let timeout = Duration::from_millis(NET_LINGER_TIMEOUT_MS);
                (Instant::now() + timeout, 0)
            }
        };
        self.read_start = 0;
        self.read_end = 0;
        let mut discard = [0u8; 4096];
        let keep = loop {
            match self.stream.read(&mut discard) {
                Ok(0) => break false,
                Ok(count) => {
                    discarded += count;
                    if discarded > NET_LINGER_MAX_BYTES {
                        break false;
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break true,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break false,
            }
        };
        self.lingering = Some((give_up_at, discarded));
        keep && Instant::now() < give_up_at
    }

    fn compact_read_buffer(&mut self) {
        if self.read_start > 0 {
            self.read_buffer
                .copy_within(self.read_start..self.read_end, 0);
            self.read_end -= self.read_start;
            self.read_start = 0;
        }
        if self.read_end == self.read_buffer.len() && self.read_buffer.len() < READ_BUFFER_MAX_BYTES
        {
            let grown = (self.read_buffer.len() * 2).min(READ_BUFFER_MAX_BYTES);
            self.read_buffer.resize(grown, 0);
        } else if self.read_end <= NET_READ_CHUNK_BYTES / 2
            && self.read_buffer.len() > NET_READ_CHUNK_BYTES
        {
            // Drained after a long line: give the grown buffer back.
            self.read_buffer.truncate(NET_READ_CHUNK_BYTES);
            self.read_buffer.shrink_to_fit();
        }
    }

    /// Reads once: `Some(true)` with new bytes, `Some(false)` when nothing can be read now
    /// (would block, or the peer closed its side), `None` on a socket error.
    fn read_more(&mut self) -> Option<bool> {
        match self.fill() {
            Ok(ReadOutcome::Data) => Some(true),
            Ok(ReadOutcome::WouldBlock) => Some(false),
            Ok(ReadOutcome::Closed) => {
                self.peer_closed = true;
                Some(false)
            }
            Err(_) => None,
        }
    }

    /// One read into the free end of the read buffer.
    fn fill(&mut self) -> io::Result<ReadOutcome> {
        if self.read_end == self.read_buffer.len() {
            self.compact_read_buffer();
            if self.read_end == self.read_buffer.len() {
                return Ok(ReadOutcome::Data);
            }
        }
        if self.tls.is_some() {
            return self.fill_tls();
        }
        loop {
            match self.stream.read(&mut self.read_buffer[self.read_end..]) {
                Ok(0) => return Ok(ReadOutcome::Closed),
                Ok(count) => {
                    self.read_end += count;
                    let now = Instant::now();
                    self.last_activity = now;
                    let (started, bytes) = self.request_arrival.unwrap_or((now, 0));
                    self.request_arrival = Some((started, bytes + count as u64));
                    return Ok(ReadOutcome::Data);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(ReadOutcome::WouldBlock)
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// HTTPS: one `fill` through the TLS session. Encrypted bytes count as activity and
    /// toward the request's arrival rate (the handshake is bounded like a request).
    fn fill_tls(&mut self) -> io::Result<ReadOutcome> {
        let Some(session) = &self.tls else {
            return Ok(ReadOutcome::WouldBlock);
        };
        if !self.tls_sniffed {
            self.tls_sniffed = true;
            if tls::refused_plain_http(&mut self.stream) {
                return Err(io::ErrorKind::InvalidData.into());
            }
        }
        let was_handshaking = tls::lock(session).is_handshaking();
        let (outcome, encrypted) = tls::read(
            session,
            &mut self.stream,
            &mut self.read_buffer[self.read_end..],
        );
        let now = Instant::now();
        if encrypted > 0 {
            self.last_activity = now;
            let (started, bytes) = self.request_arrival.unwrap_or((now, 0));
            self.request_arrival = Some((started, bytes + encrypted as u64));
        }
        if was_handshaking && !tls::lock(session).is_handshaking() {
            // The handshake is done: the first request's clock starts with its own bytes.
            self.request_arrival = None;
        }
        match outcome? {
            tls::ReadOutcome::Data(count) => {
                self.read_end += count;
                self.last_activity = now;
                if self.request_arrival.is_none() {
                    self.request_arrival = Some((now, count as u64));
                }
                Ok(ReadOutcome::Data)
            }
            tls::ReadOutcome::WouldBlock => Ok(ReadOutcome::WouldBlock),
            tls::ReadOutcome::Closed => Ok(ReadOutcome::Closed),
        }
    }

    /// Whether every byte of every answer is out: the output buffer, and (HTTPS) what the
    /// TLS session encrypted.
    fn output_flushed(&self) -> bool {
        self.output_offset == self.output.len()
            && self
                .tls
                .as_ref()
                .is_none_or(|session| !tls::lock(session).wants_write())
    }

    /// HTTPS: whether the TLS handshake is still going on.
    fn tls_handshaking(&self) -> bool {
        self.tls
            .as_ref()
            .is_some_and(|session| tls::lock(session).is_handshaking())
    }

    /// HTTPS: tells the client the connection is closing (`close_notify`), best effort.
    fn send_close_notify(&mut self) {
        if let Some(session) = &self.tls {
            let mut session = tls::lock(session);
            session.send_close_notify();
            let _ = tls::write_out(&mut session, &mut self.stream);
        }
    }

    /// HTTPS: `flush` through the TLS session.
    fn flush_tls(&mut self) -> bool {
        let Some(session) = &self.tls else {
            return true;
        };
        let parts = [&self.output[..]];
        match tls::write_parts(session, &mut self.stream, &parts, self.output_offset, 0) {
            Ok((taken, _)) => {
                if taken > 0 {
                    self.output_offset += taken;
                    self.last_activity = Instant::now();
                }
            }
            Err(_) => return false,
        }
        if self.output_offset == self.output.len() {
            self.output.clear();
            self.output_offset = 0;
            if self.output.capacity() > NET_MAX_PENDING_RESPONSE_BYTES {
                self.output.shrink_to(NET_READ_CHUNK_BYTES);
            }
        }
        true
    }

    /// Writes pending output until done or the socket is full; false on a write error.
    fn flush(&mut self) -> bool {
        if self.tls.is_some() {
            return self.flush_tls();
        }
        while self.output_offset < self.output.len() {
            match self.stream.write(&self.output[self.output_offset..]) {
                Ok(0) => return false,
                Ok(count) => {
                    self.output_offset += count;
                    self.last_activity = Instant::now();
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        self.output.clear();
        self.output_offset = 0;
        if self.output.capacity() > NET_MAX_PENDING_RESPONSE_BYTES {
            self.output.shrink_to(NET_READ_CHUNK_BYTES);
        }
        true
    }

    /// Whether the connection may read on: yes between bodies and once the body being read
    /// holds its reservation in `[http] max-body-memory`; otherwise it tries to reserve the
    /// body's bound, and when there is no room it waits (not reading, so TCP pushes back on
    /// the client), and after `enqueued-write-timeout` answers 503 and closes.
    fn body_admitted(&mut self, shared: &Shared) -> bool {
        let Some(bound) = self.reader.body_bound() else {
            // No body is being read (a framing error may have ended one): nothing to hold,
            // and the next body reserves its own bound.
            self.body_reservation = None;
            return true;
        };
        if self.body_reservation.is_some() {
            return true;
        }
        let bytes = usize::try_from(bound).unwrap_or(usize::MAX);
        if let Some(reservation) = shared.body_memory.try_reserve(bytes) {
            self.body_reservation = Some(reservation);
            self.waiting_for_body_memory = None;
            return true;
        }
        let now = Instant::now();
        let since = *self.waiting_for_body_memory.get_or_insert_with(|| {
            shared.body_memory.waits.fetch_add(1, Ordering::Relaxed);
            now
        });
        let timeout = shared.config.http.enqueued_write_timeout;
        if now.saturating_duration_since(since) >= timeout {
            self.waiting_for_body_memory = None;
            let message = format!(
                "request bodies in memory are at max-body-memory: this body waited {} for \
                 room; nothing of this request was written, retry it",
                crate::config::format_duration(timeout)
            );
            let mut response = Response::json_error(503, &message);
            response.close = true;
            self.write_error_answer(&response);
            self.close_when_flushed = true;
            self.linger_before_close = true;
        }
        false
    }

    /// Appends `response`, an error answered before any request was handled (so with a
    /// request id of its own), to the output.
    fn write_error_answer(&mut self, response: &Response) {
        let request_id = new_request_id();
        let context = ResponseContext {
            request_id: Some(&request_id),
            head_only: false,
            now_ns: crate::time::now_ns(),
            http10: false,
        };
        serialize(response, &context, &mut self.output);
    }

    /// Answers an error found while framing; returns whether the connection may go on.
    fn answer_framing_error(&mut self, error: &FramingError) -> bool {
        let reusable = self.reader.connection_reusable_after_error();
        if let Some(message) = error.influx_message() {
            let mut response = Response::json_error(error.status(), &message);
            response.close = !reusable;
            self.write_error_answer(&response);
            return reusable;
        }
        match error.go_server_response() {
            Some(bytes) => self.output.extend_from_slice(&bytes),
            None => {
                let mut response = Response::plain_text(error.status(), "Bad Request");
                response.close = true;
                let context = ResponseContext {
                    request_id: None,
                    head_only: false,
                    now_ns: crate::time::now_ns(),
                    http10: false,
                };
                serialize(&response, &context, &mut self.output);
            }
        }
        false
    }

    fn handle(&mut self, mut request: Request, slot: usize, event_loop: &mut EventLoop) {
        let shared = Arc::clone(&event_loop.shared);
        shared.stats.requests.fetch_add(1, Ordering::Relaxed);
        let sequence = event_loop.next_sequence();
        let request_id = request
            .head
            .x_request_id
            .clone()
            .unwrap_or_else(new_request_id);
        let shutting_down = shared.shutting_down.load(Ordering::Acquire);
        let mut answer = Answer {
            sequence,
            request_id,
            head_only: request.head.method == Method::Head,
            keep_alive: request.head.keep_alive && !shutting_down,
            http10: request.head.version_minor == 0,
            origin: request.head.origin.clone(),
            tracker: RequestTracker::start(&shared, &request),
        };
        let now_ns = crate::time::now_ns();
        let meta = shared.meta.snapshot();
        let write_context = shared.http_write_context(&meta, now_ns);
        let debug_vars = || super::debug_vars::debug_vars(&shared);
        let action = match self.protocol {
            Protocol::OpenTsdbHttp { input } => match event_loop.inputs.get(input) {
                Some(input) => opentsdb_http::route_http_request(
                    &request,
                    &input.service,
                    &write_context,
                    &mut event_loop.scratch,
                ),
                None => Action::RespondBare(Response::plain_text(404, "404 page not found")),
            },
            Protocol::Admin => match &shared.admin {
                Some(site) => Action::RespondBare(site.route(&request)),
                None => Action::RespondBare(Response::plain_text(404, "404 page not found")),
            },
            _ => route(
                &request,
                &write_context,
                &mut event_loop.scratch,
                &debug_vars,
                shared.auth.as_ref(),
            ),
        };
        if shared.config.http.log_enabled {
            crate::log_info!("http", "request"; method = format!("{:?}", request.head.method), target = request.head.target, id = answer.request_id);
        }
        match action {
            Action::Respond(response) => self.respond(&answer, response, true, &shared),
            Action::RespondBare(response) => self.respond(&answer, response, false, &shared),
            Action::Query(query) => {
                let reply = ClientQueryReply {
                    mailbox: event_loop.mailbox.clone(),
                    shared: Arc::clone(&shared),
                    slot,
                    socket: self.socket_for_query_thread(),
                    answer,
                    stream: None,
                };
                self.state = State::QueryInFlight { sequence };
                if let Err((response, reply)) =
                    shared
                        .queries
                        .submit(event_loop.index, query, Box::new(reply))
                {
                    // The queue is full: the 503 takes the path an answer takes.
                    reply.deliver(response);
                }
            }
            Action::WaitForLeader { timeout, on_leader } => match &shared.leader_wait {
                None => self.respond(&answer, on_leader, true, &shared),
                Some(leader_wait) => {
                    self.state = State::DeferredInFlight { answer };
                    let mailbox = Arc::clone(&event_loop.mailbox);
                    let deliver = Box::new(move |known: bool| {
                        let response = if known {
                            on_leader
                        } else {
                            Response::json_error(503, crate::http::handlers::NO_LEADER_IN_TIME)
                        };
                        mailbox.post(Completion::Deferred {
                            slot,
                            sequence,
                            response,
                        });
                    });
                    leader_wait.when_leader_known(Instant::now() + timeout, deliver);
                }
            },
            Action::LargeWrite(target) => {
                let write = LargeWrite {
                    meta: Arc::clone(&meta),
                    target,
                    body: std::mem::take(&mut request.body),
                };
                let mailbox = Arc::clone(&event_loop.mailbox);
                let deliver: DeliverAnswer = Box::new(move |answer| {
                    mailbox.post(Completion::LargeWrite {
                        slot,
                        sequence,
                        answer,
                    })
                });
                match shared.large_writes.submit(write, deliver) {
                    Ok(()) => self.state = State::LargeWriteInFlight { answer },
                    Err(refusal) => self.respond(&answer, refusal, true, &shared),
                }
            }
            Action::Write {
                records,
                on_durable,
            } => {
                answer.tracker.points = records.iter().map(|r| u64::from(r.2)).sum();
                let sink: Arc<dyn crate::ingest::AckSink> = event_loop.mailbox.clone();
                let mut unsent: Vec<Batch> = Vec::new();
                for batch in shared.ingest.batches(records, sink, slot, sequence) {
                    // Once one batch waits, the rest wait behind it, so retries keep order.
                    if !unsent.is_empty() {
                        unsent.push(batch);
                    } else if let Err(batch) = shared.ingest.try_send(batch) {
                        unsent.push(batch);
                    }
                }
                if unsent.is_empty() {
                    self.state = State::WriteInFlight { answer, on_durable };
                } else {
                    self.state = State::WaitingForQueue {
                        answer,
                        on_durable,
                        unsent,
                        since: Instant::now(),
                    };
                }
            }
        }
    }

    /// Tries to queue the batches that did not fit; true when the state changed.
    pub(super) fn retry_queued(&mut self, shared: &Shared) -> bool {
        let State::WaitingForQueue { unsent, since, .. } = &mut self.state else {
            return false;
        };
        while !unsent.is_empty() {
            let batch = unsent.remove(0);
            if let Err(batch) = shared.ingest.try_send(batch) {
                unsent.insert(0, batch);
                break;
            }
        }
        let timed_out = since.elapsed() >= shared.config.http.enqueued_write_timeout;
        if !unsent.is_empty() && !timed_out {
            return false;
        }
        let previous = std::mem::replace(&mut self.state, State::Ready);
        let State::WaitingForQueue {
            mut answer,
            on_durable,
            unsent,
            ..
        } = previous
        else {
            return false;
        };
        if unsent.is_empty() {
            self.state = State::WriteInFlight { answer, on_durable };
            return false;
        }
        shared
            .stats
            .writes_timed_out
            .fetch_add(1, Ordering::Relaxed);
        // Answered now: the failed request must not post a completion later.
        if let Some(batch) = unsent.first() {
            batch.abandon_answer();
        }
        drop(unsent);
        answer.tracker.points_done(false);
        let timeout = shared.config.http.enqueued_write_timeout;
        self.respond(&answer, queue_timeout_answer(timeout, false), true, shared);
        true
    }

    /// Applies a completion; true when the connection can make progress again.
    pub(super) fn complete(
        &mut self,
        sequence: u64,
        completion: Completion,
        shared: &Shared,
    ) -> bool {
        let current = match &self.state {
            State::WriteInFlight { answer, .. }
            | State::LargeWriteInFlight { answer }
            | State::DeferredInFlight { answer } => answer.sequence,
            State::QueryInFlight { sequence } => *sequence,
            _ => return false,
        };
        if current != sequence {
            return false; // the answer of a request this connection already gave up on
        }
        let previous = std::mem::replace(&mut self.state, State::Ready);
        match (previous, completion) {
            (
                State::WriteInFlight {
                    mut answer,
                    on_durable,
                },
                Completion::Write { durable, .. },
            ) => {
                answer.tracker.points_done(durable);
                let response = if durable {
                    if on_durable.status == 204 {
                        shared.stats.writes_ok.fetch_add(1, Ordering::Relaxed);
                    }
                    on_durable
                } else {
                    wal_failure_answer()
                };
                self.respond(&answer, response, true, shared);
            }
            (State::LargeWriteInFlight { answer }, Completion::LargeWrite { answer: done, .. }) => {
                if done.response.status == 204 {
                    shared.stats.writes_ok.fetch_add(1, Ordering::Relaxed);
                }
                if done.queue_timed_out {
                    shared
                        .stats
                        .writes_timed_out
                        .fetch_add(1, Ordering::Relaxed);
                }
                self.respond(&answer, done.response, true, shared);
            }
            (State::DeferredInFlight { answer }, Completion::Deferred { response, .. }) => {
                self.respond(&answer, response, true, shared);
            }
            (State::QueryInFlight { .. }, Completion::Query { answer, .. }) => {
                let RenderedAnswer {
                    head,
                    body,
                    written,
                    close,
                } = answer;
                let (head_left, body_left) = unwritten(&head, &body, written);
                self.output.extend_from_slice(head_left);
                self.output.extend_from_slice(body_left);
                // A streamed answer was written by the query thread: activity all the same.
                self.last_activity = Instant::now();
                if close {
                    self.close_when_flushed = true;
                }
            }
            (other, _) => {
                self.state = other;
                return false;
            }
        }
        true
    }

    fn respond(
        &mut self,
        answer: &Answer,
        mut response: Response,
        identified: bool,
        shared: &Shared,
    ) {
        if prepare_answer(answer, &mut response, shared) {
            self.close_when_flushed = true;
        }
        shared.stats.count_status(response.status);
        let context = answer.response_context(identified);
        serialize(&response, &context, &mut self.output);
    }

    /// The handle a query thread may write this connection's next answer through: only when
    /// nothing of an earlier answer is still waiting to be written (bytes must leave in
    /// order). The handle is a dup of the socket, so it stays valid even if this connection
    /// is closed while the query runs.
    ///
    /// HTTPS: the query thread writes through the connection's TLS session (shared, locked
    /// per write), so what the session still holds encrypted stays ahead of the answer.
    fn socket_for_query_thread(&mut self) -> Option<QuerySocket> {
        if self.output_offset != self.output.len() || self.protocol != Protocol::Http {
            return None;
        }
        if self.query_socket.is_none() {
            use std::os::fd::AsFd;
            // Failing to dup only costs the fast path; the loop then writes the answer.
            let owned = self.stream.as_fd().try_clone_to_owned().ok()?;
            self.query_socket = Some(Arc::new(std::net::TcpStream::from(owned)));
        }
        Some(QuerySocket {
            stream: self.query_socket.clone()?,
            tls: self.tls.clone(),
        })
    }
}

impl Answer {
    fn response_context(&self, identified: bool) -> ResponseContext<'_> {
        ResponseContext {
            request_id: identified.then_some(self.request_id.as_str()),
            head_only: self.head_only,
            now_ns: crate::time::now_ns(),
            http10: self.http10,
        }
    }
}

/// Marks `response` to close the connection when it must, and adds the CORS headers;
/// true when the connection closes after it.
fn prepare_answer(answer: &Answer, response: &mut Response, shared: &Shared) -> bool {
    let close = !answer.keep_alive || shared.shutting_down.load(Ordering::Acquire);
    if close {
        response.close = true;
    }
    if let Some(origin) = &answer.origin {
        add_cors_headers(response, origin);
    }
    close
}

/// A query's answer as the query thread rendered it.
pub struct RenderedAnswer {
    /// status line and headers
    head: Vec<u8>,
    /// the body (empty for HEAD)
    body: Vec<u8>,
    /// bytes of `head` then `body` the query thread already wrote to the socket
    written: usize,
    /// the connection closes after this answer
    close: bool,
}

/// Delivers a query's answer to its connection. On the query thread it renders the answer
/// and, when the connection had nothing else to write, sends as much as the socket takes
/// right away: the client does not wait for the event loop to wake up. The rest (all of it
/// without a socket) goes through the loop's mailbox, which also tells the loop the
/// connection may read its next request.
///
/// A chunked answer is streamed by the query thread itself (HTTP chunked transfer encoding),
/// waiting in `poll` while the socket is full: the loop does not touch the connection while
/// its query is in flight, so the bytes stay in order. A client that takes nothing for
/// `NET_STREAM_STALL_TIMEOUT_MS` is given up on and its connection closed.
struct ClientQueryReply {
    mailbox: Arc<super::Mailbox>,
    shared: Arc<Shared>,
    slot: usize,
    socket: Option<QuerySocket>,
    answer: Answer,
    /// Set by `begin_stream`.
    stream: Option<StreamedAnswer>,
}

/// Where a query thread writes its connection's answer.
struct QuerySocket {
    /// a dup of the connection's socket
    stream: Arc<std::net::TcpStream>,
    /// HTTPS: the connection's TLS session, which every byte goes through
    tls: Option<SharedSession>,
}

/// The state of a streamed answer.
struct StreamedAnswer {
    /// the connection closes after this answer
    close: bool,
    /// a write failed or stalled: nothing more is sent, and the connection is closed
    broken: bool,
}

impl crate::query::QueryReply for ClientQueryReply {
    fn begin_stream(&mut self, head: &QueryAnswer) -> bool {
        // HTTP/1.0 has no chunked encoding and HEAD no body: those get the whole answer.
        if self.answer.http10 || self.answer.head_only || self.stream.is_some() {
            return false;
        }
        let Some(socket) = &self.socket else {
            return false; // an earlier answer is still being written by the loop
        };
        let mut head = Response::from(head.clone());
        let close = prepare_answer(&self.answer, &mut head, &self.shared);
        let mut bytes = Vec::with_capacity(QUERY_ANSWER_HEAD_CAPACITY_BYTES);
        serialize_streamed_head(&head, &self.answer.response_context(true), &mut bytes);
        let broken = !write_all_waiting(socket, &[&bytes]);
        self.stream = Some(StreamedAnswer { close, broken });
        true
    }

    fn stream_piece(&mut self, piece: &[u8]) -> bool {
        let (Some(socket), Some(stream)) = (&self.socket, &mut self.stream) else {
            return false;
        };
        if stream.broken {
            return false;
        }
        if piece.is_empty() {
            return true; // an empty chunk would end the body
        }
        self.shared
            .stats
            .query_response_bytes
            .fetch_add(piece.len() as u64, Ordering::Relaxed);
        let size_line = format!("{:x}\r\n", piece.len());
        if !write_all_waiting(socket, &[size_line.as_bytes(), piece, b"\r\n"]) {
            stream.broken = true;
        }
        !stream.broken
    }

    fn end_stream(self: Box<Self>) {
        let Some(stream) = &self.stream else {
            // Only reachable by a caller that ignored `begin_stream`'s refusal.
            let answer =
                QueryAnswer::refused(AnswerOutcome::Failed, "BUG: stream ended but never begun");
            return self.deliver(answer);
        };
        let mut close = stream.close || stream.broken;
        if !stream.broken {
            if let Some(socket) = &self.socket {
                close |= !write_all_waiting(socket, &[b"0\r\n\r\n"]);
            }
        }
        // Everything is written; the loop only learns it may read the next request.
        self.mailbox.post(Completion::Query {
            slot: self.slot,
            sequence: self.answer.sequence,
            answer: RenderedAnswer {
                head: Vec::new(),
                body: Vec::new(),
                written: 0,
                close,
            },
        });
    }

    fn deliver(self: Box<Self>, answer: QueryAnswer) {
        let mut response = Response::from(answer);
        let close = prepare_answer(&self.answer, &mut response, &self.shared);
        let stats = &self.shared.stats;
        stats.count_status(response.status);
        stats
            .query_response_bytes
            .fetch_add(response.body.len() as u64, Ordering::Relaxed);
        let mut head = Vec::with_capacity(QUERY_ANSWER_HEAD_CAPACITY_BYTES);
        let with_body = serialize_head(&response, &self.answer.response_context(true), &mut head);
        let body = if with_body { response.body } else { Vec::new() };
        let total = head.len() + body.len();
        let (written, close) = match &self.socket {
            Some(socket) => {
                let handoff = total.saturating_sub(NET_QUERY_ANSWER_HANDOFF_MAX_BYTES);
                let mut written = write_parts(socket, &[&head, &body], WhenFull::Return);
                if written < handoff {
                    // A client that does not read its answer must not make the server hold
                    // it: this thread keeps writing, at the client's pace, until what is
                    // left fits the hand-off bound. A client that stalls is closed.
                    let (head_left, body_left) = unwritten(&head, &body, written);
                    let waited = write_parts(
                        socket,
                        &[head_left, body_left],
                        WhenFull::WaitUntilLeft(NET_QUERY_ANSWER_HANDOFF_MAX_BYTES),
                    );
                    written += waited;
                }
                if written < handoff {
                    (total, true) // nothing more is written: the connection just closes
                } else {
                    (written, close)
                }
            }
            None => (0, close),
        };
        let answer = if written >= total {
            // All out (or given up on): the answer's memory is freed here, not by the loop.
            RenderedAnswer {
                head: Vec::new(),
                body: Vec::new(),
                written: 0,
                close,
            }
        } else {
            RenderedAnswer {
                head,
                body,
                written,
                close,
            }
        };
        self.mailbox.post(Completion::Query {
            slot: self.slot,
            sequence: self.answer.sequence,
            answer,
        });
    }
}

/// Writes every byte of `parts` to the non-blocking `socket` from a query thread, waiting in
/// `poll` while the socket is full; false on an error or when the client took nothing for
/// `NET_STREAM_STALL_TIMEOUT_MS`.
fn write_all_waiting(socket: &QuerySocket, parts: &[&[u8]]) -> bool {
    let total: usize = parts.iter().map(|part| part.len()).sum();
    write_parts(socket, parts, WhenFull::Wait) == total
}

/// What `write_parts` does when the socket takes no more.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WhenFull {
    /// return what was written so far
    Return,
    /// wait in `poll` for room, giving up after `NET_STREAM_STALL_TIMEOUT_MS`
    Wait,
    /// as `Wait`, but return as soon as no more than this many bytes are left
    WaitUntilLeft(usize),
}

/// Writes `parts` in order to the non-blocking `socket` with vectored writes until all are
/// out, an error (which the loop meets again if it writes the rest), or a full socket
/// (`when_full`); returns the bytes written.
fn write_parts(socket: &QuerySocket, parts: &[&[u8]], when_full: WhenFull) -> usize {
    if let Some(session) = &socket.tls {
        return write_parts_tls(&socket.stream, session, parts, when_full);
    }
    let socket = &*socket.stream;
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let mut written = 0;
    let mut slices = Vec::with_capacity(parts.len());
    let left_allowed = match when_full {
        WhenFull::WaitUntilLeft(left) => left,
        WhenFull::Wait | WhenFull::Return => 0,
    };
    while written < total && total - written > left_allowed {
        let mut skip = written;
        slices.clear();
        for part in parts {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            slices.push(io::IoSlice::new(part.get(skip..).unwrap_or_default()));
            skip = 0;
        }
        match (&*socket).write_vectored(&slices) {
            Ok(0) => break,
            Ok(count) => written += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error)
                if error.kind() == io::ErrorKind::WouldBlock && when_full != WhenFull::Return =>
            {
                if !wait_writable(socket) {
                    break; // the client stopped reading
                }
            }
            Err(_) => break,
        }
    }
    written
}

/// `write_parts` through a TLS session: "written" counts the plaintext the session took
/// (its encrypted form leaves at once or, at most `NET_TLS_SEND_BUFFER_MAX_BYTES` of it,
/// with the next write of this thread or the loop's next flush, in order either way).
fn write_parts_tls(
    socket: &std::net::TcpStream,
    session: &SharedSession,
    parts: &[&[u8]],
    when_full: WhenFull,
) -> usize {
    let left_allowed = match when_full {
        WhenFull::WaitUntilLeft(left) => left,
        WhenFull::Wait | WhenFull::Return => 0,
    };
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let mut written = 0;
    loop {
        match tls::write_parts(session, socket, parts, written, left_allowed) {
            Ok((taken, socket_full)) => {
                written += taken;
                if !socket_full || when_full == WhenFull::Return {
                    return written;
                }
                if total - written <= left_allowed {
                    // Taken as far as asked; what the session holds leaves with this
                    // thread's next write or the loop's next flush.
                    return written;
                }
            }
            Err(_) => return written,
        }
        if !wait_writable(socket) {
            return written; // the client stopped reading
        }
    }
}

/// Waits in `poll` until `socket` takes more bytes; false after an error or
/// `NET_STREAM_STALL_TIMEOUT_MS` without room.
fn wait_writable(socket: &std::net::TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    loop {
        let mut wanted = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        let timeout_ms = i32::try_from(NET_STREAM_STALL_TIMEOUT_MS).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for a descriptor the caller's handle keeps open.
        let ready = unsafe { libc::poll(&mut wanted, 1, timeout_ms) };
        if ready > 0 {
            return true;
        }
        if ready == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return false;
        }
    }
}

/// Room for a query answer's status line and headers (more only grows the buffer).
const QUERY_ANSWER_HEAD_CAPACITY_BYTES: usize = 512;

/// What is left of `head` then `body` once their first `written` bytes are out.
fn unwritten<'a>(head: &'a [u8], body: &'a [u8], written: usize) -> (&'a [u8], &'a [u8]) {
    (
        head.get(written..).unwrap_or_default(),
        body.get(written.saturating_sub(head.len())..)
            .unwrap_or_default(),
    )
}

/// The CORS headers InfluxDB adds to every answer of a request with an `Origin`.
fn add_cors_headers(response: &mut Response, origin: &str) {
    response.headers.push((
        "Access-Control-Allow-Headers",
        "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, X-CSRF-Token, X-HTTP-Method-Override".into(),
    ));
    response.headers.push((
        "Access-Control-Allow-Methods",
        "DELETE, GET, OPTIONS, POST, PUT".into(),
    ));
    response
        .headers
        .push(("Access-Control-Allow-Origin", origin.to_string()));
    response.headers.push((
        "Access-Control-Expose-Headers",
        "Date, X-InfluxDB-Version, X-InfluxDB-Build".into(),
    ));
}

fn framing_limits(config: &Config) -> FramingLimits {
    FramingLimits {
        max_head_bytes: HTTP_MAX_HEAD_BYTES,
        max_headers: HTTP_MAX_HEADERS,
        max_body_bytes: config.http.max_body_size,
        max_chunk_line_bytes: HTTP_MAX_CHUNK_LINE_BYTES,
        max_pending_head_bytes: crate::limits::NET_PENDING_HEAD_BYTES_MAX,
    }
}

/// A time-based (version 1) UUID, as InfluxDB uses for `Request-Id`: 100 ns ticks since
/// 1582-10-15, a clock sequence that advances on every id (so ids within one tick differ),
/// and a zero node id.
fn new_request_id() -> String {
    use std::sync::atomic::AtomicU16;
    const GREGORIAN_TO_UNIX_TICKS: u64 = 0x01B2_1DD2_1381_4000;
    static CLOCK_SEQUENCE: AtomicU16 = AtomicU16::new(0);
    let ticks = (crate::time::now_ns().max(0) as u64 / 100).wrapping_add(GREGORIAN_TO_UNIX_TICKS);
    let sequence = CLOCK_SEQUENCE
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_add(1)
        & 0x3fff
        | 0x8000;
    let [sequence_high, sequence_low] = sequence.to_be_bytes();
    uuid::Uuid::from_fields(
        ticks as u32,
        (ticks >> 32) as u16,
        ((ticks >> 48) as u16 & 0x0fff) | 0x1000,
        &[sequence_high, sequence_low, 0, 0, 0, 0, 0, 0],
    )
    .hyphenated()
    .to_string()
}
