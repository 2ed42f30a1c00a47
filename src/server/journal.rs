//! The call journal: every call of every line with its states, times,
//! durations and direction, in SQLite, so it survives a restart. What the
//! Keyyo CTI `get_calls` gives: made, received and missed calls per line.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::server::hub::{Event, LineEvent};

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
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS calls_by_line ON calls (line, setup_at);",
        )?;
        Ok(Journal { db })
    }

    /// Records an event of a call, at `at` (ms since 1970): one statement,
    /// which creates the call or moves it on from the state it is in:
    /// setup → connect on CONNECT; setup → missed on RELEASE or MISSED;
    /// connect → release on RELEASE. Anything else (a repeat, a "missed"
    /// after the answer: OVH's end_ringing once connected) changes nothing.
    pub fn record(&self, ev: &LineEvent, at: i64) -> rusqlite::Result<()> {
        // The state of a call first seen with this event.
        let (state, connect, release) = match ev.event {
            Event::Connect => ("connect", Some(at), None),
            Event::Release | Event::Missed => ("missed", None, Some(at)),
            Event::Dial | Event::Ring => ("setup", None, None),
        };
        self.db
            .prepare_cached(
                "INSERT INTO calls (callref, line, direction, tel, called, state, setup_at, connect_at, release_at, replaces)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (callref, line) DO UPDATE SET
                   state = CASE
                     WHEN state = 'setup' AND ?11 = 'CONNECT' THEN 'connect'
                     WHEN state = 'setup' AND ?11 IN ('RELEASE', 'MISSED') THEN 'missed'
                     WHEN state = 'connect' AND ?11 = 'RELEASE' THEN 'release'
                     ELSE state END,
                   connect_at = CASE
                     WHEN state = 'setup' AND ?11 = 'CONNECT' THEN ?7
                     ELSE connect_at END,
                   release_at = CASE
                     WHEN (state = 'setup' AND ?11 IN ('RELEASE', 'MISSED'))
                       OR (state = 'connect' AND ?11 = 'RELEASE') THEN ?7
                     ELSE release_at END",
            )?
            .execute(params![
                ev.callref,
                ev.line,
                ev.direction,
                ev.tel,
                ev.called,
                state,
                at,
                connect,
                release,
                ev.replaces,
                ev.event.as_str()
            ])?;
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

/// Events written by one thread in batches (one transaction per batch), so
/// that neither a request nor the hub waits for the disk. Events are
/// written in the order published; [`Writer::flush`] waits until
/// everything sent before it is written, and dropping the writer's last
/// handle after [`Writer::finish`] has written everything.
pub struct Writer {
    tx: std::sync::mpsc::SyncSender<Message>,
}

enum Message {
    Event(std::sync::Arc<LineEvent>, i64),
    Flush(tokio::sync::oneshot::Sender<()>),
    Stop,
}

/// How long the writer lets events gather after the first of a batch.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);
/// Events written per transaction at most.
const BATCH: usize = 512;
/// Events waiting to be written at most; beyond, publishing waits.
const QUEUE: usize = 65_536;

impl Writer {
    /// Starts the writing thread on `journal` (shared with the readers).
    pub fn start(
        journal: std::sync::Arc<std::sync::Mutex<Journal>>,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(QUEUE);
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                let mut waiting = Vec::new();
                let mut stop = false;
                while let Ok(first) = rx.recv() {
                    // Let a burst gather: one wake-up and one transaction
                    // for many events rather than one each.
                    std::thread::sleep(GATHER);
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(m) => batch.push(m),
                            Err(_) => break,
                        }
                    }
                    let j = journal.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = j.db.execute_batch("BEGIN") {
                        tracing::error!("journal: {e}");
                    }
                    for m in batch {
                        match m {
                            Message::Event(ev, at) => {
                                if let Err(e) = j.record(&ev, at) {
                                    tracing::error!("cannot journal a call event: {e}");
                                }
                            }
                            Message::Flush(done) => waiting.push(done),
                            Message::Stop => stop = true,
                        }
                    }
                    if let Err(e) = j.db.execute_batch("COMMIT") {
                        tracing::error!("journal: {e}");
                    }
                    drop(j);
                    for done in waiting.drain(..) {
                        let _ = done.send(());
                    }
                    if stop {
                        break;
                    }
                }
            })
            .expect("the journal thread starts");
        (Writer { tx }, handle)
    }

    /// Queues an event (its time taken now).
    pub fn record(&self, ev: &std::sync::Arc<LineEvent>) {
        if self.tx.send(Message::Event(ev.clone(), now_ms())).is_err() {
            tracing::error!("the journal is closed: a call event is not journaled");
        }
    }

    /// Writes what is queued and stops the thread (join its handle to wait).
    pub fn finish(&self) {
        let _ = self.tx.send(Message::Stop);
    }

    /// Resolves once every event queued before is written.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
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
