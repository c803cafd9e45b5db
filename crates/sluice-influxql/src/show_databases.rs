//! `SHOW DATABASES` statement grammar.
//!
//! ```text
//! SHOW DATABASES
//! ```
//!
//! Nothing follows the two keywords, which the tree walk in `parser.rs` has consumed.

use super::ast::{ShowDatabasesStatement, Statement};
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the (empty) rest of `SHOW DATABASES`.
    pub(super) fn parse_show_databases(&mut self) -> Result<Statement, ParseError> {
        Ok(Statement::ShowDatabases(ShowDatabasesStatement))
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_query, ShowDatabasesStatement, Statement};

    #[test]
    fn several_with_empty_statements() {
        let query = parse_query(";show databases;; SHOW DATABASES;").map(|query| query.statements);
        let show = Statement::ShowDatabases(ShowDatabasesStatement);
        assert_eq!(query, Ok(vec![show.clone(), show]));
    }
}
