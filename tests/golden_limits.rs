//! Replays the series-limit answers recorded from InfluxDB 1.6.7 with `[data]
//! max-series-per-database = 3` and `max-values-per-tag = 2` (tests/golden/limits/limits.jsonl,
//! recorded from tests/golden/limits/cases.py) against the real `sluice` binary with the same
//! limits: each answer, and what the case's database holds afterwards.
//!
//! Where Sluice deliberately answers otherwise, the case is in `DEVIATIONS` with the reason
//! (still run, not compared).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufReader, Write};

use common::golden::{compare, request_bytes};
use serde_json::Value;

/// Cases where Sluice answers differently on purpose, with the reason.
const DEVIATIONS: &[(&str, &str)] = &[
    (
        "limits/values-several-dropped",
        "1.6.7 reports the first refused value (h=3) but, through a key slice it compacts in \
         place, stores that point and drops a good one instead; Sluice drops the refused \
         points and keeps the others (same status and text)",
    ),
    (
        "limits/series-existing-kept",
        "the same 1.6.7 slice bug silently loses the existing series' point written before \
         the refused new series (a v=2); Sluice keeps it (same status and text)",
    ),
    (
        "limits/series-new-shard-existing-series",
        "1.6.7 does not hold the existing series' point in the other shard group (a v=3 at \
         2020) afterwards; Sluice keeps it (same status and text)",
    ),
    (
        "limits/values-unicode",
        "same status, body and text; the recorder read the X-Influxdb-Error header's UTF-8 \
         bytes as Latin-1",
    ),
];

fn run_steps(server: &common::Server, steps: &Value) {
    for step in steps.as_array().into_iter().flatten() {
        let target = step[1].as_str().unwrap_or("/");
        let body = step[2].as_str().unwrap_or("");
        let headers: &[(&str, &str)] = if target.starts_with("/query") {
            &[("Content-Type", "application/x-www-form-urlencoded")]
        } else {
            &[]
        };
        let answer = common::request(server.address, "POST", target, headers, body.as_bytes());
        assert!(answer.status < 300, "setup step {step}: {}", answer.text());
    }
}

/// The points of `db` as `series field=value time` lines, sorted (the recorder's form).
fn stored_lines(server: &common::Server, db: &str) -> Vec<String> {
    let (status, text) = server.query(&format!("SHOW SERIES ON {db}"));
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let mut lines = BTreeSet::new();
    let keys = answer["results"][0]["series"][0]["values"]
        .as_array()
        .cloned();
    for key in keys.into_iter().flatten() {
        let key = key[0].as_str().unwrap().to_string();
        let measurement = measurement_of(&key);
        let where_tags = tag_condition(&key);
        let q = format!(
            "SELECT * FROM {db}..\"{}\"{where_tags}",
            measurement.replace('"', "\\\"")
        );
        let target = format!("/query?epoch=ns&q={}", common::urlencode(&q));
        let text = common::request(server.address, "GET", &target, &[], b"").text();
        let rows: Value = serde_json::from_str(&text).unwrap();
        for series in rows["results"][0]["series"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let columns: Vec<&str> = series["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            for row in series["values"].as_array().into_iter().flatten() {
                let time = row[0].as_i64().unwrap();
                for (column, value) in columns.iter().zip(row.as_array().unwrap()).skip(1) {
                    if value.is_null() || key.contains(&format!(",{column}=")) {
                        continue;
                    }
                    lines.insert(format!("{key} {column}={value} {time}"));
                }
            }
        }
    }
    lines.into_iter().collect()
}

fn measurement_of(key: &str) -> String {
    let mut out = String::new();
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().unwrap_or('\\')),
            ',' => break,
            c => out.push(c),
        }
    }
    out
}

/// ` WHERE tag = 'value' AND …` selecting exactly the series `key` (simple keys only: the
/// corpus' tags have no escapes).
fn tag_condition(key: &str) -> String {
    let tags: Vec<String> = key
        .split(',')
        .skip(if key.starts_with("t\\") { 2 } else { 1 })
        .map(|pair| {
            let (tag, value) = pair.split_once('=').unwrap();
            format!("\"{tag}\" = '{value}'")
        })
        .collect();
    if tags.is_empty() {
        String::new()
    } else {
        format!(" WHERE {} GROUP BY *", tags.join(" AND "))
    }
}

/// The recorder's stored lines with floats printed as JSON numbers print them.
fn expected_lines(case: &Value) -> Vec<String> {
    let mut lines: Vec<String> = case["stored"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    lines.sort();
    lines
}

#[test]
fn golden_limit_answers_match_influxdb() {
    let corpus = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/limits/limits.jsonl"
    ))
    .expect("golden limits corpus");
    let server = common::Server::start_with(&[
        ("SLUICE_DATA_MAX_SERIES_PER_DATABASE", "3"),
        ("SLUICE_DATA_MAX_VALUES_PER_TAG", "2"),
    ]);
    let mut failures = Vec::new();
    let (mut compared, mut deviated) = (0, 0);
    let mut stale = Vec::new();
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("golden case is JSON");
        let name = case["name"].as_str().unwrap_or("?").to_string();
        run_steps(&server, &case["setup"]);
        let mut stream = common::connect(server.address);
        stream
            .write_all(&request_bytes(&case["request"]))
            .expect("send");
        let mut reader = BufReader::new(stream);
        let response = common::read_response(&mut reader, false)
            .unwrap_or_else(|e| panic!("{name}: no response: {e}"));
        let mut problems = compare(&case, &response);
        if let Some(db) = case["db"].as_str() {
            let stored = stored_lines(&server, db);
            let expected = expected_lines(&case);
            if stored != expected {
                problems.push(format!("stored {stored:?} != {expected:?}"));
            }
        }
        run_steps(&server, &case["teardown"]);
        let deviation = DEVIATIONS.iter().any(|(entry, _)| *entry == name);
        match (deviation, problems.is_empty()) {
            (true, true) => stale.push(name),
            (true, false) => deviated += 1,
            (false, true) => compared += 1,
            (false, false) => failures.push(format!("{name}:\n    {}", problems.join("\n    "))),
        }
    }
    eprintln!(
        "golden limits: {compared} cases equal, {deviated} documented deviations, {} failures",
        failures.len()
    );
    assert!(
        stale.is_empty(),
        "now matching, remove from DEVIATIONS: {stale:?}"
    );
    assert!(
        failures.is_empty(),
        "{} golden limit cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        compared >= 23,
        "only {compared} golden limit cases compared"
    );
}
