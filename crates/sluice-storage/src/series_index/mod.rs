//! The persistent series index of one database: series key ⇄ dense `u32` series id, and the
//! inverted index that answers SHOW MEASUREMENTS / TAG KEYS / TAG VALUES and WHERE on tags.
//!
//! Owns one directory (the engine gives each database its own) holding the series log
//! ([`series_log`] has the byte layout). Must not know about points, fields or shards. One
//! `SeriesIndex` per directory at a time (not enforced by a file lock: the engine opens each
//! database once).
//!
//! # Ids
//! Ids are given densely in creation order from 0 and never reused: a deleted series keeps
//! its id dead, and writing its key again creates a new id. The id of a series is in the log
//! once [`SeriesIndex::sync`] returns; before that, a crash may lose it, and after the
//! restart the same id can go to another key. **A caller that persists ids (in data files)
//! must call `sync` before those files become durable.** New series are also in the WAL, and
//! the engine syncs the index before it deletes WAL segments, so the series survive anyway.
//!
//! # Memory layout
//! ```text
//! series   KeyTable  escaped series keys in an arena, id → locator (8 B), hash slots (8 B)
//! symbols  KeyTable  unescaped measurements, tag keys and tag values, each stored once
//! inverted           measurement symbol → { series bitmap,
//!                        tag key symbol → { series bitmap, value symbol → postings } }
//!                    postings: one inline id, or a boxed RoaringBitmap from the second series
//! ```
//! No allocation is made per series except by a map or bitmap growing. A series' parsed form
//! ([`SeriesIndex::tags_of`]) is recomputed from its key instead of being stored.
//!
//! Measured with `cargo bench --bench series_index` (1M series, keys like
//! `cpu,host=host123456,region=r12,rack=r7`, heap counted by a wrapping allocator): **132
//! heap bytes per series**, of which about 38 key bytes + 8 locator + 16 hash slots (the
//! table is at load 0.48 right after doubling at 786k), ~34 for the interned host value
//! (bytes, locator, slots), ~27 for its entry in the value map (12-byte entries, 2^21
//! buckets), ~8 for the bitmaps. On the shared 2-vCPU test machine (load average 5 to 9 from
//! other builds): open (replay of the 51 MB log) 2.2 to 2.7 s, creating a series 1.5 to 2.6
//! µs, `get_or_create` of an existing key ~47 ns when it is in cache and 0.6 to 0.8 µs in
//! scrambled order over all 1M keys (two cache misses: hash slot, then arena bytes).
//!
//! # Concurrency
//! One `RwLock` over the tables. `get_or_create` hashes outside the lock, then looks the key
//! up under the read lock (the path of every existing series); only a new key takes the
//! write lock, checks again and inserts. Log records are appended to a buffer under the write
//! lock (so their order is the id order); the buffer is written to the file by whoever passes
//! [`LOG_BUFFER_FLUSH_BYTES`] or calls `sync`, under a separate file mutex taken before the
//! table lock and never while holding it, so file I/O never blocks lookups.
//!
//! # Crash semantics
//! The log is append-only. `open` replays it; at the first torn or corrupt record it logs a
//! warning, truncates the file there and keeps every record before it. The file and its
//! directory entry are fsynced at creation. A write error makes the log *failed*: the index
//! keeps working in memory, and every later `sync` returns an error, so the engine keeps its
//! WAL (which still names every series) until a restart rebuilds the index.
//!
//! Not done: compaction of the log (it keeps the adds of deleted series; replay skips them,
//! so they cost file bytes and replay time, not memory), and freeing interned names whose
//! last series was deleted (until the next open).

mod inverted;
mod series_key;
mod series_log;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The set type of series ids in this API, re-exported so callers need not depend on it.
pub use roaring::RoaringBitmap;

use sluice_base::fsio::{FileSystem, OsFileSystem, WritableFile};

use crate::key_table::{hash_bytes, random_seed, KeyTable};
use inverted::{InvertedIndex, Symbol};
use series_key::{split_key, unescape_measurement, unescape_tag, KeyParts};
use series_log::{HeaderCheck, LogScanner, Record};

/// The key a rewritten log gives the ids of dropped series (a valid key; never indexed).
const DROPPED_SERIES_PLACEHOLDER_KEY: &[u8] = b"_dropped";

pub use series_key::InvalidKey;
pub use series_log::{LogDamage, SERIES_LOG_FILE_NAME};

/// Buffered log bytes after which a creating thread writes them to the file.
pub const LOG_BUFFER_FLUSH_BYTES: usize = 64 * 1024;

/// An error of the series index.
#[derive(Debug)]
pub enum IndexError {
    /// the series key is malformed
    InvalidKey(InvalidKey),
    /// every id is taken (about 4 billion series)
    TooManySeries,
    /// an I/O error on the log, with what was being done
    Io {
        /// what failed
        action: &'static str,
        /// the file
        path: PathBuf,
        /// the cause
        error: io::Error,
    },
    /// the log file does not start with the series log magic
    NotASeriesLog(PathBuf),
    /// the log file is of another format version
    UnsupportedVersion(PathBuf, u32),
    /// an earlier write to the log failed; it is not durable until the index is reopened
    LogFailed(PathBuf),
}

impl fmt::Display for IndexError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexError::InvalidKey(reason) => write!(formatter, "{reason}"),
            IndexError::TooManySeries => formatter.write_str("too many series in the database"),
            IndexError::Io {
                action,
                path,
                error,
            } => write!(formatter, "{action} {}: {error}", path.display()),
            IndexError::NotASeriesLog(path) => {
                write!(formatter, "{} is not a series log", path.display())
            }
            IndexError::UnsupportedVersion(path, version) => write!(
                formatter,
                "{} has series log version {version}, expected {}",
                path.display(),
                series_log::FORMAT_VERSION
            ),
            IndexError::LogFailed(path) => write!(
                formatter,
                "an earlier write to {} failed; the series index is not durable",
                path.display()
            ),
        }
    }
}

impl std::error::Error for IndexError {}

impl From<InvalidKey> for IndexError {
    fn from(reason: InvalidKey) -> IndexError {
        IndexError::InvalidKey(reason)
    }
}

/// A series as InfluxQL shows it: unescaped measurement and tags, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesTags {
    /// the measurement name
    pub measurement: Vec<u8>,
    /// (tag key, tag value) pairs
    pub tags: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A tag value a new series would add past `max-values-per-tag`
/// ([`SeriesIndex::tag_value_over_limit`]); names unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagOverLimit {
    /// the measurement
    pub measurement: Vec<u8>,
    /// the tag key
    pub tag_key: Vec<u8>,
    /// the new value
    pub tag_value: Vec<u8>,
    /// values the tag key already has
    pub values: usize,
}

/// What `open` found in the log (for the start-up log line and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// bytes of the log kept (header included)
    pub valid_bytes: usize,
    /// bytes cut off after the damage
    pub cut_bytes: usize,
    /// what stopped the replay early, if anything
    pub damage: Option<LogDamage>,
    /// add records replayed
    pub added: u32,
    /// series live after replay
    pub live: usize,
}

/// What [`SeriesIndex::check_log`] found in a series log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogCheck {
    /// records that read (adds and deletes)
    pub records: usize,
    /// bytes of the log that read, header included: `open` would cut the file here
    pub valid_bytes: usize,
    /// size of the file
    pub file_bytes: usize,
    /// what stopped the reading before the end, if anything
    pub damage: Option<LogDamage>,
    /// whether the damaged record runs to the end of the file or past it, as a write cut by
    /// a crash leaves it (`false`: bytes follow it, so it is damage, not a torn write)
    pub damage_reaches_end: bool,
}

/// The tables, behind the index's lock.
struct Tables {
    /// hash seed of both key tables (random per index)
    hash_seed: u64,
    /// series keys; id = series id
    series: KeyTable,
    /// unescaped names; id = symbol
    symbols: KeyTable,
    /// the inverted index over symbols
    inverted: InvertedIndex,
    /// log records not yet written to the file (empty for an in-memory index)
    log_buffer: Vec<u8>,
    /// unescaping scratch
    scratch: Vec<u8>,
}

/// The log file, behind its own mutex.
struct LogFile {
    path: PathBuf,
    file: Box<dyn WritableFile>,
    /// the buffer swapped out of `Tables` while it is written (keeps its capacity)
    spare: Vec<u8>,
    /// a write or fdatasync failed: the file's tail is unknown; the next `sync` rewrites the
    /// whole log from the index in memory
    failed: bool,
    /// where the log is written (the real disk, or a simulated one)
    file_system: Arc<dyn FileSystem>,
}

/// The series index of one database; see the module doc.
pub struct SeriesIndex {
    hash_seed: u64,
    tables: RwLock<Tables>,
    /// `None` for an index that lives only in memory
    log: Option<Mutex<LogFile>>,
}

fn io_error<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> IndexError + 'p {
    move |error| IndexError::Io {
        action,
        path: path.to_path_buf(),
        error,
    }
}

impl Tables {
    fn new(hash_seed: u64, expected_series: usize) -> Tables {
        Tables {
            hash_seed,
            series: KeyTable::with_capacity(expected_series),
            symbols: KeyTable::default(),
            inverted: InvertedIndex::default(),
            log_buffer: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The symbol of unescaped `name`, interned if new. `None` when symbols are exhausted.
    fn intern(symbols: &mut KeyTable, seed: u64, name: &[u8]) -> Option<Symbol> {
        let hash = hash_bytes(seed, name);
        symbols
            .find(name, hash)
            .or_else(|| symbols.insert_new(name, hash))
    }

    /// The symbol of unescaped `name`, if interned.
    fn symbol(&self, name: &[u8]) -> Option<Symbol> {
        self.symbols.find(name, hash_bytes(self.hash_seed, name))
    }

    /// Symbols of a key's parts, interning new names (`intern`) or only finding them.
    fn symbols_of(
        &mut self,
        parts: &KeyParts<'_>,
        intern: bool,
    ) -> Option<(Symbol, Vec<(Symbol, Symbol)>)> {
        let seed = self.hash_seed;
        let mut lookup = |escaped: &[u8], is_measurement: bool| {
            self.scratch.clear();
            if is_measurement {
                unescape_measurement(escaped, &mut self.scratch);
            } else {
                unescape_tag(escaped, &mut self.scratch);
            }
            if intern {
                Self::intern(&mut self.symbols, seed, &self.scratch)
            } else {
                self.symbols
                    .find(&self.scratch, hash_bytes(seed, &self.scratch))
            }
        };
        let measurement = lookup(parts.measurement, true)?;
        let mut tags = Vec::with_capacity(parts.tags.len());
        for &(key, value) in &parts.tags {
            tags.push((lookup(key, false)?, lookup(value, false)?));
        }
        Some((measurement, tags))
    }

    /// Creates the series `key` (absent, valid, split into `parts`) as the next id.
    fn create(&mut self, key: &[u8], hash: u64, parts: &KeyParts<'_>) -> Result<u32, IndexError> {
        let (measurement, tags) = self
            .symbols_of(parts, true)
            .ok_or(IndexError::TooManySeries)?;
        let id = self
            .series
            .insert_new(key, hash)
            .ok_or(IndexError::TooManySeries)?;
        self.inverted.add(id, measurement, &tags);
        Ok(id)
    }

    /// Removes live series `id` from every structure; returns whether it was live.
    fn delete(&mut self, id: u32) -> bool {
        let Some(key) = self.series.get(id) else {
            return false;
        };
        // Copied out: the key's bytes are borrowed from the table that is changed below.
        let key = key.to_vec();
        let hash = hash_bytes(self.hash_seed, &key);
        if let Ok(parts) = split_key(&key) {
            if let Some((measurement, tags)) = self.symbols_of(&parts, false) {
                self.inverted.remove(id, measurement, &tags);
            }
        }
        self.series.remove(id, hash)
    }

    fn tags_of(&self, id: u32) -> Option<SeriesTags> {
        let parts = split_key(self.series.get(id)?).ok()?;
        let mut measurement = Vec::new();
        unescape_measurement(parts.measurement, &mut measurement);
        let tags = parts
            .tags
            .iter()
            .map(|&(key, value)| {
                let (mut key_out, mut value_out) = (Vec::new(), Vec::new());
                unescape_tag(key, &mut key_out);
                unescape_tag(value, &mut value_out);
                (key_out, value_out)
            })
            .collect();
        Some(SeriesTags { measurement, tags })
    }

    fn names(&self, symbols: impl Iterator<Item = Symbol>) -> Vec<Vec<u8>> {
        let mut names: Vec<Vec<u8>> = symbols
            .filter_map(|symbol| self.symbols.get(symbol).map(<[u8]>::to_vec))
            .collect();
        names.sort_unstable();
        names
    }

    fn tag_key_entry(&self, measurement: &[u8], key: &[u8]) -> Option<&inverted::TagKeyEntry> {
        let entry = self.inverted.measurements.get(&self.symbol(measurement)?)?;
        entry.tag_keys.get(&self.symbol(key)?)
    }

    /// `entry`'s values in their names' byte order, sorted by the first reader after a
    /// change of the key's values and kept until the next.
    fn sorted_values<'e>(&self, entry: &'e inverted::TagKeyEntry) -> &'e [Symbol] {
        entry.sorted_values.get_or_init(|| {
            let mut symbols: Vec<Symbol> = entry.values.keys().copied().collect();
            symbols.sort_unstable_by(|a, b| self.symbols.get(*a).cmp(&self.symbols.get(*b)));
            symbols.into_boxed_slice()
        })
    }

    /// Replays a log whose header is valid; returns the tables and what was found.
    fn replay(file: &[u8], hash_seed: u64) -> (Tables, ReplayReport) {
        // Pass 1: validate, find where the good records end, count adds and collect deletes.
        let mut scanner = LogScanner::new(file);
        let mut deleted = RoaringBitmap::new();
        let mut damage = None;
        loop {
            match scanner.next_record() {
                Ok(Some(Record::Add { .. })) => {}
                Ok(Some(Record::Delete { ids })) => deleted.extend(series_log::delete_ids(ids)),
                Ok(None) => break,
                Err(found) => {
                    damage = Some(found);
                    break;
                }
            }
        }
        let valid_bytes = scanner.offset();
        let added = scanner.next_id();
        let live_expected = (u64::from(added) - deleted.len()) as usize;
        // Pass 2: build only the live series, so deleted ones cost no arena or index space.
        let mut tables = Tables::new(hash_seed, live_expected);
        let mut scanner = LogScanner::new(file.get(..valid_bytes).unwrap_or_default());
        while let Ok(Some(record)) = scanner.next_record() {
            if let Record::Add { id, key } = record {
                if !deleted.contains(id) {
                    tables.replay_add(id, key);
                }
            }
        }
        tables.series.skip_to(added);
        let report = ReplayReport {
            valid_bytes,
            cut_bytes: file.len() - valid_bytes,
            damage,
            added,
            live: tables.series.live_count(),
        };
        (tables, report)
    }

    /// Re-creates series `id` from an add record (its key was validated by the scan).
    fn replay_add(&mut self, id: u32, key: &[u8]) {
        let hash = hash_bytes(self.hash_seed, key);
        if self.series.find(key, hash).is_some() {
            // Only a bug can write one key twice; the later id stays dead.
            sluice_base::log_warn!("series_index", "duplicate series key in the log; id left unused";
                id = id);
            return;
        }
        self.series.skip_to(id);
        let Ok(parts) = split_key(key) else {
            return;
        };
        if let Err(error) = self.create(key, hash, &parts) {
            sluice_base::log_warn!("series_index", "series not replayed"; id = id, error = error);
        }
    }
}

impl SeriesIndex {
    /// An empty index that keeps nothing on disk (tests, tools).
    pub fn in_memory() -> SeriesIndex {
        let hash_seed = random_seed();
        SeriesIndex {
            hash_seed,
            tables: RwLock::new(Tables::new(hash_seed, 0)),
            log: None,
        }
    }

    /// Builds an in-memory index from the bytes of a series log file (header included), as
    /// `open` would; nothing is written anywhere. For the fuzz target and tools.
    pub fn from_log_bytes(file: &[u8]) -> Result<(SeriesIndex, ReplayReport), IndexError> {
        let path = PathBuf::from(SERIES_LOG_FILE_NAME);
        match series_log::check_header(file) {
            HeaderCheck::Valid => {}
            HeaderCheck::Torn => return Ok((SeriesIndex::in_memory(), ReplayReport::default())),
            HeaderCheck::ForeignMagic => return Err(IndexError::NotASeriesLog(path)),
            HeaderCheck::UnsupportedVersion(version) => {
                return Err(IndexError::UnsupportedVersion(path, version))
            }
        }
        let hash_seed = random_seed();
        let (tables, report) = Tables::replay(file, hash_seed);
        let index = SeriesIndex {
            hash_seed,
            tables: RwLock::new(tables),
            log: None,
        };
        Ok((index, report))
    }

    /// Reads the series log in `directory` as [`SeriesIndex::open`] replays it, without
    /// building the index or writing anything (for `sluice verify`): what reads, and where
    /// and why the reading stops. `Ok(None)` when there is no log.
    pub fn check_log(directory: &Path) -> Result<Option<LogCheck>, IndexError> {
        let path = directory.join(SERIES_LOG_FILE_NAME);
        let contents = match fs::read(&path) {
            Ok(contents) => contents,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error("read", &path)(error)),
        };
        let mut check = LogCheck {
            records: 0,
            valid_bytes: 0,
            file_bytes: contents.len(),
            damage: None,
            damage_reaches_end: false,
        };
        match series_log::check_header(&contents) {
            HeaderCheck::Valid => {}
            HeaderCheck::Torn => {
                // Creation cut short by a crash: `open` starts the log again.
                check.damage = Some(LogDamage::Torn);
                check.damage_reaches_end = true;
                return Ok(Some(check));
            }
            HeaderCheck::ForeignMagic => return Err(IndexError::NotASeriesLog(path)),
            HeaderCheck::UnsupportedVersion(version) => {
                return Err(IndexError::UnsupportedVersion(path, version))
            }
        }
        let mut scanner = LogScanner::new(&contents);
        loop {
            match scanner.next_record() {
                Ok(Some(_)) => check.records += 1,
                Ok(None) => break,
                Err(damage) => {
                    check.damage = Some(damage);
                    check.damage_reaches_end =
                        series_log::record_reaches_end(&contents, scanner.offset());
                    break;
                }
            }
        }
        check.valid_bytes = scanner.offset();
        Ok(Some(check))
    }

    /// Opens the index in `directory` (creating both if missing) and replays its log.
    pub fn open(directory: &Path) -> Result<SeriesIndex, IndexError> {
        SeriesIndex::open_with(directory, Arc::new(OsFileSystem))
    }

    /// [`SeriesIndex::open`] writing its log through `file_system`.
    pub fn open_with(
        directory: &Path,
        file_system: Arc<dyn FileSystem>,
    ) -> Result<SeriesIndex, IndexError> {
        SeriesIndex::open_with_report_in(directory, file_system).map(|(index, _)| index)
    }

    /// [`SeriesIndex::open`], also telling what the replay found.
    pub fn open_with_report(directory: &Path) -> Result<(SeriesIndex, ReplayReport), IndexError> {
        SeriesIndex::open_with_report_in(directory, Arc::new(OsFileSystem))
    }

    fn open_with_report_in(
        directory: &Path,
        file_system: Arc<dyn FileSystem>,
    ) -> Result<(SeriesIndex, ReplayReport), IndexError> {
        sluice_base::fsio::create_directory_durably(file_system.as_ref(), directory)
            .map_err(io_error("create directory", directory))?;
        let path = directory.join(SERIES_LOG_FILE_NAME);
        let contents = match fs::read(&path) {
            Ok(contents) => contents,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(io_error("read", &path)(error)),
        };
        let hash_seed = random_seed();
        let (tables, report) = match series_log::check_header(&contents) {
            HeaderCheck::Valid => Tables::replay(&contents, hash_seed),
            HeaderCheck::Torn => {
                create_log(file_system.as_ref(), directory, &path)?;
                (Tables::new(hash_seed, 0), ReplayReport::default())
            }
            HeaderCheck::ForeignMagic => return Err(IndexError::NotASeriesLog(path)),
            HeaderCheck::UnsupportedVersion(version) => {
                return Err(IndexError::UnsupportedVersion(path, version))
            }
        };
        if let Some(damage) = report.damage {
            sluice_base::log_warn!("series_index", "series log damaged; cutting its tail";
                path = path.display(), damage = damage, offset = report.valid_bytes,
                cut_bytes = report.cut_bytes);
            truncate_log(file_system.as_ref(), &path, report.valid_bytes)?;
        }
        let file = file_system
            .open_append(&path)
            .map_err(io_error("open", &path))?;
        let log = LogFile {
            path,
            file,
            spare: Vec::new(),
            failed: false,
            file_system,
        };
        let index = SeriesIndex {
            hash_seed,
            tables: RwLock::new(tables),
            log: Some(Mutex::new(log)),
        };
        Ok((index, report))
    }

    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        sluice_base::locks::read(&self.tables)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        sluice_base::locks::write(&self.tables)
    }

    fn lock_log(log: &Mutex<LogFile>) -> MutexGuard<'_, LogFile> {
        sluice_base::locks::lock(log)
    }

    /// The id of `series_key` (canonical escaped form), creating the series if it is new.
    #[inline]
    pub fn get_or_create(&self, series_key: &[u8]) -> Result<u32, IndexError> {
        let hash = hash_bytes(self.hash_seed, series_key);
        if let Some(id) = self.read().series.find(series_key, hash) {
            return Ok(id);
        }
        self.create(series_key, hash)
    }

    /// Ids of `series_keys` in order, appended to `ids`, under one read lock for the existing
    /// ones. Stops at the first invalid key (the ids of the keys before it are appended).
    pub fn get_or_create_many(
        &self,
        series_keys: &[&[u8]],
        ids: &mut Vec<u32>,
    ) -> Result<(), IndexError> {
        let first_new = {
            let tables = self.read();
            let mut first_new = series_keys.len();
            for (position, key) in series_keys.iter().enumerate() {
                match tables.series.find(key, hash_bytes(self.hash_seed, key)) {
                    Some(id) => ids.push(id),
                    None => {
                        first_new = position;
                        break;
                    }
                }
            }
            first_new
        };
        for key in series_keys.get(first_new..).unwrap_or_default() {
            ids.push(self.get_or_create(key)?);
        }
        Ok(())
    }

    fn create(&self, series_key: &[u8], hash: u64) -> Result<u32, IndexError> {
        let parts = split_key(series_key)?;
        let (id, flush) = {
            let mut tables = self.write();
            if let Some(id) = tables.series.find(series_key, hash) {
                return Ok(id);
            }
            let id = tables.create(series_key, hash, &parts)?;
            if self.log.is_some() {
                series_log::append_add(&mut tables.log_buffer, id, series_key);
            }
            (id, tables.log_buffer.len() >= LOG_BUFFER_FLUSH_BYTES)
        };
        if flush {
            self.flush(false);
        }
        Ok(id)
    }

    /// Writes buffered records to the file; with `wait`, waits for a writer in progress
    /// (else leaves the work to it). A failure is kept in the log state for `sync`.
    fn flush(&self, wait: bool) {
        let Some(log) = self.log.as_ref() else {
            return;
        };
        let mut file = if wait {
            Self::lock_log(log)
        } else {
            match log.try_lock() {
                Ok(file) => file,
                Err(std::sync::TryLockError::Poisoned(_)) => sluice_base::locks::poisoned(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            }
        };
        let file = &mut *file;
        std::mem::swap(&mut self.write().log_buffer, &mut file.spare);
        if !file.spare.is_empty() && !file.failed {
            if let Err(error) = file.file.write_all(&file.spare) {
                sluice_base::log_error!("series_index", "series log write failed";
                    path = file.path.display(), error = error);
                file.failed = true;
            }
        }
        file.spare.clear();
    }

    /// Writes every buffered record and fdatasyncs the log: every series created before the
    /// call is durable when it returns Ok.
    pub fn sync(&self) -> Result<(), IndexError> {
        let Some(log) = self.log.as_ref() else {
            return Ok(());
        };
        let mut file = Self::lock_log(log);
        std::mem::swap(&mut self.write().log_buffer, &mut file.spare);
        let file = &mut *file;
        if file.failed {
            // The rewrite holds every record buffered so far.
            return self.rewrite_log(file);
        }
        if !file.spare.is_empty() {
            if let Err(error) = file.file.write_all(&file.spare) {
                file.failed = true;
                file.spare.clear();
                return Err(io_error("write", &file.path)(error));
            }
        }
        file.spare.clear();
        if let Err(error) = file.file.sync_data() {
            // Which unsynced records reached the disk is unknown: rewrite it all next time.
            file.failed = true;
            return Err(io_error("fdatasync", &file.path)(error));
        }
        Ok(())
    }

    /// Replaces a log whose tail is unknown (a write or fdatasync failed) with one written
    /// from the index in memory, atomically (temporary, fsync, rename, directory fsync), so
    /// a full disk that has room again does not leave every later checkpoint failing.
    fn rewrite_log(&self, file: &mut LogFile) -> Result<(), IndexError> {
        // The write lock keeps series from being created while the log is rebuilt; it is
        // held only in this recovery, never on the normal path.
        let mut tables = self.write();
        let mut bytes = series_log::header().to_vec();
        // Add records must carry every id in turn (replay refuses a gap), so a dropped
        // series is written as an add of a placeholder key and deleted again; replay's
        // second pass never builds it.
        let mut dropped = Vec::new();
        for id in 0..tables.series.next_id() {
            match tables.series.get(id) {
                Some(key) => series_log::append_add(&mut bytes, id, key),
                None => {
                    series_log::append_add(&mut bytes, id, DROPPED_SERIES_PLACEHOLDER_KEY);
                    dropped.push(id);
                }
            }
        }
        series_log::append_deletes(&mut bytes, &dropped);
        let directory = file.path.parent().unwrap_or(Path::new("."));
        sluice_base::fsio::write_file_atomically(
            file.file_system.as_ref(),
            directory,
            SERIES_LOG_FILE_NAME,
            &bytes,
        )
        .map_err(io_error("rewrite", &file.path))?;
        file.file = file
            .file_system
            .open_append(&file.path)
            .map_err(io_error("open", &file.path))?;
        tables.log_buffer.clear();
        file.spare.clear();
        file.failed = false;
        sluice_base::log_info!("series_index", "series log rewritten after a failed write";
            path = file.path.display(), bytes = bytes.len());
        Ok(())
    }

    /// Deletes the live series among `ids` from every structure and logs it (durable at the
    /// next `sync`). Returns how many were live.
    pub fn delete_series(&self, ids: &RoaringBitmap) -> usize {
        let mut tables = self.write();
        // Ids past the last one given cannot be live; bounding the walk makes a huge bitmap
        // (say 0..=u32::MAX) cost only the ids that exist.
        let next_id = tables.series.next_id();
        let deleted: Vec<u32> = ids
            .range(..next_id)
            .filter(|&id| tables.delete(id))
            .collect();
        if self.log.is_some() {
            series_log::append_deletes(&mut tables.log_buffer, &deleted);
        }
        deleted.len()
    }

    /// The id of `series_key`, if the series exists.
    pub fn id_of(&self, series_key: &[u8]) -> Option<u32> {
        let hash = hash_bytes(self.hash_seed, series_key);
        self.read().series.find(series_key, hash)
    }

    /// The series key of live series `id`.
    pub fn key_of(&self, id: u32) -> Option<Vec<u8>> {
        self.with_key(id, <[u8]>::to_vec)
    }

    /// Calls `visit` with the series key of live series `id`, under the read lock.
    pub fn with_key<R>(&self, id: u32, visit: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.read().series.get(id).map(visit)
    }

    /// The unescaped measurement and tags of live series `id`.
    pub fn tags_of(&self, id: u32) -> Option<SeriesTags> {
        self.read().tags_of(id)
    }

    /// Live series, and the most values any one tag key has had (an upper bound: deletes do
    /// not lower it), under one read lock: the write path's check for whether a request can
    /// reach `[data] max-series-per-database` or `max-values-per-tag` at all.
    pub fn cardinality(&self) -> (usize, usize) {
        let tables = self.read();
        (
            tables.series.live_count(),
            tables.inverted.largest_tag_key_values,
        )
    }

    /// For series `series_key` (canonical, escaped; meant for a key that is not in the
    /// index): its first tag (in key order) whose value is new to its measurement's tag key
    /// while that key already has `max_values` values or more, as InfluxDB 1.6.7's
    /// `max-values-per-tag` check finds it. `None` when every tag passes or the key is
    /// invalid.
    pub fn tag_value_over_limit(
        &self,
        series_key: &[u8],
        max_values: usize,
    ) -> Option<TagOverLimit> {
        let parts = split_key(series_key).ok()?;
        let tables = self.read();
        let mut measurement = Vec::new();
        unescape_measurement(parts.measurement, &mut measurement);
        let entry = tables
            .symbol(&measurement)
            .and_then(|symbol| tables.inverted.measurements.get(&symbol))?;
        let (mut key, mut value) = (Vec::new(), Vec::new());
        for &(escaped_key, escaped_value) in &parts.tags {
            key.clear();
            unescape_tag(escaped_key, &mut key);
            let Some(key_entry) = tables
                .symbol(&key)
                .and_then(|symbol| entry.tag_keys.get(&symbol))
            else {
                continue;
            };
            value.clear();
            unescape_tag(escaped_value, &mut value);
            let known = tables
                .symbol(&value)
                .is_some_and(|symbol| key_entry.values.contains_key(&symbol));
            if !known && key_entry.values.len() >= max_values {
                return Some(TagOverLimit {
                    measurement,
                    tag_key: key,
                    tag_value: value,
                    values: key_entry.values.len(),
                });
            }
        }
        None
    }

    /// Live series.
    pub fn series_count(&self) -> usize {
        self.read().series.live_count()
    }

    /// Approximate heap bytes of the index (for `/debug/vars`); walks the bitmaps of the tag
    /// values that have more than one series.
    pub fn memory_bytes(&self) -> usize {
        let tables = self.read();
        tables.series.memory_bytes()
            + tables.symbols.memory_bytes()
            + tables.inverted.memory_bytes()
            + tables.log_buffer.capacity()
            + tables.scratch.capacity()
    }

    /// Measurements with at least one series, unescaped, sorted.
    pub fn measurements(&self) -> Vec<Vec<u8>> {
        let tables = self.read();
        tables.names(tables.inverted.measurements.keys().copied())
    }

    /// Series of `measurement` (unescaped name); empty if there is none.
    pub fn measurement_series(&self, measurement: &[u8]) -> RoaringBitmap {
        let tables = self.read();
        tables
            .symbol(measurement)
            .and_then(|symbol| tables.inverted.measurements.get(&symbol))
            .map(|entry| entry.series.clone())
            .unwrap_or_default()
    }

    /// Tag keys of `measurement`, unescaped, sorted.
    pub fn tag_keys(&self, measurement: &[u8]) -> Vec<Vec<u8>> {
        let tables = self.read();
        let Some(entry) = tables
            .symbol(measurement)
            .and_then(|symbol| tables.inverted.measurements.get(&symbol))
        else {
            return Vec::new();
        };
        tables.names(entry.tag_keys.keys().copied())
    }

    /// Values of tag `key` in `measurement`, unescaped, sorted.
    pub fn tag_values(&self, measurement: &[u8], key: &[u8]) -> Vec<Vec<u8>> {
        let mut values = Vec::new();
        self.visit_tag_values(measurement, key, None, |value| values.push(value.to_vec()));
        values
    }

    /// Calls `visit` with each value of tag `key` in `measurement` (unescaped, in byte
    /// order) that at least one series of `within` has; every value when `within` is `None`.
    /// Nothing is copied, and the order is sorted once per change of the key's values.
    pub fn visit_tag_values(
        &self,
        measurement: &[u8],
        key: &[u8],
        within: Option<&RoaringBitmap>,
        mut visit: impl FnMut(&[u8]),
    ) {
        let tables = self.read();
        let Some(entry) = tables.tag_key_entry(measurement, key) else {
            return;
        };
        for symbol in tables.sorted_values(entry).iter() {
            let wanted = within.is_none_or(|series| {
                entry
                    .values
                    .get(symbol)
                    .is_some_and(|postings| postings.intersects(&tables.inverted.pool, series))
            });
            if let Some(name) = tables.symbols.get(*symbol).filter(|_| wanted) {
                visit(name);
            }
        }
    }

    /// Series of `measurement` whose tag `key` is `value` (all unescaped).
    pub fn series_with_tag(&self, measurement: &[u8], key: &[u8], value: &[u8]) -> RoaringBitmap {
        let tables = self.read();
        tables
            .tag_key_entry(measurement, key)
            .zip(tables.symbol(value))
            .and_then(|(entry, value)| entry.values.get(&value))
            .map(|postings| postings.to_bitmap(&tables.inverted.pool))
            .unwrap_or_default()
    }

    /// Series of `measurement` that have tag `key` with a value for which `matches` is true
    /// (`=~`, `!=`, `!~`; series without the key are not included: see
    /// [`SeriesIndex::series_without_tag`]).
    pub fn series_with_tag_matching(
        &self,
        measurement: &[u8],
        key: &[u8],
        mut matches: impl FnMut(&[u8]) -> bool,
    ) -> RoaringBitmap {
        let tables = self.read();
        let mut series = RoaringBitmap::new();
        if let Some(entry) = tables.tag_key_entry(measurement, key) {
            for (&value, postings) in &entry.values {
                if tables.symbols.get(value).is_some_and(&mut matches) {
                    postings.union_into(&tables.inverted.pool, &mut series);
                }
            }
        }
        series
    }

    /// [`SeriesIndex::series_with_tag_matching`] for a `matches` that is false for every value
    /// not starting with `prefix` (an anchored regex's literal start): only the values in
    /// `prefix`'s range of the sorted value list are tried, so a prefix over a million
    /// values costs a binary search and its matches, not a million tries.
    pub fn series_with_tag_prefix_matching(
        &self,
        measurement: &[u8],
        key: &[u8],
        prefix: &[u8],
        mut matches: impl FnMut(&[u8]) -> bool,
    ) -> RoaringBitmap {
        let tables = self.read();
        let mut series = RoaringBitmap::new();
        let Some(entry) = tables.tag_key_entry(measurement, key) else {
            return series;
        };
        let sorted = tables.sorted_values(entry);
        // The same order `sorted_values` sorted by (a symbol without a name sorts first).
        let start = sorted.partition_point(|symbol| tables.symbols.get(*symbol) < Some(prefix));
        for symbol in &sorted[start..] {
            let Some(value) = tables.symbols.get(*symbol) else {
                continue;
            };
            if !value.starts_with(prefix) {
                break;
            }
            if matches(value) {
                if let Some(postings) = entry.values.get(symbol) {
                    postings.union_into(&tables.inverted.pool, &mut series);
                }
            }
        }
        series
    }

    /// Series of `measurement` that lack tag `key` (InfluxQL reads their value as "").
    pub fn series_without_tag(&self, measurement: &[u8], key: &[u8]) -> RoaringBitmap {
        let tables = self.read();
        let Some(entry) = tables
            .symbol(measurement)
            .and_then(|symbol| tables.inverted.measurements.get(&symbol))
        else {
            return RoaringBitmap::new();
        };
        match tables.symbol(key).and_then(|key| entry.tag_keys.get(&key)) {
            Some(key_entry) => &entry.series - &key_entry.series,
            None => entry.series.clone(),
        }
    }

    /// Checks the invariants of the tables against each other; for tests and the fuzz target.
    pub fn check_invariants(&self) -> Result<(), String> {
        let tables = self.read();
        tables.series.check(tables.hash_seed)?;
        tables.symbols.check(tables.hash_seed)?;
        let mut indexed = RoaringBitmap::new();
        for entry in tables.inverted.measurements.values() {
            indexed |= &entry.series;
            for key_entry in entry.tag_keys.values() {
                let mut union = RoaringBitmap::new();
                for postings in key_entry.values.values() {
                    postings.union_into(&tables.inverted.pool, &mut union);
                }
                if union != key_entry.series || !key_entry.series.is_subset(&entry.series) {
                    return Err("a tag key's series differ from its values' union".into());
                }
            }
        }
        let live: RoaringBitmap = (0..tables.series.next_id())
            .filter(|&id| tables.series.get(id).is_some())
            .collect();
        if live != indexed {
            return Err(format!(
                "{} live series but {} in the inverted index",
                live.len(),
                indexed.len()
            ));
        }
        Ok(())
    }
}

impl Drop for SeriesIndex {
    /// Writes buffered records to the file (no fsync): a clean close loses nothing.
    fn drop(&mut self) {
        self.flush(true);
    }
}

/// Creates an empty log (header only), durably: file fsynced, then its directory.
fn create_log(
    file_system: &dyn FileSystem,
    directory: &Path,
    path: &Path,
) -> Result<(), IndexError> {
    let mut file = file_system.create(path).map_err(io_error("create", path))?;
    file.write_all(&series_log::header())
        .map_err(io_error("write", path))?;
    file.sync_data().map_err(io_error("fsync", path))?;
    file_system
        .sync_directory(directory)
        .map_err(io_error("fsync directory", directory))
}

/// Cuts the log to its first `length` bytes, durably.
fn truncate_log(
    file_system: &dyn FileSystem,
    path: &Path,
    length: usize,
) -> Result<(), IndexError> {
    file_system
        .open_append(path)
        .map_err(io_error("open", path))?
        .truncate_and_sync(length as u64)
        .map_err(io_error("truncate", path))
}
