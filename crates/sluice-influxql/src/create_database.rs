//! `CREATE DATABASE` statement grammar.
//!
//! ```text
//! CREATE DATABASE name [WITH [DURATION d] [REPLICATION n] [SHARD DURATION d] [NAME rp]]
//! ```
//!
//! The `WITH` options must appear in this order, each at most once, and at least one must
//! follow `WITH`. InfluxDB 1.x has no `IF NOT EXISTS` (creating an existing database is not
//! an error). The tree walk in `parser.rs` has already consumed `CREATE DATABASE`.

use super::ast::{CreateDatabaseStatement, Statement};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser, REPLICATION_MAX, REPLICATION_MIN};

/// Keywords that may follow `WITH`, in the order InfluxDB lists them in errors.
const WITH_OPTIONS: &[&str] = &["DURATION", "NAME", "REPLICATION", "SHARD"];

impl Parser<'_> {
    /// Parses the rest of `CREATE DATABASE` after the two keywords.
    pub(super) fn parse_create_database(&mut self) -> Result<Statement, ParseError> {
        let mut statement = CreateDatabaseStatement {
            name: self.parse_ident()?,
            ..CreateDatabaseStatement::default()
        };
        if self.accept_keyword(Keyword::With) {
            self.parse_retention_policy_options(&mut statement)?;
        }
        Ok(Statement::CreateDatabase(statement))
    }

    /// Parses the options after `WITH`: at least one, each at most once, in fixed order.
    fn parse_retention_policy_options(
        &mut self,
        statement: &mut CreateDatabaseStatement,
    ) -> Result<(), ParseError> {
        let first = self.scan_ignore_whitespace();
        let is_option = matches!(
            first.kind,
            TokenKind::Keyword(Keyword::Duration | Keyword::Name)
                | TokenKind::Keyword(Keyword::Replication | Keyword::Shard)
        );
        if !is_option {
            return Err(ParseError::unexpected(&first, WITH_OPTIONS));
        }
        self.unscan();

        if self.accept_keyword(Keyword::Duration) {
            statement.retention_policy_duration_ns = Some(self.parse_duration_ns()?);
        }
        if self.accept_keyword(Keyword::Replication) {
            let replication = self.parse_int(REPLICATION_MIN, REPLICATION_MAX)?;
            // Always converts: parse_int checked 1 ..= i32::MAX.
            statement.retention_policy_replication = u32::try_from(replication).ok();
        }
        if self.accept_keyword(Keyword::Shard) {
            let token = self.scan_ignore_whitespace();
            if token.kind != TokenKind::Keyword(Keyword::Duration) {
                return Err(ParseError::unexpected(&token, &["DURATION"]));
            }
            statement.retention_policy_shard_group_duration_ns = Some(self.parse_duration_ns()?);
        }
        if self.accept_keyword(Keyword::Name) {
            statement.retention_policy_name = Some(self.parse_ident()?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_query, CreateDatabaseStatement, Statement};

    fn parse_one(text: &str) -> Statement {
        match parse_query(text) {
            Ok(query) if query.statements.len() == 1 => query.statements[0].clone(),
            other => panic!("unexpected parse of {text:?}: {other:?}"),
        }
    }

    #[test]
    fn all_options() {
        let statement = parse_one(
            "create database \"a b\" with duration 1h30m replication 2 shard duration 1w name rp",
        );
        let want = Statement::CreateDatabase(CreateDatabaseStatement {
            name: "a b".to_string(),
            retention_policy_duration_ns: Some(5_400_000_000_000),
            retention_policy_replication: Some(2),
            retention_policy_shard_group_duration_ns: Some(604_800_000_000_000),
            retention_policy_name: Some("rp".to_string()),
        });
        assert_eq!(statement, want);
    }

    #[test]
    fn inf_duration_is_zero() {
        let Statement::CreateDatabase(statement) = parse_one("CREATE DATABASE x WITH DURATION INF")
        else {
            panic!("not a CREATE DATABASE");
        };
        assert_eq!(statement.retention_policy_duration_ns, Some(0));
    }

    #[test]
    fn options_out_of_order_are_errors() {
        let error = parse_query("CREATE DATABASE x WITH NAME rp DURATION 1h");
        assert_eq!(
            error.map_err(|error| error.to_string()),
            Err("found DURATION, expected ; at line 1, char 32".to_string())
        );
    }
}
