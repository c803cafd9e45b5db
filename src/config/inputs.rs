//! The input sections of the config: `[[udp]]`, `[[graphite]]`, `[[collectd]]`,
//! `[[opentsdb]]`, each an array of tables (several instances allowed), off by default, with
//! influxdb.conf's keys and defaults. Environment overrides address an instance by index:
//! `SLUICE_GRAPHITE_0_ENABLED=true`, `SLUICE_UDP_1_BIND_ADDRESS=:8090` (an index one past the
//! last creates a new instance with the defaults).

use std::time::Duration;

use super::parse_duration;

/// Which protocol an input speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// line protocol in UDP datagrams
    Udp,
    /// Graphite plaintext over TCP or UDP
    Graphite,
    /// collectd binary protocol over UDP
    Collectd,
    /// OpenTSDB telnet and HTTP /api/put over TCP
    OpenTsdb,
}

impl InputKind {
    /// Every kind, in config order.
    pub const ALL: [InputKind; 4] = [
        InputKind::Udp,
        InputKind::Graphite,
        InputKind::Collectd,
        InputKind::OpenTsdb,
    ];

    /// The section name (`[[udp]]`).
    pub fn section(self) -> &'static str {
        match self {
            InputKind::Udp => "udp",
            InputKind::Graphite => "graphite",
            InputKind::Collectd => "collectd",
            InputKind::OpenTsdb => "opentsdb",
        }
    }

    /// Whether the input reads UDP datagrams (else TCP connections).
    pub fn default_uses_udp(self) -> bool {
        matches!(self, InputKind::Udp | InputKind::Collectd)
    }
}

/// One configured input instance.
#[derive(Clone, Debug, PartialEq)]
pub struct InputConfig {
    /// protocol
    pub kind: InputKind,
    /// whether it runs
    pub enabled: bool,
    /// `host:port` or `:port`
    pub bind_address: String,
    /// database its points go to (created on start if missing)
    pub database: String,
    /// retention policy ("" = the database's default)
    pub retention_policy: String,
    /// points per write batch
    pub batch_size: usize,
    /// batches that may wait for the WAL queues before input is dropped (UDP) or reading
    /// stops (TCP)
    pub batch_pending: usize,
    /// a partial batch is written after this long
    pub batch_timeout: Duration,
    /// UDP line protocol timestamp precision
    pub precision: String,
    /// socket receive buffer in bytes (UDP; 0 = the system default)
    pub read_buffer: usize,
    /// Graphite: "tcp" or "udp"
    pub protocol: String,
    /// Graphite: joins measurement parts
    pub separator: String,
    /// Graphite: templates
    pub templates: Vec<String>,
    /// Graphite: tags added to every point (`k=v`)
    pub tags: Vec<String>,
    /// collectd: types.db files (or directories of them)
    pub typesdb: Vec<String>,
    /// collectd: none, sign, encrypt
    pub security_level: String,
    /// collectd: user: password file
    pub auth_file: String,
    /// collectd: split or join
    pub parse_multivalue_plugin: String,
}

impl InputConfig {
    /// influxdb.conf's defaults for `kind`.
    pub fn defaults(kind: InputKind) -> InputConfig {
        let (bind_address, database, batch_size, batch_pending, batch_timeout_s) = match kind {
            InputKind::Udp => (":8089", "udp", 5000, 10, 1),
            InputKind::Graphite => (":2003", "graphite", 5000, 10, 1),
            InputKind::Collectd => (":25826", "collectd", 5000, 10, 10),
            InputKind::OpenTsdb => (":4242", "opentsdb", 1000, 5, 1),
        };
        InputConfig {
            kind,
            enabled: false,
            bind_address: bind_address.to_string(),
            database: database.to_string(),
            retention_policy: String::new(),
            batch_size,
            batch_pending,
            batch_timeout: Duration::from_secs(batch_timeout_s),
            precision: String::new(),
            read_buffer: 0,
            protocol: "tcp".to_string(),
            separator: ".".to_string(),
            templates: Vec::new(),
            tags: Vec::new(),
            typesdb: vec!["/usr/share/collectd/types.db".to_string()],
            security_level: "none".to_string(),
            auth_file: "/etc/collectd/auth_file".to_string(),
            parse_multivalue_plugin: "split".to_string(),
        }
    }

    /// Whether this instance listens on UDP.
    pub fn uses_udp(&self) -> bool {
        match self.kind {
            InputKind::Graphite => self.protocol.eq_ignore_ascii_case("udp"),
            other => other.default_uses_udp(),
        }
    }

    /// Sets one key from its text form (lists are comma-separated in the environment).
    pub fn set(&mut self, key: &str, value: &SettingText) -> Result<(), String> {
        let text = || {
            value
                .scalar()
                .ok_or_else(|| format!("{key}: expected a single value"))
        };
        let number = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("{key}: not a non-negative integer: {t:?}"))
        };
        match key {
            "enabled" => self.enabled = matches!(text()?.as_str(), "true" | "1"),
            "bind-address" => self.bind_address = text()?,
            "database" => self.database = text()?,
            "retention-policy" => self.retention_policy = text()?,
            "batch-size" => self.batch_size = number(&text()?)?,
            "batch-pending" => self.batch_pending = number(&text()?)?,
            "batch-timeout" => self.batch_timeout = parse_duration(&text()?)?,
            "precision" => self.precision = text()?,
            "read-buffer" => self.read_buffer = number(&text()?)?,
            "protocol" => self.protocol = text()?,
            "separator" => self.separator = text()?,
            "templates" => self.templates = value.list(),
            "tags" => self.tags = value.list(),
            "typesdb" => self.typesdb = value.list(),
            "security-level" => self.security_level = text()?,
            "auth-file" => self.auth_file = text()?,
            "parse-multivalue-plugin" => self.parse_multivalue_plugin = text()?,
            _ => return Err(format!("unknown key {key:?}")),
        }
        Ok(())
    }

    /// Checks values that would otherwise fail later.
    pub fn validate(&self) -> Result<(), String> {
        let section = self.kind.section();
        if self.batch_size == 0 || self.batch_pending == 0 {
            return Err(format!(
                "[[{section}]] batch-size and batch-pending must be > 0"
            ));
        }
        if self.database.is_empty() {
            return Err(format!("[[{section}]] database must not be empty"));
        }
        if self.kind == InputKind::Graphite
            && !matches!(self.protocol.to_ascii_lowercase().as_str(), "tcp" | "udp")
        {
            return Err(format!(
                "[[graphite]] protocol must be tcp or udp, not {:?}",
                self.protocol
            ));
        }
        if self.kind == InputKind::Collectd {
            if !matches!(self.security_level.as_str(), "none" | "sign" | "encrypt") {
                return Err(format!(
                    "[[collectd]] security-level must be none, sign or encrypt, not {:?}",
                    self.security_level
                ));
            }
            if !matches!(self.parse_multivalue_plugin.as_str(), "split" | "join") {
                return Err(format!(
                    "[[collectd]] parse-multivalue-plugin must be split or join, not {:?}",
                    self.parse_multivalue_plugin
                ));
            }
        }
        Ok(())
    }
}

/// A config value before it is typed: a scalar or a list of strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingText {
    /// one value
    Scalar(String),
    /// a TOML array of strings
    List(Vec<String>),
}

impl SettingText {
    fn scalar(&self) -> Option<String> {
        match self {
            SettingText::Scalar(text) => Some(text.clone()),
            SettingText::List(_) => None,
        }
    }

    fn list(&self) -> Vec<String> {
        match self {
            SettingText::Scalar(text) if text.is_empty() => Vec::new(),
            SettingText::Scalar(text) => text
                .split(',')
                .map(|part| part.trim().to_string())
                .collect(),
            SettingText::List(items) => items.clone(),
        }
    }
}

/// Reads every `[[udp]]`-style array of tables of a TOML document.
pub fn inputs_from_toml(table: &toml::Table) -> Result<Vec<InputConfig>, String> {
    let mut inputs = Vec::new();
    for kind in InputKind::ALL {
        let Some(value) = table.get(kind.section()) else {
            continue;
        };
        let Some(instances) = value.as_array() else {
            return Err(format!(
                "{} must be an array of tables: [[{}]]",
                kind.section(),
                kind.section()
            ));
        };
        for instance in instances {
            let Some(keys) = instance.as_table() else {
                return Err(format!("[[{}]] must be a table", kind.section()));
            };
            let mut input = InputConfig::defaults(kind);
            for (key, value) in keys {
                let text = match value {
                    toml::Value::String(s) => SettingText::Scalar(s.clone()),
                    toml::Value::Integer(i) => SettingText::Scalar(i.to_string()),
                    toml::Value::Boolean(b) => SettingText::Scalar(b.to_string()),
                    toml::Value::Array(items) => SettingText::List(
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(String::from))
                            .collect(),
                    ),
                    _ => {
                        return Err(format!(
                            "[[{}]] {key}: unsupported value type",
                            kind.section()
                        ))
                    }
                };
                match input.set(key, &text) {
                    Ok(()) => {}
                    Err(error) if error.starts_with("unknown key") => {
                        crate::log_warn!("config", "ignoring unknown key"; section = kind.section(), key = key);
                    }
                    Err(error) => return Err(format!("[[{}]] {error}", kind.section())),
                }
            }
            inputs.push(input);
        }
    }
    Ok(inputs)
}

/// Applies `SLUICE_<KIND>_<INDEX>_<KEY>` variables.
pub fn apply_input_env(
    inputs: &mut Vec<InputConfig>,
    env: &[(String, String)],
) -> Result<(), String> {
    let mut overrides: Vec<(InputKind, usize, String, String)> = Vec::new();
    for (name, value) in env {
        for kind in InputKind::ALL {
            let prefix = format!("SLUICE_{}_", kind.section().to_uppercase());
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            let Some((index, key)) = rest.split_once('_') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            overrides.push((
                kind,
                index,
                key.to_lowercase().replace('_', "-"),
                value.clone(),
            ));
        }
    }
    overrides.sort_by_key(|(kind, index, _, _)| (kind.section(), *index));
    for (kind, index, key, value) in overrides {
        let existing: Vec<usize> = inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| i.kind == kind)
            .map(|(position, _)| position)
            .collect();
        let position = match existing.get(index) {
            Some(position) => *position,
            None if index == existing.len() => {
                inputs.push(InputConfig::defaults(kind));
                inputs.len() - 1
            }
            None => return Err(format!("SLUICE_{}_{index}_*: there is no instance {index} (instances count from 0, in order)", kind.section().to_uppercase())),
        };
        if let Some(input) = inputs.get_mut(position) {
            input.set(&key, &SettingText::Scalar(value)).map_err(|e| {
                format!(
                    "SLUICE_{}_{index}_{}: {e}",
                    kind.section().to_uppercase(),
                    key.to_uppercase().replace('-', "_")
                )
            })?;
        }
    }
    Ok(())
}

/// The input sections as TOML, for `sluice config`.
pub fn render_inputs(inputs: &[InputConfig]) -> String {
    let mut out = String::new();
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let list = |items: &[String]| {
        format!(
            "[{}]",
            items
                .iter()
                .map(|i| quote(i))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    for kind in InputKind::ALL {
        let mut instances: Vec<&InputConfig> = inputs.iter().filter(|i| i.kind == kind).collect();
        let defaults = InputConfig::defaults(kind);
        if instances.is_empty() {
            instances.push(&defaults);
        }
        for input in instances {
            out.push_str(&format!("\n[[{}]]\n", kind.section()));
            out.push_str(&format!(
                "  enabled = {}\n  bind-address = {}\n  database = {}\n  retention-policy = {}\n",
                input.enabled,
                quote(&input.bind_address),
                quote(&input.database),
                quote(&input.retention_policy)
            ));
            out.push_str(&format!(
                "  batch-size = {}\n  batch-pending = {}\n  batch-timeout = {}\n",
                input.batch_size,
                input.batch_pending,
                quote(&super::format_duration(input.batch_timeout))
            ));
            match kind {
                InputKind::Udp => out.push_str(&format!("  precision = {}\n  read-buffer = {}\n", quote(&input.precision), input.read_buffer)),
                InputKind::Graphite => out.push_str(&format!("  protocol = {}\n  separator = {}\n  templates = {}\n  tags = {}\n", quote(&input.protocol), quote(&input.separator), list(&input.templates), list(&input.tags))),
                InputKind::Collectd => out.push_str(&format!("  read-buffer = {}\n  typesdb = {}\n  security-level = {}\n  auth-file = {}\n  parse-multivalue-plugin = {}\n", input.read_buffer, list(&input.typesdb), quote(&input.security_level), quote(&input.auth_file), quote(&input.parse_multivalue_plugin))),
                InputKind::OpenTsdb => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_env_and_render_round_trip() {
        let table: toml::Table = "[[graphite]]\nenabled = true\ntemplates = [\"a.b measurement.field\"]\n[[graphite]]\nprotocol = \"udp\"\nbind-address = \":2004\"\n[[udp]]\nenabled = true\n".parse().unwrap();
        let mut inputs = inputs_from_toml(&table).unwrap();
        assert_eq!(inputs.len(), 3);
        assert_eq!(inputs[0].kind, InputKind::Udp);
        assert!(inputs[2].uses_udp());
        let env = vec![
            ("SLUICE_GRAPHITE_1_ENABLED".to_string(), "true".to_string()),
            ("SLUICE_OPENTSDB_0_ENABLED".to_string(), "true".to_string()),
        ];
        apply_input_env(&mut inputs, &env).unwrap();
        assert!(inputs[2].enabled);
        assert_eq!(inputs[3].kind, InputKind::OpenTsdb);
        let rendered: toml::Table = render_inputs(&inputs).parse().unwrap();
        // Kinds with no instance are rendered with their defaults, to document them.
        let parsed: Vec<InputConfig> = inputs_from_toml(&rendered)
            .unwrap()
            .into_iter()
            .filter(|i| *i != InputConfig::defaults(i.kind))
            .collect();
        assert_eq!(parsed, inputs);
        let bad = vec![("SLUICE_UDP_5_ENABLED".to_string(), "true".to_string())];
        assert!(apply_input_env(&mut inputs, &bad).is_err());
    }
}
