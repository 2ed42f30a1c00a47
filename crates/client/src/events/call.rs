//! The call model: event names classified by the `<global>` event tags, and
//! events tied into calls that go SETUP → CONNECT → RELEASE, or SETUP →
//! MISSED when they end unanswered (the Keyyo CTI states).

use chrono::{DateTime, Local, SecondsFormat};
use serde::Serialize;

use crate::config::{Global, PopupTrigger};
use crate::events::read::RawEvent;

/// What an event means, from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// `<event_ring>`: an incoming call rings.
    Ring,
    /// `<event_dial>`: the line calls out.
    Dial,
    /// `<event_popup>`: the source asks for a screen pop.
    Popup,
    /// `<even_connect>`: the call was answered.
    Connect,
    /// `<event_release>`: the call ended.
    Release,
    /// `<event_missed>`: the call ended unanswered.
    Missed,
    /// `PARK`, `UNPARK` (a bridge server's words): the call waits in the
    /// call park, and is taken back.
    Park,
    Unpark,
    /// Any other name: printed, otherwise ignored.
    Other,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Ring => "ring",
            EventKind::Dial => "dial",
            EventKind::Popup => "popup",
            EventKind::Connect => "connect",
            EventKind::Release => "release",
            EventKind::Missed => "missed",
            EventKind::Park => "park",
            EventKind::Unpark => "unpark",
            EventKind::Other => "other",
        }
    }

    /// The call model's event this kind of event is (a screen-pop request
    /// rings); `None` for any other name.
    pub fn event(self) -> Option<Event> {
        match self {
            EventKind::Ring | EventKind::Popup => Some(Event::Ring),
            EventKind::Dial => Some(Event::Dial),
            EventKind::Connect => Some(Event::Connect),
            EventKind::Release => Some(Event::Release),
            EventKind::Missed => Some(Event::Missed),
            EventKind::Park => Some(Event::Park),
            EventKind::Unpark => Some(Event::Unpark),
            EventKind::Other => None,
        }
    }
}

pub(crate) use crate::events::model::CallState;
use crate::events::model::{Direction, Event, Transition};

/// The event names of `<global>`, compared without regard to case.
#[derive(Clone, Debug)]
pub struct EventNames {
    names: Vec<(String, EventKind)>,
}

impl EventNames {
    pub fn from_global(g: &Global) -> EventNames {
        let names = [
            (&g.event_ring.value, EventKind::Ring),
            (&g.event_popup.value, EventKind::Popup),
            (&g.event_connect.value, EventKind::Connect),
            (&g.event_release.value, EventKind::Release),
            (&g.event_missed.value, EventKind::Missed),
            (&g.event_dial.value, EventKind::Dial),
        ]
        .into_iter()
        // Several names may mean the same: `start_ringing|member-queue-start`.
        .flat_map(|(names, k)| names.split('|').map(move |n| (n.trim().to_owned(), k)))
        .filter(|(n, _)| !n.is_empty())
        // The bridge server's own words for the call park (after the
        // file's: a name the file gives wins).
        .chain([
            ("PARK".to_owned(), EventKind::Park),
            ("UNPARK".to_owned(), EventKind::Unpark),
        ])
        .collect();
        EventNames { names }
    }

    pub fn classify(&self, name: &str) -> EventKind {
        let name = name.trim();
        self.names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(EventKind::Other, |(_, k)| *k)
    }
}

/// One line of `watch`'s output: an event and the call it belongs to.
/// The JSON form is the stable schema documented in docs/watch.md.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallEvent {
    pub kind: EventKind,
    /// The call's state after this event; none for an "other" event of no
    /// known call.
    pub state: Option<CallState>,
    /// The source's call identifier.
    pub call_id: Option<String>,
    /// Who called whom: for an outgoing call the caller is this desk's
    /// line; for an incoming one with no called number, the callee is.
    pub caller: Option<String>,
    pub callee: Option<String>,
    /// `in` (the line is called), `out` (it calls), or null when the
    /// events do not say.
    pub direction: Option<Direction>,
    /// The event name as the source wrote it.
    pub event: String,
    /// When ctibridge received the event.
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Local>,
    /// When it happened, as the source says (`<json_time>`); the call's
    /// times and durations are from it.
    #[serde(serialize_with = "rfc3339_opt")]
    pub event_at: Option<DateTime<Local>>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub setup_at: Option<DateTime<Local>>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub connect_at: Option<DateTime<Local>>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub release_at: Option<DateTime<Local>>,
    /// From setup to answer, or to the end of a missed call.
    pub ringing_ms: Option<u64>,
    /// From answer to hang-up.
    pub talk_ms: Option<u64>,
    /// This event is the one that runs the call's screen pop.
    pub screen_pop: bool,
    /// Who the other party is (`name`, `company`, `record`), when known.
    #[serde(flatten)]
    pub person: Option<crate::names::Person>,
    /// The call's other party has not been looked up yet: this is the
    /// number to look up (`CallBook::name_last` gives the answer).
    #[serde(skip)]
    pub look_up: Option<String>,
}

fn rfc3339<S: serde::Serializer>(t: &DateTime<Local>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, false))
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<DateTime<Local>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

impl CallEvent {
    /// When the event happened: the source's time, or when it was read.
    pub fn when(&self) -> DateTime<Local> {
        self.event_at.unwrap_or(self.at)
    }

    /// One line for a person at a terminal.
    pub fn readable(&self) -> String {
        let mut line = format!(
            "{}  {:<7}  {} → {}",
            self.when().format("%H:%M:%S"),
            self.kind.as_str(),
            self.caller.as_deref().unwrap_or("withheld"),
            self.callee.as_deref().unwrap_or("?"),
        );
        if let Some(p) = &self.person {
            line.push_str(&format!("  {}", p.display()));
        }
        if self.kind == EventKind::Other {
            line.push_str(&format!("  ({})", self.event));
        } else if self.state == Some(CallState::Missed) && self.kind != EventKind::Missed {
            // A hang-up before the answer.
            line.push_str("  [missed]");
        }
        if let Some(id) = &self.call_id {
            line.push_str(&format!("  call {id}"));
        }
        if let Some(ms) = self.ringing_ms {
            line.push_str(&format!("  rang {}", duration(ms)));
        }
        if let Some(ms) = self.talk_ms {
            line.push_str(&format!("  talked {}", duration(ms)));
        }
        if self.screen_pop {
            line.push_str("  ← screen pop");
        }
        line
    }
}

/// A duration as a person reads it, `m:ss` or `h:mm:ss`, to the nearest
/// second: the one form of `watch`, `history` and the demo.
pub fn duration(ms: u64) -> String {
    let s = (ms + 500) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A call being followed.
#[derive(Clone, Debug)]
struct Call {
    key: String,
    call_id: Option<String>,
    caller: Option<String>,
    callee: Option<String>,
    direction: Option<Direction>,
    state: CallState,
    setup_at: DateTime<Local>,
    connect_at: Option<DateTime<Local>>,
    popped: bool,
    last_seen: DateTime<Local>,
    person: Option<crate::names::Person>,
    /// The other party was looked up (or the events named it).
    asked: bool,
}

/// Calls that have not ended yet. Bounded: past [`CallBook::MAX_OPEN`] the
/// call seen longest ago is forgotten (a source that never sends releases
/// cannot make `watch` grow).
#[derive(Debug)]
pub(crate) struct CallBook {
    names: EventNames,
    trigger: PopupTrigger,
    open: Vec<Call>,
    /// This desk's line as the station writes it: the caller of its
    /// outgoing calls, the callee of incoming ones that do not say.
    own_line: Option<String>,
    /// The key of the call of the last event applied.
    last: Option<String>,
}

impl CallBook {
    pub const MAX_OPEN: usize = 256;

    pub fn new(names: EventNames, trigger: PopupTrigger) -> CallBook {
        CallBook {
            names,
            trigger,
            open: Vec::new(),
            own_line: None,
            last: None,
        }
    }

    /// With this desk's line (`<telorg>` as written), shown as the caller
    /// of its outgoing calls and the callee of incoming ones.
    pub fn with_line(mut self, line: &str) -> CallBook {
        self.own_line = Some(line.trim().to_owned()).filter(|l| !l.is_empty());
        self
    }

    /// Calls not ended yet.
    #[cfg(test)]
    pub fn open_calls(&self) -> usize {
        self.open.len()
    }

    /// Ties `raw`, received at `received`, to its call and says what it
    /// means. The call's times are the event's own when the source gives
    /// them (`<json_time>`), else when it was received.
    pub fn apply(&mut self, raw: &RawEvent, received: DateTime<Local>) -> CallEvent {
        let event_at = raw.at.map(|t| t.with_timezone(&Local));
        let now = event_at.unwrap_or(received);
        let kind = self.names.classify(&raw.name);
        let key = call_key(raw);
        let found = self.open.iter().position(|c| c.key == key);
        // An event the call model drops ("ringing ended" after the answer,
        // OVH's end_ringing) is shown as any other.
        let kind = match (found, kind.event()) {
            (Some(i), Some(e)) if self.open[i].state.after(e) == Transition::Ignored => {
                EventKind::Other
            }
            _ => kind,
        };
        let mut ev = CallEvent {
            kind,
            state: None,
            call_id: raw.call_id.clone(),
            caller: raw.caller.clone(),
            callee: raw.called.clone(),
            direction: None,
            event: raw.name.clone(),
            at: received,
            event_at,
            setup_at: None,
            connect_at: None,
            release_at: None,
            ringing_ms: None,
            talk_ms: None,
            screen_pop: false,
            person: raw.person.clone(),
            look_up: None,
        };
        self.last = None;
        let call = match (kind, found) {
            (EventKind::Other, None) => return ev,
            (EventKind::Release | EventKind::Missed, None) => {
                // The end of a call whose start we did not see.
                ev.state = Some(if kind == EventKind::Missed {
                    CallState::Missed
                } else {
                    CallState::Release
                });
                ev.release_at = Some(now);
                return ev;
            }
            (_, Some(i)) => &mut self.open[i],
            (_, None) => {
                self.make_room();
                // The number an event gives is the other party's: the
                // caller of an incoming call, the callee of an outgoing one.
                let (caller, callee, direction) = match kind {
                    EventKind::Dial => (
                        self.own_line.clone(),
                        raw.called.clone().or_else(|| raw.caller.clone()),
                        Some(Direction::Out),
                    ),
                    EventKind::Ring | EventKind::Popup => (
                        raw.caller.clone(),
                        raw.called.clone().or_else(|| self.own_line.clone()),
                        Some(Direction::In),
                    ),
                    _ => (raw.caller.clone(), raw.called.clone(), None),
                };
                self.open.push(Call {
                    key,
                    call_id: raw.call_id.clone(),
                    caller,
                    callee,
                    direction,
                    state: CallState::Setup,
                    setup_at: now,
                    connect_at: None,
                    popped: false,
                    last_seen: received,
                    person: None,
                    asked: false,
                });
                self.open.last_mut().expect("just pushed")
            }
        };
        call.last_seen = received;
        if call.person.is_none() {
            call.person.clone_from(&raw.person);
        }
        if call.person.is_some() {
            call.asked = true;
        }
        if call.direction != Some(Direction::Out) {
            if call.caller.is_none() {
                call.caller.clone_from(&raw.caller);
            }
            if call.callee.is_none() {
                call.callee.clone_from(&raw.called);
            }
        } else if call.callee.is_none() {
            call.callee = raw.called.clone().or_else(|| raw.caller.clone());
        }
        let transition = kind
            .event()
            .map_or(Transition::Same, |e| call.state.after(e));
        let mut ended = false;
        if let Transition::To(state) = transition {
            call.state = state;
            if state == CallState::Connect && call.connect_at.is_none() {
                // The answer (not a call taken back from the park).
                call.connect_at = Some(now);
                ev.ringing_ms = Some(ms_between(call.setup_at, now));
            } else if state.is_ended() {
                ev.release_at = Some(now);
                match call.connect_at {
                    Some(c) if state == CallState::Release => {
                        ev.ringing_ms = Some(ms_between(call.setup_at, c));
                        ev.talk_ms = Some(ms_between(c, now));
                    }
                    _ => ev.ringing_ms = Some(ms_between(call.setup_at, now)),
                }
                ended = true;
            }
        }
        let pops = match self.trigger {
            PopupTrigger::Ring => matches!(kind, EventKind::Ring | EventKind::Popup),
            PopupTrigger::Popup => kind == EventKind::Popup,
            PopupTrigger::Connect => kind == EventKind::Connect,
        };
        if pops && !call.popped {
            call.popped = true;
            ev.screen_pop = true;
        }
        ev.state = Some(call.state);
        ev.call_id.clone_from(&call.call_id);
        ev.caller.clone_from(&call.caller);
        ev.callee.clone_from(&call.callee);
        ev.direction = call.direction;
        ev.setup_at = Some(call.setup_at);
        ev.connect_at = call.connect_at;
        ev.person.clone_from(&call.person);
        if !call.asked {
            call.asked = true;
            let other = match call.direction {
                Some(Direction::Out) => &call.callee,
                _ => &call.caller,
            };
            ev.look_up.clone_from(other);
        }
        self.last = Some(call.key.clone());
        if ended {
            let key = call.key.clone();
            self.open.retain(|c| c.key != key);
        }
        ev
    }

    /// Whether the call of `answer[i]` ends later in the same answer: it
    /// ended before the desk could read it, so it does not pop (a desk
    /// that was away, or behind, is not shown a call that is over).
    pub fn ends_later(&self, answer: &[RawEvent], i: usize) -> bool {
        let Some(raw) = answer.get(i) else {
            return false;
        };
        let key = call_key(raw);
        answer[i + 1..].iter().any(|r| {
            matches!(
                self.names.classify(&r.name),
                EventKind::Release | EventKind::Missed
            ) && call_key(r) == key
        })
    }

    /// Who the other party of the last event's call is (the answer to its
    /// `look_up`): the call's next events carry it.
    pub fn name_last(&mut self, person: crate::names::Person) {
        let Some(key) = &self.last else { return };
        if let Some(c) = self.open.iter_mut().find(|c| &c.key == key) {
            c.person = Some(person);
        }
    }

    fn make_room(&mut self) {
        while self.open.len() >= Self::MAX_OPEN {
            let oldest = self
                .open
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| c.last_seen)
                .map(|(i, _)| i)
                .unwrap_or(0);
            let c = self.open.remove(oldest);
            tracing::debug!(key = c.key, "forgetting a call that never ended");
        }
    }
}

/// What ties the events of one call: its identifier, else the caller's
/// number.
fn call_key(raw: &RawEvent) -> String {
    match (&raw.call_id, &raw.caller) {
        (Some(id), _) => format!("id:{id}"),
        (None, Some(n)) => format!("tel:{n}"),
        (None, None) => "anonymous".to_owned(),
    }
}

fn ms_between(from: DateTime<Local>, to: DateTime<Local>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn book(trigger: PopupTrigger) -> CallBook {
        let loaded = crate::load::load_text("<callto>\ncmd=callto:$teldest$\n", None);
        let g = loaded.checked.expect("config").config.global;
        CallBook::new(EventNames::from_global(&g), trigger)
    }

    fn raw(name: &str, caller: &str, id: Option<&str>) -> RawEvent {
        RawEvent {
            name: name.into(),
            caller: Some(caller.into()),
            called: Some("1003".into()),
            call_id: id.map(Into::into),
            ..RawEvent::default()
        }
    }

    fn t0() -> DateTime<Local> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00+01:00")
            .unwrap()
            .with_timezone(&Local)
    }

    #[test]
    fn classify_is_case_insensitive_and_keeps_others() {
        let b = book(PopupTrigger::Ring);
        assert_eq!(b.names.classify("ring"), EventKind::Ring);
        assert_eq!(b.names.classify(" POPUP "), EventKind::Popup);
        assert_eq!(b.names.classify("Connect"), EventKind::Connect);
        assert_eq!(b.names.classify("RELEASE"), EventKind::Release);
        assert_eq!(b.names.classify("missed"), EventKind::Missed);
        assert_eq!(b.names.classify("registered"), EventKind::Other);
        assert_eq!(b.names.classify(""), EventKind::Other);
    }

    #[test]
    fn ring_connect_release_with_durations_and_one_pop() {
        let mut b = book(PopupTrigger::Ring);
        let e = b.apply(&raw("RING", "0388", Some("c1")), t0());
        assert_eq!(
            (e.kind, e.state, e.screen_pop),
            (EventKind::Ring, Some(CallState::Setup), true)
        );
        let e = b.apply(
            &raw("POPUP", "0388", Some("c1")),
            t0() + TimeDelta::seconds(1),
        );
        assert!(!e.screen_pop, "once per call");
        let e = b.apply(
            &raw("CONNECT", "0388", Some("c1")),
            t0() + TimeDelta::seconds(4),
        );
        assert_eq!(
            (e.state, e.ringing_ms),
            (Some(CallState::Connect), Some(4000))
        );
        let e = b.apply(
            &raw("RELEASE", "0388", Some("c1")),
            t0() + TimeDelta::seconds(64),
        );
        assert_eq!(e.state, Some(CallState::Release));
        assert_eq!((e.ringing_ms, e.talk_ms), (Some(4000), Some(60_000)));
        assert_eq!(e.setup_at, Some(t0()));
        assert_eq!(b.open_calls(), 0);
        // A new call from the same number pops again.
        assert!(b.apply(&raw("RING", "0388", Some("c2")), t0()).screen_pop);
    }

    #[test]
    fn release_before_answer_is_missed_and_by_number_without_id() {
        let mut b = book(PopupTrigger::Ring);
        b.apply(&raw("RING", "0388", None), t0());
        let other = b.apply(&raw("RING", "0399", None), t0());
        assert!(other.screen_pop, "another caller is another call");
        let e = b.apply(&raw("RELEASE", "0388", None), t0() + TimeDelta::seconds(20));
        assert_eq!(
            (e.state, e.ringing_ms, e.talk_ms),
            (Some(CallState::Missed), Some(20_000), None)
        );
        let e = b.apply(&raw("MISSED", "0399", None), t0() + TimeDelta::seconds(3));
        assert_eq!(e.state, Some(CallState::Missed));
        assert_eq!(b.open_calls(), 0);
    }

    #[test]
    fn other_events_and_stray_ends() {
        let mut b = book(PopupTrigger::Ring);
        let e = b.apply(&raw("registered", "0388", None), t0());
        assert_eq!(
            (e.kind, e.state, e.screen_pop),
            (EventKind::Other, None, false)
        );
        assert_eq!(b.open_calls(), 0);
        let e = b.apply(&raw("RELEASE", "0377", Some("zz")), t0());
        assert_eq!((e.state, e.setup_at), (Some(CallState::Release), None));
        b.apply(&raw("RING", "0388", Some("c")), t0());
        let e = b.apply(&raw("registered", "0388", Some("c")), t0());
        assert_eq!(
            (e.kind, e.state),
            (EventKind::Other, Some(CallState::Setup))
        );
    }

    #[test]
    fn triggers() {
        let mut b = book(PopupTrigger::Connect);
        assert!(!b.apply(&raw("RING", "1", None), t0()).screen_pop);
        assert!(b.apply(&raw("CONNECT", "1", None), t0()).screen_pop);
        let mut b = book(PopupTrigger::Popup);
        assert!(!b.apply(&raw("RING", "1", None), t0()).screen_pop);
        assert!(b.apply(&raw("POPUP", "1", None), t0()).screen_pop);
        // A call first seen answered (no ring) still gets its times.
        let mut b = book(PopupTrigger::Ring);
        let e = b.apply(&raw("CONNECT", "2", None), t0());
        assert_eq!((e.state, e.ringing_ms), (Some(CallState::Connect), Some(0)));
    }

    #[test]
    fn open_calls_are_bounded() {
        let mut b = book(PopupTrigger::Ring);
        for i in 0..(CallBook::MAX_OPEN + 50) {
            b.apply(
                &raw("RING", &i.to_string(), None),
                t0() + TimeDelta::seconds(i as i64),
            );
        }
        assert_eq!(b.open_calls(), CallBook::MAX_OPEN);
        // The oldest were forgotten: their release is a stray end.
        let e = b.apply(&raw("RELEASE", "0", None), t0());
        assert_eq!(e.setup_at, None);
    }

    #[test]
    fn readable_lines() {
        let mut b = book(PopupTrigger::Ring);
        let e = b.apply(&raw("RING", "0388", Some("c1")), t0());
        assert_eq!(
            e.readable(),
            "10:00:00  ring     0388 → 1003  call c1  ← screen pop"
                .replace("10:00:00", &t0().format("%H:%M:%S").to_string())
        );
        b.apply(
            &raw("CONNECT", "0388", Some("c1")),
            t0() + TimeDelta::seconds(5),
        );
        let e = b.apply(
            &raw("RELEASE", "0388", Some("c1")),
            t0() + TimeDelta::seconds(3725),
        );
        assert!(
            e.readable().ends_with("call c1  rang 0:05  talked 1:02:00"),
            "{}",
            e.readable()
        );
        let e = b.apply(
            &RawEvent {
                name: "registered".into(),
                ..RawEvent::default()
            },
            t0(),
        );
        assert!(
            e.readable().contains("other    withheld → ?  (registered)"),
            "{}",
            e.readable()
        );
    }

    #[test]
    fn json_schema() {
        let mut b = book(PopupTrigger::Ring);
        let e = b.apply(&raw("RING", "0388", Some("c1")), t0());
        let v = serde_json::to_value(&e).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = [
            "kind",
            "state",
            "call_id",
            "caller",
            "callee",
            "direction",
            "event",
            "at",
            "event_at",
            "setup_at",
            "connect_at",
            "release_at",
            "ringing_ms",
            "talk_ms",
            "screen_pop",
        ];
        keys.sort_unstable();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(v["kind"], "ring");
        assert_eq!(v["direction"], "in");
        assert_eq!(v["state"], "setup");
        assert_eq!(v["connect_at"], serde_json::Value::Null);
        let at = v["at"].as_str().unwrap();
        assert_eq!(DateTime::parse_from_rfc3339(at).unwrap(), t0(), "{at}");
    }

    /// An outgoing call is shown as the desk saw it: its own line calling
    /// the number dialled, whatever field of the event holds that number,
    /// with the durations of the one form.
    #[test]
    fn an_outgoing_call_is_this_line_calling_the_number_dialled() {
        let mut b = book(PopupTrigger::Ring).with_line("1003");
        let t = |ms: i64| t0() + chrono::Duration::milliseconds(ms);
        // The bridge server's events: `tel` is the other party.
        let ev = |name: &str| RawEvent {
            name: name.into(),
            caller: Some("0388202020".into()),
            called: None,
            call_id: Some("c9".into()),
            ..RawEvent::default()
        };
        let e = b.apply(&ev("DIAL"), t(0));
        assert_eq!(e.kind, EventKind::Dial);
        assert_eq!(
            (e.caller.as_deref(), e.callee.as_deref()),
            (Some("1003"), Some("0388202020"))
        );
        assert_eq!(e.direction, Some(Direction::Out));
        assert!(!e.screen_pop, "no screen pop for a call the desk makes");
        b.apply(&ev("CONNECT"), t(1_200));
        let e = b.apply(&ev("RELEASE"), t(2_700));
        assert!(
            e.readable()
                .ends_with("release  1003 → 0388202020  call c9  rang 0:01  talked 0:02"),
            "{}",
            e.readable()
        );
        // An incoming call whose events do not name the number called.
        let e = b.apply(
            &RawEvent {
                called: None,
                ..raw("RING", "0612345678", Some("c10"))
            },
            t(0),
        );
        assert_eq!(
            (e.caller.as_deref(), e.callee.as_deref()),
            (Some("0612345678"), Some("1003"))
        );
        assert_eq!(e.direction, Some(Direction::In));
    }
}
