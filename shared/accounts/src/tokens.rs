//! What the vault seals: a linked account's tokens, and a link the user has started.
//! Both serialise to JSON inside the sealed blob; neither ever prints a secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use timmybot_domain::{Platform, SealedBlob, UserId};

use crate::vault::{Vault, VaultError};

/// A linked account: its tokens, the scopes granted, and whether it must be linked again.
pub struct Tokens {
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    pub expires_at_ms: u64,
    pub scopes: Vec<String>,
    pub linked_at_ms: u64,
    /// The platform refused the refresh token (`invalid_grant`): the user must link again.
    pub needs_relink: bool,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("scopes", &self.scopes)
            .field("linked_at_ms", &self.linked_at_ms)
            .field("needs_relink", &self.needs_relink)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct TokensWire<'a> {
    access: &'a str,
    refresh: Option<&'a str>,
    expires_at_ms: u64,
    scopes: Vec<String>,
    linked_at_ms: u64,
    #[serde(default)]
    needs_relink: bool,
}

impl Tokens {
    pub fn seal(&self, vault: &Vault, user: UserId, platform: Platform) -> SealedBlob {
        let wire = TokensWire {
            access: self.access.expose_secret(),
            refresh: self.refresh.as_ref().map(|r| r.expose_secret()),
            expires_at_ms: self.expires_at_ms,
            scopes: self.scopes.clone(),
            linked_at_ms: self.linked_at_ms,
            needs_relink: self.needs_relink,
        };
        seal_json(vault, user, platform, &wire)
    }

    pub fn open(
        vault: &Vault,
        user: UserId,
        platform: Platform,
        blob: &SealedBlob,
    ) -> Result<Self, VaultError> {
        let plain = vault.open(user, platform, blob)?;
        let wire: TokensWire<'_> = parse(&plain)?;
        Ok(Self {
            access: SecretString::from(wire.access.to_owned()),
            refresh: wire.refresh.map(|r| SecretString::from(r.to_owned())),
            expires_at_ms: wire.expires_at_ms,
            scopes: wire.scopes,
            linked_at_ms: wire.linked_at_ms,
            needs_relink: wire.needs_relink,
        })
    }
}

/// A link in progress, sealed on the user item with its own expiry.
pub enum Pending {
    /// Google's device flow: the code the bot polls with, and what the user types.
    Device {
        device_code: SecretString,
        user_code: String,
        verification_url: String,
        /// The wait Google asked for between requests (it grows on `slow_down`).
        interval_s: u64,
    },
    /// Spotify's authorization code with PKCE: the state's nonce and the verifier.
    Pkce {
        nonce: SecretString,
        verifier: SecretString,
        redirect_uri: String,
    },
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device { interval_s, .. } => f
                .debug_struct("Pending::Device")
                .field("interval_s", interval_s)
                .finish_non_exhaustive(),
            Self::Pkce { redirect_uri, .. } => f
                .debug_struct("Pending::Pkce")
                .field("redirect_uri", redirect_uri)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
enum PendingWire<'a> {
    Device {
        device_code: &'a str,
        user_code: &'a str,
        verification_url: &'a str,
        interval_s: u64,
    },
    Pkce {
        nonce: &'a str,
        verifier: &'a str,
        redirect_uri: &'a str,
    },
}

impl Pending {
    pub fn seal(&self, vault: &Vault, user: UserId, platform: Platform) -> SealedBlob {
        let wire = match self {
            Self::Device {
                device_code,
                user_code,
                verification_url,
                interval_s,
            } => PendingWire::Device {
                device_code: device_code.expose_secret(),
                user_code,
                verification_url,
                interval_s: *interval_s,
            },
            Self::Pkce {
                nonce,
                verifier,
                redirect_uri,
            } => PendingWire::Pkce {
                nonce: nonce.expose_secret(),
                verifier: verifier.expose_secret(),
                redirect_uri,
            },
        };
        seal_json(vault, user, platform, &wire)
    }

    pub fn open(
        vault: &Vault,
        user: UserId,
        platform: Platform,
        blob: &SealedBlob,
    ) -> Result<Self, VaultError> {
        let plain = vault.open(user, platform, blob)?;
        let wire: PendingWire<'_> = parse(&plain)?;
        Ok(match wire {
            PendingWire::Device {
                device_code,
                user_code,
                verification_url,
                interval_s,
            } => Self::Device {
                device_code: SecretString::from(device_code.to_owned()),
                user_code: user_code.to_owned(),
                verification_url: verification_url.to_owned(),
                interval_s,
            },
            PendingWire::Pkce {
                nonce,
                verifier,
                redirect_uri,
            } => Self::Pkce {
                nonce: SecretString::from(nonce.to_owned()),
                verifier: SecretString::from(verifier.to_owned()),
                redirect_uri: redirect_uri.to_owned(),
            },
        })
    }
}

/// Seals `wire` as JSON. The plaintext is a secret too: it is wiped when dropped.
fn seal_json<T: Serialize>(
    vault: &Vault,
    user: UserId,
    platform: Platform,
    wire: &T,
) -> SealedBlob {
    // Serialising strings and numbers cannot fail.
    let json = secrecy::SecretBox::new(Box::new(serde_json::to_vec(wire).unwrap_or_default()));
    vault.seal(user, platform, json.expose_secret())
}

/// What an opened blob holds; borrowed from the plaintext, which the caller keeps.
fn parse<'a, T: Deserialize<'a>>(plain: &'a secrecy::SecretBox<Vec<u8>>) -> Result<T, VaultError> {
    serde_json::from_slice(plain.expose_secret()).map_err(|_| VaultError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        let key = SecretString::from("11".repeat(32));
        Vault::new(&key, None).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_never_print() {
        let v = vault();
        let u = UserId::new(5).unwrap();
        let t = Tokens {
            access: SecretString::from("ya29.access-secret".to_owned()),
            refresh: Some(SecretString::from("1//refresh-secret".to_owned())),
            expires_at_ms: 10,
            scopes: vec!["youtube.readonly".into()],
            linked_at_ms: 3,
            needs_relink: false,
        };
        let blob = t.seal(&v, u, Platform::Youtube);
        let back = Tokens::open(&v, u, Platform::Youtube, &blob).unwrap();
        assert_eq!(back.access.expose_secret(), "ya29.access-secret");
        assert_eq!(back.refresh.unwrap().expose_secret(), "1//refresh-secret");
        assert_eq!((back.expires_at_ms, back.linked_at_ms), (10, 3));
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(Tokens::open(&v, u, Platform::Spotify, &blob).is_err());
    }

    #[test]
    fn a_pending_link_round_trips_and_never_prints() {
        let v = vault();
        let u = UserId::new(5).unwrap();
        let p = Pending::Pkce {
            nonce: SecretString::from("nonce-secret".to_owned()),
            verifier: SecretString::from("verifier-secret".to_owned()),
            redirect_uri: "http://127.0.0.1:8888/callback".into(),
        };
        let blob = p.seal(&v, u, Platform::Spotify);
        let Pending::Pkce { verifier, .. } =
            Pending::open(&v, u, Platform::Spotify, &blob).unwrap()
        else {
            panic!("a PKCE link opens as one");
        };
        assert_eq!(verifier.expose_secret(), "verifier-secret");
        assert!(!format!("{p:?}").contains("secret"));
    }
}
