//! The command core: an interaction in, a response out. No HTTP types here, so the same core
//! answers webhooks (Lambda, `--listen`) and, in embedded mode, gateway interactions.

mod admin;
pub mod reply;

use std::sync::Arc;

use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::http::interaction::InteractionResponse;

use timmybot_shared::clock::Clock;
use timmybot_shared::domain::{BotOwners, GuildId, UserId};
use timmybot_shared::store::{SharedStore, StoreError};

pub struct Core {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    owners: BotOwners,
}

impl Core {
    pub fn new(store: SharedStore, clock: Arc<dyn Clock>, owners: BotOwners) -> Self {
        Self {
            store,
            clock,
            owners,
        }
    }

    pub async fn handle(&self, interaction: &Interaction) -> InteractionResponse {
        match self.dispatch(interaction).await {
            Ok(response) => response,
            Err(err) => {
                // The interaction's token never goes into a log line; its id is enough.
                tracing::error!(interaction = %interaction.id, error = %err, "interaction failed");
                reply::ephemeral(reply::INTERNAL_ERROR)
            }
        }
    }

    async fn dispatch(&self, interaction: &Interaction) -> Result<InteractionResponse, StoreError> {
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

        // Owners manage the allowlist from anywhere, unlisted guilds and DMs included:
        // otherwise no guild could ever be approved from Discord.
        if let (true, Some(data), Some(owner)) = (is_command, command, user) {
            if data.name == "allowlist" && self.owners.contains(owner) {
                return admin::allowlist(self, data, owner, guild).await;
            }
        }

        // The gate: nothing below runs, reads state, writes or sends, for an unlisted guild.
        let allowed = match guild {
            Some(g) => self.store.is_allowed(g).await?,
            None => false,
        };
        if !allowed {
            return Ok(match interaction.kind {
                InteractionType::ApplicationCommandAutocomplete => reply::no_choices(),
                _ => reply::ephemeral(reply::REQUEST_ACCESS),
            });
        }

        Ok(match command.map(|d| d.name.as_str()) {
            Some("allowlist") => {
                reply::ephemeral("Only the bot's owners can manage the allowlist.")
            }
            Some(name) => reply::ephemeral(format!(
                "`/{name}` isn't something this version of TimmyBot can do yet."
            )),
            None if interaction.kind == InteractionType::ApplicationCommandAutocomplete => {
                reply::no_choices()
            }
            None => reply::ephemeral(
                "That button or form isn't something this version of TimmyBot knows.",
            ),
        })
    }
}
