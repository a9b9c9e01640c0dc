//! What the adapter needs to know about the cluster, as it appears in the binary's config.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use tracing::warn;

/// How to reach the Kafka cluster and how to create topics.
///
/// Every field has a default, so a config section may name only what differs:
/// `bootstrap_servers = "kafka-1:9092,kafka-2:9092"` is a complete one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// `host:port` pairs, comma-separated (librdkafka's `bootstrap.servers`).
    pub bootstrap_servers: String,
    /// Partitions of each topic the adapter creates; the unit of consumer parallelism.
    pub partitions: i32,
    /// Replicas of each topic the adapter creates; `-1` takes the broker's
    /// `default.replication.factor`.
    pub replication_factor: i32,
    /// librdkafka's `client.id`, shown in broker logs and metrics.
    pub client_id: String,
    /// `retention.ms` of the topics the adapter creates for records that are the source of
    /// truth (events, dead letters): `-1`, never deleted, since a rebuild replays them from
    /// the beginning. Their `retention.bytes` is `-1` too.
    pub event_retention_ms: i64,
    /// `retention.ms` of the topics declared as hints ([`crate::KafkaLog::declare_hint_topics`]:
    /// the notify topic), which nobody replays; 24 hours by default.
    pub hint_retention_ms: i64,
    /// Further librdkafka properties (`security.protocol`, `sasl.*`, `linger.ms`, …) for
    /// every client the adapter creates. They cannot switch off what the contract needs:
    /// the producer's idempotence and `acks=all`, and the consumer's manual commits.
    pub extra: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:9092".to_owned(),
            partitions: 8,
            replication_factor: -1,
            client_id: "tidings".to_owned(),
            event_retention_ms: -1,
            hint_retention_ms: 24 * 3600 * 1000,
            extra: BTreeMap::new(),
        }
    }
}

/// Producer properties the contract rests on: durable before `Ok`, no duplicates or
/// reordering from the producer's own retries.
const PRODUCER_REQUIRED: &[(&str, &str)] = &[("enable.idempotence", "true"), ("acks", "all")];

/// Consumer properties the contract rests on: offsets move only by `commit`.
const CONSUMER_REQUIRED: &[(&str, &str)] = &[
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("auto.offset.reset", "earliest"),
    ("enable.partition.eof", "false"),
];

impl KafkaSettings {
    /// These settings with the values of `extra` keys that look like secrets replaced, for
    /// printing the effective config.
    pub fn redacted(&self) -> Self {
        let mut redacted = self.clone();
        for (key, value) in &mut redacted.extra {
            if ["password", "secret", "token", "key"].iter().any(|word| key.contains(word)) {
                *value = "<redacted>".to_owned();
            }
        }
        redacted
    }

    /// Properties shared by every client: connection, identity, then `extra`.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers).set("client.id", &self.client_id);
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }

    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        // Defaults `extra` may change: Java's partitioner, so a key lands in the partition
        // a Java client would pick too; a bounded wait for an unreachable cluster.
        config.set("partitioner", "murmur2_random").set("message.timeout.ms", "60000");
        merge(&mut config, self.client_config());
        enforce(&mut config, PRODUCER_REQUIRED);
        config
    }

    pub(crate) fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        // Defaults `extra` may change: a crashed member's partitions move to the others
        // after 10 s instead of librdkafka's 45 s (the broker's minimum is 6 s).
        config.set("session.timeout.ms", "10000").set("heartbeat.interval.ms", "3000");
        merge(&mut config, self.client_config());
        config.set("group.id", group);
        enforce(&mut config, CONSUMER_REQUIRED);
        config
    }
}

fn merge(into: &mut ClientConfig, from: ClientConfig) {
    for (key, value) in from.config_map() {
        into.set(key, value);
    }
}

fn enforce(config: &mut ClientConfig, required: &[(&str, &str)]) {
    for (key, value) in required {
        if let Some(configured) = config.get(key)
            && configured != *value
        {
            warn!(key, configured, required = value, "ignoring a kafka setting the event log contract forbids");
        }
        config.set(*key, *value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_section_keeps_the_other_defaults() {
        let settings: KafkaSettings = toml::from_str("bootstrap_servers = 'kafka:9092'").unwrap();
        assert_eq!(settings.bootstrap_servers, "kafka:9092");
        assert_eq!(settings.partitions, KafkaSettings::default().partitions);
    }

    #[test]
    fn extra_cannot_switch_off_what_the_contract_needs() {
        let mut settings = KafkaSettings::default();
        settings.extra.insert("acks".into(), "1".into());
        settings.extra.insert("enable.auto.commit".into(), "true".into());
        settings.extra.insert("linger.ms".into(), "20".into());
        let producer = settings.producer_config();
        assert_eq!(producer.get("acks"), Some("all"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        assert_eq!(producer.get("linger.ms"), Some("20"));
        let consumer = settings.consumer_config("group");
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("group.id"), Some("group"));
    }

    #[test]
    fn redacted_hides_secrets_only() {
        let mut settings = KafkaSettings::default();
        settings.extra.insert("sasl.password".into(), "hunter2".into());
        settings.extra.insert("security.protocol".into(), "SASL_SSL".into());
        let redacted = settings.redacted();
        assert_eq!(redacted.extra["sasl.password"], "<redacted>");
        assert_eq!(redacted.extra["security.protocol"], "SASL_SSL");
    }
}
