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
//!
//! Also home of the store's `DELETE`, `DROP SERIES` and `DROP MEASUREMENT`, made all or
//! nothing across shards by delete intents (`delete_intent`).

use std::path::{Path, PathBuf};

use std::sync::Arc;

use super::delete_intent::{self, DeleteIntent, IntentFile};
use super::{read_lock, Shard, Store};
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
        sluice_base::fsio::create_directory_durably(store.file_system.as_ref(), &directory)?;
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
    /// shard of the database (every retention policy). Series stay in the index.
    ///
    /// All or nothing across shards, a crash included (`delete_intent`): runs a checkpoint
    /// (so no WAL segment holds a copy of a deleted point), holds every shard it touches
    /// against snapshots and compactions, records the delete durably, then applies it.
    /// An error means nothing was deleted (but for an intent a failed directory sync kept,
    /// which a start-up then applies whole).
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
        self.checkpoint()?;
        // In id order, as every delete takes them: two deletes never wait on each other.
        let shards: Vec<Arc<Shard>> = self
            .shards()
            .into_iter()
            .filter(|shard| {
                shard.database_id == database_id
                    && shard.end_ns > min_time
                    && shard.start_ns <= max_time
            })
            .collect();
        let _held: Vec<_> = shards.iter().map(|shard| shard.lock_for_delete()).collect();
        let marks: Vec<Option<u64>> = shards.iter().map(|shard| shard.generation_mark()).collect();
        let intent = DeleteIntent {
            database_id,
            min_time,
            max_time,
            shards: shards
                .iter()
                .zip(&marks)
                .filter_map(|(shard, mark)| mark.map(|mark| (shard.id, mark)))
                .collect(),
            series_keys: keys,
        };
        let recorded = if intent.shards.is_empty() {
            None // only caches hold the points: nothing to persist
        } else {
            Some(self.record_delete_intent(&intent)?)
        };
        let mut unpersisted = false;
        for (shard, mark) in shards.iter().zip(marks) {
            let (added, tombstone) =
                shard.delete_in_memory(&intent.series_keys, min_time, max_time, mark);
            if let Err(error) = shard.persist_tombstones(&added, tombstone) {
                sluice_base::log_error!("storage", "cannot write tombstones; the delete stays recorded and is retried"; shard = shard.id, error = error);
                unpersisted = true;
            }
        }
        if let Some(recorded) = recorded {
            self.settle_intent(recorded, unpersisted);
        }
        Ok(())
    }

    /// Writes `intent` as the next numbered intent file.
    fn record_delete_intent(&self, intent: &DeleteIntent) -> Result<IntentFile, String> {
        let sequence = {
            let mut intents = sluice_base::locks::lock(&self.delete_intents);
            let sequence = intents.next_sequence.max(1);
            intents.next_sequence = sequence + 1;
            sequence
        };
        let file_system = self.file_system.as_ref();
        let error =
            match delete_intent::write(file_system, &self.options.data_dir, sequence, intent) {
                Ok(recorded) => return Ok(recorded),
                Err(error) => error,
            };
        // A failed directory sync comes after the rename: the intent may be in place, and
        // a restart would apply it. Remove it, so that the error means "nothing deleted".
        let left = IntentFile {
            path: delete_intent::intent_path(&self.options.data_dir, sequence),
            shard_ids: intent.shards.iter().map(|(id, _)| *id).collect(),
        };
        if left.path.exists() {
            if let Err(remove_error) = delete_intent::remove(file_system, &left) {
                // Both failed: it may be durable, so carry the delete out.
                sluice_base::log_error!("storage", "cannot take back a delete intent; the delete goes on"; path = left.path.display(), error = remove_error);
                return Ok(left);
            }
        }
        Err(format!("recording the delete: {error}"))
    }

    /// Removes an intent whose tombstones are all in their files, or keeps it for the next
    /// checkpoint.
    fn settle_intent(&self, recorded: IntentFile, unpersisted: bool) {
        if !unpersisted {
            match delete_intent::remove(self.file_system.as_ref(), &recorded) {
                Ok(()) => return,
                Err(error) => {
                    sluice_base::log_warn!("storage", "cannot remove a done delete intent; retried at the next checkpoint"; path = recorded.path.display(), error = error);
                }
            }
        }
        sluice_base::locks::lock(&self.delete_intents)
            .pending
            .push(recorded);
    }

    /// At a checkpoint: rewrites the tombstone files of the shards named by intents kept
    /// since a failed append, and removes the intents that are then settled.
    pub(super) fn settle_pending_intents(&self) {
        let pending = std::mem::take(&mut sluice_base::locks::lock(&self.delete_intents).pending);
        let mut kept = Vec::new();
        for recorded in pending {
            let rewritten = recorded.shard_ids.iter().all(|shard_id| {
                let shard = read_lock(&self.shards).get(shard_id).cloned();
                match shard.map(|shard| shard.rewrite_tombstones()) {
                    Some(Err(error)) => {
                        sluice_base::log_warn!("storage", "cannot rewrite tombstones of a recorded delete"; shard = shard_id, error = error);
                        false
                    }
                    _ => true,
                }
            });
            if !rewritten || delete_intent::remove(self.file_system.as_ref(), &recorded).is_err() {
                kept.push(recorded);
            }
        }
        sluice_base::locks::lock(&self.delete_intents)
            .pending
            .extend(kept);
    }

    /// At open, before WAL replay: applies every intent left by a delete that a crash or a
    /// failed tombstone write interrupted, with the marks it recorded (a read-only store
    /// applies them in memory only).
    pub(super) fn recover_delete_intents(&self) {
        let read_only = self.options.read_only;
        let found =
            delete_intent::load(self.file_system.as_ref(), &self.options.data_dir, read_only);
        let mut pending = Vec::new();
        for (recorded, intent) in found.intents {
            let mut unpersisted = false;
            for (shard_id, mark) in &intent.shards {
                let Some(shard) = read_lock(&self.shards).get(shard_id).cloned() else {
                    continue; // dropped or expired since: nothing of it is served
                };
                let _held = shard.lock_for_delete();
                let (added, tombstone) = shard.delete_in_memory(
                    &intent.series_keys,
                    intent.min_time,
                    intent.max_time,
                    Some(*mark),
                );
                if !read_only {
                    if let Err(error) = shard.persist_tombstones(&added, tombstone) {
                        sluice_base::log_error!("storage", "cannot write tombstones of a recorded delete"; shard = shard_id, error = error);
                        unpersisted = true;
                    }
                }
            }
            if read_only {
                continue;
            }
            sluice_base::log_info!("storage", "completed a delete recorded before the restart"; path = recorded.path.display());
            if unpersisted || delete_intent::remove(self.file_system.as_ref(), &recorded).is_err() {
                pending.push(recorded);
            }
        }
        let mut intents = sluice_base::locks::lock(&self.delete_intents);
        intents.next_sequence = found.next_sequence;
        intents.pending = pending;
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
