//! The desk's session: a cookie signed with the desk's secret, its CSRF
//! token, logging in and out, and what the page is told of its desk.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::http::desk::answers::compressed;
use crate::http::desk::answers::takes_gzip;
use crate::http::desk::answers::{error, passed, secured};
use crate::http::state::AppState;
use crate::http::state::Https;
use crate::model::clock::now_secs;
use crate::model::ids::hex;

/// The session cookie's name.
pub const COOKIE: &str = "ctibridge_desk";

/// How long a session lasts: a working day.
pub const SESSION: Duration = Duration::from_secs(12 * 3600);

pub(crate) fn key_of(secret: &str) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes())
}

pub(crate) fn session_text(ident: &str, expires: i64, nonce: &str) -> String {
    format!("ctibridge-desk\n{ident}\n{expires}\n{nonce}")
}

/// A logged-in desk.
pub(crate) struct Session {
    pub ident: String,
    pub supervisor: bool,
    /// The session's CSRF token.
    pub csrf: String,
    pub(crate) nonce: String,
    expires: i64,
}

pub(crate) fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub(crate) fn unb64(text: &str) -> Option<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    String::from_utf8(raw).ok()
}

/// A new session's cookie value for desk `ident` (its secret `secret`).
pub(crate) fn new_session(ident: &str, secret: &str) -> Option<String> {
    // 128 random bits, as a desk token's.
    let nonce = crate::model::ids::new_token()?;
    let expires = now_secs() + SESSION.as_secs() as i64;
    let tag = ring::hmac::sign(
        &key_of(secret),
        session_text(ident, expires, &nonce).as_bytes(),
    );
    Some(format!(
        "{}.{expires}.{nonce}.{}",
        b64(ident),
        hex(tag.as_ref())
    ))
}

pub(crate) fn csrf_of(secret: &str, nonce: &str) -> String {
    hex(ring::hmac::sign(&key_of(secret), format!("csrf\n{nonce}").as_bytes()).as_ref())
}

pub(crate) fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

impl AppState {
    /// The session the request's cookie holds, if it is valid: signed
    /// with the desk's present secret, not past its end, not logged out.
    pub(crate) fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let value = cookie_value(headers)?;
        let mut parts = value.split('.');
        let ident = unb64(parts.next()?)?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let nonce = parts.next()?.to_owned();
        let tag = parts.next()?;
        let desk = self.opts.desks.iter().find(|d| d.ident == ident)?;
        let tag = (0..tag.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(tag.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        ring::hmac::verify(
            &key_of(desk.secret.expose()),
            session_text(&ident, expires, &nonce).as_bytes(),
            &tag,
        )
        .ok()?;
        if expires <= now_secs() {
            return None;
        }
        if self
            .web
            .logged_out
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&nonce)
        {
            return None;
        }
        Some(Session {
            csrf: csrf_of(desk.secret.expose(), &nonce),
            supervisor: desk.supervisor,
            ident,
            nonce,
            expires,
        })
    }
}

pub(crate) fn set_cookie(value: &str, max_age: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/desk; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A logged-in desk's request, within the address's rate; a request that
/// changes something also has the session's CSRF token in
/// `X-CSRF-Token`, and, when its `Origin` is sent, comes from this server.
pub(crate) struct Web {
    pub session: Session,
    pub q: HashMap<String, String>,
    /// The browser takes gzip-compressed answers.
    pub gzip: bool,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for Web {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &Arc<AppState>,
    ) -> Result<Self, Response> {
        crate::http::extract::within_rate(s, parts).map_err(|e| passed(Err(e)))?;
        let session = s
            .session(&parts.headers)
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "not logged in"))?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            if let Some(refused) = same_origin(&parts.headers) {
                return Err(refused);
            }
            use subtle::ConstantTimeEq as _;
            let given = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !bool::from(given.as_bytes().ct_eq(session.csrf.as_bytes())) {
                return Err(error(
                    StatusCode::FORBIDDEN,
                    "the page's CSRF token is missing or wrong: reload the page",
                ));
            }
        }
        let q = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(Web {
            session,
            q,
            gzip: takes_gzip(&parts.headers),
        })
    }
}

/// A browser's `Origin`, when it sends one, names this server (`Host`);
/// else the refusal.
pub(crate) fn same_origin(headers: &HeaderMap) -> Option<Response> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())?;
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
    (!origin_host.eq_ignore_ascii_case(host)).then(|| {
        error(
            StatusCode::FORBIDDEN,
            "this request comes from another site",
        )
    })
}

/// `POST /desk/login` (form: `ident`, `secret`): the session cookie.
pub(crate) async fn login(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Extension(Https(https)): axum::Extension<Https>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !s.allow(peer.ip()) {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this address",
        );
    }
    if let Some(refused) = same_origin(&headers) {
        return refused;
    }
    if s.opts.desks.is_empty() {
        return error(
            StatusCode::FORBIDDEN,
            "this server's file names no <desk>: the browser desk needs one (an ident, a secret, its lines)",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let ident = form.get("ident").map_or("", |v| v.trim());
    let secret = form.get("secret").map_or("", String::as_str);
    let ident = match s.desk_login(ident, secret, peer.ip()) {
        Ok(ident) => ident,
        // Without a Basic challenge: a browser would open its own dialog.
        Err(crate::http::error::ApiError::WrongSecret) => {
            return error(StatusCode::UNAUTHORIZED, "unknown desk or wrong secret")
        }
        Err(e) => return passed(Err(e)),
    };
    let Some(value) = new_session(&ident, secret) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this machine's random generator failed",
        );
    };
    tracing::info!(ident, %peer, "browser desk: logged in");
    let mut r = secured(axum::Json(json!({ "ok": true })).into_response());
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&value, SESSION.as_secs() as i64, https),
    );
    r
}

/// `POST /desk/logout`: the session ends here and now.
pub(crate) async fn logout(
    State(s): State<Arc<AppState>>,
    axum::Extension(Https(https)): axum::Extension<Https>,
    web: Web,
) -> Response {
    {
        let mut out = s.web.logged_out.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_secs();
        out.retain(|_, end| *end > now);
        out.insert(web.session.nonce.clone(), web.session.expires);
    }
    // Kept in the journal: a restart does not bring the session back.
    let (nonce, until) = (web.session.nonce.clone(), web.session.expires);
    if let Err(e) = s.journal.write(move |j| j.desk_logout(&nonce, until)).await {
        tracing::error!(
            ident = web.session.ident,
            "journal: a logout cannot be kept ({e}): a restart of the server before its end would let the session in again"
        );
    }
    tracing::info!(ident = web.session.ident, "browser desk: logged out");
    let mut r = secured(axum::Json(json!({ "ok": true })).into_response());
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", 0, https));
    r
}

/// What the provider lets the desk do.
pub(crate) fn abilities(s: &AppState) -> Value {
    let control = s.provider.can_control();
    let dial = s.provider.can_dial();
    json!({
        "provider": s.provider.name(),
        "control": control,
        "dial": dial,
        "park": control,
    })
}

/// The lines a session sees, each in the server's one form and as the
/// desks write it.
pub(crate) fn lines_of(s: &AppState, ident: &str) -> Vec<String> {
    s.opts
        .desks
        .iter()
        .filter(|d| d.ident == ident)
        .flat_map(|d| d.lines.iter().cloned())
        .collect()
}

/// Every line of every desk.
pub(crate) fn all_lines(s: &AppState) -> Vec<String> {
    s.opts.all_lines()
}

/// `GET /desk/api/me`: who is logged in, their lines, the CSRF token, the
/// cursor to follow events from, what can be done.
pub(crate) async fn me(State(s): State<Arc<AppState>>, web: Web) -> Response {
    let r = secured(axum::Json(me_of(&s, &web.session).await).into_response());
    compressed(r, web.gzip).await
}

/// What `GET /desk/api/me` answers for `session`.
pub(crate) async fn me_of(s: &Arc<AppState>, session: &Session) -> Value {
    // The cursor first: a call that starts while the lines are read comes
    // again on the stream (the page takes it once).
    let cursor = s.hub.last_seq();
    let mut lines = Vec::new();
    for l in lines_of(s, &session.ident) {
        // The calls under way, so the page needs no other request to show
        // them (a server without journal has none to give).
        let calls = crate::http::cti::active_calls(s, &l)
            .await
            .unwrap_or_default();
        lines.push(json!({
            "line": l,
            "shown": crate::http::cti::for_desks(&s.opts, &l),
            "calls": calls,
        }));
    }
    let ident = session.ident.clone();
    let missed_seen = s
        .journal
        .read(move |j| j.missed_seen(&ident))
        .await
        .ok()
        .flatten();
    json!({
        "ident": session.ident,
        "supervisor": session.supervisor,
        "csrf": session.csrf,
        "lines": lines,
        "cursor": cursor.to_string(),
        "missed_seen": missed_seen.unwrap_or(0),
        "can": abilities(s),
        "now": crate::model::clock::now_ms(),
    })
}

/// `POST /desk/api/seen?at=MS`: the desk has seen its missed calls up to
/// `at` (ms since 1970), in every browser it uses; the mark never goes
/// back. Answers the mark now kept.
pub(crate) async fn seen(State(s): State<Arc<AppState>>, web: Web) -> Response {
    let Some(at) = web.q.get("at").and_then(|a| a.trim().parse::<i64>().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "at is required: the newest missed call seen, in ms since 1970",
        );
    };
    if at < 0 || at > crate::model::clock::now_ms() + 86_400_000 {
        return error(StatusCode::BAD_REQUEST, "at is not a time of a call");
    }
    let ident = web.session.ident.clone();
    match s
        .journal
        .write(move |j| j.set_missed_seen(&ident, at))
        .await
    {
        Ok(v) => secured(axum::Json(json!({ "missed_seen": v })).into_response()),
        Err(e) => {
            tracing::error!("journal: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the journal cannot be written",
            )
        }
    }
}
