//! SELECT: planning and executing a `SelectStatement` over the storage engine, answering
//! exactly as InfluxDB 1.6.7 does (series order, names, tags, columns, rows, errors).
//!
//! Entry point [`execute_select`]; everything it reads comes through [`SelectContext`].
//! It never writes.
//!
//! # Pipeline
//!
//! 1. [`plan::check`]: InfluxDB's compile errors; raw or aggregate query.
//! 2. The WHERE condition is split ([`time::split_condition`]) into a time range (which
//!    picks shards and, inside them, blocks) and the rest.
//! 3. Sources are resolved (database, retention policy, measurement names or regex) and,
//!    per measurement, the series: `tag = 'v'` terms of the top-level AND chain are
//!    intersected through the series index bitmaps, then every candidate series is
//!    checked against the tag part of the condition (field terms count as unknown).
//! 4. Series are grouped by the GROUP BY tags into groups sorted by tag values
//!    (SLIMIT/SOFFSET cut the groups as 1.6.7's `LimitTagSets` does, including its
//!    "SOFFSET without SLIMIT selects nothing" quirk).
//! 5. Raw queries ([`raw`]): per shard and series, rows at the times of the selected
//!    fields; the condition is evaluated per row; series are merged by a replay of Go's
//!    `container/heap` (1.6.7's sorted merge), which fixes the order of equal times.
//! 6. Aggregate queries ([`aggregate`]): each outermost reducing call ("leaf") is computed
//!    per group, streaming points into per-window accumulators ([`reduce`]); windows are
//!    filled, transformations applied (the technical-analysis functions and holt_winters
//!    resolved once to [`plan::TypedTransform`], computed by [`technical`] and
//!    [`holt_winters`]), leaves joined by time, and the field expressions evaluated per row.
//!
//! Bounds: `max-select-series` is checked once the series are known,
//! `max-select-point` as points are read, `max-select-buckets` before windows are filled;
//! KILL QUERY, the deadline and `query-memory-limit` ([`SelectContext::check_bounds`])
//! between series, every few thousand rows, per filled bucket, before a fill allocates, and
//! before and while holt_winters() fits and forecasts ([`holt_winters`]).
//! A subquery's inner statement runs within the outer statement's time range (as 1.6.7
//! intersects them), so an outer WHERE bounds the inner GROUP BY time() windows.

mod aggregate;
pub mod eval;
pub mod explain;
mod go_math;
pub mod holt_winters;
mod merge_order;
pub mod plan;
mod raw;
pub mod reduce;
pub mod regex;
mod subquery;
pub mod technical;
pub mod time;

#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::result::{Series, StatementResult, Value};
use sluice_influxql::ast::{BinaryOp, DataType, Expr, Field, Literal, SelectStatement, Source};
use sluice_ingest::record::FieldType;
use sluice_line_protocol::{escape_into, EscapeKind};
use sluice_storage::column::{Column, ColumnValues};
use sluice_storage::engine::shard::Shard;
use sluice_storage::engine::Store;
use sluice_storage::meta::MetaData;
use sluice_storage::series_index::SeriesIndex;

use eval::{RegexCache, Row};
use time::{TimeRange, TimeZone, Windows};

/// Bounds of one SELECT (influxdb.conf's `[coordinator]` names).
#[derive(Clone, Copy, Debug)]
pub struct SelectLimits {
    /// `max-select-point`: most points a statement may read (0: unlimited)
    pub max_select_point: u64,
    /// `max-select-series`: most series a statement may read (0: unlimited)
    pub max_select_series: u64,
    /// `max-select-buckets`: most GROUP BY time() buckets (0: unlimited)
    pub max_select_buckets: u64,
    /// `query-merge-parallelism`, resolved (at least 1): see [`aggregate`]'s partial folds
    pub merge_parallelism: usize,
    /// `query-timeout`: the statement is stopped after this instant (None: no timeout)
    pub deadline: Option<std::time::Instant>,
    /// `query-memory-limit`: what the statement may hold, counted on its thread
    pub memory: sluice_base::memory::MemoryBudget,
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
    /// set by KILL QUERY; the statement stops at its next check
    pub killed: &'a std::sync::atomic::AtomicBool,
    /// position of the statement in the query
    pub statement_id: usize,
}

/// InfluxDB's text when the deadline passes.
const TIMEOUT_ERROR: &str = "query-timeout limit exceeded";

impl SelectContext<'_> {
    /// Stops the statement when it was killed, its deadline passed, or it holds more memory
    /// than its budget (or would, with `more_bytes` on top). Called between series, every
    /// [`ROWS_PER_BOUNDS_CHECK`] rows, per bucket filled, and before large allocations.
    pub(crate) fn check_bounds(&self, more_bytes: u64) -> Result<(), String> {
        if self.killed.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(crate::QUERY_INTERRUPTED.into());
        }
        if let Some(deadline) = self.limits.deadline {
            if std::time::Instant::now() >= deadline {
                return Err(TIMEOUT_ERROR.into());
            }
        }
        let memory = &self.limits.memory;
        if !memory.allows(more_bytes) {
            return Err(format!(
                "query-memory-limit exceeded: ({}/{} bytes)",
                memory.held_bytes().saturating_add(more_bytes),
                memory.limit_bytes
            ));
        }
        Ok(())
    }
}

/// Rows a scan produces between two [`SelectContext::check_bounds`] calls.
pub(crate) const ROWS_PER_BOUNDS_CHECK: usize = 4096;

/// Executes one SELECT (bound parameters already substituted).
pub fn execute_select(statement: &SelectStatement, context: &SelectContext<'_>) -> StatementResult {
    // `SELECT DISTINCT x` answers as `distinct(x)`, but only at the top: a subquery's
    // `DISTINCT x` yields nothing in 1.6.7 (`subquery/count-of-distinct-keyword`).
    let rewritten = plan::with_distinct_calls(statement);
    let statement = rewritten.as_ref().unwrap_or(statement);
    match run(statement, context, TimeRange::ALL) {
        Ok(mut series) => {
            nan_as_null(&mut series);
            StatementResult {
                statement_id: context.statement_id,
                series,
                ..StatementResult::default()
            }
        }
        Err(message) => StatementResult::error(context.statement_id, message),
    }
}

/// 1.6.7 answers a NaN float (stddev or integral of ±1.8e308, `sqrt(-1)`) as null; only
/// the infinities reach its JSON encoder and fail there (`gen-extreme/stddev/float`).
fn nan_as_null(series: &mut [Series]) {
    for one in series {
        for row in &mut one.values {
            for value in row.iter_mut() {
                if matches!(value, Value::Float(v) if v.is_nan()) {
                    *value = Value::Null;
                }
            }
        }
    }
}

/// The UTC offset (seconds) of zone `name` at `time_ns`, for encoders printing a `tz()`
/// query's times; `None` when the zone cannot be loaded.
pub fn zone_offset_seconds(name: &str, time_ns: i64) -> Option<i64> {
    TimeZone::load(name).map(|zone| zone.offset_seconds(time_ns))
}

/// What an executor yields for one measurement: per group, its tags and its rows.
pub(crate) type GroupRows = Vec<(Vec<(String, String)>, Vec<Vec<Value>>)>;

/// One measurement a statement reads, resolved.
pub(crate) struct Measurement {
    /// unescaped name
    name: String,
    database_id: u64,
    retention_policy: String,
    /// (field, type), sorted by field
    fields: Vec<(String, FieldType)>,
    /// tag keys, sorted
    tag_keys: Vec<String>,
    index: Arc<SeriesIndex>,
}

impl Measurement {
    fn field_type(&self, name: &str) -> Option<FieldType> {
        self.fields
            .binary_search_by(|(f, _)| f.as_str().cmp(name))
            .ok()
            .and_then(|i| self.fields.get(i))
            .map(|(_, t)| *t)
    }

    /// Whether `var` reads a field of this measurement (else a tag).
    fn is_field(&self, name: &str, data_type: Option<DataType>) -> bool {
        data_type != Some(DataType::Tag) && self.field_type(name).is_some()
    }
}

/// Name InfluxQL gives a stored type.
pub(crate) fn type_name(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Float => "float",
        FieldType::Integer => "integer",
        FieldType::Unsigned => "unsigned",
        FieldType::String => "string",
        FieldType::Boolean => "boolean",
    }
}

/// The InfluxQL type of a stored field type.
pub(crate) fn data_type_of(field_type: FieldType) -> DataType {
    match field_type {
        FieldType::Float => DataType::Float,
        FieldType::Integer => DataType::Integer,
        FieldType::Unsigned => DataType::Unsigned,
        FieldType::String => DataType::String,
        FieldType::Boolean => DataType::Boolean,
    }
}

/// One series of a group.
pub(crate) struct SeriesInfo {
    /// escaped series key, as stored
    key: Vec<u8>,
    /// (key, value) tags, unescaped, sorted by key
    tags: Vec<(String, String)>,
}

impl SeriesInfo {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Series sharing the GROUP BY tag values.
pub(crate) struct Group {
    /// the GROUP BY tags and this group's values ("" when absent)
    tags: Vec<(String, String)>,
    /// series in key order
    series: Vec<SeriesInfo>,
}

/// What the execution of one statement shares.
pub(crate) struct Exec<'a> {
    context: &'a SelectContext<'a>,
    statement: &'a SelectStatement,
    range: TimeRange,
    /// the non-time part of the condition
    condition: Option<Expr>,
    windows: Option<Windows>,
    ascending: bool,
    points_read: Cell<u64>,
}

impl Exec<'_> {
    fn check_bounds(&self) -> Result<(), String> {
        self.context.check_bounds(0)
    }

    fn count_points(&self, count: usize) -> Result<(), String> {
        let total = self.points_read.get() + count as u64;
        self.points_read.set(total);
        let limit = self.context.limits.max_select_point;
        if limit > 0 && total > limit {
            return Err(format!(
                "max-select-point limit exceeded: ({total}/{limit})"
            ));
        }
        Ok(())
    }

    fn shards(&self, measurement: &Measurement) -> Vec<Arc<Shard>> {
        self.context.store.shards_for(
            measurement.database_id,
            &measurement.retention_policy,
            self.range.min_ns,
            self.range.max_ns,
        )
    }

    /// The column of `field` in one shard within the query's range.
    fn read(
        &self,
        shard: &Shard,
        series: &SeriesInfo,
        field: &str,
    ) -> Result<Option<Column>, String> {
        let column = shard.read(
            &series.key,
            field.as_bytes(),
            self.range.min_ns,
            self.range.max_ns,
        );
        if let Some(column) = &column {
            self.count_points(column.len())?;
        }
        Ok(column)
    }
}

/// The value at `index` of a column.
pub(crate) fn column_value(values: &ColumnValues, index: usize) -> Value {
    match values {
        ColumnValues::Float(v) => v.get(index).map_or(Value::Null, |x| Value::Float(*x)),
        ColumnValues::Integer(v) => v.get(index).map_or(Value::Null, |x| Value::Integer(*x)),
        ColumnValues::Unsigned(v) => v.get(index).map_or(Value::Null, |x| Value::Unsigned(*x)),
        ColumnValues::Boolean(v) => v.get(index).map_or(Value::Null, |x| Value::Boolean(*x)),
        ColumnValues::String(v) => v.get(index).map_or(Value::Null, |x| {
            Value::String(String::from_utf8_lossy(x).into_owned())
        }),
    }
}

/// Runs `statement` within `outer_range` (a subquery's enclosing time range; otherwise all).
fn run(
    statement: &SelectStatement,
    context: &SelectContext<'_>,
    outer_range: TimeRange,
) -> Result<Vec<Series>, String> {
    let interval_ns = statement.group_by_interval_ns().map_err(str::to_string)?;
    let kind = plan::check(statement, interval_ns)?;
    if statement
        .sources
        .iter()
        .any(|s| matches!(s, Source::Subquery(_)))
    {
        return subquery::execute(statement, context, kind, interval_ns, outer_range);
    }
    let (condition, range) = time::split_condition(statement.condition.as_ref(), context.now_ns)?;
    let mut range = range.intersect(outer_range);
    let windows = if interval_ns > 0 {
        let zone = match &statement.timezone {
            Some(name) => Some(
                TimeZone::load(name).ok_or_else(|| format!("unable to find time zone {name}"))?,
            ),
            None => None,
        };
        if !range.has_max() {
            range.max_ns = context.now_ns;
        }
        Some(Windows {
            interval_ns,
            offset_ns: time_offset(statement),
            zone,
        })
    } else {
        None
    };
    let measurements = resolve_sources(statement, context, range)?;
    let ascending = statement.sort_fields.first().is_none_or(|s| s.ascending);
    let exec = Exec {
        context,
        statement,
        range,
        condition,
        windows,
        ascending,
        points_read: Cell::new(0),
    };
    if range.min_ns > range.max_ns || measurements.is_empty() {
        return Ok(Vec::new());
    }
    let keys = collect_keys(&measurements);
    let dimension_tags = dimension_tag_names(statement, &keys);
    let fields = plan::expand_fields(&statement.fields, &keys, &dimension_tags);
    let fields: Vec<Field> = fields
        .into_iter()
        .filter(|f| !time::is_time_ref(&f.expr))
        .collect();
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let columns = plan::column_names(&fields);
    let into_tag_columns = match statement.target {
        Some(_) => plan::selector_tag_columns(&fields),
        None => Vec::new(),
    };
    let output_zone = statement.timezone.as_deref().and_then(TimeZone::load);
    let mut output = Vec::new();
    let mut series_total = 0u64;
    for measurement in &measurements {
        let type_of = |var: &sluice_influxql::ast::VarRef| -> Option<DataType> {
            match var.data_type {
                Some(DataType::Tag) => Some(DataType::Tag),
                _ => match measurement.field_type(&var.name) {
                    Some(field_type) => Some(data_type_of(field_type)),
                    None if measurement.tag_keys.binary_search(&var.name).is_ok() => {
                        Some(DataType::Tag)
                    }
                    None => None,
                },
            }
        };
        for field in &fields {
            plan::check_types(&field.expr, &type_of)?;
        }
        let groups = groups_of(&exec, measurement)?;
        count_selected_series(context, &mut series_total, &groups)?;
        let mut produced = match kind {
            plan::QueryKind::Raw => raw::execute(&exec, measurement, &groups, &fields)?,
            plan::QueryKind::Aggregate => aggregate::execute(&exec, measurement, &groups, &fields)?,
        };
        if !ascending {
            // 1.6.7 emits series in descending (name, tags) order under ORDER BY time DESC;
            // SLIMIT/SOFFSET picked them in ascending order before that.
            produced.reverse();
        }
        for (tags, values) in produced.drain(..) {
            let mut values = apply_limit(values, statement.limit, statement.offset);
            if values.is_empty() {
                continue;
            }
            if let Some(zone) = &output_zone {
                zone_times(&mut values, zone);
            }
            output.push(Series {
                name: Some(measurement.name.clone()),
                tags: if statement.dimensions.iter().any(|d| !is_time_dimension(d)) {
                    tags
                } else {
                    Vec::new()
                },
                columns: columns.clone(),
                values,
                partial: false,
            });
        }
    }
    if !into_tag_columns.is_empty() {
        output = output
            .into_iter()
            .flat_map(|series| split_by_tag_columns(series, &into_tag_columns))
            .collect();
    }
    Ok(output)
}

/// For SELECT INTO: a series whose rows carry the tags of `top(v, tag, n)` as the columns at
/// `positions`, split into one series per value of those tags, the columns made tags (1.6.7
/// writes them as tags, not fields).
fn split_by_tag_columns(series: Series, positions: &[usize]) -> Vec<Series> {
    let is_tag_column = |index: &usize| positions.contains(index);
    let columns: Vec<String> = (0..series.columns.len())
        .filter(|i| !is_tag_column(i))
        .filter_map(|i| series.columns.get(i).cloned())
        .collect();
    let mut split: Vec<Series> = Vec::new();
    for row in series.values {
        let mut tags = series.tags.clone();
        for position in positions {
            let (Some(key), Some(value)) = (series.columns.get(*position), row.get(*position))
            else {
                continue;
            };
            let value = match value {
                Value::String(text) => text.clone(),
                Value::Integer(n) => n.to_string(),
                Value::Unsigned(n) => n.to_string(),
                Value::Float(x) => x.to_string(),
                Value::Boolean(b) => b.to_string(),
                _ => String::new(),
            };
            tags.retain(|(k, _)| k != key);
            tags.push((key.clone(), value));
        }
        tags.sort();
        let values: Vec<Value> = row
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !is_tag_column(i))
            .map(|(_, value)| value)
            .collect();
        match split.iter_mut().find(|s| s.tags == tags) {
            Some(found) => found.values.push(values),
            None => split.push(Series {
                name: series.name.clone(),
                tags,
                columns: columns.clone(),
                values: vec![values],
                partial: false,
            }),
        }
    }
    split
}

/// Gives every time of `rows` the offset of `zone` at that time (a `tz()` query prints its
/// times in the zone).
fn zone_times(rows: &mut [Vec<Value>], zone: &TimeZone) {
    for value in rows.iter_mut().flatten() {
        if let Value::Time(time_ns) = *value {
            let offset_seconds = i32::try_from(zone.offset_seconds(time_ns)).unwrap_or(0);
            *value = Value::ZonedTime {
                time_ns,
                offset_seconds,
            };
        }
    }
}

fn apply_limit(mut values: Vec<Vec<Value>>, limit: u64, offset: u64) -> Vec<Vec<Value>> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    if offset > 0 {
        if offset >= values.len() {
            return Vec::new();
        }
        values.drain(..offset);
    }
    if limit > 0 {
        values.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    values
}

fn is_time_dimension(dimension: &Expr) -> bool {
    matches!(dimension, Expr::Call(call) if call.name == "time")
}

fn time_offset(statement: &SelectStatement) -> i64 {
    statement
        .dimensions
        .iter()
        .find_map(|d| match d {
            Expr::Call(call) if call.name == "time" => match call.args.get(1) {
                Some(Expr::Literal(Literal::Duration(offset))) => Some(*offset),
                Some(Expr::Literal(Literal::Integer(offset))) => Some(*offset),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or(0)
}

/// The measurements of the FROM clause, sorted by name (1.6.7 outputs them so).
fn resolve_sources(
    statement: &SelectStatement,
    context: &SelectContext<'_>,
    range: TimeRange,
) -> Result<Vec<Measurement>, String> {
    let mut measurements: Vec<Measurement> = Vec::new();
    for source in &statement.sources {
        let Source::Measurement(source) = source else {
            continue;
        };
        let database_name = if source.database.is_empty() {
            context.database
        } else {
            source.database.as_str()
        };
        if database_name.is_empty() {
            return Err("database name required".into());
        }
        let database = context
            .meta
            .database(database_name)
            .ok_or_else(|| format!("database not found: {database_name}"))?;
        let policy_name = if source.retention_policy.is_empty() {
            context.retention_policy
        } else {
            source.retention_policy.as_str()
        };
        let policy = database
            .retention_policy(policy_name)
            .ok_or_else(|| format!("retention policy not found: {policy_name}"))?;
        let Some(index) = context.store.series_index(database.id) else {
            continue;
        };
        let names: Vec<String> = match &source.regex {
            Some(pattern) => {
                let regex = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
                index
                    .measurements()
                    .into_iter()
                    .map(|n| String::from_utf8_lossy(&n).into_owned())
                    .filter(|n| regex.is_match(n))
                    .collect()
            }
            None => vec![source.name.clone()],
        };
        for name in names {
            if measurements.iter().any(|m| {
                m.name == name && m.database_id == database.id && m.retention_policy == policy.name
            }) {
                continue;
            }
            if index.measurement_series(name.as_bytes()).is_empty() {
                continue;
            }
            let mut escaped = Vec::new();
            escape_into(name.as_bytes(), EscapeKind::Measurement, &mut escaped);
            let mut fields: Vec<(String, FieldType)> = context
                .store
                .field_types()
                .measurement_fields(database.id, &escaped)
                .into_iter()
                .map(|(f, t)| (String::from_utf8_lossy(&f).into_owned(), t))
                .collect();
            if shards_in_several_policies(context.store, database.id) {
                let present =
                    fields_in_shards(context.store, database.id, &policy.name, &escaped, range);
                fields.retain(|(field, _)| present.contains(field.as_bytes()));
            }
            let tag_keys = index
                .tag_keys(name.as_bytes())
                .into_iter()
                .map(|k| String::from_utf8_lossy(&k).into_owned())
                .collect();
            measurements.push(Measurement {
                name,
                database_id: database.id,
                retention_policy: policy.name.clone(),
                fields,
                tag_keys,
                index: Arc::clone(&index),
            });
        }
    }
    measurements.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(measurements)
}

/// Whether shards of more than one retention policy of the database exist (the field types
/// are kept per database; a policy may hold only some of a measurement's fields).
fn shards_in_several_policies(store: &Store, database_id: u64) -> bool {
    let shards = store.shards();
    let mut policies = shards
        .iter()
        .filter(|shard| shard.database_id == database_id)
        .map(|shard| shard.retention_policy.as_str());
    match policies.next() {
        Some(first) => policies.any(|policy| policy != first),
        None => false,
    }
}

/// The fields of measurement `escaped_name` (escaped) with data in the policy's shards
/// within `range`, as InfluxDB takes a measurement's fields from the shards it maps.
fn fields_in_shards(
    store: &Store,
    database_id: u64,
    policy: &str,
    escaped_name: &[u8],
    range: TimeRange,
) -> std::collections::BTreeSet<Vec<u8>> {
    let mut present = std::collections::BTreeSet::new();
    for shard in store.shards_for(database_id, policy, range.min_ns, range.max_ns) {
        for (key, fields) in shard.series_fields() {
            if sluice_ingest::measurement_of(&key) == escaped_name {
                present.extend(fields.into_keys());
            }
        }
    }
    present
}

fn collect_keys(measurements: &[Measurement]) -> plan::Keys {
    // Maps, not lists searched per key: a measurement may have tens of thousands of fields.
    let mut fields: std::collections::BTreeMap<&str, &'static str> = Default::default();
    let mut tags: std::collections::BTreeSet<&str> = Default::default();
    for measurement in measurements {
        for (field, field_type) in &measurement.fields {
            // The first measurement's type wins.
            fields
                .entry(field.as_str())
                .or_insert(type_name(*field_type));
        }
        tags.extend(measurement.tag_keys.iter().map(String::as_str));
    }
    plan::Keys {
        fields: fields
            .into_iter()
            .map(|(field, field_type)| (field.to_string(), field_type))
            .collect(),
        tags: tags.into_iter().map(str::to_string).collect(),
    }
}

/// The tag names the GROUP BY clause names (over all measurements, for wildcard
/// expansion).
fn dimension_tag_names(statement: &SelectStatement, keys: &plan::Keys) -> Vec<String> {
    let mut names = Vec::new();
    for dimension in &statement.dimensions {
        match dimension {
            Expr::VarRef(var) => names.push(var.name.clone()),
            Expr::Wildcard(_) => names.extend(keys.tags.iter().cloned()),
            Expr::Literal(Literal::Regex(pattern)) => {
                if let Ok(regex) = regex::Regex::new(pattern) {
                    names.extend(keys.tags.iter().filter(|t| regex.is_match(t)).cloned());
                }
            }
            _ => {}
        }
    }
    names
}

/// The GROUP BY tag keys of one measurement, sorted and deduplicated.
fn group_keys(statement: &SelectStatement, measurement: &Measurement) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for dimension in &statement.dimensions {
        match dimension {
            Expr::VarRef(var) => keys.push(var.name.clone()),
            Expr::Wildcard(_) => keys.extend(measurement.tag_keys.iter().cloned()),
            Expr::Literal(Literal::Regex(pattern)) => {
                if let Ok(regex) = regex::Regex::new(pattern) {
                    keys.extend(
                        measurement
                            .tag_keys
                            .iter()
                            .filter(|t| regex.is_match(t))
                            .cloned(),
                    );
                }
            }
            _ => {}
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// A row of only tags: for deciding a condition per series.
struct TagRow<'s> {
    series: &'s SeriesInfo,
}

impl Row for TagRow<'_> {
    fn lookup(&self, name: &str, _data_type: Option<DataType>) -> Value {
        Value::String(self.series.tag(name).unwrap_or("").to_string())
    }
}

/// The condition decided from tags alone: `Some(false)` excludes the series, `None`
/// means it depends on fields.
fn tag_decision(
    expr: &Expr,
    measurement: &Measurement,
    series: &SeriesInfo,
    regexes: &mut RegexCache,
) -> Option<bool> {
    match expr {
        Expr::Paren(inner) => tag_decision(inner, measurement, series, regexes),
        Expr::Literal(Literal::Boolean(value)) => Some(*value),
        Expr::Binary(binary) if binary.op == BinaryOp::And => {
            let lhs = tag_decision(&binary.lhs, measurement, series, regexes);
            if lhs == Some(false) {
                return Some(false);
            }
            let rhs = tag_decision(&binary.rhs, measurement, series, regexes);
            match (lhs, rhs) {
                (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            }
        }
        Expr::Binary(binary) if binary.op == BinaryOp::Or => {
            let lhs = tag_decision(&binary.lhs, measurement, series, regexes);
            if lhs == Some(true) {
                return Some(true);
            }
            let rhs = tag_decision(&binary.rhs, measurement, series, regexes);
            match (lhs, rhs) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }
        }
        Expr::Binary(_) => {
            let mut depends_on_fields = false;
            expr.walk(&mut |e| match e {
                Expr::VarRef(var) => {
                    depends_on_fields |= measurement.is_field(&var.name, var.data_type)
                }
                Expr::Call(_) => depends_on_fields = true,
                _ => {}
            });
            if depends_on_fields {
                return None;
            }
            Some(eval::truthy(&eval::eval(expr, &TagRow { series }, regexes)))
        }
        _ => None,
    }
}

/// A superset of the series the condition's tag terms select, through the index: the
/// `tag = 'value'` and `tag =~ /regex/` terms of AND and OR chains (`None`: no narrowing).
/// Each candidate is still decided by [`tag_decision`]; this only spares looking at the
/// others (a regex over a million tag values is matched once per distinct value, not once
/// per series with its tags decoded).
fn index_candidates(expr: &Expr, measurement: &Measurement) -> Option<RoaringBitmap> {
    match expr {
        Expr::Paren(inner) => index_candidates(inner, measurement),
        Expr::Binary(binary) if binary.op == BinaryOp::And => {
            match (
                index_candidates(&binary.lhs, measurement),
                index_candidates(&binary.rhs, measurement),
            ) {
                (Some(a), Some(b)) => Some(a & b),
                (a, b) => a.or(b),
            }
        }
        Expr::Binary(binary) if binary.op == BinaryOp::Or => {
            match (
                index_candidates(&binary.lhs, measurement),
                index_candidates(&binary.rhs, measurement),
            ) {
                (Some(a), Some(b)) => Some(a | b),
                // One side the index cannot narrow may select any series.
                _ => None,
            }
        }
        Expr::Binary(binary) if binary.op == BinaryOp::EqRegex => {
            let (Expr::VarRef(var), Expr::Literal(Literal::Regex(pattern))) =
                (binary.lhs.unparenthesised(), binary.rhs.unparenthesised())
            else {
                return None;
            };
            if measurement.is_field(&var.name, var.data_type) {
                return None;
            }
            // The same compilation `eval::RegexCache` uses: a pattern that does not compile
            // matches nothing there, so nothing here.
            let Ok(regex) = regex::Regex::new(pattern) else {
                return Some(RoaringBitmap::new());
            };
            let name = measurement.name.as_bytes();
            let key = var.name.as_bytes();
            let mut series = regex::series_with_tag_matching_regex(
                &measurement.index,
                name,
                key,
                pattern,
                |text| regex.is_match(text),
            );
            // A series without the tag reads it as "".
            if regex.is_match("") {
                series |= measurement.index.series_without_tag(name, key);
            }
            Some(series)
        }
        Expr::Binary(binary) if binary.op == BinaryOp::Eq => {
            let (Expr::VarRef(var), Expr::Literal(Literal::String(value))) =
                (binary.lhs.unparenthesised(), binary.rhs.unparenthesised())
            else {
                return None;
            };
            if measurement.is_field(&var.name, var.data_type) {
                return None;
            }
            let name = measurement.name.as_bytes();
            Some(if value.is_empty() {
                measurement
                    .index
                    .series_without_tag(name, var.name.as_bytes())
            } else {
                measurement
                    .index
                    .series_with_tag(name, var.name.as_bytes(), value.as_bytes())
            })
        }
        _ => None,
    }
}

/// The groups of one measurement, in output order, SLIMIT/SOFFSET applied.
fn groups_of(exec: &Exec<'_>, measurement: &Measurement) -> Result<Vec<Group>, String> {
    let name = measurement.name.as_bytes();
    let mut candidates = measurement.index.measurement_series(name);
    if let Some(condition) = &exec.condition {
        if let Some(filtered) = index_candidates(condition, measurement) {
            candidates &= filtered;
        }
    }
    let mut regexes = RegexCache::default();
    let mut series: Vec<SeriesInfo> = Vec::with_capacity(candidates.len() as usize);
    for id in &candidates {
        let Some(key) = measurement.index.key_of(id) else {
            continue;
        };
        let Some(tags) = measurement.index.tags_of(id) else {
            continue;
        };
        let info = SeriesInfo {
            key,
            tags: tags
                .tags
                .into_iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(&k).into_owned(),
                        String::from_utf8_lossy(&v).into_owned(),
                    )
                })
                .collect(),
        };
        if let Some(condition) = &exec.condition {
            if tag_decision(condition, measurement, &info, &mut regexes) == Some(false) {
                continue;
            }
        }
        series.push(info);
    }
    series.sort_by(|a, b| a.key.cmp(&b.key));
    let keys = group_keys(exec.statement, measurement);
    // Keyed by the group's tag values in key order: iteration is the output order.
    let mut by_values: std::collections::BTreeMap<Vec<String>, Vec<SeriesInfo>> =
        std::collections::BTreeMap::new();
    for info in series {
        let values: Vec<String> = keys
            .iter()
            .map(|k| info.tag(k).unwrap_or("").to_string())
            .collect();
        by_values.entry(values).or_default().push(info);
    }
    let groups: Vec<Group> = by_values
        .into_iter()
        .map(|(values, series)| Group {
            tags: keys.iter().cloned().zip(values).collect(),
            series,
        })
        .collect();
    Ok(limit_groups(
        groups,
        exec.statement.series_limit,
        exec.statement.series_offset,
    ))
}

/// Adds `groups`' series to the statement's running `series_total` and refuses it past
/// `max-select-series` (SELECT and EXPLAIN count alike).
pub(super) fn count_selected_series(
    context: &SelectContext<'_>,
    series_total: &mut u64,
    groups: &[Group],
) -> Result<(), String> {
    *series_total += groups.iter().map(|g| g.series.len() as u64).sum::<u64>();
    let limit = context.limits.max_select_series;
    if limit > 0 && *series_total > limit {
        return Err(format!(
            "max-select-series limit exceeded: ({series_total}/{limit})"
        ));
    }
    Ok(())
}

/// 1.6.7's `LimitTagSets`: with an offset and no limit, nothing is left.
pub(super) fn limit_groups<T>(mut groups: Vec<T>, limit: u64, offset: u64) -> Vec<T> {
    if limit == 0 && offset == 0 {
        return groups;
    }
    let len = groups.len();
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    if offset > len {
        return Vec::new();
    }
    let mut limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if offset.saturating_add(limit) > len {
        limit = len - offset;
    }
    groups.truncate(offset + limit);
    groups.drain(..offset);
    groups
}

/// Replays Go's `container/heap` merge of sorted inputs (1.6.7's sorted merge iterator):
/// `less` orders items; equal items come out in the order the heap's shape gives them.
pub(crate) fn heap_merge<T>(inputs: Vec<Vec<T>>, less: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let total: usize = inputs.iter().map(Vec::len).sum();
    let mut sources: Vec<std::vec::IntoIter<T>> = inputs.into_iter().map(Vec::into_iter).collect();
    // heap of (current item, source index)
    let mut heap: Vec<(T, usize)> = Vec::with_capacity(sources.len());
    for (index, source) in sources.iter_mut().enumerate() {
        if let Some(item) = source.next() {
            heap.push((item, index));
        }
    }
    let item_less = |heap: &[(T, usize)], i: usize, j: usize| match (heap.get(i), heap.get(j)) {
        (Some(a), Some(b)) => less(&a.0, &b.0),
        _ => false,
    };
    let down = |heap: &mut Vec<(T, usize)>, start: usize, n: usize| {
        let mut i = start;
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let mut j = left;
            let right = left + 1;
            if right < n && item_less(heap, right, left) {
                j = right;
            }
            if !item_less(heap, j, i) {
                break;
            }
            heap.swap(i, j);
            i = j;
        }
    };
    let up = |heap: &mut Vec<(T, usize)>, mut j: usize| {
        while j > 0 {
            let i = (j - 1) / 2;
            if !item_less(heap, j, i) {
                break;
            }
            heap.swap(i, j);
            j = i;
        }
    };
    let n = heap.len();
    for i in (0..n / 2).rev() {
        down(&mut heap, i, n);
    }
    let mut output = Vec::with_capacity(total);
    while !heap.is_empty() {
        let last = heap.len() - 1;
        heap.swap(0, last);
        down(&mut heap, 0, last);
        let Some((item, source)) = heap.pop() else {
            break;
        };
        output.push(item);
        if let Some(next) = sources.get_mut(source).and_then(Iterator::next) {
            heap.push((next, source));
            let last = heap.len() - 1;
            up(&mut heap, last);
        }
    }
    output
}
