//! Checking a SELECT before it reads anything: the function catalogue, argument rules and
//! InfluxDB 1.6.7's compile errors (exact texts), output column names, and wildcard
//! expansion.
//!
//! Function kinds: *aggregates* and *selectors* reduce a window to one value (top, bottom,
//! sample, distinct to several); *transformations* map a point sequence (raw points or an
//! aggregate's windows) to another; *math* functions apply per row. A "leaf" is an
//! outermost non-math call of a field: the unit the executor computes per group.

use sluice_influxql::ast::{
    BinaryOp, Call, DataType, Expr, Field, Fill, Literal, SelectStatement, VarRef, WildcardType,
};
use sluice_influxql::parser::format_duration_ns;

use super::eval::{is_math_function, math_arity};
use super::holt_winters::HoltWintersSpec;
use super::regex::Regex;
use super::technical::{Indicator, IndicatorSpec};

/// Functions that reduce a window.
pub fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "distinct"
            | "mean"
            | "median"
            | "mode"
            | "spread"
            | "stddev"
            | "sum"
            | "integral"
    )
}

/// Functions that pick points of a window.
pub fn is_selector(name: &str) -> bool {
    matches!(
        name,
        "first" | "last" | "min" | "max" | "percentile" | "top" | "bottom" | "sample"
    )
}

/// Functions over a point sequence.
pub fn is_transformation(name: &str) -> bool {
    matches!(
        name,
        "derivative"
            | "non_negative_derivative"
            | "difference"
            | "non_negative_difference"
            | "moving_average"
            | "cumulative_sum"
            | "elapsed"
    ) || TypedTransform::is_named(name)
}

/// Whether the transformation `name` of an aggregate sees the aggregate from one GROUP BY
/// interval before the range (after it, descending), as 1.6.7 widens its iterator for
/// them; its first window then has a value (`gen-func/*/by-time-tag-inside-data`).
pub fn reads_previous_interval(name: &str) -> bool {
    matches!(
        name,
        "derivative"
            | "non_negative_derivative"
            | "difference"
            | "non_negative_difference"
            | "moving_average"
            | "elapsed"
    ) || Indicator::from_name(name).is_some()
}

/// A transformation resolved once to its typed specification (issue 14's typed plan; the
/// older transformations are still matched by name): what its arguments mean is decided
/// here, with 1.6.7's argument errors, and the executor only matches this enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypedTransform {
    /// one of the technical-analysis functions ([`super::technical`])
    Indicator(IndicatorSpec),
    /// `holt_winters` or `holt_winters_with_fit` ([`super::holt_winters`])
    HoltWinters(HoltWintersSpec),
}

impl TypedTransform {
    /// Whether `name` names one of these functions.
    pub fn is_named(name: &str) -> bool {
        Indicator::from_name(name).is_some() || HoltWintersSpec::with_fit_of(name).is_some()
    }

    /// `call` resolved (`None`: not one of these functions), or 1.6.7's error for its
    /// arguments besides the field (checked by [`check`]).
    pub fn resolve(call: &Call, interval_ns: i64) -> Option<Result<TypedTransform, String>> {
        if let Some(indicator) = Indicator::from_name(&call.name) {
            return Some(IndicatorSpec::resolve(indicator, call).map(TypedTransform::Indicator));
        }
        let with_fit = HoltWintersSpec::with_fit_of(&call.name)?;
        Some(HoltWintersSpec::resolve(with_fit, call, interval_ns).map(TypedTransform::HoltWinters))
    }

    /// How 1.6.7 names the function in its `unsupported … iterator type` errors (for
    /// holt_winters, the text of another function: 1.6.7's own slip, kept).
    pub fn iterator_name(&self) -> &'static str {
        match self {
            TypedTransform::Indicator(spec) => spec.indicator.iterator_name(),
            TypedTransform::HoltWinters(_) => "elapsed",
        }
    }
}

/// Whether `name` is a function that is not per-row math.
pub fn is_reducing(name: &str) -> bool {
    is_aggregate(name) || is_selector(name) || is_transformation(name)
}

/// Whether function `name` accepts values of stored type `value_type`
/// ("float"/"integer"/"unsigned"/"string"/"boolean").
pub fn accepts_type(name: &str, value_type: &str) -> bool {
    let numeric = matches!(value_type, "float" | "integer" | "unsigned");
    match name {
        "count" | "distinct" | "first" | "last" | "mode" | "sample" | "elapsed" => true,
        "min" | "max" => numeric || value_type == "boolean",
        _ => numeric,
    }
}

/// The outermost non-math calls of an expression, in order.
pub fn leaves(expr: &Expr) -> Vec<&Call> {
    let mut found = Vec::new();
    collect_leaves(expr, &mut found);
    found
}

fn collect_leaves<'e>(expr: &'e Expr, found: &mut Vec<&'e Call>) {
    match expr {
        Expr::Call(call) if is_reducing(&call.name) => found.push(call),
        Expr::Call(call) => call.args.iter().for_each(|a| collect_leaves(a, found)),
        Expr::Binary(binary) => {
            collect_leaves(&binary.lhs, found);
            collect_leaves(&binary.rhs, found);
        }
        Expr::Paren(inner) => collect_leaves(inner, found),
        _ => {}
    }
}

/// Variable references outside reducing calls (raw fields and tags of a row).
pub fn raw_refs(expr: &Expr) -> Vec<&VarRef> {
    let mut found = Vec::new();
    collect_raw_refs(expr, &mut found);
    found
}

fn collect_raw_refs<'e>(expr: &'e Expr, found: &mut Vec<&'e VarRef>) {
    match expr {
        Expr::VarRef(var) => found.push(var),
        Expr::Call(call) if is_reducing(&call.name) => {}
        Expr::Call(call) => call.args.iter().for_each(|a| collect_raw_refs(a, found)),
        Expr::Binary(binary) => {
            collect_raw_refs(&binary.lhs, found);
            collect_raw_refs(&binary.rhs, found);
        }
        Expr::Paren(inner) => collect_raw_refs(inner, found),
        _ => {}
    }
}

fn arg_count_error(name: &str, expected: usize, got: usize) -> String {
    format!("invalid number of arguments for {name}, expected {expected}, got {got}")
}

fn literal_text(expr: &Expr) -> String {
    expr.to_string()
}

fn go_type_name(expr: &Expr) -> &'static str {
    match expr {
        Expr::Literal(Literal::String(_)) => "*influxql.StringLiteral",
        Expr::Literal(Literal::Integer(_)) => "*influxql.IntegerLiteral",
        Expr::Literal(Literal::Unsigned(_)) => "*influxql.UnsignedLiteral",
        Expr::Literal(Literal::Number(_)) => "*influxql.NumberLiteral",
        Expr::Literal(Literal::Boolean(_)) => "*influxql.BooleanLiteral",
        Expr::Literal(Literal::Duration(_)) => "*influxql.DurationLiteral",
        Expr::Literal(Literal::Regex(_)) => "*influxql.RegexLiteral",
        Expr::VarRef(_) => "*influxql.VarRef",
        Expr::Call(_) => "*influxql.Call",
        Expr::Binary(_) => "*influxql.BinaryExpr",
        Expr::Paren(_) => "*influxql.ParenExpr",
        Expr::Distinct(_) => "*influxql.Distinct",
        Expr::Wildcard(_) => "*influxql.Wildcard",
    }
}

/// Whether `expr` is a field argument an aggregate accepts: a name, `*`, a regex.
fn is_field_arg(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::VarRef(_) | Expr::Wildcard(_) | Expr::Literal(Literal::Regex(_))
    )
}

/// Checks one reducing call (and what it contains).
fn check_call(call: &Call, interval_ns: i64) -> Result<(), String> {
    if let Some(resolved) = TypedTransform::resolve(call, interval_ns) {
        return match resolved? {
            TypedTransform::Indicator(_) => check_transform_arg(call, interval_ns),
            TypedTransform::HoltWinters(_) => match call.args.first() {
                Some(Expr::Call(inner)) if is_reducing(&inner.name) => {
                    check_call(inner, interval_ns)
                }
                // holt_winters(abs(v), …): 1.6.7 finds a raw value beside the aggregation.
                Some(inner) => {
                    check_expr(inner, interval_ns)?;
                    Err("mixing aggregate and non-aggregate queries is not supported".into())
                }
                None => Ok(()),
            },
        };
    }
    let name = call.name.as_str();
    let got = call.args.len();
    match name {
        "count" | "mean" | "median" | "mode" | "spread" | "stddev" | "sum" | "first" | "last"
        | "min" | "max" => {
            if got != 1 {
                return Err(arg_count_error(name, 1, got));
            }
            match call.args.first() {
                Some(Expr::Call(inner)) if name == "count" && inner.name == "distinct" => {
                    check_call(inner, interval_ns)
                }
                Some(Expr::Distinct(_)) if name == "count" => Ok(()),
                Some(arg) if is_field_arg(arg) => Ok(()),
                _ => Err(format!("expected field argument in {name}()")),
            }
        }
        "distinct" => {
            if got == 0 {
                return Err("distinct function requires at least one argument".into());
            }
            if got != 1 {
                return Err("distinct function can only have one argument".into());
            }
            match call.args.first() {
                Some(Expr::VarRef(_)) => Ok(()),
                _ => Err("expected field argument in distinct()".into()),
            }
        }
        "percentile" => {
            if got != 2 {
                return Err(arg_count_error(name, 2, got));
            }
            if !call.args.first().is_some_and(is_field_arg) {
                return Err("expected field argument in percentile()".into());
            }
            match call.args.get(1) {
                Some(Expr::Literal(Literal::Integer(_) | Literal::Number(_))) => Ok(()),
                _ => Err("expected float argument in percentile()".into()),
            }
        }
        "top" | "bottom" => {
            if got < 2 {
                return Err(format!(
                    "invalid number of arguments for {name}, expected at least 2, got {got}"
                ));
            }
            if !matches!(call.args.first(), Some(Expr::VarRef(_))) {
                return Err(format!(
                    "expected first argument to be a field in {name}(), found {}",
                    call.args.first().map(literal_text).unwrap_or_default()
                ));
            }
            for middle in call.args.iter().skip(1).take(got.saturating_sub(2)) {
                if !matches!(middle, Expr::VarRef(_)) {
                    return Err(format!(
                        "only fields or tags are allowed in {name}(), found {middle}"
                    ));
                }
            }
            match call.args.last() {
                Some(Expr::Literal(Literal::Integer(n))) => {
                    if *n < 1 {
                        return Err(format!("limit ({n}) in {name} function must be at least 1"));
                    }
                    Ok(())
                }
                Some(other) => Err(format!(
                    "expected integer as last argument in {name}(), found {other}"
                )),
                None => Err(arg_count_error(name, 2, got)),
            }
        }
        "sample" => {
            if got != 2 {
                return Err(arg_count_error(name, 2, got));
            }
            if !matches!(
                call.args.first(),
                Some(Expr::VarRef(_) | Expr::Wildcard(_) | Expr::Literal(Literal::Regex(_)))
            ) {
                return Err("expected field argument in sample()".into());
            }
            match call.args.get(1) {
                Some(Expr::Literal(Literal::Integer(n))) => {
                    if *n < 1 {
                        return Err(format!("sample window must be greater than 1, got {n}"));
                    }
                    Ok(())
                }
                Some(_) => Err("expected integer argument in sample()".into()),
                None => Err(arg_count_error(name, 2, got)),
            }
        }
        "integral" => {
            if got == 0 || got > 2 {
                return Err(format!(
                    "invalid number of arguments for integral, expected at least 1 but no more than 2, got {got}"
                ));
            }
            if got == 2 && !matches!(call.args.get(1), Some(Expr::Literal(Literal::Duration(_)))) {
                return Err("second argument must be a duration".into());
            }
            if !call.args.first().is_some_and(is_field_arg) {
                return Err("expected field argument in integral()".into());
            }
            Ok(())
        }
        "derivative" | "non_negative_derivative" | "elapsed" => {
            if got == 0 || got > 2 {
                return Err(format!(
                    "invalid number of arguments for {name}, expected at least 1 but no more than 2, got {got}"
                ));
            }
            if let Some(unit) = call.args.get(1) {
                let Expr::Literal(Literal::Duration(unit_ns)) = unit else {
                    return Err(format!(
                        "second argument to {name} must be a duration, got {}",
                        go_type_name(unit)
                    ));
                };
                if *unit_ns <= 0 {
                    return Err(format!(
                        "duration argument must be positive, got {}",
                        format_duration_ns(*unit_ns)
                    ));
                }
            }
            check_transform_arg(call, interval_ns)
        }
        "difference" | "non_negative_difference" | "cumulative_sum" => {
            if got != 1 {
                return Err(arg_count_error(name, 1, got));
            }
            check_transform_arg(call, interval_ns)
        }
        "moving_average" => {
            if got != 2 {
                return Err(arg_count_error(name, 2, got));
            }
            match call.args.get(1) {
                Some(Expr::Literal(Literal::Integer(n))) => {
                    if *n <= 1 {
                        return Err(format!(
                            "moving_average window must be greater than 1, got {n}"
                        ));
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "second argument for moving_average must be an integer, got {}",
                        go_type_name(other)
                    ))
                }
                None => return Err(arg_count_error(name, 2, got)),
            }
            check_transform_arg(call, interval_ns)
        }
        _ => Ok(()),
    }
}

/// The first argument of a transformation, in 1.6.7's order: a call needs a GROUP BY
/// interval first (then an aggregate; a math function of a field is caught later as a mix
/// of aggregate and raw values), anything else must not have one (then a field, `*` or a
/// regex).
fn check_transform_arg(call: &Call, interval_ns: i64) -> Result<(), String> {
    match call.args.first() {
        Some(Expr::Call(inner)) => {
            if interval_ns == 0 {
                return Err(format!(
                    "{} aggregate requires a GROUP BY interval",
                    call.name
                ));
            }
            if is_aggregate(&inner.name) || is_selector(&inner.name) {
                return check_call(inner, interval_ns);
            }
            if is_math_function(&inner.name) {
                check_expr(&Expr::Call(inner.clone()), interval_ns)?;
                return Err("mixing aggregate and non-aggregate queries is not supported".into());
            }
            Err(format!("expected field argument in {}()", call.name))
        }
        _ if interval_ns > 0 => Err(format!(
            "aggregate function required inside the call to {}",
            call.name
        )),
        Some(argument) if is_field_arg(argument) => Ok(()),
        _ => Err(format!("expected field argument in {}()", call.name)),
    }
}

fn check_expr(expr: &Expr, interval_ns: i64) -> Result<(), String> {
    match expr {
        Expr::Call(call) => {
            if is_reducing(&call.name) {
                return check_call(call, interval_ns);
            }
            if is_math_function(&call.name) {
                let expected = math_arity(&call.name);
                if call.args.len() != expected {
                    return Err(arg_count_error(&call.name, expected, call.args.len()));
                }
                return call
                    .args
                    .iter()
                    .try_for_each(|a| check_expr(a, interval_ns));
            }
            Err(format!("undefined function {}()", call.name))
        }
        Expr::Binary(binary) => {
            check_expr(&binary.lhs, interval_ns)?;
            check_expr(&binary.rhs, interval_ns)
        }
        Expr::Paren(inner) => check_expr(inner, interval_ns),
        _ => Ok(()),
    }
}

/// `top`/`bottom` may not ask for more points than the statement's LIMIT.
fn check_selector_limit(expr: &Expr, limit: u64) -> Result<(), String> {
    if limit == 0 {
        return Ok(());
    }
    for call in leaves(expr) {
        if !matches!(call.name.as_str(), "top" | "bottom") {
            continue;
        }
        if let Some(Expr::Literal(Literal::Integer(n))) = call.args.last() {
            if u64::try_from(*n).is_ok_and(|n| n > limit) {
                return Err(format!(
                    "limit ({n}) in {} function can not be larger than the LIMIT ({limit}) in \
                     the select statement",
                    call.name
                ));
            }
        }
    }
    Ok(())
}

fn has_variable(expr: &Expr) -> bool {
    match expr {
        Expr::VarRef(_) | Expr::Wildcard(_) | Expr::Distinct(_) => true,
        Expr::Literal(literal) => matches!(literal, Literal::Regex(_)),
        Expr::Call(call) if is_reducing(&call.name) => true,
        // A regex is expanded to fields only in aggregates and selectors; inside a math
        // function it stays a regex, which 1.6.7 does not count as a variable.
        Expr::Call(call) if is_math_function(&call.name) => call.args.iter().any(|argument| {
            !matches!(argument, Expr::Literal(Literal::Regex(_))) && has_variable(argument)
        }),
        Expr::Call(call) => call.args.iter().any(has_variable),
        Expr::Binary(binary) => has_variable(&binary.lhs) || has_variable(&binary.rhs),
        Expr::Paren(inner) => has_variable(inner),
    }
}

/// What kind of query the fields make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryKind {
    /// rows of stored points (math allowed)
    Raw,
    /// windows reduced by aggregates/selectors, or transformations
    Aggregate,
}

/// Checks the statement's fields and dimensions; the kind of query, or InfluxDB's error.
pub fn check(statement: &SelectStatement, interval_ns: i64) -> Result<QueryKind, String> {
    // `GROUP BY time` without its interval: 1.6.7 takes the name for the function.
    if statement
        .dimensions
        .iter()
        .any(|d| matches!(d, Expr::VarRef(var) if var.name == "time"))
    {
        return Err("time() is a function and expects at least one argument".into());
    }
    let time_dimensions = statement
        .dimensions
        .iter()
        .filter(|d| matches!(d, Expr::Call(c) if c.name == "time"))
        .count();
    if time_dimensions > 1 {
        return Err("multiple time dimensions not allowed".into());
    }
    let non_time: Vec<&Field> = statement
        .fields
        .iter()
        .filter(|f| !super::time::is_time_ref(&f.expr))
        .collect();
    if non_time.is_empty() {
        return Err("at least 1 non-time field must be queried".into());
    }
    for field in &non_time {
        check_expr(&field.expr, interval_ns)?;
        if !has_variable(&field.expr) {
            return Err("field must contain at least one variable".into());
        }
        check_selector_limit(&field.expr, statement.limit)?;
    }
    let mut calls: Vec<&Call> = Vec::new();
    let mut has_raw = false;
    for field in &non_time {
        calls.extend(leaves(&field.expr));
        has_raw |= !raw_refs(&field.expr).is_empty()
            || matches!(
                field.expr,
                Expr::Wildcard(_) | Expr::Literal(Literal::Regex(_))
            );
    }
    if calls.is_empty() {
        // 1.6.7 checks these two fills before the grouping (recorded: `SELECT f FROM g
        // fill(linear)` and `fill(none)`, with or without GROUP BY; fill(0) is let through).
        match statement.fill {
            Fill::Linear => return Err("fill(linear) must be used with a function".into()),
            Fill::None => return Err("fill(none) must be used with a function".into()),
            _ => {}
        }
        if interval_ns > 0 {
            return Err("GROUP BY requires at least one aggregate function".into());
        }
        return Ok(QueryKind::Raw);
    }
    for call in &calls {
        if (call.name == "top" || call.name == "bottom") && calls.len() > 1 {
            return Err(format!(
                "selector function {}() cannot be combined with other functions",
                call.name
            ));
        }
        if call.name == "distinct" && (calls.len() > 1 || has_raw) {
            return Err(
                "aggregate function distinct() cannot be combined with other functions or fields"
                    .into(),
            );
        }
    }
    if has_raw {
        let single_selector =
            calls.len() == 1 && calls.first().is_some_and(|c| is_selector(&c.name));
        if !single_selector {
            return Err("mixing aggregate and non-aggregate queries is not supported".into());
        }
    }
    Ok(QueryKind::Aggregate)
}

/// The statement with the keyword form `DISTINCT x` of a field made the call `distinct(x)`,
/// as 1.6.7 answers both alike (`count(DISTINCT x)` stays: count takes either form).
pub fn with_distinct_calls(statement: &SelectStatement) -> Option<SelectStatement> {
    if !statement
        .fields
        .iter()
        .any(|f| has_distinct_keyword(&f.expr))
    {
        return None;
    }
    let mut rewritten = statement.clone();
    for field in &mut rewritten.fields {
        distinct_to_call(&mut field.expr);
    }
    Some(rewritten)
}

fn has_distinct_keyword(expr: &Expr) -> bool {
    match expr {
        Expr::Distinct(_) => true,
        Expr::Call(call) if call.name == "count" => false,
        Expr::Call(call) => call.args.iter().any(has_distinct_keyword),
        Expr::Binary(binary) => {
            has_distinct_keyword(&binary.lhs) || has_distinct_keyword(&binary.rhs)
        }
        Expr::Paren(inner) => has_distinct_keyword(inner),
        _ => false,
    }
}

fn distinct_to_call(expr: &mut Expr) {
    match expr {
        Expr::Distinct(name) => {
            *expr = Expr::Call(Call {
                name: "distinct".into(),
                args: vec![Expr::var_ref(std::mem::take(name))],
            });
        }
        Expr::Call(call) if call.name == "count" => {}
        Expr::Call(call) => call.args.iter_mut().for_each(distinct_to_call),
        Expr::Binary(binary) => {
            distinct_to_call(&mut binary.lhs);
            distinct_to_call(&mut binary.rhs);
        }
        Expr::Paren(inner) => distinct_to_call(inner),
        _ => {}
    }
}

/// The name of a column, as InfluxDB derives it from a field.
pub fn field_name(field: &Field) -> String {
    if let Some(alias) = &field.alias {
        return alias.clone();
    }
    expr_name(&field.expr)
}

fn expr_name(expr: &Expr) -> String {
    match expr {
        Expr::Call(call) => call.name.clone(),
        Expr::VarRef(var) => var.name.clone(),
        Expr::Paren(inner) => expr_name(inner),
        Expr::Binary(_) => {
            let mut names = Vec::new();
            binary_names(expr, &mut names);
            names.join("_")
        }
        Expr::Distinct(_) => "distinct".into(),
        _ => String::new(),
    }
}

fn binary_names(expr: &Expr, names: &mut Vec<String>) {
    match expr {
        Expr::VarRef(var) => names.push(var.name.clone()),
        Expr::Call(call) => names.push(call.name.clone()),
        Expr::Binary(binary) => {
            binary_names(&binary.lhs, names);
            binary_names(&binary.rhs, names);
        }
        Expr::Paren(inner) => binary_names(inner, names),
        _ => {}
    }
}

/// Column names with InfluxDB's `_1`, `_2` suffixes for repeats (after `time`). An alias
/// is taken as written, repeated or not (`mean(v) AS mv, max(v) AS mv` gives two `mv`),
/// and every alias is reserved before the other names get their suffixes
/// (`v, v AS v` gives `v_1, v`).
pub fn column_names(fields: &[Field]) -> Vec<String> {
    let mut columns = vec!["time".to_string()];
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    seen.insert("time".into(), 1);
    for alias in fields.iter().filter_map(|f| f.alias.as_ref()) {
        seen.entry(alias.clone()).or_insert(1);
    }
    for field in fields {
        if let Some(alias) = &field.alias {
            columns.push(alias.clone());
            continue;
        }
        let base = field_name(field);
        let mut name = base.clone();
        if let Some(count) = seen.get(&base).copied() {
            let mut n = count;
            loop {
                let candidate = format!("{base}_{n}");
                n += 1;
                if !seen.contains_key(&candidate) {
                    name = candidate;
                    break;
                }
            }
            seen.insert(base.clone(), n);
        }
        seen.entry(name.clone()).or_insert(1);
        columns.push(name);
    }
    columns
}

/// Keys the wildcards of a query may expand to: fields with their type name, and tags.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    /// (field, type name), sorted by name, first type seen wins
    pub fields: Vec<(String, &'static str)>,
    /// tag keys, sorted
    pub tags: Vec<String>,
}

impl Keys {
    /// The type name of field `name`, if it is a field.
    pub fn field_type(&self, name: &str) -> Option<&'static str> {
        self.fields
            .binary_search_by(|(field, _)| field.as_str().cmp(name))
            .ok()
            .and_then(|index| self.fields.get(index))
            .map(|(_, field_type)| *field_type)
    }
}

/// `call` with its first argument replaced by `first`.
fn with_first_argument(call: &Call, first: Expr) -> Expr {
    let mut args = call.args.clone();
    if let Some(slot) = args.first_mut() {
        *slot = first;
    }
    Expr::Call(Call {
        name: call.name.clone(),
        args,
    })
}

/// One field of a wildcard or regex expansion of `field` (whose expression is `call`): the
/// call over `first`, named `<alias or call>_<field name>`.
fn expanded_call(field: &Field, call: &Call, first: Expr, name: &str) -> Field {
    Field {
        expr: with_first_argument(call, first),
        alias: Some(format!(
            "{}_{}",
            field.alias.as_deref().unwrap_or(&call.name),
            name
        )),
    }
}

fn regex_matches(pattern: &str, text: &str) -> bool {
    Regex::new(pattern).is_ok_and(|r| r.is_match(text))
}

/// Replaces `*`, `*::field`, `*::tag` and `/regex/` fields (and such call arguments) with
/// the keys they select; `excluded_tags` are the GROUP BY tags (not repeated as columns).
pub fn expand_fields(fields: &[Field], keys: &Keys, excluded_tags: &[String]) -> Vec<Field> {
    let mut expanded = Vec::new();
    for field in fields {
        match &field.expr {
            Expr::Wildcard(kind) => {
                expanded.extend(select_keys(keys, excluded_tags, *kind, None));
            }
            Expr::Literal(Literal::Regex(pattern)) => {
                expanded.extend(select_keys(
                    keys,
                    excluded_tags,
                    WildcardType::All,
                    Some(pattern),
                ));
            }
            // A math function expands `*` but not a regex (1.6.7 then finds no variable in
            // the field); an aggregate or selector expands both.
            Expr::Call(call)
                if (is_reducing(&call.name)
                    && matches!(
                        call.args.first(),
                        Some(Expr::Wildcard(_) | Expr::Literal(Literal::Regex(_)))
                    ))
                    || (is_math_function(&call.name)
                        && matches!(call.args.first(), Some(Expr::Wildcard(_)))) =>
            {
                let pattern = match call.args.first() {
                    Some(Expr::Literal(Literal::Regex(p))) => Some(p.as_str()),
                    _ => None,
                };
                for (name, value_type) in &keys.fields {
                    if pattern.is_some_and(|p| !regex_matches(p, name)) {
                        continue;
                    }
                    let accepted = if is_math_function(&call.name) {
                        matches!(*value_type, "float" | "integer" | "unsigned")
                    } else {
                        accepts_type(&call.name, value_type)
                    };
                    if !accepted {
                        continue;
                    }
                    expanded.push(expanded_call(
                        field,
                        call,
                        Expr::var_ref(name.clone()),
                        name,
                    ));
                }
            }
            // A transformation of an aggregate of `*` or a regex: one per field the
            // aggregate takes (`derivative(mean(*))` gives `derivative_f`, `derivative_i`).
            Expr::Call(call) if wildcard_aggregate_of(call).is_some() => {
                let Some((inner, pattern)) = wildcard_aggregate_of(call) else {
                    continue;
                };
                for (name, value_type) in &keys.fields {
                    if pattern.is_some_and(|p| !regex_matches(p, name))
                        || !accepts_type(&inner.name, value_type)
                    {
                        continue;
                    }
                    let inner_of_field = with_first_argument(inner, Expr::var_ref(name.clone()));
                    expanded.push(expanded_call(field, call, inner_of_field, name));
                }
            }
            Expr::Call(call) if matches!(call.name.as_str(), "top" | "bottom") => {
                expanded.push(field.clone());
                // The tags named between the field and the count become columns too.
                for tag in call
                    .args
                    .iter()
                    .skip(1)
                    .take(call.args.len().saturating_sub(2))
                {
                    if let Expr::VarRef(var) = tag {
                        expanded.push(Field {
                            expr: Expr::VarRef(VarRef {
                                name: var.name.clone(),
                                data_type: Some(DataType::Tag),
                            }),
                            alias: None,
                        });
                    }
                }
            }
            _ => expanded.push(field.clone()),
        }
    }
    expanded
}

/// The aggregate of `*` (pattern `None`) or of a regex inside transformation `call`, if
/// that is what it transforms.
fn wildcard_aggregate_of(call: &Call) -> Option<(&Call, Option<&str>)> {
    if !is_transformation(&call.name) {
        return None;
    }
    let Some(Expr::Call(inner)) = call.args.first() else {
        return None;
    };
    if !(is_aggregate(&inner.name) || is_selector(&inner.name)) {
        return None;
    }
    match inner.args.first() {
        Some(Expr::Wildcard(_)) => Some((inner, None)),
        Some(Expr::Literal(Literal::Regex(pattern))) => Some((inner, Some(pattern.as_str()))),
        _ => None,
    }
}

/// The row positions (0 is `time`) of the columns [`expand_fields`] added for the tags
/// named in `top`/`bottom` calls (`top(v, host, 2)`): SELECT INTO writes them as tags.
pub fn selector_tag_columns(expanded: &[Field]) -> Vec<usize> {
    let mut positions = Vec::new();
    for (index, field) in expanded.iter().enumerate() {
        if let Expr::Call(call) = &field.expr {
            if matches!(call.name.as_str(), "top" | "bottom") {
                let tags = call.args.len().saturating_sub(2);
                positions.extend((index + 2..).take(tags));
            }
        }
    }
    positions
}

fn select_keys(
    keys: &Keys,
    excluded_tags: &[String],
    kind: WildcardType,
    pattern: Option<&str>,
) -> Vec<Field> {
    let mut selected: Vec<(String, DataType)> = Vec::new();
    if kind != WildcardType::Tag {
        for (name, _) in &keys.fields {
            selected.push((name.clone(), DataType::Field));
        }
    }
    if kind != WildcardType::Field {
        for tag in &keys.tags {
            if !excluded_tags.contains(tag) {
                selected.push((tag.clone(), DataType::Tag));
            }
        }
    }
    // Stable: a field and a tag of the same name both stay, the field first.
    selected.sort_by(|a, b| a.0.cmp(&b.0));
    selected
        .into_iter()
        .filter(|(name, _)| pattern.is_none_or(|p| regex_matches(p, name)))
        .map(|(name, data_type)| Field {
            expr: Expr::VarRef(VarRef {
                name,
                data_type: Some(data_type),
            }),
            alias: None,
        })
        .collect()
}

/// Checks the operands of arithmetic and bitwise operators as influxd's type checker does
/// (`type_of` gives a reference's type: a field's stored type, `Tag`, or `None` when the
/// name is unknown); InfluxDB's `type error: ...` text on a mismatch.
///
/// Rules (recorded from influxd 1.6.7): an operand of unknown type never errs (the other
/// side's type is the result); `+ - * / %` need two numbers (float, integer, unsigned); `& |
/// ^` need two operands of one type, integer, unsigned or boolean. Aggregates and other
/// calls have their result type (`mean` a float, `count` an integer, `max(i)` `i`'s type).
pub fn check_types(
    expr: &Expr,
    type_of: &dyn Fn(&VarRef) -> Option<DataType>,
) -> Result<(), String> {
    expression_type(expr, type_of).map(|_| ())
}

/// The type `expr` evaluates to (`None`: unknown), or the type error of an operator in it.
fn expression_type(
    expr: &Expr,
    type_of: &dyn Fn(&VarRef) -> Option<DataType>,
) -> Result<Option<DataType>, String> {
    match expr {
        Expr::VarRef(var) => Ok(type_of(var)),
        Expr::Literal(Literal::Integer(_)) => Ok(Some(DataType::Integer)),
        Expr::Literal(Literal::Number(_)) => Ok(Some(DataType::Float)),
        Expr::Literal(Literal::String(_)) => Ok(Some(DataType::String)),
        Expr::Literal(Literal::Boolean(_)) => Ok(Some(DataType::Boolean)),
        Expr::Paren(inner) => expression_type(inner, type_of),
        Expr::Call(call) => {
            let mut argument_types = Vec::with_capacity(call.args.len());
            for argument in &call.args {
                argument_types.push(expression_type(argument, type_of)?);
            }
            Ok(call_type(
                &call.name,
                argument_types.first().copied().flatten(),
            ))
        }
        Expr::Binary(binary) => {
            let lhs = expression_type(&binary.lhs, type_of)?;
            let rhs = expression_type(&binary.rhs, type_of)?;
            let arithmetic = matches!(
                binary.op,
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
            );
            let bitwise = matches!(
                binary.op,
                BinaryOp::BitwiseAnd | BinaryOp::BitwiseOr | BinaryOp::BitwiseXor
            );
            if !arithmetic && !bitwise {
                return Ok(None);
            }
            let (l, r) = match (lhs, rhs) {
                (None, other) | (other, None) => return Ok(other),
                (Some(l), Some(r)) => (l, r),
            };
            let numeric =
                |t: DataType| matches!(t, DataType::Float | DataType::Integer | DataType::Unsigned);
            let compatible = if arithmetic {
                numeric(l) && numeric(r)
            } else {
                l == r
                    && matches!(
                        l,
                        DataType::Integer | DataType::Unsigned | DataType::Boolean
                    )
            };
            if !compatible {
                return Err(format!(
                    "type error: {} {} {}: incompatible types: {} and {}",
                    typed(&binary.lhs, type_of),
                    binary.op.as_str(),
                    typed(&binary.rhs, type_of),
                    l.as_str(),
                    r.as_str()
                ));
            }
            Ok(Some(if l == DataType::Float || r == DataType::Float {
                DataType::Float
            } else {
                l
            }))
        }
        _ => Ok(None),
    }
}

/// The result type of function `name` whose first argument has type `first_argument`.
pub(crate) fn call_type(name: &str, first_argument: Option<DataType>) -> Option<DataType> {
    match name {
        "count" | "elapsed" => Some(DataType::Integer),
        "mean"
        | "median"
        | "integral"
        | "stddev"
        | "derivative"
        | "non_negative_derivative"
        | "moving_average"
        | "holt_winters"
        | "holt_winters_with_fit"
        | "sin"
        | "cos"
        | "tan"
        | "asin"
        | "acos"
        | "atan"
        | "atan2"
        | "exp"
        | "ln"
        | "log"
        | "log2"
        | "log10"
        | "sqrt"
        | "pow"
        | "chande_momentum_oscillator"
        | "exponential_moving_average"
        | "double_exponential_moving_average"
        | "triple_exponential_moving_average"
        | "kaufmans_efficiency_ratio"
        | "kaufmans_adaptive_moving_average"
        | "triple_exponential_derivative"
        | "relative_strength_index" => first_argument.is_some().then_some(DataType::Float),
        "min"
        | "max"
        | "sum"
        | "first"
        | "last"
        | "mode"
        | "spread"
        | "percentile"
        | "sample"
        | "top"
        | "bottom"
        | "distinct"
        | "difference"
        | "non_negative_difference"
        | "cumulative_sum"
        | "abs"
        | "floor"
        | "ceil"
        | "round" => first_argument,
        _ => None,
    }
}

/// `expr` as influxd prints it in a type error: every reference with its type.
fn typed(expr: &Expr, type_of: &dyn Fn(&VarRef) -> Option<DataType>) -> String {
    with_types(expr, type_of).to_string()
}

fn with_types(expr: &Expr, type_of: &dyn Fn(&VarRef) -> Option<DataType>) -> Expr {
    match expr {
        Expr::VarRef(var) => Expr::VarRef(VarRef {
            name: var.name.clone(),
            data_type: type_of(var).or(var.data_type),
        }),
        Expr::Paren(inner) => Expr::Paren(Box::new(with_types(inner, type_of))),
        Expr::Call(call) => {
            let mut typed_call = call.clone();
            typed_call.args = call.args.iter().map(|a| with_types(a, type_of)).collect();
            Expr::Call(typed_call)
        }
        Expr::Binary(binary) => {
            let mut typed_binary = binary.clone();
            typed_binary.lhs = with_types(&binary.lhs, type_of);
            typed_binary.rhs = with_types(&binary.rhs, type_of);
            Expr::Binary(typed_binary)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_influxql::Statement;

    fn select(text: &str) -> SelectStatement {
        match sluice_influxql::parse_query(text).map(|mut q| q.statements.remove(0)) {
            Ok(Statement::Select(select)) => *select,
            other => panic!("BUG: not a select: {other:?}"),
        }
    }

    fn check_text(text: &str) -> Result<QueryKind, String> {
        let statement = select(text);
        let interval = statement.group_by_interval_ns().unwrap_or(0);
        check(&statement, interval)
    }

    #[test]
    fn compile_errors_have_influxdb_texts() {
        let cases = [
            (
                "SELECT mean(usage), idle FROM cpu",
                "mixing aggregate and non-aggregate queries is not supported",
            ),
            (
                "SELECT frobnicate(usage) FROM cpu",
                "undefined function frobnicate()",
            ),
            (
                "SELECT count() FROM cpu",
                "invalid number of arguments for count, expected 1, got 0",
            ),
            (
                "SELECT top(usage, 0) FROM cpu",
                "limit (0) in top function must be at least 1",
            ),
            (
                "SELECT bottom(usage, 1.5) FROM cpu",
                "expected integer as last argument in bottom(), found 1.500",
            ),
            (
                "SELECT 1 FROM cpu",
                "field must contain at least one variable",
            ),
            (
                "SELECT time FROM cpu",
                "at least 1 non-time field must be queried",
            ),
            (
                "SELECT mean(max(usage)) FROM cpu",
                "expected field argument in mean()",
            ),
            (
                "SELECT elapsed(usage, 0s) FROM cpu",
                "duration argument must be positive, got 0s",
            ),
            (
                "SELECT derivative(usage, 'x') FROM cpu",
                "second argument to derivative must be a duration, got *influxql.StringLiteral",
            ),
            (
                "SELECT usage FROM cpu GROUP BY time(1m)",
                "GROUP BY requires at least one aggregate function",
            ),
            (
                "SELECT exponential_moving_average(mean(usage), 3) FROM cpu",
                "exponential_moving_average aggregate requires a GROUP BY interval",
            ),
            (
                "SELECT relative_strength_index(usage, 3) FROM cpu GROUP BY time(1m)",
                "aggregate function required inside the call to relative_strength_index",
            ),
            (
                "SELECT kaufmans_efficiency_ratio(count(max(usage)), 3) FROM cpu GROUP BY time(1m)",
                "expected field argument in count()",
            ),
            (
                "SELECT holt_winters(usage, 3, 0) FROM cpu",
                "must use aggregate function with holt_winters",
            ),
            (
                "SELECT holt_winters(mean(usage), 3, 0) FROM cpu",
                "holt_winters aggregate requires a GROUP BY interval",
            ),
            // Probed on influxd 1.6.7: the interval is checked before the argument's kind.
            (
                "SELECT derivative(abs(usage)) FROM cpu",
                "derivative aggregate requires a GROUP BY interval",
            ),
            (
                "SELECT derivative(abs(usage)) FROM cpu GROUP BY time(1m)",
                "mixing aggregate and non-aggregate queries is not supported",
            ),
            (
                "SELECT holt_winters(abs(usage), 2, 0) FROM cpu GROUP BY time(1m)",
                "mixing aggregate and non-aggregate queries is not supported",
            ),
            (
                "SELECT exponential_moving_average(*, 2) FROM cpu GROUP BY time(1m)",
                "aggregate function required inside the call to exponential_moving_average",
            ),
            (
                "SELECT derivative(1) FROM cpu GROUP BY time(1m)",
                "aggregate function required inside the call to derivative",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(check_text(text), Err(expected.to_string()), "{text}");
        }
        assert_eq!(
            check_text("SELECT max(usage), idle, host FROM cpu"),
            Ok(QueryKind::Aggregate)
        );
        assert_eq!(check_text("SELECT abs(usage) FROM cpu"), Ok(QueryKind::Raw));
        assert_eq!(
            check_text(
                "SELECT holt_winters_with_fit(mean(usage), 3, 2) FROM cpu GROUP BY time(1m)"
            ),
            Ok(QueryKind::Aggregate)
        );
        assert_eq!(
            check_text("SELECT triple_exponential_derivative(usage, 4, 2, 'simple') FROM cpu"),
            Ok(QueryKind::Aggregate)
        );
    }

    #[test]
    fn transformations_of_an_aggregate_of_a_wildcard_expand_per_field() {
        let keys = Keys {
            fields: vec![("f".into(), "float"), ("s".into(), "string")],
            tags: vec!["host".into()],
        };
        let statement =
            select("SELECT holt_winters(mean(*), 2, 0), derivative(count(/s/)) AS d FROM m");
        let expanded = expand_fields(&statement.fields, &keys, &[]);
        let texts: Vec<String> = expanded.iter().map(|f| f.expr.to_string()).collect();
        assert_eq!(
            texts,
            vec!["holt_winters(mean(f), 2, 0)", "derivative(count(s))"]
        );
        assert_eq!(
            column_names(&expanded),
            vec!["time", "holt_winters_f", "d_s"]
        );
    }

    #[test]
    fn typed_transforms_resolve_once_by_name() {
        let statement = select(
            "SELECT chande_momentum_oscillator(mean(v), 5, 2, 'simple') FROM m GROUP BY time(1m)",
        );
        let Expr::Call(call) = &statement.fields[0].expr else {
            panic!("BUG: not a call");
        };
        let resolved = TypedTransform::resolve(call, 60_000_000_000);
        let Some(Ok(TypedTransform::Indicator(spec))) = resolved else {
            panic!("BUG: not resolved: {resolved:?}");
        };
        assert_eq!((spec.period, spec.hold), (5, 2));
        assert!(
            is_transformation("holt_winters") && is_transformation("kaufmans_efficiency_ratio")
        );
        assert!(reads_previous_interval("relative_strength_index"));
        assert!(
            !reads_previous_interval("holt_winters") && !reads_previous_interval("cumulative_sum")
        );
        let mean = Call {
            name: "mean".into(),
            args: vec![Expr::var_ref("v")],
        };
        assert!(TypedTransform::resolve(&mean, 0).is_none());
    }

    #[test]
    fn column_names_get_suffixes() {
        let statement = select("SELECT count & 1, count | 8, count ^ 5, usage + idle FROM cpu");
        assert_eq!(
            column_names(&statement.fields),
            vec!["time", "count", "count_1", "count_2", "usage_idle"]
        );
    }

    #[test]
    fn aliases_are_kept_and_reserved_first() {
        let names = |text: &str| column_names(&select(text).fields);
        assert_eq!(
            names("SELECT mean(v) AS mv, max(v) AS mv, min(v) AS mv_1 FROM m"),
            vec!["time", "mv", "mv", "mv_1"]
        );
        assert_eq!(names("SELECT v, v AS v FROM m"), vec!["time", "v_1", "v"]);
        assert_eq!(
            names("SELECT v AS v_1, v, v FROM m"),
            vec!["time", "v_1", "v", "v_2"]
        );
    }

    #[test]
    fn distinct_keyword_becomes_a_call_outside_count() {
        let rewritten = with_distinct_calls(&select("SELECT DISTINCT v FROM m"));
        let field = rewritten.map(|s| s.fields[0].expr.to_string());
        assert_eq!(field.as_deref(), Some("distinct(v)"));
        assert!(with_distinct_calls(&select("SELECT count(DISTINCT v) FROM m")).is_none());
    }
}
