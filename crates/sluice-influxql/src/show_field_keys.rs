//! `SHOW FIELD KEYS` statement grammar.
//!
//! ```text
//! SHOW FIELD KEYS [ON db] [FROM sources] [ORDER BY ...] [LIMIT n] [OFFSET n]
//! ```

use super::ast::{ShowFieldKeysStatement, Statement};
use super::lexer::Keyword;
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `SHOW FIELD KEYS`.
    pub(super) fn parse_show_field_keys(&mut self) -> Result<Statement, ParseError> {
        let mut statement = ShowFieldKeysStatement {
            database: self.parse_optional_on()?,
            ..ShowFieldKeysStatement::default()
        };
        if self.accept_keyword(Keyword::From) {
            statement.sources = self.parse_sources(false)?;
        }
        statement.sort_fields = self.parse_order_by()?;
        statement.limit = self.parse_optional_keyword_and_int(Keyword::Limit)?;
        statement.offset = self.parse_optional_keyword_and_int(Keyword::Offset)?;
        Ok(Statement::ShowFieldKeys(statement))
    }
}
