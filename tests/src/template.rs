//! Checks `template.yaml` against the names the code uses (`timmybot_config::names`): the env
//! vars each binary reads, the table's keys and TTL attribute, the queues' FIFO settings, the
//! routes the router serves, and the per-worker wiring. A rename on either side shows up as
//! a [`Drift`].
//!
//! The template makes one queue, DLQ, task role, task definition and service per worker with
//! `Fn::ForEach` (AWS::LanguageExtensions). The checker expands that loop itself, as the
//! transform would, for every `WorkerCount` the template allows, evaluates the conditions the
//! Lambda's per-worker lists depend on, and then checks each worker: its task runs with its
//! own index, queue and service, its role reaches only its own queue and service, and the
//! Lambda lists every worker's queue and service in index order.
//!
//! CloudFormation's short forms (`!Ref X`, `!GetAtt X.Y`, `!Sub ...`) parse as
//! [`Value::Tagged`]; the long forms (`{Ref: X}`) are understood too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::value::{Tag, TaggedValue};
use serde_yaml_ng::{Mapping, Value};
use timmybot_config::names::{env, routes, table};
use timmybot_config::StoreConfig;

pub const FUNCTION: &str = "AWS::Serverless::Function";
pub const TASK_DEFINITION: &str = "AWS::ECS::TaskDefinition";
pub const SERVICE: &str = "AWS::ECS::Service";
pub const TABLE: &str = "AWS::DynamoDB::Table";
pub const QUEUE: &str = "AWS::SQS::Queue";
pub const ROLE: &str = "AWS::IAM::Role";

/// The parameter that sets how many workers the template makes, and the one for shards.
pub const WORKER_COUNT: &str = "WorkerCount";
pub const SHARD_COUNT: &str = "ShardCount";

/// The routes the interactions router serves, with their methods.
pub const SERVED_ROUTES: &[(&str, &str)] = &[
    ("POST", routes::INTERACTIONS),
    ("GET", routes::HEALTH),
    ("GET", routes::SPOTIFY_CALLBACK),
    ("GET", routes::DASHBOARD),
    ("GET", routes::DASHBOARD_PAGES),
    ("POST", routes::DASHBOARD_PAGES),
];

/// The routes the HTTP API must have: Discord's interactions, where Spotify sends users
/// back after they approve a link, and the dashboard (pages and their forms).
pub const REQUIRED_ROUTES: &[(&str, &str)] = &[
    ("POST", routes::INTERACTIONS),
    ("GET", routes::SPOTIFY_CALLBACK),
    ("GET", routes::DASHBOARD),
    ("GET", routes::DASHBOARD_PAGES),
    ("POST", routes::DASHBOARD_PAGES),
];

/// How an SQS queue's URL is spelled from its name, where the template writes one out.
const QUEUE_URL_PREFIX: &str = "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/";

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
    #[error("the HTTP API does not route {method} {path}")]
    MissingRoute {
        method: &'static str,
        path: &'static str,
    },
    #[error("the template's Fn::ForEach loop cannot be expanded: {0}")]
    Expansion(String),
    #[error("with WorkerCount {count}, the template makes {found} {kind}, not one per worker")]
    WorkerCount {
        count: u32,
        kind: &'static str,
        found: usize,
    },
    #[error("with WorkerCount {count}, worker {worker}: {what}")]
    WorkerWiring {
        count: u32,
        worker: u32,
        what: String,
    },
    #[error("with WorkerCount {count}, the Lambda's {name}: {what}")]
    RoutingList {
        count: u32,
        name: &'static str,
        what: String,
    },
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
    mappings: Option<Value>,
    conditions: Option<Value>,
    parameters: Option<Value>,
}

/// `template.yaml` at the workspace root.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("template.yaml")
}

fn tagged(tag: &str, value: Value) -> Value {
    Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(tag),
        value,
    }))
}

/// An intrinsic function's name and argument, in either form: `!Ref X` or `{Ref: X}`.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(t) => {
            let name = t.tag.to_string();
            let name = name.trim_start_matches('!');
            let name = match name {
                "Ref" | "Condition" => name.to_owned(),
                other => format!("Fn::{other}"),
            };
            Some((name, &t.value))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k == "Condition" || k.starts_with("Fn::")).then(|| (k.to_owned(), v))
        }
        _ => None,
    }
}

/// The resource a `!Ref X` or `{Ref: X}` names.
fn ref_target(value: &Value) -> Option<&str> {
    match intrinsic(value)? {
        (name, target) if name == "Ref" => target.as_str(),
        _ => None,
    }
}

/// The resource and attribute of a `!GetAtt X.Y` or `!GetAtt [X, Y]`.
fn getatt(value: &Value) -> Option<(String, String)> {
    let (name, arg) = intrinsic(value)?;
    if name != "Fn::GetAtt" {
        return None;
    }
    match arg {
        Value::String(s) => {
            let (r, a) = s.split_once('.')?;
            Some((r.to_owned(), a.to_owned()))
        }
        Value::Sequence(seq) if seq.len() == 2 => {
            Some((seq[0].as_str()?.to_owned(), seq[1].as_str()?.to_owned()))
        }
        _ => None,
    }
}

/// The text of a `!Sub "..."` (the one-string form).
fn sub_text(value: &Value) -> Option<&str> {
    match intrinsic(value)? {
        (name, Value::String(s)) if name == "Fn::Sub" => Some(s),
        _ => None,
    }
}

/// A string as written, not one seen through a tag (`as_str` would read `!Ref X` as "X").
fn plain_str(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
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

/// The loop's identifier replaced by `item` wherever the transform replaces it: in keys,
/// inside `Fn::Sub` strings, `!Ref Identifier` itself, and the `Ref`/`GetAtt` of a
/// `Fn::Sub` naming a looped resource.
fn substitute(value: &Value, id: &str, item: &str) -> Value {
    let token = format!("${{{id}}}");
    let in_text = |s: &str| s.replace(&token, item);
    if let Some((name, arg)) = intrinsic(value) {
        match name.as_str() {
            "Ref" if arg.as_str() == Some(id) => return Value::String(item.to_owned()),
            "Ref" => {
                if let Some(text) = sub_text(arg) {
                    return tagged("Ref", Value::String(in_text(text)));
                }
            }
            "Fn::Sub" => {
                return tagged(
                    "Sub",
                    match arg {
                        Value::String(s) => Value::String(in_text(s)),
                        Value::Sequence(seq) => Value::Sequence(
                            seq.iter()
                                .enumerate()
                                .map(|(i, v)| match (i, v) {
                                    (0, Value::String(s)) => Value::String(in_text(s)),
                                    (_, v) => substitute(v, id, item),
                                })
                                .collect(),
                        ),
                        other => substitute(other, id, item),
                    },
                );
            }
            "Fn::GetAtt" => {
                if let Value::Sequence(seq) = arg {
                    let parts: Vec<Value> = seq
                        .iter()
                        .map(|v| match sub_text(v) {
                            Some(text) => Value::String(in_text(text)),
                            None => substitute(v, id, item),
                        })
                        .collect();
                    return tagged("GetAtt", Value::Sequence(parts));
                }
            }
            _ => {}
        }
    }
    match value {
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| {
                    let k = match k.as_str() {
                        Some(s) => Value::String(in_text(s)),
                        None => k.clone(),
                    };
                    (k, substitute(v, id, item))
                })
                .collect(),
        ),
        Value::Sequence(seq) => {
            Value::Sequence(seq.iter().map(|v| substitute(v, id, item)).collect())
        }
        Value::Tagged(t) => tagged(&t.tag.to_string(), substitute(&t.value, id, item)),
        other => other.clone(),
    }
}

/// Parameter values, as CloudFormation passes them: strings.
type Params = HashMap<String, String>;

/// A template expanded for one set of parameters: the loop unrolled, conditions known.
struct Expanded<'t> {
    count: u32,
    resources: Mapping,
    template: &'t Template,
    params: Params,
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
            mappings: root.get("Mappings").cloned(),
            conditions: root.get("Conditions").cloned(),
            parameters: root.get("Parameters").cloned(),
        })
    }

    /// The worker counts the template accepts (`WorkerCount`'s allowed values), or one.
    pub fn worker_counts(&self) -> Vec<u32> {
        let allowed = self
            .parameters
            .as_ref()
            .and_then(|p| path(p, &[WORKER_COUNT, "AllowedValues"]))
            .and_then(Value::as_sequence);
        match allowed {
            Some(values) => values
                .iter()
                .filter_map(|v| match v {
                    Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                })
                .collect(),
            None => vec![1],
        }
    }

    fn defaults(&self) -> Params {
        self.parameters
            .as_ref()
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, p)| {
                let default = match p.get("Default")? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((k.as_str()?.to_owned(), default))
            })
            .collect()
    }

    /// The resources with every `Fn::ForEach` loop unrolled for `params`.
    fn expand(&self, params: &Params) -> Result<Mapping, String> {
        let mut out = Mapping::new();
        for (key, value) in &self.resources {
            let Some(name) = key.as_str() else { continue };
            if !name.starts_with("Fn::ForEach::") {
                out.insert(key.clone(), value.clone());
                continue;
            }
            let parts = value
                .as_sequence()
                .filter(|s| s.len() == 3)
                .ok_or_else(|| format!("{name} is not [identifier, collection, fragment]"))?;
            let id = parts[0]
                .as_str()
                .ok_or_else(|| format!("{name}'s identifier is not a string"))?;
            for item in self.collection(&parts[1], params)? {
                let fragment = substitute(&parts[2], id, &item);
                for (k, v) in fragment.as_mapping().into_iter().flatten() {
                    if out.insert(k.clone(), v.clone()).is_some() {
                        return Err(format!("{name} makes {k:?} twice"));
                    }
                }
            }
        }
        Ok(out)
    }

    /// A loop's collection: a literal list, or `!FindInMap [Map, !Ref Param, Key]`.
    fn collection(&self, value: &Value, params: &Params) -> Result<Vec<String>, String> {
        // Not `as_sequence`, which would look through a `!FindInMap` tag.
        if let Value::Sequence(list) = value {
            return Ok(list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect());
        }
        let Some(("Fn::FindInMap", Value::Sequence(args))) =
            intrinsic(value).as_ref().map(|(n, a)| (n.as_str(), *a))
        else {
            return Err(format!(
                "a collection the checker cannot read: {}",
                describe(value)
            ));
        };
        let key = |v: &Value| -> Option<String> {
            match ref_target(v) {
                Some(p) => params.get(p).cloned(),
                None => v.as_str().map(str::to_owned),
            }
        };
        let keys: Vec<String> = args.iter().filter_map(key).collect();
        let [map, top, second] = keys.as_slice() else {
            return Err("FindInMap needs three keys".into());
        };
        let list = self
            .mappings
            .as_ref()
            .and_then(|m| path(m, &[map, top, second]))
            .and_then(Value::as_sequence)
            .ok_or_else(|| format!("Mappings has no {map}.{top}.{second} list"))?;
        Ok(list
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect())
    }

    /// Every resource of `kind` in the template as written (loops not expanded), by
    /// logical id.
    pub fn resources_of(&self, kind: &str) -> Vec<(&str, &Value)> {
        of_kind(&self.resources, kind)
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

    /// Every disagreement with the code, for every worker count the template allows;
    /// empty when the template agrees.
    pub fn check(&self) -> Vec<Drift> {
        let mut drifts = Vec::new();
        for count in self.worker_counts() {
            let mut params = self.defaults();
            params.insert(WORKER_COUNT.into(), count.to_string());
            // One worker may run Discord's recommendation (0); several need a count.
            let shards = if count == 1 { 0 } else { 2 * count };
            params.insert(SHARD_COUNT.into(), shards.to_string());
            match self.expand(&params) {
                Ok(resources) => Expanded {
                    count,
                    resources,
                    template: self,
                    params,
                }
                .check(&mut drifts),
                Err(e) => drifts.push(Drift::Expansion(e)),
            }
        }
        // Every worker count repeats the shared resources; say each thing once.
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

    /// Whether condition `name` holds for `params`.
    fn condition(&self, name: &str, params: &Params) -> Option<bool> {
        let body = self.conditions.as_ref()?.get(name)?;
        self.eval(body, params)
    }

    fn eval(&self, value: &Value, params: &Params) -> Option<bool> {
        let (name, arg) = intrinsic(value)?;
        let args = arg.as_sequence();
        match name.as_str() {
            "Condition" => self.condition(arg.as_str()?, params),
            "Fn::Not" => Some(!self.eval(args?.first()?, params)?),
            "Fn::And" => args?
                .iter()
                .try_fold(true, |acc, v| Some(acc && self.eval(v, params)?)),
            "Fn::Or" => args?
                .iter()
                .try_fold(false, |acc, v| Some(acc || self.eval(v, params)?)),
            "Fn::Equals" => {
                let scalar = |v: &Value| -> Option<String> {
                    match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        other => params.get(ref_target(other)?).cloned(),
                    }
                };
                let [a, b] = args?.as_slice() else {
                    return None;
                };
                Some(scalar(a)? == scalar(b)?)
            }
            _ => None,
        }
    }
}

fn of_kind<'a>(resources: &'a Mapping, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources
        .iter()
        .filter_map(|(id, r)| {
            let id = id.as_str()?;
            (r.get("Type").and_then(Value::as_str) == Some(kind)).then_some((id, r))
        })
        .collect()
}

/// Every container's environment in a task definition; an `!If` item is resolved by `pick`.
fn task_env(task: &Value, pick: &dyn Fn(&Value) -> Option<Value>) -> Vec<(String, Value)> {
    path(task, &["Properties", "ContainerDefinitions"])
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("Environment")?.as_sequence())
        .flatten()
        .filter_map(pick)
        .filter_map(|e| {
            Some((
                e.get("Name")?.as_str()?.to_owned(),
                e.get("Value").cloned().unwrap_or(Value::Null),
            ))
        })
        .collect()
}

impl Expanded<'_> {
    fn resource(&self, id: &str) -> Option<&Value> {
        self.resources.get(id)
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.resource(id)?.get("Type")?.as_str()
    }

    fn of_kind(&self, kind: &str) -> Vec<(&str, &Value)> {
        of_kind(&self.resources, kind)
    }

    /// `value` with an `!If` resolved (`None` for `AWS::NoValue`), else as it is.
    fn pick(&self, value: &Value) -> Option<Value> {
        match intrinsic(value) {
            Some((name, Value::Sequence(args))) if name == "Fn::If" && args.len() == 3 => {
                let holds = self.template.condition(args[0].as_str()?, &self.params)?;
                let chosen = &args[if holds { 1 } else { 2 }];
                if ref_target(chosen) == Some("AWS::NoValue") {
                    None
                } else {
                    self.pick(chosen)
                }
            }
            _ => Some(value.clone()),
        }
    }

    fn wiring(&self, drifts: &mut Vec<Drift>, worker: u32, what: String) {
        drifts.push(Drift::WorkerWiring {
            count: self.count,
            worker,
            what,
        });
    }

    fn only(&self, kind: &'static str, drifts: &mut Vec<Drift>) -> Option<(&str, &Value)> {
        let found = self.of_kind(kind);
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

    fn check(&self, drifts: &mut Vec<Drift>) {
        let table_id = self.only(TABLE, drifts).map(|(id, t)| {
            check_table(t, drifts);
            id.to_owned()
        });
        for (id, queue) in self.of_kind(QUEUE) {
            if path(queue, &["Properties", "FifoQueue"]).and_then(Value::as_bool) != Some(true) {
                drifts.push(Drift::NotFifo { queue: id.into() });
            }
        }
        let workers = self.check_workers(table_id.as_deref(), drifts);
        if let Some((_, function)) = self.only(FUNCTION, drifts) {
            let vars: Vec<(String, Value)> = self
                .template
                .lambda_env(function)
                .into_iter()
                .filter_map(|(n, v)| Some((n, self.pick(&v)?)))
                .collect();
            self.check_env(Binary::Interactions, &vars, table_id.as_deref(), drifts);
            self.check_lists(&vars, &workers, drifts);
            self.check_routes(function, drifts);
        }
    }

    /// Each worker's task: its own index, queue (FIFO, with a DLQ) and service, and a role
    /// that reaches nothing of another worker's. Returns each worker's (queue, service) ids.
    fn check_workers(
        &self,
        table_id: Option<&str>,
        drifts: &mut Vec<Drift>,
    ) -> Vec<Option<(String, String)>> {
        let count = self.count;
        let tasks = self.of_kind(TASK_DEFINITION);
        let services = self.of_kind(SERVICE);
        for (kind, found) in [
            ("task definitions", tasks.len()),
            ("ECS services", services.len()),
        ] {
            if found != count as usize {
                drifts.push(Drift::WorkerCount { count, kind, found });
            }
        }
        let mut wired = vec![None; count as usize];
        for (task_id, task) in &tasks {
            let vars = task_env(task, &|v| self.pick(v));
            self.check_env(Binary::Worker, &vars, table_id, drifts);
            let get = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            let Some(index) = get(env::WORKER_INDEX)
                .and_then(plain_str)
                .and_then(|s| s.parse::<u32>().ok())
                .filter(|i| *i < count)
            else {
                drifts.push(Drift::WorkerWiring {
                    count,
                    worker: u32::MAX,
                    what: format!("{task_id}'s WORKER_INDEX is not a literal index below {count}"),
                });
                continue;
            };
            if get(env::WORKER_COUNT).and_then(ref_target) != Some(WORKER_COUNT) {
                self.wiring(
                    drifts,
                    index,
                    format!("{task_id}'s WORKER_COUNT is not !Ref {WORKER_COUNT}"),
                );
            }
            let shards_set = self.params.get(SHARD_COUNT).is_some_and(|s| s != "0");
            if shards_set && get(env::SHARD_COUNT).and_then(ref_target) != Some(SHARD_COUNT) {
                self.wiring(drifts, index, format!("{task_id} does not get SHARD_COUNT"));
            }
            let queue = get(env::INTENT_QUEUE_URL)
                .and_then(ref_target)
                .filter(|q| self.resource_type(q) == Some(QUEUE));
            let service = services.iter().find(|(_, s)| {
                path(s, &["Properties", "TaskDefinition"]).and_then(ref_target) == Some(*task_id)
            });
            let Some((service_id, service)) = service else {
                self.wiring(drifts, index, format!("no ECS service runs {task_id}"));
                continue;
            };
            let service_name = path(service, &["Properties", "ServiceName"]).and_then(sub_text);
            if get(env::WORKER_SERVICE).and_then(sub_text) != service_name || service_name.is_none()
            {
                self.wiring(
                    drifts,
                    index,
                    format!("WORKER_SERVICE is not {service_id}'s name"),
                );
            }
            if let Some(queue) = queue {
                self.check_queue(index, queue, drifts);
                self.check_role(index, task_id, task, queue, service_name, drifts);
                if wired[index as usize].is_some() {
                    self.wiring(drifts, index, "two task definitions have this index".into());
                }
                wired[index as usize] = Some((queue.to_owned(), (*service_id).to_owned()));
            }
        }
        let queues: Vec<&String> = wired.iter().flatten().map(|(q, _)| q).collect();
        for (i, q) in queues.iter().enumerate() {
            if queues[..i].contains(q) {
                drifts.push(Drift::WorkerWiring {
                    count,
                    worker: i as u32,
                    what: format!("shares the queue {q} with another worker"),
                });
            }
        }
        wired
    }

    fn check_queue(&self, worker: u32, queue: &str, drifts: &mut Vec<Drift>) {
        let props = self.resource(queue).and_then(|q| q.get("Properties"));
        let dedup = props
            .and_then(|p| p.get("ContentBasedDeduplication"))
            .and_then(Value::as_bool);
        if dedup == Some(true) {
            drifts.push(Drift::ContentBasedDedup {
                queue: queue.into(),
            });
        }
        let dlq = props
            .and_then(|p| path(p, &["RedrivePolicy", "deadLetterTargetArn"]))
            .and_then(getatt)
            .filter(|(r, a)| a == "Arn" && self.resource_type(r) == Some(QUEUE));
        if dlq.is_none() {
            self.wiring(drifts, worker, format!("{queue} has no dead-letter queue"));
        }
    }

    /// The task role may consume only its own queue and scale only its own service.
    fn check_role(
        &self,
        worker: u32,
        task_id: &str,
        task: &Value,
        queue: &str,
        service_name: Option<&str>,
        drifts: &mut Vec<Drift>,
    ) {
        let role = path(task, &["Properties", "TaskRoleArn"])
            .and_then(getatt)
            .filter(|(r, _)| self.resource_type(r) == Some(ROLE));
        let Some((role_id, _)) = role else {
            self.wiring(
                drifts,
                worker,
                format!("{task_id} has no task role of its own"),
            );
            return;
        };
        let statements: Vec<&Value> = self
            .resource(&role_id)
            .and_then(|r| path(r, &["Properties", "Policies"]))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|p| path(p, &["PolicyDocument", "Statement"])?.as_sequence())
            .flatten()
            .collect();
        let actions = |s: &Value| -> Vec<String> {
            match s.get("Action") {
                Some(Value::String(a)) => vec![a.clone()],
                Some(Value::Sequence(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            }
        };
        for s in &statements {
            let acts = actions(s);
            let resource = s.get("Resource").unwrap_or(&Value::Null);
            if acts.iter().any(|a| a.starts_with("sqs:")) {
                let own = getatt(resource).is_some_and(|(r, a)| r == queue && a == "Arn");
                if !own {
                    self.wiring(
                        drifts,
                        worker,
                        format!(
                            "{role_id} reaches a queue other than {queue}: {}",
                            describe(resource)
                        ),
                    );
                }
            }
            if acts.iter().any(|a| a == "ecs:UpdateService") {
                // The service's ARN is written out from its name (a !Ref would be a cycle).
                let own = match (sub_text(resource), service_name) {
                    (Some(arn), Some(name)) => arn.ends_with(&format!("/{name}")),
                    _ => false,
                };
                if !own {
                    self.wiring(
                        drifts,
                        worker,
                        format!(
                            "{role_id} scales a service other than its own: {}",
                            describe(resource)
                        ),
                    );
                }
            }
        }
    }

    /// The Lambda's `INTENT_QUEUE_URL` and `WORKER_SERVICE` name every worker, in order.
    fn check_lists(
        &self,
        vars: &[(String, Value)],
        workers: &[Option<(String, String)>],
        drifts: &mut Vec<Drift>,
    ) {
        let get = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        for name in [env::INTENT_QUEUE_URL, env::WORKER_SERVICE] {
            let Some(value) = get(name) else { continue };
            let list = match self.entries(value) {
                Ok(list) => list,
                Err(what) => {
                    drifts.push(Drift::RoutingList {
                        count: self.count,
                        name,
                        what,
                    });
                    continue;
                }
            };
            if list.len() != workers.len() {
                drifts.push(Drift::RoutingList {
                    count: self.count,
                    name,
                    what: format!("{} entries for {} workers", list.len(), workers.len()),
                });
                continue;
            }
            for (i, (entry, worker)) in list.iter().zip(workers).enumerate() {
                let Some((queue, service)) = worker else {
                    continue;
                };
                let ok = if name == env::INTENT_QUEUE_URL {
                    self.names_queue(entry, queue)
                } else {
                    self.names_service(entry, service)
                };
                if !ok {
                    drifts.push(Drift::RoutingList {
                        count: self.count,
                        name,
                        what: format!("entry {i} is {}, not worker {i}'s", describe(entry)),
                    });
                }
            }
        }
    }

    /// The entries of a per-worker list: `!Join ["", [first, !If [.., ",next", ""], ..]]`,
    /// or a single `!Ref`. Entries after the first carry a leading comma, removed here.
    fn entries(&self, value: &Value) -> Result<Vec<Value>, String> {
        let Some(("Fn::Join", Value::Sequence(args))) =
            intrinsic(value).as_ref().map(|(n, a)| (n.as_str(), *a))
        else {
            return Ok(vec![value.clone()]);
        };
        let parts = match args.as_slice() {
            [Value::String(sep), Value::Sequence(parts)] if sep.is_empty() => parts,
            _ => return Err("a !Join the checker cannot read".into()),
        };
        let mut out = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let Some(part) = self.pick(part) else {
                continue;
            };
            if part.as_str() == Some("") {
                continue;
            }
            if i == 0 {
                out.push(part);
                continue;
            }
            match sub_text(&part).and_then(|t| t.strip_prefix(',')) {
                Some(rest) => out.push(tagged("Sub", Value::String(rest.to_owned()))),
                None => {
                    return Err(format!(
                        "part {i} is {}, not \",\" and a name",
                        describe(&part)
                    ))
                }
            }
        }
        Ok(out)
    }

    fn names_queue(&self, entry: &Value, queue: &str) -> bool {
        if ref_target(entry) == Some(queue) {
            return true;
        }
        let name = self
            .resource(queue)
            .and_then(|q| path(q, &["Properties", "QueueName"]))
            .and_then(sub_text);
        match (sub_text(entry), name) {
            (Some(url), Some(name)) => url == format!("{QUEUE_URL_PREFIX}{name}"),
            _ => false,
        }
    }

    fn names_service(&self, entry: &Value, service: &str) -> bool {
        if getatt(entry).is_some_and(|(r, a)| r == service && a == "Name") {
            return true;
        }
        let name = self
            .resource(service)
            .and_then(|s| path(s, &["Properties", "ServiceName"]))
            .and_then(sub_text);
        matches!((sub_text(entry), name), (Some(e), Some(n)) if e == n)
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
        let mut required = vec![
            env::STORE,
            env::TABLE_NAME,
            env::INTENT_QUEUE_URL,
            env::WORKER_CLUSTER,
            env::WORKER_SERVICE,
            env::WORKER_COUNT,
        ];
        if binary == Binary::Worker {
            required.push(env::WORKER_INDEX);
        }
        for name in required {
            if get(name).is_none() {
                drifts.push(Drift::MissingEnv {
                    binary,
                    name: name.to_owned(),
                });
            }
        }
        if let Some(store) = get(env::STORE) {
            let dynamo = plain_str(store).is_some_and(|s| {
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
        // The worker's own queue; the Lambda's list is checked in `check_lists`.
        if let (Binary::Worker, Some(value)) = (binary, get(env::INTENT_QUEUE_URL)) {
            if ref_target(value).is_none_or(|id| self.resource_type(id) != Some(QUEUE)) {
                drifts.push(Drift::NotARef {
                    binary,
                    name: env::INTENT_QUEUE_URL,
                    kind: QUEUE,
                });
            }
        }
    }

    fn check_routes(&self, function: &Value, drifts: &mut Vec<Drift>) {
        let routes = self.template.http_routes(function);
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
        for (method, path) in REQUIRED_ROUTES {
            if !routes
                .iter()
                .any(|r| r.method == *method && r.path == *path)
            {
                drifts.push(Drift::MissingRoute { method, path });
            }
        }
    }
}

fn check_table(t: &Value, drifts: &mut Vec<Drift>) {
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
