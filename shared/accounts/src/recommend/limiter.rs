//! The one-request-a-second budget each open service asks of its clients, shared by every
//! caller in the process, and the small expiring caches that keep us well inside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A little over a second between requests: MusicBrainz and ListenBrainz count arrivals at
/// their end, and two sends exactly a second apart can arrive closer than that.
pub const INTERVAL: Duration = Duration::from_millis(1_050);
/// The longest a service's "slow down" keeps us away, whatever its `Retry-After` says.
pub const BACK_OFF_MAX: Duration = Duration::from_secs(60);

/// The limiter would have to wait past the caller's deadline, so the request is not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the service's rate limit leaves no room before the deadline")]
pub struct TooLate;

/// Hands out send times at least [`INTERVAL`] apart. Each caller reserves its own slot under
/// the lock and then sleeps outside it, so concurrent callers queue up in order instead of
/// all waking at once.
#[derive(Debug)]
pub struct Limiter {
    interval: Duration,
    /// The earliest instant the next request may be sent.
    next: Mutex<Option<Instant>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(INTERVAL)
    }
}

impl Limiter {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot; refuses at once (reserving nothing) when that slot is
    /// after `deadline`.
    pub async fn acquire(&self, deadline: Instant) -> Result<(), TooLate> {
        let slot = {
            let mut next = lock(&self.next);
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            if slot > deadline {
                return Err(TooLate);
            }
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    /// The service asked us to slow down (429, or 503 for "too fast"): no request before
    /// `pause` from now, capped at [`BACK_OFF_MAX`].
    pub fn back_off(&self, pause: Duration) {
        let until = Instant::now() + pause.min(BACK_OFF_MAX);
        let mut next = lock(&self.next);
        *next = Some(next.map_or(until, |n| n.max(until)));
    }
}

/// A bounded map whose entries expire `ttl` after they were stored. When full, expired
/// entries go first, then the oldest.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let mut entries = lock(&self.entries);
        let fresh = entries.get(key).map(|(at, _)| at.elapsed() < self.ttl)?;
        if fresh {
            entries.get(key).map(|(_, v)| v.clone())
        } else {
            entries.remove(key);
            None
        }
    }

    pub fn insert(&self, key: String, value: V) {
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

/// The state of one service (its limiter and caches), one per base URL for the whole
/// process: the limit is the service's, so every `Recommender` built on the same base shares
/// it. Base URLs come from configuration, so the map stays a handful of entries.
pub fn per_base<T: Default>(registry: &Mutex<HashMap<String, Arc<T>>>, base: &str) -> Arc<T> {
    lock(registry).entry(base.to_owned()).or_default().clone()
}

/// A panic elsewhere while holding one of these locks leaves nothing half-written that
/// matters (a slot or a cache entry), so carry on with the data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_an_interval_apart_even_when_asked_together() {
        let limiter = Arc::new(Limiter::default());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move {
                limiter.acquire(deadline).await.map(|()| Instant::now())
            }));
        }
        let mut at = Vec::new();
        for t in tasks {
            at.push(t.await.unwrap().unwrap());
        }
        at.sort();
        for pair in at.windows(2) {
            assert!(pair[1] - pair[0] >= INTERVAL, "{:?}", pair[1] - pair[0]);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_past_the_deadline_is_refused_and_not_reserved() {
        let limiter = Limiter::default();
        let start = Instant::now();
        limiter
            .acquire(start + Duration::from_secs(5))
            .await
            .unwrap();
        // The next slot is an interval away: a 100 ms deadline cannot have it.
        assert_eq!(
            limiter.acquire(start + Duration::from_millis(100)).await,
            Err(TooLate)
        );
        // The refusal reserved nothing: the next caller still gets the very next slot.
        limiter
            .acquire(start + Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(Instant::now() - start, INTERVAL);
    }

    #[tokio::test(start_paused = true)]
    async fn back_off_pushes_the_next_slot_out_and_is_capped() {
        let limiter = Limiter::default();
        let start = Instant::now();
        limiter.back_off(Duration::from_secs(3));
        assert_eq!(
            limiter.acquire(start + Duration::from_secs(2)).await,
            Err(TooLate)
        );
        limiter
            .acquire(start + Duration::from_secs(4))
            .await
            .unwrap();
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
        limiter.back_off(Duration::from_secs(3600));
        let now = Instant::now();
        assert_eq!(
            limiter
                .acquire(now + BACK_OFF_MAX - Duration::from_secs(1))
                .await,
            Err(TooLate)
        );
        limiter.acquire(now + BACK_OFF_MAX).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn cache_entries_expire_and_the_size_is_bounded() {
        let cache = TtlCache::new(Duration::from_secs(60), 2);
        cache.insert("a".into(), 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        cache.insert("b".into(), 2);
        assert_eq!(cache.get("a"), Some(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        // Full: the oldest ("a") makes room.
        cache.insert("c".into(), 3);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.get("b"), Some(2));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.get("c"), Some(3));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(cache.get("c"), None);
    }

    #[test]
    fn one_state_per_base() {
        let registry: Mutex<HashMap<String, Arc<Limiter>>> = Mutex::new(HashMap::new());
        let a = per_base(&registry, "http://a");
        let b = per_base(&registry, "http://b");
        assert!(Arc::ptr_eq(&a, &per_base(&registry, "http://a")));
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
