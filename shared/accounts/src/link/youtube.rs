//! YouTube: Google's device flow, one token request per press.

use timmybot_domain::{PendingAuth, Platform, UserId};

use super::{AccountError, DeviceOutcome, DeviceView, Linker, PlatformName};
use crate::oauth::{DevicePoll, GoogleOAuth};
use crate::tokens::Pending;

impl Linker {
    pub(super) fn google(&self) -> Result<&GoogleOAuth, AccountError> {
        self.google
            .as_ref()
            .ok_or(AccountError::NotConfigured(PlatformName(Platform::Youtube)))
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
}
