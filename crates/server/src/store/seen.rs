//! Keyyo's notifications already taken, so that a repeat is dropped.

use std::collections::HashSet;

use crate::wire::keyyo::Kind;

/// Repeated notifications (same call ref and type) are ignored: the last
/// [`Seen::CAPACITY`] to [`Seen::CAPACITY`] × 2 are remembered, in two
/// generations (when the newer is full it becomes the older, and the older
/// is forgotten at once: no per-notification bookkeeping of their order).
/// Each is kept as a 64-bit fingerprint keyed at random per process: no
/// allocation per notification, and two different notifications share one
/// with a chance of 1 in 2^64 / 20 000.
pub struct Seen {
    keys: std::hash::RandomState,
    newer: HashSet<u64, Fingerprint>,
    older: HashSet<u64, Fingerprint>,
    /// Since when (ms since 1970) every notification is remembered: one
    /// that happened before may be a repeat forgotten, which the journal
    /// tells ([`Seen::remembers`]).
    horizon: i64,
    /// When the newer generation began.
    newer_since: i64,
}

impl Default for Seen {
    fn default() -> Self {
        let set = || HashSet::with_capacity_and_hasher(Self::CAPACITY, Fingerprint);
        let now = crate::model::clock::now_ms();
        Seen {
            keys: std::hash::RandomState::new(),
            newer: set(),
            older: set(),
            horizon: now,
            newer_since: now,
        }
    }
}

/// Fingerprints are already hashes: the set uses them as they are.
#[derive(Clone, Copy, Default)]
struct Fingerprint;

impl std::hash::BuildHasher for Fingerprint {
    type Hasher = FingerprintHasher;
    fn build_hasher(&self) -> FingerprintHasher {
        FingerprintHasher(0)
    }
}

struct FingerprintHasher(u64);

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Seen {
    pub const CAPACITY: usize = 10_000;

    /// Whether this (line, call ref, type) is new; remembers it. The
    /// line is part of it: a call between two lines of the account is
    /// notified once to each.
    pub fn first_time(&mut self, line: &str, callref: &str, kind: Kind) -> bool {
        use std::hash::BuildHasher as _;
        let key = self.keys.hash_one((line, callref, kind));
        if self.newer.contains(&key) || self.older.contains(&key) {
            return false;
        }
        if self.newer.len() >= Self::CAPACITY {
            std::mem::swap(&mut self.newer, &mut self.older);
            self.newer.clear();
            // What the older generation held before is forgotten.
            let now = crate::model::clock::now_ms();
            self.horizon = self.newer_since;
            self.newer_since = now;
        }
        self.newer.insert(key);
        true
    }

    /// Whether every notification that happened at `at` (ms since 1970)
    /// is remembered here: one older than that may be a repeat that only
    /// the journal still knows.
    pub fn remembers(&self, at: i64) -> bool {
        at >= self.horizon
    }

    /// What is remembered goes back to `since` (ms since 1970): the
    /// journal's events it was seeded with.
    pub fn remembered_since(&mut self, since: i64) {
        self.horizon = self.horizon.min(since);
    }

    /// Forgets a notification taken by [`Seen::first_time`] but not kept
    /// (the journal refused it): when it comes again, it is new.
    pub fn forget(&mut self, line: &str, callref: &str, kind: Kind) {
        use std::hash::BuildHasher as _;
        let key = self.keys.hash_one((line, callref, kind));
        self.newer.remove(&key);
        self.older.remove(&key);
    }
}

impl Seen {
    /// The notifications journaled lately: repeats after a restart too.
    pub fn restored(journal: &dyn crate::store::calls::CallStore) -> Seen {
        let mut seen = Seen::default();
        match journal.recent_keys(Seen::CAPACITY) {
            Ok(keys) => {
                // The journal's last day, or as much as is kept.
                let since = match keys.last() {
                    Some(&(_, _, _, at)) if keys.len() >= Seen::CAPACITY => at,
                    _ => crate::model::clock::now_ms() - crate::model::clock::CALL_SPAN,
                };
                for (line, callref, event, _) in keys.iter().rev() {
                    if let Some(kind) = Kind::of(*event) {
                        seen.first_time(line, callref, kind);
                    }
                }
                seen.remembered_since(since);
            }
            Err(e) => tracing::error!(
                "journal: the calls of the last run cannot be read ({e}): a notification Keyyo sends again may be taken twice"
            ),
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_taken_once() {
        let mut seen = Seen::default();
        let l = "+33972101010";
        assert!(seen.first_time(l, "1", Kind::Setup));
        assert!(!seen.first_time(l, "1", Kind::Setup));
        assert!(seen.first_time(l, "1", Kind::Connect));
        assert!(seen.first_time(l, "2", Kind::Setup));
        // The same call on another line of the account is its own.
        assert!(seen.first_time("+33972101011", "1", Kind::Setup));
        // Remembered for at least CAPACITY notifications, then forgotten.
        for i in 0..Seen::CAPACITY {
            assert!(seen.first_time(l, &format!("n{i}"), Kind::Setup));
        }
        assert!(!seen.first_time(l, "2", Kind::Setup));
        for i in 0..Seen::CAPACITY {
            seen.first_time(l, &format!("m{i}"), Kind::Setup);
        }
        assert!(seen.first_time(l, "2", Kind::Setup));
    }

    /// Past what is remembered, a notification older than the oldest
    /// remembered is one the journal must be asked about.
    #[test]
    fn what_is_forgotten_is_known_to_be() {
        let mut seen = Seen::default();
        let before = crate::model::clock::now_ms() - 1;
        assert!(!seen.remembers(before), "nothing before the start");
        seen.remembered_since(before - 1000);
        assert!(seen.remembers(before));
        for i in 0..(2 * Seen::CAPACITY) {
            seen.first_time("+33972101010", &format!("n{i}"), Kind::Setup);
        }
        // The first generation is gone: what happened then is not known.
        assert!(!seen.remembers(before));
        assert!(seen.remembers(crate::model::clock::now_ms() + 1));
    }
}
