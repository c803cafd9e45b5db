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
//!      └──── AckSink::write_complete (mailbox + mio Waker) ◀── last batch fsynced ◀──┘
//! ```
//!
//! Invariants:
//! - A `WriteTicket` completes exactly once, after every batch of its request was fsynced (or
//!   failed); only then may the event loop answer 204.
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

pub mod maintenance;
pub mod plan;

pub use sluice_model::routing::{partition_for, series_hash};
pub use sluice_model::{field_types, record};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender, TrySendError};

use field_types::FieldTypeRegistry;
use sluice_storage::engine::Store;
use sluice_storage::wal::{self, ReplayMode, WalWriter};

const PARTITIONS_FILE: &str = "PARTITIONS";
/// Control messages a partition can have waiting (one checkpoint and a shutdown at most).
const CONTROL_QUEUE_DEPTH: usize = 4;

/// Told when a write request is complete.
pub trait AckSink: Send + Sync {
    /// Every batch of the request `(connection, sequence)` is durable (`durable == true`) or
    /// at least one failed.
    fn write_complete(&self, connection: usize, sequence: u64, durable: bool);
}

/// Completion bookkeeping of one write request, shared by its batches.
pub struct WriteTicket {
    remaining: AtomicUsize,
    failed: AtomicBool,
    sink: Arc<dyn AckSink>,
    connection: usize,
    sequence: u64,
}

impl WriteTicket {
    /// A ticket that completes after `batch_count` batches finish.
    pub fn new(
        batch_count: usize,
        sink: Arc<dyn AckSink>,
        connection: usize,
        sequence: u64,
    ) -> Arc<WriteTicket> {
        Arc::new(WriteTicket {
            remaining: AtomicUsize::new(batch_count),
            failed: AtomicBool::new(false),
            sink,
            connection,
            sequence,
        })
    }

    fn batch_finished(&self, durable: bool) {
        if !durable {
            self.failed.store(true, Ordering::Release);
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let durable = !self.failed.load(Ordering::Acquire);
            self.sink
                .write_complete(self.connection, self.sequence, durable);
        }
    }
}

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

/// Encoded points for one partition, with the ticket of the request they belong to.
pub struct Batch {
    /// one WAL record (see `record`)
    pub payload: Vec<u8>,
    /// points in the record
    pub point_count: u32,
    /// the partition that owns every series in the record
    pub partition: usize,
    /// completion of the request
    pub ticket: Arc<WriteTicket>,
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

/// Counters of one partition, read by `/debug/vars`.
#[derive(Default)]
pub struct PartitionStats {
    /// batches made durable
    pub batches: AtomicU64,
    /// points made durable
    pub points: AtomicU64,
    /// group commits (one fsync each)
    pub commits: AtomicU64,
    /// batches that failed to be written
    pub failed_batches: AtomicU64,
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
    /// most records one group commit takes before it fsyncs
    pub group_max_records: usize,
    /// fault injection: extra time every commit takes (a slow disk), 0 in production
    pub debug_commit_delay: Duration,
    /// series limits the planner enforces
    pub series_limits: SeriesLimits,
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
    std::fs::create_dir_all(wal_dir)?;
    sluice_base::fsio::write_file_atomically(
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

/// Every WAL record under `wal_dir`, partition by partition, in append order.
pub fn replay_all(
    wal_dir: &Path,
    mode: ReplayMode,
    mut visit: impl FnMut(&[u8]),
) -> std::io::Result<wal::ReplayStats> {
    let mut total = wal::ReplayStats::default();
    let mut partition_dirs: Vec<PathBuf> = match std::fs::read_dir(wal_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with('p') && n[1..].parse::<u32>().is_ok())
            })
            .map(|e| e.path())
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(total),
        Err(error) => return Err(error),
    };
    partition_dirs.sort();
    for dir in partition_dirs {
        let stats = wal::replay(&dir, mode, &mut visit)?;
        total.segments += stats.segments;
        total.records += stats.records;
        total.truncated_segments += stats.truncated_segments;
        total.corrupt_stretches += stats.corrupt_stretches;
        total.corrupt_bytes += stats.corrupt_bytes;
        total.truncated_bytes += stats.truncated_bytes;
    }
    Ok(total)
}

impl Ingest {
    /// Replays the WAL (rebuilding field types), then starts one thread per partition.
    pub fn start(
        options: &IngestOptions,
        store: &Arc<Store>,
    ) -> std::io::Result<(Ingest, ReplaySummary)> {
        let partitions = partition_count(&options.wal_dir, options.partitions.max(1))?;
        let field_types = Arc::clone(store.field_types());
        let mut summary = ReplaySummary {
            partitions,
            ..ReplaySummary::default()
        };
        for index in 0..partitions {
            let directory = partition_dir(&options.wal_dir, index);
            if !directory.is_dir() {
                continue;
            }
            let stats = wal::replay(&directory, ReplayMode::Repair, &mut |payload: &[u8]| {
                let decoded = record::decode_record(payload, |header, point| {
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
                    sluice_base::log_warn!("wal", "skipped an undecodable WAL record"; bytes = payload.len());
                    return;
                }
                store.apply_record(index, payload);
            })?;
            summary.records += stats.records;
            summary.truncated_segments += stats.truncated_segments;
            summary.corrupt_stretches += stats.corrupt_stretches;
        }

        let capacity = options.queue_depth_per_loop.max(1) * options.event_loops.max(1);
        let mut senders = Vec::with_capacity(partitions);
        let mut controls = Vec::with_capacity(partitions);
        let mut threads = Vec::with_capacity(partitions);
        let mut all_stats = Vec::with_capacity(partitions);
        for index in 0..partitions {
            let (sender, receiver) = channel::bounded(capacity);
            let (control_sender, control) = channel::bounded(CONTROL_QUEUE_DEPTH);
            let inbox = PartitionInbox {
                writes: receiver,
                control,
            };
            let writer = WalWriter::open(
                &partition_dir(&options.wal_dir, index),
                options.segment_max_bytes,
            )?;
            let partition_stats = Arc::new(PartitionStats::default());
            let thread_stats = Arc::clone(&partition_stats);
            let thread_store = Arc::clone(store);
            let group = GroupCommit {
                delay: options.fsync_delay,
                max_records: options.group_max_records.max(1),
                debug_commit_delay: options.debug_commit_delay,
            };
            let thread = std::thread::Builder::new()
                .name(format!("sluice-partition-{index}"))
                .spawn(move || {
                    run_partition(index, inbox, writer, group, &thread_stats, &thread_store)
                })?;
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

    /// The partition that owns `series_key`.
    pub fn partition_of(&self, series_key: &[u8]) -> usize {
        partition_for(series_key, self.senders.len())
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
    /// then `sink` is never told, and the records queued before are still written.
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
        let ticket = WriteTicket::new(records.len(), sink, 0, 0);
        let give_up_at = Instant::now() + timeout;
        for (partition, payload, point_count) in records {
            let mut batch = Batch {
                payload,
                point_count,
                partition,
                ticket: Arc::clone(&ticket),
            };
            loop {
                match self.try_send(batch) {
                    Ok(()) => break,
                    Err(_) if Instant::now() >= give_up_at => return Err(QueueTimedOut),
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
        let mut replies = Vec::with_capacity(self.controls.len());
        for control in &self.controls {
            let (reply, answer) = channel::bounded(1);
            let sent = control.send(Control::Checkpoint(reply)).is_ok();
            replies.push(sent.then_some(answer));
        }
        replies
            .into_iter()
            .map(|answer| answer.and_then(|a| a.recv().ok()))
            .collect()
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
}

fn run_partition(
    index: usize,
    inbox: PartitionInbox,
    mut writer: WalWriter,
    group_commit: GroupCommit,
    stats: &PartitionStats,
    store: &Store,
) {
    let GroupCommit {
        delay: fsync_delay,
        max_records: group_max_records,
        debug_commit_delay,
    } = group_commit;
    let PartitionInbox { writes, control } = inbox;
    let mut group: Vec<Batch> = Vec::with_capacity(group_max_records);
    let checkpoint = |writer: &mut WalWriter, reply: Sender<u64>| {
        let next_segment = match writer.start_new_segment() {
            Ok(()) => {
                store.freeze_partition(index);
                writer.segment_number()
            }
            Err(error) => {
                // Nothing frozen: the checkpoint deletes no segment of this partition.
                sluice_base::log_error!("wal", "cannot start a WAL segment for a snapshot"; partition = index, error = error);
                0
            }
        };
        let _ = reply.send(next_segment);
    };
    loop {
        // Back-pressure: while the caches are over their bound, take no writes (the queue
        // fills and the event loops stop reading, then answer 503), but keep serving
        // checkpoints, which are what frees the caches.
        let mut stop = false;
        while store.cache_full() && !stop {
            match control.recv_timeout(CACHE_FULL_POLL) {
                Ok(Control::Checkpoint(reply)) => checkpoint(&mut writer, reply),
                Ok(Control::Shutdown) | Err(RecvTimeoutError::Disconnected) => stop = true,
                Err(RecvTimeoutError::Timeout) => {}
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
                        checkpoint(&mut writer, reply);
                        continue;
                    }
                    Ok(Control::Shutdown) | Err(_) => stop = true,
                },
            }
        }
        if stop {
            // Whatever is queued was accepted by a loop that waits for its answer: commit it.
            while let Ok(PartitionMessage::Write(batch)) = writes.try_recv() {
                group.push(batch);
                if group.len() >= group_max_records {
                    commit_group(index, &mut writer, &mut group, stats, store);
                }
            }
            commit_group(index, &mut writer, &mut group, stats, store);
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
        commit_group(index, &mut writer, &mut group, stats, store);
    }
    sluice_base::log_info!("wal", "partition stopped"; partition = index, segment = writer.segment_number());
}

/// How long a partition sleeps between checks while the caches are over their bound.
const CACHE_FULL_POLL: Duration = Duration::from_millis(1);

fn commit_group(
    index: usize,
    writer: &mut WalWriter,
    group: &mut Vec<Batch>,
    stats: &PartitionStats,
    store: &Store,
) {
    if group.is_empty() {
        return;
    }
    for batch in group.iter() {
        writer.append(&batch.payload);
    }
    let result = writer.commit();
    let durable = result.is_ok();
    if let Err(error) = result {
        sluice_base::log_error!("wal", "WAL write failed; writes answered 500"; partition = index, error = error);
        stats
            .failed_batches
            .fetch_add(group.len() as u64, Ordering::Relaxed);
    } else {
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats
            .batches
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        let points: u64 = group.iter().map(|b| u64::from(b.point_count)).sum();
        stats.points.fetch_add(points, Ordering::Relaxed);
        // Durable: make the points visible to queries before anyone is told.
        for batch in group.iter() {
            store.apply_record(index, &batch.payload);
        }
    }
    for batch in group.drain(..) {
        batch.ticket.batch_finished(durable);
    }
}

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
