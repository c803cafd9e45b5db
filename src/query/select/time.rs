//! Time in a SELECT: time literals, splitting a WHERE condition into a time range and the
//! rest, GROUP BY time() windows (with `tz()`), and zone offsets read from TZif files.
//!
//! Condition splitting follows InfluxDB 1.6.7: every `time <op> value` comparison found
//! under AND *or* OR is removed from the condition and its range intersected with the
//! others (1.6.7 never unions time ranges, so `time = a OR time = b` selects nothing).
//! `time > t` means `t + 1`, `time < t` means `t - 1`; bounds are inclusive.
//!
//! Windows: `start = t - ((t - offset + zone) mod interval)`, with the zone offset looked
//! up again at the start when it differs by less than the interval (as Go's
//! `IteratorOptions.Window` does).

use crate::influxql::ast::{BinaryOp, Expr, Literal};

/// The smallest time a query may ask for (InfluxDB's `MinTime`).
pub const MIN_TIME_NS: i64 = i64::MIN + 2;
/// The largest time a query may ask for (InfluxDB's `MaxTime`).
pub const MAX_TIME_NS: i64 = i64::MAX - 1;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// An inclusive time range; `min > max` is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// first nanosecond included; [`MIN_TIME_NS`] when unbounded
    pub min_ns: i64,
    /// last nanosecond included; [`MAX_TIME_NS`] when unbounded
    pub max_ns: i64,
}

impl TimeRange {
    /// The unbounded range.
    pub const ALL: TimeRange = TimeRange {
        min_ns: MIN_TIME_NS,
        max_ns: MAX_TIME_NS,
    };

    /// The times in both ranges.
    pub fn intersect(self, other: TimeRange) -> TimeRange {
        TimeRange {
            min_ns: self.min_ns.max(other.min_ns),
            max_ns: self.max_ns.min(other.max_ns),
        }
    }

    /// Whether the range has a lower bound.
    pub fn has_min(&self) -> bool {
        self.min_ns != MIN_TIME_NS
    }

    /// Whether the range has an upper bound.
    pub fn has_max(&self) -> bool {
        self.max_ns != MAX_TIME_NS
    }
}

/// Splits `condition` into its time range and the remaining (non-time) condition.
pub fn split_condition(
    condition: Option<&Expr>,
    now_ns: i64,
) -> Result<(Option<Expr>, TimeRange), String> {
    match condition {
        None => Ok((None, TimeRange::ALL)),
        Some(expr) => split(expr, now_ns),
    }
}

fn split(expr: &Expr, now_ns: i64) -> Result<(Option<Expr>, TimeRange), String> {
    match expr {
        Expr::Paren(inner) => split(inner, now_ns),
        Expr::Binary(binary) => match binary.op {
            BinaryOp::And | BinaryOp::Or => {
                let (lhs, lhs_range) = split(&binary.lhs, now_ns)?;
                let (rhs, rhs_range) = split(&binary.rhs, now_ns)?;
                let range = lhs_range.intersect(rhs_range);
                let rest = match (lhs, rhs) {
                    (None, rhs) => rhs,
                    (lhs, None) => lhs,
                    (Some(lhs), Some(rhs)) => Some(Expr::binary(binary.op, lhs, rhs)),
                };
                Ok((rest, range))
            }
            BinaryOp::Eq
            | BinaryOp::Neq
            | BinaryOp::Lt
            | BinaryOp::Lte
            | BinaryOp::Gt
            | BinaryOp::Gte => {
                if is_time_ref(&binary.lhs) {
                    let value = time_value(&binary.rhs, now_ns)?;
                    Ok((None, comparison_range(binary.op, value)?))
                } else if is_time_ref(&binary.rhs) {
                    let value = time_value(&binary.lhs, now_ns)?;
                    Ok((None, comparison_range(swap_op(binary.op), value)?))
                } else {
                    Ok((Some(expr.clone()), TimeRange::ALL))
                }
            }
            _ => Ok((Some(expr.clone()), TimeRange::ALL)),
        },
        _ => Ok((Some(expr.clone()), TimeRange::ALL)),
    }
}

/// Whether `expr` is the `time` column.
pub fn is_time_ref(expr: &Expr) -> bool {
    matches!(expr.unparenthesised(), Expr::VarRef(var) if var.name.eq_ignore_ascii_case("time"))
}

fn swap_op(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Lte => BinaryOp::Gte,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Gte => BinaryOp::Lte,
        other => other,
    }
}

fn comparison_range(op: BinaryOp, value_ns: i64) -> Result<TimeRange, String> {
    let mut range = TimeRange::ALL;
    match op {
        BinaryOp::Eq => {
            range.min_ns = value_ns;
            range.max_ns = value_ns;
        }
        BinaryOp::Gt => range.min_ns = value_ns.saturating_add(1),
        BinaryOp::Gte => range.min_ns = value_ns,
        BinaryOp::Lt => range.max_ns = value_ns.saturating_sub(1),
        BinaryOp::Lte => range.max_ns = value_ns,
        _ => return Err(format!("invalid time comparison operator: {}", op.as_str())),
    }
    Ok(range)
}

/// The nanosecond value of a time expression: a string time literal, an integer (ns), a
/// duration, `now()`, or `+`/`-` of those.
fn time_value(expr: &Expr, now_ns: i64) -> Result<i64, String> {
    match expr {
        Expr::Paren(inner) => time_value(inner, now_ns),
        Expr::Literal(Literal::String(text)) => parse_time_literal(text).ok_or_else(|| {
            "invalid operation: time and *influxql.StringLiteral are not compatible".to_string()
        }),
        Expr::Literal(Literal::Integer(value)) => Ok(*value),
        Expr::Literal(Literal::Number(value)) => Ok(*value as i64),
        Expr::Literal(Literal::Duration(value)) => Ok(*value),
        Expr::Call(call) if call.name == "now" && call.args.is_empty() => Ok(now_ns),
        Expr::Binary(binary) if matches!(binary.op, BinaryOp::Add | BinaryOp::Sub) => {
            let lhs = time_value(&binary.lhs, now_ns)?;
            let rhs = time_value(&binary.rhs, now_ns)?;
            Ok(if binary.op == BinaryOp::Add {
                lhs.saturating_add(rhs)
            } else {
                lhs.saturating_sub(rhs)
            })
        }
        other => Err(format!("invalid time value: {other}")),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn digits(text: &[u8], count: usize) -> Option<i64> {
    let part = text.get(..count)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        part.iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
    )
}

/// Parses the time literals InfluxQL accepts in conditions: RFC3339 with optional
/// fraction and zone (`2026-11-01T00:00:00.5Z`, `...+01:00`), `2026-11-01 00:00:00[.f]`,
/// and a bare date `2026-11-01`.
pub fn parse_time_literal(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let year = digits(bytes, 4)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(bytes.get(5..)?, 2)?;
    let day = digits(bytes.get(8..)?, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut seconds = days * SECONDS_PER_DAY;
    let mut nanos = 0i64;
    let mut rest = bytes.get(10..)?;
    if !rest.is_empty() {
        let separator = *rest.first()?;
        if separator != b'T' && separator != b' ' {
            return None;
        }
        let clock = rest.get(1..)?;
        let hour = digits(clock, 2)?;
        let minute = digits(clock.get(3..)?, 2)?;
        let second = digits(clock.get(6..)?, 2)?;
        if clock.get(2) != Some(&b':') || clock.get(5) != Some(&b':') {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        seconds += hour * 3600 + minute * 60 + second;
        rest = clock.get(8..)?;
        if rest.first() == Some(&b'.') {
            let fraction_len = rest
                .get(1..)?
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if fraction_len == 0 || fraction_len > 9 {
                return None;
            }
            let value = digits(rest.get(1..)?, fraction_len)?;
            nanos = value * 10i64.pow(9 - fraction_len as u32);
            rest = rest.get(1 + fraction_len..)?;
        }
        match rest.first() {
            None if separator == b' ' => {}
            Some(b'Z') if rest.len() == 1 => {}
            Some(&sign @ (b'+' | b'-')) if rest.len() == 6 && rest.get(3) == Some(&b':') => {
                let zone_hours = digits(rest.get(1..)?, 2)?;
                let zone_minutes = digits(rest.get(4..)?, 2)?;
                let zone = zone_hours * 3600 + zone_minutes * 60;
                seconds -= if sign == b'+' { zone } else { -zone };
            }
            _ => return None,
        }
    }
    seconds.checked_mul(NANOS_PER_SECOND)?.checked_add(nanos)
}

/// A time zone loaded from a TZif file: transitions and their UTC offsets.
#[derive(Clone, Debug, Default)]
pub struct TimeZone {
    /// transition instants in seconds since the epoch, ascending
    transitions_s: Vec<i64>,
    /// offset in seconds in force from the matching transition on
    offsets_s: Vec<i64>,
    /// offset before the first transition (or always, when there are none)
    initial_offset_s: i64,
}

/// Where zone files are looked up, in order (as Go's `LoadLocation` does).
const ZONEINFO_DIRS: &[&str] = &["/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/"];

impl TimeZone {
    /// Loads the zone called `name` (`""`/`UTC`: no offsets); `None` when it cannot be read.
    pub fn load(name: &str) -> Option<TimeZone> {
        if name.is_empty() || name == "UTC" {
            return Some(TimeZone::default());
        }
        if name.contains("..") || name.starts_with('/') {
            return None;
        }
        ZONEINFO_DIRS
            .iter()
            .find_map(|dir| std::fs::read(format!("{dir}{name}")).ok())
            .and_then(|bytes| TimeZone::parse(&bytes))
    }

    /// Parses a TZif file (version 1 data, or the 64-bit block of version 2+).
    pub fn parse(bytes: &[u8]) -> Option<TimeZone> {
        let header = parse_header(bytes)?;
        if bytes.get(4).copied().unwrap_or(0) >= b'2' {
            let skip = 44 + header.block_len(4);
            let second = bytes.get(skip..)?;
            let header2 = parse_header(second)?;
            return parse_block(second.get(44..)?, &header2, 8);
        }
        parse_block(bytes.get(44..)?, &header, 4)
    }

    /// UTC offset in seconds at the instant `time_ns`.
    pub fn offset_seconds(&self, time_ns: i64) -> i64 {
        let seconds = time_ns.div_euclid(NANOS_PER_SECOND);
        match self.transitions_s.partition_point(|&t| t <= seconds) {
            0 => self.initial_offset_s,
            index => self
                .offsets_s
                .get(index - 1)
                .copied()
                .unwrap_or(self.initial_offset_s),
        }
    }
}

struct TzifHeader {
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl TzifHeader {
    fn block_len(&self, time_size: usize) -> usize {
        self.timecnt * time_size
            + self.timecnt
            + self.typecnt * 6
            + self.charcnt
            + self.leapcnt * (time_size + 4)
            + self.isstdcnt
            + self.isutcnt
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(slice))
}

fn parse_header(bytes: &[u8]) -> Option<TzifHeader> {
    if bytes.get(..4)? != b"TZif" {
        return None;
    }
    let count = |index: usize| be_u32(bytes, 20 + index * 4).map(|v| v as usize);
    Some(TzifHeader {
        isutcnt: count(0)?,
        isstdcnt: count(1)?,
        leapcnt: count(2)?,
        timecnt: count(3)?,
        typecnt: count(4)?,
        charcnt: count(5)?,
    })
}

fn parse_block(data: &[u8], header: &TzifHeader, time_size: usize) -> Option<TimeZone> {
    let mut transitions_s = Vec::with_capacity(header.timecnt);
    for index in 0..header.timecnt {
        let at = index * time_size;
        let value = if time_size == 8 {
            let slice: [u8; 8] = data.get(at..at + 8)?.try_into().ok()?;
            i64::from_be_bytes(slice)
        } else {
            i64::from(be_u32(data, at)? as i32)
        };
        transitions_s.push(value);
    }
    let indexes_at = header.timecnt * time_size;
    let types_at = indexes_at + header.timecnt;
    let type_offset = |type_index: usize| -> Option<i64> {
        Some(i64::from(be_u32(data, types_at + type_index * 6)? as i32))
    };
    let mut offsets_s = Vec::with_capacity(header.timecnt);
    for index in 0..header.timecnt {
        let type_index = usize::from(*data.get(indexes_at + index)?);
        offsets_s.push(type_offset(type_index)?);
    }
    Some(TimeZone {
        transitions_s,
        offsets_s,
        initial_offset_s: type_offset(0).unwrap_or(0),
    })
}

/// GROUP BY time() window arithmetic.
#[derive(Clone, Debug)]
pub struct Windows {
    /// bucket width, ns (> 0)
    pub interval_ns: i64,
    /// `time(i, offset)`, ns
    pub offset_ns: i64,
    /// `tz()`, when given
    pub zone: Option<TimeZone>,
}

impl Windows {
    fn zone_ns(&self, time_ns: i64) -> i64 {
        self.zone
            .as_ref()
            .map_or(0, |zone| zone.offset_seconds(time_ns) * NANOS_PER_SECOND)
    }

    /// The start of the window holding `time_ns`.
    pub fn start_of(&self, time_ns: i64) -> i64 {
        let shifted = time_ns.saturating_sub(self.offset_ns);
        let zone = self.zone_ns(shifted);
        let within = (shifted.saturating_add(zone)).rem_euclid(self.interval_ns);
        let mut start = if MIN_TIME_NS.saturating_add(within) >= shifted {
            MIN_TIME_NS
        } else {
            shifted - within
        };
        if self.zone.is_some() {
            let difference = zone - self.zone_ns(start);
            if difference != 0 && difference.abs() < self.interval_ns {
                start += difference;
            }
        }
        start.saturating_add(self.offset_ns)
    }

    /// The start of the window after the one starting at `start_ns`.
    pub fn next_start(&self, start_ns: i64) -> i64 {
        let next = self.start_of(start_ns.saturating_add(self.interval_ns));
        if next <= start_ns {
            start_ns.saturating_add(self.interval_ns)
        } else {
            next
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_1_2026_NS: i64 = 1_793_491_200_000_000_000;

    #[test]
    fn time_literals() {
        assert_eq!(
            parse_time_literal("2026-11-01T00:00:00Z"),
            Some(NOV_1_2026_NS)
        );
        assert_eq!(parse_time_literal("2026-11-01"), Some(NOV_1_2026_NS));
        assert_eq!(
            parse_time_literal("2026-11-01T00:00:09.999999999Z"),
            Some(NOV_1_2026_NS + 9_999_999_999)
        );
        assert_eq!(
            parse_time_literal("2026-11-01T01:00:00+01:00"),
            Some(NOV_1_2026_NS)
        );
        assert_eq!(
            parse_time_literal("2026-11-01 00:00:01"),
            Some(NOV_1_2026_NS + 1_000_000_000)
        );
        assert_eq!(parse_time_literal("2026-13-01"), None);
        assert_eq!(parse_time_literal("yesterday"), None);
        assert_eq!(parse_time_literal("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_time_literal("1969-12-31T23:59:59Z"),
            Some(-1_000_000_000)
        );
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 20_000, 20_758, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn window_alignment() {
        let minute = 60_000_000_000;
        let windows = Windows {
            interval_ns: minute,
            offset_ns: 0,
            zone: None,
        };
        assert_eq!(
            windows.start_of(NOV_1_2026_NS + 59_999_999_999),
            NOV_1_2026_NS
        );
        assert_eq!(windows.start_of(NOV_1_2026_NS - 1), NOV_1_2026_NS - minute);
        let offset = Windows {
            interval_ns: minute,
            offset_ns: 15_000_000_000,
            zone: None,
        };
        assert_eq!(
            offset.start_of(NOV_1_2026_NS),
            NOV_1_2026_NS - 45_000_000_000
        );
        let negative = Windows {
            interval_ns: minute,
            offset_ns: -15_000_000_000,
            zone: None,
        };
        assert_eq!(
            negative.start_of(NOV_1_2026_NS),
            NOV_1_2026_NS - 15_000_000_000
        );
    }

    #[test]
    fn zone_windows_follow_local_midnight() {
        let Some(tokyo) = TimeZone::load("Asia/Tokyo") else {
            return; // no zone files on this machine
        };
        assert_eq!(tokyo.offset_seconds(NOV_1_2026_NS), 9 * 3600);
        let day = 86_400_000_000_000;
        let windows = Windows {
            interval_ns: day,
            offset_ns: 0,
            zone: Some(tokyo),
        };
        // Local midnight of 2026-11-01 in Tokyo is 2026-10-31T15:00:00Z.
        assert_eq!(
            windows.start_of(NOV_1_2026_NS),
            NOV_1_2026_NS - 9 * 3_600_000_000_000
        );
    }

    #[test]
    fn split_keeps_non_time_terms() {
        let query = crate::influxql::parse_query(
            "SELECT a FROM m WHERE host = 'a' AND time >= '2026-11-01T00:00:00Z' AND time < now()",
        )
        .unwrap_or_else(|e| panic!("BUG: {e}"));
        let crate::influxql::Statement::Select(select) = &query.statements[0] else {
            panic!("BUG: not a select");
        };
        let (rest, range) =
            split_condition(select.condition.as_ref(), 5_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(range.min_ns, NOV_1_2026_NS);
        assert_eq!(range.max_ns, 4_999);
        assert_eq!(rest.map(|e| e.to_string()), Some("host = 'a'".to_string()));
    }
}
