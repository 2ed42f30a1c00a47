//! Every request's way in: what can be answered at once is (Keyyo's
//! notifications, oversized bodies), the rest goes to the router.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::http::error::ApiError;
use crate::http::keyyo::keyyo_event;
use crate::http::keyyo::keyyo_notify;
use crate::http::keyyo::Checked;
use crate::http::state::AppState;
use axum::extract::ConnectInfo;
use std::net::SocketAddr;

/// The routes, one router per feature (Keyyo's notifications are
/// answered before them: see [`take`]).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(crate::http::cti::routes())
        .merge(crate::http::desk::routes())
        .merge(crate::http::sim::routes())
        .merge(crate::http::ops::routes())
        // Every request here is a few hundred bytes (see also [`take`]).
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// A request as [`take`] leaves it for [`respond`] (`B`: its body, hyper's
/// on the wire, any in the tests).
pub enum Taken<B = hyper::body::Incoming> {
    /// Answered already.
    Answered(Response),
    /// A Keyyo notification from this client, checked: its event waits
    /// for the journal.
    Keyyo(SocketAddr, Checked),
    /// For the router, from this client.
    Route(axum::http::Request<B>, SocketAddr),
}

/// The part of answering a request from `peer` done at once, when hyper
/// hands it over. Keyyo's notifications, the one route a provider hits at
/// its own rate, are read and checked here (no router, no extractors), and
/// the request is let go before anything is awaited: held, it would keep
/// hyper's read buffer, which hyper reads from while the answer is awaited
/// (to see the client leave), and a new buffer would be allocated for
/// every notification. `source` is the connection's: its address, checked
/// once against Keyyo's allowed sources.
pub fn take<B>(
    state: &AppState,
    source: &crate::wire::keyyo::Source,
    mut req: axum::http::Request<B>,
) -> Taken<B> {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Taken::Answered(too_large());
    }
    // The client: this connection's peer, or the one a trusted proxy
    // names (and whether it came over HTTPS: the browser desk's cookie).
    let (client, https) = if source.is_proxy() {
        let c = state
            .opts
            .trusted_proxies
            .client(source.peer(), req.headers(), source.is_https());
        (c.addr, c.https)
    } else {
        (source.peer(), source.is_https())
    };
    req.extensions_mut()
        .insert(crate::http::state::Https(https));
    if req.uri().path() == crate::config::keyyo::PATH {
        return Taken::Keyyo(
            client,
            keyyo_event(state, source, client, req.uri().query()),
        );
    }
    Taken::Route(req, client)
}

/// Answers a request [`take`]n.
pub async fn respond<B>(state: &AppState, app: &Router, taken: Taken<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    use tower_service::Service as _;
    let (mut req, client) = match taken {
        Taken::Answered(r) => return r,
        // Boxed: every request's state is as large as the largest, and a
        // held poll keeps its own for the whole hold (10 000 of them).
        Taken::Keyyo(client, checked) => {
            return Box::pin(keyyo_notify(state, client, checked)).await
        }
        Taken::Route(req, client) => (req, client),
    };
    // The routes see the client (a trusted proxy's, the one it names).
    req.extensions_mut().insert(ConnectInfo(client));
    // A body sent in chunks says nothing of its size: read, at most the
    // limit (the routes read none, but a body is never taken unbounded).
    let chunked = req
        .headers()
        .contains_key(axum::http::header::TRANSFER_ENCODING);
    let req = if chunked {
        let (parts, body) = req.into_parts();
        // Boxed: the rare case does not make every request's state larger
        // (a held poll keeps its state for its whole hold).
        match Box::pin(axum::body::to_bytes(axum::body::Body::new(body), MAX_BODY)).await {
            Ok(bytes) => axum::http::Request::from_parts(parts, axum::body::Body::from(bytes)),
            Err(_) => return too_large(),
        }
    } else {
        req.map(axum::body::Body::new)
    };
    match app.clone().call(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// The largest request body taken: every request here is a few hundred
/// bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// 413, and the connection closed (its body is not read).
pub(crate) fn too_large() -> Response {
    ApiError::TooLarge.into_response()
}
