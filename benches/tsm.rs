//! Column file benchmark: write, open, look up and read a file of float columns (2-decimal
//! random walks every 10 s), printed as a table. Run with `cargo bench --bench tsm`.
//!
//! The file holds [`COLUMNS`] columns of [`VALUES_PER_COLUMN`] values (one day at 10 s),
//! generated from a fixed seed, in the system temporary directory (removed at the end).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use sluice::storage::tsm::{Column, ColumnValues, FileReader, FileWriter};

/// Columns in the file (one per host).
const COLUMNS: usize = 200;
/// Values per column: a day at 10 s.
const VALUES_PER_COLUMN: usize = 8640;
/// Values per block.
const VALUES_PER_BLOCK: usize = 1000;
/// Sample interval.
const INTERVAL_NS: i64 = 10_000_000_000;
/// First timestamp.
const START_NS: i64 = 1_600_000_000_000_000_000;
/// Minimum measuring time per row.
const MEASURE_TIME: Duration = Duration::from_millis(500);
/// Width of the window of a short range read: 10 minutes.
const SHORT_RANGE_NS: i64 = 600 * 1_000_000_000;

/// xorshift64*: a small deterministic generator.
struct Random(u64);

impl Random {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn series_key(host: usize) -> Vec<u8> {
    format!("cpu,host=server{host:04},region=eu-west").into_bytes()
}

fn columns(random: &mut Random) -> Vec<Column> {
    let times: Vec<i64> = (0..VALUES_PER_COLUMN as i64)
        .map(|i| START_NS + i * INTERVAL_NS)
        .collect();
    (0..COLUMNS)
        .map(|host| {
            let mut value = 50.0 + host as f64;
            let values = (0..VALUES_PER_COLUMN)
                .map(|_| {
                    value += random.next_f64() - 0.5;
                    (value * 100.0).round() / 100.0
                })
                .collect();
            Column {
                times: times.clone(),
                values: ColumnValues::Float(values),
            }
        })
        .collect()
}

/// Runs `operation` until [`MEASURE_TIME`] passes; returns operations per second.
fn per_second(mut operation: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed() < MEASURE_TIME {
        done += operation();
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn write(path: &Path, columns: &[Column]) -> u64 {
    let mut writer = FileWriter::create(path, VALUES_PER_BLOCK).expect("create");
    for (host, column) in columns.iter().enumerate() {
        writer
            .write_column(&series_key(host), b"usage_user", column)
            .expect("write");
    }
    writer.finish().expect("finish").size_bytes
}

fn main() {
    let mut random = Random(0x5eed_75a1_5eed_75a1);
    let columns = columns(&mut random);
    let values = (COLUMNS * VALUES_PER_COLUMN) as f64;
    let directory = std::env::temp_dir().join(format!("sluice-bench-tsm-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("directory");
    let path = directory.join("bench.tsm");

    let size_bytes = write(&path, &columns);
    println!(
        "{COLUMNS} columns × {VALUES_PER_COLUMN} values: {size_bytes} bytes, {:.3} bytes/value",
        size_bytes as f64 / values
    );
    let write_rate = per_second(|| {
        write(&path, &columns);
        COLUMNS * VALUES_PER_COLUMN
    });
    println!(
        "{:<40} {:>10.1} M values/s",
        "write (encode + fsync)",
        write_rate / 1e6
    );

    let open_rate = per_second(|| {
        black_box(FileReader::open(&path).expect("open"));
        1
    });
    println!(
        "{:<40} {:>10.1} µs",
        "open (verify footer + index)",
        1e6 / open_rate
    );

    let reader = FileReader::open(&path).expect("open");
    let keys: Vec<Vec<u8>> = (0..COLUMNS).map(series_key).collect();
    let mut probe = 0usize;
    let find_rate = per_second(|| {
        probe = (probe + 7919) % COLUMNS;
        black_box(reader.find(&keys[probe], b"usage_user"));
        1
    });
    println!(
        "{:<40} {:>10.0} ns",
        "find (binary search)",
        1e9 / find_rate
    );

    let scan_rate = per_second(|| {
        let mut read = 0;
        for key in &keys {
            let column = reader
                .read_column_range(key, b"usage_user", i64::MIN, i64::MAX)
                .expect("read")
                .expect("present");
            read += column.len();
            black_box(column);
        }
        read
    });
    println!(
        "{:<40} {:>10.1} M values/s",
        "read whole columns",
        scan_rate / 1e6
    );

    let middle = START_NS + (VALUES_PER_COLUMN as i64 / 2) * INTERVAL_NS;
    let range_rate = per_second(|| {
        probe = (probe + 7919) % COLUMNS;
        let column = reader
            .read_column_range(&keys[probe], b"usage_user", middle, middle + SHORT_RANGE_NS)
            .expect("read");
        black_box(column);
        1
    });
    println!(
        "{:<40} {:>10.1} µs",
        "read 10 minutes of one column",
        1e6 / range_rate
    );

    drop(reader);
    let _ = std::fs::remove_dir_all(&directory);
}
