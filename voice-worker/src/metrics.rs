//! The worker's metrics, as Prometheus text at `GET /metrics`. Each worker owns its registry
//! (no process-global recorder), so two workers in one process, as in the tests and in
//! `timmybot serve`, never mix their counts.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use timmybot_domain::Platform;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabel {
    pub shard: u32,
}

pub struct WorkerMetrics {
    registry: Registry,
    pub guilds_in_call: Gauge,
    pub streams_playing: Gauge,
    pub intents: Family<KindLabel, Counter>,
    pub intents_failed: Family<KindLabel, Counter>,
    pub track_failures: Family<SourceLabel, Counter>,
    pub gateway_latency_seconds: Family<ShardLabel, Gauge<f64, AtomicU64>>,
    pub mixer_tick_seconds: Gauge<f64, AtomicU64>,
    pub store_retries: Counter,
    pub autoplay_tracks: Counter,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("timmybot");
        let m = Self {
            guilds_in_call: Gauge::default(),
            streams_playing: Gauge::default(),
            intents: Family::default(),
            intents_failed: Family::default(),
            track_failures: Family::default(),
            gateway_latency_seconds: Family::default(),
            mixer_tick_seconds: Gauge::default(),
            store_retries: Counter::default(),
            autoplay_tracks: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "guilds_in_call",
            "Guilds with a voice connection",
            m.guilds_in_call.clone(),
        );
        registry.register(
            "streams_playing",
            "Guilds whose track is playing (not paused)",
            m.streams_playing.clone(),
        );
        registry.register(
            "intents_consumed",
            "Intents taken from the bus, by kind",
            m.intents.clone(),
        );
        registry.register(
            "intents_failed",
            "Intents that did not apply (left for redelivery) or did not decode, by kind",
            m.intents_failed.clone(),
        );
        registry.register(
            "track_failures",
            "Tracks that could not be opened or failed while playing, by source",
            m.track_failures.clone(),
        );
        registry.register(
            "gateway_latency_seconds",
            "The gateway's heartbeat round trip, averaged, by shard",
            m.gateway_latency_seconds.clone(),
        );
        registry.register(
            "mixer_tick_seconds",
            "The slowest mixer thread's last tick: the time it took to mix and encode 20 ms",
            m.mixer_tick_seconds.clone(),
        );
        registry.register(
            "store_retries",
            "Versioned writes retried after losing a race",
            m.store_retries.clone(),
        );
        registry.register(
            "autoplay_tracks",
            "Tracks autoplay started when a queue ran dry",
            m.autoplay_tracks.clone(),
        );
        Self { registry, ..m }
    }
}

impl WorkerMetrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn intent(&self, kind: &str) {
        self.intents
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc();
    }

    pub fn intent_failed(&self, kind: &str) {
        self.intents_failed
            .get_or_create(&KindLabel { kind: kind.into() })
            .inc();
    }

    pub fn autoplayed(&self) {
        self.autoplay_tracks.inc();
    }

    pub fn track_failed(&self, platform: Platform) {
        self.track_failures
            .get_or_create(&SourceLabel {
                source: platform.as_str(),
            })
            .inc();
    }

    /// Retries a versioned write took: every attempt after the first.
    pub fn attempts(&self, attempts: u32) {
        self.store_retries
            .inc_by(u64::from(attempts.saturating_sub(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_as_prometheus_text() {
        let m = WorkerMetrics::default();
        m.intent("play");
        m.intent("play");
        m.intent_failed("malformed");
        m.track_failed(Platform::Http);
        m.attempts(3);
        m.guilds_in_call.set(2);
        let text = m.render();
        for line in [
            "timmybot_intents_consumed_total{kind=\"play\"} 2",
            "timmybot_intents_failed_total{kind=\"malformed\"} 1",
            "timmybot_track_failures_total{source=\"http\"} 1",
            "timmybot_store_retries_total 2",
            "timmybot_guilds_in_call 2",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
