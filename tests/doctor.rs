//! `ctibridge doctor` against real servers on 127.0.0.1: the bridge server
//! (`serve --sim`, over HTTPS with a test authority) for a desk, and the
//! server's own file for `doctor --server`. Each check is seen to succeed
//! and to fail, with the exit code of the first failure. (The OVH and
//! Keyyo checks are in tests/ovh.rs and tests/keyyo.rs, next to their
//! stand-ins.)

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::tls::{authority, server_cert};
use common::{ctibridge, free_addr, text, Recorded, StandIn, TempDir};

/// The repository's sample desk pointed at `https://localhost:PORT`, with
/// `cafile` as its `<cafile>` when given.
fn desk(dir: &TempDir, addr: SocketAddr, cafile: Option<&Path>) -> PathBuf {
    let sys = dir.path().join("sys");
    std::fs::create_dir_all(&sys).expect("mkdir");
    let param = std::fs::read_to_string("samples/clicktocall_param.txt").expect("sample");
    let mut param = param.replace(
        "http://localhost:8082",
        &format!("https://localhost:{}", addr.port()),
    );
    if let Some(ca) = cafile {
        param = param.replacen(
            "\n<global>\n",
            &format!("\n<global>\n<cafile>{}\n", ca.display()),
            1,
        );
    }
    std::fs::write(sys.join("clicktocall_param.txt"), param).expect("write");
    std::fs::copy("samples/tapi_param.txt", sys.join("tapi_param.txt")).expect("copy");
    sys
}

fn doctor(dir: &TempDir, sys: &Path, station: &Path) -> Output {
    ctibridge(dir)
        .arg("--sys-dir")
        .arg(sys)
        .arg("--station")
        .arg(station)
        .arg("doctor")
        .output()
        .expect("doctor")
}

/// The lines of `out` that start with `status` (ok, warn, skip, FAIL).
fn lines_of(out: &Output, status: &str) -> Vec<String> {
    text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&format!("{status} ")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_desk_of_the_bridge_server_over_https() {
    let dir = TempDir::new("doctor-desk");
    let ca = authority("ctibridge doctor CA");
    let ca_file = dir.write("ca.pem", &ca.pem());
    let (cert, key) = server_cert(&ca, 2999);
    dir.write("cert.pem", &cert);
    dir.write("key.pem", &key);
    let file = dir.write(
        "server_param.txt",
        "<server>\n<simulator>1\n<tls_cert>cert.pem\n<tls_key>key.pem\n\
         <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>1003\n",
    );
    let addr = free_addr();
    let _srv = common::serve_file_logged(&dir, &file, addr);
    let station = Path::new("samples/station.txt");

    // Everything in place.
    let sys = desk(&dir, addr, Some(&ca_file));
    let out = doctor(&dir, &sys, station);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    let port = addr.port();
    assert!(
        shown.contains(&format!(
            "ok    https localhost:{port} certificate trusted, valid until 2999-01-01"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("ok    token        the token request gave a token"),
        "{shown}"
    );
    assert!(
        shown.contains("ok    events       the event source"),
        "{shown}"
    );
    assert!(
        shown.contains("ok    dial         a dial sends the token checked above"),
        "{shown}"
    );
    assert!(lines_of(&out, "FAIL").is_empty(), "{shown}");
    assert!(
        shown.ends_with("everything a dial and a screen pop need is in place\n"),
        "{shown}"
    );

    // The desk does not trust the server's authority: the certificate
    // check says so and what to set; nothing reaches the server (exit 4).
    let sys = desk(&dir, addr, None);
    let out = doctor(&dir, &sys, station);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{shown}");
    let failed = lines_of(&out, "FAIL");
    assert!(
        failed[0].starts_with(&format!("FAIL  https localhost:{port}")),
        "{shown}"
    );
    assert!(
        shown.contains("set <cafile> to that authority's PEM file"),
        "{shown}"
    );

    // A wrong desk secret: the token is refused (exit 5), with the
    // server's reason and what to check.
    let sys = desk(&dir, addr, Some(&ca_file));
    let wrong = dir.write(
        "station-wrong.txt",
        &std::fs::read_to_string(station)
            .expect("station")
            .replace("<mdp>paul-desk-secret", "<mdp>not-the-secret"),
    );
    let out = doctor(&dir, &sys, &wrong);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{shown}");
    let failed = lines_of(&out, "FAIL");
    assert!(
        failed[0].starts_with("FAIL  token        the token request was refused: HTTP 401"),
        "{shown}"
    );
    assert!(!shown.contains("not-the-secret") && !text(&out.stderr).contains("not-the-secret"));

    // A file with an error: nothing is sent, exit 2.
    std::fs::write(
        sys.join("clicktocall_param.txt"),
        "<cliktocalldial>\n<methode>FETCH\n",
    )
    .expect("write");
    let out = doctor(&dir, &sys, station);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(lines_of(&out, "FAIL")[0].starts_with("FAIL  files"));
}

#[test]
fn a_long_poll_held_open_is_an_event_source_that_answers() {
    // An event source that holds every poll until the test ends (at most
    // 60 s), as a long-polling source with no call to tell does.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let held = std::sync::Mutex::new(held);
    let source = StandIn::start(move |r: &Recorded| {
        if r.target.starts_with("/events") {
            let _ = held
                .lock()
                .expect("held")
                .recv_timeout(std::time::Duration::from_secs(60));
            return (200, r#"{"event":"","tel":""}"#.into());
        }
        (404, "no such page".into())
    });
    let dir = TempDir::new("doctor-held");
    let sys = dir.path().join("sys");
    std::fs::create_dir_all(&sys).expect("mkdir");
    std::fs::write(
        sys.join("clicktocall_param.txt"),
        format!(
            "<global>\n<timeout3>35\n<cliktocalldial>\n<url>{}\n\
             <cliktocallevent>\n<with_event>1\n<url>{}\n<type_return>json\n<json_event>event\n<json_tel>tel\n",
            source.url("/dial?to=$teldest$"),
            source.url("/events?line=$telorg$")
        ),
    )
    .expect("write");
    let out = doctor(&dir, &sys, Path::new("samples/station.txt"));
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(
        shown.contains("ok    events       the event source held the poll open for 3 s, as a long poll waiting for a call does"),
        "{shown}"
    );
    // Nothing was dialled.
    assert!(source
        .requests()
        .iter()
        .all(|r| r.target.starts_with("/events")));
    drop(release);
}

#[test]
fn the_servers_certificate_address_and_journal() {
    let dir = TempDir::new("doctor-server");
    let ca = authority("ctibridge doctor CA");
    let (cert, key) = server_cert(&ca, 2999);
    dir.write("cert.pem", &cert);
    dir.write("key.pem", &key);
    let (expired, expired_key) = server_cert(&ca, 2001);
    dir.write("expired.pem", &expired);
    dir.write("expired-key.pem", &expired_key);
    let addr = free_addr();
    let server_file = |cert: &str, key: &str, journal: &str| {
        dir.write(
            "server_param.txt",
            &format!(
                "<server>\n<listen>{addr}\n<simulator>1\n<tls_cert>{cert}\n<tls_key>{key}\n<journal>{journal}\n\
                 <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>1003\n"
            ),
        )
    };
    let run = |file: &Path| {
        ctibridge(&dir)
            .args(["doctor", "--server"])
            .arg(file)
            .output()
            .expect("doctor")
    };

    let file = server_file("cert.pem", "key.pem", "journal.sqlite");
    let out = run(&file);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    assert!(shown.contains("ok    certificate"), "{shown}");
    assert!(shown.contains("valid until 2999-01-01"), "{shown}");
    assert!(
        shown.contains(&format!("ok    listen       {addr} is free")),
        "{shown}"
    );
    assert!(
        shown.contains("journal.sqlite does not exist yet"),
        "{shown}"
    );
    assert!(
        shown.contains("skip  provider     the simulator"),
        "{shown}"
    );

    // The server runs: its journal exists and its address is taken — by
    // itself, which doctor recognises (its /healthz).
    let srv = common::serve_file_logged(&dir, &file, addr);
    let out = run(&file);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains(&format!(
            "ok    listen       {addr}: ctibridge serve runs there (its /healthz says ok)"
        )),
        "{shown}"
    );
    assert!(shown.contains("journal.sqlite can be written"), "{shown}");
    drop(srv);
    // Another program on the port: a warning saying so.
    let other = std::net::TcpListener::bind(addr).expect("bind");
    let out = run(&file);
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!(
            "warn  listen       {addr} is in use, and not by a ctibridge server"
        )),
        "{shown}"
    );
    drop(other);

    // An expired certificate: exit 2, saying when it expired.
    let file = server_file("expired.pem", "expired-key.pem", "journal.sqlite");
    let out = run(&file);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("FAIL  files"));
    assert!(
        text(&out.stderr).contains("the certificate expired on"),
        "{}",
        text(&out.stderr)
    );

    // A journal in a folder that does not exist: exit 1.
    let file = server_file("cert.pem", "key.pem", "no-such-folder/journal.sqlite");
    let out = run(&file);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("FAIL  journal"), "{shown}");
    assert!(shown.contains("cannot be created in"), "{shown}");

    // A file that is not a journal.
    dir.write("notes.txt", "not a database\n");
    let file = server_file("cert.pem", "key.pem", "notes.txt");
    let out = run(&file);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("notes.txt is not an SQLite database"));
}

/// The ERP sections: `<lookup>` asked once for a sample number (found or
/// not, the request works; refused: exit 5), a directory counted, and the
/// server's report outbox read from its journal (refusals are a warning).
#[test]
fn the_lookup_is_asked_once_and_the_report_outbox_read() {
    let erp = StandIn::start(
        |r: &Recorded| match (r.header("Authorization"), r.target.as_str()) {
            (Some("Bearer good-key-123"), "/tiers?tel=%2B33388202020") => {
                (200, r#"{"name":"Marie Dupont"}"#.into())
            }
            (Some("Bearer good-key-123"), _) => (500, "report refused".into()),
            _ => (401, "who are you".into()),
        },
    );
    let dir = TempDir::new("doctor-erp");
    dir.write("station.txt", "<telorg>1003\n");
    let desk = |key: &str| {
        dir.write(
            "clicktocall_param.txt",
            &format!(
                "<callto>\ncmd=callto:$teldest$\n<lookup>\n<url>{}?tel=$tele164$\n<headers>Authorization: Bearer {key}\n<json_name>name\n\
                 <report>\n<url>{}\n<success_body>OK\n",
                erp.url("/tiers"),
                erp.url("/calls")
            ),
        );
        let out = common::with_files(&dir)
            .arg("doctor")
            .output()
            .expect("doctor");
        (out.status.code(), text(&out.stdout))
    };
    let (code, shown) = desk("good-key-123");
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("ok    lookup       the ERP answered in")
            && shown.contains("(+33388202020: Marie Dupont)"),
        "{shown}"
    );
    assert!(
        shown.contains("skip  report       not sent by doctor"),
        "{shown}"
    );
    let (code, shown) = desk("wrong-key-456");
    assert_eq!(code, Some(5), "{shown}");
    assert!(
        shown.contains("FAIL  lookup       +33388202020: HTTP 401"),
        "{shown}"
    );
    assert!(!shown.contains("wrong-key-456"), "{shown}");

    // A server with a directory, and reports the ERP refuses.
    dir.write(
        "annuaire.csv",
        "nom;tel\nMarie Dupont;03 88 20 20 20\nPaul;n/a\n",
    );
    let secret = "0123456789abcdef-doctor";
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<keyyo_notify>\n<secret>{secret}\n<sources>127\\.0\\.0\\.1\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n\
             <lookup>\n<directory>annuaire.csv\n<report>\n<url>{}\n<headers>Authorization: Bearer good-key-123\n<success_body>OK\n",
            erp.url("/calls")
        ),
    );
    let run = || {
        let out = ctibridge(&dir)
            .args(["doctor", "--server"])
            .arg(&file)
            .output()
            .expect("doctor");
        (out.status.code(), text(&out.stdout))
    };
    let (code, shown) = run();
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains(
            "warn  lookup       1 people in the directory; 1 line(s) skipped, the first: line 3"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("skip  outbox       no journal file yet"),
        "{shown}"
    );
    let addr = free_addr();
    let (srv, log) = common::serve_file_logged(&dir, &file, addr);
    for kind in ["SETUP", "RELEASE"] {
        let target = format!(
            "/keyyo/notify?secret={secret}&account=33972101010&caller=33388202020&callee=33972101010&callref=d1&type={kind}&version=1&tsms=1700000000000"
        );
        let (status, _) = common::exchange(
            std::net::TcpStream::connect(addr).expect("connect"),
            &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(status, 200);
    }
    // Once the server says the ERP does not take it.
    loop {
        let line = log
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the report was never refused");
        if line.contains("a call report is not taken") {
            break;
        }
    }
    let (code, shown) = run();
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains(
            "warn  outbox       1 report(s) waiting, 1 refused by the ERP at least once; 0 taken"
        ),
        "{shown}"
    );
    drop(srv);
}
