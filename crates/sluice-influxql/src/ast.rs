//! InfluxQL syntax tree and its canonical printed form.
//!
//! Owns the statement types and their `Display`, which prints canonical InfluxQL.
//! Invariant: for every tree the parser produces, parsing its printed form yields an equal
//! tree (identifiers are quoted exactly when InfluxDB's `QuoteIdent` would quote them,
//! durations are printed in the largest exact unit).

use std::fmt;

use super::expr::{quote_regex, quote_string};
pub use super::expr::{BinaryExpr, BinaryOp, Call, DataType, Expr, Literal, VarRef, WildcardType};
use super::lexer::{is_ident_char, is_ident_first_char, lookup_keyword};
use super::parser::format_duration_ns;

/// A parsed query: zero or more statements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// The statements in order; empty for a query of only `;`s.
    pub statements: Vec<Statement>,
}

/// One InfluxQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT ...`
    Select(Box<SelectStatement>),
    /// `DELETE [FROM ...] [WHERE ...]`
    Delete(DeleteStatement),
    /// `EXPLAIN [ANALYZE] SELECT ...`
    Explain(ExplainStatement),
    /// `CREATE DATABASE name [WITH ...]`
    CreateDatabase(CreateDatabaseStatement),
    /// `DROP DATABASE name`
    DropDatabase(DropDatabaseStatement),
    /// `SHOW DATABASES`
    ShowDatabases(ShowDatabasesStatement),
    /// `CREATE RETENTION POLICY ...`
    CreateRetentionPolicy(CreateRetentionPolicyStatement),
    /// `ALTER RETENTION POLICY ...`
    AlterRetentionPolicy(AlterRetentionPolicyStatement),
    /// `DROP RETENTION POLICY name ON db`
    DropRetentionPolicy(DropRetentionPolicyStatement),
    /// `SHOW RETENTION POLICIES [ON db]`
    ShowRetentionPolicies(ShowRetentionPoliciesStatement),
    /// `CREATE CONTINUOUS QUERY ...`
    CreateContinuousQuery(CreateContinuousQueryStatement),
    /// `DROP CONTINUOUS QUERY name ON db`
    DropContinuousQuery(DropContinuousQueryStatement),
    /// `SHOW CONTINUOUS QUERIES`
    ShowContinuousQueries,
    /// `CREATE USER name WITH PASSWORD 'p' [WITH ALL PRIVILEGES]`
    CreateUser(CreateUserStatement),
    /// `DROP USER name`
    DropUser(DropUserStatement),
    /// `SET PASSWORD FOR name = 'p'`
    SetPassword(SetPasswordStatement),
    /// `SHOW USERS`
    ShowUsers,
    /// `GRANT privilege ON db TO user` or `GRANT ALL [PRIVILEGES] TO user` (admin).
    Grant(GrantStatement),
    /// `REVOKE privilege ON db FROM user` or `REVOKE ALL [PRIVILEGES] FROM user` (admin).
    Revoke(RevokeStatement),
    /// `SHOW GRANTS FOR user`
    ShowGrants(ShowGrantsStatement),
    /// `CREATE SUBSCRIPTION name ON db.rp DESTINATIONS ALL|ANY 'url', ...`
    CreateSubscription(CreateSubscriptionStatement),
    /// `DROP SUBSCRIPTION name ON db.rp`
    DropSubscription(DropSubscriptionStatement),
    /// `SHOW SUBSCRIPTIONS`
    ShowSubscriptions,
    /// `SHOW MEASUREMENTS ...`
    ShowMeasurements(ShowMeasurementsStatement),
    /// `DROP MEASUREMENT name`
    DropMeasurement(DropMeasurementStatement),
    /// `SHOW SERIES ...`
    ShowSeries(ShowSeriesStatement),
    /// `DROP SERIES [FROM ...] [WHERE ...]`
    DropSeries(DropSeriesStatement),
    /// `SHOW TAG KEYS ...`
    ShowTagKeys(ShowTagKeysStatement),
    /// `SHOW TAG VALUES ... WITH KEY ...`
    ShowTagValues(ShowTagValuesStatement),
    /// `SHOW FIELD KEYS ...`
    ShowFieldKeys(ShowFieldKeysStatement),
    /// `SHOW {SERIES|MEASUREMENT|TAG KEY|TAG VALUES|FIELD KEY} [EXACT] CARDINALITY ...`
    ShowCardinality(ShowCardinalityStatement),
    /// `SHOW SHARDS`
    ShowShards,
    /// `SHOW SHARD GROUPS`
    ShowShardGroups,
    /// `DROP SHARD id`
    DropShard(DropShardStatement),
    /// `SHOW STATS [FOR 'module']`
    ShowStats(ShowModuleStatement),
    /// `SHOW DIAGNOSTICS [FOR 'module']`
    ShowDiagnostics(ShowModuleStatement),
    /// `SHOW QUERIES`
    ShowQueries,
    /// `KILL QUERY id [ON host]`
    KillQuery(KillQueryStatement),
}

/// One output column of a SELECT: an expression and an optional `AS` alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The expression (never a comparison or logical operation at the top level or
    /// inside; a bare regex selects matching fields).
    pub expr: Expr,
    /// `AS alias`.
    pub alias: Option<String>,
}

/// A measurement reference: `m`, `rp.m`, `db.rp.m`, `db..m`, `/regex/`, `db.rp./regex/`.
///
/// Empty strings mean "not given" (InfluxDB's representation): `db..m` has an empty
/// retention policy. A target (`INTO`) with an empty name means `:MEASUREMENT`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Measurement {
    /// Database, or empty.
    pub database: String,
    /// Retention policy, or empty.
    pub retention_policy: String,
    /// Measurement name; empty when `regex` is set.
    pub name: String,
    /// A regex pattern matching measurement names instead of a name.
    pub regex: Option<String>,
}

/// A data source of a FROM clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A measurement or measurement regex.
    Measurement(Measurement),
    /// `(SELECT ...)`
    Subquery(Box<SelectStatement>),
}

/// How GROUP BY time() fills intervals without data.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fill {
    /// `fill(null)`, the default.
    #[default]
    Null,
    /// `fill(none)`: skip empty intervals.
    None,
    /// `fill(previous)`
    Previous,
    /// `fill(linear)`
    Linear,
    /// `fill(<integer>)`
    Integer(i64),
    /// `fill(<number>)`; always finite.
    Number(f64),
}

/// One ORDER BY term. InfluxDB 1.x accepts only `time` (or no name at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortField {
    /// The field name; `None` for a bare `ASC`/`DESC`.
    pub name: Option<String>,
    /// ASC (the default) or DESC.
    pub ascending: bool,
}

/// `SELECT` statement.
///
/// Limits and offsets of 0 mean "none" (InfluxDB prints and treats them so).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectStatement {
    /// The selected expressions; at least one.
    pub fields: Vec<Field>,
    /// `INTO` target.
    pub target: Option<Measurement>,
    /// `FROM` sources; at least one.
    pub sources: Vec<Source>,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `GROUP BY` dimensions: `time(...)` calls, tag references, `*`, regexes.
    pub dimensions: Vec<Expr>,
    /// `fill(...)`.
    pub fill: Fill,
    /// `ORDER BY` terms.
    pub sort_fields: Vec<SortField>,
    /// `LIMIT n`, 0 = none; at most `i64::MAX`.
    pub limit: u64,
    /// `OFFSET n`, 0 = none.
    pub offset: u64,
    /// `SLIMIT n`, 0 = none.
    pub series_limit: u64,
    /// `SOFFSET n`, 0 = none.
    pub series_offset: u64,
    /// `tz('name')`: a time zone name InfluxDB could load.
    pub timezone: Option<String>,
}

impl SelectStatement {
    /// Whether no field calls a function (a raw query rather than an aggregate one).
    pub fn is_raw_query(&self) -> bool {
        !self.fields.iter().any(|field| field.expr.has_call())
    }

    /// The `GROUP BY time(interval[, offset])` interval in nanoseconds, 0 without one, or
    /// InfluxDB's error text for a malformed `time()` dimension.
    pub fn group_by_interval_ns(&self) -> Result<i64, &'static str> {
        for dimension in &self.dimensions {
            let Expr::Call(call) = dimension else {
                continue;
            };
            if call.name != "time" {
                continue;
            }
            if call.args.is_empty() || call.args.len() > 2 {
                return Err("time dimension expected 1 or 2 arguments");
            }
            return match call.args.first() {
                Some(Expr::Literal(Literal::Duration(interval_ns))) => Ok(*interval_ns),
                _ => Err("time dimension must have duration argument"),
            };
        }
        Ok(0)
    }
}

/// `DELETE [FROM sources] [WHERE condition]` (at least one of the two).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteStatement {
    /// Measurements (no database or retention policy allowed).
    pub sources: Vec<Source>,
    /// Condition on tags and time.
    pub condition: Option<Expr>,
}

/// `DROP SERIES [FROM sources] [WHERE condition]` (at least one of the two).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DropSeriesStatement {
    /// Measurements (no database or retention policy allowed).
    pub sources: Vec<Source>,
    /// Condition on tags.
    pub condition: Option<Expr>,
}

/// `EXPLAIN [ANALYZE] SELECT ...`
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainStatement {
    /// `ANALYZE`: run the query and report what it did.
    pub analyze: bool,
    /// The query explained.
    pub statement: Box<SelectStatement>,
}

/// `CREATE RETENTION POLICY name ON db DURATION d REPLICATION n [SHARD DURATION d]
/// [DEFAULT]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRetentionPolicyStatement {
    /// Policy name.
    pub name: String,
    /// Database.
    pub database: String,
    /// Duration in ns; 0 = INF.
    pub duration_ns: i64,
    /// Replication factor, 1 ..= i32::MAX.
    pub replication: u32,
    /// Shard group duration in ns; 0 = pick the default.
    pub shard_group_duration_ns: i64,
    /// `DEFAULT`
    pub default: bool,
}

/// `ALTER RETENTION POLICY name ON db option...` (options in any order, each once, at
/// least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterRetentionPolicyStatement {
    /// Policy name (`DEFAULT` as the name means the policy called "default").
    pub name: String,
    /// Database.
    pub database: String,
    /// `DURATION d` in ns; 0 = INF.
    pub duration_ns: Option<i64>,
    /// `REPLICATION n`
    pub replication: Option<u32>,
    /// `SHARD DURATION d` in ns.
    pub shard_group_duration_ns: Option<i64>,
    /// `DEFAULT`
    pub default: bool,
}

/// `DROP RETENTION POLICY name ON db`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropRetentionPolicyStatement {
    /// Policy name.
    pub name: String,
    /// Database.
    pub database: String,
}

/// `SHOW RETENTION POLICIES [ON db]`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowRetentionPoliciesStatement {
    /// `ON db`
    pub database: Option<String>,
}

/// `CREATE CONTINUOUS QUERY name ON db [RESAMPLE [EVERY d] [FOR d]] BEGIN select END`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateContinuousQueryStatement {
    /// Query name.
    pub name: String,
    /// Database.
    pub database: String,
    /// `RESAMPLE EVERY d` in ns; 0 = not given.
    pub resample_every_ns: i64,
    /// `RESAMPLE FOR d` in ns; 0 = not given.
    pub resample_for_ns: i64,
    /// The SELECT (with an INTO target).
    pub source: Box<SelectStatement>,
}

/// `DROP CONTINUOUS QUERY name ON db`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropContinuousQueryStatement {
    /// Query name.
    pub name: String,
    /// Database.
    pub database: String,
}

/// `CREATE USER name WITH PASSWORD 'password' [WITH ALL PRIVILEGES]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateUserStatement {
    /// User name.
    pub name: String,
    /// The password, in clear.
    pub password: String,
    /// `WITH ALL PRIVILEGES`: an admin user.
    pub admin: bool,
}

/// `DROP USER name`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropUserStatement {
    /// User name.
    pub name: String,
}

/// `SET PASSWORD FOR name = 'password'`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPasswordStatement {
    /// User name.
    pub name: String,
    /// The new password, in clear.
    pub password: String,
}

/// A database privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// `READ`
    Read,
    /// `WRITE`
    Write,
    /// `ALL [PRIVILEGES]`
    All,
}

impl Privilege {
    /// How InfluxQL prints the privilege.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Read => "READ",
            Privilege::Write => "WRITE",
            Privilege::All => "ALL PRIVILEGES",
        }
    }
}

/// `GRANT privilege ON db TO user`, or with `database` `None`, `GRANT ALL PRIVILEGES TO
/// user` (admin; then `privilege` is [`Privilege::All`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStatement {
    /// The privilege granted.
    pub privilege: Privilege,
    /// `ON db`; `None` for the admin grant.
    pub database: Option<String>,
    /// The user.
    pub user: String,
}

/// `REVOKE privilege ON db FROM user`, or with `database` `None`, `REVOKE ALL PRIVILEGES
/// FROM user` (admin; then `privilege` is [`Privilege::All`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeStatement {
    /// The privilege revoked.
    pub privilege: Privilege,
    /// `ON db`; `None` for the admin revoke.
    pub database: Option<String>,
    /// The user.
    pub user: String,
}

/// `SHOW GRANTS FOR user`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowGrantsStatement {
    /// The user.
    pub user: String,
}

/// `CREATE SUBSCRIPTION name ON db.rp DESTINATIONS ALL|ANY 'url', ...`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSubscriptionStatement {
    /// Subscription name.
    pub name: String,
    /// Database.
    pub database: String,
    /// Retention policy.
    pub retention_policy: String,
    /// `true` for `ALL` (every destination), `false` for `ANY` (one of them).
    pub mode_all: bool,
    /// Destination URLs; at least one.
    pub destinations: Vec<String>,
}

/// `DROP SUBSCRIPTION name ON db.rp`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropSubscriptionStatement {
    /// Subscription name.
    pub name: String,
    /// Database.
    pub database: String,
    /// Retention policy.
    pub retention_policy: String,
}

/// `SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT =|=~ m] [WHERE] [ORDER BY] [LIMIT]
/// [OFFSET]`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShowMeasurementsStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `WITH MEASUREMENT = name` or `=~ /regex/` (the operator follows from the source).
    pub source: Option<Measurement>,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY` terms.
    pub sort_fields: Vec<SortField>,
    /// `LIMIT n`, 0 = none.
    pub limit: u64,
    /// `OFFSET n`, 0 = none.
    pub offset: u64,
}

/// `DROP MEASUREMENT name`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropMeasurementStatement {
    /// Measurement name.
    pub name: String,
}

/// `SHOW SERIES [ON db] [FROM] [WHERE] [ORDER BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShowSeriesStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY` terms.
    pub sort_fields: Vec<SortField>,
    /// `LIMIT n`, 0 = none.
    pub limit: u64,
    /// `OFFSET n`, 0 = none.
    pub offset: u64,
}

/// `SHOW TAG KEYS [ON db] [FROM] [WHERE] [ORDER BY] [LIMIT] [OFFSET] [SLIMIT] [SOFFSET]`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShowTagKeysStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY` terms.
    pub sort_fields: Vec<SortField>,
    /// `LIMIT n`, 0 = none.
    pub limit: u64,
    /// `OFFSET n`, 0 = none.
    pub offset: u64,
    /// `SLIMIT n`, 0 = none.
    pub series_limit: u64,
    /// `SOFFSET n`, 0 = none.
    pub series_offset: u64,
}

/// The `WITH KEY` clause of SHOW TAG VALUES.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKeyFilter {
    /// `WITH KEY IN (k1, k2, ...)`
    In(Vec<String>),
    /// `WITH KEY = k`
    Eq(String),
    /// `WITH KEY != k`
    Neq(String),
    /// `WITH KEY =~ /regex/`
    EqRegex(String),
    /// `WITH KEY !~ /regex/`
    NeqRegex(String),
}

/// `SHOW TAG VALUES [ON db] [FROM] WITH KEY ... [WHERE] [ORDER BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowTagValuesStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `WITH KEY` filter.
    pub key: TagKeyFilter,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY` terms.
    pub sort_fields: Vec<SortField>,
    /// `LIMIT n`, 0 = none.
    pub limit: u64,
    /// `OFFSET n`, 0 = none.
    pub offset: u64,
}

/// `SHOW FIELD KEYS [ON db] [FROM] [ORDER BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShowFieldKeysStatement {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `ORDER BY` terms.
    pub sort_fields: Vec<SortField>,
    /// `LIMIT n`, 0 = none.
    pub limit: u64,
    /// `OFFSET n`, 0 = none.
    pub offset: u64,
}

/// What a SHOW ... CARDINALITY statement counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardinalityTarget {
    /// `SHOW SERIES [EXACT] CARDINALITY`
    Series,
    /// `SHOW MEASUREMENT [EXACT] CARDINALITY`
    Measurement,
    /// `SHOW TAG KEY [EXACT] CARDINALITY`
    TagKey,
    /// `SHOW TAG VALUES [EXACT] CARDINALITY ... WITH KEY ...`
    TagValues(TagKeyFilter),
    /// `SHOW FIELD KEY [EXACT] CARDINALITY`
    FieldKey,
}

/// `SHOW <target> [EXACT] CARDINALITY [ON db] [FROM] [WITH KEY (tag values only)]
/// [WHERE] [GROUP BY] [LIMIT] [OFFSET]`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowCardinalityStatement {
    /// What is counted.
    pub target: CardinalityTarget,
    /// `EXACT`: count exactly rather than estimate.
    pub exact: bool,
    /// `ON db`
    pub database: Option<String>,
    /// `FROM` sources.
    pub sources: Vec<Source>,
    /// `WHERE` condition.
    pub condition: Option<Expr>,
    /// `GROUP BY` dimensions.
    pub dimensions: Vec<Expr>,
    /// `LIMIT n`, 0 = none.
    pub limit: u64,
    /// `OFFSET n`, 0 = none.
    pub offset: u64,
}

/// `DROP SHARD id`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropShardStatement {
    /// Shard id.
    pub id: u64,
}

/// `SHOW STATS [FOR 'module']` and `SHOW DIAGNOSTICS [FOR 'module']`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowModuleStatement {
    /// `FOR 'module'`
    pub module: Option<String>,
}

/// `KILL QUERY id [ON host]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillQueryStatement {
    /// Query id.
    pub query_id: u64,
    /// `ON host`
    pub host: Option<String>,
}

/// `CREATE DATABASE name [WITH [DURATION d] [REPLICATION n] [SHARD DURATION d] [NAME rp]]`
///
/// The statement has a `WITH` clause exactly when at least one `retention_policy_*` field
/// is present (the grammar requires an option after `WITH`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateDatabaseStatement {
    /// Database name (may be empty when written `""`; the executor rejects it).
    pub name: String,
    /// `DURATION d`; `INF` is 0 (keep forever).
    pub retention_policy_duration_ns: Option<i64>,
    /// `REPLICATION n`, 1 ..= i32::MAX.
    pub retention_policy_replication: Option<u32>,
    /// `SHARD DURATION d`; 0 (`0s` or `INF`) means "pick the default".
    pub retention_policy_shard_group_duration_ns: Option<i64>,
    /// `NAME rp`.
    pub retention_policy_name: Option<String>,
}

impl CreateDatabaseStatement {
    /// Whether the statement has a `WITH` clause (any retention policy option).
    pub fn has_retention_policy_options(&self) -> bool {
        self.retention_policy_duration_ns.is_some()
            || self.retention_policy_replication.is_some()
            || self.retention_policy_shard_group_duration_ns.is_some()
            || self.retention_policy_name.is_some()
    }
}

/// `DROP DATABASE name`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropDatabaseStatement {
    /// Database name.
    pub name: String,
}

/// `SHOW DATABASES`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShowDatabasesStatement;

/// Whether `name` must be double-quoted to read back as the same identifier: it is empty,
/// a keyword (any case), or has a character a bare identifier cannot have.
pub fn ident_needs_quotes(name: &str) -> bool {
    if lookup_keyword(name).is_some() {
        return true;
    }
    let mut chars = name.chars();
    match chars.next() {
        None => true,
        Some(first) => !is_ident_first_char(first) || !chars.all(is_ident_char),
    }
}

/// Writes `name` as an InfluxQL identifier exactly as InfluxDB's `QuoteIdent` does: bare
/// when possible, else double-quoted with `\n`, `\` and `"` escaped.
pub fn quote_ident(name: &str) -> String {
    if !ident_needs_quotes(name) {
        return name.to_string();
    }
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for ch in name.chars() {
        match ch {
            '\n' => quoted.push_str("\\n"),
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, statement) in self.statements.iter().enumerate() {
            if index > 0 {
                f.write_str(";\n")?;
            }
            write!(f, "{statement}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Select(statement) => statement.fmt(f),
            Statement::Delete(statement) => {
                f.write_str("DELETE")?;
                write_sources(f, &statement.sources)?;
                write_condition(f, &statement.condition)
            }
            Statement::Explain(statement) => {
                f.write_str("EXPLAIN ")?;
                if statement.analyze {
                    f.write_str("ANALYZE ")?;
                }
                statement.statement.fmt(f)
            }
            Statement::CreateDatabase(statement) => statement.fmt(f),
            Statement::DropDatabase(statement) => statement.fmt(f),
            Statement::ShowDatabases(statement) => statement.fmt(f),
            Statement::CreateRetentionPolicy(statement) => statement.fmt(f),
            Statement::AlterRetentionPolicy(statement) => statement.fmt(f),
            Statement::DropRetentionPolicy(statement) => write!(
                f,
                "DROP RETENTION POLICY {} ON {}",
                quote_ident(&statement.name),
                quote_ident(&statement.database)
            ),
            Statement::ShowRetentionPolicies(statement) => {
                f.write_str("SHOW RETENTION POLICIES")?;
                write_on(f, &statement.database)
            }
            Statement::CreateContinuousQuery(statement) => statement.fmt(f),
            Statement::DropContinuousQuery(statement) => write!(
                f,
                "DROP CONTINUOUS QUERY {} ON {}",
                quote_ident(&statement.name),
                quote_ident(&statement.database)
            ),
            Statement::ShowContinuousQueries => f.write_str("SHOW CONTINUOUS QUERIES"),
            Statement::CreateUser(statement) => {
                write!(
                    f,
                    "CREATE USER {} WITH PASSWORD {}",
                    quote_ident(&statement.name),
                    quote_string(&statement.password)
                )?;
                if statement.admin {
                    f.write_str(" WITH ALL PRIVILEGES")?;
                }
                Ok(())
            }
            Statement::DropUser(statement) => {
                write!(f, "DROP USER {}", quote_ident(&statement.name))
            }
            Statement::SetPassword(statement) => write!(
                f,
                "SET PASSWORD FOR {} = {}",
                quote_ident(&statement.name),
                quote_string(&statement.password)
            ),
            Statement::ShowUsers => f.write_str("SHOW USERS"),
            Statement::Grant(statement) => match &statement.database {
                Some(database) => write!(
                    f,
                    "GRANT {} ON {} TO {}",
                    statement.privilege.as_str(),
                    quote_ident(database),
                    quote_ident(&statement.user)
                ),
                None => write!(
                    f,
                    "GRANT ALL PRIVILEGES TO {}",
                    quote_ident(&statement.user)
                ),
            },
            Statement::Revoke(statement) => match &statement.database {
                Some(database) => write!(
                    f,
                    "REVOKE {} ON {} FROM {}",
                    statement.privilege.as_str(),
                    quote_ident(database),
                    quote_ident(&statement.user)
                ),
                None => write!(
                    f,
                    "REVOKE ALL PRIVILEGES FROM {}",
                    quote_ident(&statement.user)
                ),
            },
            Statement::ShowGrants(statement) => {
                write!(f, "SHOW GRANTS FOR {}", quote_ident(&statement.user))
            }
            Statement::CreateSubscription(statement) => statement.fmt(f),
            Statement::DropSubscription(statement) => write!(
                f,
                "DROP SUBSCRIPTION {} ON {}.{}",
                quote_ident(&statement.name),
                quote_ident(&statement.database),
                quote_ident(&statement.retention_policy)
            ),
            Statement::ShowSubscriptions => f.write_str("SHOW SUBSCRIPTIONS"),
            Statement::ShowMeasurements(statement) => statement.fmt(f),
            Statement::DropMeasurement(statement) => {
                write!(f, "DROP MEASUREMENT {}", quote_ident(&statement.name))
            }
            Statement::ShowSeries(statement) => {
                f.write_str("SHOW SERIES")?;
                write_on(f, &statement.database)?;
                write_sources(f, &statement.sources)?;
                write_condition(f, &statement.condition)?;
                write_sort_fields(f, &statement.sort_fields)?;
                write_limit(f, "LIMIT", statement.limit)?;
                write_limit(f, "OFFSET", statement.offset)
            }
            Statement::DropSeries(statement) => {
                f.write_str("DROP SERIES")?;
                write_sources(f, &statement.sources)?;
                write_condition(f, &statement.condition)
            }
            Statement::ShowTagKeys(statement) => {
                f.write_str("SHOW TAG KEYS")?;
                write_on(f, &statement.database)?;
                write_sources(f, &statement.sources)?;
                write_condition(f, &statement.condition)?;
                write_sort_fields(f, &statement.sort_fields)?;
                write_limit(f, "LIMIT", statement.limit)?;
                write_limit(f, "OFFSET", statement.offset)?;
                write_limit(f, "SLIMIT", statement.series_limit)?;
                write_limit(f, "SOFFSET", statement.series_offset)
            }
            Statement::ShowTagValues(statement) => {
                f.write_str("SHOW TAG VALUES")?;
                write_on(f, &statement.database)?;
                write_sources(f, &statement.sources)?;
                write!(f, " WITH KEY {}", statement.key)?;
                write_condition(f, &statement.condition)?;
                write_sort_fields(f, &statement.sort_fields)?;
                write_limit(f, "LIMIT", statement.limit)?;
                write_limit(f, "OFFSET", statement.offset)
            }
            Statement::ShowFieldKeys(statement) => {
                f.write_str("SHOW FIELD KEYS")?;
                write_on(f, &statement.database)?;
                write_sources(f, &statement.sources)?;
                write_sort_fields(f, &statement.sort_fields)?;
                write_limit(f, "LIMIT", statement.limit)?;
                write_limit(f, "OFFSET", statement.offset)
            }
            Statement::ShowCardinality(statement) => statement.fmt(f),
            Statement::ShowShards => f.write_str("SHOW SHARDS"),
            Statement::ShowShardGroups => f.write_str("SHOW SHARD GROUPS"),
            Statement::DropShard(statement) => write!(f, "DROP SHARD {}", statement.id),
            Statement::ShowStats(statement) => {
                f.write_str("SHOW STATS")?;
                write_module(f, &statement.module)
            }
            Statement::ShowDiagnostics(statement) => {
                f.write_str("SHOW DIAGNOSTICS")?;
                write_module(f, &statement.module)
            }
            Statement::ShowQueries => f.write_str("SHOW QUERIES"),
            Statement::KillQuery(statement) => {
                write!(f, "KILL QUERY {}", statement.query_id)?;
                if let Some(host) = &statement.host {
                    write!(f, " ON {}", quote_ident(host))?;
                }
                Ok(())
            }
        }
    }
}

impl Statement {
    /// The statement as InfluxDB prints it in messages and logs: like `Display`, but
    /// passwords are replaced by `[REDACTED]` (so the text does not parse back).
    pub fn to_redacted_string(&self) -> String {
        match self {
            Statement::CreateUser(statement) => {
                let mut text = format!(
                    "CREATE USER {} WITH PASSWORD [REDACTED]",
                    quote_ident(&statement.name)
                );
                if statement.admin {
                    text.push_str(" WITH ALL PRIVILEGES");
                }
                text
            }
            Statement::SetPassword(statement) => format!(
                "SET PASSWORD FOR {} = [REDACTED]",
                quote_ident(&statement.name)
            ),
            other => other.to_string(),
        }
    }
}

fn write_on(f: &mut fmt::Formatter<'_>, database: &Option<String>) -> fmt::Result {
    match database {
        Some(database) => write!(f, " ON {}", quote_ident(database)),
        None => Ok(()),
    }
}

fn write_module(f: &mut fmt::Formatter<'_>, module: &Option<String>) -> fmt::Result {
    match module {
        Some(module) => write!(f, " FOR {}", quote_string(module)),
        None => Ok(()),
    }
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn write_sources(f: &mut fmt::Formatter<'_>, sources: &[Source]) -> fmt::Result {
    if sources.is_empty() {
        return Ok(());
    }
    f.write_str(" FROM ")?;
    write_list(f, sources)
}

fn write_condition(f: &mut fmt::Formatter<'_>, condition: &Option<Expr>) -> fmt::Result {
    match condition {
        Some(condition) => write!(f, " WHERE {condition}"),
        None => Ok(()),
    }
}

fn write_dimensions(f: &mut fmt::Formatter<'_>, dimensions: &[Expr]) -> fmt::Result {
    if dimensions.is_empty() {
        return Ok(());
    }
    f.write_str(" GROUP BY ")?;
    write_list(f, dimensions)
}

fn write_sort_fields(f: &mut fmt::Formatter<'_>, sort_fields: &[SortField]) -> fmt::Result {
    if sort_fields.is_empty() {
        return Ok(());
    }
    f.write_str(" ORDER BY ")?;
    write_list(f, sort_fields)
}

fn write_limit(f: &mut fmt::Formatter<'_>, keyword: &str, value: u64) -> fmt::Result {
    if value == 0 {
        return Ok(());
    }
    write!(f, " {keyword} {value}")
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {}", quote_ident(alias))?;
        }
        Ok(())
    }
}

impl Measurement {
    /// Writes `db.rp.` / `db..` / `rp.` before the name or regex.
    fn write_prefix(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.database.is_empty() {
            write!(f, "{}.", quote_ident(&self.database))?;
        }
        if !self.retention_policy.is_empty() {
            f.write_str(&quote_ident(&self.retention_policy))?;
        }
        if !self.database.is_empty() || !self.retention_policy.is_empty() {
            f.write_str(".")?;
        }
        Ok(())
    }

    /// Writes the measurement as an `INTO` target: an empty name is `:MEASUREMENT`.
    pub fn fmt_target(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() && self.regex.is_none() {
            if self.database.is_empty() && self.retention_policy.is_empty() {
                // `INTO ""` is what reads back as this (InfluxDB would print `INTO `).
                return f.write_str("\"\"");
            }
            self.write_prefix(f)?;
            return f.write_str(":MEASUREMENT");
        }
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_prefix(f)?;
        match &self.regex {
            Some(pattern) => f.write_str(&quote_regex(pattern)),
            // An empty name prints as `""` (InfluxDB prints nothing, which does not
            // read back).
            None => f.write_str(&quote_ident(&self.name)),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Measurement(measurement) => measurement.fmt(f),
            Source::Subquery(statement) => write!(f, "({statement})"),
        }
    }
}

impl fmt::Display for SortField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{} ", quote_ident(name))?;
        }
        f.write_str(if self.ascending { "ASC" } else { "DESC" })
    }
}

/// Writes a `fill()` number: integers as written; floats in their shortest exact form,
/// always with a `.` so they read back as floats (InfluxDB prints `2.0` as `2`).
fn format_fill_number(value: f64) -> String {
    let shortest = format!("{value}");
    if shortest.contains('.') {
        shortest
    } else {
        format!("{shortest}.0")
    }
}

impl fmt::Display for SelectStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        write_list(f, &self.fields)?;
        if let Some(target) = &self.target {
            f.write_str(" INTO ")?;
            target.fmt_target(f)?;
        }
        write_sources(f, &self.sources)?;
        write_condition(f, &self.condition)?;
        write_dimensions(f, &self.dimensions)?;
        match self.fill {
            Fill::Null => {}
            Fill::None => f.write_str(" fill(none)")?,
            Fill::Previous => f.write_str(" fill(previous)")?,
            Fill::Linear => f.write_str(" fill(linear)")?,
            Fill::Integer(value) => write!(f, " fill({value})")?,
            Fill::Number(value) => write!(f, " fill({})", format_fill_number(value))?,
        }
        write_sort_fields(f, &self.sort_fields)?;
        write_limit(f, "LIMIT", self.limit)?;
        write_limit(f, "OFFSET", self.offset)?;
        write_limit(f, "SLIMIT", self.series_limit)?;
        write_limit(f, "SOFFSET", self.series_offset)?;
        if let Some(timezone) = &self.timezone {
            write!(f, " TZ({})", quote_string(timezone))?;
        }
        Ok(())
    }
}

impl fmt::Display for CreateRetentionPolicyStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CREATE RETENTION POLICY {} ON {} DURATION {} REPLICATION {}",
            quote_ident(&self.name),
            quote_ident(&self.database),
            format_duration_ns(self.duration_ns),
            self.replication
        )?;
        if self.shard_group_duration_ns > 0 {
            write!(
                f,
                " SHARD DURATION {}",
                format_duration_ns(self.shard_group_duration_ns)
            )?;
        }
        if self.default {
            f.write_str(" DEFAULT")?;
        }
        Ok(())
    }
}

impl fmt::Display for AlterRetentionPolicyStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ALTER RETENTION POLICY {} ON {}",
            quote_ident(&self.name),
            quote_ident(&self.database)
        )?;
        if let Some(duration_ns) = self.duration_ns {
            write!(f, " DURATION {}", format_duration_ns(duration_ns))?;
        }
        if let Some(replication) = self.replication {
            write!(f, " REPLICATION {replication}")?;
        }
        if let Some(shard_ns) = self.shard_group_duration_ns {
            write!(f, " SHARD DURATION {}", format_duration_ns(shard_ns))?;
        }
        if self.default {
            f.write_str(" DEFAULT")?;
        }
        Ok(())
    }
}

impl fmt::Display for CreateContinuousQueryStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CREATE CONTINUOUS QUERY {} ON {}",
            quote_ident(&self.name),
            quote_ident(&self.database)
        )?;
        if self.resample_every_ns > 0 || self.resample_for_ns > 0 {
            f.write_str(" RESAMPLE")?;
            if self.resample_every_ns > 0 {
                write!(f, " EVERY {}", format_duration_ns(self.resample_every_ns))?;
            }
            if self.resample_for_ns > 0 {
                write!(f, " FOR {}", format_duration_ns(self.resample_for_ns))?;
            }
        }
        write!(f, " BEGIN {} END", self.source)
    }
}

impl fmt::Display for CreateSubscriptionStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CREATE SUBSCRIPTION {} ON {}.{} DESTINATIONS {} ",
            quote_ident(&self.name),
            quote_ident(&self.database),
            quote_ident(&self.retention_policy),
            if self.mode_all { "ALL" } else { "ANY" }
        )?;
        for (index, destination) in self.destinations.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&quote_string(destination))?;
        }
        Ok(())
    }
}

impl fmt::Display for ShowMeasurementsStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW MEASUREMENTS")?;
        write_on(f, &self.database)?;
        if let Some(source) = &self.source {
            let op = if source.regex.is_some() { "=~" } else { "=" };
            write!(f, " WITH MEASUREMENT {op} {source}")?;
        }
        write_condition(f, &self.condition)?;
        write_sort_fields(f, &self.sort_fields)?;
        write_limit(f, "LIMIT", self.limit)?;
        write_limit(f, "OFFSET", self.offset)
    }
}

impl fmt::Display for TagKeyFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagKeyFilter::In(keys) => {
                f.write_str("IN (")?;
                for (index, key) in keys.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&quote_ident(key))?;
                }
                f.write_str(")")
            }
            TagKeyFilter::Eq(key) => write!(f, "= {}", quote_ident(key)),
            TagKeyFilter::Neq(key) => write!(f, "!= {}", quote_ident(key)),
            TagKeyFilter::EqRegex(pattern) => write!(f, "=~ {}", quote_regex(pattern)),
            TagKeyFilter::NeqRegex(pattern) => write!(f, "!~ {}", quote_regex(pattern)),
        }
    }
}

impl fmt::Display for ShowCardinalityStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.target {
            CardinalityTarget::Series => "SHOW SERIES",
            CardinalityTarget::Measurement => "SHOW MEASUREMENT",
            CardinalityTarget::TagKey => "SHOW TAG KEY",
            CardinalityTarget::TagValues(_) => "SHOW TAG VALUES",
            CardinalityTarget::FieldKey => "SHOW FIELD KEY",
        })?;
        if self.exact {
            f.write_str(" EXACT")?;
        }
        f.write_str(" CARDINALITY")?;
        write_on(f, &self.database)?;
        write_sources(f, &self.sources)?;
        if let CardinalityTarget::TagValues(key) = &self.target {
            write!(f, " WITH KEY {key}")?;
        }
        write_condition(f, &self.condition)?;
        write_dimensions(f, &self.dimensions)?;
        write_limit(f, "LIMIT", self.limit)?;
        write_limit(f, "OFFSET", self.offset)
    }
}

impl fmt::Display for CreateDatabaseStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CREATE DATABASE {}", quote_ident(&self.name))?;
        if !self.has_retention_policy_options() {
            return Ok(());
        }
        f.write_str(" WITH")?;
        if let Some(duration_ns) = self.retention_policy_duration_ns {
            if duration_ns == 0 {
                f.write_str(" DURATION INF")?;
            } else {
                write!(f, " DURATION {}", format_duration_ns(duration_ns))?;
            }
        }
        if let Some(replication) = self.retention_policy_replication {
            write!(f, " REPLICATION {replication}")?;
        }
        if let Some(shard_ns) = self.retention_policy_shard_group_duration_ns {
            write!(f, " SHARD DURATION {}", format_duration_ns(shard_ns))?;
        }
        if let Some(name) = &self.retention_policy_name {
            write!(f, " NAME {}", quote_ident(name))?;
        }
        Ok(())
    }
}

impl fmt::Display for DropDatabaseStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DROP DATABASE {}", quote_ident(&self.name))
    }
}

impl fmt::Display for ShowDatabasesStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SHOW DATABASES")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_influxdb() {
        assert_eq!(quote_ident("cpu_1"), "cpu_1");
        assert_eq!(quote_ident("_x"), "_x");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
        assert_eq!(quote_ident("1x"), "\"1x\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("True"), "\"True\"");
        assert_eq!(quote_ident("café"), "\"café\"");
        assert_eq!(quote_ident("a\"b\\c\nd'e"), "\"a\\\"b\\\\c\\nd'e\"");
    }

    #[test]
    fn prints_create_database() {
        let statement = CreateDatabaseStatement {
            name: "my db".to_string(),
            retention_policy_duration_ns: Some(0),
            retention_policy_replication: Some(3),
            retention_policy_shard_group_duration_ns: Some(3_600_000_000_000),
            retention_policy_name: Some("rp".to_string()),
        };
        assert_eq!(
            statement.to_string(),
            "CREATE DATABASE \"my db\" WITH DURATION INF REPLICATION 3 SHARD DURATION 1h NAME rp"
        );
    }

    fn reprint(text: &str) -> String {
        match crate::parse_query(text) {
            Ok(query) => query.to_string(),
            Err(error) => panic!("{text}: {error}"),
        }
    }

    #[test]
    fn prints_statements_canonically() {
        let cases = [
            (
                "show tag values from cpu with key in (a,\"b c\") limit 2",
                "SHOW TAG VALUES FROM cpu WITH KEY IN (a, \"b c\") LIMIT 2",
            ),
            (
                "show measurements with measurement = /c/",
                "SHOW MEASUREMENTS WITH MEASUREMENT =~ /c/",
            ),
            (
                "show series exact cardinality on db",
                "SHOW SERIES EXACT CARDINALITY ON db",
            ),
            (
                "alter retention policy default on db default duration inf",
                "ALTER RETENTION POLICY \"default\" ON db DURATION 0s DEFAULT",
            ),
            (
                "create retention policy rp on db duration 2d replication 1 default",
                "CREATE RETENTION POLICY rp ON db DURATION 2d REPLICATION 1 DEFAULT",
            ),
            (
                "grant all to bob; revoke read on db from bob",
                "GRANT ALL PRIVILEGES TO bob;\nREVOKE READ ON db FROM bob",
            ),
            (
                "create subscription s on db.rp destinations any 'a', 'b'",
                "CREATE SUBSCRIPTION s ON db.rp DESTINATIONS ANY 'a', 'b'",
            ),
            ("delete from m where t = 'x'", "DELETE FROM m WHERE t = 'x'"),
            ("kill query 5 on h", "KILL QUERY 5 ON h"),
            (
                "select * into db..:measurement from db..m",
                "SELECT * INTO db..:MEASUREMENT FROM db..m",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(reprint(text), want, "{text}");
        }
    }

    #[test]
    fn passwords_are_redacted_only_on_request() {
        let query = crate::parse_query("CREATE USER u WITH PASSWORD 'p' WITH ALL PRIVILEGES");
        let Ok(query) = query else {
            panic!("parse failed");
        };
        let statement = &query.statements[0];
        assert_eq!(
            statement.to_string(),
            "CREATE USER u WITH PASSWORD 'p' WITH ALL PRIVILEGES"
        );
        assert_eq!(
            statement.to_redacted_string(),
            "CREATE USER u WITH PASSWORD [REDACTED] WITH ALL PRIVILEGES"
        );
    }
}
