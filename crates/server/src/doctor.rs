//! `ctibridge doctor --server`: what the bridge server needs, checked
//! without starting it — its certificate, its address, its journal's
//! file — then its provider as a desk's is (`ctibridge_client::doctor`).

use std::net::SocketAddr;
use std::path::Path;

use ctibridge_client::doctor::{Check, Failing, Scope};

use crate::config::settings::ServerSettings;
use ctibridge_lang::source::Span;

/// The server's checks, in order: certificate, address, journal, provider.
pub async fn checks(
    settings: &ServerSettings,
    context: &ctibridge_client::context::Context,
    fallback: Span,
) -> Vec<Check> {
    let now = context.clock().unix_secs();
    let mut checks = vec![
        certificate(settings, now),
        listen(settings.listen, settings.tls.is_some()).await,
        journal(settings.journal.as_deref()),
    ];
    match &settings.dialer {
        _ if settings.simulator => checks.push(Check::skip(
            "provider",
            "the simulator places and rings the calls: no provider to check",
        )),
        None if settings.keyyo_cti.is_some() => checks.push(Check::skip(
            "provider",
            "no <provider>: Keyyo's CTI session dials, from its own line only",
        )),
        None => checks.push(Check::fail(
            "provider",
            Failing::Config,
            "the server file names no provider: desks' dials (setevent) are refused",
            "add <provider> and the station settings of the account (<station>) to the server file, or <simulator>1",
        )),
        Some(config) => {
            let scope = Scope {
                token: true,
                events: settings.relay,
                dial: true,
            };
            checks.extend(ctibridge_client::doctor::provider(config, context, fallback, scope).await);
        }
    }
    if let Some(cti) = &settings.keyyo_cti {
        checks.extend(keyyo_cti(cti).await);
    }
    if let Some(config) = &settings.names {
        let config = std::sync::Arc::new(config.clone());
        checks.extend(ctibridge_client::doctor::erp(&config, context, fallback).await);
        if config.report.is_some() {
            checks.push(outbox(settings.journal.as_deref()));
        }
    }
    checks
}

/// Keyyo's CTI service answers its SockJS `/info`; a minted token's kept
/// refresh token can be read and replaced. No token is minted here: a
/// refresh token used by `doctor` would be rotated away from the running
/// server.
async fn keyyo_cti(cti: &crate::config::keyyo::CtiSettings) -> Vec<Check> {
    let info = format!("{}/info", cti.endpoint.trim_end_matches('/'));
    let answered = match ctibridge_client::http::HttpClient::new(
        &ctibridge_client::http::ClientOptions::plain(),
    ) {
        Ok(client) => client
            .send(&ctibridge_client::request::HttpRequest::get(info.clone()))
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let mut checks = vec![match answered {
        Ok(r) if r.is_success() => Check::ok("keyyo cti", format!("{info} answers")),
        Ok(r) => Check::fail(
            "keyyo cti",
            Failing::Network,
            format!("{info}: HTTP {}", r.status),
            "<cti_url> must be Keyyo's SockJS endpoint (https://ws.keyyo.com/cti)",
        ),
        Err(e) => Check::fail(
            "keyyo cti",
            Failing::Network,
            format!("{info}: {e}"),
            "the server must reach the host of <cti_url> (Keyyo's: ws.keyyo.com, port 443): a firewall, a proxy?",
        ),
    }];
    if let crate::config::keyyo::TokenSettings::Minted(m) = &cti.token {
        checks.push(refresh_file(&m.file));
    } else {
        checks.push(Check::warn(
            "csi token",
            "<csi_token> is given: it lives one hour, and the session cannot be made again after it",
            "give <csi>, <oauth_client_id>, <oauth_client_secret> and <refresh_token> for the server to mint its own",
        ));
    }
    checks
}

/// The file of the newest refresh token: readable if there, private, and
/// replaceable in its folder.
fn refresh_file(path: &Path) -> Check {
    let shown = path.display();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Err(e) = probe_dir(dir) {
        return Check::fail(
            "csi token",
            Failing::System,
            format!("the newest refresh token cannot be kept in {}: {e}", dir.display()),
            "set <refresh_token_file> in a folder the service can write (the package's /var/lib/ctibridge)",
        );
    }
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Check::ok(
            "csi token",
            format!("minted with <refresh_token>; the newest will be kept in {shown}"),
        ),
        Err(e) => Check::fail(
            "csi token",
            Failing::System,
            format!("{shown} cannot be read: {e}"),
            "the service's user must own it",
        ),
        Ok(text)
            if serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|v| v["refresh_token"].is_string()) =>
        {
            if ctibridge_lang::load::readable_by_others(path) {
                Check::warn(
                    "csi token",
                    format!("{shown} holds a refresh token and other users can read it"),
                    format!("chmod 600 {shown}"),
                )
            } else {
                Check::ok(
                    "csi token",
                    format!("minted with the refresh token kept in {shown}"),
                )
            }
        }
        Ok(_) => Check::fail(
            "csi token",
            Failing::Config,
            format!("{shown} is not a kept refresh token"),
            "delete it: the server then starts from <refresh_token>",
        ),
    }
}

/// The report outbox of the journal, read only: reports the ERP keeps
/// refusing are a warning.
fn outbox(journal: Option<&std::path::Path>) -> Check {
    let Some(path) = journal.filter(|p| p.exists()) else {
        return Check::skip("outbox", "no journal file yet: no report waits");
    };
    let counts =
        crate::store::journal::Journal::open_read_only(path).and_then(|j| j.report_counts());
    match counts {
        Ok(c) if c.failing > 0 => Check::warn(
            "outbox",
            format!(
                "{} report(s) waiting, {} refused by the ERP at least once; {} taken",
                c.pending, c.failing, c.done
            ),
            "`ctibridge history --journal FILE` shows each refusal and why; they are sent again with back-off",
        ),
        Ok(c) => Check::ok(
            "outbox",
            format!("{} report(s) waiting, {} taken", c.pending, c.done),
        ),
        Err(e) => Check::warn(
            "outbox",
            format!("the journal cannot be read: {e}"),
            "see the journal check above",
        ),
    }
}

fn certificate(settings: &ServerSettings, now: i64) -> Check {
    let Some(files) = &settings.tls else {
        let public = !settings.listen.ip().is_loopback();
        return if public && settings.trusted_proxies.is_empty() {
            Check::warn(
                "certificate",
                format!("no <tls_cert>: plain HTTP on {}", settings.listen),
                "set <tls_cert> and <tls_key>, or listen on 127.0.0.1 behind a proxy that serves HTTPS (<trusted_proxies>): desks' secrets and tokens cross the network in clear",
            )
        } else {
            Check::skip("certificate", "no <tls_cert>: plain HTTP")
        };
    };
    match crate::infra::tls::load(files, now) {
        Ok(_) if crate::infra::tls::is_authority(files) => Check::warn(
            "certificate",
            format!(
                "{}: a certificate authority's (CA:TRUE), which ctibridge's desks refuse as a server's own",
                files.cert.display()
            ),
            format!(
                "make one of its own (CA:FALSE): {}",
                crate::infra::tls::SELF_SIGNED_RECIPE
            ),
        ),
        Ok(_) => match crate::infra::tls::not_after(files) {
            Some((until, secs)) => {
                let days = (secs - now).div_euclid(86_400);
                let detail = format!(
                    "{}: valid until {until} ({days} days), its key matches",
                    files.cert.display()
                );
                if days < ctibridge_client::doctor::CERT_WARN_DAYS {
                    Check::warn("certificate", detail, "renew the certificate: the server reads the new files without a restart")
                } else {
                    Check::ok("certificate", detail)
                }
            }
            None => Check::ok("certificate", format!("{}: valid, its key matches", files.cert.display())),
        },
        Err(e) => Check::fail(
            "certificate",
            Failing::Config,
            e.to_string(),
            "give <tls_cert> the certificate chain (PEM, the server's certificate first) and <tls_key> its private key; the service's user must be able to read both",
        ),
    }
}

async fn listen(addr: SocketAddr, https: bool) -> Check {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Check::ok("listen", format!("{addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => match ours_at(addr, https).await {
            Some(status) => Check::ok(
                "listen",
                format!("{addr}: ctibridge serve runs there (its /healthz says {status})"),
            ),
            None => Check::warn(
                "listen",
                format!("{addr} is in use, and not by a ctibridge server that answers /healthz"),
                "another program holds the port: stop it, or pick another <listen>",
            ),
        },
        Err(e) => Check::fail(
            "listen",
            Failing::System,
            format!("cannot listen on {addr}: {e}"),
            "<listen> must be an address of this machine (0.0.0.0 for all), and ports under 1024 need the right to bind them",
        ),
    }
}

/// Whether the program on `addr` is a ctibridge server (its `/healthz`,
/// asked from this machine, which it answers): its status.
async fn ours_at(addr: SocketAddr, https: bool) -> Option<String> {
    use ctibridge_client::http::{ClientOptions, HttpClient};
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let url = format!(
        "{}://{}/healthz",
        if https { "https" } else { "http" },
        SocketAddr::new(ip, addr.port())
    );
    // Who answers is the question here, not whether its certificate is
    // trusted (the certificate has its own check).
    let client = HttpClient::new(&ClientOptions {
        insecure: true,
        connect_timeout: std::time::Duration::from_secs(2),
        timeout: std::time::Duration::from_secs(5),
        ..ClientOptions::plain()
    })
    .ok()?;
    let req = ctibridge_client::request::HttpRequest {
        method: ctibridge_lang::config::Method::Get,
        url,
        headers: Vec::new(),
        body: None,
        url_span: None,
    };
    let resp = client.send(&req).await.ok()?;
    let v: serde_json::Value = serde_json::from_str(&resp.body).ok()?;
    // The fields of ctibridge's own answer.
    (v.get("journal").is_some() && v.get("provider").is_some())
        .then(|| v["status"].as_str().unwrap_or("?").to_owned())
}

/// The journal's file can be written, without opening it as a database (a
/// root `doctor` must not leave files the service's user cannot write).
fn journal(path: Option<&Path>) -> Check {
    let Some(path) = path else {
        return Check::warn(
            "journal",
            "no <journal>: calls are kept in memory and lost at a restart",
            "set <journal> to a file in a folder the service can write (the package uses /var/lib/ctibridge/journal.sqlite)",
        );
    };
    let shown = path.display();
    if path.exists() {
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path);
        let mut head = [0u8; 16];
        match opened.and_then(|mut f| std::io::Read::read(&mut f, &mut head)) {
            Ok(n) if n == 0 || head.starts_with(b"SQLite format 3\0") => {
                Check::ok("journal", format!("{shown} can be written"))
            }
            Ok(_) => Check::fail(
                "journal",
                Failing::Config,
                format!("{shown} is not an SQLite database"),
                "point <journal> at a new file (the server creates it) or at the server's journal",
            ),
            Err(e) => Check::fail(
                "journal",
                Failing::System,
                format!("{shown} cannot be written: {e}"),
                "the service's user must own the journal (and its -wal and -shm files)",
            ),
        }
    } else {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match probe_dir(dir) {
            Ok(()) => Check::ok(
                "journal",
                format!("{shown} does not exist yet: the server creates it in a folder it can write"),
            ),
            Err(e) => Check::fail(
                "journal",
                Failing::System,
                format!("{shown} cannot be created in {}: {e}", dir.display()),
                "create the folder and give it to the service's user (the unit's StateDirectory makes it when the service starts)",
            ),
        }
    }
}

/// A file can be created in `dir` (one is, then removed).
fn probe_dir(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".ctibridge-doctor-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}
