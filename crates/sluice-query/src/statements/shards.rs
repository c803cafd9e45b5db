//! SHOW SHARDS, SHOW SHARD GROUPS, DROP SHARD.
//!
//! One shard per shard group (a single node), so a shard's id, group and time range come
//! from its group in meta. Times are RFC 3339 strings in whole seconds whatever `epoch`
//! says (InfluxDB formats them itself); a group's expiry is its end plus the policy's
//! duration (its end for an infinite policy).

use super::{named_series, StatementContext};
use crate::encode::rfc3339_seconds;
use crate::result::{StatementResult, Value};
use sluice_influxql::ast::DropShardStatement;
use sluice_storage::meta::{Database, RetentionPolicy, ShardGroup};

const SHARD_COLUMNS: &[&str] = &[
    "id",
    "database",
    "retention_policy",
    "shard_group",
    "start_time",
    "end_time",
    "expiry_time",
    "owners",
];
const SHARD_GROUP_COLUMNS: &[&str] = &[
    "id",
    "database",
    "retention_policy",
    "start_time",
    "end_time",
    "expiry_time",
];

/// Every shard group of a database, in policy then time order.
fn groups(database: &Database) -> impl Iterator<Item = (&RetentionPolicy, &ShardGroup)> {
    database
        .retention_policies
        .iter()
        .flat_map(|rp| rp.shard_groups.iter().map(move |group| (rp, group)))
}

fn times(rp: &RetentionPolicy, group: &ShardGroup) -> [Value; 3] {
    let expiry_ns = group.end_ns.saturating_add(rp.duration_ns);
    [
        Value::String(rfc3339_seconds(group.start_ns)),
        Value::String(rfc3339_seconds(group.end_ns)),
        Value::String(rfc3339_seconds(expiry_ns)),
    ]
}

/// `SHOW SHARDS`: one series per database (columns only when it has no shard).
pub fn show_shards(context: &StatementContext<'_>) -> StatementResult {
    let series = context
        .meta
        .databases
        .iter()
        .map(|database| {
            let values = groups(database)
                .map(|(rp, group)| {
                    let mut row = vec![
                        Value::Integer(group.shard_id as i64),
                        Value::String(database.name.clone()),
                        Value::String(rp.name.clone()),
                        Value::Integer(group.id as i64),
                    ];
                    row.extend(times(rp, group));
                    row.push(Value::String(String::new()));
                    row
                })
                .collect();
            named_series(&database.name, SHARD_COLUMNS, values)
        })
        .collect();
    context.with_series(series)
}

/// `SHOW SHARD GROUPS`: one series for all databases.
pub fn show_shard_groups(context: &StatementContext<'_>) -> StatementResult {
    let values = context
        .meta
        .databases
        .iter()
        .flat_map(|database| {
            groups(database).map(move |(rp, group)| {
                let mut row = vec![
                    Value::Integer(group.id as i64),
                    Value::String(database.name.clone()),
                    Value::String(rp.name.clone()),
                ];
                row.extend(times(rp, group));
                row
            })
        })
        .collect();
    context.with_series(vec![named_series(
        "shard groups",
        SHARD_GROUP_COLUMNS,
        values,
    )])
}

/// `DROP SHARD id`: forgets the shard in meta, then deletes its data (a missing id is not
/// an error); `Store::drop_shard` has the order that keeps it dropped across a crash.
pub fn drop_shard(
    statement: &DropShardStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    match context.query.store.drop_shard(statement.id) {
        Ok(_) => context.empty(),
        Err(error) => context.error(error),
    }
}
