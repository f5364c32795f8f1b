//! Who may control playback.
//!
//! A DJ may do anything: members with Manage Guild, and members with the guild's DJ role.
//! With no DJ role set, everyone is a DJ, as in most music bots. Anyone may add tracks,
//! look at the queue, and remove or skip a track they requested themselves.

use twilight_model::guild::Permissions;

use timmybot_discord::ids::FromTwilight;

use timmybot_domain::{RoleId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: UserId,
    pub roles: Vec<RoleId>,
    pub manage_guild: bool,
}

impl Member {
    /// From the interaction's member, whose `permissions` Discord resolves for the channel.
    pub fn from_interaction(member: &twilight_model::guild::PartialMember, user: UserId) -> Self {
        let perms = member.permissions.unwrap_or(Permissions::empty());
        Self {
            user,
            roles: member
                .roles
                .iter()
                .map(|r| RoleId::from_twilight(*r))
                .collect(),
            manage_guild: perms.intersects(Permissions::MANAGE_GUILD | Permissions::ADMINISTRATOR),
        }
    }

    pub fn is_dj(&self, dj_role: Option<RoleId>) -> bool {
        self.manage_guild || dj_role.is_none_or(|role| self.roles.contains(&role))
    }
}

pub const NOT_DJ: &str = "Only DJs can do that: members with the DJ role or Manage Server.";

#[cfg(test)]
mod tests {
    use super::*;

    fn member(roles: &[u64], manage_guild: bool) -> Member {
        Member {
            user: UserId::new(1).unwrap(),
            roles: roles.iter().map(|r| RoleId::new(*r).unwrap()).collect(),
            manage_guild,
        }
    }

    #[test]
    fn with_no_dj_role_everyone_is_a_dj() {
        assert!(member(&[], false).is_dj(None));
    }

    #[test]
    fn with_a_dj_role_only_its_holders_and_managers_are() {
        let dj = RoleId::new(5).ok();
        assert!(member(&[5], false).is_dj(dj));
        assert!(member(&[], true).is_dj(dj));
        assert!(!member(&[6], false).is_dj(dj));
    }
}
