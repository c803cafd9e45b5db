//! `POST /api/v2/write` (InfluxDB 1.8's 2.x-compatible write) against the real binary: the
//! official 2.x Python client (`influxdb-client` from PyPI) writes with its synchronous
//! write API and the points are read back through `/query`; with auth on, a
//! `Token user:password` is accepted and a wrong one refused; and the raw answers (bucket
//! and precision errors, gzip, partial writes, `max-body-size`) are `/write`'s.
//!
//! `.ci/run` installs the client and sets `SLUICE_REQUIRE_CLIENTS=1`, which turns a missing
//! client into a failure; elsewhere a missing client skips its test with a message, as in
//! tests/clients.rs.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::process::Command;

use common::{request, urlencode, Server};

const SYSTEM_PYTHON: &str = "/usr/bin/python3";
const FORM: &[(&str, &str)] = &[("Content-Type", "application/x-www-form-urlencoded")];

fn v2_client_available() -> bool {
    common::tool_available(SYSTEM_PYTHON, &["-c", "import influxdb_client"])
}

/// Runs `script` with the system Python; returns its stdout, failing on a non-zero exit.
fn run_python(script: &str) -> String {
    let output = Command::new(SYSTEM_PYTHON)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// POST /query as `user`/`password`; (status, body).
fn query_as(server: &Server, user: &str, password: &str, q: &str) -> (u16, String) {
    let target = format!("/query?u={}&p={}", urlencode(user), urlencode(password));
    let body = format!("q={}", urlencode(q));
    let answer = request(server.address, "POST", &target, FORM, body.as_bytes());
    (answer.status, answer.text())
}

fn v2_write(
    server: &Server,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> common::Response {
    request(
        server.address,
        "POST",
        &format!("/api/v2/write?{query}"),
        headers,
        body,
    )
}

#[test]
fn python_v2_client_writes_to_db_slash_rp() {
    if !v2_client_available() {
        return;
    }
    let server = Server::start();
    assert_eq!(server.query("CREATE DATABASE v2db").0, 200);
    let script = format!(
        r#"
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
client = InfluxDBClient(url="http://127.0.0.1:{port}", token="", org="-")
write = client.write_api(write_options=SYNCHRONOUS)
write.write(bucket="v2db/autogen", record=[
    Point("cpu").tag("host", "a").field("usage", 1.5).time(1000000000, WritePrecision.NS),
    Point("cpu").tag("host", "b").field("usage", 2.5).time(2000000000, WritePrecision.NS),
])
write.write(bucket="v2db", record="cpu,host=c usage=3.5 3", write_precision=WritePrecision.S)
print("ok")
"#,
        port = server.address.port()
    );
    assert_eq!(run_python(&script).trim(), "ok");
    let (status, body) = server.query("SELECT usage FROM v2db.autogen.cpu GROUP BY host");
    assert_eq!(status, 200, "{body}");
    for (host, time, usage) in [
        ("a", "1970-01-01T00:00:01Z", "1.5"),
        ("b", "1970-01-01T00:00:02Z", "2.5"),
        ("c", "1970-01-01T00:00:03Z", "3.5"),
    ] {
        assert!(
            body.contains(&format!(
                r#""tags":{{"host":"{host}"}},"columns":["time","usage"],"values":[["{time}",{usage}]]"#
            )),
            "{host}: {body}"
        );
    }
}

#[test]
fn python_v2_client_authenticates_with_a_user_password_token() {
    if !v2_client_available() {
        return;
    }
    let server = Server::start_with(&[
        ("SLUICE_HTTP_AUTH_ENABLED", "true"),
        ("SLUICE_HTTP_PASSWORD_CHECKS_PER_SECOND", "0"),
    ]);
    let (status, body) =
        server.query("CREATE USER admin WITH PASSWORD 'adminpw' WITH ALL PRIVILEGES");
    assert_eq!(status, 200, "{body}");
    for q in [
        "CREATE DATABASE v2auth",
        "CREATE USER writer WITH PASSWORD 'secret'",
        "GRANT WRITE ON v2auth TO writer",
    ] {
        let (status, body) = query_as(&server, "admin", "adminpw", q);
        assert!(status == 200 && !body.contains("error"), "{q}: {body}");
    }
    let script = format!(
        r#"
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
url = "http://127.0.0.1:{port}"
good = InfluxDBClient(url=url, token="writer:secret", org="-")
good.write_api(write_options=SYNCHRONOUS).write(bucket="v2auth/autogen", record="m v=7 7000000000")
for token in ["writer:wrong", "nobody:secret"]:
    bad = InfluxDBClient(url=url, token=token, org="-")
    try:
        bad.write_api(write_options=SYNCHRONOUS).write(bucket="v2auth/autogen", record="m v=8 8000000000")
        raise SystemExit("a wrong token was accepted: " + token)
    except ApiException as refused:
        print(refused.status, refused.body)
"#,
        port = server.address.port()
    );
    let refusals = run_python(&script);
    assert_eq!(
        refusals,
        "401 {\"error\":\"authorization failed\"}\n\n401 {\"error\":\"authorization failed\"}\n\n",
    );
    let (status, body) = query_as(&server, "admin", "adminpw", "SELECT v FROM v2auth..m");
    assert_eq!(status, 200);
    assert!(
        body.contains(r#""values":[["1970-01-01T00:00:07Z",7]]"#),
        "only the accepted point is stored: {body}"
    );
    // The user needs WRITE on the database, as on /write.
    let (status, _) = query_as(&server, "admin", "adminpw", "CREATE DATABASE other");
    assert_eq!(status, 200);
    let refused = v2_write(
        &server,
        "bucket=other",
        &[("Authorization", "Token writer:secret")],
        b"m v=1 1\n",
    );
    assert_eq!(refused.status, 403, "{}", refused.text());
    let no_token = v2_write(&server, "bucket=v2auth", &[], b"m v=1 1\n");
    assert_eq!(no_token.status, 401, "{}", no_token.text());
}

#[test]
fn answers_are_writes_answers() {
    let server = Server::start_with(&[("SLUICE_HTTP_MAX_BODY_SIZE", "1000")]);
    assert_eq!(server.query("CREATE DATABASE d").0, 200);
    assert_eq!(
        server
            .query("CREATE RETENTION POLICY short ON d DURATION INF REPLICATION 1")
            .0,
        200
    );
    // Each precision 2.x names, and the default (ns).
    for (precision, stamp) in [
        ("ns", "1000"),
        ("us", "1"),
        ("ms", "1"),
        ("s", "1"),
        ("", "1000"),
    ] {
        let line = format!(
            "p,precision={} v=1 {stamp}\n",
            if precision.is_empty() {
                "none"
            } else {
                precision
            }
        );
        let answer = v2_write(
            &server,
            &format!("bucket=d/short&org=o&precision={precision}"),
            &[],
            line.as_bytes(),
        );
        assert_eq!(answer.status, 204, "{precision}: {}", answer.text());
    }
    let (_, body) = server.query("SELECT v FROM d.short.p GROUP BY precision");
    for (tag, time) in [
        ("none", "1970-01-01T00:00:00.000001Z"),
        ("ns", "1970-01-01T00:00:00.000001Z"),
        ("us", "1970-01-01T00:00:00.000001Z"),
        ("ms", "1970-01-01T00:00:00.001Z"),
        ("s", "1970-01-01T00:00:01Z"),
    ] {
        assert!(
            body.contains(&format!(
                r#""tags":{{"precision":"{tag}"}},"columns":["time","v"],"values":[["{time}",1]]"#
            )),
            "{tag}: {body}"
        );
    }
    // 2.x's precisions only; the bucket must name a database.
    let answer = v2_write(&server, "bucket=d&precision=h", &[], b"p v=1 1\n");
    assert_eq!(
        (answer.status, answer.text()),
        (
            400,
            "{\"error\":\"invalid precision \\\"h\\\" (use ns, us, ms or s)\"}\n".to_string()
        )
    );
    let answer = v2_write(&server, "org=o", &[], b"p v=1 1\n");
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert!(
        answer.text().contains("is missing a slash"),
        "{}",
        answer.text()
    );
    let answer = v2_write(&server, "bucket=%2Fshort", &[], b"p v=1 1\n");
    assert_eq!(answer.status, 404);
    // Then /write's own answers.
    let answer = v2_write(&server, "bucket=nope", &[], b"p v=1 1\n");
    assert_eq!(
        (answer.status, answer.text()),
        (
            404,
            "{\"error\":\"database not found: \\\"nope\\\"\"}\n".to_string()
        )
    );
    let answer = v2_write(&server, "bucket=d/nope", &[], b"p v=1 1\n");
    assert_eq!(answer.status, 500, "{}", answer.text());
    let answer = v2_write(&server, "bucket=d", &[], b"q v=1 1\nbad line\nq v=2 2\n");
    assert_eq!(answer.status, 400);
    assert!(
        answer.text().contains("partial write: unable to parse"),
        "{}",
        answer.text()
    );
    assert_eq!(answer.header("X-Sluice-Bad-Lines"), Some("2"));
    let too_large = vec![b'x'; 2000];
    assert_eq!(v2_write(&server, "bucket=d", &[], &too_large).status, 413);
    // gzip, as on /write.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"g v=5 5\n").unwrap();
    let gzipped = encoder.finish().unwrap();
    let answer = v2_write(
        &server,
        "bucket=d",
        &[("Content-Encoding", "gzip")],
        &gzipped,
    );
    assert_eq!(answer.status, 204, "{}", answer.text());
    let (_, body) = server.query("SELECT v FROM d..g");
    assert!(
        body.contains(r#""values":[["1970-01-01T00:00:00.000000005Z",5]]"#),
        "{body}"
    );
    // Only POST.
    let answer = request(server.address, "GET", "/api/v2/write?bucket=d", &[], b"");
    assert_eq!(answer.status, 405);
}
