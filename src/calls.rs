//! A call of the journal as a person reads it: the one form of `ctibridge
//! history` and the demo — who called whom, when, how it ended, how long
//! it rang and lasted (durations as `watch` shows them).

use crate::events::model::{CallState, Direction};
use crate::server::{CallRecord, HistoryKind};

/// How it went: answered, missed, not answered, ringing, in progress.
pub fn outcome(c: &CallRecord) -> &'static str {
    match (c.state, c.direction) {
        (CallState::Release, _) => "answered",
        (CallState::Missed, Direction::Out) => "not answered",
        (CallState::Missed, Direction::In) => "missed",
        (CallState::Connect, _) => "in progress",
        (CallState::Setup, _) => "ringing",
        (CallState::Parked, _) => "parked",
    }
}

/// One line: `when  kind  caller → callee  outcome  rang m:ss  talked
/// m:ss`; `when` is the set-up time in local time, as `time_format` says
/// (chrono's strftime).
pub fn readable(c: &CallRecord, time_format: &str) -> String {
    use chrono::TimeZone as _;
    let when = chrono::Local
        .timestamp_millis_opt(c.setup_at)
        .single()
        .map_or_else(|| "?".to_owned(), |t| t.format(time_format).to_string());
    let (from, to) = c.parties();
    let from = if from.is_empty() { "withheld" } else { from };
    let who = c
        .person
        .as_ref()
        .map_or_else(String::new, |p| format!("  {}", p.display()));
    let mut line = format!(
        "{when}  {:<8}  {from} → {to}{who}  {}",
        HistoryKind::of(c).as_str(),
        outcome(c)
    );
    let duration = |ms: i64| crate::events::call::duration(ms.max(0) as u64);
    if let Some(ms) = c.ringing_ms {
        line.push_str(&format!("  rang {}", duration(ms)));
    }
    if let Some(ms) = c.talk_ms {
        line.push_str(&format!("  talked {}", duration(ms)));
    }
    // Transferred, picked up, merged: the call that went on.
    if let Some(r) = &c.replaced_by {
        if r.line == c.line {
            line.push_str(&format!("  went on as call {}", r.callref));
        } else {
            line.push_str(&format!("  taken over by {}", r.line));
        }
    }
    if let Some(r) = &c.report {
        match (r.state.as_str(), r.tries, &r.error) {
            ("done", _, _) => line.push_str("  reported"),
            ("pending", 0, _) => line.push_str("  report pending"),
            ("pending", n, Some(e)) => {
                let e = crate::diag::excerpt(e, 60);
                line.push_str(&format!("  report refused {n}× ({e}), sent again later"));
            }
            ("pending", n, None) => {
                line.push_str(&format!("  report refused {n}×, sent again later"))
            }
            _ => {}
        }
    }
    line
}
