//! Each user's playlist pages for a minute. YouTube's quota is 10,000 units a day per
//! project, and a user paging back and forth through `/my-playlists` should not spend it.
//! Pure: the caller passes the time (the domain's `Clock`), so tests need no sleeping.

use std::collections::HashMap;
use std::sync::Mutex;

use timmybot_domain::{Platform, UserId};

use super::{Page, Playlist, CURSOR_MAX};

/// How long a listed page is served from the cache.
pub const LIST_TTL_MS: u64 = 60_000;
/// Pages kept at most; the oldest goes first. A page is a few kilobytes.
pub const LIST_CACHE_ENTRIES: usize = 512;

type Key = (UserId, Platform, Option<String>);

struct Entry {
    stored_at_ms: u64,
    page: Page<Playlist>,
}

impl Entry {
    /// A clock that went backwards does not make an entry live longer than a minute.
    fn fresh(&self, now_ms: u64) -> bool {
        now_ms >= self.stored_at_ms && now_ms - self.stored_at_ms < LIST_TTL_MS
    }
}

/// Playlist pages keyed by (user, platform, cursor), for [`LIST_TTL_MS`], at most
/// `capacity` of them. Shared between handlers: every method takes `&self`.
pub struct ListCache {
    entries: Mutex<HashMap<Key, Entry>>,
    capacity: usize,
}

impl std::fmt::Debug for ListCache {
    // Users' playlist titles are theirs; a debug line says only how many pages are held.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListCache")
            .field("entries", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for ListCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ListCache {
    pub fn new() -> Self {
        Self::with_capacity(LIST_CACHE_ENTRIES)
    }

    /// At least one entry, whatever is asked.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The page listed for this user, platform and cursor less than a minute ago.
    pub fn get(
        &self,
        user: UserId,
        platform: Platform,
        cursor: Option<&str>,
        now_ms: u64,
    ) -> Option<Page<Playlist>> {
        let key = (user, platform, cursor.map(str::to_owned));
        let mut entries = self.lock();
        match entries.get(&key) {
            Some(entry) if entry.fresh(now_ms) => Some(entry.page.clone()),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Remembers a page. Stale entries are dropped first; when still full, the oldest goes.
    pub fn put(
        &self,
        user: UserId,
        platform: Platform,
        cursor: Option<&str>,
        page: Page<Playlist>,
        now_ms: u64,
    ) {
        // The clients refuse longer cursors; a key never grows past what they hand out.
        if cursor.is_some_and(|c| c.len() > CURSOR_MAX) {
            return;
        }
        let key = (user, platform, cursor.map(str::to_owned));
        let mut entries = self.lock();
        if !entries.contains_key(&key) && entries.len() >= self.capacity {
            entries.retain(|_, e| e.fresh(now_ms));
            while entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.stored_at_ms)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => entries.remove(&k),
                    None => break,
                };
            }
        }
        entries.insert(
            key,
            Entry {
                stored_at_ms: now_ms,
                page,
            },
        );
    }

    /// Drops every page of this user's list on `platform`: after a link, an unlink, or a
    /// change the user just made.
    pub fn forget(&self, user: UserId, platform: Platform) {
        self.lock()
            .retain(|(u, p, _), _| !(*u == user && *p == platform));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u64) -> UserId {
        UserId::new(n).unwrap()
    }

    fn page(title: &str, next: Option<&str>) -> Page<Playlist> {
        Page {
            items: vec![Playlist {
                platform: Platform::Youtube,
                id: "PL1".into(),
                title: title.into(),
                tracks: 3,
            }],
            next: next.map(str::to_owned),
            total: Some(1),
        }
    }

    #[test]
    fn a_page_is_served_for_a_minute_then_gone() {
        let cache = ListCache::new();
        let t0 = 1_700_000_000_000;
        cache.put(
            user(1),
            Platform::Youtube,
            None,
            page("a", Some("CBkQAA")),
            t0,
        );
        assert_eq!(
            cache.get(user(1), Platform::Youtube, None, t0 + LIST_TTL_MS - 1),
            Some(page("a", Some("CBkQAA")))
        );
        assert_eq!(
            cache.get(user(1), Platform::Youtube, None, t0 + LIST_TTL_MS),
            None
        );
        // The stale entry was dropped, not just hidden.
        assert!(cache.is_empty());
        // A clock that went backwards does not revive or prolong it.
        cache.put(user(1), Platform::Youtube, None, page("a", None), t0);
        assert_eq!(cache.get(user(1), Platform::Youtube, None, t0 - 1), None);
    }

    #[test]
    fn keyed_by_user_platform_and_cursor() {
        let cache = ListCache::new();
        let now = 5_000;
        cache.put(
            user(1),
            Platform::Youtube,
            None,
            page("first", Some("T2")),
            now,
        );
        cache.put(
            user(1),
            Platform::Youtube,
            Some("T2"),
            page("second", None),
            now,
        );
        cache.put(user(1), Platform::Spotify, None, page("spotify", None), now);
        cache.put(
            user(2),
            Platform::Youtube,
            None,
            page("other user", None),
            now,
        );
        let title = |u, p, c| {
            cache
                .get(user(u), p, c, now + 1)
                .map(|pg| pg.items[0].title.clone())
        };
        assert_eq!(title(1, Platform::Youtube, None).as_deref(), Some("first"));
        assert_eq!(
            title(1, Platform::Youtube, Some("T2")).as_deref(),
            Some("second")
        );
        assert_eq!(
            title(1, Platform::Spotify, None).as_deref(),
            Some("spotify")
        );
        assert_eq!(
            title(2, Platform::Youtube, None).as_deref(),
            Some("other user")
        );
        assert_eq!(title(2, Platform::Youtube, Some("T2")), None);
        assert_eq!(title(3, Platform::Youtube, None), None);
    }

    #[test]
    fn bounded_and_the_oldest_goes_first() {
        let cache = ListCache::with_capacity(3);
        for n in 1..=3 {
            cache.put(user(n), Platform::Youtube, None, page("p", None), 1_000 + n);
        }
        // Refreshing an entry in place neither grows the cache nor evicts anyone.
        cache.put(user(1), Platform::Youtube, None, page("p2", None), 1_010);
        assert_eq!(cache.len(), 3);
        cache.put(user(4), Platform::Youtube, None, page("p", None), 1_020);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(user(2), Platform::Youtube, None, 1_030), None);
        for n in [1, 3, 4] {
            assert!(
                cache.get(user(n), Platform::Youtube, None, 1_030).is_some(),
                "{n}"
            );
        }
        // Stale entries go before fresh ones, however many there are.
        let later = 1_020 + LIST_TTL_MS;
        cache.put(user(5), Platform::Youtube, None, page("p", None), later);
        assert_eq!(cache.len(), 1);
        // A cursor longer than any client hands out is never a key.
        let long = "x".repeat(CURSOR_MAX + 1);
        cache.put(
            user(6),
            Platform::Youtube,
            Some(&long),
            page("p", None),
            later,
        );
        assert_eq!(cache.len(), 1);
        assert!(ListCache::with_capacity(0).capacity >= 1);
    }

    #[test]
    fn forget_drops_one_users_list_on_one_platform() {
        let cache = ListCache::new();
        cache.put(user(1), Platform::Youtube, None, page("a", None), 0);
        cache.put(user(1), Platform::Youtube, Some("T2"), page("b", None), 0);
        cache.put(user(1), Platform::Spotify, None, page("c", None), 0);
        cache.put(user(2), Platform::Youtube, None, page("d", None), 0);
        cache.forget(user(1), Platform::Youtube);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(user(1), Platform::Spotify, None, 1).is_some());
        assert!(cache.get(user(2), Platform::Youtube, None, 1).is_some());
        assert!(format!("{cache:?}").contains("entries: 2"));
    }
}
