//! Replays the authentication and authorization answers recorded from InfluxDB 1.6.7 with
//! `auth-enabled = true` (tests/golden/auth/auth.jsonl, recorded from
//! tests/golden/auth/cases.py) against the real `sluice` binary with auth on and the same
//! shared secret. The cases are one story (bootstrap, then users and grants created by
//! their setup steps) and run in order on one server.
//!
//! Where Sluice deliberately answers otherwise, the case is in `DEVIATIONS` with the reason
//! (still run, not compared); where the answer varies from run to run, only the status is
//! compared (`STATUS_ONLY`).

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufReader, Write};

use common::golden::{compare, request_bytes};
use serde_json::Value;

/// Cases where Sluice answers differently on purpose, with the reason.
const DEVIATIONS: &[(&str, &str)] = &[
    (
        "auth/query/creds-form-body",
        "u/p in a /query form body are accepted (1.6.7 reads only the URL's; asked for by \
         issue 16, as later InfluxDB versions do)",
    ),
    (
        "auth/query/creds-token",
        "`Authorization: Token user:password` is accepted, as InfluxDB 1.8 does (1.6.7: 401)",
    ),
    (
        "auth/debug-vars/",
        "/debug/vars is admin-only with auth on (issue 16; InfluxDB gates it from 1.7 with \
         pprof-auth-enabled), 1.6.7 serves it to anyone",
    ),
];

/// Cases whose body changes per run: only the status is compared.
const STATUS_ONLY: &[(&str, &str)] = &[(
    "auth/query/show-queries-reader",
    "the query id and duration change per run",
)];

fn listed(list: &[(&str, &str)], name: &str) -> bool {
    list.iter().any(|(entry, _)| {
        if entry.ends_with('/') {
            name.starts_with(entry)
        } else {
            name == *entry
        }
    })
}

fn run_steps(server: &common::Server, steps: &Value) {
    for step in steps.as_array().into_iter().flatten() {
        let method = step[0].as_str().unwrap_or("POST");
        let target = step[1].as_str().unwrap_or("/");
        let body = step[2].as_str().unwrap_or("");
        let headers: &[(&str, &str)] = if target.starts_with("/query") {
            &[("Content-Type", "application/x-www-form-urlencoded")]
        } else {
            &[]
        };
        let answer = common::request(server.address, method, target, headers, body.as_bytes());
        assert!(
            answer.status < 300 && !answer.text().contains("\"error\""),
            "setup step {step} answered {} {}",
            answer.status,
            answer.text()
        );
    }
}

#[test]
fn golden_auth_answers_match_influxdb() {
    let corpus = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/auth/auth.jsonl"
    ))
    .expect("golden auth corpus");
    let server = common::Server::start_with(&[
        ("SLUICE_HTTP_AUTH_ENABLED", "true"),
        ("SLUICE_HTTP_SHARED_SECRET", "golden-secret"),
        // Every case logs in afresh: no bound on bcrypt checks a second.
        ("SLUICE_HTTP_PASSWORD_CHECKS_PER_SECOND", "0"),
    ]);
    let mut failures = Vec::new();
    let (mut compared, mut deviated) = (0, 0);
    let mut stale = Vec::new();
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("golden case is JSON");
        let name = case["name"].as_str().unwrap_or("?").to_string();
        run_steps(&server, &case["setup"]);
        let request = &case["request"];
        let mut stream = common::connect(server.address);
        stream.write_all(&request_bytes(request)).expect("send");
        let mut reader = BufReader::new(stream);
        let response = common::read_response(&mut reader, false)
            .unwrap_or_else(|e| panic!("{name}: no response: {e}"));
        let mut problems = compare(&case, &response);
        if listed(STATUS_ONLY, &name) {
            let status = case["response"]["status"].as_u64().unwrap_or(0) as u16;
            problems.retain(|_| false);
            if response.status != status {
                problems.push(format!("status {} != {status}", response.status));
            }
        }
        match (listed(DEVIATIONS, &name), problems.is_empty()) {
            (true, true) => stale.push(name),
            (true, false) => deviated += 1,
            (false, true) => compared += 1,
            (false, false) => failures.push(format!("{name}:\n    {}", problems.join("\n    "))),
        }
    }
    eprintln!(
        "golden auth: {compared} cases equal, {deviated} documented deviations, {} failures",
        failures.len()
    );
    assert!(
        stale.is_empty(),
        "these cases now match: remove them from DEVIATIONS: {stale:?}"
    );
    assert!(
        failures.is_empty(),
        "{} golden auth cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        compared >= 130,
        "only {compared} golden auth cases compared"
    );
}
