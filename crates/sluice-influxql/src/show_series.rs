//! `SHOW SERIES` statement grammar (and the way into `SHOW SERIES [EXACT] CARDINALITY`).
//!
//! ```text
//! SHOW SERIES [ON db] [FROM sources] [WHERE expr] [ORDER BY ...] [LIMIT n] [OFFSET n]
//! ```
//!
//! `EXACT` without `CARDINALITY` after it is accepted and ignored (InfluxDB does so).

use super::ast::{CardinalityTarget, ShowSeriesStatement, Statement};
use super::lexer::Keyword;
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `SHOW SERIES`.
    pub(super) fn parse_show_series(&mut self) -> Result<Statement, ParseError> {
        let exact = self.accept_keyword(Keyword::Exact);
        if self.accept_keyword(Keyword::Cardinality) {
            return self.parse_show_cardinality_rest(CardinalityTarget::Series, exact);
        }
        let mut statement = ShowSeriesStatement {
            database: self.parse_optional_on()?,
            ..ShowSeriesStatement::default()
        };
        if self.accept_keyword(Keyword::From) {
            statement.sources = self.parse_sources(false)?;
        }
        statement.condition = self.parse_condition()?;
        statement.sort_fields = self.parse_order_by()?;
        statement.limit = self.parse_optional_keyword_and_int(Keyword::Limit)?;
        statement.offset = self.parse_optional_keyword_and_int(Keyword::Offset)?;
        Ok(Statement::ShowSeries(statement))
    }
}
