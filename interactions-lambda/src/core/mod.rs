//! The command core: an interaction in, a response out. No HTTP types here, so the same core
//! answers webhooks (Lambda, `--listen`) and, in embedded mode, gateway interactions.

mod admin;
mod args;
mod autocomplete;
mod fast;
pub mod permissions;
pub mod ports;
pub mod ratelimit;
pub mod render;
pub mod reply;
mod settings;
mod worker;

pub use worker::STARTING;

use std::sync::Arc;

use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::http::interaction::InteractionResponse;

use timmybot_shared::bus::{BusError, IntentBus};
use timmybot_shared::clock::Clock;
use timmybot_shared::domain::{
    BotOwners, ChannelId, GuildId, IntentId, InteractionToken, ReplyTo, RoleId, UserId,
};
use timmybot_shared::retry::RetryPolicy;
use timmybot_shared::store::{SharedStore, StoreError};

use permissions::{Member, NOT_DJ};
use ports::{VoiceLookup, WorkerWaker};

/// Who asked, where, and how to answer later: what every command needs besides its options.
pub struct Ctx {
    pub intent_id: IntentId,
    pub guild: GuildId,
    pub member: Member,
    pub reply: ReplyTo,
    /// The text channel the command was used in: where the now-playing message goes.
    pub channel: Option<ChannelId>,
    /// The guild's DJ role, from its settings.
    pub dj_role: Option<RoleId>,
}

/// Why a command did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The user's request cannot be done as asked; the text says why and is shown to them.
    #[error("{0}")]
    User(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("{0}")]
    Lookup(String),
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Queue(e) => Self::User(format!("{}.", capitalise(&e.to_string()))),
            e @ (StoreError::Contended { .. } | StoreError::ItemTooLarge { .. }) => {
                Self::User(format!("{}.", capitalise(&e.to_string())))
            }
            e => Self::Store(e),
        }
    }
}

impl From<timmybot_shared::domain::QueueError> for CommandError {
    fn from(err: timmybot_shared::domain::QueueError) -> Self {
        StoreError::Queue(err).into()
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Everything outside the core that it talks to.
pub struct Ports {
    pub store: SharedStore,
    pub bus: Arc<dyn IntentBus>,
    pub clock: Arc<dyn Clock>,
    pub voice: Arc<dyn VoiceLookup>,
    /// `None` where nothing needs waking (the embedded bot).
    pub waker: Option<Arc<dyn WorkerWaker>>,
}

pub struct Core {
    ports: Ports,
    owners: BotOwners,
    application_id: String,
    retry: RetryPolicy,
    limiter: ratelimit::RateLimiter,
    /// A private instance serves every guild it is in, allowlist or not.
    allow_all: bool,
}

impl Core {
    pub fn new(ports: Ports, owners: BotOwners, application_id: impl Into<String>) -> Self {
        Self {
            ports,
            owners,
            application_id: application_id.into(),
            retry: RetryPolicy::default(),
            limiter: ratelimit::RateLimiter::default(),
            allow_all: false,
        }
    }

    /// Serves every guild: for a private instance (`timmybot serve --allow-all`).
    pub fn allow_all(mut self) -> Self {
        self.allow_all = true;
        self
    }

    /// The core's clock; the edge checks request timestamps against the same time.
    pub fn clock(&self) -> &dyn Clock {
        self.ports.clock.as_ref()
    }

    /// Sets how many commands a user may send per 10 s (default [`ratelimit::LIMIT`]).
    pub fn with_rate_limit(mut self, per_window: usize) -> Self {
        self.limiter = ratelimit::RateLimiter::new(per_window);
        self
    }

    pub async fn handle(&self, interaction: &Interaction) -> InteractionResponse {
        match self.dispatch(interaction).await {
            Ok(response) => response,
            Err(CommandError::User(message)) => reply::ephemeral(message),
            Err(err) => {
                // The interaction's token never goes into a log line; its id is enough.
                tracing::error!(interaction = %interaction.id, error = %err, "interaction failed");
                reply::ephemeral(reply::INTERNAL_ERROR)
            }
        }
    }

    fn is_dj(&self, ctx: &Ctx) -> bool {
        ctx.member.is_dj(ctx.dj_role)
    }

    fn dj_only(&self, ctx: &Ctx) -> Result<(), CommandError> {
        if self.is_dj(ctx) {
            Ok(())
        } else {
            Err(CommandError::User(NOT_DJ.into()))
        }
    }

    async fn dispatch(
        &self,
        interaction: &Interaction,
    ) -> Result<InteractionResponse, CommandError> {
        if interaction.kind == InteractionType::Ping {
            return Ok(reply::pong());
        }
        let user = interaction
            .author_id()
            .and_then(|id| UserId::new(id.get()).ok());
        let guild = interaction
            .guild_id
            .and_then(|id| GuildId::new(id.get()).ok());
        let command = match &interaction.data {
            Some(InteractionData::ApplicationCommand(data)) => Some(data.as_ref()),
            _ => None,
        };
        let is_command = interaction.kind == InteractionType::ApplicationCommand;

        // Before anything reads the store: a flood costs nothing but this check.
        let acts = is_command || interaction.kind == InteractionType::MessageComponent;
        if let (true, Some(user)) = (acts, user) {
            if let Err(wait_ms) = self.limiter.check(user, self.ports.clock.now_ms()) {
                return Ok(reply::ephemeral(format!(
                    "Slow down: {} commands every {} s at most. Try again in {} s.",
                    self.limiter.limit(),
                    ratelimit::WINDOW_MS / 1000,
                    wait_ms.div_ceil(1000)
                )));
            }
        }

        // Owners manage the allowlist from anywhere, unlisted guilds and DMs included:
        // otherwise no guild could ever be approved from Discord.
        if let (true, Some(data), Some(owner)) = (is_command, command, user) {
            if data.name == "allowlist" && self.owners.contains(owner) {
                return Ok(admin::allowlist(self, data, owner, guild).await?);
            }
        }

        // The gate: nothing below runs, reads state, writes or sends, for an unlisted guild.
        let allowed = match guild {
            Some(_) if self.allow_all => true,
            Some(g) => self.ports.store.is_allowed(g).await?,
            None => false,
        };
        let (Some(guild), Some(user), Some(member), true) =
            (guild, user, interaction.member.as_ref(), allowed)
        else {
            return Ok(match interaction.kind {
                InteractionType::ApplicationCommandAutocomplete => reply::no_choices(),
                _ => reply::ephemeral(reply::REQUEST_ACCESS),
            });
        };

        // Autocomplete runs on every keystroke: answer it before the settings read below.
        if interaction.kind == InteractionType::ApplicationCommandAutocomplete {
            return match command {
                Some(data) if data.name == "play" => autocomplete::play(self, guild, data).await,
                _ => Ok(reply::no_choices()),
            };
        }

        let ctx = Ctx {
            intent_id: IntentId::parse(&interaction.id.to_string())
                .map_err(|e| CommandError::User(e.to_string()))?,
            guild,
            member: Member::from_interaction(member, user),
            reply: ReplyTo {
                application_id: self.application_id.clone(),
                token: InteractionToken::new(interaction.token.clone()),
            },
            channel: interaction
                .channel
                .as_ref()
                .and_then(|c| ChannelId::new(c.id.get()).ok()),
            dj_role: self.ports.store.guild_settings(guild).await?.dj_role,
        };
        match (&interaction.kind, &interaction.data) {
            (
                InteractionType::ApplicationCommand,
                Some(InteractionData::ApplicationCommand(data)),
            ) => {
                if data.name == "settings" {
                    return settings::run(self, &ctx, data).await;
                }
                if data.name == "allowlist" {
                    return Ok(reply::ephemeral(
                        "Only the bot's owners can manage the allowlist.",
                    ));
                }
                if let Some(response) = fast::run(self, &ctx, data).await? {
                    return Ok(response);
                }
                Ok(worker::run(self, &ctx, data).await?.unwrap_or_else(|| {
                    reply::ephemeral(format!(
                        "`/{}` isn't something this version of TimmyBot can do yet.",
                        data.name
                    ))
                }))
            }
            (InteractionType::MessageComponent, Some(InteractionData::MessageComponent(data))) => {
                if let Some(page) = data.custom_id.strip_prefix(render::QUEUE_PAGE) {
                    return fast::queue_page_button(self, guild, page).await;
                }
                if let Some(response) = fast::button(self, &ctx, &data.custom_id).await? {
                    return Ok(response);
                }
                Ok(worker::button(self, &ctx, &data.custom_id)
                    .await?
                    .unwrap_or_else(|| {
                        reply::ephemeral(
                            "That button isn't something this version of TimmyBot knows.",
                        )
                    }))
            }
            _ => Ok(reply::ephemeral(
                "That isn't something this version of TimmyBot knows.",
            )),
        }
    }
}
