//! Audio sources (DESIGN.md "Audio sources"): turn a `/play` query into queue tracks, and a
//! queued track into a songbird [`Input`]. Shared by the worker and `timmybot serve`.
//!
//! - yt-dlp (songbird's `YoutubeDl`) for YouTube, SoundCloud and a few other sites, and for
//!   `ytsearch1:`/`scsearch1:` queries;
//! - direct HTTP(S) audio (songbird's `HttpRequest`) behind the [`ssrf`] guard;
//! - Spotify links, matched to a playable recording and cached for 7 days;
//! - local files from a music directory, in embedded mode only.

pub mod query;
pub mod spotify;
pub mod ssrf;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use songbird::input::{File, HttpRequest, Input, YoutubeDl};

use crate::clock::Clock;
use crate::domain::{CachedTrack, Platform, Track, TrackKey, UserId};
use crate::store::TrackCache;
pub use query::{Kind, Query, QueryError};
use spotify::{Candidate, SpotifyApi, SpotifyError, SpotifyLink, SpotifyTrack};
pub use ssrf::{Guard, SsrfError};

/// How long yt-dlp may take to answer a query before the user hears it failed.
const YTDL_TIMEOUT: Duration = Duration::from_secs(30);
/// File extensions played from the music directory.
const LOCAL_EXTENSIONS: &[&str] = &["mp3", "wav", "flac", "ogg", "opus", "m4a", "aac", "webm"];

/// Why a query or a track could not be played. Each message is fit to show a user.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("that link is not allowed: {0}")]
    Ssrf(#[from] SsrfError),
    #[error("nothing was found for that search")]
    NotFound,
    #[error("the player could not look that up ({0})")]
    Ytdl(String),
    #[error("looking that up took too long")]
    Timeout,
    #[error(transparent)]
    Spotify(#[from] SpotifyError),
    #[error("no playable recording matches that Spotify track")]
    NoMatch,
    #[error("local files are only played by a self-hosted `timmybot serve` with MUSIC_DIR set")]
    LocalDisabled,
    #[error("there is no such file in the music folder")]
    NoSuchFile,
    #[error("that track could not be queued: {0}")]
    Track(#[from] crate::domain::TrackError),
}

/// What resolving needs. Built once at start.
pub struct SourcesConfig {
    /// The yt-dlp executable.
    pub ytdl_program: String,
    /// Extra yt-dlp arguments, such as `--cookies FILE`.
    pub ytdl_args: Vec<String>,
    pub guard: Guard,
    pub spotify: Option<SpotifyApi>,
    /// Embedded mode only.
    pub music_dir: Option<PathBuf>,
}

pub struct Sources {
    /// songbird's `YoutubeDl` borrows its program name for `'static`; leaked once per process.
    ytdl_program: &'static str,
    ytdl_args: Vec<String>,
    guard: Guard,
    http: reqwest::Client,
    spotify: Option<SpotifyApi>,
    music_dir: Option<PathBuf>,
    cache: Arc<dyn TrackCache>,
    clock: Arc<dyn Clock>,
}

impl Sources {
    pub fn new(
        config: SourcesConfig,
        cache: Arc<dyn TrackCache>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        let http = config.guard.client()?;
        let music_dir = config.music_dir.map(|d| d.canonicalize().unwrap_or(d));
        Ok(Self {
            ytdl_program: Box::leak(config.ytdl_program.into_boxed_str()),
            ytdl_args: config.ytdl_args,
            guard: config.guard,
            http,
            spotify: config.spotify,
            music_dir,
            cache,
            clock,
        })
    }

    /// Turns a query into the tracks to queue (many for an album or playlist).
    pub async fn resolve(&self, text: &str, requester: UserId) -> Result<Vec<Track>, SourceError> {
        match Query::parse(text)? {
            Query::Page { url, kind } => {
                let first = self.ytdl_query(url.as_str()).await?;
                Ok(vec![self.ytdl_track(
                    &first,
                    platform(kind),
                    url.as_str(),
                    requester,
                )?])
            }
            Query::Search { spec, kind } => {
                let first = self.ytdl_query(&spec).await?;
                let source = first.webpage_url.clone().unwrap_or(spec);
                Ok(vec![self.ytdl_track(
                    &first,
                    platform(kind),
                    &source,
                    requester,
                )?])
            }
            Query::Http(raw) => {
                let url = self.guard.check(&raw).await?;
                let title = url
                    .path_segments()
                    .and_then(|mut s| s.next_back())
                    .filter(|s| !s.is_empty())
                    .unwrap_or(url.host_str().unwrap_or("audio"))
                    .to_owned();
                let key = TrackKey::new(Platform::Http, url.as_str())?;
                Ok(vec![Track::new(key, &title, url.as_str(), requester)?])
            }
            Query::Local(name) => {
                let path = self.local_path(&name)?;
                let title = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or(&name)
                    .to_owned();
                let shown = path.to_string_lossy().into_owned();
                let key = TrackKey::new(Platform::Local, &name)?;
                let track = Track::new(key, &title, &shown, requester)?;
                // The file's own header says how long it is; a file it can't read plays as
                // "live" rather than failing the queueing.
                let probed = tokio::task::spawn_blocking(move || file_duration_ms(&path)).await;
                Ok(vec![match probed.ok().flatten() {
                    Some(ms) => track.with_duration_ms(ms),
                    None => track,
                }])
            }
            Query::Spotify(link) => self.spotify_tracks(&link, requester).await,
        }
    }

    /// A lazy input for a queued track: nothing is fetched until songbird readies it.
    pub async fn open(&self, track: &Track) -> Result<Input, SourceError> {
        match track.key.platform() {
            Platform::Http => {
                self.guard.check(&track.source).await?;
                Ok(HttpRequest::new(self.http.clone(), track.source.clone()).into())
            }
            Platform::Local => {
                let path = self.local_path(track.key.id())?;
                Ok(File::new(path).into())
            }
            Platform::Spotify => {
                let source = self.spotify_source(track).await?;
                Ok(self.ytdl(&source).into())
            }
            Platform::Youtube | Platform::Soundcloud | Platform::Other => {
                Ok(self.ytdl(&track.source).into())
            }
        }
    }

    fn ytdl(&self, source: &str) -> YoutubeDl<'static> {
        YoutubeDl::new_ytdl_like(self.ytdl_program, self.http.clone(), source.to_owned())
            .user_args(self.ytdl_args.clone())
    }

    async fn ytdl_query(
        &self,
        source: &str,
    ) -> Result<songbird::input::metadata::YoutubeDlOutput, SourceError> {
        let mut ytdl = self.ytdl(source);
        let results = tokio::time::timeout(YTDL_TIMEOUT, ytdl.query(1))
            .await
            .map_err(|_| SourceError::Timeout)?
            .map_err(|e| ytdl_error(&e))?;
        results.into_iter().next().ok_or(SourceError::NotFound)
    }

    async fn ytdl_candidates(&self, spec: &str) -> Result<Vec<Candidate>, SourceError> {
        let n = spec
            .strip_prefix("ytsearch")
            .and_then(|r| r.split_once(':'))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or(1);
        let mut ytdl = self.ytdl(spec);
        let results = tokio::time::timeout(YTDL_TIMEOUT, ytdl.query(n))
            .await
            .map_err(|_| SourceError::Timeout)?
            .map_err(|e| ytdl_error(&e))?;
        Ok(results
            .into_iter()
            .map(|r| Candidate {
                url: r.webpage_url.unwrap_or(r.url),
                duration_ms: r.duration.map(|s| (s * 1000.0) as u64),
            })
            .collect())
    }

    fn ytdl_track(
        &self,
        out: &songbird::input::metadata::YoutubeDlOutput,
        platform: Platform,
        source: &str,
        requester: UserId,
    ) -> Result<Track, SourceError> {
        let id = out.webpage_url.as_deref().unwrap_or(source);
        let title = out
            .title
            .as_deref()
            .or(out.track.as_deref())
            .unwrap_or(source);
        let mut track = Track::new(TrackKey::new(platform, id)?, title, source, requester)?;
        if let Some(artist) = out.artist.as_deref().or(out.uploader.as_deref()) {
            track = track.with_artist(artist);
        }
        if let Some(secs) = out.duration {
            track = track.with_duration_ms((secs * 1000.0) as u64);
        }
        if let Some(thumb) = out.thumbnail.as_deref() {
            track = track.with_thumbnail(thumb);
        }
        Ok(track)
    }

    async fn spotify_tracks(
        &self,
        link: &SpotifyLink,
        requester: UserId,
    ) -> Result<Vec<Track>, SourceError> {
        let api = self.spotify.as_ref().ok_or(SpotifyError::NotConfigured)?;
        let found = api.tracks(link).await?;
        if found.is_empty() {
            return Err(SourceError::NotFound);
        }
        let mut out = Vec::with_capacity(found.len());
        for t in found {
            let key = TrackKey::new(Platform::Spotify, &t.id)?;
            // Matching waits until the track is about to play: an album would otherwise run
            // one search per track before anything is queued.
            let source = format!("spotify:track:{}", t.id);
            let mut track = Track::new(key.clone(), &t.title, &source, requester)?
                .with_duration_ms(t.duration_ms);
            if !t.artists.is_empty() {
                track = track.with_artist(&t.artists.join(", "));
            }
            self.remember_metadata(&key, &t).await;
            out.push(track);
        }
        Ok(out)
    }

    /// Stores what Spotify said, so the match later can search by ISRC.
    async fn remember_metadata(&self, key: &TrackKey, t: &SpotifyTrack) {
        if let Ok(Some(_)) = self.cache.cached_track(key).await {
            return;
        }
        let entry = CachedTrack {
            key: key.clone(),
            title: t.title.clone(),
            artist: Some(t.artists.join(", ")).filter(|a| !a.is_empty()),
            duration_ms: Some(t.duration_ms),
            thumbnail: None,
            isrc: t.isrc.clone(),
            resolved_source: String::new(),
            cached_at_ms: self.clock.now_ms(),
        };
        if let Err(e) = self.cache.cache_track(&entry).await {
            tracing::warn!(error = %e, "caching Spotify metadata failed");
        }
    }

    /// The playable source for a Spotify track: cached, or matched now and cached.
    async fn spotify_source(&self, track: &Track) -> Result<String, SourceError> {
        let cached = self.cache.cached_track(&track.key).await.ok().flatten();
        if let Some(c) = cached.as_ref().filter(|c| !c.resolved_source.is_empty()) {
            return Ok(c.resolved_source.clone());
        }
        let wanted = SpotifyTrack {
            id: track.key.id().to_owned(),
            title: track.title.clone(),
            artists: track.artist.iter().cloned().collect(),
            duration_ms: track.duration_ms.unwrap_or_default(),
            isrc: cached.as_ref().and_then(|c| c.isrc.clone()),
        };
        for spec in wanted.searches() {
            let candidates = match self.ytdl_candidates(&spec).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(error = %e, "a Spotify match search failed; trying the next");
                    continue;
                }
            };
            if let Some(hit) = spotify::pick(&candidates, wanted.duration_ms) {
                let entry = CachedTrack {
                    key: track.key.clone(),
                    title: track.title.clone(),
                    artist: track.artist.clone(),
                    duration_ms: track.duration_ms,
                    thumbnail: track.thumbnail.clone(),
                    isrc: wanted.isrc.clone(),
                    resolved_source: hit.url.clone(),
                    cached_at_ms: self.clock.now_ms(),
                };
                if let Err(e) = self.cache.cache_track(&entry).await {
                    tracing::warn!(error = %e, "caching a Spotify match failed");
                }
                return Ok(hit.url.clone());
            }
        }
        Err(SourceError::NoMatch)
    }

    /// A file inside the music directory, never outside it (no `..`, no escaping symlink).
    fn local_path(&self, name: &str) -> Result<PathBuf, SourceError> {
        let dir = self.music_dir.as_ref().ok_or(SourceError::LocalDisabled)?;
        local_file(dir, name)
    }
}

/// A local file's duration from its container header (frames ÷ rate), without decoding.
fn file_duration_ms(path: &Path) -> Option<u64> {
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;
    let file = std::fs::File::open(path).ok()?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .ok()?;
    let params = &probed.format.default_track()?.codec_params;
    let frames = params.n_frames?;
    let rate = u64::from(params.sample_rate?);
    (rate > 0).then(|| frames * 1000 / rate)
}

fn local_file(dir: &Path, name: &str) -> Result<PathBuf, SourceError> {
    let candidate = dir.join(name);
    let real = candidate
        .canonicalize()
        .map_err(|_| SourceError::NoSuchFile)?;
    let allowed_ext = real
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| LOCAL_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    if !real.starts_with(dir) || !real.is_file() || !allowed_ext {
        return Err(SourceError::NoSuchFile);
    }
    Ok(real)
}

fn platform(kind: Kind) -> Platform {
    match kind {
        Kind::Youtube => Platform::Youtube,
        Kind::Soundcloud => Platform::Soundcloud,
        Kind::Other => Platform::Other,
    }
}

/// yt-dlp's stderr can be long; users get its last line, shortened.
fn ytdl_error(e: &songbird::input::AudioStreamError) -> SourceError {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output");
    if last.contains("no results found") {
        return SourceError::NotFound;
    }
    SourceError::Ytdl(last.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_file_knows_its_duration_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        // 1.5 s of 16-bit mono silence at 8 kHz.
        let frames: u32 = 12_000;
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + frames * 2).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        for v in [16u32, 0x0001_0001, 8_000, 16_000, 0x0010_0002] {
            wav.extend_from_slice(&v.to_le_bytes());
        }
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(frames * 2).to_le_bytes());
        wav.resize(wav.len() + frames as usize * 2, 0);
        let good = dir.path().join("tone.wav");
        std::fs::write(&good, wav).unwrap();
        assert_eq!(file_duration_ms(&good), Some(1_500));
        let bad = dir.path().join("bad.wav");
        std::fs::write(&bad, b"not audio").unwrap();
        assert_eq!(file_duration_ms(&bad), None);
    }

    #[test]
    fn local_files_stay_inside_the_music_dir() {
        let root = tempfile::tempdir().unwrap();
        let music = root.path().join("music");
        std::fs::create_dir(&music).unwrap();
        std::fs::write(music.join("a.wav"), b"x").unwrap();
        std::fs::write(music.join("notes.txt"), b"x").unwrap();
        std::fs::write(root.path().join("secret.wav"), b"x").unwrap();
        let dir = music.canonicalize().unwrap();
        assert!(local_file(&dir, "a.wav").is_ok());
        for bad in [
            "../secret.wav",
            "notes.txt",
            "missing.wav",
            "/etc/passwd",
            "",
        ] {
            assert!(
                matches!(local_file(&dir, bad), Err(SourceError::NoSuchFile)),
                "{bad} must be refused"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret.wav"), music.join("link.wav"))
                .unwrap();
            assert!(matches!(
                local_file(&dir, "link.wav"),
                Err(SourceError::NoSuchFile)
            ));
        }
    }
}
