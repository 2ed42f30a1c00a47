//! The CTI web service the Divalto sample file points at
//! (`/DhDivaltoServerCTI/api/cti/gettoken`, `setevent`, `getevent`), and
//! ctibridge's own routes beside them (history, calls, call control).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::config::server::ServerOptions;
use crate::config::settings::CTI_PATH;
use crate::http::error::too_many;
use crate::http::error::ApiError;
use crate::http::extract::basic_credentials;
use crate::http::extract::is_number;
use crate::http::extract::param;
use crate::http::extract::{DeskLine, Params};
use crate::http::state::AppState;
use crate::http::state::MAX_STATIONS;
use crate::model::event::LineEvent;
use crate::model::ids::new_token;
use std::time::Instant;

/// The CTI routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(&format!("{CTI_PATH}/gettoken"), any(gettoken))
        .route(&format!("{CTI_PATH}/setevent"), any(setevent))
        .route(&format!("{CTI_PATH}/getevent"), any(getevent))
        .route(&format!("{CTI_PATH}/history"), any(history))
        .route(&format!("{CTI_PATH}/calls"), any(calls))
        .route(&format!("{CTI_PATH}/call"), post(call_control))
        .route(
            &format!("{CTI_PATH}/line"),
            get(line_control).post(line_control),
        )
}

/// Events in one `getevent` answer when the station sends its cursor.
pub const MAX_EVENTS_PER_ANSWER: usize = 100;

/// `gettoken`: a desk proves who it is and receives a token that expires.
///
/// With desks configured, the proof is `Authorization: Basic` (ident:secret)
/// or `?ident=` with the header `X-Ctibridge-Secret`. Without (the
/// simulator's zero-configuration setup), any desk on this machine is
/// welcome, under the ident it gives.
pub(crate) async fn gettoken(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Params(q): Params,
) -> Result<Response, ApiError> {
    if !s.cti_limit.allow(peer.ip()) {
        return Err(too_many());
    }
    let ident = if s.opts.desks.is_empty() {
        if !peer.ip().is_loopback() {
            return Err(ApiError::Forbidden(
                "this server accepts desks from this machine only: its server file names no <desk>",
            ));
        }
        param(&q, "ident")
            .map(str::to_owned)
            .or_else(|| basic_credentials(&headers).map(|(u, _)| u))
            .unwrap_or_else(|| "station".to_owned())
    } else {
        let given = basic_credentials(&headers).or_else(|| {
            let ident = param(&q, "ident")?;
            let secret = headers.get("x-ctibridge-secret")?.to_str().ok()?;
            Some((ident.to_owned(), secret.trim().to_owned()))
        });
        let Some((ident, secret)) = given else {
            return Err(ApiError::WrongSecret);
        };
        s.desk_login(&ident, &secret, peer.ip())?
    };
    let Some(token) = new_token() else {
        return Err(ApiError::Busy(
            "this machine's random generator failed: no token can be made",
        ));
    };
    s.tokens.lock().unwrap_or_else(|p| p.into_inner()).issue(
        token.clone(),
        &ident,
        peer.ip(),
        s.opts.token_ttl,
        Instant::now(),
    );
    Ok(Json(json!({ "token": token, "expires_in": s.opts.token_ttl.as_secs() })).into_response())
}

/// `setevent?ident&telorg&tel&cmdevent=DIAL`: places a call.
pub(crate) async fn setevent(
    State(s): State<Arc<AppState>>,
    desk: DeskLine,
) -> Result<Response, ApiError> {
    place_call(&s, desk).await
}

/// Places the call a desk asked for: the CTI route's and the browser desk's.
pub(crate) async fn place_call(
    s: &AppState,
    DeskLine { line, q, .. }: DeskLine,
) -> Result<Response, ApiError> {
    // The number as a person writes it (`03 88 20 20 20`, `+33 3…`, a
    // `tel:` link): the dial engine's own reading.
    let tel = param(&q, "tel")
        .ok_or_else(|| ApiError::Invalid("tel is required: the phone number to call".into()))?;
    let target = ctibridge_client::number::parse_target(tel)
        .map_err(|e| ApiError::Invalid(format!("tel: {e}")))?;
    let cmd = param(&q, "cmdevent").unwrap_or("DIAL");
    if !cmd.eq_ignore_ascii_case("DIAL") {
        return Err(ApiError::Invalid("the only cmdevent is DIAL".into()));
    }
    let callee = ctibridge_client::number::identity(tel, &s.opts.country).unwrap_or(target.number);
    use crate::infra::metrics::Dialled;
    use crate::sources::provider::{Dialled as Done, NotPlaced};
    match s.provider.dial(&line, tel, &callee).await {
        Ok(Done::Simulated(callref)) => {
            Ok(Json(json!({ "result": "OK", "callref": callref })).into_response())
        }
        Ok(Done::Placed) => {
            s.ingest.metrics().dialled(Dialled::placed);
            Ok(Json(json!({ "result": "OK" })).into_response())
        }
        Err(NotPlaced::Failed(f)) => {
            s.ingest.metrics().dialled(Dialled::refused);
            Err(dial_failed(&line, &f))
        }
        Err(NotPlaced::Broken(f)) => Err(dial_failed(&line, &f)),
        Err(NotPlaced::Control(e)) => {
            s.ingest.metrics().dialled(Dialled::refused);
            tracing::warn!(line, "dial through Keyyo's CTI session failed: {e}");
            Err(ApiError::Control(e))
        }
        Err(NotPlaced::Busy(why)) => Err(ApiError::Busy(why)),
    }
}

/// The refusal of a dial the provider side could not place (logged).
pub(crate) fn dial_failed(line: &str, f: &ctibridge_client::failure::Failure) -> ApiError {
    let e = ApiError::DialFailed(f.into());
    tracing::warn!(line, "dial through the provider failed: {e}");
    e
}

/// `getevent?ident&telorg[&cursor]`: the next events of the station's line,
/// held until one comes or the hold time ends.
///
/// With `cursor` (the value of the last answer), every event after it, up
/// to [`MAX_EVENTS_PER_ANSWER`], in `events`. Without, one event per answer
/// and the server remembers where the station is (Divalto's sample file
/// reads one event per answer). The first event's fields are also at the top
/// level, where the sample file reads them.
///
/// A desk that starts (no cursor, or an empty one) or comes back never
/// gets a call that already ended: see [`crate::store::hub::Reading`].
pub(crate) async fn getevent(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    DeskLine { ident, line, q }: DeskLine,
) -> Result<Response, ApiError> {
    use crate::store::hub::Reading;
    // Counted while held: held requests never take every connection.
    let _hold = s.holds.hold(peer.ip()).map_err(ApiError::from)?;
    let key = (ident, line.clone());
    // A station that keeps no cursor: where the server has it.
    let kept = match q.get("cursor").map(|c| c.trim()) {
        Some(_) => None,
        None => {
            let mut stations = s.stations.lock().unwrap_or_else(|p| p.into_inner());
            if !stations.contains_key(&key) && stations.len() >= MAX_STATIONS {
                stations.clear();
            }
            let st = stations.entry(key.clone()).or_default();
            Some((st.cursor, st.given.clone()))
        }
    };
    let (cursor, max, hold) = match (&kept, param(&q, "cursor")) {
        (Some((c, _)), _) => (*c, 1, s.opts.short_hold),
        (None, None) => (0, MAX_EVENTS_PER_ANSWER, s.opts.hold),
        (None, Some(c)) => match c.parse::<u64>() {
            Ok(c) => (c, MAX_EVENTS_PER_ANSWER, s.opts.hold),
            Err(_) => {
                return Err(ApiError::Invalid(
                    "cursor is the value of the last answer".into(),
                ))
            }
        },
    };
    let reading = match (&kept, param(&q, "cursor")) {
        (Some((_, given)), _) => Reading::UnderWay { given },
        (None, None) => Reading::UnderWay { given: &[] },
        (None, Some(_)) => Reading::Cursor,
    };
    tracing::debug!(%line, cursor, "getevent: waiting for events");
    let (events, next) = {
        // Counted while held, however it ends (the desk may leave).
        let held = &s.ingest.metrics().held_polls;
        held.inc();
        struct Held<'g>(&'g prometheus_client::metrics::gauge::Gauge);
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                self.0.dec();
            }
        }
        let _held = Held(held);
        s.hub.wait_read(&line, cursor, max, hold, reading).await
    };
    if kept.is_some() {
        let mut stations = s.stations.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(st) = stations.get_mut(&key) {
            st.cursor = st.cursor.max(next);
            st.gave(&events);
        }
    }
    Ok(Json(answer(&s.opts, &events, next)).into_response())
}

/// A number of the server (E.164) in the form desks receive.
pub(crate) fn for_desks(opts: &ServerOptions, number: &str) -> String {
    ctibridge_client::number::identity_in(number, opts.tel_format, &opts.country)
}

pub(crate) fn answer(opts: &ServerOptions, events: &[Arc<LineEvent>], cursor: u64) -> Value {
    let shown = |e: &LineEvent| {
        let mut v = serde_json::to_value(e).unwrap_or_else(|_| json!({}));
        v["tel"] = json!(for_desks(opts, &e.tel));
        v["called"] = json!(for_desks(opts, &e.called));
        v
    };
    let mut v = events.first().map_or_else(|| json!({}), |e| shown(e));
    v["cursor"] = json!(cursor.to_string());
    v["events"] = Value::Array(events.iter().map(|e| shown(e)).collect());
    v
}

/// `history?telorg[&kind=made|received|missed][&limit=N]`: the journal of
/// a line, newest first.
pub(crate) async fn history(
    State(s): State<Arc<AppState>>,
    desk: DeskLine,
) -> Result<Response, ApiError> {
    line_calls(&s, desk).await
}

/// The line's history: the CTI route's and the browser desk's.
pub(crate) async fn line_calls(
    s: &AppState,
    DeskLine { line, q, .. }: DeskLine,
) -> Result<Response, ApiError> {
    let kind = match param(&q, "kind").map(crate::model::record::HistoryKind::parse) {
        None => None,
        Some(Some(k)) => Some(k),
        Some(None) => return Err(ApiError::Invalid("kind is made, received or missed".into())),
    };
    let limit = param(&q, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .min(1000);
    match line_history(s, &line, kind, limit).await {
        Ok(mut calls) => {
            for c in &mut calls {
                c.line = for_desks(&s.opts, &c.line);
                c.tel = for_desks(&s.opts, &c.tel);
                c.called = for_desks(&s.opts, &c.called);
                if let Some(r) = &mut c.replaced_by {
                    r.line = for_desks(&s.opts, &r.line);
                    r.tel = for_desks(&s.opts, &r.tel);
                }
            }
            Ok(Json(json!({ "line": for_desks(&s.opts, &line), "calls": calls })).into_response())
        }
        Err(e) => {
            tracing::error!("journal: {e}");
            Err(ApiError::JournalUnreadable)
        }
    }
}

/// `call?telorg&callref&op=answer|hangup|reject|transfer[&side&to]`: an
/// operation on a call of the desk's line.
pub(crate) async fn call_control(
    State(s): State<Arc<AppState>>,
    desk: DeskLine,
) -> Result<Response, ApiError> {
    act_on_call(&s, desk).await
}

/// Acts on a call of the desk's line: the CTI route's and the browser desk's.
pub(crate) async fn act_on_call(
    s: &AppState,
    DeskLine { ident, line, q }: DeskLine,
) -> Result<Response, ApiError> {
    let callref = param(&q, "callref")
        .ok_or_else(|| ApiError::Invalid("callref is required: the call".into()))?;
    let name = param(&q, "op").ok_or_else(|| {
        ApiError::Invalid("op is required: answer, hangup, reject or transfer".into())
    })?;
    let country = s.opts.country.clone();
    let op = crate::model::control::Op::parse(
        name,
        |k| param(&q, k).map(str::to_owned),
        |n| phone_number(n, &country),
    )
    .map_err(ApiError::Invalid)?;
    let what = op.name();
    let done = s.provider.act(&line, callref, op).await;
    match done {
        Ok(()) => {
            tracing::info!(ident, line, callref, op = what, "call operation done");
            Ok(Json(json!({ "result": "OK" })).into_response())
        }
        Err(e) => Err(ApiError::Control(e)),
    }
}

/// `line?telorg&op=…`: an operation on the desk's line — GET
/// `auto-answer`, `subscriptions`; POST `auto-answer&value=0|1`,
/// `message&to&text`, `subscribe&number`, `unsubscribe&number`.
pub(crate) async fn line_control(
    State(s): State<Arc<AppState>>,
    method: axum::http::Method,
    DeskLine { ident, line, q }: DeskLine,
) -> Result<Response, ApiError> {
    let name = param(&q, "op").ok_or_else(|| {
        ApiError::Invalid(
            "op is required: auto-answer, message, subscribe, unsubscribe or subscriptions".into(),
        )
    })?;
    let country = s.opts.country.clone();
    let op = crate::model::control::LineOp::parse(
        name,
        method == axum::http::Method::POST,
        |k| param(&q, k).map(str::to_owned),
        |n| phone_number(n, &country),
    )
    .map_err(ApiError::Invalid)?;
    tracing::info!(ident, line, op = op.name(), "line operation");
    let mut answer = s
        .provider
        .line_op(&line, op)
        .await
        .map_err(ApiError::Control)?;
    // Numbers in the desks' form.
    if let Some(numbers) = answer.get_mut("numbers").and_then(|n| n.as_array_mut()) {
        for n in numbers {
            if let Some(text) = n.as_str().filter(|t| *t != "callpark") {
                *n = Value::String(for_desks(&s.opts, text));
            }
        }
    }
    Ok(Json(answer).into_response())
}

/// A phone number a desk gives (`to`, `number`), in its one identity.
pub(crate) fn phone_number(n: &str, country: &str) -> Result<String, String> {
    match ctibridge_client::number::identity(n, country) {
        Ok(id) if is_number(&id) => Ok(id),
        Ok(_) => Err("not a phone number".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The last `limit` calls of `line` in the journal, once every event
/// queued is written; read on a blocking thread: a long history does not
/// hold up the other requests, which this runtime serves on one thread.
pub(crate) async fn line_history(
    s: &AppState,
    line: &str,
    kind: Option<crate::model::record::HistoryKind>,
    limit: usize,
) -> Result<Vec<crate::model::record::CallRecord>, String> {
    s.writer.flush().await;
    let line = line.to_owned();
    s.journal.read(move |j| j.history(&line, kind, limit)).await
}

/// `calls?telorg`: the line's calls under way (ringing or answered), with
/// how long they rang and talked so far: from the journal, whatever the
/// provider.
pub(crate) async fn calls(
    State(s): State<Arc<AppState>>,
    desk: DeskLine,
) -> Result<Response, ApiError> {
    calls_under_way(&s, desk).await
}

/// The line's calls under way: the CTI route's and the browser desk's.
pub(crate) async fn calls_under_way(
    s: &AppState,
    DeskLine { line, .. }: DeskLine,
) -> Result<Response, ApiError> {
    let active = active_calls(s, &line).await?;
    Ok(Json(json!({ "line": for_desks(&s.opts, &line), "calls": active })).into_response())
}

/// The calls of `line` under way, from the journal.
pub(crate) async fn active_calls(
    s: &AppState,
    line: &str,
) -> Result<Vec<crate::model::control::ActiveCall>, ApiError> {
    let found = match line_history(s, line, None, ACTIVE_CALLS).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!("journal: {e}");
            return Err(ApiError::JournalUnreadable);
        }
    };
    let now = crate::model::clock::now_ms();
    let active: Vec<crate::model::control::ActiveCall> = found
        .into_iter()
        .filter(|c| c.under_way(now))
        .map(|c| {
            let (caller, callee) = c.parties();
            let (caller, callee) = (for_desks(&s.opts, caller), for_desks(&s.opts, callee));
            crate::model::control::ActiveCall {
                state: crate::model::record::LiveState::of(&c, now),
                park_slot: c.park_slot.clone(),
                ringing_ms: c.connect_at.unwrap_or(now) - c.setup_at,
                talk_ms: c.connect_at.map_or(0, |at| now - at),
                callref: c.callref,
                caller,
                callee,
                direction: c.direction,
                setup_at: c.setup_at,
                connect_at: c.connect_at,
                replaces: c.replaces,
                person: c.person,
            }
        })
        .collect();
    Ok(active)
}

/// Recent calls of a line read to find those under way.
pub(crate) const ACTIVE_CALLS: usize = 50;
