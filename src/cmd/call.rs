//! `ctibridge call list|answer|hangup|reject|transfer`: the desk's calls
//! under way, through the bridge server its events come from, with its own
//! token.

use ctibridge::config::Method;
use ctibridge::exit::Exit;
use ctibridge::load::LocateOptions;
use ctibridge::logfile::LogFile;

use crate::cli::CallAction;
use crate::session::{current_thread_runtime, Session};

/// An operation asked: its name, the call (empty: an operation on the
/// line), its other parameters.
struct Asked {
    name: &'static str,
    callref: String,
    extra: Vec<(&'static str, String)>,
    /// A line operation that changes nothing (GET).
    read: bool,
}

pub(crate) fn call(opts: &LocateOptions, log_file: &LogFile, action: CallAction) -> Exit {
    let asked = |name, callref| Asked {
        name,
        callref,
        extra: Vec::new(),
        read: false,
    };
    let on_line = |name, extra: Vec<(&'static str, String)>, read| {
        Some(Asked {
            name,
            callref: String::new(),
            extra,
            read,
        })
    };
    let (on, op) = match action {
        CallAction::List { on } => (on, None),
        CallAction::Answer { callref, on } => (on, Some(asked("answer", callref))),
        CallAction::Hangup { callref, on } => (on, Some(asked("hangup", callref))),
        CallAction::Reject { callref, on } => (on, Some(asked("reject", callref))),
        CallAction::Transfer {
            callref,
            to,
            side,
            on,
        } => (
            on,
            Some(Asked {
                extra: vec![("to", to), ("side", side)],
                ..asked("transfer", callref)
            }),
        ),
        CallAction::Park {
            callref,
            side,
            slot,
            on,
        } => {
            let mut extra = vec![("side", side)];
            extra.extend(slot.map(|s| ("slot", s)));
            (
                on,
                Some(Asked {
                    extra,
                    ..asked("park", callref)
                }),
            )
        }
        CallAction::SupervisedTransfer {
            callref,
            to,
            side,
            timer,
            on,
        } => (
            on,
            Some(Asked {
                extra: vec![("to", to), ("side", side), ("timer", timer.to_string())],
                ..asked("supervised-transfer", callref)
            }),
        ),
        CallAction::Merge {
            callref,
            callref2,
            side,
            side2,
            on,
        } => (
            on,
            Some(Asked {
                extra: vec![("callref2", callref2), ("side", side), ("side2", side2)],
                ..asked("merge", callref)
            }),
        ),
        CallAction::Unpark { callref, on } => (on, Some(asked("unpark", callref))),
        CallAction::Pause { callref, on } => (on, Some(asked("pause", callref))),
        CallAction::AutoAnswer { value, on } => {
            let read = value.is_none();
            let extra = value
                .map(|v| vec![("value", if v == "on" { "1" } else { "0" }.to_owned())])
                .unwrap_or_default();
            (on, on_line("auto-answer", extra, read))
        }
        CallAction::Message { to, text, on } => (
            on,
            on_line("message", vec![("to", to), ("text", text)], false),
        ),
        CallAction::Subscribe { number, on } => {
            (on, on_line("subscribe", vec![("number", number)], false))
        }
        CallAction::Unsubscribe { number, on } => {
            (on, on_line("unsubscribe", vec![("number", number)], false))
        }
        CallAction::Subscriptions { on } => (on, on_line("subscriptions", Vec::new(), true)),
    };
    let session = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let config = session.config();
    let values = ctibridge::dial::values(config);
    let line = on.line.clone().unwrap_or(values.telorg.clone());
    let mut query: Vec<(&str, String)> = vec![("ident", values.ident.clone()), ("telorg", line)];
    let (method, route) = match &op {
        None => (Method::Get, "calls"),
        Some(a) => {
            query.push(("op", a.name.to_owned()));
            if !a.callref.is_empty() {
                query.push(("callref", a.callref.clone()));
            }
            query.extend(a.extra.iter().cloned());
            match (a.callref.is_empty(), a.read) {
                (false, _) => (Method::Post, "call"),
                (true, true) => (Method::Get, "line"),
                (true, false) => (Method::Post, "line"),
            }
        }
    };
    let Ok(rt) = current_thread_runtime() else {
        return Exit::System;
    };
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let asked = rt.block_on(ctibridge::events::watch::ask_bridge(
        &session.context,
        config,
        session.fallback(),
        method,
        route,
        &pairs,
    ));
    let resp = match asked {
        Ok(r) => r,
        Err(f) => return session.fail(&f),
    };
    let v: serde_json::Value = serde_json::from_str(&resp.body).unwrap_or_default();
    if on.json {
        outln!("{v}");
        return Exit::Ok;
    }
    match &op {
        Some(a) if a.name == "auto-answer" && a.read => outln!(
            "auto-answer {}",
            if v["auto_answer"] == true {
                "on"
            } else {
                "off"
            }
        ),
        Some(a) if a.name == "subscriptions" => {
            let numbers = v["numbers"].as_array().cloned().unwrap_or_default();
            if numbers.is_empty() {
                outln!("no subscription");
            }
            for n in numbers {
                outln!("{}", n.as_str().unwrap_or(""));
            }
        }
        Some(a) if a.callref.is_empty() => outln!("{}: done", a.name),
        Some(a) => outln!("{} {}: done", a.name, a.callref),
        None => {
            let calls = v["calls"].as_array().cloned().unwrap_or_default();
            if calls.is_empty() {
                outln!("no call under way");
            }
            for c in calls {
                outln!("{}", readable(&c));
            }
        }
    }
    Exit::Ok
}

/// One call under way: `callref  ringing|talking  caller → callee  name
/// rang m:ss  talked m:ss`.
fn readable(c: &serde_json::Value) -> String {
    let text = |k: &str| c[k].as_str().unwrap_or("").to_owned();
    let ms = |k: &str| c[k].as_i64().unwrap_or(0).max(0) as u64;
    let state = match text("state").as_str() {
        "CONNECT" => "talking".to_owned(),
        "PARKED" => format!("parked (slot {})", text("park_slot")),
        _ => "ringing".to_owned(),
    };
    let caller = Some(text("caller"))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "withheld".to_owned());
    let mut line = format!(
        "{}  {state:<7}  {caller} → {}",
        text("callref"),
        text("callee")
    );
    let name = text("name");
    if !name.is_empty() {
        line.push_str(&format!("  {name}"));
    }
    let duration = ctibridge::events::call::duration;
    line.push_str(&format!("  rang {}", duration(ms("ringing_ms"))));
    if state != "ringing" {
        line.push_str(&format!("  talked {}", duration(ms("talk_ms"))));
    }
    line
}
