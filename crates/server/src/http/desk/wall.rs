//! The supervisor's wall: every line's calls and the account's call park.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::http::desk::answers::{compressed, error, secured};
use crate::http::desk::session::Web;
use crate::http::state::AppState;
use crate::model::record::{CallRecord, LiveState};
use crate::model::wall::WallView;
use axum::http::StatusCode;

/// `GET /desk/api/wall` (supervisors): every line, its desks, its calls
/// under way, the call park, and the day's counts — the hub's wall, with
/// the number of the last event it folded in: the page follows the events
/// stream's `view=wall` changes from there.
pub(crate) async fn wall(State(s): State<Arc<AppState>>, web: Web) -> Response {
    if !web.session.supervisor {
        return error(StatusCode::FORBIDDEN, "the wall is for supervisors");
    }
    let Some(view) = s.hub.wall() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the wall is not kept: no desk of the server file is a supervisor's",
        );
    };
    let r = secured(axum::Json(shown(&s, &view, 0)).into_response());
    compressed(r, web.gzip).await
}

/// The wall as the page reads it; of its lines, only those changed after
/// `since` (0: all of them). The call park is always whole.
pub(crate) fn shown(s: &AppState, view: &WallView, since: u64) -> Value {
    let now = crate::model::clock::now_ms();
    let mut park = Vec::new();
    let mut out = Vec::new();
    for l in &view.lines {
        let line = crate::http::cti::for_desks(&s.opts, &l.line);
        let calls: Vec<Value> = l.calls.iter().map(|c| call_shown(s, c, now)).collect();
        for (c, shown) in l.calls.iter().zip(&calls) {
            if c.park_slot.is_some() {
                park.push(json!({ "line": line, "call": shown }));
            }
        }
        if since != 0 && l.changed <= since {
            continue;
        }
        let desks: Vec<&str> = s
            .opts
            .desks
            .iter()
            .filter(|d| d.lines.contains(&l.line))
            .map(|d| d.ident.as_str())
            .collect();
        out.push(json!({
            "line": line,
            "line_id": l.line,
            "desks": desks,
            "calls": calls,
        }));
    }
    // The account's call park as the provider pushes it: calls parked by
    // lines the server file does not have too.
    for p in s.hub.park() {
        if park
            .iter()
            .any(|k| k["call"]["callref"] == p.callref.as_str())
        {
            continue;
        }
        park.push(json!({
            "line": crate::http::cti::for_desks(&s.opts, &p.callee),
            "call": {
                "callref": p.callref,
                "tel": crate::http::cti::for_desks(&s.opts, &p.caller),
                "state": LiveState::Parked,
                "setup_at": p.since,
                "park_slot": p.slot,
            },
        }));
    }
    json!({
        "lines": out,
        "park": park,
        "today": view.today,
        "cursor": view.cursor.to_string(),
        "now": now,
    })
}

/// A call under way as the wall shows it.
fn call_shown(s: &AppState, c: &CallRecord, now: i64) -> Value {
    json!({
        "callref": c.callref,
        "tel": crate::http::cti::for_desks(&s.opts, &c.tel),
        "direction": c.direction,
        "state": LiveState::of(c, now),
        "setup_at": c.setup_at,
        "connect_at": c.connect_at,
        "park_slot": c.park_slot,
        "name": c.person.as_ref().map(|p| p.name.clone()),
        "company": c.person.as_ref().map(|p| p.company.clone()),
    })
}
