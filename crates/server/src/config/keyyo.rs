//! Keyyo's settings: the notification URL set in the Keyyo manager and who
//! may call it, and the CTI session's endpoint and token.

use std::path::PathBuf;

use ctibridge_lang::config::Secret;

/// The route.
pub const PATH: &str = "/keyyo/notify";

/// Every keyword of Keyyo's notification URL, with our parameter name.
pub const KEYWORDS: &[(&str, &str)] = &[
    ("account", "_ACCOUNT_"),
    ("caller", "_CALLER_"),
    ("callee", "_CALLEE_"),
    ("callref", "_CALLREF_"),
    ("type", "_N_TYPE_"),
    ("version", "_N_VERSION_"),
    ("dref", "_DREF_"),
    ("dref_replace", "_DREF_REPLACE_"),
    ("session", "_SESSION_ID_"),
    ("is_acd", "_IS_ACD_"),
    ("redirecting", "_REDIRECTING_NUMBER_"),
    ("tsms", "_TSMS_"),
];

/// The URL to paste in the Keyyo manager, for a server reachable at `base`.
pub fn manager_url(base: &str, secret: &str) -> String {
    let params: Vec<String> = KEYWORDS.iter().map(|(p, k)| format!("{p}={k}")).collect();
    format!(
        "{}{PATH}?secret={secret}&{}",
        base.trim_end_matches('/'),
        params.join("&")
    )
}

/// Who may send notifications.
#[derive(Clone, Debug)]
pub struct KeyyoOptions {
    pub secret: ctibridge_lang::config::Secret,
    /// Source addresses as written (`62\.39\.136\.157|83\.136\.160\.79`).
    pub sources: String,
    /// The same, anchored: matched against the whole address.
    pub sources_re: regex::Regex,
}

impl KeyyoOptions {
    /// `sources` as the Keyyo manager writes them; anchored here.
    pub fn new(secret: &str, sources: &str) -> Result<KeyyoOptions, String> {
        // Registered to be masked before anything can print it.
        let secret = ctibridge_lang::config::Secret::new(secret);
        let secret_len = secret.expose().len();
        if secret_len < 16 {
            return Err("the Keyyo notification secret must have at least 16 characters".into());
        }
        if let Some(why) = ctibridge_lang::redact::weak_secret(secret.expose()) {
            return Err(format!("the Keyyo notification secret will not do: {why}"));
        }
        let re = ctibridge_lang::config::value::sources_regex(sources).map_err(|e| {
            format!("the allowed sources are not a regular expression of addresses: {e}")
        })?;
        Ok(KeyyoOptions {
            secret,
            sources: sources.to_owned(),
            sources_re: re,
        })
    }
}

/// `<keyyo_cti>` of the server file.
#[derive(Clone, Debug)]
pub struct CtiSettings {
    /// The SockJS endpoint (`https://ws.keyyo.com/cti`).
    pub endpoint: String,
    /// The CSI token, given or minted.
    pub token: TokenSettings,
}

/// How the session gets its token.
#[derive(Clone, Debug)]
pub enum TokenSettings {
    /// `<csi_token>`: used as is.
    Given(Secret),
    /// `<csi>`, `<oauth_client_id>`, `<oauth_client_secret>`,
    /// `<refresh_token>`: minted.
    Minted(MintSettings),
}

/// What minting needs (`<keyyo_cti>` of the server file).
#[derive(Clone, Debug)]
pub struct MintSettings {
    pub csi: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The refresh token of the server file.
    pub refresh_token: Secret,
    /// `<refresh_token_file>`: where the newest is kept.
    pub file: PathBuf,
    /// `<manager_url>`, with no trailing `/`.
    pub manager_url: String,
    /// `<oauth_token_url>`.
    pub token_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manager_url_names_every_keyword() {
        let u = manager_url("https://cti.example/", "S3CRET");
        for (_, k) in KEYWORDS {
            assert!(u.contains(k), "{k}");
        }
        assert!(u.starts_with("https://cti.example/keyyo/notify?secret=S3CRET&account=_ACCOUNT_"));
    }
}
