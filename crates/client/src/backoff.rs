//! Pauses after failures: the first, doubling up to a ceiling, each drawn
//! at random around that (so that what failed together does not come
//! back together), back to the first after a success. The one back-off of
//! `watch`'s polls, the server's CTI session and token renewal, and its
//! reports to the ERP.

use std::time::Duration;

/// How a pause is drawn around the doubled one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Between half and all of it ("equal jitter"): never longer.
    Equal,
    /// Within a fifth of it either way.
    Fifth,
}

#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    jitter: Jitter,
    failures: u32,
}

impl Backoff {
    /// Pauses from `first`, doubling up to `max`.
    pub fn new(first: Duration, max: Duration, jitter: Jitter) -> Backoff {
        Backoff {
            first,
            max,
            jitter,
            failures: 0,
        }
    }

    /// The pause after failure number `failures + 1` (the first after a
    /// success is about `first`), without counting it: for what keeps its
    /// count elsewhere (a report's tries, in the journal).
    pub fn after(&self, failures: u32) -> Duration {
        let ceiling = self
            .first
            .saturating_mul(2u32.saturating_pow(failures.min(20)))
            .min(self.max);
        let spread = match self.jitter {
            Jitter::Equal => 0.5 + fastrand::f64() * 0.5,
            Jitter::Fifth => 0.8 + fastrand::f64() * 0.4,
        };
        ceiling.mul_f64(spread)
    }

    /// The pause after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.after(self.failures);
        self.failures = self.failures.saturating_add(1);
        d
    }

    /// A success: the next failure pauses about `first` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_within_their_jitter_up_to_the_ceiling_and_reset() {
        let first = Duration::from_millis(250);
        let max = Duration::from_secs(10);
        for (jitter, low, high) in [(Jitter::Equal, 0.5, 1.0), (Jitter::Fifth, 0.8, 1.2)] {
            let mut b = Backoff::new(first, max, jitter);
            for n in 0..12u32 {
                let ceiling = first.saturating_mul(1 << n).min(max).as_secs_f64();
                let d = b.next_delay().as_secs_f64();
                assert!(
                    (ceiling * low..=ceiling * high).contains(&d),
                    "{jitter:?} failure {n}: {d} s for {ceiling} s"
                );
            }
            b.reset();
            assert!(b.next_delay() <= first.mul_f64(high));
        }
    }
}
