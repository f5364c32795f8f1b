//! Linking: `/auth-youtube` and its button, `/auth-spotify` and its pasted-address form,
//! `/check-auth`, `/unlink`.

use super::*;

pub async fn auth_youtube(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let view = accounts(core)?
        .linker()
        .youtube_start(ctx.member.user)
        .await?;
    Ok(ui::youtube_code(
        &view.user_code,
        &view.verification_url,
        view.expires_at_ms,
    ))
}

/// "I've approved it": one token request.
pub async fn youtube_button(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let outcome = accounts(core)?
        .linker()
        .youtube_check(ctx.member.user)
        .await?;
    let (text, pending) = device_text(outcome);
    Ok(ui::youtube_check(&text, pending))
}

fn device_text(outcome: Option<DeviceOutcome>) -> (String, bool) {
    match outcome {
        None => (
            "There is no YouTube link waiting. Start one with `/auth-youtube`.".into(),
            false,
        ),
        Some(DeviceOutcome::Linked) => (
            "✅ YouTube is linked. Try `/my-playlists` or `/liked-songs`.".into(),
            false,
        ),
        Some(DeviceOutcome::Pending(v)) => (
            format!(
                "Not approved yet. Open **<{}>**, enter **`{}`**, then press the button again.",
                v.verification_url,
                v.user_code.replace('`', "")
            ),
            true,
        ),
        Some(DeviceOutcome::SlowDown { interval_s, .. }) => (
            format!(
                "Google asks us to check less often: wait {interval_s} s, then press the button again."
            ),
            true,
        ),
        Some(DeviceOutcome::Denied) => (
            "You declined at Google, so nothing was linked. Run `/auth-youtube` to try again."
                .into(),
            false,
        ),
        Some(DeviceOutcome::Expired) => (
            "The code expired before it was approved. Run `/auth-youtube` for a new one.".into(),
            false,
        ),
        Some(DeviceOutcome::InvalidGrant) => (
            "Google refused that code. Run `/auth-youtube` for a new one.".into(),
            false,
        ),
    }
}

pub async fn auth_spotify(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let (url, redirect) = accounts(core)?
        .linker()
        .spotify_start(ctx.member.user)
        .await?;
    Ok(ui::spotify_link(
        url.as_str(),
        matches!(redirect, Redirect::Loopback(_)),
    ))
}

pub fn spotify_paste_form() -> InteractionResponse {
    ui::spotify_form()
}

/// The pasted address: `code` and `state` from its query, checked like the callback's, and
/// bound to the Discord user who pasted it.
pub async fn spotify_pasted(
    core: &Core,
    ctx: &Ctx,
    data: &ModalInteractionData,
) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let pasted = ui::pasted_url(data)
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.len() <= ui::PASTED_URL_MAX)
        .ok_or_else(|| CommandError::User("Paste the whole address you landed on.".into()))?;
    let url = url::Url::parse(pasted).map_err(|_| {
        CommandError::User(
            "That isn't an address. Paste the whole address you landed on, starting with http://127.0.0.1."
                .into(),
        )
    })?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("error").is_some() {
        return Ok(reply::ephemeral(
            "You declined at Spotify, so nothing was linked. Run `/auth-spotify` to try again.",
        ));
    }
    let (Some(code), Some(state)) = (param("code"), param("state")) else {
        return Err(CommandError::User(
            "That address has no `code` and `state` in it. Paste the address of the page Spotify sent you to."
                .into(),
        ));
    };
    accounts
        .linker()
        .spotify_finish(Some(ctx.member.user), &SecretString::from(code), &state)
        .await?;
    Ok(reply::ephemeral(
        "✅ Spotify is linked. Try `/my-playlists` or `/liked-songs`.",
    ))
}

pub async fn check_auth(core: &Core, ctx: &Ctx) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let user = ctx.member.user;
    // A YouTube link waiting for approval is checked once, like the button.
    let mut lines = Vec::new();
    if accounts.linker().configured(Platform::Youtube) {
        if let Some(outcome) = accounts.linker().youtube_check(user).await? {
            lines.push(device_text(Some(outcome)).0);
        }
    }
    let status = accounts.linker().status(user).await?;
    lines.extend(status_lines(&status));
    Ok(reply::ephemeral(lines.join("\n")))
}

fn status_lines(status: &LinkStatus) -> Vec<String> {
    let mut lines = Vec::new();
    for platform in [Platform::Youtube, Platform::Spotify] {
        let name = ui::platform_name(platform);
        match status.linked.iter().find(|l| l.platform == platform) {
            Some(l) if l.needs_relink => lines.push(format!(
                "**{name}**: ⚠ no longer accepted; link it again with `/auth-{}`.",
                platform.as_str()
            )),
            Some(l) => lines.push(format!(
                "**{name}**: linked <t:{}:R>{}",
                l.linked_at_ms / 1000,
                if l.scopes.is_empty() {
                    String::new()
                } else {
                    format!(", for {}", l.scopes.join(", "))
                }
            )),
            None => lines.push(format!("**{name}**: not linked")),
        }
    }
    if let Some((platform, expires)) = status.pending {
        lines.push(format!(
            "A {} link is waiting for you to approve it; it expires <t:{}:R>.",
            ui::platform_name(platform),
            expires / 1000
        ));
    }
    lines
}

pub async fn unlink(
    core: &Core,
    ctx: &Ctx,
    platform: Platform,
) -> Result<InteractionResponse, CommandError> {
    let accounts = accounts(core)?;
    let was = accounts.linker().unlink(ctx.member.user, platform).await?;
    accounts.forget(ctx.member.user, platform);
    let name = ui::platform_name(platform);
    Ok(reply::ephemeral(match (was, platform) {
        (false, _) => format!("You hadn't linked {name}; there was nothing to delete."),
        (true, Platform::Youtube) => {
            "Unlinked YouTube: its tokens are deleted and the access is revoked at Google.".into()
        }
        (true, _) => format!(
            "Unlinked {name}: its tokens are deleted. To remove the app from your account too, \
             visit <https://www.spotify.com/account/apps/>."
        ),
    }))
}
