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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::api::{AppState, DeskLine};

/// Whether the request came over HTTPS (itself, or through a trusted
/// proxy that says so): the cookie is then `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct Https(pub bool);

/// Sessions logged out before their end (their nonce → their end).
pub struct WebState {
    logged_out: Mutex<HashMap<String, i64>>,
    /// Each session's event streams, a few at most.
    sessions: Arc<crate::holds::Sessions>,
    /// The simulator's network for event streams: a new number cuts every
    /// stream open; `true` holds new ones until `false` (`/sim/streams`).
    streams: tokio::sync::watch::Sender<(u64, bool)>,
}

impl Default for WebState {
    fn default() -> Self {
        WebState {
            logged_out: Mutex::default(),
            sessions: Arc::default(),
            streams: tokio::sync::watch::Sender::new((0, false)),
        }
    }
}

impl WebState {
    /// The sessions logged out before a restart, kept in the journal.
    pub(crate) fn restore(&self, journal: &Mutex<crate::journal::Journal>) {
        let kept = journal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .desk_logouts(now_secs());
        match kept {
            Ok(kept) => self
                .logged_out
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(kept),
            Err(e) => tracing::error!(
                "journal: the browser desk's logged-out sessions cannot be read ({e}): they are valid again until their end"
            ),
        }
    }

    /// Cuts every event stream open (the browser comes back with its
    /// last event's number); `hold`: new ones wait until released.
    pub(crate) fn cut_streams(&self, hold: bool) {
        self.streams.send_modify(|(generation, held)| {
            *generation += 1;
            *held = hold;
        });
    }

    /// New streams go on.
    pub(crate) fn release_streams(&self) {
        self.streams.send_modify(|(_, held)| *held = false);
    }
}

/// The session cookie's name.
pub const COOKIE: &str = "ctibridge_desk";
/// How long a session lasts: a working day.
pub const SESSION: Duration = Duration::from_secs(12 * 3600);
/// A comment line on a quiet event stream, so that proxies keep it.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Events in one write of the stream.
const EVENTS_PER_WRITE: usize = 100;

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

// ---------------------------------------------------------------- answers

/// The headers every answer of the browser desk has.
fn secured(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    secured((status, axum::Json(json!({ "error": message.into() }))).into_response())
}

fn redirect(to: &'static str) -> Response {
    secured(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static(to))],
        )
            .into_response(),
    )
}

/// The answer of a CTI route, as the browser desk's.
fn passed(r: Result<Response, crate::api::ApiError>) -> Response {
    secured(match r {
        Ok(r) => r,
        Err(e) => e.into_response(),
    })
}

// ---------------------------------------------------------------- assets

struct Asset {
    /// `desk.js`.
    name: &'static str,
    /// `desk.3f2a9c1e0b.js`.
    hashed: String,
    content_type: &'static str,
    raw: Vec<u8>,
    gzip: Vec<u8>,
}

/// The files of `crates/server/web/`, embedded.
const FILES: &[(&str, &str, &str)] = &[
    (
        "desk.css",
        "text/css; charset=utf-8",
        include_str!("../web/desk.css"),
    ),
    // Each page's scripts in one file (one request on a cold load): the
    // texts, what the pages share, the page's own.
    (
        "desk.js",
        "text/javascript; charset=utf-8",
        concat!(
            include_str!("../web/i18n.js"),
            "\n",
            include_str!("../web/common.js"),
            "\n",
            include_str!("../web/desk.js")
        ),
    ),
    (
        "wall.js",
        "text/javascript; charset=utf-8",
        concat!(
            include_str!("../web/i18n.js"),
            "\n",
            include_str!("../web/common.js"),
            "\n",
            include_str!("../web/wall.js")
        ),
    ),
    ("icon.svg", "image/svg+xml", include_str!("../web/icon.svg")),
];

const PAGES: &[(&str, &str)] = &[
    ("index.html", include_str!("../web/index.html")),
    ("wall.html", include_str!("../web/wall.html")),
];

struct Assets {
    files: Vec<Asset>,
    pages: Vec<Asset>,
}

/// `bytes` gzip-compressed: at `level` (the files once at start: best; a
/// page made for one request: fast).
fn gzip(bytes: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

fn short_hash(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    hex(&sha1::Sha1::digest(bytes)[..5])
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let files: Vec<Asset> = FILES
            .iter()
            .map(|(name, content_type, text)| {
                let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
                Asset {
                    name,
                    hashed: format!("{stem}.{}.{ext}", short_hash(text.as_bytes())),
                    content_type,
                    raw: text.as_bytes().to_vec(),
                    gzip: gzip(text.as_bytes(), flate2::Compression::best()),
                }
            })
            .collect();
        // The pages name the files by their hashed names.
        let pages = PAGES
            .iter()
            .map(|(name, text)| {
                let mut page = (*text).to_owned();
                for f in &files {
                    page = page.replace(
                        &format!("/desk/assets/{}\"", f.name),
                        &format!("/desk/assets/{}\"", f.hashed),
                    );
                }
                Asset {
                    name,
                    hashed: (*name).to_owned(),
                    content_type: "text/html; charset=utf-8",
                    gzip: gzip(page.as_bytes(), flate2::Compression::best()),
                    raw: page.into_bytes(),
                }
            })
            .collect();
        Assets { files, pages }
    })
}

fn send(a: &Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let gz = takes_gzip(headers);
    let mut r = Response::new(Body::from(if gz { a.gzip.clone() } else { a.raw.clone() }));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gz {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    secured(r)
}

async fn asset(
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let all = assets();
    if let Some(a) = all.files.iter().find(|a| a.hashed == file) {
        return send(a, &headers, "public, max-age=31536000, immutable");
    }
    if let Some(a) = all.files.iter().find(|a| a.name == file) {
        return send(a, &headers, "no-cache");
    }
    error(StatusCode::NOT_FOUND, "no such file")
}

/// The desk's page; with a valid session, what `GET /desk/api/me` would
/// answer is in it (a JSON data block, not a script): the page is usable
/// without waiting for one more request.
async fn desk_page(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let page = &assets().pages[0];
    // Not logged in, the page says so itself (no request answered 401 to
    // learn it), and whether anyone can log in at all.
    let me = match s.session(&headers) {
        Some(session) => me_of(&s, &session).await.to_string(),
        None => json!({ "desks": !s.opts.desks.is_empty() }).to_string(),
    };
    // Nothing in the data can end its element.
    let me = me
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let html = String::from_utf8_lossy(&page.raw).replacen(
        ME_BLOCK,
        &format!("<script id=\"me-data\" type=\"application/json\">{me}</script>"),
        1,
    );
    let personal = Asset {
        name: page.name,
        hashed: String::new(),
        content_type: page.content_type,
        gzip: gzip(html.as_bytes(), flate2::Compression::fast()),
        raw: html.into_bytes(),
    };
    let mut r = send(&personal, &headers, "no-store");
    r.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Cookie"),
    );
    r
}

/// Where the desk's page takes the logged-in desk's data.
const ME_BLOCK: &str = "<script id=\"me-data\" type=\"application/json\"></script>";

async fn wall_page(headers: HeaderMap) -> Response {
    send(&assets().pages[1], &headers, "no-cache")
}

/// The page and its files, for the size figure: (name, bytes, gzip bytes).
pub fn asset_sizes() -> Vec<(String, usize, usize)> {
    let all = assets();
    all.pages
        .iter()
        .chain(all.files.iter())
        .map(|a| (a.hashed.clone(), a.raw.len(), a.gzip.len()))
        .collect()
}

// ---------------------------------------------------------------- sessions

use crate::tokens::hex;

fn key_of(secret: &str) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes())
}

fn session_text(ident: &str, expires: i64, nonce: &str) -> String {
    format!("ctibridge-desk\n{ident}\n{expires}\n{nonce}")
}

/// A logged-in desk.
pub(crate) struct Session {
    pub ident: String,
    pub supervisor: bool,
    /// The session's CSRF token.
    pub csrf: String,
    nonce: String,
    expires: i64,
}

fn now_secs() -> i64 {
    crate::journal::now_ms() / 1000
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn unb64(text: &str) -> Option<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    String::from_utf8(raw).ok()
}

/// A new session's cookie value for desk `ident` (its secret `secret`).
fn new_session(ident: &str, secret: &str) -> Option<String> {
    // 128 random bits, as a desk token's.
    let nonce = crate::api::new_token()?;
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

fn csrf_of(secret: &str, nonce: &str) -> String {
    hex(ring::hmac::sign(&key_of(secret), format!("csrf\n{nonce}").as_bytes()).as_ref())
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
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

fn set_cookie(value: &str, max_age: i64, https: bool) -> HeaderValue {
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
        crate::api::within_rate(s, parts).map_err(|e| passed(Err(e)))?;
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
fn same_origin(headers: &HeaderMap) -> Option<Response> {
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
async fn login(
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
        Err(crate::api::ApiError::WrongSecret) => {
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
async fn logout(
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
    if let Some(Err(e)) = on_journal(&s, move |j| j.desk_logout(&nonce, until)).await {
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

// ---------------------------------------------------------------- the desk

/// What the provider lets the desk do.
fn abilities(s: &AppState) -> Value {
    let control = s.sim.is_some() || s.cti.is_some();
    let dial = s.sim.is_some() || s.dialer.is_some() || s.cti.is_some();
    json!({
        "provider": s.provider_name,
        "control": control,
        "dial": dial,
        "park": control,
    })
}

/// The lines a session sees, each in the server's one form and as the
/// desks write it.
fn lines_of(s: &AppState, ident: &str) -> Vec<String> {
    s.opts
        .desks
        .iter()
        .filter(|d| d.ident == ident)
        .flat_map(|d| d.lines.iter().cloned())
        .collect()
}

/// Every line of every desk.
fn all_lines(s: &AppState) -> Vec<String> {
    let mut all: Vec<String> = s
        .opts
        .desks
        .iter()
        .flat_map(|d| d.lines.iter().cloned())
        .collect();
    all.sort();
    all.dedup();
    all
}

/// `GET /desk/api/me`: who is logged in, their lines, the CSRF token, the
/// cursor to follow events from, what can be done.
async fn me(State(s): State<Arc<AppState>>, web: Web) -> Response {
    let r = secured(axum::Json(me_of(&s, &web.session).await).into_response());
    compressed(r, web.gzip).await
}

/// What `GET /desk/api/me` answers for `session`.
async fn me_of(s: &Arc<AppState>, session: &Session) -> Value {
    // The cursor first: a call that starts while the lines are read comes
    // again on the stream (the page takes it once).
    let cursor = s.hub.last_seq();
    let mut lines = Vec::new();
    for l in lines_of(s, &session.ident) {
        // The calls under way, so the page needs no other request to show
        // them (a server without journal has none to give).
        let calls = crate::api::active_calls(s, &l).await.unwrap_or_default();
        lines.push(json!({
            "line": l,
            "shown": crate::api::for_desks(&s.opts, &l),
            "calls": calls,
        }));
    }
    let ident = session.ident.clone();
    let missed_seen = on_journal(s, move |j| j.missed_seen(&ident))
        .await
        .and_then(Result::ok)
        .flatten();
    json!({
        "ident": session.ident,
        "supervisor": session.supervisor,
        "csrf": session.csrf,
        "lines": lines,
        "cursor": cursor.to_string(),
        "missed_seen": missed_seen.unwrap_or(0),
        "can": abilities(s),
        "now": crate::journal::now_ms(),
    })
}

/// `POST /desk/api/seen?at=MS`: the desk has seen its missed calls up to
/// `at` (ms since 1970), in every browser it uses; the mark never goes
/// back. Answers the mark now kept.
async fn seen(State(s): State<Arc<AppState>>, web: Web) -> Response {
    let Some(at) = web.q.get("at").and_then(|a| a.trim().parse::<i64>().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "at is required: the newest missed call seen, in ms since 1970",
        );
    };
    if at < 0 || at > crate::journal::now_ms() + 86_400_000 {
        return error(StatusCode::BAD_REQUEST, "at is not a time of a call");
    }
    let ident = web.session.ident.clone();
    match on_journal(&s, move |j| j.set_missed_seen(&ident, at)).await {
        Some(Ok(v)) => secured(axum::Json(json!({ "missed_seen": v })).into_response()),
        Some(Err(e)) => {
            tracing::error!("journal: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the journal cannot be written",
            )
        }
        None => error(StatusCode::NOT_FOUND, "no journal"),
    }
}

/// `f` on the server's journal, on a thread that may block: `None`
/// without a journal; its error as text.
pub(crate) async fn on_journal<T, F>(s: &AppState, f: F) -> Option<Result<T, String>>
where
    T: Send + 'static,
    F: FnOnce(&crate::journal::Journal) -> rusqlite::Result<T> + Send + 'static,
{
    let journal = s.journal.clone()?;
    let done =
        tokio::task::spawn_blocking(move || f(&journal.lock().unwrap_or_else(|p| p.into_inner())))
            .await;
    Some(match done {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    })
}

/// An event as the browser reads it.
fn shown(s: &AppState, e: &crate::hub::LineEvent, at: i64) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_else(|_| json!({}));
    v["seq"] = json!(e.seq.to_string());
    v["line"] = json!(crate::api::for_desks(&s.opts, &e.line));
    v["line_id"] = json!(e.line);
    v["tel"] = json!(crate::api::for_desks(&s.opts, &e.tel));
    v["called"] = json!(crate::api::for_desks(&s.opts, &e.called));
    v["at"] = json!(at);
    if let Some(link) = s.opts.record_url.as_deref().and_then(|t| {
        record_link(
            t,
            &e.tel,
            &crate::api::for_desks(&s.opts, &e.tel),
            e.person.as_ref(),
        )
    }) {
        v["record_url"] = json!(link);
    }
    v
}

/// `GET /desk/api/events[?cursor=N][&scope=all]` (or `Last-Event-ID`):
/// Server-Sent Events, each call event of the desk's lines (every line
/// for a supervisor's `scope=all`) with its number as the event's id, so
/// that the browser resumes after a drop from where it was.
async fn events(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    web: Web,
) -> Response {
    let all = web.q.get("scope").is_some_and(|v| v == "all");
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
                        let text = "event: park\ndata: {}\n\n".to_owned();
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
async fn park_moved(
    park: &mut Option<
        tokio::sync::watch::Receiver<(
            u64,
            std::collections::BTreeMap<String, crate::hub::ParkedCall>,
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
async fn through<F, Fut>(s: Arc<AppState>, web: Web, route: F) -> Response
where
    F: FnOnce(State<Arc<AppState>>, DeskLine) -> Fut,
    Fut: std::future::Future<Output = Result<Response, crate::api::ApiError>>,
{
    let gzip = web.gzip;
    let r = match DeskLine::of(&s, web.session.ident, web.q) {
        Ok(dl) => passed(route(State(s), dl).await),
        Err(e) => passed(Err(e)),
    };
    compressed(r, gzip).await
}

/// Answers shorter than this are sent as they are: gzip would save little.
const COMPRESS_FROM: usize = 1024;

/// `r` gzip-compressed when `gzip` (the browser takes it) and its body is
/// long enough (a history of 200 calls: 63 KB → about 6 KB).
async fn compressed(r: Response, gzip_ok: bool) -> Response {
    if !gzip_ok || r.headers().contains_key(header::CONTENT_ENCODING) {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    // The desk's answers are small; a body past this is not ours to hold.
    let bytes = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the answer could not be read",
            )
        }
    };
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if bytes.len() < COMPRESS_FROM {
        return Response::from_parts(parts, Body::from(bytes));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Response::from_parts(parts, Body::from(gzip(&bytes, flate2::Compression::fast())))
}

/// Whether the request takes gzip-compressed answers.
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

async fn calls(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, crate::api::calls).await
}

async fn history(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, crate::api::history).await
}

async fn call(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, crate::api::call_control).await
}

async fn dial(State(s): State<Arc<AppState>>, web: Web) -> Response {
    through(s, web, crate::api::setevent).await
}

// ---------------------------------------------------------------- the wall

/// `GET /desk/api/wall` (supervisors): every line, its desks, its calls
/// under way, the call park, and the day's counts.
async fn wall(State(s): State<Arc<AppState>>, web: Web) -> Response {
    if !web.session.supervisor {
        return error(StatusCode::FORBIDDEN, "the wall is for supervisors");
    }
    let Some(journal) = s.journal.clone() else {
        return error(StatusCode::NOT_FOUND, "no journal");
    };
    let lines = all_lines(&s);
    let day_start = start_of_today_ms();
    let read = {
        let lines = lines.clone();
        tokio::task::spawn_blocking(move || {
            let j = journal.lock().unwrap_or_else(|p| p.into_inner());
            lines
                .iter()
                .map(|l| j.history(l, None, 2000).map(|c| (l.clone(), c)))
                .collect::<rusqlite::Result<Vec<_>>>()
        })
    };
    let found = match read.await {
        Ok(Ok(found)) => found,
        _ => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the journal cannot be read",
            )
        }
    };
    let now = crate::journal::now_ms();
    let (mut received, mut missed, mut quick) = (0, 0, 0);
    let mut park = Vec::new();
    let mut out = Vec::new();
    for (line, records) in found {
        let mut active = Vec::new();
        for c in &records {
            if c.setup_at >= day_start && c.direction == crate::hub::Direction::In {
                received += 1;
                match c.state {
                    crate::events::model::CallState::Missed => missed += 1,
                    _ if c.ringing_ms.is_some_and(|r| r <= 20_000) && c.connect_at.is_some() => {
                        quick += 1
                    }
                    _ => {}
                }
            }
            if c.under_way(now) {
                let call = json!({
                    "callref": c.callref,
                    "tel": crate::api::for_desks(&s.opts, &c.tel),
                    "direction": c.direction,
                    "state": match c.state {
                        crate::events::model::CallState::Parked => "PARKED",
                        _ if c.connect_at.is_some() => "CONNECT",
                        _ => "SETUP",
                    },
                    "setup_at": c.setup_at,
                    "connect_at": c.connect_at,
                    "park_slot": c.park_slot,
                    "name": c.person.as_ref().map(|p| p.name.clone()),
                    "company": c.person.as_ref().map(|p| p.company.clone()),
                });
                if c.park_slot.is_some() {
                    park.push(json!({ "line": crate::api::for_desks(&s.opts, &line), "call": call.clone() }));
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
            "line": crate::api::for_desks(&s.opts, &line),
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
            "line": crate::api::for_desks(&s.opts, &p.callee),
            "call": {
                "callref": p.callref,
                "tel": crate::api::for_desks(&s.opts, &p.caller),
                "state": "PARKED",
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
fn start_of_today_ms() -> i64 {
    use chrono::TimeZone as _;
    let today = chrono::Local::now().date_naive();
    today
        .and_hms_opt(0, 0, 0)
        .and_then(|t| chrono::Local.from_local_datetime(&t).earliest())
        .map_or(0, |t| t.timestamp_millis())
}

// ---------------------------------------------------------------- record links

/// `template` with the call's values, URL-encoded; none when it names
/// the record and the caller has none.
fn record_link(
    template: &str,
    e164: &str,
    shown: &str,
    person: Option<&crate::names::Person>,
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
        assert!(
            crate::settings::check_record_url("https://erp.example/tiers/$record$?t=$tel$").is_ok()
        );
        assert!(crate::settings::check_record_url("erp.example/$record$").is_err());
        assert!(crate::settings::check_record_url("https://erp/$teldest$")
            .unwrap_err()
            .contains("$teldest$"));
        assert!(crate::settings::check_record_url("https://erp/$record").is_err());
        let p = crate::names::Person {
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

    #[test]
    fn the_pages_name_their_files_by_hash() {
        let a = assets();
        let index = String::from_utf8(a.pages[0].raw.clone()).unwrap();
        let js = a.files.iter().find(|f| f.name == "desk.js").unwrap();
        assert!(
            index.contains(&format!("/desk/assets/{}\"", js.hashed)),
            "{index}"
        );
        assert!(!index.contains("<script>"), "no inline script");
    }
}
