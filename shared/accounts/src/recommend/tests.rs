//! The engine against local stand-ins of MusicBrainz and ListenBrainz answering the documented
//! shapes, and its plain logic on its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use timmybot_domain::{GuildId, Platform, TrackKey, UserId};

use super::*;

#[derive(Debug, Clone)]
struct Hit {
    at: std::time::Instant,
    path: String,
    query: HashMap<String, String>,
    user_agent: Option<String>,
}

impl Hit {
    fn q(&self, key: &str) -> &str {
        self.query.get(key).map_or("", String::as_str)
    }
}

/// `None`: the stand-in takes the request and never answers.
type Answer = dyn Fn(&Hit) -> Option<(u16, Value)> + Send + Sync;

/// Each stand-in's base has its own path prefix: limits and caches are per base URL for the
/// whole process, so a port the OS hands out again must not inherit an earlier test's cache.
static STANDS: AtomicUsize = AtomicUsize::new(0);

fn unique_prefix() -> String {
    format!("/stand{}", STANDS.fetch_add(1, Ordering::SeqCst))
}

struct Stand {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Stand {
    async fn start(answer: impl Fn(&Hit) -> Option<(u16, Value)> + Send + Sync + 'static) -> Self {
        let answer: Arc<Answer> = Arc::new(answer);
        let hits = Arc::new(Mutex::new(Vec::new()));
        let prefix = unique_prefix();
        let (seen, strip) = (hits.clone(), prefix.clone());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (answer, seen, strip) = (answer.clone(), seen.clone(), strip.clone());
            async move {
                let hit = Hit {
                    at: std::time::Instant::now(),
                    path: uri
                        .path()
                        .strip_prefix(strip.as_str())
                        .unwrap_or(uri.path())
                        .to_owned(),
                    query: url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect(),
                    user_agent: headers
                        .get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                };
                let reply = answer(&hit);
                seen.lock().unwrap().push(hit);
                match reply {
                    Some((status, body)) => {
                        let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(body))
                            .into_response();
                        if status == 429 {
                            resp.headers_mut()
                                .insert("retry-after", "30".parse().unwrap());
                        }
                        resp
                    }
                    None => std::future::pending::<Response>().await,
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}{prefix}"),
            hits,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// A base where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{}", unique_prefix())
}

/// MusicBrainz as documented: one known ISRC, a few known artists, 404 otherwise.
fn musicbrainz(hit: &Hit) -> Option<(u16, Value)> {
    const KNOWN: &[&str] = &["Adele", "Radiohead", "Massive Attack", "Portishead"];
    if let Some(isrc) = hit.path.strip_prefix("/ws/2/isrc/") {
        return Some(match isrc {
            "GBBKS1500214" => (
                200,
                json!({"isrc": isrc, "recordings": [{"id": "r1", "title": "Hello",
                    "artist-credit": [{"name": "Adele", "artist": {"id": "a1", "name": "Adele"}}]}]}),
            ),
            _ => (404, json!({"error": "Not Found"})),
        });
    }
    if hit.path == "/ws/2/artist" {
        let name = hit
            .q("query")
            .strip_prefix("artist:\"")
            .and_then(|q| q.strip_suffix('"'))
            .map(|q| q.replace('\\', ""))
            .unwrap_or_default();
        let artists = match KNOWN.iter().find(|k| **k == name) {
            Some(k) => json!([{"id": "a", "name": k, "score": 100}]),
            None => json!([{"id": "b", "name": "Somebody Else", "score": 42}]),
        };
        return Some((200, json!({"artists": artists})));
    }
    Some((404, json!({"error": "Not Found"})))
}

/// LB Radio as documented, for the artists above.
fn listenbrainz(hit: &Hit) -> Option<(u16, Value)> {
    let tracks: &[(&str, &str)] = match (hit.path.as_str(), hit.q("prompt"), hit.q("mode")) {
        ("/1/explore/lb-radio", "artist:(Adele)", "easy") => &[
            ("Adele", "Hello"),
            ("Amy Winehouse", "Rehab"),
            ("Duffy", "Mercy"),
            ("Sam Smith", "Stay With Me"),
            ("Adele", "Skyfall"),
        ],
        ("/1/explore/lb-radio", "artist:(Radiohead)", "easy") => &[
            ("Radiohead", "Creep"),
            ("Muse", "Uprising"),
            ("Portishead", "Roads"),
        ],
        ("/1/explore/lb-radio", "artist:(Massive Attack)", "easy") => {
            &[("Massive Attack", "Teardrop"), ("Tricky", "Overcome")]
        }
        ("/1/explore/lb-radio", "artist:(Portishead)", "easy") => {
            &[("Portishead", "Glory Box"), ("Björk", "Army of Me")]
        }
        _ => return Some((400, json!({"code": 400, "error": "unknown artist"}))),
    };
    let track: Vec<Value> = tracks
        .iter()
        .map(|(creator, title)| {
            json!({"title": title, "creator": creator, "duration": 210000,
                "identifier": ["https://musicbrainz.org/recording/8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"]})
        })
        .collect();
    Some((
        200,
        json!({"payload": {"jspf": {"playlist": {"track": track}}}}),
    ))
}

fn seed(title: &str, artist: Option<&str>, isrc: Option<&str>) -> Seed {
    Seed {
        title: title.into(),
        artist: artist.map(Into::into),
        isrc: isrc.map(Into::into),
    }
}

fn hello() -> Seed {
    seed("Hello", Some("Some Uploader"), Some("GBBKS1500214"))
}

fn play(at_ms: u64, title: &str, artist: Option<&str>) -> HistoryEntry {
    let source = format!("https://www.youtube.com/watch?v={at_ms}");
    HistoryEntry {
        guild_id: GuildId::new(1).unwrap(),
        played_at_ms: at_ms,
        track_key: TrackKey::new(Platform::Youtube, &at_ms.to_string()).unwrap(),
        requester: UserId::new(2).unwrap(),
        title: title.into(),
        artist: artist.map(Into::into),
        source,
    }
}

/// Newest first: a repeat, the seed itself, an excluded track and a duplicate among them.
fn history() -> Vec<HistoryEntry> {
    vec![
        play(9, "Teardrop", Some("Massive Attack")),
        play(8, "Skyfall (Official Video)", Some("AdeleVEVO")),
        play(7, "Hello", Some("Adele")),
        play(6, "Amy Winehouse - Rehab", None),
        play(5, "Skyfall", Some("Adele")),
        play(4, "Someone Like You", Some("Adele - Topic")),
        play(3, "Glory Box", Some("Portishead")),
    ]
}

fn titles(s: &Suggestions) -> Vec<&str> {
    s.items.iter().map(|i| i.title.as_str()).collect()
}

fn keys(s: &Suggestions) -> Vec<String> {
    s.items
        .iter()
        .map(|i| normalise(&i.artist, &i.title))
        .collect()
}

const LONG: Duration = Duration::from_secs(10);

// --- against the stand-ins ---

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
