//! The bridge server's event hub: every call event, numbered, kept per line
//! for a bounded time and count, and handed to the stations polling for
//! that line — at once to those waiting, later to those that come back with
//! their cursor.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Events kept per line.
pub const KEEP_PER_LINE: usize = 1000;
/// How long an event is kept.
pub const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// Lines followed at most (a flood of made-up line numbers cannot grow the
/// hub past this).
pub const MAX_LINES: usize = 10_000;

pub use crate::events::model::{Direction, Event};

/// One event for one line, as `getevent` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineEvent {
    /// The hub's number for it: the cursor a station sends back.
    #[serde(skip)]
    pub seq: u64,
    /// The line it is for.
    #[serde(skip)]
    pub line: String,
    pub event: Event,
    /// The other party: the caller of an incoming call, the callee of an
    /// outgoing one.
    pub tel: String,
    /// The number called.
    pub called: String,
    /// The call's reference.
    pub callref: String,
    pub direction: Direction,
    /// The call this one replaces (picked up by a colleague, transferred:
    /// Keyyo's DREF_REPLACE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Who the other party is, as the server's `<lookup>` found it:
    /// `name`, `company`, `record`.
    #[serde(flatten)]
    pub person: Option<crate::names::Person>,
    /// The call park's slot (a PARK event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
}

struct Stored {
    event: Arc<LineEvent>,
    at: Instant,
    /// When it was published, in ms since 1970 (the browser's timers).
    wall_ms: i64,
}

#[derive(Default)]
struct Inner {
    last_seq: u64,
    lines: HashMap<String, VecDeque<Stored>>,
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

/// A call waiting in the account's call park.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParkedCall {
    pub callref: String,
    pub slot: String,
    /// The two parties, in E.164 (`+33…`).
    pub caller: String,
    pub callee: String,
    /// When it was parked (ms since 1970).
    pub since: i64,
}

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
        let now = crate::journal::now_ms();
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

    /// The cursor just before the events of the last `ago`: where a station
    /// seen for the first time starts, so that a call still ringing when
    /// it starts is not lost.
    pub fn cursor_since(&self, ago: Duration) -> u64 {
        let now = Instant::now();
        let inner = self.lock();
        inner
            .lines
            .values()
            .flat_map(|q| q.iter())
            .filter(|s| now.duration_since(s.at) <= ago)
            .map(|s| s.event.seq - 1)
            .min()
            .unwrap_or(inner.last_seq)
    }

    /// Adds an event; returns its number. Events come through
    /// [`crate::ingest::Ingest`], journaled first.
    pub fn publish(&self, mut event: LineEvent) -> u64 {
        let now = Instant::now();
        let (seq, event) = {
            let mut inner = self.lock();
            inner.last_seq += 1;
            let seq = inner.last_seq;
            event.seq = seq;
            let event = Arc::new(event);
            let q = match inner.lines.get_mut(&event.line) {
                Some(q) => q,
                None => {
                    if inner.lines.len() >= MAX_LINES {
                        // Forget the line whose newest event is oldest.
                        let oldest = inner
                            .lines
                            .iter()
                            .min_by_key(|(_, q)| q.back().map(|s| s.at))
                            .map(|(k, _)| k.clone());
                        if let Some(k) = oldest {
                            inner.lines.remove(&k);
                        }
                    }
                    inner.lines.entry(event.line.clone()).or_default()
                }
            };
            q.push_back(Stored {
                event: event.clone(),
                at: now,
                wall_ms: crate::journal::now_ms(),
            });
            while q.len() > KEEP_PER_LINE
                || q.front()
                    .is_some_and(|s| now.duration_since(s.at) > KEEP_FOR)
            {
                q.pop_front();
            }
            (seq, event)
        };
        let ticks = self.ticks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = ticks.get(&event.line) {
            t.send_replace(seq);
        }
        seq
    }

    /// Events of `line` after `cursor`, oldest first, at most `max`.
    pub fn after(&self, line: &str, cursor: u64, max: usize) -> Vec<Arc<LineEvent>> {
        let now = Instant::now();
        let inner = self.lock();
        inner.lines.get(line).map_or_else(Vec::new, |q| {
            q.iter()
                .filter(|s| s.event.seq > cursor && now.duration_since(s.at) <= KEEP_FOR)
                .take(max)
                .map(|s| s.event.clone())
                .collect()
        })
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
            .flat_map(|q| {
                q.iter()
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

    /// Like [`Hub::after`], waiting up to `hold` for something to come.
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
            inner.lines.values().map(VecDeque::len).sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let now = crate::journal::now_ms();
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
        }
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
