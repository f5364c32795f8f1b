//! The command core: an interaction in, a response out. No HTTP types here, so the same core
//! answers webhooks (Lambda, `--listen`) and, in embedded mode, gateway interactions.
//!
//! A command's options are parsed once, into [`timmybot_discord::command::Command`], before
//! anything else reads them. Then: the rate limit, the owners' allowlist commands, the
//! allowlist gate, and the command itself.
//!
//! - [`fast`]: answered at once from the stored state (`/queue`, `/remove`, …).
//! - [`playback`]: carried out by the voice worker, through one intent each.
//! - [`admin`], [`access`], [`audit`]: the owners' allowlist, access requests from unlisted
//!   guilds, and the audit log.
//! - [`settings`], [`autocomplete`]: a guild's settings, `/play` suggestions.
//! - [`permissions`], [`ratelimit`]: who may do what, and how often.
//! - [`ports`] and [`adapters`]: the voice-channel lookup, and its REST adapter.

mod access;
pub mod adapters;
mod admin;
mod audit;
mod autocomplete;
mod error;
mod fast;
mod library;
mod lyrics;
pub mod permissions;
mod playback;
mod playlists;
pub mod ports;
pub mod ratelimit;
mod settings;
mod web;

pub use web::OwnerAction;

use error::answer;
pub use error::CommandError;
pub use playback::{AWAKE_WITHIN_MS, STARTING};

use std::sync::Arc;

use twilight_model::application::interaction::application_command::CommandData;
use twilight_model::application::interaction::modal::ModalInteractionData;
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::http::interaction::InteractionResponse;

use timmybot_bus::WorkerRoutes;
use timmybot_discord::access::{self as access_ui, Decision};
use timmybot_discord::command::Command;
use timmybot_discord::ids::FromTwilight;
use timmybot_discord::reply;
use timmybot_discord::spec::{buttons, library as lib_ids, name};
use timmybot_domain::{
    ApplicationId, AuditEntry, AuditOrigin, BotOwners, ChannelId, Clock, GuildId, IntentId,
    IntentKind, InteractionToken, ReplyTo, RetryPolicy, RoleId, UserId,
};
use timmybot_store::{SharedStore, StoreError};

use permissions::{Member, NOT_DJ};
use ports::{Messenger, VoiceLookup};

/// Who asked, where, and how to answer later: what every command needs besides its options.
pub struct Ctx {
    pub intent_id: IntentId,
    pub guild: GuildId,
    pub member: Member,
    /// The interaction to answer later; `None` from the dashboard, which shows the answer.
    pub reply: Option<ReplyTo>,
    /// The text channel the command was used in: where the now-playing message goes.
    pub channel: Option<ChannelId>,
    /// The guild's DJ role, from its settings.
    pub dj_role: Option<RoleId>,
}

/// Everything outside the core that it talks to.
pub struct Ports {
    pub store: SharedStore,
    /// Each worker's intent bus and service, and which guild goes to which.
    pub workers: WorkerRoutes,
    pub clock: Arc<dyn Clock>,
    pub voice: Arc<dyn VoiceLookup>,
    /// DMs to the owners, and answers in a channel.
    pub messenger: Arc<dyn Messenger>,
}

/// What an interaction was, once handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled {
    /// The command's registered name, or `autocomplete`, `button`, `form`, `ping`.
    pub name: &'static str,
    /// It failed on our side and the user was told so.
    pub failed: bool,
}

pub struct Core {
    ports: Ports,
    owners: BotOwners,
    application_id: ApplicationId,
    retry: RetryPolicy,
    limiter: ratelimit::RateLimiter,
    /// A private instance serves every guild it is in, allowlist or not.
    allow_all: bool,
    /// Linked accounts and the library; `None` answers those commands with a sentence.
    accounts: Option<Arc<timmybot_accounts::Accounts>>,
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
            accounts: None,
        }
    }

    /// Turns on linked accounts, the library and recommendations.
    pub fn with_accounts(mut self, accounts: Arc<timmybot_accounts::Accounts>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// Serves every guild: for a private instance (`timmybot serve --allow-all`).
    pub fn allow_all(mut self) -> Self {
        self.allow_all = true;
        self
    }

    /// Linked accounts, when configured: the edge's OAuth callback finishes links with it.
    pub fn accounts(&self) -> Option<&Arc<timmybot_accounts::Accounts>> {
        self.accounts.as_ref()
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
        self.handle_observed(interaction).await.0
    }

    /// [`Core::handle`], and what it was (for metrics): the command's name or the kind of
    /// interaction, and whether it failed on our side (a user's mistake is not a failure).
    pub async fn handle_observed(
        &self,
        interaction: &Interaction,
    ) -> (InteractionResponse, Handled) {
        let name = match (&interaction.kind, &interaction.data) {
            (InteractionType::ApplicationCommand, Some(InteractionData::ApplicationCommand(d))) => {
                // Only names this bot registers: anything else would let a caller choose
                // metric dimensions.
                Command::parse(d).map_or("unknown", |c| c.name())
            }
            (InteractionType::ApplicationCommandAutocomplete, _) => "autocomplete",
            (InteractionType::MessageComponent, _) => "button",
            (InteractionType::ModalSubmit, _) => "form",
            (InteractionType::Ping, _) => "ping",
            _ => "other",
        };
        // The interaction's token never goes into a log line; its id is enough.
        let (response, failed) = answer(self.dispatch(interaction).await, &interaction.id);
        (response, Handled { name, failed })
    }

    /// The rate limit, before anything reads the store: a flood costs nothing but this.
    fn slow_down(&self, user: UserId) -> Option<InteractionResponse> {
        let wait_ms = self.limiter.check(user, self.ports.clock.now_ms()).err()?;
        Some(reply::ephemeral(format!(
            "Slow down: {} commands every {} s at most. Try again in {} s.",
            self.limiter.limit(),
            ratelimit::WINDOW_MS / 1000,
            wait_ms.div_ceil(1000)
        )))
    }

    /// Whether the bot serves `guild`: the allowlist, or every guild with `allow_all`.
    pub async fn serves(&self, guild: GuildId) -> Result<bool, StoreError> {
        Ok(self.allow_all || self.ports.store.is_allowed(guild).await?)
    }

    /// Records `entry`. The change it describes has happened either way: a failed write is
    /// logged, not reported to the user as a failed change.
    async fn audit(&self, entry: AuditEntry) {
        if let Err(e) = self.ports.store.audit(&entry).await {
            tracing::error!(action = entry.action.as_str(), error = %e, "writing the audit log failed");
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
        let acts = is_command
            || interaction.kind == InteractionType::MessageComponent
            || interaction.kind == InteractionType::ModalSubmit;
        if let (true, Some(user)) = (acts, user) {
            if let Some(refusal) = self.slow_down(user) {
                return Ok(refusal);
            }
        }

        // The one parse of the command's options. Its errors are shown only past the gate.
        let command = data.filter(|_| is_command).map(Command::parse);

        // Owners manage the allowlist, decide requests and read the audit log from anywhere,
        // unlisted guilds and DMs included: otherwise no guild could ever be approved.
        let owner = user.filter(|u| self.owners.contains(*u));
        if let (Some(data), Some(owner)) = (data.filter(|_| is_command), owner) {
            if data.name == name::ALLOWLIST || data.name == name::AUDIT {
                return match command {
                    Some(Ok(Command::Allowlist(cmd))) => {
                        Ok(
                            admin::allowlist(self, cmd, owner, guild, AuditOrigin::Discord(guild))
                                .await?,
                        )
                    }
                    Some(Ok(Command::Audit { guild: of })) => Ok(audit::show(self, of).await?),
                    Some(Err(e)) => Err(e.into()),
                    _ => Err(CommandError::Malformed(
                        "an owners' command parsed as another".into(),
                    )),
                };
            }
        }
        if let Some(InteractionData::MessageComponent(data)) = &interaction.data {
            if let Some(decision) = Decision::parse(&data.custom_id) {
                return match owner {
                    Some(owner) => {
                        let origin = AuditOrigin::Discord(guild);
                        access::decide(self, decision, owner, origin).await
                    }
                    None => Ok(reply::ephemeral(
                        "Only the bot's owners decide access requests.",
                    )),
                };
            }
        }

        // The gate: nothing below runs, reads state, writes or sends, for an unlisted guild.
        let allowed = match guild {
            Some(g) => self.serves(g).await?,
            None => false,
        };
        let (Some(guild), Some(user), Some(member), true) =
            (guild, user, interaction.member.as_ref(), allowed)
        else {
            return self.unlisted(interaction, guild, user).await;
        };

        // Autocomplete runs on every keystroke: answer it before the settings read below.
        if interaction.kind == InteractionType::ApplicationCommandAutocomplete {
            return match data {
                Some(data) if data.name == name::PLAY => {
                    autocomplete::play(self, guild, data).await
                }
                Some(data) if data.name == name::PLAYLIST => {
                    autocomplete::playlist_names(self, guild, data).await
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
            reply: Some(ReplyTo {
                application_id: self.application_id,
                token: InteractionToken::new(interaction.token.clone()),
            }),
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
                if id == access_ui::REQUEST_BUTTON {
                    return Ok(reply::ephemeral(
                        "TimmyBot is already enabled on this server.",
                    ));
                }
                if let Some(page) = id.strip_prefix(buttons::QUEUE_PAGE) {
                    return fast::queue_page_button(self, guild, page).await;
                }
                if let Some(platform) = id.strip_prefix(lib_ids::PICK) {
                    return library::pick(self, &ctx, platform, &data.values).await;
                }
                if let Some(rest) = id.strip_prefix(lib_ids::PAGE) {
                    return library::playlists_page(self, &ctx, rest).await;
                }
                if let Some(rest) = id.strip_prefix(lib_ids::LYRICS_PAGE) {
                    return lyrics::page_button(self, rest).await;
                }
                if let Some(query) = id.strip_prefix(lib_ids::AGAIN) {
                    return library::again(self, &ctx, query).await;
                }
                if let Some(tail) = id.strip_prefix(timmybot_discord::search::PICK) {
                    return playback::search_pick(self, &ctx, tail, &data.values).await;
                }
                match id {
                    lib_ids::YOUTUBE_CHECK => library::youtube_button(self, &ctx).await,
                    lib_ids::SPOTIFY_PASTE => Ok(library::spotify_paste_form()),
                    buttons::LOOP | buttons::SHUFFLE => fast::button(self, &ctx, id).await,
                    buttons::SKIP | buttons::PREVIOUS | buttons::PAUSE_RESUME | buttons::STOP => {
                        playback::button(self, &ctx, id).await
                    }
                    _ => Ok(reply::ephemeral(
                        "That button isn't something this version of TimmyBot knows.",
                    )),
                }
            }
            (InteractionType::ModalSubmit, Some(InteractionData::ModalSubmit(data)))
                if data.custom_id == lib_ids::SPOTIFY_FORM =>
            {
                library::spotify_pasted(self, &ctx, data).await
            }
            _ => Ok(reply::ephemeral(
                "That isn't something this version of TimmyBot knows.",
            )),
        }
    }

    /// An unlisted guild, or a DM: the request-access message, the form it opens, and the
    /// form's one conditional write. Nothing else.
    async fn unlisted(
        &self,
        interaction: &Interaction,
        guild: Option<GuildId>,
        user: Option<UserId>,
    ) -> Result<InteractionResponse, CommandError> {
        let channel = interaction
            .channel
            .as_ref()
            .map(|c| ChannelId::from_twilight(c.id));
        match (&interaction.kind, &interaction.data, guild, user) {
            (InteractionType::ApplicationCommandAutocomplete, ..) => Ok(reply::no_choices()),
            (
                InteractionType::MessageComponent,
                Some(InteractionData::MessageComponent(data)),
                Some(guild),
                Some(_),
            ) if data.custom_id == access_ui::REQUEST_BUTTON => {
                access::open_form(self, guild).await
            }
            (
                InteractionType::ModalSubmit,
                Some(InteractionData::ModalSubmit(data)),
                Some(guild),
                Some(user),
            ) if data.custom_id == access_ui::FORM => {
                let data: &ModalInteractionData = data;
                access::submit(self, guild, user, channel, data).await
            }
            (_, _, None, _) => Ok(reply::ephemeral(
                "TimmyBot plays music in servers: use its commands in a server it is enabled on.",
            )),
            _ => Ok(access_ui::request_access()),
        }
    }

    async fn run(&self, ctx: &Ctx, command: Command) -> Result<InteractionResponse, CommandError> {
        match command {
            Command::Settings(change) => settings::run(self, ctx, change).await,
            Command::Allowlist(_) => Ok(reply::ephemeral(
                "Only the bot's owners can manage the allowlist.",
            )),
            Command::Audit { .. } => Ok(reply::ephemeral(
                "Only the bot's owners can read the audit log.",
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
            Command::Previous => playback::previous(self, ctx).await,
            Command::Pause => playback::pause(self, ctx).await,
            Command::Resume => playback::resume(self, ctx).await,
            Command::Seek { position_ms } => playback::seek(self, ctx, position_ms).await,
            Command::Volume { volume } => playback::volume(self, ctx, volume).await,
            Command::Stop => playback::stop(self, ctx).await,
            Command::Leave => playback::leave(self, ctx).await,
            Command::AuthYoutube => library::auth_youtube(self, ctx).await,
            Command::AuthSpotify => library::auth_spotify(self, ctx).await,
            Command::CheckAuth => library::check_auth(self, ctx).await,
            Command::Unlink { platform } => library::unlink(self, ctx, platform).await,
            Command::MyPlaylists { platform } => library::my_playlists(self, ctx, platform).await,
            Command::LikedSongs { platform, shuffle } => {
                library::liked_songs(self, ctx, platform, shuffle).await
            }
            Command::PlayHistory { scope } => library::play_history(self, ctx, scope).await,
            Command::Recommendations => library::recommendations(self, ctx).await,
            Command::Playlist(cmd) => playlists::run(self, ctx, cmd).await,
            Command::Search { query } => {
                let kind = IntentKind::Search {
                    query,
                    requester_id: ctx.member.user,
                };
                playback::send_command(self, ctx, kind).await
            }
            Command::Lyrics { query } => lyrics::run(self, ctx, query).await,
        }
    }
}
