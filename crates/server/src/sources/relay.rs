//! The relay: the server polls the provider's event source once (OVH's
//! events of the whole billing account, v1 or v2, as the server file's
//! `<cliktocallevent>` says) and publishes each call event on the hub for
//! the desks of its line, so that a hundred desks do not each poll OVH.
//!
//! The polling is `watch`'s ([`ctibridge_client::events::watch::follow`]): sessions,
//! cursor, token renewal, back-off when the source fails.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::model::event::{Direction, Event, LineEvent};
use crate::store::ingest::Ingest;
use ctibridge_client::events::call::EventNames;
use ctibridge_client::events::model::{CallState, Transition};
use ctibridge_client::events::read::RawEvent;
use ctibridge_client::events::watch::{follow, Stop};
use ctibridge_lang::config::Config;

/// How often a relayed event the journal cannot take is tried again.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);
/// Relayed events waiting for the journal at most (while it cannot be
/// written); beyond, they are logged as lost.
const MAX_WAITING: usize = 100_000;

use std::sync::atomic::{AtomicUsize, Ordering};

/// Calls whose answer is remembered (a "missed" after it ends nothing).
const REMEMBERED_CALLS: usize = 1024;

/// Turns the provider's events into line events.
pub struct Relay {
    names: EventNames,
    connected: VecDeque<String>,
    /// The country OVH's national numbers are read in.
    country: String,
}

impl Relay {
    pub fn new(config: &Config) -> Relay {
        Relay {
            names: EventNames::from_global(&config.global),
            connected: VecDeque::new(),
            country: config.global.country.value.clone(),
        }
    }

    /// A number of OVH's (`0033…`, or national once the profile's
    /// `<tel_format>` applied) in its one identity, E.164; one that cannot
    /// be read stays as it is.
    fn identity(&self, n: Option<&String>) -> String {
        let n = n.map_or("", |s| s.as_str());
        ctibridge_client::number::identity(n, &self.country).unwrap_or_else(|_| n.to_owned())
    }

    /// The line event for `raw`, or `None` for events that are not about
    /// a call (OVH `registered`, `member-count`) or that end nothing.
    pub fn line_event(&mut self, raw: &RawEvent) -> Option<LineEvent> {
        let kind = self.names.classify(&raw.name);
        let callref = raw.call_id.clone().unwrap_or_default();
        let event = kind.event()?;
        // Only answered calls are remembered: any other is being set up as
        // far as the call model is concerned.
        let state = if !callref.is_empty() && self.connected.contains(&callref) {
            CallState::Connect
        } else {
            CallState::Setup
        };
        match state.after(event) {
            Transition::Ignored => return None,
            Transition::To(CallState::Connect) if !callref.is_empty() => {
                if self.connected.len() >= REMEMBERED_CALLS {
                    self.connected.pop_front();
                }
                self.connected.push_back(callref.clone());
            }
            Transition::To(s) if s.is_ended() => self.connected.retain(|c| *c != callref),
            _ => {}
        }
        let caller = self.identity(raw.caller.as_ref());
        let called = self.identity(raw.called.as_ref());
        let line = match &raw.line {
            Some(l) => self.identity(Some(l)),
            None => called.clone(),
        };
        if line.is_empty() {
            return None;
        }
        let outgoing = !caller.is_empty() && caller == line;
        Some(LineEvent {
            seq: 0,
            event: if outgoing && event == Event::Ring {
                Event::Dial
            } else {
                event
            },
            tel: if outgoing {
                called.clone()
            } else {
                caller.clone()
            },
            called,
            callref,
            direction: if outgoing {
                Direction::Out
            } else {
                Direction::In
            },
            replaces: None,
            person: raw.person.clone(),
            slot: None,
            at: 0,
            line,
        })
    }
}

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
    let mut relay = Relay::new(&config);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn relay() -> Relay {
        let loaded = ctibridge_lang::load::load_text(
            "<callto>\ncmd=callto:$teldest$\n<global>\n<event_ring>start_ringing\n\
             <even_connect>start_calling\n<event_release>end_calling\n<event_missed>end_ringing\n",
            None,
        );
        Relay::new(&loaded.checked.expect("config").config)
    }

    fn raw(name: &str, call_id: &str) -> RawEvent {
        RawEvent {
            name: name.into(),
            caller: Some("0033388202020".into()),
            called: Some("0033972101010".into()),
            call_id: Some(call_id.into()),
            line: Some("0033972101010".into()),
            person: None,
            at: None,
        }
    }

    fn events(r: &mut Relay, names: &[(&str, &str)]) -> Vec<Option<Event>> {
        names
            .iter()
            .map(|(n, id)| r.line_event(&raw(n, id)).map(|e| e.event))
            .collect()
    }

    /// OVH says end_ringing when a call stops ringing, answered or not:
    /// after the answer it ends nothing and is not published; before it,
    /// the call is missed. Calls are told apart by their reference.
    #[test]
    fn a_missed_after_the_answer_is_dropped_and_before_it_is_kept() {
        let mut r = relay();
        let got = events(
            &mut r,
            &[
                ("start_ringing", "a"),
                ("start_calling", "a"),
                ("end_ringing", "a"),
                ("start_ringing", "b"),
                ("end_ringing", "b"),
                ("end_calling", "a"),
                // Once the call has ended it is forgotten: a late one is kept.
                ("end_ringing", "a"),
                ("registered", "a"),
            ],
        );
        assert_eq!(
            got,
            [
                Some(Event::Ring),
                Some(Event::Connect),
                None,
                Some(Event::Ring),
                Some(Event::Missed),
                Some(Event::Release),
                Some(Event::Missed),
                None,
            ]
        );
    }
}
