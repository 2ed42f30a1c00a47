//! `GET /healthz`: whether what a dial and a pop need is in place — the
//! journal can be written, the provider can be reached (a connection to
//! its host, no request), the relay hears from its source — each with a
//! word of detail; 200 when all are, 503 when one is not. With
//! `GET /metrics`, only for this machine and `<monitoring>`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use crate::model::clock::now_ms;

/// The relay's last answer from its source.
#[derive(Debug, Default)]
pub struct RelayStatus {
    /// When the source last answered (ms since 1970); 0: not yet.
    last_answer: AtomicI64,
}

/// How long the relay may go without an answer and still be connected:
/// a poll is held at most a minute or so by any source.
pub const RELAY_SILENCE: Duration = Duration::from_secs(120);

impl RelayStatus {
    /// The source answered, now.
    pub fn answered(&self) {
        self.last_answer.store(now_ms(), Ordering::SeqCst);
    }

    /// Connected, and a word on it.
    fn check(&self) -> (bool, String) {
        let last = self.last_answer.load(Ordering::SeqCst);
        if last == 0 {
            return (
                false,
                "no answer from the provider's event source yet".into(),
            );
        }
        let silent = Duration::from_millis(u64::try_from(now_ms() - last).unwrap_or(0));
        if silent > RELAY_SILENCE {
            (
                false,
                format!(
                    "no answer from the provider's event source for {} s",
                    silent.as_secs()
                ),
            )
        } else {
            (true, "connected".into())
        }
    }
}

/// Where the provider is: the host and port of the dial request.
pub fn provider_host(config: &ctibridge_lang::config::Config) -> Option<(String, u16)> {
    let dial = config.dial.as_ref()?;
    let text = &dial.url.value.text;
    let values = ctibridge_lang::template::Values::from_config(config, String::new());
    // A URL that starts with a keyword starts with the base address.
    let base = if text.trim_start().starts_with('$') {
        values.api_url.clone()
    } else {
        text.clone()
    };
    let url = url::Url::parse(base.trim()).ok()?;
    Some((url.host_str()?.to_owned(), url.port_or_known_default()?))
}

/// Whether `host:port` takes a connection within 3 s.
async fn reachable(host: &str, port: u16) -> (bool, String) {
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok(_)) => (true, format!("{host}:{port} reachable")),
        Ok(Err(e)) => (false, format!("{host}:{port} unreachable: {e}")),
        Err(_) => (false, format!("{host}:{port} did not answer within 3 s")),
    }
}

/// What the server is doing for dials, for the health report.
pub enum ProviderCheck<'a> {
    Simulator,
    None,
    /// The dialer could not be set up (a bad `<cafile>`…).
    Broken(String),
    At(&'a str, u16),
}

/// The report, and whether everything is in place.
pub async fn report(
    journal_writable: bool,
    provider: ProviderCheck<'_>,
    relay: Option<&RelayStatus>,
) -> (bool, Value) {
    let journal = if journal_writable {
        (true, "writable".to_owned())
    } else {
        (
            false,
            "cannot be written: notifications are refused".to_owned(),
        )
    };
    let provider = match provider {
        ProviderCheck::Simulator => (true, "the simulator".to_owned()),
        ProviderCheck::None => (
            true,
            "none: desks dial their provider themselves".to_owned(),
        ),
        ProviderCheck::Broken(why) => (false, why),
        ProviderCheck::At(host, port) => reachable(host, port).await,
    };
    let relay = match relay {
        None => (true, "off".to_owned()),
        Some(r) => r.check(),
    };
    let ok = journal.0 && provider.0 && relay.0;
    // A monitoring client is told what the log would say, masked alike
    // (a relay's failure may quote the provider's answer).
    let part = |(ok, detail): (bool, String)| json!({ "ok": ok, "detail": ctibridge_lang::diag::excerpt(&ctibridge_lang::redact::mask(&detail), 300) });
    (
        ok,
        json!({
            "status": if ok { "ok" } else { "failing" },
            "journal": part(journal),
            "provider": part(provider),
            "relay": part(relay),
        }),
    )
}
