//! JWT bearer tokens as InfluxDB 1.6.7 accepts them: `header.claims.signature`, base64url
//! segments, signed with HMAC (HS256, HS384, HS512) under `[http] shared-secret`, with a
//! numeric `exp` claim (seconds since the epoch) and a non-empty string `username` claim.
//!
//! Owns the parsing and the checks, and InfluxDB's texts for each failure (those of its
//! jwt-go library, then its own). The signature is checked before any claim is trusted:
//! a token whose signature fails is `signature is invalid` whatever its claims say (jwt-go
//! reports the signature over an expiry too). Signatures are compared in constant time
//! (`hmac`'s `verify_slice`). A token longer than [`JWT_TOKEN_BYTES_MAX`] is refused
//! before anything is decoded.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;

/// Longest token looked at.
pub const JWT_TOKEN_BYTES_MAX: usize = 8 * 1024;

/// Why a token is refused; `Display` is InfluxDB's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwtError {
    /// not three dot-separated segments (or longer than [`JWT_TOKEN_BYTES_MAX`])
    Segments,
    /// a segment is not base64url; the byte offset of the first bad byte
    Base64(usize),
    /// the header or claims are not a JSON object
    Json,
    /// no `alg`
    AlgorithmUnspecified,
    /// an `alg` jwt-go does not know
    AlgorithmUnavailable,
    /// a known non-HMAC `alg` (as written)
    UnexpectedAlgorithm(String),
    /// the HMAC does not match
    Signature,
    /// `exp` is in the past
    Expired,
    /// `nbf` is in the future
    NotYetValid,
    /// `iat` is in the future
    UsedBeforeIssued,
    /// no numeric positive `exp`
    ExpirationRequired,
    /// `username` missing or not a string
    UsernameNotString,
    /// `username` empty
    UsernameEmpty,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Segments => f.write_str("token contains an invalid number of segments"),
            JwtError::Base64(offset) => write!(f, "illegal base64 data at input byte {offset}"),
            JwtError::Json => f.write_str("invalid character in token"),
            JwtError::AlgorithmUnspecified => f.write_str("signing method (alg) is unspecified."),
            JwtError::AlgorithmUnavailable => f.write_str("signing method (alg) is unavailable."),
            JwtError::UnexpectedAlgorithm(alg) => write!(f, "unexpected signing method: {alg}"),
            JwtError::Signature => f.write_str("signature is invalid"),
            JwtError::Expired => f.write_str("Token is expired"),
            JwtError::NotYetValid => f.write_str("Token is not valid yet"),
            JwtError::UsedBeforeIssued => f.write_str("Token used before issued"),
            JwtError::ExpirationRequired => f.write_str("token expiration required"),
            JwtError::UsernameNotString => f.write_str("username in token must be a string"),
            JwtError::UsernameEmpty => f.write_str("token must contain a username"),
        }
    }
}

/// jwt-go's registered algorithms that are not HMAC.
const OTHER_ALGORITHMS: &[&str] = &[
    "none", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
];

/// Whether `signature` is the HMAC of `signed` under `secret` with digest `$digest`
/// (compared in constant time by `verify_slice`).
macro_rules! mac_matches {
    ($digest:ty, $secret:expr, $signed:expr, $signature:expr) => {
        match <Hmac<$digest> as Mac>::new_from_slice($secret) {
            Ok(mut mac) => {
                mac.update($signed.as_bytes());
                mac.verify_slice($signature).is_ok()
            }
            Err(_) => false,
        }
    };
}

/// The `username` of a valid `token` signed with `secret`, at `now_s` seconds since the epoch.
pub fn verify(token: &str, secret: &[u8], now_s: f64) -> Result<String, JwtError> {
    if token.len() > JWT_TOKEN_BYTES_MAX {
        return Err(JwtError::Segments);
    }
    let segments: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = segments[..] else {
        return Err(JwtError::Segments);
    };
    let header = json_segment(header)?;
    let claims = json_segment(claims)?;
    let algorithm = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        _ => return Err(JwtError::AlgorithmUnspecified),
    };
    let signed = &token[..token.len() - signature.len() - 1];
    let claims_error = time_claims_error(&claims, now_s);
    let signature = decode(signature)?;
    let valid = match algorithm {
        "HS256" => mac_matches!(sha2::Sha256, secret, signed, &signature),
        "HS384" => mac_matches!(sha2::Sha384, secret, signed, &signature),
        "HS512" => mac_matches!(sha2::Sha512, secret, signed, &signature),
        other if OTHER_ALGORITHMS.contains(&other) => {
            return Err(JwtError::UnexpectedAlgorithm(other.to_string()))
        }
        _ => return Err(JwtError::AlgorithmUnavailable),
    };
    if !valid {
        return Err(JwtError::Signature);
    }
    if let Some(error) = claims_error {
        return Err(error);
    }
    match claims.get("exp") {
        Some(Value::Number(exp)) if exp.as_f64().is_some_and(|exp| exp > 0.0) => {}
        _ => return Err(JwtError::ExpirationRequired),
    }
    match claims.get("username") {
        Some(Value::String(name)) if name.is_empty() => Err(JwtError::UsernameEmpty),
        Some(Value::String(name)) => Ok(name.clone()),
        _ => Err(JwtError::UsernameNotString),
    }
}

/// jwt-go's checks of `exp`, `iat`, `nbf` (numeric ones only; others are not checked).
fn time_claims_error(claims: &serde_json::Map<String, Value>, now_s: f64) -> Option<JwtError> {
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    if number("exp").is_some_and(|exp| now_s > exp) {
        return Some(JwtError::Expired);
    }
    if number("iat").is_some_and(|iat| now_s < iat) {
        return Some(JwtError::UsedBeforeIssued);
    }
    if number("nbf").is_some_and(|nbf| now_s < nbf) {
        return Some(JwtError::NotYetValid);
    }
    None
}

/// A base64url segment, padded or not (jwt-go pads it before decoding).
fn decode(segment: &str) -> Result<Vec<u8>, JwtError> {
    let trimmed = segment.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .map_err(|error| match error {
            base64::DecodeError::InvalidByte(offset, _) => JwtError::Base64(offset),
            base64::DecodeError::InvalidLastSymbol(offset, _) => JwtError::Base64(offset),
            _ => JwtError::Base64(trimmed.len()),
        })
}

fn json_segment(segment: &str) -> Result<serde_json::Map<String, Value>, JwtError> {
    match serde_json::from_slice(&decode(segment)?) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Json),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn token(header: &str, claims: &str, secret: &[u8]) -> String {
        let signed = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).unwrap();
        mac.update(signed.as_bytes());
        format!("{signed}.{}", b64(&mac.finalize().into_bytes()))
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn valid_and_refused_tokens() {
        let good = token(HS256, r#"{"username":"a","exp":2000}"#, b"s");
        assert_eq!(verify(&good, b"s", 1000.0), Ok("a".to_string()));
        assert_eq!(verify(&good, b"other", 1000.0), Err(JwtError::Signature));
        assert_eq!(verify(&good, b"s", 3000.0), Err(JwtError::Expired));
        assert_eq!(verify(&good, b"other", 3000.0), Err(JwtError::Signature));
        assert_eq!(verify("abc", b"s", 0.0), Err(JwtError::Segments));
        assert_eq!(verify("a.b.c.d", b"s", 0.0), Err(JwtError::Segments));
        let no_exp = token(HS256, r#"{"username":"a"}"#, b"s");
        assert_eq!(
            verify(&no_exp, b"s", 0.0),
            Err(JwtError::ExpirationRequired)
        );
        let text_exp = token(HS256, r#"{"username":"a","exp":"2000"}"#, b"s");
        assert_eq!(
            verify(&text_exp, b"s", 0.0),
            Err(JwtError::ExpirationRequired)
        );
        let no_name = token(HS256, r#"{"exp":2000}"#, b"s");
        assert_eq!(
            verify(&no_name, b"s", 0.0),
            Err(JwtError::UsernameNotString)
        );
        let empty = token(HS256, r#"{"exp":2000,"username":""}"#, b"s");
        assert_eq!(verify(&empty, b"s", 0.0), Err(JwtError::UsernameEmpty));
        let none = token(r#"{"alg":"none"}"#, r#"{"exp":2000,"username":"a"}"#, b"s");
        assert_eq!(
            verify(&none, b"s", 0.0),
            Err(JwtError::UnexpectedAlgorithm("none".into()))
        );
        assert!(matches!(
            verify("!.a.b", b"s", 0.0),
            Err(JwtError::Base64(0))
        ));
        assert_eq!(
            verify(&"a".repeat(JWT_TOKEN_BYTES_MAX + 1), b"s", 0.0),
            Err(JwtError::Segments)
        );
    }
}
