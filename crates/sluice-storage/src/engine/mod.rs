//! The storage engine: shards per (database, retention policy, shard group), each an
//! in-memory cache (one per WAL partition) over immutable column files.
//!
//! Owns `<data dir>/<shard id>/` directories and everything in them, and the caches. The meta
//! store owns which shard groups exist; the engine asks it for (and so creates) the group of a
//! point's time when it applies a record.
//!
//! ```text
//!  partition thread N ── after fsync ──▶ Store::apply_record(N, record)
//!        for each point: shard of (db, rp, time) ─▶ shard.caches[N].live.insert_point(...)
//!        (a series new to that cache is also registered in the database's series index)
//!  checkpoint (ingest::maintenance) ── Store::freeze_partition(N) on partition N's thread,
//!        after a WAL rotation: live → frozen; then Store::write_snapshots writes the frozen
//!        maps to level-0 files and syncs the series indexes and field types
//!        (the snapshot thread; woken through `snapshot_wanted` when the live caches reach
//!        the snapshot threshold), and Store::enforce_retention
//!  compaction thread ── Store::compact (concurrently with snapshots: see `Shard`)
//!  queries ── Store::shards_for(db, rp, range) ─▶ Shard::read(series, field, range);
//!        Store::series_index(db); deletes: Store::delete_points / drop_series (catalog.rs)
//! ```
//!
//! Invariants:
//! - A point is applied to a cache only after the WAL record holding it is durable, and before
//!   its write is acknowledged, so a query after a 204 sees it.
//! - Frozen maps hold exactly the records of WAL segments older than the rotation that froze
//!   them; those segments are deleted only after every frozen map is in a synced file.
//! - Reads merge files (oldest first), frozen maps, then the live map; on equal times the
//!   newest wins, so a point replayed into the cache after a crash and also present in a file
//!   is returned once.

pub mod cache;
pub mod catalog;
pub mod delete_intent;
pub mod shard;
pub mod summary;
pub mod tombstone;

#[cfg(test)]
mod model_tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::meta::{MetaData, MetaStore};
use crate::series_index::SeriesIndex;
pub use shard::Shard;
use shard::ShardPlacement;
use sluice_base::fsio::{FileSystem, OsFileSystem};
use sluice_model::field_types::FieldTypeRegistry;
use sluice_model::record::decode_record;

/// Settings of the engine (`[data]` in the config).
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `[data] dir`
    pub data_dir: PathBuf,
    /// number of WAL partitions (one cache per partition per shard)
    pub partitions: usize,
    /// `cache-snapshot-memory-size`: snapshot when the live caches hold this many bytes
    pub cache_snapshot_bytes: usize,
    /// `cache-max-memory-size`: partitions stop taking writes past this (back-pressure)
    pub cache_max_bytes: usize,
    /// opened by `sluice export`: never writes (shard groups missing from meta are held
    /// in memory only)
    pub read_only: bool,
}

/// Gives memory freed by released caches back to the operating system. glibc keeps freed
/// blocks in its arenas; after a snapshot frees tens of megabytes of cache, an idle server
/// would otherwise keep them resident.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs a checkpoint: every cache written to files and the WAL they cover deleted.
pub type Checkpointer = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Nanoseconds since the epoch, as a clock reads them (see [`Store::set_clock`]).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Ids of in-memory shards of read-only stores start here (far above any real shard id).
const EPHEMERAL_SHARD_ID_BASE: u64 = 1 << 62;

/// Counters for `/debug/vars`.
#[derive(Default, Debug)]
pub struct StoreStats {
    /// values applied to caches
    pub values_applied: AtomicU64,
    /// points skipped at apply time (database or policy gone, older than retention)
    pub points_skipped: AtomicU64,
    /// shard groups created
    pub shard_groups_created: AtomicU64,
    /// snapshots written (files)
    pub snapshots: AtomicU64,
    /// compactions done
    pub compactions: AtomicU64,
    /// snapshots or compactions that failed
    pub maintenance_errors: AtomicU64,
    /// shard groups deleted by retention enforcement
    pub shard_groups_expired: AtomicU64,
}

/// The engine.
pub struct Store {
    options: StoreOptions,
    /// where every file of the engine is written (the real disk, or a simulated one)
    pub(crate) file_system: Arc<dyn FileSystem>,
    meta: Arc<MetaStore>,
    shards: RwLock<BTreeMap<u64, Arc<Shard>>>,
    live_cache_bytes: AtomicUsize,
    frozen_cache_bytes: AtomicUsize,
    /// series index per database id, opened on first use
    indexes: RwLock<HashMap<u64, Arc<SeriesIndex>>>,
    /// field types of every database (persisted per database at each checkpoint)
    field_types: Arc<FieldTypeRegistry>,
    /// `field_types.version()` when the registry was last persisted
    field_types_persisted: AtomicU64,
    /// runs a checkpoint (WAL rotation, snapshot, WAL truncation); set by the server once
    /// the partitions run, used before deletes
    checkpointer: RwLock<Option<Checkpointer>>,
    /// the clock that decides which points are older than their retention policy when
    /// records are applied; unset (the system clock) but in the engine simulation, whose
    /// retention enforcement runs on simulated time: replay must judge by the same clock,
    /// else it would bring the points of an expired shard group back
    clock: std::sync::OnceLock<Clock>,
    /// one checkpoint at a time
    checkpoint_lock: std::sync::Mutex<()>,
    /// delete intents (`delete_intent`) whose tombstones are not all in their files yet,
    /// and the next intent's number
    delete_intents: std::sync::Mutex<PendingIntents>,
    /// a token posted when the live caches reach the snapshot threshold, so the snapshot
    /// thread starts at once instead of at its next check (capacity 1: one pending token
    /// says it all)
    snapshot_wanted: (
        crossbeam::channel::Sender<()>,
        crossbeam::channel::Receiver<()>,
    ),
    /// counters
    pub stats: StoreStats,
}

/// Delete intents left to settle.
#[derive(Default)]
struct PendingIntents {
    /// the number the next intent file takes
    next_sequence: u64,
    /// intents kept because a shard's tombstone file could not be written
    pending: Vec<delete_intent::IntentFile>,
}

/// A read guard under the panic policy ([`sluice_base::locks`]).
pub(crate) fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    sluice_base::locks::read(lock)
}

/// A write guard under the panic policy ([`sluice_base::locks`]).
pub(crate) fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    sluice_base::locks::write(lock)
}

/// Where the shard with `shard_id` keeps its files.
pub fn shard_directory(data_dir: &Path, shard_id: u64) -> PathBuf {
    data_dir.join(format!("{shard_id}"))
}

impl Store {
    /// Opens a store that never writes (`options.read_only` is forced), for `sluice export`.
    pub fn open_read_only(
        mut options: StoreOptions,
        meta: Arc<MetaStore>,
    ) -> std::io::Result<Arc<Store>> {
        options.read_only = true;
        Store::open(options, meta)
    }

    /// Opens the engine over `options.data_dir`, with a shard for every shard group in meta.
    pub fn open(options: StoreOptions, meta: Arc<MetaStore>) -> std::io::Result<Arc<Store>> {
        Store::open_with(options, meta, Arc::new(OsFileSystem))
    }

    /// [`Store::open`] writing through `file_system` (the fault simulations' disk).
    pub fn open_with(
        options: StoreOptions,
        meta: Arc<MetaStore>,
        file_system: Arc<dyn FileSystem>,
    ) -> std::io::Result<Arc<Store>> {
        if !options.read_only {
            sluice_base::fsio::create_directory_durably(file_system.as_ref(), &options.data_dir)?;
        }
        let store = Store {
            options,
            file_system,
            meta,
            shards: RwLock::new(BTreeMap::new()),
            live_cache_bytes: AtomicUsize::new(0),
            frozen_cache_bytes: AtomicUsize::new(0),
            indexes: RwLock::new(HashMap::new()),
            field_types: Arc::new(FieldTypeRegistry::default()),
            field_types_persisted: AtomicU64::new(0),
            checkpointer: RwLock::new(None),
            clock: std::sync::OnceLock::new(),
            checkpoint_lock: std::sync::Mutex::new(()),
            delete_intents: std::sync::Mutex::new(PendingIntents::default()),
            snapshot_wanted: crossbeam::channel::bounded(1),
            stats: StoreStats::default(),
        };
        let snapshot = store.meta.snapshot();
        for database in &snapshot.databases {
            for policy in &database.retention_policies {
                for group in &policy.shard_groups {
                    store.shard_for_group(database.id, &policy.name, group);
                }
            }
        }
        if !store.options.read_only {
            store.remove_orphan_shard_directories();
        }
        // Before the WAL is replayed: an intent's marks name the files of its time.
        store.recover_delete_intents();
        for database in &snapshot.databases {
            catalog::load_field_types(&store, database.id);
            if !store.options.read_only {
                // Open the series index now: start-up pays for it, not the first write or
                // query after it.
                store.series_index(database.id);
            }
        }
        store
            .field_types_persisted
            .store(store.field_types.version(), Ordering::Relaxed);
        Ok(Arc::new(store))
    }

    fn shard_for_group(
        &self,
        database_id: u64,
        retention_policy: &str,
        group: &crate::meta::ShardGroup,
    ) -> Arc<Shard> {
        if let Some(shard) = read_lock(&self.shards).get(&group.shard_id) {
            return Arc::clone(shard);
        }
        let mut shards = write_lock(&self.shards);
        let shard = shards.entry(group.shard_id).or_insert_with(|| {
            Arc::new(Shard::open(
                ShardPlacement {
                    shard_id: group.shard_id,
                    database_id,
                    retention_policy: retention_policy.to_string(),
                    start_ns: group.start_ns,
                    end_ns: group.end_ns,
                },
                shard_directory(&self.options.data_dir, group.shard_id),
                self.options.partitions,
                self.options.read_only,
                Arc::clone(&self.file_system),
            ))
        });
        Arc::clone(shard)
    }

    /// Deletes shard directories meta no longer lists (a drop or retention delete that
    /// crashed between updating meta and deleting the files).
    fn remove_orphan_shard_directories(&self) {
        let Ok(entries) = std::fs::read_dir(&self.options.data_dir) else {
            return;
        };
        let known: Vec<u64> = read_lock(&self.shards).keys().copied().collect();
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            if !known.contains(&id) && entry.path().is_dir() {
                sluice_base::log_info!("storage", "deleting the directory of a dropped shard"; path = entry.path().display());
                let removed = sluice_base::fsio::remove_directory_durably(
                    self.file_system.as_ref(),
                    &entry.path(),
                );
                if let Err(error) = removed {
                    sluice_base::log_error!("storage", "cannot delete the directory of a dropped shard"; path = entry.path().display(), error = error);
                }
            }
        }
    }

    /// The shard that holds `timestamp_ns` for the database and policy, creating its shard
    /// group if needed; `None` when the database or policy is gone, or the time is older than
    /// the policy keeps and no group holds it.
    fn shard_at(
        &self,
        meta: &MetaData,
        database_id: u64,
        retention_policy: &str,
        timestamp_ns: i64,
        now_ns: i64,
    ) -> Option<Arc<Shard>> {
        let policy = meta
            .database_by_id(database_id)?
            .retention_policy(retention_policy)?;
        if let Some(group) = policy.shard_group_at(timestamp_ns) {
            return Some(self.shard_for_group(database_id, &policy.name, group));
        }
        if policy.duration_ns > 0 && timestamp_ns < now_ns.saturating_sub(policy.duration_ns) {
            return None;
        }
        if self.options.read_only {
            return Some(self.ephemeral_shard(database_id, policy, timestamp_ns));
        }
        match self
            .meta
            .shard_group_for(database_id, &policy.name, timestamp_ns)
        {
            Ok(Some(group)) => {
                self.stats
                    .shard_groups_created
                    .fetch_add(1, Ordering::Relaxed);
                Some(self.shard_for_group(database_id, &policy.name, &group))
            }
            Ok(None) => None,
            Err(error) => {
                sluice_base::log_error!("storage", "cannot create shard group; points skipped"; error = error);
                None
            }
        }
    }

    /// A shard for a group meta does not have, kept in memory only (read-only stores).
    fn ephemeral_shard(
        &self,
        database_id: u64,
        policy: &crate::meta::RetentionPolicy,
        timestamp_ns: i64,
    ) -> Arc<Shard> {
        let (start_ns, end_ns) =
            crate::meta::shard_group_bounds(timestamp_ns, policy.shard_group_duration_ns);
        let existing = read_lock(&self.shards)
            .values()
            .find(|shard| {
                shard.database_id == database_id
                    && shard.retention_policy == policy.name
                    && shard.start_ns <= timestamp_ns
                    && timestamp_ns < shard.end_ns
            })
            .cloned();
        if let Some(shard) = existing {
            return shard;
        }
        let id = EPHEMERAL_SHARD_ID_BASE + read_lock(&self.shards).len() as u64;
        let group = crate::meta::ShardGroup {
            id,
            start_ns,
            end_ns,
            shard_id: id,
            owners: Vec::new(),
        };
        self.shard_for_group(database_id, &policy.name, &group)
    }

    /// Applies one durable WAL record to the caches of `partition`. Called only by that
    /// partition's thread (and by replay before the threads start).
    pub fn apply_record(&self, partition: usize, payload: &[u8]) {
        let mut meta = self.meta.snapshot();
        let now_ns = match self.clock.get() {
            Some(clock) => clock(),
            None => sluice_model::time::now_ns(),
        };
        let mut current: Option<Arc<Shard>> = None;
        let mut added_bytes = 0usize;
        let mut values = 0u64;
        let mut skipped = 0u64;
        let mut index: Option<(u64, Option<Arc<SeriesIndex>>)> = None;
        let result = decode_record(payload, |header, point| {
            let time = point.timestamp_ns;
            // A record holds one database and retention policy, so the shard chosen for an
            // earlier point of it fits a later one whenever the time does.
            let fits = current
                .as_ref()
                .is_some_and(|shard| shard.start_ns <= time && time < shard.end_ns);
            if !fits {
                let rp = String::from_utf8_lossy(header.retention_policy);
                current = self.shard_at(&meta, header.database_id, &rp, time, now_ns);
                if let Some(shard) = &current {
                    shard
                        .last_write_ns
                        .store(now_ns.max(0) as u64, Ordering::Relaxed);
                    // A group may just have been created: later points see it.
                    meta = self.meta.snapshot();
                }
            }
            let Some(shard) = current.as_ref() else {
                skipped += 1;
                return;
            };
            let Some(cache) = shard.caches.get(partition) else {
                skipped += 1;
                return;
            };
            let (added, created) =
                write_lock(cache)
                    .live
                    .insert_point(point.series_key, time, &point.fields);
            added_bytes += added;
            values += point.fields.len() as u64;
            if created {
                // New to this cache generation: make sure the index has it (a series in a
                // cache is always in the index, so existing ones skip the lookup).
                if index.as_ref().map(|(id, _)| *id) != Some(header.database_id) {
                    index = Some((header.database_id, self.series_index(header.database_id)));
                }
                if let Some((_, Some(index))) = &index {
                    if let Err(error) = index.get_or_create(point.series_key) {
                        sluice_base::log_warn!("storage", "series not indexed"; error = error);
                    }
                }
            }
        });
        if result.is_err() {
            sluice_base::log_warn!("storage", "skipped an undecodable WAL record"; bytes = payload.len());
        }
        let live_bytes = self
            .live_cache_bytes
            .fetch_add(added_bytes, Ordering::Relaxed)
            .saturating_add(added_bytes);
        if live_bytes >= self.options.cache_snapshot_bytes {
            // Full channel: a token is already waiting.
            let _ = self.snapshot_wanted.0.try_send(());
        }
        self.stats
            .values_applied
            .fetch_add(values, Ordering::Relaxed);
        if skipped > 0 {
            self.stats
                .points_skipped
                .fetch_add(skipped, Ordering::Relaxed);
        }
    }

    /// Replaces the system clock for retention decisions when records are applied (the
    /// engine simulation's simulated time; set once, before the WAL is replayed).
    pub fn set_clock(&self, clock: Clock) {
        if self.clock.set(clock).is_err() {
            panic!("BUG: the store's clock is set once");
        }
    }

    /// Where the engine's files are written (the WAL's segment deletion goes through it).
    pub fn file_system(&self) -> &Arc<dyn FileSystem> {
        &self.file_system
    }

    /// Installs the function that runs a checkpoint (the server does, once ingest runs).
    pub fn set_checkpointer(&self, checkpointer: Checkpointer) {
        *write_lock(&self.checkpointer) = Some(checkpointer);
    }

    /// Runs a checkpoint now (a no-op before one is installed, e.g. in `sluice export`).
    pub fn checkpoint(&self) -> Result<(), String> {
        let checkpointer = read_lock(&self.checkpointer).clone();
        match checkpointer {
            Some(run) => run(),
            None => Ok(()),
        }
    }

    /// Held while a checkpoint runs (checkpoints must not interleave their WAL deletions).
    pub fn lock_checkpoints(&self) -> std::sync::MutexGuard<'_, ()> {
        sluice_base::locks::lock(&self.checkpoint_lock)
    }

    /// The field-type registry (shared with the write path).
    pub fn field_types(&self) -> &Arc<FieldTypeRegistry> {
        &self.field_types
    }

    /// The series index of a database that exists in meta, opened (or created) on first use.
    pub fn series_index(&self, database_id: u64) -> Option<Arc<SeriesIndex>> {
        if let Some(index) = read_lock(&self.indexes).get(&database_id) {
            return Some(Arc::clone(index));
        }
        self.meta.snapshot().database_by_id(database_id)?;
        let mut indexes = write_lock(&self.indexes);
        if let Some(index) = indexes.get(&database_id) {
            return Some(Arc::clone(index));
        }
        let index = if self.options.read_only {
            SeriesIndex::in_memory()
        } else {
            let directory = catalog::catalog_directory(&self.options.data_dir, database_id);
            match SeriesIndex::open_with(&directory, Arc::clone(&self.file_system)) {
                Ok(index) => index,
                Err(error) => {
                    sluice_base::log_error!("storage", "cannot open a series index; using an empty one"; path = directory.display(), error = error);
                    SeriesIndex::in_memory()
                }
            }
        };
        let index = Arc::new(index);
        indexes.insert(database_id, Arc::clone(&index));
        Some(index)
    }

    /// Receives a token whenever the live caches reach `cache_snapshot_bytes` (for the
    /// snapshot thread to wait on).
    pub fn snapshot_wanted(&self) -> crossbeam::channel::Receiver<()> {
        self.snapshot_wanted.1.clone()
    }

    /// Bytes held by frozen caches (waiting to be written by a snapshot).
    pub fn frozen_cache_bytes(&self) -> usize {
        self.frozen_cache_bytes.load(Ordering::Relaxed)
    }

    /// Bytes held by live caches (not yet frozen).
    pub fn live_cache_bytes(&self) -> usize {
        self.live_cache_bytes.load(Ordering::Relaxed)
    }

    /// Whether the live caches have grown past the snapshot threshold, or the caches are
    /// full (writes wait for a snapshot).
    pub fn snapshot_due(&self) -> bool {
        self.live_cache_bytes() >= self.options.cache_snapshot_bytes || self.cache_full()
    }

    /// Whether the caches (live and waiting to be written) are over their hard bound:
    /// partitions pause until a snapshot frees them.
    pub fn cache_full(&self) -> bool {
        self.live_cache_bytes() + self.frozen_cache_bytes.load(Ordering::Relaxed)
            >= self.options.cache_max_bytes
    }

    /// Whether there is cache data and no shard was written for `cold_ns`.
    pub fn cache_cold(&self, cold_ns: i64) -> bool {
        if self.live_cache_bytes() == 0 {
            return false;
        }
        let now_ns = sluice_model::time::now_ns();
        self.shards().iter().all(|shard| {
            let last = shard.last_write_ns.load(Ordering::Relaxed) as i64;
            now_ns.saturating_sub(last) >= cold_ns
        })
    }

    /// Writes every frozen cache map to files (one level-0 file per shard). On error the maps
    /// stay frozen (still served) and the next call retries; the WAL must then be kept.
    pub fn write_snapshots(&self) -> Result<(), String> {
        // The catalog first: a series in a file is then always in the durable index, even
        // if the WAL that could rebuild it is lost (damaged) after a failed snapshot.
        if let Err(error) = self.sync_catalog() {
            self.stats
                .maintenance_errors
                .fetch_add(1, Ordering::Relaxed);
            sluice_base::log_error!("storage", "cannot sync the series index; the WAL is kept"; error = error);
            return Err(error);
        }
        self.settle_pending_intents();
        let mut first_error = None;
        for shard in self.shards() {
            match shard.snapshot() {
                Ok(0) => {}
                Ok(released) => {
                    self.stats.snapshots.fetch_add(1, Ordering::Relaxed);
                    let _ = self.frozen_cache_bytes.fetch_update(
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                        |bytes| Some(bytes.saturating_sub(released)),
                    );
                }
                Err(error) => {
                    self.stats
                        .maintenance_errors
                        .fetch_add(1, Ordering::Relaxed);
                    sluice_base::log_error!("storage", "snapshot failed; the WAL is kept"; shard = shard.id, error = error);
                    first_error.get_or_insert(error.to_string());
                }
            }
        }
        release_freed_memory();
        match first_error {
            None => Ok(()),
            Some(error) => Err(error),
        }
    }

    /// Makes meta's shard groups, every series index and the field types durable (before
    /// a snapshot writes files, and so before WAL segments go).
    fn sync_catalog(&self) -> Result<(), String> {
        self.meta
            .persist_pending()
            .map_err(|e| format!("writing meta.db: {e}"))?;
        let indexes: Vec<Arc<SeriesIndex>> = read_lock(&self.indexes).values().cloned().collect();
        for index in indexes {
            index.sync().map_err(|e| e.to_string())?;
        }
        let version = self.field_types.version();
        if version != self.field_types_persisted.load(Ordering::Relaxed) {
            for database in &self.meta.snapshot().databases {
                catalog::persist_field_types(self, database.id)?;
            }
            self.field_types_persisted.store(version, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Runs the compactions due: levelled merges, and a full compaction of shards with no
    /// write for `cold_ns`. `throttle` is told the bytes processed and may sleep (bounds the
    /// I/O a compaction takes from ingest).
    pub fn compact(&self, cold_ns: i64, throttle: &mut dyn FnMut(u64), stop: &dyn Fn() -> bool) {
        let now_ns = sluice_model::time::now_ns();
        for shard in self.shards() {
            let last = shard.last_write_ns.load(Ordering::Relaxed) as i64;
            let cold = now_ns.saturating_sub(last) >= cold_ns && shard.frozen_bytes() == 0;
            while let Some((inputs, level)) = shard.compaction_plan(cold) {
                // Snapshots run on their own thread and never wait for this one.
                if stop() {
                    return;
                }
                match shard.compact(&inputs, level, throttle, stop) {
                    Ok(()) => {
                        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        self.stats
                            .maintenance_errors
                            .fetch_add(1, Ordering::Relaxed);
                        sluice_base::log_error!("storage", "compaction failed"; shard = shard.id, error = error);
                        break;
                    }
                }
                if level == shard::FULL_COMPACTION_LEVEL {
                    break;
                }
            }
        }
    }

    /// Deletes shard groups whose end is older than their policy's duration (as InfluxDB:
    /// `end < now - duration`), in meta and on disk.
    pub fn enforce_retention(&self, now_ns: i64) {
        let meta = self.meta.snapshot();
        for database in &meta.databases {
            for policy in &database.retention_policies {
                if policy.duration_ns == 0 {
                    continue;
                }
                let cutoff = now_ns.saturating_sub(policy.duration_ns);
                let expired: Vec<&crate::meta::ShardGroup> = policy
                    .shard_groups
                    .iter()
                    .filter(|group| group.end_ns < cutoff)
                    .collect();
                if expired.is_empty() {
                    continue;
                }
                let ids: Vec<u64> = expired.iter().map(|g| g.id).collect();
                if let Err(error) = self
                    .meta
                    .delete_shard_groups(database.id, &policy.name, &ids)
                {
                    sluice_base::log_error!("retention", "cannot delete expired shard groups"; error = error);
                    continue;
                }
                for group in expired {
                    sluice_base::log_info!("retention", "deleted expired shard group";
                        database = database.name, retention_policy = policy.name,
                        shard_group = group.id, shard = group.shard_id);
                    self.remove_shard(group.shard_id);
                    self.stats
                        .shard_groups_expired
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// `DROP SHARD`: a checkpoint first, so that no WAL segment holds a point of the shard
    /// (a restart would replay it into a new shard group of the same time: the dropped
    /// points back), then meta, then the directory. Returns whether meta had the shard.
    /// An error means nothing was dropped (the checkpoint or `meta.db` failed).
    pub fn drop_shard(&self, shard_id: u64) -> Result<bool, String> {
        if !read_lock(&self.shards).contains_key(&shard_id) {
            return self.meta.drop_shard(shard_id).map_err(|e| e.to_string());
        }
        self.checkpoint()?;
        let found = self.meta.drop_shard(shard_id).map_err(|e| e.to_string())?;
        self.remove_shard(shard_id);
        Ok(found)
    }

    /// Forgets a shard and deletes its directory (after meta no longer lists it).
    pub fn remove_shard(&self, shard_id: u64) {
        let removed = write_lock(&self.shards).remove(&shard_id);
        if let Some(shard) = removed {
            let released: usize = shard
                .caches
                .iter()
                .map(|cache| {
                    let cache = read_lock(cache);
                    cache.live.bytes
                })
                .sum();
            let _ =
                self.live_cache_bytes
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bytes| {
                        Some(bytes.saturating_sub(released))
                    });
            let frozen = shard.frozen_bytes();
            let _ = self.frozen_cache_bytes.fetch_update(
                Ordering::Relaxed,
                Ordering::Relaxed,
                |bytes| Some(bytes.saturating_sub(frozen)),
            );
        }
        if self.options.read_only {
            return;
        }
        let directory = shard_directory(&self.options.data_dir, shard_id);
        // A removal a crash undoes leaves an orphan, which the next start deletes.
        if let Err(error) =
            sluice_base::fsio::remove_directory_durably(self.file_system.as_ref(), &directory)
        {
            sluice_base::log_error!("storage", "cannot delete a shard directory"; path = directory.display(), error = error);
        }
    }

    /// Drops every shard, the series index and the field types of a database (after meta
    /// dropped it).
    pub fn drop_database(&self, database_id: u64) {
        write_lock(&self.indexes).remove(&database_id);
        self.field_types.drop_database(database_id);
        if !self.options.read_only {
            let directory = catalog::catalog_directory(&self.options.data_dir, database_id);
            if let Err(error) =
                sluice_base::fsio::remove_directory_durably(self.file_system.as_ref(), &directory)
            {
                sluice_base::log_error!("storage", "cannot delete a series index"; path = directory.display(), error = error);
            }
        }
        let ids: Vec<u64> = read_lock(&self.shards)
            .values()
            .filter(|shard| shard.database_id == database_id)
            .map(|shard| shard.id)
            .collect();
        for id in ids {
            self.remove_shard(id);
        }
    }

    /// Moves every shard's live cache of `partition` to its frozen list. Called on the
    /// partition's thread right after it started a new WAL segment.
    pub fn freeze_partition(&self, partition: usize) {
        let shards: Vec<Arc<Shard>> = read_lock(&self.shards).values().cloned().collect();
        let mut frozen = 0usize;
        for shard in shards {
            if let Some(cache) = shard.caches.get(partition) {
                frozen += write_lock(cache).freeze();
            }
        }
        self.frozen_cache_bytes.fetch_add(frozen, Ordering::Relaxed);
        let _ = self
            .live_cache_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bytes| {
                Some(bytes.saturating_sub(frozen))
            });
    }

    /// Every shard, by id.
    pub fn shards(&self) -> Vec<Arc<Shard>> {
        read_lock(&self.shards).values().cloned().collect()
    }

    /// The shards of a database and policy that may hold times in `[min_time, max_time]`,
    /// in time order.
    pub fn shards_for(
        &self,
        database_id: u64,
        retention_policy: &str,
        min_time: i64,
        max_time: i64,
    ) -> Vec<Arc<Shard>> {
        let mut shards: Vec<Arc<Shard>> = read_lock(&self.shards)
            .values()
            .filter(|shard| {
                shard.database_id == database_id
                    && shard.retention_policy == retention_policy
                    && shard.start_ns <= max_time
                    && min_time < shard.end_ns
            })
            .cloned()
            .collect();
        shards.sort_by_key(|shard| shard.start_ns);
        shards
    }
}
