//! The wall clock the client side reads, which a test can stop.

/// The wall clock the client side reads: the time OVH requests are signed
/// with, the slots of the request pace, a call event's time. The system's,
/// or (tests) one that stands still.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    fixed: Option<std::time::SystemTime>,
}

impl Clock {
    /// A clock that always says `at`.
    pub fn fixed(at: std::time::SystemTime) -> Clock {
        Clock { fixed: Some(at) }
    }

    pub fn now(&self) -> std::time::SystemTime {
        self.fixed.unwrap_or_else(std::time::SystemTime::now)
    }

    /// Seconds since 1970 (negative before).
    pub fn unix_secs(&self) -> i64 {
        match self.now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        }
    }
}
