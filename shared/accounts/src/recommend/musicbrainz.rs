//! MusicBrainz: a seed's artist, resolved to the canonical name ListenBrainz knows, by ISRC
//! when the track carries one and by name otherwise.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::limiter::{per_base, Limiter, TtlCache};
use super::{clean_text, fold, get_json, ServiceError};
use crate::http::HttpError;

/// Artists do not get renamed often: a day keeps repeat plays off MusicBrainz entirely.
const RESOLVED_TTL: Duration = Duration::from_secs(24 * 60 * 60);
const RESOLVED_MAX: usize = 4096;
/// MusicBrainz's own cut-off for "this is the artist you typed".
pub const SCORE_MIN: u32 = 90;

/// What one MusicBrainz base shares across the process: the rate limit and what it told us.
/// `None` is cached too, so an unknown ISRC or name is not asked again for a day.
struct Shared {
    limiter: Limiter,
    by_isrc: TtlCache<Option<String>>,
    by_name: TtlCache<Option<String>>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            limiter: Limiter::default(),
            by_isrc: TtlCache::new(RESOLVED_TTL, RESOLVED_MAX),
            by_name: TtlCache::new(RESOLVED_TTL, RESOLVED_MAX),
        }
    }
}

static SHARED: LazyLock<Mutex<HashMap<String, Arc<Shared>>>> = LazyLock::new(Default::default);

pub struct MusicBrainz {
    http: reqwest::Client,
    base: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MusicBrainz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MusicBrainz")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl MusicBrainz {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        let shared = per_base(&SHARED, &base);
        Self { http, base, shared }
    }

    /// The canonical name of the seed's artist: the ISRC's recording's first credited artist,
    /// else the best name match scoring at least [`SCORE_MIN`]. `Ok(None)`: MusicBrainz does
    /// not know it.
    pub async fn resolve(
        &self,
        isrc: Option<&str>,
        artist: Option<&str>,
        deadline: Instant,
    ) -> Result<Option<String>, ServiceError> {
        if let Some(isrc) = isrc.and_then(valid_isrc) {
            if let Some(name) = self.by_isrc(&isrc, deadline).await? {
                return Ok(Some(name));
            }
        }
        match artist {
            Some(name) if !name.trim().is_empty() => self.by_name(name, deadline).await,
            _ => Ok(None),
        }
    }

    async fn by_isrc(&self, isrc: &str, deadline: Instant) -> Result<Option<String>, ServiceError> {
        if let Some(hit) = self.shared.by_isrc.get(isrc) {
            return Ok(hit);
        }
        // `isrc` is 12 checked ASCII letters and digits, safe in a path.
        let req = self
            .http
            .get(format!("{}/ws/2/isrc/{isrc}", self.base))
            .query(&[("inc", "artist-credits"), ("fmt", "json")]);
        let found = match get_json::<IsrcAnswer>(req, &self.shared.limiter, deadline).await {
            Ok(answer) => answer.artist(),
            Err(e) if is_no_match(&e) => None,
            Err(e) => return Err(e),
        };
        self.shared.by_isrc.insert(isrc.to_owned(), found.clone());
        Ok(found)
    }

    async fn by_name(&self, name: &str, deadline: Instant) -> Result<Option<String>, ServiceError> {
        let key = fold(name);
        if let Some(hit) = self.shared.by_name.get(&key) {
            return Ok(hit);
        }
        let query = format!("artist:\"{}\"", lucene_escape(name.trim()));
        let req = self.http.get(format!("{}/ws/2/artist", self.base)).query(&[
            ("query", query.as_str()),
            ("limit", "1"),
            ("fmt", "json"),
        ]);
        let found = match get_json::<ArtistSearch>(req, &self.shared.limiter, deadline).await {
            Ok(answer) => answer.best(),
            Err(e) if is_no_match(&e) => None,
            Err(e) => return Err(e),
        };
        self.shared.by_name.insert(key, found.clone());
        Ok(found)
    }
}

/// MusicBrainz's way of saying "no such thing" (404 for an unknown ISRC, 400 for one it will
/// not parse): a real answer, worth caching, unlike an outage.
fn is_no_match(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Http(HttpError::NotFound | HttpError::Status(400))
    )
}

/// An ISRC as MusicBrainz wants it: `CC-XXX-YY-NNNNN` without the hyphens, upper case.
/// Anything else is not asked about (and never reaches a URL path).
pub fn valid_isrc(raw: &str) -> Option<String> {
    let isrc: String = raw
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = isrc.as_bytes();
    let ok = b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..5]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[5..].iter().all(u8::is_ascii_digit);
    ok.then_some(isrc)
}

/// Escapes a name for a quoted Lucene phrase. Inside quotes only `"` and `\` matter, but the
/// parser drops the backslash before any character, so escaping every special one is both
/// safe and robust to a search server that parses the phrase differently.
pub fn lucene_escape(name: &str) -> String {
    const SPECIAL: &[char] = &[
        '\\', '"', '+', '-', '!', '(', ')', '{', '}', '[', ']', '^', '~', '*', '?', ':', '/', '&',
        '|',
    ];
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Deserialize)]
struct IsrcAnswer {
    #[serde(default)]
    recordings: Vec<Recording>,
}

#[derive(Debug, Deserialize)]
struct Recording {
    #[serde(rename = "artist-credit", default)]
    artist_credit: Vec<Credit>,
}

#[derive(Debug, Deserialize)]
struct Credit {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    artist: Option<ArtistRef>,
}

#[derive(Debug, Deserialize)]
struct ArtistRef {
    #[serde(default)]
    name: Option<String>,
}

impl IsrcAnswer {
    /// The first recording's first credited artist, by its canonical name (the credit's own
    /// name can be a variant such as "The Beatles" credited as "Beatles").
    fn artist(&self) -> Option<String> {
        self.recordings.iter().find_map(|r| {
            let credit = r.artist_credit.first()?;
            let name = credit
                .artist
                .as_ref()
                .and_then(|a| a.name.as_deref())
                .or(credit.name.as_deref())?;
            clean_text(name)
        })
    }
}

#[derive(Debug, Deserialize)]
struct ArtistSearch {
    #[serde(default)]
    artists: Vec<ArtistHit>,
}

#[derive(Debug, Deserialize)]
struct ArtistHit {
    #[serde(default)]
    name: Option<String>,
    /// A number today; older versions of the web service sent it as a string.
    #[serde(default)]
    score: Option<serde_json::Value>,
}

impl ArtistSearch {
    fn best(&self) -> Option<String> {
        self.artists.iter().find_map(|a| {
            let score = match a.score.as_ref()? {
                serde_json::Value::Number(n) => n.as_u64()?,
                serde_json::Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            if score >= u64::from(SCORE_MIN) {
                clean_text(a.name.as_deref()?)
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isrcs_are_checked_and_canonicalised() {
        assert_eq!(valid_isrc("GBAYE0601498").as_deref(), Some("GBAYE0601498"));
        assert_eq!(
            valid_isrc("gb-aye-06-01498").as_deref(),
            Some("GBAYE0601498")
        );
        assert_eq!(valid_isrc("USRC17607839").as_deref(), Some("USRC17607839"));
        assert_eq!(valid_isrc(""), None);
        assert_eq!(valid_isrc("GBAYE060149"), None);
        assert_eq!(valid_isrc("GBAYE06014989"), None);
        assert_eq!(valid_isrc("1BAYE0601498"), None);
        assert_eq!(valid_isrc("GBAYE06014X8"), None);
        assert_eq!(valid_isrc("GB/../0601498"), None);
        assert_eq!(valid_isrc("GBAYÉ0601498"), None);
    }

    #[test]
    fn names_are_escaped_for_the_lucene_phrase() {
        assert_eq!(lucene_escape("Adele"), "Adele");
        assert_eq!(lucene_escape(r#"The "Band""#), r#"The \"Band\""#);
        assert_eq!(lucene_escape("Sunn O)))"), r"Sunn O\)\)\)");
        assert_eq!(lucene_escape(r"AC/DC \o/"), r"AC\/DC \\o\/");
        assert_eq!(
            lucene_escape("Godspeed You! Black Emperor"),
            r"Godspeed You\! Black Emperor"
        );
        assert_eq!(
            lucene_escape("Florence + the Machine"),
            r"Florence \+ the Machine"
        );
    }

    #[test]
    fn the_documented_shapes_are_read() {
        let isrc: IsrcAnswer = serde_json::from_str(
            r#"{"isrc":"GBAYE0601498","recordings":[{"id":"r","title":"Hey Jude",
                "artist-credit":[{"name":"Beatles","artist":{"id":"a","name":"The Beatles"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(isrc.artist().as_deref(), Some("The Beatles"));
        let empty: IsrcAnswer = serde_json::from_str(r#"{"isrc":"X","recordings":[]}"#).unwrap();
        assert_eq!(empty.artist(), None);

        let hit: ArtistSearch =
            serde_json::from_str(r#"{"artists":[{"id":"a","name":"Adele","score":100}]}"#).unwrap();
        assert_eq!(hit.best().as_deref(), Some("Adele"));
        let old: ArtistSearch =
            serde_json::from_str(r#"{"artists":[{"id":"a","name":"Adele","score":"95"}]}"#)
                .unwrap();
        assert_eq!(old.best().as_deref(), Some("Adele"));
        let weak: ArtistSearch =
            serde_json::from_str(r#"{"artists":[{"id":"a","name":"Adel","score":89}]}"#).unwrap();
        assert_eq!(weak.best(), None);
        let none: ArtistSearch = serde_json::from_str(r#"{"artists":[]}"#).unwrap();
        assert_eq!(none.best(), None);
    }
}
