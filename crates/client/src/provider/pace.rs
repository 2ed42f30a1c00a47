//! `<min_interval>`: one request per interval and line, kept across every
//! ctibridge process of the user (Keyyo allows one request per second and
//! account; a user double-clicking a number starts two processes).
//!
//! Each line has a small file in the cache folder holding the time of the
//! last reserved slot. A process locks it, takes the next free slot, writes
//! it and unlocks at once: the lock is never held while waiting or sending.

use std::io::{Read as _, Seek as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::Clock;

#[derive(Clone, Debug)]
pub struct Pacer {
    dir: Option<PathBuf>,
    clock: Clock,
}

impl Pacer {
    /// A pace kept within this process only (no cache folder).
    pub fn nowhere(clock: Clock) -> Pacer {
        Pacer { dir: None, clock }
    }

    /// A pace kept in `dir`, its slots read on `clock`.
    pub fn at(dir: PathBuf, clock: Clock) -> Pacer {
        Pacer {
            dir: Some(dir),
            clock,
        }
    }

    /// Reserves the first slot at least `interval` after the last one of
    /// `key` and returns how long to wait for it. Without a usable cache
    /// folder, pacing holds only within this process (a warning says so).
    pub fn reserve(&self, key: &str, interval: Duration) -> Duration {
        let now = self.clock.now();
        match self.reserve_in_file(key, interval, now) {
            Ok(slot) => slot.duration_since(now).unwrap_or_default(),
            Err(e) => {
                tracing::warn!("cannot keep the request pace across processes: {e}");
                Duration::ZERO
            }
        }
    }

    fn reserve_in_file(
        &self,
        key: &str,
        interval: Duration,
        now: SystemTime,
    ) -> std::io::Result<SystemTime> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| std::io::Error::other("no cache folder on this platform"))?;
        std::fs::create_dir_all(dir)?;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(key))?;
        f.lock()?;
        let mut text = String::new();
        f.read_to_string(&mut text)?;
        let last = text
            .trim()
            .parse::<u64>()
            .ok()
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        let slot = match last {
            // A slot far in the future is a clock that went back: ignore it.
            Some(l) if l + interval > now && l <= now + interval => l + interval,
            _ => now,
        };
        let ms = slot
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        f.set_len(0)?;
        f.rewind()?;
        f.write_all(ms.to_string().as_bytes())?;
        unlock(&f)?;
        Ok(slot)
    }
}

/// Lets go of `f`'s lock. On Windows the standard library unlocks twice
/// (an exclusive and a shared lock may both be held) and takes the second
/// call's "not locked" as done; Wine answers it "lock violation" instead
/// (Wine bug 59711), after the lock was let go: that answer is done too.
fn unlock(f: &std::fs::File) -> std::io::Result<()> {
    match f.unlock() {
        // ERROR_LOCK_VIOLATION
        Err(e) if cfg!(windows) && e.raw_os_error() == Some(33) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let dir = std::env::temp_dir().join(format!("ctibridge-pace-{}", std::process::id()));
        // A clock that stands still: each slot is exactly one interval
        // after the last.
        let clock = Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let p = Pacer::at(dir.clone(), clock);
        let i = Duration::from_millis(1000);
        let waits: Vec<Duration> = (0..3).map(|_| p.reserve("line", i)).collect();
        assert_eq!(waits, [Duration::ZERO, i, 2 * i]);
        // Another line is not held up.
        assert_eq!(p.reserve("other", i), Duration::ZERO);
        let _ = std::fs::remove_dir_all(dir);
    }
}
