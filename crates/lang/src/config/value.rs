//! What a value of each [`Kind`] must look like, and its typed form.

use std::time::Duration;

use serde::Serialize;

use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::param::{scan_keywords, Part, Value};
use crate::schema::{Kind, TagDef};
use crate::source::{char_len, Span};

/// HTTP method of a request section (`<methode>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Method {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "POST")]
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// Format of an answer (`<type_return>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReturnType {
    Json,
    Xml,
    Text,
}

impl ReturnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnType::Json => "json",
            ReturnType::Xml => "xml",
            ReturnType::Text => "text",
        }
    }
}

/// How the `<callto>` command is launched (`cmdshellexecute`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launch {
    /// Run as a program with arguments, without a shell.
    Run,
    /// Hand the URI to the desktop's opener.
    Open,
}

/// Which interface places calls (`<interface>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    ClickToCall,
    Callto,
}

impl Interface {
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::ClickToCall => "clicktocall",
            Interface::Callto => "callto",
        }
    }
}

/// How a request authenticates (`<auth>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    None,
    Basic,
    Digest,
    Ovh,
}

impl Auth {
    pub fn as_str(self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Basic => "basic",
            Auth::Digest => "digest",
            Auth::Ovh => "ovh",
        }
    }
}

pub(crate) fn parse_auth(s: &str) -> Result<Auth, KindError> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "none" | "" => Ok(Auth::None),
        "basic" => Ok(Auth::Basic),
        "digest" => Ok(Auth::Digest),
        "ovh" => Ok(Auth::Ovh),
        _ => Err(kind_error(
            Code::BadAuth,
            format!("`{t}` is not an authentication scheme"),
            "write none, basic, digest or ovh",
        )),
    }
}

/// A built-in profile's name.
pub(crate) fn check_provider(s: &str) -> Result<(), KindError> {
    let t = s.trim();
    if crate::profile::lookup(t).is_some() {
        return Ok(());
    }
    let help = crate::profile::help_for_unknown(t);
    Err(kind_error(
        Code::UnknownProvider,
        format!("there is no built-in profile `{t}`"),
        &help,
    ))
}

/// Which event of a call runs the screen pop (`<trigger>` in `<popup>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PopupTrigger {
    /// The first ring or popup event of the call.
    Ring,
    /// The first `<event_popup>` event only.
    Popup,
    /// The call was answered.
    Connect,
}

/// Which finished calls `<report>` sends (`<report_when>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ReportWhen {
    pub made: bool,
    pub received: bool,
    pub missed: bool,
}

impl ReportWhen {
    /// Whether a call of this kind (`made`, `received`, `missed`) is sent.
    pub fn takes(&self, kind: &str) -> bool {
        match kind {
            "made" => self.made,
            "received" => self.received,
            "missed" => self.missed,
            _ => false,
        }
    }

    /// `all`, or the kinds `|`-separated.
    pub fn describe(&self) -> String {
        if self.made && self.received && self.missed {
            return "all".to_owned();
        }
        [
            ("made", self.made),
            ("received", self.received),
            ("missed", self.missed),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join("|")
    }
}

pub(crate) fn parse_report_when(s: &str) -> Result<ReportWhen, KindError> {
    let mut w = ReportWhen {
        made: false,
        received: false,
        missed: false,
    };
    for part in s.split('|').map(str::trim) {
        match part.to_ascii_lowercase().as_str() {
            "all" => {
                w.made = true;
                w.received = true;
                w.missed = true;
            }
            "made" => w.made = true,
            "received" => w.received = true,
            "missed" => w.missed = true,
            _ => {
                return Err(kind_error(
                    Code::BadReportWhen,
                    format!("`{part}` is not a kind of call"),
                    "write all, or some of made, received, missed separated by |",
                ))
            }
        }
    }
    Ok(w)
}

/// The form of `$teldest$` (`<number_format>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberFormat {
    AsDialled,
    National,
    E164,
    /// `33…`
    International,
    /// `0033…`
    International00,
}

pub(crate) fn parse_number_format(s: &str) -> Result<NumberFormat, KindError> {
    let t = s.trim();
    match t
        .to_ascii_lowercase()
        .replace(['-', '_', ' ', '.'], "")
        .as_str()
    {
        "asdialled" | "asdialed" | "" => Ok(NumberFormat::AsDialled),
        "national" => Ok(NumberFormat::National),
        "e164" | "+33" => Ok(NumberFormat::E164),
        "international" | "33" => Ok(NumberFormat::International),
        "international00" | "0033" | "00" => Ok(NumberFormat::International00),
        _ => Err(kind_error(
            Code::BadNumberFormat,
            format!("`{t}` is not a number format"),
            "write asdialled, national, e164, international (33…) or international00 (0033…)",
        )),
    }
}

pub(crate) fn parse_popup_trigger(s: &str) -> Result<PopupTrigger, KindError> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "ring" => Ok(PopupTrigger::Ring),
        "popup" => Ok(PopupTrigger::Popup),
        "connect" => Ok(PopupTrigger::Connect),
        _ => Err(kind_error(
            Code::BadTrigger,
            format!("`{t}` is not an event that can run the screen pop"),
            "write ring (the first ring or popup event), popup or connect",
        )),
    }
}

/// A JSONPath (a field starting with `$`) must parse.
pub(crate) fn check_json_field(s: &str) -> Result<(), KindError> {
    let t = s.trim();
    if !t.starts_with('$') {
        return Ok(());
    }
    jsonpath_rust::parser::parse_json_path(t)
        .map(drop)
        .map_err(|e| {
            kind_error(
                Code::BadJsonpath,
                format!("this JSONPath cannot be read: {}", jsonpath_problem(&e.to_string())),
                "write a field name (`tel`), a dotted path (`data.tel`) or a JSONPath such as `$.data.tel`",
            )
        })
}

/// The parser's multi-line message in one line: "at character 18: expected
/// comparable".
fn jsonpath_problem(message: &str) -> String {
    let column = message
        .split("-->")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pos| pos.split(':').nth(1))
        .and_then(|c| c.parse::<u32>().ok());
    let what = message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("= "))
        .map(str::trim);
    match (column, what) {
        (Some(c), Some(w)) => format!("at character {c}: {w}"),
        (None, Some(w)) => w.to_owned(),
        _ => crate::diag::excerpt(message, 120),
    }
}

fn is_base_url(keyword: &str) -> bool {
    crate::schema::KeywordDef::is_base_url(keyword)
}

/// A page to open: an absolute URL of any scheme once keywords are filled.
pub(crate) fn check_page_url(value: &Value) -> Result<(), KindError> {
    let filled: String = value
        .parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.as_str(),
            Part::Keyword { .. } => "k1",
        })
        .collect();
    match url::Url::parse(filled.trim()) {
        Ok(_) => Ok(()),
        Err(url::ParseError::RelativeUrlWithoutBase) => Err(kind_error(
            Code::BadUrl,
            "this is not an absolute URL".to_owned(),
            "start it with a scheme, e.g. https://erp.example/tiers?tel=$tel$",
        )),
        Err(e) => Err(kind_error(
            Code::BadUrl,
            format!("this cannot be a URL: {e}"),
            "check the server name and port",
        )),
    }
}

pub(crate) fn parse_country(s: &str) -> Result<String, KindError> {
    let t = s.trim();
    if t.len() == 2 && t.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(t.to_ascii_uppercase())
    } else {
        Err(kind_error(
            Code::BadCountry,
            format!("`{t}` is not a country code"),
            "write two letters, such as FR or BE",
        ))
    }
}

/// A value that did not fit its kind.
#[derive(Debug)]
pub struct KindError {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
}

fn kind_error(code: Code, message: String, help: impl Into<String>) -> KindError {
    KindError {
        code,
        message,
        help: Some(help.into()),
    }
}

pub(crate) fn parse_bool(s: &str) -> Result<bool, KindError> {
    match s.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(kind_error(
            Code::BadBool,
            format!("`{other}` is not 0 or 1"),
            "write 1 to turn it on, 0 to turn it off",
        )),
    }
}

/// At most a day: a larger number is a typo for milliseconds, more likely.
pub(crate) const MAX_SECONDS: f64 = 86_400.0;

pub(crate) fn parse_seconds(s: &str) -> Result<Duration, KindError> {
    let t = s.trim();
    let n: f64 = t.replace(',', ".").parse().map_err(|_| {
        kind_error(
            Code::BadNumber,
            format!("`{t}` is not a number of seconds"),
            "write a number such as 1 or 0.5",
        )
    })?;
    if !(0.0..=MAX_SECONDS).contains(&n) || !n.is_finite() {
        return Err(kind_error(
            Code::BadNumber,
            format!("`{t}` seconds is out of range"),
            "a timeout is between 0 and 86400 seconds",
        ));
    }
    Ok(Duration::from_secs_f64(n))
}

/// A whole number, 1 or more.
pub fn parse_count(s: &str) -> Result<u32, KindError> {
    let t = s.trim();
    t.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
        kind_error(
            Code::BadCount,
            format!("`{t}` is not a whole number of 1 or more"),
            "write a number such as 200",
        )
    })
}

/// `<listen>`: an address and a port.
pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr, KindError> {
    let t = s.trim();
    let help = "write an IP address and a port: 127.0.0.1:8082 (this machine), 0.0.0.0:8082 or [::]:8082 (every address)";
    t.parse().map_err(|_| {
        let message = if t.parse::<u16>().is_ok() {
            format!("`{t}` is a port alone: the address to listen on goes before it")
        } else if let Some((host, port)) = t.rsplit_once(':').filter(|(h, p)| {
            p.parse::<u16>().is_ok() && !h.is_empty() && h.parse::<std::net::IpAddr>().is_err()
        }) {
            let local = if host.eq_ignore_ascii_case("localhost") {
                format!(" (`127.0.0.1:{port}` for this machine)")
            } else {
                String::new()
            };
            format!("`{host}` is a name: the address to listen on is an IP address{local}")
        } else {
            format!("`{t}` is not an address and port to listen on")
        };
        kind_error(Code::BadAddress, message, help)
    })
}

/// `<sources>` longer than this is refused before it is compiled: a list
/// of a few dozen addresses is a few hundred characters.
pub(crate) const SOURCES_MAX_CHARS: usize = 4096;

/// The compiled `<sources>` at most (regex's own limit is 10 MB, reached
/// only after hundreds of megabytes of work on a hostile pattern).
pub(crate) const SOURCES_MAX_BYTES: usize = 256 * 1024;

/// `<sources>` compiled, within `SOURCES_MAX_CHARS` and
/// `SOURCES_MAX_BYTES`.
pub fn sources_regex(t: &str) -> Result<regex::Regex, String> {
    if t.chars().count() > SOURCES_MAX_CHARS {
        return Err(format!(
            "it has {} characters; the allowed sources are a list of addresses, at most {SOURCES_MAX_CHARS} characters",
            t.chars().count()
        ));
    }
    regex::RegexBuilder::new(&format!("^(?:{t})$"))
        .size_limit(SOURCES_MAX_BYTES)
        .dfa_size_limit(SOURCES_MAX_BYTES)
        .build()
        .map_err(|e| {
            let why = e.to_string();
            why.lines().last().unwrap_or("").trim().to_owned()
        })
}

/// `<sources>`: a regular expression matched against a whole address.
pub(crate) fn parse_sources(s: &str) -> Result<regex::Regex, KindError> {
    let t = s.trim();
    sources_regex(t).map_err(|last| {
        kind_error(
            Code::BadRegex,
            format!(
                "`{}` is not a regular expression of addresses ({last})",
                crate::diag::excerpt(t, 80)
            ),
            r"write the addresses as the Keyyo manager does: 62\.39\.136\.157|83\.136\.160\.79",
        )
    })
}

pub(crate) fn parse_method(s: &str) -> Result<Method, KindError> {
    let t = s.trim();
    match t.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::Get),
        "PUT" => Ok(Method::Put),
        "POST" => Ok(Method::Post),
        upper => {
            let help = match did_you_mean(upper, ["get", "put", "post"]) {
                Some(m) => format!(
                    "did you mean `{}`? The methods are GET, PUT and POST",
                    m.to_ascii_uppercase()
                ),
                None => "the methods are GET, PUT and POST".to_owned(),
            };
            Err(kind_error(
                Code::BadMethod,
                format!("`{t}` is not a method ctibridge can send"),
                help,
            ))
        }
    }
}

pub(crate) fn parse_return_type(s: &str) -> Result<ReturnType, KindError> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "json" => Ok(ReturnType::Json),
        "xml" => Ok(ReturnType::Xml),
        "text" | "txt" => Ok(ReturnType::Text),
        _ => Err(kind_error(
            Code::BadReturnType,
            format!("`{t}` is not an answer format"),
            "write json, xml or text",
        )),
    }
}

pub(crate) fn parse_launch(s: &str) -> Result<Launch, KindError> {
    let t = s.trim();
    if t.is_empty() {
        Ok(Launch::Run)
    } else if t.eq_ignore_ascii_case("open") {
        Ok(Launch::Open)
    } else {
        Err(kind_error(
            Code::BadShellexecute,
            format!("`{t}` is not a way to launch the command"),
            "write OPEN to hand it to the desktop opener, or leave it empty to run it as a program",
        ))
    }
}

pub(crate) fn parse_interface(s: &str) -> Result<Interface, KindError> {
    let t = s.trim();
    match t.to_ascii_lowercase().replace([' ', '-', '_'], "").as_str() {
        "clicktocall" | "cliktocall" | "clictocall" => Ok(Interface::ClickToCall),
        "callto" | "tel" => Ok(Interface::Callto),
        _ => Err(kind_error(
            Code::BadInterface,
            format!("`{t}` is not an interface"),
            "write clicktocall or callto",
        )),
    }
}

fn check_prefix(s: &str) -> Result<(), KindError> {
    let t = s.trim();
    if t.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '+'))
    {
        Ok(())
    } else {
        Err(kind_error(
            Code::BadPrefix,
            format!("`{t}` is not an outside-line prefix"),
            "a prefix is digits, such as 0",
        ))
    }
}

fn check_xml_name(s: &str) -> Result<(), KindError> {
    let t = s.trim();
    let ok = t
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && t.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(kind_error(
            Code::BadXmlName,
            format!("`{t}` is not an XML name"),
            "write the element or attribute name only, without `<`, `>` or spaces",
        ))
    }
}

/// `|`-separated line names.
pub(crate) fn split_lines(s: &str) -> Vec<String> {
    s.split('|')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One item of `<headers>`, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderItem {
    pub name: String,
    pub name_span: Span,
    /// The value, cut into text and keywords.
    pub value: Vec<Part>,
    pub value_text: String,
}

/// Splits `<headers>` into items. Each item is `Name: value` or
/// `Name=value`, whichever separator comes first; empty items are skipped.
pub(crate) fn split_headers(value: &Value, diags: &mut Vec<Diagnostic>) -> Vec<HeaderItem> {
    let text = value.text.as_str();
    let mut items = Vec::new();
    // Where each piece starts, in characters: counted as the pieces go by
    // (counting from the start of the line each time would be quadratic).
    let mut start_chars = 0;
    for piece in text.split('|') {
        let piece_chars = start_chars;
        start_chars += char_len(piece) + 1;
        let trimmed = piece.trim();
        if trimmed.is_empty() {
            continue;
        }
        let lead = piece.len() - piece.trim_start().len();
        let item_chars = piece_chars + char_len(&piece[..lead]);
        let item_span = value.span.sub(item_chars, char_len(trimmed));
        let Some(sep) = trimmed.find([':', '=']) else {
            diags.push(
                Diagnostic::error(
                    Code::BadHeader,
                    item_span,
                    format!("header `{trimmed}` has no `:` or `=` between name and value"),
                )
                .with_help("write `Name: value` or `Name=value`, items separated by `|`"),
            );
            continue;
        };
        let name = trimmed[..sep].trim_end();
        let name_span = value.span.sub(item_chars, char_len(name).max(1));
        if name.is_empty() || name.contains('$') || !name.chars().all(is_tchar) {
            let help = if name.contains('$') {
                "keywords may be used in a header's value, not in its name"
            } else {
                "a header name is letters, digits and `-`, without spaces"
            };
            diags.push(
                Diagnostic::error(
                    Code::BadHeader,
                    name_span,
                    format!("`{name}` is not a header name"),
                )
                .with_help(help),
            );
            continue;
        }
        let raw_value = &trimmed[sep + 1..];
        let value_text = raw_value.trim();
        let value_lead = raw_value.len() - raw_value.trim_start().len();
        let value_chars =
            item_chars + char_len(&trimmed[..sep + 1]) + char_len(&raw_value[..value_lead]);
        let value_span = value.span.sub(value_chars, char_len(value_text));
        // Keyword problems were reported when the whole value was scanned.
        let parts = scan_keywords(value_text, value_span, &mut Vec::new());
        items.push(HeaderItem {
            name: name.to_owned(),
            name_span,
            value: parts,
            value_text: value_text.to_owned(),
        });
    }
    items
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Checks that a URL template gives an absolute http(s) URL once its
/// keywords are filled with sample values.
pub(crate) fn check_url(value: &Value) -> Result<(), KindError> {
    let filled: String = if value.parts.is_empty() {
        value.text.clone()
    } else {
        value
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                // A base address at the start stands for a whole server.
                Part::Keyword { name, .. } if is_base_url(name) => "http://k1",
                Part::Keyword { .. } => "k1",
            })
            .collect()
    };
    let filled = filled.trim();
    let help_scheme = "start it with http:// or https://, e.g. http://serveurcti:8080/commande";
    match url::Url::parse(filled) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => match u.host_str() {
            Some(h) if !h.is_empty() => Ok(()),
            _ => Err(kind_error(
                Code::BadUrl,
                "this URL names no server".to_owned(),
                help_scheme,
            )),
        },
        Ok(u) => Err(kind_error(
            Code::BadUrl,
            format!(
                "`{}:` URLs cannot be sent; ctibridge speaks http and https",
                u.scheme()
            ),
            help_scheme,
        )),
        Err(url::ParseError::RelativeUrlWithoutBase) => Err(kind_error(
            Code::BadUrl,
            "this is not an absolute URL".to_owned(),
            help_scheme,
        )),
        Err(e) => Err(kind_error(
            Code::BadUrl,
            format!("this cannot be a URL: {e}"),
            "check the server name and port",
        )),
    }
}

/// A type read from the values of one [`Kind`] of tag.
pub trait FromKind: Sized {
    /// The kind of tag it is read from.
    const KIND: Kind;
    fn from_text(text: &str) -> Result<Self, KindError>;
}

/// Declares which type and parser each kind of tag is read with — the one
/// place — as [`FromKind`] impls and as [`check_text`].
macro_rules! read_as {
    ($($kind:ident => $ty:ty = $parse:path,)*) => {
        $(impl FromKind for $ty {
            const KIND: Kind = Kind::$kind;
            fn from_text(text: &str) -> Result<Self, KindError> {
                $parse(text)
            }
        })*

        /// Checks `text` as a value of `kind`, for the kinds read from
        /// their text alone (the others need the value's place: see
        /// [`validate`]); `None` for those.
        pub(crate) fn check_text(kind: Kind, text: &str) -> Option<Result<(), KindError>> {
            match kind {
                $(Kind::$kind => Some($parse(text).map(drop)),)*
                Kind::Country => Some(parse_country(text).map(drop)),
                Kind::Prefix => Some(check_prefix(text)),
                Kind::XmlName => Some(check_xml_name(text)),
                Kind::Provider => Some(check_provider(text)),
                Kind::JsonField => Some(check_json_field(text)),
                Kind::Text | Kind::Template | Kind::LineList => Some(Ok(())),
                Kind::Url | Kind::PageUrl | Kind::BaseUrl | Kind::Headers => None,
            }
        }
    };
}

read_as! {
    Bool => bool = parse_bool,
    Seconds => Duration = parse_seconds,
    Method => Method = parse_method,
    ReturnType => ReturnType = parse_return_type,
    ShellExecute => Launch = parse_launch,
    Interface => Interface = parse_interface,
    NumberFormat => NumberFormat = parse_number_format,
    PopupTrigger => PopupTrigger = parse_popup_trigger,
    ReportWhen => ReportWhen = parse_report_when,
    Auth => Auth = parse_auth,
    Listen => std::net::SocketAddr = parse_listen,
    Regex => regex::Regex = parse_sources,
    Count => u32 = parse_count,
}

/// Checks a set value against its tag's kind. Keyword checks are done
/// later, once it is known which values win.
pub(crate) fn validate(def: &TagDef, value: &Value, diags: &mut Vec<Diagnostic>) {
    let text = value.text.as_str();
    let result = match (def.kind, check_text(def.kind, text)) {
        (_, Some(checked)) => checked,
        (Kind::Url | Kind::BaseUrl, None) => check_url(value),
        (Kind::PageUrl, None) => check_page_url(value),
        (_, None) => {
            split_headers(value, diags);
            Ok(())
        }
    };
    if let Err(e) = result {
        let span = trimmed_span(value);
        let mut d = Diagnostic::error(e.code, span, e.message);
        d.help = e.help;
        diags.push(d);
    }
}

/// The span of a value without its leading white space.
pub fn trimmed_span(value: &Value) -> Span {
    let lead = value.text.len() - value.text.trim_start().len();
    value
        .span
        .sub(char_len(&value.text[..lead]), char_len(value.text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert!(parse_bool(" 1 ").unwrap());
        assert_eq!(parse_bool("yes").unwrap_err().code, "bad-bool");
        assert_eq!(parse_seconds("0,5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_seconds("-1").unwrap_err().code, "bad-number");
        assert_eq!(parse_seconds("NaN").unwrap_err().code, "bad-number");
        assert_eq!(parse_method("post").unwrap(), Method::Post);
        let e = parse_method("POTS").unwrap_err();
        assert!(e.help.unwrap().contains("`POST`"));
        assert_eq!(parse_return_type("XML").unwrap(), ReturnType::Xml);
        assert_eq!(parse_launch("open").unwrap(), Launch::Open);
        assert_eq!(parse_launch("").unwrap(), Launch::Run);
        assert_eq!(
            parse_interface("Clic to call").unwrap(),
            Interface::ClickToCall
        );
        assert!(check_prefix("0").is_ok());
        assert!(check_prefix("0a").is_err());
        assert!(check_xml_name("tel").is_ok());
        assert!(check_xml_name("<tel>").is_err());
        assert_eq!(split_lines(" a | b||"), vec!["a", "b"]);
    }
}
