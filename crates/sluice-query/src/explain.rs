//! EXPLAIN and EXPLAIN ANALYZE of a SELECT, answered in InfluxDB 1.6.7's shape.
//!
//! EXPLAIN plans without reading points ([`crate::select::explain::plan_statement`]) and
//! answers one series, column `QUERY PLAN`, a block of lines per iterator (per aggregate
//! call, or the raw fields, per measurement), blocks separated by an empty line; nothing to
//! read answers a single empty line, as 1.6.7 does.
//!
//! EXPLAIN ANALYZE runs the statement through [`crate::select::execute_select`] with the same
//! context (so `max-select-*`, the deadline, KILL QUERY and the memory budget all apply and
//! their errors are the answer), discards the rows, and answers the tree 1.6.7 prints,
//! column `EXPLAIN ANALYZE`.
//!
//! Numbers are Sluice's own. Sluice's column files are not TSM files and it keeps no
//! per-iterator counters, so:
//! - NUMBER OF SERIES counts the series the statement selects (1.6.7 with the inmem index
//!   counts the measurement's series of the whole database once per shard);
//! - NUMBER OF FILES / BLOCKS / SIZE OF BLOCKS count the column-file blocks in the time range
//!   of the fields read, from the files' indexes (`*_blocks_decoded` and `_size_bytes` in
//!   ANALYZE are the same figures: blocks a read in range decodes);
//! - CACHED VALUES is always 0: counting the in-memory points not yet in a file would mean
//!   reading them, and sluice-storage exposes no cheap count;
//! - `cursors_ref` / `cursors_aux` are series × fields of the iterator, `cursors_cond` 0.

use std::time::{Duration, Instant};

use crate::result::{Series, StatementResult, Value};
use crate::select::explain::{plan_statement, type_in, typed_with, LeafPlan, StatementPlan};
use crate::select::{execute_select, SelectContext};
use sluice_influxql::ast::{DataType, Expr, Field, SelectStatement, Source};

/// EXPLAIN `statement`: the plan lines.
pub fn explain(statement: &SelectStatement, context: &SelectContext<'_>) -> StatementResult {
    let plan = match plan_statement(statement, context) {
        Ok(plan) => plan,
        Err(message) => return StatementResult::error(context.statement_id, message),
    };
    let mut innermost = &plan;
    while let Some(inner) = &innermost.inner {
        innermost = inner;
    }
    // Iterators in field order: 1.6.7's order of several calls varies from one server run
    // to the next (recorded: `mean, max` once, `max, mean` once).
    let mut lines: Vec<String> = Vec::new();
    for leaf in &innermost.leaves {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(format!(
            "EXPRESSION: {}",
            leaf.expression.as_deref().unwrap_or("<nil>")
        ));
        if !leaf.auxiliary.is_empty() {
            lines.push(format!("AUXILIARY FIELDS: {}", leaf.auxiliary.join(", ")));
        }
        let series: u64 = leaf.shards.iter().map(|s| s.series).sum();
        let files: u64 = leaf.shards.iter().map(|s| s.files).sum();
        let blocks: u64 = leaf
            .shards
            .iter()
            .flat_map(|s| s.blocks.iter())
            .map(|b| b.0)
            .sum();
        let bytes: u64 = leaf
            .shards
            .iter()
            .flat_map(|s| s.blocks.iter())
            .map(|b| b.1)
            .sum();
        lines.push(format!("NUMBER OF SHARDS: {}", leaf.shards.len()));
        lines.push(format!("NUMBER OF SERIES: {series}"));
        lines.push("CACHED VALUES: 0".to_string());
        lines.push(format!("NUMBER OF FILES: {files}"));
        lines.push(format!("NUMBER OF BLOCKS: {blocks}"));
        lines.push(format!("SIZE OF BLOCKS: {bytes}"));
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    one_column(context.statement_id, "QUERY PLAN", lines)
}

/// EXPLAIN ANALYZE `statement`: runs it, then the execution tree.
pub fn explain_analyze(
    statement: &SelectStatement,
    context: &SelectContext<'_>,
) -> StatementResult {
    let started = Instant::now();
    let plan = match plan_statement(statement, context) {
        Ok(plan) => plan,
        Err(message) => return StatementResult::error(context.statement_id, message),
    };
    let planning = started.elapsed();
    let executing = Instant::now();
    let result = execute_select(statement, context);
    if result.error.is_some() {
        return result;
    }
    drop(result);
    let execution = executing.elapsed();
    let mut tree = Node::new("select");
    tree.values
        .push(format!("execution_time: {}", go_duration(execution)));
    tree.values
        .push(format!("planning_time: {}", go_duration(planning)));
    tree.values
        .push(format!("total_time: {}", go_duration(planning + execution)));
    let outer_types = match (&plan.inner, &plan.inner_statement) {
        (Some(inner), Some(inner_statement)) => column_types(inner_statement, inner),
        _ => Vec::new(),
    };
    tree.children.push(cursor_node(
        statement,
        &plan,
        &outer_types,
        context,
        planning,
    ));
    let mut lines = vec![".".to_string()];
    tree.render("", true, &mut lines);
    lines.push(String::new());
    one_column(context.statement_id, "EXPLAIN ANALYZE", lines)
}

/// The `build_cursor` node of `statement`; `outer_types` types the fields of a statement
/// over a subquery (the subquery's columns).
fn cursor_node(
    statement: &SelectStatement,
    plan: &StatementPlan,
    outer_types: &[(String, DataType)],
    context: &SelectContext<'_>,
    planning: Duration,
) -> Node {
    let types = if plan.inner.is_some() {
        outer_types
    } else {
        plan.types.as_slice()
    };
    let mut node = Node::new("build_cursor");
    node.labels.push(format!(
        "statement: {}",
        label_statement(statement, plan, context)
    ));
    for leaf in &plan.leaves {
        let mut scanner = Node::new("iterator_scanner");
        scanner
            .labels
            .push(match (&leaf.call, plan.inner.is_some()) {
                (Some(call), true) => {
                    format!("expr: {}", typed_with(call, &|name| type_in(types, name)))
                }
                (Some(_), false) => format!("expr: {}", leaf.expression.as_deref().unwrap_or("")),
                (None, _) => format!("auxiliary_fields: {}", leaf.auxiliary.join(", ")),
            });
        match (&plan.inner, &plan.inner_statement) {
            (Some(inner), Some(inner_statement)) => {
                let deeper = match (&inner.inner, &inner.inner_statement) {
                    (Some(deepest), Some(deepest_statement)) => {
                        column_types(deepest_statement, deepest)
                    }
                    _ => Vec::new(),
                };
                scanner.children.push(cursor_node(
                    inner_statement,
                    inner,
                    &deeper,
                    context,
                    planning,
                ));
            }
            _ => scanner.children.extend(iterator_nodes(leaf, planning)),
        }
        node.children.push(scanner);
    }
    node
}

fn iterator_nodes(leaf: &LeafPlan, planning: Duration) -> Vec<Node> {
    const TYPES: [&str; 5] = ["float", "integer", "unsigned", "string", "boolean"];
    let fields = if leaf.expression.is_some() {
        1
    } else {
        leaf.auxiliary.len() as u64
    };
    let shard_count = leaf.shards.len().max(1) as u32;
    leaf.shards
        .iter()
        .map(|shard| {
            let mut node = Node::new("create_iterator");
            node.labels
                .push(format!("measurement: {}", shard.measurement));
            node.labels.push(format!("shard_id: {}", shard.shard_id));
            let cursors = shard.series * fields;
            let (reference, auxiliary) = if leaf.expression.is_some() {
                (cursors, 0)
            } else {
                (0, cursors)
            };
            node.values.push(format!("cursors_ref: {reference}"));
            node.values.push(format!("cursors_aux: {auxiliary}"));
            node.values.push("cursors_cond: 0".to_string());
            for (name, (count, bytes)) in TYPES.iter().zip(shard.blocks.iter()) {
                node.values.push(format!("{name}_blocks_decoded: {count}"));
                node.values
                    .push(format!("{name}_blocks_size_bytes: {bytes}"));
            }
            node.values.push(format!(
                "planning_time: {}",
                go_duration(planning / shard_count)
            ));
            node
        })
        .collect()
}

/// The prefix under a branch that continues: 1.6.7 pads the bar with two no-break spaces.
const CONTINUATION: &str = "│\u{a0}\u{a0} ";

/// A node of the tree: its labels (under `labels`), values, then child nodes.
struct Node {
    name: &'static str,
    labels: Vec<String>,
    values: Vec<String>,
    children: Vec<Node>,
}

impl Node {
    fn new(name: &'static str) -> Node {
        Node {
            name,
            labels: Vec::new(),
            values: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Appends this node's lines with 1.6.7's box-drawing prefixes.
    fn render(&self, prefix: &str, last: bool, lines: &mut Vec<String>) {
        lines.push(format!(
            "{prefix}{}{}",
            if last { "└── " } else { "├── " },
            self.name
        ));
        let inner = format!("{prefix}{}", if last { "    " } else { CONTINUATION });
        let entries =
            usize::from(!self.labels.is_empty()) + self.values.len() + self.children.len();
        let mut index = 0;
        let branch = |index: usize| {
            if index + 1 == entries {
                "└── "
            } else {
                "├── "
            }
        };
        if !self.labels.is_empty() {
            let is_last = index + 1 == entries;
            lines.push(format!("{inner}{}labels", branch(index)));
            let label_prefix = format!("{inner}{}", if is_last { "    " } else { CONTINUATION });
            for (i, label) in self.labels.iter().enumerate() {
                let mark = if i + 1 == self.labels.len() {
                    "└── "
                } else {
                    "├── "
                };
                lines.push(format!("{label_prefix}{mark}{label}"));
            }
            index += 1;
        }
        for value in &self.values {
            lines.push(format!("{inner}{}{value}", branch(index)));
            index += 1;
        }
        for child in &self.children {
            child.render(&inner, index + 1 == entries, lines);
            index += 1;
        }
    }
}

/// A duration as Go's `time.Duration.String` prints it (`41.001929267s`, `214.308µs`).
fn go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    let trim = |whole: u128, frac: u128, digits: usize, unit: &str| {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{whole}{unit}")
        } else {
            format!("{whole}.{frac}{unit}")
        }
    };
    if nanos == 0 {
        "0s".to_string()
    } else if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        trim(nanos / 1_000, nanos % 1_000, 3, "µs")
    } else if nanos < 1_000_000_000 {
        trim(nanos / 1_000_000, nanos % 1_000_000, 6, "ms")
    } else {
        trim(nanos / 1_000_000_000, nanos % 1_000_000_000, 9, "s")
    }
}

fn one_column(statement_id: usize, column: &str, lines: Vec<String>) -> StatementResult {
    StatementResult {
        statement_id,
        series: vec![Series {
            name: None,
            tags: Vec::new(),
            columns: vec![column.to_string()],
            values: lines
                .into_iter()
                .map(|line| vec![Value::String(line)])
                .collect(),
            partial: false,
        }],
        ..StatementResult::default()
    }
}

/// `statement` as 1.6.7 labels it: fields typed (those over a subquery by the subquery's
/// columns), measurement sources (also inside subqueries) qualified by database and
/// retention policy.
fn label_statement(
    statement: &SelectStatement,
    plan: &StatementPlan,
    context: &SelectContext<'_>,
) -> String {
    let mut labelled = statement.clone();
    type_statement(&mut labelled, plan);
    qualify(&mut labelled, context);
    labelled.to_string()
}

fn type_statement(statement: &mut SelectStatement, plan: &StatementPlan) {
    let types = match (&plan.inner, &plan.inner_statement) {
        (Some(inner), Some(inner_statement)) => column_types(inner_statement, inner),
        _ => plan.types.clone(),
    };
    let lookup = |name: &str| type_in(&types, name);
    statement.fields = statement
        .fields
        .iter()
        .map(|field| Field {
            expr: typed_with(&field.expr, &lookup),
            alias: field.alias.clone(),
        })
        .collect();
    if let Some(inner_plan) = &plan.inner {
        for source in &mut statement.sources {
            if let Source::Subquery(inner) = source {
                type_statement(inner, inner_plan);
            }
        }
    }
}

fn qualify(statement: &mut SelectStatement, context: &SelectContext<'_>) {
    for source in &mut statement.sources {
        match source {
            Source::Measurement(measurement) => {
                if measurement.database.is_empty() {
                    measurement.database = context.database.to_string();
                }
                if measurement.retention_policy.is_empty() {
                    let default_policy = || {
                        context
                            .meta
                            .database(&measurement.database)
                            .map(|db| db.default_retention_policy.clone())
                            .unwrap_or_default()
                    };
                    measurement.retention_policy = if context.retention_policy.is_empty() {
                        default_policy()
                    } else {
                        context.retention_policy.to_string()
                    };
                }
            }
            Source::Subquery(inner) => qualify(inner, context),
        }
    }
}

/// The type of each column of a subquery, from its typed fields: a call's result type by
/// its name (`count` is an integer, averaging calls floats, selectors keep their input's).
fn column_types(statement: &SelectStatement, plan: &StatementPlan) -> Vec<(String, DataType)> {
    let lookup = |name: &str| type_in(&plan.types, name);
    let names = crate::select::plan::column_names(&statement.fields);
    statement
        .fields
        .iter()
        // the first column is `time`
        .zip(names.into_iter().skip(1))
        .filter_map(|(field, name)| {
            let typed = typed_with(&field.expr, &lookup);
            let data_type = result_type(&typed)?;
            Some((name, data_type))
        })
        .collect()
}

fn result_type(expr: &Expr) -> Option<DataType> {
    match expr {
        Expr::VarRef(var) => var.data_type,
        Expr::Call(call) => match call.name.as_str() {
            "count" => Some(DataType::Integer),
            "mean"
            | "median"
            | "stddev"
            | "integral"
            | "derivative"
            | "non_negative_derivative"
            | "moving_average"
            | "exponential_moving_average"
            | "holt_winters"
            | "holt_winters_with_fit" => Some(DataType::Float),
            _ => call.args.first().and_then(result_type),
        },
        Expr::Paren(inner) => result_type(inner),
        _ => None,
    }
}
