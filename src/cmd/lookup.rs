//! `ctibridge lookup NUMBER`: who a number belongs to, as the `<lookup>`
//! of the param files finds it, or in a directory file (`--directory`).

use std::time::Instant;

use ctibridge::exit::Exit;
use ctibridge::load::LocateOptions;
use ctibridge::logfile::LogFile;
use ctibridge::names::{Directory, Found, LineProblem, Lookup, Person};

use crate::session::Session;

/// With the `<lookup>` of the param files.
pub(crate) fn lookup(
    opts: &LocateOptions,
    log_file: &LogFile,
    number: &str,
    dry_run: bool,
    json: bool,
) -> Exit {
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let country = &s.config().global.country.value;
    let Some(key) = ctibridge::names::key_of(number, country) else {
        errln!("error: `{number}` is not a phone number\n  = help: nothing was looked up");
        return Exit::BadInput;
    };
    let loaded = Instant::now();
    let (lookup, problems) = match Lookup::new(
        std::sync::Arc::new(s.config().clone()),
        &s.context,
        s.fallback(),
    ) {
        Ok(Some(l)) => l,
        Ok(None) => {
            errln!("error: the param files have no `<lookup>`\n  = help: add a `<lookup>` section with a `<directory>` or the `<url>` of the ERP's request, or give `--directory FILE`");
            return Exit::Config;
        }
        Err(f) => return s.fail(&f),
    };
    let load_ms = loaded.elapsed().as_secs_f64() * 1000.0;
    warn_problems("the directory", &problems);
    if dry_run {
        return print_dry_run(lookup.dry_run(number));
    }
    let started = Instant::now();
    let found = s.runtime.block_on(lookup.find(number));
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    match found {
        Ok(found) => {
            let person = match &found {
                Found::Known(p) => Some(p),
                Found::Unknown => None,
            };
            // What was asked, secrets masked: the request's first line.
            let asked = lookup
                .dry_run(number)
                .ok()
                .and_then(|r| r.lines().next().map(str::to_owned))
                .unwrap_or_default();
            let how = serde_json::json!({
                "lookup_ms": took_ms,
                "setup_ms": load_ms,
                "request": asked,
            });
            show(number, &key, person, json, how, || {
                format!("  {asked}\n  looked up in {took_ms:.1} ms (set up in {load_ms:.1} ms)")
            });
            Exit::Ok
        }
        Err(e) => {
            errln!("error: the lookup failed after {took_ms:.0} ms: {e}");
            Exit::Network
        }
    }
}

/// In a directory file given on the command line.
pub(crate) fn lookup_in_directory(
    number: &str,
    file: &std::path::Path,
    country: &str,
    json: bool,
) -> Exit {
    let Some(key) = ctibridge::names::key_of(number, country) else {
        errln!("error: `{number}` is not a phone number\n  = help: nothing was looked up");
        return Exit::BadInput;
    };
    let loaded = Instant::now();
    let (directory, problems) = match Directory::from_file(file, country) {
        Ok(d) => d,
        Err(e) => {
            errln!("error: the directory cannot be read: {e}");
            return Exit::Config;
        }
    };
    let load_ms = loaded.elapsed().as_secs_f64() * 1000.0;
    warn_problems(&file.display().to_string(), &problems);
    let started = Instant::now();
    let found = directory.find(number, country);
    let find_us = started.elapsed().as_secs_f64() * 1e6;
    let how = serde_json::json!({
        "directory": file.display().to_string(),
        "people": directory.len(),
        "problems": problems.len(),
        "load_ms": load_ms,
        "lookup_us": find_us,
    });
    show(number, &key, found, json, how, || {
        format!(
            "  {} people in {} (read in {load_ms:.1} ms), looked up in {find_us:.0} µs",
            directory.len(),
            file.display()
        )
    });
    Exit::Ok
}

/// What `--dry-run` shows: the request, or why it cannot be built.
pub(crate) fn print_dry_run(request: Result<String, String>) -> Exit {
    match request {
        Ok(text) => {
            outln!("{text}");
            Exit::Ok
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Config
        }
    }
}

fn warn_problems(file: &str, problems: &[LineProblem]) {
    for p in problems {
        errln!("warning: {file}:{}: {}", p.line, p.message);
    }
}

/// The answer: a line (and how it was found), or one JSON object with
/// the fields of `how_json` too.
fn show(
    number: &str,
    key: &str,
    found: Option<&Person>,
    json: bool,
    how_json: serde_json::Value,
    how: impl FnOnce() -> String,
) {
    if json {
        let mut v = serde_json::json!({
            "number": number,
            "identity": key,
            "found": found,
        });
        if let (Some(v), serde_json::Value::Object(extra)) = (v.as_object_mut(), how_json) {
            v.extend(extra);
        }
        outln!("{v}");
        return;
    }
    match found {
        Some(p) => {
            let record = if p.record.is_empty() {
                String::new()
            } else {
                format!(", record {}", p.record)
            };
            outln!("{number} ({key}) → {}{record}", p.display());
        }
        None => outln!("{number} ({key}) → unknown caller"),
    }
    outln!("{}", how());
}
