//! `SELECT` statement grammar and the clauses other statements share (FROM sources,
//! WHERE, GROUP BY, ORDER BY, LIMIT/OFFSET).
//!
//! ```text
//! SELECT field ("," field)* [INTO target] FROM source ("," source)* [WHERE expr]
//!   [GROUP BY dimension ("," dimension)*] [fill(option)] [ORDER BY sort_fields]
//!   [LIMIT n] [OFFSET n] [SLIMIT n] [SOFFSET n] [tz('zone')]
//! field     = ( regex | expr ) [AS ident]          (no comparison or logic operator)
//! target    = segmented_idents [ "." ":" MEASUREMENT ]
//! source    = regex | "(" SELECT ... ")" | segmented_idents [ regex ]
//! dimension = regex | expr
//! ```
//!
//! The tree walk in `parser.rs` has already consumed `SELECT`. `fill` and `tz` are parsed
//! as calls and then checked, with InfluxDB's (position-less) messages.

use super::ast::{Field, Fill, Measurement, SelectStatement, SortField, Source, Statement};
use super::expr::{BinaryOp, Expr, Literal};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser, SUBQUERY_NESTING_COST};
use super::timezone;

/// Whether a SELECT must, may or may not have an INTO clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TargetRequirement {
    /// Continuous queries: `INTO` is required.
    Required,
    /// Plain SELECT and subqueries: `INTO` is optional.
    Optional,
}

impl Parser<'_> {
    /// Parses the rest of a top-level `SELECT`.
    pub(super) fn parse_select_statement_leaf(&mut self) -> Result<Statement, ParseError> {
        let statement = self.parse_select(TargetRequirement::Optional)?;
        Ok(Statement::Select(Box::new(statement)))
    }

    /// Parses a SELECT after its keyword.
    pub(super) fn parse_select(
        &mut self,
        requirement: TargetRequirement,
    ) -> Result<SelectStatement, ParseError> {
        let fields = self.parse_fields()?;
        let target = self.parse_target(requirement)?;
        let from = self.scan_ignore_whitespace();
        if from.kind != TokenKind::Keyword(Keyword::From) {
            return Err(ParseError::unexpected(&from, &["FROM"]));
        }
        let sources = self.parse_sources(true)?;
        let condition = self.parse_condition()?;
        let dimensions = self.parse_dimensions()?;
        let fill = self.parse_fill()?;
        let sort_fields = self.parse_order_by()?;
        let limit = self.parse_optional_keyword_and_int(Keyword::Limit)?;
        let offset = self.parse_optional_keyword_and_int(Keyword::Offset)?;
        let series_limit = self.parse_optional_keyword_and_int(Keyword::Slimit)?;
        let series_offset = self.parse_optional_keyword_and_int(Keyword::Soffset)?;
        let timezone = self.parse_location()?;
        Ok(SelectStatement {
            fields,
            target,
            sources,
            condition,
            dimensions,
            fill,
            sort_fields,
            limit,
            offset,
            series_limit,
            series_offset,
            timezone,
        })
    }

    fn parse_fields(&mut self) -> Result<Vec<Field>, ParseError> {
        let mut fields = Vec::new();
        loop {
            fields.push(self.parse_field()?);
            if self.scan().kind != TokenKind::Comma {
                self.unscan();
                return Ok(fields);
            }
        }
    }

    fn parse_field(&mut self) -> Result<Field, ParseError> {
        let expr = match self.parse_regex()? {
            Some(pattern) => Expr::Literal(Literal::Regex(pattern)),
            None => {
                let first = self.scan_ignore_whitespace();
                self.unscan();
                let expr = self.parse_expr()?;
                if let Some(op) = last_boolean_operator(&expr) {
                    // InfluxDB builds this message itself, position included.
                    return Err(ParseError::bare(format!(
                        "invalid operator {op} in SELECT clause at line {}, char {}; \
                         operator is intended for WHERE clause",
                        first.pos.line + 1,
                        first.pos.char + 1
                    )));
                }
                expr
            }
        };
        let alias = self.parse_alias()?;
        self.consume_whitespace();
        Ok(Field { expr, alias })
    }

    fn parse_alias(&mut self) -> Result<Option<String>, ParseError> {
        if !self.accept_keyword(Keyword::As) {
            return Ok(None);
        }
        self.parse_ident().map(Some)
    }

    fn parse_target(
        &mut self,
        requirement: TargetRequirement,
    ) -> Result<Option<Measurement>, ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::Keyword(Keyword::Into) {
            if requirement == TargetRequirement::Required {
                return Err(ParseError::unexpected(&token, &["INTO"]));
            }
            self.unscan();
            return Ok(None);
        }
        let mut idents = self.parse_segmented_idents()?;
        if idents.len() < 3 && self.peek_char() == ':' {
            self.parse_tokens(&[TokenKind::Colon, TokenKind::Keyword(Keyword::Measurement)])?;
            idents.push(String::new());
        }
        let mut target = Measurement::default();
        let mut idents = idents.into_iter();
        match (idents.next(), idents.next(), idents.next()) {
            (Some(name), None, None) => target.name = name,
            (Some(rp), Some(name), None) => {
                target.retention_policy = rp;
                target.name = name;
            }
            (Some(database), Some(rp), Some(name)) => {
                target.database = database;
                target.retention_policy = rp;
                target.name = name;
            }
            _ => return Err(ParseError::bare("BUG: segmented identifiers out of range")),
        }
        Ok(Some(target))
    }

    /// Parses a comma-separated list of sources; subqueries only where `subqueries`.
    pub(super) fn parse_sources(&mut self, subqueries: bool) -> Result<Vec<Source>, ParseError> {
        let mut sources = Vec::new();
        loop {
            sources.push(self.parse_source(subqueries)?);
            if self.scan_ignore_whitespace().kind != TokenKind::Comma {
                self.unscan();
                return Ok(sources);
            }
        }
    }

    /// Parses one source: a regex, a subquery, or dotted names with an optional regex.
    pub(super) fn parse_source(&mut self, subqueries: bool) -> Result<Source, ParseError> {
        if let Some(pattern) = self.parse_regex()? {
            return Ok(Source::Measurement(Measurement {
                regex: Some(pattern),
                ..Measurement::default()
            }));
        }
        if subqueries {
            let token = self.scan_ignore_whitespace();
            if token.kind == TokenKind::LParen {
                self.parse_tokens(&[TokenKind::Keyword(Keyword::Select)])?;
                self.enter_nesting(token.pos, SUBQUERY_NESTING_COST)?;
                let statement = self.parse_select(TargetRequirement::Optional);
                self.leave_nesting(SUBQUERY_NESTING_COST);
                let statement = statement?;
                self.parse_tokens(&[TokenKind::RParen])?;
                return Ok(Source::Subquery(Box::new(statement)));
            }
            self.unscan();
        }
        let idents = self.parse_segmented_idents()?;
        let mut measurement = Measurement::default();
        let mut idents = idents.into_iter();
        let (first, second, third) = (idents.next(), idents.next(), idents.next());
        if let (Some(database), Some(rp), Some(name)) = (&first, &second, &third) {
            measurement.database = database.clone();
            measurement.retention_policy = rp.clone();
            measurement.name = name.clone();
            return Ok(Source::Measurement(measurement));
        }
        let regex = self.parse_regex()?;
        let has_regex = regex.is_some();
        measurement.regex = regex;
        match (first, second, has_regex) {
            (Some(rp), None, true) => measurement.retention_policy = rp,
            (Some(name), None, false) => measurement.name = name,
            (Some(database), Some(rp), true) => {
                measurement.database = database;
                measurement.retention_policy = rp;
            }
            (Some(rp), Some(name), false) => {
                measurement.retention_policy = rp;
                measurement.name = name;
            }
            _ => return Err(ParseError::bare("BUG: segmented identifiers out of range")),
        }
        Ok(Source::Measurement(measurement))
    }

    /// Parses `WHERE expr` if present.
    pub(super) fn parse_condition(&mut self) -> Result<Option<Expr>, ParseError> {
        if !self.accept_keyword(Keyword::Where) {
            return Ok(None);
        }
        self.parse_expr().map(Some)
    }

    /// Parses `GROUP BY dimension, ...` if present.
    pub(super) fn parse_dimensions(&mut self) -> Result<Vec<Expr>, ParseError> {
        if !self.accept_keyword(Keyword::Group) {
            return Ok(Vec::new());
        }
        let by = self.scan_ignore_whitespace();
        if by.kind != TokenKind::Keyword(Keyword::By) {
            return Err(ParseError::unexpected(&by, &["BY"]));
        }
        let mut dimensions = Vec::new();
        loop {
            let dimension = match self.parse_regex()? {
                Some(pattern) => Expr::Literal(Literal::Regex(pattern)),
                None => {
                    let expr = self.parse_expr()?;
                    self.consume_whitespace();
                    expr
                }
            };
            dimensions.push(dimension);
            if self.scan().kind != TokenKind::Comma {
                self.unscan();
                return Ok(dimensions);
            }
        }
    }

    /// Whether the next token is the identifier `word` (any case), without consuming it.
    fn next_is_ident_word(&mut self, word: &str) -> bool {
        let token = self.scan_ignore_whitespace();
        self.unscan();
        token.kind == TokenKind::Ident && token.literal.eq_ignore_ascii_case(word)
    }

    fn parse_fill(&mut self) -> Result<Fill, ParseError> {
        if !self.next_is_ident_word("fill") {
            return Ok(Fill::Null);
        }
        let Expr::Call(call) = self.parse_expr()? else {
            return Err(ParseError::bare("fill must be a function call"));
        };
        let [arg] = call.args.as_slice() else {
            return Err(ParseError::bare(
                "fill requires an argument, e.g.: 0, null, none, previous, linear",
            ));
        };
        // InfluxDB compares the argument's printed form.
        match arg.to_string().as_str() {
            "null" => return Ok(Fill::Null),
            "none" => return Ok(Fill::None),
            "previous" => return Ok(Fill::Previous),
            "linear" => return Ok(Fill::Linear),
            _ => {}
        }
        match arg {
            Expr::Literal(Literal::Integer(value)) => Ok(Fill::Integer(*value)),
            Expr::Literal(Literal::Number(value)) => Ok(Fill::Number(*value)),
            _ => Err(ParseError::bare("expected number argument in fill()")),
        }
    }

    /// Parses `ORDER BY ...` if present. InfluxDB 1.x accepts only `time` (or a bare
    /// `ASC`/`DESC`), and only one term.
    pub(super) fn parse_order_by(&mut self) -> Result<Vec<SortField>, ParseError> {
        if !self.accept_keyword(Keyword::Order) {
            return Ok(Vec::new());
        }
        let by = self.scan_ignore_whitespace();
        if by.kind != TokenKind::Keyword(Keyword::By) {
            return Err(ParseError::unexpected(&by, &["BY"]));
        }
        let only_time = || ParseError::bare("only ORDER BY time supported at this time");
        let mut fields = Vec::new();
        let token = self.scan_ignore_whitespace();
        match token.kind {
            TokenKind::Keyword(Keyword::Asc) | TokenKind::Keyword(Keyword::Desc) => {
                fields.push(SortField {
                    name: None,
                    ascending: token.kind == TokenKind::Keyword(Keyword::Asc),
                });
            }
            TokenKind::Ident => {
                self.unscan();
                let field = self.parse_sort_field()?;
                if token.literal != "time" {
                    return Err(only_time());
                }
                fields.push(field);
            }
            _ => {
                return Err(ParseError::unexpected(
                    &token,
                    &["identifier", "ASC", "DESC"],
                ))
            }
        }
        loop {
            if self.scan_ignore_whitespace().kind != TokenKind::Comma {
                self.unscan();
                break;
            }
            fields.push(self.parse_sort_field()?);
        }
        if fields.len() > 1 {
            return Err(only_time());
        }
        Ok(fields)
    }

    fn parse_sort_field(&mut self) -> Result<SortField, ParseError> {
        let name = self.parse_ident()?;
        let token = self.scan_ignore_whitespace();
        let ascending = match token.kind {
            TokenKind::Keyword(Keyword::Asc) => true,
            TokenKind::Keyword(Keyword::Desc) => false,
            _ => {
                self.unscan();
                true
            }
        };
        Ok(SortField {
            name: Some(name),
            ascending,
        })
    }

    fn parse_location(&mut self) -> Result<Option<String>, ParseError> {
        if !self.next_is_ident_word("tz") {
            return Ok(None);
        }
        let Expr::Call(call) = self.parse_expr()? else {
            return Err(ParseError::bare("tz must be a function call"));
        };
        let [arg] = call.args.as_slice() else {
            return Err(ParseError::bare("tz requires exactly one argument"));
        };
        let Expr::Literal(Literal::String(name)) = arg else {
            return Err(ParseError::bare("expected string argument in tz()"));
        };
        if !timezone::is_loadable(name) {
            return Err(ParseError::bare(format!("unable to find time zone {name}")));
        }
        Ok(Some(name.clone()))
    }
}

/// The operator InfluxDB reports for a comparison or logical operation in a SELECT field:
/// it walks the tree parents first, does not look inside an offending node, and keeps the
/// last one it found.
fn last_boolean_operator(expr: &Expr) -> Option<BinaryOp> {
    match expr {
        Expr::Binary(binary) if binary.op.is_boolean() => Some(binary.op),
        Expr::Binary(binary) => {
            last_boolean_operator(&binary.rhs).or_else(|| last_boolean_operator(&binary.lhs))
        }
        Expr::Call(call) => call.args.iter().rev().find_map(last_boolean_operator),
        Expr::Paren(inner) => last_boolean_operator(inner),
        Expr::Literal(_) | Expr::VarRef(_) | Expr::Distinct(_) | Expr::Wildcard(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::parser::{MAX_EXPRESSION_HEIGHT, SUBQUERY_NESTING_COST};

    /// The default stack of a spawned thread, which query threads use.
    const TEST_STACK_BYTES: usize = 2 * 1024 * 1024;
    use crate::{parse_query, MAX_NESTING_DEPTH};

    /// Deep input of each recursive shape is an error, not a stack overflow.
    #[test]
    fn deep_nesting_of_every_kind_is_an_error() {
        let deep = 100_000;
        for text in [
            format!("SELECT {}", "(".repeat(deep)),
            format!("SELECT {}", "-(".repeat(deep)),
            format!("SELECT {}", "mean(".repeat(deep)),
            "SELECT * FROM (".repeat(deep),
            format!("SELECT * FROM m WHERE {}", "(a = 1 OR ".repeat(deep)),
        ] {
            let error = parse_query(&text).expect_err("must fail").to_string();
            assert!(
                error.starts_with("expression nested deeper than"),
                "{error}"
            );
        }
    }

    /// Long operator chains stop at the height limit; what parses can be printed,
    /// compared, cloned and dropped on a 2 MiB stack.
    #[test]
    fn long_operator_chains_are_bounded() {
        let ok_terms = MAX_EXPRESSION_HEIGHT - 8;
        let too_many_terms = MAX_EXPRESSION_HEIGHT + 1;
        let worker = std::thread::Builder::new()
            .stack_size(TEST_STACK_BYTES)
            .spawn(move || {
                let chain = |terms: usize| vec!["h = 'x'"; terms].join(" OR ");
                let text = format!("SELECT a FROM m WHERE ({})", chain(ok_terms));
                let query = parse_query(&text).expect("parses");
                let again = parse_query(&query.to_string()).expect("reparses");
                assert_eq!(again, query.clone());
                let text = format!("SELECT a FROM m WHERE {}", chain(too_many_terms));
                let error = parse_query(&text).expect_err("too tall").to_string();
                assert!(error.starts_with("expression has more than"), "{error}");
            })
            .expect("spawn");
        assert!(worker.join().is_ok());
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        let depth = MAX_NESTING_DEPTH - 1;
        let text = format!("SELECT {}a{} FROM m", "(".repeat(depth), ")".repeat(depth));
        assert!(parse_query(&text).is_ok());
    }

    #[test]
    fn subqueries_nest_up_to_their_limit() {
        let depth = MAX_NESTING_DEPTH / SUBQUERY_NESTING_COST - 1;
        let text = format!(
            "SELECT * FROM {}m{}",
            "(SELECT * FROM ".repeat(depth),
            ")".repeat(depth)
        );
        assert!(parse_query(&text).is_ok());
    }
}
