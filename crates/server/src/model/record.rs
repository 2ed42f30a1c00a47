//! A call as the journal folds it from its events: what histories,
//! reports and the wall show.

use serde::{Deserialize, Serialize};

use ctibridge_client::events::model::Event;
use ctibridge_client::events::model::{CallState, Direction};

use crate::model::clock::{CALL_SPAN, RINGING_SPAN};

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

/// One event of a call, as a fold reads it (the journal's rows and the
/// hub's events alike).
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    pub event: Event,
    pub direction: Direction,
    pub tel: &'a str,
    pub called: &'a str,
    /// When it came, ms since 1970.
    pub at: i64,
    pub replaces: Option<&'a str>,
    pub person: Option<&'a ctibridge_client::names::Person>,
    pub slot: Option<&'a str>,
}

impl<'a> Step<'a> {
    /// The step a hub's event is, at `at`.
    pub fn of(e: &'a crate::model::event::LineEvent, at: i64) -> Step<'a> {
        Step {
            event: e.event,
            direction: e.direction,
            tel: &e.tel,
            called: &e.called,
            at,
            replaces: e.replaces.as_deref(),
            person: e.person.as_ref(),
            slot: e.slot.as_deref(),
        }
    }
}

impl CallRecord {
    /// A call set up by its first event: what the journal's histories,
    /// its reports and the wall show are this, then [`CallRecord::apply`]
    /// for each later event — the one fold of a call.
    pub fn begin(callref: &str, line: &str, first: Step<'_>) -> CallRecord {
        let state = CallState::first(first.event);
        let (connect_at, release_at) = match state {
            CallState::Connect | CallState::Parked => (Some(first.at), None),
            CallState::Setup => (None, None),
            CallState::Release | CallState::Missed => (None, Some(first.at)),
        };
        let mut call = CallRecord {
            callref: callref.to_owned(),
            line: line.to_owned(),
            direction: first.direction,
            tel: first.tel.to_owned(),
            called: first.called.to_owned(),
            state,
            setup_at: first.at,
            connect_at,
            release_at,
            ringing_ms: None,
            talk_ms: None,
            replaces: first.replaces.map(str::to_owned),
            person: first.person.cloned(),
            report: None,
            park_slot: first
                .slot
                .filter(|_| state == CallState::Parked)
                .map(str::to_owned),
            replaced_by: None,
        };
        call.times();
        call
    }

    /// What a later event does: setup → connect on CONNECT, setup → missed
    /// on RELEASE or MISSED, connect → release on RELEASE, in and out of
    /// the park; anything else (a repeat, a "missed" after the answer:
    /// OVH's end_ringing once connected) changes nothing but the name.
    pub fn apply(&mut self, e: Step<'_>) {
        use ctibridge_client::events::model::Transition;
        if let Transition::To(next) = self.state.after(e.event) {
            match next {
                // The first answer: taken back from the park, it goes on.
                CallState::Connect => {
                    self.connect_at.get_or_insert(e.at);
                }
                CallState::Release | CallState::Missed => self.release_at = Some(e.at),
                CallState::Parked | CallState::Setup => {}
            }
            self.park_slot = match next {
                CallState::Parked => e.slot.map(str::to_owned),
                _ => None,
            };
            self.state = next;
            self.times();
        }
        // The newest event that names the other party.
        if let Some(p) = e.person {
            self.person = Some(p.clone());
        }
    }

    /// Ringing and talking times, from the call's times.
    fn times(&mut self) {
        self.ringing_ms = self
            .connect_at
            .or(self.release_at)
            .map(|t| t - self.setup_at);
        self.talk_ms = self.connect_at.zip(self.release_at).map(|(c, r)| r - c);
    }
}

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

/// Where a call stands now, as the CTI routes, the desk, the wall and
/// `ctibridge call` show it; written on the wire as the provider's states
/// (`SETUP`, `CONNECT`, `PARKED`, `RELEASE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveState {
    #[serde(rename = "SETUP")]
    Ringing,
    #[serde(rename = "CONNECT")]
    Talking,
    #[serde(rename = "PARKED")]
    Parked,
    #[serde(rename = "RELEASE")]
    Ended,
}

impl LiveState {
    /// The state of `call` at `now` (ms since 1970).
    pub fn of(call: &CallRecord, now: i64) -> LiveState {
        match call.state {
            _ if !call.under_way(now) => LiveState::Ended,
            CallState::Parked => LiveState::Parked,
            _ if call.connect_at.is_some() => LiveState::Talking,
            _ => LiveState::Ringing,
        }
    }
}

impl CallRecord {
    /// The two parties, `(caller, callee)`: of an outgoing call the line
    /// is the caller, of an incoming one the callee.
    pub fn parties(&self) -> (&str, &str) {
        self.direction.parties(&self.line, &self.tel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(state: CallState, connect_at: Option<i64>, release_at: Option<i64>) -> CallRecord {
        CallRecord {
            callref: "c".into(),
            line: "+33972101010".into(),
            direction: Direction::In,
            tel: "+33388202020".into(),
            called: "+33972101010".into(),
            state,
            setup_at: 1_000,
            connect_at,
            release_at,
            ringing_ms: None,
            talk_ms: None,
            replaces: None,
            person: None,
            report: None,
            park_slot: None,
            replaced_by: None,
        }
    }

    /// One state per call, written as the provider writes it.
    #[test]
    fn a_calls_live_state_and_its_name_on_the_wire() {
        let now = 2_000;
        let cases = [
            (
                call(CallState::Setup, None, None),
                LiveState::Ringing,
                "SETUP",
            ),
            (
                call(CallState::Connect, Some(1_500), None),
                LiveState::Talking,
                "CONNECT",
            ),
            (
                call(CallState::Parked, Some(1_500), None),
                LiveState::Parked,
                "PARKED",
            ),
            (
                call(CallState::Release, Some(1_500), Some(1_900)),
                LiveState::Ended,
                "RELEASE",
            ),
        ];
        for (c, live, wire) in cases {
            assert_eq!(LiveState::of(&c, now), live, "{c:?}");
            assert_eq!(serde_json::to_value(live).unwrap(), wire);
        }
        let c = call(CallState::Setup, None, None);
        assert_eq!(c.parties(), ("+33388202020", "+33972101010"));
        let out = CallRecord {
            direction: Direction::Out,
            ..c
        };
        assert_eq!(out.parties(), ("+33972101010", "+33388202020"));
    }
}
