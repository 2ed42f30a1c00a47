//! `ctibridge serve`: the server's moving parts, started in order and
//! stopped on one signal.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::http::listener;
use crate::http::state::{AppState, Parts};
use crate::infra::lifecycle::{Tasks, LIFECYCLE};
use crate::infra::tls::TlsFiles;
use crate::infra::{connections, metrics, tls};
use crate::sources::provider::{Dialer, Provider};
use crate::sources::{dialer, health, keyyo_cti, relay, reporter, sim};
use crate::store::journal::{Idle, SharedJournal};
use crate::store::{hub, ingest, journal};

/// What `serve` was asked.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub sim: bool,
    pub server: crate::config::server::ServerOptions,
    pub timings: sim::Timings,
    /// The call journal's file; `None`: kept in memory.
    pub journal: Option<std::path::PathBuf>,
    /// Without the simulator: the configuration whose `<cliktocalldial>`
    /// places the calls asked with `setevent`.
    pub dialer: Option<Arc<ctibridge_lang::config::Config>>,
    /// The `<lookup>` that names the caller of every call, once for all
    /// desks.
    pub callers: Option<Arc<ctibridge_client::names::Callers>>,
    /// `<keyyo_cti>`: Keyyo's CTI WebSocket, for the desks' lines.
    pub keyyo_cti: Option<crate::config::keyyo::CtiSettings>,
    /// The configuration whose `<report>` writes each finished call back
    /// (through the journal's outbox).
    pub report: Option<Arc<ctibridge_lang::config::Config>>,
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

/// Runs the server until `stop` resolves (or SIGINT/SIGTERM when `stop` is
/// `None`). `ready` receives the bound address.
pub async fn serve(
    opts: ServeOptions,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
    stop: Option<tokio::sync::oneshot::Receiver<()>>,
) -> Result<(), ServeError> {
    let store = Store::open(&opts).await?;
    let mut tasks = Tasks::default();
    let provider = provider(&opts, &store, &mut tasks)?;
    let relay_status =
        (opts.relay && opts.dialer.is_some()).then(|| Arc::new(health::RelayStatus::default()));
    let state = Arc::new(AppState::new(Parts {
        ingest: store.ingest.clone(),
        provider,
        opts: opts.server.clone(),
        journal: store.journal.clone(),
        writer: store.writer.clone(),
        seen: store.seen.clone(),
        relay_status: relay_status.clone(),
        max_connections: opts.max_connections,
    }));
    // The certificate, checked before anyone connects, then kept fresh.
    let tls = match opts.tls.clone() {
        Some(files) => Some(Arc::new(
            on_a_blocking_thread(move || tls::Current::new(files))
                .await
                .map_err(ServeError::Tls)?,
        )),
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
    if let Some(status) = relay_status {
        start_relay(&opts, &store, status, &mut tasks);
    }
    start_reporter(&opts, &store, &mut tasks);
    let app = crate::http::front::router(state.clone());
    let stop = async move {
        match stop {
            Some(rx) => {
                let _ = rx.await;
            }
            None => ctibridge_client::events::watch::shutdown_signal().await,
        }
    };
    let connections = connections::Connections::new(opts.max_connections);
    listener::accept(listener, acceptor, state, app, connections, stop, || {
        tracing::debug!(target: LIFECYCLE, "stopping: held polls answered, open connections finishing");
        tasks.signal();
        // Held polls answer now, so the connections close at once.
        store.hub.close();
    })
    .await;
    // The relay hands what it has to the journal, a report being sent is
    // finished (its answer written down), before they end.
    tasks.stop().await;
    refreshing.abort();
    // Every event queued so far is written before `serve` returns.
    store.finish();
    tracing::info!(target: LIFECYCLE, "stopped");
    Ok(())
}

/// What the server remembers: the journal and its writer, the hub, and
/// the way events come in.
struct Store {
    journal: SharedJournal,
    writer: Arc<journal::Writer>,
    writing: std::thread::JoinHandle<()>,
    hub: Arc<hub::Hub>,
    ingest: Arc<ingest::Ingest>,
    seen: Arc<std::sync::Mutex<crate::store::seen::Seen>>,
    metrics: Arc<metrics::Metrics>,
    /// Woken when a call ends, when the server reports calls.
    report_wake: Arc<tokio::sync::Notify>,
    reporting: Option<Arc<ctibridge_lang::config::Config>>,
}

impl Store {
    /// Opens the journal (off the runtime's thread, as every later write
    /// is) and starts its writer.
    async fn open(opts: &ServeOptions) -> Result<Store, ServeError> {
        let path = opts.journal.clone();
        let (mut journal, reader) = on_a_blocking_thread(move || match &path {
            Some(path) => {
                let journal = journal::Journal::open(path)?;
                // The readers' own connection (see SharedJournal).
                let reader = journal::Journal::open_read_only(path)?;
                Ok((journal, Some(reader)))
            }
            None => Ok((journal::Journal::in_memory()?, None)),
        })
        .await
        .map_err(|cause| ServeError::Journal {
            path: opts.journal.clone(),
            cause,
        })?;
        let reporting = opts.report.clone().filter(|c| c.report.is_some());
        journal.set_reporting(reporting.is_some());
        let seen = crate::store::seen::Seen::restored(&journal);
        let hub = Arc::new(hub::Hub::new());
        if opts.server.has_supervisor() {
            // The wall is kept from the events from now on; what the journal
            // knows of the day before them, read once.
            let lines = opts.server.all_lines();
            let mut calls = Vec::new();
            for line in &lines {
                calls.extend(journal.history(line, None, WALL_SEED).map_err(|e| {
                    ServeError::Journal {
                        path: opts.journal.clone(),
                        cause: e,
                    }
                })?);
            }
            hub.follow_wall(lines, calls);
        }
        let journal = SharedJournal::new(journal, reader);
        let metrics = Arc::new(metrics::Metrics::default());
        let (writer, writing) = journal::Writer::start(
            journal.writing().clone(),
            opts.idle.as_ref(),
            metrics.clone(),
        );
        let writer = Arc::new(writer);
        let mut ingest = ingest::Ingest::new(hub.clone(), writer.clone(), metrics.clone());
        ingest.callers = opts.callers.clone();
        let report_wake = Arc::new(tokio::sync::Notify::new());
        if reporting.is_some() {
            ingest.report_wake = Some(report_wake.clone());
        }
        Ok(Store {
            journal,
            writer,
            writing,
            hub,
            ingest: Arc::new(ingest),
            seen: Arc::new(std::sync::Mutex::new(seen)),
            metrics,
            report_wake,
            reporting,
        })
    }

    /// Every event queued so far written, and the writer's thread ended.
    fn finish(self) {
        self.writer.finish();
        if self.writing.join().is_err() {
            tracing::error!("the journal thread failed");
        }
    }
}

/// Calls of each line the wall reads from the journal as the server starts.
const WALL_SEED: usize = 2000;

/// `f` on a thread that may block; a panic there is the caller's.
async fn on_a_blocking_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Who places the calls: the simulator, the server file's provider, or
/// Keyyo's CTI session (started here, for every desk's line, whenever the
/// file has one — with the simulator it only brings the line's calls in;
/// it stops with the server).
fn provider(opts: &ServeOptions, store: &Store, tasks: &mut Tasks) -> Result<Provider, ServeError> {
    let cti = match opts.keyyo_cti.clone() {
        Some(settings) => Some(start_cti(settings, opts, store, tasks)?),
        None => None,
    };
    if opts.sim {
        return Ok(Provider::Simulator(sim::Sim::new(
            store.ingest.clone(),
            opts.timings,
        )));
    }
    // Built once; a client that cannot be set up (a bad <cafile>) is
    // told to each setevent, as a dial of its own would be.
    let dialer = opts.dialer.clone().map(|config| Dialer {
        name: match config.global.provider.value.as_str() {
            "" => "the server file's provider".to_owned(),
            name => format!("provider {name}"),
        },
        host: health::provider_host(&config),
        thread: dialer::DialThread::start(config, opts.context.clone()).map_err(Arc::new),
    });
    Ok(match (cti, dialer) {
        (Some(cti), dialer) => Provider::KeyyoCti { cti, dialer },
        (None, Some(dialer)) => Provider::Dialer(dialer),
        (None, None) => Provider::None,
    })
}

/// Keyyo's CTI session, following every desk's line.
fn start_cti(
    settings: crate::config::keyyo::CtiSettings,
    opts: &ServeOptions,
    store: &Store,
    tasks: &mut Tasks,
) -> Result<keyyo_cti::Cti, ServeError> {
    let lines = opts.server.all_lines();
    // A supervisor's wall shows the account's call park: calls parked from
    // any line, followed through `callpark`.
    let park = opts.server.has_supervisor();
    let (cti, task) = keyyo_cti::Cti::start(
        settings,
        lines,
        park,
        store.ingest.clone(),
        store.seen.clone(),
        tasks.stop_flag(),
    )
    .map_err(ServeError::KeyyoCti)?;
    tasks.add("Keyyo's CTI session", task);
    Ok(cti)
}

/// The relay: the dialer configuration's event source polled once for
/// everyone.
fn start_relay(
    opts: &ServeOptions,
    store: &Store,
    status: Arc<health::RelayStatus>,
    tasks: &mut Tasks,
) {
    let Some(config) = opts.dialer.clone() else {
        return;
    };
    let stopping = tasks.stopping();
    tasks.spawn(
        "the relay",
        relay::run(
            opts.context.clone(),
            config,
            store.ingest.clone(),
            status,
            stopping,
        ),
    );
}

/// The reporter: each finished call written back to the ERP, through the
/// journal's outbox.
fn start_reporter(opts: &ServeOptions, store: &Store, tasks: &mut Tasks) {
    let Some(config) = store.reporting.clone() else {
        return;
    };
    let client = ctibridge_client::http::HttpClient::new(
        &ctibridge_client::http::ClientOptions::one_shot(&config.global),
    );
    match client {
        Ok(client) => {
            let r = reporter::Reporter {
                journal: store.journal.clone(),
                config,
                context: opts.context.clone(),
                client,
                wake: store.report_wake.clone(),
                metrics: store.metrics.clone(),
            };
            let stopping = tasks.stopping();
            tasks.spawn("the reporter", r.run(stopping));
        }
        Err(e) => tracing::error!(
            "reports cannot be sent ({e}): they are kept in the journal until the server is started with a working <report>"
        ),
    }
}

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

/// The runtime `serve` runs on: one thread, which tells `idle` each time
/// it has nothing left to do (before it waits for the network).
pub fn runtime(idle: &Idle) -> std::io::Result<tokio::runtime::Runtime> {
    let idle = idle.clone();
    crate::infra::runtime::one_thread(move || idle.now())
}

/// The calls of a call journal's file, newest first (`ctibridge history
/// --journal`): of `line` (its one identity), or of every line; `kind`
/// filters them. Read only.
pub fn journal_history(
    path: &std::path::Path,
    line: Option<&str>,
    kind: Option<crate::model::record::HistoryKind>,
    limit: usize,
) -> Result<Vec<crate::model::record::CallRecord>, String> {
    if !path.exists() {
        return Err(format!("{} does not exist", path.display()));
    }
    let read = || -> rusqlite::Result<Vec<crate::model::record::CallRecord>> {
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
