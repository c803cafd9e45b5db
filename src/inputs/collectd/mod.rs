//! STUB: the collectd binary network protocol; replaced by the real implementation.

/// Why a collectd packet was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectdError(pub String);

/// `security-level`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityLevel {
    /// accept unsigned, unencrypted packets
    None,
    /// require signed (or encrypted) packets
    Sign,
    /// require encrypted packets
    Encrypt,
}

/// Decodes collectd packets into line protocol.
#[derive(Debug, Clone)]
pub struct CollectdDecoder {
    _private: (),
}

impl CollectdDecoder {
    /// Builds a decoder: `types_db` is the text of one or more types.db files (`None` = the
    /// bundled standard one); `auth_file` is the text of the auth file (user: password lines).
    pub fn new(
        types_db: Option<&str>,
        security: SecurityLevel,
        auth_file: Option<&str>,
        split_multivalue: bool,
    ) -> Result<CollectdDecoder, String> {
        let _ = (types_db, security, auth_file, split_multivalue);
        Ok(CollectdDecoder { _private: () })
    }

    /// Decodes one datagram, appending line protocol to `out`; returns the number of points.
    pub fn decode_packet(
        &self,
        datagram: &[u8],
        now_ns: i64,
        out: &mut Vec<u8>,
    ) -> Result<usize, CollectdError> {
        let _ = (datagram, now_ns, out);
        Err(CollectdError("not implemented".into()))
    }
}
