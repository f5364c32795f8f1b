//! Property tests for the queue: whatever sequence of commands users send, no track is lost
//! or duplicated except by the operation that says it drops one, the cap holds, and shuffle
//! is a permutation that leaves the current track alone.

use std::collections::BTreeMap;

use crate::queue::{PLAYED_CAP, QUEUE_CAP};
use crate::{GuildQueue, LoopMode, Platform, Position, Track, TrackKey, UserId, Volume};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

#[derive(Debug, Clone)]
enum Op {
    Add(Position),
    AddMany(usize, Position),
    Remove(usize),
    Move(usize, usize),
    Shuffle(u64),
    Clear,
    Stop,
    Start,
    Skip,
    Advance,
    Previous,
    Seek(u64),
    Pause,
    Resume,
    Loop(LoopMode),
    Volume(u32),
}

fn position() -> impl Strategy<Value = Position> {
    prop_oneof![Just(Position::End), Just(Position::Next)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => position().prop_map(Op::Add),
        1 => (0usize..40, position()).prop_map(|(n, p)| Op::AddMany(n, p)),
        2 => (0usize..30).prop_map(Op::Remove),
        2 => (0usize..30, 0usize..30).prop_map(|(a, b)| Op::Move(a, b)),
        1 => any::<u64>().prop_map(Op::Shuffle),
        1 => Just(Op::Clear),
        1 => Just(Op::Stop),
        2 => Just(Op::Start),
        2 => Just(Op::Skip),
        3 => Just(Op::Advance),
        2 => Just(Op::Previous),
        1 => (0u64..300_000).prop_map(Op::Seek),
        1 => Just(Op::Pause),
        1 => Just(Op::Resume),
        1 => prop_oneof![Just(LoopMode::Off), Just(LoopMode::Track), Just(LoopMode::Queue)]
            .prop_map(Op::Loop),
        1 => (0u32..300).prop_map(Op::Volume),
    ]
}

struct Tracks(usize);

impl Tracks {
    fn next(&mut self) -> Track {
        self.0 += 1;
        let key = TrackKey::new(Platform::Youtube, &format!("id{}", self.0)).unwrap();
        Track::new(
            key,
            &format!("Track {}", self.0),
            "ytsearch1:x",
            UserId::new(9).unwrap(),
        )
        .unwrap()
        .with_duration_ms(120_000)
    }
}

/// Every track the queue holds, counted by key.
fn held(q: &GuildQueue) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for t in q
        .upcoming()
        .iter()
        .chain(q.now_playing().map(|np| &np.track))
    {
        *counts.entry(t.key.to_string()).or_default() += 1;
    }
    counts
}

fn plus(mut m: BTreeMap<String, usize>, tracks: &[Track]) -> BTreeMap<String, usize> {
    for t in tracks {
        *m.entry(t.key.to_string()).or_default() += 1;
    }
    m
}

fn minus(mut m: BTreeMap<String, usize>, tracks: &[Track]) -> BTreeMap<String, usize> {
    for t in tracks {
        let key = t.key.to_string();
        let n = m.get_mut(&key).expect("removed a track that was not held");
        *n -= 1;
        if *n == 0 {
            m.remove(&key);
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_operation_loses_or_duplicates_a_track(
        prefill in 0usize..QUEUE_CAP + 5,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut gen = Tracks(0);
        let mut q = GuildQueue::new();
        for _ in 0..prefill {
            let _ = q.add(gen.next(), Position::End);
        }
        let mut now = 0u64;
        for op in ops {
            now += 1_000;
            let before = held(&q);
            let upcoming_before: Vec<Track> = q.upcoming().to_vec();
            let playing_before = q.now_playing().map(|np| np.track.clone());
            let position_before = q.now_playing().map(|np| np.position_ms(now));
            let volume_before = q.volume();
            // `expected` is what the queue should hold after the op, by key count.
            let expected = match op.clone() {
                Op::Add(at) => {
                    let t = gen.next();
                    match q.add(t.clone(), at) {
                        Ok(_) => plus(before, &[t]),
                        Err(_) => {
                            prop_assert_eq!(q.len(), QUEUE_CAP);
                            before
                        }
                    }
                }
                Op::AddMany(n, at) => {
                    let batch: Vec<Track> = (0..n).map(|_| gen.next()).collect();
                    match q.add_many(batch.clone(), at) {
                        Ok(added) => {
                            prop_assert_eq!(added.added + added.dropped, n);
                            plus(before, &batch[..added.added])
                        }
                        Err(_) => before,
                    }
                }
                Op::Remove(p) => match q.remove(p) {
                    Ok(t) => {
                        prop_assert_eq!(&t, &upcoming_before[p - 1]);
                        minus(before, &[t])
                    }
                    Err(_) => before,
                },
                Op::Move(a, b) => {
                    if q.move_track(a, b).is_ok() {
                        prop_assert_eq!(&q.upcoming()[b - 1], &upcoming_before[a - 1]);
                    }
                    before
                }
                Op::Shuffle(seed) => {
                    q.shuffle(&mut StdRng::seed_from_u64(seed));
                    let mut a: Vec<String> = q.upcoming().iter().map(|t| t.key.to_string()).collect();
                    let mut b: Vec<String> = upcoming_before.iter().map(|t| t.key.to_string()).collect();
                    a.sort();
                    b.sort();
                    prop_assert_eq!(a, b, "shuffle is a permutation");
                    prop_assert_eq!(q.now_playing().map(|np| &np.track), playing_before.as_ref());
                    before
                }
                Op::Clear => {
                    let n = q.clear();
                    prop_assert_eq!(n, upcoming_before.len());
                    prop_assert_eq!(q.now_playing().map(|np| &np.track), playing_before.as_ref());
                    minus(before, &upcoming_before)
                }
                Op::Stop => {
                    q.stop();
                    BTreeMap::new()
                }
                Op::Start => {
                    q.start(now);
                    before
                }
                Op::Skip => {
                    let mode = q.loop_mode();
                    match q.skip(now) {
                        Ok(t) if mode == LoopMode::Queue => {
                            prop_assert_eq!(Some(&t.finished), playing_before.as_ref());
                            before
                        }
                        Ok(t) => minus(before, &[t.finished]),
                        Err(_) => before,
                    }
                }
                Op::Advance => {
                    let mode = q.loop_mode();
                    match q.advance(now) {
                        Ok(t) if mode == LoopMode::Off => minus(before, &[t.finished]),
                        Ok(t) => {
                            prop_assert!(t.playing);
                            before
                        }
                        Err(_) => before,
                    }
                }
                Op::Previous => {
                    let back = q.played().last().cloned();
                    match q.previous(now).cloned() {
                        Ok(t) => {
                            prop_assert_eq!(Some(&t), back.as_ref(), "previous plays the newest played track");
                            let np = q.now_playing().unwrap();
                            prop_assert_eq!(np.position_ms(now), 0, "from its start");
                            prop_assert!(!np.paused);
                            if let Some(was) = playing_before.as_ref().filter(|was| **was != t) {
                                prop_assert_eq!(&q.upcoming()[0], was, "the current track comes next");
                            }
                            // Moved from the queue (queue loop's copy) or back from history.
                            if before.contains_key(&t.key.to_string()) { before } else { plus(before, &[t]) }
                        }
                        Err(_) => {
                            prop_assert!(back.is_none() || q.len() == QUEUE_CAP);
                            before
                        }
                    }
                }
                Op::Seek(ms) => {
                    if q.seek(ms, now).is_ok() {
                        prop_assert_eq!(q.now_playing().map(|np| np.position_ms(now)), Some(ms));
                    }
                    before
                }
                Op::Pause => {
                    if q.pause(now).is_ok() {
                        let np = q.now_playing().unwrap();
                        prop_assert!(np.paused);
                        prop_assert_eq!(Some(np.position_ms(now)), position_before, "pausing keeps the place");
                    }
                    before
                }
                Op::Resume => {
                    if q.resume(now).is_ok() {
                        let np = q.now_playing().unwrap();
                        prop_assert!(!np.paused);
                        prop_assert_eq!(Some(np.position_ms(now)), position_before, "resuming starts where it paused");
                    }
                    before
                }
                Op::Loop(mode) => {
                    q.set_loop(mode);
                    before
                }
                Op::Volume(v) => {
                    match Volume::parse(v) {
                        Ok(vol) => {
                            q.set_volume(vol);
                            prop_assert_eq!(u32::from(q.volume().percent()), v);
                        }
                        Err(_) => {
                            prop_assert!(v > u32::from(Volume::MAX), "{} refused", v);
                            prop_assert_eq!(q.volume(), volume_before);
                        }
                    }
                    before
                }
            };
            prop_assert_eq!(held(&q), expected, "after {:?}", op);
            prop_assert!(held(&q).values().all(|n| *n == 1), "a track is duplicated after {:?}", op);
            prop_assert!(q.len() <= QUEUE_CAP);
            prop_assert!(q.played().len() <= PLAYED_CAP);
            // Time moves the position while playing, up to the track's end, and not at all
            // while paused.
            if let Some(np) = q.now_playing() {
                let at = np.position_ms(now);
                let later = np.position_ms(now + 500);
                if np.paused {
                    prop_assert_eq!(later, at, "a paused track moved");
                } else {
                    prop_assert_eq!(later, (at + 500).min(120_000), "playing time is lost or gained");
                }
            }
        }
    }

    /// `/skip` then `/previous` puts everything back where it was, in every loop mode.
    #[test]
    fn previous_undoes_a_skip(
        prefill in 1usize..30,
        played in 0usize..PLAYED_CAP,
        mode in prop_oneof![Just(LoopMode::Off), Just(LoopMode::Track), Just(LoopMode::Queue)],
        shuffle in proptest::option::of(any::<u64>()),
    ) {
        let mut gen = Tracks(0);
        let mut q = GuildQueue::new();
        for _ in 0..prefill + played {
            q.add(gen.next(), Position::End).unwrap();
        }
        q.start(0);
        for i in 0..played {
            q.advance(i as u64).unwrap();
        }
        q.set_loop(mode);
        if let Some(seed) = shuffle {
            q.shuffle(&mut StdRng::seed_from_u64(seed));
        }
        let upcoming: Vec<Track> = q.upcoming().to_vec();
        let playing = q.now_playing().map(|np| np.track.clone());
        let history: Vec<Track> = q.played().to_vec();
        q.skip(1_000_000).unwrap();
        let back = q.previous(1_000_001).unwrap().clone();
        prop_assert_eq!(Some(back), playing);
        prop_assert_eq!(q.upcoming(), &upcoming[..]);
        prop_assert_eq!(q.played(), &history[..]);
    }

    #[test]
    fn a_round_trip_through_json_changes_nothing(
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        let mut gen = Tracks(0);
        let mut q = GuildQueue::new();
        for op in ops {
            match op {
                Op::Add(at) => { let _ = q.add(gen.next(), at); }
                Op::Advance => { let _ = q.advance(7); }
                Op::Previous => { let _ = q.previous(9); }
                Op::Start => { q.start(3); }
                Op::Pause => { let _ = q.pause(11); }
                Op::Loop(m) => q.set_loop(m),
                _ => {}
            }
        }
        let json = serde_json::to_string(&q).unwrap();
        prop_assert_eq!(serde_json::from_str::<GuildQueue>(&json).unwrap(), q);
    }
}
