//! The CTI web service the Divalto sample file points at
//! (`/DhDivaltoServerCTI/api/cti/gettoken`, `setevent`, `getevent`), and the
//! simulator's own route.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::hub::{Hub, LineEvent};
use crate::sim::Sim;

pub use crate::settings::CTI_PATH;

/// Characters of an error's reason a desk is sent at most.
const ANSWER_REASON: usize = 400;

/// Events in one `getevent` answer when the station sends its cursor.
pub const MAX_EVENTS_PER_ANSWER: usize = 100;
/// Stations remembered by ident and line (cursor, for stations that send none).
const MAX_STATIONS: usize = 10_000;
/// Calls under way a station that sends no cursor is remembered to have.
const MAX_GIVEN: usize = 64;

/// Where a station that sends no cursor is (Divalto's engine): the server
/// keeps its place, and the calls it has begun to read (it gets their
/// ends, and nothing of a call that ended before it saw it).
#[derive(Default)]
struct Station {
    cursor: u64,
    given: Vec<String>,
}

impl Station {
    /// Notes what was given: a call's end forgets it.
    fn gave(&mut self, events: &[Arc<LineEvent>]) {
        for e in events {
            self.given.retain(|c| c != &e.callref);
            if !matches!(
                e.event,
                crate::hub::Event::Release | crate::hub::Event::Missed
            ) {
                if self.given.len() >= MAX_GIVEN {
                    self.given.remove(0);
                }
                self.given.push(e.callref.clone());
            }
        }
    }
}

/// The server's settings.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// How long `getevent` holds a poll with nothing to say, for stations
    /// that send their cursor (ctibridge).
    pub hold: Duration,
    /// The same for stations that send none: Divalto's engine reads with a
    /// one-second timeout (`<timeout3>`), so its polls are answered sooner.
    pub short_hold: Duration,
    /// How long a token from `gettoken` is valid.
    pub token_ttl: Duration,
    /// Keyyo notifications: who may send them. `None`: the route is off.
    pub keyyo: Option<crate::keyyo::KeyyoOptions>,
    /// Requests per second per address to the CTI routes, and Keyyo
    /// notifications per second per address (bursts of twice as many).
    pub cti_rate: u32,
    pub notify_rate: u32,
    /// The desks allowed to connect. Empty: any desk on this machine,
    /// every line (the simulator's zero-configuration setup).
    pub desks: Vec<crate::settings::Desk>,
    /// The country a line or number without country code is read in.
    pub country: String,
    /// The form of the numbers desks receive (`<tel_format>`).
    pub tel_format: crate::config::NumberFormat,
    /// `<trusted_proxies>`: whose forwarded headers name the client.
    pub trusted_proxies: crate::proxies::TrustedProxies,
    /// `<monitoring>`: who besides this machine may read `/healthz` and
    /// `/metrics` (addresses and ranges, read as `<trusted_proxies>` is).
    pub monitoring: crate::proxies::TrustedProxies,
    /// `<record_url>`: the ERP's page of a caller (the browser desk).
    pub record_url: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            hold: Duration::from_secs(25),
            short_hold: Duration::from_millis(800),
            token_ttl: Duration::from_secs(3600),
            keyyo: None,
            cti_rate: 200,
            notify_rate: 200,
            desks: Vec::new(),
            country: "FR".to_owned(),
            tel_format: crate::config::NumberFormat::National,
            trusted_proxies: Default::default(),
            monitoring: Default::default(),
            record_url: None,
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    pub hub: Arc<Hub>,
    /// Where call events enter: journaled, then published.
    pub ingest: Arc<crate::ingest::Ingest>,
    pub sim: Option<Sim>,
    pub opts: ServerOptions,
    pub journal: Option<Arc<Mutex<crate::journal::Journal>>>,
    /// The provider configuration `setevent` dials through.
    pub dialer: Option<Result<crate::dialer::DialThread, Arc<crate::failure::Failure>>>,
    /// Writes the journal; `history` waits for it to catch up.
    pub writer: Option<Arc<crate::journal::Writer>>,
    /// The provider's host and port (`/healthz` tries a connection).
    pub provider_host: Option<(String, u16)>,
    /// The relay's last answer, when it runs (`/healthz`).
    pub relay_status: Option<Arc<crate::health::RelayStatus>>,
    /// Who places the calls, as an error names it ("the simulator",
    /// "provider keyyo").
    pub provider_name: String,
    /// Keyyo's CTI session, when `<keyyo_cti>` is set: calls are acted on
    /// through it.
    pub cti: Option<crate::keyyo_cti::Cti>,
    tokens: Mutex<crate::tokens::Tokens>,
    stations: Mutex<HashMap<(String, String), Station>>,
    /// Keyyo calls kept, by call and state: a notification and a CTI
    /// push of the same are one.
    pub seen: Arc<Mutex<crate::keyyo::Seen>>,
    notify_limit: crate::keyyo::RateLimit,
    cti_limit: crate::keyyo::RateLimit,
    /// Wrong desk secrets, per desk (`gettoken` and the browser's login).
    lockout: crate::lockout::Lockout,
    /// Requests held open (long polls, event streams), bounded.
    pub(crate) holds: Arc<crate::holds::Holds>,
    /// The browser desk's sessions logged out before their end.
    pub(crate) web: crate::web::WebState,
}

impl AppState {
    /// Whether `ip` is within the CTI routes' rate (the browser desk's
    /// are the same).
    pub(crate) fn allow(&self, ip: std::net::IpAddr) -> bool {
        self.cti_limit.allow(ip)
    }

    pub fn new(
        ingest: Arc<crate::ingest::Ingest>,
        sim: Option<Sim>,
        opts: ServerOptions,
        journal: Option<Arc<Mutex<crate::journal::Journal>>>,
    ) -> AppState {
        let limit =
            |rate: u32| crate::keyyo::RateLimit::new(f64::from(rate), 2.0 * f64::from(rate));
        let web = crate::web::WebState::default();
        let mut seen = crate::keyyo::Seen::default();
        if let Some(j) = &journal {
            web.restore(j);
            // The notifications journaled lately are repeats after a
            // restart too.
            let j = j.lock().unwrap_or_else(|p| p.into_inner());
            match j.recent_keys(crate::keyyo::Seen::CAPACITY) {
                Ok(keys) => {
                    // The journal's last day, or as much as is kept.
                    let since = match keys.last() {
                        Some(&(_, _, _, at)) if keys.len() >= crate::keyyo::Seen::CAPACITY => at,
                        _ => crate::journal::now_ms() - crate::journal::CALL_SPAN,
                    };
                    for (line, callref, event, _) in keys.iter().rev() {
                        if let Some(kind) = crate::keyyo::Kind::of(*event) {
                            seen.first_time(line, callref, kind);
                        }
                    }
                    seen.remembered_since(since);
                }
                Err(e) => tracing::error!(
                    "journal: the calls of the last run cannot be read ({e}): a notification Keyyo sends again may be taken twice"
                ),
            }
        }
        AppState {
            notify_limit: limit(opts.notify_rate),
            cti_limit: limit(opts.cti_rate),
            hub: ingest.hub().clone(),
            ingest,
            sim,
            opts,
            journal,
            dialer: None,
            writer: None,
            provider_host: None,
            relay_status: None,
            provider_name: "the server's provider".to_owned(),
            cti: None,
            tokens: Mutex::new(crate::tokens::Tokens::default()),
            stations: Mutex::new(HashMap::new()),
            seen: Arc::new(Mutex::new(seen)),
            lockout: Default::default(),
            holds: crate::holds::Holds::new(crate::connections::default_max()),
            web,
        }
    }
}

/// The routes (Keyyo's notifications are answered before them: see
/// [`handle`]).
pub fn router(state: Arc<AppState>) -> Router {
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
        .merge(crate::web::routes())
        .route("/sim/call", post(sim_call))
        .route("/sim/act", post(sim_act))
        .route("/sim/dial", post(sim_dial))
        .route("/sim/streams", post(sim_streams))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        // Every request here is a few hundred bytes (see also [`handle`]).
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The query parameters of a request, decoded (a repeated name: the last
/// wins). Read directly from the URI: the routes here take a dozen plain
/// parameters, which a serde extractor would parse several times slower.
struct Params(HashMap<String, String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Params(
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// Why a route did not do what was asked, as data; [`IntoResponse`]
/// below is the one place that says which status and `{"error": …}`
/// each gets.
#[derive(Debug)]
pub enum ApiError {
    /// A parameter is missing or wrong (400).
    Invalid(String),
    /// No valid bearer token (401).
    NoToken,
    /// `gettoken`: no such desk, or not its secret (401, with the Basic
    /// challenge).
    WrongSecret,
    /// Refused to this address or sender (403).
    Forbidden(&'static str),
    /// A desk asked for a line that is not one of its `<lines>` (403).
    NotYourLine { ident: String, written: String },
    /// What the request names is not set up here (404).
    Off(&'static str),
    /// The body is over [`MAX_BODY`] (413; the connection is closed).
    TooLarge,
    /// Over the address's rate (429).
    TooMany(&'static str),
    /// Several wrong secrets for this desk: a try from here waits this
    /// long yet (429, `Retry-After`).
    Throttled(Duration),
    /// The journal cannot be read (500).
    JournalUnreadable,
    /// The provider side could not place the call.
    DialFailed(DialFailure),
    /// The journal cannot be written at the moment (503, `Retry-After`).
    JournalUnavailable,
    /// Not now: try again (503).
    Busy(&'static str),
    /// A call operation not done (404, 409, 501).
    Control(crate::control::ControlError),
}

/// How a dial through the provider failed (the cause's text as the
/// station reads it).
#[derive(Debug)]
pub enum DialFailure {
    /// 400: the number.
    BadNumber(String),
    /// 500: the server's own param file.
    Config(String),
    /// 504: the provider could not be reached.
    Unreachable(String),
    /// 502: the provider refused.
    Refused(String),
}

impl From<&crate::failure::Failure> for DialFailure {
    fn from(f: &crate::failure::Failure) -> DialFailure {
        use crate::failure::Failure;
        let with_help = |d: &crate::diag::Diagnostic| {
            format!("{} ({})", d.message, d.help.clone().unwrap_or_default())
        };
        match f {
            Failure::BadNumber(e) => DialFailure::BadNumber(e.to_string()),
            Failure::Config(_) => DialFailure::Config(f.to_string()),
            Failure::Network(d) => DialFailure::Unreachable(with_help(d)),
            Failure::Refused(d) => DialFailure::Refused(with_help(d)),
        }
    }
}

impl From<crate::holds::Full> for ApiError {
    fn from(f: crate::holds::Full) -> ApiError {
        match f {
            crate::holds::Full::Server => ApiError::Busy(
                "every connection for waiting requests is taken (the rest is kept for notifications and health): try again shortly",
            ),
            crate::holds::Full::Address => {
                ApiError::TooMany("too many waiting requests from this address")
            }
        }
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::DialFailed(DialFailure::BadNumber(_)) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NoToken | ApiError::WrongSecret => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::NotYourLine { .. } => StatusCode::FORBIDDEN,
            ApiError::Off(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooMany(_) | ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::JournalUnreadable | ApiError::DialFailed(DialFailure::Config(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::DialFailed(DialFailure::Refused(_)) => StatusCode::BAD_GATEWAY,
            ApiError::DialFailed(DialFailure::Unreachable(_)) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::JournalUnavailable | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Control(c) => match c {
                crate::control::ControlError::NoSuchCall => StatusCode::NOT_FOUND,
                crate::control::ControlError::NotNow(_) => StatusCode::CONFLICT,
                crate::control::ControlError::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
                crate::control::ControlError::Provider(_) => StatusCode::BAD_GATEWAY,
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Invalid(m) => f.write_str(m),
            ApiError::NoToken => f.write_str("no valid token"),
            ApiError::WrongSecret => f.write_str("unknown desk or wrong secret"),
            ApiError::Throttled(left) => write!(
                f,
                "too many wrong secrets for this desk: try again in {} s",
                left.as_secs().max(1)
            ),
            ApiError::Forbidden(m)
            | ApiError::Off(m)
            | ApiError::TooMany(m)
            | ApiError::Busy(m) => f.write_str(m),
            ApiError::NotYourLine { ident, written } => write!(
                f,
                "desk {ident} does not have line {written}: see its <lines> in the server file"
            ),
            ApiError::TooLarge => f.write_str("request bodies are at most 16 KB"),
            ApiError::JournalUnreadable => f.write_str("the journal cannot be read"),
            ApiError::DialFailed(
                DialFailure::BadNumber(m)
                | DialFailure::Config(m)
                | DialFailure::Unreachable(m)
                | DialFailure::Refused(m),
            ) => f.write_str(m),
            ApiError::JournalUnavailable => {
                f.write_str("the call journal cannot be written at the moment: send it again later")
            }
            ApiError::Control(c) => write!(f, "{c}"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use axum::http::{header, HeaderValue};
        let status = self.status();
        // What goes back to a desk, a browser or a monitoring client is
        // masked as the log is, then kept short: a desk needs the reason,
        // not a provider's page.
        let said = crate::diag::excerpt(&crate::redact::mask(&self.to_string()), ANSWER_REASON);
        let mut r = (status, Json(json!({ "error": said }))).into_response();
        let headers = r.headers_mut();
        match self {
            ApiError::WrongSecret => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"ctibridge\""),
                );
            }
            ApiError::JournalUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Throttled(left) => {
                if let Ok(v) = HeaderValue::from_str(&left.as_secs().max(1).to_string()) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::TooLarge => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        r
    }
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// `gettoken`: a desk proves who it is and receives a token that expires.
///
/// With desks configured, the proof is `Authorization: Basic` (ident:secret)
/// or `?ident=` with the header `X-Ctibridge-Secret`. Without (the
/// simulator's zero-configuration setup), any desk on this machine is
/// welcome, under the ident it gives.
async fn gettoken(
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

/// A desk token: 128 bits from the operating system's generator, in hex.
pub(crate) fn new_token() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(crate::tokens::hex(&bytes))
}

pub(crate) fn too_many() -> ApiError {
    ApiError::TooMany("too many requests from this address")
}

impl AppState {
    /// The desk `ident` if `secret` is its secret (compared in constant
    /// time).
    pub(crate) fn desk_proven(&self, ident: &str, secret: &str) -> Option<String> {
        use subtle::ConstantTimeEq as _;
        let desk = self.opts.desks.iter().find(|d| d.ident == ident)?;
        bool::from(desk.secret.expose().as_bytes().ct_eq(secret.as_bytes()))
            .then(|| desk.ident.clone())
    }

    /// A desk proving who it is from `from` (`gettoken`, the browser's
    /// login): its ident, or why not. Wrong secrets are counted per desk
    /// (`/metrics`), and after a few a stranger's tries wait
    /// ([`crate::lockout`]); the log says so once, not at each refusal.
    pub(crate) fn desk_login(
        &self,
        ident: &str,
        secret: &str,
        from: IpAddr,
    ) -> Result<String, ApiError> {
        use crate::lockout::Verdict;
        use crate::metrics::LoginRefused;
        let now = Instant::now();
        if let Verdict::Wait(left) = self.lockout.before(ident, from, now) {
            self.ingest.metrics().login_refused(LoginRefused::throttled);
            return Err(ApiError::Throttled(left));
        }
        match self.desk_proven(ident, secret) {
            Some(ident) => {
                self.lockout.succeeded(&ident, from, now);
                Ok(ident)
            }
            None => {
                self.ingest
                    .metrics()
                    .login_refused(LoginRefused::wrong_secret);
                if self.lockout.failed(ident, now) {
                    tracing::warn!(
                        %from,
                        desk = %crate::diag::excerpt(ident, 40),
                        "{} wrong secrets in a row for this desk: tries from addresses it has not logged in from now wait, longer each time",
                        crate::lockout::FREE_TRIES
                    );
                }
                Err(ApiError::WrongSecret)
            }
        }
    }

    /// Whether desk `ident` may follow and dial from `line`.
    fn sees(&self, ident: &str, line: &str) -> bool {
        self.opts.desks.is_empty()
            || self
                .opts
                .desks
                .iter()
                .any(|d| d.ident == ident && d.lines.iter().any(|l| l == line))
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let v = headers.get("authorization")?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':').unwrap_or((&text, ""));
    (!user.is_empty()).then(|| (user.to_owned(), password.to_owned()))
}

/// The station a bearer token was given to, if it is still valid.
fn authorised(s: &AppState, headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let token = v.strip_prefix("Bearer ")?.trim();
    let mut tokens = s.tokens.lock().unwrap_or_else(|p| p.into_inner());
    tokens.holder(token, Instant::now()).map(str::to_owned)
}

/// This desk, with this token, on this line: what every route of a desk
/// checks first — the address's rate, the bearer token (the desk it was
/// given to), and `telorg`, a line of that desk, in its one identity
/// (E.164: the desk may write it in any form) — and the request's
/// parameters.
pub(crate) struct DeskLine {
    ident: String,
    line: String,
    q: HashMap<String, String>,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for DeskLine {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        within_rate(s, parts)?;
        let Ok(Params(q)) = Params::from_request_parts(parts, s).await;
        let ident = authorised(s, &parts.headers).ok_or(ApiError::NoToken)?;
        DeskLine::of(s, ident, q)
    }
}

/// The request's peer is within the CTI routes' rate (every request
/// has its peer: [`respond`] puts it there).
pub(crate) fn within_rate(
    s: &AppState,
    parts: &axum::http::request::Parts,
) -> Result<(), ApiError> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .ok_or(ApiError::Forbidden("forbidden"))?;
    if s.cti_limit.allow(peer.ip()) {
        Ok(())
    } else {
        Err(too_many())
    }
}

impl DeskLine {
    /// Desk `ident` (proven), on the line `telorg` of `q` names — one of
    /// its own.
    pub(crate) fn of(
        s: &AppState,
        ident: String,
        q: HashMap<String, String>,
    ) -> Result<DeskLine, ApiError> {
        let written = param(&q, "telorg").ok_or_else(|| {
            ApiError::Invalid("telorg is required: the line, a phone number".into())
        })?;
        let line = match crate::number::identity(written, &s.opts.country) {
            Ok(line) if is_number(&line) => line,
            Ok(_) => return Err(ApiError::Invalid("telorg: not a line number".into())),
            Err(e) => return Err(ApiError::Invalid(format!("telorg: {e}"))),
        };
        if !s.sees(&ident, &line) {
            tracing::warn!(
                ident,
                line = written,
                "a desk asked for a line that is not its own"
            );
            return Err(ApiError::NotYourLine {
                written: written.to_owned(),
                ident,
            });
        }
        Ok(DeskLine { ident, line, q })
    }
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
    let target =
        crate::number::parse_target(tel).map_err(|e| ApiError::Invalid(format!("tel: {e}")))?;
    let cmd = param(&q, "cmdevent").unwrap_or("DIAL");
    if !cmd.eq_ignore_ascii_case("DIAL") {
        return Err(ApiError::Invalid("the only cmdevent is DIAL".into()));
    }
    if let Some(sim) = &s.sim {
        let callee = crate::number::identity(tel, &s.opts.country).unwrap_or(target.number);
        let callref = sim.dial(&line, &callee);
        return Ok(Json(json!({ "result": "OK", "callref": callref })).into_response());
    }
    let dialer = match (&s.dialer, &s.cti) {
        (Some(Ok(dialer)), _) => dialer,
        (Some(Err(f)), _) => return Err(dial_failed(&line, f)),
        // Keyyo's CTI session dials from its own line.
        (None, Some(cti)) => {
            let callee = crate::number::identity(tel, &s.opts.country).unwrap_or(target.number);
            return match cti.dial(&line, &callee).await {
                Ok(()) => {
                    s.ingest.metrics().dialled(crate::metrics::Dialled::placed);
                    Ok(Json(json!({ "result": "OK" })).into_response())
                }
                Err(e) => {
                    s.ingest.metrics().dialled(crate::metrics::Dialled::refused);
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
    let req = crate::dial::DialRequest {
        target: tel.to_owned(),
        ..crate::dial::DialRequest::default()
    };
    let placed = match dialer.dial(line.clone(), req).await {
        Ok(placed) => placed,
        Err(crate::dialer::NotDialled::Busy) => {
            return Err(ApiError::Busy("too many calls being placed: try again"))
        }
        Err(crate::dialer::NotDialled::Stopped) => {
            return Err(ApiError::Busy("the server is stopping"))
        }
    };
    use crate::metrics::Dialled;
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
fn dial_failed(line: &str, f: &crate::failure::Failure) -> ApiError {
    let e = ApiError::DialFailed(f.into());
    tracing::warn!(line, "dial through the provider failed: {e}");
    e
}

/// A phone number or extension as a station sends it: digits, maybe `+`,
/// at most 32 characters.
pub(crate) fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 32 && digits.chars().all(|c| c.is_ascii_digit())
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
/// gets a call that already ended: see [`crate::hub::Reading`].
async fn getevent(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    DeskLine { ident, line, q }: DeskLine,
) -> Result<Response, ApiError> {
    use crate::hub::Reading;
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
    crate::number::identity_in(number, opts.tel_format, &opts.country)
}

fn answer(opts: &ServerOptions, events: &[Arc<LineEvent>], cursor: u64) -> Value {
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
    let kind = match param(&q, "kind").map(crate::journal::HistoryKind::parse) {
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
    let op = crate::control::Op::parse(
        name,
        |k| param(&q, k).map(str::to_owned),
        |n| phone_number(n, &country),
    )
    .map_err(ApiError::Invalid)?;
    let what = op.name();
    let done = match (&s.sim, &s.cti) {
        (Some(sim), _) => sim.act(&line, callref, op).await,
        (None, Some(cti)) => {
            let (action, params) = crate::keyyo_cti::action_of(&op, callref);
            cti.ask(action, params)
                .await
                .map(drop)
                .map_err(|e| crate::control::ControlError::Provider(format!("Keyyo CTI: {e}")))
        }
        (None, None) => Err(crate::control::ControlError::Unsupported {
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
    let op = crate::control::LineOp::parse(
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
            let (action, params) = crate::keyyo_cti::line_action_of(&op);
            let result = cti.ask(action, params).await.map_err(|e| {
                ApiError::Control(crate::control::ControlError::Provider(format!(
                    "Keyyo CTI: {e}"
                )))
            })?;
            match op {
                crate::control::LineOp::GetAutoAnswer => {
                    json!({ "auto_answer": result["auto_answer"] })
                }
                crate::control::LineOp::Subscriptions => {
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
                crate::control::ControlError::Unsupported {
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
fn phone_number(n: &str, country: &str) -> Result<String, String> {
    match crate::number::identity(n, country) {
        Ok(id) if is_number(&id) => Ok(id),
        Ok(_) => Err("not a phone number".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The last `limit` calls of `line` in the journal, once every event
/// queued is written; read on a blocking thread: a long history does not
/// hold up the other requests, which this runtime serves on one thread.
async fn line_history(
    s: &AppState,
    line: &str,
    kind: Option<crate::journal::HistoryKind>,
    limit: usize,
) -> Result<Result<Vec<crate::journal::CallRecord>, String>, ApiError> {
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
) -> Result<Vec<crate::control::ActiveCall>, ApiError> {
    let found = match line_history(s, line, None, ACTIVE_CALLS).await? {
        Ok(found) => found,
        Err(e) => {
            tracing::error!("journal: {e}");
            return Err(ApiError::JournalUnreadable);
        }
    };
    let now = crate::journal::now_ms();
    let active: Vec<crate::control::ActiveCall> = found
        .into_iter()
        .filter(|c| c.under_way(now))
        .map(|c| {
            let (caller, callee) = match c.direction {
                crate::hub::Direction::Out => (c.line.clone(), c.tel.clone()),
                crate::hub::Direction::In => (c.tel.clone(), c.line.clone()),
            };
            crate::control::ActiveCall {
                state: match c.state {
                    crate::events::model::CallState::Parked => "PARKED",
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
const ACTIVE_CALLS: usize = 50;

/// Keyyo's notification: checked, validated, deduplicated, journaled,
/// published, and only then answered 200. Keyyo does not send a
/// notification twice: a 200 is a promise that the call is kept. While the
/// journal cannot be written, 503 (the call is neither kept nor shown).
/// Called for every request to [`crate::keyyo::PATH`], before the
/// router (see [`handle`]).
async fn keyyo_notify(s: &AppState, peer: SocketAddr, checked: Checked) -> Response {
    use crate::metrics::Notified;
    let metrics = s.ingest.metrics();
    let (event, callref, kind, confirm) = match checked {
        Ok(Some(taken)) => taken,
        // A repeat: already kept.
        Ok(None) => {
            metrics.notified(Notified::repeat);
            return (StatusCode::OK, "OK").into_response();
        }
        Err((outcome, refused)) => {
            metrics.notified(outcome);
            return refused;
        }
    };
    let line = event.line.clone();
    if confirm {
        // Older than what is remembered: the journal says if it is a
        // repeat (a notification sent again long after).
        let (l, c) = (line.clone(), callref.clone());
        let known = crate::web::on_journal(s, move |j| j.has_event(&l, &c, kind.events())).await;
        if let Some(Ok(true)) = known {
            metrics.notified(Notified::repeat);
            return (StatusCode::OK, "OK").into_response();
        }
    }
    if let Err(why) = s.ingest.accept(event).await {
        // Not kept: a repeat of it must be taken.
        s.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(&line, &callref, kind);
        tracing::warn!(%peer, "Keyyo notification refused: {why:?}");
        metrics.notified(match why {
            crate::ingest::Refused::JournalUnavailable => Notified::journal_unavailable,
            crate::ingest::Refused::Stopping => Notified::not_taken,
        });
        return ApiError::JournalUnavailable.into_response();
    }
    metrics.notified(Notified::accepted);
    metrics.published(crate::metrics::Origin::keyyo);
    (StatusCode::OK, "OK").into_response()
}

/// A notification checked, validated and deduplicated: its event and its
/// repeat key, `None` for a repeat, or the refusal to send.
#[allow(clippy::result_large_err)]
fn keyyo_event(
    s: &AppState,
    source: &crate::keyyo::Source,
    peer: SocketAddr,
    query: Option<&str>,
) -> Checked {
    use crate::keyyo::{validate, Query, Refusal};
    use crate::metrics::Notified;
    let Some(opts) = &s.opts.keyyo else {
        return Err((
            Notified::not_taken,
            ApiError::Off("Keyyo notifications are not configured").into_response(),
        ));
    };
    if !s.notify_limit.allow(peer.ip()) {
        return Err((
            Notified::rate_limited,
            ApiError::TooMany("too many notifications").into_response(),
        ));
    }
    let q = Query::parse(query.unwrap_or(""));
    let n = match validate(opts, source, peer.ip(), &q) {
        Ok(n) => n,
        Err(Refusal::Forbidden) => {
            tracing::warn!(%peer, "Keyyo notification refused: source or secret");
            return Err((
                Notified::forbidden,
                ApiError::Forbidden("forbidden").into_response(),
            ));
        }
        Err(Refusal::Invalid(why)) => {
            tracing::warn!(%peer, "Keyyo notification refused: {why}");
            return Err((Notified::invalid, ApiError::Invalid(why).into_response()));
        }
    };
    if s.ingest.is_refusing() {
        return Err((
            Notified::journal_unavailable,
            ApiError::JournalUnavailable.into_response(),
        ));
    }
    let event = n.line_event();
    let (first, confirm) = {
        let mut seen = s.seen.lock().unwrap_or_else(|p| p.into_inner());
        let first = seen.first_time(&event.line, n.callref, n.kind);
        (first, n.tsms.is_some_and(|t| !seen.remembers(t)))
    };
    Ok(first.then(|| (event, n.callref.to_owned(), n.kind, confirm)))
}

/// A notification checked: its event and repeat key, `None` for a repeat,
/// or the refusal to send and how it is counted.
type Checked = Result<
    Option<(LineEvent, String, crate::keyyo::Kind, bool)>,
    (crate::metrics::Notified, Response),
>;

/// A request as [`take`] leaves it for [`respond`].
pub enum Taken {
    /// Answered already.
    Answered(Response),
    /// A Keyyo notification from this client, checked: its event waits
    /// for the journal.
    Keyyo(SocketAddr, Checked),
    /// For the router, from this client.
    Route(axum::http::Request<hyper::body::Incoming>, SocketAddr),
}

/// The part of answering a request from `peer` done at once, when hyper
/// hands it over. Keyyo's notifications, the one route a provider hits at
/// its own rate, are read and checked here (no router, no extractors), and
/// the request is let go before anything is awaited: held, it would keep
/// hyper's read buffer, which hyper reads from while the answer is awaited
/// (to see the client leave), and a new buffer would be allocated for
/// every notification. `source` is the connection's: its address, checked
/// once against Keyyo's allowed sources.
pub fn take(
    state: &AppState,
    source: &crate::keyyo::Source,
    mut req: axum::http::Request<hyper::body::Incoming>,
) -> Taken {
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
    req.extensions_mut().insert(crate::web::Https(https));
    if req.uri().path() == crate::keyyo::PATH {
        return Taken::Keyyo(
            client,
            keyyo_event(state, source, client, req.uri().query()),
        );
    }
    Taken::Route(req, client)
}

/// Answers a request [`take`]n.
pub async fn respond(state: &AppState, app: &Router, taken: Taken) -> Response {
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
fn too_large() -> Response {
    ApiError::TooLarge.into_response()
}

/// Whether `client` may read `/healthz` and `/metrics`: this machine, or
/// `<monitoring>`.
fn may_monitor(s: &AppState, client: SocketAddr) -> Result<(), ApiError> {
    if client.ip().is_loopback() || s.opts.monitoring.trusts(client.ip()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only this machine and <monitoring> may read the server's health",
        ))
    }
}

/// `GET /healthz`: the journal, the provider, the relay; 200 when all are
/// in place, 503 otherwise, with what is wrong.
async fn healthz(
    State(s): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    use crate::health::Provider;
    may_monitor(&s, client)?;
    let provider = if s.sim.is_some() {
        Provider::Simulator
    } else {
        match (&s.dialer, &s.provider_host) {
            (None, _) => Provider::None,
            (Some(Err(f)), _) => Provider::Broken(crate::redact::mask(&f.to_string()).into_owned()),
            (Some(Ok(_)), Some((host, port))) => Provider::At(host, *port),
            (Some(Ok(_)), None) => Provider::Broken(
                "the provider's address cannot be read from the dial request".into(),
            ),
        }
    };
    let (ok, report) =
        crate::health::report(!s.ingest.is_refusing(), provider, s.relay_status.as_deref()).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, Json(report)).into_response())
}

/// `GET /metrics`: the Prometheus text.
async fn metrics(
    State(s): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    may_monitor(&s, client)?;
    let desks = s
        .tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .desks_holding(Instant::now());
    let text = s.ingest.metrics().render(desks, s.ingest.queued());
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response())
}

/// `POST /sim/call?from&to[&answer=0]`: an incoming call in the simulator.
/// The simulator, for a request from this machine: its routes are tools
/// for tests and demos.
fn simulator(s: &AppState, peer: SocketAddr) -> Result<&Sim, ApiError> {
    let sim = s
        .sim
        .as_ref()
        .ok_or(ApiError::Off("the simulator is off"))?;
    if !peer.ip().is_loopback() {
        return Err(ApiError::Forbidden("only from this machine"));
    }
    Ok(sim)
}

/// `/sim/act?callref=C&op=answer|hangup`: the other party of a simulated
/// call answers it or hangs up (tests and demos; this machine only).
async fn sim_act(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let sim = simulator(&s, peer)?;
    let callref =
        param(&q, "callref").ok_or_else(|| ApiError::Invalid("callref is required".into()))?;
    let op = match param(&q, "op") {
        Some("answer") => crate::control::Op::Answer,
        Some("hangup") => crate::control::Op::Hangup,
        _ => return Err(ApiError::Invalid("op is answer or hangup".into())),
    };
    sim.remote(callref, op).await.map_err(ApiError::Control)?;
    Ok(Json(json!({ "result": "OK" })).into_response())
}

/// `/sim/dial?answer=1|0|wait`: how the callee of the desks' next dials
/// behaves — answers by itself, never, or when `/sim/act` says.
async fn sim_dial(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let sim = simulator(&s, peer)?;
    sim.set_dial_auto(match param(&q, "answer") {
        Some("0") => crate::sim::Auto::NoAnswer,
        Some("wait") => crate::sim::Auto::Manual,
        _ => crate::sim::Auto::Answer,
    });
    Ok(Json(json!({ "result": "OK" })).into_response())
}

/// `/sim/streams?state=down|up`: the simulator's network for the
/// browser desk's event streams — `down` cuts every stream open and holds
/// new ones, `up` lets them through (tests of a dropped stream).
async fn sim_streams(
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

async fn sim_call(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Params(q): Params,
) -> Result<Response, ApiError> {
    let sim = simulator(&s, peer)?;
    let (Some(from), Some(to)) = (param(&q, "from"), param(&q, "to")) else {
        return Err(ApiError::Invalid("from and to are required".into()));
    };
    let read = |n: &str| {
        crate::number::identity(n, &s.opts.country)
            .ok()
            .filter(|n| is_number(n))
    };
    let (Some(from), Some(to)) = (read(from), read(to)) else {
        return Err(ApiError::Invalid("from and to are phone numbers".into()));
    };
    let auto = match param(&q, "answer") {
        Some("0") => crate::sim::Auto::NoAnswer,
        Some("wait") => crate::sim::Auto::Manual,
        _ => crate::sim::Auto::Answer,
    };
    let callref = sim.incoming(&from, &to, auto);
    Ok(Json(json!({ "result": "OK", "callref": callref })).into_response())
}
