//! Series index benchmark at high cardinality: load time, heap bytes per series, sync and
//! open (log replay) time, `get_or_create` ns/op for existing and new keys, and a few
//! metadata queries. Run with `cargo bench --bench series_index [SERIES [LOOKUPS]]`
//! (defaults 1,000,000 series, 2,000,000 lookups per round; under `cargo test` a smoke run of
//! 10,000).
//!
//! Keys look like `cpu,host=host123456,region=r12,rack=r7`: one host per series, 100
//! regions, 10 racks. Heap bytes are counted by a wrapping global allocator, so they include
//! every map, bitmap and arena the index holds. Times are the thread's CPU time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use sluice::storage::series_index::SeriesIndex;

/// Series loaded unless the command line says otherwise.
const SERIES_DEFAULT: usize = 1_000_000;
/// Series (and lookups) of the smoke run under `cargo test`.
const SMOKE_SERIES: usize = 10_000;
/// Distinct `region` values.
const REGIONS: usize = 100;
/// Distinct `rack` values.
const RACKS: usize = 10;
/// Lookups timed for existing keys, per round, unless the command line says otherwise.
const LOOKUPS_DEFAULT: usize = 2_000_000;
/// Keys of the hot set: lookups that stay in the CPU caches.
const HOT_KEYS: usize = 4096;

/// The system allocator, counting live heap bytes.
struct CountingAllocator;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// A timer of this thread's CPU time (not wall time): the machine is shared, and time spent
/// descheduled is not the index's cost.
struct CpuTimer(Duration);

impl CpuTimer {
    fn thread_cpu_time() -> Duration {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into memory we own.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
        Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
    }

    fn start() -> CpuTimer {
        CpuTimer(Self::thread_cpu_time())
    }

    fn elapsed(&self) -> Duration {
        Self::thread_cpu_time().saturating_sub(self.0)
    }
}

fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn series_key(number: usize, out: &mut Vec<u8>) {
    use std::io::Write;
    out.clear();
    let _ = write!(
        out,
        "cpu,host=host{number:06},region=r{},rack=r{}",
        number % REGIONS,
        number % RACKS
    );
}

/// A permutation of 0..count (multiplicative, so lookups do not walk ids in order).
fn scrambled(step: usize, count: usize) -> usize {
    (step.wrapping_mul(2_654_435_761)) % count
}

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|argument| argument.parse().ok())
        .collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this unoptimised
    // without it, where a quick smoke run is enough.
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let (series_default, lookups_default) = if benchmarking {
        (SERIES_DEFAULT, LOOKUPS_DEFAULT)
    } else {
        (SMOKE_SERIES, SMOKE_SERIES)
    };
    let series = numbers.first().copied().unwrap_or(series_default);
    let lookups = numbers.get(1).copied().unwrap_or(lookups_default);
    let dir =
        std::env::temp_dir().join(format!("sluice-bench-series-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut key = Vec::new();

    let heap_before = live_bytes();
    let index = SeriesIndex::open(&dir).expect("open an empty index");
    let start = CpuTimer::start();
    for number in 0..series {
        series_key(number, &mut key);
        black_box(index.get_or_create(&key).expect("valid key"));
    }
    let load = start.elapsed();
    let heap_bytes = (live_bytes() - heap_before) as f64;
    let key_bytes = key.len();
    println!("series                      {series}  (last key {key_bytes} bytes)");
    println!(
        "load (get_or_create, new)   {:.2} s  {:.0} ns/series",
        load.as_secs_f64(),
        load.as_nanos() as f64 / series as f64
    );
    println!(
        "heap bytes / series         {:.1}  (memory_bytes() says {:.1})",
        heap_bytes / series as f64,
        index.memory_bytes() as f64 / series as f64
    );

    // Keys back to back in one buffer, read in order, so the bench itself adds no cache miss.
    let lookup_keys = series.min(lookups);
    let mut flat_keys = Vec::new();
    let mut key_ends = Vec::with_capacity(lookup_keys);
    for step in 0..lookup_keys {
        series_key(scrambled(step, series), &mut key);
        flat_keys.extend_from_slice(&key);
        key_ends.push(flat_keys.len());
    }
    let time_lookups = |keys: usize, label: &str| {
        let start = CpuTimer::start();
        let mut begin = 0;
        for step in 0..lookups {
            let end = key_ends[step % keys];
            let key = &flat_keys[if step % keys == 0 { 0 } else { begin }..end];
            black_box(index.get_or_create(key).expect("valid key"));
            begin = end;
        }
        println!(
            "get_or_create existing      {:.1} ns/op  ({label})",
            start.elapsed().as_nanos() as f64 / lookups as f64
        );
    };
    for round in 0..2 {
        time_lookups(
            lookup_keys,
            &format!("all series, scrambled, round {round}"),
        );
    }
    time_lookups(
        HOT_KEYS.min(lookup_keys),
        &format!("hot set of {HOT_KEYS} keys"),
    );
    drop(flat_keys);
    drop(key_ends);

    // Small answers first: freeing the million names of tag_values makes glibc consolidate
    // its free lists at the next allocation, which would be charged to the next query.
    let start = CpuTimer::start();
    let region = index.series_with_tag(b"cpu", b"region", b"r12");
    println!(
        "series_with_tag(region=r12) {:.3} ms  ({} series)",
        start.elapsed().as_secs_f64() * 1e3,
        region.len()
    );
    let start = CpuTimer::start();
    let values = index.tag_values(b"cpu", b"host");
    println!(
        "tag_values(cpu, host)       {:.1} ms  ({} values)",
        start.elapsed().as_secs_f64() * 1e3,
        values.len()
    );
    drop(values);
    let start = CpuTimer::start();
    let matching = index.series_with_tag_matching(b"cpu", b"host", |value| value.ends_with(b"7"));
    println!(
        "host =~ /7$/                {:.1} ms  ({} series)",
        start.elapsed().as_secs_f64() * 1e3,
        matching.len()
    );

    let start = CpuTimer::start();
    index.sync().expect("sync");
    println!(
        "sync                        {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    drop(index);
    let log_bytes =
        std::fs::metadata(dir.join(sluice::storage::series_index::SERIES_LOG_FILE_NAME))
            .map(|metadata| metadata.len())
            .unwrap_or(0);
    let start = CpuTimer::start();
    let index = SeriesIndex::open(&dir).expect("reopen");
    println!(
        "open (replay {:.1} MB log)    {:.2} s  ({} series)",
        log_bytes as f64 / 1e6,
        start.elapsed().as_secs_f64(),
        index.series_count()
    );
    let heap_after_open = (live_bytes() - heap_before) as f64;
    println!(
        "heap bytes / series, reopened {:.1}",
        heap_after_open / series as f64
    );

    let start = CpuTimer::start();
    let new_series = series / 10;
    for number in series..series + new_series {
        series_key(number, &mut key);
        black_box(index.get_or_create(&key).expect("valid key"));
    }
    println!(
        "get_or_create new (on top)  {:.0} ns/op",
        start.elapsed().as_nanos() as f64 / new_series as f64
    );
    drop(index);
    let _ = std::fs::remove_dir_all(&dir);
}
