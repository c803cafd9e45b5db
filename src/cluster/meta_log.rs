//! The durable Raft log of the meta group: entries, hard state and node identity under
//! `<[meta] dir>/raft/`, and the [`raft::Storage`] the `sluice-meta-raft` thread's RawNode
//! reads.
//!
//! Owned by the `sluice-meta-raft` thread alone (the RawNode owns the value). The snapshot
//! is not a file of its own: `meta.db` is the applied state at `applied_index`, which is
//! exactly what a Raft snapshot says, so [`MetaLog::snapshot`] is built from the meta
//! store's current state and the log keeps only entries after it.
//!
//! Files (little-endian):
//! ```text
//! raft/log        record*    record: len u32 | crc32(payload) u32 | payload
//!                            payload: one eraftpb::Entry (protobuf); a record at index i
//!                            replaces every entry from i on (Raft's append), so replaying
//!                            the file in order rebuilds the log
//! raft/hardstate  magic "SLUICEHS" | term u64 | vote u64 | commit u64 | crc32 u32
//! raft/identity   magic "SLUICEID" | node_id u64 | cluster_id u64 | crc32 u32
//! ```
//! Invariants: every entry in memory is in `raft/log` and fsynced before the RawNode is told
//! it is persisted (before any message that depends on it is sent); the hard state file is
//! replaced (fsync, rename, directory fsync) whenever term or vote changes (the commit
//! index alone is not worth a sync: a restart learns it again, and `meta.db`'s applied
//! index bounds it from below). Entries at or below the last compaction point are gone;
//! compaction never passes what `meta.db` holds ([`MetaLog::compact_to`]'s caller checks).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::fsio::{FileSystem, WritableFile};
use crate::meta::MetaStore;

const LOG_FILE: &str = "log";
const HARD_STATE_FILE: &str = "hardstate";
const IDENTITY_FILE: &str = "identity";
const HARD_STATE_MAGIC: &[u8; 8] = b"SLUICEHS";
const IDENTITY_MAGIC: &[u8; 8] = b"SLUICEID";
/// Largest log record read back (a meta command is small; a bigger length is damage).
pub const META_LOG_RECORD_BYTES_MAX: usize = 16 << 20;

/// Who this node is in its cluster (kept across restarts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    /// the node's id, assigned through the log (1 for the node that created the cluster)
    pub node_id: u64,
    /// the cluster it belongs to
    pub cluster_id: u64,
}

/// The raft directory under `[meta] dir`.
pub fn raft_dir(meta_dir: &Path) -> PathBuf {
    meta_dir.join("raft")
}

/// Reads the identity file; `None` when the node never joined or created a cluster.
pub fn read_identity(dir: &Path) -> Result<Option<NodeIdentity>, String> {
    let path = dir.join(IDENTITY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let fields = checked_fields(&bytes, IDENTITY_MAGIC, 2)
        .ok_or_else(|| format!("{}: damaged identity file", path.display()))?;
    Ok(Some(NodeIdentity {
        node_id: fields[0],
        cluster_id: fields[1],
    }))
}

/// Writes the identity file (atomically, synced).
pub fn write_identity(
    file_system: &dyn FileSystem,
    dir: &Path,
    identity: NodeIdentity,
) -> Result<(), String> {
    let bytes = checked_bytes(IDENTITY_MAGIC, &[identity.node_id, identity.cluster_id]);
    crate::fsio::write_file_atomically(file_system, dir, IDENTITY_FILE, &bytes)
        .map_err(|e| format!("{}: {e}", dir.join(IDENTITY_FILE).display()))
}

fn checked_bytes(magic: &[u8; 8], fields: &[u64]) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    for field in fields {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

fn checked_fields(bytes: &[u8], magic: &[u8; 8], count: usize) -> Option<Vec<u64>> {
    let body_len = 8 + 8 * count;
    if bytes.len() != body_len + 4 || &bytes[..8] != magic {
        return None;
    }
    let crc = u32::from_le_bytes(bytes[body_len..].try_into().ok()?);
    if crc32fast::hash(&bytes[..body_len]) != crc {
        return None;
    }
    Some(
        bytes[8..body_len]
            .chunks_exact(8)
            .map(|chunk| {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                u64::from_le_bytes(word)
            })
            .collect(),
    )
}

/// The meta group's log and hard state, in memory and on disk.
pub struct MetaLog {
    dir: PathBuf,
    file_system: Arc<dyn FileSystem>,
    meta: Arc<MetaStore>,
    /// the open `raft/log`, appended to
    log_file: Box<dyn WritableFile>,
    /// entries after `snapshot_index`, consecutive
    entries: Vec<Entry>,
    /// the compaction point: entries up to it are gone
    snapshot_index: u64,
    /// term of the entry at `snapshot_index`
    snapshot_term: u64,
    hard_state: HardState,
    conf_state: ConfState,
}

impl MetaLog {
    /// Opens the log in `dir` over the state `meta` holds (its applied index is the
    /// compaction point: older records are dropped while reading).
    pub fn open(
        dir: &Path,
        file_system: Arc<dyn FileSystem>,
        meta: Arc<MetaStore>,
    ) -> Result<MetaLog, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let state = meta.snapshot();
        let snapshot_index = state.raft.applied_index;
        let snapshot_term = state.raft.applied_term;
        let conf_state = ConfState {
            voters: state.raft.voters.clone(),
            learners: state.raft.learners.clone(),
            ..ConfState::default()
        };
        let (entries, good_length) = read_log(&dir.join(LOG_FILE), snapshot_index)?;
        let mut log_file = file_system
            .open_append(&dir.join(LOG_FILE))
            .map_err(|e| format!("{}: {e}", dir.join(LOG_FILE).display()))?;
        if let Some(length) = good_length {
            crate::log_warn!("meta", "raft log: cutting off a torn tail"; length = length);
            log_file
                .truncate_and_sync(length)
                .map_err(|e| format!("raft log: {e}"))?;
        }
        let mut hard_state = read_hard_state(&dir.join(HARD_STATE_FILE))?;
        // The applied entries were committed; the file's commit index may lag (it is
        // written only with term and vote).
        hard_state.commit = hard_state
            .commit
            .max(snapshot_index)
            .min(entries.last().map_or(snapshot_index, |e| e.index));
        hard_state.term = hard_state.term.max(snapshot_term);
        Ok(MetaLog {
            dir: dir.to_path_buf(),
            file_system,
            meta,
            log_file,
            entries,
            snapshot_index,
            snapshot_term,
            hard_state,
            conf_state,
        })
    }

    /// Entries held (after the compaction point).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The compaction point.
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    /// Appends `entries` (Raft's append: a conflicting suffix goes) and fsyncs them.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), String> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if first.index <= self.snapshot_index {
            panic!(
                "BUG: raft appends entry {} at or below the compaction point {}",
                first.index, self.snapshot_index
            );
        }
        let mut bytes = Vec::new();
        for entry in entries {
            put_record(&mut bytes, entry)?;
        }
        self.log_file
            .write_all(&bytes)
            .and_then(|()| self.log_file.sync_data())
            .map_err(|e| format!("raft log: {e}"))?;
        let keep = (first.index - self.snapshot_index - 1) as usize;
        self.entries.truncate(keep);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    /// Records a new hard state; replaces the file when term or vote changed.
    pub fn set_hard_state(&mut self, hard_state: &HardState) -> Result<(), String> {
        let durable_change =
            hard_state.term != self.hard_state.term || hard_state.vote != self.hard_state.vote;
        self.hard_state = hard_state.clone();
        if durable_change {
            self.write_hard_state()?;
        }
        Ok(())
    }

    /// Moves the commit index (memory only; see the module doc).
    pub fn set_commit(&mut self, commit: u64) {
        self.hard_state.commit = commit;
    }

    /// Records the membership the applied conf changes produced.
    pub fn set_conf_state(&mut self, conf_state: ConfState) {
        self.conf_state = conf_state;
    }

    fn write_hard_state(&self) -> Result<(), String> {
        let hs = &self.hard_state;
        let bytes = checked_bytes(HARD_STATE_MAGIC, &[hs.term, hs.vote, hs.commit]);
        crate::fsio::write_file_atomically(
            self.file_system.as_ref(),
            &self.dir,
            HARD_STATE_FILE,
            &bytes,
        )
        .map_err(|e| format!("raft hard state: {e}"))
    }

    /// Takes a snapshot from the leader: the log restarts after it (the caller has
    /// installed its state in the meta store).
    pub fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), String> {
        let metadata = snapshot.get_metadata();
        self.snapshot_index = metadata.index;
        self.snapshot_term = metadata.term;
        self.entries.clear();
        self.conf_state = metadata.get_conf_state().clone();
        self.hard_state.commit = self.hard_state.commit.max(metadata.index);
        self.hard_state.term = self.hard_state.term.max(metadata.term);
        self.rewrite_log_file()?;
        self.write_hard_state()
    }

    /// Drops the entries up to `index` (at most the index `meta.db` holds) and rewrites
    /// the log file with the rest.
    pub fn compact_to(&mut self, index: u64) -> Result<(), String> {
        if index <= self.snapshot_index {
            return Ok(());
        }
        let last = self.entries.last().map_or(self.snapshot_index, |e| e.index);
        let index = index.min(last);
        let drop = (index - self.snapshot_index) as usize;
        self.snapshot_term = self.entries[drop - 1].term;
        self.entries.drain(..drop);
        self.snapshot_index = index;
        self.rewrite_log_file()
    }

    fn rewrite_log_file(&mut self) -> Result<(), String> {
        let mut bytes = Vec::new();
        for entry in &self.entries {
            put_record(&mut bytes, entry)?;
        }
        crate::fsio::write_file_atomically(self.file_system.as_ref(), &self.dir, LOG_FILE, &bytes)
            .map_err(|e| format!("raft log: {e}"))?;
        self.log_file = self
            .file_system
            .open_append(&self.dir.join(LOG_FILE))
            .map_err(|e| format!("raft log: {e}"))?;
        Ok(())
    }

    fn first_index_value(&self) -> u64 {
        self.snapshot_index + 1
    }

    fn last_index_value(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_index, |e| e.index)
    }
}

fn put_record(out: &mut Vec<u8>, entry: &Entry) -> Result<(), String> {
    let payload = entry
        .write_to_bytes()
        .map_err(|e| format!("raft entry encoding: {e}"))?;
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(())
}

/// The entries after `after` in the log file, and the length to cut it to when its tail
/// is torn (`None`: whole).
fn read_log(path: &Path, after: u64) -> Result<(Vec<Entry>, Option<u64>), String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let Some(entry) = read_record(&bytes[offset..]) else {
            return Ok((entries, Some(offset as u64)));
        };
        offset += 8 + entry.1;
        let entry = entry.0;
        if entry.index <= after {
            continue;
        }
        let last = entries.last().map_or(after, |e| e.index);
        if entry.index > last + 1 {
            return Err(format!(
                "{}: raft log has a gap before entry {} (last {last})",
                path.display(),
                entry.index
            ));
        }
        entries.truncate((entry.index - after - 1) as usize);
        entries.push(entry);
    }
    Ok((entries, None))
}

/// One record at the start of `bytes`: the entry and its payload length.
fn read_record(bytes: &[u8]) -> Option<(Entry, usize)> {
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    if length > META_LOG_RECORD_BYTES_MAX {
        return None;
    }
    let payload = bytes.get(8..8 + length)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    Some((Entry::parse_from_bytes(payload).ok()?, length))
}

fn read_hard_state(path: &Path) -> Result<HardState, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HardState::default()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let fields = checked_fields(&bytes, HARD_STATE_MAGIC, 3)
        .ok_or_else(|| format!("{}: damaged raft hard state", path.display()))?;
    Ok(HardState {
        term: fields[0],
        vote: fields[1],
        commit: fields[2],
        ..HardState::default()
    })
}

impl raft::Storage for MetaLog {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index_value() + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let offset = self.first_index_value();
        let mut entries = self.entries[(low - offset) as usize..(high - offset) as usize].to_vec();
        if let Some(max_size) = max_size.into() {
            let mut size = 0u64;
            let keep = entries
                .iter()
                .take_while(|entry| {
                    size += u64::from(entry.compute_size());
                    size <= max_size
                })
                .count()
                .max(1);
            entries.truncate(keep);
        }
        Ok(entries)
    }

    fn term(&self, index: u64) -> raft::Result<u64> {
        if index == self.snapshot_index {
            return Ok(self.snapshot_term);
        }
        if index < self.snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if index > self.last_index_value() {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(self.entries[(index - self.first_index_value()) as usize].term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first_index_value())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index_value())
    }

    /// The applied state as the meta store holds it now (see the module doc).
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let state = self.meta.snapshot();
        if state.raft.applied_index < request_index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        let mut snapshot = Snapshot {
            data: crate::meta::encode_state(&state).into(),
            ..Snapshot::default()
        };
        let metadata = snapshot.mut_metadata();
        metadata.index = state.raft.applied_index;
        metadata.term = state.raft.applied_term;
        metadata.mut_conf_state().voters = state.raft.voters.clone();
        metadata.mut_conf_state().learners = state.raft.learners.clone();
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage as _;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: vec![index as u8; 3].into(),
            ..Entry::default()
        }
    }

    fn open(dir: &Path) -> MetaLog {
        let meta = Arc::new(MetaStore::open(&dir.join("meta")).unwrap());
        MetaLog::open(&dir.join("raft"), Arc::new(crate::fsio::OsFileSystem), meta).unwrap()
    }

    #[test]
    fn entries_and_hard_state_survive_reopening_and_compaction() {
        let dir = std::env::temp_dir().join(format!("sluice-meta-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut log = open(&dir);
        log.append(&(1..=6).map(|i| entry(i, 1)).collect::<Vec<_>>())
            .unwrap();
        // A new leader's entries replace a conflicting suffix.
        log.append(&[entry(5, 2), entry(6, 2), entry(7, 2)])
            .unwrap();
        let hard_state = HardState {
            term: 2,
            vote: 3,
            commit: 4,
            ..HardState::default()
        };
        log.set_hard_state(&hard_state).unwrap();
        drop(log);

        // A torn record at the end is cut off; the entries before it stay.
        let path = dir.join("raft").join(LOG_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let whole = bytes.len();
        bytes.extend_from_slice(&[9, 0, 0, 0, 1, 2]);
        std::fs::write(&path, &bytes).unwrap();

        let mut log = open(&dir);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole as u64);
        assert_eq!(log.last_index().unwrap(), 7);
        assert_eq!(log.term(4).unwrap(), 1);
        assert_eq!(log.term(5).unwrap(), 2);
        let state = log.initial_state().unwrap();
        assert_eq!(
            (
                state.hard_state.term,
                state.hard_state.vote,
                state.hard_state.commit
            ),
            (2, 3, 4)
        );
        log.compact_to(4).unwrap();
        assert_eq!(log.first_index().unwrap(), 5);
        assert_eq!(log.term(4).unwrap(), 1);
        assert!(log
            .entries(3, 5, None, GetEntriesContext::empty(false))
            .is_err());
        let kept = log
            .entries(5, 8, None, GetEntriesContext::empty(false))
            .unwrap();
        assert_eq!(
            kept.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![5, 6, 7]
        );
        assert!(std::fs::metadata(&path).unwrap().len() < whole as u64);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
