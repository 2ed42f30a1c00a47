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
