//! The bridge server's file, `server_param.txt`: the same syntax and the
//! same diagnostics as a desk's `clicktocall_param.txt`.
//!
//! Its `<server>`, `<keyyo_notify>` and `<desk>` sections (rows of
//! [`ctibridge_lang::schema`] marked `server`) are the server's own; `<desk>` comes
//! once per desk. Every other section says how the server dials, exactly as
//! in a desk's file: usually `<global><provider>NAME` and the account's
//! `<station>` credentials, the profile giving the rest.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::defaults;
use crate::config::keyyo::KeyyoOptions;
use ctibridge_lang::config::Config;
use ctibridge_lang::diag::{Code, Diagnostic, Diagnostics};
use ctibridge_lang::load::{FileRead, FileStatus};
use ctibridge_lang::schema::{Section, Tag};
use ctibridge_lang::source::{FileRole, SourceFile, SourceMap, Span};

/// The path of the CTI web service (the Divalto sample file's).
pub const CTI_PATH: &str = "/DhDivaltoServerCTI/api/cti";

/// The environment variable that gives Keyyo's notification secret (it
/// wins over `<keyyo_notify><secret>`).
pub const KEYYO_SECRET_ENV: &str = "CTIBRIDGE_KEYYO_SECRET";

/// The file's name in the sys folder.
pub const FILE_NAME: &str = "server_param.txt";

/// A desk allowed to connect.
#[derive(Clone, Debug)]
pub struct Desk {
    pub ident: String,
    pub secret: ctibridge_lang::config::Secret,
    /// The lines it may follow and dial from, each in its one identity
    /// ([`ctibridge_client::number::identity`]: E.164, or an extension as written).
    pub lines: Vec<String>,
    /// `<role>supervisor`: the browser's wall of every line.
    pub supervisor: bool,
    /// Where `<lines>` is written (errors about a line point there).
    pub(crate) lines_span: Option<Span>,
}

/// The server's settings, checked.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub simulator: bool,
    pub hold: Duration,
    pub token_ttl: Duration,
    pub journal: Option<PathBuf>,
    pub public_url: Option<String>,
    /// `<record_url>`: the ERP's page of a caller, for the browser desk.
    pub record_url: Option<String>,
    /// `<tls_cert>` and `<tls_key>`: HTTPS. `None`: plain HTTP.
    pub tls: Option<crate::infra::tls::TlsFiles>,
    /// `<trusted_proxies>`.
    pub trusted_proxies: crate::infra::proxies::TrustedProxies,
    /// `<monitoring>`.
    pub monitoring: crate::infra::proxies::TrustedProxies,
    pub relay: bool,
    /// Requests per second per address: CTI routes, Keyyo notifications.
    pub cti_rate: u32,
    pub notify_rate: u32,
    pub keyyo: Option<KeyyoOptions>,
    /// `<keyyo_cti>`: Keyyo's CTI WebSocket (its endpoint and CSI token).
    pub keyyo_cti: Option<crate::config::keyyo::CtiSettings>,
    /// Empty: any desk on this machine, every line (the simulator's
    /// zero-configuration setup).
    pub desks: Vec<Desk>,
    /// The country numbers without a country code are read in (the
    /// dialer's `<country>`, FR by default).
    pub country: String,
    /// `<tel_format>`: the form of the numbers desks receive.
    pub tel_format: ctibridge_lang::config::NumberFormat,
    /// `<max_connections>`, or the open-file limit less a reserve.
    pub max_connections: usize,
    /// What `setevent` dials through; `None` with the simulator or when the
    /// file says nothing about a provider.
    pub dialer: Option<Config>,
    /// The configuration whose `<lookup>` names the callers of every
    /// event and whose `<report>` writes each finished call back (the
    /// dialer's, or with the simulator these two sections alone).
    pub names: Option<Config>,
}

impl ServerSettings {
    /// `serve --sim` without a server file: the simulator, any desk of this
    /// machine, the defaults of every tag.
    pub fn zero_config() -> ServerSettings {
        ServerSettings {
            listen: defaults::listen(),
            simulator: true,
            hold: defaults::hold(),
            token_ttl: defaults::token_ttl(),
            journal: None,
            public_url: None,
            record_url: None,
            tls: None,
            trusted_proxies: Default::default(),
            monitoring: Default::default(),
            relay: false,
            cti_rate: defaults::cti_rate(),
            notify_rate: defaults::notify_rate(),
            keyyo: None,
            desks: Vec::new(),
            country: defaults::country(),
            tel_format: defaults::tel_format(),
            max_connections: crate::infra::connections::default_max(),
            dialer: None,
            names: None,
            keyyo_cti: None,
        }
    }
}

/// The file read and checked.
pub struct LoadedServer {
    pub sources: SourceMap,
    pub files: Vec<FileRead>,
    pub diagnostics: Diagnostics,
    /// `None` when there are errors.
    pub settings: Option<ServerSettings>,
}

impl LoadedServer {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// Reads and checks the server file at `path`.
pub fn load(path: &Path) -> LoadedServer {
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    match ctibridge_lang::source::read_file(path) {
        Ok(bytes) => {
            let id = sources.add(SourceFile::new(path.to_owned(), FileRole::Server, &bytes));
            crate::config::check::check(sources, id, diagnostics)
        }
        Err(e) => {
            let id = sources.add(SourceFile::new(path.to_owned(), FileRole::Server, b""));
            diagnostics.push(
                Diagnostic::error(
                    Code::CannotRead,
                    Span::file(id),
                    format!("cannot read the server file: {e}"),
                )
                .with_help(
                    "name it with --server FILE, or run `ctibridge serve --sim` (no file needed)",
                ),
            );
            LoadedServer {
                files: vec![FileRead {
                    role: FileRole::Server,
                    path: path.to_owned(),
                    status: FileStatus::Unreadable {
                        reason: e.to_string(),
                    },
                    id: None,
                }],
                sources,
                diagnostics,
                settings: None,
            }
        }
    }
}

/// Checks a server file given as text (tests), named `server_param.txt`.
pub fn load_text(text: &str) -> LoadedServer {
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new(
        PathBuf::from(FILE_NAME),
        FileRole::Server,
        text.as_bytes(),
    ));
    crate::config::check::check(sources, id, Diagnostics::new())
}

/// What to do about [`open_without_desks`].
pub const OPEN_WITHOUT_DESKS_HELP: &str = "add one `<desk>` section per desk (`<ident>`, `<secret>`, `<lines>`), or listen on 127.0.0.1 for desks of this machine only";

/// Why a server without `<desk>` cannot listen on `addr`: it gives tokens
/// to any desk of this machine, and on an address other than loopback
/// anyone who reaches it would look like one. `None`: it may.
pub fn open_without_desks(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!("no `<desk>`, and {addr} is not this machine's loopback: every desk that reaches it would be given tokens")
    })
}

/// The default of a `<keyyo_notify>` tag, from the schema.
pub fn default_of(tag: Tag) -> &'static str {
    tag.def(Section::KeyyoNotify).map_or("", |d| d.default)
}

/// What `check --server` prints after the diagnostics.
/// What [`explain`] says, as data (`check --server --json`). Secrets are
/// not in it; the Keyyo URL carries `SECRET` in their place.
pub fn explain_json(s: &ServerSettings) -> serde_json::Value {
    use serde_json::json;
    let dials = if s.simulator {
        json!({ "through": "simulator" })
    } else {
        match &s.dialer {
            Some(c) if c.dial.is_some() => match c.global.provider.value.as_str() {
                "" => json!({ "through": "cliktocalldial" }),
                p => json!({ "through": "profile", "provider": p }),
            },
            _ => json!({ "through": "nothing" }),
        }
    };
    let base = s
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", s.listen));
    json!({
        "listen": s.listen.to_string(),
        "scheme": if s.tls.is_some() { "https" } else { "http" },
        "tls": s.tls.as_ref().map(|t| json!({
            "cert": t.cert.display().to_string(),
            "key": t.key.display().to_string(),
        })),
        "trusted_proxies": s.trusted_proxies.ranges(),
        "monitoring": s.monitoring.ranges(),
        "dials": dials,
        "hold_seconds": s.hold.as_secs_f64(),
        "token_ttl_seconds": s.token_ttl.as_secs(),
        "journal": s.journal.as_ref().map(|p| p.display().to_string()),
        "relay": s.relay,
        "keyyo_notify": s.keyyo.as_ref().map(|k| json!({
            "sources": k.sources,
            "url": crate::config::keyyo::manager_url(&base, "SECRET"),
        })),
        "keyyo_cti": s.keyyo_cti.as_ref().map(|c| json!({
            "url": c.endpoint,
            "token": match &c.token {
                crate::config::keyyo::TokenSettings::Given(_) => json!({ "given": true }),
                crate::config::keyyo::TokenSettings::Minted(m) => json!({
                    "minted": {
                        "csi": m.csi,
                        "manager_url": m.manager_url,
                        "oauth_token_url": m.token_url,
                        "refresh_token_file": m.file.display().to_string(),
                    }
                }),
            },
        })),
        "public_url": s.public_url,
        "desks": s.desks.iter().map(|d| json!({
            "ident": d.ident,
            "lines": d.lines,
            "role": if d.supervisor { "supervisor" } else { "desk" },
        })).collect::<Vec<_>>(),
        "record_url": s.record_url,
        "lookup": s.names.as_ref().and_then(|c| c.lookup.as_ref()).map(|l| match &l.source {
            ctibridge_lang::config::LookupSource::Directory(d) => json!({ "directory": d.value }),
            ctibridge_lang::config::LookupSource::Request(r) => json!({
                "url": ctibridge_lang::redact::mask_url(&r.request.url.value.text),
            }),
        }),
        "report": s.names.as_ref().and_then(|c| c.report.as_ref()).map(|r| json!({
            "when": r.when.value.describe(),
            "url": ctibridge_lang::redact::mask_url(&r.request.url.value.text),
        })),
        "max_connections": s.max_connections,
        "rate": { "cti": s.cti_rate, "keyyo_notify": s.notify_rate },
        "tel_format": s.tel_format,
    })
}

/// What the server's `<lookup>` and `<report>` do, one line each.
fn names_lines(c: &Config) -> Vec<String> {
    use ctibridge_lang::config::LookupSource;
    let mut lines = Vec::new();
    if let Some(l) = &c.lookup {
        lines.push(match &l.source {
            LookupSource::Directory(d) => {
                format!("lookup         who calls, from the directory {}", d.value)
            }
            LookupSource::Request(r) => format!(
                "lookup         who calls, from the ERP's {} {}; names kept {} s, {} s to answer, {} request(s) at once",
                r.request.method.value.as_str(),
                ctibridge_lang::redact::mask_url(&r.request.url.value.text),
                l.cache.value.as_secs(),
                l.timeout.value.as_secs_f64(),
                l.parallel.value
            ),
        });
    }
    if let Some(r) = &c.report {
        lines.push(format!(
            "reports        {} calls, each once, to the ERP's {} {} (the outbox in the journal)",
            r.when.value.describe(),
            r.request.method.value.as_str(),
            ctibridge_lang::redact::mask_url(&r.request.url.value.text)
        ));
    }
    lines
}

pub fn explain(s: &ServerSettings) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "listens on     {}", s.listen);
    if let Some(t) = &s.tls {
        let _ = writeln!(
            out,
            "https          certificate {}, key {}",
            t.cert.display(),
            t.key.display()
        );
    }
    let dials = if s.simulator {
        "the simulator".to_owned()
    } else {
        match &s.dialer {
            Some(c) if c.dial.is_some() => match c.global.provider.value.as_str() {
                "" => "the <cliktocalldial> of this file".to_owned(),
                p => format!("the {p} profile, line given by each desk"),
            },
            _ if s.keyyo_cti.is_some() => {
                "Keyyo's CTI session, from its own line only (the CSI token's service)".to_owned()
            }
            _ => "nothing (setevent answers 503)".to_owned(),
        }
    };
    let _ = writeln!(out, "dials through  {dials}");
    let _ = writeln!(
        out,
        "holds polls    {} s (cursor) / {} s (no cursor); tokens valid {} s",
        s.hold.as_secs_f64(),
        defaults::SHORT_HOLD.as_secs_f64(),
        s.token_ttl.as_secs()
    );
    let _ = writeln!(
        out,
        "journal        {}",
        s.journal
            .as_ref()
            .map_or("in memory (lost at stop)".to_owned(), |p| p
                .display()
                .to_string())
    );
    let _ = writeln!(
        out,
        "relay          {}",
        if s.relay {
            "on: provider events polled once, handed to each line's desks"
        } else {
            "off"
        }
    );
    explain_keyyo(s, &mut out);
    if let Some(c) = &s.names {
        for line in names_lines(c) {
            let _ = writeln!(out, "{line}");
        }
    }
    explain_desks(s, &mut out);
    out
}

/// [`explain`]'s lines of Keyyo's notifications and CTI session.
fn explain_keyyo(s: &ServerSettings, out: &mut String) {
    use std::fmt::Write as _;
    match &s.keyyo {
        Some(k) => {
            let base = s
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", s.listen));
            let _ = writeln!(
                out,
                "keyyo notify   on, from {}\n  URL for the Keyyo manager:\n  {}",
                k.sources,
                crate::config::keyyo::manager_url(&base, "SECRET")
            );
        }
        None => {
            let _ = writeln!(out, "keyyo notify   off");
        }
    }
    if let Some(c) = &s.keyyo_cti {
        let token = match &c.token {
            crate::config::keyyo::TokenSettings::Given(_) => {
                "the <csi_token> of this file (it lives one hour)".to_owned()
            }
            crate::config::keyyo::TokenSettings::Minted(m) => format!(
                "minted each hour for service {} at {}\n  refresh token from {}, the newest kept in {}",
                m.csi,
                m.manager_url,
                m.token_url,
                m.file.display()
            ),
        };
        let _ = writeln!(out, "keyyo cti      {}, CSI token {token}", c.endpoint);
    }
}

/// [`explain`]'s lines of the browser desk and the desks.
fn explain_desks(s: &ServerSettings, out: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "browser desk   {}",
        if s.desks.is_empty() {
            "off (it needs a <desk>)".to_owned()
        } else {
            format!(
                "/desk/{}",
                s.record_url
                    .as_deref()
                    .map_or(String::new(), |u| format!(", ERP records at {u}"))
            )
        }
    );
    if s.desks.is_empty() {
        let _ = writeln!(
            out,
            "desks          any, from this machine only, every line"
        );
    } else {
        for d in &s.desks {
            let role = if d.supervisor {
                " (supervisor: the wall)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "desk           {}: {}{role}",
                d.ident,
                d.lines.join(" | ")
            );
        }
    }
}

// ---------------------------------------------------------------- record links

const RECORD_KEYWORDS: &[&str] = &["record", "tel", "tele164", "name", "company"];

/// `<record_url>` is an http(s) URL whose keywords are the browser desk's.
pub fn check_record_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("this is not an absolute http(s) URL".into());
    }
    let mut rest = url;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('$') else {
            return Err("a `$` opens a keyword that is not closed".into());
        };
        let word = &after[..end];
        if !RECORD_KEYWORDS.contains(&word) {
            return Err(format!(
                "`${word}$` is not a keyword of <record_url> (it knows $record$, $tel$, $tele164$, $name$, $company$)"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}
