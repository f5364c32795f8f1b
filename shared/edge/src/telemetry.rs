//! What the edge reports about each interaction it handles. On Lambda that is CloudWatch's
//! embedded metric format: one JSON log line each, which CloudWatch turns into metrics with
//! no `PutMetricData` call (and no cost per call). Elsewhere, nothing.

use std::time::Duration;

use serde_json::json;
use timmybot_commands::Handled;

pub trait Telemetry: Send + Sync {
    fn interaction(&self, handled: Handled, took: Duration, at_ms: u64);
}

/// Reports nothing: `timmybot serve --listen`, where the worker's `/metrics` speaks.
pub struct Silent;

impl Telemetry for Silent {
    fn interaction(&self, _: Handled, _: Duration, _: u64) {}
}

/// CloudWatch's embedded metric format, on stdout (the Lambda's log).
pub struct Emf {
    pub namespace: String,
}

/// The namespace the template's dashboards and alarms would read.
pub const NAMESPACE: &str = "TimmyBot";

impl Emf {
    /// The log line for one interaction.
    pub fn line(&self, handled: Handled, took: Duration, at_ms: u64) -> String {
        json!({
            "_aws": {
                "Timestamp": at_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Command"]],
                    "Metrics": [
                        {"Name": "Commands", "Unit": "Count"},
                        {"Name": "HandlerTime", "Unit": "Milliseconds"},
                        {"Name": "Errors", "Unit": "Count"},
                    ],
                }],
            },
            "Command": handled.name,
            "Commands": 1,
            "HandlerTime": took.as_secs_f64() * 1000.0,
            "Errors": u8::from(handled.failed),
        })
        .to_string()
    }
}

impl Telemetry for Emf {
    fn interaction(&self, handled: Handled, took: Duration, at_ms: u64) {
        // stdout is the Lambda's log stream, where CloudWatch reads EMF; not a tracing line,
        // whose JSON wrapper would hide the document.
        println!("{}", self.line(handled, took, at_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The rules of CloudWatch's embedded metric format specification.
    fn assert_emf(line: &str) {
        let doc: Value = serde_json::from_str(line).expect("one JSON object");
        let meta = &doc["_aws"];
        assert!(meta["Timestamp"].is_u64(), "Timestamp is epoch ms: {line}");
        let directives = meta["CloudWatchMetrics"].as_array().expect("directives");
        assert!(!directives.is_empty());
        for d in directives {
            let ns = d["Namespace"].as_str().expect("a namespace");
            assert!(!ns.is_empty() && ns.len() <= 256);
            for set in d["Dimensions"].as_array().expect("dimension sets") {
                let set = set.as_array().expect("a dimension set");
                assert!(set.len() <= 30);
                for dim in set {
                    let key = dim.as_str().expect("a dimension name");
                    assert!(doc[key].is_string(), "dimension {key} has a string value");
                }
            }
            for m in d["Metrics"].as_array().expect("metrics") {
                let name = m["Name"].as_str().expect("a metric name");
                assert!(doc[name].is_number(), "{name} has a number: {line}");
                let unit = m["Unit"].as_str().unwrap_or("None");
                assert!(["Count", "Milliseconds", "None"].contains(&unit));
            }
        }
    }

    #[test]
    fn each_line_is_embedded_metric_format() {
        let emf = Emf {
            namespace: NAMESPACE.into(),
        };
        let ok = emf.line(
            Handled {
                name: "play",
                failed: false,
            },
            Duration::from_micros(12_500),
            1_767_225_600_000,
        );
        assert_emf(&ok);
        let doc: Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(doc["Command"], "play");
        assert_eq!(doc["HandlerTime"], 12.5);
        assert_eq!(doc["Errors"], 0);
        let failed = emf.line(
            Handled {
                name: "queue",
                failed: true,
            },
            Duration::ZERO,
            1,
        );
        assert_emf(&failed);
        assert_eq!(serde_json::from_str::<Value>(&failed).unwrap()["Errors"], 1);
    }
}
