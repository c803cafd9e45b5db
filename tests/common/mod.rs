//! Test harness: starts the real `sluice` binary on an ephemeral port with its own data
//! directory, and talks raw HTTP/1.1 to it. Every wait is on a condition with a deadline.

#![allow(dead_code)]

pub mod golden;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Longest a test waits for the server to come up or go down.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed by `Server` on drop.
pub fn fresh_dir(label: &str) -> PathBuf {
    let n = NEXT_DIR.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-test-{label}-{}-{n}-{nanos}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// Log lines the server printed, shared with the thread that reads its stderr.
#[derive(Default)]
struct LogLines {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

/// A running `sluice run`.
pub struct Server {
    child: Option<Child>,
    /// where it listens
    pub address: SocketAddr,
    /// its base directory (meta/, data/, wal/)
    pub dir: PathBuf,
    env: Vec<(String, String)>,
    /// the thread that copies the server's stderr into `log`
    log_reader: Option<std::thread::JoinHandle<()>>,
    log: Arc<LogLines>,
    keep_dir: bool,
}

impl Server {
    /// Starts a server on a fresh directory.
    pub fn start() -> Server {
        Server::start_in(fresh_dir("server"), &[])
    }

    /// Starts a server with extra `SLUICE_*` settings.
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        Server::start_in(fresh_dir("server"), env)
    }

    /// Starts a server on `dir` (reused across restarts).
    pub fn start_in(dir: PathBuf, env: &[(&str, &str)]) -> Server {
        let mut all: Vec<(String, String)> = vec![
            ("SLUICE_HTTP_BIND_ADDRESS".into(), "127.0.0.1:0".into()),
            // The backup service too: many servers run at once, none on the default 8088.
            ("SLUICE_BIND_ADDRESS".into(), "127.0.0.1:0".into()),
            // The admin UI too, off its default 8083.
            ("SLUICE_ADMIN_BIND_ADDRESS".into(), "127.0.0.1:0".into()),
            // And the meta service, off its default 8091.
            ("SLUICE_META_BIND_ADDRESS".into(), "127.0.0.1:0".into()),
            (
                "SLUICE_META_DIR".into(),
                dir.join("meta").display().to_string(),
            ),
            (
                "SLUICE_DATA_DIR".into(),
                dir.join("data").display().to_string(),
            ),
            (
                "SLUICE_DATA_WAL_DIR".into(),
                dir.join("wal").display().to_string(),
            ),
            ("SLUICE_HTTP_WORKERS".into(), "2".into()),
            ("SLUICE_DATA_WAL_PARTITIONS".into(), "2".into()),
            // As the golden influxd runs: no `_internal` unless a test asks for it.
            ("SLUICE_MONITOR_STORE_ENABLED".into(), "false".into()),
            // The golden influxd ran with GOMAXPROCS 2 (a 2-CPU machine): sum()/mean() over
            // several series fold in its merge order for 2 groups, whatever this CPU count.
            (
                "SLUICE_COORDINATOR_QUERY_MERGE_PARALLELISM".into(),
                "2".into(),
            ),
        ];
        for (k, v) in env {
            all.retain(|(key, _)| key != k);
            all.push((k.to_string(), v.to_string()));
        }
        let mut server = Server {
            child: None,
            address: "127.0.0.1:0".parse().expect("addr"),
            dir,
            env: all,
            log_reader: None,
            log: Arc::default(),
            keep_dir: false,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command.env_clear();
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Ok(value) = std::env::var(key) {
                command.env(key, value);
            }
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn sluice");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(LogLines::default());
        self.log = Arc::clone(&log);
        self.log_reader = Some(std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if std::env::var("SLUICE_TEST_ECHO_LOG").is_ok() {
                    eprintln!("[sluice] {line}");
                }
                let mut lines = log.lines.lock().expect("log lock");
                lines.push(line);
                log.changed.notify_all();
            }
        }));
        self.child = Some(child);
        let line = self
            .wait_for_log("msg=\"listening\"", STARTUP_DEADLINE)
            .unwrap_or_else(|| panic!("server did not start; log:\n{}", self.log_text()));
        let address = line
            .split(" address=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .expect("address in log line");
        self.address = address.parse().expect("listening address");
    }

    /// The first log line (from now on or already printed) containing `needle`.
    pub fn wait_for_log(&self, needle: &str, deadline: Duration) -> Option<String> {
        let until = Instant::now() + deadline;
        let mut lines = self.log.lines.lock().expect("log lock");
        loop {
            if let Some(line) = lines.iter().find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            let now = Instant::now();
            if now >= until {
                return None;
            }
            lines = self
                .log
                .changed
                .wait_timeout(lines, until - now)
                .expect("log wait")
                .0;
        }
    }

    /// The address the backup service listens on (from its log line).
    pub fn backup_address(&self) -> SocketAddr {
        let line = self
            .wait_for_log("msg=\"backup service listening\"", STARTUP_DEADLINE)
            .unwrap_or_else(|| panic!("no backup service; log:\n{}", self.log_text()));
        line.split(" address=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|address| address.parse().ok())
            .expect("backup address")
    }

    /// The address the admin UI listens on (from its log line).
    pub fn admin_address(&self) -> SocketAddr {
        let line = self
            .wait_for_log("admin UI listening", STARTUP_DEADLINE)
            .expect("admin UI log line");
        line.split(" address=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|address| address.parse().ok())
            .expect("admin address")
    }

    /// The address an input listens on (from its "input listening" log line); `nth` counts
    /// the instances of `kind` (udp, graphite, collectd, opentsdb) from 0.
    pub fn input_address(&self, kind: &str, nth: usize) -> SocketAddr {
        let needle = format!("input={kind} ");
        assert!(
            self.wait_for_log(&needle, STARTUP_DEADLINE).is_some(),
            "no {kind} input; log:\n{}",
            self.log_text()
        );
        let lines = self.log.lines.lock().expect("log lock");
        let line = lines
            .iter()
            .filter(|l| l.contains("msg=\"input listening\"") && l.contains(&needle))
            .nth(nth)
            .expect("input line")
            .clone();
        let address = line
            .split(" address=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .expect("address");
        address.parse().expect("input address")
    }

    /// Polls `sluice export` of `db` until `done` accepts it; panics after the deadline.
    pub fn wait_for_export(&self, db: &str, done: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + STARTUP_DEADLINE;
        loop {
            let export = self.export(Some(db));
            if done(&export) {
                return export;
            }
            assert!(
                Instant::now() < until,
                "export of {db} never matched; last export:\n{export}\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the server logged so far.
    pub fn log_text(&self) -> String {
        self.log
            .lines
            .lock()
            .map(|l| l.join("\n"))
            .unwrap_or_default()
    }

    /// Sends SIGTERM and waits for exit; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc_kill(child.id() as i32, 15) };
        let until = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // The log's last lines are read once the pipe closes: wait for them, so a
                // test that reads the log after stop() sees the shutdown lines.
                if let Some(reader) = self.log_reader.take() {
                    let _ = reader.join();
                }
                return status.code();
            }
            if Instant::now() > until {
                let _ = child.kill();
                panic!(
                    "server did not stop after SIGTERM; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The server's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A `VmRSS`/`VmHWM`-style figure of `/proc/<pid>/status`, in bytes.
    pub fn memory_figure(&self, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with(key))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same directory (after `stop` or `kill9`).
    pub fn restart(&mut self) {
        self.launch();
    }

    /// Starts the stopped server again with some `SLUICE_*` settings changed or added.
    pub fn restart_with(&mut self, env: &[(&str, &str)]) {
        for (k, v) in env {
            self.env.retain(|(key, _)| key != k);
            self.env.push((k.to_string(), v.to_string()));
        }
        self.launch();
    }

    /// Keep the data directory after drop (for debugging).
    pub fn keep_dir(&mut self) {
        self.keep_dir = true;
    }

    /// `sluice export` of this server's directory (works while running: WAL is fsynced).
    pub fn export(&self, db: Option<&str>) -> String {
        export_dir(&self.dir, db)
    }

    /// POSTs a query with a form body; returns (status, body).
    pub fn query(&self, q: &str) -> (u16, String) {
        let body = format!("q={}", urlencode(q));
        let response = request(
            self.address,
            "POST",
            "/query",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        );
        (
            response.status,
            String::from_utf8_lossy(&response.body).into_owned(),
        )
    }

    /// POST /write?<params> with `body`.
    pub fn write(&self, params: &str, body: &str) -> Response {
        request(
            self.address,
            "POST",
            &format!("/write?{params}"),
            &[],
            body.as_bytes(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if !self.keep_dir && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

/// Runs `sluice export -datadir <dir>/data`.
pub fn export_dir(dir: &Path, db: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.arg("export").arg("-datadir").arg(dir.join("data"));
    if let Some(db) = db {
        command.arg("-db").arg(db);
    }
    let output = command.output().expect("run export");
    assert!(
        output.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Percent-encodes for a query string or form body.
pub fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// status line version, e.g. "HTTP/1.1"
    pub version: String,
    /// status code
    pub status: u16,
    /// headers in order
    pub headers: Vec<(String, String)>,
    /// de-chunked body
    pub body: Vec<u8>,
}

impl Response {
    /// First header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    raw.push_str("\r\n");
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(body);
    let mut stream = connect(address);
    stream.write_all(&bytes).expect("send request");
    let mut reader = BufReader::new(stream);
    read_response(&mut reader, method == "HEAD").expect("read response")
}

/// A connection with read/write timeouts so a hung server fails the test instead of hanging it.
pub fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
}

/// Reads one response (Content-Length, chunked, or to EOF).
pub fn read_response(reader: &mut impl BufRead, head_only: bool) -> std::io::Result<Response> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if line.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no response",
        ));
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or("").to_string();
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.push((k.to_string(), v.trim_start().to_string()));
        }
    }
    let mut response = Response {
        version,
        status,
        headers,
        body: Vec::new(),
    };
    if status < 200 {
        return Ok(response); // interim response; caller reads the next one
    }
    if head_only || status == 204 || status == 304 {
        return Ok(response);
    }
    if response
        .header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if size == 0 {
                let mut trailer = String::new();
                reader.read_line(&mut trailer)?;
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            chunk.truncate(size);
            response.body.extend_from_slice(&chunk);
        }
    } else if let Some(length) = response
        .header("Content-Length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        response.body = body;
    } else {
        reader.read_to_end(&mut response.body)?;
    }
    Ok(response)
}

/// Whether `program args...` runs and succeeds. A missing tool skips the calling test with a
/// message, or fails it when `SLUICE_REQUIRE_CLIENTS` is set (as `.ci/run` does, having
/// installed every tool the tests drive).
pub fn tool_available(program: &str, args: &[&str]) -> bool {
    let found = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("SLUICE_REQUIRE_CLIENTS").is_err(),
            "{program} is required (SLUICE_REQUIRE_CLIENTS is set) but missing"
        );
        eprintln!("skipping: {program} is not installed");
    }
    found
}
