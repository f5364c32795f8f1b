//! Making the call match the stored state: the channel (joined only once its audio is
//! end-to-end encrypted, where people listen), the track, pause and volume, and leaving.

use timmybot_domain::{ChannelId, GuildState};

use super::{announce, GuildPlayer, NotJoined, Playing, SILENCE_TAIL};
use crate::ports::{Protection, TrackControl, VoiceError};

impl GuildPlayer {
    pub(super) fn each_current(&self, f: impl Fn(&dyn TrackControl)) {
        if let Some(p) = &self.current {
            f(p.loaded.ctl.as_ref());
        }
    }

    pub(super) fn each_track(&self, f: impl Fn(&dyn TrackControl)) {
        self.each_current(&f);
        if let Some(ctl) = self.started_next() {
            f(ctl.as_ref());
        }
    }

    /// Stops everything, lets songbird send its silence frames, and leaves.
    pub(super) async fn leave_voice(&mut self) {
        self.stop_all();
        if self.connected.take().is_some() {
            tokio::time::sleep(SILENCE_TAIL).await;
            if let Err(e) = self.deps.voice.leave(self.guild).await {
                tracing::warn!(guild = %self.guild, error = %e, "leaving voice failed");
            }
        }
        self.deps.set_active(self.guild, false);
        self.deps.set_playing(self.guild, false);
    }

    /// [`sync`](Self::sync), telling the channel if the bot could not join.
    pub(super) async fn sync_or_say(&mut self, st: &GuildState) {
        if let Err(NotJoined(why)) = self.sync(st).await {
            self.say(st, &why).await;
        }
    }

    /// Joins `channel`. With people there, the join counts only once its audio is end-to-end
    /// encrypted: Discord's clients drop anything else, so playing without it is silence.
    /// Alone, the bot has nobody to encrypt for; the group forms when someone joins.
    pub(super) async fn join(&mut self, channel: ChannelId) -> Result<(), VoiceError> {
        self.deps.voice.join(self.guild, channel).await?;
        if self.deps.presence.listeners(self.guild, channel).is_empty() {
            return Ok(());
        }
        match self
            .deps
            .voice
            .protection(self.guild, self.deps.dave_within)
            .await
        {
            Ok(Protection::EndToEnd { version, epoch, .. }) => {
                tracing::info!(guild = %self.guild, %channel, version, epoch, "voice is end-to-end encrypted (DAVE)");
                Ok(())
            }
            Ok(Protection::TransportOnly) => {
                tracing::warn!(guild = %self.guild, %channel, "the voice server declined DAVE: transport encryption only");
                Ok(())
            }
            Err(e) => {
                if let Err(left) = self.deps.voice.leave(self.guild).await {
                    tracing::warn!(guild = %self.guild, error = %left, "leaving an unencrypted call failed");
                }
                Err(e)
            }
        }
    }

    /// Makes the call match `st`: channel, track, pause and volume, and the preloaded next.
    /// Errs only when the bot could not join, with what to tell people.
    pub(super) async fn sync(&mut self, st: &GuildState) -> Result<(), NotJoined> {
        let Some(channel) = st.voice_channel_id else {
            self.leave_voice().await;
            return Ok(());
        };
        if self.connected != Some(channel) {
            match self.join(channel).await {
                Ok(()) => {
                    self.connected = Some(channel);
                    self.idle_since_ms = None;
                    self.deps.set_active(self.guild, true);
                }
                Err(e) => {
                    tracing::warn!(guild = %self.guild, %channel, error = %e, cause = ?std::error::Error::source(&e), "joining voice failed");
                    return Err(NotJoined(announce::could_not_join(channel, &e)));
                }
            }
        }
        let Some(np) = st.queue.now_playing() else {
            self.stop_all();
            self.deps.set_playing(self.guild, false);
            return Ok(());
        };
        let seq = st.marks.play_seq();
        let gain = st.queue.volume().gain();
        if self.current.as_ref().map(|p| p.seq) != Some(seq) {
            if let Some(old) = self.current.take() {
                old.loaded.ctl.stop();
            }
            let at = np.position_ms(self.now());
            let loaded = match self.take_prepared(&np.track.key, at, np.paused) {
                Some(loaded) => loaded,
                None => match self.load(&np.track, at, np.paused, gain).await {
                    Ok(l) => l,
                    Err(why) => {
                        self.failed(st, &np.track, &why).await;
                        return Ok(());
                    }
                },
            };
            self.current = Some(Playing { seq, loaded });
        }
        if np.paused {
            self.each_track(|c| c.pause());
        } else {
            self.each_current(|c| c.play());
        }
        self.deps.set_playing(self.guild, !np.paused);
        self.each_track(|c| c.set_volume(gain));
        self.preload(st).await;
        Ok(())
    }
}
