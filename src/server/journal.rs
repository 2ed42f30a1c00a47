//! The call journal: every call of every line with its states, times,
//! durations and direction, in SQLite, so it survives a restart. What the
//! Keyyo CTI `get_calls` gives: made, received and missed calls per line.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::server::hub::LineEvent;

/// One call of one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    pub callref: String,
    pub line: String,
    /// `in` or `out`.
    pub direction: String,
    /// The other party.
    pub tel: String,
    pub called: String,
    /// `setup`, `connect`, `release` or `missed`.
    pub state: String,
    /// Milliseconds since 1970.
    pub setup_at: i64,
    pub connect_at: Option<i64>,
    pub release_at: Option<i64>,
    pub ringing_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    /// The call this one replaced (Keyyo DREF_REPLACE).
    pub replaces: Option<String>,
}

pub struct Journal {
    db: Connection,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Journal {
    /// Opens (or creates) the journal at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Journal> {
        Journal::setup(Connection::open(path)?)
    }

    /// A journal that lives as long as the process (`serve --sim` without
    /// `--journal`).
    pub fn in_memory() -> rusqlite::Result<Journal> {
        Journal::setup(Connection::open_in_memory()?)
    }

    fn setup(db: Connection) -> rusqlite::Result<Journal> {
        // WAL: a crash loses no committed call; NORMAL: one fsync per checkpoint.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS calls (
                callref TEXT NOT NULL,
                line TEXT NOT NULL,
                direction TEXT NOT NULL,
                tel TEXT NOT NULL,
                called TEXT NOT NULL,
                state TEXT NOT NULL,
                setup_at INTEGER NOT NULL,
                connect_at INTEGER,
                release_at INTEGER,
                replaces TEXT,
                PRIMARY KEY (callref, line)
            );
            CREATE INDEX IF NOT EXISTS calls_by_line ON calls (line, setup_at);",
        )?;
        Ok(Journal { db })
    }

    /// Records an event of a call, at `at` (ms since 1970, now when `None`).
    pub fn record(&self, ev: &LineEvent, at: Option<i64>) -> rusqlite::Result<()> {
        let at = at.unwrap_or_else(now_ms);
        let current: Option<String> = self
            .db
            .query_row(
                "SELECT state FROM calls WHERE callref = ?1 AND line = ?2",
                params![ev.callref, ev.line],
                |r| r.get(0),
            )
            .optional()?;
        let kind = ev.event.to_ascii_uppercase();
        match (current.as_deref(), kind.as_str()) {
            (None, _) => {
                let (state, connect, release) = match kind.as_str() {
                    "CONNECT" => ("connect", Some(at), None),
                    "RELEASE" | "MISSED" => ("missed", None, Some(at)),
                    _ => ("setup", None, None),
                };
                self.db.execute(
                    "INSERT INTO calls (callref, line, direction, tel, called, state, setup_at, connect_at, release_at, replaces)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![ev.callref, ev.line, ev.direction, ev.tel, ev.called, state, at, connect, release, ev.replaces],
                )?;
            }
            (Some("setup"), "CONNECT") => {
                self.db.execute(
                    "UPDATE calls SET state = 'connect', connect_at = ?3 WHERE callref = ?1 AND line = ?2",
                    params![ev.callref, ev.line, at],
                )?;
            }
            // A "missed" after the answer (OVH's end_ringing once the call
            // is connected) ends nothing.
            (Some(s), "RELEASE" | "MISSED")
                if s == "setup" || (s == "connect" && kind == "RELEASE") =>
            {
                let state = if s == "connect" { "release" } else { "missed" };
                self.db.execute(
                    "UPDATE calls SET state = ?3, release_at = ?4 WHERE callref = ?1 AND line = ?2",
                    params![ev.callref, ev.line, state, at],
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The last `limit` calls of `line`, newest first; `kind` filters them:
    /// `made`, `received`, `missed` or all.
    pub fn history(
        &self,
        line: &str,
        kind: Option<&str>,
        limit: usize,
    ) -> rusqlite::Result<Vec<CallRecord>> {
        let filter = match kind {
            Some("made") => "AND direction = 'out'",
            Some("received") => "AND direction = 'in' AND state != 'missed'",
            Some("missed") => "AND direction = 'in' AND state = 'missed'",
            _ => "",
        };
        let mut st = self.db.prepare(&format!(
            "SELECT callref, line, direction, tel, called, state, setup_at, connect_at, release_at, replaces
             FROM calls WHERE line = ?1 {filter} ORDER BY setup_at DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(
            params![line, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                let setup_at: i64 = r.get(6)?;
                let connect_at: Option<i64> = r.get(7)?;
                let release_at: Option<i64> = r.get(8)?;
                Ok(CallRecord {
                    callref: r.get(0)?,
                    line: r.get(1)?,
                    direction: r.get(2)?,
                    tel: r.get(3)?,
                    called: r.get(4)?,
                    state: r.get(5)?,
                    setup_at,
                    connect_at,
                    release_at,
                    ringing_ms: connect_at.or(release_at).map(|t| t - setup_at),
                    talk_ms: connect_at.zip(release_at).map(|(c, r)| r - c),
                    replaces: r.get(9)?,
                })
            },
        )?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(callref: &str, event: &str, direction: &'static str) -> LineEvent {
        LineEvent {
            seq: 0,
            line: "1003".into(),
            event: event.into(),
            tel: "0388202020".into(),
            called: "1003".into(),
            callref: callref.into(),
            direction,
            replaces: None,
        }
    }

    #[test]
    fn calls_made_received_and_missed_survive_a_reopen() {
        let path =
            std::env::temp_dir().join(format!("ctibridge-journal-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let j = Journal::open(&path).unwrap();
            j.record(&ev("a", "RING", "in"), Some(1_000)).unwrap();
            j.record(&ev("a", "CONNECT", "in"), Some(5_000)).unwrap();
            j.record(&ev("a", "RELEASE", "in"), Some(65_000)).unwrap();
            j.record(&ev("b", "RING", "in"), Some(100_000)).unwrap();
            j.record(&ev("b", "RELEASE", "in"), Some(120_000)).unwrap();
            j.record(&ev("c", "DIAL", "out"), Some(200_000)).unwrap();
            j.record(&ev("c", "CONNECT", "out"), Some(201_000)).unwrap();
            // A repeated event changes nothing.
            j.record(&ev("a", "CONNECT", "in"), Some(70_000)).unwrap();
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
        assert_eq!(j.history("1003", Some("missed"), 10).unwrap().len(), 1);
        assert_eq!(j.history("1003", Some("made"), 10).unwrap()[0].callref, "c");
        assert_eq!(
            j.history("1003", Some("received"), 10).unwrap()[0].callref,
            "a"
        );
        assert!(j.history("1004", None, 10).unwrap().is_empty());
        drop(j);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }
}
