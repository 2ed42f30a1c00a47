//! The server's clock and the spans of a call it judges by: pure values
//! the hub and the journal both use (neither takes them from the other).

/// Milliseconds since 1970, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How far apart the events of one call may be (ms): a day.
pub const CALL_SPAN: i64 = 24 * 3600 * 1000;
/// How long a call may ring (ms): ten minutes, far more than any
/// provider lets a call ring. A call still ringing after that lost its end.
pub const RINGING_SPAN: i64 = 10 * 60 * 1000;

/// The time now, in seconds since 1970.
pub fn now_secs() -> i64 {
    now_ms() / 1000
}
