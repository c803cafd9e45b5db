//! `SHOW TAG KEYS` statement grammar.
//!
//! ```text
//! SHOW TAG KEYS [ON db] [FROM sources] [WHERE expr] [ORDER BY ...] [LIMIT n] [OFFSET n]
//!   [SLIMIT n] [SOFFSET n]
//! ```
//!
//! InfluxDB 1.6.7 has no `WITH KEY` clause here (later versions do).

use super::ast::{ShowTagKeysStatement, Statement};
use super::lexer::Keyword;
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `SHOW TAG KEYS`.
    pub(super) fn parse_show_tag_keys(&mut self) -> Result<Statement, ParseError> {
        let mut statement = ShowTagKeysStatement {
            database: self.parse_optional_on()?,
            ..ShowTagKeysStatement::default()
        };
        if self.accept_keyword(Keyword::From) {
            statement.sources = self.parse_sources(false)?;
        }
        statement.condition = self.parse_condition()?;
        statement.sort_fields = self.parse_order_by()?;
        statement.limit = self.parse_optional_keyword_and_int(Keyword::Limit)?;
        statement.offset = self.parse_optional_keyword_and_int(Keyword::Offset)?;
        statement.series_limit = self.parse_optional_keyword_and_int(Keyword::Slimit)?;
        statement.series_offset = self.parse_optional_keyword_and_int(Keyword::Soffset)?;
        Ok(Statement::ShowTagKeys(statement))
    }
}
