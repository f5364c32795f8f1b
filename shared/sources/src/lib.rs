//! Audio sources (DESIGN.md "Audio sources"): turn a `/play` query into queue tracks, and a
//! queued track into a songbird [`Input`]. Shared by the worker and `timmybot serve`.
//!
//! - yt-dlp (songbird's `YoutubeDl`) for YouTube, SoundCloud and a few other sites, and for
//!   `ytsearch1:`/`scsearch1:` queries;
//! - direct HTTP(S) audio (songbird's `HttpRequest`) behind the [`ssrf`] guard;
//! - Spotify links, matched to a playable recording and cached for 7 days;
//! - local files from a music directory, in embedded mode only.

mod linked;
mod local;
pub mod query;
pub mod spotify;
mod spotify_match;
pub mod ssrf;

use std::path::PathBuf;

use local::{file_duration_ms, local_file};
use std::sync::Arc;
use std::time::Duration;

use songbird::input::{File, HttpRequest, Input, YoutubeDl};

pub use linked::LinkedAccounts;
pub use query::{Kind, Query, QueryError};
use spotify::{Candidate, SpotifyApi, SpotifyError};
pub use ssrf::{Guard, SsrfError};
use timmybot_domain::{Clock, Platform, Track, TrackKey, UserId};
use timmybot_store::TrackCache;

/// How long yt-dlp may take to answer a query before the user hears it failed.
const YTDL_TIMEOUT: Duration = Duration::from_secs(30);

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
    Track(#[from] timmybot_domain::TrackError),
    /// From the platform or the vault, already a sentence for the user.
    #[error("{0}")]
    Library(String),
    #[error("linked accounts aren't set up on this bot")]
    NoAccounts,
    #[error("that is a link, not a search: `/play` it instead")]
    NotASearch,
}

/// Tracks to queue, and what the user should hear about the ones left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub tracks: Vec<Track>,
    pub note: Option<String>,
}

/// Why the sources could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("building the HTTP client failed")]
    Http(#[from] reqwest::Error),
    /// Every later `local:` play would fail with "no such file": refuse to start instead.
    #[error("the music folder {path} (MUSIC_DIR) cannot be opened")]
    MusicDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What resolving needs. Built once at start.
pub struct SourcesConfig {
    /// The yt-dlp executable.
    pub ytdl_program: String,
    /// Extra yt-dlp arguments, such as `--cookies FILE`.
    pub ytdl_args: Vec<String>,
    pub guard: Guard,
    pub spotify: Option<SpotifyApi>,
    /// Reads pasted Spotify playlists as the requester; without it every playlist link
    /// answers that Spotify no longer allows it.
    pub linked: Option<Arc<dyn LinkedAccounts>>,
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
    linked: Option<Arc<dyn LinkedAccounts>>,
    music_dir: Option<PathBuf>,
    cache: Arc<dyn TrackCache>,
    clock: Arc<dyn Clock>,
}

impl Sources {
    pub fn new(
        config: SourcesConfig,
        cache: Arc<dyn TrackCache>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SetupError> {
        let http = config.guard.client()?;
        let music_dir = config
            .music_dir
            .map(|path| match path.canonicalize() {
                Ok(real) if real.is_dir() => Ok(real),
                Ok(_) => Err(SetupError::MusicDir {
                    path,
                    source: std::io::Error::other("not a folder"),
                }),
                Err(source) => Err(SetupError::MusicDir { path, source }),
            })
            .transpose()?;
        Ok(Self {
            ytdl_program: Box::leak(config.ytdl_program.into_boxed_str()),
            ytdl_args: config.ytdl_args,
            guard: config.guard,
            http,
            spotify: config.spotify,
            linked: config.linked,
            music_dir,
            cache,
            clock,
        })
    }

    /// Turns a query into the tracks to queue (many for an album or playlist).
    pub async fn resolve(&self, text: &str, requester: UserId) -> Result<Vec<Track>, SourceError> {
        self.resolve_noted(text, requester).await.map(|r| r.tracks)
    }

    /// [`Sources::resolve`], with a note for the user about entries that cannot be played
    /// (a library list's private or removed videos).
    pub async fn resolve_noted(
        &self,
        text: &str,
        requester: UserId,
    ) -> Result<Resolved, SourceError> {
        let query = Query::parse(text)?;
        if let Query::Library(list) = &query {
            return self.library_tracks(list, requester).await;
        }
        let tracks = self.resolve_query(query, requester).await?;
        Ok(Resolved { tracks, note: None })
    }

    async fn resolve_query(
        &self,
        query: Query,
        requester: UserId,
    ) -> Result<Vec<Track>, SourceError> {
        match query {
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
            Query::Library(list) => self
                .library_tracks(&list, requester)
                .await
                .map(|r| r.tracks),
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

    /// Up to `n` results for words (or a `ytsearch`/`scsearch` query), each a track to play,
    /// for `/search`. Anything else (a link, a file) is not a search.
    pub async fn search(
        &self,
        text: &str,
        n: usize,
        requester: UserId,
    ) -> Result<Vec<Track>, SourceError> {
        let Query::Search { spec, kind } = Query::parse(text)? else {
            return Err(SourceError::NotASearch);
        };
        // The query takes one result; ask for `n` of the same search.
        let (site, words) = spec.split_once(':').unwrap_or(("ytsearch1", &spec));
        let site = site.trim_end_matches(|c: char| c.is_ascii_digit());
        let spec = format!("{site}{n}:{words}");
        let mut ytdl = self.ytdl(&spec);
        let results = tokio::time::timeout(YTDL_TIMEOUT, ytdl.query(n))
            .await
            .map_err(|_| SourceError::Timeout)?
            .map_err(|e| ytdl_error(&e))?;
        results
            .iter()
            .take(n)
            .map(|out| {
                let source = out.webpage_url.clone().unwrap_or_else(|| out.url.clone());
                self.ytdl_track(out, platform(kind), &source, requester)
            })
            .collect()
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

    /// A file inside the music directory, never outside it (no `..`, no escaping symlink).
    fn local_path(&self, name: &str) -> Result<PathBuf, SourceError> {
        let dir = self.music_dir.as_ref().ok_or(SourceError::LocalDisabled)?;
        local_file(dir, name)
    }
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
    use timmybot_domain::CachedTrack;

    struct NoCache;

    #[async_trait::async_trait]
    impl TrackCache for NoCache {
        async fn cached_track(
            &self,
            _: &TrackKey,
        ) -> timmybot_store::StoreResult<Option<CachedTrack>> {
            Ok(None)
        }
        async fn cache_track(&self, _: &CachedTrack) -> timmybot_store::StoreResult<()> {
            Ok(())
        }
    }

    fn with_music_dir(dir: PathBuf) -> Result<Sources, SetupError> {
        Sources::new(
            SourcesConfig {
                ytdl_program: "yt-dlp".into(),
                ytdl_args: vec![],
                guard: Guard::default(),
                spotify: None,
                linked: None,
                music_dir: Some(dir),
            },
            Arc::new(NoCache),
            Arc::new(timmybot_domain::SystemClock),
        )
    }

    #[test]
    fn an_unreadable_playlist_reaches_the_user_as_spotify_says_it() {
        // The worker replies "❌ {error}": the sentence must come through unwrapped.
        let e = SourceError::from(SpotifyError::PlaylistNotReadable);
        assert_eq!(e.to_string(), spotify::PLAYLIST_NOT_READABLE);
        assert!(e.to_string().starts_with("Spotify no longer lets apps"));
    }

    #[test]
    fn a_music_dir_that_cannot_be_opened_stops_the_start() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("nowhere");
        let err = with_music_dir(missing.clone()).err().expect("refused");
        assert!(
            matches!(&err, SetupError::MusicDir { path, .. } if *path == missing),
            "{err:?}"
        );
        assert!(err.to_string().contains("MUSIC_DIR"), "{err}");
        let file = root.path().join("file.wav");
        std::fs::write(&file, b"x").unwrap();
        assert!(with_music_dir(file).is_err(), "a file is not a folder");
        assert!(with_music_dir(root.path().to_owned()).is_ok());
    }

    struct BrokenCache;

    #[async_trait::async_trait]
    impl TrackCache for BrokenCache {
        async fn cached_track(
            &self,
            _: &TrackKey,
        ) -> timmybot_store::StoreResult<Option<CachedTrack>> {
            Err(timmybot_store::StoreError::Corrupt(
                "unreadable item".into(),
            ))
        }
        async fn cache_track(&self, _: &CachedTrack) -> timmybot_store::StoreResult<()> {
            Ok(())
        }
    }

    #[derive(Clone, Default)]
    struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_unreadable_track_cache_is_logged_and_read_as_a_miss() {
        let sink = Sink::default();
        let writer = sink.clone();
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish(),
        );
        let sources = Sources::new(
            SourcesConfig {
                ytdl_program: "yt-dlp".into(),
                ytdl_args: vec![],
                guard: Guard::default(),
                spotify: None,
                linked: None,
                music_dir: None,
            },
            Arc::new(BrokenCache),
            Arc::new(timmybot_domain::SystemClock),
        )
        .unwrap();
        let key = TrackKey::new(Platform::Spotify, "4uLU6hMCjMI75M1A2tKUQC").unwrap();
        assert!(sources.cached(&key).await.is_none());
        let logged = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
        assert!(
            logged.contains("reading the track cache failed") && logged.contains("unreadable item"),
            "{logged}"
        );
    }
}
