//! `ctibridge serve`: the bridge server. The CTI web service of the Divalto
//! sample file (`api`) on an event hub (`hub`), with the simulator
//! (`sim`) as its provider.

mod api;
mod clock;
mod connections;
pub mod control;
mod dialer;
pub mod doctor;
mod health;
mod holds;
mod hub;
mod ingest;
mod journal;
mod keyyo;
pub mod keyyo_cti;
pub mod keyyo_token;
mod lockout;
mod metrics;
mod proxies;
mod relay;
mod reporter;
pub mod settings;
mod sim;
mod tls;
mod tokens;
pub mod web;

// What the command line and the demo use; the rest stays inside.
pub use api::{ServerOptions, CTI_PATH};
pub use connections::default_max as default_max_connections;
pub use journal::{CallRecord, HistoryKind, Idle};
pub use keyyo::{manager_url, KeyyoOptions};
pub use proxies::TrustedProxies;
pub use sim::{inject, Auto, Timings};
pub use tls::{TlsFiles, SELF_SIGNED_RECIPE};

// The modules of the layers below, under the paths this crate's code
// names them by.
use ctibridge_client::{context, dial, events, failure, http, names, number, report, request};
use ctibridge_lang::{config, diag, load, param, redact, schema, source, template};

use std::net::SocketAddr;
use std::sync::Arc;

/// What `serve` was asked.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub sim: bool,
    pub server: api::ServerOptions,
    pub timings: sim::Timings,
    /// The call journal's file; `None`: kept in memory.
    pub journal: Option<std::path::PathBuf>,
    /// Without the simulator: the configuration whose `<cliktocalldial>`
    /// places the calls asked with `setevent`.
    pub dialer: Option<Arc<crate::config::Config>>,
    /// The `<lookup>` that names the caller of every call, once for all
    /// desks.
    pub callers: Option<Arc<crate::names::Callers>>,
    /// `<keyyo_cti>`: Keyyo's CTI WebSocket, for the desks' lines.
    pub keyyo_cti: Option<keyyo_cti::CtiSettings>,
    /// The configuration whose `<report>` writes each finished call back
    /// (through the journal's outbox).
    pub report: Option<Arc<crate::config::Config>>,
    /// Poll the dialer configuration's event source once for everyone and
    /// publish what it says (the OVH relay).
    pub relay: bool,
    /// Connections kept open at most (`connections`).
    pub max_connections: usize,
    /// The cache folder of the provider side (tokens, the shared pace).
    pub context: ctibridge_client::context::Context,
    /// `<tls_cert>`/`<tls_key>`: HTTPS; `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// The runtime's word that it ran out of work ([`runtime`]): the
    /// journal then writes the events gathered meanwhile in one
    /// transaction. `None` (a runtime built elsewhere): the journal's
    /// thread is woken by each first event and takes what came meanwhile.
    pub idle: Option<Idle>,
}

/// The runtime `serve` runs on: one thread, which tells `idle` each time
/// it has nothing left to do (before it waits for the network).
pub fn runtime(idle: &Idle) -> std::io::Result<tokio::runtime::Runtime> {
    let idle = idle.clone();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(move || idle.now())
        .build()
}

/// One request of ctibridge's own to a bridge server (`sim call`, the
/// demo), not from a param file.
pub async fn request(
    method: crate::config::Method,
    url: String,
    headers: Vec<(String, String)>,
    ca_file: Option<&std::path::Path>,
) -> Result<crate::http::HttpResponse, crate::http::SendError> {
    use crate::http::{ClientOptions, HttpClient};
    let client = HttpClient::new(&ClientOptions {
        ca_file: ca_file.map(|p| p.display().to_string()),
        ..ClientOptions::plain()
    })?;
    let req = crate::request::HttpRequest {
        // Not from a section; the field only names one for messages.
        method,
        url,
        headers,
        body: (method != crate::config::Method::Get).then(String::new),
        url_span: None,
    };
    client.send(&req).await
}

/// The calls of a call journal's file, newest first (`ctibridge history
/// --journal`): of `line` (its one identity), or of every line; `kind`
/// filters them. Read only.
pub fn journal_history(
    path: &std::path::Path,
    line: Option<&str>,
    kind: Option<journal::HistoryKind>,
    limit: usize,
) -> Result<Vec<journal::CallRecord>, String> {
    if !path.exists() {
        return Err(format!("{} does not exist", path.display()));
    }
    let read = || -> rusqlite::Result<Vec<journal::CallRecord>> {
        let j = journal::Journal::open_read_only(path)?;
        let lines = match line {
            Some(l) => vec![l.to_owned()],
            None => j.lines()?,
        };
        let mut calls = Vec::new();
        for l in lines {
            calls.extend(j.history(&l, kind, limit)?);
        }
        calls.sort_by_key(|c| std::cmp::Reverse(c.setup_at));
        calls.truncate(limit);
        Ok(calls)
    };
    read().map_err(|e| format!("{} cannot be read as a call journal: {e}", path.display()))
}

/// The address `serve` listens on by default: the port of the seed's sample.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8082";

/// Runs the server until `stop` resolves (or SIGINT/SIGTERM when `stop` is
/// `None`). `ready` receives the bound address.
pub async fn serve(
    opts: ServeOptions,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
) -> Result<(), ServeError> {
    // Opened off the runtime's thread, as every later write is.
    let path = opts.journal.clone();
    let journal = tokio::task::spawn_blocking(move || match &path {
        Some(path) => journal::Journal::open(path),
        None => journal::Journal::in_memory(),
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    .map_err(|cause| ServeError::Journal {
        path: opts.journal.clone(),
        cause,
    })?;
    let mut journal = journal;
    let reporting = opts.report.clone().filter(|c| c.report.is_some());
    journal.set_reporting(reporting.is_some());
    let journal = Arc::new(std::sync::Mutex::new(journal));
    let metrics = Arc::new(metrics::Metrics::default());
    let (writer, writing) =
        journal::Writer::start(journal.clone(), opts.idle.as_ref(), metrics.clone());
    let writer = Arc::new(writer);
    let hub = Arc::new(hub::Hub::new());
    let mut ingest = ingest::Ingest::new(hub.clone(), writer.clone(), metrics.clone());
    ingest.callers = opts.callers.clone();
    let report_wake = Arc::new(tokio::sync::Notify::new());
    if reporting.is_some() {
        ingest.report_wake = Some(report_wake.clone());
    }
    let ingest = Arc::new(ingest);
    let sim = opts
        .sim
        .then(|| sim::Sim::new(ingest.clone(), opts.timings));
    let mut state = api::AppState::new(ingest, sim, opts.server.clone(), Some(journal.clone()));
    // Built once; a client that cannot be set up (a bad <cafile>) is
    // told to each setevent, as a dial of its own would be.
    state.dialer =
        opts.dialer.clone().filter(|_| !opts.sim).map(|config| {
            dialer::DialThread::start(config, opts.context.clone()).map_err(Arc::new)
        });
    state.writer = Some(writer.clone());
    state.holds = holds::Holds::new(opts.max_connections);
    state.provider_name = if opts.sim {
        "the simulator".to_owned()
    } else {
        match opts.dialer.as_deref() {
            Some(c) if !c.global.provider.value.is_empty() => {
                format!("provider {}", c.global.provider.value)
            }
            Some(_) => "the server file's provider".to_owned(),
            None => "this server (it has no provider)".to_owned(),
        }
    };
    state.provider_host = opts
        .dialer
        .as_deref()
        .filter(|_| !opts.sim)
        .and_then(health::provider_host);
    // Keyyo's CTI session, for every desk's line; it stops with the
    // server, as the relay does.
    let (cti_stop, cti_stopped) = tokio::sync::watch::channel(false);
    let mut cti_task = None;
    if let Some(settings) = opts.keyyo_cti.clone() {
        let mut lines: Vec<String> = opts
            .server
            .desks
            .iter()
            .flat_map(|d| d.lines.iter().cloned())
            .collect();
        lines.sort();
        lines.dedup();
        // A supervisor's wall shows the account's call park: calls
        // parked from any line, followed through `callpark`.
        let park = opts.server.desks.iter().any(|d| d.supervisor);
        let (cti, task) = keyyo_cti::Cti::start(
            settings,
            lines,
            park,
            state.ingest.clone(),
            state.seen.clone(),
            cti_stopped,
        )
        .map_err(ServeError::KeyyoCti)?;
        state.cti = Some(cti);
        state.provider_name = "Keyyo's CTI service".to_owned();
        cti_task = Some(task);
    }
    let relay_status = Arc::new(health::RelayStatus::default());
    if opts.relay && opts.dialer.is_some() {
        state.relay_status = Some(relay_status.clone());
    }
    let state = Arc::new(state);
    // The certificate, checked before anyone connects, then kept fresh.
    let tls = match opts.tls.clone() {
        Some(files) => {
            let current = tokio::task::spawn_blocking(move || tls::Current::new(files))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
                .map_err(ServeError::Tls)?;
            Some(Arc::new(current))
        }
        None => None,
    };
    let listen = |cause| ServeError::Listen {
        addr: opts.listen,
        cause,
    };
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(listen)?;
    let addr = listener.local_addr().map_err(listen)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(target: LIFECYCLE, "{}", startup_line(&opts, scheme, addr));
    let refreshing = match tls.clone() {
        Some(t) => tokio::spawn(tls::keep_fresh(t)),
        // SIGHUP (systemd's reload) must not end a server with nothing to
        // read again.
        None => tokio::spawn(tls::hangups_ignored()),
    };
    let acceptor = tls.as_ref().map(|t| t.acceptor());
    if let Some(r) = ready {
        let _ = r.send(addr);
    }
    // The relay stops with the server.
    let (relay_stop, relay_stopped) = tokio::sync::watch::channel(false);
    let mut relaying = None;
    if opts.relay {
        if let Some(config) = opts.dialer.clone() {
            let ingest = state.ingest.clone();
            let mut rx = relay_stopped.clone();
            let context = opts.context.clone();
            relaying = Some(tokio::spawn(relay::run(
                context,
                config,
                ingest,
                relay_status,
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                },
            )));
        }
    }
    let mut reporter = None;
    if let Some(config) = reporting {
        let client =
            crate::http::HttpClient::new(&crate::http::ClientOptions::one_shot(&config.global));
        match client {
            Ok(client) => {
                let mut rx = relay_stopped.clone();
                let r = reporter::Reporter {
                    journal: journal.clone(),
                    config,
                    context: opts.context.clone(),
                    client,
                    wake: report_wake,
                    metrics,
                };
                reporter = Some(tokio::spawn(r.run(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })));
            }
            Err(e) => tracing::error!(
                "reports cannot be sent ({e}): they are kept in the journal until the server is started with a working <report>"
            ),
        }
    }
    let hub = state.hub.clone();
    let app = api::router(state.clone());
    let stop = async move {
        match stop {
            Some(rx) => {
                let _ = rx.await;
            }
            None => crate::events::watch::shutdown_signal().await,
        }
    };
    let connections = connections::Connections::new(opts.max_connections);
    accept(listener, acceptor, state, app, connections, stop, || {
        tracing::debug!(target: LIFECYCLE, "stopping: held polls answered, open connections finishing");
        let _ = relay_stop.send(true);
        // Held polls answer now, so the connections close at once.
        hub.close();
    })
    .await;
    // The relay hands what it has to the journal before it ends.
    if let Some(r) = relaying {
        let _ = tokio::time::timeout(STOP_GRACE, r).await;
    }
    let _ = cti_stop.send(true);
    if let Some(t) = cti_task {
        let _ = tokio::time::timeout(STOP_GRACE, t).await;
    }
    // A report being sent is finished (its answer written down) first.
    if let Some(r) = reporter {
        let _ = tokio::time::timeout(STOP_GRACE, r).await;
    }
    refreshing.abort();
    // Every event queued so far is written before `serve` returns.
    writer.finish();
    if writing.join().is_err() {
        tracing::error!("the journal thread failed");
    }
    tracing::info!(target: LIFECYCLE, "stopped");
    Ok(())
}

/// The log target of the server's start and stop lines, which the command
/// line shows at its default verbosity (one line each, for journald).
pub const LIFECYCLE: &str = "ctibridge::serve";

/// What the server says when it starts: where, how, through what, for
/// whom, and where its journal is.
fn startup_line(opts: &ServeOptions, scheme: &str, addr: SocketAddr) -> String {
    let dials = if opts.sim {
        "the simulator".to_owned()
    } else {
        match opts.dialer.as_deref() {
            Some(c) if !c.global.provider.value.is_empty() => {
                format!("provider {}", c.global.provider.value)
            }
            Some(_) => "the server file's <cliktocalldial>".to_owned(),
            None if opts.keyyo_cti.is_some() => {
                "Keyyo's CTI session (from its own line)".to_owned()
            }
            None => "no provider (setevent answers 503)".to_owned(),
        }
    };
    let desks = match opts.server.desks.len() {
        0 => "any desk of this machine".to_owned(),
        1 => "1 desk".to_owned(),
        n => format!("{n} desks"),
    };
    let journal = opts
        .journal
        .as_ref()
        .map_or("in memory".to_owned(), |p| p.display().to_string());
    let mut line = format!(
        "ctibridge {} listening on {scheme}://{addr}: dials through {dials}, {desks}, journal {journal}",
        env!("CARGO_PKG_VERSION")
    );
    if opts.server.keyyo.is_some() {
        line.push_str(", Keyyo notifications on");
    }
    if opts.relay {
        line.push_str(", relay on");
    }
    if opts.callers.is_some() {
        line.push_str(", caller lookup on");
    }
    if opts.report.is_some() {
        line.push_str(", call reports on");
    }
    if !opts.server.trusted_proxies.is_empty() {
        line.push_str(", behind trusted proxies");
    }
    line
}

/// Why [`serve`] could not start; the cause as it came.
#[derive(Debug)]
pub enum ServeError {
    /// The call journal (a file, or in memory without one) cannot be opened.
    Journal {
        path: Option<std::path::PathBuf>,
        cause: rusqlite::Error,
    },
    /// The address cannot be listened on (in use, not this machine's).
    Listen {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    /// The certificate or its key cannot be served.
    Tls(tls::TlsError),
    /// Keyyo's CTI session cannot start (its kept refresh token is
    /// unreadable).
    KeyyoCti(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Journal {
                path: Some(path),
                cause,
            } => write!(
                f,
                "the call journal {} cannot be opened: {cause}",
                path.display()
            ),
            ServeError::Journal { path: None, cause } => {
                write!(f, "the call journal cannot be opened: {cause}")
            }
            ServeError::Listen { addr, cause } if cause.kind() == std::io::ErrorKind::AddrInUse => {
                write!(
                    f,
                    "cannot serve on {addr}: another program listens on port {} already (`ss -ltnp 'sport = :{}'` names it; another `ctibridge serve`?)",
                    addr.port(),
                    addr.port()
                )
            }
            ServeError::Listen { addr, cause } => write!(f, "cannot serve on {addr}: {cause}"),
            ServeError::Tls(e) => write!(f, "HTTPS cannot be served: {e}"),
            ServeError::KeyyoCti(why) => write!(f, "Keyyo's CTI session cannot start: {why}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Journal { cause, .. } => Some(cause),
            ServeError::Listen { cause, .. } => Some(cause),
            ServeError::Tls(e) => Some(e),
            ServeError::KeyyoCti(_) => None,
        }
    }
}

/// The answer to a connection that cannot be taken: 503, then closed.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    let body = "{\"error\":\"this server has as many connections as it can keep: try again\"}";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        stream.write_all(answer.as_bytes()),
    )
    .await;
}

/// How long a client may take to send a request's headers, from its
/// connection or its previous answer (a connection that sends nothing, or
/// a byte now and then, is closed, within a second past the limit).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long the stop waits for connections to finish their answer.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves HTTP/1.1 on `io` until it closes, the server stops, or the
/// connection is closed to make room for a newer one.
async fn drive<I, S>(
    io: I,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
    registered: connections::Registered,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        // Not hyper's header_read_timeout: its timer, set anew for
        // every request, wakes the runtime each time (an eventfd write
        // per request, measured); the registry's sweep does the same
        // job once a second.
        .header_read_timeout(None)
        // Answers are a few hundred bytes: copied into one buffer and
        // written with one write() (measured: ~4 % more notifications
        // per second than a writev of head and body).
        .writev(false)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    let conn = watcher.watch(conn);
    tokio::select! {
        _ = conn => {}
        // Closed to make room for a newer connection: dropped here.
        _ = registered.conn.closed() => {}
    }
    drop(registered);
}

/// The connection's request ends when its answer's body is dropped:
/// written whole, or the client gone.
struct Busy(std::sync::Arc<connections::Connection>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// An answer's body that keeps its connection busy while it is written.
struct Answering {
    body: axum::body::Body,
    _busy: Busy,
}

impl hyper::body::Body for Answering {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The answer to a plain HTTP request on the HTTPS port: what to do, in
/// words a person and a client's error message can show.
async fn speaks_https(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    const BODY: &str = "this server speaks HTTPS on this port: write the URL with https://\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(HEADER_READ_TIMEOUT, async {
        use tokio::io::AsyncReadExt as _;
        // The request's head read first: a socket closed with unread
        // data is reset, and the answer lost with it.
        let mut head = Vec::new();
        let mut buf = [0u8; 2048];
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Accepts connections until `stop` resolves, runs `stopping` (which
/// answers held polls), then lets the open connections finish.
async fn accept(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<api::AppState>,
    app: axum::Router,
    connections: Arc<connections::Connections>,
    stop: impl std::future::Future<Output = ()>,
    stopping: impl FnOnce(),
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    // The header time limit: idle connections closed once a second.
    let sweeping = {
        let connections = connections.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                connections.close_idle(HEADER_READ_TIMEOUT);
            }
        })
    };
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Answers are small and awaited: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let making_room = connections.is_full();
        let Some(registered) = connections.admit() else {
            tracing::debug!(%peer, "refused: every connection is in a request");
            // Every connection is in a request: this one cannot be taken.
            tokio::spawn(refuse(stream));
            continue;
        };
        let (state, app) = (state.clone(), app.clone());
        let conn_state = registered.conn.clone();
        let source = crate::keyyo::Source::new(
            peer,
            state.opts.trusted_proxies.trusts(peer.ip()),
            tls.is_some(),
        );
        let service = hyper::service::service_fn(move |req| {
            let (state, app, conn_state) = (state.clone(), app.clone(), conn_state.clone());
            conn_state.start();
            // What can be done at once is, before hyper reads on.
            let taken = api::take(&state, &source, req);
            async move {
                let answer = api::respond(&state, &app, taken).await;
                // Busy until the answer's body is written whole (an
                // event stream is one long answer), not when its head is.
                let answer = answer.map(|body| {
                    axum::body::Body::new(Answering {
                        body,
                        _busy: Busy(conn_state),
                    })
                });
                Ok::<_, std::convert::Infallible>(answer)
            }
        });
        let watcher = graceful.watcher();
        match &tls {
            None => {
                tokio::spawn(drive(stream, service, watcher, registered));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client speaking plain HTTP to this HTTPS port is
                    // told so, in plain HTTP (a TLS handshake starts with
                    // byte 0x16, a request with a letter).
                    let mut first = [0u8; 1];
                    let peeked = tokio::select! {
                        p = tokio::time::timeout(HEADER_READ_TIMEOUT, stream.peek(&mut first)) => p,
                        _ = registered.conn.closed() => return,
                    };
                    match peeked {
                        Ok(Ok(1)) if first[0].is_ascii_alphabetic() => {
                            speaks_https(stream).await;
                            return;
                        }
                        Ok(Ok(1)) => {}
                        _ => return,
                    }
                    let handshake = acceptor.accept(stream);
                    // The handshake within the header time limit.
                    let stream = tokio::select! {
                        done = tokio::time::timeout(HEADER_READ_TIMEOUT, handshake) => match done {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, "TLS handshake failed: {e}");
                                return;
                            }
                            Err(_) => return,
                        },
                        _ = registered.conn.closed() => return,
                    };
                    drive(stream, service, watcher, registered).await;
                });
            }
        }
        if making_room {
            // The connection told to close does so before the next accept
            // takes another descriptor.
            tokio::task::yield_now().await;
        }
    }
    drop(listener);
    sweeping.abort();
    stopping();
    let _ = tokio::time::timeout(STOP_GRACE, graceful.shutdown()).await;
}
