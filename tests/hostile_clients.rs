//! Clients that try to hold the server's connections (issue 16): a trickle of bytes or a
//! crowd of idle connections must not lock a new client out.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;

/// Connections the tests fill the server with.
const LIMIT: usize = 40;

fn small_server(extra: &[(&str, &str)]) -> Server {
    let limit = LIMIT.to_string();
    let mut env = vec![
        ("SLUICE_HTTP_MAX_CONNECTION_LIMIT", limit.as_str()),
        ("SLUICE_HTTP_REQUEST_MIN_RATE_GRACE", "2s"),
    ];
    env.extend_from_slice(extra);
    Server::start_with(&env)
}

/// One `/ping` on a fresh connection; whether it was answered 204.
fn ping_once(server: &Server) -> bool {
    let Ok(mut socket) = TcpStream::connect(server.address) else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
    if socket
        .write_all(b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    socket.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 204")
}

/// A fresh client's `/ping`, retried until `deadline`; the time it took.
fn ping_within(server: &Server, deadline: Duration) -> Duration {
    let started = Instant::now();
    while !ping_once(server) {
        assert!(
            started.elapsed() < deadline,
            "a new client got no /ping answer for {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// `/debug/vars` on a fresh connection, retried (a connection at the limit may be refused
/// until a quiet one is shed) until `deadline`.
fn vars_within(server: &Server, deadline: Duration) -> String {
    let started = Instant::now();
    loop {
        if let Ok(mut socket) = TcpStream::connect(server.address) {
            let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
            let request = b"GET /debug/vars HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
            if socket.write_all(request).is_ok() {
                let mut answer = String::new();
                if socket.read_to_string(&mut answer).is_ok() && answer.starts_with("HTTP/1.1 200")
                {
                    return answer;
                }
            }
        }
        assert!(started.elapsed() < deadline, "/debug/vars never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the server closed `socket` (an answer before the close is read and dropped).
fn is_closed(socket: &mut TcpStream) -> bool {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buffer = [0u8; 512];
    loop {
        match socket.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Slowloris: every slot holds a request that trickles a byte every 300 ms, so none is
/// ever silent long enough for request-read-timeout. They must be cut once they fall below
/// the minimum rate, and a new client served.
#[test]
fn a_trickle_of_bytes_cannot_hold_the_connections() {
    let server = small_server(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let mut sockets = Vec::new();
    for _ in 0..LIMIT {
        let mut socket = TcpStream::connect(server.address).unwrap();
        socket
            .write_all(b"POST /write?db=x HTTP/1.1\r\nHost: t\r\n")
            .unwrap();
        sockets.push(socket);
    }
    let trickler = {
        let stop = Arc::clone(&stop);
        let mut sockets: Vec<TcpStream> = sockets.iter().map(|s| s.try_clone().unwrap()).collect();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for socket in &mut sockets {
                    let _ = socket.write_all(b"X");
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    let waited = ping_within(&server, Duration::from_secs(15));
    eprintln!("a new client was served after {waited:?}");
    let closed = sockets
        .iter_mut()
        .map(is_closed)
        .filter(|closed| *closed)
        .count();
    stop.store(true, Ordering::Relaxed);
    trickler.join().unwrap();
    assert!(closed > 0, "no trickling connection was closed");
}

/// Idle connections that never send a byte fill every slot: at the limit the quietest is
/// shed for a new client instead of the new client being refused.
#[test]
fn idle_connections_at_the_limit_make_room_for_a_new_client() {
    let server = small_server(&[("SLUICE_HTTP_REQUEST_MIN_RATE", "0")]);
    let mut idle: Vec<TcpStream> = (0..LIMIT)
        .map(|_| TcpStream::connect(server.address).unwrap())
        .collect();
    // The server accepts in the background: a ping can slip in before the last idle ones
    // are accepted and find room without a shed. Then one more idle connection is opened,
    // until the limit is reached and a shed is what made room.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waited = ping_within(&server, Duration::from_secs(10));
        eprintln!("a new client was served after {waited:?}");
        let vars = vars_within(&server, Duration::from_secs(10));
        if !vars.contains("\"connectionsShed\":0") {
            break;
        }
        assert!(Instant::now() < deadline, "never at the limit: {vars}");
        idle.push(TcpStream::connect(server.address).unwrap());
    }
    let shed = idle
        .iter_mut()
        .map(is_closed)
        .filter(|closed| *closed)
        .count();
    assert!(shed >= 1, "no idle connection was shed");
}

/// Heads as large as InfluxDB 1.6.7 (Go) takes, 1 MiB + 4096 bytes, are served; one byte
/// more gets Go's plain 431; and 100 connections each holding an almost-full head cost at
/// most `HTTP_MAX_HEAD_BYTES + NET_READ_BUFFER_MAX_BYTES` each (about 1.1 MiB: 110 MiB for
/// the 100) over the idle server, plus 32 MiB of slack for the allocator.
#[test]
fn heads_up_to_go_limit_are_served_and_cost_at_most_the_bound() {
    use sluice::limits::{HTTP_MAX_HEAD_BYTES, NET_READ_BUFFER_MAX_BYTES};
    const HOLDERS: usize = 100;
    const SLACK_BYTES: u64 = 32 << 20;
    let server = Server::start();
    let exchange = |bytes: &[u8]| -> Vec<u8> {
        let mut socket = TcpStream::connect(server.address).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        socket.write_all(bytes).unwrap();
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(count) = socket.read(&mut buffer) {
            if count == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..count]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.starts_with(b"HTTP/1.1 204") {
                break;
            }
        }
        answer
    };
    let head_of = |length: usize| -> Vec<u8> {
        let (start, end) = (&b"GET /ping?x="[..], &b" HTTP/1.1\r\nHost: t\r\n\r\n"[..]);
        let mut head = start.to_vec();
        head.resize(length - end.len(), b'a');
        head.extend_from_slice(end);
        head
    };
    let served = exchange(&head_of(900_000));
    assert!(
        served.starts_with(b"HTTP/1.1 204"),
        "900 KB URL: {:?}",
        String::from_utf8_lossy(&served)
    );
    let served = exchange(&head_of(HTTP_MAX_HEAD_BYTES));
    assert!(served.starts_with(b"HTTP/1.1 204"), "head at the limit");
    let refused = exchange(&head_of(HTTP_MAX_HEAD_BYTES + 1));
    assert_eq!(
        String::from_utf8_lossy(&refused),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; \
         charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"
    );

    let baseline = server.memory_figure("VmRSS").unwrap();
    let almost_full = head_of(HTTP_MAX_HEAD_BYTES - 100);
    let almost_full = &almost_full[..almost_full.len() - 200]; // no blank line yet
    let mut holders = Vec::new();
    for _ in 0..HOLDERS {
        let mut socket = TcpStream::connect(server.address).unwrap();
        socket.write_all(almost_full).unwrap();
        holders.push(socket);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let held = server.memory_figure("VmRSS").unwrap();
    let bound = (HOLDERS * (HTTP_MAX_HEAD_BYTES + NET_READ_BUFFER_MAX_BYTES)) as u64 + SLACK_BYTES;
    eprintln!(
        "RSS {} MiB idle, {} MiB with {HOLDERS} almost-full heads (bound: +{} MiB)",
        baseline >> 20,
        held >> 20,
        bound >> 20
    );
    assert!(
        held.saturating_sub(baseline) <= bound,
        "RSS grew by {} bytes",
        held - baseline
    );
    // The server still answers while they hold their heads.
    ping_within(&server, Duration::from_secs(2));
    drop(holders);
}
