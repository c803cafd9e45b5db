//! Subscription statements: CREATE and DROP.
//!
//! ```text
//! CREATE SUBSCRIPTION name ON db.rp DESTINATIONS (ALL | ANY) 'url' ("," 'url')*
//! DROP SUBSCRIPTION name ON db.rp
//! ```
//!
//! The `.` between database and retention policy must follow the database directly.

use super::ast::{CreateSubscriptionStatement, DropSubscriptionStatement, Statement};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses `name ON db.rp`.
    fn parse_subscription_target(&mut self) -> Result<(String, String, String), ParseError> {
        let name = self.parse_ident()?;
        let database = self.parse_on_database()?;
        let dot = self.scan();
        if dot.kind != TokenKind::Dot {
            return Err(ParseError::unexpected(&dot, &["."]));
        }
        let retention_policy = self.parse_ident()?;
        Ok((name, database, retention_policy))
    }

    /// Parses the rest of `CREATE SUBSCRIPTION`.
    pub(super) fn parse_create_subscription(&mut self) -> Result<Statement, ParseError> {
        let (name, database, retention_policy) = self.parse_subscription_target()?;
        let destinations_keyword = self.scan_ignore_whitespace();
        if destinations_keyword.kind != TokenKind::Keyword(Keyword::Destinations) {
            return Err(ParseError::unexpected(
                &destinations_keyword,
                &["DESTINATIONS"],
            ));
        }
        let mode = self.scan_ignore_whitespace();
        let mode_all = match mode.kind {
            TokenKind::Keyword(Keyword::All) => true,
            TokenKind::Keyword(Keyword::Any) => false,
            _ => return Err(ParseError::unexpected(&mode, &["ALL", "ANY"])),
        };
        let mut destinations = vec![self.parse_string()?];
        loop {
            if self.scan_ignore_whitespace().kind != TokenKind::Comma {
                self.unscan();
                break;
            }
            destinations.push(self.parse_string()?);
        }
        Ok(Statement::CreateSubscription(CreateSubscriptionStatement {
            name,
            database,
            retention_policy,
            mode_all,
            destinations,
        }))
    }

    /// Parses the rest of `DROP SUBSCRIPTION`.
    pub(super) fn parse_drop_subscription(&mut self) -> Result<Statement, ParseError> {
        let (name, database, retention_policy) = self.parse_subscription_target()?;
        Ok(Statement::DropSubscription(DropSubscriptionStatement {
            name,
            database,
            retention_policy,
        }))
    }
}
