//! The value a `time` comparison in a WHERE clause compares with: the `<operand>` of
//! `time >= <operand>`, in nanoseconds.
//!
//! Owns InfluxDB 1.6.7's evaluation of that operand, for SELECT ([`super`] splits its
//! condition) and for DELETE and DROP SERIES (`statements::tag_condition`): InfluxQL's
//! `Reduce` restricted to the values an operand can hold, Go's `time.Parse` of the layouts
//! InfluxQL reads a string as a time with, and InfluxDB's texts for operands that are not
//! times. It reads nothing but the expression and the statement's `now`.
//!
//! # Algorithm (1.6.7's `getTimeRange`)
//! 1. DELETE and DROP SERIES reduce their whole condition before looking for time
//!    ([`Evaluation::ReducedFirst`]); SELECT does not ([`Evaluation::AsWritten`]). So a
//!    parenthesised `('2026-11-01')` or a concatenation `'2026-11-01' + ' 00:00:00'` is a
//!    string at step 2 only there (in SELECT it is a string that is not a time).
//! 2. A string operand that looks like a time (`^\d{4}-\d{2}-\d{2}$`, or those ten bytes
//!    followed by anything but a newline) must parse ([`parse_time_literal`]), else
//!    `invalid timestamp string`. Other strings stay strings.
//! 3. The operand is reduced (table below): `now()` is the statement's time, parentheses go,
//!    arithmetic on literals folds. A string met by arithmetic is read as a time; when it is
//!    not one, or the operator does not apply to the two kinds, the operation stays unfolded.
//! 4. A time must lie in `MinTime + 1 ..= MaxTime` (`time <RFC 3339> overflows time literal`,
//!    `... underflows ...`); a duration or an integer is nanoseconds; a number is truncated;
//!    anything else is `invalid operation: time and *influxql.<Type> are not compatible`
//!    (`StringLiteral`, `BinaryExpr` for an operation that did not fold, `VarRef`, ...).
//!
//! What folds, by the kinds of the left and right values (D duration, I integer, N number,
//! T time), and what it gives:
//!
//! | left | right | operators → result |
//! |---|---|---|
//! | T | D, or I as a duration | `+ -` → T |
//! | T | T | `-` → D |
//! | D | D | `+ -` → D |
//! | D | I, or N truncated | `* /` → D |
//! | D, or I as a duration | T | `+` → T |
//! | I as a time | D | `+ -` → T |
//! | I | I | `+ - * % & \| ^` → I, `/` → N |
//! | N or I | N or I (not both I) | `+ - * / %` → N |
//!
//! A string on either side of a time, duration or integer is read as a time; string `+`
//! string concatenates. Like values compare (`=`, `<`, ...) to a boolean; `true AND x` is `x`.
//! `/` by zero gives zero (a number, for integers); integer and duration arithmetic wraps as
//! Go's does; a time minus a time saturates at the duration range.
//!
//! # Divergences (found against 1.6.7, left alone)
//! - Go reads a zoneless string in the statement's `tz()` zone in SELECT; here always UTC.
//! - A number becomes an integer by Rust's saturating `as`; Go's conversion gives `i64::MIN`
//!   for NaN and beyond ±2^63.
//! - A duration divided by a number in `(-1, 1)` other than 0 panics in Go (the statement
//!   fails with the panic's text); here the division stays unfolded.

use std::fmt;

use sluice_influxql::ast::{BinaryOp, Expr, Literal};

use super::{civil_from_days, days_from_civil, MAX_TIME_NS, MIN_TIME_NS};

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Digits of a fraction of a second Go's `time.Parse` reads (more is an error here).
const FRACTION_DIGITS_MAX: usize = 9;

/// How the statement hands its condition to 1.6.7's time-range code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Evaluation {
    /// SELECT: the condition as written (`query.ParseCondition`)
    AsWritten,
    /// DELETE, DROP SERIES: `influxql.Reduce` of the condition first (`now()` replaced)
    ReducedFirst,
}

/// Why an operand is not a time; `Display` is InfluxDB's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TimeOperandError {
    /// a string that looks like a time but is not one Go's `time.Parse` reads
    InvalidTimestamp,
    /// a time after `MaxTime`, printed as RFC 3339 in its own zone
    Overflow(String),
    /// a time before `MinTime + 1`, printed as RFC 3339 in its own zone
    Underflow(String),
    /// an operand that is not a time: the Go type InfluxQL leaves it as
    NotCompatible(&'static str),
}

impl fmt::Display for TimeOperandError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeOperandError::InvalidTimestamp => formatter.write_str("invalid timestamp string"),
            TimeOperandError::Overflow(time) => {
                write!(formatter, "time {time} overflows time literal")
            }
            TimeOperandError::Underflow(time) => {
                write!(formatter, "time {time} underflows time literal")
            }
            TimeOperandError::NotCompatible(go_type) => write!(
                formatter,
                "invalid operation: time and *influxql.{go_type} are not compatible"
            ),
        }
    }
}

/// The nanoseconds `operand` stands for in `time <op> operand`, `now_ns` being `now()`.
pub(crate) fn time_operand_ns(
    operand: &Expr,
    now_ns: i64,
    evaluation: Evaluation,
) -> Result<i64, TimeOperandError> {
    let reduced = match (evaluation, operand) {
        (Evaluation::AsWritten, Expr::Literal(Literal::String(text))) => string_operand(text)?,
        (Evaluation::AsWritten, other) => reduce(other, now_ns),
        (Evaluation::ReducedFirst, other) => match reduce(other, now_ns) {
            Operand::Text(text) => string_operand(&text)?,
            reduced => reduced,
        },
    };
    operand_ns(reduced)
}

/// A time as Go's `time.Time` carries it here: the instant and the zone it prints in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TimeValue {
    /// nanoseconds since the epoch (wider than i64: a literal may be out of range)
    unix_ns: i128,
    /// the UTC offset it prints with; 0 prints as `Z`
    zone_offset_s: i64,
}

impl TimeValue {
    fn utc(unix_ns: i128) -> TimeValue {
        TimeValue {
            unix_ns,
            zone_offset_s: 0,
        }
    }

    fn plus_ns(self, duration_ns: i64) -> TimeValue {
        TimeValue {
            unix_ns: self.unix_ns.saturating_add(i128::from(duration_ns)),
            ..self
        }
    }

    /// Go's `Time.Sub`: saturates at the duration range.
    fn minus(self, other: TimeValue) -> i64 {
        let difference = self.unix_ns - other.unix_ns;
        i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
    }

    /// Go's `Format(time.RFC3339)`: seconds, then `Z` or the offset.
    fn rfc3339(self) -> String {
        let local_s = self.unix_ns.div_euclid(NANOS_PER_SECOND) + i128::from(self.zone_offset_s);
        let days = i64::try_from(local_s.div_euclid(i128::from(SECONDS_PER_DAY))).unwrap_or(0);
        let second_of_day = local_s.rem_euclid(i128::from(SECONDS_PER_DAY));
        let (year, month, day) = civil_from_days(days);
        let year = if year < 0 {
            format!("-{:04}", -year)
        } else {
            format!("{year:04}")
        };
        let (hour, minute, second) = (
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60,
        );
        let zone = match self.zone_offset_s {
            0 => "Z".to_string(),
            offset => {
                let sign = if offset < 0 { '-' } else { '+' };
                let minutes = offset.abs() / 60;
                format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
        };
        format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{zone}")
    }
}

/// What InfluxQL's `Reduce` leaves of an operand.
#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Time(TimeValue),
    Duration(i64),
    Integer(i64),
    Number(f64),
    Text(String),
    Boolean(bool),
    /// a node `Reduce` leaves as it is: its Go type name
    Unreduced(&'static str),
}

/// Step 4: the nanoseconds of a reduced operand.
fn operand_ns(operand: Operand) -> Result<i64, TimeOperandError> {
    match operand {
        Operand::Time(time) if time.unix_ns > i128::from(MAX_TIME_NS) => {
            Err(TimeOperandError::Overflow(time.rfc3339()))
        }
        // MinTime itself is a sentinel: the first time a literal may name is one later
        Operand::Time(time) if time.unix_ns < i128::from(MIN_TIME_NS) + 1 => {
            Err(TimeOperandError::Underflow(time.rfc3339()))
        }
        Operand::Time(time) => {
            i64::try_from(time.unix_ns).map_err(|_| TimeOperandError::Overflow(time.rfc3339()))
        }
        Operand::Duration(ns) | Operand::Integer(ns) => Ok(ns),
        Operand::Number(value) => Ok(value as i64),
        Operand::Text(_) => Err(TimeOperandError::NotCompatible("StringLiteral")),
        Operand::Boolean(_) => Err(TimeOperandError::NotCompatible("BooleanLiteral")),
        Operand::Unreduced(go_type) => Err(TimeOperandError::NotCompatible(go_type)),
    }
}

/// Step 2: a string operand, parsed when it looks like a time.
fn string_operand(text: &str) -> Result<Operand, TimeOperandError> {
    if !looks_like_time(text) {
        return Ok(Operand::Text(text.to_string()));
    }
    parse_time_literal(text)
        .map(Operand::Time)
        .ok_or(TimeOperandError::InvalidTimestamp)
}

/// Step 3: InfluxQL's `Reduce` with a `now()` valuer.
fn reduce(expr: &Expr, now_ns: i64) -> Operand {
    match expr {
        Expr::Paren(inner) => reduce(inner, now_ns),
        Expr::Literal(literal) => literal_operand(literal),
        Expr::Call(call) if call.name == "now" && call.args.is_empty() => {
            Operand::Time(TimeValue::utc(i128::from(now_ns)))
        }
        Expr::Call(_) => Operand::Unreduced("Call"),
        Expr::VarRef(_) => Operand::Unreduced("VarRef"),
        Expr::Distinct(_) => Operand::Unreduced("Distinct"),
        Expr::Wildcard(_) => Operand::Unreduced("Wildcard"),
        Expr::Binary(binary) => reduce_binary(
            binary.op,
            reduce(&binary.lhs, now_ns),
            reduce(&binary.rhs, now_ns),
        ),
    }
}

fn literal_operand(literal: &Literal) -> Operand {
    match literal {
        Literal::Integer(value) => Operand::Integer(*value),
        Literal::Number(value) => Operand::Number(*value),
        Literal::Duration(ns) => Operand::Duration(*ns),
        Literal::String(text) => Operand::Text(text.clone()),
        Literal::Boolean(value) => Operand::Boolean(*value),
        Literal::Unsigned(_) => Operand::Unreduced("UnsignedLiteral"),
        Literal::Regex(_) => Operand::Unreduced("RegexLiteral"),
    }
}

/// `Reduce` of `lhs op rhs` (both reduced already); an operation that does not fold is a
/// `BinaryExpr`.
fn reduce_binary(op: BinaryOp, lhs: Operand, rhs: Operand) -> Operand {
    if let Some(decided) = logical_shortcut(op, &lhs, &rhs) {
        return match decided {
            Shortcut::Value(value) => Operand::Boolean(value),
            Shortcut::Lhs => lhs,
            Shortcut::Rhs => rhs,
        };
    }
    let folded = match lhs {
        Operand::Time(time) => time_lhs(op, time, rhs),
        Operand::Duration(ns) => duration_lhs(op, ns, rhs),
        Operand::Integer(value) => integer_lhs(op, value, rhs),
        Operand::Number(value) => number_lhs(op, value, &rhs),
        Operand::Text(text) => text_lhs(op, &text, rhs),
        Operand::Boolean(value) => boolean_lhs(op, value, &rhs),
        Operand::Unreduced(_) => None,
    };
    folded.unwrap_or(Operand::Unreduced("BinaryExpr"))
}

/// What `AND`/`OR` with a boolean literal on one side reduces to.
enum Shortcut {
    Value(bool),
    Lhs,
    Rhs,
}

fn logical_shortcut(op: BinaryOp, lhs: &Operand, rhs: &Operand) -> Option<Shortcut> {
    let truth = |operand: &Operand| match operand {
        Operand::Boolean(value) => Some(*value),
        _ => None,
    };
    let (lhs, rhs) = (truth(lhs), truth(rhs));
    match op {
        BinaryOp::And if lhs == Some(false) || rhs == Some(false) => Some(Shortcut::Value(false)),
        BinaryOp::And if lhs == Some(true) => Some(Shortcut::Rhs),
        BinaryOp::And if rhs == Some(true) => Some(Shortcut::Lhs),
        BinaryOp::Or if lhs == Some(true) || rhs == Some(true) => Some(Shortcut::Value(true)),
        BinaryOp::Or if lhs == Some(false) => Some(Shortcut::Rhs),
        BinaryOp::Or if rhs == Some(false) => Some(Shortcut::Lhs),
        _ => None,
    }
}

/// `lhs op rhs` for `=`, `!=`, `<`, `<=`, `>`, `>=`; `None` for any other operator.
fn compare<T: PartialOrd>(op: BinaryOp, lhs: T, rhs: T) -> Option<Operand> {
    let result = match op {
        BinaryOp::Eq => lhs == rhs,
        BinaryOp::Neq => lhs != rhs,
        BinaryOp::Lt => lhs < rhs,
        BinaryOp::Lte => lhs <= rhs,
        BinaryOp::Gt => lhs > rhs,
        BinaryOp::Gte => lhs >= rhs,
        _ => return None,
    };
    Some(Operand::Boolean(result))
}

/// A string met by arithmetic: a time when it looks like one and parses.
fn text_as_time(text: &str) -> Option<TimeValue> {
    looks_like_time(text)
        .then(|| parse_time_literal(text))
        .flatten()
}

fn time_lhs(op: BinaryOp, time: TimeValue, rhs: Operand) -> Option<Operand> {
    match (op, rhs) {
        (BinaryOp::Add, Operand::Duration(ns) | Operand::Integer(ns)) => {
            Some(Operand::Time(time.plus_ns(ns)))
        }
        (BinaryOp::Sub, Operand::Duration(ns) | Operand::Integer(ns)) => {
            Some(Operand::Time(time.plus_ns(ns.wrapping_neg())))
        }
        (BinaryOp::Sub, Operand::Time(other)) => Some(Operand::Duration(time.minus(other))),
        (op, Operand::Time(other)) => compare(op, time.unix_ns, other.unix_ns),
        (op, Operand::Text(text)) => time_lhs(op, time, Operand::Time(text_as_time(&text)?)),
        _ => None,
    }
}

fn duration_lhs(op: BinaryOp, ns: i64, rhs: Operand) -> Option<Operand> {
    match (op, rhs) {
        (BinaryOp::Add, Operand::Duration(other)) => {
            Some(Operand::Duration(ns.wrapping_add(other)))
        }
        (BinaryOp::Sub, Operand::Duration(other)) => {
            Some(Operand::Duration(ns.wrapping_sub(other)))
        }
        (op, Operand::Duration(other)) => compare(op, ns, other),
        (op, Operand::Number(factor)) => {
            // Go converts the number to a duration first (`1s * 1.5` is one second), but
            // checks the number for zero: `1s / 0.5` divides by zero and panics there
            let truncated = factor as i64;
            if op == BinaryOp::Div && truncated == 0 && factor != 0.0 {
                return None;
            }
            scale_duration(op, ns, truncated)
        }
        (op, Operand::Integer(factor)) => scale_duration(op, ns, factor),
        (BinaryOp::Add, Operand::Time(time)) => Some(Operand::Time(time.plus_ns(ns))),
        (op, Operand::Text(text)) => duration_lhs(op, ns, Operand::Time(text_as_time(&text)?)),
        _ => None,
    }
}

/// `ns * factor` or `ns / factor` (zero when `factor` is 0, as InfluxQL guards it).
fn scale_duration(op: BinaryOp, ns: i64, factor: i64) -> Option<Operand> {
    match op {
        BinaryOp::Mul => Some(Operand::Duration(ns.wrapping_mul(factor))),
        BinaryOp::Div if factor == 0 => Some(Operand::Duration(0)),
        BinaryOp::Div => Some(Operand::Duration(ns.wrapping_div(factor))),
        _ => None,
    }
}

fn integer_lhs(op: BinaryOp, value: i64, rhs: Operand) -> Option<Operand> {
    match rhs {
        Operand::Number(other) => number_lhs(op, value as f64, &Operand::Number(other)),
        Operand::Integer(other) => integer_arithmetic(op, value, other),
        // the integer is a time, the duration moves it
        Operand::Duration(ns) => {
            time_lhs(op, TimeValue::utc(i128::from(value)), Operand::Duration(ns))
        }
        // the integer is a duration added to the time
        Operand::Time(_) | Operand::Text(_) => duration_lhs(op, value, rhs),
        _ => None,
    }
}

fn integer_arithmetic(op: BinaryOp, lhs: i64, rhs: i64) -> Option<Operand> {
    let integer = match op {
        BinaryOp::Add => lhs.wrapping_add(rhs),
        BinaryOp::Sub => lhs.wrapping_sub(rhs),
        BinaryOp::Mul => lhs.wrapping_mul(rhs),
        BinaryOp::Mod if rhs == 0 => 0,
        BinaryOp::Mod => lhs.wrapping_rem(rhs),
        BinaryOp::BitwiseAnd => lhs & rhs,
        BinaryOp::BitwiseOr => lhs | rhs,
        BinaryOp::BitwiseXor => lhs ^ rhs,
        BinaryOp::Div if rhs == 0 => return Some(Operand::Number(0.0)),
        BinaryOp::Div => return Some(Operand::Number(lhs as f64 / rhs as f64)),
        op => return compare(op, lhs, rhs),
    };
    Some(Operand::Integer(integer))
}

fn number_lhs(op: BinaryOp, value: f64, rhs: &Operand) -> Option<Operand> {
    let other = match rhs {
        Operand::Number(other) => *other,
        Operand::Integer(other) => *other as f64,
        _ => return None,
    };
    let number = match op {
        BinaryOp::Add => value + other,
        BinaryOp::Sub => value - other,
        BinaryOp::Mul => value * other,
        BinaryOp::Div if other == 0.0 => 0.0,
        BinaryOp::Div => value / other,
        BinaryOp::Mod => value % other,
        op => return compare(op, value, other),
    };
    Some(Operand::Number(number))
}

fn text_lhs(op: BinaryOp, text: &str, rhs: Operand) -> Option<Operand> {
    match (op, rhs) {
        (BinaryOp::Add, Operand::Text(other)) => Some(Operand::Text(format!("{text}{other}"))),
        (BinaryOp::Eq, Operand::Text(other)) => Some(Operand::Boolean(text == other)),
        (BinaryOp::Neq, Operand::Text(other)) => Some(Operand::Boolean(text != other)),
        (
            op,
            rhs
            @ (Operand::Text(_) | Operand::Duration(_) | Operand::Time(_) | Operand::Integer(_)),
        ) => time_lhs(op, text_as_time(text)?, rhs),
        _ => None,
    }
}

fn boolean_lhs(op: BinaryOp, value: bool, rhs: &Operand) -> Option<Operand> {
    let Operand::Boolean(other) = rhs else {
        return None;
    };
    match op {
        BinaryOp::And | BinaryOp::BitwiseAnd => Some(Operand::Boolean(value & *other)),
        BinaryOp::Or | BinaryOp::BitwiseOr => Some(Operand::Boolean(value | *other)),
        BinaryOp::BitwiseXor => Some(Operand::Boolean(value ^ *other)),
        BinaryOp::Eq | BinaryOp::Neq => compare(op, value, *other),
        _ => None,
    }
}

/// Whether InfluxQL takes `text` for a time literal: `^\d{4}-\d{2}-\d{2}$` (a date) or
/// `^\d{4}-\d{2}-\d{2}.+` (a date and more; Go's `.` is anything but a newline).
fn looks_like_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let date_shaped = bytes.len() >= 10
        && bytes
            .iter()
            .take(10)
            .enumerate()
            .all(|(index, byte)| match index {
                4 | 7 => *byte == b'-',
                _ => byte.is_ascii_digit(),
            });
    date_shaped && bytes.get(10) != Some(&b'\n')
}

/// Go's `time.ParseInLocation` in UTC of a string [`looks_like_time`] accepted, as
/// InfluxQL's `ToTimeLiteral` tries it: a bare date with `2006-01-02`; anything longer with
/// `2006-01-02 15:04:05.999999`, then RFC 3339 (`2006-01-02T15:04:05.999999999Z07:00`).
///
/// Go's rules kept: the hour may have one digit; a fraction of a second may use `,` and has
/// at most nine digits (with either layout); each space of the first layout matches one or
/// more spaces; the day must exist in its month; minutes and seconds stop at 59, hours at 23;
/// a zone offset `±hh:mm` is not range-checked.
fn parse_time_literal(text: &str) -> Option<TimeValue> {
    if text.len() == 10 {
        return Cursor::new(text.as_bytes()).date()?.at(0, 0);
    }
    parse_date_space_time(text).or_else(|| parse_rfc3339(text))
}

/// A time written as InfluxQL reads a time string (RFC 3339, `2006-01-02 15:04:05`, a
/// date), in nanoseconds since the epoch; `None` when it is not one or is out of range.
pub(crate) fn parse_time_text_ns(text: &str) -> Option<i64> {
    i64::try_from(parse_time_literal(text)?.unix_ns).ok()
}

/// `2006-01-02 15:04:05.999999`: zoneless, read as UTC.
fn parse_date_space_time(text: &str) -> Option<TimeValue> {
    let mut cursor = Cursor::new(text.as_bytes());
    let date = cursor.date()?;
    cursor.spaces()?;
    let seconds = cursor.clock()?;
    let nanos = cursor.fraction()?;
    cursor.end()?;
    date.at(seconds, nanos)
}

/// `2006-01-02T15:04:05.999999999Z07:00`.
fn parse_rfc3339(text: &str) -> Option<TimeValue> {
    let mut cursor = Cursor::new(text.as_bytes());
    let date = cursor.date()?;
    cursor.byte(b'T')?;
    let seconds = cursor.clock()?;
    let nanos = cursor.fraction()?;
    let zone_offset_s = cursor.zone()?;
    cursor.end()?;
    let local = date.at(seconds, nanos)?;
    Some(TimeValue {
        unix_ns: local.unix_ns - i128::from(zone_offset_s) * NANOS_PER_SECOND,
        zone_offset_s,
    })
}

/// A calendar date read by [`Cursor::date`].
struct Date {
    year: i64,
    month: i64,
    day: i64,
}

impl Date {
    /// The UTC time `seconds` (of the day) and `nanos` into this date; `None` when the day
    /// does not exist in its month (Go's `day out of range`).
    fn at(&self, seconds: i64, nanos: i64) -> Option<TimeValue> {
        if !(1..=days_in_month(self.year, self.month)).contains(&self.day) {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        let unix_s = i128::from(days * SECONDS_PER_DAY + seconds);
        Some(TimeValue::utc(
            unix_s * NANOS_PER_SECOND + i128::from(nanos),
        ))
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `time.Parse` reading a value against one layout, a chunk at a time.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(text: &'a [u8]) -> Cursor<'a> {
        Cursor { rest: text }
    }

    /// The next `count` bytes, all ASCII digits, as a number.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let (digits, rest) = self.rest.split_at_checked(count)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.rest = rest;
        Some(
            digits
                .iter()
                .fold(0, |number, digit| number * 10 + i64::from(digit - b'0')),
        )
    }

    /// A literal byte of the layout.
    fn byte(&mut self, expected: u8) -> Option<()> {
        let (&first, rest) = self.rest.split_first()?;
        (first == expected).then(|| self.rest = rest)
    }

    /// A layout space: one or more spaces.
    fn spaces(&mut self) -> Option<()> {
        let count = self.rest.iter().take_while(|&&byte| byte == b' ').count();
        self.rest = self.rest.get(count..)?;
        (count > 0).then_some(())
    }

    /// `2006-01-02` (the month checked here, the day by [`Date::at`]).
    fn date(&mut self) -> Option<Date> {
        let year = self.digits(4)?;
        self.byte(b'-')?;
        let month = self.digits(2)?;
        self.byte(b'-')?;
        let day = self.digits(2)?;
        (1..=12)
            .contains(&month)
            .then_some(Date { year, month, day })
    }

    /// `15:04:05`: seconds of the day (the hour may have one digit).
    fn clock(&mut self) -> Option<i64> {
        let two_digit_hour = self.rest.get(1).is_some_and(u8::is_ascii_digit);
        let hour = self.digits(if two_digit_hour { 2 } else { 1 })?;
        self.byte(b':')?;
        let minute = self.digits(2)?;
        self.byte(b':')?;
        let second = self.digits(2)?;
        (hour < 24 && minute < 60 && second < 60).then_some(hour * 3600 + minute * 60 + second)
    }

    /// `.999999999`, optional: nanoseconds from `.` or `,` and up to nine digits.
    fn fraction(&mut self) -> Option<i64> {
        let starts = matches!(self.rest.first(), Some(b'.' | b','))
            && self.rest.get(1).is_some_and(u8::is_ascii_digit);
        if !starts {
            return Some(0);
        }
        self.rest = self.rest.get(1..)?;
        let count = self
            .rest
            .iter()
            .take(FRACTION_DIGITS_MAX)
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        let value = self.digits(count)?;
        let scale = 10i64.pow(u32::try_from(FRACTION_DIGITS_MAX - count).ok()?);
        Some(value * scale)
    }

    /// `Z07:00`: `Z`, or `±hh:mm`; the offset east of UTC in seconds.
    fn zone(&mut self) -> Option<i64> {
        if self.byte(b'Z').is_some() {
            return Some(0);
        }
        let sign = match self.rest.first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.rest = self.rest.get(1..)?;
        let hours = self.digits(2)?;
        self.byte(b':')?;
        let minutes = self.digits(2)?;
        Some(sign * (hours * 3600 + minutes * 60))
    }

    /// The layout is done: no text may be left (Go's `extra text`).
    fn end(&self) -> Option<()> {
        self.rest.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    //! Every expectation here was checked against influxd 1.6.7 (SELECT and DELETE).
    use super::*;
    use sluice_influxql::Statement;

    const NOV_1_2026_NS: i64 = 1_793_491_200_000_000_000;
    const NOW_NS: i64 = 1_800_000_000_000_000_000;
    const SECOND_NS: i64 = 1_000_000_000;

    /// The right-hand side of `time >= <text>`.
    fn operand(text: &str) -> Expr {
        let statement = format!("SELECT v FROM m WHERE time >= {text}");
        let query = sluice_influxql::parse_query(&statement)
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
        match query.statements.first() {
            Some(Statement::Select(select)) => match &select.condition {
                Some(Expr::Binary(binary)) => binary.rhs.clone(),
                other => panic!("{statement}: condition {other:?}"),
            },
            other => panic!("{statement}: {other:?}"),
        }
    }

    fn select(text: &str) -> Result<i64, String> {
        time_operand_ns(&operand(text), NOW_NS, Evaluation::AsWritten).map_err(|e| e.to_string())
    }

    fn delete(text: &str) -> Result<i64, String> {
        time_operand_ns(&operand(text), NOW_NS, Evaluation::ReducedFirst).map_err(|e| e.to_string())
    }

    fn not_compatible(go_type: &str) -> Result<i64, String> {
        Err(format!(
            "invalid operation: time and *influxql.{go_type} are not compatible"
        ))
    }

    #[test]
    fn strings_parse_as_go_time_parse_does() {
        for (text, expected) in [
            ("'2026-11-01T00:00:00Z'", NOV_1_2026_NS),
            ("'2026-11-01'", NOV_1_2026_NS),
            ("'2026-11-01 00:00:01'", NOV_1_2026_NS + SECOND_NS),
            ("'2026-11-01   00:00:01'", NOV_1_2026_NS + SECOND_NS),
            ("'2026-11-01T0:00:01Z'", NOV_1_2026_NS + SECOND_NS),
            ("'2026-11-01 0:00:01'", NOV_1_2026_NS + SECOND_NS),
            ("'2026-11-01 00:00:00,5'", NOV_1_2026_NS + SECOND_NS / 2),
            ("'2026-11-01 00:00:00.1234567'", NOV_1_2026_NS + 123_456_700),
            (
                "'2026-11-01T00:00:00.123456789Z'",
                NOV_1_2026_NS + 123_456_789,
            ),
            ("'2026-11-01T01:00:00+01:00'", NOV_1_2026_NS),
            ("'2026-10-31T22:30:00-01:30'", NOV_1_2026_NS),
            (
                "'2026-11-01T00:00:00+99:00'",
                NOV_1_2026_NS - 99 * 3600 * SECOND_NS,
            ),
            ("'1970-01-01T00:00:00Z'", 0),
            ("'1969-12-31T23:59:59Z'", -SECOND_NS),
            ("'2262-04-11T23:47:16.854775806Z'", MAX_TIME_NS),
            ("'1677-09-21T00:12:43.145224195Z'", MIN_TIME_NS + 1),
        ] {
            assert_eq!(select(text), Ok(expected), "{text}");
            assert_eq!(delete(text), Ok(expected), "{text}");
        }
        assert!(select("'2024-02-29'").is_ok() && select("'2000-02-29'").is_ok());
    }

    #[test]
    fn time_shaped_strings_that_do_not_parse() {
        let invalid = Err("invalid timestamp string".to_string());
        for text in [
            "'2026-11-01T00:00:00'",
            "'2026-11-01 00:00:00Z'",
            "'2026-11-01 00:00:00+00:00'",
            "'2026-11-01T00:00:60Z'",
            "'2026-11-01T24:00:00Z'",
            "'2026-11-01T00:0:00Z'",
            "'2026-11-01T00:00:00z'",
            "'2026-11-01T00:00:00.Z'",
            "'2026-11-01T00:00:00.1234567891Z'",
            "'2026-11-01T00:00:00+0100'",
            "'2026-11-01T00:00:00Z '",
            "'2026-02-29'",
            "'2100-02-29'",
            "'2026-04-31'",
            "'2026-13-01'",
            "'2026-11-00'",
            "'2026-11-01x'",
        ] {
            assert_eq!(select(text), invalid, "{text}");
            assert_eq!(delete(text), invalid, "{text}");
        }
        for text in ["'yesterday'", "' 2026-11-01'", "'2026-1-01'"] {
            assert_eq!(select(text), not_compatible("StringLiteral"), "{text}");
        }
    }

    #[test]
    fn times_outside_the_range_name_themselves() {
        assert_eq!(
            select("'2262-04-11 23:47:17'"),
            Err("time 2262-04-11T23:47:17Z overflows time literal".to_string())
        );
        assert_eq!(
            delete("'2262-04-11T23:47:16.854775807Z'"),
            Err("time 2262-04-11T23:47:16Z overflows time literal".to_string())
        );
        assert_eq!(
            select("'2026-11-01T00:00:00+01:00' + 300000d"),
            Err("time 2263-08-27T00:25:26+01:00 overflows time literal".to_string())
        );
        assert_eq!(
            select("'1677-09-21T00:12:43.145224194Z'"),
            Err("time 1677-09-21T00:12:43Z underflows time literal".to_string())
        );
        assert_eq!(
            delete("'0000-01-01'"),
            Err("time 0000-01-01T00:00:00Z underflows time literal".to_string())
        );
    }

    #[test]
    fn arithmetic_folds_as_influxql_reduce() {
        for (text, expected) in [
            ("now()", NOW_NS),
            ("now() - 1h", NOW_NS - 3600 * SECOND_NS),
            ("(now() - 1d)", NOW_NS - 86_400 * SECOND_NS),
            ("now() - '2026-11-01T00:00:00Z'", NOW_NS - NOV_1_2026_NS),
            ("'2026-11-01T00:00:00Z' + 1s", NOV_1_2026_NS + SECOND_NS),
            (
                "1h + '2026-11-01T00:00:00Z'",
                NOV_1_2026_NS + 3600 * SECOND_NS,
            ),
            ("'2026-11-01T00:00:00Z' - 1", NOV_1_2026_NS - 1),
            ("1793491200000000000 + 1s", NOV_1_2026_NS + SECOND_NS),
            ("1793491200000000000 + 1.5", NOV_1_2026_NS),
            ("10 * 2", 20),
            ("10 / 4", 2),
            ("10 / 0", 0),
            ("10 % 3", 1),
            ("10 & 3", 2),
            ("10 ^ 3", 9),
            ("1s * 2", 2 * SECOND_NS),
            ("1s * 1.5", SECOND_NS),
            ("1s / 0", 0),
            ("1s - 1s - 1s", -SECOND_NS),
            ("(true AND 1s)", SECOND_NS),
            ("1.5", 1),
        ] {
            assert_eq!(select(text), Ok(expected), "{text}");
            assert_eq!(delete(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn operands_that_are_not_times_name_their_go_type() {
        for (text, go_type) in [
            ("host", "VarRef"),
            ("mean(v)", "Call"),
            ("now(1)", "Call"),
            ("true", "BooleanLiteral"),
            ("(1 < 2)", "BooleanLiteral"),
            ("true & true", "BooleanLiteral"),
            ("now() * 2", "BinaryExpr"),
            ("(now() > 1s)", "BinaryExpr"),
            ("'yesterday' + 1s", "BinaryExpr"),
            ("'2026-13-01' + 1s", "BinaryExpr"),
            ("'2026-11-01T00:00:00Z' + 1.5", "BinaryExpr"),
            ("'2026-11-01T00:00:00Z' + v", "BinaryExpr"),
            ("1s + 1.5", "BinaryExpr"),
            ("2 * 1s", "BinaryExpr"),
            ("1s - now()", "BinaryExpr"),
            ("1s % 2", "BinaryExpr"),
            ("1.5 & 1", "BinaryExpr"),
        ] {
            assert_eq!(select(text), not_compatible(go_type), "{text}");
            assert_eq!(delete(text), not_compatible(go_type), "{text}");
        }
    }

    #[test]
    fn delete_reduces_before_it_reads_strings() {
        // SELECT reads a string as a time only when it is the whole operand
        assert_eq!(select("('2026-11-01')"), not_compatible("StringLiteral"));
        assert_eq!(delete("('2026-11-01')"), Ok(NOV_1_2026_NS));
        assert_eq!(select("('2026-13-01')"), not_compatible("StringLiteral"));
        assert_eq!(
            delete("('2026-13-01')"),
            Err("invalid timestamp string".to_string())
        );
        let concatenated = "'2026-11-01' + ' 00:00:01'";
        assert_eq!(select(concatenated), not_compatible("StringLiteral"));
        assert_eq!(delete(concatenated), Ok(NOV_1_2026_NS + SECOND_NS));
        assert_eq!(delete("('yesterday')"), not_compatible("StringLiteral"));
    }
}
