//! Converting between twilight's ids and the domain's. Both are non-zero snowflakes, so the
//! conversion cannot fail in either direction.

use twilight_model::id::marker::{
    ApplicationMarker, ChannelMarker, GuildMarker, MessageMarker, RoleMarker, UserMarker,
};
use twilight_model::id::Id;

use timmybot_domain::{ApplicationId, ChannelId, GuildId, MessageId, RoleId, UserId};

/// A domain id made from its twilight twin.
pub trait FromTwilight<M> {
    fn from_twilight(id: Id<M>) -> Self;
}

/// The twilight twin of a domain id.
pub trait ToTwilight<M> {
    fn to_twilight(self) -> Id<M>;
}

macro_rules! twin {
    ($domain:ty, $marker:ty) => {
        impl FromTwilight<$marker> for $domain {
            fn from_twilight(id: Id<$marker>) -> Self {
                Self::from(id.into_nonzero())
            }
        }

        impl ToTwilight<$marker> for $domain {
            fn to_twilight(self) -> Id<$marker> {
                Id::from(self.non_zero())
            }
        }
    };
}

twin!(GuildId, GuildMarker);
twin!(UserId, UserMarker);
twin!(ChannelId, ChannelMarker);
twin!(MessageId, MessageMarker);
twin!(RoleId, RoleMarker);
twin!(ApplicationId, ApplicationMarker);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let g = GuildId::new(81_384_788_765_712_384).unwrap();
        let t: Id<GuildMarker> = g.to_twilight();
        assert_eq!(t.get(), g.get());
        assert_eq!(GuildId::from_twilight(t), g);
    }
}
