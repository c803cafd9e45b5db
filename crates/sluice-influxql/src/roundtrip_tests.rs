//! Print-and-reparse property test: random syntax trees of every statement kind and
//! expression shape are printed with `Display` and must parse back to an equal tree.
//!
//! The generators build only trees the parser can produce: regex literals only where the
//! grammar takes them, no comparison in SELECT fields, binary trees through
//! [`Expr::binary`] (which parenthesises where precedence needs it), names of calls in
//! lower case, aggregate continuous queries grouped by a `time()` interval.

use proptest::prelude::*;

use super::expr::{BINARY_OPS, DATA_TYPES};
use super::lexer::KEYWORDS;
use super::*;

/// Longest random identifier, in characters.
const IDENT_CHARS_MAX: usize = 12;
/// Most statements in one random query.
const STATEMENTS_MAX: usize = 4;

/// Identifiers: bare words, keywords in any case, and names that need quoting (spaces,
/// quotes, backslashes, newlines, unicode, leading digits, empty). `\r` and NUL cannot occur
/// in a parsed identifier (the reader turns `\r` into a newline and NUL ends the input).
fn identifier() -> impl Strategy<Value = String> {
    let bare = "[A-Za-z_][A-Za-z0-9_]{0,11}";
    let keyword = (0..KEYWORDS.len(), any::<bool>()).prop_map(|(index, lower)| {
        let text = KEYWORDS.get(index).map_or("SELECT", |(_, text)| text);
        if lower {
            text.to_lowercase()
        } else {
            text.to_string()
        }
    });
    let needs_quotes = proptest::collection::vec(
        prop_oneof![
            Just(' '),
            Just('"'),
            Just('\\'),
            Just('\''),
            Just('\n'),
            Just('\t'),
            Just('é'),
            Just('µ'),
            Just('日'),
            Just(';'),
            Just('-'),
            Just('/'),
            Just('*'),
            proptest::char::range('0', '9'),
            proptest::char::range('a', 'z'),
        ],
        0..IDENT_CHARS_MAX,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>());
    prop_oneof![bare.prop_map(String::from), keyword, needs_quotes]
}

/// Durations: exact multiples of each unit, plus arbitrary nanosecond counts.
fn duration_ns() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        (
            1i64..1_000,
            prop_oneof![
                Just(1i64),
                Just(1_000),
                Just(1_000_000),
                Just(1_000_000_000),
                Just(60_000_000_000),
                Just(3_600_000_000_000),
                Just(86_400_000_000_000),
                Just(604_800_000_000_000),
            ]
        )
            .prop_map(|(count, unit)| count * unit),
        0i64..=i64::MAX,
    ]
}

/// A CREATE DATABASE with any combination of options (none = no `WITH`).
fn create_database() -> impl Strategy<Value = CreateDatabaseStatement> {
    (
        identifier(),
        proptest::option::of(duration_ns()),
        proptest::option::of(1u32..=i32::MAX as u32),
        proptest::option::of(duration_ns()),
        proptest::option::of(identifier()),
    )
        .prop_map(|(name, duration_ns, replication, shard_ns, rp_name)| {
            CreateDatabaseStatement {
                name,
                retention_policy_duration_ns: duration_ns,
                retention_policy_replication: replication,
                retention_policy_shard_group_duration_ns: shard_ns,
                retention_policy_name: rp_name,
            }
        })
}

/// Largest LIMIT-like value that reads back unchanged.
const LIMIT_MAX: u64 = i64::MAX as u64;
/// Depth of generated expression trees.
const EXPR_DEPTH: u32 = 4;
/// Most items in generated lists (fields, sources, arguments, ...).
const LIST_MAX: usize = 3;

/// Strings as the lexer can produce them: anything but `\r` (read as a newline) and NUL
/// (the end of input).
fn string_text() -> impl Strategy<Value = String> {
    "[^\r\u{0}]{0,10}"
}

/// Regex patterns Go accepts, with slashes and backslash escapes, never ending in `\`.
fn regex_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("cpu.*".to_string()),
        Just("^a/b$".to_string()),
        Just(r"\d+\.x".to_string()),
        Just(r"a\\/b".to_string()),
        Just("(?i)h[a-z]{2,3}|x?".to_string()),
        Just(String::new()),
        "[a-z0-9 ./]{0,8}",
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<i64>().prop_map(Literal::Integer),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Literal::Unsigned),
        any::<f64>()
            .prop_filter("finite", |value| value.is_finite())
            .prop_map(Literal::Number),
        (-1000i32..1000, 0u32..1000)
            .prop_map(|(whole, milli)| Literal::Number(f64::from(whole) + f64::from(milli) / 1e3)),
        string_text().prop_map(Literal::String),
        any::<bool>().prop_map(Literal::Boolean),
        (-i64::MAX..=i64::MAX).prop_map(Literal::Duration),
        duration_ns().prop_map(Literal::Duration),
    ]
}

fn var_ref() -> impl Strategy<Value = VarRef> {
    (
        identifier(),
        proptest::option::of(proptest::sample::select(DATA_TYPES)),
    )
        .prop_map(|(name, data_type)| VarRef { name, data_type })
}

fn leaf_expr() -> impl Strategy<Value = Expr> {
    prop_oneof![
        4 => literal().prop_map(Expr::Literal),
        4 => var_ref().prop_map(Expr::VarRef),
        1 => identifier().prop_map(Expr::Distinct),
        1 => prop_oneof![
            Just(WildcardType::All),
            Just(WildcardType::Field),
            Just(WildcardType::Tag)
        ]
        .prop_map(Expr::Wildcard),
    ]
}

/// Expressions; `boolean_ops` allows comparison and logic operators (WHERE, not fields).
fn expr(boolean_ops: bool) -> impl Strategy<Value = Expr> {
    let ops: Vec<BinaryOp> = BINARY_OPS
        .iter()
        .copied()
        .filter(|op| boolean_ops || !op.is_boolean())
        .collect();
    leaf_expr().prop_recursive(EXPR_DEPTH, 32, LIST_MAX as u32, move |inner| {
        let ops = ops.clone();
        let argument = prop_oneof![
            4 => inner.clone(),
            1 => regex_pattern().prop_map(|pattern| Expr::Literal(Literal::Regex(pattern))),
        ];
        prop_oneof![
            (
                proptest::sample::select(ops),
                inner.clone(),
                inner.clone(),
                regex_pattern()
            )
                .prop_map(|(op, lhs, rhs, pattern)| {
                    let rhs = if op.is_regex() {
                        Expr::Literal(Literal::Regex(pattern))
                    } else {
                        rhs
                    };
                    Expr::binary(op, lhs, rhs)
                }),
            inner.clone().prop_map(|inner| Expr::Paren(Box::new(inner))),
            (
                identifier(),
                proptest::collection::vec(argument, 0..LIST_MAX)
            )
                .prop_map(|(name, args)| Expr::Call(Call {
                    name: name.to_lowercase(),
                    args
                })),
        ]
    })
}

fn measurement() -> impl Strategy<Value = Measurement> {
    (
        prop_oneof![Just(String::new()), identifier()],
        prop_oneof![Just(String::new()), identifier()],
        identifier(),
        proptest::option::of(regex_pattern()),
    )
        .prop_map(|(database, retention_policy, name, regex)| {
            let name = if regex.is_some() { String::new() } else { name };
            Measurement {
                database,
                retention_policy,
                name,
                regex,
            }
        })
}

/// Sources without a database or retention policy (DELETE, DROP SERIES).
fn plain_measurement() -> impl Strategy<Value = Source> {
    measurement().prop_map(|measurement| {
        Source::Measurement(Measurement {
            database: String::new(),
            retention_policy: String::new(),
            ..measurement
        })
    })
}

fn measurements() -> impl Strategy<Value = Vec<Source>> {
    proptest::collection::vec(measurement().prop_map(Source::Measurement), 0..LIST_MAX)
}

fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        Just(Fill::Null),
        Just(Fill::None),
        Just(Fill::Previous),
        Just(Fill::Linear),
        any::<i64>().prop_map(Fill::Integer),
        any::<f64>()
            .prop_filter("finite", |value| value.is_finite())
            .prop_map(Fill::Number),
    ]
}

fn sort_fields() -> impl Strategy<Value = Vec<SortField>> {
    prop_oneof![
        Just(Vec::new()),
        (
            proptest::option::of(Just("time".to_string())),
            any::<bool>()
        )
            .prop_map(|(name, ascending)| vec![SortField { name, ascending }]),
    ]
}

fn limit() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 1u64..100, 0..=LIMIT_MAX]
}

fn field() -> impl Strategy<Value = Field> {
    (
        prop_oneof![
            8 => expr(false),
            1 => regex_pattern().prop_map(|pattern| Expr::Literal(Literal::Regex(pattern))),
        ],
        proptest::option::of(identifier()),
    )
        .prop_map(|(expr, alias)| Field { expr, alias })
}

fn dimension() -> impl Strategy<Value = Expr> {
    prop_oneof![
        duration_ns().prop_map(|interval_ns| Expr::Call(Call {
            name: "time".to_string(),
            args: vec![Expr::Literal(Literal::Duration(interval_ns))],
        })),
        var_ref().prop_map(Expr::VarRef),
        Just(Expr::Wildcard(WildcardType::All)),
        regex_pattern().prop_map(|pattern| Expr::Literal(Literal::Regex(pattern))),
        expr(true),
    ]
}

fn target() -> impl Strategy<Value = Measurement> {
    measurement().prop_map(|measurement| Measurement {
        regex: None,
        ..measurement
    })
}

/// A SELECT with the given subquery depth left.
fn select(subquery_depth: u32) -> BoxedStrategy<SelectStatement> {
    let source = if subquery_depth == 0 {
        measurement().prop_map(Source::Measurement).boxed()
    } else {
        prop_oneof![
            4 => measurement().prop_map(Source::Measurement),
            1 => select(subquery_depth - 1).prop_map(|inner| Source::Subquery(Box::new(inner))),
        ]
        .boxed()
    };
    let clauses = (
        proptest::collection::vec(field(), 1..=LIST_MAX),
        proptest::option::of(target()),
        proptest::collection::vec(source, 1..=LIST_MAX),
        proptest::option::of(expr(true)),
        proptest::collection::vec(dimension(), 0..LIST_MAX),
        fill(),
    );
    let tail = (
        sort_fields(),
        (limit(), limit(), limit(), limit()),
        proptest::option::of(proptest::sample::select(vec![
            "UTC",
            "",
            "America/Chicago",
            "Europe/Paris",
        ])),
    );
    (clauses, tail)
        .prop_map(
            |((fields, target, sources, condition, dimensions, fill), (sort, limits, tz))| {
                SelectStatement {
                    fields,
                    target,
                    sources,
                    condition,
                    dimensions,
                    fill,
                    sort_fields: sort,
                    limit: limits.0,
                    offset: limits.1,
                    series_limit: limits.2,
                    series_offset: limits.3,
                    timezone: tz.map(String::from),
                }
            },
        )
        .boxed()
}

fn continuous_query() -> impl Strategy<Value = CreateContinuousQueryStatement> {
    (
        (identifier(), identifier(), target(), var_ref()),
        (1i64..=1_000_000, 0i64..1000, 0i64..3),
        proptest::collection::vec(var_ref().prop_map(Expr::VarRef), 0..LIST_MAX),
    )
        .prop_map(
            |((name, database, target, field), (interval_s, every_s, for_kind), tags)| {
                let second = 1_000_000_000i64;
                let interval_ns = interval_s * second;
                let resample_every_ns = every_s * second;
                let resample_for_ns = match for_kind {
                    0 => 0,
                    1 => interval_ns.max(resample_every_ns),
                    _ => interval_ns.max(resample_every_ns) + second,
                };
                let mut dimensions = vec![Expr::Call(Call {
                    name: "time".to_string(),
                    args: vec![Expr::Literal(Literal::Duration(interval_ns))],
                })];
                dimensions.extend(tags);
                let source = SelectStatement {
                    fields: vec![Field {
                        expr: Expr::Call(Call {
                            name: "mean".to_string(),
                            args: vec![Expr::VarRef(field)],
                        }),
                        alias: None,
                    }],
                    target: Some(target),
                    sources: vec![Source::Measurement(Measurement {
                        name: "m".to_string(),
                        ..Measurement::default()
                    })],
                    dimensions,
                    ..SelectStatement::default()
                };
                CreateContinuousQueryStatement {
                    name,
                    database,
                    resample_every_ns,
                    resample_for_ns,
                    source: Box::new(source),
                }
            },
        )
}

fn tag_key_filter() -> impl Strategy<Value = TagKeyFilter> {
    prop_oneof![
        proptest::collection::vec(identifier(), 1..=LIST_MAX).prop_map(TagKeyFilter::In),
        identifier().prop_map(TagKeyFilter::Eq),
        identifier().prop_map(TagKeyFilter::Neq),
        regex_pattern().prop_map(TagKeyFilter::EqRegex),
        regex_pattern().prop_map(TagKeyFilter::NeqRegex),
    ]
}

fn privilege() -> impl Strategy<Value = Privilege> {
    prop_oneof![
        Just(Privilege::Read),
        Just(Privilege::Write),
        Just(Privilege::All)
    ]
}

fn show_statement() -> impl Strategy<Value = Statement> {
    let on = || proptest::option::of(identifier());
    let condition = || proptest::option::of(expr(true));
    prop_oneof![
        (
            on(),
            proptest::option::of(measurement()),
            condition(),
            sort_fields(),
            limit(),
            limit()
        )
            .prop_map(
                |(database, source, condition, sort_fields, limit, offset)| {
                    Statement::ShowMeasurements(ShowMeasurementsStatement {
                        database,
                        source,
                        condition,
                        sort_fields,
                        limit,
                        offset,
                    })
                }
            ),
        (
            on(),
            measurements(),
            condition(),
            sort_fields(),
            limit(),
            limit()
        )
            .prop_map(
                |(database, sources, condition, sort_fields, limit, offset)| {
                    Statement::ShowSeries(ShowSeriesStatement {
                        database,
                        sources,
                        condition,
                        sort_fields,
                        limit,
                        offset,
                    })
                }
            ),
        (
            on(),
            measurements(),
            condition(),
            sort_fields(),
            (limit(), limit(), limit(), limit())
        )
            .prop_map(|(database, sources, condition, sort_fields, limits)| {
                Statement::ShowTagKeys(ShowTagKeysStatement {
                    database,
                    sources,
                    condition,
                    sort_fields,
                    limit: limits.0,
                    offset: limits.1,
                    series_limit: limits.2,
                    series_offset: limits.3,
                })
            }),
        (
            on(),
            measurements(),
            tag_key_filter(),
            condition(),
            sort_fields(),
            limit(),
            limit()
        )
            .prop_map(
                |(database, sources, key, condition, sort_fields, limit, offset)| {
                    Statement::ShowTagValues(ShowTagValuesStatement {
                        database,
                        sources,
                        key,
                        condition,
                        sort_fields,
                        limit,
                        offset,
                    })
                }
            ),
        (on(), measurements(), sort_fields(), limit(), limit()).prop_map(
            |(database, sources, sort_fields, limit, offset)| {
                Statement::ShowFieldKeys(ShowFieldKeysStatement {
                    database,
                    sources,
                    sort_fields,
                    limit,
                    offset,
                })
            }
        ),
        (
            prop_oneof![
                Just(CardinalityTarget::Series),
                Just(CardinalityTarget::Measurement),
                Just(CardinalityTarget::TagKey),
                Just(CardinalityTarget::FieldKey),
                tag_key_filter().prop_map(CardinalityTarget::TagValues),
            ],
            any::<bool>(),
            (on(), measurements(), condition()),
            proptest::collection::vec(dimension(), 0..LIST_MAX),
            (limit(), limit()),
        )
            .prop_map(
                |(target, exact, (database, sources, condition), dimensions, limits)| {
                    Statement::ShowCardinality(ShowCardinalityStatement {
                        target,
                        exact,
                        database,
                        sources,
                        condition,
                        dimensions,
                        limit: limits.0,
                        offset: limits.1,
                    })
                }
            ),
        on().prop_map(|database| {
            Statement::ShowRetentionPolicies(ShowRetentionPoliciesStatement { database })
        }),
        identifier().prop_map(|user| Statement::ShowGrants(ShowGrantsStatement { user })),
        proptest::option::of(string_text())
            .prop_map(|module| Statement::ShowStats(ShowModuleStatement { module })),
        proptest::option::of(string_text())
            .prop_map(|module| Statement::ShowDiagnostics(ShowModuleStatement { module })),
        proptest::sample::select(vec![
            Statement::ShowContinuousQueries,
            Statement::ShowUsers,
            Statement::ShowSubscriptions,
            Statement::ShowShards,
            Statement::ShowShardGroups,
            Statement::ShowQueries,
            Statement::ShowDatabases(ShowDatabasesStatement),
        ]),
    ]
}

fn admin_statement() -> impl Strategy<Value = Statement> {
    let series_filter = || {
        (
            proptest::collection::vec(plain_measurement(), 0..LIST_MAX),
            proptest::option::of(expr(true)),
        )
            .prop_filter("FROM or WHERE", |(sources, condition)| {
                !sources.is_empty() || condition.is_some()
            })
    };
    prop_oneof![
        series_filter().prop_map(|(sources, condition)| {
            Statement::Delete(DeleteStatement { sources, condition })
        }),
        series_filter().prop_map(|(sources, condition)| {
            Statement::DropSeries(DropSeriesStatement { sources, condition })
        }),
        (
            identifier(),
            identifier(),
            duration_ns(),
            1u32..=i32::MAX as u32,
            duration_ns(),
            any::<bool>()
        )
            .prop_map(
                |(name, database, duration_ns, replication, shard_ns, default)| {
                    Statement::CreateRetentionPolicy(CreateRetentionPolicyStatement {
                        name,
                        database,
                        duration_ns,
                        replication,
                        shard_group_duration_ns: shard_ns,
                        default,
                    })
                }
            ),
        (
            identifier(),
            identifier(),
            proptest::option::of(duration_ns()),
            proptest::option::of(1u32..=i32::MAX as u32),
            proptest::option::of(duration_ns()),
            any::<bool>()
        )
            .prop_filter(
                "an option",
                |(_, _, duration, replication, shard, default)| {
                    duration.is_some() || replication.is_some() || shard.is_some() || *default
                }
            )
            .prop_map(
                |(name, database, duration_ns, replication, shard_ns, default)| {
                    Statement::AlterRetentionPolicy(AlterRetentionPolicyStatement {
                        name,
                        database,
                        duration_ns,
                        replication,
                        shard_group_duration_ns: shard_ns,
                        default,
                    })
                }
            ),
        (identifier(), identifier()).prop_map(|(name, database)| {
            Statement::DropRetentionPolicy(DropRetentionPolicyStatement { name, database })
        }),
        continuous_query().prop_map(Statement::CreateContinuousQuery),
        (identifier(), identifier()).prop_map(|(name, database)| {
            Statement::DropContinuousQuery(DropContinuousQueryStatement { name, database })
        }),
        (identifier(), string_text(), any::<bool>()).prop_map(|(name, password, admin)| {
            Statement::CreateUser(CreateUserStatement {
                name,
                password,
                admin,
            })
        }),
        identifier().prop_map(|name| Statement::DropUser(DropUserStatement { name })),
        (identifier(), string_text()).prop_map(|(name, password)| {
            Statement::SetPassword(SetPasswordStatement { name, password })
        }),
        (
            privilege(),
            proptest::option::of(identifier()),
            identifier()
        )
            .prop_map(|(privilege, database, user)| {
                let privilege = if database.is_none() {
                    Privilege::All
                } else {
                    privilege
                };
                Statement::Grant(GrantStatement {
                    privilege,
                    database,
                    user,
                })
            }),
        (
            privilege(),
            proptest::option::of(identifier()),
            identifier()
        )
            .prop_map(|(privilege, database, user)| {
                let privilege = if database.is_none() {
                    Privilege::All
                } else {
                    privilege
                };
                Statement::Revoke(RevokeStatement {
                    privilege,
                    database,
                    user,
                })
            }),
        (
            (identifier(), identifier(), identifier()),
            any::<bool>(),
            proptest::collection::vec(string_text(), 1..=LIST_MAX)
        )
            .prop_map(
                |((name, database, retention_policy), mode_all, destinations)| {
                    Statement::CreateSubscription(CreateSubscriptionStatement {
                        name,
                        database,
                        retention_policy,
                        mode_all,
                        destinations,
                    })
                }
            ),
        (identifier(), identifier(), identifier()).prop_map(
            |(name, database, retention_policy)| {
                Statement::DropSubscription(DropSubscriptionStatement {
                    name,
                    database,
                    retention_policy,
                })
            }
        ),
        identifier().prop_map(|name| Statement::DropMeasurement(DropMeasurementStatement { name })),
        any::<u64>().prop_map(|id| Statement::DropShard(DropShardStatement { id })),
        (any::<u64>(), proptest::option::of(identifier())).prop_map(|(query_id, host)| {
            Statement::KillQuery(KillQueryStatement { query_id, host })
        }),
    ]
}

fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        1 => create_database().prop_map(Statement::CreateDatabase),
        1 => identifier().prop_map(|name| Statement::DropDatabase(DropDatabaseStatement { name })),
        4 => select(2).prop_map(|statement| Statement::Select(Box::new(statement))),
        1 => (any::<bool>(), select(1)).prop_map(|(analyze, statement)| {
            Statement::Explain(ExplainStatement {
                analyze,
                statement: Box::new(statement),
            })
        }),
        2 => show_statement(),
        2 => admin_statement(),
    ]
}

/// Stack for the generator thread: proptest's nested strategy types for these trees need
/// more than a test thread's default in unoptimised builds (the parser itself does not).
const GENERATOR_STACK_BYTES: usize = 256 * 1024 * 1024;
/// Random trees per run.
const ROUNDTRIP_CASES: u32 = 512;

#[test]
fn printed_query_parses_back_equal() {
    let runner = std::thread::Builder::new()
        .stack_size(GENERATOR_STACK_BYTES)
        .spawn(|| {
            let config = proptest::test_runner::Config {
                cases: ROUNDTRIP_CASES,
                ..proptest::test_runner::Config::default()
            };
            let mut runner = proptest::test_runner::TestRunner::new(config);
            let strategy = proptest::collection::vec(statement(), 0..STATEMENTS_MAX);
            runner.run(&strategy, |statements| {
                let query = Query { statements };
                let printed = query.to_string();
                prop_assert_eq!(parse_query(&printed), Ok(query), "printed: {:?}", printed);
                Ok(())
            })
        })
        .expect("spawn the generator thread");
    let result = runner.join().expect("generator thread panicked");
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Inputs the fuzzer found that once failed print-and-reparse; each must still parse and
/// read back equal.
const FUZZ_REGRESSIONS: &[&str] = &[
    // `+lvX` on the right of `/` printed as `1 * lvX`, which regrouped.
    "SELECT l/ FR\n/T/+lvX/aG FROM m",
];

#[test]
fn fuzz_regressions_read_back_equal() {
    for text in FUZZ_REGRESSIONS {
        let query = parse_query(text).unwrap_or_else(|error| panic!("{text:?}: {error}"));
        let printed = query.to_string();
        assert_eq!(
            parse_query(&printed),
            Ok(query),
            "{text:?} printed as {printed:?}"
        );
    }
}

/// Fragments that exercise every lexer path; random concatenations of them stand in for
/// the fuzzer in ordinary `cargo test` runs.
const FRAGMENTS: &[&str] = &[
    "CREATE",
    "DROP",
    "SHOW",
    "DATABASE",
    "DATABASES",
    "WITH",
    "DURATION",
    "REPLICATION",
    "SHARD",
    "NAME",
    "INF",
    "SELECT",
    "FROM",
    "WHERE",
    "x",
    "\"a b\"",
    "\"q\\\"",
    "'s'",
    "'",
    "\"",
    " ",
    "\n",
    "\r",
    "\t",
    ";",
    "/",
    "*",
    "-",
    "--",
    "/*",
    "*/",
    "=~",
    "!",
    "1h",
    "5µ",
    "10",
    "1.5",
    ".",
    "$p",
    "é",
    "\0",
    "\\",
    "(",
    ")",
    ",",
    "=",
];

proptest! {
    #[test]
    fn arbitrary_fragments_never_panic_and_reprint(
        indexes in proptest::collection::vec(0..FRAGMENTS.len(), 0..24)
    ) {
        let text: String =
            indexes.iter().filter_map(|index| FRAGMENTS.get(*index)).copied().collect();
        if let Ok(query) = parse_query(&text) {
            let printed = query.to_string();
            prop_assert_eq!(parse_query(&printed), Ok(query), "input {:?}", text);
        }
    }
}
