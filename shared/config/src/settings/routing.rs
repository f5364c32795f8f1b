//! Where each worker is: its queue and service, the shard plan, and which shards it runs.

use super::*;

/// An ECS service: the voice worker's, which the endpoint wakes and the worker scales down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsServiceName {
    pub cluster: String,
    pub service: String,
}

/// Where one worker takes its intents, and the ECS service that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerEndpoint {
    pub queue_url: String,
    /// `None` where nothing wakes it (no `WORKER_CLUSTER` and `WORKER_SERVICE`).
    pub service: Option<EcsServiceName>,
}

/// Every worker, by index, and the shard plan that says which guild goes to which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRouting {
    pub plan: ShardPlan,
    /// One per worker, in worker order; as many as `plan.worker_count()`.
    pub workers: Vec<WorkerEndpoint>,
}

impl WorkerRouting {
    /// `INTENT_QUEUE_URL` (one URL per worker), `WORKER_CLUSTER` with `WORKER_SERVICE` (one
    /// service per worker), `WORKER_COUNT` if set, and `SHARD_COUNT` when there is more than
    /// one worker. One URL and nothing else is today's single worker.
    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        let queues = src
            .list(env::INTENT_QUEUE_URL)?
            .ok_or(ConfigError::Missing(env::INTENT_QUEUE_URL))?;
        let count = u32::try_from(queues.len()).unwrap_or(u32::MAX);
        if let Some(stated) = src.parsed::<u32>(env::WORKER_COUNT, "a whole number")? {
            if stated != count {
                return Err(ConfigError::Invalid {
                    var: env::INTENT_QUEUE_URL,
                    what: "one queue URL per worker (WORKER_COUNT)",
                    got: format!("{count} URLs for {stated} workers"),
                });
            }
        }
        let services = match src.pair(env::WORKER_CLUSTER, env::WORKER_SERVICE)? {
            None => vec![None; queues.len()],
            Some((cluster, _)) => {
                let names = src.list(env::WORKER_SERVICE)?.unwrap_or_default();
                if names.len() != queues.len() {
                    return Err(ConfigError::Invalid {
                        var: env::WORKER_SERVICE,
                        what: "one service per worker, as many as INTENT_QUEUE_URL has queues",
                        got: format!("{} services for {} queues", names.len(), queues.len()),
                    });
                }
                names
                    .into_iter()
                    .map(|service| {
                        Some(EcsServiceName {
                            cluster: cluster.clone(),
                            service,
                        })
                    })
                    .collect()
            }
        };
        let plan = match src.parsed::<u32>(env::SHARD_COUNT, "a whole number")? {
            None if count > 1 => {
                return Err(ConfigError::Needed {
                    var: env::SHARD_COUNT,
                    because: "there is more than one worker: the endpoint routes each guild \
                              to the worker that holds its shard",
                })
            }
            None => ShardPlan::SINGLE,
            Some(shards) => plan(shards, count)?,
        };
        let workers = queues
            .into_iter()
            .zip(services)
            .map(|(queue_url, service)| WorkerEndpoint { queue_url, service })
            .collect();
        Ok(Self { plan, workers })
    }
}

fn plan(shards: u32, workers: u32) -> Result<ShardPlan, ConfigError> {
    ShardPlan::new(shards, workers).map_err(|e| ConfigError::Invalid {
        var: env::SHARD_COUNT,
        what: "1 to 65,536 shards, at least one per worker",
        got: e.to_string(),
    })
}

/// Which worker this is, and which shards it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerPlace {
    pub index: WorkerIndex,
    pub count: u32,
    /// `None`: as many shards as Discord recommends, all on this (only) worker.
    pub shards: Option<ShardSpan>,
}

impl WorkerPlace {
    /// `WORKER_COUNT` and `WORKER_INDEX` (one worker, index 0, when unset), then
    /// `SHARD_COUNT` with the optional `SHARD_FIRST` and `SHARD_LAST`.
    pub fn read(src: &Source) -> Result<Self, ConfigError> {
        let count = src
            .parsed::<u32>(env::WORKER_COUNT, "a whole number")?
            .unwrap_or(1);
        let index = src
            .parsed::<u32>(env::WORKER_INDEX, "a whole number")?
            .unwrap_or(0);
        if count == 0 || count > WORKER_COUNT_MAX {
            return Err(ConfigError::invalid(
                env::WORKER_COUNT,
                "1 to 64",
                &count.to_string(),
            ));
        }
        if index >= count {
            return Err(ConfigError::Invalid {
                var: env::WORKER_INDEX,
                what: "below WORKER_COUNT (the first worker is 0)",
                got: format!("{index} of {count}"),
            });
        }
        let first = src.parsed::<u32>(env::SHARD_FIRST, "a whole number")?;
        let last = src.parsed::<u32>(env::SHARD_LAST, "a whole number")?;
        let Some(shards) = src.parsed::<u32>(env::SHARD_COUNT, "a whole number")? else {
            if count > 1 {
                return Err(ConfigError::Needed {
                    var: env::SHARD_COUNT,
                    because: "WORKER_COUNT is above 1: every worker and the endpoint must \
                              split the same shards",
                });
            }
            if first.is_some() || last.is_some() {
                return Err(ConfigError::Needed {
                    var: env::SHARD_COUNT,
                    because: "SHARD_FIRST and SHARD_LAST count within it",
                });
            }
            return Ok(Self {
                index: WorkerIndex::FIRST,
                count,
                shards: None,
            });
        };
        let index = WorkerIndex::new(index);
        let planned = plan(shards, count)?.span_of(index).map_err(|e| {
            ConfigError::invalid(env::WORKER_INDEX, "below WORKER_COUNT", &e.to_string())
        })?;
        let first = first.unwrap_or(planned.first());
        let last = last.unwrap_or(planned.last());
        let span = ShardSpan::new(shards, first, last).map_err(|_| ConfigError::Invalid {
            var: env::SHARD_LAST,
            what: "a shard range with SHARD_FIRST ≤ SHARD_LAST < SHARD_COUNT",
            got: format!("{first}..={last} of {shards}"),
        })?;
        // With several workers the endpoint routes by the plan, so a worker must run
        // exactly the plan's range or some guilds would have no worker.
        if count > 1 && span != planned {
            return Err(ConfigError::Invalid {
                var: env::SHARD_FIRST,
                what: "unset, or the range the plan gives this WORKER_INDEX",
                got: format!(
                    "{first}..={last}; the plan gives worker {index} shards {}..={}",
                    planned.first(),
                    planned.last()
                ),
            });
        }
        Ok(Self {
            index,
            count,
            shards: Some(span),
        })
    }

    /// This worker's entry of a per-worker list: the only entry, or the one at its index.
    pub(super) fn pick(
        &self,
        name: &'static str,
        list: Vec<String>,
    ) -> Result<String, ConfigError> {
        let n = list.len();
        let at = if n == 1 { 0 } else { self.index.get() as usize };
        if n != 1 && n != self.count as usize {
            return Err(ConfigError::Invalid {
                var: name,
                what: "this worker's entry alone, or one entry per worker (WORKER_COUNT)",
                got: format!("{n} entries for {} workers", self.count),
            });
        }
        list.into_iter().nth(at).ok_or(ConfigError::Missing(name))
    }
}
