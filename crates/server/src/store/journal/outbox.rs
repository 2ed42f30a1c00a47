//! The outbox of `<report>`: each finished call's report, kept with
//! the call's last event until the ERP takes it.

use rusqlite::params;

use crate::store::calls::{DueReport, ReportCounts};
use crate::store::journal::log::Journal;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;
    use crate::model::record::ReportState;
    use crate::store::journal::log::tests::ev;

    /// The outbox of `<report>`: a call's last event puts its report in,
    /// in the same transaction (a batch that fails leaves neither); a
    /// repeated end makes a pending report due again, never a second one;
    /// once done, nothing brings it back.
    #[test]
    fn a_calls_last_event_puts_its_report_in_the_outbox_once() {
        let mut j = Journal::in_memory().unwrap();
        j.set_reporting(true);
        j.record_all([(&ev("a", Event::Ring, "in"), 1_000)])
            .unwrap();
        assert!(j.due_reports(i64::MAX, 10).unwrap().is_empty());
        j.record_all([(&ev("a", Event::Release, "in"), 5_000)])
            .unwrap();
        assert!(j.due_reports(4_999, 10).unwrap().is_empty());
        let due = j.due_reports(10_000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].line.as_str(), due[0].callref.as_str()),
            ("1003", "a")
        );
        j.report_refused(due[0].id, 20_000, "HTTP 500").unwrap();
        assert!(j.due_reports(19_999, 10).unwrap().is_empty());
        let c = j.report_counts().unwrap();
        assert_eq!((c.pending, c.failing, c.done), (1, 1, 0));
        // The end again (a repeated notification): due now, still one.
        j.record_all([(&ev("a", Event::Release, "in"), 6_000)])
            .unwrap();
        assert_eq!(
            j.due_reports(10_000, 10).unwrap(),
            vec![DueReport {
                tries: 1,
                ..due[0].clone()
            }]
        );
        j.report_done(due[0].id, 30_000).unwrap();
        j.record_all([(&ev("a", Event::Release, "in"), 7_000)])
            .unwrap();
        assert!(j.due_reports(i64::MAX, 10).unwrap().is_empty());
        let call = j.call("1003", "a").unwrap().expect("the call");
        assert_eq!(
            call.report,
            Some(ReportState {
                state: "done".into(),
                tries: 2,
                error: None
            })
        );
        // A batch that cannot be written leaves no report behind.
        j.db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.callref = 'b' BEGIN SELECT RAISE(ABORT, 'refused'); END;")
            .unwrap();
        assert!(j
            .record_all([
                (&ev("c", Event::Release, "in"), 8_000),
                (&ev("b", Event::Release, "in"), 8_000)
            ])
            .is_err());
        assert!(j.due_reports(i64::MAX, 10).unwrap().is_empty());
        assert!(j.call("1003", "c").unwrap().is_none());
    }
}
