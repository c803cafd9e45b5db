//! collectd's signed (part 0x0200) and encrypted (part 0x0210) packets, and the auth file.
//!
//! Owns checking signatures, decrypting, and reading the `auth-file` text; the primitives
//! (SHA-256, HMAC, AES-256 in OFB mode, SHA-1) come from RustCrypto crates.
//!
//! Signature part payload: `hmac[32] username`. The HMAC-SHA-256, keyed with the user's
//! password, covers `username` followed by every byte after the signature part.
//!
//! Encryption part payload: `username_length: u16 BE, username, iv[16], ciphertext`. The key
//! is SHA-256(password); AES-256-OFB with `iv` turns the ciphertext into
//! `sha1(plaintext)[20] plaintext`. As in go-collectd, the part must hold more than
//! `42 + username_length` bytes after the length field.
//!
//! Auth file (go-collectd's `AuthFile`): one `user: password` per line, split at the first
//! `:`, both sides trimmed of white space, lines without `:` or whose user starts with `#`
//! ignored. Only lines ended by `\n` count: a last line without one is not read.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

use super::CollectdError;

/// Bytes of the HMAC-SHA-256 at the start of a signature part.
pub const SIGNATURE_BYTES: usize = 32;
/// Bytes of the AES initialisation vector in an encryption part.
pub const IV_BYTES: usize = 16;
/// Bytes of the SHA-1 checksum ahead of the plaintext.
pub const CHECKSUM_BYTES: usize = 20;
/// Bytes of the username length field in an encryption part.
const USERNAME_LENGTH_BYTES: usize = 2;
/// go-collectd rejects an encryption part unless more than this many bytes plus the username
/// follow the length field.
const ENCRYPTED_OVERHEAD_MIN_BYTES: usize = 42;

type HmacSha256 = Hmac<Sha256>;
type Aes256Ofb = ofb::Ofb<aes::Aes256>;

/// Passwords by user, from the auth file.
#[derive(Debug, Clone, Default)]
pub struct AuthFile {
    passwords: HashMap<Vec<u8>, Vec<u8>>,
}

impl AuthFile {
    /// Parses the text of an auth file.
    pub fn parse(text: &str) -> AuthFile {
        let mut passwords = HashMap::new();
        let mut lines = text.split('\n');
        // The text after the last `\n` is not a complete line and is not read.
        lines.next_back();
        for line in lines {
            let line = line.trim_matches([' ', '\r', '\n', '\t', '\u{b}']);
            let Some((user, password)) = line.split_once(':') else {
                continue;
            };
            let user = user.trim();
            if user.starts_with('#') {
                continue;
            }
            passwords.insert(
                user.as_bytes().to_vec(),
                password.trim().as_bytes().to_vec(),
            );
        }
        AuthFile { passwords }
    }

    /// The password of `user`.
    fn password(&self, user: &[u8]) -> Result<&[u8], CollectdError> {
        self.passwords.get(user).map(Vec::as_slice).ok_or_else(|| {
            CollectdError(format!("no such user: {:?}", String::from_utf8_lossy(user)))
        })
    }
}

/// Checks a signature part's payload against the bytes that follow the part.
pub fn verify_signature(
    part: &[u8],
    signed: &[u8],
    auth: Option<&AuthFile>,
) -> Result<(), CollectdError> {
    let auth = auth.ok_or_else(|| CollectdError("no PasswordLookup available".into()))?;
    let (Some(expected), Some(user)) = (part.get(..SIGNATURE_BYTES), part.get(SIGNATURE_BYTES..))
    else {
        return Err(part_too_small(part));
    };
    if user.is_empty() {
        return Err(part_too_small(part));
    }
    let password = auth.password(user)?;
    let mut mac = HmacSha256::new_from_slice(password)
        .map_err(|_| CollectdError("BUG: HMAC refused a key".into()))?;
    mac.update(user);
    mac.update(signed);
    mac.verify_slice(expected)
        .map_err(|_| CollectdError("SHA256 verification failure".into()))
}

fn part_too_small(part: &[u8]) -> CollectdError {
    CollectdError(format!("part too small ({} bytes)", part.len()))
}

/// Decrypts an encryption part's payload, returning the checked plaintext.
pub fn decrypt(part: &[u8], auth: Option<&AuthFile>) -> Result<Vec<u8>, CollectdError> {
    decrypt_inner(part, auth).map_err(|_| CollectdError("AES256 decryption failure".into()))
}

fn decrypt_inner(part: &[u8], auth: Option<&AuthFile>) -> Result<Vec<u8>, CollectdError> {
    let auth = auth.ok_or_else(|| CollectdError("no PasswordLookup available".into()))?;
    let invalid = || CollectdError("invalid encrypted part".into());
    let length_bytes = part.get(..USERNAME_LENGTH_BYTES).ok_or_else(invalid)?;
    let rest = part.get(USERNAME_LENGTH_BYTES..).ok_or_else(invalid)?;
    let username_length = usize::from(u16::from_be_bytes(
        <[u8; USERNAME_LENGTH_BYTES]>::try_from(length_bytes).map_err(|_| invalid())?,
    ));
    if ENCRYPTED_OVERHEAD_MIN_BYTES + username_length >= rest.len() {
        return Err(invalid());
    }
    let (user, rest) = rest.split_at_checked(username_length).ok_or_else(invalid)?;
    let password = auth.password(user)?;
    let (iv, ciphertext) = rest.split_at_checked(IV_BYTES).ok_or_else(invalid)?;
    let key = Sha256::digest(password);
    let mut cipher = Aes256Ofb::new_from_slices(&key, iv).map_err(|_| invalid())?;
    let mut plaintext = ciphertext.to_vec();
    cipher.apply_keystream(&mut plaintext);
    let (checksum, body) = plaintext
        .split_at_checked(CHECKSUM_BYTES)
        .ok_or_else(invalid)?;
    if Sha1::digest(body).as_slice() != checksum {
        return Err(CollectdError("checksum mismatch".into()));
    }
    plaintext.drain(..CHECKSUM_BYTES);
    Ok(plaintext)
}

/// Builds a signature part followed by `rest` (for tests and the fuzz target's seeds).
pub fn sign_for_test(rest: &[u8], user: &[u8], password: &[u8]) -> Vec<u8> {
    let mut mac = match HmacSha256::new_from_slice(password) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(user);
    mac.update(rest);
    let digest = mac.finalize().into_bytes();
    let mut out = Vec::with_capacity(rest.len() + user.len() + 36);
    out.extend_from_slice(&super::parts::PART_SIGN_SHA256.to_be_bytes());
    let length = 4 + SIGNATURE_BYTES + user.len();
    out.extend_from_slice(&u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&digest);
    out.extend_from_slice(user);
    out.extend_from_slice(rest);
    out
}

/// Builds an encryption part holding `plain` (for tests and the fuzz target's seeds).
pub fn encrypt_for_test(plain: &[u8], user: &[u8], password: &[u8], iv: [u8; 16]) -> Vec<u8> {
    let key = Sha256::digest(password);
    let mut secret = Sha1::digest(plain).to_vec();
    secret.extend_from_slice(plain);
    if let Ok(mut cipher) = Aes256Ofb::new_from_slices(&key, &iv) {
        cipher.apply_keystream(&mut secret);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&super::parts::PART_ENCRYPT_AES256.to_be_bytes());
    let length = 4 + USERNAME_LENGTH_BYTES + user.len() + IV_BYTES + secret.len();
    out.extend_from_slice(&u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&u16::try_from(user.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(user);
    out.extend_from_slice(&iv);
    out.extend_from_slice(&secret);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_file_rules() {
        let auth = AuthFile::parse(
            "# comment\nalice: w0nderl4nd\nbob:   bu1|der\n  carol :  spaced pass  \n\
             #dave: hidden\neve:colon:inside\nnocolon\nlast: noeol",
        );
        assert_eq!(auth.password(b"alice").ok(), Some(&b"w0nderl4nd"[..]));
        assert_eq!(auth.password(b"bob").ok(), Some(&b"bu1|der"[..]));
        assert_eq!(auth.password(b"carol").ok(), Some(&b"spaced pass"[..]));
        assert_eq!(auth.password(b"eve").ok(), Some(&b"colon:inside"[..]));
        assert!(auth.password(b"#dave").is_err());
        assert!(auth.password(b"last").is_err());
        assert!(auth.password(b"nocolon").is_err());
    }

    #[test]
    fn sign_and_encrypt_round_trip() {
        let auth = AuthFile::parse("alice: secret\n");
        let signed = sign_for_test(b"payload", b"alice", b"secret");
        let part = signed.get(4..4 + 32 + 5).unwrap_or_default();
        assert_eq!(verify_signature(part, b"payload", Some(&auth)), Ok(()));
        assert!(verify_signature(part, b"payloae", Some(&auth)).is_err());
        assert!(verify_signature(part, b"payload", None).is_err());
        let plain = b"some plaintext bytes";
        let encrypted = encrypt_for_test(plain, b"alice", b"secret", [7; 16]);
        let payload = encrypted.get(4..).unwrap_or_default();
        assert_eq!(decrypt(payload, Some(&auth)).ok(), Some(plain.to_vec()));
        let wrong = AuthFile::parse("alice: other\n");
        assert!(decrypt(payload, Some(&wrong)).is_err());
        assert!(decrypt(&[0], Some(&auth)).is_err());
        assert!(decrypt(&[], Some(&auth)).is_err());
    }
}
