//! `ctibridge serve` behind real nginx and real Caddy, configured with the
//! repository's recipes (`samples/nginx-ctibridge.conf`, its location
//! block as written; `samples/Caddyfile-ctibridge`, its site for any name
//! on a loopback port in plain HTTP): clients on other loopback addresses (127.0.0.2,
//! 127.0.0.3…) stand for the Internet. A Keyyo notification from an
//! allowed source through the proxy is accepted, one from another source
//! refused — also when it forges `X-Forwarded-For` —, and a desk's held
//! poll is answered through the proxy.
//!
//! nginx and Caddy must be installed: the tests are ignored unless asked
//! (`cargo test -- --ignored`), as `.ci/run` does once it has installed
//! them; `cargo test` lists them as ignored, with what they need.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::{ctibridge, free_addr, listening, Server, TempDir};
use serde_json::Value;

const NGINX: &str = "/usr/sbin/nginx";
const CADDY: &str = "/usr/bin/caddy";
const SECRET: &str = "0123456789abcdef-proxy";

use common::http_from;

fn get(from: &str, addr: SocketAddr, target: &str, headers: &str) -> (u16, String) {
    http_from(
        from,
        addr,
        &format!(
            "GET {target} HTTP/1.1\r\nHost: cti.example.com\r\n{headers}Connection: close\r\n\r\n"
        ),
    )
}

/// nginx on `listen`, proxying to `upstream` with the recipe's location.
fn nginx(dir: &TempDir, listen: SocketAddr, upstream: SocketAddr) -> Server {
    let recipe = std::fs::read_to_string("samples/nginx-ctibridge.conf").expect("recipe");
    let site: String = recipe
        .lines()
        .filter(|l| !l.trim_start().starts_with("ssl_certificate"))
        .map(|l| {
            l.replace("listen 443 ssl;", &format!("listen {listen};"))
                .replace("127.0.0.1:8082", &upstream.to_string())
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        site.contains(&format!("proxy_pass http://{upstream};")),
        "{site}"
    );
    dir.write("site.conf", &site);
    let d = dir.path().display();
    let main = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/nginx-error.log warn;\nevents {{ worker_connections 128; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         include {d}/site.conf;\n}}\n"
    );
    let conf = dir.write("nginx.conf", &main);
    let mut cmd = Command::new(NGINX);
    cmd.arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    listening(cmd, listen)
}

/// `serve -vv` on `file`, its log read line by line into the receiver.
fn serve(dir: &TempDir, file: &Path, addr: SocketAddr) -> (Server, Receiver<String>) {
    let mut cmd = ctibridge(dir);
    cmd.args(["-vv", "serve", "--server"])
        .arg(file)
        .args(["--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    common::listening_logged(cmd, addr)
}

/// Caddy on `listen`, proxying to `upstream` with the recipe.
fn caddy(dir: &TempDir, listen: SocketAddr, upstream: SocketAddr) -> Server {
    let recipe = std::fs::read_to_string("samples/Caddyfile-ctibridge").expect("recipe");
    let site = recipe
        .replace(
            "cti.example.com {",
            &format!("http://:{} {{\n\tbind {}", listen.port(), listen.ip()),
        )
        .replace("127.0.0.1:8082", &upstream.to_string());
    assert!(
        site.contains(&format!("reverse_proxy {upstream}")),
        "{site}"
    );
    // No admin endpoint (a fixed port), no certificates: a test's Caddy.
    let file = dir.write(
        "Caddyfile",
        &format!("{{\n\tadmin off\n\tauto_https off\n}}\n{site}"),
    );
    let mut cmd = Command::new(CADDY);
    cmd.args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    listening(cmd, listen)
}

/// `program` must be there: the test is run only when asked (`cargo test
/// -- --ignored`, as `.ci/run` does after installing it).
fn needs(program: &str) {
    assert!(
        Path::new(program).exists(),
        "{program} is not installed: `apt-get install nginx-light caddy` (.ci/run does)"
    );
}

/// The server behind the proxy that `proxy` starts on a front address.
fn behind(name: &str, proxy: fn(&TempDir, SocketAddr, SocketAddr) -> Server) {
    let dir = TempDir::new(name);
    let (upstream, front) = (free_addr(), free_addr());
    // Keyyo is 127.0.0.2 here; the proxy, on 127.0.0.1, is trusted.
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<hold>60\n<trusted_proxies>127.0.0.1\n\
             <keyyo_notify>\n<secret>{SECRET}\n<sources>127\\.0\\.0\\.2\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n"
        ),
    );
    let (_srv, log) = serve(&dir, &file, upstream);
    let _proxy = proxy(&dir, front, upstream);

    let notify = |from: &str, callref: &str, headers: &str| {
        get(
            from,
            front,
            &format!(
                "/keyyo/notify?secret={SECRET}&account=33972101010&caller=33388202020&callee=33972101010&callref={callref}&type=SETUP&version=1&dref=&dref_replace=&session=&is_acd=0&redirecting=&tsms=1700000000000"
            ),
            headers,
        )
        .0
    };
    // Not Keyyo's address: refused, even with a forged X-Forwarded-For.
    assert_eq!(notify("127.0.0.3", "1", ""), 403);
    assert_eq!(
        notify("127.0.0.3", "2", "X-Forwarded-For: 127.0.0.2\r\n"),
        403
    );

    // A desk, through the proxy, gets a token and holds a poll on its line.
    let (status, body) = get(
        "127.0.0.4",
        front,
        "/DhDivaltoServerCTI/api/cti/gettoken",
        "Authorization: Basic cGF1bDpwYXVsLWRlc2stc2VjcmV0\r\n",
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let token = v["token"].as_str().expect("token").to_owned();
    let poll = std::thread::spawn(move || {
        get(
            "127.0.0.4",
            front,
            "/DhDivaltoServerCTI/api/cti/getevent?ident=paul&telorg=33972101010&cursor=",
            &format!("Authorization: Bearer {token}\r\n"),
        )
    });
    // The poll has reached the server and waits there.
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        let line = log
            .recv_timeout(left)
            .expect("the poll never reached the server");
        if line.contains("getevent: waiting for events") {
            break;
        }
    }
    // Keyyo, from its address, through the proxy: accepted, and the held
    // poll answers with the call.
    assert_eq!(notify("127.0.0.2", "777", ""), 200);
    let (status, body) = poll.join().expect("poll");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["callref"], "777", "{body}");
    assert_eq!(v["tel"], "0388202020", "{body}");
}

#[test]
#[ignore = "needs nginx (.ci/run installs it and runs the ignored tests)"]
fn behind_nginx_sources_are_the_clients_and_held_polls_are_answered() {
    needs(NGINX);
    behind("proxy-nginx", nginx);
}

#[test]
#[ignore = "needs caddy (.ci/run installs it and runs the ignored tests)"]
fn behind_caddy_sources_are_the_clients_and_held_polls_are_answered() {
    needs(CADDY);
    behind("proxy-caddy", caddy);
}
