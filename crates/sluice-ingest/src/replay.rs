//! Replay of every WAL partition with requests all-or-nothing: which records go back into
//! the caches after a restart or a crash.
//!
//! Two passes over the WAL directory. The first (the one that repairs torn tails) reads only
//! the kinds and tags of the records: for every request of several parts, the part indices
//! found and whether a committed note names it. The second hands on, partition by partition
//! in WAL order, every write record that stands alone and every part of a request that is
//! known committed: all of its parts are in the WAL, or a note names it. Parts of any other
//! request are dropped: that request never completed (its parts cannot all have been
//! durable, or it failed), and none of it was ever applied or acknowledged.
//!
//! Why a note is enough when parts are missing: a checkpoint deletes a segment only after
//! everything applied from it is in a column file, and the partition that rotated writes the
//! notes its deleted segments would otherwise take with them (`partition` has the rule).
//! Parts that are both in a file and replayed are harmless: a file and a cache holding the
//! same value give it once.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;

use sluice_model::record::{classify_entry, committed_ids, WalEntry};
use sluice_storage::wal::{self, ReplayMode};

/// What the replay found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AtomicReplayStats {
    /// what the first pass (the WAL reader) found
    pub wal: wal::ReplayStats,
    /// write records handed on (alone or parts of committed requests)
    pub records: usize,
    /// parts of requests that never completed, dropped
    pub dropped_parts: usize,
    /// records that are no kind of WAL record (garbage a resync took for one), skipped
    pub unknown_records: usize,
    /// the highest request id in the WAL (0 when none): new requests must use higher ones
    pub max_request_id: u64,
}

/// The parts found of one request.
#[derive(Default)]
struct PartsFound {
    part_count: u32,
    /// the parts disagree on how many parts there are (damage): never complete
    inconsistent: bool,
    indices: HashSet<u32>,
}

/// Every request of several parts in the WAL, and whether it is known committed.
#[derive(Default)]
struct CommitIndex {
    requests: HashMap<u64, PartsFound>,
    noted: HashSet<u64>,
    max_request_id: u64,
}

impl CommitIndex {
    fn learn(&mut self, payload: &[u8]) {
        match classify_entry(payload) {
            Some(WalEntry::Part(tag, _)) => {
                self.max_request_id = self.max_request_id.max(tag.request_id);
                let found = self.requests.entry(tag.request_id).or_default();
                if found.indices.is_empty() {
                    found.part_count = tag.part_count;
                } else if found.part_count != tag.part_count {
                    found.inconsistent = true;
                }
                found.indices.insert(tag.part_index);
            }
            Some(WalEntry::Committed(ids)) => {
                for id in committed_ids(ids) {
                    self.max_request_id = self.max_request_id.max(id);
                    self.noted.insert(id);
                }
            }
            Some(WalEntry::Write(_)) | None => {}
        }
    }

    fn committed(&self, request_id: u64) -> bool {
        self.noted.contains(&request_id)
            || self.requests.get(&request_id).is_some_and(|found| {
                !found.inconsistent && found.indices.len() == found.part_count as usize
            })
    }
}

/// Replays the partitions `(index, directory)` (in the given order): hands every write
/// record that belongs in the caches to `visit(partition, record)`. `mode` says whether torn
/// tails are cut (server start) or the files left alone (export).
pub fn replay_partitions(
    partitions: &[(usize, PathBuf)],
    mode: ReplayMode,
    mut visit: impl FnMut(usize, &[u8]),
) -> io::Result<AtomicReplayStats> {
    let mut index = CommitIndex::default();
    let mut stats = AtomicReplayStats::default();
    for (_, directory) in partitions {
        let found = wal::replay(directory, mode, |payload| index.learn(payload))?;
        add(&mut stats.wal, &found);
    }
    stats.max_request_id = index.max_request_id;
    for (partition, directory) in partitions {
        wal::reread(directory, |payload| match classify_entry(payload) {
            Some(WalEntry::Write(record)) => {
                stats.records += 1;
                visit(*partition, record);
            }
            Some(WalEntry::Part(tag, record)) => {
                if index.committed(tag.request_id) {
                    stats.records += 1;
                    visit(*partition, record);
                } else {
                    stats.dropped_parts += 1;
                }
            }
            Some(WalEntry::Committed(_)) => {}
            None => stats.unknown_records += 1,
        })?;
    }
    if stats.dropped_parts > 0 {
        sluice_base::log_info!("wal", "dropped the parts of requests that never completed (none was acknowledged)";
            parts = stats.dropped_parts);
    }
    Ok(stats)
}

fn add(total: &mut wal::ReplayStats, stats: &wal::ReplayStats) {
    total.segments += stats.segments;
    total.records += stats.records;
    total.truncated_segments += stats.truncated_segments;
    total.truncated_bytes += stats.truncated_bytes;
    total.corrupt_stretches += stats.corrupt_stretches;
    total.corrupt_bytes += stats.corrupt_bytes;
}
