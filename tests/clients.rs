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

/// The `influx` CLI's SHOW statements and retention policies, in its column, CSV and JSON
/// output formats.
#[test]
fn influx_cli_shows_metadata() {
    if !common::tool_available("influx", &["-version"]) {
        return;
    }
    let server = Server::start();
    influx(&server, &["-execute", "CREATE DATABASE showdb"]);
    let db = ["-database", "showdb"];
    influx(
        &server,
        &[
            db[0],
            db[1],
            "-execute",
            "INSERT cpu,host=a,region=east usage=1.5 1000000000",
        ],
    );
    influx(
        &server,
        &[
            db[0],
            db[1],
            "-execute",
            "INSERT mem,host=b used=7i 1000000000",
        ],
    );
    let measurements = influx(&server, &[db[0], db[1], "-execute", "SHOW MEASUREMENTS"]);
    assert_eq!(
        measurements.lines().map(str::trim).collect::<Vec<_>>(),
        ["name: measurements", "name", "----", "cpu", "mem"],
        "{measurements}"
    );
    let tag_keys = influx(
        &server,
        &[db[0], db[1], "-execute", "SHOW TAG KEYS FROM cpu"],
    );
    assert!(
        tag_keys.contains("name: cpu\ntagKey\n------\nhost\nregion\n"),
        "{tag_keys}"
    );
    let fields = influx(
        &server,
        &[
            db[0],
            db[1],
            "-format",
            "csv",
            "-execute",
            "SHOW FIELD KEYS",
        ],
    );
    assert_eq!(
        fields,
        "name,fieldKey,fieldType\ncpu,usage,float\nname,fieldKey,fieldType\nmem,used,integer\n"
    );
    let series = influx(
        &server,
        &[
            db[0],
            db[1],
            "-format",
            "json",
            "-execute",
            "SHOW SERIES WHERE host = 'a'",
        ],
    );
    assert_eq!(
        series.trim(),
        r#"{"results":[{"series":[{"columns":["key"],"values":[["cpu,host=a,region=east"]]}]}]}"#
    );
    influx(
        &server,
        &[
            "-execute",
            "CREATE RETENTION POLICY week ON showdb DURATION 7d REPLICATION 1",
        ],
    );
    let policies = influx(
        &server,
        &[db[0], db[1], "-execute", "SHOW RETENTION POLICIES"],
    );
    assert!(
        policies
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["week", "168h0m0s", "24h0m0s", "1", "false"]),
        "{policies}"
    );
    influx(&server, &[db[0], db[1], "-execute", "DROP MEASUREMENT mem"]);
    let after = influx(
        &server,
        &[
            db[0],
            db[1],
            "-format",
            "csv",
            "-execute",
            "SHOW MEASUREMENTS",
        ],
    );
    assert_eq!(after, "name,name\nmeasurements,cpu\n");
}

/// SELECT through the `influx` CLI.
#[test]
fn influx_cli_selects() {
    if !common::tool_available("influx", &["-version"]) {
        return;
    }
    let server = Server::start();
    influx(&server, &["-execute", "CREATE DATABASE seldb"]);
    influx(
        &server,
        &[
            "-database",
            "seldb",
            "-execute",
            "INSERT cpu,host=a usage=1.5 1000000000",
        ],
    );
    influx(
        &server,
        &[
            "-database",
            "seldb",
            "-execute",
            "INSERT cpu,host=a usage=2.5 2000000000",
        ],
    );
    let json = influx(
        &server,
        &[
            "-database",
            "seldb",
            "-format",
            "json",
            "-execute",
            "SELECT usage FROM cpu",
        ],
    );
    assert_eq!(
        json.trim(),
        r#"{"results":[{"series":[{"name":"cpu","columns":["time","usage"],"values":[[1000000000,1.5],[2000000000,2.5]]}]}]}"#
    );
    let mean = influx(
        &server,
        &[
            "-database",
            "seldb",
            "-format",
            "csv",
            "-execute",
            "SELECT mean(usage) FROM cpu",
        ],
    );
    assert_eq!(mean, "name,time,mean\ncpu,0,2\n");
}

/// The Python client's query helpers: SHOW statements, retention policies, and (after the
/// select-exec merge) SELECT.
fn python_client_script(port: u16, with_select: bool) -> String {
    let select = if with_select {
        r#"
rows = list(c.query("SELECT v FROM m WHERE host = 'a'").get_points())
assert rows == [{"time": "1970-01-01T00:00:01Z", "v": 1.5}], rows
assert c.write_points(["m,host=b v=3.5 3000000000"], protocol="line")
result = c.query("SELECT v FROM m GROUP BY host", epoch="s")
rows = list(result.get_points(tags={"host": "b"}))
assert rows == [{"time": 3, "v": 3.5}], rows
rows = list(c.query("SELECT count(v) FROM m").get_points())
assert rows == [{"time": "1970-01-01T00:00:00Z", "count": 2}], rows
"#
    } else {
        ""
    };
    format!(
        r#"
from influxdb import InfluxDBClient
c = InfluxDBClient("127.0.0.1", {port}, database="pyq")
c.create_database("pyq")
assert c.write_points(["m,host=a v=1.5 1000000000", "m,host=b v=2.5 2000000000"],
                      protocol="line")
ms = list(c.query("SHOW MEASUREMENTS").get_points())
assert ms == [{{"name": "m"}}], ms
keys = list(c.query("SHOW TAG VALUES WITH KEY = host").get_points())
assert keys == [{{"key": "host", "value": "a"}}, {{"key": "host", "value": "b"}}], keys
fields = list(c.query("SHOW FIELD KEYS").get_points())
assert fields == [{{"fieldKey": "v", "fieldType": "float"}}], fields
c.create_retention_policy("short", "2h", 1, database="pyq")
rps = {{rp["name"]: rp for rp in c.get_list_retention_policies("pyq")}}
assert rps["short"]["duration"] == "2h0m0s", rps
assert rps["short"]["shardGroupDuration"] == "1h0m0s", rps
c.alter_retention_policy("short", database="pyq", duration="3h", default=True)
rps = {{rp["name"]: rp for rp in c.get_list_retention_policies("pyq")}}
assert rps["short"]["default"] and not rps["autogen"]["default"], rps
c.alter_retention_policy("autogen", database="pyq", default=True)
c.drop_retention_policy("short", database="pyq")
assert [rp["name"] for rp in c.get_list_retention_policies("pyq")] == ["autogen"]
c.query("DROP SERIES WHERE host = 'b'", method="POST")
series = list(c.query("SHOW SERIES").get_points())
assert series == [{{"key": "m,host=a"}}], series
{select}print("ok")
"#
    )
}

fn run_python(script: &str) {
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
}

#[test]
fn python_client_queries_metadata() {
    if !common::tool_available(SYSTEM_PYTHON, &["-c", "import influxdb"]) {
        return;
    }
    let server = Server::start();
    run_python(&python_client_script(server.address.port(), false));
}

#[test]
fn python_client_selects() {
    if !common::tool_available(SYSTEM_PYTHON, &["-c", "import influxdb"]) {
        return;
    }
    let server = Server::start();
    run_python(&python_client_script(server.address.port(), true));
}
