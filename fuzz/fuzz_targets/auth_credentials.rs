//! Fuzz target for the credentials a request carries (`src/http/auth.rs`) and the JWT
//! bearer tokens it may hold (`src/http/auth/jwt.rs`).
//!
//! No panic: the input is split into an `Authorization` header value and `u`/`p` parameters
//! for `parse_credentials` (with and without the header), and the whole input, and any bearer
//! token found, are verified as tokens under a fixed secret at a fixed time. Checked: `u`/`p`
//! both non-empty win as given; a Bearer result is the header's token. Property: a token built
//! here validly from claims the input chooses (username, algorithm, `exp`, optional `iat`,
//! `nbf` and an extra claim) verifies to its username, and the same token with one byte
//! changed (position and byte from the input; changes that leave UTF-8 skipped) does not
//! verify to that username.
#![no_main]

use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sluice::http::auth::{jwt, parse_credentials, Credentials};

const SECRET: &[u8] = b"fuzz shared secret";
const NOW_S: f64 = 1_700_000_000.0;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(algorithm: &str, signed: &str) -> Vec<u8> {
    macro_rules! mac {
        ($digest:ty) => {{
            let mut mac = <Hmac<$digest> as Mac>::new_from_slice(SECRET).unwrap();
            mac.update(signed.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }};
    }
    match algorithm {
        "HS256" => mac!(sha2::Sha256),
        "HS384" => mac!(sha2::Sha384),
        _ => mac!(sha2::Sha512),
    }
}

/// Splits `data` in three at two positions taken from its first two bytes.
fn split3(data: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let [a, b, rest @ ..] = data else {
        return (data, b"", b"");
    };
    let first = usize::from(*a).min(rest.len());
    let (one, rest) = rest.split_at(first);
    let second = usize::from(*b).min(rest.len());
    let (two, three) = rest.split_at(second);
    (one, two, three)
}

fn check_parse(data: &[u8]) {
    let (header, u, p) = split3(data);
    let header = String::from_utf8_lossy(header);
    let (u, p) = (String::from_utf8_lossy(u), String::from_utf8_lossy(p));
    let params = vec![
        ("u".to_string(), u.to_string()),
        ("p".to_string(), p.to_string()),
    ];
    for authorization in [Some(&*header), None] {
        let found = parse_credentials(&params, authorization);
        if !u.is_empty() && !p.is_empty() {
            let expected = Credentials::Password {
                username: u.to_string(),
                password: p.to_string(),
            };
            assert_eq!(found, Ok(expected));
            continue;
        }
        match found {
            Ok(Credentials::Bearer(token)) => {
                assert_eq!(authorization, Some(format!("Bearer {token}").as_str()));
                let _ = jwt::verify(&token, SECRET, NOW_S);
            }
            Ok(Credentials::Password { .. }) => assert!(authorization.is_some()),
            Err(text) => assert_eq!(text, "unable to parse authentication credentials"),
        }
    }
    let _ = jwt::verify(&String::from_utf8_lossy(data), SECRET, NOW_S);
}

fn check_valid_token(data: &[u8]) {
    let [mode, exp, at, position_hi, position_lo, byte, rest @ ..] = data else {
        return;
    };
    let (username, extra_key, extra_value) = split3(rest);
    let username = String::from_utf8_lossy(username).to_string();
    if username.is_empty() {
        return;
    }
    let algorithm = ["HS256", "HS384", "HS512"][usize::from(mode % 3)];
    let mut claims = serde_json::Map::new();
    claims.insert("username".into(), username.clone().into());
    let exp = NOW_S + f64::from(*exp) * 1000.0;
    if mode & 4 == 0 {
        claims.insert("exp".into(), (exp as i64).into());
    } else {
        claims.insert("exp".into(), (exp + 0.5).into());
    }
    let past = NOW_S as i64 - i64::from(*at);
    if mode & 8 != 0 {
        claims.insert("iat".into(), past.into());
    }
    if mode & 16 != 0 {
        claims.insert("nbf".into(), past.into());
    }
    if mode & 32 != 0 {
        let key = String::from_utf8_lossy(extra_key).to_string();
        if !["username", "exp", "iat", "nbf"].contains(&key.as_str()) {
            claims.insert(key, String::from_utf8_lossy(extra_value).into());
        }
    }
    let header = serde_json::json!({"alg": algorithm, "typ": "JWT"});
    let signed = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(serde_json::Value::Object(claims).to_string().as_bytes())
    );
    let token = format!("{signed}.{}", b64(&sign(algorithm, &signed)));
    if token.len() > jwt::JWT_TOKEN_BYTES_MAX {
        assert_eq!(
            jwt::verify(&token, SECRET, NOW_S),
            Err(jwt::JwtError::Segments)
        );
        return;
    }
    assert_eq!(
        jwt::verify(&token, SECRET, NOW_S),
        Ok(username.clone()),
        "{token}"
    );
    let mut changed = token.clone().into_bytes();
    let position = usize::from(u16::from_be_bytes([*position_hi, *position_lo])) % changed.len();
    if changed[position] == *byte {
        return;
    }
    changed[position] = *byte;
    let Ok(changed) = String::from_utf8(changed) else {
        return;
    };
    assert_ne!(
        jwt::verify(&changed, SECRET, NOW_S),
        Ok(username),
        "{token} -> {changed}"
    );
}

fuzz_target!(|data: &[u8]| {
    check_parse(data);
    check_valid_token(data);
});
