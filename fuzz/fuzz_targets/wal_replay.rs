//! Fuzz target for WAL replay and record decoding: any bytes, as a segment file, must be
//! scanned without panic, stop inside the input, and every record the scan accepts must decode
//! or be rejected cleanly. The resyncing scan replay uses must visit the same records as the
//! plain scan up to the first bad one, report stretches inside the input in order, and never
//! visit an empty record.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut segment = b"SLUICEWL\x01\x00\x00\x00\x00\x00\x00\x00".to_vec();
    segment.extend_from_slice(data);
    let mut plain = Vec::new();
    let (_, end) = sluice::wal::scan_segment(&segment, &mut |record: &[u8]| {
        plain.push(record.to_vec());
        let _ = sluice::ingest::record::decode_record(record, |_, _| {});
    });
    assert!(end <= segment.len());
    let mut resynced = Vec::new();
    let scan = sluice::wal::scan_segment_resyncing(&segment, &mut |record: &[u8]| {
        assert!(!record.is_empty(), "BUG: an empty record was visited");
        resynced.push(record.to_vec());
    });
    let plain_nonempty: Vec<&Vec<u8>> = plain.iter().take_while(|r| !r.is_empty()).collect();
    assert!(resynced.len() >= plain_nonempty.len());
    for (a, b) in plain_nonempty.iter().zip(&resynced) {
        assert_eq!(
            *a, b,
            "BUG: the resyncing scan disagrees before the first bad record"
        );
    }
    let mut last = 0;
    for stretch in &scan.damaged {
        assert!(stretch.start >= last && stretch.start < segment.len().max(1));
        if let Some(next) = stretch.resumed_at {
            assert!(next > stretch.start && next < segment.len());
            last = next;
        }
    }
    let _ = sluice::ingest::record::decode_record(data, |_, _| {});
});
