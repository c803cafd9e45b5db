//! Retention policy statements: CREATE, ALTER, DROP, SHOW.
//!
//! ```text
//! CREATE RETENTION POLICY name ON db DURATION d REPLICATION n [SHARD DURATION d] [DEFAULT]
//! ALTER RETENTION POLICY (name | DEFAULT) ON db option+
//!     option = DURATION d | REPLICATION n | SHARD DURATION d | DEFAULT  (any order, once)
//! DROP RETENTION POLICY name ON db
//! SHOW RETENTION POLICIES [ON db]
//! ```
//!
//! `INF` is not a valid shard duration. The tree walk has consumed the leading keywords.

use super::ast::{
    AlterRetentionPolicyStatement, CreateRetentionPolicyStatement, DropRetentionPolicyStatement,
    ShowRetentionPoliciesStatement, Statement,
};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser, REPLICATION_MAX, REPLICATION_MIN};

/// The options ALTER accepts, in InfluxDB's error order.
const ALTER_OPTIONS: &[&str] = &["DURATION", "REPLICATION", "SHARD", "DEFAULT"];

impl Parser<'_> {
    fn expect_keyword(&mut self, keyword: Keyword) -> Result<(), ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::Keyword(keyword) {
            return Err(ParseError::unexpected(&token, &[keyword.as_str()]));
        }
        Ok(())
    }

    /// Parses `ON db`, required.
    pub(super) fn parse_on_database(&mut self) -> Result<String, ParseError> {
        self.expect_keyword(Keyword::On)?;
        self.parse_ident()
    }

    fn parse_replication(&mut self) -> Result<u32, ParseError> {
        let replication = self.parse_int(REPLICATION_MIN, REPLICATION_MAX)?;
        Ok(u32::try_from(replication).unwrap_or(u32::MAX))
    }

    /// Parses `DURATION d` after `SHARD`, refusing `INF`.
    fn parse_shard_duration(&mut self) -> Result<i64, ParseError> {
        self.expect_keyword(Keyword::Duration)?;
        let token = self.scan_ignore_whitespace();
        if token.kind == TokenKind::Keyword(Keyword::Inf) {
            return Err(ParseError::new(
                "invalid duration INF for shard duration",
                token.pos,
            ));
        }
        self.unscan();
        self.parse_duration_ns()
    }

    /// Parses the rest of `CREATE RETENTION POLICY`.
    pub(super) fn parse_create_retention_policy(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        let database = self.parse_on_database()?;
        self.expect_keyword(Keyword::Duration)?;
        let duration_ns = self.parse_duration_ns()?;
        self.expect_keyword(Keyword::Replication)?;
        let replication = self.parse_replication()?;
        let mut shard_group_duration_ns = 0;
        if self.accept_keyword(Keyword::Shard) {
            shard_group_duration_ns = self.parse_shard_duration()?;
        }
        let default = self.accept_keyword(Keyword::Default);
        Ok(Statement::CreateRetentionPolicy(
            CreateRetentionPolicyStatement {
                name,
                database,
                duration_ns,
                replication,
                shard_group_duration_ns,
                default,
            },
        ))
    }

    /// Parses the rest of `ALTER RETENTION POLICY`.
    pub(super) fn parse_alter_retention_policy(&mut self) -> Result<Statement, ParseError> {
        let token = self.scan_ignore_whitespace();
        let name = match token.kind {
            TokenKind::Keyword(Keyword::Default) => "default".to_string(),
            TokenKind::Ident => token.literal,
            _ => return Err(ParseError::unexpected(&token, &["identifier"])),
        };
        let database = self.parse_on_database()?;
        let mut statement = AlterRetentionPolicyStatement {
            name,
            database,
            duration_ns: None,
            replication: None,
            shard_group_duration_ns: None,
            default: false,
        };
        let mut found: Vec<TokenKind> = Vec::new();
        loop {
            let token = self.scan_ignore_whitespace();
            if found.contains(&token.kind) {
                let message = format!("found duplicate {} option", token.kind.as_str());
                return Err(ParseError::new(message, token.pos));
            }
            match token.kind {
                TokenKind::Keyword(Keyword::Duration) => {
                    statement.duration_ns = Some(self.parse_duration_ns()?);
                }
                TokenKind::Keyword(Keyword::Replication) => {
                    statement.replication = Some(self.parse_replication()?);
                }
                TokenKind::Keyword(Keyword::Shard) => {
                    statement.shard_group_duration_ns = Some(self.parse_shard_duration()?);
                }
                TokenKind::Keyword(Keyword::Default) => statement.default = true,
                _ if found.is_empty() => {
                    return Err(ParseError::unexpected(&token, ALTER_OPTIONS));
                }
                _ => {
                    self.unscan();
                    return Ok(Statement::AlterRetentionPolicy(statement));
                }
            }
            found.push(token.kind);
        }
    }

    /// Parses the rest of `DROP RETENTION POLICY`.
    pub(super) fn parse_drop_retention_policy(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        let database = self.parse_on_database()?;
        Ok(Statement::DropRetentionPolicy(
            DropRetentionPolicyStatement { name, database },
        ))
    }

    /// Parses the rest of `SHOW RETENTION POLICIES`.
    pub(super) fn parse_show_retention_policies(&mut self) -> Result<Statement, ParseError> {
        let database = self.parse_optional_on()?;
        Ok(Statement::ShowRetentionPolicies(
            ShowRetentionPoliciesStatement { database },
        ))
    }
}
