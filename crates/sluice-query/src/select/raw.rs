//! Raw queries: rows of stored points, with math and casts, per group.
//!
//! A series has a row at every time one of the *selected fields* has a value (tags and
//! fields whose cast cannot apply contribute no times, as in 1.6.7 where such cursors
//! are empty). Condition fields are read at those times; a row whose condition is not
//! true is dropped. Rows of the series of a group are merged per shard by a replay of
//! Go's heap (see [`super::heap_merge`]); shards follow each other in time order. Equal
//! times compare the selected keys in name order while both values are strings (a tag
//! first in name order puts equal times in tag order), as 1.6.7's merge does; descending,
//! the series are merged last to first.

use crate::result::Value;
use sluice_influxql::ast::{DataType, Expr, Field, VarRef};
use sluice_ingest::record::FieldType;
use sluice_storage::column::Column;

use super::eval::{self, RegexCache, Row};
use super::{column_value, heap_merge, Exec, Group, GroupRows, Measurement, SeriesInfo};

/// How one selected key is read in one measurement.
#[derive(Clone, Debug)]
enum AuxKind {
    /// a stored field whose cast applies
    Field,
    /// a field whose cast cannot apply, or none at all: always null, no times
    Nothing,
    /// a tag (or an unknown name: a tag without values)
    Tag,
}

struct Aux {
    var: VarRef,
    kind: AuxKind,
}

fn cast_applies(field_type: FieldType, data_type: Option<DataType>) -> bool {
    let numeric = matches!(
        field_type,
        FieldType::Float | FieldType::Integer | FieldType::Unsigned
    );
    match data_type {
        None | Some(DataType::Field) => true,
        Some(DataType::Tag) => false,
        Some(DataType::Float | DataType::Integer | DataType::Unsigned) => numeric,
        Some(DataType::String) => field_type == FieldType::String,
        Some(DataType::Boolean) => field_type == FieldType::Boolean,
    }
}

fn aux_kind(measurement: &Measurement, var: &VarRef) -> AuxKind {
    match measurement.field_type(&var.name) {
        Some(field_type) if var.data_type != Some(DataType::Tag) => {
            if cast_applies(field_type, var.data_type) {
                AuxKind::Field
            } else {
                AuxKind::Nothing
            }
        }
        _ => {
            if var.data_type == Some(DataType::Field) {
                AuxKind::Nothing
            } else {
                AuxKind::Tag
            }
        }
    }
}

/// One row of one series, before the output expressions.
struct RawRow {
    time: i64,
    /// values of the selected keys, in `Aux` order
    values: Vec<Value>,
}

/// Field values of a row for condition evaluation, plus the series' tags.
pub(super) struct ConditionRow<'r> {
    pub(super) names: &'r [String],
    pub(super) values: &'r [Value],
    pub(super) series: &'r SeriesInfo,
}

impl Row for ConditionRow<'_> {
    fn lookup(&self, name: &str, data_type: Option<DataType>) -> Value {
        if data_type != Some(DataType::Tag) {
            if let Some(index) = self.names.iter().position(|n| n == name) {
                return self.values.get(index).cloned().unwrap_or(Value::Null);
            }
        }
        Value::String(self.series.tag(name).unwrap_or("").to_string())
    }
}

/// A row for the output expressions: the selected keys' values.
struct OutputRow<'r> {
    auxes: &'r [Aux],
    values: &'r [Value],
}

impl Row for OutputRow<'_> {
    fn lookup(&self, name: &str, data_type: Option<DataType>) -> Value {
        self.auxes
            .iter()
            .position(|a| a.var.name == name && a.var.data_type == data_type)
            .and_then(|i| self.values.get(i))
            .cloned()
            .map_or(Value::Null, |v| eval::cast(v, data_type))
    }
}

/// A cursor over one column: the value at exactly a time, moving forward only.
pub(super) struct Cursor<'c> {
    column: Option<&'c Column>,
    position: usize,
    ascending: bool,
}

impl<'c> Cursor<'c> {
    pub(super) fn new(column: Option<&'c Column>, ascending: bool) -> Cursor<'c> {
        let position = match (column, ascending) {
            (Some(c), false) => c.len(),
            _ => 0,
        };
        Cursor {
            column,
            position,
            ascending,
        }
    }

    fn peek(&self) -> Option<i64> {
        let column = self.column?;
        if self.ascending {
            column.times.get(self.position).copied()
        } else {
            self.position
                .checked_sub(1)
                .and_then(|i| column.times.get(i).copied())
        }
    }

    pub(super) fn value_at(&mut self, time: i64) -> Value {
        let Some(column) = self.column else {
            return Value::Null;
        };
        while let Some(current) = self.peek() {
            let passed = if self.ascending {
                current < time
            } else {
                current > time
            };
            if !passed {
                break;
            }
            self.advance();
        }
        if self.peek() == Some(time) {
            let index = if self.ascending {
                self.position
            } else {
                self.position - 1
            };
            self.advance();
            return column_value(&column.values, index);
        }
        Value::Null
    }

    fn advance(&mut self) {
        if self.ascending {
            self.position += 1;
        } else {
            self.position = self.position.saturating_sub(1);
        }
    }
}

/// Executes a raw query over one measurement: `(group tags, rows)` per group.
pub(super) fn execute(
    exec: &Exec<'_>,
    measurement: &Measurement,
    groups: &[Group],
    fields: &[Field],
) -> Result<GroupRows, String> {
    let mut auxes: Vec<Aux> = Vec::new();
    for field in fields {
        field.expr.walk(&mut |expr| {
            if let Expr::VarRef(var) = expr {
                if !auxes.iter().any(|a| a.var == *var) {
                    auxes.push(Aux {
                        var: var.clone(),
                        kind: aux_kind(measurement, var),
                    });
                }
            }
        });
    }
    let mut condition_fields: Vec<String> = Vec::new();
    if let Some(condition) = &exec.condition {
        condition.walk(&mut |expr| {
            if let Expr::VarRef(var) = expr {
                if measurement.is_field(&var.name, var.data_type)
                    && !condition_fields.contains(&var.name)
                {
                    condition_fields.push(var.name.clone());
                }
            }
        });
    }
    // Equal times are ordered by the selected keys in name order while they are strings
    // (a tag, a string field), as 1.6.7's sorted merge compares its auxiliary values; the
    // first key that is not a string on both sides (a number, a null) leaves the heap's order.
    let mut tie_keys: Vec<usize> = (0..auxes.len()).collect();
    tie_keys.sort_by(|&a, &b| match (auxes.get(a), auxes.get(b)) {
        (Some(a), Some(b)) => a.var.name.cmp(&b.var.name),
        _ => std::cmp::Ordering::Equal,
    });
    let ascending = exec.ascending;
    let mut shards = exec.shards(measurement);
    if !ascending {
        shards.reverse();
    }
    let mut regexes = RegexCache::default();
    let mut output = Vec::new();
    let row_cap = rows_needed_per_series(exec.statement.limit, exec.statement.offset);
    for group in groups {
        let mut rows: Vec<RawRow> = Vec::new();
        for shard in &shards {
            let mut per_series: Vec<Vec<RawRow>> = Vec::with_capacity(group.series.len());
            for series in &group.series {
                exec.check_bounds()?;
                per_series.push(series_rows(
                    exec,
                    shard,
                    series,
                    &auxes,
                    &condition_fields,
                    &mut regexes,
                    row_cap,
                )?);
            }
            let merged = if ascending {
                heap_merge(per_series, |a: &RawRow, b: &RawRow| {
                    a.time < b.time || (a.time == b.time && tie_less(&tie_keys, a, b))
                })
            } else {
                // Descending, 1.6.7 merges the series last to first (each from its end),
                // which decides the order of equal times.
                per_series.reverse();
                heap_merge(per_series, |a: &RawRow, b: &RawRow| {
                    a.time > b.time || (a.time == b.time && tie_less(&tie_keys, b, a))
                })
            };
            rows.extend(merged);
        }
        if rows.is_empty() {
            continue;
        }
        let offset = exec.statement.offset;
        if exec.statement.limit == 0 && offset > 0 {
            // 1.6.7's storage-level limit iterator lets `offset + 1` points through when
            // no LIMIT is given, so OFFSET alone leaves at most one row.
            rows.truncate(usize::try_from(offset.saturating_add(1)).unwrap_or(usize::MAX));
        }
        let values = rows
            .into_iter()
            .map(|row| {
                let mut out = Vec::with_capacity(fields.len() + 1);
                out.push(Value::Time(row.time));
                let lookup = OutputRow {
                    auxes: &auxes,
                    values: &row.values,
                };
                for field in fields {
                    out.push(eval::eval(&field.expr, &lookup, &mut regexes));
                }
                out
            })
            .collect();
        output.push((group.tags.clone(), values));
    }
    Ok(output)
}

/// Whether `a` goes before `b` at an equal time: the first selected key (in `tie_keys`
/// order) whose values differ decides while both are strings; any other value stops the
/// comparison (not before).
fn tie_less(tie_keys: &[usize], a: &RawRow, b: &RawRow) -> bool {
    for &key in tie_keys {
        match (a.values.get(key), b.values.get(key)) {
            (Some(Value::String(x)), Some(Value::String(y))) if x == y => continue,
            (Some(Value::String(x)), Some(Value::String(y))) => return x < y,
            _ => return false,
        }
    }
    false
}

/// Most rows one series of one shard can contribute to a group's answer. A group's rows are
/// its series' rows merged in time order, and LIMIT/OFFSET keep the first `offset + limit`
/// of them, so no series needs more than that (1.6.7's OFFSET-alone quirk keeps
/// `offset + 1`, see `execute`). Stopping there keeps `SELECT * … LIMIT 10` over millions
/// of points from reading them all into memory.
fn rows_needed_per_series(limit: u64, offset: u64) -> usize {
    let needed = match (limit, offset) {
        (0, 0) => u64::MAX,
        (0, offset) => offset.saturating_add(1),
        (limit, offset) => limit.saturating_add(offset),
    };
    usize::try_from(needed).unwrap_or(usize::MAX)
}

fn series_rows(
    exec: &Exec<'_>,
    shard: &sluice_storage::engine::Shard,
    series: &SeriesInfo,
    auxes: &[Aux],
    condition_fields: &[String],
    regexes: &mut RegexCache,
    row_cap: usize,
) -> Result<Vec<RawRow>, String> {
    let mut aux_columns: Vec<Option<Column>> = Vec::with_capacity(auxes.len());
    let mut any = false;
    for aux in auxes {
        let column = match aux.kind {
            AuxKind::Field => exec.read(shard, series, &aux.var.name)?,
            _ => None,
        };
        any |= column.is_some();
        aux_columns.push(column);
    }
    if !any {
        return Ok(Vec::new());
    }
    let mut condition_columns: Vec<Option<Column>> = Vec::with_capacity(condition_fields.len());
    for name in condition_fields {
        match auxes
            .iter()
            .position(|a| a.var.name == *name && matches!(a.kind, AuxKind::Field))
        {
            Some(index) => condition_columns.push(aux_columns.get(index).cloned().flatten()),
            None => condition_columns.push(exec.read(shard, series, name)?),
        }
    }
    let ascending = exec.ascending;
    let mut cursors: Vec<Cursor<'_>> = aux_columns
        .iter()
        .map(|c| Cursor::new(c.as_ref(), ascending))
        .collect();
    let mut condition_cursors: Vec<Cursor<'_>> = condition_columns
        .iter()
        .map(|c| Cursor::new(c.as_ref(), ascending))
        .collect();
    let mut condition_values: Vec<Value> = vec![Value::Null; condition_fields.len()];
    let mut rows = Vec::new();
    while rows.len() < row_cap {
        let next = cursors.iter().filter_map(Cursor::peek).reduce(|a, b| {
            if ascending {
                a.min(b)
            } else {
                a.max(b)
            }
        });
        let Some(time) = next else {
            break;
        };
        let values: Vec<Value> = cursors
            .iter_mut()
            .zip(auxes)
            .map(|(cursor, aux)| match aux.kind {
                AuxKind::Tag => series
                    .tag(&aux.var.name)
                    .filter(|v| !v.is_empty())
                    .map_or(Value::Null, |v| Value::String(v.to_string())),
                _ => cursor.value_at(time),
            })
            .collect();
        if let Some(condition) = &exec.condition {
            for (slot, cursor) in condition_values
                .iter_mut()
                .zip(condition_cursors.iter_mut())
            {
                *slot = cursor.value_at(time);
            }
            let row = ConditionRow {
                names: condition_fields,
                values: &condition_values,
                series,
            };
            if !eval::truthy(&eval::eval(condition, &row, regexes)) {
                continue;
            }
        }
        rows.push(RawRow { time, values });
        if rows.len() % super::ROWS_PER_BOUNDS_CHECK == 0 {
            exec.check_bounds()?;
        }
    }
    Ok(rows)
}
