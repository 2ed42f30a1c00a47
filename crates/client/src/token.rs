//! `<cliktocalltoken>`: the token fetched before the requests that use
//! `$token$`, cached on disk (owner-only) across launches.

use std::path::PathBuf;

use crate::answer;
use crate::cache::fnv1a;
use crate::config::{AnswerField, TokenSpec};
use crate::diag::{excerpt, Code, Diagnostic};
use crate::failure::Failure;
use crate::http::HttpClient;
use crate::request;
use crate::source::Span;
use crate::template::Values;

/// Where tokens are kept between launches.
#[derive(Clone, Debug)]
pub struct TokenStore {
    dir: Option<PathBuf>,
}

impl TokenStore {
    /// A store that keeps nothing (no cache folder).
    pub fn nowhere() -> TokenStore {
        TokenStore { dir: None }
    }

    pub fn at(dir: PathBuf) -> TokenStore {
        TokenStore { dir: Some(dir) }
    }

    /// One token per token URL and station.
    pub fn key(token_url: &str, values: &Values) -> String {
        let material = format!(
            "{token_url}\n{}\n{}\n{}",
            values.ident, values.user, values.telorg
        );
        format!("{:016x}", fnv1a(material.as_bytes()))
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(key))
    }

    pub fn load(&self, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.path(key)?).ok()?;
        let token = text.trim();
        crate::redact::register(token);
        (!token.is_empty()).then(|| token.to_owned())
    }

    /// Best effort: a token that cannot be cached is fetched again next time.
    pub fn store(&self, key: &str, token: &str) {
        let (Some(dir), Some(path)) = (&self.dir, self.path(key)) else {
            return;
        };
        if let Err(e) = write_private(dir, &path, token) {
            tracing::warn!("cannot cache the token in {}: {e}", dir.display());
        }
    }

    pub fn forget(&self, key: &str) {
        if let Some(p) = self.path(key) {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn write_private(
    dir: &std::path::Path,
    path: &std::path::Path,
    token: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    use std::io::Write as _;
    let mut f = opts.open(&tmp)?;
    f.write_all(token.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Where a token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obtained {
    /// Kept from an earlier launch: it may have expired.
    Cached,
    Fetched,
}

/// The token kept under `key`, or (none kept, or `refresh`: the kept one
/// was refused, and is forgotten) a new one fetched and kept — the one
/// cache → fetch → forget dance of `dial` and `watch`. `values.token` is
/// left out of the token request.
pub async fn obtain(
    store: &TokenStore,
    key: &str,
    client: &HttpClient,
    spec: &TokenSpec,
    values: &Values,
    fallback: Span,
    refresh: bool,
) -> Result<(crate::config::Secret, Obtained), Failure> {
    if refresh {
        store.forget(key);
    } else if let Some(t) = store.load(key) {
        return Ok((crate::config::Secret::new(t), Obtained::Cached));
    }
    // Copied only to leave out a token it holds.
    let without;
    let values = match values.token {
        Some(_) => {
            without = Values {
                token: None,
                ..values.clone()
            };
            &without
        }
        None => values,
    };
    let fresh = fetch(client, spec, values, fallback).await?;
    store.store(key, &fresh);
    Ok((crate::config::Secret::new(fresh), Obtained::Fetched))
}

/// Sends the token request and reads the token from its answer.
pub async fn fetch(
    client: &HttpClient,
    spec: &TokenSpec,
    values: &Values,
    fallback: Span,
) -> Result<String, Failure> {
    let req =
        request::build(&spec.request, values).map_err(|e| Failure::Config(vec![e.diagnostic]))?;
    let at = req.url_span.unwrap_or(fallback);
    let resp = client.send(&req).await.map_err(|e| {
        let help = match crate::http::next_step(&e, &req.url) {
            Some(step) => format!("nothing was dialled; {step}"),
            None => "nothing was dialled".to_owned(),
        };
        Failure::Network(
            Diagnostic::error(
                Code::TokenUnreachable,
                at,
                format!("the token request failed: {e}"),
            )
            .with_help(help),
        )
    })?;
    if !resp.is_success() {
        return Err(Failure::Refused(
            Diagnostic::error(
                Code::TokenRefused,
                at,
                format!("the token request was refused: HTTP {}", resp.status),
            )
            .with_help(format!("the server answered: {}", resp.body_start())),
        ));
    }
    let (field_span, what) = match &spec.token {
        AnswerField::Json(f) => (f.span(), format!("json field `{}`", f.value)),
        AnswerField::Xml { element, attribute } => match attribute {
            Some(a) => (
                a.span().or(element.span()),
                format!("attribute `{}` of <{}>", a.value, element.value),
            ),
            None => (element.span(), format!("xml element <{}>", element.value)),
        },
        AnswerField::Text => (spec.return_type.span(), "text answer".to_owned()),
    };
    let span = field_span.unwrap_or(at);
    match answer::read(&resp.body, &spec.token) {
        Ok(Some(token)) => {
            crate::redact::register(&token);
            Ok(token)
        }
        Ok(None) => Err(Failure::Config(vec![Diagnostic::error(
            Code::TokenNotFound,
            span,
            format!("no token in the answer: the {what} is absent"),
        )
        .with_help(format!(
            "the answer starts with: {}",
            excerpt(&resp.body, 120)
        ))])),
        Err(e) => Err(Failure::Config(vec![Diagnostic::error(
            Code::TokenNotFound,
            span,
            format!("no token in the answer: {e}"),
        )
        .with_help(format!(
            "the answer starts with: {}",
            excerpt(&resp.body, 120)
        ))])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_private_and_keyed_by_url_and_station() {
        let dir = std::env::temp_dir().join(format!("ctibridge-token-test-{}", std::process::id()));
        let store = TokenStore::at(dir.clone());
        let mut v = Values {
            ident: "desk1".into(),
            ..Values::default()
        };
        let k1 = TokenStore::key("http://h/token", &v);
        v.ident = "desk2".into();
        let k2 = TokenStore::key("http://h/token", &v);
        assert_ne!(k1, k2);
        assert_eq!(store.load(&k1), None);
        store.store(&k1, "abc\n");
        assert_eq!(store.load(&k1).as_deref(), Some("abc"));
        assert_eq!(store.load(&k2), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(&k1))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        }
        store.forget(&k1);
        assert_eq!(store.load(&k1), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
