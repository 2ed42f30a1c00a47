//! `ctibridge serve --sim` end to end on 127.0.0.1, with the station side
//! run from the repository's sample param file (only its port changed: the
//! test cannot count on 8082 being free).

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{ctibridge, free_addr, listening, text, with_files, Server, TempDir};
use serde_json::Value;

/// `ctibridge serve --listen ADDR ARGS…`, once it accepts connections.
fn serve(dir: &TempDir, addr: SocketAddr, args: &[&std::ffi::OsStr]) -> Server {
    serve_with(dir, addr, args, &[])
}

/// [`serve`] with environment variables.
fn serve_with(
    dir: &TempDir,
    addr: SocketAddr,
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> Server {
    let mut cmd = ctibridge(dir);
    cmd.envs(env.iter().copied())
        .args(["serve", "--listen", &addr.to_string()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    listening(cmd, addr)
}

/// SIGTERM, then the exit code within 5 s (the hold time is longer: held
/// polls must not delay the stop).
fn stop_gracefully(mut srv: Server) -> Option<i32> {
    let pid = srv.0.id() as i32;
    // SAFETY: kill(2) on the pid of our own child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if let Ok(Some(status)) = srv.0.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The sample files in a sys folder, pointed at `addr`.
fn sample_sys(dir: &TempDir, addr: SocketAddr) -> std::path::PathBuf {
    let sys = dir.path().join("sys");
    std::fs::create_dir_all(&sys).expect("mkdir");
    let param = std::fs::read_to_string("samples/clicktocall_param.txt").expect("sample");
    std::fs::write(
        sys.join("clicktocall_param.txt"),
        param.replace("localhost:8082", &addr.to_string()),
    )
    .expect("write");
    std::fs::copy("samples/tapi_param.txt", sys.join("tapi_param.txt")).expect("copy");
    sys
}

#[test]
fn the_sample_file_dials_and_watches_through_the_simulator() {
    let addr = free_addr();
    let dir = TempDir::new("serve");
    let _srv = serve(&dir, addr, &["--sim".as_ref()]);
    let sys = sample_sys(&dir, addr);
    let station = std::path::Path::new("samples/station.txt");

    // An incoming call is injected first: a station starting now still
    // gets a call that is ringing.
    let out = ctibridge(&dir)
        .args(["sim", "call", "Dupont", "1003", "--url"])
        .arg(format!("http://{addr}"))
        .output()
        .expect("sim call");
    assert_eq!(out.status.code(), Some(3), "not a number: nothing sent");
    let out = ctibridge(&dir)
        .args(["sim", "call", "03 88 20 20 20", "1003", "--url"])
        .arg(format!("http://{addr}"))
        .output()
        .expect("sim call");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let mut watch = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .arg("--station")
        .arg(station)
        .args(["watch", "--json", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    let _ = watch.kill();
    let _ = watch.wait();
    let line = line.expect("a call event");
    let ev: Value = serde_json::from_str(&line).expect("json");
    assert_eq!(ev["kind"], "ring");
    assert_eq!(ev["caller"], "0388202020");
    assert_eq!(ev["screen_pop"], true);
    // The sample reads the call's identity the server sends (two calls
    // from one number are two calls), and the ring's time is the event's:
    // the call rang before this desk started, not when it read it.
    assert!(ev["call_id"].is_string(), "{line}");
    let (setup, at) = (ev["setup_at"].as_str(), ev["at"].as_str());
    assert!(setup.is_some() && setup < at, "{line}");

    // The dial request of the sample reaches the simulator.
    let out = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .arg("--station")
        .arg(station)
        .args(["dial", "0388202020"])
        .output()
        .expect("dial");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // One line says the call is placed, and to which number as sent.
    assert_eq!(
        text(&out.stdout).trim(),
        "call placed to 0388202020 (answered HTTP 200)"
    );
}

/// `dial` with no bridge server running says what to do next.
#[test]
fn a_dial_with_the_bridge_server_down_says_to_start_it() {
    let dir = TempDir::new("serve-down");
    let sys = sample_sys(&dir, free_addr());
    let out = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .args(["--station", "samples/station.txt", "dial", "0388202020"])
        .output()
        .expect("dial");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("nothing was dialled"), "{err}");
    assert!(
        err.contains("start the bridge server (`ctibridge serve`"),
        "{err}"
    );
}

/// A plain HTTP/1.1 request; returns status and body.
fn http(addr: SocketAddr, method: &str, target: &str, auth: &str) -> (u16, String) {
    common::exchange(
        TcpStream::connect(addr).expect("connect"),
        &format!(
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// A server started on `text` as its server file (`server_param.txt`).
fn serve_file(dir: &TempDir, text: &str) -> (Server, SocketAddr) {
    dir.write("server_param.txt", text);
    let addr = free_addr();
    let file = dir.path().join("server_param.txt");
    (
        serve(dir, addr, &["--server".as_ref(), file.as_os_str()]),
        addr,
    )
}

/// A token for desk `paul` (secret `paul-desk-secret`).
fn token(addr: SocketAddr) -> String {
    token_of(addr, "Basic cGF1bDpwYXVsLWRlc2stc2VjcmV0")
}

/// A token for the desk of `basic` (`Basic base64(ident:secret)`).
fn token_of(addr: SocketAddr, basic: &str) -> String {
    let (status, body) = http(addr, "GET", "/DhDivaltoServerCTI/api/cti/gettoken", basic);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    format!("Bearer {}", v["token"].as_str().expect("token"))
}

#[test]
fn the_journal_survives_a_restart_and_a_station_resumes_with_its_cursor() {
    let addr = free_addr();
    let dir = TempDir::new("serve-journal");
    let journal = dir.path().join("journal.sqlite");
    // Empty polls held 10 s: longer than a stop may take.
    let args: [&std::ffi::OsStr; 5] = [
        "--sim".as_ref(),
        "--hold".as_ref(),
        "10".as_ref(),
        "--journal".as_ref(),
        journal.as_os_str(),
    ];
    let start = |dir: &TempDir| serve(dir, addr, &args);
    // This first server tells on stderr (-vv) when a poll waits.
    let (srv, waiting) = {
        use std::io::BufRead as _;
        let mut cmd = ctibridge(&dir);
        cmd.args(["-vv", "serve", "--listen", &addr.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut srv = common::listening(cmd, addr);
        let stderr = srv.0.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("getevent: waiting for events")
                    && line.contains("cursor=18446744073709551615")
                {
                    let _ = tx.send(());
                }
            }
        });
        (srv, rx)
    };
    let auth = token(addr);
    let ev = "/DhDivaltoServerCTI/api/cti/getevent?ident=paul&telorg=1003";
    // A station that sends its cursor: 0 on a new server.
    let cursor = "0".to_owned();
    // While it is away, a call rings out unanswered.
    let (st, _) = http(
        addr,
        "POST",
        "/sim/call?from=0388202020&to=1003&answer=0",
        "none",
    );
    assert_eq!(st, 200);
    // Back with its cursor: RING, then (after the ring time) RELEASE.
    let mut seen = Vec::new();
    let mut cur = cursor;
    let end = Instant::now() + Duration::from_secs(15);
    while seen.len() < 2 && Instant::now() < end {
        let (st, body) = http(addr, "GET", &format!("{ev}&cursor={cur}"), &auth);
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        for e in v["events"].as_array().expect("events") {
            seen.push(e["event"].as_str().unwrap_or("?").to_owned());
        }
        cur = v["cursor"].as_str().expect("cursor").to_owned();
    }
    assert_eq!(seen, ["RING", "RELEASE"]);
    // Bad and missing tokens are refused.
    assert_eq!(http(addr, "GET", ev, "Bearer forged").0, 401);
    // A poll held while the server is asked to stop: answered at once, and
    // the server exits cleanly once the journal is written.
    let held_auth = auth.clone();
    let held = std::thread::spawn(move || {
        let t = Instant::now();
        let (st, _) = http(
            addr,
            "GET",
            &format!("{ev}&cursor=18446744073709551615"),
            &held_auth,
        );
        (st, t.elapsed())
    });
    // Once the server holds it.
    waiting
        .recv_timeout(Duration::from_secs(30))
        .expect("the poll is held");
    let stopped = stop_gracefully(srv);
    assert_eq!(stopped, Some(0), "serve exits 0 on SIGTERM");
    let (st, took) = held.join().expect("held poll");
    assert_eq!(st, 200);
    assert!(
        took < Duration::from_secs(5),
        "the held poll was answered at the stop"
    );

    // After a restart, the journal still has the missed call.
    let _srv = start(&dir);
    let auth = token(addr);
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/history?telorg=1003&kind=missed",
        &auth,
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let calls = v["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "{body}");
    assert_eq!(calls[0]["tel"], "0388202020");
    assert_eq!(calls[0]["state"], "missed");
    assert!(calls[0]["ringing_ms"].as_i64().is_some());

    // The station still has its cursor of the first run: the new run's
    // first call reaches it (the new run's numbers are above the old).
    let (st, _) = http(
        addr,
        "POST",
        "/sim/call?from=0388202021&to=1003&answer=0",
        "none",
    );
    assert_eq!(st, 200);
    let (st, body) = http(addr, "GET", &format!("{ev}&cursor={cur}"), &auth);
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let events = v["events"].as_array().expect("events");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "RING" && e["tel"] == "0388202021"),
        "the call after the restart was not given to the station's old cursor {cur}: {body}"
    );
}

#[test]
fn keyyo_notifications_reach_a_station_and_forged_ones_leave_no_trace() {
    let addr = free_addr();
    let dir = TempDir::new("serve-keyyo");
    let secret = "0123456789abcdef-secret";
    let _srv = serve_with(
        &dir,
        addr,
        &["--sim", "--hold", "1"].map(std::ffi::OsStr::new),
        &[("CTIBRIDGE_KEYYO_SECRET", secret)],
    );
    let notify = |params: &str| http(addr, "GET", &format!("/keyyo/notify?{params}"), "none").0;
    let good = format!(
        "secret={secret}&account=33972101010&caller=33388202020&callee=33972101010&callref=777&type=SETUP&version=1&dref=1&dref_replace=&session=&is_acd=0&redirecting=&tsms=1700000000000"
    );
    // Forged and malformed: refused, nothing published or journaled.
    assert_eq!(notify(&good.replace(secret, "not-the-secret-at-all")), 403);
    assert_eq!(notify(&good.replace("type=SETUP", "type=RINGING")), 400);
    assert_eq!(
        notify(&good.replace("caller=33388202020", "caller=3338%208")),
        400
    );
    assert_eq!(notify(&good.replace("tsms=1700000000000", "tsms=17")), 400);
    // The real one, twice: the repeat is ignored.
    assert_eq!(notify(&good), 200);
    assert_eq!(notify(&good), 200);

    // A station with the Keyyo profile polls the bridge server.
    dir.write(
        "clicktocall_param.txt",
        &format!(
            "<global>\n<provider>keyyo\n<events_url>http://{addr}/DhDivaltoServerCTI/api/cti\n"
        ),
    );
    dir.write("station.txt", "<telorg>33972101010\n<ident>desk1\n");
    let out = with_files(&dir)
        .args(["watch", "--json", "--once", "--for", "20"])
        .output()
        .expect("watch");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["kind"], "ring");
    // In national form, as the OVH profiles pop it and a French ERP stores it.
    assert_eq!(lines[0]["caller"], "0388202020");
    assert_eq!(lines[0]["call_id"], "777");

    // The journal has that one call, nothing from the refused ones.
    let auth = token(addr);
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/history?telorg=33972101010",
        &auth,
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["calls"].as_array().map(Vec::len), Some(1), "{body}");
}

/// A desk's line written nationally receives Keyyo's notifications for
/// that line (Keyyo writes it 33…), whatever form the desk polls with, and
/// the caller reaches it in national form.
#[test]
fn a_line_written_in_any_form_receives_its_calls() {
    let dir = TempDir::new("serve-line-forms");
    let secret = "0123456789abcdef-secret";
    let (_srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<simulator>1\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>03 88 20 20 20|1003\n"
        ),
    );
    let notify = format!(
        "/keyyo/notify?secret={secret}&account=33388202020&caller=33612345678&callee=33388202020&callref=42&type=SETUP&version=1&tsms=1700000000000"
    );
    assert_eq!(http(addr, "GET", &notify, "none").0, 200);
    let auth = token(addr);
    for telorg in [
        "0388202020",
        "%2B33%203%2088%2020%2020%2020",
        "33388202020",
        "0033388202020",
    ] {
        let (st, body) = http(
            addr,
            "GET",
            &format!("/DhDivaltoServerCTI/api/cti/getevent?ident=paul&telorg={telorg}&cursor=0"),
            &auth,
        );
        assert_eq!(st, 200, "{telorg}: {body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            v["events"].as_array().map(Vec::len),
            Some(1),
            "{telorg}: {body}"
        );
        assert_eq!(v["event"], "RING", "{body}");
        assert_eq!(v["tel"], "0612345678", "{body}");
        assert_eq!(v["called"], "0388202020", "{body}");
    }
    // Another line of the same account is not this desk's.
    let (st, _) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/getevent?ident=paul&telorg=0388202021&cursor=0",
        &auth,
    );
    assert_eq!(st, 403);
    // A telorg that is no number is refused, saying why.
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/getevent?ident=paul&telorg=%2B33612345678901234&cursor=0",
        &auth,
    );
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("too long"), "{body}");
    // The journal keeps the call under the line, whatever form asks.
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/history?telorg=%2B33388202020",
        &auth,
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let calls = v["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "{body}");
    assert_eq!(calls[0]["tel"], "0612345678");
    assert_eq!(calls[0]["line"], "0388202020");
}

#[test]
fn setevent_dials_through_the_keyyo_profile_exactly_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    // A Keyyo that trusts this machine's address.
    let placed = Arc::new(AtomicUsize::new(0));
    let p = placed.clone();
    let keyyo = common::StandIn::start(move |r: &common::Recorded| {
        if r.target
            .starts_with("/makecall.html?ACCOUNT=33972101010&CALLEE=33388202020")
        {
            p.fetch_add(1, Ordering::SeqCst);
            (200, "OK".into())
        } else {
            (200, "KO: unexpected".into())
        }
    });
    let dir = TempDir::new("serve-dial");
    // The server file: the Keyyo profile, the account, one desk.
    let (_srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<hold>1\n<global>\n<provider>keyyo\n<api_url>{}\n<station>\n<telorg>33972101010\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n",
            keyyo.url("")
        ),
    );
    let auth = token(addr);
    let (st, body) = http(
        addr,
        "POST",
        "/DhDivaltoServerCTI/api/cti/setevent?ident=paul&telorg=33972101010&tel=0388202020&cmdevent=DIAL",
        &auth,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(placed.load(Ordering::SeqCst), 1);
    assert_eq!(keyyo.requests().len(), 1);
    // The health report reaches the provider's host (a connection, no
    // request), and the dial is counted.
    let (st, body) = get_with(addr, "/healthz", "");
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let host = keyyo
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        v["provider"]["detail"],
        format!("{host} reachable"),
        "{body}"
    );
    assert_eq!(keyyo.requests().len(), 1, "the health check places nothing");
    let (_, text) = get_with(addr, "/metrics", "");
    assert_eq!(
        sample(&text, "ctibridge_dials_total{outcome=\"placed\"}"),
        Some(1.0),
        "{text}"
    );
    // No token, no dial.
    let (st, _) = http(
        addr,
        "POST",
        "/DhDivaltoServerCTI/api/cti/setevent?ident=paul&telorg=33972101010&tel=0388202020&cmdevent=DIAL",
        "Bearer nope",
    );
    assert_eq!(st, 401);
    // A line that is not the desk's: refused, nothing dialled.
    let (st, body) = http(
        addr,
        "POST",
        "/DhDivaltoServerCTI/api/cti/setevent?ident=paul&telorg=33972101011&tel=0388202020&cmdevent=DIAL",
        &auth,
    );
    assert_eq!(st, 403, "{body}");
    assert_eq!(keyyo.requests().len(), 1);
    // A wrong secret gets no token.
    let (st, _) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken",
        "Basic cGF1bDp3cm9uZy1zZWNyZXQ=",
    );
    assert_eq!(st, 401);
}

#[test]
fn setevent_dials_through_the_ovh_profile_signed_and_once() {
    use std::sync::atomic::Ordering;
    // The OVH API checks the signature, the path and both numbers in
    // OVH's form (0033…).
    let ovh = common::ovh::api();
    let dir = TempDir::new("serve-dial-ovh");
    // The desk's line written nationally, as its stations know it.
    let (_srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<hold>1\n<global>\n<provider>ovh\n<api_url>{}\n<station>\n{}\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>0972101010\n",
            ovh.srv.url("/1.0"),
            common::ovh::station()
        ),
    );
    let auth = token(addr);
    let (st, body) = http(
        addr,
        "POST",
        "/DhDivaltoServerCTI/api/cti/setevent?ident=paul&telorg=0972101010&tel=03%2088%2020%2020%2020&cmdevent=DIAL",
        &auth,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(ovh.dials.load(Ordering::SeqCst), 1);
    // Not a number: refused, nothing sent.
    let (st, body) = http(
        addr,
        "POST",
        "/DhDivaltoServerCTI/api/cti/setevent?ident=paul&telorg=0972101010&tel=mailto:x&cmdevent=DIAL",
        &auth,
    );
    assert_eq!(st, 400, "{body}");
    assert!(
        body.contains("tel: `mailto:` links are not phone numbers"),
        "{body}"
    );
    // OVH's time asked once, then one signed click2Call.
    let targets: Vec<String> = ovh
        .srv
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(
        targets,
        [
            "/1.0/auth/time".to_owned(),
            format!(
                "/1.0/telephony/{}/line/0033972101010/click2Call",
                common::ovh::ACCOUNT
            )
        ]
    );
}

/// One OVH v1 event (seed 001's shape) for `line`.
fn ovh_event(name: &str, line: &str, calling: &str, call_id: &str) -> Value {
    serde_json::json!({
        "Event": name, "Token": "evt-token-1", "Service": "sip", "Ressource": line,
        "Timestamp": 1_700_000_000_000_000_000u64, "Date": "2026-11-23T10:00:00Z",
        "Data": {"Calling": calling, "Called": line, "Dialed": line, "CallId": call_id, "Ts": "1", "Protocol": "sip"},
        "Details": {"Type": "line", "Description": "", "SimultaneousLine": "1"}
    })
}

#[test]
fn the_ovh_relay_polls_once_and_each_desk_sees_only_its_lines() {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    // OVH's events of the billing account: two lines, one poll stream.
    let answers: Arc<Mutex<VecDeque<Vec<Value>>>> = Arc::new(Mutex::new(
        vec![
            vec![ovh_event("registered", "0033972101010", "", "")],
            vec![
                ovh_event("start_ringing", "0033972101010", "0033388202020", "c1"),
                ovh_event("start_ringing", "0033972101011", "0033611223344", "c2"),
            ],
            vec![ovh_event(
                "end_ringing",
                "0033972101010",
                "0033388202020",
                "c1",
            )],
        ]
        .into(),
    ));
    let polls = Arc::new(Mutex::new(Vec::<String>::new()));
    let (a, p) = (answers.clone(), polls.clone());
    let ovh = common::StandIn::start(move |r: &common::Recorded| {
        p.lock().expect("polls").push(r.target.clone());
        if !r.target.starts_with("/?token=evt-token-1") {
            return (403, "Invalid token".into());
        }
        let events = a.lock().expect("answers").pop_front().unwrap_or_else(|| {
            // An empty poll is held, as OVH holds it about 60 s.
            std::thread::sleep(Duration::from_millis(300));
            Vec::new()
        });
        let body = serde_json::json!({"Session": "s-1", "Message": "", "Events": events});
        (200, body.to_string())
    });
    let dir = TempDir::new("serve-relay");
    dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<relay>1\n<hold>2\n<journal>journal.sqlite\n\
             <global>\n<provider>ovh\n<events_url>{}\n\
             <station>\n<account>ab12345-ovh-1\n<event_token>evt-token-1\n<app_key>k\n<app_secret>s\n<consumer_key>c\n\
             <desk>\n<ident>accueil\n<secret>secret-accueil\n<lines>0972101010\n\
             <desk>\n<ident>compta\n<secret>secret-compta\n<lines>0033972101011\n",
            ovh.url("")
        ),
    );
    let addr = free_addr();
    let file = dir.path().join("server_param.txt");
    let out = ctibridge(&dir)
        .args(["check", "--server"])
        .arg(&file)
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("relay          on"));
    let _srv = serve(&dir, addr, &["--server".as_ref(), file.as_os_str()]);

    // Desk "accueil" runs the Divalto sample file unchanged (port aside),
    // its user and password being its ident and secret on the server.
    let sys = sample_sys(&dir, addr);
    dir.write(
        "accueil.txt",
        "<user>accueil\n<mdp>secret-accueil\n<ident>accueil\n<telorg>0972101010\n",
    );
    let out = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .arg("--station")
        .arg(dir.path().join("accueil.txt"))
        .args(["watch", "--json", "--for", "6"])
        .output()
        .expect("watch");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let evs: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let kinds: Vec<(&str, &str)> = evs
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("?"),
                e["caller"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    // Its own line's call, rung then missed; nothing of the other line.
    assert_eq!(
        kinds,
        [("ring", "0388202020"), ("missed", "0388202020")],
        "{evs:?}"
    );

    // The other desk: its line only.
    let basic = |user: &str, pass: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    };
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken",
        &basic("compta", "secret-compta"),
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let auth = format!("Bearer {}", v["token"].as_str().expect("token"));
    let (st, _) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/getevent?ident=compta&telorg=0972101010&cursor=0",
        &auth,
    );
    assert_eq!(st, 403, "not its line");
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/getevent?ident=compta&telorg=0972101011&cursor=0",
        &auth,
    );
    assert_eq!(st, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    let events = v["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(events[0]["event"], "RING");
    assert_eq!(events[0]["tel"], "0611223344");

    // One stream of polls to OVH for both desks, the session carried.
    let polls = polls.lock().expect("polls").clone();
    assert!(polls.len() >= 3, "{polls:?}");
    assert_eq!(polls[1], "/?token=evt-token-1&session=s-1");

    // The journal has the missed call on the first line.
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken",
        &basic("accueil", "secret-accueil"),
    );
    assert_eq!(st, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    let auth = format!("Bearer {}", v["token"].as_str().expect("token"));
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/history?telorg=0972101010&kind=missed",
        &auth,
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["calls"].as_array().map(Vec::len), Some(1), "{body}");
    // A wrong secret gets no token, with a Basic challenge.
    let (st, _) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken",
        &basic("accueil", "secret-compta"),
    );
    assert_eq!(st, 401);
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use std::io::{Read as _, Write as _};
    let addr = free_addr();
    let dir = TempDir::new("serve-slow");
    let _srv = serve(&dir, addr, &["--sim".as_ref()]);
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET /DhDivaltoServerCTI/api/cti/gettoken HTTP/1.1\r\nHost: x\r\n")
        .expect("send");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let t = Instant::now();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    // Closed by the server (10 s header limit), not by our 30 s read timeout.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    // A complete request on a new connection is still served.
    let (st, _) = http(addr, "GET", "/DhDivaltoServerCTI/api/cti/gettoken", "none");
    assert_eq!(st, 200);
}

/// The Keyyo secret is never printed by `serve` (its output ends up in a
/// service's logs) nor taken on the command line; `check --server
/// --show-secret` shows it when asked. A server file that holds secrets and
/// others can read is warned about; the journal is its owner's only.
#[cfg(unix)]
#[test]
fn the_keyyo_secret_stays_out_of_outputs_and_the_process_list() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new("serve-secret");
    let secret = "0123456789abcdef-very-secret";
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<public_url>https://cti.example.com\n\
             <keyyo_notify>\n<secret>{secret}\n<desk>\n<ident>paul\n<secret>changeme-desk\n<lines>1003\n"
        ),
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let check = |extra: &[&str]| {
        ctibridge(&dir)
            .args(["check", "--server"])
            .arg(&file)
            .args(extra)
            .output()
            .expect("check")
    };
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("this file holds secrets and other users can read it"),
        "{stderr}"
    );
    assert!(!text(&out.stdout).contains(secret) && !stderr.contains(secret));
    let shown = check(&["--show-secret"]);
    assert!(
        text(&shown.stdout).contains(&format!("/keyyo/notify?secret={secret}&")),
        "{}",
        text(&shown.stdout)
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(!text(&check(&[]).stderr).contains("other users can read"));

    // serve prints the URL with the secret masked.
    let addr = free_addr();
    let mut cmd = ctibridge(&dir);
    cmd.args(["serve", "--listen", &addr.to_string(), "--server"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The URL is printed before the server listens: it waits in the pipe.
    let mut srv = listening(cmd, addr);
    let mut lines = BufReader::new(srv.0.stdout.take().expect("stdout")).lines();
    let url = lines
        .find_map(|l| l.ok().filter(|l| l.contains("/keyyo/notify")))
        .expect("the URL is printed");
    assert!(
        url.starts_with("https://cti.example.com/keyyo/notify?secret=********&"),
        "{url}"
    );
    let mode = std::fs::metadata(dir.path().join("journal.sqlite"))
        .expect("journal")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "journal mode {mode:o}");
    drop(srv);

    // A secret on the command line is refused, saying where it goes.
    let out = ctibridge(&dir)
        .args(["serve", "--sim", "--keyyo-secret", secret])
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("CTIBRIDGE_KEYYO_SECRET"),
        "{}",
        text(&out.stderr)
    );
}

/// `serve --sim ARGS` with an open-file limit of `files` descriptors,
/// its stderr kept ([`stderr_of`]).
#[cfg(unix)]
fn serve_limited(dir: &TempDir, addr: SocketAddr, args: &[&str], files: u64) -> Server {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = ctibridge(dir);
    cmd.args(["serve", "--sim", "--listen", &addr.to_string()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit(2) in the child before exec, nothing else.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: files,
                rlim_max: files,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    listening(cmd, addr)
}

/// What a server said on stderr, once stopped.
fn stderr_of(mut srv: Server) -> String {
    use std::io::Read as _;
    let _ = srv.0.kill();
    let mut stderr = String::new();
    if let Some(mut e) = srv.0.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    stderr
}

/// A flood of idle connections (more than the server has file
/// descriptors) does not keep a desk out: the connections idle the longest
/// are closed to make room (that a connection in a request is never
/// closed is tested on the registry itself, `server::connections`).
#[cfg(unix)]
#[test]
fn a_flood_of_idle_connections_does_not_keep_desks_out() {
    let dir = TempDir::new("serve-flood");
    let addr = free_addr();
    let srv = serve_limited(&dir, addr, &[], 128);
    // 200 connections that say nothing (the server has 128 descriptors).
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    // Each one was accepted (and the oldest closed) before this one is.
    for _ in 0..3 {
        let (st, body) = http(
            addr,
            "GET",
            "/DhDivaltoServerCTI/api/cti/gettoken?ident=desk",
            "none",
        );
        assert_eq!(st, 200, "{body}");
    }
    drop(idle);
    let stderr = stderr_of(srv);
    assert!(!stderr.contains("Too many open files"), "{stderr}");
}

/// A flood of `gettoken` with made-up idents (any desk of this machine is
/// welcome without `<desk>`) recycles the oldest tokens: a real desk that
/// comes after it still gets one.
#[test]
fn a_flood_of_gettoken_does_not_lock_a_desk_out() {
    use std::io::Write as _;

    let dir = TempDir::new("serve-token-flood");
    let (_srv, addr) = serve_file(&dir, "<server>\n<simulator>1\n<rate>1000000\n<hold>1\n");
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut conn = BufReader::new(stream);
    let mut refused = 0;
    for i in 0..10_050 {
        let req = format!(
            "GET /DhDivaltoServerCTI/api/cti/gettoken?ident=filler{i} HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        conn.get_mut().write_all(req.as_bytes()).expect("send");
        let mut status = String::new();
        conn.read_line(&mut status).expect("status");
        if !status.starts_with("HTTP/1.1 200") {
            refused += 1;
        }
        let mut length = 0;
        loop {
            let mut h = String::new();
            conn.read_line(&mut h).expect("header");
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        std::io::Read::read_exact(&mut conn, &mut body).expect("body");
    }
    assert_eq!(refused, 0, "no newcomer is refused");
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken?ident=accueil",
        "none",
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let auth = format!("Bearer {}", v["token"].as_str().expect("token"));
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/getevent?ident=accueil&telorg=1003&cursor=0",
        &auth,
    );
    assert_eq!(st, 200, "{body}");
}

/// The documented 16 KB body limit holds, declared or sent in chunks.
#[test]
fn a_body_over_16_kb_is_refused() {
    use std::io::{Read as _, Write as _};
    let dir = TempDir::new("serve-body");
    let (_srv, addr) = serve_file(&dir, "<server>\n<simulator>1\n");
    let ask = |head: &str, body: &[u8]| {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(head.as_bytes()).expect("head");
        let _ = s.write_all(body);
        let mut raw = String::new();
        let _ = s.read_to_string(&mut raw);
        raw.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
    };
    let path = "/DhDivaltoServerCTI/api/cti/gettoken?ident=desk";
    let big = vec![b'x'; 20 * 1024];
    let declared = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        big.len()
    );
    assert_eq!(ask(&declared, &big), Some(413));
    let mut chunked = format!("{:x}\r\n", big.len()).into_bytes();
    chunked.extend_from_slice(&big);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(ask(&head, &chunked), Some(413));
    let notify = "GET /keyyo/notify?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
    assert_eq!(ask(notify, b""), Some(413));
    // A small body goes through.
    let small = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(ask(&small, b"hello"), Some(200));
}

/// A raw GET with extra header lines; status and body.
fn get_with(addr: SocketAddr, target: &str, headers: &str) -> (u16, String) {
    common::exchange(
        TcpStream::connect(addr).expect("connect"),
        &format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"),
    )
}

/// The value of the sample `name` (with its labels) in Prometheus text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn health_and_metrics_say_what_the_server_does_to_whom_may_ask() {
    let dir = TempDir::new("serve-health");
    let secret = "0123456789abcdef-health";
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<trusted_proxies>127.0.0.1\n\
             <monitoring>198.51.100.0/24\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n"
        ),
    );
    // Its log says when the journal can be written again (below).
    let addr = free_addr();
    let mut cmd = ctibridge(&dir);
    cmd.args(["serve", "--server"])
        .arg(&file)
        .args(["--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (_srv, log) = common::listening_logged(cmd, addr);
    let good = format!(
        "secret={secret}&account=33972101010&caller=33388202020&callee=33972101010&callref=901&type=SETUP&version=1&dref=&dref_replace=&session=&is_acd=0&redirecting=&tsms=1700000000000"
    );
    let notify = |q: &str| get_with(addr, &format!("/keyyo/notify?{q}"), "").0;
    assert_eq!(notify(&good), 200);
    assert_eq!(notify(&good), 200);
    assert_eq!(notify(&good.replace(secret, "not-the-secret-at-all")), 403);
    assert_eq!(notify(&good.replace("type=SETUP", "type=RINGING")), 400);
    let _ = token(addr);

    let (status, text) = get_with(addr, "/metrics", "");
    assert_eq!(status, 200, "{text}");
    let count = |name: &str| sample(&text, name).unwrap_or_else(|| panic!("{name}: {text}"));
    assert_eq!(
        count("ctibridge_notifications_total{outcome=\"accepted\"}"),
        1.0
    );
    assert_eq!(
        count("ctibridge_notifications_total{outcome=\"repeat\"}"),
        1.0
    );
    assert_eq!(
        count("ctibridge_notifications_total{outcome=\"forbidden\"}"),
        1.0
    );
    assert_eq!(
        count("ctibridge_notifications_total{outcome=\"invalid\"}"),
        1.0
    );
    assert_eq!(
        count("ctibridge_events_published_total{source=\"keyyo\"}"),
        1.0
    );
    assert_eq!(count("ctibridge_desks_connected"), 1.0);
    assert_eq!(count("ctibridge_held_polls"), 0.0);
    assert!(
        count("ctibridge_journal_commit_seconds_count") >= 1.0,
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    // Bucket bounds as a person writes them, not float noise
    // (`le="0.00015000000000000001"`).
    for bound in text.split("le=\"").skip(1) {
        let bound = bound.split('"').next().unwrap_or("");
        assert!(bound.len() <= 8, "a bucket bound `{bound}` in:\n{text}");
    }

    // Only this machine and <monitoring>: a client the proxy names from
    // elsewhere is refused, one from the monitoring range is not.
    let (status, _) = get_with(addr, "/metrics", "X-Forwarded-For: 203.0.113.9\r\n");
    assert_eq!(status, 403);
    let (status, _) = get_with(addr, "/healthz", "X-Forwarded-For: 203.0.113.9\r\n");
    assert_eq!(status, 403);
    let (status, _) = get_with(addr, "/metrics", "X-Forwarded-For: 198.51.100.7\r\n");
    assert_eq!(status, 200);

    let (status, body) = get_with(addr, "/healthz", "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "ok", "{body}");
    assert_eq!(v["journal"]["ok"], true);
    assert_eq!(v["provider"]["detail"], "the simulator");
    assert_eq!(v["relay"]["detail"], "off");

    // Another process holds the journal's lock: a notification is refused,
    // and the health says the journal cannot be written, until it can.
    let locker = rusqlite::Connection::open(dir.path().join("journal.sqlite")).expect("open");
    locker.execute_batch("BEGIN EXCLUSIVE;").expect("lock");
    assert_eq!(notify(&good.replace("callref=901", "callref=902")), 503);
    let (status, body) = get_with(addr, "/healthz", "");
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "failing", "{body}");
    assert_eq!(v["journal"]["ok"], false, "{body}");
    locker.execute_batch("ROLLBACK;").expect("release");
    drop(locker);
    // Back once the server's probe finds it (it tries every 250 ms), as
    // its log says.
    loop {
        let line = log
            .recv_timeout(Duration::from_secs(20))
            .expect("the journal never came back");
        if line.contains("the call journal can be written again") {
            break;
        }
    }
    let (status, body) = get_with(addr, "/healthz", "");
    assert_eq!(status, 200, "{body}");
    let (_, text) = get_with(addr, "/metrics", "");
    assert_eq!(
        sample(
            &text,
            "ctibridge_notifications_total{outcome=\"journal_unavailable\"}"
        ),
        Some(1.0),
        "{text}"
    );
}

/// `watch` with a desk secret the server does not take stops after a few
/// refusals, with exit 5 and the server's reason, instead of retrying for
/// ever with exit 0.
#[test]
fn watch_with_a_wrong_desk_secret_stops_and_says_why() {
    let dir = TempDir::new("serve-wrong-secret");
    let (_srv, addr) = serve_file(
        &dir,
        "<server>\n<simulator>1\n<desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n",
    );
    dir.write(
        "clicktocall_param.txt",
        &format!(
            "<global>\n<provider>keyyo\n<events_url>http://{addr}/DhDivaltoServerCTI/api/cti\n"
        ),
    );
    dir.write(
        "station.txt",
        "<telorg>33972101010\n<ident>paul\n<event_token>not-the-secret\n",
    );
    let out = with_files(&dir)
        .args(["watch", "--json", "--for", "120"])
        .output()
        .expect("watch");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("error: the event source refused us 5 times in a row"),
        "{err}"
    );
    assert!(
        err.contains("unknown desk or wrong secret"),
        "the server's reason: {err}"
    );
}

/// `ctibridge history`: a desk's calls from the bridge server with its own
/// credentials (a wrong secret refused), filtered by kind and time, as
/// lines or JSON; and the same calls straight from the journal's file,
/// read only, while the server runs and after it stopped.
#[test]
fn history_from_the_server_and_from_the_journal_file() {
    let dir = TempDir::new("serve-history");
    let secret = "0123456789abcdef-secret";
    let (srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>changeme-desk\n<lines>03 88 20 20 20\n"
        ),
    );
    let line = "33388202020";
    // An answered incoming call, a missed one, an answered outgoing one:
    // each notification is journaled before its 200.
    let calls = [
        (
            "1",
            "33612345678",
            line,
            &["SETUP", "CONNECT", "RELEASE"][..],
        ),
        ("2", "33611111111", line, &["SETUP", "RELEASE"][..]),
        (
            "3",
            line,
            "33144445555",
            &["SETUP", "CONNECT", "RELEASE"][..],
        ),
    ];
    for (callref, caller, callee, kinds) in calls {
        for kind in kinds {
            let target = format!(
                "/keyyo/notify?secret={secret}&account={line}&caller={caller}&callee={callee}&callref={callref}&type={kind}&version=1&tsms=1700000000000"
            );
            assert_eq!(http(addr, "GET", &target, "none").0, 200, "{target}");
        }
    }
    dir.write(
        "clicktocall_param.txt",
        &format!(
            "<global>\n<provider>keyyo\n<events_url>http://{addr}/DhDivaltoServerCTI/api/cti\n"
        ),
    );
    dir.write(
        "station.txt",
        &format!("<ident>paul\n<event_token>changeme-desk\n<telorg>{line}\n"),
    );
    let history = |args: &[&str]| {
        let out = with_files(&dir)
            .arg("history")
            .args(args)
            .output()
            .expect("history");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, shown, err) = history(&[]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    // Newest first, local times, the desk's number form, readable durations.
    assert!(
        lines[0].contains("  made      0388202020 → 0144445555  answered  rang 0:00  talked 0:00"),
        "{shown}"
    );
    assert!(
        lines[1].contains("  missed    0611111111 → 0388202020  missed  rang 0:00"),
        "{shown}"
    );
    assert!(
        lines[2].contains("  received  0612345678 → 0388202020  answered  rang 0:00  talked 0:00"),
        "{shown}"
    );
    let date = chrono::Local::now().format("%Y-%m-%d ").to_string();
    assert!(lines.iter().all(|l| l.starts_with(&date)), "{shown}");

    let (code, shown, _) = history(&["--kind", "missed"]);
    assert_eq!(code, Some(0));
    assert_eq!(shown.lines().count(), 1, "{shown}");
    assert!(shown.contains("0611111111"), "{shown}");
    let (_, shown, _) = history(&["--since", "today", "--json"]);
    let kinds: Vec<String> = shown
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["kind"]
                .as_str()
                .expect("kind")
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["made", "missed", "received"]);
    let (_, shown, _) = history(&["--since", "2999-01-01"]);
    assert_eq!(shown, "no calls\n");
    let (code, _, err) = history(&["--since", "last week"]);
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("expected a date"), "{err}");

    // Straight from the journal, read only, while the server runs.
    let journal = dir.path().join("journal.sqlite");
    let from_file = |args: &[&str]| {
        let out = ctibridge(&dir)
            .arg("history")
            .arg("--journal")
            .arg(&journal)
            .args(args)
            .output()
            .expect("history");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, shown, err) = from_file(&["--line", "03 88 20 20 20"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(shown.lines().count(), 3, "{shown}");
    assert!(
        shown.contains("  received  0612345678 → 0388202020  answered"),
        "{shown}"
    );

    // A wrong desk secret (and no token kept from before): refused,
    // saying so (exit 5).
    let _ = std::fs::remove_dir_all(dir.path().join("cache"));
    dir.write(
        "station.txt",
        &format!("<ident>paul\n<event_token>not-the-secret\n<telorg>{line}\n"),
    );
    let (code, _, err) = history(&[]);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");

    // After the server stopped: the same calls, and the file is unchanged.
    assert_eq!(stop_gracefully(srv), Some(0));
    let before = std::fs::read(&journal).expect("journal");
    let (code, shown, err) = from_file(&["--kind", "made"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(shown.lines().count(), 1, "{shown}");
    assert!(
        shown.contains("made      0388202020 → 0144445555"),
        "{shown}"
    );
    assert_eq!(std::fs::read(&journal).expect("journal"), before);
    let (code, _, err) = from_file(&["--line", "not a number"]);
    assert_eq!(code, Some(3), "{err}");
}

/// The server's `<lookup>`: a call ringing two desks' lines is looked up
/// once, and each desk's `getevent`, the journal and `history` carry the
/// name; a hundred calls at once from one number make one request to the
/// ERP, all of them named.
#[test]
fn the_server_names_each_call_once_for_every_desk() {
    use common::{Recorded, StandIn};
    use std::sync::{mpsc, Mutex};
    let (release, held) = mpsc::channel::<()>();
    // The ERP says when the burst's request reached it.
    let (asked_tx, asked) = mpsc::channel::<()>();
    let asked_tx = Mutex::new(asked_tx);
    let held = Mutex::new(held);
    let erp = StandIn::start(move |r: &Recorded| match r.target.as_str() {
        "/erp?e164=%2B33388202020" => (
            200,
            r#"{"name":"Marie Dupont","company":"Dupont SA","id":"T0001"}"#.into(),
        ),
        "/erp?e164=%2B33677777777" => {
            let _ = asked_tx.lock().expect("asked").send(());
            let _ = held
                .lock()
                .expect("held")
                .recv_timeout(Duration::from_secs(30));
            (
                200,
                r#"{"name":"","company":"Burst SARL","id":"T0100"}"#.into(),
            )
        }
        _ => (404, "{}".into()),
    });
    let dir = TempDir::new("serve-names");
    let secret = "0123456789abcdef-secret";
    let (_srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>changeme-desk\n<lines>09 72 10 10 10\n\
             <desk>\n<ident>anne\n<secret>changeme-anne\n<lines>09 72 10 10 11\n\
             <lookup>\n<url>{}?e164=$tele164$\n<json_name>name\n<json_company>company\n<json_record>id\n<lookup_timeout>20\n",
            erp.url("/erp")
        ),
    );
    let notify = move |line: &str, caller: &str, callref: &str, kind: &str| {
        let target = format!(
            "/keyyo/notify?secret={secret}&account={line}&caller={caller}&callee={line}&callref={callref}&type={kind}&version=1&tsms=1700000000000"
        );
        http(addr, "GET", &target, "none").0
    };
    // One call ringing both desks' lines, answered by paul.
    for (line, kind) in [
        ("33972101010", "SETUP"),
        ("33972101011", "SETUP"),
        ("33972101010", "CONNECT"),
        ("33972101011", "RELEASE"),
        ("33972101010", "RELEASE"),
    ] {
        assert_eq!(notify(line, "33388202020", "n1", kind), 200);
    }
    let token_of = |basic: &str| token_of(addr, basic);
    // paul:changeme-desk, anne:changeme-anne
    for (auth, line) in [
        (token_of("Basic cGF1bDpjaGFuZ2VtZS1kZXNr"), "0972101010"),
        (token_of("Basic YW5uZTpjaGFuZ2VtZS1hbm5l"), "0972101011"),
    ] {
        let (status, body) = http(
            addr,
            "GET",
            &format!("/DhDivaltoServerCTI/api/cti/getevent?telorg={line}&cursor=0"),
            &auth,
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        let events = v["events"].as_array().expect("events");
        assert!(!events.is_empty(), "{body}");
        for e in events {
            assert_eq!(e["name"], "Marie Dupont", "{body}");
            assert_eq!(e["company"], "Dupont SA", "{body}");
            assert_eq!(e["record"], "T0001", "{body}");
        }
    }
    assert_eq!(erp.requests().len(), 1, "one request for the call");

    // A hundred calls at once from one number, while the ERP holds the
    // first request.
    let calls: Vec<_> = (0..100)
        .map(|i| {
            std::thread::spawn(move || {
                notify("33972101010", "33677777777", &format!("b{i}"), "SETUP")
            })
        })
        .collect();
    asked
        .recv_timeout(Duration::from_secs(20))
        .expect("the ERP was never asked");
    drop(release);
    for c in calls {
        assert_eq!(c.join().expect("notify"), 200);
    }
    let asked: Vec<String> = erp.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        asked,
        ["/erp?e164=%2B33388202020", "/erp?e164=%2B33677777777"]
    );
    // Counted: two requests; the 99 other calls of the burst shared the
    // one under way (or, arriving after it, found its answer kept).
    let (_, metrics) = get_with(addr, "/metrics", "");
    let lookups = |outcome: &str| {
        sample(
            &metrics,
            &format!("ctibridge_lookups_total{{outcome=\"{outcome}\"}}"),
        )
        .unwrap_or(0.0)
    };
    assert_eq!(lookups("asked"), 2.0, "{metrics}");
    assert_eq!(lookups("shared") + lookups("kept"), 99.0, "{metrics}");
    assert_eq!(lookups("late") + lookups("failed"), 0.0, "{metrics}");

    // The journal keeps the names: history, from the server and the file.
    let (status, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/history?telorg=0972101010&limit=200",
        &token_of("Basic cGF1bDpjaGFuZ2VtZS1kZXNr"),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let calls = v["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 101, "{body}");
    assert!(
        calls[..100].iter().all(|c| c["company"] == "Burst SARL"),
        "{body}"
    );
    assert_eq!(calls[100]["name"], "Marie Dupont");
    let out = ctibridge(&dir)
        .args(["history", "--line", "0972101011", "--journal"])
        .arg(dir.path().join("journal.sqlite"))
        .output()
        .expect("history");
    let shown = text(&out.stdout);
    assert!(
        shown.contains("  missed    0388202020 → 0972101011  Marie Dupont (Dupont SA)  missed"),
        "{shown}{}",
        text(&out.stderr)
    );
}

/// A CSV directory in the server file of `serve --sim`: a desk following
/// the bridge with the Keyyo profile (which reads the names the server
/// sends) sees who calls.
#[test]
fn a_desk_sees_the_name_from_the_servers_directory() {
    let dir = TempDir::new("serve-directory");
    dir.write(
        "annuaire.csv",
        "Nom;Société;Téléphone;Fiche\nMarie Dupont;Dupont SA;03 88 20 20 20;T0001\n",
    );
    let (_srv, addr) = serve_file(
        &dir,
        "<server>\n<simulator>1\n<desk>\n<ident>paul\n<secret>changeme-desk\n<lines>1003\n<lookup>\n<directory>annuaire.csv\n",
    );
    dir.write(
        "clicktocall_param.txt",
        &format!(
            "<global>\n<provider>keyyo\n<events_url>http://{addr}/DhDivaltoServerCTI/api/cti\n"
        ),
    );
    dir.write(
        "station.txt",
        "<ident>paul\n<event_token>changeme-desk\n<telorg>1003\n",
    );
    let mut watch = with_files(&dir)
        .args(["watch", "--json", "--once", "--for", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    let mut first = String::new();
    let stdout = watch.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read");
        line
    });
    // Calls until the desk has seen one (it may start polling after the
    // first rings: the server hands a new desk the last seconds' events).
    let out = ctibridge(&dir)
        .args(["sim", "call", "+33388202020", "1003", "--url"])
        .arg(format!("http://{addr}"))
        .output()
        .expect("sim call");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    first.push_str(&reader.join().expect("line"));
    let status = watch.wait().expect("wait");
    assert!(status.success());
    let e: Value = serde_json::from_str(first.trim()).expect("json");
    assert_eq!(e["kind"], "ring", "{first}");
    assert_eq!(e["name"], "Marie Dupont", "{first}");
    assert_eq!(e["company"], "Dupont SA", "{first}");
    assert_eq!(e["record"], "T0001", "{first}");
}

/// The server's `<report>`: what `ctibridge report --dry-run --server`
/// shows and a sample sent for real; then calls ending through Keyyo
/// notifications: the one the ERP takes is `reported` in history, the one
/// it keeps refusing is kept, shown as refused, and counted in /metrics.
#[test]
fn reports_the_erp_refuses_are_kept_and_shown() {
    use common::{Recorded, StandIn};
    let erp = StandIn::start(|r: &Recorded| {
        if r.body.contains("tel=0611111111") {
            // An error page that quotes the request's credentials.
            let auth = r.header("Authorization").unwrap_or("");
            (500, format!("locked for {auth}"))
        } else {
            (200, "OK".into())
        }
    });
    let dir = TempDir::new("serve-report");
    let secret = "0123456789abcdef-secret";
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>changeme-desk\n<lines>09 72 10 10 10\n\
             <report>\n<url>{}\n<headers>Authorization: Bearer erp-secret-42\n<data>state=$state$&tel=$tel$&name=$name$&talk=$talk$\n<dataencode>\n<success_body>OK\n",
            erp.url("/calls")
        ),
    );
    let report = |args: &[&str]| {
        let out = ctibridge(&dir)
            .args(["report", "--server"])
            .arg(&file)
            .args(args)
            .output()
            .expect("report");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, shown, err) = report(&["--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        shown.contains("state=missed&tel=0388202020&name=Marie Dupont&talk=0"),
        "{shown}"
    );
    assert!(
        shown.contains("Bearer ********") && !shown.contains("erp-secret-42"),
        "{shown}"
    );
    assert!(erp.requests().is_empty(), "--dry-run sends nothing");
    let (code, shown, err) = report(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        shown.contains("the ERP took the report of a sample call"),
        "{shown}"
    );
    assert_eq!(erp.requests().len(), 1);

    let addr = free_addr();
    let _srv = serve(&dir, addr, &["--server".as_ref(), file.as_os_str()]);
    let line = "33972101010";
    for (callref, caller, kinds) in [
        ("1", "33388202020", &["SETUP", "CONNECT", "RELEASE"][..]),
        ("2", "33611111111", &["SETUP", "RELEASE"][..]),
    ] {
        for kind in kinds {
            let target = format!(
                "/keyyo/notify?secret={secret}&account={line}&caller={caller}&callee={line}&callref={callref}&type={kind}&version=1&tsms=1700000000000"
            );
            assert_eq!(http(addr, "GET", &target, "none").0, 200, "{target}");
        }
    }
    let history = || {
        let out = ctibridge(&dir)
            .args(["history", "--journal"])
            .arg(dir.path().join("journal.sqlite"))
            .output()
            .expect("history");
        text(&out.stdout)
    };
    let end = Instant::now() + Duration::from_secs(20);
    let shown = loop {
        let shown = history();
        if shown.contains("reported") && shown.contains("report refused") {
            break shown;
        }
        assert!(Instant::now() < end, "{shown}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].contains("missed    0611111111 → 0972101010  missed  rang 0:00  report refused 1× (HTTP 500: locked for ********), sent again later"),
        "{shown}"
    );
    assert!(
        lines[1].contains(
            "received  0388202020 → 0972101010  answered  rang 0:00  talked 0:00  reported"
        ),
        "{shown}"
    );
    // The ERP's answers; its secret never in them.
    let bodies: Vec<String> = erp.requests().into_iter().map(|r| r.body).collect();
    assert!(
        bodies
            .iter()
            .any(|b| b == "state=answered&tel=0388202020&name=&talk=0"),
        "{bodies:?}"
    );
    assert!(!shown.contains("erp-secret-42"));
    // Counted: one taken (besides the sample, sent by another process),
    // one pending that the ERP refused.
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, text) = get_with(addr, "/metrics", "");
        let sent = sample(&text, "ctibridge_reports_sent_total");
        let failing = sample(&text, "ctibridge_reports_failing");
        if sent == Some(1.0) && failing == Some(1.0) {
            assert_eq!(
                sample(&text, "ctibridge_reports_pending"),
                Some(1.0),
                "{text}"
            );
            assert!(sample(&text, "ctibridge_report_refusals_total").unwrap_or(0.0) >= 1.0);
            break;
        }
        assert!(Instant::now() < end, "{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A desk that starts, or comes back, gets the calls still under way on
/// its line and the ends of those — never a call that already ended — and
/// each event says when it happened (the server's time, not the poll's).
#[test]
fn a_desk_that_starts_gets_the_calls_under_way_and_never_an_ended_one() {
    let dir = TempDir::new("serve-no-stale-pop");
    let secret = "0123456789abcdef-secret";
    let (_srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<simulator>1\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>03 88 20 20 20\n"
        ),
    );
    let notify = |callref: &str, caller: &str, kind: &str| {
        let target = format!(
            "/keyyo/notify?secret={secret}&account=33388202020&caller={caller}&callee=33388202020&callref={callref}&type={kind}&version=1&tsms=1700000000000"
        );
        assert_eq!(
            http(addr, "GET", &target, "none").0,
            200,
            "{callref} {kind}"
        );
    };
    // Before any desk polls: `a` rang and ended, `b` rings, `c` was answered.
    notify("a", "33612000001", "SETUP");
    notify("a", "33612000001", "RELEASE");
    notify("b", "33612000002", "SETUP");
    notify("c", "33612000003", "SETUP");
    notify("c", "33612000003", "CONNECT");
    let auth = token(addr);
    // Divalto's engine: no cursor, one event per answer, the server
    // remembers where it is.
    let divalto = "/DhDivaltoServerCTI/api/cti/getevent?ident=paul&telorg=0388202020";
    let poll_all = |target: &str| {
        let mut seen = Vec::new();
        for _ in 0..10 {
            let (st, body) = http(addr, "GET", target, &auth);
            assert_eq!(st, 200, "{body}");
            let v: Value = serde_json::from_str(&body).expect("json");
            let events = v["events"].as_array().expect("events").clone();
            if events.is_empty() {
                return seen;
            }
            for e in events {
                assert!(e["at"].as_i64().is_some(), "no time in {e}");
                seen.push((
                    e["event"].as_str().unwrap_or("?").to_owned(),
                    e["callref"].as_str().unwrap_or("?").to_owned(),
                    e["at"].as_i64().unwrap_or(0),
                ));
            }
        }
        panic!("the desk never caught up: {seen:?}");
    };
    let names = |seen: &[(String, String, i64)]| -> Vec<String> {
        seen.iter().map(|(e, c, _)| format!("{e} {c}")).collect()
    };
    let first = poll_all(divalto);
    assert_eq!(names(&first), ["RING b", "RING c", "CONNECT c"]);
    // The times are the events' own, in their order.
    assert!(first.windows(2).all(|w| w[0].2 <= w[1].2), "{first:?}");
    // `b` ends: the desk that had it gets its end.
    notify("b", "33612000002", "RELEASE");
    assert_eq!(names(&poll_all(divalto)), ["RELEASE b"]);
    // A desk that takes cursors, starting (an empty cursor): the same rule,
    // in one answer.
    let (st, body) = http(addr, "GET", &format!("{divalto}&cursor="), &auth);
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let got: Vec<String> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["event"].as_str().unwrap_or("?"),
                e["callref"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(got, ["RING c", "CONNECT c"], "{body}");
}

/// A provider whose error page quotes the whole request (a PHP error, a
/// proxy in debug mode): the desk that asked for the dial gets the status
/// and a short reason with no secret in it, in any form; the server's log
/// neither.
#[test]
fn a_providers_error_page_quoting_the_request_reaches_no_desk_with_a_secret() {
    let provider = common::StandIn::start_replying(common::echoing());
    let dir = TempDir::new("serve-echo");
    let (user, mdp) = ("33388202020", "pa/ss+wo=rd-7Zq");
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>0388202020\n\
             <station>\n<user>{user}\n<mdp>{mdp}\n<cliktocalldial>\n\
             <url>{}?ACCOUNT=$telorg$&CALLEE=$teldest$&PW=$mdp$\n<methode>GET\n\
             <headers>Authorization: Basic $auth$\n<success_body>OK\n",
            provider.url("/makecall.html")
        ),
    );
    let addr = free_addr();
    let (srv, log) = common::serve_file_logged(&dir, &file, addr);
    let auth = token_of(addr, "Basic cGF1bDpwYXVsLWRlc2stc2VjcmV0");
    // One dial per form the provider's page quotes the request in.
    for _ in 0..common::ECHO_FORMS {
        let (st, body) = http(
            addr,
            "GET",
            "/DhDivaltoServerCTI/api/cti/setevent?ident=paul&telorg=0388202020&tel=0612345678&cmdevent=DIAL",
            &auth,
        );
        assert_eq!(st, 502, "{body}");
        for form in common::secret_forms(user, mdp) {
            assert!(!body.contains(&form), "`{form}` reached the desk: {body}");
        }
        assert!(body.contains("HTTP 500"), "{body}");
        assert!(body.len() < 600, "the desk needs no provider page: {body}");
    }
    // The provider was asked, and its page quoted the password.
    let asked = provider.requests();
    assert!(asked.iter().any(|r| r.target.contains("PW=")), "{asked:?}");
    drop(srv);
    let said: Vec<String> = log.try_iter().collect();
    let said = said.join("\n");
    assert!(said.contains("dial through the provider failed"), "{said}");
    for form in common::secret_forms(user, mdp) {
        assert!(
            !said.contains(&form),
            "`{form}` in the server's log: {said}"
        );
    }
}

/// `<keyyo_notify>` that only sets `<sources>` takes its secret from the
/// environment (kept out of the file).
#[test]
fn the_keyyo_secret_comes_from_the_environment_when_the_file_sets_only_sources() {
    let dir = TempDir::new("serve-keyyo-env");
    let secret = "7c1e0d9a5b3f42e8-env";
    let file = dir.write(
        "server_param.txt",
        "<server>\n<simulator>1\n<keyyo_notify>\n<sources>127\\.0\\.0\\.1\n",
    );
    let addr = free_addr();
    let _srv = serve_with(
        &dir,
        addr,
        &["--server".as_ref(), file.as_os_str()],
        &[("CTIBRIDGE_KEYYO_SECRET", secret)],
    );
    let notify = format!(
        "/keyyo/notify?secret={secret}&account=33972101010&caller=33388202020&callee=33972101010&callref=e1&type=SETUP&version=1&tsms=1700000000000"
    );
    assert_eq!(http(addr, "GET", &notify, "none").0, 200);
    let forged = notify.replace(secret, "not-the-secret-at-all-x");
    assert_eq!(http(addr, "GET", &forged, "none").0, 403);
}

/// Wrong secrets for a desk, from an address it never logged in from:
/// after a few, tries wait (429 with Retry-After) whatever the address;
/// each refusal is counted in /metrics and the log says it once; the desk
/// itself, from where it logs in, still gets its token.
#[test]
fn wrong_secrets_make_a_stranger_wait_and_leave_the_desk_in() {
    let dir = TempDir::new("serve-lockout");
    let file = dir.write(
        "server_param.txt",
        "<server>\n<simulator>1\n<desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>1003\n",
    );
    let addr = free_addr();
    let (srv, log) = common::serve_file_logged(&dir, &file, addr);
    let good = "Basic cGF1bDpwYXVsLWRlc2stc2VjcmV0";
    // The desk logs in from here: this address is its own.
    token_of(addr, good);
    let guess = |from: &str, n: usize| {
        let basic = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(format!("paul:guess-{n}"))
        };
        common::http_from(
            from,
            addr,
            &format!(
                "GET /DhDivaltoServerCTI/api/cti/gettoken HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    let statuses: Vec<u16> = (0..8).map(|n| guess("127.0.0.2", n).0).collect();
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // Said once, when the tries start to wait.
    let end = Instant::now() + Duration::from_secs(20);
    let told = std::iter::from_fn(|| {
        log.recv_timeout(end.saturating_duration_since(Instant::now()))
            .ok()
    })
    .find(|l| l.contains("wrong secrets in a row"))
    .expect("the log says so");
    assert!(told.contains("WARN"), "{told}");
    // From another address too: the count is the desk's.
    assert_eq!(guess("127.0.0.3", 9).0, 429);
    // The desk itself is not kept out.
    token_of(addr, good);
    let (_, metrics) = http(addr, "GET", "/metrics", "none");
    let count = |reason: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "ctibridge_logins_refused_total{{reason=\"{reason}\"}} "
                ))
            })
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(-1.0)
    };
    assert_eq!(count("wrong_secret"), 5.0, "{metrics}");
    assert_eq!(count("throttled"), 4.0, "{metrics}");
    drop(srv);
    // No line for each refusal.
    let said: Vec<String> = log.try_iter().collect();
    assert!(
        !said.iter().any(|l| l.contains("WARN")),
        "one line for the lot: {said:?}"
    );
}

/// Held requests (long polls, desk streams) never take every connection:
/// past the connections less a reserve, one more is refused (503) while a
/// Keyyo notification and /healthz are still answered. A browser session's
/// streams are a few: its oldest ends when one more opens.
#[test]
fn held_requests_leave_room_for_notifications_and_health() {
    use std::io::Write as _;
    let dir = TempDir::new("serve-holds");
    let secret = "0123456789abcdef-holds";
    let (_srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<simulator>1\n<max_connections>40\n<hold>60\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>1003\n"
        ),
    );
    let auth = token(addr);
    // 40 connections, a tenth (16 at least) kept: 24 polls held.
    let poll = format!(
        "GET /DhDivaltoServerCTI/api/cti/getevent?ident=paul&telorg=1003&cursor=18446744073709551615 HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    );
    let mut held = Vec::new();
    for _ in 0..24 {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(poll.as_bytes()).expect("send");
        held.push(s);
    }
    let held_now = || {
        let (_, m) = http(addr, "GET", "/metrics", "none");
        m.lines()
            .find_map(|l| l.strip_prefix("ctibridge_held_polls "))
            .and_then(|n| n.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let end = Instant::now() + Duration::from_secs(20);
    while held_now() < 24.0 {
        assert!(Instant::now() < end, "the polls were never all held");
        std::thread::yield_now();
    }
    // One more waiting request: refused at once.
    let (st, body) = common::exchange(TcpStream::connect(addr).expect("connect"), &poll);
    assert_eq!(st, 503, "{body}");
    // What cannot wait is still answered.
    let notify = format!(
        "/keyyo/notify?secret={secret}&account=1003&caller=33388202020&callee=1003&callref=h1&type=SETUP&version=1&tsms=1700000000000"
    );
    assert_eq!(http(addr, "GET", &notify, "none").0, 200);
    assert_eq!(http(addr, "GET", "/healthz", "none").0, 200);
    drop(held);
}

/// A notification is one per line (a call between two lines of the
/// account is notified to each), and a repeat stays a repeat after a
/// restart: the journal remembers what it took.
#[test]
fn a_notification_sent_again_after_a_restart_is_a_repeat() {
    let dir = TempDir::new("serve-repeat");
    let secret = "0123456789abcdef-repeat";
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>0972101010|0972101011\n"
        ),
    );
    let notify = |addr: SocketAddr, account: &str| {
        let target = format!(
            "/keyyo/notify?secret={secret}&account={account}&caller=33388202020&callee={account}&callref=twice&type=SETUP&version=1&tsms=1700000000000"
        );
        assert_eq!(http(addr, "GET", &target, "none").0, 200);
    };
    let repeats = |addr: SocketAddr| -> f64 {
        let (_, m) = http(addr, "GET", "/metrics", "none");
        m.lines()
            .find_map(|l| l.strip_prefix("ctibridge_notifications_total{outcome=\"repeat\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(-1.0)
    };
    let calls = |addr: SocketAddr, line: &str| -> usize {
        let auth = token_of(addr, "Basic cGF1bDpwYXVsLWRlc2stc2VjcmV0");
        let (st, body) = http(
            addr,
            "GET",
            &format!("/DhDivaltoServerCTI/api/cti/history?telorg={line}"),
            &auth,
        );
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        v["calls"].as_array().map_or(0, Vec::len)
    };
    let addr = free_addr();
    {
        let _srv = serve(&dir, addr, &["--server".as_ref(), file.as_os_str()]);
        notify(addr, "33972101010");
        // The same call on the account's other line: its own notification.
        notify(addr, "33972101011");
        assert_eq!(repeats(addr), 0.0);
        assert_eq!(calls(addr, "0972101011"), 1);
    }
    let _srv = serve(&dir, addr, &["--server".as_ref(), file.as_os_str()]);
    notify(addr, "33972101010");
    assert_eq!(repeats(addr), 1.0, "taken again after the restart");
    assert_eq!(calls(addr, "0972101010"), 1);
}

/// At the descriptor limit (128 here), polls held on every connection and
/// a flood of idle ones: the server never runs out of descriptors ("Too
/// many open files" on accept) and `/healthz` is still answered 200 —
/// held requests leave a reserve, and the bound keeps an eighth of the
/// limit for the rest.
#[cfg(unix)]
#[test]
fn held_polls_and_a_flood_at_the_descriptor_limit_leave_health_answered() {
    use std::io::Write as _;
    let dir = TempDir::new("serve-emfile");
    let addr = free_addr();
    let srv = serve_limited(&dir, addr, &["--hold", "60"], 128);
    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken?ident=desk",
        "none",
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let auth = format!("Bearer {}", v["token"].as_str().expect("token"));
    // More polls than the server has connections, each held (or refused).
    let poll = format!(
        "GET /DhDivaltoServerCTI/api/cti/getevent?ident=desk&telorg=1003&cursor=18446744073709551615 HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"
    );
    let held: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(poll.as_bytes()).expect("send");
            s
        })
        .collect();
    // Then a flood of connections that say nothing.
    let flood: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    for _ in 0..5 {
        let (st, body) = http(addr, "GET", "/healthz", "none");
        assert_eq!(st, 200, "{body}");
    }
    drop((held, flood));
    let stderr = stderr_of(srv);
    assert!(!stderr.contains("Too many open files"), "{stderr}");
}

/// A notification sent again after more others than the server keeps in
/// memory (20 000) is still a repeat: its time (`tsms`) is older than what
/// memory covers, so the journal is asked.
#[test]
fn a_notification_sent_again_after_twenty_thousand_others_is_a_repeat() {
    use std::io::{BufRead as _, Read as _, Write as _};
    let dir = TempDir::new("serve-repeat-far");
    let secret = "0123456789abcdef-far";
    let (_srv, addr) = serve_file(
        &dir,
        &format!(
            "<server>\n<simulator>1\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n<rate>1000000\n"
        ),
    );
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    };
    let target = |callref: &str, tsms: u128| {
        format!(
            "/keyyo/notify?secret={secret}&account=33972101010&caller=33388202020&callee=33972101010&callref={callref}&type=SETUP&version=1&tsms={tsms}"
        )
    };
    let first = target("far-1", now_ms());
    assert_eq!(http(addr, "GET", &first, "none").0, 200);
    // 20 001 others on one kept-alive connection, each answered in turn.
    let mut conn = TcpStream::connect(addr).expect("connect");
    let mut reader = std::io::BufReader::new(conn.try_clone().expect("clone"));
    for i in 0..20_001 {
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: x\r\n\r\n",
            target(&format!("other-{i}"), now_ms())
        );
        conn.write_all(req.as_bytes()).expect("send");
        let mut status = String::new();
        reader.read_line(&mut status).expect("status");
        assert!(status.contains(" 200 "), "{i}: {status}");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).expect("body");
    }
    // The first one again, word for word: a repeat.
    let (_, before) = http(addr, "GET", "/metrics", "none");
    assert_eq!(http(addr, "GET", &first, "none").0, 200);
    let (_, after) = http(addr, "GET", "/metrics", "none");
    let repeats = |m: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix("ctibridge_notifications_total{outcome=\"repeat\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(-1.0)
    };
    assert_eq!(repeats(&after), repeats(&before) + 1.0, "{after}");
}
