//! The Discord gateway: twilight shards with the GUILDS and GUILD_VOICE_STATES intents.
//! Voice events go to songbird (which does the voice handshake, DAVE included); voice states
//! also feed the cache the players ask who is listening.

use std::sync::Arc;

use tokio::sync::{watch, Semaphore};
use twilight_gateway::{Event, EventTypeFlags, Shard, StreamExt};

use crate::adapters::calls::Calls;
use crate::adapters::presence::VoiceStates;
use crate::identify::IdentifyQueue;

/// The events the worker reads; everything else is skipped before deserializing.
pub fn wanted() -> EventTypeFlags {
    EventTypeFlags::READY
        | EventTypeFlags::GUILD_CREATE
        | EventTypeFlags::GUILD_DELETE
        | EventTypeFlags::VOICE_STATE_UPDATE
        | EventTypeFlags::VOICE_SERVER_UPDATE
        | EventTypeFlags::INTERACTION_CREATE
}

/// Runs one shard until `stop`. Its first READY adds a permit to `ready`, so the worker can
/// wait for all its shards.
pub async fn run_shard(
    mut shard: Shard<IdentifyQueue>,
    calls: Arc<Calls>,
    states: Arc<VoiceStates>,
    ready: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
    on_event: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
    metrics: Arc<crate::metrics::WorkerMetrics>,
) {
    let id = shard.id();
    let latency = metrics
        .gateway_latency_seconds
        .get_or_create(&crate::metrics::ShardLabel { shard: id.number() })
        .clone();
    let mut was_ready = false;
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
            if !std::mem::replace(&mut was_ready, true) {
                ready.add_permits(1);
            }
        }
        if let Some(average) = shard.latency().average() {
            latency.set(average.as_secs_f64());
        }
        states.update(&event);
        calls.process(&event).await;
        if let Some(tx) = &on_event {
            let _ = tx.send(event);
        }
    }
    shard.close(twilight_gateway::CloseFrame::NORMAL);
    tracing::info!(shard = %id, "gateway closed");
}
