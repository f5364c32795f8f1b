//! Choosing among candidates: taking turns across the seeds, skipping what is taken, and the
//! history fallback.

use std::collections::HashSet;

use timmybot_domain::HistoryEntry;

use super::names::{key_parts, normalise};
use super::Suggestion;

/// Enough to stop asking: `want` suggestions, drawn from as many different seeds as `want`
/// (or all the seeds) allow, so `/recommendations` reflects more than the newest play while
/// autoplay (one at a time) stops after the first answer.
pub(super) fn enough(
    lists: &[Vec<Suggestion>],
    taken: &HashSet<String>,
    want: usize,
    seeds: usize,
) -> bool {
    let picked = pick(lists.to_vec(), taken, want);
    let sources: HashSet<&str> = picked.iter().map(|s| s.because.as_str()).collect();
    picked.len() >= want && sources.len() >= want.min(seeds)
}

/// Round robin across the lists: the first of each, then the second of each, and so on.
pub(super) fn interleave<T>(lists: Vec<Vec<T>>) -> Vec<T> {
    let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        out.extend(iters.iter_mut().filter_map(Iterator::next));
        if out.len() == before {
            return out;
        }
    }
}

/// Up to `want` candidates from the per-seed `lists`, taken in turn from each list (after
/// dropping what is `taken`, so every seed's first eligible track comes early), each key once.
pub(super) fn pick(
    lists: Vec<Vec<Suggestion>>,
    taken: &HashSet<String>,
    want: usize,
) -> Vec<Suggestion> {
    let eligible = |s: &Suggestion| !taken.contains(&normalise(&s.artist, &s.title));
    let lists = lists
        .into_iter()
        .map(|l| l.into_iter().filter(&eligible).collect())
        .collect();
    let mut seen = HashSet::new();
    interleave(lists)
        .into_iter()
        .filter(|s| seen.insert(normalise(&s.artist, &s.title)))
        .take(want)
        .collect()
}

/// Up to `want` plays from `history` (newest first) whose key is not `taken`, each once: those
/// by one of `artists` (normalised artist, the seed title it stands for) first, then the rest.
pub(super) fn from_history(
    history: &[HistoryEntry],
    artists: &[(String, String)],
    newest_seed: &str,
    taken: &HashSet<String>,
    want: usize,
) -> Vec<Suggestion> {
    let mut seen = HashSet::new();
    let mut preferred = Vec::new();
    let mut rest = Vec::new();
    for entry in history {
        if preferred.len() >= want {
            break;
        }
        if entry.source.trim().is_empty() {
            continue;
        }
        let artist = entry.artist.as_deref().unwrap_or("");
        let (artist_key, title_key) = key_parts(artist, &entry.title);
        let key = format!("{artist_key} - {title_key}");
        if taken.contains(&key) || !seen.insert(key) {
            continue;
        }
        let by_seed_artist = artists.iter().find(|(a, _)| *a == artist_key);
        let suggestion = Suggestion {
            title: entry.title.clone(),
            artist: artist.to_owned(),
            query: entry.source.clone(),
            because: by_seed_artist
                .map_or(newest_seed, |(_, because)| because.as_str())
                .to_owned(),
        };
        if by_seed_artist.is_some() {
            preferred.push(suggestion);
        } else if rest.len() < want {
            rest.push(suggestion);
        }
    }
    preferred.into_iter().chain(rest).take(want).collect()
}
