//! Replays the golden `/query` corpus recorded from InfluxDB 1.6.7
//! (tests/golden/query/answers.jsonl, made by tools/record_query_golden.py) against the real
//! `sluice` binary, and compares status, `Content-Type` and body byte for byte.
//!
//! Datasets: before a case, the case's dataset is loaded fresh when another dataset is
//! loaded or the previous case changed state (`mutates`): every database `SHOW DATABASES`
//! lists is dropped, then the dataset's load steps (tests/golden/query/datasets.json:
//! CREATE DATABASE, CREATE RETENTION POLICY, /write) are sent through Sluice's own /query
//! and /write. The recorder follows the same rule, so the server sees the same history.
//!
//! Pending cases: tests/golden/query/PENDING lists the cases Sluice cannot answer yet (one
//! name per line, `# reason` allowed). A pending case must fail — the test fails when one
//! starts passing, so the list only shrinks — and every other case must pass. With
//! `SLUICE_GOLDEN_QUERY_WRITE_PENDING=1` the test instead rewrites PENDING from the current
//! results (keeping the reasons of entries that stay) and passes.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

/// Environment variable that switches the test to rewriting PENDING.
const WRITE_PENDING_ENV: &str = "SLUICE_GOLDEN_QUERY_WRITE_PENDING";
/// The issue asks for at least this many recorded cases.
const MIN_CASE_COUNT: usize = 2500;
/// How many failures are described in full when the test fails.
const FAILURES_SHOWN_MAX: usize = 40;
/// Longest excerpt of a body quoted in a failure message or a PENDING reason.
const EXCERPT_CHARS_MAX: usize = 300;
const PENDING_REASON_CHARS_MAX: usize = 90;
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

fn corpus_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/query")
        .join(file)
}

/// One recorded case.
struct Case {
    name: String,
    dataset: String,
    mutates: bool,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
    status: u16,
    content_type: Option<String>,
    expected_body: String,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn load_cases() -> Vec<Case> {
    let path = corpus_path("answers.jsonl");
    let corpus = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    corpus
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let record: Value = serde_json::from_str(line).expect("answers.jsonl line is JSON");
            let request = &record["request"];
            let response = &record["response"];
            let headers = request["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| (text(&h[0]), text(&h[1])))
                .collect();
            Case {
                name: text(&record["name"]),
                dataset: text(&record["dataset"]),
                mutates: record["mutates"].as_bool().unwrap_or(false),
                method: text(&request["method"]),
                target: text(&request["target"]),
                headers,
                body: text(&request["body"]),
                status: response["status"].as_u64().unwrap_or(0) as u16,
                content_type: response["content_type"].as_str().map(str::to_string),
                expected_body: text(&response["body"]),
            }
        })
        .collect()
}

/// Dataset name → its load steps `(method, target, body)`.
fn load_datasets() -> BTreeMap<String, Vec<(String, String, String)>> {
    let path = corpus_path("datasets.json");
    let file = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let datasets: Value = serde_json::from_str(&file).expect("datasets.json is JSON");
    let mut out = BTreeMap::new();
    for (name, dataset) in datasets.as_object().expect("datasets.json is an object") {
        let steps = dataset["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|step| (text(&step[0]), text(&step[1]), text(&step[2])))
            .collect();
        out.insert(name.clone(), steps);
    }
    out
}

/// PENDING entries: case name → reason (the text after `#`, possibly empty).
fn read_pending() -> BTreeMap<String, String> {
    let Ok(file) = std::fs::read_to_string(corpus_path("PENDING")) else {
        return BTreeMap::new();
    };
    let mut pending = BTreeMap::new();
    for line in file.lines() {
        let (name, reason) = match line.split_once('#') {
            Some((name, reason)) => (name.trim(), reason.trim()),
            None => (line.trim(), ""),
        };
        if !name.is_empty() {
            pending.insert(name.to_string(), reason.to_string());
        }
    }
    pending
}

fn write_pending(failing: &BTreeMap<String, String>) {
    let mut out = String::from(
        "# Golden /query cases Sluice does not answer like InfluxDB 1.6.7 yet (see README.md).\n\
         # tests/golden_query.rs requires every case listed here to fail and every other to\n\
         # pass; remove a line when its case starts passing. Regenerate with\n\
         # SLUICE_GOLDEN_QUERY_WRITE_PENDING=1 cargo test --test golden_query\n",
    );
    for (name, reason) in failing {
        if reason.is_empty() {
            out.push_str(&format!("{name}\n"));
        } else {
            out.push_str(&format!("{name}  # {reason}\n"));
        }
    }
    std::fs::write(corpus_path("PENDING"), out).expect("write PENDING");
}

/// An InfluxQL identifier: bare when it can be, else double-quoted (as the recorder does).
fn quote_ident(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if bare {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Drops every database SHOW DATABASES lists.
fn clear_server(server: &common::Server) -> Result<(), String> {
    let (status, body) = server.query("SHOW DATABASES");
    if status != 200 {
        return Err(format!("SHOW DATABASES answered {status}: {body}"));
    }
    let answer: Value = serde_json::from_str(&body).map_err(|e| format!("SHOW DATABASES: {e}"))?;
    let rows = answer["results"][0]["series"][0]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for row in rows {
        let name = text(&row[0]);
        let (status, body) = server.query(&format!("DROP DATABASE {}", quote_ident(&name)));
        if status != 200 || body.contains("\"error\"") {
            return Err(format!("DROP DATABASE {name} answered {status}: {body}"));
        }
    }
    Ok(())
}

/// Clears the server and sends the dataset's steps; the problems met, if any (the cases of
/// the dataset then fail on their own).
fn load_dataset(server: &common::Server, steps: &[(String, String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(problem) = clear_server(server) {
        problems.push(problem);
    }
    for (method, target, body) in steps {
        let headers: &[(&str, &str)] = if target.starts_with("/query") {
            &[("Content-Type", FORM_CONTENT_TYPE)]
        } else {
            &[]
        };
        let response = common::request(server.address, method, target, headers, body.as_bytes());
        let answer = response.text();
        if !(200..300).contains(&response.status) || answer.contains("\"error\"") {
            problems.push(format!(
                "{method} {target} answered {}: {}",
                response.status,
                excerpt(&answer, EXCERPT_CHARS_MAX)
            ));
        }
    }
    problems
}

fn excerpt(text: &str, chars_max: usize) -> String {
    let mut out: String = text.chars().take(chars_max).collect();
    if text.chars().count() > chars_max {
        out.push('…');
    }
    out
}

/// How Sluice's answer to a case differs from InfluxDB's.
struct Mismatch {
    /// every difference, for the failure report
    description: String,
    /// a one-line reason for PENDING
    reason: String,
}

/// Sends the case request and compares the answer.
fn run_case(server: &common::Server, case: &Case) -> Result<(), Mismatch> {
    let headers: Vec<(&str, &str)> = case
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let response = common::request(
        server.address,
        &case.method,
        &case.target,
        &headers,
        case.body.as_bytes(),
    );
    let mut problems = Vec::new();
    if response.status != case.status {
        problems.push(format!(
            "status {} (expected {})",
            response.status, case.status
        ));
    }
    let content_type = response.header("Content-Type").map(str::to_string);
    if content_type != case.content_type {
        problems.push(format!(
            "Content-Type {content_type:?} (expected {:?})",
            case.content_type
        ));
    }
    if response.body != case.expected_body.as_bytes() {
        problems.push(format!(
            "body\n      got:      {:?}\n      expected: {:?}",
            excerpt(&response.text(), EXCERPT_CHARS_MAX),
            excerpt(&case.expected_body, EXCERPT_CHARS_MAX)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let reason = match first_error(&response.text()) {
        Some(error) => format!("sluice: {error}"),
        None if response.status != case.status => {
            format!("status {} (expected {})", response.status, case.status)
        }
        None => "answer differs".to_string(),
    };
    Err(Mismatch {
        description: problems.join("; "),
        reason: excerpt(&reason, PENDING_REASON_CHARS_MAX),
    })
}

/// The first error text of a JSON answer (top-level or of a statement), if any.
fn first_error(body: &str) -> Option<String> {
    // A whole (possibly pretty) document, or the first line of a chunked=true stream.
    let answer: Value = serde_json::from_str(body)
        .or_else(|_| serde_json::from_str(body.lines().next().unwrap_or_default()))
        .ok()?;
    if let Some(error) = answer["error"].as_str() {
        return Some(error.to_string());
    }
    answer["results"]
        .as_array()?
        .iter()
        .find_map(|result| result["error"].as_str().map(str::to_string))
}

#[test]
fn golden_query_answers_match_influxdb() {
    let cases = load_cases();
    let datasets = load_datasets();
    let pending = read_pending();
    let write_mode = std::env::var(WRITE_PENDING_ENV).is_ok_and(|v| v == "1");

    assert!(
        cases.len() >= MIN_CASE_COUNT,
        "only {} golden query cases",
        cases.len()
    );
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names.len(),
        cases.len(),
        "duplicate case names in answers.jsonl"
    );
    let unknown: Vec<&String> = pending
        .keys()
        .filter(|name| !names.contains(name.as_str()))
        .collect();
    assert!(
        write_mode || unknown.is_empty(),
        "PENDING lists cases that are not in answers.jsonl: {unknown:?}"
    );

    let server = common::Server::start();
    let mut loaded: Option<&str> = None;
    let mut load_problems: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut failing: BTreeMap<String, String> = BTreeMap::new();
    let mut unexpected_failures = Vec::new();
    let mut now_passing = Vec::new();
    let mut passed = 0;
    for case in &cases {
        if loaded != Some(case.dataset.as_str()) {
            let steps = datasets
                .get(&case.dataset)
                .unwrap_or_else(|| panic!("case {}: unknown dataset {}", case.name, case.dataset));
            let problems = load_dataset(&server, steps);
            if !problems.is_empty() {
                load_problems.entry(&case.dataset).or_insert(problems);
            }
            loaded = Some(case.dataset.as_str());
        }
        let result = run_case(&server, case);
        if case.mutates {
            loaded = None;
        }
        match result {
            Ok(()) => {
                passed += 1;
                if pending.contains_key(&case.name) {
                    now_passing.push(case.name.clone());
                }
            }
            Err(mismatch) => {
                let reason = match pending.get(&case.name) {
                    Some(reason) if !reason.is_empty() => reason.clone(),
                    _ => mismatch.reason,
                };
                if !pending.contains_key(&case.name) {
                    unexpected_failures.push(format!("{}: {}", case.name, mismatch.description));
                }
                failing.insert(case.name.clone(), reason);
            }
        }
    }

    println!(
        "golden query: {passed} passed, {} pending",
        cases.len() - passed
    );
    for (dataset, problems) in &load_problems {
        println!(
            "dataset {dataset} did not load cleanly: {}",
            problems.join(" | ")
        );
    }
    if write_mode {
        write_pending(&failing);
        println!("rewrote PENDING with {} cases", failing.len());
        return;
    }
    let mut report = String::new();
    if !now_passing.is_empty() {
        report.push_str(&format!(
            "{} pending cases now pass — remove them from tests/golden/query/PENDING:\n  {}\n",
            now_passing.len(),
            now_passing.join("\n  ")
        ));
    }
    if !unexpected_failures.is_empty() {
        report.push_str(&format!(
            "{} cases not in PENDING fail:\n",
            unexpected_failures.len()
        ));
        for failure in unexpected_failures.iter().take(FAILURES_SHOWN_MAX) {
            report.push_str(&format!("  {failure}\n"));
        }
    }
    assert!(report.is_empty(), "{report}");
}
