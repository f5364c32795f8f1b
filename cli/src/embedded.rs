//! Embedded mode: the command core and the voice worker in one process, on SQLite and the
//! in-process bus. Interactions arrive over the gateway as INTERACTION_CREATE and are answered
//! through the REST callback; `--listen` also serves the signed HTTP endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use secrecy::ExposeSecret;
use timmybot_bus::local::LocalBus;
use timmybot_bus::{IntentBus, WorkerRoutes};
use timmybot_commands::adapters::RestMessenger;
use timmybot_commands::ports::{LookupError, VoiceLookup};
use timmybot_commands::{Core, Ports};
use timmybot_config::WorkerSettings;
use timmybot_discord::ids::ToTwilight;
use timmybot_domain::{BotOwners, ChannelId, Clock, GuildId, SystemClock, UserId};
use timmybot_edge::{router, App, Verifier};
use twilight_gateway::Event;
use twilight_model::application::interaction::Interaction;
use twilight_model::id::marker::ApplicationMarker;
use twilight_model::id::Id;
use voice_worker::adapters::presence::VoiceStates;
use voice_worker::startup::{run_with, Wiring};

/// How long a taken intent stays hidden before the in-process bus hands it out again.
const BUS_VISIBILITY: Duration = Duration::from_secs(60);

pub struct Embedded {
    /// Token, application id, store, sources, idle times, proxies: the worker's settings.
    pub worker: WorkerSettings,
    pub owners: BotOwners,
    /// Serve every guild the bot is in (a private instance), not just the allowlist.
    pub allow_all: bool,
    /// Also serve Discord's signed HTTP interactions here.
    pub listen: Option<(SocketAddr, Verifier)>,
    /// Bulk-overwrite the global slash commands on start.
    pub register_commands: bool,
    /// The web dashboard, served beside `--listen`'s interactions.
    pub dashboard: Option<timmybot_config::DashboardSettings>,
}

/// "Which voice channel is this member in", answered from the gateway's voice states: in
/// embedded mode the gateway is in the same process, so no REST call is needed.
struct GatewayVoiceLookup(Arc<VoiceStates>);

#[async_trait]
impl VoiceLookup for GatewayVoiceLookup {
    async fn voice_channel(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<ChannelId>, LookupError> {
        Ok(self.0.channel_of(guild, user))
    }
}

/// Runs the whole bot until `shutdown`, then drains the worker.
pub async fn run(
    config: Embedded,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut settings = config.worker;
    // At home, egress costs nothing: an Opus source plays as it comes, unless told otherwise.
    settings
        .voice_bitrate
        .get_or_insert(timmybot_config::VoiceBitrate::Passthrough);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = timmybot_store::open(&settings.store, clock.clone()).await?;
    let bus: Arc<dyn IntentBus> = Arc::new(LocalBus::new(BUS_VISIBILITY));
    let states = Arc::new(VoiceStates::default());
    let http = Arc::new(timmybot_discord::rest::client(
        &settings.discord,
        timmybot_discord::rest::DEFAULT_TIMEOUT,
    ));
    let app_id: Id<ApplicationMarker> = settings.discord.application_id.to_twilight();

    if config.register_commands {
        let n = crate::register::overwrite(&http, app_id, None)
            .await
            .context("registering the slash commands")?;
        tracing::info!(commands = n, "registered the slash commands");
    }

    // Linked accounts: the vault key from the settings, or a key file beside the database.
    let key_file = match &settings.store {
        timmybot_config::StoreConfig::Sqlite(path) => Some(vault_key_path(path)),
        _ => None,
    };
    let accounts = timmybot_accounts::Accounts::open(
        &settings.accounts,
        store.clone(),
        clock.clone(),
        key_file.as_deref(),
    )
    .context("opening the vault for linked accounts")?;
    let mut core = Core::new(
        Ports {
            store: store.clone(),
            // One worker in this process, awake as long as the process runs.
            workers: WorkerRoutes::single(bus.clone(), None),
            clock: clock.clone(),
            voice: Arc::new(GatewayVoiceLookup(states.clone())),
            messenger: Arc::new(RestMessenger::new(http.clone())),
        },
        config.owners,
        settings.discord.application_id,
    );
    if config.allow_all {
        core = core.allow_all();
    }
    if let Some(accounts) = &accounts {
        core = core.with_accounts(accounts.clone());
    }
    let core = Arc::new(core);

    if let Some((addr, verifier)) = config.listen {
        let dashboard = match &config.dashboard {
            Some(dashboard) => {
                // Cookies are signed under a key derived from the vault's: the settings' own,
                // or the key file beside the database that opening the vault made.
                let secret = timmybot_accounts::vault::Vault::resolve_key(
                    settings.accounts.vault_key.as_ref(),
                    key_file.as_deref(),
                )?
                .context("the dashboard signs its cookies under token_vault_key: set it")?;
                Some(Arc::new(timmybot_dashboard::Dashboard::new(
                    core.clone(),
                    dashboard,
                    settings.discord.application_id,
                    secret.expose_secret().as_bytes(),
                    http.clone(),
                    clock.clone(),
                )?))
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding --listen {addr}"))?;
        let app = router(Arc::new(App {
            verifier,
            core: core.clone(),
            telemetry: Arc::new(timmybot_edge::telemetry::Silent),
            dashboard,
        }));
        tracing::info!(%addr, "serving HTTP interactions");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the HTTP interactions endpoint stopped");
            }
        });
    }

    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let answering = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::InteractionCreate(interaction) = event {
                let (core, http) = (core.clone(), http.clone());
                // Each on its own task: a slow command never holds up the next one's 3 s.
                tokio::spawn(async move { answer(&core, &http, app_id, interaction.0).await });
            }
        }
    });
    let wiring = Wiring {
        store,
        bus,
        service: None,
        states,
        events: Some(events_tx),
        accounts,
    };
    let result = run_with(settings, wiring, shutdown).await;
    answering.abort();
    result
}

/// `timmybot-vault.key` in the database's folder: the two are backed up together.
fn vault_key_path(db: &std::path::Path) -> std::path::PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."))
        .join("timmybot-vault.key")
}

/// The command core's response, through the interaction callback.
async fn answer(
    core: &Core,
    http: &twilight_http::Client,
    app: Id<ApplicationMarker>,
    interaction: Interaction,
) {
    let response = core.handle(&interaction).await;
    if let Err(e) = http
        .interaction(app)
        .create_response(interaction.id, &interaction.token, &response)
        .await
    {
        // The token stays out of the log; the interaction's id is enough.
        tracing::warn!(interaction = %interaction.id, error = %e, "could not answer an interaction");
    }
}
