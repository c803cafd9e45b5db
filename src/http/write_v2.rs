//! `POST /api/v2/write`: the InfluxDB 2.x write API as InfluxDB 1.8 offers it on a 1.x
//! server, so 2.x client libraries can write.
//!
//! Owns only the translation of the 2.x parameters into `/write`'s: `bucket` is
//! `database/retention-policy` (a bucket without a slash is a database and its default
//! policy), `org` is ignored, `precision` is `ns` (the default), `us`, `ms` or `s`. The result
//! is a `/write` parameter list, and everything else — credentials (`Token user:password`
//! and every form `/write` takes), the WRITE privilege, gzip, `max-body-size`, large writes,
//! durability, partial writes and the answers — is `/write`'s own code (`http::write`,
//! `http::handlers`), so the two endpoints cannot drift apart.
//!
//! Answers as 1.8 does: 204 once durable; errors in 1.x's `{"error":"…"}` form (1.8 serves
//! this endpoint with its 1.x write handler and error writer), 400 for a precision 2.x does
//! not name, 404 for a bucket that names no database.

use crate::http::query_string::query_param;
use crate::http::response::Response;

/// 1.8's text for a bucket without a database before its slash, or an empty bucket.
fn bucket_error(bucket: &str) -> String {
    let mut quoted = Vec::new();
    crate::http::response::push_json_string(&mut quoted, bucket.as_bytes());
    let quoted = String::from_utf8_lossy(&quoted);
    if bucket.contains('/') {
        format!("bucket name {quoted} is in db/rp form but has an empty database")
    } else {
        format!(
            "bucket name {quoted} is missing a slash; not in \"database/retention-policy\" format"
        )
    }
}

/// `(database, retention policy)` of a 2.x bucket (`db/rp`, or `db` for its default policy).
pub fn bucket_target(bucket: &str) -> Option<(&str, &str)> {
    let (database, policy) = bucket.split_once('/').unwrap_or((bucket, ""));
    (!database.is_empty()).then_some((database, policy))
}

/// `/write`'s parameters for a 2.x write's `params`, or the answer refusing them (checked
/// in 1.8's order: precision, then bucket). Parameters other than `bucket`, `org` and
/// `precision` (`u`, `p`, `consistency`) pass through unchanged.
pub fn v1_write_params(params: &[(String, String)]) -> Result<Vec<(String, String)>, Response> {
    let precision = match query_param(params, "precision").unwrap_or("") {
        "" | "ns" => "n",
        "us" => "u",
        "ms" => "ms",
        "s" => "s",
        other => {
            let mut quoted = Vec::new();
            crate::http::response::push_json_string(&mut quoted, other.as_bytes());
            let message = format!(
                "invalid precision {} (use ns, us, ms or s)",
                String::from_utf8_lossy(&quoted)
            );
            return Err(Response::json_error(400, &message));
        }
    };
    let bucket = query_param(params, "bucket").unwrap_or("");
    let Some((database, policy)) = bucket_target(bucket) else {
        return Err(Response::json_error(404, &bucket_error(bucket)));
    };
    let mut v1: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "bucket" | "org" | "precision" | "db" | "rp"))
        .cloned()
        .collect();
    v1.push(("db".to_string(), database.to_string()));
    v1.push(("rp".to_string(), policy.to_string()));
    v1.push(("precision".to_string(), precision.to_string()));
    Ok(v1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn buckets_map_to_database_and_policy() {
        assert_eq!(bucket_target("db/rp"), Some(("db", "rp")));
        assert_eq!(bucket_target("db"), Some(("db", "")));
        assert_eq!(bucket_target("db/"), Some(("db", "")));
        assert_eq!(bucket_target("db/a/b"), Some(("db", "a/b")));
        assert_eq!(bucket_target("/rp"), None);
        assert_eq!(bucket_target(""), None);
    }

    #[test]
    fn parameters_translate_to_write_ones() {
        let v1 = v1_write_params(&params(&[
            ("org", "x"),
            ("bucket", "db/autogen"),
            ("precision", "us"),
            ("u", "user"),
        ]))
        .unwrap();
        assert_eq!(
            v1,
            params(&[
                ("u", "user"),
                ("db", "db"),
                ("rp", "autogen"),
                ("precision", "u")
            ])
        );
        let default = v1_write_params(&params(&[("bucket", "db")])).unwrap();
        assert_eq!(query_param(&default, "precision"), Some("n"));
        assert_eq!(query_param(&default, "rp"), Some(""));
    }

    #[test]
    fn refusals_are_1_8s() {
        let bad = v1_write_params(&params(&[("bucket", "db"), ("precision", "h")])).unwrap_err();
        assert_eq!(bad.status, 400);
        assert_eq!(
            String::from_utf8_lossy(&bad.body),
            "{\"error\":\"invalid precision \\\"h\\\" (use ns, us, ms or s)\"}\n"
        );
        let missing = v1_write_params(&params(&[])).unwrap_err();
        assert_eq!(missing.status, 404);
        assert!(String::from_utf8_lossy(&missing.body).contains("is missing a slash"));
        let empty_db = v1_write_params(&params(&[("bucket", "/rp")])).unwrap_err();
        assert_eq!(empty_db.status, 404);
        assert!(String::from_utf8_lossy(&empty_db.body).contains("has an empty database"));
    }
}
