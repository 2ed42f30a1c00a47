//! `ctibridge watch` against an event source on 127.0.0.1 driven by a
//! script: answer formats, the call model, the screen pop, and faults.
//! Every run is bounded: `--once` or `--for`, and a deadline after which the
//! test kills the process and fails.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ctibridge, free_addr, Recorded, StandIn, TempDir};
use serde_json::Value;

const STATION: &str = "<user>paul\n<mdp>s3cret\n<ident>desk1\n<telorg>1003\n";
const DEADLINE: Duration = Duration::from_secs(20);

/// The exit code of a watch stopped by [`Watch::terminate`]: 0, a clean
/// stop, on Unix; on Windows, that of `TerminateProcess` (see there).
const STOPPED: i32 = if cfg!(windows) { 1 } else { 0 };

/// Fast timing for tests: polls at least 100 ms apart, back-off from 100 ms.
const FAST: &str = "<global>\n<timeout1>0.1\n<timeout2>0\n<timeout3>2\n";

/// A running `ctibridge watch --json …` whose output lines arrive on channels.
struct Watch {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    err_seen: Vec<String>,
}

fn lines(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Watch {
    fn start(dir: &TempDir, param: &str, args: &[&str], env: &[(&str, &str)]) -> Watch {
        let p = dir.write("clicktocall_param.txt", param);
        let s = dir.write("station.txt", STATION);
        let mut cmd = ctibridge(dir);
        cmd.arg("--param")
            .arg(p)
            .arg("--station")
            .arg(s)
            .arg("watch")
            .arg("--json")
            .args(args)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("XDG_RUNTIME_DIR", dir.path().join("no-runtime-dir"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn watch");
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        Watch {
            child,
            stdout,
            stderr,
            err_seen: Vec::new(),
        }
    }

    /// The next JSON line on stdout.
    fn event(&mut self) -> Value {
        match self.stdout.recv_timeout(DEADLINE) {
            Ok(line) => serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")),
            Err(_) => {
                let _ = self.child.kill();
                panic!("no event line in time; stderr: {:?}", self.drain_stderr());
            }
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_stderr(&mut self, needle: &str) {
        let end = Instant::now() + DEADLINE;
        if self.err_seen.iter().any(|l| l.contains(needle)) {
            return;
        }
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    self.err_seen.push(l);
                    if hit {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        panic!("`{needle}` never logged; stderr: {:?}", self.err_seen);
    }

    fn drain_stderr(&mut self) -> Vec<String> {
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_millis(200)) {
            self.err_seen.push(l);
        }
        self.err_seen.clone()
    }

    /// Waits for the exit; returns the code and all of stderr.
    fn finish(mut self) -> (i32, Vec<String>, Vec<String>) {
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                break st;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("watch did not stop; stderr: {:?}", self.drain_stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let rest: Vec<String> = self.stdout.try_iter().collect();
        let err = self.drain_stderr();
        (status.code().unwrap_or(-1), rest, err)
    }

    /// Asks watch to stop, as the system does: SIGTERM on Unix. On Windows
    /// it would be a console event (Ctrl+Break, the console closed, a
    /// logoff), which Wine cannot send (`GenerateConsoleCtrlEvent` answers
    /// ERROR_INVALID_ACCESS): there the test ends it (`TerminateProcess`),
    /// and watch's exit code is then [`STOPPED`].
    fn terminate(&mut self) {
        #[cfg(unix)]
        {
            let pid = i32::try_from(self.child.id()).expect("pid");
            // SAFETY: sending a signal to our own child process.
            assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        }
        #[cfg(windows)]
        self.child.kill().expect("TerminateProcess");
    }
}

/// A program that records each run's arguments, one line per run, words
/// separated by U+001F: a shell script on Unix; on Windows a copy of
/// `examples/record_args.rs`, built beside this test.
#[cfg(unix)]
fn recorder(dir: &TempDir, name: &str) -> (PathBuf, PathBuf) {
    let log = dir.path().join(format!("{name}.log"));
    let script = dir.path().join(name);
    std::fs::write(
        &script,
        format!(
            // One append of the whole line: pops run side by side, and
            // their lines must not interleave.
            "#!/bin/sh\nline=''\nfor a in \"$@\"; do line=\"$line$a$(printf '\\037')\"; done\nprintf '%s\\n' \"$line\" >> '{}'\n",
            log.display()
        ),
    )
    .expect("write recorder");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, log)
}

#[cfg(windows)]
fn recorder(dir: &TempDir, name: &str) -> (PathBuf, PathBuf) {
    let built = std::env::current_exe()
        .expect("this test's path")
        .parent()
        .and_then(Path::parent)
        .expect("the profile folder")
        .join("examples")
        .join("record_args.exe");
    let program = dir.path().join(format!("{name}.exe"));
    std::fs::copy(&built, &program).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (cargo build --example record_args first)",
            built.display()
        )
    });
    (program, dir.path().join(format!("{name}.log")))
}

/// The runs a recorder saw, waiting until there are `n`.
fn runs(log: &Path, n: usize) -> Vec<Vec<String>> {
    let end = Instant::now() + DEADLINE;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let runs: Vec<Vec<String>> = text
            .lines()
            .map(|l| {
                l.split('\u{1f}')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        if runs.len() >= n || Instant::now() > end {
            return runs;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A script that answers its list of answers in turn, then empty answers
/// held briefly (a long poll with nothing to say).
fn sequence(answers: Vec<(u16, String)>) -> impl Fn(&Recorded) -> (u16, String) {
    let n = AtomicUsize::new(0);
    move |_r: &Recorded| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        match answers.get(i) {
            Some(a) => a.clone(),
            None => {
                std::thread::sleep(Duration::from_millis(200));
                (200, String::new())
            }
        }
    }
}

fn ok(body: &str) -> (u16, String) {
    (200, body.to_owned())
}

#[test]
fn json_single_event_pops_once_with_the_caller() {
    let srv = StandIn::start(sequence(vec![ok(
        r#"{"event":"RING","tel":"03 88 20 20 20","called":"1003"}"#,
    )]));
    let dir = TempDir::new("watch-json");
    let (rec, log) = recorder(&dir, "fiche");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}?ident=$ident$&telorg=$telorg$\n<type_return>json\n<json_tel>tel\n<json_event>event\n<json_called>called\n<popup>\n<command>{} --tel $tel$ --to $called$ --ev $event$ --who $user$ \"a b;$(x)\"\n",
        srv.url("/getevent"),
        rec.display()
    );
    // --background changes nothing here (no console window of its own).
    let mut w = Watch::start(&dir, &param, &["--once", "--background"], &[]);
    // At the default verbosity, watch says what it watches.
    w.wait_stderr("watching call events");
    let e = w.event();
    assert_eq!(e["kind"], "ring");
    assert_eq!(e["state"], "setup");
    assert_eq!(e["caller"], "0388202020");
    assert_eq!(e["callee"], "1003");
    assert_eq!(e["event"], "RING");
    assert_eq!(e["screen_pop"], true);
    assert_eq!(e["call_id"], Value::Null);
    let (code, rest, _) = w.finish();
    assert_eq!((code, rest.len()), (0, 0));
    assert_eq!(
        runs(&log, 1),
        vec![vec![
            "--tel",
            "0388202020",
            "--to",
            "1003",
            "--ev",
            "RING",
            "--who",
            "paul",
            "a b;$(x)"
        ]]
    );
    assert_eq!(
        srv.requests()[0].target,
        "/getevent?ident=desk1&telorg=1003"
    );
}

#[test]
fn json_list_with_the_cursor_carried_over() {
    // OVH events v1: several events per answer, Session sent back.
    let srv = StandIn::start(sequence(vec![
        ok(r#"{"Session":"s-1","Message":"","Events":[{"Event":"registered","Data":{}}]}"#),
        ok(r#"{"Session":"s-2","Message":"","Events":[]}"#),
        ok(
            r#"{"Session":"s-3","Events":[{"Event":"start_ringing","Data":{"Calling":"0033388202020","Called":"0033972101010","CallId":"c-9"}}]}"#,
        ),
    ]));
    let dir = TempDir::new("watch-list");
    let param = format!(
        "{FAST}<event_ring>start_ringing\n<cliktocallevent>\n<with_event>1\n<url>{}?token=t&session=$cursor$\n<json_events>$.Events[*]\n<json_event>Event\n<json_tel>Data.Calling\n<json_called>Data.Called\n<json_callid>Data.CallId\n<json_cursor>Session\n",
        srv.url("/")
    );
    let mut w = Watch::start(&dir, &param, &["--once"], &[]);
    let other = w.event();
    assert_eq!(
        (other["kind"].as_str(), other["state"].as_null()),
        (Some("other"), Some(()))
    );
    assert_eq!(other["event"], "registered");
    let ring = w.event();
    assert_eq!(ring["kind"], "ring");
    assert_eq!(ring["call_id"], "c-9");
    // `<tel_format>` is national by default: OVH's 0033… as the ERP stores it.
    assert_eq!(ring["caller"], "0388202020");
    assert_eq!(w.finish().0, 0);
    let targets: Vec<String> = srv.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/?token=t",
            "/?token=t&session=s-1",
            "/?token=t&session=s-2"
        ]
    );
}

#[test]
fn xml_elements_attributes_and_text_lines() {
    let cases = [
        (
            "<type_return>xml\n<xml_event>evt\n<xml_tel>tel\n",
            "<?xml version='1.0'?><r><evt>RING</evt><tel>0388202020</tel></r>",
        ),
        (
            "<type_return>xml\n<xml_event>evt\n<xml_result_event_in_attrib>1\n<xml_event_attrib>name\n<xml_tel>tel\n<xml_result_tel_in_attrib>1\n<xml_tel_attrib>value\n",
            "<r><tel value='0388202020'/><evt name='RING'/></r>",
        ),
        ("<type_return>text\n", "RING;03 88 20 20 20;1003;x1\n"),
    ];
    for (tags, body) in cases {
        let srv = StandIn::start(sequence(vec![ok(body)]));
        let dir = TempDir::new("watch-formats");
        let param = format!(
            "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n{tags}",
            srv.url("/ev")
        );
        let mut w = Watch::start(&dir, &param, &["--once"], &[]);
        let e = w.event();
        assert_eq!(e["kind"], "ring", "{body}");
        assert_eq!(e["caller"], "0388202020", "{body}");
        assert_eq!(w.finish().0, 0);
    }
}

#[test]
fn a_call_from_ring_to_release_and_a_missed_call_then_sigterm() {
    let srv = StandIn::start(sequence(vec![
        ok(r#"{"e":"RING","n":"0388202020","id":"a"}"#),
        ok("{}"),
        ok(r#"{"e":"CONNECT","n":"0388202020","id":"a"}"#),
        ok(r#"{"e":"RELEASE","n":"0388202020","id":"a"}"#),
        ok(r#"[{"e":"RING","n":"0399","id":"b"},{"e":"RELEASE","n":"0399","id":"b"}]"#),
        ok(r#"{"e":"HOLD","n":"0388202020","id":"a"}"#),
        ok(r#"{"e":"RING","n":"0377","id":"c"}"#),
    ]));
    let dir = TempDir::new("watch-call");
    let (rec, log) = recorder(&dir, "fiche");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<popup>\n<command>{} $callref$ $tel$\n",
        srv.url("/ev"),
        rec.display()
    );
    let mut w = Watch::start(&dir, &param, &[], &[]);
    let kinds: Vec<Value> = (0..7).map(|_| w.event()).collect();
    let states: Vec<(&str, &str, &str)> = kinds
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("?"),
                e["state"].as_str().unwrap_or("-"),
                e["call_id"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("ring", "setup", "a"),
            ("connect", "connect", "a"),
            ("release", "release", "a"),
            ("ring", "setup", "b"),
            ("release", "missed", "b"),
            ("other", "-", "a"),
            ("ring", "setup", "c"),
        ]
    );
    let released = &kinds[2];
    assert!(released["talk_ms"].as_u64().is_some());
    assert!(released["ringing_ms"].as_u64().is_some());
    assert!(released["setup_at"].is_string() && released["connect_at"].is_string());
    assert!(kinds[4]["talk_ms"].is_null());
    // One screen pop per call, none for `b`: its end came in the same
    // answer as its ring (it was over before the desk read it).
    assert_eq!(
        runs(&log, 2),
        vec![vec!["a", "0388202020"], vec!["c", "0377"]]
    );
    assert_eq!(kinds[3]["screen_pop"], false, "{}", kinds[3]);
    w.terminate();
    let (code, _, _) = w.finish();
    assert_eq!(code, STOPPED, "SIGTERM ends watch cleanly");
}

#[test]
fn refused_for_a_while_then_back_is_logged_once_each_way() {
    let addr = free_addr();
    let dir = TempDir::new("watch-refused");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>http://{addr}/ev\n<json_event>e\n<json_tel>n\n"
    );
    let mut w = Watch::start(&dir, &param, &["--once"], &[]);
    w.wait_stderr("event source unavailable: cannot connect");
    let _srv = StandIn::start_at(addr, sequence(vec![ok(r#"{"e":"RING","n":"0388"}"#)]));
    assert_eq!(w.event()["caller"], "0388");
    let (code, _, err) = w.finish();
    assert_eq!(code, 0);
    let count = |s: &str| err.iter().filter(|l| l.contains(s)).count();
    assert_eq!(count("event source unavailable"), 1, "{err:?}");
    assert_eq!(count("event source is back"), 1, "{err:?}");
}

#[test]
fn a_run_of_500s_a_garbage_body_and_a_slow_answer_are_skipped() {
    let srv = StandIn::start(sequence(vec![
        (500, "Internal Server Error".into()),
        (503, "busy".into()),
        (500, "oops".into()),
        ok(r#"{"e":"RING","n":"0311"}"#),
        ok("<html>Bad Gateway</html>"),
        ok(r#"{"e":"RING","n":"0322"}"#),
    ]));
    let dir = TempDir::new("watch-500");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n",
        srv.url("/ev")
    );
    let mut w = Watch::start(&dir, &param, &[], &[]);
    assert_eq!(w.event()["caller"], "0311");
    assert_eq!(w.event()["caller"], "0322");
    w.terminate();
    let (code, _, err) = w.finish();
    assert_eq!(code, STOPPED);
    let count = |s: &str| err.iter().filter(|l| l.contains(s)).count();
    assert_eq!(count("event source unavailable: HTTP 500"), 1, "{err:?}");
    assert_eq!(count("the answer is not JSON"), 1, "{err:?}");
    assert!(
        err.iter().any(|l| l.contains("<html>Bad Gateway</html>")),
        "excerpt: {err:?}"
    );
    assert_eq!(count("event source is back"), 2, "{err:?}");

    // Past <timeout3>: the answer is abandoned, the next poll goes on.
    let slow = StandIn::start({
        let n = AtomicUsize::new(0);
        move |_r: &Recorded| {
            if n.fetch_add(1, Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(1500));
                ok(r#"{"e":"RING","n":"0300"}"#)
            } else {
                ok(r#"{"e":"RING","n":"0333"}"#)
            }
        }
    });
    let dir = TempDir::new("watch-slow");
    let param = format!(
        "<global>\n<timeout1>0.1\n<timeout3>0.3\n<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n",
        slow.url("/ev")
    );
    let mut w = Watch::start(&dir, &param, &["--once"], &[]);
    assert_eq!(w.event()["caller"], "0333");
    let (code, _, err) = w.finish();
    assert_eq!(code, 0);
    assert!(
        err.iter()
            .any(|l| l.contains("no answer within <timeout3>") && l.contains("raise <timeout3>")),
        "{err:?}"
    );
}

#[test]
fn an_expired_token_is_renewed_once() {
    let valid = Arc::new(Mutex::new(String::from("tok-1")));
    let issued = Arc::new(AtomicUsize::new(0));
    let polls = Arc::new(AtomicUsize::new(0));
    let srv = StandIn::start({
        let valid = valid.clone();
        move |r: &Recorded| {
            if r.target.starts_with("/gettoken") {
                let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                return ok(&format!(r#"{{"token":"tok-{n}"}}"#));
            }
            let auth = r.header("Authorization").unwrap_or_default().to_owned();
            let mut v = valid.lock().expect("lock");
            if auth != format!("Bearer {v}") {
                return (401, "token expired".into());
            }
            match polls.fetch_add(1, Ordering::SeqCst) {
                // The first poll is served, then the token expires.
                0 => {
                    *v = "tok-2".into();
                    ok("{}")
                }
                _ => ok(r#"{"event":"RING","tel":"0388"}"#),
            }
        }
    });
    let dir = TempDir::new("watch-token");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<headers>Authorization: Bearer $token$\n<json_event>event\n<json_tel>tel\n<cliktocalltoken>\n<with_token>1\n<url>{}\n<json_token>token\n",
        srv.url("/getevent"),
        srv.url("/gettoken")
    );
    let mut w = Watch::start(&dir, &param, &["--once"], &[]);
    assert_eq!(w.event()["caller"], "0388");
    assert_eq!(w.finish().0, 0);
    let seen: Vec<(String, String)> = srv
        .requests()
        .iter()
        .map(|r| {
            (
                r.target.clone(),
                r.header("Authorization").unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("/gettoken", "-"),
        ("/getevent", "Bearer tok-1"),
        ("/getevent", "Bearer tok-1"),
        ("/gettoken", "-"),
        ("/getevent", "Bearer tok-2"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(seen, expected);
}

#[test]
fn an_instant_empty_source_is_not_polled_in_a_busy_loop() {
    let srv = StandIn::start(|_r: &Recorded| ok(""));
    let dir = TempDir::new("watch-busy");
    let param = format!(
        "<global>\n<timeout1>0\n<timeout2>0\n<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n",
        srv.url("/ev")
    );
    let w = Watch::start(&dir, &param, &["--for", "1"], &[]);
    let (code, out, _) = w.finish();
    assert_eq!((code, out.len()), (0, 0));
    let n = srv.requests().len();
    // 1 s at one poll per 100 ms at most.
    assert!((2..=12).contains(&n), "{n} polls in 1 s");
}

/// (Unix: the notifier is a stand-in `notify-send` on `PATH`.)
#[cfg(unix)]
#[test]
fn open_url_and_notifications() {
    let srv = StandIn::start(sequence(vec![
        ok(r#"{"e":"RING","n":"+33 3 88 20 20 20","id":"a&b"}"#),
        ok(r#"{"e":"RING","n":"0399","id":"c"}"#),
    ]));
    let dir = TempDir::new("watch-open");
    let (opener, opened) = recorder(&dir, "opener");
    let (_, notified) = recorder(&dir, "notify-send");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<tel_format>asdialled\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<popup>\n<open_url>https://erp.example/tiers?tel=$tel$&ref=$callref$\n<notify>1\n",
        srv.url("/ev")
    );
    // With a session bus and notify-send on PATH.
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let opener_s = opener.display().to_string();
    let mut w = Watch::start(
        &dir,
        &param,
        &["--once"],
        &[
            ("CTIBRIDGE_OPENER", opener_s.as_str()),
            ("PATH", path.as_str()),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent"),
        ],
    );
    assert_eq!(w.event()["caller"], "+33388202020");
    assert_eq!(w.finish().0, 0);
    assert_eq!(
        runs(&opened, 1),
        vec![vec![
            "https://erp.example/tiers?tel=%2B33388202020&ref=a%26b"
        ]]
    );
    let n = runs(&notified, 1);
    assert_eq!(n.len(), 1);
    assert_eq!(&n[0][..3], ["--app-name=ctibridge", "--", "Incoming call"]);
    // The number called is this desk's line when the events do not say.
    assert!(n[0][3].starts_with("+33388202020 → 1003"), "{:?}", n[0]);

    // Without a session bus: one warning for two calls, and the page still opens.
    let srv2 = StandIn::start(sequence(vec![
        ok(r#"{"e":"RING","n":"0311","id":"x"}"#),
        ok(r#"{"e":"RING","n":"0322","id":"y"}"#),
    ]));
    let dir2 = TempDir::new("watch-nobus");
    let (opener2, opened2) = recorder(&dir2, "opener");
    let param2 = param.replace(&srv.url("/ev"), &srv2.url("/ev"));
    let opener2_s = opener2.display().to_string();
    let mut w = Watch::start(
        &dir2,
        &param2,
        &[],
        &[("CTIBRIDGE_OPENER", opener2_s.as_str())],
    );
    w.event();
    w.event();
    w.terminate();
    let (code, _, err) = w.finish();
    assert_eq!(code, STOPPED);
    assert_eq!(runs(&opened2, 2).len(), 2);
    let warnings = err
        .iter()
        .filter(|l| l.contains("desktop notifications are off: no desktop session bus"))
        .count();
    assert_eq!(warnings, 1, "{err:?}");
}

/// Windows: the page opens with the opener, the notification is a toast;
/// where Windows takes none (Wine), one warning for two calls, and the
/// page still opens for each.
#[cfg(windows)]
#[test]
fn open_url_and_the_toast_on_windows() {
    let srv = StandIn::start(sequence(vec![
        ok(r#"{"e":"RING","n":"0311","id":"x"}"#),
        ok(r#"{"e":"RING","n":"0322","id":"y"}"#),
    ]));
    let dir = TempDir::new("watch-toast");
    let (opener, opened) = recorder(&dir, "opener");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<tel_format>asdialled\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<popup>\n<open_url>https://erp.example/tiers?tel=$tel$&ref=$callref$\n<notify>1\n",
        srv.url("/ev")
    );
    let opener_s = opener.display().to_string();
    let mut w = Watch::start(
        &dir,
        &param,
        &[],
        &[("CTIBRIDGE_OPENER", opener_s.as_str())],
    );
    w.event();
    w.event();
    w.terminate();
    let (code, _, err) = w.finish();
    assert_eq!(code, STOPPED, "{err:?}");
    assert_eq!(
        runs(&opened, 2),
        vec![
            vec!["https://erp.example/tiers?tel=0311&ref=x"],
            vec!["https://erp.example/tiers?tel=0322&ref=y"]
        ]
    );
    let warnings = err
        .iter()
        .filter(|l| l.contains("desktop notifications are off"))
        .count();
    assert!(warnings <= 1, "{err:?}");
}

#[test]
fn for_seconds_ends_a_quiet_watch_and_config_errors_exit_2() {
    let srv = StandIn::start(|_r: &Recorded| ok("{}"));
    let dir = TempDir::new("watch-for");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n",
        srv.url("/ev")
    );
    let w = Watch::start(&dir, &param, &["--for", "0.5"], &[]);
    assert_eq!(w.finish().0, 0);

    // No event source.
    let w = Watch::start(&dir, "<callto>\ncmd=callto:$teldest$\n", &["--once"], &[]);
    let (code, _, err) = w.finish();
    assert_eq!(code, 2);
    assert!(
        err.iter()
            .any(|l| l.contains("there are no events to watch")),
        "{err:?}"
    );

    // A command that cannot be split.
    let bad = format!("{param}<popup>\n<command>fiche \"$tel$\n");
    let w = Watch::start(&dir, &bad, &["--once"], &[]);
    let (code, _, err) = w.finish();
    assert_eq!(code, 2);
    assert!(
        err.iter().any(|l| l.contains("cannot be split into words")),
        "{err:?}"
    );
    assert!(srv.requests().len() >= 2);
}

/// The `<lookup>` section of a desk: the caller's name, company and
/// record reach the screen pop's argv and every JSON line of the call;
/// the ERP is asked once per call, not once per event; an unknown caller
/// pops with the number.
#[test]
fn the_caller_looked_up_reaches_the_pop_and_each_event_of_the_call() {
    let erp = StandIn::start(|r: &Recorded| match r.target.as_str() {
        "/erp?tel=0388202020" => {
            ok(r#"{"name":"Marie Dupont","company":"Dupont SA","id":"T0001"}"#)
        }
        _ => (404, "not found".into()),
    });
    let srv = StandIn::start(sequence(vec![
        ok(r#"{"e":"RING","n":"+33 3 88 20 20 20","id":"c1"}"#),
        ok(r#"{"e":"RELEASE","n":"+33 3 88 20 20 20","id":"c1"}"#),
        ok(r#"{"e":"RING","n":"0611111111","id":"c2"}"#),
    ]));
    let dir = TempDir::new("watch-names");
    let (rec, log) = recorder(&dir, "fiche");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<popup>\n<command>{} $tel$ \"$name$\" \"$company$\" $record$\n<lookup>\n<url>{}?tel=$tel$\n<json_name>name\n<json_company>company\n<json_record>id\n<lookup_timeout>5\n",
        srv.url("/getevent"),
        rec.display(),
        erp.url("/erp"),
    );
    let mut w = Watch::start(&dir, &param, &[], &[]);
    let ring = w.event();
    assert_eq!(
        (&ring["name"], &ring["company"], &ring["record"]),
        (
            &Value::from("Marie Dupont"),
            &Value::from("Dupont SA"),
            &Value::from("T0001")
        ),
        "{ring}"
    );
    assert_eq!(ring["screen_pop"], true);
    let release = w.event();
    assert_eq!(release["kind"], "release");
    assert_eq!(release["name"], "Marie Dupont", "{release}");
    let unknown = w.event();
    assert_eq!(unknown["caller"], "0611111111");
    assert_eq!(unknown["name"], Value::Null, "{unknown}");
    assert_eq!(
        runs(&log, 2),
        vec![
            vec!["0388202020", "Marie Dupont", "Dupont SA", "T0001"],
            vec!["0611111111"],
        ]
    );
    w.terminate();
    let (code, _, _) = w.finish();
    assert_eq!(code, STOPPED);
    let asked: Vec<String> = erp.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(asked, ["/erp?tel=0388202020", "/erp?tel=0611111111"]);
}

/// An ERP that does not answer in `<lookup_timeout>`: the pop goes out
/// with the number while the ERP still holds the request, and the outage
/// is logged once for three calls.
#[test]
fn a_slow_erp_never_holds_a_pop_back_and_its_outage_is_logged_once() {
    let (release, held) = mpsc::channel::<()>();
    let held = Mutex::new(held);
    let erp = StandIn::start(move |_r: &Recorded| {
        // Held until the test ends (at most 60 s).
        let _ = held
            .lock()
            .expect("held")
            .recv_timeout(Duration::from_secs(60));
        ok(r#"{"name":"too late"}"#)
    });
    let srv = StandIn::start(sequence(vec![
        ok(r#"{"e":"RING","n":"0388202020","id":"c1"}"#),
        ok(r#"{"e":"RING","n":"0388202020","id":"c2"}"#),
        ok(r#"{"e":"RING","n":"0612345678","id":"c3"}"#),
    ]));
    let dir = TempDir::new("watch-names-slow");
    let (rec, log) = recorder(&dir, "fiche");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<popup>\n<command>{} $tel$ $name$\n<lookup>\n<url>{}?tel=$tel$\n<json_name>name\n<lookup_timeout>0.3\n",
        srv.url("/getevent"),
        rec.display(),
        erp.url("/erp"),
    );
    let mut w = Watch::start(&dir, &param, &[], &[]);
    for _ in 0..3 {
        let e = w.event();
        assert_eq!(e["name"], Value::Null, "{e}");
    }
    // Every pop ran, with the number, while the ERP still held the
    // requests (`release` is not dropped yet).
    assert_eq!(
        runs(&log, 3),
        vec![vec!["0388202020"], vec!["0388202020"], vec!["0612345678"]]
    );
    w.wait_stderr("the caller lookup fails");
    w.terminate();
    let (code, _, err) = w.finish();
    drop(release);
    assert_eq!(code, STOPPED);
    let fails: Vec<&String> = err
        .iter()
        .filter(|l| l.contains("the caller lookup fails"))
        .collect();
    assert_eq!(fails.len(), 1, "{err:?}");
    assert!(
        fails[0].contains("no answer within <lookup_timeout> (300 ms)"),
        "{fails:?}"
    );
}

/// An ERP that is down (nothing listens): pops go on with the number, one
/// log line for the outage; once it is up, the next caller is named and
/// one line says it is back.
#[test]
fn an_erp_down_then_back_is_logged_once_each_way() {
    let erp_addr = free_addr();
    let (go, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let n = AtomicUsize::new(0);
    let srv = StandIn::start(move |_r: &Recorded| {
        match n.fetch_add(1, Ordering::SeqCst) {
            0 => ok(r#"{"e":"RING","n":"0388202020","id":"c1"}"#),
            1 => ok(r#"{"e":"RING","n":"0612345678","id":"c2"}"#),
            2 => {
                // Once the test has started the ERP.
                let _ = gate
                    .lock()
                    .expect("gate")
                    .recv_timeout(Duration::from_secs(20));
                ok(r#"{"e":"RING","n":"0388202020","id":"c3"}"#)
            }
            // Nothing more to say (watch polls at most every 100 ms).
            _ => (200, String::new()),
        }
    });
    let dir = TempDir::new("watch-names-down");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<lookup>\n<url>http://{erp_addr}/erp?tel=$tel$\n<json_name>name\n",
        srv.url("/getevent"),
    );
    let mut w = Watch::start(&dir, &param, &[], &[]);
    for _ in 0..2 {
        let e = w.event();
        assert_eq!(e["name"], Value::Null, "{e}");
    }
    w.wait_stderr("the caller lookup fails");
    let _erp = StandIn::start_at(erp_addr, |_r: &Recorded| ok(r#"{"name":"Marie Dupont"}"#));
    go.send(()).expect("gate");
    let e = w.event();
    assert_eq!(e["name"], "Marie Dupont", "{e}");
    w.wait_stderr("the caller lookup answers again, after 2 failed lookups");
    w.terminate();
    let (code, _, err) = w.finish();
    assert_eq!(code, STOPPED);
    assert_eq!(
        err.iter()
            .filter(|l| l.contains("the caller lookup fails"))
            .count(),
        1,
        "{err:?}"
    );
}

/// A desk's own `<report>` (no bridge server): each call `<report_when>`
/// takes is sent when it ends, with its keywords; a refusal is sent again.
#[test]
fn a_desk_reports_its_missed_calls_and_tries_again_after_a_refusal() {
    let tries = Arc::new(AtomicUsize::new(0));
    // The ERP says when each report reaches it.
    let (sent_tx, reached) = mpsc::channel::<()>();
    let sent_tx = Mutex::new(sent_tx);
    let erp = {
        let tries = tries.clone();
        StandIn::start(move |_r: &Recorded| {
            let _ = sent_tx.lock().expect("sent").send(());
            if tries.fetch_add(1, Ordering::SeqCst) == 0 {
                (503, "busy".into())
            } else {
                ok("OK")
            }
        })
    };
    let srv = StandIn::start(sequence(vec![
        ok(r#"{"e":"RING","n":"0388202020","id":"c1"}"#),
        ok(r#"{"e":"CONNECT","n":"0388202020","id":"c1"}"#),
        ok(r#"{"e":"RELEASE","n":"0388202020","id":"c1"}"#),
        ok(r#"{"e":"RING","n":"+33 6 11 11 11 11","id":"c2"}"#),
        ok(r#"{"e":"RELEASE","n":"+33 6 11 11 11 11","id":"c2"}"#),
    ]));
    let dir = TempDir::new("watch-report");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<report>\n<url>{}\n<report_when>missed\n<contenttype>application/json\n<data>{{\"state\":\"$state$\",\"tel\":\"$tele164$\",\"line\":\"$line$\",\"ringing\":$ringing$,\"id\":\"$reportid$\"}}\n<success_body>OK\n",
        srv.url("/getevent"),
        erp.url("/calls"),
    );
    let mut w = Watch::start(&dir, &param, &[], &[]);
    for _ in 0..5 {
        w.event();
    }
    for _ in 0..2 {
        reached
            .recv_timeout(DEADLINE)
            .expect("the report was not sent again");
    }
    w.terminate();
    assert_eq!(w.finish().0, STOPPED);
    let sent = erp.requests();
    assert_eq!(sent.len(), 2, "only the missed call, twice");
    for r in &sent {
        let v: Value = serde_json::from_str(&r.body).expect("json body");
        assert_eq!(v["state"], "missed");
        assert_eq!(v["tel"], "+33611111111");
        assert_eq!(v["line"], "1003");
        assert_eq!(v["id"], "1003-c2");
        assert!(v["ringing"].is_u64(), "{v}");
    }
}

/// An ERP that answers XML (the name in an element, the record in an
/// attribute): the names reach the pop's argv and `watch --json`.
#[test]
fn an_xml_erp_names_the_caller_too() {
    let erp = StandIn::start(|r: &Recorded| match r.target.as_str() {
        "/tiers?e164=%2B33388202020" => ok(
            r#"<?xml version="1.0"?><reponse><tiers ref="T0001"><nom>Marie Dupont</nom><societe>Dupont &amp; Fils</societe></tiers></reponse>"#,
        ),
        _ => (404, "<erreur/>".into()),
    });
    let srv = StandIn::start(sequence(vec![ok(
        r#"{"e":"RING","n":"33388202020","id":"x1"}"#,
    )]));
    let dir = TempDir::new("watch-names-xml");
    let (rec, log) = recorder(&dir, "fiche");
    let param = format!(
        "{FAST}<cliktocallevent>\n<with_event>1\n<url>{}\n<json_event>e\n<json_tel>n\n<json_callid>id\n<popup>\n<command>{} \"$name$\" \"$company$\" $record$\n<lookup>\n<url>{}?e164=$tele164$\n<type_return>xml\n<xml_name>nom\n<xml_company>societe\n<xml_record>tiers\n<xml_result_record_in_attrib>1\n<xml_record_attrib>ref\n<lookup_timeout>5\n",
        srv.url("/getevent"),
        rec.display(),
        erp.url("/tiers"),
    );
    let mut w = Watch::start(&dir, &param, &["--once"], &[]);
    let e = w.event();
    assert_eq!(e["name"], "Marie Dupont", "{e}");
    assert_eq!(e["company"], "Dupont & Fils", "{e}");
    assert_eq!(e["record"], "T0001", "{e}");
    assert_eq!(w.finish().0, 0);
    assert_eq!(
        runs(&log, 1),
        vec![vec!["Marie Dupont", "Dupont & Fils", "T0001"]]
    );
}
