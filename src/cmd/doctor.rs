//! `ctibridge doctor` (a desk's files) and `doctor --server` (the bridge
//! server's file): one line per check, what to do under each failure.

use ctibridge::doctor::{first_failure, Check, Failing, Scope, Status};
use ctibridge::exit::Exit;
use ctibridge::load::{self, FileStatus, LocateOptions};
use ctibridge::source::Span;

use crate::exit::EndsWith as _;
use crate::session::current_thread_runtime;

/// The desk's side: the param files, then the provider (or bridge server)
/// they point at.
pub(crate) fn doctor(opts: &LocateOptions) -> Exit {
    let loaded = load::load(crate::env::locations(opts));
    let files: Vec<String> = loaded
        .files
        .iter()
        .filter(|f| matches!(f.status, FileStatus::Read { .. }))
        .map(|f| f.path.display().to_string())
        .collect();
    let Some(checked) = loaded.checked.as_ref().filter(|_| !loaded.has_errors()) else {
        err!("{}", loaded.diagnostics.render(&loaded.sources));
        print(&Check::fail(
            "files",
            Failing::Config,
            format!(
                "{} error(s) in the files (shown above)",
                loaded.diagnostics.error_count().max(1)
            ),
            "fix them; `ctibridge check` explains each",
        ));
        return Failing::Config.exit();
    };
    let warnings = loaded.diagnostics.warning_count();
    print(&if warnings == 0 {
        Check::ok("files", files.join(", "))
    } else {
        Check::warn(
            "files",
            format!("{} — {warnings} warning(s)", files.join(", ")),
            "`ctibridge check` shows them",
        )
    });
    let Ok(rt) = current_thread_runtime() else {
        return Exit::System;
    };
    let context = crate::env::context();
    let scope = Scope {
        token: true,
        events: true,
        dial: true,
    };
    let fallback = Span::file(loaded.param_file());
    let mut checks = rt.block_on(ctibridge::doctor::provider(
        &checked.config,
        &context,
        fallback,
        scope,
    ));
    let config = std::sync::Arc::new(checked.config.clone());
    checks.extend(rt.block_on(ctibridge::doctor::erp(&config, &context, fallback)));
    conclude(&checks)
}

/// The bridge server's side.
pub(crate) fn doctor_server(file: &std::path::Path) -> Exit {
    let loaded = ctibridge::server::settings::load(file, crate::env::keyyo_secret().as_deref());
    let Some(settings) = loaded.settings.as_ref().filter(|_| !loaded.has_errors()) else {
        err!("{}", loaded.diagnostics.render(&loaded.sources));
        print(&Check::fail(
            "files",
            Failing::Config,
            format!(
                "{} error(s) in {} (shown above)",
                loaded.diagnostics.error_count().max(1),
                file.display()
            ),
            "fix them; `ctibridge check --server FILE` explains each",
        ));
        return Failing::Config.exit();
    };
    print(&Check::ok("files", file.display().to_string()));
    let Ok(rt) = current_thread_runtime() else {
        return Exit::System;
    };
    let context = crate::env::context();
    let fallback = loaded
        .sources
        .files()
        .next()
        .map_or(Span::file(ctibridge::source::FileId(0)), |(id, _)| {
            Span::file(id)
        });
    let checks = rt.block_on(ctibridge::server::doctor::checks(
        settings, &context, fallback,
    ));
    conclude(&checks)
}

/// Prints the checks, then the verdict; the exit code of the first failure.
fn conclude(checks: &[Check]) -> Exit {
    for c in checks {
        print(c);
    }
    let failed = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail(_)))
        .count();
    match first_failure(checks) {
        None => {
            outln!("everything a dial and a screen pop need is in place");
            Exit::Ok
        }
        Some(f) => {
            outln!("{failed} check(s) failed: fix them and run `ctibridge doctor` again");
            f.exit()
        }
    }
}

fn print(c: &Check) {
    let status = match c.status {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Skip => "skip",
        Status::Fail(_) => "FAIL",
    };
    outln!("{status:<5} {:<12} {}", c.name, c.detail);
    if let Some(todo) = &c.todo {
        outln!("{:<18} → {todo}", "");
    }
}
