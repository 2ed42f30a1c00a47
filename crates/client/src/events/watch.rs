//! `ctibridge watch`: polls `<cliktocallevent>`, ties the events into calls,
//! prints one line per call event and runs the screen pop.
//!
//! Timing, from `<global>`:
//! - `timeout1`: the minimum interval between the starts of two polls (never
//!   less than `MIN_INTERVAL`, so that no source can drive a busy loop);
//! - `timeout2`: the pause after an answer that held no event;
//! - `timeout3`: the time limit of one poll, answer included.
//!
//! After an answer with events the next poll starts as soon as `timeout1`
//! allows; with a long-polling source and `timeout2=0` an event reaches the
//! screen pop as soon as its answer arrives. A failed poll (refused, no
//! answer in time, an HTTP error, an answer that cannot be read) is followed
//! by a pause that doubles up to `MAX_BACKOFF`, with jitter; the source
//! going away and coming back are logged once each.

/// The log target of what `watch` tells a person at the default
/// verbosity: that it watches, that the source answers fast, a session
/// made.
pub const LOG_TARGET: &str = "ctibridge::watch";

use std::io::Write;
use std::time::Duration;

use chrono::Local;
use tokio::time::Instant;

use crate::backoff::{Backoff, Jitter};
use crate::config::Secret;
use crate::config::{Config, EventSpec, TokenSpec};
use crate::context::Context;
use crate::diag::excerpt;
use crate::diag::{Code, Diagnostic};
use crate::events::call::{CallBook, EventKind, EventNames};
use crate::events::popup::ScreenPop;
use crate::events::read::{read_answer, Answer};
use crate::failure::Failure;
use crate::http::{HttpClient, SendError};
use crate::provider::{Exchange, ExchangeError};
use crate::request::{self, mask_url};
use crate::source::Span;
use crate::template::Values;
use crate::token::{self, TokenStore};

/// The shortest interval between the starts of two polls, whatever
/// `timeout1` says.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest pause after failed polls.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What `watch` was asked.
#[derive(Clone, Debug, Default)]
pub struct WatchOptions {
    /// `--once`: stop after the first call event (not an "other" one).
    pub once: bool,
    /// `--for SECONDS`: stop after this long.
    pub duration: Option<Duration>,
    /// JSON lines rather than readable lines.
    pub json: bool,
}

/// Why `watch` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--once` saw its call event.
    Once,
    /// `--for` ran out.
    Duration,
    /// SIGINT or SIGTERM.
    Signal,
    /// Nobody reads stdout any more.
    OutputClosed,
}

/// Follows the events until told to stop. Errors are configuration
/// problems found before or while polling; the source failing is not one.
pub async fn watch(
    context: &Context,
    config: &Config,
    opts: &WatchOptions,
    out: &mut dyn Write,
    fallback: Span,
) -> Result<Stop, Failure> {
    let spec = config.event.as_ref().ok_or_else(|| {
        no_event_source(
            fallback,
            "set `<with_event>1` and the `<url>` of the events in `<cliktocallevent>`",
        )
    })?;
    let mut pop = ScreenPop::new(config, context).map_err(|d| Failure::Config(vec![d]))?;
    let trigger = config
        .popup
        .as_ref()
        .map_or(crate::config::PopupTrigger::Ring, |p| p.trigger.value);
    let mut book = CallBook::new(EventNames::from_global(&config.global), trigger)
        .with_line(&config.station.telorg.value);
    if pop.is_none() {
        tracing::info!(target: LOG_TARGET, "no <popup> section: call events are printed only");
    }
    let shared_config = std::sync::Arc::new(config.clone());
    let callers = match crate::names::Lookup::new(shared_config.clone(), context, fallback)? {
        Some((lookup, problems)) => {
            for p in problems {
                tracing::warn!("the directory, line {}: {}", p.line, p.message);
            }
            Some(crate::names::Callers::new(lookup))
        }
        None => None,
    };
    // A desk's own reports (desks without a bridge server).
    let outbox = crate::report::DeskOutbox::start(shared_config, context).map_err(|e| {
        Failure::Config(vec![Diagnostic::error(
            Code::HttpSetup,
            config.global.cafile.span().unwrap_or(fallback),
            e,
        )])
    })?;
    let country = &config.global.country.value;
    let own_line = crate::number::identity(&config.station.telorg.value, country)
        .unwrap_or_else(|_| config.station.telorg.value.clone());
    // The answers go from the poll loop to the calls, the lookup and the
    // screen pop through a queue: a lookup under way never holds the next
    // poll back, and the events keep their order.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(chrono::DateTime<Local>, Answer)>();
    let handled = async {
        while let Some((now, answer)) = rx.recv().await {
            for (i, raw) in answer.events.iter().enumerate() {
                let over = book.ends_later(&answer.events, i);
                let mut ev = book.apply(raw, now);
                if ev.screen_pop && over {
                    // Its end is in the same answer: over before it was read.
                    tracing::debug!(call = ?ev.call_id, "no screen pop: the call ended before the desk read it");
                    ev.screen_pop = false;
                }
                if let (Some(number), Some(callers)) = (ev.look_up.take(), &callers) {
                    let found = callers.resolve(&number).await;
                    tracing::debug!(how = ?found.how, "caller lookup");
                    if let Some(p) = found.person {
                        book.name_last(p.clone());
                        ev.person = Some(p);
                    }
                }
                let ended = ev.release_at.is_some() && ev.state.is_some_and(|s| s.is_ended());
                if let (true, Some(outbox), Some(spec)) = (ended, &outbox, &config.report) {
                    let call = crate::report::finished_from_event(&ev, &own_line, country);
                    if crate::report::wanted(spec, &call) {
                        outbox.push(call);
                    }
                }
                if ev.screen_pop {
                    if let Some(p) = pop.as_mut() {
                        let started = p.run(&ev);
                        tracing::debug!(?started, "screen pop");
                    }
                }
                if let Err(e) = print(out, &ev, opts.json) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Some(Stop::OutputClosed);
                    }
                    tracing::warn!("cannot write the event: {e}");
                }
                if opts.once && ev.kind != EventKind::Other {
                    return Some(Stop::Once);
                }
            }
        }
        None
    };
    let polled = follow(
        context,
        config,
        spec,
        fallback,
        stop_signal(opts.duration),
        move |answer| {
            let now = chrono::DateTime::<Local>::from(context.clock().now());
            // The receiver only goes away once `watch` stops.
            let _ = tx.send((now, answer));
            None
        },
    );
    let stopped = {
        let mut handled = std::pin::pin!(handled);
        let mut polled = std::pin::pin!(polled);
        tokio::select! {
            stop = &mut handled => Ok(stop.unwrap_or(Stop::Signal)),
            stop = &mut polled => match stop {
                // The poll loop is over (its end of the queue with it):
                // the answers already in are still handled.
                Ok(stop) => Ok(handled.await.unwrap_or(stop)),
                Err(f) => Err(f),
            }
        }
    };
    if let Some(outbox) = outbox {
        outbox.finish(REPORT_GRACE).await;
    }
    stopped
}

/// How long `watch`, stopping, still tries to send the reports it holds.
pub(crate) const REPORT_GRACE: Duration = Duration::from_secs(5);

/// Polls `spec` until `stop` resolves or `handle`, given every answer
/// (with events or without), says to stop: the loop of `watch` and of the bridge
/// server's relay. Errors are configuration problems; the source failing
/// is not one (it is retried with back-off).
pub async fn follow(
    context: &Context,
    config: &Config,
    spec: &EventSpec,
    fallback: Span,
    stop: impl std::future::Future<Output = Stop>,
    mut handle: impl FnMut(Answer) -> Option<Stop>,
) -> Result<Stop, Failure> {
    let mut source = Source::new(context, config, spec, fallback)?;
    // A value that cannot go where its template puts it is found now, not
    // at the first poll.
    source.build_request(true)?;
    let g = &config.global;
    let interval = g.timeout1.value.max(MIN_INTERVAL);
    let empty_pause = g.timeout2.value;
    tracing::info!(
        target: LOG_TARGET,
        method = spec.request.method.value.as_str(),
        url = %mask_url(&spec.request.url.value.text),
        every = ?interval,
        read_timeout = ?g.timeout3.value,
        "watching call events"
    );

    let mut stop = std::pin::pin!(stop);
    let mut health = Health::default();
    let mut backoff = poll_backoff(interval);
    let mut next_start = Instant::now();
    let mut told_fast_empty = false;
    // Refusals in a row (401/403, of the source or of the token): a wrong
    // secret does not mend itself, so after a few the loop ends, saying why.
    let mut refusals = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_start) => {}
            s = &mut stop => return Ok(s),
        }
        let started = Instant::now();
        next_start = started + interval;
        let polled = tokio::select! {
            r = source.poll() => r,
            s = &mut stop => return Ok(s),
        };
        let answer = match polled {
            Ok(a) => a,
            Err(PollError::Fatal(f)) => return Err(f),
            Err(PollError::Fault(fault)) => {
                if fault.is_refusal() {
                    refusals += 1;
                    if refusals >= MAX_REFUSALS {
                        let at = spec.request.url.span().unwrap_or(fallback);
                        return Err(Failure::Refused(
                            crate::diag::Diagnostic::error(
                                crate::diag::Code::AuthFailed,
                                at,
                                format!("the event source refused us {MAX_REFUSALS} times in a row: {fault}"),
                            )
                            .with_help("check the credentials the source takes: the station's <ident> and <event_token> (the desk's secret on a bridge server), or <user>/<mdp>"),
                        ));
                    }
                } else {
                    refusals = 0;
                }
                health.failed(&fault, g.timeout3.value);
                next_start = Instant::now() + backoff.next_delay();
                continue;
            }
        };
        refusals = 0;
        health.succeeded();
        backoff.reset();
        if answer.events.is_empty() {
            // Told too: the source answers (the relay's health).
            if let Some(s) = handle(answer) {
                return Ok(s);
            }
            next_start = next_start.max(Instant::now() + empty_pause);
            if !told_fast_empty
                && started.elapsed() < MIN_INTERVAL
                && next_start - started <= MIN_INTERVAL
            {
                told_fast_empty = true;
                tracing::info!(
                    target: LOG_TARGET,
                    "the event source answers at once with no event: polling at most every {:?} (raise <timeout2> to poll less)",
                    MIN_INTERVAL
                );
            }
            continue;
        }
        if let Some(s) = handle(answer) {
            return Ok(s);
        }
    }
}

/// The configuration has no event source (`<with_event>` is not 1).
fn no_event_source(at: Span, help: &str) -> Failure {
    Failure::Config(vec![Diagnostic::error(
        Code::NoEventSource,
        at,
        "there are no events to watch: `<cliktocallevent>` has no `<with_event>1`",
    )
    .with_help(help)])
}

/// What one poll of the event source gave (`doctor`).
#[derive(Debug)]
pub enum Probe {
    /// An answer was read: how many events it held.
    Answered(usize),
    /// No answer within the doctor's limit, which is shorter than
    /// `<timeout3>`: a long poll held open, as it should be.
    Held(Duration),
    /// The source failed the way `watch` would see it fail.
    Failed(Fault),
    /// The configuration cannot work.
    Broken(Failure),
}

/// One poll of the event source as `watch` makes it (token, session,
/// request), waiting at most `limit` for the answer.
pub async fn probe(context: &Context, config: &Config, fallback: Span, limit: Duration) -> Probe {
    let Some(spec) = config.event.as_ref() else {
        return Probe::Broken(no_event_source(
            fallback,
            "set `<with_event>1` and the `<url>` of the events in `<cliktocallevent>`",
        ));
    };
    let mut source = match Source::new(context, config, spec, fallback) {
        Ok(s) => s,
        Err(f) => return Probe::Broken(f),
    };
    if let Err(f) = source.build_request(true) {
        return Probe::Broken(f);
    }
    let held = limit < source.read_timeout;
    source.read_timeout = source.read_timeout.min(limit);
    match source.poll().await {
        Ok(answer) => Probe::Answered(answer.events.len()),
        Err(PollError::Fatal(f)) => Probe::Broken(f),
        Err(PollError::Fault(Fault::NoAnswer)) if held => Probe::Held(limit),
        Err(PollError::Fault(f)) => Probe::Failed(f),
    }
}

/// A request (`method`) to `route` with `query` on the bridge server the
/// event source is: the event request's URL up to `/getevent`, with its
/// headers and token (fetched again once if refused). For `ctibridge
/// history` and `ctibridge call`.
pub async fn ask_bridge(
    context: &Context,
    config: &Config,
    fallback: Span,
    method: crate::config::Method,
    route: &str,
    query: &[(&str, &str)],
) -> Result<crate::http::HttpResponse, Failure> {
    let spec = config.event.as_ref().ok_or_else(|| {
        no_event_source(
            fallback,
            "read the server's journal instead: --journal FILE",
        )
    })?;
    let at = spec.request.url.span().unwrap_or(fallback);
    let mut source = Source::new(context, config, spec, fallback)?;
    let token_failure = |fault: PollError| match fault {
        PollError::Fatal(f) => f,
        PollError::Fault(Fault::Token(why, true)) => Failure::Refused(Diagnostic::error(
            Code::TokenRefused,
            at,
            format!("the bridge server refused this desk: {why}"),
        )),
        PollError::Fault(f) => {
            Failure::Network(Diagnostic::error(Code::TokenUnreachable, at, f.to_string()))
        }
    };
    let mut refresh = false;
    loop {
        source.renew_token(refresh).await.map_err(token_failure)?;
        let mut req = source.build_request(false)?;
        let Some(cut) = req.url.find("/getevent") else {
            return Err(Failure::Config(vec![Diagnostic::error(
                Code::NotABridge,
                at,
                "the event <url> is not a bridge server's `…/getevent`",
            )
            .with_help("read the server's journal instead: --journal FILE")]));
        };
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        req.url = format!("{}/{route}?{query}", &req.url[..cut]);
        req.method = method;
        req.body = (method != crate::config::Method::Get).then(String::new);
        let resp = source.client.send(&req).await.map_err(|e| {
            Failure::Network(Diagnostic::error(
                Code::BridgeUnreachable,
                at,
                format!("the bridge server cannot be reached: {e}"),
            ))
        })?;
        if matches!(resp.status, 401 | 403) && !refresh && source.token_spec.is_some() {
            refresh = true;
            continue;
        }
        if !resp.is_success() {
            return Err(Failure::Refused(
                Diagnostic::error(
                    Code::BridgeRefused,
                    at,
                    format!(
                        "the bridge server refused: HTTP {}{}",
                        resp.status,
                        refusal_reason(&resp)
                    ),
                )
                .with_help(format!("the server answered: {}", resp.body_start())),
            ));
        }
        return Ok(resp);
    }
}

fn print(
    out: &mut dyn Write,
    ev: &crate::events::call::CallEvent,
    json: bool,
) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, ev)?;
        out.write_all(b"\n")?;
    } else {
        writeln!(out, "{}", ev.readable())?;
    }
    out.flush()
}

/// The `error` of a bridge server's refusal, after a colon.
fn refusal_reason(resp: &crate::http::HttpResponse) -> String {
    serde_json::from_str::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| v["error"].as_str().map(|e| format!(": {e}")))
        .unwrap_or_default()
}

/// Resolves when `watch` must stop: a signal, or `--for` running out.
async fn stop_signal(duration: Option<Duration>) -> Stop {
    let deadline = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = deadline => Stop::Duration,
        _ = shutdown_signal() => Stop::Signal,
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM or --for stop us.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            },
            Err(_) => ctrl_c.await,
        }
    }
    // Windows: Ctrl+C and Ctrl+Break, the console closed, the user logging
    // off, the machine shutting down.
    #[cfg(windows)]
    {
        use tokio::signal::windows;
        // One console event; a handler that cannot be installed never fires.
        macro_rules! on {
            ($event:expr) => {
                async {
                    match $event {
                        Ok(mut e) => e.recv().await,
                        Err(_) => std::future::pending().await,
                    }
                }
            };
        }
        tokio::select! {
            _ = ctrl_c => {}
            _ = on!(windows::ctrl_break()) => {}
            _ = on!(windows::ctrl_close()) => {}
            _ = on!(windows::ctrl_logoff()) => {}
            _ = on!(windows::ctrl_shutdown()) => {}
        }
    }
    #[cfg(not(any(unix, windows)))]
    ctrl_c.await;
}

/// Why a poll brought no answer that could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing was sent: refused, no route, name not found.
    Unreachable(String),
    /// No complete answer within `timeout3`.
    NoAnswer,
    /// An HTTP status that is not success.
    Status(u16, String),
    /// An answer that is not of the configured type.
    Garbage(String),
    /// The token could not be obtained: why, and whether it was refused
    /// (the credentials) rather than not fetched.
    Token(String, bool),
    /// Anything else on the way.
    Failed(String),
    /// The event session is gone (404, `<session_lost>`): a new one is made.
    SessionLost(String),
}

/// Refusals in a row after which `follow` gives up.
pub(crate) const MAX_REFUSALS: u32 = 5;

impl Fault {
    /// A refusal of who we are (401/403, of the source or of the token
    /// request): retrying will not change it.
    fn is_refusal(&self) -> bool {
        match self {
            Fault::Status(s, _) => matches!(s, 401 | 403),
            Fault::Token(_, refused) => *refused,
            _ => false,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Unreachable(e) => write!(f, "cannot connect: {e}"),
            Fault::NoAnswer => write!(f, "no answer within <timeout3>"),
            Fault::Status(s, body) => write!(f, "HTTP {s}: {body}"),
            Fault::Garbage(e) => write!(f, "{e}"),
            Fault::Token(e, _) => write!(f, "no token: {e}"),
            Fault::Failed(e) => write!(f, "{e}"),
            Fault::SessionLost(e) => write!(f, "the event session ended ({e}); a new one is made"),
        }
    }
}

enum PollError {
    /// Stops `watch`: the configuration cannot work.
    Fatal(Failure),
    /// The source failed this time; try again later.
    Fault(Fault),
}

/// The event source as the param file describes it, with the token and
/// the cursor it needs from one poll to the next.
struct Source<'a> {
    context: &'a Context,
    config: &'a Config,
    spec: &'a EventSpec,
    token_spec: Option<&'a TokenSpec>,
    client: HttpClient,
    store: TokenStore,
    token_key: Option<String>,
    values: Values,
    read_timeout: Duration,
    fallback: Span,
}

impl<'a> Source<'a> {
    fn new(
        context: &'a Context,
        config: &'a Config,
        spec: &'a EventSpec,
        fallback: Span,
    ) -> Result<Source<'a>, Failure> {
        let client = crate::dial::client(config, fallback)?;
        let values = crate::dial::values(config);
        // The token is fetched only for a source that sends it.
        let token_spec = config
            .token
            .as_ref()
            .filter(|_| config.sends("token", crate::schema::Section::Event));
        let token_key = token_spec.map(|t| TokenStore::key(&t.request.url.value.text, &values));
        Ok(Source {
            context,
            config,
            spec,
            token_spec,
            client,
            store: context.tokens(),
            token_key,
            values,
            read_timeout: config.global.timeout3.value,
            fallback,
        })
    }

    fn build_request(&self, check_only: bool) -> Result<request::HttpRequest, Failure> {
        let mut values = self.values.clone();
        if check_only && self.token_spec.is_some() {
            values.token.get_or_insert_with(Secret::default);
        }
        if check_only && self.spec.session.is_some() {
            values.session.get_or_insert_with(String::new);
        }
        request::build(&self.spec.request, &values).map_err(|e| Failure::Config(vec![e.diagnostic]))
    }

    async fn poll(&mut self) -> Result<Answer, PollError> {
        let mut fresh_token = false;
        if self.token_spec.is_some() && self.values.token.is_none() {
            self.renew_token(false).await?;
            fresh_token = true;
        }
        self.ensure_session().await?;
        let mut resp = self.send().await?;
        if matches!(resp.status, 401 | 403) && self.token_spec.is_some() && !fresh_token {
            tracing::info!(
                target: LOG_TARGET,
                status = resp.status,
                "event source refused the token: fetching a new one"
            );
            self.renew_token(true).await?;
            resp = self.send().await?;
        }
        if let Some(session) = &self.spec.session {
            let body = resp.body.to_ascii_lowercase();
            let lost = resp.status == 404
                || session
                    .lost
                    .iter()
                    .any(|t| body.contains(&t.to_ascii_lowercase()));
            if lost {
                self.values.session = None;
                return Err(PollError::Fault(Fault::SessionLost(format!(
                    "HTTP {}: {}",
                    resp.status,
                    resp.body_start()
                ))));
            }
        }
        if !resp.is_success() {
            return Err(PollError::Fault(Fault::Status(
                resp.status,
                resp.body_start(),
            )));
        }
        match read_answer(&resp.body, self.spec) {
            Ok(mut answer) => {
                self.normalise_numbers(&mut answer);
                if let Some(c) = &answer.cursor {
                    self.values.cursor = Some(c.clone());
                }
                Ok(answer)
            }
            Err(e) => Err(PollError::Fault(Fault::Garbage(format!(
                "{e}; the answer starts with: {}",
                excerpt(&resp.body, 120)
            )))),
        }
    }

    async fn send(&self) -> Result<crate::http::HttpResponse, PollError> {
        self.exchange(&self.spec.request).await
    }

    /// Makes (and subscribes) the event session of `<session_url>` when
    /// there is none.
    async fn ensure_session(&mut self) -> Result<(), PollError> {
        let Some(session) = &self.spec.session else {
            return Ok(());
        };
        if self.values.session.is_some() {
            return Ok(());
        }
        let make = self.post_to(&session.url.value);
        let resp = self.exchange(&make).await?;
        if !resp.is_success() {
            return Err(PollError::Fault(Fault::Status(
                resp.status,
                resp.body_start(),
            )));
        }
        let id = crate::answer::read_json(&resp.body, &session.id_field.value)
            .ok()
            .flatten()
            .ok_or_else(|| {
                PollError::Fault(Fault::Garbage(format!(
                    "no session id in the answer to <session_url>: {}",
                    excerpt(&resp.body, 120)
                )))
            })?;
        self.values.session = Some(id);
        if let Some(sub) = &session.subscribe {
            let subscribe = self.post_to(&sub.value);
            let resp = self.exchange(&subscribe).await?;
            if !resp.is_success() {
                self.values.session = None;
                return Err(PollError::Fault(Fault::Status(
                    resp.status,
                    resp.body_start(),
                )));
            }
        }
        tracing::info!(target: LOG_TARGET, "event session made");
        Ok(())
    }

    /// The event section's request, POSTed to another URL with no body.
    fn post_to(&self, url: &crate::config::Template) -> crate::config::RequestSpec {
        let mut spec = self.spec.request.clone();
        spec.url.value = url.clone();
        spec.method.value = crate::config::Method::Post;
        spec.data.value = crate::config::Template {
            text: String::new(),
            parts: Vec::new(),
        };
        spec.dataencode.value = spec.data.value.clone();
        spec
    }

    async fn exchange(
        &self,
        spec: &crate::config::RequestSpec,
    ) -> Result<crate::http::HttpResponse, PollError> {
        let exchange = Exchange::new(&self.client, self.config, self.context);
        match exchange
            .send(spec, &self.values, Some(self.read_timeout))
            .await
        {
            Ok(done) => Ok(done.response),
            Err(ExchangeError::Build(e)) => {
                Err(PollError::Fatal(Failure::Config(vec![e.diagnostic])))
            }
            Err(ExchangeError::Auth(e)) => Err(PollError::Fault(Fault::Failed(e))),
            Err(ExchangeError::Send(e)) => Err(PollError::Fault(match e {
                SendError::Connect(e) => Fault::Unreachable(e),
                SendError::Timeout(_) => Fault::NoAnswer,
                SendError::Failed(e) | SendError::Setup(e) => Fault::Failed(e),
            })),
        }
    }

    /// `<tel_format>`: numbers of events in the form the ERP matches on.
    fn normalise_numbers(&self, answer: &mut Answer) {
        let format = self.spec.tel_format.value;
        if format == crate::config::NumberFormat::AsDialled {
            return;
        }
        let country = &self.config.global.country.value;
        let convert = |n: &mut Option<String>| {
            if let Some(v) = n.as_mut() {
                let digits = v.trim_start_matches('+');
                if digits.len() >= 6 && digits.chars().all(|c| c.is_ascii_digit()) {
                    if let Ok(f) = crate::number::format_number(v, format, country) {
                        *v = f;
                    }
                }
            }
        };
        for e in &mut answer.events {
            convert(&mut e.caller);
            convert(&mut e.called);
            convert(&mut e.line);
        }
    }

    /// A cached token, or a new one (`refresh`: the cached one was refused).
    async fn renew_token(&mut self, refresh: bool) -> Result<(), PollError> {
        let (Some(spec), Some(key)) = (self.token_spec, &self.token_key) else {
            return Ok(());
        };
        let obtained = token::obtain(
            &self.store,
            key,
            &self.client,
            spec,
            &self.values,
            self.fallback,
            refresh,
        )
        .await;
        match obtained {
            Ok((t, _)) => {
                self.values.token = Some(t);
                Ok(())
            }
            Err(f) => {
                self.values.token = None;
                // The server's reason (the answer's start) goes with it.
                let fault = match &f {
                    Failure::Refused(d) => Fault::Token(
                        match &d.help {
                            Some(why) => format!("{} ({why})", d.message),
                            None => d.message.clone(),
                        },
                        true,
                    ),
                    other => Fault::Token(other.to_string(), false),
                };
                Err(PollError::Fault(fault))
            }
        }
    }
}

/// The source's health, so that going away and coming back are each logged
/// once.
#[derive(Debug, Default)]
struct Health {
    down_since: Option<Instant>,
    failures: u32,
}

impl Health {
    fn failed(&mut self, fault: &Fault, read_timeout: Duration) {
        self.failures += 1;
        if self.down_since.is_some() {
            tracing::debug!(
                failures = self.failures,
                "event source still unavailable: {fault}"
            );
            return;
        }
        self.down_since = Some(Instant::now());
        let hint = match fault {
            Fault::NoAnswer => format!(
                " ({read_timeout:?}); if the source holds a poll open until an event comes, raise <timeout3> above that time"
            ),
            _ => String::new(),
        };
        tracing::warn!(
            "event source unavailable: {fault}{hint}; retrying with back-off (at most {} s)",
            MAX_BACKOFF.as_secs()
        );
    }

    fn succeeded(&mut self) {
        if let Some(since) = self.down_since.take() {
            tracing::warn!(
                "event source is back after {} failed poll(s) in {:.1} s",
                self.failures,
                since.elapsed().as_secs_f64()
            );
        }
        self.failures = 0;
    }
}

/// Pauses after failed polls: `base` (never below [`MIN_INTERVAL`]),
/// doubling up to [`MAX_BACKOFF`], each drawn between half and all of that
/// ("equal jitter"), so that desks that lost the source together do not
/// come back together.
pub(crate) fn poll_backoff(base: Duration) -> Backoff {
    Backoff::new(base.max(MIN_INTERVAL), MAX_BACKOFF, Jitter::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut b = poll_backoff(Duration::from_millis(250));
        let mut ceilings = Vec::new();
        for _ in 0..12 {
            let d = b.next_delay();
            ceilings.push(d);
        }
        let expected = [250u64, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
        for (d, c) in ceilings.iter().zip(expected) {
            let c = Duration::from_millis(c);
            assert!(*d <= c && *d >= c / 2, "{d:?} for ceiling {c:?}");
        }
        assert!(ceilings.iter().all(|d| *d <= MAX_BACKOFF));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(250));
        // Never below the floor, even with timeout1=0.
        assert!(poll_backoff(Duration::ZERO).next_delay() >= MIN_INTERVAL / 2);
    }
}
