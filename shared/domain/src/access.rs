//! Who may use the bot, and the record of who decided what: access requests from unlisted
//! guilds (the `GUILD#<id>` / `REQUEST` item) and the audit log (`AUDIT#<scope>` items).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, GuildId, UserId};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// A request waits a week for a decision, then lapses; the guild may ask again.
pub const ACCESS_REQUEST_TTL_MS: u64 = 7 * DAY_MS;
/// Audit entries are kept a year.
pub const AUDIT_TTL_MS: u64 = 365 * DAY_MS;
/// Longest server name and use case kept: a request is a note for a person, not a document.
pub const SERVER_NAME_MAX: usize = 100;
pub const USE_CASE_MAX: usize = 500;
/// The most listeners a request may claim; more is not a number anyone means.
pub const LISTENERS_MAX: u32 = 100_000;
/// Longest audit detail kept.
pub const AUDIT_DETAIL_MAX: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("say what the bot is for (up to {USE_CASE_MAX} characters)")]
    UseCase,
    #[error("the number of listeners must be a whole number from 1 to {LISTENERS_MAX}")]
    Listeners,
}

/// An unlisted guild asking to use the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub guild_id: GuildId,
    /// As the requester typed it; Discord does not tell an interaction the guild's name.
    #[serde(default)]
    pub server_name: String,
    pub requested_by: UserId,
    /// Where the request was made: the answer is posted there.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    pub use_case: String,
    pub expected_listeners: u32,
    pub requested_at_ms: u64,
}

impl AccessRequest {
    /// A request from the form's text, trimmed and bounded; `listeners` is parsed here.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        guild_id: GuildId,
        server_name: &str,
        requested_by: UserId,
        channel_id: Option<ChannelId>,
        use_case: &str,
        listeners: &str,
        requested_at_ms: u64,
    ) -> Result<Self, RequestError> {
        let use_case = use_case.trim();
        if use_case.is_empty() || use_case.chars().count() > USE_CASE_MAX {
            return Err(RequestError::UseCase);
        }
        let expected_listeners = listeners
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=LISTENERS_MAX).contains(n))
            .ok_or(RequestError::Listeners)?;
        Ok(Self {
            guild_id,
            server_name: clip(server_name, SERVER_NAME_MAX),
            requested_by,
            channel_id,
            use_case: use_case.to_owned(),
            expected_listeners,
            requested_at_ms,
        })
    }

    pub fn expires_at_ms(&self) -> u64 {
        self.requested_at_ms.saturating_add(ACCESS_REQUEST_TTL_MS)
    }
}

/// Whose log an entry belongs to: one guild's, or the bot's as a whole (the allowlist and
/// access decisions, which owners make from anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "guild")]
pub enum AuditScope {
    Bot,
    Guild(GuildId),
}

impl fmt::Display for AuditScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditScope::Bot => f.write_str("BOT"),
            AuditScope::Guild(g) => write!(f, "{g}"),
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    AllowlistAdd,
    AllowlistRemove,
    AccessApproved,
    AccessDenied,
    SettingsChanged,
    AccountLinked,
    AccountUnlinked,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::AllowlistAdd => "allowlist add",
            AuditAction::AllowlistRemove => "allowlist remove",
            AuditAction::AccessApproved => "access approved",
            AuditAction::AccessDenied => "access denied",
            AuditAction::SettingsChanged => "settings changed",
            AuditAction::AccountLinked => "account linked",
            AuditAction::AccountUnlinked => "account unlinked",
        }
    }
}

/// Where it was done from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "via", content = "guild")]
pub enum AuditOrigin {
    /// A slash command or button, in a guild or (`None`) a DM.
    Discord(Option<GuildId>),
    /// The `timmybot` command line.
    Cli,
    /// The web dashboard.
    Dashboard,
}

impl fmt::Display for AuditOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditOrigin::Discord(Some(g)) => write!(f, "Discord, guild {g}"),
            AuditOrigin::Discord(None) => f.write_str("Discord, a DM"),
            AuditOrigin::Cli => f.write_str("the command line"),
            AuditOrigin::Dashboard => f.write_str("the dashboard"),
        }
    }
}

/// One entry of the audit log. Never a token: `detail` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub scope: AuditScope,
    pub at_ms: u64,
    /// Unique among entries at the same millisecond.
    pub id: String,
    /// `None` for the command line run without an owner id.
    pub actor: Option<UserId>,
    pub action: AuditAction,
    /// The guild acted on, where it is not the scope's own.
    #[serde(default)]
    pub target: Option<GuildId>,
    #[serde(default)]
    pub detail: String,
    pub origin: AuditOrigin,
}

impl AuditEntry {
    pub fn new(
        scope: AuditScope,
        at_ms: u64,
        actor: Option<UserId>,
        action: AuditAction,
        origin: AuditOrigin,
    ) -> Self {
        Self {
            scope,
            at_ms,
            id: ulid::Ulid::new().to_string(),
            actor,
            action,
            target: None,
            detail: String::new(),
            origin,
        }
    }

    pub fn on(mut self, guild: GuildId) -> Self {
        self.target = Some(guild);
        self
    }

    pub fn with_detail(mut self, detail: &str) -> Self {
        self.detail = clip(detail, AUDIT_DETAIL_MAX);
        self
    }

    pub fn expires_at_ms(&self) -> u64 {
        self.at_ms.saturating_add(AUDIT_TTL_MS)
    }
}

fn clip(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g() -> GuildId {
        GuildId::new(7).unwrap()
    }

    fn u() -> UserId {
        UserId::new(8).unwrap()
    }

    #[test]
    fn a_request_is_bounded_and_validated() {
        let r = AccessRequest::new(
            g(),
            &"n".repeat(300),
            u(),
            None,
            " music nights ",
            " 12 ",
            5,
        )
        .unwrap();
        assert_eq!(r.server_name.chars().count(), SERVER_NAME_MAX);
        assert_eq!(r.use_case, "music nights");
        assert_eq!(r.expected_listeners, 12);
        assert_eq!(r.expires_at_ms(), 5 + ACCESS_REQUEST_TTL_MS);
        let new = |use_case: &str, listeners: &str| {
            AccessRequest::new(g(), "", u(), None, use_case, listeners, 0)
        };
        assert_eq!(new("  ", "3"), Err(RequestError::UseCase));
        assert_eq!(
            new(&"x".repeat(USE_CASE_MAX + 1), "3"),
            Err(RequestError::UseCase)
        );
        for bad in ["0", "-1", "lots", "100001", ""] {
            assert_eq!(new("fun", bad), Err(RequestError::Listeners), "{bad}");
        }
    }

    #[test]
    fn audit_details_are_bounded_and_ids_unique() {
        let a = AuditEntry::new(
            AuditScope::Bot,
            1,
            Some(u()),
            AuditAction::AllowlistAdd,
            AuditOrigin::Cli,
        )
        .on(g())
        .with_detail(&"d".repeat(1_000));
        let b = AuditEntry::new(
            AuditScope::Bot,
            1,
            Some(u()),
            AuditAction::AllowlistAdd,
            AuditOrigin::Cli,
        );
        assert_eq!(a.detail.chars().count(), AUDIT_DETAIL_MAX);
        assert_ne!(a.id, b.id);
        assert_eq!(a.expires_at_ms(), 1 + AUDIT_TTL_MS);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<AuditEntry>(&json).unwrap(), a);
    }
}
