//! InfluxQL lexer: turns query text into tokens with InfluxDB 1.6.7's exact positions.
//!
//! Owns the whole InfluxQL token set (identifiers, keywords, literals, operators,
//! punctuation, comments, whitespace, regexes). It knows nothing of statements.
//!
//! # Algorithm
//!
//! Two layers, mirroring the observable behaviour of InfluxDB's scanner:
//!
//! * [`CharReader`] hands out characters one at a time with a 3-entry history ring so the
//!   scanner can step back ("unread") up to three characters. It normalises `\r` and
//!   `\r\n` to `\n`, and treats both the end of input and a NUL character as "eof".
//!   Positions are 0-based `(line, char)` counted in characters; a newline starts a new
//!   line. The first eof read advances the column by one; later eof reads do not. The
//!   error positions InfluxDB prints depend on exactly how many times each scanning routine
//!   reads and unreads, so the routines below keep the same read/unread pattern.
//! * [`Scanner`] reads one token per call from the first character: letters and `_` start
//!   identifiers or keywords (looked up case-insensitively), `"` a quoted identifier,
//!   digits and `.digit` numbers, integers or durations (`10s`, `5µ`, `1h30m`), `'` a
//!   string, `$` a bound parameter, `--` and `/* */` comments, and one or two characters
//!   operators. Regexes (`/.../`) are only scanned when the parser asks, through
//!   [`Scanner::scan_regex`], because `/` is otherwise division.
//!
//! Quirks kept on purpose because InfluxDB has them: a string token's position is that of
//! the character *before* its opening quote; text after a bare identifier running straight
//! into a quoted one (`abc"def"`) yields only the quoted part; a NUL ends the input for the
//! scanner but text after it is still read when the NUL was swallowed by an identifier.
//!
//! Invariants: the scanner never panics on any `&str`; every token's `start..end` is a
//! char-boundary byte range of the input.

use std::fmt;

/// Number of characters the reader can step back.
const READER_HISTORY_LEN: usize = 3;

/// A 0-based position in the query text: line number and character (not byte) column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 0-based line number.
    pub line: usize,
    /// 0-based column, counted in characters.
    pub char: usize,
}

macro_rules! keywords {
    ($($variant:ident => $text:literal,)*) => {
        /// Every InfluxQL 1.6.7 keyword (reserved word) plus the word operators.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Keyword {
            $($variant,)*
        }

        /// Keywords and their canonical upper-case spelling, in declaration order.
        pub const KEYWORDS: &[(Keyword, &str)] = &[$((Keyword::$variant, $text),)*];

        impl Keyword {
            /// The upper-case spelling InfluxDB prints for this keyword.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Keyword::$variant => $text,)*
                }
            }
        }
    };
}

keywords! {
    All => "ALL",
    Alter => "ALTER",
    Analyze => "ANALYZE",
    And => "AND",
    Any => "ANY",
    As => "AS",
    Asc => "ASC",
    Begin => "BEGIN",
    By => "BY",
    Cardinality => "CARDINALITY",
    Continuous => "CONTINUOUS",
    Create => "CREATE",
    Database => "DATABASE",
    Databases => "DATABASES",
    Default => "DEFAULT",
    Delete => "DELETE",
    Desc => "DESC",
    Destinations => "DESTINATIONS",
    Diagnostics => "DIAGNOSTICS",
    Distinct => "DISTINCT",
    Drop => "DROP",
    Duration => "DURATION",
    End => "END",
    Every => "EVERY",
    Exact => "EXACT",
    Explain => "EXPLAIN",
    False => "FALSE",
    Field => "FIELD",
    For => "FOR",
    From => "FROM",
    Grant => "GRANT",
    Grants => "GRANTS",
    Group => "GROUP",
    Groups => "GROUPS",
    In => "IN",
    Inf => "INF",
    Insert => "INSERT",
    Into => "INTO",
    Key => "KEY",
    Keys => "KEYS",
    Kill => "KILL",
    Limit => "LIMIT",
    Measurement => "MEASUREMENT",
    Measurements => "MEASUREMENTS",
    Name => "NAME",
    Offset => "OFFSET",
    On => "ON",
    Or => "OR",
    Order => "ORDER",
    Password => "PASSWORD",
    Policies => "POLICIES",
    Policy => "POLICY",
    Privileges => "PRIVILEGES",
    Queries => "QUERIES",
    Query => "QUERY",
    Read => "READ",
    Replication => "REPLICATION",
    Resample => "RESAMPLE",
    Retention => "RETENTION",
    Revoke => "REVOKE",
    Select => "SELECT",
    Series => "SERIES",
    Set => "SET",
    Shard => "SHARD",
    Shards => "SHARDS",
    Show => "SHOW",
    Slimit => "SLIMIT",
    Soffset => "SOFFSET",
    Stats => "STATS",
    Subscription => "SUBSCRIPTION",
    Subscriptions => "SUBSCRIPTIONS",
    Tag => "TAG",
    To => "TO",
    True => "TRUE",
    User => "USER",
    Users => "USERS",
    Values => "VALUES",
    Where => "WHERE",
    With => "WITH",
    Write => "WRITE",
}

/// Looks `word` up as a keyword, ignoring ASCII case.
pub fn lookup_keyword(word: &str) -> Option<Keyword> {
    KEYWORDS
        .iter()
        .find(|(_, text)| text.eq_ignore_ascii_case(word))
        .map(|(keyword, _)| *keyword)
}

/// The kind of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A character no token starts with (literal: that character), or an unterminated
    /// block comment (empty literal).
    Illegal,
    /// End of input (or a NUL character).
    Eof,
    /// Spaces, tabs and newlines.
    Whitespace,
    /// `-- ...` up to the end of the line, or `/* ... */`.
    Comment,
    /// A bare or double-quoted identifier; the literal is the unescaped name.
    Ident,
    /// `$name`; the literal includes the `$`.
    BoundParam,
    /// A decimal number with a fractional part (`1.5`, `.5`).
    Number,
    /// Digits only.
    Integer,
    /// Digits followed by letters (`10s`, `1h30m`, `5µ`); validated when parsed.
    Duration,
    /// A single-quoted string; the literal is the unescaped content.
    String,
    /// A string or quoted identifier cut off by a newline or the end of input.
    BadString,
    /// An unknown `\x` escape in a string, identifier or regex; the literal is `\x`.
    BadEscape,
    /// A `/regex/`, only produced by [`Scanner::scan_regex`].
    Regex,
    /// An unterminated regex.
    BadRegex,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `&`
    BitwiseAnd,
    /// `|`
    BitwiseOr,
    /// `^`
    BitwiseXor,
    /// `=`
    Eq,
    /// `!=` or `<>`
    Neq,
    /// `=~`
    EqRegex,
    /// `!~`
    NeqRegex,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `:`
    Colon,
    /// `::`
    DoubleColon,
    /// `;`
    Semicolon,
    /// `.`
    Dot,
    /// A keyword, including `AND`, `OR`, `TRUE` and `FALSE`.
    Keyword(Keyword),
}

impl TokenKind {
    /// The name InfluxDB prints for a token of this kind when it has no literal.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Illegal => "ILLEGAL",
            TokenKind::Eof => "EOF",
            TokenKind::Whitespace => "WS",
            // InfluxDB has no name for a comment token: "found , expected ...".
            TokenKind::Comment => "",
            TokenKind::Ident => "IDENT",
            TokenKind::BoundParam => "BOUNDPARAM",
            TokenKind::Number => "NUMBER",
            TokenKind::Integer => "INTEGER",
            TokenKind::Duration => "DURATIONVAL",
            TokenKind::String => "STRING",
            TokenKind::BadString => "BADSTRING",
            TokenKind::BadEscape => "BADESCAPE",
            TokenKind::Regex => "REGEX",
            TokenKind::BadRegex => "BADREGEX",
            TokenKind::Add => "+",
            TokenKind::Sub => "-",
            TokenKind::Mul => "*",
            TokenKind::Div => "/",
            TokenKind::Mod => "%",
            TokenKind::BitwiseAnd => "&",
            TokenKind::BitwiseOr => "|",
            TokenKind::BitwiseXor => "^",
            TokenKind::Eq => "=",
            TokenKind::Neq => "!=",
            TokenKind::EqRegex => "=~",
            TokenKind::NeqRegex => "!~",
            TokenKind::Lt => "<",
            TokenKind::Lte => "<=",
            TokenKind::Gt => ">",
            TokenKind::Gte => ">=",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::Comma => ",",
            TokenKind::Colon => ":",
            TokenKind::DoubleColon => "::",
            TokenKind::Semicolon => ";",
            TokenKind::Dot => ".",
            TokenKind::Keyword(keyword) => keyword.as_str(),
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One token: its kind, where it starts, its literal and the bytes it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// The position InfluxDB reports for it (see the module doc for the string quirk).
    pub pos: Pos,
    /// The token's value: unescaped name or string, number text, illegal character.
    /// Empty for keywords, operators and punctuation.
    pub literal: String,
    /// Byte offset of the token's first character in the input.
    pub start: usize,
    /// Byte offset just past the token's last character.
    pub end: usize,
}

impl Token {
    /// How InfluxDB names this token in "found X" errors: the literal if any, else the kind.
    pub fn found_text(&self) -> &str {
        if self.literal.is_empty() {
            self.kind.as_str()
        } else {
            &self.literal
        }
    }
}

/// The character value the reader returns at the end of input (and for a NUL).
const EOF_CHAR: char = '\0';

#[derive(Debug, Clone, Copy, Default)]
struct ReadEntry {
    ch: char,
    pos: Pos,
    /// Byte offset where this character starts.
    offset: usize,
}

/// Character reader with positions and a small step-back history (see the module doc).
#[derive(Debug)]
pub struct CharReader<'a> {
    text: &'a str,
    /// Byte offset of the next character not yet read from `text`.
    next_byte: usize,
    history: [ReadEntry; READER_HISTORY_LEN],
    /// Index in `history` of the most recently read entry.
    newest: usize,
    /// How many entries have been stepped back over; always <= READER_HISTORY_LEN.
    unread_count: usize,
    pos: Pos,
    at_eof: bool,
}

impl<'a> CharReader<'a> {
    fn new(text: &'a str) -> Self {
        CharReader {
            text,
            next_byte: 0,
            history: [ReadEntry::default(); READER_HISTORY_LEN],
            newest: 0,
            unread_count: 0,
            pos: Pos::default(),
            at_eof: false,
        }
    }

    fn next_raw_char(&mut self) -> char {
        let rest = self.text.get(self.next_byte..).unwrap_or("");
        let mut chars = rest.chars();
        let Some(ch) = chars.next() else {
            return EOF_CHAR;
        };
        self.next_byte += ch.len_utf8();
        if ch == '\r' {
            if chars.next() == Some('\n') {
                self.next_byte += 1;
            }
            return '\n';
        }
        ch
    }

    /// Reads the next character and its position.
    fn read(&mut self) -> (char, Pos) {
        if self.unread_count > 0 {
            self.unread_count -= 1;
            return self.current();
        }
        let offset = self.next_byte;
        let ch = self.next_raw_char();
        self.newest = (self.newest + 1) % READER_HISTORY_LEN;
        self.history[self.newest] = ReadEntry {
            ch,
            pos: self.pos,
            offset,
        };
        if ch == '\n' {
            self.pos.line += 1;
            self.pos.char = 0;
        } else if !self.at_eof {
            self.pos.char += 1;
        }
        if ch == EOF_CHAR {
            self.at_eof = true;
        }
        self.current()
    }

    /// Steps back one character. Stepping back further than the history is a bug.
    fn unread(&mut self) {
        assert!(
            self.unread_count < READER_HISTORY_LEN,
            "BUG: influxql reader stepped back more than {READER_HISTORY_LEN} characters"
        );
        self.unread_count += 1;
    }

    fn current_entry(&self) -> ReadEntry {
        let index = (self.newest + READER_HISTORY_LEN - self.unread_count) % READER_HISTORY_LEN;
        self.history[index]
    }

    /// The character most recently returned by `read` (taking step-backs into account).
    fn current(&self) -> (char, Pos) {
        let entry = self.current_entry();
        (entry.ch, entry.pos)
    }

    /// Byte offset of the next character `read` will return.
    fn offset(&self) -> usize {
        if self.unread_count == 0 {
            return self.next_byte;
        }
        let index = (self.newest + READER_HISTORY_LEN + 1 - self.unread_count) % READER_HISTORY_LEN;
        self.history[index].offset
    }
}

fn is_whitespace(ch: char) -> bool {
    ch == ' ' || ch == '\t' || ch == '\n'
}

fn is_letter(ch: char) -> bool {
    ch.is_ascii_alphabetic()
}

fn is_digit(ch: char) -> bool {
    ch.is_ascii_digit()
}

/// Whether `ch` may appear in a bare identifier after the first character.
pub fn is_ident_char(ch: char) -> bool {
    is_letter(ch) || is_digit(ch) || ch == '_'
}

/// Whether `ch` may start a bare identifier.
pub fn is_ident_first_char(ch: char) -> bool {
    is_letter(ch) || ch == '_'
}

/// Outcome of scanning a delimited literal body.
enum Delimited {
    Closed(String),
    /// Ran into a newline or the end of input; carries what was read.
    Unterminated(String),
    /// An unknown escape; carries `\` and the escaped character.
    BadEscape(String),
}

/// Token scanner over a query text (see the module doc).
#[derive(Debug)]
pub struct Scanner<'a> {
    reader: CharReader<'a>,
}

impl<'a> Scanner<'a> {
    /// A scanner positioned at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Scanner {
            reader: CharReader::new(text),
        }
    }

    fn token(&self, kind: TokenKind, pos: Pos, literal: String, start: usize) -> Token {
        let end = self.reader.offset().max(start);
        Token {
            kind,
            pos,
            literal,
            start,
            end,
        }
    }

    /// Scans the next token. Never fails: problems are `Illegal`, `BadString`, `BadEscape`.
    pub fn scan(&mut self) -> Token {
        let start = self.reader.offset();
        let (ch0, pos) = self.reader.read();
        if is_whitespace(ch0) {
            return self.scan_whitespace(start);
        } else if is_ident_first_char(ch0) {
            self.reader.unread();
            return self.scan_ident(true, start);
        } else if is_digit(ch0) {
            return self.scan_number(start);
        }
        let kind = match ch0 {
            EOF_CHAR => TokenKind::Eof,
            '"' => {
                self.reader.unread();
                return self.scan_ident(true, start);
            }
            '\'' => return self.scan_string(start),
            '.' => {
                let (ch1, _) = self.reader.read();
                self.reader.unread();
                if is_digit(ch1) {
                    return self.scan_number(start);
                }
                TokenKind::Dot
            }
            '$' => {
                let inner = self.scan_ident(false, self.reader.offset());
                let kind = match inner.kind {
                    TokenKind::Ident => TokenKind::BoundParam,
                    other => other,
                };
                return self.token(kind, pos, format!("${}", inner.literal), start);
            }
            '+' => TokenKind::Add,
            '-' => {
                if self.reader.read().0 == '-' {
                    self.skip_until_newline();
                    TokenKind::Comment
                } else {
                    self.reader.unread();
                    TokenKind::Sub
                }
            }
            '*' => TokenKind::Mul,
            '/' => {
                if self.reader.read().0 == '*' {
                    if !self.skip_until_end_comment() {
                        return self.token(TokenKind::Illegal, pos, String::new(), start);
                    }
                    TokenKind::Comment
                } else {
                    self.reader.unread();
                    TokenKind::Div
                }
            }
            '%' => TokenKind::Mod,
            '&' => TokenKind::BitwiseAnd,
            '|' => TokenKind::BitwiseOr,
            '^' => TokenKind::BitwiseXor,
            '=' => self.scan_second('~', TokenKind::EqRegex, TokenKind::Eq),
            '!' => match self.reader.read().0 {
                '=' => TokenKind::Neq,
                '~' => TokenKind::NeqRegex,
                _ => {
                    self.reader.unread();
                    return self.token(TokenKind::Illegal, pos, ch0.to_string(), start);
                }
            },
            '>' => self.scan_second('=', TokenKind::Gte, TokenKind::Gt),
            '<' => match self.reader.read().0 {
                '=' => TokenKind::Lte,
                '>' => TokenKind::Neq,
                _ => {
                    self.reader.unread();
                    TokenKind::Lt
                }
            },
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            ';' => TokenKind::Semicolon,
            ':' => self.scan_second(':', TokenKind::DoubleColon, TokenKind::Colon),
            _ => return self.token(TokenKind::Illegal, pos, ch0.to_string(), start),
        };
        self.token(kind, pos, String::new(), start)
    }

    /// Two-character operator: `pair` if the next character is `second`, else `single`.
    fn scan_second(&mut self, second: char, pair: TokenKind, single: TokenKind) -> TokenKind {
        if self.reader.read().0 == second {
            pair
        } else {
            self.reader.unread();
            single
        }
    }

    fn scan_whitespace(&mut self, start: usize) -> Token {
        let (first, pos) = self.reader.current();
        let mut text = String::from(first);
        loop {
            let (ch, _) = self.reader.read();
            if ch == EOF_CHAR {
                // Consumed, not stepped back over: a NUL after whitespace is skipped.
                break;
            } else if !is_whitespace(ch) {
                self.reader.unread();
                break;
            }
            text.push(ch);
        }
        self.token(TokenKind::Whitespace, pos, text, start)
    }

    fn skip_until_newline(&mut self) {
        loop {
            let (ch, _) = self.reader.read();
            if ch == '\n' || ch == EOF_CHAR {
                return;
            }
        }
    }

    /// Skips to just past `*/`; false if the input ends first.
    fn skip_until_end_comment(&mut self) -> bool {
        loop {
            let (ch, _) = self.reader.read();
            if ch == EOF_CHAR {
                return false;
            }
            if ch != '*' {
                continue;
            }
            loop {
                match self.reader.read().0 {
                    '/' => return true,
                    '*' => continue,
                    EOF_CHAR => return false,
                    _ => break,
                }
            }
        }
    }

    /// Scans a bare identifier, or a quoted one when the next character is `"`.
    fn scan_ident(&mut self, lookup: bool, start: usize) -> Token {
        let (_, pos) = self.reader.read();
        self.reader.unread();
        let mut name = String::new();
        loop {
            let (ch, _) = self.reader.read();
            if ch == EOF_CHAR {
                break;
            } else if ch == '"' {
                let quoted = self.scan_string(start);
                if matches!(quoted.kind, TokenKind::BadString | TokenKind::BadEscape) {
                    return quoted;
                }
                return self.token(TokenKind::Ident, pos, quoted.literal, start);
            } else if is_ident_char(ch) {
                self.reader.unread();
                self.scan_bare_ident(&mut name);
            } else {
                self.reader.unread();
                break;
            }
        }
        if lookup {
            if let Some(keyword) = lookup_keyword(&name) {
                return self.token(TokenKind::Keyword(keyword), pos, String::new(), start);
            }
        }
        self.token(TokenKind::Ident, pos, name, start)
    }

    fn scan_bare_ident(&mut self, name: &mut String) {
        loop {
            let (ch, _) = self.reader.read();
            if ch == EOF_CHAR {
                break;
            } else if !is_ident_char(ch) {
                self.reader.unread();
                break;
            }
            name.push(ch);
        }
    }

    /// Scans a quoted string or identifier; the opening quote has just been read.
    fn scan_string(&mut self, start: usize) -> Token {
        self.reader.unread();
        let (_, pos) = self.reader.current();
        match self.scan_delimited_string() {
            Delimited::Closed(text) => self.token(TokenKind::String, pos, text, start),
            Delimited::Unterminated(text) => self.token(TokenKind::BadString, pos, text, start),
            Delimited::BadEscape(text) => {
                let (_, escape_pos) = self.reader.current();
                self.token(TokenKind::BadEscape, escape_pos, text, start)
            }
        }
    }

    fn scan_delimited_string(&mut self) -> Delimited {
        let (ending, _) = self.reader.read();
        let mut text = String::new();
        if ending == EOF_CHAR {
            return Delimited::Unterminated(text);
        }
        loop {
            let (ch0, _) = self.reader.read();
            if ch0 == ending {
                return Delimited::Closed(text);
            } else if ch0 == EOF_CHAR || ch0 == '\n' {
                return Delimited::Unterminated(text);
            } else if ch0 == '\\' {
                let (ch1, _) = self.reader.read();
                match ch1 {
                    'n' => text.push('\n'),
                    '\\' | '"' | '\'' => text.push(ch1),
                    _ => return Delimited::BadEscape(format!("\\{ch1}")),
                }
            } else {
                text.push(ch0);
            }
        }
    }

    /// Scans a number, integer or duration; its first character has just been read.
    fn scan_number(&mut self, start: usize) -> Token {
        // The first character is a digit, or a `.` the caller saw a digit after.
        let (_, pos) = self.reader.current();
        self.reader.unread();
        let mut text = String::new();
        self.scan_digits(&mut text);
        let mut is_decimal = false;
        if self.reader.read().0 == '.' {
            is_decimal = true;
            let (ch1, _) = self.reader.read();
            if is_digit(ch1) {
                text.push('.');
                text.push(ch1);
                self.scan_digits(&mut text);
            } else {
                self.reader.unread();
            }
        } else {
            self.reader.unread();
        }
        if is_decimal {
            return self.token(TokenKind::Number, pos, text, start);
        }
        let (ch0, _) = self.reader.read();
        if !(is_letter(ch0) || ch0 == 'µ') {
            self.reader.unread();
            return self.token(TokenKind::Integer, pos, text, start);
        }
        text.push(ch0);
        loop {
            let (ch, _) = self.reader.read();
            if !(is_letter(ch) || ch == 'µ') {
                self.reader.unread();
                break;
            }
            text.push(ch);
        }
        loop {
            let (ch, _) = self.reader.read();
            if !(is_letter(ch) || ch == 'µ' || is_digit(ch)) {
                self.reader.unread();
                break;
            }
            text.push(ch);
        }
        self.token(TokenKind::Duration, pos, text, start)
    }

    fn scan_digits(&mut self, text: &mut String) {
        loop {
            let (ch, _) = self.reader.read();
            if !is_digit(ch) {
                self.reader.unread();
                break;
            }
            text.push(ch);
        }
    }

    /// The next character, without consuming it unless it is the end of input (or a
    /// NUL): InfluxDB's peek does not step back over the end, so the next read of the end
    /// is a second one, one column further on.
    pub fn peek_char(&mut self) -> char {
        let (ch, _) = self.reader.read();
        if ch != EOF_CHAR {
            self.reader.unread();
        }
        ch
    }

    /// Scans `/.../` (only `\/` is an escape; other `\x` pairs are kept as written).
    /// A first character other than `/` gives a `BadRegex` token.
    pub fn scan_regex(&mut self) -> Token {
        let start = self.reader.offset();
        let (_, pos) = self.reader.current();
        let (opening, _) = self.reader.read();
        let mut text = String::new();
        if opening != '/' {
            return self.token(TokenKind::BadRegex, pos, text, start);
        }
        loop {
            let (ch0, _) = self.reader.read();
            if ch0 == '/' {
                return self.token(TokenKind::Regex, pos, text, start);
            } else if ch0 == EOF_CHAR {
                return self.token(TokenKind::BadRegex, pos, text, start);
            } else if ch0 == '\\' {
                let (ch1, _) = self.reader.read();
                if ch1 == '/' {
                    text.push('/');
                } else {
                    self.reader.unread();
                    text.push('\\');
                }
            } else {
                text.push(ch0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, String)> {
        let mut scanner = Scanner::new(text);
        let mut out = Vec::new();
        loop {
            let token = scanner.scan();
            if token.kind == TokenKind::Eof {
                return out;
            }
            if token.kind != TokenKind::Whitespace {
                out.push((token.kind, token.literal));
            }
        }
    }

    #[test]
    fn scans_operators_and_punctuation() {
        let got: Vec<TokenKind> = kinds("+ - * / % & | ^ = != <> =~ !~ < <= > >= ( ) , : :: ; .")
            .into_iter()
            .map(|(kind, _)| kind)
            .collect();
        use TokenKind::*;
        let want = vec![
            Add,
            Sub,
            Mul,
            Div,
            Mod,
            BitwiseAnd,
            BitwiseOr,
            BitwiseXor,
            Eq,
            Neq,
            Neq,
            EqRegex,
            NeqRegex,
            Lt,
            Lte,
            Gt,
            Gte,
            LParen,
            RParen,
            Comma,
            Colon,
            DoubleColon,
            Semicolon,
            Dot,
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn scans_literals() {
        use TokenKind::*;
        let got = kinds(r#"abc "a\"b" 'x\'y' 10 1.5 .5 10s 1h30m 5µ $p select TRUE"#);
        let want: Vec<(TokenKind, std::string::String)> = vec![
            (Ident, "abc".into()),
            (Ident, "a\"b".into()),
            (TokenKind::String, "x'y".into()),
            (Integer, "10".into()),
            (Number, "1.5".into()),
            (Number, ".5".into()),
            (Duration, "10s".into()),
            (Duration, "1h30m".into()),
            (Duration, "5µ".into()),
            (BoundParam, "$p".into()),
            (Keyword(super::Keyword::Select), "".into()),
            (Keyword(super::Keyword::True), "".into()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn comments_and_bad_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("-- x\n/* y */a"),
            vec![
                (Comment, "".into()),
                (Comment, "".into()),
                (Ident, "a".into())
            ]
        );
        assert_eq!(kinds("/* y"), vec![(Illegal, "".into())]);
        assert_eq!(kinds("'ab"), vec![(BadString, "ab".into())]);
        assert_eq!(
            kinds(r"'a\qb'"),
            vec![
                (BadEscape, r"\q".into()),
                (Ident, "b".into()),
                (BadString, "".into())
            ]
        );
        assert_eq!(kinds("é"), vec![(Illegal, "é".into())]);
    }

    #[test]
    fn string_position_is_the_character_before_the_quote() {
        let mut scanner = Scanner::new("ab 'x'");
        let _ = scanner.scan();
        let _ = scanner.scan();
        let string = scanner.scan();
        assert_eq!(string.kind, TokenKind::String);
        assert_eq!(string.pos, Pos { line: 0, char: 2 });
        assert_eq!((string.start, string.end), (3, 6));
    }

    #[test]
    fn regex_on_request() {
        let mut scanner = Scanner::new(r"/a\/b;c/ x");
        let regex = scanner.scan_regex();
        assert_eq!(
            (regex.kind, regex.literal.as_str()),
            (TokenKind::Regex, "a/b;c")
        );
    }
}
