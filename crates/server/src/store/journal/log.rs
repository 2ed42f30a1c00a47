//! The journal itself: the log of events in SQLite, and what is folded
//! from it (a line's calls, a call, the repeats of Keyyo's notifications).

use std::path::Path;

use rusqlite::{params, Connection};

use crate::model::event::{Event, LineEvent};
use crate::model::record::{CallRecord, HistoryKind, Replacement, ReportState};
use ctibridge_client::events::model::Direction;

pub struct Journal {
    pub(super) db: Connection,
    /// The events table has the `name`, `company`, `record` columns (a
    /// journal written before names, read only, has not).
    pub(super) named: bool,
    /// There is a reports table (the outbox of `<report>`).
    pub(super) reports: bool,
    /// The index of replaced calls is there (`replaced_by` is filled).
    pub(super) linked: bool,
    /// A call's last event adds its report to the outbox, in the same
    /// transaction ([`Journal::set_reporting`]).
    pub(super) reporting: bool,
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
        // [`super::writer::SETTLE_AFTER`]).
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
pub(crate) const WAL_EVENTS: u64 = 100_000;

use crate::model::clock::CALL_SPAN;
/// Events a history reads at most.
pub const HISTORY_EVENTS: i64 = 200_000;

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
    let mut chronological = newest_first.iter().rev().map(Logged::step);
    let first = chronological.next().expect("a call has an event");
    let mut call = CallRecord::begin(callref, line, first);
    for e in chronological {
        call.apply(e);
    }
    call
}

impl Logged {
    fn step(&self) -> crate::model::record::Step<'_> {
        crate::model::record::Step {
            event: self.event,
            direction: self.direction,
            tel: &self.tel,
            called: &self.called,
            at: self.at,
            replaces: self.replaces.as_deref(),
            person: self.person.as_ref(),
            slot: self.slot.as_deref(),
        }
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

/// How long the journal's thread waits for a lock held by another process
/// (or a long history) before the batch fails and its events are refused:
/// a notification answered 503 is sent again by its sender.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(2000);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::clock::RINGING_SPAN;
    use ctibridge_client::events::model::CallState;

    pub(crate) fn ev(callref: &str, event: Event, direction: &'static str) -> LineEvent {
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
