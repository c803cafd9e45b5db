//! Authentication against the real binary with `[http] auth-enabled`: users and grants
//! survive a restart and `kill -9` (they live in the meta store), and the real clients, the
//! `influx` CLI (`-username/-password`) and python3-influxdb (`username=`, `password=`),
//! work against it. A missing client skips its test with a message, as in tests/clients.rs
//! (a failure with `SLUICE_REQUIRE_CLIENTS=1`).

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{fresh_dir, request, urlencode, Server};

const AUTH_ON: &[(&str, &str)] = &[
    ("SLUICE_HTTP_AUTH_ENABLED", "true"),
    // The clients log in afresh many times a second: no bound on bcrypt checks.
    ("SLUICE_HTTP_PASSWORD_CHECKS_PER_SECOND", "0"),
];
const FORM: &[(&str, &str)] = &[("Content-Type", "application/x-www-form-urlencoded")];

/// POST /query as `user`/`password` (u/p parameters); (status, body).
fn query_as(server: &Server, user: &str, password: &str, q: &str) -> (u16, String) {
    let target = format!("/query?u={}&p={}", urlencode(user), urlencode(password));
    let body = format!("q={}", urlencode(q));
    let answer = request(server.address, "POST", &target, FORM, body.as_bytes());
    (answer.status, answer.text())
}

fn write_as(server: &Server, user: &str, password: &str, db: &str) -> u16 {
    let target = format!("/write?db={db}&u={user}&p={password}");
    request(server.address, "POST", &target, &[], b"m v=1 1\n").status
}

fn set_up_users(server: &Server) {
    let (status, body) =
        server.query("CREATE USER admin WITH PASSWORD 'adminpw' WITH ALL PRIVILEGES");
    assert_eq!(status, 200, "{body}");
    for q in [
        "CREATE DATABASE db1",
        "CREATE USER reader WITH PASSWORD 'pw'",
        "CREATE USER writer WITH PASSWORD 'pw'",
        "GRANT READ ON db1 TO reader",
        "GRANT WRITE ON db1 TO writer",
        "SET PASSWORD FOR writer = 'pw2'",
    ] {
        let (status, body) = query_as(server, "admin", "adminpw", q);
        assert!(
            status == 200 && !body.contains("error"),
            "{q}: {status} {body}"
        );
    }
}

fn assert_users_enforced(server: &Server) {
    assert_eq!(server.query("SHOW DATABASES").0, 401);
    assert_eq!(query_as(server, "admin", "nope", "SHOW DATABASES").0, 401);
    let (status, body) = query_as(server, "admin", "adminpw", "SHOW USERS");
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"["admin",true],["reader",false],["writer",false]"#),
        "{body}"
    );
    let (_, grants) = query_as(server, "admin", "adminpw", "SHOW GRANTS FOR writer");
    assert!(grants.contains(r#"["db1","WRITE"]"#), "{grants}");
    assert_eq!(write_as(server, "writer", "pw2", "db1"), 204);
    assert_eq!(write_as(server, "writer", "pw", "db1"), 401);
    assert_eq!(write_as(server, "reader", "pw", "db1"), 403);
    let (status, body) = query_as(server, "reader", "pw", "SHOW DATABASES");
    assert_eq!(status, 200);
    assert!(body.contains(r#"[["db1"]]"#), "{body}");
}

#[test]
fn users_and_grants_survive_restart_and_kill_9() {
    let mut server = Server::start_in(fresh_dir("auth-restart"), AUTH_ON);
    let (status, body) = server.query("SHOW DATABASES");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("create admin user first"), "{body}");
    set_up_users(&server);
    assert_users_enforced(&server);
    assert_eq!(server.stop(), Some(0));
    server.restart();
    assert_users_enforced(&server);
    server.kill9();
    server.restart();
    assert_users_enforced(&server);
    let (status, _) = query_as(&server, "admin", "adminpw", "DROP USER reader");
    assert_eq!(status, 200);
    server.kill9();
    server.restart();
    assert_eq!(query_as(&server, "reader", "pw", "SHOW DATABASES").0, 401);
}

#[test]
fn auth_off_ignores_credentials() {
    let server = Server::start();
    assert_eq!(server.query("CREATE DATABASE db1").0, 200);
    assert_eq!(write_as(&server, "nobody", "x", "db1"), 204);
    assert_eq!(
        request(server.address, "GET", "/debug/vars", &[], b"").status,
        200
    );
}

#[test]
fn debug_vars_is_admin_only_and_ping_open() {
    let server = Server::start_in(fresh_dir("auth-debug"), AUTH_ON);
    set_up_users(&server);
    assert_eq!(
        request(server.address, "GET", "/ping", &[], b"").status,
        204
    );
    assert_eq!(
        request(server.address, "GET", "/debug/vars", &[], b"").status,
        401
    );
    let as_reader = request(server.address, "GET", "/debug/vars?u=reader&p=pw", &[], b"");
    assert_eq!(as_reader.status, 403);
    let as_admin = request(
        server.address,
        "GET",
        "/debug/vars?u=admin&p=adminpw",
        &[],
        b"",
    );
    assert_eq!(as_admin.status, 200);
}

#[test]
fn influx_cli_with_username_and_password() {
    if !common::tool_available("influx", &["-version"]) {
        return;
    }
    let server = Server::start_in(fresh_dir("auth-cli"), AUTH_ON);
    set_up_users(&server);
    let port = server.address.port().to_string();
    let run = |user: &str, password: &str, q: &str| {
        Command::new("influx")
            .args(["-host", "127.0.0.1", "-port", &port, "-username", user])
            .args(["-password", password, "-database", "db1", "-execute", q])
            .output()
            .unwrap()
    };
    let insert = run("writer", "pw2", "INSERT cpu value=1 1000000000");
    assert!(
        insert.status.success(),
        "{}",
        String::from_utf8_lossy(&insert.stderr)
    );
    let select = run("reader", "pw", "SELECT * FROM cpu");
    let text = String::from_utf8_lossy(&select.stdout);
    assert!(
        select.status.success() && text.contains("1000000000"),
        "{text}"
    );
    let refused = run("reader", "pw", "INSERT cpu value=2 2000000000");
    let out = String::from_utf8_lossy(&refused.stdout).into_owned()
        + &String::from_utf8_lossy(&refused.stderr);
    assert!(out.contains("not authorized"), "{out}");
    let bad = run("reader", "wrong", "SHOW DATABASES");
    let out =
        String::from_utf8_lossy(&bad.stdout).into_owned() + &String::from_utf8_lossy(&bad.stderr);
    assert!(out.contains("authorization failed"), "{out}");
}

#[test]
fn python_client_with_username_and_password() {
    if !common::tool_available("/usr/bin/python3", &["-c", "import influxdb"]) {
        return;
    }
    let server = Server::start_in(fresh_dir("auth-python"), AUTH_ON);
    set_up_users(&server);
    let port = server.address.port();
    let script = format!(
        r#"
import influxdb
from influxdb.exceptions import InfluxDBClientError
w = influxdb.InfluxDBClient("127.0.0.1", {port}, username="writer", password="pw2", database="db1")
assert w.write_points([{{"measurement": "cpu", "fields": {{"value": 1.5}}, "time": 1000000000}}])
r = influxdb.InfluxDBClient("127.0.0.1", {port}, username="reader", password="pw", database="db1")
points = list(r.query("SELECT * FROM cpu").get_points())
assert points == [{{"time": "1970-01-01T00:00:01Z", "value": 1.5}}], points
assert [d["name"] for d in r.get_list_database()] == ["db1"]
try:
    r.write_points([{{"measurement": "cpu", "fields": {{"value": 2.0}}}}])
    raise SystemExit("a reader could write")
except InfluxDBClientError as error:
    assert error.code == 403, error
bad = influxdb.InfluxDBClient("127.0.0.1", {port}, username="reader", password="x")
try:
    bad.get_list_database()
    raise SystemExit("a wrong password was accepted")
except InfluxDBClientError as error:
    assert error.code == 401, error
a = influxdb.InfluxDBClient("127.0.0.1", {port}, username="admin", password="adminpw")
assert [u["user"] for u in a.get_list_users()] == ["admin", "reader", "writer"]
"#
    );
    let output = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
