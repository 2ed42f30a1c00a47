//! Call control through the bridge server (`ctibridge call …`), end to end
//! on 127.0.0.1: the simulator's calls answered, hung up, rejected and
//! transferred from a desk run on the repository's sample files; a
//! provider that cannot act on calls says so (501).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{ctibridge, free_addr, listening, text, Server, TempDir};
use serde_json::Value;

/// `serve --sim` and the sample desk (paul, line 1003) pointed at it.
fn setup(dir: &TempDir) -> (Server, SocketAddr, PathBuf) {
    let addr = free_addr();
    let mut cmd = ctibridge(dir);
    cmd.args(["serve", "--sim", "--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let srv = listening(cmd, addr);
    let sys = dir.path().join("sys");
    std::fs::create_dir_all(&sys).expect("mkdir");
    let param = std::fs::read_to_string("samples/clicktocall_param.txt").expect("sample");
    std::fs::write(
        sys.join("clicktocall_param.txt"),
        param.replace("localhost:8082", &addr.to_string()),
    )
    .expect("write");
    (srv, addr, sys)
}

/// `ctibridge call ARGS` as the sample desk: exit code, stdout, stderr.
fn call(dir: &TempDir, sys: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = ctibridge(dir)
        .arg("--sys-dir")
        .arg(sys)
        .args(["--station", "samples/station.txt", "call"])
        .args(args)
        .output()
        .expect("call");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// A simulated call from `from` to `to` that rings until a desk acts.
fn ring(addr: SocketAddr, from: &str, to: &str) -> String {
    let (status, body) = common::exchange(
        std::net::TcpStream::connect(addr).expect("connect"),
        &format!(
            "POST /sim/call?from={from}&to={to}&answer=wait HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["callref"].as_str().expect("callref").to_owned()
}

/// The line's calls under way, once `pick` finds what it wants in them:
/// read again after each event of the line (a `getevent` held until one
/// comes), never after a pause.
fn until(
    dir: &TempDir,
    sys: &std::path::Path,
    addr: SocketAddr,
    line: &str,
    what: &str,
    pick: impl Fn(&[Value]) -> Option<Value>,
) -> Value {
    let (status, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken?ident=test",
        "",
    );
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).expect("json");
    let auth = format!("Bearer {}", token["token"].as_str().expect("token"));
    let mut cursor = "0".to_owned();
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, out, err) = call(dir, sys, &["list", "--line", line, "--json"]);
        assert_eq!(code, Some(0), "{err}");
        let v: Value = serde_json::from_str(out.trim()).expect("json");
        if let Some(found) = pick(v["calls"].as_array().map_or(&[][..], Vec::as_slice)) {
            return found;
        }
        assert!(Instant::now() < end, "{what} never on {line}: {v}");
        // The next event of the line (held by the server until it comes).
        let (status, body) = http(
            addr,
            "GET",
            &format!("/DhDivaltoServerCTI/api/cti/getevent?telorg={line}&cursor={cursor}"),
            &auth,
        );
        assert_eq!(status, 200, "{body}");
        let ev: Value = serde_json::from_str(&body).expect("json");
        cursor = ev["cursor"].as_str().unwrap_or(&cursor).to_owned();
    }
}

/// `callref` under way on `line`, once it is in `state`.
fn listed(
    dir: &TempDir,
    sys: &std::path::Path,
    addr: SocketAddr,
    line: &str,
    callref: &str,
    state: &str,
) -> Value {
    until(
        dir,
        sys,
        addr,
        line,
        &format!("{callref} {state}"),
        |calls| {
            calls
                .iter()
                .find(|c| c["callref"] == callref && c["state"] == state)
                .cloned()
        },
    )
}

/// The call under way on `line` that replaces `callref`.
fn replacing(
    dir: &TempDir,
    sys: &std::path::Path,
    addr: SocketAddr,
    line: &str,
    callref: &str,
) -> Value {
    until(
        dir,
        sys,
        addr,
        line,
        &format!("a call replacing {callref}"),
        |calls| calls.iter().find(|c| c["replaces"] == callref).cloned(),
    )
}

/// Once `callref` is no longer under way on `line`.
fn gone(dir: &TempDir, sys: &std::path::Path, addr: SocketAddr, line: &str, callref: &str) {
    until(dir, sys, addr, line, &format!("{callref} over"), |calls| {
        (!calls.iter().any(|c| c["callref"] == callref)).then_some(Value::Null)
    });
}

/// A plain HTTP/1.1 request; returns status and body.
fn http(addr: SocketAddr, method: &str, target: &str, auth: &str) -> (u16, String) {
    common::exchange(
        std::net::TcpStream::connect(addr).expect("connect"),
        &format!(
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// How `callref` ended for the sample desk's line, as `history --json`
/// says (`received`, `missed`, `made`).
fn kind(dir: &TempDir, sys: &std::path::Path, callref: &str) -> String {
    let out = ctibridge(dir)
        .arg("--sys-dir")
        .arg(sys)
        .args(["--station", "samples/station.txt", "history", "--json"])
        .output()
        .expect("history");
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["callref"] == callref)
        .map(|v| v["kind"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default()
}

/// The simulator's call answered, then hung up, from the desk; what cannot be done is refused with why.
#[test]
fn a_call_is_answered_and_hung_up_from_the_desk() {
    let dir = TempDir::new("control-sim");
    let (_srv, addr, sys) = setup(&dir);

    // Answered from the desk, then hung up from the desk.
    let c1 = ring(addr, "0388202020", "1003");
    let ringing = listed(&dir, &sys, addr, "1003", &c1, "SETUP");
    assert_eq!(ringing["caller"], "0388202020");
    assert_eq!(ringing["callee"], "1003");
    assert_eq!(ringing["direction"], "in");
    let (code, out, err) = call(&dir, &sys, &["answer", &c1]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), format!("answer {c1}: done"));
    listed(&dir, &sys, addr, "1003", &c1, "CONNECT");
    let (code, shown, _) = call(&dir, &sys, &["list"]);
    assert_eq!(code, Some(0));
    assert!(
        shown.contains(&format!("{c1}  talking  0388202020 → 1003  rang ")),
        "{shown}"
    );
    // Only a ringing call can be rejected: 409, exit 5, saying why.
    let (code, _, err) = call(&dir, &sys, &["reject", &c1]);
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("HTTP 409: only a ringing call can be rejected: the call is answered"),
        "{err}"
    );
    let (code, _, err) = call(&dir, &sys, &["hangup", &c1]);
    assert_eq!(code, Some(0), "{err}");
    gone(&dir, &sys, addr, "1003", &c1);
    // It is over: no such call.
    let (code, _, err) = call(&dir, &sys, &["hangup", &c1]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("HTTP 404: no such call on this line"), "{err}");
    assert_eq!(kind(&dir, &sys, &c1), "received");
}

/// A ringing call rejected: to voicemail, missed for the line.
#[test]
fn a_ringing_call_is_rejected_to_voicemail() {
    let dir = TempDir::new("control-sim");
    let (_srv, addr, sys) = setup(&dir);

    // Rejected while ringing: to voicemail, missed for the line.
    let c2 = ring(addr, "0611111111", "1003");
    listed(&dir, &sys, addr, "1003", &c2, "SETUP");
    let (code, _, err) = call(&dir, &sys, &["reject", &c2]);
    assert_eq!(code, Some(0), "{err}");
    gone(&dir, &sys, addr, "1003", &c2);
    assert_eq!(kind(&dir, &sys, &c2), "missed");
}

/// An answered call transferred to 1004: a call that replaces it rings there, and the history says where it went.
#[test]
fn an_answered_call_is_transferred() {
    let dir = TempDir::new("control-sim");
    let (_srv, addr, sys) = setup(&dir);

    // Transferred once answered: the caller now rings at 1004, a call
    // that replaces this one; this line's part is over.
    let c3 = ring(addr, "0622222222", "1003");
    listed(&dir, &sys, addr, "1003", &c3, "SETUP");
    let (code, _, err) = call(&dir, &sys, &["transfer", &c3, "1004"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("HTTP 409: only an answered call can be transferred"),
        "{err}"
    );
    call(&dir, &sys, &["answer", &c3]);
    listed(&dir, &sys, addr, "1003", &c3, "CONNECT");
    let (code, _, err) = call(&dir, &sys, &["transfer", &c3, "1004", "--side", "caller"]);
    assert_eq!(code, Some(0), "{err}");
    gone(&dir, &sys, addr, "1003", &c3);
    let moved = replacing(&dir, &sys, addr, "1004", &c3);
    assert_eq!(moved["caller"], "0622222222");
    assert_eq!(moved["state"], "SETUP");
    // The history of 1003 says where the call went.
    let history = |json: bool| {
        let mut cmd = ctibridge(&dir);
        cmd.arg("--sys-dir")
            .arg(&sys)
            .args(["--station", "samples/station.txt", "history"]);
        if json {
            cmd.arg("--json");
        }
        text(&cmd.output().expect("history").stdout)
    };
    let record: Value = history(true)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["callref"] == c3.as_str())
        .expect("the transferred call in the history");
    assert_eq!(record["replaced_by"]["line"], "1004", "{record}");
    assert_eq!(
        record["replaced_by"]["callref"], moved["callref"],
        "{record}"
    );
    let shown = history(false);
    assert!(
        shown
            .lines()
            .any(|l| l.contains("0622222222 → 1003") && l.contains("taken over by 1004")),
        "{shown}"
    );
    assert_eq!(kind(&dir, &sys, &c3), "received");
}

/// A call parked on a slot (taken while it waits), taken back, paused on the line's own slot, hung up from the park.
#[test]
fn a_call_is_parked_taken_back_and_paused() {
    let dir = TempDir::new("control-sim");
    let (_srv, addr, sys) = setup(&dir);

    // Parked in the call park's first free slot, taken back, paused on
    // the line's own slot, hung up from the park.
    let c4 = ring(addr, "0633333333", "1003");
    listed(&dir, &sys, addr, "1003", &c4, "SETUP");
    let (code, _, err) = call(&dir, &sys, &["park", &c4]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("only an answered call can be parked"), "{err}");
    call(&dir, &sys, &["answer", &c4]);
    listed(&dir, &sys, addr, "1003", &c4, "CONNECT");
    let (code, _, err) = call(&dir, &sys, &["park", &c4, "--slot", "7"]);
    assert_eq!(code, Some(0), "{err}");
    let parked = listed(&dir, &sys, addr, "1003", &c4, "PARKED");
    assert_eq!(parked["park_slot"], "7");
    let (_, shown, _) = call(&dir, &sys, &["list"]);
    assert!(
        shown.contains(&format!("{c4}  parked (slot 7)  0633333333 → 1003")),
        "{shown}"
    );
    // Slot 7 is taken while it waits there.
    let c5 = ring(addr, "0644444444", "1003");
    listed(&dir, &sys, addr, "1003", &c5, "SETUP");
    call(&dir, &sys, &["answer", &c5]);
    listed(&dir, &sys, addr, "1003", &c5, "CONNECT");
    let (code, _, err) = call(&dir, &sys, &["park", &c5, "--slot", "7"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("park slot 7 is taken"), "{err}");
    call(&dir, &sys, &["hangup", &c5]);
    let (code, _, err) = call(&dir, &sys, &["unpark", &c4]);
    assert_eq!(code, Some(0), "{err}");
    listed(&dir, &sys, addr, "1003", &c4, "CONNECT");
    let (code, _, err) = call(&dir, &sys, &["pause", &c4]);
    assert_eq!(code, Some(0), "{err}");
    let paused = listed(&dir, &sys, addr, "1003", &c4, "PARKED");
    assert_eq!(paused["park_slot"], "1003");
    let (code, _, err) = call(&dir, &sys, &["hangup", &c4]);
    assert_eq!(code, Some(0), "{err}");
    gone(&dir, &sys, addr, "1003", &c4);
    assert_eq!(kind(&dir, &sys, &c4), "received");
}

/// A supervised transfer called off when 1004 does not answer in time, done when it does.
#[test]
fn a_supervised_transfer_is_called_off_then_done() {
    let dir = TempDir::new("control-sim");
    let (_srv, addr, sys) = setup(&dir);

    // A supervised transfer: 1004 rings; called off when it does not
    // answer within the timer (the call goes on), done when it does.
    let c6 = ring(addr, "0655555555", "1003");
    listed(&dir, &sys, addr, "1003", &c6, "SETUP");
    call(&dir, &sys, &["answer", &c6]);
    listed(&dir, &sys, addr, "1003", &c6, "CONNECT");
    let (code, _, err) = call(
        &dir,
        &sys,
        &["supervised-transfer", &c6, "1004", "--timer", "1"],
    );
    assert_eq!(code, Some(0), "{err}");
    let consult = replacing(&dir, &sys, addr, "1004", &c6);
    gone(
        &dir,
        &sys,
        addr,
        "1004",
        consult["callref"].as_str().expect("callref"),
    );
    listed(&dir, &sys, addr, "1003", &c6, "CONNECT");
    let (code, _, err) = call(
        &dir,
        &sys,
        &["supervised-transfer", &c6, "1004", "--timer", "0"],
    );
    assert_eq!(code, Some(0), "{err}");
    let consult = replacing(&dir, &sys, addr, "1004", &c6);
    let consult = consult["callref"].as_str().expect("callref").to_owned();
    let (code, _, err) = call(&dir, &sys, &["answer", &consult, "--line", "1004"]);
    assert_eq!(code, Some(0), "{err}");
    gone(&dir, &sys, addr, "1003", &c6);
    listed(&dir, &sys, addr, "1004", &consult, "CONNECT");
}

/// Two answered calls merged: their callers talk together.
#[test]
fn two_answered_calls_are_merged() {
    let dir = TempDir::new("control-sim");
    let (_srv, addr, sys) = setup(&dir);

    // Two answered calls merged: their callers talk together, the line
    // leaves both.
    let c7 = ring(addr, "0677777777", "1003");
    let c8 = ring(addr, "0688888888", "1003");
    for c in [&c7, &c8] {
        listed(&dir, &sys, addr, "1003", c, "SETUP");
        call(&dir, &sys, &["answer", c]);
        listed(&dir, &sys, addr, "1003", c, "CONNECT");
    }
    let (code, _, err) = call(&dir, &sys, &["merge", &c7, &c8, "--side2", "caller"]);
    assert_eq!(code, Some(0), "{err}");
    gone(&dir, &sys, addr, "1003", &c7);
    gone(&dir, &sys, addr, "1003", &c8);
    let merged = replacing(&dir, &sys, addr, "0688888888", &c7);
    assert_eq!(merged["caller"], "0677777777");
    assert_eq!(merged["state"], "CONNECT");
}

/// The line's own settings: auto-answer, subscriptions, a message.
#[test]
fn the_lines_own_settings_are_read_and_changed() {
    let dir = TempDir::new("control-sim");
    let (_srv, _, sys) = setup(&dir);

    // The line's own settings: auto-answer, subscriptions, a message.
    let (_, out, _) = call(&dir, &sys, &["auto-answer"]);
    assert_eq!(out.trim(), "auto-answer on");
    let (code, _, err) = call(&dir, &sys, &["auto-answer", "off"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, out, _) = call(&dir, &sys, &["auto-answer"]);
    assert_eq!(out.trim(), "auto-answer off");
    for n in ["callpark", "0972101011"] {
        let (code, _, err) = call(&dir, &sys, &["subscribe", n]);
        assert_eq!(code, Some(0), "{err}");
    }
    let (_, out, _) = call(&dir, &sys, &["subscriptions"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["0972101011", "callpark"]);
    call(&dir, &sys, &["unsubscribe", "callpark"]);
    let (_, out, _) = call(&dir, &sys, &["subscriptions", "--json"]);
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["numbers"], serde_json::json!(["0972101011"]));
    let (code, out, err) = call(&dir, &sys, &["message", "1004", "On se rappelle ?"]);
    assert_eq!((code, out.trim()), (Some(0), "message: done"), "{err}");
    let (code, _, err) = call(&dir, &sys, &["subscribe", "not a number"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("HTTP 400: number:"), "{err}");
}

/// Through a provider that cannot act on calls (Keyyo's HTTP API): 501,
/// naming the provider and the operation; the list still works.
#[test]
fn a_provider_that_cannot_act_on_calls_says_so() {
    let dir = TempDir::new("control-keyyo");
    let addr = free_addr();
    let file = dir.write(
        "server_param.txt",
        "<server>\n<global>\n<provider>keyyo\n<station>\n<telorg>33972101010\n\
         <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n",
    );
    let mut cmd = ctibridge(&dir);
    cmd.args(["serve", "--listen", &addr.to_string(), "--server"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _srv = listening(cmd, addr);
    dir.write(
        "clicktocall_param.txt",
        &format!(
            "<global>\n<provider>keyyo\n<events_url>http://{addr}/DhDivaltoServerCTI/api/cti\n"
        ),
    );
    dir.write(
        "station.txt",
        "<ident>paul\n<event_token>paul-desk-secret\n<telorg>33972101010\n",
    );
    let run = |args: &[&str]| {
        let out = common::with_files(&dir)
            .arg("call")
            .args(args)
            .output()
            .expect("call");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, _, err) = run(&["answer", "k1"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("HTTP 501: provider keyyo cannot `answer` through the bridge server"),
        "{err}"
    );
    let (code, _, err) = run(&["auto-answer", "off"]);
    assert_eq!(code, Some(5), "{err}");
    assert!(
        err.contains("HTTP 501: provider keyyo cannot `auto-answer` through the bridge server"),
        "{err}"
    );
    let (code, out, err) = run(&["list"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "no call under way");
}
