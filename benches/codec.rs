//! Storage column codec benchmark: encode/decode throughput and bits per value on typical
//! columns, printed as a table. Run with `cargo bench --bench codec`.
//!
//! Each data set is 100 blocks (100 hosts) of 1000 values, generated from a fixed seed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use sluice::storage::codec::{self, Encoder};

/// Values per block, as the engine is expected to write them.
const VALUES_PER_BLOCK: usize = 1000;
/// Blocks per data set (one per host).
const BLOCKS: usize = 100;
/// Minimum measuring time per row and direction.
const MEASURE_TIME: Duration = Duration::from_millis(300);
/// Sample interval of the timestamp column.
const INTERVAL_NS: i64 = 10_000_000_000;

/// xorshift64*: a small deterministic generator.
struct Random(u64);

impl Random {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn random_walks(random: &mut Random) -> Vec<Vec<f64>> {
    (0..BLOCKS)
        .map(|host| {
            let mut value = 20.0 + host as f64;
            (0..VALUES_PER_BLOCK)
                .map(|_| {
                    value += random.next_f64() - 0.5;
                    value
                })
                .collect()
        })
        .collect()
}

/// Times `run` over all blocks until [`MEASURE_TIME`] passes; returns values per second.
fn values_per_second(blocks: usize, mut run: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < MEASURE_TIME {
        run();
        rounds += 1;
    }
    (rounds as f64 * (blocks * VALUES_PER_BLOCK) as f64) / start.elapsed().as_secs_f64()
}

/// Encodes every block into one buffer each; returns the buffers.
fn encode_all<T>(blocks: &[Vec<T>], encode: &mut impl FnMut(&[T], &mut Vec<u8>)) -> Vec<Vec<u8>> {
    blocks
        .iter()
        .map(|block| {
            let mut encoded = Vec::new();
            encode(block, &mut encoded);
            encoded
        })
        .collect()
}

fn report<T, U: Default>(
    name: &str,
    blocks: &[Vec<T>],
    mut encode: impl FnMut(&[T], &mut Vec<u8>),
    mut decode: impl FnMut(&[u8], &mut Vec<U>),
) -> usize {
    let encoded = encode_all(blocks, &mut encode);
    let total_bytes: usize = encoded.iter().map(Vec::len).sum();
    let values = (blocks.len() * VALUES_PER_BLOCK) as f64;
    let mut scratch = Vec::with_capacity(blocks.len() * VALUES_PER_BLOCK);
    let encode_rate = values_per_second(blocks.len(), || {
        let mut buffer = Vec::new();
        for block in blocks {
            buffer.clear();
            encode(block, &mut buffer);
            black_box(&buffer);
        }
    });
    let decode_rate = values_per_second(blocks.len(), || {
        for bytes in &encoded {
            scratch.clear();
            decode(bytes, &mut scratch);
            black_box(&scratch);
        }
    });
    let tag = encoded
        .first()
        .and_then(|e| e.first())
        .copied()
        .unwrap_or(0);
    println!(
        "{name:<34} {:>10.1} {:>10.1} {:>9.2} {:>16}",
        encode_rate / 1e6,
        decode_rate / 1e6,
        total_bytes as f64 * 8.0 / values,
        codec::encoding_name(tag).unwrap_or("?"),
    );
    total_bytes
}

fn main() {
    let mut random = Random(0x5eed_5eed_5eed_5eed);
    let timestamps: Vec<Vec<i64>> = (0..BLOCKS)
        .map(|block| {
            let start = 1_600_000_000_000_000_000 + (block * VALUES_PER_BLOCK) as i64 * INTERVAL_NS;
            (0..VALUES_PER_BLOCK as i64)
                .map(|i| start + i * INTERVAL_NS)
                .collect()
        })
        .collect();
    let jittered: Vec<Vec<i64>> = timestamps
        .iter()
        .map(|block| {
            block
                .iter()
                .map(|t| t + (random.next_u64() % 1000) as i64 * 1000)
                .collect()
        })
        .collect();
    let walks = random_walks(&mut random);
    let walks_2dp: Vec<Vec<f64>> = walks
        .iter()
        .map(|block| block.iter().map(|v| (v * 100.0).round() / 100.0).collect())
        .collect();
    let counters: Vec<Vec<i64>> = (0..BLOCKS)
        .map(|_| {
            let mut total = 0i64;
            (0..VALUES_PER_BLOCK)
                .map(|_| {
                    total += (random.next_u64() % 1000) as i64;
                    total
                })
                .collect()
        })
        .collect();
    let booleans: Vec<Vec<bool>> = (0..BLOCKS)
        .map(|_| {
            let mut state = false;
            (0..VALUES_PER_BLOCK)
                .map(|_| {
                    state ^= random.next_u64() % 20 == 0;
                    state
                })
                .collect()
        })
        .collect();
    let statuses: [&[u8]; 5] = [
        b"ok",
        b"degraded",
        b"ok",
        b"maintenance window",
        b"critical",
    ];
    let strings: Vec<Vec<&[u8]>> = (0..BLOCKS)
        .map(|_| {
            (0..VALUES_PER_BLOCK)
                .map(|_| statuses[(random.next_u64() % statuses.len() as u64) as usize])
                .collect()
        })
        .collect();

    let mut encoder = Encoder::new();
    println!(
        "{:<34} {:>10} {:>10} {:>9} {:>16}",
        "column (100 blocks × 1000 values)", "enc Mv/s", "dec Mv/s", "bits/val", "encoding[0]"
    );
    let mut timestamps_encoder = Encoder::new();
    let timestamp_bytes = report(
        "timestamps, regular 10 s",
        &timestamps,
        |v, dst| {
            let _ = timestamps_encoder.encode_timestamps(v, dst);
        },
        |src, dst| {
            let _ = codec::decode_timestamps(src, dst);
        },
    );
    report(
        "timestamps, 10 s ± 1 ms jitter",
        &jittered,
        |v, dst| {
            let _ = encoder.encode_timestamps(v, dst);
        },
        |src, dst| {
            let _ = codec::decode_timestamps(src, dst);
        },
    );
    let walk_bytes = report(
        "floats, random walk, full precision",
        &walks,
        |v, dst| {
            let _ = encoder.encode_floats(v, dst);
        },
        |src, dst| {
            let _ = codec::decode_floats(src, dst);
        },
    );
    // What snapshots and low-level compactions use: Gorilla or raw only.
    let mut fast_encoder = Encoder::fast();
    report(
        "floats, random walk, fast encoder",
        &walks,
        |v, dst| {
            let _ = fast_encoder.encode_floats(v, dst);
        },
        |src, dst| {
            let _ = codec::decode_floats(src, dst);
        },
    );
    let walk_2dp_bytes = report(
        "floats, random walk, 2 decimals",
        &walks_2dp,
        |v, dst| {
            let _ = encoder.encode_floats(v, dst);
        },
        |src, dst| {
            let _ = codec::decode_floats(src, dst);
        },
    );
    report(
        "integers, counters (+0..999)",
        &counters,
        |v, dst| {
            let _ = encoder.encode_integers(v, dst);
        },
        |src, dst| {
            let _ = codec::decode_integers(src, dst);
        },
    );
    report(
        "booleans, 5% flips",
        &booleans,
        |v, dst| {
            let _ = encoder.encode_booleans(v, dst);
        },
        |src, dst| {
            let _ = codec::decode_booleans(src, dst);
        },
    );
    let mut string_bytes = Vec::new();
    report(
        "strings, 5 statuses",
        &strings,
        |v, dst| {
            let _ = encoder.encode_strings(v, dst);
        },
        |src, ends: &mut Vec<usize>| {
            string_bytes.clear();
            let _ = codec::decode_strings_into(src, &mut string_bytes, ends);
        },
    );

    let values = (BLOCKS * VALUES_PER_BLOCK) as f64;
    let gorilla = |blocks: &[Vec<f64>]| {
        blocks
            .iter()
            .map(|b| codec::gorilla_size_bytes(b))
            .sum::<usize>() as f64
            * 8.0
            / values
    };
    println!();
    println!(
        "Gorilla XOR alone (TSM's float encoding): full precision {:.2} bits/value (ours {:.2}), \
         2 decimals {:.2} bits/value (ours {:.2})",
        gorilla(&walks),
        walk_bytes as f64 * 8.0 / values,
        gorilla(&walks_2dp),
        walk_2dp_bytes as f64 * 8.0 / values,
    );
    println!(
        "10 s timestamps + values: 2 decimals {:.3} bytes/value, full precision {:.3} bytes/value",
        (timestamp_bytes + walk_2dp_bytes) as f64 / values,
        (timestamp_bytes + walk_bytes) as f64 / values,
    );
}
