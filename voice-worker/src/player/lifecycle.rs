//! The player's jobs around the music: leaving a channel that has been idle too long,
//! resuming what the last worker played, and saving the position on shutdown.

use std::time::Duration;

use super::{announce, GuildPlayer, PlayerError};

impl GuildPlayer {
    pub(super) async fn on_tick(&mut self) -> Result<(), PlayerError> {
        let Some(channel) = self.connected else {
            return Ok(());
        };
        let now = self.now();
        let silent = self
            .state
            .as_ref()
            .and_then(|s| s.queue.now_playing())
            .is_none_or(|np| np.paused);
        let alone = self.deps.presence.listeners(self.guild, channel).is_empty();
        if !(alone || silent) {
            self.idle_since_ms = None;
            return Ok(());
        }
        // Read only once idle: the guild's own timeout, or 24/7, which never leaves (and so
        // keeps the worker's call, which holds off the scale-to-zero).
        let settings = self.deps.store.guild_settings(self.guild).await?;
        if settings.stay {
            self.idle_since_ms = None;
            return Ok(());
        }
        let idle_leave = settings
            .idle_timeout_secs
            .map_or(self.deps.idle_leave, |s| Duration::from_secs(u64::from(s)));
        let since = *self.idle_since_ms.get_or_insert(now);
        let idle_for = Duration::from_millis(now.saturating_sub(since));
        if idle_for < idle_leave {
            return Ok(());
        }
        self.update(|st| {
            st.queue.stop();
            st.marks.new_play();
            st.voice_channel_id = None;
            Ok(())
        })
        .await?;
        if let Some(state) = self.state.clone() {
            self.sync_or_say(&state).await;
            let text = announce::left_idle(channel, alone, idle_leave);
            self.say(&state, &text).await;
        }
        self.idle_since_ms = None;
        Ok(())
    }

    pub(super) async fn on_resume(&mut self, freeze_at_ms: Option<u64>) -> Result<(), PlayerError> {
        let now = self.now();
        self.update(|st| {
            let Some(np) = st.queue.now_playing() else {
                return Ok(());
            };
            if st.marks.suspended {
                // Paused by our own shutdown: the position was frozen then.
                st.marks.suspended = false;
                st.queue.resume(now).ok();
            } else if let Some(at) = freeze_at_ms.filter(|_| !np.paused) {
                // A crash: the old worker played until about its last heartbeat.
                let pos = np.position_ms(at);
                st.queue.seek(pos, now).ok();
            }
            Ok(())
        })
        .await?;
        if let Some(state) = self.state.clone() {
            tracing::info!(guild = %self.guild, "resuming playback");
            self.sync_or_say(&state).await;
        }
        Ok(())
    }

    pub(super) async fn on_shutdown(&mut self) -> Result<(), PlayerError> {
        let now = self.now();
        let playing = self.current.is_some();
        if playing {
            self.update(|st| {
                if st.queue.pause(now).is_ok() {
                    st.marks.suspended = true;
                }
                Ok(())
            })
            .await?;
        }
        self.leave_voice().await;
        Ok(())
    }
}
