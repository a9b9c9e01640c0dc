//! The HTTP edge of Tidings: the v1 API of DESIGN.md ("The outside contract"), published as
//! OpenAPI at `/openapi.json`, and the admin listener (metrics, health).
//!
//! - [`auth`]: JWT credentials and scopes.
//! - [`extract`]: extractors that answer bad input with the offending field.
//! - [`error`]: the JSON error body.
//! - [`routes`]: the handlers, one per operation.
//! - [`admin`]: `/metrics`, `/health/live`, `/health/ready`.

pub mod admin;
pub mod auth;
pub mod error;
pub mod extract;
mod metrics_layer;
pub mod routes;

use axum::Router;
use tidings_ingest::Ingest;
use tidings_puller::Puller;

pub use auth::{Authenticator, Claims, Role};

/// How many messages a pull may ask for.
#[derive(Debug, Clone, Copy)]
pub struct PullLimits {
    pub default_limit: usize,
    pub max_limit: usize,
}

impl Default for PullLimits {
    fn default() -> Self {
        Self { default_limit: 50, max_limit: 200 }
    }
}

/// What every handler of the public API shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub ingest: Ingest,
    pub puller: Puller,
    pub auth: Authenticator,
    pub limits: PullLimits,
}

/// The public API router.
pub fn api_router(state: ApiState) -> Router {
    routes::router().with_state(state).layer(axum::middleware::from_fn(metrics_layer::record))
}

pub fn describe_metrics() {
    metrics_layer::describe();
}
