//! The `sluice` command: `run` (default), `config`, `version`, `export`.
//!
//! Only argument handling lives here; everything else is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use sluice::config::Config;
use sluice::export::{export, ExportOptions};

const USAGE: &str = "usage:
  sluice [run] [-config PATH]      start the server (default: port 8086, data in ~/.sluice)
  sluice config [-config PATH]     print the effective configuration as TOML
  sluice version                   print the version
  sluice export -datadir DIR [-waldir DIR] [-metadir DIR] [-db NAME] [-rp NAME] [-out FILE]
                                   print every stored point as line protocol (server stopped)
environment: SLUICE_CONFIG_PATH, and SLUICE_<SECTION>_<KEY> for every config key";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.first().map(String::as_str) {
        Some(c @ ("run" | "config" | "version" | "export" | "help")) => (c, &args[1..]),
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
    let env: Vec<(String, String)> = std::env::vars().collect();
    let path = flag(flags, "config").map(PathBuf::from).or_else(|| {
        env.iter()
            .find(|(k, _)| k == "SLUICE_CONFIG_PATH")
            .map(|(_, v)| PathBuf::from(v))
    });
    Config::load(path.as_deref(), &env)
}

fn run_export(flags: &[(String, String)]) -> ExitCode {
    for (name, _) in flags {
        if !matches!(
            name.as_str(),
            "datadir" | "waldir" | "metadir" | "db" | "database" | "rp" | "retention" | "out"
        ) {
            return fail(&format!("unknown flag -{name}"));
        }
    }
    let Some(data_dir) = flag(flags, "datadir") else {
        return fail("export needs -datadir");
    };
    let options = ExportOptions {
        data_dir: PathBuf::from(data_dir),
        wal_dir: flag(flags, "waldir").map(PathBuf::from),
        meta_dir: flag(flags, "metadir").map(PathBuf::from),
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
