//! Recommendations from open services, with our own history as the floor.
//!
//! Spotify's Recommendations and Related Artists are closed to new apps and YouTube's API has
//! no related videos, so: each seed's artist is resolved through MusicBrainz (by ISRC when the
//! track carries one, then by name) to the name ListenBrainz knows, and ListenBrainz's LB Radio
//! suggests recordings by that artist and similar ones. When either service fails, is slow or
//! rate limits us, the suggestions come from the plays we stored ourselves, and the answer
//! says so. `/recommendations` and autoplay share this one engine.
//!
//! Both services ask for at most one request a second and a descriptive User-Agent
//! ([`crate::http::client`] sets it): every request waits its turn on a limiter shared by the
//! whole process, a request that could not be made before the caller's deadline is not made,
//! and what they answer is cached (artists for a day, radio for an hour).

pub(crate) mod limiter;
mod listenbrainz;
mod musicbrainz;
mod names;
mod pick;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use timmybot_domain::HistoryEntry;
use tokio::time::Instant;

use crate::http::{self, HttpError};
use limiter::{Limiter, TooLate};
use listenbrainz::ListenBrainz;
use musicbrainz::MusicBrainz;
pub use names::normalise;
use names::{artist_key, clean_text, fold, key_parts, lookup_artist};
use pick::{enough, from_history, pick};

/// Seeds asked about per call, newest first: each costs up to a MusicBrainz and a
/// ListenBrainz request, a second apart.
pub const SEEDS_MAX: usize = 3;
/// How long a service that said "slow down" without a `Retry-After` is left alone.
const BACK_OFF_DEFAULT: Duration = Duration::from_secs(5);

/// A track to suggest from: a recent play, or a Spotify top track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    pub title: String,
    pub artist: Option<String>,
    pub isrc: Option<String>,
}

impl From<&HistoryEntry> for Seed {
    /// A past play as a seed (our history keeps no ISRC).
    fn from(play: &HistoryEntry) -> Self {
        Self {
            title: play.title.clone(),
            artist: play.artist.clone(),
            isrc: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub title: String,
    pub artist: String,
    /// What `/play` takes: "Artist - Title" for a yt-dlp search, or a history entry's `source`.
    pub query: String,
    /// The title of the seed this came from ("because you played …").
    pub because: String,
}

/// Where the suggestions came from, for the reply to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    ListenBrainz,
    History,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestions {
    pub items: Vec<Suggestion>,
    pub origin: Origin,
    /// Why some or all of them come from history, in words for the user.
    pub note: Option<String>,
}

/// The engine. Cheap to build: the rate limits and caches belong to each service's base URL
/// and are shared by every `Recommender` in the process.
#[derive(Debug)]
pub struct Recommender {
    musicbrainz: MusicBrainz,
    listenbrainz: ListenBrainz,
}

impl Recommender {
    /// `http` should be [`crate::http::client`] (it sends the User-Agent both services
    /// require); the bases have no trailing slash (`MUSICBRAINZ_URL`, `LISTENBRAINZ_URL`).
    pub fn new(http: reqwest::Client, musicbrainz_base: &str, listenbrainz_base: &str) -> Self {
        Self {
            musicbrainz: MusicBrainz::new(http.clone(), musicbrainz_base),
            listenbrainz: ListenBrainz::new(http, listenbrainz_base),
        }
    }

    /// Suggestions for `seeds` (newest first), never one whose normalised "artist - title" key
    /// is in `exclude`, nor a seed itself; at most `want`. Returns within `deadline`: when
    /// MusicBrainz or ListenBrainz fail, time out or are rate limited, the suggestions come from
    /// `history` (the guild's or user's own plays, newest first; the caller bounds it), the
    /// seeds' artists first, and `note` says why.
    pub async fn suggest(
        &self,
        seeds: &[Seed],
        history: &[HistoryEntry],
        exclude: &HashSet<String>,
        want: usize,
        deadline: Duration,
    ) -> Suggestions {
        let deadline = Instant::now() + deadline;
        let mut taken: HashSet<String> = exclude.clone();
        taken.extend(
            seeds
                .iter()
                .map(|s| normalise(s.artist.as_deref().unwrap_or(""), &s.title)),
        );
        if want == 0 {
            return Suggestions {
                items: Vec::new(),
                origin: Origin::ListenBrainz,
                note: None,
            };
        }

        let asked = prepare(seeds);
        let mut got = Gathered::default();
        if !asked.is_empty() {
            let gather = self.gather(&asked, &mut taken, want, deadline, &mut got);
            if tokio::time::timeout_at(deadline, gather).await.is_err() {
                let service = got.waiting_on.unwrap_or(Service::ListenBrainz);
                got.trouble.get_or_insert(Reason::Slow(service));
            }
        }

        let mut items = pick(got.lists, &taken, want);
        if items.len() >= want {
            return Suggestions {
                items,
                origin: Origin::ListenBrainz,
                note: None,
            };
        }

        // Not enough from ListenBrainz: the rest (or all) from our own plays.
        let reason = match got.trouble {
            Some(r) => r,
            None if asked.is_empty() => Reason::NoSeeds,
            None => Reason::Nothing,
        };
        tracing::debug!(%reason, from_listenbrainz = items.len(), "suggesting from history");
        taken.extend(items.iter().map(|s| normalise(&s.artist, &s.title)));
        let mut artists: Vec<(String, String)> = seeds
            .iter()
            .map(|s| {
                (
                    key_parts(s.artist.as_deref().unwrap_or(""), &s.title).0,
                    s.title.clone(),
                )
            })
            .collect();
        artists.extend(got.resolved);
        artists.retain(|(artist, _)| !artist.is_empty());
        let newest = seeds.first().map(|s| s.title.as_str()).unwrap_or_default();
        let extra = from_history(history, &artists, newest, &taken, want - items.len());

        if items.is_empty() {
            let note = if extra.is_empty() {
                format!("{reason}, and this server's history has nothing new to suggest yet")
            } else {
                format!("{reason}, so these come from this server's history")
            };
            return Suggestions {
                items: extra,
                origin: Origin::History,
                note: Some(note),
            };
        }
        let note = (!extra.is_empty()).then(|| {
            let n = extra.len();
            let these = if n == 1 {
                "one of these comes".to_owned()
            } else {
                format!("{n} of these come")
            };
            format!("{reason}, so {these} from this server's history")
        });
        items.extend(extra);
        Suggestions {
            items,
            origin: Origin::ListenBrainz,
            note,
        }
    }

    /// Asks the services about each seed in turn, writing into `got` as answers arrive so a
    /// deadline that cuts this short keeps what came back before it.
    async fn gather(
        &self,
        seeds: &[Asked<'_>],
        taken: &mut HashSet<String>,
        want: usize,
        deadline: Instant,
        got: &mut Gathered,
    ) {
        let mut radioed = HashSet::new();
        for seed in seeds {
            got.waiting_on = Some(Service::MusicBrainz);
            let resolved = self
                .musicbrainz
                .resolve(seed.isrc, seed.artist.as_deref(), deadline)
                .await;
            let artist = match resolved {
                Ok(Some(name)) => name,
                // MusicBrainz does not know it, so ListenBrainz (built on its data) will not.
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "MusicBrainz could not resolve a seed's artist");
                    got.note(Service::MusicBrainz, &e);
                    // Down is not "unknown": LB Radio may still know the name as we have it.
                    match &seed.artist {
                        Some(name) => name.clone(),
                        None => continue,
                    }
                }
            };
            // The seed as MusicBrainz names it is the seed too ("Hello" by "Some Uploader" is
            // LB Radio's "Hello" by "Adele").
            taken.insert(normalise(&artist, seed.title));
            got.resolved
                .push((artist_key(&artist), seed.title.to_owned()));
            if !radioed.insert(fold(&artist)) {
                continue;
            }
            got.waiting_on = Some(Service::ListenBrainz);
            match self.listenbrainz.radio(&artist, deadline).await {
                Ok(tracks) => got.lists.push(
                    tracks
                        .iter()
                        .map(|t| Suggestion {
                            query: format!("{} - {}", t.artist, t.title),
                            title: t.title.clone(),
                            artist: t.artist.clone(),
                            because: seed.title.to_owned(),
                        })
                        .collect(),
                ),
                Err(e) => {
                    tracing::debug!(error = %e, "ListenBrainz radio failed");
                    got.note(Service::ListenBrainz, &e);
                    // Down, or no room before the deadline: the next seed would fare no better.
                    break;
                }
            }
            got.waiting_on = None;
            if enough(&got.lists, taken, want, seeds.len()) {
                break;
            }
        }
    }
}

/// A seed as it is asked about: the artist name worth looking up, if any.
struct Asked<'a> {
    title: &'a str,
    isrc: Option<&'a str>,
    artist: Option<String>,
}

/// The newest [`SEEDS_MAX`] seeds with something to look up, one per artist.
fn prepare(seeds: &[Seed]) -> Vec<Asked<'_>> {
    let mut artists = HashSet::new();
    let mut out = Vec::new();
    for seed in seeds {
        let artist = lookup_artist(seed);
        let isrc = seed
            .isrc
            .as_deref()
            .filter(|i| musicbrainz::valid_isrc(i).is_some());
        if artist.is_none() && isrc.is_none() {
            continue;
        }
        if let Some(a) = &artist {
            if !artists.insert(fold(a)) && isrc.is_none() {
                continue;
            }
        }
        out.push(Asked {
            title: &seed.title,
            isrc,
            artist,
        });
        if out.len() == SEEDS_MAX {
            break;
        }
    }
    out
}

/// What `gather` found so far.
#[derive(Default)]
struct Gathered {
    /// One list per seed, in seed order.
    lists: Vec<Vec<Suggestion>>,
    /// The first thing that went wrong.
    trouble: Option<Reason>,
    /// The service a request is out to, to name if the deadline hits.
    waiting_on: Option<Service>,
    /// (normalised canonical artist, seed title) for each seed resolved: history by these
    /// artists is preferred too.
    resolved: Vec<(String, String)>,
}

impl Gathered {
    fn note(&mut self, service: Service, e: &ServiceError) {
        self.trouble.get_or_insert(Reason::from_error(service, e));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    MusicBrainz,
    ListenBrainz,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MusicBrainz => "MusicBrainz",
            Self::ListenBrainz => "ListenBrainz",
        })
    }
}

/// Why suggestions come from history, as the start of a sentence for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Slow(Service),
    RateLimited(Service),
    Down(Service),
    Nothing,
    NoSeeds,
}

impl Reason {
    fn from_error(service: Service, e: &ServiceError) -> Self {
        match e {
            ServiceError::TooLate(_) | ServiceError::Http(HttpError::RateLimited { .. }) => {
                Self::RateLimited(service)
            }
            ServiceError::Http(HttpError::Unreachable(what)) if what.contains("timed out") => {
                Self::Slow(service)
            }
            ServiceError::Http(_) => Self::Down(service),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Slow(s) => write!(f, "{s} did not answer in time"),
            Self::RateLimited(s) => write!(f, "{s} is rate limiting us right now"),
            Self::Down(s) => write!(f, "{s} is unavailable right now"),
            Self::Nothing => f.write_str("ListenBrainz had nothing new like these plays"),
            Self::NoSeeds => f.write_str("There were no recent plays to go on"),
        }
    }
}

/// Why a service call gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    #[error(transparent)]
    TooLate(#[from] TooLate),
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// One GET to a rate-limited service: waits its turn (or gives up if the turn is past the
/// deadline), is cut off at the deadline, and backs the limiter off when told to slow down.
pub(crate) async fn get_json<T: DeserializeOwned>(
    req: reqwest::RequestBuilder,
    limiter: &Limiter,
    deadline: Instant,
) -> Result<T, ServiceError> {
    limiter.acquire(deadline).await?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .min(http::TIMEOUT);
    let answer = http::json::<T>(req.timeout(left), None).await;
    match &answer {
        Err(HttpError::RateLimited { retry_after_s, .. }) => {
            limiter.back_off(retry_after_s.map_or(BACK_OFF_DEFAULT, Duration::from_secs))
        }
        // MusicBrainz answers 503 to a client that goes too fast.
        Err(HttpError::Status(503)) => limiter.back_off(BACK_OFF_DEFAULT),
        _ => {}
    }
    Ok(answer?)
}

#[cfg(test)]
mod tests;
