//! The call journal: every call event of every line, in SQLite, so it
//! survives a restart; a line's calls — states, times, durations,
//! direction, the call each replaced — are folded from its events when
//! asked. What the Keyyo CTI `get_calls` gives: made, received and missed
//! calls per line.
//!
//! The journal is a log (one row appended per event, in the order
//! published) rather than a table of calls updated in place: appending is
//! the cheapest write SQLite has, and the journal is written at a
//! provider's notification rate, while histories are read now and then.

use std::path::Path;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::model::event::{Event, LineEvent};
use ctibridge_client::events::model::{CallState, Direction};

/// One call of one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub callref: String,
    pub line: String,
    pub direction: Direction,
    /// The other party.
    pub tel: String,
    pub called: String,
    pub state: CallState,
    /// Milliseconds since 1970.
    pub setup_at: i64,
    pub connect_at: Option<i64>,
    pub release_at: Option<i64>,
    pub ringing_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    /// The call this one replaced (Keyyo DREF_REPLACE).
    pub replaces: Option<String>,
    /// Who the other party is, as the server's `<lookup>` found it:
    /// `name`, `company`, `record`.
    #[serde(flatten)]
    pub person: Option<ctibridge_client::names::Person>,
    /// Its report to the ERP (`<report>`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportState>,
    /// The call park's slot, while it is parked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub park_slot: Option<String>,
    /// The call that took this one's place: transferred, merged, picked
    /// up (Keyyo's DREF_REPLACE) — when one of the journal's lines has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<Replacement>,
}

/// A call that replaced another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub callref: String,
    /// The line that has it.
    pub line: String,
    /// Its other party, from that line.
    pub tel: String,
}

/// Where a call's report stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportState {
    /// `pending` (not taken yet), `done` (the ERP took it) or `skipped`
    /// (`<report_when>` does not take this kind of call).
    pub state: String,
    /// Times it was sent.
    pub tries: i64,
    /// Why the last try was not taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

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

/// Which calls a history keeps: `made`, `received` or `missed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryKind {
    /// Outgoing calls.
    Made,
    /// Incoming calls answered (or still ringing).
    Received,
    /// Incoming calls that ended unanswered.
    Missed,
}

impl HistoryKind {
    /// The kind named `name` (`made`, `received`, `missed`).
    pub fn parse(name: &str) -> Option<HistoryKind> {
        match name {
            "made" => Some(HistoryKind::Made),
            "received" => Some(HistoryKind::Received),
            "missed" => Some(HistoryKind::Missed),
            _ => None,
        }
    }

    /// The kind `call` is of.
    pub fn of(call: &CallRecord) -> HistoryKind {
        match (call.direction, call.state) {
            (Direction::Out, _) => HistoryKind::Made,
            (Direction::In, CallState::Missed) => HistoryKind::Missed,
            (Direction::In, _) => HistoryKind::Received,
        }
    }

    /// Whether `call` is of this kind.
    pub fn keeps(self, call: &CallRecord) -> bool {
        HistoryKind::of(call) == self
    }

    /// `made`, `received`, `missed`.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Made => "made",
            HistoryKind::Received => "received",
            HistoryKind::Missed => "missed",
        }
    }
}

pub struct Journal {
    db: Connection,
    /// The events table has the `name`, `company`, `record` columns (a
    /// journal written before names, read only, has not).
    named: bool,
    /// There is a reports table (the outbox of `<report>`).
    reports: bool,
    /// The index of replaced calls is there (`replaced_by` is filled).
    linked: bool,
    /// A call's last event adds its report to the outbox, in the same
    /// transaction ([`Journal::set_reporting`]).
    reporting: bool,
}

use crate::model::clock::now_ms;

impl Journal {
    /// Opens (or creates) the journal at `path`. A new journal is readable
    /// by its owner only (SQLite gives its write-ahead log the same mode):
    /// it holds every caller's number.
    pub fn open(path: &Path) -> rusqlite::Result<Journal> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            if created.is_err() && ctibridge_lang::load::readable_by_others(path) {
                tracing::warn!(
                    path = %path.display(),
                    "the call journal can be read by other users: chmod 600 it (and its -wal and -shm files)"
                );
            }
        }
        Journal::setup(Connection::open(path)?)
    }

    /// An existing journal, read only (`ctibridge history --journal`): no
    /// file is created or changed, so a root shell may read the service's.
    pub fn open_read_only(path: &Path) -> rusqlite::Result<Journal> {
        let db = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        db.busy_timeout(BUSY_TIMEOUT)?;
        let named = has_names(&db)? && has_column(&db, "slot")?;
        let reports = has_table(&db, "reports")?;
        // Links are looked up through their index only (an older journal
        // without it would be read whole for each call).
        let linked = db
            .prepare(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'events_by_replaced'",
            )?
            .exists([])?;
        Ok(Journal {
            db,
            named,
            reports,
            linked,
            reporting: false,
        })
    }

    /// Every line the journal has events of.
    pub fn lines(&self) -> rusqlite::Result<Vec<String>> {
        let mut st = self
            .db
            .prepare("SELECT DISTINCT line FROM events ORDER BY line")?;
        let lines = st.query_map([], |r| r.get(0))?;
        lines.collect()
    }

    /// A journal that lives as long as the process (`serve --sim` without
    /// `--journal`).
    pub fn in_memory() -> rusqlite::Result<Journal> {
        Journal::setup(Connection::open_in_memory()?)
    }

    fn setup(db: Connection) -> rusqlite::Result<Journal> {
        // WAL with synchronous=NORMAL: a committed transaction is in the
        // write-ahead log before the commit returns, so it survives the
        // process being killed at any moment; the log is synced to the disk
        // at each checkpoint, so a power cut can lose what was committed
        // since the last one (at most about a second of calls: see
        // [`SETTLE_AFTER`]).
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        // Another process holding the journal's lock (a backup, a
        // `sqlite3` shell): wait for it a while before refusing events
        // (the writer waits only on its own thread: see [`Writer`]).
        db.busy_timeout(BUSY_TIMEOUT)?;
        // The write-ahead log is copied back into the journal by the
        // journal's thread, never by a commit ([`Writer`]): once the server
        // has been quiet for a second, or every [`WAL_EVENTS`] events.
        db.pragma_update(None, "wal_autocheckpoint", 0)?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY,
                line TEXT NOT NULL,
                callref TEXT NOT NULL,
                event TEXT NOT NULL,
                direction TEXT NOT NULL,
                tel TEXT NOT NULL,
                called TEXT NOT NULL,
                at INTEGER NOT NULL,
                replaces TEXT
            );
            CREATE INDEX IF NOT EXISTS events_by_line ON events (line, seq);
            CREATE INDEX IF NOT EXISTS events_by_call ON events (line, callref);
            CREATE TABLE IF NOT EXISTS reports (
                id INTEGER PRIMARY KEY,
                line TEXT NOT NULL,
                callref TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                tries INTEGER NOT NULL DEFAULT 0,
                next_at INTEGER NOT NULL,
                last_error TEXT,
                done_at INTEGER,
                UNIQUE (line, callref)
            );
            CREATE INDEX IF NOT EXISTS reports_due ON reports (state, next_at);
            CREATE INDEX IF NOT EXISTS events_by_replaced ON events (replaces)
                WHERE replaces IS NOT NULL;
            CREATE TABLE IF NOT EXISTS desk_logouts (
                nonce TEXT PRIMARY KEY,
                until INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS desk_seen (
                ident TEXT PRIMARY KEY,
                missed_seen INTEGER NOT NULL
            );",
        )?;
        // A journal written before names (or the park's slot): the
        // columns are added (NULL in its old rows).
        if !has_names(&db)? {
            db.execute_batch(
                "BEGIN IMMEDIATE;
                 ALTER TABLE events ADD COLUMN name TEXT;
                 ALTER TABLE events ADD COLUMN company TEXT;
                 ALTER TABLE events ADD COLUMN record TEXT;
                 COMMIT;",
            )?;
        }
        if !has_column(&db, "slot")? {
            db.execute_batch("ALTER TABLE events ADD COLUMN slot TEXT;")?;
        }
        Ok(Journal {
            db,
            named: true,
            reports: true,
            linked: true,
            reporting: false,
        })
    }

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

    /// One call of `line`, folded from its events.
    pub fn call(&self, line: &str, callref: &str) -> rusqlite::Result<Option<CallRecord>> {
        let mut st = self.db.prepare_cached(if self.named {
            "SELECT callref, event, direction, tel, called, at, replaces, name, company, record, slot
             FROM events WHERE line = ?1 AND callref = ?2 ORDER BY seq DESC"
        } else {
            "SELECT callref, event, direction, tel, called, at, replaces, NULL, NULL, NULL, NULL
             FROM events WHERE line = ?1 AND callref = ?2 ORDER BY seq DESC"
        })?;
        let mut rows = st.query(params![line, callref])?;
        let mut events = Vec::new();
        while let Some(r) = rows.next()? {
            if let Some((_, logged)) = logged_of(r)? {
                events.push(logged);
            }
        }
        if events.is_empty() {
            return Ok(None);
        }
        let mut call = fold(callref, line, &events);
        call.report = self.report_of(line, callref)?;
        Ok(Some(call))
    }

    /// Where the report of a call stands, if it has one.
    /// The first call that says it replaces `callref`, on any line.
    fn replacement_of(&self, callref: &str) -> rusqlite::Result<Option<Replacement>> {
        use rusqlite::OptionalExtension as _;
        if !self.linked {
            return Ok(None);
        }
        self.db
            .prepare_cached(
                "SELECT callref, line, tel FROM events WHERE replaces = ?1 ORDER BY seq LIMIT 1",
            )?
            .query_row(params![callref], |r| {
                Ok(Replacement {
                    callref: r.get(0)?,
                    line: r.get(1)?,
                    tel: r.get(2)?,
                })
            })
            .optional()
    }

    fn report_of(&self, line: &str, callref: &str) -> rusqlite::Result<Option<ReportState>> {
        if !self.reports {
            return Ok(None);
        }
        use rusqlite::OptionalExtension as _;
        self.db
            .prepare_cached(
                "SELECT state, tries, last_error FROM reports WHERE line = ?1 AND callref = ?2",
            )?
            .query_row(params![line, callref], |r| {
                Ok(ReportState {
                    state: r.get(0)?,
                    tries: r.get(1)?,
                    error: r.get(2)?,
                })
            })
            .optional()
    }

    /// Copies the write-ahead log into the journal (without waiting for
    /// readers), so that it does not grow while the server is quiet.
    pub fn settle(&self) -> rusqlite::Result<()> {
        self.db
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
    }

    /// Records an event of a call, at `at` (ms since 1970).
    #[cfg(test)]
    pub fn record(&self, ev: &LineEvent, at: i64) -> rusqlite::Result<()> {
        record_with(&mut self.db.prepare_cached(RECORD)?, ev, at)
    }

    /// Records events in one transaction, with one statement prepared once:
    /// all of them, or (an error) none.
    pub fn record_all<'e>(
        &self,
        events: impl IntoIterator<Item = (&'e LineEvent, i64)>,
    ) -> rusqlite::Result<()> {
        let events: Vec<(&LineEvent, i64)> = events.into_iter().collect();
        // IMMEDIATE: the write lock is taken (or waited for, up to the busy
        // timeout) at the start, not half-way. The transaction's own
        // statements are prepared once too (they are run for every batch).
        self.db.prepare_cached("BEGIN IMMEDIATE")?.raw_execute()?;
        let written = (|| {
            // In statements of 32, 16, 8, 4, 2 and 1 rows: a batch of any
            // size in a handful of statements, each prepared once.
            let mut rest = &events[..];
            for (size, sql) in RECORD_MANY.iter() {
                if rest.len() < *size {
                    continue;
                }
                let mut st = self.db.prepare_cached(sql)?;
                while rest.len() >= *size {
                    let (chunk, after) = rest.split_at(*size);
                    chunk
                        .iter()
                        .enumerate()
                        .try_for_each(|(i, (ev, at))| bind_event(&mut st, i * COLUMNS, ev, *at))?;
                    st.raw_execute()?;
                    rest = after;
                }
            }
            if self.reporting {
                // A call's last event: its report goes into the outbox with
                // it (or is due again now, if its call went on after an
                // early end).
                let mut st = self.db.prepare_cached(
                    "INSERT INTO reports (line, callref, created_at, next_at) VALUES (?1, ?2, ?3, ?3)
                     ON CONFLICT (line, callref) DO UPDATE SET next_at = excluded.next_at
                     WHERE state = 'pending'",
                )?;
                for (ev, at) in &events {
                    if matches!(ev.event, Event::Release | Event::Missed) {
                        st.execute(params![ev.line, ev.callref, at])?;
                    }
                }
            }
            self.db.prepare_cached("COMMIT")?.raw_execute()
        })();
        match written {
            Ok(_) => Ok(()),
            // All of them, or (an error) none.
            Err(e) => {
                if !self.db.is_autocommit() {
                    let _ = self.db.execute_batch("ROLLBACK");
                }
                Err(e)
            }
        }
    }

    /// The browser desk's sessions logged out and not yet at their end
    /// (`until`, seconds since 1970): those past it are forgotten here.
    pub fn desk_logouts(&self, now_secs: i64) -> rusqlite::Result<Vec<(String, i64)>> {
        self.db
            .execute("DELETE FROM desk_logouts WHERE until <= ?1", [now_secs])?;
        let mut st = self.db.prepare("SELECT nonce, until FROM desk_logouts")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// The (line, call, event) of the newest `n` events journaled within a
    /// day, newest first: what a notification sent again would repeat.
    pub fn recent_keys(&self, n: usize) -> rusqlite::Result<Vec<(String, String, Event, i64)>> {
        let since = now_ms() - CALL_SPAN;
        let mut st = self.db.prepare(
            "SELECT line, callref, event, at FROM events WHERE at >= ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![since, n as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (line, callref, event, at) = row?;
            if let Some(e) = Event::parse(&event) {
                keys.push((line, callref, e, at));
            }
        }
        Ok(keys)
    }

    /// Whether `line` journaled an event of `callref` among `events` in
    /// the last day (a notification sent again, long after).
    pub fn has_event(&self, line: &str, callref: &str, events: &[Event]) -> rusqlite::Result<bool> {
        let since = now_ms() - CALL_SPAN;
        let mut st = self.db.prepare_cached(
            "SELECT event FROM events WHERE line = ?1 AND callref = ?2 AND at >= ?3",
        )?;
        let mut rows = st.query(params![line, callref, since])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(0)?;
            if Event::parse(&name).is_some_and(|e| events.contains(&e)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A browser desk's session logged out, worthless until `until`.
    pub fn desk_logout(&self, nonce: &str, until: i64) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT OR REPLACE INTO desk_logouts (nonce, until) VALUES (?1, ?2)",
            params![nonce, until],
        )?;
        Ok(())
    }

    /// Up to when (ms since 1970) the desk `ident` has seen its missed calls.
    pub fn missed_seen(&self, ident: &str) -> rusqlite::Result<Option<i64>> {
        use rusqlite::OptionalExtension as _;
        self.db
            .query_row(
                "SELECT missed_seen FROM desk_seen WHERE ident = ?1",
                [ident],
                |r| r.get(0),
            )
            .optional()
    }

    /// The desk `ident` has seen its missed calls up to `at`; a mark never
    /// goes back (two browsers of one desk).
    pub fn set_missed_seen(&self, ident: &str, at: i64) -> rusqlite::Result<i64> {
        self.db.execute(
            "INSERT INTO desk_seen (ident, missed_seen) VALUES (?1, ?2)
             ON CONFLICT (ident) DO UPDATE SET missed_seen = max(missed_seen, excluded.missed_seen)",
            params![ident, at],
        )?;
        Ok(self.missed_seen(ident)?.unwrap_or(at))
    }

    /// Whether the journal can be written: takes the write lock (waiting
    /// up to the busy timeout) and lets it go.
    pub fn probe(&self) -> rusqlite::Result<()> {
        self.db.execute_batch("BEGIN IMMEDIATE; COMMIT;")
    }

    /// The last `limit` calls of `line`, newest first; `kind` filters them:
    /// `made`, `received`, `missed` or all.
    ///
    /// The line's events are read newest first and folded into calls. A
    /// call's events lie within [`CALL_SPAN`] of each other, so once the
    /// events read go back further than that before the `limit`-th wanted
    /// call, no older event can change the answer and reading stops (it
    /// stops anyway after [`HISTORY_EVENTS`] events).
    pub fn history(
        &self,
        line: &str,
        kind: Option<HistoryKind>,
        limit: usize,
    ) -> rusqlite::Result<Vec<CallRecord>> {
        let wanted = |c: &CallRecord| kind.is_none_or(|k| k.keeps(c));
        let mut st = self.db.prepare_cached(if self.named {
            "SELECT callref, event, direction, tel, called, at, replaces, name, company, record, slot
             FROM events WHERE line = ?1 ORDER BY seq DESC LIMIT ?2"
        } else {
            "SELECT callref, event, direction, tel, called, at, replaces, NULL, NULL, NULL, NULL
             FROM events WHERE line = ?1 ORDER BY seq DESC LIMIT ?2"
        })?;
        let mut rows = st.query(params![line, HISTORY_EVENTS])?;
        // Each call's events, newest first, in the order the calls are met.
        let mut calls: Vec<(String, Vec<Logged>)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        // Every event of a call whose newest is after `horizon` is read.
        let mut horizon = i64::MAX;
        // calls[..complete] are known whole; the set-up times of the
        // wanted ones not yet after `horizon`; how many are.
        let mut complete = 0;
        let mut pending = std::collections::BinaryHeap::new();
        let mut counted = 0;
        let mut stopped = false;
        while let Some(r) = rows.next()? {
            let Some((callref, logged)) = logged_of(r)? else {
                continue;
            };
            horizon = horizon.min(logged.at.saturating_add(CALL_SPAN));
            match index.get(&callref) {
                Some(&i) => calls[i].1.push(logged),
                None => {
                    index.insert(callref.clone(), calls.len());
                    calls.push((callref, vec![logged]));
                }
            }
            while let Some((callref, events)) = calls.get(complete) {
                if events[0].at <= horizon {
                    break;
                }
                let call = fold(callref, line, events);
                if wanted(&call) {
                    pending.push(call.setup_at);
                }
                complete += 1;
            }
            while pending.peek().is_some_and(|&at| at > horizon) {
                pending.pop();
                counted += 1;
            }
            if counted >= limit {
                stopped = true;
                break;
            }
        }
        let mut found: Vec<CallRecord> = calls
            .iter()
            .filter(|(_, events)| !stopped || events[0].at > horizon)
            .map(|(callref, events)| fold(callref, line, events))
            .filter(|c| wanted(c))
            .collect();
        found.sort_by_key(|c| std::cmp::Reverse(c.setup_at));
        found.truncate(limit);
        for c in &mut found {
            c.report = self.report_of(line, &c.callref)?;
            c.replaced_by = self.replacement_of(&c.callref)?;
        }
        Ok(found)
    }
}

/// Events written between two copies of the write-ahead log into the
/// journal, in a long burst (tens of MB of log).
const WAL_EVENTS: u64 = 100_000;

use crate::model::clock::{CALL_SPAN, RINGING_SPAN};
/// Events a history reads at most.
pub const HISTORY_EVENTS: i64 = 200_000;

impl CallRecord {
    /// Whether the call is under way at `now` (ms since 1970): not ended,
    /// and not so old that its end must have been lost (a notification
    /// the provider never sent, a server stopped mid-call): ringing for
    /// `RINGING_SPAN` (10 min), or begun `CALL_SPAN` (a day) ago. A desk
    /// and the wall never show such a call for ever.
    pub fn under_way(&self, now: i64) -> bool {
        if self.state.is_ended() {
            return false;
        }
        let age = now.saturating_sub(self.setup_at);
        if self.connect_at.is_some() || self.state == CallState::Parked {
            age < CALL_SPAN
        } else {
            age < RINGING_SPAN
        }
    }
}

/// One event of a call as the journal keeps it.
struct Logged {
    event: Event,
    direction: Direction,
    tel: String,
    called: String,
    at: i64,
    replaces: Option<String>,
    person: Option<ctibridge_client::names::Person>,
    slot: Option<String>,
}

/// An event row (callref, event, direction, tel, called, at, replaces,
/// name, company, record); `None` for a word this version does not know.
fn logged_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<(String, Logged)>> {
    let callref: String = r.get(0)?;
    let Some(event) = Event::parse(r.get_ref(1)?.as_str()?) else {
        return Ok(None);
    };
    let Some(direction) = Direction::parse(r.get_ref(2)?.as_str()?) else {
        return Ok(None);
    };
    Ok(Some((
        callref,
        Logged {
            event,
            direction,
            tel: r.get(3)?,
            called: r.get(4)?,
            at: r.get(5)?,
            replaces: r.get(6)?,
            person: person_of(r.get(7)?, r.get(8)?, r.get(9)?),
            slot: r.get(10)?,
        },
    )))
}

/// Whether the database has the table `name`.
fn has_table(db: &Connection, name: &str) -> rusqlite::Result<bool> {
    let mut st = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?;
    st.exists([name])
}

/// Whether the events table has the columns of names.
fn has_names(db: &Connection) -> rusqlite::Result<bool> {
    has_column(db, "name")
}

/// Whether the events table has the column `name`.
fn has_column(db: &Connection, name: &str) -> rusqlite::Result<bool> {
    let mut st = db.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = ?1")?;
    st.exists([name])
}

/// A person from the journal's columns: none when no name nor company.
fn person_of(
    name: Option<String>,
    company: Option<String>,
    record: Option<String>,
) -> Option<ctibridge_client::names::Person> {
    let p = ctibridge_client::names::Person {
        name: name.unwrap_or_default(),
        company: company.unwrap_or_default(),
        record: record.unwrap_or_default(),
    };
    (!p.name.is_empty() || !p.company.is_empty()).then_some(p)
}

/// A call from its events (newest first): its first event sets it up;
/// then setup → connect on CONNECT, setup → missed on RELEASE or MISSED,
/// connect → release on RELEASE. Anything else (a repeat, a "missed" after
/// the answer: OVH's end_ringing once connected) changes nothing.
fn fold(callref: &str, line: &str, newest_first: &[Logged]) -> CallRecord {
    use ctibridge_client::events::model::Transition;
    let mut chronological = newest_first.iter().rev();
    let first = chronological.next().expect("a call has an event");
    let mut state = CallState::first(first.event);
    let (mut connect_at, mut release_at) = match state {
        CallState::Connect | CallState::Parked => (Some(first.at), None),
        CallState::Setup => (None, None),
        CallState::Release | CallState::Missed => (None, Some(first.at)),
    };
    // The park slot of the newest park, while the call is parked.
    let mut slot = first.slot.clone();
    for e in chronological {
        if let Transition::To(next) = state.after(e.event) {
            match next {
                // The first answer: taken back from the park, it goes on.
                CallState::Connect => {
                    connect_at.get_or_insert(e.at);
                }
                CallState::Parked => slot.clone_from(&e.slot),
                CallState::Release | CallState::Missed => release_at = Some(e.at),
                CallState::Setup => {}
            }
            state = next;
        }
    }
    CallRecord {
        callref: callref.to_owned(),
        line: line.to_owned(),
        direction: first.direction,
        tel: first.tel.clone(),
        called: first.called.clone(),
        state,
        setup_at: first.at,
        connect_at,
        release_at,
        ringing_ms: connect_at.or(release_at).map(|t| t - first.at),
        talk_ms: connect_at.zip(release_at).map(|(c, r)| r - c),
        replaces: first.replaces.clone(),
        // The newest event that names the other party.
        person: newest_first.iter().find_map(|e| e.person.clone()),
        report: None,
        park_slot: slot.filter(|_| state == CallState::Parked),
        replaced_by: None,
    }
}

/// Appends a call event to the log.
#[cfg(test)]
const RECORD: &str =
    "INSERT INTO events (line, callref, event, direction, tel, called, at, replaces, name, company, record, slot)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
/// The columns [`RECORD`] sets.
const COLUMNS: usize = 12;
/// Statements appending 32, 16, 8, 4, 2 and 1 events.
static RECORD_MANY: std::sync::LazyLock<Vec<(usize, String)>> = std::sync::LazyLock::new(|| {
    let row = format!("({})", ["?"; COLUMNS].join(", "));
    [32, 16, 8, 4, 2, 1]
        .into_iter()
        .map(|n| {
            // OR ROLLBACK: a row that cannot be written ends the whole
            // transaction, as `record_all` wants (all or none), so SQLite
            // keeps no statement journal (a 64 KB copy of every page
            // touched, per statement).
            let sql = format!(
                "INSERT OR ROLLBACK INTO events (line, callref, event, direction, tel, called, at, replaces, name, company, record, slot) VALUES {}",
                vec![row.as_str(); n].join(", ")
            );
            (n, sql)
        })
        .collect()
});

/// Binds `ev`'s columns from parameter `first` + 1 on.
fn bind_event(
    st: &mut rusqlite::CachedStatement<'_>,
    first: usize,
    ev: &LineEvent,
    at: i64,
) -> rusqlite::Result<()> {
    st.raw_bind_parameter(first + 1, &ev.line)?;
    st.raw_bind_parameter(first + 2, &ev.callref)?;
    st.raw_bind_parameter(first + 3, ev.event.as_str())?;
    st.raw_bind_parameter(first + 4, ev.direction.as_str())?;
    st.raw_bind_parameter(first + 5, &ev.tel)?;
    st.raw_bind_parameter(first + 6, &ev.called)?;
    st.raw_bind_parameter(first + 7, at)?;
    st.raw_bind_parameter(first + 8, &ev.replaces)?;
    let person = ev.person.as_ref();
    st.raw_bind_parameter(first + 9, person.map(|p| p.name.as_str()))?;
    st.raw_bind_parameter(first + 10, person.map(|p| p.company.as_str()))?;
    st.raw_bind_parameter(first + 11, person.map(|p| p.record.as_str()))?;
    st.raw_bind_parameter(first + 12, &ev.slot)
}

#[cfg(test)]
fn record_with(
    st: &mut rusqlite::CachedStatement<'_>,
    ev: &LineEvent,
    at: i64,
) -> rusqlite::Result<()> {
    bind_event(st, 0, ev, at)?;
    st.raw_execute()?;
    Ok(())
}

/// The journal's writing side: events committed in batches (one
/// transaction per batch: a group commit) on the journal's own thread,
/// each with an acknowledgement sent once its transaction is committed or
/// has failed. The server answers a notification, and hands an event to
/// desks, only once it is committed ([`crate::store::ingest`]); its runtime never
/// touches the disk.
///
/// A batch is what the server gathered before it ran out of work: the
/// runtime tells the writer when it is about to wait ([`Idle`]), and the
/// thread then takes every event queued. Without that signal (a runtime
/// built elsewhere: the tests) the thread is woken by the first event,
/// and takes what came meanwhile. The thread waits for another process's
/// lock up to [`BUSY_TIMEOUT`]; it also copies the write-ahead log into the
/// journal, and, while the journal cannot be written, tries it again every
/// [`PROBE_EVERY`].
pub struct Writer {
    shared: std::sync::Arc<Shared>,
}

/// What the server's tasks and the journal's thread share.
struct Shared {
    queue: std::sync::Mutex<Queue>,
    /// The thread waits on it for work.
    wake: std::sync::Condvar,
    /// Set while the journal cannot be written (a commit failed, and no
    /// probe has succeeded since): new notifications are refused at once.
    down: std::sync::atomic::AtomicBool,
    /// Whether the runtime says when it is idle ([`Idle`]); if not, the
    /// first event of a batch wakes the thread.
    told_idle: std::sync::atomic::AtomicBool,
    /// Events written (or not), whose waiters are told by a task on the
    /// runtime: one wake-up of the runtime per batch, not one per event.
    done: std::sync::Mutex<Vec<(Pending, bool)>>,
    written: tokio::sync::Notify,
    /// The thread has ended: nothing more is written.
    ended: std::sync::atomic::AtomicBool,
    /// How long an event waits for the runtime to be idle at most.
    hold: std::time::Duration,
    /// Batches taken when the runtime said it was idle.
    idle_batches: std::sync::atomic::AtomicU64,
    /// Commit times, the queue's length: `/metrics`.
    metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
}

/// The events waiting for the thread, and what else it is asked.
#[derive(Default)]
struct Queue {
    events: Vec<Pending>,
    /// The thread may take the events now.
    go: bool,
    /// Asked to say when everything queued before is written.
    flushes: Vec<tokio::sync::oneshot::Sender<()>>,
    stop: bool,
    /// When the oldest event waiting was queued.
    since: Option<std::time::Instant>,
    /// `go` was said by the idle runtime.
    idle: bool,
}

/// An event, its time, and who waits for its commit (and gets the event
/// back with the answer: committed or not).
struct Pending {
    event: LineEvent,
    at: i64,
    ack: tokio::sync::oneshot::Sender<(bool, LineEvent)>,
}

impl Pending {
    fn answer(self, committed: bool) {
        let _ = self.ack.send((committed, self.event));
    }
}

/// Why an event was not journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
    /// The journal cannot be written at the moment.
    Down,
    /// The writer has stopped.
    Closed,
}

/// How long the journal's thread waits for a lock held by another process
/// (or a long history) before the batch fails and its events are refused:
/// a notification answered 503 is sent again by its sender.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(2000);
/// While the journal is down, how often the thread tries it again.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// How long the server must be quiet before the write-ahead log is copied
/// into the journal (a checkpoint): in quiet times rather than in the
/// middle of a burst of calls.
const SETTLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// Events waiting for the thread at most; beyond, new ones are refused.
const QUEUE: usize = 65_536;
/// Events that make a batch whether or not the runtime is idle.
const FULL_BATCH: usize = 1024;
/// How long an event waits for the runtime to be idle at most: a runtime
/// that never runs out of work still has its events written.
const MAX_HOLD: std::time::Duration = std::time::Duration::from_millis(2);

/// Tells the journal's writer that the server's runtime has nothing left
/// to do and is about to wait: the events queued so far are the batch.
/// Called from the runtime's park hook (`serve::runtime`); until a
/// writer is bound to it, does nothing.
#[derive(Clone, Default)]
pub struct Idle(std::sync::Arc<std::sync::OnceLock<std::sync::Weak<Shared>>>);

impl Idle {
    /// The runtime is about to wait.
    pub fn now(&self) {
        if let Some(shared) = self.0.get().and_then(std::sync::Weak::upgrade) {
            let mut q = shared.lock_queue();
            if !q.events.is_empty() && !q.go {
                q.go = true;
                q.idle = true;
                shared.wake.notify_one();
            }
        }
    }
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Idle")
    }
}

impl Shared {
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Commits `batch` in one transaction and tells each waiter — a failure
/// only once `down` says so: whoever is told "not kept" sees new events
/// refused.
fn write_batch(journal: &Journal, batch: Vec<Pending>, shared: &Shared) {
    use std::sync::atomic::Ordering::SeqCst;
    let n = batch.len();
    let started = std::time::Instant::now();
    let recorded = journal.record_all(batch.iter().map(|p| (&p.event, p.at)));
    shared
        .metrics
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    let written = match recorded {
        Ok(()) => {
            if shared.down.swap(false, SeqCst) {
                tracing::warn!("the call journal can be written again");
            }
            true
        }
        Err(e) => {
            if !shared.down.swap(true, SeqCst) {
                tracing::error!(
                    "the call journal cannot be written ({e}): {n} call events refused; new notifications are answered 503 until it can"
                );
            }
            false
        }
    };
    shared
        .done
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(batch.into_iter().map(|p| (p, written)));
    shared.written.notify_one();
}

impl Writer {
    /// Starts the journal's thread on `journal` (shared with the readers);
    /// `idle`, when given, is the runtime's signal that a batch is
    /// complete.
    pub fn start(
        journal: std::sync::Arc<std::sync::Mutex<Journal>>,
        idle: Option<&Idle>,
        metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        Writer::start_holding(journal, idle, MAX_HOLD, metrics)
    }

    /// [`Writer::start`], an event waiting for the runtime's idle moment
    /// `hold` at most.
    fn start_holding(
        journal: std::sync::Arc<std::sync::Mutex<Journal>>,
        idle: Option<&Idle>,
        hold: std::time::Duration,
        metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        use std::sync::atomic::Ordering::SeqCst;
        let shared = std::sync::Arc::new(Shared {
            queue: std::sync::Mutex::new(Queue::default()),
            wake: std::sync::Condvar::new(),
            down: std::sync::atomic::AtomicBool::new(false),
            told_idle: std::sync::atomic::AtomicBool::new(false),
            done: std::sync::Mutex::new(Vec::new()),
            written: tokio::sync::Notify::new(),
            ended: std::sync::atomic::AtomicBool::new(false),
            hold,
            idle_batches: std::sync::atomic::AtomicU64::new(0),
            metrics,
        });
        // Tells the waiters of each batch written, on the runtime; ends
        // once the thread has ended and its last batch is told.
        let teller = shared.clone();
        tokio::spawn(async move {
            loop {
                teller.written.notified().await;
                let ended = teller.ended.load(SeqCst);
                let done =
                    std::mem::take(&mut *teller.done.lock().unwrap_or_else(|p| p.into_inner()));
                for (p, written) in done {
                    p.answer(written);
                }
                if ended {
                    break;
                }
            }
        });
        if let Some(idle) = idle {
            if idle.0.set(std::sync::Arc::downgrade(&shared)).is_ok() {
                shared.told_idle.store(true, SeqCst);
            }
        }
        let inner = shared.clone();
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                let shared = inner;
                let lock = || journal.lock().unwrap_or_else(|p| p.into_inner());
                let _ = lock().db.busy_timeout(BUSY_TIMEOUT);
                // Events written since the write-ahead log was last copied,
                // and when the last of them was.
                let mut unsettled: u64 = 0;
                let mut last_write = std::time::Instant::now();
                let mut room = 64;
                loop {
                    let (batch, flushes, stop) = {
                        let mut q = shared.lock_queue();
                        let wait = if shared.down.load(SeqCst) {
                            PROBE_EVERY
                        } else {
                            SETTLE_AFTER
                        };
                        let since = std::time::Instant::now();
                        while !(q.go || q.stop || !q.flushes.is_empty()) {
                            let left = match q.since {
                                Some(first) => shared.hold.saturating_sub(first.elapsed()),
                                None => wait.saturating_sub(since.elapsed()),
                            };
                            if left.is_zero() {
                                break;
                            }
                            q = shared
                                .wake
                                .wait_timeout(q, left)
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                        if std::mem::take(&mut q.idle) && !q.events.is_empty() {
                            shared.idle_batches.fetch_add(1, SeqCst);
                        }
                        q.go = false;
                        q.since = None;
                        // The next batch starts as large as the largest
                        // so far: not grown an event at a time.
                        room = room.max(q.events.len());
                        let batch = if q.events.is_empty() {
                            Vec::new()
                        } else {
                            std::mem::replace(&mut q.events, Vec::with_capacity(room))
                        };
                        (batch, std::mem::take(&mut q.flushes), q.stop)
                    };
                    if !batch.is_empty() {
                        let n = batch.len() as u64;
                        write_batch(&lock(), batch, &shared);
                        if !shared.down.load(SeqCst) {
                            unsettled += n;
                            last_write = std::time::Instant::now();
                        }
                    } else if flushes.is_empty() && !stop {
                        // Quiet (or down) for a while.
                        let j = lock();
                        if shared.down.load(SeqCst) {
                            if j.probe().is_ok() {
                                // Up before it is said: whoever reads the
                                // line finds the journal taking events.
                                shared.down.store(false, SeqCst);
                                tracing::warn!("the call journal can be written again");
                            }
                        } else if unsettled > 0 && last_write.elapsed() >= SETTLE_AFTER {
                            if let Err(e) = j.settle() {
                                tracing::warn!("journal checkpoint: {e}");
                            }
                            unsettled = 0;
                        }
                    }
                    if unsettled >= WAL_EVENTS {
                        // A long burst: the log is copied without waiting
                        // for a quiet moment.
                        if let Err(e) = lock().settle() {
                            tracing::warn!("journal checkpoint: {e}");
                        }
                        unsettled = 0;
                    }
                    for done in flushes {
                        let _ = done.send(());
                    }
                    if stop {
                        break;
                    }
                }
                // Whatever came with the stop, then a checkpoint for the road.
                let rest = std::mem::take(&mut shared.lock_queue().events);
                if !rest.is_empty() {
                    write_batch(&lock(), rest, &shared);
                    unsettled += 1;
                }
                if unsettled > 0 {
                    let _ = lock().settle();
                }
                shared.ended.store(true, SeqCst);
                shared.written.notify_one();
            })
            .expect("the journal thread starts");
        (Writer { shared }, handle)
    }

    /// Events waiting for the next commit.
    pub fn queued(&self) -> usize {
        self.shared.lock_queue().events.len()
    }

    /// Whether the journal cannot be written at the moment.
    pub fn is_down(&self) -> bool {
        self.shared.down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Journals `event` (its time taken now) with the other events of the
    /// moment; resolves to the event once its transaction is committed.
    /// Never touches the disk on the caller's thread. While the journal is
    /// down a new event is refused at once; a retry (`retrying`, the
    /// relay's) goes through, to find out whether it is back.
    pub async fn commit(&self, event: LineEvent, retrying: bool) -> Result<LineEvent, NotQueued> {
        use std::sync::atomic::Ordering::SeqCst;
        if !retrying && self.is_down() {
            return Err(NotQueued::Down);
        }
        let (ack, committed) = tokio::sync::oneshot::channel();
        {
            let mut q = self.shared.lock_queue();
            if q.stop {
                return Err(NotQueued::Closed);
            }
            if q.events.len() >= QUEUE {
                return Err(NotQueued::Down);
            }
            if q.events.is_empty() {
                q.since = Some(std::time::Instant::now());
            }
            // The event's time is when the server took it: the same for
            // the journal and for every desk, whenever it reads it.
            let mut event = event;
            if event.at <= 0 {
                event.at = now_ms();
            }
            q.events.push(Pending {
                at: event.at,
                event,
                ack,
            });
            let told_idle = self.shared.told_idle.load(SeqCst);
            if !q.go && (!told_idle || q.events.len() >= FULL_BATCH) {
                q.go = true;
                self.shared.wake.notify_one();
            }
        }
        match committed.await {
            Ok((true, event)) => Ok(event),
            Ok((false, _)) => Err(NotQueued::Down),
            Err(_) => Err(NotQueued::Closed),
        }
    }

    /// Writes what waits and stops the thread (join its handle to wait).
    pub fn finish(&self) {
        let mut q = self.shared.lock_queue();
        q.stop = true;
        self.shared.wake.notify_one();
    }

    /// Resolves once every event queued before is written.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        {
            let mut q = self.shared.lock_queue();
            if q.stop {
                return;
            }
            q.go = true;
            q.flushes.push(done);
            self.shared.wake.notify_one();
        }
        let _ = wait.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(callref: &str, event: Event, direction: &'static str) -> LineEvent {
        LineEvent {
            seq: 0,
            line: "1003".into(),
            event,
            tel: "0388202020".into(),
            called: "1003".into(),
            callref: callref.into(),
            direction: Direction::parse(direction).expect("in or out"),
            replaces: None,
            person: None,
            slot: None,
            at: 0,
        }
    }

    /// The journal knows a notification taken today, of that line, call
    /// and kind only.
    #[test]
    fn a_call_event_taken_today_is_known() {
        let j = Journal::in_memory().expect("journal");
        let now = now_ms();
        j.record(&ev("c1", Event::Ring, "in"), now).unwrap();
        j.record(&ev("old", Event::Ring, "in"), now - CALL_SPAN - 1)
            .unwrap();
        let setup = [Event::Ring, Event::Dial];
        assert!(j.has_event("1003", "c1", &setup).unwrap());
        assert!(!j.has_event("1003", "c1", &[Event::Release]).unwrap());
        assert!(!j.has_event("1004", "c1", &setup).unwrap());
        assert!(!j.has_event("1003", "old", &setup).unwrap());
        let keys = j.recent_keys(10).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!((keys[0].1.as_str(), keys[0].2), ("c1", Event::Ring));
    }

    #[test]
    fn a_call_whose_end_was_lost_is_not_under_way() {
        let j = Journal::in_memory().expect("journal");
        let t0 = 1_000_000_000;
        j.record(&ev("ringing", Event::Ring, "in"), t0).unwrap();
        j.record(&ev("talking", Event::Ring, "in"), t0).unwrap();
        j.record(&ev("talking", Event::Connect, "in"), t0 + 5_000)
            .unwrap();
        j.record(&ev("ended", Event::Ring, "in"), t0).unwrap();
        j.record(&ev("ended", Event::Release, "in"), t0 + 1_000)
            .unwrap();
        let calls = j.history("1003", None, 10).unwrap();
        let at = |now: i64| {
            let mut v: Vec<_> = calls
                .iter()
                .filter(|c| c.under_way(now))
                .map(|c| c.callref.as_str())
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(at(t0 + 60_000), ["ringing", "talking"]);
        // Ringing ten minutes: its end was lost; talking an hour is a call.
        assert_eq!(at(t0 + RINGING_SPAN), ["talking"]);
        assert_eq!(at(t0 + 3_600_000), ["talking"]);
        assert!(at(t0 + CALL_SPAN).is_empty());
    }

    /// Commits `n` events from as many tasks at once, on `journal` with a
    /// commit hook; the names of the threads each commit ran on.
    async fn commit_from_tasks(n: usize, idle: Option<&Idle>) -> (Vec<Option<String>>, u64) {
        let journal = Journal::in_memory().expect("journal");
        let threads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = threads.clone();
        journal.db.commit_hook(Some(move || {
            let name = std::thread::current().name().map(str::to_owned);
            seen.lock().expect("threads").push(name);
            false
        }));
        let journal = std::sync::Arc::new(std::sync::Mutex::new(journal));
        // An event would wait a minute for an idle moment that does not
        // come: no batch here is taken because time passed.
        let (writer, thread) = Writer::start_holding(
            journal.clone(),
            idle,
            std::time::Duration::from_secs(60),
            Default::default(),
        );
        let writer = std::sync::Arc::new(writer);
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move {
                    w.commit(ev(&format!("c{i}"), Event::Ring, "in"), false)
                        .await
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let event = t.await.expect("task").expect("committed");
            assert_eq!(event.callref, format!("c{i}"));
        }
        let idle_batches = writer
            .shared
            .idle_batches
            .load(std::sync::atomic::Ordering::SeqCst);
        writer.finish();
        thread.join().expect("journal thread");
        let j = journal.lock().expect("journal");
        let rows: i64 =
            j.db.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
                .expect("count");
        assert_eq!(rows, n as i64, "every event written once");
        let names = threads.lock().expect("threads").clone();
        (names, idle_batches)
    }

    /// The runtime that serves requests never writes the journal itself:
    /// every commit runs on the journal's thread.
    #[tokio::test(flavor = "current_thread")]
    async fn commits_run_on_the_journals_thread_never_the_runtimes() {
        let (names, _) = commit_from_tasks(50, None).await;
        assert!(!names.is_empty());
        assert!(
            names.iter().all(|n| n.as_deref() == Some("journal")),
            "{names:?}"
        );
    }

    /// On the server's runtime, which says when it is idle, the events
    /// gathered are written when it is (by the journal's thread).
    #[test]
    fn on_the_servers_runtime_a_batch_is_written_when_it_is_idle() {
        let idle = Idle::default();
        let rt = crate::infra::runtime::one_thread({
            let idle = idle.clone();
            move || idle.now()
        })
        .expect("runtime");
        let (names, idle_batches) = rt.block_on(commit_from_tasks(50, Some(&idle)));
        assert!(idle_batches >= 1, "no batch taken at an idle moment");
        assert!(
            names.iter().all(|n| n.as_deref() == Some("journal")),
            "{names:?}"
        );
    }

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

    #[test]
    fn calls_made_received_and_missed_survive_a_reopen() {
        let path =
            std::env::temp_dir().join(format!("ctibridge-journal-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let j = Journal::open(&path).unwrap();
            j.record(&ev("a", Event::Ring, "in"), 1_000).unwrap();
            j.record(&ev("a", Event::Connect, "in"), 5_000).unwrap();
            j.record(&ev("a", Event::Release, "in"), 65_000).unwrap();
            j.record(&ev("b", Event::Ring, "in"), 100_000).unwrap();
            j.record(&ev("b", Event::Release, "in"), 120_000).unwrap();
            j.record(&ev("c", Event::Dial, "out"), 200_000).unwrap();
            j.record(&ev("c", Event::Connect, "out"), 201_000).unwrap();
            // OVH's end_ringing after the answer ends nothing.
            j.record(&ev("c", Event::Missed, "out"), 202_000).unwrap();
            // A repeated event changes nothing.
            j.record(&ev("a", Event::Connect, "in"), 70_000).unwrap();
        }
        let j = Journal::open(&path).unwrap();
        let all = j.history("1003", None, 10).unwrap();
        let states: Vec<(&str, &str)> = all
            .iter()
            .map(|c| (c.callref.as_str(), c.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [("c", "connect"), ("b", "missed"), ("a", "release")]
        );
        let a = &all[2];
        assert_eq!((a.ringing_ms, a.talk_ms), (Some(4_000), Some(60_000)));
        assert_eq!(all[1].ringing_ms, Some(20_000));
        assert_eq!(
            j.history("1003", HistoryKind::parse("missed"), 10)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            j.history("1003", HistoryKind::parse("made"), 10).unwrap()[0].callref,
            "c"
        );
        assert_eq!(
            j.history("1003", HistoryKind::parse("received"), 10)
                .unwrap()[0]
                .callref,
            "a"
        );
        assert!(j.history("1004", None, 10).unwrap().is_empty());
        drop(j);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }

    #[test]
    fn a_history_folds_calls_whose_events_are_hours_apart() {
        const MINUTE: i64 = 60 * 1000;
        const HOUR: i64 = 60 * MINUTE;
        let j = Journal::in_memory().unwrap();
        let mut events = Vec::new();
        // Ten days of short calls, one every ten minutes, every tenth
        // unanswered; among them, a call of twenty hours.
        for i in 0..1440 {
            let callref = format!("c{i}");
            let at = (i + 1) * 10 * MINUTE;
            if at == 200 * HOUR {
                events.push((ev("long", Event::Ring, "in"), at + 5 * MINUTE));
                events.push((ev("long", Event::Connect, "in"), at + 6 * MINUTE));
            }
            if at == 220 * HOUR {
                events.push((ev("long", Event::Release, "in"), at));
            }
            events.push((ev(&callref, Event::Ring, "in"), at));
            if i % 10 != 0 {
                events.push((ev(&callref, Event::Connect, "in"), at + 2_000));
            }
            events.push((ev(&callref, Event::Release, "in"), at + 60_000));
        }
        j.record_all(events.iter().map(|(e, at)| (e, *at))).unwrap();

        let refs = |calls: &[CallRecord]| -> Vec<String> {
            calls.iter().map(|c| c.callref.clone()).collect()
        };
        let last = j.history("1003", None, 3).unwrap();
        assert_eq!(refs(&last), ["c1439", "c1438", "c1437"]);
        let missed = j.history("1003", HistoryKind::parse("missed"), 2).unwrap();
        assert_eq!(refs(&missed), ["c1430", "c1420"]);
        assert_eq!(missed[0].ringing_ms, Some(60_000));
        // Set up twenty hours before it ends: folded whole all the same,
        // among the calls set up around it.
        let received = j
            .history("1003", HistoryKind::parse("received"), 300)
            .unwrap();
        let long = received.iter().position(|c| c.callref == "long").unwrap();
        assert_eq!(
            refs(&received[long - 1..=long + 1]),
            ["c1201", "long", "c1199"]
        );
        let long = &received[long];
        assert_eq!(long.state, CallState::Release);
        assert_eq!(long.talk_ms, Some(20 * HOUR - 6 * MINUTE));
        let all = j
            .history("1003", HistoryKind::parse("received"), 2000)
            .unwrap();
        assert_eq!(all.len(), 1296 + 1);
    }

    #[test]
    fn settling_copies_the_write_ahead_log_into_the_journal_file() {
        let dir = std::env::temp_dir().join(format!("ctibridge-settle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.sqlite");
        let j = Journal::open(&path).unwrap();
        let events: Vec<LineEvent> = (0..100)
            .map(|i| ev(&format!("c{i}"), Event::Ring, "in"))
            .collect();
        j.record_all(events.iter().map(|e| (e, 1_000))).unwrap();
        // The journal file alone, as it is before and after settling.
        let alone = |name: &str| {
            let copy = dir.join(name);
            std::fs::copy(&path, &copy).unwrap();
            Journal::open(&copy)
                .unwrap()
                .history("1003", None, 1000)
                .unwrap()
                .len()
        };
        assert_eq!(alone("before.sqlite"), 0, "still in the write-ahead log");
        j.settle().unwrap();
        assert_eq!(alone("after.sqlite"), 100);
        drop(j);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
