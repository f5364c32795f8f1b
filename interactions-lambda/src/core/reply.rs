//! Building the responses Discord expects, with twilight's types.

use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};
use twilight_util::builder::InteractionResponseDataBuilder;

pub fn pong() -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::Pong,
        data: None,
    }
}

/// A message only the user who acted sees. Mentions in it never ping anyone.
pub fn ephemeral(content: impl Into<String>) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(
            InteractionResponseDataBuilder::new()
                .content(content)
                .flags(MessageFlags::EPHEMERAL)
                .allowed_mentions(AllowedMentions::default())
                .build(),
        ),
    }
}

/// No suggestions, for autocomplete that must not reveal anything.
pub fn no_choices() -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ApplicationCommandAutocompleteResult,
        data: Some(InteractionResponseDataBuilder::new().choices([]).build()),
    }
}

pub const REQUEST_ACCESS: &str = "TimmyBot isn't enabled on this server yet. \
Ask the bot's owner to approve it: they can run `/allowlist add` here. \
Or run your own TimmyBot: it is free and self-hosted, with no AWS account needed \
(`timmybot serve`).";

pub const INTERNAL_ERROR: &str =
    "Something went wrong on our side, and nothing was changed. Please try again in a moment.";

/// A plain message everyone in the channel sees. Mentions in it never ping anyone.
pub fn visible(content: impl Into<String>) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(
            InteractionResponseDataBuilder::new()
                .content(content)
                .allowed_mentions(AllowedMentions::default())
                .build(),
        ),
    }
}
