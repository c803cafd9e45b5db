//! What one WAL partition does with its records, apart from its thread: group commit,
//! applying committed records to the cache in WAL order, and its share of a checkpoint.
//!
//! Owns the partition's [`WalWriter`] and the records that are durable in it but not applied
//! yet (`unapplied`, in WAL order). The thread (`run_partition` in the crate root) and the
//! deterministic simulation (`simulation`) drive the same [`PartitionCore`].
//!
//! Invariants:
//! - Records reach the cache in WAL order: a record waits behind a part whose request is
//!   still pending (its other parts not durable yet), so a replay, which applies in WAL
//!   order, rebuilds what the cache held.
//! - A part is applied only once its request is committed, and dropped if it failed.
//! - At a checkpoint every record durable in the old segments but not applied is written
//!   again at the start of the new segment (so the segments the snapshot then deletes hold
//!   only records that are in the frozen cache), together with a committed note naming the
//!   requests that replay could otherwise not know to be complete: those in that carried
//!   tail that are committed, and those applied while the checkpoint was rotating the
//!   partitions (a sibling part may sit in a partition that rotated before it was durable).
//!   The freeze happens only once that is durable; otherwise nothing is frozen and no
//!   segment of this partition is deleted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use sluice_model::record::{encode_committed_notes, PartTag};
use sluice_storage::engine::Store;
use sluice_storage::wal::WalWriter;

use crate::request::{Batch, Resolution};

/// Bytes a record takes in a segment besides its payload: length, checksum, and a part's
/// tag (an upper bound, for the WAL's room check).
const WAL_RECORD_OVERHEAD_BYTES: usize = 64;

/// Where committed records go: the caches of the partition (the store; a model in the
/// simulation).
pub trait CacheSink {
    /// Applies one durable write record to the caches of `partition`.
    fn apply_record(&self, partition: usize, record: &[u8]);
    /// Moves the live caches of `partition` to the frozen list.
    fn freeze_partition(&self, partition: usize);
}

impl CacheSink for Store {
    fn apply_record(&self, partition: usize, record: &[u8]) {
        Store::apply_record(self, partition, record);
    }

    fn freeze_partition(&self, partition: usize) {
        Store::freeze_partition(self, partition);
    }
}

/// Who hears of each write record once it is applied, that is durable and its request
/// committed (the root crate's subscriber, which copies the writes named by subscriptions).
/// Called on the partition thread between applying a record and answering its request: it
/// must not block or do more than a bounded, non-blocking hand-off. Replay does not call it.
pub trait CommittedWrites: Send + Sync + std::fmt::Debug {
    /// `record` (a write record, without a part's tag) was applied.
    fn committed(&self, record: &[u8]);
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
    /// durable parts dropped because another part of their request failed
    pub dropped_parts: AtomicU64,
    /// durable bytes of the WAL segment being written (set after each commit)
    pub segment_bytes: AtomicU64,
    /// the WAL cannot be written: the last commit failed, or the partition has no segment
    /// (a full disk at start-up); cleared by the next commit that succeeds. The server is
    /// then read-only in effect, and says so (`Ingest::wal_failing`, `/ping`).
    pub wal_failing: AtomicBool,
}

/// One partition's WAL writer and the records durable in it but not yet applied.
pub struct PartitionCore {
    index: usize,
    writer: WalWriter,
    unapplied: VecDeque<Batch>,
    /// requests of several parts applied here while `rotating` was set (see the module doc)
    applied_while_rotating: Vec<u64>,
    /// set by the checkpoint from before it asks the first partition to rotate until the
    /// last one has
    rotating: Arc<AtomicBool>,
    stats: Arc<PartitionStats>,
    /// told of every applied record (`None`: nobody listens)
    committed_writes: Option<Arc<dyn CommittedWrites>>,
}

impl PartitionCore {
    /// A partition writing through `writer`.
    pub fn new(
        index: usize,
        writer: WalWriter,
        rotating: Arc<AtomicBool>,
        stats: Arc<PartitionStats>,
    ) -> PartitionCore {
        stats
            .wal_failing
            .store(!writer.has_segment(), Ordering::Relaxed);
        PartitionCore {
            index,
            writer,
            unapplied: VecDeque::new(),
            applied_while_rotating: Vec::new(),
            rotating,
            stats,
            committed_writes: None,
        }
    }

    /// The same partition, telling `committed_writes` of every record it applies.
    pub fn with_committed_writes(
        mut self,
        committed_writes: Option<Arc<dyn CommittedWrites>>,
    ) -> PartitionCore {
        self.committed_writes = committed_writes;
        self
    }

    /// The partition's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Number of the segment being written.
    pub fn segment_number(&self) -> u64 {
        self.writer.segment_number()
    }

    /// Records durable here whose request is still pending (or behind one).
    pub fn unapplied(&self) -> usize {
        self.unapplied.len()
    }

    /// Writes and fsyncs `group` (emptied), then applies what is committed.
    pub fn commit_group(&mut self, group: &mut Vec<Batch>, cache: &dyn CacheSink) {
        if group.is_empty() {
            return;
        }
        let incoming: u64 = group
            .iter()
            .map(|batch| (batch.payload.len() + WAL_RECORD_OVERHEAD_BYTES) as u64)
            .sum();
        let result = match self.writer.check_room(incoming) {
            Ok(()) => {
                for batch in group.iter() {
                    append(&mut self.writer, batch.tag(), &batch.payload);
                }
                self.writer.commit()
            }
            Err(full) => Err(std::io::Error::other(full)),
        };
        self.stats
            .segment_bytes
            .store(self.writer.segment_bytes(), Ordering::Relaxed);
        let durable = result.is_ok();
        self.stats.wal_failing.store(!durable, Ordering::Relaxed);
        if let Err(error) = result {
            sluice_base::log_error!("wal", "WAL write failed; writes answered 500"; partition = self.index, error = error);
            self.stats
                .failed_batches
                .fetch_add(group.len() as u64, Ordering::Relaxed);
        } else {
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
            self.stats
                .batches
                .fetch_add(group.len() as u64, Ordering::Relaxed);
            let points: u64 = group.iter().map(|b| u64::from(b.point_count)).sum();
            self.stats.points.fetch_add(points, Ordering::Relaxed);
        }
        for mut batch in group.drain(..) {
            batch.report(durable, self.index);
            if durable {
                self.unapplied.push_back(batch);
            } else {
                // Cut back off the WAL: not in it, so it holds up nothing.
                batch.finish();
            }
        }
        self.apply_resolved(cache);
    }

    /// Applies (or drops) the records at the front whose requests are resolved, in WAL
    /// order, up to the first one still pending.
    pub fn apply_resolved(&mut self, cache: &dyn CacheSink) {
        while let Some(front) = self.unapplied.front() {
            match front.resolution() {
                Resolution::Pending => break,
                Resolution::Committed => {
                    cache.apply_record(self.index, &front.payload);
                    if let Some(listener) = &self.committed_writes {
                        listener.committed(&front.payload);
                    }
                    if let Some(tag) = front.tag() {
                        if self.rotating.load(Ordering::SeqCst) {
                            self.applied_while_rotating.push(tag.request_id);
                        }
                    }
                }
                Resolution::Failed => {
                    // Its WAL copy is a part of an incomplete request: replay drops it too.
                    self.stats.dropped_parts.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Some(batch) = self.unapplied.pop_front() {
                batch.finish();
            }
        }
    }

    /// This partition's share of a checkpoint: a new segment that starts with what the old
    /// ones hold but the cache does not, then the freeze. Returns the first segment the
    /// frozen caches do not cover, or 0 when nothing was frozen.
    pub fn checkpoint(&mut self, cache: &dyn CacheSink) -> u64 {
        self.apply_resolved(cache);
        let started = self.writer.start_new_segment();
        self.stats
            .wal_failing
            .store(started.is_err(), Ordering::Relaxed);
        if let Err(error) = started {
            // Nothing frozen: the checkpoint deletes no segment of this partition.
            sluice_base::log_error!("wal", "cannot start a WAL segment for a snapshot"; partition = self.index, error = error);
            return 0;
        }
        // Read now: committing the carried records may fill this segment and start another,
        // and this one, which holds them, must be kept.
        let first_kept = self.writer.segment_number();
        let mut committed: Vec<u64> = self.applied_while_rotating.clone();
        committed.extend(
            self.unapplied
                .iter()
                .filter(|batch| batch.resolution() == Resolution::Committed)
                .filter_map(|batch| batch.tag().map(|tag| tag.request_id)),
        );
        committed.sort_unstable();
        committed.dedup();
        for note in encode_committed_notes(&committed) {
            self.writer.append(&note);
        }
        for batch in &self.unapplied {
            append(&mut self.writer, batch.tag(), &batch.payload);
        }
        if let Err(error) = self.writer.commit() {
            sluice_base::log_error!("wal", "cannot carry unapplied records into a new WAL segment; nothing frozen"; partition = self.index, error = error);
            return 0;
        }
        self.stats
            .segment_bytes
            .store(self.writer.segment_bytes(), Ordering::Relaxed);
        self.applied_while_rotating.clear();
        cache.freeze_partition(self.index);
        first_kept
    }
}

/// What a checkpoint may delete, given each partition's answer (`None`: it did not answer;
/// 0: it froze nothing): the first segment kept in each partition, or nothing at all when
/// one partition failed. A partition that froze nothing still holds, in its live cache and
/// old segments, parts of requests whose other parts the frozen partitions put in files;
/// deleting those partitions' segments would leave replay a request it cannot tell was
/// committed, and it would drop that partition's parts.
pub fn segments_to_delete(first_kept: &[Option<u64>]) -> Option<Vec<u64>> {
    first_kept
        .iter()
        .map(|first| first.filter(|number| *number > 0))
        .collect()
}

fn append(writer: &mut WalWriter, tag: Option<PartTag>, payload: &[u8]) {
    match tag {
        Some(tag) => writer.append_prefixed(&tag.prefix(), payload),
        None => writer.append(payload),
    }
}
