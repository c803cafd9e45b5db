//! Small administrative statements: DROP MEASUREMENT, DROP SHARD, KILL QUERY,
//! SHOW STATS, SHOW DIAGNOSTICS.
//!
//! ```text
//! DROP MEASUREMENT name
//! DROP SHARD id
//! KILL QUERY id [ON host]
//! SHOW STATS [FOR 'module']
//! SHOW DIAGNOSTICS [FOR 'module']
//! ```
//!
//! (SHOW QUERIES, SHOW SHARDS, SHOW SHARD GROUPS, SHOW USERS, SHOW SUBSCRIPTIONS and SHOW
//! CONTINUOUS QUERIES take nothing after their keywords and are built in the keyword tree.)

use super::ast::{
    DropMeasurementStatement, DropShardStatement, KillQueryStatement, ShowModuleStatement,
    Statement,
};
use super::lexer::Keyword;
use super::parser::{ParseError, Parser};

impl Parser<'_> {
    /// Parses the rest of `DROP MEASUREMENT`.
    pub(super) fn parse_drop_measurement(&mut self) -> Result<Statement, ParseError> {
        let name = self.parse_ident()?;
        Ok(Statement::DropMeasurement(DropMeasurementStatement {
            name,
        }))
    }

    /// Parses the rest of `DROP SHARD`.
    pub(super) fn parse_drop_shard(&mut self) -> Result<Statement, ParseError> {
        let id = self.parse_uint64()?;
        Ok(Statement::DropShard(DropShardStatement { id }))
    }

    /// Parses the rest of `KILL QUERY`.
    pub(super) fn parse_kill_query(&mut self) -> Result<Statement, ParseError> {
        let query_id = self.parse_uint64()?;
        let host = self.parse_optional_on()?;
        Ok(Statement::KillQuery(KillQueryStatement { query_id, host }))
    }

    fn parse_show_module(&mut self) -> Result<ShowModuleStatement, ParseError> {
        let mut module = None;
        if self.accept_keyword(Keyword::For) {
            module = Some(self.parse_string()?);
        }
        Ok(ShowModuleStatement { module })
    }

    /// Parses the rest of `SHOW STATS`.
    pub(super) fn parse_show_stats(&mut self) -> Result<Statement, ParseError> {
        self.parse_show_module().map(Statement::ShowStats)
    }

    /// Parses the rest of `SHOW DIAGNOSTICS`.
    pub(super) fn parse_show_diagnostics(&mut self) -> Result<Statement, ParseError> {
        self.parse_show_module().map(Statement::ShowDiagnostics)
    }
}
