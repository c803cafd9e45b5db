//! Durability: every write answered 204 survives `kill -9`; a torn WAL tail is cut, never
//! fatal; dropped databases stay dropped across restarts.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::{BufReader, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{read_response, Server};

fn export_points(export: &str) -> HashSet<String> {
    export
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("CREATE") && !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn kill_nine_loses_no_acknowledged_point() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    let kill_after_ms = 300 + seed % 1200;
    eprintln!("kill test seed {seed}: kill -9 after {kill_after_ms} ms");
    let mut server = Server::start();
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..3 {
        let acknowledged = Arc::clone(&acknowledged);
        let stop = Arc::clone(&stop);
        let address = server.address;
        writers.push(std::thread::spawn(move || {
            let Ok(mut stream) = std::net::TcpStream::connect(address) else {
                return 0;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut batches = 0;
            for batch in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let lines: Vec<String> = (0..200)
                    .map(|i| format!("k,s={},w={writer} v={batch}i {}", i % 50, batch * 1000 + i))
                    .collect();
                let body = lines.join("\n");
                let head = format!(
                    "POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(body.as_bytes()))
                    .is_err()
                {
                    break;
                }
                match read_response(&mut reader, false) {
                    Ok(response) if response.status == 204 => {
                        acknowledged.lock().expect("lock").extend(lines);
                        batches += 1;
                    }
                    _ => break,
                }
            }
            batches
        }));
    }
    std::thread::sleep(Duration::from_millis(kill_after_ms));
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    let batches: i32 = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(batches > 0, "no write was acknowledged before the kill");
    server.restart();
    assert!(server
        .wait_for_log("replayed write-ahead log", Duration::from_secs(5))
        .is_some());
    let code = server.stop();
    assert_eq!(code, Some(0));
    let stored = export_points(&common::export_dir(&server.dir, Some("db")));
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|line| !stored.contains(*line))
        .collect();
    eprintln!(
        "{} acknowledged points in {batches} batches, {} stored, {} missing",
        acknowledged.len(),
        stored.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "seed {seed}: {} acknowledged points lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn torn_wal_tail_is_cut_and_earlier_points_kept() {
    let mut server = Server::start();
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", "t v=1 1\nt v=2 2").status, 204);
    assert_eq!(server.write("db=db", "t v=3 3").status, 204);
    assert_eq!(server.stop(), Some(0));
    // Simulate a crash mid-append: garbage after the last record of every segment.
    let mut segments = Vec::new();
    for partition in std::fs::read_dir(server.dir.join("wal"))
        .expect("wal dir")
        .flatten()
    {
        if partition.path().is_dir() {
            for segment in std::fs::read_dir(partition.path())
                .expect("partition")
                .flatten()
            {
                segments.push(segment.path());
            }
        }
    }
    assert!(!segments.is_empty());
    for path in &segments {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .expect("open segment");
        file.write_all(&[0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3])
            .expect("append garbage");
    }
    server.restart();
    assert!(
        server
            .wait_for_log("cut off torn or corrupt tail", Duration::from_secs(5))
            .is_some(),
        "{}",
        server.log_text()
    );
    assert_eq!(server.write("db=db", "t v=4 4").status, 204);
    assert_eq!(server.stop(), Some(0));
    let stored = export_points(&common::export_dir(&server.dir, Some("db")));
    for expected in ["t v=1 1", "t v=2 2", "t v=3 3", "t v=4 4"] {
        assert!(stored.contains(expected), "{expected} missing: {stored:?}");
    }
}

#[test]
fn dropped_database_stays_dropped_and_can_be_recreated() {
    let mut server = Server::start();
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", "old v=1 1").status, 204);
    assert_eq!(server.query("DROP DATABASE db").0, 200);
    assert_eq!(server.write("db=db", "x v=1 1").status, 404);
    server.query("CREATE DATABASE db");
    // The old field type is forgotten with the database.
    assert_eq!(
        server.write("db=db", "old v=\"now a string\" 2").status,
        204
    );
    assert_eq!(server.stop(), Some(0));
    server.restart();
    let (_, databases) = server.query("SHOW DATABASES");
    assert!(databases.contains("[\"db\"]"), "{databases}");
    assert_eq!(server.write("db=db", "old v=\"again\" 3").status, 204);
    assert_eq!(
        server.write("db=db", "old v=1 4").status,
        400,
        "type survives restart"
    );
    let stored = export_points(&server.export(Some("db")));
    assert!(!stored.contains("old v=1 1"), "{stored:?}");
    assert!(stored.contains("old v=\"now a string\" 2"), "{stored:?}");
}
