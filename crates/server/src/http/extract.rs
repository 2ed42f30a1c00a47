//! What a request carries, read once: its query, and the desk and line
//! it is for.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;

use crate::http::error::too_many;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use std::net::SocketAddr;
use std::time::Instant;

/// The query parameters of a request, decoded (a repeated name: the last
/// wins). Read directly from the URI: the routes here take a dozen plain
/// parameters, which a serde extractor would parse several times slower.
pub(crate) struct Params(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Params(
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

pub(crate) fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let v = headers.get("authorization")?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':').unwrap_or((&text, ""));
    (!user.is_empty()).then(|| (user.to_owned(), password.to_owned()))
}

/// The station a bearer token was given to, if it is still valid.
pub(crate) fn authorised(s: &AppState, headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let token = v.strip_prefix("Bearer ")?.trim();
    let mut tokens = s.tokens.lock().unwrap_or_else(|p| p.into_inner());
    tokens.holder(token, Instant::now()).map(str::to_owned)
}

/// This desk, with this token, on this line: what every route of a desk
/// checks first — the address's rate, the bearer token (the desk it was
/// given to), and `telorg`, a line of that desk, in its one identity
/// (E.164: the desk may write it in any form) — and the request's
/// parameters.
pub(crate) struct DeskLine {
    pub(crate) ident: String,
    pub(crate) line: String,
    pub(crate) q: HashMap<String, String>,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for DeskLine {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        within_rate(s, parts)?;
        let Ok(Params(q)) = Params::from_request_parts(parts, s).await;
        let ident = authorised(s, &parts.headers).ok_or(ApiError::NoToken)?;
        DeskLine::of(s, ident, q)
    }
}

/// The request's peer is within the CTI routes' rate (every request
/// has its peer: [`respond`] puts it there).
pub(crate) fn within_rate(
    s: &AppState,
    parts: &axum::http::request::Parts,
) -> Result<(), ApiError> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .ok_or(ApiError::Forbidden("forbidden"))?;
    if s.cti_limit.allow(peer.ip()) {
        Ok(())
    } else {
        Err(too_many())
    }
}

impl DeskLine {
    /// Desk `ident` (proven), on the line `telorg` of `q` names — one of
    /// its own.
    pub(crate) fn of(
        s: &AppState,
        ident: String,
        q: HashMap<String, String>,
    ) -> Result<DeskLine, ApiError> {
        let written = param(&q, "telorg").ok_or_else(|| {
            ApiError::Invalid("telorg is required: the line, a phone number".into())
        })?;
        let line = match ctibridge_client::number::identity(written, &s.opts.country) {
            Ok(line) if is_number(&line) => line,
            Ok(_) => return Err(ApiError::Invalid("telorg: not a line number".into())),
            Err(e) => return Err(ApiError::Invalid(format!("telorg: {e}"))),
        };
        if !s.sees(&ident, &line) {
            tracing::warn!(
                ident,
                line = written,
                "a desk asked for a line that is not its own"
            );
            return Err(ApiError::NotYourLine {
                written: written.to_owned(),
                ident,
            });
        }
        Ok(DeskLine { ident, line, q })
    }
}

/// A phone number or extension as a station sends it: digits, maybe `+`,
/// at most 32 characters.
pub(crate) fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 32 && digits.chars().all(|c| c.is_ascii_digit())
}
