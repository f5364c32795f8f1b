//! Who owns a guild. Discord puts a guild on shard `(guild_id >> 22) % SHARD_COUNT`, and
//! worker `i` of `WORKER_COUNT` owns one contiguous range of shards. The endpoint routes
//! intents with this and every worker runs its range with it, so they agree by construction.

use std::fmt;
use std::ops::RangeInclusive;

use crate::ids::GuildId;

/// Far above any bot's shard count; it bounds what a mistyped `SHARD_COUNT` can ask for.
pub const SHARD_COUNT_MAX: u32 = 65_536;
/// More workers than this would be a cluster, not a bot; it also bounds the settings' lists.
pub const WORKER_COUNT_MAX: u32 = 64;

/// A voice worker's place among its peers: `WORKER_INDEX`, from 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct WorkerIndex(u32);

impl WorkerIndex {
    /// The only worker of a one-worker deployment.
    pub const FIRST: Self = Self(0);

    pub const fn new(index: u32) -> Self {
        Self(index)
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for WorkerIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for WorkerIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkerIndex({})", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the shard count must be 1 to {SHARD_COUNT_MAX}, got {0}")]
    ShardCount(u32),
    #[error("the worker count must be 1 to {WORKER_COUNT_MAX}, got {0}")]
    WorkerCount(u32),
    #[error("{workers} workers need at least {workers} shards (one each), got {shards}")]
    TooFewShards { shards: u32, workers: u32 },
    #[error("there is no worker {index} among {count} (indexes start at 0)")]
    NoSuchWorker { index: u32, count: u32 },
    #[error("shards {first}..={last} are not a range of {count} shards")]
    BadSpan { count: u32, first: u32, last: u32 },
}

/// How a bot's shards are split among its workers: worker `i` owns the shards from
/// `i * S / W` up to the next worker's first, so every range is contiguous and the sizes
/// differ by at most one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardPlan {
    shard_count: u32,
    worker_count: u32,
}

impl ShardPlan {
    /// One shard, one worker: a one-worker deployment routes every guild to worker 0,
    /// however many shards that worker runs.
    pub const SINGLE: Self = Self {
        shard_count: 1,
        worker_count: 1,
    };

    pub fn new(shard_count: u32, worker_count: u32) -> Result<Self, PlanError> {
        if shard_count == 0 || shard_count > SHARD_COUNT_MAX {
            return Err(PlanError::ShardCount(shard_count));
        }
        if worker_count == 0 || worker_count > WORKER_COUNT_MAX {
            return Err(PlanError::WorkerCount(worker_count));
        }
        if worker_count > shard_count {
            return Err(PlanError::TooFewShards {
                shards: shard_count,
                workers: worker_count,
            });
        }
        Ok(Self {
            shard_count,
            worker_count,
        })
    }

    pub fn shard_count(&self) -> u32 {
        self.shard_count
    }

    pub fn worker_count(&self) -> u32 {
        self.worker_count
    }

    /// The guild's shard, under Discord's rule.
    pub fn shard_of(&self, guild: GuildId) -> u32 {
        guild.shard(self.shard_count)
    }

    /// The worker whose range holds `shard`; `None` past the last shard.
    pub fn worker_of_shard(&self, shard: u32) -> Option<WorkerIndex> {
        if shard >= self.shard_count {
            return None;
        }
        // The largest i with first(i) = floor(i·S/W) ≤ shard, which is i < (shard+1)·W/S.
        let (s, w, n) = (
            u64::from(shard),
            u64::from(self.worker_count),
            u64::from(self.shard_count),
        );
        let index = ((s + 1) * w - 1) / n;
        // Below worker_count, which is a u32.
        Some(WorkerIndex(index as u32))
    }

    /// The worker that serves `guild`: it holds the guild's gateway shard.
    pub fn worker_of(&self, guild: GuildId) -> WorkerIndex {
        self.worker_of_shard(self.shard_of(guild))
            .unwrap_or(WorkerIndex::FIRST)
    }

    fn first_shard(&self, index: u32) -> u32 {
        let first = u64::from(index) * u64::from(self.shard_count) / u64::from(self.worker_count);
        // At most shard_count, which is a u32.
        first as u32
    }

    /// The shards `worker` owns.
    pub fn span_of(&self, worker: WorkerIndex) -> Result<ShardSpan, PlanError> {
        if worker.0 >= self.worker_count {
            return Err(PlanError::NoSuchWorker {
                index: worker.0,
                count: self.worker_count,
            });
        }
        Ok(ShardSpan {
            count: self.shard_count,
            first: self.first_shard(worker.0),
            last: self.first_shard(worker.0 + 1) - 1,
        })
    }

    pub fn workers(&self) -> impl Iterator<Item = WorkerIndex> {
        (0..self.worker_count).map(WorkerIndex)
    }

    /// `worker`'s part of a daily identify budget, in proportion to its shards. The parts
    /// never add up to more than the budget, so the workers need not ask each other.
    pub fn identify_share(&self, worker: WorkerIndex, daily_budget: u32) -> u32 {
        self.span_of(worker)
            .map_or(0, |span| span.identify_share(daily_budget))
    }
}

/// The shards one worker runs: a contiguous range out of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpan {
    count: u32,
    first: u32,
    last: u32,
}

impl ShardSpan {
    /// One shard of one: what an embedded bot, or a test, owns.
    pub const WHOLE: Self = Self {
        count: 1,
        first: 0,
        last: 0,
    };

    pub fn new(count: u32, first: u32, last: u32) -> Result<Self, PlanError> {
        if count == 0 || count > SHARD_COUNT_MAX {
            return Err(PlanError::ShardCount(count));
        }
        if first > last || last >= count {
            return Err(PlanError::BadSpan { count, first, last });
        }
        Ok(Self { count, first, last })
    }

    /// Every shard of `count`.
    pub fn all(count: u32) -> Result<Self, PlanError> {
        Self::new(count, 0, count.saturating_sub(1))
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn first(&self) -> u32 {
        self.first
    }

    pub fn last(&self) -> u32 {
        self.last
    }

    pub fn shards(&self) -> RangeInclusive<u32> {
        self.first..=self.last
    }

    pub fn len(&self) -> u32 {
        self.last - self.first + 1
    }

    /// Never true: a span holds at least one shard.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// This span's part of a daily identify budget shared by all `count` shards.
    pub fn identify_share(&self, daily_budget: u32) -> u32 {
        let share = u64::from(daily_budget) * u64::from(self.len()) / u64::from(self.count);
        // At most daily_budget, which is a u32.
        share as u32
    }

    /// Whether `guild` is on one of these shards.
    pub fn owns(&self, guild: GuildId) -> bool {
        self.shards().contains(&guild.shard(self.count))
    }
}

/// Discord's identify rate-limit bucket: shards with the same key may not identify within
/// 5 s of each other; `max_concurrency` buckets run side by side.
pub fn identify_bucket(shard: u32, max_concurrency: u16) -> u32 {
    shard % u32::from(max_concurrency.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(s: u32, w: u32) -> ShardPlan {
        ShardPlan::new(s, w).unwrap()
    }

    #[test]
    fn four_shards_over_two_workers() {
        let p = plan(4, 2);
        assert_eq!(p.span_of(WorkerIndex(0)).unwrap().shards(), 0..=1);
        assert_eq!(p.span_of(WorkerIndex(1)).unwrap().shards(), 2..=3);
        assert_eq!(p.worker_of_shard(1), Some(WorkerIndex(0)));
        assert_eq!(p.worker_of_shard(2), Some(WorkerIndex(1)));
        assert_eq!(p.worker_of_shard(4), None);
        // Shard 3 of 4: (id >> 22) % 4 == 3.
        let g = GuildId::new(3 << 22).unwrap();
        assert_eq!(p.worker_of(g), WorkerIndex(1));
        assert!(p.span_of(WorkerIndex(1)).unwrap().owns(g));
        assert!(!p.span_of(WorkerIndex(0)).unwrap().owns(g));
    }

    #[test]
    fn one_worker_owns_every_guild_whatever_the_shard_count() {
        for shards in [1, 2, 16] {
            let p = plan(shards, 1);
            let g = GuildId::new(197_038_439_483_310_086).unwrap();
            assert_eq!(p.worker_of(g), WorkerIndex::FIRST);
        }
        assert_eq!(
            ShardPlan::SINGLE.span_of(WorkerIndex::FIRST),
            Ok(ShardSpan::WHOLE)
        );
    }

    #[test]
    fn bad_plans_say_why() {
        assert_eq!(ShardPlan::new(0, 1), Err(PlanError::ShardCount(0)));
        assert_eq!(ShardPlan::new(4, 0), Err(PlanError::WorkerCount(0)));
        assert_eq!(
            ShardPlan::new(2, 3),
            Err(PlanError::TooFewShards {
                shards: 2,
                workers: 3
            })
        );
        assert!(ShardPlan::new(SHARD_COUNT_MAX + 1, 1).is_err());
        assert!(ShardPlan::new(100, WORKER_COUNT_MAX + 1).is_err());
        assert_eq!(
            plan(4, 2).span_of(WorkerIndex(2)),
            Err(PlanError::NoSuchWorker { index: 2, count: 2 })
        );
        assert!(ShardSpan::new(4, 3, 2).is_err());
        assert!(ShardSpan::new(4, 0, 4).is_err());
        assert!(ShardSpan::new(0, 0, 0).is_err());
    }

    #[test]
    fn identify_shares_follow_the_shards_and_fit_the_budget() {
        let p = plan(5, 2);
        // Worker 0 owns shards 0..=1, worker 1 owns 2..=4.
        assert_eq!(p.identify_share(WorkerIndex(0), 900), 360);
        assert_eq!(p.identify_share(WorkerIndex(1), 900), 540);
        assert_eq!(plan(1, 1).identify_share(WorkerIndex::FIRST, 900), 900);
        assert_eq!(p.identify_share(WorkerIndex(7), 900), 0);
    }

    #[test]
    fn buckets_follow_max_concurrency() {
        assert_eq!(identify_bucket(5, 1), 0);
        assert_eq!(identify_bucket(5, 2), 1);
        assert_eq!(identify_bucket(5, 16), 5);
        assert_eq!(identify_bucket(5, 0), 0, "zero is treated as one");
    }
}
