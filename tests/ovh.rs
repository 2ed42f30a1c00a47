//! The OVH profiles against stand-ins on 127.0.0.1 that behave as
//! ../shared/PROVIDERS.md says: the OVH API (checks the request signature
//! exactly, serves /auth/time with its own clock), events v1 (several events
//! per answer, Session carried, empty polls held for a while) and events v2
//! (sessions made, subscribed, polled, expired).

#![cfg(unix)]

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::ovh::{api, station, ACCOUNT, AS, CK, EVENT_TOKEN, LINE};
use common::{run, text, with_files, Recorded, StandIn, TempDir};
use serde_json::Value;

fn setup(user_file: &str) -> TempDir {
    let dir = TempDir::new("ovh");
    dir.write("clicktocall_param.txt", user_file);
    dir.write("station.txt", &station());
    dir
}

#[test]
fn a_four_line_file_places_a_signed_click2call() {
    let a = api();
    let dir = setup(&format!(
        "<global>\n<provider>ovh\n<api_url>{}\n",
        a.srv.url("/1.0")
    ));
    let out = run(&dir, &["dial", "03 88 20 20 20"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(a.dials.load(Ordering::SeqCst), 1);
    assert_eq!(a.times.load(Ordering::SeqCst), 1);
    // The time offset is cached: a second dial asks for it no more.
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        (
            a.dials.load(Ordering::SeqCst),
            a.times.load(Ordering::SeqCst)
        ),
        (2, 1)
    );
    // Secrets never printed, even in a dry run.
    let out = run(&dir, &["dial", "--dry-run", "0388202020"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains(AS) && !all.contains(CK) && !all.contains(EVENT_TOKEN),
        "{all}"
    );

    // A wrong secret: refused, not retried.
    dir.write("station.txt", &station().replace(AS, "wrong"));
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out.stderr).contains("Invalid signature"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(a.dials.load(Ordering::SeqCst), 2);
}

#[test]
fn click2calluser_uses_the_users_login_and_no_api_keys() {
    let dials = Arc::new(AtomicUsize::new(0));
    let d = dials.clone();
    let srv = StandIn::start(move |r: &Recorded| {
        let expected = format!("/1.0/telephony/{ACCOUNT}/line/{LINE}/click2CallUser/42/click2Call");
        // Basic desk-user:pw, and no signature.
        let auth_ok = r.header("Authorization") == Some("Basic ZGVzay11c2VyOnB3");
        if r.method != "POST"
            || r.target != expected
            || !auth_ok
            || r.header("X-Ovh-Signature").is_some()
        {
            return (
                403,
                r#"{"message":"This call has not been granted"}"#.into(),
            );
        }
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        if body["calledNumber"] != "0033388202020" {
            return (400, "{}".into());
        }
        d.fetch_add(1, Ordering::SeqCst);
        (200, "null".into())
    });
    let dir = setup(&format!(
        "<global>\n<provider>ovh-click2calluser\n<api_url>{}\n",
        srv.url("/1.0")
    ));
    dir.write(
        "station.txt",
        &format!("<account>{ACCOUNT}\n<telorg>{LINE}\n<ident>42\n<user>desk-user\n<mdp>pw\n"),
    );
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(dials.load(Ordering::SeqCst), 1);
}

/// A running `watch --json` whose stdout lines arrive on a channel.
fn watch(dir: &TempDir, popup: &Path) -> (std::process::Child, std::sync::mpsc::Receiver<Value>) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("clicktocall_param.txt"))
        .expect("param");
    writeln!(f, "<popup>\n<command>{} $tel$ $called$", popup.display()).expect("write");
    let mut child = with_files(dir)
        .args(["watch", "--json", "--for", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).expect("json line");
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

use std::path::Path;

fn recorder(dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let log = dir.path().join("pops.log");
    let script = dir.path().join("fiche");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display()),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, log)
}

fn event(name: &str, calling: &str, call_id: &str) -> Value {
    serde_json::json!({
        "Event": name, "Token": EVENT_TOKEN, "Service": "sip", "Ressource": LINE,
        "Timestamp": 1_700_000_000_000_000_000u64, "Date": "2026-11-23T10:00:00Z",
        "Data": {"Calling": calling, "Called": LINE, "Dialed": LINE, "CallId": call_id, "Ts": "1", "Protocol": "sip"},
        "Details": {"Type": "line", "Description": "", "SimultaneousLine": "1"}
    })
}

fn kinds(rx: &std::sync::mpsc::Receiver<Value>, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("event line {i} missing"))
        })
        .collect()
}

fn summary(evs: &[Value]) -> Vec<(String, String, String)> {
    evs.iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("?").to_owned(),
                e["state"].as_str().unwrap_or("-").to_owned(),
                e["event"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

fn own(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

#[test]
fn events_v1_pop_an_incoming_call_and_follow_it() {
    let answers: Arc<Mutex<VecDeque<Vec<Value>>>> = Arc::new(Mutex::new(
        vec![
            vec![event("registered", "", "")],
            vec![
                event("start_ringing", "0033388202020", "c1"),
                event("start_calling", "0033388202020", "c1"),
            ],
            vec![
                event("end_ringing", "0033388202020", "c1"),
                event("end_calling", "0033388202020", "c1"),
            ],
            vec![event("member-queue-start", "0033611223344", "q1")],
            vec![event("end_ringing", "0033611223344", "q1")],
        ]
        .into(),
    ));
    let polls = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, p) = (answers.clone(), polls.clone());
    let n = AtomicUsize::new(0);
    let srv = StandIn::start(move |r: &Recorded| {
        p.lock().expect("polls").push(r.target.clone());
        if !r.target.starts_with(&format!("/?token={EVENT_TOKEN}")) {
            return (403, "Invalid token".into());
        }
        let next = a.lock().expect("answers").pop_front();
        let events = match next {
            Some(e) => e,
            None => {
                // An empty poll is held, as OVH holds it about 60 s.
                std::thread::sleep(Duration::from_millis(300));
                Vec::new()
            }
        };
        let i = n.fetch_add(1, Ordering::SeqCst) + 1;
        let body =
            serde_json::json!({"Session": format!("s-{i}"), "Message": "", "Events": events});
        (200, body.to_string())
    });
    let dir = setup(&format!(
        "<global>\n<provider>ovh\n<events_url>{}\n",
        srv.url("")
    ));
    let (fiche, pops) = recorder(&dir);
    let (mut child, rx) = watch(&dir, &fiche);
    let evs = kinds(&rx, 7);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        summary(&evs),
        own(&[
            ("other", "-", "registered"),
            ("ring", "setup", "start_ringing"),
            ("connect", "connect", "start_calling"),
            // Ringing ends because the call was answered: nothing ends.
            ("other", "connect", "end_ringing"),
            ("release", "release", "end_calling"),
            ("ring", "setup", "member-queue-start"),
            ("missed", "missed", "end_ringing"),
        ])
    );
    assert_eq!(evs[1]["caller"], "0388202020", "numbers in national form");
    assert_eq!(evs[1]["callee"], "0972101010");
    assert_eq!(evs[1]["call_id"], "c1");
    assert!(evs[4]["talk_ms"].is_u64());
    // The Session of each answer went back with the next poll.
    let polls = polls.lock().expect("polls").clone();
    assert_eq!(polls[0], format!("/?token={EVENT_TOKEN}"));
    assert_eq!(polls[1], format!("/?token={EVENT_TOKEN}&session=s-1"));
    assert_eq!(polls[2], format!("/?token={EVENT_TOKEN}&session=s-2"));
    // One screen pop per call, with national numbers.
    let end = std::time::Instant::now() + Duration::from_secs(10);
    let popped = loop {
        let t = std::fs::read_to_string(&pops).unwrap_or_default();
        if t.lines().count() >= 2 || std::time::Instant::now() > end {
            break t;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        popped.lines().collect::<Vec<_>>(),
        ["0388202020 0972101010", "0611223344 0972101010"]
    );
}

#[test]
fn events_v2_sessions_are_made_subscribed_and_remade() {
    #[derive(Default)]
    struct V2 {
        sessions: usize,
        subscribed: Vec<String>,
        live: Option<String>,
        polls_in_session: usize,
    }
    let state = Arc::new(Mutex::new(V2::default()));
    let s2 = state.clone();
    let srv = StandIn::start(move |r: &Recorded| {
        let mut s = s2.lock().expect("state");
        if r.method == "POST" && r.target == "/v2/session" {
            s.sessions += 1;
            let id = format!("sess-{}", s.sessions);
            s.live = Some(id.clone());
            s.polls_in_session = 0;
            return (
                200,
                serde_json::json!({"id": id, "createdAt": "now"}).to_string(),
            );
        }
        if r.method == "POST"
            && r.target.starts_with("/v2/session/")
            && r.target.contains("/subscribe/")
        {
            let ok = r.target.ends_with(&format!("/subscribe/{EVENT_TOKEN}"));
            if ok {
                s.subscribed.push(r.target.clone());
                return (200, "{}".into());
            }
            return (403, "bad token".into());
        }
        if r.method == "GET" && r.target.ends_with("/events/poll") {
            let id = r
                .target
                .trim_start_matches("/v2/session/")
                .trim_end_matches("/events/poll");
            if s.live.as_deref() != Some(id) {
                return (404, r#"{"message":"session not found"}"#.into());
            }
            s.polls_in_session += 1;
            return match (s.sessions, s.polls_in_session) {
                (1, 1) => (200, "[]".into()),
                // The service drops the session.
                (1, _) => {
                    s.live = None;
                    (200, "Timeout, please reconnect".into())
                }
                (_, 1) => (
                    200,
                    serde_json::json!([{"event": "start_ringing", "data": {"calling": "0033388202020", "called": LINE, "callId": "v2-1"}}]).to_string(),
                ),
                _ => {
                    drop(s);
                    std::thread::sleep(Duration::from_millis(300));
                    (200, "[]".into())
                }
            };
        }
        (404, "not found".into())
    });
    let dir = setup(&format!(
        "<global>\n<provider>ovh-v2\n<events_url>{}\n",
        srv.url("")
    ));
    let (fiche, _pops) = recorder(&dir);
    let (mut child, rx) = watch(&dir, &fiche);
    let evs = kinds(&rx, 1);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(evs[0]["kind"], "ring");
    assert_eq!(evs[0]["caller"], "0388202020");
    assert_eq!(evs[0]["call_id"], "v2-1");
    let s = state.lock().expect("state");
    assert_eq!(s.sessions, 2, "a new session after the old one was dropped");
    assert_eq!(
        s.subscribed,
        [
            format!("/v2/session/sess-1/subscribe/{EVENT_TOKEN}"),
            format!("/v2/session/sess-2/subscribe/{EVENT_TOKEN}")
        ]
    );
}

/// `doctor` on the OVH profile: the API's clock read, the keys accepted by
/// `GET /auth/currentCredential` with rules that allow the dial, the event
/// source answering; with a wrong consumer key the keys check fails, says
/// what to do, and the command exits 5. No call is placed either way.
#[test]
fn doctor_checks_the_ovh_keys_clock_and_events_without_a_call() {
    let a = api();
    let events = StandIn::start(|r: &Recorded| {
        if !r.target.starts_with(&format!("/?token={EVENT_TOKEN}")) {
            return (403, "Invalid token".into());
        }
        (200, r#"{"Session":"s-1","Message":"","Events":[]}"#.into())
    });
    let dir = setup(&format!(
        "<global>\n<provider>ovh\n<api_url>{}\n<events_url>{}\n",
        a.srv.url("/1.0"),
        events.url("")
    ));
    let out = run(&dir, &["doctor"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    // The stand-in's clock is 1000 s ahead: corrected, and worth a warning.
    assert!(
        shown.contains("warn  ovh-time     OVH's clock is 1000 s ahead of this machine's"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "ok    ovh-keys     the keys are accepted and allow POST /telephony/{ACCOUNT}/line/{LINE}/click2Call"
        )),
        "{shown}"
    );
    assert!(shown.contains("ok    events"), "{shown}");
    assert!(shown.contains("everything a dial and a screen pop need is in place"));
    assert_eq!(a.dials.load(Ordering::SeqCst), 0);

    // A consumer key OVH does not know.
    dir.write(
        "station.txt",
        &station().replace(CK, "consumer-key-unknown"),
    );
    let out = run(&dir, &["-vv", "doctor"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{shown}");
    assert!(
        shown.contains(
            "FAIL  ovh-keys     the OVH API refused the keys: HTTP 403: Invalid credential"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("→ check <app_key>, <app_secret> and <consumer_key>"),
        "{shown}"
    );
    // The secrets are never shown.
    let all = format!("{shown}{}", text(&out.stderr));
    assert!(
        !all.contains(AS) && !all.contains("consumer-key-unknown"),
        "{all}"
    );

    // The event source refuses the token.
    dir.write(
        "station.txt",
        &station().replace(EVENT_TOKEN, "evt-token-wrong"),
    );
    let out = run(&dir, &["doctor"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{shown}");
    assert!(
        shown.contains("FAIL  events       HTTP 403: Invalid token"),
        "{shown}"
    );
    assert_eq!(a.dials.load(Ordering::SeqCst), 0);
}
