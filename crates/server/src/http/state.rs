//! What the handlers share: the server's state, built once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::server::ServerOptions;
use crate::http::error::ApiError;
use crate::model::clock::now_secs;
use crate::model::event::LineEvent;
use crate::sources::provider::Provider;
use crate::store::hub::Hub;
use crate::store::journal::SharedJournal;
use std::net::IpAddr;
use std::time::Instant;

/// Stations remembered by ident and line (cursor, for stations that send none).
pub(crate) const MAX_STATIONS: usize = 10_000;

/// Calls under way a station that sends no cursor is remembered to have.
pub(crate) const MAX_GIVEN: usize = 64;

/// Where a station that sends no cursor is (Divalto's engine): the server
/// keeps its place, and the calls it has begun to read (it gets their
/// ends, and nothing of a call that ended before it saw it).
#[derive(Default)]
pub(crate) struct Station {
    pub(crate) cursor: u64,
    pub(crate) given: Vec<String>,
}

impl Station {
    /// Notes what was given: a call's end forgets it.
    pub(crate) fn gave(&mut self, events: &[Arc<LineEvent>]) {
        for e in events {
            self.given.retain(|c| c != &e.callref);
            if !matches!(
                e.event,
                crate::model::event::Event::Release | crate::model::event::Event::Missed
            ) {
                if self.given.len() >= MAX_GIVEN {
                    self.given.remove(0);
                }
                self.given.push(e.callref.clone());
            }
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    pub hub: Arc<Hub>,
    /// Where call events enter: journaled, then published.
    pub ingest: Arc<crate::store::ingest::Ingest>,
    /// Who places the calls and acts on them.
    pub provider: Provider,
    pub opts: ServerOptions,
    pub journal: SharedJournal,
    /// Writes the journal; `history` waits for it to catch up.
    pub writer: Arc<crate::store::journal::Writer>,
    /// The relay's last answer, when it runs (`/healthz`).
    pub relay_status: Option<Arc<crate::sources::health::RelayStatus>>,
    pub(crate) tokens: Mutex<crate::store::tokens::Tokens>,
    pub(crate) stations: Mutex<HashMap<(String, String), Station>>,
    /// Keyyo calls kept, by call and state: a notification and a CTI
    /// push of the same are one.
    pub seen: Arc<Mutex<crate::store::seen::Seen>>,
    pub(crate) notify_limit: crate::infra::rate::RateLimit,
    pub(crate) cti_limit: crate::infra::rate::RateLimit,
    /// Wrong desk secrets, per desk (`gettoken` and the browser's login).
    lockout: crate::infra::lockout::Lockout,
    /// Requests held open (long polls, event streams), bounded.
    pub(crate) holds: Arc<crate::infra::holds::Holds>,
    /// The browser desk's sessions logged out before their end.
    pub(crate) web: crate::http::state::WebState,
}

/// What the server's parts hand the routes.
pub struct Parts {
    pub ingest: Arc<crate::store::ingest::Ingest>,
    pub provider: Provider,
    pub opts: ServerOptions,
    pub journal: SharedJournal,
    pub writer: Arc<crate::store::journal::Writer>,
    pub seen: Arc<Mutex<crate::store::seen::Seen>>,
    pub relay_status: Option<Arc<crate::sources::health::RelayStatus>>,
    /// Connections kept open at most: requests held open are bounded below.
    pub max_connections: usize,
}

impl AppState {
    /// Whether `ip` is within the CTI routes' rate (the browser desk's
    /// are the same).
    pub(crate) fn allow(&self, ip: std::net::IpAddr) -> bool {
        self.cti_limit.allow(ip)
    }

    /// The state, whole; the desks' logouts read back from the journal.
    pub fn new(parts: Parts) -> AppState {
        let Parts {
            ingest,
            provider,
            opts,
            journal,
            writer,
            seen,
            relay_status,
            max_connections,
        } = parts;
        let limit =
            |rate: u32| crate::infra::rate::RateLimit::new(f64::from(rate), 2.0 * f64::from(rate));
        let web = crate::http::state::WebState::default();
        web.restore(&journal);
        AppState {
            notify_limit: limit(opts.notify_rate),
            cti_limit: limit(opts.cti_rate),
            hub: ingest.hub().clone(),
            ingest,
            provider,
            opts,
            journal,
            writer,
            relay_status,
            tokens: Mutex::new(crate::store::tokens::Tokens::default()),
            stations: Mutex::new(HashMap::new()),
            seen,
            lockout: Default::default(),
            holds: crate::infra::holds::Holds::new(max_connections),
            web,
        }
    }
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
    /// ([`crate::infra::lockout`]); the log says so once, not at each refusal.
    pub(crate) fn desk_login(
        &self,
        ident: &str,
        secret: &str,
        from: IpAddr,
    ) -> Result<String, ApiError> {
        use crate::infra::lockout::Verdict;
        use crate::infra::metrics::LoginRefused;
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
                        desk = %ctibridge_lang::diag::excerpt(ident, 40),
                        "{} wrong secrets in a row for this desk: tries from addresses it has not logged in from now wait, longer each time",
                        crate::infra::lockout::FREE_TRIES
                    );
                }
                Err(ApiError::WrongSecret)
            }
        }
    }

    /// Whether desk `ident` may follow and dial from `line`.
    pub(crate) fn sees(&self, ident: &str, line: &str) -> bool {
        self.opts.desks.is_empty()
            || self
                .opts
                .desks
                .iter()
                .any(|d| d.ident == ident && d.lines.iter().any(|l| l == line))
    }
}

/// Whether the request came over HTTPS (itself, or through a trusted
/// proxy that says so): the cookie is then `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct Https(pub bool);

/// Sessions logged out before their end (their nonce → their end).
pub struct WebState {
    pub(crate) logged_out: Mutex<HashMap<String, i64>>,
    /// Each session's event streams, a few at most.
    pub(crate) sessions: Arc<crate::infra::holds::Sessions>,
    /// The simulator's network for event streams: a new number cuts every
    /// stream open; `true` holds new ones until `false` (`/sim/streams`).
    pub(crate) streams: tokio::sync::watch::Sender<(u64, bool)>,
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
    pub(crate) fn restore(&self, journal: &SharedJournal) {
        // Those past their end are deleted meanwhile: the writer's.
        let kept = crate::store::calls::CallStore::desk_logouts(&*journal.writer(), now_secs());
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
