//! The SQLite store's saved playlists: one row each, the summary beside the whole playlist so
//! that listing never reads the tracks.

use super::*;
use crate::PlaylistStore;
use timmybot_domain::{PlaylistName, PlaylistSummary, SavedPlaylist};

#[async_trait]
impl PlaylistStore for SqliteStore {
    async fn save_playlist(&self, playlist: &SavedPlaylist) -> StoreResult<()> {
        let body = json(playlist)?;
        if body.len() > ITEM_MAX_BYTES {
            return Err(StoreError::ItemTooLarge {
                limit: ITEM_MAX_BYTES,
            });
        }
        let summary = json(&playlist.summary())?;
        let guild = playlist.guild_id.to_string();
        let key = playlist.name.key().to_owned();
        self.with_conn(move |c| {
            c.execute(
                "INSERT INTO saved_playlists (guild_id, name_key, summary, body)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (guild_id, name_key) DO UPDATE SET summary = ?3, body = ?4",
                params![guild, key, summary, body],
            )?;
            Ok(())
        })
        .await
    }

    async fn playlist(
        &self,
        guild: GuildId,
        name: &PlaylistName,
    ) -> StoreResult<Option<SavedPlaylist>> {
        let key = name.key().to_owned();
        let body: Option<String> = self
            .with_conn(move |c| {
                Ok(c.query_row(
                    "SELECT body FROM saved_playlists WHERE guild_id = ?1 AND name_key = ?2",
                    params![guild.to_string(), key],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?;
        body.map(|b| unjson("playlist", &b)).transpose()
    }

    async fn playlists(&self, guild: GuildId) -> StoreResult<Vec<PlaylistSummary>> {
        let rows: Vec<String> = self
            .with_conn(move |c| {
                let mut stmt = c.prepare(
                    "SELECT summary FROM saved_playlists WHERE guild_id = ?1 ORDER BY name_key",
                )?;
                let rows = stmt.query_map([guild.to_string()], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        rows.iter().map(|s| unjson("playlist summary", s)).collect()
    }

    async fn delete_playlist(&self, guild: GuildId, name: &PlaylistName) -> StoreResult<bool> {
        let key = name.key().to_owned();
        self.with_conn(move |c| {
            Ok(c.execute(
                "DELETE FROM saved_playlists WHERE guild_id = ?1 AND name_key = ?2",
                params![guild.to_string(), key],
            )? > 0)
        })
        .await
    }
}
