//! The headers and errors every answer of the browser desk has.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use axum::body::Body;

/// The headers every answer of the browser desk has.
pub(crate) fn secured(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    secured((status, axum::Json(json!({ "error": message.into() }))).into_response())
}

pub(crate) fn redirect(to: &'static str) -> Response {
    secured(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static(to))],
        )
            .into_response(),
    )
}

/// The answer of a CTI route, as the browser desk's.
pub(crate) fn passed(r: Result<Response, crate::http::error::ApiError>) -> Response {
    secured(match r {
        Ok(r) => r,
        Err(e) => e.into_response(),
    })
}

/// Answers shorter than this are sent as they are: gzip would save little.
pub(crate) const COMPRESS_FROM: usize = 1024;

/// `r` gzip-compressed when `gzip` (the browser takes it) and its body is
/// long enough (a history of 200 calls: 63 KB → about 6 KB).
pub(crate) async fn compressed(r: Response, gzip_ok: bool) -> Response {
    if !gzip_ok || r.headers().contains_key(header::CONTENT_ENCODING) {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    // The desk's answers are small; a body past this is not ours to hold.
    let bytes = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the answer could not be read",
            )
        }
    };
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if bytes.len() < COMPRESS_FROM {
        return Response::from_parts(parts, Body::from(bytes));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Response::from_parts(parts, Body::from(gzip(&bytes, flate2::Compression::fast())))
}

/// Whether the request takes gzip-compressed answers.
pub(crate) fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

/// `bytes` gzip-compressed: at `level` (the files once at start: best; a
/// page made for one request: fast).
pub(crate) fn gzip(bytes: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}
