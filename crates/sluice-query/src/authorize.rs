//! Authorization of a parsed query, statement by statement, as InfluxDB 1.6.7 decides it
//! (`meta.QueryAuthorizer.AuthorizeQuery` and each statement's `RequiredPrivileges`).
//!
//! Owns: which privilege each statement needs, the bootstrap rule, and InfluxDB's texts for
//! a refusal (rendered by the caller as `403 error authorizing query: <text>`). It does not
//! authenticate: the HTTP layer has already turned the request's credentials into an
//! [`Identity`]. Privileges are read from the meta snapshot at the time of the query, so a
//! GRANT or REVOKE applies to the next query.
//!
//! Invariants: a query is authorized whole before any statement runs (one refused statement
//! refuses the query); with auth off ([`Identity::Unchecked`]) nothing here costs more than
//! one comparison.

use sluice_influxql::ast::{SelectStatement, Source, Statement};
use sluice_influxql::Query;
use sluice_storage::meta::{MetaData, UserInfo, UserPrivilege};

/// Who sent a query, as the HTTP layer established it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Identity {
    /// `[http] auth-enabled = false`: nothing is checked
    #[default]
    Unchecked,
    /// auth is on but no admin user exists, so no credentials were asked for
    Anonymous,
    /// an authenticated user (its privileges are looked up when the query runs)
    User(String),
}

/// InfluxDB's text when auth is on and there is no user at all.
pub const CREATE_ADMIN_FIRST: &str = "create admin user first or disable authentication";
/// InfluxDB's text when users exist but the request carries no user (no admin exists).
pub const NO_USER_PROVIDED: &str = "no user provided";

/// What one statement needs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Required {
    /// an admin user
    Admin,
    /// a privilege on a database ("" = the request's `db`)
    On(UserPrivilege, String),
}

/// Whether `identity` may run every statement of `query` with `database` as the request's
/// `db`; the refusal text otherwise (without the `error authorizing query: ` prefix).
pub fn authorize(
    query: &Query,
    identity: &Identity,
    database: &str,
    meta: &MetaData,
) -> Result<(), String> {
    let name = match identity {
        Identity::Unchecked => return Ok(()),
        Identity::Anonymous | Identity::User(_) if meta.users.is_empty() => {
            return bootstrap(query);
        }
        Identity::Anonymous => return Err(NO_USER_PROVIDED.to_string()),
        Identity::User(name) => name,
    };
    let Some(user) = meta.user(name) else {
        // Dropped since the request was authenticated.
        return Err(NO_USER_PROVIDED.to_string());
    };
    if user.admin {
        return Ok(());
    }
    for statement in &query.statements {
        check_statement(statement, user, database)?;
    }
    Ok(())
}

/// With no user at all, only a query whose first statement creates an admin may run.
fn bootstrap(query: &Query) -> Result<(), String> {
    match query.statements.first() {
        Some(Statement::CreateUser(create)) if create.admin => Ok(()),
        _ => Err(CREATE_ADMIN_FIRST.to_string()),
    }
}

fn check_statement(statement: &Statement, user: &UserInfo, database: &str) -> Result<(), String> {
    for required in required_privileges(statement) {
        let refused = |needs: String| {
            format!(
                "{} not authorized to execute statement '{}', requires {needs}",
                user.name,
                statement.to_redacted_string()
            )
        };
        match required {
            Required::Admin => return Err(refused("admin privilege".to_string())),
            Required::On(privilege, on) => {
                let on = if on.is_empty() { database } else { &on };
                if !user.may(privilege, on) {
                    return Err(refused(format!("{} on {on}", privilege_text(privilege))));
                }
            }
        }
    }
    Ok(())
}

fn privilege_text(privilege: UserPrivilege) -> &'static str {
    match privilege {
        UserPrivilege::None => "NO PRIVILEGES",
        UserPrivilege::Read => "READ",
        UserPrivilege::Write => "WRITE",
        UserPrivilege::All => "ALL PRIVILEGES",
    }
}

fn read_on(database: &Option<String>) -> Vec<Required> {
    vec![Required::On(
        UserPrivilege::Read,
        database.clone().unwrap_or_default(),
    )]
}

/// The privileges `statement` needs, in InfluxDB's order (the first missing one is named).
fn required_privileges(statement: &Statement) -> Vec<Required> {
    match statement {
        Statement::Select(select) => select_privileges(select),
        Statement::Explain(explain) => select_privileges(&explain.statement),
        Statement::Delete(_) | Statement::DropSeries(_) => {
            vec![Required::On(UserPrivilege::Write, String::new())]
        }
        Statement::ShowDatabases(_) => Vec::new(),
        Statement::ShowRetentionPolicies(show) => read_on(&show.database),
        Statement::ShowMeasurements(show) => read_on(&show.database),
        Statement::ShowSeries(show) => read_on(&show.database),
        Statement::ShowTagKeys(show) => read_on(&show.database),
        Statement::ShowTagValues(show) => read_on(&show.database),
        Statement::ShowFieldKeys(show) => read_on(&show.database),
        Statement::ShowCardinality(show) => read_on(&show.database),
        Statement::ShowContinuousQueries | Statement::ShowQueries => read_on(&None),
        Statement::CreateContinuousQuery(create) => {
            let mut required = vec![Required::On(UserPrivilege::Read, create.database.clone())];
            required.extend(select_privileges(&create.source));
            required
        }
        Statement::DropContinuousQuery(drop) => {
            vec![Required::On(UserPrivilege::Write, drop.database.clone())]
        }
        Statement::CreateDatabase(_)
        | Statement::DropDatabase(_)
        | Statement::CreateRetentionPolicy(_)
        | Statement::AlterRetentionPolicy(_)
        | Statement::DropRetentionPolicy(_)
        | Statement::CreateUser(_)
        | Statement::DropUser(_)
        | Statement::SetPassword(_)
        | Statement::ShowUsers
        | Statement::Grant(_)
        | Statement::Revoke(_)
        | Statement::ShowGrants(_)
        | Statement::CreateSubscription(_)
        | Statement::DropSubscription(_)
        | Statement::ShowSubscriptions
        | Statement::DropMeasurement(_)
        | Statement::ShowShards
        | Statement::ShowShardGroups
        | Statement::DropShard(_)
        | Statement::ShowStats(_)
        | Statement::ShowDiagnostics(_)
        | Statement::KillQuery(_) => vec![Required::Admin],
    }
}

/// READ on every source (subqueries included, depth first), then WRITE on the INTO target.
fn select_privileges(select: &SelectStatement) -> Vec<Required> {
    let mut required = Vec::new();
    for source in &select.sources {
        match source {
            Source::Measurement(measurement) => required.push(Required::On(
                UserPrivilege::Read,
                measurement.database.clone(),
            )),
            Source::Subquery(inner) => required.extend(select_privileges(inner)),
        }
    }
    if let Some(target) = &select.target {
        required.push(Required::On(UserPrivilege::Write, target.database.clone()));
    }
    required
}

/// Whether `identity` may see `database` in SHOW DATABASES (READ or WRITE on it, as 1.6.7).
pub fn may_list_database(identity: &Identity, meta: &MetaData, database: &str) -> bool {
    match identity {
        Identity::Unchecked => true,
        Identity::Anonymous => false,
        Identity::User(name) => meta.user(name).is_some_and(|user| {
            user.may(UserPrivilege::Read, database) || user.may(UserPrivilege::Write, database)
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn meta_with(users: Vec<UserInfo>) -> MetaData {
        MetaData {
            users,
            ..MetaData::default()
        }
    }

    fn user(name: &str, admin: bool, privileges: &[(&str, UserPrivilege)]) -> UserInfo {
        UserInfo {
            name: name.to_string(),
            password_hash: String::new(),
            admin,
            privileges: privileges
                .iter()
                .map(|(db, p)| (db.to_string(), *p))
                .collect(),
        }
    }

    fn check(text: &str, identity: &Identity, meta: &MetaData) -> Result<(), String> {
        authorize(
            &sluice_influxql::parse_query(text).unwrap(),
            identity,
            "db1",
            meta,
        )
    }

    #[test]
    fn bootstrap_allows_only_a_first_admin() {
        let none = meta_with(Vec::new());
        let anonymous = Identity::Anonymous;
        assert!(check(
            "CREATE USER a WITH PASSWORD 'p' WITH ALL PRIVILEGES",
            &anonymous,
            &none
        )
        .is_ok());
        assert_eq!(
            check("CREATE USER a WITH PASSWORD 'p'", &anonymous, &none),
            Err(CREATE_ADMIN_FIRST.to_string())
        );
        assert!(check("SHOW DATABASES", &Identity::Unchecked, &none).is_ok());
        let plain = meta_with(vec![user("r", false, &[])]);
        assert_eq!(
            check("SHOW DATABASES", &anonymous, &plain),
            Err(NO_USER_PROVIDED.to_string())
        );
    }

    #[test]
    fn statements_need_their_privileges() {
        let meta = meta_with(vec![
            user("admin", true, &[]),
            user("r", false, &[("db1", UserPrivilege::Read)]),
            user("w", false, &[("db1", UserPrivilege::Write)]),
        ]);
        let reader = Identity::User("r".into());
        let writer = Identity::User("w".into());
        assert!(check("SELECT * FROM m", &reader, &meta).is_ok());
        assert_eq!(
            check("SELECT * FROM m, db2..m", &reader, &meta).unwrap_err(),
            "r not authorized to execute statement 'SELECT * FROM m, db2..m', requires READ on db2"
        );
        assert!(check("SELECT * INTO m2 FROM m", &reader, &meta).is_err());
        assert!(check("DELETE FROM m", &writer, &meta).is_ok());
        assert!(check("SELECT * FROM m", &writer, &meta).is_err());
        assert!(check("SHOW DATABASES", &writer, &meta).is_ok());
        assert!(check("DROP DATABASE db1", &reader, &meta)
            .unwrap_err()
            .ends_with("requires admin privilege"));
        assert!(check("DROP DATABASE db1", &Identity::User("admin".into()), &meta).is_ok());
        assert!(may_list_database(&writer, &meta, "db1"));
        assert!(!may_list_database(&writer, &meta, "db2"));
    }
}
