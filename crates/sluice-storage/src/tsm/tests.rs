//! Tests of the column files: round trips of random columns (proptest), range reads, key
//! order, raw block copies, corruption (every byte flipped, every truncation), size.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::*;
use crate::codec;

type Key = (Vec<u8>, Vec<u8>);

/// A fresh directory for one test.
fn test_directory(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let unique = NEXT.fetch_add(1, AtomicOrdering::Relaxed);
    let directory =
        std::env::temp_dir().join(format!("sluice-tsm-{name}-{}-{unique}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// xorshift64*: deterministic randomness for the non-proptest tests (seed printed).
struct Random(u64);

impl Random {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Columns as comparable values: floats by their bits, so NaN and -0.0 compare exactly.
#[derive(Debug, PartialEq)]
enum Canonical {
    Float(Vec<u64>),
    Other(ColumnValues),
}

fn canonical(column: &Column) -> (Vec<i64>, Canonical) {
    let values = match &column.values {
        ColumnValues::Float(values) => {
            Canonical::Float(values.iter().map(|v| v.to_bits()).collect())
        }
        other => Canonical::Other(other.clone()),
    };
    (column.times.clone(), values)
}

fn write_file(path: &Path, columns: &BTreeMap<Key, Column>, block: usize) -> FileSummary {
    let mut writer = FileWriter::create(path, block).unwrap();
    for ((series_key, field), column) in columns {
        writer.write_column(series_key, field, column).unwrap();
    }
    writer.finish().unwrap()
}

/// Reads a whole column back block by block.
fn read_all(reader: &FileReader, entry: &ColumnEntry) -> Column {
    let mut column = Column::empty(entry.field_type);
    for meta in &entry.blocks {
        reader.read_block_into(meta, &mut column).unwrap();
    }
    column
}

fn filter_range(column: &Column, min_time: i64, max_time: i64) -> Column {
    let keep: Vec<bool> = column
        .times
        .iter()
        .map(|&time| min_time <= time && time <= max_time)
        .collect();
    fn pick<T: Clone>(values: &[T], keep: &[bool]) -> Vec<T> {
        values
            .iter()
            .zip(keep)
            .filter(|(_, &kept)| kept)
            .map(|(value, _)| value.clone())
            .collect()
    }
    let values = match &column.values {
        ColumnValues::Float(values) => ColumnValues::Float(pick(values, &keep)),
        ColumnValues::Integer(values) => ColumnValues::Integer(pick(values, &keep)),
        ColumnValues::Unsigned(values) => ColumnValues::Unsigned(pick(values, &keep)),
        ColumnValues::Boolean(values) => ColumnValues::Boolean(pick(values, &keep)),
        ColumnValues::String(values) => ColumnValues::String(pick(values, &keep)),
    };
    Column {
        times: pick(&column.times, &keep),
        values,
    }
}

fn float_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (-100_000i64..100_000).prop_map(|cents| cents as f64 / 100.0),
        Just(f64::NAN),
        Just(-0.0),
        Just(f64::INFINITY),
    ]
}

fn values_strategy(length: usize) -> impl Strategy<Value = ColumnValues> {
    prop_oneof![
        vec(float_strategy(), length).prop_map(ColumnValues::Float),
        vec(any::<i64>(), length).prop_map(ColumnValues::Integer),
        vec(any::<u64>(), length).prop_map(ColumnValues::Unsigned),
        vec(any::<bool>(), length).prop_map(ColumnValues::Boolean),
        // Empty strings and non-UTF-8 bytes included.
        vec(vec(any::<u8>(), 0..12), length).prop_map(ColumnValues::String),
    ]
}

fn times_strategy(length: usize) -> impl Strategy<Value = Vec<i64>> {
    let step = prop_oneof![Just(1i64), 1i64..1_000, Just(10_000_000_000i64)];
    (
        -1_000_000_000_000_000i64..1_000_000_000_000_000,
        vec(step, length),
    )
        .prop_map(|(start, steps)| {
            steps
                .iter()
                .scan(start, |time, step| {
                    *time += step;
                    Some(*time)
                })
                .collect()
        })
}

/// A column of 1, N-1, N, N+1 or any up to 3N+1 values, N the block size.
fn column_strategy(block: usize) -> impl Strategy<Value = Column> {
    prop_oneof![
        Just(1usize),
        Just(block.saturating_sub(1).max(1)),
        Just(block),
        Just(block + 1),
        1..=3 * block + 1,
    ]
    .prop_flat_map(|length| (times_strategy(length), values_strategy(length)))
    .prop_map(|(times, values)| Column { times, values })
}

fn file_strategy() -> impl Strategy<Value = (usize, BTreeMap<Key, Column>)> {
    (1usize..40).prop_flat_map(|block| {
        let key = (vec(any::<u8>(), 0..6), vec(any::<u8>(), 0..4));
        (Just(block), btree_map(key, column_strategy(block), 1..8))
    })
}

/// Every way of reading the file agrees with `columns`.
fn check_reader(reader: &FileReader, columns: &BTreeMap<Key, Column>, block: usize) {
    assert_eq!(reader.column_count(), columns.len());
    let total: usize = columns.values().map(Column::len).sum();
    assert_eq!(reader.value_count(), total as u64);
    let listed: Vec<Key> = reader
        .columns()
        .map(|(series_key, field, _)| (series_key.to_vec(), field.to_vec()))
        .collect();
    assert_eq!(listed, columns.keys().cloned().collect::<Vec<_>>());
    for ((series_key, field), column) in columns {
        let entry = reader.find(series_key, field).expect("column present");
        assert_eq!(entry.field_type, column.field_type());
        assert_eq!(entry.blocks.len(), column.len().div_ceil(block));
        assert!(entry.blocks.iter().all(|meta| meta.count as usize <= block));
        assert_eq!(canonical(&read_all(reader, &entry)), canonical(column));
        for meta in &entry.blocks {
            let alone = reader.read_block(meta).unwrap();
            assert_eq!(alone.len(), meta.count as usize);
        }
        let first = column.times[0];
        let last = column.times[column.len() - 1];
        let middle = column.times[column.len() / 2];
        for (min_time, max_time) in [
            (i64::MIN, i64::MAX),
            (first, last),
            (middle, last.saturating_add(1)),
            (first.saturating_sub(1), middle),
            (middle, middle),
            (middle.saturating_add(1), middle),
            (last.saturating_add(1), i64::MAX),
        ] {
            let read = reader
                .read_column_range(series_key, field, min_time, max_time)
                .unwrap()
                .unwrap();
            assert_eq!(
                canonical(&read),
                canonical(&filter_range(column, min_time, max_time)),
                "range {min_time}..={max_time}"
            );
        }
    }
    for (series_key, _) in columns.keys() {
        let prefix = &series_key[..series_key.len().min(2)];
        let expected: Vec<&Key> = columns
            .keys()
            .filter(|key| key.0.starts_with(prefix))
            .collect();
        let found: Vec<Key> = reader
            .columns_with_prefix(prefix)
            .map(|(series_key, field, _)| (series_key.to_vec(), field.to_vec()))
            .collect();
        assert_eq!(found.iter().collect::<Vec<_>>(), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_columns_round_trip((block, columns) in file_strategy(),
                                 absent in (vec(any::<u8>(), 0..6), vec(any::<u8>(), 0..4))) {
        let directory = test_directory("proptest");
        let path = directory.join("file.tsm");
        let summary = write_file(&path, &columns, block);
        let reader = FileReader::open(&path).unwrap();
        assert_eq!(summary.size_bytes, reader.size_bytes());
        assert_eq!(summary.column_count, columns.len() as u64);
        let min_time = columns.values().map(|column| column.times[0]).min().unwrap();
        assert_eq!((summary.min_time, reader.min_time()), (min_time, min_time));
        check_reader(&reader, &columns, block);
        let in_memory =
            FileReader::from_bytes(std::fs::read(&path).unwrap(), Path::new("memory")).unwrap();
        check_reader(&in_memory, &columns, block);
        if !columns.contains_key(&absent) {
            prop_assert!(reader.find(&absent.0, &absent.1).is_none());
            prop_assert!(reader.read_column_range(&absent.0, &absent.1, i64::MIN, i64::MAX)
                .unwrap().is_none());
        }
        std::fs::remove_dir_all(&directory).unwrap();
    }
}

fn sample_columns() -> BTreeMap<Key, Column> {
    let mut columns = BTreeMap::new();
    let times: Vec<i64> = (0..25).map(|i| 1_000 + i * 10).collect();
    let key = |series: &str, field: &str| (series.as_bytes().to_vec(), field.as_bytes().to_vec());
    columns.insert(
        key("cpu,host=a", "usage"),
        Column {
            times: times.clone(),
            values: ColumnValues::Float((0..25).map(|i| i as f64 * 0.25).collect()),
        },
    );
    columns.insert(
        key("cpu,host=a", "count"),
        Column {
            times: times.clone(),
            values: ColumnValues::Integer((0..25).map(|i| i * 7 - 50).collect()),
        },
    );
    columns.insert(
        key("cpu,host=b", "up"),
        Column {
            times: times[..9].to_vec(),
            values: ColumnValues::Boolean((0..9).map(|i| i % 3 == 0).collect()),
        },
    );
    columns.insert(
        key("disk,path=/", "free"),
        Column {
            times: times[..12].to_vec(),
            values: ColumnValues::Unsigned((0..12).map(|i| u64::MAX - i).collect()),
        },
    );
    columns.insert(
        key("disk,path=/", "label"),
        Column {
            times: times[..11].to_vec(),
            values: ColumnValues::String(
                (0..11)
                    .map(|i| vec![b'x'; i % 4].into_iter().chain([0xff]).collect())
                    .collect(),
            ),
        },
    );
    columns
}

const SAMPLE_BLOCK: usize = 10;

#[test]
fn sample_file_round_trips_and_finds_by_prefix() {
    let directory = test_directory("sample");
    let path = directory.join("sample.tsm");
    let columns = sample_columns();
    write_file(&path, &columns, SAMPLE_BLOCK);
    let reader = FileReader::open(&path).unwrap();
    check_reader(&reader, &columns, SAMPLE_BLOCK);
    let cpu: Vec<&[u8]> = reader
        .columns_with_prefix(b"cpu,")
        .map(|(_, field, _)| field)
        .collect();
    assert_eq!(cpu, [&b"count"[..], b"usage", b"up"]);
    assert_eq!(reader.columns_with_prefix(b"mem,").count(), 0);
    assert_eq!(reader.columns_with_prefix(b"zzz").count(), 0);
    assert!(reader.find(b"cpu,host=a", b"usag").is_none());
    assert!(reader.find(b"cpu,host=", b"usage").is_none());
    assert!(reader.find(b"", b"").is_none());
    assert!(reader.find(b"\xff", b"").is_none());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn many_columns_found_by_binary_search() {
    let directory = test_directory("many");
    let path = directory.join("many.tsm");
    let mut writer = FileWriter::create(&path, DEFAULT_MAX_VALUES_PER_BLOCK).unwrap();
    let column = |value| Column {
        times: vec![value],
        values: ColumnValues::Integer(vec![value]),
    };
    for host in 0..3000i64 {
        let series_key = format!("m,host={:05}", host * 2);
        writer
            .write_column(series_key.as_bytes(), b"v", &column(host))
            .unwrap();
    }
    writer.finish().unwrap();
    let reader = FileReader::open(&path).unwrap();
    for host in 0..3000i64 {
        let present = format!("m,host={:05}", host * 2);
        let entry = reader.find(present.as_bytes(), b"v").unwrap();
        assert_eq!(reader.read_block(&entry.blocks[0]).unwrap(), column(host));
        let absent = format!("m,host={:05}", host * 2 + 1);
        assert!(reader.find(absent.as_bytes(), b"v").is_none());
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn extreme_times_round_trip() {
    let directory = test_directory("extreme");
    let path = directory.join("extreme.tsm");
    let mut columns = BTreeMap::new();
    columns.insert(
        (b"m".to_vec(), b"f".to_vec()),
        Column {
            times: vec![i64::MIN, -1, 0, i64::MAX],
            values: ColumnValues::Float(vec![f64::NAN, -0.0, f64::MIN_POSITIVE / 2.0, f64::MAX]),
        },
    );
    write_file(&path, &columns, 3);
    let reader = FileReader::open(&path).unwrap();
    check_reader(&reader, &columns, 3);
    assert_eq!((reader.min_time(), reader.max_time()), (i64::MIN, i64::MAX));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn keys_out_of_order_are_errors_and_leave_the_writer_usable() {
    let directory = test_directory("order");
    let path = directory.join("order.tsm");
    let mut writer = FileWriter::create(&path, 4).unwrap();
    let column = |times: Vec<i64>| Column {
        values: ColumnValues::Boolean(vec![true; times.len()]),
        times,
    };
    writer
        .write_column(b"b", b"f", &column(vec![1, 2]))
        .unwrap();
    assert!(matches!(
        writer.write_column(b"a", b"f", &column(vec![3])),
        Err(TsmError::KeyOrder { .. })
    ));
    assert!(matches!(
        writer.write_column(b"b", b"e", &column(vec![3])),
        Err(TsmError::KeyOrder { .. })
    ));
    // The same key may continue, but only after its last time and with its type.
    assert!(matches!(
        writer.write_column(b"b", b"f", &column(vec![2, 3])),
        Err(TsmError::InvalidColumn { .. })
    ));
    let integers = Column {
        times: vec![9],
        values: ColumnValues::Integer(vec![9]),
    };
    assert!(matches!(
        writer.write_column(b"b", b"f", &integers),
        Err(TsmError::InvalidColumn { .. })
    ));
    writer
        .write_column(b"b", b"f", &column(vec![3, 4, 5, 6, 7]))
        .unwrap();
    assert!(matches!(
        writer.write_column(b"c", b"f", &column(vec![2, 1])),
        Err(TsmError::InvalidColumn { .. })
    ));
    assert!(matches!(
        writer.write_column(b"c", b"f", &column(vec![])),
        Err(TsmError::InvalidColumn { .. })
    ));
    let mismatched = Column {
        times: vec![1, 2],
        values: ColumnValues::Boolean(vec![true]),
    };
    assert!(matches!(
        writer.write_column(b"c", b"f", &mismatched),
        Err(TsmError::InvalidColumn { .. })
    ));
    let long_key = vec![b'k'; KEY_LENGTH_MAX_BYTES + 1];
    assert!(matches!(
        writer.write_column(&long_key, b"f", &column(vec![1])),
        Err(TsmError::KeyTooLong { .. })
    ));
    writer.write_column(b"c", b"", &column(vec![-5])).unwrap();
    let summary = writer.finish().unwrap();
    assert_eq!(
        (
            summary.column_count,
            summary.value_count,
            summary.block_count
        ),
        (2, 8, 4)
    );
    let reader = FileReader::open(&path).unwrap();
    let entry = reader.find(b"b", b"f").unwrap();
    assert_eq!(read_all(&reader, &entry), column(vec![1, 2, 3, 4, 5, 6, 7]));
    // Appended as two write_column calls: blocks [1,2], [3..6], [7].
    let counts: Vec<u32> = entry.blocks.iter().map(|meta| meta.count).collect();
    assert_eq!(counts, [2, 4, 1]);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn bad_parameters_are_errors() {
    let directory = test_directory("parameters");
    for block in [0, codec::MAX_VALUES_PER_BLOCK + 1] {
        assert!(matches!(
            FileWriter::create(&directory.join("x.tsm"), block),
            Err(TsmError::InvalidParameter { .. })
        ));
    }
    assert!(matches!(
        FileWriter::create(&directory.join("missing/x.tsm"), 10),
        Err(TsmError::Io { .. })
    ));
    assert!(matches!(
        FileReader::open(&directory.join("missing.tsm")),
        Err(TsmError::Io { .. })
    ));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn temporary_file_is_removed_on_drop_and_renamed_on_finish() {
    let directory = test_directory("tmp");
    let path = directory.join("a.tsm");
    let temporary = directory.join("a.tsm.tmp");
    let mut writer = FileWriter::create(&path, 10).unwrap();
    writer
        .write_column(
            b"m",
            b"f",
            &sample_columns()[&(b"cpu,host=a".to_vec(), b"usage".to_vec())],
        )
        .unwrap();
    assert!(temporary.exists() && !path.exists());
    drop(writer);
    assert!(!temporary.exists() && !path.exists());
    let writer = FileWriter::create(&path, 10).unwrap();
    let summary = writer.finish().unwrap();
    assert!(!temporary.exists() && path.exists());
    assert_eq!(summary.size_bytes, std::fs::metadata(&path).unwrap().len());
    // An empty file is valid: no columns, the empty time range.
    let reader = FileReader::open(&path).unwrap();
    assert_eq!(reader.column_count(), 0);
    assert_eq!((reader.min_time(), reader.max_time()), (i64::MAX, i64::MIN));
    assert_eq!(reader.columns().count(), 0);
    assert!(reader.find(b"m", b"f").is_none());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn raw_block_copies_read_the_same() {
    let directory = test_directory("raw");
    let source_path = directory.join("source.tsm");
    let columns = sample_columns();
    write_file(&source_path, &columns, SAMPLE_BLOCK);
    let source = FileReader::open(&source_path).unwrap();
    let copy_path = directory.join("copy.tsm");
    let mut writer = FileWriter::create(&copy_path, 3).unwrap();
    for (series_key, field, entry) in source.columns() {
        for meta in &entry.blocks {
            let bytes = source.read_block_raw(meta).unwrap();
            writer
                .write_block_raw(series_key, field, entry.field_type, meta, bytes)
                .unwrap();
        }
    }
    // A decoded column may follow copied blocks of the same key.
    let extra = Column {
        times: vec![5_000, 5_001],
        values: ColumnValues::String(vec![b"late".to_vec(), Vec::new()]),
    };
    let label_key = (b"disk,path=/".to_vec(), b"label".to_vec());
    writer
        .write_column(&label_key.0, &label_key.1, &extra)
        .unwrap();
    writer.finish().unwrap();
    let copy = FileReader::open(&copy_path).unwrap();
    let mut expected = columns.clone();
    let label = expected.get_mut(&label_key).unwrap();
    label.times.extend_from_slice(&extra.times);
    if let (ColumnValues::String(values), ColumnValues::String(more)) =
        (&mut label.values, &extra.values)
    {
        values.extend_from_slice(more);
    }
    for ((series_key, field), column) in &expected {
        let entry = copy.find(series_key, field).unwrap();
        assert_eq!(canonical(&read_all(&copy, &entry)), canonical(column));
        let original = source.find(series_key, field).unwrap();
        for (copied, meta) in entry.blocks.iter().zip(&original.blocks) {
            assert_eq!(
                copy.read_block_raw(copied).unwrap(),
                source.read_block_raw(meta).unwrap()
            );
        }
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn raw_blocks_that_disagree_with_their_meta_are_refused() {
    let directory = test_directory("raw-bad");
    let source_path = directory.join("source.tsm");
    write_file(&source_path, &sample_columns(), SAMPLE_BLOCK);
    let source = FileReader::open(&source_path).unwrap();
    let entry = source.find(b"cpu,host=a", b"usage").unwrap();
    let meta = entry.blocks[0];
    let bytes = source.read_block_raw(&meta).unwrap().to_vec();
    let mut writer = FileWriter::create(&directory.join("copy.tsm"), 10).unwrap();
    let mut flipped = bytes.clone();
    flipped[3] ^= 1;
    let short = &bytes[..bytes.len() - 1];
    for (field_type, bytes) in [
        (FieldType::Integer, &bytes[..]),
        (FieldType::Float, &flipped[..]),
        (FieldType::Float, short),
    ] {
        assert!(matches!(
            writer.write_block_raw(b"k", b"f", field_type, &meta, bytes),
            Err(TsmError::InvalidBlock { .. })
        ));
    }
    writer
        .write_block_raw(b"k", b"f", FieldType::Float, &meta, &bytes)
        .unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
}

/// The file of `sample_columns` as bytes, with the byte range of every block.
fn sample_bytes() -> (Vec<u8>, Vec<(std::ops::Range<usize>, BlockMeta)>) {
    let directory = test_directory("sample-bytes");
    let path = directory.join("sample.tsm");
    write_file(&path, &sample_columns(), SAMPLE_BLOCK);
    let bytes = std::fs::read(&path).unwrap();
    let reader = FileReader::open(&path).unwrap();
    let blocks = reader
        .columns()
        .flat_map(|(_, _, entry)| entry.blocks)
        .map(|meta| {
            let start = meta.offset as usize;
            (start..start + meta.size as usize, meta)
        })
        .collect();
    std::fs::remove_dir_all(&directory).unwrap();
    (bytes, blocks)
}

/// Opens `bytes` and reads every block; returns the offsets of the blocks that failed, or
/// the open error.
fn open_and_read_everything(bytes: Vec<u8>) -> Result<Vec<u64>, TsmError> {
    let reader = FileReader::from_bytes(bytes, Path::new("mutated"))?;
    let mut failed = Vec::new();
    for (_, _, entry) in reader.columns() {
        for meta in &entry.blocks {
            match reader.read_block(meta) {
                Ok(column) => assert_eq!(column.len(), meta.count as usize),
                Err(TsmError::Corrupt { .. }) => failed.push(meta.offset),
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        let _ = reader.read_column_range(b"cpu,host=a", b"usage", 1_050, 1_150);
    }
    // `sluice verify`'s walk finds exactly the blocks a reader fails on.
    let mut checked_bad = Vec::new();
    let totals = reader.check_blocks(|bad| {
        assert!(
            matches!(bad.error, TsmError::Corrupt { offset, .. } if offset == bad.meta.offset),
            "{}",
            bad.error
        );
        checked_bad.push(bad.meta.offset);
    });
    assert_eq!(checked_bad, failed);
    assert_eq!(totals.bad_blocks, failed.len() as u64);
    assert_eq!(totals.values, reader.value_count());
    Ok(failed)
}

#[test]
fn every_flipped_byte_is_caught() {
    let (bytes, blocks) = sample_bytes();
    for position in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut mutated = bytes.clone();
            mutated[position] ^= mask;
            let in_block = blocks.iter().find(|(range, _)| range.contains(&position));
            match (open_and_read_everything(mutated), in_block) {
                // A block byte: the file opens, exactly that block fails.
                (Ok(failed), Some((_, meta))) => assert_eq!(failed, [meta.offset], "{position}"),
                (Ok(_), None) => panic!("flip of byte {position} ({mask:#x}) went unnoticed"),
                (Err(TsmError::Corrupt { .. }), None) => {}
                (Err(error), _) => panic!("byte {position}: {error}"),
            }
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    let (bytes, _) = sample_bytes();
    for length in 0..bytes.len() {
        let result = FileReader::from_bytes(bytes[..length].to_vec(), Path::new("cut"));
        assert!(
            matches!(result, Err(TsmError::Corrupt { .. })),
            "length {length}"
        );
    }
    // The same through a mapped file, for a few lengths (zero included: mmap refuses it).
    let directory = test_directory("truncated");
    for length in [0, 1, HEADER_SIZE_BYTES, bytes.len() / 2, bytes.len() - 1] {
        let path = directory.join("cut.tsm");
        std::fs::write(&path, &bytes[..length]).unwrap();
        assert!(
            matches!(FileReader::open(&path), Err(TsmError::Corrupt { .. })),
            "length {length}"
        );
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn random_garbage_never_panics() {
    let seed = 0x5eed_0f75_u64;
    println!("seed {seed:#x}");
    let mut random = Random(seed);
    let (bytes, _) = sample_bytes();
    for _ in 0..2000 {
        let mut mutated = bytes.clone();
        for _ in 0..=random.below(4) {
            let position = random.below(mutated.len() as u64) as usize;
            mutated[position] = random.next_u64() as u8;
        }
        let _ = open_and_read_everything(mutated);
    }
}

#[test]
fn readers_are_shared_between_threads() {
    let directory = test_directory("threads");
    let path = directory.join("shared.tsm");
    let columns = sample_columns();
    write_file(&path, &columns, SAMPLE_BLOCK);
    let reader = Arc::new(FileReader::open(&path).unwrap());
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let reader = Arc::clone(&reader);
            let columns = columns.clone();
            std::thread::spawn(move || check_reader(&reader, &columns, SAMPLE_BLOCK))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

/// Values per column and columns of the size check (the task's 8640 × 1000 scaled to 100).
const SIZE_CHECK_VALUES: usize = 8640;
const SIZE_CHECK_COLUMNS: usize = 100;
const SIZE_CHECK_INTERVAL_NS: i64 = 10_000_000_000;

#[test]
fn random_walk_costs_under_one_byte_per_value() {
    let seed = 0x2545_f491_u64;
    println!("seed {seed:#x}");
    let mut random = Random(seed);
    let directory = test_directory("size");
    let path = directory.join("walk.tsm");
    let mut writer = FileWriter::create(&path, DEFAULT_MAX_VALUES_PER_BLOCK).unwrap();
    let start = 1_700_000_000_000_000_000i64;
    let times: Vec<i64> = (0..SIZE_CHECK_VALUES as i64)
        .map(|i| start + i * SIZE_CHECK_INTERVAL_NS)
        .collect();
    for host in 0..SIZE_CHECK_COLUMNS {
        // Away from zero: a block holding -0.0 cannot use the decimal encoding (see
        // docs/FORMAT.md, "Cost, measured").
        let mut value = 50.0 + host as f64;
        let values = (0..SIZE_CHECK_VALUES)
            .map(|_| {
                value += (random.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                (value * 100.0).round() / 100.0
            })
            .collect();
        let column = Column {
            times: times.clone(),
            values: ColumnValues::Float(values),
        };
        let series_key = format!("cpu,host=server{host:03}");
        writer
            .write_column(series_key.as_bytes(), b"usage_user", &column)
            .unwrap();
    }
    let summary = writer.finish().unwrap();
    let bytes_per_value = summary.size_bytes as f64 / summary.value_count as f64;
    println!(
        "{bytes_per_value:.3} bytes/value ({} bytes)",
        summary.size_bytes
    );
    // Where the bytes go: blocks (codec columns + type byte + crc) versus index and footer.
    let reader = FileReader::open(&path).unwrap();
    let block_bytes: u64 = reader
        .columns()
        .flat_map(|(_, _, entry)| entry.blocks)
        .map(|meta| u64::from(meta.size))
        .sum();
    println!(
        "{} blocks: {:.3} bytes/value in blocks, {:.3} in index and footer",
        summary.block_count,
        block_bytes as f64 / summary.value_count as f64,
        (summary.size_bytes - block_bytes) as f64 / summary.value_count as f64
    );
    assert!(bytes_per_value < 1.0, "{bytes_per_value} bytes/value");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn released_pages_read_back_the_same() {
    let directory = test_directory("release");
    let path = directory.join("released.tsm");
    // Enough columns of enough values to span many pages.
    let mut columns = BTreeMap::new();
    for host in 0..40i64 {
        let times: Vec<i64> = (0..200).map(|i| host * 1_000_000 + i * 7).collect();
        let values = times.iter().map(|t| (*t as f64).sqrt()).collect();
        columns.insert(
            (format!("m,host={host:04}").into_bytes(), b"v".to_vec()),
            Column {
                times,
                values: ColumnValues::Float(values),
            },
        );
    }
    write_file(&path, &columns, SAMPLE_BLOCK);
    let reader = FileReader::open(&path).unwrap();
    check_reader(&reader, &columns, SAMPLE_BLOCK);
    let size = reader.size_bytes();
    assert!(size > 8 * 4096, "spans many pages: {size} bytes");
    // Whole, partial, unaligned, empty and out-of-bounds ranges.
    for (offset, length) in [
        (0, size),
        (1, size / 2),
        (size / 3, 5000),
        (0, 0),
        (size, u64::MAX),
    ] {
        reader.release_pages(offset, length);
        check_reader(&reader, &columns, SAMPLE_BLOCK);
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_spilled_index_writes_the_same_file() {
    let directory = test_directory("spill");
    let columns = sample_columns();
    let whole = directory.join("whole.tsm");
    write_file(&whole, &columns, SAMPLE_BLOCK);
    for threshold in [1, 100, 1000] {
        let spilled = directory.join(format!("spilled-{threshold}.tsm"));
        let mut writer = FileWriter::create(&spilled, SAMPLE_BLOCK)
            .unwrap()
            .with_index_spill_threshold(threshold);
        for ((series_key, field), column) in &columns {
            writer.write_column(series_key, field, column).unwrap();
        }
        writer.finish().unwrap();
        assert_eq!(
            std::fs::read(&spilled).unwrap(),
            std::fs::read(&whole).unwrap(),
            "threshold {threshold}"
        );
        check_reader(&FileReader::open(&spilled).unwrap(), &columns, SAMPLE_BLOCK);
    }
    // An abandoned writer leaves neither its file nor its spilled index behind.
    let abandoned = directory.join("abandoned.tsm");
    let mut writer = FileWriter::create(&abandoned, SAMPLE_BLOCK)
        .unwrap()
        .with_index_spill_threshold(1);
    for ((series_key, field), column) in columns.iter().take(3) {
        writer.write_column(series_key, field, column).unwrap();
    }
    drop(writer);
    let left: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("abandoned"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let names: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|name| !name.ends_with(".tmp")),
        "{names:?}"
    );
    std::fs::remove_dir_all(&directory).unwrap();
}

/// Numeric columns long enough for statistics (more than `BLOCK_STATS_MIN_MEAN_VALUES` a
/// block), over several aligned hours at 10 s, with extremes repeated (the first one counts).
fn stats_columns() -> BTreeMap<Key, Column> {
    let mut random = Random(0x5eed_57a7);
    let times: Vec<i64> = (0..2_000i64)
        .map(|i| 7_200_000_000_000 + i * 10_000_000_000)
        .collect();
    let key = |series: &str, field: &str| (series.as_bytes().to_vec(), field.as_bytes().to_vec());
    let mut columns = BTreeMap::new();
    let floats = (0..times.len())
        .map(|_| (random.below(2_001) as f64 - 1_000.0) / 8.0)
        .collect();
    let integers = (0..times.len())
        .map(|_| random.next_u64() as i64 >> random.below(60))
        .collect();
    let unsigned = (0..times.len()).map(|_| random.below(50)).collect();
    let strings = (0..times.len())
        .map(|i| vec![b'a' + (i % 7) as u8])
        .collect();
    for (field, values) in [
        ("f", ColumnValues::Float(floats)),
        ("i", ColumnValues::Integer(integers)),
        ("s", ColumnValues::String(strings)),
        ("u", ColumnValues::Unsigned(unsigned)),
    ] {
        let times = times.clone();
        columns.insert(key("m,h=a", field), Column { times, values });
    }
    columns
}

#[test]
fn block_stats_are_the_values_statistics() {
    let directory = test_directory("stats");
    let path = directory.join("stats.tsm");
    let columns = stats_columns();
    write_file(&path, &columns, DEFAULT_MAX_VALUES_PER_BLOCK);
    let reader = FileReader::open(&path).unwrap();
    for (series_key, field, entry) in reader.columns() {
        for meta in &entry.blocks {
            let block = reader.read_block(meta).unwrap();
            let expected = BlockStats::of(block.view(), 0, block.len());
            assert_eq!(meta.stats, expected, "{series_key:?} {field:?} {meta:?}");
            assert_eq!(meta.stats.is_some(), entry.field_type != FieldType::String);
        }
    }
    let totals = reader.check_blocks(|bad| panic!("bad block {bad:?}"));
    assert_eq!(totals.bad_blocks, 0);
    // By hand: floats sum in time order from 0.0, integers wrap, the first extreme counts.
    let column = Column {
        times: vec![10, 20, 30, 40],
        values: ColumnValues::Integer(vec![i64::MAX, 5, i64::MAX, -3]),
    };
    let stats = BlockStats::of(column.view(), 0, 4).unwrap();
    assert_eq!((stats.max_bits as i64, stats.max_at), (i64::MAX, 10));
    assert_eq!((stats.min_bits as i64, stats.min_at), (-3, 40));
    let sum = [5, i64::MAX, -3]
        .iter()
        .fold(i64::MAX, |s, v| s.wrapping_add(*v));
    assert_eq!(stats.sum_bits as i64, sum);
    let nan = Column {
        times: vec![1, 2],
        values: ColumnValues::Float(vec![1.0, f64::NAN]),
    };
    assert_eq!(BlockStats::of(nan.view(), 0, 2), None);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn aligned_blocks_end_at_the_hour_once_long_enough() {
    let directory = test_directory("aligned");
    let path = directory.join("aligned.tsm");
    let columns = stats_columns();
    let mut writer = FileWriter::create(&path, DEFAULT_MAX_VALUES_PER_BLOCK)
        .unwrap()
        .with_time_aligned_blocks();
    for ((series_key, field), column) in &columns {
        writer.write_column(series_key, field, column).unwrap();
    }
    writer.finish().unwrap();
    let reader = FileReader::open(&path).unwrap();
    let hour = |time: i64| time.div_euclid(BLOCK_TIME_ALIGNMENT_NS);
    for ((series_key, field), column) in &columns {
        let entry = reader.find(series_key, field).unwrap();
        // 10 s points from an aligned hour: every block is one whole hour (360 values), the
        // last what remains.
        for meta in &entry.blocks {
            assert_eq!(hour(meta.min_time), hour(meta.max_time), "{meta:?}");
        }
        assert_eq!(entry.blocks.len(), column.len().div_ceil(360));
        assert_eq!(canonical(&read_all(&reader, &entry)), canonical(column));
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

/// The bytes of `bytes` (a version-2 file) as version 1 wrote them: no entry flags, no
/// statistics.
fn as_version_1(bytes: &[u8]) -> Vec<u8> {
    let reader = FileReader::from_bytes(bytes.to_vec(), Path::new("v2")).unwrap();
    let footer_bytes: &[u8; FOOTER_SIZE_BYTES] =
        bytes[bytes.len() - FOOTER_SIZE_BYTES..].try_into().unwrap();
    let (footer, _) = format::Footer::decode(footer_bytes).unwrap();
    let mut out = bytes[..footer.index_offset as usize].to_vec();
    out[MAGIC.len()..HEADER_SIZE_BYTES].copy_from_slice(&1u32.to_le_bytes());
    let mut index = Vec::new();
    let mut offsets = Vec::new();
    for (series_key, field, entry) in reader.columns() {
        offsets.push(footer.index_offset + index.len() as u64);
        for key in [series_key, field] {
            index.extend_from_slice(&(key.len() as u16).to_le_bytes());
            index.extend_from_slice(key);
        }
        index.push(entry.field_type as u8);
        index.extend_from_slice(&(entry.blocks.len() as u32).to_le_bytes());
        for meta in &entry.blocks {
            format::put_block_meta(&mut index, meta, false);
        }
    }
    for offset in offsets {
        index.extend_from_slice(&offset.to_le_bytes());
    }
    let footer = format::Footer {
        index_length: index.len() as u64,
        ..footer
    };
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&index);
    hasher.update(&footer.checked_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&footer.encode(hasher.finalize()));
    out
}

#[test]
fn version_1_files_still_read() {
    let directory = test_directory("v1");
    let path = directory.join("v2.tsm");
    let mut columns = stats_columns();
    columns.extend(sample_columns());
    write_file(&path, &columns, DEFAULT_MAX_VALUES_PER_BLOCK);
    let version_1 = as_version_1(&std::fs::read(&path).unwrap());
    assert_eq!(
        &version_1[MAGIC.len()..HEADER_SIZE_BYTES],
        &1u32.to_le_bytes()
    );
    let reader = FileReader::from_bytes(version_1, Path::new("v1")).unwrap();
    assert_eq!(reader.column_count(), columns.len());
    for ((series_key, field), column) in &columns {
        let entry = reader.find(series_key, field).unwrap();
        assert!(entry.blocks.iter().all(|meta| meta.stats.is_none()));
        assert_eq!(canonical(&read_all(&reader, &entry)), canonical(column));
    }
    assert_eq!(reader.check_blocks(|bad| panic!("{bad:?}")).bad_blocks, 0);
    std::fs::remove_dir_all(&directory).unwrap();
}
