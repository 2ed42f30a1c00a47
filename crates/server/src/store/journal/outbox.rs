//! The outbox of `<report>`: each finished call's report, kept with
//! the call's last event until the ERP takes it.

use rusqlite::params;

use crate::store::journal::Journal;

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

impl Journal {
    /// From now on, a call's last event (RELEASE, MISSED) puts its report
    /// in the outbox in the transaction that writes the event: once the
    /// event is acknowledged, its report cannot be lost.
    pub fn set_reporting(&mut self, on: bool) {
        self.reporting = on;
    }

    /// Reports due at `now` (ms since 1970), oldest due first, at most
    /// `max`.
    pub fn due_reports(&self, now: i64, max: usize) -> rusqlite::Result<Vec<DueReport>> {
        let mut st = self.db.prepare_cached(
            "SELECT id, line, callref, tries FROM reports
             WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT ?2",
        )?;
        let rows = st.query_map(params![now, max as i64], |r| {
            Ok(DueReport {
                id: r.get(0)?,
                line: r.get(1)?,
                callref: r.get(2)?,
                tries: r.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// When the next pending report is due (ms since 1970).
    pub fn next_report_at(&self) -> rusqlite::Result<Option<i64>> {
        self.db
            .prepare_cached("SELECT MIN(next_at) FROM reports WHERE state = 'pending'")?
            .query_row([], |r| r.get(0))
    }

    /// The ERP took report `id`: it is never sent again.
    pub fn report_done(&self, id: i64, now: i64) -> rusqlite::Result<()> {
        self.db
            .prepare_cached(
                "UPDATE reports SET state = 'done', tries = tries + 1, done_at = ?2, last_error = NULL
                 WHERE id = ?1",
            )?
            .execute(params![id, now])?;
        Ok(())
    }

    /// Report `id` was not taken (`error`): sent again at `next_at`.
    pub fn report_refused(&self, id: i64, next_at: i64, error: &str) -> rusqlite::Result<()> {
        self.db
            .prepare_cached(
                "UPDATE reports SET tries = tries + 1, next_at = ?2, last_error = ?3 WHERE id = ?1",
            )?
            .execute(params![id, next_at, error])?;
        Ok(())
    }

    /// Report `id` is not to be sent (`<report_when>`), or waits for its
    /// call to end (`next_at`).
    pub fn report_skipped(&self, id: i64, now: i64) -> rusqlite::Result<()> {
        self.db
            .prepare_cached("UPDATE reports SET state = 'skipped', done_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
        Ok(())
    }

    pub fn report_later(&self, id: i64, next_at: i64) -> rusqlite::Result<()> {
        self.db
            .prepare_cached("UPDATE reports SET next_at = ?2 WHERE id = ?1")?
            .execute(params![id, next_at])?;
        Ok(())
    }

    /// The outbox by state.
    pub fn report_counts(&self) -> rusqlite::Result<ReportCounts> {
        let mut c = ReportCounts::default();
        if !self.reports {
            return Ok(c);
        }
        let mut st = self.db.prepare_cached(
            "SELECT state, tries > 0, COUNT(*) FROM reports GROUP BY state, tries > 0",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let n = r.get::<_, i64>(2)?.max(0) as u64;
            match (r.get_ref(0)?.as_str()?, r.get::<_, bool>(1)?) {
                ("pending", failing) => {
                    c.pending += n;
                    if failing {
                        c.failing += n;
                    }
                }
                ("done", _) => c.done += n,
                ("skipped", _) => c.skipped += n,
                _ => {}
            }
        }
        Ok(c)
    }
}
