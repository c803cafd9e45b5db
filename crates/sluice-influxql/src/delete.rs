//! `DELETE` and `DROP SERIES` statement grammar (the same shape).
//!
//! ```text
//! DELETE [FROM source ("," source)*] [WHERE expr]
//! DROP SERIES [FROM source ("," source)*] [WHERE expr]
//! ```
//!
//! At least one of FROM and WHERE is required. Sources may not name a database or
//! retention policy (the statement applies to the query's database, every policy); the
//! error has no meaningful position (InfluxDB reports line 1, char 1), and when both are
//! named the retention policy is reported.

use super::ast::{DeleteStatement, DropSeriesStatement, Source, Statement};
use super::expr::Expr;
use super::lexer::{Keyword, Pos, TokenKind};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `DELETE`.
    pub(super) fn parse_delete(&mut self) -> Result<Statement, ParseError> {
        let (sources, condition) = self.parse_series_filter()?;
        Ok(Statement::Delete(DeleteStatement { sources, condition }))
    }

    /// Parses the rest of `DROP SERIES`.
    pub(super) fn parse_drop_series(&mut self) -> Result<Statement, ParseError> {
        let (sources, condition) = self.parse_series_filter()?;
        Ok(Statement::DropSeries(DropSeriesStatement {
            sources,
            condition,
        }))
    }

    fn parse_series_filter(&mut self) -> Result<(Vec<Source>, Option<Expr>), ParseError> {
        let first = self.scan_ignore_whitespace();
        let mut sources = Vec::new();
        if first.kind == TokenKind::Keyword(Keyword::From) {
            sources = self.parse_sources(false)?;
            check_no_database_or_policy(&sources)?;
        } else {
            self.unscan();
        }
        let condition = self.parse_condition()?;
        if condition.is_none() && sources.is_empty() {
            return Err(ParseError::unexpected(&first, &["FROM", "WHERE"]));
        }
        Ok((sources, condition))
    }
}

fn check_no_database_or_policy(sources: &[Source]) -> Result<(), ParseError> {
    let mut message = None;
    for source in sources {
        if let Source::Measurement(measurement) = source {
            if !measurement.database.is_empty() {
                message = Some("database not supported");
            }
            if !measurement.retention_policy.is_empty() {
                message = Some("retention policy not supported");
            }
        }
    }
    match message {
        Some(message) => Err(ParseError::new(message, Pos::default())),
        None => Ok(()),
    }
}
