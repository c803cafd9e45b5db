//! InfluxQL: the query language of InfluxDB 1.x, parsed exactly as InfluxDB 1.6.7 does.
//!
//! Owns the lexer ([`lexer`]), the syntax tree ([`ast`]) and the recursive-descent parser
//! ([`parser`] plus one file per statement kind). It does not execute anything and knows
//! nothing of HTTP: the HTTP layer renders a [`ParseError`] as
//! `{"error":"error parsing query: <ParseError as Display>"}`.
//!
//! The whole InfluxQL 1.6.7 grammar is parsed: every statement kind has its own file
//! (`select.rs`, `show_tag_values.rs`, ...), expressions live in [`expr`] (tree) and
//! `expression.rs` (grammar). Regex literals are checked with Go's RE2 rules
//! (`regex_syntax.rs`) and `tz()` names against the system zone files (`timezone.rs`),
//! because InfluxDB rejects bad ones at parse time.
//!
//! Invariants: parsing never panics on any input; errors carry InfluxDB's message and
//! 1-based line and character position; `parse_query(&query.to_string())` equals `query`
//! for every query the parser returns.
//!
//! Test data: `tests/influxql/parse_errors.txt` holds cases recorded from influxd 1.6.7;
//! `corpus_tests` below runs it.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod admin;
pub mod ast;
mod continuous_query;
mod create_database;
mod delete;
mod drop_database;
mod explain;
pub mod expr;
mod expression;
pub mod lexer;
pub mod parser;
mod privileges;
mod regex_syntax;
mod retention_policy;
mod select;
mod show_cardinality;
mod show_databases;
mod show_field_keys;
mod show_measurements;
mod show_series;
mod show_tag_keys;
mod show_tag_values;
mod subscription;
mod timezone;
mod users;

pub use ast::*;
pub use parser::{ErrorPosition, ParseError, Parser, MAX_EXPRESSION_HEIGHT, MAX_NESTING_DEPTH};

/// Parses a whole InfluxQL query (statements separated by `;`).
pub fn parse_query(text: &str) -> Result<Query, ParseError> {
    Parser::new(text).parse_query()
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod roundtrip_tests;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
