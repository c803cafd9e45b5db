//! Latency of whole `/query` executions on a query thread (parse, run, encode; no network),
//! for the small index-only statements dashboards send on every load, printed as a table.
//! Run with `cargo bench --bench query`.
//!
//! Data: the query-latency dataset's index (100 hosts × 5 regions, 10 float fields), applied
//! to an in-memory cache. Each statement runs until the measuring time has passed; the table
//! gives microseconds per execution.
//!
//! Under `cargo test --all-targets` (unoptimised, no `--bench` argument) every measurement runs
//! briefly, as a smoke test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::config::Config;
use sluice::ingest::record::{RecordBuilder, StoredValue};
use sluice::meta::{MetaStore, RetentionPolicySpec};
use sluice::query::{execute, QueryContext, QueryRequest};
use sluice::storage::engine::{Store, StoreOptions};

/// Hosts (series) of the dataset.
const HOSTS: usize = 100;

fn measure_time() -> Duration {
    if std::env::args().any(|a| a == "--bench") {
        Duration::from_millis(1500)
    } else {
        Duration::from_millis(20)
    }
}

fn open_context(directory: &std::path::Path) -> Option<QueryContext> {
    let _ = std::fs::remove_dir_all(directory);
    let meta = Arc::new(MetaStore::open(&directory.join("meta")).ok()?);
    meta.create_database("db", &RetentionPolicySpec::default())
        .ok()?;
    let database_id = meta.snapshot().database("db")?.id;
    let store = Store::open(
        StoreOptions {
            data_dir: directory.join("data"),
            partitions: 1,
            cache_snapshot_bytes: usize::MAX,
            cache_max_bytes: usize::MAX,
            read_only: false,
        },
        Arc::clone(&meta),
    )
    .ok()?;
    let fields: Vec<Vec<u8>> = (0..10).map(|i| format!("f{i}").into_bytes()).collect();
    let mut builder = RecordBuilder::new(database_id, b"autogen", 1 << 20);
    for host in 0..HOSTS {
        let key = format!("m,host=host{host},region=r{}", host % 5);
        builder.begin_point(key.as_bytes(), 1_600_000_000_000_000_000);
        for field in &fields {
            builder.push_field(field, StoredValue::Float(host as f64 * 0.5));
        }
    }
    store.apply_record(0, &builder.finish());
    let field_types = Arc::clone(store.field_types());
    let coordinator = Config::default_for_home(None).coordinator;
    Some(QueryContext::new(meta, field_types, store, coordinator))
}

fn main() {
    let directory = std::env::temp_dir().join(format!("sluice-bench-query-{}", std::process::id()));
    let Some(context) = open_context(&directory) else {
        println!(
            "query bench: cannot set up the store in {}",
            directory.display()
        );
        return;
    };
    println!("{:<46} {:>12}", "statement (db=db, JSON)", "µs / query");
    for text in [
        "SHOW DATABASES",
        "SHOW MEASUREMENTS",
        "SHOW TAG KEYS",
        "SHOW TAG VALUES WITH KEY = host",
        "SHOW FIELD KEYS",
        "SHOW SERIES",
    ] {
        // `cargo bench --bench query -- TEXT` runs only the statements containing TEXT.
        let wanted: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect();
        if !wanted.iter().all(|w| text.contains(w.as_str())) {
            continue;
        }
        let request = QueryRequest {
            is_get: true,
            ..QueryRequest::new(text.to_string(), "db")
        };
        let budget = measure_time();
        let started = Instant::now();
        let mut runs = 0u64;
        let mut body_bytes = 0;
        while started.elapsed() < budget {
            body_bytes = std::hint::black_box(execute(&request, &context)).body.len();
            runs += 1;
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / runs as f64;
        println!("{text:<46} {micros:>12.2}   ({body_bytes} body bytes)");
    }
    let _ = std::fs::remove_dir_all(&directory);
}
