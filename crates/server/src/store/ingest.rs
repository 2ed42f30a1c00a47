//! Where call events enter the bridge server — Keyyo's notifications, the
//! OVH relay, the simulator: written to the journal first, then handed to
//! desks; or neither. A notification is answered 200 only once its event
//! is committed, so a crash at any moment loses nothing that was
//! acknowledged.

use std::sync::Arc;

use crate::model::event::LineEvent;
use crate::store::hub::Hub;
use crate::store::journal::{NotQueued, Writer};

/// Why an event was neither journaled nor published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The journal cannot be written (locked by another process, disk
    /// full…), or too many events wait for it.
    JournalUnavailable,
    /// The server is stopping.
    Stopping,
}

/// The hub and the journal's writer, in that order of trust.
pub struct Ingest {
    hub: Arc<Hub>,
    writer: Arc<Writer>,
    metrics: Arc<crate::infra::metrics::Metrics>,
    /// The `<lookup>` naming the other party of each call, and the names
    /// found per call: one lookup per call, however many lines and
    /// events it has.
    pub callers: Option<Arc<ctibridge_client::names::Callers>>,
    /// Woken when a call's last event is journaled (its report is in the
    /// outbox).
    pub report_wake: Option<Arc<tokio::sync::Notify>>,
}

impl Ingest {
    pub fn new(
        hub: Arc<Hub>,
        writer: Arc<Writer>,
        metrics: Arc<crate::infra::metrics::Metrics>,
    ) -> Ingest {
        Ingest {
            hub,
            writer,
            metrics,
            callers: None,
            report_wake: None,
        }
    }

    /// `event` with its other party's name: looked up for a call's first
    /// event (within `<lookup_timeout>`), then the same for its next ones.
    async fn named(&self, mut event: LineEvent) -> LineEvent {
        let Some(callers) = &self.callers else {
            return event;
        };
        if event.person.is_some() || event.tel.is_empty() {
            return event;
        }
        // A call's legs on two lines have two other parties.
        let call = format!("{}|{}", event.callref, event.tel);
        let (person, how) = callers.resolve_for_call(&call, &event.tel).await;
        let outcome = match how {
            Some(ctibridge_client::names::How::Kept) => Some("kept"),
            Some(ctibridge_client::names::How::Asked) => Some("asked"),
            Some(ctibridge_client::names::How::Shared) => Some("shared"),
            Some(ctibridge_client::names::How::Late) => Some("late"),
            Some(ctibridge_client::names::How::Failed) => Some("failed"),
            Some(ctibridge_client::names::How::NoNumber) | None => None,
        };
        if let Some(outcome) = outcome {
            self.metrics
                .lookups
                .get_or_create(&crate::infra::metrics::LookupLabel { outcome })
                .inc();
        }
        event.person = person;
        event
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// What the server counts (`/metrics`).
    pub fn metrics(&self) -> &crate::infra::metrics::Metrics {
        &self.metrics
    }

    /// Events waiting for the journal's next commit.
    pub fn queued(&self) -> usize {
        self.writer.queued()
    }

    /// Whether new events would be refused at once (the journal is down).
    pub fn is_refusing(&self) -> bool {
        self.writer.is_down()
    }

    /// Journals `event`, then publishes it to the desks of its line;
    /// returns its number in the hub. Refused: neither happened.
    pub async fn accept(&self, event: LineEvent) -> Result<u64, Refused> {
        self.accept_with(event, false).await
    }

    async fn accept_with(&self, event: LineEvent, retrying: bool) -> Result<u64, Refused> {
        let event = self.named(event).await;
        let ends = matches!(
            event.event,
            crate::model::event::Event::Release | crate::model::event::Event::Missed
        );
        let event = self
            .writer
            .commit(event, retrying)
            .await
            .map_err(|e| match e {
                NotQueued::Closed => Refused::Stopping,
                NotQueued::Down => Refused::JournalUnavailable,
            })?;
        if let (true, Some(wake)) = (ends, &self.report_wake) {
            wake.notify_one();
        }
        Ok(self.hub.publish(event))
    }

    /// Like [`Ingest::accept`], for an event nobody will send again (the
    /// relay's: OVH has moved past it): tried until the journal takes it,
    /// every `pause`, or until the server stops (then it is logged as lost).
    pub async fn accept_surely(&self, event: LineEvent, pause: std::time::Duration) {
        let mut told = false;
        loop {
            match self.accept_with(event.clone(), true).await {
                Ok(_) => return,
                Err(Refused::Stopping) => break,
                Err(Refused::JournalUnavailable) if self.hub.is_closed() => break,
                Err(Refused::JournalUnavailable) => {
                    if !told {
                        tracing::warn!(
                            line = %event.line,
                            "the journal cannot take a relayed call event: trying again until it can"
                        );
                        told = true;
                    }
                    tokio::time::sleep(pause).await;
                }
            }
        }
        tracing::error!(
            line = %event.line,
            event = event.event.as_str(),
            "the server stopped before the journal could take a relayed call event: lost"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;
    use crate::store::journal::{Journal, Writer};
    use std::time::Duration;

    fn event(callref: &str) -> LineEvent {
        LineEvent {
            seq: 0,
            line: "+33972101010".into(),
            event: Event::Ring,
            tel: "+33388202020".into(),
            called: "+33972101010".into(),
            callref: callref.into(),
            direction: crate::model::event::Direction::In,
            replaces: None,
            person: None,
            slot: None,
            at: 0,
        }
    }

    fn journaled(path: &std::path::Path) -> Vec<String> {
        let db = rusqlite::Connection::open(path).expect("open");
        let mut st = db.prepare("SELECT callref FROM events").expect("query");
        let refs = st
            .query_map([], |r| r.get::<_, String>(0))
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect();
        refs
    }

    /// While another process holds the journal's lock, an event is neither
    /// journaled nor published; a relayed one (tried until it is taken) is
    /// both once the lock goes, and nothing is published before it is
    /// journaled.
    #[tokio::test(flavor = "current_thread")]
    async fn journaled_and_published_or_neither() {
        let dir = std::env::temp_dir().join(format!("ctibridge-ingest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("journal.sqlite");
        let _ = std::fs::remove_file(&path);
        let journal = Arc::new(std::sync::Mutex::new(
            Journal::open(&path).expect("journal"),
        ));
        let (writer, thread) = Writer::start(journal, None, Default::default());
        let writer = Arc::new(writer);
        let hub = Arc::new(Hub::new());
        let ingest = Arc::new(Ingest::new(hub.clone(), writer.clone(), Default::default()));

        ingest.accept(event("before")).await.expect("taken");
        let locker = rusqlite::Connection::open(&path).expect("open");
        locker.execute_batch("BEGIN EXCLUSIVE;").expect("lock");
        assert_eq!(
            ingest.accept(event("locked")).await,
            Err(Refused::JournalUnavailable)
        );
        // Refused at once while the journal is down.
        assert!(ingest.is_refusing());
        assert_eq!(
            ingest.accept(event("locked-2")).await,
            Err(Refused::JournalUnavailable)
        );
        let surely = {
            let ingest = ingest.clone();
            tokio::spawn(async move {
                ingest
                    .accept_surely(event("relayed"), Duration::from_millis(50))
                    .await
            })
        };
        // Nothing of the refused ones reached the desks; the relayed one
        // gets through once the lock goes (whether or not its first try
        // came before).
        let line = "+33972101010";
        let first = hub.after(line, 0, 10);
        assert_eq!(first.len(), 1, "only the first event is published");
        locker.execute_batch("ROLLBACK;").expect("release");
        drop(locker);
        let got = hub
            .wait_after(line, first[0].seq, 10, Duration::from_secs(20))
            .await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].callref, "relayed");
        surely.await.expect("relay task");
        writer.finish();
        thread.join().expect("journal thread");
        let mut refs = journaled(&path);
        refs.sort();
        assert_eq!(refs, ["before", "relayed"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
