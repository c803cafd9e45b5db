//! The storage maintenance thread: snapshots (with WAL truncation), compactions and
//! retention enforcement, one after another on one background thread.
//!
//! Lives in `ingest` because a snapshot is a WAL operation first: every partition starts a
//! new segment and freezes its caches on its own thread ([`Ingest::checkpoint`]), so the
//! frozen caches hold exactly the records of the older segments. Only after the frozen caches
//! are in synced files are those segments deleted. A crash anywhere in between leaves the
//! segments, whose replay re-applies points the files may already hold; reads and compactions
//! keep one value per time, so nothing is lost or duplicated.
//!
//! Bounds: one snapshot or compaction at a time; compactions read and write at most
//! `compact-throughput` bytes per second (a token bucket), so ingest keeps its disk and CPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};

use super::{partition_dir, Ingest};
use crate::storage::engine::Store;
use crate::wal;

/// Settings of the maintenance thread.
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

/// A running maintenance thread; dropping the handle does not stop it — call `stop`.
pub struct Maintenance {
    stop: Sender<()>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Maintenance {
    /// Starts the thread.
    pub fn start(
        ingest: Arc<Ingest>,
        store: Arc<Store>,
        options: MaintenanceOptions,
    ) -> std::io::Result<Maintenance> {
        let (stop, stopped) = channel::bounded(1);
        let stopping = Arc::new(AtomicBool::new(false));
        let thread_stopping = Arc::clone(&stopping);
        let thread = std::thread::Builder::new()
            .name("sluice-storage".into())
            .spawn(move || run(&ingest, &store, &options, &stopped, &thread_stopping))?;
        Ok(Maintenance {
            stop,
            stopping,
            thread: Some(thread),
        })
    }

    /// Stops the thread after its current step. Call before the partitions stop.
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::Release);
        let _ = self.stop.try_send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    ingest: &Ingest,
    store: &Store,
    options: &MaintenanceOptions,
    stopped: &Receiver<()>,
    stopping: &AtomicBool,
) {
    let cold_ns = i64::try_from(options.cold_duration.as_nanos()).unwrap_or(i64::MAX);
    let mut last_retention = Instant::now();
    let mut bucket = TokenBucket::new(options.compact_throughput_bytes_per_second);
    let stop_requested = || stopping.load(Ordering::Acquire);
    loop {
        match stopped.recv_timeout(options.check_interval) {
            Err(RecvTimeoutError::Timeout) if !stop_requested() => {}
            _ => return,
        }
        if store.snapshot_due() || store.cache_cold(cold_ns) {
            // Failures are logged where they happen; the next round retries.
            let _ = snapshot(ingest, store, &options.wal_dir);
        }
        let mut throttle = |bytes: u64| bucket.take(bytes);
        store.compact(cold_ns, &mut throttle, &stop_requested);
        if options.retention_enabled && last_retention.elapsed() >= options.retention_check_interval
        {
            last_retention = Instant::now();
            store.enforce_retention(crate::time::now_ns());
        }
    }
}

/// Freezes the caches behind a WAL rotation, writes them to files, then deletes the WAL
/// segments they cover. One at a time (the store's checkpoint lock).
pub fn snapshot(ingest: &Ingest, store: &Store, wal_dir: &std::path::Path) -> Result<(), String> {
    let _one_at_a_time = store.lock_checkpoints();
    let first_kept = ingest.checkpoint();
    store.write_snapshots()?;
    for (index, first_kept) in first_kept.iter().enumerate() {
        let Some(first_kept) = first_kept.filter(|n| *n > 0) else {
            continue;
        };
        let directory = partition_dir(wal_dir, index);
        if let Err(error) = wal::remove_segments_before(&directory, first_kept) {
            crate::log_error!("wal", "cannot delete WAL segments a snapshot covers"; partition = index, error = error);
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
