//! InfluxQL: the query language of InfluxDB 1.x, parsed exactly as InfluxDB 1.6.7 does.
//!
//! Owns the lexer ([`lexer`]), the syntax tree ([`ast`]) and the recursive-descent parser
//! ([`parser`] plus one file per statement kind). It does not execute anything and knows
//! nothing of HTTP: the HTTP layer renders a [`ParseError`] as
//! `{"error":"error parsing query: <ParseError as Display>"}`.
//!
//! Today the parser fully implements `CREATE DATABASE`, `DROP DATABASE` and
//! `SHOW DATABASES`. Every other InfluxQL statement is recognised by its leading keywords
//! (with InfluxDB's exact errors for wrong keywords) and returned as
//! [`Statement::Unsupported`] with its raw text, so the executor can answer "not
//! implemented" instead of a false syntax error.
//!
//! Invariants: parsing never panics on any input; errors carry InfluxDB's message and
//! 1-based line and character position; `parse_query(&query.to_string())` equals `query`
//! for every query the parser returns.
//!
//! Test data: `tests/influxql/parse_errors.txt` holds cases recorded from influxd 1.6.7;
//! `corpus_tests` below runs it.

pub mod ast;
mod create_database;
mod drop_database;
pub mod lexer;
pub mod parser;
mod show_databases;

pub use ast::{
    ident_needs_quotes, quote_ident, CreateDatabaseStatement, DropDatabaseStatement, Query,
    ShowDatabasesStatement, Statement,
};
pub use parser::{ParseError, Parser, MAX_NESTING_DEPTH};

/// Parses a whole InfluxQL query (statements separated by `;`).
pub fn parse_query(text: &str) -> Result<Query, ParseError> {
    Parser::new(text).parse_query()
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod roundtrip_tests;
