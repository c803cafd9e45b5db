//! What EXPLAIN needs from the SELECT planner: the statement resolved exactly as
//! [`super::run`] resolves it (sources, fields, series groups, shards by time range), without
//! reading any point. Owned by `crate::explain`, which renders it.
//!
//! Invariant: nothing here reads column data; the storage numbers come from the column
//! files' indexes (block metadata of each (series, field) column overlapping the range).

use sluice_influxql::ast::{DataType, Expr, Field, SelectStatement, Source};
use sluice_storage::tsm::BlockMeta;

use super::{
    collect_keys, data_type_of, dimension_tag_names, groups_of, plan, resolve_sources, time, Exec,
    Measurement, SelectContext, TimeRange,
};

/// The storage a statement would read in one shard for one measurement.
#[derive(Debug, Default, Clone)]
pub struct ShardPlan {
    /// the shard's id
    pub shard_id: u64,
    /// the measurement read (unescaped)
    pub measurement: String,
    /// series of the measurement selected (after the tag condition and SLIMIT)
    pub series: u64,
    /// column files holding at least one block in range
    pub files: u64,
    /// blocks in range and their bytes, by field type (float, integer, unsigned, string, boolean)
    pub blocks: [(u64, u64); 5],
}

/// One iterator 1.6.7 would build: an aggregate call or the raw auxiliary fields.
#[derive(Debug, Clone)]
pub struct LeafPlan {
    /// the call with typed arguments (`mean(f::float)`), none for raw fields
    pub expression: Option<String>,
    /// the same call, unprinted (variables untyped over a subquery)
    pub call: Option<Expr>,
    /// typed auxiliary fields (`f::float`)
    pub auxiliary: Vec<String>,
    /// what it reads, per shard in range
    pub shards: Vec<ShardPlan>,
}

/// The plan of a statement: its leaves, or the plan of its subquery.
#[derive(Debug, Clone)]
pub struct StatementPlan {
    /// the iterators of this statement
    pub leaves: Vec<LeafPlan>,
    /// the plan of the first subquery source, when there is one
    pub inner: Option<Box<StatementPlan>>,
    /// that subquery's statement
    pub inner_statement: Option<SelectStatement>,
    /// the type of each field and tag name over all the statement's measurements (the
    /// first measurement, by name, holding it decides), as 1.6.7 types a statement
    pub types: Vec<(String, DataType)>,
}

/// Plans `statement` as [`super::execute_select`] would run it, without reading points.
pub fn plan_statement(
    statement: &SelectStatement,
    context: &SelectContext<'_>,
) -> Result<StatementPlan, String> {
    let interval_ns = statement.group_by_interval_ns().map_err(str::to_string)?;
    let kind = plan::check(statement, interval_ns)?;
    let (condition, mut range) =
        time::split_condition(statement.condition.as_ref(), context.now_ns)?;
    if interval_ns > 0 && !range.has_max() {
        range.max_ns = context.now_ns;
    }
    let leaves_of = |fields: &[Field]| -> Vec<(Option<Expr>, Vec<Expr>)> {
        match kind {
            plan::QueryKind::Raw => {
                let mut aux = Vec::new();
                for field in fields {
                    collect_vars(&field.expr, &mut aux);
                }
                vec![(None, aux)]
            }
            plan::QueryKind::Aggregate => {
                let mut calls = Vec::new();
                let mut aux = Vec::new();
                for field in fields {
                    collect_reducing_calls(&field.expr, &mut calls);
                    collect_vars_outside_calls(&field.expr, &mut aux);
                }
                calls
                    .into_iter()
                    .map(|call| (Some(call), aux.clone()))
                    .collect()
            }
        }
    };
    if let Some(inner) = statement.sources.iter().find_map(|s| match s {
        Source::Subquery(inner) => Some(inner),
        _ => None,
    }) {
        let inner_plan = plan_statement(inner, context)?;
        let leaves = leaves_of(&statement.fields)
            .into_iter()
            .map(|(expression, auxiliary)| LeafPlan {
                expression: expression.as_ref().map(ToString::to_string),
                call: expression,
                auxiliary: auxiliary.iter().map(ToString::to_string).collect(),
                shards: Vec::new(),
            })
            .collect();
        return Ok(StatementPlan {
            leaves,
            inner: Some(Box::new(inner_plan)),
            inner_statement: Some((**inner).clone()),
            types: Vec::new(),
        });
    }
    let measurements = resolve_sources(statement, context, range)?;
    let exec = Exec {
        context,
        statement,
        range,
        condition,
        windows: None,
        ascending: true,
        points_read: std::cell::Cell::new(0),
    };
    let mut leaves = Vec::new();
    if range.min_ns > range.max_ns || measurements.is_empty() {
        return Ok(StatementPlan {
            leaves,
            inner: None,
            inner_statement: None,
            types: Vec::new(),
        });
    }
    // 1.6.7 plans measurements in FROM order (names), then those a regex found.
    let mut measurements = measurements;
    let from_position = |name: &str| {
        statement
            .sources
            .iter()
            .position(|source| {
                matches!(source, Source::Measurement(m) if m.regex.is_none() && m.name == name)
            })
            .unwrap_or(usize::MAX)
    };
    measurements.sort_by_key(|m| from_position(&m.name));
    let mut types: Vec<(String, DataType)> = Vec::new();
    for measurement in &measurements {
        let names = measurement
            .fields
            .iter()
            .map(|(name, t)| (name, data_type_of(*t)));
        let tags = measurement
            .tag_keys
            .iter()
            .map(|name| (name, DataType::Tag));
        for (name, data_type) in names.chain(tags) {
            if !types.iter().any(|(known, _)| known == name) {
                types.push((name.clone(), data_type));
            }
        }
    }
    let keys = collect_keys(&measurements);
    let dimension_tags = dimension_tag_names(statement, &keys);
    let fields: Vec<Field> = plan::expand_fields(&statement.fields, &keys, &dimension_tags)
        .into_iter()
        .filter(|f| !time::is_time_ref(&f.expr))
        .collect();
    let mut series_total = 0u64;
    for measurement in &measurements {
        let mapped_shards = exec.shards(measurement);
        if mapped_shards.is_empty() {
            // 1.6.7 builds no iterator for a measurement without a shard in range.
            continue;
        }
        let groups = groups_of(&exec, measurement)?;
        super::count_selected_series(context, &mut series_total, &groups)?;
        for (expression, auxiliary) in leaves_of(&fields) {
            let expression = expression.map(|e| typed(&e, measurement, &types));
            let mut auxiliary: Vec<Expr> = auxiliary
                .iter()
                .map(|e| typed(e, measurement, &types))
                .collect();
            if expression.is_none() && auxiliary.iter().all(|e| !is_known(e)) {
                continue;
            }
            if let Some(e) = &expression {
                if !has_known_var(e) {
                    continue;
                }
            }
            // 1.6.7 lists auxiliary fields sorted by name.
            auxiliary.sort_by_key(ToString::to_string);
            let mut read_fields = Vec::new();
            for e in expression.iter().chain(auxiliary.iter()) {
                collect_field_names(e, &mut read_fields);
            }
            let mut shards = Vec::new();
            for shard in &mapped_shards {
                context.check_bounds(0)?;
                let mut shard_plan = ShardPlan {
                    shard_id: shard.id,
                    measurement: measurement.name.clone(),
                    ..ShardPlan::default()
                };
                for file in shard.files().iter() {
                    let mut file_used = false;
                    for group in &groups {
                        for series in &group.series {
                            for field in &read_fields {
                                let Some(entry) = file.reader.find(&series.key, field.as_bytes())
                                else {
                                    continue;
                                };
                                let slot = type_slot(entry.field_type);
                                for block in entry.blocks.iter().filter(|b| in_range(b, range)) {
                                    file_used = true;
                                    if let Some(totals) = shard_plan.blocks.get_mut(slot) {
                                        totals.0 += 1;
                                        totals.1 += u64::from(block.size);
                                    }
                                }
                            }
                        }
                    }
                    shard_plan.files += u64::from(file_used);
                }
                shard_plan.series = groups.iter().map(|g| g.series.len() as u64).sum();
                shards.push(shard_plan);
            }
            leaves.push(LeafPlan {
                expression: expression.as_ref().map(ToString::to_string),
                call: expression,
                auxiliary: auxiliary
                    .iter()
                    .filter(|e| is_known(e))
                    .map(ToString::to_string)
                    .collect(),
                shards,
            });
        }
    }
    Ok(StatementPlan {
        leaves,
        inner: None,
        inner_statement: None,
        types,
    })
}

fn in_range(block: &BlockMeta, range: TimeRange) -> bool {
    block.max_time >= range.min_ns && block.min_time <= range.max_ns
}

fn type_slot(field_type: sluice_ingest::record::FieldType) -> usize {
    use sluice_ingest::record::FieldType;
    match field_type {
        FieldType::Float => 0,
        FieldType::Integer => 1,
        FieldType::Unsigned => 2,
        FieldType::String => 3,
        FieldType::Boolean => 4,
    }
}

/// The variables of `expr` in order, each once.
fn collect_vars(expr: &Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::VarRef(_) if !out.contains(expr) => out.push(expr.clone()),
        Expr::Call(call) => call.args.iter().for_each(|a| collect_vars(a, out)),
        Expr::Binary(binary) => {
            collect_vars(&binary.lhs, out);
            collect_vars(&binary.rhs, out);
        }
        Expr::Paren(inner) => collect_vars(inner, out),
        _ => {}
    }
}

/// The innermost reducing calls (`mean(f)` of `derivative(mean(f))`), as 1.6.7 builds one
/// iterator per call.
fn collect_reducing_calls(expr: &Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::Call(call) if plan::is_reducing(&call.name) => {
            let nested = call.args.iter().any(|a| matches!(a, Expr::Call(_)));
            if nested {
                call.args
                    .iter()
                    .for_each(|a| collect_reducing_calls(a, out));
            } else {
                let first = call.args.first().cloned();
                let call_expr = match (call.name.as_str(), first) {
                    // selectors with a row of values: 1.6.7 iterates the field itself
                    ("top" | "bottom", Some(field)) => field,
                    _ => Expr::Call(sluice_influxql::ast::Call {
                        name: call.name.clone(),
                        args: call.args.iter().take(1).cloned().collect(),
                    }),
                };
                out.push(call_expr);
            }
        }
        Expr::Call(call) => call
            .args
            .iter()
            .for_each(|a| collect_reducing_calls(a, out)),
        Expr::Binary(binary) => {
            collect_reducing_calls(&binary.lhs, out);
            collect_reducing_calls(&binary.rhs, out);
        }
        Expr::Paren(inner) => collect_reducing_calls(inner, out),
        _ => {}
    }
}

/// `expr` with every variable given its type (`f::float`, `host::tag`): its type in
/// `measurement`, else in `types` (the statement's other measurements).
fn typed(expr: &Expr, measurement: &Measurement, types: &[(String, DataType)]) -> Expr {
    let lookup = |name: &str| match measurement.field_type(name) {
        Some(t) => Some(data_type_of(t)),
        None if measurement
            .tag_keys
            .binary_search(&name.to_string())
            .is_ok() =>
        {
            Some(DataType::Tag)
        }
        None => type_in(types, name),
    };
    typed_with(expr, &lookup)
}

/// The type `types` gives `name`.
pub fn type_in(types: &[(String, DataType)], name: &str) -> Option<DataType> {
    types
        .iter()
        .find(|(known, _)| known == name)
        .map(|(_, t)| *t)
}

/// `expr` with every untyped (or `::field`) variable typed by `lookup`.
pub fn typed_with(expr: &Expr, lookup: &dyn Fn(&str) -> Option<DataType>) -> Expr {
    match expr {
        Expr::VarRef(var) => {
            let mut var = var.clone();
            match var.data_type {
                None => var.data_type = lookup(&var.name),
                Some(DataType::Field) => {
                    var.data_type = lookup(&var.name).filter(|t| *t != DataType::Tag);
                }
                Some(_) => {}
            }
            Expr::VarRef(var)
        }
        Expr::Call(call) => Expr::Call(sluice_influxql::ast::Call {
            name: call.name.clone(),
            args: call.args.iter().map(|a| typed_with(a, lookup)).collect(),
        }),
        Expr::Binary(binary) => Expr::Binary(Box::new(sluice_influxql::ast::BinaryExpr {
            op: binary.op,
            lhs: typed_with(&binary.lhs, lookup),
            rhs: typed_with(&binary.rhs, lookup),
        })),
        Expr::Paren(inner) => Expr::Paren(Box::new(typed_with(inner, lookup))),
        other => other.clone(),
    }
}

/// The variables of `expr` outside any call (`s` of `top(f, 2), s`), each once.
fn collect_vars_outside_calls(expr: &Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::VarRef(_) if !out.contains(expr) => out.push(expr.clone()),
        Expr::Binary(binary) => {
            collect_vars_outside_calls(&binary.lhs, out);
            collect_vars_outside_calls(&binary.rhs, out);
        }
        Expr::Paren(inner) => collect_vars_outside_calls(inner, out),
        _ => {}
    }
}

fn is_known(expr: &Expr) -> bool {
    matches!(expr, Expr::VarRef(var) if var.data_type.is_some())
}

fn has_known_var(expr: &Expr) -> bool {
    match expr {
        Expr::VarRef(_) => is_known(expr),
        Expr::Call(call) => call.args.iter().any(has_known_var),
        Expr::Paren(inner) => has_known_var(inner),
        _ => false,
    }
}

/// Field (not tag) names `expr` reads.
fn collect_field_names(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::VarRef(var)
            if var.data_type.is_some()
                && var.data_type != Some(DataType::Tag)
                && !out.contains(&var.name) =>
        {
            out.push(var.name.clone());
        }
        Expr::Call(call) => call.args.iter().for_each(|a| collect_field_names(a, out)),
        Expr::Paren(inner) => collect_field_names(inner, out),
        _ => {}
    }
}
