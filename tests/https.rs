//! HTTPS (`[http] https-enabled`) against the real binary, with a self-signed certificate
//! made here (rcgen): curl, the `influx` CLI (`-ssl -unsafeSsl`) and python3-influxdb
//! (`ssl=True`); large answers, chunked and whole, read slowly; handshakes that never finish;
//! plain HTTP to the TLS port; start-up refused without a usable certificate.
//!
//! A missing client skips its test with a message (fails with `SLUICE_REQUIRE_CLIENTS`).

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;

const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Writes a self-signed certificate for `localhost` and its key; returns (cert, key) paths.
fn make_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".into()])
            .unwrap();
    let certificate = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&certificate, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    (certificate, key)
}

/// A server with HTTPS on, plus the certificate file clients trust.
fn start_https(extra: &[(&str, &str)]) -> (Server, PathBuf) {
    let dir = common::fresh_dir("https-cert");
    let (certificate, key) = make_certificate(&dir);
    let certificate_text = certificate.display().to_string();
    let key_text = key.display().to_string();
    let mut env = vec![
        ("SLUICE_HTTP_HTTPS_ENABLED", "true"),
        ("SLUICE_HTTP_HTTPS_CERTIFICATE", certificate_text.as_str()),
        ("SLUICE_HTTP_HTTPS_PRIVATE_KEY", key_text.as_str()),
    ];
    env.extend_from_slice(extra);
    (Server::start_with(&env), certificate)
}

/// `curl` over HTTPS trusting `certificate`; returns (status, body).
fn curl(server: &Server, certificate: &Path, args: &[&str], path: &str) -> (u16, Vec<u8>) {
    let port = server.address.port();
    let output = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(certificate)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("https://localhost:{port}{path}"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "curl {args:?} {path}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut body = output.stdout;
    let at = body.iter().rposition(|&b| b == b'\n').unwrap();
    let status = String::from_utf8_lossy(&body[at + 1..]).parse().unwrap();
    body.truncate(at);
    (status, body)
}

#[test]
fn curl_pings_writes_and_queries_over_https() {
    if !common::tool_available("curl", &["--version"]) {
        return;
    }
    let (server, certificate) = start_https(&[]);
    let (status, _) = curl(&server, &certificate, &[], "/ping");
    assert_eq!(status, 204);
    let (status, _) = curl(
        &server,
        &certificate,
        &["--data-urlencode", "q=CREATE DATABASE tls"],
        "/query",
    );
    assert_eq!(status, 200);
    let (status, body) = curl(
        &server,
        &certificate,
        &[
            "--data-binary",
            "cpu,host=a value=1 1000000000\ncpu,host=b value=2 2000000000",
        ],
        "/write?db=tls",
    );
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    let (status, body) = curl(
        &server,
        &certificate,
        &["-G", "--data-urlencode", "q=SELECT sum(value) FROM cpu"],
        "/query?db=tls",
    );
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("[\"1970-01-01T00:00:00Z\",3]"), "{text}");
    // Plain HTTP and TLS 1.1 are refused.
    let port = server.address.port();
    let old = Command::new("curl")
        .args(["-sS", "-k", "--tls-max", "1.1", "--tlsv1.0"])
        .arg(format!("https://127.0.0.1:{port}/ping"))
        .output()
        .unwrap();
    assert!(!old.status.success(), "TLS 1.1 was accepted");
}

#[test]
fn key_inside_the_certificate_file_is_read_from_there() {
    if !common::tool_available("curl", &["--version"]) {
        return;
    }
    let dir = common::fresh_dir("https-combined");
    let (certificate, key) = make_certificate(&dir);
    let combined = dir.join("combined.pem");
    let both =
        std::fs::read_to_string(&certificate).unwrap() + &std::fs::read_to_string(key).unwrap();
    std::fs::write(&combined, both).unwrap();
    let combined_text = combined.display().to_string();
    let server = Server::start_with(&[
        ("SLUICE_HTTP_HTTPS_ENABLED", "true"),
        ("SLUICE_HTTP_HTTPS_CERTIFICATE", combined_text.as_str()),
    ]);
    let (status, _) = curl(&server, &certificate, &[], "/ping");
    assert_eq!(status, 204);
}

#[test]
fn start_up_fails_clearly_without_a_usable_certificate() {
    let dir = common::fresh_dir("https-bad");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let (certificate, _) = make_certificate(&dir);
    let cases = [
        (dir.join("missing.pem"), String::new(), "https-certificate"),
        (garbage.clone(), String::new(), "no PEM certificate"),
        // a certificate file without a key, and no key file named
        (certificate.clone(), String::new(), "https-private-key"),
        (
            certificate,
            garbage.display().to_string(),
            "https-private-key",
        ),
    ];
    for (certificate, key, expected) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("run")
            .env("SLUICE_HTTP_BIND_ADDRESS", "127.0.0.1:0")
            .env("SLUICE_BIND_ADDRESS", "127.0.0.1:0")
            .env("SLUICE_META_DIR", dir.join("meta"))
            .env("SLUICE_DATA_DIR", dir.join("data"))
            .env("SLUICE_DATA_WAL_DIR", dir.join("wal"))
            .env("SLUICE_HTTP_HTTPS_ENABLED", "true")
            .env("SLUICE_HTTP_HTTPS_CERTIFICATE", &certificate)
            .env("SLUICE_HTTP_HTTPS_PRIVATE_KEY", &key)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{certificate:?} started: {stderr}"
        );
        assert!(stderr.contains(expected), "{certificate:?}: {stderr}");
    }
}

#[test]
fn influx_cli_over_https() {
    if !common::tool_available("influx", &["-version"]) {
        return;
    }
    let (server, _) = start_https(&[]);
    let port = server.address.port().to_string();
    let influx = |args: &[&str]| {
        let output = Command::new("influx")
            .args(["-ssl", "-unsafeSsl", "-host", "127.0.0.1", "-port", &port])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "influx {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    influx(&["-execute", "CREATE DATABASE clitls"]);
    influx(&[
        "-database",
        "clitls",
        "-execute",
        "INSERT cpu,host=b value=2 2000000000",
    ]);
    let shown = influx(&["-database", "clitls", "-execute", "SELECT value FROM cpu"]);
    assert!(shown.contains("2000000000 2"), "{shown}");
}

#[test]
fn python_client_over_https() {
    if !common::tool_available(SYSTEM_PYTHON, &["-c", "import influxdb"]) {
        return;
    }
    let (server, _) = start_https(&[]);
    let script = format!(
        r#"
import urllib3
urllib3.disable_warnings()
from influxdb import InfluxDBClient
client = InfluxDBClient(host="127.0.0.1", port={port}, ssl=True, verify_ssl=False)
client.create_database("pytls")
client.switch_database("pytls")
assert client.write_points([{{"measurement": "cpu", "tags": {{"host": "a"}},
    "time": 3000000000, "fields": {{"value": 3.5}}}}], time_precision="n")
points = list(client.query("SELECT value FROM cpu").get_points())
assert points == [{{"time": "1970-01-01T00:00:03Z", "value": 3.5}}], points
print("ok")
"#,
        port = server.address.port()
    );
    let output = Command::new(SYSTEM_PYTHON)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn large_answers_chunked_and_whole_over_https_read_slowly() {
    if !common::tool_available("curl", &["--version"]) {
        return;
    }
    let (server, certificate) = start_https(&[]);
    curl(
        &server,
        &certificate,
        &["--data-urlencode", "q=CREATE DATABASE big"],
        "/query",
    );
    let padding = "x".repeat(200);
    let points = 20_000;
    let mut body = String::new();
    for i in 0..points {
        body.push_str(&format!(
            "m,host=h{} s=\"{padding}{i}\",v={i}i {i}\n",
            i % 7
        ));
    }
    let file = server.dir.join("points.lp");
    std::fs::write(&file, body).unwrap();
    let at_file = format!("@{}", file.display());
    let (status, answer) = curl(
        &server,
        &certificate,
        &["--data-binary", &at_file],
        "/write?db=big",
    );
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&answer));
    let q = "q=SELECT s, v FROM m";
    // Whole: one JSON document of about 5 MB, taken at 4 MB/s.
    let (status, whole) = curl(
        &server,
        &certificate,
        &["-G", "--limit-rate", "4M", "--data-urlencode", q],
        "/query?db=big",
    );
    assert_eq!(status, 200);
    assert!(whole.len() > 4_000_000, "{}", whole.len());
    let json: serde_json::Value = serde_json::from_slice(&whole).unwrap();
    let rows = json["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(rows, points);
    // Chunked: one JSON document per 1,000 rows.
    let (status, chunked) = curl(
        &server,
        &certificate,
        &[
            "-G",
            "--limit-rate",
            "4M",
            "--data-urlencode",
            q,
            "--data-urlencode",
            "chunked=true",
        ],
        "/query?db=big",
    );
    assert_eq!(status, 200);
    let mut rows = 0;
    for document in serde_json::Deserializer::from_slice(&chunked).into_iter::<serde_json::Value>()
    {
        let document = document.unwrap();
        rows += document["results"][0]["series"][0]["values"]
            .as_array()
            .unwrap()
            .len();
    }
    assert_eq!(rows, points);
    // The connection still serves after both.
    let (status, _) = curl(&server, &certificate, &[], "/ping");
    assert_eq!(status, 204);
}

/// Reads until the server closes; the time it took, or `None` past `limit`.
fn time_until_closed(stream: &mut std::net::TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) if started.elapsed() < limit => return Some(started.elapsed()),
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

#[test]
fn unfinished_handshakes_are_closed_by_the_read_timeout() {
    let (server, _) = start_https(&[("SLUICE_HTTP_REQUEST_READ_TIMEOUT", "1s")]);
    // Silent after connecting; and the first bytes of a ClientHello, then nothing.
    let mut silent = common::connect(server.address);
    let mut partial = common::connect(server.address);
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    for stream in [&mut silent, &mut partial] {
        let waited = time_until_closed(stream, Duration::from_secs(10));
        assert!(waited.is_some(), "an unfinished handshake was kept open");
    }
}

/// Hundreds of truncated handshakes against a connection limit of 40: each sends the start
/// of a ClientHello record (its header declares 512 bytes) and then trickles a byte every
/// 300 ms, so none is ever silent. They are shed at the limit or cut by the minimum rate
/// (the handshake is bounded like a request), and a real HTTPS client (curl) is served.
#[test]
fn truncated_handshakes_cannot_hold_the_connections() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const LIMIT: usize = 40;
    const ATTACKERS: usize = 300;
    if !common::tool_available("curl", &["--version"]) {
        return;
    }
    let limit = LIMIT.to_string();
    let (server, certificate) = start_https(&[
        ("SLUICE_HTTP_MAX_CONNECTION_LIMIT", limit.as_str()),
        ("SLUICE_HTTP_REQUEST_MIN_RATE_GRACE", "2s"),
    ]);
    let mut attackers = Vec::new();
    for _ in 0..ATTACKERS {
        let mut socket = std::net::TcpStream::connect(server.address).unwrap();
        // A handshake record header (type 22, TLS 1.0, 512 bytes) and a ClientHello's first
        // bytes: the session waits for the rest of the record.
        let _ = socket.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]);
        attackers.push(socket);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let trickler = {
        let stop = Arc::clone(&stop);
        let mut sockets: Vec<std::net::TcpStream> =
            attackers.iter().map(|s| s.try_clone().unwrap()).collect();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for socket in &mut sockets {
                    let _ = socket.write_all(&[0x00]);
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    let started = Instant::now();
    let port = server.address.port();
    let served = loop {
        let output = Command::new("curl")
            .args(["-sS", "--max-time", "3", "--cacert"])
            .arg(&certificate)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("https://localhost:{port}/ping"))
            .output()
            .unwrap();
        if output.stdout == b"204" {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no HTTPS /ping was served among {ATTACKERS} truncated handshakes: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    eprintln!("curl was served after {served:?} among {ATTACKERS} truncated handshakes");
    let closed = attackers
        .iter_mut()
        .take(LIMIT)
        .filter_map(|socket| time_until_closed(socket, Duration::from_millis(200)))
        .count();
    stop.store(true, Ordering::Relaxed);
    trickler.join().unwrap();
    assert!(closed > 0, "no truncated handshake was closed");
}

#[test]
fn plain_http_to_the_https_port_is_answered_and_closed() {
    let (server, _) = start_https(&[]);
    let mut stream = common::connect(server.address);
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.0 400 Bad Request"), "{answer}");
    assert!(answer.contains("HTTPS server"), "{answer}");
}

/// `[admin] https-enabled`: the admin UI's port speaks TLS with its own certificate, while
/// the HTTP API stays plain (the page learns the API's scheme from `/config.json`).
#[test]
fn the_admin_ui_is_served_over_https() {
    if !common::tool_available("curl", &["--version"]) {
        return;
    }
    let dir = common::fresh_dir("admin-https-cert");
    let (certificate, key) = make_certificate(&dir);
    let certificate_text = certificate.display().to_string();
    let key_text = key.display().to_string();
    let server = Server::start_with(&[
        ("SLUICE_ADMIN_HTTPS_ENABLED", "true"),
        ("SLUICE_ADMIN_HTTPS_CERTIFICATE", certificate_text.as_str()),
        ("SLUICE_ADMIN_HTTPS_PRIVATE_KEY", key_text.as_str()),
    ]);
    let port = server.admin_address().port();
    let output = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&certificate)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .arg(format!("https://localhost:{port}/config.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("\"apiScheme\":\"http\""),
        "{text} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (status, _) = server.query("SHOW DATABASES");
    assert_eq!(status, 200, "the API stays plain HTTP");
}
