//! The HTTP edge of Tidings: the v1 API (docs/design.md, "The outside contract"),
//! published as OpenAPI at `/openapi.json`, and the admin listener (metrics, health).
//!
//! - [`bodies`]: the JSON bodies and their schemas, the contract's own types.
//! - [`auth`]: JWT credentials and scopes.
//! - [`extract`]: extractors that answer bad input with the offending field.
//! - [`error`]: the JSON error body.
//! - [`routes`]: the handlers, one per operation; [`openapi`]: the document.
//! - [`admin`]: `/metrics`, `/health/live`, `/health/ready`.

pub mod admin;
pub mod auth;
pub mod bodies;
pub mod error;
pub mod extract;
mod metrics_layer;
pub mod openapi;
pub mod rates;
pub mod routes;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use tidings_ingest::Ingest;
use tidings_puller::{PageLimits, Puller};

pub use auth::{Authenticator, CallerRole, Claims};

/// What the business-server and operator handlers share.
#[derive(Debug, Clone, FromRef)]
pub struct BusinessState {
    pub ingest: Ingest,
    pub auth: Authenticator,
    pub rates: rates::SendRates,
}

/// What the client handlers share.
#[derive(Debug, Clone, FromRef)]
pub struct ClientState {
    pub ingest: Ingest,
    pub puller: Puller,
    pub auth: Authenticator,
    pub limits: PageLimits,
}

/// Which parts of the API a process serves: the ingest role serves business servers and
/// operators, the pull role serves clients, all-in-one serves both.
#[derive(Debug, Clone)]
pub struct ApiSurfaces {
    pub business: Option<BusinessState>,
    pub clients: Option<ClientState>,
}

/// The public API router: the chosen surfaces and `/openapi.json` (the whole contract).
pub fn api_router(surfaces: ApiSurfaces) -> Router {
    let mut router = Router::new().route("/openapi.json", get(openapi::serve));
    if let Some(state) = surfaces.business {
        router = router.merge(routes::business_routes().with_state(state));
    }
    if let Some(state) = surfaces.clients {
        router = router.merge(routes::client_routes().with_state(state));
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(metrics_layer::record))
}

pub fn describe_metrics() {
    metrics_layer::describe();
}
