//! Spotify: the authorization code with PKCE, `state` bound to the user and used once.

use std::sync::Arc;

use oauth2::CsrfToken;
use secrecy::{ExposeSecret, SecretString};
use timmybot_domain::{Platform, UserId};

use super::{AccountError, Linker, PlatformName, Redirect, CODE_MAX, PKCE_TTL_MS, STATE_MAX};
use crate::tokens::Pending;

impl Linker {
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
}

/// Compares in time independent of where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
