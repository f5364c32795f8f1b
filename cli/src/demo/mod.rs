//! `timmybot demo`: the real bot, in embedded mode, against a fake Discord on this machine.
//! A scripted session plays two generated tones (or, with `--play`, the user's own files and
//! links: [`play`]), printing each command and the bot's reply as a person in the server
//! would see them, and the call's encryption as their Discord client shows it; what the
//! voice channel heard goes to a WAV file.

mod dashboard;
mod play;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use timmybot_config::names::env;
use timmybot_config::{Source, WorkerSettings};
use timmybot_domain::BotOwners;
use timmybot_fake_discord::audio::{dominant_frequency, wav_tone};
use timmybot_fake_discord::gateway::FakeGuild;
use timmybot_fake_discord::interactions::slash;
use timmybot_fake_discord::rest::{Shown, CALLBACK_DEFERRED};
use timmybot_fake_discord::FakeDiscord;

use crate::args::DemoArgs;
use crate::embedded::Embedded;

const GUILD: u64 = 1_300_000_000_000_000_001;
const TEXT: u64 = 1_300_000_000_000_000_010;
const VOICE: u64 = 1_300_000_000_000_000_020;
/// You, in the script.
const YOU: u64 = 1_300_000_000_000_000_100;
const FIRST: (&str, f32) = ("first-tone-440hz.wav", 440.0);
const SECOND: (&str, f32) = ("second-tone-660hz.wav", 660.0);
/// The pause before each command, as a person types it: at most 6 in 10 s, the bot's limit.
const TYPING: Duration = Duration::from_millis(1_750);
/// Each step waits at most this long for the bot.
const STEP: Duration = Duration::from_secs(20);

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir().context("making a scratch folder")?;
    let music = scratch.path().join("music");
    std::fs::create_dir_all(&music)?;
    for (name, freq) in [FIRST, SECOND] {
        std::fs::write(music.join(name), wav_tone(freq, 12.0, 0.4))?;
    }
    println!(
        "TimmyBot demo: the real bot against a fake Discord on this machine. Nothing leaves it."
    );
    progress("starting the fake Discord (gateway, REST, voice over TLS)…");
    let discord = FakeDiscord::start(vec![FakeGuild {
        id: GUILD,
        name: "Demo Server".into(),
        text_channel: TEXT,
        voice_channels: vec![VOICE],
    }])
    .await;
    discord.set_voice(GUILD, YOU, Some(VOICE));

    let mut vars: HashMap<String, String> = discord.env().into_iter().collect();
    let db = scratch.path().join("demo.db");
    vars.insert(env::STORE.into(), format!("sqlite:{}", db.display()));
    vars.insert(env::MUSIC_DIR.into(), music.display().to_string());
    vars.insert(env::WORKER_HEALTH_ADDR.into(), "127.0.0.1:0".into());
    let web = if args.dashboard {
        Some(dashboard::prepare(&discord, &mut vars)?)
    } else {
        None
    };
    let src = Source::from_pairs(vars);
    let worker = WorkerSettings::read(&src)?;
    let dashboard = timmybot_config::DashboardSettings::read(&src, &worker.accounts)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(crate::embedded::run(
        Embedded {
            worker,
            // With the dashboard, you are the owner too: the owner page is part of the tour.
            owners: match &web {
                Some(_) => BotOwners::parse(&YOU.to_string())?,
                None => BotOwners::default(),
            },
            allow_all: true,
            listen: web.as_ref().map(|w| w.listen.clone()),
            register_commands: true,
            dashboard,
        },
        async {
            let _ = stopped.await;
        },
    ));
    progress("the bot is connecting to the gateway…");
    discord.gateway.wait_ready(STEP).await;
    done("The bot is online in \"Demo Server\", and you are in its voice channel.\n");

    let mut s = Script::new(&discord);
    if args.play.is_empty() {
        tones(&mut s).await?;
    } else {
        let seconds = args.seconds.map(Duration::from_secs);
        play::run(&mut s, &args.play, &music, &db, seconds).await?;
    }

    let heard = discord.voice.heard(GUILD);
    std::fs::write(&args.out, heard.to_wav())
        .with_context(|| format!("writing {}", args.out.display()))?;
    let protection = if heard.e2ee_frames() == heard.audio_frames() && heard.e2ee_frames() > 0 {
        "every frame end-to-end encrypted and decrypted by you"
    } else {
        "not all of it end-to-end encrypted"
    };
    println!(
        "\nWrote what the voice channel heard to {} ({:.1} s of audio, {protection}; {} \
         silence frames).",
        args.out.display(),
        heard.audio_frames() as f32 * 0.02,
        heard.silent_frames()
    );
    if let Some(web) = &web {
        dashboard::tour(&mut s, web).await?;
    }
    println!("Run the real thing with your own bot token: `timmybot serve` (see the README).");
    let _ = stop.send(());
    bot.await.context("the bot's task")??;
    Ok(())
}

/// The generated tones' session: play, queue, skip, pause, resume, stop.
async fn tones(s: &mut Script<'_>) -> anyhow::Result<()> {
    s.command("play", &[("query", &format!("local:{}", FIRST.0))])
        .await?;
    s.listen_for(FIRST.1, Duration::from_secs(2)).await?;
    s.show_encryption();
    s.command("play", &[("query", &format!("local:{}", SECOND.0))])
        .await?;
    s.command("queue", &[]).await?;
    s.command("skip", &[]).await?;
    s.listen_for(SECOND.1, Duration::from_secs(2)).await?;
    s.command("pause", &[]).await?;
    s.wait_quiet().await?;
    s.command("resume", &[]).await?;
    s.listen_for(SECOND.1, Duration::from_secs(1)).await?;
    s.command("stop", &[]).await?;
    Ok(())
}

/// A progress line that rewrites itself on a terminal; piped output gets only final lines.
fn progress(line: &str) {
    if std::io::stdout().is_terminal() {
        print!("\r{line}\x1b[K");
        let _ = std::io::stdout().flush();
    }
}

/// Ends a progress line with its final text.
fn done(line: &str) {
    if std::io::stdout().is_terminal() {
        print!("\r\x1b[K");
    }
    println!("{line}");
}

/// Discord's markdown as a person sees it: no escapes, bold or code markers; mentions as names.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => {
                out.extend(chars.next());
            }
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
            }
            '`' => {}
            _ => out.push(c),
        }
    }
    out.replace(&format!("<@{YOU}>"), "@you")
}

/// The demo's person: types commands and reads replies and the voice channel.
struct Script<'a> {
    discord: &'a FakeDiscord,
    next_id: u64,
    /// Channel messages already printed: id → edits seen.
    printed: HashMap<u64, usize>,
}

impl<'a> Script<'a> {
    fn new(discord: &'a FakeDiscord) -> Self {
        Self {
            discord,
            next_id: 1_400_000_000_000_000_000,
            printed: HashMap::new(),
        }
    }

    /// Types `/name args`, then prints the bot's reply once it is final.
    async fn command(&mut self, name: &str, args: &[(&str, &str)]) -> anyhow::Result<()> {
        // A person types at human speed (and the bot allows 6 commands per 10 s each).
        tokio::time::sleep(TYPING).await;
        self.send(name, args).await
    }

    /// Sends `/name args` at once (the caller has spent the typing pause), then prints the
    /// bot's reply once it is final.
    async fn send(&mut self, name: &str, args: &[(&str, &str)]) -> anyhow::Result<()> {
        self.next_id += 1;
        let typed: String = args.iter().map(|(k, v)| format!(" {k}:{v}")).collect();
        println!("you      › /{name}{typed}");
        let interaction = slash(self.next_id, GUILD, YOU, TEXT, name, args);
        let token = interaction.token.clone();
        self.discord.gateway.dispatch_interaction(interaction);
        let rest = &self.discord.rest.fake;
        let deadline = Instant::now() + STEP;
        // A deferred reply ("thinking…") is final once the bot edits it.
        let reply = loop {
            let done = match (rest.callback_type(&token), rest.reply(&token)) {
                (Some(CALLBACK_DEFERRED), Some(r)) if r.edits > 0 => Some(r),
                (Some(kind), Some(r)) if kind != CALLBACK_DEFERRED => Some(r),
                _ => None,
            };
            if let Some(r) = done {
                break r;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "no reply to /{name} within {STEP:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        print_message("TimmyBot", &reply);
        self.print_channel();
        Ok(())
    }

    /// New or edited messages in the text channel (the now-playing card).
    fn print_channel(&mut self) {
        for msg in self.discord.rest.fake.channel_messages(TEXT) {
            let seen = self.printed.insert(msg.id, msg.edits);
            if seen != Some(msg.edits) {
                print_message("#general", &msg);
            }
        }
    }

    /// Listens until `freq` plays, then for `secs` more, with a progress line.
    async fn listen_for(&mut self, freq: f32, secs: Duration) -> anyhow::Result<()> {
        let voice = &self.discord.voice;
        let start = Instant::now();
        let mut heard_at: Option<Instant> = None;
        loop {
            let pitch = dominant_frequency(&voice.heard(GUILD).last_ms(200));
            if heard_at.is_none() && (pitch - freq).abs() <= 10.0 {
                heard_at = Some(Instant::now());
            }
            progress(&format!(
                "  🔊 voice channel: {pitch:.0} Hz, {:.1} s…",
                start.elapsed().as_secs_f32()
            ));
            if heard_at.is_some_and(|t| t.elapsed() >= secs) {
                break;
            }
            anyhow::ensure!(
                start.elapsed() < STEP,
                "the voice channel never played {freq} Hz: {}",
                voice.heard(GUILD).summary()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        done(&format!("  🔊 voice channel: {freq:.0} Hz"));
        self.print_channel();
        Ok(())
    }

    /// The call's encryption as your Discord client shows it: the lock, the DAVE version and
    /// epoch, and the voice privacy code (the same for everyone in the call's group).
    fn show_encryption(&self) {
        let heard = self.discord.voice.heard(GUILD);
        let you = heard.dave.listener(YOU);
        let version = heard
            .sessions
            .last()
            .and_then(|s| s.dave_protocol_version)
            .unwrap_or(0);
        match you.and_then(|l| l.epoch) {
            Some(epoch) if version > 0 && heard.e2ee_frames() > 0 => {
                println!("  🔒 end-to-end encrypted (DAVE v{version}, epoch {epoch})");
                if let Some(code) = you.and_then(|l| l.privacy_code.as_deref()) {
                    println!("     voice privacy code: {}", grouped(code));
                }
            }
            _ => println!("  🔓 not end-to-end encrypted (transport encryption only)"),
        }
    }

    /// Waits for the packets to stop (songbird sends five silence frames first).
    async fn wait_quiet(&mut self) -> anyhow::Result<()> {
        let voice = &self.discord.voice;
        let start = Instant::now();
        loop {
            let last = voice.heard(GUILD).last_frame_at();
            if last.is_some_and(|t| t.elapsed() >= Duration::from_millis(500)) {
                break;
            }
            anyhow::ensure!(
                start.elapsed() < STEP,
                "the audio never stopped after /pause"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        done("  🔇 voice channel: silent (no packets while paused)");
        Ok(())
    }
}

/// A code in groups of five digits, as Discord's client shows it.
fn grouped(code: &str) -> String {
    let digits: Vec<char> = code.chars().collect();
    digits
        .chunks(5)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_message(who: &str, msg: &Shown) {
    let note = match (msg.ephemeral, msg.edits > 0 && who != "TimmyBot") {
        (true, _) => "  (only you can see this)",
        (false, true) => "  (edited)",
        (false, false) => "",
    };
    let mut lines = plain(&msg.render())
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    if lines.is_empty() {
        lines.push("…".into());
    }
    for (i, line) in lines.iter().enumerate() {
        let label = if i == 0 { who } else { "" };
        let tail = if i == 0 { note } else { "" };
        println!("{label:<8} │ {line}{tail}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_show_in_groups_of_five() {
        assert_eq!(
            grouped("123456789012345678901234567890"),
            "12345 67890 12345 67890 12345 67890"
        );
    }

    #[test]
    fn markdown_reads_as_discord_shows_it() {
        assert_eq!(
            plain(&format!("`1.` Queued **first\\-tone** · <@{YOU}> 2\\*3")),
            "1. Queued first-tone · @you 2*3"
        );
    }
}
