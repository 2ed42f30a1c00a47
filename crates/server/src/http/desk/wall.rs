//! The supervisor's wall: every line's calls and the account's call park.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::desk::answers::{compressed, error, secured};
use crate::http::desk::session::all_lines;
use crate::http::desk::session::Web;
use crate::http::state::AppState;
use crate::model::record::LiveState;
use axum::http::StatusCode;

/// `GET /desk/api/wall` (supervisors): every line, its desks, its calls
/// under way, the call park, and the day's counts.
pub(crate) async fn wall(State(s): State<Arc<AppState>>, web: Web) -> Response {
    if !web.session.supervisor {
        return error(StatusCode::FORBIDDEN, "the wall is for supervisors");
    }
    let lines = all_lines(&s);
    let day_start = start_of_today_ms();
    let read = {
        let lines = lines.clone();
        s.journal.read(move |j| {
            lines
                .iter()
                .map(|l| j.history(l, None, 2000).map(|c| (l.clone(), c)))
                .collect::<crate::store::calls::StoreResult<Vec<_>>>()
        })
    };
    let found = match read.await {
        Ok(found) => found,
        _ => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the journal cannot be read",
            )
        }
    };
    let now = crate::model::clock::now_ms();
    let (mut received, mut missed, mut quick) = (0, 0, 0);
    let mut park = Vec::new();
    let mut out = Vec::new();
    for (line, records) in found {
        let mut active = Vec::new();
        for c in &records {
            if c.setup_at >= day_start && c.direction == crate::model::event::Direction::In {
                received += 1;
                match c.state {
                    ctibridge_client::events::model::CallState::Missed => missed += 1,
                    _ if c.ringing_ms.is_some_and(|r| r <= 20_000) && c.connect_at.is_some() => {
                        quick += 1
                    }
                    _ => {}
                }
            }
            if c.under_way(now) {
                let call = json!({
                    "callref": c.callref,
                    "tel": crate::http::cti::for_desks(&s.opts, &c.tel),
                    "direction": c.direction,
                    "state": LiveState::of(c, now),
                    "setup_at": c.setup_at,
                    "connect_at": c.connect_at,
                    "park_slot": c.park_slot,
                    "name": c.person.as_ref().map(|p| p.name.clone()),
                    "company": c.person.as_ref().map(|p| p.company.clone()),
                });
                if c.park_slot.is_some() {
                    park.push(json!({ "line": crate::http::cti::for_desks(&s.opts, &line), "call": call.clone() }));
                }
                active.push(call);
            }
        }
        let desks: Vec<&str> = s
            .opts
            .desks
            .iter()
            .filter(|d| d.lines.contains(&line))
            .map(|d| d.ident.as_str())
            .collect();
        out.push(json!({
            "line": crate::http::cti::for_desks(&s.opts, &line),
            "line_id": line,
            "desks": desks,
            "calls": active,
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
    let r = secured(
        axum::Json(json!({
            "lines": out,
            "park": park,
            "today": { "received": received, "missed": missed, "answered_within_20s": quick },
            "cursor": s.hub.last_seq().to_string(),
            "now": now,
        }))
        .into_response(),
    );
    compressed(r, web.gzip).await
}

/// Local midnight today, in ms since 1970.
pub(crate) fn start_of_today_ms() -> i64 {
    use chrono::TimeZone as _;
    let today = chrono::Local::now().date_naive();
    today
        .and_hms_opt(0, 0, 0)
        .and_then(|t| chrono::Local.from_local_datetime(&t).earliest())
        .map_or(0, |t| t.timestamp_millis())
}
