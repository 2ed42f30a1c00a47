//! ctibridge's own requests to a bridge server (`sim call`, the demo).

/// One request of ctibridge's own to a bridge server (`sim call`, the
/// demo), not from a param file.
pub async fn ask_bridge(
    method: ctibridge_lang::config::Method,
    url: String,
    headers: Vec<(String, String)>,
    ca_file: Option<&std::path::Path>,
) -> Result<ctibridge_client::http::HttpResponse, ctibridge_client::http::SendError> {
    use ctibridge_client::http::{ClientOptions, HttpClient};
    let client = HttpClient::new(&ClientOptions {
        ca_file: ca_file.map(|p| p.display().to_string()),
        ..ClientOptions::plain()
    })?;
    let req = ctibridge_client::request::HttpRequest {
        // Not from a section; the field only names one for messages.
        method,
        url,
        headers,
        body: (method != ctibridge_lang::config::Method::Get).then(String::new),
        url_span: None,
    };
    client.send(&req).await
}
