//! Hinted handoff: a durable, bounded queue per destination node of the shard writes that
//! owner could not take, and the delivery that hands them over when it is back.
//!
//! Layout: `[hinted-handoff] dir/<node id>/<segment id:020>.hh`, segments oldest first.
//!
//! ```text
//! segment = magic "SLHH" | version u8 = 1 | 3 zero bytes | record*
//! record  = length u32 LE | crc32 (of payload) u32 LE | payload[length]     length ≥ 1
//! payload = created_ns i64 LE | shard_group_id u64 LE | now_ns i64 LE | precision u8
//!           | database length u16 LE | database | retention policy length u16 LE
//!           | retention policy | lines
//! precision: 0 ns, 1 u, 2 ms, 3 s, 4 m, 5 h (`/write`'s `precision`)
//! ```
//!
//! Invariants:
//! - A hint is *handed off* (and may count for `consistency=any`) only once its record is
//!   `fdatasync`ed in a segment whose header and directory entry were synced before it.
//! - Appends go only to the newest segment this process created; after any failed write or
//!   sync that segment is abandoned (never written again), so a bad record can only be the
//!   last one of its segment. A segment of an earlier run is never appended to.
//! - Opening scans every segment and keeps its valid records up to the first bad one (a torn
//!   tail); a file whose header is bad held nothing handed off and is removed.
//! - A destination holds at most `max-size` bytes of segments (counted as handed off); a hint
//!   that would pass it is refused ([`HintError::Full`]), never queued in memory.
//! - Delivery reads one record at a time (memory: one record, at most
//!   `CLUSTER_SHARD_WRITE_MAX_BYTES` plus its head), sends it, and only then moves on; a
//!   segment is deleted once every record of it was delivered, dropped or expired.
//!
//! Semantics: at-least-once. The delivery position is kept in memory only, so after a
//! restart (or a crash that undoes a segment's deletion) the records of the oldest remaining
//! segment are sent again; a shard write carries explicit timestamps, so sending it twice
//! leaves the same points. A hint whose append failed was not handed off, but its bytes may
//! survive on disk and be delivered anyway (as a write that timed out may still land).
//! Hints older than `max-age` are dropped unsent; a hint the destination refuses for good
//! (`PeerError::is_retryable` false: bad lines, a field type conflict) is dropped with a
//! warning, since sending it again cannot succeed and would block the queue.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_base::fsio::{FileSystem, WritableFile};
use sluice_base::locks::lock;

use super::rpc::{PeerError, ShardWrite};
use super::view::NodeId;
use crate::limits::{CLUSTER_SHARD_WRITE_MAX_BYTES, HINTED_HANDOFF_SEGMENT_MAX_BYTES};
use crate::line_protocol::Precision;

const MAGIC: &[u8; 4] = b"SLHH";
const VERSION: u8 = 1;
/// Bytes of a segment's header.
pub const SEGMENT_HEADER_BYTES: u64 = 8;
/// Bytes before a record's payload.
const RECORD_HEAD_BYTES: u64 = 8;
/// Largest payload a record may have: a shard write's lines and names, and the fixed part.
const RECORD_PAYLOAD_MAX_BYTES: usize = CLUSTER_SHARD_WRITE_MAX_BYTES + 2 * 65_536 + 32;
const SEGMENT_SUFFIX: &str = ".hh";

/// Settings of the queues (`[hinted-handoff]`).
#[derive(Clone, Debug)]
pub struct HintedHandoffSettings {
    /// `dir`
    pub dir: PathBuf,
    /// `max-size`: bytes per destination
    pub max_size_bytes: u64,
    /// `max-age`
    pub max_age: Duration,
    /// `retry-interval`
    pub retry_interval: Duration,
    /// `retry-max-interval`
    pub retry_max_interval: Duration,
    /// a new segment is started past this size (`HINTED_HANDOFF_SEGMENT_MAX_BYTES`)
    pub segment_max_bytes: u64,
}

impl HintedHandoffSettings {
    /// The settings of `[hinted-handoff]`, with the fixed segment size.
    pub fn from_config(config: &crate::config::HintedHandoffConfig) -> HintedHandoffSettings {
        HintedHandoffSettings {
            dir: config.dir.clone(),
            max_size_bytes: config.max_size,
            max_age: config.max_age,
            retry_interval: config.retry_interval,
            retry_max_interval: config.retry_max_interval,
            segment_max_bytes: HINTED_HANDOFF_SEGMENT_MAX_BYTES,
        }
    }
}

/// Why a hint was not handed off.
#[derive(Debug)]
pub enum HintError {
    /// the destination's queue holds `max-size` bytes already
    Full {
        /// the destination
        node: NodeId,
        /// `[hinted-handoff] max-size`
        max_size_bytes: u64,
    },
    /// the write is larger than a record may be
    TooLarge(usize),
    /// the disk refused it (nothing was handed off)
    Io(io::Error),
}

impl std::fmt::Display for HintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HintError::Full {
                node,
                max_size_bytes,
            } => write!(
                f,
                "hinted handoff queue for node {node} is full ({max_size_bytes} bytes, \
                 [hinted-handoff] max-size)"
            ),
            HintError::TooLarge(bytes) => {
                write!(f, "hinted handoff: a write of {bytes} bytes is too large")
            }
            HintError::Io(error) => write!(f, "hinted handoff: {error}"),
        }
    }
}

/// Sends a hint to its destination (the peer RPC, or a fake in tests).
pub trait HintTransport: Send + Sync {
    /// Delivers `write` to `node`; `Ok` once the node acknowledged it durable.
    fn deliver(&self, node: NodeId, write: &ShardWrite) -> Result<(), PeerError>;
}

/// One segment file of a queue.
#[derive(Debug)]
struct Segment {
    id: u64,
    /// bytes of the header and the valid (handed-off or scanned) records
    length: u64,
    /// newest `created_ns` of its records (`i64::MIN`: none)
    newest_ns: i64,
}

/// The queue of one destination.
struct NodeQueue {
    node: NodeId,
    dir: PathBuf,
    /// oldest first
    segments: VecDeque<Segment>,
    /// the writer of `segments.back()` while appends may go to it
    active: Option<Box<dyn WritableFile>>,
    /// offset in `segments.front()` of the next record to deliver
    cursor: u64,
    /// Σ segment lengths
    bytes: u64,
    /// the id the next segment gets: above every id this process saw, so a deleted
    /// segment's name is never reused while a crash could still bring the old file back
    next_segment_id: u64,
}

/// What one delivery pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// hints the destination acknowledged
    pub delivered: u64,
    /// hints it refused for good (dropped)
    pub dropped: u64,
    /// hints older than `max-age` (dropped unsent)
    pub expired: u64,
    /// the error that stopped the pass (the destination is down or overloaded)
    pub failed: Option<PeerError>,
    /// whether the queue is empty now
    pub empty: bool,
}

/// Counters of every queue (for `/debug/vars` once wired).
#[derive(Debug, Default)]
pub struct HintedHandoffCounters {
    /// hints handed off
    pub hinted: AtomicU64,
    /// hints refused (full, too large, disk error)
    pub refused: AtomicU64,
    /// hints delivered
    pub delivered: AtomicU64,
    /// hints dropped (refused for good by the destination, or expired)
    pub dropped: AtomicU64,
}

/// Every destination's queue.
pub struct HintedHandoff {
    fs: Arc<dyn FileSystem>,
    settings: HintedHandoffSettings,
    queues: Mutex<BTreeMap<NodeId, Arc<Mutex<NodeQueue>>>>,
    /// held by [`HintedHandoff::deliver`]: one delivery at a time moves the cursors
    delivering: Mutex<()>,
    /// see [`HintedHandoffCounters`]
    pub counters: HintedHandoffCounters,
}

impl HintedHandoff {
    /// Opens `settings.dir` (if it exists) and scans every destination's segments.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        settings: HintedHandoffSettings,
    ) -> io::Result<HintedHandoff> {
        let mut queues = BTreeMap::new();
        // Created with the first hint: a node that never hints leaves no directory.
        let entries = match std::fs::read_dir(&settings.dir) {
            Ok(entries) => entries.collect::<Vec<_>>(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            let Some(node) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<NodeId>().ok())
            else {
                continue;
            };
            let queue = NodeQueue::open(fs.as_ref(), node, entry.path())?;
            queues.insert(node, Arc::new(Mutex::new(queue)));
        }
        Ok(HintedHandoff {
            fs,
            settings,
            queues: Mutex::new(queues),
            delivering: Mutex::new(()),
            counters: HintedHandoffCounters::default(),
        })
    }

    /// The settings it was opened with.
    pub fn settings(&self) -> &HintedHandoffSettings {
        &self.settings
    }

    fn queue(&self, node: NodeId) -> Arc<Mutex<NodeQueue>> {
        let mut queues = lock(&self.queues);
        let queue = queues.entry(node).or_insert_with(|| {
            Arc::new(Mutex::new(NodeQueue {
                node,
                dir: self.settings.dir.join(node.to_string()),
                segments: VecDeque::new(),
                active: None,
                cursor: SEGMENT_HEADER_BYTES,
                bytes: 0,
                next_segment_id: 1,
            }))
        });
        Arc::clone(queue)
    }

    /// Hands `write` off for `node`: returns once it is durable in `node`'s queue.
    pub fn hint(&self, node: NodeId, write: &ShardWrite, created_ns: i64) -> Result<(), HintError> {
        let queue = self.queue(node);
        let mut queue = lock(&queue);
        let result = queue.append(self.fs.as_ref(), &self.settings, write, created_ns);
        let counter = match result {
            Ok(()) => &self.counters.hinted,
            Err(_) => &self.counters.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// The destinations that have a queue (empty or not).
    pub fn nodes(&self) -> Vec<NodeId> {
        lock(&self.queues).keys().copied().collect()
    }

    /// Bytes held for `node`.
    pub fn pending_bytes(&self, node: NodeId) -> u64 {
        let queue = lock(&self.queues).get(&node).cloned();
        queue.map_or(0, |queue| lock(&queue).bytes)
    }

    /// Delivers up to `budget` hints to `node` in order; stops at the first failure that a
    /// retry may cure. `now_ns` decides what is expired.
    pub fn deliver(
        &self,
        node: NodeId,
        transport: &dyn HintTransport,
        now_ns: i64,
        budget: usize,
    ) -> Delivery {
        let _one_at_a_time = lock(&self.delivering);
        let queue = self.queue(node);
        let oldest_kept_ns = now_ns.saturating_sub(duration_ns(self.settings.max_age));
        let mut delivery = Delivery::default();
        for _ in 0..budget {
            let next = lock(&queue).next_hint(self.fs.as_ref(), oldest_kept_ns);
            let (write, created_ns, record_bytes) = match next {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(error) => {
                    crate::log_warn!("hinted-handoff", "reading a hint failed"; node = node, error = error);
                    delivery.failed = Some(PeerError::Connection(error.to_string()));
                    return delivery;
                }
            };
            if created_ns < oldest_kept_ns {
                delivery.expired += 1;
            } else {
                match transport.deliver(node, &write) {
                    Ok(()) => delivery.delivered += 1,
                    Err(error) if error.is_retryable() => {
                        delivery.failed = Some(error);
                        break;
                    }
                    Err(error) => {
                        crate::log_warn!("hinted-handoff", "hint dropped: the node refused it for good"; node = node, error = error);
                        delivery.dropped += 1;
                    }
                }
            }
            lock(&queue).cursor += record_bytes;
        }
        let counters = &self.counters;
        counters
            .delivered
            .fetch_add(delivery.delivered, Ordering::Relaxed);
        counters
            .dropped
            .fetch_add(delivery.dropped + delivery.expired, Ordering::Relaxed);
        if delivery.failed.is_none() {
            // Deletes what was fully delivered, and tells whether anything is left.
            let next = lock(&queue).next_hint(self.fs.as_ref(), oldest_kept_ns);
            delivery.empty = matches!(next, Ok(None));
        }
        delivery
    }
}

/// The `sluice-hinted-handoff` thread: delivers every destination's hints in turn, at most
/// `HINTED_HANDOFF_DELIVERY_BATCH_MAX` per destination per turn; after a failure it waits
/// `retry-interval` before trying that destination again, doubling the wait after each
/// further failure up to `retry-max-interval`.
pub struct DeliveryThread {
    stop: crossbeam::channel::Sender<()>,
    handle: std::thread::JoinHandle<()>,
}

impl DeliveryThread {
    /// Starts the thread.
    pub fn start(
        queues: Arc<HintedHandoff>,
        transport: Arc<dyn HintTransport>,
    ) -> io::Result<DeliveryThread> {
        let (stop, stopped) = crossbeam::channel::bounded::<()>(1);
        let handle = std::thread::Builder::new()
            .name("sluice-hinted-handoff".into())
            .spawn(move || deliver_until_stopped(&queues, transport.as_ref(), &stopped))?;
        Ok(DeliveryThread { stop, handle })
    }

    /// Stops after the delivery in progress.
    pub fn stop(self) {
        let _ = self.stop.try_send(());
        let _ = self.handle.join();
    }
}

/// When each destination may be tried next, and its current wait.
#[derive(Clone, Copy)]
struct Backoff {
    next_attempt: std::time::Instant,
    wait: Duration,
}

fn deliver_until_stopped(
    queues: &HintedHandoff,
    transport: &dyn HintTransport,
    stopped: &crossbeam::channel::Receiver<()>,
) {
    let settings = queues.settings().clone();
    let mut backoffs: BTreeMap<NodeId, Backoff> = BTreeMap::new();
    loop {
        let now = std::time::Instant::now();
        let mut busy = false;
        for node in queues.nodes() {
            if backoffs.get(&node).is_some_and(|b| b.next_attempt > now) {
                continue;
            }
            let delivery = queues.deliver(
                node,
                transport,
                crate::time::now_ns(),
                crate::limits::HINTED_HANDOFF_DELIVERY_BATCH_MAX,
            );
            match delivery.failed {
                Some(error) => {
                    let wait = backoffs.get(&node).map_or(settings.retry_interval, |b| {
                        (b.wait * 2).min(settings.retry_max_interval)
                    });
                    crate::log_debug!("hinted-handoff", "delivery failed; retrying later"; node = node, error = error, wait_ms = wait.as_millis());
                    backoffs.insert(
                        node,
                        Backoff {
                            next_attempt: now + wait,
                            wait,
                        },
                    );
                }
                None => {
                    backoffs.remove(&node);
                    busy |= !delivery.empty;
                }
            }
        }
        let pause = if busy {
            Duration::ZERO
        } else {
            settings.retry_interval
        };
        match stopped.recv_timeout(pause) {
            Err(crossbeam::channel::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

fn duration_ns(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}{SEGMENT_SUFFIX}"))
}

fn segment_header() -> [u8; SEGMENT_HEADER_BYTES as usize] {
    let mut header = [0u8; SEGMENT_HEADER_BYTES as usize];
    header[..4].copy_from_slice(MAGIC);
    header[4] = VERSION;
    header
}

/// Encodes a record (head and payload) into `out` (cleared first).
fn encode_record(write: &ShardWrite, created_ns: i64, out: &mut Vec<u8>) -> Result<(), HintError> {
    let too_large = || HintError::TooLarge(write.lines.len());
    let database_length = u16::try_from(write.database.len()).map_err(|_| too_large())?;
    let policy_length = u16::try_from(write.retention_policy.len()).map_err(|_| too_large())?;
    if write.lines.len() > CLUSTER_SHARD_WRITE_MAX_BYTES {
        return Err(too_large());
    }
    out.clear();
    out.extend_from_slice(&[0; RECORD_HEAD_BYTES as usize]);
    out.extend_from_slice(&created_ns.to_le_bytes());
    out.extend_from_slice(&write.shard_group_id.to_le_bytes());
    out.extend_from_slice(&write.now_ns.to_le_bytes());
    out.push(precision_code(write.precision));
    out.extend_from_slice(&database_length.to_le_bytes());
    out.extend_from_slice(write.database.as_bytes());
    out.extend_from_slice(&policy_length.to_le_bytes());
    out.extend_from_slice(write.retention_policy.as_bytes());
    out.extend_from_slice(&write.lines);
    let payload_length = (out.len() - RECORD_HEAD_BYTES as usize) as u32;
    let crc = crc32fast::hash(&out[RECORD_HEAD_BYTES as usize..]);
    out[..4].copy_from_slice(&payload_length.to_le_bytes());
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Decodes a payload whose checksum matched; `None`: it is not a hint (corruption the
/// checksum missed, or a bug).
fn decode_payload(payload: &[u8]) -> Option<(ShardWrite, i64)> {
    let created_ns = i64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let shard_group_id = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
    let now_ns = i64::from_le_bytes(payload.get(16..24)?.try_into().ok()?);
    let precision = precision_of_code(*payload.get(24)?)?;
    let (database, rest) = take_name(payload.get(25..)?)?;
    let (retention_policy, lines) = take_name(rest)?;
    let write = ShardWrite {
        database,
        retention_policy,
        shard_group_id,
        lines: lines.to_vec(),
        precision,
        now_ns,
    };
    Some((write, created_ns))
}

fn precision_code(precision: Precision) -> u8 {
    match precision {
        Precision::Nanosecond => 0,
        Precision::Microsecond => 1,
        Precision::Millisecond => 2,
        Precision::Second => 3,
        Precision::Minute => 4,
        Precision::Hour => 5,
    }
}

fn precision_of_code(code: u8) -> Option<Precision> {
    Some(match code {
        0 => Precision::Nanosecond,
        1 => Precision::Microsecond,
        2 => Precision::Millisecond,
        3 => Precision::Second,
        4 => Precision::Minute,
        5 => Precision::Hour,
        _ => return None,
    })
}

fn take_name(bytes: &[u8]) -> Option<(String, &[u8])> {
    let length = u16::from_le_bytes(bytes.get(..2)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(bytes.get(2..2 + length)?).ok()?;
    Some((name.to_string(), bytes.get(2 + length..)?))
}

/// Reads the record at the reader's position: `Ok(None)` at a clean end, a torn or bad
/// record, or a payload that is not a hint.
fn read_record(reader: &mut impl Read, payload: &mut Vec<u8>) -> io::Result<Option<u64>> {
    let mut head = [0u8; RECORD_HEAD_BYTES as usize];
    if !read_full(reader, &mut head)? {
        return Ok(None);
    }
    let [l0, l1, l2, l3, c0, c1, c2, c3] = head;
    let length = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    if length == 0 || length > RECORD_PAYLOAD_MAX_BYTES {
        return Ok(None);
    }
    payload.clear();
    payload.resize(length, 0);
    if !read_full(reader, payload)? || crc32fast::hash(payload) != crc {
        return Ok(None);
    }
    Ok(Some(RECORD_HEAD_BYTES + length as u64))
}

/// Fills `buffer`; false if the reader ended first.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<bool> {
    match reader.read_exact(buffer) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error),
    }
}

impl NodeQueue {
    /// Scans the segments of `dir`: each keeps its valid records up to the first bad one;
    /// a file with a bad header is removed.
    fn open(fs: &dyn FileSystem, node: NodeId, dir: PathBuf) -> io::Result<NodeQueue> {
        let mut ids: Vec<u64> = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let name = entry?.file_name();
            let id = name
                .to_str()
                .and_then(|n| n.strip_suffix(SEGMENT_SUFFIX))
                .and_then(|n| n.parse::<u64>().ok());
            ids.extend(id);
        }
        ids.sort_unstable();
        let mut queue = NodeQueue {
            node,
            dir,
            segments: VecDeque::new(),
            active: None,
            cursor: SEGMENT_HEADER_BYTES,
            bytes: 0,
            next_segment_id: ids.last().map_or(1, |last| last + 1),
        };
        let mut removed_any = false;
        for id in ids {
            let path = segment_path(&queue.dir, id);
            match scan_segment(&path)? {
                Some((length, newest_ns)) => {
                    queue.bytes += length;
                    queue.segments.push_back(Segment {
                        id,
                        length,
                        newest_ns,
                    });
                }
                None => {
                    fs.remove_file(&path)?;
                    removed_any = true;
                }
            }
        }
        if removed_any {
            fs.sync_directory(&queue.dir)?;
        }
        Ok(queue)
    }

    fn append(
        &mut self,
        fs: &dyn FileSystem,
        settings: &HintedHandoffSettings,
        write: &ShardWrite,
        created_ns: i64,
    ) -> Result<(), HintError> {
        let mut record = Vec::with_capacity(write.lines.len() + 64);
        encode_record(write, created_ns, &mut record)?;
        let record_bytes = record.len() as u64;
        let starts_segment = match (&self.active, self.segments.back()) {
            (Some(_), Some(back)) => {
                back.length > SEGMENT_HEADER_BYTES
                    && back.length + record_bytes > settings.segment_max_bytes
            }
            _ => true,
        };
        let needed = record_bytes
            + if starts_segment {
                SEGMENT_HEADER_BYTES
            } else {
                0
            };
        if self.bytes + needed > settings.max_size_bytes {
            return Err(HintError::Full {
                node: self.node,
                max_size_bytes: settings.max_size_bytes,
            });
        }
        if starts_segment {
            self.start_segment(fs).map_err(HintError::Io)?;
        }
        let Some(file) = self.active.as_mut() else {
            panic!("BUG: no active hinted-handoff segment after starting one");
        };
        if let Err(error) = file.write_all(&record).and_then(|()| file.sync_data()) {
            // Never write after a failure: the unsynced tail is not to be trusted.
            self.active = None;
            return Err(HintError::Io(error));
        }
        let Some(back) = self.segments.back_mut() else {
            panic!("BUG: an active hinted-handoff segment that is not in the list");
        };
        back.length += record_bytes;
        back.newest_ns = back.newest_ns.max(created_ns);
        self.bytes += record_bytes;
        Ok(())
    }

    /// Creates the next segment with its header durable, and makes it the active one.
    fn start_segment(&mut self, fs: &dyn FileSystem) -> io::Result<()> {
        self.active = None;
        if !self.dir.is_dir() {
            std::fs::create_dir_all(&self.dir)?;
            if let Some(parent) = self.dir.parent() {
                fs.sync_directory(parent)?;
            }
        }
        let id = self.next_segment_id;
        self.next_segment_id += 1;
        let path = segment_path(&self.dir, id);
        let mut file = fs.create_new(&path)?;
        let made = file
            .write_all(&segment_header())
            .and_then(|()| file.sync_data())
            .and_then(|()| fs.sync_directory(&self.dir));
        if let Err(error) = made {
            drop(file);
            // Best effort: a header that is not durable makes the file one `open` removes.
            let _ = fs.remove_file(&path);
            return Err(error);
        }
        self.segments.push_back(Segment {
            id,
            length: SEGMENT_HEADER_BYTES,
            newest_ns: i64::MIN,
        });
        self.bytes += SEGMENT_HEADER_BYTES;
        self.active = Some(file);
        Ok(())
    }

    /// The hint at the cursor with its record's size; deletes segments delivered whole
    /// (the active one too, once everything in it was delivered) and whole segments whose
    /// newest hint is older than `oldest_kept_ns`.
    fn next_hint(
        &mut self,
        fs: &dyn FileSystem,
        oldest_kept_ns: i64,
    ) -> io::Result<Option<(ShardWrite, i64, u64)>> {
        loop {
            let is_active = self.segments.len() == 1 && self.active.is_some();
            let Some(front) = self.segments.front() else {
                return Ok(None);
            };
            let expired = !is_active && front.newest_ns < oldest_kept_ns;
            if self.cursor < front.length && !expired {
                let path = segment_path(&self.dir, front.id);
                let read = read_record_at(&path, self.cursor)?;
                match read.and_then(|(payload, bytes)| Some((decode_payload(&payload)?, bytes))) {
                    Some(((write, created_ns), bytes)) => {
                        return Ok(Some((write, created_ns, bytes)))
                    }
                    None => {
                        // Checked when appended or scanned: the disk changed under us.
                        crate::log_error!("hinted-handoff", "a hint changed on disk: the rest of its segment is skipped"; path = path.display(), offset = self.cursor);
                    }
                }
            }
            if is_active && front.length == SEGMENT_HEADER_BYTES {
                return Ok(None); // a fresh segment, nothing appended yet
            }
            self.remove_front(fs)?;
        }
    }

    fn remove_front(&mut self, fs: &dyn FileSystem) -> io::Result<()> {
        let Some(front) = self.segments.front() else {
            panic!("BUG: removing a segment from an empty hinted-handoff queue");
        };
        if self.segments.len() == 1 {
            self.active = None;
        }
        fs.remove_file(&segment_path(&self.dir, front.id))?;
        // Gone from the list as soon as the file is: a failed directory sync below must
        // not leave the queue pointing at a file it cannot read.
        self.bytes -= front.length;
        self.segments.pop_front();
        self.cursor = SEGMENT_HEADER_BYTES;
        fs.sync_directory(&self.dir)
    }
}

fn read_record_at(path: &Path, offset: u64) -> io::Result<Option<(Vec<u8>, u64)>> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = io::BufReader::new(file);
    let mut payload = Vec::new();
    Ok(read_record(&mut reader, &mut payload)?.map(|bytes| (payload, bytes)))
}

/// The length of a segment's header and valid records, and its newest hint's time; `None`
/// if its header is not a segment header.
fn scan_segment(path: &Path) -> io::Result<Option<(u64, i64)>> {
    let mut reader = io::BufReader::new(std::fs::File::open(path)?);
    let mut header = [0u8; SEGMENT_HEADER_BYTES as usize];
    if !read_full(&mut reader, &mut header)? || header != segment_header() {
        return Ok(None);
    }
    let mut length = SEGMENT_HEADER_BYTES;
    let mut newest_ns = i64::MIN;
    let mut payload = Vec::new();
    while let Some(bytes) = read_record(&mut reader, &mut payload)? {
        let Some((_, created_ns)) = decode_payload(&payload) else {
            break;
        };
        newest_ns = newest_ns.max(created_ns);
        length += bytes;
    }
    Ok(Some((length, newest_ns)))
}

#[cfg(test)]
mod tests;
