//! Linked accounts and the user's own library: `/auth-youtube`, `/auth-spotify` (and its
//! pasted-address form), `/check-auth`, `/unlink`, `/my-playlists` (and its menu),
//! `/liked-songs`, `/play-history` and `/recommendations`.
//!
//! Listing answers here, inside a deadline that keeps Discord's 3 s; expanding a playlist
//! of hundreds of tracks does not: the play intent carries a [`LibraryRef`] and the
//! requester, and the worker expands it with the requester's token.

mod history;
mod link;
mod lists;

use std::time::Duration;

use secrecy::SecretString;
use twilight_model::application::interaction::modal::ModalInteractionData;
use twilight_model::http::interaction::InteractionResponse;

use timmybot_accounts::link::{AccountError, DeviceOutcome, LinkStatus};
use timmybot_accounts::recommend::{normalise, Origin, Seed};
use timmybot_accounts::{Accounts, Redirect};
use timmybot_discord::command::HistoryScope;
use timmybot_discord::library::{self as ui, AgainItem, PlaylistOption, PlaylistPage};
use timmybot_discord::render::escape;
use timmybot_discord::reply;
use timmybot_domain::{HistoryEntry, LibraryRef, Platform, UserId};

use crate::{playback, CommandError, Core, Ctx};

/// What a listing may take before the reply says the platform is slow: Discord wants an
/// answer within 3 s, and the rest of the handler needs a little.
pub const LIST_DEADLINE: Duration = Duration::from_millis(2_300);
/// The recommender's share of the 3 s.
pub const SUGGEST_DEADLINE: Duration = Duration::from_millis(2_200);
/// How far back `/play-history` and the recommendations look.
const HISTORY_DEPTH: usize = 200;
const SHOWN: usize = 10;
/// Plays that seed the suggestions (the engine asks about the first few).
const SEEDS: usize = 5;
/// The latest plays a suggestion never repeats: what the server just heard is not news.
const RECENT_EXCLUDED: usize = 10;

impl From<AccountError> for CommandError {
    fn from(err: AccountError) -> Self {
        match err {
            e if e.is_users() => CommandError::User(e.to_string()),
            AccountError::Store(e) => e.into(),
            e => CommandError::Malformed(format!("linked accounts: {e}")),
        }
    }
}

pub(crate) fn accounts(core: &Core) -> Result<&Accounts, CommandError> {
    core.accounts.as_deref().ok_or_else(|| {
        CommandError::User(
            "Linked accounts aren't set up on this bot: its owner hasn't configured them.".into(),
        )
    })
}

/// `fut`, or "`who` is slow" past `limit`: each outside service gets a share of Discord's
/// 3 s, and the user hears which one was slow.
pub(crate) async fn within<T, E: Into<CommandError>>(
    limit: Duration,
    who: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, CommandError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(CommandError::User(format!(
            "{who} is slow to answer right now; try again in a moment."
        ))),
    }
}

/// A platform's listing, within [`LIST_DEADLINE`].
async fn listing<T>(
    what: Platform,
    fut: impl std::future::Future<Output = Result<T, AccountError>>,
) -> Result<T, CommandError> {
    within(LIST_DEADLINE, ui::platform_name(what), fut).await
}

/// Whether `user` has a working Spotify link (one that needs no new link).
async fn spotify_linked(accounts: &Accounts, user: UserId) -> Result<bool, CommandError> {
    Ok(accounts
        .linker()
        .status(user)
        .await?
        .linked
        .iter()
        .any(|l| l.platform == Platform::Spotify && !l.needs_relink))
}

pub use history::{play_history, recommendations};
pub use link::{
    auth_spotify, auth_youtube, check_auth, spotify_paste_form, spotify_pasted, unlink,
    youtube_button,
};
pub use lists::{again, liked_songs, my_playlists, pick, playlists_page};
