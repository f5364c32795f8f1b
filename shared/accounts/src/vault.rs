//! The vault: per-user tokens sealed with XChaCha20-Poly1305 and kept on the user's own item.
//!
//! A blob is `version (1) | key id (8) | nonce (24) | ciphertext and tag`. The associated
//! data binds it to the user, the platform and the key, so a blob copied to another user or
//! platform does not open, and one sealed under another key says which. The key id is a hash
//! of the key: naming a key never reveals it, and older keys (`TOKEN_VAULT_KEYS`) need no ids
//! of their own.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use timmybot_domain::{Platform, SealedBlob, UserId};

const VERSION: u8 = 1;
const ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const HEADER: usize = 1 + ID_LEN + NONCE_LEN;
/// The most keys the vault holds: the current one and older ones being rotated out.
pub const KEYS_MAX: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key itself is never shown.
    #[error("a vault key must be 32 bytes as 64 hex digits")]
    BadKey,
    #[error("the vault holds at most {KEYS_MAX} keys")]
    TooManyKeys,
    #[error("the sealed token is not one this vault wrote")]
    Malformed,
    #[error("the sealed token was sealed with a key this vault does not hold (key {0})")]
    UnknownKey(String),
    /// Tampered with, or moved to another user or platform.
    #[error("the sealed token does not open: it was changed or belongs to someone else")]
    Forged,
    #[error("the vault key file {path} could not be {what}: {source}")]
    KeyFile {
        path: String,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

struct VaultKey {
    id: [u8; ID_LEN],
    cipher: XChaCha20Poly1305,
}

impl VaultKey {
    fn parse(hex_key: &str) -> Result<Self, VaultError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_key.trim(), &mut bytes).map_err(|_| VaultError::BadKey)?;
        let digest = Sha256::new()
            .chain_update(b"timmybot vault key id")
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        let cipher = XChaCha20Poly1305::new((&bytes).into());
        bytes.fill(0);
        Ok(Self { id, cipher })
    }
}

/// The current key, which seals, and older keys, which only open.
pub struct Vault {
    current: VaultKey,
    older: Vec<VaultKey>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("current", &hex::encode(self.current.id))
            .field("older", &self.older.len())
            .finish()
    }
}

/// What the associated data binds a blob to.
fn associated(user: UserId, platform: Platform, key_id: &[u8]) -> Vec<u8> {
    let mut ad = b"timmybot-vault-v1".to_vec();
    ad.extend_from_slice(&user.get().to_be_bytes());
    ad.push(0);
    ad.extend_from_slice(platform.as_str().as_bytes());
    ad.push(0);
    ad.extend_from_slice(key_id);
    ad
}

impl Vault {
    /// `current` (`token_vault_key`) and the older keys still to be read (`TOKEN_VAULT_KEYS`,
    /// comma-separated), each 64 hex digits.
    pub fn new(current: &SecretString, older: Option<&SecretString>) -> Result<Self, VaultError> {
        let older = older
            .map(|o| {
                o.expose_secret()
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(VaultKey::parse)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        if older.len() + 1 > KEYS_MAX {
            return Err(VaultError::TooManyKeys);
        }
        Ok(Self {
            current: VaultKey::parse(current.expose_secret())?,
            older,
        })
    }

    /// The vault's key: the configured one, else the key file's (made if missing), else none.
    /// The dashboard derives its signing key from the same one.
    pub fn resolve_key(
        configured: Option<&SecretString>,
        key_file: Option<&Path>,
    ) -> Result<Option<SecretString>, VaultError> {
        match (configured, key_file) {
            (Some(key), _) => Ok(Some(key.clone())),
            (None, Some(path)) => {
                let (key, made) = Self::key_file(path)?;
                if made {
                    tracing::info!(
                        path = %path.display(),
                        "made a vault key for linked accounts; keep this file with the database"
                    );
                }
                Ok(Some(key))
            }
            (None, None) => Ok(None),
        }
    }

    /// The key in the file at `path`, made (32 random bytes, readable by this user alone) if
    /// there is none: for `timmybot serve` with no key configured. Returns whether it was made.
    pub fn key_file(path: &Path) -> Result<(SecretString, bool), VaultError> {
        let fail = |what, source| VaultError::KeyFile {
            path: path.display().to_string(),
            what,
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key = SecretString::from(text.trim().to_owned());
                VaultKey::parse(key.expose_secret())?;
                Ok((key, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let key = SecretString::from(hex::encode(bytes));
                bytes.fill(0);
                write_private(path, key.expose_secret()).map_err(|e| fail("written", e))?;
                Ok((key, true))
            }
            Err(e) => Err(fail("read", e)),
        }
    }

    /// Seals `plaintext` for `user` on `platform` under the current key.
    pub fn seal(&self, user: UserId, platform: Platform, plaintext: &[u8]) -> SealedBlob {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ad = associated(user, platform, &self.current.id);
        // Encryption fails only past XChaCha20's length limit, which no token nears.
        let sealed = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &ad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        SealedBlob(out)
    }

    /// Opens a blob sealed for `user` on `platform`, under the current key or an older one.
    pub fn open(
        &self,
        user: UserId,
        platform: Platform,
        blob: &SealedBlob,
    ) -> Result<SecretBox<Vec<u8>>, VaultError> {
        let bytes = &blob.0;
        if bytes.len() < HEADER + 16 || bytes[0] != VERSION {
            return Err(VaultError::Malformed);
        }
        let id = &bytes[1..1 + ID_LEN];
        let key = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == id)
            .ok_or_else(|| VaultError::UnknownKey(hex::encode(id)))?;
        let nonce = XNonce::from_slice(&bytes[1 + ID_LEN..HEADER]);
        let ad = associated(user, platform, id);
        key.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &bytes[HEADER..],
                    aad: &ad,
                },
            )
            .map(|plain| SecretBox::new(Box::new(plain)))
            .map_err(|_| VaultError::Forged)
    }

    /// Whether `blob` was sealed under an older key and should be sealed again.
    pub fn is_stale(&self, blob: &SealedBlob) -> bool {
        blob.0.get(1..1 + ID_LEN) != Some(&self.current.id[..])
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    // Never over an existing key: that would lock every linked account out.
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff";

    fn vault(current: &str, older: Option<&str>) -> Vault {
        let older = older.map(|o| SecretString::from(o.to_owned()));
        Vault::new(&SecretString::from(current.to_owned()), older.as_ref()).unwrap()
    }

    fn u(n: u64) -> UserId {
        UserId::new(n).unwrap()
    }

    #[test]
    fn a_token_opens_for_its_owner_and_platform_only() {
        let v = vault(K1, None);
        let blob = v.seal(u(1), Platform::Spotify, b"refresh-token");
        let opened = v.open(u(1), Platform::Spotify, &blob).unwrap();
        assert_eq!(opened.expose_secret().as_slice(), b"refresh-token");
        assert!(matches!(
            v.open(u(2), Platform::Spotify, &blob),
            Err(VaultError::Forged)
        ));
        assert!(matches!(
            v.open(u(1), Platform::Youtube, &blob),
            Err(VaultError::Forged)
        ));
        assert!(
            !blob.0.windows(13).any(|w| w == b"refresh-token"),
            "sealed, not encoded"
        );
        assert_ne!(
            v.seal(u(1), Platform::Spotify, b"x").0,
            v.seal(u(1), Platform::Spotify, b"x").0,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_tampered_blob_or_a_wrong_key_fails() {
        let v = vault(K1, None);
        let blob = v.seal(u(1), Platform::Youtube, b"token");
        for at in [HEADER, HEADER + 3, blob.0.len() - 1] {
            let mut bad = blob.clone();
            bad.0[at] ^= 1;
            assert!(matches!(
                v.open(u(1), Platform::Youtube, &bad),
                Err(VaultError::Forged)
            ));
        }
        let mut nonce = blob.clone();
        nonce.0[1 + ID_LEN] ^= 1;
        assert!(matches!(
            v.open(u(1), Platform::Youtube, &nonce),
            Err(VaultError::Forged)
        ));
        let other = vault(K2, None);
        assert!(matches!(
            other.open(u(1), Platform::Youtube, &blob),
            Err(VaultError::UnknownKey(_))
        ));
        assert!(matches!(
            v.open(u(1), Platform::Youtube, &SealedBlob(vec![1, 2, 3])),
            Err(VaultError::Malformed)
        ));
    }

    #[test]
    fn a_new_key_takes_over_and_the_old_one_still_opens() {
        let old = vault(K1, None);
        let blob = old.seal(u(1), Platform::Spotify, b"kept");
        let rotated = vault(K2, Some(K1));
        assert_eq!(
            rotated
                .open(u(1), Platform::Spotify, &blob)
                .unwrap()
                .expose_secret()
                .as_slice(),
            b"kept"
        );
        assert!(rotated.is_stale(&blob));
        let fresh = rotated.seal(u(1), Platform::Spotify, b"kept");
        assert!(!rotated.is_stale(&fresh));
        assert!(
            old.open(u(1), Platform::Spotify, &fresh).is_err(),
            "sealed under the new key"
        );
    }

    #[test]
    fn keys_never_show_and_bad_ones_are_refused() {
        let v = vault(K1, Some(K2));
        let shown = format!("{v:?}");
        assert!(!shown.contains(K1) && !shown.contains(K2), "{shown}");
        let bad = Vault::new(&SecretString::from("abc".to_owned()), None).err();
        assert!(matches!(bad, Some(VaultError::BadKey)));
        assert!(!VaultError::BadKey.to_string().contains("abc"));
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.key");
        let (made, created) = Vault::key_file(&path).unwrap();
        assert!(created);
        let (again, created) = Vault::key_file(&path).unwrap();
        assert!(!created);
        assert_eq!(made.expose_secret(), again.expose_secret());
        assert!(Vault::new(&made, None).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
