//! Discord's request signature: Ed25519 over `X-Signature-Timestamp` followed by the raw body.
//!
//! Discord probes endpoints with bad signatures and drops ones that accept them, so every
//! failure here is a 401 and nothing after this check runs.

use ed25519_dalek::{Signature, VerifyingKey};

/// How far a request's timestamp may be from our clock, either way: a replay guard.
pub const TIMESTAMP_WINDOW_SECS: u64 = 5 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature or timestamp header is missing")]
    Missing,
    #[error("the signature header is not 64 hex-encoded bytes")]
    MalformedSignature,
    #[error("the timestamp header is not a Unix time in seconds")]
    MalformedTimestamp,
    #[error("the timestamp is outside the {TIMESTAMP_WINDOW_SECS} s window")]
    Stale,
    #[error("the signature does not match")]
    BadSignature,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DISCORD_PUBLIC_KEY must be a 32-byte Ed25519 public key in hex")]
pub struct BadPublicKey;

/// Checks requests against the application's public key.
#[derive(Clone)]
pub struct Verifier {
    key: VerifyingKey,
}

impl Verifier {
    /// Parses the hex public key shown in Discord's developer portal.
    pub fn from_hex(public_key: &str) -> Result<Self, BadPublicKey> {
        let bytes: [u8; 32] = hex::decode(public_key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(BadPublicKey)?;
        VerifyingKey::from_bytes(&bytes)
            .map(|key| Self { key })
            .map_err(|_| BadPublicKey)
    }

    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now_secs: u64,
    ) -> Result<(), VerifyError> {
        let (signature, timestamp) = signature.zip(timestamp).ok_or(VerifyError::Missing)?;
        let signature: [u8; 64] = hex::decode(signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(VerifyError::MalformedSignature)?;
        let sent: u64 = timestamp
            .parse()
            .map_err(|_| VerifyError::MalformedTimestamp)?;
        if sent.abs_diff(now_secs) > TIMESTAMP_WINDOW_SECS {
            return Err(VerifyError::Stale);
        }
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        // `verify_strict` also refuses weak keys and non-canonical signatures.
        self.key
            .verify_strict(&message, &Signature::from_bytes(&signature))
            .map_err(|_| VerifyError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    const NOW: u64 = 1_767_225_600;

    fn keys() -> (SigningKey, Verifier) {
        let signing = SigningKey::from_bytes(&[7; 32]);
        let verifier =
            Verifier::from_hex(&hex::encode(signing.verifying_key().as_bytes())).unwrap();
        (signing, verifier)
    }

    fn sign(key: &SigningKey, ts: &str, body: &[u8]) -> String {
        let mut msg = ts.as_bytes().to_vec();
        msg.extend_from_slice(body);
        hex::encode(key.sign(&msg).to_bytes())
    }

    #[test]
    fn accepts_a_good_signature() {
        let (key, v) = keys();
        let ts = NOW.to_string();
        let sig = sign(&key, &ts, b"{\"type\":1}");
        assert_eq!(
            v.verify(Some(&sig), Some(&ts), b"{\"type\":1}", NOW),
            Ok(())
        );
    }

    #[test]
    fn refuses_every_bad_form() {
        let (key, v) = keys();
        let ts = NOW.to_string();
        let body = b"{\"type\":1}";
        let sig = sign(&key, &ts, body);
        assert_eq!(
            v.verify(None, Some(&ts), body, NOW),
            Err(VerifyError::Missing)
        );
        assert_eq!(
            v.verify(Some(&sig), None, body, NOW),
            Err(VerifyError::Missing)
        );
        assert_eq!(
            v.verify(Some("zz"), Some(&ts), body, NOW),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            v.verify(Some(&sig[..126]), Some(&ts), body, NOW),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            v.verify(Some(&sig), Some("soon"), body, NOW),
            Err(VerifyError::MalformedTimestamp)
        );
        assert_eq!(
            v.verify(Some(&sig), Some(&ts), b"{\"type\":2}", NOW),
            Err(VerifyError::BadSignature)
        );
        let other = sign(&SigningKey::from_bytes(&[8; 32]), &ts, body);
        assert_eq!(
            v.verify(Some(&other), Some(&ts), body, NOW),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn the_timestamp_window_is_five_minutes_each_way() {
        let (key, v) = keys();
        for (offset, ok) in [(-300i64, true), (300, true), (-301, false), (301, false)] {
            let sent = NOW.checked_add_signed(offset).unwrap().to_string();
            let sig = sign(&key, &sent, b"x");
            let got = v.verify(Some(&sig), Some(&sent), b"x", NOW);
            assert_eq!(got.is_ok(), ok, "offset {offset}: {got:?}");
        }
    }

    #[test]
    fn the_public_key_must_be_32_hex_bytes() {
        assert!(Verifier::from_hex("abcd").is_err());
        assert!(Verifier::from_hex(&"zz".repeat(32)).is_err());
    }
}
