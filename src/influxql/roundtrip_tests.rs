//! Print-and-reparse property test: random syntax trees for the supported statements are
//! printed with `Display` and must parse back to an equal tree.

use proptest::prelude::*;

use super::lexer::KEYWORDS;
use super::{
    parse_query, CreateDatabaseStatement, DropDatabaseStatement, Query, ShowDatabasesStatement,
    Statement,
};

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

fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        create_database().prop_map(Statement::CreateDatabase),
        identifier().prop_map(|name| Statement::DropDatabase(DropDatabaseStatement { name })),
        Just(Statement::ShowDatabases(ShowDatabasesStatement)),
    ]
}

proptest! {
    #[test]
    fn printed_query_parses_back_equal(
        statements in proptest::collection::vec(statement(), 0..STATEMENTS_MAX)
    ) {
        let query = Query { statements };
        let printed = query.to_string();
        prop_assert_eq!(parse_query(&printed), Ok(query), "printed: {:?}", printed);
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
