//! The queue rules, case by case.

use super::*;
use crate::ids::UserId;
use crate::track::{Platform, TrackKey};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn track(n: usize) -> Track {
    let key = TrackKey::new(Platform::Youtube, &format!("t{n}")).unwrap();
    Track::new(
        key,
        &format!("Track {n}"),
        &format!("ytsearch1:{n}"),
        UserId::new(1).unwrap(),
    )
    .unwrap()
    .with_duration_ms(180_000)
}

fn titles(q: &GuildQueue) -> Vec<String> {
    q.upcoming().iter().map(|t| t.title.clone()).collect()
}

fn playing(q: &GuildQueue) -> Option<String> {
    q.now_playing().map(|np| np.track.title.clone())
}

fn queue_of(n: usize) -> GuildQueue {
    let mut q = GuildQueue::new();
    for i in 1..=n {
        q.add(track(i), Position::End).unwrap();
    }
    q
}

#[test]
fn add_at_end_and_next() {
    let mut q = queue_of(2);
    assert_eq!(q.add(track(3), Position::End).unwrap(), 3);
    assert_eq!(q.add(track(0), Position::Next).unwrap(), 1);
    assert_eq!(titles(&q), ["Track 0", "Track 1", "Track 2", "Track 3"]);
}

#[test]
fn cap_counts_the_playing_track_and_fails_clearly() {
    let mut q = queue_of(QUEUE_CAP - 1);
    q.start(0);
    q.add(track(999), Position::End).unwrap();
    assert_eq!(q.len(), QUEUE_CAP);
    let err = q.add(track(1000), Position::Next).unwrap_err();
    assert_eq!(err, QueueError::Full { cap: QUEUE_CAP });
    assert!(err.to_string().contains("queue is full (500 tracks)"));
    assert_eq!(q.len(), QUEUE_CAP, "a refused add changes nothing");
}

#[test]
fn add_many_fills_to_the_cap_and_reports_the_rest() {
    let mut q = queue_of(QUEUE_CAP - 2);
    let added = q
        .add_many((0..5).map(track).collect(), Position::End)
        .unwrap();
    assert_eq!(
        added,
        Added {
            first_position: QUEUE_CAP - 1,
            added: 2,
            dropped: 3
        }
    );
    assert_eq!(q.len(), QUEUE_CAP);
    assert_eq!(
        q.add_many(vec![track(9)], Position::End),
        Err(QueueError::Full { cap: QUEUE_CAP })
    );
}

#[test]
fn add_many_next_keeps_playlist_order_in_front() {
    let mut q = queue_of(2);
    let added = q
        .add_many(vec![track(8), track(9)], Position::Next)
        .unwrap();
    assert_eq!(added.first_position, 1);
    assert_eq!(titles(&q), ["Track 8", "Track 9", "Track 1", "Track 2"]);
}

#[test]
fn from_parts_refuses_an_over_cap_queue() {
    let tracks = (0..=QUEUE_CAP).map(track).collect();
    assert_eq!(
        GuildQueue::from_parts(tracks, None, LoopMode::Off, Volume::default()),
        Err(QueueError::Full { cap: QUEUE_CAP })
    );
}

#[test]
fn remove_is_one_based_over_upcoming() {
    let mut q = queue_of(3);
    q.start(0);
    assert_eq!(q.remove(1).unwrap().title, "Track 2");
    assert_eq!(titles(&q), ["Track 3"]);
    assert_eq!(playing(&q).as_deref(), Some("Track 1"));
    assert_eq!(
        q.remove(0),
        Err(QueueError::NoSuchPosition {
            position: 0,
            len: 1
        })
    );
    assert_eq!(
        q.remove(2),
        Err(QueueError::NoSuchPosition {
            position: 2,
            len: 1
        })
    );
}

#[test]
fn move_track_both_directions() {
    let mut q = queue_of(4);
    q.move_track(1, 3).unwrap();
    assert_eq!(titles(&q), ["Track 2", "Track 3", "Track 1", "Track 4"]);
    q.move_track(4, 1).unwrap();
    assert_eq!(titles(&q), ["Track 4", "Track 2", "Track 3", "Track 1"]);
    q.move_track(2, 2).unwrap();
    assert_eq!(titles(&q), ["Track 4", "Track 2", "Track 3", "Track 1"]);
    assert!(q.move_track(5, 1).is_err());
    assert!(q.move_track(1, 5).is_err());
    assert_eq!(titles(&q), ["Track 4", "Track 2", "Track 3", "Track 1"]);
}

#[test]
fn shuffle_keeps_the_current_track_and_permutes_the_rest() {
    let mut q = queue_of(50);
    q.start(0);
    let before = titles(&q);
    q.shuffle(&mut StdRng::seed_from_u64(7));
    assert_eq!(playing(&q).as_deref(), Some("Track 1"));
    let after = titles(&q);
    assert_ne!(
        after, before,
        "50 tracks should not shuffle into the same order"
    );
    let (mut a, mut b) = (after, before);
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn clear_keeps_the_current_track_and_stop_drops_everything() {
    let mut q = queue_of(3);
    q.start(0);
    assert_eq!(q.clear(), 2);
    assert_eq!(playing(&q).as_deref(), Some("Track 1"));
    assert_eq!(q.stop(), 1);
    assert!(q.is_empty());
    assert!(q.now_playing().is_none());
}

#[test]
fn start_only_when_idle() {
    let mut q = GuildQueue::new();
    assert!(!q.start(0));
    q.add(track(1), Position::End).unwrap();
    q.add(track(2), Position::End).unwrap();
    assert!(q.start(10));
    assert!(q.start(20));
    assert_eq!(playing(&q).as_deref(), Some("Track 1"));
    assert_eq!(q.now_playing().unwrap().started_at_ms, 10);
}

#[test]
fn advance_with_loop_off_moves_on_then_stops() {
    let mut q = queue_of(2);
    q.start(0);
    let t = q.advance(100).unwrap();
    assert_eq!(t.finished.title, "Track 1");
    assert!(t.playing);
    assert_eq!(playing(&q).as_deref(), Some("Track 2"));
    assert_eq!(q.now_playing().unwrap().started_at_ms, 100);
    let t = q.advance(200).unwrap();
    assert!(!t.playing);
    assert!(q.is_empty());
    assert_eq!(q.advance(300), Err(QueueError::NothingPlaying));
}

#[test]
fn advance_with_loop_track_replays_from_the_start() {
    let mut q = queue_of(2);
    q.set_loop(LoopMode::Track);
    q.start(0);
    q.seek(5_000, 10).unwrap();
    let t = q.advance(200_000).unwrap();
    assert_eq!(t.finished.title, "Track 1");
    let np = q.now_playing().unwrap();
    assert_eq!(np.track.title, "Track 1");
    assert_eq!((np.offset_ms, np.started_at_ms), (0, 200_000));
    assert_eq!(titles(&q), ["Track 2"]);
}

#[test]
fn advance_with_loop_queue_rotates() {
    let mut q = queue_of(3);
    q.set_loop(LoopMode::Queue);
    q.start(0);
    for expected in ["Track 2", "Track 3", "Track 1", "Track 2"] {
        q.advance(0).unwrap();
        assert_eq!(playing(&q).as_deref(), Some(expected));
        assert_eq!(q.len(), 3);
    }
}

#[test]
fn loop_queue_with_one_track_replays_it() {
    let mut q = queue_of(1);
    q.set_loop(LoopMode::Queue);
    q.start(0);
    assert!(q.advance(1).unwrap().playing);
    assert_eq!(playing(&q).as_deref(), Some("Track 1"));
}

#[test]
fn skip_ignores_track_loop() {
    let mut q = queue_of(2);
    q.set_loop(LoopMode::Track);
    q.start(0);
    let t = q.skip(5).unwrap();
    assert_eq!(t.finished.title, "Track 1");
    assert_eq!(playing(&q).as_deref(), Some("Track 2"));
    assert!(q.upcoming().is_empty());
}

#[test]
fn skip_under_queue_loop_keeps_the_track_at_the_back() {
    let mut q = queue_of(3);
    q.set_loop(LoopMode::Queue);
    q.start(0);
    q.skip(0).unwrap();
    assert_eq!(playing(&q).as_deref(), Some("Track 2"));
    assert_eq!(titles(&q), ["Track 3", "Track 1"]);
}

#[test]
fn skip_with_loop_off_drops_the_track() {
    let mut q = queue_of(1);
    q.start(0);
    let t = q.skip(0).unwrap();
    assert!(!t.playing);
    assert!(q.is_empty());
    assert_eq!(q.skip(0), Err(QueueError::NothingPlaying));
}

#[test]
fn position_advances_with_time_and_stops_at_the_end() {
    let mut q = queue_of(1);
    q.start(1_000);
    let np = q.now_playing().unwrap();
    assert_eq!(np.position_ms(1_000), 0);
    assert_eq!(np.position_ms(31_000), 30_000);
    assert_eq!(np.position_ms(10_000_000), 180_000);
    assert_eq!(
        np.position_ms(0),
        0,
        "a clock behind the start never underflows"
    );
}

#[test]
fn seek_sets_the_position_and_checks_the_length() {
    let mut q = queue_of(1);
    assert_eq!(q.seek(1, 0), Err(QueueError::NothingPlaying));
    q.start(0);
    q.seek(60_000, 5_000).unwrap();
    assert_eq!(q.now_playing().unwrap().position_ms(6_000), 61_000);
    assert_eq!(
        q.seek(180_001, 0),
        Err(QueueError::SeekBeyondEnd {
            requested_ms: 180_001,
            duration_ms: 180_000
        })
    );
    assert_eq!(q.now_playing().unwrap().position_ms(6_000), 61_000);
}

#[test]
fn seek_on_a_stream_of_unknown_length_is_allowed() {
    let key = TrackKey::new(Platform::Http, "https://radio.example/live").unwrap();
    let live = Track::new(
        key,
        "Live",
        "https://radio.example/live",
        UserId::new(1).unwrap(),
    )
    .unwrap();
    let mut q = GuildQueue::new();
    q.add(live, Position::End).unwrap();
    q.start(0);
    q.seek(10_000_000, 0).unwrap();
}

#[test]
fn pause_freezes_the_position_and_resume_continues() {
    let mut q = queue_of(1);
    assert_eq!(q.pause(0), Err(QueueError::NothingPlaying));
    q.start(0);
    assert_eq!(q.resume(0), Err(QueueError::NotPaused));
    q.pause(10_000).unwrap();
    assert_eq!(q.pause(10_001), Err(QueueError::AlreadyPaused));
    let np = q.now_playing().unwrap();
    assert!(np.paused);
    assert_eq!(np.position_ms(99_000), 10_000);
    q.resume(50_000).unwrap();
    assert_eq!(q.now_playing().unwrap().position_ms(55_000), 15_000);
}

#[test]
fn seek_while_paused_stays_paused_at_the_new_position() {
    let mut q = queue_of(1);
    q.start(0);
    q.pause(1_000).unwrap();
    q.seek(20_000, 2_000).unwrap();
    let np = q.now_playing().unwrap();
    assert!(np.paused);
    assert_eq!(np.position_ms(90_000), 20_000);
}

#[test]
fn volume_is_bounded_0_to_200() {
    assert_eq!(Volume::parse(0).unwrap().percent(), 0);
    assert_eq!(Volume::parse(200).unwrap().percent(), 200);
    assert_eq!(
        Volume::parse(201),
        Err(QueueError::VolumeOutOfRange { got: 201, max: 200 })
    );
    assert!(Volume::parse(u32::MAX).is_err());
    assert_eq!(Volume::default().gain(), 1.0);
    let mut q = GuildQueue::new();
    q.set_volume(Volume::parse(150).unwrap());
    assert_eq!(q.volume().percent(), 150);
    assert!(serde_json::from_str::<Volume>("201").is_err());
}

#[test]
fn pages_are_one_based_and_bounded() {
    let q = queue_of(25);
    let (p1, pages) = q.page(1, 10);
    assert_eq!((p1.len(), pages), (10, 3));
    assert_eq!(p1[0].title, "Track 1");
    let (p3, _) = q.page(3, 10);
    assert_eq!(p3.len(), 5);
    assert!(q.page(4, 10).0.is_empty());
    assert_eq!(q.page(0, 10).0[0].title, "Track 1");
    assert_eq!(GuildQueue::new().page(1, 10).1, 1);
}

#[test]
fn serde_round_trip_keeps_everything() {
    let mut q = queue_of(3);
    q.set_loop(LoopMode::Queue);
    q.set_volume(Volume::parse(80).unwrap());
    q.start(5);
    q.pause(9).unwrap();
    let json = serde_json::to_string(&q).unwrap();
    assert!(json.contains("\"loop\":\"queue\""), "{json}");
    assert_eq!(serde_json::from_str::<GuildQueue>(&json).unwrap(), q);
}
