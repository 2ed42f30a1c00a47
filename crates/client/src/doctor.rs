//! `ctibridge doctor`, the provider side: what can be checked without
//! placing a call — the certificates of the HTTPS servers, the token, one
//! poll of the event source, the OVH keys and clock, a Digest challenge
//! answered on a request that places nothing. One [`Check`] per line.

use std::time::Duration;

use crate::config::{Auth, Config, RequestSpec};
use crate::context::Context;
use crate::diag::excerpt;
use crate::events::watch::{Fault, Probe};
use crate::failure::Failure;
use crate::http::{ClientOptions, HttpClient, HttpResponse, SendError};
use crate::provider::{auth, Exchange};
use crate::request::{self, HttpRequest};
use crate::source::Span;
use crate::template::Values;
use crate::token::{self, TokenStore};

/// How long `doctor` waits for the event source: a long poll held this
/// long has been accepted.
pub const EVENTS_LIMIT: Duration = Duration::from_secs(3);
/// A certificate that expires sooner is a warning.
pub const CERT_WARN_DAYS: i64 = 14;
/// A clock further off than this from OVH's is a warning.
pub(crate) const CLOCK_WARN_SECS: i64 = 60;

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// In place, but something needs attention soon.
    Warn,
    /// Not checked (and why is the detail).
    Skip,
    /// Not in place, and of which kind (the command's exit code).
    Fail(Failing),
}

/// What kind of thing is not in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failing {
    /// The files (or a file they name).
    Config,
    /// The machine: a file or folder it cannot write, an address in use.
    System,
    /// A server cannot be reached.
    Network,
    /// A server refused the credentials.
    Refused,
}

impl Failing {
    fn of(f: &Failure) -> Failing {
        match f {
            Failure::Config(_) | Failure::BadNumber(_) => Failing::Config,
            Failure::Network(_) => Failing::Network,
            Failure::Refused(_) => Failing::Refused,
        }
    }
}

/// One line of `doctor`.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do, for a failure or a warning.
    pub todo: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            todo: None,
        }
    }

    pub fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            status: Status::Skip,
            ..Check::ok(name, detail)
        }
    }

    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        todo: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Warn,
            todo: Some(todo.into()),
            ..Check::ok(name, detail)
        }
    }

    pub fn fail(
        name: impl Into<String>,
        failing: Failing,
        detail: impl Into<String>,
        todo: impl Into<String>,
    ) -> Check {
        Check {
            status: Status::Fail(failing),
            todo: Some(todo.into()),
            ..Check::ok(name, detail)
        }
    }
}

/// The first failure of a set of checks, if any.
pub fn first_failure(checks: &[Check]) -> Option<Failing> {
    checks.iter().find_map(|c| match c.status {
        Status::Fail(e) => Some(e),
        _ => None,
    })
}

/// What to check of a param file's provider.
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    /// The token request (when a request sends `$token$`).
    pub token: bool,
    /// One poll of the event source.
    pub events: bool,
    /// The credentials of the dial request.
    pub dial: bool,
}

/// The checks of `config`'s provider, in order: HTTPS certificates, token,
/// events, the dial request's credentials.
pub async fn provider(
    config: &Config,
    context: &Context,
    fallback: Span,
    scope: Scope,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let client = match crate::dial::client(config, fallback) {
        Ok(c) => c,
        Err(f) => {
            checks.push(Check::fail(
                "https",
                Failing::Config,
                failure_text(&f),
                "set <cafile> to a readable PEM file of the authority that signed the server's certificate",
            ));
            return checks;
        }
    };
    let values = probe_values(config);
    for origin in https_origins(config, &values, scope) {
        checks.push(certificate(config, &origin, context.clock().unix_secs()).await);
    }
    let token_spec = config.token.as_ref().filter(|_| {
        (scope.events
            && config.event.is_some()
            && config.sends("token", crate::schema::Section::Event))
            || (scope.dial
                && config.dial.is_some()
                && config.sends("token", crate::schema::Section::Dial))
    });
    // How the token check went, when it ran: a dial that sends the token
    // is only as good as it.
    let mut token_status = None;
    if scope.token {
        if let Some(spec) = token_spec {
            let check = token_check(config, context, &client, spec, fallback).await;
            token_status = Some(check.status);
            checks.push(check);
        }
    }
    if scope.events {
        checks.push(match &config.event {
            None => Check::skip(
                "events",
                "no event source (<cliktocallevent> has no <with_event>1): no screen pop",
            ),
            Some(_) => events_check(config, context, fallback).await,
        });
    }
    if scope.dial {
        // The token check stands for the dial's credentials only when the
        // dial itself sends the token.
        let dial_sends_token = (token_spec.is_some()
            && config.sends("token", crate::schema::Section::Dial))
        .then_some(token_status);
        checks.extend(dial_checks(config, context, &client, &values, dial_sends_token).await);
    }
    checks
}

/// The values of a request that places nothing: no number, empty
/// runtime values (a token fetched by the check that needs it).
fn probe_values(config: &Config) -> Values {
    let mut v = crate::dial::values(config);
    v.teldest = Some(String::new());
    v.token.get_or_insert_with(Default::default);
    v.session.get_or_insert_with(String::new);
    v.event = Some("DIAL".to_owned());
    v
}

/// The distinct `https://host:port` the checked requests go to.
fn https_origins(config: &Config, values: &Values, scope: Scope) -> Vec<String> {
    let mut specs: Vec<&RequestSpec> = Vec::new();
    if scope.token {
        specs.extend(config.token.as_ref().map(|t| &t.request));
    }
    if scope.events {
        specs.extend(config.event.as_ref().map(|e| &e.request));
    }
    if scope.dial {
        specs.extend(config.dial.as_ref());
    }
    let mut origins: Vec<String> = Vec::new();
    for spec in specs {
        let Ok(req) = request::build(spec, values) else {
            continue;
        };
        let Ok(url) = url::Url::parse(&req.url) else {
            continue;
        };
        if url.scheme() != "https" {
            continue;
        }
        let origin = url.origin().ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    origins
}

/// The certificate `origin` shows is trusted (with `<cafile>`), and how
/// long it is valid.
async fn certificate(config: &Config, origin: &str, now: i64) -> Check {
    let host = origin.trim_start_matches("https://");
    let name = format!("https {host}");
    let mut opts = ClientOptions::one_shot(&config.global);
    opts.timeout = Duration::from_secs(10);
    let cafile = &config.global.cafile.value;
    match crate::http::peer_certificate(&opts, &format!("{origin}/")).await {
        Ok(Some(der)) if !config.global.insecure.value => {
            match not_after(&der) {
                Some((until, secs)) => {
                    let days = (secs - now).div_euclid(86_400);
                    let detail = format!("certificate trusted, valid until {until} ({days} days)");
                    if days < CERT_WARN_DAYS {
                        Check::warn(name, detail, "renew the server's certificate before it expires")
                    } else {
                        Check::ok(name, detail)
                    }
                }
                None => Check::ok(name, "certificate trusted"),
            }
        }
        Ok(_) if config.global.insecure.value => Check::warn(
            name,
            "connected, certificate not verified (<insecure>1)",
            "give <cafile> the authority of the server's certificate and remove <insecure>1",
        ),
        Ok(_) => Check::ok(name, "connected"),
        Err(SendError::Setup(e)) => Check::fail(
            name,
            Failing::Config,
            e,
            "set <cafile> to a readable PEM file of the authority that signed the server's certificate",
        ),
        Err(e) => {
            let text = e.to_string();
            let tls = text.contains("certificate") || text.contains("Certificate") || text.contains("tls");
            let todo = if !tls {
                format!("check that {host} is the right address and that the server runs")
            } else if cafile.is_empty() {
                "if the server's certificate comes from your own authority, set <cafile> to that authority's PEM file".to_owned()
            } else {
                format!("check that <cafile> ({cafile}) holds the authority that signed the server's certificate, and that the certificate names {host}")
            };
            Check::fail(name, Failing::Network, text, todo)
        }
    }
}

/// The end of a certificate's validity: as a date, and in unix seconds.
fn not_after(der: &[u8]) -> Option<(String, i64)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let t = cert.validity().not_after;
    let secs = t.timestamp();
    let date = chrono::DateTime::from_timestamp(secs, 0)?
        .format("%Y-%m-%d")
        .to_string();
    Some((date, secs))
}

async fn token_check(
    config: &Config,
    context: &Context,
    client: &HttpClient,
    spec: &crate::config::TokenSpec,
    fallback: Span,
) -> Check {
    let values = crate::dial::values(config);
    let key = TokenStore::key(&spec.request.url.value.text, &values);
    // A fresh one, not the one kept: the credentials are what is checked.
    match token::obtain(
        &context.tokens(),
        &key,
        client,
        spec,
        &values,
        fallback,
        true,
    )
    .await
    {
        Ok(_) => Check::ok("token", "the token request gave a token"),
        Err(f) => {
            let todo = match &f {
                Failure::Refused(_) => "check the credentials the token request sends: on a bridge server, the station's <ident> and <event_token> must be a <desk>'s ident and secret of its server_param.txt".to_owned(),
                Failure::Network(_) => "check the token <url> and that its server runs".to_owned(),
                _ => "fix the token section; `ctibridge check` shows the line".to_owned(),
            };
            Check::fail("token", Failing::of(&f), failure_text(&f), todo)
        }
    }
}

async fn events_check(config: &Config, context: &Context, fallback: Span) -> Check {
    let todo_refused = "check the credentials the event source takes: the station's <ident> and <event_token> (a <desk>'s ident and secret on a bridge server), or <user>/<mdp>";
    match crate::events::watch::probe(context, config, fallback, EVENTS_LIMIT).await {
        Probe::Answered(0) => Check::ok("events", "the event source answered (no event waiting)"),
        Probe::Answered(n) => Check::ok("events", format!("the event source answered with {n} event(s)")),
        Probe::Held(d) => Check::ok(
            "events",
            format!("the event source held the poll open for {} s, as a long poll waiting for a call does", d.as_secs()),
        ),
        Probe::Broken(f) => Check::fail(
            "events",
            Failing::of(&f),
            failure_text(&f),
            "fix the event section; `ctibridge check` shows the line",
        ),
        Probe::Failed(fault) => {
            let (exit, todo) = match &fault {
                Fault::Status(401 | 403, _) | Fault::Token(_, true) => (Failing::Refused, todo_refused.to_owned()),
                Fault::Status(404, _) => (Failing::Refused, "check the event <url> (and <events_url>): the server has no such page".to_owned()),
                Fault::Status(..) => (Failing::Refused, "see the server's answer above".to_owned()),
                Fault::Garbage(_) => (Failing::Config, "the answer is not what the event section reads: check <type_return> and the <json_…>/<xml_…> fields".to_owned()),
                Fault::NoAnswer => (Failing::Network, "raise <timeout3> above the time the source holds a poll".to_owned()),
                _ => (Failing::Network, "check the event <url> and that its server runs".to_owned()),
            };
            Check::fail("events", exit, fault.to_string(), todo)
        }
    }
}

async fn dial_checks(
    config: &Config,
    context: &Context,
    client: &HttpClient,
    values: &Values,
    sends_token: Option<Option<Status>>,
) -> Vec<Check> {
    let Some(spec) = &config.dial else {
        return vec![match &config.callto {
            Some(_) => Check::skip(
                "dial",
                "calls are placed by the <callto> program: nothing to check before a call",
            ),
            None => Check::fail(
                "dial",
                Failing::Config,
                "this file can place no call",
                "add a <cliktocalldial> section, or a <provider>",
            ),
        }];
    };
    match spec.auth.value {
        Auth::Ovh => ovh_checks(config, context, client, spec, values).await,
        Auth::Digest => vec![digest_check(config, context, client, spec, values).await],
        Auth::Basic => vec![Check::skip(
            "dial",
            "basic authentication: no request checks the password without placing a call",
        )],
        Auth::None => match sends_token {
            Some(Some(Status::Fail(failing))) => vec![Check::fail(
                "dial",
                failing,
                "a dial sends the token, which could not be had (above): a dial would fail the same way",
                "fix the token first",
            )],
            Some(Some(_)) => vec![Check::ok("dial", "a dial sends the token checked above")],
            Some(None) => vec![Check::skip("dial", "a dial sends the token, not checked here")],
            None => vec![Check::skip(
                "dial",
                "the dial request carries no credentials to check",
            )],
        },
    }
}

async fn ovh_checks(
    config: &Config,
    context: &Context,
    client: &HttpClient,
    spec: &RequestSpec,
    values: &Values,
) -> Vec<Check> {
    let api = config.global.api_url.value.trim_end_matches('/');
    let offset = match crate::provider::ovh::fetch_offset(client, api, context).await {
        Ok(o) => o,
        Err(e) => {
            return vec![Check::fail(
                "ovh-time",
                Failing::Network,
                e,
                format!("check <api_url> ({api}) and that this machine reaches it"),
            )]
        }
    };
    let mut checks = Vec::new();
    let side = match offset {
        0 => "the same as this machine's".to_owned(),
        o if o > 0 => format!("{o} s ahead of this machine's"),
        o => format!("{} s behind this machine's", -o),
    };
    let detail = format!("OVH's clock is {side}; requests are signed with OVH's time");
    checks.push(if offset.abs() > CLOCK_WARN_SECS {
        Check::warn(
            "ovh-time",
            detail,
            "set this machine's clock (NTP): other services will not correct it",
        )
    } else {
        Check::ok("ovh-time", detail)
    });
    let st = &config.station;
    if st.app_key.value.is_empty()
        || st.app_secret.value.expose().is_empty()
        || st.consumer_key.value.expose().is_empty()
    {
        checks.push(Check::fail(
            "ovh-keys",
            Failing::Config,
            "<app_key>, <app_secret> and <consumer_key> are not all set",
            "create the keys (docs/deployments.md says how) and set them in the station settings",
        ));
        return checks;
    }
    let mut req = HttpRequest {
        method: crate::config::Method::Get,
        url: format!("{api}/auth/currentCredential"),
        headers: Vec::new(),
        body: None,
        url_span: None,
    };
    let keys = auth::OvhKeys {
        app_key: &st.app_key.value,
        app_secret: st.app_secret.value.expose(),
        consumer_key: st.consumer_key.value.expose(),
    };
    auth::ovh_sign(&mut req, &keys, context.clock().unix_secs() + offset);
    let resp = match client.send(&req).await {
        Ok(r) => r,
        Err(e) => {
            checks.push(Check::fail(
                "ovh-keys",
                Failing::Network,
                format!("GET /auth/currentCredential: {e}"),
                "check that this machine reaches the OVH API",
            ));
            return checks;
        }
    };
    if !resp.is_success() {
        checks.push(Check::fail(
            "ovh-keys",
            Failing::Refused,
            format!("the OVH API refused the keys: HTTP {}: {}", resp.status, ovh_message(&resp)),
            "check <app_key>, <app_secret> and <consumer_key>; a consumer key must have been validated (its validation URL opened and accepted) and not expired",
        ));
        return checks;
    }
    let cred: serde_json::Value = serde_json::from_str(&resp.body).unwrap_or_default();
    let status = cred["status"].as_str().unwrap_or("");
    if !status.is_empty() && status != "validated" {
        checks.push(Check::fail(
            "ovh-keys",
            Failing::Refused,
            format!("the consumer key is {status}, not validated"),
            "open the consumer key's validation URL and accept it, or create a new one",
        ));
        return checks;
    }
    let path = request::build(spec, values).ok().and_then(|r| {
        r.url
            .strip_prefix(api)
            .map(|p| p.split('?').next().unwrap_or(p).to_owned())
    });
    let method = spec.method.value.as_str();
    let allowed = match (&path, cred["rules"].as_array()) {
        (Some(p), Some(rules)) => Some(rules.iter().any(|r| {
            r["method"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case(method))
                && r["path"].as_str().is_some_and(|pat| rule_matches(pat, p))
        })),
        _ => None,
    };
    match (allowed, &path) {
        (Some(false), Some(p)) => checks.push(Check::fail(
            "ovh-keys",
            Failing::Refused,
            format!("the keys are accepted, but their rules do not allow {method} {p}"),
            format!(
                "create a consumer key whose rules include {method} {p} (or {method} /telephony/*)"
            ),
        )),
        (Some(true), Some(p)) => checks.push(keys_ok(
            &cred,
            context.clock().unix_secs(),
            format!("the keys are accepted and allow {method} {p}"),
        )),
        _ => checks.push(keys_ok(
            &cred,
            context.clock().unix_secs(),
            "the keys are accepted".to_owned(),
        )),
    }
    checks
}

/// "Accepted", or a warning when the consumer key expires soon.
fn keys_ok(cred: &serde_json::Value, now: i64, detail: String) -> Check {
    let expires = cred["expiration"]
        .as_str()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok());
    match expires {
        Some(at) => {
            let days = (at.timestamp() - now).div_euclid(86_400);
            let detail = format!(
                "{detail}; the consumer key expires on {} ({days} days)",
                at.format("%Y-%m-%d")
            );
            if days < CERT_WARN_DAYS {
                Check::warn(
                    "ovh-keys",
                    detail,
                    "create a new consumer key before this one expires",
                )
            } else {
                Check::ok("ovh-keys", detail)
            }
        }
        None => Check::ok("ovh-keys", detail),
    }
}

/// An OVH access rule's path (`*` matches anything) against a path.
fn rule_matches(pattern: &str, path: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    let Some(mut left) = path.strip_prefix(first) else {
        return false;
    };
    if rest.is_empty() {
        return left.is_empty();
    }
    for (i, part) in rest.iter().enumerate() {
        if i == rest.len() - 1 {
            return left.ends_with(part);
        }
        match left.find(part) {
            Some(at) => left = &left[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The `message` of an OVH error answer, or its start.
fn ovh_message(resp: &HttpResponse) -> String {
    serde_json::from_str::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| resp.body_start())
}

/// The dial request with no number, to see the provider's Digest challenge
/// answered: a dial with nothing to call places nothing.
async fn digest_check(
    config: &Config,
    context: &Context,
    client: &HttpClient,
    spec: &RequestSpec,
    values: &Values,
) -> Check {
    let name = "digest";
    let mut req = match request::build(spec, values) {
        Ok(r) => r,
        Err(e) => {
            return Check::fail(
                name,
                Failing::Config,
                e.diagnostic.message,
                "fix the dial section; `ctibridge check` shows the line",
            )
        }
    };
    let exchange = Exchange::new(client, config, context);
    let first = match client.send(&req).await {
        Ok(r) => r,
        Err(e) => {
            return Check::fail(
                name,
                Failing::Network,
                e.to_string(),
                "check the dial <url> (and <api_url>) and that this machine reaches it",
            )
        }
    };
    if first.status != 401 {
        return Check::ok(
            name,
            format!("no challenge: the provider trusts this computer's address (to a dial with no number, which places nothing, it answered HTTP {} \"{}\")", first.status, excerpt(&first.body, 80)),
        );
    }
    let st = &config.station;
    if st.user.value.is_empty() {
        return Check::fail(
            name,
            Failing::Refused,
            "the provider asks for Digest credentials and <user> is empty",
            "set <user> (for Keyyo: the line in international form, 33…) and <mdp> (its SIP password) in the station settings, or allow this computer's address in the provider's manager",
        );
    }
    let header = match auth::digest(&req, &first.www_authenticate, &st.user.value, st.mdp.value.expose()) {
        Ok(h) => h,
        Err(e) => return Check::fail(name, Failing::Refused, e, "the provider's challenge is not one ctibridge answers (Digest MD5 or SHA-256, qop=auth)"),
    };
    req.headers.push(("Authorization".to_owned(), header));
    exchange.pace(spec, values, 0).await;
    match client.send(&req).await {
        Ok(r) if r.status == 401 => Check::fail(
            name,
            Failing::Refused,
            format!("the credentials were refused after the Digest answer: {}", excerpt(&r.body, 80)),
            "check <user> and <mdp> of the station: for Keyyo, <user> is the line in international form (33…) and <mdp> its SIP password",
        ),
        Ok(r) => Check::ok(
            name,
            format!("the Digest challenge was answered and the credentials accepted (to a dial with no number, which places nothing, the provider answered HTTP {} \"{}\")", r.status, excerpt(&r.body, 80)),
        ),
        Err(e) => Check::fail(name, Failing::Network, e.to_string(), "check that this machine reaches the provider"),
    }
}

/// A failure's message and help on one line.
fn failure_text(f: &Failure) -> String {
    let one = |d: &crate::diag::Diagnostic| match &d.help {
        Some(h) => format!("{} ({h})", d.message),
        None => d.message.clone(),
    };
    match f {
        Failure::Config(ds) => ds.iter().map(one).collect::<Vec<_>>().join("; "),
        Failure::Network(d) | Failure::Refused(d) => one(d),
        Failure::BadNumber(e) => e.to_string(),
    }
}

/// The number `doctor` looks up: whoever it is (or nobody), the ERP's
/// answer says the request works.
pub const SAMPLE_CALLER: &str = "+33388202020";

/// The checks of `config`'s ERP sections: `<lookup>` asked once for a
/// sample number (or its directory read), `<report>` named but not sent
/// (it would write a call into the ERP).
pub async fn erp(config: &std::sync::Arc<Config>, context: &Context, fallback: Span) -> Vec<Check> {
    let mut checks = Vec::new();
    if config.lookup.is_some() {
        checks.push(lookup_check(config, context, fallback).await);
    }
    if config.report.is_some() {
        checks.push(Check::skip(
            "report",
            "not sent by doctor: it would write a call into the ERP",
        ));
    }
    checks
}

async fn lookup_check(config: &std::sync::Arc<Config>, context: &Context, fallback: Span) -> Check {
    let (lookup, problems) = match crate::names::Lookup::new(config.clone(), context, fallback) {
        Ok(Some(l)) => l,
        Ok(None) => return Check::skip("lookup", "no <lookup>"),
        Err(f) => {
            return Check::fail(
                "lookup",
                Failing::Config,
                failure_text(&f),
                "check <directory>: a readable CSV or vCard file",
            )
        }
    };
    if let Some(people) = lookup.size() {
        return match problems.first() {
            None => Check::ok("lookup", format!("{people} people in the directory")),
            Some(p) => Check::warn(
                "lookup",
                format!(
                    "{people} people in the directory; {} line(s) skipped, the first: line {}: {}",
                    problems.len(),
                    p.line,
                    p.message
                ),
                "`ctibridge lookup NUMBER` names each line it skips; fix them in the file",
            ),
        };
    }
    let started = std::time::Instant::now();
    let found = lookup.find(SAMPLE_CALLER).await;
    let ms = started.elapsed().as_millis();
    match found {
        Ok(found) => {
            let who = match found {
                crate::names::Found::Known(p) => p.display(),
                crate::names::Found::Unknown => "an unknown caller".to_owned(),
            };
            Check::ok(
                "lookup",
                format!("the ERP answered in {ms} ms ({SAMPLE_CALLER}: {who})"),
            )
        }
        Err(why) => {
            let refused = why.starts_with("HTTP 401") || why.starts_with("HTTP 403");
            let (failing, todo) = if refused {
                (
                    Failing::Refused,
                    "check the credentials the <lookup> request sends (<headers>, <auth>)",
                )
            } else {
                (
                    Failing::Network,
                    "check the <url> of <lookup> and that the ERP answers within <lookup_timeout> (`ctibridge lookup NUMBER` shows the request and its time)",
                )
            };
            Check::fail("lookup", failing, format!("{SAMPLE_CALLER}: {why}"), todo)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rule_matches;

    #[test]
    fn ovh_rules_match_with_stars() {
        let p = "/telephony/ab1/line/0033972101010/click2Call";
        assert!(rule_matches("/*", p));
        assert!(rule_matches("/telephony/*", p));
        assert!(rule_matches("/telephony/*/line/*/click2Call", p));
        assert!(rule_matches(p, p));
        assert!(!rule_matches("/telephony/*/line/*/click2CallUser", p));
        assert!(!rule_matches("/me", p));
        assert!(!rule_matches("/telephony", p));
    }
}
