//! The server file checked, one section at a time: each reader returns its
//! typed part and says what is wrong where it is written.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ctibridge_lang::config::{value, Checked, Config, NumberFormat, Secret};
use ctibridge_lang::diag::{Code, Diagnostic, Diagnostics};
use ctibridge_lang::param::{parse, Block, Entry, ParamFile, ParseOptions};
use ctibridge_lang::schema::{Section, Tag, TagDef};
use ctibridge_lang::source::{FileId, SourceMap, Span};

use crate::config::file::{
    check_record_url, open_without_desks, Desk, LoadedServer, ServerSettings, CTI_PATH,
    KEYYO_SECRET_ENV, OPEN_WITHOUT_DESKS_HELP,
};
use crate::config::keyyo::{CtiSettings, KeyyoOptions, MintSettings, TokenSettings};
use crate::infra::proxies::TrustedProxies;
use crate::infra::tls::TlsFiles;

/// The sections that talk to the ERP, not to the provider: used with the
/// simulator too.
fn is_erp_section(section: Option<Section>) -> bool {
    matches!(section, Some(Section::Lookup | Section::Report))
}

/// The values of the server's own sections (`<desk>` aside), as the
/// section readers see them.
struct Own {
    values: HashMap<(Section, &'static str), Entry>,
    /// Where each section's header is written.
    headers: HashMap<Section, Span>,
    /// The file: relative paths are read from its folder.
    path: PathBuf,
    id: FileId,
}

impl Own {
    fn get(&self, section: Section, tag: Tag) -> Option<&Entry> {
        self.values.get(&(section, tag.name()))
    }

    /// The value as written, or the schema's default.
    fn text(&self, section: Section, tag: Tag) -> &str {
        self.get(section, tag).map_or_else(
            || tag.def(section).map_or("", |d| d.default),
            |e| e.value.text.trim(),
        )
    }

    /// The value read as its kind (`None`: wrong, and said so where the
    /// line was checked).
    fn read<T: value::FromKind>(&self, section: Section, tag: Tag) -> Option<T> {
        debug_assert!(
            tag.def(section).is_some_and(|d| d.kind == T::KIND),
            "<{tag}> is not read as {:?}",
            T::KIND
        );
        T::from_text(self.text(section, tag)).ok()
    }

    /// A path of the file, relative to its folder.
    fn path_of(&self, e: &Entry) -> PathBuf {
        let p = PathBuf::from(e.value.text.trim());
        match self.path.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    }

    /// Where a `<server>` tag's value is written, or the file.
    fn value_span(&self, tag: Tag) -> Span {
        self.get(Section::Server, tag)
            .map_or(Span::file(self.id), |e| value::trimmed_span(&e.value))
    }
}

/// The `<server>` section, read.
struct ServerPart {
    listen: Option<SocketAddr>,
    simulator: bool,
    relay: bool,
    hold: Option<Duration>,
    token_ttl: Option<Duration>,
    cti_rate: Option<u32>,
    notify_rate: Option<u32>,
    tel_format: Option<NumberFormat>,
    max_connections: Option<usize>,
    journal: Option<PathBuf>,
    tls: Option<TlsFiles>,
    public_url: Option<String>,
    record_url: Option<String>,
    trusted_proxies: TrustedProxies,
    monitoring: TrustedProxies,
}

pub(crate) fn check(
    mut sources: SourceMap,
    id: FileId,
    mut diagnostics: Diagnostics,
    keyyo_secret: Option<&str>,
) -> LoadedServer {
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
    let has_own = !own.is_empty();
    let mut diags = Vec::new();
    secrets_readable(&own, &sources.get(id).path, &mut diags);
    let (values, mut desks) = gather(&own, id, &mut diags);
    let own = Own {
        values,
        headers: own
            .iter()
            .filter_map(|b| Some((b.section?, b.header.as_ref()?.span)))
            .collect(),
        path: sources.get(id).path.clone(),
        id,
    };
    let server = server_section(&own, &mut diags);
    let keyyo_cti = keyyo_cti_section(&own, server.journal.as_deref(), &mut diags);
    let keyyo = keyyo_notify_section(&own, keyyo_secret, &mut diags);
    let (dialer, names) = dialing_sections(
        &mut sources,
        id,
        dialing,
        &server,
        &mut diagnostics,
        &mut diags,
    );
    // Without the simulator, no dialer means no dialing section.
    if !server.simulator && dialer.is_none() && keyyo_cti.is_none() {
        diags.push(
            Diagnostic::warning(
                Code::NoProvider,
                Span::file(id),
                "the server dials through nothing: `setevent` will answer 503",
            )
            .with_help("set `<global><provider>NAME` and the account's `<station>` credentials, or `<server><simulator>1`; desks that dial their provider themselves need neither"),
        );
    }
    if server.relay {
        relay_checks(&own, dialer.as_ref(), &mut diags);
    }
    exposure_checks(&own, &server, desks.is_empty(), &mut diags);
    if desks.is_empty() && has_own && !server.simulator {
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
    desk_lines(&mut desks, &country, id, &mut diags);
    diagnostics.extend(diags);
    let files = ctibridge_lang::load::files_read(&sources, |_| true);
    let settings = (!diagnostics.has_errors()).then(|| ServerSettings {
        listen: server.listen.expect("checked"),
        simulator: server.simulator,
        hold: server.hold.expect("checked"),
        token_ttl: server.token_ttl.expect("checked"),
        journal: server.journal,
        public_url: server.public_url,
        record_url: server.record_url,
        tls: server.tls,
        trusted_proxies: server.trusted_proxies,
        monitoring: server.monitoring,
        relay: server.relay,
        cti_rate: server.cti_rate.expect("checked"),
        notify_rate: server.notify_rate.expect("checked"),
        keyyo,
        keyyo_cti,
        desks,
        country,
        tel_format: server.tel_format.expect("checked"),
        max_connections: server.max_connections.expect("checked"),
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

/// A file that holds secrets should be readable by its owner only (its
/// dialing sections' passwords are warned about as in a desk's file).
fn secrets_readable(own: &[Block], path: &Path, diags: &mut Vec<Diagnostic>) {
    let first_secret = own.iter().find_map(|b| {
        let section = b.section?;
        b.entries.iter().find(|e| {
            TagDef::lookup(section, &e.name).is_some_and(|d| d.secret) && e.value.is_set()
        })
    });
    if let Some(e) = first_secret {
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
}

/// The server's own sections' values, and its desks (each ident once).
fn gather(
    own: &[Block],
    id: FileId,
    diags: &mut Vec<Diagnostic>,
) -> (HashMap<(Section, &'static str), Entry>, Vec<Desk>) {
    let mut shared: HashMap<(Section, &'static str), Entry> = HashMap::new();
    let mut desks = Vec::new();
    let mut desk_spans = Vec::new();
    for block in own {
        let section = block.section.expect("partitioned on the section");
        let values = block_values(section, block, diags);
        if section == Section::Desk {
            let header = block.header.as_ref().map_or(Span::file(id), |h| h.span);
            if let Some(desk) = desk(header, &values, diags) {
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
    (shared, desks)
}

/// `<server>`.
fn server_section(own: &Own, diags: &mut Vec<Diagnostic>) -> ServerPart {
    let max_connections = match own.get(Section::Server, Tag::MAX_CONNECTIONS) {
        Some(e) => value::parse_count(e.value.text.trim())
            .ok()
            .map(|n| n as usize),
        None => Some(crate::infra::connections::default_max()),
    };
    let journal = own
        .get(Section::Server, Tag::JOURNAL)
        .map(|e| own.path_of(e));
    ServerPart {
        listen: own.read(Section::Server, Tag::LISTEN),
        simulator: own.read(Section::Server, Tag::SIMULATOR).unwrap_or(false),
        relay: own.read(Section::Server, Tag::RELAY).unwrap_or(false),
        hold: own.read(Section::Server, Tag::HOLD),
        token_ttl: own.read(Section::Server, Tag::TOKEN_TTL),
        cti_rate: own.read(Section::Server, Tag::RATE),
        notify_rate: own.read(Section::KeyyoNotify, Tag::RATE),
        tel_format: own.read(Section::Server, Tag::TEL_FORMAT),
        max_connections,
        journal,
        tls: tls_of(own, diags),
        public_url: own
            .get(Section::Server, Tag::PUBLIC_URL)
            .map(|e| e.value.text.trim().to_owned()),
        record_url: record_url_of(own, diags),
        trusted_proxies: ranges_of(own, Tag::TRUSTED_PROXIES, diags),
        monitoring: ranges_of(own, Tag::MONITORING, diags),
    }
}

/// `<tls_cert>` and `<tls_key>`: both or neither, and servable.
fn tls_of(own: &Own, diags: &mut Vec<Diagnostic>) -> Option<TlsFiles> {
    use crate::infra::tls;
    let (cert, key) = match (
        own.get(Section::Server, Tag::TLS_CERT),
        own.get(Section::Server, Tag::TLS_KEY),
    ) {
        (None, None) => return None,
        (Some(cert), Some(key)) => (cert, key),
        (Some(one), None) | (None, Some(one)) => {
            diags.push(
                Diagnostic::error(
                    Code::TlsHalf,
                    one.name_span,
                    "HTTPS needs both `<tls_cert>` and `<tls_key>`",
                )
                .with_help("set the certificate chain (`<tls_cert>`) and its private key (`<tls_key>`), or neither for plain HTTP"),
            );
            return None;
        }
    };
    let files = TlsFiles {
        cert: own.path_of(cert),
        key: own.path_of(key),
    };
    if let Err(e) = tls::load(&files, tls::unix_now()) {
        let at = match e {
            tls::TlsError::Unreadable(ref p, _) | tls::TlsError::NoKey(ref p, _)
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
    } else if tls::is_authority(&files) {
        diags.push(
            Diagnostic::warning(
                Code::TlsAuthority,
                value::trimmed_span(&cert.value),
                "the server's certificate is a certificate authority's (CA:TRUE): ctibridge's desks, and other strict TLS clients, refuse it as a server's own, even when they trust it",
            )
            .with_help(format!(
                "make the server a certificate of its own (CA:FALSE), self-signed in one line: `{}`; then name cert.pem in the desks' <global><cafile>",
                tls::SELF_SIGNED_RECIPE
            )),
        );
    }
    Some(files)
}

/// `<record_url>`: the ERP's page of a caller.
fn record_url_of(own: &Own, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let e = own.get(Section::Server, Tag::RECORD_URL)?;
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
}

/// `<trusted_proxies>`, `<monitoring>`: addresses and ranges.
fn ranges_of(own: &Own, tag: Tag, diags: &mut Vec<Diagnostic>) -> TrustedProxies {
    let Some(e) = own.get(Section::Server, tag) else {
        return Default::default();
    };
    TrustedProxies::parse(&e.value.text).unwrap_or_else(|why| {
        diags.push(
            Diagnostic::error(Code::TrustedProxies, value::trimmed_span(&e.value), why).with_help(
                "write addresses or ranges, separated by commas: `127.0.0.1, 10.0.0.0/8`",
            ),
        );
        Default::default()
    })
}

/// `<keyyo_cti>`: Keyyo's CTI WebSocket and its CSI token, given or
/// minted (its refresh token kept beside the journal by default).
fn keyyo_cti_section(
    own: &Own,
    journal: Option<&Path>,
    diags: &mut Vec<Diagnostic>,
) -> Option<CtiSettings> {
    let header = *own.headers.get(&Section::KeyyoCti)?;
    let token = cti_token(own, header, journal, diags)?;
    Some(CtiSettings {
        endpoint: own.text(Section::KeyyoCti, Tag::CTI_URL).to_owned(),
        token,
    })
}

/// How the CTI session gets its CSI token.
fn cti_token(
    own: &Own,
    header: Span,
    journal: Option<&Path>,
    diags: &mut Vec<Diagnostic>,
) -> Option<TokenSettings> {
    let given = |tag: Tag| {
        own.get(Section::KeyyoCti, tag)
            .map(|e| e.value.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let minting = [Tag::CSI, Tag::OAUTH_CLIENT_ID, Tag::OAUTH_CLIENT_SECRET];
    let (fixed, refresh) = match (given(Tag::CSI_TOKEN), given(Tag::REFRESH_TOKEN)) {
        (None, None) => {
            diags.push(
                Diagnostic::error(Code::MissingTag, header, "`<keyyo_cti>` has no `<csi_token>` nor `<refresh_token>`")
                    .with_help("give `<csi>`, `<oauth_client_id>`, `<oauth_client_secret>` and `<refresh_token>` for the server to mint the account's CSI token each hour through the Keyyo Manager API; or, for a run of less than an hour, a `<csi_token>` made by it (POST /manager/1.0/services/{csi}/csi_token)"),
            );
            return None;
        }
        (Some(fixed), None) => {
            if let Some(e) = minting.iter().find_map(|t| own.get(Section::KeyyoCti, *t)) {
                diags.push(
                    Diagnostic::warning(Code::UnusedTag, e.name_span, format!("`<{}>` is not used without `<refresh_token>`", e.name))
                        .with_help("the server uses `<csi_token>` as is; add `<refresh_token>` for it to mint its own"),
                );
            }
            return Some(TokenSettings::Given(Secret::new(fixed)));
        }
        (fixed, Some(refresh)) => (fixed, refresh),
    };
    if fixed.is_some() {
        if let Some(e) = own.get(Section::KeyyoCti, Tag::CSI_TOKEN) {
            diags.push(
                Diagnostic::warning(
                    Code::UnusedTag,
                    e.name_span,
                    "`<csi_token>` is not used: the server mints its own with `<refresh_token>`",
                )
                .with_help("remove `<csi_token>`"),
            );
        }
    }
    let missing: Vec<String> = minting
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
    let file = match own.get(Section::KeyyoCti, Tag::REFRESH_TOKEN_FILE) {
        Some(e) if !e.value.text.trim().is_empty() => own.path_of(e),
        _ => journal
            .and_then(Path::parent)
            .or_else(|| own.path.parent())
            .map(PathBuf::from)
            .unwrap_or_default()
            .join("keyyo_refresh_token.json"),
    };
    Some(TokenSettings::Minted(MintSettings {
        csi: given(Tag::CSI).unwrap_or_default(),
        client_id: given(Tag::OAUTH_CLIENT_ID).unwrap_or_default(),
        client_secret: Secret::new(given(Tag::OAUTH_CLIENT_SECRET).unwrap_or_default()),
        refresh_token: Secret::new(refresh),
        file,
        manager_url: own
            .text(Section::KeyyoCti, Tag::MANAGER_URL)
            .trim_end_matches('/')
            .to_owned(),
        token_url: own.text(Section::KeyyoCti, Tag::OAUTH_TOKEN_URL).to_owned(),
    }))
}

/// `<keyyo_notify>`: who may send Keyyo's notifications. The environment's
/// secret takes the file's place (a section that only sets `<sources>`),
/// so the secret stays out of the file.
fn keyyo_notify_section(
    own: &Own,
    from_env: Option<&str>,
    diags: &mut Vec<Diagnostic>,
) -> Option<KeyyoOptions> {
    let header = *own.headers.get(&Section::KeyyoNotify)?;
    let from_env = from_env.filter(|s| !s.trim().is_empty()).map(str::to_owned);
    let (secret, at) = match (own.get(Section::KeyyoNotify, Tag::SECRET), from_env) {
        (_, Some(env)) => (env, header),
        (Some(e), None) => (
            e.value.text.trim().to_owned(),
            value::trimmed_span(&e.value),
        ),
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
    let sources = own.text(Section::KeyyoNotify, Tag::SOURCES);
    if value::sources_regex(sources.trim()).is_err() {
        // Said at `<sources>` itself when the file was checked.
        return None;
    }
    KeyyoOptions::new(secret.trim(), sources)
        .map_err(|e| {
            diags.push(
                Diagnostic::error(Code::KeyyoSecret, at, e)
                    .with_help("a long random secret: `openssl rand -hex 16` makes one"),
            );
        })
        .ok()
}

/// How the server dials (every section not its own, checked as a desk's
/// file is), and whose `<lookup>` and `<report>` it uses: `(dialer,
/// names)`.
fn dialing_sections(
    sources: &mut SourceMap,
    id: FileId,
    dialing: Vec<Block>,
    server: &ServerPart,
    diagnostics: &mut Diagnostics,
    diags: &mut Vec<Diagnostic>,
) -> (Option<Config>, Option<Config>) {
    let has_dialing = dialing
        .iter()
        .any(|b| (b.header.is_some() || !b.entries.is_empty()) && !is_erp_section(b.section));
    if server.simulator || !has_dialing {
        let names = erp_sections(sources, id, dialing, server.simulator, diagnostics, diags);
        return (None, names);
    }
    let mut found = Diagnostics::new();
    let checked: Checked = ctibridge_lang::load::check_tree(
        sources,
        ParamFile {
            file: id,
            blocks: dialing,
        },
        None,
        &[],
        None,
        Some(ctibridge_lang::load::ServerUse {
            relay: server.relay,
        }),
        &mut found,
    );
    // The line is the one each desk dials from (`setevent`'s telorg): the
    // server's own `<station>` needs none (`check_tree` knows).
    diagnostics.extend(found.sorted().into_iter().cloned());
    let names = (checked.config.lookup.is_some() || checked.config.report.is_some())
        .then(|| checked.config.clone());
    (Some(checked.config), names)
}

/// The simulator (or nothing) dials; the caller lookup and the reports are
/// still the file's.
fn erp_sections(
    sources: &mut SourceMap,
    id: FileId,
    dialing: Vec<Block>,
    simulator: bool,
    diagnostics: &mut Diagnostics,
    diags: &mut Vec<Diagnostic>,
) -> Option<Config> {
    let (mut lookup, dialing): (Vec<Block>, Vec<Block>) =
        dialing.into_iter().partition(|b| is_erp_section(b.section));
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
            .with_help("set `<simulator>0` to dial through the provider these sections describe"),
        );
    }
    if lookup.is_empty() {
        return None;
    }
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
        sources,
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
    // Only the lookup and the report are used: that nothing dials is no
    // news.
    diagnostics.extend(
        found
            .sorted()
            .into_iter()
            .filter(|d| d.code != Code::NoInterface)
            .cloned(),
    );
    Some(checked.config)
}

/// `<relay>1`: there must be an event source to relay, and not this
/// server's own getevent.
fn relay_checks(own: &Own, dialer: Option<&Config>, diags: &mut Vec<Diagnostic>) {
    let span = own
        .get(Section::Server, Tag::RELAY)
        .map_or(Span::file(own.id), |e| e.name_span);
    match dialer {
        Some(c)
            if c.event.as_ref().is_some_and(|e| {
                e.request.url.value.text.contains(CTI_PATH)
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

/// Who can reach the server: without desks, only this machine; from the
/// network, not in clear.
fn exposure_checks(own: &Own, server: &ServerPart, no_desk: bool, diags: &mut Vec<Diagnostic>) {
    if let Some(addr) = server.listen.filter(|_| no_desk) {
        if let Some(why) = open_without_desks(addr) {
            diags.push(
                Diagnostic::error(Code::NoDesk, own.value_span(Tag::LISTEN), why)
                    .with_help(OPEN_WITHOUT_DESKS_HELP),
            );
        }
    }
    if let Some(addr) = server.listen.filter(|a| !a.ip().is_loopback()) {
        if server.tls.is_none() && server.trusted_proxies.is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::ListenInClear,
                    own.value_span(Tag::LISTEN),
                    format!("{addr} is reachable from the network in plain HTTP: desk secrets, tokens and Keyyo's secret would cross it in clear"),
                )
                .with_help("serve HTTPS (`<tls_cert>` and `<tls_key>`), or put a reverse proxy that does in front and name it in `<trusted_proxies>`"),
            );
        }
    }
}

/// Every desk's lines in their one identity, read in `country`.
fn desk_lines(desks: &mut [Desk], country: &str, id: FileId, diags: &mut Vec<Diagnostic>) {
    for d in desks {
        let mut read = Vec::with_capacity(d.lines.len());
        for l in &d.lines {
            match ctibridge_client::number::identity(l, country) {
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
