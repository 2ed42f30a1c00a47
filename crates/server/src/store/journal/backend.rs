//! The journal as the server's [`CallStore`].

use crate::model::event::Event;
use crate::model::record::{CallRecord, HistoryKind};
use crate::store::calls::{CallStore, DueReport, ReportCounts, StoreResult};
use crate::store::journal::log::Journal;

impl CallStore for Journal {
    fn history(
        &self,
        line: &str,
        kind: Option<HistoryKind>,
        limit: usize,
    ) -> StoreResult<Vec<CallRecord>> {
        Ok(Journal::history(self, line, kind, limit)?)
    }

    fn call(&self, line: &str, callref: &str) -> StoreResult<Option<CallRecord>> {
        Ok(Journal::call(self, line, callref)?)
    }

    fn recent_keys(&self, n: usize) -> StoreResult<Vec<(String, String, Event, i64)>> {
        Ok(Journal::recent_keys(self, n)?)
    }

    fn has_event(&self, line: &str, callref: &str, events: &[Event]) -> StoreResult<bool> {
        Ok(Journal::has_event(self, line, callref, events)?)
    }

    fn desk_logouts(&self, now_secs: i64) -> StoreResult<Vec<(String, i64)>> {
        Ok(Journal::desk_logouts(self, now_secs)?)
    }

    fn desk_logout(&self, nonce: &str, until: i64) -> StoreResult<()> {
        Ok(Journal::desk_logout(self, nonce, until)?)
    }

    fn missed_seen(&self, ident: &str) -> StoreResult<Option<i64>> {
        Ok(Journal::missed_seen(self, ident)?)
    }

    fn set_missed_seen(&self, ident: &str, at: i64) -> StoreResult<i64> {
        Ok(Journal::set_missed_seen(self, ident, at)?)
    }

    fn due_reports(&self, now: i64, max: usize) -> StoreResult<Vec<DueReport>> {
        Ok(Journal::due_reports(self, now, max)?)
    }

    fn next_report_at(&self) -> StoreResult<Option<i64>> {
        Ok(Journal::next_report_at(self)?)
    }

    fn report_done(&self, id: i64, now: i64) -> StoreResult<()> {
        Ok(Journal::report_done(self, id, now)?)
    }

    fn report_refused(&self, id: i64, next_at: i64, error: &str) -> StoreResult<()> {
        Ok(Journal::report_refused(self, id, next_at, error)?)
    }

    fn report_skipped(&self, id: i64, now: i64) -> StoreResult<()> {
        Ok(Journal::report_skipped(self, id, now)?)
    }

    fn report_later(&self, id: i64, next_at: i64) -> StoreResult<()> {
        Ok(Journal::report_later(self, id, next_at)?)
    }

    fn report_counts(&self) -> StoreResult<ReportCounts> {
        Ok(Journal::report_counts(self)?)
    }
}
