//! The per-database catalog directory `<data>/_series/<database id>/`: the series index's log
//! and the persisted field types.
//!
//! Field types live in memory in the write path's registry; at every checkpoint (before WAL
//! segments are deleted) each database's types are written to `fields` atomically (temporary
//! file, fsync, rename, fsync directory), so a restart knows the types of fields whose points
//! are only in files. The file:
//! ```text
//! magic "SLUICEFT" | version u32 = 1 | body_len u32 | crc32(body) u32 | body
//! body: count u32 | count × (measurement u16 len + bytes | field u16 len + bytes | type u8)
//! ```
//! A damaged file is logged and ignored (the WAL still names the types of recent fields).

use std::path::{Path, PathBuf};

use super::Store;
use sluice_model::bytes::{put_bytes_u16, Reader};
use sluice_model::record::FieldType;

const FIELDS_FILE: &str = "fields";
const FIELDS_MAGIC: &[u8; 8] = b"SLUICEFT";
const FIELDS_VERSION: u32 = 1;
/// Name of the directory under the data directory holding every database's catalog (not a
/// number, so it is never taken for a shard directory).
pub const CATALOG_ROOT: &str = "_series";

/// The catalog directory of a database.
pub fn catalog_directory(data_dir: &Path, database_id: u64) -> PathBuf {
    data_dir.join(CATALOG_ROOT).join(format!("{database_id}"))
}

/// Writes the field types of `database_id` (nothing when it has none).
pub(super) fn persist_field_types(store: &Store, database_id: u64) -> Result<(), String> {
    let fields = store.field_types.database_fields(database_id);
    if fields.is_empty() {
        return Ok(());
    }
    let mut body = Vec::new();
    body.extend_from_slice(&(fields.len() as u32).to_le_bytes());
    for (measurement, field, field_type) in &fields {
        put_bytes_u16(&mut body, measurement);
        put_bytes_u16(&mut body, field);
        body.push(*field_type as u8);
    }
    let mut file = Vec::with_capacity(body.len() + 20);
    file.extend_from_slice(FIELDS_MAGIC);
    file.extend_from_slice(&FIELDS_VERSION.to_le_bytes());
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    file.extend_from_slice(&body);
    let directory = catalog_directory(&store.options.data_dir, database_id);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&directory)?;
        sluice_base::fsio::write_file_atomically(
            store.file_system.as_ref(),
            &directory,
            FIELDS_FILE,
            &file,
        )
    };
    write().map_err(|e| format!("writing {}: {e}", directory.join(FIELDS_FILE).display()))
}

/// Loads the persisted field types of `database_id` into the registry.
pub(super) fn load_field_types(store: &Store, database_id: u64) {
    let path = catalog_directory(&store.options.data_dir, database_id).join(FIELDS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
        Err(error) => {
            sluice_base::log_error!("storage", "cannot read field types"; path = path.display(), error = error);
            return;
        }
    };
    match decode_fields(&bytes) {
        Some(fields) => {
            for (measurement, field, field_type) in fields {
                store
                    .field_types
                    .get_or_insert(database_id, measurement, field, field_type);
            }
        }
        None => {
            sluice_base::log_error!("storage", "field types file is damaged; ignored"; path = path.display());
        }
    }
}

/// What [`check_field_types`] found in a database's field types file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldTypesCheck {
    /// there is no file (a database never checkpointed with fields)
    Missing,
    /// the file reads, with this many (measurement, field) types
    Valid {
        /// types it holds
        fields: usize,
    },
    /// the file does not read (bad magic, version, length or checksum): a start would log it
    /// and ignore it
    Damaged,
}

/// The path of the field types file in a catalog directory.
pub fn field_types_path(catalog_directory: &Path) -> PathBuf {
    catalog_directory.join(FIELDS_FILE)
}

/// Reads the field types file of a catalog directory as a start-up would, keeping nothing
/// and writing nothing (for `sluice verify`).
pub fn check_field_types(catalog_directory: &Path) -> std::io::Result<FieldTypesCheck> {
    let bytes = match std::fs::read(field_types_path(catalog_directory)) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FieldTypesCheck::Missing)
        }
        Err(error) => return Err(error),
    };
    Ok(match decode_fields(&bytes) {
        Some(fields) => FieldTypesCheck::Valid {
            fields: fields.len(),
        },
        None => FieldTypesCheck::Damaged,
    })
}

/// (measurement, field, type) entries borrowed from a fields file.
type FieldEntries<'a> = Vec<(&'a [u8], &'a [u8], FieldType)>;

fn decode_fields(bytes: &[u8]) -> Option<FieldEntries<'_>> {
    let mut reader = Reader::new(bytes);
    if reader.take(FIELDS_MAGIC.len()).ok()? != FIELDS_MAGIC || reader.u32().ok()? != FIELDS_VERSION
    {
        return None;
    }
    let length = reader.u32().ok()? as usize;
    let crc = reader.u32().ok()?;
    let body = reader.take(length).ok()?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let mut body = Reader::new(body);
    let count = body.u32().ok()?;
    let mut fields = Vec::new();
    for _ in 0..count {
        let measurement = body.bytes_u16().ok()?;
        let field = body.bytes_u16().ok()?;
        let field_type = FieldType::from_tag(body.u8().ok()?)?;
        fields.push((measurement, field, field_type));
    }
    Some(fields)
}

impl Store {
    /// `DROP SERIES`: forgets the series in the database's index and deletes every point of
    /// theirs in every shard of the database.
    pub fn drop_series(
        &self,
        database_id: u64,
        series_ids: &roaring::RoaringBitmap,
    ) -> Result<(), String> {
        self.delete_points(database_id, series_ids, i64::MIN, i64::MAX)?;
        if let Some(index) = self.series_index(database_id) {
            index.delete_series(series_ids);
        }
        Ok(())
    }

    /// `DROP MEASUREMENT`: drops every series of the measurement (unescaped name) and
    /// forgets its field types.
    pub fn drop_measurement(&self, database_id: u64, measurement: &[u8]) -> Result<(), String> {
        let Some(index) = self.series_index(database_id) else {
            return Ok(());
        };
        let series = index.measurement_series(measurement);
        self.drop_series(database_id, &series)?;
        let mut escaped = Vec::with_capacity(measurement.len());
        sluice_line_protocol::escape_into(
            measurement,
            sluice_line_protocol::EscapeKind::Measurement,
            &mut escaped,
        );
        self.field_types.drop_measurement(database_id, &escaped);
        Ok(())
    }

    /// `DELETE`: deletes the points of the series with `min_time <= time <= max_time` in every
    /// shard of the database (every retention policy). Series stay in the index. Runs a
    /// checkpoint first, then writes (and fsyncs) tombstones for the files.
    pub fn delete_points(
        &self,
        database_id: u64,
        series_ids: &roaring::RoaringBitmap,
        min_time: i64,
        max_time: i64,
    ) -> Result<(), String> {
        let Some(index) = self.series_index(database_id) else {
            return Ok(());
        };
        let keys: Vec<Vec<u8>> = series_ids
            .iter()
            .filter_map(|id| index.key_of(id))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        // Afterwards no WAL segment holds a copy of a point older than the delete: a restart
        // cannot bring a deleted point back by replaying it.
        self.checkpoint()?;
        for shard in self.shards() {
            if shard.database_id != database_id
                || shard.end_ns <= min_time
                || shard.start_ns > max_time
            {
                continue;
            }
            shard
                .delete(&keys, min_time, max_time)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_fields_file_is_refused() {
        assert!(decode_fields(b"").is_none());
        assert!(decode_fields(b"SLUICEFT\x01\0\0\0\x04\0\0\0\0\0\0\0\0\0\0\0").is_none());
    }
}
