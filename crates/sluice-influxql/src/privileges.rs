//! GRANT and REVOKE statement grammar.
//!
//! ```text
//! GRANT (READ | WRITE | ALL [PRIVILEGES]) ON db TO user
//! GRANT ALL [PRIVILEGES] TO user                        (admin)
//! REVOKE (READ | WRITE | ALL [PRIVILEGES]) ON db FROM user
//! REVOKE ALL [PRIVILEGES] FROM user                     (admin)
//! ```

use super::ast::{GrantStatement, Privilege, RevokeStatement, Statement};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    fn parse_privilege(&mut self) -> Result<Privilege, ParseError> {
        let token = self.scan_ignore_whitespace();
        match token.kind {
            TokenKind::Keyword(Keyword::Read) => Ok(Privilege::Read),
            TokenKind::Keyword(Keyword::Write) => Ok(Privilege::Write),
            TokenKind::Keyword(Keyword::All) => {
                self.accept_keyword(Keyword::Privileges);
                Ok(Privilege::All)
            }
            _ => Err(ParseError::unexpected(
                &token,
                &["READ", "WRITE", "ALL [PRIVILEGES]"],
            )),
        }
    }

    /// Parses `privilege (ON db <to_keyword> | <to_keyword>) user`, returning the
    /// privilege, the database (None for the admin form) and the user.
    fn parse_privilege_target(
        &mut self,
        to_keyword: Keyword,
    ) -> Result<(Privilege, Option<String>, String), ParseError> {
        let privilege = self.parse_privilege()?;
        let token = self.scan_ignore_whitespace();
        if token.kind == TokenKind::Keyword(Keyword::On) {
            let database = self.parse_ident()?;
            let to = self.scan_ignore_whitespace();
            if to.kind != TokenKind::Keyword(to_keyword) {
                return Err(ParseError::unexpected(&to, &[to_keyword.as_str()]));
            }
            let user = self.parse_ident()?;
            return Ok((privilege, Some(database), user));
        }
        if token.kind == TokenKind::Keyword(to_keyword) {
            if privilege != Privilege::All {
                return Err(ParseError::unexpected(&token, &["ON"]));
            }
            let user = self.parse_ident()?;
            return Ok((privilege, None, user));
        }
        if privilege == Privilege::All {
            return Err(ParseError::unexpected(&token, &["ON", to_keyword.as_str()]));
        }
        Err(ParseError::unexpected(&token, &["ON"]))
    }

    /// Parses the rest of `GRANT`.
    pub(super) fn parse_grant(&mut self) -> Result<Statement, ParseError> {
        let (privilege, database, user) = self.parse_privilege_target(Keyword::To)?;
        Ok(Statement::Grant(GrantStatement {
            privilege,
            database,
            user,
        }))
    }

    /// Parses the rest of `REVOKE`.
    pub(super) fn parse_revoke(&mut self) -> Result<Statement, ParseError> {
        let (privilege, database, user) = self.parse_privilege_target(Keyword::From)?;
        Ok(Statement::Revoke(RevokeStatement {
            privilege,
            database,
            user,
        }))
    }
}
