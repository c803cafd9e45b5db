//! `EXPLAIN` statement grammar.
//!
//! ```text
//! EXPLAIN [ANALYZE] SELECT ...
//! ```
//!
//! InfluxDB 1.6.7 has no `VERBOSE`. The tree walk has consumed `EXPLAIN`.

use super::ast::{ExplainStatement, Statement};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser};
use super::select::TargetRequirement;

impl Parser<'_> {
    /// Parses the rest of `EXPLAIN`.
    pub(super) fn parse_explain(&mut self) -> Result<Statement, ParseError> {
        let analyze = self.accept_keyword(Keyword::Analyze);
        let select = self.scan_ignore_whitespace();
        if select.kind != TokenKind::Keyword(Keyword::Select) {
            return Err(ParseError::unexpected(&select, &["SELECT"]));
        }
        let statement = Box::new(self.parse_select(TargetRequirement::Optional)?);
        Ok(Statement::Explain(ExplainStatement { analyze, statement }))
    }
}
