//! `timmybot demo --play ITEM...`: the user's own music through the whole bot. A file is
//! copied into the demo's music folder and played as `local:NAME`, through the same source
//! code and checks as `serve` with `MUSIC_DIR`; anything else goes to `/play` as typed, the
//! SSRF guard included. Whatever cannot be played is told as a Discord user would see it,
//! and the session carries on. The queue is followed in the bot's own store.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use timmybot_domain::{GuildId, SystemClock};
use timmybot_fake_discord::audio::dominant_frequency;
use timmybot_store::sqlite::SqliteStore;
use timmybot_store::GuildStore;

use super::{done, progress, Script, GUILD, STEP, TYPING};

/// How often the queue is looked at.
const POLL: Duration = Duration::from_millis(100);

pub(super) async fn run(
    s: &mut Script<'_>,
    items: &[String],
    music: &Path,
    db: &Path,
    seconds: Option<Duration>,
) -> anyhow::Result<()> {
    let store = SqliteStore::open(db, Arc::new(SystemClock))
        .await
        .context("reading the bot's queue")?;
    let mut follow = Follower {
        store: &store,
        guild: GuildId::new(GUILD)?,
        current: None,
        skipped: None,
        seconds,
    };
    for (i, item) in items.iter().enumerate() {
        let query = match local_copy(item, music, i)? {
            Some(name) => format!("local:{name}"),
            None => item.clone(),
        };
        // What plays goes on while the next item is typed.
        follow.watch(s, TYPING).await?;
        s.send("play", &[("query", &query)]).await?;
    }
    while follow.look(s).await? {
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

/// A file the user named, copied into the music folder under a plain name; `None` for
/// anything that is not a file (a link, a search).
fn local_copy(item: &str, music: &Path, index: usize) -> anyhow::Result<Option<String>> {
    let path = Path::new(item);
    if !path.is_file() {
        return Ok(None);
    }
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = if music.join(&name).exists() {
        format!("{index}-{name}")
    } else {
        name
    };
    std::fs::copy(path, music.join(&name)).with_context(|| format!("copying {item}"))?;
    Ok(Some(name))
}

/// Follows the queue in the bot's store: each track that plays is listened to (for
/// `seconds`, then skipped, when given) and summed up as it ends.
struct Follower<'a> {
    store: &'a SqliteStore,
    guild: GuildId,
    /// The track playing: its title, its play number and when it began.
    current: Option<(String, u64, Instant)>,
    /// The play already skipped, so that it is skipped once.
    skipped: Option<u64>,
    seconds: Option<Duration>,
}

impl Follower<'_> {
    /// Looks for `how_long`.
    async fn watch(&mut self, s: &mut Script<'_>, how_long: Duration) -> anyhow::Result<()> {
        let until = Instant::now() + how_long;
        while Instant::now() < until {
            self.look(s).await?;
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }

    /// One look at the queue; whether anything plays or waits.
    async fn look(&mut self, s: &mut Script<'_>) -> anyhow::Result<bool> {
        let state = self.store.load_guild(self.guild).await?.value;
        let playing = state
            .queue
            .now_playing()
            .map(|np| (np.track.title.clone(), state.marks.play_seq()));
        if let Some((title, seq, since)) = &self.current {
            if playing.as_ref().map(|(_, s)| *s) != Some(*seq) {
                heard(s, title, *since);
                self.current = None;
            }
        }
        s.print_channel();
        if self.current.is_none() {
            match playing {
                Some((title, seq)) => self.current = Some((title, seq, Instant::now())),
                None => return Ok(!state.queue.upcoming().is_empty()),
            }
        }
        let Some((title, seq, since)) = self.current.clone() else {
            return Ok(true);
        };
        let voice = s.discord.voice.heard(GUILD);
        let pitch = dominant_frequency(&voice.last_ms(200));
        progress(&format!(
            "  🔊 {title}: {pitch:.0} Hz, {:.1} s…",
            since.elapsed().as_secs_f32()
        ));
        let silent_for = voice
            .last_frame_at()
            .map_or(since.elapsed(), |t| t.elapsed());
        anyhow::ensure!(
            silent_for.min(since.elapsed()) < STEP,
            "nothing was heard of {title} for {STEP:?}: {}",
            voice.summary()
        );
        let over = self.seconds.is_some_and(|limit| since.elapsed() >= limit);
        if over && self.skipped != Some(seq) {
            self.skipped = Some(seq);
            s.command("skip", &[]).await?;
        }
        Ok(true)
    }
}

/// What the voice channel heard of `title` since `since`; nothing for a track that never
/// sounded (its failure is in the channel already).
fn heard(s: &Script<'_>, title: &str, since: Instant) {
    let pcm = s.discord.voice.heard(GUILD).pcm_since(since);
    // Stereo at 48 kHz.
    let secs = pcm.len() as f32 / 96_000.0;
    if secs < 0.1 {
        return;
    }
    let pitch = dominant_frequency(&pcm);
    done(&format!(
        "  🔊 heard {title}: {secs:.1} s, strongest at {pitch:.0} Hz"
    ));
}
