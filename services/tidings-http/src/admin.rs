//! The admin listener: Prometheus metrics and health, apart from the public API.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tidings_puller::PublicMailboxCache;

/// What the admin endpoints look at.
#[derive(Debug, Clone)]
pub struct AdminState {
    pub metrics: PrometheusHandle,
    /// Ready once the public mailbox cache has loaded (when this process serves pulls).
    pub public_cache: Option<Arc<PublicMailboxCache>>,
}

pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health/live", get(|| async { "live" }))
        .route("/health/ready", get(ready))
        .with_state(state)
}

async fn metrics(State(state): State<AdminState>) -> String {
    state.metrics.render()
}

async fn ready(State(state): State<AdminState>) -> (StatusCode, &'static str) {
    match &state.public_cache {
        Some(cache) if !cache.is_ready() => (StatusCode::SERVICE_UNAVAILABLE, "public mailbox cache not loaded yet"),
        _ => (StatusCode::OK, "ready"),
    }
}
