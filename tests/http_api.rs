//! The HTTP API end to end: the real binary on an ephemeral port, raw HTTP/1.1.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use common::{connect, read_response, request, Server};

fn assert_identity_headers(response: &common::Response) {
    let id = response.header("Request-Id").expect("Request-Id");
    assert_eq!(response.header("X-Request-Id"), Some(id));
    assert_eq!(response.header("X-Influxdb-Version"), Some("1.6.7"));
    assert_eq!(response.header("X-Influxdb-Build"), Some("OSS"));
    assert!(response.header("Date").is_some_and(|d| d.ends_with(" GMT")));
}

#[test]
fn ping_get_and_head() {
    let server = Server::start();
    for method in ["GET", "HEAD"] {
        let response = request(server.address, method, "/ping", &[], b"");
        assert_eq!(response.status, 204, "{method}");
        assert!(response.body.is_empty());
        assert_eq!(response.header("Content-Type"), Some("application/json"));
        assert_identity_headers(&response);
        let id = response.header("Request-Id").expect("id");
        // A time-based UUID: version nibble 1.
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "1", "{id}");
    }
    let echoed = request(
        server.address,
        "GET",
        "/ping",
        &[("X-Request-Id", "abc-123")],
        b"",
    );
    assert_eq!(echoed.header("Request-Id"), Some("abc-123"));
    assert_eq!(echoed.header("X-Request-Id"), Some("abc-123"));
    let verbose = request(server.address, "GET", "/ping?verbose=true", &[], b"");
    assert_eq!(verbose.status, 200);
    assert_eq!(verbose.text(), "{\"version\":\"1.6.7\"}\n");
    let leader = request(server.address, "GET", "/ping?wait_for_leader=5s", &[], b"");
    assert_eq!(leader.status, 204);
    let bad_leader = request(
        server.address,
        "GET",
        "/ping?wait_for_leader=soon",
        &[],
        b"",
    );
    assert_eq!(bad_leader.status, 400);
    assert!(bad_leader.header("X-Influxdb-Error").is_some());
    assert_identity_headers(&bad_leader);
    let post = request(server.address, "POST", "/ping", &[], b"");
    assert_eq!(post.status, 405);
}

#[test]
fn write_status_codes_and_error_headers() {
    let server = Server::start();
    assert_eq!(server.query("CREATE DATABASE db").0, 200);
    let missing_db = server.write("", "m v=1");
    assert_eq!(missing_db.status, 400);
    assert_eq!(missing_db.text(), "{\"error\":\"database is required\"}\n");
    assert_eq!(
        missing_db.header("X-Influxdb-Error"),
        Some("database is required")
    );
    assert_identity_headers(&missing_db);
    let unknown = server.write("db=nope", "m v=1");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.text(),
        "{\"error\":\"database not found: \\\"nope\\\"\"}\n"
    );
    let ok = server.write("db=db", "m v=1 1");
    assert_eq!(ok.status, 204);
    assert_identity_headers(&ok);
    let bad = server.write("db=db", "m v=1 2\nm v= 3\nm v=4 4");
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.header("X-Influxdb-Error"),
        Some("partial write: unable to parse 'm v= 3': missing field value dropped=0")
    );
    assert_eq!(
        bad.header("X-Sluice-Bad-Lines"),
        Some("2"),
        "numbers of the bad lines"
    );
    let conflict = server.write("db=db", "m v=1i 5\nm w=1 5");
    assert_eq!(conflict.status, 400);
    assert_eq!(conflict.header("X-Influxdb-Error"), Some("partial write: field type conflict: input field \"v\" on measurement \"m\" is type integer, already exists as type float dropped=1"));
    let export = server.export(Some("db"));
    for expected in ["m v=1 1", "m v=1 2", "m v=4 4", "m w=1 5"] {
        assert!(
            export.lines().any(|l| l == expected),
            "{expected} missing from:\n{export}"
        );
    }
    assert!(!export.contains("v=1i"), "{export}");
}

#[test]
fn every_value_type_and_escape_is_stored() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    let body = concat!(
        "wea\\ ther,lo\\,c=a\\ b\\=c f=1.5,i=-7i,u=7u,b=t,B=FALSE,s=\"q\\\"b\\\\s\" 10\n",
        "# a comment\n",
        "\n",
        "cpu,z=1,a=2 v=1e3 20\r\n",
        "cpu,a=2,z=1 v=2 30\n",
        "strings s=\"multi\nline\",e=\"\" 40\n",
    );
    let response = server.write("db=db", body);
    assert_eq!(response.status, 204, "{}", response.text());
    let export = server.export(Some("db"));
    let lines: Vec<&str> = export
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("CREATE"))
        .collect();
    assert!(
        lines.contains(
            &"wea\\ ther,lo\\,c=a\\ b\\=c B=false,b=true,f=1.5,i=-7i,s=\"q\\\"b\\\\s\",u=7u 10"
        ),
        "{lines:?}"
    );
    assert!(lines.contains(&"cpu,a=2,z=1 v=1000 20"), "{lines:?}");
    assert!(lines.contains(&"cpu,a=2,z=1 v=2 30"), "{lines:?}");
    assert!(
        export.contains("strings e=\"\",s=\"multi\nline\" 40"),
        "{export}"
    );
}

#[test]
fn precision_scales_and_missing_timestamps_get_server_time() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    for (precision, expected) in [
        ("s", "1000000000"),
        ("ms", "1000000"),
        ("u", "1000"),
        ("n", "1"),
        ("m", "60000000000"),
        ("h", "3600000000000"),
    ] {
        let response = server.write(
            &format!("db=db&precision={precision}"),
            &format!("p_{precision} v=1 1"),
        );
        assert_eq!(response.status, 204, "{precision}");
        let export = server.export(Some("db"));
        assert!(
            export.contains(&format!("p_{precision} v=1 {expected}\n")),
            "{precision}: {export}"
        );
    }
    let before = sluice::time::now_ns();
    assert_eq!(
        server.write("db=db&precision=s", "now v=1\nnow v=2").status,
        204
    );
    let after = sluice::time::now_ns();
    let export = server.export(Some("db"));
    let now_lines: Vec<&str> = export.lines().filter(|l| l.starts_with("now ")).collect();
    // One request, one server time: the second point overwrites the first.
    assert_eq!(now_lines.len(), 1, "{export}");
    assert!(now_lines[0].starts_with("now v=2 "), "{export}");
    let times: Vec<i64> = now_lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(times[0] % 1_000_000_000, 0, "truncated to the precision");
    assert!(times[0] >= before - 1_000_000_000 && times[0] <= after);
}

#[test]
fn keep_alive_and_pipelining_answer_in_order() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    let mut stream = connect(server.address);
    let mut batch = Vec::new();
    for i in 0..20 {
        let body = format!("pipe v={i} {i}");
        batch.extend_from_slice(format!("POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nX-Request-Id: req-{i}\r\n\r\n{body}", body.len()).as_bytes());
        batch.extend_from_slice(
            format!("GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-Id: ping-{i}\r\n\r\n").as_bytes(),
        );
    }
    stream.write_all(&batch).expect("send pipelined");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    for i in 0..20 {
        let write = read_response(&mut reader, false).expect("write answer");
        assert_eq!(
            (write.status, write.header("Request-Id")),
            (204, Some(format!("req-{i}").as_str()))
        );
        let ping = read_response(&mut reader, false).expect("ping answer");
        assert_eq!(
            (ping.status, ping.header("Request-Id")),
            (204, Some(format!("ping-{i}").as_str()))
        );
    }
    // The same connection keeps serving.
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    assert_eq!(
        read_response(&mut reader, false).expect("answer").status,
        204
    );
    assert_eq!(
        server
            .export(Some("db"))
            .lines()
            .filter(|l| l.starts_with("pipe "))
            .count(),
        20
    );
}

/// A server whose database `db` holds `big`: 20,000 rows each carrying the returned filler
/// string, so `SELECT * FROM big` answers ~4 MB, more than a loopback socket takes at once.
fn server_with_big_answer() -> (Server, String) {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    let filler = "x".repeat(200);
    let lines: Vec<String> = (0..20_000)
        .map(|i| format!("big s=\"{filler}\",v={i}i {i}"))
        .collect();
    assert_eq!(server.write("db=db", &lines.join("\n")).status, 204);
    (server, filler)
}

/// Query answers are written by the query thread when the connection has nothing else
/// pending, else by the event loop; either way they leave in request order, a large answer
/// that overflows the socket is completed by the loop, and `Connection: close` is honoured.
#[test]
fn pipelined_queries_answer_in_order_whoever_writes_them() {
    let (server, filler) = server_with_big_answer();
    let mut stream = connect(server.address);
    let mut batch = Vec::new();
    for i in 0..10 {
        let target = if i == 4 {
            "/query?db=db&q=SELECT+*+FROM+big"
        } else {
            "/query?db=db&q=SHOW+DATABASES"
        };
        batch.extend_from_slice(
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nX-Request-Id: q-{i}\r\n\r\n").as_bytes(),
        );
        batch.extend_from_slice(
            format!("GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-Id: p-{i}\r\n\r\n").as_bytes(),
        );
    }
    batch.extend_from_slice(
        b"GET /query?q=SHOW+DATABASES HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    stream.write_all(&batch).expect("send pipelined");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    for i in 0..10 {
        let query = read_response(&mut reader, false).expect("query answer");
        assert_eq!(
            (query.status, query.header("Request-Id")),
            (200, Some(format!("q-{i}").as_str()))
        );
        if i == 4 {
            assert!(query.body.len() > 4_000_000, "{}", query.body.len());
            assert_eq!(query.text().matches(&filler).count(), 20_000);
        } else {
            assert!(query.text().contains("[[\"db\"]]"), "{}", query.text());
        }
        let ping = read_response(&mut reader, false).expect("ping answer");
        assert_eq!(
            (ping.status, ping.header("Request-Id")),
            (204, Some(format!("p-{i}").as_str()))
        );
    }
    let last = read_response(&mut reader, false).expect("last answer");
    assert_eq!(last.status, 200);
    assert_eq!(last.header("Connection"), Some("close"));
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .expect("closed after the answer");
    assert!(rest.is_empty());
}

/// `chunked=true` answers are streamed: HTTP chunked transfer encoding, one JSON object per
/// HTTP chunk, pipelined requests answered after them in order; a ~4 MB answer (more than
/// the socket holds, so the query thread waits for the client) arrives whole; a client that
/// leaves mid-stream costs the server nothing.
#[test]
fn chunked_query_answers_stream_one_json_object_per_http_chunk() {
    let (server, filler) = server_with_big_answer();
    let chunked_select =
        "/query?db=db&chunked=true&chunk_size=1000&q=SHOW+DATABASES%3BSELECT+*+FROM+big";

    let mut stream = connect(server.address);
    let pipelined = format!(
        "GET {chunked_select} HTTP/1.1\r\nHost: x\r\nX-Request-Id: streamed\r\n\r\n\
         GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-Id: after\r\n\r\n"
    );
    stream.write_all(pipelined.as_bytes()).expect("send");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    // The head, read by hand to see the framing.
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("head line");
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    assert!(!head.contains("Content-Length"), "{head}");
    assert!(head.contains("Request-Id: streamed\r\n"), "{head}");
    let mut objects = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).expect("chunk size");
        let size = usize::from_str_radix(size_line.trim_end(), 16).expect("hex size");
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).expect("chunk");
        assert!(chunk.ends_with(b"\r\n"));
        if size == 0 {
            break;
        }
        chunk.truncate(size);
        let text = String::from_utf8(chunk).expect("utf-8");
        assert_eq!(
            text.matches('\n').count(),
            1,
            "one JSON object per HTTP chunk"
        );
        objects.push(text);
    }
    assert_eq!(
        objects.len(),
        1 + 20,
        "SHOW DATABASES, then 20 chunks of 1000 rows"
    );
    assert!(objects[0].contains("[[\"db\"]]"), "{}", objects[0]);
    let rows: usize = objects[1..]
        .iter()
        .map(|object| object.matches(&filler).count())
        .sum();
    assert_eq!(rows, 20_000);
    assert!(objects[1].contains("\"partial\":true"));
    assert!(!objects[20].contains("\"partial\""), "{}", objects[20]);
    let ping = read_response(&mut reader, false).expect("ping after the stream");
    assert_eq!(
        (ping.status, ping.header("Request-Id")),
        (204, Some("after"))
    );

    // A client that reads a little of a streamed answer and leaves.
    let mut leaver = connect(server.address);
    leaver
        .write_all(format!("GET {chunked_select} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("send");
    let mut first = [0u8; 64];
    leaver.read_exact(&mut first).expect("the stream starts");
    drop(leaver);
    // The server goes on answering, streamed answers included.
    let again = request(server.address, "GET", chunked_select, &[], b"");
    assert_eq!(again.status, 200);
    assert_eq!(again.text().matches(&filler).count(), 20_000);
}

#[test]
fn chunked_gzip_and_expect_continue_bodies() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    // Chunked request body split mid-line.
    let mut stream = connect(server.address);
    stream
        .write_all(b"POST /write?db=db HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nchunk\r\n9\r\ned v=1 1\n\r\n0\r\n\r\n")
        .expect("send chunked");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    assert_eq!(
        read_response(&mut reader, false).expect("answer").status,
        204
    );
    // gzip body.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(b"zipped v=1 1\nzipped v=2 2\n")
        .expect("gzip");
    let gzipped = encoder.finish().expect("gzip");
    let response = request(
        server.address,
        "POST",
        "/write?db=db",
        &[("Content-Encoding", "gzip")],
        &gzipped,
    );
    assert_eq!(response.status, 204, "{}", response.text());
    let corrupt = request(
        server.address,
        "POST",
        "/write?db=db",
        &[("Content-Encoding", "gzip")],
        b"\x1f\x8b\x08\x00garbage",
    );
    assert_eq!(corrupt.status, 400);
    // Expect: 100-continue: the server asks for the body before it is sent.
    let body: String = (1..=100).map(|t| format!("continued v=1 {t}\n")).collect();
    let mut stream = connect(server.address);
    stream
        .write_all(format!("POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n", body.len()).as_bytes())
        .expect("send head");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let interim = read_response(&mut reader, false).expect("interim");
    assert_eq!(interim.status, 100);
    stream.write_all(body.as_bytes()).expect("send body");
    assert_eq!(
        read_response(&mut reader, false).expect("final").status,
        204
    );
    let export = server.export(Some("db"));
    assert!(export.contains("chunked v=1 1\n"), "{export}");
    assert!(export.contains("zipped v=2 2\n"), "{export}");
    for t in 1..=100 {
        assert!(
            export.contains(&format!("continued v=1 {t}\n")),
            "{t}: {export}"
        );
    }
}

#[test]
fn oversized_bodies_get_413_and_nothing_is_written() {
    let server = Server::start_with(&[("SLUICE_HTTP_MAX_BODY_SIZE", "1000")]);
    server.query("CREATE DATABASE db");
    let body = "big v=1 1\n".repeat(200);
    let response = request(server.address, "POST", "/write?db=db", &[], body.as_bytes());
    assert_eq!(response.status, 413);
    assert_eq!(
        response.text(),
        "{\"error\":\"Request Entity Too Large\"}\n"
    );
    assert!(!server.export(Some("db")).contains("big "));
    // The server is fine afterwards.
    assert_eq!(server.write("db=db", "small v=1 1").status, 204);
}

/// A body declared far over the limit is refused before it is read; the client, still
/// sending it, must be able to finish and then read the 413 (no broken pipe, no reset).
#[test]
fn refused_large_body_can_be_sent_whole_and_the_413_read() {
    let server = Server::start_with(&[("SLUICE_HTTP_MAX_BODY_SIZE", "1048576")]);
    server.query("CREATE DATABASE db");
    // Far more than loopback socket buffers hold, so the server must read it to let it pass.
    let body = "big v=1 1\n".repeat(800 * 1024);
    let mut stream = connect(server.address);
    let head = format!(
        "POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send head");
    stream
        .write_all(body.as_bytes())
        .expect("the server drains a refused body instead of resetting");
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader, false).expect("the 413 arrives");
    assert_eq!(response.status, 413);
    assert_eq!(response.header("Connection"), Some("close"));
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    assert!(rest.is_empty(), "nothing follows the 413");
    assert!(!server.export(Some("db")).contains("big "));
    assert_eq!(server.write("db=db", "small v=1 1").status, 204);
}

#[test]
fn unknown_paths_methods_and_options() {
    let server = Server::start();
    let missing = request(server.address, "GET", "/nope", &[], b"");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text(), "404 page not found\n");
    assert!(missing.header("Request-Id").is_none());
    let get_write = request(server.address, "GET", "/write?db=x", &[], b"");
    assert_eq!(get_write.status, 405);
    let options = request(server.address, "OPTIONS", "/write", &[], b"");
    assert_eq!(options.status, 200);
    assert_eq!(options.header("Content-Length"), Some("0"));
    let vars = request(server.address, "GET", "/debug/vars", &[], b"");
    assert_eq!(vars.status, 200);
    assert!(vars.text().contains("\"partitions\""));
}

#[test]
fn malformed_requests_get_400_and_the_server_survives() {
    let server = Server::start();
    for junk in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ] {
        let mut stream = connect(server.address);
        stream.write_all(junk).expect("send junk");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    assert_eq!(
        request(server.address, "GET", "/ping", &[], b"").status,
        204
    );
}

#[test]
fn connection_limit_refuses_extra_connections() {
    let server = Server::start_with(&[("SLUICE_HTTP_MAX_CONNECTION_LIMIT", "3")]);
    let held: Vec<_> = (0..3).map(|_| connect(server.address)).collect();
    // Make sure the three are accepted before the fourth arrives.
    for stream in &held {
        let mut s = stream.try_clone().expect("clone");
        s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        assert_eq!(
            read_response(&mut BufReader::new(s), false)
                .expect("answer")
                .status,
            204
        );
    }
    let mut extra = connect(server.address);
    let _ = extra.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = extra.read_to_end(&mut answer);
    assert!(
        answer.is_empty(),
        "a connection over the limit is closed unanswered"
    );
    drop(held);
    // Slots free up once the held connections close.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = connect(server.address);
        let _ = stream.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        if answer.starts_with(b"HTTP/1.1 204") {
            break;
        }
        assert!(Instant::now() < deadline, "connection slots never freed");
    }
}

#[test]
fn idle_connections_are_closed_after_the_timeout() {
    let server = Server::start_with(&[("SLUICE_HTTP_IDLE_TIMEOUT", "300ms")]);
    let mut stream = connect(server.address);
    let started = Instant::now();
    let mut buffer = [0u8; 16];
    let read = stream.read(&mut buffer).expect("read until close");
    assert_eq!(read, 0, "server closes an idle connection");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let mut server = Server::start_with(&[
        ("SLUICE_DATA_WAL_FSYNC_DELAY", "300ms"),
        ("SLUICE_HTTP_LOG_ENABLED", "true"),
    ]);
    server.query("CREATE DATABASE db");
    // A write that waits ~300 ms for its group commit is in flight when SIGTERM arrives.
    let mut stream = connect(server.address);
    stream
        .write_all(
            b"POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\nlate v=1 1234",
        )
        .expect("send");
    let logged = server.wait_for_log("target=\"/write?db=db\"", Duration::from_secs(30));
    assert!(logged.is_some(), "write request never arrived");
    let code = {
        let handle = std::thread::spawn({
            let stream = stream.try_clone().expect("clone");
            move || read_response(&mut BufReader::new(stream), false)
        });
        let code = server.stop();
        let answer = handle.join().expect("reader").expect("answer before exit");
        assert_eq!(answer.status, 204);
        assert_eq!(answer.header("Connection"), Some("close"));
        code
    };
    assert_eq!(code, Some(0));
    assert!(server.log_text().contains("stopped cleanly"));
    assert!(common::export_dir(&server.dir, Some("db")).contains("late v=1 1234\n"));
}

#[test]
fn config_and_version_commands() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("config")
        .env("SLUICE_HTTP_BIND_ADDRESS", ":9999")
        .output()
        .expect("run");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf8");
    for key in [
        "[meta]",
        "[data]",
        "[http]",
        "wal-fsync-delay",
        "max-body-size = 25000000",
        "bind-address = \":9999\"",
    ] {
        assert!(text.contains(key), "{key} missing:\n{text}");
    }
    let version = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("version")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("Sluice v"));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .env("SLUICE_HTTP_MAX_BODY_SIZE", "lots")
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("SLUICE_HTTP_MAX_BODY_SIZE"));
}

#[test]
fn full_ingest_queues_push_back_then_answer_503() {
    // One loop, one partition, a queue of one record, group commits of at most 4 records on
    // a disk that takes 2 s per commit: the first records are being committed, one waits in
    // the queue, the rest cannot be queued and get 503 after 300 ms.
    let server = Server::start_with(&[
        ("SLUICE_HTTP_WORKERS", "1"),
        ("SLUICE_DATA_WAL_PARTITIONS", "1"),
        ("SLUICE_DATA_INGEST_QUEUE_DEPTH", "1"),
        ("SLUICE_DATA_WAL_GROUP_MAX_RECORDS", "4"),
        ("SLUICE_DATA_DEBUG_WAL_COMMIT_DELAY", "2s"),
        ("SLUICE_HTTP_ENQUEUED_WRITE_TIMEOUT", "300ms"),
    ]);
    server.query("CREATE DATABASE db");
    let requests = 40;
    let mut streams = Vec::new();
    for i in 0..requests {
        let mut stream = connect(server.address);
        let body = format!("q v={i} {i}");
        let head = format!(
            "POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("send");
        stream.write_all(body.as_bytes()).expect("send");
        streams.push((i, stream));
    }
    let mut accepted = Vec::new();
    let mut refused = 0;
    for (i, stream) in streams {
        let response = read_response(&mut BufReader::new(stream), false).expect("answer");
        match response.status {
            204 => accepted.push(i),
            503 => {
                refused += 1;
                assert!(
                    response.text().contains("write queue full"),
                    "{}",
                    response.text()
                );
            }
            other => panic!("unexpected status {other}: {}", response.text()),
        }
    }
    assert!(refused > 0, "no request was refused");
    assert!(!accepted.is_empty(), "no request was accepted");
    // Exactly the acknowledged points are stored: a refused request queued nothing.
    let export = server.export(Some("db"));
    let stored = export.lines().filter(|l| l.starts_with("q ")).count();
    assert_eq!(stored, accepted.len(), "{export}");
    assert!(server.query("SHOW DATABASES").0 == 200);
}

#[test]
fn a_request_that_stalls_is_cut_off() {
    let server = Server::start_with(&[("SLUICE_HTTP_REQUEST_READ_TIMEOUT", "300ms")]);
    let mut stream = connect(server.address);
    stream
        .write_all(b"POST /write?db=x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nm v=")
        .expect("send");
    let started = Instant::now();
    let mut buffer = Vec::new();
    let _ = stream.read_to_end(&mut buffer);
    assert!(buffer.is_empty(), "{:?}", String::from_utf8_lossy(&buffer));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        request(server.address, "GET", "/ping", &[], b"").status,
        204
    );
}

/// Pieces of 4 KiB, bodies of at most 100 KB, inflated bodies of at most 2 MB: every gzip
/// write below is a large write of many pieces.
fn large_write_server() -> Server {
    Server::start_with(&[
        ("SLUICE_HTTP_WRITE_PIECE_SIZE", "4096"),
        ("SLUICE_HTTP_MAX_BODY_SIZE", "100000"),
        ("SLUICE_HTTP_MAX_INFLATED_BODY_SIZE", "2000000"),
    ])
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).expect("gzip");
    encoder.finish().expect("gzip")
}

fn write_gzip(server: &Server, db: &str, body: &[u8]) -> common::Response {
    request(
        server.address,
        "POST",
        &format!("/write?db={db}"),
        &[("Content-Encoding", "gzip")],
        &gzip(body),
    )
}

/// `SELECT count(<field>) FROM <measurement>` in `db`; 0 when there is nothing.
fn count(server: &Server, db: &str, field: &str, measurement: &str) -> u64 {
    let (status, text) = server.query(&format!("SELECT count({field}) FROM {db}..{measurement}"));
    assert_eq!(status, 200, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["results"][0]["series"][0]["values"][0][1]
        .as_u64()
        .unwrap_or(0)
}

/// Lines of `m` (series h0..h6, field v, times 1..), with the given lines replaced.
fn numbered_lines(count: usize, replaced: &[(usize, String)]) -> String {
    (1..=count)
        .map(|n| match replaced.iter().find(|(at, _)| *at == n) {
            Some((_, line)) => format!("{line}\n"),
            None => format!("m,host=h{} v={n} {n}\n", n % 7),
        })
        .collect()
}

/// A gzip body inflating past write-piece-size is planned piece by piece, and answered as
/// the same body sent as is (planned whole): the first bad line, the other bad lines within
/// the text bound, the drop counts and reasons, the bad line numbers, whatever piece each is
/// in; a line longer than a piece is carried whole.
#[test]
fn a_large_gzip_write_is_answered_as_its_whole_body() {
    let server = large_write_server();
    let long_string = "x".repeat(20_000);
    let parse_errors = numbered_lines(
        2_000,
        &[
            (10, "bad line one".into()),
            (900, "m,host=h1 v=1,s=\"multi\nline\" 900".into()),
            (1_500, format!("m,host=long v=1,s=\"{long_string}\" 1500")),
            (1_700, "bad line two".into()),
        ],
    );
    let drops = numbered_lines(
        2_000,
        &[
            (5, "bad line".into()),
            (1_200, "m,time=x v=1 1200".into()),
            (1_900, "m,host=h1 time=1i 1900".into()),
        ],
    );
    for (name, body) in [("errors", &parse_errors), ("drops", &drops)] {
        let plain_db = format!("plain_{name}");
        let gzip_db = format!("gzip_{name}");
        server.query(&format!("CREATE DATABASE {plain_db}"));
        server.query(&format!("CREATE DATABASE {gzip_db}"));
        let plain = server.write(&format!("db={plain_db}"), body);
        let zipped = write_gzip(&server, &gzip_db, body.as_bytes());
        assert_eq!(plain.status, 400, "{}", plain.text());
        assert_eq!(zipped.status, plain.status, "{name}");
        assert_eq!(zipped.text(), plain.text(), "{name}");
        assert_eq!(
            zipped.header("X-Sluice-Bad-Lines"),
            plain.header("X-Sluice-Bad-Lines"),
            "{name}"
        );
        assert_eq!(
            count(&server, &gzip_db, "v", "m"),
            count(&server, &plain_db, "v", "m"),
            "{name}"
        );
    }
    let again = write_gzip(&server, "gzip_errors", parse_errors.as_bytes());
    let text = again.text();
    assert!(
        text.starts_with("{\"error\":\"partial write: unable to parse 'bad line one'"),
        "{text}"
    );
    // The quoted newline of line 900 makes "bad line two" line 1,701 of the body.
    assert_eq!(again.header("X-Sluice-Bad-Lines"), Some("10,1701"));
}

/// What a large gzip write answers when a piece after the first fails (the README's
/// "Large writes"): a gzip failure or an inflated body past the bound is found before any
/// piece is written; a field given two types inside one piece refuses that piece and ends
/// the write, the pieces before it written; across pieces the first fixes the type; a line
/// longer than max-body-size once inflated ends the write with 413.
#[test]
fn a_failing_piece_ends_a_large_gzip_write_after_the_pieces_before_it() {
    let server = large_write_server();
    for db in ["crc", "bomb", "inside", "across", "long"] {
        server.query(&format!("CREATE DATABASE {db}"));
    }
    let body = numbered_lines(3_000, &[]);
    // A bad checksum in the trailer: nothing of the body is written.
    let mut corrupt = gzip(body.as_bytes());
    let crc_at = corrupt.len() - 6;
    corrupt[crc_at] ^= 0xff;
    let response = request(
        server.address,
        "POST",
        "/write?db=crc",
        &[("Content-Encoding", "gzip")],
        &corrupt,
    );
    assert_eq!(response.status, 400);
    assert_eq!(response.text(), "{\"error\":\"gzip: invalid checksum\"}\n");
    assert_eq!(count(&server, "crc", "v", "m"), 0);
    // Past max-inflated-body-size (2 MB; 30 KB on the wire): 413, nothing written.
    let bomb = "m,host=h1 v=1 1\n".repeat(200_000);
    let response = write_gzip(&server, "bomb", bomb.as_bytes());
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(
        response.text(),
        "{\"error\":\"Request Entity Too Large: body is larger than max-inflated-body-size after \
         gzip decoding\"}\n"
    );
    assert_eq!(count(&server, "bomb", "v", "m"), 0);
    // A new field given two types within a late piece: 1.6.7's refusal text; the pieces
    // before that one are written, nothing from it on.
    let conflict_at = 2_500;
    let inside = numbered_lines(
        3_000,
        &[
            (conflict_at, "m,host=h1 w=1 2500".into()),
            (conflict_at + 1, "m,host=h1 w=\"text\" 2501".into()),
        ],
    );
    let response = write_gzip(&server, "inside", inside.as_bytes());
    assert_eq!(response.status, 400);
    assert_eq!(response.text(), "{\"error\":\"field type conflict\"}\n");
    let written = count(&server, "inside", "v", "m");
    let lines_per_piece = 4096 / "m,host=h1 v=2500 2500\n".len();
    assert!(
        written < conflict_at as u64 && written + 2 * lines_per_piece as u64 >= conflict_at as u64,
        "{written} points written before the refused piece"
    );
    // Across pieces: the first piece fixed `w` as a float; the later string is dropped.
    let across = numbered_lines(
        3_000,
        &[
            (2, "m,host=h1 w=1 2".into()),
            (2_900, "m,host=h1 w=\"text\" 2900".into()),
        ],
    );
    let response = write_gzip(&server, "across", across.as_bytes());
    assert_eq!(response.status, 400);
    assert_eq!(
        response.text(),
        "{\"error\":\"partial write: field type conflict: input field \\\"w\\\" on measurement \
         \\\"m\\\" is type string, already exists as type float dropped=1\"}\n"
    );
    assert_eq!(count(&server, "across", "v", "m"), 2_998);
    // A line longer than max-body-size (100 KB) once inflated, after 2,000 good lines.
    let mut long = numbered_lines(2_000, &[]);
    long.push_str(&format!(
        "m,host=h1 v=1,s=\"{}\" 2001\n",
        "y".repeat(150_000)
    ));
    long.push_str(&numbered_lines(10, &[]));
    let response = write_gzip(&server, "long", long.as_bytes());
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(
        response.text(),
        "{\"error\":\"Request Entity Too Large: a line is longer than max-body-size after gzip \
         decoding\"}\n"
    );
    let written = count(&server, "long", "v", "m");
    assert!(written > 0 && written <= 2_000, "{written}");
}
