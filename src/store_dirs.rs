//! Where a server's storage lives, for the commands that read it offline (`sluice export`,
//! `sluice verify`): its data, WAL and meta directories, found the way the server finds them
//! and checked to hold a Sluice store before anything is read.
//!
//! Each directory is, first match wins:
//! 1. its flag: `-datadir`, `-waldir`, `-metadir` (`influx_inspect`'s names);
//! 2. for the WAL and meta directories when `-datadir` is given: `wal` / `meta` inside it (it
//!    names the server's base directory, like `~/.sluice`) or beside it (it names
//!    `<base>/data`);
//! 3. what the server would run with: `[data] dir`, `[data] wal-dir` and `[meta] dir` of the
//!    configuration (`-config` / `SLUICE_CONFIG_PATH`, then `SLUICE_*`, by the `config`
//!    module's rules). When `-datadir` is given, a WAL or meta directory is taken from there
//!    only if the configuration sets it (a built-in default under `$HOME` is not a choice
//!    anyone made): a store copied elsewhere is never paired with the meta store of the
//!    server in `~/.sluice`, whose database ids would name other databases.
//!
//! Invariants of a [`StoreDirs`]: when it was made, the three directories existed and the meta
//! directory held `meta.db` (a server writes it when the first database is created, so
//! without it there is nothing to read and a command would silently report nothing). Nothing
//! here creates or changes a file.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::meta::MetaStore;

/// The directories given on the command line, if any.
#[derive(Clone, Debug, Default)]
pub struct DirFlags {
    /// `-datadir`: the server's `data` directory or its base directory
    pub data_dir: Option<PathBuf>,
    /// `-waldir`
    pub wal_dir: Option<PathBuf>,
    /// `-metadir`
    pub meta_dir: Option<PathBuf>,
}

/// The directories the server's configuration names, and which of them it sets rather than
/// defaults.
#[derive(Clone, Debug)]
pub struct ConfiguredDirs {
    /// `[data] dir`
    pub data_dir: PathBuf,
    /// `[data] wal-dir`
    pub wal_dir: PathBuf,
    /// `[meta] dir`
    pub meta_dir: PathBuf,
    /// whether a config file or `SLUICE_DATA_WAL_DIR` set `wal_dir` (to something other than
    /// the built-in default)
    pub wal_dir_set: bool,
    /// whether a config file or `SLUICE_META_DIR` set `meta_dir` (likewise)
    pub meta_dir_set: bool,
}

impl ConfiguredDirs {
    /// The directories of `config`; `built_in` is the configuration without file or
    /// environment (`Config::default_for_home`), to tell set directories from defaults.
    pub fn new(config: &Config, built_in: &Config) -> ConfiguredDirs {
        ConfiguredDirs {
            data_dir: config.data.dir.clone(),
            wal_dir: config.data.wal_dir.clone(),
            meta_dir: config.meta.dir.clone(),
            wal_dir_set: config.data.wal_dir != built_in.data.wal_dir,
            meta_dir_set: config.meta.dir != built_in.meta.dir,
        }
    }
}

/// The three directories of a stopped server's store, found and checked by [`locate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreDirs {
    data_dir: PathBuf,
    wal_dir: PathBuf,
    meta_dir: PathBuf,
}

impl StoreDirs {
    /// `[data] dir`: shard directories and the `_series` catalogs.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `[data] wal-dir`: `PARTITIONS` and the `pNN` partition directories.
    pub fn wal_dir(&self) -> &Path {
        &self.wal_dir
    }

    /// `[meta] dir`: `meta.db`.
    pub fn meta_dir(&self) -> &Path {
        &self.meta_dir
    }
}

/// One of the three directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    /// `[data] dir`
    Data,
    /// `[data] wal-dir`
    Wal,
    /// `[meta] dir`
    Meta,
}

impl DirKind {
    fn name(self) -> &'static str {
        match self {
            DirKind::Data => "data directory",
            DirKind::Wal => "WAL directory",
            DirKind::Meta => "meta directory",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            DirKind::Data => "-datadir",
            DirKind::Wal => "-waldir",
            DirKind::Meta => "-metadir",
        }
    }

    fn setting(self) -> &'static str {
        match self {
            DirKind::Data => "[data] dir (SLUICE_DATA_DIR)",
            DirKind::Wal => "[data] wal-dir (SLUICE_DATA_WAL_DIR)",
            DirKind::Meta => "[meta] dir (SLUICE_META_DIR)",
        }
    }

    /// Its name inside a server's base directory.
    fn base_entry(self) -> &'static str {
        match self {
            DirKind::Data => "data",
            DirKind::Wal => "wal",
            DirKind::Meta => "meta",
        }
    }
}

/// Where the path of a directory came from (said in errors, so the user knows what to fix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// its flag
    Flag,
    /// found inside or beside `-datadir`
    BesideDataDir,
    /// the configuration (file, `SLUICE_*`, or the built-in default)
    Config,
}

/// Why no store could be located.
#[derive(Debug, PartialEq, Eq)]
pub enum LocateError {
    /// a directory is missing or not a directory
    Missing {
        /// which
        kind: DirKind,
        /// its path
        path: PathBuf,
        /// where the path came from
        origin: Origin,
    },
    /// `-datadir` was given, no WAL or meta directory is inside or beside it, and the
    /// configuration does not set one
    NotBesideDataDir {
        /// which
        kind: DirKind,
        /// the places looked at
        looked_in: Vec<PathBuf>,
    },
    /// the meta directory holds no `meta.db`: no server created a database there
    NoMetaStore {
        /// the meta directory
        meta_dir: PathBuf,
    },
}

impl fmt::Display for LocateError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocateError::Missing { kind, path, origin } => {
                let state = if path.exists() {
                    "is not a directory"
                } else {
                    "does not exist"
                };
                let source = match origin {
                    Origin::Flag => format!("given by {}", kind.flag()),
                    Origin::BesideDataDir => "found beside the data directory".to_string(),
                    Origin::Config => format!(
                        "{} of the configuration; give {} DIR",
                        kind.setting(),
                        kind.flag()
                    ),
                };
                write!(
                    formatter,
                    "{} {} {state} ({source})",
                    kind.name(),
                    path.display()
                )
            }
            LocateError::NotBesideDataDir { kind, looked_in } => {
                let places: Vec<String> = looked_in
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect();
                write!(
                    formatter,
                    "no {} inside or beside the data directory (looked for {}); give {} DIR \
                     or set {}",
                    kind.name(),
                    places.join(" and "),
                    kind.flag(),
                    kind.setting()
                )
            }
            LocateError::NoMetaStore { meta_dir } => write!(
                formatter,
                "{} holds no Sluice data: {} is missing (a server writes it when the first \
                 database is created); is this the meta directory? give -metadir DIR",
                meta_dir.display(),
                MetaStore::file_path(meta_dir).display()
            ),
        }
    }
}

impl std::error::Error for LocateError {}

/// Finds the store's directories by the rules of the module doc and checks they hold a
/// Sluice store (they exist; `meta.db` is there). Reads only directory metadata.
pub fn locate(flags: &DirFlags, configured: &ConfiguredDirs) -> Result<StoreDirs, LocateError> {
    let data_dir = match &flags.data_dir {
        // `-datadir` may name the server's base directory (holding `data`) or `data` itself.
        Some(given) if given.join(DirKind::Data.base_entry()).is_dir() => {
            (given.join(DirKind::Data.base_entry()), Origin::Flag)
        }
        Some(given) => (given.clone(), Origin::Flag),
        None => (configured.data_dir.clone(), Origin::Config),
    };
    let data_dir = existing_dir(DirKind::Data, data_dir)?;
    let meta_dir = existing_dir(
        DirKind::Meta,
        choose(
            DirKind::Meta,
            flags,
            &configured.meta_dir,
            configured.meta_dir_set,
        )?,
    )?;
    if !MetaStore::file_path(&meta_dir).is_file() {
        return Err(LocateError::NoMetaStore { meta_dir });
    }
    let wal_dir = existing_dir(
        DirKind::Wal,
        choose(
            DirKind::Wal,
            flags,
            &configured.wal_dir,
            configured.wal_dir_set,
        )?,
    )?;
    Ok(StoreDirs {
        data_dir,
        wal_dir,
        meta_dir,
    })
}

/// The WAL or meta directory: its flag, else inside or beside `-datadir`, else the
/// configuration's (only if set, when `-datadir` is given).
fn choose(
    kind: DirKind,
    flags: &DirFlags,
    configured: &Path,
    configured_is_set: bool,
) -> Result<(PathBuf, Origin), LocateError> {
    let flag = match kind {
        DirKind::Data => &flags.data_dir,
        DirKind::Wal => &flags.wal_dir,
        DirKind::Meta => &flags.meta_dir,
    };
    if let Some(path) = flag {
        return Ok((path.clone(), Origin::Flag));
    }
    let Some(data_flag) = &flags.data_dir else {
        return Ok((configured.to_path_buf(), Origin::Config));
    };
    let looked_in: Vec<PathBuf> = std::iter::once(data_flag.join(kind.base_entry()))
        .chain(data_flag.parent().map(|base| base.join(kind.base_entry())))
        .collect();
    if let Some(found) = looked_in.iter().find(|candidate| candidate.is_dir()) {
        return Ok((found.clone(), Origin::BesideDataDir));
    }
    if configured_is_set {
        return Ok((configured.to_path_buf(), Origin::Config));
    }
    Err(LocateError::NotBesideDataDir { kind, looked_in })
}

fn existing_dir(kind: DirKind, (path, origin): (PathBuf, Origin)) -> Result<PathBuf, LocateError> {
    if path.is_dir() {
        Ok(path)
    } else {
        Err(LocateError::Missing { kind, path, origin })
    }
}

/// The partition directories (`p00`, `p01`, …) of a WAL directory with their numbers, in
/// number order, whatever `PARTITIONS` says: an offline reader must see every record, also
/// those of a partition directory the count does not cover.
pub fn wal_partition_dirs(wal_dir: &Path) -> std::io::Result<Vec<(usize, PathBuf)>> {
    let mut partitions = Vec::new();
    for entry in std::fs::read_dir(wal_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|name| name.strip_prefix('p'))
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<usize>().ok())
        else {
            continue;
        };
        if entry.path().is_dir() {
            partitions.push((number, entry.path()));
        }
    }
    partitions.sort();
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A base directory with `data`, `wal` and `meta` (holding a meta.db) under a fresh
    /// temporary directory.
    fn server_base(name: &str) -> PathBuf {
        let base =
            std::env::temp_dir().join(format!("sluice-store-dirs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        for entry in ["data", "wal", "meta"] {
            std::fs::create_dir_all(base.join(entry)).unwrap();
        }
        std::fs::write(MetaStore::file_path(&base.join("meta")), b"x").unwrap();
        base
    }

    fn configured(base: &Path, wal_dir_set: bool, meta_dir_set: bool) -> ConfiguredDirs {
        ConfiguredDirs {
            data_dir: base.join("data"),
            wal_dir: base.join("wal"),
            meta_dir: base.join("meta"),
            wal_dir_set,
            meta_dir_set,
        }
    }

    fn data_flag(path: PathBuf) -> DirFlags {
        DirFlags {
            data_dir: Some(path),
            ..DirFlags::default()
        }
    }

    #[test]
    fn datadir_names_data_or_its_base_and_finds_the_rest_beside_it() {
        let base = server_base("beside");
        let elsewhere = configured(Path::new("/nonexistent-sluice"), false, false);
        for given in [base.join("data"), base.clone()] {
            let dirs = locate(&data_flag(given), &elsewhere).unwrap();
            assert_eq!(dirs.data_dir(), base.join("data"));
            assert_eq!(dirs.wal_dir(), base.join("wal"));
            assert_eq!(dirs.meta_dir(), base.join("meta"));
        }
        // Without -datadir: the configuration, as the server.
        let dirs = locate(&DirFlags::default(), &configured(&base, false, false)).unwrap();
        assert_eq!(dirs.meta_dir(), base.join("meta"));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn meta_elsewhere_comes_from_a_flag_or_a_set_configuration_never_a_default() {
        let base = server_base("elsewhere");
        let data = base.join("store").join("data");
        std::fs::create_dir_all(&data).unwrap();
        // The default configuration points at a real store: it must not be used.
        let error = locate(&data_flag(data.clone()), &configured(&base, false, false));
        assert!(
            matches!(
                &error,
                Err(LocateError::NotBesideDataDir { kind: DirKind::Meta, looked_in })
                    if looked_in.len() == 2
            ),
            "{error:?}"
        );
        let message = error.unwrap_err().to_string();
        assert!(message.contains("-metadir"), "{message}");
        // Set explicitly (file or SLUICE_META_DIR), it is.
        let dirs = locate(&data_flag(data.clone()), &configured(&base, true, true)).unwrap();
        assert_eq!(dirs.meta_dir(), base.join("meta"));
        assert_eq!(dirs.data_dir(), data);
        // And so are the flags.
        let flags = DirFlags {
            data_dir: Some(data),
            wal_dir: Some(base.join("wal")),
            meta_dir: Some(base.join("meta")),
        };
        let dirs = locate(&flags, &configured(Path::new("/nonexistent"), false, false)).unwrap();
        assert_eq!(dirs.wal_dir(), base.join("wal"));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn missing_directories_and_a_meta_directory_without_meta_db_are_refused() {
        let base = server_base("missing");
        let nowhere = configured(Path::new("/nonexistent"), false, false);
        let error = locate(&data_flag(base.join("nope")), &nowhere).unwrap_err();
        assert!(
            matches!(
                error,
                LocateError::Missing {
                    kind: DirKind::Data,
                    origin: Origin::Flag,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("does not exist"), "{error}");
        std::fs::remove_file(MetaStore::file_path(&base.join("meta"))).unwrap();
        let error = locate(&data_flag(base.join("data")), &nowhere).unwrap_err();
        assert_eq!(
            error,
            LocateError::NoMetaStore {
                meta_dir: base.join("meta")
            }
        );
        assert!(error.to_string().contains("meta.db"), "{error}");
        std::fs::write(MetaStore::file_path(&base.join("meta")), b"x").unwrap();
        std::fs::remove_dir(base.join("wal")).unwrap();
        let error = locate(&data_flag(base.join("data")), &nowhere).unwrap_err();
        assert!(
            matches!(
                error,
                LocateError::NotBesideDataDir {
                    kind: DirKind::Wal,
                    ..
                }
            ),
            "{error:?}"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn partition_directories_are_listed_by_number() {
        let base = server_base("partitions");
        let wal = base.join("wal");
        for name in ["p10", "p02", "p00", "px", "p", "PARTITIONS"] {
            std::fs::create_dir_all(wal.join(name)).unwrap();
        }
        let numbers: Vec<usize> = wal_partition_dirs(&wal)
            .unwrap()
            .into_iter()
            .map(|(number, _)| number)
            .collect();
        assert_eq!(numbers, [0, 2, 10]);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
