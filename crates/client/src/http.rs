//! The one HTTP client: turns a plain-data [`HttpRequest`] into a real
//! request. Nothing else in ctibridge speaks HTTP as a client.

use std::time::Duration;

use crate::config::{Global, Method};
use crate::diag::excerpt;
use crate::request::{mask_url, HttpRequest};

/// Answers larger than this are cut: a dial or token answer is small.
pub const MAX_BODY: usize = 1 << 20;

/// Connection and time limits, TLS settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// The whole request, answer included.
    pub timeout: Duration,
    /// `<cafile>`: extra trusted authorities (PEM).
    pub ca_file: Option<String>,
    /// `<insecure>1`: no certificate verification.
    pub insecure: bool,
}

impl ClientOptions {
    /// Limits for one-shot requests (dial, token): a dial that has not been
    /// answered in 15 s will not be.
    /// For ctibridge's own requests to a bridge server (`sim call`, the
    /// demo): the one-shot limits, no extra authorities.
    pub fn plain() -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            ca_file: None,
            insecure: false,
        }
    }

    pub fn one_shot(global: &Global) -> ClientOptions {
        if global.insecure.value {
            tracing::warn!("<insecure>1: https certificates are not verified");
        }
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            ca_file: Some(global.cafile.value.clone()).filter(|s| !s.is_empty()),
            insecure: global.insecure.value,
        }
    }
}

/// An answer: status and body (cut at [`MAX_BODY`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
    /// The `WWW-Authenticate` challenges of a 401, for Digest.
    pub www_authenticate: Vec<String>,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first characters of the body, on one line, for an error
    /// message: masked first, then cut (a secret at the cut would show up
    /// to it otherwise).
    pub fn body_start(&self) -> String {
        excerpt(&crate::redact::mask(&self.body), 200)
    }
}

/// Why a request got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The server could not be reached: nothing was sent.
    Connect(String),
    /// No answer in time: the request may have been received.
    Timeout(String),
    /// Anything else after the request left.
    Failed(String),
    /// The client could not be set up (bad `<cafile>`).
    Setup(String),
}

impl SendError {
    /// Whether the request certainly did not reach the server.
    pub fn nothing_sent(&self) -> bool {
        matches!(self, SendError::Connect(_) | SendError::Setup(_))
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(e) => write!(f, "cannot connect: {e}"),
            SendError::Timeout(e) => write!(f, "no answer in time: {e}"),
            SendError::Failed(e) => write!(f, "the request failed: {e}"),
            SendError::Setup(e) => write!(f, "cannot set up the HTTP client: {e}"),
        }
    }
}

pub struct HttpClient {
    client: reqwest::Client,
}

impl HttpClient {
    pub fn new(opts: &ClientOptions) -> Result<HttpClient, SendError> {
        let client = builder(opts)?
            .build()
            .map_err(|e| SendError::Setup(e.to_string()))?;
        Ok(HttpClient { client })
    }

    /// Sends one request, once. Never retries.
    pub async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, SendError> {
        self.send_inner(req, None).await
    }

    /// Like [`HttpClient::send`], with a time limit of its own for the
    /// whole request (an event poll's `<timeout3>`).
    pub async fn send_within(
        &self,
        req: &HttpRequest,
        timeout: Duration,
    ) -> Result<HttpResponse, SendError> {
        self.send_inner(req, Some(timeout)).await
    }

    async fn send_inner(
        &self,
        req: &HttpRequest,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse, SendError> {
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Put => reqwest::Method::PUT,
            Method::Post => reqwest::Method::POST,
        };
        tracing::debug!(method = req.method.as_str(), url = %mask_url(&req.url), "sending");
        let mut rb = self.client.request(method, &req.url);
        if let Some(t) = timeout {
            rb = rb.timeout(t);
        }
        for (name, value) in &req.headers {
            rb = rb.header(name, value);
        }
        if let Some(body) = &req.body {
            rb = rb.body(body.clone());
        }
        let mut resp = rb.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let www_authenticate = resp
            .headers()
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            let room = MAX_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        tracing::debug!(status, "answered");
        Ok(HttpResponse {
            status,
            body,
            www_authenticate,
        })
    }
}

/// A client builder with the limits and TLS settings of `opts`.
fn builder(opts: &ClientOptions) -> Result<reqwest::ClientBuilder, SendError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.timeout)
        .user_agent(concat!("ctibridge/", env!("CARGO_PKG_VERSION")))
        // A redirect could carry credentials elsewhere; a provider that
        // redirects a dial is misconfigured.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(path) = &opts.ca_file {
        let pem = crate::source::read_bounded(
            std::path::Path::new(path),
            crate::source::MAX_PEM,
            "a PEM file",
        )
        .map_err(|e| SendError::Setup(format!("<cafile> {path}: {e}")))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| SendError::Setup(format!("<cafile> {path}: {e}")))?;
        if certs.is_empty() {
            return Err(SendError::Setup(format!(
                "<cafile> {path} holds no PEM certificate"
            )));
        }
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    if opts.insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    Ok(b)
}

/// The certificate `url`'s server shows (DER), once its chain is checked
/// with the trust of `opts` (`doctor`). Any answer will do; the request is
/// a `GET` of `url`.
pub(crate) async fn peer_certificate(
    opts: &ClientOptions,
    url: &str,
) -> Result<Option<Vec<u8>>, SendError> {
    let client = builder(opts)?
        .tls_info(true)
        .build()
        .map_err(|e| SendError::Setup(e.to_string()))?;
    let resp = client.get(url).send().await.map_err(classify)?;
    Ok(resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec))
}

fn classify(e: reqwest::Error) -> SendError {
    // reqwest's message names the URL, which may hold a secret.
    let e = e.without_url();
    let text = plain_tls(error_chain(&e));
    if e.is_connect() {
        SendError::Connect(text)
    } else if e.is_timeout() {
        SendError::Timeout(text)
    } else if e.is_builder() {
        SendError::Setup(text)
    } else {
        SendError::Failed(text)
    }
}

/// A TLS failure (rustls' words, `invalid peer certificate:
/// Other(OtherError(CaUsedAsEndEntity))`) in plain words with what to do;
/// any other text as it is. rustls' own words follow, for a search.
pub(crate) fn plain_tls(text: String) -> String {
    let said = |plain: &str| format!("{plain} (TLS: {text})");
    if text.contains("CaUsedAsEndEntity") {
        said("the server's certificate is a certificate authority's (CA:TRUE), which is refused as a server's own: give the server a certificate with CA:FALSE (`ctibridge check --server` prints a one-line openssl recipe) and name it in <cafile>")
    } else if text.contains("UnknownIssuer") {
        said("the server's certificate is signed by an authority this machine does not trust: name that authority (or the self-signed certificate itself) in <global><cafile>")
    } else if text.contains("certificate expired") || text.contains("Expired") {
        said("the server's certificate has expired: renew it on the server (it takes the new files without a restart), or check this machine's clock")
    } else if text.contains("not valid yet") || text.contains("NotValidYet") {
        said("the server's certificate is not valid yet: check this machine's clock and the server's")
    } else if text.contains("not valid for name") || text.contains("NotValidForName") {
        said("the server's certificate is not made for the name in the URL: use a name it lists (its subjectAltName), or make it for this one")
    } else if text.contains("invalid peer certificate") {
        said("the server's certificate was refused")
    } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
        said("the server does not speak HTTPS on this port: write the URL with http://, or check the port")
    } else {
        text
    }
}

/// What to do when `e` kept a request to `url` from leaving, beyond what
/// its message says: nothing listens there (a bridge server not started).
pub(crate) fn next_step(e: &SendError, url: &str) -> Option<&'static str> {
    let SendError::Connect(text) = e else {
        return None;
    };
    if !text.contains("refused") || text.contains("(TLS: ") {
        return None;
    }
    Some(if url.contains("/DhDivaltoServerCTI/") {
        "nothing listens there: start the bridge server (`ctibridge serve`, or `ctibridge serve --sim` to try without a provider); `ctibridge doctor` checks the whole chain"
    } else {
        "nothing listens at that address: check the URL's host and port, and that the service runs"
    })
}

/// The innermost cause says what happened ("Connection refused"); the
/// outer ones only that "error sending request".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msgs = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        msgs.push(s.to_string());
        cur = s.source();
    }
    msgs.dedup();
    msgs.pop().unwrap_or_default()
}
