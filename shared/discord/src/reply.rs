//! Building the responses Discord expects, with twilight's types.

use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
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

pub const INTERNAL_ERROR: &str =
    "Something went wrong on our side, and nothing was changed. Please try again in a moment.";

/// A message everyone in the channel sees.
pub fn message(data: InteractionResponseData) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(data),
    }
}

/// The message a component sits on, replaced by `data`.
pub fn update(data: InteractionResponseData) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::UpdateMessage,
        data: Some(data),
    }
}

/// A plain message everyone in the channel sees. Mentions in it never ping anyone.
pub fn visible(content: impl Into<String>) -> InteractionResponse {
    message(
        InteractionResponseDataBuilder::new()
            .content(content)
            .allowed_mentions(AllowedMentions::default())
            .build(),
    )
}

/// An error's text as a sentence for users: a capital first letter and a full stop.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(sentence("nothing is playing"), "Nothing is playing.");
        assert_eq!(
            sentence("the queue is full (500 tracks); remove some or /clear first"),
            "The queue is full (500 tracks); remove some or /clear first."
        );
        assert_eq!(sentence("already done."), "Already done.");
        assert_eq!(sentence(""), "");
    }
}
