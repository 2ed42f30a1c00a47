//! The bridge server's file, `server_param.txt`: the same syntax and the
//! same diagnostics as a desk's `clicktocall_param.txt`.
//!
//! Its `<server>`, `<keyyo_notify>` and `<desk>` sections (rows of
//! [`ctibridge_lang::schema`] marked `server`) are the server's own; `<desk>` comes
//! once per desk. Every other section says how the server dials, exactly as
//! in a desk's file: usually `<global><provider>NAME` and the account's
//! `<station>` credentials, the profile giving the rest.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::keyyo::KeyyoOptions;
use ctibridge_lang::config::{value, Checked, Config};
use ctibridge_lang::diag::{Code, Diagnostic, Diagnostics};
use ctibridge_lang::load::{FileRead, FileStatus};
use ctibridge_lang::param::{parse, Block, Entry, ParamFile, ParseOptions};
use ctibridge_lang::schema::{Section, Tag, TagDef};
use ctibridge_lang::source::{FileId, FileRole, SourceFile, SourceMap, Span};

/// The address `serve` listens on by default: the port of the seed's sample.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8082";

/// The sections that talk to the ERP, not to the provider: used with the
/// simulator too.
fn is_erp_section(section: Option<Section>) -> bool {
    matches!(section, Some(Section::Lookup | Section::Report))
}

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
    lines_span: Option<Span>,
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
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            simulator: true,
            hold: Duration::from_secs(25),
            token_ttl: Duration::from_secs(3600),
            journal: None,
            public_url: None,
            record_url: None,
            tls: None,
            trusted_proxies: Default::default(),
            monitoring: Default::default(),
            relay: false,
            cti_rate: 200,
            notify_rate: 200,
            keyyo: None,
            desks: Vec::new(),
            country: "FR".to_owned(),
            tel_format: ctibridge_lang::config::NumberFormat::National,
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

/// Reads and checks the server file at `path`.
pub fn load(path: &Path) -> LoadedServer {
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    match ctibridge_lang::source::read_file(path) {
        Ok(bytes) => {
            let id = sources.add(SourceFile::new(path.to_owned(), FileRole::Server, &bytes));
            check(sources, id, diagnostics)
        }
        Err(e) => {
            let id = sources.add(SourceFile::new(path.to_owned(), FileRole::Server, b""));
            diagnostics.push(
                Diagnostic::error(
                    Code::CannotRead,
                    Span::file(id),
                    format!("cannot read the server file: {e}"),
                )
                .with_help(
                    "name it with --server FILE, or run `ctibridge serve --sim` (no file needed)",
                ),
            );
            LoadedServer {
                files: vec![FileRead {
                    role: FileRole::Server,
                    path: path.to_owned(),
                    status: FileStatus::Unreadable {
                        reason: e.to_string(),
                    },
                    id: None,
                }],
                sources,
                diagnostics,
                settings: None,
            }
        }
    }
}

/// Checks a server file given as text (tests), named `server_param.txt`.
pub fn load_text(text: &str) -> LoadedServer {
    let mut sources = SourceMap::new();
    let id = sources.add(SourceFile::new(
        PathBuf::from(FILE_NAME),
        FileRole::Server,
        text.as_bytes(),
    ));
    check(sources, id, Diagnostics::new())
}

fn check(mut sources: SourceMap, id: FileId, mut diagnostics: Diagnostics) -> LoadedServer {
    let (tree, d) = parse(
        id,
        sources.get(id),
        ParseOptions {
            implicit_section: None,
        },
    );
    diagnostics.extend(d);
    let (own, dialing): (Vec<Block>, Vec<Block>) = tree
        .blocks
        .into_iter()
        .partition(|b| b.section.is_some_and(|s| s.def().server));

    let mut diags = Vec::new();
    // A file that holds secrets should be readable by its owner only (its
    // dialing sections' passwords are warned about as in a desk's file).
    let first_secret = own.iter().find_map(|b| {
        let section = b.section?;
        b.entries.iter().find(|e| {
            TagDef::lookup(section, &e.name).is_some_and(|d| d.secret) && e.value.is_set()
        })
    });
    if let Some(e) = first_secret {
        let path = &sources.get(id).path;
        if ctibridge_lang::load::readable_by_others(path) {
            diags.push(
                Diagnostic::warning(
                    Code::SecretReadable,
                    e.name_span,
                    "this file holds secrets and other users can read it",
                )
                .with_help(format!("chmod 600 {}", path.display())),
            );
        }
    }
    let mut shared: HashMap<(Section, &'static str), Entry> = HashMap::new();
    let mut desks = Vec::new();
    let mut desk_spans = Vec::new();
    for block in &own {
        let section = block.section.expect("partitioned on the section");
        let values = block_values(section, block, &mut diags);
        if section == Section::Desk {
            let header = block.header.as_ref().map_or(Span::file(id), |h| h.span);
            if let Some(desk) = desk(header, &values, &mut diags) {
                desks.push(desk);
                desk_spans.push(header);
            }
        } else {
            shared.extend(values.into_iter().map(|(k, v)| ((section, k), v)));
        }
    }
    for (i, d) in desks.iter().enumerate() {
        if let Some(j) = desks[..i].iter().position(|e| e.ident == d.ident) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateDesk,
                    desk_spans[i],
                    format!("two `<desk>` sections have the ident `{}`", d.ident),
                )
                .with_help(format!(
                    "the first is at line {}; give each desk its own ident",
                    desk_spans[j].line
                )),
            );
        }
    }

    let get = |section: Section, tag: Tag| -> Option<&Entry> { shared.get(&(section, tag.name())) };
    let listen = read::<std::net::SocketAddr>(&shared, Section::Server, Tag::LISTEN);
    let simulator = read::<bool>(&shared, Section::Server, Tag::SIMULATOR).unwrap_or(false);
    let relay = read::<bool>(&shared, Section::Server, Tag::RELAY).unwrap_or(false);
    let hold = read::<std::time::Duration>(&shared, Section::Server, Tag::HOLD);
    let cti_rate = read::<u32>(&shared, Section::Server, Tag::RATE);
    let notify_rate = read::<u32>(&shared, Section::KeyyoNotify, Tag::RATE);
    let token_ttl = read::<std::time::Duration>(&shared, Section::Server, Tag::TOKEN_TTL);
    let tel_format =
        read::<ctibridge_lang::config::NumberFormat>(&shared, Section::Server, Tag::TEL_FORMAT);
    let max_connections = match get(Section::Server, Tag::MAX_CONNECTIONS) {
        Some(e) => value::parse_count(e.value.text.trim())
            .ok()
            .map(|n| n as usize),
        None => Some(crate::infra::connections::default_max()),
    };
    // A path of the file, relative to its folder.
    let path_of = |e: &Entry| {
        let p = PathBuf::from(e.value.text.trim());
        match sources.get(id).path.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    };
    let journal = get(Section::Server, Tag::JOURNAL).map(path_of);
    let tls = match (
        get(Section::Server, Tag::TLS_CERT),
        get(Section::Server, Tag::TLS_KEY),
    ) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            let files = crate::infra::tls::TlsFiles {
                cert: path_of(cert),
                key: path_of(key),
            };
            if let Err(e) = crate::infra::tls::load(&files, crate::infra::tls::unix_now()) {
                let at = match e {
                    crate::infra::tls::TlsError::Unreadable(ref p, _)
                    | crate::infra::tls::TlsError::NoKey(ref p, _)
                        if *p == files.key =>
                    {
                        value::trimmed_span(&key.value)
                    }
                    _ => value::trimmed_span(&cert.value),
                };
                diags.push(
                    Diagnostic::error(Code::Tls, at, format!("HTTPS cannot be served: {e}"))
                        .with_help("`<tls_cert>` is the certificate chain in PEM (the server's certificate first) and `<tls_key>` its private key in PEM, both readable by the server; renew an expired certificate"),
                );
            } else if crate::infra::tls::is_authority(&files) {
                diags.push(
                    Diagnostic::warning(
                        Code::TlsAuthority,
                        value::trimmed_span(&cert.value),
                        "the server's certificate is a certificate authority's (CA:TRUE): ctibridge's desks, and other strict TLS clients, refuse it as a server's own, even when they trust it",
                    )
                    .with_help(format!(
                        "make the server a certificate of its own (CA:FALSE), self-signed in one line: `{}`; then name cert.pem in the desks' <global><cafile>",
                        crate::infra::tls::SELF_SIGNED_RECIPE
                    )),
                );
            }
            Some(files)
        }
        (Some(one), None) | (None, Some(one)) => {
            diags.push(
                Diagnostic::error(
                    Code::TlsHalf,
                    one.name_span,
                    "HTTPS needs both `<tls_cert>` and `<tls_key>`",
                )
                .with_help("set the certificate chain (`<tls_cert>`) and its private key (`<tls_key>`), or neither for plain HTTP"),
            );
            None
        }
    };
    let public_url = get(Section::Server, Tag::PUBLIC_URL).map(|e| e.value.text.trim().to_owned());
    let record_url = get(Section::Server, Tag::RECORD_URL).and_then(|e| {
        let url = e.value.text.trim();
        if url.is_empty() {
            return None;
        }
        match check_record_url(url) {
            Ok(()) => Some(url.to_owned()),
            Err(why) => {
                diags.push(
                    Diagnostic::error(Code::BadUrl, value::trimmed_span(&e.value), why)
                        .with_help("an http(s) URL of the ERP with `$record$`, `$tel$`, `$tele164$`, `$name$` or `$company$`, e.g. https://erp.example/tiers/$record$"),
                );
                None
            }
        }
    });
    let mut ranges = |tag: Tag| match get(Section::Server, tag) {
        None => Default::default(),
        Some(e) => {
            match crate::infra::proxies::TrustedProxies::parse(&e.value.text) {
                Ok(p) => p,
                Err(why) => {
                    diags.push(
                    Diagnostic::error(Code::TrustedProxies, value::trimmed_span(&e.value), why)
                        .with_help("write addresses or ranges, separated by commas: `127.0.0.1, 10.0.0.0/8`"),
                );
                    Default::default()
                }
            }
        }
    };
    let trusted_proxies = ranges(Tag::TRUSTED_PROXIES);
    let monitoring = ranges(Tag::MONITORING);

    let cti_header = own
        .iter()
        .find(|b| b.section == Some(Section::KeyyoCti))
        .and_then(|b| b.header.as_ref().map(|h| h.span));
    let keyyo_cti = cti_header.and_then(|header| {
        let given = |tag: Tag| {
            get(Section::KeyyoCti, tag)
                .map(|e| e.value.text.trim().to_owned())
                .filter(|t| !t.is_empty())
        };
        let fixed = given(Tag::CSI_TOKEN);
        let minting = [
            Tag::CSI,
            Tag::OAUTH_CLIENT_ID,
            Tag::OAUTH_CLIENT_SECRET,
            Tag::REFRESH_TOKEN,
        ];
        let token = match (fixed, given(Tag::REFRESH_TOKEN)) {
            (None, None) => {
                diags.push(
                    Diagnostic::error(Code::MissingTag, header, "`<keyyo_cti>` has no `<csi_token>` nor `<refresh_token>`")
                        .with_help("give `<csi>`, `<oauth_client_id>`, `<oauth_client_secret>` and `<refresh_token>` for the server to mint the account's CSI token each hour through the Keyyo Manager API; or, for a run of less than an hour, a `<csi_token>` made by it (POST /manager/1.0/services/{csi}/csi_token)"),
                );
                return None;
            }
            (Some(fixed), None) => {
                if let Some(e) = minting[..3].iter().find_map(|t| get(Section::KeyyoCti, *t)) {
                    diags.push(
                        Diagnostic::warning(Code::UnusedTag, e.name_span, format!("`<{}>` is not used without `<refresh_token>`", e.name))
                            .with_help("the server uses `<csi_token>` as is; add `<refresh_token>` for it to mint its own"),
                    );
                }
                crate::config::keyyo::TokenSettings::Given(ctibridge_lang::config::Secret::new(fixed))
            }
            (fixed, Some(refresh)) => {
                if fixed.is_some() {
                    if let Some(e) = get(Section::KeyyoCti, Tag::CSI_TOKEN) {
                        diags.push(
                            Diagnostic::warning(Code::UnusedTag, e.name_span, "`<csi_token>` is not used: the server mints its own with `<refresh_token>`")
                                .with_help("remove `<csi_token>`"),
                        );
                    }
                }
                let missing: Vec<String> = minting[..3]
                    .iter()
                    .filter(|t| given(**t).is_none())
                    .map(|t| format!("`<{}>`", t.name()))
                    .collect();
                if !missing.is_empty() {
                    diags.push(
                        Diagnostic::error(
                            Code::MissingTag,
                            header,
                            format!("`<keyyo_cti>` has `<refresh_token>` but no {}", missing.join(", ")),
                        )
                        .with_help("minting the CSI token needs the account's service (`<csi>`) and the OAuth2 client the refresh token was given to (`<oauth_client_id>`, `<oauth_client_secret>`)"),
                    );
                    return None;
                }
                let file = match get(Section::KeyyoCti, Tag::REFRESH_TOKEN_FILE) {
                    Some(e) if !e.value.text.trim().is_empty() => path_of(e),
                    _ => {
                        let dir = journal
                            .as_ref()
                            .and_then(|j| j.parent())
                            .or_else(|| sources.get(id).path.parent())
                            .map(PathBuf::from)
                            .unwrap_or_default();
                        dir.join("keyyo_refresh_token.json")
                    }
                };
                crate::config::keyyo::TokenSettings::Minted(crate::config::keyyo::MintSettings {
                    csi: given(Tag::CSI).unwrap_or_default(),
                    client_id: given(Tag::OAUTH_CLIENT_ID).unwrap_or_default(),
                    client_secret: ctibridge_lang::config::Secret::new(
                        given(Tag::OAUTH_CLIENT_SECRET).unwrap_or_default(),
                    ),
                    refresh_token: ctibridge_lang::config::Secret::new(refresh),
                    file,
                    manager_url: text_of(&shared, Section::KeyyoCti, Tag::MANAGER_URL)
                        .trim_end_matches('/')
                        .to_owned(),
                    token_url: text_of(&shared, Section::KeyyoCti, Tag::OAUTH_TOKEN_URL).to_owned(),
                })
            }
        };
        Some(crate::config::keyyo::CtiSettings {
            endpoint: text_of(&shared, Section::KeyyoCti, Tag::CTI_URL).to_owned(),
            token,
        })
    });

    let keyyo_header = own
        .iter()
        .find(|b| b.section == Some(Section::KeyyoNotify))
        .and_then(|b| b.header.as_ref().map(|h| h.span));
    let keyyo = keyyo_header.and_then(|header| {
        // The environment's secret takes the file's place (a section that
        // only sets `<sources>`), so the secret stays out of the file.
        let from_env = std::env::var(KEYYO_SECRET_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty());
        let (secret, at) = match (get(Section::KeyyoNotify, Tag::SECRET), from_env) {
            (_, Some(env)) => (env, header),
            (Some(e), None) => (e.value.text.trim().to_owned(), value::trimmed_span(&e.value)),
            (None, None) => {
                diags.push(
                    Diagnostic::error(
                        Code::KeyyoNoSecret,
                        header,
                        "`<keyyo_notify>` has no `<secret>`",
                    )
                    .with_help(format!("notifications are refused without one: set `<secret>` (at least 16 characters), or the environment variable {KEYYO_SECRET_ENV}, and put it in the URL given to the Keyyo manager")),
                );
                return None;
            }
        };
        let sources = text_of(&shared, Section::KeyyoNotify, Tag::SOURCES);
        if ctibridge_lang::config::value::sources_regex(sources.trim()).is_err() {
            // Said at `<sources>` itself when the file was checked.
            return None;
        }
        match KeyyoOptions::new(secret.trim(), sources) {
            Ok(k) => Some(k),
            Err(e) => {
                diags.push(
                    Diagnostic::error(Code::KeyyoSecret, at, e)
                        .with_help("a long random secret: `openssl rand -hex 16` makes one"),
                );
                None
            }
        }
    });

    // How the server dials.
    let has_dialing = dialing
        .iter()
        .any(|b| (b.header.is_some() || !b.entries.is_empty()) && !is_erp_section(b.section));
    let mut dialer = None;
    let mut names = None;
    if simulator || !has_dialing {
        // The simulator (or nothing) dials; the caller lookup is still
        // the file's.
        let (mut lookup, dialing): (Vec<Block>, Vec<Block>) =
            dialing.into_iter().partition(|b| is_erp_section(b.section));
        if !lookup.is_empty() {
            // With `<global>`'s `<country>`, `<cafile>` and proxies, not its
            // provider (whose profile would dial).
            for g in dialing
                .iter()
                .filter(|b| b.section == Some(Section::Global))
            {
                let mut g = g.clone();
                g.entries.retain(|e| e.name != Tag::PROVIDER.name());
                lookup.insert(0, g);
            }
            let mut found = Diagnostics::new();
            let checked: Checked = ctibridge_lang::load::check_tree(
                &mut sources,
                ParamFile {
                    file: id,
                    blocks: lookup,
                },
                None,
                &[],
                None,
                Some(ctibridge_lang::load::ServerUse { relay: false }),
                &mut found,
            );
            // Only the lookup and the report are used: that nothing dials
            // is no news.
            diagnostics.extend(
                found
                    .sorted()
                    .into_iter()
                    .filter(|d| d.code != Code::NoInterface)
                    .cloned(),
            );
            names = Some(checked.config);
        }
        if let Some(h) = dialing
            .iter()
            .filter(|_| simulator)
            .find_map(|b| b.header.as_ref())
        {
            diags.push(
                Diagnostic::warning(
                    Code::SimulatorIgnores,
                    h.span,
                    format!(
                        "`<{}>` is not used: `<simulator>1` dials through the simulator",
                        h.name
                    ),
                )
                .with_help(
                    "set `<simulator>0` to dial through the provider these sections describe",
                ),
            );
        }
    } else {
        let mut found = Diagnostics::new();
        let checked: Checked = ctibridge_lang::load::check_tree(
            &mut sources,
            ParamFile {
                file: id,
                blocks: dialing,
            },
            None,
            &[],
            None,
            Some(ctibridge_lang::load::ServerUse { relay }),
            &mut found,
        );
        // The line is the one each desk dials from (`setevent`'s telorg):
        // the server's own `<station>` needs none (`check_tree` knows).
        diagnostics.extend(found.sorted().into_iter().cloned());
        if checked.config.lookup.is_some() || checked.config.report.is_some() {
            names = Some(checked.config.clone());
        }
        dialer = Some(checked.config);
    }
    if !simulator && !has_dialing && keyyo_cti.is_none() {
        diags.push(
            Diagnostic::warning(
                Code::NoProvider,
                Span::file(id),
                "the server dials through nothing: `setevent` will answer 503",
            )
            .with_help("set `<global><provider>NAME` and the account's `<station>` credentials, or `<server><simulator>1`; desks that dial their provider themselves need neither"),
        );
    }
    if relay {
        let span = get(Section::Server, Tag::RELAY).map_or(Span::file(id), |e| e.name_span);
        match &dialer {
            Some(c)
                if c.event.as_ref().is_some_and(|e| {
                    e.request
                        .url
                        .value
                        .text
                        .contains(CTI_PATH)
                        || c.global.events_url.value.contains(CTI_PATH)
                }) =>
            {
                diags.push(
                    Diagnostic::error(
                        Code::RelayToItself,
                        span,
                        "`<relay>1` would poll this bridge server itself",
                    )
                    .with_help("the event source of this file is a bridge server's getevent (the Keyyo profile's): Keyyo pushes its calls to `<keyyo_notify>`, there is nothing to relay"),
                );
            }
            Some(c) if c.event.is_some() => {}
            _ => diags.push(
                Diagnostic::error(
                    Code::RelayWithoutEvents,
                    span,
                    "`<relay>1` but this file has no event source to relay",
                )
                .with_help("the relay polls the `<cliktocallevent>` of this file: set `<global><provider>ovh` (or ovh-v2) and `<station><event_token>`"),
            ),
        }
    }
    if let Some(addr) = listen.filter(|_| desks.is_empty()) {
        if let Some(why) = open_without_desks(addr) {
            let span = get(Section::Server, Tag::LISTEN)
                .map_or(Span::file(id), |e| value::trimmed_span(&e.value));
            diags.push(
                Diagnostic::error(Code::NoDesk, span, why).with_help(OPEN_WITHOUT_DESKS_HELP),
            );
        }
    }
    if let Some(addr) = listen.filter(|a| !a.ip().is_loopback()) {
        if tls.is_none() && trusted_proxies.is_empty() {
            let span = get(Section::Server, Tag::LISTEN)
                .map_or(Span::file(id), |e| value::trimmed_span(&e.value));
            diags.push(
                Diagnostic::warning(
                    Code::ListenInClear,
                    span,
                    format!("{addr} is reachable from the network in plain HTTP: desk secrets, tokens and Keyyo's secret would cross it in clear"),
                )
                .with_help("serve HTTPS (`<tls_cert>` and `<tls_key>`), or put a reverse proxy that does in front and name it in `<trusted_proxies>`"),
            );
        }
    }
    if desks.is_empty() && !own.is_empty() && !simulator {
        diags.push(
            Diagnostic::warning(Code::NoDesk, Span::file(id), "no `<desk>`: only desks on this machine are accepted, with any ident and every line")
                .with_help("add one `<desk>` section per desk: `<ident>`, `<secret>` and `<lines>`"),
        );
    }
    // Every line in its one identity, read in the dialer's country.
    let country = dialer
        .as_ref()
        .map_or("FR", |c: &Config| c.global.country.value.as_str())
        .to_owned();
    for d in &mut desks {
        let mut read = Vec::with_capacity(d.lines.len());
        for l in &d.lines {
            match ctibridge_client::number::identity(l, &country) {
                Ok(line) => read.push(line),
                Err(e) => diags.push(
                    Diagnostic::error(
                        Code::DeskLine,
                        d.lines_span.unwrap_or(Span::file(id)),
                        format!("line `{l}` of desk `{}` cannot be read as a number: {e}", d.ident),
                    )
                    .with_help(format!("write the line as it is dialled from {country}: `0388202020`, `+33388202020`, `33388202020` or an extension")),
                ),
            }
        }
        d.lines = read;
    }
    diagnostics.extend(diags);
    let files = ctibridge_lang::load::files_read(&sources, |_| true);
    let settings = (!diagnostics.has_errors()).then(|| ServerSettings {
        listen: listen.expect("checked"),
        simulator,
        hold: hold.expect("checked"),
        token_ttl: token_ttl.expect("checked"),
        journal,
        public_url,
        record_url,
        tls,
        trusted_proxies,
        monitoring,
        relay,
        cti_rate: cti_rate.expect("checked"),
        notify_rate: notify_rate.expect("checked"),
        keyyo,
        keyyo_cti,
        desks,
        country,
        tel_format: tel_format.expect("checked"),
        max_connections: max_connections.expect("checked"),
        dialer,
        names,
    });
    LoadedServer {
        sources,
        files,
        diagnostics,
        settings,
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

/// The value lines of one block of a server section, each checked against
/// its row; the last of a repeated tag wins, with a warning.
fn block_values(
    section: Section,
    block: &Block,
    diags: &mut Vec<Diagnostic>,
) -> HashMap<&'static str, Entry> {
    let mut values: HashMap<&'static str, Entry> = HashMap::new();
    for entry in &block.entries {
        // Checked as a desk's lines are (the same messages).
        let Some(def) = ctibridge_lang::config::row_of(
            Some(section),
            entry,
            ctibridge_lang::config::FileKind::Server,
            diags,
        ) else {
            continue;
        };
        if let Some(prev) = values.get(def.name) {
            diags.push(
                Diagnostic::warning(
                    Code::DuplicateTag,
                    entry.name_span,
                    format!(
                        "`<{}>` is set twice in `<{}>`; the last one wins",
                        def.name,
                        section.name()
                    ),
                )
                .with_help(format!("first set at line {}", prev.name_span.line)),
            );
        }
        values.insert(def.name, entry.clone());
    }
    values
}

/// One `<desk>` section.
fn desk(
    header: Span,
    values: &HashMap<&'static str, Entry>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Desk> {
    let text = |tag: Tag| {
        values
            .get(tag.name())
            .map(|e| e.value.text.trim().to_owned())
    };
    let missing = |what: &str, help: &str| {
        Diagnostic::error(
            Code::DeskIncomplete,
            header,
            format!("this `<desk>` has no `<{what}>`"),
        )
        .with_help(help.to_owned())
    };
    let mut ok = true;
    let ident = text(Tag::IDENT);
    if ident.is_none() {
        diags.push(missing(
            "ident",
            "the desk's identifier, as its own `<ident>` says",
        ));
        ok = false;
    }
    let secret = text(Tag::SECRET);
    match (&secret, values.get(Tag::SECRET.name())) {
        (Some(s), Some(e)) if ctibridge_lang::redact::weak_secret(s).is_some() => {
            let why = ctibridge_lang::redact::weak_secret(s).unwrap_or_default();
            diags.push(
                Diagnostic::error(
                    Code::DeskSecretShort,
                    value::trimmed_span(&e.value),
                    format!("this desk secret will not do: {why}"),
                )
                .with_help("`openssl rand -hex 8` makes one (16 characters)"),
            );
            ok = false;
        }
        (None, _) => {
            diags.push(missing(
                "secret",
                "the secret the desk proves itself with (its `<mdp>` in Basic authentication)",
            ));
            ok = false;
        }
        _ => {}
    }
    let mut lines = Vec::new();
    match values.get(Tag::LINES.name()) {
        None => {
            diags.push(missing(
                "lines",
                "the lines it may follow and dial from, `|`-separated: a desk sees only its own lines",
            ));
            ok = false;
        }
        Some(e) => {
            for l in e.value.text.split('|').map(str::trim) {
                if let Err(why) = ctibridge_client::number::parse_target(l) {
                    diags.push(
                        Diagnostic::error(
                            Code::DeskLine,
                            value::trimmed_span(&e.value),
                            format!("`{l}` is not a line number: {why}"),
                        )
                        .with_help("write each line as a phone number (`0388202020`, `+33 3 88 20 20 20`, `33388202020`) or an extension, `|` between lines"),
                    );
                    ok = false;
                } else {
                    lines.push(l.to_owned());
                }
            }
        }
    }
    let supervisor = match values.get(Tag::ROLE.name()) {
        None => false,
        Some(e) => match e.value.text.trim() {
            "desk" | "" => false,
            "supervisor" => true,
            other => {
                diags.push(
                    Diagnostic::error(
                        Code::DeskIncomplete,
                        value::trimmed_span(&e.value),
                        format!("`{other}` is no role"),
                    )
                    .with_help(
                        "`desk` (its own lines) or `supervisor` (also the wall of every line)",
                    ),
                );
                ok = false;
                false
            }
        },
    };
    // Registered to be masked in everything printed or logged, the
    // diagnostics of this very desk included — unless refused as too weak:
    // no server runs with it, and as a value to mask it would hide the
    // same word in every message ("too short").
    let weak = secret
        .as_deref()
        .and_then(ctibridge_lang::redact::weak_secret)
        .is_some();
    let secret = ctibridge_lang::config::Secret::new(secret.unwrap_or_default());
    if weak {
        ctibridge_lang::redact::forget(secret.expose());
    }
    ok.then(|| Desk {
        ident: ident.unwrap_or_default(),
        secret,
        lines,
        supervisor,
        lines_span: values
            .get(Tag::LINES.name())
            .map(|e| value::trimmed_span(&e.value)),
    })
}

/// The value of `tag` in `section` (its default when unset) read as its
/// kind's type; `None` when invalid (reported when the file was checked).
fn read<T: value::FromKind>(
    shared: &HashMap<(Section, &'static str), Entry>,
    section: Section,
    tag: Tag,
) -> Option<T> {
    debug_assert!(
        tag.def(section).is_some_and(|d| d.kind == T::KIND),
        "<{tag}> is not read as {:?}",
        T::KIND
    );
    T::from_text(text_of(shared, section, tag)).ok()
}

/// The text of `tag` in `section`, its default when unset.
fn text_of<'a>(
    shared: &'a HashMap<(Section, &'static str), Entry>,
    section: Section,
    tag: Tag,
) -> &'a str {
    shared.get(&(section, tag.name())).map_or_else(
        || tag.def(section).map_or("", |d| d.default),
        |e| e.value.text.trim(),
    )
}

/// The default of a `<keyyo_notify>` tag, from the schema.
pub fn default_of(tag: Tag) -> &'static str {
    tag.def(Section::KeyyoNotify).map_or("", |d| d.default)
}

/// What `check --server` prints after the diagnostics.
/// What [`explain`] says, as data (`check --server --json`). Secrets are
/// not in it; the Keyyo URL carries `SECRET` in their place.
pub fn explain_json(s: &ServerSettings) -> serde_json::Value {
    use serde_json::json;
    let dials = if s.simulator {
        json!({ "through": "simulator" })
    } else {
        match &s.dialer {
            Some(c) if c.dial.is_some() => match c.global.provider.value.as_str() {
                "" => json!({ "through": "cliktocalldial" }),
                p => json!({ "through": "profile", "provider": p }),
            },
            _ => json!({ "through": "nothing" }),
        }
    };
    let base = s
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", s.listen));
    json!({
        "listen": s.listen.to_string(),
        "scheme": if s.tls.is_some() { "https" } else { "http" },
        "tls": s.tls.as_ref().map(|t| json!({
            "cert": t.cert.display().to_string(),
            "key": t.key.display().to_string(),
        })),
        "trusted_proxies": s.trusted_proxies.ranges(),
        "monitoring": s.monitoring.ranges(),
        "dials": dials,
        "hold_seconds": s.hold.as_secs_f64(),
        "token_ttl_seconds": s.token_ttl.as_secs(),
        "journal": s.journal.as_ref().map(|p| p.display().to_string()),
        "relay": s.relay,
        "keyyo_notify": s.keyyo.as_ref().map(|k| json!({
            "sources": k.sources,
            "url": crate::config::keyyo::manager_url(&base, "SECRET"),
        })),
        "keyyo_cti": s.keyyo_cti.as_ref().map(|c| json!({
            "url": c.endpoint,
            "token": match &c.token {
                crate::config::keyyo::TokenSettings::Given(_) => json!({ "given": true }),
                crate::config::keyyo::TokenSettings::Minted(m) => json!({
                    "minted": {
                        "csi": m.csi,
                        "manager_url": m.manager_url,
                        "oauth_token_url": m.token_url,
                        "refresh_token_file": m.file.display().to_string(),
                    }
                }),
            },
        })),
        "public_url": s.public_url,
        "desks": s.desks.iter().map(|d| json!({
            "ident": d.ident,
            "lines": d.lines,
            "role": if d.supervisor { "supervisor" } else { "desk" },
        })).collect::<Vec<_>>(),
        "record_url": s.record_url,
        "lookup": s.names.as_ref().and_then(|c| c.lookup.as_ref()).map(|l| match &l.source {
            ctibridge_lang::config::LookupSource::Directory(d) => json!({ "directory": d.value }),
            ctibridge_lang::config::LookupSource::Request(r) => json!({
                "url": ctibridge_lang::redact::mask_url(&r.request.url.value.text),
            }),
        }),
        "report": s.names.as_ref().and_then(|c| c.report.as_ref()).map(|r| json!({
            "when": r.when.value.describe(),
            "url": ctibridge_lang::redact::mask_url(&r.request.url.value.text),
        })),
        "max_connections": s.max_connections,
        "rate": { "cti": s.cti_rate, "keyyo_notify": s.notify_rate },
        "tel_format": s.tel_format,
    })
}

/// What the server's `<lookup>` and `<report>` do, one line each.
fn names_lines(c: &Config) -> Vec<String> {
    use ctibridge_lang::config::LookupSource;
    let mut lines = Vec::new();
    if let Some(l) = &c.lookup {
        lines.push(match &l.source {
            LookupSource::Directory(d) => {
                format!("lookup         who calls, from the directory {}", d.value)
            }
            LookupSource::Request(r) => format!(
                "lookup         who calls, from the ERP's {} {}; names kept {} s, {} s to answer, {} request(s) at once",
                r.request.method.value.as_str(),
                ctibridge_lang::redact::mask_url(&r.request.url.value.text),
                l.cache.value.as_secs(),
                l.timeout.value.as_secs_f64(),
                l.parallel.value
            ),
        });
    }
    if let Some(r) = &c.report {
        lines.push(format!(
            "reports        {} calls, each once, to the ERP's {} {} (the outbox in the journal)",
            r.when.value.describe(),
            r.request.method.value.as_str(),
            ctibridge_lang::redact::mask_url(&r.request.url.value.text)
        ));
    }
    lines
}

pub fn explain(s: &ServerSettings) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "listens on     {}", s.listen);
    if let Some(t) = &s.tls {
        let _ = writeln!(
            out,
            "https          certificate {}, key {}",
            t.cert.display(),
            t.key.display()
        );
    }
    let dials = if s.simulator {
        "the simulator".to_owned()
    } else {
        match &s.dialer {
            Some(c) if c.dial.is_some() => match c.global.provider.value.as_str() {
                "" => "the <cliktocalldial> of this file".to_owned(),
                p => format!("the {p} profile, line given by each desk"),
            },
            _ if s.keyyo_cti.is_some() => {
                "Keyyo's CTI session, from its own line only (the CSI token's service)".to_owned()
            }
            _ => "nothing (setevent answers 503)".to_owned(),
        }
    };
    let _ = writeln!(out, "dials through  {dials}");
    let _ = writeln!(
        out,
        "holds polls    {} s (cursor) / 0.8 s (no cursor); tokens valid {} s",
        s.hold.as_secs_f64(),
        s.token_ttl.as_secs()
    );
    let _ = writeln!(
        out,
        "journal        {}",
        s.journal
            .as_ref()
            .map_or("in memory (lost at stop)".to_owned(), |p| p
                .display()
                .to_string())
    );
    let _ = writeln!(
        out,
        "relay          {}",
        if s.relay {
            "on: provider events polled once, handed to each line's desks"
        } else {
            "off"
        }
    );
    match &s.keyyo {
        Some(k) => {
            let base = s
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", s.listen));
            let _ = writeln!(
                out,
                "keyyo notify   on, from {}\n  URL for the Keyyo manager:\n  {}",
                k.sources,
                crate::config::keyyo::manager_url(&base, "SECRET")
            );
        }
        None => {
            let _ = writeln!(out, "keyyo notify   off");
        }
    }
    if let Some(c) = &s.keyyo_cti {
        let token = match &c.token {
            crate::config::keyyo::TokenSettings::Given(_) => {
                "the <csi_token> of this file (it lives one hour)".to_owned()
            }
            crate::config::keyyo::TokenSettings::Minted(m) => format!(
                "minted each hour for service {} at {}\n  refresh token from {}, the newest kept in {}",
                m.csi,
                m.manager_url,
                m.token_url,
                m.file.display()
            ),
        };
        let _ = writeln!(out, "keyyo cti      {}, CSI token {token}", c.endpoint);
    }
    if let Some(c) = &s.names {
        for line in names_lines(c) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(
        out,
        "browser desk   {}",
        if s.desks.is_empty() {
            "off (it needs a <desk>)".to_owned()
        } else {
            format!(
                "/desk/{}",
                s.record_url
                    .as_deref()
                    .map_or(String::new(), |u| format!(", ERP records at {u}"))
            )
        }
    );
    if s.desks.is_empty() {
        let _ = writeln!(
            out,
            "desks          any, from this machine only, every line"
        );
    } else {
        for d in &s.desks {
            let role = if d.supervisor {
                " (supervisor: the wall)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "desk           {}: {}{role}",
                d.ident,
                d.lines.join(" | ")
            );
        }
    }
    out
}

// ---------------------------------------------------------------- record links

const RECORD_KEYWORDS: &[&str] = &["record", "tel", "tele164", "name", "company"];

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
