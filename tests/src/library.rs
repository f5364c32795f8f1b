//! The whole chain with linked accounts on: the stand-ins for the platforms, the yt-dlp
//! stand-in, and the router also served on a loopback port that `PUBLIC_URL` names, so
//! Spotify's redirect reaches the callback route. Used by the library suite and its bench.

use serde_json::Value;
use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_fake_discord::interactions as di;
use twilight_model::application::interaction::Interaction;

use crate::chain::{member, spawn_sharded, Chain, Layout};
use crate::standins::Standins;
use crate::ytdlp::Ytdlp;

pub struct LibraryChain {
    pub chain: Chain,
    pub s: Standins,
    pub ytdlp: Ytdlp,
    _dir: tempfile::TempDir,
}

pub async fn spawn_library(guilds: &[FakeGuild]) -> LibraryChain {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let s = Standins::start().await;
    let ytdlp = Ytdlp::start(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the router");
    let public = format!("http://{}", listener.local_addr().expect("its address"));
    let mut env: Vec<(String, String)> = s
        .env()
        .into_iter()
        .chain(s.credentials())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.push(("PUBLIC_URL".into(), public));
    env.push(("YTDLP_PATH".into(), ytdlp.program.display().to_string()));
    let chain = spawn_sharded(guilds, Layout::single("2m").with_env(env)).await;
    let router = chain.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    LibraryChain {
        chain,
        s,
        ytdlp,
        _dir: dir,
    }
}

/// The reply's text and each embed's description and footer.
pub fn text(res: &Value) -> String {
    let d = &res["data"];
    let mut out = d["content"].as_str().unwrap_or_default().to_owned();
    for e in d["embeds"].as_array().into_iter().flatten() {
        out.push('\n');
        out.push_str(e["description"].as_str().unwrap_or_default());
        out.push('\n');
        out.push_str(e["footer"]["text"].as_str().unwrap_or_default());
    }
    out
}

/// Every component in the reply's rows.
pub fn components(res: &Value) -> Vec<Value> {
    res["data"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

impl LibraryChain {
    /// Sends the interaction `make` builds, past the rate limiter ([`Chain::send_with`]).
    pub async fn send(&mut self, make: impl Fn(u64) -> Interaction) -> (Value, String) {
        self.chain.send_with(make).await
    }

    pub async fn command(
        &mut self,
        g: &FakeGuild,
        name: &str,
        args: &[(&str, &str)],
    ) -> (Value, String) {
        let (guild, user, channel) = (g.id, member(g), g.text_channel);
        self.send(|id| di::slash(id, guild, user, channel, name, args))
            .await
    }

    pub async fn press(&mut self, g: &FakeGuild, custom_id: &str) -> Value {
        self.chain.press(g, custom_id).await.0
    }

    pub async fn pick(&mut self, g: &FakeGuild, menu: &str, value: &str) -> (Value, String) {
        let (guild, user, channel) = (g.id, member(g), g.text_channel);
        self.send(|id| di::in_channel(di::select(id, Some(guild), user, menu, &[value]), channel))
            .await
    }

    /// Links `g`'s member's YouTube account through the device flow, approved at once.
    pub async fn link_youtube(&mut self, g: &FakeGuild) {
        self.s
            .google
            .script(vec![crate::standins::DeviceAnswer::Approve]);
        self.command(g, "auth-youtube", &[]).await;
        let linked = self.press(g, "acct:yt-check").await;
        assert!(text(&linked).contains("YouTube is linked"), "{linked}");
    }
}

/// History for autoplay to fall back on in `g`: the 880 Hz tone (`t880`, "Tone 880" by
/// "Tones") two days ago, then 50 plays a day ago that yt-dlp cannot find, each by someone
/// else, so the tone is older than the 50 plays autoplay must not repeat.
pub async fn seed_older_history(chain: &Chain, g: &FakeGuild) {
    use timmybot_domain::{Clock, GuildId, HistoryEntry, Platform, SystemClock, TrackKey, UserId};
    let now = SystemClock.now_ms();
    let play = |at: u64, id: &str, title: &str, artist: &str| HistoryEntry {
        guild_id: GuildId::new(g.id).expect("a guild id"),
        played_at_ms: at,
        track_key: TrackKey::new(Platform::Youtube, id).expect("a track key"),
        requester: UserId::new(member(g)).expect("a user id"),
        title: title.into(),
        artist: Some(artist.into()),
        source: format!("https://www.youtube.com/watch?v={id}"),
    };
    let mut plays = vec![play(now - 2 * 86_400_000, "t880", "Tone 880", "Tones")];
    for n in 0..50u64 {
        let id = format!("gone{n:04}");
        plays.push(play(
            now - 86_400_000 + n,
            &id,
            &format!("Gone {n}"),
            &format!("Nobody {n}"),
        ));
    }
    for p in &plays {
        chain
            .store
            .record_play(p)
            .await
            .expect("record a past play");
    }
}
