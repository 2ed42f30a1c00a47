//! The desk's live calls (Server-Sent Events) and the CTI routes it
//! goes through.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::http::desk::answers::{compressed, error, passed, secured};
use crate::http::desk::session::all_lines;
use crate::http::desk::session::lines_of;
use crate::http::desk::session::Web;
use crate::http::extract::DeskLine;
use crate::http::state::AppState;
use std::net::SocketAddr;

/// A comment line on a quiet event stream, so that proxies keep it.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events in one write of the stream.
pub(crate) const EVENTS_PER_WRITE: usize = 100;

/// An event as the browser reads it.
pub(crate) fn shown(s: &AppState, e: &crate::model::event::LineEvent, at: i64) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_else(|_| json!({}));
    v["seq"] = json!(e.seq.to_string());
    v["line"] = json!(crate::http::cti::for_desks(&s.opts, &e.line));
    v["line_id"] = json!(e.line);
    v["tel"] = json!(crate::http::cti::for_desks(&s.opts, &e.tel));
    v["called"] = json!(crate::http::cti::for_desks(&s.opts, &e.called));
    v["at"] = json!(at);
    if let Some(link) = s.opts.record_url.as_deref().and_then(|t| {
        record_link(
            t,
            &e.tel,
            &crate::http::cti::for_desks(&s.opts, &e.tel),
            e.person.as_ref(),
        )
    }) {
        v["record_url"] = json!(link);
    }
    v
}

/// `GET /desk/api/events[?cursor=N][&scope=all[&view=wall]]` (or
/// `Last-Event-ID`): Server-Sent Events, each call event of the desk's
/// lines (every line for a supervisor's `scope=all`) with its number as
/// the event's id, so that the browser resumes after a drop from where it
/// was. With `view=wall`, instead of the events, the wall's changes: after
/// each burst, one `wall` event with the lines that changed, the day's
/// counts and the call park, its id the last event folded in.
pub(crate) async fn events(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    web: Web,
) -> Response {
    let all = web.q.get("scope").is_some_and(|v| v == "all");
    let as_wall = all && web.q.get("view").is_some_and(|v| v == "wall");
    if all && !web.session.supervisor {
        return error(StatusCode::FORBIDDEN, "the wall is for supervisors");
    }
    let lines = if all {
        all_lines(&s)
    } else {
        lines_of(&s, &web.session.ident)
    };
    let cursor: u64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(web.q.get("cursor").map(String::as_str))
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or_else(|| s.hub.last_seq());
    // A held request, counted; and one of the session's few streams (its
    // oldest ends past them).
    let hold = match s.holds.hold(peer.ip()) {
        Ok(h) => h,
        Err(full) => return passed(Err(full.into())),
    };
    let kept = std::sync::Arc::new((hold, s.web.sessions.open(&web.session.nonce)));
    // Held while the simulator's network is down.
    let mut net = s.web.streams.subscribe();
    let _ = net.wait_for(|(_, held)| !held).await;
    let generation = net.borrow().0;
    let cookie = headers.clone();
    // The wall hears of the call park's changes too (`event: park`).
    let park = all.then(|| s.hub.park_changes());
    let stream = futures_util::stream::unfold(
        (s, lines, cursor, cookie, true, park),
        move |(s, lines, cursor, cookie, first, mut park)| {
            let kept = kept.clone();
            async move {
                if s.web.streams.borrow().0 != generation {
                    return None;
                }
                if first {
                    // The retry time, and the stream is open.
                    let text = "retry: 1000\n: open\n\n".to_owned();
                    return Some((
                        Ok::<_, std::convert::Infallible>(text),
                        (s, lines, cursor, cookie, false, park),
                    ));
                }
                if s.hub.is_closed() || s.session(&cookie).is_none() {
                    return None;
                }
                let mut cut = s.web.streams.subscribe();
                let found = tokio::select! {
                    found = s.hub.wait_after_lines(&lines, cursor, EVENTS_PER_WRITE, KEEP_ALIVE) => found,
                    _ = cut.wait_for(|(g, _)| *g != generation) => return None,
                    // A newer stream of the session took its place.
                    _ = kept.1.ended.notified() => return None,
                    Some(()) = park_moved(&mut park) => {
                        let data = match s.hub.wall().filter(|_| as_wall) {
                            Some(view) => crate::http::desk::wall::shown(&s, &view, u64::MAX),
                            None => json!({}),
                        };
                        let text = format!("event: park\ndata: {data}\n\n");
                        return Some((Ok(text), (s, lines, cursor, cookie, false, park)));
                    }
                };
                if found.is_empty() {
                    if s.hub.is_closed() {
                        return None;
                    }
                    return Some((
                        Ok(": keep-alive\n\n".to_owned()),
                        (s, lines, cursor, cookie, false, park),
                    ));
                }
                if let Some(view) = s.hub.wall().filter(|_| as_wall) {
                    // The lines changed since the cursor, as they are now.
                    let data = crate::http::desk::wall::shown(&s, &view, cursor);
                    let text = format!("id: {}\nevent: wall\ndata: {data}\n\n", view.cursor);
                    return Some((Ok(text), (s, lines, view.cursor, cookie, false, park)));
                }
                let mut text = String::new();
                let mut last = cursor;
                for (e, at) in &found {
                    let data = shown(&s, e, *at);
                    text.push_str(&format!("id: {}\nevent: call\ndata: {data}\n\n", e.seq));
                    last = e.seq;
                }
                Some((Ok(text), (s, lines, last, cookie, false, park)))
            }
        },
    );
    let mut r = Response::new(Body::from_stream(stream));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    secured(r)
}

/// Resolves when the call park followed (if any) changes; `None` once it
/// cannot anymore.
pub(crate) async fn park_moved(
    park: &mut Option<
        tokio::sync::watch::Receiver<(
            u64,
            std::collections::BTreeMap<String, crate::model::event::ParkedCall>,
        )>,
    >,
) -> Option<()> {
    match park {
        Some(rx) => rx.changed().await.ok(),
        None => std::future::pending().await,
    }
}

/// The CTI route `route`, for the logged-in desk: its own checks of the
/// line (`telorg`), then the route, its answer with the desk's headers
/// (compressed as the page's files are, when the browser takes gzip).
pub(crate) async fn through<F, Fut>(s: Arc<AppState>, web: Web, route: F) -> Response
where
    F: FnOnce(Arc<AppState>, DeskLine) -> Fut,
    Fut: std::future::Future<Output = Result<Response, crate::http::error::ApiError>>,
{
    let gzip = web.gzip;
    let r = match DeskLine::of(&s, web.session.ident, web.q) {
        Ok(dl) => passed(route(s, dl).await),
        Err(e) => passed(Err(e)),
    };
    compressed(r, gzip).await
}

pub(crate) async fn calls(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, |s, dl| async move {
        crate::http::cti::calls_under_way(&s, dl).await
    })
    .await
}

pub(crate) async fn history(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, |s, dl| async move {
        crate::http::cti::line_calls(&s, dl).await
    })
    .await
}

pub(crate) async fn call(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, |s, dl| async move {
        crate::http::cti::act_on_call(&s, dl).await
    })
    .await
}

pub(crate) async fn dial(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, |s, dl| async move {
        crate::http::cti::place_call(&s, dl).await
    })
    .await
}

/// `template` with the call's values, URL-encoded; none when it names
/// the record and the caller has none.
pub(crate) fn record_link(
    template: &str,
    e164: &str,
    shown: &str,
    person: Option<&ctibridge_client::names::Person>,
) -> Option<String> {
    let record = person.map_or("", |p| p.record.as_str());
    if template.contains("$record$") && record.is_empty() {
        return None;
    }
    let enc = |v: &str| -> String {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    Some(
        template
            .replace("$record$", &enc(record))
            .replace("$tele164$", &enc(e164))
            .replace("$tel$", &enc(shown))
            .replace("$name$", &enc(person.map_or("", |p| p.name.as_str())))
            .replace("$company$", &enc(person.map_or("", |p| p.company.as_str()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_urls_take_only_their_keywords() {
        assert!(crate::config::settings::check_record_url(
            "https://erp.example/tiers/$record$?t=$tel$"
        )
        .is_ok());
        assert!(crate::config::settings::check_record_url("erp.example/$record$").is_err());
        assert!(
            crate::config::settings::check_record_url("https://erp/$teldest$")
                .unwrap_err()
                .contains("$teldest$")
        );
        assert!(crate::config::settings::check_record_url("https://erp/$record").is_err());
        let p = ctibridge_client::names::Person {
            name: "Marie Dupont".into(),
            company: "Dupont & Fils".into(),
            record: "T 01".into(),
        };
        assert_eq!(
            record_link(
                "https://erp/$record$?n=$name$",
                "+33388202020",
                "0388202020",
                Some(&p)
            ),
            Some("https://erp/T%2001?n=Marie%20Dupont".into())
        );
        assert_eq!(
            record_link("https://erp/$record$", "+33388202020", "0388202020", None),
            None
        );
        assert_eq!(
            record_link(
                "https://erp/?t=$tel$&e=$tele164$",
                "+33388202020",
                "0388202020",
                None
            ),
            Some("https://erp/?t=0388202020&e=%2B33388202020".into())
        );
    }
}
