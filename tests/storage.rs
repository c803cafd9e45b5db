//! Storage engine, end to end through the binary: caches become files, the WAL shrinks,
//! compactions merge files (newest write winning), retention deletes expired shard groups,
//! and everything reads back the same after a restart.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Server;

/// `.tsm` file names under `<dir>/data/*/`.
fn tsm_files(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(shards) = std::fs::read_dir(dir.join("data")) else {
        return names;
    };
    for shard in shards.flatten() {
        if let Ok(entries) = std::fs::read_dir(shard.path()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".tsm") {
                    names.push(name);
                }
            }
        }
    }
    names.sort();
    names
}

/// WAL segment files under `<dir>/wal/p*/`.
fn wal_segments(dir: &Path) -> usize {
    let mut count = 0;
    if let Ok(partitions) = std::fs::read_dir(dir.join("wal")) {
        for partition in partitions.flatten() {
            if let Ok(entries) = std::fs::read_dir(partition.path()) {
                count += entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".wal"))
                    .count();
            }
        }
    }
    count
}

fn wait_until(what: &str, server: &Server, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            Instant::now() < until,
            "{what} never happened; log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn points(export: &str) -> Vec<String> {
    export
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("CREATE") && !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn caches_become_files_compactions_merge_and_restart_reads_the_same() {
    let mut server = Server::start_with(&[
        ("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "32k"),
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "10ms"),
        ("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "300ms"),
        ("SLUICE_DATA_COMPACT_THROUGHPUT", "0"),
        ("SLUICE_DATA_WAL_SEGMENT_MAX_BYTES", "1m"),
    ]);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    // (series, time) -> expected line; later batches overwrite some earlier points.
    let mut expected: BTreeMap<(String, i64), String> = BTreeMap::new();
    for batch in 0..24i64 {
        let mut body = String::new();
        for i in 0..400i64 {
            let host = format!("h{}", i % 10);
            // Batches 12.. rewrite the times of batches 0..12 with new values.
            let time = (batch % 12) * 1_000_000 + i;
            let value = (batch * 400 + i) as f64 / 4.0;
            let line = format!("m,host={host} i={}i,v={value} {time}", batch);
            body.push_str(&line);
            body.push('\n');
            expected.insert((host, time), line);
        }
        let response = server.write("db=db", &body);
        assert_eq!(response.status, 204, "{}", response.text());
    }
    // Snapshots happen while writing; once writes stop the shard turns cold and is fully
    // compacted into one file.
    wait_until("a full compaction", &server, || {
        let files = tsm_files(&server.dir);
        files.len() == 1 && files[0].ends_with("-l4.tsm")
    });
    wait_until("WAL truncation", &server, || wal_segments(&server.dir) <= 4);
    assert_eq!(server.stop(), Some(0));
    let want: Vec<String> = {
        let mut lines: Vec<(String, String)> = expected
            .iter()
            .map(|((host, time), line)| (format!("m,host={host} {time:020}"), line.clone()))
            .collect();
        lines.sort();
        lines.into_iter().map(|(_, line)| line).collect()
    };
    let exported = points(&server.export(Some("db")));
    assert_eq!(exported.len(), want.len());
    assert_eq!(exported, want);
    server.restart();
    assert_eq!(server.stop(), Some(0));
    assert_eq!(points(&server.export(Some("db"))), want);
}

#[test]
fn a_corrupt_file_is_reported_and_not_served() {
    let mut server = Server::start_with(&[
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "10ms"),
        ("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "50ms"),
    ]);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    assert_eq!(server.write("db=db", "a v=1 1\na v=2 2").status, 204);
    wait_until("a snapshot", &server, || !tsm_files(&server.dir).is_empty());
    assert_eq!(server.stop(), Some(0));
    // Flip a byte in the middle of every file.
    for shard in std::fs::read_dir(server.dir.join("data"))
        .unwrap()
        .flatten()
    {
        if shard.file_name().to_string_lossy().parse::<u64>().is_err() {
            continue;
        }
        for entry in std::fs::read_dir(shard.path()).unwrap().flatten() {
            let mut bytes = std::fs::read(entry.path()).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x55;
            std::fs::write(entry.path(), bytes).unwrap();
        }
    }
    server.restart();
    assert_eq!(server.write("db=db", "a v=3 3").status, 204);
    assert_eq!(server.stop(), Some(0));
    let log = server.log_text();
    assert!(
        log.contains("file failed its checks and is not served") || log.contains("corrupt block"),
        "{log}"
    );
    let exported = points(&server.export(Some("db")));
    assert!(exported.contains(&"a v=3 3".to_string()), "{exported:?}");
}

#[test]
fn field_types_survive_the_wal_being_truncated() {
    let mut server = Server::start_with(&[
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "10ms"),
        ("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "50ms"),
    ]);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    assert_eq!(server.write("db=db", "f,t=a v=1i 1").status, 204);
    wait_until("a snapshot", &server, || !tsm_files(&server.dir).is_empty());
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let conflict = server.write("db=db", "f,t=b v=1.5 2");
    assert_eq!(conflict.status, 400, "{}", conflict.text());
    assert!(
        conflict.text().contains("field type conflict"),
        "{}",
        conflict.text()
    );
    assert_eq!(server.write("db=db", "f,t=b v=2i 2").status, 204);
}

#[test]
fn a_full_cache_holds_writes_back_until_a_snapshot_frees_it() {
    // The hard bound is far below the snapshot threshold: every snapshot is forced by it.
    let mut server = Server::start_with(&[
        ("SLUICE_DATA_CACHE_MAX_MEMORY_SIZE", "32k"),
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "10ms"),
    ]);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    let mut expected = 0;
    for batch in 0..20i64 {
        let body: String = (0..500i64)
            .map(|i| format!("m,s={} v={i}i {}\n", i % 20, batch * 1000 + i))
            .collect();
        let response = server.write("db=db", &body);
        assert_eq!(response.status, 204, "{}", response.text());
        expected += 500;
    }
    wait_until("a snapshot", &server, || !tsm_files(&server.dir).is_empty());
    assert_eq!(server.stop(), Some(0));
    assert_eq!(points(&server.export(Some("db"))).len(), expected);
}

#[test]
fn points_older_than_the_retention_policy_are_dropped_as_influxdb_answers() {
    let server = Server::start();
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    let (status, body) =
        server.query("CREATE RETENTION POLICY short ON db DURATION 1h REPLICATION 1 DEFAULT");
    assert_eq!(status, 200, "{body}");
    let now_s = sluice::time::now_ns() / 1_000_000_000;
    let body = format!(
        "m v=1 {}\nm v=2 {}\nm v=3 {}",
        now_s,
        now_s - 7200,
        now_s - 7300
    );
    let response = server.write("db=db&precision=s", &body);
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(
        response.text(),
        "{\"error\":\"partial write: points beyond retention policy dropped=2\"}\n"
    );
    let (_, shards) = server.query("SHOW SHARDS");
    assert!(shards.contains("\"short\""), "{shards}");
}

#[test]
fn a_clean_stop_writes_the_caches_so_the_next_start_replays_nothing() {
    // A threshold no write here reaches: only the stop writes the caches.
    let mut server = Server::start_with(&[("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "1g")]);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    let body: String = (0..500)
        .map(|i| format!("m,host=h{} v={i} {}\n", i % 7, 1_000_000 + i))
        .collect();
    assert_eq!(server.write("db=db", &body).status, 204);
    assert!(
        tsm_files(&server.dir).is_empty(),
        "no snapshot before the stop"
    );
    assert_eq!(server.stop(), Some(0));
    assert!(server
        .log_text()
        .contains("caches written to files at shutdown"));
    assert_eq!(tsm_files(&server.dir).len(), 1);
    server.restart();
    let replayed = server
        .log_text()
        .lines()
        .rev()
        .find(|line| line.contains("replayed write-ahead log"))
        .map(String::from)
        .unwrap_or_default();
    assert!(replayed.contains("points=0"), "{replayed}");
    let (status, answer) = server.query("SELECT count(v) FROM db..m");
    assert_eq!(status, 200);
    assert!(answer.contains("500"), "{answer}");
}

/// The statements of `aggregates_from_block_statistics_answer_as_decoding_does`.
fn statistics_statements(start_s: i64) -> Vec<String> {
    let at = |offset_s: i64| format!("{}000000000", start_s + offset_s);
    let span = format!("time >= {} AND time < {}", at(0), at(3 * 3600));
    vec![
        format!("SELECT max(f), min(f), count(f) FROM m WHERE {span} GROUP BY time(1h), host"),
        format!("SELECT max(i), min(i), sum(i), mean(i) FROM m WHERE {span} GROUP BY time(1h)"),
        format!("SELECT sum(u), max(u), min(u), mean(u) FROM m WHERE {span} GROUP BY time(2h)"),
        format!("SELECT mean(f), sum(f) FROM m WHERE {span} GROUP BY time(1h)"),
        format!("SELECT max(f) FROM m WHERE {span} GROUP BY time(30m)"),
        format!(
            "SELECT max(f), min(i) FROM m WHERE time >= {} AND time < {} GROUP BY time(1h)",
            at(600),
            at(2 * 3600)
        ),
        "SELECT max(f) FROM m".to_string(),
        "SELECT min(i), host FROM m".to_string(),
        "SELECT sum(i), count(i) FROM m GROUP BY host".to_string(),
    ]
}

#[test]
fn aggregates_from_block_statistics_answer_as_decoding_does() {
    // The same points in a cache (decoded), in snapshot files (hour-aligned blocks with
    // statistics), and in the fully compacted file (long blocks with statistics).
    let cached = [
        ("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "1g"),
        ("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "1h"),
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "10ms"),
    ];
    let snapshots = [
        ("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "16k"),
        ("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "1h"),
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "10ms"),
    ];
    let start_s = 1_600_000_000 - 1_600_000_000 % 3600;
    let mut batches = Vec::new();
    for host in 0..4i64 {
        let mut body = String::new();
        for k in 0..1080i64 {
            // few distinct floats (equal maxima at several times), integers whose sums wrap
            let f = ((k * 7919 + host * 31) % 101) as f64 / 4.0;
            let i = (k % 13 - 6) * 1_400_000_000_000_000_000 + host;
            let u = (k * 3 + host) % 17;
            let time = start_s + k * 10;
            body.push_str(&format!("m,host=h{host} f={f},i={i}i,u={u}u {time}\n"));
        }
        batches.push(body);
    }
    let statements = statistics_statements(start_s);
    let load = |env: &[(&str, &str)]| {
        let server = Server::start_with(env);
        assert_eq!(server.query("CREATE DATABASE db").0, 200);
        for body in &batches {
            assert_eq!(server.write("db=db&precision=s", body).status, 204);
        }
        server
    };
    let answers = |server: &Server| -> Vec<String> {
        statements
            .iter()
            .map(|q| {
                let (status, body) = server.query(&q.replace("FROM m", "FROM db..m"));
                assert_eq!(status, 200, "{q}: {body}");
                body
            })
            .collect()
    };
    let mut server = load(&cached);
    let decoded = answers(&server);
    assert!(tsm_files(&server.dir).is_empty(), "all in the cache");
    let files = load(&snapshots);
    wait_until("snapshots", &files, || tsm_files(&files.dir).len() >= 2);
    for ((q, want), got) in statements.iter().zip(&decoded).zip(answers(&files)) {
        assert_eq!(&got, want, "snapshot files: {q}");
    }
    assert_eq!(server.stop(), Some(0));
    server.restart_with(&[("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "100ms")]);
    wait_until("a full compaction", &server, || {
        let files = tsm_files(&server.dir);
        files.len() == 1 && files[0].ends_with("-l4.tsm")
    });
    for ((q, want), got) in statements.iter().zip(&decoded).zip(answers(&server)) {
        assert_eq!(&got, want, "compacted file: {q}");
    }
}
