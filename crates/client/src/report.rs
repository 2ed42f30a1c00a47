//! `<report>`: a finished call written back into the ERP (or sent to a
//! webhook) — its keywords, its request, and whether the answer means the
//! ERP kept it. The bridge server's outbox (in its journal) decides when;
//! this module says what is sent and how it went.

use chrono::{DateTime, Local, SecondsFormat, TimeZone as _};

use crate::config::{Config, NumberFormat, ReportSpec};
use crate::events::model::Direction;
use crate::names::Person;
use crate::template::Values;

/// A call that has ended, as a report tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedCall {
    /// The line, in its one identity (E.164, or an extension).
    pub line: String,
    /// The other party, in its one identity (empty: withheld).
    pub other: String,
    /// The number called.
    pub called: String,
    pub direction: Direction,
    pub answered: bool,
    /// Milliseconds since 1970.
    pub setup_at: i64,
    pub ringing_ms: i64,
    pub talk_ms: i64,
    pub callref: String,
    pub replaces: Option<String>,
    pub person: Option<Person>,
}

impl FinishedCall {
    /// `made`, `received` or `missed`: what `<report_when>` chooses on.
    pub fn kind(&self) -> &'static str {
        match (self.direction, self.answered) {
            (Direction::Out, _) => "made",
            (Direction::In, true) => "received",
            (Direction::In, false) => "missed",
        }
    }

    /// `answered`, `missed` or `unanswered` (an outgoing call nobody took).
    pub fn state(&self) -> &'static str {
        match (self.direction, self.answered) {
            (_, true) => "answered",
            (Direction::In, false) => "missed",
            (Direction::Out, false) => "unanswered",
        }
    }

    /// The key of this report, the same each time it is sent.
    pub fn report_id(&self) -> String {
        let line: String = self.line.chars().filter(char::is_ascii_digit).collect();
        format!("{line}-{}", self.callref)
    }

    /// The call `ctibridge report --dry-run` shows: a missed call from
    /// Marie Dupont to `line`, a minute ago.
    pub fn sample(line: &str, now_ms: i64) -> FinishedCall {
        FinishedCall {
            line: line.to_owned(),
            other: "+33388202020".to_owned(),
            called: line.to_owned(),
            direction: Direction::In,
            answered: false,
            setup_at: now_ms - 60_000,
            ringing_ms: 18_000,
            talk_ms: 0,
            callref: "sample-0001".to_owned(),
            replaces: None,
            person: Some(Person {
                name: "Marie Dupont".to_owned(),
                company: "Dupont SA".to_owned(),
                record: "T0001".to_owned(),
            }),
        }
    }
}

/// Whether `<report_when>` takes `call`.
pub fn wanted(spec: &ReportSpec, call: &FinishedCall) -> bool {
    spec.when.value.takes(call.kind())
}

/// The keywords of the report of `call`: the station's, then the call's.
pub fn values(config: &Config, call: &FinishedCall) -> Values {
    let country = &config.global.country.value;
    let national = |id: &str| {
        if id.is_empty() {
            String::new()
        } else {
            crate::number::identity_in(id, NumberFormat::National, country)
        }
    };
    let mut v = crate::dial::values(config);
    v.caller = Some(national(&call.other));
    v.caller_e164 = Some(call.other.clone()).filter(|o| o.starts_with('+'));
    v.caller_tail = Some(crate::names::tail_of(&call.other));
    v.called = Some(national(&call.called));
    v.callref = Some(call.callref.clone());
    let person = call.person.clone().unwrap_or_default();
    v.name = Some(person.name);
    v.company = Some(person.company);
    v.erp_record = Some(person.record);
    let setup = Local
        .timestamp_millis_opt(call.setup_at)
        .single()
        .unwrap_or_else(|| DateTime::<Local>::from(std::time::UNIX_EPOCH));
    let secs = |ms: i64| ((ms.max(0) + 500) / 1000).to_string();
    v.call = vec![
        ("direction", call.direction.as_str().to_owned()),
        ("kind", call.kind().to_owned()),
        ("state", call.state().to_owned()),
        ("line", national(&call.line)),
        ("linee164", call.line.clone()),
        ("setup", setup.to_rfc3339_opts(SecondsFormat::Secs, false)),
        ("setupunix", (call.setup_at.div_euclid(1000)).to_string()),
        ("ringing", secs(call.ringing_ms)),
        ("talk", secs(call.talk_ms)),
        ("replaces", call.replaces.clone().unwrap_or_default()),
        ("reportid", call.report_id()),
    ];
    v
}

/// What the report of `call` would send, secrets masked (`--dry-run`).
pub fn dry_run(config: &Config, call: &FinishedCall) -> Result<String, String> {
    let spec = config
        .report
        .as_ref()
        .ok_or_else(|| "no <report> section".to_owned())?;
    crate::request::build(&spec.request, &values(config, call).masked())
        .map(|r| r.render_masked())
        .map_err(|e| e.diagnostic.message)
}

/// Why a report was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotKept {
    /// Not sent: the request cannot be built (a keyword, a value that
    /// cannot go where it is put). Sending it again will not help.
    Broken(String),
    /// Sent (perhaps), not taken: no answer, an error status, an answer
    /// other than `<success_body>`. Sent again later.
    Refused(String),
}

impl std::fmt::Display for NotKept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotKept::Broken(why) | NotKept::Refused(why) => f.write_str(why),
        }
    }
}

/// Sends the report of `call`; `Ok` only when the answer meets
/// `<success_body>`.
pub async fn send(
    client: &crate::http::HttpClient,
    config: &Config,
    context: &crate::context::Context,
    call: &FinishedCall,
) -> Result<(), NotKept> {
    let Some(spec) = config.report.as_ref() else {
        return Err(NotKept::Broken("no <report> section".to_owned()));
    };
    let values = values(config, call);
    let exchange = crate::provider::Exchange::new(client, config, context);
    let resp = match exchange.send(&spec.request, &values, None).await {
        Ok(done) => done.response,
        Err(crate::provider::ExchangeError::Build(e)) => {
            return Err(NotKept::Broken(e.diagnostic.message))
        }
        Err(crate::provider::ExchangeError::Auth(e)) => return Err(NotKept::Refused(e)),
        Err(crate::provider::ExchangeError::Send(e)) => {
            return Err(NotKept::Refused(e.to_string()))
        }
    };
    if crate::provider::accepted(&spec.request, &resp) {
        Ok(())
    } else {
        Err(NotKept::Refused(format!(
            "HTTP {}: {}",
            resp.status,
            resp.body_start()
        )))
    }
}

/// A desk's reports, for desks without a bridge server: sent by `watch`,
/// one at a time, each tried up to [`DESK_TRIES`] times with back-off.
/// Kept in memory only: what is not taken when `watch` stops is logged as
/// not sent. (The bridge server's outbox, in its journal, survives
/// restarts and crashes.)
pub struct DeskOutbox {
    tx: tokio::sync::mpsc::UnboundedSender<FinishedCall>,
    worker: tokio::task::JoinHandle<()>,
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Tries of a desk's report before it is given up (logged).
pub const DESK_TRIES: u32 = 5;

impl DeskOutbox {
    /// The outbox of `config`'s `<report>`, if it has one.
    pub fn start(
        config: std::sync::Arc<Config>,
        context: &crate::context::Context,
    ) -> Result<Option<DeskOutbox>, String> {
        if config.report.is_none() {
            return Ok(None);
        }
        let client =
            crate::http::HttpClient::new(&crate::http::ClientOptions::one_shot(&config.global))
                .map_err(|e| e.to_string())?;
        let context = context.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<FinishedCall>();
        let waiting = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let left = waiting.clone();
        let worker = tokio::spawn(async move {
            while let Some(call) = rx.recv().await {
                let mut tries = 0;
                loop {
                    tries += 1;
                    match send(&client, &config, &context, &call).await {
                        Ok(()) => break,
                        Err(NotKept::Broken(e)) => {
                            tracing::warn!(
                                "the report of call {} cannot be built: {e}",
                                call.callref
                            );
                            break;
                        }
                        Err(NotKept::Refused(e)) if tries >= DESK_TRIES => {
                            tracing::warn!(
                                "the report of call {} was not taken after {tries} tries ({e}): given up",
                                call.callref
                            );
                            break;
                        }
                        Err(NotKept::Refused(e)) => {
                            tracing::debug!(
                                "report of call {} not taken ({e}): sent again",
                                call.callref
                            );
                            let pause = std::time::Duration::from_secs(1 << (tries - 1).min(5));
                            tokio::time::sleep(pause).await;
                        }
                    }
                }
                left.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        Ok(Some(DeskOutbox {
            tx,
            worker,
            waiting,
        }))
    }

    /// A call ended: its report goes out (if `<report_when>` takes it).
    pub fn push(&self, call: FinishedCall) {
        self.waiting
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.tx.send(call).is_err() {
            self.waiting
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// `watch` stops: what is queued is sent for at most `grace`; the rest
    /// is logged as not sent.
    pub async fn finish(self, grace: std::time::Duration) {
        let DeskOutbox {
            tx,
            mut worker,
            waiting,
        } = self;
        drop(tx);
        if tokio::time::timeout(grace, &mut worker).await.is_err() {
            worker.abort();
            let n = waiting.load(std::sync::atomic::Ordering::SeqCst);
            if n > 0 {
                tracing::warn!(
                    "{n} call report(s) not sent: watch stopped first (a bridge server's <report> keeps them across restarts)"
                );
            }
        }
    }
}

/// A call `watch` saw end, as its report tells it; `line` is the desk's
/// line (its one identity).
pub fn finished_from_event(
    ev: &crate::events::call::CallEvent,
    line: &str,
    country: &str,
) -> FinishedCall {
    let id = |n: &Option<String>| {
        n.as_deref()
            .map(|n| crate::number::identity(n, country).unwrap_or_else(|_| n.to_owned()))
            .unwrap_or_default()
    };
    let direction = ev.direction.unwrap_or(Direction::In);
    let (other, called) = (id(direction.other(&ev.caller, &ev.callee)), id(&ev.callee));
    let ms = |t: Option<DateTime<Local>>| t.map_or(0, |t| t.timestamp_millis());
    FinishedCall {
        line: line.to_owned(),
        other,
        called,
        direction,
        answered: ev.connect_at.is_some(),
        setup_at: ms(ev.setup_at.or(Some(ev.when()))),
        ringing_ms: ev.ringing_ms.map_or(0, |m| m as i64),
        talk_ms: ev.talk_ms.map_or(0, |m| m as i64),
        callref: ev
            .call_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", other_digits(&ev.caller), ms(Some(ev.when())))),
        replaces: None,
        person: ev.person.clone(),
    }
}

fn other_digits(n: &Option<String>) -> String {
    n.as_deref()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}
