//! Where call events enter the bridge server — Keyyo's notifications, the
//! OVH relay, the simulator: written to the journal first, then handed to
//! desks; or neither. A notification is answered 200 only once its event
//! is committed, so a crash at any moment loses nothing that was
//! acknowledged.

use std::sync::Arc;

use crate::server::hub::{Hub, LineEvent};
use crate::server::journal::{NotQueued, Writer};

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
}

impl Ingest {
    pub fn new(hub: Arc<Hub>, writer: Arc<Writer>) -> Ingest {
        Ingest { hub, writer }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
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
        let event = self
            .writer
            .commit(event, retrying)
            .await
            .map_err(|e| match e {
                NotQueued::Closed => Refused::Stopping,
                NotQueued::Down | NotQueued::Full => Refused::JournalUnavailable,
            })?;
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
