//! The in-process intent bus: an in-memory FIFO queue with SQS FIFO's group, dedup and
//! visibility rules, so the embedded bot runs the worker's consumer unchanged.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{clamp_request, BusError, Delivery, IntentBus, Receipt, DEDUP_WINDOW};
use timmybot_domain::{GuildId, PlaybackIntent};

struct Message {
    seq: u64,
    group: GuildId,
    body: String,
    receive_count: u32,
}

struct InFlight {
    message: Message,
    hidden_until: Instant,
}

#[derive(Default)]
struct State {
    /// Visible messages, ordered by `seq`.
    ready: VecDeque<Message>,
    in_flight: HashMap<String, InFlight>,
    seen: HashMap<String, Instant>,
    next_seq: u64,
    next_receipt: u64,
}

impl State {
    /// Makes messages whose visibility ran out visible again, in their original order.
    fn expire(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.hidden_until <= now)
            .map(|(r, _)| r.clone())
            .collect();
        for receipt in expired {
            if let Some(f) = self.in_flight.remove(&receipt) {
                let at = self.ready.partition_point(|m| m.seq < f.message.seq);
                self.ready.insert(at, f.message);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.in_flight.values().map(|f| f.hidden_until).min()
    }
}

pub struct LocalBus {
    state: std::sync::Mutex<State>,
    notify: Notify,
    visibility: Duration,
}

impl LocalBus {
    /// `visibility` is how long a received message stays hidden before redelivery,
    /// SQS's visibility timeout.
    pub fn new(visibility: Duration) -> Self {
        Self {
            state: std::sync::Mutex::new(State::default()),
            notify: Notify::new(),
            visibility,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every critical section leaves the state consistent, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enqueues a raw body as a producer other than ours might: for tests of bad messages.
    pub fn publish_raw(&self, group: GuildId, dedup_id: &str, body: String) {
        self.enqueue(group, dedup_id, body);
    }

    fn enqueue(&self, group: GuildId, dedup_id: &str, body: String) {
        let now = Instant::now();
        let mut state = self.lock();
        state
            .seen
            .retain(|_, at| now.duration_since(*at) < DEDUP_WINDOW);
        if state.seen.contains_key(dedup_id) {
            return;
        }
        state.seen.insert(dedup_id.to_owned(), now);
        let seq = state.next_seq;
        state.next_seq += 1;
        state.ready.push_back(Message {
            seq,
            group,
            body,
            receive_count: 0,
        });
        drop(state);
        self.notify.notify_waiters();
    }

    /// Takes up to `max` visible messages whose group has nothing in flight.
    fn take(&self, max: usize) -> (Vec<Delivery>, Option<Instant>) {
        let now = Instant::now();
        let mut state = self.lock();
        state.expire(now);
        let busy: HashSet<GuildId> = state.in_flight.values().map(|f| f.message.group).collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < state.ready.len() && out.len() < max {
            if busy.contains(&state.ready[i].group) {
                i += 1;
                continue;
            }
            let Some(mut message) = state.ready.remove(i) else {
                break;
            };
            message.receive_count += 1;
            let receipt = format!("local-{}", state.next_receipt);
            state.next_receipt += 1;
            out.push(Delivery {
                receipt: Receipt(receipt.clone()),
                receive_count: message.receive_count,
                intent: PlaybackIntent::decode(message.body.as_bytes()),
            });
            state.in_flight.insert(
                receipt,
                InFlight {
                    message,
                    hidden_until: now + self.visibility,
                },
            );
        }
        (out, state.next_deadline())
    }
}

#[async_trait]
impl IntentBus for LocalBus {
    async fn publish(&self, intent: &PlaybackIntent) -> Result<(), BusError> {
        self.enqueue(intent.guild_id, intent.id.as_str(), intent.encode());
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let (max, wait) = clamp_request(max, wait);
        let until = Instant::now() + wait;
        loop {
            // Register interest before looking, so a publish in between is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (got, next_deadline) = self.take(max);
            if !got.is_empty() || Instant::now() >= until {
                return Ok(got);
            }
            let wake = next_deadline.map_or(until, |d| d.min(until));
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), BusError> {
        let removed = self.lock().in_flight.remove(&receipt.0);
        // The group may have more messages waiting behind this one.
        self.notify.notify_waiters();
        removed.map(|_| ()).ok_or(BusError::StaleReceipt)
    }

    async fn extend(&self, receipt: &Receipt, visibility: Duration) -> Result<(), BusError> {
        let mut state = self.lock();
        let f = state
            .in_flight
            .get_mut(&receipt.0)
            .ok_or(BusError::StaleReceipt)?;
        f.hidden_until = Instant::now() + visibility;
        Ok(())
    }
}
