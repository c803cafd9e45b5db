//! A write request on its way through the WAL partitions: its batches (one WAL record each),
//! the ticket they share, and when the request counts as committed.
//!
//! A request is all-or-nothing. A request of one record needs nothing more: its record's
//! checksum makes it whole or absent in the WAL. A request of several records (several
//! partitions, or past `INGEST_BATCH_MAX_BYTES` in one) tags each record as a part
//! ([`PartTag`]: request id, part index, part count), and its ticket counts the parts:
//!
//! ```text
//! part durable or failed in its partition ──▶ WriteTicket::report   (unreported -= 1)
//!     the last report resolves the request: Committed (every part durable) or Failed;
//!     the partitions holding its other parts are woken (PartitionWaker)
//! each partition applies its part to the cache (Committed) or drops it (Failed), in WAL
//!     order ──▶ WriteTicket::finish_part (unfinished -= 1)
//!     the last one tells the AckSink: durable (204) or not (500)
//! ```
//!
//! Invariants:
//! - No part of a request reaches a cache before every part of it is durable, so a request
//!   answered 500 leaves nothing visible, and one answered 204 is visible whole.
//! - The ticket tells its sink exactly once, after every part is finished.
//! - A batch dropped before it was committed (an event loop giving up on a full queue, a
//!   writer that times out) reports its part failed, so the request resolves, as Failed,
//!   and no partition waits for it forever.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use sluice_model::record::PartTag;

/// Told when a write request is complete.
pub trait AckSink: Send + Sync {
    /// Every batch of the request `(connection, sequence)` is durable and applied
    /// (`durable == true`), or the request failed and nothing of it is applied.
    fn write_complete(&self, connection: usize, sequence: u64, durable: bool);
}

/// Wakes a partition thread that holds a part whose request just resolved.
pub trait PartitionWaker: Send + Sync {
    /// Partition `partition` should apply or drop its resolved parts (never blocks).
    fn wake(&self, partition: usize);
}

/// What is known of a request's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// some part has not reported yet
    Pending,
    /// every part is durable: apply them all
    Committed,
    /// some part failed (or was never queued): apply none
    Failed,
}

/// Completion bookkeeping of one write request, shared by its batches.
pub struct WriteTicket {
    /// parts whose commit has not reported yet
    unreported: AtomicUsize,
    /// parts not yet applied or dropped
    unfinished: AtomicUsize,
    failed: AtomicBool,
    /// the writer answered already (a timeout): the sink is not told
    answered: AtomicBool,
    /// partitions holding a part, each once (woken when the request resolves)
    partitions: Vec<usize>,
    waker: Option<Arc<dyn PartitionWaker>>,
    sink: Arc<dyn AckSink>,
    connection: usize,
    sequence: u64,
}

impl WriteTicket {
    /// Where the request stands.
    pub fn resolution(&self) -> Resolution {
        if self.unreported.load(Ordering::Acquire) > 0 {
            Resolution::Pending
        } else if self.failed.load(Ordering::Acquire) {
            Resolution::Failed
        } else {
            Resolution::Committed
        }
    }

    /// One part is durable (or failed). The last report resolves the request and wakes the
    /// other partitions holding parts (`reporter` is awake already).
    fn report(&self, durable: bool, reporter: Option<usize>) {
        if !durable {
            self.failed.store(true, Ordering::Release);
        }
        if self.unreported.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(waker) = &self.waker {
                for &partition in &self.partitions {
                    if Some(partition) != reporter {
                        waker.wake(partition);
                    }
                }
            }
        }
    }

    /// One part is applied or dropped; the last one tells the sink.
    fn finish_part(&self) {
        if self.unfinished.fetch_sub(1, Ordering::AcqRel) == 1
            && !self.answered.load(Ordering::Acquire)
        {
            let durable = self.resolution() == Resolution::Committed;
            self.sink
                .write_complete(self.connection, self.sequence, durable);
        }
    }
}

/// How far a batch got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// not yet committed by its partition
    Queued,
    /// its commit reported (durable or failed)
    Reported,
    /// applied or dropped
    Finished,
}

/// One WAL record of a request, with the ticket of the request it belongs to. Made by
/// [`batches`]; a batch dropped before its partition committed it fails its request.
pub struct Batch {
    /// one write record (see `record`), without a part's tag
    pub payload: Vec<u8>,
    /// points in the record
    pub point_count: u32,
    /// the partition that owns every series in the record
    pub partition: usize,
    /// the part's tag, when the request has several records
    tag: Option<PartTag>,
    ticket: Arc<WriteTicket>,
    stage: Stage,
}

impl Batch {
    /// The part's tag, when its request has several records.
    pub fn tag(&self) -> Option<PartTag> {
        self.tag
    }

    /// Where its request stands.
    pub fn resolution(&self) -> Resolution {
        self.ticket.resolution()
    }

    /// The writer gave the request its answer already (a 503 after a queue timeout; it
    /// then drops the batches it could not queue, which fails the request): the sink is not
    /// told, so a completion nobody waits for takes no room in a mailbox.
    pub fn abandon_answer(&self) {
        self.ticket.answered.store(true, Ordering::Release);
    }

    /// Its partition's commit of it succeeded (`durable`) or failed.
    pub(crate) fn report(&mut self, durable: bool, partition: usize) {
        if self.stage == Stage::Queued {
            self.stage = Stage::Reported;
            self.ticket.report(durable, Some(partition));
        }
    }

    /// It was applied to the cache, or dropped.
    pub(crate) fn finish(mut self) {
        self.finish_in_place();
    }

    fn finish_in_place(&mut self) {
        if self.stage == Stage::Queued {
            self.stage = Stage::Reported;
            self.ticket.report(false, None);
        }
        if self.stage == Stage::Reported {
            self.stage = Stage::Finished;
            self.ticket.finish_part();
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // Never queued (a timeout), or a partition that stopped: the request cannot commit
        // through this batch, or is resolved already; either way its ticket must finish.
        self.finish_in_place();
    }
}

/// The batches of one request: `records` are (partition, write record, point count).
/// With several records each becomes a part of request `request_id` (unique among the
/// requests whose records can be in the WAL together); `waker` wakes the partitions when
/// the request resolves.
pub fn batches(
    records: Vec<(usize, Vec<u8>, u32)>,
    request_id: u64,
    waker: Option<Arc<dyn PartitionWaker>>,
    sink: Arc<dyn AckSink>,
    connection: usize,
    sequence: u64,
) -> Vec<Batch> {
    let part_count = records.len();
    let mut partitions: Vec<usize> = records.iter().map(|(partition, _, _)| *partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    let ticket = Arc::new(WriteTicket {
        unreported: AtomicUsize::new(part_count),
        unfinished: AtomicUsize::new(part_count),
        failed: AtomicBool::new(false),
        answered: AtomicBool::new(false),
        partitions,
        waker: if part_count > 1 { waker } else { None },
        sink,
        connection,
        sequence,
    });
    let tagged = part_count > 1;
    records
        .into_iter()
        .enumerate()
        .map(|(index, (partition, payload, point_count))| Batch {
            payload,
            point_count,
            partition,
            tag: tagged.then(|| PartTag {
                request_id,
                part_index: u32::try_from(index).unwrap_or(u32::MAX),
                part_count: u32::try_from(part_count).unwrap_or(u32::MAX),
            }),
            ticket: Arc::clone(&ticket),
            stage: Stage::Queued,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        completions: Mutex<Vec<bool>>,
        woken: Mutex<Vec<usize>>,
    }

    impl AckSink for Recorder {
        fn write_complete(&self, _: usize, _: u64, durable: bool) {
            self.completions.lock().unwrap().push(durable);
        }
    }

    impl PartitionWaker for Recorder {
        fn wake(&self, partition: usize) {
            self.woken.lock().unwrap().push(partition);
        }
    }

    fn three_parts(recorder: &Arc<Recorder>) -> Vec<Batch> {
        let records = vec![(0, vec![1], 1), (1, vec![2], 1), (1, vec![3], 1)];
        batches(
            records,
            9,
            Some(Arc::clone(recorder) as _),
            Arc::clone(recorder) as _,
            0,
            0,
        )
    }

    #[test]
    fn committed_once_every_part_is_durable_and_told_after_every_apply() {
        let recorder = Arc::new(Recorder::default());
        let mut parts = three_parts(&recorder);
        assert_eq!(
            parts[2].tag().map(|t| (t.part_index, t.part_count)),
            Some((2, 3))
        );
        parts[0].report(true, 0);
        parts[1].report(true, 1);
        assert_eq!(parts[0].resolution(), Resolution::Pending);
        parts[2].report(true, 1);
        assert_eq!(parts[0].resolution(), Resolution::Committed);
        assert_eq!(*recorder.woken.lock().unwrap(), vec![0]);
        let last = parts.pop().unwrap();
        for part in parts {
            part.finish();
        }
        assert!(recorder.completions.lock().unwrap().is_empty());
        last.finish();
        assert_eq!(*recorder.completions.lock().unwrap(), vec![true]);
    }

    #[test]
    fn a_dropped_part_fails_the_request() {
        let recorder = Arc::new(Recorder::default());
        let mut parts = three_parts(&recorder);
        parts[0].report(true, 0);
        parts[1].report(true, 1);
        drop(parts.pop()); // never queued
        assert_eq!(parts[0].resolution(), Resolution::Failed);
        assert_eq!(*recorder.woken.lock().unwrap(), vec![0, 1]);
        drop(parts);
        assert_eq!(*recorder.completions.lock().unwrap(), vec![false]);
    }

    #[test]
    fn an_abandoned_answer_is_not_told() {
        let recorder = Arc::new(Recorder::default());
        let mut parts = three_parts(&recorder);
        parts[0].report(true, 0);
        parts[2].abandon_answer();
        drop(parts);
        assert!(recorder.completions.lock().unwrap().is_empty());
    }

    #[test]
    fn one_record_is_not_tagged() {
        let recorder = Arc::new(Recorder::default());
        let mut parts = batches(
            vec![(0, vec![1], 1)],
            4,
            None,
            Arc::clone(&recorder) as _,
            0,
            0,
        );
        assert_eq!(parts[0].tag(), None);
        parts[0].report(true, 0);
        assert_eq!(parts[0].resolution(), Resolution::Committed);
        drop(parts);
        assert_eq!(*recorder.completions.lock().unwrap(), vec![true]);
    }
}
