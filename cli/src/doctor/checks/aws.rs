//! On either store, the store; on AWS, each worker's intent queue and ECS service.

use std::sync::Arc;

use timmybot_bus::ecs::EcsService;
use timmybot_bus::sqs::SqsBus;
use timmybot_config::names::{env, table};
use timmybot_config::{EcsServiceName, Source, StoreConfig, WorkerRouting};
use timmybot_domain::{Clock, SystemClock};

use super::{Report, QUEUE, STORE};

pub(super) async fn store(r: &mut Report, src: &Source) {
    let config = match src.store() {
        Ok(c) => c,
        Err(e) => {
            r.fail(
                STORE,
                env::STORE,
                e.to_string(),
                "`sqlite:PATH`, or `dynamodb` with TABLE_NAME",
            );
            return;
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match &config {
        StoreConfig::Sqlite(path) => match timmybot_store::open(&config, clock).await {
            Ok(_) => r.pass(
                STORE,
                "SQLite file",
                format!("{} opens and takes writes", path.display()),
            ),
            Err(e) => r.fail(
                STORE,
                "SQLite file",
                format!("{}: {e}", path.display()),
                "make the file (and its folder) writable by this user, or point STORE=sqlite:PATH elsewhere",
            ),
        },
        StoreConfig::Dynamo { table: name } => {
            let sdk = timmybot_config::aws::load_config().await;
            let store = timmybot_store::dynamo::DynamoStore::from_sdk(&sdk, name.clone(), clock);
            let shape = match store.describe().await {
                Ok(s) => s,
                Err(e) => {
                    r.fail(
                        STORE,
                        "table reachable",
                        format!("{name}: {e}"),
                        "check TABLE_NAME (the stack's TableName output), the region, and \
                         dynamodb:DescribeTable on this role",
                    );
                    return;
                }
            };
            r.pass(STORE, "table reachable", name.clone());
            let want = |key: &str| Some((key.to_owned(), "S".to_owned()));
            if shape.partition_key == want(table::PARTITION_KEY)
                && shape.sort_key == want(table::SORT_KEY)
            {
                r.pass(STORE, "table keys", "pk (string) and sk (string)");
            } else {
                r.fail(
                    STORE,
                    "table keys",
                    format!(
                        "partition {:?}, sort {:?}",
                        shape.partition_key, shape.sort_key
                    ),
                    "TimmyBot's single table needs partition key `pk` (S) and sort key `sk` (S): \
                     deploy template.yaml's table and point TABLE_NAME at it",
                );
            }
            if shape.ttl_attribute.as_deref() == Some(table::TTL_ATTRIBUTE) {
                r.pass(STORE, "TTL", "on, on `ttl`");
            } else {
                r.fail(
                    STORE,
                    "TTL",
                    format!("{:?}", shape.ttl_attribute),
                    "turn on Time to Live on the attribute `ttl`, or queues and history never expire",
                );
            }
        }
    }
}

pub(super) async fn queue(r: &mut Report, src: &Source) {
    let sdk = timmybot_config::aws::load_config().await;
    let queues = match src.list(env::INTENT_QUEUE_URL) {
        Ok(queues) => queues.unwrap_or_default(),
        Err(e) => {
            r.fail(
                QUEUE,
                "intent queues",
                e.to_string(),
                "INTENT_QUEUE_URL is the stack's IntentQueueUrl0, IntentQueueUrl1, … outputs, \
                 comma-separated in worker order",
            );
            Vec::new()
        }
    };
    // The endpoint's settings name every worker and route by the shard plan; a worker's
    // (with WORKER_INDEX) name only its own queue and service.
    if !queues.is_empty() && src.get(env::WORKER_INDEX).is_none() {
        match WorkerRouting::read(src) {
            Ok(routing) => r.pass(
                QUEUE,
                "worker routing",
                format!(
                    "{} worker(s) over {} shard(s)",
                    routing.plan.worker_count(),
                    routing.plan.shard_count()
                ),
            ),
            Err(e) => r.fail(
                QUEUE,
                "worker routing",
                e.to_string(),
                "one queue in INTENT_QUEUE_URL and one service in WORKER_SERVICE per worker, in \
                 worker order, and SHARD_COUNT when there is more than one: the stack's outputs \
                 and its ShardCount",
            ),
        }
    }
    let many = queues.len() > 1;
    for (i, url) in queues.iter().enumerate() {
        intent_queue(r, &sdk, &numbered("intent queue", i, many), url).await;
    }
    match src.pair(env::WORKER_CLUSTER, env::WORKER_SERVICE) {
        Ok(Some((cluster, _))) => {
            let services = src
                .list(env::WORKER_SERVICE)
                .ok()
                .flatten()
                .unwrap_or_default();
            let many = services.len() > 1;
            for (i, service) in services.into_iter().enumerate() {
                let name = EcsServiceName {
                    cluster: cluster.clone(),
                    service,
                };
                worker_service(r, &sdk, &numbered("worker service", i, many), &name).await;
            }
        }
        Ok(None) => r.info(
            QUEUE,
            "worker service",
            "WORKER_CLUSTER and WORKER_SERVICE unset: nothing wakes a sleeping worker",
        ),
        Err(e) => r.fail(
            QUEUE,
            "worker service",
            e.to_string(),
            "set both, or neither",
        ),
    }
}

/// `what`, with the worker's index when there are several.
fn numbered(what: &str, i: usize, many: bool) -> String {
    if many {
        format!("{what} {i}")
    } else {
        what.to_owned()
    }
}

async fn intent_queue(
    r: &mut Report,
    sdk: &timmybot_config::aws::SdkConfig,
    check: &str,
    url: &str,
) {
    match SqsBus::from_sdk(sdk, url.to_owned()).describe().await {
        Ok(q) if !q.fifo => r.fail(
            QUEUE,
            check,
            format!("{url} is a standard queue"),
            "intents need a FIFO queue (its name ends in .fifo) for order per guild and \
             deduplication: template.yaml makes one with its FIFO DLQ",
        ),
        Ok(q) => match q.dead_letter {
            Some(dlq) => r.pass(QUEUE, check, format!("FIFO, dead letters to {dlq}")),
            None => r.fail(
                QUEUE,
                check,
                "FIFO, but with no dead-letter queue",
                "give it a redrive policy to a FIFO DLQ, or one bad intent is retried forever",
            ),
        },
        Err(e) => r.fail(
            QUEUE,
            check,
            format!("{url}: {e}"),
            "check INTENT_QUEUE_URL (the stack's IntentQueueUrlN outputs) and \
             sqs:GetQueueAttributes",
        ),
    }
}

async fn worker_service(
    r: &mut Report,
    sdk: &timmybot_config::aws::SdkConfig,
    check: &str,
    name: &EcsServiceName,
) {
    match EcsService::from_sdk(sdk, name).exists().await {
        Ok(true) => r.pass(QUEUE, check, format!("{}/{}", name.cluster, name.service)),
        Ok(false) => r.fail(
            QUEUE,
            check,
            format!("{}/{} does not exist", name.cluster, name.service),
            "WORKER_CLUSTER is the stack's WorkerCluster output, WORKER_SERVICE its \
             WorkerServiceN outputs",
        ),
        Err(e) => r.fail(
            QUEUE,
            check,
            e.to_string(),
            "check ecs:DescribeServices on this role, and the region",
        ),
    }
}
