//! Fuzz target for WAL replay and record decoding: any bytes, as a segment file, must be
//! scanned without panic, stop inside the input, and every record the scan accepts must decode
//! or be rejected cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut segment = b"SLUICEWL\x01\x00\x00\x00\x00\x00\x00\x00".to_vec();
    segment.extend_from_slice(data);
    let (_, end) = sluice::wal::scan_segment(&segment, &mut |record: &[u8]| {
        let _ = sluice::ingest::record::decode_record(record, |_, _| {});
    });
    assert!(end <= segment.len());
    let _ = sluice::ingest::record::decode_record(data, |_, _| {});
});
