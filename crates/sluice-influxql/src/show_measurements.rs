//! `SHOW MEASUREMENTS` statement grammar.
//!
//! ```text
//! SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT (= | =~) (name | /regex/)] [WHERE expr]
//!   [ORDER BY ...] [LIMIT n] [OFFSET n]
//! ```

use super::ast::{ShowMeasurementsStatement, Source, Statement};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `SHOW MEASUREMENTS`.
    pub(super) fn parse_show_measurements(&mut self) -> Result<Statement, ParseError> {
        let mut statement = ShowMeasurementsStatement {
            database: self.parse_optional_on()?,
            ..ShowMeasurementsStatement::default()
        };
        if self.accept_keyword(Keyword::With) {
            self.parse_tokens(&[TokenKind::Keyword(Keyword::Measurement)])?;
            let op = self.scan_ignore_whitespace();
            if !matches!(op.kind, TokenKind::Eq | TokenKind::EqRegex) {
                return Err(ParseError::unexpected(&op, &["=", "=~"]));
            }
            match self.parse_source(false)? {
                Source::Measurement(measurement) => statement.source = Some(measurement),
                Source::Subquery(_) => {
                    return Err(ParseError::bare("BUG: subquery parsed where none allowed"))
                }
            }
        }
        statement.condition = self.parse_condition()?;
        statement.sort_fields = self.parse_order_by()?;
        statement.limit = self.parse_optional_keyword_and_int(Keyword::Limit)?;
        statement.offset = self.parse_optional_keyword_and_int(Keyword::Offset)?;
        Ok(Statement::ShowMeasurements(statement))
    }
}
