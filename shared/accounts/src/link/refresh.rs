//! Fresh access tokens: refreshed before they expire, kept or rotated, re-sealed under the
//! current key, and a dead refresh token turned into "link again".

use secrecy::{ExposeSecret, SecretString};
use timmybot_domain::{Platform, SealedBlob, UserId};

use super::{slug, AccountError, Linker, PlatformName, REFRESH_MARGIN_MS};
use crate::oauth::OAuthError;
use crate::tokens::Tokens;

impl Linker {
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
