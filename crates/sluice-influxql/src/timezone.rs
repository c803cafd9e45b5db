//! Whether a `tz('name')` time zone can be loaded, decided as InfluxDB 1.6.7 (Go's
//! `time.LoadLocation`) decides it on this machine.
//!
//! `""` and `"UTC"` are UTC and `"Local"` is the local zone; any other name is looked up
//! as a file under the system zoneinfo directories, which must start with the TZif magic.
//! Names with `..` or a leading `/` or `\` are refused. This module reads those files;
//! it is the only I/O the InfluxQL parser does.

use std::fs::File;
use std::io::Read;

/// Where Go's `LoadLocation` looks for zone files on Unix, in order.
const ZONEINFO_DIRS: &[&str] = &[
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
];

/// The first bytes of every compiled zone file.
const TZIF_MAGIC: &[u8; 4] = b"TZif";

/// Whether InfluxDB would accept `name` in `tz()`.
pub fn is_loadable(name: &str) -> bool {
    if name.is_empty() || name == "UTC" || name == "Local" {
        return true;
    }
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return false;
    }
    ZONEINFO_DIRS
        .iter()
        .any(|dir| has_tzif_magic(&format!("{dir}{name}")))
}

fn has_tzif_magic(path: &str) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| &magic == TZIF_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_zones() {
        assert!(is_loadable("UTC"));
        assert!(is_loadable(""));
        assert!(!is_loadable("Nowhere/X"));
        assert!(!is_loadable("../etc/passwd"));
        assert!(!is_loadable("/etc/passwd"));
    }
}
