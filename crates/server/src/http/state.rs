//! What the handlers share: the server's state, built once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::server::ServerOptions;
use crate::http::error::ApiError;
use crate::model::clock::now_secs;
use crate::model::event::LineEvent;
use crate::sources::sim::Sim;
use crate::store::hub::Hub;
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
    pub sim: Option<Sim>,
    pub opts: ServerOptions,
    pub journal: Option<Arc<Mutex<crate::store::journal::Journal>>>,
    /// The provider configuration `setevent` dials through.
    pub dialer:
        Option<Result<crate::sources::dialer::DialThread, Arc<ctibridge_client::failure::Failure>>>,
    /// Writes the journal; `history` waits for it to catch up.
    pub writer: Option<Arc<crate::store::journal::Writer>>,
    /// The provider's host and port (`/healthz` tries a connection).
    pub provider_host: Option<(String, u16)>,
    /// The relay's last answer, when it runs (`/healthz`).
    pub relay_status: Option<Arc<crate::sources::health::RelayStatus>>,
    /// Who places the calls, as an error names it ("the simulator",
    /// "provider keyyo").
    pub provider_name: String,
    /// Keyyo's CTI session, when `<keyyo_cti>` is set: calls are acted on
    /// through it.
    pub cti: Option<crate::sources::keyyo_cti::Cti>,
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

impl AppState {
    /// Whether `ip` is within the CTI routes' rate (the browser desk's
    /// are the same).
    pub(crate) fn allow(&self, ip: std::net::IpAddr) -> bool {
        self.cti_limit.allow(ip)
    }

    pub fn new(
        ingest: Arc<crate::store::ingest::Ingest>,
        sim: Option<Sim>,
        opts: ServerOptions,
        journal: Option<Arc<Mutex<crate::store::journal::Journal>>>,
    ) -> AppState {
        let limit =
            |rate: u32| crate::infra::rate::RateLimit::new(f64::from(rate), 2.0 * f64::from(rate));
        let web = crate::http::state::WebState::default();
        let mut seen = crate::store::seen::Seen::default();
        if let Some(j) = &journal {
            web.restore(j);
            // The notifications journaled lately are repeats after a
            // restart too.
            let j = j.lock().unwrap_or_else(|p| p.into_inner());
            match j.recent_keys(crate::store::seen::Seen::CAPACITY) {
                Ok(keys) => {
                    // The journal's last day, or as much as is kept.
                    let since = match keys.last() {
                        Some(&(_, _, _, at)) if keys.len() >= crate::store::seen::Seen::CAPACITY => at,
                        _ => crate::model::clock::now_ms() - crate::model::clock::CALL_SPAN,
                    };
                    for (line, callref, event, _) in keys.iter().rev() {
                        if let Some(kind) = crate::wire::keyyo::Kind::of(*event) {
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
            tokens: Mutex::new(crate::store::tokens::Tokens::default()),
            stations: Mutex::new(HashMap::new()),
            seen: Arc::new(Mutex::new(seen)),
            lockout: Default::default(),
            holds: crate::infra::holds::Holds::new(crate::infra::connections::default_max()),
            web,
        }
    }
}

/// A desk token: 128 bits from the operating system's generator, in hex.
pub(crate) fn new_token() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(crate::store::tokens::hex(&bytes))
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
    pub(crate) fn restore(&self, journal: &Mutex<crate::store::journal::Journal>) {
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

/// `f` on the server's journal, on a thread that may block: `None`
/// without a journal; its error as text.
pub(crate) async fn on_journal<T, F>(s: &AppState, f: F) -> Option<Result<T, String>>
where
    T: Send + 'static,
    F: FnOnce(&crate::store::journal::Journal) -> rusqlite::Result<T> + Send + 'static,
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
