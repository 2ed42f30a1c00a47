//! A finished (or going) call of the journal as a person reads it: the one
//! form of `ctibridge history` and the demo — who called whom, when, how
//! it ended, how long it rang and lasted (durations as `watch` shows them).

use serde::{Deserialize, Serialize};

/// One call, as the bridge server's `history` route and the journal give it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Call {
    pub callref: String,
    pub line: String,
    /// `in` or `out`.
    pub direction: String,
    /// The other party.
    pub tel: String,
    #[serde(default)]
    pub called: String,
    /// `setup`, `connect`, `release` or `missed`.
    pub state: String,
    /// Milliseconds since 1970.
    pub setup_at: i64,
    pub connect_at: Option<i64>,
    pub release_at: Option<i64>,
    pub ringing_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    #[serde(default)]
    pub replaces: Option<String>,
}

impl Call {
    /// `made`, `received` or `missed`.
    pub fn kind(&self) -> &'static str {
        match (self.direction.as_str(), self.state.as_str()) {
            ("out", _) => "made",
            (_, "missed") => "missed",
            _ => "received",
        }
    }

    /// How it went: answered, missed, not answered, ringing, in progress.
    pub fn outcome(&self) -> &'static str {
        match (self.state.as_str(), self.direction.as_str()) {
            ("release", _) => "answered",
            ("missed", "out") => "not answered",
            ("missed", _) => "missed",
            ("connect", _) => "in progress",
            _ => "ringing",
        }
    }

    /// One line: `when  kind  caller → callee  outcome  rang m:ss  talked
    /// m:ss`; `when` is the set-up time in local time, as `time_format`
    /// says (chrono's strftime).
    pub fn readable(&self, time_format: &str) -> String {
        use chrono::TimeZone as _;
        let when = chrono::Local
            .timestamp_millis_opt(self.setup_at)
            .single()
            .map_or_else(|| "?".to_owned(), |t| t.format(time_format).to_string());
        let (from, to) = if self.direction == "out" {
            (self.line.as_str(), self.tel.as_str())
        } else {
            (self.tel.as_str(), self.line.as_str())
        };
        let from = if from.is_empty() { "withheld" } else { from };
        let mut line = format!(
            "{when}  {:<8}  {from} → {to}  {}",
            self.kind(),
            self.outcome()
        );
        let duration = |ms: i64| ctibridge_client::events::call::duration(ms.max(0) as u64);
        if let Some(ms) = self.ringing_ms {
            line.push_str(&format!("  rang {}", duration(ms)));
        }
        if let Some(ms) = self.talk_ms {
            line.push_str(&format!("  talked {}", duration(ms)));
        }
        line
    }
}
