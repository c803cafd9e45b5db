//! Deterministic simulation of the write-ahead log under injected faults and crashes.
//!
//! The real [`WalWriter`] appends through the simulated disk of `sluice_base::simulated_disk`,
//! which keeps real files (so the real [`replay`] reads them) but decides what a crash leaves:
//! any prefix of the unsynced bytes (sometimes zeroed), and no file whose directory entry was
//! never synced. Faults are injected on any call: a write cut short by ENOSPC, EIO on write or
//! sync, a truncation that fails. Bit rot flips a byte of a synced record.
//!
//! The model is the contract: every record whose commit returned Ok is replayed after every
//! later crash, exactly once, in commit order, until a checkpoint covers it; a record whose
//! commit failed may or may not come back, but at most once; nothing else ever appears; bit
//! rot costs at most the record it hit.
//!
//! Everything is drawn from one seed, so a failing seed reproduces exactly:
//! `SLUICE_WAL_SIM_SEED=<seed> cargo test -p sluice-storage wal_simulation`. CI runs a fixed
//! budget of seeds; `SLUICE_WAL_SIM_SEEDS` and `SLUICE_WAL_SIM_STEPS` run a long campaign.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::Arc;

use sluice_base::simulated_disk::{Faults, Random, SimFileSystem};

use crate::wal::{list_segments, remove_segments_before, replay, ReplayMode, WalWriter};

/// Seeds run by default (CI), and steps per seed.
const DEFAULT_SEEDS: u64 = 120;
const DEFAULT_STEPS: u64 = 400;
/// Segment size small enough that rotation happens every few commits.
const SEGMENT_MAX_BYTES: u64 = 4096;

/// A record's payload: its id, then filler of a length drawn from the seed.
fn payload(id: u64, random: &mut Random) -> Vec<u8> {
    let mut bytes = id.to_le_bytes().to_vec();
    let filler = random.below(200) as usize;
    bytes.extend((0..filler).map(|i| (id as usize).wrapping_add(i) as u8));
    bytes
}

/// The id of a well-formed payload (its filler is the one its id gives); `None` for bytes
/// that are not one, as the engine's record decoder refuses garbage a resync took for a
/// record (a checksum matches random bytes once in 2^32 tries).
fn id_of(payload: &[u8]) -> Option<u64> {
    let id = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let filler_ok = payload[8..]
        .iter()
        .enumerate()
        .all(|(i, byte)| *byte == (id as usize).wrapping_add(i) as u8);
    filler_ok.then_some(id)
}

/// The model: what must come back, what may.
#[derive(Default)]
struct Model {
    /// acknowledged and not yet covered by a checkpoint, in commit order
    acknowledged: Vec<u64>,
    /// ids whose commit failed, or whose record bit rot hit: may come back, at most once
    maybe: HashSet<u64>,
    /// bit rot was injected into a segment still on disk: replay may report corruption
    rotted: bool,
}

/// Runs one seed; panics with the seed and step on a broken contract.
fn run_seed(seed: u64, steps: u64, root: &Path) -> io::Result<()> {
    let mut random = Random(seed);
    let directory = root.join(format!("seed-{seed}"));
    let _ = std::fs::remove_dir_all(&directory);
    let file_system = Arc::new(SimFileSystem::default());
    let open = |file_system: &Arc<SimFileSystem>| {
        WalWriter::open_with(&directory, SEGMENT_MAX_BYTES, Arc::clone(file_system) as _)
    };
    let mut writer = open(&file_system)?;
    let mut model = Model::default();
    let mut next_id = 1u64;
    for step in 0..steps {
        let action = random.below(100);
        if action < 70 {
            let count = 1 + random.below(4);
            let ids: Vec<u64> = (0..count).map(|k| next_id + k).collect();
            next_id += count;
            for &id in &ids {
                writer.append(&payload(id, &mut random));
            }
            file_system.inject(Faults::draw(&mut random));
            match writer.commit() {
                Ok(()) => model.acknowledged.extend(&ids),
                Err(_) => model.maybe.extend(&ids),
            }
            file_system.clear_faults();
        } else if action < 76 {
            // A checkpoint: a new segment, then everything before it is covered.
            if random.chance(200) {
                file_system.inject(Faults {
                    create_enospc: true,
                    ..Faults::default()
                });
            }
            let started = writer.start_new_segment();
            file_system.clear_faults();
            if started.is_ok() {
                remove_segments_before(&directory, writer.segment_number())?;
                model.acknowledged.clear();
                model.maybe.clear();
                model.rotted = false;
            }
        } else if action < 80 {
            rot_one_byte(&directory, &mut random, &mut model)?;
        } else if action < 92 {
            drop(writer);
            file_system.crash(&mut random)?;
            check_replay(seed, step, &directory, &mut model)?;
            writer = open(&file_system)?;
        }
    }
    drop(writer);
    file_system.crash(&mut random)?;
    check_replay(seed, steps, &directory, &mut model)?;
    std::fs::remove_dir_all(&directory)
}

/// Flips one byte of one synced record of one segment; that record may now be lost.
fn rot_one_byte(directory: &Path, random: &mut Random, model: &mut Model) -> io::Result<()> {
    let segments = list_segments(directory)?;
    if segments.is_empty() {
        return Ok(());
    }
    let (_, path) = &segments[random.below(segments.len() as u64) as usize];
    let mut bytes = std::fs::read(path)?;
    let mut records = Vec::new();
    let scan = crate::wal::scan_segment_resyncing(&bytes, &mut |payload: &[u8]| {
        records.push(id_of(payload));
    });
    if scan.records == 0 || !scan.damaged.is_empty() {
        return Ok(());
    }
    // Walk to the chosen record's offset (records sit back to back after the header).
    let chosen = random.below(scan.records as u64) as usize;
    let mut offset = 16;
    for _ in 0..chosen {
        let Some(length) = crate::wal::record_at(&bytes, offset) else {
            return Ok(());
        };
        offset += 8 + length;
    }
    let Some(length) = crate::wal::record_at(&bytes, offset) else {
        return Ok(());
    };
    let at = offset + random.below((8 + length) as u64) as usize;
    bytes[at] ^= 1 << random.below(8);
    std::fs::write(path, &bytes)?;
    model.rotted = true;
    if let Some(Some(id)) = records.get(chosen) {
        model.acknowledged.retain(|acknowledged| acknowledged != id);
        model.maybe.insert(*id);
    }
    Ok(())
}

/// Replays and holds the result to the model; what came back becomes the new truth.
fn check_replay(seed: u64, step: u64, directory: &Path, model: &mut Model) -> io::Result<()> {
    let mut replayed = Vec::new();
    let stats = replay(directory, ReplayMode::Repair, |payload| {
        replayed.push(id_of(payload));
    })?;
    let context = format!("seed {seed} step {step}");
    // Only bit rot damages the middle of a segment: a failed write must have been cut back
    // (or left at the end of an abandoned segment), never buried under later records.
    assert!(
        stats.corrupt_stretches == 0 || model.rotted,
        "{context}: corruption in the middle of a segment without bit rot"
    );
    let mut seen = HashSet::new();
    let mut expected = model.acknowledged.iter().peekable();
    let mut durable = Vec::new();
    for id in &replayed {
        let Some(id) = *id else {
            // Garbage that passed its checksum: the decoder above the WAL refuses it.
            continue;
        };
        assert!(seen.insert(id), "{context}: record {id} replayed twice");
        if expected.peek() == Some(&&id) {
            expected.next();
        } else {
            assert!(
                model.maybe.contains(&id),
                "{context}: record {id} replayed out of order or never committed \
                 (expected {:?} next)",
                expected.peek()
            );
        }
        durable.push(id);
    }
    if let Some(missing) = expected.next() {
        panic!("{context}: acknowledged record {missing} lost (replayed {replayed:?})");
    }
    // The crash decided: what came back is durable now; the rest is gone for good.
    model.acknowledged = durable;
    model.maybe.clear();
    Ok(())
}

#[test]
fn wal_simulation_keeps_every_acknowledged_record() {
    let campaign = sluice_base::simulated_disk::Campaign::from_env(
        "SLUICE_WAL_SIM",
        "sluice-wal-sim",
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
        "wal simulation: {} seeds x {steps} steps in {:?}",
        seeds.len(),
        started.elapsed()
    );
}
