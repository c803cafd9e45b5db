//! Query execution: a fixed pool of query threads, fed by a bounded queue, so that no query
//! ever runs on (or stalls) a network event loop.
//!
//! Owns the query threads. Statements are parsed with `influxql` and executed against the
//! meta store (and, for `DROP DATABASE`, the ingest layer's field types). Results go back to
//! the event loop through `QuerySink`.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam::channel::{self, Receiver, Sender, TrySendError};

use crate::http::query_string::query_param;
use crate::http::response::{push_json_string, Response};
use crate::influxql::{self, Statement};
use crate::ingest::field_types::FieldTypeRegistry;
use crate::meta::{MetaError, MetaStore, RetentionPolicySpec};
use crate::storage::engine::Store;

pub mod result;
pub mod select;

/// InfluxDB's shortest retention duration (one hour).
const MIN_RETENTION_DURATION_NS: i64 = 3_600_000_000_000;

/// A `/query` request, as the event loop hands it over.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// the InfluxQL text (`q`)
    pub text: String,
    /// every URL and form parameter
    pub params: Vec<(String, String)>,
    /// the request was a GET (statements that change state then carry a warning)
    pub is_get: bool,
    /// `pretty=true` in the URL
    pub pretty: bool,
    /// `Accept` header
    pub accept: Option<String>,
}

/// Told when a query has its answer.
pub trait QuerySink: Send + Sync {
    /// The answer of the request `(connection, sequence)`.
    fn query_complete(&self, connection: usize, sequence: u64, response: Response);
}

struct QueryJob {
    request: QueryRequest,
    sink: Arc<dyn QuerySink>,
    connection: usize,
    sequence: u64,
}

/// What query execution reads and changes.
pub struct QueryContext {
    /// databases and retention policies
    pub meta: Arc<MetaStore>,
    /// field types, forgotten when a database is dropped
    pub field_types: Arc<FieldTypeRegistry>,
    /// the storage engine: shards, series indexes, reads
    pub store: Arc<Store>,
}

/// The query threads and their queue.
pub struct QueryPool {
    sender: Sender<Option<QueryJob>>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl QueryPool {
    /// Starts `threads` query threads with a queue of `queue_depth` jobs.
    pub fn start(
        threads: usize,
        queue_depth: usize,
        context: Arc<QueryContext>,
    ) -> std::io::Result<QueryPool> {
        let (sender, receiver) = channel::bounded::<Option<QueryJob>>(queue_depth);
        let mut handles = Vec::new();
        for index in 0..threads.max(1) {
            let receiver: Receiver<Option<QueryJob>> = receiver.clone();
            let context = Arc::clone(&context);
            handles.push(
                std::thread::Builder::new()
                    .name(format!("sluice-query-{index}"))
                    .spawn(move || {
                        while let Ok(Some(job)) = receiver.recv() {
                            let response = execute(&job.request, &context);
                            job.sink
                                .query_complete(job.connection, job.sequence, response);
                        }
                    })?,
            );
        }
        Ok(QueryPool {
            sender,
            threads: std::sync::Mutex::new(handles),
        })
    }

    /// Queues a query; `Err` with a 503 answer when the queue is full.
    pub fn submit(
        &self,
        request: QueryRequest,
        sink: Arc<dyn QuerySink>,
        connection: usize,
        sequence: u64,
    ) -> Result<(), Response> {
        match self.sender.try_send(Some(QueryJob {
            request,
            sink,
            connection,
            sequence,
        })) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(Response::json_error(
                503,
                "too many queries waiting: query queue is full",
            )),
            Err(TrySendError::Disconnected(_)) => {
                Err(Response::json_error(503, "server is shutting down"))
            }
        }
    }

    /// Finishes queued queries and stops the threads.
    pub fn shutdown(&self) {
        let threads = match self.threads.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for _ in &threads {
            let _ = self.sender.send(None);
        }
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// One statement's result, rendered as InfluxDB's JSON.
enum StatementResult {
    Empty,
    Series {
        name: Option<String>,
        columns: Vec<&'static str>,
        values: Vec<Vec<String>>,
    },
    Error(String),
}

/// Executes a query request and renders the whole answer.
pub fn execute(request: &QueryRequest, context: &QueryContext) -> Response {
    let query = match influxql::parse_query(&request.text) {
        Ok(query) => query,
        Err(error) => return Response::json_error(400, &format!("error parsing query: {error}")),
    };
    let _ = query_param(&request.params, "db");
    let mut body = Vec::new();
    if query.statements.is_empty() {
        body.extend_from_slice(b"{}\n");
        return Response::json(200, body);
    }
    body.extend_from_slice(b"{\"results\":[");
    let last = query.statements.len() - 1;
    for (statement_id, statement) in query.statements.iter().enumerate() {
        let (mut result, changes_state) = execute_statement(statement, context);
        if statement_id > 0 {
            body.push(b',');
        }
        let warning = (request.is_get && changes_state).then(|| {
            format!("deprecated use of '{statement}' in a read only context, please use a POST request instead")
        });
        let failed = matches!(result, StatementResult::Error(_));
        if failed && statement_id != last {
            // InfluxDB 1.6.7 reports a failed statement that has others after it this way.
            result = StatementResult::Error("not executed".into());
        }
        render_result(&mut body, statement_id, &result, warning.as_deref());
        if failed {
            break;
        }
    }
    body.extend_from_slice(b"]}\n");
    if request.pretty {
        body = crate::query::pretty_json(&body);
    }
    Response::json(200, body)
}

fn execute_statement(statement: &Statement, context: &QueryContext) -> (StatementResult, bool) {
    let meta_result = |result: Result<(), MetaError>| match result {
        Ok(()) => StatementResult::Empty,
        Err(error) => StatementResult::Error(error.to_string()),
    };
    match statement {
        Statement::CreateDatabase(create) => {
            if create.name.is_empty() {
                return (StatementResult::Error("invalid name".into()), true);
            }
            if create
                .retention_policy_duration_ns
                .is_some_and(|d| d != 0 && d < MIN_RETENTION_DURATION_NS)
            {
                return (
                    StatementResult::Error(
                        "retention policy duration must be at least 1h0m0s".into(),
                    ),
                    true,
                );
            }
            let spec = RetentionPolicySpec {
                name: create.retention_policy_name.clone(),
                duration_ns: create.retention_policy_duration_ns,
                shard_group_duration_ns: create.retention_policy_shard_group_duration_ns,
                replication: create.retention_policy_replication,
            };
            (
                meta_result(context.meta.create_database(&create.name, &spec)),
                true,
            )
        }
        Statement::DropDatabase(drop) => {
            let id = context.meta.snapshot().database(&drop.name).map(|db| db.id);
            let result = context.meta.drop_database(&drop.name);
            if let (Ok(()), Some(id)) = (&result, id) {
                context.field_types.drop_database(id);
                context.store.drop_database(id);
            }
            (meta_result(result), true)
        }
        Statement::ShowDatabases(_) => {
            let snapshot = context.meta.snapshot();
            let values = snapshot
                .databases
                .iter()
                .map(|db| vec![db.name.clone()])
                .collect();
            (
                StatementResult::Series {
                    name: Some("databases".into()),
                    columns: vec!["name"],
                    values,
                },
                false,
            )
        }
        other => (
            StatementResult::Error(format!("not implemented yet: {other}")),
            false,
        ),
    }
}

fn render_result(
    out: &mut Vec<u8>,
    statement_id: usize,
    result: &StatementResult,
    warning: Option<&str>,
) {
    out.extend_from_slice(format!("{{\"statement_id\":{statement_id}").as_bytes());
    match result {
        StatementResult::Empty => {}
        StatementResult::Series {
            name,
            columns,
            values,
        } => {
            out.extend_from_slice(b",\"series\":[{");
            if let Some(name) = name {
                out.extend_from_slice(b"\"name\":");
                push_json_string(out, name.as_bytes());
                out.push(b',');
            }
            out.extend_from_slice(b"\"columns\":[");
            for (index, column) in columns.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                push_json_string(out, column.as_bytes());
            }
            out.push(b']');
            if !values.is_empty() {
                out.extend_from_slice(b",\"values\":[");
                for (row_index, row) in values.iter().enumerate() {
                    if row_index > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    for (index, value) in row.iter().enumerate() {
                        if index > 0 {
                            out.push(b',');
                        }
                        push_json_string(out, value.as_bytes());
                    }
                    out.push(b']');
                }
                out.push(b']');
            }
            out.extend_from_slice(b"}]");
        }
        StatementResult::Error(message) => {
            out.extend_from_slice(b",\"error\":");
            push_json_string(out, message.as_bytes());
        }
    }
    if let Some(warning) = warning {
        out.extend_from_slice(b",\"messages\":[{\"level\":\"warning\",\"text\":");
        push_json_string(out, warning.as_bytes());
        out.extend_from_slice(b"}]");
    }
    out.push(b'}');
}

/// Re-indents compact JSON the way Go's `json.MarshalIndent(v, "", "    ")` does.
pub fn pretty_json(compact: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 4));
    };
    let mut index = 0;
    while index < compact.len() {
        let byte = compact[index];
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            index += 1;
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                let closing = if byte == b'{' { b'}' } else { b']' };
                if compact.get(index + 1) == Some(&closing) {
                    out.push(byte);
                    out.push(closing);
                    index += 2;
                    continue;
                }
                depth += 1;
                out.push(byte);
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b'\n' => {}
            other => out.push(other),
        }
        index += 1;
    }
    out.push(b'\n');
    out
}
