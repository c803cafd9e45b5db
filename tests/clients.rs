//! Real InfluxDB clients against the real binary: the `influx` CLI (Debian
//! `influxdb-client`) and the Python client library (Debian `python3-influxdb`).
//!
//! `.ci/run` installs both and sets `SLUICE_REQUIRE_CLIENTS=1`, which turns a missing client
//! into a failure; elsewhere a missing client skips the test with a message.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::Server;

const SYSTEM_PYTHON: &str = "/usr/bin/python3";

fn influx(server: &Server, args: &[&str]) -> String {
    let port = server.address.port().to_string();
    let output = Command::new("influx")
        .args(["-host", "127.0.0.1", "-port", &port])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "influx {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn influx_cli_creates_writes_and_shows() {
    if !common::tool_available("influx", &["-version"]) {
        return;
    }
    let server = Server::start();
    influx(&server, &["-execute", "CREATE DATABASE clidb"]);
    let shown = influx(&server, &["-execute", "SHOW DATABASES"]);
    assert!(shown.lines().any(|l| l.trim() == "clidb"), "{shown}");
    influx(
        &server,
        &[
            "-database",
            "clidb",
            "-execute",
            "INSERT cpu,host=b value=2 2000000000",
        ],
    );
    influx(
        &server,
        &[
            "-database",
            "clidb",
            "-precision",
            "s",
            "-execute",
            "INSERT cpu,host=c count=3i 3",
        ],
    );
    let export = server.export(Some("clidb"));
    assert!(
        export.contains("cpu,host=b value=2 2000000000\n"),
        "{export}"
    );
    assert!(
        export.contains("cpu,host=c count=3i 3000000000\n"),
        "{export}"
    );
    influx(&server, &["-execute", "DROP DATABASE clidb"]);
    assert!(!influx(&server, &["-execute", "SHOW DATABASES"]).contains("clidb"));
}

#[test]
fn python_client_creates_writes_and_drops() {
    if !common::tool_available(SYSTEM_PYTHON, &["-c", "import influxdb"]) {
        return;
    }
    let server = Server::start();
    let script = format!(
        r#"
from influxdb import InfluxDBClient
c = InfluxDBClient("127.0.0.1", {port}, database="pydb")
c.create_database("pydb")
assert {{"name": "pydb"}} in c.get_list_database(), c.get_list_database()
points = [{{"measurement": "py", "tags": {{"t": "x y"}}, "fields": {{"v": 1.5, "n": 3, "s": "a \"q\"", "b": True}}, "time": 1500000000000000000}}]
assert c.write_points(points)
assert c.write_points(["py,t=z v=2.5 1500000001000000000"], protocol="line")
assert c.ping() == "1.6.7", c.ping()
print("ok")
"#,
        port = server.address.port()
    );
    let output = Command::new(SYSTEM_PYTHON)
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let export = server.export(Some("pydb"));
    assert!(
        export.contains("py,t=x\\ y b=true,n=3i,s=\"a \\\"q\\\"\",v=1.5 1500000000000000000\n"),
        "{export}"
    );
    assert!(
        export.contains("py,t=z v=2.5 1500000001000000000\n"),
        "{export}"
    );
}
