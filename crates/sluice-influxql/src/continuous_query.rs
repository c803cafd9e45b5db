//! Continuous query statements: CREATE and DROP.
//!
//! ```text
//! CREATE CONTINUOUS QUERY name ON db [RESAMPLE [EVERY d] [FOR d]] BEGIN select END
//! DROP CONTINUOUS QUERY name ON db
//! ```
//!
//! The SELECT must have an INTO clause; an aggregate one must group by a non-zero
//! `time()` interval (the error points at the token before the one after the SELECT, as
//! InfluxDB's does); `RESAMPLE FOR` must cover the interval.

use super::ast::{CreateContinuousQueryStatement, DropContinuousQueryStatement, Statement};
use super::lexer::{Keyword, TokenKind};
use super::parser::{format_duration_ns, parse_duration_literal_ns, ParseError, Parser};
use super::select::TargetRequirement;

impl Parser<'_> {
    /// Parses the rest of `CREATE CONTINUOUS QUERY`.
    pub(super) fn parse_create_continuous_query(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        let database = self.parse_on_database()?;
        let (mut resample_every_ns, mut resample_for_ns) = (0, 0);
        if self.accept_keyword(Keyword::Resample) {
            (resample_every_ns, resample_for_ns) = self.parse_resample()?;
        }
        self.parse_tokens(&[
            TokenKind::Keyword(Keyword::Begin),
            TokenKind::Keyword(Keyword::Select),
        ])?;
        let source = self.parse_select(TargetRequirement::Required)?;
        let interval = source.group_by_interval_ns();
        if !source.is_raw_query() && interval.map_or(true, |interval_ns| interval_ns == 0) {
            self.unscan_if_possible();
            self.unscan_if_possible();
            let token = self.scan_ignore_whitespace();
            let mut expected = vec!["GROUP BY time(...)"];
            if let Err(message) = interval {
                expected.push(message);
            }
            return Err(ParseError::unexpected(&token, &expected));
        }
        let end = self.scan_ignore_whitespace();
        if end.kind != TokenKind::Keyword(Keyword::End) {
            return Err(ParseError::unexpected(&end, &["END"]));
        }
        let interval_ns = interval.map_err(ParseError::bare)?;
        if resample_for_ns != 0 {
            let covered_ns = interval_ns.max(resample_every_ns);
            if covered_ns > resample_for_ns {
                return Err(ParseError::bare(format!(
                    "FOR duration must be >= GROUP BY time duration: must be a minimum of {}, \
                     got {}",
                    format_duration_ns(covered_ns),
                    format_duration_ns(resample_for_ns)
                )));
            }
        }
        Ok(Statement::CreateContinuousQuery(
            CreateContinuousQueryStatement {
                name,
                database,
                resample_every_ns,
                resample_for_ns,
                source: Box::new(source),
            },
        ))
    }

    /// Parses `[EVERY d] [FOR d]` after RESAMPLE; at least one must be non-zero.
    fn parse_resample(&mut self) -> Result<(i64, i64), ParseError> {
        let mut every_ns = 0;
        if self.accept_keyword(Keyword::Every) {
            every_ns = self.parse_duration_value()?;
        }
        let mut for_ns = 0;
        if self.accept_keyword(Keyword::For) {
            for_ns = self.parse_duration_value()?;
        }
        if every_ns == 0 && for_ns == 0 {
            let token = self.scan_ignore_whitespace();
            return Err(ParseError::unexpected(&token, &["EVERY", "FOR"]));
        }
        Ok((every_ns, for_ns))
    }

    /// A duration literal (no `INF`).
    fn parse_duration_value(&mut self) -> Result<i64, ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::Duration {
            return Err(ParseError::unexpected(&token, &["duration"]));
        }
        parse_duration_literal_ns(&token.literal)
            .map_err(|message| ParseError::new(message, token.pos))
    }

    /// Parses the rest of `DROP CONTINUOUS QUERY`.
    pub(super) fn parse_drop_continuous_query(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        let database = self.parse_on_database()?;
        Ok(Statement::DropContinuousQuery(
            DropContinuousQueryStatement { name, database },
        ))
    }
}
