//! Write mode: `--connections` threads, each with one keep-alive connection, POST batches to
//! `/write` until `--duration` has passed or, with `--batches N`, batches `0..N` were sent;
//! with `--min-batches N` the duration does not end the run before batches `0..N` were sent.
//!
//! Owns: batch-index hand-out, pacing, per-thread measurement, progress lines and the write
//! summary. Invariants: batch indexes come from one atomic counter, so each is rendered and
//! sent at most once in a run (the uniqueness argument of `batch`); a line counts as accepted
//! only when its request got 204; after any transport error the connection is dropped and a
//! new one opened. With `--rate`, batch `k` is due at `k * batch_lines / rate` seconds after the
//! start (one global schedule shared by all threads); latency is measured from the moment the
//! request is written, not from when it was due.

use crate::args::Options;
use crate::batch::BatchGenerator;
use crate::http_client::{percent_encode, Connection, Endpoint, HttpError};
use crate::json::Json;
use crate::stats::{errors_json, merge_errors, ErrorTally, Latency, LatencySummary};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the generator is timed before the run.
const CALIBRATION_DURATION: Duration = Duration::from_millis(250);
/// Pause after a failed connect, so a dead server is not hammered.
const CONNECT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Runs at least this long print a progress line every [`PROGRESS_PERIOD`].
const PROGRESS_MIN_DURATION: Duration = Duration::from_secs(2);
/// Period of the progress lines.
const PROGRESS_PERIOD: Duration = Duration::from_secs(1);
/// How often the main thread checks whether the workers are done.
const JOIN_POLL_PERIOD: Duration = Duration::from_millis(20);
/// Bytes of an error response body kept for the report.
const ERROR_SAMPLE_BYTES_MAX: usize = 300;
/// Status that means every line was written.
const STATUS_WRITTEN: u16 = 204;

/// Counters the workers bump for the progress line.
struct Progress {
    next_batch: AtomicU64,
    lines_accepted: AtomicU64,
    requests_failed: AtomicU64,
}

/// What one worker measured.
#[derive(Default)]
struct WorkerTotals {
    latency: Latency,
    errors: ErrorTally,
    first_error: Option<String>,
    requests: u64,
    requests_ok: u64,
    lines_accepted: u64,
    body_bytes_sent: u64,
    generate_time: Duration,
}

impl WorkerTotals {
    fn merge(&mut self, other: WorkerTotals) {
        self.latency.merge(&other.latency);
        merge_errors(&mut self.errors, &other.errors);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.requests += other.requests;
        self.requests_ok += other.requests_ok;
        self.lines_accepted += other.lines_accepted;
        self.body_bytes_sent += other.body_bytes_sent;
        self.generate_time += other.generate_time;
    }

    fn fail(&mut self, label: String, detail: String) {
        *self.errors.entry(label).or_insert(0) += 1;
        if self.first_error.is_none() {
            self.first_error = Some(detail);
        }
    }
}

/// Result of a write run.
pub struct WriteReport {
    /// Wall time from the first request to the last response.
    pub elapsed: Duration,
    /// Requests sent (including failed connects).
    pub requests: u64,
    /// Requests answered 204.
    pub requests_ok: u64,
    /// Lines in requests answered 204.
    pub lines_accepted: u64,
    /// `lines_accepted * fields`.
    pub values_accepted: u64,
    /// Request body bytes sent (after gzip).
    pub body_bytes_sent: u64,
    /// Failures by label.
    pub errors: ErrorTally,
    /// The first failure, with detail.
    pub first_error: Option<String>,
    /// Request latency.
    pub latency: LatencySummary,
    /// Lines per second one thread renders (and gzips, with `--gzip`).
    pub generator_lines_per_s: f64,
    /// Share of worker time spent rendering bodies.
    pub generate_time_share: f64,
    /// Rounds of field text the generator cycles through.
    pub generator_rounds: u64,
}

impl WriteReport {
    /// Requests that did not get 204.
    pub fn requests_failed(&self) -> u64 {
        self.requests - self.requests_ok
    }

    fn per_second(&self, count: u64) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            count as f64 / seconds
        } else {
            0.0
        }
    }

    /// Human-readable summary.
    pub fn text(&self, options: &Options) -> String {
        let errors = if self.errors.is_empty() {
            "none".to_string()
        } else {
            let parts: Vec<String> = self
                .errors
                .iter()
                .map(|(label, count)| format!("{label}: {count}"))
                .collect();
            parts.join(", ")
        };
        let lines_per_s = self.per_second(self.lines_accepted);
        let mut text = format!(
            "elapsed          {:.2} s\n\
             requests         {} sent, {} accepted (204), {} failed, {:.1}/s\n\
             lines accepted   {} ({:.0}/s)\n\
             values accepted  {} ({:.0}/s)\n\
             body bytes sent  {} ({:.1} MB/s)\n\
             latency          {}\n\
             errors           {}\n\
             generator        {:.0} lines/s on one thread ({:.1}x the achieved rate), \
             {:.1}% of worker time\n",
            self.elapsed.as_secs_f64(),
            self.requests,
            self.requests_ok,
            self.requests_failed(),
            self.per_second(self.requests),
            self.lines_accepted,
            lines_per_s,
            self.values_accepted,
            self.per_second(self.values_accepted),
            self.body_bytes_sent,
            self.per_second(self.body_bytes_sent) / 1e6,
            self.latency.line(),
            errors,
            self.generator_lines_per_s,
            if lines_per_s > 0.0 {
                self.generator_lines_per_s / lines_per_s
            } else {
                0.0
            },
            self.generate_time_share * 100.0,
        );
        if let Some(first_error) = &self.first_error {
            text.push_str(&format!("first error      {first_error}\n"));
        }
        if options.rate_lines_per_s > 0
            && self.generator_lines_per_s < 10.0 * options.rate_lines_per_s as f64
        {
            text.push_str("warning          generator is not 10x faster than --rate\n");
        }
        text
    }

    /// Machine-readable summary, flags included.
    pub fn json(&self, options: &Options) -> Json {
        Json::object([
            ("mode", Json::str("write")),
            ("flags", options.to_json()),
            ("elapsed_s", Json::Float(self.elapsed.as_secs_f64())),
            ("requests", Json::UInt(self.requests)),
            ("requests_accepted", Json::UInt(self.requests_ok)),
            ("requests_failed", Json::UInt(self.requests_failed())),
            (
                "requests_per_s",
                Json::Float(self.per_second(self.requests)),
            ),
            ("lines_accepted", Json::UInt(self.lines_accepted)),
            (
                "lines_per_s",
                Json::Float(self.per_second(self.lines_accepted)),
            ),
            ("values_accepted", Json::UInt(self.values_accepted)),
            (
                "values_per_s",
                Json::Float(self.per_second(self.values_accepted)),
            ),
            ("body_bytes_sent", Json::UInt(self.body_bytes_sent)),
            ("errors", errors_json(&self.errors)),
            (
                "first_error",
                self.first_error.clone().map_or(Json::Null, Json::Str),
            ),
            ("latency_us", self.latency.to_json()),
            (
                "generator_lines_per_s",
                Json::Float(self.generator_lines_per_s.round()),
            ),
            (
                "generator_time_share",
                Json::Float(self.generate_time_share),
            ),
            ("generator_rounds", Json::UInt(self.generator_rounds)),
        ])
    }
}

/// `POST /query q=CREATE DATABASE "db"` to `--url`; fails unless the server says 200 with no error.
pub fn create_database(endpoint: &Endpoint, options: &Options) -> Result<(), String> {
    let mut connection = Connection::connect(endpoint, options.timeout)
        .map_err(|error| format!("connect to {}: {error}", endpoint.address))?;
    let name = options.db.replace('\\', "\\\\").replace('"', "\\\"");
    let body = format!(
        "q={}",
        percent_encode(&format!("CREATE DATABASE \"{name}\""))
    );
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let response = connection
        .exchange(
            "POST",
            &format!("/query?{}", credentials_param(options)),
            &headers,
            body.as_bytes(),
        )
        .map_err(|error| format!("CREATE DATABASE: {error}"))?;
    let text = String::from_utf8_lossy(&response.body);
    if response.status != 200 || text.contains("\"error\"") {
        return Err(format!(
            "CREATE DATABASE: status {}: {}",
            response.status,
            text.trim()
        ));
    }
    Ok(())
}

/// The request path for writes.
fn write_path(options: &Options) -> String {
    let mut path = format!(
        "/write?db={}&precision={}",
        percent_encode(&options.db),
        options.precision.as_str()
    );
    if let Some(rp) = &options.rp {
        path.push_str(&format!("&rp={}", percent_encode(rp)));
    }
    let credentials = credentials_param(options);
    if !credentials.is_empty() {
        path.push('&');
        path.push_str(&credentials);
    }
    path
}

/// `u=..&p=..` from `--username`/`--password` ("" without them).
fn credentials_param(options: &Options) -> String {
    match (&options.username, &options.password) {
        (Some(username), Some(password)) => format!(
            "u={}&p={}",
            percent_encode(username),
            percent_encode(password)
        ),
        _ => String::new(),
    }
}

/// Renders (and maybe gzips) batch `index`; returns the body to send.
fn render_body<'a>(
    generator: &BatchGenerator,
    gzip: bool,
    index: u64,
    plain: &'a mut Vec<u8>,
    compressed: &'a mut Vec<u8>,
) -> &'a [u8] {
    generator.render(index, plain);
    if !gzip {
        return plain;
    }
    compressed.clear();
    let mut encoder = GzEncoder::new(std::mem::take(compressed), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(plain);
    *compressed = encoder.finish().unwrap_or_default();
    compressed
}

/// Times the generator on this thread.
fn calibrate(generator: &BatchGenerator, gzip: bool) -> f64 {
    let (mut plain, mut compressed) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut batches = 0u64;
    while start.elapsed() < CALIBRATION_DURATION || batches < 2 {
        render_body(generator, gzip, batches, &mut plain, &mut compressed);
        batches += 1;
    }
    (batches * generator.batch_lines()) as f64 / start.elapsed().as_secs_f64()
}

/// Runs the write benchmark described by `options`.
pub fn run(options: &Options) -> Result<WriteReport, String> {
    let endpoint = Endpoint::from_url(&options.url).map_err(|error| error.to_string())?;
    if options.create_db {
        create_database(&endpoint, options)?;
    }
    let generator = Arc::new(BatchGenerator::new(options));
    let generator_lines_per_s = calibrate(&generator, options.gzip);
    let progress = Arc::new(Progress {
        next_batch: AtomicU64::new(0),
        lines_accepted: AtomicU64::new(0),
        requests_failed: AtomicU64::new(0),
    });
    let start = Instant::now();
    let deadline = start + options.duration;
    let path = Arc::new(write_path(options));
    let mut workers = Vec::new();
    for _ in 0..options.connections {
        let (generator, progress, path) = (generator.clone(), progress.clone(), path.clone());
        let (endpoint, options) = (endpoint.clone(), options.clone());
        workers.push(thread::spawn(move || {
            let schedule = Schedule {
                start,
                deadline,
                rate_lines_per_s: options.rate_lines_per_s,
            };
            worker(&endpoint, &options, &path, &generator, &progress, schedule)
        }));
    }
    report_progress_until_done(&workers, &progress, start, options);
    let mut totals = WorkerTotals::default();
    for worker in workers {
        match worker.join() {
            Ok(worker_totals) => totals.merge(worker_totals),
            Err(_) => return Err("BUG: a worker thread panicked".to_string()),
        }
    }
    let elapsed = start.elapsed();
    let worker_time = elapsed.as_secs_f64() * f64::from(options.connections);
    Ok(WriteReport {
        elapsed,
        requests: totals.requests,
        requests_ok: totals.requests_ok,
        lines_accepted: totals.lines_accepted,
        values_accepted: totals.lines_accepted * u64::from(options.fields),
        body_bytes_sent: totals.body_bytes_sent,
        errors: totals.errors,
        first_error: totals.first_error,
        latency: totals.latency.summary(),
        generator_lines_per_s,
        generate_time_share: totals.generate_time.as_secs_f64() / worker_time.max(f64::EPSILON),
        generator_rounds: generator.rounds(),
    })
}

fn report_progress_until_done<T>(
    workers: &[thread::JoinHandle<T>],
    progress: &Progress,
    start: Instant,
    options: &Options,
) {
    let show = !options.quiet && options.duration > PROGRESS_MIN_DURATION;
    let mut next_report = start + PROGRESS_PERIOD;
    let mut lines_at_last_report = 0;
    while !workers.iter().all(|worker| worker.is_finished()) {
        thread::sleep(JOIN_POLL_PERIOD);
        if !show || Instant::now() < next_report {
            continue;
        }
        next_report += PROGRESS_PERIOD;
        let lines = progress.lines_accepted.load(Ordering::Relaxed);
        let failed = progress.requests_failed.load(Ordering::Relaxed);
        eprintln!(
            "[{:6.1} s] {:>10} lines/s  {:>11} values/s  {:>12} lines total  {} failed",
            start.elapsed().as_secs_f64(),
            lines - lines_at_last_report,
            (lines - lines_at_last_report) * u64::from(options.fields),
            lines,
            failed
        );
        lines_at_last_report = lines;
    }
}

/// When batches are due (shared with `stream_mode`).
#[derive(Clone, Copy)]
pub struct Schedule {
    /// When the run started.
    pub start: Instant,
    /// No batch is started at or after this.
    pub deadline: Instant,
    /// Total lines (rows) per second over all workers; 0 means as fast as possible.
    pub rate_lines_per_s: u64,
}

impl Schedule {
    /// Waits until batch `index` is due; `false` if it would be due after the deadline.
    pub fn wait_for(&self, index: u64, batch_lines: u64) -> bool {
        let due = if self.rate_lines_per_s == 0 {
            Instant::now()
        } else {
            let offset_s = index.saturating_mul(batch_lines) as f64 / self.rate_lines_per_s as f64;
            let offset = Duration::try_from_secs_f64(offset_s).ok();
            match offset.and_then(|offset| self.start.checked_add(offset)) {
                Some(due) => due,
                None => return false,
            }
        };
        if due >= self.deadline {
            return false;
        }
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        true
    }
}

fn worker(
    endpoint: &Endpoint,
    options: &Options,
    path: &str,
    generator: &BatchGenerator,
    progress: &Progress,
    schedule: Schedule,
) -> WorkerTotals {
    let mut totals = WorkerTotals::default();
    let (mut plain, mut compressed) = (Vec::new(), Vec::new());
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8")];
    if options.gzip {
        headers.push(("Content-Encoding", "gzip"));
    }
    let mut connection: Option<Connection> = None;
    loop {
        let index = progress.next_batch.fetch_add(1, Ordering::Relaxed);
        if options.batches.is_some_and(|batches| index >= batches) {
            break;
        }
        // Without --rate, wait_for never sleeps, so a batch below the floor is sent at once
        // even past the deadline (--min-batches excludes --rate).
        if !schedule.wait_for(index, options.batch_lines) && index >= options.min_batches {
            break;
        }
        let render_start = Instant::now();
        let body = render_body(generator, options.gzip, index, &mut plain, &mut compressed);
        totals.generate_time += render_start.elapsed();
        totals.requests += 1;
        let mut open = match connection.take() {
            Some(open) => open,
            None => match Connection::connect(endpoint, options.timeout) {
                Ok(open) => open,
                Err(error) => {
                    totals.fail(format!("connect-{}", error.kind_label()), error.to_string());
                    progress.requests_failed.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(CONNECT_RETRY_DELAY);
                    continue;
                }
            },
        };
        let sent_at = Instant::now();
        let outcome = open.exchange("POST", path, &headers, body);
        totals.latency.record(sent_at.elapsed());
        totals.body_bytes_sent += body.len() as u64;
        match outcome {
            Ok(response) => {
                if response.status == STATUS_WRITTEN {
                    totals.requests_ok += 1;
                    totals.lines_accepted += options.batch_lines;
                    progress
                        .lines_accepted
                        .fetch_add(options.batch_lines, Ordering::Relaxed);
                } else {
                    let sample = &response.body[..response.body.len().min(ERROR_SAMPLE_BYTES_MAX)];
                    let detail = format!(
                        "status {}: {}",
                        response.status,
                        String::from_utf8_lossy(sample).trim()
                    );
                    totals.fail(response.status.to_string(), detail);
                    progress.requests_failed.fetch_add(1, Ordering::Relaxed);
                }
                if !response.connection_close {
                    connection = Some(open);
                }
            }
            Err(error) => {
                let label = match &error {
                    HttpError::Io(_) | HttpError::Closed => error.kind_label().to_string(),
                    _ => format!("http-{}", error.kind_label()),
                };
                totals.fail(label, error.to_string());
                progress.requests_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_args;
    use crate::fake_server;
    use std::collections::HashSet;
    use std::io::Read;

    #[test]
    fn counts_accepted_and_failed_requests_against_a_fake_server() {
        let (url, log) = fake_server::start(Arc::new(|received: &fake_server::Received| {
            // Bodies whose length is a multiple of 3 are refused, like a partial write.
            if received.body.len() % 3 == 0 {
                let body = "{\"error\":\"partial write\"}\n";
                format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
            } else {
                b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()
            }
        }));
        let args = [
            "--url",
            &url,
            "--db",
            "d b",
            "--connections",
            "2",
            "--duration",
            "300ms",
            "--series",
            "50",
            "--batch-lines",
            "20",
            "--gzip",
            "--rp",
            "r",
            "--quiet",
        ];
        let options = parse_args(args.iter().copied()).unwrap();
        let report = run(&options).unwrap();
        let received = log.lock().unwrap().clone();
        assert_eq!(report.requests, received.len() as u64);
        assert!(report.requests > 2);
        let failed: u64 = report.errors.values().sum();
        assert_eq!(report.requests_failed(), failed);
        assert_eq!(report.lines_accepted, report.requests_ok * 20);
        assert_eq!(report.values_accepted, report.lines_accepted * 10);
        assert_eq!(report.latency.count, report.requests);
        let mut seen = HashSet::new();
        for request in &received {
            assert_eq!(
                request.request_line,
                "POST /write?db=d%20b&precision=ns&rp=r HTTP/1.1"
            );
            assert!(request
                .headers
                .iter()
                .any(|h| h == "Content-Encoding: gzip"));
            let mut text = String::new();
            flate2::read::GzDecoder::new(&request.body[..])
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text.lines().count(), 20);
            for line in text.lines() {
                let mut parts = line.split(' ');
                let key = parts.next().unwrap().to_string();
                let timestamp = parts.nth(1).unwrap().to_string();
                assert!(seen.insert((key, timestamp)), "series+timestamp sent twice");
            }
        }
        let json = report.json(&options).render();
        assert!(json.contains("\"lines_accepted\": "));
        assert!(json.contains("\"p999_us\": "));
    }

    #[test]
    fn rate_limits_the_schedule() {
        let (url, log) = fake_server::start(Arc::new(|_: &fake_server::Received| {
            b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()
        }));
        let args = [
            "--url",
            &url,
            "--rate",
            "100",
            "--batch-lines",
            "10",
            "--duration",
            "500ms",
            "--quiet",
            "--series",
            "5",
        ];
        let options = parse_args(args.iter().copied()).unwrap();
        let report = run(&options).unwrap();
        // Batches due at 0, 100, 200, 300, 400 ms.
        assert_eq!(report.requests_ok, 5, "{}", report.text(&options));
        assert_eq!(log.lock().unwrap().len(), 5);
    }

    #[test]
    fn batches_stops_after_exactly_n_batches() {
        let (url, log) = fake_server::start(Arc::new(|_: &fake_server::Received| {
            b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()
        }));
        let args = [
            "--url",
            &url,
            "--batches",
            "7",
            "--batch-lines",
            "3",
            "--connections",
            "3",
            "--duration",
            "60s",
            "--quiet",
            "--series",
            "2",
        ];
        let options = parse_args(args.iter().copied()).unwrap();
        let report = run(&options).unwrap();
        assert_eq!(report.requests_ok, 7, "{}", report.text(&options));
        assert_eq!(report.lines_accepted, 21);
        assert_eq!(log.lock().unwrap().len(), 7);
    }

    #[test]
    fn min_batches_outlasts_the_duration() {
        // Every answer takes 10 ms, so nothing past the floor fits in the 1 ms run.
        let (url, log) = fake_server::start(Arc::new(|_: &fake_server::Received| {
            thread::sleep(Duration::from_millis(10));
            b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()
        }));
        let args = [
            "--url",
            &url,
            "--min-batches",
            "9",
            "--batch-lines",
            "2",
            "--connections",
            "2",
            "--duration",
            "1ms",
            "--quiet",
            "--series",
            "18",
        ];
        let options = parse_args(args.iter().copied()).unwrap();
        let report = run(&options).unwrap();
        assert_eq!(report.requests_ok, 9, "{}", report.text(&options));
        assert_eq!(report.lines_accepted, 18);
        assert_eq!(log.lock().unwrap().len(), 9);
    }

    #[test]
    fn unreachable_server_is_counted_not_fatal() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let args = [
            "--url",
            &url,
            "--duration",
            "150ms",
            "--connections",
            "1",
            "--quiet",
        ];
        let report = run(&parse_args(args.iter().copied()).unwrap()).unwrap();
        assert!(report.requests_failed() >= 1);
        assert_eq!(report.requests_ok, 0);
        assert!(
            report.errors.contains_key("connect-refused"),
            "{:?}",
            report.errors
        );
    }
}
