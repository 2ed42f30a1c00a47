//! `ctibridge dial` against stand-in servers on 127.0.0.1 that record what
//! they received.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{dial, text, StandIn, TempDir};

const STATION: &str = "<user>paul\n<mdp>s3cret\n<ident>desk1\n<telorg>1003\n";

fn ok(_: &common::Recorded) -> (u16, String) {
    (200, "OK".into())
}

#[test]
fn post_form_with_data_dataencode_and_both_header_forms() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-post");
    let param = format!(
        "<cliktocalldial>\n<url>{}?ident=$ident$&tel=$teldest$&e=$event$\n<data>XML=\n<dataencode><call to=\"$teldest$\" from='$telorg$'/>\n<headers>Authentification=$auth$|X-Login: $user$\n",
        srv.url("/api/setevent")
    );
    let out = dial(&dir, &param, STATION, "03 88 20 20 20", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/api/setevent?ident=desk1&tel=0388202020&e=DIAL");
    assert_eq!(
        r.body,
        "XML=%3Ccall+to%3D%220388202020%22+from%3D%271003%27%2F%3E"
    );
    assert_eq!(r.header("Authentification"), Some("cGF1bDpzM2NyZXQ="));
    assert_eq!(r.header("X-Login"), Some("paul"));
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[test]
fn get_and_put_and_json_and_xml_bodies() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-methods");
    let station = "<user>pa\"ul<&>\n<ident>desk 1&x=2#frag\n";
    let get = format!(
        "<cliktocalldial>\n<url>{}?i=$ident$&n=$teldest$\n<methode>GET\n",
        srv.url("/get")
    );
    assert_eq!(
        dial(&dir, &get, station, "0388202020", &[]).status.code(),
        Some(0)
    );
    let put = format!(
        "<cliktocalldial>\n<url>{}\n<methode>PUT\n<contenttype>application/json\n<data>{{\"user\":\"$user$\",\"to\":\"$teldest$\"}}\n",
        srv.url("/put")
    );
    assert_eq!(
        dial(&dir, &put, station, "0388202020", &[]).status.code(),
        Some(0)
    );
    let xml = format!("<cliktocalldial>\n<url>{}\n<contenttype>text/xml\n<data><call user='$user$'>$teldest$</call>\n", srv.url("/xml"));
    assert_eq!(
        dial(&dir, &xml, station, "0388202020", &[]).status.code(),
        Some(0)
    );
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        (
            reqs[0].method.as_str(),
            reqs[0].target.as_str(),
            reqs[0].body.as_str()
        ),
        ("GET", "/get?i=desk%201%26x%3D2%23frag&n=0388202020", "")
    );
    assert_eq!(reqs[1].method, "PUT");
    assert_eq!(reqs[1].body, r#"{"user":"pa\"ul<&>","to":"0388202020"}"#);
    assert_eq!(reqs[1].header("Content-Type"), Some("application/json"));
    assert_eq!(
        reqs[2].body,
        "<call user='pa&quot;ul&lt;&amp;&gt;'>0388202020</call>"
    );
}

#[test]
fn injection_attempts_in_numbers_are_refused_before_anything_is_sent() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-inject");
    let param = format!("<cliktocalldial>\n<url>{}?tel=$teldest$\n", srv.url("/d"));
    for bad in [
        "0388&admin=1",
        "0388#x",
        "0388%0d%0aX: y",
        "callto:0388\r\nX: y",
        "0388\"",
        "$(reboot)",
        "tel:0388;x=\"",
        "abc",
        "0388 ; rm -rf /",
    ] {
        let out = dial(&dir, &param, STATION, bad, &[]);
        assert_eq!(out.status.code(), Some(3), "{bad:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("nothing was sent"), "{bad:?}");
    }
    assert_eq!(srv.requests().len(), 0);
}

#[test]
fn a_refused_dial_is_reported_and_never_sent_twice() {
    let srv = StandIn::start(|_| (500, "Internal trouble: line busy".into()));
    let dir = TempDir::new("dial-refused");
    let param = format!(
        "<global>\n<cliktocalldial>\n<url>{}?tel=$teldest$\n",
        srv.url("/d")
    );
    let out = dial(&dir, &param, STATION, "0388202020", &[]);
    assert_eq!(out.status.code(), Some(5));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: the provider refused the call: HTTP 500"),
        "{err}"
    );
    assert!(err.contains("clicktocall_param.txt:3:6"), "{err}");
    assert!(
        err.contains("the server answered: Internal trouble: line busy"),
        "{err}"
    );
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn an_unreachable_server_means_nothing_was_sent() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = TempDir::new("dial-unreachable");
    let param = format!("<cliktocalldial>\n<url>http://127.0.0.1:{port}/d?tel=$teldest$\n");
    let out = dial(&dir, &param, STATION, "0388202020", &[]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
}

/// A token server: `/token` answers `body_for(n)` for the n-th token (from
/// 1); `/dial` accepts only `Bearer tok<current>`.
fn token_server(body_for: TokenBody) -> (StandIn, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let issued2 = issued.clone();
    let srv = StandIn::start(move |r| {
        if r.target.starts_with("/token") {
            let n = issued2.fetch_add(1, Ordering::SeqCst) + 1;
            (200, body_for(n))
        } else {
            let want = format!("Bearer tok{}", issued2.load(Ordering::SeqCst));
            if r.header("Authorization") == Some(want.as_str()) {
                (200, "OK".into())
            } else {
                (401, "bad token".into())
            }
        }
    });
    (srv, issued)
}

fn token_param(srv: &StandIn, token_tags: &str) -> String {
    format!(
        "<cliktocalldial>\n<url>{}?tel=$teldest$\n<headers>Authorization: Bearer $token$\n<cliktocalltoken>\n<with_token>1\n<url>{}?ident=$ident$\n{token_tags}",
        srv.url("/dial"),
        srv.url("/token")
    )
}

/// The body of the n-th token answer.
type TokenBody = fn(usize) -> String;

#[test]
fn token_in_each_answer_format() {
    let cases: [(TokenBody, &str); 5] = [
        (|n| format!(r#"{{"token":"tok{n}"}}"#), "<json_token>token\n"),
        (|n| format!(r#"{{"data":{{"auth":{{"token":"tok{n}"}}}}}}"#), "<json_token>$.data.auth.token\n"),
        (|n| format!("<r><token>tok{n}</token></r>"), "<type_return>xml\n<xml_token>token\n"),
        (|n| format!("<r><token value='tok{n}'/></r>"), "<type_return>xml\n<xml_token>token\n<xml_result_token_in_attrib>1\n<xml_token_attrib>value\n"),
        (|n| format!("  tok{n}\n"), "<type_return>text\n"),
    ];
    for (body, tags) in cases {
        let (srv, _) = token_server(body);
        let dir = TempDir::new("dial-token");
        let out = dial(&dir, &token_param(&srv, tags), STATION, "0388202020", &[]);
        assert_eq!(out.status.code(), Some(0), "{tags}: {}", text(&out.stderr));
        let targets: Vec<String> = srv.requests().iter().map(|r| r.target.clone()).collect();
        assert_eq!(
            targets,
            ["/token?ident=desk1", "/dial?tel=0388202020"],
            "{tags}"
        );
    }
}

#[test]
fn token_is_cached_then_renewed_once_when_refused() {
    let (srv, issued) = token_server(|n| format!(r#"{{"token":"tok{n}"}}"#));
    let dir = TempDir::new("dial-token-cache");
    let param = token_param(&srv, "<json_token>token\n");
    assert_eq!(
        dial(&dir, &param, STATION, "0388202020", &[]).status.code(),
        Some(0)
    );
    // Second launch: the cached token, no token request.
    assert_eq!(
        dial(&dir, &param, STATION, "0388202021", &[]).status.code(),
        Some(0)
    );
    assert_eq!(srv.requests().len(), 3);
    // The server forgets the token (as if it expired): the cached one is
    // refused with 401, a new one is fetched, the dial is sent again once.
    issued.fetch_add(10, Ordering::SeqCst);
    let out = dial(&dir, &param, STATION, "0388202022", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tail: Vec<(String, Option<String>)> = srv.requests()[3..]
        .iter()
        .map(|r| {
            (
                r.target.clone(),
                r.header("Authorization").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        tail,
        [
            (
                "/dial?tel=0388202022".to_owned(),
                Some("Bearer tok1".to_owned())
            ),
            ("/token?ident=desk1".to_owned(), None),
            (
                "/dial?tel=0388202022".to_owned(),
                Some("Bearer tok12".to_owned())
            ),
        ]
    );
    // The cache file is the owner's only.
    #[cfg(unix)]
    for e in std::fs::read_dir(dir.path().join("cache/tokens")).expect("cache") {
        use std::os::unix::fs::PermissionsExt;
        let mode = e
            .expect("entry")
            .metadata()
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn a_fresh_token_refused_is_not_retried() {
    let srv = StandIn::start(|r| {
        if r.target.starts_with("/token") {
            (200, r#"{"token":"x"}"#.into())
        } else {
            (403, "no".into())
        }
    });
    let dir = TempDir::new("dial-token-fresh");
    let out = dial(
        &dir,
        &token_param(&srv, "<json_token>token\n"),
        STATION,
        "0388202020",
        &[],
    );
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn a_token_missing_from_the_answer_points_at_its_tag() {
    let srv = StandIn::start(|_| (200, r#"{"access_token":"abc","expires":3600}"#.into()));
    let dir = TempDir::new("dial-token-missing");
    let out = dial(
        &dir,
        &token_param(&srv, "<json_token>token\n"),
        STATION,
        "0388202020",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: no token in the answer: the json field `token` is absent"),
        "{err}"
    );
    assert!(err.contains("clicktocall_param.txt:7:13"), "{err}");
    assert!(
        err.contains(r#"the answer starts with: {"access_token":"abc","expires":3600}"#),
        "{err}"
    );
    // Only the token request: nothing was dialled.
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn dry_run_prints_the_requests_with_secrets_masked_and_sends_nothing() {
    let dir = TempDir::new("dial-dry");
    let param = "<cliktocalldial>\n<url>http://cti.example:8080/dial?ident=$ident$&tel=$teldest$&token=$token$\n<data>user=$user$&pwd=$mdp$\n<headers>Authorization: Basic $auth$|X-Api-Key: literal-secret|X-Desk: $telorg$\n\
                 <cliktocalltoken>\n<with_token>1\n<url>http://cti.example:8080/token\n<methode>POST\n<data>login=$user$&password=$mdp$\n<json_token>token\n";
    let out = dial(
        &dir,
        param,
        "<user>paul\n<mdp>s3cret\n<ident>desk1\n<telorg>1003\n<prefix>0\n",
        "tel:03-88-20-20-20",
        &["--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = text(&out.stdout);
    let golden = std::path::Path::new("tests/golden/dry_run.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden, &got).expect("write golden");
    }
    assert_eq!(got, std::fs::read_to_string(golden).expect("golden"));
    for secret in ["s3cret", "cGF1bDpzM2NyZXQ", "literal-secret"] {
        assert!(!got.contains(secret), "{secret} leaked:\n{got}");
    }
}

#[cfg(unix)]
#[test]
fn callto_runs_the_command_without_a_shell() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("callto");
    let record = dir.path().join("argv.txt");
    let script = dir.write("record.sh", &format!("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}.tmp'\nmv '{0}.tmp' '{0}'\n", record.display()));
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let param = format!(
        "<callto>\ncmd={} callto:$teldest$ \"org=$telorg$\" user=$user$\n",
        script.display()
    );
    let pwned = dir.path().join("pwned");
    let station = format!(
        "<telorg>1003 x\n<user>a;$(touch {})`touch {0}`\n",
        pwned.display()
    );
    let out = dial(&dir, &param, &station, "callto://0388202020", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The command runs on its own; wait for its record, with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !record.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the command never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let argv = std::fs::read_to_string(&record).expect("argv");
    let want = format!(
        "callto:0388202020\norg=1003 x\nuser=a;$(touch {})`touch {0}`\n",
        pwned.display()
    );
    assert_eq!(argv, want);
    assert!(!pwned.exists());
}

#[test]
fn callto_open_hands_the_uri_to_the_opener() {
    let dir = TempDir::new("callto-open");
    let p = dir.write(
        "clicktocall_param.txt",
        "<callto>\ncmd=callto:$teldest$\ncmdshellexecute=OPEN\n",
    );
    let out = common::ctibridge(&dir)
        .env("CTIBRIDGE_OPENER", "my-opener")
        .arg("--param")
        .arg(p)
        .args(["dial", "--dry-run", "+33 3 88 20 20 20"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "my-opener callto:+33388202020\n");
}

#[test]
fn callee_name_is_encoded_and_cannot_inject() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-name");
    let param = format!(
        "<cliktocalldial>\n<url>{}?tel=$teldest$&name=$name$\n<headers>X-Name: $name$\n",
        srv.url("/d")
    );
    let out = dial(
        &dir,
        &param,
        STATION,
        "0388202020",
        &["--name", "Dupont & Fils #1"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = dial(&dir, &param, STATION, "0388202020", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = dial(
        &dir,
        &param,
        STATION,
        "0388202020",
        &["--name", "x\r\nX-Evil: 1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("holds a line break"),
        "{}",
        text(&out.stderr)
    );
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].target,
        "/d?tel=0388202020&name=Dupont%20%26%20Fils%20%231"
    );
    assert_eq!(reqs[0].header("X-Name"), Some("Dupont & Fils #1"));
    // Without --name, a parameter made only of `$name$` is left out.
    assert_eq!(reqs[1].target, "/d?tel=0388202020");
}

#[test]
fn debug_log_records_the_dial_without_secrets() {
    let (srv, _) = token_server(|n| format!(r#"{{"token":"tok{n}"}}"#));
    let dir = TempDir::new("dial-debug-log");
    let logs = dir.path().join("logs");
    let param = format!(
        "<global>\n<debug>1\n{}",
        token_param(&srv, "<json_token>token\n")
    );
    let p = dir.write("clicktocall_param.txt", &param);
    let s = dir.write("station.txt", STATION);
    let out = common::ctibridge(&dir)
        .env("CTIBRIDGE_LOG_DIR", &logs)
        .arg("--param")
        .arg(p)
        .arg("--station")
        .arg(s)
        .args(["-vv", "dial", "0388202020"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = std::fs::read_to_string(logs.join("DhDivaltoClickToCall.log")).expect("log file");
    assert!(log.contains("sending method=\"POST\""), "{log}");
    assert!(log.contains("/dial?tel=0388202020"), "{log}");
    assert!(log.contains("answered status=200"), "{log}");
    // Nothing secret, in the file or on stderr at -vv.
    for secret in ["s3cret", "tok1", "cGF1bDpzM2NyZXQ"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        assert!(!text(&out.stderr).contains(secret), "{secret} on stderr");
    }
}

#[test]
fn number_format_and_prefix() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-format");
    let with_prefix = "<prefix>0\n";
    let keyyo = format!(
        "<global>\n<number_format>international\n<cliktocalldial>\n<url>{}?CALLEE=$teldest$\n",
        srv.url("/k")
    );
    assert_eq!(
        dial(&dir, &keyyo, with_prefix, "03 88 20 20 20", &[])
            .status
            .code(),
        Some(0)
    );
    let ovh = format!(
        "<global>\n<number_format>international00\n<cliktocalldial>\n<url>{}?CALLEE=$teldest$\n",
        srv.url("/o")
    );
    assert_eq!(
        dial(&dir, &ovh, with_prefix, "tel:+33-3-88-20-20-20", &[])
            .status
            .code(),
        Some(0)
    );
    let pabx = format!("<cliktocalldial>\n<url>{}?n=$teldest$\n", srv.url("/p"));
    assert_eq!(
        dial(&dir, &pabx, with_prefix, "03 88 20 20 20", &[])
            .status
            .code(),
        Some(0)
    );
    let out = dial(&dir, &keyyo, with_prefix, "0123456789012", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let targets: Vec<String> = srv.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/k?CALLEE=33388202020",
            "/o?CALLEE=0033388202020",
            "/p?n=00388202020"
        ]
    );
}

#[test]
fn an_unreadable_ca_file_is_a_configuration_error() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-cafile");
    let not_pem = dir.write("ca.pem", "this is not a certificate\n");
    for ca in [dir.path().join("missing.pem"), not_pem] {
        let param = format!(
            "<global>\n<cafile>{}\n<cliktocalldial>\n<url>{}?n=$teldest$\n",
            ca.display(),
            srv.url("/d")
        );
        let out = dial(&dir, &param, STATION, "0388202020", &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("<cafile>"), "{err}");
        assert!(err.contains("clicktocall_param.txt:2:9"), "{err}");
    }
    assert_eq!(srv.requests().len(), 0);
}

/// What reaches the provider, in every `<number_format>`, for the forms
/// contact data is written in (expected digits from libphonenumber, as in
/// tests/fixtures/numbers.tsv).
#[test]
fn every_number_form_reaches_the_provider_in_the_right_form() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-forms");
    let cases = [
        ("international", "+33 (0)3 88 20 20 20", "33388202020"),
        ("international", "0033 (0)3 88 20 20 20", "33388202020"),
        ("international", "+33 0388202020", "33388202020"),
        ("international", "+44 (0)20 7946 0958", "442079460958"),
        (
            "international",
            "tel:88202020;phone-context=+33-3",
            "33388202020",
        ),
        ("international00", "+33 (0)6 12 34 56 78", "0033612345678"),
        ("international00", "+44 (0)20 7946 0958", "00442079460958"),
        ("e164", "+33 (0)3 88 20 20 20", "%2B33388202020"),
        ("national", "+41 44 668 18 00", "0041446681800"),
        ("national", "+33 (0)3 88 20 20 20", "0388202020"),
        ("national", "tel:88202020;phone-context=+33-3", "0388202020"),
    ];
    for (format, number, want) in cases {
        let param = format!(
            "<global>\n<number_format>{format}\n<cliktocalldial>\n<url>{}?tel=$teldest$&org=$telorg$\n<methode>GET\n",
            srv.url("/d")
        );
        let station = "<telorg>+33 3 88 20 20 21\n";
        let out = dial(&dir, &param, station, number, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format} {number}: {}",
            text(&out.stderr)
        );
        let reqs = srv.requests();
        let target = &reqs.last().expect("a request").target;
        let tel = target
            .split("tel=")
            .nth(1)
            .and_then(|t| t.split('&').next());
        assert_eq!(tel, Some(want), "{format} {number}: {target}");
        // The station's own line takes the same form.
        let org = match format {
            "international" => "33388202021",
            "international00" => "0033388202021",
            "e164" => "%2B33388202021",
            _ => "0388202021",
        };
        assert!(
            target.ends_with(&format!("&org={org}")),
            "{format}: {target}"
        );
    }
    assert_eq!(srv.requests().len(), cases.len());
}

#[test]
fn a_number_too_long_or_short_for_its_country_is_refused_before_sending() {
    let srv = StandIn::start(ok);
    let dir = TempDir::new("dial-length");
    for format in ["national", "e164", "international", "international00"] {
        let param = format!(
            "<global>\n<number_format>{format}\n<cliktocalldial>\n<url>{}?tel=$teldest$\n",
            srv.url("/d")
        );
        for number in ["+33 6 12 34 56 78 90 12", "+33 6 12 34", "06 12 34 56 78 9"] {
            let out = dial(&dir, &param, STATION, number, &[]);
            assert_eq!(out.status.code(), Some(3), "{format} {number}");
            let err = text(&out.stderr);
            assert!(
                err.contains("too long for a number of +33 (FR)")
                    || err.contains("too short for a number of +33 (FR)"),
                "{format} {number}: {err}"
            );
        }
    }
    assert!(srv.requests().is_empty());
    // As dialled, the number goes as it was written (separators removed).
    let param = format!("<cliktocalldial>\n<url>{}?tel=$teldest$\n", srv.url("/d"));
    let out = dial(&dir, &param, STATION, "+33 6 12 34 56 78 90 12", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(srv.requests()[0].target, "/d?tel=%2B336123456789012");
}

/// Secrets are values, not names: the password, the token and `$auth$` in
/// parameters whose names look harmless, at `-vv`, in the `<debug>1` log
/// and in an error quoting the provider's answer, are never shown.
#[test]
fn secrets_are_masked_by_value_everywhere() {
    const PASSWORD: &str = "Pa55-w0rd!";
    const TOKEN: &str = "tok-8f3a9c1e77";
    let srv = StandIn::start(|r| {
        if r.target.starts_with("/token") {
            (200, format!(r#"{{"token":"{TOKEN}"}}"#))
        } else {
            // A provider that echoes what it was sent in its error.
            (500, format!("cannot place the call for {}", r.target))
        }
    });
    let dir = TempDir::new("dial-masked");
    let logs = dir.path().join("logs");
    let param = format!(
        "<global>\n<debug>1\n<cliktocalldial>\n<url>{}?tel=$teldest$&x=$mdp$&y=$token$&z=$auth$\n<methode>GET\n<cliktocalltoken>\n<with_token>1\n<url>{}?a=$mdp$\n<json_token>token\n",
        srv.url("/dial"),
        srv.url("/token")
    );
    let p = dir.write("clicktocall_param.txt", &param);
    let s = dir.write(
        "station.txt",
        &format!("<user>paul\n<mdp>{PASSWORD}\n<ident>desk1\n"),
    );
    let out = common::ctibridge(&dir)
        .env("CTIBRIDGE_LOG_DIR", &logs)
        .arg("--param")
        .arg(p)
        .arg("--station")
        .arg(s)
        .args(["-vv", "dial", "0388202020"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    // The requests did carry the secrets…
    let reqs = srv.requests();
    assert!(reqs.last().expect("dialled").target.contains(TOKEN));
    let log = std::fs::read_to_string(logs.join("DhDivaltoClickToCall.log")).expect("log file");
    let stderr = text(&out.stderr);
    // …and the error says what the provider answered.
    assert!(stderr.contains("cannot place the call"), "{stderr}");
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("paul:{PASSWORD}"));
    let encoded: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    for secret in [PASSWORD, encoded.as_str(), TOKEN, auth.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        assert!(!stderr.contains(secret), "{secret} on stderr:\n{stderr}");
        assert!(!text(&out.stdout).contains(secret), "{secret} on stdout");
    }
    assert!(stderr.contains("********"), "{stderr}");
}

/// A desk whose provider refuses every dial (its answer naming the
/// password), with `<debug>1`: what a failed click runs.
struct RefusedClick {
    _provider: StandIn,
    logs: std::path::PathBuf,
    param: std::path::PathBuf,
    station: std::path::PathBuf,
}

impl RefusedClick {
    fn new(dir: &TempDir) -> RefusedClick {
        let provider = StandIn::start(|_| (403, "forbidden: s3cret is not the password".into()));
        let param = dir.write(
            "clicktocall_param.txt",
            &format!(
                "<global>\n<debug>1\n<cliktocalldial>\n<url>{}?tel=$teldest$&auth=$auth$\n",
                provider.url("/dial")
            ),
        );
        RefusedClick {
            _provider: provider,
            logs: dir.path().join("logs"),
            param,
            station: dir.write("station.txt", STATION),
        }
    }

    /// The click on a `tel:` link, its stderr kept, its log in `logs`.
    fn command(&self, dir: &TempDir) -> std::process::Command {
        let mut c = common::ctibridge(dir);
        c.env("CTIBRIDGE_LOG_DIR", &self.logs)
            .arg("--param")
            .arg(&self.param)
            .arg("--station")
            .arg(&self.station)
            .arg("tel:+33-3-88-20-20-20")
            .stderr(std::process::Stdio::piped());
        c
    }
}

/// Windows: a link clicked that fails is logged with `<debug>1`, shown as a
/// toast where Windows takes one — and where it does not (Wine has no
/// toast service), said once on stderr, the click's own exit code kept: no
/// panic, no secret anywhere.
#[cfg(windows)]
#[test]
fn a_failed_click_on_windows_is_logged_and_toasted_where_it_can_be() {
    let dir = TempDir::new("dial-click-fails-windows");
    let click = RefusedClick::new(&dir);
    let logs = &click.logs;
    let out = click.command(&dir).output().expect("run");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if stderr.contains("could not be shown on the desktop") {
        assert!(stderr.contains("the toast"), "{stderr}");
    }
    let log = std::fs::read_to_string(logs.join("DhDivaltoClickToCall.log")).expect("log file");
    assert!(
        log.contains("the provider refused the call: HTTP 403"),
        "{log}"
    );
    for (name, t) in [("log", &log), ("stderr", &stderr)] {
        assert!(!t.contains("s3cret"), "the password in the {name}:\n{t}");
        assert!(!t.contains("cGF1bDpzM2NyZXQ"), "$auth$ in the {name}:\n{t}");
    }
}

/// A link clicked on the desktop (`ctibridge tel:…`, stderr going nowhere)
/// that fails is shown as a desktop notification saying why, and with
/// `<debug>1` the error is in the log file; no secret in either.
/// (Unix: the notifier is a stand-in `notify-send` script on `PATH`.)
#[cfg(unix)]
#[test]
fn a_failed_click_is_shown_on_the_desktop_and_logged() {
    let dir = TempDir::new("dial-click-fails");
    let click = RefusedClick::new(&dir);
    let (logs, p, s) = (&click.logs, &click.param, &click.station);
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    // The desktop's notifier: records its arguments, one run per line.
    let notified = dir.path().join("notified");
    let script = bin.join("notify-send");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\037' \"$a\" >> '{0}'; done\necho >> '{0}'\n",
            notified.display()
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = click
        .command(&dir)
        .env("PATH", &path)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    // The notifier ran before ctibridge exited.
    let shown = std::fs::read_to_string(&notified).expect("a notification");
    let args: Vec<&str> = shown.trim_end().split('\u{1f}').collect();
    assert!(
        args.contains(&"ctibridge: the call to +33388202020 failed"),
        "{shown}"
    );
    assert!(
        args.iter()
            .any(|a| a.contains("the provider refused the call: HTTP 403")),
        "{shown}"
    );
    let log = std::fs::read_to_string(logs.join("DhDivaltoClickToCall.log")).expect("log file");
    assert!(
        log.contains("the provider refused the call: HTTP 403"),
        "{log}"
    );
    for (name, t) in [
        ("notification", &shown),
        ("log", &log),
        ("stderr", &text(&out.stderr)),
    ] {
        assert!(!t.contains("s3cret"), "the password in the {name}:\n{t}");
        assert!(!t.contains("cGF1bDpzM2NyZXQ"), "$auth$ in the {name}:\n{t}");
    }

    // The same number dialled at a terminal-less `dial NUMBER` (a script,
    // not a click): no notification.
    std::fs::remove_file(&notified).expect("rm");
    let out = common::ctibridge(&dir)
        .env("PATH", &path)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .arg("--param")
        .arg(p)
        .arg("--station")
        .arg(s)
        .args(["dial", "0388202020"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5));
    assert!(!notified.exists());
}
