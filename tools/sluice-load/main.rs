//! `sluice-load`: a load generator for InfluxDB 1.x compatible servers (Sluice itself, or
//! InfluxDB for comparison), over HTTP, Graphite TCP or UDP line protocol.
//!
//! Write mode POSTs line-protocol batches to `/write` from one blocking thread per connection
//! and reports accepted lines/values per second, errors by status and request latency
//! percentiles. `--protocol graphite-tcp|udp` streams the same series as Graphite plaintext over
//! TCP or as line protocol in UDP datagrams, and reports lines/values sent. Query mode
//! (`--queries FILE`) runs InfluxQL queries against `/query` and reports latency per query.
//! Dataset mode (`--dataset`) writes one fixed data set once, or (`--verify`) checks a dump of
//! it bit-exactly.
//! `--help` lists the flags.
//!
//! Layout: `args` (flags), `batch` (body generation), `http_client` (keep-alive HTTP/1.1),
//! `stats` (histograms), `json` (summary output), `write_mode`, `stream_mode`, `query_mode`,
//! `dataset_mode`,
//! and the test-only `fake_server`. This file only wires them together and decides the exit
//! code: 0 on success, 1 when a request or stream write failed (unless `--allow-errors`) or the
//! run could not start, 2 on bad flags.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod args;
mod batch;
mod dataset_mode;
#[cfg(test)]
mod fake_server;
mod http_client;
mod json;
mod query_mode;
mod stats;
mod stream_mode;
mod write_mode;

use args::{parse_args, Options, Protocol, USAGE};
use std::process::ExitCode;

/// Exit code for a run that failed or saw failed requests.
const EXIT_FAILED: u8 = 1;
/// Exit code for a bad command line.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("sluice-load: {error}\n\n{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if options.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&options) {
        Ok(failed_requests) if failed_requests == 0 || options.allow_errors => ExitCode::SUCCESS,
        Ok(failed_requests) => {
            eprintln!("sluice-load: {failed_requests} requests failed");
            ExitCode::from(EXIT_FAILED)
        }
        Err(error) => {
            eprintln!("sluice-load: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Runs the selected mode, prints the summary, writes the JSON; returns failed requests.
fn run(options: &Options) -> Result<u64, String> {
    let (text, json, failed) = match (&options.queries_path, &options.verify_path) {
        (_, Some(path)) => {
            let report = dataset_mode::verify(options, path)?;
            (report.text(), report.json(), report.problems())
        }
        _ if options.dataset.is_some() => {
            let report = dataset_mode::run(options)?;
            (report.text(), report.json(), report.requests_failed())
        }
        (Some(path), None) => {
            let file_text =
                std::fs::read_to_string(path).map_err(|error| format!("read {path}: {error}"))?;
            let report = query_mode::run(options, query_mode::parse_queries(&file_text))?;
            (report.text(), report.json(options), report.failed())
        }
        (None, None) if options.protocol != Protocol::Http => {
            let report = stream_mode::run(options)?;
            (
                report.text(options),
                report.json(options),
                report.writes_failed(),
            )
        }
        (None, None) => {
            let report = write_mode::run(options)?;
            (
                report.text(options),
                report.json(options),
                report.requests_failed(),
            )
        }
    };
    print!("{text}");
    if let Some(path) = &options.json_path {
        std::fs::write(path, json.render()).map_err(|error| format!("write {path}: {error}"))?;
    }
    Ok(failed)
}
