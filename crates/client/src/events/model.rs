//! The one call model of ctibridge: what can happen to a call ([`Event`]),
//! which way it goes ([`Direction`]), the state it is in ([`CallState`]),
//! and the one function that applies an event to a call
//! ([`CallState::after`]). `watch`, the server's hub, its journal, the OVH
//! relay and the simulator all speak it; a provider's own words (Keyyo's
//! SETUP/CONNECT/RELEASE, OVH's start_ringing…) are translated into it
//! where they come in.

use serde::{Deserialize, Serialize};

/// What happened to a call, as `getevent` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Event {
    /// The line calls out (the call is being set up).
    Dial,
    /// The line is called.
    Ring,
    /// The call is answered.
    Connect,
    /// The call ends.
    Release,
    /// The call ended unanswered.
    Missed,
    /// A side of the answered call waits in the call park (its slot is
    /// the event's `slot`).
    Park,
    /// It is taken back from the park.
    Unpark,
}

impl Event {
    /// The event named `name` ([`Event::as_str`]).
    pub fn parse(name: &str) -> Option<Event> {
        [
            Event::Dial,
            Event::Ring,
            Event::Connect,
            Event::Release,
            Event::Missed,
            Event::Park,
            Event::Unpark,
        ]
        .into_iter()
        .find(|e| e.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Event::Dial => "DIAL",
            Event::Ring => "RING",
            Event::Connect => "CONNECT",
            Event::Release => "RELEASE",
            Event::Missed => "MISSED",
            Event::Park => "PARK",
            Event::Unpark => "UNPARK",
        }
    }
}

/// Which way a call goes, seen from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The line is called.
    In,
    /// The line calls.
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    /// The direction named `name` (`in`, `out`).
    pub fn parse(name: &str) -> Option<Direction> {
        match name {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }

    /// A call of `line` with `other` as `(caller, callee)`: the line calls
    /// out, and is called in. The one place this rule is written.
    pub fn parties<T>(self, line: T, other: T) -> (T, T) {
        match self {
            Direction::Out => (line, other),
            Direction::In => (other, line),
        }
    }

    /// The other party of a call whose parties are `(caller, callee)`.
    pub fn other<T>(self, caller: T, callee: T) -> T {
        match self {
            Direction::Out => callee,
            Direction::In => caller,
        }
    }
}

/// The state of a call: SETUP → CONNECT → RELEASE, or SETUP → MISSED when
/// it ends unanswered (the Keyyo CTI states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    Setup,
    Connect,
    Release,
    Missed,
    /// Answered, and waiting in the call park.
    Parked,
}

/// What an event does to a call ([`CallState::after`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The call moves to this state.
    To(CallState),
    /// Nothing changes (a repeat, a ring while ringing, anything after the
    /// end): the event is still about the call.
    Same,
    /// The event is not part of the call's course and is dropped: a
    /// "missed" after the answer (OVH's end_ringing once answered) ends
    /// nothing.
    Ignored,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Setup => "setup",
            CallState::Connect => "connect",
            CallState::Release => "release",
            CallState::Missed => "missed",
            CallState::Parked => "parked",
        }
    }

    /// The state named `name` ([`CallState::as_str`]).
    pub fn parse(name: &str) -> Option<CallState> {
        [
            CallState::Setup,
            CallState::Connect,
            CallState::Release,
            CallState::Missed,
            CallState::Parked,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// The state of a call whose first event seen is `event`: one that
    /// ends before anything else was seen of it ended unanswered.
    pub fn first(event: Event) -> CallState {
        match event {
            Event::Dial | Event::Ring => CallState::Setup,
            Event::Connect => CallState::Connect,
            Event::Release | Event::Missed => CallState::Missed,
            // Seen first in the park: it was answered.
            Event::Park => CallState::Parked,
            Event::Unpark => CallState::Connect,
        }
    }

    /// What `event` does to a call in this state — the one place the
    /// call's course is written.
    pub fn after(self, event: Event) -> Transition {
        match (self, event) {
            (CallState::Setup, Event::Connect) => Transition::To(CallState::Connect),
            (CallState::Setup, Event::Release | Event::Missed) => Transition::To(CallState::Missed),
            (CallState::Connect, Event::Release) => Transition::To(CallState::Release),
            (CallState::Connect, Event::Missed) => Transition::Ignored,
            (CallState::Connect, Event::Park) => Transition::To(CallState::Parked),
            (CallState::Parked, Event::Unpark) => Transition::To(CallState::Connect),
            (CallState::Parked, Event::Release) => Transition::To(CallState::Release),
            (CallState::Parked, Event::Missed) => Transition::Ignored,
            _ => Transition::Same,
        }
    }

    /// Whether the call is over.
    pub fn is_ended(self) -> bool {
        matches!(self, CallState::Release | CallState::Missed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: [Event; 5] = [
        Event::Dial,
        Event::Ring,
        Event::Connect,
        Event::Release,
        Event::Missed,
    ];

    #[test]
    fn the_course_of_a_call() {
        use CallState::*;
        use Transition::*;
        assert_eq!(Setup.after(Event::Connect), To(Connect));
        assert_eq!(Setup.after(Event::Release), To(Missed));
        assert_eq!(Setup.after(Event::Missed), To(Missed));
        assert_eq!(Connect.after(Event::Release), To(Release));
        // OVH's end_ringing once answered ends nothing.
        assert_eq!(Connect.after(Event::Missed), Ignored);
        assert_eq!(Setup.after(Event::Ring), Same);
        assert_eq!(Connect.after(Event::Connect), Same);
        // Nothing comes after the end.
        for e in EVENTS {
            assert_eq!(Release.after(e), Same);
            assert_eq!(Missed.after(e), Same);
        }
        assert_eq!(CallState::first(Event::Ring), Setup);
        assert_eq!(CallState::first(Event::Dial), Setup);
        assert_eq!(CallState::first(Event::Connect), Connect);
        assert_eq!(CallState::first(Event::Release), Missed);
    }

    #[test]
    fn names_read_back() {
        for e in EVENTS {
            assert_eq!(Event::parse(e.as_str()), Some(e));
        }
        for s in [
            CallState::Setup,
            CallState::Connect,
            CallState::Release,
            CallState::Missed,
        ] {
            assert_eq!(CallState::parse(s.as_str()), Some(s));
        }
        for d in [Direction::In, Direction::Out] {
            assert_eq!(Direction::parse(d.as_str()), Some(d));
        }
    }
}
