//! The Discord gateway: twilight shards with the GUILDS and GUILD_VOICE_STATES intents.
//! Voice events go to songbird (which does the voice handshake, DAVE included); voice states
//! also feed the cache the players ask who is listening.

use std::sync::Arc;

use songbird::Songbird;
use tokio::sync::{watch, Notify};
use twilight_gateway::{Event, EventTypeFlags, Shard, StreamExt};

use crate::adapters::presence::VoiceStates;
use crate::identify::BudgetQueue;

/// The events the worker reads; everything else is skipped before deserializing.
pub fn wanted() -> EventTypeFlags {
    EventTypeFlags::READY
        | EventTypeFlags::GUILD_CREATE
        | EventTypeFlags::GUILD_DELETE
        | EventTypeFlags::VOICE_STATE_UPDATE
        | EventTypeFlags::VOICE_SERVER_UPDATE
        | EventTypeFlags::INTERACTION_CREATE
}

/// Runs one shard until `stop`. `ready` is notified on each READY.
pub async fn run_shard(
    mut shard: Shard<BudgetQueue>,
    songbird: Arc<Songbird>,
    states: Arc<VoiceStates>,
    ready: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    on_event: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
    metrics: Arc<crate::metrics::WorkerMetrics>,
) {
    let id = shard.id();
    let latency = metrics
        .gateway_latency_seconds
        .get_or_create(&crate::metrics::ShardLabel { shard: id.number() })
        .clone();
    loop {
        let item = tokio::select! {
            _ = stop.changed() => break,
            item = shard.next_event(wanted()) => item,
        };
        let event = match item {
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                tracing::warn!(shard = %id, error = %e, "gateway receive error");
                continue;
            }
            None => break,
        };
        if matches!(event, Event::Ready(_)) {
            tracing::info!(shard = %id, "gateway ready");
            ready.notify_waiters();
            ready.notify_one();
        }
        if let Some(average) = shard.latency().average() {
            latency.set(average.as_secs_f64());
        }
        states.update(&event);
        songbird.process(&event).await;
        if let Some(tx) = &on_event {
            let _ = tx.send(event);
        }
    }
    shard.close(twilight_gateway::CloseFrame::NORMAL);
    tracing::info!(shard = %id, "gateway closed");
}
