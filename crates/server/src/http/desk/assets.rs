//! The desk's pages and files: embedded, gzip-compressed once, served
//! under names with their hash.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::http::desk::answers::gzip;
use crate::http::desk::answers::takes_gzip;
use crate::http::desk::answers::{error, secured};
use crate::http::desk::session::me_of;
use crate::http::state::AppState;
use crate::model::ids::hex;

pub(crate) struct Asset {
    /// `desk.js`.
    name: &'static str,
    /// `desk.3f2a9c1e0b.js`.
    hashed: String,
    content_type: &'static str,
    raw: Vec<u8>,
    gzip: Vec<u8>,
}

/// The files of `crates/server/web/`, embedded.
pub(crate) const FILES: &[(&str, &str, &str)] = &[
    (
        "desk.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/desk.css"),
    ),
    // Each page's scripts in one file (one request on a cold load): the
    // texts, what the pages share, the page's own.
    (
        "desk.js",
        "text/javascript; charset=utf-8",
        concat!(
            include_str!("../../../web/i18n.js"),
            "\n",
            include_str!("../../../web/common.js"),
            "\n",
            include_str!("../../../web/desk.js")
        ),
    ),
    (
        "wall.js",
        "text/javascript; charset=utf-8",
        concat!(
            include_str!("../../../web/i18n.js"),
            "\n",
            include_str!("../../../web/common.js"),
            "\n",
            include_str!("../../../web/wall.js")
        ),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_str!("../../../web/icon.svg"),
    ),
];

pub(crate) const PAGES: &[(&str, &str)] = &[
    ("index.html", include_str!("../../../web/index.html")),
    ("wall.html", include_str!("../../../web/wall.html")),
];

pub(crate) struct Assets {
    files: Vec<Asset>,
    pages: Vec<Asset>,
}

pub(crate) fn short_hash(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    hex(&sha1::Sha1::digest(bytes)[..5])
}

pub(crate) fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let files: Vec<Asset> = FILES
            .iter()
            .map(|(name, content_type, text)| {
                let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
                Asset {
                    name,
                    hashed: format!("{stem}.{}.{ext}", short_hash(text.as_bytes())),
                    content_type,
                    raw: text.as_bytes().to_vec(),
                    gzip: gzip(text.as_bytes(), flate2::Compression::best()),
                }
            })
            .collect();
        // The pages name the files by their hashed names.
        let pages = PAGES
            .iter()
            .map(|(name, text)| {
                let mut page = (*text).to_owned();
                for f in &files {
                    page = page.replace(
                        &format!("/desk/assets/{}\"", f.name),
                        &format!("/desk/assets/{}\"", f.hashed),
                    );
                }
                Asset {
                    name,
                    hashed: (*name).to_owned(),
                    content_type: "text/html; charset=utf-8",
                    gzip: gzip(page.as_bytes(), flate2::Compression::best()),
                    raw: page.into_bytes(),
                }
            })
            .collect();
        Assets { files, pages }
    })
}

pub(crate) fn send(a: &Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let gz = takes_gzip(headers);
    let mut r = Response::new(Body::from(if gz { a.gzip.clone() } else { a.raw.clone() }));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gz {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    secured(r)
}

pub(crate) async fn asset(
    axum::extract::Path(file): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let all = assets();
    if let Some(a) = all.files.iter().find(|a| a.hashed == file) {
        return send(a, &headers, "public, max-age=31536000, immutable");
    }
    if let Some(a) = all.files.iter().find(|a| a.name == file) {
        return send(a, &headers, "no-cache");
    }
    error(StatusCode::NOT_FOUND, "no such file")
}

/// The desk's page; with a valid session, what `GET /desk/api/me` would
/// answer is in it (a JSON data block, not a script): the page is usable
/// without waiting for one more request.
pub(crate) async fn desk_page(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let page = &assets().pages[0];
    // Not logged in, the page says so itself (no request answered 401 to
    // learn it), and whether anyone can log in at all.
    let me = match s.session(&headers) {
        Some(session) => me_of(&s, &session).await.to_string(),
        None => json!({ "desks": !s.opts.desks.is_empty() }).to_string(),
    };
    // Nothing in the data can end its element.
    let me = me
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let html = String::from_utf8_lossy(&page.raw).replacen(
        ME_BLOCK,
        &format!("<script id=\"me-data\" type=\"application/json\">{me}</script>"),
        1,
    );
    let personal = Asset {
        name: page.name,
        hashed: String::new(),
        content_type: page.content_type,
        gzip: gzip(html.as_bytes(), flate2::Compression::fast()),
        raw: html.into_bytes(),
    };
    let mut r = send(&personal, &headers, "no-store");
    r.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Cookie"),
    );
    r
}

/// Where the desk's page takes the logged-in desk's data.
pub(crate) const ME_BLOCK: &str = "<script id=\"me-data\" type=\"application/json\"></script>";

pub(crate) async fn wall_page(headers: HeaderMap) -> Response {
    send(&assets().pages[1], &headers, "no-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_name_their_files_by_hash() {
        let a = assets();
        let index = String::from_utf8(a.pages[0].raw.clone()).unwrap();
        let js = a.files.iter().find(|f| f.name == "desk.js").unwrap();
        assert!(
            index.contains(&format!("/desk/assets/{}\"", js.hashed)),
            "{index}"
        );
        assert!(!index.contains("<script>"), "no inline script");
    }

    /// The pages name every live state the server writes, from one table.
    #[test]
    fn the_pages_know_every_live_state() {
        use crate::model::record::LiveState;
        let common = include_str!("../../../web/common.js");
        for s in [
            LiveState::Ringing,
            LiveState::Talking,
            LiveState::Parked,
            LiveState::Ended,
        ] {
            let wire = serde_json::to_value(s).unwrap();
            let wire = wire.as_str().unwrap();
            assert!(
                common.contains(&format!("{wire}: \"")),
                "{wire} is not in LIVE"
            );
        }
        for page in ["desk.js", "wall.js"] {
            let text = match page {
                "desk.js" => include_str!("../../../web/desk.js"),
                _ => include_str!("../../../web/wall.js"),
            };
            for wire in ["\"SETUP\"", "\"CONNECT\"", "\"PARKED\""] {
                assert!(
                    !text.contains(&format!("state === {wire}")),
                    "{page} reads {wire}"
                );
            }
        }
    }
}
