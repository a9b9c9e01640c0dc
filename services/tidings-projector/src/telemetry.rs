//! The metrics the projector reports, named once here and described in [`describe_metrics`].

pub(crate) const EVENTS_TOTAL: &str = "tidings_projector_events_total";
pub(crate) const BATCH_SECONDS: &str = "tidings_projector_batch_duration_seconds";
pub(crate) const LAG_RECORDS: &str = "tidings_projector_consumer_lag_records";
pub(crate) const LATENCY_SECONDS: &str = "tidings_projector_projection_latency_seconds";

/// Registers the description and unit of each metric with the installed recorder, once at
/// startup.
pub fn describe_metrics() {
    metrics::describe_counter!(EVENTS_TOTAL, "events consumed, by topic and outcome");
    metrics::describe_histogram!(BATCH_SECONDS, metrics::Unit::Seconds, "time to project and commit one batch");
    metrics::describe_gauge!(LAG_RECORDS, "records appended but not yet committed by this projector");
    metrics::describe_histogram!(
        LATENCY_SECONDS,
        metrics::Unit::Seconds,
        "from ingest accepting a delivery to its projection being durable"
    );
}
