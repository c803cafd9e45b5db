//! CREATE DATABASE, DROP DATABASE, SHOW DATABASES.
//!
//! Dropping a database removes it from meta first (so no new write is accepted), then its
//! field types and its shards and series index from storage.

use super::{named_series, StatementContext};
use crate::authorize::may_list_database;
use crate::result::{StatementResult, Value};
use sluice_influxql::ast::{CreateDatabaseStatement, DropDatabaseStatement};
use sluice_storage::meta::{RetentionPolicySpec, DURATION_TOO_LOW, MIN_RETENTION_DURATION_NS};

/// InfluxDB's answer to a database or retention policy name that cannot be a directory.
pub const INVALID_NAME: &str = "invalid name";

/// Whether `name` may name a database or a retention policy: as in 1.6.7, which makes them
/// directories, not empty, not `.` or `..`, and without `/` or `\`.
pub fn is_valid_name(name: &str) -> bool {
    !matches!(name, "" | "." | "..") && !name.contains(['/', '\\'])
}

/// `CREATE DATABASE name [WITH ...]`
pub fn create(
    statement: &CreateDatabaseStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let policy_name_invalid = statement
        .retention_policy_name
        .as_deref()
        .is_some_and(|name| !is_valid_name(name));
    if !is_valid_name(&statement.name) || policy_name_invalid {
        return context.error(INVALID_NAME);
    }
    if statement
        .retention_policy_duration_ns
        .is_some_and(|d| d != 0 && d < MIN_RETENTION_DURATION_NS)
    {
        return context.error(DURATION_TOO_LOW);
    }
    let spec = RetentionPolicySpec {
        name: statement.retention_policy_name.clone(),
        duration_ns: statement.retention_policy_duration_ns,
        shard_group_duration_ns: statement.retention_policy_shard_group_duration_ns,
        replication: statement.retention_policy_replication,
    };
    match context.query.meta.create_database(&statement.name, &spec) {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// `DROP DATABASE name` (a missing database is not an error).
pub fn drop(statement: &DropDatabaseStatement, context: &StatementContext<'_>) -> StatementResult {
    let id = context.meta.database(&statement.name).map(|db| db.id);
    if let Err(error) = context.query.meta.drop_database(&statement.name) {
        return context.error(error.to_string());
    }
    if let Some(id) = id {
        context.query.field_types.drop_database(id);
        context.query.store.drop_database(id);
    }
    context.empty()
}

/// `SHOW DATABASES`: every database in creation order; with auth on, only those the user may
/// read or write.
pub fn show(context: &StatementContext<'_>) -> StatementResult {
    let values = context
        .meta
        .databases
        .iter()
        .filter(|db| may_list_database(context.identity, &context.meta, &db.name))
        .map(|db| vec![Value::String(db.name.clone())])
        .collect();
    context.with_series(vec![named_series("databases", &["name"], values)])
}
