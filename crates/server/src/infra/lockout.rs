//! Wrong secrets, per desk: a desk's secret tried wrong a few times in a
//! row — from any address — makes the next tries from addresses the desk
//! has not logged in from wait, a little longer each time (1 s, 2 s, 4 s…
//! up to 15 min). The desk itself, from an address it logged in from
//! before, is never kept out; a right secret clears the count. Bounded: at
//! most [`MAX_IDENTS`] idents are followed (the idle longest go first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong secrets in a row before tries wait.
pub const FREE_TRIES: u32 = 5;
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Idents followed at most.
pub const MAX_IDENTS: usize = 10_000;
/// Addresses remembered per desk (where it logged in from).
const KNOWN_PER_DESK: usize = 16;

#[derive(Default)]
struct Desk {
    failures: u32,
    /// Tries from elsewhere wait until then.
    until: Option<Instant>,
    /// Addresses the desk logged in from.
    known: Vec<IpAddr>,
    last: Option<Instant>,
}

/// What to do with a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the secret.
    Check,
    /// Refuse without checking it, for this long yet.
    Wait(Duration),
}

#[derive(Default)]
pub struct Lockout {
    desks: Mutex<HashMap<String, Desk>>,
}

impl Lockout {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Desk>> {
        self.desks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a try for `ident` from `from` is checked now.
    pub fn before(&self, ident: &str, from: IpAddr, now: Instant) -> Verdict {
        let desks = self.lock();
        match desks.get(ident) {
            Some(d) if !d.known.contains(&from) => match d.until {
                Some(until) if until > now => Verdict::Wait(until - now),
                _ => Verdict::Check,
            },
            _ => Verdict::Check,
        }
    }

    /// A wrong secret for `ident`: whether tries now start to wait (said
    /// once in the log, not at every refusal).
    pub fn failed(&self, ident: &str, now: Instant) -> bool {
        let mut desks = self.lock();
        if !desks.contains_key(ident) && desks.len() >= MAX_IDENTS {
            let idlest = desks
                .iter()
                .min_by_key(|(_, d)| d.last)
                .map(|(k, _)| k.clone());
            if let Some(k) = idlest {
                desks.remove(&k);
            }
        }
        let d = desks.entry(ident.to_owned()).or_default();
        d.failures = d.failures.saturating_add(1);
        d.last = Some(now);
        if d.failures < FREE_TRIES {
            return false;
        }
        let doublings = (d.failures - FREE_TRIES).min(20);
        let wait = Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
        d.until = Some(now + wait);
        d.failures == FREE_TRIES
    }

    /// The right secret for `ident` from `from`: the count is cleared and
    /// the address known.
    pub fn succeeded(&self, ident: &str, from: IpAddr, now: Instant) {
        let mut desks = self.lock();
        if !desks.contains_key(ident) && desks.len() >= MAX_IDENTS {
            return;
        }
        let d = desks.entry(ident.to_owned()).or_default();
        d.failures = 0;
        d.until = None;
        d.last = Some(now);
        if !d.known.contains(&from) {
            if d.known.len() >= KNOWN_PER_DESK {
                d.known.remove(0);
            }
            d.known.push(from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_secrets_make_strangers_wait_not_the_desk() {
        let l = Lockout::default();
        let now = Instant::now();
        let desk: IpAddr = "127.0.0.1".parse().unwrap();
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        l.succeeded("paul", desk, now);
        for i in 1..FREE_TRIES {
            assert_eq!(l.before("paul", stranger, now), Verdict::Check);
            assert!(!l.failed("paul", now), "{i}");
        }
        // The fifth: tries wait from now on, said once.
        assert!(l.failed("paul", now));
        assert_eq!(
            l.before("paul", stranger, now),
            Verdict::Wait(Duration::from_secs(1))
        );
        assert!(!l.failed("paul", now));
        assert_eq!(
            l.before("paul", stranger, now),
            Verdict::Wait(Duration::from_secs(2))
        );
        // The desk, from where it logs in, is not kept out.
        assert_eq!(l.before("paul", desk, now), Verdict::Check);
        l.succeeded("paul", desk, now);
        assert_eq!(l.before("paul", stranger, now), Verdict::Check);
        // The wait is bounded.
        for _ in 0..100 {
            l.failed("anne", now);
        }
        assert_eq!(l.before("anne", stranger, now), Verdict::Wait(MAX_WAIT));
        assert_eq!(l.before("anne", stranger, now + MAX_WAIT), Verdict::Check);
    }
}
