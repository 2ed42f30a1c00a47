//! `ctibridge report`: the `<report>` of the param files (or of a server
//! file) for a sample call — shown with `--dry-run`, else sent.

use std::path::Path;
use std::sync::Arc;

use ctibridge::exit::Exit;
use ctibridge::load::LocateOptions;
use ctibridge::logfile::LogFile;
use ctibridge::report::{FinishedCall, NotKept};

use crate::session::{current_thread_runtime, Session};

/// The line of the sample call when neither `--line` nor `<telorg>` says.
const SAMPLE_LINE: &str = "0972101010";

pub(crate) fn report(
    opts: &LocateOptions,
    log_file: &LogFile,
    server: Option<&Path>,
    line: Option<&str>,
    dry_run: bool,
) -> Exit {
    // The configuration, and the runtime to send with.
    let (config, runtime, context) = match server {
        Some(file) => {
            let loaded =
                ctibridge::server::settings::load(file, crate::env::keyyo_secret().as_deref());
            if loaded.has_errors() {
                err!("{}", loaded.diagnostics.render(&loaded.sources));
                return Exit::Config;
            }
            let Some(config) = loaded.settings.and_then(|s| s.names) else {
                errln!(
                    "error: {} has no `<report>`\n  = help: add a `<report>` section with the `<url>` of the ERP's request and its `<success_body>`",
                    file.display()
                );
                return Exit::Config;
            };
            let Ok(rt) = current_thread_runtime() else {
                return Exit::System;
            };
            (Arc::new(config), rt, crate::env::context())
        }
        None => match Session::start(opts, log_file) {
            Ok(s) => (Arc::new(s.config().clone()), s.runtime, s.context),
            Err(exit) => return exit,
        },
    };
    let Some(spec) = config.report.as_ref() else {
        errln!("error: the param files have no `<report>`\n  = help: add a `<report>` section with the `<url>` of the ERP's request and its `<success_body>` (docs/report.md)");
        return Exit::Config;
    };
    let country = &config.global.country.value;
    let written = line
        .map(str::to_owned)
        .or_else(|| Some(config.station.telorg.value.clone()).filter(|l| !l.trim().is_empty()))
        .unwrap_or_else(|| SAMPLE_LINE.to_owned());
    let Ok(line) = ctibridge::number::identity(&written, country) else {
        errln!("error: `{written}` is not a line number\n  = help: give the sample call's line with --line");
        return Exit::BadInput;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let call = FinishedCall::sample(&line, now_ms);
    if !ctibridge::report::wanted(spec, &call) {
        errln!(
            "note: `<report_when>{}` does not take this sample (a {} call): a real one like it would not be sent",
            spec.when.value.describe(),
            call.kind()
        );
    }
    if dry_run {
        return super::lookup::print_dry_run(ctibridge::report::dry_run(&config, &call));
    }
    let options = ctibridge::http::ClientOptions::one_shot(&config.global);
    let client = match ctibridge::http::HttpClient::new(&options) {
        Ok(c) => c,
        Err(e) => {
            errln!("error: {e}");
            return Exit::Config;
        }
    };
    let sent = runtime.block_on(ctibridge::report::send(&client, &config, &context, &call));
    match sent {
        Ok(()) => {
            outln!(
                "the ERP took the report of a sample call (callref {}, $reportid$ {})",
                call.callref,
                call.report_id()
            );
            Exit::Ok
        }
        Err(NotKept::Broken(e)) => {
            errln!("error: the report cannot be built: {e}");
            Exit::Config
        }
        Err(NotKept::Refused(e)) => {
            errln!("error: the ERP did not take the report: {e}\n  = help: `ctibridge report --dry-run` shows what is sent; `<success_body>` says what counts as taken");
            Exit::Network
        }
    }
}
