//! `SHOW SERVERS`, `DROP SERVER n` and `REMOVE SERVER n`: the cluster's members, as InfluxDB
//! Enterprise lists them (a `data_nodes` and a `meta_nodes` series), and removing a dead one.
//!
//! InfluxQL 1.6.7 has none of these statements (it answers a parse error), and making
//! SERVER/SERVERS/REMOVE keywords would change which identifiers need quoting and the
//! parser's "expected …" lists. So they are recognised here, before parsing, only when a
//! query is exactly one of them (case-insensitive, an optional trailing `;`); anything else
//! goes to the InfluxQL parser unchanged.

use crate::result::{StatementResult, Value};
use sluice_storage::meta::{MetaCommand, MetaStore};

use super::named_series;

/// A cluster statement recognised in a query text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerStatement {
    /// `SHOW SERVERS`
    Show,
    /// `DROP SERVER n` / `REMOVE SERVER n`
    Remove(u64),
}

/// The cluster statement `text` is exactly, if any.
pub fn recognise(text: &str) -> Option<ServerStatement> {
    let text = text.trim();
    let text = text.strip_suffix(';').unwrap_or(text);
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    match words.as_slice() {
        [show, servers]
            if show.eq_ignore_ascii_case("show") && servers.eq_ignore_ascii_case("servers") =>
        {
            Some(ServerStatement::Show)
        }
        [verb, server, id]
            if (verb.eq_ignore_ascii_case("drop") || verb.eq_ignore_ascii_case("remove"))
                && server.eq_ignore_ascii_case("server") =>
        {
            id.parse().ok().map(ServerStatement::Remove)
        }
        _ => None,
    }
}

/// Runs a cluster statement against the meta store.
pub fn run(statement: ServerStatement, meta: &MetaStore) -> StatementResult {
    match statement {
        ServerStatement::Show => show_servers(meta),
        ServerStatement::Remove(id) => match meta.change_membership(MetaCommand::RemoveNode { id })
        {
            Ok(_) => StatementResult::default(),
            Err(error) => StatementResult::error(0, error.to_string()),
        },
    }
}

fn show_servers(meta: &MetaStore) -> StatementResult {
    let state = meta.snapshot();
    let leader = meta.leader();
    let data_nodes = state
        .nodes
        .iter()
        .map(|node| {
            vec![
                Value::Integer(node.id as i64),
                Value::String(node.addresses.http.clone()),
                Value::String(node.addresses.data.clone()),
            ]
        })
        .collect();
    let meta_nodes = state
        .nodes
        .iter()
        .map(|node| {
            let role = if node.id == leader {
                "leader"
            } else if state.raft.voters.contains(&node.id) {
                "voter"
            } else {
                "learner"
            };
            vec![
                Value::Integer(node.id as i64),
                Value::String(node.addresses.meta.clone()),
                Value::String(role.to_string()),
            ]
        })
        .collect();
    StatementResult {
        series: vec![
            named_series("data_nodes", &["id", "http_addr", "tcp_addr"], data_nodes),
            named_series("meta_nodes", &["id", "addr", "state"], meta_nodes),
        ],
        ..StatementResult::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_cluster_statements_are_recognised() {
        assert_eq!(recognise("SHOW SERVERS"), Some(ServerStatement::Show));
        assert_eq!(recognise(" show servers ;"), Some(ServerStatement::Show));
        assert_eq!(recognise("DROP SERVER 3"), Some(ServerStatement::Remove(3)));
        assert_eq!(
            recognise("remove server 12"),
            Some(ServerStatement::Remove(12))
        );
        assert_eq!(recognise("DROP SERVER x"), None);
        assert_eq!(recognise("SHOW SERVERS; SHOW DATABASES"), None);
        assert_eq!(recognise("SELECT servers FROM m"), None);
    }
}
