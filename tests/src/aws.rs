//! The AWS emulator: moto's server on a free loopback port, started by the tests themselves.
//!
//! It runs through `tests/moto/serve.py`, which restores DynamoDB's per-item write atomicity
//! that moto's threaded server lacks (see that file). Tests never skip when moto is missing:
//! they fail and say how to install it.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use timmybot_config::names::table::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

const HOW_TO_FIX: &str = "Fix: run `scripts/dev-setup` (installs moto into .venv from \
requirements-dev.txt), or set MOTO_PYTHON to a Python that has moto[server] installed.";

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not start the AWS emulator with {python:?}: {reason}. {HOW_TO_FIX}")]
    Spawn { python: PathBuf, reason: String },
    #[error(
        "the AWS emulator did not answer on {addr} within {secs} s; its log:\n{log}\n{HOW_TO_FIX}"
    )]
    NotReady {
        addr: SocketAddr,
        secs: u64,
        log: String,
    },
}

/// A running moto server; killed when dropped.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    /// Starts moto on a free port and waits until it answers HTTP.
    pub fn start() -> Result<Self, EmulatorError> {
        Self::start_with(moto_python())
    }

    /// [`Moto::start`] with a given Python interpreter.
    pub fn start_with(python: PathBuf) -> Result<Self, EmulatorError> {
        let mut last = None;
        // The free port is found by binding and releasing it, so another process can take it
        // in between; a second port fixes that.
        for _ in 0..3 {
            match Self::start_once(&python) {
                Ok(moto) => return Ok(moto),
                Err(e @ EmulatorError::Spawn { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| EmulatorError::Spawn {
            python,
            reason: "no attempt ran".into(),
        }))
    }

    fn start_once(python: &PathBuf) -> Result<Self, EmulatorError> {
        let spawn_err = |reason: String| EmulatorError::Spawn {
            python: python.clone(),
            reason,
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| spawn_err(format!("no free loopback port: {e}")))?
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log_path = std::env::temp_dir().join(format!("timmybot-moto-{port}.log"));
        let log = File::create(&log_path).map_err(|e| spawn_err(e.to_string()))?;
        let log_err = log.try_clone().map_err(|e| spawn_err(e.to_string()))?;
        let mut cmd = Command::new(python);
        cmd.arg(launcher())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe and touches only the child's own settings.
            // It makes the kernel kill moto when the thread that spawned it ends, so a
            // crashed or aborted test run leaves no server behind.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().map_err(|e| spawn_err(e.to_string()))?;
        let mut moto = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if answers_http(addr) {
                return Ok(moto);
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(EmulatorError::NotReady {
                    addr,
                    secs: 0,
                    log: format!("(exited with {status})\n{log}"),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(EmulatorError::NotReady {
            addr,
            secs: 30,
            log: std::fs::read_to_string(&log_path).unwrap_or_default(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SDK configuration pointed at this emulator with test credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint()).await
    }
}

/// SDK configuration for an emulator (or a proxy in front of it) at `endpoint`.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `MOTO_PYTHON`, else the project venv's Python.
fn moto_python() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_PYTHON") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

fn launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("moto/serve.py")
}

fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// One emulator for the whole test binary, started on first use.
///
/// It is spawned from a thread that never ends, so the kernel's parent-death signal fires
/// only when the test process exits.
pub fn shared() -> &'static Moto {
    static SHARED: OnceLock<Result<Moto, String>> = OnceLock::new();
    let started = SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Moto::start().map_err(|e| e.to_string()));
            loop {
                std::thread::park();
            }
        });
        rx.recv()
            .unwrap_or_else(|_| Err("the emulator thread died".into()))
    });
    match started {
        Ok(moto) => moto,
        Err(e) => panic!("{e}"),
    }
}

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates DESIGN.md's single table, with TTL on, as template.yaml does.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition")
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .expect("key schema")
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PARTITION_KEY))
        .attribute_definitions(attr(SORT_KEY))
        .key_schema(key(PARTITION_KEY, KeyType::Hash))
        .key_schema(key(SORT_KEY, KeyType::Range))
        .send()
        .await
        .expect("create table in the emulator");
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .expect("ttl spec"),
        )
        .send()
        .await
        .expect("enable TTL in the emulator");
}

/// Creates an SQS FIFO queue (explicit dedup ids, as the bus sends) and returns its URL.
pub async fn create_fifo_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    visibility: Duration,
) -> String {
    client
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.as_secs().to_string(),
        )
        .send()
        .await
        .expect("create FIFO queue in the emulator")
        .queue_url
        .expect("queue url")
}

/// A FIFO queue whose messages move to a FIFO dead-letter queue after `max_receives`
/// receives, as template.yaml deploys them. Returns (queue URL, DLQ URL).
pub async fn create_fifo_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    visibility: Duration,
    max_receives: u32,
) -> (String, String) {
    let dlq = create_fifo_queue(client, &format!("{name}-dlq"), visibility).await;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("DLQ attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("DLQ arn");
    let queue = create_fifo_queue(client, name, visibility).await;
    client
        .set_queue_attributes()
        .queue_url(&queue)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receives}"}}"#),
        )
        .send()
        .await
        .expect("set the redrive policy");
    (queue, dlq)
}

/// A worker service at desiredCount 0, as template.yaml deploys it.
pub async fn create_worker_service(client: &aws_sdk_ecs::Client, cluster: &str, service: &str) {
    use aws_sdk_ecs::types::ContainerDefinition;
    client
        .create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("create ECS cluster in the emulator");
    let task = client
        .register_task_definition()
        .family(format!("{service}-task"))
        .container_definitions(
            ContainerDefinition::builder()
                .name("voice-worker")
                .image("timmybot/voice-worker:test")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .expect("register task definition in the emulator");
    let arn = task
        .task_definition
        .and_then(|t| t.task_definition_arn)
        .expect("task definition arn");
    client
        .create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(arn)
        .desired_count(0)
        .send()
        .await
        .expect("create ECS service in the emulator");
}

/// The service's desired task count.
pub async fn desired_count(client: &aws_sdk_ecs::Client, cluster: &str, service: &str) -> i32 {
    client
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .expect("describe service")
        .services
        .and_then(|s| s.into_iter().next())
        .map(|s| s.desired_count)
        .expect("the service exists")
}

/// A Secrets Manager secret holding `body` as its string, named from `prefix`; its id.
pub async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    prefix: &str,
    body: &str,
) -> String {
    let id = unique(prefix);
    client
        .create_secret()
        .name(&id)
        .secret_string(body)
        .send()
        .await
        .expect("create the secret in moto");
    id
}
