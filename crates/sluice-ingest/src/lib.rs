//! Ingest: routes parsed points to WAL partitions and tells the event loops when a write is
//! durable.
//!
//! Owns the partition threads and their bounded queues. One partition per core (by default)
//! owns one WAL directory; a point goes to the partition chosen by the hash of its series key,
//! so all writes of a series are ordered in one WAL.
//!
//! ```text
//!  event loop ──try_send(Batch)──▶ [bounded queue, ingest-queue-depth × loops] ──▶ partition
//!      ▲                                                                             │
//!      └── AckSink::write_complete (mailbox + mio Waker) ◀── last part applied ◀──────┘
//!                          (partitions wake each other when a request resolves: request)
//! ```
//!
//! Invariants:
//! - A `WriteTicket` completes exactly once, after every batch of its request was fsynced and
//!   applied to the caches (204), or after the request failed and none of it was applied
//!   (500).
//! - A request is all-or-nothing, in the caches and across a crash (`request`, `partition`
//!   and `replay` have the rules).
//! - Queues are bounded; `try_send` never blocks an event loop. A full queue is the loop's
//!   signal to stop reading that connection and retry (back-pressure), and past
//!   `enqueued-write-timeout` to answer 503.
//! - Replay happens before any listener opens, so no write races it.
//!
//! This crate depends on the data model, the storage engine, the line-protocol parser and
//! `sluice-base` only: it knows nothing of HTTP, queries or the network. Its callers (the
//! HTTP write handler, the UDP/Graphite/collectd/OpenTSDB inputs, `SELECT INTO`, continuous
//! queries) get typed [`plan::WriteOutcome`]s and render them as they need.

#![cfg_attr(test, allow(clippy::unwrap_used))]

#[cfg(test)]
mod engine_simulation;
pub mod maintenance;
pub mod partition;
pub mod plan;
pub mod replay;
pub mod request;
#[cfg(test)]
mod simulation;

pub use partition::{CacheSink, CommittedWrites, PartitionCore, PartitionStats};
pub use request::{AckSink, Batch, PartitionWaker, Resolution};

pub use sluice_model::routing::{partition_for, series_hash};
pub use sluice_model::{field_types, record};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, Sender, TrySendError};

use field_types::FieldTypeRegistry;
use sluice_storage::engine::Store;
use sluice_storage::wal::{ReplayMode, WalWriter};

const PARTITIONS_FILE: &str = "PARTITIONS";
/// Control messages a partition can have waiting (one checkpoint and a shutdown at most).
const CONTROL_QUEUE_DEPTH: usize = 4;

/// How often a thread waiting for room in a full partition queue tries again.
pub const QUEUE_RETRY_INTERVAL: Duration = Duration::from_millis(1);

/// A write queued by [`Ingest::queue_blocking_waitable`]: tells when its records are durable.
pub struct QueuedWrite {
    durable: Receiver<bool>,
}

impl QueuedWrite {
    /// Blocks until every record of the write is durable (true) or one failed (false). The
    /// partitions finish every queued record, even at shutdown, so this returns.
    pub fn wait_durable(self) -> bool {
        self.durable.recv().unwrap_or(false)
    }
}

/// [`Ingest::queue_blocking`] gave up: a partition queue stayed full for the whole timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueTimedOut;

/// Completes a [`QueuedWrite`].
struct DurableSignal {
    sender: Sender<bool>,
}

impl AckSink for DurableSignal {
    fn write_complete(&self, _connection: usize, _sequence: u64, durable: bool) {
        let _ = self.sender.try_send(durable);
    }
}

enum PartitionMessage {
    Write(Batch),
}

/// Messages that bypass the write queue (they must be served even while writes wait).
enum Control {
    /// Start a new WAL segment, freeze this partition's caches, and send back the new
    /// segment's number (the older segments are then covered by the frozen caches).
    Checkpoint(Sender<u64>),
    /// Commit everything queued, then stop.
    Shutdown,
}

/// The partitions and their queues.
pub struct Ingest {
    senders: Vec<Sender<PartitionMessage>>,
    controls: Vec<Sender<Control>>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// field types of every database
    pub field_types: Arc<FieldTypeRegistry>,
    /// per-partition counters
    pub stats: Vec<Arc<PartitionStats>>,
    /// wakes partitions holding parts of a request that resolved
    waker: Arc<dyn PartitionWaker>,
    /// the next request id for a request of several records (above every id in the WAL)
    next_request_id: AtomicU64,
    /// set while a checkpoint rotates the partitions (`partition` says why)
    rotating: Arc<AtomicBool>,
    /// the store, whose series indexes the planner asks near the series limits
    store: Arc<Store>,
    /// `[data] max-series-per-database` and `max-values-per-tag`
    series_limits: SeriesLimits,
}

/// `[data] max-series-per-database` and `max-values-per-tag` (0: no limit), enforced by the
/// write planner as InfluxDB 1.6.7 does (`ingest::plan` has the rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesLimits {
    /// most series one database may have
    pub max_series_per_database: usize,
    /// most values one tag key of one measurement may have
    pub max_values_per_tag: usize,
}

/// What start-up replay found.
#[derive(Debug, Default)]
pub struct ReplaySummary {
    /// partitions
    pub partitions: usize,
    /// records replayed
    pub records: usize,
    /// points replayed
    pub points: u64,
    /// segments whose torn tail was cut
    pub truncated_segments: usize,
    /// damaged stretches skipped in the middle of segments (corruption; each logged)
    pub corrupt_stretches: usize,
    /// parts of requests that never completed, dropped (none was acknowledged)
    pub dropped_parts: usize,
}

/// Settings of the ingest layer.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// WAL root directory
    pub wal_dir: PathBuf,
    /// partitions for a fresh WAL directory
    pub partitions: usize,
    /// queue depth per event loop
    pub queue_depth_per_loop: usize,
    /// event loops feeding the queues
    pub event_loops: usize,
    /// group-commit gathering delay
    pub fsync_delay: Duration,
    /// segment rotation size
    pub segment_max_bytes: u64,
    /// what all partitions' segments may hold before client writes are refused
    /// (`[data] wal-max-size`); each partition gets an equal share, at least
    /// `WAL_PARTITION_MIN_SEGMENTS` segments
    pub wal_max_bytes: u64,
    /// most records one group commit takes before it fsyncs
    pub group_max_records: usize,
    /// fault injection: extra time every commit takes (a slow disk), 0 in production
    pub debug_commit_delay: Duration,
    /// series limits the planner enforces
    pub series_limits: SeriesLimits,
    /// told of every record the partitions apply once its request committed (not of
    /// replayed ones); `None`: nobody
    pub committed_writes: Option<Arc<dyn CommittedWrites>>,
}

/// Partition count recorded in an existing WAL directory; `Ok(None)` when there is none yet.
/// Reads only (`sluice export` uses it on a stopped server's directory).
pub fn recorded_partition_count(wal_dir: &Path) -> std::io::Result<Option<usize>> {
    let path = wal_dir.join(PARTITIONS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: not a partition count", path.display()),
                )
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Partition count of an existing WAL directory, else `fresh`, recorded for next time.
pub fn partition_count(wal_dir: &Path, fresh: usize) -> std::io::Result<usize> {
    if let Some(count) = recorded_partition_count(wal_dir)? {
        return Ok(count);
    }
    sluice_base::fsio::create_directory_durably(&sluice_base::fsio::OsFileSystem, wal_dir)?;
    sluice_base::fsio::write_file_atomically(
        &sluice_base::fsio::OsFileSystem,
        wal_dir,
        PARTITIONS_FILE,
        format!("{fresh}\n").as_bytes(),
    )?;
    Ok(fresh)
}

/// Directory of partition `index`.
pub fn partition_dir(wal_dir: &Path, index: usize) -> PathBuf {
    wal_dir.join(format!("p{index:02}"))
}

/// Wakes partition threads through their wake channels (one token each; a token already
/// waiting is enough).
struct ChannelWaker {
    wakes: Vec<Sender<()>>,
}

impl PartitionWaker for ChannelWaker {
    fn wake(&self, partition: usize) {
        if let Some(wake) = self.wakes.get(partition) {
            let _ = wake.try_send(());
        }
    }
}

/// One partition's share of `[data] wal-max-size`.
fn partition_wal_max_bytes(options: &IngestOptions, partitions: usize) -> u64 {
    let floor = options
        .segment_max_bytes
        .saturating_mul(sluice_model::limits::WAL_PARTITION_MIN_SEGMENTS);
    (options.wal_max_bytes / partitions.max(1) as u64).max(floor)
}

/// Replays the WAL partitions `(index, directory)` into the store's caches, rebuilding the
/// field types (start-up, before any partition runs). Returns what was replayed and the
/// highest request id found (new requests must use higher ones).
pub fn replay_into_store(
    store: &Store,
    directories: &[(usize, PathBuf)],
) -> std::io::Result<(ReplaySummary, u64)> {
    let field_types = Arc::clone(store.field_types());
    let mut summary = ReplaySummary::default();
    let stats = replay::replay_partitions(
        directories,
        ReplayMode::Repair,
        |index, record: &[u8]| {
            let decoded = record::decode_record(record, |header, point| {
                summary.points += 1;
                let measurement = measurement_of(point.series_key);
                for (key, value) in &point.fields {
                    field_types.get_or_insert(
                        header.database_id,
                        measurement,
                        key,
                        value.field_type(),
                    );
                }
            });
            if decoded.is_err() {
                sluice_base::log_warn!("wal", "skipped an undecodable WAL record"; bytes = record.len());
                return;
            }
            store.apply_record(index, record);
        },
    )?;
    summary.records = stats.records;
    summary.truncated_segments = stats.wal.truncated_segments;
    summary.corrupt_stretches = stats.wal.corrupt_stretches;
    summary.dropped_parts = stats.dropped_parts;
    if stats.unknown_records > 0 {
        sluice_base::log_warn!("wal", "skipped WAL records of no known kind"; records = stats.unknown_records);
    }
    Ok((summary, stats.max_request_id))
}

impl Ingest {
    /// Replays the WAL (rebuilding field types), then starts one thread per partition.
    pub fn start(
        options: &IngestOptions,
        store: &Arc<Store>,
    ) -> std::io::Result<(Ingest, ReplaySummary)> {
        let partitions = partition_count(&options.wal_dir, options.partitions.max(1))?;
        let field_types = Arc::clone(store.field_types());
        let directories: Vec<(usize, PathBuf)> = (0..partitions)
            .map(|index| (index, partition_dir(&options.wal_dir, index)))
            .filter(|(_, directory)| directory.is_dir())
            .collect();
        let (summary, max_request_id) = replay_into_store(store, &directories)?;
        let summary = ReplaySummary {
            partitions,
            ..summary
        };

        let capacity = options.queue_depth_per_loop.max(1) * options.event_loops.max(1);
        let mut senders = Vec::with_capacity(partitions);
        let mut controls = Vec::with_capacity(partitions);
        let mut threads = Vec::with_capacity(partitions);
        let mut all_stats = Vec::with_capacity(partitions);
        let mut wakes = Vec::with_capacity(partitions);
        let mut wake_receivers = Vec::with_capacity(partitions);
        for _ in 0..partitions {
            let (wake, woken) = channel::bounded(1);
            wakes.push(wake);
            wake_receivers.push(woken);
        }
        let waker: Arc<dyn PartitionWaker> = Arc::new(ChannelWaker { wakes });
        let rotating = Arc::new(AtomicBool::new(false));
        for (index, woken) in wake_receivers.into_iter().enumerate() {
            let (sender, receiver) = channel::bounded(capacity);
            let (control_sender, control) = channel::bounded(CONTROL_QUEUE_DEPTH);
            let inbox = PartitionInbox {
                writes: receiver,
                control,
                woken,
            };
            let writer = WalWriter::open(
                &partition_dir(&options.wal_dir, index),
                options.segment_max_bytes,
            )?
            .with_max_bytes(partition_wal_max_bytes(options, partitions));
            let partition_stats = Arc::new(PartitionStats::default());
            let core = PartitionCore::new(
                index,
                writer,
                Arc::clone(&rotating),
                Arc::clone(&partition_stats),
            )
            .with_committed_writes(options.committed_writes.clone());
            let thread_store = Arc::clone(store);
            let group = GroupCommit {
                delay: options.fsync_delay,
                max_records: options.group_max_records.max(1),
                debug_commit_delay: options.debug_commit_delay,
            };
            let thread = std::thread::Builder::new()
                .name(format!("sluice-partition-{index}"))
                .spawn(move || run_partition(inbox, core, group, &thread_store))?;
            senders.push(sender);
            controls.push(control_sender);
            threads.push(thread);
            all_stats.push(partition_stats);
        }
        let ingest = Ingest {
            senders,
            controls,
            threads: std::sync::Mutex::new(threads),
            field_types,
            stats: all_stats,
            waker,
            next_request_id: AtomicU64::new(max_request_id + 1),
            rotating,
            store: Arc::clone(store),
            series_limits: options.series_limits,
        };
        Ok((ingest, summary))
    }

    /// The series limits writes are planned under.
    pub fn series_limits(&self) -> SeriesLimits {
        self.series_limits
    }

    /// The store (series indexes).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> usize {
        self.senders.len()
    }

    /// Whether some partition cannot write its WAL (its last commit failed, or it has no
    /// segment, as on a full disk): writes to it are answered 500, queries are served.
    pub fn wal_failing(&self) -> bool {
        self.stats
            .iter()
            .any(|stats| stats.wal_failing.load(Ordering::Relaxed))
    }

    /// The partition that owns `series_key`.
    pub fn partition_of(&self, series_key: &[u8]) -> usize {
        partition_for(series_key, self.senders.len())
    }

    /// The batches of one request, ready for [`Ingest::try_send`]: `records` are (partition,
    /// write record, point count), as the planner makes them; `sink` is told
    /// `(connection, sequence)` once the request is durable and applied, or failed.
    pub fn batches(
        &self,
        records: Vec<(usize, Vec<u8>, u32)>,
        sink: Arc<dyn AckSink>,
        connection: usize,
        sequence: u64,
    ) -> Vec<Batch> {
        let request_id = if records.len() > 1 {
            self.next_request_id.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        request::batches(
            records,
            request_id,
            Some(Arc::clone(&self.waker)),
            sink,
            connection,
            sequence,
        )
    }

    /// Queues a batch without blocking; gives it back when the queue is full.
    pub fn try_send(&self, batch: Batch) -> Result<(), Batch> {
        let Some(sender) = self.senders.get(batch.partition) else {
            return Err(batch);
        };
        match sender.try_send(PartitionMessage::Write(batch)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(PartitionMessage::Write(batch)))
            | Err(TrySendError::Disconnected(PartitionMessage::Write(batch))) => Err(batch),
        }
    }

    /// Queues `records` (partition, record, point count) as one write from a thread that may
    /// block (never an event loop); `sink` is told once when every record is durable or one
    /// failed (at once when there are none). While a partition queue is full it retries
    /// every [`QUEUE_RETRY_INTERVAL`], as an event loop does, and gives up after `timeout`:
    /// then `sink` is never told, and nothing of the write is applied (the write is
    /// all-or-nothing: the records queued before are dropped once durable, as parts of a
    /// request that failed).
    pub fn queue_blocking(
        &self,
        records: Vec<(usize, Vec<u8>, u32)>,
        timeout: Duration,
        sink: Arc<dyn AckSink>,
    ) -> Result<(), QueueTimedOut> {
        if records.is_empty() {
            sink.write_complete(0, 0, true);
            return Ok(());
        }
        let give_up_at = Instant::now() + timeout;
        for mut batch in self.batches(records, sink, 0, 0) {
            loop {
                match self.try_send(batch) {
                    Ok(()) => break,
                    Err(returned) if Instant::now() >= give_up_at => {
                        // The batches not queued are dropped, which fails the write: nothing
                        // of it is applied, and the caller answers the timeout itself.
                        returned.abandon_answer();
                        return Err(QueueTimedOut);
                    }
                    Err(returned) => {
                        batch = returned;
                        std::thread::sleep(QUEUE_RETRY_INTERVAL);
                    }
                }
            }
        }
        Ok(())
    }

    /// [`Ingest::queue_blocking`] with a [`QueuedWrite`] to wait on.
    pub fn queue_blocking_waitable(
        &self,
        records: Vec<(usize, Vec<u8>, u32)>,
        timeout: Duration,
    ) -> Result<QueuedWrite, QueueTimedOut> {
        let (sender, durable) = channel::bounded(1);
        self.queue_blocking(records, timeout, Arc::new(DurableSignal { sender }))?;
        Ok(QueuedWrite { durable })
    }

    /// Starts a new WAL segment in every partition and freezes the caches; returns, per
    /// partition, the first segment number not covered by the frozen caches. Blocks until
    /// every partition has done it (call from a background thread, never an event loop).
    pub fn checkpoint(&self) -> Vec<Option<u64>> {
        // Set before the first partition rotates, cleared after the last did.
        self.rotating.store(true, Ordering::SeqCst);
        let mut replies = Vec::with_capacity(self.controls.len());
        for control in &self.controls {
            let (reply, answer) = channel::bounded(1);
            let sent = control.send(Control::Checkpoint(reply)).is_ok();
            replies.push(sent.then_some(answer));
        }
        let first_kept = replies
            .into_iter()
            .map(|answer| answer.and_then(|a| a.recv().ok()))
            .collect();
        self.rotating.store(false, Ordering::SeqCst);
        first_kept
    }

    /// Lets every partition finish what is queued, then stops them. Call after the event loops
    /// have stopped.
    pub fn shutdown(&self) {
        for control in &self.controls {
            let _ = control.send(Control::Shutdown);
        }
        let threads = match self.threads.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// The measurement part of a canonical series key (up to the first unescaped comma).
pub fn measurement_of(series_key: &[u8]) -> &[u8] {
    let mut index = 0;
    while index < series_key.len() {
        match series_key[index] {
            b'\\' => index += 2,
            b',' => return &series_key[..index],
            _ => index += 1,
        }
    }
    series_key
}

/// How a partition gathers records into one fsync.
#[derive(Clone, Copy)]
struct GroupCommit {
    /// `wal-fsync-delay`: wait this long for more records after the first
    delay: Duration,
    /// `wal-group-max-records`: fsync once this many are gathered
    max_records: usize,
    /// `debug-wal-commit-delay`: a simulated slow disk
    debug_commit_delay: Duration,
}

/// The channels a partition thread listens on.
struct PartitionInbox {
    writes: Receiver<PartitionMessage>,
    control: Receiver<Control>,
    /// a request with a part here resolved: apply or drop what is resolved
    woken: Receiver<()>,
}

fn run_partition(
    inbox: PartitionInbox,
    mut core: PartitionCore,
    group_commit: GroupCommit,
    store: &Store,
) {
    let GroupCommit {
        delay: fsync_delay,
        max_records: group_max_records,
        debug_commit_delay,
    } = group_commit;
    let PartitionInbox {
        writes,
        control,
        woken,
    } = inbox;
    let mut group: Vec<Batch> = Vec::with_capacity(group_max_records);
    let checkpoint = |core: &mut PartitionCore, reply: Sender<u64>| {
        let _ = reply.send(core.checkpoint(store));
    };
    loop {
        // Back-pressure: while the caches are over their bound, take no writes (the queue
        // fills and the event loops stop reading, then answer 503), but keep serving
        // checkpoints, which are what frees the caches, and requests that resolved.
        let mut stop = false;
        while store.cache_full() && !stop {
            crossbeam::select! {
                recv(control) -> message => match message {
                    Ok(Control::Checkpoint(reply)) => checkpoint(&mut core, reply),
                    Ok(Control::Shutdown) | Err(_) => stop = true,
                },
                recv(woken) -> _ => core.apply_resolved(store),
                default(CACHE_FULL_POLL) => {}
            }
        }
        if !stop {
            crossbeam::select! {
                recv(writes) -> message => match message {
                    Ok(PartitionMessage::Write(batch)) => group.push(batch),
                    Err(_) => stop = true,
                },
                recv(control) -> message => match message {
                    Ok(Control::Checkpoint(reply)) => {
                        checkpoint(&mut core, reply);
                        continue;
                    }
                    Ok(Control::Shutdown) | Err(_) => stop = true,
                },
                recv(woken) -> _ => {
                    core.apply_resolved(store);
                    continue;
                }
            }
        }
        if stop {
            // Whatever is queued was accepted by a writer that waits for its answer: commit it.
            while let Ok(PartitionMessage::Write(batch)) = writes.try_recv() {
                group.push(batch);
                if group.len() >= group_max_records {
                    core.commit_group(&mut group, store);
                }
            }
            core.commit_group(&mut group, store);
            // Parts waiting for other partitions, which are committing their queues too.
            let deadline = Instant::now() + SHUTDOWN_RESOLVE_WAIT;
            while core.unapplied() > 0 && woken.recv_deadline(deadline).is_ok() {
                core.apply_resolved(store);
            }
            break;
        }
        if !fsync_delay.is_zero() {
            let deadline = Instant::now() + fsync_delay;
            while group.len() < group_max_records {
                match writes.recv_deadline(deadline) {
                    Ok(PartitionMessage::Write(batch)) => group.push(batch),
                    Err(_) => break,
                }
            }
        }
        while group.len() < group_max_records {
            match writes.try_recv() {
                Ok(PartitionMessage::Write(batch)) => group.push(batch),
                Err(_) => break,
            }
        }
        if !debug_commit_delay.is_zero() {
            std::thread::sleep(debug_commit_delay);
        }
        core.commit_group(&mut group, store);
    }
    if core.unapplied() > 0 {
        // Durable: replay applies those whose requests completed.
        sluice_base::log_warn!("wal", "partition stopped with parts of unresolved requests"; partition = core.index(), records = core.unapplied());
    }
    sluice_base::log_info!("wal", "partition stopped"; partition = core.index(), segment = core.segment_number());
}

/// How long a partition sleeps between checks while the caches are over their bound.
const CACHE_FULL_POLL: Duration = Duration::from_millis(1);
/// How long a stopping partition waits for the other partitions to resolve the requests it
/// holds parts of (they commit their queues at the same time; this bounds a stuck one).
const SHUTDOWN_RESOLVE_WAIT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_stops_at_unescaped_comma() {
        assert_eq!(measurement_of(b"cpu,host=a"), b"cpu");
        assert_eq!(measurement_of(b"c\\,pu,host=a"), b"c\\,pu");
        assert_eq!(measurement_of(b"cpu"), b"cpu");
        assert_eq!(measurement_of(b"cpu\\"), b"cpu\\");
    }
}
