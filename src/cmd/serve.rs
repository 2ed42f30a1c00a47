//! `ctibridge serve` and `ctibridge sim call`.

use ctibridge::exit::Exit;
use ctibridge::load::LocateOptions;
use ctibridge::number;

use crate::cli::ServeArgs;
use crate::exit::EndsWith as _;
use crate::session::current_thread_runtime;

pub(crate) fn serve(opts: &LocateOptions, args: ServeArgs) -> Exit {
    use ctibridge::server::{self, settings, ServeOptions, ServerOptions, Timings};
    // The server file: --server, else server_param.txt in the sys folder,
    // which only --sim may do without.
    let default_file = crate::env::locations(opts)
        .sys_dir
        .join(settings::FILE_NAME);
    let file = match (&args.server, args.sim) {
        (Some(f), _) => Some(f.clone()),
        (None, sim) if !sim || default_file.exists() => Some(default_file),
        (None, _) => None,
    };
    let mut found = match &file {
        Some(f) => {
            let loaded = settings::load(f, crate::env::keyyo_secret().as_deref());
            err!("{}", loaded.diagnostics.render(&loaded.sources));
            match loaded.settings {
                Some(s) => s,
                None => {
                    if args.server.is_none() && !f.exists() {
                        errln!("note: `ctibridge serve --sim` needs no server file");
                    }
                    return Exit::Config;
                }
            }
        }
        None => settings::ServerSettings::zero_config(),
    };
    if args.sim {
        found.simulator = true;
        found.dialer = None;
    }
    let listen = args.listen.unwrap_or(found.listen);
    if found.desks.is_empty() {
        if let Some(why) = settings::open_without_desks(listen) {
            errln!(
                "error: {why}\n  = help: {}",
                settings::OPEN_WITHOUT_DESKS_HELP
            );
            return Exit::Config;
        }
    }
    let env_secret = crate::env::keyyo_secret();
    // The file's notification settings, unless the environment or the
    // command line changes them.
    let keyyo = match (env_secret, args.keyyo_sources) {
        (None, None) => found.keyyo,
        (secret, sources) => {
            let file = found.keyyo.as_ref();
            match secret.or_else(|| file.map(|k| k.secret.expose().to_owned())) {
                None => None,
                Some(secret) => {
                    let sources = sources
                        .or_else(|| file.map(|k| k.sources.clone()))
                        .unwrap_or_else(|| {
                            settings::default_of(ctibridge::schema::Tag::SOURCES).to_owned()
                        });
                    match ctibridge::server::KeyyoOptions::new(&secret, &sources) {
                        Ok(k) => Some(k),
                        Err(e) => {
                            errln!("error: {e}");
                            return Exit::Config;
                        }
                    }
                }
            }
        }
    };
    if keyyo.is_some() {
        let (base, note) = match &found.public_url {
            Some(u) => (u.clone(), ""),
            None => (
                format!("http://{listen}"),
                " (replace the address with this server's public one, or set <public_url>)",
            ),
        };
        // Never the secret itself: the output of a service ends up in logs.
        outln!(
            "Keyyo notification URL to paste in the Keyyo manager{note}, secret masked (`ctibridge check --server FILE --show-secret` shows it):\n{}",
            ctibridge::server::manager_url(&base, ctibridge::redact::MASK)
        );
    }
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let idle = server::Idle::default();
    let rt = match server::runtime(&idle) {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start: {e}");
            return crate::exit::NoRuntime.exit();
        }
    };
    let context = crate::env::context();
    // The caller lookup: its directory read now, its problems said now.
    let erp = found.names.take().map(std::sync::Arc::new);
    let callers = match erp.clone() {
        None => None,
        Some(config) => {
            let fallback = ctibridge::source::Span::first_file();
            match ctibridge::names::Lookup::new(config, &context, fallback) {
                Ok(Some((lookup, problems))) => {
                    for p in problems {
                        errln!("warning: the directory, line {}: {}", p.line, p.message);
                    }
                    Some(ctibridge::names::Callers::new(lookup))
                }
                Ok(None) => None,
                Err(ctibridge::failure::Failure::Config(diags)) => {
                    for d in diags {
                        errln!("error: {}", d.message);
                    }
                    return Exit::Config;
                }
                Err(f) => {
                    errln!("error: the caller lookup cannot start: {f:?}");
                    return Exit::Config;
                }
            }
        }
    };
    let serve_opts = ServeOptions {
        listen,
        sim: found.simulator,
        server: ServerOptions {
            hold: args.hold.unwrap_or(found.hold),
            token_ttl: found.token_ttl,
            cti_rate: found.cti_rate,
            notify_rate: found.notify_rate,
            keyyo,
            desks: found.desks,
            country: found.country,
            tel_format: found.tel_format,
            trusted_proxies: found.trusted_proxies,
            monitoring: found.monitoring,
            record_url: found.record_url.clone(),
            ..ServerOptions::default()
        },
        timings: Timings::default(),
        journal: args.journal.or(found.journal),
        relay: found.relay,
        max_connections: found.max_connections,
        dialer: found.dialer.map(std::sync::Arc::new),
        callers,
        report: erp.filter(|c| c.report.is_some()),
        keyyo_cti: found.keyyo_cti.clone(),
        context,
        tls: found.tls,
        idle: Some(idle),
    };
    let served = rt.block_on(under_systemd(
        server::serve(serve_opts, Some(ready_tx), None),
        ready_rx,
    ));
    // systemd (Type=notify) learns that the service is going away.
    #[cfg(unix)]
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    match served {
        Ok(()) => Exit::Ok,
        Err(e) => {
            errln!("error: {e}");
            e.exit()
        }
    }
}

/// Runs `serving`; under systemd (`Type=notify`, `$NOTIFY_SOCKET`) says
/// READY once the server listens (`ready`), then, when the unit has a
/// watchdog, pings it at half its interval from the server's own runtime
/// thread — a stuck runtime misses the pings and systemd restarts it.
/// Outside systemd this sends nothing.
#[cfg(unix)]
async fn under_systemd<T>(
    serving: impl std::future::Future<Output = T>,
    ready: tokio::sync::oneshot::Receiver<std::net::SocketAddr>,
) -> T {
    use sd_notify::NotifyState;
    let telling = async {
        if let Ok(addr) = ready.await {
            let status = format!("listening on {addr}");
            let _ = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
            if let Some(every) = sd_notify::watchdog_enabled() {
                let mut tick = tokio::time::interval(every / 2);
                loop {
                    tick.tick().await;
                    let _ = sd_notify::notify(&[NotifyState::Watchdog]);
                }
            }
        }
        std::future::pending::<std::convert::Infallible>().await
    };
    tokio::select! {
        done = serving => done,
        never = telling => match never {},
    }
}

/// No systemd off Unix: `serving` alone.
#[cfg(not(unix))]
async fn under_systemd<T>(
    serving: impl std::future::Future<Output = T>,
    _ready: tokio::sync::oneshot::Receiver<std::net::SocketAddr>,
) -> T {
    serving.await
}

pub(crate) fn sim_call(
    url: &str,
    from: &str,
    to: &str,
    auto: ctibridge::server::Auto,
    cafile: Option<&std::path::Path>,
) -> Exit {
    let (from, to) = match (number::parse_target(from), number::parse_target(to)) {
        (Ok(f), Ok(t)) => (f.number, t.number),
        (Err(e), _) | (_, Err(e)) => {
            errln!("error: {e}\n  = help: nothing was sent");
            return Exit::BadInput;
        }
    };
    let rt = match current_thread_runtime() {
        Ok(rt) => rt,
        Err(e) => return e.exit(),
    };
    match rt.block_on(ctibridge::server::inject(url, &from, &to, auto, cafile)) {
        Ok(resp) if resp.is_success() => {
            outln!("{}", resp.body.trim());
            Exit::Ok
        }
        Ok(resp) => {
            errln!(
                "error: the bridge server refused: HTTP {}: {}",
                resp.status,
                resp.body_start()
            );
            Exit::Refused
        }
        Err(e) => {
            // Only a server that is not there is helped by starting one.
            let help = if e.to_string().contains("(TLS: ") {
                "the server runs, but this machine refuses its certificate (above: what to do)"
            } else {
                "start it with `ctibridge serve --sim`"
            };
            errln!("error: cannot reach the bridge server at {url}: {e}\n  = help: {help}");
            Exit::Network
        }
    }
}
