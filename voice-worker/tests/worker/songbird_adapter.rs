//! The songbird adapter against the fake voice server: a real `Call`, connected, mixing and
//! sending Opus that the server decrypts and measures.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use songbird::driver::{Scheduler, SchedulerConfig};
use songbird::id::{ChannelId, GuildId, UserId};
use songbird::input::Input;
use songbird::{Call, Config, ConnectionInfo};
use timmybot_config::VoiceBitrate;
use timmybot_fake_discord::audio::{rms, wav_tone, VoiceCipher};
use timmybot_fake_discord::voice::{FakeVoiceServer, RunningVoice};
use voice_worker::adapters::songbird::{arm_on, Egress};

const GUILD: u64 = 5_001;
const USER: u64 = 5_002;
const WAIT: Duration = Duration::from_secs(15);

fn id(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap()
}

type SharedCall = Arc<tokio::sync::Mutex<Call>>;

/// A real songbird `Call` for `guild`, connected to `server` with someone listening (so the
/// call's DAVE group forms and what the bot sends can be heard), at `egress`'s bitrate.
async fn connected_call(server: &RunningVoice, guild: u64, egress: Egress) -> SharedCall {
    let channel = guild + 2;
    server.set_member(guild, guild + 3, Some(channel));
    server.authorize(guild, channel, USER, "session", "token");
    // A scheduler of its own: songbird's default is bound to the first test's runtime.
    let config = Config::default().scheduler(Scheduler::new(SchedulerConfig::default()));
    let mut call =
        Call::standalone_from_config(GuildId::from(id(guild)), UserId::from(id(USER)), config);
    call.set_bitrate(egress.bitrate);
    let info = ConnectionInfo {
        channel_id: ChannelId::from(id(channel)),
        endpoint: server.endpoint(),
        guild_id: GuildId::from(id(guild)),
        session_id: "session".into(),
        token: "token".into(),
        user_id: UserId::from(id(USER)),
    };
    tokio::time::timeout(WAIT, call.connect(info))
        .await
        .expect("songbird connects in time")
        .expect("songbird connects to the fake voice server");
    Arc::new(tokio::sync::Mutex::new(call))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_given_while_the_call_is_locked_still_reaches_the_track() {
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    let egress = Egress::new(VoiceBitrate::AWS_DEFAULT);
    let call = connected_call(&server, GUILD, egress).await;

    let armed = arm_on(
        call.clone(),
        Input::from(wav_tone(440.0, 5.0, 0.5)),
        1.0,
        Box::new(|_| {}),
        egress,
    )
    .await
    .expect("the tone opens");
    // A gateway event holds the call's lock: the track is added from a task, later.
    let held = call.lock().await;
    let control = armed.start(Duration::ZERO, false);
    // A command in that window, such as `/volume 0`, must still reach the track.
    control.set_volume(0.0);
    drop(held);

    let heard = server
        .wait_for(GUILD, WAIT, "50 frames of audio", |h| {
            h.audio_frames() >= 50
        })
        .await;
    // The change lands a tick after the track does; what follows is silent.
    let level = rms(&heard.last_ms(800));
    assert!(
        level < 0.01,
        "the volume change was lost: the tone plays at rms {level}"
    );
    control.stop();
}

/// What a 160 kb/s Opus source (as YouTube serves) costs on the wire, in bits per second of
/// audio, played at `bitrate`.
async fn wire_bitrate(guild: u64, bitrate: VoiceBitrate) -> (f64, f64) {
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    let egress = Egress::new(bitrate);
    let call = connected_call(&server, guild, egress).await;
    let ogg = timmybot_tests::media::ogg_opus_tone(440.0, 5.0, 160_000);
    let armed = arm_on(
        call.clone(),
        Input::from(ogg),
        1.0,
        Box::new(|_| {}),
        egress,
    )
    .await
    .expect("the Opus file opens");
    let control = armed.start(Duration::ZERO, false);
    let started = server
        .wait_for(guild, WAIT, "the first audio", |h| h.audio_frames() >= 1)
        .await
        .first_audio_at()
        .expect("audio");
    let heard = server
        .wait_for(guild, WAIT, "100 frames (2 s) of audio", |h| {
            h.audio_frames() >= 101
        })
        .await;
    control.stop();
    // From the second frame: the first may be an encoder's start-up.
    let from = heard
        .frames
        .iter()
        .filter(|f| !f.silent && f.at > started)
        .map(|f| f.at)
        .next()
        .expect("a second frame");
    heard.bitrates_since(from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_bitrate_bounds_an_opus_source_that_would_pass_through() {
    let (wire_free, opus_free) = wire_bitrate(5_101, VoiceBitrate::Passthrough).await;
    let (wire_capped, opus_capped) = wire_bitrate(5_201, VoiceBitrate::Capped(64_000)).await;
    println!(
        "160 kb/s Opus source on the wire: passthrough {:.0} kb/s (Opus {:.0}), VOICE_BITRATE=64k {:.0} kb/s (Opus {:.0})",
        wire_free / 1e3,
        opus_free / 1e3,
        wire_capped / 1e3,
        opus_capped / 1e3
    );
    // Passed through, the source's own frames go out: about 160 kb/s of Opus.
    assert!(
        (140e3..=180e3).contains(&opus_free),
        "passthrough sends the source's {opus_free:.0} b/s"
    );
    // Capped, every frame is encoded at 64 kb/s.
    assert!(
        (56e3..=70e3).contains(&opus_capped),
        "VOICE_BITRATE=64k sends {opus_capped:.0} b/s of Opus"
    );
    assert!(
        wire_capped < wire_free * 0.6,
        "{wire_capped} vs {wire_free}"
    );
}
