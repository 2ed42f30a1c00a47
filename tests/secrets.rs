//! Hostile providers and ERPs: every request the desk side sends goes to a
//! stand-in whose 500 page quotes the whole request, in every encoding a
//! secret takes on the wire (`common::echoing`). Nothing ctibridge prints
//! — at `-vv`, on stdout and stderr — holds the station's password in any
//! form (`common::secret_forms`).

mod common;

use common::{text, with_files, StandIn, TempDir};

const USER: &str = "33388202020";
const MDP: &str = "pa/ss+wo=rd-7Zq";

/// The desk's files: every request of `param` goes to `echo`, its
/// station the one of [`USER`] and [`MDP`].
fn desk(name: &str, param: &str) -> TempDir {
    let dir = TempDir::new(name);
    dir.write("clicktocall_param.txt", param);
    dir.write(
        "station.txt",
        &format!("<user>{USER}\n<mdp>{MDP}\n<telorg>0388202020\n<ident>paul\n"),
    );
    dir
}

/// What `ctibridge -vv ARGS` printed, everything.
fn said(dir: &TempDir, args: &[&str]) -> String {
    let out = with_files(dir).arg("-vv").args(args).output().expect("run");
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn assert_no_secret(what: &str, said: &str) {
    for form in common::secret_forms(USER, MDP) {
        assert!(!said.contains(&form), "{what}: `{form}` shown:\n{said}");
    }
}

#[test]
fn a_dial_a_lookup_a_report_and_a_watch_show_no_secret_of_an_echoing_provider() {
    let echo = StandIn::start_replying(common::echoing());
    let base = echo.url("");
    let param = format!(
        "<cliktocalldial>\n<url>{base}/dial?n=$teldest$&pw=$mdp$\n<methode>GET\n\
         <headers>Authorization: Basic $auth$\n<success_body>OK\n\
         <cliktocallevent>\n<with_event>1\n<url>{base}/events?pw=$mdp$\n\
         <headers>Authorization: Basic $auth$\n<type_return>json\n<json_event>event\n<json_tel>tel\n\
         <lookup>\n<url>{base}/lookup?tel=$tel$\n<headers>Authorization: Basic $auth$\n\
         <type_return>json\n<json_name>name\n\
         <report>\n<url>{base}/report?tel=$tel$\n<headers>Authorization: Basic $auth$\n\
         <success_body>OK\n"
    );
    let dir = desk("secrets-echo", &param);
    // Each command (one request each) as often as the page has forms:
    // each form once.
    for args in [
        &["dial", "0612345678"][..],
        &["lookup", "0612345678"],
        &["report"],
    ] {
        for _ in 0..common::ECHO_FORMS {
            let out = said(&dir, args);
            assert!(out.contains("500"), "{args:?}: {out}");
            assert_no_secret(args[0], &out);
        }
    }
    let out = said(&dir, &["watch", "--json", "--for", "4"]);
    assert!(out.contains("500"), "{out}");
    assert_no_secret("watch", &out);
    // Each was asked, with the password in it.
    let asked: Vec<String> = echo.requests().iter().map(|r| r.target.clone()).collect();
    for path in ["/dial", "/lookup", "/report", "/events"] {
        assert!(
            asked.iter().any(|t| t.starts_with(path)),
            "{path}: {asked:?}"
        );
    }
}
