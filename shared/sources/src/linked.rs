//! The requester's own accounts: a pasted Spotify playlist read as them, and `library:`
//! references expanded with their token.

use timmybot_domain::queue::QUEUE_CAP;
use timmybot_domain::{Expanded, LibraryRef, Platform, Track, TrackKey, UserId};

use crate::spotify::SpotifyTrack;
use crate::spotify_match::remember;
use crate::{Resolved, SourceError, Sources};

/// Cache writes in flight at once while a library list is queued.
const REMEMBER_CONCURRENCY: usize = 16;

/// The requester's linked accounts (the accounts crate: the vault, refreshed tokens, the
/// platforms' library APIs). Since 9 March 2026 a pasted Spotify playlist can only be read
/// as a user who owns or collaborates on it, and a library reference is the requester's own.
#[async_trait::async_trait]
pub trait LinkedAccounts: Send + Sync {
    /// The requester's fresh Spotify access token, if they linked Spotify.
    async fn spotify_token(&self, user: UserId) -> Option<secrecy::SecretString>;
    /// The tracks `list` names in `user`'s own library, at most `max`; the error is a
    /// sentence for the user.
    async fn expand(&self, user: UserId, list: &LibraryRef, max: usize)
        -> Result<Expanded, String>;
}

impl Sources {
    /// A list from the requester's own library, read with their token: YouTube videos play
    /// through yt-dlp by id, Spotify tracks are matched when they come to play.
    pub(crate) async fn library_tracks(
        &self,
        list: &LibraryRef,
        requester: UserId,
    ) -> Result<Resolved, SourceError> {
        let linked = self.linked.as_ref().ok_or(SourceError::NoAccounts)?;
        let expanded = linked
            .expand(requester, list, QUEUE_CAP)
            .await
            .map_err(SourceError::Library)?;
        let note = match expanded.skipped {
            0 => None,
            1 => Some("1 entry was skipped: it is private, removed or not a song.".to_owned()),
            n => Some(format!(
                "{n} entries were skipped: they are private, removed or not songs."
            )),
        };
        if expanded.tracks.is_empty() {
            return Err(SourceError::Library(match note {
                Some(n) => format!("Nothing in that list can be played. {n}"),
                None => "That list is empty.".to_owned(),
            }));
        }
        let mut tracks = Vec::with_capacity(expanded.tracks.len());
        let mut spotify = Vec::new();
        for t in expanded.tracks {
            match t.platform {
                Platform::Spotify => {
                    let st = SpotifyTrack {
                        id: t.id,
                        title: t.title,
                        artists: t.artist.into_iter().collect(),
                        duration_ms: t.duration_ms.unwrap_or_default(),
                        isrc: t.isrc,
                    };
                    tracks.push(self.spotify_track(&st, requester)?);
                    spotify.push(st);
                }
                _ => {
                    let url = format!("https://www.youtube.com/watch?v={}", t.id);
                    let mut track = Track::new(
                        TrackKey::new(Platform::Youtube, &url)?,
                        &t.title,
                        &url,
                        requester,
                    )?;
                    if let Some(a) = t.artist.as_deref() {
                        track = track.with_artist(a);
                    }
                    if let Some(ms) = t.duration_ms {
                        track = track.with_duration_ms(ms);
                    }
                    tracks.push(track);
                }
            }
        }
        // The ISRCs, for the match when each comes to play; several at once, so a 200-track
        // list is queued in a few round trips' time rather than 200.
        let mut writes = tokio::task::JoinSet::new();
        for t in spotify {
            let (cache, clock) = (self.cache.clone(), self.clock.clone());
            writes.spawn(async move { remember(cache.as_ref(), clock.as_ref(), &t).await });
            if writes.len() >= REMEMBER_CONCURRENCY {
                writes.join_next().await;
            }
        }
        while writes.join_next().await.is_some() {}
        Ok(Resolved { tracks, note })
    }
}
