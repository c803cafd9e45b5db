//! CREATE, ALTER, DROP and SHOW RETENTION POLICIES.
//!
//! The checks and their order are InfluxDB's: a duration below an hour, then a shard
//! duration longer than the duration, then the database, then an existing policy of the
//! same name (identical: nothing to do; different: `retention policy already exists`).
//! Dropping a policy deletes its shards.

use super::{unnamed_series, StatementContext};
use crate::result::{StatementResult, Value};
use sluice_influxql::ast::{
    AlterRetentionPolicyStatement, CreateRetentionPolicyStatement, DropRetentionPolicyStatement,
    ShowRetentionPoliciesStatement,
};
use sluice_storage::meta::{normalised_shard_duration_ns, RetentionPolicy, RetentionPolicyChange};

/// Columns of SHOW RETENTION POLICIES.
const COLUMNS: &[&str] = &[
    "name",
    "duration",
    "shardGroupDuration",
    "replicaN",
    "default",
];

/// `CREATE RETENTION POLICY ...`
pub fn create(
    statement: &CreateRetentionPolicyStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    if !super::databases::is_valid_name(&statement.name) {
        return context.error(super::databases::INVALID_NAME);
    }
    let policy = RetentionPolicy {
        name: statement.name.clone(),
        duration_ns: statement.duration_ns,
        shard_group_duration_ns: normalised_shard_duration_ns(
            statement.shard_group_duration_ns,
            statement.duration_ns,
        ),
        replication: statement.replication,
        shard_groups: Vec::new(),
    };
    match context
        .query
        .meta
        .create_retention_policy(&statement.database, policy, statement.default)
    {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// `ALTER RETENTION POLICY ...`
pub fn alter(
    statement: &AlterRetentionPolicyStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let change = RetentionPolicyChange {
        duration_ns: statement.duration_ns,
        replication: statement.replication,
        shard_group_duration_ns: statement.shard_group_duration_ns,
        make_default: statement.default,
    };
    match context
        .query
        .meta
        .alter_retention_policy(&statement.database, &statement.name, &change)
    {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// `DROP RETENTION POLICY name ON db`
pub fn drop(
    statement: &DropRetentionPolicyStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    match context
        .query
        .meta
        .drop_retention_policy(&statement.database, &statement.name)
    {
        Ok(shard_ids) => {
            for shard_id in shard_ids {
                context.query.store.remove_shard(shard_id);
            }
            context.empty()
        }
        Err(error) => context.error(error.to_string()),
    }
}

/// `SHOW RETENTION POLICIES [ON db]`: one unnamed series, policies in creation order.
pub fn show(
    statement: &ShowRetentionPoliciesStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let name = match context.database_name(statement.database.as_deref(), &[]) {
        Ok(name) => name,
        Err(error) => return error,
    };
    let database = match context.require_database(name) {
        Ok(database) => database,
        Err(error) => return error,
    };
    let values = database
        .retention_policies
        .iter()
        .map(|rp| {
            vec![
                Value::String(rp.name.clone()),
                Value::String(go_duration(rp.duration_ns)),
                Value::String(go_duration(rp.shard_group_duration_ns)),
                Value::Integer(i64::from(rp.replication)),
                Value::Boolean(rp.name == database.default_retention_policy),
            ]
        })
        .collect();
    context.with_series(vec![unnamed_series(COLUMNS, values)])
}

/// A duration as Go's `time.Duration.String()` prints it: `0s`, `1h0m0s`, `1m30s`,
/// `1.5s`, `100ms`, `1µs`, `5ns`.
pub fn go_duration(duration_ns: i64) -> String {
    const NANOS_PER_SECOND: u64 = 1_000_000_000;
    if duration_ns == 0 {
        return "0s".to_string();
    }
    let negative = duration_ns < 0;
    let magnitude = duration_ns.unsigned_abs();
    let sign = if negative { "-" } else { "" };
    if magnitude < NANOS_PER_SECOND {
        let (unit, scale) = match magnitude {
            m if m < 1_000 => ("ns", 1),
            m if m < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", fraction_text(magnitude, scale));
    }
    let seconds_total = magnitude / NANOS_PER_SECOND;
    let hours = seconds_total / 3600;
    let minutes = seconds_total / 60 % 60;
    let seconds = fraction_text(magnitude % (60 * NANOS_PER_SECOND), NANOS_PER_SECOND);
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}s")
    } else {
        format!("{sign}{seconds}s")
    }
}

/// `value / scale` with the fraction's trailing zeros (and a bare point) dropped.
fn fraction_text(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let fraction = value % scale;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn durations_as_go_prints_them() {
        const HOUR: i64 = 3_600_000_000_000;
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(168 * HOUR), "168h0m0s");
        assert_eq!(go_duration(873_600 * HOUR), "873600h0m0s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(100_000_000), "100ms");
        assert_eq!(go_duration(1_000), "1µs");
        assert_eq!(go_duration(5), "5ns");
    }
}
