//! The browser desk (`/desk/`): its locks without a browser (session
//! cookie, CSRF, headers, assets), then seed 002's scenarios in a real
//! headless browser — Debian's chromium driven by playwright-core
//! (tests/browser/desk.test.mjs), both installed by `.ci/run`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{ctibridge, free_addr, listening, Server, TempDir};

/// `serve` with the simulator, a journal, a directory naming Bob and
/// Marie, `<record_url>`, desk alice (7701) and supervisor chef (7700).
fn serve(dir: &TempDir) -> (Server, SocketAddr) {
    let addr = free_addr();
    dir.write(
        "people.csv",
        "name;company;phone;record\nBob Martin;Martin & Fils;9902;T0042\n\
         Marie Dupont;Dupont SA;0612345678;T0001\n",
    );
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<listen>{addr}\n<journal>journal.sqlite\n\
             <record_url>https://erp.example/tiers/$record$\n\
             <lookup>\n<directory>people.csv\n\
             <desk>\n<ident>alice\n<secret>alice-secret-7701\n<lines>7701\n\
             <desk>\n<ident>chef\n<secret>chef-secret-7700\n<lines>7700\n<role>supervisor\n"
        ),
    );
    let mut cmd = ctibridge(dir);
    cmd.args(["serve", "--server"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).expect("log"));
    (listening(cmd, addr), addr)
}

fn request(addr: SocketAddr, head: &str) -> (u16, String, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, headers.to_owned(), body.to_owned())
}

/// Alice's session: its cookie ([`alice_cookie`]) and CSRF token.
fn log_in_alice(addr: SocketAddr) -> (String, String) {
    let cookie = alice_cookie(addr);
    let (st, _, me) = request(
        addr,
        &format!(
            "GET /desk/api/me HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 200, "{me}");
    let me: serde_json::Value = serde_json::from_str(&me).expect("json");
    (cookie, me["csrf"].as_str().expect("csrf").to_owned())
}

/// The page: a strict policy, no inline script, its files by hash,
/// compressed and cached for good.
#[test]
fn the_desk_pages_are_locked_down() {
    let dir = TempDir::new("browser-locks");
    let (_srv, addr) = serve(&dir);
    // The page: a strict policy, no inline script, its files by hash.
    let (st, headers, page) = request(
        addr,
        "GET /desk/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(st, 200);
    let lower = headers.to_ascii_lowercase();
    assert!(
        lower.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{headers}"
    );
    assert!(lower.contains("frame-ancestors 'none'"), "{headers}");
    assert!(
        lower.contains("x-content-type-options: nosniff"),
        "{headers}"
    );
    assert!(!page.contains("<script>"), "an inline script");
    let js = page
        .split('"')
        .find(|p| p.starts_with("/desk/assets/desk.") && p.ends_with(".js"))
        .expect("desk.js by its hash")
        .to_owned();
    let (st, headers, _) = request(
        addr,
        &format!(
            "GET {js} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 200);
    let lower = headers.to_ascii_lowercase();
    assert!(lower.contains("content-encoding: gzip"), "{headers}");
    assert!(lower.contains("immutable"), "{headers}");
    assert!(lower.contains("content-type: text/javascript"), "{headers}");
}

/// A desk logs in with its secret, from this site only, gets a cookie
/// scripts cannot read; what changes something needs the CSRF token; a
/// forged cookie, another desk's line, the wall: refused.
#[test]
fn a_desk_logs_in_from_this_site_only_and_changes_nothing_without_its_token() {
    let dir = TempDir::new("browser-login");
    let (_srv, addr) = serve(&dir);
    // Not logged in: nothing.
    let (st, _, _) = request(
        addr,
        "GET /desk/api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(st, 401);
    // A wrong secret: refused, no cookie.
    let login = |body: &str, origin: &str| {
        request(
            addr,
            &format!(
                "POST /desk/login HTTP/1.1\r\nHost: {addr}\r\n{origin}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let (st, headers, _) = login("ident=alice&secret=wrong", "");
    assert_eq!(st, 401);
    assert!(!headers.to_ascii_lowercase().contains("set-cookie"));
    // From another site: refused.
    let (st, _, _) = login(
        "ident=alice&secret=alice-secret-7701",
        "Origin: https://evil.example\r\n",
    );
    assert_eq!(st, 403);
    // The right one: an HttpOnly, SameSite=Strict cookie (not Secure on
    // plain HTTP).
    let (st, headers, _) = login(
        "ident=alice&secret=alice-secret-7701",
        &format!("Origin: http://{addr}\r\n"),
    );
    assert_eq!(st, 200, "{headers}");
    let cookie_line = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie")
        .to_owned();
    assert!(cookie_line.contains("HttpOnly"), "{cookie_line}");
    assert!(cookie_line.contains("SameSite=Strict"), "{cookie_line}");
    assert!(cookie_line.contains("Path=/desk"), "{cookie_line}");
    assert!(!cookie_line.contains("Secure"), "{cookie_line}");
    assert!(!cookie_line.contains("alice-secret"), "{cookie_line}");
    let cookie = cookie_line
        .split_once(':')
        .map(|(_, v)| v.trim())
        .and_then(|v| v.split(';').next())
        .expect("value")
        .to_owned();
    let (st, _, me) = request(
        addr,
        &format!(
            "GET /desk/api/me HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 200, "{me}");
    let me: serde_json::Value = serde_json::from_str(&me).expect("json");
    assert_eq!(me["ident"], "alice");
    let csrf = me["csrf"].as_str().expect("csrf").to_owned();
    // A state-changing request without the CSRF token: refused; with it,
    // it reaches the route (here: a dial through the simulator).
    let post = |extra: &str| {
        request(
            addr,
            &format!(
                "POST /desk/api/dial?telorg=7701&tel=9902 HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert_eq!(post("").0, 403);
    assert_eq!(post("X-CSRF-Token: 00\r\n").0, 403);
    let (st, _, body) = post(&format!("X-CSRF-Token: {csrf}\r\n"));
    assert_eq!(st, 200, "{body}");
    // The page itself, for the logged-in desk: what `me` answers is in it
    // (a JSON data block, no script), the call just made with its
    // company, whose `&` cannot end the block; never kept by a cache.
    let (st, headers, page) = request(
        addr,
        &format!("GET /desk/ HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(st, 200);
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{headers}"
    );
    let data = page
        .split_once("<script id=\"me-data\" type=\"application/json\">")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(data, _)| data)
        .expect("the desk's data in the page");
    let embedded: serde_json::Value = serde_json::from_str(data).expect("json");
    assert_eq!(embedded["ident"], "alice");
    assert_eq!(embedded["csrf"], csrf.as_str());
    assert!(data.contains("Martin \\u0026 Fils"), "{data}");
    assert!(!data.contains('<') && !data.contains('&'), "{data}");
    // Another desk's line: refused as on the CTI routes.
    let (st, _, _) = request(
        addr,
        &format!(
            "POST /desk/api/dial?telorg=7700&tel=9902 HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 403);
    // A forged cookie (another ident, the same signature): nothing.
    let forged = cookie.replacen("YWxpY2U", "Y2hlZg", 1);
    let (st, _, _) = request(
        addr,
        &format!(
            "GET /desk/api/me HTTP/1.1\r\nHost: x\r\nCookie: {forged}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 401);
    // The wall is the supervisor's.
    let (st, _, _) = request(
        addr,
        &format!("GET /desk/api/wall HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(st, 403);
}

/// Logged out: the cookie is worth nothing, even replayed, and still
/// nothing once the server has restarted.
#[test]
fn a_logout_holds_across_a_restart() {
    let dir = TempDir::new("browser-logout");
    let (srv, addr) = serve(&dir);
    let (cookie, csrf) = log_in_alice(addr);
    // Logged out: the cookie is worth nothing, even replayed.
    let (st, _, _) = request(
        addr,
        &format!(
            "POST /desk/logout HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 200);
    let (st, _, _) = request(
        addr,
        &format!(
            "GET /desk/api/me HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(st, 401);
    // Still nothing once the server has restarted: the logout is kept in
    // the journal, not only in the memory of the run that took it.
    drop(srv);
    let (_srv, addr) = serve(&dir);
    let (st, _, body) = request(
        addr,
        &format!(
            "GET /desk/api/me HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(
        st, 401,
        "a logged-out session came back with the restart: {body}"
    );
}

/// Where the browser test's tools are, or why they are not.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or("no chromium (apt-get install chromium)")?;
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !modules.join("node_modules/playwright-core").exists() {
        return Err("no playwright-core (npm ci in tests/browser)".into());
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("no node (apt-get install nodejs)".into());
    }
    Ok((chromium, modules))
}

/// Seed 002's two scenarios and the rest of the desk, in chromium: run
/// when asked (`cargo test -- --ignored`), as `.ci/run` does once it has
/// installed chromium, node and playwright-core.
#[test]
#[ignore = "needs chromium, node and playwright-core (.ci/run installs them and runs the ignored tests)"]
fn the_desk_in_a_real_browser() {
    let (chromium, modules) = match browser_tools() {
        Ok(t) => t,
        Err(why) => panic!("the browser test cannot run: {why} — .ci/run installs what it needs"),
    };
    let dir = TempDir::new("browser-desk");
    let (_srv, addr) = serve(&dir);
    // And a server with no desk (`serve --sim`): its page says nobody can
    // log in.
    let bare_dir = TempDir::new("browser-bare");
    let bare = free_addr();
    let mut cmd = ctibridge(&bare_dir);
    cmd.args(["serve", "--sim", "--listen", &bare.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _bare = listening(cmd, bare);
    // CTIBRIDGE_SCREENSHOTS=1: README's screenshots are taken again.
    let shots = if std::env::var_os("CTIBRIDGE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
    } else {
        dir.path().to_path_buf()
    };
    std::fs::create_dir_all(&shots).expect("screenshots folder");
    let out = std::process::Command::new("node")
        .arg(modules.join("desk.test.mjs"))
        .current_dir(&modules)
        .env("BASE", format!("http://{addr}"))
        .env("BARE", format!("http://{bare}"))
        .env("CHROMIUM", &chromium)
        .env("SHOTS", &shots)
        .output()
        .expect("node");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{said}");
    assert!(
        out.status.success(),
        "the browser test failed:\n{said}\nserver log:\n{}",
        std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
    );
    assert!(said.contains("browser desk: all steps passed"), "{said}");
    assert!(shots.join("desk.png").exists() && shots.join("wall.png").exists());
}

/// Alice's session cookie, from `POST /desk/login`.
fn alice_cookie(addr: SocketAddr) -> String {
    let body = "ident=alice&secret=alice-secret-7701";
    let (_, headers, _) = request(
        addr,
        &format!(
            "POST /desk/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned()
}

/// A desk's event stream (`/desk/api/events`) with `cookie` and the
/// `extra` headers, read up to its `: open` line.
fn open_events(
    addr: SocketAddr,
    cookie: &str,
    extra: &str,
) -> std::io::BufReader<std::net::TcpStream> {
    use std::io::{BufRead as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(40)))
        .expect("timeout");
    stream
        .write_all(
            format!("GET /desk/api/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n{extra}\r\n")
                .as_bytes(),
        )
        .expect("send");
    let mut reader = std::io::BufReader::new(stream);
    let mut line = String::new();
    // The answer's head and the stream's first lines.
    while !line.starts_with(": open") {
        line.clear();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "the stream ended"
        );
    }
    reader
}

/// A desk's event stream is a request under way: the server's sweep of
/// idle connections (10 s without a request) leaves it open, and it
/// still carries calls after it. A bare connection opened after the
/// stream's answer began says when a sweep has gone past the limit: the
/// server closes it.
#[test]
fn an_event_stream_outlives_the_idle_sweep() {
    use std::io::{BufRead as _, Read as _};
    let dir = TempDir::new("browser-stream");
    let (_srv, addr) = serve(&dir);
    let cookie = alice_cookie(addr);
    let mut reader = open_events(addr, &cookie, "");
    let mut line = String::new();
    // A connection that sends nothing: closed by the first sweep past the
    // limit that would close the stream too.
    let mut bare = std::net::TcpStream::connect(addr).expect("connect");
    bare.set_read_timeout(Some(std::time::Duration::from_secs(40)))
        .expect("timeout");
    let mut sink = [0u8; 16];
    assert_eq!(bare.read(&mut sink).expect("closed, not timed out"), 0);
    // The stream is still there: a call reaches it.
    let (st, _, _) = request(
        addr,
        "POST /sim/call?from=0612345678&to=7701&answer=0 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(st, 200);
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read");
        assert!(n > 0, "the server closed the event stream as idle");
        if line.starts_with("data: ") && line.contains("\"RING\"") {
            assert!(line.contains("0612345678"), "{line}");
            break;
        }
    }
}

/// One browser session holds a few event streams (tabs): past
/// `holds::PER_SESSION` (4), its oldest stream ends — one desk cannot take
/// the connections others need.
#[test]
fn a_sessions_oldest_stream_ends_past_its_share() {
    use std::io::Read as _;
    let dir = TempDir::new("browser-streams");
    let (_srv, addr) = serve(&dir);
    let cookie = alice_cookie(addr);
    let open = || open_events(addr, &cookie, "Connection: close\r\n");
    let mut first = open();
    let _others: Vec<_> = (0..4).map(|_| open()).collect();
    // The first one ends (its answer's last chunk), not by a time-out.
    let mut rest = Vec::new();
    first
        .read_to_end(&mut rest)
        .expect("the oldest stream ended");
}
