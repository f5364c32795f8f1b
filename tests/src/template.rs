//! Checks `template.yaml` against the names the code uses (`timmybot_shared::names`): the env
//! vars each binary reads, the table's keys and TTL attribute, the queue's FIFO settings and
//! the routes the router serves. A rename on either side shows up as a [`Drift`].
//!
//! CloudFormation's short forms (`!Ref X`, `!GetAtt X.Y`, `!Sub ...`) parse as
//! [`Value::Tagged`]; the long forms (`{Ref: X}`) are understood too.

use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};
use timmybot_config::names::{env, routes, table};
use timmybot_config::StoreConfig;

pub const FUNCTION: &str = "AWS::Serverless::Function";
pub const TASK_DEFINITION: &str = "AWS::ECS::TaskDefinition";
pub const TABLE: &str = "AWS::DynamoDB::Table";
pub const QUEUE: &str = "AWS::SQS::Queue";

/// The routes the interactions router serves, with their methods.
pub const SERVED_ROUTES: &[(&str, &str)] =
    &[("POST", routes::INTERACTIONS), ("GET", routes::HEALTH)];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template.yaml has no Resources mapping")]
    NoResources,
}

/// Which binary an env var list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Interactions,
    Worker,
}

impl std::fmt::Display for Binary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Interactions => "the interactions Lambda",
            Self::Worker => "the voice worker's task definition",
        })
    }
}

/// One disagreement between template.yaml and the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Drift {
    #[error("expected exactly one {kind} resource, found {found}")]
    ResourceCount { kind: &'static str, found: usize },
    #[error("{binary} sets {name}, which it never reads (names::env)")]
    UnknownEnv { binary: Binary, name: String },
    #[error("{binary} does not set {name}")]
    MissingEnv { binary: Binary, name: String },
    #[error("{binary} sets STORE to {got}, which StoreConfig::parse does not read as DynamoDB")]
    StoreNotDynamo { binary: Binary, got: String },
    #[error("{binary}'s {name} must be a !Ref to the {kind} resource")]
    NotARef {
        binary: Binary,
        name: &'static str,
        kind: &'static str,
    },
    #[error("the table's {key_type} key must be {want:?} (type S), found {got:?}")]
    KeySchema {
        key_type: &'static str,
        want: &'static str,
        got: Option<String>,
    },
    #[error("the table's TTL must be enabled on {want:?}, found {got:?}")]
    Ttl {
        want: &'static str,
        got: Option<String>,
    },
    #[error("queue {queue} is not FIFO (FifoQueue: true)")]
    NotFifo { queue: String },
    #[error("queue {queue} has content-based dedup on; the code sets MessageDeduplicationId")]
    ContentBasedDedup { queue: String },
    #[error("the HTTP API routes {method} {path}, which the router does not serve")]
    UnservedRoute { method: String, path: String },
    #[error("the HTTP API does not route POST {}", routes::INTERACTIONS)]
    NoInteractionsRoute,
}

/// An HTTP API route of the interactions function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
}

pub struct Template {
    resources: Mapping,
    globals: Option<Value>,
}

/// `template.yaml` at the workspace root.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("template.yaml")
}

/// The resource a `!Ref X` or `{Ref: X}` names.
fn ref_target(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
        Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Tagged(t) => format!("{} {}", t.tag, describe(&t.value)),
        other => format!("{other:?}"),
    }
}

fn path<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |v, k| v.get(*k))
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml_ng::from_str(text)?;
        let resources = root
            .get("Resources")
            .and_then(Value::as_mapping)
            .cloned()
            .ok_or(TemplateError::NoResources)?;
        Ok(Self {
            resources,
            globals: root.get("Globals").cloned(),
        })
    }

    /// Every resource of `kind`, by logical id.
    pub fn resources_of(&self, kind: &str) -> Vec<(&str, &Value)> {
        self.resources
            .iter()
            .filter_map(|(id, r)| {
                let id = id.as_str()?;
                (r.get("Type").and_then(Value::as_str) == Some(kind)).then_some((id, r))
            })
            .collect()
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }

    fn only(&self, kind: &'static str, drifts: &mut Vec<Drift>) -> Option<(&str, &Value)> {
        let found = self.resources_of(kind);
        if found.len() == 1 {
            found.into_iter().next()
        } else {
            drifts.push(Drift::ResourceCount {
                kind,
                found: found.len(),
            });
            None
        }
    }

    /// The Lambda's environment, with `Globals.Function`'s under it.
    pub fn lambda_env(&self, function: &Value) -> Vec<(String, Value)> {
        let vars = |v: Option<&Value>| -> Vec<(String, Value)> {
            v.and_then(Value::as_mapping)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let global = self
            .globals
            .as_ref()
            .and_then(|g| path(g, &["Function", "Environment", "Variables"]));
        let mut out = vars(global);
        for (name, value) in vars(path(function, &["Properties", "Environment", "Variables"])) {
            out.retain(|(n, _)| *n != name);
            out.push((name, value));
        }
        out
    }

    /// Every container's environment in the task definition.
    pub fn task_env(&self, task: &Value) -> Vec<(String, Value)> {
        path(task, &["Properties", "ContainerDefinitions"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("Environment")?.as_sequence())
            .flatten()
            .filter_map(|e| {
                Some((
                    e.get("Name")?.as_str()?.to_owned(),
                    e.get("Value").cloned().unwrap_or(Value::Null),
                ))
            })
            .collect()
    }

    /// The function's HTTP API routes.
    pub fn http_routes(&self, function: &Value) -> Vec<Route> {
        path(function, &["Properties", "Events"])
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("HttpApi"))
            .map(|(_, e)| Route {
                method: path(e, &["Properties", "Method"])
                    .and_then(Value::as_str)
                    .unwrap_or("ANY")
                    .to_ascii_uppercase(),
                path: path(e, &["Properties", "Path"])
                    .and_then(Value::as_str)
                    .unwrap_or("$default")
                    .to_owned(),
            })
            .collect()
    }

    /// The routes of the one interactions function (empty if there is not exactly one).
    pub fn routes(&self) -> Vec<Route> {
        match self.resources_of(FUNCTION).as_slice() {
            [(_, f)] => self.http_routes(f),
            _ => Vec::new(),
        }
    }

    /// Every disagreement with the code; empty when the template agrees.
    pub fn check(&self) -> Vec<Drift> {
        let mut drifts = Vec::new();
        let table_id = self.only(TABLE, &mut drifts).map(|(id, t)| {
            self.check_table(t, &mut drifts);
            id.to_owned()
        });
        for (id, queue) in self.resources_of(QUEUE) {
            if path(queue, &["Properties", "FifoQueue"]).and_then(Value::as_bool) != Some(true) {
                drifts.push(Drift::NotFifo { queue: id.into() });
            }
        }
        if let Some((_, function)) = self.only(FUNCTION, &mut drifts) {
            let vars = self.lambda_env(function);
            self.check_env(
                Binary::Interactions,
                &vars,
                table_id.as_deref(),
                &mut drifts,
            );
            self.check_routes(function, &mut drifts);
        }
        if let Some((_, task)) = self.only(TASK_DEFINITION, &mut drifts) {
            let vars = self.task_env(task);
            self.check_env(Binary::Worker, &vars, table_id.as_deref(), &mut drifts);
        }
        // Both binaries point at the same queue; say each thing once.
        let mut seen = Vec::new();
        drifts.retain(|d| {
            let new = !seen.contains(d);
            if new {
                seen.push(d.clone());
            }
            new
        });
        drifts
    }

    fn check_table(&self, t: &Value, drifts: &mut Vec<Drift>) {
        let props = t.get("Properties").unwrap_or(&Value::Null);
        let string_attr = |name: &str| {
            props
                .get("AttributeDefinitions")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .any(|d| {
                    d.get("AttributeName").and_then(Value::as_str) == Some(name)
                        && d.get("AttributeType").and_then(Value::as_str) == Some("S")
                })
        };
        for (key_type, want) in [("HASH", table::PARTITION_KEY), ("RANGE", table::SORT_KEY)] {
            let got = props
                .get("KeySchema")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .find(|k| k.get("KeyType").and_then(Value::as_str) == Some(key_type))
                .and_then(|k| k.get("AttributeName")?.as_str())
                .map(str::to_owned);
            if got.as_deref() != Some(want) || !string_attr(want) {
                drifts.push(Drift::KeySchema {
                    key_type,
                    want,
                    got,
                });
            }
        }
        let ttl = props.get("TimeToLiveSpecification");
        let got = ttl
            .and_then(|t| t.get("AttributeName")?.as_str())
            .map(str::to_owned);
        let enabled = ttl.and_then(|t| t.get("Enabled")?.as_bool()) == Some(true);
        if got.as_deref() != Some(table::TTL_ATTRIBUTE) || !enabled {
            drifts.push(Drift::Ttl {
                want: table::TTL_ATTRIBUTE,
                got,
            });
        }
    }

    fn check_env(
        &self,
        binary: Binary,
        vars: &[(String, Value)],
        table_id: Option<&str>,
        drifts: &mut Vec<Drift>,
    ) {
        let (known, credential) = match binary {
            Binary::Interactions => (env::INTERACTIONS, env::DISCORD_PUBLIC_KEY),
            Binary::Worker => (env::WORKER, env::DISCORD_TOKEN),
        };
        let get = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        for (name, _) in vars {
            if !known.contains(&name.as_str()) {
                drifts.push(Drift::UnknownEnv {
                    binary,
                    name: name.clone(),
                });
            }
        }
        // The Discord credential comes from the env or from the secret SECRET_ID names.
        if get(credential).is_none() && get(env::SECRET_ID).is_none() {
            drifts.push(Drift::MissingEnv {
                binary,
                name: format!("{credential} or {}", env::SECRET_ID),
            });
        }
        for name in [
            env::STORE,
            env::TABLE_NAME,
            env::INTENT_QUEUE_URL,
            env::WORKER_CLUSTER,
            env::WORKER_SERVICE,
        ] {
            if get(name).is_none() {
                drifts.push(Drift::MissingEnv {
                    binary,
                    name: name.to_owned(),
                });
            }
        }
        if let Some(store) = get(env::STORE) {
            let dynamo = store.as_str().is_some_and(|s| {
                matches!(
                    StoreConfig::parse(Some(s), Some("table")),
                    Ok(StoreConfig::Dynamo { .. })
                )
            });
            if !dynamo {
                drifts.push(Drift::StoreNotDynamo {
                    binary,
                    got: describe(store),
                });
            }
        }
        if let Some(value) = get(env::TABLE_NAME) {
            if table_id.is_none() || ref_target(value) != table_id {
                drifts.push(Drift::NotARef {
                    binary,
                    name: env::TABLE_NAME,
                    kind: TABLE,
                });
            }
        }
        if let Some(value) = get(env::INTENT_QUEUE_URL) {
            match ref_target(value).filter(|id| self.resource_type(id) == Some(QUEUE)) {
                Some(id) => {
                    let queue = self.resources.get(id).unwrap_or(&Value::Null);
                    let dedup = path(queue, &["Properties", "ContentBasedDeduplication"])
                        .and_then(Value::as_bool);
                    if dedup == Some(true) {
                        drifts.push(Drift::ContentBasedDedup { queue: id.into() });
                    }
                }
                None => drifts.push(Drift::NotARef {
                    binary,
                    name: env::INTENT_QUEUE_URL,
                    kind: QUEUE,
                }),
            }
        }
    }

    fn check_routes(&self, function: &Value, drifts: &mut Vec<Drift>) {
        let routes = self.http_routes(function);
        for r in &routes {
            let served = SERVED_ROUTES
                .iter()
                .any(|(m, p)| *m == r.method && *p == r.path);
            if !served {
                drifts.push(Drift::UnservedRoute {
                    method: r.method.clone(),
                    path: r.path.clone(),
                });
            }
        }
        if !routes
            .iter()
            .any(|r| r.method == "POST" && r.path == routes::INTERACTIONS)
        {
            drifts.push(Drift::NoInteractionsRoute);
        }
    }
}
