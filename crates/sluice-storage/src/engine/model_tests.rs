//! The engine against a `BTreeMap` model: random writes (overwrites and out-of-order times
//! included), deletes, snapshots, compactions and crashes (the store dropped and reopened from
//! disk, the simulated WAL replayed), every read checked against the model. Seeds are printed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Store, StoreOptions};
use crate::column::ColumnValues;
use crate::meta::{MetaStore, RetentionPolicySpec};
use sluice_model::record::{RecordBuilder, StoredValue};

const PARTITIONS: usize = 2;
const SERIES: [&[u8]; 4] = [
    b"cpu,host=a",
    b"cpu,host=b",
    b"mem,host=a",
    b"d\\ isk,p=x\\,y",
];
const FIELDS: [&[u8]; 2] = [b"v", b"w"];
const DAY_NS: i64 = 86_400_000_000_000;

/// Simulated WAL: the records applied since the last checkpoint, with their partition.
type Wal = Arc<Mutex<Vec<(usize, Vec<u8>)>>>;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn partition_of(series_key: &[u8]) -> usize {
    sluice_model::routing::partition_for(series_key, PARTITIONS)
}

fn open(dir: &std::path::Path, wal: &Wal) -> Arc<Store> {
    let meta = Arc::new(MetaStore::open(&dir.join("meta")).expect("meta"));
    if meta.snapshot().database("db").is_none() {
        let spec = RetentionPolicySpec {
            shard_group_duration_ns: Some(DAY_NS),
            ..RetentionPolicySpec::default()
        };
        meta.create_database("db", &spec).expect("create");
    }
    let store = Store::open(
        StoreOptions {
            data_dir: dir.join("data"),
            partitions: PARTITIONS,
            cache_snapshot_bytes: usize::MAX,
            cache_max_bytes: usize::MAX,
            read_only: false,
        },
        meta,
    )
    .expect("store");
    for (partition, record) in wal.lock().expect("wal").iter() {
        store.apply_record(*partition, record);
    }
    let weak = Arc::downgrade(&store);
    let checkpoint_wal = Arc::clone(wal);
    store.set_checkpointer(Arc::new(move || {
        let Some(store) = weak.upgrade() else {
            return Ok(());
        };
        let _guard = store.lock_checkpoints();
        for partition in 0..PARTITIONS {
            store.freeze_partition(partition);
        }
        store.write_snapshots()?;
        checkpoint_wal.lock().expect("wal").clear();
        Ok(())
    }));
    store
}

type Model = BTreeMap<(Vec<u8>, Vec<u8>), BTreeMap<i64, i64>>;

fn check(store: &Store, model: &Model, seed: u64, step: usize) {
    for series in SERIES {
        for field in FIELDS {
            let mut got: BTreeMap<i64, i64> = BTreeMap::new();
            for shard in store.shards_for(1, "autogen", i64::MIN, i64::MAX) {
                if let Some(column) = shard.read(series, field, i64::MIN, i64::MAX) {
                    let ColumnValues::Integer(values) = &column.values else {
                        panic!("seed {seed} step {step}: wrong type");
                    };
                    assert!(column.is_normal(), "seed {seed} step {step}: not normal");
                    got.extend(column.times.iter().copied().zip(values.iter().copied()));
                }
            }
            let want = model
                .get(&(series.to_vec(), field.to_vec()))
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                got,
                want,
                "seed {seed} step {step}: {} {}",
                String::from_utf8_lossy(series),
                String::from_utf8_lossy(field)
            );
        }
    }
}

/// The summarized and edge reads are checked every this many steps (each check reads every
/// column over every range several ways; at every step they were most of the test's time).
const SUMMARY_CHECK_EVERY_STEPS: usize = 4;

/// Ranges the summarized and edge reads are checked over: everything, and windows that cut
/// through blocks at both ends.
const CHECKED_RANGES: [(i64, i64); 4] = [
    (i64::MIN, i64::MAX),
    (5, 35),
    (DAY_NS + 200, DAY_NS + 700),
    (2 * DAY_NS - 3, 2 * DAY_NS + 350),
];

/// `Shard::read_summarized` and `Shard::read_edge` against `Shard::read`: the decoded points
/// and the summarized blocks together are exactly the points of the read, each once, and
/// the edge points are the read's first and last.
/// Returns the number of summaries seen (so the test can tell it checked some).
fn check_summaries(store: &Store, seed: u64, step: usize) -> usize {
    let mut summaries_seen = 0;
    use super::summary::Edge;
    let context = |what: &str| format!("seed {seed} step {step}: {what}");
    for shard in store.shards_for(1, "autogen", i64::MIN, i64::MAX) {
        for (series, field, range) in SERIES
            .iter()
            .flat_map(|s| FIELDS.iter().map(move |f| (*s, *f)))
            .flat_map(|(s, f)| CHECKED_RANGES.iter().map(move |r| (s, f, *r)))
        {
            let full = shard.read(series, field, range.0, range.1);
            let full_times = full.as_ref().map(|c| c.times.clone()).unwrap_or_default();
            for window in [1i64, 16, 1 << 40] {
                let one_window = |a: i64, b: i64| a.div_euclid(window) == b.div_euclid(window);
                let accept = |s: &super::summary::BlockSummary| one_window(s.min_time, s.max_time);
                let read = shard.read_summarized(series, field, range, &accept);
                let mut times: Vec<i64> = read
                    .decoded
                    .as_ref()
                    .map(|c| c.times.clone())
                    .unwrap_or_default();
                if let Some(decoded) = &read.decoded {
                    let full = full.as_ref().expect("decoded points without a read");
                    for (index, time) in decoded.times.iter().enumerate() {
                        let at = full.times.binary_search(time).expect("decoded point");
                        assert_eq!(
                            decoded.values.view().range(index, index + 1).to_values(),
                            full.values.view().range(at, at + 1).to_values(),
                            "{}",
                            context("decoded value")
                        );
                    }
                }
                summaries_seen += read.summaries.len();
                for summary in &read.summaries {
                    assert!(one_window(summary.min_time, summary.max_time));
                    let inside: Vec<i64> = full_times
                        .iter()
                        .copied()
                        .filter(|t| (summary.min_time..=summary.max_time).contains(t))
                        .collect();
                    assert_eq!(inside.len() as u64, summary.count, "{}", context("count"));
                    assert_eq!(inside.first(), Some(&summary.min_time));
                    assert_eq!(inside.last(), Some(&summary.max_time));
                    if let (Some(stats), Some(full)) = (summary.stats, &full) {
                        // The statistics are those of the merged read's points.
                        let start = full.times.partition_point(|t| *t < summary.min_time);
                        let end = start + inside.len();
                        let expected = crate::tsm::BlockStats::of(full.view(), start, end);
                        assert_eq!(Some(stats), expected, "{}", context("stats"));
                        assert_eq!(summary.field_type, full.field_type());
                    }
                    times.extend(inside);
                }
                times.sort_unstable();
                assert_eq!(times, full_times, "{}", context("summarized points"));
            }
            for edge in [Edge::First, Edge::Last] {
                let got = shard.read_edge(series, field, range, edge);
                let want = full.as_ref().map(|c| {
                    let index = if edge == Edge::First { 0 } else { c.len() - 1 };
                    (
                        c.times[index],
                        c.values.view().range(index, index + 1).to_values(),
                    )
                });
                let got = got.map(|c| {
                    assert_eq!(c.len(), 1, "{}", context("edge of one point"));
                    (c.times[0], c.values.view().to_values())
                });
                assert_eq!(got, want, "{}", context(&format!("{edge:?}")));
            }
        }
    }
    summaries_seen
}

/// Adds field `field` = `value` to the point `builder` is on, and to the model.
fn push_field(
    builder: &mut RecordBuilder,
    model: &mut Model,
    series: &[u8],
    field: &[u8],
    time: i64,
    value: i64,
) {
    builder.push_field(field, StoredValue::Integer(value));
    model
        .entry((series.to_vec(), field.to_vec()))
        .or_default()
        .insert(time, value);
}

/// Applies the record `builder` holds to `store` and appends it to the simulated WAL.
fn apply(store: &Store, wal: &Wal, partition: usize, builder: RecordBuilder) {
    let record = builder.finish();
    store.apply_record(partition, &record);
    wal.lock().expect("wal").push((partition, record));
}

/// Returns the number of summarized blocks the checks saw.
fn run(seed: u64, steps: usize) -> usize {
    let mut summaries_seen = 0;
    let dir = std::env::temp_dir().join(format!("sluice-model-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wal: Wal = Arc::default();
    let mut store = open(&dir, &wal);
    let mut model: Model = BTreeMap::new();
    let mut rng = Rng(seed | 1);
    let mut value = 0i64;
    for step in 0..steps {
        match rng.below(20) {
            0..=10 => {
                // A write of a few points, times over three days (three shards).
                let mut records: Vec<Option<RecordBuilder>> =
                    (0..PARTITIONS).map(|_| None).collect();
                for _ in 0..1 + rng.below(30) {
                    let series = SERIES[rng.below(SERIES.len() as u64) as usize];
                    let time = rng.below(3) as i64 * DAY_NS + rng.below(40) as i64;
                    let partition = partition_of(series);
                    let builder = records[partition]
                        .get_or_insert_with(|| RecordBuilder::new(1, b"autogen", 256));
                    builder.begin_point(series, time);
                    for field in FIELDS {
                        if rng.below(3) > 0 {
                            value += 1;
                            push_field(builder, &mut model, series, field, time, value);
                        }
                    }
                }
                eprintln!("{step}: write");
                for (partition, builder) in records.into_iter().enumerate() {
                    if let Some(builder) = builder {
                        apply(&store, &wal, partition, builder);
                    }
                }
            }
            11 => {
                // A run of one series: enough points for blocks a merge may copy whole, over
                // times that other runs of it may or may not overlap.
                let series = SERIES[rng.below(SERIES.len() as u64) as usize];
                let partition = partition_of(series);
                let day = rng.below(3) as i64 * DAY_NS;
                let start = rng.below(1000) as i64;
                let length = 100 + rng.below(300) as i64;
                let mut builder = RecordBuilder::new(1, b"autogen", 1 << 16);
                for time in (day + start..day + start + length).step_by(1 + rng.below(2) as usize) {
                    builder.begin_point(series, time);
                    for field in FIELDS {
                        value += 1;
                        push_field(&mut builder, &mut model, series, field, time, value);
                    }
                }
                eprintln!("{step}: run of {length} from {start}");
                apply(&store, &wal, partition, builder);
            }
            12 | 13 => {
                eprintln!("{step}: checkpoint");
                store.checkpoint().expect("checkpoint")
            }
            14 | 15 => {
                eprintln!("{step}: compact");
                store.compact(0, &mut |_| {}, &|| false)
            }
            16 => {
                let index = store.series_index(1).expect("index");
                let series = SERIES[rng.below(SERIES.len() as u64) as usize];
                let Some(id) = index.id_of(series) else {
                    continue;
                };
                let mut ids = roaring::RoaringBitmap::new();
                ids.insert(id);
                let min = rng.below(3) as i64 * DAY_NS + rng.below(40) as i64 - 20;
                let max = min + rng.below(DAY_NS as u64 + 40) as i64;
                eprintln!(
                    "{step}: delete {} [{min}, {max}]",
                    String::from_utf8_lossy(series)
                );
                store.delete_points(1, &ids, min, max).expect("delete");
                for field in FIELDS {
                    if let Some(points) = model.get_mut(&(series.to_vec(), field.to_vec())) {
                        points.retain(|t, _| *t < min || *t > max);
                    }
                }
            }
            _ => {
                // Crash: forget everything in memory; reopen from disk and the WAL.
                eprintln!("{step}: crash");
                drop(store);
                store = open(&dir, &wal);
            }
        }
        check(&store, &model, seed, step);
        if step % SUMMARY_CHECK_EVERY_STEPS == 0 {
            summaries_seen += check_summaries(&store, seed, step);
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    summaries_seen
}

#[test]
fn engine_matches_a_btreemap_model() {
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut summaries_seen = 0;
    for round in 0..6u64 {
        let seed = base.wrapping_add(round.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        eprintln!("engine model seed {seed}");
        summaries_seen += run(seed, 300);
    }
    assert!(summaries_seen > 0, "no block was ever summarized");
    eprintln!("{summaries_seen} summarized blocks checked");
}

#[test]
fn delete_survives_a_crash() {
    let dir = std::env::temp_dir().join(format!("sluice-model-del-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wal: Wal = Arc::default();
    let store = open(&dir, &wal);
    let mut builder = RecordBuilder::new(1, b"autogen", 64);
    builder.begin_point(b"cpu,host=b", 5);
    builder.push_field(b"v", StoredValue::Integer(1));
    let record = builder.finish();
    let partition = partition_of(b"cpu,host=b");
    store.apply_record(partition, &record);
    wal.lock().expect("wal").push((partition, record));
    let index = store.series_index(1).expect("index");
    let mut ids = roaring::RoaringBitmap::new();
    ids.insert(index.id_of(b"cpu,host=b").expect("id"));
    store.delete_points(1, &ids, 0, 10).expect("delete");
    assert!(wal.lock().expect("wal").is_empty());
    let files: Vec<_> = std::fs::read_dir(dir.join("data"))
        .expect("data")
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .collect();
    eprintln!("{files:?}");
    drop(store);
    let store = open(&dir, &wal);
    let mut model = Model::new();
    model.insert((b"cpu,host=b".to_vec(), b"v".to_vec()), BTreeMap::new());
    check(&store, &model, 0, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn retention_deletes_expired_shard_groups_and_their_files() {
    let dir = std::env::temp_dir().join(format!("sluice-retention-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let meta = Arc::new(MetaStore::open(&dir.join("meta")).expect("meta"));
    const HOUR_NS: i64 = 3_600_000_000_000;
    let spec = RetentionPolicySpec {
        duration_ns: Some(HOUR_NS),
        ..RetentionPolicySpec::default()
    };
    meta.create_database("db", &spec).expect("create");
    let store = Store::open(
        StoreOptions {
            data_dir: dir.join("data"),
            partitions: 1,
            cache_snapshot_bytes: usize::MAX,
            cache_max_bytes: usize::MAX,
            read_only: false,
        },
        Arc::clone(&meta),
    )
    .expect("store");
    let now = sluice_model::time::now_ns();
    let mut builder = RecordBuilder::new(1, b"autogen", 64);
    builder.begin_point(b"cpu", now);
    builder.push_field(b"v", StoredValue::Integer(1));
    store.apply_record(0, &builder.finish());
    store.freeze_partition(0);
    store.write_snapshots().expect("snapshot");
    let shards = store.shards();
    assert_eq!(shards.len(), 1);
    let shard_dir = shards[0].directory().to_path_buf();
    assert!(shard_dir.is_dir());
    // Not yet expired: the group ends within the hour.
    store.enforce_retention(now);
    assert_eq!(store.shards().len(), 1);
    store.enforce_retention(now + 3 * HOUR_NS);
    assert!(store.shards().is_empty());
    assert!(!shard_dir.exists());
    let groups = &meta.snapshot().databases[0].retention_policies[0].shard_groups;
    assert!(groups.is_empty());
    assert_eq!(
        store
            .stats
            .shard_groups_expired
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A read racing snapshots sees every point applied before it: `Shard::read` takes the
/// cache before the file list, and a snapshot installs its file before it releases the
/// frozen maps, so a point is in one or the other (`sluice backup` and queries rely on it).
/// With the other order a read could take the file list before the install and the cache
/// after the release, and miss the snapshot's points.
#[test]
fn reads_racing_snapshots_see_every_point_applied_before_them() {
    const POINTS: i64 = 3_000;
    let dir = std::env::temp_dir().join(format!("sluice-model-race-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wal: Wal = Arc::default();
    let store = open(&dir, &wal);
    let series: &[u8] = b"cpu,host=a";
    let partition = partition_of(series);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let snapshotter = {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut snapshots = 0u64;
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                store.checkpoint().expect("checkpoint");
                snapshots += 1;
            }
            snapshots
        })
    };
    for time in 0..POINTS {
        let mut builder = RecordBuilder::new(1, b"autogen", 64);
        builder.begin_point(series, time);
        builder.push_field(b"v", StoredValue::Integer(time));
        store.apply_record(partition, &builder.finish());
        let seen: usize = store
            .shards_for(1, "autogen", i64::MIN, i64::MAX)
            .iter()
            .filter_map(|shard| shard.read(series, b"v", i64::MIN, i64::MAX))
            .map(|column| column.len())
            .sum();
        assert_eq!(seen as i64, time + 1, "a read missed points at time {time}");
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    let snapshots = snapshotter.join().expect("snapshotter");
    assert!(snapshots > 1, "{snapshots} snapshots raced the reads");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A column of one type in an older file and another in a newer one (the registry forgot
/// the type after a DROP): a merged read keeps the older file's type only, and the
/// summarized and edge reads count and pick from exactly those points.
#[test]
fn summarized_reads_keep_the_type_a_merged_read_keeps() {
    use super::summary::Edge;
    let dir = std::env::temp_dir().join(format!("sluice-model-types-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wal: Wal = Arc::default();
    let store = open(&dir, &wal);
    let series: &[u8] = b"cpu,host=a";
    let partition = partition_of(series);
    let write = |times: std::ops::Range<i64>, value: StoredValue<'static>| {
        let mut builder = RecordBuilder::new(1, b"autogen", 1 << 16);
        for time in times {
            builder.begin_point(series, time);
            builder.push_field(b"v", value);
        }
        apply(&store, &wal, partition, builder);
        store.checkpoint().expect("checkpoint");
    };
    write(0..300, StoredValue::Integer(1));
    write(1000..1300, StoredValue::Float(2.0));
    let shards = store.shards_for(1, "autogen", i64::MIN, i64::MAX);
    assert_eq!(shards.len(), 1);
    let shard = &shards[0];
    assert_eq!(shard.files().len(), 2);
    for range in [(i64::MIN, i64::MAX), (500, 2000)] {
        let full = shard.read(series, b"v", range.0, range.1);
        let read = shard.read_summarized(series, b"v", range, &|_| true);
        let counted = read.summaries.iter().map(|s| s.count).sum::<u64>()
            + read.decoded.as_ref().map_or(0, |c| c.len() as u64);
        assert_eq!(
            counted,
            full.as_ref().map_or(0, |c| c.len() as u64),
            "{range:?}"
        );
        for edge in [Edge::First, Edge::Last] {
            let got = shard.read_edge(series, b"v", range, edge);
            let want = full.as_ref().map(|c| {
                let index = if edge == Edge::First { 0 } else { c.len() - 1 };
                let mut point = c.clone();
                point.retain_time_range(c.times[index], c.times[index]);
                point
            });
            assert_eq!(got, want, "{range:?} {edge:?}");
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
