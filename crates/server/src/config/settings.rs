//! The bridge server's file, `server_param.txt`: the same syntax and the
//! same diagnostics as a desk's `clicktocall_param.txt`.
//!
//! Its `<server>`, `<keyyo_notify>` and `<desk>` sections (rows of
//! [`ctibridge_lang::schema`] marked `server`) are the server's own; `<desk>` comes
//! once per desk. Every other section says how the server dials, exactly as
//! in a desk's file: usually `<global><provider>NAME` and the account's
//! `<station>` credentials, the profile giving the rest.

use std::path::{Path, PathBuf};

use crate::config::defaults;
pub use crate::config::file::{
    check_record_url, default_of, open_without_desks, Desk, LoadedServer, ServerSettings, CTI_PATH,
    FILE_NAME, KEYYO_SECRET_ENV, OPEN_WITHOUT_DESKS_HELP,
};
use ctibridge_lang::config::Config;
use ctibridge_lang::diag::{Code, Diagnostic, Diagnostics};
use ctibridge_lang::load::{FileRead, FileStatus};
use ctibridge_lang::source::{FileRole, SourceFile, SourceMap, Span};

/// Reads and checks the server file at `path`; `keyyo_secret`: the
/// environment's Keyyo notification secret ([`KEYYO_SECRET_ENV`]), which
/// takes the file's place. The binary reads the environment, not this.
pub fn load(path: &Path, keyyo_secret: Option<&str>) -> LoadedServer {
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    match ctibridge_lang::source::read_file(path) {
        Ok(bytes) => {
            let id = sources.add(SourceFile::new(path.to_owned(), FileRole::Server, &bytes));
            crate::config::check::check(sources, id, diagnostics, keyyo_secret)
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
    crate::config::check::check(sources, id, Diagnostics::new(), None)
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
