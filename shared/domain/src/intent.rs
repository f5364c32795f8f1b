//! The playback intent: the versioned JSON message the interactions side sends the worker.
//!
//! The store holds the truth; an intent is a nudge to act on it. Decoding never panics: an
//! unknown version or kind, or any bad field, is an [`IntentError`] the worker can log and
//! leave for the dead-letter queue.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::{ApplicationId, ChannelId, GuildId, UserId};
use super::playlist::PlaylistName;
use super::queue::{Position, Volume};

/// The envelope version this code writes and reads.
pub const INTENT_VERSION: u32 = 1;
/// Largest encoded intent accepted. SQS allows 256 KiB; an intent is a few hundred bytes.
pub const INTENT_MAX_BYTES: usize = 16 * 1024;
/// Longest `/play` query: a long URL fits, an essay does not.
pub const QUERY_MAX: usize = 2048;
/// SQS caps a deduplication id at 128 characters.
pub const INTENT_ID_MAX: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    #[error("intent is {len} bytes; the limit is {INTENT_MAX_BYTES}")]
    TooLarge { len: usize },
    #[error("intent is not valid JSON: {0}")]
    NotJson(String),
    #[error("intent version {0} is not supported (this build reads {INTENT_VERSION})")]
    UnsupportedVersion(u64),
    #[error("intent kind {0:?} is not known")]
    UnknownKind(String),
    #[error("intent is malformed: {0}")]
    Malformed(String),
    #[error("intent id must be 1–{INTENT_ID_MAX} characters of [A-Za-z0-9_-]")]
    BadId,
    #[error("play query must be 1–{QUERY_MAX} bytes")]
    BadQuery,
}

/// Names an intent; doubles as the SQS deduplication id. An interaction id or a ULID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IntentId(String);

impl IntentId {
    pub fn parse(input: &str) -> Result<Self, IntentError> {
        let ok = !input.is_empty()
            && input.len() <= INTENT_ID_MAX
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(input.to_owned())).ok_or(IntentError::BadId)
    }

    /// A fresh id for intents that no interaction caused (resume, idle timers).
    pub fn generate() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IntentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IntentId {
    type Error = IntentError;
    fn try_from(value: String) -> Result<Self, IntentError> {
        Self::parse(&value)
    }
}

impl From<IntentId> for String {
    fn from(id: IntentId) -> String {
        id.0
    }
}

/// An interaction token: it lets anyone edit the reply for 15 minutes, so it never prints.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InteractionToken(String);

impl InteractionToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The raw token, for the one REST call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InteractionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InteractionToken(<redacted>)")
    }
}

/// Where the worker reports back: the interaction reply to edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub application_id: ApplicationId,
    pub token: InteractionToken,
}

/// What the worker should do. Unknown fields are ignored, so a producer may add an optional
/// field within version 1; anything a reader must understand needs a new `v`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IntentKind {
    Play {
        query: String,
        requester_id: UserId,
        voice_channel_id: ChannelId,
        #[serde(default)]
        position: Position,
    },
    /// From a DJ or the track's requester, a skip; with `vote_by`, one member's vote to skip,
    /// which the worker counts against the listeners in the channel.
    Skip {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vote_by: Option<UserId>,
    },
    /// Play the track before this one again, joining the requester's channel if the bot
    /// has left.
    Previous {
        voice_channel_id: ChannelId,
    },
    /// Look `query` up where yt-dlp runs and edit the reply with the top results to pick from.
    Search {
        query: String,
        requester_id: UserId,
    },
    /// Queue a saved playlist, read from the store by the worker, as `requester_id` asked.
    LoadPlaylist {
        name: PlaylistName,
        #[serde(default)]
        shuffle: bool,
        requester_id: UserId,
        voice_channel_id: ChannelId,
    },
    Stop,
    Pause,
    Resume,
    Seek {
        position_ms: u64,
    },
    Volume {
        percent: Volume,
    },
    Join {
        voice_channel_id: ChannelId,
    },
    Leave,
    /// The state changed (remove, move, shuffle, clear, loop); re-read it.
    QueueChanged,
}

impl IntentKind {
    pub const NAMES: [&'static str; 13] = [
        "play",
        "search",
        "skip",
        "previous",
        "load_playlist",
        "stop",
        "pause",
        "resume",
        "seek",
        "volume",
        "join",
        "leave",
        "queue_changed",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            IntentKind::Play { .. } => "play",
            IntentKind::Skip { .. } => "skip",
            IntentKind::Previous { .. } => "previous",
            IntentKind::Search { .. } => "search",
            IntentKind::LoadPlaylist { .. } => "load_playlist",
            IntentKind::Stop => "stop",
            IntentKind::Pause => "pause",
            IntentKind::Resume => "resume",
            IntentKind::Seek { .. } => "seek",
            IntentKind::Volume { .. } => "volume",
            IntentKind::Join { .. } => "join",
            IntentKind::Leave => "leave",
            IntentKind::QueueChanged => "queue_changed",
        }
    }
}

/// The whole message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackIntent {
    pub v: u32,
    pub id: IntentId,
    pub guild_id: GuildId,
    pub issued_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyTo>,
    /// The text channel the request came from, for the now-playing message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    pub kind: IntentKind,
}

/// Just enough of the envelope to say precisely what is wrong before the full decode.
#[derive(Deserialize)]
struct Probe {
    v: Option<serde_json::Value>,
    kind: Option<KindProbe>,
}

#[derive(Deserialize)]
struct KindProbe {
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl PlaybackIntent {
    pub fn new(id: IntentId, guild_id: GuildId, issued_at_ms: u64, kind: IntentKind) -> Self {
        Self {
            v: INTENT_VERSION,
            id,
            guild_id,
            issued_at_ms,
            reply: None,
            channel_id: None,
            kind,
        }
    }

    pub fn with_channel(mut self, channel: Option<ChannelId>) -> Self {
        self.channel_id = channel;
        self
    }

    pub fn with_reply(mut self, reply: ReplyTo) -> Self {
        self.reply = Some(reply);
        self
    }

    pub fn encode(&self) -> String {
        // Every field is a string, number or enum, so serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(body: &[u8]) -> Result<Self, IntentError> {
        if body.len() > INTENT_MAX_BYTES {
            return Err(IntentError::TooLarge { len: body.len() });
        }
        let probe: Probe =
            serde_json::from_slice(body).map_err(|e| IntentError::NotJson(e.to_string()))?;
        match probe.v {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(INTENT_VERSION)) => {
            }
            Some(serde_json::Value::Number(n)) => {
                return Err(IntentError::UnsupportedVersion(n.as_u64().unwrap_or(0)))
            }
            _ => return Err(IntentError::Malformed("missing or non-numeric `v`".into())),
        }
        let kind = probe
            .kind
            .and_then(|k| k.kind)
            .ok_or_else(|| IntentError::Malformed("missing `kind.type`".into()))?;
        if !IntentKind::NAMES.contains(&kind.as_str()) {
            return Err(IntentError::UnknownKind(kind.chars().take(32).collect()));
        }
        let intent: Self =
            serde_json::from_slice(body).map_err(|e| IntentError::Malformed(e.to_string()))?;
        intent.validate()?;
        Ok(intent)
    }

    fn validate(&self) -> Result<(), IntentError> {
        if let IntentKind::Play { query, .. } | IntentKind::Search { query, .. } = &self.kind {
            if query.trim().is_empty() || query.len() > QUERY_MAX {
                return Err(IntentError::BadQuery);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_EXAMPLE: &str = r#"{"v":1,"id":"1200000000000000001","guild_id":"81384788765712384","issued_at_ms":0,
 "reply":{"application_id":"111","token":"aW50ZXJhY3Rpb24"},
 "kind":{"type":"play","query":"never gonna","requester_id":"222","voice_channel_id":"333","position":"end"}}"#;

    #[test]
    fn decodes_the_design_example() {
        let intent = PlaybackIntent::decode(DESIGN_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(intent.guild_id.get(), 81_384_788_765_712_384);
        assert_eq!(intent.id.as_str(), "1200000000000000001");
        let IntentKind::Play {
            query,
            requester_id,
            voice_channel_id,
            position,
        } = &intent.kind
        else {
            panic!("not play: {intent:?}");
        };
        assert_eq!(query, "never gonna");
        assert_eq!((requester_id.get(), voice_channel_id.get()), (222, 333));
        assert_eq!(*position, Position::End);
        assert_eq!(
            intent.reply.as_ref().unwrap().token.expose(),
            "aW50ZXJhY3Rpb24"
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let g = GuildId::new(1).unwrap();
        let kinds = [
            IntentKind::Play {
                query: "q".into(),
                requester_id: UserId::new(2).unwrap(),
                voice_channel_id: ChannelId::new(3).unwrap(),
                position: Position::Next,
            },
            IntentKind::Skip { vote_by: None },
            IntentKind::Skip {
                vote_by: Some(UserId::new(4).unwrap()),
            },
            IntentKind::Previous {
                voice_channel_id: ChannelId::new(3).unwrap(),
            },
            IntentKind::Search {
                query: "lofi".into(),
                requester_id: UserId::new(2).unwrap(),
            },
            IntentKind::LoadPlaylist {
                name: PlaylistName::parse("Road Trip").unwrap(),
                shuffle: true,
                requester_id: UserId::new(2).unwrap(),
                voice_channel_id: ChannelId::new(3).unwrap(),
            },
            IntentKind::Stop,
            IntentKind::Pause,
            IntentKind::Resume,
            IntentKind::Seek {
                position_ms: 90_000,
            },
            IntentKind::Volume {
                percent: Volume::parse(150).unwrap(),
            },
            IntentKind::Join {
                voice_channel_id: ChannelId::new(3).unwrap(),
            },
            IntentKind::Leave,
            IntentKind::QueueChanged,
        ];
        assert_eq!(
            kinds.len(),
            IntentKind::NAMES.len() + 1,
            "skip twice: plain and a vote"
        );
        for kind in kinds {
            let name = kind.name();
            let intent = PlaybackIntent::new(IntentId::generate(), g, 5, kind);
            let text = intent.encode();
            assert!(text.contains(&format!("\"type\":\"{name}\"")), "{text}");
            assert_eq!(PlaybackIntent::decode(text.as_bytes()).unwrap(), intent);
        }
    }

    #[test]
    fn unknown_version_is_an_error() {
        let body = DESIGN_EXAMPLE.replace("\"v\":1", "\"v\":2");
        assert_eq!(
            PlaybackIntent::decode(body.as_bytes()),
            Err(IntentError::UnsupportedVersion(2))
        );
        let body = DESIGN_EXAMPLE.replace("\"v\":1", "\"v\":\"1\"");
        assert!(matches!(
            PlaybackIntent::decode(body.as_bytes()),
            Err(IntentError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_kind_is_an_error() {
        let body = DESIGN_EXAMPLE.replace("\"type\":\"play\"", "\"type\":\"explode\"");
        assert_eq!(
            PlaybackIntent::decode(body.as_bytes()),
            Err(IntentError::UnknownKind("explode".into()))
        );
    }

    #[test]
    fn bad_fields_are_errors_not_panics() {
        for body in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"v":1}"#,
            r#"{"v":1,"kind":{}}"#,
            r#"{"v":1,"kind":{"type":"skip"}}"#,
            r#"{"v":1,"id":"a b","guild_id":"1","issued_at_ms":0,"kind":{"type":"skip"}}"#,
            r#"{"v":1,"id":"a","guild_id":"0","issued_at_ms":0,"kind":{"type":"skip"}}"#,
            r#"{"v":1,"id":"a","guild_id":"1","issued_at_ms":-1,"kind":{"type":"skip"}}"#,
            r#"{"v":1,"id":"a","guild_id":"1","issued_at_ms":0,"kind":{"type":"volume","percent":500}}"#,
            r#"{"v":1,"id":"a","guild_id":"1","issued_at_ms":0,"kind":{"type":"play","query":" ","requester_id":"2","voice_channel_id":"3"}}"#,
            r#"{"v":1,"id":"a","guild_id":"1","issued_at_ms":0,"kind":{"type":"load_playlist","name":"","requester_id":"2","voice_channel_id":"3"}}"#,
        ] {
            assert!(
                PlaybackIntent::decode(body.as_bytes()).is_err(),
                "accepted {body}"
            );
        }
    }

    #[test]
    fn unknown_optional_fields_are_ignored() {
        let body = r#"{"v":1,"id":"a","guild_id":"1","issued_at_ms":0,"kind":{"type":"skip","by":"2"},"trace":"x"}"#;
        assert_eq!(
            PlaybackIntent::decode(body.as_bytes()).unwrap().kind,
            IntentKind::Skip { vote_by: None }
        );
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let body = vec![b' '; INTENT_MAX_BYTES + 1];
        assert_eq!(
            PlaybackIntent::decode(&body),
            Err(IntentError::TooLarge {
                len: INTENT_MAX_BYTES + 1
            })
        );
    }

    #[test]
    fn the_token_never_prints() {
        let intent = PlaybackIntent::decode(DESIGN_EXAMPLE.as_bytes()).unwrap();
        let debug = format!("{intent:?}");
        assert!(!debug.contains("aW50ZXJhY3Rpb24"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn intent_ids_fit_sqs_dedup_rules() {
        assert!(IntentId::parse("01HZX3J5N8E2Q6W9R4T7Y0U1I2").is_ok());
        assert!(IntentId::parse(&"a".repeat(INTENT_ID_MAX)).is_ok());
        assert_eq!(
            IntentId::parse(&"a".repeat(INTENT_ID_MAX + 1)),
            Err(IntentError::BadId)
        );
        assert_eq!(IntentId::parse(""), Err(IntentError::BadId));
        assert_eq!(IntentId::parse("a/b"), Err(IntentError::BadId));
        assert_ne!(IntentId::generate(), IntentId::generate());
    }
}
