//! The `sluice` command: `run` (default), `config`, `version`, `export`, `verify`, `backup`,
//! `restore`.
//!
//! Only argument handling lives here; everything else is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use sluice::backup::client::{backup, restore, BackupOptions, RestoreOptions};
use sluice::config::Config;
use sluice::export::{export, ExportOptions};
use sluice::store_dirs::{locate, ConfiguredDirs, DirFlags, StoreDirs};
use sluice::verify::verify;

/// Counts each thread's allocations so a query past `query-memory-limit` is stopped
/// (`sluice::memory`).
#[global_allocator]
static ALLOCATOR: sluice::memory::ThreadCountingAllocator = sluice::memory::ThreadCountingAllocator;

const USAGE: &str = "usage:
  sluice [run] [-config PATH] [-join HOST:8091]
                                   start the server (default: port 8086, data in ~/.sluice);
                                   -join: join the cluster of that meta address (a new node)
  sluice config [-config PATH]     print the effective configuration as TOML
  sluice version                   print the version
  sluice export [STORE] [-db NAME] [-rp NAME] [-out FILE]
                                   print every stored point as line protocol (server stopped)
  sluice verify [STORE]            check every checksum of the stored files (server stopped);
                                   exit 0 healthy, 1 problems found, 2 could not verify
  sluice backup [-host HOST:PORT] [-db NAME] [-rp NAME] [-since TIME] DIR
                                   take a consistent backup of a running server into DIR (new
                                   or empty); -since: only points at or after TIME (RFC 3339)
  sluice restore [-host HOST:PORT] [-db NAME [-newdb NAME]] DIR
                                   check the backup in DIR, then load it into a running server
                                   (new databases only); HOST:PORT defaults to 127.0.0.1:8088
  STORE: [-config PATH] [-datadir DIR] [-waldir DIR] [-metadir DIR]; directories not given
         are found inside or beside -datadir, else where the server's configuration says
environment: SLUICE_CONFIG_PATH, and SLUICE_<SECTION>_<KEY> for every config key";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.first().map(String::as_str) {
        Some(
            c
            @ ("run" | "config" | "version" | "export" | "verify" | "backup" | "restore" | "help"),
        ) => (c, &args[1..]),
        Some(flag) if flag.starts_with('-') => ("run", &args[..]),
        None => ("run", &args[..]),
        Some(other) => return fail(&format!("unknown command {other:?}")),
    };
    let (flags, positional) = match parse_flags(rest) {
        Ok(parsed) => parsed,
        Err(message) => return fail(&message),
    };
    let takes_directory = matches!(command, "backup" | "restore");
    if let Some(extra) = positional.get(usize::from(takes_directory)) {
        return fail(&format!("unexpected argument {extra:?}"));
    }
    match command {
        "version" => {
            println!(
                "Sluice v{} (InfluxDB {} compatible)",
                sluice::SLUICE_VERSION,
                sluice::INFLUXDB_COMPATIBLE_VERSION
            );
            ExitCode::SUCCESS
        }
        "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        "config" => match load_config(&flags) {
            Ok(config) => {
                print!("{}", config.render_toml());
                ExitCode::SUCCESS
            }
            Err(message) => fail(&message),
        },
        "export" => run_export(&flags),
        "verify" => run_verify(&flags),
        "backup" => run_backup(&flags, positional.first()),
        "restore" => run_restore(&flags, positional.first()),
        _ => match load_config(&flags).and_then(sluice::server::run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                sluice::log_error!("server", "{}", message);
                ExitCode::FAILURE
            }
        },
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sluice: {message}\n{USAGE}");
    ExitCode::from(2)
}

/// Flags and positional arguments.
type ParsedArgs = (Vec<(String, String)>, Vec<String>);

/// `-name value` or `--name value` or `-name=value` pairs, and the arguments that are not
/// flags (the caller decides how many it takes).
fn parse_flags(args: &[String]) -> Result<ParsedArgs, String> {
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    let mut index = 0;
    while index < args.len() {
        let Some(name) = args[index]
            .strip_prefix("--")
            .or_else(|| args[index].strip_prefix('-'))
        else {
            positional.push(args[index].clone());
            index += 1;
            continue;
        };
        if let Some((name, value)) = name.split_once('=') {
            flags.push((name.to_string(), value.to_string()));
            index += 1;
            continue;
        }
        let value = args
            .get(index + 1)
            .ok_or_else(|| format!("flag -{name} needs a value"))?;
        flags.push((name.to_string(), value.clone()));
        index += 2;
    }
    Ok((flags, positional))
}

fn flag<'a>(flags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn load_config(flags: &[(String, String)]) -> Result<Config, String> {
    for (name, _) in flags {
        if name != "config" && name != "join" {
            return Err(format!("unknown flag -{name}"));
        }
    }
    let env = environment();
    let mut config = Config::load(config_path(flags, &env).as_deref(), &env)?;
    if let Some(join) = flag(flags, "join") {
        config.meta.join = join.to_string();
    }
    Ok(config)
}

/// The environment variables that are text (others cannot be settings).
fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// `-config PATH`, else `SLUICE_CONFIG_PATH`.
fn config_path(flags: &[(String, String)], env: &[(String, String)]) -> Option<PathBuf> {
    flag(flags, "config").map(PathBuf::from).or_else(|| {
        env.iter()
            .find(|(k, _)| k == "SLUICE_CONFIG_PATH")
            .map(|(_, v)| PathBuf::from(v))
    })
}

/// The first flag not in `known`, as an error message.
fn unknown_flag(flags: &[(String, String)], known: &[&str]) -> Option<String> {
    flags
        .iter()
        .find(|(name, _)| !known.contains(&name.as_str()))
        .map(|(name, _)| format!("unknown flag -{name}"))
}

/// Flags naming the store, for `export` and `verify`.
const STORE_FLAGS: [&str; 4] = ["config", "datadir", "waldir", "metadir"];

/// The store's directories for `export` and `verify`, found as `sluice::store_dirs` says:
/// flags, else inside or beside `-datadir`, else the configuration the server would run with.
fn locate_store(flags: &[(String, String)]) -> Result<StoreDirs, String> {
    let env = environment();
    let config = Config::load(config_path(flags, &env).as_deref(), &env)?;
    let home = env
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| PathBuf::from(v));
    let built_in = Config::default_for_home(home);
    let dir_flags = DirFlags {
        data_dir: flag(flags, "datadir").map(PathBuf::from),
        wal_dir: flag(flags, "waldir").map(PathBuf::from),
        meta_dir: flag(flags, "metadir").map(PathBuf::from),
    };
    locate(&dir_flags, &ConfiguredDirs::new(&config, &built_in)).map_err(|e| e.to_string())
}

fn run_export(flags: &[(String, String)]) -> ExitCode {
    let export_flags = ["db", "database", "rp", "retention", "out"];
    let known: Vec<&str> = STORE_FLAGS.iter().chain(&export_flags).copied().collect();
    if let Some(message) = unknown_flag(flags, &known) {
        return fail(&message);
    }
    // Before the output file is created: a store that is not there leaves no empty export.
    let dirs = match locate_store(flags) {
        Ok(dirs) => dirs,
        Err(message) => {
            eprintln!("sluice export: {message}");
            return ExitCode::FAILURE;
        }
    };
    let options = ExportOptions {
        dirs,
        database: flag(flags, "db")
            .or_else(|| flag(flags, "database"))
            .map(String::from),
        retention_policy: flag(flags, "rp")
            .or_else(|| flag(flags, "retention"))
            .map(String::from),
    };
    let result = match flag(flags, "out") {
        Some(path) if path != "-" => match std::fs::File::create(path) {
            Ok(file) => export(&options, &mut std::io::BufWriter::new(file)),
            Err(error) => Err(format!("creating {path}: {error}")),
        },
        _ => export(
            &options,
            &mut std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock()),
        ),
    };
    match result {
        Ok(points) => {
            eprintln!("exported {points} points");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sluice export: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Exit 0 when healthy, 1 when a problem was found, 2 when nothing could be verified (usage,
/// no store there, the report could not be written).
fn run_verify(flags: &[(String, String)]) -> ExitCode {
    if let Some(message) = unknown_flag(flags, &STORE_FLAGS) {
        return fail(&message);
    }
    let dirs = match locate_store(flags) {
        Ok(dirs) => dirs,
        Err(message) => {
            eprintln!("sluice verify: {message}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match verify(&dirs, &mut out) {
        Ok(report) if report.healthy() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            eprintln!("sluice verify: writing the report: {error}");
            ExitCode::from(2)
        }
    }
}

/// The backup service's address when `-host` is not given: the default `bind-address`.
fn backup_host(flags: &[(String, String)]) -> String {
    flag(flags, "host")
        .unwrap_or(sluice::limits::BACKUP_BIND_ADDRESS_DEFAULT)
        .to_string()
}

fn run_backup(flags: &[(String, String)], directory: Option<&String>) -> ExitCode {
    if let Some(message) = unknown_flag(flags, &["host", "db", "database", "rp", "since"]) {
        return fail(&message);
    }
    let Some(directory) = directory else {
        return fail("backup needs the directory to write the backup into");
    };
    let since_ns = match flag(flags, "since") {
        None => None,
        Some(text) => match sluice::query::select::time::parse_time_text_ns(text) {
            Some(ns) => Some(ns),
            None => {
                return fail(&format!(
                    "-since {text:?} is not a time (RFC 3339, e.g. 2026-12-01T00:00:00Z)"
                ))
            }
        },
    };
    let options = BackupOptions {
        host: backup_host(flags),
        database: flag(flags, "db")
            .or_else(|| flag(flags, "database"))
            .map(String::from),
        retention_policy: flag(flags, "rp").map(String::from),
        since_ns,
        directory: PathBuf::from(directory),
    };
    match backup(&options) {
        Ok(manifest) => {
            eprintln!(
                "backed up {} points in {} files into {}",
                manifest.points,
                manifest.files.len(),
                options.directory.display()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sluice backup: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_restore(flags: &[(String, String)], directory: Option<&String>) -> ExitCode {
    if let Some(message) = unknown_flag(flags, &["host", "db", "database", "newdb"]) {
        return fail(&message);
    }
    let Some(directory) = directory else {
        return fail("restore needs the directory of the backup");
    };
    let database = flag(flags, "db")
        .or_else(|| flag(flags, "database"))
        .map(String::from);
    let new_database = flag(flags, "newdb").map(String::from);
    if new_database.is_some() && database.is_none() {
        return fail("-newdb renames one database: give it with -db");
    }
    let options = RestoreOptions {
        host: backup_host(flags),
        database,
        new_database,
        directory: PathBuf::from(directory),
    };
    match restore(&options) {
        Ok(report) => {
            let summary = &report.summary;
            eprintln!(
                "restored {} points into {}",
                summary.points,
                summary.databases.join(", ")
            );
            if summary.points_expired > 0 {
                eprintln!(
                    "left out {} points older than their retention policy keeps",
                    summary.points_expired
                );
            }
            if !summary.users_created.is_empty() {
                eprintln!("created users: {}", summary.users_created.join(", "));
            }
            if !summary.users_kept.is_empty() {
                eprintln!(
                    "users that already existed, left as they are: {}",
                    summary.users_kept.join(", ")
                );
            }
            if !report.skipped_continuous_queries.is_empty() {
                eprintln!(
                    "continuous queries not restored (their statements name the old database; \
                     recreate them on the new one): {}",
                    report.skipped_continuous_queries.join(", ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("sluice restore: {message}");
            ExitCode::FAILURE
        }
    }
}
