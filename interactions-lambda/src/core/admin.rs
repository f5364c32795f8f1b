//! `/allowlist add|remove|list`: the bot owners' command.

use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};
use twilight_model::http::interaction::InteractionResponse;

use super::args::string;
use super::reply::ephemeral;
use super::Core;
use timmybot_shared::domain::{AllowEntry, GuildId, UserId};
use timmybot_shared::store::StoreError;

/// Entries shown by `list`, to stay inside Discord's 2,000-character message limit.
const LIST_MAX: usize = 40;

pub async fn allowlist(
    core: &Core,
    data: &CommandData,
    owner: UserId,
    here: Option<GuildId>,
) -> Result<InteractionResponse, StoreError> {
    let Some(sub) = data.options.first() else {
        return Ok(ephemeral(
            "Use `/allowlist add`, `/allowlist remove` or `/allowlist list`.",
        ));
    };
    let args = match &sub.value {
        CommandOptionValue::SubCommand(args) => args.as_slice(),
        _ => &[],
    };
    match sub.name.as_str() {
        "add" => {
            let guild = match target(args, here) {
                Ok(g) => g,
                Err(msg) => return Ok(ephemeral(msg)),
            };
            core.ports
                .store
                .allow(&AllowEntry::new(
                    guild,
                    owner,
                    core.ports.clock.now_ms(),
                    string(args, "note").unwrap_or_default(),
                ))
                .await?;
            Ok(ephemeral(format!("Guild `{guild}` may now use TimmyBot.")))
        }
        "remove" => {
            let guild = match target(args, here) {
                Ok(g) => g,
                Err(msg) => return Ok(ephemeral(msg)),
            };
            Ok(ephemeral(if core.ports.store.revoke(guild).await? {
                format!("Guild `{guild}` is no longer allowed.")
            } else {
                format!("Guild `{guild}` was not on the allowlist.")
            }))
        }
        "list" => {
            let entries = core.ports.store.list_allowed().await?;
            if entries.is_empty() {
                return Ok(ephemeral("The allowlist is empty."));
            }
            let mut text = format!("{} allowed guild(s):\n", entries.len());
            for e in entries.iter().take(LIST_MAX) {
                text.push_str(&format!("• `{}` by <@{}>", e.guild_id, e.approved_by));
                if !e.note.is_empty() {
                    text.push_str(&format!(": {}", e.note));
                }
                text.push('\n');
            }
            if entries.len() > LIST_MAX {
                text.push_str(&format!(
                    "…and {} more (`timmybot allowlist list` shows all).",
                    entries.len() - LIST_MAX
                ));
            }
            Ok(ephemeral(text))
        }
        other => Ok(ephemeral(format!(
            "`/allowlist {other}` is not a subcommand I know."
        ))),
    }
}

/// The `guild` option, or the guild the command was used in.
fn target(args: &[CommandDataOption], here: Option<GuildId>) -> Result<GuildId, String> {
    match string(args, "guild") {
        Some(raw) => {
            GuildId::parse(raw.trim()).map_err(|e| format!("That is not a server id: {e}."))
        }
        None => here.ok_or_else(|| "Say which server: `guild:` takes a server id.".to_owned()),
    }
}
