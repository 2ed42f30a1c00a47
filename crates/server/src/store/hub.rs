//! The bridge server's event hub: every call event, numbered, kept per line
//! for a bounded time and count, and handed to the stations polling for
//! that line — at once to those waiting, later to those that come back with
//! their cursor.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Events kept per line.
pub const KEEP_PER_LINE: usize = 1000;
/// How long an event is kept.
pub const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// Lines followed at most (a flood of made-up line numbers cannot grow the
/// hub past this).
pub const MAX_LINES: usize = 10_000;

use crate::model::event::{Event, LineEvent, ParkedCall};
use crate::model::record::CallRecord;
use crate::model::wall::{Wall, WallView};

struct Stored {
    event: Arc<LineEvent>,
    at: Instant,
    /// When it was published, in ms since 1970 (the browser's timers).
    wall_ms: i64,
}

/// One line's events, and what is known of each of their calls.
#[derive(Default)]
struct Line {
    events: VecDeque<Stored>,
    calls: HashMap<String, CallMark>,
}

/// What the events kept of one call say of it: whether it is still under
/// way, for a desk that starts or comes back.
#[derive(Clone, Copy, Debug)]
struct CallMark {
    /// Its events kept (the mark goes with the last).
    kept: usize,
    /// The number of its first event kept.
    first_seq: u64,
    /// When it began (ms since 1970).
    setup_ms: i64,
    /// It was answered (or parked): it may last long.
    answered: bool,
    /// When it ended, if it has.
    ended_ms: Option<i64>,
}

impl CallMark {
    /// Still under way at `now`: not ended, and not so old that its end
    /// must have been lost (the journal's rule: ringing ten minutes, or
    /// begun a day ago).
    fn under_way(&self, now: i64) -> bool {
        let age = now.saturating_sub(self.setup_ms);
        self.ended_ms.is_none()
            && if self.answered {
                age < crate::model::clock::CALL_SPAN
            } else {
                age < crate::model::clock::RINGING_SPAN
            }
    }

    /// Ended within [`FRESH`] of `now`.
    fn ended_lately(&self, now: i64) -> bool {
        self.ended_ms
            .is_some_and(|t| now.saturating_sub(t) <= FRESH.as_millis() as i64)
    }
}

/// How a desk reads its line ([`Hub::read`]): the rule that keeps an
/// ended call from popping on a desk that starts or comes back.
#[derive(Clone, Copy, Debug)]
pub enum Reading<'a> {
    /// A desk that keeps no cursor (Divalto's engine: the server keeps its
    /// place), or one starting with an empty cursor: the calls under way,
    /// and every event of the calls in `given` (those it already has:
    /// their ends). Never a call that already ended.
    UnderWay { given: &'a [String] },
    /// A desk back with its cursor: everything after it, but of the calls
    /// that ended, only those it had begun to read (their first event is
    /// at or before its cursor) and those that ended within [`FRESH`] (it
    /// was only a little behind; it pops none that its answer ends).
    Cursor,
}

/// A desk back with its cursor still gets the calls that ended this
/// recently (it was only a little behind, between two polls).
pub const FRESH: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Inner {
    last_seq: u64,
    lines: HashMap<String, Line>,
    /// The supervisors' wall, folded at each event (see [`Hub::follow_wall`]).
    wall: Option<Wall>,
}

/// The hub. Cheap to share behind an `Arc`.
pub struct Hub {
    inner: Mutex<Inner>,
    /// The last sequence number of each line someone waits on: a waiter
    /// on one line is woken by that line's events only, not by every
    /// event of the server.
    ticks: Mutex<HashMap<String, tokio::sync::watch::Sender<u64>>>,
    /// Set when the server stops: held polls are answered at once.
    closed: std::sync::atomic::AtomicBool,
    /// The account's call park as the provider pushes it (Keyyo's
    /// `callpark` subscription), calls of any line: callref → the call.
    /// Its number changes with each change.
    park: tokio::sync::watch::Sender<(u64, std::collections::BTreeMap<String, ParkedCall>)>,
}

/// How long a call stays in the call park as far as the hub knows (ms):
/// an hour, far longer than a provider leaves a call parked.
pub const PARK_SPAN: i64 = 3600 * 1000;
/// Calls in the call park the hub keeps at most.
pub const PARK_MAX: usize = 1000;

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    /// A hub whose events are numbered from the clock's microseconds:
    /// a desk that kept its cursor through a restart of the server (the
    /// numbers of the last run) is below every new number, so it misses
    /// none of the new events.
    pub fn new() -> Hub {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        Hub {
            inner: Mutex::new(Inner {
                last_seq: micros,
                lines: HashMap::new(),
                wall: None,
            }),
            ticks: Mutex::new(HashMap::new()),
            closed: std::sync::atomic::AtomicBool::new(false),
            park: tokio::sync::watch::Sender::new((0, Default::default())),
        }
    }

    /// A call is (still) in the call park. Calls parked an hour ago are
    /// forgotten (their leaving was not pushed), and the park holds
    /// [`PARK_MAX`] calls at most.
    pub fn parked(&self, call: ParkedCall) {
        self.park.send_if_modified(|(n, park)| {
            let before = park.len();
            park.retain(|_, c| call.since.saturating_sub(c.since) < PARK_SPAN);
            let same = park.get(&call.callref).is_some_and(|c| c.slot == call.slot);
            if !same {
                if park.len() >= PARK_MAX {
                    let oldest = park
                        .values()
                        .min_by_key(|c| c.since)
                        .map(|c| c.callref.clone());
                    if let Some(k) = oldest {
                        park.remove(&k);
                    }
                }
                park.insert(call.callref.clone(), call);
            }
            let changed = !same || park.len() != before;
            if changed {
                *n += 1;
            }
            changed
        });
    }

    /// A call left the call park (taken back, ended): whether it was there.
    pub fn unparked(&self, callref: &str) -> bool {
        self.park.send_if_modified(|(n, park)| {
            let was = park.remove(callref).is_some();
            if was {
                *n += 1;
            }
            was
        })
    }

    /// The calls in the call park, by slot (none parked an hour ago).
    pub fn park(&self) -> Vec<ParkedCall> {
        let now = crate::model::clock::now_ms();
        let mut calls: Vec<_> = self
            .park
            .borrow()
            .1
            .values()
            .filter(|c| now.saturating_sub(c.since) < PARK_SPAN)
            .cloned()
            .collect();
        calls.sort_by(|a, b| a.slot.cmp(&b.slot).then(a.since.cmp(&b.since)));
        calls
    }

    /// Follows the call park's changes.
    pub fn park_changes(
        &self,
    ) -> tokio::sync::watch::Receiver<(u64, std::collections::BTreeMap<String, ParkedCall>)> {
        self.park.subscribe()
    }

    /// The server stops: every held poll is answered now (with what there
    /// is), and later ones are not held.
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let ticks = self.ticks.lock().unwrap_or_else(|p| p.into_inner());
        for t in ticks.values() {
            t.send_modify(|_| {});
        }
    }

    /// A receiver woken by every event of `line`.
    fn subscribe_line(&self, line: &str) -> tokio::sync::watch::Receiver<u64> {
        let mut ticks = self.ticks.lock().unwrap_or_else(|p| p.into_inner());
        if !ticks.contains_key(line) && ticks.len() >= MAX_LINES {
            ticks.retain(|_, t| t.receiver_count() > 0);
        }
        ticks
            .entry(line.to_owned())
            .or_insert_with(|| tokio::sync::watch::Sender::new(0))
            .subscribe()
    }

    /// Whether the server is stopping ([`Hub::close`]).
    pub fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves data that is still
        // consistent (each change is one push or pop).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an event; returns its number. Events come through
    /// [`crate::store::ingest::Ingest`], journaled first.
    pub fn publish(&self, mut event: LineEvent) -> u64 {
        let now = Instant::now();
        let (seq, event) = {
            let mut inner = self.lock();
            inner.last_seq += 1;
            let seq = inner.last_seq;
            event.seq = seq;
            let event = Arc::new(event);
            let line = match inner.lines.get_mut(&event.line) {
                Some(q) => q,
                None => {
                    if inner.lines.len() >= MAX_LINES {
                        // Forget the line whose newest event is oldest.
                        let oldest = inner
                            .lines
                            .iter()
                            .min_by_key(|(_, l)| l.events.back().map(|s| s.at))
                            .map(|(k, _)| k.clone());
                        if let Some(k) = oldest {
                            inner.lines.remove(&k);
                        }
                    }
                    inner.lines.entry(event.line.clone()).or_default()
                }
            };
            let wall_ms = if event.at > 0 {
                event.at
            } else {
                crate::model::clock::now_ms()
            };
            line.mark(&event, wall_ms);
            line.events.push_back(Stored {
                event: event.clone(),
                at: now,
                wall_ms,
            });
            while line.events.len() > KEEP_PER_LINE
                || line
                    .events
                    .front()
                    .is_some_and(|s| now.duration_since(s.at) > KEEP_FOR)
            {
                line.drop_oldest();
            }
            if let Some(wall) = &mut inner.wall {
                wall.apply(&event, seq, wall_ms);
            }
            (seq, event)
        };
        let ticks = self.ticks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = ticks.get(&event.line) {
            t.send_replace(seq);
        }
        seq
    }

    /// Events of `line` after `cursor`, oldest first, at most `max`, all
    /// of them: for tests (desks read through [`Hub::read`], which leaves
    /// out the calls they must not be given).
    #[cfg(test)]
    pub fn after(&self, line: &str, cursor: u64, max: usize) -> Vec<Arc<LineEvent>> {
        let now = Instant::now();
        let inner = self.lock();
        inner.lines.get(line).map_or_else(Vec::new, |l| {
            l.events
                .iter()
                .filter(|s| s.event.seq > cursor && now.duration_since(s.at) <= KEEP_FOR)
                .take(max)
                .map(|s| s.event.clone())
                .collect()
        })
    }

    /// The events of `line` after `cursor` that `reading` gives a desk,
    /// oldest first, at most `max`; and the number of the last event
    /// looked at (given or left out): the desk's next cursor.
    pub fn read(
        &self,
        line: &str,
        cursor: u64,
        max: usize,
        reading: Reading<'_>,
    ) -> (Vec<Arc<LineEvent>>, u64) {
        let now = Instant::now();
        let now_ms = crate::model::clock::now_ms();
        let inner = self.lock();
        let mut next = cursor;
        let mut found = Vec::new();
        let Some(l) = inner.lines.get(line) else {
            return (found, next);
        };
        for s in l.events.iter().filter(|s| s.event.seq > cursor) {
            if found.len() >= max {
                break;
            }
            next = s.event.seq;
            if now.duration_since(s.at) > KEEP_FOR {
                continue;
            }
            let e = &s.event;
            let mark = l.calls.get(&e.callref);
            let ends = matches!(e.event, Event::Release | Event::Missed);
            let given = match reading {
                Reading::UnderWay { given } => {
                    given.contains(&e.callref)
                        || (!ends && mark.is_none_or(|m| m.under_way(now_ms)))
                }
                Reading::Cursor => mark.is_none_or(|m| {
                    m.under_way(now_ms) || m.ended_lately(now_ms) || m.first_seq <= cursor
                }),
            };
            if given {
                found.push(e.clone());
            }
        }
        (found, next)
    }

    /// The wall follows `lines` from now on, knowing already `calls` (the
    /// journal's, read as the server starts, before any event).
    pub fn follow_wall(&self, lines: Vec<String>, calls: Vec<CallRecord>) {
        let now = crate::model::clock::now_ms();
        let mut wall = Wall::new(lines, now);
        wall.seed(calls, now);
        self.lock().wall = Some(wall);
    }

    /// The wall, every event published so far folded in (its cursor is
    /// the last one's number); `None` when it follows no line.
    pub fn wall(&self) -> Option<WallView> {
        let now = crate::model::clock::now_ms();
        let mut inner = self.lock();
        let cursor = inner.last_seq;
        inner.wall.as_mut().map(|w| w.view(cursor, now))
    }

    /// The number of the last event published: a cursor from which only
    /// what comes next is read.
    pub fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    /// Events of all of `lines` after `cursor`, oldest first, at most
    /// `max`, each with when it was published (ms since 1970).
    pub fn after_lines(
        &self,
        lines: &[String],
        cursor: u64,
        max: usize,
    ) -> Vec<(Arc<LineEvent>, i64)> {
        let now = Instant::now();
        let inner = self.lock();
        let mut found: Vec<(Arc<LineEvent>, i64)> = lines
            .iter()
            .filter_map(|l| inner.lines.get(l))
            .flat_map(|l| {
                l.events
                    .iter()
                    .filter(|s| s.event.seq > cursor && now.duration_since(s.at) <= KEEP_FOR)
                    .take(max)
                    .map(|s| (s.event.clone(), s.wall_ms))
            })
            .collect();
        found.sort_by_key(|(e, _)| e.seq);
        found.truncate(max);
        found
    }

    /// Like [`Hub::after_lines`], waiting up to `hold` for something to
    /// come on any of them.
    pub async fn wait_after_lines(
        &self,
        lines: &[String],
        cursor: u64,
        max: usize,
        hold: Duration,
    ) -> Vec<(Arc<LineEvent>, i64)> {
        let deadline = tokio::time::Instant::now() + hold;
        let mut rxs: Vec<_> = lines.iter().map(|l| self.subscribe_line(l)).collect();
        loop {
            for rx in &mut rxs {
                rx.borrow_and_update();
            }
            let found = self.after_lines(lines, cursor, max);
            if !found.is_empty() || self.is_closed() || rxs.is_empty() {
                if found.is_empty() && rxs.is_empty() {
                    tokio::time::sleep_until(deadline).await;
                }
                return found;
            }
            let changes =
                futures_util::future::select_all(rxs.iter_mut().map(|rx| Box::pin(rx.changed())));
            tokio::select! {
                (changed, _, _) = changes => if changed.is_err() { return Vec::new() },
                _ = tokio::time::sleep_until(deadline) => return Vec::new(),
            }
        }
    }

    /// Like [`Hub::read`], waiting up to `hold` for something to come.
    pub async fn wait_read(
        &self,
        line: &str,
        mut cursor: u64,
        max: usize,
        hold: Duration,
        reading: Reading<'_>,
    ) -> (Vec<Arc<LineEvent>>, u64) {
        let deadline = tokio::time::Instant::now() + hold;
        let mut rx = self.subscribe_line(line);
        loop {
            // Marked seen before looking, so nothing published in between is missed.
            rx.borrow_and_update();
            let (found, next) = self.read(line, cursor, max, reading);
            cursor = next;
            if !found.is_empty() || self.closed.load(std::sync::atomic::Ordering::SeqCst) {
                return (found, cursor);
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return (Vec::new(), cursor) },
                _ = tokio::time::sleep_until(deadline) => return (Vec::new(), cursor),
            }
        }
    }

    /// Like [`Hub::after`], waiting up to `hold` for something to come.
    #[cfg(test)]
    pub async fn wait_after(
        &self,
        line: &str,
        cursor: u64,
        max: usize,
        hold: Duration,
    ) -> Vec<Arc<LineEvent>> {
        let deadline = tokio::time::Instant::now() + hold;
        let mut rx = self.subscribe_line(line);
        loop {
            // Marked seen before looking, so nothing published in between is missed.
            rx.borrow_and_update();
            let found = self.after(line, cursor, max);
            if !found.is_empty() || self.closed.load(std::sync::atomic::Ordering::SeqCst) {
                return found;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return Vec::new() },
                _ = tokio::time::sleep_until(deadline) => return Vec::new(),
            }
        }
    }

    /// Lines followed and events kept, for tests.
    #[cfg(test)]
    pub fn size(&self) -> (usize, usize) {
        let inner = self.lock();
        (
            inner.lines.len(),
            inner.lines.values().map(|l| l.events.len()).sum(),
        )
    }
}

impl Line {
    /// Notes what `event` (published at `wall_ms`) says of its call.
    fn mark(&mut self, event: &LineEvent, wall_ms: i64) {
        if event.callref.is_empty() {
            return;
        }
        let m = self.calls.entry(event.callref.clone()).or_insert(CallMark {
            kept: 0,
            first_seq: event.seq,
            setup_ms: wall_ms,
            answered: false,
            ended_ms: None,
        });
        m.kept += 1;
        match event.event {
            Event::Connect | Event::Park | Event::Unpark => m.answered = true,
            Event::Release | Event::Missed => {
                m.ended_ms.get_or_insert(wall_ms);
            }
            Event::Dial | Event::Ring => {}
        }
    }

    /// Forgets the oldest event (and its call, with its last event).
    fn drop_oldest(&mut self) {
        let Some(s) = self.events.pop_front() else {
            return;
        };
        let key = &s.event.callref;
        if let Some(m) = self.calls.get_mut(key) {
            m.kept = m.kept.saturating_sub(1);
            if m.kept == 0 {
                self.calls.remove(key);
            } else if let Some(next) = self.events.iter().find(|n| &n.event.callref == key) {
                m.first_seq = next.event.seq;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Direction;

    fn in_park(callref: &str, slot: &str, since: i64) -> ParkedCall {
        ParkedCall {
            callref: callref.into(),
            slot: slot.into(),
            caller: "+33611223344".into(),
            callee: "+33972109999".into(),
            since,
        }
    }

    #[test]
    fn the_call_park_forgets_what_was_never_taken_back() {
        let hub = Hub::new();
        let mut changes = hub.park_changes();
        let now = crate::model::clock::now_ms();
        hub.parked(in_park("a", "7", now - PARK_SPAN - 1));
        hub.parked(in_park("b", "3", now));
        assert!(changes.has_changed().unwrap());
        changes.borrow_and_update();
        // The same again: no change told.
        hub.parked(in_park("b", "3", now));
        assert!(!changes.has_changed().unwrap());
        // "a" was parked over an hour ago: not shown, and dropped.
        let shown: Vec<_> = hub.park().into_iter().map(|c| c.callref).collect();
        assert_eq!(shown, ["b"]);
        assert_eq!(hub.park_changes().borrow().1.len(), 1);
        assert!(hub.unparked("b"));
        assert!(!hub.unparked("b"));
        assert!(hub.park().is_empty());
        // Bounded: the oldest goes first.
        for i in 0..=PARK_MAX {
            hub.parked(in_park(&format!("c{i}"), "1", now + i as i64));
        }
        let kept = hub.park_changes().borrow().1.len();
        assert_eq!(kept, PARK_MAX);
        assert!(!hub.park_changes().borrow().1.contains_key("c0"));
    }

    fn ev(line: &str, event: Event) -> LineEvent {
        LineEvent {
            seq: 0,
            line: line.into(),
            event,
            tel: "0388202020".into(),
            called: line.into(),
            callref: "c1".into(),
            direction: Direction::In,
            replaces: None,
            person: None,
            slot: None,
            at: 0,
        }
    }

    /// The wall folded by the hub event by event is what the journal's
    /// histories say, and what a server started on that journal shows:
    /// calls under way, their state, and the day's counts.
    #[test]
    fn the_wall_agrees_with_the_journal() {
        use crate::model::wall::DayCounts;
        use crate::store::journal::Journal;
        let lines = ["7701".to_owned(), "7702".to_owned()];
        let journal = Journal::in_memory().expect("journal");
        let hub = Hub::new();
        hub.follow_wall(lines.to_vec(), Vec::new());
        let now = crate::model::clock::now_ms();
        // A repeatable mix: calls in and out on two lines, answered or
        // not, parked and taken back, ended or still going, repeats.
        let mut seed: u64 = 0x5eed;
        let mut roll = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut at = now - 40 * 60 * 1000;
        for call in 0..60 {
            let line = &lines[roll(2) as usize];
            let direction = if roll(3) == 0 {
                Direction::Out
            } else {
                Direction::In
            };
            let mut course = vec![if direction == Direction::In {
                Event::Ring
            } else {
                Event::Dial
            }];
            match roll(6) {
                0 => course.push(Event::Missed),
                1 => course.extend([Event::Connect, Event::Release]),
                2 => course.extend([Event::Connect, Event::Park, Event::Unpark, Event::Release]),
                3 => course.extend([Event::Connect, Event::Park]),
                4 => course.push(Event::Connect),
                _ => {}
            }
            if roll(4) == 0 {
                // A repeat of its last event.
                course.push(*course.last().expect("an event"));
            }
            for event in course {
                at += 1 + roll(30_000) as i64;
                let at = at.min(now);
                let mut e = ev(line, event);
                e.callref = format!("call-{call}");
                e.direction = direction;
                e.tel = format!("06{call:08}");
                e.slot = (event == Event::Park).then(|| format!("{}", 700 + call));
                e.at = at;
                journal.record(&e, at).expect("journal");
                hub.publish(e);
            }
        }
        let wall = hub.wall().expect("the wall is followed");
        assert_eq!(wall.cursor, hub.last_seq());
        let start = crate::model::clock::day_of(crate::model::clock::now_ms()).0;
        let mut counts = DayCounts::default();
        let mut seeded = Vec::new();
        for line in &wall.lines {
            let history = journal.history(&line.line, None, 2000).expect("history");
            let shown = |c: &CallRecord| {
                (
                    c.callref.clone(),
                    c.state,
                    c.connect_at,
                    c.park_slot.clone(),
                )
            };
            let under_way: Vec<_> = history
                .iter()
                .filter(|c| c.under_way(crate::model::clock::now_ms()))
                .map(shown)
                .collect();
            assert_eq!(
                line.calls.iter().map(shown).collect::<Vec<_>>(),
                under_way,
                "{}",
                line.line
            );
            for c in &history {
                let d = DayCounts::of(c, start);
                counts.received += d.received;
                counts.missed += d.missed;
                counts.answered_within_20s += d.answered_within_20s;
            }
            seeded.extend(history);
        }
        assert!(counts.received > 10 && counts.missed > 0, "{counts:?}");
        assert_eq!(wall.today, counts);
        // A server started on this journal.
        let restarted = Hub::new();
        restarted.follow_wall(lines.to_vec(), seeded);
        let again = restarted.wall().expect("followed");
        assert_eq!(again.today, wall.today);
        for (a, b) in again.lines.iter().zip(&wall.lines) {
            assert_eq!(a.calls, b.calls);
        }
    }

    /// The wall's cursor is the last event it folded in, and a line's
    /// change is numbered: the changes after a cursor are exactly the lines
    /// whose events came after it.
    #[test]
    fn the_walls_changes_are_numbered_as_the_events() {
        let hub = Hub::new();
        hub.follow_wall(vec!["7701".into(), "7702".into()], Vec::new());
        hub.publish(ev("7701", Event::Ring));
        let before = hub.wall().expect("followed");
        assert_eq!(before.cursor, hub.last_seq());
        let seq = hub.publish(ev("7702", Event::Ring));
        // A line the wall does not follow moves the cursor, not the lines.
        hub.publish(ev("9999", Event::Ring));
        let after = hub.wall().expect("followed");
        let changed: Vec<_> = after
            .lines
            .iter()
            .filter(|l| l.changed > before.cursor)
            .map(|l| (l.line.as_str(), l.changed))
            .collect();
        assert_eq!(changed, [("7702", seq)]);
        assert_eq!(after.cursor, seq + 1);
        assert_eq!(after.today.received, 2);
    }

    #[test]
    fn cursor_and_lines() {
        let hub = Hub::new();
        let a = hub.publish(ev("1003", Event::Ring));
        hub.publish(ev("1004", Event::Ring));
        let c = hub.publish(ev("1003", Event::Connect));
        let mine = "1003";
        let got: Vec<u64> = hub.after(mine, 0, 10).iter().map(|e| e.seq).collect();
        assert_eq!(got, [a, c]);
        assert_eq!(hub.after(mine, a, 10).len(), 1);
        assert_eq!(hub.after(mine, 0, 1).len(), 1);
        assert!(hub.after(mine, c, 10).is_empty());
        assert!(hub.after("9999", 0, 10).is_empty());
    }

    /// What a desk that starts, comes back or is a little behind is given.
    #[test]
    fn a_desk_is_never_given_a_call_that_ended_before_it_read_it() {
        let hub = Hub::new();
        let now = crate::model::clock::now_ms();
        let at = |callref: &str, event: Event, ago_ms: i64| {
            hub.publish(LineEvent {
                callref: callref.into(),
                at: now - ago_ms,
                ..ev("1003", event)
            })
        };
        let minute = 60_000;
        // Ended two minutes ago; ended just now; rang and was lost (no end
        // for eleven minutes); talking for an hour; ringing now.
        let old_ring = at("old", Event::Ring, 3 * minute);
        at("old", Event::Release, 2 * minute);
        at("late", Event::Ring, 5_000);
        at("late", Event::Missed, 1_000);
        at("lost", Event::Ring, 11 * minute);
        at("talk", Event::Ring, 60 * minute);
        at("talk", Event::Connect, 59 * minute);
        at("ring", Event::Ring, 0);
        let names = |got: &[Arc<LineEvent>]| -> Vec<String> {
            got.iter()
                .map(|e| format!("{} {}", e.event.as_str(), e.callref))
                .collect()
        };
        // A desk that starts: the calls under way only.
        let (got, next) = hub.read("1003", 0, 100, Reading::UnderWay { given: &[] });
        assert_eq!(names(&got), ["RING talk", "CONNECT talk", "RING ring"]);
        assert_eq!(next, hub.last_seq());
        // One at a time, it reads the same, and its next cursor skips what
        // it was not given.
        let (got, next) = hub.read("1003", 0, 1, Reading::UnderWay { given: &[] });
        assert_eq!(names(&got), ["RING talk"]);
        assert_eq!(hub.after("1003", next, 10)[0].callref, "talk");
        // Once `ring` ends, a desk that has it gets its end, another not.
        let end = at("ring", Event::Release, 0);
        let given = ["ring".to_owned()];
        let (got, _) = hub.read("1003", end - 1, 10, Reading::UnderWay { given: &given });
        assert_eq!(names(&got), ["RELEASE ring"]);
        let (got, _) = hub.read("1003", end - 1, 10, Reading::UnderWay { given: &[] });
        assert!(got.is_empty(), "{:?}", names(&got));
        // A desk back with its cursor: what it had begun, what is under
        // way, what ended lately — not `old`, over for two minutes.
        let (got, _) = hub.read("1003", 0, 100, Reading::Cursor);
        assert_eq!(
            names(&got),
            [
                "RING late",
                "MISSED late",
                "RING talk",
                "CONNECT talk",
                "RING ring",
                "RELEASE ring"
            ]
        );
        // A desk that read `old`'s ring before it went away gets its end.
        let (got, _) = hub.read("1003", old_ring, 100, Reading::Cursor);
        assert_eq!(names(&got)[0], "RELEASE old");
    }

    #[test]
    fn retention_is_bounded() {
        let hub = Hub::new();
        for _ in 0..(KEEP_PER_LINE + 10) {
            hub.publish(ev("1003", Event::Ring));
        }
        assert_eq!(hub.size(), (1, KEEP_PER_LINE));
        for i in 0..(MAX_LINES + 5) {
            hub.publish(ev(&format!("l{i}"), Event::Ring));
        }
        assert_eq!(hub.size().0, MAX_LINES);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_station_gets_the_event_and_a_quiet_one_times_out() {
        let hub = std::sync::Arc::new(Hub::new());
        let h2 = hub.clone();
        let waiter =
            tokio::spawn(async move { h2.wait_after("1003", 0, 10, Duration::from_secs(5)).await });
        tokio::task::yield_now().await;
        hub.publish(ev("1004", Event::Ring));
        hub.publish(ev("1003", Event::Ring));
        let got = waiter.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].line, "1003");
        let quiet = hub
            .wait_after("5555", 0, 10, Duration::from_millis(50))
            .await;
        assert!(quiet.is_empty());
    }
}
