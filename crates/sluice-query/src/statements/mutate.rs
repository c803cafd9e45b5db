//! DROP MEASUREMENT, DROP SERIES, DELETE.
//!
//! Series are chosen with the index ([`super::tag_condition`]); points go through one
//! `Store::delete_points` / `drop_series` call per statement, which is all or nothing
//! across shards and measurements (the store's delete intents). A DELETE that leaves a series without any point
//! drops the series from the index too (as InfluxDB does), and a measurement left without
//! series loses its field types. Whether points remain is decided per shard: a shard whose
//! whole time range the DELETE covers keeps none; only in a partly covered shard are the
//! deleted series' columns read to see if anything is left.

use roaring::RoaringBitmap;

use super::tag_condition::{
    check_operands, compared_names, matching_series, mentions_time, time_range, BareOperandText,
    ConditionReader,
};
use super::{source_measurements, StatementContext};
use crate::result::StatementResult;
use sluice_influxql::ast::{
    DeleteStatement, DropMeasurementStatement, DropSeriesStatement, Expr, Source,
};
use sluice_line_protocol::{escape_into, EscapeKind};
use sluice_storage::meta::Database;
use sluice_storage::series_index::SeriesIndex;

/// The `db` parameter's database, or InfluxDB's `database not found: <name>` (also for an
/// absent parameter).
fn database<'c>(context: &'c StatementContext<'_>) -> Result<&'c Database, StatementResult> {
    context.require_database(context.database)
}

/// `DROP MEASUREMENT name`
pub fn drop_measurement(
    statement: &DropMeasurementStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let database = match database(context) {
        Ok(database) => database,
        Err(error) => return error,
    };
    match context
        .query
        .store
        .drop_measurement(database.id, statement.name.as_bytes())
    {
        Ok(()) => context.empty(),
        Err(error) => context.error(error),
    }
}

/// The selected series of every measurement the sources name.
fn selected(
    index: &SeriesIndex,
    sources: &[Source],
    condition: Option<&Expr>,
) -> Result<Vec<(Vec<u8>, RoaringBitmap)>, String> {
    if let Some(condition) = condition {
        check_operands(condition, BareOperandText::InvalidCondition)?;
    }
    let mut selected = Vec::new();
    for measurement in source_measurements(index, sources)? {
        let series = matching_series(index, &measurement, condition, ConditionReader::Delete)?;
        if !series.is_empty() {
            selected.push((measurement, series));
        }
    }
    Ok(selected)
}

/// Forgets the field types of a measurement that has no series left.
fn forget_if_empty(
    context: &StatementContext<'_>,
    database: &Database,
    index: &SeriesIndex,
    measurement: &[u8],
) {
    if index.measurement_series(measurement).is_empty() {
        let mut escaped = Vec::with_capacity(measurement.len());
        escape_into(measurement, EscapeKind::Measurement, &mut escaped);
        context
            .query
            .field_types
            .drop_measurement(database.id, &escaped);
    }
}

/// `DROP SERIES [FROM ...] [WHERE ...]`
pub fn drop_series(
    statement: &DropSeriesStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    if statement.condition.as_ref().is_some_and(mentions_time) {
        return context.error("DROP SERIES doesn't support time in WHERE clause");
    }
    let database = match database(context) {
        Ok(database) => database,
        Err(error) => return error,
    };
    let Some(index) = context.query.store.series_index(database.id) else {
        return context.empty();
    };
    let selected = match selected(&index, &statement.sources, statement.condition.as_ref()) {
        Ok(selected) => selected,
        Err(error) => return context.error(error),
    };
    // One store call for every measurement: the statement is all or nothing.
    let every_series = selected
        .iter()
        .fold(RoaringBitmap::new(), |all, (_, series)| all | series);
    if let Err(error) = context.query.store.drop_series(database.id, &every_series) {
        return context.error(error);
    }
    for (measurement, _) in selected {
        forget_if_empty(context, database, &index, &measurement);
    }
    context.empty()
}

/// `DELETE [FROM ...] [WHERE ...]`
pub fn delete(
    statement: &DeleteStatement,
    now_ns: i64,
    context: &StatementContext<'_>,
) -> StatementResult {
    let database = match database(context) {
        Ok(database) => database,
        Err(error) => return error,
    };
    let Some(index) = context.query.store.series_index(database.id) else {
        return context.empty();
    };
    let (min_time, max_time) = match &statement.condition {
        Some(condition) => match time_range(condition, now_ns) {
            Ok(range) => range,
            Err(error) => return context.error(error),
        },
        None => (i64::MIN, i64::MAX),
    };
    if let Some(error) = field_condition_error(context, database, &index, statement) {
        return context.error(error);
    }
    let selected = match selected(&index, &statement.sources, statement.condition.as_ref()) {
        Ok(selected) => selected,
        Err(error) => return context.error(error),
    };
    // One store call for every measurement: the points go all or not at all.
    let store = &context.query.store;
    let every_series = selected
        .iter()
        .fold(RoaringBitmap::new(), |all, (_, series)| all | series);
    if let Err(error) = store.delete_points(database.id, &every_series, min_time, max_time) {
        return context.error(error);
    }
    for (measurement, series) in selected {
        let emptied = series_without_points(context, database, &index, &series, min_time, max_time);
        if !emptied.is_empty() {
            if let Err(error) = store.drop_series(database.id, &emptied) {
                return context.error(error);
            }
        }
        forget_if_empty(context, database, &index, &measurement);
    }
    context.empty()
}

/// InfluxDB refuses a DELETE whose condition compares a field, naming the first shard.
fn field_condition_error(
    context: &StatementContext<'_>,
    database: &Database,
    index: &SeriesIndex,
    statement: &DeleteStatement,
) -> Option<String> {
    let condition = statement.condition.as_ref()?;
    let mut names = Vec::new();
    compared_names(condition, &mut names);
    let measurements = source_measurements(index, &statement.sources).ok()?;
    let is_field = names.iter().any(|name| {
        measurements.iter().any(|measurement| {
            let mut escaped = Vec::new();
            escape_into(measurement, EscapeKind::Measurement, &mut escaped);
            let mut field = Vec::new();
            escape_into(name.as_bytes(), EscapeKind::FieldKey, &mut field);
            context
                .query
                .field_types
                .get(database.id, &escaped, &field)
                .is_some()
        })
    });
    if !is_field {
        return None;
    }
    let first_shard = context
        .query
        .store
        .shards()
        .iter()
        .filter(|shard| shard.database_id == database.id)
        .map(|shard| shard.id)
        .min()?;
    Some(format!(
        "shard {first_shard}: fields not supported in WHERE clause during deletion"
    ))
}

/// The series among `series` with no point left after deleting `[min_time, max_time]`.
fn series_without_points(
    context: &StatementContext<'_>,
    database: &Database,
    index: &SeriesIndex,
    series: &RoaringBitmap,
    min_time: i64,
    max_time: i64,
) -> RoaringBitmap {
    let mut remaining = RoaringBitmap::new();
    for shard in context.query.store.shards() {
        if shard.database_id != database.id {
            continue;
        }
        let covered = min_time <= shard.start_ns && shard.end_ns.saturating_sub(1) <= max_time;
        if covered {
            continue;
        }
        for (key, fields) in shard.series_fields() {
            let Some(id) = index.id_of(&key) else {
                continue;
            };
            if !series.contains(id) || remaining.contains(id) {
                continue;
            }
            let has_points = fields
                .keys()
                .any(|field| shard.read(&key, field, i64::MIN, i64::MAX).is_some());
            if has_points {
                remaining.insert(id);
            }
        }
    }
    series - &remaining
}
