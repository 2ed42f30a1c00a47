//! Helpers shared by the integration tests: a recording HTTP stand-in on
//! 127.0.0.1 and temporary folders.

#![allow(dead_code)]

pub mod ovh;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query, exactly as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// An answer with headers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Every form the station's password takes on the wire or in an error page:
/// as written, percent-encoded in both cases, JSON-escaped as PHP writes it
/// (`\/`), and inside `$auth$` (base64 of user:password).
#[allow(dead_code)]
pub fn secret_forms(user: &str, secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    let mut forms = vec![
        secret.to_owned(),
        form.clone(),
        recase_escapes(&form, false),
        secret.replace('/', "\\/"),
        auth.clone(),
        auth.replace('/', "\\/"),
    ];
    forms.dedup();
    forms
}

/// `text` with its `%XX` escapes in upper case, or in lower case.
#[allow(dead_code)]
fn recase_escapes(text: &str, upper: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hex = 0;
    for c in text.chars() {
        if hex > 0 {
            hex -= 1;
            out.push(if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            });
        } else {
            hex = if c == '%' { 2 } else { 0 };
            out.push(c);
        }
    }
    out
}

/// The forms [`echoing`] quotes a request in, one per answer in turn.
pub const ECHO_FORMS: usize = 6;

/// A hostile provider: each answer a 500 whose body quotes the whole
/// request — method, target, headers, body — as many error pages do, in
/// one form of a secret after the other (answer n in form n mod
/// [`ECHO_FORMS`]): as sent, its percent-escapes in lower and in upper
/// case, percent-decoded, JSON-escaped as PHP's `json_encode` writes it
/// (`\/`), and decoded then JSON-escaped. The quote comes first, so it is
/// within what any message keeps of an answer.
#[allow(dead_code)]
pub fn echoing() -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let n = AtomicUsize::new(0);
    move |r: &Recorded| {
        let raw = format!(
            "{} {} | {} | {}",
            r.method,
            r.target,
            r.headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
                .join(" | "),
            r.body
        );
        let decoded = percent_encoding::percent_decode_str(&raw.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        let php = |text: &str| {
            serde_json::to_string(text)
                .unwrap_or_default()
                .replace('/', "\\/")
        };
        let (name, quoted) = match n.fetch_add(1, Ordering::SeqCst) % ECHO_FORMS {
            0 => ("as sent", raw.clone()),
            1 => ("lower-case escapes", recase_escapes(&raw, false)),
            2 => ("upper-case escapes", recase_escapes(&raw, true)),
            3 => ("decoded", decoded),
            4 => ("json_encode", php(&raw)),
            _ => ("json_encode, decoded", php(&decoded)),
        };
        Reply::new(500, format!("Error ({name}): {quoted}\n"))
    }
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the stand-in answers: status and body for each request. The script
/// runs on a blocking thread, so it may hold a request (a long poll) by
/// waiting on a channel, always with a time limit.
pub type Script = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// An HTTP server on 127.0.0.1 that records every request and answers as
/// its script says. Stops when dropped.
pub struct StandIn {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StandIn {
    pub fn start(script: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static) -> StandIn {
        StandIn::start_at("127.0.0.1:0".parse().expect("addr"), script)
    }

    /// With answers that carry headers.
    pub fn start_replying(script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> StandIn {
        StandIn::start_full("127.0.0.1:0".parse().expect("addr"), Arc::new(script))
    }

    /// On a given loopback address (a port that refused connections until now).
    pub fn start_at(
        at: SocketAddr,
        script: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> StandIn {
        StandIn::start_full(
            at,
            Arc::new(move |r: &Recorded| {
                let (status, body) = script(r);
                Reply::new(status, body)
            }),
        )
    }

    fn start_full(at: SocketAddr, script: Script) -> StandIn {
        assert!(at.ip().is_loopback());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(at).await.expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                let app = Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let script = script.clone();
                        let log = log2.clone();
                        async move {
                            let rec = Recorded {
                                method: method.to_string(),
                                target: uri
                                    .path_and_query()
                                    .map(|p| p.as_str().to_owned())
                                    .unwrap_or_default(),
                                headers: headers
                                    .iter()
                                    .map(|(n, v)| {
                                        (
                                            n.to_string(),
                                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                        )
                                    })
                                    .collect(),
                                body: String::from_utf8_lossy(&body).into_owned(),
                                at: std::time::Instant::now(),
                            };
                            // Logged when received, answered when the script says.
                            log.lock().expect("log").push(rec.clone());
                            let reply = tokio::task::spawn_blocking(move || script(&rec))
                                .await
                                .expect("script");
                            let mut headers = HeaderMap::new();
                            for (n, v) in &reply.headers {
                                headers.append(
                                    axum::http::HeaderName::from_bytes(n.as_bytes()).expect("name"),
                                    axum::http::HeaderValue::from_str(v).expect("value"),
                                );
                            }
                            (
                                StatusCode::from_u16(reply.status).expect("status"),
                                headers,
                                reply.body,
                            )
                        }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("stand-in started");
        StandIn {
            addr,
            log,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback address where nothing listens (yet).
pub fn free_addr() -> SocketAddr {
    // Not port 0 bound and dropped: the kernel may give that port to any
    // client socket of the tests running alongside before the server binds
    // it. Below the ephemeral range no client socket is ever given one, and
    // this process never hands a port out twice; each is checked free.
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 10_000;
    const PORTS: u32 = 22_000; // up to 31 999, below 32 768
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Processes started together begin far apart.
    let start = (std::process::id() * 397) % PORTS;
    for _ in 0..PORTS {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (start + n) % PORTS;
        let addr = SocketAddr::from(([127, 0, 0, 1], port as u16));
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free loopback port below the ephemeral range");
}

/// A temporary folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("ctibridge-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with nothing from the machine: config, cache and sys folders
/// all inside `dir`.
pub fn ctibridge(dir: &TempDir) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ctibridge"));
    c.env("CTIBRIDGE_CONFIG_DIR", dir.path().join("user"))
        .env("CTIBRIDGE_CACHE_DIR", dir.path().join("cache"))
        .env("CTIBRIDGE_SYS_DIR", dir.path().join("sys"))
        .env_remove("CTIBRIDGE_LOG");
    c
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The binary with `dir`'s clicktocall_param.txt and station.txt.
pub fn with_files(dir: &TempDir) -> Command {
    let mut c = ctibridge(dir);
    c.arg("--param")
        .arg(dir.path().join("clicktocall_param.txt"))
        .arg("--station")
        .arg(dir.path().join("station.txt"));
    c
}

/// Runs `ctibridge` with `dir`'s files and `args`.
pub fn run(dir: &TempDir, args: &[&str]) -> Output {
    with_files(dir).args(args).output().expect("run")
}

/// Runs `ctibridge --param P --station S dial NUMBER [extra]`.
pub fn dial(dir: &TempDir, param: &str, station: &str, number: &str, extra: &[&str]) -> Output {
    dir.write("clicktocall_param.txt", param);
    dir.write("station.txt", station);
    with_files(dir)
        .arg("dial")
        .arg(number)
        .args(extra)
        .output()
        .expect("run")
}

/// One HTTP/1.1 request to `addr` from the local address `from` (another
/// loopback address stands for another machine); status and body.
#[allow(dead_code)]
pub fn http_from(from: &str, addr: SocketAddr, request: &str) -> (u16, String) {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("address");
    socket.bind(&local.into()).expect("bind");
    socket.connect(&addr.into()).expect("connect");
    exchange(socket.into(), request)
}

/// A `ctibridge serve` child, killed when dropped.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` (a `serve`) and returns once it accepts connections on
/// `addr`.
pub fn listening(mut cmd: Command, addr: SocketAddr) -> Server {
    let server = Server(cmd.spawn().expect("spawn serve"));
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(std::time::Instant::now() < end, "the server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Sends `request` (an HTTP/1.1 request with `Connection: close`) on `s`
/// and reads the answer to its end (60 s at most): status and body.
pub fn exchange(mut s: std::net::TcpStream, request: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

/// [`listening`], with the server's stderr read line by line into the
/// receiver (`cmd` must pipe it).
pub fn listening_logged(
    cmd: Command,
    addr: SocketAddr,
) -> (Server, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead as _;
    let mut srv = listening(cmd, addr);
    let stderr = srv.0.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    (srv, rx)
}

/// `ctibridge serve --server FILE --listen ADDR`, once it accepts
/// connections, its stderr read line by line into the receiver.
pub fn serve_file_logged(
    dir: &TempDir,
    file: &Path,
    addr: SocketAddr,
) -> (Server, std::sync::mpsc::Receiver<String>) {
    let mut cmd = ctibridge(dir);
    cmd.args(["serve", "--server"])
        .arg(file)
        .args(["--listen", &addr.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    listening_logged(cmd, addr)
}
