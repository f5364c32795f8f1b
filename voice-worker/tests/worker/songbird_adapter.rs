//! The songbird adapter against the fake voice server: a real `Call`, connected, mixing and
//! sending Opus that the server decrypts and measures.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use songbird::driver::{Scheduler, SchedulerConfig};
use songbird::id::{ChannelId, GuildId, UserId};
use songbird::input::Input;
use songbird::{Call, Config, ConnectionInfo};
use timmybot_fake_discord::audio::{rms, wav_tone, VoiceCipher};
use timmybot_fake_discord::voice::FakeVoiceServer;
use voice_worker::adapters::songbird::arm_on;

const GUILD: u64 = 5_001;
const USER: u64 = 5_002;
const CHANNEL: u64 = 5_003;
const LISTENER: u64 = 5_004;
const WAIT: Duration = Duration::from_secs(15);

fn id(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_given_while_the_call_is_locked_still_reaches_the_track() {
    let server = FakeVoiceServer::start(&VoiceCipher::ALL).await;
    // Someone listens, so the call's DAVE group forms and what the bot sends can be heard.
    server.set_member(GUILD, LISTENER, Some(CHANNEL));
    server.authorize(GUILD, CHANNEL, USER, "session", "token");
    // A scheduler of its own: songbird's default is bound to the first test's runtime.
    let config = Config::default().scheduler(Scheduler::new(SchedulerConfig::default()));
    let mut call =
        Call::standalone_from_config(GuildId::from(id(GUILD)), UserId::from(id(USER)), config);
    let info = ConnectionInfo {
        channel_id: ChannelId::from(id(CHANNEL)),
        endpoint: server.endpoint(),
        guild_id: GuildId::from(id(GUILD)),
        session_id: "session".into(),
        token: "token".into(),
        user_id: UserId::from(id(USER)),
    };
    tokio::time::timeout(WAIT, call.connect(info))
        .await
        .expect("songbird connects in time")
        .expect("songbird connects to the fake voice server");
    let call = Arc::new(tokio::sync::Mutex::new(call));

    let armed = arm_on(
        call.clone(),
        Input::from(wav_tone(440.0, 5.0, 0.5)),
        1.0,
        Box::new(|_| {}),
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
