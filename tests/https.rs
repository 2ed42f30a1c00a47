//! `ctibridge serve` over HTTPS, with certificate authorities made for the
//! test (rcgen): a desk that trusts its authority (`<cafile>`) dials and
//! watches through the bridge; a certificate replaced on disk is served to
//! the next connection without a restart (on SIGHUP, and when the files
//! change); a certificate that cannot be served is refused before anyone
//! connects, at `check --server` and at start.

mod common;

use std::net::SocketAddr;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::tls::{authority, server_cert};
use common::{ctibridge, free_addr, text, TempDir};
use serde_json::Value;

/// Waits (20 s at most) for a line of the server's log that contains
/// `what`; the line.
fn logged(log: &Receiver<String>, what: &str) -> String {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match log.recv_timeout(left) {
            Ok(l) if l.contains(what) => return l,
            Ok(_) => {}
            Err(e) => panic!("the server never logged {what:?}: {e}"),
        }
    }
}

/// The repository's sample files pointed at `https://localhost:PORT`,
/// trusting the authority in `cafile`.
fn sample_sys(dir: &TempDir, addr: SocketAddr, cafile: &std::path::Path) -> std::path::PathBuf {
    let sys = dir.path().join("sys");
    std::fs::create_dir_all(&sys).expect("mkdir");
    let param = std::fs::read_to_string("samples/clicktocall_param.txt").expect("sample");
    let param = param
        .replace(
            "http://localhost:8082",
            &format!("https://localhost:{}", addr.port()),
        )
        .replacen(
            "\n<global>\n",
            &format!("\n<global>\n<cafile>{}\n", cafile.display()),
            1,
        );
    std::fs::write(sys.join("clicktocall_param.txt"), param).expect("write");
    std::fs::copy("samples/tapi_param.txt", sys.join("tapi_param.txt")).expect("copy");
    sys
}

/// `check --json --server FILE`: its exit code and report.
fn check_json(dir: &TempDir, file: &std::path::Path) -> (Option<i32>, Value) {
    let out = ctibridge(dir)
        .args(["check", "--json", "--server"])
        .arg(file)
        .output()
        .expect("check");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (out.status.code(), report)
}

/// `dial 0388202020` from the sample station with `sys`'s files.
fn dial(dir: &TempDir, sys: &std::path::Path) -> std::process::Output {
    ctibridge(dir)
        .arg("--sys-dir")
        .arg(sys)
        .arg("--station")
        .arg("samples/station.txt")
        .args(["dial", "0388202020"])
        .output()
        .expect("dial")
}

#[test]
fn a_desk_dials_and_watches_over_https_and_a_new_certificate_needs_no_restart() {
    let dir = TempDir::new("https");
    let (ca1, ca2) = (
        authority("ctibridge test CA 1"),
        authority("ctibridge test CA 2"),
    );
    let ca1_file = dir.write("ca1.pem", &ca1.pem());
    let ca2_file = dir.write("ca2.pem", &ca2.pem());
    let (cert, key) = server_cert(&ca1, 2999);
    dir.write("cert.pem", &cert);
    dir.write("key.pem", &key);
    let file = dir.write(
        "server_param.txt",
        "<server>\n<simulator>1\n<tls_cert>cert.pem\n<tls_key>key.pem\n",
    );
    let addr = free_addr();
    let (srv, log) = common::serve_file_logged(&dir, &file, addr);
    // One line at the default verbosity says where and how it serves.
    logged(&log, &format!("listening on https://{addr}: dials through the simulator, any desk of this machine, journal in memory"));
    let url = format!("https://localhost:{}", addr.port());

    // An incoming call, sent over HTTPS by a client trusting the CA.
    let out = ctibridge(&dir)
        .args([
            "sim",
            "call",
            "03 88 20 20 20",
            "1003",
            "--url",
            &url,
            "--cafile",
        ])
        .arg(&ca1_file)
        .output()
        .expect("sim call");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Without trusting it: refused by the client, nothing sent.
    let out = ctibridge(&dir)
        .args(["sim", "call", "03 88 20 20 20", "1003", "--url", &url])
        .output()
        .expect("sim call");
    assert_ne!(out.status.code(), Some(0), "a certificate nobody trusts");

    // The sample desk, trusting CA 1, sees the call and dials.
    let sys = sample_sys(&dir, addr, &ca1_file);
    let out = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .arg("--station")
        .arg("samples/station.txt")
        .args(["watch", "--json", "--once"])
        .output()
        .expect("watch");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ev: Value =
        serde_json::from_str(text(&out.stdout).lines().next().expect("an event")).expect("json");
    assert_eq!(ev["kind"], "ring");
    assert_eq!(ev["caller"], "0388202020");
    let out = dial(&dir, &sys);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A certificate of CA 2 replaces it on disk; SIGHUP: the next
    // connection gets it (a desk trusting only CA 2 dials, one trusting
    // only CA 1 no longer can), and the server never restarted.
    let (cert, key) = server_cert(&ca2, 2999);
    dir.write("cert.pem", &cert);
    dir.write("key.pem", &key);
    // SAFETY: kill(2) on the pid of our own child.
    unsafe {
        libc::kill(srv.0.id() as i32, libc::SIGHUP);
    }
    // A renewal is the ordinary course of things: said as information.
    let line = logged(&log, "TLS certificate read again");
    assert!(line.contains(" INFO "), "{line}");
    let out = dial(&dir, &sample_sys(&dir, addr, &ca2_file));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = dial(&dir, &sample_sys(&dir, addr, &ca1_file));
    assert_ne!(
        out.status.code(),
        Some(0),
        "the old authority no longer works"
    );

    // Back to CA 1 with no signal: the change of the files is seen.
    let (cert, key) = server_cert(&ca1, 2998);
    dir.write("cert.pem", &cert);
    dir.write("key.pem", &key);
    logged(&log, "TLS certificate read again");
    let out = dial(&dir, &sample_sys(&dir, addr, &ca1_file));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // And one line when it stops.
    // SAFETY: kill(2) on the pid of our own child.
    unsafe {
        libc::kill(srv.0.id() as i32, libc::SIGTERM);
    }
    logged(&log, "stopped");
}

#[test]
fn a_certificate_that_cannot_be_served_is_refused_up_front() {
    let dir = TempDir::new("https-bad");
    let ca = authority("ctibridge test CA");
    let (cert, key) = server_cert(&ca, 2999);
    let (expired, expired_key) = server_cert(&ca, 2001);
    let (_, other_key) = server_cert(&ca, 2999);
    dir.write("cert.pem", &cert);
    dir.write("key.pem", &key);
    dir.write("expired.pem", &expired);
    dir.write("expired-key.pem", &expired_key);
    dir.write("other-key.pem", &other_key);
    // The certificate file, the key file, what is said, on which line
    // (3: `<tls_cert>`, 4: `<tls_key>`).
    let cases = [
        ("missing.pem", "key.pem", "missing.pem cannot be read", 3),
        ("cert.pem", "missing.pem", "missing.pem cannot be read", 4),
        ("key.pem", "key.pem", "holds no certificate", 3),
        ("cert.pem", "cert.pem", "holds no private key", 4),
        (
            "cert.pem",
            "other-key.pem",
            "does not belong to the certificate",
            3,
        ),
        (
            "expired.pem",
            "expired-key.pem",
            "the certificate expired on",
            3,
        ),
        // An endless file is refused after a few megabytes, not read whole.
        ("/dev/zero", "key.pem", "a PEM file has at most", 3),
        ("cert.pem", "/dev/zero", "a PEM file has at most", 4),
    ];
    for (cert, key, says, line) in cases {
        let file = dir.write(
            "server_param.txt",
            &format!("<server>\n<simulator>1\n<tls_cert>{cert}\n<tls_key>{key}\n"),
        );
        let (code, report) = check_json(&dir, &file);
        assert_eq!(code, Some(2), "{cert}/{key}: {report}");
        let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
        assert_eq!(diagnostics.len(), 1, "{report}");
        assert_eq!(diagnostics[0]["code"], "tls", "{report}");
        assert_eq!(diagnostics[0]["line"], line, "{report}");
        let message = diagnostics[0]["message"].as_str().expect("message");
        assert!(message.contains(says), "{cert}/{key}: {message}");
        // And the server does not start on it.
        let out = ctibridge(&dir)
            .args(["serve", "--server"])
            .arg(&file)
            .args(["--listen", &free_addr().to_string()])
            .output()
            .expect("serve");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{cert}/{key}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    // Only one of the two.
    let file = dir.write("server_param.txt", "<server>\n<tls_cert>cert.pem\n");
    let out = ctibridge(&dir)
        .args(["check", "--server"])
        .arg(&file)
        .output()
        .expect("check");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("needs both `<tls_cert>` and `<tls_key>`"),
        "{err}"
    );
}

/// A certificate authority's own certificate as the server's (what OpenSSL
/// 3's plain `req -x509` makes): flagged by `check --server` and `doctor
/// --server` with a recipe that works; every client says in plain words
/// why it refuses it and what to do, and no check says the dial is fine.
/// Plain HTTP to the HTTPS port is told so.
#[test]
fn a_certificate_authoritys_own_certificate_is_flagged_and_explained() {
    let dir = TempDir::new("https-ca-leaf");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    let cert_file = dir.write("cert.pem", &cert.pem());
    dir.write("key.pem", &key.serialize_pem());
    let addr = free_addr();
    let file = dir.write(
        "server_param.txt",
        &format!("<server>\n<simulator>1\n<listen>{addr}\n<tls_cert>cert.pem\n<tls_key>key.pem\n"),
    );
    let (_, report) = check_json(&dir, &file);
    let flagged = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "tls-authority")
        .unwrap_or_else(|| panic!("not flagged: {report}"));
    assert_eq!(flagged["severity"], "warning", "{flagged}");
    assert!(
        flagged["help"]
            .as_str()
            .unwrap_or("")
            .contains("basicConstraints=critical,CA:FALSE"),
        "{flagged}"
    );

    let (_srv, _log) = common::serve_file_logged(&dir, &file, addr);
    let url = format!("https://localhost:{}", addr.port());
    // The server's own doctor: the certificate flagged, and its own
    // running server recognised on the port.
    let out = ctibridge(&dir)
        .args(["doctor", "--server"])
        .arg(&file)
        .output()
        .expect("doctor");
    let said = text(&out.stdout);
    assert!(
        said.contains("warn  certificate") && said.contains("CA:TRUE"),
        "{said}"
    );
    assert!(said.contains("ctibridge serve runs there"), "{said}");
    // A client that trusts it still refuses it, and says why in plain words.
    let out = ctibridge(&dir)
        .args([
            "sim",
            "call",
            "0388202020",
            "1003",
            "--url",
            &url,
            "--cafile",
        ])
        .arg(&cert_file)
        .output()
        .expect("sim call");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("a certificate authority's (CA:TRUE)"), "{err}");
    assert!(!err.contains("serve --sim"), "the server runs: {err}");
    // A desk's doctor: the token fails, so the dial is not said fine.
    let sys = sample_sys(&dir, addr, &cert_file);
    let out = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .args(["--station", "samples/station.txt", "doctor"])
        .output()
        .expect("doctor");
    let said = text(&out.stdout);
    assert!(said.contains("FAIL  token"), "{said}");
    assert!(said.contains("FAIL  dial"), "{said}");
    assert!(!said.contains("ok    dial"), "{said}");
    // Plain HTTP to this HTTPS port.
    let out = ctibridge(&dir)
        .args(["sim", "call", "0388202020", "1003", "--url"])
        .arg(format!("http://localhost:{}", addr.port()))
        .output()
        .expect("sim call");
    let err = text(&out.stderr);
    assert!(
        err.contains("this server speaks HTTPS on this port"),
        "{err}"
    );
}

/// The one-line recipe `check --server` gives makes a certificate every
/// client takes.
#[test]
#[ignore = "needs openssl (.ci/run installs it)"]
fn the_self_signed_recipe_makes_a_certificate_clients_take() {
    let dir = TempDir::new("https-recipe");
    let file = dir.write(
        "server_param.txt",
        "<server>\n<simulator>1\n<tls_cert>cert.pem\n<tls_key>key.pem\n",
    );
    let recipe = ctibridge::server::SELF_SIGNED_RECIPE;
    let readme = std::fs::read_to_string("README.md").expect("README");
    assert!(readme.contains(recipe), "README gives another recipe");
    let out = std::process::Command::new("sh")
        .args(["-c", recipe])
        .current_dir(dir.path())
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, report) = check_json(&dir, &file);
    assert_eq!(
        report["diagnostics"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    let addr = free_addr();
    let (_srv, _log) = common::serve_file_logged(&dir, &file, addr);
    let out = ctibridge(&dir)
        .args(["sim", "call", "0388202020", "1003", "--url"])
        .arg(format!("https://localhost:{}", addr.port()))
        .arg("--cafile")
        .arg(dir.path().join("cert.pem"))
        .output()
        .expect("sim call");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
