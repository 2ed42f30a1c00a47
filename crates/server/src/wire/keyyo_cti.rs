//! Keyyo's CTI WebSocket, the wire (PROVIDERS.md, "Keyyo — CTI
//! WebSocket"): SockJS 0.3 framing, the actions and their replies with the
//! SDK's error codes, and pushed call notifications read into the call
//! model — stateless. The session that drives them is
//! `sources::keyyo_cti`.

use serde_json::{json, Value};

use crate::model::control::{Op, Side};
use crate::model::event::{Direction, Event, LineEvent};

/// A frame from a SockJS server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `o`: the session is open.
    Open,
    /// `h`: a heartbeat.
    Heartbeat,
    /// `a[...]`: messages, each a JSON document as text.
    Messages(Vec<String>),
    /// `c[code,"reason"]`: the server closes.
    Close(u16, String),
}

/// Why a frame cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadFrame(pub String);

/// Reads one SockJS frame (the text of one WebSocket message).
pub fn read_frame(text: &str) -> Result<Frame, BadFrame> {
    let bad = |why: &str| {
        BadFrame(format!(
            "{why}: {}",
            ctibridge_lang::diag::excerpt(text, 80)
        ))
    };
    let (kind, rest) = text.split_at(text.len().min(1));
    match kind {
        "o" if rest.is_empty() => Ok(Frame::Open),
        "h" if rest.is_empty() => Ok(Frame::Heartbeat),
        "a" => {
            let list: Vec<String> =
                serde_json::from_str(rest).map_err(|_| bad("not an array of messages"))?;
            Ok(Frame::Messages(list))
        }
        "c" => {
            let v: Value = serde_json::from_str(rest).map_err(|_| bad("not a close frame"))?;
            let code = v[0].as_u64().and_then(|c| u16::try_from(c).ok());
            let reason = v[1].as_str().unwrap_or("").to_owned();
            code.map(|c| Frame::Close(c, reason))
                .ok_or_else(|| bad("a close frame without its code"))
        }
        _ => Err(bad("not a SockJS frame")),
    }
}

/// What a client sends: its messages as a JSON array of texts.
pub fn client_frame(messages: &[Value]) -> String {
    let texts: Vec<String> = messages.iter().map(Value::to_string).collect();
    serde_json::to_string(&texts).expect("strings serialise")
}

/// The WebSocket address of a SockJS session at `endpoint`
/// (`https://ws.keyyo.com/cti` → `wss://ws.keyyo.com/cti/123/abcdefgh/websocket`):
/// a three-digit server number and a random session name.
pub fn session_url(endpoint: &str, server: u16, session: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{ws}/{:03}/{session}/websocket", server % 1000)
}

/// An action's request: `{"action", "id", ...params}`.
/// A request as `-vv` logs it: the CSI token masked whatever the
/// registry of secrets knows.
pub(crate) fn logged(request: &Value) -> String {
    let mut shown = request.clone();
    if let Some(t) = shown.get_mut("token") {
        *t = Value::String(ctibridge_lang::redact::MASK.to_owned());
    }
    ctibridge_lang::redact::mask(&shown.to_string()).into_owned()
}

pub fn request(action: &str, id: u64, params: Value) -> Value {
    let mut v = json!({ "action": action, "id": id });
    if let (Some(obj), Value::Object(p)) = (v.as_object_mut(), params) {
        obj.extend(p);
    }
    v
}

/// The action and parameters of a call operation (`call_ref` the
/// provider's call reference; numbers international, without `+`).
pub fn action_of(op: &Op, call_ref: &str) -> (&'static str, Value) {
    let side = |s: Side| match s {
        Side::Caller => "caller",
        Side::Callee => "callee",
    };
    let intl = |n: &str| n.trim_start_matches('+').to_owned();
    match op {
        Op::Answer => ("answer_call", json!({ "call_ref": call_ref })),
        Op::Hangup => ("terminate_call", json!({ "call_ref": call_ref })),
        Op::Reject => ("reject_call", json!({ "call_ref": call_ref })),
        Op::Unpark => ("unpark_call", json!({ "call_ref": call_ref })),
        Op::Pause => ("pause_call", json!({ "call_ref": call_ref })),
        Op::Transfer { side: s, to } => (
            "transfer_call",
            json!({ "call_ref": call_ref, "side": side(*s), "to": intl(to) }),
        ),
        Op::SupervisedTransfer { side: s, to, timer } => (
            "supervised_transfer_call",
            json!({ "call_ref": call_ref, "side": side(*s), "to": intl(to), "invite_timer": timer }),
        ),
        Op::Merge {
            side: s,
            other,
            other_side,
        } => (
            "merge_call",
            json!({ "call_ref": call_ref, "side": side(*s), "call_ref2": other, "side2": side(*other_side) }),
        ),
        Op::Park { side: s, slot } => {
            // -1: the first free slot.
            let slot = slot
                .as_deref()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(-1);
            (
                "park_call",
                json!({ "call_ref": call_ref, "side": side(*s), "slot": slot }),
            )
        }
    }
}

/// The action and parameters of a line operation.
pub fn line_action_of(op: &crate::model::control::LineOp) -> (&'static str, Value) {
    use crate::model::control::LineOp;
    let intl = |n: &str| n.trim_start_matches('+').to_owned();
    match op {
        LineOp::GetAutoAnswer => ("get_auto_answer", json!({})),
        LineOp::SetAutoAnswer(on) => ("set_auto_answer", json!({ "auto_answer": on })),
        LineOp::Message { to, text } => (
            "send_message",
            json!({ "number": intl(to), "message": text }),
        ),
        LineOp::Subscribe(n) => ("subscribe", json!({ "number": intl(n) })),
        LineOp::Unsubscribe(n) => ("unsubscribe", json!({ "number": intl(n) })),
        LineOp::Subscriptions => ("get_subscriptions", json!({})),
    }
}

/// An error of the CTI service, as the SDK names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtiError {
    /// "Malformed request (missing required parameters)" (400).
    MissingParameter(String),
    /// "Invalid token…" (400): the CSI token expired or is wrong.
    InvalidToken(String),
    /// "RPC invalid params" (400).
    InvalidParams(String),
    /// "Unknown session_id" (401): the session is gone.
    InvalidSession(String),
    /// "Cannot treat action": the line's websocket CTI plugin is off, or
    /// it has no registered handset.
    CannotTreat(String),
    /// Anything else the service said.
    Other(String),
}

impl CtiError {
    /// The error of a reply's `error` object.
    pub fn of(error: &Value) -> CtiError {
        let message = error["message"].as_str().unwrap_or("").to_owned();
        if message.starts_with("Malformed request") {
            CtiError::MissingParameter(message)
        } else if message.starts_with("Invalid token") {
            CtiError::InvalidToken(message)
        } else if message.starts_with("RPC invalid params") {
            CtiError::InvalidParams(message)
        } else if message.starts_with("Unknown session_id") {
            CtiError::InvalidSession(message)
        } else if message.starts_with("Cannot treat action") {
            CtiError::CannotTreat(message)
        } else {
            CtiError::Other(message)
        }
    }

    /// The session must be created anew (`restore_session` refused).
    pub fn needs_new_session(&self) -> bool {
        matches!(
            self,
            CtiError::InvalidSession(_) | CtiError::InvalidParams(_)
        )
    }
}

impl std::fmt::Display for CtiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CtiError::CannotTreat(m) => write!(
                f,
                "{m}: Keyyo cannot act on this line's calls — enable the line's \"websocket\" CTI plugin in the Keyyo manager, and check that a handset is registered on the line"
            ),
            CtiError::InvalidToken(m) => write!(
                f,
                "{m}: the CSI token is refused — it lives one hour, and is made by the Keyyo Manager API (POST /manager/1.0/services/{{csi}}/csi_token): a <csi_token> of the server file must be replaced within the hour; with <csi>, <oauth_client_id>, <oauth_client_secret> and <refresh_token> the server mints its own"
            ),
            CtiError::MissingParameter(m)
            | CtiError::InvalidParams(m)
            | CtiError::InvalidSession(m)
            | CtiError::Other(m) => f.write_str(m),
        }
    }
}

/// A message from the service.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// The reply to request `id`.
    Reply {
        id: u64,
        result: Result<Value, CtiError>,
    },
    /// A pushed call notification.
    Call(PushedCall),
    /// Something else (kept for the log).
    Other(Value),
}

/// A pushed call's state, read once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtiState {
    Setup,
    Connect,
    Release,
    Missed,
    /// A state this server does not know, as written.
    Other(String),
}

impl CtiState {
    /// `state` as Keyyo writes it (any case).
    pub fn parse(state: &str) -> CtiState {
        match state.to_ascii_uppercase().as_str() {
            "SETUP" => CtiState::Setup,
            "CONNECT" => CtiState::Connect,
            "RELEASE" => CtiState::Release,
            "MISSED" => CtiState::Missed,
            other => CtiState::Other(other.to_owned()),
        }
    }

    /// Whether the call left the call park in this state (answered again,
    /// or over).
    pub fn ends_a_park(&self) -> bool {
        matches!(
            self,
            CtiState::Connect | CtiState::Release | CtiState::Missed
        )
    }
}

impl std::fmt::Display for CtiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CtiState::Setup => "SETUP",
            CtiState::Connect => "CONNECT",
            CtiState::Release => "RELEASE",
            CtiState::Missed => "MISSED",
            CtiState::Other(s) => s,
        })
    }
}

/// A call as a push tells it (numbers international, without `+`; dates
/// in seconds since 1970).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedCall {
    pub callref: String,
    pub state: CtiState,
    pub caller: String,
    pub callee: String,
    pub slot: Option<String>,
}

/// Reads one message (the text of one SockJS message).
pub fn read_message(text: &str) -> Result<Incoming, BadFrame> {
    let v: Value = serde_json::from_str(text).map_err(|_| {
        BadFrame(format!(
            "not JSON: {}",
            ctibridge_lang::diag::excerpt(text, 80)
        ))
    })?;
    if let Some(id) = v["id"].as_u64() {
        let result = match v.get("error").filter(|e| !e.is_null()) {
            Some(e) => Err(CtiError::of(e)),
            None => Ok(v["result"].clone()),
        };
        return Ok(Incoming::Reply { id, result });
    }
    if v["notify"] == "call" {
        let c = &v["call"];
        let text = |k: &str| match &c[k] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let slot = Some(text("callpark_slot")).filter(|s| !s.is_empty());
        return Ok(Incoming::Call(PushedCall {
            callref: text("callref"),
            state: CtiState::parse(&text("state")),
            caller: text("caller"),
            callee: text("callee"),
            slot,
        }));
    }
    Ok(Incoming::Other(v))
}

/// A number of Keyyo's pushes (`33388202020`) in E.164 (`+33388202020`),
/// the lines' one identity.
pub(crate) fn e164(n: &str) -> String {
    if n.is_empty() || n.starts_with('+') {
        n.to_owned()
    } else {
        format!("+{n}")
    }
}

impl PushedCall {
    /// The call event for `line` (one of ours, in its one identity), or
    /// none when the push is not about it. A parked call (a slot) is a
    /// PARK; CONNECT after it, an UNPARK.
    pub fn line_event(&self, line: &str, was_parked: bool) -> Option<LineEvent> {
        let (caller, callee) = (e164(&self.caller), e164(&self.callee));
        let (direction, tel) = if callee == line {
            (Direction::In, caller.clone())
        } else if caller == line {
            (Direction::Out, callee.clone())
        } else {
            return None;
        };
        let event = match (&self.state, direction, &self.slot, was_parked) {
            (CtiState::Setup, Direction::Out, _, _) => Event::Dial,
            (CtiState::Setup, Direction::In, _, _) => Event::Ring,
            (CtiState::Connect, _, Some(_), _) => Event::Park,
            (CtiState::Connect, _, None, true) => Event::Unpark,
            (CtiState::Connect, _, None, false) => Event::Connect,
            (CtiState::Release, _, _, _) => Event::Release,
            (CtiState::Missed, _, _, _) => Event::Missed,
            (CtiState::Other(_), _, _, _) => return None,
        };
        Some(LineEvent {
            seq: 0,
            line: line.to_owned(),
            event,
            tel,
            called: callee,
            callref: self.callref.clone(),
            direction,
            replaces: None,
            person: None,
            slot: self.slot.clone().filter(|_| event == Event::Park),
            at: 0,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {

    use super::*;

    #[test]
    fn sockjs_frames_are_read_and_written() {
        assert_eq!(read_frame("o"), Ok(Frame::Open));
        assert_eq!(read_frame("h"), Ok(Frame::Heartbeat));
        assert_eq!(
            read_frame(r#"a["{\"id\":1,\"result\":1}","{\"notify\":\"call\"}"]"#),
            Ok(Frame::Messages(vec![
                r#"{"id":1,"result":1}"#.into(),
                r#"{"notify":"call"}"#.into()
            ]))
        );
        assert_eq!(
            read_frame(r#"c[3000,"Go away!"]"#),
            Ok(Frame::Close(3000, "Go away!".into()))
        );
        assert!(read_frame("x").is_err());
        assert!(read_frame("a{").is_err());
        assert!(read_frame("").is_err());
        assert_eq!(
            client_frame(&[json!({"action": "ping", "id": 3})]),
            r#"["{\"action\":\"ping\",\"id\":3}"]"#
        );
        assert_eq!(
            session_url("https://ws.keyyo.com/cti/", 7, "abcdefgh"),
            "wss://ws.keyyo.com/cti/007/abcdefgh/websocket"
        );
        assert_eq!(
            session_url("http://127.0.0.1:9000/cti", 123, "s1"),
            "ws://127.0.0.1:9000/cti/123/s1/websocket"
        );
    }

    #[test]
    fn operations_become_the_sdks_actions() {
        let (a, p) = action_of(&Op::Answer, "c1");
        assert_eq!(
            request(a, 4, p),
            json!({"action": "answer_call", "id": 4, "call_ref": "c1"})
        );
        let (a, p) = action_of(
            &Op::Transfer {
                side: Side::Caller,
                to: "+33172587949".into(),
            },
            "c1",
        );
        assert_eq!(
            (a, p),
            (
                "transfer_call",
                json!({"call_ref": "c1", "side": "caller", "to": "33172587949"})
            )
        );
        let (a, p) = action_of(
            &Op::Park {
                side: Side::Callee,
                slot: None,
            },
            "c1",
        );
        assert_eq!(
            (a, p),
            (
                "park_call",
                json!({"call_ref": "c1", "side": "callee", "slot": -1})
            )
        );
        let (a, _) = action_of(&Op::Pause, "c1");
        assert_eq!(a, "pause_call");
    }

    #[test]
    fn replies_errors_and_pushes_are_read() {
        assert_eq!(
            read_message(r#"{"id":2,"result":{"session_id":"s9","number":"33972101010","now":1}}"#),
            Ok(Incoming::Reply {
                id: 2,
                result: Ok(json!({"session_id": "s9", "number": "33972101010", "now": 1}))
            })
        );
        let refused = |m: &str| match read_message(&format!(
            r#"{{"id":5,"error":{{"message":"{m}","status_code":400}}}}"#
        )) {
            Ok(Incoming::Reply { result: Err(e), .. }) => e,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            refused("Invalid token (expired)"),
            CtiError::InvalidToken(_)
        ));
        assert!(refused("Unknown session_id").needs_new_session());
        assert!(refused("RPC invalid params").needs_new_session());
        assert!(!refused("Malformed request (missing required parameters)").needs_new_session());
        let cannot = refused("Cannot treat action");
        assert!(
            cannot.to_string().contains("websocket\" CTI plugin"),
            "{cannot}"
        );
        let push = r#"{"notify":"call","call":{"callref":"k1","state":"SETUP","caller":"33388202020","callee":"33972101010","setup_date":1700000000}}"#;
        let Ok(Incoming::Call(call)) = read_message(push) else {
            panic!("a push")
        };
        let ev = call
            .line_event("+33972101010", false)
            .expect("for the line");
        assert_eq!(
            (ev.event, ev.direction, ev.tel.as_str()),
            (Event::Ring, Direction::In, "+33388202020")
        );
        assert!(call.line_event("+33972101099", false).is_none());
        let parked = PushedCall {
            state: CtiState::Connect,
            slot: Some("7".into()),
            ..call.clone()
        };
        let ev = parked.line_event("+33972101010", false).expect("event");
        assert_eq!((ev.event, ev.slot.as_deref()), (Event::Park, Some("7")));
        let back = PushedCall {
            state: CtiState::Connect,
            ..call
        };
        assert_eq!(
            back.line_event("+33972101010", true).map(|e| e.event),
            Some(Event::Unpark)
        );
    }
}
