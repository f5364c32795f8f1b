//! The players, one per guild, created on first use.

use std::collections::HashMap;
use std::sync::Arc;

use timmybot_domain::GuildId;
use tokio::sync::Mutex;

use crate::player::{Deps, GuildPlayer, PlayerHandle};

/// The players, one per guild, created on first use.
pub struct Players {
    deps: Arc<Deps>,
    map: Mutex<HashMap<GuildId, PlayerHandle>>,
}

impl Players {
    pub fn new(deps: Arc<Deps>) -> Arc<Self> {
        Arc::new(Self {
            deps,
            map: Mutex::new(HashMap::new()),
        })
    }

    pub fn deps(&self) -> &Arc<Deps> {
        &self.deps
    }

    pub async fn get(&self, guild: GuildId) -> PlayerHandle {
        let mut map = self.map.lock().await;
        map.entry(guild)
            .or_insert_with(|| GuildPlayer::spawn(guild, Arc::clone(&self.deps)))
            .clone()
    }

    pub async fn all(&self) -> Vec<PlayerHandle> {
        self.map.lock().await.values().cloned().collect()
    }
}
