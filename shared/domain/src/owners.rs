//! The bot owners (`BOT_OWNER_IDS`): who may manage the allowlist.

use super::ids::{IdError, UserId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotOwners(Vec<UserId>);

impl BotOwners {
    /// Parses a comma-separated list of user ids; blanks around commas are allowed.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let mut ids: Vec<UserId> = Vec::new();
        for part in input.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let id = UserId::parse(part)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(Self(ids))
    }

    /// A handful of owners at most, so a scan beats any index.
    pub fn contains(&self, user: UserId) -> bool {
        self.0.contains(&user)
    }

    /// The first owner listed: the default approver.
    pub fn first(&self) -> Option<UserId> {
        self.0.first().copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = UserId> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_with_blanks_and_repeats() {
        let owners = BotOwners::parse(" 12, 7,,12 ").unwrap();
        assert!(owners.contains(UserId::new(7).unwrap()));
        assert!(owners.contains(UserId::new(12).unwrap()));
        assert!(!owners.contains(UserId::new(8).unwrap()));
        assert_eq!(owners.first(), UserId::new(12).ok(), "first as listed");
        assert!(BotOwners::parse("").unwrap().is_empty());
    }

    #[test]
    fn one_bad_id_fails_the_whole_list() {
        assert!(BotOwners::parse("12,abc").is_err());
    }
}
