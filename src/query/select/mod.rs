//! SELECT: planning and executing a `SelectStatement` over the storage engine.
//!
//! (Being written.) Entry point [`execute_select`]; everything it reads comes through
//! [`SelectContext`].

use crate::influxql::ast::SelectStatement;
use crate::meta::MetaData;
use crate::query::result::StatementResult;
use crate::storage::engine::Store;

/// Bounds of one SELECT (influxdb.conf's `[coordinator]` names).
#[derive(Clone, Copy, Debug)]
pub struct SelectLimits {
    /// `max-select-point`: most points a statement may read (0: unlimited)
    pub max_select_point: u64,
    /// `max-select-series`: most series a statement may read (0: unlimited)
    pub max_select_series: u64,
    /// `max-select-buckets`: most GROUP BY time() buckets (0: unlimited)
    pub max_select_buckets: u64,
    /// `query-timeout`: the statement is stopped after this instant (None: no timeout)
    pub deadline: Option<std::time::Instant>,
}

/// What a SELECT may read.
pub struct SelectContext<'a> {
    /// the storage engine: `shards_for`, `Shard::read`, `series_index`, `field_types`
    pub store: &'a Store,
    /// databases, retention policies, shard groups
    pub meta: &'a MetaData,
    /// `db` of the request (sources without a database use it)
    pub database: &'a str,
    /// `rp` of the request (empty: the database's default)
    pub retention_policy: &'a str,
    /// the query's `now()`, nanoseconds
    pub now_ns: i64,
    /// bounds
    pub limits: SelectLimits,
    /// position of the statement in the query
    pub statement_id: usize,
}

/// Executes one SELECT (bound parameters already substituted).
pub fn execute_select(statement: &SelectStatement, context: &SelectContext<'_>) -> StatementResult {
    let _ = statement;
    StatementResult::error(context.statement_id, "SELECT is not implemented yet")
}
