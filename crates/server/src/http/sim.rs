//! The simulator's routes: a call placed, acted on, a desk's streams cut.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use axum::Router;
use serde_json::json;

use crate::http::error::ApiError;
use crate::http::extract::is_number;
use crate::http::extract::param;
use crate::http::extract::Params;
use crate::http::state::AppState;
use crate::sources::sim::Sim;

/// The simulator's routes (refused when the server runs without it).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/sim/call", post(sim_call))
        .route("/sim/act", post(sim_act))
        .route("/sim/dial", post(sim_dial))
        .route("/sim/streams", post(sim_streams))
}

/// `POST /sim/call?from&to[&answer=0]`: an incoming call in the simulator.
/// The simulator, for a request from this machine: its routes are tools
/// for tests and demos.
pub(crate) fn simulator(s: &AppState, peer: SocketAddr) -> Result<&Sim, ApiError> {
    let sim = s
        .provider
        .sim()
        .ok_or(ApiError::Off("the simulator is off"))?;
    if !peer.ip().is_loopback() {
        return Err(ApiError::Forbidden("only from this machine"));
    }
    Ok(sim)
}

/// `/sim/act?callref=C&op=answer|hangup`: the other party of a simulated
/// call answers it or hangs up (tests and demos; this machine only).
pub(crate) async fn sim_act(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let sim = simulator(&s, peer)?;
    let callref =
        param(&q, "callref").ok_or_else(|| ApiError::Invalid("callref is required".into()))?;
    let op = match param(&q, "op") {
        Some("answer") => crate::model::control::Op::Answer,
        Some("hangup") => crate::model::control::Op::Hangup,
        _ => return Err(ApiError::Invalid("op is answer or hangup".into())),
    };
    sim.remote(callref, op).await.map_err(ApiError::Control)?;
    Ok(Json(json!({ "result": "OK" })).into_response())
}

/// `/sim/dial?answer=1|0|wait`: how the callee of the desks' next dials
/// behaves — answers by itself, never, or when `/sim/act` says.
pub(crate) async fn sim_dial(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let sim = simulator(&s, peer)?;
    sim.set_dial_auto(match param(&q, "answer") {
        Some("0") => crate::sources::sim::Auto::NoAnswer,
        Some("wait") => crate::sources::sim::Auto::Manual,
        _ => crate::sources::sim::Auto::Answer,
    });
    Ok(Json(json!({ "result": "OK" })).into_response())
}

/// `/sim/streams?state=down|up`: the simulator's network for the
/// browser desk's event streams — `down` cuts every stream open and holds
/// new ones, `up` lets them through (tests of a dropped stream).
pub(crate) async fn sim_streams(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params,
) -> Result<Response, ApiError> {
    simulator(&s, peer)?;
    match param(&q, "state") {
        Some("down") => s.web.cut_streams(true),
        Some("up") => s.web.release_streams(),
        _ => return Err(ApiError::Invalid("state is down or up".into())),
    }
    Ok(Json(json!({ "result": "OK" })).into_response())
}

pub(crate) async fn sim_call(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let sim = simulator(&s, peer)?;
    let (Some(from), Some(to)) = (param(&q, "from"), param(&q, "to")) else {
        return Err(ApiError::Invalid("from and to are required".into()));
    };
    let read = |n: &str| {
        ctibridge_client::number::identity(n, &s.opts.country)
            .ok()
            .filter(|n| is_number(n))
    };
    let (Some(from), Some(to)) = (read(from), read(to)) else {
        return Err(ApiError::Invalid("from and to are phone numbers".into()));
    };
    let auto = match param(&q, "answer") {
        Some("0") => crate::sources::sim::Auto::NoAnswer,
        Some("wait") => crate::sources::sim::Auto::Manual,
        _ => crate::sources::sim::Auto::Answer,
    };
    let callref = sim.incoming(&from, &to, auto);
    Ok(Json(json!({ "result": "OK", "callref": callref })).into_response())
}
