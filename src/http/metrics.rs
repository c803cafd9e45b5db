//! `GET /metrics`: Sluice's own counters in the Prometheus text exposition format, so Sluice
//! can be scraped like any other target (InfluxDB 1.x has only `/debug/vars`).
//!
//! Owns the translation only: the counters are exactly those of `/debug/vars` (the same
//! document, built by the server), flattened: each numeric leaf becomes a sample named
//! `sluice_` + its path in snake case (`storage.liveCacheBytes` →
//! `sluice_storage_live_cache_bytes`); an array of objects becomes one sample per element,
//! labelled by the element's string fields and its `partition`/`id` numbers; strings of the
//! top object become labels of `sluice_build_info`. The statistics beside it (InfluxDB's
//! view of the same snapshot: `{"name", "tags", "values"}` per key) become
//! `sluice_stats_<module>_<counter>` samples labelled by their tags
//! (`sluice_stats_httpd_write_req{bind=":8086"}`). No `# TYPE` lines: every sample is
//! untyped, which the format allows and every scraper takes.
//!
//! Invariants: the output is a pure function of the document (sorted keys, so stable); names
//! and label values are escaped as the format requires.

use serde_json::Value;

/// Numeric fields of an array element that identify it rather than measure it.
const IDENTITY_FIELDS: [&str; 2] = ["partition", "id"];

/// The exposition of the `/debug/vars` document `vars` (its `sluice` object).
pub fn exposition(vars: &[u8]) -> Option<String> {
    let document: Value = serde_json::from_slice(vars).ok()?;
    let sluice = document.get("sluice")?.as_object()?;
    let mut out = String::new();
    let mut build_labels = Vec::new();
    for (key, value) in sluice {
        if let Value::String(text) = value {
            build_labels.push((snake_case(key), text.clone()));
        }
    }
    write_sample(&mut out, "sluice_build_info", &build_labels, 1.0);
    flatten(&mut out, "sluice", &document["sluice"], &[]);
    for statistic in document.as_object()?.values() {
        write_statistic(&mut out, statistic);
    }
    Some(out)
}

/// The samples of one statistic (`{"name", "tags", "values"}`); anything else is skipped.
fn write_statistic(out: &mut String, statistic: &Value) {
    let (Some(name), Some(values)) = (
        statistic.get("name").and_then(Value::as_str),
        statistic.get("values").and_then(Value::as_object),
    ) else {
        return;
    };
    let labels: Vec<(String, String)> = statistic
        .get("tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .filter_map(|(key, value)| Some((snake_case(key), value.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let prefix = format!("sluice_stats_{}", snake_case(name));
    for (key, value) in values {
        if let Some(number) = value.as_f64() {
            write_sample(
                out,
                &format!("{prefix}_{}", snake_case(key)),
                &labels,
                number,
            );
        }
    }
}

fn flatten(out: &mut String, prefix: &str, value: &Value, labels: &[(String, String)]) {
    match value {
        Value::Number(number) => {
            if let Some(number) = number.as_f64() {
                write_sample(out, prefix, labels, number);
            }
        }
        Value::Bool(flag) => write_sample(out, prefix, labels, f64::from(u8::from(*flag))),
        Value::Object(fields) => {
            for (key, field) in fields {
                if !field.is_string() {
                    flatten(out, &format!("{prefix}_{}", snake_case(key)), field, labels);
                }
            }
        }
        Value::Array(elements) => {
            for element in elements {
                let mut element_labels = labels.to_vec();
                let Some(fields) = element.as_object() else {
                    continue;
                };
                for (key, field) in fields {
                    let identifies = matches!(field, Value::String(_))
                        || IDENTITY_FIELDS.contains(&key.as_str()) && field.is_number();
                    if identifies {
                        let text = match field {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        };
                        element_labels.push((snake_case(key), text));
                    }
                }
                for (key, field) in fields {
                    let identifies = field.is_string() || IDENTITY_FIELDS.contains(&key.as_str());
                    if !identifies {
                        let name = format!("{prefix}_{}", snake_case(key));
                        flatten(out, &name, field, &element_labels);
                    }
                }
            }
        }
        Value::String(_) | Value::Null => {}
    }
}

fn write_sample(out: &mut String, name: &str, labels: &[(String, String)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (index, (key, text)) in labels.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push_str("=\"");
            for character in text.chars() {
                match character {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    other => out.push(other),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&value.to_string());
    out.push('\n');
}

/// `liveCacheBytes` → `live_cache_bytes`, `pointsWrittenOK` → `points_written_ok`; anything
/// but ASCII letters and digits → `_`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for character in key.chars() {
        let lower = character.is_ascii_lowercase() || character.is_ascii_digit();
        if character.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            previous_lower = false;
            out.push(character.to_ascii_lowercase());
            continue;
        }
        previous_lower = lower;
        out.push(if lower { character } else { '_' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_become_samples() {
        let vars = br#"{"sluice":{"version":"0.1.0","openConnections":1,
            "partitions":[{"partition":0,"points":5},{"partition":1,"points":4}],
            "inputs":[{"kind":"graphite","points":7}],
            "storage":{"liveCacheBytes":1323},"cq":{"queryOk":2}}}"#;
        assert_eq!(
            exposition(vars).unwrap(),
            "sluice_build_info{version=\"0.1.0\"} 1\n\
             sluice_cq_query_ok 2\n\
             sluice_inputs_points{kind=\"graphite\"} 7\n\
             sluice_open_connections 1\n\
             sluice_partitions_points{partition=\"0\"} 5\n\
             sluice_partitions_points{partition=\"1\"} 4\n\
             sluice_storage_live_cache_bytes 1323\n"
        );
    }

    #[test]
    fn statistics_become_labelled_samples() {
        let vars = br#"{"sluice":{"version":"0.1.0"},
            "httpd::8086":{"name":"httpd","tags":{"bind":":8086"},
                           "values":{"pointsWrittenOK":3,"writeReq":2}}}"#;
        assert_eq!(
            exposition(vars).unwrap(),
            "sluice_build_info{version=\"0.1.0\"} 1\n\
             sluice_stats_httpd_points_written_ok{bind=\":8086\"} 3\n\
             sluice_stats_httpd_write_req{bind=\":8086\"} 2\n"
        );
    }

    #[test]
    fn garbage_is_no_exposition() {
        assert_eq!(exposition(b"not json"), None);
        assert_eq!(exposition(b"{}"), None);
    }
}
