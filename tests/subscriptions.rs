//! Subscriptions against the real binary, with the destinations inside the test: a UDP
//! socket and a tiny HTTP listener on loopback. Points written through `/write` arrive at
//! both (line protocol, nanosecond timestamps; HTTP as `POST /write?db=&rp=`); DROP
//! SUBSCRIPTION stops the forwarding; a subscription survives a restart and `kill -9`; a
//! dead HTTP destination neither slows nor fails writes, and its failures and the batches
//! its full queue drops are counted in `/debug/vars`.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{request, Server};

const DEADLINE: Duration = Duration::from_secs(20);

/// Waits (polling) until `done` holds; fails the test after `DEADLINE`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A UDP destination: every datagram it got, as text.
struct UdpDestination {
    socket: UdpSocket,
    received: String,
}

impl UdpDestination {
    fn bind() -> UdpDestination {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        UdpDestination {
            socket,
            received: String::new(),
        }
    }

    fn url(&self) -> String {
        format!("udp://{}", self.socket.local_addr().unwrap())
    }

    /// Reads what has arrived within the read timeout.
    fn drain(&mut self) -> &str {
        let mut buffer = [0u8; 65_536];
        while let Ok(size) = self.socket.recv(&mut buffer) {
            self.received
                .push_str(&String::from_utf8_lossy(&buffer[..size]));
        }
        &self.received
    }

    fn wait_for(&mut self, line: &str) {
        let until = Instant::now() + DEADLINE;
        while !self.drain().lines().any(|l| l == line) {
            assert!(
                Instant::now() < until,
                "udp: {line:?} never arrived; got {:?}",
                self.received
            );
        }
    }
}

/// What an HTTP destination got: (request line, body) per request.
#[derive(Default)]
struct HttpLog {
    requests: Mutex<Vec<(String, String)>>,
    arrived: Condvar,
}

/// An HTTP destination answering every request 204, on its own thread.
fn http_destination() -> (String, Arc<HttpLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(HttpLog::default());
    let thread_log = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let mut content_length = 0usize;
            let mut authorization = String::new();
            let _ = reader.read_line(&mut request_line);
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
                if header.to_ascii_lowercase().starts_with("authorization:") {
                    authorization = header.trim_end().to_string();
                }
            }
            let mut body = vec![0u8; content_length];
            let _ = reader.read_exact(&mut body);
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            let mut requests = thread_log.requests.lock().unwrap();
            requests.push((
                format!("{} {authorization}", request_line.trim_end()),
                String::from_utf8_lossy(&body).into_owned(),
            ));
            thread_log.arrived.notify_all();
        }
    });
    (url, log)
}

impl HttpLog {
    fn wait_for(&self, line: &str) -> String {
        let until = Instant::now() + DEADLINE;
        let mut requests = self.requests.lock().unwrap();
        loop {
            if let Some((request_line, _)) = requests
                .iter()
                .find(|(_, body)| body.lines().any(|l| l == line))
            {
                return request_line.clone();
            }
            let now = Instant::now();
            assert!(
                now < until,
                "http: {line:?} never arrived; got {:?}",
                *requests
            );
            requests = self.arrived.wait_timeout(requests, until - now).unwrap().0;
        }
    }

    fn bodies(&self) -> String {
        let requests = self.requests.lock().unwrap();
        requests.iter().map(|(_, body)| body.as_str()).collect()
    }
}

/// One of the `subscriber` counters of `/debug/vars`.
fn subscriber_counter(server: &Server, name: &str) -> u64 {
    let vars = request(server.address, "GET", "/debug/vars", &[], b"").text();
    let section = vars
        .split("\"subscriber\":")
        .nth(1)
        .expect("subscriber in /debug/vars");
    let needle = format!("\"{name}\":");
    let value = section.split(&needle).nth(1).expect("counter");
    value
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn ok(server: &Server, q: &str) {
    let (status, body) = server.query(q);
    assert!(
        status == 200 && !body.contains("\"error\""),
        "{q}: {status} {body}"
    );
}

#[test]
fn writes_reach_udp_and_http_destinations_until_dropped() {
    let server = Server::start();
    let mut udp = UdpDestination::bind();
    let mut other_udp = UdpDestination::bind();
    let (http_url, http) = http_destination();
    ok(&server, "CREATE DATABASE subs");
    let (_, refused) = server.query(
        "CREATE SUBSCRIPTION bad ON subs.autogen DESTINATIONS ALL 'udp://127.0.0.1:1', 'ftp://x:1'",
    );
    assert!(
        refused.contains("\"error\":\"invalid subscription URL: ftp://x:1\""),
        "{refused}"
    );
    let http_url = http_url.replace("http://", "http://user:pass@");
    ok(
        &server,
        &format!(
            "CREATE SUBSCRIPTION both ON subs.autogen DESTINATIONS ALL '{}', '{http_url}'",
            udp.url()
        ),
    );
    ok(
        &server,
        &format!(
            "CREATE SUBSCRIPTION one ON subs.autogen DESTINATIONS ANY '{}'",
            other_udp.url()
        ),
    );
    let written = server.write(
        "db=subs&precision=s",
        "cpu,host=a value=1.5 1\ncpu,host=b count=2i,ok=true,text=\"x y\" 2\n",
    );
    assert_eq!(written.status, 204, "{}", written.text());
    let lines = [
        "cpu,host=a value=1.5 1000000000",
        "cpu,host=b count=2i,ok=true,text=\"x y\" 2000000000",
    ];
    for line in lines {
        udp.wait_for(line);
        other_udp.wait_for(line);
        assert_eq!(
            http.wait_for(line),
            "POST /write?db=subs&rp=autogen HTTP/1.1 Authorization: Basic dXNlcjpwYXNz"
        );
    }
    wait_until("6 points forwarded", || {
        subscriber_counter(&server, "pointsWritten") == 6
    });
    assert_eq!(subscriber_counter(&server, "writeFailures"), 0);

    ok(&server, "DROP SUBSCRIPTION both ON subs.autogen");
    let (_, shown) = server.query("SHOW SUBSCRIPTIONS");
    assert!(
        !shown.contains("\"both\"") && shown.contains("\"one\""),
        "{shown}"
    );
    assert_eq!(
        server.write("db=subs", "cpu,host=c value=3 3\n").status,
        204
    );
    other_udp.wait_for("cpu,host=c value=3 3");
    wait_until("the 7th point forwarded", || {
        subscriber_counter(&server, "pointsWritten") >= 7
    });
    assert_eq!(subscriber_counter(&server, "pointsWritten"), 7);
    assert!(!udp.drain().contains("host=c"), "{}", udp.received);
    assert!(!http.bodies().contains("host=c"), "{}", http.bodies());
    // A write to another retention policy or database is not forwarded.
    ok(
        &server,
        "CREATE RETENTION POLICY other ON subs DURATION INF REPLICATION 1",
    );
    assert_eq!(
        server
            .write("db=subs&rp=other", "cpu,host=d value=4 4\n")
            .status,
        204
    );
    assert_eq!(
        server.write("db=subs", "cpu,host=e value=5 5\n").status,
        204
    );
    other_udp.wait_for("cpu,host=e value=5 5");
    assert!(
        !other_udp.received.contains("host=d"),
        "{}",
        other_udp.received
    );
}

#[test]
fn subscriptions_survive_a_restart_and_kill_9() {
    let mut server = Server::start();
    let mut udp = UdpDestination::bind();
    ok(&server, "CREATE DATABASE kept");
    ok(
        &server,
        &format!(
            "CREATE SUBSCRIPTION s ON kept.autogen DESTINATIONS ALL '{}'",
            udp.url()
        ),
    );
    for (round, stop) in ["stop", "kill -9"].iter().enumerate() {
        if *stop == "stop" {
            server.stop();
        } else {
            server.kill9();
        }
        server.restart();
        let (_, shown) = server.query("SHOW SUBSCRIPTIONS");
        assert!(
            shown.contains(&format!("[\"autogen\",\"s\",\"ALL\",\"{}\"]", udp.url())),
            "after {stop}: {shown}"
        );
        let line = format!("m v={round} {round}");
        assert_eq!(server.write("db=kept", &line).status, 204);
        udp.wait_for(&line);
    }
}

#[test]
fn a_dead_http_destination_neither_slows_nor_fails_writes() {
    let server = Server::start_with(&[
        ("SLUICE_SUBSCRIBER_HTTP_TIMEOUT", "1s"),
        ("SLUICE_SUBSCRIBER_WRITE_BUFFER_SIZE", "2"),
        ("SLUICE_SUBSCRIBER_WRITE_CONCURRENCY", "1"),
    ]);
    // Accepts connections (the kernel's backlog) but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    // Refuses connections.
    let refused = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_url = format!("http://{}", refused.local_addr().unwrap());
    drop(refused);
    ok(&server, "CREATE DATABASE dead");
    ok(
        &server,
        &format!(
            "CREATE SUBSCRIPTION s ON dead.autogen DESTINATIONS ALL 'http://{}', '{refused_url}'",
            silent.local_addr().unwrap()
        ),
    );
    let writes = 50;
    let started = Instant::now();
    for index in 0..writes {
        let answer = server.write("db=dead", &format!("m v={index} {index}\n"));
        assert_eq!(answer.status, 204, "{}", answer.text());
    }
    let elapsed = started.elapsed();
    eprintln!("{writes} writes to a database with a dead subscription took {elapsed:?}");
    // Forwarding inline would cost the 1 s timeout per write.
    assert!(
        elapsed < Duration::from_secs(10),
        "{writes} writes took {elapsed:?}"
    );
    wait_until("failures and drops counted", || {
        subscriber_counter(&server, "writeFailures") >= 2
            && subscriber_counter(&server, "dropped") >= 1
    });
    let (_, body) = server.query("SELECT count(v) FROM dead..m");
    assert!(
        body.contains(&format!(",{writes}]]")),
        "every point stored: {body}"
    );
    drop(silent);
}
