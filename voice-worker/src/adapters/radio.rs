//! Autoplay's port on the recommendation engine (the one `/recommendations` uses) and the
//! sources: a suggestion ("Artist - Title", or a past play's source) resolved as `/play`
//! would resolve it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use timmybot_accounts::recommend::{normalise, Recommender, Seed};
use timmybot_config::ServiceUrls;
use timmybot_domain::{HistoryEntry, TrackKey, UserId};
use timmybot_sources::Sources;

use crate::ports::{Radio, RadioPick, AUTOPLAY_FRESH};

/// Plays seeding the engine, newest first: what the guild just played leads.
const SEEDS: usize = 3;
/// Suggestions asked for at once, so that one that cannot be found is not the end.
const CANDIDATES: usize = 5;

pub struct OpenRadio {
    recommender: Recommender,
    sources: Arc<Sources>,
}

impl OpenRadio {
    pub fn new(urls: &ServiceUrls, sources: Arc<Sources>) -> Self {
        Self {
            recommender: Recommender::new(
                timmybot_accounts::http::client(),
                &urls.musicbrainz,
                &urls.listenbrainz,
            ),
            sources,
        }
    }
}

#[async_trait]
impl Radio for OpenRadio {
    async fn pick(
        &self,
        history: &[HistoryEntry],
        requester: UserId,
        within: Duration,
    ) -> Option<RadioPick> {
        let seeds: Vec<Seed> = history.iter().take(SEEDS).map(Seed::from).collect();
        let fresh = &history[..history.len().min(AUTOPLAY_FRESH)];
        let exclude: HashSet<String> = fresh
            .iter()
            .map(|h| normalise(h.artist.as_deref().unwrap_or_default(), &h.title))
            .collect();
        let played: HashSet<&TrackKey> = fresh.iter().map(|h| &h.track_key).collect();
        let found = self
            .recommender
            .suggest(&seeds, history, &exclude, CANDIDATES, within)
            .await;
        if let Some(note) = &found.note {
            tracing::info!(%note, "autoplay: suggestions from history");
        }
        for s in found.items {
            match self.sources.resolve(&s.query, requester).await {
                // A search can land on a track just played under another title.
                Ok(tracks) => match tracks.into_iter().next() {
                    Some(track) if !played.contains(&track.key) => {
                        return Some(RadioPick {
                            track,
                            because: s.because,
                        })
                    }
                    _ => continue,
                },
                Err(e) => tracing::info!(error = %e, "autoplay: a suggestion was not found"),
            }
        }
        None
    }
}
