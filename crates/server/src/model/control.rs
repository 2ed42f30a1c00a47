//! Call control: what a desk may do to a call of its line — answer, hang
//! up, reject, transfer — provider-neutral. Each provider says what it
//! supports; what it does not is refused (501) naming the provider and the
//! operation, never a silent success.

use serde::Serialize;

/// A side of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Caller,
    Callee,
}

impl Side {
    pub fn parse(s: &str) -> Option<Side> {
        match s.trim().to_ascii_lowercase().as_str() {
            "caller" => Some(Side::Caller),
            "callee" => Some(Side::Callee),
            _ => None,
        }
    }
}

/// An operation on a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Pick up a ringing call (the line is called).
    Answer,
    /// End the call.
    Hangup,
    /// Send a ringing call to the callee's voicemail: missed for the line.
    Reject,
    /// Blind transfer: `side` talks with `to`; the other side is done.
    Transfer { side: Side, to: String },
    /// `side` waits in the call park, at `slot` (none: the first free).
    Park { side: Side, slot: Option<String> },
    /// Take the call back from the park.
    Unpark,
    /// Hold: park the other side on the line's own slot.
    Pause,
    /// `to` is called first; `side` is transferred to it only if it
    /// answers within `timer` seconds (0: no limit); else nothing changes.
    SupervisedTransfer { side: Side, to: String, timer: u32 },
    /// `side` of this call and `other_side` of the call `other` talk
    /// together; the line leaves both.
    Merge {
        side: Side,
        other: String,
        other_side: Side,
    },
}

impl Op {
    /// Its name in routes and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Answer => "answer",
            Op::Hangup => "hangup",
            Op::Reject => "reject",
            Op::Transfer { .. } => "transfer",
            Op::Park { .. } => "park",
            Op::Unpark => "unpark",
            Op::Pause => "pause",
            Op::SupervisedTransfer { .. } => "supervised-transfer",
            Op::Merge { .. } => "merge",
        }
    }

    /// The operation `name` with its parameters (`side`, `to`), `to`
    /// already in its one identity; or why not.
    pub fn parse(
        name: &str,
        param: impl Fn(&str) -> Option<String>,
        number: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Op, String> {
        match name {
            "answer" => Ok(Op::Answer),
            "hangup" => Ok(Op::Hangup),
            "reject" => Ok(Op::Reject),
            "transfer" => {
                let side = param("side").unwrap_or_else(|| "caller".to_owned());
                let side = Side::parse(&side).ok_or("side is caller or callee")?;
                let to = param("to").ok_or("to is required: the number to transfer to")?;
                Ok(Op::Transfer {
                    side,
                    to: number(&to).map_err(|e| format!("to: {e}"))?,
                })
            }
            "park" => {
                let side = param("side").unwrap_or_else(|| "caller".to_owned());
                let side = Side::parse(&side).ok_or("side is caller or callee")?;
                let slot = param("slot").filter(|s| s.trim() != "-1");
                if let Some(s) = &slot {
                    if s.is_empty() || s.len() > 16 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                        return Err("slot: a park slot is letters and digits (-1: the first free)".into());
                    }
                }
                Ok(Op::Park { side, slot })
            }
            "unpark" => Ok(Op::Unpark),
            "supervised-transfer" => {
                let side = param("side").unwrap_or_else(|| "caller".to_owned());
                let side = Side::parse(&side).ok_or("side is caller or callee")?;
                let to = param("to").ok_or("to is required: the number to transfer to")?;
                let timer = match param("timer") {
                    None => 0,
                    Some(t) => t
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|t| *t <= 600)
                        .ok_or("timer: seconds, 0 to 600 (0: no limit)")?,
                };
                Ok(Op::SupervisedTransfer {
                    side,
                    to: number(&to).map_err(|e| format!("to: {e}"))?,
                    timer,
                })
            }
            "merge" => {
                let side = Side::parse(&param("side").unwrap_or_else(|| "caller".to_owned()))
                    .ok_or("side is caller or callee")?;
                let other_side = Side::parse(&param("side2").unwrap_or_else(|| "caller".to_owned()))
                    .ok_or("side2 is caller or callee")?;
                let other = param("callref2").ok_or("callref2 is required: the call to merge with")?;
                Ok(Op::Merge {
                    side,
                    other,
                    other_side,
                })
            }
            "pause" => Ok(Op::Pause),
            other => Err(format!(
                "`{other}` is not an operation: answer, hangup, reject, transfer, supervised-transfer, merge, park, unpark or pause"
            )),
        }
    }
}

/// An operation on a line (not on one of its calls).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineOp {
    /// Whether the callee of a call the line makes or transfers answers
    /// by itself (its handset's loudspeaker).
    GetAutoAnswer,
    SetAutoAnswer(bool),
    /// A SIP message to `to`.
    Message {
        to: String,
        text: String,
    },
    /// Follow another line of the account (its number), or the call park
    /// (`callpark`); stop following; what is followed.
    Subscribe(String),
    Unsubscribe(String),
    Subscriptions,
}

impl LineOp {
    pub fn name(&self) -> &'static str {
        match self {
            LineOp::GetAutoAnswer | LineOp::SetAutoAnswer(_) => "auto-answer",
            LineOp::Message { .. } => "message",
            LineOp::Subscribe(_) => "subscribe",
            LineOp::Unsubscribe(_) => "unsubscribe",
            LineOp::Subscriptions => "subscriptions",
        }
    }

    /// The operation `name` (`set`: a POST) with its parameters.
    pub fn parse(
        name: &str,
        set: bool,
        param: impl Fn(&str) -> Option<String>,
        number: impl Fn(&str) -> Result<String, String>,
    ) -> Result<LineOp, String> {
        let followed = |param: &dyn Fn(&str) -> Option<String>| -> Result<String, String> {
            let n =
                param("number").ok_or("number is required: a line of the account, or callpark")?;
            if n.eq_ignore_ascii_case("callpark") {
                Ok("callpark".to_owned())
            } else {
                number(&n).map_err(|e| format!("number: {e}"))
            }
        };
        match (name, set) {
            ("auto-answer", false) => Ok(LineOp::GetAutoAnswer),
            ("auto-answer", true) => match param("value").as_deref() {
                Some("1" | "true" | "on") => Ok(LineOp::SetAutoAnswer(true)),
                Some("0" | "false" | "off") => Ok(LineOp::SetAutoAnswer(false)),
                _ => Err("value is 1 (on) or 0 (off)".to_owned()),
            },
            ("message", true) => {
                let to = param("to").ok_or("to is required: the recipient")?;
                let text = param("text").ok_or("text is required: the message")?;
                if text.chars().count() > 1000 {
                    return Err("text: 1000 characters at most".to_owned());
                }
                Ok(LineOp::Message {
                    to: number(&to).map_err(|e| format!("to: {e}"))?,
                    text,
                })
            }
            ("subscribe", true) => Ok(LineOp::Subscribe(followed(&param)?)),
            ("unsubscribe", true) => Ok(LineOp::Unsubscribe(followed(&param)?)),
            ("subscriptions", false) => Ok(LineOp::Subscriptions),
            (other, _) => Err(format!(
                "`{other}` is not a line operation here: GET auto-answer or subscriptions; POST auto-answer, message, subscribe or unsubscribe"
            )),
        }
    }
}

/// Why an operation was not done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlError {
    /// The line has no such call (over, or never its own): 404.
    NoSuchCall,
    /// Not in the call's present state: 409.
    NotNow(String),
    /// The provider cannot do it: 501.
    Unsupported { provider: String, op: &'static str },
    /// The provider refused, or did not answer: 502.
    Provider(String),
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::NoSuchCall => f.write_str("no such call on this line (it may be over)"),
            ControlError::NotNow(why) => f.write_str(why),
            ControlError::Provider(why) => f.write_str(why),
            ControlError::Unsupported { provider, op } => {
                write!(f, "{provider} cannot `{op}` through the bridge server")
            }
        }
    }
}

/// A call of a line now, as `calls` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct ActiveCall {
    pub callref: String,
    /// The parties, in the desks' number form.
    pub caller: String,
    pub callee: String,
    pub direction: crate::model::event::Direction,
    /// Ringing, talking or parked.
    pub state: crate::model::record::LiveState,
    /// Milliseconds since 1970.
    pub setup_at: i64,
    pub connect_at: Option<i64>,
    /// Rung so far (to the answer), talked so far.
    pub ringing_ms: i64,
    pub talk_ms: i64,
    /// The call park's slot, while it is parked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub park_slot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    #[serde(flatten)]
    pub person: Option<ctibridge_client::names::Person>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_read_with_their_parameters() {
        let none = |_: &str| None;
        let id = |n: &str| Ok(format!("+{n}"));
        assert_eq!(Op::parse("answer", none, id), Ok(Op::Answer));
        let q = |k: &str| match k {
            "side" => Some("callee".to_owned()),
            "to" => Some("33388202020".to_owned()),
            _ => None,
        };
        assert_eq!(
            Op::parse("transfer", q, id),
            Ok(Op::Transfer {
                side: Side::Callee,
                to: "+33388202020".into()
            })
        );
        assert!(Op::parse("transfer", none, id)
            .unwrap_err()
            .contains("to is required"));
        assert!(Op::parse("merge-all", none, id)
            .unwrap_err()
            .contains("not an operation"));
        assert_eq!(
            Op::parse("park", none, id),
            Ok(Op::Park {
                side: Side::Caller,
                slot: None
            })
        );
        let bad_slot = |k: &str| (k == "slot").then(|| "1;2".to_owned());
        assert!(Op::parse("park", bad_slot, id).is_err());
    }
}
