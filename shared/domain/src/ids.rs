//! Discord snowflake ids as distinct types, so a channel id can never be passed where a
//! guild id is expected. Each is made by `parse` (or `new`) and nothing else.

use std::fmt;
use std::num::NonZeroU64;

/// Why a string is not a snowflake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} id is empty")]
    Empty { what: &'static str },
    #[error("{what} id must be only digits, got {shown:?}")]
    NotDigits { what: &'static str, shown: String },
    #[error("{what} id has a leading zero")]
    LeadingZero { what: &'static str },
    #[error("{what} id is too large for a snowflake")]
    TooLarge { what: &'static str },
    #[error("{what} id must not be 0")]
    Zero { what: &'static str },
}

/// Longest text echoed back in an error, so hostile input cannot flood a log line.
const SHOWN_MAX: usize = 32;

fn parse_snowflake(input: &str, what: &'static str) -> Result<NonZeroU64, IdError> {
    if input.is_empty() {
        return Err(IdError::Empty { what });
    }
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        let shown = input.chars().take(SHOWN_MAX).collect();
        return Err(IdError::NotDigits { what, shown });
    }
    // One canonical spelling per id keeps store keys and dedup ids stable.
    if input.starts_with('0') {
        return Err(if input.len() == 1 {
            IdError::Zero { what }
        } else {
            IdError::LeadingZero { what }
        });
    }
    let value: u64 = input.parse().map_err(|_| IdError::TooLarge { what })?;
    NonZeroU64::new(value).ok_or(IdError::Zero { what })
}

macro_rules! snowflake {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(NonZeroU64);

        impl $name {
            /// Parses the decimal form Discord sends.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                parse_snowflake(input, $what).map(Self)
            }

            pub fn new(value: u64) -> Result<Self, IdError> {
                NonZeroU64::new(value).map(Self).ok_or(IdError::Zero { what: $what })
            }

            pub fn get(self) -> u64 {
                self.0.get()
            }

            pub fn non_zero(self) -> NonZeroU64 {
                self.0
            }
        }

        impl From<NonZeroU64> for $name {
            fn from(value: NonZeroU64) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        // Discord's JSON carries snowflakes as strings; so do our intents and items.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

snowflake!(
    /// A Discord guild (server).
    GuildId,
    "guild"
);
snowflake!(
    /// A Discord user.
    UserId,
    "user"
);
snowflake!(
    /// A Discord channel, voice or text.
    ChannelId,
    "channel"
);
snowflake!(
    /// A Discord message, such as the now-playing message.
    MessageId,
    "message"
);
snowflake!(
    /// A Discord role, such as the DJ role.
    RoleId,
    "role"
);
snowflake!(
    /// A Discord application: the bot's own (`DISCORD_APPLICATION_ID`), which is also its
    /// user id.
    ApplicationId,
    "application"
);

impl GuildId {
    /// The shard that owns this guild under Discord's sharding rule.
    pub fn shard(self, shard_count: u32) -> u32 {
        let count = u64::from(shard_count.max(1));
        // The remainder is below `count`, which came from a u32.
        ((self.get() >> 22) % count) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_real_snowflake() {
        let id = GuildId::parse("81384788765712384").unwrap();
        assert_eq!(id.get(), 81_384_788_765_712_384);
        assert_eq!(id.to_string(), "81384788765712384");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(GuildId::parse(""), Err(IdError::Empty { .. })));
        assert!(matches!(GuildId::parse("0"), Err(IdError::Zero { .. })));
        assert!(matches!(
            GuildId::parse("012"),
            Err(IdError::LeadingZero { .. })
        ));
        assert!(matches!(
            GuildId::parse("-5"),
            Err(IdError::NotDigits { .. })
        ));
        assert!(matches!(
            GuildId::parse("+5"),
            Err(IdError::NotDigits { .. })
        ));
        assert!(matches!(
            GuildId::parse("12a"),
            Err(IdError::NotDigits { .. })
        ));
        assert!(matches!(
            GuildId::parse(" 12"),
            Err(IdError::NotDigits { .. })
        ));
        assert!(matches!(
            GuildId::parse("18446744073709551616"),
            Err(IdError::TooLarge { .. })
        ));
        assert!(GuildId::parse("18446744073709551615").is_ok());
    }

    #[test]
    fn error_names_the_kind_and_bounds_the_echo() {
        let long = "x".repeat(10_000);
        let err = ChannelId::parse(&long).unwrap_err().to_string();
        assert!(err.starts_with("channel id"), "{err}");
        assert!(err.len() < 100, "{err}");
    }

    #[test]
    fn serde_uses_strings_and_validates() {
        let id = UserId::new(42).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<UserId>("\"42\"").unwrap(), id);
        assert!(serde_json::from_str::<UserId>("\"0\"").is_err());
        assert!(serde_json::from_str::<UserId>("42").is_err());
    }

    #[test]
    fn shard_follows_discords_rule() {
        // (id >> 22) % count, from Discord's sharding documentation.
        let id = GuildId::new(197_038_439_483_310_086).unwrap();
        assert_eq!(id.shard(1), 0);
        assert_eq!(
            u64::from(id.shard(16)),
            (197_038_439_483_310_086u64 >> 22) % 16
        );
        assert_eq!(id.shard(0), 0, "a zero count is treated as one shard");
    }
}
