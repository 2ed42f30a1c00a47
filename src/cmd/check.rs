//! `ctibridge check` (the param files) and `check --server`.

use std::io::Write as _;

use ctibridge::exit::Exit;
use ctibridge::explain::{self, Report};
use ctibridge::load::{self, LocateOptions};

/// Whether `file` is a bridge server's file: it has a `<server>` section
/// (a file that cannot be read is checked as a param file, which says so).
pub(crate) fn is_server_file(file: &std::path::Path) -> bool {
    std::fs::read(file).is_ok_and(|bytes| {
        String::from_utf8_lossy(&bytes)
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("<server>"))
    })
}

pub(crate) fn check(opts: &LocateOptions, json: bool) -> Exit {
    let loaded = load::load(crate::env::locations(opts));
    let report = explain::report(&loaded);
    if json {
        print_json(&report);
    } else {
        err!("{}", loaded.diagnostics.render(&loaded.sources));
        if let Some(e) = &report.explanation {
            out!("{}", explain::render(e));
        }
    }
    if report.ok {
        Exit::Ok
    } else {
        Exit::Config
    }
}

pub(crate) fn check_server(file: &std::path::Path, json: bool, show_secret: bool) -> Exit {
    let loaded = ctibridge::server::settings::load(file, crate::env::keyyo_secret().as_deref());
    let secret_url = || {
        let s = loaded.settings.as_ref()?;
        let k = s.keyyo.as_ref()?;
        let base = s
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", s.listen));
        Some(ctibridge::server::manager_url(&base, k.secret.expose()))
    };
    if json {
        let diagnostics: Vec<_> = loaded
            .diagnostics
            .shown()
            .into_iter()
            .map(|d| d.to_json(&loaded.sources))
            .collect();
        let v = serde_json::json!({
            "ok": !loaded.has_errors(),
            "errors": loaded.diagnostics.error_count(),
            "warnings": loaded.diagnostics.warning_count(),
            "not_shown": loaded.diagnostics.not_shown(),
            "files": loaded.files,
            "diagnostics": diagnostics,
            "explanation": loaded.settings.as_ref().map(ctibridge::server::settings::explain_json),
        });
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        err!("{}", loaded.diagnostics.render(&loaded.sources));
        if let Some(s) = &loaded.settings {
            out!("{}", ctibridge::server::settings::explain(s));
        }
        if show_secret {
            match secret_url() {
                // Asked for: the one place a secret is printed.
                Some(url) => {
                    use std::io::Write as _;
                    let _ = writeln!(
                        std::io::stdout(),
                        "Keyyo notification URL, with its secret (keep it private):\n{url}"
                    );
                }
                None => errln!("note: no Keyyo notifications in this file: no secret to show"),
            }
        }
    }
    if loaded.has_errors() {
        Exit::Config
    } else {
        Exit::Ok
    }
}

fn print_json(report: &Report) {
    let mut out = ctibridge::redact::Masking::new(std::io::stdout().lock());
    let _ = serde_json::to_writer_pretty(&mut out, report);
    let _ = writeln!(out);
}
