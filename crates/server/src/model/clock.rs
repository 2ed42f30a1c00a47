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

/// The local day `at` (ms since 1970) is in: its first and the next
/// day's first millisecond (the wall's day counts).
pub fn day_of(at: i64) -> (i64, i64) {
    use chrono::TimeZone as _;
    let local = chrono::Local
        .timestamp_millis_opt(at)
        .earliest()
        .unwrap_or_else(chrono::Local::now);
    let midnight = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| chrono::Local.from_local_datetime(&t).earliest())
            .map(|t| t.timestamp_millis())
    };
    let day = local.date_naive();
    let start = midnight(day).unwrap_or(at - at.rem_euclid(CALL_SPAN));
    let next = day
        .succ_opt()
        .and_then(midnight)
        .filter(|&n| n > start)
        .unwrap_or(start + CALL_SPAN);
    (start, next)
}
