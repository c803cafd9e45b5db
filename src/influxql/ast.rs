//! InfluxQL syntax tree and its canonical printed form.
//!
//! Owns the statement types and their `Display`, which prints canonical InfluxQL.
//! Invariant: for every tree the parser produces, parsing its printed form yields an equal
//! tree (identifiers are quoted exactly when InfluxDB's `QuoteIdent` would quote them,
//! durations are printed in the largest exact unit).

use std::fmt;

use super::lexer::{is_ident_char, is_ident_first_char, lookup_keyword};
use super::parser::format_duration_ns;

/// A parsed query: zero or more statements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// The statements in order; empty for a query of only `;`s.
    pub statements: Vec<Statement>,
}

/// One InfluxQL statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `CREATE DATABASE name [WITH ...]`
    CreateDatabase(CreateDatabaseStatement),
    /// `DROP DATABASE name`
    DropDatabase(DropDatabaseStatement),
    /// `SHOW DATABASES`
    ShowDatabases(ShowDatabasesStatement),
    /// A statement InfluxQL has but this parser does not implement yet.
    Unsupported {
        /// The statement's text, from its first keyword to its last token (comments and
        /// whitespace after the last token are not included).
        text: String,
    },
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
            Statement::CreateDatabase(statement) => statement.fmt(f),
            Statement::DropDatabase(statement) => statement.fmt(f),
            Statement::ShowDatabases(statement) => statement.fmt(f),
            Statement::Unsupported { text } => f.write_str(text),
        }
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
}
