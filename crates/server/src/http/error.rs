//! The routes' one error type, and its answer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::Duration;

/// Characters of an error's reason a desk is sent at most.
pub(crate) const ANSWER_REASON: usize = 400;

/// Why a route did not do what was asked, as data; [`IntoResponse`]
/// below is the one place that says which status and `{"error": …}`
/// each gets.
#[derive(Debug)]
pub enum ApiError {
    /// A parameter is missing or wrong (400).
    Invalid(String),
    /// No valid bearer token (401).
    NoToken,
    /// `gettoken`: no such desk, or not its secret (401, with the Basic
    /// challenge).
    WrongSecret,
    /// Refused to this address or sender (403).
    Forbidden(&'static str),
    /// A desk asked for a line that is not one of its `<lines>` (403).
    NotYourLine { ident: String, written: String },
    /// What the request names is not set up here (404).
    Off(&'static str),
    /// The body is over [`MAX_BODY`] (413; the connection is closed).
    TooLarge,
    /// Over the address's rate (429).
    TooMany(&'static str),
    /// Several wrong secrets for this desk: a try from here waits this
    /// long yet (429, `Retry-After`).
    Throttled(Duration),
    /// The journal cannot be read (500).
    JournalUnreadable,
    /// The provider side could not place the call.
    DialFailed(DialFailure),
    /// The journal cannot be written at the moment (503, `Retry-After`).
    JournalUnavailable,
    /// Not now: try again (503).
    Busy(&'static str),
    /// A call operation not done (404, 409, 501).
    Control(crate::model::control::ControlError),
}

/// How a dial through the provider failed (the cause's text as the
/// station reads it).
#[derive(Debug)]
pub enum DialFailure {
    /// 400: the number.
    BadNumber(String),
    /// 500: the server's own param file.
    Config(String),
    /// 504: the provider could not be reached.
    Unreachable(String),
    /// 502: the provider refused.
    Refused(String),
}

impl From<&ctibridge_client::failure::Failure> for DialFailure {
    fn from(f: &ctibridge_client::failure::Failure) -> DialFailure {
        use ctibridge_client::failure::Failure;
        let with_help = |d: &ctibridge_lang::diag::Diagnostic| {
            format!("{} ({})", d.message, d.help.clone().unwrap_or_default())
        };
        match f {
            Failure::BadNumber(e) => DialFailure::BadNumber(e.to_string()),
            Failure::Config(_) => DialFailure::Config(f.to_string()),
            Failure::Network(d) => DialFailure::Unreachable(with_help(d)),
            Failure::Refused(d) => DialFailure::Refused(with_help(d)),
        }
    }
}

impl From<crate::infra::holds::Full> for ApiError {
    fn from(f: crate::infra::holds::Full) -> ApiError {
        match f {
            crate::infra::holds::Full::Server => ApiError::Busy(
                "every connection for waiting requests is taken (the rest is kept for notifications and health): try again shortly",
            ),
            crate::infra::holds::Full::Address => {
                ApiError::TooMany("too many waiting requests from this address")
            }
        }
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::DialFailed(DialFailure::BadNumber(_)) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NoToken | ApiError::WrongSecret => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::NotYourLine { .. } => StatusCode::FORBIDDEN,
            ApiError::Off(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooMany(_) | ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::JournalUnreadable | ApiError::DialFailed(DialFailure::Config(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::DialFailed(DialFailure::Refused(_)) => StatusCode::BAD_GATEWAY,
            ApiError::DialFailed(DialFailure::Unreachable(_)) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::JournalUnavailable | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Control(c) => match c {
                crate::model::control::ControlError::NoSuchCall => StatusCode::NOT_FOUND,
                crate::model::control::ControlError::NotNow(_) => StatusCode::CONFLICT,
                crate::model::control::ControlError::Unsupported { .. } => {
                    StatusCode::NOT_IMPLEMENTED
                }
                crate::model::control::ControlError::Provider(_) => StatusCode::BAD_GATEWAY,
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Invalid(m) => f.write_str(m),
            ApiError::NoToken => f.write_str("no valid token"),
            ApiError::WrongSecret => f.write_str("unknown desk or wrong secret"),
            ApiError::Throttled(left) => write!(
                f,
                "too many wrong secrets for this desk: try again in {} s",
                left.as_secs().max(1)
            ),
            ApiError::Forbidden(m)
            | ApiError::Off(m)
            | ApiError::TooMany(m)
            | ApiError::Busy(m) => f.write_str(m),
            ApiError::NotYourLine { ident, written } => write!(
                f,
                "desk {ident} does not have line {written}: see its <lines> in the server file"
            ),
            ApiError::TooLarge => f.write_str("request bodies are at most 16 KB"),
            ApiError::JournalUnreadable => f.write_str("the journal cannot be read"),
            ApiError::DialFailed(
                DialFailure::BadNumber(m)
                | DialFailure::Config(m)
                | DialFailure::Unreachable(m)
                | DialFailure::Refused(m),
            ) => f.write_str(m),
            ApiError::JournalUnavailable => {
                f.write_str("the call journal cannot be written at the moment: send it again later")
            }
            ApiError::Control(c) => write!(f, "{c}"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use axum::http::{header, HeaderValue};
        let status = self.status();
        // What goes back to a desk, a browser or a monitoring client is
        // masked as the log is, then kept short: a desk needs the reason,
        // not a provider's page.
        let said = ctibridge_lang::diag::excerpt(
            &ctibridge_lang::redact::mask(&self.to_string()),
            ANSWER_REASON,
        );
        let mut r = (status, Json(json!({ "error": said }))).into_response();
        let headers = r.headers_mut();
        match self {
            ApiError::WrongSecret => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"ctibridge\""),
                );
            }
            ApiError::JournalUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Throttled(left) => {
                if let Ok(v) = HeaderValue::from_str(&left.as_secs().max(1).to_string()) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::TooLarge => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        r
    }
}

pub(crate) fn too_many() -> ApiError {
    ApiError::TooMany("too many requests from this address")
}
