//! The CSI token of Keyyo's CTI service. It lives one hour: either the
//! server file gives one (a test, a short run), or the server mints its
//! own through the Keyyo Manager API with an OAuth2 client and refresh
//! token, and renews it before the hour is up.
//!
//! The refresh token may change each time it is used (Keyyo's OAuth2
//! server rotates it): the newest is saved — 0600, written to a temporary
//! file, synced, renamed, the folder synced — before the answer that
//! carried it is used, and read back at the next start. One mint at a time
//! (a lock), so two renewals never race on one refresh token.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::keyyo::{MintSettings, TokenSettings};
use ctibridge_client::http::{ClientOptions, HttpClient};
use ctibridge_client::request::HttpRequest;
use ctibridge_lang::config::{Method, Secret};

/// A CSI token's life when the Manager API does not say (Keyyo: one hour).
pub const CSI_LIFE: Duration = Duration::from_secs(3600);
/// How long before its end a token is renewed (at most a sixth of its life).
pub const RENEW_BEFORE: Duration = Duration::from_secs(600);
/// Replaced tokens still masked in logs (older ones long expired).
const KEEP_MASKED: usize = 4;

/// The source of CSI tokens for the session loop.
pub enum Tokens {
    Given(Secret),
    Minted(Box<Minter>),
}

impl Tokens {
    /// Reads the kept refresh token (minting) — an unreadable file stops
    /// the server from starting rather than lose the newest token.
    pub fn new(settings: TokenSettings) -> Result<Tokens, String> {
        Ok(match settings {
            TokenSettings::Given(t) => Tokens::Given(t),
            TokenSettings::Minted(m) => Tokens::Minted(Box::new(Minter::new(m)?)),
        })
    }

    /// A token valid now: the given one, or the one minted (anew when
    /// its renewal time has come).
    pub async fn current(&self) -> Result<Secret, String> {
        match self {
            Tokens::Given(t) => Ok(t.clone()),
            Tokens::Minted(m) => m.current().await,
        }
    }

    /// The service refused the token: the next [`Tokens::current`] mints
    /// one (a given token cannot be replaced).
    pub async fn refused(&self) {
        if let Tokens::Minted(m) = self {
            m.state.lock().await.csi = None;
        }
    }

    /// When the token in hand should be replaced (none for a given one).
    pub async fn renew_at(&self) -> Option<Instant> {
        match self {
            Tokens::Given(_) => None,
            Tokens::Minted(m) => Some(m.state.lock().await.csi.as_ref()?.renew_at),
        }
    }

    /// Whether the token is minted (its renewal runs).
    pub fn minted(&self) -> bool {
        matches!(self, Tokens::Minted(_))
    }
}

/// Mints CSI tokens.
pub struct Minter {
    settings: MintSettings,
    client: HttpClient,
    state: tokio::sync::Mutex<State>,
}

struct Minted {
    token: Secret,
    renew_at: Instant,
}

struct State {
    refresh: Secret,
    access: Option<(Secret, Instant)>,
    csi: Option<Minted>,
    /// Replaced values, forgotten by the masking once old enough.
    retired: VecDeque<String>,
}

impl State {
    fn retire(&mut self, old: &Secret, given: &Secret) {
        if old.expose() == given.expose() {
            return;
        }
        self.retired.push_back(old.expose().to_owned());
        while self.retired.len() > KEEP_MASKED * 3 {
            if let Some(gone) = self.retired.pop_front() {
                ctibridge_lang::redact::forget(&gone);
            }
        }
    }
}

/// The kept file: the newest refresh token, and a fingerprint of the
/// server file's one it descends from (a changed `<refresh_token>` wins).
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    refresh_token: String,
    given: String,
}

/// SHA-1 of `text` in hex: tells whether the server file's refresh token
/// changed, without keeping it.
fn fingerprint(text: &str) -> String {
    use sha1::Digest as _;
    crate::model::ids::hex(&sha1::Sha1::digest(text.as_bytes()))
}

impl Minter {
    fn new(settings: MintSettings) -> Result<Minter, String> {
        let refresh = match read_kept(&settings.file)? {
            Some(kept) if kept.given == fingerprint(settings.refresh_token.expose()) => {
                Secret::new(kept.refresh_token)
            }
            Some(_) => {
                tracing::info!(
                    "the server file's <refresh_token> changed: it is used instead of the one kept in {}",
                    settings.file.display()
                );
                settings.refresh_token.clone()
            }
            None => settings.refresh_token.clone(),
        };
        let client = HttpClient::new(&ClientOptions::plain())
            .map_err(|e| format!("Keyyo Manager API: {e}"))?;
        Ok(Minter {
            settings,
            client,
            state: tokio::sync::Mutex::new(State {
                refresh,
                access: None,
                csi: None,
                retired: VecDeque::new(),
            }),
        })
    }

    async fn current(&self) -> Result<Secret, String> {
        let mut state = self.state.lock().await;
        if let Some(m) = &state.csi {
            if Instant::now() < m.renew_at {
                return Ok(m.token.clone());
            }
        }
        let fresh = self.mint(&mut state).await?;
        Ok(fresh)
    }

    /// A new CSI token (the access token refreshed first when needed, and
    /// once more when the Manager API refuses it).
    async fn mint(&self, state: &mut State) -> Result<Secret, String> {
        for attempt in 0..2 {
            let access = match &state.access {
                Some((t, until)) if attempt == 0 && Instant::now() < *until => t.clone(),
                _ => self.refresh(state).await?,
            };
            let url = format!(
                "{}/services/{}/csi_token",
                self.settings.manager_url,
                percent_encoding::utf8_percent_encode(
                    &self.settings.csi,
                    percent_encoding::NON_ALPHANUMERIC
                )
            );
            let req = HttpRequest {
                method: Method::Post,
                url: url.clone(),
                headers: vec![
                    (
                        "Authorization".into(),
                        format!("Bearer {}", access.expose()),
                    ),
                    (
                        "Accept".into(),
                        "application/hal+json, application/json".into(),
                    ),
                ],
                body: None,
                url_span: None,
            };
            let resp = self
                .client
                .send(&req)
                .await
                .map_err(|e| format!("Keyyo Manager API {url}: {e}"))?;
            if resp.status == 401 && attempt == 0 {
                state.access = None;
                continue;
            }
            if !resp.is_success() {
                return Err(format!(
                    "Keyyo Manager API {url}: HTTP {}{}",
                    resp.status,
                    match resp.status {
                        401 | 403 => ": the OAuth2 client or its refresh token lacks the `cti_admin` scope for this account, or `<csi>` is not one of its services",
                        404 => ": no such service — check `<csi>`",
                        _ => "",
                    }
                ));
            }
            let (token, life) = csi_token_of(&resp.body).ok_or_else(|| {
                format!(
                    "Keyyo Manager API {url}: the answer holds no `token` (nor `csi_token`) field: {}",
                    ctibridge_lang::redact::mask(&resp.body_start())
                )
            })?;
            let token = Secret::new(token);
            let life = life.min(MAX_LIFE);
            let renew_after = life
                .saturating_sub(RENEW_BEFORE)
                .max(life.mul_f64(5.0 / 6.0));
            let given = self.settings.refresh_token.clone();
            if let Some(old) = state.csi.take() {
                state.retire(&old.token, &given);
            }
            state.csi = Some(Minted {
                token: token.clone(),
                renew_at: Instant::now() + renew_after,
            });
            tracing::info!("Keyyo CTI: a new CSI token, renewed in {:.0?}", renew_after);
            return Ok(token);
        }
        Err("Keyyo Manager API: the access token was refused twice".into())
    }

    /// Exchanges the refresh token for an access token (RFC 6749 §6, the
    /// client authenticated with HTTP Basic); a new refresh token in the
    /// answer is saved before anything else is done.
    async fn refresh(&self, state: &mut State) -> Result<Secret, String> {
        use base64::Engine as _;
        let url = &self.settings.token_url;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form(&self.settings.client_id),
            form(self.settings.client_secret.expose())
        ));
        let req = HttpRequest {
            method: Method::Post,
            url: url.clone(),
            headers: vec![
                ("Authorization".into(), format!("Basic {basic}")),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(format!(
                "grant_type=refresh_token&refresh_token={}",
                form(state.refresh.expose())
            )),
            url_span: None,
        };
        let resp = self
            .client
            .send(&req)
            .await
            .map_err(|e| format!("Keyyo OAuth2 {url}: {e}"))?;
        let body: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
        if !resp.is_success() {
            let error = body["error"].as_str().unwrap_or("");
            let help = match error {
                "invalid_grant" => format!(
                    ": the refresh token is refused (revoked, or used by another program): get a new one through Keyyo's authorization page, put it in <refresh_token>, and restart (the one kept in {} is then replaced)",
                    self.settings.file.display()
                ),
                "invalid_client" | "unauthorized_client" => {
                    ": <oauth_client_id> or <oauth_client_secret> is refused".to_owned()
                }
                "" => String::new(),
                other => format!(" ({other})"),
            };
            return Err(format!("Keyyo OAuth2 {url}: HTTP {}{help}", resp.status));
        }
        let Some(access) = body["access_token"].as_str().filter(|t| !t.is_empty()) else {
            return Err(format!(
                "Keyyo OAuth2 {url}: the answer holds no access_token"
            ));
        };
        let access = Secret::new(access);
        if let Some(newer) = body["refresh_token"].as_str().filter(|t| !t.is_empty()) {
            if newer != state.refresh.expose() {
                let newer = Secret::new(newer);
                let kept = Kept {
                    refresh_token: newer.expose().to_owned(),
                    given: fingerprint(self.settings.refresh_token.expose()),
                };
                if let Err(e) = save_kept(&self.settings.file, &kept) {
                    tracing::error!(
                        "cannot save Keyyo's new refresh token in {}: {e} — it is kept in memory only: after a restart, a new one must be put in <refresh_token>",
                        self.settings.file.display()
                    );
                }
                let old = std::mem::replace(&mut state.refresh, newer);
                let given = self.settings.refresh_token.clone();
                state.retire(&old, &given);
            }
        }
        // However long the answer says (a huge `expires_in` must not
        // overflow the clock): a day at most.
        let life = body["expires_in"]
            .as_u64()
            .map_or(Duration::from_secs(3600), Duration::from_secs)
            .min(MAX_LIFE);
        // An access token is used until a minute before its end.
        let until = Instant::now() + life.saturating_sub(Duration::from_secs(60)).max(life / 2);
        if let Some((old, _)) = state.access.take() {
            let given = self.settings.refresh_token.clone();
            state.retire(&old, &given);
        }
        state.access = Some((access.clone(), until));
        Ok(access)
    }
}

/// `application/x-www-form-urlencoded` form of `text` (also what RFC 6749
/// §2.3.1 asks of the client id and secret before Basic).
fn form(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The longest life taken from an answer's `expires_in`, CSI or access
/// token: a day (Keyyo's CSI token lives an hour). A larger or absurd
/// value is read as this.
pub const MAX_LIFE: Duration = Duration::from_secs(24 * 3600);

/// The CSI token of a Manager API answer and its life.
///
/// Assumption (PROVIDERS.md does not give the answer's fields): the token
/// is a string field `token` or `csi_token`, at the top or under HAL's
/// `_embedded`; a number `expires_in` (seconds), when there, is its life,
/// else one hour.
fn csi_token_of(body: &str) -> Option<(String, Duration)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let places = [&v, &v["_embedded"]];
    let token = places.iter().find_map(|p| {
        ["token", "csi_token"]
            .iter()
            .find_map(|k| p[*k].as_str().filter(|t| !t.is_empty()))
    })?;
    let life = places
        .iter()
        .find_map(|p| p["expires_in"].as_u64())
        .filter(|s| *s > 0)
        .map_or(CSI_LIFE, Duration::from_secs)
        .min(MAX_LIFE);
    Some((token.to_owned(), life))
}

fn read_kept(path: &Path) -> Result<Option<Kept>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            format!(
                "{}: {e} — the newest Keyyo refresh token cannot be read; delete the file to use <refresh_token> again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes `kept` to `path` atomically, readable by its owner only.
fn save_kept(path: &Path, kept: &Kept) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let written = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(serde_json::to_string(kept)?.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

/// Keeps a minted token fresh: mints again at its renewal time, so a
/// reconnect never waits on the Manager API and the refresh token is used
/// at least once an hour. One log line when minting starts failing, one
/// when it works again; back-off 1 s → 5 min.
pub async fn renew(tokens: std::sync::Arc<Tokens>, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !tokens.minted() {
        return;
    }
    // After a failure: 1 s, doubling up to 5 min.
    let mut backoff = ctibridge_client::backoff::Backoff::new(
        Duration::from_secs(1),
        Duration::from_secs(300),
        ctibridge_client::backoff::Jitter::Fifth,
    );
    let mut failing: Option<Instant> = None;
    loop {
        let wait = match tokens.current().await {
            Ok(_) => {
                if let Some(since) = failing.take() {
                    tracing::info!(
                        "Keyyo CSI token: minted again, after {:.0?}",
                        since.elapsed()
                    );
                }
                backoff.reset();
                let at = tokens.renew_at().await.unwrap_or_else(Instant::now);
                at.saturating_duration_since(Instant::now())
            }
            Err(why) => {
                if failing.is_none() {
                    tracing::warn!("Keyyo CSI token: {why}; trying again with back-off");
                    failing = Some(Instant::now());
                }
                backoff.next_delay()
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_csi_token_and_its_life() {
        assert_eq!(
            csi_token_of(r#"{"token":"abc","expires_in":120}"#),
            Some(("abc".into(), Duration::from_secs(120)))
        );
        assert_eq!(
            csi_token_of(r#"{"csi_token":"abc"}"#),
            Some(("abc".into(), CSI_LIFE))
        );
        assert_eq!(
            csi_token_of(r#"{"_embedded":{"token":"x1"},"_links":{}}"#),
            Some(("x1".into(), CSI_LIFE))
        );
        // A life no clock can add: a day, not a panic of the session.
        assert_eq!(
            csi_token_of(r#"{"token":"abc","expires_in":18446744073709551615}"#),
            Some(("abc".into(), MAX_LIFE))
        );
        assert_eq!(csi_token_of(r#"{"token":""}"#), None);
        assert_eq!(csi_token_of("not json"), None);
    }

    #[test]
    fn the_kept_token_is_private_and_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("ctibridge-kept-{}", std::process::id()));
        let path = dir.join("keyyo_refresh_token.json");
        for n in 0..3 {
            let kept = Kept {
                refresh_token: format!("refresh-{n}"),
                given: fingerprint("given"),
            };
            save_kept(&path, &kept).unwrap();
        }
        let back = read_kept(&path).unwrap().unwrap();
        assert_eq!(back.refresh_token, "refresh-2");
        assert_eq!(back.given, fingerprint("given"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
        std::fs::write(&path, "{broken").unwrap();
        assert!(matches!(read_kept(&path), Err(e) if e.contains("delete the file")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
