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
use crate::http::state::new_token;
use crate::http::state::AppState;
use crate::http::state::MAX_STATIONS;
use crate::model::event::LineEvent;
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
    if let Some(sim) = &s.sim {
        let callee =
            ctibridge_client::number::identity(tel, &s.opts.country).unwrap_or(target.number);
        let callref = sim.dial(&line, &callee);
        return Ok(Json(json!({ "result": "OK", "callref": callref })).into_response());
    }
    let dialer = match (&s.dialer, &s.cti) {
        (Some(Ok(dialer)), _) => dialer,
        (Some(Err(f)), _) => return Err(dial_failed(&line, f)),
        // Keyyo's CTI session dials from its own line.
        (None, Some(cti)) => {
            let callee =
                ctibridge_client::number::identity(tel, &s.opts.country).unwrap_or(target.number);
            return match cti.dial(&line, &callee).await {
                Ok(()) => {
                    s.ingest
                        .metrics()
                        .dialled(crate::infra::metrics::Dialled::placed);
                    Ok(Json(json!({ "result": "OK" })).into_response())
                }
                Err(e) => {
                    s.ingest
                        .metrics()
                        .dialled(crate::infra::metrics::Dialled::refused);
                    tracing::warn!(line, "dial through Keyyo's CTI session failed: {e}");
                    Err(ApiError::Control(e))
                }
            };
        }
        (None, None) => return Err(ApiError::Busy("no provider to dial through")),
    };
    // Placed from the line the station asked for (the dial engine puts it
    // in the provider's form of numbers: OVH wants 0033…, Keyyo 33…), on
    // the dial thread.
    let req = ctibridge_client::dial::DialRequest {
        target: tel.to_owned(),
        ..ctibridge_client::dial::DialRequest::default()
    };
    let placed = match dialer.dial(line.clone(), req).await {
        Ok(placed) => placed,
        Err(crate::sources::dialer::NotDialled::Busy) => {
            return Err(ApiError::Busy("too many calls being placed: try again"))
        }
        Err(crate::sources::dialer::NotDialled::Stopped) => {
            return Err(ApiError::Busy("the server is stopping"))
        }
    };
    use crate::infra::metrics::Dialled;
    match placed {
        Ok(_) => {
            s.ingest.metrics().dialled(Dialled::placed);
            Ok(Json(json!({ "result": "OK" })).into_response())
        }
        Err(f) => {
            s.ingest.metrics().dialled(Dialled::refused);
            Err(dial_failed(&line, &f))
        }
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
    DeskLine { line, q, .. }: DeskLine,
) -> Result<Response, ApiError> {
    let kind = match param(&q, "kind").map(crate::store::journal::HistoryKind::parse) {
        None => None,
        Some(Some(k)) => Some(k),
        Some(None) => return Err(ApiError::Invalid("kind is made, received or missed".into())),
    };
    let limit = param(&q, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .min(1000);
    match line_history(&s, &line, kind, limit).await? {
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
    let done = match (&s.sim, &s.cti) {
        (Some(sim), _) => sim.act(&line, callref, op).await,
        (None, Some(cti)) => {
            let (action, params) = crate::sources::keyyo_cti::action_of(&op, callref);
            cti.ask(action, params).await.map(drop).map_err(|e| {
                crate::model::control::ControlError::Provider(format!("Keyyo CTI: {e}"))
            })
        }
        (None, None) => Err(crate::model::control::ControlError::Unsupported {
            provider: s.provider_name.clone(),
            op: op.name(),
        }),
    };
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
    let mut answer = match (&s.sim, &s.cti) {
        (Some(sim), _) => sim.line_op(&line, op),
        (None, Some(cti)) => {
            let (action, params) = crate::sources::keyyo_cti::line_action_of(&op);
            let result = cti.ask(action, params).await.map_err(|e| {
                ApiError::Control(crate::model::control::ControlError::Provider(format!(
                    "Keyyo CTI: {e}"
                )))
            })?;
            match op {
                crate::model::control::LineOp::GetAutoAnswer => {
                    json!({ "auto_answer": result["auto_answer"] })
                }
                crate::model::control::LineOp::Subscriptions => {
                    // Keyyo's numbers are international, without +.
                    let numbers: Vec<String> = result["numbers"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|n| n.as_str())
                                .map(|n| {
                                    if n == "callpark" || n.starts_with('+') {
                                        n.to_owned()
                                    } else {
                                        format!("+{n}")
                                    }
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    json!({ "numbers": numbers })
                }
                _ => json!({ "result": "OK" }),
            }
        }
        (None, None) => {
            return Err(ApiError::Control(
                crate::model::control::ControlError::Unsupported {
                    provider: s.provider_name.clone(),
                    op: op.name(),
                },
            ))
        }
    };
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
    kind: Option<crate::store::journal::HistoryKind>,
    limit: usize,
) -> Result<Result<Vec<crate::store::journal::CallRecord>, String>, ApiError> {
    let journal = s.journal.as_ref().ok_or(ApiError::Off("no journal"))?;
    if let Some(w) = &s.writer {
        w.flush().await;
    }
    let (journal, line) = (journal.clone(), line.to_owned());
    Ok(tokio::task::spawn_blocking(move || {
        let j = journal.lock().unwrap_or_else(|p| p.into_inner());
        j.history(&line, kind, limit)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r.map_err(|e| e.to_string())))
}

/// `calls?telorg`: the line's calls under way (ringing or answered), with
/// how long they rang and talked so far: from the journal, whatever the
/// provider.
pub(crate) async fn calls(
    State(s): State<Arc<AppState>>,
    DeskLine { line, .. }: DeskLine,
) -> Result<Response, ApiError> {
    let active = active_calls(&s, &line).await?;
    Ok(Json(json!({ "line": for_desks(&s.opts, &line), "calls": active })).into_response())
}

/// The calls of `line` under way, from the journal.
pub(crate) async fn active_calls(
    s: &AppState,
    line: &str,
) -> Result<Vec<crate::model::control::ActiveCall>, ApiError> {
    let found = match line_history(s, line, None, ACTIVE_CALLS).await? {
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
            let (caller, callee) = match c.direction {
                crate::model::event::Direction::Out => (c.line.clone(), c.tel.clone()),
                crate::model::event::Direction::In => (c.tel.clone(), c.line.clone()),
            };
            crate::model::control::ActiveCall {
                state: match c.state {
                    ctibridge_client::events::model::CallState::Parked => "PARKED",
                    _ if c.connect_at.is_some() => "CONNECT",
                    _ => "SETUP",
                },
                park_slot: c.park_slot.clone(),
                ringing_ms: c.connect_at.unwrap_or(now) - c.setup_at,
                talk_ms: c.connect_at.map_or(0, |at| now - at),
                callref: c.callref,
                caller: for_desks(&s.opts, &caller),
                callee: for_desks(&s.opts, &callee),
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
