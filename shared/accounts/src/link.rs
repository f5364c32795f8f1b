//! Linking, checking, refreshing and unlinking accounts: the OAuth flows joined to the vault
//! and the user item. Everything is written with the store's conditional update, so two
//! presses of the same button cannot both use one code.

use std::sync::Arc;

use oauth2::CsrfToken;
use secrecy::{ExposeSecret, SecretString};
use timmybot_domain::{Clock, PendingAuth, Platform, RetryPolicy, SealedBlob, UserId, UserProfile};
use timmybot_store::{update_user, SharedStore, StoreError};

use crate::oauth::{DevicePoll, GoogleOAuth, Grant, OAuthError, SpotifyOAuth};
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

    pub fn spotify_redirect(&self) -> Option<&Redirect> {
        self.spotify.as_ref().map(|(_, r)| r)
    }

    fn google(&self) -> Result<&GoogleOAuth, AccountError> {
        self.google
            .as_ref()
            .ok_or(AccountError::NotConfigured(PlatformName(Platform::Youtube)))
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

    fn device(&self, user: UserId, pending: &PendingAuth) -> Option<(Pending, DeviceView)> {
        if pending.platform != Platform::Youtube {
            return None;
        }
        let opened = Pending::open(&self.vault, user, Platform::Youtube, &pending.sealed).ok()?;
        let view = match &opened {
            Pending::Device {
                user_code,
                verification_url,
                ..
            } => DeviceView {
                user_code: user_code.clone(),
                verification_url: verification_url.clone(),
                expires_at_ms: pending.expires_at_ms,
            },
            Pending::Pkce { .. } => return None,
        };
        Some((opened, view))
    }

    /// `/auth-youtube`: a device code to approve. A link already in progress is shown again
    /// rather than started twice.
    pub async fn youtube_start(&self, user: UserId) -> Result<DeviceView, AccountError> {
        let google = self.google()?;
        let now = self.clock.now_ms();
        let profile = self.store.load_user(user).await?.value;
        if let Some(p) = profile
            .pending_auth
            .as_ref()
            .filter(|p| p.expires_at_ms > now)
        {
            if let Some((_, view)) = self.device(user, p) {
                return Ok(view);
            }
        }
        let start = google.start().await?;
        let expires_at_ms = now.saturating_add(start.expires_in.as_millis() as u64);
        let pending = Pending::Device {
            device_code: start.device_code,
            user_code: start.user_code.clone(),
            verification_url: start.verification_url.clone(),
            interval_s: start.interval.as_secs().max(1),
            not_before_ms: now.saturating_add(start.interval.as_millis() as u64),
        };
        self.set_pending(user, Platform::Youtube, &pending, expires_at_ms, false)
            .await?;
        Ok(DeviceView {
            user_code: start.user_code,
            verification_url: start.verification_url,
            expires_at_ms,
        })
    }

    /// One token request for the user's pending YouTube link (never a loop: a Lambda answers
    /// this). `None` when no YouTube link is pending.
    pub async fn youtube_check(&self, user: UserId) -> Result<Option<DeviceOutcome>, AccountError> {
        let google = self.google()?;
        let now = self.clock.now_ms();
        let profile = self.store.load_user(user).await?.value;
        let Some(pending) = profile.pending_auth.as_ref() else {
            return Ok(None);
        };
        let Some((
            Pending::Device {
                device_code,
                interval_s,
                ..
            },
            view,
        )) = self.device(user, pending)
        else {
            return Ok(None);
        };
        if pending.expires_at_ms <= now {
            self.clear_pending(user, Platform::Youtube).await?;
            return Ok(Some(DeviceOutcome::Expired));
        }
        let outcome = match google.poll_once(&device_code).await? {
            DevicePoll::Linked(grant) => {
                let sealed = self.seal_grant(user, Platform::Youtube, grant, None, now);
                self.update(user, |p| {
                    p.linked.insert(Platform::Youtube, sealed.clone());
                    p.pending_auth = None;
                    Ok(())
                })
                .await?;
                return Ok(Some(DeviceOutcome::Linked));
            }
            DevicePoll::Pending => return Ok(Some(DeviceOutcome::Pending(view))),
            DevicePoll::SlowDown => {
                // RFC 8628 §3.5: every later request waits 5 s longer.
                let interval_s = interval_s.saturating_add(5);
                let next = Pending::Device {
                    device_code,
                    user_code: view.user_code.clone(),
                    verification_url: view.verification_url.clone(),
                    interval_s,
                    not_before_ms: now.saturating_add(interval_s * 1000),
                };
                self.set_pending(user, Platform::Youtube, &next, pending.expires_at_ms, true)
                    .await?;
                return Ok(Some(DeviceOutcome::SlowDown { interval_s, view }));
            }
            DevicePoll::Denied => DeviceOutcome::Denied,
            DevicePoll::Expired => DeviceOutcome::Expired,
            DevicePoll::InvalidGrant => DeviceOutcome::InvalidGrant,
        };
        self.clear_pending(user, Platform::Youtube).await?;
        Ok(Some(outcome))
    }

    /// How long the background poller waits before its next request for `user`, if a YouTube
    /// link is pending (`serve` and the worker may poll; a Lambda never does).
    pub async fn youtube_poll_wait_ms(&self, user: UserId) -> Result<Option<u64>, AccountError> {
        let now = self.clock.now_ms();
        let profile = self.store.load_user(user).await?.value;
        Ok(profile
            .pending_auth
            .as_ref()
            .filter(|p| p.expires_at_ms > now)
            .and_then(|p| self.device(user, p))
            .and_then(|(pending, _)| match pending {
                Pending::Device { not_before_ms, .. } => Some(not_before_ms.saturating_sub(now)),
                Pending::Pkce { .. } => None,
            }))
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

    /// `/auth-spotify`: the address to open. The state binds it to `user` for 10 minutes.
    pub async fn spotify_start(&self, user: UserId) -> Result<(url::Url, Redirect), AccountError> {
        let (oauth, redirect) = self
            .spotify
            .as_ref()
            .ok_or(AccountError::NotConfigured(PlatformName(Platform::Spotify)))?;
        let nonce = CsrfToken::new_random();
        let state = format!("{user}.{}", nonce.secret());
        let auth = oauth.authorize(&state, redirect.uri())?;
        let pending = Pending::Pkce {
            nonce: SecretString::from(nonce.secret().to_owned()),
            verifier: auth.verifier,
            redirect_uri: redirect.uri().to_owned(),
        };
        let expires_at_ms = self.clock.now_ms().saturating_add(PKCE_TTL_MS);
        self.set_pending(user, Platform::Spotify, &pending, expires_at_ms, false)
            .await?;
        Ok((auth.url, redirect.clone()))
    }

    /// The callback (or the pasted address): checks `state`, uses it up, exchanges the code.
    /// `caller` is the Discord user who pasted it, when it came through the modal.
    pub async fn spotify_finish(
        &self,
        caller: Option<UserId>,
        code: &SecretString,
        state: &str,
    ) -> Result<UserId, AccountError> {
        let (oauth, _) = self
            .spotify
            .as_ref()
            .ok_or(AccountError::NotConfigured(PlatformName(Platform::Spotify)))?;
        if state.len() > STATE_MAX || code.expose_secret().len() > CODE_MAX {
            return Err(AccountError::StateRefused("it is malformed"));
        }
        let (user, nonce) = state
            .split_once('.')
            .and_then(|(u, n)| Some((UserId::parse(u).ok()?, n)))
            .ok_or(AccountError::StateRefused("it is malformed"))?;
        if caller.is_some_and(|c| c != user) {
            return Err(AccountError::StateRefused("it was started by someone else"));
        }
        let now = self.clock.now_ms();
        let vault = Arc::clone(&self.vault);
        // Used up in the same conditional write that reads it: a replay finds nothing.
        let (verifier, redirect) = self
            .update(user, |p| {
                let pending = p
                    .pending_auth
                    .as_ref()
                    .filter(|p| p.platform == Platform::Spotify)
                    .ok_or(AccountError::StateRefused(
                        "it is unknown or was already used",
                    ))?;
                if pending.expires_at_ms <= now {
                    return Err(AccountError::StateRefused("it expired"));
                }
                let Pending::Pkce {
                    nonce: want,
                    verifier,
                    redirect_uri,
                } = Pending::open(&vault, user, Platform::Spotify, &pending.sealed)?
                else {
                    return Err(AccountError::StateRefused(
                        "it is unknown or was already used",
                    ));
                };
                if !same(want.expose_secret().as_bytes(), nonce.as_bytes()) {
                    return Err(AccountError::StateRefused(
                        "it is unknown or was already used",
                    ));
                }
                p.pending_auth = None;
                Ok((verifier, redirect_uri))
            })
            .await?;
        let grant = oauth.exchange(code, &verifier, &redirect).await?;
        let sealed = self.seal_grant(user, Platform::Spotify, grant, None, now);
        self.update(user, |p| {
            p.linked.insert(Platform::Spotify, sealed.clone());
            Ok(())
        })
        .await?;
        Ok(user)
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

    /// A fresh access token for `user` on `platform`: refreshed before it expires, the
    /// refresh token kept unless the platform rotated it, and re-sealed under the current key.
    pub async fn access_token(
        &self,
        user: UserId,
        platform: Platform,
    ) -> Result<SecretString, AccountError> {
        self.token(user, platform, false).await
    }

    /// A new access token even if the stored one looks fresh: the platform refused it.
    pub async fn force_refresh(
        &self,
        user: UserId,
        platform: Platform,
    ) -> Result<SecretString, AccountError> {
        self.token(user, platform, true).await
    }

    async fn token(
        &self,
        user: UserId,
        platform: Platform,
        force: bool,
    ) -> Result<SecretString, AccountError> {
        let profile = self.store.load_user(user).await?.value;
        let blob = profile
            .linked
            .get(&platform)
            .ok_or(AccountError::NotLinked(
                PlatformName(platform),
                slug(platform),
            ))?;
        let tokens = Tokens::open(&self.vault, user, platform, blob)?;
        if tokens.needs_relink {
            return Err(AccountError::NeedsRelink(
                PlatformName(platform),
                slug(platform),
            ));
        }
        let now = self.clock.now_ms();
        let fresh = !force && tokens.expires_at_ms > now.saturating_add(REFRESH_MARGIN_MS);
        if fresh && !self.vault.is_stale(blob) {
            return Ok(tokens.access);
        }
        if fresh {
            // Rotation: the same tokens, sealed under the current key.
            let sealed = tokens.seal(&self.vault, user, platform);
            self.replace(user, platform, blob.clone(), sealed).await?;
            return Ok(tokens.access);
        }
        let Some(refresh) = tokens.refresh.as_ref() else {
            return self.relink(user, platform, blob, tokens).await;
        };
        let refreshed = match platform {
            Platform::Youtube => self.google()?.refresh(refresh).await,
            Platform::Spotify => match self.spotify.as_ref() {
                Some((oauth, _)) => oauth.refresh(refresh).await,
                None => return Err(AccountError::NotConfigured(PlatformName(platform))),
            },
            _ => return Err(AccountError::NotConfigured(PlatformName(platform))),
        };
        match refreshed {
            Ok(grant) => {
                let access = SecretString::from(grant.access.expose_secret().to_owned());
                let sealed = self.seal_grant(user, platform, grant, Some(&tokens), now);
                self.replace(user, platform, blob.clone(), sealed).await?;
                Ok(access)
            }
            Err(OAuthError::InvalidGrant) => self.relink(user, platform, blob, tokens).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Marks the account as needing a new link, and says so.
    async fn relink(
        &self,
        user: UserId,
        platform: Platform,
        blob: &SealedBlob,
        mut tokens: Tokens,
    ) -> Result<SecretString, AccountError> {
        tokens.needs_relink = true;
        let sealed = tokens.seal(&self.vault, user, platform);
        self.replace(user, platform, blob.clone(), sealed).await?;
        Err(AccountError::NeedsRelink(
            PlatformName(platform),
            slug(platform),
        ))
    }

    /// Swaps `old` for `new`, unless the account was unlinked or relinked meanwhile.
    async fn replace(
        &self,
        user: UserId,
        platform: Platform,
        old: SealedBlob,
        new: SealedBlob,
    ) -> Result<(), AccountError> {
        self.update(user, |p| {
            if p.linked.get(&platform) == Some(&old) {
                p.linked.insert(platform, new.clone());
            }
            Ok(())
        })
        .await
    }
}

/// Compares in time independent of where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
