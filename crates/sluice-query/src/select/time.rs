//! Time in a SELECT: splitting a WHERE condition into a time range and the rest, GROUP BY
//! time() windows (with `tz()`), zone offsets read from TZif files, and calendar days.
//!
//! Condition splitting follows InfluxDB 1.6.7: every `time <op> value` comparison found
//! under AND *or* OR is removed from the condition and its range intersected with the
//! others (1.6.7 never unions time ranges, so `time = a OR time = b` selects nothing).
//! `time > t` means `t + 1`, `time < t` means `t - 1`; bounds are inclusive. What `t` is
//! (`'2026-11-01'`, `now() - 1h`, ...) is [`operand`]'s business, shared with
//! DELETE and DROP SERIES.
//!
//! Windows: `start = t - ((t - offset + zone) mod interval)`, with the zone offset looked
//! up again at the start when it differs by less than the interval (as Go's
//! `IteratorOptions.Window` does).

pub(crate) mod operand;

use sluice_influxql::ast::{BinaryOp, Expr};

use operand::{time_operand_ns, Evaluation};

/// The smallest time a query may ask for (InfluxDB's `MinTime`).
pub const MIN_TIME_NS: i64 = i64::MIN + 2;
/// The largest time a query may ask for (InfluxDB's `MaxTime`).
pub const MAX_TIME_NS: i64 = i64::MAX - 1;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

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
                    let value = operand_ns(&binary.rhs, now_ns)?;
                    Ok((None, comparison_range(binary.op, value)?))
                } else if is_time_ref(&binary.rhs) {
                    let value = operand_ns(&binary.lhs, now_ns)?;
                    Ok((None, comparison_range(swap_op(binary.op), value)?))
                } else {
                    Ok((Some(expr.clone()), TimeRange::ALL))
                }
            }
            _ => Ok((Some(expr.clone()), TimeRange::ALL)),
        },
        // A bare name is no condition (1.6.7: `WHERE host`, `... AND time`).
        Expr::VarRef(_) => Err(format!("invalid condition expression: {expr}")),
        _ => Ok((Some(expr.clone()), TimeRange::ALL)),
    }
}

/// The nanoseconds of what `time` is compared with, as SELECT reads it (no reduction first).
fn operand_ns(operand: &Expr, now_ns: i64) -> Result<i64, String> {
    time_operand_ns(operand, now_ns, Evaluation::AsWritten).map_err(|error| error.to_string())
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

/// Days since 1970-01-01 of a proleptic Gregorian date.
/// A time written as InfluxQL reads a time string (RFC 3339 like `2026-12-01T00:00:00Z`,
/// `2026-12-01 00:00:00`, or a date), in nanoseconds since the epoch; `None` when the text
/// is not such a time or lies outside the nanosecond range. `sluice backup -since` uses it.
pub fn parse_time_text_ns(text: &str) -> Option<i64> {
    operand::parse_time_text_ns(text)
}

pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
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

    /// The end (exclusive) of the window holding `time_ns`, as 1.6.7 computes it from the
    /// time itself: one interval from its start in local time, moved by the zone's offset
    /// change across the window when that change is smaller than the interval. A point
    /// belongs to the window that starts at `start_of(t)` and ends here.
    pub fn end_of(&self, time_ns: i64) -> i64 {
        let shifted = time_ns.saturating_sub(self.offset_ns);
        let zone = self.zone_ns(shifted);
        let within = (shifted.saturating_add(zone)).rem_euclid(self.interval_ns);
        let remaining = self.interval_ns - within;
        let mut end = if MAX_TIME_NS.saturating_sub(remaining) <= shifted {
            MAX_TIME_NS
        } else {
            shifted + remaining
        };
        if self.zone.is_some() {
            let change = zone - self.zone_ns(end);
            if change != 0 && change.abs() < self.interval_ns {
                end = end.saturating_add(change);
            }
        }
        end.saturating_add(self.offset_ns)
    }

    /// The start of the window after the one starting at `start_ns`, as 1.6.7's fill
    /// iterator steps: one interval on, then moved by the zone's offset change across the
    /// step when that change is smaller than the interval (so a `time(1d)` day across a
    /// daylight-saving change lasts 23 or 25 hours and the next day starts at midnight).
    pub fn next_start(&self, start_ns: i64) -> i64 {
        let next = start_ns.saturating_add(self.interval_ns);
        if self.zone.is_none() {
            return next;
        }
        // The offsets just before each start: a window starting at the very instant of a
        // change still counts as before it, as 1.6.7 compares them.
        let change =
            self.zone_ns(start_ns.saturating_sub(1)) - self.zone_ns(next.saturating_sub(1));
        if change != 0 && change.abs() < self.interval_ns {
            next.saturating_add(change)
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
        let query = sluice_influxql::parse_query(
            "SELECT a FROM m WHERE host = 'a' AND time >= '2026-11-01T00:00:00Z' AND time < now()",
        )
        .unwrap_or_else(|e| panic!("BUG: {e}"));
        let sluice_influxql::Statement::Select(select) = &query.statements[0] else {
            panic!("BUG: not a select");
        };
        let (rest, range) =
            split_condition(select.condition.as_ref(), 5_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(range.min_ns, NOV_1_2026_NS);
        assert_eq!(range.max_ns, 4_999);
        assert_eq!(rest.map(|e| e.to_string()), Some("host = 'a'".to_string()));
    }
}
