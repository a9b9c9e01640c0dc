//! Per-request metrics and a debug log line, labelled by route template (never by ids).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

const REQUESTS_TOTAL: &str = "tidings_http_requests_total";
const REQUEST_SECONDS: &str = "tidings_http_request_duration_seconds";

pub(crate) fn describe() {
    metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests, by method, route and status");
    metrics::describe_histogram!(REQUEST_SECONDS, metrics::Unit::Seconds, "HTTP request latency, by method and route");
}

pub(crate) async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics::counter!(REQUESTS_TOTAL, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(REQUEST_SECONDS, "method" => method.clone(), "route" => route.clone())
        .record(elapsed.as_secs_f64());
    tracing::debug!(%method, %route, status, latency_us = elapsed.as_micros() as u64, "request served");
    response
}
