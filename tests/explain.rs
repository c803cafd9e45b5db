//! EXPLAIN and EXPLAIN ANALYZE end to end, where a whole-answer golden comparison cannot
//! work: ANALYZE prints timings, and the storage numbers depend on the layout. The expected
//! wording is InfluxDB 1.6.7's, recorded on 2026-12-07 with influxd 1.6.7 on the same
//! points (`g,host=a f=1,s="x" 60s`, `g,host=b f=2 120s`, `g,host=a f=3 180s`); the
//! deterministic answers are golden cases (`tests/golden/query/cases.py`, `explain/*`).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Server;

const POINTS: &str = "g,host=a f=1,s=\"x\" 60000000000\n\
                      g,host=b f=2 120000000000\n\
                      g,host=a f=3 180000000000\n";

/// The lines of the single-column answer of one statement.
fn plan_lines(answer: &str) -> (String, Vec<String>) {
    let json: serde_json::Value = serde_json::from_str(answer).unwrap();
    let series = &json["results"][0]["series"][0];
    let column = series["columns"][0].as_str().unwrap().to_string();
    let lines = series["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_str().unwrap().to_string())
        .collect();
    (column, lines)
}

/// `line` with every Go duration (`41.001929267s`, `214.308µs`) and shard id masked.
fn masked(line: &str) -> String {
    for key in ["execution_time: ", "planning_time: ", "total_time: "] {
        if let Some(at) = line.find(key) {
            let value = &line[at + key.len()..];
            let is_duration = value
                .trim_end_matches(['s', 'm', 'µ', 'n'])
                .parse::<f64>()
                .is_ok();
            assert!(is_duration, "not a duration: {line:?}");
            return format!("{}T", &line[..at + key.len()]);
        }
    }
    match line.find("shard_id: ") {
        Some(at) => format!("{}N", &line[..at + "shard_id: ".len()]),
        None => line.to_string(),
    }
}

#[test]
fn explain_analyze_prints_the_execution_tree_of_influxdb() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", POINTS).status, 204);
    let (status, answer) = server.query("EXPLAIN ANALYZE SELECT mean(f), max(f) FROM db..g");
    assert_eq!(status, 200, "{answer}");
    let (column, lines) = plan_lines(&answer);
    assert_eq!(column, "EXPLAIN ANALYZE");
    let lines: Vec<String> = lines.iter().map(|l| masked(l)).collect();
    // 1.6.7's answer to the same statement (durations and shard ids masked; the bar of a
    // continuing branch is padded with two no-break spaces). Its counts are of its TSM
    // cursors; Sluice's are series per iterator and the column-file blocks in range (none:
    // the points are still in memory).
    let iterator = |expr: &str, last: bool| {
        let (branch, pad) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│\u{a0}\u{a0} ")
        };
        let at = format!("        {pad}");
        let mut out = vec![
            format!("        {branch}iterator_scanner"),
            format!("{at}├── labels"),
            format!("{at}│\u{a0}\u{a0} └── expr: {expr}"),
            format!("{at}└── create_iterator"),
        ];
        let inner = format!("{at}    ");
        out.push(format!("{inner}├── labels"));
        out.push(format!("{inner}│\u{a0}\u{a0} ├── measurement: g"));
        out.push(format!("{inner}│\u{a0}\u{a0} └── shard_id: N"));
        out.push(format!("{inner}├── cursors_ref: 2"));
        out.push(format!("{inner}├── cursors_aux: 0"));
        out.push(format!("{inner}├── cursors_cond: 0"));
        for kind in ["float", "integer", "unsigned", "string", "boolean"] {
            out.push(format!("{inner}├── {kind}_blocks_decoded: 0"));
            out.push(format!("{inner}├── {kind}_blocks_size_bytes: 0"));
        }
        out.push(format!("{inner}└── planning_time: T"));
        out
    };
    let mut expected: Vec<String> = [
        ".",
        "└── select",
        "    ├── execution_time: T",
        "    ├── planning_time: T",
        "    ├── total_time: T",
        "    └── build_cursor",
        "        ├── labels",
        "        │\u{a0}\u{a0} └── statement: SELECT mean(f::float), max(f::float) FROM db.autogen.g",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    expected.extend(iterator("mean(f::float)", false));
    expected.extend(iterator("max(f::float)", true));
    expected.push(String::new());
    assert_eq!(lines, expected);

    // A measurement with nothing to read: the cursor with its statement only (1.6.7 alike).
    let (_, answer) = server.query("EXPLAIN ANALYZE SELECT f FROM db..missing");
    let (_, lines) = plan_lines(&answer);
    let lines: Vec<String> = lines.iter().map(|l| masked(l)).collect();
    assert_eq!(
        lines,
        [
            ".",
            "└── select",
            "    ├── execution_time: T",
            "    ├── planning_time: T",
            "    ├── total_time: T",
            "    └── build_cursor",
            "        └── labels",
            "            └── statement: SELECT f FROM db.autogen.missing",
            "",
        ]
    );
}

#[test]
fn explain_analyze_of_a_subquery_nests_its_cursor() {
    let server = Server::start();
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", POINTS).status, 204);
    let (_, answer) = server.query(
        "EXPLAIN ANALYZE SELECT max(f) FROM (SELECT mean(f) AS f FROM db..g GROUP BY time(1m))",
    );
    let (_, lines) = plan_lines(&answer);
    // 1.6.7's labels, the outer fields typed by the subquery's columns.
    let expected_labels = [
        "        │\u{a0}\u{a0} └── statement: SELECT max(f::float) FROM (SELECT mean(f::float) AS f FROM db.autogen.g GROUP BY time(1m))",
        "            │\u{a0}\u{a0} └── expr: max(f::float)",
        "            └── build_cursor",
        "                │\u{a0}\u{a0} └── statement: SELECT mean(f::float) AS f FROM db.autogen.g GROUP BY time(1m)",
        "                    │\u{a0}\u{a0} └── expr: mean(f::float)",
    ];
    for label in expected_labels {
        assert!(lines.iter().any(|l| l == label), "{label:?} in {lines:#?}");
    }
}

#[test]
fn explain_keeps_the_select_bounds() {
    let server = Server::start_with(&[("SLUICE_COORDINATOR_MAX_SELECT_SERIES", "1")]);
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", POINTS).status, 204);
    for statement in [
        "EXPLAIN SELECT f FROM db..g",
        "EXPLAIN ANALYZE SELECT f FROM db..g",
    ] {
        let (_, answer) = server.query(statement);
        assert!(
            answer.contains("max-select-series limit exceeded: (2/1)"),
            "{statement}: {answer}"
        );
    }
}

#[test]
fn explain_counts_the_blocks_of_column_files() {
    let server = Server::start_with(&[
        ("SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "100ms"),
        ("SLUICE_DATA_CACHE_SNAPSHOT_MEMORY_SIZE", "64k"),
    ]);
    server.query("CREATE DATABASE db");
    assert_eq!(server.write("db=db", POINTS).status, 204);
    // The cold cache is written to a column file in the background; wait for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lines = loop {
        let (_, answer) = server.query("EXPLAIN SELECT f FROM db..g");
        let (column, lines) = plan_lines(&answer);
        assert_eq!(column, "QUERY PLAN");
        if lines.iter().any(|l| l == "NUMBER OF FILES: 1") {
            break lines;
        }
        assert!(Instant::now() < deadline, "no column file: {lines:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(lines[0], "EXPRESSION: <nil>");
    assert_eq!(lines[1], "AUXILIARY FIELDS: f::float");
    assert_eq!(lines[2], "NUMBER OF SHARDS: 1");
    assert_eq!(lines[3], "NUMBER OF SERIES: 2");
    assert_eq!(lines[4], "CACHED VALUES: 0");
    // One block of f per series (host=a and host=b).
    assert_eq!(lines[6], "NUMBER OF BLOCKS: 2");
    let bytes: u64 = lines[7]
        .strip_prefix("SIZE OF BLOCKS: ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(bytes > 0, "{lines:?}");
    assert_eq!(lines.len(), 8);
}
