//! A request as plain data: method, URL, headers and body, expanded from a
//! request section of the param file. The one HTTP client sends it; `--dry-run`
//! prints it.

use std::fmt::Write as _;

use crate::config::{Method, RequestSpec};
use crate::source::Span;
use crate::template::{
    drop_empty_params, expand, form_urlencode, optional_params, BodyKind, ExpandError, Place,
    Values, MASK,
};

/// What is sent.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// `None` for GET.
    pub body: Option<String>,
    /// The `<url>` line that defined the request, for errors about it.
    pub url_span: Option<Span>,
}

/// Expands a request section. The content type of `<contenttype>` is sent
/// with every PUT or POST unless `<headers>` names one itself.
pub(crate) fn build(spec: &RequestSpec, values: &Values) -> Result<HttpRequest, ExpandError> {
    let method = spec.method.value;
    let url = expand(&spec.url.value, Place::Url, values)?;
    let url = drop_empty_params(url.trim(), &optional_params(&spec.url.value));
    let mut headers = Vec::with_capacity(spec.headers.value.len() + 1);
    for item in &spec.headers.value {
        if is_unset_station_value(&item.value, values) {
            // `Name: $eventtoken$` with no token: the header is left out,
            // as a URL parameter with an optional keyword is.
            continue;
        }
        let template = crate::config::Template {
            text: item.value_text.clone(),
            parts: item.value.clone(),
        };
        let value = expand(&template, Place::Header, values)?;
        if is_secret_header(&item.name) && !values.masked {
            // A secret written literally in the file (`Authorization:
            // Bearer abc…`): masked wherever it could show up later (an
            // answer that quotes it, an error kept in the journal).
            crate::redact::register(&value);
            if let Some((scheme, rest)) = value.split_once(' ') {
                if scheme.chars().all(|c| c.is_ascii_alphabetic()) {
                    crate::redact::register(rest);
                }
            }
        }
        headers.push((item.name.clone(), value));
    }
    let body = match method {
        Method::Get => None,
        Method::Put | Method::Post => {
            let kind = BodyKind::of_content_type(&spec.content_type.value);
            let mut body = expand(&spec.data.value, Place::Body(kind), values)?;
            if !spec.dataencode.value.is_empty() {
                body.push_str(&form_urlencode(&expand(
                    &spec.dataencode.value,
                    Place::Body(BodyKind::Raw),
                    values,
                )?));
            }
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".to_owned(), spec.content_type.value.clone()));
            }
            Some(body)
        }
    };
    Ok(HttpRequest {
        method,
        url,
        headers,
        body,
        url_span: spec.url.span(),
    })
}

/// Whether a header value is one station keyword (`$eventtoken$`) and
/// nothing else, and the station has no value for it.
fn is_unset_station_value(parts: &[crate::param::Part], values: &Values) -> bool {
    use crate::param::Part;
    use crate::schema::{KeywordDef, KeywordSource};
    let mut keywords = parts.iter().filter(|p| match p {
        Part::Text(t) => !t.trim().is_empty(),
        Part::Keyword { .. } => true,
    });
    match (keywords.next(), keywords.next()) {
        (Some(Part::Keyword { name, .. }), None) => {
            KeywordDef::lookup(name).is_some_and(|(k, _)| {
                matches!(k.source, KeywordSource::Station(_)) && values.get(k).is_none()
            })
        }
        _ => false,
    }
}

use crate::redact::is_secret_header;
pub(crate) use crate::redact::mask_url;

impl HttpRequest {
    /// A `GET` of `url`, with no header: a request of ctibridge's own, not
    /// of a section.
    pub fn get(url: String) -> HttpRequest {
        HttpRequest {
            method: crate::config::Method::Get,
            url,
            headers: Vec::new(),
            body: None,
            url_span: None,
        }
    }
}

impl HttpRequest {
    /// The request as text, with secrets masked: keyword secrets must already
    /// be masked in `self` (build it from [`Values::masked`]); literal ones in
    /// secret-looking headers and query parameters are masked here.
    pub fn render_masked(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} {}", self.method.as_str(), mask_url(&self.url));
        for (name, value) in &self.headers {
            let shown = if is_secret_header(name) && !value.is_empty() {
                match value.split_once(' ') {
                    // Keep the scheme: "Basic ********".
                    Some((scheme, _)) if scheme.chars().all(|c| c.is_ascii_alphabetic()) => {
                        format!("{scheme} {MASK}")
                    }
                    _ => MASK.to_owned(),
                }
            } else {
                value.clone()
            };
            let _ = writeln!(out, "{name}: {shown}");
        }
        if let Some(body) = self.body.as_ref().filter(|b| !b.is_empty()) {
            let _ = writeln!(out);
            let _ = writeln!(out, "{body}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::load::check_sources;
    use crate::source::{FileRole, SourceFile, SourceMap, TextEncoding};

    fn dial_request(param: &str, values: &Values) -> Result<HttpRequest, ExpandError> {
        let mut sm = SourceMap::new();
        let p = sm.add(SourceFile::from_text(
            "p.txt".into(),
            FileRole::Param,
            param.into(),
            TextEncoding::Utf8,
        ));
        let mut d = Diagnostics::new();
        let c = check_sources(&mut sm, p, None, &[], &mut d);
        // The station's values are given here, not by a station file.
        let errors = d
            .sorted()
            .into_iter()
            .filter(|x| x.is_error() && x.code != crate::diag::Code::KeywordUnset);
        assert_eq!(errors.count(), 0, "{}", d.render(&sm));
        build(c.config.dial.as_ref().expect("dial"), values)
    }

    fn values() -> Values {
        Values {
            user: "paul".into(),
            mdp: crate::config::Secret::new("secret"),
            teldest: Some("0388202020".into()),
            event: Some("DIAL".to_owned()),
            ..Values::default()
        }
    }

    #[test]
    fn post_with_data_and_dataencode() {
        let r = dial_request(
            "<cliktocalldial>\n<url>http://h/d?tel=$teldest$\n<data>XML=\n<dataencode><call to='$teldest$'/>\n<headers>Authentification=$auth$|Login: x\n",
            &values(),
        )
        .unwrap();
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.url, "http://h/d?tel=0388202020");
        assert_eq!(
            r.body.as_deref(),
            Some("XML=%3Ccall+to%3D%270388202020%27%2F%3E")
        );
        assert_eq!(
            r.headers,
            vec![
                ("Authentification".to_owned(), "cGF1bDpzZWNyZXQ=".to_owned()),
                ("Login".to_owned(), "x".to_owned()),
                (
                    "Content-Type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned()
                ),
            ]
        );
        assert_eq!(r.url_span.map(|s| s.line), Some(2));
    }

    #[test]
    fn get_has_no_body_and_json_is_escaped() {
        let r = dial_request(
            "<cliktocalldial>\n<url>http://h/d\n<methode>GET\n",
            &values(),
        )
        .unwrap();
        assert_eq!((r.body, r.headers.len()), (None, 0));
        let mut v = values();
        v.user = "a\"b".into();
        let r = dial_request(
            "<cliktocalldial>\n<url>http://h/d\n<contenttype>application/json\n<data>{\"u\":\"$user$\",\"n\":\"$teldest$\"}\n<headers>Content-Type: application/json; charset=utf-8\n",
            &v,
        )
        .unwrap();
        assert_eq!(r.body.as_deref(), Some(r#"{"u":"a\"b","n":"0388202020"}"#));
        assert_eq!(
            r.headers,
            vec![(
                "Content-Type".to_owned(),
                "application/json; charset=utf-8".to_owned()
            )]
        );
    }

    #[test]
    fn masked_rendering() {
        let param = "<cliktocalldial>\n<url>http://h/d?tel=$teldest$&token=abc&p=$mdp$\n<headers>Authorization: Basic $auth$|X-Api-Key: literal\n<data>pwd=$mdp$\n";
        let r = dial_request(param, &values().masked()).unwrap();
        assert_eq!(
            r.render_masked(),
            "POST http://h/d?tel=0388202020&token=********&p=********\n\
             Authorization: Basic ********\n\
             X-Api-Key: ********\n\
             Content-Type: application/x-www-form-urlencoded\n\
             \n\
             pwd=********\n"
        );
    }
}
