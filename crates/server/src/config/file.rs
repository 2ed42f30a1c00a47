//! The server file's typed settings and its constants: what `check`
//! builds and everything else reads.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ctibridge_lang::config::Config;
use ctibridge_lang::diag::Diagnostics;
use ctibridge_lang::load::FileRead;
use ctibridge_lang::schema::{Section, Tag};
use ctibridge_lang::source::{SourceMap, Span};

use crate::config::defaults;
use crate::config::keyyo::KeyyoOptions;

/// The path of the CTI web service (the Divalto sample file's).
pub const CTI_PATH: &str = "/DhDivaltoServerCTI/api/cti";

/// The environment variable that gives Keyyo's notification secret (it
/// wins over `<keyyo_notify><secret>`).
pub const KEYYO_SECRET_ENV: &str = "CTIBRIDGE_KEYYO_SECRET";

/// The file's name in the sys folder.
pub const FILE_NAME: &str = "server_param.txt";

/// A desk allowed to connect.
#[derive(Clone, Debug)]
pub struct Desk {
    pub ident: String,
    pub secret: ctibridge_lang::config::Secret,
    /// The lines it may follow and dial from, each in its one identity
    /// ([`ctibridge_client::number::identity`]: E.164, or an extension as written).
    pub lines: Vec<String>,
    /// `<role>supervisor`: the browser's wall of every line.
    pub supervisor: bool,
    /// Where `<lines>` is written (errors about a line point there).
    pub(crate) lines_span: Option<Span>,
}

/// The server's settings, checked.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub simulator: bool,
    pub hold: Duration,
    pub token_ttl: Duration,
    pub journal: Option<PathBuf>,
    pub public_url: Option<String>,
    /// `<record_url>`: the ERP's page of a caller, for the browser desk.
    pub record_url: Option<String>,
    /// `<tls_cert>` and `<tls_key>`: HTTPS. `None`: plain HTTP.
    pub tls: Option<crate::infra::tls::TlsFiles>,
    /// `<trusted_proxies>`.
    pub trusted_proxies: crate::infra::proxies::TrustedProxies,
    /// `<monitoring>`.
    pub monitoring: crate::infra::proxies::TrustedProxies,
    pub relay: bool,
    /// Requests per second per address: CTI routes, Keyyo notifications.
    pub cti_rate: u32,
    pub notify_rate: u32,
    pub keyyo: Option<KeyyoOptions>,
    /// `<keyyo_cti>`: Keyyo's CTI WebSocket (its endpoint and CSI token).
    pub keyyo_cti: Option<crate::config::keyyo::CtiSettings>,
    /// Empty: any desk on this machine, every line (the simulator's
    /// zero-configuration setup).
    pub desks: Vec<Desk>,
    /// The country numbers without a country code are read in (the
    /// dialer's `<country>`, FR by default).
    pub country: String,
    /// `<tel_format>`: the form of the numbers desks receive.
    pub tel_format: ctibridge_lang::config::NumberFormat,
    /// `<max_connections>`, or the open-file limit less a reserve.
    pub max_connections: usize,
    /// What `setevent` dials through; `None` with the simulator or when the
    /// file says nothing about a provider.
    pub dialer: Option<Config>,
    /// The configuration whose `<lookup>` names the callers of every
    /// event and whose `<report>` writes each finished call back (the
    /// dialer's, or with the simulator these two sections alone).
    pub names: Option<Config>,
}

impl ServerSettings {
    /// `serve --sim` without a server file: the simulator, any desk of this
    /// machine, the defaults of every tag.
    pub fn zero_config() -> ServerSettings {
        ServerSettings {
            listen: defaults::listen(),
            simulator: true,
            hold: defaults::hold(),
            token_ttl: defaults::token_ttl(),
            journal: None,
            public_url: None,
            record_url: None,
            tls: None,
            trusted_proxies: Default::default(),
            monitoring: Default::default(),
            relay: false,
            cti_rate: defaults::cti_rate(),
            notify_rate: defaults::notify_rate(),
            keyyo: None,
            desks: Vec::new(),
            country: defaults::country(),
            tel_format: defaults::tel_format(),
            max_connections: crate::infra::connections::default_max(),
            dialer: None,
            names: None,
            keyyo_cti: None,
        }
    }
}

/// The file read and checked.
pub struct LoadedServer {
    pub sources: SourceMap,
    pub files: Vec<FileRead>,
    pub diagnostics: Diagnostics,
    /// `None` when there are errors.
    pub settings: Option<ServerSettings>,
}

impl LoadedServer {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// What to do about [`open_without_desks`].
pub const OPEN_WITHOUT_DESKS_HELP: &str = "add one `<desk>` section per desk (`<ident>`, `<secret>`, `<lines>`), or listen on 127.0.0.1 for desks of this machine only";

/// Why a server without `<desk>` cannot listen on `addr`: it gives tokens
/// to any desk of this machine, and on an address other than loopback
/// anyone who reaches it would look like one. `None`: it may.
pub fn open_without_desks(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!("no `<desk>`, and {addr} is not this machine's loopback: every desk that reaches it would be given tokens")
    })
}

/// The default of a `<keyyo_notify>` tag, from the schema.
pub fn default_of(tag: Tag) -> &'static str {
    tag.def(Section::KeyyoNotify).map_or("", |d| d.default)
}

pub(crate) const RECORD_KEYWORDS: &[&str] = &["record", "tel", "tele164", "name", "company"];

/// `<record_url>` is an http(s) URL whose keywords are the browser desk's.
pub fn check_record_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("this is not an absolute http(s) URL".into());
    }
    let mut rest = url;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('$') else {
            return Err("a `$` opens a keyword that is not closed".into());
        };
        let word = &after[..end];
        if !RECORD_KEYWORDS.contains(&word) {
            return Err(format!(
                "`${word}$` is not a keyword of <record_url> (it knows $record$, $tel$, $tele164$, $name$, $company$)"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}
