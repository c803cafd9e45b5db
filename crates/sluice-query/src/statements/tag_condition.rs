//! WHERE conditions on tags, evaluated as series bitmaps of one measurement.
//!
//! Owns the meaning of a metadata WHERE clause (SHOW SERIES/MEASUREMENTS/TAG KEYS/TAG
//! VALUES, DROP SERIES, DELETE): `AND` intersects, `OR` unites, and each comparison is
//! answered from the index's postings, never from points:
//!
//! | comparison | series |
//! |---|---|
//! | `k = 'v'` | postings of `k=v` (`k = ''`: series without `k`) |
//! | `k != 'v'` | all − postings of `k=v` (series without `k` included) |
//! | `k =~ /re/` | postings of values matching `re` (∪ series without `k` if `re` matches "") |
//! | `k !~ /re/` | all − the above |
//! | `_name = 'm'`, `_name =~ /re/` ... | all or nothing, by the measurement name |
//! | anything on `time` | taken out (`a OR time > x` is `a`); the caller reads time bounds separately ([`time_range`]) |
//! | a bare name or literal (`WHERE host`) | refused ([`check_operands`]), never "all" |
//! | `k1 = k2` / `k1 != k2` | series with both keys / with `k1` and without `k2` (values not compared) |
//! | `lit = lit` | all or nothing by the literals |
//! | anything on `_tagKey` | SHOW: all (as 1.6.7 reads it); DELETE/DROP SERIES: an ordinary tag |
//!
//! Ordering operators (`<`, `>`, ...) on tags are InfluxDB's `invalid tag comparison
//! operator`.

use roaring::RoaringBitmap;

use crate::select::regex::series_with_tag_matching_regex;
use crate::select::time::operand::{time_operand_ns, Evaluation};
use sluice_influxql::ast::{BinaryExpr, BinaryOp, Expr, Literal};
use sluice_storage::series_index::SeriesIndex;

/// The pseudo-tag naming the measurement in metadata conditions.
const MEASUREMENT_NAME_KEY: &str = "_name";
/// The time pseudo-field.
const TIME_KEY: &str = "time";
/// The pseudo-tag of tag keys (meaningful to SHOW TAG KEYS in 1.6.7; true elsewhere).
const TAG_KEY_KEY: &str = "_tagKey";

/// InfluxDB's error for `<`, `>`, ... on a tag.
pub const INVALID_TAG_COMPARISON: &str = "invalid tag comparison operator";

/// Which statement reads a condition: the two differ on `_tagKey`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConditionReader {
    /// SHOW SERIES / TAG KEYS / TAG VALUES and the cardinalities
    Show,
    /// DELETE and DROP SERIES
    Delete,
}

/// The series of `measurement` (unescaped) that `condition` selects; every series of it when
/// `condition` is `None`.
pub fn matching_series(
    index: &SeriesIndex,
    measurement: &[u8],
    condition: Option<&Expr>,
    reader: ConditionReader,
) -> Result<RoaringBitmap, String> {
    let all = index.measurement_series(measurement);
    match condition {
        None => Ok(all),
        Some(condition) => evaluate(index, measurement, &all, condition, reader),
    }
}

fn evaluate(
    index: &SeriesIndex,
    measurement: &[u8],
    all: &RoaringBitmap,
    expr: &Expr,
    reader: ConditionReader,
) -> Result<RoaringBitmap, String> {
    Ok(
        evaluate_without_time(index, measurement, all, expr, reader)?
            .unwrap_or_else(|| all.clone()),
    )
}

/// The series `expr` selects with its time comparisons taken out, as 1.6.7 takes them out
/// before asking the index: `None` when nothing is left. So `host = 'a' OR time > X` selects
/// host `a`'s series (not every series, as reading the time part as "all" would), and the
/// time part only bounds the range ([`time_range`]).
fn evaluate_without_time(
    index: &SeriesIndex,
    measurement: &[u8],
    all: &RoaringBitmap,
    expr: &Expr,
    reader: ConditionReader,
) -> Result<Option<RoaringBitmap>, String> {
    match expr {
        Expr::Paren(inner) => evaluate_without_time(index, measurement, all, inner, reader),
        Expr::Literal(Literal::Boolean(true)) => Ok(Some(all.clone())),
        Expr::Literal(Literal::Boolean(false)) => Ok(Some(RoaringBitmap::new())),
        Expr::Binary(binary) => match binary.op {
            BinaryOp::And | BinaryOp::Or => {
                let left = evaluate_without_time(index, measurement, all, &binary.lhs, reader)?;
                let right = evaluate_without_time(index, measurement, all, &binary.rhs, reader)?;
                Ok(match (left, right) {
                    (Some(left), Some(right)) if binary.op == BinaryOp::And => Some(left & right),
                    (Some(left), Some(right)) => Some(left | right),
                    (Some(side), None) | (None, Some(side)) => Some(side),
                    (None, None) => None,
                })
            }
            _ if compares_time(binary) => Ok(None),
            // 1.6.7's SHOW statements read any comparison of `_tagKey` as true (recorded:
            // `SHOW SERIES WHERE _tagKey = 'site'` lists every series); DELETE and DROP
            // SERIES read it as an ordinary tag.
            _ if reader == ConditionReader::Show && compares_name(binary, TAG_KEY_KEY) => {
                Ok(Some(all.clone()))
            }
            _ => compare(index, measurement, all, binary).map(Some),
        },
        leaf => Err(format!("invalid condition expression: {leaf}")),
    }
}

/// Whether one side of the comparison is `time`.
fn compares_time(binary: &BinaryExpr) -> bool {
    compares_name(binary, TIME_KEY)
}

/// Whether one side of the comparison is the variable `name`.
fn compares_name(binary: &BinaryExpr, name: &str) -> bool {
    [&binary.lhs, &binary.rhs]
        .iter()
        .any(|side| matches!(side, Expr::VarRef(var) if var.name == name))
}

/// Refuses a condition that compares a tag with an operator other than `=`, `!=`, `=~` or
/// `!~`, before any series is looked at (1.6.7 refuses it even when no measurement matches).
pub fn check_comparisons(condition: &Expr) -> Result<(), String> {
    match condition {
        Expr::Paren(inner) => check_comparisons(inner),
        Expr::Binary(binary) => match binary.op {
            BinaryOp::And | BinaryOp::Or => {
                check_comparisons(&binary.lhs)?;
                check_comparisons(&binary.rhs)
            }
            op => match operands(binary) {
                Some((key, _))
                    if key != TIME_KEY
                        && !matches!(
                            op,
                            BinaryOp::Eq | BinaryOp::Neq | BinaryOp::EqRegex | BinaryOp::NeqRegex
                        ) =>
                {
                    Err(INVALID_TAG_COMPARISON.to_string())
                }
                _ => Ok(()),
            },
        },
        _ => Ok(()),
    }
}

/// How a statement words a condition whose leaf is not a comparison (`WHERE host`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BareOperandText {
    /// SHOW SERIES / TAG KEYS / TAG VALUES / cardinalities, DROP SERIES, DELETE:
    /// `invalid condition expression: host`.
    InvalidCondition,
    /// SHOW MEASUREMENTS: 1.6.7 prints the Go value of the node,
    /// `&influxql.VarRef{Val:"host", Type:0}`, and refuses `true`/`false` there as well.
    GoValue,
}

/// Refuses a condition with a leaf that is a bare name or literal instead of a comparison
/// (`WHERE host`, `WHERE region = 'x' OR 'a'`), with InfluxDB's text for the statement.
/// Without this the leaf would select every series: `DELETE WHERE host` deleted everything.
pub fn check_operands(condition: &Expr, wording: BareOperandText) -> Result<(), String> {
    match condition {
        Expr::Paren(inner) => check_operands(inner, wording),
        Expr::Binary(binary) if matches!(binary.op, BinaryOp::And | BinaryOp::Or) => {
            check_operands(&binary.lhs, wording)?;
            check_operands(&binary.rhs, wording)
        }
        Expr::Binary(_) => Ok(()),
        Expr::Literal(Literal::Boolean(value)) => match wording {
            BareOperandText::InvalidCondition => Ok(()),
            BareOperandText::GoValue => Err(format!("&influxql.BooleanLiteral{{Val:{value}}}")),
        },
        leaf => Err(match wording {
            BareOperandText::InvalidCondition => match leaf {
                // Go prints a number literal with three decimals here.
                Expr::Literal(Literal::Number(number)) => {
                    format!("invalid condition expression: {number:.3}")
                }
                _ => format!("invalid condition expression: {leaf}"),
            },
            BareOperandText::GoValue => go_value_text(leaf),
        }),
    }
}

/// 1.6.7's `%#v` of a leaf node, for SHOW MEASUREMENTS' error.
fn go_value_text(leaf: &Expr) -> String {
    match leaf {
        Expr::VarRef(var) => format!("&influxql.VarRef{{Val:{:?}, Type:0}}", var.name),
        Expr::Literal(Literal::String(text)) => format!("&influxql.StringLiteral{{Val:{text:?}}}"),
        Expr::Literal(Literal::Integer(number)) => {
            format!("&influxql.IntegerLiteral{{Val:{number}}}")
        }
        Expr::Literal(Literal::Number(number)) => {
            format!("&influxql.NumberLiteral{{Val:{number}}}")
        }
        other => format!("invalid condition expression: {other}"),
    }
}

/// A comparison's tag name and literal, whichever side each is on.
fn operands(binary: &BinaryExpr) -> Option<(&str, &Literal)> {
    match (&binary.lhs, &binary.rhs) {
        (Expr::VarRef(var), Expr::Literal(literal)) => Some((var.name.as_str(), literal)),
        (Expr::Literal(literal), Expr::VarRef(var)) => Some((var.name.as_str(), literal)),
        _ => None,
    }
}

fn compare(
    index: &SeriesIndex,
    measurement: &[u8],
    all: &RoaringBitmap,
    binary: &BinaryExpr,
) -> Result<RoaringBitmap, String> {
    let Some((key, literal)) = operands(binary) else {
        return compare_without_literal_tag(index, measurement, all, binary);
    };
    // `time` comparisons never reach here: `evaluate_without_time` takes them out first.
    if !matches!(
        binary.op,
        BinaryOp::Eq | BinaryOp::Neq | BinaryOp::EqRegex | BinaryOp::NeqRegex
    ) {
        return Err(INVALID_TAG_COMPARISON.to_string());
    }
    if key == MEASUREMENT_NAME_KEY {
        let name = String::from_utf8_lossy(measurement);
        return Ok(if literal_matches(binary.op, literal, &name)? {
            all.clone()
        } else {
            RoaringBitmap::new()
        });
    }
    let key = key.as_bytes();
    let selected = match (binary.op, literal) {
        (BinaryOp::Eq | BinaryOp::Neq, Literal::String(value)) => {
            if value.is_empty() {
                index.series_without_tag(measurement, key)
            } else {
                index.series_with_tag(measurement, key, value.as_bytes())
            }
        }
        (BinaryOp::EqRegex | BinaryOp::NeqRegex, Literal::Regex(pattern)) => {
            let regex = super::compile_regex(pattern)?;
            let mut series =
                series_with_tag_matching_regex(index, measurement, key, pattern, |text| {
                    regex.is_match(text)
                });
            if regex.is_match("") {
                series |= index.series_without_tag(measurement, key);
            }
            series
        }
        // A tag compared with a number or boolean never matches.
        _ => RoaringBitmap::new(),
    };
    Ok(match binary.op {
        BinaryOp::Neq | BinaryOp::NeqRegex => all - &selected,
        _ => selected,
    })
}

/// A comparison that is not `tag op literal`, read as 1.6.7's index reads it: two tag names
/// (`host = region`: the series that have both tags, whatever their values; `host !=
/// region`: the series with `host` and without `region`), or two literals (`1 = 2`: nothing).
/// Anything else selects every series (its time or field parts are not the index's).
fn compare_without_literal_tag(
    index: &SeriesIndex,
    measurement: &[u8],
    all: &RoaringBitmap,
    binary: &BinaryExpr,
) -> Result<RoaringBitmap, String> {
    match (&binary.lhs, &binary.rhs) {
        (Expr::VarRef(left), Expr::VarRef(right))
            if left.name != TIME_KEY && right.name != TIME_KEY =>
        {
            let with_key =
                |name: &str| all - &index.series_without_tag(measurement, name.as_bytes());
            match binary.op {
                BinaryOp::Eq => Ok(with_key(&left.name) & with_key(&right.name)),
                BinaryOp::Neq => Ok(with_key(&left.name) - with_key(&right.name)),
                BinaryOp::EqRegex | BinaryOp::NeqRegex => Ok(all.clone()),
                _ => Err(INVALID_TAG_COMPARISON.to_string()),
            }
        }
        (Expr::Literal(left), Expr::Literal(right)) => match binary.op {
            BinaryOp::Eq if left != right => Ok(RoaringBitmap::new()),
            BinaryOp::Neq if left == right => Ok(RoaringBitmap::new()),
            _ => Ok(all.clone()),
        },
        _ => Ok(all.clone()),
    }
}

/// Whether `text` satisfies `op literal` (for `_name`).
fn literal_matches(op: BinaryOp, literal: &Literal, text: &str) -> Result<bool, String> {
    Ok(match (op, literal) {
        (BinaryOp::Eq, Literal::String(value)) => text == value,
        (BinaryOp::Neq, Literal::String(value)) => text != value,
        (BinaryOp::EqRegex, Literal::Regex(pattern)) => {
            super::compile_regex(pattern)?.is_match(text)
        }
        (BinaryOp::NeqRegex, Literal::Regex(pattern)) => {
            !super::compile_regex(pattern)?.is_match(text)
        }
        _ => false,
    })
}

/// Whether a measurement as a whole satisfies `condition`, as SHOW MEASUREMENTS decides it
/// (1.6.7): `k = 'v'` and `k =~ /re/` need a series with such a value (never true for a
/// missing tag); `k != 'v'` and `k !~ /re/` need the tag key and no series with such a
/// value; `AND`/`OR` combine those answers.
pub fn measurement_matches(
    index: &SeriesIndex,
    measurement: &[u8],
    condition: &Expr,
) -> Result<bool, String> {
    match condition {
        Expr::Paren(inner) => measurement_matches(index, measurement, inner),
        Expr::Literal(Literal::Boolean(value)) => Ok(*value),
        Expr::Binary(binary) => match binary.op {
            BinaryOp::And => Ok(measurement_matches(index, measurement, &binary.lhs)?
                && measurement_matches(index, measurement, &binary.rhs)?),
            BinaryOp::Or => Ok(measurement_matches(index, measurement, &binary.lhs)?
                || measurement_matches(index, measurement, &binary.rhs)?),
            _ => measurement_compare(index, measurement, binary),
        },
        leaf => Err(go_value_text(leaf)),
    }
}

fn measurement_compare(
    index: &SeriesIndex,
    measurement: &[u8],
    binary: &BinaryExpr,
) -> Result<bool, String> {
    // 1.6.7 reads SHOW MEASUREMENTS' comparisons strictly as `tag op 'value'` (or a regex).
    let op = binary.op;
    if !matches!(&binary.lhs, Expr::VarRef(_)) {
        return Err(format!("left side of '{op}' must be a tag key"));
    }
    if matches!(op, BinaryOp::Eq | BinaryOp::Neq)
        && !matches!(&binary.rhs, Expr::Literal(Literal::String(_)))
    {
        return Err(format!("right side of '{op}' must be a tag value string"));
    }
    let Some((key, literal)) = operands(binary) else {
        return Ok(true);
    };
    if key == TIME_KEY {
        return Ok(true);
    }
    if !matches!(
        binary.op,
        BinaryOp::Eq | BinaryOp::Neq | BinaryOp::EqRegex | BinaryOp::NeqRegex
    ) {
        return Err(INVALID_TAG_COMPARISON.to_string());
    }
    if key == MEASUREMENT_NAME_KEY {
        return literal_matches(binary.op, literal, &String::from_utf8_lossy(measurement));
    }
    let key = key.as_bytes();
    let has_key = || {
        index
            .tag_keys(measurement)
            .iter()
            .any(|k| k.as_slice() == key)
    };
    Ok(match (binary.op, literal) {
        (BinaryOp::Eq, Literal::String(value)) => {
            !value.is_empty()
                && !index
                    .series_with_tag(measurement, key, value.as_bytes())
                    .is_empty()
        }
        (BinaryOp::Neq, Literal::String(value)) => {
            has_key()
                && index
                    .series_with_tag(measurement, key, value.as_bytes())
                    .is_empty()
        }
        (BinaryOp::EqRegex | BinaryOp::NeqRegex, Literal::Regex(pattern)) => {
            let regex = super::compile_regex(pattern)?;
            let any = !series_with_tag_matching_regex(index, measurement, key, pattern, |text| {
                regex.is_match(text)
            })
            .is_empty();
            if binary.op == BinaryOp::EqRegex {
                any
            } else {
                has_key() && !any
            }
        }
        _ => false,
    })
}

/// Whether `condition` compares `time` anywhere.
pub fn mentions_time(condition: &Expr) -> bool {
    match condition {
        Expr::Paren(inner) => mentions_time(inner),
        Expr::Binary(binary) => {
            matches!(&binary.lhs, Expr::VarRef(var) if var.name == TIME_KEY)
                || matches!(&binary.rhs, Expr::VarRef(var) if var.name == TIME_KEY)
                || mentions_time(&binary.lhs)
                || mentions_time(&binary.rhs)
        }
        _ => false,
    }
}

/// The tag or field names `condition` compares (besides `time` and `_name`).
pub fn compared_names(condition: &Expr, names: &mut Vec<String>) {
    match condition {
        Expr::Paren(inner) => compared_names(inner, names),
        Expr::Binary(binary) => {
            for side in [&binary.lhs, &binary.rhs] {
                match side {
                    Expr::VarRef(var)
                        if var.name != TIME_KEY && var.name != MEASUREMENT_NAME_KEY =>
                    {
                        names.push(var.name.clone())
                    }
                    other => compared_names(other, names),
                }
            }
        }
        _ => {}
    }
}

/// The inclusive `[min, max]` nanosecond range the `time` comparisons of `condition` allow,
/// every comparison intersected whether under AND or OR (as 1.6.7 does), `now_ns` for `now()`.
/// Each compared value is read as 1.6.7's DELETE reads it, its condition reduced first
/// ([`Evaluation::ReducedFirst`]). `Err` with InfluxDB's text for a time compared with
/// something that is not a time.
pub fn time_range(condition: &Expr, now_ns: i64) -> Result<(i64, i64), String> {
    let mut range = (i64::MIN, i64::MAX);
    narrow(condition, now_ns, &mut range)?;
    Ok(range)
}

fn narrow(expr: &Expr, now_ns: i64, range: &mut (i64, i64)) -> Result<(), String> {
    let Expr::Binary(binary) = expr else {
        if let Expr::Paren(inner) = expr {
            return narrow(inner, now_ns, range);
        }
        return Ok(());
    };
    match binary.op {
        BinaryOp::And => {
            narrow(&binary.lhs, now_ns, range)?;
            narrow(&binary.rhs, now_ns, range)
        }
        // 1.6.7 intersects the time comparisons on both sides of an OR as well (recorded:
        // `DELETE WHERE time > 2500s OR time < 1500s` deletes nothing, and `time > 2500s OR
        // time > 500s` only what is after 2500s), so an OR never widens a DELETE.
        BinaryOp::Or => {
            narrow(&binary.lhs, now_ns, range)?;
            narrow(&binary.rhs, now_ns, range)
        }
        op => {
            let (time_on_left, other) = match (&binary.lhs, &binary.rhs) {
                (Expr::VarRef(var), other) if var.name == TIME_KEY => (true, other),
                (other, Expr::VarRef(var)) if var.name == TIME_KEY => (false, other),
                _ => return Ok(()),
            };
            let value = time_operand_ns(other, now_ns, Evaluation::ReducedFirst)
                .map_err(|error| error.to_string())?;
            let op = if time_on_left { op } else { flip(op) };
            match op {
                BinaryOp::Gt => range.0 = range.0.max(value.saturating_add(1)),
                BinaryOp::Gte => range.0 = range.0.max(value),
                BinaryOp::Lt => range.1 = range.1.min(value.saturating_sub(1)),
                BinaryOp::Lte => range.1 = range.1.min(value),
                BinaryOp::Eq => {
                    range.0 = range.0.max(value);
                    range.1 = range.1.min(value);
                }
                _ => {}
            }
            Ok(())
        }
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Gte => BinaryOp::Lte,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Lte => BinaryOp::Gte,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_influxql::ast::Statement;

    fn index() -> SeriesIndex {
        let index = SeriesIndex::in_memory();
        for key in [
            "cpu,host=a,region=east",
            "cpu,host=b,region=west",
            "cpu,host=c",
            "mem,host=a",
        ] {
            index.get_or_create(key.as_bytes()).unwrap();
        }
        index
    }

    fn condition(text: &str) -> Expr {
        let query = sluice_influxql::parse_query(&format!("SHOW SERIES WHERE {text}")).unwrap();
        match query.statements.into_iter().next() {
            Some(Statement::ShowSeries(show)) => show.condition.unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn keys(index: &SeriesIndex, text: &str) -> Vec<String> {
        let series =
            matching_series(index, b"cpu", Some(&condition(text)), ConditionReader::Show).unwrap();
        series
            .iter()
            .map(|id| String::from_utf8(index.key_of(id).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn tag_comparisons() {
        let index = index();
        assert_eq!(keys(&index, "host = 'a'"), ["cpu,host=a,region=east"]);
        assert_eq!(
            keys(&index, "region != 'east'"),
            ["cpu,host=b,region=west", "cpu,host=c"]
        );
        assert_eq!(keys(&index, "region = ''"), ["cpu,host=c"]);
        assert_eq!(keys(&index, "region =~ /^w/ OR host = 'c'").len(), 2);
        assert_eq!(keys(&index, "region !~ /e/"), ["cpu,host=c"]);
        assert_eq!(keys(&index, "host = 'a' AND time > 0").len(), 1);
        assert_eq!(keys(&index, "_name = 'mem'").len(), 0);
        let error = matching_series(
            &index,
            b"cpu",
            Some(&condition("host > 'a'")),
            ConditionReader::Show,
        );
        assert_eq!(error, Err(INVALID_TAG_COMPARISON.to_string()));
    }

    #[test]
    fn time_ranges() {
        let range = time_range(
            &condition("time >= '2026-11-01T00:00:30Z' AND time < '2026-11-01T00:01:00Z'"),
            0,
        );
        assert_eq!(
            range,
            Ok((1_793_491_230_000_000_000, 1_793_491_259_999_999_999))
        );
        assert_eq!(
            time_range(&condition("host = 'a'"), 0),
            Ok((i64::MIN, i64::MAX))
        );
        assert_eq!(
            time_range(&condition("time = '1970-01-02'"), 0),
            Ok((86_400_000_000_000, 86_400_000_000_000))
        );
    }
    #[test]
    fn time_under_or_narrows_and_leaves_the_series_condition() {
        let second = 1_000_000_000;
        assert_eq!(
            time_range(&condition("time > 2500s OR time < 1500s"), 0),
            Ok((2500 * second + 1, 1500 * second - 1)),
            "both sides of an OR narrow the range, as 1.6.7 does"
        );
        let index = index();
        assert_eq!(
            keys(&index, "host = 'a' OR time > 0"),
            keys(&index, "host = 'a'"),
            "a time comparison under OR selects no series of its own"
        );
        assert_eq!(keys(&index, "time > 0 OR time < 5"), keys(&index, "true"));
    }
}
