//! How an intent changes a guild's state, and what to tell the user. Pure: the player does
//! the I/O (resolving before, voice and replies after).

use timmybot_discord::render::{duration, escape, escape_title};
use timmybot_discord::reply::sentence;
use timmybot_domain::{
    ChannelId, GuildState, IntentKind, PlaybackIntent, Position, QueueError, Track, UserId,
};

/// What the player must do to the audio after the state is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Make the call match the state (join, start, stop, switch track).
    Sync,
    Seek(u64),
    Pause,
    Resume,
    Volume(f32),
    /// Nothing changed for the audio.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The text for the interaction reply; `None` leaves the reply alone.
    pub reply: Option<String>,
    pub effect: Effect,
}

impl Outcome {
    fn say(reply: impl Into<String>, effect: Effect) -> Self {
        Self {
            reply: Some(reply.into()),
            effect,
        }
    }
}

/// What the player knew when applying.
pub struct Ctx<'a> {
    pub now_ms: u64,
    /// Members in the bot's voice channel, for skip votes.
    pub listeners: &'a [UserId],
    /// For `play`: the resolved tracks, or why resolving failed (fit for users).
    pub resolved: Option<Result<Vec<Track>, String>>,
}

/// Applies `intent` to `state`. The caller records the intent id in the same write.
pub fn apply(state: &mut GuildState, intent: &PlaybackIntent, ctx: Ctx<'_>) -> Outcome {
    if let Some(channel) = intent.channel_id {
        state.text_channel_id = Some(channel);
    }
    let now = ctx.now_ms;
    match &intent.kind {
        IntentKind::Play {
            voice_channel_id,
            position,
            ..
        } => enqueue(state, *voice_channel_id, *position, ctx.resolved, now),
        IntentKind::LoadPlaylist {
            voice_channel_id,
            name,
            ..
        } => {
            let mut out = enqueue(state, *voice_channel_id, Position::End, ctx.resolved, now);
            if let (Some(text), true) = (out.reply.as_mut(), out.effect != Effect::None) {
                *text = format!("📂 **{}**: {text}", escape(name.as_str()));
            }
            out
        }
        IntentKind::Skip { vote_by } => {
            let Some(np) = state.queue.now_playing() else {
                return Outcome::say("Nothing is playing.", Effect::None);
            };
            let title = escape_title(&np.track);
            if let Some(voter) = vote_by {
                // A majority of the people listening, counting the voter.
                let mut voters = ctx.listeners.to_vec();
                if !voters.contains(voter) {
                    voters.push(*voter);
                }
                let needed = voters.len() / 2 + 1;
                let votes = state.marks.vote_skip(*voter);
                if votes < needed {
                    return Outcome::say(
                        format!("🗳 Vote to skip {title}: {votes}/{needed}."),
                        Effect::None,
                    );
                }
            }
            match state.queue.skip(now) {
                Ok(t) => {
                    state.marks.new_play();
                    let next = state.queue.now_playing().map_or_else(
                        || " The queue is empty.".to_owned(),
                        |np| format!(" Now playing {}.", escape_title(&np.track)),
                    );
                    Outcome::say(
                        format!("⏭ Skipped {}.{next}", escape_title(&t.finished)),
                        Effect::Sync,
                    )
                }
                Err(e) => Outcome::say(capitalise(&e), Effect::None),
            }
        }
        IntentKind::Previous { voice_channel_id } => {
            let idle = state.queue.now_playing().is_none();
            match state.queue.previous(now) {
                Ok(track) => {
                    let text = format!("⏮ Back to {}{}.", escape_title(track), length(track));
                    state.marks.new_play();
                    if idle || state.voice_channel_id.is_none() {
                        state.voice_channel_id = Some(*voice_channel_id);
                    }
                    Outcome::say(text, Effect::Sync)
                }
                Err(e) => Outcome::say(capitalise(&e), Effect::None),
            }
        }
        IntentKind::Stop => {
            // What was waiting, not the track that was playing: that one just stopped.
            let upcoming = state.queue.upcoming().len();
            state.queue.stop();
            state.marks.new_play();
            let text = match upcoming {
                0 => "⏹ Stopped.".to_owned(),
                n => format!("⏹ Stopped, and cleared {n} upcoming track{}.", plural(n)),
            };
            Outcome::say(text, Effect::Sync)
        }
        IntentKind::Pause => match state.queue.pause(now) {
            Ok(()) => Outcome::say("⏸ Paused.", Effect::Pause),
            Err(e) => Outcome::say(capitalise(&e), Effect::None),
        },
        IntentKind::Resume => match state.queue.resume(now) {
            Ok(()) => {
                state.marks.suspended = false;
                Outcome::say("▶ Resumed.", Effect::Resume)
            }
            Err(e) => Outcome::say(capitalise(&e), Effect::None),
        },
        IntentKind::Seek { position_ms } => match state.queue.seek(*position_ms, now) {
            Ok(()) => Outcome::say(
                format!("⏩ Moved to {}.", duration(*position_ms)),
                Effect::Seek(*position_ms),
            ),
            Err(e) => Outcome::say(capitalise(&e), Effect::None),
        },
        IntentKind::Volume { percent } => {
            state.queue.set_volume(*percent);
            Outcome::say(
                format!("🔊 Volume {}%.", percent.percent()),
                Effect::Volume(percent.gain()),
            )
        }
        IntentKind::Join { voice_channel_id } => {
            state.voice_channel_id = Some(*voice_channel_id);
            Outcome::say(format!("👋 Joined <#{voice_channel_id}>."), Effect::Sync)
        }
        IntentKind::Leave => {
            let n = state.queue.upcoming().len();
            state.queue.stop();
            state.marks.new_play();
            state.voice_channel_id = None;
            let cleared = if n > 0 {
                format!(" Cleared {n} upcoming track{}.", plural(n))
            } else {
                String::new()
            };
            Outcome::say(format!("👋 Left the voice channel.{cleared}"), Effect::Sync)
        }
        // Searches never reach here: the player answers them without touching the state.
        IntentKind::Search { .. } => Outcome {
            reply: None,
            effect: Effect::None,
        },
        // The Lambda already answered; only the audio may need to follow the new state.
        IntentKind::QueueChanged => Outcome {
            reply: None,
            effect: Effect::Sync,
        },
    }
}

/// Queues what `/play` (or a saved playlist) resolved to, starting it if nothing plays.
fn enqueue(
    state: &mut GuildState,
    voice_channel_id: ChannelId,
    position: Position,
    resolved: Option<Result<Vec<Track>, String>>,
    now: u64,
) -> Outcome {
    let tracks = match resolved {
        Some(Ok(tracks)) if !tracks.is_empty() => tracks,
        Some(Err(why)) => return Outcome::say(format!("❌ {why}"), Effect::None),
        _ => return Outcome::say("❌ Nothing was found for that.", Effect::None),
    };
    // Autoplay's track gives way to anything asked for.
    if state.marks.autoplay_because.is_some() && state.queue.skip(now).is_ok() {
        state.marks.new_play();
    }
    let first = tracks[0].clone();
    let count = tracks.len();
    let added = match state.queue.add_many(tracks, position) {
        Ok(a) => a,
        Err(e) => return Outcome::say(format!("❌ {}", capitalise(&e)), Effect::None),
    };
    follow_requester(state, voice_channel_id);
    let was_idle = state.queue.now_playing().is_none();
    if was_idle && state.queue.start(now) {
        state.marks.new_play();
    }
    let text = match (count, was_idle) {
        (1, true) => format!("▶ Now playing {}{}", escape_title(&first), length(&first)),
        (1, false) => format!(
            "Queued {}{} — #{}",
            escape_title(&first),
            length(&first),
            added.first_position
        ),
        (_, _) => {
            let mut s = format!("Queued {} tracks", added.added);
            if was_idle {
                s.push_str(&format!(", starting with {}", escape_title(&first)));
            } else {
                s.push_str(&format!(" from #{}", added.first_position));
            }
            if added.dropped > 0 {
                s.push_str(&format!(" ({} left out: the queue is full)", added.dropped));
            }
            s
        }
    };
    Outcome::say(text, Effect::Sync)
}

/// The bot follows the requester unless it is already playing to a channel.
fn follow_requester(state: &mut GuildState, channel: ChannelId) {
    if state.voice_channel_id.is_none() || state.queue.now_playing().is_none() {
        state.voice_channel_id = Some(channel);
    }
}

fn length(track: &Track) -> String {
    track
        .duration_ms
        .map(|ms| format!(" ({})", duration(ms)))
        .unwrap_or_default()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn capitalise(e: &QueueError) -> String {
    sentence(&e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use timmybot_domain::{GuildId, IntentId, Platform, Position, TrackKey, Volume};

    fn g() -> GuildId {
        GuildId::new(1).unwrap()
    }
    fn u(n: u64) -> UserId {
        UserId::new(n).unwrap()
    }
    fn ch(n: u64) -> ChannelId {
        ChannelId::new(n).unwrap()
    }
    fn track(name: &str, ms: u64) -> Track {
        Track::new(
            TrackKey::new(Platform::Http, name).unwrap(),
            name,
            name,
            u(9),
        )
        .unwrap()
        .with_duration_ms(ms)
    }
    fn intent(kind: IntentKind) -> PlaybackIntent {
        PlaybackIntent::new(IntentId::generate(), g(), 0, kind).with_channel(Some(ch(77)))
    }
    fn play(voice: u64) -> PlaybackIntent {
        intent(IntentKind::Play {
            query: "q".into(),
            requester_id: u(9),
            voice_channel_id: ch(voice),
            position: Position::End,
        })
    }
    fn ctx(resolved: Option<Result<Vec<Track>, String>>) -> Ctx<'static> {
        Ctx {
            now_ms: 1_000,
            listeners: &[],
            resolved,
        }
    }

    #[test]
    fn first_play_starts_and_joins_the_requester() {
        let mut st = GuildState::new(g());
        let out = apply(&mut st, &play(5), ctx(Some(Ok(vec![track("a", 225_000)]))));
        assert_eq!(out.reply.as_deref(), Some("▶ Now playing **a** (3:45)"));
        assert_eq!(out.effect, Effect::Sync);
        assert_eq!(st.voice_channel_id, Some(ch(5)));
        assert_eq!(st.text_channel_id, Some(ch(77)));
        assert_eq!(st.marks.play_seq(), 1);
        let out = apply(&mut st, &play(6), ctx(Some(Ok(vec![track("b", 60_000)]))));
        assert_eq!(out.reply.as_deref(), Some("Queued **b** (1:00) — #1"));
        assert_eq!(st.voice_channel_id, Some(ch(5)), "stays while playing");
        assert_eq!(
            st.marks.play_seq(),
            1,
            "queueing does not restart the track"
        );
    }

    #[test]
    fn a_failed_lookup_is_told_and_changes_nothing() {
        let mut st = GuildState::new(g());
        let out = apply(&mut st, &play(5), ctx(Some(Err("no such video".into()))));
        assert_eq!(out.reply.as_deref(), Some("❌ no such video"));
        assert_eq!(out.effect, Effect::None);
        assert!(st.queue.is_empty());
        assert_eq!(st.voice_channel_id, None);
    }

    #[test]
    fn votes_need_a_majority_of_listeners() {
        let mut st = GuildState::new(g());
        apply(
            &mut st,
            &play(5),
            ctx(Some(Ok(vec![track("a", 1), track("b", 1)]))),
        );
        let listeners = [u(1), u(2), u(3)];
        let vote = |st: &mut GuildState, by: u64| {
            apply(
                st,
                &intent(IntentKind::Skip {
                    vote_by: Some(u(by)),
                }),
                Ctx {
                    now_ms: 2_000,
                    listeners: &listeners,
                    resolved: None,
                },
            )
        };
        let out = vote(&mut st, 1);
        assert_eq!(out.reply.as_deref(), Some("🗳 Vote to skip **a**: 1/2."));
        assert_eq!(vote(&mut st, 1).effect, Effect::None, "one vote per member");
        let out = vote(&mut st, 2);
        assert_eq!(out.effect, Effect::Sync);
        assert_eq!(st.queue.now_playing().unwrap().track.title, "b");
        assert!(
            st.marks.skip_votes().is_empty(),
            "votes reset with the track"
        );
    }

    #[test]
    fn controls_change_state_and_say_so() {
        let mut st = GuildState::new(g());
        apply(&mut st, &play(5), ctx(Some(Ok(vec![track("a", 300_000)]))));
        let out = apply(&mut st, &intent(IntentKind::Pause), ctx(None));
        assert_eq!(out.effect, Effect::Pause);
        assert!(st.queue.now_playing().unwrap().paused);
        let out = apply(&mut st, &intent(IntentKind::Pause), ctx(None));
        assert_eq!(out.reply.as_deref(), Some("Playback is already paused."));
        assert_eq!(
            apply(&mut st, &intent(IntentKind::Resume), ctx(None)).effect,
            Effect::Resume
        );
        let out = apply(
            &mut st,
            &intent(IntentKind::Seek {
                position_ms: 90_000,
            }),
            ctx(None),
        );
        assert_eq!(out.effect, Effect::Seek(90_000));
        assert_eq!(out.reply.as_deref(), Some("⏩ Moved to 1:30."));
        let out = apply(
            &mut st,
            &intent(IntentKind::Volume {
                percent: Volume::parse(50).unwrap(),
            }),
            ctx(None),
        );
        assert_eq!(out.effect, Effect::Volume(0.5));
        let out = apply(&mut st, &intent(IntentKind::Leave), ctx(None));
        assert_eq!(out.effect, Effect::Sync);
        assert_eq!(st.voice_channel_id, None);
        assert!(st.queue.now_playing().is_none());
        let out = apply(&mut st, &intent(IntentKind::QueueChanged), ctx(None));
        assert_eq!(out.reply, None, "the Lambda already answered");
    }

    #[test]
    fn stop_counts_only_what_was_waiting() {
        let mut st = GuildState::new(g());
        apply(&mut st, &play(5), ctx(Some(Ok(vec![track("a", 60_000)]))));
        let out = apply(&mut st, &intent(IntentKind::Stop), ctx(None));
        assert_eq!(out.reply.as_deref(), Some("⏹ Stopped."));
        apply(
            &mut st,
            &play(5),
            ctx(Some(Ok(vec![track("a", 1), track("b", 1), track("c", 1)]))),
        );
        let out = apply(&mut st, &intent(IntentKind::Stop), ctx(None));
        assert_eq!(
            out.reply.as_deref(),
            Some("⏹ Stopped, and cleared 2 upcoming tracks.")
        );
        assert!(st.queue.is_empty());
    }

    #[test]
    fn previous_goes_back_and_rejoins_after_a_leave() {
        let mut st = GuildState::new(g());
        let back = |voice| {
            intent(IntentKind::Previous {
                voice_channel_id: ch(voice),
            })
        };
        let out = apply(&mut st, &back(5), ctx(None));
        assert_eq!(
            out.reply.as_deref(),
            Some("Nothing has played before this yet.")
        );
        assert_eq!(out.effect, Effect::None);
        apply(
            &mut st,
            &play(5),
            ctx(Some(Ok(vec![track("a", 60_000), track("b", 1)]))),
        );
        apply(
            &mut st,
            &intent(IntentKind::Skip { vote_by: None }),
            ctx(None),
        );
        let seq = st.marks.play_seq();
        let out = apply(&mut st, &back(6), ctx(None));
        assert_eq!(out.reply.as_deref(), Some("⏮ Back to **a** (1:00)."));
        assert_eq!(out.effect, Effect::Sync);
        assert_eq!(st.marks.play_seq(), seq + 1, "a new play starts");
        assert_eq!(st.voice_channel_id, Some(ch(5)), "stays while playing");
        assert_eq!(st.queue.upcoming()[0].title, "b");
        // After /leave the bot follows whoever goes back.
        apply(&mut st, &intent(IntentKind::Leave), ctx(None));
        let out = apply(&mut st, &back(6), ctx(None));
        assert_eq!(out.reply.as_deref(), Some("⏮ Back to **a** (1:00)."));
        assert_eq!(st.voice_channel_id, Some(ch(6)));
    }
}
