use super::*;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;

use sluice_base::fsio::OsFileSystem;
use sluice_base::simulated_disk::{Campaign, Faults, Random, SimFileSystem};

const NOW_NS: i64 = 1_000_000_000_000;

/// Records what it delivers (node, the write's `shard_group_id`, used as the hint's id).
#[derive(Default)]
struct FakeTransport {
    failing: AtomicBool,
    refusing_for_good: AtomicBool,
    delivered: Mutex<Vec<(NodeId, u64)>>,
}

impl HintTransport for FakeTransport {
    fn deliver(&self, node: NodeId, write: &ShardWrite) -> Result<(), PeerError> {
        // What was hinted comes back whole (see `write`).
        assert_eq!(write.now_ns, write.shard_group_id as i64);
        assert_eq!(
            write.precision,
            crate::line_protocol::Precision::Millisecond
        );
        assert_eq!(
            (write.database.as_str(), write.retention_policy.as_str()),
            ("db", "autogen")
        );
        if self.failing.load(Ordering::Relaxed) {
            return Err(PeerError::Unreachable("down".into()));
        }
        if self.refusing_for_good.load(Ordering::Relaxed) {
            return Err(PeerError::Refused {
                text: "field type conflict".into(),
                retryable: false,
            });
        }
        lock(&self.delivered).push((node, write.shard_group_id));
        Ok(())
    }
}

impl FakeTransport {
    fn delivered(&self) -> Vec<(NodeId, u64)> {
        lock(&self.delivered).clone()
    }
}

fn write(id: u64, padding: usize) -> ShardWrite {
    let mut lines = format!("m,pad={} id={id}i {id}\n", "x".repeat(padding)).into_bytes();
    lines.shrink_to_fit();
    ShardWrite {
        database: "db".into(),
        retention_policy: "autogen".into(),
        shard_group_id: id,
        lines,
        precision: crate::line_protocol::Precision::Millisecond,
        now_ns: id as i64,
    }
}

fn record_bytes(write: &ShardWrite) -> u64 {
    let mut record = Vec::new();
    encode_record(write, 0, &mut record).unwrap();
    record.len() as u64
}

fn settings(dir: &Path, max_size_bytes: u64, segment_max_bytes: u64) -> HintedHandoffSettings {
    HintedHandoffSettings {
        dir: dir.to_path_buf(),
        max_size_bytes,
        max_age: Duration::from_secs(3600),
        retry_interval: Duration::from_millis(10),
        retry_max_interval: Duration::from_millis(40),
        segment_max_bytes,
    }
}

fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-hh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn segment_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

fn deliver_all(queues: &HintedHandoff, node: NodeId, transport: &FakeTransport) {
    for _ in 0..10_000 {
        let delivery = queues.deliver(node, transport, NOW_NS, 1_000);
        assert!(delivery.failed.is_none(), "{delivery:?}");
        if delivery.empty {
            return;
        }
    }
    panic!("the queue of node {node} never emptied");
}

#[test]
fn hints_are_delivered_in_order_and_delivered_segments_deleted() {
    let dir = test_dir("order");
    let queues =
        HintedHandoff::open(Arc::new(OsFileSystem), settings(&dir, 1 << 20, 1024)).unwrap();
    for id in 1..=100 {
        queues.hint(2, &write(id, 20), NOW_NS).unwrap();
    }
    assert!(
        segment_files(&dir.join("2")) > 3,
        "small segments: several files"
    );
    assert!(queues.pending_bytes(2) > 100 * 30);
    let transport = FakeTransport::default();
    deliver_all(&queues, 2, &transport);
    let expected: Vec<(NodeId, u64)> = (1..=100).map(|id| (2, id)).collect();
    assert_eq!(transport.delivered(), expected);
    assert_eq!(queues.pending_bytes(2), 0);
    assert_eq!(segment_files(&dir.join("2")), 0);
    assert_eq!(queues.counters.delivered.load(Ordering::Relaxed), 100);
    // The queue takes hints again after it emptied.
    queues.hint(2, &write(101, 1), NOW_NS).unwrap();
    deliver_all(&queues, 2, &transport);
    assert_eq!(transport.delivered().last(), Some(&(2, 101)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_queue_refuses_with_a_clear_error_until_delivery_makes_room() {
    let dir = test_dir("full");
    let hint = write(1, 100);
    let max = SEGMENT_HEADER_BYTES + 3 * record_bytes(&hint);
    let queues = HintedHandoff::open(Arc::new(OsFileSystem), settings(&dir, max, 1 << 20)).unwrap();
    for id in 1..=3 {
        queues.hint(5, &write(id, 100), NOW_NS).unwrap();
    }
    let refused = queues.hint(5, &write(4, 100), NOW_NS).unwrap_err();
    assert!(matches!(refused, HintError::Full { node: 5, .. }));
    assert_eq!(
        refused.to_string(),
        format!("hinted handoff queue for node 5 is full ({max} bytes, [hinted-handoff] max-size)")
    );
    assert!(queues.pending_bytes(5) <= max);
    // Another destination has its own bound.
    queues.hint(6, &write(9, 100), NOW_NS).unwrap();
    let transport = FakeTransport::default();
    deliver_all(&queues, 5, &transport);
    queues.hint(5, &write(4, 100), NOW_NS).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_fsync_or_a_full_disk_hands_nothing_off_and_the_queue_goes_on() {
    let dir = test_dir("faults");
    let fs = SimFileSystem::default();
    let queues =
        HintedHandoff::open(Arc::new(fs.clone()), settings(&dir, 1 << 20, 1 << 20)).unwrap();
    queues.hint(3, &write(1, 10), NOW_NS).unwrap();
    fs.inject(Faults {
        sync_eio: true,
        ..Faults::default()
    });
    assert!(matches!(
        queues.hint(3, &write(2, 10), NOW_NS),
        Err(HintError::Io(_))
    ));
    fs.inject(Faults {
        create_enospc: true,
        ..Faults::default()
    });
    assert!(matches!(
        queues.hint(3, &write(3, 10), NOW_NS),
        Err(HintError::Io(_))
    ));
    fs.inject(Faults {
        write_short: Some(5),
        ..Faults::default()
    });
    assert!(matches!(
        queues.hint(3, &write(4, 10), NOW_NS),
        Err(HintError::Io(_))
    ));
    queues.hint(3, &write(5, 10), NOW_NS).unwrap();
    let transport = FakeTransport::default();
    deliver_all(&queues, 3, &transport);
    // Only what was handed off is promised; a failed sync's record is never read past.
    assert_eq!(transport.delivered(), vec![(3, 1), (3, 5)]);
    assert_eq!(queues.counters.refused.load(Ordering::Relaxed), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_torn_tail_is_cut_at_open_and_every_handed_off_hint_survives() {
    let dir = test_dir("torn");
    let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
    let queues = HintedHandoff::open(Arc::clone(&fs), settings(&dir, 1 << 20, 1 << 20)).unwrap();
    for id in 1..=3 {
        queues.hint(4, &write(id, 10), NOW_NS).unwrap();
    }
    drop(queues);
    let segment = segment_path(&dir.join("4"), 1);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[40, 0, 0, 0, 1, 2, 3, 4, 9, 9]); // a record cut short
    std::fs::write(&segment, &bytes).unwrap();
    // A file with no valid header held nothing handed off.
    std::fs::write(segment_path(&dir.join("4"), 7), b"SLH").unwrap();
    let queues = HintedHandoff::open(Arc::clone(&fs), settings(&dir, 1 << 20, 1 << 20)).unwrap();
    assert!(!segment_path(&dir.join("4"), 7).exists());
    queues.hint(4, &write(4, 10), NOW_NS).unwrap();
    let transport = FakeTransport::default();
    deliver_all(&queues, 4, &transport);
    assert_eq!(transport.delivered(), vec![(4, 1), (4, 2), (4, 3), (4, 4)]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_restart_delivers_again_from_the_oldest_segment_left() {
    let dir = test_dir("restart");
    let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
    let queues = HintedHandoff::open(Arc::clone(&fs), settings(&dir, 1 << 20, 1 << 20)).unwrap();
    for id in 1..=4 {
        queues.hint(1, &write(id, 10), NOW_NS).unwrap();
    }
    let transport = FakeTransport::default();
    assert_eq!(queues.deliver(1, &transport, NOW_NS, 2).delivered, 2);
    drop(queues);
    let queues = HintedHandoff::open(Arc::clone(&fs), settings(&dir, 1 << 20, 1 << 20)).unwrap();
    deliver_all(&queues, 1, &transport);
    // At least once: 1 and 2 twice (the position is not persisted), never lost.
    let ids: Vec<u64> = transport.delivered().iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, vec![1, 2, 1, 2, 3, 4]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expired_hints_are_dropped_unsent_and_refusals_for_good_do_not_block_the_queue() {
    let dir = test_dir("expiry");
    let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
    let queues = HintedHandoff::open(Arc::clone(&fs), settings(&dir, 1 << 20, 1 << 20)).unwrap();
    let hour_ns = 3_600_000_000_000;
    queues
        .hint(1, &write(1, 100), NOW_NS - 2 * hour_ns)
        .unwrap();
    queues
        .hint(1, &write(2, 100), NOW_NS - 2 * hour_ns)
        .unwrap();
    queues.hint(1, &write(3, 100), NOW_NS).unwrap();
    let transport = FakeTransport::default();
    transport.failing.store(true, Ordering::Relaxed);
    let failed = queues.deliver(1, &transport, NOW_NS, 10);
    assert_eq!(failed.failed, Some(PeerError::Unreachable("down".into())));
    // The expired ones are dropped unsent even while the node is down.
    assert_eq!((failed.delivered, failed.expired), (0, 2));
    transport.failing.store(false, Ordering::Relaxed);
    transport.refusing_for_good.store(true, Ordering::Relaxed);
    let delivery = queues.deliver(1, &transport, NOW_NS, 10);
    assert_eq!(
        (delivery.expired, delivery.dropped, delivery.empty),
        (0, 1, true)
    );
    assert!(transport.delivered().is_empty());
    // Whole segments whose newest hint expired are deleted unread.
    let small = test_dir("expiry-small");
    let queues = HintedHandoff::open(Arc::clone(&fs), settings(&small, 1 << 20, 256)).unwrap();
    for id in 1..=4 {
        queues
            .hint(1, &write(id, 200), NOW_NS - 2 * hour_ns)
            .unwrap();
    }
    assert!(segment_files(&small.join("1")) >= 4);
    transport.refusing_for_good.store(false, Ordering::Relaxed);
    assert!(queues.deliver(1, &transport, NOW_NS, 10).empty);
    assert!(transport.delivered().is_empty());
    assert_eq!(
        (queues.pending_bytes(1), segment_files(&small.join("1"))),
        (0, 0)
    );
    let _ = std::fs::remove_dir_all(&small);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_delivery_thread_backs_off_and_delivers_once_the_node_returns() {
    let dir = test_dir("thread");
    let queues = Arc::new(
        HintedHandoff::open(Arc::new(OsFileSystem), settings(&dir, 1 << 20, 1 << 20)).unwrap(),
    );
    let now = crate::time::now_ns();
    for id in 1..=5 {
        queues.hint(8, &write(id, 10), now).unwrap();
    }
    let transport = Arc::new(FakeTransport::default());
    transport.failing.store(true, Ordering::Relaxed);
    let thread = DeliveryThread::start(Arc::clone(&queues), transport.clone()).unwrap();
    std::thread::sleep(Duration::from_millis(100)); // several failed attempts (backing off)
    assert!(transport.delivered().is_empty());
    transport.failing.store(false, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while transport.delivered().len() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    thread.stop();
    let ids: Vec<u64> = transport.delivered().iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The model of one seed: what was attempted and what was handed off, by id.
#[derive(Default)]
struct Model {
    attempted: BTreeMap<u64, NodeId>,
    handed_off: BTreeMap<u64, NodeId>,
}

const SIM_NODES: u64 = 3;
const SIM_MAX_SIZE_BYTES: u64 = 24 * 1024;
const SIM_SEGMENT_MAX_BYTES: u64 = 3 * 1024;

/// Random appends (with injected disk faults), deliveries (with the node sometimes down)
/// and power cuts over the simulated disk; at the end every hint handed off was delivered,
/// in order of first delivery per node, and nothing was delivered that was never written.
#[test]
fn simulation_loses_no_handed_off_hint() {
    let campaign = Campaign::from_env("SLUICE_HH_SIM", "sluice-hh-sim", 24, 1_500);
    for seed in &campaign.seeds {
        eprintln!(
            "hinted-handoff simulation: seed {seed} ({} steps)",
            campaign.steps
        );
        run_seed(
            *seed,
            campaign.steps,
            &campaign.root.join(format!("seed-{seed}")),
        );
    }
    let _ = std::fs::remove_dir_all(&campaign.root);
}

fn run_seed(seed: u64, steps: u64, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let mut random = Random(seed);
    let fs = SimFileSystem::default();
    let settings = settings(dir, SIM_MAX_SIZE_BYTES, SIM_SEGMENT_MAX_BYTES);
    let open = |fs: &SimFileSystem| HintedHandoff::open(Arc::new(fs.clone()), settings.clone());
    let mut queues = open(&fs).unwrap();
    let transport = FakeTransport::default();
    let mut model = Model::default();
    for id in 1..=steps {
        let node = 1 + random.below(SIM_NODES);
        match random.below(100) {
            0..=54 => append(&queues, &fs, &mut random, &mut model, node, id),
            55..=91 => {
                transport
                    .failing
                    .store(random.chance(250), Ordering::Relaxed);
                let budget = 1 + random.below(12) as usize;
                queues.deliver(node, &transport, NOW_NS, budget);
            }
            _ => {
                drop(queues);
                fs.crash(&mut random).unwrap();
                queues = open(&fs).unwrap();
            }
        }
        for node in 1..=SIM_NODES {
            let pending = queues.pending_bytes(node);
            assert!(
                pending <= SIM_MAX_SIZE_BYTES,
                "seed {seed}: {pending} bytes"
            );
        }
    }
    drop(queues);
    fs.crash(&mut random).unwrap();
    let queues = open(&fs).unwrap();
    transport.failing.store(false, Ordering::Relaxed);
    for node in 1..=SIM_NODES {
        deliver_all(&queues, node, &transport);
    }
    check(seed, &model, &transport.delivered());
    let _ = std::fs::remove_dir_all(dir);
}

fn append(
    queues: &HintedHandoff,
    fs: &SimFileSystem,
    random: &mut Random,
    model: &mut Model,
    node: NodeId,
    id: u64,
) {
    if random.chance(200) {
        fs.inject(Faults::draw(random));
    }
    let hint = write(id, random.below(700) as usize);
    let pending = queues.pending_bytes(node);
    model.attempted.insert(id, node);
    match queues.hint(node, &hint, NOW_NS) {
        Ok(()) => {
            model.handed_off.insert(id, node);
        }
        Err(HintError::Full { .. }) => {
            let needed = pending + record_bytes(&hint) + SEGMENT_HEADER_BYTES;
            assert!(
                needed > SIM_MAX_SIZE_BYTES,
                "refused as full with room left"
            );
        }
        Err(_) => {}
    }
    fs.clear_faults();
}

fn check(seed: u64, model: &Model, delivered: &[(NodeId, u64)]) {
    let delivered_set: BTreeSet<(NodeId, u64)> = delivered.iter().copied().collect();
    for (id, node) in &model.handed_off {
        assert!(
            delivered_set.contains(&(*node, *id)),
            "seed {seed}: hint {id} for node {node} was handed off and never delivered"
        );
    }
    for (node, id) in delivered {
        assert_eq!(
            model.attempted.get(id),
            Some(node),
            "seed {seed}: delivered {id} to {node}, which was never written for it"
        );
    }
    // Per node, handed-off hints are first delivered in the order they were handed off.
    let mut seen = BTreeSet::new();
    let mut last_first: BTreeMap<NodeId, u64> = BTreeMap::new();
    for (node, id) in delivered {
        if !model.handed_off.contains_key(id) || !seen.insert(*id) {
            continue;
        }
        let last = last_first.entry(*node).or_insert(0);
        assert!(
            *id > *last,
            "seed {seed}: hint {id} first delivered after {last}"
        );
        *last = *id;
    }
}
