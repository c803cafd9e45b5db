//! Query mode: `--connections` threads run the queries of `--queries FILE` round-robin with
//! `GET /query?db=..&q=..` until `--duration` has passed or, with `--repeat N`, until the list
//! has run N times in total.
//!
//! Owns: reading the query file, the query schedule and the per-query summary. A query counts
//! as failed when the status is not 200 or the body carries an `"error"` key (InfluxDB reports
//! statement errors inside a 200 response).

use crate::args::Options;
use crate::http_client::{percent_encode, Connection, Endpoint};
use crate::json::Json;
use crate::stats::{errors_json, merge_errors, ErrorTally, Latency};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Pause after a failed connect, so a dead server is not hammered.
const CONNECT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Bytes of an error response kept for the report.
const ERROR_SAMPLE_BYTES_MAX: usize = 300;
/// Label for a 200 response whose body reports an error.
const STATEMENT_ERROR_LABEL: &str = "statement-error";

/// Reads queries: one per line; blank lines and lines starting with `#` are skipped.
pub fn parse_queries(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Measurements of one query over the run.
#[derive(Clone, Default)]
pub struct QueryTotals {
    /// Latency of every execution (failed ones included).
    pub latency: Latency,
    /// Failures by label.
    pub errors: ErrorTally,
    /// The first failure, with detail.
    pub first_error: Option<String>,
    /// Response body bytes received.
    pub body_bytes: u64,
}

impl QueryTotals {
    fn merge(&mut self, other: &QueryTotals) {
        self.latency.merge(&other.latency);
        merge_errors(&mut self.errors, &other.errors);
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.body_bytes += other.body_bytes;
    }

    fn fail(&mut self, label: &str, detail: String) {
        *self.errors.entry(label.to_string()).or_insert(0) += 1;
        if self.first_error.is_none() {
            self.first_error = Some(detail);
        }
    }

    fn failed(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Result of a query run.
pub struct QueryReport {
    /// Wall time.
    pub elapsed: Duration,
    /// The queries, in file order.
    pub queries: Vec<String>,
    /// Totals per query, same order.
    pub per_query: Vec<QueryTotals>,
    /// All queries together.
    pub overall: QueryTotals,
}

impl QueryReport {
    /// Executions that failed.
    pub fn failed(&self) -> u64 {
        self.overall.failed()
    }

    /// Human-readable summary.
    pub fn text(&self) -> String {
        let count = self.overall.latency.summary().count;
        let mut text = format!(
            "elapsed   {:.2} s\nqueries   {} executed, {} failed, {:.1}/s\nall       {}\n",
            self.elapsed.as_secs_f64(),
            count,
            self.failed(),
            count as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON),
            self.overall.latency.summary().line()
        );
        for (index, (query, totals)) in self.queries.iter().zip(&self.per_query).enumerate() {
            text.push_str(&format!(
                "q{index:<3}     {}  failed {}\n          {query}\n",
                totals.latency.summary().line(),
                totals.failed()
            ));
        }
        if let Some(first_error) = &self.overall.first_error {
            text.push_str(&format!("first error  {first_error}\n"));
        }
        text
    }

    /// Machine-readable summary, flags included.
    pub fn json(&self, options: &Options) -> Json {
        let count = self.overall.latency.summary().count;
        let per_query = self
            .queries
            .iter()
            .zip(&self.per_query)
            .map(|(query, totals)| {
                Json::object([
                    ("query", Json::str(query.clone())),
                    ("executions", Json::UInt(totals.latency.summary().count)),
                    ("failed", Json::UInt(totals.failed())),
                    ("errors", errors_json(&totals.errors)),
                    ("body_bytes", Json::UInt(totals.body_bytes)),
                    ("latency_us", totals.latency.summary().to_json()),
                ])
            });
        Json::object([
            ("mode", Json::str("query")),
            ("flags", options.to_json()),
            ("elapsed_s", Json::Float(self.elapsed.as_secs_f64())),
            ("executions", Json::UInt(count)),
            ("failed", Json::UInt(self.failed())),
            (
                "queries_per_s",
                Json::Float(count as f64 / self.elapsed.as_secs_f64().max(1e-9)),
            ),
            ("errors", errors_json(&self.overall.errors)),
            (
                "first_error",
                self.overall
                    .first_error
                    .clone()
                    .map_or(Json::Null, Json::Str),
            ),
            ("latency_us", self.overall.latency.summary().to_json()),
            ("per_query", Json::Array(per_query.collect())),
        ])
    }
}

/// Runs the query benchmark.
pub fn run(options: &Options, queries: Vec<String>) -> Result<QueryReport, String> {
    if queries.is_empty() {
        return Err("the query file holds no query".to_string());
    }
    let endpoint = Endpoint::from_url(&options.url).map_err(|error| error.to_string())?;
    let queries = Arc::new(queries);
    let next_execution = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..options.connections {
        let (endpoint, options) = (endpoint.clone(), options.clone());
        let (queries, next_execution) = (queries.clone(), next_execution.clone());
        workers.push(thread::spawn(move || {
            worker(
                &endpoint,
                &options,
                &queries,
                &next_execution,
                start + options.duration,
            )
        }));
    }
    let mut per_query = vec![QueryTotals::default(); queries.len()];
    for worker in workers {
        let worker_totals = worker
            .join()
            .map_err(|_| "BUG: a worker thread panicked".to_string())?;
        for (into, from) in per_query.iter_mut().zip(&worker_totals) {
            into.merge(from);
        }
    }
    let mut overall = QueryTotals::default();
    for totals in &per_query {
        overall.merge(totals);
    }
    let queries = queries.as_ref().clone();
    Ok(QueryReport {
        elapsed: start.elapsed(),
        queries,
        per_query,
        overall,
    })
}

fn query_path(options: &Options, query: &str) -> String {
    let mut path = format!(
        "/query?db={}&q={}",
        percent_encode(&options.db),
        percent_encode(query)
    );
    if let Some(rp) = &options.rp {
        path.push_str(&format!("&rp={}", percent_encode(rp)));
    }
    path
}

fn worker(
    endpoint: &Endpoint,
    options: &Options,
    queries: &[String],
    next_execution: &AtomicU64,
    deadline: Instant,
) -> Vec<QueryTotals> {
    let mut totals = vec![QueryTotals::default(); queries.len()];
    let paths: Vec<String> = queries
        .iter()
        .map(|query| query_path(options, query))
        .collect();
    let executions_max = options
        .repeat
        .map(|repeat| repeat.saturating_mul(queries.len() as u64));
    let mut connection: Option<Connection> = None;
    loop {
        let execution = next_execution.fetch_add(1, Ordering::Relaxed);
        let done = match executions_max {
            Some(executions_max) => execution >= executions_max,
            None => Instant::now() >= deadline,
        };
        if done {
            break;
        }
        let index = (execution % queries.len() as u64) as usize;
        let (Some(query_totals), Some(path)) = (totals.get_mut(index), paths.get(index)) else {
            break;
        };
        let mut open = match connection.take() {
            Some(open) => open,
            None => match Connection::connect(endpoint, options.timeout) {
                Ok(open) => open,
                Err(error) => {
                    query_totals.fail(
                        &format!("connect-{}", error.kind_label()),
                        error.to_string(),
                    );
                    thread::sleep(CONNECT_RETRY_DELAY);
                    continue;
                }
            },
        };
        let sent_at = Instant::now();
        let outcome = open.exchange("GET", path, &[], &[]);
        query_totals.latency.record(sent_at.elapsed());
        match outcome {
            Ok(response) => {
                query_totals.body_bytes += response.body.len() as u64;
                let sample = &response.body[..response.body.len().min(ERROR_SAMPLE_BYTES_MAX)];
                let detail = || {
                    format!(
                        "status {}: {}",
                        response.status,
                        String::from_utf8_lossy(sample)
                    )
                };
                if response.status != 200 {
                    query_totals.fail(&response.status.to_string(), detail());
                } else if contains(&response.body, b"\"error\"") {
                    query_totals.fail(STATEMENT_ERROR_LABEL, detail());
                }
                if !response.connection_close {
                    connection = Some(open);
                }
            }
            Err(error) => query_totals.fail(error.kind_label(), error.to_string()),
        }
    }
    totals
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_file_skips_blanks_and_comments() {
        let text = "SELECT 1\n\n  # note\nSHOW DATABASES  \r\n";
        assert_eq!(parse_queries(text), ["SELECT 1", "SHOW DATABASES"]);
    }

    #[test]
    fn repeat_runs_the_list_and_counts_statement_errors() {
        use crate::fake_server::{self, Received};
        let (url, log) = fake_server::start(Arc::new(|received: &Received| {
            let body = if received.request_line.contains("bad") {
                "{\"results\":[{\"statement_id\":0,\"error\":\"boom\"}]}\n"
            } else {
                "{\"results\":[{\"statement_id\":0}]}\n"
            };
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            )
            .into_bytes()
        }));
        let options =
            crate::args::parse_args(["--url", &url, "--repeat", "3", "--connections", "2"])
                .unwrap();
        let queries = parse_queries("SELECT 1\nSELECT bad\n");
        let report = run(&options, queries).unwrap();
        assert_eq!(log.lock().unwrap().len(), 6);
        assert_eq!(report.per_query[0].latency.summary().count, 3);
        assert_eq!(report.per_query[0].failed(), 0);
        assert_eq!(
            report.per_query[1].errors.get(STATEMENT_ERROR_LABEL),
            Some(&3)
        );
        assert_eq!(report.failed(), 3);
        assert!(report.json(&options).render().contains("\"per_query\""));
    }

    #[test]
    fn query_path_encodes() {
        let options = Options {
            rp: Some("a b".into()),
            ..Options::default()
        };
        assert_eq!(
            query_path(&options, "SELECT count(f0) FROM m"),
            "/query?db=bench&q=SELECT%20count%28f0%29%20FROM%20m&rp=a%20b"
        );
    }
}
