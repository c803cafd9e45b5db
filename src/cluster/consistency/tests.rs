use super::*;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::cluster::hinted_handoff::{HintedHandoff, HintedHandoffSettings};
use sluice_base::fsio::OsFileSystem;

/// What an owner does with a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Acknowledges,
    Unreachable,
    TimesOut,
    RefusesForGood,
    BreaksTheConnection,
}

const BEHAVIOURS: [Behaviour; 5] = [
    Behaviour::Acknowledges,
    Behaviour::Unreachable,
    Behaviour::TimesOut,
    Behaviour::RefusesForGood,
    Behaviour::BreaksTheConnection,
];

struct FakeTransport {
    behaviours: BTreeMap<NodeId, Behaviour>,
    events: Mutex<Vec<String>>,
}

struct FakePending<'a> {
    node: NodeId,
    behaviour: Behaviour,
    events: &'a Mutex<Vec<String>>,
}

impl PendingWrite for FakePending<'_> {
    fn finish(self: Box<Self>, _deadline: Instant) -> Result<u64, PeerError> {
        sluice_base::locks::lock(self.events).push(format!("finish {}", self.node));
        match self.behaviour {
            Behaviour::Acknowledges => Ok(1),
            Behaviour::TimesOut => Err(PeerError::Timeout),
            Behaviour::RefusesForGood => Err(PeerError::Refused {
                text: "field type conflict".into(),
                retryable: false,
            }),
            Behaviour::BreaksTheConnection => Err(PeerError::Connection("reset".into())),
            Behaviour::Unreachable => panic!("an unreachable owner's write was sent"),
        }
    }
}

impl OwnerTransport for FakeTransport {
    fn begin<'a>(
        &'a self,
        node: NodeId,
        _write: &ShardWrite,
        _deadline: Instant,
    ) -> Result<Box<dyn PendingWrite + 'a>, PeerError> {
        sluice_base::locks::lock(&self.events).push(format!("begin {node}"));
        let behaviour = self.behaviours[&node];
        if behaviour == Behaviour::Unreachable {
            return Err(PeerError::Unreachable(format!("node {node}: refused")));
        }
        Ok(Box::new(FakePending {
            node,
            behaviour,
            events: &self.events,
        }))
    }

    fn write_local(&self, _write: &ShardWrite) -> Result<u64, PeerError> {
        sluice_base::locks::lock(&self.events).push("local".into());
        match self.behaviours.get(&LOCAL) {
            Some(Behaviour::Acknowledges) => Ok(1),
            _ => Err(PeerError::Refused {
                text: "engine: WAL write failed".into(),
                retryable: true,
            }),
        }
    }
}

const LOCAL: NodeId = 1;

fn write() -> ShardWrite {
    ShardWrite {
        database: "db".into(),
        retention_policy: "autogen".into(),
        shard_group_id: 1,
        lines: b"m v=1 1\n".to_vec(),
        precision: crate::line_protocol::Precision::Nanosecond,
        now_ns: 0,
    }
}

fn hints(name: &str, max_size_bytes: u64) -> HintedHandoff {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("sluice-consistency-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = HintedHandoffSettings {
        dir,
        max_size_bytes,
        max_age: Duration::from_secs(3600),
        retry_interval: Duration::from_millis(10),
        retry_max_interval: Duration::from_millis(10),
        segment_max_bytes: 1 << 20,
    };
    HintedHandoff::open(Arc::new(OsFileSystem), settings).unwrap()
}

/// The expected answer, written from the table in the module doc, independently of
/// `decide`.
fn expected(
    level: ConsistencyLevel,
    behaviours: &[(NodeId, Behaviour)],
    hints_work: bool,
) -> Result<(), &'static str> {
    let owners = behaviours.len();
    let acks = behaviours
        .iter()
        .filter(|(_, b)| *b == Behaviour::Acknowledges)
        .count();
    let hinted = behaviours
        .iter()
        .filter(|(node, b)| {
            hints_work
                && *node != LOCAL
                && matches!(
                    b,
                    Behaviour::Unreachable | Behaviour::TimesOut | Behaviour::BreaksTheConnection
                )
        })
        .count();
    let ok = match level {
        ConsistencyLevel::Any => acks + hinted > 0,
        ConsistencyLevel::One => acks >= 1,
        ConsistencyLevel::Quorum => acks > owners / 2,
        ConsistencyLevel::All => acks == owners,
    };
    if ok {
        Ok(())
    } else if behaviours.iter().any(|(_, b)| *b == Behaviour::TimesOut) {
        Err("timeout")
    } else if acks > 0 {
        Err("partial write")
    } else {
        Err("the last owner's error")
    }
}

#[test]
fn every_level_and_owner_failure_pattern_gets_enterprises_answer() {
    let working = hints("working", 1 << 30);
    let full = hints("full", 1);
    let levels = [
        ConsistencyLevel::Any,
        ConsistencyLevel::One,
        ConsistencyLevel::Quorum,
        ConsistencyLevel::All,
    ];
    let mut cases = 0;
    for owners in [vec![1, 2, 3], vec![2, 3, 4], vec![1, 2], vec![2]] {
        let patterns = BEHAVIOURS.len().pow(owners.len() as u32);
        for pattern in 0..patterns {
            let behaviours: Vec<(NodeId, Behaviour)> = owners
                .iter()
                .enumerate()
                .map(|(i, node)| {
                    let b = BEHAVIOURS[pattern / BEHAVIOURS.len().pow(i as u32) % BEHAVIOURS.len()];
                    // This node's own share either is durable or fails (a WAL error).
                    let b = if *node == LOCAL && b != Behaviour::Acknowledges {
                        Behaviour::BreaksTheConnection
                    } else {
                        b
                    };
                    (*node, b)
                })
                .collect();
            for hint_mode in 0..3 {
                let queues = [None, Some(&working), Some(&full)][hint_mode];
                for level in levels {
                    check_case(&owners, &behaviours, level, queues, hint_mode == 1);
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 1_000);
    for queues in [&working, &full] {
        let _ = std::fs::remove_dir_all(&queues.settings().dir);
    }
}

fn check_case(
    owners: &[NodeId],
    behaviours: &[(NodeId, Behaviour)],
    level: ConsistencyLevel,
    queues: Option<&HintedHandoff>,
    hints_work: bool,
) {
    let transport = FakeTransport {
        behaviours: behaviours.iter().copied().collect(),
        events: Mutex::new(Vec::new()),
    };
    let (answer, report) = write_to_owners(
        owners,
        LOCAL,
        &write(),
        level,
        &transport,
        queues,
        Duration::from_secs(1),
    );
    let case = format!("{level:?} {behaviours:?} hints working: {hints_work}");
    let want = expected(level, behaviours, hints_work);
    match (&answer, want) {
        (Ok(()), Ok(())) => {}
        (Err(ConsistencyError::Timeout), Err("timeout")) => {}
        (Err(ConsistencyError::PartialWrite { .. }), Err("partial write")) => {}
        (Err(ConsistencyError::WriteFailed { last_error }), Err("the last owner's error")) => {
            let last = report.failed.last().map(|(_, e)| e.to_string());
            assert_eq!(*last_error, last, "{case}");
        }
        (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
    }
    if let Err(error) = &answer {
        let text = error.to_string();
        assert!(!text.is_empty(), "{case}");
    }
    // Every remote write is sent before this node's share and before any answer is read.
    let events = sluice_base::locks::lock(&transport.events).clone();
    let first_after_sending = events.iter().position(|e| !e.starts_with("begin"));
    let sends = events.iter().filter(|e| e.starts_with("begin")).count();
    assert_eq!(
        first_after_sending.unwrap_or(events.len()),
        sends,
        "{case}: {events:?}"
    );
    assert_eq!(
        sends,
        owners.iter().filter(|n| **n != LOCAL).count(),
        "{case}"
    );
    // Exactly the remote failures a retry may cure are hinted (when the queues take them).
    let mut want_hinted: Vec<NodeId> = behaviours
        .iter()
        .filter(|(node, b)| {
            hints_work
                && *node != LOCAL
                && matches!(
                    b,
                    Behaviour::Unreachable | Behaviour::TimesOut | Behaviour::BreaksTheConnection
                )
        })
        .map(|(node, _)| *node)
        .collect();
    let mut hinted = report.hinted.clone();
    want_hinted.sort_unstable();
    hinted.sort_unstable();
    assert_eq!(hinted, want_hinted, "{case}");
}

#[test]
fn levels_parse_as_the_write_parameter_names_them() {
    assert_eq!(ConsistencyLevel::parse(""), Some(ConsistencyLevel::One));
    assert_eq!(ConsistencyLevel::parse("any"), Some(ConsistencyLevel::Any));
    assert_eq!(
        ConsistencyLevel::parse("quorum"),
        Some(ConsistencyLevel::Quorum)
    );
    assert_eq!(ConsistencyLevel::parse("all"), Some(ConsistencyLevel::All));
    assert_eq!(ConsistencyLevel::parse("ALL"), None);
    assert_eq!(ConsistencyLevel::Quorum.required(3), 2);
    assert_eq!(ConsistencyLevel::Quorum.required(2), 2);
    assert_eq!(ConsistencyLevel::Quorum.required(5), 3);
    assert_eq!(ConsistencyLevel::All.required(3), 3);
}

#[test]
fn the_failure_texts_are_enterprises() {
    assert_eq!(ConsistencyError::Timeout.to_string(), "timeout");
    let partial = ConsistencyError::PartialWrite {
        acknowledged: 1,
        required: 2,
    };
    assert_eq!(partial.to_string(), "partial write");
    let failed = ConsistencyError::WriteFailed { last_error: None };
    assert_eq!(failed.to_string(), "write failed");
}
