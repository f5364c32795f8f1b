//! Spotify tracks as they are queued (metadata only, the ISRC remembered) and, when one
//! comes to play, matched to a playable recording: by ISRC, then by artist and title, with
//! the duration within ±3 s; the match is cached.

use timmybot_domain::{CachedTrack, Clock, Platform, Track, TrackKey, UserId};
use timmybot_store::TrackCache;

use crate::spotify::{self, LinkKind, SpotifyError, SpotifyLink, SpotifyTrack};
use crate::{SourceError, Sources};

/// Stores what Spotify said about `t`, unless it is cached already, so the match later can
/// search by ISRC. A cache that cannot be read or written is logged: the track still plays.
pub(crate) async fn remember(cache: &dyn TrackCache, clock: &dyn Clock, t: &SpotifyTrack) {
    let Ok(key) = TrackKey::new(Platform::Spotify, &t.id) else {
        return;
    };
    match cache.cached_track(&key).await {
        Ok(Some(_)) => return,
        Ok(None) => {}
        Err(e) => tracing::warn!(track = %key, error = %e, "reading the track cache failed"),
    }
    let entry = CachedTrack {
        key,
        title: t.title.clone(),
        artist: Some(t.artists.join(", ")).filter(|a| !a.is_empty()),
        duration_ms: Some(t.duration_ms),
        thumbnail: None,
        isrc: t.isrc.clone(),
        resolved_source: String::new(),
        cached_at_ms: clock.now_ms(),
    };
    if let Err(e) = cache.cache_track(&entry).await {
        tracing::warn!(error = %e, "caching Spotify metadata failed");
    }
}

impl Sources {
    /// A Spotify track as it is queued: matched when it comes to play, not now.
    pub(crate) fn spotify_track(
        &self,
        t: &SpotifyTrack,
        requester: UserId,
    ) -> Result<Track, SourceError> {
        let key = TrackKey::new(Platform::Spotify, &t.id)?;
        let source = format!("spotify:track:{}", t.id);
        let mut track =
            Track::new(key, &t.title, &source, requester)?.with_duration_ms(t.duration_ms);
        if !t.artists.is_empty() {
            track = track.with_artist(&t.artists.join(", "));
        }
        Ok(track)
    }

    pub(crate) async fn spotify_tracks(
        &self,
        link: &SpotifyLink,
        requester: UserId,
    ) -> Result<Vec<Track>, SourceError> {
        let api = self.spotify.as_ref().ok_or(SpotifyError::NotConfigured)?;
        // Only a playlist needs the requester's own token; asking the vault for anything else
        // would cost a refresh for nothing.
        let as_user = match (link.kind, &self.linked) {
            (LinkKind::Playlist, Some(tokens)) => tokens.spotify_token(requester).await,
            _ => None,
        };
        let found = api.tracks(link, as_user.as_ref()).await?;
        if found.is_empty() {
            return Err(SourceError::NotFound);
        }
        let mut out = Vec::with_capacity(found.len());
        for t in found {
            // Matching waits until the track is about to play: an album would otherwise run
            // one search per track before anything is queued.
            let track = self.spotify_track(&t, requester)?;
            remember(self.cache.as_ref(), self.clock.as_ref(), &t).await;
            out.push(track);
        }
        Ok(out)
    }

    /// A cached resolution. A cache that cannot be read is logged and treated as a miss: the
    /// track still plays, it is only matched again.
    pub(crate) async fn cached(&self, key: &TrackKey) -> Option<CachedTrack> {
        match self.cache.cached_track(key).await {
            Ok(hit) => hit,
            Err(e) => {
                tracing::warn!(track = %key, error = %e, "reading the track cache failed");
                None
            }
        }
    }

    /// The playable source for a Spotify track: cached, or matched now and cached.
    pub(crate) async fn spotify_source(&self, track: &Track) -> Result<String, SourceError> {
        let cached = self.cached(&track.key).await;
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
}
