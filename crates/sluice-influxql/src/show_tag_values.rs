//! `SHOW TAG VALUES` statement grammar and its `WITH KEY` clause.
//!
//! ```text
//! SHOW TAG VALUES [ON db] [FROM sources] WITH KEY key_filter [WHERE expr] [ORDER BY ...]
//!   [LIMIT n] [OFFSET n]
//! key_filter = IN "(" ident ("," ident)* ")" | (= | !=) ident | (=~ | !~) /regex/
//! ```
//!
//! `SHOW TAG VALUES [EXACT] CARDINALITY` branches off here.

use super::ast::{CardinalityTarget, ShowTagValuesStatement, Statement, TagKeyFilter};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `SHOW TAG VALUES`.
    pub(super) fn parse_show_tag_values(&mut self) -> Result<Statement, ParseError> {
        let token = self.scan_ignore_whitespace();
        match token.kind {
            TokenKind::Keyword(Keyword::Exact) => {
                let cardinality = self.scan_ignore_whitespace();
                if cardinality.kind != TokenKind::Keyword(Keyword::Cardinality) {
                    return Err(ParseError::unexpected(&cardinality, &["CARDINALITY"]));
                }
                return self.parse_show_cardinality_rest(
                    CardinalityTarget::TagValues(TagKeyFilter::In(Vec::new())),
                    true,
                );
            }
            TokenKind::Keyword(Keyword::Cardinality) => {
                return self.parse_show_cardinality_rest(
                    CardinalityTarget::TagValues(TagKeyFilter::In(Vec::new())),
                    false,
                );
            }
            _ => self.unscan(),
        }
        let database = self.parse_optional_on()?;
        let mut sources = Vec::new();
        if self.accept_keyword(Keyword::From) {
            sources = self.parse_sources(false)?;
        }
        let key = self.parse_tag_key_filter()?;
        let condition = self.parse_condition()?;
        let sort_fields = self.parse_order_by()?;
        let limit = self.parse_optional_keyword_and_int(Keyword::Limit)?;
        let offset = self.parse_optional_keyword_and_int(Keyword::Offset)?;
        Ok(Statement::ShowTagValues(ShowTagValuesStatement {
            database,
            sources,
            key,
            condition,
            sort_fields,
            limit,
            offset,
        }))
    }

    /// Parses `WITH KEY ...` (required).
    pub(super) fn parse_tag_key_filter(&mut self) -> Result<TagKeyFilter, ParseError> {
        self.parse_tokens(&[
            TokenKind::Keyword(Keyword::With),
            TokenKind::Keyword(Keyword::Key),
        ])?;
        let op = self.scan_ignore_whitespace();
        match op.kind {
            TokenKind::Keyword(Keyword::In) => {
                let open = self.scan_ignore_whitespace();
                if open.kind != TokenKind::LParen {
                    return Err(ParseError::unexpected(&open, &["("]));
                }
                let keys = self.parse_ident_list()?;
                let close = self.scan_ignore_whitespace();
                if close.kind != TokenKind::RParen {
                    return Err(ParseError::unexpected(&close, &[")"]));
                }
                Ok(TagKeyFilter::In(keys))
            }
            TokenKind::Eq => Ok(TagKeyFilter::Eq(self.parse_ident()?)),
            TokenKind::Neq => Ok(TagKeyFilter::Neq(self.parse_ident()?)),
            TokenKind::EqRegex | TokenKind::NeqRegex => {
                let Some(pattern) = self.parse_regex()? else {
                    let token = self.scan_ignore_whitespace();
                    return Err(ParseError::unexpected(&token, &["regex"]));
                };
                Ok(if op.kind == TokenKind::EqRegex {
                    TagKeyFilter::EqRegex(pattern)
                } else {
                    TagKeyFilter::NeqRegex(pattern)
                })
            }
            _ => Err(ParseError::unexpected(&op, &["IN", "=", "=~"])),
        }
    }
}
