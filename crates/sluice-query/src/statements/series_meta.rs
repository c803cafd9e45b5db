//! SHOW MEASUREMENTS, SERIES, TAG KEYS, TAG VALUES, FIELD KEYS and every CARDINALITY form.
//!
//! Answers come from the database's series index (all retention policies, as InfluxDB's
//! index answers them) and the field-type registry; WHERE clauses are bitmaps
//! ([`super::tag_condition`]). Limits and offsets apply per measurement for tag keys, tag
//! values and field keys, and to the whole list for measurements and series; a measurement
//! left with nothing is omitted.
//!
//! Cardinalities follow 1.6.7, which answers two ways:
//! * estimations without FROM or WHERE (`SHOW SERIES CARDINALITY`, `SHOW MEASUREMENT
//!   CARDINALITY`) count the whole index: one unnamed `cardinality estimation` row;
//! * everything else counts within the shards of one retention policy (the source's, else
//!   the default), per measurement, and a series counts once per shard holding it (InfluxDB
//!   sums its per-shard indexes). These read each shard's series list — index blocks and
//!   cache keys, never points.

use std::collections::{BTreeMap, BTreeSet};

use roaring::RoaringBitmap;

use super::tag_condition::{
    check_comparisons, check_operands, matching_series, measurement_matches, mentions_time,
    time_range, BareOperandText, ConditionReader,
};
use super::{
    limit_offset, named_series, source_measurements, text, unnamed_series, StatementContext,
};
use crate::result::{Series, StatementResult, Value};
use sluice_influxql::ast::{
    CardinalityTarget, Expr, ShowCardinalityStatement, ShowFieldKeysStatement,
    ShowMeasurementsStatement, ShowSeriesStatement, ShowTagKeysStatement, ShowTagValuesStatement,
    Source, TagKeyFilter,
};
use sluice_line_protocol::{unescape_into, EscapeKind};
use sluice_storage::meta::Database;
use sluice_storage::series_index::SeriesIndex;

/// The series one shard holds (ids in the database's index) and each one's field keys.
type ShardSeries = (RoaringBitmap, BTreeMap<u32, Vec<Vec<u8>>>);

/// The index of `database`, or an empty one when it has no series yet.
fn index_of(context: &StatementContext<'_>, database: &Database) -> std::sync::Arc<SeriesIndex> {
    context
        .query
        .store
        .series_index(database.id)
        .unwrap_or_else(|| std::sync::Arc::new(SeriesIndex::in_memory()))
}

/// Measurements of `sources` with at least one series matching `condition`, each with its
/// matching series.
fn selected_series(
    index: &SeriesIndex,
    sources: &[Source],
    condition: Option<&Expr>,
) -> Result<SelectedSeries, String> {
    if let Some(condition) = condition {
        check_operands(condition, BareOperandText::InvalidCondition)?;
        check_comparisons(condition)?;
    }
    let mut selected = Vec::new();
    for measurement in source_measurements(index, sources)? {
        let series = matching_series(index, &measurement, condition, ConditionReader::Show)?;
        if !series.is_empty() {
            selected.push((measurement, series));
        }
    }
    Ok(selected)
}

/// Where a SHOW statement takes its database from, when its FROM names one, as 1.6.7 does.
#[derive(Clone, Copy)]
enum SourceDatabase {
    /// SHOW SERIES, SHOW FIELD KEYS: the database FROM names wins over ON and `db`
    Overrides,
    /// SHOW TAG KEYS, SHOW TAG VALUES: only ON or `db` name it
    Ignored,
}

/// Resolves the statement's database; `Err` is the finished (failed) result.
fn resolve<'c>(
    context: &'c StatementContext<'_>,
    on: Option<&'c str>,
    sources: &'c [Source],
    source_database: SourceDatabase,
) -> Result<&'c Database, StatementResult> {
    let name = match source_database {
        SourceDatabase::Ignored => context.database_name(on, &[])?,
        SourceDatabase::Overrides => {
            let from_source = sources.iter().find_map(|source| match source {
                Source::Measurement(m) if !m.database.is_empty() => Some(m.database.as_str()),
                _ => None,
            });
            context.database_name(from_source.or(on), sources)?
        }
    };
    context.require_database(name)
}

/// Measurements, each with its matching series.
type SelectedSeries = Vec<(Vec<u8>, RoaringBitmap)>;

/// What SHOW SERIES, TAG KEYS and TAG VALUES read: the statement's database resolved, its
/// series index, and the measurements of `sources` with their series matching `condition`;
/// `Err` is the finished (failed) result.
fn resolve_selection(
    context: &StatementContext<'_>,
    on: Option<&str>,
    sources: &[Source],
    condition: Option<&Expr>,
    source_database: SourceDatabase,
) -> Result<(std::sync::Arc<SeriesIndex>, SelectedSeries), StatementResult> {
    let database = resolve(context, on, sources, source_database)?;
    let index = index_of(context, database);
    let selected = selected_series(&index, sources, condition).map_err(|e| context.error(e))?;
    Ok((index, selected))
}

/// `SHOW MEASUREMENTS`
pub fn show_measurements(
    statement: &ShowMeasurementsStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    // 1.6.7 refuses a time condition here before it looks for the database.
    if statement.condition.as_ref().is_some_and(mentions_time) {
        return context.error("SHOW MEASUREMENTS doesn't support time in WHERE clause");
    }
    let name = match context.database_name(statement.database.as_deref(), &[]) {
        Ok(name) => name,
        Err(error) => return error,
    };
    // An unknown database has no measurements (not an error in 1.6.7).
    let Some(database) = context.meta.database(name) else {
        return context.empty();
    };
    let index = index_of(context, database);
    let sources: Vec<Source> = statement
        .source
        .iter()
        .map(|m| Source::Measurement(m.clone()))
        .collect();
    let measurements = match source_measurements(&index, &sources) {
        Ok(measurements) => measurements,
        Err(error) => return context.error(error),
    };
    if let Some(condition) = &statement.condition {
        if let Err(error) = check_operands(condition, BareOperandText::GoValue)
            .and_then(|()| check_comparisons(condition))
        {
            return context.error(error);
        }
    }
    let mut values: Vec<Vec<Value>> = Vec::new();
    for measurement in measurements {
        if let Some(condition) = &statement.condition {
            match measurement_matches(&index, &measurement, condition) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => return context.error(error),
            }
        }
        values.push(vec![Value::String(text(&measurement))]);
    }
    let values = limit_offset(values, statement.limit, statement.offset);
    if values.is_empty() {
        return context.empty();
    }
    context.with_series(vec![named_series("measurements", &["name"], values)])
}

/// `SHOW SERIES`: series keys as stored (escaped), sorted by measurement then key.
pub fn show_series(
    statement: &ShowSeriesStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let database = match resolve(
        context,
        statement.database.as_deref(),
        &statement.sources,
        SourceDatabase::Overrides,
    ) {
        Ok(database) => database,
        Err(error) => return error,
    };
    let index = index_of(context, database);
    let mut selected =
        match selected_series(&index, &statement.sources, statement.condition.as_ref()) {
            Ok(selected) => selected,
            Err(error) => return context.error(error),
        };
    // With a time condition 1.6.7 lists the series of the shards of the source's retention
    // policy (the default one without) that overlap the range, not every series (recorded:
    // `SHOW SERIES FROM g WHERE time > ...` leaves out a series only another policy holds).
    if let Some(condition) = statement.condition.as_ref().filter(|c| mentions_time(c)) {
        let (min_time, max_time) = match time_range(condition, sluice_model::time::now_ns()) {
            Ok(range) => range,
            Err(error) => return context.error(error),
        };
        let in_range = policy_shard_series(
            context,
            database,
            &index,
            &statement.sources,
            (min_time, max_time),
        )
        .into_iter()
        .fold(RoaringBitmap::new(), |all, (ids, _)| all | ids);
        for (_, series) in &mut selected {
            *series &= &in_range;
        }
        selected.retain(|(_, series)| !series.is_empty());
    }
    let mut values = Vec::new();
    let wanted = statement.offset.saturating_add(if statement.limit == 0 {
        u64::MAX
    } else {
        statement.limit
    });
    for (_, series) in selected {
        let mut keys: Vec<Vec<u8>> = series.iter().filter_map(|id| index.key_of(id)).collect();
        keys.sort();
        values.extend(keys.into_iter().map(|key| vec![Value::String(text(&key))]));
        if values.len() as u64 >= wanted {
            break;
        }
    }
    let values = limit_offset(values, statement.limit, statement.offset);
    if values.is_empty() {
        return context.empty();
    }
    context.with_series(vec![unnamed_series(&["key"], values)])
}

/// Tag keys of the given series of a measurement: from the index when every series is
/// selected, else from the series themselves.
fn tag_keys_of(
    index: &SeriesIndex,
    measurement: &[u8],
    series: &RoaringBitmap,
    condition: Option<&Expr>,
) -> Vec<Vec<u8>> {
    if condition.is_none() {
        return index.tag_keys(measurement);
    }
    let mut keys = BTreeSet::new();
    for id in series {
        if let Some(tags) = index.tags_of(id) {
            keys.extend(tags.tags.into_iter().map(|(key, _)| key));
        }
    }
    keys.into_iter().collect()
}

/// `SHOW TAG KEYS`
pub fn show_tag_keys(
    statement: &ShowTagKeysStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let condition = statement.condition.as_ref();
    let (index, selected) = match resolve_selection(
        context,
        statement.database.as_deref(),
        &statement.sources,
        condition,
        SourceDatabase::Ignored,
    ) {
        Ok(found) => found,
        Err(error) => return error,
    };
    let mut result = Vec::new();
    for (measurement, series) in selected {
        let keys = tag_keys_of(&index, &measurement, &series, condition);
        let values: Vec<Vec<Value>> = keys
            .into_iter()
            .map(|key| vec![Value::String(text(&key))])
            .collect();
        let values = limit_offset(values, statement.limit, statement.offset);
        if !values.is_empty() {
            result.push(named_series(&text(&measurement), &["tagKey"], values));
        }
    }
    context.with_series(result)
}

/// Whether tag key `key` passes a `WITH KEY` filter.
fn key_filter_matches(filter: &TagKeyFilter, key: &str) -> Result<bool, String> {
    Ok(match filter {
        TagKeyFilter::Eq(wanted) => key == wanted,
        TagKeyFilter::Neq(unwanted) => key != unwanted,
        TagKeyFilter::In(keys) => keys.iter().any(|k| k == key),
        TagKeyFilter::EqRegex(pattern) => super::compile_regex(pattern)?.is_match(key),
        TagKeyFilter::NeqRegex(pattern) => !super::compile_regex(pattern)?.is_match(key),
    })
}

/// Calls `visit(key, value)` for each value (in byte order) of each tag key of a measurement
/// that passes `filter`, among the values the series in `within` have (every value when
/// `None`), until `visit` returns false (no further key is then visited).
fn visit_tag_values_passing(
    index: &SeriesIndex,
    measurement: &[u8],
    within: Option<&RoaringBitmap>,
    filter: &TagKeyFilter,
    mut visit: impl FnMut(&str, &[u8]) -> bool,
) -> Result<(), String> {
    let mut wants_more = true;
    for key in index.tag_keys(measurement) {
        if !wants_more {
            break;
        }
        let key_text = text(&key);
        if key_filter_matches(filter, &key_text)? {
            index.visit_tag_values(measurement, &key, within, |value| {
                if wants_more {
                    wants_more = visit(&key_text, value);
                }
            });
        }
    }
    Ok(())
}

/// The `[key, value]` rows of a measurement's series in `series` (every series when
/// `everything`) whose key passes `filter`: `offset` rows skipped, then at most `limit`
/// (0: no limit). Rows are built straight from the index; skipped ones cost nothing.
fn tag_value_rows(
    index: &SeriesIndex,
    measurement: &[u8],
    series: &RoaringBitmap,
    filter: &TagKeyFilter,
    everything: bool,
    (limit, offset): (u64, u64),
) -> Result<Vec<Vec<Value>>, String> {
    let mut to_skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let mut room = match limit {
        0 => usize::MAX,
        limit => usize::try_from(limit).unwrap_or(usize::MAX),
    };
    let within = (!everything).then_some(series);
    let mut rows = Vec::new();
    visit_tag_values_passing(index, measurement, within, filter, |key, value| {
        if to_skip > 0 {
            to_skip -= 1;
        } else if room > 0 {
            room -= 1;
            rows.push(vec![
                Value::String(key.to_owned()),
                Value::String(text(value)),
            ]);
        }
        room > 0
    })?;
    Ok(rows)
}

/// How many (key, value) pairs the series in `series` of a measurement have, for the keys
/// that pass `filter`.
fn tag_value_count(
    index: &SeriesIndex,
    measurement: &[u8],
    series: &RoaringBitmap,
    filter: &TagKeyFilter,
) -> Result<usize, String> {
    let mut count = 0;
    visit_tag_values_passing(index, measurement, Some(series), filter, |_, _| {
        count += 1;
        true
    })?;
    Ok(count)
}

/// `SHOW TAG VALUES ... WITH KEY ...`
pub fn show_tag_values(
    statement: &ShowTagValuesStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let condition = statement.condition.as_ref();
    let (index, selected) = match resolve_selection(
        context,
        statement.database.as_deref(),
        &statement.sources,
        condition,
        SourceDatabase::Ignored,
    ) {
        Ok(found) => found,
        Err(error) => return error,
    };
    let mut result = Vec::new();
    for (measurement, series) in selected {
        let values = match tag_value_rows(
            &index,
            &measurement,
            &series,
            &statement.key,
            condition.is_none(),
            (statement.limit, statement.offset),
        ) {
            Ok(values) => values,
            Err(error) => return context.error(error),
        };
        if !values.is_empty() {
            result.push(named_series(&text(&measurement), &["key", "value"], values));
        }
    }
    context.with_series(result)
}

/// Unescapes a name stored in line-protocol form.
fn unescaped(escaped: &[u8], kind: EscapeKind) -> String {
    let mut out = Vec::with_capacity(escaped.len());
    unescape_into(escaped, kind, &mut out);
    text(&out)
}

/// `SHOW FIELD KEYS`: from the field-type registry, measurements with series only.
pub fn show_field_keys(
    statement: &ShowFieldKeysStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    let database = match resolve(
        context,
        statement.database.as_deref(),
        &statement.sources,
        SourceDatabase::Overrides,
    ) {
        Ok(database) => database,
        Err(error) => return error,
    };
    let index = index_of(context, database);
    let measurements = match source_measurements(&index, &statement.sources) {
        Ok(measurements) => measurements,
        Err(error) => return context.error(error),
    };
    // A source that names its retention policy lists only the fields written to that
    // policy's shards, as 1.6.7 does (field types themselves are kept per database).
    let names_policy = statement
        .sources
        .iter()
        .any(|source| matches!(source, Source::Measurement(m) if !m.retention_policy.is_empty()));
    let policy_fields: Option<BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>> = names_policy.then(|| {
        let shards = policy_shard_series(
            context,
            database,
            &index,
            &statement.sources,
            (i64::MIN, i64::MAX),
        );
        measurements
            .iter()
            .map(|measurement| {
                let series = index.measurement_series(measurement);
                let mut fields = BTreeSet::new();
                for (_, shard_fields) in &shards {
                    for id in &series {
                        fields.extend(shard_fields.get(&id).into_iter().flatten().cloned());
                    }
                }
                (measurement.clone(), fields)
            })
            .collect()
    });
    let mut by_measurement: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
    for (measurement, field, field_type) in context.query.field_types.database_fields(database.id) {
        let name = unescaped(&measurement, EscapeKind::Measurement);
        if !measurements.iter().any(|m| m.as_slice() == name.as_bytes()) {
            continue;
        }
        if let Some(policy_fields) = &policy_fields {
            let written = policy_fields
                .get(name.as_bytes())
                .is_some_and(|fields| fields.contains(field.as_slice()));
            if !written {
                continue;
            }
        }
        by_measurement.entry(name).or_default().push(vec![
            Value::String(unescaped(&field, EscapeKind::FieldKey)),
            Value::String(field_type.name().to_string()),
        ]);
    }
    let mut result = Vec::new();
    for (measurement, mut values) in by_measurement {
        values.sort_by(|a, b| field_sort_key(a).cmp(field_sort_key(b)));
        let values = limit_offset(values, statement.limit, statement.offset);
        if !values.is_empty() {
            result.push(named_series(
                &measurement,
                &["fieldKey", "fieldType"],
                values,
            ));
        }
    }
    context.with_series(result)
}

fn field_sort_key(row: &[Value]) -> &str {
    match row.first() {
        Some(Value::String(name)) => name,
        _ => "",
    }
}

/// The series of each shard of one retention policy that overlaps `(min, max)` (ids in the
/// database's index).
fn policy_shard_series(
    context: &StatementContext<'_>,
    database: &Database,
    index: &SeriesIndex,
    sources: &[Source],
    (min_time, max_time): (i64, i64),
) -> Vec<ShardSeries> {
    let source_policy = sources.iter().find_map(|source| match source {
        Source::Measurement(m) if !m.retention_policy.is_empty() => {
            Some(m.retention_policy.as_str())
        }
        _ => None,
    });
    let policy = source_policy.unwrap_or(&database.default_retention_policy);
    let mut shards = Vec::new();
    for shard in context
        .query
        .store
        .shards_for(database.id, policy, min_time, max_time)
    {
        let mut ids = RoaringBitmap::new();
        let mut fields = BTreeMap::new();
        for (key, shard_fields) in shard.series_fields() {
            if let Some(id) = index.id_of(&key) {
                ids.insert(id);
                fields.insert(id, shard_fields.into_keys().collect());
            }
        }
        shards.push((ids, fields));
    }
    shards
}

/// `SHOW ... [EXACT] CARDINALITY`
pub fn show_cardinality(
    statement: &ShowCardinalityStatement,
    context: &StatementContext<'_>,
) -> StatementResult {
    // 1.6.7 runs an estimate with a condition as the exact count, and refuses a time
    // condition in the three exact counts below before it looks for the database.
    let refused_with_time = match statement.target {
        CardinalityTarget::Series => Some("SHOW SERIES EXACT CARDINALITY"),
        CardinalityTarget::Measurement => Some("SHOW MEASUREMENT EXACT CARDINALITY"),
        CardinalityTarget::TagKey => Some("SHOW TAG KEY EXACT CARDINALITY"),
        CardinalityTarget::TagValues(_) | CardinalityTarget::FieldKey => None,
    };
    if let Some(statement_name) = refused_with_time {
        if statement.condition.as_ref().is_some_and(mentions_time) {
            return context.error(format!(
                "{statement_name} doesn't support time in WHERE clause"
            ));
        }
    }
    let name = match context.database_name(statement.database.as_deref(), &statement.sources) {
        Ok(name) => name,
        Err(error) => return error,
    };
    let estimation = !statement.exact
        && statement.sources.is_empty()
        && statement.condition.is_none()
        && statement.dimensions.is_empty()
        && statement.limit == 0
        && statement.offset == 0
        && matches!(
            statement.target,
            CardinalityTarget::Series | CardinalityTarget::Measurement
        );
    if estimation {
        let count = match context.meta.database(name) {
            None => 0,
            Some(database) => {
                let index = index_of(context, database);
                match statement.target {
                    CardinalityTarget::Series => index.series_count(),
                    _ => index.measurements().len(),
                }
            }
        };
        let row = vec![Value::Integer(count as i64)];
        return context.with_series(vec![unnamed_series(&["cardinality estimation"], vec![row])]);
    }
    let database = match context.require_database(name) {
        Ok(database) => database,
        Err(error) => return error,
    };
    // 1.6.7 counts tag values with a time condition over points it places at the epoch
    // (one per series): a range that leaves out time 0 counts nothing, one that holds it
    // counts as if there were no time condition. Recorded: `time > 0` and `time = 1000s`
    // answer no series, `time >= 0`, `time > -1s` and `time < 1500s` the full count.
    if let (CardinalityTarget::TagValues(_), Some(condition)) =
        (&statement.target, statement.condition.as_ref())
    {
        if mentions_time(condition) {
            match time_range(condition, sluice_model::time::now_ns()) {
                Ok((min_time, max_time)) if min_time > 0 || max_time < 0 => return context.empty(),
                Ok(_) => {}
                Err(error) => return context.error(error),
            }
        }
    }
    let index = index_of(context, database);
    let selected = match selected_series(&index, &statement.sources, statement.condition.as_ref()) {
        Ok(selected) => selected,
        Err(error) => return context.error(error),
    };
    let shards = policy_shard_series(
        context,
        database,
        &index,
        &statement.sources,
        (i64::MIN, i64::MAX),
    );
    // Each count is the one row of its series, and 1.6.7 applies LIMIT/OFFSET to the rows
    // of each series: any OFFSET leaves nothing, LIMIT changes nothing.
    if statement.offset > 0 {
        return context.empty();
    }
    let group_keys = cardinality_group_keys(&statement.dimensions, &index, &selected);
    if !group_keys.is_empty() {
        return grouped_cardinality(statement, context, &index, &selected, &shards, &group_keys);
    }
    let mut counts: Vec<(Vec<u8>, usize)> = Vec::new();
    for (measurement, series) in &selected {
        let count = match cardinality_of(&statement.target, &index, measurement, series, &shards) {
            Ok(count) => count,
            Err(error) => return context.error(error),
        };
        if count > 0 {
            counts.push((measurement.clone(), count));
        }
    }
    if statement.target == CardinalityTarget::Measurement {
        // No measurement counted: 1.6.7 answers no series rather than a count of 0.
        if counts.is_empty() {
            return context.empty();
        }
        let row = vec![Value::Integer(counts.len() as i64)];
        return context.with_series(vec![unnamed_series(&["count"], vec![row])]);
    }
    let result: Vec<Series> = counts
        .into_iter()
        .map(|(measurement, count)| {
            named_series(
                &text(&measurement),
                &["count"],
                vec![vec![Value::Integer(count as i64)]],
            )
        })
        .collect();
    context.with_series(result)
}

/// The tag keys a cardinality's GROUP BY names (`*`: every tag key of the selected series),
/// sorted; time dimensions are not tags.
fn cardinality_group_keys(
    dimensions: &[Expr],
    index: &SeriesIndex,
    selected: &SelectedSeries,
) -> Vec<String> {
    let mut keys = BTreeSet::new();
    for dimension in dimensions {
        match dimension {
            Expr::VarRef(var) => {
                keys.insert(var.name.clone());
            }
            Expr::Wildcard(_) => {
                for (measurement, _) in selected {
                    for key in index.tag_keys(measurement) {
                        keys.insert(String::from_utf8_lossy(&key).into_owned());
                    }
                }
            }
            _ => {}
        }
    }
    keys.into_iter().collect()
}

/// A cardinality with GROUP BY tags, as 1.6.7 answers it: one count per measurement and
/// group of tag values (a missing tag is ""), the group's tags on the series; for
/// MEASUREMENT CARDINALITY one unnamed series per group counting its measurements.
fn grouped_cardinality(
    statement: &ShowCardinalityStatement,
    context: &StatementContext<'_>,
    index: &SeriesIndex,
    selected: &SelectedSeries,
    shards: &[ShardSeries],
    group_keys: &[String],
) -> StatementResult {
    let mut per_measurement: Vec<(Vec<u8>, Vec<String>, usize)> = Vec::new();
    for (measurement, series) in selected {
        let mut groups: BTreeMap<Vec<String>, RoaringBitmap> = BTreeMap::new();
        for id in series {
            let tags = index.tags_of(id).map(|t| t.tags).unwrap_or_default();
            let values = group_keys
                .iter()
                .map(|key| {
                    tags.iter()
                        .find(|(k, _)| k.as_slice() == key.as_bytes())
                        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                        .unwrap_or_default()
                })
                .collect();
            groups.entry(values).or_default().insert(id);
        }
        for (values, members) in groups {
            let count =
                match cardinality_of(&statement.target, index, measurement, &members, shards) {
                    Ok(count) => count,
                    Err(error) => return context.error(error),
                };
            if count > 0 {
                per_measurement.push((measurement.clone(), values, count));
            }
        }
    }
    let tags_of = |values: Vec<String>| group_keys.iter().cloned().zip(values).collect();
    let result: Vec<Series> = if statement.target == CardinalityTarget::Measurement {
        let mut measurements_per_group: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for (_, values, _) in per_measurement {
            *measurements_per_group.entry(values).or_default() += 1;
        }
        measurements_per_group
            .into_iter()
            .map(|(values, count)| Series {
                tags: tags_of(values),
                ..unnamed_series(&["count"], vec![vec![Value::Integer(count as i64)]])
            })
            .collect()
    } else {
        per_measurement
            .into_iter()
            .map(|(measurement, values, count)| Series {
                tags: tags_of(values),
                ..named_series(
                    &text(&measurement),
                    &["count"],
                    vec![vec![Value::Integer(count as i64)]],
                )
            })
            .collect()
    };
    context.with_series(result)
}

/// The count of one measurement within the policy's shards.
fn cardinality_of(
    target: &CardinalityTarget,
    index: &SeriesIndex,
    measurement: &[u8],
    series: &RoaringBitmap,
    shards: &[ShardSeries],
) -> Result<usize, String> {
    let mut in_policy = RoaringBitmap::new();
    let mut per_shard_total = 0usize;
    let mut field_keys = BTreeSet::new();
    for (ids, fields) in shards {
        let present = ids & series;
        per_shard_total += present.len() as usize;
        if *target == CardinalityTarget::FieldKey {
            for id in &present {
                field_keys.extend(fields.get(&id).into_iter().flatten().cloned());
            }
        }
        in_policy |= present;
    }
    Ok(match target {
        CardinalityTarget::Series => per_shard_total,
        CardinalityTarget::Measurement => usize::from(!in_policy.is_empty()),
        CardinalityTarget::FieldKey => field_keys.len(),
        CardinalityTarget::TagKey => {
            let mut keys = BTreeSet::new();
            for id in &in_policy {
                if let Some(tags) = index.tags_of(id) {
                    keys.extend(tags.tags.into_iter().map(|(key, _)| key));
                }
            }
            keys.len()
        }
        CardinalityTarget::TagValues(filter) => {
            if in_policy.is_empty() {
                0
            } else {
                tag_value_count(index, measurement, &in_policy, filter)?
            }
        }
    })
}
