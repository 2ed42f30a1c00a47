//! `$keyword$` expansion. A template is literal text and keywords; each
//! keyword's value is encoded for the place the text goes, so that no
//! number, name or password can change the structure of what is sent.

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::{Secret, Station, Template};
use crate::diag::{Code, Diagnostic};
use crate::param::Part;
use crate::schema::{KeywordDef, KeywordSource};
use crate::source::Span;

/// Where an expanded text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A URL: values are percent-encoded as a query or path component.
    Url,
    /// A body sent as is (`<data>`): values escaped for the content type.
    Body(BodyKind),
    /// A header value: values as is, but never CR, LF or NUL.
    Header,
    /// One word of a command line, or a URI handed to the desktop opener.
    Command,
}

/// How keyword values are escaped inside `<data>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Raw,
    Json,
    Xml,
}

impl BodyKind {
    /// From `<contenttype>`: JSON and XML content types escape values.
    pub fn of_content_type(content_type: &str) -> BodyKind {
        let ct = content_type.to_ascii_lowercase();
        if ct.contains("json") {
            BodyKind::Json
        } else if ct.contains("xml") {
            BodyKind::Xml
        } else {
            BodyKind::Raw
        }
    }
}

/// The values of the keywords for one request.
#[derive(Clone, Debug, Default)]
pub struct Values {
    pub user: String,
    /// Secrets stay [`Secret`]s (never shown by `Debug`) until expanded.
    pub mdp: Secret,
    pub telorg: String,
    pub ident: String,
    /// The number to call, prefix and format applied (`$teldest$`).
    pub teldest: Option<String>,
    /// `$token$`, once fetched.
    pub token: Option<Secret>,
    /// `$event$`: `DIAL` for the dial request, the event's name in a popup.
    pub event: Option<String>,
    /// `$cursor$`: read from the last event answer.
    pub cursor: Option<String>,
    /// `$account$`, `$eventtoken$`: station settings for providers.
    pub account: String,
    pub event_token: Secret,
    /// `$api$`, `$events$`: `<api_url>`, `<events_url>`.
    pub api_url: String,
    pub events_url: String,
    /// `$from$`, `$record$`: `dial --from`, `dial --record`.
    pub from: Option<String>,
    pub record: bool,
    /// `$session$`: the event session's id.
    pub session: Option<String>,
    /// `$message$` (sms), `$profile$` (forward-profile).
    pub message: Option<String>,
    pub profile: Option<String>,
    /// `$tel$`, `$called$`, `$callref$`: the call being popped.
    pub caller: Option<String>,
    /// `$tele164$`, `$tel9$`: the caller looked up, in E.164 and its last
    /// nine digits.
    pub caller_e164: Option<String>,
    pub caller_tail: Option<String>,
    pub called: Option<String>,
    pub callref: Option<String>,
    /// `$name$`: `dial --name`, or the caller looked up.
    pub name: Option<String>,
    /// `$direction$`, `$kind$`, `$state$`… : the finished call reported.
    pub call: Vec<(&'static str, String)>,
    /// `$company$`, and `$record$` in a pop: the caller looked up.
    pub company: Option<String>,
    pub erp_record: Option<String>,
    /// Show secrets as `********` (for `--dry-run` and logs).
    pub masked: bool,
}

/// How secrets are shown.
pub const MASK: &str = "********";

impl Values {
    pub fn from_station(station: &Station) -> Values {
        Values {
            user: station.user.value.clone(),
            mdp: station.mdp.value.clone(),
            telorg: station.telorg.value.clone(),
            ident: station.ident.value.clone(),
            account: station.account.value.clone(),
            event_token: station.event_token.value.clone(),
            ..Values::default()
        }
    }

    /// The station's values and the base addresses of `<global>`, with
    /// `telorg` as the station's line (`$telorg$`): the dial side puts it
    /// in `<number_format>` first (see the client's `dial::values`).
    pub fn from_config(config: &crate::config::Config, telorg: String) -> Values {
        let station = Values::from_station(&config.station);
        Values {
            telorg,
            api_url: config.global.api_url.value.trim_end_matches('/').to_owned(),
            events_url: config
                .global
                .events_url
                .value
                .trim_end_matches('/')
                .to_owned(),
            ..station
        }
    }

    /// The same values with every secret masked.
    pub fn masked(&self) -> Values {
        Values {
            masked: true,
            ..self.clone()
        }
    }

    /// The value of a keyword, `None` when it is unknown here; masked
    /// when it is a secret and these values are [`Values::masked`].
    pub fn get(&self, kw: &KeywordDef) -> Option<String> {
        let value = self.lookup(kw)?;
        Some(if self.masked && kw.secret {
            MASK.to_owned()
        } else {
            value
        })
    }

    fn lookup(&self, kw: &KeywordDef) -> Option<String> {
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        match kw.source {
            KeywordSource::Station("user") => nonempty(&self.user),
            KeywordSource::Station("mdp") => nonempty(self.mdp.expose()),
            KeywordSource::Station("telorg") => nonempty(&self.telorg),
            KeywordSource::Station("ident") => nonempty(&self.ident),
            KeywordSource::Station("account") => nonempty(&self.account),
            KeywordSource::Station("event_token") => nonempty(self.event_token.expose()),
            KeywordSource::Station(_) => None,
            KeywordSource::Dialled => self.teldest.clone(),
            KeywordSource::TokenAnswer => self.token.as_ref().map(|t| t.expose().to_owned()),
            KeywordSource::UserAndPassword => {
                if self.user.is_empty() && self.mdp.is_empty() {
                    None
                } else {
                    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
                        "{}:{}",
                        self.user,
                        self.mdp.expose()
                    ));
                    crate::redact::register(&auth);
                    Some(auth)
                }
            }
            KeywordSource::RequestKind => self.event.clone(),
            // Optional: no name is an empty name, and so on.
            KeywordSource::CalleeName => Some(self.name.clone().unwrap_or_default()),
            KeywordSource::Cursor => Some(self.cursor.clone().unwrap_or_default()),
            KeywordSource::Caller => Some(self.caller.clone().unwrap_or_default()),
            KeywordSource::CallerE164 => Some(self.caller_e164.clone().unwrap_or_default()),
            KeywordSource::CallerTail => Some(self.caller_tail.clone().unwrap_or_default()),
            KeywordSource::CallerIntl => Some(
                self.caller_e164
                    .as_deref()
                    .map(|n| n.trim_start_matches('+').to_owned())
                    .unwrap_or_default(),
            ),
            KeywordSource::Called => Some(self.called.clone().unwrap_or_default()),
            KeywordSource::CallRef => Some(self.callref.clone().unwrap_or_default()),
            KeywordSource::BaseUrl("api_url") => nonempty(&self.api_url),
            KeywordSource::BaseUrl("events_url") => nonempty(&self.events_url),
            KeywordSource::BaseUrl(_) => None,
            KeywordSource::From => Some(self.from.clone().unwrap_or_default()),
            KeywordSource::Company => Some(self.company.clone().unwrap_or_default()),
            KeywordSource::CallField(name) => Some(
                self.call
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            ),
            KeywordSource::Record => Some(match &self.erp_record {
                Some(r) => r.clone(),
                None if self.record => "1".to_owned(),
                None => String::new(),
            }),
            KeywordSource::Message => self.message.clone(),
            KeywordSource::Profile => self.profile.clone(),
            KeywordSource::Session => self.session.clone(),
        }
    }
}

/// A keyword that cannot be expanded, or a value that cannot go where the
/// template puts it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpandError {
    pub diagnostic: Diagnostic,
}

/// RFC 3986 unreserved characters stay; everything else is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Expands `t` for `place`.
pub fn expand(t: &Template, place: Place, values: &Values) -> Result<String, ExpandError> {
    if t.parts.is_empty() {
        return Ok(t.text.clone());
    }
    let mut out = String::with_capacity(t.text.len() + 16);
    for part in &t.parts {
        match part {
            Part::Text(s) => out.push_str(s),
            Part::Keyword { name, span } => {
                let value = keyword_value(name, *span, values)?;
                check_value(&value, name, *span, place)?;
                if values.masked && value == MASK {
                    // Shown, never sent: keep the mask readable.
                    out.push_str(MASK);
                } else if place == Place::Url && is_base_url(name) {
                    // A server's address, checked when the file was read.
                    out.push_str(&value);
                } else {
                    encode_into(&mut out, &value, place);
                }
            }
        }
    }
    Ok(out)
}

fn is_base_url(name: &str) -> bool {
    KeywordDef::is_base_url(name)
}

/// Names of the URL query parameters written `NAME=$kw$` with an optional
/// keyword (`$name$`, `$from$`, `$record$`): left out when the value is empty.
pub fn optional_params(t: &Template) -> Vec<String> {
    let mut names = Vec::new();
    for (i, part) in t.parts.iter().enumerate() {
        let Part::Keyword { name, .. } = part else {
            continue;
        };
        let optional = KeywordDef::lookup(name).is_some_and(|(k, _)| {
            matches!(
                k.source,
                KeywordSource::From
                    | KeywordSource::Record
                    | KeywordSource::CalleeName
                    | KeywordSource::Cursor
            )
        });
        let before = match i.checked_sub(1).map(|j| &t.parts[j]) {
            Some(Part::Text(s)) => s.as_str(),
            _ => continue,
        };
        let ends_param = match t.parts.get(i + 1) {
            None => true,
            Some(Part::Text(s)) => s.starts_with(['&', '#']) || s.trim().is_empty(),
            Some(Part::Keyword { .. }) => false,
        };
        let Some(param) = before.strip_suffix('=') else {
            continue;
        };
        let start = param.rfind(['&', '?']).map_or(0, |p| p + 1);
        if optional && ends_param && start > 0 {
            names.push(param[start..].to_owned());
        }
    }
    names
}

/// `url` without the parameters of `names` whose value is empty.
pub fn drop_empty_params(url: &str, names: &[String]) -> String {
    if names.is_empty() {
        return url.to_owned();
    }
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            !names
                .iter()
                .any(|n| p.strip_prefix(n.as_str()) == Some("="))
        })
        .collect();
    let mut out = base.to_owned();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn keyword_value(name: &str, span: Span, values: &Values) -> Result<String, ExpandError> {
    let Some((kw, _)) = KeywordDef::lookup(name) else {
        return Err(ExpandError {
            diagnostic: Diagnostic::error(
                Code::UnknownKeyword,
                span,
                format!("unknown keyword `${name}$`"),
            ),
        });
    };
    values.get(kw).ok_or_else(|| ExpandError {
        diagnostic: Diagnostic::error(
            Code::KeywordUnset,
            span,
            format!("`${}$` has no value", kw.name),
        )
        .with_help(where_to_set(kw)),
    })
}

/// Where the value of a keyword is set, for an error about it.
pub(crate) fn where_to_set(kw: &KeywordDef) -> String {
    match kw.source {
        KeywordSource::Station(tag) => {
            format!("set `<{tag}>` in the station settings: `<station>` or the user's station.txt")
        }
        KeywordSource::UserAndPassword => {
            "set `<user>` and `<mdp>` in the station settings".to_owned()
        }
        KeywordSource::Dialled => "it is the number to call, known only when dialling".to_owned(),
        KeywordSource::TokenAnswer => {
            "it comes from `<cliktocalltoken>`: set `<with_token>1` there".to_owned()
        }
        KeywordSource::RequestKind => {
            "it is known only in `<cliktocalldial>` and `<popup>`".to_owned()
        }
        KeywordSource::CalleeName => "give it with `dial --name`".to_owned(),
        KeywordSource::Company => {
            "it is known only in `<popup>`, for the caller looked up".to_owned()
        }
        KeywordSource::CallField(_) => {
            "it is known only in `<report>`, for the call reported".to_owned()
        }
        KeywordSource::Cursor => {
            "it is read from event answers with `<json_cursor>` or `<xml_cursor>`".to_owned()
        }
        KeywordSource::Caller => {
            "it is known only in `<popup>` and `<lookup>`, for the call being popped".to_owned()
        }
        KeywordSource::Called | KeywordSource::CallRef => {
            "it is known only in `<popup>`, for the call being popped".to_owned()
        }
        KeywordSource::CallerE164 | KeywordSource::CallerTail | KeywordSource::CallerIntl => {
            "it is known only in `<lookup>`, for the caller looked up".to_owned()
        }
        KeywordSource::BaseUrl(tag) => {
            format!("set `<{tag}>` in `<global>` (a provider profile sets it)")
        }
        KeywordSource::From => "give it with `dial --from NUMBER`".to_owned(),
        KeywordSource::Record => "give it with `dial --record`".to_owned(),
        KeywordSource::Message => "it is the text of `ctibridge sms`".to_owned(),
        KeywordSource::Profile => "it is the name given to `ctibridge forward-profile`".to_owned(),
        KeywordSource::Session => "it is read from the answer of `<session_url>`".to_owned(),
    }
}

fn check_value(value: &str, name: &str, span: Span, place: Place) -> Result<(), ExpandError> {
    let forbidden = match place {
        // Encoded: nothing can break out of a URL component.
        Place::Url => false,
        Place::Header | Place::Command => value.contains(['\r', '\n', '\0']),
        Place::Body(_) => value.contains('\0'),
    };
    if forbidden {
        return Err(ExpandError {
            diagnostic: Diagnostic::error(
                Code::UnsafeValue,
                span,
                format!("the value of `${name}$` holds a line break or NUL byte and cannot be sent here"),
            )
            .with_help("remove the control characters from that setting"),
        });
    }
    Ok(())
}

fn encode_into(out: &mut String, value: &str, place: Place) {
    match place {
        Place::Url => out.extend(utf8_percent_encode(value, COMPONENT)),
        Place::Body(BodyKind::Json) => {
            let quoted = serde_json::Value::String(value.to_owned()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
        Place::Body(BodyKind::Xml) => {
            for c in value.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&apos;"),
                    c => out.push(c),
                }
            }
        }
        Place::Body(BodyKind::Raw) | Place::Header | Place::Command => out.push_str(value),
    }
}

/// `application/x-www-form-urlencoded` encoding, as `<dataencode>` asks
/// (space as `+`).
pub fn form_urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::scan_keywords;
    use crate::source::FileId;

    fn tpl(text: &str) -> Template {
        let span = Span {
            file: FileId(0),
            line: 1,
            col: 1,
            len: text.chars().count() as u32,
        };
        Template {
            text: text.to_owned(),
            parts: scan_keywords(text, span, &mut Vec::new()),
        }
    }

    fn values() -> Values {
        Values {
            user: "paul".into(),
            mdp: Secret::new("p@ss word"),
            telorg: "1003".into(),
            ident: "desk 1&x".into(),
            teldest: Some("0388202020".into()),
            token: Some(Secret::new("t0k\"en")),
            event: Some("DIAL".to_owned()),
            name: None,
            masked: false,
            ..Values::default()
        }
    }

    /// Secrets stay typed until expanded: `Debug` of the values shows
    /// neither the password nor the token.
    #[test]
    fn values_do_not_show_their_secrets_in_debug() {
        let shown = format!("{:?}", values());
        assert!(!shown.contains("p@ss") && !shown.contains("t0k"), "{shown}");
        assert!(shown.contains("paul"), "{shown}");
    }

    #[test]
    fn url_components_are_percent_encoded() {
        let t = tpl("http://h/d?i=$ident$&tel=$teldest$&e=$event$");
        assert_eq!(
            expand(&t, Place::Url, &values()).unwrap(),
            "http://h/d?i=desk%201%26x&tel=0388202020&e=DIAL"
        );
    }

    #[test]
    fn bodies_escape_for_their_content_type() {
        let v = values();
        let json = tpl(r#"{"user":"$user$","pwd":"$mdp$","t":"$token$"}"#);
        assert_eq!(
            expand(&json, Place::Body(BodyKind::Json), &v).unwrap(),
            r#"{"user":"paul","pwd":"p@ss word","t":"t0k\"en"}"#
        );
        let xml = tpl("<a i='$ident$'>$token$</a>");
        assert_eq!(
            expand(&xml, Place::Body(BodyKind::Xml), &v).unwrap(),
            "<a i='desk 1&amp;x'>t0k&quot;en</a>"
        );
        let raw = tpl("i=$ident$");
        assert_eq!(
            expand(&raw, Place::Body(BodyKind::Raw), &v).unwrap(),
            "i=desk 1&x"
        );
        assert_eq!(
            BodyKind::of_content_type("application/json; charset=utf-8"),
            BodyKind::Json
        );
        assert_eq!(BodyKind::of_content_type("text/xml"), BodyKind::Xml);
        assert_eq!(
            BodyKind::of_content_type("application/x-www-form-urlencoded"),
            BodyKind::Raw
        );
    }

    #[test]
    fn auth_is_base64_of_user_and_password() {
        let t = tpl("Basic $auth$");
        assert_eq!(
            expand(&t, Place::Header, &values()).unwrap(),
            "Basic cGF1bDpwQHNzIHdvcmQ="
        );
    }

    #[test]
    fn secrets_are_masked() {
        let t = tpl("$user$:$mdp$ $auth$ $token$");
        assert_eq!(
            expand(&t, Place::Header, &values().masked()).unwrap(),
            "paul:******** ******** ********"
        );
    }

    #[test]
    fn unknown_values_name_the_keyword_and_where_to_set_it() {
        let mut v = values();
        v.ident.clear();
        let e = expand(&tpl("x$ident$"), Place::Url, &v).unwrap_err();
        assert_eq!(e.diagnostic.code, "keyword-unset");
        assert_eq!((e.diagnostic.span.col, e.diagnostic.span.len), (2, 7));
        assert!(e
            .diagnostic
            .help
            .as_deref()
            .unwrap_or("")
            .contains("<ident>"));
        v.token = None;
        assert!(expand(&tpl("$token$"), Place::Url, &v).is_err());
        assert!(expand(&tpl("$token$"), Place::Url, &v.masked()).is_err());
        // A secret with no value is as unset masked (--dry-run) as sent.
        v.mdp = Secret::default();
        assert!(expand(&tpl("$mdp$"), Place::Url, &v).is_err());
        assert!(expand(&tpl("$mdp$"), Place::Url, &v.masked()).is_err());
    }

    #[test]
    fn line_breaks_never_reach_a_header_or_command() {
        let mut v = values();
        v.user = "paul\r\nX-Evil: 1".into();
        for place in [Place::Header, Place::Command] {
            let e = expand(&tpl("u=$user$"), place, &v).unwrap_err();
            assert_eq!(e.diagnostic.code, "unsafe-value");
        }
        assert_eq!(
            expand(&tpl("$user$"), Place::Url, &v).unwrap(),
            "paul%0D%0AX-Evil%3A%201"
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_urlencode("<a b='1'>&é"),
            "%3Ca+b%3D%271%27%3E%26%C3%A9"
        );
    }
}
