//! The `sluice` command: `run` (default), `config`, `version`, `export`, `verify`.
//!
//! Only argument handling lives here; everything else is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use sluice::config::Config;
use sluice::export::{export, ExportOptions};
use sluice::store_dirs::{locate, ConfiguredDirs, DirFlags, StoreDirs};
use sluice::verify::verify;

/// Counts each thread's allocations so a query past `query-memory-limit` is stopped
/// (`sluice::memory`).
#[global_allocator]
static ALLOCATOR: sluice::memory::ThreadCountingAllocator = sluice::memory::ThreadCountingAllocator;

const USAGE: &str = "usage:
  sluice [run] [-config PATH]      start the server (default: port 8086, data in ~/.sluice)
  sluice config [-config PATH]     print the effective configuration as TOML
  sluice version                   print the version
  sluice export [STORE] [-db NAME] [-rp NAME] [-out FILE]
                                   print every stored point as line protocol (server stopped)
  sluice verify [STORE]            check every checksum of the stored files (server stopped);
                                   exit 0 healthy, 1 problems found, 2 could not verify
  STORE: [-config PATH] [-datadir DIR] [-waldir DIR] [-metadir DIR]; directories not given
         are found inside or beside -datadir, else where the server's configuration says
environment: SLUICE_CONFIG_PATH, and SLUICE_<SECTION>_<KEY> for every config key";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.first().map(String::as_str) {
        Some(c @ ("run" | "config" | "version" | "export" | "verify" | "help")) => (c, &args[1..]),
        Some(flag) if flag.starts_with('-') => ("run", &args[..]),
        None => ("run", &args[..]),
        Some(other) => return fail(&format!("unknown command {other:?}")),
    };
    let flags = match parse_flags(rest) {
        Ok(flags) => flags,
        Err(message) => return fail(&message),
    };
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

/// `-name value` or `--name value` or `-name=value` pairs.
fn parse_flags(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut flags = Vec::new();
    let mut index = 0;
    while index < args.len() {
        let Some(name) = args[index]
            .strip_prefix("--")
            .or_else(|| args[index].strip_prefix('-'))
        else {
            return Err(format!("unexpected argument {:?}", args[index]));
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
    Ok(flags)
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
        if name != "config" {
            return Err(format!("unknown flag -{name}"));
        }
    }
    let env = environment();
    Config::load(config_path(flags, &env).as_deref(), &env)
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
