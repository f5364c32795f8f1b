//! A member's guild-level permissions, computed as Discord documents it ("Permissions:
//! Permission Hierarchy"): the @everyone role's, OR each of the member's roles'; the owner
//! and Administrator hold every permission.

use twilight_model::guild::Permissions;

use timmybot_domain::{GuildId, RoleId, UserId};

use crate::ports::Standing;

/// What the bot read of the guild: its owner, and each role's permissions.
#[derive(Debug, Clone)]
pub struct GuildRoles {
    pub owner: UserId,
    pub roles: Vec<(RoleId, Permissions)>,
}

pub fn standing(guild: GuildId, of: &GuildRoles, user: UserId, roles: Vec<RoleId>) -> Standing {
    let everyone = RoleId::new(guild.get()).ok();
    let perms = of
        .roles
        .iter()
        .filter(|(id, _)| Some(*id) == everyone || roles.contains(id))
        .fold(Permissions::empty(), |acc, (_, p)| acc | *p);
    let manage_guild = of.owner == user
        || perms.intersects(Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD);
    Standing {
        roles,
        manage_guild,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(n: u64) -> RoleId {
        RoleId::new(n).unwrap()
    }

    fn guild_roles() -> GuildRoles {
        GuildRoles {
            owner: UserId::new(1).unwrap(),
            roles: vec![
                (role(10), Permissions::SEND_MESSAGES),
                (role(20), Permissions::MANAGE_GUILD),
                (role(30), Permissions::ADMINISTRATOR),
            ],
        }
    }

    #[test]
    fn manage_server_comes_from_a_role_administrator_or_ownership() {
        let g = GuildId::new(10).unwrap();
        let u = UserId::new(5).unwrap();
        let of = guild_roles();
        assert!(!standing(g, &of, u, vec![]).manage_guild);
        assert!(standing(g, &of, u, vec![role(20)]).manage_guild);
        assert!(standing(g, &of, u, vec![role(30)]).manage_guild);
        assert!(standing(g, &of, UserId::new(1).unwrap(), vec![]).manage_guild);
        // A role the guild does not have grants nothing.
        assert!(!standing(g, &of, u, vec![role(99)]).manage_guild);
    }

    #[test]
    fn the_everyone_role_counts_for_every_member() {
        let g = GuildId::new(20).unwrap();
        let everyone_manages = standing(g, &guild_roles(), UserId::new(5).unwrap(), vec![]);
        assert!(
            everyone_manages.manage_guild,
            "role 20 is this guild's @everyone"
        );
    }
}
