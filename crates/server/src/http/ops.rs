//! The operator's routes: `/healthz` and `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use axum::Json;
use std::time::Instant;

/// The operator's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// Whether `client` may read `/healthz` and `/metrics`: this machine, or
/// `<monitoring>`.
pub(crate) fn may_monitor(s: &AppState, client: SocketAddr) -> Result<(), ApiError> {
    if client.ip().is_loopback() || s.opts.monitoring.trusts(client.ip()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only this machine and <monitoring> may read the server's health",
        ))
    }
}

/// `GET /healthz`: the journal, the provider, the relay; 200 when all are
/// in place, 503 otherwise, with what is wrong.
pub(crate) async fn healthz(
    State(s): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    may_monitor(&s, client)?;
    let (ok, report) = crate::sources::health::report(
        !s.ingest.is_refusing(),
        s.provider.health(),
        s.relay_status.as_deref(),
    )
    .await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, Json(report)).into_response())
}

/// `GET /metrics`: the Prometheus text.
pub(crate) async fn metrics(
    State(s): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    may_monitor(&s, client)?;
    let desks = s
        .tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .desks_holding(Instant::now());
    let text = s.ingest.metrics().render(desks, s.ingest.queued());
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            crate::infra::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response())
}
