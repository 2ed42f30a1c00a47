//! Placing a call through the configured interface: the web request of
//! `<cliktocalldial>` (with its token), or the command of `<callto>`.

use crate::config::{CalltoSpec, Config, Interface, Launch, NumberFormat, RequestSpec, Template};
use crate::diag::{Code, Diagnostic};
use crate::http::{ClientOptions, HttpClient, SendError};
use crate::number::{format_number, parse_target, NumberError};
use crate::param::scan_keywords;
use crate::provider::{self, Exchange, ExchangeError, Exchanged};
use crate::request;
use crate::source::Span;
use crate::template::{expand, Place, Values};
use crate::token::{self, TokenStore};

use crate::config::Secret;
use crate::context::Context;
use crate::failure::Failure;

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct DialRequest {
    /// The number or URI as given.
    pub target: String,
    /// `--dry-run`: print what would be sent, send nothing.
    pub dry_run: bool,
    /// `--name`: the callee's name (`$name$`).
    pub name: Option<String>,
    /// `--from`: the number rung first (`$from$`).
    pub from: Option<String>,
    /// `--record` (`$record$`).
    pub record: bool,
}

/// What happened.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The provider accepted the call (HTTP status).
    Placed { status: u16 },
    /// The `<callto>` command was started.
    Launched { program: String },
    /// `--dry-run`: the exact requests or command, secrets masked.
    DryRun(String),
}

/// The number as the provider gets it in `$teldest$`: put in the form of
/// `<number_format>`, then the outside-line prefix for the forms a PABX
/// dials (as dialled, national). A `+` number gets no prefix: it already
/// says how to get out.
pub fn teldest(config: &Config, target: &str) -> Result<String, NumberError> {
    let t = parse_target(target)?;
    if let Some(ext) = &t.extension {
        tracing::info!("extension {ext} is not dialled: dial it once the call is answered");
    }
    let format = config.global.number_format.value;
    let number = format_number(&t.number, format, &config.global.country.value)?;
    let takes_prefix = matches!(format, NumberFormat::AsDialled | NumberFormat::National)
        && !number.starts_with('+');
    if takes_prefix {
        Ok(format!("{}{number}", config.station.prefix.value))
    } else {
        Ok(number)
    }
}

/// The values of `config` for its requests: the station's, the base
/// addresses of `<global>`, and the station's line (`$telorg$`) put in
/// `<number_format>` like the numbers it dials; one that cannot be read
/// stays as written (`dial` refuses it, at its line of the file).
pub fn values(config: &Config) -> Values {
    let written = &config.station.telorg.value;
    let g = &config.global;
    let telorg = crate::number::line_in(written, g.number_format.value, &g.country.value)
        .unwrap_or_else(|_| written.clone());
    Values::from_config(config, telorg)
}

/// The station's own line (`<telorg>`) in `<number_format>`, as the
/// provider gets it in `$telorg$`: a line that cannot be read as a number
/// is refused at its line of the file, before anything is sent.
pub(crate) fn station_line(config: &Config) -> Result<String, Failure> {
    let telorg = &config.station.telorg;
    let g = &config.global;
    crate::number::line_in(&telorg.value, g.number_format.value, &g.country.value).map_err(|e| {
        match telorg.span() {
            Some(at) => Failure::Config(vec![Diagnostic::error(
                Code::BadTelorg,
                at,
                format!("this station's line cannot be dialled from: {e}"),
            )]),
            None => Failure::BadNumber(e),
        }
    })
}

/// The one HTTP client with the `<cafile>`/`<insecure>` of `config`; a
/// bad `<cafile>` is reported at its line.
pub(crate) fn client(config: &Config, fallback: Span) -> Result<HttpClient, Failure> {
    HttpClient::new(&ClientOptions::one_shot(&config.global)).map_err(|e| {
        Failure::Config(vec![Diagnostic::error(
            Code::HttpSetup,
            config.global.cafile.span().unwrap_or(fallback),
            e.to_string(),
        )])
    })
}

/// Places the call. `fallback` is where problems with no line of their own
/// are reported (the param file).
/// `context` gives the cache folder (tokens, the shared pace).
pub async fn dial(
    context: &Context,
    config: &Config,
    req: &DialRequest,
    fallback: Span,
) -> Result<Outcome, Failure> {
    let number = teldest(config, &req.target).map_err(Failure::BadNumber)?;
    station_line(config)?;
    let calls = Calls {
        context,
        client: None,
    };
    dial_with(config, calls, values(config), number, req, fallback).await
}

/// What places the calls of many lines through one configuration: its
/// HTTP client is built once (the bridge server's, for `setevent`), and
/// each call names the line it is placed from.
pub struct Dialer {
    config: std::sync::Arc<Config>,
    client: HttpClient,
    context: Context,
}

impl Dialer {
    /// The dialer of `config`; a bad `<cafile>` is reported at its line.
    pub fn new(config: std::sync::Arc<Config>, context: Context) -> Result<Dialer, Failure> {
        let fallback = Span::first_file();
        let client = client(&config, fallback)?;
        Ok(Dialer {
            config,
            client,
            context,
        })
    }

    /// Places the call of `req` from `line` (any form a number is written
    /// in: the provider gets it in `<number_format>`).
    pub async fn dial(&self, line: &str, req: &DialRequest) -> Result<Outcome, Failure> {
        let c = &self.config;
        let number = teldest(c, &req.target).map_err(Failure::BadNumber)?;
        let telorg =
            crate::number::line_in(line, c.global.number_format.value, &c.global.country.value)
                .map_err(Failure::BadNumber)?;
        let fallback = Span::first_file();
        let calls = Calls {
            context: &self.context,
            client: Some(&self.client),
        };
        dial_with(
            c,
            calls,
            Values::from_config(c, telorg),
            number,
            req,
            fallback,
        )
        .await
    }
}

/// Places the call to `number` (`$teldest$`) with the station's `values`,
/// through `client` (else one built for this call).
/// What a call is placed with: the context, and a client built before
/// (else one is built for this call).
#[derive(Clone, Copy)]
struct Calls<'a> {
    context: &'a Context,
    client: Option<&'a HttpClient>,
}

async fn dial_with(
    config: &Config,
    client: Calls<'_>,
    mut values: Values,
    number: String,
    req: &DialRequest,
    fallback: Span,
) -> Result<Outcome, Failure> {
    values.teldest = Some(number);
    values.event = Some("DIAL".to_owned());
    values.name = req.name.clone();
    values.record = req.record;
    if let Some(from) = &req.from {
        // The number rung first is dialled like the callee.
        values.from = Some(teldest(config, from).map_err(Failure::BadNumber)?);
    }
    match config.interface.value {
        Interface::Callto => {
            let callto = config
                .callto
                .as_ref()
                .ok_or_else(|| no_interface(fallback))?;
            callto_launch(client.context, callto, &values, req.dry_run)
        }
        Interface::ClickToCall => web_dial(config, client, values, req.dry_run, fallback).await,
    }
}

fn no_interface(at: Span) -> Failure {
    Failure::Config(vec![Diagnostic::error(
        Code::NoInterface,
        at,
        "this file can place no call",
    )])
}

async fn web_dial(
    config: &Config,
    calls: Calls<'_>,
    mut values: Values,
    dry_run: bool,
    fallback: Span,
) -> Result<Outcome, Failure> {
    let spec = config.dial.as_ref().ok_or_else(|| no_interface(fallback))?;
    let config_err = |e: crate::template::ExpandError| Failure::Config(vec![e.diagnostic]);
    // The token is fetched only when the dial request sends it.
    let token_spec = config
        .token
        .as_ref()
        .filter(|_| config.sends("token", crate::schema::Section::Dial));
    if dry_run {
        let mut out = String::new();
        let mut shown = values.masked();
        if let Some(t) = token_spec {
            out.push_str(
                &request::build(&t.request, &shown)
                    .map_err(config_err)?
                    .render_masked(),
            );
            out.push('\n');
            shown.token = Some(Secret::default());
        }
        out.push_str(
            &request::build(spec, &shown)
                .map_err(config_err)?
                .render_masked(),
        );
        out.push_str(&rules_note(spec));
        return Ok(Outcome::DryRun(out));
    }
    let built;
    let client = match calls.client {
        Some(c) => c,
        None => {
            built = self::client(config, fallback)?;
            &built
        }
    };
    let store = calls.context.tokens();
    let mut from_cache = false;
    let mut key = None;
    if let Some(t) = token_spec {
        let k = TokenStore::key(&t.request.url.value.text, &values);
        let (token, obtained) =
            token::obtain(&store, &k, client, t, &values, fallback, false).await?;
        from_cache = obtained == token::Obtained::Cached;
        values.token = Some(token);
        key = Some(k);
    }
    let exchange = Exchange::new(client, config, calls.context);
    let mut done = send_request(&exchange, spec, &values, "call", fallback).await?;
    if matches!(done.response.status, 401 | 403) && from_cache {
        // The cached token is stale; the call was refused, not placed.
        let (Some(t), Some(k)) = (token_spec, &key) else {
            unreachable!("a cached token has a spec and a key")
        };
        tracing::info!(
            status = done.response.status,
            "token refused: fetching a new one"
        );
        let (token, _) = token::obtain(&store, k, client, t, &values, fallback, true).await?;
        values.token = Some(token);
        done = send_request(&exchange, spec, &values, "call", fallback).await?;
    }
    judge(spec, config, &done, "call", fallback)
}

/// What `--dry-run` cannot show as headers: the provider rules applied
/// when the request is sent.
fn rules_note(spec: &RequestSpec) -> String {
    use crate::config::Auth;
    let mut notes = Vec::new();
    match spec.auth.value {
        Auth::None => {}
        Auth::Basic => notes.push("Authorization: Basic ******** is added (<auth>basic)".to_owned()),
        Auth::Digest => notes.push(
            "Digest credentials of <user> answer the server's 401 challenge (<auth>digest)".to_owned(),
        ),
        Auth::Ovh => notes.push(
            "X-Ovh-Application, X-Ovh-Consumer, X-Ovh-Timestamp and X-Ovh-Signature are added (<auth>ovh)"
                .to_owned(),
        ),
    }
    if !spec.min_interval.value.is_zero() {
        notes.push(format!(
            "at most one request every {:?} for this line (<min_interval>)",
            spec.min_interval.value
        ));
    }
    if !spec.retry_body.value.is_empty() {
        notes.push(format!(
            "an answer holding \"{}\" is sent again, at most {} times (<retry_body>)",
            spec.retry_body.value.join("\" or \""),
            provider::MAX_RETRIES
        ));
    }
    if !spec.success_body.value.is_empty() {
        notes.push(format!(
            "success is the answer `{}` (<success_body>)",
            spec.success_body.value
        ));
    }
    notes.iter().map(|n| format!("# {n}\n")).collect()
}

/// The words of a message about a request: "call", "message", "profile change".
type What = &'static str;

/// Sends a request under its section's rules, errors in the user's terms.
async fn send_request(
    exchange: &Exchange<'_>,
    spec: &RequestSpec,
    values: &Values,
    what: What,
    fallback: Span,
) -> Result<Exchanged, Failure> {
    let at = spec.url.span().unwrap_or(fallback);
    exchange
        .send(spec, values, None)
        .await
        .map_err(|e| match e {
            ExchangeError::Build(e) => Failure::Config(vec![e.diagnostic]),
            ExchangeError::Auth(msg) => Failure::Refused(
                Diagnostic::error(Code::AuthFailed, spec.auth.span().unwrap_or(at), msg)
                    .with_help(format!("the {what} was not made")),
            ),
            ExchangeError::Send(e) => {
                let step = crate::http::next_step(&e, &spec.url.value.text);
                let help = if let Some(step) = step {
                    format!("nothing was sent: the {what} was not made; {step}")
                } else if e.nothing_sent() {
                    format!("nothing was sent: the {what} was not made")
                } else {
                    format!("the request left: the {what} may or may not have been made, so it was not sent again")
                };
                let code = if matches!(e, SendError::Setup(_)) {
                    Code::HttpSetup
                } else {
                    Code::DialUnreachable
                };
                Failure::Network(
                    Diagnostic::error(code, at, format!("the request failed: {e}")).with_help(help),
                )
            }
        })
}

/// Success by the section's rules, or the refusal in the user's terms.
fn judge(
    spec: &RequestSpec,
    config: &Config,
    done: &Exchanged,
    what: What,
    fallback: Span,
) -> Result<Outcome, Failure> {
    let resp = &done.response;
    let at = spec.url.span().unwrap_or(fallback);
    if provider::accepted(spec, resp) {
        return Ok(Outcome::Placed {
            status: resp.status,
        });
    }
    let answered = format!("the server answered: {}", resp.body_start());
    let d = if provider::is_retry_safe(spec, resp) {
        Diagnostic::error(
            Code::ComeBackLater,
            at,
            format!(
                "the provider asked {} times to come back later: the {what} was not made",
                done.retries + 1
            ),
        )
        .with_help(format!("{answered}; try again in a few seconds"))
    } else if resp.status == 401
        && spec.auth.value == crate::config::Auth::Digest
        && config.station.user.value.is_empty()
    {
        Diagnostic::error(
            Code::AuthNeeded,
            spec.auth.span().unwrap_or(at),
            "the provider wants credentials: HTTP 401",
        )
        .with_help("set `<user>` and `<mdp>` (the line's SIP login) in the station settings, or allow this computer's address in the provider's manager")
    } else if resp.status == 401 && spec.auth.value == crate::config::Auth::Digest {
        // The challenge was answered with the station's credentials, and
        // those were refused.
        Diagnostic::error(
            Code::AuthFailed,
            config.station.user.span().unwrap_or(at),
            format!(
                "the provider refused the credentials of `<user>` {}: HTTP 401 after the Digest answer",
                config.station.user.value
            ),
        )
        .with_help("check `<user>` and `<mdp>` in the station settings: `<user>` is the line in international form without + (33972101010), `<mdp>` its SIP password as the provider's manager shows it; nothing was dialled")
    } else if resp.is_success() {
        Diagnostic::error(
            Code::NotConfirmed,
            at,
            format!(
                "the provider did not confirm the {what}: it answered `{}`, not `{}`",
                crate::diag::excerpt(&resp.body, 80),
                spec.success_body.value
            ),
        )
        .with_help(format!(
            "the {what} may or may not have been made, so it was not sent again"
        ))
    } else {
        let help = if resp.status >= 500 {
            // A server error after the request arrived: it may have acted.
            format!(
                "{answered}; the {what} may or may not have been made, so it was not sent again"
            )
        } else {
            answered
        };
        Diagnostic::error(
            Code::DialRefused,
            at,
            format!("the provider refused the {what}: HTTP {}", resp.status),
        )
        .with_help(help)
    };
    Err(Failure::Refused(d))
}

/// `ctibridge sms NUMBER MESSAGE` through `<sms>`.
pub async fn sms(
    context: &Context,
    config: &Config,
    number: String,
    message: String,
    fallback: Span,
    dry_run: bool,
) -> Result<Outcome, Failure> {
    let spec = config.sms.as_ref().ok_or_else(|| {
        Failure::Config(vec![Diagnostic::error(
            Code::NoSms,
            fallback,
            "this configuration cannot send text messages: `<sms>` has no `<url>`",
        )
        .with_help(
            "use a provider that sends them (`<provider>keyyo`), or write an `<sms>` section",
        )])
    })?;
    let mut values = values(config);
    values.teldest = Some(teldest(config, &number).map_err(Failure::BadNumber)?);
    values.message = Some(message);
    simple_request(context, config, spec, &values, "message", fallback, dry_run).await
}

/// `ctibridge forward-profile NAME` through `<forward>`.
pub async fn forward_profile(
    context: &Context,
    config: &Config,
    profile: String,
    fallback: Span,
    dry_run: bool,
) -> Result<Outcome, Failure> {
    let spec = config.forward.as_ref().ok_or_else(|| {
        Failure::Config(vec![Diagnostic::error(
            Code::NoForward,
            fallback,
            "this configuration cannot change the forwarding profile: `<forward>` has no `<url>`",
        )
        .with_help(
            "use a provider that can (`<provider>keyyo`), or write a `<forward>` section",
        )])
    })?;
    let mut values = values(config);
    values.profile = Some(profile);
    simple_request(
        context,
        config,
        spec,
        &values,
        "profile change",
        fallback,
        dry_run,
    )
    .await
}

async fn simple_request(
    context: &Context,
    config: &Config,
    spec: &RequestSpec,
    values: &Values,
    what: What,
    fallback: Span,
    dry_run: bool,
) -> Result<Outcome, Failure> {
    if dry_run {
        // What would be sent, secrets masked; nothing is.
        let mut out = request::build(spec, &values.masked())
            .map_err(|e| Failure::Config(vec![e.diagnostic]))?
            .render_masked();
        out.push_str(&rules_note(spec));
        return Ok(Outcome::DryRun(out));
    }
    let client = client(config, fallback)?;
    let exchange = Exchange::new(&client, config, context);
    let done = send_request(&exchange, spec, values, what, fallback).await?;
    judge(spec, config, &done, what, fallback)
}

/// Expands `cmd=` word by word (split as a shell would, never run by one)
/// and starts it, or hands the URI to the desktop opener.
fn callto_launch(
    context: &Context,
    callto: &CalltoSpec,
    values: &Values,
    dry_run: bool,
) -> Result<Outcome, Failure> {
    let span = callto.cmd.span().unwrap_or(Span::first_file());
    let template = &callto.cmd.value;
    let words: Vec<String> = match callto.launch.value {
        Launch::Open => vec![expand_word(template.text.trim(), span, values)?],
        Launch::Run => {
            let raw = crate::launch::split_words(&template.text).map_err(|e| {
                Failure::Config(vec![Diagnostic::error(
                    Code::BadCommand,
                    span,
                    format!("the command cannot be split into words: {e}"),
                )
                .with_help("close every quote")])
            })?;
            raw.iter()
                .map(|w| expand_word(w, span, values))
                .collect::<Result<_, _>>()?
        }
    };
    let (program, args) = match callto.launch.value {
        Launch::Open => (context.opener().to_owned(), words),
        Launch::Run => match words.split_first() {
            Some((p, rest)) => (p.clone(), rest.to_vec()),
            None => {
                return Err(Failure::Config(vec![Diagnostic::error(
                    Code::BadCommand,
                    span,
                    "the command is empty",
                )]))
            }
        },
    };
    if dry_run {
        let shown: Vec<String> = std::iter::once(program.clone())
            .chain(args.iter().cloned())
            .map(|w| crate::launch::quote_word(&w))
            .collect();
        return Ok(Outcome::DryRun(format!("{}\n", shown.join(" "))));
    }
    std::process::Command::new(&program)
        .args(&args)
        .spawn()
        .map_err(|e| {
            Failure::Config(vec![Diagnostic::error(
                Code::CannotLaunch,
                span,
                format!("cannot start `{program}`: {e}"),
            )])
        })?;
    Ok(Outcome::Launched { program })
}

fn expand_word(word: &str, span: Span, values: &Values) -> Result<String, Failure> {
    let t = Template {
        text: word.to_owned(),
        parts: scan_keywords(word, span, &mut Vec::new()),
    };
    expand(&t, Place::Command, values).map_err(|e| Failure::Config(vec![e.diagnostic]))
}
