//! The relay: the server polls the provider's event source once (OVH's
//! events of the whole billing account, v1 or v2, as the server file's
//! `<cliktocallevent>` says) and publishes each call event on the hub for
//! the desks of its line, so that a hundred desks do not each poll OVH.
//!
//! The polling is `watch`'s ([`ctibridge_client::events::watch::follow`]): sessions,
//! cursor, token renewal, back-off when the source fails.

use std::sync::Arc;

use crate::model::event::LineEvent;
use crate::store::ingest::Ingest;
use ctibridge_client::events::watch::{follow, Stop};
use ctibridge_lang::config::Config;

/// How often a relayed event the journal cannot take is tried again.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);
/// Relayed events waiting for the journal at most (while it cannot be
/// written); beyond, they are logged as lost.
const MAX_WAITING: usize = 100_000;

use std::sync::atomic::{AtomicUsize, Ordering};

/// Polls until `stop` resolves. A configuration problem is logged and ends
/// the relay (the server goes on serving).
pub async fn run(
    context: ctibridge_client::context::Context,
    config: Arc<Config>,
    ingest: Arc<Ingest>,
    status: Arc<crate::sources::health::RelayStatus>,
    stop: impl std::future::Future<Output = ()>,
) {
    let Some(spec) = config.event.as_ref() else {
        tracing::error!("relay: the server file has no event source");
        return;
    };
    let mut relay = crate::wire::ovh::EventReader::new(&config);
    // Each event journaled then published, in order, by a task of its own
    // (polling goes on meanwhile): OVH has moved past them, nobody would
    // send them again, so they are tried until the journal takes them.
    let (to_journal, mut journal_side) = tokio::sync::mpsc::unbounded_channel::<LineEvent>();
    let queued = Arc::new(AtomicUsize::new(0));
    let waiting = queued.clone();
    let writer = tokio::spawn(async move {
        while let Some(ev) = journal_side.recv().await {
            ingest.accept_surely(ev, RETRY_PAUSE).await;
            ingest
                .metrics()
                .published(crate::infra::metrics::Origin::relay);
            waiting.fetch_sub(1, Ordering::SeqCst);
        }
    });
    let fallback = ctibridge_lang::source::Span::first_file();
    let result = follow(
        &context,
        &config,
        spec,
        fallback,
        async {
            stop.await;
            Stop::Signal
        },
        |answer| {
            status.answered();
            for raw in &answer.events {
                if let Some(ev) = relay.line_event(raw) {
                    tracing::debug!(line = %ev.line, event = ev.event.as_str(), "relayed");
                    if queued.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
                        queued.fetch_sub(1, Ordering::SeqCst);
                        tracing::error!(line = %ev.line, "the journal has not taken {MAX_WAITING} relayed call events: this one is lost");
                    } else {
                        let _ = to_journal.send(ev);
                    }
                }
            }
            None
        },
    )
    .await;
    // What was relayed is journaled before the relay ends.
    drop(to_journal);
    let _ = writer.await;
    if let Err(f) = result {
        tracing::error!("relay stopped: {f}");
    }
}
