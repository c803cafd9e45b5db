//! Field types per (database id, measurement, field key): the first write of a field fixes its
//! type; later writes of another type are conflicts (InfluxDB's "field type conflict").
//!
//! The shared registry is read-mostly: each event loop keeps a `LocalFieldTypes` cache of the
//! entries it has seen and consults the shared `RwLock` only for a field new to it. Entries
//! never change type; dropping a database bumps a generation counter that empties every
//! local cache before its next use. A loop also remembers the key and type of each field,
//! by its position in the point, for the last database and measurement it looked up
//! (`lookup_at`): points of one measurement nearly always repeat their fields in order, so
//! most fields cost one key comparison, not three SipHash lookups (those were 13-16 % of the
//! CPU at 1k series).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use crate::record::FieldType;

type FieldMap = HashMap<Box<[u8]>, FieldType>;
type MeasurementMap = HashMap<Box<[u8]>, FieldMap>;

/// The shared registry.
#[derive(Default)]
pub struct FieldTypeRegistry {
    generation: AtomicU64,
    /// bumped by every change (insert, drop): the storage engine persists the registry at a
    /// checkpoint when this moved
    version: AtomicU64,
    databases: RwLock<HashMap<u64, MeasurementMap>>,
}

impl FieldTypeRegistry {
    /// Records `field_type` for the field unless it has a type already; returns the type the
    /// field has afterwards.
    pub fn get_or_insert(
        &self,
        database_id: u64,
        measurement: &[u8],
        field: &[u8],
        field_type: FieldType,
    ) -> FieldType {
        if let Ok(databases) = self.databases.read() {
            let found = databases
                .get(&database_id)
                .and_then(|m| m.get(measurement))
                .and_then(|f| f.get(field));
            if let Some(existing) = found {
                return *existing;
            }
        }
        let mut databases = match self.databases.write() {
            Ok(guard) => guard,
            // The panic policy (sluice_base::locks, which this crate sits below): a
            // poisoned registry may be half updated, never entered.
            Err(_) => panic!("BUG: the field-type registry's lock is poisoned"),
        };
        let fields = databases
            .entry(database_id)
            .or_default()
            .entry(measurement.into())
            .or_default();
        if let Some(existing) = fields.get(field) {
            return *existing;
        }
        fields.insert(field.into(), field_type);
        self.version.fetch_add(1, Ordering::Release);
        field_type
    }

    /// Changes so far (any insert or drop moves it).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Every (measurement, field, type) of a database, sorted.
    pub fn database_fields(&self, database_id: u64) -> Vec<(Vec<u8>, Vec<u8>, FieldType)> {
        let databases = match self.databases.read() {
            Ok(guard) => guard,
            // The panic policy (sluice_base::locks, which this crate sits below): a
            // poisoned registry may be half updated, never entered.
            Err(_) => panic!("BUG: the field-type registry's lock is poisoned"),
        };
        let mut all: Vec<(Vec<u8>, Vec<u8>, FieldType)> = databases
            .get(&database_id)
            .map(|measurements| {
                measurements
                    .iter()
                    .flat_map(|(measurement, fields)| {
                        fields.iter().map(move |(field, field_type)| {
                            (measurement.to_vec(), field.to_vec(), *field_type)
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }

    /// The fields of one measurement (its escaped name, as in series keys), sorted by key.
    pub fn measurement_fields(
        &self,
        database_id: u64,
        measurement: &[u8],
    ) -> Vec<(Vec<u8>, FieldType)> {
        let databases = match self.databases.read() {
            Ok(guard) => guard,
            // The panic policy (sluice_base::locks, which this crate sits below): a
            // poisoned registry may be half updated, never entered.
            Err(_) => panic!("BUG: the field-type registry's lock is poisoned"),
        };
        let mut fields: Vec<(Vec<u8>, FieldType)> = databases
            .get(&database_id)
            .and_then(|m| m.get(measurement))
            .map(|fields| fields.iter().map(|(f, t)| (f.to_vec(), *t)).collect())
            .unwrap_or_default();
        fields.sort();
        fields
    }

    /// Forgets the fields of a dropped measurement (its escaped name).
    pub fn drop_measurement(&self, database_id: u64, measurement: &[u8]) {
        let mut databases = match self.databases.write() {
            Ok(guard) => guard,
            // The panic policy (sluice_base::locks, which this crate sits below): a
            // poisoned registry may be half updated, never entered.
            Err(_) => panic!("BUG: the field-type registry's lock is poisoned"),
        };
        if let Some(measurements) = databases.get_mut(&database_id) {
            measurements.remove(measurement);
        }
        self.generation.fetch_add(1, Ordering::Release);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// The type of a field, if it has one.
    pub fn get(&self, database_id: u64, measurement: &[u8], field: &[u8]) -> Option<FieldType> {
        let databases = match self.databases.read() {
            Ok(guard) => guard,
            // The panic policy (sluice_base::locks, which this crate sits below): a
            // poisoned registry may be half updated, never entered.
            Err(_) => panic!("BUG: the field-type registry's lock is poisoned"),
        };
        databases
            .get(&database_id)?
            .get(measurement)?
            .get(field)
            .copied()
    }

    /// Forgets every field of a dropped database.
    pub fn drop_database(&self, database_id: u64) {
        let mut databases = match self.databases.write() {
            Ok(guard) => guard,
            // The panic policy (sluice_base::locks, which this crate sits below): a
            // poisoned registry may be half updated, never entered.
            Err(_) => panic!("BUG: the field-type registry's lock is poisoned"),
        };
        databases.remove(&database_id);
        self.generation.fetch_add(1, Ordering::Release);
        self.version.fetch_add(1, Ordering::Release);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// One event loop's cache of the registry.
#[derive(Default)]
pub struct LocalFieldTypes {
    generation: u64,
    databases: HashMap<u64, MeasurementMap>,
    /// The fields, in order, of the last points looked up by position: a batch's points of
    /// one measurement nearly always carry the same fields in the same order, and then a
    /// field's type is one comparison of its key away instead of three map lookups.
    recent: RecentFields,
}

/// Field types found by [`LocalFieldTypes::lookup_at`], by the field's position in its point.
#[derive(Default)]
struct RecentFields {
    database_id: u64,
    measurement: Vec<u8>,
    /// (key, type) by position; a position not yet looked up has an empty key, which never
    /// matches (field keys are never empty)
    fields: Vec<(Vec<u8>, FieldType)>,
}

/// Most positions [`RecentFields`] remembers (wider points look the rest up in the maps).
const RECENT_FIELDS_MAX: usize = 64;

impl LocalFieldTypes {
    /// The type the field already has, if any (from this cache or the shared registry).
    pub fn lookup(
        &mut self,
        registry: &FieldTypeRegistry,
        database_id: u64,
        measurement: &[u8],
        field: &[u8],
    ) -> Option<FieldType> {
        let generation = registry.generation();
        if generation != self.generation {
            self.databases.clear();
            self.generation = generation;
        }
        let cached = self
            .databases
            .get(&database_id)
            .and_then(|m| m.get(measurement))
            .and_then(|f| f.get(field));
        if let Some(existing) = cached {
            return Some(*existing);
        }
        let shared = registry.get(database_id, measurement, field)?;
        self.remember(database_id, measurement, field, shared);
        Some(shared)
    }

    /// [`LocalFieldTypes::lookup`] of the field at `position` (0-based) among its point's
    /// fields: answered from the fields of the last point of the same database and
    /// measurement when the key at that position is the same.
    pub fn lookup_at(
        &mut self,
        registry: &FieldTypeRegistry,
        database_id: u64,
        measurement: &[u8],
        position: usize,
        field: &[u8],
    ) -> Option<FieldType> {
        let generation = registry.generation();
        let recent = &mut self.recent;
        let same_series_shape = generation == self.generation
            && recent.database_id == database_id
            && recent.measurement == measurement;
        if same_series_shape {
            if let Some((key, field_type)) = recent.fields.get(position) {
                if key.as_slice() == field {
                    return Some(*field_type);
                }
            }
        }
        let found = self.lookup(registry, database_id, measurement, field)?;
        let recent = &mut self.recent;
        if !same_series_shape {
            recent.database_id = database_id;
            recent.measurement.clear();
            recent.measurement.extend_from_slice(measurement);
            recent.fields.clear();
        }
        if position < RECENT_FIELDS_MAX {
            if recent.fields.len() <= position {
                recent
                    .fields
                    .resize_with(position + 1, || (Vec::new(), FieldType::Float));
            }
            if let Some(slot) = recent.fields.get_mut(position) {
                slot.0.clear();
                slot.0.extend_from_slice(field);
                slot.1 = found;
            }
        }
        Some(found)
    }

    /// Fixes the type of a field new to this loop (the shared registry decides if another
    /// loop got there first); returns the type the field has.
    pub fn create(
        &mut self,
        registry: &FieldTypeRegistry,
        database_id: u64,
        measurement: &[u8],
        field: &[u8],
        field_type: FieldType,
    ) -> FieldType {
        let resolved = registry.get_or_insert(database_id, measurement, field, field_type);
        self.remember(database_id, measurement, field, resolved);
        resolved
    }

    fn remember(
        &mut self,
        database_id: u64,
        measurement: &[u8],
        field: &[u8],
        field_type: FieldType,
    ) {
        let measurements = self.databases.entry(database_id).or_default();
        let fields = match measurements.get_mut(measurement) {
            Some(fields) => fields,
            None => measurements.entry(measurement.into()).or_default(),
        };
        fields.insert(field.into(), field_type);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_type_wins_and_drop_forgets() {
        let registry = FieldTypeRegistry::default();
        let mut a = LocalFieldTypes::default();
        let mut b = LocalFieldTypes::default();
        assert_eq!(a.lookup(&registry, 1, b"cpu", b"v"), None);
        assert_eq!(
            a.create(&registry, 1, b"cpu", b"v", FieldType::Float),
            FieldType::Float
        );
        assert_eq!(
            b.create(&registry, 1, b"cpu", b"v", FieldType::Integer),
            FieldType::Float
        );
        assert_eq!(b.lookup(&registry, 1, b"cpu", b"v"), Some(FieldType::Float));
        assert_eq!(b.lookup(&registry, 2, b"cpu", b"v"), None);
        registry.drop_database(1);
        assert_eq!(a.lookup(&registry, 1, b"cpu", b"v"), None);
    }

    #[test]
    fn lookup_by_position_agrees_with_the_maps_and_forgets_on_drop() {
        let registry = FieldTypeRegistry::default();
        let mut local = LocalFieldTypes::default();
        local.create(&registry, 1, b"cpu", b"user", FieldType::Float);
        local.create(&registry, 1, b"cpu", b"count", FieldType::Integer);
        local.create(&registry, 1, b"mem", b"user", FieldType::String);
        for _ in 0..2 {
            assert_eq!(
                local.lookup_at(&registry, 1, b"cpu", 0, b"user"),
                Some(FieldType::Float)
            );
            assert_eq!(
                local.lookup_at(&registry, 1, b"cpu", 1, b"count"),
                Some(FieldType::Integer)
            );
        }
        // Same position, another key; another measurement; another database.
        assert_eq!(
            local.lookup_at(&registry, 1, b"cpu", 0, b"count"),
            Some(FieldType::Integer)
        );
        assert_eq!(
            local.lookup_at(&registry, 1, b"mem", 0, b"user"),
            Some(FieldType::String)
        );
        assert_eq!(local.lookup_at(&registry, 2, b"mem", 0, b"user"), None);
        assert_eq!(
            local.lookup_at(&registry, 1, b"cpu", 0, b"user"),
            Some(FieldType::Float)
        );
        registry.drop_database(1);
        assert_eq!(local.lookup_at(&registry, 1, b"cpu", 0, b"user"), None);
    }
}
