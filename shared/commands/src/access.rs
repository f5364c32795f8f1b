//! Access requests: an unlisted guild asks through a form, the owners decide from a DM.
//!
//! An unlisted guild reads at most its own pending request and writes at most one item a
//! week (the conditional put of the request); nothing else it does reaches the store.

use twilight_model::application::interaction::modal::ModalInteractionData;
use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::access::{self, Decision, Form};
use timmybot_discord::reply::{self, ephemeral, sentence};
use timmybot_domain::{
    AccessRequest, AllowEntry, AuditAction, AuditEntry, AuditOrigin, AuditScope, ChannelId,
    GuildId, UserId,
};

use crate::{CommandError, Core};

const PENDING: &str =
    "A request for this server is already waiting for the bot's owner. They'll answer here.";

/// The "Request access" button: the form, unless a request is already waiting.
pub async fn open_form(core: &Core, guild: GuildId) -> Result<InteractionResponse, CommandError> {
    if core.ports.store.access_request(guild).await?.is_some() {
        return Ok(ephemeral(PENDING));
    }
    Ok(access::form())
}

/// The submitted form: one conditional write, then a DM to each owner.
pub async fn submit(
    core: &Core,
    guild: GuildId,
    user: UserId,
    channel: Option<ChannelId>,
    data: &ModalInteractionData,
) -> Result<InteractionResponse, CommandError> {
    let form = Form::parse(data);
    let request = AccessRequest::new(
        guild,
        &form.server_name,
        user,
        channel,
        &form.use_case,
        &form.listeners,
        core.ports.clock.now_ms(),
    )
    .map_err(|e| CommandError::User(sentence(&e.to_string())))?;
    // A read first, so that asking again while a request waits writes nothing at all; the
    // conditional put still holds if two asks race.
    if core.ports.store.access_request(guild).await?.is_some()
        || !core.ports.store.request_access(&request).await?
    {
        return Ok(ephemeral(PENDING));
    }
    let message = access::owner_message(&request);
    let mut told = 0;
    for owner in core.owners.iter() {
        match core
            .ports
            .messenger
            .direct(owner, message.embed.clone(), message.components.clone())
            .await
        {
            Ok(()) => told += 1,
            Err(e) => {
                tracing::warn!(%guild, %owner, error = %e, cause = ?std::error::Error::source(&e), "could not DM an owner about an access request")
            }
        }
    }
    if told == 0 {
        tracing::warn!(%guild, "an access request reached no owner; `/allowlist requests` lists it");
    }
    Ok(ephemeral(
        "Your request is with the bot's owner. The answer will be posted in this channel.",
    ))
}

/// An owner's Approve or Deny, from the DM.
pub async fn decide(
    core: &Core,
    decision: Decision,
    owner: UserId,
    origin: AuditOrigin,
) -> Result<InteractionResponse, CommandError> {
    let now = core.ports.clock.now_ms();
    let (guild, approved) = match decision {
        Decision::Approve(g) => (g, true),
        Decision::Deny(g) => (g, false),
    };
    let request = core.ports.store.close_request(guild).await?;
    if approved {
        let note = request
            .as_ref()
            .map(|r| r.server_name.clone())
            .unwrap_or_default();
        core.ports
            .store
            .allow(&AllowEntry::new(guild, owner, now, &note))
            .await?;
    }
    let action = if approved {
        AuditAction::AccessApproved
    } else {
        AuditAction::AccessDenied
    };
    let detail = request.as_ref().map_or_else(
        || "no request was pending".to_owned(),
        |r| format!("asked by {}: {}", r.requested_by, r.use_case),
    );
    core.audit(
        AuditEntry::new(AuditScope::Bot, now, Some(owner), action, origin)
            .on(guild)
            .with_detail(&detail),
    )
    .await;
    if let Some(channel) = request.as_ref().and_then(|r| r.channel_id) {
        let text = if approved {
            "✅ The bot's owner approved TimmyBot for this server. Join a voice channel and try `/play`."
        } else {
            "The bot's owner declined the request to use TimmyBot here."
        };
        if let Err(e) = core.ports.messenger.post(channel, text).await {
            tracing::warn!(%guild, error = %e, cause = ?std::error::Error::source(&e), "could not post the access decision");
        }
    }
    let text = match (approved, request.is_some()) {
        (true, _) => format!("✅ Approved: guild `{guild}` may now use TimmyBot."),
        (false, true) => format!("Denied: guild `{guild}` was told."),
        (false, false) => format!("There was no pending request from guild `{guild}`."),
    };
    Ok(reply::update(access::decided(text)))
}
