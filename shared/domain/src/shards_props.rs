//! Property tests for the shard plan: for any shard and worker count, every shard has
//! exactly one owner, each worker's shards are one contiguous range, the ranges are as even
//! as they can be, and a guild's owner is the same whoever asks.

use proptest::prelude::*;

use crate::shards::{ShardPlan, WorkerIndex, WORKER_COUNT_MAX};
use crate::GuildId;

/// Shard counts up to a few thousand, and any worker count the plan allows for them.
fn plan() -> impl Strategy<Value = ShardPlan> {
    (1u32..=4_096)
        .prop_flat_map(|shards| (Just(shards), 1..=shards.min(WORKER_COUNT_MAX)))
        .prop_map(|(s, w)| ShardPlan::new(s, w).expect("a valid plan"))
}

proptest! {
    #[test]
    fn every_shard_is_owned_exactly_once_in_contiguous_ranges(p in plan()) {
        let mut next = 0u32;
        for worker in p.workers() {
            let span = p.span_of(worker).expect("each listed worker has a span");
            // Contiguous and in order: each range starts where the last one ended.
            prop_assert_eq!(span.first(), next);
            prop_assert!(span.first() <= span.last());
            for shard in span.shards() {
                prop_assert_eq!(p.worker_of_shard(shard), Some(worker));
            }
            next = span.last() + 1;
        }
        prop_assert_eq!(next, p.shard_count(), "the ranges cover every shard");
        prop_assert_eq!(p.worker_of_shard(p.shard_count()), None);
    }

    #[test]
    fn the_ranges_differ_in_size_by_at_most_one(p in plan()) {
        let sizes: Vec<u32> = p
            .workers()
            .map(|w| p.span_of(w).expect("a span").len())
            .collect();
        let (min, max) = (sizes.iter().min().copied(), sizes.iter().max().copied());
        prop_assert!(max.zip(min).is_some_and(|(max, min)| max - min <= 1), "{:?}", sizes);
    }

    #[test]
    fn a_guild_has_one_owner_whoever_asks(
        p in plan(),
        id in 1u64..=u64::MAX,
    ) {
        let g = GuildId::new(id).expect("non-zero");
        let owner = p.worker_of(g);
        // The endpoint and a worker build their plans separately from the same settings.
        let again = ShardPlan::new(p.shard_count(), p.worker_count()).expect("same plan");
        prop_assert_eq!(again.worker_of(g), owner);
        prop_assert_eq!(p.shard_of(g), g.shard(p.shard_count()));
        for worker in p.workers() {
            let span = p.span_of(worker).expect("a span");
            prop_assert_eq!(span.owns(g), worker == owner);
        }
    }

    #[test]
    fn identify_shares_never_exceed_the_budget(p in plan(), budget in 0u32..=100_000) {
        let total: u64 = p.workers().map(|w| u64::from(p.identify_share(w, budget))).sum();
        prop_assert!(total <= u64::from(budget));
        prop_assert_eq!(p.identify_share(WorkerIndex::new(p.worker_count()), budget), 0);
    }
}
