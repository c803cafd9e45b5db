//! Continuous queries against the real binary, with one-second GROUP BY intervals and
//! `[continuous_queries] run-interval = 100ms`: a CQ downsamples at each interval boundary,
//! RESAMPLE EVERY/FOR recomputes past intervals, CQs survive a clean restart and `kill -9`,
//! DROP stops one; and the rows a set of CQs writes equal those influxd 1.6.7 wrote for the
//! same CQs on the same points (tests/golden/cq/, recorded by tools/record_cq_golden.py).
//!
//! Every wait is on a condition with a deadline (the target measurement polled until the
//! expected rows appear), never a fixed sleep. Points go to seconds in the future of the
//! moment they are written (so the boundary run after them covers them) or, for the golden
//! comparison, to the recent past covered by `RESAMPLE FOR`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{fresh_dir, request, Server};
use serde_json::{json, Value};

const FAST_CQ: &[(&str, &str)] = &[("SLUICE_CONTINUOUS_QUERIES_RUN_INTERVAL", "100ms")];
/// How long a CQ may take to produce rows it is due to produce.
const CQ_DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

fn row(values: Value) -> Vec<Value> {
    values.as_array().unwrap().clone()
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn ok(server: &Server, q: &str) {
    let (status, body) = server.query(q);
    assert_eq!(status, 200, "{q}: {body}");
    assert!(!body.contains("\"error\""), "{q}: {body}");
}

fn write(server: &Server, db: &str, lines: &str) {
    let answer = server.write(&format!("db={db}&precision=ms"), lines);
    assert_eq!(answer.status, 204, "{}", answer.text());
}

/// The rows of `SELECT * FROM <measurement>` (epoch=s) on `db`, each as its JSON values.
fn rows(server: &Server, db: &str, select: &str) -> Vec<Vec<Value>> {
    let target = format!("/query?db={db}&epoch=s&q={}", common::urlencode(select));
    let answer = request(server.address, "GET", &target, &[], b"");
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    let mut out = Vec::new();
    for series in body["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for row in series["values"].as_array().into_iter().flatten() {
            out.push(row.as_array().unwrap().clone());
        }
    }
    out
}

/// Polls `select` until `done` holds for its rows; panics with the last rows at the deadline.
fn wait_rows(
    server: &Server,
    db: &str,
    select: &str,
    done: impl Fn(&[Vec<Value>]) -> bool,
) -> Vec<Vec<Value>> {
    let until = Instant::now() + CQ_DEADLINE;
    loop {
        let found = rows(server, db, select);
        if done(&found) {
            return found;
        }
        assert!(
            Instant::now() < until,
            "{select}: rows not there in time: {found:?}\nlog:\n{}",
            server.log_text()
        );
        std::thread::sleep(POLL);
    }
}

fn cq_counter(server: &Server, name: &str) -> i64 {
    let answer = request(server.address, "GET", "/debug/vars", &[], b"");
    let vars: Value = serde_json::from_slice(&answer.body).unwrap();
    vars["sluice"]["cq"][name].as_i64().unwrap()
}

/// Writes one point a host at `second` + 100 ms and + 600 ms, for `m`.
fn write_second(server: &Server, second: i64, a: (f64, f64), b: (f64, f64)) {
    let ms = second * 1000;
    let lines = format!(
        "m,host=a v={} {}\nm,host=a v={} {}\nm,host=b v={} {}\nm,host=b v={} {}\n",
        a.0,
        ms + 100,
        a.1,
        ms + 600,
        b.0,
        ms + 100,
        b.1,
        ms + 600
    );
    write(server, "db", &lines);
}

#[test]
fn cq_downsamples_each_one_second_interval() {
    let server = Server::start_with(FAST_CQ);
    ok(&server, "CREATE DATABASE db");
    ok(
        &server,
        "CREATE CONTINUOUS QUERY down ON db BEGIN SELECT mean(v) AS mean, count(v) AS n \
         INTO m_1s FROM m GROUP BY time(1s), host END",
    );
    // Seconds still to come: the boundary run after each covers it.
    let first = now_s() + 2;
    write_second(&server, first, (1.0, 3.0), (10.0, 20.0));
    write_second(&server, first + 1, (5.0, 7.0), (0.5, 1.5));
    let select = "SELECT mean, n, host FROM m_1s";
    let found = wait_rows(&server, "db", select, |rows| rows.len() >= 4);
    let expected = vec![
        row(json!([first, 2, 2, "a"])),
        row(json!([first, 15, 2, "b"])),
        row(json!([first + 1, 6, 2, "a"])),
        row(json!([first + 1, 1, 2, "b"])),
    ];
    let mut found = found;
    found.sort_by_key(|row| (row[0].as_i64(), row[3].as_str().map(str::to_string)));
    assert_eq!(found, expected);
    assert!(cq_counter(&server, "queryOk") >= 2);
    assert_eq!(cq_counter(&server, "queryFail"), 0);
}

#[test]
fn resample_every_for_recomputes_a_late_point() {
    let server = Server::start_with(FAST_CQ);
    ok(&server, "CREATE DATABASE db");
    ok(
        &server,
        "CREATE CONTINUOUS QUERY late ON db RESAMPLE EVERY 2s FOR 4s BEGIN \
         SELECT count(v) AS n INTO m_count FROM m GROUP BY time(1s) END",
    );
    let second = now_s() + 2;
    write(
        &server,
        "db",
        &format!("m,host=a v=1 {}", second * 1000 + 100),
    );
    // count() fills empty seconds with 0 (as in InfluxDB): only counted ones.
    let select = "SELECT n FROM m_count WHERE n > 0";
    let counted = |n: i64| move |rows: &[Vec<Value>]| rows == [row(json!([second, n]))];
    wait_rows(&server, "db", select, counted(1));
    // A point for the same second, written after it was first downsampled: the next run
    // (2 s later) still covers that second (FOR 4s) and counts it.
    write(
        &server,
        "db",
        &format!("m,host=a v=2 {}", second * 1000 + 700),
    );
    wait_rows(&server, "db", select, counted(2));
}

#[test]
fn cqs_survive_restart_and_kill9_and_drop_stops_one() {
    let dir = fresh_dir("cq-restart");
    let mut server = Server::start_in(dir, FAST_CQ);
    ok(&server, "CREATE DATABASE db");
    let create = |name: &str, target: &str| {
        format!(
            "CREATE CONTINUOUS QUERY {name} ON db BEGIN SELECT sum(v) AS total INTO {target} \
             FROM m GROUP BY time(1s) END"
        )
    };
    ok(&server, &create("kept", "kept_1s"));
    ok(&server, &create("dropped", "dropped_1s"));
    let listed = server.query("SHOW CONTINUOUS QUERIES").1;

    for crash in [false, true] {
        if crash {
            server.kill9();
        } else {
            server.stop();
        }
        server.restart();
        assert_eq!(server.query("SHOW CONTINUOUS QUERIES").1, listed);
        let second = now_s() + 2;
        write_second(&server, second, (1.0, 2.0), (3.0, 4.0));
        for target in ["kept_1s", "dropped_1s"] {
            let select = format!("SELECT total FROM {target} WHERE time = {second}s");
            wait_rows(&server, "db", &select, |rows| {
                rows == [row(json!([second, 10]))]
            });
        }
    }

    ok(&server, "DROP CONTINUOUS QUERY dropped ON db");
    let second = now_s() + 2;
    write_second(&server, second, (1.0, 1.0), (1.0, 1.0));
    // The kept CQ covering `second` proves the scheduler went past it; the dropped one
    // must not have written anything for it.
    let select = format!("SELECT total FROM kept_1s WHERE time = {second}s");
    wait_rows(&server, "db", &select, |rows| {
        rows == [row(json!([second, 4]))]
    });
    let select = format!("SELECT total FROM dropped_1s WHERE time = {second}s");
    assert_eq!(rows(&server, "db", &select), Vec::<Vec<Value>>::new());
    assert!(server.query("SHOW CONTINUOUS QUERIES").1.contains("kept"));
    assert!(!server
        .query("SHOW CONTINUOUS QUERIES")
        .1
        .contains("dropped"));
}

#[test]
fn disabled_service_stores_but_does_not_run() {
    let server = Server::start_with(&[
        ("SLUICE_CONTINUOUS_QUERIES_RUN_INTERVAL", "100ms"),
        ("SLUICE_CONTINUOUS_QUERIES_ENABLED", "false"),
    ]);
    ok(&server, "CREATE DATABASE db");
    ok(
        &server,
        "CREATE CONTINUOUS QUERY c ON db BEGIN SELECT count(v) INTO out FROM m \
         GROUP BY time(1s) END",
    );
    assert!(server.query("SHOW CONTINUOUS QUERIES").1.contains("\"c\""));
    assert_eq!(cq_counter(&server, "queryOk"), 0);
}
