//! Access requests (`GUILD#<id>` / `REQUEST`) and the audit log (`AUDIT#<scope>` /
//! `<ms>#<id>`) in the single table.

use aws_sdk_dynamodb::operation::put_item::PutItemError;

use super::*;
use crate::{AccessStore, AuditStore};
use timmybot_domain::{AccessRequest, AuditEntry, AuditScope};

const SK_REQUEST: &str = "REQUEST";

fn audit_pk(scope: AuditScope) -> String {
    format!("AUDIT#{scope}")
}

/// Zero-padded so that sort keys order by time.
fn audit_sk(at_ms: u64, id: &str) -> String {
    format!("{at_ms:020}#{id}")
}

#[derive(Serialize, Deserialize)]
struct RequestItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    request: AccessRequest,
    ttl: u64,
}

#[derive(Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    entry: AuditEntry,
    ttl: u64,
}

impl DynamoStore {
    fn live_request(&self, item: RequestItem) -> Option<AccessRequest> {
        (!self.expired(item.ttl)).then_some(item.request)
    }
}

#[async_trait]
impl AccessStore for DynamoStore {
    async fn request_access(&self, request: &AccessRequest) -> StoreResult<bool> {
        let item = encode(&RequestItem {
            pk: guild_pk(request.guild_id),
            sk: SK_REQUEST.to_owned(),
            request: request.clone(),
            ttl: ttl_seconds(request.expires_at_ms()),
        })?;
        let now_s = self.clock.now_ms() / 1000;
        // TTL deletion is eventual: a lapsed request still present may be replaced.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #ttl <= :now")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(put_err(err)),
            },
        }
    }

    async fn access_request(&self, guild: GuildId) -> StoreResult<Option<AccessRequest>> {
        let item: Option<RequestItem> = self.get(guild_pk(guild), SK_REQUEST).await?;
        Ok(item.and_then(|i| self.live_request(i)))
    }

    async fn pending_requests(&self) -> StoreResult<Vec<AccessRequest>> {
        // Owners ask rarely; a filtered scan costs nothing while nobody asks, where an index
        // would cost on every write.
        let now_s = self.clock.now_ms() / 1000;
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :request AND #ttl > :now")
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":request", AttributeValue::S(SK_REQUEST.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()))
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(item) = pages.next().await {
            let item: RequestItem = decode(item.map_err(aws_err)?)?;
            out.extend(self.live_request(item));
        }
        out.sort_by_key(|r| (r.requested_at_ms, r.guild_id));
        Ok(out)
    }

    async fn close_request(&self, guild: GuildId) -> StoreResult<Option<AccessRequest>> {
        let old: Option<RequestItem> = self.take(guild_pk(guild), SK_REQUEST).await?;
        Ok(old.and_then(|i| self.live_request(i)))
    }
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.put(&AuditItem {
            pk: audit_pk(entry.scope),
            sk: audit_sk(entry.at_ms, &entry.id),
            entry: entry.clone(),
            ttl: ttl_seconds(entry.expires_at_ms()),
        })
        .await
    }

    async fn audit_log(&self, scope: AuditScope, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let page = i32::try_from(limit).unwrap_or(i32::MAX);
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(audit_pk(scope)))
            .scan_index_forward(false)
            .limit(page)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::with_capacity(limit.min(1000));
        while out.len() < limit {
            let Some(item) = items.next().await else {
                break;
            };
            let item: AuditItem = decode(item.map_err(aws_err)?)?;
            if !self.expired(item.ttl) {
                out.push(item.entry);
            }
        }
        Ok(out)
    }
}
