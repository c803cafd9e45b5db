//! Durability: every write answered 204 survives `kill -9`; a torn WAL tail is cut, never
//! fatal; dropped databases and shards stay dropped across restarts.

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

/// Writes from three connections until `kill_after_ms`, returns the acknowledged lines.
fn write_until_killed(server: &mut Server, kill_after_ms: u64, round: u64) -> (Vec<String>, i32) {
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
            for batch in (round * 1_000_000).. {
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
    (acknowledged, batches)
}

/// `rounds` times: write from three connections, `kill -9` at a random moment, restart.
/// Then every acknowledged point must be exported exactly once.
fn kill_rounds_lose_nothing(env: &[(&str, &str)], rounds: u64) -> Server {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    eprintln!("kill test seed {seed}");
    let mut server = Server::start_in(common::fresh_dir("kill"), env);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    let mut acknowledged = Vec::new();
    let mut batches = 0;
    for round in 0..rounds {
        let kill_after_ms = 300 + (seed >> (round * 8)) % 1200;
        eprintln!("round {round}: kill -9 after {kill_after_ms} ms");
        let (lines, round_batches) = write_until_killed(&mut server, kill_after_ms, round);
        assert!(
            round_batches > 0,
            "no write was acknowledged before the kill"
        );
        acknowledged.extend(lines);
        batches += round_batches;
        server.restart();
        assert!(server
            .wait_for_log("replayed write-ahead log", Duration::from_secs(30))
            .is_some());
    }
    let code = server.stop();
    assert_eq!(code, Some(0));
    let export = common::export_dir(&server.dir, Some("db"));
    let stored = export_points(&export);
    let exported_lines = export
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("CREATE") && !l.is_empty())
        .count();
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
    assert_eq!(
        exported_lines,
        stored.len(),
        "seed {seed}: a point exported twice"
    );
    server
}

#[test]
fn kill_nine_loses_no_acknowledged_point() {
    kill_rounds_lose_nothing(&[], 1);
}

/// Tiny caches and a fast maintenance thread: snapshots, WAL truncation and compactions run
/// all the time, so the kills land in the middle of them.
#[test]
fn kill_nine_during_snapshots_and_compactions_loses_nothing() {
    let server = kill_rounds_lose_nothing(
        &[
            ("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "64k"),
            ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "5ms"),
            ("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "100ms"),
            ("SLUICE_DATA_COMPACT_THROUGHPUT", "0"),
        ],
        3,
    );
    let mut files = 0;
    for shard in std::fs::read_dir(server.dir.join("data"))
        .expect("data dir")
        .flatten()
    {
        if let Ok(entries) = std::fs::read_dir(shard.path()) {
            files += entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tsm"))
                .count();
        }
    }
    assert!(files > 0, "no snapshot was written:\n{}", server.log_text());
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
            .wait_for_log("cut off torn tail", Duration::from_secs(5))
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

/// `DROP SHARD` deleted the shard in meta and on disk but left its points in the WAL: the
/// restart replayed them into a new shard group of the same time, and the dropped points
/// were back. The drop now checkpoints first; a point written into the range afterwards
/// (a new shard group) is kept.
#[test]
fn a_dropped_shard_stays_dropped_after_kill_nine() {
    let mut server = Server::start();
    server.query("CREATE DATABASE db");
    let week_ns: i64 = 7 * 24 * 3_600_000_000_000;
    let body = format!("m v=1 {}\nm v=2 {}", week_ns / 2, week_ns + week_ns / 2);
    assert_eq!(server.write("db=db", &body).status, 204);
    let (_, shards) = server.query("SHOW SHARDS");
    let shards: serde_json::Value = serde_json::from_str(&shards).unwrap();
    let rows = &shards["results"][0]["series"][0]["values"];
    let first_week = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row[4] == "1969-12-29T00:00:00Z")
        .unwrap_or_else(|| panic!("no shard of the first week: {shards}"));
    let id = first_week[0].as_i64().unwrap();
    assert_eq!(server.query(&format!("DROP SHARD {id}")).0, 200);
    let later = format!("m v=3 {}", week_ns / 2 + 1);
    assert_eq!(server.write("db=db", &later).status, 204);
    server.kill9();
    server.restart();
    let (_, answer) = server.query("SELECT v FROM db..m");
    assert!(
        !answer.contains(",1]"),
        "a dropped point came back: {answer}"
    );
    assert!(answer.contains(",2]") && answer.contains(",3]"), "{answer}");
}

/// A tmpfs of a fixed size mounted for one test, unmounted on drop (after the server in it
/// is dropped, when declared before it).
struct SmallDisk {
    mount_point: std::path::PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `megabytes`; `None` when this process may not mount (not root).
    fn mount(megabytes: u64) -> Option<SmallDisk> {
        let mount_point = common::fresh_dir("small-disk");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&mount_point)
            .status()
            .map(|status| status.success())
            .unwrap_or(false);
        if !mounted {
            let _ = std::fs::remove_dir(&mount_point);
            return None;
        }
        Some(SmallDisk { mount_point })
    }

    /// Fills the disk with a file of zeros until it is full (or `megabytes` are written).
    fn fill(&self, megabytes: usize) -> std::path::PathBuf {
        let path = self.mount_point.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 1 << 20];
        for _ in 0..megabytes {
            if file.write_all(&block).is_err() {
                break;
            }
        }
        path
    }

    /// Takes the pages a filler left: one-byte files until none more fits. Returns them.
    fn fill_last_pages(&self) -> Vec<std::path::PathBuf> {
        let mut crumbs = Vec::new();
        for n in 0..4096 {
            let path = self.mount_point.join(format!("crumb-{n}"));
            if std::fs::write(&path, b"x").is_err() {
                let _ = std::fs::remove_file(&path);
                break;
            }
            crumbs.push(path);
        }
        crumbs
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.mount_point)
            .status();
        let _ = std::fs::remove_dir(&self.mount_point);
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|output| output.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// Issue 15's reproduction: writes fail on a full disk, space is freed, three writes are
/// acknowledged, `kill -9`, and all three are there after the restart (they used to be cut
/// off behind the partial record the failed write left in the WAL segment).
#[test]
fn acknowledged_points_survive_a_full_disk_and_a_crash() {
    let Some(disk) = SmallDisk::mount(48) else {
        assert!(!is_root(), "root could not mount a tmpfs");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let filler = disk.fill(40);
    let mut server = Server::start_in(disk.mount_point.join("sluice"), &[]);
    server.query("CREATE DATABASE db");
    let mut refused = None;
    for batch in 0..1000u64 {
        let body: Vec<String> = (0..2000u64)
            .map(|i| {
                let time = batch * 2000 + i + 1;
                format!("cpu,host=h{} v={i},w=2i,s=\"abcdefghij\" {time}", i % 50)
            })
            .collect();
        let response = server.write("db=db", &body.join("\n"));
        if response.status != 204 {
            refused = Some((batch, response));
            break;
        }
    }
    let (refused_batch, refused) = refused.expect("the disk never filled");
    assert_eq!(refused.status, 500, "{}", refused.text());
    // All-or-nothing: nothing of the refused request is visible (its 2,000 points span
    // every partition; some partitions' parts were durable when another's failed).
    let (status, body) = server.query(&format!(
        "SELECT count(v) FROM db..cpu WHERE time >= {} AND time <= {}",
        refused_batch * 2000 + 1,
        refused_batch * 2000 + 2000
    ));
    assert_eq!(status, 200);
    assert!(
        !body.contains("values"),
        "points of a request answered 500 are visible: {body}"
    );
    let wal_files = |server: &Server| -> usize {
        std::fs::read_dir(server.dir.join("wal"))
            .unwrap()
            .flatten()
            .filter(|entry| entry.path().is_dir())
            .map(|partition| std::fs::read_dir(partition.path()).unwrap().count())
            .sum()
    };
    let segments_when_full = wal_files(&server);
    let big_batch: Vec<String> = (0..2000).map(|i| format!("more v={i} {}", i + 1)).collect();
    for _ in 0..20 {
        let status = server.write("db=db", &big_batch.join("\n")).status;
        assert!(status == 500 || status == 204, "{status}");
        // The same 2,000 points each time: all of them are visible, or none.
        let (_, body) = server.query("SELECT count(v) FROM db..more");
        assert!(
            !body.contains("values") || body.contains(",2000]"),
            "a request stored in part: {body}"
        );
    }
    assert!(
        wal_files(&server) <= segments_when_full + 2,
        "failed writes pile up WAL segments"
    );
    std::fs::remove_file(filler).unwrap();
    for i in 0..3 {
        let response = server.write("db=db", &format!("ack v={i} {}", i + 1));
        assert_eq!(response.status, 204, "{}", response.text());
    }
    server.kill9();
    server.restart();
    let (status, body) = server.query("SELECT count(v) FROM db..ack");
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""values":[["1970-01-01T00:00:00Z",3]]"#),
        "acknowledged points lost: {body}\n{}",
        server.log_text()
    );
}

/// Issue 15: a server started on a full disk serves queries and says it is read-only (an
/// error in its log, `X-Sluice-Read-Only: true` on `/ping`), answers writes 500, and takes
/// them again once space is freed.
#[test]
fn a_server_started_on_a_full_disk_serves_queries_and_says_it_is_read_only() {
    let Some(disk) = SmallDisk::mount(16) else {
        assert!(!is_root(), "root could not mount a tmpfs");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let mut server = Server::start_in(disk.mount_point.join("sluice"), &[]);
    server.query("CREATE DATABASE db");
    let body: Vec<String> = (0..100)
        .map(|i| format!("cpu,host=h{} v={i} {}", i % 5, i + 1))
        .collect();
    assert_eq!(server.write("db=db", &body.join("\n")).status, 204);
    // Killed, so the points are in WAL segments that replay keeps (a clean stop leaves
    // empty segments, which the next start deletes, freeing pages for new ones).
    server.kill9();
    let filler = disk.fill(16);
    let crumbs = disk.fill_last_pages();
    server.restart();
    assert!(
        server
            .wait_for_log("serving queries read-only", Duration::from_secs(10))
            .is_some(),
        "the log does not say read-only:\n{}",
        server.log_text()
    );
    let ping = || common::request(server.address, "GET", "/ping", &[], b"");
    assert_eq!(ping().status, 204);
    assert_eq!(ping().header("X-Sluice-Read-Only"), Some("true"));
    let (status, answer) = server.query("SELECT count(v) FROM db..cpu");
    assert_eq!(status, 200);
    assert!(answer.contains(",100]]"), "{answer}");
    assert_eq!(server.write("db=db", "cpu v=1 1000").status, 500);
    std::fs::remove_file(filler).unwrap();
    for crumb in crumbs {
        std::fs::remove_file(crumb).unwrap();
    }
    // Series enough to reach every partition: each starts its segment again.
    let again: Vec<String> = (0..20).map(|i| format!("cpu,host=x{i} v=1 1000")).collect();
    let response = server.write("db=db", &again.join("\n"));
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(ping().header("X-Sluice-Read-Only"), None);
}

/// Points of one request in the atomicity test.
const ATOMIC_REQUEST_POINTS: u64 = 300;
/// Writers (connections) of the atomicity test: each has one request in flight at the kill.
const ATOMIC_WRITERS: u64 = 8;
/// Kills of the atomicity test (the code before request atomicity failed two runs in three).
const ATOMIC_KILL_ROUNDS: u64 = 6;

/// Writes requests of `ATOMIC_REQUEST_POINTS` points over as many series (so every request
/// spans every WAL partition) from `ATOMIC_WRITERS` connections until `kill -9`, which comes once
/// `kill_after` requests are acknowledged. Each point carries its request's number (field
/// `r`). Returns the numbers of the acknowledged requests.
fn write_requests_until_killed(server: &mut Server, kill_after: usize, round: u64) -> Vec<u64> {
    let acknowledged: Arc<(Mutex<Vec<u64>>, std::sync::Condvar)> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..ATOMIC_WRITERS {
        let acknowledged = Arc::clone(&acknowledged);
        let stop = Arc::clone(&stop);
        let address = server.address;
        writers.push(std::thread::spawn(move || {
            let Ok(mut stream) = std::net::TcpStream::connect(address) else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            for sequence in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let request = (round * ATOMIC_WRITERS + writer) * 1_000_000 + sequence;
                let body: Vec<String> = (0..ATOMIC_REQUEST_POINTS)
                    .map(|k| format!("a,s={k} r={request}i {}", request * 1000 + k))
                    .collect();
                let body = body.join("\n");
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
                        let (list, changed) = &*acknowledged;
                        list.lock().expect("lock").push(request);
                        changed.notify_all();
                    }
                    _ => break,
                }
            }
        }));
    }
    {
        let (list, changed) = &*acknowledged;
        let guard = list.lock().expect("lock");
        let (guard, timeout) = changed
            .wait_timeout_while(guard, Duration::from_secs(60), |list| {
                list.len() < kill_after
            })
            .expect("lock");
        assert!(
            !timeout.timed_out(),
            "only {} requests acknowledged",
            guard.len()
        );
    }
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer");
    }
    let list = acknowledged.0.lock().expect("lock").clone();
    list
}

/// Issue 15: a request is all-or-nothing across `kill -9`. Requests that each span every
/// WAL partition are written while snapshots run all the time; after each kill and restart
/// every request is either wholly stored or wholly absent, and every acknowledged one is
/// stored.
#[test]
fn kill_nine_leaves_every_request_whole_or_absent() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    eprintln!("atomicity kill test seed {seed}");
    let env = [
        ("SLUICE_DATA_WAL_PARTITIONS", "4"),
        ("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "256k"),
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "5ms"),
        // A slow disk: the partitions write a request's parts milliseconds apart, so the
        // kill often lands between them.
        ("SLUICE_DATA_DEBUG_WAL_COMMIT_DELAY", "3ms"),
    ];
    let mut server = Server::start_in(common::fresh_dir("atomic"), &env);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    let mut acknowledged = Vec::new();
    for round in 0..ATOMIC_KILL_ROUNDS {
        let kill_after = 20 + ((seed >> (round * 8)) % 150) as usize;
        eprintln!("round {round}: kill -9 after {kill_after} acknowledged requests");
        acknowledged.extend(write_requests_until_killed(&mut server, kill_after, round));
        server.restart();
        assert!(server
            .wait_for_log("replayed write-ahead log", Duration::from_secs(30))
            .is_some());
    }
    assert_eq!(server.stop(), Some(0));
    let export = common::export_dir(&server.dir, Some("db"));
    let mut points_of: std::collections::HashMap<u64, u64> = Default::default();
    for line in export_points(&export) {
        let Some(request) = line
            .split_once(" r=")
            .and_then(|(_, rest)| rest.split_once('i'))
            .and_then(|(number, _)| number.parse::<u64>().ok())
        else {
            continue;
        };
        *points_of.entry(request).or_default() += 1;
    }
    let partial: Vec<(&u64, &u64)> = points_of
        .iter()
        .filter(|(_, points)| **points != ATOMIC_REQUEST_POINTS)
        .collect();
    assert!(
        partial.is_empty(),
        "seed {seed}: requests stored in part (request, points): {:?}",
        &partial[..partial.len().min(10)]
    );
    let lost: Vec<&u64> = acknowledged
        .iter()
        .filter(|request| !points_of.contains_key(request))
        .collect();
    assert!(
        lost.is_empty(),
        "seed {seed}: acknowledged requests lost: {:?}",
        &lost[..lost.len().min(10)]
    );
    eprintln!(
        "{} requests acknowledged, {} stored whole, none in part",
        acknowledged.len(),
        points_of.len()
    );
}
