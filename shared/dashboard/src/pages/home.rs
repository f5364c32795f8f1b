//! The front page: "Log in with Discord", or the guilds a member can open.

use maud::{html, Markup};

use timmybot_domain::GuildId;

use super::{shell, Viewer};
use crate::routes::BASE;

pub fn login() -> Markup {
    shell(
        "Log in",
        None,
        html! {
            section.card.center {
                h1 { "TimmyBot" }
                p { "See what's playing, line up the queue and control the music of your servers from here." }
                a.button.primary href={ (BASE) "/login" } { "Log in with Discord" }
                p.muted { "TimmyBot asks Discord for your name and your server list, and keeps neither token nor password." }
            }
        },
    )
}

pub fn guilds(viewer: &Viewer<'_>, guilds: &[(GuildId, String)]) -> Markup {
    shell(
        "Your servers",
        Some(viewer),
        html! {
            h1 { "Your servers" }
            @if guilds.is_empty() {
                p { "None of your servers has TimmyBot enabled. Ask the bot's owner, or use /play in a server to request it." }
            } @else {
                ul.guilds {
                    @for (id, name) in guilds {
                        li { a href={ (BASE) "/guilds/" (id) } { (name) } }
                    }
                }
            }
        },
    )
}
