//! Which partition owns a series: the one routing rule the write path (queues a point to
//! its partition) and the storage engine (keeps one cache per partition) share.
//!
//! Invariant: the hash is stable across runs and versions; WAL partitions and caches
//! depend on it.

/// The hash that routes a series key to its partition (FxHash-style, stable across runs).
pub fn series_hash(series_key: &[u8]) -> u64 {
    const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;
    let mut hash: u64 = series_key.len() as u64;
    let mut chunks = series_key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(MULTIPLIER);
    }
    let mut tail = [0u8; 8];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    hash = (hash.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(MULTIPLIER);
    hash ^ (hash >> 29)
}

/// The partition (of `partitions`) that owns `series_key`. The one routing rule: the write
/// path queues a point there, and each shard keeps that partition's cache for it.
pub fn partition_for(series_key: &[u8], partitions: usize) -> usize {
    ((u128::from(series_hash(series_key)) * partitions as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_spreads_series() {
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            let key = format!("cpu,host=host{i}");
            let partition = partition_for(key.as_bytes(), 4);
            counts[partition] += 1;
        }
        assert!(counts.iter().all(|c| *c > 800), "{counts:?}");
    }
}
