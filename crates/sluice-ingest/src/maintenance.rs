//! The storage maintenance threads: `sluice-snapshot` writes snapshots (with WAL
//! truncation) and enforces retention; `sluice-compact` runs compactions. Two threads, so a
//! snapshot never waits behind a long compaction: while one runs the caches keep filling,
//! and memory is the bound that matters under full ingest.
//!
//! Lives in `ingest` because a snapshot is a WAL operation first: every partition starts a
//! new segment and freezes its caches on its own thread ([`Ingest::checkpoint`]), so the
//! frozen caches hold exactly the records of the older segments. Only after the frozen caches
//! are in synced files are those segments deleted. A crash anywhere in between leaves the
//! segments, whose replay re-applies points the files may already hold; reads and compactions
//! keep one value per time, so nothing is lost or duplicated.
//!
//! The snapshot thread wakes when the store posts that the live caches reached the snapshot
//! threshold, and otherwise every `check_interval` (cold caches, retention). The compaction
//! thread wakes after every snapshot and every `check_interval`. Bounds: one snapshot at a
//! time (the store's checkpoint lock) and one compaction at a time (one thread); a shard's
//! snapshot and compaction exclude each other only where they must (see `Shard`);
//! compactions read at most `compact-throughput` bytes per second (a token bucket), so ingest
//! keeps its disk and CPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, Sender};

use super::{partition_dir, Ingest};
use sluice_storage::engine::Store;
use sluice_storage::wal;

/// Settings of the maintenance threads.
#[derive(Clone, Debug)]
pub struct MaintenanceOptions {
    /// WAL root directory
    pub wal_dir: std::path::PathBuf,
    /// how often to check what is due
    pub check_interval: Duration,
    /// snapshot caches that received no write for this long; compact such shards fully
    pub cold_duration: Duration,
    /// whether expired shard groups are deleted
    pub retention_enabled: bool,
    /// how often retention is enforced
    pub retention_check_interval: Duration,
    /// compaction I/O budget, bytes per second (0: unlimited)
    pub compact_throughput_bytes_per_second: u64,
}

/// The running maintenance threads; dropping the handle does not stop them — call `stop`.
pub struct Maintenance {
    /// dropped by `stop`: both threads see their stop channel disconnect
    stop: Option<Sender<()>>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Maintenance {
    /// Starts the threads.
    pub fn start(
        ingest: Arc<Ingest>,
        store: Arc<Store>,
        options: MaintenanceOptions,
    ) -> std::io::Result<Maintenance> {
        // Nothing is ever sent: dropping the sender is the stop signal.
        let (stop, stopped) = channel::bounded::<()>(1);
        let stopping = Arc::new(AtomicBool::new(false));
        let (snapshot_done, snapshots_done) = channel::bounded::<()>(1);
        let mut threads = Vec::new();
        {
            let (ingest, store, options) =
                (Arc::clone(&ingest), Arc::clone(&store), options.clone());
            let stopped = stopped.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("sluice-snapshot".into())
                    .spawn(move || {
                        run_snapshots(&ingest, &store, &options, &stopped, &snapshot_done)
                    })?,
            );
        }
        let thread_stopping = Arc::clone(&stopping);
        let spawned = std::thread::Builder::new()
            .name("sluice-compact".into())
            .spawn(move || {
                run_compactions(
                    &store,
                    &options,
                    &stopped,
                    &snapshots_done,
                    &thread_stopping,
                )
            });
        let mut maintenance = Maintenance {
            stop: Some(stop),
            stopping,
            threads,
        };
        match spawned {
            Ok(thread) => {
                maintenance.threads.push(thread);
                Ok(maintenance)
            }
            Err(error) => {
                maintenance.stop();
                Err(error)
            }
        }
    }

    /// Stops the threads after their current step (a compaction in progress is abandoned
    /// between columns). Call before the partitions stop.
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::Release);
        self.stop = None;
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
    }
}

/// Waits for `wake` (a message) or `check_interval`; false once `stopped` disconnects.
fn wait(stopped: &Receiver<()>, wake: &Receiver<()>, check_interval: Duration) -> bool {
    channel::select! {
        recv(stopped) -> _ => false,
        recv(wake) -> _ => true,
        default(check_interval) => true,
    }
}

fn run_snapshots(
    ingest: &Ingest,
    store: &Store,
    options: &MaintenanceOptions,
    stopped: &Receiver<()>,
    snapshot_done: &Sender<()>,
) {
    let cold_ns = i64::try_from(options.cold_duration.as_nanos()).unwrap_or(i64::MAX);
    let mut last_retention = Instant::now();
    let snapshot_wanted = store.snapshot_wanted();
    while wait(stopped, &snapshot_wanted, options.check_interval) {
        if store.snapshot_due() || store.cache_cold(cold_ns) {
            // Failures are logged where they happen; the next round retries.
            if snapshot(ingest, store, &options.wal_dir).is_ok() {
                // Full channel: the compaction thread has a wake-up waiting already.
                let _ = snapshot_done.try_send(());
            }
        }
        if options.retention_enabled && last_retention.elapsed() >= options.retention_check_interval
        {
            last_retention = Instant::now();
            store.enforce_retention(sluice_model::time::now_ns());
        }
    }
}

fn run_compactions(
    store: &Store,
    options: &MaintenanceOptions,
    stopped: &Receiver<()>,
    snapshots_done: &Receiver<()>,
    stopping: &AtomicBool,
) {
    let cold_ns = i64::try_from(options.cold_duration.as_nanos()).unwrap_or(i64::MAX);
    let mut bucket = TokenBucket::new(options.compact_throughput_bytes_per_second);
    let stop_requested = || stopping.load(Ordering::Acquire);
    while wait(stopped, snapshots_done, options.check_interval) {
        let mut throttle = |bytes: u64| bucket.take(bytes);
        store.compact(cold_ns, &mut throttle, &stop_requested);
    }
}

/// Freezes the caches behind a WAL rotation, writes them to files, then deletes the WAL
/// segments they cover. One at a time (the store's checkpoint lock).
pub fn snapshot(ingest: &Ingest, store: &Store, wal_dir: &std::path::Path) -> Result<(), String> {
    snapshot_with(store, wal_dir, || ingest.checkpoint())
}

/// [`snapshot`] with the partitions rotated and frozen by `rotate` (each partition's first
/// segment kept, as [`Ingest::checkpoint`] answers): the engine simulation drives its
/// partitions itself.
pub fn snapshot_with(
    store: &Store,
    wal_dir: &std::path::Path,
    rotate: impl FnOnce() -> Vec<Option<u64>>,
) -> Result<(), String> {
    let _one_at_a_time = store.lock_checkpoints();
    let started = Instant::now();
    let first_kept = rotate();
    let frozen = started.elapsed();
    let frozen_bytes = store.frozen_cache_bytes();
    store.write_snapshots()?;
    sluice_base::log_debug!("storage", "snapshot written"; cache_bytes = frozen_bytes,
        freeze_ms = frozen.as_millis(), elapsed_ms = started.elapsed().as_millis());
    let Some(first_kept) = crate::partition::segments_to_delete(&first_kept) else {
        // An error, not a warning: a DELETE checkpoints first so that no WAL segment keeps
        // a copy of a point it deletes; had this said Ok, the delete would go on and the
        // next start would replay the deleted points back.
        sluice_base::log_warn!(
            "wal",
            "a partition froze nothing: no WAL segment deleted by this snapshot"
        );
        return Err("a WAL partition could not start a new segment: the WAL is kept".into());
    };
    for (index, first_kept) in first_kept.into_iter().enumerate() {
        let directory = partition_dir(wal_dir, index);
        if let Err(error) =
            wal::remove_segments_before_with(store.file_system().as_ref(), &directory, first_kept)
        {
            sluice_base::log_error!("wal", "cannot delete WAL segments a snapshot covers"; partition = index, error = error);
            return Err(format!("deleting WAL segments: {error}"));
        }
    }
    Ok(())
}

/// Sleeps callers that go faster than `rate` bytes per second (burst: one second's worth).
struct TokenBucket {
    rate_bytes_per_second: u64,
    available: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn new(rate_bytes_per_second: u64) -> TokenBucket {
        TokenBucket {
            rate_bytes_per_second,
            available: rate_bytes_per_second as f64,
            refilled: Instant::now(),
        }
    }

    fn take(&mut self, bytes: u64) {
        if self.rate_bytes_per_second == 0 {
            return;
        }
        let rate = self.rate_bytes_per_second as f64;
        let now = Instant::now();
        self.available =
            (self.available + now.duration_since(self.refilled).as_secs_f64() * rate).min(rate);
        self.refilled = now;
        self.available -= bytes as f64;
        if self.available < 0.0 {
            std::thread::sleep(Duration::from_secs_f64(-self.available / rate));
        }
    }
}
