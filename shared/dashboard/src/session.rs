//! The signed cookies: the session (who is logged in, until when) and the login in flight
//! (its `state`). Both are `v1.<payload>.<HMAC-SHA256>`, base64url, under a key derived from
//! the bot's secret. Nothing in them is secret; the signature makes them unforgeable, and
//! the CSRF token is derived from the session's random id under the same key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use timmybot_domain::{GuildId, UserId};

type HmacSha256 = Hmac<Sha256>;

/// How long a login lasts. Membership is checked with Discord on every request anyway.
pub const SESSION_MS: u64 = 12 * 3_600_000;
/// How long someone has to approve the login on Discord's page.
pub const LOGIN_MS: u64 = 10 * 60_000;
/// Guilds a session lists: more than a person shares with one self-hosted bot, and with
/// names of [`NAME_MAX`] bytes the cookie stays below browsers' 4 KB.
pub const GUILDS_MAX: usize = 25;
/// Longer names are cut (in bytes, on a character boundary).
pub const NAME_MAX: usize = 48;
/// Anything longer is not one of our cookies and is not read.
const COOKIE_MAX: usize = 4096;

pub const SESSION_COOKIE: &str = "timmybot_session";
pub const LOGIN_COOKIE: &str = "timmybot_login";

/// Why the signing key could not be made from the secret.
#[derive(Debug, thiserror::Error)]
#[error("the dashboard's signing key could not be derived from the secret")]
pub struct KeyError;

/// The key every cookie and CSRF token is signed with: an HMAC keyed once, cloned per use.
pub struct Keys {
    mac: HmacSha256,
}

impl Keys {
    /// Derives the dashboard's key from the bot's secret key (HKDF-SHA256), so no second
    /// secret has to be made, and the vault's key is never used for anything else itself.
    pub fn derive(secret: &[u8]) -> Result<Self, KeyError> {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"timmybot-dashboard"), secret);
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(b"session v1", okm.as_mut())
            .map_err(|_| KeyError)?;
        let mac = <HmacSha256 as Mac>::new_from_slice(okm.as_ref()).map_err(|_| KeyError)?;
        Ok(Self { mac })
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    fn sign(&self, payload: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(payload);
        B64.encode(mac.finalize().into_bytes())
    }

    /// `v1.<payload>.<signature>`.
    fn seal<T: Serialize>(&self, value: &T) -> String {
        let json = serde_json::to_vec(value).unwrap_or_default();
        let body = format!("v1.{}", B64.encode(json));
        let sig = self.sign(body.as_bytes());
        format!("{body}.{sig}")
    }

    /// The value, if `cookie` is one we signed; a tampered, truncated or foreign one is `None`.
    fn open<T: for<'de> Deserialize<'de>>(&self, cookie: &str) -> Option<T> {
        if cookie.len() > COOKIE_MAX {
            return None;
        }
        let (body, sig) = cookie.rsplit_once('.')?;
        let payload = body.strip_prefix("v1.")?;
        let sig = B64.decode(sig).ok()?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&sig).ok()?;
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }

    pub fn seal_session(&self, session: &Session) -> String {
        self.seal(session)
    }

    /// The session in `cookie`, if it is ours and unexpired at `now_ms`.
    pub fn open_session(&self, cookie: &str, now_ms: u64) -> Option<Session> {
        self.open::<Session>(cookie)
            .filter(|s| now_ms < s.expires_at_ms)
    }

    pub fn seal_login(&self, login: &PendingLogin) -> String {
        self.seal(login)
    }

    pub fn open_login(&self, cookie: &str, now_ms: u64) -> Option<PendingLogin> {
        self.open::<PendingLogin>(cookie)
            .filter(|l| now_ms < l.expires_at_ms)
    }

    /// The CSRF token for `session`: only someone who can read our pages has it.
    pub fn csrf(&self, session: &Session) -> String {
        self.sign(format!("csrf|{}", session.id).as_bytes())
    }

    /// Whether `token` is `session`'s CSRF token (constant time).
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        let Ok(sig) = B64.decode(token) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(format!("csrf|{}", session.id).as_bytes());
        mac.verify_slice(&sig).is_ok()
    }
}

/// A guild the user shares with the bot, as Discord named it at login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionGuild {
    pub id: GuildId,
    pub name: String,
}

/// Who is logged in. No Discord token: the login used it and let it go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Random, per login: what the CSRF token is bound to.
    pub id: String,
    pub user: UserId,
    pub name: String,
    pub expires_at_ms: u64,
    pub guilds: Vec<SessionGuild>,
}

impl Session {
    pub fn new(user: UserId, name: &str, guilds: Vec<SessionGuild>, now_ms: u64) -> Self {
        Self {
            id: random_token(),
            user,
            name: clip(name),
            expires_at_ms: now_ms.saturating_add(SESSION_MS),
            guilds: guilds
                .into_iter()
                .take(GUILDS_MAX)
                .map(|g| SessionGuild {
                    name: clip(&g.name),
                    ..g
                })
                .collect(),
        }
    }
}

/// The login in flight: the `state` sent to Discord, which must come back to this browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub expires_at_ms: u64,
}

/// 32 random bytes, base64url: session ids and OAuth `state`.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    B64.encode(bytes)
}

/// What the store keeps of a `state`: its SHA-256, so a leaked table holds no live state.
pub fn state_hash(state: &str) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(state.as_bytes()))
}

fn clip(name: &str) -> String {
    let mut end = name.len().min(NAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session::new(
            UserId::new(42).unwrap(),
            "alice",
            vec![SessionGuild {
                id: GuildId::new(7).unwrap(),
                name: "Home".into(),
            }],
            1_000,
        )
    }

    #[test]
    fn a_session_round_trips_until_it_expires() {
        let keys = Keys::derive(b"secret").unwrap();
        let s = session();
        let cookie = keys.seal_session(&s);
        assert_eq!(keys.open_session(&cookie, 2_000), Some(s.clone()));
        assert_eq!(keys.open_session(&cookie, s.expires_at_ms), None);
    }

    #[test]
    fn a_tampered_or_foreign_cookie_is_refused() {
        let keys = Keys::derive(b"secret").unwrap();
        let cookie = keys.seal_session(&session());
        // Someone else's key.
        assert_eq!(
            Keys::derive(b"other").unwrap().open_session(&cookie, 2_000),
            None
        );
        // A payload edited to another user, signature kept.
        let (body, sig) = cookie.rsplit_once('.').unwrap();
        let mut forged = session();
        forged.user = UserId::new(43).unwrap();
        let other_body = keys.seal_session(&forged);
        let (other_body, _) = other_body.rsplit_once('.').unwrap();
        assert_ne!(other_body, body);
        assert_eq!(
            keys.open_session(&format!("{other_body}.{sig}"), 2_000),
            None
        );
        assert_eq!(keys.open_session("v1.e30.AAAA", 2_000), None);
        assert_eq!(keys.open_session("", 2_000), None);
    }

    #[test]
    fn the_csrf_token_belongs_to_its_session() {
        let keys = Keys::derive(b"secret").unwrap();
        let (a, b) = (session(), session());
        let token = keys.csrf(&a);
        assert!(keys.csrf_ok(&a, &token));
        assert!(!keys.csrf_ok(&b, &token), "another login's token");
        assert!(!keys.csrf_ok(&a, ""));
        assert!(!keys.csrf_ok(&a, "not base64!"));
    }

    #[test]
    fn names_and_guild_lists_are_bounded() {
        let many: Vec<_> = (1..=80)
            .map(|i| SessionGuild {
                id: GuildId::new(i).unwrap(),
                name: "🎵".repeat(500),
            })
            .collect();
        let s = Session::new(UserId::new(1).unwrap(), &"x".repeat(500), many, 0);
        assert_eq!(s.guilds.len(), GUILDS_MAX);
        assert_eq!(s.name.len(), NAME_MAX);
        assert!(s.guilds.iter().all(|g| g.name.len() <= NAME_MAX));
        let cookie = Keys::derive(b"k").unwrap().seal_session(&s);
        assert!(cookie.len() < COOKIE_MAX, "{} bytes", cookie.len());
    }
}
