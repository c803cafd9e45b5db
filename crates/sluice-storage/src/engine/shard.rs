//! One shard: the data of one shard group — a cache per WAL partition over immutable files.
//!
//! Owns the shard directory `<data>/<shard id>/` and its files, named
//! `g<first generation>-<last generation>-l<level>.tsm`:
//! - a snapshot writes one level-0 file with a new generation (`first == last`);
//! - a compaction merges files whose generations are contiguous into one file of a higher
//!   level covering their whole generation range, then deletes them.
//!
//! Reads merge files in generation order (older first), then the cache; on equal times the
//! newer value wins. Because a compaction output covers exactly its inputs' generations, a
//! crash between writing the output and deleting the inputs leaves files whose range another
//! file covers: opening the shard deletes those (their points are in the covering file), so a
//! stale input can never be merged again above newer data.
//!
//! A file that fails its checks when opened is logged with its path and not served (the
//! shard and the server still start); it is left on disk for the operator.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::cache::{CacheMap, CacheSeries, PartitionCache, VisitScratch};
use super::tombstone::{self, Tombstone, Tombstones};
use super::{read_lock, write_lock};
use crate::column::Column;
use crate::tsm::{BlockMeta, ColumnEntry, FileReader, FileSummary, FileWriter, TsmError};
use sluice_base::fsio::FileSystem;
use sluice_model::record::FieldType;

/// Values per block in files Sluice writes.
pub const MAX_VALUES_PER_BLOCK: usize = 1000;
/// A compaction starts once this many contiguous files share a level.
pub const COMPACTION_FAN_IN: usize = 4;
/// The most files one compaction merges.
pub const COMPACTION_FAN_IN_MAX: usize = 8;
/// Level of a shard's fully compacted file (written when the shard is cold).
pub const FULL_COMPACTION_LEVEL: u32 = 4;
/// Files below this level (snapshots, and the first merges) use the codec's fast encodings;
/// the last level merges reach and the full compaction search for the smallest.
pub const FAST_ENCODING_BELOW_LEVEL: u32 = FULL_COMPACTION_LEVEL - 1;
/// A compaction gives back the pages of an input it has read past every this many bytes:
/// read once, they would otherwise stay in the process's resident set until the input is
/// deleted (they stay in the page cache either way). A compaction reads 4-8 inputs side by
/// side, so this times the fan-in is what it holds resident: 1 MiB keeps that at a few MiB
/// for one `madvise` per MiB read.
const COMPACTION_RELEASE_STEP_BYTES: u64 = 1024 * 1024;
/// ... and of their indexes every this many columns merged (~40 bytes of index each, so
/// ~0.3 MiB per input; at 65,536 it was 7 MiB per input at 100k series).
const COMPACTION_INDEX_RELEASE_COLUMNS: usize = 1 << 13;
/// A merge below [`FAST_ENCODING_BELOW_LEVEL`] copies a block that overlaps no other without
/// decoding it if it holds at least this many values. At 1k series a snapshot's blocks hold a
/// few hundred values, and decoding and re-encoding them at levels 1 and 2 was most of the
/// compaction thread. Smaller blocks (many series, few points each) are still merged into
/// larger ones, so that per-block overhead (index entry, header, crc, the codecs' first
/// values) does not pile up.
const APPEND_BLOCKS_MIN_VALUES: u32 = (MAX_VALUES_PER_BLOCK / 8) as u32;
const FILE_SUFFIX: &str = ".tsm";
const TEMPORARY_SUFFIX: &str = ".tmp";

/// An open file of a shard.
pub struct ShardFile {
    /// the reader (mapped, index verified)
    pub reader: FileReader,
    /// first generation covered
    pub first_generation: u64,
    /// last generation covered (orders files: older first)
    pub last_generation: u64,
    /// compaction level (0 = snapshot)
    pub level: u32,
}

/// One shard.
pub struct Shard {
    /// shard id (also its directory name)
    pub id: u64,
    /// database id
    pub database_id: u64,
    /// retention policy name
    pub retention_policy: String,
    /// first nanosecond held
    pub start_ns: i64,
    /// first nanosecond not held
    pub end_ns: i64,
    directory: PathBuf,
    /// where its files are written, renamed and removed (the real disk, or a simulated one)
    file_system: Arc<dyn FileSystem>,
    pub(super) caches: Vec<RwLock<PartitionCache>>,
    /// files in generation order, replaced whole (copy on write) by snapshots/compactions
    files: RwLock<Arc<Vec<Arc<ShardFile>>>>,
    next_generation: AtomicU64,
    /// nanosecond time (wall clock) of the last write applied
    pub(super) last_write_ns: AtomicU64,
    /// deleted ranges, applied to files older than each delete
    tombstones: RwLock<Arc<Tombstones>>,
    /// an append to the tombstone file failed (and its cut-back may have too): its tail is
    /// unknown, so the next write rewrites it whole from memory rather than append behind
    /// what may be a torn record
    tombstone_file_suspect: std::sync::atomic::AtomicBool,
    /// held by a compaction or a delete: both change the file set, and a delete must not
    /// see a compaction half-done
    maintenance: Mutex<()>,
    /// held by a snapshot or a delete: a snapshot writes the frozen caches a delete edits.
    /// Separate from `maintenance` so that a snapshot (which only adds a file of a newer
    /// generation) never waits for a long compaction. Taken before `maintenance`.
    snapshotting: Mutex<()>,
}

/// Why a snapshot or compaction failed.
#[derive(Debug)]
pub struct ShardError(pub String);

impl std::fmt::Display for ShardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<TsmError> for ShardError {
    fn from(error: TsmError) -> Self {
        ShardError(error.to_string())
    }
}

fn file_name(first_generation: u64, last_generation: u64, level: u32) -> String {
    format!("g{first_generation:010}-{last_generation:010}-l{level}{FILE_SUFFIX}")
}

fn parse_file_name(name: &str) -> Option<(u64, u64, u32)> {
    let stem = name.strip_suffix(FILE_SUFFIX)?.strip_prefix('g')?;
    let mut parts = stem.split('-');
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    let level = parts.next()?.strip_prefix('l')?.parse().ok()?;
    if parts.next().is_some() || first > last {
        return None;
    }
    Some((first, last, level))
}

impl Shard {
    /// A shard over `directory`, opening the files found there (none if it does not exist).
    pub(super) fn open(
        group: ShardPlacement,
        directory: PathBuf,
        partitions: usize,
        read_only: bool,
        file_system: Arc<dyn FileSystem>,
    ) -> Shard {
        let (files, highest_generation) = load_files(file_system.as_ref(), &directory, read_only);
        let next_generation = highest_generation + 1;
        Shard {
            id: group.shard_id,
            database_id: group.database_id,
            retention_policy: group.retention_policy,
            start_ns: group.start_ns,
            end_ns: group.end_ns,
            caches: (0..partitions.max(1))
                .map(|_| RwLock::new(PartitionCache::default()))
                .collect(),
            files: RwLock::new(Arc::new(files)),
            next_generation: AtomicU64::new(next_generation),
            last_write_ns: AtomicU64::new(0),
            tombstones: RwLock::new(Arc::new(tombstone::load(
                file_system.as_ref(),
                &directory,
                read_only,
            ))),
            tombstone_file_suspect: std::sync::atomic::AtomicBool::new(false),
            maintenance: Mutex::new(()),
            snapshotting: Mutex::new(()),
            directory,
            file_system,
        }
    }

    /// The shard's directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The shard's files, older first.
    pub fn files(&self) -> Arc<Vec<Arc<ShardFile>>> {
        Arc::clone(&read_lock(&self.files))
    }

    /// Bytes of the shard's files.
    pub fn disk_bytes(&self) -> u64 {
        self.files().iter().map(|f| f.reader.size_bytes()).sum()
    }

    pub(super) fn partition_of(&self, series_key: &[u8]) -> usize {
        sluice_model::routing::partition_for(series_key, self.caches.len())
    }

    /// The merged, normal points of one column within `[min_time, max_time]`: files older
    /// first, then the cache; the newest value wins on equal times. A file whose block fails
    /// its checksum is reported and skipped.
    ///
    /// The cache is read before the file list is taken: a snapshot installs its file and
    /// only then releases the frozen maps it wrote, so a point is always in what one of the
    /// two reads sees (the other order could take the file list before the install and the
    /// cache after the release, and miss the snapshot's points).
    pub fn read(
        &self,
        series_key: &[u8],
        field: &[u8],
        min_time: i64,
        max_time: i64,
    ) -> Option<Column> {
        let cached = self.read_cache(series_key, field, min_time, max_time);
        let mut result: Option<Column> = None;
        let tombstones = self.tombstones();
        for file in self.files().iter() {
            if file.reader.max_time() < min_time || file.reader.min_time() > max_time {
                continue;
            }
            match file
                .reader
                .read_column_range(series_key, field, min_time, max_time)
            {
                Ok(Some(mut column)) => {
                    tombstones.apply(series_key, file.last_generation, &mut column);
                    merge_into(&mut result, column)
                }
                Ok(None) => {}
                Err(error) => {
                    sluice_base::log_error!("storage", "corrupt block skipped"; shard = self.id, error = error);
                }
            }
        }
        if let Some(column) = cached {
            merge_into(&mut result, column);
        }
        result.filter(|column| !column.is_empty())
    }

    /// The cache's merged, normal points of one column within `[min_time, max_time]`.
    pub(super) fn read_cache(
        &self,
        series_key: &[u8],
        field: &[u8],
        min_time: i64,
        max_time: i64,
    ) -> Option<Column> {
        let partition = self.partition_of(series_key);
        self.caches
            .get(partition)
            .and_then(|cache| read_lock(cache).read(series_key, field, min_time, max_time))
    }

    /// Whether the shard holds any point of series `series_key` (any field, any time): the
    /// series is in the shard's index, as 1.6.7 sees it when it builds one iterator per
    /// series of the shard. The cache is looked at before the files, as [`Shard::read`] does.
    pub fn holds_series(&self, series_key: &[u8]) -> bool {
        let partition = self.partition_of(series_key);
        let cached = self
            .caches
            .get(partition)
            .is_some_and(|cache| read_lock(cache).holds_series(series_key));
        cached
            || self
                .files()
                .iter()
                .any(|f| f.reader.holds_series(series_key))
    }

    /// Every series key with data in the shard, sorted, with its fields (sorted) and types.
    /// The caches are listed before the files, for the reason [`Shard::read`] gives.
    pub fn series_fields(
        &self,
    ) -> std::collections::BTreeMap<Vec<u8>, std::collections::BTreeMap<Vec<u8>, FieldType>> {
        let mut all: std::collections::BTreeMap<
            Vec<u8>,
            std::collections::BTreeMap<Vec<u8>, FieldType>,
        > = std::collections::BTreeMap::new();
        for cache in &self.caches {
            let cache = read_lock(cache);
            let maps = cache
                .frozen
                .iter()
                .map(|m| &**m)
                .chain(std::iter::once(&cache.live));
            for map in maps {
                for (key, series) in map.iter() {
                    let fields = all.entry(key.to_vec()).or_default();
                    for (field, field_type) in series.fields() {
                        fields.entry(field.to_vec()).or_insert(field_type);
                    }
                }
            }
        }
        for file in self.files().iter() {
            for (series_key, field, entry) in file.reader.columns() {
                all.entry(series_key.to_vec())
                    .or_default()
                    .entry(field.to_vec())
                    .or_insert(entry.field_type);
            }
        }
        all
    }

    pub(super) fn tombstones(&self) -> Arc<Tombstones> {
        Arc::clone(&read_lock(&self.tombstones))
    }

    fn lock_maintenance(&self) -> MutexGuard<'_, ()> {
        sluice_base::locks::lock(&self.maintenance)
    }

    fn lock_snapshotting(&self) -> MutexGuard<'_, ()> {
        sluice_base::locks::lock(&self.snapshotting)
    }

    /// Writes every frozen cache map to one level-0 file, installs it, and releases the maps.
    /// Returns the bytes of cache released (0 when nothing was frozen).
    pub(super) fn snapshot(&self) -> Result<usize, ShardError> {
        let _snapshotting = self.lock_snapshotting();
        let frozen: Vec<Arc<CacheMap>> = self
            .caches
            .iter()
            .flat_map(|cache| read_lock(cache).frozen.clone())
            .collect();
        if frozen.is_empty() {
            return Ok(0);
        }
        let released: usize = frozen.iter().map(|m| m.bytes).sum();
        // Columns in key order; a series lives in one partition, but may be in several frozen
        // maps of it (several failed snapshots): merge those, older first. Series keys are
        // sorted once and each series' few fields as it comes (a list of every column would
        // be 32 bytes each: 320 MB at 1M series × 10 fields).
        let mut series_keys: Vec<&[u8]> = frozen
            .iter()
            .flat_map(|map| map.iter().map(|(key, _)| key))
            .collect();
        series_keys.sort_unstable();
        series_keys.dedup();
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        sluice_base::fsio::create_directory_durably(self.file_system.as_ref(), &self.directory)
            .map_err(|e| ShardError(format!("creating {}: {e}", self.directory.display())))?;
        let path = self.directory.join(file_name(generation, generation, 0));
        // Level 0 is short-lived (compacted, or fully compacted once cold): encode it fast,
        // so snapshots keep up with ingest and the caches are released sooner.
        let mut writer =
            FileWriter::create_in(Arc::clone(&self.file_system), &path, MAX_VALUES_PER_BLOCK)?
                .with_fast_encoding()
                .with_time_aligned_blocks();
        let mut fields: Vec<&[u8]> = Vec::new();
        let mut holders: Vec<&CacheSeries> = Vec::new();
        let mut scratch = VisitScratch::default();
        for series_key in series_keys {
            holders.clear();
            holders.extend(frozen.iter().filter_map(|map| map.get(series_key)));
            if let [series] = holders.as_slice() {
                // The usual case: one map holds the series; its columns go out uncopied.
                series.visit_columns_in_key_order(&mut scratch, |field, column| {
                    writer.write_column_view(series_key, field, column)
                })?;
                continue;
            }
            fields.clear();
            for series in &holders {
                fields.extend(series.fields().map(|(field, _)| field));
            }
            fields.sort_unstable();
            fields.dedup();
            for field in &fields {
                let mut merged: Option<Column> = None;
                for map in &frozen {
                    if let Some(column) = map.read(series_key, field, i64::MIN, i64::MAX) {
                        merge_into(&mut merged, column);
                    }
                }
                if let Some(column) = merged.filter(|c| !c.is_empty()) {
                    writer.write_column(series_key, field, &column)?;
                }
            }
        }
        let summary = writer.finish()?;
        self.install(&summary, generation, generation, 0, &[])?;
        for cache in &self.caches {
            write_lock(cache)
                .frozen
                .retain(|map| !frozen.iter().any(|done| Arc::ptr_eq(done, map)));
        }
        Ok(released)
    }

    /// Opens a newly written file and swaps it in for `replaced` (which are then deleted).
    fn install(
        &self,
        summary: &FileSummary,
        first_generation: u64,
        last_generation: u64,
        level: u32,
        replaced: &[Arc<ShardFile>],
    ) -> Result<(), ShardError> {
        let reader = FileReader::open(&summary.path)?;
        let file = Arc::new(ShardFile {
            reader,
            first_generation,
            last_generation,
            level,
        });
        {
            let mut files = write_lock(&self.files);
            let mut next: Vec<Arc<ShardFile>> = files
                .iter()
                .filter(|f| !replaced.iter().any(|r| Arc::ptr_eq(r, f)))
                .cloned()
                .collect();
            next.push(file);
            next.sort_by_key(|f| (f.last_generation, f.first_generation));
            *files = Arc::new(next);
        }
        for old in replaced {
            if let Err(error) = self.file_system.remove_file(old.reader.path()) {
                sluice_base::log_warn!("storage", "cannot remove a compacted file"; path = old.reader.path().display(), error = error);
            }
        }
        Ok(())
    }

    /// The files a compaction should merge next: the oldest run of at least
    /// [`COMPACTION_FAN_IN`] contiguous files of one level below the full level, or — when
    /// `cold` — every file if there are several (or one not fully compacted).
    pub(super) fn compaction_plan(&self, cold: bool) -> Option<(Vec<Arc<ShardFile>>, u32)> {
        let files = self.files();
        let mut run_start = 0;
        for index in 1..=files.len() {
            let same_level = match (files.get(index), files.get(run_start)) {
                (Some(file), Some(first)) => file.level == first.level,
                _ => false,
            };
            if same_level && index - run_start < COMPACTION_FAN_IN_MAX {
                continue;
            }
            let run = files.get(run_start..index).unwrap_or(&[]);
            if let Some(first) = run.first() {
                if run.len() >= COMPACTION_FAN_IN && first.level < FULL_COMPACTION_LEVEL - 1 {
                    return Some((run.to_vec(), first.level + 1));
                }
            }
            run_start = index;
        }
        // A lone level-0 file is rewritten too: snapshots use the fast encodings.
        let needs_full = files.len() > 1
            || files
                .first()
                .is_some_and(|f| f.level < FULL_COMPACTION_LEVEL);
        if cold && needs_full {
            return Some((files.to_vec(), FULL_COMPACTION_LEVEL));
        }
        None
    }

    /// Merges `inputs` (contiguous in generation order) into one file of `level`.
    pub(super) fn compact(
        &self,
        inputs: &[Arc<ShardFile>],
        level: u32,
        throttle: &mut dyn FnMut(u64),
        stop: &dyn Fn() -> bool,
    ) -> Result<(), ShardError> {
        let _maintenance = self.lock_maintenance();
        // The plan was made without the lock: a delete or another compaction may have
        // changed the files since. Only merge inputs that are all still there.
        let current = self.files();
        if !inputs
            .iter()
            .all(|input| current.iter().any(|f| Arc::ptr_eq(f, input)))
        {
            return Ok(());
        }
        let tombstones = self.tombstones();
        let (Some(first), Some(last)) = (inputs.first(), inputs.last()) else {
            return Ok(());
        };
        let first_generation = first.first_generation;
        let last_generation = last.last_generation;
        let path = self
            .directory
            .join(file_name(first_generation, last_generation, level));
        let mut writer =
            FileWriter::create_in(Arc::clone(&self.file_system), &path, MAX_VALUES_PER_BLOCK)?;
        if level < FAST_ENCODING_BELOW_LEVEL {
            // Soon merged again: spend the CPU on the levels that stay.
            writer = writer.with_fast_encoding();
        }
        if level < FULL_COMPACTION_LEVEL {
            // A hot shard's files, which dashboards read most: blocks whole in hour windows
            // (the fully compacted file keeps long blocks, for their bytes).
            writer = writer.with_time_aligned_blocks();
        }
        let mut cursors: Vec<_> = inputs
            .iter()
            .map(|f| f.reader.columns().peekable())
            .collect();
        // Per input, how far its data has been read and released from our resident set.
        let mut released = vec![0u64; inputs.len()];
        let mut release_read = |index: usize, blocks: &[BlockMeta]| {
            let (Some(input), Some(done)) = (inputs.get(index), released.get_mut(index)) else {
                return;
            };
            let end = blocks
                .last()
                .map_or(0, |meta| meta.offset + u64::from(meta.size));
            if end >= done.saturating_add(COMPACTION_RELEASE_STEP_BYTES) {
                input.reader.release_pages(*done, end - *done);
                *done = end;
            }
        };
        let mut columns_merged = 0usize;
        loop {
            columns_merged += 1;
            if columns_merged % COMPACTION_INDEX_RELEASE_COLUMNS == 0 {
                // The inputs' indexes are walked once too; drop what was read of them.
                for input in inputs {
                    input.reader.release_index_pages();
                }
            }
            // The smallest key among the inputs' next columns.
            let next_key: Option<(Vec<u8>, Vec<u8>)> = cursors
                .iter_mut()
                .filter_map(|c| c.peek().map(|(s, f, _)| (*s, *f)))
                .min()
                .map(|(s, f)| (s.to_vec(), f.to_vec()));
            let Some((series_key, field)) = next_key else {
                break;
            };
            if stop() {
                // Dropping the writer removes its temporary file; the inputs stay.
                return Err(ShardError("compaction stopped: shutting down".into()));
            }
            let mut holders = Vec::new();
            for (index, cursor) in cursors.iter_mut().enumerate() {
                let matches = cursor
                    .peek()
                    .is_some_and(|(s, f, _)| *s == series_key.as_slice() && *f == field.as_slice());
                if matches {
                    if let Some((_, _, entry)) = cursor.next() {
                        holders.push((index, entry));
                    }
                }
            }
            let whole_blocks = level < FULL_COMPACTION_LEVEL
                && !holders.iter().any(|(index, _)| {
                    inputs
                        .get(*index)
                        .is_some_and(|f| tombstones.touches(&series_key, f.last_generation))
                });
            if let ([(index, entry)], true) = (holders.as_slice(), whole_blocks) {
                // One input holds the column: copy its blocks without decoding.
                let Some(input) = inputs.get(*index) else {
                    panic!("BUG: compaction input {index} of a column is not an input");
                };
                for meta in &entry.blocks {
                    let bytes = input.reader.read_block_raw(meta)?;
                    throttle(bytes.len() as u64);
                    writer.write_block_raw(&series_key, &field, entry.field_type, meta, bytes)?;
                }
                release_read(*index, &entry.blocks);
                continue;
            }
            let one_type = holders
                .windows(2)
                .all(|pair| matches!(pair, [(_, a), (_, b)] if a.field_type == b.field_type));
            // Several inputs hold it: below level 3, copy the blocks no other block overlaps
            // and merge the rest; else merge all.
            let copy_blocks = whole_blocks && one_type && level < FAST_ENCODING_BELOW_LEVEL;
            merge_blocks(
                inputs,
                &holders,
                (&series_key, &field),
                copy_blocks,
                &tombstones,
                &mut writer,
                throttle,
            )?;
            for (index, entry) in &holders {
                release_read(*index, &entry.blocks);
            }
        }
        let summary = writer.finish()?;
        self.install(&summary, first_generation, last_generation, level, inputs)?;
        self.prune_tombstones();
        Ok(())
    }

    /// Drops tombstones no file needs any more (every file is newer than their mark).
    fn prune_tombstones(&self) {
        let current = self.tombstones();
        if current.is_empty() {
            return;
        }
        let oldest = self.files().iter().map(|f| f.last_generation).min();
        let mut pruned = (*current).clone();
        if pruned.retain_needed(oldest) {
            if let Err(error) =
                tombstone::rewrite(self.file_system.as_ref(), &self.directory, &pruned)
            {
                sluice_base::log_warn!("storage", "cannot rewrite the tombstone file"; shard = self.id, error = error);
                return;
            }
            *write_lock(&self.tombstones) = Arc::new(pruned);
            self.tombstone_file_suspect.store(false, Ordering::Release);
        }
    }

    /// Locks the shard against snapshots and compactions for a delete (snapshotting first,
    /// as every taker does).
    pub(super) fn lock_for_delete(&self) -> DeleteLocks<'_> {
        let snapshotting = self.lock_snapshotting();
        let maintenance = self.lock_maintenance();
        DeleteLocks {
            _snapshotting: snapshotting,
            _maintenance: maintenance,
        }
    }

    /// The generation mark a delete now would record: the newest file's last generation
    /// (`None`: no file, only the caches hold points). Call under [`Shard::lock_for_delete`].
    pub(super) fn generation_mark(&self) -> Option<u64> {
        self.files().iter().map(|f| f.last_generation).max()
    }

    /// The keys of `series_keys` some file up to `generation_mark` holds in the range (the
    /// ones a tombstone must name).
    fn keys_in_files(
        &self,
        series_keys: &[Vec<u8>],
        min_time: i64,
        max_time: i64,
        generation_mark: u64,
    ) -> Vec<Vec<u8>> {
        let files = self.files();
        series_keys
            .iter()
            .filter(|key| {
                files.iter().any(|f| {
                    f.last_generation <= generation_mark
                        && f.reader.max_time() >= min_time
                        && f.reader.min_time() <= max_time
                        && f.reader
                            .columns_with_prefix(key)
                            .any(|(k, _, _)| k == &key[..])
                })
            })
            .cloned()
            .collect()
    }

    /// Deletes the points of `series_keys` with `min_time <= time <= max_time` in memory:
    /// tombstones for the files up to `generation_mark` (if any), and the caches. Returns
    /// the keys tombstoned, for [`Shard::persist_tombstones`]. Call under
    /// [`Shard::lock_for_delete`]; a tombstone already held is not added again (an intent
    /// redone at start-up).
    pub(super) fn delete_in_memory(
        &self,
        series_keys: &[Vec<u8>],
        min_time: i64,
        max_time: i64,
        generation_mark: Option<u64>,
    ) -> (Vec<Vec<u8>>, Tombstone) {
        let tombstone = Tombstone {
            min_time,
            max_time,
            generation_mark: generation_mark.unwrap_or(0),
        };
        let mut added = Vec::new();
        if let Some(mark) = generation_mark {
            let current = self.tombstones();
            added = self.keys_in_files(series_keys, min_time, max_time, mark);
            added.retain(|key| !current.contains(key, &tombstone));
            if !added.is_empty() {
                let mut next = (*current).clone();
                for key in &added {
                    next.insert(key, tombstone);
                }
                *write_lock(&self.tombstones) = Arc::new(next);
            }
        }
        for key in series_keys {
            let partition = self.partition_of(key);
            if let Some(cache) = self.caches.get(partition) {
                write_lock(cache).delete(key, min_time, max_time);
            }
        }
        (added, tombstone)
    }

    /// Appends `tombstone` for `series_keys` to the shard's tombstone file (fsynced).
    pub(super) fn persist_tombstones(
        &self,
        series_keys: &[Vec<u8>],
        tombstone: Tombstone,
    ) -> Result<(), ShardError> {
        if series_keys.is_empty() {
            return Ok(());
        }
        if self.tombstone_file_suspect.load(Ordering::Acquire) {
            // Memory holds these tombstones already: the rewrite writes them too.
            return self.rewrite_tombstones_held();
        }
        let appended = tombstone::append_to_file(
            self.file_system.as_ref(),
            &self.directory,
            series_keys,
            tombstone,
        );
        appended.map_err(|e| {
            self.tombstone_file_suspect.store(true, Ordering::Release);
            ShardError(format!("writing tombstones: {e}"))
        })
    }

    /// Rewrites the tombstone file from memory; the caller holds `maintenance`.
    fn rewrite_tombstones_held(&self) -> Result<(), ShardError> {
        tombstone::rewrite(
            self.file_system.as_ref(),
            &self.directory,
            &self.tombstones(),
        )
        .map_err(|e| ShardError(format!("rewriting tombstones: {e}")))?;
        self.tombstone_file_suspect.store(false, Ordering::Release);
        Ok(())
    }

    /// Rewrites the tombstone file from memory (after an append failed), ordered against
    /// compactions and deletes.
    pub(super) fn rewrite_tombstones(&self) -> Result<(), ShardError> {
        let _maintenance = self.lock_maintenance();
        self.rewrite_tombstones_held()
    }

    /// Heap bytes of the frozen maps.
    pub(super) fn frozen_bytes(&self) -> usize {
        self.caches
            .iter()
            .map(|cache| {
                read_lock(cache)
                    .frozen
                    .iter()
                    .map(|m| m.bytes)
                    .sum::<usize>()
            })
            .sum()
    }
}

/// A shard held still for a delete: no snapshot or compaction changes its files or caches.
pub(super) struct DeleteLocks<'a> {
    _snapshotting: MutexGuard<'a, ()>,
    _maintenance: MutexGuard<'a, ()>,
}

/// Where a shard sits (from its shard group).
pub(super) struct ShardPlacement {
    pub shard_id: u64,
    pub database_id: u64,
    pub retention_policy: String,
    pub start_ns: i64,
    pub end_ns: i64,
}

/// Writes column `(series_key, field)` of a merge whose blocks are in several inputs
/// (`holders`, in input order). With `copy_blocks` (below [`FAST_ENCODING_BELOW_LEVEL`], one
/// field type, no tombstone), a block that overlaps no other and holds at least
/// [`APPEND_BLOCKS_MIN_VALUES`] is copied as it is, and the others, between two copied ones,
/// are merged; without it, all are merged. Merging decodes each input's blocks, applies the
/// tombstones, and lets the newest input win on equal times.
fn merge_blocks(
    inputs: &[Arc<ShardFile>],
    holders: &[(usize, ColumnEntry)],
    (series_key, field): (&[u8], &[u8]),
    copy_blocks: bool,
    tombstones: &Tombstones,
    writer: &mut FileWriter,
    throttle: &mut dyn FnMut(u64),
) -> Result<(), ShardError> {
    let mut blocks: Vec<(usize, BlockMeta)> = holders
        .iter()
        .flat_map(|(index, entry)| entry.blocks.iter().map(move |meta| (*index, *meta)))
        .collect();
    let spans = if copy_blocks {
        // A stable sort: on equal start times the older input stays first.
        blocks.sort_by_key(|(_, meta)| meta.min_time);
        plan_block_spans(&blocks)
    } else {
        vec![BlockSpan {
            range: 0..blocks.len(),
            copy: false,
        }]
    };
    for span in spans {
        let Some(span_blocks) = blocks.get(span.range.clone()) else {
            panic!(
                "BUG: compaction span {:?} outside its column's blocks",
                span.range
            );
        };
        if span.copy {
            for (index, meta) in span_blocks {
                let (Some(input), Some((_, entry))) =
                    (inputs.get(*index), holders.iter().find(|(i, _)| i == index))
                else {
                    panic!(
                        "BUG: compaction block of input {index}, which does not hold the column"
                    );
                };
                let bytes = input.reader.read_block_raw(meta)?;
                throttle(bytes.len() as u64);
                writer.write_block_raw(series_key, field, entry.field_type, meta, bytes)?;
            }
            continue;
        }
        let mut merged: Option<Column> = None;
        for (index, entry) in holders {
            let Some(input) = inputs.get(*index) else {
                panic!("BUG: compaction input {index} of a column is not an input");
            };
            let mut in_span = span_blocks.iter().filter(|(i, _)| i == index).peekable();
            if in_span.peek().is_none() {
                continue;
            }
            let mut column = Column::empty(entry.field_type);
            for (_, meta) in in_span {
                input.reader.read_block_into(meta, &mut column)?;
                // The budget counts file bytes, as InfluxDB's compact-throughput does.
                throttle(u64::from(meta.size));
            }
            if !column.is_normal() {
                column.normalize();
            }
            tombstones.apply(series_key, input.last_generation, &mut column);
            merge_into(&mut merged, column);
        }
        if let Some(column) = merged.filter(|c| !c.is_empty()) {
            writer.write_column(series_key, field, &column)?;
        }
    }
    Ok(())
}

/// A run of a column's blocks (sorted by start time) that a merge copies or decodes together.
#[derive(Debug, PartialEq)]
struct BlockSpan {
    range: std::ops::Range<usize>,
    copy: bool,
}

/// Splits `blocks` (sorted by start time) into spans: a block that overlaps no other and holds
/// at least [`APPEND_BLOCKS_MIN_VALUES`] is a span of its own to copy; every run of other
/// blocks between two such is one span to decode and merge (overlapping blocks must be merged
/// for newer values to win, and small ones are merged so that blocks stay large).
fn plan_block_spans(blocks: &[(usize, BlockMeta)]) -> Vec<BlockSpan> {
    let mut spans: Vec<BlockSpan> = Vec::new();
    let mut start = 0;
    while start < blocks.len() {
        // The cluster of blocks that chain-overlap the one at `start`.
        let mut end = start;
        let mut cluster_max_time = i64::MIN;
        while let Some((_, meta)) = blocks.get(end) {
            if end > start && meta.min_time > cluster_max_time {
                break;
            }
            cluster_max_time = cluster_max_time.max(meta.max_time);
            end += 1;
        }
        let copy = end - start == 1
            && blocks
                .get(start)
                .is_some_and(|(_, meta)| meta.count >= APPEND_BLOCKS_MIN_VALUES);
        match spans.last_mut() {
            Some(last) if !copy && !last.copy => last.range.end = end,
            _ => spans.push(BlockSpan {
                range: start..end,
                copy,
            }),
        }
        start = end;
    }
    spans
}

pub(super) fn merge_into(result: &mut Option<Column>, newer: Column) {
    match result.as_mut() {
        None => *result = Some(newer),
        Some(older) => {
            older.merge_newer(newer);
        }
    }
}

/// Opens the `.tsm` files of `directory`: removes leftover temporary files and files whose
/// generations another file covers (an interrupted compaction), skips (and logs) corrupt ones.
/// Returns the files served and the highest generation any file there is named with, served
/// or not: a new file must not reuse the generation of a corrupt one left in place, or the
/// next open would take the new file for an input that one already covers.
fn load_files(
    file_system: &dyn FileSystem,
    directory: &Path,
    read_only: bool,
) -> (Vec<Arc<ShardFile>>, u64) {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), 0),
        Err(error) => {
            sluice_base::log_error!("storage", "cannot list a shard directory"; path = directory.display(), error = error);
            return (Vec::new(), 0);
        }
    };
    let mut found: Vec<(u64, u64, u32, PathBuf)> = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(TEMPORARY_SUFFIX) {
            if !read_only {
                let _ = file_system.remove_file(&path);
            }
            continue;
        }
        if let Some((first, last, level)) = parse_file_name(&name) {
            found.push((first, last, level, path));
        }
    }
    // A file is superseded by one covering its generations: a wider range, or the same
    // range at a higher level (a cold shard's single file recompacted).
    let covered = |candidate: &(u64, u64, u32, PathBuf)| {
        found.iter().any(|other| {
            other.3 != candidate.3
                && other.0 <= candidate.0
                && candidate.1 <= other.1
                && ((other.0, other.1) != (candidate.0, candidate.1) || other.2 > candidate.2)
        })
    };
    let mut files = Vec::new();
    for candidate in &found {
        if covered(candidate) {
            if !read_only {
                sluice_base::log_info!("storage", "removing a file an interrupted compaction already merged"; path = candidate.3.display());
                let _ = file_system.remove_file(&candidate.3);
            }
            continue;
        }
        match FileReader::open(&candidate.3) {
            Ok(reader) => files.push(Arc::new(ShardFile {
                reader,
                first_generation: candidate.0,
                last_generation: candidate.1,
                level: candidate.2,
            })),
            Err(error) => {
                sluice_base::log_error!("storage", "file failed its checks and is not served"; path = candidate.3.display(), error = error);
            }
        }
    }
    files.sort_by_key(|f| (f.last_generation, f.first_generation));
    let highest_generation = found.iter().map(|f| f.1).max().unwrap_or(0);
    (files, highest_generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(min_time: i64, max_time: i64, count: u32) -> BlockMeta {
        BlockMeta {
            min_time,
            max_time,
            count,
            offset: 0,
            size: 0,
            stats: None,
        }
    }

    #[test]
    fn large_blocks_alone_in_their_time_are_copied_and_the_rest_merged_together() {
        let big = APPEND_BLOCKS_MIN_VALUES;
        let blocks = [
            (0, block(0, 99, big)),    // copy
            (1, block(100, 199, big)), // overlaps the next: merge
            (0, block(150, 250, big)), // ...
            (1, block(300, 310, 3)),   // small: merged with the run before
            (0, block(400, 499, big)), // copy
            (1, block(500, 509, 2)),   // small, alone: merged
        ];
        let spans = plan_block_spans(&blocks);
        let plan: Vec<_> = spans.iter().map(|s| (s.range.clone(), s.copy)).collect();
        assert_eq!(
            plan,
            [(0..1, true), (1..4, false), (4..5, true), (5..6, false)]
        );
        // Equal bounds count as overlapping: the newer value must win.
        let touching = [(0, block(0, 10, big)), (1, block(10, 20, big))];
        let spans = plan_block_spans(&touching);
        assert_eq!(
            spans,
            [BlockSpan {
                range: 0..2,
                copy: false
            }]
        );
        assert!(plan_block_spans(&[]).is_empty());
    }

    #[test]
    fn file_names_round_trip() {
        assert_eq!(parse_file_name(&file_name(3, 9, 2)), Some((3, 9, 2)));
        assert_eq!(parse_file_name("g1-2-l3.tsm.tmp"), None);
        assert_eq!(parse_file_name("g9-2-l3.tsm"), None);
        assert_eq!(parse_file_name("x.tsm"), None);
    }
}
