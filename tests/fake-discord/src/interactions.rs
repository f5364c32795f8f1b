//! Signed interaction requests, as Discord sends them: twilight-model payloads, signed with
//! a test Ed25519 key over `timestamp + body`.

use axum::body::Body;
use axum::http::Request;
use ed25519_dalek::{Signer, SigningKey};
use twilight_model::application::command::CommandType;
use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};
use twilight_model::application::interaction::message_component::MessageComponentInteractionData;
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::channel::message::component::ComponentType;
use twilight_model::guild::{MemberFlags, PartialMember, Permissions};
use twilight_model::id::Id;
use twilight_model::oauth::ApplicationIntegrationMap;
use twilight_model::user::User;

pub const APPLICATION_ID: u64 = 1_100_000_000_000_000_001;

/// The application's key pair; tests give the router its public half.
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

pub fn public_key_hex() -> String {
    hex::encode(signing_key().verifying_key().as_bytes())
}

/// A request to `POST /interactions` with headers exactly as given.
pub fn raw_request(
    body: Vec<u8>,
    signature: Option<&str>,
    timestamp: Option<&str>,
) -> Request<Body> {
    let mut req = Request::post("/interactions").header("content-type", "application/json");
    if let Some(sig) = signature {
        req = req.header("x-signature-ed25519", sig);
    }
    if let Some(ts) = timestamp {
        req = req.header("x-signature-timestamp", ts);
    }
    req.body(Body::from(body)).expect("request")
}

/// Signs `body` as sent at `timestamp_secs`.
pub fn sign(body: &[u8], timestamp_secs: u64) -> (String, String) {
    let ts = timestamp_secs.to_string();
    let mut message = ts.as_bytes().to_vec();
    message.extend_from_slice(body);
    (hex::encode(signing_key().sign(&message).to_bytes()), ts)
}

/// A correctly signed request carrying `body`.
pub fn signed_request(body: Vec<u8>, now_secs: u64) -> Request<Body> {
    let (sig, ts) = sign(&body, now_secs);
    raw_request(body, Some(&sig), Some(&ts))
}

/// A signed request carrying `interaction` as JSON.
pub fn signed(interaction: &Interaction, now_secs: u64) -> Request<Body> {
    signed_request(
        serde_json::to_vec(interaction).expect("encode interaction"),
        now_secs,
    )
}

pub fn user(id: u64) -> User {
    User {
        accent_color: None,
        avatar: None,
        avatar_decoration: None,
        avatar_decoration_data: None,
        banner: None,
        bot: false,
        discriminator: 0,
        email: None,
        flags: None,
        global_name: None,
        id: Id::new(id),
        locale: None,
        mfa_enabled: None,
        name: format!("user{id}"),
        premium_type: None,
        primary_guild: None,
        public_flags: None,
        system: None,
        verified: None,
    }
}

fn member(user_id: u64) -> PartialMember {
    PartialMember {
        avatar: None,
        avatar_decoration_data: None,
        banner: None,
        communication_disabled_until: None,
        deaf: false,
        flags: MemberFlags::empty(),
        joined_at: None,
        mute: false,
        nick: None,
        permissions: None,
        premium_since: None,
        roles: Vec::new(),
        user: Some(user(user_id)),
    }
}

/// An interaction of `kind` by `user`, in `guild` (or a DM when `None`).
#[allow(deprecated)] // `channel_id` is deprecated in the model but still a field.
pub fn interaction(
    id: u64,
    kind: InteractionType,
    guild: Option<u64>,
    user_id: u64,
    data: Option<InteractionData>,
) -> Interaction {
    Interaction {
        app_permissions: None,
        application_id: Id::new(APPLICATION_ID),
        authorizing_integration_owners: ApplicationIntegrationMap {
            guild: None,
            user: None,
        },
        channel: None,
        channel_id: None,
        context: None,
        data,
        entitlements: Vec::new(),
        guild: None,
        guild_id: guild.map(Id::new),
        guild_locale: None,
        id: Id::new(id),
        kind,
        locale: None,
        // In a guild the author comes as a member; in a DM, as a user.
        member: guild.map(|_| member(user_id)),
        message: None,
        token: format!("interaction-token-{id}"),
        user: guild.is_none().then(|| user(user_id)),
    }
}

pub fn ping(id: u64) -> Interaction {
    let mut i = interaction(id, InteractionType::Ping, None, 1, None);
    i.user = None;
    i
}

/// The same interaction by a member with these roles and channel permissions.
pub fn as_member(mut i: Interaction, roles: &[u64], permissions: Permissions) -> Interaction {
    if let Some(m) = i.member.as_mut() {
        m.roles = roles.iter().map(|r| Id::new(*r)).collect();
        m.permissions = Some(permissions);
    }
    i
}

/// A press of the button with `custom_id` on one of the bot's messages.
pub fn button(id: u64, guild: Option<u64>, user_id: u64, custom_id: &str) -> Interaction {
    let data = MessageComponentInteractionData {
        custom_id: custom_id.to_owned(),
        component_type: ComponentType::Button,
        resolved: None,
        values: Vec::new(),
    };
    interaction(
        id,
        InteractionType::MessageComponent,
        guild,
        user_id,
        Some(InteractionData::MessageComponent(Box::new(data))),
    )
}

/// A choice in the select menu `custom_id` on one of the bot's messages.
pub fn select(
    id: u64,
    guild: Option<u64>,
    user_id: u64,
    custom_id: &str,
    values: &[&str],
) -> Interaction {
    let data = MessageComponentInteractionData {
        custom_id: custom_id.to_owned(),
        component_type: ComponentType::TextSelectMenu,
        resolved: None,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    interaction(
        id,
        InteractionType::MessageComponent,
        guild,
        user_id,
        Some(InteractionData::MessageComponent(Box::new(data))),
    )
}

/// A slash command `/name` with `options`.
pub fn command(
    id: u64,
    guild: Option<u64>,
    user_id: u64,
    name: &str,
    options: Vec<CommandDataOption>,
) -> Interaction {
    let data = CommandData {
        guild_id: None,
        id: Id::new(1),
        name: name.to_owned(),
        kind: CommandType::ChatInput,
        options,
        resolved: None,
        target_id: None,
    };
    interaction(
        id,
        InteractionType::ApplicationCommand,
        guild,
        user_id,
        Some(InteractionData::ApplicationCommand(Box::new(data))),
    )
}

/// `/group sub` with string arguments.
pub fn subcommand(name: &str, args: &[(&str, &str)]) -> Vec<CommandDataOption> {
    vec![CommandDataOption {
        name: name.to_owned(),
        value: CommandOptionValue::SubCommand(
            args.iter()
                .map(|(k, v)| CommandDataOption {
                    name: (*k).to_owned(),
                    value: CommandOptionValue::String((*v).to_owned()),
                })
                .collect(),
        ),
    }]
}

/// `/name` with string options, by `user`, used in text channel `channel` of `guild`: what a
/// person typing the command sends. The now-playing message goes to that channel.
pub fn slash(
    id: u64,
    guild: u64,
    user_id: u64,
    channel: u64,
    name: &str,
    args: &[(&str, &str)],
) -> Interaction {
    let options = args
        .iter()
        .map(|(name, value)| CommandDataOption {
            name: (*name).to_owned(),
            value: CommandOptionValue::String((*value).to_owned()),
        })
        .collect();
    let mut i = command(id, Some(guild), user_id, name, options);
    i.channel = Some(
        serde_json::from_value(serde_json::json!({
            "id": channel.to_string(), "type": 0, "guild_id": guild.to_string(),
        }))
        .expect("a valid twilight-model text channel"),
    );
    i
}

/// The same interaction, made in text channel `channel`.
pub fn in_channel(mut interaction: Interaction, channel: u64) -> Interaction {
    let guild = interaction.guild_id.map(|g| g.to_string());
    interaction.channel = Some(
        serde_json::from_value(serde_json::json!({
            "id": channel.to_string(), "type": 0, "guild_id": guild,
        }))
        .expect("a valid twilight-model text channel"),
    );
    interaction
}

/// A submitted form (modal) `custom_id`, its text fields as (field id, value).
pub fn modal_submit(
    id: u64,
    guild: Option<u64>,
    user_id: u64,
    custom_id: &str,
    fields: &[(&str, &str)],
) -> Interaction {
    let components = fields
        .iter()
        .enumerate()
        .map(|(n, (field, value))| {
            serde_json::json!({"type": 18, "id": n * 2 + 1, "component":
                {"type": 4, "id": n * 2 + 2, "custom_id": field, "value": value}})
        })
        .collect::<Vec<_>>();
    let data = serde_json::from_value(serde_json::json!({
        "custom_id": custom_id, "components": components,
    }))
    .expect("a valid twilight-model modal submission");
    interaction(
        id,
        InteractionType::ModalSubmit,
        guild,
        user_id,
        Some(InteractionData::ModalSubmit(Box::new(data))),
    )
}

/// Adds an integer option (such as `/volume percent`) to a command built by [`slash`].
pub fn with_integer(mut interaction: Interaction, name: &str, value: i64) -> Interaction {
    if let Some(InteractionData::ApplicationCommand(data)) = interaction.data.as_mut() {
        data.options.push(CommandDataOption {
            name: name.to_owned(),
            value: CommandOptionValue::Integer(value),
        });
    }
    interaction
}
