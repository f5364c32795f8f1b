//! Saved playlists in the single table: `GUILD#<id>` / `PLAYLIST#<key>`, no `ttl`. Listing
//! reads the summary attributes only, never the tracks.

use super::*;
use crate::PlaylistStore;
use timmybot_domain::{PlaylistName, PlaylistSummary, SavedPlaylist};

const SK_PLAYLIST: &str = "PLAYLIST#";

fn playlist_sk(name: &PlaylistName) -> String {
    format!("{SK_PLAYLIST}{}", name.key())
}

/// No `ttl` field: a saved playlist is kept until someone deletes it.
#[derive(Serialize, Deserialize)]
struct PlaylistItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    summary: PlaylistSummary,
    playlist: SavedPlaylist,
}

/// What a listing projects.
#[derive(Deserialize)]
struct SummaryItem {
    #[serde(flatten)]
    summary: PlaylistSummary,
}

#[async_trait]
impl PlaylistStore for DynamoStore {
    async fn save_playlist(&self, playlist: &SavedPlaylist) -> StoreResult<()> {
        self.put(&PlaylistItem {
            pk: guild_pk(playlist.guild_id),
            sk: playlist_sk(&playlist.name),
            summary: playlist.summary(),
            playlist: playlist.clone(),
        })
        .await
    }

    async fn playlist(
        &self,
        guild: GuildId,
        name: &PlaylistName,
    ) -> StoreResult<Option<SavedPlaylist>> {
        Ok(self
            .get::<PlaylistItem>(guild_pk(guild), &playlist_sk(name))
            .await?
            .map(|item| item.playlist))
    }

    async fn playlists(&self, guild: GuildId) -> StoreResult<Vec<PlaylistSummary>> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .projection_expression("#n, #o, #at, #count, #len")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_names("#n", "name")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_names("#at", "saved_at_ms")
            .expression_attribute_names("#count", "track_count")
            .expression_attribute_names("#len", "duration_ms")
            .expression_attribute_values(":pk", AttributeValue::S(guild_pk(guild)))
            .expression_attribute_values(":prefix", AttributeValue::S(SK_PLAYLIST.to_owned()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(aws_err)?;
        items
            .into_iter()
            .map(|item| Ok(decode::<SummaryItem>(item)?.summary))
            .collect()
    }

    async fn delete_playlist(&self, guild: GuildId, name: &PlaylistName) -> StoreResult<bool> {
        self.delete(guild_pk(guild), &playlist_sk(name)).await
    }
}
