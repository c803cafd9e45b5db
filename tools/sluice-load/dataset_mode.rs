//! Dataset mode (`--dataset hosts|series`): writes one fixed, reproducible data set exactly
//! once, as fast as the server takes it, and (`--verify FILE`) checks a dump of it value by
//! value. Used by `tools/bench_storage.sh` to load the same data into every server and to
//! check what each gives back.
//!
//! # The data sets
//!
//! - `hosts`: `--series` hosts × `--fields` float fields, one point per `--interval` from
//!   `--start-ns` for `--span`. Line `i` of time step `t` is
//!   `<measurement>,host=h<i:07> f0=<v>,f1=<v>,... <start + t·interval>`; lines go time step
//!   by time step (every host at `t`, then `t + 1`), like collectors report. Every (host,
//!   field) is its own random walk: it starts uniform in `[WALK_START_MIN, WALK_START_MIN +
//!   WALK_START_SPAN)` and steps uniform in `±WALK_STEP_MAX`, from a SplitMix64 seeded by
//!   `--seed` and the walk's index, so the data depend on nothing but the flags. With
//!   `--decimals N` the value written is `round(walk · 10^N) / 10^N` (so walks crossing zero
//!   give -0.0), else the walk itself (full precision). Values are written shortest-round-trip
//!   (`{}` of f64), so the text names the exact f64.
//! - `series`: `--series` distinct series, one point each:
//!   `<measurement>,host=h<i:07>,region=r<i % REGIONS> v=1 <start>`.
//!
//! # Verification
//!
//! `--verify FILE` (`-` for stdin) regenerates the `hosts` data in memory (8 bytes a value)
//! and reads a dump: `--verify-format lp` is line protocol as `sluice export` or
//! `influx_inspect export` print it (other measurements and `#` lines ignored);
//! `--verify-format vm-csv` is VictoriaMetrics' `/api/v1/export/csv` with
//! `format=__name__,host,__value__,__timestamp__:unix_ns` (names `<measurement>_f<k>`). Each
//! value is compared by its bits; the report counts bit-exact, differing, unexpected (a
//! series, field or time not in the data set, or seen twice) and missing values, and the
//! largest absolute and relative error of the differing ones.

use crate::args::{Dataset, Options, VerifyFormat};
use crate::batch::SplitMix64;
use crate::http_client::{percent_encode, Connection, Endpoint};
use crate::json::Json;
use crate::write_mode::create_database;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lowest start of a walk.
pub const WALK_START_MIN: f64 = -20.0;
/// Width of the range walks start in.
pub const WALK_START_SPAN: f64 = 100.0;
/// Largest step of a walk, either way.
pub const WALK_STEP_MAX: f64 = 0.5;
/// Regions of the `series` data set.
pub const REGIONS: u64 = 10;
/// Most decimals `--decimals` accepts (10^15 and all its multiples below 2^53 are exact).
pub const DECIMALS_MAX: u32 = 15;
/// Most values `--verify` holds in memory (8 bytes each: 2 GiB).
pub const VERIFY_VALUES_MAX: u64 = 1 << 28;
/// Bodies the generator may have rendered ahead of the senders, per connection.
const BODIES_AHEAD_PER_CONNECTION: usize = 2;
/// Attempts per request on a 5xx or a broken connection before it counts as failed.
const ATTEMPTS_MAX: u32 = 5;
/// Pause between attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Mismatches printed in full by `--verify`.
const MISMATCH_EXAMPLES_MAX: usize = 5;

/// The random walks of the `hosts` data set, advanced one time step at a time.
pub struct Walks {
    generators: Vec<SplitMix64>,
    walks: Vec<f64>,
    /// `10^decimals` when values are rounded.
    scale: Option<f64>,
}

impl Walks {
    /// `count` walks (host-major: walk `host · fields + field`) at time step 0.
    pub fn new(seed: u64, count: usize, decimals: Option<u32>) -> Walks {
        let mut generators: Vec<SplitMix64> = (0..count as u64)
            .map(|index| SplitMix64::new(seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93)))
            .collect();
        let walks = generators
            .iter_mut()
            .map(|generator| WALK_START_MIN + generator.next_unit() * WALK_START_SPAN)
            .collect();
        Walks {
            generators,
            walks,
            scale: decimals.map(|d| 10f64.powi(d as i32)),
        }
    }

    /// Moves every walk one step.
    pub fn advance(&mut self) {
        for (walk, generator) in self.walks.iter_mut().zip(&mut self.generators) {
            *walk += (generator.next_unit() * 2.0 - 1.0) * WALK_STEP_MAX;
        }
    }

    /// The value written for walk `index` at the current step.
    pub fn value(&self, index: usize) -> f64 {
        let walk = self.walks.get(index).copied().unwrap_or(0.0);
        match self.scale {
            Some(scale) => (walk * scale).round() / scale,
            None => walk,
        }
    }
}

/// Shape of the `hosts` data set, from the flags.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Hosts (series).
    pub hosts: u64,
    /// Fields per host.
    pub fields: u64,
    /// Time steps.
    pub points: u64,
    /// Time of step 0, ns.
    pub start_ns: u64,
    /// Step, ns.
    pub interval_ns: u64,
}

impl Shape {
    /// The shape the flags describe.
    pub fn of(options: &Options) -> Shape {
        let interval_ns = options.interval.as_nanos().max(1) as u64;
        Shape {
            hosts: options.series,
            fields: u64::from(options.fields),
            points: (options.span.as_nanos() as u64) / interval_ns,
            start_ns: options.start_ns,
            interval_ns,
        }
    }

    /// Values in the data set.
    pub fn values(&self) -> u64 {
        self.hosts * self.fields * self.points
    }
}

/// Renders the data set's bodies in order, `batch_lines` lines each.
struct BodySource {
    dataset: Dataset,
    shape: Shape,
    measurement: String,
    batch_lines: u64,
    walks: Walks,
    /// Next line to render (`time step · hosts + host` for `hosts`).
    next_line: u64,
    total_lines: u64,
}

impl BodySource {
    fn new(options: &Options) -> BodySource {
        let shape = Shape::of(options);
        let total_lines = match options.dataset {
            Some(Dataset::Series) | None => options.series,
            Some(Dataset::Hosts) => shape.hosts * shape.points,
        };
        let walk_count = match options.dataset {
            Some(Dataset::Hosts) => (shape.hosts * shape.fields) as usize,
            _ => 0,
        };
        BodySource {
            dataset: options.dataset.unwrap_or(Dataset::Hosts),
            shape,
            measurement: options.measurement.clone(),
            batch_lines: options.batch_lines,
            walks: Walks::new(options.seed, walk_count, options.decimals),
            next_line: 0,
            total_lines,
        }
    }

    /// The next body and its line count, or `None` when every line was rendered.
    fn next_body(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.next_line >= self.total_lines {
            return None;
        }
        let end = (self.next_line + self.batch_lines).min(self.total_lines);
        let mut body = String::with_capacity(((end - self.next_line) * 200) as usize);
        for line in self.next_line..end {
            self.render_line(line, &mut body);
        }
        let lines = end - self.next_line;
        self.next_line = end;
        Some((body.into_bytes(), lines))
    }

    fn render_line(&mut self, line: u64, out: &mut String) {
        let shape = self.shape;
        let measurement = &self.measurement;
        // Writing into a String cannot fail.
        if self.dataset == Dataset::Series {
            let region = line % REGIONS;
            let _ = writeln!(
                out,
                "{measurement},host=h{line:07},region=r{region} v=1 {}",
                shape.start_ns
            );
            return;
        }
        let (step, host) = (line / shape.hosts, line % shape.hosts);
        if host == 0 && step > 0 {
            self.walks.advance();
        }
        let _ = write!(out, "{measurement},host=h{host:07} ");
        for field in 0..shape.fields {
            let separator = if field == 0 { "" } else { "," };
            let value = self.walks.value((host * shape.fields + field) as usize);
            let _ = write!(out, "{separator}f{field}={value}");
        }
        let _ = writeln!(out, " {}", shape.start_ns + step * shape.interval_ns);
    }
}

/// Counters shared by the sender threads.
#[derive(Default)]
struct SendTotals {
    requests_ok: AtomicU64,
    requests_failed: AtomicU64,
    lines_accepted: AtomicU64,
    body_bytes: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl SendTotals {
    fn fail(&self, error: String) {
        self.requests_failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert(error);
        }
    }
}

/// Sends one body, retrying 5xx answers and broken connections; `Err` holds why it failed.
fn send_body(
    endpoint: &Endpoint,
    connection: &mut Option<Connection>,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<(), String> {
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS_MAX {
        if attempt > 0 {
            std::thread::sleep(RETRY_PAUSE);
        }
        let mut open = match connection.take() {
            Some(open) => open,
            None => match Connection::connect(endpoint, timeout) {
                Ok(open) => open,
                Err(error) => {
                    last_error = format!("connect: {error}");
                    continue;
                }
            },
        };
        match open.exchange("POST", path, &[], body) {
            Ok(response) => {
                let keep = !response.connection_close;
                if keep {
                    *connection = Some(open);
                }
                if response.status == 204 {
                    return Ok(());
                }
                last_error = format!(
                    "status {}: {}",
                    response.status,
                    String::from_utf8_lossy(&response.body).trim()
                );
                if response.status < 500 {
                    return Err(last_error);
                }
            }
            Err(error) => last_error = format!("request: {error}"),
        }
    }
    Err(last_error)
}

/// Result of writing a data set.
pub struct LoadReport {
    elapsed: Duration,
    lines_total: u64,
    values_per_line: u64,
    totals: SendTotals,
}

impl LoadReport {
    /// Requests that failed after their retries.
    pub fn requests_failed(&self) -> u64 {
        self.totals.requests_failed.load(Ordering::Relaxed)
    }

    fn lines_accepted(&self) -> u64 {
        self.totals.lines_accepted.load(Ordering::Relaxed)
    }

    fn values_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        (self.lines_accepted() * self.values_per_line) as f64 / seconds
    }

    /// Human-readable summary.
    pub fn text(&self) -> String {
        let mut text = format!(
            "dataset: {} of {} lines accepted ({} values) in {:.1} s: {:.0} values/s, \
             {} requests ok, {} failed\n",
            self.lines_accepted(),
            self.lines_total,
            self.lines_accepted() * self.values_per_line,
            self.elapsed.as_secs_f64(),
            self.values_per_second(),
            self.totals.requests_ok.load(Ordering::Relaxed),
            self.requests_failed(),
        );
        if let Ok(first) = self.totals.first_error.lock() {
            if let Some(error) = first.as_ref() {
                let _ = writeln!(text, "first error: {error}");
            }
        }
        text
    }

    /// Machine-readable summary.
    pub fn json(&self) -> Json {
        Json::object([
            ("elapsed_s", Json::Float(self.elapsed.as_secs_f64())),
            ("lines_total", Json::UInt(self.lines_total)),
            ("lines_accepted", Json::UInt(self.lines_accepted())),
            (
                "values_accepted",
                Json::UInt(self.lines_accepted() * self.values_per_line),
            ),
            ("values_per_s", Json::Float(self.values_per_second())),
            ("requests_failed", Json::UInt(self.requests_failed())),
            (
                "body_bytes",
                Json::UInt(self.totals.body_bytes.load(Ordering::Relaxed)),
            ),
        ])
    }
}

/// Writes the data set: one thread renders bodies in order, `--connections` threads send them.
pub fn run(options: &Options) -> Result<LoadReport, String> {
    let endpoint = Endpoint::from_url(&options.url).map_err(|error| error.to_string())?;
    if options.create_db {
        create_database(&endpoint, options)?;
    }
    let mut path = format!("/write?db={}&precision=ns", percent_encode(&options.db));
    if let Some(rp) = &options.rp {
        path.push_str(&format!("&rp={}", percent_encode(rp)));
    }
    let mut source = BodySource::new(options);
    let lines_total = source.total_lines;
    let values_per_line = match options.dataset {
        Some(Dataset::Hosts) => u64::from(options.fields),
        _ => 1,
    };
    let ahead = options.connections as usize * BODIES_AHEAD_PER_CONNECTION;
    let (sender, receiver) = crossbeam::channel::bounded::<(Vec<u8>, u64)>(ahead);
    let totals = SendTotals::default();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..options.connections {
            let receiver = receiver.clone();
            let (endpoint, path, totals) = (&endpoint, &path, &totals);
            scope.spawn(move || {
                let mut connection = None;
                for (body, lines) in receiver {
                    match send_body(endpoint, &mut connection, path, &body, options.timeout) {
                        Ok(()) => {
                            totals.requests_ok.fetch_add(1, Ordering::Relaxed);
                            totals.lines_accepted.fetch_add(lines, Ordering::Relaxed);
                            totals
                                .body_bytes
                                .fetch_add(body.len() as u64, Ordering::Relaxed);
                        }
                        Err(error) => totals.fail(error),
                    }
                }
            });
        }
        drop(receiver);
        while let Some(body) = source.next_body() {
            if sender.send(body).is_err() {
                break;
            }
        }
        drop(sender);
    });
    Ok(LoadReport {
        elapsed: start.elapsed(),
        lines_total,
        values_per_line,
        totals,
    })
}

/// What `--verify` found.
#[derive(Default, Debug)]
pub struct VerifyReport {
    /// Values in the data set.
    pub values_expected: u64,
    /// Of them, -0.0.
    pub negative_zeros_expected: u64,
    /// Values read back with the same bits.
    pub bit_exact: u64,
    /// Values read back with other bits.
    pub differing: u64,
    /// Values in the dump that are not in the data set, or seen twice.
    pub unexpected: u64,
    /// Values of the data set the dump lacks.
    pub missing: u64,
    /// Largest |got − expected| among the differing values.
    pub max_absolute_error: f64,
    /// Largest |got − expected| / |expected| among the differing values (expected ≠ 0).
    pub max_relative_error: f64,
    /// The first few differences, for the reader.
    pub examples: Vec<String>,
}

impl VerifyReport {
    /// Problems that make the check fail: differing, unexpected and missing values.
    pub fn problems(&self) -> u64 {
        self.differing + self.unexpected + self.missing
    }

    /// Human-readable summary.
    pub fn text(&self) -> String {
        let mut text = format!(
            "verify: {} values expected ({} of them -0.0): {} bit-exact, {} differing, \
             {} unexpected, {} missing; max error {:e} absolute, {:e} relative\n",
            self.values_expected,
            self.negative_zeros_expected,
            self.bit_exact,
            self.differing,
            self.unexpected,
            self.missing,
            self.max_absolute_error,
            self.max_relative_error,
        );
        for example in &self.examples {
            let _ = writeln!(text, "  {example}");
        }
        text
    }

    /// Machine-readable summary.
    pub fn json(&self) -> Json {
        Json::object([
            ("values_expected", Json::UInt(self.values_expected)),
            (
                "negative_zeros_expected",
                Json::UInt(self.negative_zeros_expected),
            ),
            ("bit_exact", Json::UInt(self.bit_exact)),
            ("differing", Json::UInt(self.differing)),
            ("unexpected", Json::UInt(self.unexpected)),
            ("missing", Json::UInt(self.missing)),
            ("max_absolute_error", Json::Float(self.max_absolute_error)),
            ("max_relative_error", Json::Float(self.max_relative_error)),
        ])
    }
}

/// The expected values, `[(host · fields + field) · points + step]`, and which were seen.
struct Expected {
    shape: Shape,
    values: Vec<f64>,
    seen: Vec<bool>,
}

impl Expected {
    fn generate(options: &Options) -> Result<Expected, String> {
        let shape = Shape::of(options);
        if shape.values() > VERIFY_VALUES_MAX {
            return Err(format!(
                "--verify holds at most {VERIFY_VALUES_MAX} values in memory"
            ));
        }
        let walk_count = (shape.hosts * shape.fields) as usize;
        let points = shape.points as usize;
        let mut values = vec![0.0; walk_count * points];
        let mut walks = Walks::new(options.seed, walk_count, options.decimals);
        for step in 0..points {
            if step > 0 {
                walks.advance();
            }
            for walk in 0..walk_count {
                if let Some(slot) = values.get_mut(walk * points + step) {
                    *slot = walks.value(walk);
                }
            }
        }
        let seen = vec![false; values.len()];
        Ok(Expected {
            shape,
            values,
            seen,
        })
    }

    /// The slot of (host, field, time), if the data set has it.
    fn slot(&self, host: u64, field: u64, time_ns: u64) -> Option<usize> {
        let shape = &self.shape;
        let offset = time_ns.checked_sub(shape.start_ns)?;
        let step = offset / shape.interval_ns;
        let on_grid = offset % shape.interval_ns == 0;
        (on_grid && host < shape.hosts && field < shape.fields && step < shape.points)
            .then(|| ((host * shape.fields + field) * shape.points + step) as usize)
    }

    fn check(&mut self, report: &mut VerifyReport, host: u64, field: u64, time_ns: u64, got: f64) {
        let Some(slot) = self.slot(host, field, time_ns) else {
            report.unexpected += 1;
            return;
        };
        let (Some(&expected), Some(seen)) = (self.values.get(slot), self.seen.get_mut(slot)) else {
            report.unexpected += 1;
            return;
        };
        if *seen {
            report.unexpected += 1;
            return;
        }
        *seen = true;
        if expected.to_bits() == got.to_bits() {
            report.bit_exact += 1;
            return;
        }
        report.differing += 1;
        let absolute = (got - expected).abs();
        report.max_absolute_error = report.max_absolute_error.max(absolute);
        if expected != 0.0 {
            let relative = absolute / expected.abs();
            report.max_relative_error = report.max_relative_error.max(relative);
        }
        if report.examples.len() < MISMATCH_EXAMPLES_MAX {
            report.examples.push(format!(
                "host h{host:07} f{field} time {time_ns}: expected {expected:?}, got {got:?}"
            ));
        }
    }
}

/// Parses `h<digits>`.
fn host_number(text: &str) -> Option<u64> {
    text.strip_prefix('h')?.parse().ok()
}

/// Checks one line-protocol line of a dump; `false` if it is not a line of our measurement.
fn check_line_protocol(
    line: &str,
    measurement: &str,
    expected: &mut Expected,
    report: &mut VerifyReport,
) -> bool {
    let parse = || -> Option<(u64, &str, u64)> {
        let rest = line.strip_prefix(measurement)?.strip_prefix(",host=")?;
        let (host, rest) = rest.split_once(' ')?;
        let (fields, time) = rest.rsplit_once(' ')?;
        Some((host_number(host)?, fields, time.trim().parse().ok()?))
    };
    let Some((host, fields, time_ns)) = parse() else {
        return false;
    };
    for pair in fields.split(',') {
        let parsed = pair.split_once('=').and_then(|(name, value)| {
            let field = name.strip_prefix('f')?.parse().ok()?;
            Some((field, value.parse::<f64>().ok()?))
        });
        match parsed {
            Some((field, value)) => expected.check(report, host, field, time_ns, value),
            None => report.unexpected += 1,
        }
    }
    true
}

/// Checks one VictoriaMetrics CSV line `name,host,value,time_ns`.
fn check_vm_csv(
    line: &str,
    measurement: &str,
    expected: &mut Expected,
    report: &mut VerifyReport,
) -> bool {
    let parse = || -> Option<(u64, u64, f64, u64)> {
        let mut columns = line.trim().split(',');
        let name = columns.next()?;
        let field = name
            .strip_prefix(measurement)?
            .strip_prefix("_f")?
            .parse()
            .ok()?;
        let host = host_number(columns.next()?)?;
        let value = columns.next()?.parse().ok()?;
        let time_ns = columns.next()?.parse().ok()?;
        Some((host, field, value, time_ns))
    };
    match parse() {
        Some((host, field, value, time_ns)) => {
            expected.check(report, host, field, time_ns, value);
            true
        }
        None => false,
    }
}

/// Reads the dump at `--verify` and compares it with the regenerated data set.
pub fn verify(options: &Options, path: &str) -> Result<VerifyReport, String> {
    let mut expected = Expected::generate(options)?;
    let mut report = VerifyReport {
        values_expected: expected.values.len() as u64,
        negative_zeros_expected: expected
            .values
            .iter()
            .filter(|value| value.to_bits() == (-0.0f64).to_bits())
            .count() as u64,
        ..VerifyReport::default()
    };
    let input: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|error| format!("open {path}: {error}"))?)
    };
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut line = String::new();
    let mut other_lines = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|error| format!("read {path}: {error}"))?;
        if read == 0 {
            break;
        }
        let ours = match options.verify_format {
            VerifyFormat::LineProtocol => {
                check_line_protocol(&line, &options.measurement, &mut expected, &mut report)
            }
            VerifyFormat::VmCsv => {
                check_vm_csv(&line, &options.measurement, &mut expected, &mut report)
            }
        };
        if !ours {
            other_lines += 1;
        }
    }
    report.missing = expected.seen.iter().filter(|seen| !**seen).count() as u64;
    if other_lines > 0 {
        report.examples.push(format!(
            "{other_lines} lines of other measurements or comments skipped"
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_args;

    fn options(extra: &[&str]) -> Options {
        let mut args = vec![
            "--dataset",
            "hosts",
            "--series",
            "3",
            "--fields",
            "2",
            "--span",
            "50s",
            "--interval",
            "10s",
            "--start-ns",
            "1000",
            "--batch-lines",
            "4",
        ];
        args.extend_from_slice(extra);
        parse_args(args).unwrap()
    }

    fn render_all(options: &Options) -> String {
        let mut source = BodySource::new(options);
        let mut text = String::new();
        while let Some((body, _)) = source.next_body() {
            text.push_str(std::str::from_utf8(&body).unwrap());
        }
        text
    }

    #[test]
    fn hosts_data_set_is_time_major_and_verifies_against_itself() {
        for decimals in [&["--decimals", "2"][..], &["--decimals", "full"][..]] {
            let options = options(decimals);
            let text = render_all(&options);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 15);
            assert!(lines[0].starts_with("m,host=h0000000 f0="), "{}", lines[0]);
            assert!(lines[0].ends_with(" 1000"));
            assert!(lines[3].starts_with("m,host=h0000000 "));
            assert!(lines[3].ends_with(" 10000001000"), "{}", lines[3]);
            let path = std::env::temp_dir().join(format!("dataset-{}", std::process::id()));
            std::fs::write(&path, format!("# DML\n{text}")).unwrap();
            let report = verify(&options, path.to_str().unwrap()).unwrap();
            std::fs::remove_file(&path).unwrap();
            assert_eq!(report.values_expected, 30);
            assert_eq!(report.bit_exact, 30, "{}", report.text());
            assert_eq!(report.problems(), 0);
        }
    }

    #[test]
    fn verify_counts_differences_duplicates_and_gaps() {
        let options = options(&["--decimals", "2"]);
        let text = render_all(&options);
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // Change one value, duplicate one line, drop another.
        let (key, rest) = lines[0].split_once(' ').unwrap();
        let (_, after_f0) = rest.split_once(',').unwrap();
        lines[0] = format!("{key} f0=12345.5,{after_f0}");
        lines.push(lines[5].clone());
        lines.remove(7);
        let path = std::env::temp_dir().join(format!("dataset-bad-{}", std::process::id()));
        std::fs::write(&path, lines.join("\n")).unwrap();
        let report = verify(&options, path.to_str().unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(report.differing, 1, "{}", report.text());
        assert_eq!(report.unexpected, 2);
        assert_eq!(report.missing, 2);
        assert_eq!(report.bit_exact, 27);
    }

    #[test]
    fn vm_csv_is_compared_by_bits() {
        let options = options(&["--decimals", "2", "--verify-format", "vm-csv"]);
        let mut walks = Walks::new(options.seed, 6, Some(2));
        let mut csv = String::new();
        for step in 0..5u64 {
            if step > 0 {
                walks.advance();
            }
            for walk in 0..6u64 {
                let (host, field) = (walk / 2, walk % 2);
                let value = walks.value(walk as usize) + if walk == 5 { 1e-9 } else { 0.0 };
                let time = 1000 + step * 10_000_000_000;
                csv.push_str(&format!("m_f{field},h{host:07},{value},{time}\n"));
            }
        }
        let path = std::env::temp_dir().join(format!("dataset-vm-{}", std::process::id()));
        std::fs::write(&path, csv).unwrap();
        let report = verify(&options, path.to_str().unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(report.bit_exact, 25, "{}", report.text());
        assert_eq!(report.differing, 5);
        assert!(report.max_absolute_error > 0.0 && report.max_absolute_error < 1e-8);
    }

    #[test]
    fn two_decimal_walks_produce_negative_zeros() {
        let mut walks = Walks::new(7, 200, Some(2));
        let mut negative_zeros = 0;
        for _ in 0..2000 {
            walks.advance();
            for index in 0..200 {
                let value = walks.value(index);
                assert_eq!(value, (value * 100.0).round() / 100.0);
                negative_zeros += usize::from(value.to_bits() == (-0.0f64).to_bits());
            }
        }
        assert!(negative_zeros > 0);
    }

    #[test]
    fn series_data_set_has_one_line_per_series() {
        let options = parse_args([
            "--dataset",
            "series",
            "--series",
            "12",
            "--batch-lines",
            "5",
            "--start-ns",
            "7",
        ])
        .unwrap();
        let text = render_all(&options);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 12);
        assert_eq!(lines[11], "m,host=h0000011,region=r1 v=1 7");
    }
}
