//! The dashboard's way in. A control pressed in a browser runs the very command a slash
//! command would, after the same rate limit and allowlist gate and under the same permission
//! rules. Only the answer travels differently: the page shows it, and no interaction token
//! exists for the worker to edit.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_discord::access::Decision;
use timmybot_discord::command::{Allowlist, Command};
use timmybot_discord::reply;
use timmybot_domain::{AuditOrigin, GuildId, IntentId, UserId};

use crate::error::answer;
use crate::permissions::Member;
use crate::{access, admin, Core, Ctx, Handled};

/// What an owner does from the dashboard's owner page.
#[derive(Debug, Clone)]
pub enum OwnerAction {
    Allowlist(Allowlist),
    Decide(Decision),
}

impl Core {
    /// Runs `command` for `member` of `guild`, whose roles and permissions the dashboard read
    /// from Discord. The member's id is the session's user, never a value from the request.
    pub async fn act(
        &self,
        guild: GuildId,
        member: Member,
        command: Command,
    ) -> (InteractionResponse, Handled) {
        let name = command.name();
        let id = IntentId::generate();
        let result = async {
            if let Some(refusal) = self.slow_down(member.user) {
                return Ok(refusal);
            }
            if !self.serves(guild).await? {
                return Ok(reply::ephemeral("TimmyBot is not enabled on this server."));
            }
            let ctx = Ctx {
                intent_id: id.clone(),
                guild,
                dj_role: self.ports.store.guild_settings(guild).await?.dj_role,
                member,
                reply: None,
                channel: None,
            };
            self.run(&ctx, command).await
        }
        .await;
        let (response, failed) = answer(result, &id);
        (response, Handled { name, failed })
    }

    /// An owner's allowlist change or access decision, as the slash command and the DM's
    /// buttons make them, audited as done from the dashboard.
    pub async fn owner_act(
        &self,
        owner: UserId,
        action: OwnerAction,
    ) -> (InteractionResponse, Handled) {
        let name = match action {
            OwnerAction::Allowlist(_) => "allowlist",
            OwnerAction::Decide(_) => "decide",
        };
        let result = async {
            if !self.owners.contains(owner) {
                return Ok(reply::ephemeral(
                    "Only the bot's owners can manage the allowlist.",
                ));
            }
            if let Some(refusal) = self.slow_down(owner) {
                return Ok(refusal);
            }
            match action {
                OwnerAction::Allowlist(cmd) => {
                    Ok(admin::allowlist(self, cmd, owner, None, AuditOrigin::Dashboard).await?)
                }
                OwnerAction::Decide(decision) => {
                    access::decide(self, decision, owner, AuditOrigin::Dashboard).await
                }
            }
        }
        .await;
        let (response, failed) = answer(result, &owner);
        (response, Handled { name, failed })
    }

    /// Whether `user` is one of the bot's owners.
    pub fn is_owner(&self, user: UserId) -> bool {
        self.owners.contains(user)
    }

    /// The store, for the dashboard's pages: they read what the commands write.
    pub fn store(&self) -> &timmybot_store::SharedStore {
        &self.ports.store
    }

    /// How many workers split the shards: the owner page shows each one's heartbeat.
    pub fn worker_count(&self) -> u32 {
        self.ports.workers.plan().worker_count()
    }
}
