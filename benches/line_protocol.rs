//! Line protocol parser benchmark: a Telegraf-like payload parsed many times.
//!
//! Prints throughput (MB/s, lines/s) and heap allocations per line, counted by a global
//! allocator wrapper. Run with `cargo bench --bench line_protocol`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sluice::line_protocol::{append_series_key, FieldValue, Parser, Precision, Scratch};

/// Counts allocations; forwards everything to the system allocator.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Lines in the payload.
const PAYLOAD_LINES: usize = 10_000;
/// Passes over the payload per measurement (unless `SLUICE_BENCH_PASSES` says otherwise, e.g.
/// fewer under callgrind).
const PASSES_DEFAULT: usize = 50;
/// First timestamp of the payload, in nanoseconds.
const START_TIME_NS: i64 = 1_700_000_000_000_000_000;
/// Nanoseconds between consecutive lines.
const LINE_INTERVAL_NS: i64 = 10_000_000_000;
const BYTES_PER_MEGABYTE: f64 = 1_000_000.0;

/// A payload shaped like Telegraf's cpu, mem and disk inputs.
fn payload() -> Vec<u8> {
    use std::io::Write;
    let mut body = Vec::new();
    for line in 0..PAYLOAD_LINES {
        let host = line % 100;
        let time_ns = START_TIME_NS + line as i64 * LINE_INTERVAL_NS;
        let x = (line * 7919 % 10_000) as f64 / 100.0;
        let result = match line % 4 {
            0 | 1 => writeln!(
                body,
                "cpu,cpu=cpu{},host=server{host:03},region=us-west-2 usage_user={x},\
                 usage_system={},usage_idle={},usage_iowait=0.0501,usage_irq=0,\
                 usage_softirq=0.1,usage_steal=0,usage_guest=0 {time_ns}",
                line % 8,
                x / 3.0,
                100.0 - x
            ),
            2 => writeln!(
                body,
                "mem,host=server{host:03},region=us-west-2 active={}i,available={}i,\
                 available_percent={x},buffered=1234567i,cached={}i,free={}i,total=17179869184i,\
                 used={}i,used_percent={} {time_ns}",
                line * 4096,
                line * 8192,
                line * 100,
                line * 333,
                line * 777,
                x / 2.0
            ),
            _ => writeln!(
                body,
                "disk,device=nvme0n1p{},fstype=ext4,host=server{host:03},mode=rw,path=/data \
                 free={}i,inodes_free=3000000i,inodes_total=3276800i,inodes_used=276800i,\
                 total=500000000000i,used={}i,used_percent={x},label=\"disk \\\"{}\\\"\" {time_ns}",
                line % 3,
                line * 1_000_003,
                line * 2_000_003,
                line % 5
            ),
        };
        if result.is_err() {
            panic!("BUG: writing to a Vec failed");
        }
    }
    body
}

/// Parses the whole body; returns (points, a checksum so the work is not optimised away).
fn parse_body<'a>(body: &'a [u8], scratch: &mut Scratch<'a>) -> (usize, u64) {
    let mut parser = Parser::new(body, Precision::Nanosecond, 0);
    let mut points = 0;
    let mut checksum = 0u64;
    while let Some(result) = parser.next_point(scratch) {
        match result {
            Ok(point) => {
                points += 1;
                checksum = checksum.wrapping_add(point.timestamp_ns as u64);
                checksum = checksum.wrapping_add(point.fields.len() as u64);
                if let Some(field) = point.fields.first() {
                    if let FieldValue::Float(value) = field.value {
                        checksum = checksum.wrapping_add(value.to_bits());
                    }
                }
            }
            Err(error) => {
                panic!(
                    "BUG: bench payload line {} failed: {}",
                    error.line_number, error.message
                )
            }
        }
    }
    (points, checksum)
}

/// Passes to run: `SLUICE_BENCH_PASSES` or [`PASSES_DEFAULT`].
fn passes() -> usize {
    std::env::var("SLUICE_BENCH_PASSES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(PASSES_DEFAULT)
}

fn main() {
    let passes = passes();
    let body = payload();
    let mut checksum = 0u64;
    // Warm up.
    let mut scratch = Scratch::default();
    let (points, sum) = parse_body(&body, &mut scratch);
    checksum = checksum.wrapping_add(sum);
    assert_eq!(points, PAYLOAD_LINES, "BUG: not every payload line parsed");

    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    let started = Instant::now();
    for _ in 0..passes {
        let (_, sum) = parse_body(black_box(&body), &mut scratch);
        checksum = checksum.wrapping_add(sum);
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;

    let lines = (PAYLOAD_LINES * passes) as f64;
    let bytes = (body.len() * passes) as f64;
    println!(
        "parse: {:.0} MB/s, {:.2} M lines/s, {:.4} allocations/line \
         ({} bytes, {} lines, {} passes, checksum {})",
        bytes / elapsed_s / BYTES_PER_MEGABYTE,
        lines / elapsed_s / 1e6,
        allocations as f64 / lines,
        body.len(),
        PAYLOAD_LINES,
        passes,
        black_box(checksum) % 1000
    );

    // Series key building, reusing one output buffer.
    let mut key = Vec::new();
    let started = Instant::now();
    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut key_bytes = 0usize;
    for _ in 0..passes {
        let mut parser = Parser::new(&body, Precision::Nanosecond, 0);
        while let Some(Ok(point)) = parser.next_point(&mut scratch) {
            key.clear();
            append_series_key(point.measurement, point.tags, &mut key);
            key_bytes += key.len();
        }
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
    println!(
        "parse + series key: {:.0} MB/s, {:.4} allocations/line (key bytes {})",
        bytes / elapsed_s / BYTES_PER_MEGABYTE,
        allocations as f64 / lines,
        black_box(key_bytes) % 1000
    );
}
