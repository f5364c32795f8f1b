//! Lyrics from LRCLIB's open API (no key): `GET /api/get` by artist, title and duration,
//! then `GET /api/search` as the fallback, and `GET /api/get/{id}` for a page of a song
//! already found. Answers are cached; synced lyrics (LRC) are parsed into timed lines.

use std::time::Duration;

use serde::Deserialize;

use crate::http::{self, HttpError};
use crate::recommend::limiter::TtlCache;

/// Lyrics do not change; an hour keeps page turns and repeats off LRCLIB.
const CACHE_TTL: Duration = Duration::from_secs(3600);
const CACHE_ENTRIES: usize = 512;
/// A song's lyrics are a few kilobytes; anything far longer is not a song.
pub const TEXT_MAX: usize = 64 * 1024;
/// Query parts sent to LRCLIB.
const PART_MAX: usize = 200;

/// One line of lyrics; `at_ms` when the lyrics are synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at_ms: Option<u64>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lyrics {
    /// LRCLIB's id: page buttons fetch the same song by it.
    pub id: u64,
    pub title: String,
    pub artist: String,
    pub instrumental: bool,
    pub lines: Vec<Line>,
}

impl Lyrics {
    pub fn synced(&self) -> bool {
        self.lines.first().is_some_and(|l| l.at_ms.is_some())
    }

    /// The line being sung at `position_ms`: the last one that has started.
    pub fn current(&self, position_ms: u64) -> Option<usize> {
        if !self.synced() {
            return None;
        }
        self.lines
            .iter()
            .rposition(|l| l.at_ms.is_some_and(|at| at <= position_ms))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LyricsError {
    #[error("LRCLIB could not be reached just now; try again in a moment")]
    Unavailable(#[source] HttpError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    id: u64,
    #[serde(default)]
    track_name: String,
    #[serde(default)]
    artist_name: String,
    #[serde(default)]
    instrumental: bool,
    #[serde(default)]
    plain_lyrics: Option<String>,
    #[serde(default)]
    synced_lyrics: Option<String>,
}

impl Record {
    fn into_lyrics(self) -> Lyrics {
        let synced = self
            .synced_lyrics
            .as_deref()
            .map(parse_lrc)
            .filter(|l| !l.is_empty());
        let lines = synced.unwrap_or_else(|| {
            self.plain_lyrics
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(TEXT_MAX)
                .collect::<String>()
                .lines()
                .map(|l| Line {
                    at_ms: None,
                    text: l.trim().to_owned(),
                })
                .collect()
        });
        Lyrics {
            id: self.id,
            title: self.track_name.chars().take(PART_MAX).collect(),
            artist: self.artist_name.chars().take(PART_MAX).collect(),
            instrumental: self.instrumental,
            lines,
        }
    }
}

/// `[mm:ss.xx] text` lines, in time order; metadata tags (`[ar:…]`) and bad stamps are
/// dropped. Bounded by [`TEXT_MAX`].
pub fn parse_lrc(text: &str) -> Vec<Line> {
    let text: String = text.chars().take(TEXT_MAX).collect();
    let mut lines = Vec::new();
    for raw in text.lines() {
        let mut rest = raw.trim();
        let mut stamps = Vec::new();
        while let Some(close) = rest.strip_prefix('[').and_then(|r| r.find(']')) {
            let tag = &rest[1..=close];
            let Some(ms) = stamp(tag) else { break };
            stamps.push(ms);
            rest = rest[close + 2..].trim_start();
        }
        for at in stamps {
            lines.push(Line {
                at_ms: Some(at),
                text: rest.trim().to_owned(),
            });
        }
    }
    lines.sort_by_key(|l| l.at_ms);
    lines
}

/// `mm:ss.xx` (or `mm:ss`, `mm:ss.xxx`) in milliseconds.
fn stamp(tag: &str) -> Option<u64> {
    let (m, s) = tag.split_once(':')?;
    let minutes: u64 = m.parse().ok()?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let secs: u64 = secs.parse().ok()?;
    if secs >= 60 || frac.is_empty() || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac_ms = frac.parse::<u64>().ok()? * 10u64.pow(3 - frac.len() as u32);
    Some(minutes * 60_000 + secs * 1000 + frac_ms)
}

pub struct Lrclib {
    http: reqwest::Client,
    base: String,
    cache: TtlCache<Option<Lyrics>>,
}

fn part(s: &str) -> String {
    s.trim().chars().take(PART_MAX).collect()
}

impl Lrclib {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            cache: TtlCache::new(CACHE_TTL, CACHE_ENTRIES),
        }
    }

    /// The lyrics of `title` by `artist` (lasting `duration_ms`, when known), or of the best
    /// search match; `None` when LRCLIB has nothing.
    pub async fn find(
        &self,
        artist: Option<&str>,
        title: &str,
        duration_ms: Option<u64>,
    ) -> Result<Option<Lyrics>, LyricsError> {
        let key = format!(
            "find\u{0}{}\u{0}{}\u{0}{:?}",
            artist.unwrap_or_default(),
            title,
            duration_ms.map(|d| d / 1000)
        );
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit);
        }
        let mut found = None;
        if let Some(artist) = artist.filter(|a| !a.trim().is_empty()) {
            let mut query = vec![("artist_name", part(artist)), ("track_name", part(title))];
            if let Some(d) = duration_ms {
                query.push(("duration", (d / 1000).to_string()));
            }
            found = self.get_one("/api/get", &query).await?;
        }
        if found.is_none() {
            let q = match artist {
                Some(a) if !a.trim().is_empty() => format!("{} {}", part(a), part(title)),
                _ => part(title),
            };
            let hits: Vec<Record> = match http::json(
                self.http
                    .get(format!("{}/api/search", self.base))
                    .query(&[("q", q)]),
                None,
            )
            .await
            {
                Ok(h) => h,
                Err(HttpError::NotFound) => Vec::new(),
                Err(e) => return Err(LyricsError::Unavailable(e)),
            };
            // The first with words, else the first (it may be an instrumental).
            let mut hits = hits.into_iter().take(20).collect::<Vec<_>>();
            let pick = hits
                .iter()
                .position(|r| r.synced_lyrics.is_some() || r.plain_lyrics.is_some())
                .unwrap_or(0);
            found = (!hits.is_empty()).then(|| hits.swap_remove(pick).into_lyrics());
        }
        if let Some(l) = &found {
            self.cache
                .insert(format!("id\u{0}{}", l.id), Some(l.clone()));
        }
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    /// A song found before, by LRCLIB's id (for the page buttons).
    pub async fn by_id(&self, id: u64) -> Result<Option<Lyrics>, LyricsError> {
        let key = format!("id\u{0}{id}");
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit);
        }
        let found = self.get_one(&format!("/api/get/{id}"), &[]).await?;
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    async fn get_one(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Lyrics>, LyricsError> {
        let req = self.http.get(format!("{}{path}", self.base)).query(query);
        match http::json::<Record>(req, None).await {
            Ok(r) => Ok(Some(r.into_lyrics())),
            Err(HttpError::NotFound) => Ok(None),
            Err(e) => Err(LyricsError::Unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lrc_lines_are_timed_sorted_and_metadata_dropped() {
        let lines = parse_lrc(
            "[ar:Someone]\n[00:12.50] Second\n[00:01.00]First\n[01:02.345][01:10.0] Chorus\n[xx:yy] bad\nplain",
        );
        let got: Vec<(Option<u64>, &str)> =
            lines.iter().map(|l| (l.at_ms, l.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some(1_000), "First"),
                (Some(12_500), "Second"),
                (Some(62_345), "Chorus"),
                (Some(70_000), "Chorus"),
            ]
        );
    }

    #[test]
    fn the_current_line_is_the_last_one_started() {
        let l = Lyrics {
            id: 1,
            title: "t".into(),
            artist: "a".into(),
            instrumental: false,
            lines: parse_lrc("[00:01.00]a\n[00:05.00]b\n[00:09.00]c"),
        };
        assert_eq!(l.current(0), None);
        assert_eq!(l.current(5_000), Some(1));
        assert_eq!(l.current(600_000), Some(2));
    }
}
