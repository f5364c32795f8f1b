//! What the player tells people, and what it writes down: interaction replies, notices in the
//! text channel, the now-playing card, and play history. Each failure here is logged; none
//! stops the music.

use std::time::Duration;

use timmybot_discord::render::{escape_title, NowPlayingView};
use timmybot_domain::{ChannelId, GuildState, HistoryEntry, ReplyTo, Track};

use super::GuildPlayer;
use crate::ports::{Unencrypted, VoiceError};

/// The bot could not join: why, when it is something the user can understand, and what they
/// can do about it. The raw cause goes to the log.
pub(super) fn could_not_join(channel: ChannelId, why: &VoiceError) -> String {
    match why {
        VoiceError::Unencrypted(reason @ Unencrypted::HandshakeIncomplete) => {
            format!("⚠ I couldn't join <#{channel}>: {reason}. Try again in a moment.")
        }
        VoiceError::Unencrypted(reason @ Unencrypted::UnsupportedVersion(_)) => {
            format!("⚠ I couldn't join <#{channel}>: {reason}. Whoever runs me needs to update me.")
        }
        _ => format!(
            "⚠ I couldn't join <#{channel}>. Check that I can see it and have the Connect and \
             Speak permissions there, then try again."
        ),
    }
}

pub(super) fn could_not_play(track: &Track, why: &str) -> String {
    format!(
        "⚠ Couldn't play {}: {why}. Skipping it.",
        escape_title(track)
    )
}

pub(super) const AUTOPLAY_NOTHING: &str =
    "📻 Autoplay found nothing new to play; the queue is empty. `/play` something to go on.";

pub(super) fn left_idle(channel: ChannelId, alone: bool, after: Duration) -> String {
    let why = if alone {
        "nobody was listening"
    } else {
        "nothing was playing"
    };
    let mins = after.as_secs().div_ceil(60);
    format!("👋 Left <#{channel}>: {why} for {mins} min. The queue is cleared.")
}

impl GuildPlayer {
    pub(super) async fn edit_reply(&self, reply: &ReplyTo, text: &str) {
        if let Err(e) = self.deps.notifier.edit_reply(reply, text).await {
            tracing::warn!(guild = %self.guild, error = %e, cause = ?std::error::Error::source(&e), "editing the reply failed");
        }
    }

    pub(super) async fn say(&self, st: &GuildState, text: &str) {
        if let Some(channel) = st.text_channel_id {
            if let Err(e) = self.deps.notifier.say(channel, text).await {
                tracing::warn!(guild = %self.guild, error = %e, cause = ?std::error::Error::source(&e), "posting to the channel failed");
            }
        }
    }

    pub(super) async fn record_history(&self, track: &Track, now: u64) {
        let entry = HistoryEntry {
            guild_id: self.guild,
            played_at_ms: now,
            track_key: track.key.clone(),
            requester: track.requester,
            title: track.title.clone(),
            artist: track.artist.clone(),
            source: track.source.clone(),
        };
        if let Err(e) = self.deps.store.record_play(&entry).await {
            tracing::warn!(guild = %self.guild, error = %e, "recording play history failed");
        }
    }

    /// Posts or edits the now-playing message, and remembers its id.
    pub(super) async fn show_now_playing(&mut self, st: &GuildState) {
        let Some(channel) = st.text_channel_id else {
            return;
        };
        let Some(view) = NowPlayingView::of_state(st, self.now()) else {
            return;
        };
        match self
            .deps
            .notifier
            .now_playing(channel, st.np_message_id, &view)
            .await
        {
            Ok(id) if Some(id) != st.np_message_id => {
                let saved = self
                    .update(|s| {
                        s.np_message_id = Some(id);
                        Ok(())
                    })
                    .await;
                // Not fatal: the next card is posted afresh instead of edited.
                if let Err(e) = saved {
                    tracing::warn!(guild = %self.guild, error = %e, "saving the now-playing message id failed");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(guild = %self.guild, error = %e, cause = ?std::error::Error::source(&e), "now-playing message failed")
            }
        }
    }
}
