//! The access request's messages: the "Request access" button an unlisted guild sees, the
//! form it opens, and the owners' DM with Approve and Deny. Their custom ids are defined
//! here, once, beside the parsers that read them back.

use twilight_model::application::interaction::modal::{
    ModalInteractionComponent, ModalInteractionData,
};
use twilight_model::channel::message::component::{
    ActionRow, Button, ButtonStyle, Component, Label, TextInput, TextInputStyle,
};
use twilight_model::channel::message::{AllowedMentions, Embed, MessageFlags};
use twilight_model::http::interaction::{
    InteractionResponse, InteractionResponseData, InteractionResponseType,
};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder};
use twilight_util::builder::InteractionResponseDataBuilder;

use timmybot_domain::access::{SERVER_NAME_MAX, USE_CASE_MAX};
use timmybot_domain::{AccessRequest, GuildId};

/// The button under the request-access message.
pub const REQUEST_BUTTON: &str = "access:request";
/// The form it opens, and the form's fields.
pub const FORM: &str = "access:form";
pub const FIELD_SERVER_NAME: &str = "server_name";
pub const FIELD_USE_CASE: &str = "use_case";
pub const FIELD_LISTENERS: &str = "listeners";
/// The owners' buttons: `access:approve:<guild>` and `access:deny:<guild>`.
const APPROVE: &str = "access:approve:";
const DENY: &str = "access:deny:";

pub const REQUEST_ACCESS: &str = "TimmyBot isn't enabled on this server yet. \
Press **Request access** to ask the bot's owner, or run your own TimmyBot: it is free and \
self-hosted, with no AWS account needed (`timmybot serve`).";

/// The ephemeral reply an unlisted guild gets, with its one button.
pub fn request_access() -> InteractionResponse {
    let button = Component::Button(Button {
        custom_id: Some(REQUEST_BUTTON.into()),
        disabled: false,
        emoji: None,
        id: None,
        label: Some("Request access".into()),
        style: ButtonStyle::Primary,
        url: None,
        sku_id: None,
    });
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(
            InteractionResponseDataBuilder::new()
                .content(REQUEST_ACCESS)
                .flags(MessageFlags::EPHEMERAL)
                .allowed_mentions(AllowedMentions::default())
                .components([row(vec![button])])
                .build(),
        ),
    }
}

/// The request form.
pub fn form() -> InteractionResponse {
    // A Label around each input: Discord's current form layout (an input's own label is
    // deprecated).
    #[allow(deprecated)]
    let input = |id: &str, label: &str, style, max: usize, required: bool, placeholder: &str| {
        Component::Label(Label {
            id: None,
            label: label.into(),
            description: None,
            component: Box::new(Component::TextInput(TextInput {
                id: None,
                custom_id: id.into(),
                label: None,
                max_length: u16::try_from(max).ok(),
                min_length: None,
                placeholder: Some(placeholder.into()),
                required: Some(required),
                style,
                value: None,
            })),
        })
    };
    InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(
            InteractionResponseDataBuilder::new()
                .custom_id(FORM)
                .title("Request access to TimmyBot")
                .components([
                    input(
                        FIELD_SERVER_NAME,
                        "Server name",
                        TextInputStyle::Short,
                        SERVER_NAME_MAX,
                        false,
                        "So the owner knows which server this is",
                    ),
                    input(
                        FIELD_USE_CASE,
                        "What will you use it for?",
                        TextInputStyle::Paragraph,
                        USE_CASE_MAX,
                        true,
                        "Music for our game nights, a study channel, …",
                    ),
                    input(
                        FIELD_LISTENERS,
                        "How many people will listen?",
                        TextInputStyle::Short,
                        6,
                        true,
                        "A number, such as 10",
                    ),
                ])
                .build(),
        ),
    }
}

/// What the form's fields hold, by field id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub server_name: String,
    pub use_case: String,
    pub listeners: String,
}

impl Form {
    /// Reads the submitted form; fields it does not know are ignored.
    pub fn parse(data: &ModalInteractionData) -> Self {
        let mut form = Form::default();
        let mut stack: Vec<&ModalInteractionComponent> = data.components.iter().collect();
        while let Some(c) = stack.pop() {
            match c {
                ModalInteractionComponent::ActionRow(r) => stack.extend(r.components.iter()),
                ModalInteractionComponent::Label(l) => stack.push(&l.component),
                ModalInteractionComponent::TextInput(t) => {
                    let slot = match t.custom_id.as_str() {
                        FIELD_SERVER_NAME => &mut form.server_name,
                        FIELD_USE_CASE => &mut form.use_case,
                        FIELD_LISTENERS => &mut form.listeners,
                        _ => continue,
                    };
                    slot.clone_from(&t.value);
                }
                _ => {}
            }
        }
        form
    }
}

/// An owner's decision on a request, from a button's custom id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve(GuildId),
    Deny(GuildId),
}

impl Decision {
    pub fn parse(custom_id: &str) -> Option<Self> {
        if let Some(g) = custom_id.strip_prefix(APPROVE) {
            return GuildId::parse(g).ok().map(Self::Approve);
        }
        custom_id
            .strip_prefix(DENY)
            .and_then(|g| GuildId::parse(g).ok())
            .map(Self::Deny)
    }
}

/// The owners' DM: the request, with Approve and Deny.
pub struct OwnerMessage {
    pub embed: Embed,
    pub components: Vec<Component>,
}

pub fn owner_message(request: &AccessRequest) -> OwnerMessage {
    let name = if request.server_name.is_empty() {
        "(no name given)".to_owned()
    } else {
        crate::render::escape(&request.server_name)
    };
    let embed = EmbedBuilder::new()
        .title("Access request")
        .color(0x5865F2)
        .description(crate::render::escape(&request.use_case))
        .field(
            EmbedFieldBuilder::new("Server", format!("{name} (`{}`)", request.guild_id)).inline(),
        )
        .field(EmbedFieldBuilder::new("Asked by", format!("<@{}>", request.requested_by)).inline())
        .field(
            EmbedFieldBuilder::new("Expected listeners", request.expected_listeners.to_string())
                .inline(),
        )
        .build();
    let button = |label: &str, id: String, style| {
        Component::Button(Button {
            custom_id: Some(id),
            disabled: false,
            emoji: None,
            id: None,
            label: Some(label.into()),
            style,
            url: None,
            sku_id: None,
        })
    };
    OwnerMessage {
        embed,
        components: vec![row(vec![
            button(
                "Approve",
                format!("{APPROVE}{}", request.guild_id),
                ButtonStyle::Success,
            ),
            button(
                "Deny",
                format!("{DENY}{}", request.guild_id),
                ButtonStyle::Danger,
            ),
        ])],
    }
}

/// The owner's DM after a decision: what was decided, and no more buttons.
pub fn decided(text: impl Into<String>) -> InteractionResponseData {
    InteractionResponseDataBuilder::new()
        .content(text)
        .components([])
        .embeds([])
        .allowed_mentions(AllowedMentions::default())
        .build()
}

fn row(components: Vec<Component>) -> Component {
    Component::ActionRow(ActionRow {
        id: None,
        components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::application::interaction::modal::{
        ModalInteractionActionRow, ModalInteractionLabel, ModalInteractionTextInput,
    };

    fn text(id: &str, value: &str) -> ModalInteractionComponent {
        ModalInteractionComponent::TextInput(ModalInteractionTextInput {
            custom_id: id.into(),
            id: 0,
            value: value.into(),
        })
    }

    #[test]
    fn the_form_reads_back_from_rows_and_labels() {
        let data = ModalInteractionData {
            custom_id: FORM.into(),
            resolved: None,
            components: vec![
                ModalInteractionComponent::ActionRow(ModalInteractionActionRow {
                    id: 1,
                    components: vec![text(FIELD_USE_CASE, "game nights")],
                }),
                ModalInteractionComponent::Label(ModalInteractionLabel {
                    id: 2,
                    component: Box::new(text(FIELD_LISTENERS, "12")),
                }),
                ModalInteractionComponent::ActionRow(ModalInteractionActionRow {
                    id: 3,
                    components: vec![text("unknown", "x"), text(FIELD_SERVER_NAME, "Club")],
                }),
            ],
        };
        assert_eq!(
            Form::parse(&data),
            Form {
                server_name: "Club".into(),
                use_case: "game nights".into(),
                listeners: "12".into(),
            }
        );
    }

    #[test]
    fn decisions_round_trip_through_their_buttons() {
        let g = GuildId::new(81_384_788_765_712_384).unwrap();
        let request = AccessRequest::new(
            g,
            "Club",
            timmybot_domain::UserId::new(2).unwrap(),
            None,
            "fun",
            "3",
            0,
        )
        .unwrap();
        let message = owner_message(&request);
        let ids: Vec<String> = match &message.components[0] {
            Component::ActionRow(r) => r
                .components
                .iter()
                .filter_map(|c| match c {
                    Component::Button(b) => b.custom_id.clone(),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        };
        assert_eq!(Decision::parse(&ids[0]), Some(Decision::Approve(g)));
        assert_eq!(Decision::parse(&ids[1]), Some(Decision::Deny(g)));
        assert_eq!(Decision::parse("access:approve:0"), None);
        assert_eq!(Decision::parse("np:skip"), None);
    }
}
