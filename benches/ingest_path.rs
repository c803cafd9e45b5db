//! Benchmarks of the write path's steps beside the parser, and of query-result encoding,
//! printed as a table. Run with `cargo bench --bench ingest_path`.
//!
//! - series-key construction (canonical key from measurement + 3 tags) and partition routing
//!   (`series_hash` + the multiply-shift to a partition), keys/s;
//! - WAL append of 64 KiB records: buffered only, and with `commit` (write + fdatasync) after
//!   every record and after every 16 records, records/s and MB/s;
//! - cache apply: `Store::apply_record` of 5,000-point records (10 float fields), values/s;
//! - JSON encoding of a query result (10,000 rows × 3 columns, RFC 3339 times and epoch=ns),
//!   rows/s and MB/s.
//!
//! Under `cargo test --all-targets` (unoptimised, no `--bench` argument) every measurement runs
//! briefly, as a smoke test.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::ingest::record::{RecordBuilder, StoredValue};
use sluice::line_protocol::{append_series_key, Tag};
use sluice::meta::{MetaStore, RetentionPolicySpec};
use sluice::query::encode::{json_response, Epoch};
use sluice::query::result::{Series, StatementResult, Value};
use sluice::storage::engine::{Store, StoreOptions};
use sluice::wal::WalWriter;

/// Partitions the routing bench spreads keys over.
const PARTITIONS: usize = 2;
/// Bytes of one WAL record in the WAL bench.
const WAL_RECORD_BYTES: usize = 64 * 1024;

fn measure_time() -> Duration {
    if std::env::args().any(|a| a == "--bench") {
        Duration::from_millis(700)
    } else {
        Duration::from_millis(20)
    }
}

/// Runs `step` (which reports how many items it did) until the measuring time has passed;
/// returns items per second.
fn per_second(mut step: impl FnMut() -> usize) -> f64 {
    let budget = measure_time();
    let started = Instant::now();
    let mut items = 0usize;
    while started.elapsed() < budget {
        items += step();
    }
    items as f64 / started.elapsed().as_secs_f64()
}

fn series_keys() {
    let hosts: Vec<String> = (0..1000).map(|i| format!("host{i:04}")).collect();
    let mut key = Vec::with_capacity(128);
    let rate = per_second(|| {
        let mut spread = [0usize; PARTITIONS];
        for host in &hosts {
            let tags = [
                Tag {
                    key: b"dc",
                    value: b"eu-west-1",
                },
                Tag {
                    key: b"host",
                    value: host.as_bytes(),
                },
                Tag {
                    key: b"rack",
                    value: b"r12",
                },
            ];
            key.clear();
            append_series_key(b"cpu", &tags, &mut key);
            let partition = sluice::ingest::partition_for(&key, PARTITIONS);
            spread[partition.min(PARTITIONS - 1)] += 1;
        }
        black_box(spread);
        hosts.len()
    });
    println!(
        "{:<46} {:>10.2} M keys/s",
        "series key + routing (3 tags)",
        rate / 1e6
    );
}

fn wal(directory: &std::path::Path) {
    let record = vec![0x5a_u8; WAL_RECORD_BYTES];
    for (label, records_per_commit) in [
        ("WAL append, buffered (no write)", 0usize),
        ("WAL append + fdatasync per record", 1),
        ("WAL append + fdatasync per 16 records", 16),
    ] {
        let _ = std::fs::remove_dir_all(directory);
        let Ok(mut writer) = WalWriter::open(directory, 64 * 1024 * 1024) else {
            println!("{label}: cannot open a WAL in {}", directory.display());
            return;
        };
        let mut since_commit = 0;
        let rate = per_second(|| {
            writer.append(&record);
            since_commit += 1;
            if records_per_commit == 0 {
                if since_commit >= 64 {
                    // Drop the buffer without writing: measures framing + checksum only.
                    writer = match WalWriter::open(directory, 64 * 1024 * 1024) {
                        Ok(fresh) => fresh,
                        Err(_) => return 1,
                    };
                    since_commit = 0;
                }
            } else if since_commit >= records_per_commit {
                let _ = writer.commit();
                since_commit = 0;
            }
            1
        });
        println!(
            "{:<46} {:>10.0} records/s {:>8.0} MB/s",
            label,
            rate,
            rate * WAL_RECORD_BYTES as f64 / 1e6
        );
    }
    let _ = std::fs::remove_dir_all(directory);
}

fn apply(directory: &std::path::Path) {
    let _ = std::fs::remove_dir_all(directory);
    let Ok(meta) = MetaStore::open(&directory.join("meta")) else {
        println!("apply: cannot open meta");
        return;
    };
    let meta = Arc::new(meta);
    if meta
        .create_database("bench", &RetentionPolicySpec::default())
        .is_err()
    {
        return;
    }
    let Ok(store) = Store::open(
        StoreOptions {
            data_dir: directory.join("data"),
            partitions: 1,
            cache_snapshot_bytes: usize::MAX,
            cache_max_bytes: usize::MAX,
            read_only: false,
        },
        meta,
    ) else {
        return;
    };
    let fields: Vec<Vec<u8>> = (0..10).map(|i| format!("f{i}").into_bytes()).collect();
    let mut time = 1_700_000_000_000_000_000i64;
    let mut round = 0usize;
    let rate = per_second(|| {
        let mut builder = RecordBuilder::new(1, b"autogen", 512 * 1024);
        for point in 0..5000 {
            let key = format!("cpu,host=host{:04}", point % 1000);
            builder.begin_point(key.as_bytes(), time);
            for field in &fields {
                builder.push_field(field, StoredValue::Float(point as f64 * 0.5));
            }
            if point % 1000 == 999 {
                time += 10_000_000_000;
            }
        }
        store.apply_record(0, &builder.finish());
        round += 1;
        if round % 20 == 0 {
            // Keep the cache from growing without bound across the measurement.
            store.freeze_partition(0);
            let _ = store.write_snapshots();
        }
        5000 * fields.len()
    });
    println!(
        "{:<46} {:>10.2} M values/s",
        "cache apply (5000 points × 10 floats)",
        rate / 1e6
    );
    let _ = std::fs::remove_dir_all(directory);
}

fn json() {
    let rows: Vec<Vec<Value>> = (0..10_000i64)
        .map(|i| {
            vec![
                Value::Time(1_793_491_200_000_000_000 + i * 10_000_000_000),
                Value::Float(i as f64 * 0.25 + 0.1),
                Value::String(format!("host{}", i % 100)),
            ]
        })
        .collect();
    let result = StatementResult {
        statement_id: 0,
        series: vec![Series {
            name: Some("cpu".into()),
            columns: vec!["time".into(), "usage".into(), "host".into()],
            values: rows,
            ..Series::default()
        }],
        ..StatementResult::default()
    };
    let results = [result];
    for (label, epoch) in [
        ("JSON encode, RFC 3339 times", Epoch::Rfc3339),
        ("JSON encode, epoch=ns", Epoch::Divided(1)),
    ] {
        let mut out = Vec::with_capacity(1 << 20);
        let mut bytes = 0usize;
        let rate = per_second(|| {
            out.clear();
            let _ = json_response(&results, epoch, &mut out);
            bytes = out.len();
            10_000
        });
        println!(
            "{:<46} {:>10.2} M rows/s {:>8.0} MB/s",
            label,
            rate / 1e6,
            rate / 10_000.0 * bytes as f64 / 1e6
        );
    }
}

fn main() {
    let directory =
        std::env::temp_dir().join(format!("sluice-bench-ingest-path-{}", std::process::id()));
    series_keys();
    wal(&directory.join("wal"));
    apply(&directory.join("store"));
    json();
    let _ = std::fs::remove_dir_all(&directory);
}
