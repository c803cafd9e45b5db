//! `DROP DATABASE` statement grammar.
//!
//! ```text
//! DROP DATABASE name
//! ```
//!
//! InfluxDB 1.x has no `IF EXISTS` (dropping a missing database is not an error). The tree
//! walk in `parser.rs` has already consumed `DROP DATABASE`.

use super::ast::{DropDatabaseStatement, Statement};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `DROP DATABASE` after the two keywords.
    pub(super) fn parse_drop_database(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        Ok(Statement::DropDatabase(DropDatabaseStatement { name }))
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_query, DropDatabaseStatement, Query, Statement};

    #[test]
    fn quoted_keyword_name() {
        let want = Query {
            statements: vec![Statement::DropDatabase(DropDatabaseStatement {
                name: "select".to_string(),
            })],
        };
        assert_eq!(parse_query("DROP DATABASE \"select\""), Ok(want));
    }

    #[test]
    fn if_exists_is_not_1x_syntax() {
        let error = parse_query("DROP DATABASE IF EXISTS x").map_err(|error| error.to_string());
        assert_eq!(
            error,
            Err("found EXISTS, expected ; at line 1, char 18".to_string())
        );
    }
}
