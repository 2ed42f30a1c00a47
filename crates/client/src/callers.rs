//! Who is calling, within a time budget: the `<lookup>` behind a cache
//! (bounded in size and time, an unknown caller kept shorter), one request
//! per number however many calls ask at once, at most `<lookup_parallel>`
//! requests to the ERP, and one log line per outage — not one per call.
//!
//! A screen pop asks [`Callers::resolve`], which never waits longer than
//! `<lookup_timeout>`: past it the pop goes out with the number. The
//! request itself goes on (within its own limit) and its answer is kept for
//! the call's next events and the next call.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::names::{key_of, Found, Lookup, Person};

/// The log target of the lookup's outages (shown by `watch` and `serve`
/// at their default verbosity: one line when it fails, one when it is
/// back).
pub const LOG_TARGET: &str = "ctibridge::names";

/// Numbers kept at most.
pub(crate) const MAX_KEPT: usize = 10_000;
/// Calls whose other party is remembered at most ([`Callers::resolve_for_call`]).
pub(crate) const CALLS_KEPT: usize = 4096;
/// The longest an unknown caller is kept.
pub(crate) const UNKNOWN_KEPT_MAX: Duration = Duration::from_secs(60);

/// How a name was (not) found, for the log and the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// Kept from an earlier answer.
    Kept,
    /// Asked now, answered in time.
    Asked,
    /// Answered in time by a request another call had sent (the same
    /// number, at the same time).
    Shared,
    /// No answer within the budget: the pop went with the number.
    Late,
    /// The lookup failed (the ERP is down, refused, answered garbage).
    Failed,
    /// No number to look up (withheld, not a number).
    NoNumber,
}

/// What [`Callers::resolve`] gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub person: Option<Person>,
    pub how: How,
}

/// The answer of one request, shared by every call that waits for it:
/// `None` until it is in.
type Shared = tokio::sync::watch::Receiver<Option<Option<Person>>>;

enum Entry {
    Asking(Shared),
    Known {
        person: Option<Person>,
        until: Instant,
    },
}

/// The lookup with its cache. Cheap to share behind an `Arc`.
pub struct Callers {
    lookup: Arc<Lookup>,
    budget: Duration,
    keep_known: Duration,
    keep_unknown: Duration,
    permits: Arc<tokio::sync::Semaphore>,
    entries: Mutex<HashMap<String, Entry>>,
    /// Since when the lookup fails, while it does (one log line each way).
    failing: Mutex<Option<(Instant, u64)>>,
    /// How long the ERP takes to answer, lately (µs, a moving average).
    answer_us: AtomicU64,
    /// The other party of the calls seen lately, by call.
    calls: Mutex<CallNames>,
}

/// One name per call, however many events (and lines) it has: the last
/// [`CALLS_KEPT`] calls, the oldest forgotten first.
#[derive(Default)]
struct CallNames {
    names: HashMap<String, Option<Person>>,
    order: VecDeque<String>,
}

impl std::fmt::Debug for Callers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callers")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Callers {
    pub fn new(lookup: Lookup) -> Arc<Callers> {
        let spec = lookup.spec();
        let keep_known = spec.cache.value;
        let parallel = spec.parallel.value.max(1) as usize;
        Arc::new(Callers {
            budget: lookup.budget(),
            keep_known,
            keep_unknown: (keep_known / 10).min(UNKNOWN_KEPT_MAX),
            permits: Arc::new(tokio::sync::Semaphore::new(parallel)),
            lookup: Arc::new(lookup),
            entries: Mutex::new(HashMap::new()),
            failing: Mutex::new(None),
            answer_us: AtomicU64::new(0),
            calls: Mutex::default(),
        })
    }

    /// `<lookup_timeout>`.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Who the other party (`number`) of call `call` is: looked up for
    /// the call's first event (within `<lookup_timeout>`), then the same
    /// for its next ones. `how` is `None` when the call's name was known;
    /// a late answer is not kept for the call (its next event asks again).
    pub async fn resolve_for_call(
        self: &Arc<Self>,
        call: &str,
        number: &str,
    ) -> (Option<Person>, Option<How>) {
        let known = self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .names
            .get(call)
            .cloned();
        if let Some(person) = known {
            return (person, None);
        }
        let found = self.resolve(number).await;
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if !calls.names.contains_key(call) {
            if calls.order.len() >= CALLS_KEPT {
                if let Some(old) = calls.order.pop_front() {
                    calls.names.remove(&old);
                }
            }
            calls.order.push_back(call.to_owned());
        }
        if found.how != How::Late {
            calls.names.insert(call.to_owned(), found.person.clone());
        }
        (found.person, Some(found.how))
    }

    /// Who `number` is, within `<lookup_timeout>` from now.
    pub async fn resolve(self: &Arc<Self>, number: &str) -> Resolved {
        let started = Instant::now();
        let country = self.lookup.country();
        let Some(key) = key_of(number, country) else {
            return Resolved {
                person: None,
                how: How::NoNumber,
            };
        };
        if self.lookup.is_local() {
            // A directory in memory: nothing to wait for.
            return match self.lookup.find(number).await {
                Ok(Found::Known(p)) => Resolved {
                    person: Some(p),
                    how: How::Asked,
                },
                _ => Resolved {
                    person: None,
                    how: How::Asked,
                },
            };
        }
        let mut joined = false;
        let mut shared = {
            let mut entries = self.entries();
            match entries.get(&key) {
                Some(Entry::Known { person, until }) if *until > started => {
                    return Resolved {
                        person: person.clone(),
                        how: How::Kept,
                    };
                }
                Some(Entry::Asking(rx)) => {
                    joined = true;
                    rx.clone()
                }
                _ => {
                    let (tx, rx) = tokio::sync::watch::channel(None);
                    make_room(&mut entries, started);
                    entries.insert(key.clone(), Entry::Asking(rx.clone()));
                    drop(entries);
                    let me = Arc::clone(self);
                    let number = number.to_owned();
                    tokio::spawn(async move { me.ask(key, number, tx).await });
                    rx
                }
            }
        };
        let left = self.budget.saturating_sub(started.elapsed());
        let answer = tokio::time::timeout(left, async {
            shared
                .wait_for(Option::is_some)
                .await
                .ok()
                .map(|a| a.clone())
        })
        .await;
        match answer {
            Ok(Some(Some(Some(p)))) => Resolved {
                person: Some(p),
                how: if joined { How::Shared } else { How::Asked },
            },
            // Unknown, or failed (the request says which in the log).
            Ok(Some(_)) => Resolved {
                person: None,
                how: if self.is_failing() {
                    How::Failed
                } else if joined {
                    How::Shared
                } else {
                    How::Asked
                },
            },
            // The request ended without an answer (it never got its turn),
            // or none came in time.
            Ok(None) | Err(_) => Resolved {
                person: None,
                how: How::Late,
            },
        }
    }

    fn is_failing(&self) -> bool {
        self.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Sends the request for `key` when a turn is free — while its answer
    /// can still come within the budget, at the ERP's recent pace: a turn
    /// later would help no pop, and would take the turn of a call that
    /// has just begun —, keeps its answer, and hands it to every call
    /// waiting.
    async fn ask(
        self: Arc<Self>,
        key: String,
        number: String,
        tx: tokio::sync::watch::Sender<Option<Option<Person>>>,
    ) {
        let pace = Duration::from_micros(self.answer_us.load(Ordering::Relaxed));
        let turn_within = self.budget.saturating_sub(pace.min(self.budget / 2));
        let permit = match tokio::time::timeout(
            turn_within,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await
        {
            Ok(Ok(p)) => p,
            _ => {
                self.forget(&key);
                return;
            }
        };
        let asked = Instant::now();
        let found = self.lookup.find(&number).await;
        if found.is_ok() {
            // A moving average over about the last eight answers.
            let took = u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX);
            let _ = self
                .answer_us
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                    Some(if old == 0 { took } else { (old * 7 + took) / 8 })
                });
        }
        drop(permit);
        let answer = match found {
            Ok(found) => {
                self.answered();
                let person = match found {
                    Found::Known(p) => Some(p),
                    Found::Unknown => None,
                };
                let keep = if person.is_some() {
                    self.keep_known
                } else {
                    self.keep_unknown
                };
                let mut entries = self.entries();
                if keep.is_zero() {
                    entries.remove(&key);
                } else {
                    entries.insert(
                        key,
                        Entry::Known {
                            person: person.clone(),
                            until: Instant::now() + keep,
                        },
                    );
                }
                person
            }
            Err(e) => {
                self.failed(&e);
                self.forget(&key);
                None
            }
        };
        let _ = tx.send(Some(answer));
    }

    fn forget(&self, key: &str) {
        let mut entries = self.entries();
        if matches!(entries.get(key), Some(Entry::Asking(_))) {
            entries.remove(key);
        }
    }

    /// The first failure of an outage is logged; the next ones counted.
    fn failed(&self, why: &str) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        match failing.as_mut() {
            Some((_, n)) => *n += 1,
            None => {
                *failing = Some((Instant::now(), 1));
                tracing::warn!(
                    target: LOG_TARGET,
                    "the caller lookup fails: {why}; screen pops go out with the number until it answers again"
                );
            }
        }
    }

    fn answered(&self) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((since, n)) = failing.take() {
            tracing::info!(
                target: LOG_TARGET,
                "the caller lookup answers again, after {n} failed lookups in {:.0?}",
                since.elapsed()
            );
        }
    }
}

/// Below [`MAX_KEPT`]: answers past their time go first, then the ones
/// that expire soonest. Requests under way stay.
fn make_room(entries: &mut HashMap<String, Entry>, now: Instant) {
    if entries.len() < MAX_KEPT {
        return;
    }
    entries.retain(|_, e| match e {
        Entry::Known { until, .. } => *until > now,
        Entry::Asking(_) => true,
    });
    if entries.len() < MAX_KEPT {
        return;
    }
    // Still full of live answers: the tenth that expires soonest goes.
    let mut untils: Vec<Instant> = entries
        .values()
        .filter_map(|e| match e {
            Entry::Known { until, .. } => Some(*until),
            Entry::Asking(_) => None,
        })
        .collect();
    untils.sort_unstable();
    if let Some(&cut) = untils.get(MAX_KEPT / 10) {
        entries.retain(|_, e| match e {
            Entry::Known { until, .. } => *until > cut,
            Entry::Asking(_) => true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup of a directory holding Marie Dupont.
    fn callers(dir: &std::path::Path) -> Arc<Callers> {
        let path = dir.join("people.csv");
        std::fs::write(
            &path,
            "name;company;phone;record\nMarie Dupont;Dupont SA;03 88 20 20 20;T0001\n",
        )
        .expect("directory");
        let loaded =
            crate::load::load_text(&format!("<lookup>\n<directory>{}\n", path.display()), None);
        let config = Arc::new(loaded.checked.expect("checked").config);
        let (lookup, _) = Lookup::new(
            config,
            &crate::context::Context::default(),
            crate::source::Span::first_file(),
        )
        .expect("lookup")
        .expect("a <lookup>");
        Callers::new(lookup)
    }

    /// A call is named once, for its first event; its next events get the
    /// same name without asking, and the last calls only are kept.
    #[tokio::test]
    async fn a_call_keeps_the_name_its_first_event_got() {
        let dir = std::env::temp_dir().join(format!("ctibridge-callers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let callers = callers(&dir);
        let (person, how) = callers.resolve_for_call("c1", "0388202020").await;
        assert_eq!(person.map(|p| p.name).as_deref(), Some("Marie Dupont"));
        assert_eq!(how, Some(How::Asked));
        let (person, how) = callers.resolve_for_call("c1", "0388202020").await;
        assert_eq!(person.map(|p| p.name).as_deref(), Some("Marie Dupont"));
        assert_eq!(how, None, "the call's name was known");
        // Another call of the same number is looked up (through the
        // number's cache, when `<lookup_cache>` keeps it).
        let (_, how) = callers.resolve_for_call("c2", "0388202020").await;
        assert!(how.is_some());
        for i in 0..CALLS_KEPT {
            callers
                .resolve_for_call(&format!("n{i}"), "0612345678")
                .await;
        }
        let (_, how) = callers.resolve_for_call("c1", "0388202020").await;
        assert!(how.is_some(), "c1 was forgotten");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
