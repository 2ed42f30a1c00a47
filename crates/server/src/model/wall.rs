//! The supervisor's wall as a fold of the call events: each followed
//! line's calls under way and the day's counts, brought up to date by
//! each event as the hub publishes it (the page is sent the changes;
//! nothing is read back from the journal after the server starts).

use std::collections::HashMap;

use serde::Serialize;

use ctibridge_client::events::model::{CallState, Direction};

use crate::model::clock::day_of;
use crate::model::event::LineEvent;
use crate::model::record::{CallRecord, Step};

/// An answer within this long after the call began counts as quick (ms).
pub const QUICK_ANSWER: i64 = 20_000;
/// Calls a line keeps at most: those under way, and after them the ones
/// that ended most recently (a late event of a call folds into it rather
/// than counting a new call).
pub const KEPT_PER_LINE: usize = 256;

/// The day's counts of incoming calls, over the lines the wall follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub received: u64,
    pub missed: u64,
    /// Answered within [`QUICK_ANSWER`].
    pub answered_within_20s: u64,
}

impl DayCounts {
    /// What `call` adds to the counts of the day that begins at `start`.
    pub fn of(call: &CallRecord, start: i64) -> DayCounts {
        if call.setup_at < start || call.direction != Direction::In {
            return DayCounts::default();
        }
        let missed = call.state == CallState::Missed;
        let quick = !missed
            && call.connect_at.is_some()
            && call.ringing_ms.is_some_and(|r| r <= QUICK_ANSWER);
        DayCounts {
            received: 1,
            missed: u64::from(missed),
            answered_within_20s: u64::from(quick),
        }
    }

    fn add(&mut self, c: DayCounts) {
        self.received += c.received;
        self.missed += c.missed;
        self.answered_within_20s += c.answered_within_20s;
    }

    fn take(&mut self, c: DayCounts) {
        self.received = self.received.saturating_sub(c.received);
        self.missed = self.missed.saturating_sub(c.missed);
        self.answered_within_20s = self
            .answered_within_20s
            .saturating_sub(c.answered_within_20s);
    }
}

/// One line as the wall knows it.
#[derive(Default, Debug)]
struct LineWall {
    calls: HashMap<String, CallRecord>,
    /// The number of its last event folded.
    changed: u64,
}

/// The wall's fold.
#[derive(Debug)]
pub struct Wall {
    lines: HashMap<String, LineWall>,
    /// Today's first millisecond and tomorrow's.
    day: (i64, i64),
    today: DayCounts,
}

/// One line of a [`WallView`].
#[derive(Clone, Debug, PartialEq)]
pub struct WallLine {
    pub line: String,
    /// The number of its last event folded (0: none yet).
    pub changed: u64,
    /// Its calls under way, newest first.
    pub calls: Vec<CallRecord>,
}

/// What the wall shows, at one point of the events.
#[derive(Clone, Debug, PartialEq)]
pub struct WallView {
    /// The number of the last event folded in (of any line): a page that
    /// reads the events after it misses none and has none twice.
    pub cursor: u64,
    pub lines: Vec<WallLine>,
    pub today: DayCounts,
}

impl Wall {
    /// A wall following `lines`, on the day of `now`.
    pub fn new(lines: impl IntoIterator<Item = String>, now: i64) -> Wall {
        Wall {
            lines: lines
                .into_iter()
                .map(|l| (l, LineWall::default()))
                .collect(),
            day: day_of(now),
            today: DayCounts::default(),
        }
    }

    /// Calls known before the first event (the journal's, when the server
    /// starts): counted, and kept while under way or lately ended.
    pub fn seed(&mut self, calls: impl IntoIterator<Item = CallRecord>, now: i64) {
        self.roll(now);
        for call in calls {
            let Some(line) = self.lines.get_mut(&call.line) else {
                continue;
            };
            if line.calls.contains_key(&call.callref) {
                continue;
            }
            self.today.add(DayCounts::of(&call, self.day.0));
            line.calls.insert(call.callref.clone(), call);
        }
        for line in self.lines.values_mut() {
            line.prune(now);
        }
    }

    /// Folds `event`, numbered `seq`, that came at `at` (ms since 1970).
    pub fn apply(&mut self, event: &LineEvent, seq: u64, at: i64) {
        if event.callref.is_empty() || !self.lines.contains_key(&event.line) {
            return;
        }
        self.roll(at);
        let start = self.day.0;
        let Some(line) = self.lines.get_mut(&event.line) else {
            return;
        };
        let step = Step::of(event, at);
        match line.calls.get_mut(&event.callref) {
            Some(call) => {
                self.today.take(DayCounts::of(call, start));
                call.apply(step);
                self.today.add(DayCounts::of(call, start));
            }
            None => {
                let call = CallRecord::begin(&event.callref, &event.line, step);
                self.today.add(DayCounts::of(&call, start));
                line.calls.insert(event.callref.clone(), call);
                if line.calls.len() > KEPT_PER_LINE {
                    line.prune(at);
                }
            }
        }
        line.changed = seq;
    }

    /// The wall at `now`, its events folded up to `cursor`.
    pub fn view(&mut self, cursor: u64, now: i64) -> WallView {
        self.roll(now);
        let mut lines: Vec<WallLine> = self
            .lines
            .iter()
            .map(|(name, l)| {
                let mut calls: Vec<CallRecord> = l
                    .calls
                    .values()
                    .filter(|c| c.under_way(now))
                    .cloned()
                    .collect();
                calls.sort_by(|a, b| b.setup_at.cmp(&a.setup_at).then(b.callref.cmp(&a.callref)));
                WallLine {
                    line: name.clone(),
                    changed: l.changed,
                    calls,
                }
            })
            .collect();
        lines.sort_by(|a, b| a.line.cmp(&b.line));
        WallView {
            cursor,
            lines,
            today: self.today,
        }
    }

    /// A new day when `now` is past today: counted again from the calls
    /// kept (those that began before its midnight count for nothing).
    fn roll(&mut self, now: i64) {
        if now < self.day.1 && now >= self.day.0 {
            return;
        }
        self.day = day_of(now);
        let start = self.day.0;
        self.today = DayCounts::default();
        for line in self.lines.values() {
            for call in line.calls.values() {
                self.today.add(DayCounts::of(call, start));
            }
        }
    }
}

impl LineWall {
    /// Keeps the calls under way at `now` and, of the others, the newest
    /// ended, [`KEPT_PER_LINE`] in all at most (half of it when many end
    /// at once, so that this runs once per many calls).
    fn prune(&mut self, now: i64) {
        if self.calls.len() <= KEPT_PER_LINE / 2 {
            return;
        }
        let mut over: Vec<(i64, String)> = self
            .calls
            .values()
            .filter(|c| !c.under_way(now))
            .map(|c| (c.release_at.unwrap_or(c.setup_at), c.callref.clone()))
            .collect();
        let keep = (KEPT_PER_LINE / 2).saturating_sub(self.calls.len() - over.len());
        if over.len() <= keep {
            return;
        }
        over.sort_unstable();
        let drop = over.len() - keep;
        for (_, callref) in over.into_iter().take(drop) {
            self.calls.remove(&callref);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;

    const LINE: &str = "+33972101010";

    fn ev(callref: &str, event: Event, direction: Direction) -> LineEvent {
        LineEvent {
            seq: 0,
            line: LINE.into(),
            event,
            tel: "+33611223344".into(),
            called: LINE.into(),
            callref: callref.into(),
            direction,
            replaces: None,
            person: None,
            slot: (event == Event::Park).then(|| "701".to_owned()),
            at: 0,
        }
    }

    /// Noon today.
    fn noon() -> i64 {
        let (start, _) = day_of(crate::model::clock::now_ms());
        start + 12 * 3600 * 1000
    }

    #[test]
    fn the_day_counts_follow_each_call_to_its_end() {
        let t = noon();
        let mut wall = Wall::new([LINE.to_owned(), "+33972102020".to_owned()], t);
        let mut seq = 0;
        let mut at = |w: &mut Wall, callref: &str, e: Event, d: Direction, ms: i64| {
            seq += 1;
            w.apply(&ev(callref, e, d), seq, t + ms);
        };
        // Answered after 5 s: received and quick.
        at(&mut wall, "a", Event::Ring, Direction::In, 0);
        at(&mut wall, "a", Event::Connect, Direction::In, 5_000);
        // Rang out: received and missed.
        at(&mut wall, "b", Event::Ring, Direction::In, 6_000);
        at(&mut wall, "b", Event::Missed, Direction::In, 30_000);
        // Answered after 25 s: received, not quick; then parked.
        at(&mut wall, "c", Event::Ring, Direction::In, 31_000);
        at(&mut wall, "c", Event::Connect, Direction::In, 56_000);
        at(&mut wall, "c", Event::Park, Direction::In, 57_000);
        // Outgoing: not counted.
        at(&mut wall, "d", Event::Dial, Direction::Out, 58_000);
        let view = wall.view(8, t + 60_000);
        assert_eq!(
            view.today,
            DayCounts {
                received: 3,
                missed: 1,
                answered_within_20s: 1
            }
        );
        let line = &view.lines[0];
        assert_eq!(line.line, "+33972101010");
        assert_eq!(line.changed, 8);
        let under_way: Vec<_> = line.calls.iter().map(|c| c.callref.as_str()).collect();
        assert_eq!(
            under_way,
            ["d", "c", "a"],
            "newest first, the missed call gone"
        );
        assert_eq!(line.calls[1].park_slot.as_deref(), Some("701"));
        // The other line: nothing happened there.
        assert_eq!(view.lines[1].changed, 0);
        // A repeat of an end changes no count.
        at(&mut wall, "b", Event::Missed, Direction::In, 61_000);
        at(&mut wall, "a", Event::Release, Direction::In, 62_000);
        let view = wall.view(10, t + 63_000);
        assert_eq!(view.today.received, 3);
        assert_eq!(view.today.missed, 1);
        assert_eq!(view.today.answered_within_20s, 1);
    }

    #[test]
    fn a_line_the_wall_does_not_follow_changes_nothing() {
        let t = noon();
        let mut wall = Wall::new([LINE.to_owned()], t);
        let mut e = ev("x", Event::Ring, Direction::In);
        e.line = "+33999999999".into();
        wall.apply(&e, 1, t);
        let view = wall.view(1, t);
        assert_eq!(view.today, DayCounts::default());
        assert!(view.lines[0].calls.is_empty());
    }

    #[test]
    fn a_new_day_counts_from_nothing_and_old_calls_end() {
        let t = noon();
        let mut wall = Wall::new([LINE.to_owned()], t);
        wall.apply(&ev("a", Event::Ring, Direction::In), 1, t);
        wall.apply(&ev("a", Event::Connect, Direction::In), 2, t + 1_000);
        assert_eq!(wall.view(2, t + 2_000).today.received, 1);
        let tomorrow = day_of(t).1 + 3600 * 1000;
        let view = wall.view(2, tomorrow);
        assert_eq!(view.today, DayCounts::default());
        assert_eq!(
            view.lines[0].calls.len(),
            1,
            "answered: a call may last a day"
        );
        wall.apply(&ev("b", Event::Ring, Direction::In), 3, tomorrow);
        assert_eq!(wall.view(3, tomorrow).today.received, 1);
    }

    #[test]
    fn the_calls_kept_are_bounded_and_the_counts_are_not_forgotten() {
        let t = noon();
        let mut wall = Wall::new([LINE.to_owned()], t);
        let mut seq = 0;
        for i in 0..1000 {
            let callref = format!("c{i}");
            for e in [Event::Ring, Event::Missed] {
                seq += 1;
                wall.apply(&ev(&callref, e, Direction::In), seq, t + i);
            }
        }
        seq += 1;
        wall.apply(&ev("live", Event::Ring, Direction::In), seq, t + 2_000);
        assert!(wall.lines[LINE].calls.len() <= KEPT_PER_LINE);
        let view = wall.view(seq, t + 3_000);
        assert_eq!(view.today.received, 1001);
        assert_eq!(view.today.missed, 1000);
        assert_eq!(view.lines[0].calls.len(), 1);
        assert_eq!(view.lines[0].calls[0].callref, "live");
    }

    #[test]
    fn seeded_calls_count_once() {
        let t = noon();
        let mut wall = Wall::new([LINE.to_owned()], t);
        let call = CallRecord::begin(
            "s",
            LINE,
            Step::of(&ev("s", Event::Ring, Direction::In), t - 1_000),
        );
        wall.seed([call.clone(), call], t);
        let view = wall.view(0, t);
        assert_eq!(view.today.received, 1);
        assert_eq!(view.lines[0].calls.len(), 1);
        // Its answer, as the next event: counted quick, not received again.
        wall.apply(&ev("s", Event::Connect, Direction::In), 1, t);
        assert_eq!(
            wall.view(1, t).today,
            DayCounts {
                received: 1,
                missed: 0,
                answered_within_20s: 1
            }
        );
    }
}
