//! Every statement but SELECT: what it does and what it returns, as InfluxDB 1.6.7.
//!
//! Owns the execution of database, retention policy, SHOW (measurements, series, tags,
//! fields, cardinalities, shards), DROP/DELETE and administrative statements; one file per
//! family. It reads the meta snapshot and the series index, and changes data only through
//! `MetaStore` and `Store` methods. It never scans points: series sets come from the index
//! bitmaps ([`tag_condition`]), field keys from the field-type registry, and the per-shard
//! counts some cardinalities need from the shards' series lists (index blocks, not data).
//!
//! Errors are InfluxDB's texts, carried in the statement's result.

pub mod admin;
pub mod databases;
pub mod mutate;
pub mod retention;
pub mod series_meta;
pub mod servers;
pub mod shards;
pub mod tag_condition;

use std::sync::Arc;

use crate::result::{Series, StatementResult, Value};
use crate::QueryContext;
use sluice_influxql::ast::{Measurement, Source};
use sluice_storage::meta::{Database, MetaData};
use sluice_storage::series_index::SeriesIndex;

/// InfluxDB's error when neither `ON db` nor the `db` parameter names a database.
pub const DATABASE_NAME_REQUIRED: &str = "database name required";

/// What one statement runs with.
pub struct StatementContext<'a> {
    /// meta store, field types, storage engine
    pub query: &'a QueryContext,
    /// the meta snapshot taken when the statement started
    pub meta: Arc<MetaData>,
    /// the `db` parameter ("" when absent)
    pub database: &'a str,
    /// the `rp` parameter ("" when absent)
    pub retention_policy: &'a str,
    /// position of the statement in the query
    pub statement_id: usize,
    /// who sent the query (SHOW DATABASES lists only what it may read or write)
    pub identity: &'a crate::authorize::Identity,
}

impl StatementContext<'_> {
    /// A failed result of this statement.
    pub fn error(&self, message: impl Into<String>) -> StatementResult {
        StatementResult::error(self.statement_id, message)
    }

    /// A successful result without series.
    pub fn empty(&self) -> StatementResult {
        StatementResult {
            statement_id: self.statement_id,
            ..StatementResult::default()
        }
    }

    /// A result holding `series` (no `series` key when it is empty).
    pub fn with_series(&self, series: Vec<Series>) -> StatementResult {
        StatementResult {
            statement_id: self.statement_id,
            series,
            ..StatementResult::default()
        }
    }

    /// The database a statement addresses: `ON db`, else the first source's database,
    /// else the `db` parameter. `Err(database name required)` when none is given.
    pub fn database_name<'s>(
        &'s self,
        on: Option<&'s str>,
        sources: &'s [Source],
    ) -> Result<&'s str, StatementResult> {
        let from_source = sources.iter().find_map(|source| match source {
            Source::Measurement(m) if !m.database.is_empty() => Some(m.database.as_str()),
            _ => None,
        });
        let name = on.or(from_source).unwrap_or(self.database);
        if name.is_empty() {
            return Err(self.error(DATABASE_NAME_REQUIRED));
        }
        Ok(name)
    }

    /// The database called `name`, or InfluxDB's `database not found` error.
    pub fn require_database<'m>(&'m self, name: &str) -> Result<&'m Database, StatementResult> {
        self.meta
            .database(name)
            .ok_or_else(|| self.error(format!("database not found: {name}")))
    }
}

/// A result series without a name.
pub fn unnamed_series(columns: &[&str], values: Vec<Vec<Value>>) -> Series {
    Series {
        name: None,
        tags: Vec::new(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        values,
        partial: false,
    }
}

/// A result series called `name`.
pub fn named_series(name: &str, columns: &[&str], values: Vec<Vec<Value>>) -> Series {
    Series {
        name: Some(name.to_string()),
        ..unnamed_series(columns, values)
    }
}

/// Applies InfluxQL's `OFFSET` and `LIMIT` (0 = none) to `items`.
pub fn limit_offset<T>(items: Vec<T>, limit: u64, offset: u64) -> Vec<T> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = match limit {
        0 => usize::MAX,
        limit => usize::try_from(limit).unwrap_or(usize::MAX),
    };
    items.into_iter().skip(offset).take(limit).collect()
}

/// Compiles an InfluxQL regex (Go RE2 syntax, already checked by the parser).
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|error| format!("error parsing regexp: {error}"))
}

/// The measurements (unescaped, sorted, each once) of `index` that `sources` name; every
/// measurement when `sources` is empty. Subqueries name none.
pub fn source_measurements(
    index: &SeriesIndex,
    sources: &[Source],
) -> Result<Vec<Vec<u8>>, String> {
    let all = index.measurements();
    if sources.is_empty() {
        return Ok(all);
    }
    let mut selected: Vec<Vec<u8>> = Vec::new();
    for source in sources {
        let Source::Measurement(measurement) = source else {
            continue;
        };
        selected.extend(matching_measurements(&all, measurement)?);
    }
    selected.sort();
    selected.dedup();
    Ok(selected)
}

/// The names among `all` a measurement reference names.
fn matching_measurements(
    all: &[Vec<u8>],
    measurement: &Measurement,
) -> Result<Vec<Vec<u8>>, String> {
    match &measurement.regex {
        Some(pattern) => {
            let regex = compile_regex(pattern)?;
            Ok(all
                .iter()
                .filter(|name| regex.is_match(&String::from_utf8_lossy(name)))
                .cloned()
                .collect())
        }
        None => Ok(all
            .iter()
            .filter(|name| name.as_slice() == measurement.name.as_bytes())
            .cloned()
            .collect()),
    }
}

/// Lossless-enough text of index bytes (names are UTF-8 once written).
pub fn text(bytes: &[u8]) -> String {
    // `from_utf8` checks valid text faster than the lossy conversion walks it.
    match std::str::from_utf8(bytes) {
        Ok(valid) => valid.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}
