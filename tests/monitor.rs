//! Self-monitoring against the real binary: `SHOW STATS`, `SHOW DIAGNOSTICS`, the
//! `[monitor]` thread storing statistics in `_internal`, and `/debug/vars` and `/metrics`
//! reading the same registry. Shapes (module names, tag keys, columns) are checked against
//! what influxd 1.6.7 answered (`tests/golden/monitor/influxd-1.6.7.json`).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{request, Server};
use serde_json::Value;

/// Longest a test waits for the monitor thread's points.
const STORE_DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

fn golden() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/monitor/influxd-1.6.7.json"
    ))
    .expect("golden monitor answers");
    serde_json::from_str(&text).expect("golden JSON")
}

/// The series of the first result of `answer`.
fn series(answer: &Value) -> Vec<Value> {
    answer["results"][0]["series"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn query_json(server: &Server, q: &str) -> Value {
    let (status, text) = server.query(q);
    assert_eq!(status, 200, "{q}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{q}: {e}: {text}"))
}

/// Module name → (tag keys, columns) of the first series of each module.
fn shapes(series: &[Value]) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let mut out = BTreeMap::new();
    for one in series {
        let name = one["name"].as_str().unwrap_or("").to_string();
        let tags = one["tags"]
            .as_object()
            .map(|tags| tags.keys().cloned().collect())
            .unwrap_or_default();
        let columns = one["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        out.entry(name).or_insert((tags, columns));
    }
    out
}

/// The value of `counter` in the first series of `module` (with tag `tag` = `value`, if
/// given) that SHOW STATS answers now.
fn counter(server: &Server, module: &str, tag: Option<(&str, &str)>, name: &str) -> i64 {
    let answer = query_json(server, &format!("SHOW STATS FOR '{module}'"));
    let found = series(&answer).into_iter().find(|one| match tag {
        Some((key, value)) => one["tags"][key] == value,
        None => true,
    });
    let found = found.unwrap_or_else(|| panic!("no {module} {tag:?} in {answer}"));
    let columns = found["columns"].as_array().unwrap();
    let index = columns
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no {name} in {found}"));
    found["values"][0][index]
        .as_i64()
        .unwrap_or_else(|| panic!("{module}.{name} is not an integer: {found}"))
}

/// SHOW STATS answers InfluxDB's modules with influxd's tags and columns where Sluice has
/// the same thing, every value an integer.
#[test]
fn show_stats_answers_influxdb_modules_in_influxd_shape() {
    let server = Server::start_with(&[
        ("SLUICE_UDP_0_ENABLED", "true"),
        ("SLUICE_UDP_0_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_UDP_0_DATABASE", "udpdb"),
    ]);
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", "m,host=a v=1 1").status, 204);
    let ours = series(&query_json(&server, "SHOW STATS"));
    let golden = golden();
    let theirs = series(&golden["answers"]["SHOW STATS"]);
    let ours_shapes = shapes(&ours);
    let theirs_shapes = shapes(&theirs);
    // The same modules, tags and columns, in influxd's (sorted) column order.
    for module in [
        "httpd",
        "write",
        "queryExecutor",
        "subscriber",
        "cq",
        "database",
    ] {
        assert_eq!(
            ours_shapes.get(module),
            theirs_shapes.get(module),
            "module {module}"
        );
    }
    // Inputs: influxd's tags; every counter influxd names for the input, or Sluice's own.
    let (udp_tags, udp_columns) = &ours_shapes["udp"];
    let (golden_tags, golden_columns) = &theirs_shapes["udp"];
    assert_eq!(udp_tags, golden_tags);
    let sluice_only = ["batchesQueued", "pointsDropped", "received"];
    for column in udp_columns {
        assert!(
            golden_columns.contains(column) || sluice_only.contains(&column.as_str()),
            "udp column {column} is neither influxd's nor documented as Sluice's own"
        );
    }
    // Sluice's own modules beside them.
    for module in ["runtime", "wal", "engine", "shard", "http"] {
        assert!(
            ours_shapes.contains_key(module),
            "{module}: {ours_shapes:?}"
        );
    }
    for one in &ours {
        let columns = one["columns"].as_array().unwrap();
        let mut sorted = columns.clone();
        sorted.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        assert_eq!(columns, &sorted, "columns sorted as influxd prints them");
        for value in one["values"][0].as_array().unwrap() {
            assert!(value.is_i64(), "integer values only: {one}");
        }
    }
    let db = ours
        .iter()
        .find(|one| one["name"] == "database" && one["tags"]["database"] == "db")
        .expect("database db");
    assert_eq!(db["values"][0], serde_json::json!([1, 1]));
}

/// The counters move with the work: `writeReq` by exactly the writes sent, `pointsWrittenOK`
/// by their points, `queryReq` and `queriesExecuted` by the queries.
#[test]
fn counters_move_with_writes_and_queries() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    let bind = counter_bind(&server);
    let httpd = |name: &str| counter(&server, "httpd", Some(("bind", bind.as_str())), name);
    let write_requests = httpd("writeReq");
    let points_ok = httpd("pointsWrittenOK");
    let bytes = httpd("writeReqBytes");
    let client_errors = httpd("clientError");
    const WRITES: i64 = 7;
    let mut body_bytes = 0;
    for index in 0..WRITES {
        let body = format!("m,host=h{index} v={index} {index}\nm,host=x v=1 {index}");
        body_bytes += body.len() as i64;
        assert_eq!(server.write("db=db", &body).status, 204);
    }
    assert_eq!(server.write("db=nope", "m v=1").status, 404);
    assert_eq!(httpd("writeReq") - write_requests, WRITES + 1);
    assert_eq!(httpd("pointsWrittenOK") - points_ok, 2 * WRITES);
    assert_eq!(
        httpd("writeReqBytes") - bytes,
        body_bytes + "m v=1".len() as i64
    );
    assert_eq!(httpd("clientError") - client_errors, 1);
    // A request's tracker is dropped just after its answer is sent, so the previous
    // request may still count for a moment: wait for the counts to settle.
    let settled = |name: &str, wanted: i64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let value = httpd(name);
            if value == wanted || std::time::Instant::now() > deadline {
                return value;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    assert_eq!(settled("writeReqActive", 0), 0);
    // This SHOW STATS is itself the one query active.
    assert_eq!(settled("reqActive", 1), 1);
    let executed = counter(&server, "queryExecutor", None, "queriesExecuted");
    let query_requests = httpd("queryReq");
    for _ in 0..3 {
        query_json(&server, "SELECT count(v) FROM db..m");
    }
    // Each counter() call is a query too, counted from its start: the queryReq reading
    // and this one.
    assert_eq!(
        counter(&server, "queryExecutor", None, "queriesExecuted") - executed,
        3 + 2
    );
    assert_eq!(httpd("queryReq") - query_requests, 3 + 2);
    assert_eq!(
        counter(&server, "database", Some(("database", "db")), "numSeries"),
        WRITES + 1
    );
    assert!(counter(&server, "runtime", None, "ResidentBytes") > 0);
    let points: i64 = series(&query_json(&server, "SHOW STATS FOR 'wal'"))
        .iter()
        .map(|one| {
            let columns = one["columns"].as_array().unwrap();
            let index = columns.iter().position(|c| c == "pointsWritten").unwrap();
            one["values"][0][index].as_i64().unwrap()
        })
        .sum();
    assert_eq!(points, 2 * WRITES);
}

fn counter_bind(server: &Server) -> String {
    let answer = query_json(server, "SHOW STATS FOR 'httpd'");
    series(&answer)[0]["tags"]["bind"]
        .as_str()
        .expect("httpd bind tag")
        .to_string()
}

/// `SHOW STATS FOR 'module'` answers that module only; an unknown one answers no series, as
/// influxd does.
#[test]
fn show_stats_for_a_module_filters() {
    let server = Server::start();
    let httpd = series(&query_json(&server, "SHOW STATS FOR 'httpd'"));
    assert_eq!(httpd.len(), 1);
    assert_eq!(httpd[0]["name"], "httpd");
    let (_, nope) = server.query("SHOW STATS FOR 'nope'");
    let golden = golden();
    assert_eq!(
        serde_json::from_str::<Value>(&nope).unwrap(),
        golden["answers"]["SHOW STATS FOR 'nope'"]
    );
}

/// SHOW DIAGNOSTICS: influxd's module names, sorted; `system` and `network` with influxd's
/// columns; `config-monitor` as influxd names it.
#[test]
fn show_diagnostics_has_influxd_modules() {
    let server = Server::start();
    let ours = series(&query_json(&server, "SHOW DIAGNOSTICS"));
    let golden = golden();
    let theirs_shapes = shapes(&series(&golden["answers"]["SHOW DIAGNOSTICS"]));
    let ours_shapes = shapes(&ours);
    let names: Vec<&String> = ours_shapes.keys().collect();
    let listed: Vec<String> = ours
        .iter()
        .map(|one| one["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, listed.iter().collect::<Vec<_>>(), "sorted by module");
    for module in ["system", "network", "config-monitor", "build"] {
        assert_eq!(
            ours_shapes.get(module),
            theirs_shapes.get(module),
            "{module}"
        );
    }
    for module in ["config", "config-data", "config-httpd", "runtime"] {
        assert!(ours_shapes.contains_key(module), "{module}");
    }
    let system = series(&query_json(&server, "SHOW DIAGNOSTICS FOR 'system'"));
    assert_eq!(system.len(), 1);
    let values = &system[0]["values"][0];
    assert_eq!(values[0].as_u64(), server.pid().map(u64::from));
    assert!(values[3].as_str().unwrap().ends_with('s'), "{values}");
}

/// With `store-interval = 1s`, the statistics arrive in `_internal` (retention policy
/// `monitor`, 7 days, as influxd creates it) as integer fields with `hostname`.
#[test]
fn statistics_are_stored_in_internal() {
    let server = Server::start_with(&[
        ("SLUICE_MONITOR_STORE_ENABLED", "true"),
        ("SLUICE_MONITOR_STORE_INTERVAL", "1s"),
    ]);
    assert_eq!(server.write("db=nope", "m v=1").status, 404);
    let until = Instant::now() + STORE_DEADLINE;
    let httpd = loop {
        let (status, text) = server.query("SELECT * FROM _internal..\"httpd\"");
        if status == 200 && text.contains("\"series\"") {
            break serde_json::from_str::<Value>(&text).unwrap();
        }
        assert!(
            Instant::now() < until,
            "no httpd points: {text}\n{}",
            server.log_text()
        );
        std::thread::sleep(POLL);
    };
    let one = &series(&httpd)[0];
    let columns = one["columns"].as_array().unwrap();
    for column in ["time", "bind", "hostname", "writeReq", "req", "clientError"] {
        assert!(columns.iter().any(|c| c == column), "{column}: {one}");
    }
    let (_, retention) = server.query("SHOW RETENTION POLICIES ON _internal");
    let golden = golden();
    assert_eq!(
        serde_json::from_str::<Value>(&retention).unwrap(),
        golden["answers"]["SHOW RETENTION POLICIES ON _internal"]
    );
    let fields = query_json(&server, "SHOW FIELD KEYS ON _internal FROM \"httpd\"");
    for row in series(&fields)[0]["values"].as_array().unwrap() {
        assert_eq!(row[1], "integer", "{row}");
    }
    // The time of each point is the interval's start (whole seconds here).
    let time = one["values"][0][0].as_str().unwrap();
    assert!(!time.contains('.'), "{time}");
    let measurements = query_json(&server, "SHOW MEASUREMENTS ON _internal");
    let names: Vec<Value> = series(&measurements)[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].clone())
        .collect();
    for module in ["database", "httpd", "queryExecutor", "runtime", "write"] {
        assert!(names.iter().any(|n| *n == module), "{module}: {names:?}");
    }
}

/// `store-enabled = false`: no monitor thread runs and no `_internal` appears.
#[test]
fn store_disabled_creates_nothing() {
    let server = Server::start_with(&[
        ("SLUICE_MONITOR_STORE_ENABLED", "false"),
        ("SLUICE_MONITOR_STORE_INTERVAL", "1s"),
    ]);
    let pid = server.pid().expect("pid");
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect();
    assert!(threads.iter().any(|t| t == "sluice-cq"), "{threads:?}");
    assert!(
        !threads.iter().any(|t| t == "sluice-monitor"),
        "{threads:?}"
    );
    let (_, databases) = server.query("SHOW DATABASES");
    assert!(!databases.contains("_internal"), "{databases}");
}

/// `/debug/vars` shows the registry's statistics as influxd's expvar keys beside Sluice's own
/// object, and `/metrics` the same counters, with the same values.
#[test]
fn debug_vars_and_metrics_read_the_same_statistics() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", "m v=1 1").status, 204);
    assert_eq!(server.write("db=db", "m v=2 2").status, 204);
    let vars: Value =
        serde_json::from_slice(&request(server.address, "GET", "/debug/vars", &[], b"").body)
            .unwrap();
    let bind = counter_bind(&server);
    let httpd = &vars[format!("httpd:{bind}").as_str()];
    assert_eq!(httpd["name"], "httpd");
    assert_eq!(httpd["tags"]["bind"], bind.as_str());
    assert_eq!(httpd["values"]["writeReq"], 2);
    assert_eq!(httpd["values"]["req"], vars["sluice"]["requests"]);
    let metrics = request(server.address, "GET", "/metrics", &[], b"").text();
    let line = format!("sluice_stats_httpd_write_req{{bind=\"{bind}\"}} 2");
    assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    assert!(metrics.contains("sluice_stats_query_executor_queries_executed "));
}
