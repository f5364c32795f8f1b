//! Linking, checking, refreshing and unlinking accounts: the OAuth flows joined to the vault
//! and the user item. Everything is written with the store's conditional update, so two
//! presses of the same button cannot both use one code.

mod refresh;
mod spotify;
mod youtube;

use std::sync::Arc;

use timmybot_domain::{Clock, PendingAuth, Platform, RetryPolicy, SealedBlob, UserId, UserProfile};
use timmybot_store::{update_user, SharedStore, StoreError};

use crate::oauth::{GoogleOAuth, Grant, OAuthError, SpotifyOAuth};
use crate::tokens::{Pending, Tokens};
use crate::vault::{Vault, VaultError};

/// A Spotify link must come back within 10 minutes.
pub const PKCE_TTL_MS: u64 = 10 * 60 * 1000;
/// Refresh this long before the access token expires, so no request carries a dying token.
pub const REFRESH_MARGIN_MS: u64 = 60 * 1000;
/// `state` is `<user id>.<nonce>`: a snowflake, a dot and 22 base64url characters.
pub const STATE_MAX: usize = 64;
/// Authorization codes are a few hundred characters.
pub const CODE_MAX: usize = 1024;

/// Why an account action did not happen. The user-facing ones read as sentences.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "Linking {0} isn't set up on this bot: its owner hasn't added the {0} app's credentials."
    )]
    NotConfigured(PlatformName),
    #[error("You haven't linked {0}. Use /auth-{1} first.")]
    NotLinked(PlatformName, &'static str),
    #[error("{0} no longer accepts your link (it was revoked or expired). Link it again with /auth-{1}.")]
    NeedsRelink(PlatformName, &'static str),
    #[error("There is no link in progress. Start one with /auth-youtube or /auth-spotify.")]
    NothingPending,
    /// `state` did not match a link in progress: unknown, used, expired or someone else's.
    #[error("That link isn't valid: {0}. Start again with /auth-spotify.")]
    StateRefused(&'static str),
    #[error("{0}")]
    OAuth(#[from] OAuthError),
    #[error("{0}")]
    Library(#[from] crate::library::LibraryError),
    #[error("the stored link could not be opened: {0}")]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AccountError {
    /// A sentence the user should see as is (the rest are ours to log).
    pub fn is_users(&self) -> bool {
        matches!(
            self,
            Self::NotConfigured(_)
                | Self::NotLinked(..)
                | Self::NeedsRelink(..)
                | Self::NothingPending
                | Self::StateRefused(_)
        ) || matches!(self, Self::Library(_))
    }
}

/// A platform's name as users read it.
#[derive(Debug, Clone, Copy)]
pub struct PlatformName(pub Platform);

impl std::fmt::Display for PlatformName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Platform::Youtube => "YouTube",
            Platform::Spotify => "Spotify",
            other => other.as_str(),
        })
    }
}

pub(crate) fn slug(platform: Platform) -> &'static str {
    match platform {
        Platform::Spotify => "spotify",
        _ => "youtube",
    }
}

/// Where Spotify sends the user back.
#[derive(Debug, Clone)]
pub enum Redirect {
    /// Our own route (`PUBLIC_URL` + `/oauth/spotify/callback`): the callback finishes the link.
    Callback(String),
    /// A loopback address nothing listens on: the user pastes where they landed into a modal.
    Loopback(String),
}

impl Redirect {
    pub fn uri(&self) -> &str {
        match self {
            Self::Callback(u) | Self::Loopback(u) => u,
        }
    }
}

/// What `/auth-youtube` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    pub user_code: String,
    pub verification_url: String,
    pub expires_at_ms: u64,
}

/// One press of "I've approved it" (or `/check-auth` with a YouTube link pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceOutcome {
    Linked,
    Pending(DeviceView),
    /// Google asked us to poll less often; the wait is now `interval_s`.
    SlowDown {
        interval_s: u64,
        view: DeviceView,
    },
    Denied,
    Expired,
    InvalidGrant,
}

/// What `/check-auth` shows of one linked account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedView {
    pub platform: Platform,
    pub scopes: Vec<String>,
    pub linked_at_ms: u64,
    pub needs_relink: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    pub linked: Vec<LinkedView>,
    pub pending: Option<(Platform, u64)>,
}

pub struct Linker {
    store: SharedStore,
    vault: Arc<Vault>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    google: Option<GoogleOAuth>,
    spotify: Option<(SpotifyOAuth, Redirect)>,
}

impl Linker {
    pub fn new(
        store: SharedStore,
        vault: Arc<Vault>,
        clock: Arc<dyn Clock>,
        google: Option<GoogleOAuth>,
        spotify: Option<(SpotifyOAuth, Redirect)>,
    ) -> Self {
        Self {
            store,
            vault,
            clock,
            retry: RetryPolicy::default(),
            google,
            spotify,
        }
    }

    pub fn configured(&self, platform: Platform) -> bool {
        match platform {
            Platform::Youtube => self.google.is_some(),
            Platform::Spotify => self.spotify.is_some(),
            _ => false,
        }
    }

    async fn update<T>(
        &self,
        user: UserId,
        change: impl FnMut(&mut UserProfile) -> Result<T, AccountError>,
    ) -> Result<T, AccountError> {
        Ok(update_user(
            self.store.as_ref(),
            self.clock.as_ref(),
            self.retry,
            user,
            change,
        )
        .await?
        .output)
    }

    /// Seals `pending` onto the user item. `only_replacing`: only if a link on `platform`
    /// is still pending (a slower answer must not revive one that finished meanwhile).
    async fn set_pending(
        &self,
        user: UserId,
        platform: Platform,
        pending: &Pending,
        expires_at_ms: u64,
        only_replacing: bool,
    ) -> Result<(), AccountError> {
        let sealed = pending.seal(&self.vault, user, platform);
        self.update(user, |p| {
            let same = p.pending_auth.as_ref().map(|p| p.platform) == Some(platform);
            if same || !only_replacing {
                p.pending_auth = Some(PendingAuth {
                    platform,
                    sealed: sealed.clone(),
                    expires_at_ms,
                });
            }
            Ok(())
        })
        .await
    }

    async fn clear_pending(&self, user: UserId, platform: Platform) -> Result<(), AccountError> {
        self.update(user, |p| {
            if p.pending_auth.as_ref().map(|p| p.platform) == Some(platform) {
                p.pending_auth = None;
            }
            Ok(())
        })
        .await
    }

    fn seal_grant(
        &self,
        user: UserId,
        platform: Platform,
        grant: Grant,
        old: Option<&Tokens>,
        now: u64,
    ) -> SealedBlob {
        let tokens = Tokens {
            access: grant.access,
            // A refresh that names no new refresh token keeps the old one.
            refresh: grant
                .refresh
                .or_else(|| old.and_then(|o| o.refresh.clone())),
            expires_at_ms: now.saturating_add(grant.expires_in.as_millis() as u64),
            scopes: if grant.scopes.is_empty() {
                old.map(|o| o.scopes.clone()).unwrap_or_default()
            } else {
                grant.scopes
            },
            linked_at_ms: old.map_or(now, |o| o.linked_at_ms),
            needs_relink: false,
        };
        tokens.seal(&self.vault, user, platform)
    }

    /// `/check-auth`.
    pub async fn status(&self, user: UserId) -> Result<LinkStatus, AccountError> {
        let profile = self.store.load_user(user).await?.value;
        let mut linked = Vec::new();
        for (platform, blob) in &profile.linked {
            let t = Tokens::open(&self.vault, user, *platform, blob)?;
            linked.push(LinkedView {
                platform: *platform,
                scopes: t.scopes,
                linked_at_ms: t.linked_at_ms,
                needs_relink: t.needs_relink,
            });
        }
        let now = self.clock.now_ms();
        let pending = profile
            .pending_auth
            .as_ref()
            .filter(|p| p.expires_at_ms > now)
            .map(|p| (p.platform, p.expires_at_ms));
        Ok(LinkStatus { linked, pending })
    }

    /// `/unlink`: deletes the sealed tokens (and a pending link for the platform), and
    /// revokes a YouTube grant at Google. Returns whether anything was linked.
    pub async fn unlink(&self, user: UserId, platform: Platform) -> Result<bool, AccountError> {
        let removed = self
            .update(user, |p| {
                if p.pending_auth.as_ref().map(|p| p.platform) == Some(platform) {
                    p.pending_auth = None;
                }
                Ok(p.linked.remove(&platform))
            })
            .await?;
        let Some(blob) = removed else {
            return Ok(false);
        };
        if let (Platform::Youtube, Some(google)) = (platform, self.google.as_ref()) {
            // Deleted here either way; a failed revocation is logged, and the user can
            // still remove the app at myaccount.google.com.
            if let Ok(tokens) = Tokens::open(&self.vault, user, platform, &blob) {
                let token = tokens.refresh.as_ref().unwrap_or(&tokens.access);
                if let Err(e) = google.revoke(token).await {
                    tracing::warn!(error = %e, "revoking a YouTube grant at Google failed");
                }
            }
        }
        Ok(true)
    }
}
