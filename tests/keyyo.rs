//! The Keyyo profile against a stand-in Keyyo on 127.0.0.1 that behaves as
//! ../shared/PROVIDERS.md says: HTTP Digest (MD5 or SHA-256, qop=auth) or
//! source-address authentication, `OK` bodies, one request per second and
//! account answered "500 Come Back Later" when exceeded, makecall, sendsms
//! and setprofil. It counts what it accepted: a call placed twice is a bug.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{run, text, with_files, Recorded, Reply, StandIn, TempDir};
use md5::Md5;
use sha2::{Digest as _, Sha256};

const LINE: &str = "33972101010";
const PASSWORD: &str = "sip-secret";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Digest with this algorithm.
    Digest(&'static str),
    /// The source address is allowed: no credentials.
    SourceAddress,
}

/// What the stand-in accepted, by page.
#[derive(Default, Debug)]
struct Ledger {
    accepted: Vec<(String, HashMap<String, String>)>,
    /// Last accepted request per account.
    last: HashMap<String, Instant>,
    come_back_later: usize,
    challenges: usize,
    /// Answers forced before the normal behaviour (a busy account…).
    forced: Vec<Reply>,
}

struct Keyyo {
    srv: StandIn,
    ledger: Arc<Mutex<Ledger>>,
}

impl Keyyo {
    fn start(mode: Mode) -> Keyyo {
        Keyyo::with(mode, Vec::new())
    }

    fn with(mode: Mode, forced: Vec<Reply>) -> Keyyo {
        let ledger = Arc::new(Mutex::new(Ledger {
            forced,
            ..Ledger::default()
        }));
        let l = ledger.clone();
        let srv = StandIn::start_replying(move |r: &Recorded| keyyo(mode, &l, r));
        Keyyo { srv, ledger }
    }

    fn accepted(&self, page: &str) -> Vec<HashMap<String, String>> {
        self.ledger
            .lock()
            .expect("ledger")
            .accepted
            .iter()
            .filter(|(p, _)| p == page)
            .map(|(_, q)| q.clone())
            .collect()
    }
}

fn query(target: &str) -> (String, HashMap<String, String>) {
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let params = url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (path.trim_start_matches('/').to_owned(), params)
}

fn keyyo(mode: Mode, ledger: &Mutex<Ledger>, r: &Recorded) -> Reply {
    let mut l = ledger.lock().expect("ledger");
    let (page, q) = query(&r.target);
    if let Mode::Digest(algo) = mode {
        match r.header("Authorization") {
            None => {
                l.challenges += 1;
                return Reply::new(401, "Unauthorized").header(
                    "WWW-Authenticate",
                    &format!(r#"Digest realm="keyyo", qop="auth", algorithm={algo}, nonce="n0nce-{}", opaque="0paque""#, l.challenges),
                );
            }
            Some(h) => {
                if let Err(why) = check_digest(algo, "GET", h) {
                    return Reply::new(401, why);
                }
            }
        }
    }
    if !matches!(
        page.as_str(),
        "makecall.html" | "sendsms.html" | "setprofil.html"
    ) {
        return Reply::new(404, "Not Found");
    }
    let account = q.get("ACCOUNT").cloned().unwrap_or_default();
    if account != LINE {
        return Reply::new(200, "KO: unknown account");
    }
    // A dial with nothing to call places nothing (`doctor` sends one to see
    // its credentials accepted).
    if page == "makecall.html" && q.get("CALLEE").is_none_or(|c| c.is_empty()) {
        return Reply::new(200, "KO: CALLEE missing");
    }
    if !l.forced.is_empty() {
        let forced = l.forced.remove(0);
        if forced.body.contains("Come Back Later") {
            l.come_back_later += 1;
        }
        return forced;
    }
    let now = Instant::now();
    if let Some(prev) = l.last.get(&account) {
        if now.duration_since(*prev) < Duration::from_secs(1) {
            l.come_back_later += 1;
            return Reply::new(500, "500 Come Back Later");
        }
    }
    l.last.insert(account, now);
    l.accepted.push((page, q));
    Reply::new(200, "OK")
}

/// Checks an `Authorization: Digest` header as RFC 7616 defines it,
/// computed here independently of the client's crate.
fn check_digest(algo: &str, method: &str, header: &str) -> Result<(), String> {
    let rest = header.strip_prefix("Digest ").ok_or("not Digest")?;
    let mut p: HashMap<String, String> = HashMap::new();
    for item in split_params(rest) {
        let (k, v) = item.split_once('=').ok_or("bad item")?;
        p.insert(k.trim().to_owned(), v.trim().trim_matches('"').to_owned());
    }
    let get = |k: &str| p.get(k).cloned().ok_or(format!("no {k}"));
    let h = |s: String| -> String {
        if algo == "SHA-256" {
            hex(&Sha256::digest(s.as_bytes()))
        } else {
            hex(&Md5::digest(s.as_bytes()))
        }
    };
    if get("username")? != LINE || get("realm")? != "keyyo" {
        return Err("wrong user or realm".into());
    }
    if get("qop")? != "auth" || !get("algorithm")?.eq_ignore_ascii_case(algo) {
        return Err("wrong qop or algorithm".into());
    }
    let ha1 = h(format!("{LINE}:keyyo:{PASSWORD}"));
    let ha2 = h(format!("{method}:{}", get("uri")?));
    let expected = h(format!(
        "{ha1}:{}:{}:{}:auth:{ha2}",
        get("nonce")?,
        get("nc")?,
        get("cnonce")?
    ));
    if get("response")? == expected {
        Ok(())
    } else {
        Err("wrong response".into())
    }
}

fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A user file of three lines and the station settings.
fn setup(k: &Keyyo, with_credentials: bool) -> TempDir {
    let dir = TempDir::new("keyyo");
    dir.write(
        "clicktocall_param.txt",
        &format!("<global>\n<provider>keyyo\n<api_url>{}\n", k.srv.url("")),
    );
    let station = if with_credentials {
        format!("<telorg>{LINE}\n<user>{LINE}\n<mdp>{PASSWORD}\n")
    } else {
        format!("<telorg>{LINE}\n")
    };
    dir.write("station.txt", &station);
    dir
}

#[test]
fn a_three_line_file_places_a_call_with_digest_md5_and_sha256() {
    for algo in ["MD5", "SHA-256"] {
        let k = Keyyo::start(Mode::Digest(algo));
        let dir = setup(&k, true);
        let out = run(&dir, &["dial", "03 88 20 20 20", "--name", "Dupont & Fils"]);
        assert_eq!(out.status.code(), Some(0), "{algo}: {}", text(&out.stderr));
        let calls = k.accepted("makecall.html");
        assert_eq!(calls.len(), 1, "{algo}");
        let c = &calls[0];
        assert_eq!(c["ACCOUNT"], LINE);
        assert_eq!(c["CALLEE"], "33388202020");
        assert_eq!(c["CALLEE_NAME"], "Dupont & Fils");
        assert!(
            !c.contains_key("CALLER") && !c.contains_key("RECORD"),
            "{c:?}"
        );
    }
}

#[test]
fn mise_en_relation_and_record() {
    let k = Keyyo::start(Mode::Digest("MD5"));
    let dir = setup(&k, true);
    let out = run(
        &dir,
        &["dial", "0388202020", "--from", "06 11 22 33 44", "--record"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let c = &k.accepted("makecall.html")[0];
    assert_eq!(c["CALLER"], "33611223344");
    assert_eq!(c["RECORD"], "1");
    assert!(!c.contains_key("CALLEE_NAME"));
}

#[test]
fn source_address_mode_needs_no_credentials_and_digest_says_what_is_missing() {
    let k = Keyyo::start(Mode::SourceAddress);
    let dir = setup(&k, false);
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(k.accepted("makecall.html").len(), 1);

    let k = Keyyo::start(Mode::Digest("MD5"));
    let dir = setup(&k, false);
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(5));
    let err = text(&out.stderr);
    assert!(err.contains("wants credentials"), "{err}");
    assert!(err.contains("(built-in) params/keyyo.txt"), "{err}");
    assert!(k.accepted("makecall.html").is_empty());

    // A wrong password: the challenge is answered once, then refused.
    let k = Keyyo::start(Mode::Digest("SHA-256"));
    let dir = setup(&k, true);
    dir.write(
        "station.txt",
        &format!("<telorg>{LINE}\n<user>{LINE}\n<mdp>not-the-password-7q\n"),
    );
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(k.srv.requests().len(), 2);
    // Said as what it is: the station's credentials, and what they are.
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "the provider refused the credentials of `<user>` {LINE}: HTTP 401 after the Digest answer"
        )),
        "{err}"
    );
    assert!(
        err.contains("`<user>` is the line in international form without +"),
        "{err}"
    );
    assert!(
        !err.contains("not-the-password-7q"),
        "the password never shown: {err}"
    );
}

#[test]
fn come_back_later_is_sent_again_and_the_call_placed_once() {
    let k = Keyyo::with(
        Mode::Digest("MD5"),
        vec![Reply::new(500, "500 Come Back Later")],
    );
    let dir = setup(&k, true);
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(k.accepted("makecall.html").len(), 1);
    let authorised: Vec<Instant> = k
        .srv
        .requests()
        .iter()
        .filter(|r| r.header("Authorization").is_some())
        .map(|r| r.at)
        .collect();
    assert_eq!(authorised.len(), 2);
    assert!(
        authorised[1].duration_since(authorised[0]) >= Duration::from_millis(950),
        "sent again only after a second"
    );

    // Always busy: 1 + 3 tries, nothing placed, exit 5 saying so.
    let busy = vec![Reply::new(500, "Comeback later..."); 10];
    let k = Keyyo::with(Mode::SourceAddress, busy);
    let dir = setup(&k, false);
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(5));
    let err = text(&out.stderr);
    assert!(err.contains("asked 4 times to come back later"), "{err}");
    assert!(err.contains("was not made"), "{err}");
    assert_eq!(k.srv.requests().len(), 4);
    assert!(k.accepted("makecall.html").is_empty());
}

#[test]
fn two_dials_at_once_keep_one_request_per_second() {
    let k = Keyyo::start(Mode::Digest("MD5"));
    let dir = setup(&k, true);
    let spawn = || {
        with_files(&dir)
            .args(["dial", "0388202020"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    for c in [a, b] {
        let out = c.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(k.accepted("makecall.html").len(), 2);
    assert_eq!(
        k.ledger.lock().expect("ledger").come_back_later,
        0,
        "the pace file spaced them"
    );
}

#[test]
fn an_answer_other_than_ok_is_not_retried() {
    let k = Keyyo::with(
        Mode::SourceAddress,
        vec![Reply::new(200, "KO: callee unreachable")],
    );
    let dir = setup(&k, false);
    let out = run(&dir, &["dial", "0388202020"]);
    assert_eq!(out.status.code(), Some(5));
    let err = text(&out.stderr);
    assert!(err.contains("did not confirm the call"), "{err}");
    assert!(err.contains("may or may not have been made"), "{err}");
    assert_eq!(k.srv.requests().len(), 1);
}

#[test]
fn sms_and_forwarding_profile() {
    let k = Keyyo::start(Mode::Digest("SHA-256"));
    let dir = setup(&k, true);
    let out = run(&dir, &["sms", "06 11 22 33 44", "Rappel: RDV à 10h & café"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sms = k.accepted("sendsms.html");
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["CALLEE"], "33611223344");
    assert_eq!(sms[0]["MSG"], "Rappel: RDV à 10h & café");

    let long = "x".repeat(65);
    let out = run(&dir, &["sms", "0611223344", &long]);
    // Bad input, not a configuration error: nothing was sent.
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("at most 64"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&dir, &["forward-profile", "Absent"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(k.accepted("setprofil.html")[0]["PROFIL"], "Absent");

    // --dry-run: the exact request, and nothing sent.
    let requests = k.srv.requests().len();
    let out = run(&dir, &["sms", "--dry-run", "06 11 22 33 44", "Rappel 10h"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!(
            "/sendsms.html?ACCOUNT={LINE}&CALLEE=33611223344&MSG=Rappel%2010h"
        )),
        "{shown}"
    );
    let out = run(&dir, &["forward-profile", "--dry-run", "Bureau"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!("/setprofil.html?ACCOUNT={LINE}&PROFIL=Bureau")),
        "{shown}"
    );
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert_eq!(k.srv.requests().len(), requests, "a dry run sends nothing");
    // sms and forward-profile sent nothing else.
    assert_eq!(k.accepted("sendsms.html").len(), 1);
    assert_eq!(k.accepted("setprofil.html").len(), 1);
}

#[test]
fn check_shows_what_comes_from_the_profile_and_profiles_lists_them() {
    let k = Keyyo::start(Mode::SourceAddress);
    let dir = setup(&k, false);
    let out = run(&dir, &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    assert!(
        o.contains("profile      (built-in) params/keyyo.txt"),
        "{o}"
    );
    let line = |tag: &str| {
        o.lines()
            .find(|l| l.trim_start().starts_with(tag))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("success_body").contains("(built-in) params/keyyo.txt:"),
        "{o}"
    );
    assert!(line("api_url").contains("clicktocall_param.txt:3"), "{o}");

    let out = run(&dir, &["profiles"]);
    assert!(text(&out.stdout).contains("keyyo") && text(&out.stdout).contains("ovh"));
    let out = run(&dir, &["profiles", "show", "keyyo"]);
    assert!(text(&out.stdout).contains("makecall.html"));
    let out = run(&dir, &["profiles", "show", "keyo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean `keyyo`?"));
    dir.write("clicktocall_param.txt", "<global>\n<provider>kyeyo\n");
    let out = run(&dir, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `keyyo`?"),
        "{}",
        text(&out.stderr)
    );
}

/// `doctor` answers Keyyo's Digest challenge on a dial with no number:
/// accepted credentials, refused ones (exit 5, with what to check), and an
/// account that trusts the source address. No call is ever placed.
#[test]
fn doctor_answers_the_digest_challenge_and_places_nothing() {
    // The profile's event source (a bridge server) is not part of this.
    let without_events = |k: &Keyyo, with_credentials: bool| {
        let dir = setup(k, with_credentials);
        let user = std::fs::read_to_string(dir.path().join("clicktocall_param.txt")).expect("read");
        dir.write(
            "clicktocall_param.txt",
            &format!("{user}<cliktocallevent>\n<with_event>0\n"),
        );
        dir
    };
    let k = Keyyo::start(Mode::Digest("SHA-256"));
    let dir = without_events(&k, true);
    let out = run(&dir, &["doctor"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(
        shown.contains("ok    digest       the Digest challenge was answered and the credentials accepted (to a dial with no number, which places nothing, the provider answered HTTP 200 \"KO: CALLEE missing\")"),
        "{shown}"
    );
    assert!(shown.contains("skip  events"), "{shown}");

    // A wrong SIP password.
    dir.write(
        "station.txt",
        &format!("<telorg>{LINE}\n<user>{LINE}\n<mdp>wrong-password\n"),
    );
    let out = run(&dir, &["doctor"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{shown}");
    assert!(
        shown.contains("FAIL  digest       the credentials were refused after the Digest answer"),
        "{shown}"
    );
    assert!(
        shown.contains("<user> is the line in international form"),
        "{shown}"
    );
    assert!(!shown.contains("wrong-password") && !text(&out.stderr).contains("wrong-password"));
    assert!(k.accepted("makecall.html").is_empty());

    // The Keyyo manager allows this address: no challenge at all.
    let k = Keyyo::start(Mode::SourceAddress);
    let dir = without_events(&k, false);
    let out = run(&dir, &["doctor"]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(
        shown.contains(
            "ok    digest       no challenge: the provider trusts this computer's address"
        ),
        "{shown}"
    );
    assert!(k.accepted("makecall.html").is_empty());
}
