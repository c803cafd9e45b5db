//! Fuzz target for the storage column codecs: every decoder on arbitrary bytes (no panic,
//! output within MAX_VALUES_PER_BLOCK, bytes read within the input), then values derived from
//! the input round-tripped through every encoder, the fast one included (floats compared by
//! bits).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::storage::codec::{self, MAX_VALUES_PER_BLOCK, STRING_BLOCK_BYTES_MAX};

fn check_bounds(read: Result<usize, codec::CodecError>, src: &[u8], values: usize) {
    if let Ok(read) = read {
        assert!(read <= src.len(), "read {read} of {} bytes", src.len());
    }
    assert!(values <= MAX_VALUES_PER_BLOCK, "{values} values");
}

fn decode_everything(src: &[u8]) {
    let mut integers = Vec::new();
    check_bounds(
        codec::decode_integers(src, &mut integers),
        src,
        integers.len(),
    );
    let mut unsigned = Vec::new();
    check_bounds(
        codec::decode_unsigned(src, &mut unsigned),
        src,
        unsigned.len(),
    );
    let mut floats = Vec::new();
    check_bounds(codec::decode_floats(src, &mut floats), src, floats.len());
    let mut booleans = Vec::new();
    check_bounds(
        codec::decode_booleans(src, &mut booleans),
        src,
        booleans.len(),
    );
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    check_bounds(
        codec::decode_strings_into(src, &mut bytes, &mut ends),
        src,
        ends.len(),
    );
    assert!(bytes.len() <= STRING_BLOCK_BYTES_MAX);
}

fn words(data: &[u8]) -> Vec<u64> {
    data.chunks(8)
        .map(|chunk| {
            let mut array = [0u8; 8];
            array[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(array)
        })
        .collect()
}

fn round_trip_everything(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let raw = words(rest);
    // Small modes make the values compressible: deltas of the input bytes, decimals.
    let integers: Vec<i64> = match mode % 3 {
        0 => raw.iter().map(|&w| w as i64).collect(),
        1 => rest
            .iter()
            .scan(0i64, |sum, &b| {
                *sum += i64::from(b as i8);
                Some(*sum)
            })
            .collect(),
        _ => rest
            .iter()
            .map(|&b| i64::from(b) * 10_000_000_000)
            .collect(),
    };
    let mut encoded = Vec::new();
    codec::encode_integers(&integers, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        codec::decode_integers(&encoded, &mut decoded),
        Ok(encoded.len())
    );
    assert_eq!(decoded, integers);

    let unsigned: Vec<u64> = integers.iter().map(|&v| v as u64).collect();
    encoded.clear();
    codec::encode_unsigned(&unsigned, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        codec::decode_unsigned(&encoded, &mut decoded),
        Ok(encoded.len())
    );
    assert_eq!(decoded, unsigned);

    let floats: Vec<f64> = match mode % 4 {
        0 => raw.iter().map(|&w| f64::from_bits(w)).collect(),
        1 => integers.iter().map(|&m| m as f64 / 100.0).collect(),
        // Decimals with -0.0 mixed in (the 0x24 encoding's position list).
        2 => integers
            .iter()
            .map(|&m| if m % 5 == 0 { -0.0 } else { m as f64 / 100.0 })
            .collect(),
        _ => integers.iter().map(|&m| m as f64 * 0.1).collect(),
    };
    encoded.clear();
    codec::encode_floats(&floats, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        codec::decode_floats(&encoded, &mut decoded),
        Ok(encoded.len())
    );
    let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&decoded), bits(&floats));
    // The fast encoder (snapshots, low-level compactions) too, for floats and integers.
    let mut fast = codec::Encoder::fast();
    encoded.clear();
    fast.encode_floats(&floats, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        codec::decode_floats(&encoded, &mut decoded),
        Ok(encoded.len())
    );
    assert_eq!(bits(&decoded), bits(&floats));
    encoded.clear();
    fast.encode_integers(&integers, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        codec::decode_integers(&encoded, &mut decoded),
        Ok(encoded.len())
    );
    assert_eq!(decoded, integers);
    // The fast encoder remembers its last timestamp column: the same column again, another
    // one, then the first again must each encode as a fresh encoder encodes them.
    let mut sorted = integers.clone();
    sorted.sort_unstable();
    for times in [&sorted, &sorted, &integers, &sorted] {
        encoded.clear();
        fast.encode_timestamps(times, &mut encoded).unwrap();
        let mut fresh = Vec::new();
        codec::Encoder::fast()
            .encode_timestamps(times, &mut fresh)
            .unwrap();
        assert_eq!(encoded, fresh);
        let mut decoded = Vec::new();
        assert_eq!(
            codec::decode_timestamps(&encoded, &mut decoded),
            Ok(encoded.len())
        );
        assert_eq!(&decoded, times);
    }

    let booleans: Vec<bool> = rest.iter().map(|&b| b & (mode | 1) != 0).collect();
    encoded.clear();
    codec::encode_booleans(&booleans, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        codec::decode_booleans(&encoded, &mut decoded),
        Ok(encoded.len())
    );
    assert_eq!(decoded, booleans);

    let strings: Vec<&[u8]> = rest.split(|&b| b == mode).collect();
    encoded.clear();
    codec::encode_strings(&strings, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        codec::decode_strings(&encoded, &mut decoded),
        Ok(encoded.len())
    );
    assert_eq!(decoded, strings);
}

fuzz_target!(|data: &[u8]| {
    decode_everything(data);
    round_trip_everything(data);
});
