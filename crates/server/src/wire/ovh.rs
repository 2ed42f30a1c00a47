//! OVH's call events (v1 or v2, as the server file's `<cliktocallevent>`
//! reads them) turned into the server's line events: what the relay
//! publishes. Stateless but for the calls answered lately (a "missed"
//! after the answer ends nothing).

use std::collections::VecDeque;

use crate::model::event::{Direction, Event, LineEvent};
use ctibridge_client::events::call::EventNames;
use ctibridge_client::events::model::{CallState, Transition};
use ctibridge_client::events::read::RawEvent;
use ctibridge_lang::config::Config;

/// Calls whose answer is remembered (a "missed" after it ends nothing).
pub(crate) const REMEMBERED_CALLS: usize = 1024;

/// Turns the provider's events into line events.
pub struct EventReader {
    names: EventNames,
    connected: VecDeque<String>,
    /// The country OVH's national numbers are read in.
    country: String,
}

impl EventReader {
    pub fn new(config: &Config) -> EventReader {
        EventReader {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn relay() -> EventReader {
        let loaded = ctibridge_lang::load::load_text(
            "<callto>\ncmd=callto:$teldest$\n<global>\n<event_ring>start_ringing\n\
             <even_connect>start_calling\n<event_release>end_calling\n<event_missed>end_ringing\n",
            None,
        );
        EventReader::new(&loaded.checked.expect("config").config)
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

    fn events(r: &mut EventReader, names: &[(&str, &str)]) -> Vec<Option<Event>> {
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
