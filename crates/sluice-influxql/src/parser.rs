//! InfluxQL recursive-descent parser core: token stream, shared helpers, statement dispatch.
//!
//! Owns the query-level grammar (statements separated by `;`), the statement keyword tree
//! and the helpers every statement parser uses (identifiers, durations, integers). Each
//! statement kind's grammar lives in its own file (`create_database.rs`, ...), as an
//! `impl Parser` block.
//!
//! # Algorithm
//!
//! The parser pulls tokens from the [`Scanner`] through a 3-token ring so it can step back
//! ("unscan") after looking ahead. Whitespace and comments are skipped by
//! [`Parser::scan_ignore_whitespace`].
//!
//! A query is `statement (';' statement)*` where empty statements are allowed: any number
//! of `;` may appear between, before or after statements, and two statements without a `;`
//! between them are an error (`found X, expected ;`).
//!
//! A statement starts with a keyword path walked through `STATEMENT_TREE`: at each level
//! the next keyword picks a branch; any other token is the error
//! `found X, expected A, B, C` listing that level's keywords in InfluxDB 1.6.7's order. A
//! leaf parses the rest of its statement.
//!
//! Regexes: `/` is division to the scanner, so grammar positions that take a regex call
//! [`Parser::parse_regex`], which peeks at the next *character* below the token history
//! (as InfluxDB does: after a stepped-back token the peek sees past it, and the regex
//! scan then returns the stepped-back token, which is how `FROM m /re/` fails), and at
//! the end of input the peek consumes the end, moving the EOF position one column on.
//! These quirks are kept because error positions depend on them.
//!
//! Recursion (parentheses, calls, subqueries) is bounded by [`MAX_NESTING_DEPTH`], and
//! the height of expression trees (nesting plus operator chains) by
//! [`MAX_EXPRESSION_HEIGHT`]: deep input is a parse error, never a stack overflow.

use std::fmt;

use super::ast::{ident_needs_quotes, CardinalityTarget, Query, Statement};
use super::lexer::{Keyword, Pos, Scanner, Token, TokenKind};
use super::regex_syntax;

/// Deepest nesting of parentheses, calls and subqueries a statement may have; deeper
/// input is a parse error, not a stack overflow. Sized so an unoptimised build parses the
/// deepest allowed input on a 2 MiB thread stack.
pub const MAX_NESTING_DEPTH: usize = 256;

/// Tallest expression tree a statement may build: nesting levels plus chained binary
/// operators (`a OR b OR ...` grows one level per `OR`; operators that bind tighter than
/// the one before them do not deepen the chain). Trees are dropped, compared
/// and printed recursively, so their height is bounded like the parser's recursion:
/// an unoptimised build handles this height on a 2 MiB thread stack. (InfluxDB has no
/// such limit; an OR chain of more than about 1000 terms is refused here.) Deepest recursion, with
/// the precedence classes a right spine can add, stays below this plus 8.
pub const MAX_EXPRESSION_HEIGHT: usize = 1024;

/// Nesting levels one subquery counts for: a subquery level takes several times the
/// stack of a parenthesis level.
pub const SUBQUERY_NESTING_COST: usize = 8;

/// Nesting levels one expression level counts for.
pub const EXPRESSION_NESTING_COST: usize = 1;

/// Number of tokens the parser can step back over.
const TOKEN_HISTORY_LEN: usize = 3;

/// Smallest and largest replication factor (InfluxDB bounds it by a 32-bit signed int).
pub const REPLICATION_MIN: i64 = 1;
/// Largest replication factor.
pub const REPLICATION_MAX: i64 = i32::MAX as i64;

/// A syntax error: a message and, usually, the 1-based line and character where it was
/// found. A few of InfluxDB's parser errors carry no position; they print bare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong, e.g. `found EOF, expected identifier`.
    pub message: String,
    /// 1-based line and character, when the error has a position.
    pub position: Option<ErrorPosition>,
}

/// Where a parse error was found, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorPosition {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub char: usize,
}

impl ParseError {
    /// An error with a free-form message at a 0-based position.
    pub fn new(message: impl Into<String>, pos: Pos) -> Self {
        ParseError {
            message: message.into(),
            position: Some(ErrorPosition {
                line: pos.line + 1,
                char: pos.char + 1,
            }),
        }
    }

    /// An error printed without a position (InfluxDB reports some errors so).
    pub fn bare(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            position: None,
        }
    }

    /// The usual `found X, expected A, B` error for an unexpected token.
    pub fn unexpected(token: &Token, expected: &[&str]) -> Self {
        let message = format!(
            "found {}, expected {}",
            token.found_text(),
            expected.join(", ")
        );
        ParseError::new(message, token.pos)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(position) = self.position {
            write!(f, " at line {}, char {}", position.line, position.char)?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// A statement-tree leaf parser.
type StatementParser = fn(&mut Parser<'_>) -> Result<Statement, ParseError>;

/// One node of the statement keyword tree.
#[derive(Clone, Copy)]
enum Node {
    /// The keywords so far name a statement; this parses the rest.
    Parse(StatementParser),
    /// More keywords must follow; listed in the order InfluxDB reports them.
    Group(&'static [(Keyword, Node)]),
}

use Keyword as K;
use Node::{Group, Parse};

/// The statement keyword tree of InfluxDB 1.6.7, in its error-message order.
const STATEMENT_TREE: &[(Keyword, Node)] = &[
    (
        K::Select,
        Parse(|parser| parser.parse_select_statement_leaf()),
    ),
    (K::Delete, Parse(|parser| parser.parse_delete())),
    (K::Show, Group(SHOW_TREE)),
    (K::Create, Group(CREATE_TREE)),
    (K::Drop, Group(DROP_TREE)),
    (K::Explain, Parse(|parser| parser.parse_explain())),
    (K::Grant, Parse(|parser| parser.parse_grant())),
    (K::Revoke, Parse(|parser| parser.parse_revoke())),
    (
        K::Alter,
        Group(&[(
            K::Retention,
            Group(&[(
                K::Policy,
                Parse(|parser| parser.parse_alter_retention_policy()),
            )]),
        )]),
    ),
    (
        K::Set,
        Group(&[(
            K::Password,
            Group(&[(K::For, Parse(|parser| parser.parse_set_password()))]),
        )]),
    ),
    (
        K::Kill,
        Group(&[(K::Query, Parse(|parser| parser.parse_kill_query()))]),
    ),
];

const SHOW_TREE: &[(Keyword, Node)] = &[
    (
        K::Continuous,
        Group(&[(K::Queries, Parse(|_| Ok(Statement::ShowContinuousQueries)))]),
    ),
    (K::Databases, Parse(|parser| parser.parse_show_databases())),
    (
        K::Diagnostics,
        Parse(|parser| parser.parse_show_diagnostics()),
    ),
    (
        K::Field,
        Group(&[
            (K::Key, Group(FIELD_KEY_CARDINALITY_TREE)),
            (K::Keys, Parse(|parser| parser.parse_show_field_keys())),
        ]),
    ),
    (
        K::Grants,
        Group(&[(K::For, Parse(|parser| parser.parse_show_grants()))]),
    ),
    (K::Measurement, Group(MEASUREMENT_CARDINALITY_TREE)),
    (
        K::Measurements,
        Parse(|parser| parser.parse_show_measurements()),
    ),
    (K::Queries, Parse(|_| Ok(Statement::ShowQueries))),
    (
        K::Retention,
        Group(&[(
            K::Policies,
            Parse(|parser| parser.parse_show_retention_policies()),
        )]),
    ),
    (K::Series, Parse(|parser| parser.parse_show_series())),
    (
        K::Shard,
        Group(&[(K::Groups, Parse(|_| Ok(Statement::ShowShardGroups)))]),
    ),
    (K::Shards, Parse(|_| Ok(Statement::ShowShards))),
    (K::Stats, Parse(|parser| parser.parse_show_stats())),
    (
        K::Subscriptions,
        Parse(|_| Ok(Statement::ShowSubscriptions)),
    ),
    (
        K::Tag,
        Group(&[
            (K::Key, Group(TAG_KEY_CARDINALITY_TREE)),
            (K::Keys, Parse(|parser| parser.parse_show_tag_keys())),
            (K::Values, Parse(|parser| parser.parse_show_tag_values())),
        ]),
    ),
    (K::Users, Parse(|_| Ok(Statement::ShowUsers))),
];

const MEASUREMENT_CARDINALITY_TREE: &[(Keyword, Node)] = &[
    (
        K::Exact,
        Group(&[(
            K::Cardinality,
            Parse(|parser| parser.parse_show_cardinality(CardinalityTarget::Measurement, true)),
        )]),
    ),
    (
        K::Cardinality,
        Parse(|parser| parser.parse_show_cardinality(CardinalityTarget::Measurement, false)),
    ),
];

const TAG_KEY_CARDINALITY_TREE: &[(Keyword, Node)] = &[
    (
        K::Exact,
        Group(&[(
            K::Cardinality,
            Parse(|parser| parser.parse_show_cardinality(CardinalityTarget::TagKey, true)),
        )]),
    ),
    (
        K::Cardinality,
        Parse(|parser| parser.parse_show_cardinality(CardinalityTarget::TagKey, false)),
    ),
];

const FIELD_KEY_CARDINALITY_TREE: &[(Keyword, Node)] = &[
    (
        K::Exact,
        Group(&[(
            K::Cardinality,
            Parse(|parser| parser.parse_show_cardinality(CardinalityTarget::FieldKey, true)),
        )]),
    ),
    (
        K::Cardinality,
        Parse(|parser| parser.parse_show_cardinality(CardinalityTarget::FieldKey, false)),
    ),
];

const CREATE_TREE: &[(Keyword, Node)] = &[
    (
        K::Continuous,
        Group(&[(
            K::Query,
            Parse(|parser| parser.parse_create_continuous_query()),
        )]),
    ),
    (K::Database, Parse(|parser| parser.parse_create_database())),
    (K::User, Parse(|parser| parser.parse_create_user())),
    (
        K::Retention,
        Group(&[(
            K::Policy,
            Parse(|parser| parser.parse_create_retention_policy()),
        )]),
    ),
    (
        K::Subscription,
        Parse(|parser| parser.parse_create_subscription()),
    ),
];

const DROP_TREE: &[(Keyword, Node)] = &[
    (
        K::Continuous,
        Group(&[(
            K::Query,
            Parse(|parser| parser.parse_drop_continuous_query()),
        )]),
    ),
    (K::Database, Parse(|parser| parser.parse_drop_database())),
    (
        K::Measurement,
        Parse(|parser| parser.parse_drop_measurement()),
    ),
    (
        K::Retention,
        Group(&[(
            K::Policy,
            Parse(|parser| parser.parse_drop_retention_policy()),
        )]),
    ),
    (K::Series, Parse(|parser| parser.parse_drop_series())),
    (K::Shard, Parse(|parser| parser.parse_drop_shard())),
    (
        K::Subscription,
        Parse(|parser| parser.parse_drop_subscription()),
    ),
    (K::User, Parse(|parser| parser.parse_drop_user())),
];

/// The InfluxQL parser over one query text.
pub struct Parser<'a> {
    scanner: Scanner<'a>,
    history: [Token; TOKEN_HISTORY_LEN],
    /// Index in `history` of the most recently scanned token.
    newest: usize,
    /// Tokens stepped back over; always <= TOKEN_HISTORY_LEN.
    unscan_count: usize,
    /// Current expression and subquery nesting; always <= MAX_NESTING_DEPTH.
    depth: usize,
    /// Current expression tree height (nesting plus open operators); always <=
    /// MAX_EXPRESSION_HEIGHT.
    height: usize,
}

fn placeholder_token() -> Token {
    Token {
        kind: TokenKind::Eof,
        pos: Pos::default(),
        literal: String::new(),
        start: 0,
        end: 0,
    }
}

impl<'a> Parser<'a> {
    /// A parser at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Parser {
            scanner: Scanner::new(text),
            history: [
                placeholder_token(),
                placeholder_token(),
                placeholder_token(),
            ],
            newest: 0,
            unscan_count: 0,
            depth: 0,
            height: 0,
        }
    }

    /// The next token, including whitespace and comments.
    pub fn scan(&mut self) -> Token {
        if self.unscan_count > 0 {
            self.unscan_count -= 1;
        } else {
            self.newest = (self.newest + 1) % TOKEN_HISTORY_LEN;
            self.history[self.newest] = self.scanner.scan();
        }
        self.current().clone()
    }

    fn current(&self) -> &Token {
        let index = (self.newest + TOKEN_HISTORY_LEN - self.unscan_count) % TOKEN_HISTORY_LEN;
        &self.history[index]
    }

    /// Steps back one token; the next scan returns it again.
    pub fn unscan(&mut self) {
        assert!(
            self.unscan_count < TOKEN_HISTORY_LEN,
            "BUG: influxql parser stepped back more than {TOKEN_HISTORY_LEN} tokens"
        );
        self.unscan_count += 1;
    }

    /// The next token that is not whitespace or a comment.
    pub fn scan_ignore_whitespace(&mut self) -> Token {
        loop {
            let token = self.scan();
            if !matches!(token.kind, TokenKind::Whitespace | TokenKind::Comment) {
                return token;
            }
        }
    }

    /// Consumes `keyword` if it is the next token; otherwise leaves the stream unchanged.
    pub fn accept_keyword(&mut self, keyword: Keyword) -> bool {
        let token = self.scan_ignore_whitespace();
        if token.kind == TokenKind::Keyword(keyword) {
            return true;
        }
        self.unscan();
        false
    }

    /// Parses an identifier (bare or double-quoted) and returns its name.
    pub fn parse_ident(&mut self) -> Result<String, ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::Ident {
            return Err(ParseError::unexpected(&token, &["identifier"]));
        }
        Ok(token.literal)
    }

    /// Parses a duration literal or `INF` (returned as 0) into nanoseconds.
    pub fn parse_duration_ns(&mut self) -> Result<i64, ParseError> {
        let token = self.scan_ignore_whitespace();
        match token.kind {
            TokenKind::Keyword(Keyword::Inf) => Ok(0),
            TokenKind::Duration => parse_duration_literal_ns(&token.literal)
                .map_err(|message| ParseError::new(message, token.pos)),
            _ => Err(ParseError::unexpected(&token, &["duration"])),
        }
    }

    /// Parses an integer literal in `min..=max`.
    pub fn parse_int(&mut self, min: i64, max: i64) -> Result<i64, ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::Integer {
            return Err(ParseError::unexpected(&token, &["integer"]));
        }
        let Ok(value) = token.literal.parse::<i64>() else {
            let message = format!(
                "strconv.Atoi: parsing \"{}\": value out of range",
                token.literal
            );
            return Err(ParseError::new(message, token.pos));
        };
        if value < min || value > max {
            let message = format!("invalid value {value}: must be {min} <= n <= {max}");
            return Err(ParseError::new(message, token.pos));
        }
        Ok(value)
    }

    /// Parses the whole text as a query: statements separated by `;`.
    pub fn parse_query(&mut self) -> Result<Query, ParseError> {
        let mut statements = Vec::new();
        let mut after_semicolon = true;
        loop {
            let token = self.scan_ignore_whitespace();
            match token.kind {
                TokenKind::Eof => return Ok(Query { statements }),
                TokenKind::Semicolon => after_semicolon = true,
                _ if !after_semicolon => return Err(ParseError::unexpected(&token, &[";"])),
                _ => {
                    self.unscan();
                    statements.push(self.parse_statement()?);
                    after_semicolon = false;
                }
            }
        }
    }

    /// Parses one statement by walking the statement keyword tree.
    pub fn parse_statement(&mut self) -> Result<Statement, ParseError> {
        let mut level = STATEMENT_TREE;
        loop {
            let token = self.scan_ignore_whitespace();
            let node = level
                .iter()
                .find(|(keyword, _)| token.kind == TokenKind::Keyword(*keyword))
                .map(|(_, node)| *node);
            match node {
                Some(Parse(parse)) => return parse(self),
                Some(Group(next)) => level = next,
                None => {
                    let expected: Vec<&str> =
                        level.iter().map(|(keyword, _)| keyword.as_str()).collect();
                    return Err(ParseError::unexpected(&token, &expected));
                }
            }
        }
    }

    /// Steps back one token if the history allows; used where InfluxDB steps back further
    /// than usual to point an error at an earlier token.
    pub fn unscan_if_possible(&mut self) {
        if self.unscan_count < TOKEN_HISTORY_LEN {
            self.unscan_count += 1;
        }
    }

    /// Consumes the next token if it is whitespace (one token: all of the run).
    pub fn consume_whitespace(&mut self) {
        if self.scan().kind != TokenKind::Whitespace {
            self.unscan();
        }
    }

    /// The next character the scanner would read, looked at below the token history:
    /// InfluxDB peeks at its character reader even when tokens were stepped back over,
    /// and at the end of input the peek consumes the end (moving later positions on by
    /// one), so error positions match only if this does the same.
    pub fn peek_char(&mut self) -> char {
        self.scanner.peek_char()
    }

    /// Scans a regex token: a token stepped back over is returned as it is (InfluxDB's
    /// behaviour, which turns `x /re/` after an unscanned space into an error).
    fn scan_regex_token(&mut self) -> Token {
        if self.unscan_count > 0 {
            self.unscan_count -= 1;
        } else {
            self.newest = (self.newest + 1) % TOKEN_HISTORY_LEN;
            self.history[self.newest] = self.scanner.scan_regex();
        }
        self.current().clone()
    }

    /// Parses a `/regex/` if one comes next (after optional whitespace); `None` if the
    /// next character does not start one.
    pub fn parse_regex(&mut self) -> Result<Option<String>, ParseError> {
        if is_whitespace_char(self.peek_char()) {
            self.consume_whitespace();
        }
        match self.peek_char() {
            '$' => {
                // A bound parameter could stand for a regex; without parameters it never
                // does.
                self.scan();
                self.unscan();
                return Ok(None);
            }
            '/' => {}
            _ => return Ok(None),
        }
        let token = self.scan_regex_token();
        match token.kind {
            TokenKind::BadEscape => Err(ParseError::new(
                format!("bad escape: {}", token.literal),
                token.pos,
            )),
            TokenKind::BadRegex => Err(ParseError::new("bad regex: ", token.pos)),
            TokenKind::Regex => {
                if let Err(message) = regex_syntax::check(&token.literal) {
                    return Err(ParseError::new(message, token.pos));
                }
                Ok(Some(token.literal))
            }
            _ => Err(ParseError::unexpected(&token, &["regex"])),
        }
    }

    /// Consumes each token of `expected` in turn (skipping whitespace), or fails at the
    /// first other token.
    pub fn parse_tokens(&mut self, expected: &[TokenKind]) -> Result<(), ParseError> {
        for kind in expected {
            let token = self.scan_ignore_whitespace();
            if token.kind != *kind {
                return Err(ParseError::unexpected(&token, &[kind.as_str()]));
            }
        }
        Ok(())
    }

    /// Parses a single-quoted string literal.
    pub fn parse_string(&mut self) -> Result<String, ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::String {
            return Err(ParseError::unexpected(&token, &["string"]));
        }
        Ok(token.literal)
    }

    /// Parses an unsigned 64-bit integer literal.
    pub fn parse_uint64(&mut self) -> Result<u64, ParseError> {
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::Integer {
            return Err(ParseError::unexpected(&token, &["integer"]));
        }
        token.literal.parse::<u64>().map_err(|_| {
            let message = format!(
                "strconv.ParseUint: parsing \"{}\": value out of range",
                token.literal
            );
            ParseError::new(message, token.pos)
        })
    }

    /// Parses `ON ident` if `ON` comes next.
    pub fn parse_optional_on(&mut self) -> Result<Option<String>, ParseError> {
        if self.accept_keyword(Keyword::On) {
            return Ok(Some(self.parse_ident()?));
        }
        Ok(None)
    }

    /// Parses `keyword <integer>` if `keyword` comes next; 0 when absent. Values beyond
    /// `i64::MAX` saturate, as InfluxDB's parse does.
    pub fn parse_optional_keyword_and_int(&mut self, keyword: Keyword) -> Result<u64, ParseError> {
        if !self.accept_keyword(keyword) {
            return Ok(0);
        }
        let token = self.scan_ignore_whitespace();
        if token.kind != TokenKind::Integer {
            return Err(ParseError::unexpected(&token, &["integer"]));
        }
        Ok(token
            .literal
            .parse::<i64>()
            .map_or(i64::MAX as u64, |n| n as u64))
    }

    /// Parses a comma-separated list of identifiers (at least one).
    pub fn parse_ident_list(&mut self) -> Result<Vec<String>, ParseError> {
        let mut idents = vec![self.parse_ident()?];
        loop {
            if self.scan_ignore_whitespace().kind != TokenKind::Comma {
                self.unscan();
                return Ok(idents);
            }
            idents.push(self.parse_ident()?);
        }
    }

    /// Parses dotted identifier segments: `a`, `a.b`, `"a"."b".c`, `db..m` (an empty
    /// middle segment). Stops before a `/` or `:` after a dot (a regex or `:MEASUREMENT`
    /// follows). More than three segments is an error.
    pub fn parse_segmented_idents(&mut self) -> Result<Vec<String>, ParseError> {
        let mut idents = vec![self.parse_ident()?];
        loop {
            if self.scan().kind != TokenKind::Dot {
                self.unscan();
                break;
            }
            match self.peek_char() {
                '/' | ':' => break,
                '.' => {
                    idents.push(String::new());
                    continue;
                }
                _ => {}
            }
            idents.push(self.parse_ident()?);
        }
        if idents.len() > MAX_SEGMENTS {
            let message = format!("too many segments in {}", quote_segments(&idents));
            return Err(ParseError::new(message, Pos::default()));
        }
        Ok(idents)
    }

    /// Enters `cost` levels of expression or subquery nesting; fails past
    /// [`MAX_NESTING_DEPTH`] (or [`MAX_EXPRESSION_HEIGHT`] with the operators around).
    pub fn enter_nesting(&mut self, pos: Pos, cost: usize) -> Result<(), ParseError> {
        if self.depth + cost > MAX_NESTING_DEPTH {
            let message = format!("expression nested deeper than {MAX_NESTING_DEPTH} levels");
            return Err(ParseError::new(message, pos));
        }
        self.check_height(pos, cost)?;
        self.depth += cost;
        self.height += cost;
        Ok(())
    }

    /// Leaves `cost` levels entered with [`Parser::enter_nesting`].
    pub fn leave_nesting(&mut self, cost: usize) {
        self.depth = self.depth.saturating_sub(cost);
        self.height = self.height.saturating_sub(cost);
    }

    /// Counts one binary operator towards the tree height; fails past
    /// [`MAX_EXPRESSION_HEIGHT`].
    pub fn enter_operator(&mut self, pos: Pos) -> Result<(), ParseError> {
        self.check_height(pos, 1)?;
        self.height += 1;
        Ok(())
    }

    /// Releases operators counted with [`Parser::enter_operator`].
    pub fn leave_operators(&mut self, count: usize) {
        self.height = self.height.saturating_sub(count);
    }

    fn check_height(&self, pos: Pos, cost: usize) -> Result<(), ParseError> {
        if self.height + cost > MAX_EXPRESSION_HEIGHT {
            let message =
                format!("expression has more than {MAX_EXPRESSION_HEIGHT} levels of operators");
            return Err(ParseError::new(message, pos));
        }
        Ok(())
    }
}

/// Most dotted segments a name may have: database, retention policy, measurement.
const MAX_SEGMENTS: usize = 3;

fn is_whitespace_char(ch: char) -> bool {
    ch == ' ' || ch == '\t' || ch == '\n'
}

/// Quotes dotted segments as InfluxDB's `QuoteIdent(segments...)` does: a segment is quoted
/// if it needs quotes, if it is not the last and not empty, or if it is empty and first or
/// last.
pub fn quote_segments(segments: &[String]) -> String {
    let last = segments.len().saturating_sub(1);
    let mut out = String::new();
    for (index, segment) in segments.iter().enumerate() {
        let needs_quotes = ident_needs_quotes(segment)
            || (index < last && !segment.is_empty())
            || ((index == 0 || index == last) && segment.is_empty());
        let escaped = escape_ident(segment);
        if needs_quotes {
            out.push('"');
            out.push_str(&escaped);
            out.push('"');
        } else {
            out.push_str(&escaped);
        }
        if index < last {
            out.push('.');
        }
    }
    out
}

fn escape_ident(name: &str) -> String {
    name.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

const NANOS_PER_MICROSECOND: i64 = 1_000;
const NANOS_PER_MILLISECOND: i64 = 1_000_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;
const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;
const NANOS_PER_WEEK: i64 = 7 * NANOS_PER_DAY;

/// Duration units from largest to smallest, with the suffix InfluxQL writes them with.
pub const DURATION_UNITS: &[(i64, &str)] = &[
    (NANOS_PER_WEEK, "w"),
    (NANOS_PER_DAY, "d"),
    (NANOS_PER_HOUR, "h"),
    (NANOS_PER_MINUTE, "m"),
    (NANOS_PER_SECOND, "s"),
    (NANOS_PER_MILLISECOND, "ms"),
    (NANOS_PER_MICROSECOND, "u"),
    (1, "ns"),
];

const INVALID_DURATION: &str = "invalid duration";

/// Parses a duration literal such as `10s`, `1h30m`, `5µ` or `7ns` into nanoseconds.
///
/// Units: `ns`, `u`/`µ`, `ms`, `s`, `m`, `h`, `d`, `w`; several number-unit pairs add up.
/// Arithmetic wraps like InfluxDB's 64-bit math and a negative total is reported as an
/// overflow, so the errors match InfluxDB's exactly.
pub fn parse_duration_literal_ns(literal: &str) -> Result<i64, String> {
    if literal.len() < 2 {
        return Err(INVALID_DURATION.to_string());
    }
    let chars: Vec<char> = literal.chars().collect();
    let mut total_ns: i64 = 0;
    let mut index = 0;
    // InfluxDB names only the last number and unit in its overflow message.
    let mut last_measure: i64 = 0;
    let mut last_unit = String::new();
    while index < chars.len() {
        let digits_start = index;
        while chars.get(index).is_some_and(|ch| ch.is_ascii_digit()) {
            index += 1;
        }
        let Some(&unit) = chars.get(index) else {
            return Err(INVALID_DURATION.to_string());
        };
        if index == digits_start {
            return Err(INVALID_DURATION.to_string());
        }
        let digits: String = chars
            .get(digits_start..index)
            .unwrap_or_default()
            .iter()
            .collect();
        let measure: i64 = digits.parse().map_err(|_| INVALID_DURATION.to_string())?;
        let next_is_s = chars.get(index + 1) == Some(&'s');
        let (unit_ns, unit_len) = match unit {
            'n' if next_is_s => (1, 2),
            'u' | 'µ' => (NANOS_PER_MICROSECOND, 1),
            'm' if next_is_s => (NANOS_PER_MILLISECOND, 2),
            'm' => (NANOS_PER_MINUTE, 1),
            's' => (NANOS_PER_SECOND, 1),
            'h' => (NANOS_PER_HOUR, 1),
            'd' => (NANOS_PER_DAY, 1),
            'w' => (NANOS_PER_WEEK, 1),
            _ => return Err(INVALID_DURATION.to_string()),
        };
        total_ns = total_ns.wrapping_add(measure.wrapping_mul(unit_ns));
        last_measure = measure;
        last_unit = chars
            .get(index..index + unit_len)
            .unwrap_or_default()
            .iter()
            .collect();
        index += unit_len;
    }
    if total_ns < 0 {
        return Err(format!(
            "overflowed duration {last_measure}{last_unit}: choose a smaller duration or INF"
        ));
    }
    Ok(total_ns)
}

/// Writes a non-negative duration in the largest unit that represents it exactly; the
/// result always parses back to the same value with [`parse_duration_literal_ns`].
pub fn format_duration_ns(duration_ns: i64) -> String {
    if duration_ns == 0 {
        return "0s".to_string();
    }
    for &(unit_ns, suffix) in DURATION_UNITS {
        if duration_ns % unit_ns == 0 {
            return format!("{}{}", duration_ns / unit_ns, suffix);
        }
    }
    format!("{duration_ns}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration_literal_ns("1h30m"),
            Ok(90 * NANOS_PER_MINUTE)
        );
        assert_eq!(parse_duration_literal_ns("5µ"), Ok(5_000));
        assert_eq!(parse_duration_literal_ns("5u"), Ok(5_000));
        assert_eq!(parse_duration_literal_ns("7ns"), Ok(7));
        assert_eq!(parse_duration_literal_ns("2ms"), Ok(2_000_000));
        assert_eq!(parse_duration_literal_ns("1w"), Ok(NANOS_PER_WEEK));
        for bad in ["1n", "1h1", "1hh", "1x", "h", "99999999999999999999h"] {
            assert_eq!(
                parse_duration_literal_ns(bad),
                Err(INVALID_DURATION.to_string())
            );
        }
        assert!(parse_duration_literal_ns("2562048h")
            .is_err_and(|message| message.starts_with("overflowed duration 2562048h")));
    }

    #[test]
    fn duration_format_round_trips() {
        for value in [
            1,
            999,
            1_000,
            60 * NANOS_PER_SECOND,
            NANOS_PER_WEEK * 3,
            i64::MAX,
        ] {
            let text = format_duration_ns(value);
            assert_eq!(parse_duration_literal_ns(&text), Ok(value), "{text}");
        }
    }

    #[test]
    fn tree_levels_have_distinct_keywords() {
        fn check(level: &[(Keyword, Node)]) {
            for (index, (keyword, node)) in level.iter().enumerate() {
                assert!(level
                    .iter()
                    .skip(index + 1)
                    .all(|(other, _)| other != keyword));
                if let Group(next) = node {
                    check(next);
                }
            }
        }
        check(STATEMENT_TREE);
    }
}
