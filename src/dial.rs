//! Placing a call through the configured interface: the web request of
//! `<cliktocalldial>` (with its token), or the command of `<callto>`.

use crate::config::{CalltoSpec, Config, Interface, Launch, NumberFormat, Template};
use crate::diag::Diagnostic;
use crate::exit::Exit;
use crate::http::{ClientOptions, HttpClient, SendError};
use crate::number::{format_number, parse_target, NumberError};
use crate::param::scan_keywords;
use crate::request::{self, HttpRequest};
use crate::source::Span;
use crate::template::{expand, Place, Values};
use crate::token::{self, TokenStore};

/// Why a dial did not happen, by exit code.
#[derive(Debug)]
pub enum Failure {
    /// Exit 2: something in the param files.
    Config(Vec<Diagnostic>),
    /// Exit 3: nothing was sent.
    BadNumber(NumberError),
    /// Exit 4.
    Network(Diagnostic),
    /// Exit 5.
    Refused(Diagnostic),
}

impl Failure {
    pub fn exit(&self) -> Exit {
        match self {
            Failure::Config(_) => Exit::Config,
            Failure::BadNumber(_) => Exit::BadNumber,
            Failure::Network(_) => Exit::Network,
            Failure::Refused(_) => Exit::Refused,
        }
    }
}

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct DialRequest {
    /// The number or URI as given.
    pub target: String,
    /// `--dry-run`: print what would be sent, send nothing.
    pub dry_run: bool,
    /// `--name`: the callee's name (`$name$`).
    pub name: Option<String>,
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

/// Places the call. `fallback` is where problems with no line of their own
/// are reported (the param file).
pub async fn dial(config: &Config, req: &DialRequest, fallback: Span) -> Result<Outcome, Failure> {
    let number = teldest(config, &req.target).map_err(Failure::BadNumber)?;
    let mut values = Values::from_station(&config.station);
    values.teldest = Some(number);
    values.event = Some("DIAL".to_owned());
    values.name = req.name.clone();
    match config.interface.value {
        Interface::Callto => {
            let callto = config
                .callto
                .as_ref()
                .ok_or_else(|| no_interface(fallback))?;
            callto_launch(callto, &values, req.dry_run)
        }
        Interface::ClickToCall => web_dial(config, values, req.dry_run, fallback).await,
    }
}

fn no_interface(at: Span) -> Failure {
    Failure::Config(vec![Diagnostic::error(
        "no-interface",
        at,
        "this file can place no call",
    )])
}

async fn web_dial(
    config: &Config,
    mut values: Values,
    dry_run: bool,
    fallback: Span,
) -> Result<Outcome, Failure> {
    let spec = config.dial.as_ref().ok_or_else(|| no_interface(fallback))?;
    let config_err = |e: crate::template::ExpandError| Failure::Config(vec![e.diagnostic]);
    if dry_run {
        let mut out = String::new();
        let mut shown = values.masked();
        if let Some(t) = &config.token {
            out.push_str(
                &request::build(&t.request, &shown)
                    .map_err(config_err)?
                    .render_masked(),
            );
            out.push('\n');
            shown.token = Some(String::new());
        }
        out.push_str(
            &request::build(spec, &shown)
                .map_err(config_err)?
                .render_masked(),
        );
        return Ok(Outcome::DryRun(out));
    }
    let client = HttpClient::new(&ClientOptions::one_shot(&config.global)).map_err(|e| {
        Failure::Config(vec![Diagnostic::error(
            "http-setup",
            config.global.cafile.span().unwrap_or(fallback),
            e.to_string(),
        )])
    })?;
    let store = TokenStore::from_env();
    let mut from_cache = false;
    let mut key = None;
    if let Some(t) = &config.token {
        let k = TokenStore::key(&t.request.url.value.text, &values);
        values.token = match store.load(&k) {
            Some(cached) => {
                from_cache = true;
                Some(cached)
            }
            None => {
                let fresh = token::fetch(&client, t, &values, fallback).await?;
                store.store(&k, &fresh);
                Some(fresh)
            }
        };
        key = Some(k);
    }
    let req = request::build(spec, &values).map_err(config_err)?;
    let mut resp = send_dial(&client, &req, fallback).await?;
    if matches!(resp.status, 401 | 403) && from_cache {
        // The cached token is stale; the call was refused, not placed.
        let (Some(t), Some(k)) = (&config.token, &key) else {
            unreachable!("a cached token has a spec and a key")
        };
        tracing::info!(status = resp.status, "token refused: fetching a new one");
        store.forget(k);
        let fresh = token::fetch(&client, t, &values, fallback).await?;
        store.store(k, &fresh);
        values.token = Some(fresh);
        let req = request::build(spec, &values).map_err(config_err)?;
        resp = send_dial(&client, &req, fallback).await?;
    }
    if resp.is_success() {
        Ok(Outcome::Placed {
            status: resp.status,
        })
    } else {
        let at = req.url_span.unwrap_or(fallback);
        Err(Failure::Refused(
            Diagnostic::error(
                "dial-refused",
                at,
                format!("the provider refused the call: HTTP {}", resp.status),
            )
            .with_help(format!("the server answered: {}", resp.body_start())),
        ))
    }
}

async fn send_dial(
    client: &HttpClient,
    req: &HttpRequest,
    fallback: Span,
) -> Result<crate::http::HttpResponse, Failure> {
    client.send(req).await.map_err(|e| {
        let at = req.url_span.unwrap_or(fallback);
        let help = if e.nothing_sent() {
            "nothing was sent: the call was not placed"
        } else {
            "the request left: the call may or may not have been placed, so it was not sent again"
        };
        let code = if matches!(e, SendError::Setup(_)) {
            "http-setup"
        } else {
            "dial-unreachable"
        };
        Failure::Network(
            Diagnostic::error(code, at, format!("the dial request failed: {e}")).with_help(help),
        )
    })
}

/// Expands `cmd=` word by word (split as a shell would, never run by one)
/// and starts it, or hands the URI to the desktop opener.
fn callto_launch(callto: &CalltoSpec, values: &Values, dry_run: bool) -> Result<Outcome, Failure> {
    let span = callto
        .cmd
        .span()
        .unwrap_or(Span::file(crate::source::FileId(0)));
    let template = &callto.cmd.value;
    let words: Vec<String> = match callto.launch.value {
        Launch::Open => vec![expand_word(template.text.trim(), span, values)?],
        Launch::Run => {
            let raw = shell_words::split(&template.text).map_err(|e| {
                Failure::Config(vec![Diagnostic::error(
                    "bad-command",
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
        Launch::Open => (crate::launch::opener(), words),
        Launch::Run => match words.split_first() {
            Some((p, rest)) => (p.clone(), rest.to_vec()),
            None => {
                return Err(Failure::Config(vec![Diagnostic::error(
                    "bad-command",
                    span,
                    "the command is empty",
                )]))
            }
        },
    };
    if dry_run {
        let shown: Vec<String> = std::iter::once(program.clone())
            .chain(args.iter().cloned())
            .map(|w| shell_words::quote(&w).into_owned())
            .collect();
        return Ok(Outcome::DryRun(format!("{}\n", shown.join(" "))));
    }
    std::process::Command::new(&program)
        .args(&args)
        .spawn()
        .map_err(|e| {
            Failure::Config(vec![Diagnostic::error(
                "cannot-launch",
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
