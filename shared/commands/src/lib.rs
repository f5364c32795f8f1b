//! The command core: an interaction in, a response out. No HTTP types here, so the same core
//! answers webhooks (Lambda, `--listen`) and, in embedded mode, gateway interactions.
//!
//! A command's options are parsed once, into [`timmybot_discord::command::Command`], before
//! anything else reads them. Then: the rate limit, the owners' allowlist commands, the
//! allowlist gate, and the command itself.
//!
//! - [`fast`]: answered at once from the stored state (`/queue`, `/remove`, …).
//! - [`playback`]: carried out by the voice worker, through one intent each.
//! - [`admin`], [`settings`], [`autocomplete`]: the owners' allowlist, a guild's settings,
//!   `/play` suggestions.
//! - [`permissions`], [`ratelimit`]: who may do what, and how often.
//! - [`ports`] and [`adapters`]: the voice-channel lookup, and its REST adapter.

pub mod adapters;
mod admin;
mod autocomplete;
mod fast;
pub mod permissions;
mod playback;
pub mod ports;
pub mod ratelimit;
mod settings;

pub use playback::{AWAKE_WITHIN_MS, STARTING};

use std::sync::Arc;

use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::http::interaction::InteractionResponse;

use timmybot_bus::{BusError, WorkerRoutes};
use timmybot_discord::command::{ArgError, Command};
use timmybot_discord::ids::FromTwilight;
use timmybot_discord::reply;
use timmybot_discord::spec::{buttons, name};
use timmybot_domain::{
    ApplicationId, BotOwners, ChannelId, Clock, GuildId, IntentId, InteractionToken, QueueError,
    ReplyTo, RetryPolicy, RoleId, UserId,
};
use timmybot_store::{SharedStore, StoreError};

use permissions::{Member, NOT_DJ};
use ports::{LookupError, VoiceLookup};

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
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// Discord sent something it never should; logged, and the user hears we failed.
    #[error("the interaction is malformed: {0}")]
    Malformed(String),
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        match err {
            e @ (StoreError::Queue(_)
            | StoreError::Contended { .. }
            | StoreError::ItemTooLarge { .. }) => Self::User(reply::sentence(&e.to_string())),
            e => Self::Store(e),
        }
    }
}

impl From<QueueError> for CommandError {
    fn from(err: QueueError) -> Self {
        StoreError::Queue(err).into()
    }
}

impl From<ArgError> for CommandError {
    fn from(err: ArgError) -> Self {
        Self::User(err.to_string())
    }
}

/// Everything outside the core that it talks to.
pub struct Ports {
    pub store: SharedStore,
    /// Each worker's intent bus and service, and which guild goes to which.
    pub workers: WorkerRoutes,
    pub clock: Arc<dyn Clock>,
    pub voice: Arc<dyn VoiceLookup>,
}

pub struct Core {
    ports: Ports,
    owners: BotOwners,
    application_id: ApplicationId,
    retry: RetryPolicy,
    limiter: ratelimit::RateLimiter,
    /// A private instance serves every guild it is in, allowlist or not.
    allow_all: bool,
}

impl Core {
    pub fn new(ports: Ports, owners: BotOwners, application_id: ApplicationId) -> Self {
        Self {
            ports,
            owners,
            application_id,
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
        let user = interaction.author_id().map(UserId::from_twilight);
        let guild = interaction.guild_id.map(GuildId::from_twilight);
        let data: Option<&CommandData> = match &interaction.data {
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

        // The one parse of the command's options. Its errors are shown only past the gate.
        let command = data.filter(|_| is_command).map(Command::parse);

        // Owners manage the allowlist from anywhere, unlisted guilds and DMs included:
        // otherwise no guild could ever be approved from Discord.
        if let (Some(data), Some(owner)) = (data.filter(|_| is_command), user) {
            if data.name == name::ALLOWLIST && self.owners.contains(owner) {
                return match command {
                    Some(Ok(Command::Allowlist(cmd))) => {
                        Ok(admin::allowlist(self, cmd, owner, guild).await?)
                    }
                    Some(Err(e)) => Err(e.into()),
                    _ => Err(CommandError::Malformed(
                        "allowlist parsed as another".into(),
                    )),
                };
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
            return match data {
                Some(data) if data.name == name::PLAY => {
                    autocomplete::play(self, guild, data).await
                }
                _ => Ok(reply::no_choices()),
            };
        }

        // Discord's interaction ids are snowflakes, which always make valid intent ids.
        let intent_id = IntentId::parse(&interaction.id.to_string())
            .map_err(|e| CommandError::Malformed(e.to_string()))?;
        let ctx = Ctx {
            intent_id,
            guild,
            member: Member::from_interaction(member, user),
            reply: ReplyTo {
                application_id: self.application_id,
                token: InteractionToken::new(interaction.token.clone()),
            },
            channel: interaction
                .channel
                .as_ref()
                .map(|c| ChannelId::from_twilight(c.id)),
            dj_role: self.ports.store.guild_settings(guild).await?.dj_role,
        };
        match (&interaction.kind, &interaction.data) {
            (InteractionType::ApplicationCommand, _) => match command {
                Some(Ok(command)) => self.run(&ctx, command).await,
                Some(Err(e)) => Err(e.into()),
                None => Err(CommandError::Malformed("a command without its data".into())),
            },
            (InteractionType::MessageComponent, Some(InteractionData::MessageComponent(data))) => {
                let id = data.custom_id.as_str();
                if let Some(page) = id.strip_prefix(buttons::QUEUE_PAGE) {
                    return fast::queue_page_button(self, guild, page).await;
                }
                match id {
                    buttons::LOOP | buttons::SHUFFLE => fast::button(self, &ctx, id).await,
                    buttons::SKIP | buttons::PAUSE_RESUME | buttons::STOP => {
                        playback::button(self, &ctx, id).await
                    }
                    _ => Ok(reply::ephemeral(
                        "That button isn't something this version of TimmyBot knows.",
                    )),
                }
            }
            _ => Ok(reply::ephemeral(
                "That isn't something this version of TimmyBot knows.",
            )),
        }
    }

    async fn run(&self, ctx: &Ctx, command: Command) -> Result<InteractionResponse, CommandError> {
        match command {
            Command::Settings(change) => settings::run(self, ctx, change).await,
            Command::Allowlist(_) => Ok(reply::ephemeral(
                "Only the bot's owners can manage the allowlist.",
            )),
            Command::Queue { page } => fast::queue(self, ctx, page).await,
            Command::NowPlaying => fast::now_playing(self, ctx).await,
            Command::Remove { position } => fast::remove(self, ctx, position).await,
            Command::Move { from, to } => fast::move_track(self, ctx, from, to).await,
            Command::Shuffle => fast::shuffle_command(self, ctx).await,
            Command::Clear => fast::clear(self, ctx).await,
            Command::Loop { mode } => fast::set_loop(self, ctx, mode).await,
            Command::Play { query, next } => playback::play(self, ctx, query, next).await,
            Command::Join => playback::join(self, ctx).await,
            Command::Skip => playback::skip(self, ctx).await,
            Command::Pause => playback::pause(self, ctx).await,
            Command::Resume => playback::resume(self, ctx).await,
            Command::Seek { position_ms } => playback::seek(self, ctx, position_ms).await,
            Command::Volume { volume } => playback::volume(self, ctx, volume).await,
            Command::Stop => playback::stop(self, ctx).await,
            Command::Leave => playback::leave(self, ctx).await,
        }
    }
}
