//! Tracks that no `/play` named: autoplay's pick when the queue runs dry, and a saved
//! playlist's tracks read from the store for `/playlist load`.

use std::time::Duration;

use timmybot_domain::{GuildState, PlaylistName, Position, Track, UserId};

use super::{announce, GuildPlayer, PlayerError};

/// How many of the guild's plays autoplay reads: seeds, the plays it must not repeat, and
/// the history it falls back on.
const AUTOPLAY_HISTORY: usize = 200;
/// How long autoplay waits on the open services before it falls back on history: the
/// silence between the last track and autoplay's stays short.
const AUTOPLAY_WITHIN: Duration = Duration::from_millis(2_000);
impl GuildPlayer {
    /// With autoplay on, starts one track like the guild's latest plays; returns the state
    /// it wrote. Anything that happened meanwhile (a `/play`, `/stop` or `/leave`) wins.
    pub(super) async fn autoplay(
        &mut self,
        after: &GuildState,
    ) -> Result<Option<GuildState>, PlayerError> {
        let Some(radio) = self.deps.radio.clone() else {
            return Ok(None);
        };
        if !self.deps.store.guild_settings(self.guild).await?.autoplay {
            return Ok(None);
        }
        let history = self
            .deps
            .store
            .recent_plays(self.guild, AUTOPLAY_HISTORY)
            .await?;
        let Some(requester) = history.first().map(|h| h.requester) else {
            return Ok(None);
        };
        let seq = after.marks.play_seq();
        let Some(pick) = radio.pick(&history, requester, AUTOPLAY_WITHIN).await else {
            self.say(after, announce::AUTOPLAY_NOTHING).await;
            return Ok(None);
        };
        let now = self.now();
        let started = self
            .update(|st| {
                if st.marks.play_seq() != seq
                    || st.queue.now_playing().is_some()
                    || st.voice_channel_id.is_none()
                {
                    return Ok(false);
                }
                st.queue.add(pick.track.clone(), Position::End)?;
                st.queue.start(now);
                st.marks.new_play();
                st.marks.autoplay_because = Some(pick.because.clone());
                Ok(true)
            })
            .await?;
        if !started {
            return Ok(None);
        }
        self.deps.metrics.autoplayed();
        Ok(self.state.clone())
    }

    /// A saved playlist's tracks as `requester` queues them, or why there are none. A store
    /// failure is an error, so that the intent is delivered again.
    pub(super) async fn saved_playlist(
        &self,
        name: &PlaylistName,
        shuffle: bool,
        requester: UserId,
    ) -> Result<Result<Vec<Track>, String>, PlayerError> {
        let Some(playlist) = self.deps.store.playlist(self.guild, name).await? else {
            return Ok(Err(format!(
                "There is no playlist called **{}** any more.",
                timmybot_discord::render::escape(name.as_str())
            )));
        };
        let mut tracks = playlist.tracks_for(requester);
        if shuffle {
            use rand::seq::SliceRandom;
            tracks.shuffle(&mut rand::rng());
        }
        Ok(Ok(tracks))
    }
}
