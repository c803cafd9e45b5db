//! Subscriptions that forward: every write made durable for a database and retention policy
//! that has subscriptions (`CREATE SUBSCRIPTION … DESTINATIONS ALL|ANY '…'`, stored in the
//! meta store) is copied, as line protocol at nanosecond precision, to their destinations:
//! `udp://host:port` (lines packed into datagrams of at most `udp-max-datagram-size` bytes)
//! and `http://host:port` (`POST /write?db=…&rp=…`, as InfluxDB's subscriber sends). `ALL`
//! sends each batch to every destination, `ANY` to one, in turn.
//!
//! ```text
//! partition thread ── record applied (request committed) ──▶ Subscriber::committed
//!     routes (rebuilt from the meta snapshot when its generation moved)
//!     → (database id, retention policy) names no subscription: return
//!     → else the record is copied once (Arc<[u8]>) and try-pushed to each subscription's
//!       queue (ArrayQueue of write-buffer-size batches; all queues together hold at most
//!       total-buffer-bytes): full → the batch is dropped and counted, never waited for
//!     → a wake token (bounded(1) channel, try_send)
//! sluice-subscriber-N (write-concurrency threads)
//!     pop a batch from the queues in turn → decode the record into line protocol
//!     → send (UDP datagrams / one HTTP POST bounded by http-timeout)
//!     → counters: pointsWritten per point delivered, writeFailures per failed send
//! ```
//!
//! Owns the forwarding threads, their sockets and the queues. It never blocks the write
//! path: the partition thread only copies and try-pushes, and only for records that a
//! subscription names. Invariants: a batch is forwarded only after its request committed
//! (durable; never for a replayed WAL record); the bytes waiting never exceed
//! `total-buffer-bytes`; a dropped subscription's waiting batches are discarded. Not done:
//! `https://` destinations (accepted, as 1.6.7 does; each send is counted as a write failure).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crossbeam::channel::{self, Receiver, Sender};
use crossbeam::queue::ArrayQueue;

use crate::config::SubscriberConfig;
use crate::ingest::record::{decode_record, StoredValue, RECORD_KIND_WRITE};
use crate::ingest::CommittedWrites;
use crate::line_protocol::format::{append_line, FormatField, FormatValue};
use crate::meta::{MetaData, MetaStore};

/// How long an idle forwarding thread waits for a wake token before looking at the queues
/// again (a token lost to a full channel costs at most this much delay).
const SUBSCRIBER_IDLE_POLL_MS: u64 = 100;
/// Bytes of an HTTP destination's answer read for its status line.
const SUBSCRIBER_HTTP_STATUS_READ_BYTES: usize = 64;

/// Counters in `/debug/vars` (`subscriber`).
#[derive(Debug, Default)]
pub struct SubscriberStats {
    /// points delivered to a destination (a point sent to two destinations counts twice)
    pub points_written: AtomicU64,
    /// sends that failed (one per batch and destination)
    pub write_failures: AtomicU64,
    /// batches dropped because a subscription's queue or the byte bound was full
    pub dropped: AtomicU64,
    /// subscriptions forwarded to now
    pub subscriptions: AtomicU64,
}

/// Where a destination is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    /// `udp://host:port`
    Udp(String),
    /// `http://[user:password@]host:port[/…]`: the `host:port` and the `user:password` sent
    /// as Basic credentials
    Http(String, Option<String>),
    /// anything else, kept for its failures to be counted
    Unsupported(String),
}

impl Destination {
    fn parse(url: &str) -> Destination {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Destination::Unsupported(url.to_string());
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials.to_string()), host_port),
            None => (None, authority),
        };
        match scheme.to_ascii_lowercase().as_str() {
            "udp" => Destination::Udp(host_port.to_string()),
            "http" => Destination::Http(host_port.to_string(), credentials),
            _ => Destination::Unsupported(url.to_string()),
        }
    }
}

/// One subscription: its destinations and its bounded queue.
#[derive(Debug)]
struct SubscriptionQueue {
    /// (database, retention policy, name, mode, destinations): a rebuild keeps the queue of
    /// a subscription whose identity did not change
    identity: (String, String, String, bool, Vec<String>),
    destinations: Vec<Destination>,
    mode_all: bool,
    /// the next destination of an `ANY` subscription
    next_any: AtomicUsize,
    /// batches waiting (records, shared by every subscription of the same target)
    queue: ArrayQueue<Arc<[u8]>>,
    /// bytes waiting in every queue (shared with the subscriber)
    queued_bytes: Arc<AtomicUsize>,
}

impl Drop for SubscriptionQueue {
    fn drop(&mut self) {
        while let Some(batch) = self.queue.pop() {
            self.queued_bytes.fetch_sub(batch.len(), Ordering::AcqRel);
        }
    }
}

/// The subscriptions of one database and retention policy.
#[derive(Debug)]
struct TargetRoute {
    database_id: u64,
    retention_policy: String,
    subscriptions: Vec<Arc<SubscriptionQueue>>,
}

/// The subscriptions by target, built from one meta snapshot.
#[derive(Debug, Default)]
struct Routes {
    /// one entry per (database id, retention policy) that has subscriptions
    by_target: Vec<TargetRoute>,
    /// every subscription, in a fixed order (the forwarding threads walk it)
    all: Vec<Arc<SubscriptionQueue>>,
}

impl Routes {
    fn subscriptions_of(&self, database_id: u64, policy: &[u8]) -> &[Arc<SubscriptionQueue>] {
        self.by_target
            .iter()
            .find(|route| {
                route.database_id == database_id && route.retention_policy.as_bytes() == policy
            })
            .map_or(&[], |route| route.subscriptions.as_slice())
    }
}

/// What the partitions and the forwarding threads share.
struct SubscriberCore {
    meta: Arc<MetaStore>,
    settings: SubscriberConfig,
    routes: RwLock<Arc<Routes>>,
    /// the meta generation `routes` was built from (`u64::MAX`: never built)
    routes_generation: AtomicU64,
    rebuilding: Mutex<()>,
    queued_bytes: Arc<AtomicUsize>,
    wake: Sender<()>,
    woken: Receiver<()>,
    stopping: AtomicBool,
    stats: Arc<SubscriberStats>,
}

impl SubscriberCore {
    /// The routes of the current meta snapshot (rebuilt first if the meta store changed).
    fn routes(&self) -> Arc<Routes> {
        let generation = self.meta.generation();
        if self.routes_generation.load(Ordering::Acquire) != generation {
            self.rebuild(generation);
        }
        match self.routes.read() {
            Ok(routes) => Arc::clone(&routes),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn rebuild(&self, generation: u64) {
        let _one_at_a_time = match self.rebuilding.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.routes_generation.load(Ordering::Acquire) == generation {
            return;
        }
        let previous = match self.routes.read() {
            Ok(routes) => Arc::clone(&routes),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        let next = Arc::new(self.build_routes(&self.meta.snapshot(), &previous));
        self.stats
            .subscriptions
            .store(next.all.len() as u64, Ordering::Relaxed);
        match self.routes.write() {
            Ok(mut routes) => *routes = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        self.routes_generation.store(generation, Ordering::Release);
    }

    fn build_routes(&self, meta: &MetaData, previous: &Routes) -> Routes {
        let mut routes = Routes::default();
        for database in &meta.databases {
            for subscription in &database.subscriptions {
                let identity = (
                    database.name.clone(),
                    subscription.retention_policy.clone(),
                    subscription.name.clone(),
                    subscription.mode_all,
                    subscription.destinations.clone(),
                );
                let kept = previous.all.iter().find(|queue| queue.identity == identity);
                let queue = match kept {
                    Some(queue) => Arc::clone(queue),
                    None => Arc::new(SubscriptionQueue {
                        identity,
                        destinations: subscription
                            .destinations
                            .iter()
                            .map(|url| Destination::parse(url))
                            .collect(),
                        mode_all: subscription.mode_all,
                        next_any: AtomicUsize::new(0),
                        queue: ArrayQueue::new(self.settings.write_buffer_size.max(1)),
                        queued_bytes: Arc::clone(&self.queued_bytes),
                    }),
                };
                let policy = &subscription.retention_policy;
                let existing = routes.by_target.iter_mut().find(|route| {
                    route.database_id == database.id && route.retention_policy == *policy
                });
                match existing {
                    Some(route) => route.subscriptions.push(Arc::clone(&queue)),
                    None => routes.by_target.push(TargetRoute {
                        database_id: database.id,
                        retention_policy: policy.clone(),
                        subscriptions: vec![Arc::clone(&queue)],
                    }),
                }
                routes.all.push(queue);
            }
        }
        routes
    }

    /// Queues `record` for each subscription of its target, dropping (and counting) what
    /// does not fit. Never blocks.
    fn offer(&self, record: &[u8]) {
        let routes = self.routes();
        if routes.all.is_empty() {
            return;
        }
        let Some((database_id, policy)) = record_target(record) else {
            return;
        };
        let subscriptions = routes.subscriptions_of(database_id, policy);
        if subscriptions.is_empty() {
            return;
        }
        let batch: Arc<[u8]> = Arc::from(record);
        for subscription in subscriptions {
            let reserved = self.queued_bytes.fetch_add(batch.len(), Ordering::AcqRel);
            if reserved + batch.len() > self.settings.total_buffer_bytes
                || subscription.queue.push(Arc::clone(&batch)).is_err()
            {
                self.queued_bytes.fetch_sub(batch.len(), Ordering::AcqRel);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = self.wake.try_send(());
    }
}

/// The database id and retention policy of a write record, read from its header.
fn record_target(record: &[u8]) -> Option<(u64, &[u8])> {
    let (&kind, rest) = record.split_first()?;
    if kind != RECORD_KIND_WRITE {
        return None;
    }
    let id_bytes: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let policy_len = usize::from(*rest.get(8)?);
    let policy = rest.get(9..9 + policy_len)?;
    Some((u64::from_le_bytes(id_bytes), policy))
}

/// The forwarding threads and their queues; the partitions call it through
/// [`CommittedWrites`].
pub struct Subscriber {
    core: Arc<SubscriberCore>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("settings", &self.core.settings)
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl CommittedWrites for Subscriber {
    fn committed(&self, record: &[u8]) {
        self.core.offer(record);
    }
}

impl Subscriber {
    /// Starts `write-concurrency` forwarding threads for the subscriptions of `meta`.
    pub fn start(
        meta: Arc<MetaStore>,
        settings: SubscriberConfig,
        stats: Arc<SubscriberStats>,
    ) -> std::io::Result<Subscriber> {
        let (wake, woken) = channel::bounded(1);
        let core = Arc::new(SubscriberCore {
            meta,
            routes: RwLock::new(Arc::new(Routes::default())),
            routes_generation: AtomicU64::new(u64::MAX),
            rebuilding: Mutex::new(()),
            queued_bytes: Arc::new(AtomicUsize::new(0)),
            wake,
            woken,
            stopping: AtomicBool::new(false),
            stats,
            settings,
        });
        let mut threads = Vec::new();
        for index in 0..core.settings.write_concurrency.max(1) {
            let thread_core = Arc::clone(&core);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("sluice-subscriber-{index}"))
                    .spawn(move || forward_loop(&thread_core, index))?,
            );
        }
        Ok(Subscriber {
            core,
            threads: Mutex::new(threads),
        })
    }

    /// Stops the forwarding threads (after the send each is making); batches still waiting
    /// are dropped.
    pub fn stop(&self) {
        self.core.stopping.store(true, Ordering::Release);
        let threads = match self.threads.lock() {
            Ok(mut threads) => std::mem::take(&mut *threads),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for _ in &threads {
            let _ = self.core.wake.try_send(());
        }
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// One forwarding thread: takes batches from the queues in turn (starting at a different
/// subscription per thread), sends them, and waits for a wake token when all are empty.
fn forward_loop(core: &SubscriberCore, index: usize) {
    let mut sender = Forwarder::default();
    let mut start = index;
    while !core.stopping.load(Ordering::Acquire) {
        let routes = core.routes();
        let count = routes.all.len();
        let mut sent_any = false;
        for offset in 0..count {
            let subscription = &routes.all[(start + offset) % count];
            if let Some(batch) = subscription.queue.pop() {
                core.queued_bytes.fetch_sub(batch.len(), Ordering::AcqRel);
                if routes.all.iter().any(|s| !s.queue.is_empty()) {
                    let _ = core.wake.try_send(()); // another thread may help
                }
                sender.forward(core, subscription, &batch);
                sent_any = true;
            }
        }
        start = start.wrapping_add(1);
        if !sent_any {
            let _ = core
                .woken
                .recv_timeout(Duration::from_millis(SUBSCRIBER_IDLE_POLL_MS));
        }
    }
}

/// A forwarding thread's sockets and buffers.
#[derive(Default)]
struct Forwarder {
    lines: Vec<u8>,
    udp_v4: Option<UdpSocket>,
    udp_v6: Option<UdpSocket>,
}

impl Forwarder {
    fn forward(&mut self, core: &SubscriberCore, subscription: &SubscriptionQueue, batch: &[u8]) {
        self.lines.clear();
        let mut points = 0u64;
        let lines = &mut self.lines;
        // One field list per batch, refilled per point (the fields borrow from the batch).
        let mut fields: Vec<FormatField<'_>> = Vec::new();
        let decoded = decode_record(batch, |_, point| {
            fields.clear();
            fields.extend(point.fields.iter().map(|(key, value)| FormatField {
                key,
                value: format_value(*value),
            }));
            append_line(point.series_key, &fields, point.timestamp_ns, lines);
            points += 1;
        });
        let Ok(header) = decoded else {
            panic!("BUG: a committed WAL record does not decode");
        };
        let policy = String::from_utf8_lossy(header.retention_policy).into_owned();
        let database = subscription.identity.0.clone();
        let count = subscription.destinations.len();
        if count == 0 {
            return;
        }
        let chosen: Vec<&Destination> = if subscription.mode_all {
            subscription.destinations.iter().collect()
        } else {
            let next = subscription.next_any.fetch_add(1, Ordering::Relaxed) % count;
            vec![&subscription.destinations[next]]
        };
        for destination in chosen {
            let sent = match destination {
                Destination::Udp(address) => self.send_udp(address, core),
                Destination::Http(address, credentials) => {
                    let target = HttpTarget {
                        address,
                        credentials: credentials.as_deref(),
                        database: &database,
                        policy: &policy,
                    };
                    send_http(&target, &self.lines, core)
                }
                Destination::Unsupported(_) => Err(std::io::Error::other("unsupported scheme")),
            };
            match sent {
                Ok(()) => {
                    core.stats
                        .points_written
                        .fetch_add(points, Ordering::Relaxed);
                }
                Err(error) => {
                    core.stats.write_failures.fetch_add(1, Ordering::Relaxed);
                    crate::log_debug!("subscriber", "forwarding failed"; destination = format!("{destination:?}"), error = error);
                }
            }
        }
    }

    /// Sends the lines in datagrams of at most `udp-max-datagram-size` bytes, split between
    /// lines (a longer line goes alone).
    fn send_udp(&mut self, address: &str, core: &SubscriberCore) -> std::io::Result<()> {
        let target = resolve(address)?;
        let socket = match target {
            SocketAddr::V4(_) => bound_socket(&mut self.udp_v4, "0.0.0.0:0")?,
            SocketAddr::V6(_) => bound_socket(&mut self.udp_v6, "[::]:0")?,
        };
        let max = core.settings.udp_max_datagram_size;
        for datagram in datagrams(&self.lines, max) {
            socket.send_to(datagram, target)?;
        }
        Ok(())
    }
}

fn bound_socket<'a>(
    slot: &'a mut Option<UdpSocket>,
    local: &str,
) -> std::io::Result<&'a UdpSocket> {
    if slot.is_none() {
        *slot = Some(UdpSocket::bind(local)?);
    }
    match slot {
        Some(socket) => Ok(socket),
        None => panic!("BUG: the socket was just bound"),
    }
}

/// `lines` cut at line ends into pieces of at most `max_bytes` (a longer line is a piece of
/// its own).
fn datagrams(lines: &[u8], max_bytes: usize) -> impl Iterator<Item = &[u8]> {
    let mut rest = lines;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = 0;
        for (index, byte) in rest.iter().enumerate() {
            if *byte == b'\n' {
                if index + 1 > max_bytes && end > 0 {
                    break;
                }
                end = index + 1;
                if end >= max_bytes {
                    break;
                }
            }
        }
        if end == 0 {
            end = rest.len();
        }
        let (piece, after) = rest.split_at(end);
        rest = after;
        Some(piece)
    })
}

fn resolve(address: &str) -> std::io::Result<SocketAddr> {
    address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("the destination resolves to no address"))
}

/// Where one HTTP forward goes.
struct HttpTarget<'a> {
    address: &'a str,
    credentials: Option<&'a str>,
    database: &'a str,
    policy: &'a str,
}

/// `POST /write?db=…&rp=…` with the lines; a 2xx answer within `http-timeout` is success.
fn send_http(target: &HttpTarget<'_>, lines: &[u8], core: &SubscriberCore) -> std::io::Result<()> {
    use base64::Engine as _;
    let address = target.address;
    let timeout = core.settings.http_timeout;
    let deadline = std::time::Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&resolve(address)?, timeout)?;
    let remaining = || {
        deadline
            .saturating_duration_since(std::time::Instant::now())
            .max(Duration::from_millis(1))
    };
    stream.set_write_timeout(Some(remaining()))?;
    let authorization = match target.credentials {
        Some(credentials) => format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ),
        None => String::new(),
    };
    let head = format!(
        "POST /write?db={}&rp={} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: sluice-subscriber\r\n\
         {authorization}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        percent_encode(target.database),
        percent_encode(target.policy),
        lines.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(lines)?;
    stream.set_read_timeout(Some(remaining()))?;
    let mut status = [0u8; SUBSCRIBER_HTTP_STATUS_READ_BYTES];
    let mut filled = 0;
    while filled < 12 {
        let read = stream.read(&mut status[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    // "HTTP/1.1 204"
    match status.get(9) {
        Some(b'2') if filled >= 12 => Ok(()),
        _ => Err(std::io::Error::other(format!(
            "answered {:?}",
            String::from_utf8_lossy(&status[..filled])
        ))),
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn format_value(value: StoredValue<'_>) -> FormatValue<'_> {
    match value {
        StoredValue::Float(v) => FormatValue::Float(v),
        StoredValue::Integer(v) => FormatValue::Integer(v),
        StoredValue::Unsigned(v) => FormatValue::Unsigned(v),
        StoredValue::Boolean(v) => FormatValue::Boolean(v),
        StoredValue::String(v) => FormatValue::String(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_split_between_lines() {
        let lines = b"a v=1 1\nb v=2 2\nc v=3 3\n";
        let pieces: Vec<&[u8]> = datagrams(lines, 16).collect();
        assert_eq!(pieces, vec![&b"a v=1 1\nb v=2 2\n"[..], &b"c v=3 3\n"[..]]);
        let pieces: Vec<&[u8]> = datagrams(lines, 10).collect();
        assert_eq!(
            pieces,
            vec![&b"a v=1 1\n"[..], &b"b v=2 2\n"[..], &b"c v=3 3\n"[..]]
        );
        // A line longer than the bound goes alone.
        let long = b"long v=1 1\nb v=2 2\n";
        let pieces: Vec<&[u8]> = datagrams(long, 4).collect();
        assert_eq!(pieces, vec![&b"long v=1 1\n"[..], &b"b v=2 2\n"[..]]);
        assert_eq!(datagrams(b"", 64).count(), 0);
    }

    #[test]
    fn destinations_parse() {
        assert_eq!(
            Destination::parse("udp://127.0.0.1:9"),
            Destination::Udp("127.0.0.1:9".into())
        );
        assert_eq!(
            Destination::parse("HTTP://h:8086/x"),
            Destination::Http("h:8086".into(), None)
        );
        assert_eq!(
            Destination::parse("http://u:p@h:1"),
            Destination::Http("h:1".into(), Some("u:p".into()))
        );
        assert!(matches!(
            Destination::parse("https://h:1"),
            Destination::Unsupported(_)
        ));
    }

    #[test]
    fn record_targets_are_read_from_the_header() {
        let mut builder = crate::ingest::record::RecordBuilder::new(7, b"autogen", 64);
        builder.begin_point(b"m", 1);
        builder.push_field(b"v", StoredValue::Float(1.0));
        let record = builder.finish();
        assert_eq!(record_target(&record), Some((7, &b"autogen"[..])));
        assert_eq!(record_target(&record[..5]), None);
        assert_eq!(record_target(&[]), None);
    }
}
