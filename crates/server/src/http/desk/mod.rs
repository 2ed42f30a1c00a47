//! The browser desk, served by `ctibridge serve` on its own port under
//! `/desk/`: a desk logs in with its ident and secret, sees its lines'
//! calls live (Server-Sent Events, resumed from the last event's number
//! after a drop), acts on them, dials, reads its history; a supervisor
//! also has the wall of every line.
//!
//! The session is a cookie signed with HMAC-SHA256 keyed by the desk's
//! secret: it lasts a working day, survives a restart of the server, and
//! ends by itself when the secret changes. Every state-changing request
//! carries the page's CSRF token (an HMAC of the session) in a header, and
//! its `Origin`, when sent, must be this server. The pages and scripts are
//! embedded in the binary, gzip-compressed once, served under names with
//! their hash (cached for good) and a strict Content-Security-Policy with
//! no inline script.

pub mod answers;
pub mod assets;
pub mod events;
pub mod session;
pub mod wall;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::http::state::AppState;
use answers::redirect;
use assets::{asset, desk_page, wall_page};
use events::{call, calls, dial, events, history};
use session::{login, logout, me, seen};
use wall::wall;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        // A browser sent to the server's address finds the desk.
        .route("/", get(|| async { redirect("/desk/") }))
        .route("/desk", get(|| async { redirect("/desk/") }))
        .route("/desk/", get(desk_page))
        .route("/desk/wall", get(wall_page))
        .route("/desk/assets/{file}", get(asset))
        .route("/desk/login", post(login))
        .route("/desk/logout", post(logout))
        .route("/desk/api/me", get(me))
        .route("/desk/api/events", get(events))
        .route("/desk/api/calls", get(calls))
        .route("/desk/api/history", get(history))
        .route("/desk/api/call", post(call))
        .route("/desk/api/dial", post(dial))
        .route("/desk/api/seen", post(seen))
        .route("/desk/api/wall", get(wall))
}
