//! The offline commands on a stopped server's directories, through the binary: `sluice
//! verify` passes a healthy store, finds a byte flipped in a column file and in a sealed WAL
//! segment (and never writes); `sluice export` and `sluice verify` fail loudly where there is
//! no store instead of reporting nothing, and find the meta directory where the server's
//! configuration puts it.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;

/// Runs `sluice <args>` with only `PATH`, `HOME` and `env` in its environment; returns its
/// exit code, stdout and stderr.
fn sluice(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.args(args).env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `dir` with its bytes and modification time: what `verify` must leave
/// exactly as it found it.
fn tree_state(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut state = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let modified = entry.metadata().unwrap().modified().unwrap();
                state.insert(path.clone(), (std::fs::read(&path).unwrap(), modified));
            }
        }
    }
    state
}

/// Files under `dir` whose name ends with `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = tree_state(dir)
        .into_keys()
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

fn flip_byte(path: &Path, position: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[position] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

/// `sluice verify -datadir <dir>/data`, checking it changed nothing.
fn verify(dir: &Path) -> (Option<i32>, String) {
    let before = tree_state(dir);
    let (code, stdout, stderr) = sluice(&["verify", "-datadir", text(&dir.join("data"))], &[]);
    assert_eq!(tree_state(dir), before, "verify changed the store");
    assert!(stderr.is_empty(), "{stderr}");
    (code, stdout)
}

/// Lines of 20 series, `count` points each, at times from `first_time`.
fn points(first_time: i64, count: i64) -> String {
    let mut body = String::new();
    for time in first_time..first_time + count {
        for host in 0..20 {
            body.push_str(&format!(
                "cpu,host=h{host} value={time}.5,n={host}i {time}\n"
            ));
        }
    }
    body
}

#[test]
fn verify_passes_a_healthy_store_and_finds_flipped_bytes_in_column_files_and_sealed_wal_segments() {
    let mut server = Server::start();
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    assert_eq!(server.write("db=db", &points(1_000, 100)).status, 204);
    // A clean stop writes the caches to column files.
    assert_eq!(server.stop(), Some(0));
    // Two runs killed before any snapshot: the first run's segments are sealed by the
    // second run's start, which replays them and writes to new segments after them.
    server.restart();
    for batch in 0..6 {
        let response = server.write("db=db", &points(10_000 + batch * 10, 10));
        assert_eq!(response.status, 204);
    }
    server.kill9();
    server.restart();
    assert_eq!(server.write("db=db", &points(20_000, 10)).status, 204);
    server.kill9();

    let (code, stdout) = verify(&server.dir);
    assert_eq!(code, Some(0), "{stdout}");
    let summary = stdout.lines().last().unwrap();
    assert!(summary.ends_with(": healthy"), "{stdout}");
    assert!(!summary.contains(" 0 column files"), "{stdout}");
    assert!(!summary.contains("(0 records)"), "{stdout}");

    // A byte in the middle of a column file (a block or the index): exit 1, its path named.
    let column_file = files_ending(&server.dir.join("data"), ".tsm").remove(0);
    let middle = std::fs::metadata(&column_file).unwrap().len() as usize / 2;
    flip_byte(&column_file, middle);
    let (code, stdout) = verify(&server.dir);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("corrupt {} offset ", column_file.display())),
        "{stdout}"
    );
    assert!(
        stdout.lines().last().unwrap().ends_with(": 1 problem"),
        "{stdout}"
    );
    flip_byte(&column_file, middle);
    assert_eq!(verify(&server.dir).0, Some(0));

    // A byte in the middle of a sealed segment (later segments follow it): exit 1, with the
    // segment's path and the offset of the bad record, at or before the flipped byte.
    let sealed = std::fs::read_dir(server.dir.join("wal"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .filter_map(|partition| {
            let segments = files_ending(&partition.path(), ".wal");
            let (_, sealed) = segments.split_last()?;
            sealed
                .iter()
                .find(|segment| std::fs::metadata(segment).unwrap().len() > 1000)
                .cloned()
        })
        .next()
        .expect("a sealed segment holding records");
    let middle = std::fs::metadata(&sealed).unwrap().len() as usize / 2;
    flip_byte(&sealed, middle);
    let (code, stdout) = verify(&server.dir);
    assert_eq!(code, Some(1), "{stdout}");
    let prefix = format!("corrupt {} offset ", sealed.display());
    let line = stdout
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {}:\n{stdout}", sealed.display()));
    let offset: usize = line[prefix.len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(offset <= middle && offset >= 16, "{line}");
    flip_byte(&sealed, middle);
    assert_eq!(verify(&server.dir).0, Some(0));

    // The unfinished write a crash leaves at the end of a partition's last segment is
    // reported, but is not a problem.
    let last_segment = files_ending(&server.dir.join("wal"), ".wal").pop().unwrap();
    let mut bytes = std::fs::read(&last_segment).unwrap();
    let torn_at = bytes.len();
    bytes.extend_from_slice(&[0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    std::fs::write(&last_segment, bytes).unwrap();
    let (code, stdout) = verify(&server.dir);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "torn {} offset {torn_at}: ",
            last_segment.display()
        )),
        "{stdout}"
    );

    // A delete intent a start-up could not read (and so would not finish) is damage.
    let intents = server.dir.join("data").join("_deletes");
    std::fs::create_dir_all(&intents).unwrap();
    let intent = intents.join("00000000000000000001.intent");
    std::fs::write(&intent, b"SLUICEDI\x01\0\0\0garbage").unwrap();
    let (code, stdout) = verify(&server.dir);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("corrupt {}: ", intent.display())),
        "{stdout}"
    );
}

#[test]
fn export_and_verify_fail_loudly_where_there_is_no_store() {
    let base = common::fresh_dir("no-store");
    let missing = base.join("nonexistent").join("data");
    for command in ["export", "verify"] {
        let (code, stdout, stderr) = sluice(&[command, "-datadir", text(&missing)], &[]);
        assert_ne!(code, Some(0), "{command}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!(
                "data directory {} does not exist",
                missing.display()
            )),
            "{command}: {stderr}"
        );
        assert!(!stdout.contains("# DDL"), "{command}: {stdout}");
    }
    // A data directory with nothing beside it.
    let data = base.join("lonely").join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (code, _, stderr) = sluice(&["export", "-datadir", text(&data)], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no meta directory"), "{stderr}");
    assert!(stderr.contains("-metadir"), "{stderr}");
    assert!(!stderr.contains("exported"), "{stderr}");
    // A meta directory beside it that holds no meta.db: nothing was ever stored there.
    std::fs::create_dir_all(base.join("lonely").join("meta")).unwrap();
    std::fs::create_dir_all(base.join("lonely").join("wal")).unwrap();
    let out = base.join("export.lp");
    let (code, _, stderr) = sluice(
        &["export", "-datadir", text(&data), "-out", text(&out)],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("meta.db"), "{stderr}");
    assert!(!out.exists(), "no output file for a failed export");
    let (code, _, stderr) = sluice(&["verify", "-datadir", text(&data)], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("meta.db"), "{stderr}");
    // Usage errors of verify are 2 as well.
    assert_eq!(sluice(&["verify", "-nonsense", "x"], &[]).0, Some(2));
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn export_and_verify_find_the_meta_directory_where_the_configuration_puts_it() {
    let dir = common::fresh_dir("meta-elsewhere");
    let meta_dir = dir.join("elsewhere").join("meta");
    let mut server = Server::start_in(dir.clone(), &[("SLUICE_META_DIR", text(&meta_dir))]);
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    assert_eq!(server.write("db=db", "m v=1 1").status, 204);
    assert_eq!(server.stop(), Some(0));
    let data = dir.join("data");
    let wal = dir.join("wal");
    let stored = "m v=1 1\n";

    // Beside -datadir there is no meta directory, and the built-in default is never taken.
    let (code, stdout, stderr) = sluice(&["export", "-datadir", text(&data)], &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("-metadir"), "{stderr}");
    // The flag, the environment variable the server read, or the server's whole
    // configuration without any flag.
    let server_env = [
        ("SLUICE_META_DIR", text(&meta_dir)),
        ("SLUICE_DATA_DIR", text(&data)),
        ("SLUICE_DATA_WAL_DIR", text(&wal)),
    ];
    let with_flags = vec!["-datadir", text(&data), "-metadir", text(&meta_dir)];
    let ways = [
        (with_flags, &server_env[..0]),
        (vec!["-datadir", text(&data)], &server_env[..1]),
        (vec![], &server_env[..]),
    ];
    for (flags, env) in ways {
        let mut args = vec!["export", "-db", "db"];
        args.extend(&flags);
        let (code, stdout, stderr) = sluice(&args, env);
        assert_eq!(code, Some(0), "{args:?} {env:?}: {stderr}");
        assert!(stdout.contains(stored), "{args:?} {env:?}: {stdout}");
        assert!(stderr.contains("exported 1 points"), "{stderr}");
        let mut args = vec!["verify"];
        args.extend(&flags);
        let (code, stdout, stderr) = sluice(&args, env);
        assert_eq!(code, Some(0), "{args:?} {env:?}: {stdout}{stderr}");
    }
}
