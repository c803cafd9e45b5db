//! Runs the golden corpus `tests/influxql/parse_errors.txt` (recorded from influxd 1.6.7).
//!
//! Format (documented in the corpus file too): blank lines and `#` lines are ignored; each
//! case is a `query: <text>` line followed by either `error: <message at line L, char C>`
//! or `ok: <statement count>`. In query text,
//! `\u{HEX}` stands for that character (for newlines, tabs, NUL...); every other character,
//! backslashes included, is literal. The query is trimmed of leading and trailing
//! whitespace first, as InfluxDB's HTTP handler does before parsing. `ok` cases must also
//! survive print-and-reparse. The file is written by `tools/record_influxql_corpus.py`
//! from the query list `tests/influxql/queries.txt`.

use super::parse_query;

const CORPUS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/influxql/parse_errors.txt"
));

/// Minimum number of cases the corpus must hold (guards against a truncated file).
const MIN_CORPUS_CASES: usize = 600;

fn decode_query(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(index) = rest.find("\\u{") {
        out.push_str(&rest[..index]);
        let after = &rest[index + 3..];
        let close = after.find('}').expect("unterminated \\u{ in corpus");
        let code = u32::from_str_radix(&after[..close], 16).expect("bad hex in corpus");
        out.push(char::from_u32(code).expect("bad char in corpus"));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

enum Expected {
    Error(String),
    Ok(usize),
}

fn cases() -> Vec<(String, String, Expected)> {
    let mut cases = Vec::new();
    let mut query: Option<String> = None;
    for line in CORPUS.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(raw) = line.strip_prefix("query: ") {
            assert!(query.is_none(), "query without expectation before {line:?}");
            query = Some(raw.to_string());
        } else if let Some(message) = line.strip_prefix("error: ") {
            let raw = query.take().expect("error: without query:");
            cases.push((
                raw.clone(),
                decode_query(&raw),
                Expected::Error(message.to_string()),
            ));
        } else if let Some(count) = line.strip_prefix("ok: ") {
            let raw = query.take().expect("ok: without query:");
            let count = count.parse().expect("ok: needs a count");
            cases.push((raw.clone(), decode_query(&raw), Expected::Ok(count)));
        } else {
            panic!("unrecognised corpus line {line:?}");
        }
    }
    assert!(query.is_none(), "trailing query without expectation");
    cases
}

#[test]
fn corpus_matches_influxdb() {
    let cases = cases();
    assert!(
        cases.len() >= MIN_CORPUS_CASES,
        "corpus has only {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for (raw, query, expected) in &cases {
        let got = parse_query(query.trim());
        match (expected, &got) {
            (Expected::Error(want), Err(error)) if error.to_string() == *want => {}
            (Expected::Ok(count), Ok(parsed)) if parsed.statements.len() == *count => {
                let printed = parsed.to_string();
                if parse_query(&printed).as_ref() != Ok(parsed) {
                    failures.push(format!(
                        "{raw}\n  reprint {printed:?} does not reparse equal"
                    ));
                }
            }
            (Expected::Error(want), _) => {
                failures.push(format!("{raw}\n  want error {want}\n  got {got:?}"));
            }
            (Expected::Ok(count), _) => {
                failures.push(format!("{raw}\n  want {count} statements\n  got {got:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const PRINTED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/influxql/printed.txt"
));

/// Database and retention policy InfluxDB filled in before printing the recorded forms.
const PRINTED_DATABASE: &str = "pdb";
const PRINTED_RETENTION_POLICY: &str = "autogen";

/// Where our printed form differs from InfluxDB's on purpose, so that it reads back the
/// same tree: (InfluxDB's text, ours). InfluxDB rounds floats to three decimals and prints
/// an integral float `fill()` value as an integer (which reads back as an integer fill).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    ("1.235 * count(x)", "1.23456 * count(x)"),
    ("fill(2)", "fill(2.0)"),
];

/// Fills in the database and retention policy on every measurement, as InfluxDB does
/// before storing a continuous query.
fn fill_in_defaults(statement: &mut super::SelectStatement) {
    let fill = |measurement: &mut super::Measurement| {
        if measurement.database.is_empty() {
            measurement.database = PRINTED_DATABASE.to_string();
        }
        if measurement.retention_policy.is_empty() {
            measurement.retention_policy = PRINTED_RETENTION_POLICY.to_string();
        }
    };
    if let Some(target) = &mut statement.target {
        fill(target);
    }
    for source in &mut statement.sources {
        match source {
            super::Source::Measurement(measurement) => fill(measurement),
            super::Source::Subquery(inner) => fill_in_defaults(inner),
        }
    }
}

#[test]
fn printed_forms_match_influxdb() {
    let mut select = None;
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in PRINTED.lines() {
        if let Some(text) = line.strip_prefix("select: ") {
            select = Some(text.to_string());
        } else if let Some(want) = line.strip_prefix("printed: ") {
            let text = select.take().expect("printed: without select:");
            cases += 1;
            let mut want = want.to_string();
            for (theirs, ours) in KNOWN_DIFFERENCES {
                want = want.replace(theirs, ours);
            }
            let parsed = parse_query(&text).map(|query| query.statements);
            let mut statement = match parsed.as_deref() {
                Ok([super::Statement::Select(statement)]) => statement.clone(),
                other => {
                    failures.push(format!("{text}\n  not one SELECT: {other:?}"));
                    continue;
                }
            };
            fill_in_defaults(&mut statement);
            let got = statement.to_string();
            if got != want {
                failures.push(format!("{text}\n  want {want}\n  got  {got}"));
            }
        }
    }
    assert!(cases > 0, "no printed cases");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
