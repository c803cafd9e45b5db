//! The replicated meta store (issue 20, meta half): real `sluice run` processes on loopback
//! form a cluster through `[meta] join`, replicate DDL issued on any node, elect a new
//! leader after `kill -9` of the old one, answer `/ping?wait_for_leader` 503 without a
//! quorum and 204 once it is back, and refuse nodes of another cluster or with a wrong
//! shared secret. Every wait is on a condition with a deadline.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fresh_dir, Server};

/// How long a condition may take (elections take 1–2 s; CI machines are slow).
const CONDITION_DEADLINE: Duration = Duration::from_secs(30);

/// A free loopback port (bound, then released for the node to bind).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("free port")
}

/// A node of the test cluster: its own directory and a fixed meta port (peers know it by
/// that address, so a restarted node must come back on it).
struct Node {
    server: Server,
}

fn node_env(meta_port: u16, join: Option<u16>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "SLUICE_META_BIND_ADDRESS".to_string(),
            format!("127.0.0.1:{meta_port}"),
        ),
        // Faster elections than the default keep the test short.
        (
            "SLUICE_META_RAFT_TICK_INTERVAL".to_string(),
            "50ms".to_string(),
        ),
        ("SLUICE_META_PROPOSE_TIMEOUT".to_string(), "5s".to_string()),
        ("SLUICE_HTTP_WORKERS".to_string(), "1".to_string()),
        ("SLUICE_DATA_WAL_PARTITIONS".to_string(), "1".to_string()),
    ];
    if let Some(port) = join {
        env.push(("SLUICE_META_JOIN".to_string(), format!("127.0.0.1:{port}")));
    }
    for (key, value) in extra {
        env.push((key.to_string(), value.to_string()));
    }
    env
}

impl Node {
    fn start(meta_port: u16, join: Option<u16>) -> Node {
        let env = node_env(meta_port, join, &[]);
        let borrowed: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Node {
            server: Server::start_in(fresh_dir("cluster"), &borrowed),
        }
    }

    fn query(&self, q: &str) -> String {
        self.server.query(q).1
    }

    fn ping_wait(&self, wait: &str) -> u16 {
        common::request(
            self.server.address,
            "GET",
            &format!("/ping?wait_for_leader={wait}"),
            &[],
            b"",
        )
        .status
    }
}

/// Waits until `done` holds, or fails with `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + CONDITION_DEADLINE;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn databases(node: &Node) -> String {
    node.query("SHOW DATABASES")
}

#[test]
fn three_nodes_replicate_ddl_and_survive_the_loss_of_the_leader() {
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes = vec![Node::start(ports[0], None)];
    nodes.push(Node::start(ports[1], Some(ports[0])));
    nodes.push(Node::start(ports[2], Some(ports[0])));
    wait_until("every node lists three servers", || {
        nodes.iter().all(|node| {
            let servers = node.query("SHOW SERVERS");
            servers.contains("\"data_nodes\"") && servers.matches("127.0.0.1:").count() >= 9
        })
    });
    let servers = nodes[0].query("SHOW SERVERS");
    assert!(servers.contains("\"leader\""), "{servers}");
    assert!(servers.contains("meta_nodes"), "{servers}");

    // DDL on a follower reaches every node.
    assert_eq!(
        nodes[1].query("CREATE DATABASE from_follower"),
        "{\"results\":[{\"statement_id\":0}]}\n"
    );
    wait_until("every node has the database", || {
        nodes
            .iter()
            .all(|node| databases(node).contains("from_follower"))
    });

    // kill -9 the leader (node 1 created the cluster and leads it until now).
    let started = Instant::now();
    nodes[0].server.kill9();
    wait_until("DDL works again without the old leader", || {
        nodes[1].query("CREATE DATABASE after_leader_loss")
            == "{\"results\":[{\"statement_id\":0}]}\n"
    });
    let recovered = started.elapsed();
    assert!(recovered < Duration::from_secs(15), "took {recovered:?}");
    wait_until("the other survivor has it too", || {
        databases(&nodes[2]).contains("after_leader_loss")
    });
    assert_eq!(nodes[2].ping_wait("1s"), 204);

    // Two of three gone: no quorum, no leader.
    nodes[1].server.kill9();
    wait_until("the last node answers 503", || {
        nodes[2].ping_wait("200ms") == 503
    });
    let refused = nodes[2].query("CREATE DATABASE without_quorum");
    assert!(
        refused.contains("timeout waiting for meta leader"),
        "{refused}"
    );

    // Both come back: a leader again, and the restarted nodes caught up.
    nodes[0].server.restart();
    nodes[1].server.restart();
    wait_until("a leader is back", || nodes[2].ping_wait("1s") == 204);
    wait_until("the restarted node has the later database", || {
        databases(&nodes[0]).contains("after_leader_loss")
    });
    assert_eq!(
        nodes[0].query("CREATE DATABASE after_restart"),
        "{\"results\":[{\"statement_id\":0}]}\n"
    );
    wait_until("every node has it", || {
        nodes
            .iter()
            .all(|node| databases(node).contains("after_restart"))
    });
}

/// Runs `sluice run` expecting it to fail; returns its log.
fn run_expecting_failure(dir: &std::path::Path, env: &[(String, String)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_clear();
    for key in ["PATH", "HOME", "TMPDIR"] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    let defaults = [
        ("SLUICE_HTTP_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_ADMIN_BIND_ADDRESS", "127.0.0.1:0"),
        ("SLUICE_MONITOR_STORE_ENABLED", "false"),
    ];
    for (key, value) in defaults {
        command.env(key, value);
    }
    command.env("SLUICE_META_DIR", dir.join("meta"));
    command.env("SLUICE_DATA_DIR", dir.join("data"));
    command.env("SLUICE_DATA_WAL_DIR", dir.join("wal"));
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run sluice");
    assert!(!output.status.success(), "the node started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn nodes_of_another_cluster_or_with_a_wrong_secret_are_refused() {
    let secret = [
        ("SLUICE_HTTP_AUTH_ENABLED", "true"),
        ("SLUICE_META_SHARED_SECRET", "right secret"),
    ];
    let first_port = free_port();
    let env = node_env(first_port, None, &secret);
    let borrowed: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let first = Server::start_in(fresh_dir("cluster-secret"), &borrowed);

    // A wrong secret: the join is refused and the node does not start.
    let wrong = [
        ("SLUICE_HTTP_AUTH_ENABLED", "true"),
        ("SLUICE_META_SHARED_SECRET", "wrong secret"),
    ];
    let log = run_expecting_failure(
        &fresh_dir("cluster-wrong-secret"),
        &node_env(free_port(), Some(first_port), &wrong),
    );
    assert!(log.contains("bad shared secret"), "{log}");

    // A node that created a cluster of its own cannot join this one.
    let other_dir: PathBuf = fresh_dir("cluster-other");
    let other_port = free_port();
    let other_env = node_env(other_port, None, &secret);
    let other_borrowed: Vec<(&str, &str)> = other_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut other = Server::start_in(other_dir.clone(), &other_borrowed);
    other.keep_dir();
    other.stop();
    let log = run_expecting_failure(&other_dir, &node_env(other_port, Some(first_port), &secret));
    assert!(log.contains("another cluster"), "{log}");
    drop(first);
}

#[test]
fn five_nodes_keep_working_without_two_of_them() {
    let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
    let mut nodes = vec![Node::start(ports[0], None)];
    for port in &ports[1..] {
        nodes.push(Node::start(*port, Some(ports[0])));
    }
    wait_until("every node lists five servers", || {
        nodes
            .iter()
            .all(|node| node.query("SHOW SERVERS").matches("127.0.0.1:").count() >= 15)
    });
    // The leader and one more go: three of five are a majority.
    nodes[0].server.kill9();
    nodes[4].server.kill9();
    wait_until("DDL works with three of five", || {
        nodes[2].query("CREATE DATABASE three_of_five") == "{\"results\":[{\"statement_id\":0}]}\n"
    });
    wait_until("every survivor has it", || {
        nodes[1..4]
            .iter()
            .all(|node| databases(node).contains("three_of_five"))
    });
    assert_eq!(nodes[3].ping_wait("1s"), 204);
    // DROP SERVER takes a dead node out of the group: four members, three alive.
    assert_eq!(
        nodes[1].query("DROP SERVER 5"),
        "{\"results\":[{\"statement_id\":0}]}\n"
    );
    wait_until("the dropped server is gone everywhere", || {
        nodes[1..4]
            .iter()
            .all(|node| node.query("SHOW SERVERS").matches("127.0.0.1:").count() == 12)
    });
}

/// A node whose data half is on: its hinted-handoff queues in its own directory, retried
/// fast so a returning owner gets its hints within the test's deadline.
fn start_data_node(meta_port: u16, join: Option<u16>) -> Node {
    let dir = fresh_dir("cluster-data");
    let hints = dir.join("hh").display().to_string();
    let env = node_env(
        meta_port,
        join,
        &[
            ("SLUICE_HINTED_HANDOFF_DIR", hints.as_str()),
            ("SLUICE_HINTED_HANDOFF_RETRY_INTERVAL", "100ms"),
            ("SLUICE_HINTED_HANDOFF_RETRY_MAX_INTERVAL", "200ms"),
        ],
    );
    let borrowed: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Node {
        server: Server::start_in(dir, &borrowed),
    }
}

/// The lines of `sluice export` of `node`'s directory for database `d` holding `needle`.
fn exported_lines(node: &Node, needle: &str) -> usize {
    node.server
        .export(Some("d"))
        .lines()
        .filter(|line| line.contains(needle))
        .count()
}

#[test]
fn writes_reach_the_owners_the_replicated_meta_places_and_hints_catch_up_a_returning_owner() {
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes = vec![start_data_node(ports[0], None)];
    nodes.push(start_data_node(ports[1], Some(ports[0])));
    nodes.push(start_data_node(ports[2], Some(ports[0])));
    // Every node knows every node's data port (its record is updated once it has bound it).
    wait_until(
        "every node lists three servers with their addresses",
        || {
            nodes.iter().all(|node| {
                let servers = node.query("SHOW SERVERS");
                servers.matches("127.0.0.1:").count() >= 9 && !servers.contains("127.0.0.1:0\"")
            })
        },
    );
    assert_eq!(
        nodes[0].query("CREATE DATABASE d WITH REPLICATION 2"),
        "{\"results\":[{\"statement_id\":0}]}\n"
    );
    wait_until("every node has the database", || {
        nodes.iter().all(|node| databases(node).contains("\"d\""))
    });

    // consistency=all: the 204 means both owners hold the points durably.
    let body: String = (0..20)
        .map(|i| format!("cpu,host=h{i} first={i}\n"))
        .collect();
    let written = nodes[0].server.write("db=d&consistency=all", &body);
    assert_eq!(written.status, 204, "{}", written.text());
    let holders: Vec<usize> = (0..3)
        .filter(|&n| exported_lines(&nodes[n], "first=") > 0)
        .collect();
    assert_eq!(
        holders.len(),
        2,
        "REPLICATION 2 places the group on two nodes"
    );
    for &n in &holders {
        assert_eq!(exported_lines(&nodes[n], "first="), 20, "node {n}");
    }

    // One owner down (not the node written through): `all` fails, `one` is accepted and
    // hinted for it.
    let down = *holders
        .iter()
        .rev()
        .find(|&&n| n != 0)
        .expect("an owner other than node 0");
    nodes[down].server.kill9();
    let refused = nodes[0]
        .server
        .write("db=d&consistency=all", "cpu,host=x all_refused=1\n");
    assert_eq!(refused.status, 500, "{}", refused.text());
    let body: String = (0..20)
        .map(|i| format!("cpu,host=h{i} second={i}\n"))
        .collect();
    let accepted = nodes[0].server.write("db=d&consistency=one", &body);
    assert_eq!(accepted.status, 204, "{}", accepted.text());
    let other = holders.iter().copied().find(|&n| n != down).expect("owner");
    assert_eq!(exported_lines(&nodes[other], "second="), 20);

    // Back on the same directory (and a new data port): the hints reach it.
    nodes[down].server.restart();
    wait_until("the returning owner has every hinted point", || {
        exported_lines(&nodes[down], "second=") == 20
    });
    let non_owner = (0..3).find(|n| !holders.contains(n)).expect("non-owner");
    assert_eq!(exported_lines(&nodes[non_owner], "first="), 0);
    assert_eq!(exported_lines(&nodes[non_owner], "second="), 0);

    // One body over three shard groups (weekly ones): each point goes to its own group's
    // two owners, placed in turn over the nodes, so together they use every node.
    let week_ns: i64 = 7 * 24 * 3_600 * 1_000_000_000;
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i64;
    let body: String = (1..=3)
        .map(|weeks| {
            format!(
                "old,week=w{weeks} third={weeks} {}\n",
                now_ns - weeks * week_ns
            )
        })
        .collect();
    let spread = nodes[non_owner].server.write("db=d&consistency=all", &body);
    assert_eq!(spread.status, 204, "{}", spread.text());
    for weeks in 1..=3 {
        let needle = format!("third={weeks}");
        let copies = (0..3)
            .filter(|&n| exported_lines(&nodes[n], &needle) == 1)
            .count();
        assert_eq!(
            copies, 2,
            "the point {weeks} weeks old is on its group's two owners"
        );
    }
    for node in &nodes {
        assert!(
            exported_lines(node, "third=") > 0,
            "every node owns one of the groups"
        );
    }
}
