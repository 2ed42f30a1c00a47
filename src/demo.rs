//! `ctibridge demo`: the bridge server with its simulator on a free loopback
//! port, the station side run from the built-in sample files pointed at it,
//! a call dialled, an incoming call injected and popped. No account, no
//! file written (the token cache goes to a temporary folder, removed at the
//! end), nothing left running.

use crate::context::Context;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::dial::{self, DialRequest, Outcome};
use crate::events::watch::{self, WatchOptions};
use crate::launch::quote_word;
use crate::load;
use crate::server::{self, ServeOptions, ServerOptions, Timings};
use crate::source::{FileRole, SourceFile, SourceMap, Span};

/// The built-in sample files.
pub const SAMPLE_PARAM: &str = include_str!("../samples/clicktocall_param.txt");
pub const SAMPLE_STATION: &str = include_str!("../samples/station.txt");
pub const SAMPLE_TAPI: &str = include_str!("../samples/tapi_param.txt");

/// What the demo saw.
#[derive(Debug, Default)]
pub struct Summary {
    pub dialled: bool,
    pub events: usize,
    pub screen_pops: usize,
}

/// Runs the demo, writing what happens to `out`. Returns what it saw.
pub fn run(out: &mut dyn Write) -> Result<Summary, String> {
    let cache = std::env::temp_dir().join(format!("ctibridge-demo-{}", std::process::id()));
    // Tokens of the demo station go to a folder removed at the end.
    let context = Context::with_cache_dir(cache.clone());
    let idle = server::Idle::default();
    let rt = server::runtime(&idle).map_err(|e| format!("cannot start: {e}"))?;
    let result = rt.block_on(run_async(&context, &cache, idle, out));
    let _ = std::fs::remove_dir_all(&cache);
    result
}

/// The demo server's directory: who the numbers of the demo are.
const DIRECTORY: &str = "Nom;Société;Téléphone;Fiche\n\
    Marie Dupont;Dupont SA;03 88 20 20 20;T0001\n\
    Jean Martin;Martin & Fils;+33 6 12 34 56 78;T0002\n\
    Sophie Bernard;Bernard Conseil;06 99 88 77 66;T0003\n";

/// The demo server's `<lookup>`: [`DIRECTORY`], written in `folder`.
fn demo_callers(
    folder: &std::path::Path,
    context: &Context,
) -> Result<std::sync::Arc<crate::names::Callers>, String> {
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let path = folder.join("annuaire.csv");
    std::fs::write(&path, DIRECTORY).map_err(|e| format!("{}: {e}", path.display()))?;
    let loaded = load::load_text(&format!("<lookup>\n<directory>{}\n", path.display()), None);
    let config = loaded
        .checked
        .filter(|_| !loaded.diagnostics.has_errors())
        .map(|c| c.config)
        .ok_or("the demo's <lookup> does not load")?;
    match crate::names::Lookup::new(std::sync::Arc::new(config), context, Span::first_file()) {
        Ok(Some((lookup, _))) => Ok(crate::names::Callers::new(lookup)),
        _ => Err("the demo's directory cannot be read".to_owned()),
    }
}

async fn run_async(
    context: &Context,
    folder: &std::path::Path,
    idle: server::Idle,
    out: &mut dyn Write,
) -> Result<Summary, String> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let opts = ServeOptions {
        listen: "127.0.0.1:0".parse().expect("address"),
        sim: true,
        server: ServerOptions::default(),
        timings: Timings {
            ring: Duration::from_secs(1),
            talk: Duration::from_secs(2),
        },
        journal: None,
        dialer: None,
        callers: Some(demo_callers(folder, context)?),
        keyyo_cti: None,
        report: None,
        relay: false,
        max_connections: server::default_max_connections(),
        context: context.clone(),
        tls: None,
        idle: Some(idle),
    };
    let server = tokio::spawn(server::serve(opts, Some(ready_tx), Some(stop_rx)));
    let addr = ready_rx
        .await
        .map_err(|_| "the bridge server did not start".to_owned())?;
    let say = |out: &mut dyn Write, text: &str| {
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    };
    say(
        out,
        &format!("ctibridge demo — the bridge server runs with its simulator on http://{addr}"),
    );
    say(
        out,
        "the station side reads the built-in samples/clicktocall_param.txt, pointed at it\n\
         (timeouts shortened to 0.2 s so the demo takes seconds) and samples/station.txt (paul, line 1003);\n\
         the server names callers from a small directory (<lookup><directory>annuaire.csv)\n",
    );

    let loaded = load_samples(addr);
    let Some(checked) = loaded.checked.as_ref().filter(|_| !loaded.has_errors()) else {
        return Err(loaded.diagnostics.render(&loaded.sources));
    };
    let config = &checked.config;
    let fallback = Span::file(loaded.param_file());
    let mut summary = Summary::default();

    say(
        out,
        "1. paul clicks 03 88 20 20 20 in the ERP: ctibridge dial 0388202020",
    );
    match dial::dial(
        context,
        config,
        &DialRequest {
            target: "0388202020".to_owned(),
            ..DialRequest::default()
        },
        fallback,
    )
    .await
    {
        Ok(Outcome::Placed { status }) => {
            summary.dialled = true;
            say(
                out,
                &format!(
                    "   setevent?…&cmdevent=DIAL answered HTTP {status}: the call is placed\n"
                ),
            );
        }
        Ok(other) => say(out, &format!("   {other:?}\n")),
        Err(f) => return Err(format!("the dial failed: {f:?}")),
    }

    say(
        out,
        "2. ctibridge watch follows line 1003; in 3 s, 06 12 34 56 78 calls paul;\n\
         \x20  then 06 99 88 77 66 calls, and paul acts on the call from his desk (ctibridge call):\n\
         \x20  answer, park (it waits in the call park), unpark, transfer to 1004 (Anne)\n",
    );
    let inject = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        inject_call(addr).await?;
        tokio::time::sleep(Duration::from_millis(3500)).await;
        control_scene(addr).await
    });
    let wopts = WatchOptions {
        once: false,
        duration: Some(Duration::from_millis(12_000)),
        json: false,
    };
    let mut lines = Indented {
        out: &mut *out,
        events: 0,
        pops: 0,
        partial: Vec::new(),
    };
    let watched = watch::watch(context, config, &wopts, &mut lines, fallback).await;
    summary.events = lines.events;
    summary.screen_pops = lines.pops;
    let injected = inject.await.map_err(|e| e.to_string())?;
    if let Err(f) = watched {
        return Err(format!("watch failed: {f:?}"));
    }
    injected?;

    say(
        out,
        "\n3. the bridge server's call journal for line 1003 (history route, SQLite):",
    );
    for line in journal_lines(addr).await? {
        say(out, &format!("   {line}"));
    }
    let _ = stop_tx.send(());
    let _ = server.await;

    say(
        out,
        &format!(
            "\nsummary: dial {}, {} call events seen, {} screen pop(s) (the demo's <popup> prints the fiche line above).\n\
             The simulator stood in for the provider: with an account, `ctibridge serve --server server_param.txt` receives Keyyo notifications or relays OVH events (see samples/server_param.txt).\n\
             Next: `ctibridge check --sys-dir samples --station samples/station.txt` explains the sample files;\n\
             `ctibridge serve --sim` and `ctibridge sim call FROM TO` run the simulator yourself.",
            if summary.dialled { "placed" } else { "not placed" },
            summary.events,
            summary.screen_pops
        ),
    );
    Ok(summary)
}

/// `watch`'s lines, indented and counted as they come.
struct Indented<'a> {
    out: &'a mut dyn Write,
    events: usize,
    pops: usize,
    partial: Vec<u8>,
}

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            self.events += 1;
            if line.contains("screen pop") {
                self.pops += 1;
            }
            write!(self.out, "   {line}")?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The sample files with the server's address, quicker timeouts and a
/// screen pop that prints the fiche it would open.
fn load_samples(addr: std::net::SocketAddr) -> load::Loaded {
    let param = format!(
        "{}\n<global>\n<timeout1>0.2\n<timeout2>0.2\n\n<popup>\n<command>{} echo {}\n",
        SAMPLE_PARAM.replace("localhost:8082", &addr.to_string()),
        // This program's hidden `echo`: every platform has it (Windows has
        // no `echo` program).
        quote_word(
            &std::env::current_exe()
                .unwrap_or_else(|_| PathBuf::from("ctibridge"))
                .to_string_lossy()
        ),
        quote_word(
            "   → montée de fiche: the ERP opens $name$ ($company$), record $record$, number $tel$"
        )
    );
    let mut sources = SourceMap::new();
    let mut add = |path: &str, role, text: &str| {
        sources.add(SourceFile::new(PathBuf::from(path), role, text.as_bytes()))
    };
    let p = add(
        "(built-in) samples/clicktocall_param.txt",
        FileRole::Param,
        &param,
    );
    let s = add(
        "(built-in) samples/station.txt",
        FileRole::Station,
        SAMPLE_STATION,
    );
    let t = add(
        "(built-in) samples/tapi_param.txt",
        FileRole::TapiGlobal,
        SAMPLE_TAPI,
    );
    load::load_sources(sources, p, Some(s), &[t])
}

/// One request to the demo's server; an error unless it succeeds.
async fn request(
    method: crate::config::Method,
    url: String,
    headers: Vec<(String, String)>,
) -> Result<crate::http::HttpResponse, String> {
    let resp = server::ask_bridge(method, url, headers, None)
        .await
        .map_err(|e| e.to_string())?;
    if resp.is_success() {
        Ok(resp)
    } else {
        Err(format!(
            "the bridge server answered HTTP {}: {}",
            resp.status,
            resp.body_start()
        ))
    }
}

async fn inject_call(addr: std::net::SocketAddr) -> Result<(), String> {
    let resp = server::inject(
        &format!("http://{addr}"),
        "0612345678",
        "1003",
        server::Auto::Answer,
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    if resp.is_success() {
        Ok(())
    } else {
        Err(format!(
            "the simulator refused the call: HTTP {}",
            resp.status
        ))
    }
}

/// A call from 06 99 88 77 66 that rings until paul acts: answered,
/// parked, taken back, transferred to 1004 — each through the bridge
/// server's call route, as `ctibridge call` sends it.
async fn control_scene(addr: std::net::SocketAddr) -> Result<(), String> {
    use crate::config::Method;
    let resp = server::inject(
        &format!("http://{addr}"),
        "0699887766",
        "1003",
        server::Auto::Manual,
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    let callref = crate::answer::read_json(&resp.body, "callref")
        .ok()
        .flatten()
        .ok_or("the simulator gave no callref")?;
    let auth = vec![(
        "Authorization".to_owned(),
        format!("Bearer {}", demo_token(addr).await?),
    )];
    let cti = format!("http://{addr}{}", crate::server::CTI_PATH);
    for op in ["answer", "park", "unpark", "transfer&to=1004&side=caller"] {
        tokio::time::sleep(Duration::from_millis(900)).await;
        request(
            Method::Post,
            format!("{cti}/call?telorg=1003&callref={callref}&op={op}"),
            auth.clone(),
        )
        .await?;
    }
    Ok(())
}

/// A token of the demo's desk (the simulator takes any desk of this
/// machine).
async fn demo_token(addr: std::net::SocketAddr) -> Result<String, String> {
    let cti = format!("http://{addr}{}", crate::server::CTI_PATH);
    let token = request(
        crate::config::Method::Get,
        format!("{cti}/gettoken?ident=demo"),
        Vec::new(),
    )
    .await?;
    crate::answer::read_json(&token.body, "token")
        .ok()
        .flatten()
        .ok_or_else(|| "no token".to_owned())
}

/// The journal of line 1003, one line per call, oldest first.
async fn journal_lines(addr: std::net::SocketAddr) -> Result<Vec<String>, String> {
    use crate::config::Method;
    let cti = format!("http://{addr}{}", crate::server::CTI_PATH);
    let token = demo_token(addr).await?;
    let history = request(
        Method::Get,
        format!("{cti}/history?telorg=1003"),
        vec![("Authorization".to_owned(), format!("Bearer {token}"))],
    )
    .await?;
    let v: serde_json::Value =
        serde_json::from_str(&history.body).map_err(|e| format!("history: {e}"))?;
    let calls = v["calls"].as_array().cloned().unwrap_or_default();
    Ok(calls
        .into_iter()
        .rev()
        .filter_map(|c| serde_json::from_value::<crate::server::CallRecord>(c).ok())
        .map(|c| crate::calls::readable(&c, "%H:%M:%S"))
        .collect())
}
