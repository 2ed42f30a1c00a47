//! `<auth>`: the credentials a request carries. Basic and OVH are added
//! before sending; Digest answers the server's 401 challenge.

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

use crate::config::Method;
use crate::request::HttpRequest;

/// `Authorization: Basic …` from user and password.
pub fn basic(req: &mut HttpRequest, user: &str, password: &str) {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    crate::redact::register(&token);
    req.headers
        .push(("Authorization".to_owned(), format!("Basic {token}")));
}

/// The `Authorization` header answering a Digest challenge (RFC 7616:
/// MD5 or SHA-256, qop=auth), or why there is none.
pub fn digest(
    req: &HttpRequest,
    challenges: &[String],
    user: &str,
    password: &str,
) -> Result<String, String> {
    let challenge = challenges
        .iter()
        .find(|c| c.trim_start().to_ascii_lowercase().starts_with("digest"))
        .ok_or_else(|| "the server asked for no Digest authentication".to_owned())?;
    let mut prompt =
        digest_auth::parse(challenge).map_err(|e| format!("bad Digest challenge: {e}"))?;
    let uri = request_uri(&req.url);
    let method = match req.method {
        Method::Get => digest_auth::HttpMethod::GET,
        Method::Put => digest_auth::HttpMethod::PUT,
        Method::Post => digest_auth::HttpMethod::POST,
    };
    let ctx = digest_auth::AuthContext::new_with_method(
        user,
        password,
        uri,
        req.body.as_deref().map(str::as_bytes),
        method,
    );
    let header = prompt
        .respond(&ctx)
        .map(|h| h.to_header_string())
        .map_err(|e| format!("cannot answer the Digest challenge: {e}"))?;
    // The answer proves the password for this nonce: never shown.
    if let Some(answer) = header
        .split("response=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
    {
        crate::redact::register(answer);
    }
    Ok(header)
}

/// Path and query of a URL: what Digest signs.
fn request_uri(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// The OVH API keys of a station.
#[derive(Clone, Debug)]
pub struct OvhKeys<'a> {
    pub app_key: &'a str,
    pub app_secret: &'a str,
    pub consumer_key: &'a str,
}

/// Signs a request as the OVH API wants: `X-Ovh-Signature` = `$1$` + hex
/// SHA-1 of `secret+consumer+METHOD+URL+BODY+timestamp`.
pub fn ovh_sign(req: &mut HttpRequest, keys: &OvhKeys, timestamp: i64) {
    let body = req.body.as_deref().unwrap_or("");
    let material = format!(
        "{}+{}+{}+{}+{}+{}",
        keys.app_secret,
        keys.consumer_key,
        req.method.as_str(),
        req.url,
        body,
        timestamp
    );
    let hash = Sha1::digest(material.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    // A signature replays within OVH's time window: a secret, masked
    // wherever an error page quotes it.
    crate::redact::register(&hex);
    for (name, value) in [
        ("X-Ovh-Application", keys.app_key.to_owned()),
        ("X-Ovh-Consumer", keys.consumer_key.to_owned()),
        ("X-Ovh-Timestamp", timestamp.to_string()),
        ("X-Ovh-Signature", format!("$1${hex}")),
    ] {
        req.headers.push((name.to_owned(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, url: &str, body: Option<&str>) -> HttpRequest {
        HttpRequest {
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body: body.map(str::to_owned),
            url_span: None,
        }
    }

    #[test]
    fn ovh_signature_matches_the_documented_formula() {
        let mut r = req(
            Method::Post,
            "https://eu.api.ovh.com/1.0/telephony/ab-1/line/0033972101010/click2Call",
            Some(r#"{"calledNumber":"0033388202020"}"#),
        );
        let keys = OvhKeys {
            app_key: "AK",
            app_secret: "AS",
            consumer_key: "CK",
        };
        ovh_sign(&mut r, &keys, 1_700_000_000);
        // printf '%s' 'AS+CK+POST+https://…/click2Call+{"calledNumber":"0033388202020"}+1700000000' | sha1sum
        let sig = r
            .headers
            .iter()
            .find(|(n, _)| n == "X-Ovh-Signature")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(sig, "$1$333b1817fa231e42f069f041714df25647315578");
        // An error page quoting it shows it masked: it would replay.
        assert_eq!(
            crate::redact::mask(&format!("X-Ovh-Signature: {sig}")),
            format!("X-Ovh-Signature: $1${}", crate::redact::MASK)
        );
    }

    #[test]
    fn digest_answers_md5_and_sha256_challenges() {
        let r = req(
            Method::Get,
            "https://ssl.keyyo.com/makecall.html?ACCOUNT=33972101010&CALLEE=33388202020",
            None,
        );
        for algo in ["MD5", "SHA-256"] {
            let ch = format!(
                r#"Digest realm="keyyo", qop="auth", algorithm={algo}, nonce="abc123", opaque="xyz""#
            );
            let h = digest(&r, &[ch], "33972101010", "pw").unwrap();
            assert!(h.starts_with("Digest "), "{h}");
            assert!(
                h.contains(r#"uri="/makecall.html?ACCOUNT=33972101010&CALLEE=33388202020""#),
                "{h}"
            );
            assert!(h.contains(r#"username="33972101010""#), "{h}");
            assert!(h.contains("qop=auth"), "{h}");
            assert!(h.contains(&format!("algorithm={algo}")), "{h}");
        }
        assert!(digest(&r, &["Basic realm=\"x\"".into()], "u", "p").is_err());
    }
}
