//! One handle on everything linked accounts do, for the command core and the worker: the
//! linker, the user's library read with their own (fresh) token, and the recommender.

use std::sync::Arc;

use rand::seq::SliceRandom;
use secrecy::SecretString;
use timmybot_config::{AccountsSettings, ServiceUrls};
use timmybot_domain::{Clock, LibraryList, LibraryRef, Platform, UserId};
use timmybot_store::SharedStore;

use crate::library::{
    Expanded, LibraryError, LibraryTrack, ListCache, Page, Playlist, SpotifyLibrary, YoutubeLibrary,
};
use crate::link::{AccountError, Linker, PlatformName, Redirect};
use crate::oauth::{GoogleOAuth, SpotifyOAuth};
use crate::recommend::Recommender;
use crate::vault::Vault;

/// Where Spotify sends users back when no callback can be reached: a loopback address that
/// Spotify accepts for development apps, and that nothing needs to listen on.
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1:8888/callback";

pub struct Accounts {
    linker: Linker,
    youtube: YoutubeLibrary,
    spotify: SpotifyLibrary,
    recommender: Recommender,
    lyrics: crate::lyrics::Lrclib,
    lists: ListCache,
    clock: Arc<dyn Clock>,
}

impl Accounts {
    /// Linked accounts as the settings describe them, or `None` with no vault key. With
    /// `key_file` (`timmybot serve`), a missing key is made there, readable by this user
    /// alone, and the log says where.
    pub fn open(
        settings: &AccountsSettings,
        store: SharedStore,
        clock: Arc<dyn Clock>,
        key_file: Option<&std::path::Path>,
    ) -> Result<Option<Arc<Self>>, AccountError> {
        let Some(key) = Vault::resolve_key(settings.vault_key.as_ref(), key_file)? else {
            return Ok(None);
        };
        let vault = Arc::new(Vault::new(&key, settings.vault_older.as_ref())?);
        let callback = settings
            .public_url
            .as_ref()
            .map(|u| format!("{u}{}", timmybot_config::names::routes::SPOTIFY_CALLBACK));
        Self::new(settings, vault, store, clock, callback).map(|a| Some(Arc::new(a)))
    }

    /// From the settings. `callback` is the route's full address when one can be reached
    /// (`PUBLIC_URL` + the callback route); otherwise the user pastes the loopback address.
    pub fn new(
        settings: &AccountsSettings,
        vault: Arc<Vault>,
        store: SharedStore,
        clock: Arc<dyn Clock>,
        callback: Option<String>,
    ) -> Result<Self, AccountError> {
        let urls: &ServiceUrls = &settings.urls;
        let google = settings
            .youtube
            .as_ref()
            .map(|(id, secret)| GoogleOAuth::new(id, secret.clone(), &urls.google_oauth))
            .transpose()?;
        let spotify = settings
            .spotify_client_id
            .as_deref()
            .map(|id| {
                let redirect = match &callback {
                    Some(url) => Redirect::Callback(url.clone()),
                    None => Redirect::Loopback(LOOPBACK_REDIRECT.to_owned()),
                };
                SpotifyOAuth::new(id, &urls.spotify_accounts).map(|o| (o, redirect))
            })
            .transpose()?;
        let http = crate::http::client();
        Ok(Self {
            linker: Linker::new(store, vault, Arc::clone(&clock), google, spotify),
            youtube: YoutubeLibrary::new(http.clone(), &urls.youtube_api),
            spotify: SpotifyLibrary::new(http.clone(), &urls.spotify_api),
            recommender: Recommender::new(http.clone(), &urls.musicbrainz, &urls.listenbrainz),
            lyrics: crate::lyrics::Lrclib::new(http, &urls.lrclib),
            lists: ListCache::new(),
            clock,
        })
    }

    pub fn linker(&self) -> &Linker {
        &self.linker
    }

    pub fn recommender(&self) -> &Recommender {
        &self.recommender
    }

    pub fn lyrics(&self) -> &crate::lyrics::Lrclib {
        &self.lyrics
    }

    /// Forgets cached lists after an unlink.
    pub fn forget(&self, user: UserId, platform: Platform) {
        self.lists.forget(user, platform);
    }

    /// The user's playlists, one page, cached for a minute (YouTube's daily quota).
    pub async fn playlists(
        &self,
        user: UserId,
        platform: Platform,
        cursor: Option<&str>,
    ) -> Result<Page<Playlist>, AccountError> {
        let now = self.clock.now_ms();
        if let Some(page) = self.lists.get(user, platform, cursor, now) {
            return Ok(page);
        }
        let page = self
            .with_token(user, platform, |token| async move {
                match platform {
                    Platform::Spotify => self.spotify.playlists(&token, cursor).await,
                    _ => self.youtube.playlists(&token, cursor).await,
                }
            })
            .await?;
        self.lists.put(user, platform, cursor, page.clone(), now);
        Ok(page)
    }

    /// The tracks a library reference names, at most `max`, shuffled if it asks.
    pub async fn expand(
        &self,
        user: UserId,
        list: &LibraryRef,
        max: usize,
    ) -> Result<Expanded, AccountError> {
        let platform = list.platform;
        let mut expanded = self
            .with_token(user, platform, |token| async move {
                match (&list.list, platform) {
                    (LibraryList::Playlist(id), Platform::Spotify) => {
                        self.spotify.playlist_tracks(&token, id, max).await
                    }
                    (LibraryList::Playlist(id), _) => {
                        self.youtube.playlist_tracks(&token, id, max).await
                    }
                    (LibraryList::Liked, Platform::Spotify) => {
                        self.spotify.liked(&token, max).await
                    }
                    (LibraryList::Liked, _) => self.youtube.liked(&token, max).await,
                }
            })
            .await?;
        if list.shuffle {
            expanded.tracks.shuffle(&mut rand::rng());
        }
        Ok(expanded)
    }

    /// Spotify's recently played, for `/play-history scope: me`.
    pub async fn recently_played(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<LibraryTrack>, AccountError> {
        self.with_token(user, Platform::Spotify, |token| async move {
            self.spotify.recently_played(&token, limit).await
        })
        .await
    }

    /// Spotify's top tracks, as recommendation seeds.
    pub async fn top_tracks(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<LibraryTrack>, AccountError> {
        self.with_token(user, Platform::Spotify, |token| async move {
            self.spotify.top_tracks(&token, limit).await
        })
        .await
    }

    /// A fresh Spotify token for the requester, if they linked Spotify: pasted playlist links
    /// are read as them.
    pub async fn spotify_token(&self, user: UserId) -> Option<SecretString> {
        self.linker.access_token(user, Platform::Spotify).await.ok()
    }

    /// Runs `call` with a fresh token. A token refused with 401 although it was fresh is
    /// refreshed once more (revoked early, or the clock is off) before giving up.
    async fn with_token<'a, T, F, Fut>(
        &'a self,
        user: UserId,
        platform: Platform,
        call: F,
    ) -> Result<T, AccountError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: std::future::Future<Output = Result<T, LibraryError>> + 'a,
    {
        let token = self.linker.access_token(user, platform).await?;
        match call(token).await {
            Err(LibraryError::Expired) => {
                let token = self.linker.force_refresh(user, platform).await?;
                call(token).await.map_err(|e| match e {
                    LibraryError::Expired => AccountError::NeedsRelink(
                        PlatformName(platform),
                        crate::link::slug(platform),
                    ),
                    e => e.into(),
                })
            }
            other => other.map_err(Into::into),
        }
    }
}
