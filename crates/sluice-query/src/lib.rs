//! Query execution: a fixed pool of query threads, fed by a bounded queue, so that no query
//! ever runs on (or stalls) a network event loop.
//!
//! Owns the query threads and the meaning of a `/query` request: bound parameters
//! ([`params`]), parsing, running each statement in order ([`statements`] for everything
//! but SELECT, [`select`] for SELECT), and encoding the results ([`encode`]: JSON, pretty,
//! chunked, CSV). An answer is built on the query thread, bounded by the SELECT limits of
//! `[coordinator]`, and handed to its `QueryReply` (the network layer's: it writes the answer
//! to the client's socket from the query thread when nothing else is pending there). A
//! chunked JSON answer is streamed: each statement's chunks are encoded and sent one by one
//! as soon as the statement has run (a statement's own rows are still computed whole first).
//!
//! Statement semantics (InfluxDB 1.6.7): statements run in order; the first failing one
//! stops the query, and when statements follow it InfluxDB reports `not executed` in its
//! place (each remaining statement's result carries the failed one's id and replaces the
//! previous one in a non-chunked answer). A GET running a statement that changes state gets
//! a `deprecated use of '...' in a read only context` warning (DELETE does not) unless the
//! statement fails.
//!
//! This crate knows no HTTP: a request arrives as a typed [`QueryRequest`] (the HTTP layer
//! reads the URL and form parameters) and leaves as a [`answer::QueryAnswer`] (an outcome,
//! a media type and a body) that the HTTP layer renders as InfluxDB's status and headers.
//! It depends on the model, `sluice-base`, the InfluxQL and line-protocol parsers, storage
//! and ingest (`SELECT INTO` and continuous queries write through ingest's planner).

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;
use std::time::Duration;

use sluice_influxql::ast::{SelectStatement, Source};
use sluice_influxql::{self as influxql, Statement};
use sluice_ingest::field_types::FieldTypeRegistry;
use sluice_storage::engine::Store;
use sluice_storage::meta::MetaStore;

pub mod answer;
pub mod authorize;
pub mod continuous;
pub mod encode;
pub mod explain;
pub mod into;
pub mod monitor;
pub mod params;
mod pool;
pub mod prometheus_read;
pub mod result;
pub mod select;
pub mod statements;
pub mod statistics;

pub use pool::QueryPool;

use answer::{AnswerOutcome, QueryAnswer, CSV_CONTENT_TYPE};
use encode::Epoch;
use result::{Message, StatementResult};
use statements::admin::RunningQueries;
use statements::StatementContext;

/// `[coordinator]`: query execution bounds (the server's configuration fills them in).
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    /// query threads; 0 = default
    pub max_concurrent_queries: usize,
    /// `query-timeout`: a statement running longer is stopped (0: never)
    pub query_timeout: Duration,
    /// `log-queries-after`: a query running at least this long is logged as slow (0: never)
    pub log_queries_after: Duration,
    /// `max-select-point`: most points one SELECT may read (0: unlimited)
    pub max_select_point: u64,
    /// `max-select-series`: most series one SELECT may read (0: unlimited)
    pub max_select_series: u64,
    /// `max-select-buckets`: most GROUP BY time() buckets of one SELECT (0: unlimited)
    pub max_select_buckets: u64,
    /// `query-memory-limit`: most bytes one statement may hold while it runs (0: unlimited)
    pub query_memory_limit: u64,
    /// `query-merge-parallelism`: the groups 1.6.7's parallel merge splits a shard's series
    /// into (its GOMAXPROCS) when `sum()`/`mean()` fold their per-series partials; 0: the
    /// CPU count, as Go's default. The last bits of those float answers depend on it.
    pub query_merge_parallelism: usize,
}

/// A `/query` request, as the event loop hands it over.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// the InfluxQL text (`q`)
    pub text: String,
    /// `db`: the database statements use when they name none ("" when not sent)
    pub database: String,
    /// `rp`: the retention policy statements use when they name none ("" when not sent)
    pub retention_policy: String,
    /// `params`: bound parameters, a JSON object, as sent
    pub bound_parameters: Option<String>,
    /// `chunked=true`: the answer is a sequence of JSON chunks
    pub chunked: bool,
    /// `chunk_size`: rows per chunk, as sent (the default when absent or not a count)
    pub chunk_size: Option<String>,
    /// `epoch`: the precision of timestamps in the answer, as sent (RFC 3339 when absent)
    pub epoch: Option<String>,
    /// the request was a GET (statements that change state then carry a warning)
    pub is_get: bool,
    /// `pretty=true` in the URL
    pub pretty: bool,
    /// `Accept` header
    pub accept: Option<String>,
    /// who sent it ([`authorize::Identity::Unchecked`] with auth off)
    pub identity: authorize::Identity,
    /// a Prometheus remote read: answer with a snappy protobuf `ReadResponse`
    pub prometheus_read: bool,
}

impl QueryRequest {
    /// `text` on `database` with nothing else set: a POST as the server itself (no user),
    /// answered whole in JSON with RFC 3339 times.
    pub fn new(text: String, database: &str) -> QueryRequest {
        QueryRequest {
            text,
            database: database.to_string(),
            retention_policy: String::new(),
            bound_parameters: None,
            chunked: false,
            chunk_size: None,
            epoch: None,
            is_get: false,
            pretty: false,
            accept: None,
            identity: authorize::Identity::Unchecked,
            prometheus_read: false,
        }
    }
}

/// Takes one query's answer to its client. The query thread calls it as soon as the answer
/// is built, so the network layer can write a small answer from that thread without waiting
/// for its event loop to wake up.
///
/// A chunked JSON answer may instead be streamed: `begin_stream`, then `stream_piece` per
/// JSON chunk as it is encoded, then `end_stream`. A reply that cannot stream says so from
/// `begin_stream`, and gets the whole answer through `deliver`.
pub trait QueryReply: Send {
    /// The whole answer; called once, on the query thread.
    fn deliver(self: Box<Self>, answer: QueryAnswer);

    /// Starts a streamed answer with `head`'s status and headers (its body is ignored); false
    /// when this reply cannot stream, and nothing was sent.
    fn begin_stream(&mut self, _head: &QueryAnswer) -> bool {
        false
    }

    /// Sends one piece of a streamed body; false once the client takes no more (producing
    /// the rest is pointless).
    fn stream_piece(&mut self, _piece: &[u8]) -> bool {
        false
    }

    /// Ends a streamed answer; called once, after a `begin_stream` that returned true.
    fn end_stream(self: Box<Self>) {}
}

pub(crate) struct QueryJob {
    request: QueryRequest,
    reply: Box<dyn QueryReply>,
}

/// What query execution reads and changes.
pub struct QueryContext {
    /// databases and retention policies
    pub meta: Arc<MetaStore>,
    /// field types, forgotten when a database is dropped
    pub field_types: Arc<FieldTypeRegistry>,
    /// the storage engine: shards, series indexes, reads
    pub store: Arc<Store>,
    /// `[coordinator]`: SELECT limits and the query timeout
    pub coordinator: CoordinatorConfig,
    /// queries being executed (SHOW QUERIES, KILL QUERY)
    pub running: RunningQueries,
    /// where SELECT INTO writes (`None`: INTO answers an error)
    pub into_writer: Option<into::IntoWriter>,
    /// `[http] max-row-limit`: most rows of a non-chunked answer (0: unlimited)
    pub max_row_limit: usize,
    /// the CQ counters (`/debug/vars`), kept by the `sluice-cq` thread
    pub continuous_query_stats: continuous::ContinuousQueryStats,
    /// the query executor's counters (`queryExecutor` in SHOW STATS)
    pub executor_stats: statistics::QueryExecutorStats,
    /// the server's statistics registry (SHOW STATS, the `[monitor]` thread); this context
    /// is one of its sources
    pub statistics: Arc<sluice_base::statistics::Statistics>,
    /// what SHOW DIAGNOSTICS answers beside the build and the time (set by the server)
    pub diagnostics: statistics::Diagnostics,
}

impl QueryContext {
    /// A context with no query running and no user, continuous query or subscription.
    pub fn new(
        meta: Arc<MetaStore>,
        field_types: Arc<FieldTypeRegistry>,
        store: Arc<Store>,
        coordinator: CoordinatorConfig,
    ) -> QueryContext {
        QueryContext {
            meta,
            field_types,
            store,
            coordinator,
            running: RunningQueries::default(),
            max_row_limit: 0,
            into_writer: None,
            continuous_query_stats: continuous::ContinuousQueryStats::default(),
            executor_stats: statistics::QueryExecutorStats::default(),
            statistics: sluice_base::statistics::Statistics::new(),
            diagnostics: statistics::Diagnostics::default(),
        }
    }

    /// This context answering SHOW DIAGNOSTICS with `diagnostics`.
    pub fn with_diagnostics(mut self, diagnostics: statistics::Diagnostics) -> QueryContext {
        self.diagnostics = diagnostics;
        self
    }

    /// This context reading statistics from `registry` (which it does not join: the owner
    /// of the `Arc<QueryContext>` registers it, see [`statistics`]).
    pub fn with_statistics(
        mut self,
        registry: Arc<sluice_base::statistics::Statistics>,
    ) -> QueryContext {
        self.statistics = registry;
        self
    }

    /// This context with `[http] max-row-limit` applied to non-chunked answers.
    pub fn with_max_row_limit(mut self, max_row_limit: usize) -> QueryContext {
        self.max_row_limit = max_row_limit;
        self
    }

    /// This context with SELECT INTO writing through `writer`.
    pub fn with_into_writer(mut self, writer: into::IntoWriter) -> QueryContext {
        self.into_writer = Some(writer);
        self
    }
}

/// InfluxDB's text for the statements after a failed one.
const NOT_EXECUTED: &str = "not executed";
/// The error of SELECT INTO when the context has no writer (a read-only store).
const INTO_UNAVAILABLE: &str = "SELECT INTO is not available: no write path";
/// InfluxDB's text for a query stopped by KILL QUERY.
pub(crate) const QUERY_INTERRUPTED: &str = "query interrupted";

/// How the answer is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Json,
    Csv,
    /// a Prometheus remote read (`prometheus_read`)
    PrometheusRead,
}

/// The answer's format parameters.
#[derive(Clone, Copy, Debug)]
struct AnswerFormat {
    encoding: Encoding,
    epoch: Epoch,
    pretty: bool,
    /// `chunked=true`: rows per chunk
    chunk_size_rows: Option<usize>,
}

impl AnswerFormat {
    fn of(request: &QueryRequest) -> AnswerFormat {
        let encoding = match request.accept.as_deref().map(str::trim) {
            _ if request.prometheus_read => Encoding::PrometheusRead,
            Some("application/csv" | "text/csv") => Encoding::Csv,
            _ => Encoding::Json,
        };
        let chunk_size_rows = request.chunked.then(|| {
            request
                .chunk_size
                .as_deref()
                .and_then(|size| size.trim().parse::<usize>().ok())
                .filter(|size| *size > 0)
                .unwrap_or(sluice_model::limits::QUERY_CHUNK_SIZE_ROWS_DEFAULT)
        });
        AnswerFormat {
            encoding,
            epoch: Epoch::from_param(request.epoch.as_deref()),
            pretty: request.pretty,
            chunk_size_rows,
        }
    }

    /// A 400 before execution (bad parameters, parse error), in this format.
    fn request_error(&self, message: &str) -> QueryAnswer {
        let mut answer = QueryAnswer::refused(AnswerOutcome::BadRequest, message);
        match self.encoding {
            Encoding::Json if self.pretty => answer.body = encode::pretty_json(&answer.body),
            Encoding::Json | Encoding::PrometheusRead => {}
            Encoding::Csv => {
                let mut body = b"error\n".to_vec();
                body.extend_from_slice(&csv_quoted(message));
                body.push(b'\n');
                answer.body = body;
                answer.content_type = CSV_CONTENT_TYPE;
            }
        }
        answer
    }
}

/// `text` as one CSV field (always quoted when it has a space, as Go quotes it).
fn csv_quoted(text: &str) -> Vec<u8> {
    let needs_quotes = text.contains([',', '"', '\r', '\n', ' ']);
    if !needs_quotes {
        return text.as_bytes().to_vec();
    }
    let mut out = vec![b'"'];
    for byte in text.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    out.push(b'"');
    out
}

/// Executes a query request and renders the whole answer.
pub fn execute(request: &QueryRequest, context: &QueryContext) -> QueryAnswer {
    let mut leftovers = Leftovers::default();
    execute_keeping(request, context, &mut leftovers)
}

/// What an execution built besides its answer. Freeing a large result (every row, every
/// string) takes time, so the query threads do it after the answer is on its way.
#[derive(Default)]
struct Leftovers {
    query: Option<influxql::Query>,
    results: Vec<StatementResult>,
}

/// [`execute`], leaving what it built in `leftovers`.
fn execute_keeping(
    request: &QueryRequest,
    context: &QueryContext,
    leftovers: &mut Leftovers,
) -> QueryAnswer {
    let format = AnswerFormat::of(request);
    if let Some(answer) = cluster_statement(request, context, format) {
        return answer;
    }
    match parse_request(request, format, context) {
        Ok(query) => run_whole(query, request, context, format, leftovers),
        Err(response) => response,
    }
}

/// `SHOW SERVERS` / `DROP SERVER n` (see `statements::servers`): admin only when auth is on.
fn cluster_statement(
    request: &QueryRequest,
    context: &QueryContext,
    format: AnswerFormat,
) -> Option<QueryAnswer> {
    let statement = statements::servers::recognise(&request.text)?;
    let allowed = match &request.identity {
        authorize::Identity::Unchecked => true,
        authorize::Identity::Anonymous => false,
        authorize::Identity::User(name) => context
            .meta
            .snapshot()
            .user(name)
            .is_some_and(|user| user.admin),
    };
    if !allowed {
        return Some(QueryAnswer::refused(
            AnswerOutcome::Forbidden,
            "error authorizing query: requires admin privilege",
        ));
    }
    let result = statements::servers::run(statement, &context.meta);
    Some(encode_answer(&[Statement::ShowShards], &[result], format))
}

/// Runs every statement of `query`, then encodes the whole answer.
fn run_whole(
    query: influxql::Query,
    request: &QueryRequest,
    context: &QueryContext,
    format: AnswerFormat,
    leftovers: &mut Leftovers,
) -> QueryAnswer {
    let mut results = Vec::with_capacity(query.statements.len());
    let mut rows_left = (context.max_row_limit > 0).then_some(context.max_row_limit);
    run_statements(&query.statements, request, context, |mut result| {
        let within_limit = match rows_left.as_mut() {
            Some(left) => cut_to_row_limit(&mut result, left),
            None => true,
        };
        results.push(result);
        within_limit
    });
    let response = encode_answer(&query.statements, &results, format);
    leftovers.query = Some(query);
    leftovers.results = results;
    response
}

/// `[http] max-row-limit`, as 1.6.7 applies it to a non-chunked answer: rows count across
/// every statement; the series that passes the limit is cut to it and marked
/// `"partial": true`, the series after it in its statement and every later statement are
/// left out. False once the limit is reached (run no more statements).
fn cut_to_row_limit(result: &mut StatementResult, rows_left: &mut usize) -> bool {
    for (index, series) in result.series.iter_mut().enumerate() {
        if series.values.len() > *rows_left {
            series.values.truncate(*rows_left);
            series.partial = true;
            result.series.truncate(index + 1);
            *rows_left = 0;
            return false;
        }
        *rows_left -= series.values.len();
    }
    true
}

/// Executes a query request and answers it through `reply`: a chunked JSON answer is
/// streamed when the reply can take it (each statement's chunks leave as soon as that
/// statement has run), every other answer is built whole and delivered. What was built is
/// left in `leftovers`, to be freed after the answer left.
fn answer(
    request: &QueryRequest,
    context: &QueryContext,
    mut reply: Box<dyn QueryReply>,
    leftovers: &mut Leftovers,
) {
    let format = AnswerFormat::of(request);
    if let Some(answer) = cluster_statement(request, context, format) {
        return reply.deliver(answer);
    }
    let Some(chunk_size_rows) = format
        .chunk_size_rows
        .filter(|_| format.encoding == Encoding::Json)
    else {
        reply.deliver(execute_keeping(request, context, leftovers));
        return;
    };
    let query = match parse_request(request, format, context) {
        Ok(query) => query,
        Err(response) => return reply.deliver(response),
    };
    let head = QueryAnswer::json(Vec::new());
    if !reply.begin_stream(&head) {
        reply.deliver(run_whole(query, request, context, format, leftovers));
        return;
    }
    let mut index = 0;
    let mut line = Vec::new();
    run_statements(&query.statements, request, context, |result| {
        let is_select = matches!(query.statements.get(index), Some(Statement::Select(_)))
            && result.error.is_none();
        index += 1;
        let mut client_takes_more = true;
        let mut send = |chunk: &StatementResult| {
            line.clear();
            encode_chunk(chunk, format, &mut line);
            client_takes_more = reply.stream_piece(&line);
            client_takes_more
        };
        if is_select {
            encode::for_each_chunk(&result, chunk_size_rows, send);
        } else {
            send(&result);
        }
        client_takes_more
    });
    if index == 0 {
        reply.stream_piece(b"{}\n");
    }
    reply.end_stream();
    leftovers.query = Some(query);
}

/// Substitutes bound parameters, parses and authorizes; the 400 answer when the query is bad,
/// the 403 when its sender may not run it.
fn parse_request(
    request: &QueryRequest,
    format: AnswerFormat,
    context: &QueryContext,
) -> Result<influxql::Query, QueryAnswer> {
    let bound_parameters = request.bound_parameters.as_deref();
    let text = match bound_parameters.filter(|p| !p.trim().is_empty()) {
        Some(json) => match params::parse_params(json) {
            Ok(literals) => params::substitute(&request.text, &literals),
            Err(error) => {
                return Err(
                    format.request_error(&format!("error parsing query parameters: {error}"))
                )
            }
        },
        None => request.text.clone(),
    };
    let query = influxql::parse_query(&text)
        .map_err(|error| format.request_error(&format!("error parsing query: {error}")))?;
    if request.identity != authorize::Identity::Unchecked {
        let database = request.database.as_str();
        let meta = context.meta.snapshot();
        if let Err(refusal) = authorize::authorize(&query, &request.identity, database, &meta) {
            return Err(QueryAnswer::refused(
                AnswerOutcome::Forbidden,
                &format!("error authorizing query: {refusal}"),
            ));
        }
    }
    Ok(query)
}

/// Runs the statements in order, listed in SHOW QUERIES (and killable) meanwhile, handing
/// each result to `emit` as soon as it is complete; a failure stops the rest (see the
/// module doc), and so does `emit` returning false.
fn run_statements(
    statements: &[Statement],
    request: &QueryRequest,
    context: &QueryContext,
    emit: impl FnMut(StatementResult) -> bool,
) {
    let database = request.database.as_str();
    let running = context.running.start(&request.text, database);
    let started = std::time::Instant::now();
    context.executor_stats.started();
    run_statements_as(statements, request, database, context, &running, emit);
    context.running.finish(running.id);
    let slow_after = context.coordinator.log_queries_after;
    let took = started.elapsed();
    context.executor_stats.finished(took);
    if !slow_after.is_zero() && took >= slow_after {
        // `[coordinator] log-queries-after`, as InfluxDB's "Detected slow query".
        sluice_base::log_warn!("query", "detected slow query";
            qid = running.id, query = request.text, database = database,
            duration_ms = took.as_millis());
    }
}

/// Runs one statement on `database` as the server itself (no user: every privilege, as
/// InfluxDB runs continuous queries), listed in SHOW QUERIES meanwhile; on the calling
/// thread, which must not be an event loop (a SELECT INTO waits for durability).
pub fn run_internal(
    statement: &Statement,
    database: &str,
    context: &QueryContext,
) -> StatementResult {
    let request = QueryRequest::new(statement.to_string(), database);
    let mut result = None;
    run_statements(std::slice::from_ref(statement), &request, context, |one| {
        result = Some(one);
        true
    });
    result.unwrap_or_else(|| panic!("BUG: a statement ran without a result"))
}

/// [`run_statements`] on `database` under the running-query entry `running`.
fn run_statements_as(
    statements: &[Statement],
    request: &QueryRequest,
    database: &str,
    context: &QueryContext,
    running: &statements::admin::RunningQuery,
    mut emit: impl FnMut(StatementResult) -> bool,
) {
    let retention_policy = request.retention_policy.as_str();
    let now_ns = sluice_model::time::now_ns();
    let deadline = (!context.coordinator.query_timeout.is_zero())
        .then(|| std::time::Instant::now() + context.coordinator.query_timeout);
    for (statement_id, statement) in statements.iter().enumerate() {
        let statement_context = StatementContext {
            query: context,
            meta: context.meta.snapshot(),
            database,
            retention_policy,
            statement_id,
            identity: &request.identity,
        };
        let mut result = if running.is_killed() {
            StatementResult::error(statement_id, QUERY_INTERRUPTED)
        } else {
            execute_statement(statement, &statement_context, now_ns, deadline, running)
        };
        // A failed statement carries its error only (1.6.7 warns about successful ones).
        if request.is_get && changes_state(statement) && result.error.is_none() {
            result.messages.push(Message {
                level: "warning".to_string(),
                text: format!(
                    "deprecated use of '{}' in a read only context, please use a POST \
                     request instead",
                    warning_text(statement, &statement_context)
                ),
            });
        }
        let failed = result.error.is_some();
        if !emit(result) {
            return;
        }
        if failed {
            for _ in statement_id + 1..statements.len() {
                if !emit(StatementResult::error(statement_id, NOT_EXECUTED)) {
                    return;
                }
            }
            return;
        }
    }
}

/// Whether 1.6.7 warns about running `statement` from a GET.
fn changes_state(statement: &Statement) -> bool {
    match statement {
        Statement::Select(select) => select.target.is_some(),
        Statement::CreateDatabase(_)
        | Statement::DropDatabase(_)
        | Statement::CreateRetentionPolicy(_)
        | Statement::AlterRetentionPolicy(_)
        | Statement::DropRetentionPolicy(_)
        | Statement::CreateContinuousQuery(_)
        | Statement::DropContinuousQuery(_)
        | Statement::CreateUser(_)
        | Statement::DropUser(_)
        | Statement::SetPassword(_)
        | Statement::Grant(_)
        | Statement::Revoke(_)
        | Statement::CreateSubscription(_)
        | Statement::DropSubscription(_)
        | Statement::DropMeasurement(_)
        | Statement::DropSeries(_)
        | Statement::DropShard(_) => true,
        _ => false,
    }
}

/// The statement as the warning prints it: a SELECT with its sources qualified by database
/// and retention policy, as InfluxDB normalises it before running it.
fn warning_text(statement: &Statement, context: &StatementContext<'_>) -> String {
    let Statement::Select(select) = statement else {
        // Passwords (CREATE USER, SET PASSWORD) are printed as InfluxDB prints them: redacted.
        return statement.to_redacted_string();
    };
    let mut qualified: SelectStatement = (**select).clone();
    let default_policy = context
        .meta
        .database(context.database)
        .map(|db| db.default_retention_policy.clone())
        .unwrap_or_default();
    for source in &mut qualified.sources {
        if let Source::Measurement(measurement) = source {
            if measurement.database.is_empty() {
                measurement.database = context.database.to_string();
            }
            if measurement.retention_policy.is_empty() {
                measurement.retention_policy = if context.retention_policy.is_empty() {
                    default_policy.clone()
                } else {
                    context.retention_policy.to_string()
                };
            }
        }
    }
    qualified.to_string()
}

/// `query-merge-parallelism` resolved: 0 is the CPU count (Go's default GOMAXPROCS). The
/// server resolves 0 when it starts ([`CoordinatorConfig`] users that do not: the CPUs this
/// thread may run on).
fn merge_parallelism(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The context a SELECT (or EXPLAIN of one) runs in: the configured bounds, the deadline,
/// the memory budget and the kill flag of the running query.
fn select_context<'a>(
    context: &'a StatementContext<'a>,
    now_ns: i64,
    deadline: Option<std::time::Instant>,
    running: &'a statements::admin::RunningQuery,
) -> select::SelectContext<'a> {
    let coordinator = &context.query.coordinator;
    select::SelectContext {
        store: &context.query.store,
        meta: &context.meta,
        database: context.database,
        retention_policy: context.retention_policy,
        now_ns,
        limits: select::SelectLimits {
            max_select_point: coordinator.max_select_point,
            max_select_series: coordinator.max_select_series,
            max_select_buckets: coordinator.max_select_buckets,
            merge_parallelism: merge_parallelism(coordinator.query_merge_parallelism),
            deadline,
            memory: sluice_base::memory::MemoryBudget::starting_now(coordinator.query_memory_limit),
        },
        killed: running.kill_flag(),
        statement_id: context.statement_id,
    }
}

/// Runs one statement.
fn execute_statement(
    statement: &Statement,
    context: &StatementContext<'_>,
    now_ns: i64,
    deadline: Option<std::time::Instant>,
    running: &statements::admin::RunningQuery,
) -> StatementResult {
    use statements::{admin, databases, mutate, retention, series_meta, shards};
    match statement {
        Statement::Select(select) => {
            let select_context = select_context(context, now_ns, deadline, running);
            let mut result = select::execute_select(select, &select_context);
            result.statement_id = context.statement_id;
            match (&select.target, &context.query.into_writer) {
                (Some(_), _) if result.error.is_some() => result,
                (Some(target), Some(writer)) => into::write_result(
                    &result.series,
                    target,
                    context.database,
                    &context.meta,
                    writer,
                    now_ns,
                    context.statement_id,
                ),
                (Some(_), None) => context.error(INTO_UNAVAILABLE),
                (None, _) => result,
            }
        }
        Statement::Explain(explain_statement) => {
            let select_context = select_context(context, now_ns, deadline, running);
            if explain_statement.analyze {
                explain::explain_analyze(&explain_statement.statement, &select_context)
            } else {
                explain::explain(&explain_statement.statement, &select_context)
            }
        }
        Statement::Delete(delete) => mutate::delete(delete, now_ns, context),
        Statement::CreateDatabase(create) => databases::create(create, context),
        Statement::DropDatabase(drop) => databases::drop(drop, context),
        Statement::ShowDatabases(_) => databases::show(context),
        Statement::CreateRetentionPolicy(create) => retention::create(create, context),
        Statement::AlterRetentionPolicy(alter) => retention::alter(alter, context),
        Statement::DropRetentionPolicy(drop) => retention::drop(drop, context),
        Statement::ShowRetentionPolicies(show) => retention::show(show, context),
        Statement::CreateContinuousQuery(create) => admin::create_continuous_query(create, context),
        Statement::DropContinuousQuery(drop) => admin::drop_continuous_query(drop, context),
        Statement::ShowContinuousQueries => admin::show_continuous_queries(context),
        Statement::CreateUser(create) => admin::create_user(create, context),
        Statement::DropUser(drop) => admin::drop_user(drop, context),
        Statement::SetPassword(set) => admin::set_password(set, context),
        Statement::ShowUsers => admin::show_users(context),
        Statement::Grant(grant) => admin::grant(grant, context),
        Statement::Revoke(revoke) => admin::revoke(revoke, context),
        Statement::ShowGrants(show) => admin::show_grants(show, context),
        Statement::CreateSubscription(create) => admin::create_subscription(create, context),
        Statement::DropSubscription(drop) => admin::drop_subscription(drop, context),
        Statement::ShowSubscriptions => admin::show_subscriptions(context),
        Statement::ShowMeasurements(show) => series_meta::show_measurements(show, context),
        Statement::DropMeasurement(drop) => mutate::drop_measurement(drop, context),
        Statement::ShowSeries(show) => series_meta::show_series(show, context),
        Statement::DropSeries(drop) => mutate::drop_series(drop, context),
        Statement::ShowTagKeys(show) => series_meta::show_tag_keys(show, context),
        Statement::ShowTagValues(show) => series_meta::show_tag_values(show, context),
        Statement::ShowFieldKeys(show) => series_meta::show_field_keys(show, context),
        Statement::ShowCardinality(show) => series_meta::show_cardinality(show, context),
        Statement::ShowShards => shards::show_shards(context),
        Statement::ShowShardGroups => shards::show_shard_groups(context),
        Statement::DropShard(drop) => shards::drop_shard(drop, context),
        Statement::ShowStats(show) => admin::show_stats(show, context),
        Statement::ShowDiagnostics(show) => admin::show_diagnostics(show, context),
        Statement::ShowQueries => admin::show_queries(context),
        Statement::KillQuery(kill) => admin::kill_query(kill, context),
    }
}

/// Encodes the results in the requested format.
fn encode_answer(
    statements: &[Statement],
    results: &[StatementResult],
    format: AnswerFormat,
) -> QueryAnswer {
    let mut body = Vec::new();
    if format.encoding == Encoding::PrometheusRead {
        return prometheus_read::response(results);
    }
    if format.encoding == Encoding::Csv {
        encode::csv_response(results, format.epoch, &mut body);
        return QueryAnswer::ran(CSV_CONTENT_TYPE, body);
    }
    let Some(chunk_size_rows) = format.chunk_size_rows else {
        // Non-chunked: a result replaces the previous one of the same statement id.
        // References, not clones: a result can hold every row of the answer.
        let mut merged: Vec<&StatementResult> = Vec::with_capacity(results.len());
        for result in results {
            match merged.last_mut() {
                Some(last) if last.statement_id == result.statement_id => *last = result,
                _ => merged.push(result),
            }
        }
        if let Err(unsupported) = encode::json_response(&merged, format.epoch, &mut body) {
            body = unsupported.influx_body();
        } else if format.pretty {
            body = encode::pretty_json(&body);
        }
        return QueryAnswer::json(body);
    };
    if results.is_empty() {
        body.extend_from_slice(b"{}\n");
    }
    for (index, result) in results.iter().enumerate() {
        let is_select =
            matches!(statements.get(index), Some(Statement::Select(_))) && result.error.is_none();
        if is_select {
            encode::for_each_chunk(result, chunk_size_rows, |chunk| {
                encode_chunk(chunk, format, &mut body);
                true
            });
        } else {
            encode_chunk(result, format, &mut body);
        }
    }
    QueryAnswer::json(body)
}

/// Appends one chunk of a chunked JSON answer (one line, or pretty-printed).
fn encode_chunk(chunk: &StatementResult, format: AnswerFormat, out: &mut Vec<u8>) {
    if format.pretty {
        let mut line = Vec::new();
        match encode::json_response(std::slice::from_ref(chunk), format.epoch, &mut line) {
            Ok(()) => out.extend_from_slice(&encode::pretty_json(&line)),
            Err(unsupported) => out.extend_from_slice(&unsupported.influx_body()),
        }
        return;
    }
    let start = out.len();
    if let Err(unsupported) = encode::json_response(std::slice::from_ref(chunk), format.epoch, out)
    {
        out.truncate(start);
        out.extend_from_slice(&unsupported.influx_body());
    }
}
