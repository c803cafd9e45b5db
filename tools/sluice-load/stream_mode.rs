//! Stream modes: `--protocol graphite-tcp` and `--protocol udp`.
//!
//! Owns: the socket workers of the two non-HTTP protocols, datagram packing, and their summary.
//! `--connections` threads each own one socket (a TCP connection or a connected UDP socket) and
//! take batch indexes from one atomic counter, paced by the same [`Schedule`] as HTTP mode, so
//! the uniqueness argument of `batch` holds here too: no series+time is sent twice in a run.
//!
//! Counting: nothing answers these protocols, so lines are counted as *sent*. graphite-tcp
//! counts a batch's lines once `write_all` has handed the whole batch to the kernel (a slow
//! server pushes back by filling the socket buffers, which shows as write latency and a lower
//! rate); after a failed write the connection is dropped and a new one opened for the next
//! batch. udp counts a datagram's lines once `send` accepted it; the server may still drop it.
//!
//! Datagram packing (`pack_datagrams`): walk the body line by line and start a new datagram
//! whenever adding the next line (with its newline) would pass `--datagram-bytes`; a line
//! longer than the limit alone is skipped and counted, never split.

use crate::args::{Options, Protocol};
use crate::batch::BatchGenerator;
use crate::http_client::Endpoint;
use crate::json::Json;
use crate::stats::{errors_json, merge_errors, ErrorTally, Latency, LatencySummary};
use crate::write_mode::{create_database, Schedule};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Pause after a failed connect, so a dead server is not hammered.
const CONNECT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Runs at least this long print a progress line every [`PROGRESS_PERIOD`].
const PROGRESS_MIN_DURATION: Duration = Duration::from_secs(2);
/// Period of the progress lines.
const PROGRESS_PERIOD: Duration = Duration::from_secs(1);
/// How often the main thread checks whether the workers are done.
const JOIN_POLL_PERIOD: Duration = Duration::from_millis(20);

/// One datagram: the byte range of the body it carries and how many lines that is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Bytes of the body.
    pub range: Range<usize>,
    /// Whole lines in it.
    pub lines: u64,
}

/// Splits `body` (newline-terminated lines) into datagrams of at most `max_bytes`, replacing
/// `out`; returns how many lines were skipped for being longer than `max_bytes` on their own.
pub fn pack_datagrams(body: &[u8], max_bytes: usize, out: &mut Vec<Datagram>) -> u64 {
    out.clear();
    let mut skipped = 0u64;
    let mut current: Option<Datagram> = None;
    let mut line_start = 0usize;
    while line_start < body.len() {
        let line_end = body[line_start..]
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(body.len(), |at| line_start + at + 1);
        if line_end - line_start > max_bytes {
            skipped += 1;
            if let Some(datagram) = current.take() {
                out.push(datagram);
            }
        } else {
            match current.as_mut() {
                Some(datagram) if line_end - datagram.range.start <= max_bytes => {
                    datagram.range.end = line_end;
                    datagram.lines += 1;
                }
                _ => {
                    if let Some(datagram) = current.take() {
                        out.push(datagram);
                    }
                    current = Some(Datagram {
                        range: line_start..line_end,
                        lines: 1,
                    });
                }
            }
        }
        line_start = line_end;
    }
    if let Some(datagram) = current {
        out.push(datagram);
    }
    skipped
}

/// Counters the workers bump for the progress line.
struct Progress {
    next_batch: AtomicU64,
    lines_sent: AtomicU64,
    writes_failed: AtomicU64,
}

/// What one worker measured.
#[derive(Default)]
struct WorkerTotals {
    latency: Latency,
    errors: ErrorTally,
    first_error: Option<String>,
    writes: u64,
    writes_ok: u64,
    lines_sent: u64,
    bytes_sent: u64,
    lines_skipped: u64,
    generate_time: Duration,
}

impl WorkerTotals {
    fn merge(&mut self, other: WorkerTotals) {
        self.latency.merge(&other.latency);
        merge_errors(&mut self.errors, &other.errors);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.writes += other.writes;
        self.writes_ok += other.writes_ok;
        self.lines_sent += other.lines_sent;
        self.bytes_sent += other.bytes_sent;
        self.lines_skipped += other.lines_skipped;
        self.generate_time += other.generate_time;
    }

    fn fail(&mut self, label: &str, detail: String, progress: &Progress) {
        *self.errors.entry(label.to_string()).or_insert(0) += 1;
        if self.first_error.is_none() {
            self.first_error = Some(detail);
        }
        progress.writes_failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// A short stable label for an I/O error.
fn io_label(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timeout",
        io::ErrorKind::ConnectionRefused => "refused",
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => "reset",
        _ if error.raw_os_error() == Some(libc::ENOBUFS) => "no-buffer",
        _ => "io",
    }
}

/// Result of a graphite-tcp or udp run.
pub struct StreamReport {
    /// The protocol used.
    pub protocol: Protocol,
    /// Wall time from the start to the last worker's end, at least `--duration`.
    pub elapsed: Duration,
    /// TCP writes (one per batch) or datagrams attempted.
    pub writes: u64,
    /// Writes or datagrams that succeeded.
    pub writes_ok: u64,
    /// Protocol lines handed to the kernel: Graphite lines (one per value) or LP lines.
    pub lines_sent: u64,
    /// Values in those lines.
    pub values_sent: u64,
    /// Bytes handed to the kernel.
    pub bytes_sent: u64,
    /// udp: lines never sent because one alone passed `--datagram-bytes`.
    pub lines_skipped: u64,
    /// Failures by label.
    pub errors: ErrorTally,
    /// The first failure, with detail.
    pub first_error: Option<String>,
    /// Time per TCP write (batch) or per datagram send.
    pub latency: LatencySummary,
    /// Share of worker time spent rendering batches.
    pub generate_time_share: f64,
}

impl StreamReport {
    /// Writes or datagrams that failed.
    pub fn writes_failed(&self) -> u64 {
        self.writes - self.writes_ok
    }

    fn per_second(&self, count: u64) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            count as f64 / seconds
        } else {
            0.0
        }
    }

    fn write_noun(&self) -> &'static str {
        match self.protocol {
            Protocol::Udp => "datagrams",
            Protocol::Http | Protocol::GraphiteTcp => "writes",
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
        let mut text = format!(
            "protocol         {} to {}\n\
             elapsed          {:.2} s\n\
             {:<16} {} sent, {} ok, {} failed, {:.1}/s\n\
             lines sent       {} ({:.0}/s)\n\
             values sent      {} ({:.0}/s)\n\
             bytes sent       {} ({:.1} MB/s)\n\
             send latency     {}\n\
             errors           {}\n\
             generator        {:.1}% of worker time\n",
            self.protocol.as_str(),
            options.target_address(),
            self.elapsed.as_secs_f64(),
            self.write_noun(),
            self.writes,
            self.writes_ok,
            self.writes_failed(),
            self.per_second(self.writes),
            self.lines_sent,
            self.per_second(self.lines_sent),
            self.values_sent,
            self.per_second(self.values_sent),
            self.bytes_sent,
            self.per_second(self.bytes_sent) / 1e6,
            self.latency.line(),
            errors,
            self.generate_time_share * 100.0,
        );
        if self.lines_skipped > 0 {
            text.push_str(&format!(
                "lines skipped    {} (longer than --datagram-bytes)\n",
                self.lines_skipped
            ));
        }
        if let Some(first_error) = &self.first_error {
            text.push_str(&format!("first error      {first_error}\n"));
        }
        text
    }

    /// Machine-readable summary, flags included.
    pub fn json(&self, options: &Options) -> Json {
        Json::object([
            ("mode", Json::str(self.protocol.as_str())),
            ("flags", options.to_json()),
            ("elapsed_s", Json::Float(self.elapsed.as_secs_f64())),
            ("writes", Json::UInt(self.writes)),
            ("writes_ok", Json::UInt(self.writes_ok)),
            ("writes_failed", Json::UInt(self.writes_failed())),
            ("lines_sent", Json::UInt(self.lines_sent)),
            ("lines_per_s", Json::Float(self.per_second(self.lines_sent))),
            ("values_sent", Json::UInt(self.values_sent)),
            (
                "values_per_s",
                Json::Float(self.per_second(self.values_sent)),
            ),
            ("bytes_sent", Json::UInt(self.bytes_sent)),
            ("lines_skipped", Json::UInt(self.lines_skipped)),
            ("errors", errors_json(&self.errors)),
            (
                "first_error",
                self.first_error.clone().map_or(Json::Null, Json::Str),
            ),
            ("send_latency_us", self.latency.to_json()),
            (
                "generator_time_share",
                Json::Float(self.generate_time_share),
            ),
        ])
    }
}

/// Resolves `--address` to its first socket address.
fn resolve(address: &str) -> Result<SocketAddr, String> {
    address
        .to_socket_addrs()
        .map_err(|error| format!("resolve {address}: {error}"))?
        .next()
        .ok_or_else(|| format!("resolve {address}: no address"))
}

/// Runs the graphite-tcp or udp benchmark described by `options`.
pub fn run(options: &Options) -> Result<StreamReport, String> {
    if options.protocol == Protocol::Http {
        return Err("BUG: stream_mode::run called for http".to_string());
    }
    let target = resolve(options.target_address())?;
    if options.create_db {
        let endpoint = Endpoint::from_url(&options.url).map_err(|error| error.to_string())?;
        create_database(&endpoint, options)?;
    }
    let generator = Arc::new(BatchGenerator::new(options));
    let progress = Arc::new(Progress {
        next_batch: AtomicU64::new(0),
        lines_sent: AtomicU64::new(0),
        writes_failed: AtomicU64::new(0),
    });
    let start = Instant::now();
    let schedule = Schedule {
        start,
        deadline: start + options.duration,
        rate_lines_per_s: options.rate_lines_per_s,
    };
    let mut workers = Vec::new();
    for _ in 0..options.connections {
        let (generator, progress, options) = (generator.clone(), progress.clone(), options.clone());
        workers.push(thread::spawn(move || match options.protocol {
            Protocol::Udp => udp_worker(target, &options, &generator, &progress, schedule),
            Protocol::Http | Protocol::GraphiteTcp => {
                graphite_worker(target, &options, &generator, &progress, schedule)
            }
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
    // A paced run's last batch is due before the deadline; its run time is still the duration.
    let elapsed = start.elapsed().max(options.duration);
    let worker_time = elapsed.as_secs_f64() * f64::from(options.connections);
    let values_sent = match options.protocol {
        Protocol::GraphiteTcp => totals.lines_sent,
        Protocol::Http | Protocol::Udp => totals.lines_sent * u64::from(options.fields),
    };
    Ok(StreamReport {
        protocol: options.protocol,
        elapsed,
        writes: totals.writes,
        writes_ok: totals.writes_ok,
        lines_sent: totals.lines_sent,
        values_sent,
        bytes_sent: totals.bytes_sent,
        lines_skipped: totals.lines_skipped,
        errors: totals.errors,
        first_error: totals.first_error,
        latency: totals.latency.summary(),
        generate_time_share: totals.generate_time.as_secs_f64() / worker_time.max(f64::EPSILON),
    })
}

fn report_progress_until_done<T>(
    workers: &[thread::JoinHandle<T>],
    progress: &Progress,
    start: Instant,
    options: &Options,
) {
    let show = !options.quiet && options.duration > PROGRESS_MIN_DURATION;
    let values_per_line = match options.protocol {
        Protocol::GraphiteTcp => 1,
        Protocol::Http | Protocol::Udp => u64::from(options.fields),
    };
    let mut next_report = start + PROGRESS_PERIOD;
    let mut lines_at_last_report = 0;
    while !workers.iter().all(|worker| worker.is_finished()) {
        thread::sleep(JOIN_POLL_PERIOD);
        if !show || Instant::now() < next_report {
            continue;
        }
        next_report += PROGRESS_PERIOD;
        let lines = progress.lines_sent.load(Ordering::Relaxed);
        eprintln!(
            "[{:6.1} s] {:>10} lines/s  {:>11} values/s  {:>12} lines sent  {} failed",
            start.elapsed().as_secs_f64(),
            lines - lines_at_last_report,
            (lines - lines_at_last_report) * values_per_line,
            lines,
            progress.writes_failed.load(Ordering::Relaxed)
        );
        lines_at_last_report = lines;
    }
}

fn connect_tcp(target: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&target, timeout)?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn graphite_worker(
    target: SocketAddr,
    options: &Options,
    generator: &BatchGenerator,
    progress: &Progress,
    schedule: Schedule,
) -> WorkerTotals {
    let mut totals = WorkerTotals::default();
    let lines_per_batch = options.batch_lines * u64::from(options.fields);
    let mut body = Vec::new();
    let mut connection: Option<TcpStream> = None;
    loop {
        let index = progress.next_batch.fetch_add(1, Ordering::Relaxed);
        if !schedule.wait_for(index, options.batch_lines) {
            break;
        }
        let render_start = Instant::now();
        generator.render_graphite(index, &mut body);
        totals.generate_time += render_start.elapsed();
        totals.writes += 1;
        let mut stream = match connection.take() {
            Some(stream) => stream,
            None => match connect_tcp(target, options.timeout) {
                Ok(stream) => stream,
                Err(error) => {
                    let label = format!("connect-{}", io_label(&error));
                    totals.fail(&label, format!("connect {target}: {error}"), progress);
                    thread::sleep(CONNECT_RETRY_DELAY);
                    continue;
                }
            },
        };
        let sent_at = Instant::now();
        let outcome = stream.write_all(&body);
        totals.latency.record(sent_at.elapsed());
        match outcome {
            Ok(()) => {
                totals.writes_ok += 1;
                totals.lines_sent += lines_per_batch;
                totals.bytes_sent += body.len() as u64;
                progress
                    .lines_sent
                    .fetch_add(lines_per_batch, Ordering::Relaxed);
                connection = Some(stream);
            }
            Err(error) => {
                totals.fail(io_label(&error), format!("write: {error}"), progress);
            }
        }
    }
    if let Some(stream) = connection {
        // Let the server read what is buffered, then see end of stream.
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    totals
}

fn connect_udp(target: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = match target {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(target)?;
    Ok(socket)
}

fn udp_worker(
    target: SocketAddr,
    options: &Options,
    generator: &BatchGenerator,
    progress: &Progress,
    schedule: Schedule,
) -> WorkerTotals {
    let mut totals = WorkerTotals::default();
    let socket = match connect_udp(target) {
        Ok(socket) => socket,
        Err(error) => {
            totals.writes += 1;
            totals.fail(io_label(&error), format!("udp socket: {error}"), progress);
            return totals;
        }
    };
    let (mut body, mut datagrams) = (Vec::new(), Vec::new());
    loop {
        let index = progress.next_batch.fetch_add(1, Ordering::Relaxed);
        if !schedule.wait_for(index, options.batch_lines) {
            break;
        }
        let render_start = Instant::now();
        generator.render(index, &mut body);
        totals.lines_skipped += pack_datagrams(&body, options.datagram_bytes, &mut datagrams);
        totals.generate_time += render_start.elapsed();
        for datagram in &datagrams {
            let Some(payload) = body.get(datagram.range.clone()) else {
                continue;
            };
            totals.writes += 1;
            let sent_at = Instant::now();
            let outcome = socket.send(payload);
            totals.latency.record(sent_at.elapsed());
            match outcome {
                Ok(_) => {
                    totals.writes_ok += 1;
                    totals.lines_sent += datagram.lines;
                    totals.bytes_sent += payload.len() as u64;
                    progress
                        .lines_sent
                        .fetch_add(datagram.lines, Ordering::Relaxed);
                }
                Err(error) => {
                    totals.fail(io_label(&error), format!("send: {error}"), progress);
                }
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_args;
    use std::collections::HashSet;
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::Mutex;

    #[test]
    fn packs_whole_lines_up_to_the_limit() {
        let mut out = Vec::new();
        let body = b"aaaa\nbbbb\ncc\ndddddddddd\ne\n";
        // Lines of 5, 5, 3, 11, 2 bytes with a 10-byte limit.
        let skipped = pack_datagrams(body, 10, &mut out);
        assert_eq!(skipped, 1);
        let pieces: Vec<(&[u8], u64)> = out
            .iter()
            .map(|d| (&body[d.range.clone()], d.lines))
            .collect();
        assert_eq!(
            pieces,
            [
                (&b"aaaa\nbbbb\n"[..], 2),
                (&b"cc\n"[..], 1),
                (&b"e\n"[..], 1)
            ]
        );
        assert_eq!(pack_datagrams(b"", 10, &mut out), 0);
        assert!(out.is_empty());
        // An unterminated last line is still one line.
        pack_datagrams(b"ab\ncd", 10, &mut out);
        assert_eq!(
            out,
            [Datagram {
                range: 0..5,
                lines: 2
            }]
        );
    }

    #[test]
    fn graphite_tcp_streams_every_line_once() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                thread::spawn(move || {
                    let mut bytes = Vec::new();
                    let _ = (&stream).read_to_end(&mut bytes);
                    sink.lock().unwrap().push(bytes);
                });
            }
        });
        let args = [
            "--protocol",
            "graphite-tcp",
            "--address",
            &address,
            "--connections",
            "2",
            "--duration",
            "300ms",
            "--series",
            "7",
            "--fields",
            "3",
            "--batch-lines",
            "5",
            "--rate",
            "200",
            "--quiet",
        ];
        let options = parse_args(args.iter().copied()).unwrap();
        let report = run(&options).unwrap();
        // Batches of 5 rows due every 25 ms for 300 ms: 12 batches, 3 lines per row.
        assert_eq!(report.writes_ok, 12, "{}", report.text(&options));
        assert_eq!(report.lines_sent, 12 * 5 * 3);
        assert_eq!(report.values_sent, report.lines_sent);
        // Both connections are closed after the run; wait for the readers to finish.
        let deadline = Instant::now() + Duration::from_secs(5);
        while received.lock().unwrap().len() < 2 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let streams = received.lock().unwrap().clone();
        assert_eq!(streams.len(), 2);
        let mut seen = HashSet::new();
        let mut bytes_total = 0;
        for bytes in &streams {
            bytes_total += bytes.len();
            let text = String::from_utf8(bytes.clone()).unwrap();
            for line in text.lines() {
                let parts: Vec<&str> = line.split(' ').collect();
                assert_eq!(parts.len(), 3, "{line}");
                assert!(
                    seen.insert((parts[0].to_string(), parts[2].to_string())),
                    "path+time sent twice: {line}"
                );
            }
        }
        assert_eq!(seen.len() as u64, report.lines_sent);
        assert_eq!(bytes_total as u64, report.bytes_sent);
        let json = report.json(&options).render();
        assert!(json.contains("\"mode\": \"graphite-tcp\""), "{json}");
        assert!(json.contains("\"values_sent\": 180"), "{json}");
    }

    #[test]
    fn udp_datagrams_respect_the_limit_and_carry_every_line_once() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = server.local_addr().unwrap().to_string();
        server
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let args = [
            "--protocol",
            "udp",
            "--address",
            &address,
            "--connections",
            "1",
            "--duration",
            "250ms",
            "--series",
            "30",
            "--fields",
            "2",
            "--batch-lines",
            "40",
            "--rate",
            "400",
            "--datagram-bytes",
            "200",
            "--quiet",
        ];
        let options = parse_args(args.iter().copied()).unwrap();
        let reader = thread::spawn(move || {
            let mut datagrams = Vec::new();
            let mut buffer = vec![0u8; 65_536];
            while let Ok(size) = server.recv(&mut buffer) {
                datagrams.push(buffer[..size].to_vec());
            }
            datagrams
        });
        let report = run(&options).unwrap();
        let datagrams = reader.join().unwrap();
        // Batches of 40 lines due every 100 ms for 250 ms: 3 batches.
        assert_eq!(report.lines_sent, 120, "{}", report.text(&options));
        assert_eq!(report.values_sent, 240);
        assert_eq!(report.writes_ok, datagrams.len() as u64);
        assert_eq!(report.lines_skipped, 0);
        let mut seen = HashSet::new();
        for datagram in &datagrams {
            assert!(datagram.len() <= 200, "{} bytes", datagram.len());
            let text = std::str::from_utf8(datagram).unwrap();
            assert!(text.ends_with('\n'));
            for line in text.lines() {
                let mut parts = line.split(' ');
                let key = parts.next().unwrap().to_string();
                let timestamp = parts.nth(1).unwrap().to_string();
                assert!(seen.insert((key, timestamp)), "series+time sent twice");
            }
        }
        assert_eq!(seen.len(), 120);
    }

    #[test]
    fn graphite_tcp_with_no_listener_counts_refused_connects() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let args = [
            "--protocol",
            "graphite-tcp",
            "--address",
            &address,
            "--duration",
            "150ms",
            "--connections",
            "1",
            "--quiet",
        ];
        let report = run(&parse_args(args.iter().copied()).unwrap()).unwrap();
        assert!(report.writes_failed() >= 1);
        assert_eq!(report.lines_sent, 0);
        assert!(
            report.errors.contains_key("connect-refused"),
            "{:?}",
            report.errors
        );
    }
}
