//! Authentication for `[http] auth-enabled`: the request's credentials, checked against the
//! meta store's users, become a [`query::authorize::Identity`](crate::query::authorize::Identity).
//!
//! Owns: finding credentials in a request (InfluxDB 1.6.7's order: `u` and `p` parameters
//! when both are non-empty, then `Authorization: Bearer <jwt>`, then `Basic`; Sluice also
//! takes `Token user:password`, as InfluxDB 1.8 does), verifying them ([`jwt`] for bearer
//! tokens, bcrypt for passwords), the cache of verified passwords, and the 401 answers with
//! InfluxDB's texts. It does not decide what a user may do: `/write`'s check is
//! [`write_refusal`], every `/query` statement's is `query::authorize`.
//!
//! The credential cache: a bcrypt check costs about 50 ms, far more than a write, so a
//! verified (user, password) is remembered as `HMAC-SHA-256(process key, password)` beside
//! the bcrypt hash it was checked against. A later request with the same user is accepted
//! when the user's current hash is still that one (a SET PASSWORD or a DROP and CREATE
//! changes the hash, so the entry no longer counts) and its digest equals the cached one
//! (compared in constant time). No password is kept. At most [`AUTH_CACHE_ENTRIES_MAX`]
//! entries; when full it is emptied (a cache miss costs one bcrypt, never correctness).
//!
//! The bcrypt budget: a check runs on the event loop that received the request, which
//! serves nothing else for those 50 ms, and a wrong password is never cached, so a client
//! sending wrong passwords could keep every loop busy. At most
//! `[http] password-checks-per-second` bcrypt checks (default
//! `limits::HTTP_PASSWORD_CHECKS_PER_SECOND_DEFAULT`; 0: no bound) run per second across the
//! process (a token bucket); past it a request whose password is not in the cache is answered 429
//! at once. Cached credentials, that is every client that already logged in, never wait.
//!
//! Invariants: with auth off nothing here runs; with auth on and no admin user yet,
//! credentials are not asked for (InfluxDB's bootstrap: the query layer then allows only the
//! creation of an admin user).

pub mod jwt;

use std::collections::HashMap;
use std::sync::RwLock;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::http::framing::Request;
use crate::http::query_string::query_param;
use crate::http::response::Response;
use crate::meta::{MetaData, UserPrivilege};
use crate::query::authorize::Identity;

/// Most verified credentials remembered (one per user name).
pub const AUTH_CACHE_ENTRIES_MAX: usize = 4096;
/// The text of the 429 answered when the bcrypt budget is spent.
pub const PASSWORD_CHECKS_EXHAUSTED: &str =
    "too many password checks at once: retry with the same credentials shortly";
/// Bytes of the random key the cache's password digests are keyed with.
const CACHE_KEY_BYTES: usize = 32;

/// InfluxDB's 401 text when a request carries no credentials it can read.
pub const UNPARSEABLE_CREDENTIALS: &str = "unable to parse authentication credentials";
/// InfluxDB's 401 text for an unknown user or a wrong password.
pub const AUTHORIZATION_FAILED: &str = "authorization failed";
/// InfluxDB's 401 text for Basic credentials with an empty user name.
pub const USERNAME_REQUIRED: &str = "username required";
/// Sluice's 403 text for a non-admin user on an admin-only endpoint (`/debug/vars`).
pub const ADMIN_REQUIRED: &str = "error authorizing admin access";

/// Credentials found in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `u`/`p`, Basic or Token
    Password {
        /// user name
        username: String,
        /// password as sent
        password: String,
    },
    /// `Authorization: Bearer <token>`
    Bearer(String),
}

/// Finds the credentials of a request: `params` (URL, and for /query the form body first),
/// then the `Authorization` header. `Err` holds the 401 text.
pub fn parse_credentials(
    params: &[(String, String)],
    authorization: Option<&str>,
) -> Result<Credentials, &'static str> {
    match (query_param(params, "u"), query_param(params, "p")) {
        (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
            return Ok(Credentials::Password {
                username: username.to_string(),
                password: password.to_string(),
            })
        }
        _ => {}
    }
    let header = authorization.ok_or(UNPARSEABLE_CREDENTIALS)?;
    if let Some((scheme, token)) = header.split_once(' ') {
        if scheme == "Bearer" && !token.contains(' ') {
            return Ok(Credentials::Bearer(token.to_string()));
        }
        if scheme == "Token" {
            if let Some((username, password)) = token.split_once(':') {
                return Ok(Credentials::Password {
                    username: username.to_string(),
                    password: password.to_string(),
                });
            }
        }
        if scheme.eq_ignore_ascii_case("Basic") {
            return basic(token).ok_or(UNPARSEABLE_CREDENTIALS);
        }
    }
    Err(UNPARSEABLE_CREDENTIALS)
}

/// `user:password` from Basic credentials (Go's `Request.BasicAuth`).
fn basic(encoded: &str) -> Option<Credentials> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(Credentials::Password {
        username: username.to_string(),
        password: password.to_string(),
    })
}

/// What checking a password found.
enum PasswordCheck {
    Right,
    Wrong,
    /// not checked: the bcrypt budget is spent
    NoBudget,
}

/// A verified password, as the cache keeps it.
struct CachedCredential {
    /// the bcrypt hash it was verified against (another hash: the entry does not count)
    password_hash: String,
    /// HMAC-SHA-256 of the password under the process key
    digest: [u8; 32],
}

/// Checks credentials against the users of the meta store; shared by every event loop.
pub struct Authenticator {
    /// `[http] shared-secret`: the HMAC key of JWT bearer tokens (empty: none accepted)
    shared_secret: Vec<u8>,
    /// key of the cache's password digests, random per process
    cache_key: [u8; CACHE_KEY_BYTES],
    /// user name → its last verified password
    cache: RwLock<HashMap<String, CachedCredential>>,
    /// bcrypt checks a second (0: no bound)
    checks_per_second: f64,
    /// bcrypt checks that may run now, and when it was last refilled
    check_budget: std::sync::Mutex<(f64, std::time::Instant)>,
}

impl Authenticator {
    /// An authenticator for tokens signed with `shared_secret`, running at most
    /// `password_checks_per_second` bcrypt checks a second (0: no bound).
    pub fn new(shared_secret: &str, password_checks_per_second: u64) -> Authenticator {
        let checks_per_second = password_checks_per_second as f64;
        Authenticator {
            shared_secret: shared_secret.as_bytes().to_vec(),
            cache_key: random_key(),
            cache: RwLock::new(HashMap::new()),
            checks_per_second,
            check_budget: std::sync::Mutex::new((checks_per_second, std::time::Instant::now())),
        }
    }

    /// Takes one bcrypt check from the budget; false when it is spent.
    fn take_password_check(&self) -> bool {
        if self.checks_per_second == 0.0 {
            return true;
        }
        let mut budget = match self.check_budget.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = std::time::Instant::now();
        let refill = now.saturating_duration_since(budget.1).as_secs_f64() * self.checks_per_second;
        budget.0 = (budget.0 + refill).min(self.checks_per_second);
        budget.1 = now;
        if budget.0 < 1.0 {
            return false;
        }
        budget.0 -= 1.0;
        true
    }

    /// Who sent `request` (with `params` its parameters), or the 401 to answer.
    pub fn identify(
        &self,
        meta: &MetaData,
        params: &[(String, String)],
        request: &Request,
    ) -> Result<Identity, Response> {
        if !meta.admin_user_exists() {
            return Ok(Identity::Anonymous);
        }
        let credentials = parse_credentials(params, request.head.authorization.as_deref())
            .map_err(unauthorized)?;
        self.authenticate(meta, &credentials)
            .map(Identity::User)
            .map_err(|text| {
                if text == PASSWORD_CHECKS_EXHAUSTED {
                    Response::json_error(429, &text)
                } else {
                    unauthorized(&text)
                }
            })
    }

    /// The user `credentials` prove to be, or the 401 text.
    pub fn authenticate(
        &self,
        meta: &MetaData,
        credentials: &Credentials,
    ) -> Result<String, String> {
        match credentials {
            Credentials::Password { username, password } => {
                if username.is_empty() {
                    return Err(USERNAME_REQUIRED.to_string());
                }
                match self.check_password(meta, username, password) {
                    PasswordCheck::Right => Ok(username.clone()),
                    PasswordCheck::Wrong => Err(AUTHORIZATION_FAILED.to_string()),
                    PasswordCheck::NoBudget => Err(PASSWORD_CHECKS_EXHAUSTED.to_string()),
                }
            }
            Credentials::Bearer(token) => {
                let now_s = crate::time::now_ns() as f64 / 1e9;
                let username = jwt::verify(token, &self.shared_secret, now_s)
                    .map_err(|error| error.to_string())?;
                match meta.user(&username) {
                    Some(_) => Ok(username),
                    None => Err(crate::meta::USER_NOT_FOUND.to_string()),
                }
            }
        }
    }

    /// Whether `password` is `username`'s: from the cache, else by bcrypt (then cached),
    /// if the bcrypt budget allows one now.
    fn check_password(&self, meta: &MetaData, username: &str, password: &str) -> PasswordCheck {
        let Some(user) = meta.user(username) else {
            return PasswordCheck::Wrong;
        };
        let digest = self.digest(password);
        let cached = match self.cache.read() {
            Ok(cache) => cache.get(username).is_some_and(|entry| {
                entry.password_hash == user.password_hash && bool::from(entry.digest.ct_eq(&digest))
            }),
            Err(_) => false,
        };
        if cached {
            return PasswordCheck::Right;
        }
        if !self.take_password_check() {
            return PasswordCheck::NoBudget;
        }
        if !bcrypt::verify(password, &user.password_hash).unwrap_or(false) {
            return PasswordCheck::Wrong;
        }
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= AUTH_CACHE_ENTRIES_MAX {
                cache.clear();
            }
            cache.insert(
                username.to_string(),
                CachedCredential {
                    password_hash: user.password_hash.clone(),
                    digest,
                },
            );
        }
        PasswordCheck::Right
    }

    fn digest(&self, password: &str) -> [u8; 32] {
        match Hmac::<Sha256>::new_from_slice(&self.cache_key) {
            Ok(mut mac) => {
                mac.update(password.as_bytes());
                mac.finalize().into_bytes().into()
            }
            Err(_) => unreachable!("BUG: HMAC takes keys of any length"),
        }
    }
}

/// A key from the kernel's random source; if that cannot be read, from the clock and pid
/// (the digests never leave the process, the key only keeps them from being plain hashes).
fn random_key() -> [u8; CACHE_KEY_BYTES] {
    use std::io::Read;
    let mut key = [0u8; CACHE_KEY_BYTES];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
    if read.is_err() {
        let seed = format!("{}-{}", crate::time::now_ns(), std::process::id());
        let mut hasher = <Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut hasher, seed.as_bytes());
        key.copy_from_slice(&sha2::Digest::finalize(hasher));
    }
    key
}

/// A 401 with InfluxDB's `WWW-Authenticate` challenge.
pub fn unauthorized(text: &str) -> Response {
    let mut response = Response::json_error(401, text);
    response
        .headers
        .push(("Www-Authenticate", "Basic realm=\"InfluxDB\"".to_string()));
    response
}

/// Why `identity` may not write to `database` (which exists), as InfluxDB's 403; `None` when
/// it may.
pub fn write_refusal(identity: &Identity, meta: &MetaData, database: &str) -> Option<Response> {
    let text = match identity {
        Identity::Unchecked => return None,
        Identity::Anonymous => format!("user is required to write to database {database:?}"),
        Identity::User(name) => match meta.user(name) {
            Some(user) if user.may(UserPrivilege::Write, database) => return None,
            _ => format!("{name:?} user is not authorized to write to database {database:?}"),
        },
    };
    Some(Response::json_error(403, &text))
}

/// Whether `identity` may read admin-only endpoints (`/debug/vars`), else the answer.
pub fn admin_refusal(identity: &Identity, meta: &MetaData) -> Option<Response> {
    match identity {
        Identity::Unchecked => None,
        Identity::User(name) if meta.user(name).is_some_and(|user| user.admin) => None,
        _ => Some(Response::json_error(403, ADMIN_REQUIRED)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::meta::UserInfo;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn password(username: &str, password: &str) -> Credentials {
        Credentials::Password {
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn credential_forms_in_influxdb_order() {
        let both = params(&[("u", "a"), ("p", "b")]);
        assert_eq!(
            parse_credentials(&both, Some("Basic !!")),
            Ok(password("a", "b"))
        );
        let only_u = params(&[("u", "a")]);
        assert_eq!(
            parse_credentials(&only_u, None),
            Err(UNPARSEABLE_CREDENTIALS)
        );
        assert_eq!(
            parse_credentials(&[], Some("Basic YWRtaW46cHc6eA==")),
            Ok(password("admin", "pw:x"))
        );
        assert_eq!(
            parse_credentials(&[], Some("basic YTpi")),
            Ok(password("a", "b"))
        );
        assert_eq!(
            parse_credentials(&[], Some("Basic YWRtaW4=")),
            Err(UNPARSEABLE_CREDENTIALS)
        );
        assert_eq!(
            parse_credentials(&[], Some("Basic !!!")),
            Err(UNPARSEABLE_CREDENTIALS)
        );
        assert_eq!(
            parse_credentials(&[], Some("Token a:b")),
            Ok(password("a", "b"))
        );
        assert_eq!(
            parse_credentials(&[], Some("Bearer x.y.z")),
            Ok(Credentials::Bearer("x.y.z".into()))
        );
        assert_eq!(
            parse_credentials(&[], Some("Digest x")),
            Err(UNPARSEABLE_CREDENTIALS)
        );
        assert_eq!(
            parse_credentials(&[], Some("")),
            Err(UNPARSEABLE_CREDENTIALS)
        );
    }

    /// A burst of uncached passwords (a guessing client) gets the bcrypt budget and no
    /// more; the budget refills with time.
    #[test]
    fn password_checks_are_budgeted() {
        let rate = crate::limits::HTTP_PASSWORD_CHECKS_PER_SECOND_DEFAULT;
        let authenticator = Authenticator::new("", rate);
        let burst = rate as usize;
        for _ in 0..burst {
            assert!(authenticator.take_password_check());
        }
        assert!(
            !authenticator.take_password_check(),
            "a check past the budget ran"
        );
        std::thread::sleep(std::time::Duration::from_secs_f64(1.5 / rate as f64));
        assert!(
            authenticator.take_password_check(),
            "the budget did not refill"
        );
    }

    #[test]
    fn cache_is_invalidated_by_a_new_hash() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let mut meta = MetaData {
            users: vec![UserInfo {
                name: "a".into(),
                password_hash: hash,
                admin: true,
                privileges: Vec::new(),
            }],
            ..MetaData::default()
        };
        let auth = Authenticator::new("", 0);
        assert_eq!(
            auth.authenticate(&meta, &password("a", "pw")),
            Ok("a".into())
        );
        assert_eq!(auth.cache.read().unwrap().len(), 1);
        assert_eq!(
            auth.authenticate(&meta, &password("a", "pw")),
            Ok("a".into())
        );
        assert!(auth.authenticate(&meta, &password("a", "nope")).is_err());
        meta.users[0].password_hash = bcrypt::hash("new", 4).unwrap();
        assert!(auth.authenticate(&meta, &password("a", "pw")).is_err());
        assert_eq!(
            auth.authenticate(&meta, &password("a", "new")),
            Ok("a".into())
        );
        meta.users.clear();
        assert!(auth.authenticate(&meta, &password("a", "new")).is_err());
        assert_eq!(
            auth.authenticate(&meta, &password("", "x")),
            Err(USERNAME_REQUIRED.to_string())
        );
    }
}
