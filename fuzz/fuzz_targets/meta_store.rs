//! Fuzz target for the meta store's file reader (`meta.db`: databases, retention policies,
//! shard groups, users and privileges, continuous queries): any bytes as a whole file, and
//! any bytes as the body of a file whose header (magic, a known version, length, checksum)
//! is made valid so the fuzzer reaches the body's rules. No panic, no allocation the input
//! can drive past its own size; whatever decodes encodes back to a file that decodes equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::meta::{decode_for_fuzzing, encode_for_fuzzing};

const MAGIC: &[u8; 8] = b"SLUICEMT";
/// Versions the reader knows (1: no shard groups, 2: no users, 3: no CQs, 4: no
/// subscriptions, 5: no cluster part, 6: current).
const VERSIONS: u32 = 6;

fn decode_and_round_trip(file: &[u8]) {
    let Ok(data) = decode_for_fuzzing(file) else {
        return;
    };
    let encoded = encode_for_fuzzing(&data);
    match decode_for_fuzzing(&encoded) {
        Ok(again) => assert_eq!(again, data, "decode(encode(x)) != x"),
        Err(error) => panic!("an encoded file does not decode: {error}"),
    }
}

fuzz_target!(|data: &[u8]| {
    decode_and_round_trip(data);
    let Some((&version_byte, body)) = data.split_first() else {
        return;
    };
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&(u32::from(version_byte) % VERSIONS + 1).to_le_bytes());
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    file.extend_from_slice(body);
    decode_and_round_trip(&file);
});
