//! Online backup and restore through the binary: `sluice backup` of a running server under a
//! steady write load, `sluice restore` into a fresh server, and `sluice export` of both equal
//! for every point acknowledged before the backup began (meta too: retention policies,
//! continuous queries, users); `-db` / `-newdb`, and the refusal to overwrite a database;
//! `-since`; a missing manifest, a corrupted file and a truncated file refused with nothing
//! restored; a connection past `[backup] max-connections` refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use common::{fresh_dir, Server, STARTUP_DEADLINE};

/// A timestamp in 2023: shard groups (7 days for an infinite policy) are real, not one.
const BASE_NS: i64 = 1_700_000_000_000_000_000;
const DAY_NS: i64 = 86_400_000_000_000;

/// Runs `sluice <args>`; returns exit code and stderr.
fn sluice(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn backup(server: &Server, extra: &[&str], directory: &Path) -> String {
    let host = server.backup_address().to_string();
    let mut args = vec!["backup", "-host", host.as_str()];
    args.extend_from_slice(extra);
    args.push(directory.to_str().unwrap());
    let (code, stderr) = sluice(&args);
    assert_eq!(code, Some(0), "backup failed: {stderr}");
    stderr
}

fn restore(server: &Server, extra: &[&str], directory: &Path) -> (Option<i32>, String) {
    let host = server.backup_address().to_string();
    let mut args = vec!["restore", "-host", host.as_str()];
    args.extend_from_slice(extra);
    args.push(directory.to_str().unwrap());
    sluice(&args)
}

/// `db/rp<TAB>line` for every point line of an export.
fn export_lines(export: &str) -> BTreeSet<String> {
    let mut database = String::new();
    let mut policy = String::new();
    let mut lines = BTreeSet::new();
    for line in export.lines() {
        if let Some(name) = line.strip_prefix("# CONTEXT-DATABASE:") {
            database = name.to_string();
        } else if let Some(name) = line.strip_prefix("# CONTEXT-RETENTION-POLICY:") {
            policy = name.to_string();
        } else if !line.starts_with('#') && !line.starts_with("CREATE ") && !line.is_empty() {
            lines.insert(format!("{database}/{policy}\t{line}"));
        }
    }
    lines
}

fn stopped_export(server: &mut Server) -> BTreeSet<String> {
    assert_eq!(server.stop(), Some(0));
    export_lines(&common::export_dir(&server.dir, None))
}

fn query_ok(server: &Server, statement: &str) -> String {
    let (status, body) = server.query(statement);
    assert_eq!(status, 200, "{statement}: {body}");
    assert!(!body.contains("\"error\""), "{statement}: {body}");
    body
}

fn write_ok(server: &Server, params: &str, body: &str) {
    let response = server.write(params, body);
    assert_eq!(response.status, 204, "{params}: {}", response.text());
}

/// Points over several shard groups of two retention policies, with every field type.
fn seed(server: &Server, database: &str) {
    query_ok(server, &format!("CREATE DATABASE {database}"));
    query_ok(
        server,
        &format!("CREATE RETENTION POLICY two_years ON {database} DURATION 730d REPLICATION 1"),
    );
    let mut body = String::new();
    for day in 0..30 {
        let time = BASE_NS + day * DAY_NS;
        body.push_str(&format!(
            "cpu,host=h{},region=r\\ 1 usage={}.5,count={}i,ok={},note=\"d \\\"{day}\\\"\" {time}\n",
            day % 3,
            day,
            day * 10,
            day % 2 == 0
        ));
    }
    write_ok(server, &format!("db={database}"), &body);
    write_ok(
        server,
        &format!("db={database}&rp=two_years"),
        &format!("mem,host=h1 free=1u {}\n", now_ns() - DAY_NS),
    );
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Writes batches to `load` until told to stop; sends each acknowledged batch's number.
fn start_writer(
    address: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    acknowledged: mpsc::Sender<u64>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let until = Instant::now() + STARTUP_DEADLINE;
        let mut batch = 0u64;
        while !stop.load(Ordering::Acquire) && Instant::now() < until {
            let mut body = String::new();
            for point in 0..50u64 {
                let time = BASE_NS + (batch * 50 + point) as i64 * 1_000_000;
                body.push_str(&format!("load,writer=w{} v={batch}i {time}\n", point % 5));
            }
            let response =
                common::request(address, "POST", "/write?db=metrics", &[], body.as_bytes());
            assert_eq!(response.status, 204, "{}", response.text());
            let _ = acknowledged.send(batch);
            batch += 1;
        }
        batch
    })
}

/// The batch number of a `load` line (its `v` field).
fn load_batch(line: &str) -> Option<u64> {
    let (_, rest) = line.split_once("\tload,")?;
    let value = rest.split(" v=").nth(1)?;
    value.split('i').next()?.parse().ok()
}

#[test]
fn a_backup_under_write_load_restores_every_point_acknowledged_before_it_began() {
    // Small caches and a fast check interval: snapshots and compactions run during the
    // backup, so reads race them.
    let settings = [
        ("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "65536"),
        ("SLUICE_DATA_STORAGE_CHECK_INTERVAL", "10ms"),
    ];
    let mut source = Server::start_with(&settings);
    seed(&source, "metrics");
    seed(&source, "other");
    query_ok(
        &source,
        "CREATE CONTINUOUS QUERY cq_mean ON metrics BEGIN SELECT mean(usage) INTO cpu_1h FROM cpu GROUP BY time(1h) END",
    );
    query_ok(
        &source,
        "CREATE USER admin WITH PASSWORD 'secret' WITH ALL PRIVILEGES",
    );
    query_ok(&source, "CREATE USER reader WITH PASSWORD 'pw'");
    query_ok(&source, "GRANT READ ON metrics TO reader");

    let stop = Arc::new(AtomicBool::new(false));
    let (sender, acknowledged) = mpsc::channel();
    let writer = start_writer(source.address, Arc::clone(&stop), sender);
    // Some load before the backup starts.
    let mut last_acknowledged = 0;
    while last_acknowledged < 20 {
        last_acknowledged = acknowledged.recv_timeout(STARTUP_DEADLINE).unwrap();
    }
    while let Ok(batch) = acknowledged.try_recv() {
        last_acknowledged = batch;
    }
    let directory = fresh_dir("backup-load");
    let target = directory.join("backup");
    let said = backup(&source, &[], &target);
    stop.store(true, Ordering::Release);
    let batches = writer.join().unwrap();
    assert!(
        batches > last_acknowledged + 1,
        "the writer wrote nothing while the backup ran ({batches} batches)"
    );
    assert!(said.contains("backed up"), "{said}");
    assert!(target.join("manifest.json").exists());

    let mut fresh = Server::start();
    let (code, stderr) = restore(&fresh, &[], &target);
    assert_eq!(code, Some(0), "restore failed: {stderr}");
    assert!(stderr.contains("created users: admin, reader"), "{stderr}");
    let databases = query_ok(&fresh, "SHOW DATABASES");
    assert!(
        databases.contains("metrics") && databases.contains("other"),
        "{databases}"
    );
    let policies = query_ok(&fresh, "SHOW RETENTION POLICIES ON metrics");
    assert!(
        policies.contains("\"two_years\",\"17520h0m0s\""),
        "{policies}"
    );
    let cqs = query_ok(&fresh, "SHOW CONTINUOUS QUERIES");
    assert!(cqs.contains("cq_mean"), "{cqs}");
    let users = query_ok(&fresh, "SHOW USERS");
    assert!(
        users.contains("[\"admin\",true]") && users.contains("[\"reader\",false]"),
        "{users}"
    );
    let grants = query_ok(&fresh, "SHOW GRANTS FOR reader");
    assert!(grants.contains("[\"metrics\",\"READ\"]"), "{grants}");

    let original = stopped_export(&mut source);
    let restored = stopped_export(&mut fresh);
    // Everything restored was stored; every point acknowledged before the backup began is
    // restored, byte for byte.
    let invented: Vec<_> = restored.difference(&original).take(5).collect();
    assert!(
        invented.is_empty(),
        "restored points the source never had: {invented:?}"
    );
    let missing: Vec<_> = original
        .iter()
        .filter(|line| load_batch(line).is_none_or(|batch| batch <= last_acknowledged))
        .filter(|line| !restored.contains(*line))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged points not restored: {missing:?}"
    );
    let load_points = restored.iter().filter(|l| load_batch(l).is_some()).count() as u64;
    assert!(load_points >= (last_acknowledged + 1) * 50, "{load_points}");
    assert!(restored
        .iter()
        .any(|l| l.starts_with("other/two_years\tmem,host=h1 free=1u ")));
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn restore_loads_one_database_under_a_new_name_and_never_overwrites_one() {
    let mut source = Server::start();
    seed(&source, "alpha");
    seed(&source, "beta");
    let directory = fresh_dir("backup-newdb");
    let whole = directory.join("whole");
    backup(&source, &[], &whole);
    let only_beta = directory.join("beta");
    backup(&source, &["-db", "beta"], &only_beta);

    // Into the server it came from: alpha exists, so it is refused, and nothing changes.
    let before = source.export(None);
    let (code, stderr) = restore(&source, &["-db", "alpha"], &whole);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("database \"alpha\" already exists"),
        "{stderr}"
    );
    assert!(stderr.contains("-newdb"), "{stderr}");
    let (code, stderr) = restore(&source, &[], &whole);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(source.export(None), before);
    // Under a new name it goes in beside the original, equal point for point.
    let (code, stderr) = restore(&source, &["-db", "alpha", "-newdb", "alpha_copy"], &whole);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = restore(&source, &["-db", "nowhere"], &whole);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("\"nowhere\" is not in the backup"),
        "{stderr}"
    );
    let (code, stderr) = sluice(&["restore", "-newdb", "x", whole.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("-newdb renames one database"), "{stderr}");

    // -rp: that policy's points only (the database's meta whole).
    let one_policy = directory.join("one-policy");
    backup(&source, &["-db", "alpha", "-rp", "two_years"], &one_policy);
    let mut policy_only = Server::start();
    let (code, stderr) = restore(&policy_only, &[], &one_policy);
    assert_eq!(code, Some(0), "{stderr}");
    let policies = query_ok(&policy_only, "SHOW RETENTION POLICIES ON alpha");
    assert!(
        policies.contains("autogen") && policies.contains("two_years"),
        "{policies}"
    );
    let lines = stopped_export(&mut policy_only);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines
        .iter()
        .all(|line| line.starts_with("alpha/two_years\tmem,")));
    let (code, stderr) = sluice(&[
        "backup",
        "-host",
        &source.backup_address().to_string(),
        "-db",
        "alpha",
        "-rp",
        "nope",
        directory.join("no-policy").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("retention policy not found: nope"),
        "{stderr}"
    );

    // A -db backup holds that database only, and no users.
    let mut fresh = Server::start();
    query_ok(&source, "CREATE USER someone WITH PASSWORD 'pw'");
    let (code, stderr) = restore(&fresh, &[], &only_beta);
    assert_eq!(code, Some(0), "{stderr}");
    let databases = query_ok(&fresh, "SHOW DATABASES");
    assert!(
        databases.contains("beta") && !databases.contains("alpha"),
        "{databases}"
    );

    let original = stopped_export(&mut source);
    let renamed: BTreeSet<String> = original
        .iter()
        .filter_map(|line| line.strip_prefix("alpha/"))
        .map(|rest| format!("alpha_copy/{rest}"))
        .collect();
    let copies: BTreeSet<String> = original
        .iter()
        .filter(|line| line.starts_with("alpha_copy/"))
        .cloned()
        .collect();
    assert!(!renamed.is_empty());
    assert_eq!(copies, renamed);
    let beta: BTreeSet<String> = original
        .iter()
        .filter(|line| line.starts_with("beta/"))
        .cloned()
        .collect();
    assert_eq!(stopped_export(&mut fresh), beta);
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn since_backs_up_only_the_points_at_or_after_it() {
    let source = Server::start();
    seed(&source, "metrics");
    let directory = fresh_dir("backup-since");
    let incremental = directory.join("since");
    // Day 20 of the seed, as RFC 3339: 2023-12-04T22:13:20Z.
    let since_ns = BASE_NS + 20 * DAY_NS;
    backup(
        &source,
        &["-db", "metrics", "-since", "2023-12-04T22:13:20Z"],
        &incremental,
    );
    let manifest = std::fs::read_to_string(incremental.join("manifest.json")).unwrap();
    assert!(
        manifest.contains(&format!("\"since_ns\": {since_ns}")),
        "{manifest}"
    );
    let (code, stderr) = sluice(&["backup", "-since", "yesterday", "x"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("is not a time"), "{stderr}");

    let mut fresh = Server::start();
    let (code, stderr) = restore(&fresh, &[], &incremental);
    assert_eq!(code, Some(0), "{stderr}");
    let restored = stopped_export(&mut fresh);
    let mut times: Vec<i64> = restored
        .iter()
        .filter(|line| line.starts_with("metrics/autogen\tcpu,"))
        .map(|line| line.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    times.sort_unstable();
    let expected: Vec<i64> = (20..30).map(|day| BASE_NS + day * DAY_NS).collect();
    assert_eq!(times, expected);
    // The recent point of the other policy is after `since` too.
    assert!(restored
        .iter()
        .any(|l| l.starts_with("metrics/two_years\tmem,")));
    let _ = std::fs::remove_dir_all(directory);
}

/// Copies a backup directory (flat: a backup has no subdirectories).
fn copy_backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn points_files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_str().unwrap().ends_with(".lp.gz"))
        .collect();
    files.sort();
    files
}

#[test]
fn a_torn_or_corrupted_backup_is_refused_and_restores_nothing() {
    let source = Server::start();
    seed(&source, "metrics");
    let directory = fresh_dir("backup-corrupt");
    let good = directory.join("good");
    backup(&source, &[], &good);
    let fresh = Server::start();
    let nothing = query_ok(&fresh, "SHOW DATABASES");

    let torn = directory.join("torn");
    copy_backup(&good, &torn);
    std::fs::remove_file(torn.join("manifest.json")).unwrap();
    let (code, stderr) = restore(&fresh, &[], &torn);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("manifest.json is missing"), "{stderr}");

    let corrupt = directory.join("corrupt");
    copy_backup(&good, &corrupt);
    let victim = points_files(&corrupt).pop().unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&victim, &bytes).unwrap();
    let (code, stderr) = restore(&fresh, &[], &corrupt);
    assert_eq!(code, Some(1));
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(name) && stderr.contains("is corrupt"),
        "{stderr}"
    );

    let truncated = directory.join("truncated");
    copy_backup(&good, &truncated);
    let victim = points_files(&truncated).remove(0);
    let length = std::fs::metadata(&victim).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_len(length - 7)
        .unwrap();
    let (code, stderr) = restore(&fresh, &[], &truncated);
    assert_eq!(code, Some(1));
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(name) && stderr.contains("truncated"),
        "{stderr}"
    );

    let meta_missing = directory.join("meta-missing");
    copy_backup(&good, &meta_missing);
    std::fs::remove_file(meta_missing.join("meta.json")).unwrap();
    let (code, stderr) = restore(&fresh, &[], &meta_missing);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("meta.json"), "{stderr}");

    let bad_manifest = directory.join("bad-manifest");
    copy_backup(&good, &bad_manifest);
    let manifest = std::fs::read(bad_manifest.join("manifest.json")).unwrap();
    std::fs::write(
        bad_manifest.join("manifest.json"),
        &manifest[..manifest.len() / 2],
    )
    .unwrap();
    let (code, stderr) = restore(&fresh, &[], &bad_manifest);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("is not a valid manifest"), "{stderr}");

    assert_eq!(query_ok(&fresh, "SHOW DATABASES"), nothing);
    let (code, stderr) = restore(&fresh, &[], &good);
    assert_eq!(code, Some(0), "the intact backup restores: {stderr}");
    // A backup never goes into a directory that holds something.
    let (code, stderr) = sluice(&[
        "backup",
        "-host",
        &source.backup_address().to_string(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("is not empty"), "{stderr}");
    let _ = std::fs::remove_dir_all(directory);
}

#[test]
fn a_connection_past_max_connections_is_refused_with_an_error() {
    let mut source = Server::start_with(&[("SLUICE_BACKUP_MAX_CONNECTIONS", "1")]);
    seed(&source, "metrics");
    let address = source.backup_address();
    assert!(address.ip().is_loopback());
    // Hold the only backup thread: its greeting says a thread took the connection.
    let mut holder = std::net::TcpStream::connect(address).unwrap();
    let mut greeting = [0u8; 5];
    holder.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting[0], 7, "Ready");
    let directory = fresh_dir("backup-busy");
    let (code, stderr) = sluice(&[
        "backup",
        "-host",
        &address.to_string(),
        directory.join("refused").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("too many backup connections"), "{stderr}");
    assert!(!directory.join("refused").join("manifest.json").exists());
    drop(holder);
    // Once the holder is gone the thread serves the next backup (it may take a moment to
    // see the close: retried until the deadline).
    let until = Instant::now() + STARTUP_DEADLINE;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let target = directory.join(format!("attempt-{attempt}"));
        let (code, stderr) = sluice(&[
            "backup",
            "-host",
            &address.to_string(),
            target.to_str().unwrap(),
        ]);
        if code == Some(0) {
            break;
        }
        assert!(Instant::now() < until, "never served again: {stderr}");
        std::thread::yield_now();
    }
    // An idle client holding a backup thread does not hold up shutdown until its timeout
    // (60 s): the server cuts it.
    let mut idle = std::net::TcpStream::connect(address).unwrap();
    idle.read_exact(&mut greeting).unwrap();
    let stopping = Instant::now();
    assert_eq!(source.stop(), Some(0));
    assert!(
        stopping.elapsed() < std::time::Duration::from_secs(20),
        "stopping took {:?}",
        stopping.elapsed()
    );
    let _ = std::fs::remove_dir_all(directory);
}

/// A backup of a policy whose duration has passed since: the points it no longer keeps are
/// left out (retention would have deleted them), the rest restored. The backup's meta is
/// edited to shorten the policy, and the manifest updated to match, as a real one would be.
#[test]
fn points_older_than_their_policy_keeps_are_left_out_of_a_restore() {
    use sha2::Digest;
    let source = Server::start();
    seed(&source, "metrics");
    let directory = fresh_dir("backup-expired");
    let edited = directory.join("edited");
    backup(&source, &[], &edited);
    let meta_path = edited.join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let hour_ns = 3_600_000_000_000i64;
    for policy in meta["databases"][0]["retention_policies"]
        .as_array_mut()
        .unwrap()
    {
        if policy["name"] == "autogen" {
            policy["duration_ns"] = (2 * hour_ns).into();
            policy["shard_group_duration_ns"] = hour_ns.into();
        }
    }
    let bytes = serde_json::to_vec(&meta).unwrap();
    std::fs::write(&meta_path, &bytes).unwrap();
    let manifest_path = edited.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    for file in manifest["files"].as_array_mut().unwrap() {
        if file["name"] == "meta.json" {
            file["bytes"] = bytes.len().into();
            file["sha256"] = digest.clone().into();
        }
    }
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();

    let mut fresh = Server::start();
    let (code, stderr) = restore(&fresh, &[], &edited);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("left out 30 points older than"), "{stderr}");
    assert!(
        stderr.contains("restored 1 points into metrics"),
        "{stderr}"
    );
    let restored = stopped_export(&mut fresh);
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert!(restored
        .iter()
        .all(|line| line.starts_with("metrics/two_years\tmem,")));
    let _ = std::fs::remove_dir_all(directory);
}

/// A restore the server cannot complete (here: the target's series limit drops points) is
/// refused with the write's error, and the database it had created is dropped again.
#[test]
fn a_restore_that_fails_midway_leaves_nothing() {
    let source = Server::start();
    seed(&source, "metrics");
    let directory = fresh_dir("backup-midway");
    let target = directory.join("backup");
    backup(&source, &[], &target);
    let limited = Server::start_with(&[("SLUICE_DATA_MAX_SERIES_PER_DATABASE", "2")]);
    let (code, stderr) = restore(&limited, &[], &target);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("restore refused") && stderr.contains("max-series-per-database"),
        "{stderr}"
    );
    let databases = query_ok(&limited, "SHOW DATABASES");
    assert!(!databases.contains("metrics"), "{databases}");
    assert!(limited
        .wait_for_log("dropped the database it created", STARTUP_DEADLINE)
        .is_some());
    let _ = std::fs::remove_dir_all(directory);
}
