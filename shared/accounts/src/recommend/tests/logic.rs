//! The engine's plain logic: keys, seeds, taking turns, the history fallback, notes.

use super::*;
use crate::recommend::pick::interleave;
use timmybot_domain::track::TEXT_MAX;

#[test]
fn normalise_folds_what_youtube_adds() {
    assert_eq!(normalise("Adele", "Hello"), "adele - hello");
    assert_eq!(
        normalise("  ADELE ", "  Hello   (Official Music Video) "),
        "adele - hello"
    );
    assert_eq!(
        normalise("AdeleVEVO", "Adele - Hello [Official Video]"),
        "adele - hello"
    );
    assert_eq!(normalise("Adele - Topic", "Hello"), "adele - hello");
    assert_eq!(normalise("", "Adele – Hello (Lyrics)"), "adele - hello");
    assert_eq!(
        normalise("Adele", "Hello - Official Audio"),
        "adele - hello"
    );
    assert_eq!(normalise("Adele", "Hello | Lyric Video"), "adele - hello");
    assert_eq!(
        normalise("Queen", "Bohemian Rhapsody (Remastered 2011) [HD]"),
        "queen - bohemian rhapsody"
    );
    assert_eq!(
        normalise("Drake feat. Rihanna", "Take Care (feat. Rihanna)"),
        "drake - take care"
    );
    assert_eq!(
        normalise("Calvin Harris", "Summer ft. Someone"),
        "calvin harris - summer"
    );
    assert_eq!(normalise("A", "Don’t Stop"), normalise("a", "Don't Stop"));
    // A different recording is a different song.
    assert_eq!(
        normalise("Adele", "Hello (Live at the BBC)"),
        "adele - hello (live at the bbc)"
    );
    assert_eq!(
        normalise("Muse", "Uprising - Remix"),
        "muse - uprising - remix"
    );
    // Packaging alone is not stripped to nothing.
    assert_eq!(normalise("X", "(Official Video)"), "x - (official video)");
    assert_eq!(normalise("", ""), " - ");
}

#[test]
fn lookup_names_drop_channel_decorations() {
    let name = |artist: Option<&str>, title: &str| lookup_artist(&seed(title, artist, None));
    assert_eq!(name(Some("AdeleVEVO"), "Hello").as_deref(), Some("Adele"));
    assert_eq!(
        name(Some("Adele - Topic"), "Hello").as_deref(),
        Some("Adele")
    );
    assert_eq!(
        name(Some(" Radiohead "), "Creep").as_deref(),
        Some("Radiohead")
    );
    assert_eq!(
        name(None, "Radiohead - Creep").as_deref(),
        Some("Radiohead")
    );
    assert_eq!(
        name(Some("  "), "Radiohead - Creep").as_deref(),
        Some("Radiohead")
    );
    assert_eq!(name(None, "Creep"), None);
    assert_eq!(name(Some("VEVO"), "x").as_deref(), Some("VEVO"));
}

#[test]
fn seeds_are_bounded_and_one_per_artist() {
    let seeds = [
        seed("Hello", Some("Adele"), None),
        seed("Skyfall", Some("AdeleVEVO"), None),
        seed("Untitled", None, None),
        seed("Creep", Some("Radiohead"), None),
        seed("Roads", Some("Portishead"), None),
        seed("Teardrop", Some("Massive Attack"), None),
    ];
    let asked: Vec<_> = prepare(&seeds).iter().map(|a| a.title).collect();
    assert_eq!(asked, ["Hello", "Creep", "Roads"]);
    assert_eq!(asked.len(), SEEDS_MAX);
}

#[test]
fn interleave_takes_turns() {
    assert_eq!(
        interleave(vec![vec![1, 2, 3], vec![10], vec![], vec![20, 21]]),
        [1, 10, 20, 2, 21, 3]
    );
    assert!(interleave::<u8>(vec![]).is_empty());
}

fn suggestion(artist: &str, title: &str, because: &str) -> Suggestion {
    Suggestion {
        title: title.into(),
        artist: artist.into(),
        query: format!("{artist} - {title}"),
        because: because.into(),
    }
}

#[test]
fn pick_filters_before_taking_turns_and_dedupes() {
    let lists = vec![
        vec![
            suggestion("A", "1", "s1"),
            suggestion("A", "2", "s1"),
            suggestion("A", "3", "s1"),
        ],
        vec![
            suggestion("B", "1", "s2"),
            suggestion("a", "2 (Official Video)", "s2"),
            suggestion("B", "2", "s2"),
        ],
    ];
    let taken: HashSet<String> = [normalise("A", "1"), normalise("B", "1")]
        .into_iter()
        .collect();
    let got: Vec<_> = pick(lists.clone(), &taken, 10)
        .into_iter()
        .map(|s| s.query)
        .collect();
    // Each seed's first eligible track comes first; "a - 2" is the same song as "A - 2".
    assert_eq!(got, ["A - 2", "A - 3", "B - 2"]);
    assert_eq!(pick(lists, &taken, 2).len(), 2);
}

#[test]
fn history_prefers_the_seeds_artists_then_the_rest_without_repeats() {
    let artists = vec![("adele".to_owned(), "Hello".to_owned())];
    let taken: HashSet<String> = [
        normalise("Adele", "Hello"),
        normalise("Amy Winehouse", "Rehab"),
    ]
    .into_iter()
    .collect();
    let got = from_history(&history(), &artists, "Hello", &taken, 10);
    let titles: Vec<_> = got.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Skyfall (Official Video)",
            "Someone Like You",
            "Teardrop",
            "Glory Box"
        ]
    );
    assert_eq!(got[0].query, "https://www.youtube.com/watch?v=8");
    assert!(got.iter().all(|s| s.because == "Hello"));
    assert_eq!(
        from_history(&history(), &artists, "Hello", &taken, 1).len(),
        1
    );
    assert_eq!(
        from_history(&history(), &[], "", &taken, 2)[0].title,
        "Teardrop"
    );
    let mut blank = play(1, "x", None);
    blank.source = " ".into();
    assert!(from_history(&[blank], &[], "", &HashSet::new(), 1).is_empty());
}

#[test]
fn notes_say_where_suggestions_came_from() {
    let e = ServiceError::Http(HttpError::Unreachable("timed out".into()));
    assert_eq!(
        Reason::from_error(Service::ListenBrainz, &e).to_string(),
        "ListenBrainz did not answer in time"
    );
    let e = ServiceError::Http(HttpError::Status(503));
    assert_eq!(
        Reason::from_error(Service::MusicBrainz, &e).to_string(),
        "MusicBrainz is unavailable right now"
    );
    let e = ServiceError::TooLate(limiter::TooLate);
    assert_eq!(
        Reason::from_error(Service::ListenBrainz, &e).to_string(),
        "ListenBrainz is rate limiting us right now"
    );
}

#[test]
fn service_text_is_cleaned_and_bounded() {
    assert_eq!(clean_text("  a\n b\tc "), Some("a b c".into()));
    assert_eq!(clean_text(" \n "), None);
    assert_eq!(
        clean_text(&"é".repeat(400)).map(|s| s.chars().count()),
        Some(TEXT_MAX)
    );
}

#[test]
fn the_engine_can_be_shared_and_its_future_sent() {
    fn shared<T: Send + Sync>(_: &T) {}
    fn sent<T: Send>(_: T) {}
    let rec = Recommender::new(http::client(), "http://127.0.0.1:9", "http://127.0.0.1:9");
    shared(&rec);
    sent(rec.suggest(&[], &[], &HashSet::new(), 1, Duration::ZERO));
}
