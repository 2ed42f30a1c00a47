//! `ctibridge history`: the calls of a line, from the bridge server with
//! this desk's credentials, or straight from a call journal's file.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone as _};

use ctibridge::exit::Exit;
use ctibridge::load::{self, LocateOptions};
use ctibridge::logfile::LogFile;
use ctibridge::server::{CallRecord, HistoryKind};

use crate::session::{current_thread_runtime, Session};

/// What `history` was asked.
pub(crate) struct HistoryArgs {
    pub(crate) line: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) since: Option<String>,
    pub(crate) limit: usize,
    pub(crate) journal: Option<std::path::PathBuf>,
    pub(crate) json: bool,
}

pub(crate) fn history(opts: &LocateOptions, log_file: &LogFile, args: HistoryArgs) -> Exit {
    let since = match args.since.as_deref().map(|s| since_ms(s, Local::now())) {
        None => None,
        Some(Ok(ms)) => Some(ms),
        Some(Err(e)) => {
            errln!("error: --since {e}");
            return Exit::Usage;
        }
    };
    let calls = match &args.journal {
        Some(path) => from_journal(opts, path, &args),
        None => from_server(opts, log_file, &args),
    };
    let mut calls = match calls {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    if let Some(since) = since {
        calls.retain(|c| c.setup_at >= since);
    }
    if args.json {
        for c in &calls {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["kind"] = serde_json::json!(HistoryKind::of(c).as_str());
            outln!("{v}");
        }
    } else if calls.is_empty() {
        outln!("no calls");
    } else {
        for c in &calls {
            outln!("{}", ctibridge::calls::readable(c, "%Y-%m-%d %H:%M:%S"));
        }
    }
    Exit::Ok
}

/// Straight from the journal's file: every line, or `--line`; numbers in
/// national form of the station's `<country>` (FR without station files).
fn from_journal(
    opts: &LocateOptions,
    path: &std::path::Path,
    args: &HistoryArgs,
) -> Result<Vec<CallRecord>, Exit> {
    let loaded = load::load(crate::env::locations(opts));
    let country = loaded.checked.as_ref().map_or_else(
        || "FR".to_owned(),
        |c| c.config.global.country.value.clone(),
    );
    let line = match &args.line {
        None => None,
        Some(l) => match ctibridge::number::identity(l, &country) {
            Ok(id) => Some(id),
            Err(e) => {
                errln!("error: --line {l}: {e}");
                return Err(Exit::BadInput);
            }
        },
    };
    let kind = args.kind.as_deref().and_then(HistoryKind::parse);
    let records = ctibridge::server::journal_history(path, line.as_deref(), kind, args.limit)
        .map_err(|e| {
            errln!("error: {e}");
            Exit::System
        })?;
    let national = |n: &str| {
        ctibridge::number::identity_in(n, ctibridge::config::NumberFormat::National, &country)
    };
    Ok(records
        .into_iter()
        .map(|mut c| {
            c.line = national(&c.line);
            c.tel = national(&c.tel);
            c.called = national(&c.called);
            if let Some(r) = &mut c.replaced_by {
                r.line = national(&r.line);
                r.tel = national(&r.tel);
            }
            c
        })
        .collect())
}

/// From the bridge server this desk's events come from, with its token.
fn from_server(
    opts: &LocateOptions,
    log_file: &LogFile,
    args: &HistoryArgs,
) -> Result<Vec<CallRecord>, Exit> {
    let session = Session::start(opts, log_file)?;
    let config = session.config();
    let values = ctibridge::dial::values(config);
    let line = args.line.clone().unwrap_or(values.telorg.clone());
    let limit = args.limit.to_string();
    let mut query = vec![
        ("ident", values.ident.as_str()),
        ("telorg", line.as_str()),
        ("limit", limit.as_str()),
    ];
    if let Some(k) = &args.kind {
        query.push(("kind", k.as_str()));
    }
    let Ok(rt) = current_thread_runtime() else {
        return Err(Exit::System);
    };
    let asked = rt.block_on(ctibridge::events::watch::ask_bridge(
        &session.context,
        config,
        session.fallback(),
        ctibridge::config::Method::Get,
        "history",
        &query,
    ));
    let resp = asked.map_err(|f| session.fail(&f))?;
    let v: serde_json::Value = serde_json::from_str(&resp.body).unwrap_or_default();
    let Some(calls) = v["calls"].as_array() else {
        errln!(
            "error: the bridge server's answer holds no calls: {}",
            resp.body_start()
        );
        return Err(Exit::Refused);
    };
    Ok(calls
        .iter()
        .filter_map(|c| serde_json::from_value::<CallRecord>(c.clone()).ok())
        .collect())
}

/// `--since`: a date, a date and time (local), `today`, `yesterday`, or a
/// span back from `now` (90m, 8h, 7d); in milliseconds since 1970.
fn since_ms(text: &str, now: DateTime<Local>) -> Result<i64, String> {
    let t = text.trim();
    let local = |n: NaiveDateTime| {
        Local
            .from_local_datetime(&n)
            .earliest()
            .map(|d| d.timestamp_millis())
            .ok_or_else(|| format!("{t}: no such local time"))
    };
    let midnight = |d: NaiveDate| local(d.and_hms_opt(0, 0, 0).expect("midnight exists"));
    match t {
        "today" => return midnight(now.date_naive()),
        "yesterday" => {
            return midnight(now.date_naive().pred_opt().ok_or("no yesterday")?);
        }
        _ => {}
    }
    if let Some((n, unit)) = t
        .char_indices()
        .last()
        .filter(|(_, c)| matches!(c, 'm' | 'h' | 'd'))
        .and_then(|(i, c)| t[..i].parse::<i64>().ok().map(|n| (n, c)))
    {
        let secs = match unit {
            'm' => 60,
            'h' => 3600,
            _ => 86_400,
        };
        return Ok(now.timestamp_millis() - n.saturating_mul(secs * 1000));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return midnight(d);
    }
    for f in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return local(n);
        }
    }
    Err(format!(
        "{t}: expected a date (2026-12-01), a date and time (2026-12-01T08:30), today, yesterday, or a span such as 90m, 8h, 7d"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_dates_spans_and_days() {
        let now = Local.with_ymd_and_hms(2026, 12, 2, 10, 30, 0).unwrap();
        let at = |y, mo, d, h, mi| {
            Local
                .with_ymd_and_hms(y, mo, d, h, mi, 0)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(since_ms("today", now), Ok(at(2026, 12, 2, 0, 0)));
        assert_eq!(since_ms("yesterday", now), Ok(at(2026, 12, 1, 0, 0)));
        assert_eq!(since_ms("2026-11-30", now), Ok(at(2026, 11, 30, 0, 0)));
        assert_eq!(
            since_ms("2026-11-30T08:15", now),
            Ok(at(2026, 11, 30, 8, 15))
        );
        assert_eq!(since_ms("90m", now), Ok(at(2026, 12, 2, 9, 0)));
        assert_eq!(since_ms("2h", now), Ok(at(2026, 12, 2, 8, 30)));
        assert_eq!(since_ms("1d", now), Ok(at(2026, 12, 1, 10, 30)));
        assert!(since_ms("last week", now)
            .unwrap_err()
            .contains("expected a date"));
        assert!(since_ms("5y", now).is_err());
    }
}
