//! Fuzz target for the series log replay: any bytes after a valid header (and, separately,
//! any bytes as a whole file) must replay without panic, keep a prefix of the input, and
//! leave an index whose tables agree with each other and keep working.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::storage::series_index::{RoaringBitmap, SeriesIndex};

/// A valid series log header (magic, version 1, reserved).
const HEADER: &[u8; 16] = b"SLUICESI\x01\x00\x00\x00\x00\x00\x00\x00";

/// A key the replayed index is asked to create.
const NEW_KEY: &[u8] = b"fuzz,tag=value";

fn replay(file: &[u8]) {
    let Ok((index, report)) = SeriesIndex::from_log_bytes(file) else {
        return;
    };
    if report.valid_bytes > 0 {
        assert_eq!(report.valid_bytes + report.cut_bytes, file.len());
    }
    assert_eq!(report.damage.is_some(), report.cut_bytes > 0);
    if let Err(problem) = index.check_invariants() {
        panic!("inconsistent index after replay: {problem}");
    }
    assert_eq!(index.series_count(), report.live);
    // The replayed index keeps working: a new series gets the id after every replayed one.
    let existing = index.id_of(NEW_KEY);
    let id = index.get_or_create(NEW_KEY).expect("a valid key");
    assert_eq!(id, existing.unwrap_or(report.added));
    let everything: RoaringBitmap = (0..=id).collect();
    index.delete_series(&everything);
    assert_eq!(index.series_count(), 0);
    assert!(index.measurements().is_empty());
    if let Err(problem) = index.check_invariants() {
        panic!("inconsistent index after deleting everything: {problem}");
    }
}

/// Rewrites the checksum of every record that fits, so the fuzzer reaches the replay rules
/// (ids, kinds, keys) instead of stopping at checksums it cannot guess.
fn fix_checksums(file: &mut [u8]) {
    let mut offset = HEADER.len();
    while let Some(header) = file.get(offset..offset + 8) {
        let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let Some(payload) = file.get(offset + 8..offset + 8 + length) else {
            return;
        };
        let checksum = crc32fast::hash(payload).to_le_bytes();
        file[offset + 4..offset + 8].copy_from_slice(&checksum);
        offset += 8 + length;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut file = HEADER.to_vec();
    file.extend_from_slice(data);
    replay(&file);
    fix_checksums(&mut file);
    replay(&file);
    replay(data);
});
