//! `SHOW ... [EXACT] CARDINALITY` statements: series, measurements, tag keys, tag values,
//! field keys.
//!
//! ```text
//! SHOW (SERIES | MEASUREMENT | TAG KEY | TAG VALUES | FIELD KEY) [EXACT] CARDINALITY
//!   [ON db] [FROM sources] [WITH KEY ... (tag values only, required)] [WHERE expr]
//!   [GROUP BY dimensions] [LIMIT n] [OFFSET n]
//! ```
//!
//! The keyword tree (or the SERIES / TAG VALUES parsers) has consumed everything up to and
//! including `CARDINALITY`.

use super::ast::{CardinalityTarget, ShowCardinalityStatement, Statement};
use super::lexer::Keyword;
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Entry from the keyword tree, after `CARDINALITY`.
    pub(super) fn parse_show_cardinality(
        &mut self,
        target: CardinalityTarget,
        exact: bool,
    ) -> Result<Statement, ParseError> {
        self.parse_show_cardinality_rest(target, exact)
    }

    /// Parses the clauses after `CARDINALITY`. For tag values the filter in `target` is a
    /// placeholder replaced by the parsed `WITH KEY` clause.
    pub(super) fn parse_show_cardinality_rest(
        &mut self,
        target: CardinalityTarget,
        exact: bool,
    ) -> Result<Statement, ParseError> {
        let database = self.parse_optional_on()?;
        let mut sources = Vec::new();
        if self.accept_keyword(Keyword::From) {
            sources = self.parse_sources(false)?;
        }
        let target = match target {
            CardinalityTarget::TagValues(_) => {
                CardinalityTarget::TagValues(self.parse_tag_key_filter()?)
            }
            other => other,
        };
        let condition = self.parse_condition()?;
        let dimensions = self.parse_dimensions()?;
        let limit = self.parse_optional_keyword_and_int(Keyword::Limit)?;
        let offset = self.parse_optional_keyword_and_int(Keyword::Offset)?;
        Ok(Statement::ShowCardinality(ShowCardinalityStatement {
            target,
            exact,
            database,
            sources,
            condition,
            dimensions,
            limit,
            offset,
        }))
    }
}
