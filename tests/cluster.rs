//! Two nodes of the test-only static cluster (`[cluster] debug-node-id`, every node owns
//! every shard, as `REPLICATION 2` on two nodes): a write to node A reaches node B over the
//! data port's peer RPC before it is acknowledged, the `consistency` parameter decides the
//! answer when B is down, and the hinted handoff delivers what B missed once it is back.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{fresh_dir, Server};

const DEADLINE: Duration = Duration::from_secs(30);

/// A port nothing listens on now (B's data port must stay the same across its restart).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn values(server: &Server) -> String {
    let (status, body) = server.query("SELECT v FROM db.autogen.cpu");
    assert_eq!(status, 200, "{body}");
    body
}

/// How a query answers point `v` (written at `v` seconds with value `v`).
fn row(v: u32) -> String {
    format!("[\"1970-01-01T00:00:0{v}Z\",{v}]")
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn hint_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

#[test]
fn writes_reach_both_owners_and_hinted_handoff_catches_up_a_node_that_was_down() {
    let b_address = format!("127.0.0.1:{}", free_port());
    let mut b = Server::start_in(
        fresh_dir("cluster-b"),
        &[("SLUICE_BIND_ADDRESS", &b_address)],
    );
    let a_dir = fresh_dir("cluster-a");
    let hints = a_dir.join("hh");
    let peers = format!("2={b_address}");
    let hints_setting = hints.display().to_string();
    let a = Server::start_in(
        a_dir,
        &[
            ("SLUICE_CLUSTER_DEBUG_NODE_ID", "1"),
            ("SLUICE_CLUSTER_DEBUG_STATIC_PEERS", &peers),
            ("SLUICE_CLUSTER_SHARD_WRITER_TIMEOUT", "3s"),
            ("SLUICE_HINTED_HANDOFF_DIR", &hints_setting),
            ("SLUICE_HINTED_HANDOFF_RETRY_INTERVAL", "100ms"),
            ("SLUICE_HINTED_HANDOFF_RETRY_MAX_INTERVAL", "200ms"),
        ],
    );
    // No replicated meta yet: each node gets the database.
    for server in [&a, &b] {
        assert_eq!(server.query("CREATE DATABASE db").0, 200);
    }

    // Both up: acknowledged once durable on both, with the writer's precision.
    let written = a.write("db=db&consistency=all&precision=s", "cpu v=1 1\n");
    assert_eq!(written.status, 204, "{}", written.text());
    assert!(values(&b).contains(&row(1)), "{}", values(&b));
    assert!(values(&a).contains(&row(1)));
    // A bad line is the client's answer, as on one node.
    let bad = a.write("db=db", "cpu v=\n");
    assert_eq!(bad.status, 400, "{}", bad.text());

    // B down: `all` and `quorum` (2 of 2) fail with Enterprise's text, `one` and `any` pass.
    b.kill9();
    for (level, time) in [("all", 2), ("quorum", 3)] {
        let refused = a.write(
            &format!("db=db&consistency={level}&precision=s"),
            &format!("cpu v={time} {time}\n"),
        );
        assert_eq!(refused.status, 500, "{level}: {}", refused.text());
        assert!(
            refused.text().contains("partial write"),
            "{}",
            refused.text()
        );
    }
    for (level, time) in [("one", 4), ("any", 5)] {
        let accepted = a.write(
            &format!("db=db&consistency={level}&precision=s"),
            &format!("cpu v={time} {time}\n"),
        );
        assert_eq!(accepted.status, 204, "{level}: {}", accepted.text());
    }
    assert!(hint_files(&hints.join("2")) > 0, "B's writes are hinted");

    // B back on the same data port: every write it missed arrives, and the queue empties.
    b.restart();
    wait_until("B has every point", || {
        let body = values(&b);
        (1..=5).all(|v| body.contains(&row(v)))
    });
    wait_until("A's queue for B is empty", || {
        hint_files(&hints.join("2")) == 0
    });
    let a_values = values(&a);
    assert!((1..=5).all(|v| a_values.contains(&row(v))), "{a_values}");
}

/// `/query` as the admin user.
fn admin_query(server: &Server, q: &str) -> (u16, String) {
    let body = format!("q={}", common::urlencode(q));
    let response = common::request(
        server.address,
        "POST",
        "/query?u=admin&p=adminpw",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    (response.status, response.text())
}

/// With `[http] auth-enabled`, a peer session must prove `[http] shared-secret`: a writer
/// with the same secret reaches the owner, one with another secret is refused (its write
/// fails `consistency=all`, and is hinted).
#[test]
fn with_auth_only_a_peer_with_the_shared_secret_writes() {
    let b_address = format!("127.0.0.1:{}", free_port());
    let b_dir = fresh_dir("cluster-auth-b");
    let b_hints = b_dir.join("hh").display().to_string();
    let b = Server::start_in(
        b_dir,
        &[
            ("SLUICE_BIND_ADDRESS", b_address.as_str()),
            ("SLUICE_CLUSTER_DEBUG_NODE_ID", "2"),
            ("SLUICE_HINTED_HANDOFF_DIR", b_hints.as_str()),
            ("SLUICE_HTTP_AUTH_ENABLED", "true"),
            ("SLUICE_HTTP_SHARED_SECRET", "the-cluster-secret"),
        ],
    );
    let peers = format!("2={b_address}");
    let start_writer = |label: &str, secret: &str| {
        let dir = fresh_dir(label);
        let hints = dir.join("hh").display().to_string();
        Server::start_in(
            dir,
            &[
                ("SLUICE_CLUSTER_DEBUG_NODE_ID", "1"),
                ("SLUICE_CLUSTER_DEBUG_STATIC_PEERS", peers.as_str()),
                ("SLUICE_HINTED_HANDOFF_DIR", hints.as_str()),
                ("SLUICE_HTTP_AUTH_ENABLED", "true"),
                ("SLUICE_HTTP_SHARED_SECRET", secret),
            ],
        )
    };
    let right = start_writer("cluster-auth-right", "the-cluster-secret");
    let wrong = start_writer("cluster-auth-wrong", "a-guess");
    for server in [&b, &right, &wrong] {
        let created = server.query("CREATE USER admin WITH PASSWORD 'adminpw' WITH ALL PRIVILEGES");
        assert_eq!(created.0, 200, "{}", created.1);
        assert_eq!(admin_query(server, "CREATE DATABASE db").0, 200);
    }
    let write = |server: &Server, body: &str| {
        let target = "/write?db=db&consistency=all&precision=s&u=admin&p=adminpw";
        common::request(server.address, "POST", target, &[], body.as_bytes())
    };
    let accepted = write(&right, "cpu v=1 1\n");
    assert_eq!(accepted.status, 204, "{}", accepted.text());
    let refused = write(&wrong, "cpu v=2 2\n");
    assert_eq!(refused.status, 500, "{}", refused.text());
    assert!(
        refused.text().contains("partial write"),
        "{}",
        refused.text()
    );
    assert!(b
        .wait_for_log("bad or missing proof of the shared secret", DEADLINE)
        .is_some());
    let (status, on_b) = admin_query(&b, "SELECT v FROM db.autogen.cpu");
    assert_eq!(status, 200, "{on_b}");
    assert!(on_b.contains(&row(1)) && !on_b.contains(&row(2)), "{on_b}");
}
