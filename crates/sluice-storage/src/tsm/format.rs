//! The fixed parts of the file format, shared by writer and reader: header, footer, index
//! entries, block metas and the field type byte. Parsing here never panics: every read is
//! bounds-checked and a failure names what was wrong.

use sluice_model::record::FieldType;

use super::{BlockMeta, BlockStats};

/// First 8 bytes of every file, and its last 8.
pub const MAGIC: [u8; 8] = *b"SLUICETS";
/// Format version written in the header (2: index entries may carry block statistics).
pub const FORMAT_VERSION: u32 = 2;
/// The version before block statistics; still read.
pub const FORMAT_VERSION_WITHOUT_BLOCK_STATS: u32 = 1;
/// Header: magic (8) + version (4).
pub const HEADER_SIZE_BYTES: usize = 12;
/// Footer: index offset (8), index length (8), column count (8), value count (8), min time
/// (8), max time (8), crc32 (4), magic (8).
pub const FOOTER_SIZE_BYTES: usize = 60;
/// One block meta in an index entry: min time (8), max time (8), count (4), offset (8),
/// size (4).
pub const BLOCK_META_SIZE_BYTES: usize = 32;
/// Block statistics after a block meta, in an entry whose stats flag is set: min (8), time
/// of min (8), max (8), time of max (8), sum (8).
pub const BLOCK_STATS_SIZE_BYTES: usize = 40;
/// An entry's stats flag: its block metas are followed by their statistics.
pub(super) const ENTRY_HAS_BLOCK_STATS: u8 = 1;
/// One entry of the offset table: a u64 file offset.
pub const OFFSET_SIZE_BYTES: usize = 8;
/// The crc32 that ends every block.
pub const BLOCK_CRC_SIZE_BYTES: usize = 4;

/// Bytes of the footer covered by the index checksum (all before the crc field).
pub(super) const FOOTER_CHECKED_SIZE_BYTES: usize = 48;
/// Smallest possible block: field type, two column headers of a tag and a one-byte count, crc.
pub(super) const BLOCK_SIZE_MIN_BYTES: usize = 1 + 2 + 2 + BLOCK_CRC_SIZE_BYTES;

const _: () = assert!(FOOTER_CHECKED_SIZE_BYTES + 4 + MAGIC.len() == FOOTER_SIZE_BYTES);
const _: () = assert!(HEADER_SIZE_BYTES == MAGIC.len() + 4);

/// The byte that stands for a field type in blocks and index entries.
pub(super) fn field_type_byte(field_type: FieldType) -> u8 {
    field_type as u8
}

/// The field type a byte stands for.
pub(super) fn field_type_from_byte(byte: u8) -> Option<FieldType> {
    [
        FieldType::Float,
        FieldType::Integer,
        FieldType::Unsigned,
        FieldType::String,
        FieldType::Boolean,
    ]
    .into_iter()
    .find(|&field_type| field_type as u8 == byte)
}

/// The file header.
pub(super) fn header() -> [u8; HEADER_SIZE_BYTES] {
    let mut bytes = [0u8; HEADER_SIZE_BYTES];
    bytes[..MAGIC.len()].copy_from_slice(&MAGIC);
    bytes[MAGIC.len()..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes
}

/// The decoded footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Footer {
    /// File offset of the first index entry.
    pub index_offset: u64,
    /// Bytes of entries and offset table together.
    pub index_length: u64,
    pub column_count: u64,
    pub value_count: u64,
    pub min_time: i64,
    pub max_time: i64,
}

impl Footer {
    /// The footer's first [`FOOTER_CHECKED_SIZE_BYTES`] bytes (before crc and magic).
    pub fn checked_bytes(&self) -> [u8; FOOTER_CHECKED_SIZE_BYTES] {
        let mut bytes = [0u8; FOOTER_CHECKED_SIZE_BYTES];
        let fields = [
            self.index_offset.to_le_bytes(),
            self.index_length.to_le_bytes(),
            self.column_count.to_le_bytes(),
            self.value_count.to_le_bytes(),
            self.min_time.to_le_bytes(),
            self.max_time.to_le_bytes(),
        ];
        for (chunk, field) in bytes.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&field);
        }
        bytes
    }

    /// The whole footer given the crc of the index and the checked footer bytes.
    pub fn encode(&self, crc: u32) -> [u8; FOOTER_SIZE_BYTES] {
        let mut bytes = [0u8; FOOTER_SIZE_BYTES];
        bytes[..FOOTER_CHECKED_SIZE_BYTES].copy_from_slice(&self.checked_bytes());
        bytes[FOOTER_CHECKED_SIZE_BYTES..FOOTER_CHECKED_SIZE_BYTES + 4]
            .copy_from_slice(&crc.to_le_bytes());
        bytes[FOOTER_CHECKED_SIZE_BYTES + 4..].copy_from_slice(&MAGIC);
        bytes
    }

    /// Decodes a footer; returns it with its stored crc, or what is wrong.
    pub fn decode(bytes: &[u8; FOOTER_SIZE_BYTES]) -> Result<(Footer, u32), &'static str> {
        let mut cursor = Cursor::new(bytes);
        let footer = Footer {
            index_offset: cursor.u64()?,
            index_length: cursor.u64()?,
            column_count: cursor.u64()?,
            value_count: cursor.u64()?,
            min_time: cursor.i64()?,
            max_time: cursor.i64()?,
        };
        let crc = cursor.u32()?;
        if cursor.take(MAGIC.len())? != MAGIC {
            return Err("bad magic in footer");
        }
        Ok((footer, crc))
    }
}

/// Appends a block meta (32 bytes), and its statistics (40 more) when `with_stats` (the
/// caller has checked that every block of the entry has them).
pub(super) fn put_block_meta(dst: &mut Vec<u8>, meta: &BlockMeta, with_stats: bool) {
    dst.extend_from_slice(&meta.min_time.to_le_bytes());
    dst.extend_from_slice(&meta.max_time.to_le_bytes());
    dst.extend_from_slice(&meta.count.to_le_bytes());
    dst.extend_from_slice(&meta.offset.to_le_bytes());
    dst.extend_from_slice(&meta.size.to_le_bytes());
    if let (true, Some(stats)) = (with_stats, &meta.stats) {
        dst.extend_from_slice(&stats.min_bits.to_le_bytes());
        dst.extend_from_slice(&stats.min_at.to_le_bytes());
        dst.extend_from_slice(&stats.max_bits.to_le_bytes());
        dst.extend_from_slice(&stats.max_at.to_le_bytes());
        dst.extend_from_slice(&stats.sum_bits.to_le_bytes());
    }
}

/// Decodes one block meta from exactly [`BLOCK_META_SIZE_BYTES`] or more bytes, followed by
/// its statistics when `with_stats`.
pub(super) fn block_meta(bytes: &[u8], with_stats: bool) -> Result<BlockMeta, &'static str> {
    let mut cursor = Cursor::new(bytes);
    let mut meta = BlockMeta {
        min_time: cursor.i64()?,
        max_time: cursor.i64()?,
        count: cursor.u32()?,
        offset: cursor.u64()?,
        size: cursor.u32()?,
        stats: None,
    };
    if with_stats {
        meta.stats = Some(BlockStats {
            min_bits: cursor.u64()?,
            min_at: cursor.i64()?,
            max_bits: cursor.u64()?,
            max_at: cursor.i64()?,
            sum_bits: cursor.u64()?,
        });
    }
    Ok(meta)
}

/// Appends the head of an index entry (keys, type, block count, stats flag); the caller
/// guarantees key lengths within u16 and then appends `block_count` block metas (with
/// statistics when `with_stats`).
pub(super) fn put_entry_head(
    dst: &mut Vec<u8>,
    series_key: &[u8],
    field: &[u8],
    field_type: FieldType,
    block_count: u32,
    with_stats: bool,
) {
    for key in [series_key, field] {
        let length = u16::try_from(key.len()).unwrap_or(u16::MAX);
        dst.extend_from_slice(&length.to_le_bytes());
        dst.extend_from_slice(key.get(..usize::from(length)).unwrap_or(key));
    }
    dst.push(field_type_byte(field_type));
    dst.extend_from_slice(&block_count.to_le_bytes());
    dst.push(if with_stats { ENTRY_HAS_BLOCK_STATS } else { 0 });
}

/// An index entry read in place: keys and block metas still borrowed from the file.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawEntry<'a> {
    pub series_key: &'a [u8],
    pub field: &'a [u8],
    pub field_type: FieldType,
    /// `block count × meta_size` bytes of block metas.
    pub block_metas: &'a [u8],
    /// bytes of one block meta: [`BLOCK_META_SIZE_BYTES`], plus
    /// [`BLOCK_STATS_SIZE_BYTES`] when the entry carries statistics
    pub meta_size: usize,
    /// Bytes the entry takes.
    pub size_bytes: usize,
}

impl<'a> RawEntry<'a> {
    /// Parses the entry at the front of `bytes` (which may go on past it), of a file of
    /// format `version` (1 or 2).
    pub fn parse(bytes: &'a [u8], version: u32) -> Result<RawEntry<'a>, &'static str> {
        let mut cursor = Cursor::new(bytes);
        let series_key_length = cursor.u16()?;
        let series_key = cursor.take(usize::from(series_key_length))?;
        let field_length = cursor.u16()?;
        let field = cursor.take(usize::from(field_length))?;
        let field_type = field_type_from_byte(cursor.u8()?).ok_or("unknown field type")?;
        let block_count = cursor.u32()? as usize;
        let with_stats = match version {
            FORMAT_VERSION_WITHOUT_BLOCK_STATS => false,
            _ => match cursor.u8()? {
                0 => false,
                ENTRY_HAS_BLOCK_STATS => true,
                _ => return Err("unknown entry flags"),
            },
        };
        let meta_size = if with_stats {
            BLOCK_META_SIZE_BYTES + BLOCK_STATS_SIZE_BYTES
        } else {
            BLOCK_META_SIZE_BYTES
        };
        // Checked before any use: the count cannot claim more metas than bytes remain.
        let metas_length = block_count
            .checked_mul(meta_size)
            .filter(|&length| length <= cursor.remaining())
            .ok_or("block count exceeds the index")?;
        let block_metas = cursor.take(metas_length)?;
        Ok(RawEntry {
            series_key,
            field,
            field_type,
            block_metas,
            meta_size,
            size_bytes: bytes.len() - cursor.remaining(),
        })
    }

    /// The block metas, decoded one by one.
    pub fn blocks(&self) -> impl Iterator<Item = BlockMeta> + 'a {
        let with_stats = self.meta_size > BLOCK_META_SIZE_BYTES;
        self.block_metas
            .chunks_exact(self.meta_size)
            .filter_map(move |chunk| block_meta(chunk, with_stats).ok())
    }

    /// Number of blocks.
    pub fn block_count(&self) -> usize {
        self.block_metas.len() / self.meta_size
    }
}

/// A bounds-checked little-endian reader over a byte slice.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub fn take(&mut self, count: usize) -> Result<&'a [u8], &'static str> {
        if count > self.bytes.len() {
            return Err("truncated");
        }
        let (head, tail) = self.bytes.split_at(count);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, &'static str> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}
