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
//! A statement starts with a keyword path walked through [`STATEMENT_TREE`]: at each level
//! the next keyword picks a branch; any other token is the error
//! `found X, expected A, B, C` listing that level's keywords in InfluxDB 1.6.7's order. A
//! leaf either parses a supported statement or, for statements not implemented yet, skips
//! to the next top-level `;` and returns [`Statement::Unsupported`] with the raw text. The
//! skip understands strings, quoted identifiers, comments and regexes (a `/` in a position
//! where a value is expected starts a regex, as in InfluxDB), and rejects tokens no
//! InfluxQL statement accepts (bad strings, bad escapes, illegal characters).
//!
//! The parser does not recurse today; [`MAX_NESTING_DEPTH`] bounds expression nesting once
//! expressions are parsed.

use std::fmt;

use super::ast::{Query, Statement};
use super::lexer::{Keyword, Pos, Scanner, Token, TokenKind};

/// Deepest nesting of parentheses and subqueries an expression may have; deeper input is
/// a parse error, not a stack overflow.
pub const MAX_NESTING_DEPTH: usize = 256;

/// Number of tokens the parser can step back over.
const TOKEN_HISTORY_LEN: usize = 3;

/// Smallest and largest replication factor (InfluxDB bounds it by a 32-bit signed int).
pub const REPLICATION_MIN: i64 = 1;
/// Largest replication factor.
pub const REPLICATION_MAX: i64 = i32::MAX as i64;

/// What InfluxDB says after "expected" for a token that no statement accepts, used while
/// skipping statements this parser does not implement yet (an approximation: the exact
/// list depends on the grammar position, which arrives with the full parser).
const UNSUPPORTED_BAD_TOKEN_EXPECTED: &[&str] = &["identifier", "string", "number", "bool"];

/// A syntax error: a message and the 1-based line and character where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong, e.g. `found EOF, expected identifier`.
    pub message: String,
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
            line: pos.line + 1,
            char: pos.char + 1,
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
        write!(
            f,
            "{} at line {}, char {}",
            self.message, self.line, self.char
        )
    }
}

impl std::error::Error for ParseError {}

/// A statement-tree leaf parser.
type StatementParser = fn(&mut Parser<'_>) -> Result<Statement, ParseError>;

/// One node of the statement keyword tree.
#[derive(Clone, Copy)]
enum Node {
    /// A statement this parser implements.
    Parse(StatementParser),
    /// A statement that exists in InfluxQL but is not implemented yet.
    Unsupported,
    /// More keywords must follow; listed in the order InfluxDB reports them.
    Group(&'static [(Keyword, Node)]),
}

use Keyword as K;
use Node::{Group, Parse, Unsupported as Todo};

/// The statement keyword tree of InfluxDB 1.6.7, in its error-message order.
const STATEMENT_TREE: &[(Keyword, Node)] = &[
    (K::Select, Todo),
    (K::Delete, Todo),
    (K::Show, Group(SHOW_TREE)),
    (K::Create, Group(CREATE_TREE)),
    (K::Drop, Group(DROP_TREE)),
    (K::Explain, Todo),
    (K::Grant, Todo),
    (K::Revoke, Todo),
    (
        K::Alter,
        Group(&[(K::Retention, Group(&[(K::Policy, Todo)]))]),
    ),
    (K::Set, Group(&[(K::Password, Todo)])),
    (K::Kill, Group(&[(K::Query, Todo)])),
];

const SHOW_TREE: &[(Keyword, Node)] = &[
    (K::Continuous, Group(&[(K::Queries, Todo)])),
    (K::Databases, Parse(|parser| parser.parse_show_databases())),
    (K::Diagnostics, Todo),
    (K::Field, Group(&[(K::Key, Todo), (K::Keys, Todo)])),
    (K::Grants, Todo),
    (K::Measurement, Todo),
    (K::Measurements, Todo),
    (K::Queries, Todo),
    (K::Retention, Group(&[(K::Policies, Todo)])),
    (K::Series, Todo),
    (K::Shard, Group(&[(K::Groups, Todo)])),
    (K::Shards, Todo),
    (K::Stats, Todo),
    (K::Subscriptions, Todo),
    (
        K::Tag,
        Group(&[(K::Key, Todo), (K::Keys, Todo), (K::Values, Todo)]),
    ),
    (K::Users, Todo),
];

const CREATE_TREE: &[(Keyword, Node)] = &[
    (K::Continuous, Group(&[(K::Query, Todo)])),
    (K::Database, Parse(|parser| parser.parse_create_database())),
    (K::User, Todo),
    (K::Retention, Group(&[(K::Policy, Todo)])),
    (K::Subscription, Todo),
];

const DROP_TREE: &[(Keyword, Node)] = &[
    (K::Continuous, Group(&[(K::Query, Todo)])),
    (K::Database, Parse(|parser| parser.parse_drop_database())),
    (K::Measurement, Todo),
    (K::Retention, Group(&[(K::Policy, Todo)])),
    (K::Series, Todo),
    (K::Shard, Todo),
    (K::Subscription, Todo),
    (K::User, Todo),
];

/// The InfluxQL parser over one query text.
pub struct Parser<'a> {
    text: &'a str,
    scanner: Scanner<'a>,
    history: [Token; TOKEN_HISTORY_LEN],
    /// Index in `history` of the most recently scanned token.
    newest: usize,
    /// Tokens stepped back over; always <= TOKEN_HISTORY_LEN.
    unscan_count: usize,
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
            text,
            scanner: Scanner::new(text),
            history: [
                placeholder_token(),
                placeholder_token(),
                placeholder_token(),
            ],
            newest: 0,
            unscan_count: 0,
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
        let mut first_start = None;
        loop {
            let token = self.scan_ignore_whitespace();
            let start = *first_start.get_or_insert(token.start);
            let node = level
                .iter()
                .find(|(keyword, _)| token.kind == TokenKind::Keyword(*keyword))
                .map(|(_, node)| *node);
            match node {
                Some(Parse(parse)) => return parse(self),
                Some(Todo) => return self.skip_unsupported(start, token),
                Some(Group(next)) => level = next,
                None => {
                    let expected: Vec<&str> =
                        level.iter().map(|(keyword, _)| keyword.as_str()).collect();
                    return Err(ParseError::unexpected(&token, &expected));
                }
            }
        }
    }

    /// Skips the rest of a statement this parser does not implement yet, up to (not
    /// including) the next top-level `;` or the end, and returns its raw text.
    fn skip_unsupported(&mut self, start: usize, last: Token) -> Result<Statement, ParseError> {
        let mut end = last.end;
        let mut previous = last.kind;
        loop {
            if self.unscan_count == 0
                && value_expected_after(previous)
                && self.scanner.regex_follows()
            {
                let regex = self.scanner.scan_regex();
                if regex.kind != TokenKind::Regex {
                    return Err(ParseError::unexpected(&regex, &["regex"]));
                }
                end = regex.end;
                previous = TokenKind::Regex;
                continue;
            }
            let token = self.scan();
            match token.kind {
                TokenKind::Whitespace | TokenKind::Comment => {}
                TokenKind::Semicolon | TokenKind::Eof => {
                    self.unscan();
                    break;
                }
                TokenKind::Illegal | TokenKind::BadString | TokenKind::BadEscape => {
                    return Err(ParseError::unexpected(
                        &token,
                        UNSUPPORTED_BAD_TOKEN_EXPECTED,
                    ));
                }
                kind => {
                    end = token.end;
                    previous = kind;
                }
            }
        }
        let text = self.text.get(start..end).unwrap_or_default();
        Ok(Statement::Unsupported {
            text: text.to_string(),
        })
    }
}

/// Whether a `/` after a token of this kind starts a regex rather than a division: it does
/// wherever InfluxDB's grammar expects a value (after keywords, operators, `(` and `,`).
fn value_expected_after(kind: TokenKind) -> bool {
    !matches!(
        kind,
        TokenKind::Ident
            | TokenKind::BoundParam
            | TokenKind::Number
            | TokenKind::Integer
            | TokenKind::Duration
            | TokenKind::String
            | TokenKind::Regex
            | TokenKind::RParen
            | TokenKind::Keyword(Keyword::True)
            | TokenKind::Keyword(Keyword::False)
    )
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
        index += unit_len;
    }
    if total_ns < 0 {
        return Err(format!(
            "overflowed duration {literal}: choose a smaller duration or INF"
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
