//! Fuzz target for the column file reader: any bytes, opened as a file, must be refused or
//! read without panic — every column listed, found again by key, every block read.
//!
//! Checksums would stop almost every mutation at the door, so the first input byte picks a
//! mode: even = the bytes as they are; odd = the target first repairs what a checksum or
//! constant guards (header, footer magic, index crc; then, once the index opens, every block's
//! crc) so the fuzzer reaches the index walk and the block decoders.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sluice::storage::tsm::{
    FileReader, BLOCK_CRC_SIZE_BYTES, FOOTER_SIZE_BYTES, FORMAT_VERSION, HEADER_SIZE_BYTES, MAGIC,
};

/// Footer fields before the crc, which the crc covers with the index.
const FOOTER_CHECKED_SIZE_BYTES: usize = FOOTER_SIZE_BYTES - 4 - MAGIC.len();

/// CRC-32 (IEEE, reflected), bitwise: slow but tiny, and inputs are small.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Rewrites header, footer magic and index crc so only the structure is left to check.
fn repair_envelope(file: &mut [u8]) {
    let length = file.len();
    if length < HEADER_SIZE_BYTES + FOOTER_SIZE_BYTES {
        return;
    }
    file[..MAGIC.len()].copy_from_slice(&MAGIC);
    file[MAGIC.len()..HEADER_SIZE_BYTES].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    file[length - MAGIC.len()..].copy_from_slice(&MAGIC);
    let footer = length - FOOTER_SIZE_BYTES;
    let (Some(index_offset), Some(index_length)) =
        (read_u64(file, footer), read_u64(file, footer + 8))
    else {
        return;
    };
    let index_end = index_offset.checked_add(index_length);
    if index_offset > footer as u64 || index_end != Some(footer as u64) {
        return;
    }
    let mut covered = file[index_offset as usize..footer].to_vec();
    covered.extend_from_slice(&file[footer..footer + FOOTER_CHECKED_SIZE_BYTES]);
    let crc = crc32(&covered);
    let at = footer + FOOTER_CHECKED_SIZE_BYTES;
    file[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Lists, looks up and reads everything; returns the block spans seen.
fn read_everything(reader: &FileReader) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for (series_key, field, entry) in reader.columns() {
        assert_eq!(reader.find(series_key, field).as_ref(), Some(&entry));
        assert!(reader.columns_with_prefix(series_key).next().is_some());
        for meta in &entry.blocks {
            spans.push((meta.offset as usize, meta.size as usize));
            if let Ok(column) = reader.read_block(meta) {
                assert_eq!(column.len(), meta.count as usize);
                assert_eq!(column.values.len(), column.len());
            }
            let _ = reader.read_block_raw(meta);
        }
        if let Ok(Some(column)) =
            reader.read_column_range(series_key, field, entry.min_time(), entry.max_time())
        {
            assert!(column.times.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }
    spans
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut file = rest.to_vec();
    if mode % 2 == 1 {
        repair_envelope(&mut file);
    }
    let Ok(reader) = FileReader::from_bytes(file.clone(), Path::new("fuzz")) else {
        return;
    };
    let spans = read_everything(&reader);
    if mode % 2 == 0 {
        return;
    }
    // Give every block a valid crc (blocks lie before the index, so its crc still holds).
    for (offset, size) in spans {
        if size >= BLOCK_CRC_SIZE_BYTES && offset + size <= file.len() {
            let crc = crc32(&file[offset..offset + size - BLOCK_CRC_SIZE_BYTES]);
            file[offset + size - BLOCK_CRC_SIZE_BYTES..offset + size]
                .copy_from_slice(&crc.to_le_bytes());
        }
    }
    if let Ok(reader) = FileReader::from_bytes(file, Path::new("fuzz-repaired")) {
        read_everything(&reader);
    }
});
