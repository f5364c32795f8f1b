//! The engine against local MusicBrainz and ListenBrainz servers: the order of look-ups,
//! the fallbacks, the rate limit, the cache and the User-Agent.

use super::*;

#[tokio::test]
async fn the_isrc_is_asked_before_the_name() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let got = rec.suggest(&[hello()], &[], &HashSet::new(), 3, LONG).await;

    // The ISRC named the artist, so the name ("Some Uploader") was never searched for.
    let asked: Vec<_> = mb.hits().iter().map(|h| h.path.clone()).collect();
    assert_eq!(asked, ["/ws/2/isrc/GBBKS1500214"]);
    assert_eq!(mb.hits()[0].q("inc"), "artist-credits");
    assert_eq!(mb.hits()[0].q("fmt"), "json");
    assert_eq!(lb.hits().len(), 1);
    assert_eq!(lb.hits()[0].q("prompt"), "artist:(Adele)");
    assert_eq!(got.origin, Origin::ListenBrainz);
    // LB Radio's "Adele - Hello" is the seed as MusicBrainz names it: never suggested.
    assert_eq!(titles(&got), ["Rehab", "Mercy", "Stay With Me"]);
}

#[tokio::test]
async fn an_unknown_isrc_falls_back_to_the_name() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let seeds = [seed(
        "Hello (Official Music Video)",
        Some("AdeleVEVO"),
        Some("USUM71703861"),
    )];
    let got = rec.suggest(&seeds, &[], &HashSet::new(), 2, LONG).await;

    let hits = mb.hits();
    let asked: Vec<_> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(asked, ["/ws/2/isrc/USUM71703861", "/ws/2/artist"]);
    // The channel decoration is gone before the search.
    assert_eq!(hits[1].q("query"), "artist:\"Adele\"");
    assert_eq!(hits[1].q("limit"), "1");
    assert_eq!(got.origin, Origin::ListenBrainz);
    assert_eq!(titles(&got), ["Rehab", "Mercy"]);
}

#[tokio::test]
async fn radio_answers_become_suggestions_interleaved_across_seeds() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let seeds = [hello(), seed("Creep", Some("Radiohead"), None)];
    let got = rec.suggest(&seeds, &[], &HashSet::new(), 4, LONG).await;

    assert_eq!(got.origin, Origin::ListenBrainz);
    assert_eq!(got.note, None);
    let want = [
        ("Rehab", "Amy Winehouse", "Amy Winehouse - Rehab", "Hello"),
        ("Uprising", "Muse", "Muse - Uprising", "Creep"),
        ("Mercy", "Duffy", "Duffy - Mercy", "Hello"),
        ("Roads", "Portishead", "Portishead - Roads", "Creep"),
    ];
    let items: Vec<_> = got
        .items
        .iter()
        .map(|i| {
            (
                i.title.as_str(),
                i.artist.as_str(),
                i.query.as_str(),
                i.because.as_str(),
            )
        })
        .collect();
    assert_eq!(items, want);
    assert_eq!(lb.hits().len(), 2);
}

#[tokio::test]
async fn excluded_tracks_and_seeds_never_appear() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let exclude: HashSet<String> = [
        normalise("Amy Winehouse", "Rehab (Official Video)"),
        normalise("", "Duffy - Mercy"),
        normalise("Massive Attack", "Teardrop"),
    ]
    .into_iter()
    .collect();
    // More than ListenBrainz has left, so history tops it up: the filter holds there too.
    let got = rec
        .suggest(&[hello()], &history(), &exclude, 10, LONG)
        .await;

    let got_keys = keys(&got);
    for key in &got_keys {
        assert!(!exclude.contains(key), "{key} was excluded");
        assert_ne!(key, "adele - hello", "the seed was suggested");
    }
    let unique: HashSet<_> = got_keys.iter().collect();
    assert_eq!(unique.len(), got_keys.len(), "duplicates in {got_keys:?}");
    assert_eq!(got.origin, Origin::ListenBrainz);
    assert_eq!(
        titles(&got),
        ["Stay With Me", "Skyfall", "Someone Like You", "Glory Box"],
        "ListenBrainz's first, then history's by the seed's artist, then the rest"
    );
    let note = got.note.unwrap();
    assert!(
        note.contains("2 of these come from this server's history"),
        "{note}"
    );
}

/// What each ListenBrainz failure must give: history's picks, the seed's artist first.
fn assert_history_fallback(got: &Suggestions, reason: &str) {
    assert_eq!(got.origin, Origin::History);
    assert_eq!(
        titles(got),
        ["Skyfall (Official Video)", "Someone Like You", "Teardrop"]
    );
    assert_eq!(got.items[0].query, "https://www.youtube.com/watch?v=8");
    assert_eq!(got.items[0].because, "Hello");
    let note = got.note.as_deref().unwrap_or_default();
    assert!(note.contains(reason), "{note}");
    assert!(note.contains("from this server's history"), "{note}");
}

fn exclude_rehab() -> HashSet<String> {
    [normalise("Amy Winehouse", "Rehab")].into_iter().collect()
}

#[tokio::test]
async fn listenbrainz_answering_503_falls_back_to_history() {
    let mb = Stand::start(musicbrainz).await;
    let lb = Stand::start(|_| Some((503, json!({"error": "busy"})))).await;
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let got = rec
        .suggest(&[hello()], &history(), &exclude_rehab(), 3, LONG)
        .await;
    assert_eq!(lb.hits().len(), 1);
    assert_history_fallback(&got, "ListenBrainz is unavailable right now");
}

#[tokio::test]
async fn listenbrainz_rate_limiting_falls_back_to_history() {
    let mb = Stand::start(musicbrainz).await;
    let lb = Stand::start(|_| Some((429, json!({"error": "slow down"})))).await;
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let got = rec
        .suggest(&[hello()], &history(), &exclude_rehab(), 3, LONG)
        .await;
    assert_history_fallback(&got, "ListenBrainz is rate limiting us");
    // It said "Retry-After: 30": the next suggest does not ask it at all.
    let again = rec
        .suggest(
            &[seed("Creep", Some("Radiohead"), None)],
            &history(),
            &exclude_rehab(),
            3,
            LONG,
        )
        .await;
    assert_eq!(again.origin, Origin::History);
    assert_eq!(lb.hits().len(), 1);
}

#[tokio::test]
async fn listenbrainz_that_never_answers_falls_back_within_the_deadline() {
    let mb = Stand::start(musicbrainz).await;
    let lb = Stand::start(|_| None).await;
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let deadline = Duration::from_millis(800);
    let start = std::time::Instant::now();
    let got = rec
        .suggest(&[hello()], &history(), &exclude_rehab(), 3, deadline)
        .await;
    let took = start.elapsed();
    assert!(
        took < deadline + Duration::from_millis(500),
        "took {took:?}"
    );
    assert_eq!(
        lb.hits().len(),
        1,
        "the radio request was made and left hanging"
    );
    assert_history_fallback(&got, "ListenBrainz did not answer in time");
}

#[tokio::test]
async fn listenbrainz_on_a_closed_port_falls_back_to_history() {
    let mb = Stand::start(musicbrainz).await;
    let rec = Recommender::new(http::client(), &mb.base, &closed_port());
    let got = rec
        .suggest(&[hello()], &history(), &exclude_rehab(), 3, LONG)
        .await;
    assert_history_fallback(&got, "ListenBrainz is unavailable right now");
}

#[tokio::test]
async fn musicbrainz_down_still_asks_listenbrainz_by_the_name_we_have() {
    let lb = Stand::start(listenbrainz).await;
    let rec = Recommender::new(http::client(), &closed_port(), &lb.base);
    let got = rec
        .suggest(
            &[seed("Creep", Some("Radiohead"), None)],
            &[],
            &HashSet::new(),
            2,
            LONG,
        )
        .await;
    assert_eq!(got.origin, Origin::ListenBrainz);
    assert_eq!(titles(&got), ["Uprising", "Roads"]);
}

#[tokio::test]
async fn musicbrainz_requests_are_at_least_a_second_apart_across_the_process() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    // Two engines on the same service, asking at once: one budget between them.
    let one = Recommender::new(http::client(), &mb.base, &lb.base);
    let two = Recommender::new(http::client(), &mb.base, &lb.base);
    let first = [
        seed("Hello", Some("Adele"), None),
        seed("Creep", Some("Radiohead"), None),
    ];
    let second = [
        seed("Teardrop", Some("Massive Attack"), None),
        seed("Roads", Some("Portishead"), None),
    ];
    let (deadline, none) = (Duration::from_secs(20), HashSet::new());
    let (a, b) = tokio::join!(
        one.suggest(&first, &[], &none, 20, deadline),
        two.suggest(&second, &[], &none, 20, deadline),
    );
    assert_eq!(
        (a.origin, b.origin),
        (Origin::ListenBrainz, Origin::ListenBrainz)
    );

    for stand in [&mb, &lb] {
        let mut at: Vec<_> = stand.hits().iter().map(|h| h.at).collect();
        assert_eq!(at.len(), 4);
        at.sort();
        for pair in at.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_secs(1), "two requests {gap:?} apart");
        }
    }
}

#[tokio::test]
async fn a_request_that_would_wait_past_the_deadline_is_not_made() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let first = rec.suggest(&[hello()], &[], &HashSet::new(), 1, LONG).await;
    assert_eq!(first.origin, Origin::ListenBrainz);
    // Both services were just asked: their next turn is a second away, past 300 ms.
    let seeds = [seed("Creep", Some("Radiohead"), None)];
    let got = rec
        .suggest(
            &seeds,
            &history(),
            &HashSet::new(),
            1,
            Duration::from_millis(300),
        )
        .await;
    assert_eq!((mb.hits().len(), lb.hits().len()), (1, 1));
    assert_eq!(got.origin, Origin::History);
    let note = got.note.unwrap_or_default();
    assert!(note.contains("rate limiting us"), "{note}");
}

#[tokio::test]
async fn a_second_identical_suggest_is_served_from_the_cache() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let seeds = [hello(), seed("Creep", Some("Radiohead"), None)];
    let first = rec.suggest(&seeds, &[], &HashSet::new(), 4, LONG).await;
    let asked = (mb.hits().len(), lb.hits().len());
    assert_eq!(asked, (2, 2));
    // Another engine on the same bases shares the cache too.
    let other = Recommender::new(http::client(), &mb.base, &lb.base);
    for rec in [&rec, &other] {
        let again = rec
            .suggest(&seeds, &[], &HashSet::new(), 4, Duration::from_millis(200))
            .await;
        assert_eq!(again, first);
    }
    assert_eq!((mb.hits().len(), lb.hits().len()), asked);
}

#[tokio::test]
async fn a_descriptive_user_agent_is_sent() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    rec.suggest(
        &[seed("Creep", Some("Radiohead"), None)],
        &[],
        &HashSet::new(),
        1,
        LONG,
    )
    .await;
    let hits: Vec<_> = mb.hits().into_iter().chain(lb.hits()).collect();
    assert_eq!(hits.len(), 2);
    for hit in hits {
        let agent = hit.user_agent.unwrap_or_default();
        assert_eq!(agent, http::USER_AGENT);
        assert!(
            agent.starts_with("TimmyBot/") && agent.contains("https://"),
            "{agent}"
        );
    }
}

#[tokio::test]
async fn no_seeds_and_want_zero_ask_nobody() {
    let (mb, lb) = (
        Stand::start(musicbrainz).await,
        Stand::start(listenbrainz).await,
    );
    let rec = Recommender::new(http::client(), &mb.base, &lb.base);
    let none = rec.suggest(&[], &history(), &HashSet::new(), 2, LONG).await;
    assert_eq!(none.origin, Origin::History);
    assert_eq!(titles(&none), ["Teardrop", "Skyfall (Official Video)"]);
    assert!(none.note.unwrap_or_default().contains("no recent plays"));
    let zero = rec
        .suggest(&[hello()], &history(), &HashSet::new(), 0, LONG)
        .await;
    assert!(zero.items.is_empty());
    assert_eq!((mb.hits().len(), lb.hits().len()), (0, 0));
}

// --- the plain logic ---
