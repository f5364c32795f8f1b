//! Access requests and the audit log, in SQLite: each record as JSON beside its keys.

use super::*;
use crate::{AccessStore, AuditStore};
use timmybot_domain::{AccessRequest, AuditEntry, AuditScope};

#[async_trait]
impl AccessStore for SqliteStore {
    async fn request_access(&self, request: &AccessRequest) -> StoreResult<bool> {
        let body = json(request)?;
        let (guild, at, expires) = (
            request.guild_id.to_string(),
            to_sql(request.requested_at_ms),
            to_sql(request.expires_at_ms()),
        );
        let now = self.now();
        self.with_conn(move |c| {
            // Written if absent, or over one that has lapsed; a pending one stays.
            let changed = c.execute(
                "INSERT INTO access_requests (guild_id, body, requested_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (guild_id) DO UPDATE SET body = ?2, requested_at_ms = ?3,
                     expires_at_ms = ?4
                 WHERE access_requests.expires_at_ms <= ?5",
                params![guild, body, at, expires, now],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn access_request(&self, guild: GuildId) -> StoreResult<Option<AccessRequest>> {
        let now = self.now();
        self.with_conn(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM access_requests WHERE guild_id = ?1 AND expires_at_ms > ?2",
                    params![guild.to_string(), now],
                    |r| r.get(0),
                )
                .optional()?;
            body.map(|b| unjson("access request", &b)).transpose()
        })
        .await
    }

    async fn pending_requests(&self) -> StoreResult<Vec<AccessRequest>> {
        let now = self.now();
        self.with_conn(move |c| {
            let mut stmt = c.prepare(
                "SELECT body FROM access_requests WHERE expires_at_ms > ?1
                 ORDER BY requested_at_ms, guild_id",
            )?;
            let rows = stmt.query_map([now], |r| r.get::<_, String>(0))?;
            rows.map(|b| unjson("access request", &b?)).collect()
        })
        .await
    }

    async fn close_request(&self, guild: GuildId) -> StoreResult<Option<AccessRequest>> {
        let now = self.now();
        self.with_conn(move |c| {
            let tx = c.transaction()?;
            let body: Option<String> = tx
                .query_row(
                    "SELECT body FROM access_requests WHERE guild_id = ?1 AND expires_at_ms > ?2",
                    params![guild.to_string(), now],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "DELETE FROM access_requests WHERE guild_id = ?1",
                [guild.to_string()],
            )?;
            tx.commit()?;
            body.map(|b| unjson("access request", &b)).transpose()
        })
        .await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let body = json(entry)?;
        let (scope, at, id, expires) = (
            entry.scope.to_string(),
            to_sql(entry.at_ms),
            entry.id.clone(),
            to_sql(entry.expires_at_ms()),
        );
        self.with_conn(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO audit_log (scope, at_ms, id, body, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![scope, at, id, body, expires],
            )?;
            Ok(())
        })
        .await
    }

    async fn audit_log(&self, scope: AuditScope, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let now = self.now();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |c| {
            let mut stmt = c.prepare(
                "SELECT body FROM audit_log WHERE scope = ?1 AND expires_at_ms > ?2
                 ORDER BY at_ms DESC, id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![scope.to_string(), now, limit], |r| {
                r.get::<_, String>(0)
            })?;
            rows.map(|b| unjson("audit entry", &b?)).collect()
        })
        .await
    }
}
