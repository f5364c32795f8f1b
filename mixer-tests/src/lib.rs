//! A call without Discord: songbird's own mixer (`Mixer::mock`) run by its own scheduler
//! loop, sending real encrypted Opus RTP (AES-256-GCM, all-zero key) to a loopback socket
//! that this harness reads, decrypts and decodes.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use songbird::driver::bench_internals::mixer::Mixer;
use songbird::driver::bench_internals::task_message::{EventMessage, MixerMessage};
use songbird::driver::bench_internals::track_context;
use songbird::driver::MockScheduler;
use songbird::tracks::{PlayMode, Track, TrackHandle};
use timmybot_fake_discord::audio::{decrypt_rtp, OpusDecoder, VoiceCipher, SILENT_FRAME};

/// What one 20 ms tick sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Decoded stereo PCM.
    Audio(Vec<f32>),
    /// One of the five silence frames sent when audio stops.
    Silence,
    /// No packet at all.
    Nothing,
}

/// One mock call: a mixer, its scheduler, and the socket its packets arrive on.
pub struct MockCall {
    sched: MockScheduler,
    /// Kept open: a mixer whose core channel closes tries to reconnect.
    _core: flume::Receiver<songbird::driver::bench_internals::task_message::CoreMessage>,
    events: flume::Receiver<EventMessage>,
    mixer_tx: flume::Sender<MixerMessage>,
    rx: UdpSocket,
    decoder: OpusDecoder,
    buf: Vec<u8>,
    /// songbird parks a mixer that has no track (it would leave this scheduler for good),
    /// so ticking waits for the first track, as the real scheduler does. Set by any adder.
    started: Arc<AtomicBool>,
}

impl MockCall {
    /// Must be called outside async code: building the mixer blocks on the runtime.
    pub fn new(handle: tokio::runtime::Handle) -> Self {
        let mut sched = MockScheduler::new(None);
        let (core, events, mixer_tx, rx) = Self::add_mixer(&mut sched, handle);
        Self {
            sched,
            _core: core,
            events,
            mixer_tx,
            rx,
            decoder: OpusDecoder::new(),
            buf: vec![0u8; 1500],
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    fn add_mixer(
        sched: &mut MockScheduler,
        handle: tokio::runtime::Handle,
    ) -> (
        flume::Receiver<songbird::driver::bench_internals::task_message::CoreMessage>,
        flume::Receiver<EventMessage>,
        flume::Sender<MixerMessage>,
        UdpSocket,
    ) {
        // Soft clipping on, as in songbird's default config, which the worker runs.
        let (mut mixer, listeners) = Mixer::mock(handle, true);
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind the RTP receiver");
        rx.set_nonblocking(true).expect("nonblocking receiver");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind the RTP sender");
        tx.connect(rx.local_addr().expect("receiver address"))
            .expect("connect the sender");
        if let Some(conn) = mixer.conn_active.as_mut() {
            conn.udp_tx = tx;
        }
        let mixer_tx = mixer.interconnect.mixer.clone();
        sched.add_mixer_direct(mixer);
        (listeners.0, listeners.1, mixer_tx, rx)
    }

    /// Adds a track to the call, as `Call::play` does.
    pub fn play(&mut self, track: Track) -> TrackHandle {
        self.adder().play(track)
    }

    /// Adds tracks from another thread; the mixer takes them at the start of its next tick.
    pub fn adder(&self) -> TrackAdder {
        TrackAdder {
            mixer: self.mixer_tx.clone(),
            started: Arc::clone(&self.started),
        }
    }

    /// Runs one mixer tick (no waiting: `internals` turns the 20 ms pacing off) and reads
    /// what it sent.
    pub fn tick(&mut self) -> Frame {
        if !self.started.load(Ordering::Acquire) {
            return Frame::Nothing;
        }
        self.sched.core.run_once();
        let mut got = Frame::Nothing;
        while let Ok(n) = self.rx.recv(&mut self.buf) {
            // Keepalives are 8 bytes; RTP is longer.
            let Some(opus) = decrypt_rtp(VoiceCipher::Aes256Gcm, &[0u8; 32], &self.buf[..n]) else {
                continue;
            };
            got = if opus == SILENT_FRAME {
                Frame::Silence
            } else {
                self.decoder
                    .decode(&opus)
                    .map_or(Frame::Nothing, Frame::Audio)
            };
        }
        got
    }

    /// Ticks until `n` audio frames arrived, pausing `pace` between ticks so background
    /// readying (HTTP, yt-dlp) can progress; gives up after `limit` ticks.
    pub fn collect_audio(&mut self, n: usize, pace: Duration, limit: usize) -> Vec<f32> {
        let mut pcm = Vec::new();
        let mut frames = 0;
        for _ in 0..limit {
            if let Frame::Audio(p) = self.tick() {
                pcm.extend(p);
                frames += 1;
                if frames == n {
                    break;
                }
            }
            if !pace.is_zero() {
                std::thread::sleep(pace);
            }
        }
        pcm
    }

    /// Whether a track-ended state change was reported since the last call.
    pub fn track_ended(&self) -> bool {
        self.events.try_iter().any(|e| {
            matches!(
                e,
                EventMessage::ChangeState(
                    _,
                    songbird::driver::bench_internals::task_message::TrackStateChange::Mode(
                        PlayMode::End
                    )
                )
            )
        })
    }
}

/// A handle that adds tracks to a [`MockCall`] from anywhere.
#[derive(Clone)]
pub struct TrackAdder {
    mixer: flume::Sender<MixerMessage>,
    started: Arc<AtomicBool>,
}

impl TrackAdder {
    pub fn play(&self, track: Track) -> TrackHandle {
        let (handle, ctx) = track_context(track);
        let _ = self.mixer.send(MixerMessage::AddTrack(Box::new(ctx)));
        self.started.store(true, Ordering::Release);
        handle
    }
}

/// Many calls on one scheduler thread, as a worker's mixer thread runs them.
pub struct MockFleet {
    pub sched: MockScheduler,
    _channels: Vec<(
        flume::Receiver<songbird::driver::bench_internals::task_message::CoreMessage>,
        flume::Receiver<EventMessage>,
    )>,
    pub receivers: Vec<UdpSocket>,
    senders: Vec<flume::Sender<MixerMessage>>,
    buf: Vec<u8>,
}

/// One scheduler thread that keeps every mixer it is given. songbird's default moves
/// expensive mixers to other threads and caps a thread at 16 calls; a per-core measure
/// needs them all on one thread.
fn one_thread_scheduler(calls: usize) -> MockScheduler {
    use songbird::driver::bench_internals::scheduler::{
        Config, LiveStatBlock, Mode, StatBlock, TaskId, WorkerId,
    };
    let stats = Arc::new(StatBlock::default());
    let local = Arc::new(LiveStatBlock::default());
    let (task_tx, task_rx) = flume::unbounded();
    let (sched_tx, sched_rx) = flume::unbounded();
    let mut config = Config::default();
    config.strategy = Mode::MaxPerThread(
        std::num::NonZeroUsize::new(calls.max(1)).unwrap_or(std::num::NonZeroUsize::MIN),
    );
    config.move_expensive_tasks = false;
    MockScheduler {
        core: songbird::driver::bench_internals::scheduler::Live::new(
            WorkerId::new(),
            config,
            stats.clone(),
            local.clone(),
            task_rx,
            sched_tx,
        ),
        stats,
        local,
        rx: sched_rx,
        tx: task_tx,
        id: TaskId::new(),
    }
}

impl MockFleet {
    pub fn new(handle: &tokio::runtime::Handle, calls: usize) -> Self {
        let mut sched = one_thread_scheduler(calls);
        let mut receivers = Vec::with_capacity(calls);
        let mut senders = Vec::with_capacity(calls);
        let mut channels = Vec::with_capacity(calls);
        for _ in 0..calls {
            let (core, events, tx, rx) = MockCall::add_mixer(&mut sched, handle.clone());
            receivers.push(rx);
            senders.push(tx);
            channels.push((core, events));
        }
        Self {
            sched,
            _channels: channels,
            receivers,
            senders,
            buf: vec![0u8; 1500],
        }
    }

    /// Sets every call's Opus bitrate, as `Call::set_bitrate` does.
    pub fn set_bitrate(&self, bitrate: songbird::driver::Bitrate) {
        for tx in &self.senders {
            let _ = tx.send(MixerMessage::SetBitrate(bitrate));
        }
    }

    pub fn play(&self, call: usize, track: Track) -> TrackHandle {
        let (handle, ctx) = track_context(track);
        let _ = self.senders[call].send(MixerMessage::AddTrack(Box::new(ctx)));
        handle
    }

    /// One tick for every call; returns the number of packets sent.
    pub fn tick(&mut self) -> usize {
        self.sched.core.run_once();
        let mut sent = 0;
        for rx in &self.receivers {
            while rx.recv(&mut self.buf).is_ok() {
                sent += 1;
            }
        }
        sent
    }
}
