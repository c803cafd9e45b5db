//! Users, privileges, continuous queries, subscriptions, SHOW STATS / DIAGNOSTICS,
//! SHOW QUERIES and KILL QUERY.
//!
//! Users and their privileges live in the meta store (persisted, crash-safe; passwords as
//! bcrypt hashes at [`PASSWORD_BCRYPT_COST`]); whether a statement may run is decided before
//! it runs, by `query::authorize`. Continuous queries live in the meta store too (the
//! printed, qualified statement; `query::continuous` runs them), and so do subscriptions
//! (the root crate's `subscriber` forwards the writes they name).
//!
//! Running queries are registered in [`RunningQueries`] for SHOW QUERIES; KILL QUERY marks
//! one killed (checked between statements).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::retention::go_duration;
use super::{named_series, unnamed_series, StatementContext};
use crate::result::{Series, StatementResult, Value};
use sluice_influxql::ast::{
    CreateContinuousQueryStatement, CreateSubscriptionStatement, CreateUserStatement,
    DropContinuousQueryStatement, DropSubscriptionStatement, DropUserStatement, GrantStatement,
    KillQueryStatement, Privilege, RevokeStatement, SetPasswordStatement, ShowGrantsStatement,
    ShowModuleStatement, Source,
};
use sluice_storage::meta::{self, PrivilegeChange, UserPrivilege};

/// bcrypt cost of stored password hashes: InfluxDB's (Go's `bcrypt.DefaultCost`), about
/// 50 ms a hash or check on this machine's cores; the credential cache of `http::auth`
/// keeps it off the path of every request.
pub const PASSWORD_BCRYPT_COST: u32 = 10;

/// One query being executed.
#[derive(Debug)]
pub struct RunningQuery {
    /// id shown by SHOW QUERIES and taken by KILL QUERY
    pub id: u64,
    /// the query text
    pub text: String,
    /// its `db` parameter
    pub database: String,
    started: Instant,
    killed: AtomicBool,
}

impl RunningQuery {
    /// Whether KILL QUERY asked for this query to stop.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// The flag KILL QUERY sets, for a statement to check while it runs.
    pub fn kill_flag(&self) -> &AtomicBool {
        &self.killed
    }
}

/// The queries being executed now.
#[derive(Debug, Default)]
pub struct RunningQueries {
    next_id: AtomicU64,
    running: Mutex<Vec<Arc<RunningQuery>>>,
}

impl RunningQueries {
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<RunningQuery>>> {
        sluice_base::locks::lock(&self.running)
    }

    /// Registers a query; it stays listed until [`RunningQueries::finish`].
    pub fn start(&self, text: &str, database: &str) -> Arc<RunningQuery> {
        let query = Arc::new(RunningQuery {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            text: text.to_string(),
            database: database.to_string(),
            started: Instant::now(),
            killed: AtomicBool::new(false),
        });
        self.lock().push(Arc::clone(&query));
        query
    }

    /// Forgets a finished query.
    pub fn finish(&self, id: u64) {
        self.lock().retain(|query| query.id != id);
    }
}

/// `CREATE USER`: the password is hashed with bcrypt and the user persisted in the meta
/// store. Repeating it with the same password and admin flag is not an error (as InfluxDB);
/// with another, it is `user already exists`.
pub fn create_user(
    statement: &CreateUserStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    if let Some(user) = context.query.meta.snapshot().user(&statement.name) {
        let same_password =
            bcrypt::verify(&statement.password, &user.password_hash).unwrap_or(false);
        if !same_password || user.admin != statement.admin {
            return context.error(meta::USER_EXISTS);
        }
        return context.empty();
    }
    let hash = match hash_password(&statement.password) {
        Ok(hash) => hash,
        Err(error) => return context.error(error),
    };
    meta_result(
        context
            .query
            .meta
            .create_user(&statement.name, &hash, statement.admin),
        context,
    )
}

/// The bcrypt hash of `password` at [`PASSWORD_BCRYPT_COST`].
fn hash_password(password: &str) -> Result<String, String> {
    bcrypt::hash(password, PASSWORD_BCRYPT_COST)
        .map_err(|error| format!("hashing password: {error}"))
}

/// A meta store change as a statement result (its error text as InfluxDB's).
fn meta_result(
    result: Result<(), meta::MetaError>,
    context: &StatementContext<'_>,
) -> StatementResult {
    match result {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// `DROP USER`
pub fn drop_user(statement: &DropUserStatement, context: &StatementContext<'_>) -> StatementResult {
    meta_result(context.query.meta.drop_user(&statement.name), context)
}

/// `SET PASSWORD FOR`
pub fn set_password(
    statement: &SetPasswordStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    if context
        .query
        .meta
        .snapshot()
        .user(&statement.name)
        .is_none()
    {
        return context.error(meta::USER_NOT_FOUND);
    }
    let hash = match hash_password(&statement.password) {
        Ok(hash) => hash,
        Err(error) => return context.error(error),
    };
    meta_result(
        context.query.meta.set_password_hash(&statement.name, &hash),
        context,
    )
}

/// `SHOW USERS`, in creation order.
pub fn show_users(context: &StatementContext<'_>) -> StatementResult {
    let values = context
        .meta
        .users
        .iter()
        .map(|user| vec![Value::String(user.name.clone()), Value::Boolean(user.admin)])
        .collect();
    context.with_series(vec![unnamed_series(&["user", "admin"], values)])
}

fn user_privilege(privilege: Privilege) -> UserPrivilege {
    match privilege {
        Privilege::Read => UserPrivilege::Read,
        Privilege::Write => UserPrivilege::Write,
        Privilege::All => UserPrivilege::All,
    }
}

/// `GRANT privilege ON db TO user` (replaces the user's privilege on db) and `GRANT ALL
/// PRIVILEGES TO user` (admin).
pub fn grant(statement: &GrantStatement, context: &StatementContext<'_>) -> StatementResult {
    let meta = &context.query.meta;
    let granted = user_privilege(statement.privilege);
    let result = match &statement.database {
        None => meta.set_admin(&statement.user, true),
        Some(database) => {
            meta.set_privilege(&statement.user, database, PrivilegeChange::Set(granted))
        }
    };
    meta_result(result, context)
}

/// `REVOKE privilege ON db FROM user` (clears those bits, leaving `NO PRIVILEGES` at worst,
/// as InfluxDB) and `REVOKE ALL PRIVILEGES FROM user` (no longer admin).
pub fn revoke(statement: &RevokeStatement, context: &StatementContext<'_>) -> StatementResult {
    let meta = &context.query.meta;
    let revoked = user_privilege(statement.privilege);
    let result = match &statement.database {
        None => meta.set_admin(&statement.user, false),
        Some(database) => {
            meta.set_privilege(&statement.user, database, PrivilegeChange::Revoke(revoked))
        }
    };
    meta_result(result, context)
}

/// `SHOW GRANTS FOR user`, by database name.
pub fn show_grants(
    statement: &ShowGrantsStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let Some(user) = context.meta.user(&statement.user) else {
        return context.error(meta::USER_NOT_FOUND);
    };
    let values = user
        .privileges
        .iter()
        .map(|(database, privilege)| {
            vec![
                Value::String(database.clone()),
                Value::String(privilege_name(*privilege).to_string()),
            ]
        })
        .collect();
    context.with_series(vec![unnamed_series(&["database", "privilege"], values)])
}

fn privilege_name(privilege: UserPrivilege) -> &'static str {
    match privilege {
        UserPrivilege::None => "NO PRIVILEGES",
        UserPrivilege::Read => "READ",
        UserPrivilege::Write => "WRITE",
        UserPrivilege::All => "ALL PRIVILEGES",
    }
}

/// `CREATE CONTINUOUS QUERY`: its sources and target qualified by database and retention
/// policy as 1.6.7 normalises them (the request's `db`, else the CQ's database; the `rp`
/// parameter, else the database's default policy), each retention policy checked, then
/// stored in the meta store with the printed statement, as InfluxDB lists it.
pub fn create_continuous_query(
    statement: &CreateContinuousQueryStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let default_database = if context.database.is_empty() {
        statement.database.as_str()
    } else {
        context.database
    };
    let mut qualified = statement.clone();
    let sources = qualified
        .source
        .sources
        .iter_mut()
        .filter_map(|source| match source {
            Source::Measurement(measurement) => Some(measurement),
            _ => None,
        });
    for measurement in sources.chain(qualified.source.target.as_mut()) {
        if let Err(error) = qualify(measurement, default_database, context) {
            return context.error(error);
        }
    }
    let printed = sluice_influxql::ast::Statement::CreateContinuousQuery(qualified).to_string();
    match context
        .query
        .meta
        .create_continuous_query(&statement.database, &statement.name, &printed)
    {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// Fills in a measurement's database and retention policy as 1.6.7's normalisation does,
/// then checks that the retention policy exists.
fn qualify(
    measurement: &mut sluice_influxql::ast::Measurement,
    default_database: &str,
    context: &StatementContext<'_>,
) -> Result<(), String> {
    if measurement.database.is_empty() {
        measurement.database = default_database.to_string();
    }
    if measurement.database.is_empty() {
        return Err("database name required".to_string());
    }
    let Some(database) = context.meta.database(&measurement.database) else {
        return Err(format!("database not found: {}", measurement.database));
    };
    if measurement.retention_policy.is_empty() {
        measurement.retention_policy = if context.retention_policy.is_empty() {
            database.default_retention_policy.clone()
        } else {
            context.retention_policy.to_string()
        };
    }
    if database
        .retention_policy(&measurement.retention_policy)
        .is_none()
    {
        return Err(format!(
            "retention policy not found: {}.{}",
            measurement.database, measurement.retention_policy
        ));
    }
    Ok(())
}

/// `DROP CONTINUOUS QUERY` (a missing one, or a missing database, is not an error).
pub fn drop_continuous_query(
    statement: &DropContinuousQueryStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    match context
        .query
        .meta
        .drop_continuous_query(&statement.database, &statement.name)
    {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// `SHOW CONTINUOUS QUERIES`: one series per database, in creation order.
pub fn show_continuous_queries(context: &StatementContext<'_>) -> StatementResult {
    let series = context
        .meta
        .databases
        .iter()
        .map(|database| {
            let values = database
                .continuous_queries
                .iter()
                .map(|cq| {
                    vec![
                        Value::String(cq.name.clone()),
                        Value::String(cq.query.clone()),
                    ]
                })
                .collect();
            named_series(&database.name, &["name", "query"], values)
        })
        .collect();
    context.with_series(series)
}

/// `CREATE SUBSCRIPTION`: each destination checked as 1.6.7 does, then stored in the meta
/// store (InfluxDB's checks and texts there).
pub fn create_subscription(
    statement: &CreateSubscriptionStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    if let Some(invalid) = statement
        .destinations
        .iter()
        .find(|url| !is_subscription_url(url))
    {
        return context.error(format!("invalid subscription URL: {invalid}"));
    }
    let subscription = meta::SubscriptionInfo {
        name: statement.name.clone(),
        retention_policy: statement.retention_policy.clone(),
        mode_all: statement.mode_all,
        destinations: statement.destinations.clone(),
    };
    match context
        .query
        .meta
        .create_subscription(&statement.database, subscription)
    {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// Whether 1.6.7 takes `url` as a destination (checked before anything else): scheme
/// `udp`, `http` or `https` (any case) and a numeric port (`udp://:9` passes, `http://x`
/// does not).
fn is_subscription_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "udp" | "http" | "https") {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match host_port.rsplit_once(':') {
        Some((_, port)) => !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// `DROP SUBSCRIPTION`
pub fn drop_subscription(
    statement: &DropSubscriptionStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let dropped = context.query.meta.drop_subscription(
        &statement.database,
        &statement.retention_policy,
        &statement.name,
    );
    match dropped {
        Ok(()) => context.empty(),
        Err(error) => context.error(error.to_string()),
    }
}

/// `SHOW SUBSCRIPTIONS`: one series per database that has any. Destinations are one
/// comma-separated string (InfluxDB sends a JSON array, which the result model cannot
/// hold yet).
pub fn show_subscriptions(context: &StatementContext<'_>) -> StatementResult {
    let mut series = Vec::new();
    for database in &context.meta.databases {
        let values: Vec<Vec<Value>> = database
            .subscriptions
            .iter()
            .map(|s| {
                vec![
                    Value::String(s.retention_policy.clone()),
                    Value::String(s.name.clone()),
                    Value::String(if s.mode_all { "ALL" } else { "ANY" }.to_string()),
                    Value::String(s.destinations.join(", ")),
                ]
            })
            .collect();
        if !values.is_empty() {
            series.push(named_series(
                &database.name,
                &["retention_policy", "name", "mode", "destinations"],
                values,
            ));
        }
    }
    context.with_series(series)
}

/// `SHOW STATS [FOR 'module']`: every statistic of the server's registry (one series per
/// module instance: name = module, its tags, its counters as integer columns sorted by
/// name), or those of one module; an unknown module has none.
pub fn show_stats(
    statement: &ShowModuleStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let wanted = |module: &str| statement.module.as_deref().is_none_or(|m| m == module);
    let series = context
        .query
        .statistics
        .snapshot()
        .into_iter()
        .filter(|statistic| wanted(statistic.name))
        .map(|statistic| Series {
            name: Some(statistic.name.to_string()),
            tags: statistic
                .tags
                .into_iter()
                .map(|(key, value)| (key.to_string(), value))
                .collect(),
            columns: statistic
                .values
                .iter()
                .map(|(name, _)| name.to_string())
                .collect(),
            values: vec![statistic
                .values
                .iter()
                .map(|(_, value)| Value::Integer(*value))
                .collect()],
            partial: false,
        })
        .collect();
    context.with_series(series)
}

/// `SHOW DIAGNOSTICS [FOR 'module']`: `build`, the server's fixed modules (`config*`,
/// `runtime`), `network` (host name) and `system` (process id, time now, start time,
/// uptime), one series each, by module name as influxd lists them.
pub fn show_diagnostics(
    statement: &ShowModuleStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let diagnostics = &context.query.diagnostics;
    let mut modules: Vec<(String, Vec<(String, Value)>)> = diagnostics
        .modules
        .iter()
        .map(|module| {
            let columns = module
                .columns
                .iter()
                .map(|(name, value)| (name.clone(), diagnostic_value(value)))
                .collect();
            (module.name.clone(), columns)
        })
        .collect();
    let text = |value: &str| Value::String(value.to_string());
    modules.push((
        "build".to_string(),
        vec![
            ("Branch".to_string(), text("")),
            ("Build Time".to_string(), text("")),
            ("Commit".to_string(), text("")),
            (
                "Version".to_string(),
                text(sluice_model::INFLUXDB_COMPATIBLE_VERSION),
            ),
        ],
    ));
    modules.push((
        "network".to_string(),
        vec![("hostname".to_string(), text(&diagnostics.hostname))],
    ));
    let uptime_ns = i64::try_from(diagnostics.started.elapsed().as_nanos()).unwrap_or(i64::MAX);
    modules.push((
        "system".to_string(),
        vec![
            (
                "PID".to_string(),
                Value::Integer(i64::from(std::process::id())),
            ),
            (
                "currentTime".to_string(),
                Value::Time(sluice_model::time::now_ns()),
            ),
            ("started".to_string(), Value::Time(diagnostics.started_ns)),
            ("uptime".to_string(), Value::String(go_duration(uptime_ns))),
        ],
    ));
    modules.sort_by(|a, b| a.0.cmp(&b.0));
    let series = modules
        .into_iter()
        .filter(|(name, _)| statement.module.as_deref().is_none_or(|m| m == name))
        .map(|(name, columns)| {
            let (names, values): (Vec<String>, Vec<Value>) = columns.into_iter().unzip();
            Series {
                name: Some(name),
                tags: Vec::new(),
                columns: names,
                values: vec![values],
                partial: false,
            }
        })
        .collect();
    context.with_series(series)
}

fn diagnostic_value(value: &crate::statistics::DiagnosticValue) -> Value {
    use crate::statistics::DiagnosticValue;
    match value {
        DiagnosticValue::String(text) => Value::String(text.clone()),
        DiagnosticValue::Integer(number) => Value::Integer(*number),
        DiagnosticValue::Boolean(flag) => Value::Boolean(*flag),
    }
}

/// `SHOW QUERIES`
pub fn show_queries(context: &StatementContext<'_>) -> StatementResult {
    const NANOS_PER_MICROSECOND: i64 = 1_000;
    let values = context
        .query
        .running
        .lock()
        .iter()
        .map(|query| {
            let elapsed_ns = i64::try_from(query.started.elapsed().as_nanos()).unwrap_or(i64::MAX);
            let status = if query.is_killed() {
                "killed"
            } else {
                "running"
            };
            vec![
                Value::Integer(query.id as i64),
                Value::String(query.text.clone()),
                Value::String(query.database.clone()),
                Value::String(go_duration(
                    elapsed_ns / NANOS_PER_MICROSECOND * NANOS_PER_MICROSECOND,
                )),
                Value::String(status.to_string()),
            ]
        })
        .collect();
    context.with_series(vec![unnamed_series(
        &["qid", "query", "database", "duration", "status"],
        values,
    )])
}

/// `KILL QUERY id`
pub fn kill_query(
    statement: &KillQueryStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let running = context.query.running.lock();
    match running.iter().find(|query| query.id == statement.query_id) {
        Some(query) => {
            query.killed.store(true, Ordering::Relaxed);
            context.empty()
        }
        None => context.error(format!("no such query id: {}", statement.query_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::is_subscription_url;

    /// What influxd 1.6.7 accepted and refused (`invalid subscription URL: …`).
    #[test]
    fn subscription_urls_as_1_6_7() {
        for accepted in [
            "udp://h:1",
            "https://x:1",
            "udp://:9",
            "http://u:p@h:1/p",
            "HTTP://h:1",
        ] {
            assert!(is_subscription_url(accepted), "{accepted}");
        }
        for refused in [
            "http://x",
            "udp://x",
            "bogus",
            "ftp://x:1",
            "http://x:",
            "http://x:abc",
        ] {
            assert!(!is_subscription_url(refused), "{refused}");
        }
    }
}
