//! User statements: CREATE USER, DROP USER, SET PASSWORD, SHOW GRANTS.
//!
//! ```text
//! CREATE USER name WITH PASSWORD 'password' [WITH ALL PRIVILEGES]
//! DROP USER name
//! SET PASSWORD FOR name = 'password'
//! SHOW GRANTS FOR name
//! ```
//!
//! The tree walk has consumed the leading keywords (including `FOR` where it is part of
//! them).

use super::ast::{
    CreateUserStatement, DropUserStatement, SetPasswordStatement, ShowGrantsStatement, Statement,
};
use super::lexer::{Keyword, TokenKind};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `CREATE USER`.
    pub(super) fn parse_create_user(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        self.parse_tokens(&[
            TokenKind::Keyword(Keyword::With),
            TokenKind::Keyword(Keyword::Password),
        ])?;
        let password = self.parse_string()?;
        let mut admin = false;
        if self.accept_keyword(Keyword::With) {
            self.parse_tokens(&[
                TokenKind::Keyword(Keyword::All),
                TokenKind::Keyword(Keyword::Privileges),
            ])?;
            admin = true;
        }
        Ok(Statement::CreateUser(CreateUserStatement {
            name,
            password,
            admin,
        }))
    }

    /// Parses the rest of `DROP USER`.
    pub(super) fn parse_drop_user(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        Ok(Statement::DropUser(DropUserStatement { name }))
    }

    /// Parses the rest of `SET PASSWORD FOR`.
    pub(super) fn parse_set_password(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        let equals = self.scan_ignore_whitespace();
        if equals.kind != TokenKind::Eq {
            return Err(ParseError::unexpected(&equals, &["="]));
        }
        let password = self.parse_string()?;
        Ok(Statement::SetPassword(SetPasswordStatement {
            name,
            password,
        }))
    }

    /// Parses the rest of `SHOW GRANTS FOR`.
    pub(super) fn parse_show_grants(&mut self) -> Result<Statement, ParseError> {
        let user = self.parse_ident()?;
        Ok(Statement::ShowGrants(ShowGrantsStatement { user }))
    }
}
