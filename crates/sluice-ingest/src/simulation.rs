//! Deterministic simulation of requests of several parts through the real partition logic
//! ([`PartitionCore`]: group commit, applying in WAL order, checkpoints) and the real replay
//! ([`replay::replay_partitions`]), over the simulated disk of `sluice_base::simulated_disk`,
//! with injected faults and crashes.
//!
//! One thread plays every actor, one step at a time, each drawn from the seed: a request is
//! submitted (1 to 4 parts over random partitions; sometimes one part is never queued, as
//! when a writer gives up on a full queue), a partition commits part of its queue (maybe
//! under a fault), a woken partition applies what resolved, a checkpoint advances by one
//! partition's rotation, the snapshot is written, one partition's covered segments are
//! deleted, or the power is cut.
//!
//! The model is the contract: while the server runs, a request told durable is visible whole
//! (files, frozen and live caches), one told failed shows nothing, and only a committed one
//! may show some parts (its other partitions have not applied theirs yet); after every crash
//! each request is wholly present or wholly absent, every one told durable is present, and
//! what a crash decided stays decided. Every request is told exactly once.
//!
//! A failing seed reproduces exactly: `SLUICE_INGEST_SIM_SEED=<seed> cargo test -p
//! sluice-ingest simulation` (`SLUICE_INGEST_SIM_TRACE=1` prints every step). CI runs a
//! small budget; `SLUICE_INGEST_SIM_SEEDS`,
//! `SLUICE_INGEST_SIM_FIRST_SEED` and `SLUICE_INGEST_SIM_STEPS` run a long campaign.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use sluice_base::simulated_disk::{Faults, Random, SimFileSystem};
use sluice_model::record::RECORD_KIND_WRITE;
use sluice_storage::wal::{remove_segments_before, ReplayMode, WalWriter};

use crate::partition::{segments_to_delete, CacheSink, PartitionCore, PartitionStats};
use crate::replay;
use crate::request::{self, AckSink, Batch, PartitionWaker};

/// Seeds run by default (CI), and steps per seed.
const DEFAULT_SEEDS: u64 = 40;
const DEFAULT_STEPS: u64 = 400;
/// Segment size small enough that rotation happens every few commits.
const SEGMENT_MAX_BYTES: u64 = 2048;
/// Most batches one simulated group commit takes.
const GROUP_MAX_RECORDS: u64 = 6;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A part as the model names it: (request number, part index).
type PartName = (u64, u32);

/// A write record of the simulation: kind, request number, part index, filler.
fn record(request: u64, part: u32, random: &mut Random) -> Vec<u8> {
    let mut bytes = vec![RECORD_KIND_WRITE];
    bytes.extend_from_slice(&request.to_le_bytes());
    bytes.extend_from_slice(&part.to_le_bytes());
    let filler = random.below(120) as usize;
    bytes.extend((0..filler).map(|i| (request as usize).wrapping_add(i) as u8));
    bytes
}

fn name_of(record: &[u8]) -> Option<PartName> {
    let request = u64::from_le_bytes(record.get(1..9)?.try_into().ok()?);
    let part = u32::from_le_bytes(record.get(9..13)?.try_into().ok()?);
    let filler_ok = record[13..]
        .iter()
        .enumerate()
        .all(|(i, byte)| *byte == (request as usize).wrapping_add(i) as u8);
    (record.first() == Some(&RECORD_KIND_WRITE) && filler_ok).then_some((request, part))
}

/// The caches and column files, as sets of parts.
#[derive(Default)]
struct CacheModel {
    live: Mutex<BTreeMap<usize, BTreeSet<PartName>>>,
    frozen: Mutex<BTreeMap<usize, BTreeSet<PartName>>>,
    files: Mutex<BTreeSet<PartName>>,
}

impl CacheSink for CacheModel {
    fn apply_record(&self, partition: usize, record: &[u8]) {
        let Some(name) = name_of(record) else {
            panic!("BUG: the simulation applied a record it never wrote");
        };
        lock(&self.live).entry(partition).or_default().insert(name);
    }

    fn freeze_partition(&self, partition: usize) {
        let live = lock(&self.live).remove(&partition).unwrap_or_default();
        lock(&self.frozen)
            .entry(partition)
            .or_default()
            .extend(live);
    }
}

impl CacheModel {
    fn visible(&self) -> BTreeSet<PartName> {
        let mut all = lock(&self.files).clone();
        for parts in lock(&self.live).values().chain(lock(&self.frozen).values()) {
            all.extend(parts);
        }
        all
    }
}

/// Completions told, by request number, and the partitions woken.
#[derive(Default)]
struct Tells {
    told: Mutex<HashMap<u64, Vec<bool>>>,
    woken: Mutex<BTreeSet<usize>>,
}

/// The sink and waker of one life of the server (a crash ends it: later tells are ignored).
struct Life {
    tells: Arc<Tells>,
    alive: Arc<AtomicBool>,
}

impl AckSink for Life {
    fn write_complete(&self, connection: usize, _sequence: u64, durable: bool) {
        if self.alive.load(std::sync::atomic::Ordering::SeqCst) {
            lock(&self.tells.told)
                .entry(connection as u64)
                .or_default()
                .push(durable);
        }
    }
}

impl PartitionWaker for Life {
    fn wake(&self, partition: usize) {
        lock(&self.tells.woken).insert(partition);
    }
}

/// A checkpoint in progress.
struct Checkpoint {
    /// partitions still to rotate, in the order drawn
    to_rotate: Vec<usize>,
    /// first segment kept, per rotated partition (0: nothing frozen)
    first_kept: BTreeMap<usize, u64>,
    /// the snapshot is written; partitions whose covered segments are still to delete
    to_delete: Option<Vec<usize>>,
}

struct Server {
    cores: Vec<PartitionCore>,
    queues: Vec<VecDeque<Batch>>,
    rotating: Arc<AtomicBool>,
    life: Arc<Life>,
    next_request_id: u64,
    checkpoint: Option<Checkpoint>,
}

struct Simulation {
    seed: u64,
    random: Random,
    directory: PathBuf,
    partitions: usize,
    file_system: Arc<SimFileSystem>,
    cache: Arc<CacheModel>,
    tells: Arc<Tells>,
    /// parts of every request submitted, by request number
    part_counts: BTreeMap<u64, u32>,
    /// requests a crash decided: present (true) or absent
    decided: BTreeMap<u64, bool>,
    next_request: u64,
}

impl Simulation {
    fn partition_dir(&self, partition: usize) -> PathBuf {
        self.directory.join(format!("p{partition:02}"))
    }

    fn start(&mut self, next_request_id: u64) -> io::Result<Server> {
        let rotating = Arc::new(AtomicBool::new(false));
        let mut cores = Vec::new();
        for partition in 0..self.partitions {
            let writer = WalWriter::open_with(
                &self.partition_dir(partition),
                SEGMENT_MAX_BYTES,
                Arc::clone(&self.file_system) as _,
            )?;
            cores.push(PartitionCore::new(
                partition,
                writer,
                Arc::clone(&rotating),
                Arc::new(PartitionStats::default()),
            ));
        }
        Ok(Server {
            cores,
            queues: (0..self.partitions).map(|_| VecDeque::new()).collect(),
            rotating,
            life: Arc::new(Life {
                tells: Arc::clone(&self.tells),
                alive: Arc::new(AtomicBool::new(true)),
            }),
            next_request_id,
            checkpoint: None,
        })
    }

    fn submit(&mut self, server: &mut Server) {
        let request = self.next_request;
        self.next_request += 1;
        let part_count = 1 + self.random.below(4) as u32;
        let records: Vec<(usize, Vec<u8>, u32)> = (0..part_count)
            .map(|part| {
                let partition = self.random.below(self.partitions as u64) as usize;
                (partition, record(request, part, &mut self.random), 1)
            })
            .collect();
        let request_id = if part_count > 1 {
            server.next_request_id += 1;
            server.next_request_id - 1
        } else {
            0
        };
        self.part_counts.insert(request, part_count);
        let batches = request::batches(
            records,
            request_id,
            Some(Arc::clone(&server.life) as _),
            Arc::clone(&server.life) as _,
            request as usize,
            0,
        );
        // Now and then one part never reaches its queue (a writer gave up): dropped.
        let given_up = self
            .random
            .chance(40)
            .then(|| self.random.below(u64::from(part_count)) as usize);
        for (index, batch) in batches.into_iter().enumerate() {
            if Some(index) != given_up {
                server.queues[batch.partition].push_back(batch);
            }
        }
    }

    fn commit(&mut self, server: &mut Server, partition: usize, faults: bool) {
        let take = 1 + self.random.below(GROUP_MAX_RECORDS) as usize;
        let queue = &mut server.queues[partition];
        let mut group: Vec<Batch> = queue.drain(..take.min(queue.len())).collect();
        if faults {
            self.file_system.inject(Faults::draw(&mut self.random));
        }
        trace(|| {
            let names: Vec<Option<PartName>> = group.iter().map(|b| name_of(&b.payload)).collect();
            format!("commit {partition}: {names:?}")
        });
        server.cores[partition].commit_group(&mut group, self.cache.as_ref());
        self.file_system.clear_faults();
    }

    fn apply_woken(&mut self, server: &mut Server) {
        let woken: Vec<usize> = lock(&self.tells.woken).iter().copied().collect();
        if woken.is_empty() {
            return;
        }
        let partition = woken[self.random.below(woken.len() as u64) as usize];
        lock(&self.tells.woken).remove(&partition);
        server.cores[partition].apply_resolved(self.cache.as_ref());
    }

    /// One step of a checkpoint: begin, rotate one partition, write the snapshot, or delete
    /// one partition's covered segments.
    fn checkpoint_step(&mut self, server: &mut Server) -> io::Result<()> {
        let Some(checkpoint) = server.checkpoint.as_mut() else {
            let mut to_rotate: Vec<usize> = (0..self.partitions).collect();
            for i in (1..to_rotate.len()).rev() {
                to_rotate.swap(i, self.random.below(i as u64 + 1) as usize);
            }
            server
                .rotating
                .store(true, std::sync::atomic::Ordering::SeqCst);
            server.checkpoint = Some(Checkpoint {
                to_rotate,
                first_kept: BTreeMap::new(),
                to_delete: None,
            });
            return Ok(());
        };
        if let Some(partition) = checkpoint.to_rotate.pop() {
            if self.random.chance(100) {
                self.file_system.inject(Faults::draw(&mut self.random));
            }
            let first_kept = server.cores[partition].checkpoint(self.cache.as_ref());
            trace(|| format!("rotated {partition}: first kept {first_kept}"));
            self.file_system.clear_faults();
            checkpoint.first_kept.insert(partition, first_kept);
            if checkpoint.to_rotate.is_empty() {
                server
                    .rotating
                    .store(false, std::sync::atomic::Ordering::SeqCst);
            }
            return Ok(());
        }
        match checkpoint.to_delete.as_mut() {
            None => {
                // The snapshot: every frozen map into a synced file.
                let frozen = std::mem::take(&mut *lock(&self.cache.frozen));
                let mut files = lock(&self.cache.files);
                for parts in frozen.into_values() {
                    files.extend(parts);
                }
                let answers: Vec<Option<u64>> = checkpoint
                    .first_kept
                    .values()
                    .map(|first| Some(*first))
                    .collect();
                checkpoint.to_delete = Some(match segments_to_delete(&answers) {
                    Some(_) => checkpoint.first_kept.keys().copied().collect(),
                    None => Vec::new(),
                });
            }
            Some(to_delete) => match to_delete.pop() {
                Some(partition) => {
                    let first_kept = checkpoint.first_kept[&partition];
                    trace(|| format!("delete {partition} before {first_kept}"));
                    if first_kept > 0 {
                        remove_segments_before(&self.partition_dir(partition), first_kept)?;
                    }
                }
                None => server.checkpoint = None,
            },
        }
        Ok(())
    }

    /// What the running server shows, held to the model.
    fn check_running(&self, step: u64) {
        let visible = self.cache.visible();
        let told = lock(&self.tells.told);
        let mut shown: BTreeMap<u64, u32> = BTreeMap::new();
        for (request, _) in &visible {
            *shown.entry(*request).or_default() += 1;
        }
        for (request, part_count) in &self.part_counts {
            let shown = shown.get(request).copied().unwrap_or(0);
            let context = format!("seed {} step {step} request {request}", self.seed);
            if let Some(&present) = self.decided.get(request) {
                let expected = if present { *part_count } else { 0 };
                assert_eq!(shown, expected, "{context}: a crash decided otherwise");
            }
            match told.get(request).map(Vec::as_slice) {
                Some([true]) => {
                    assert_eq!(shown, *part_count, "{context}: told durable, not whole")
                }
                Some([false]) => assert_eq!(shown, 0, "{context}: told failed, yet visible"),
                Some(more) => panic!("{context}: told {more:?}"),
                None => {}
            }
        }
    }

    /// Cuts the power, replays, and holds the result to the model.
    fn crash(&mut self, server: Server, step: u64) -> io::Result<Server> {
        server
            .life
            .alive
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let told: HashMap<u64, Vec<bool>> = lock(&self.tells.told).clone();
        drop(server);
        lock(&self.tells.woken).clear();
        self.file_system.crash(&mut self.random)?;
        let directories: Vec<(usize, PathBuf)> = (0..self.partitions)
            .map(|partition| (partition, self.partition_dir(partition)))
            .filter(|(_, directory)| directory.is_dir())
            .collect();
        let mut replayed: BTreeMap<usize, BTreeSet<PartName>> = BTreeMap::new();
        let stats =
            replay::replay_partitions(&directories, ReplayMode::Repair, |partition, record| {
                if let Some(name) = name_of(record) {
                    replayed.entry(partition).or_default().insert(name);
                }
            })?;
        trace(|| {
            format!(
                "crash: files {:?} replayed {replayed:?}",
                lock(&self.cache.files)
            )
        });
        *lock(&self.cache.live) = replayed;
        lock(&self.cache.frozen).clear();
        let visible = self.cache.visible();
        let mut shown: BTreeMap<u64, u32> = BTreeMap::new();
        for (request, _) in &visible {
            *shown.entry(*request).or_default() += 1;
        }
        for (request, part_count) in &self.part_counts {
            let shown = shown.get(request).copied().unwrap_or(0);
            let context = format!("seed {} step {step} request {request}", self.seed);
            assert!(
                shown == 0 || shown == *part_count,
                "{context}: {shown} of {part_count} parts after a crash"
            );
            let present = shown == *part_count;
            if told.get(request).map(Vec::as_slice) == Some(&[true]) {
                assert!(present, "{context}: told durable, lost in a crash");
            }
            if let Some(&decided) = self.decided.get(request) {
                assert_eq!(
                    present, decided,
                    "{context}: a crash changed what one decided"
                );
            }
            self.decided.insert(*request, present);
        }
        // The new life: every request before it is decided; tells of the old one are done.
        lock(&self.tells.told).clear();
        self.start(stats.max_request_id + 1)
    }

    /// Lets everything queued commit without faults and every woken partition apply.
    fn quiesce(&mut self, server: &mut Server) {
        loop {
            let busy: Vec<usize> = (0..self.partitions)
                .filter(|&p| !server.queues[p].is_empty())
                .collect();
            if let Some(&partition) = busy.first() {
                self.commit(server, partition, false);
                continue;
            }
            if lock(&self.tells.woken).is_empty() {
                break;
            }
            self.apply_woken(server);
        }
    }
}

fn run_seed(seed: u64, steps: u64, root: &Path) -> io::Result<()> {
    let directory = root.join(format!("seed-{seed}"));
    let _ = std::fs::remove_dir_all(&directory);
    let mut random = Random(seed);
    let partitions = 2 + random.below(3) as usize;
    let mut simulation = Simulation {
        seed,
        random,
        directory: directory.clone(),
        partitions,
        file_system: Arc::new(SimFileSystem::default()),
        cache: Arc::new(CacheModel::default()),
        tells: Arc::new(Tells::default()),
        part_counts: BTreeMap::new(),
        decided: BTreeMap::new(),
        next_request: 1,
    };
    let mut server = simulation.start(1)?;
    for step in 0..steps {
        let action = simulation.random.below(100);
        trace(|| {
            format!(
                "step {step}: action {action} visible {:?} woken {:?}",
                simulation.cache.visible(),
                lock(&simulation.tells.woken)
            )
        });
        if action < 35 {
            simulation.submit(&mut server);
        } else if action < 65 {
            let partition = simulation.random.below(partitions as u64) as usize;
            simulation.commit(&mut server, partition, true);
        } else if action < 80 {
            simulation.apply_woken(&mut server);
        } else if action < 95 {
            simulation.checkpoint_step(&mut server)?;
        } else {
            server = simulation.crash(server, step)?;
        }
        simulation.check_running(step);
    }
    // Every request still open must resolve and be told once.
    simulation.quiesce(&mut server);
    simulation.check_running(steps);
    let told = lock(&simulation.tells.told).clone();
    for (request, part_count) in &simulation.part_counts {
        if !simulation.decided.contains_key(request) {
            assert!(
                told.contains_key(request),
                "seed {seed}: request {request} ({part_count} parts) never told"
            );
        }
    }
    simulation.crash(server, steps)?;
    std::fs::remove_dir_all(&directory)
}

/// Prints what a step did when `SLUICE_INGEST_SIM_TRACE` is set (to read a failing seed).
fn trace(message: impl FnOnce() -> String) {
    if std::env::var_os("SLUICE_INGEST_SIM_TRACE").is_some() {
        eprintln!("{}", message());
    }
}

#[test]
fn ingest_simulation_keeps_requests_whole() {
    let campaign = sluice_base::simulated_disk::Campaign::from_env(
        "SLUICE_INGEST_SIM",
        "sluice-ingest-sim",
        DEFAULT_SEEDS,
        DEFAULT_STEPS,
    );
    let (seeds, steps, root) = (campaign.seeds, campaign.steps, campaign.root);
    let started = std::time::Instant::now();
    for &seed in &seeds {
        run_seed(seed, steps, &root).unwrap();
    }
    let _ = std::fs::remove_dir_all(&root);
    eprintln!(
        "ingest simulation: {} seeds x {steps} steps in {:?}",
        seeds.len(),
        started.elapsed()
    );
}
