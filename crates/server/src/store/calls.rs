//! What the server asks of the store that keeps its calls, whatever keeps
//! them: the routes, the desk, the wall and the reporter read and write
//! through [`CallStore`] only (on a thread that may block:
//! `SharedJournal`). SQLite's journal is the one backend today; a second
//! one implements this trait. The journal's writer (group commit on a
//! thread of its own) is the backend's own business.

use crate::model::event::Event;
use crate::model::record::{CallRecord, HistoryKind};

/// A report due now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueReport {
    pub id: i64,
    pub line: String,
    pub callref: String,
    pub tries: i64,
}

/// Reports by state, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportCounts {
    pub pending: u64,
    /// Pending, and refused at least once.
    pub failing: u64,
    pub done: u64,
    pub skipped: u64,
}

/// Why the store could not do what it was asked, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The calls, the desks' sessions and the reports' outbox.
pub trait CallStore: Send {
    /// The last `limit` calls of `line`, newest first; `kind` filters them.
    fn history(
        &self,
        line: &str,
        kind: Option<HistoryKind>,
        limit: usize,
    ) -> StoreResult<Vec<CallRecord>>;
    /// One call of `line`.
    fn call(&self, line: &str, callref: &str) -> StoreResult<Option<CallRecord>>;
    /// The newest `n` events of the last day, as `(line, callref, event,
    /// at)`: the repeats a restart must still know.
    fn recent_keys(&self, n: usize) -> StoreResult<Vec<(String, String, Event, i64)>>;
    /// Whether call `callref` of `line` had one of `events` lately (a
    /// notification sent again long after).
    fn has_event(&self, line: &str, callref: &str, events: &[Event]) -> StoreResult<bool>;
    /// The browser desk's sessions logged out and not yet at their end.
    fn desk_logouts(&self, now_secs: i64) -> StoreResult<Vec<(String, i64)>>;
    /// A session logged out, worthless until `until`.
    fn desk_logout(&self, nonce: &str, until: i64) -> StoreResult<()>;
    /// Up to when the desk `ident` has seen its missed calls.
    fn missed_seen(&self, ident: &str) -> StoreResult<Option<i64>>;
    /// The desk saw its missed calls up to `at`; the time kept.
    fn set_missed_seen(&self, ident: &str, at: i64) -> StoreResult<i64>;
    /// Reports due at `now`, `max` at most.
    fn due_reports(&self, now: i64, max: usize) -> StoreResult<Vec<DueReport>>;
    /// When the next report is due.
    fn next_report_at(&self) -> StoreResult<Option<i64>>;
    fn report_done(&self, id: i64, now: i64) -> StoreResult<()>;
    fn report_refused(&self, id: i64, next_at: i64, error: &str) -> StoreResult<()>;
    fn report_skipped(&self, id: i64, now: i64) -> StoreResult<()>;
    fn report_later(&self, id: i64, next_at: i64) -> StoreResult<()>;
    /// Reports by state (`/metrics`).
    fn report_counts(&self) -> StoreResult<ReportCounts>;
}
