//! The validated configuration: the param files' syntax trees, layered
//! (profile, then `clicktocall_param.txt`, then `station.txt`), checked
//! against the table of [`crate::schema`] and turned into typed values that
//! remember where they came from.

pub mod value;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub(crate) use value::HeaderItem;
pub use value::{
    Auth, Interface, Launch, Method, NumberFormat, PopupTrigger, ReportWhen, ReturnType,
};

use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::param::tapi::{select_line, TapiFile, DEFAULT_CONNECTOR};
use crate::param::{keyword_names, Entry, EntryForm, ParamFile, Part, Value};
use crate::schema::{Field, KeywordDef, KeywordSource, Section, Tag, TagDef, TAGS};
use crate::source::{FileId, Span};
use value::{split_headers, KindError};

/// Where an effective value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The table's default: the tag is absent or empty everywhere.
    Default,
    /// The value line at this span.
    File(Span),
}

/// A typed value and its origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    pub fn is_default(&self) -> bool {
        self.origin == Origin::Default
    }

    pub fn span(&self) -> Option<Span> {
        match self.origin {
            Origin::File(s) => Some(s),
            Origin::Default => None,
        }
    }
}

/// A password or other secret: never shown by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret value, registered to be masked in everything printed or
    /// logged from now on ([`crate::redact`]).
    pub fn new(s: impl Into<String>) -> Secret {
        let s = s.into();
        crate::redact::register(&s);
        Secret(s)
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"********\""
        })
    }
}

/// A value with `$keywords$`, ready for expansion.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub text: String,
    pub parts: Vec<Part>,
}

impl Template {
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    fn from_value(v: &Value) -> Template {
        Template {
            text: v.text.clone(),
            parts: v.parts.clone(),
        }
    }
}

/// `<global>`.
#[derive(Clone, Debug)]
pub struct Global {
    pub timeout1: Setting<Duration>,
    pub timeout2: Setting<Duration>,
    pub timeout3: Setting<Duration>,
    pub event_ring: Setting<String>,
    pub event_popup: Setting<String>,
    pub event_connect: Setting<String>,
    pub event_release: Setting<String>,
    pub event_missed: Setting<String>,
    pub event_dial: Setting<String>,
    pub noshowwindow: Setting<bool>,
    pub debug: Setting<bool>,
    pub cafile: Setting<String>,
    pub insecure: Setting<bool>,
    pub number_format: Setting<NumberFormat>,
    pub country: Setting<String>,
    pub provider: Setting<String>,
    pub api_url: Setting<String>,
    pub events_url: Setting<String>,
}

/// A request section: `<cliktocalldial>`, `<cliktocallevent>` or `<cliktocalltoken>`.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    pub section: Section,
    pub url: Setting<Template>,
    pub method: Setting<Method>,
    pub data: Setting<Template>,
    pub dataencode: Setting<Template>,
    pub headers: Setting<Vec<HeaderItem>>,
    pub content_type: Setting<String>,
    pub auth: Setting<Auth>,
    /// `<success_body>`: the exact answer of a success; empty: any 2xx.
    pub success_body: Setting<String>,
    /// `<retry_body>`: texts of a refusal that placed nothing.
    pub retry_body: Setting<Vec<String>>,
    pub min_interval: Setting<Duration>,
}

/// Where a value is read in an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum AnswerField {
    /// `json_*`: a field name, dotted path or JSONPath.
    Json(Setting<String>),
    /// `xml_*`: an element, or an attribute of it.
    Xml {
        element: Setting<String>,
        attribute: Option<Setting<String>>,
    },
    /// The whole text answer.
    Text,
}

impl AnswerField {
    /// What the field reads, for messages: "json field `tel`".
    pub fn describe(&self) -> String {
        match self {
            AnswerField::Json(f) => format!("json field `{}`", f.value),
            AnswerField::Xml {
                element,
                attribute: None,
            } => format!("xml element <{}>", element.value),
            AnswerField::Xml {
                element,
                attribute: Some(a),
            } => format!("attribute `{}` of xml element <{}>", a.value, element.value),
            AnswerField::Text => "the whole text".to_owned(),
        }
    }

    /// The tag that names the field, for a diagnostic about it.
    pub fn span(&self) -> Option<Span> {
        match self {
            AnswerField::Json(f) => f.span(),
            AnswerField::Xml { element, attribute } => {
                attribute.as_ref().and_then(|a| a.span()).or(element.span())
            }
            AnswerField::Text => None,
        }
    }
}

/// `<cliktocallevent>` with `<with_event>1`.
#[derive(Clone, Debug)]
pub struct EventSpec {
    pub request: RequestSpec,
    pub return_type: Setting<ReturnType>,
    pub tel: AnswerField,
    pub event: AnswerField,
    /// `<json_events>` / `<xml_events>`: where the events of an answer that
    /// holds several are.
    pub events: Option<Setting<String>>,
    /// `<json_callid>` / `<xml_callid>`.
    pub callid: Option<AnswerField>,
    /// `<json_time>` / `<xml_time>`: when the event happened.
    pub time: Option<AnswerField>,
    /// `<json_line>` / `<xml_line>`: the line an event is for (the relay).
    pub line: Option<AnswerField>,
    /// `<json_called>` / `<xml_called>`.
    pub called: Option<AnswerField>,
    /// `<json_cursor>` / `<xml_cursor>`: sent back as `$cursor$`.
    pub cursor: Option<AnswerField>,
    /// `<json_name>`, `<json_company>`, `<json_record>` (or their xml
    /// forms): who the caller is, as a bridge server looked it up.
    pub name: Option<AnswerField>,
    pub company: Option<AnswerField>,
    pub record: Option<AnswerField>,
    /// `<tel_format>`: the form of the numbers of events.
    pub tel_format: Setting<NumberFormat>,
    /// `<session_url>` and its companions.
    pub session: Option<SessionSpec>,
}

/// An event session (OVH events v2): made, subscribed, polled, remade.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    pub url: Setting<Template>,
    /// `<json_session>`.
    pub id_field: Setting<String>,
    pub subscribe: Option<Setting<Template>>,
    /// `<session_lost>`.
    pub lost: Vec<String>,
}

/// `<popup>`: the screen pop.
#[derive(Clone, Debug)]
pub struct PopupSpec {
    pub command: Option<Setting<Template>>,
    pub open_url: Option<Setting<Template>>,
    pub notify: Setting<bool>,
    pub trigger: Setting<PopupTrigger>,
}

/// `<cliktocalltoken>` with `<with_token>1`.
#[derive(Clone, Debug)]
pub struct TokenSpec {
    pub request: RequestSpec,
    pub return_type: Setting<ReturnType>,
    pub token: AnswerField,
}

/// `<callto>`.
#[derive(Clone, Debug)]
pub struct CalltoSpec {
    pub cmd: Setting<Template>,
    pub launch: Setting<Launch>,
}

/// This desk's settings: `<station>` and `station.txt`.
/// `<lookup>`: where a caller's name comes from.
#[derive(Clone, Debug)]
pub enum LookupSource {
    /// `<directory>`: a vCard or CSV file.
    Directory(Setting<String>),
    /// A web request whose answer gives the name, company and record.
    Request(Box<LookupRequest>),
}

/// `<lookup>`'s web request and where its answer holds each value.
#[derive(Clone, Debug)]
pub struct LookupRequest {
    pub request: RequestSpec,
    pub return_type: Setting<ReturnType>,
    pub name: Option<AnswerField>,
    pub company: Option<AnswerField>,
    pub record: Option<AnswerField>,
}

/// `<report>`, checked.
#[derive(Clone, Debug)]
pub struct ReportSpec {
    pub request: RequestSpec,
    /// `<report_when>`.
    pub when: Setting<ReportWhen>,
}

/// `<lookup>`, checked.
#[derive(Clone, Debug)]
pub struct LookupSpec {
    pub source: LookupSource,
    /// `<lookup_timeout>`.
    pub timeout: Setting<Duration>,
    /// `<lookup_cache>`: how long a name found is kept.
    pub cache: Setting<Duration>,
    /// `<lookup_parallel>`: requests to the ERP at once, at most.
    pub parallel: Setting<u32>,
}

#[derive(Clone, Debug)]
pub struct Station {
    pub user: Setting<String>,
    pub mdp: Setting<Secret>,
    /// `<telorg>`, or else the line selected by the line-name model.
    pub telorg: Setting<String>,
    pub telorg_from_line: bool,
    pub ident: Setting<String>,
    pub prefix: Setting<String>,
    pub lines: Setting<Vec<String>>,
    /// Index in `lines` of the line the tapi model selects.
    pub selected_line: Option<usize>,
    pub account: Setting<String>,
    pub event_token: Setting<Secret>,
    pub app_key: Setting<String>,
    pub app_secret: Setting<Secret>,
    pub consumer_key: Setting<Secret>,
}

impl Station {
    /// The value of a station tag that a keyword reads (`user`, `mdp`,
    /// `telorg`, `ident`) and where it comes from; `None` for other tags.
    pub fn keyword_value(&self, tag: &str) -> Option<(&str, Origin)> {
        match tag {
            "user" => Some((self.user.value.as_str(), self.user.origin)),
            "mdp" => Some((self.mdp.value.expose(), self.mdp.origin)),
            "telorg" => Some((self.telorg.value.as_str(), self.telorg.origin)),
            "ident" => Some((self.ident.value.as_str(), self.ident.origin)),
            "account" => Some((self.account.value.as_str(), self.account.origin)),
            "event_token" => Some((self.event_token.value.expose(), self.event_token.origin)),
            _ => None,
        }
    }
}

/// `tapi_param.txt`, global and local merged.
#[derive(Clone, Debug)]
pub struct Tapi {
    pub model: Setting<String>,
    /// Global parameters first, then local ones; a local one replaces a
    /// global one of the same name in place.
    pub params: Vec<(String, String, Span)>,
    pub connector: Setting<String>,
}

/// A `$keyword$` written in a value.
#[derive(Clone, Debug)]
pub struct KeywordUse {
    pub keyword: &'static KeywordDef,
    pub section: Section,
    pub span: Span,
}

/// Everything a run needs, checked.
#[derive(Clone, Debug)]
pub struct Config {
    pub global: Global,
    pub interface: Setting<Interface>,
    /// Why that interface, when it was not set explicitly.
    pub interface_reason: &'static str,
    pub dial: Option<RequestSpec>,
    pub event: Option<EventSpec>,
    pub token: Option<TokenSpec>,
    pub callto: Option<CalltoSpec>,
    pub popup: Option<PopupSpec>,
    /// `<sms>`, when it has a `<url>`.
    pub sms: Option<RequestSpec>,
    /// `<forward>`, when it has a `<url>`.
    pub forward: Option<RequestSpec>,
    /// `<lookup>`: who a caller is.
    pub lookup: Option<LookupSpec>,
    /// `<report>`: each finished call written back.
    pub report: Option<ReportSpec>,
    pub station: Station,
    pub tapi: Tapi,
    pub keyword_uses: Vec<KeywordUse>,
}

impl Config {
    /// Whether a request of `section` sends the keyword `name`.
    pub fn sends(&self, name: &str, section: Section) -> bool {
        self.keyword_uses
            .iter()
            .any(|u| u.keyword.name == name && u.section == section)
    }
}

/// A set value of a tag, in one of the layered files.
#[derive(Clone, Debug)]
pub struct SetValue {
    pub def: &'static TagDef,
    pub section: Section,
    pub entry: Entry,
}

/// All set values of all layers, by section and tag: the last one of a
/// (section, tag) wins. Empty values set nothing.
#[derive(Debug, Default)]
pub struct Settings {
    values: BTreeMap<(Section, &'static str), Vec<SetValue>>,
    headers: BTreeMap<Section, Span>,
}

impl Settings {
    /// The winning value of a tag, if any layer sets it.
    /// `None` too when `tag` is not a tag of `section`.
    pub fn effective(&self, section: Section, tag: Tag) -> Option<&SetValue> {
        self.winner(section, tag.def(section)?)
    }

    /// [`Settings::effective`] for the configuration's own reads, which
    /// name only tags of the section.
    fn read(&self, section: Section, tag: Tag) -> Option<&SetValue> {
        self.winner(section, Settings::row(section, tag)?)
    }

    fn winner(&self, section: Section, def: &TagDef) -> Option<&SetValue> {
        self.values.get(&(section, def.name)).and_then(|v| v.last())
    }

    /// The row of `tag` in `section`: a tag the code reads in a section
    /// it is not a tag of is a bug, caught by any test that reads it.
    fn row(section: Section, tag: Tag) -> Option<&'static TagDef> {
        let def = tag.def(section);
        debug_assert!(def.is_some(), "<{tag}> is no tag of <{}>", section.name());
        def
    }

    /// Every set value of a tag, lowest layer first.
    pub fn all(&self, section: Section, tag: Tag) -> &[SetValue] {
        Settings::row(section, tag)
            .and_then(|def| self.values.get(&(section, def.name)))
            .map_or(&[], |v| v.as_slice())
    }

    /// Whether a file has the section's header or sets one of its tags.
    pub fn has_section(&self, section: Section) -> bool {
        self.headers.contains_key(&section) || self.values.keys().any(|(s, _)| *s == section)
    }

    /// The first header of a section.
    pub fn header(&self, section: Section) -> Option<Span> {
        self.headers.get(&section).copied()
    }

    fn text(&self, section: Section, tag: Tag) -> Setting<String> {
        self.typed_with(section, tag, |s| Ok(s.trim().to_owned()))
    }

    fn template(&self, section: Section, tag: Tag) -> Setting<Template> {
        match self.read(section, tag) {
            Some(v) => Setting {
                value: Template::from_value(&v.entry.value),
                origin: Origin::File(v.entry.value.span),
            },
            None => Setting {
                value: Template {
                    text: String::new(),
                    parts: Vec::new(),
                },
                origin: Origin::Default,
            },
        }
    }

    /// The value of a tag read as its kind's type ([`value::FromKind`]).
    fn typed<T: value::FromKind>(&self, section: Section, tag: Tag) -> Setting<T> {
        debug_assert!(
            Settings::row(section, tag).is_none_or(|d| d.kind == T::KIND),
            "<{tag}> is not read as {:?}",
            T::KIND
        );
        self.typed_with(section, tag, T::from_text)
    }

    /// The value of a tag read with `parse`; its default when unset or
    /// invalid (invalid values were reported when they were read).
    fn typed_with<T>(
        &self,
        section: Section,
        tag: Tag,
        parse: impl Fn(&str) -> Result<T, KindError>,
    ) -> Setting<T> {
        if let Some(v) = self.read(section, tag) {
            if let Ok(value) = parse(&v.entry.value.text) {
                return Setting {
                    value,
                    origin: Origin::File(v.entry.value.span),
                };
            }
        }
        let default = Settings::row(section, tag).map_or("", |d| d.default);
        Setting {
            value: parse(default).unwrap_or_else(|_| {
                panic!("default of <{tag}> in <{}> must parse", section.name())
            }),
            origin: Origin::Default,
        }
    }

    fn is_set(&self, section: Section, tag: Tag) -> bool {
        self.read(section, tag).is_some()
    }

    fn span_of(&self, section: Section, tag: Tag) -> Option<Span> {
        self.read(section, tag).map(|v| v.entry.value.span)
    }
}

/// The inputs of [`build`], in layer order.
pub(crate) struct Inputs<'a> {
    /// Param files, lowest priority first: profile, `clicktocall_param.txt`,
    /// `station.txt`. Their value lines move into [`Settings`].
    pub params: Vec<ParamFile>,
    /// `tapi_param.txt`: global, then local.
    pub tapi: Vec<&'a TapiFile>,
    /// The file that "no interface" problems are reported against.
    pub main_file: FileId,
    /// Each request brings its own line (the bridge server's `setevent`
    /// telorg): `$telorg$` needs no `<telorg>` in the files.
    pub line_per_request: bool,
}

/// The outcome of checking: the configuration (meaningful when
/// `diagnostics` has no error) and the layered values behind it.
pub struct Checked {
    pub config: Config,
    pub settings: Settings,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks the parsed files and builds the configuration. Never fails:
/// problems become diagnostics.
pub(crate) fn build(inputs: Inputs) -> Checked {
    let mut diags = Vec::new();
    let mut inputs = inputs;
    let settings = collect(std::mem::take(&mut inputs.params), &mut diags);
    let config = typed_config(&settings, &inputs, &mut diags);
    Checked {
        config,
        settings,
        diagnostics: diags,
    }
}

/// Pass 1: places every value line in its section, reports misplaced,
/// unknown and repeated tags, and checks each value against its kind.
fn collect(files: Vec<ParamFile>, diags: &mut Vec<Diagnostic>) -> Settings {
    let mut settings = Settings::default();
    for file in files {
        for block in file.blocks {
            if let (Some(h), Some(s)) = (&block.header, block.section) {
                if s.def().server {
                    diags.push(
                        Diagnostic::error(
                            Code::ServerSection,
                            h.span,
                            format!("`<{}>` is a section of the bridge server's file", s.name()),
                        )
                        .with_help("it belongs in server_param.txt, read by `ctibridge serve --server FILE`; its lines here are ignored"),
                    );
                    continue;
                }
                settings.headers.entry(s).or_insert(h.span);
            }
            for entry in block.entries {
                place(&mut settings, block.section, entry, diags);
            }
        }
    }
    settings
}

/// Problems in a file past which no "did you mean" is looked for.
const SUGGEST_WITHIN: usize = 200;

/// The warning for a tag `section` does not know (it is ignored), with a
/// "did you mean" among that section's tags when one is close; whether
/// one was.
pub(crate) fn unknown_tag(section: Section, entry: &Entry) -> (Diagnostic, bool) {
    let name = entry.name.as_str();
    let here = TAGS
        .iter()
        .filter(|t| t.sections.contains(&section))
        .map(|t| t.name);
    let d = Diagnostic::warning(
        Code::UnknownTag,
        entry.name_span,
        format!(
            "unknown tag `<{name}>` in `<{}>` is ignored",
            section.name()
        ),
    );
    match did_you_mean(name, here) {
        Some(guess) => (d.with_help(format!("did you mean `<{guess}>`?")), true),
        None => (d, false),
    }
}

/// Where a value line may be written in a file: `key=value` lines are
/// read in `<callto>` and `<station>` of a desk's file, and in every
/// section of the bridge server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Desk,
    Server,
}

/// The row a value line sets, its value checked against the row's kind;
/// `None` (reported) for a line outside a section, a misplaced or unknown
/// tag, a `key=value` line where it is not read, and an empty value. The
/// one check of a value line, for a desk's files and the server's.
pub fn row_of(
    section: Option<Section>,
    entry: &Entry,
    file: FileKind,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'static TagDef> {
    let name = entry.name.as_str();
    let homes = || {
        let mut v: Vec<&str> = TagDef::lookup_any(name)
            .flat_map(|d| d.sections.iter().map(|s| s.name()))
            .collect();
        v.dedup();
        v.iter()
            .map(|s| format!("`<{s}>`"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let Some(section) = section else {
        let mut d = Diagnostic::error(
            Code::TagOutsideSection,
            entry.name_span,
            format!("`<{name}>` comes before any section header"),
        );
        d = if TagDef::lookup_any(name).next().is_some() {
            d.with_help(format!("put it under {}", homes()))
        } else {
            d.with_help("a param file starts with a section header such as `<global>`")
        };
        diags.push(d);
        return None;
    };
    if entry.form == EntryForm::KeyValue
        && file == FileKind::Desk
        && !matches!(section, Section::Callto | Section::Station)
    {
        diags.push(
            Diagnostic::warning(
                Code::KeyValueForm,
                entry.name_span,
                format!("`{name}=` lines are read only in `<callto>`; this line is ignored"),
            )
            .with_help(format!("write `<{name}>{}`", entry.value.text.trim())),
        );
        return None;
    }
    let Some(def) = TagDef::lookup(section, name) else {
        if TagDef::lookup_any(name).next().is_some() {
            diags.push(
                Diagnostic::error(
                    Code::WrongSection,
                    entry.name_span,
                    format!("`<{name}>` does not belong in `<{}>`", section.name()),
                )
                .with_help(match file {
                    FileKind::Desk => format!("move it under {}", homes()),
                    // A server section takes a handful of tags: say which.
                    FileKind::Server => format!(
                        "`<{}>` takes: {}",
                        section.name(),
                        TAGS.iter()
                            .filter(|t| t.sections.contains(&section))
                            .map(|t| format!("`<{}>`", t.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            );
            return None;
        }
        // A file of hundreds of problems is no slip of the pen: past
        // [`SUGGEST_WITHIN`] problems, no "did you mean" is looked for (a
        // megabyte of unknown tags is checked in well under a second).
        if diags.len() >= SUGGEST_WITHIN {
            diags.push(Diagnostic::warning(
                Code::UnknownTag,
                entry.name_span,
                format!(
                    "unknown tag `<{name}>` in `<{}>` is ignored",
                    section.name()
                ),
            ));
            return None;
        }
        let (mut d, guessed) = unknown_tag(section, entry);
        // Otherwise: a close tag of another section, or the usual slip in
        // a request section.
        let elsewhere = (!guessed)
            .then(|| did_you_mean(name, TAGS.iter().map(|t| t.name)))
            .flatten();
        if let Some(guess) = elsewhere {
            let sections = TagDef::lookup_any(guess)
                .flat_map(|d| d.sections)
                .map(|s| format!("`<{}>`", s.name()))
                .collect::<Vec<_>>()
                .join(" or ");
            d = d.with_help(format!(
                "did you mean `<{guess}>`? It belongs in {sections}"
            ));
        } else if !guessed && section.is_request() {
            d = d.with_help(
                "a value is the rest of its line: a body or header list is written on one line",
            );
        }
        diags.push(d);
        return None;
    };
    if !entry.value.is_set() {
        return None;
    }
    value::validate(def, &entry.value, diags);
    Some(def)
}

/// Layers a value line of a desk's files into `settings` (a repeat in
/// the same file warned about).
fn place(
    settings: &mut Settings,
    section: Option<Section>,
    entry: Entry,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(def) = row_of(section, &entry, FileKind::Desk, diags) else {
        return;
    };
    let Some(section) = section else {
        return;
    };
    let list = settings.values.entry((section, def.name)).or_default();
    if let Some(prev) = list.last() {
        if prev.entry.value.span.file == entry.value.span.file {
            diags.push(
                Diagnostic::warning(
                    Code::DuplicateTag,
                    entry.name_span,
                    format!(
                        "`<{}>` is set twice in `<{}>`; the last one wins",
                        def.name,
                        section.name()
                    ),
                )
                .with_help(format!("first set at line {}", prev.entry.name_span.line)),
            );
        }
    }
    list.push(SetValue {
        def,
        section,
        entry,
    });
}

/// Pass 2: typed values and the checks that need several of them.
fn typed_config(s: &Settings, inputs: &Inputs, diags: &mut Vec<Diagnostic>) -> Config {
    let (tapi, main_file) = (&inputs.tapi[..], inputs.main_file);
    use Section::{Callto, Dial, Event, Token};
    let global = global(s);
    let tapi = merge_tapi(tapi);
    let station = station(s, &tapi);
    check_line_model(&station, &tapi, diags);

    let with_event = s.typed::<bool>(Event, Tag::WITH_EVENT);
    let with_token = s.typed::<bool>(Token, Tag::WITH_TOKEN);
    let dial = s.is_set(Dial, Tag::URL).then(|| request(s, Dial));
    let sms = s
        .is_set(Section::Sms, Tag::URL)
        .then(|| request(s, Section::Sms));
    let forward = s
        .is_set(Section::Forward, Tag::URL)
        .then(|| request(s, Section::Forward));
    let callto = s.is_set(Callto, Tag::CMD).then(|| CalltoSpec {
        cmd: s.template(Callto, Tag::CMD),
        launch: s.typed(Callto, Tag::CMDSHELLEXECUTE),
    });

    let (interface, interface_reason) = choose_interface(
        s,
        dial.is_some(),
        callto.is_some(),
        with_event.value
            || s.header(Section::Lookup).is_some()
            || s.header(Section::Report).is_some(),
        main_file,
        diags,
    );
    if interface.value == Interface::Callto && dial.is_none() {
        if let Some(h) = s.header(Dial) {
            diags.push(
                Diagnostic::warning(
                    Code::MissingTag,
                    h,
                    "`<cliktocalldial>` has no `<url>`, so it is not used",
                )
                .with_help("add `<url>` with the dial command of the telephony server"),
            );
        }
    }

    let event = with_event.value.then(|| event_spec(s, diags));
    let popup = popup(s, &global, diags);
    let lookup = lookup(s, diags);
    let report = report(s, diags);
    let token = with_token.value.then(|| token_spec(s, diags));
    for spec in [
        dial.as_ref(),
        event.as_ref().map(|e| &e.request),
        token.as_ref().map(|t| &t.request),
        sms.as_ref(),
        forward.as_ref(),
        lookup_request(&lookup),
        report.as_ref().map(|r| &r.request),
    ]
    .into_iter()
    .flatten()
    {
        body_on_get(s, spec, diags);
    }
    let active = |section: Section| match section {
        Dial => interface.value == Interface::ClickToCall,
        Callto => interface.value == Interface::Callto,
        Event => with_event.value,
        Token => with_token.value,
        Section::Popup => popup.is_some(),
        Section::Sms => sms.is_some(),
        Section::Forward => forward.is_some(),
        Section::Lookup => lookup.is_some(),
        Section::Report => report.is_some(),
        Section::Global | Section::Station => false,
        Section::Server | Section::KeyyoNotify | Section::KeyyoCti | Section::Desk => false,
    };
    let keyword_uses = check_keywords(
        s,
        &station,
        with_token.value,
        inputs.line_per_request,
        &active,
        diags,
    );
    check_base_urls(&keyword_uses, &global, &active, diags);
    check_names_known(&keyword_uses, &lookup, &event, &active, diags);
    for spec in [
        dial.as_ref().filter(|_| active(Dial)),
        event.as_ref().map(|e| &e.request),
        token.as_ref().map(|t| &t.request),
        sms.as_ref(),
        forward.as_ref(),
        lookup_request(&lookup),
        report.as_ref().map(|r| &r.request),
    ]
    .into_iter()
    .flatten()
    {
        check_auth(spec, &station, &global, main_file, diags);
    }
    if let Some(e) = &event {
        check_cursor(e, &keyword_uses, diags);
    }
    if with_token.value
        && !keyword_uses
            .iter()
            .any(|u| u.keyword.name == "token" && active(u.section))
    {
        diags.push(
            Diagnostic::warning(
                Code::TokenUnused,
                s.span_of(Token, Tag::WITH_TOKEN).unwrap_or(Span::file(main_file)),
                "a token is requested but no request sends `$token$`",
            )
            .with_help("use `$token$` in the `<url>`, `<data>` or `<headers>` of the requests that need it"),
        );
    }

    Config {
        global,
        interface,
        interface_reason,
        dial,
        event,
        token,
        callto,
        popup,
        sms,
        forward,
        lookup,
        report,
        station,
        tapi,
        keyword_uses,
    }
}

/// `<report>`: the request sent for each finished call; marked done only
/// on an explicit success rule.
fn report(s: &Settings, diags: &mut Vec<Diagnostic>) -> Option<ReportSpec> {
    use Section::Report;
    let header = s.header(Report)?;
    if !s.is_set(Report, Tag::URL) {
        diags.push(
            Diagnostic::error(Code::MissingTag, header, "`<report>` has no `<url>`").with_help(
                "add the `<url>` of the ERP's request (or the webhook) that takes a finished call",
            ),
        );
        return None;
    }
    if !s.is_set(Report, Tag::SUCCESS_BODY) {
        diags.push(
            Diagnostic::error(
                Code::ReportSuccess,
                header,
                "`<report>` has no success rule: a report could be marked done when the ERP did not keep it",
            )
            .with_help("set `<success_body>` to the exact answer that means the ERP kept the call (e.g. `OK`), or `2xx` to take any 2xx status"),
        );
    }
    Some(ReportSpec {
        request: request(s, Report),
        when: s.typed(Report, Tag::REPORT_WHEN),
    })
}

/// The request of a `<lookup>` that sends one.
fn lookup_request(lookup: &Option<LookupSpec>) -> Option<&RequestSpec> {
    match &lookup.as_ref()?.source {
        LookupSource::Request(r) => Some(&r.request),
        LookupSource::Directory(_) => None,
    }
}

/// `<lookup>`: a `<directory>` or a request whose answer names the caller.
fn lookup(s: &Settings, diags: &mut Vec<Diagnostic>) -> Option<LookupSpec> {
    use Section::Lookup;
    let header = s.header(Lookup)?;
    let timeout = s.typed(Lookup, Tag::LOOKUP_TIMEOUT);
    let directory = s
        .is_set(Lookup, Tag::DIRECTORY)
        .then(|| s.text(Lookup, Tag::DIRECTORY));
    let has_url = s.is_set(Lookup, Tag::URL);
    let source = match (directory, has_url) {
        (Some(dir), true) => {
            diags.push(
                Diagnostic::error(
                    Code::LookupSource,
                    s.span_of(Lookup, Tag::URL).unwrap_or(header),
                    "`<lookup>` has both a `<directory>` and a `<url>`",
                )
                .with_help("keep one: the directory file, or the ERP's web request"),
            );
            LookupSource::Directory(dir)
        }
        (Some(dir), false) => LookupSource::Directory(dir),
        (None, false) => {
            diags.push(
                Diagnostic::error(
                    Code::LookupSource,
                    header,
                    "`<lookup>` says nowhere to look",
                )
                .with_help(
                    "set `<directory>` to a vCard or CSV file, or `<url>` to the ERP's request",
                ),
            );
            return None;
        }
        (None, true) => {
            let return_type = s.typed::<ReturnType>(Lookup, Tag::TYPE_RETURN);
            let rt = return_type.value;
            let field = |f: Field, diags: &mut Vec<Diagnostic>| {
                optional_answer_field(s, Lookup, rt, f, diags)
            };
            let (name, company, record) = if rt == ReturnType::Text {
                // A text answer is the name itself.
                (Some(AnswerField::Text), None, None)
            } else {
                (
                    field(Field::Name, diags),
                    field(Field::Company, diags),
                    field(Field::Record, diags),
                )
            };
            if name.is_none() && company.is_none() {
                let tag = if rt == ReturnType::Xml {
                    "xml_name"
                } else {
                    "json_name"
                };
                diags.push(
                    Diagnostic::error(
                        Code::MissingTag,
                        s.span_of(Lookup, Tag::TYPE_RETURN).unwrap_or(header),
                        "the lookup's answer gives no name and no company",
                    )
                    .with_help(format!(
                        "set `<{tag}>` (and `<{}>`) to the fields of the answer",
                        tag.replace("name", "company")
                    )),
                );
            }
            LookupSource::Request(Box::new(LookupRequest {
                request: request(s, Lookup),
                return_type,
                name,
                company,
                record,
            }))
        }
    };
    Some(LookupSpec {
        source,
        timeout,
        cache: s.typed(Lookup, Tag::LOOKUP_CACHE),
        parallel: s.typed(Lookup, Tag::LOOKUP_PARALLEL),
    })
}

/// `$name$`, `$company$` or `$record$` in a screen pop with nothing that
/// says who a caller is: no `<lookup>`, and no name in the events.
fn check_names_known(
    keyword_uses: &[KeywordUse],
    lookup: &Option<LookupSpec>,
    event: &Option<EventSpec>,
    active: &dyn Fn(Section) -> bool,
    diags: &mut Vec<Diagnostic>,
) {
    let events_name = event
        .as_ref()
        .is_some_and(|e| e.name.is_some() || e.company.is_some());
    if lookup.is_some() || events_name {
        return;
    }
    for u in keyword_uses {
        let named = matches!(
            u.keyword.source,
            KeywordSource::CalleeName | KeywordSource::Company | KeywordSource::Record
        );
        let place = matches!(u.section, Section::Popup | Section::Report);
        if named && place && active(u.section) {
            diags.push(
                Diagnostic::warning(
                    Code::NameWithoutLookup,
                    u.span,
                    format!(
                        "`${}$` stays empty: nothing looks the other party up",
                        u.keyword.name
                    ),
                )
                .with_help("add a `<lookup>` section (a `<directory>` file or the ERP's request), or read the name a bridge server sends with `<json_name>` in `<cliktocallevent>`"),
            );
        }
    }
}

/// `$api_url$`/`$events_url$` used in a request that runs, with its base
/// URL unset.
fn check_base_urls(
    keyword_uses: &[KeywordUse],
    global: &Global,
    active: &dyn Fn(Section) -> bool,
    diags: &mut Vec<Diagnostic>,
) {
    for u in keyword_uses {
        if let KeywordSource::BaseUrl(tag) = u.keyword.source {
            let set = if tag == "api_url" {
                !global.api_url.value.is_empty()
            } else {
                !global.events_url.value.is_empty()
            };
            if !set && active(u.section) {
                diags.push(
                    Diagnostic::error(
                        Code::KeywordUnset,
                        u.span,
                        format!("`${}$` has no value: `<{tag}>` is not set", u.keyword.name),
                    )
                    .with_help(format!(
                        "set `<{tag}>` in `<global>` to the server's address, e.g. https://api.example.com"
                    )),
                );
            }
        }
    }
}

/// `$cursor$` used while no answer field gives it.
fn check_cursor(e: &EventSpec, keyword_uses: &[KeywordUse], diags: &mut Vec<Diagnostic>) {
    let cursor_readable = e.cursor.is_some() || e.return_type.value == ReturnType::Text;
    for u in keyword_uses {
        if u.keyword.source == KeywordSource::Cursor && !cursor_readable {
            diags.push(
                Diagnostic::warning(
                    Code::CursorUnset,
                    u.span,
                    "`$cursor$` is always empty: no answer field gives it",
                )
                .with_help("set `<json_cursor>` or `<xml_cursor>` to the field the source sends back (OVH: `Session`)"),
            );
        }
    }
}

/// `<global>`, typed.
fn global(s: &Settings) -> Global {
    Global {
        timeout1: s.typed(Section::Global, Tag::TIMEOUT1),
        timeout2: s.typed(Section::Global, Tag::TIMEOUT2),
        timeout3: s.typed(Section::Global, Tag::TIMEOUT3),
        event_ring: s.text(Section::Global, Tag::EVENT_RING),
        event_popup: s.text(Section::Global, Tag::EVENT_POPUP),
        event_connect: s.text(Section::Global, Tag::EVEN_CONNECT),
        event_release: s.text(Section::Global, Tag::EVENT_RELEASE),
        event_missed: s.text(Section::Global, Tag::EVENT_MISSED),
        event_dial: s.text(Section::Global, Tag::EVENT_DIAL),
        noshowwindow: s.typed(Section::Global, Tag::NOSHOWWINDOW),
        debug: s.typed(Section::Global, Tag::DEBUG),
        cafile: s.text(Section::Global, Tag::CAFILE),
        insecure: s.typed(Section::Global, Tag::INSECURE),
        number_format: s.typed(Section::Global, Tag::NUMBER_FORMAT),
        country: s.typed_with(Section::Global, Tag::COUNTRY, value::parse_country),
        provider: s.text(Section::Global, Tag::PROVIDER),
        api_url: s.text(Section::Global, Tag::API_URL),
        events_url: s.text(Section::Global, Tag::EVENTS_URL),
    }
}

/// A `tapi_param.txt` line-name model that picks none of the station's
/// lines.
fn check_line_model(station: &Station, tapi: &Tapi, diags: &mut Vec<Diagnostic>) {
    if let (None, Some(span)) = (station.selected_line, tapi.model.span()) {
        if !station.lines.value.is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::NoLineMatches,
                    span,
                    format!(
                        "the line-name model `{}` matches none of the station's lines",
                        tapi.model.value
                    ),
                )
                .with_help(format!(
                    "the station declares: {}",
                    station.lines.value.join(" | ")
                )),
            );
        }
    }
}

/// `<cliktocallevent>`, turned on by `<with_event>1`.
fn event_spec(s: &Settings, diags: &mut Vec<Diagnostic>) -> EventSpec {
    use Section::Event;
    let request = required_request(s, Event, Tag::WITH_EVENT, diags);
    let return_type = s.typed::<ReturnType>(Event, Tag::TYPE_RETURN);
    let rt = return_type.value;
    let tel = answer_field(s, Event, rt, Field::Tel, diags);
    let event = answer_field(s, Event, rt, Field::Event, diags);
    EventSpec {
        events: events_list(s, rt, diags),
        callid: optional_answer_field(s, Event, rt, Field::Callid, diags),
        time: optional_answer_field(s, Event, rt, Field::Time, diags),
        line: optional_answer_field(s, Event, rt, Field::Line, diags),
        called: optional_answer_field(s, Event, rt, Field::Called, diags),
        cursor: optional_answer_field(s, Event, rt, Field::Cursor, diags),
        name: optional_answer_field(s, Event, rt, Field::Name, diags),
        company: optional_answer_field(s, Event, rt, Field::Company, diags),
        record: optional_answer_field(s, Event, rt, Field::Record, diags),
        tel_format: s.typed(Event, Tag::TEL_FORMAT),
        session: session(s, diags),
        request,
        return_type,
        tel,
        event,
    }
}

/// `<cliktocalltoken>`, turned on by `<with_token>1`.
fn token_spec(s: &Settings, diags: &mut Vec<Diagnostic>) -> TokenSpec {
    use Section::Token;
    let request = required_request(s, Token, Tag::WITH_TOKEN, diags);
    let return_type = s.typed::<ReturnType>(Token, Tag::TYPE_RETURN);
    let token = answer_field(s, Token, return_type.value, Field::Token, diags);
    TokenSpec {
        request,
        return_type,
        token,
    }
}

/// `<session_url>`, which needs `<json_session>`.
fn session(s: &Settings, diags: &mut Vec<Diagnostic>) -> Option<SessionSpec> {
    use Section::Event;
    if !s.is_set(Event, Tag::SESSION_URL) {
        for tag in [Tag::JSON_SESSION, Tag::SUBSCRIBE_URL, Tag::SESSION_LOST] {
            if let Some(span) = s.span_of(Event, tag) {
                diags.push(Diagnostic::warning(
                    Code::UnusedTag,
                    span,
                    format!("`<{tag}>` is not used: `<session_url>` is not set"),
                ));
            }
        }
        return None;
    }
    if !s.is_set(Event, Tag::JSON_SESSION) {
        diags.push(
            Diagnostic::error(
                Code::MissingTag,
                s.span_of(Event, Tag::SESSION_URL).expect("set"),
                "`<session_url>` is set but `<json_session>` is not",
            )
            .with_help(
                "set `<json_session>` to the field of the answer holding the session id, e.g. `id`",
            ),
        );
    }
    Some(SessionSpec {
        url: s.template(Event, Tag::SESSION_URL),
        id_field: s.text(Event, Tag::JSON_SESSION),
        subscribe: s
            .is_set(Event, Tag::SUBSCRIBE_URL)
            .then(|| s.template(Event, Tag::SUBSCRIBE_URL)),
        lost: s
            .text(Event, Tag::SESSION_LOST)
            .value
            .split('|')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// `<auth>` needs the station's credentials.
fn check_auth(
    spec: &RequestSpec,
    station: &Station,
    global: &Global,
    main_file: FileId,
    diags: &mut Vec<Diagnostic>,
) {
    let at = spec.auth.span().unwrap_or(Span::file(main_file));
    match spec.auth.value {
        Auth::Ovh => {
            let missing: Vec<&str> = [
                ("app_key", station.app_key.value.is_empty()),
                ("app_secret", station.app_secret.value.is_empty()),
                ("consumer_key", station.consumer_key.value.is_empty()),
            ]
            .into_iter()
            .filter_map(|(t, empty)| empty.then_some(t))
            .collect();
            if !missing.is_empty() {
                diags.push(
                    Diagnostic::error(
                        Code::AuthKeysMissing,
                        at,
                        format!(
                            "`<auth>ovh` in `<{}>` needs the OVH API keys: {} not set",
                            spec.section.name(),
                            missing
                                .iter()
                                .map(|t| format!("`<{t}>`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .with_help("set them in the station settings (station.txt), from the OVH API application and consumer key of this line"),
                );
            }
            if global.api_url.value.is_empty() {
                diags.push(
                    Diagnostic::error(
                        Code::AuthKeysMissing,
                        at,
                        "`<auth>ovh` needs `<api_url>`: the signature's time comes from its /auth/time",
                    )
                    .with_help("set `<api_url>` in `<global>`, e.g. https://eu.api.ovh.com/1.0"),
                );
            }
        }
        Auth::Basic if station.user.value.is_empty() => diags.push(
            Diagnostic::warning(
                Code::AuthUserUnset,
                at,
                format!(
                    "`<auth>basic` in `<{}>` but the station settings have no `<user>`",
                    spec.section.name()
                ),
            )
            .with_help("set `<user>` and `<mdp>` in the station settings"),
        ),
        _ => {}
    }
}

/// `<popup>`: present when it does something.
fn popup(s: &Settings, global: &Global, diags: &mut Vec<Diagnostic>) -> Option<PopupSpec> {
    use Section::Popup;
    let command = s
        .is_set(Popup, Tag::COMMAND)
        .then(|| s.template(Popup, Tag::COMMAND));
    let open_url = s
        .is_set(Popup, Tag::OPEN_URL)
        .then(|| s.template(Popup, Tag::OPEN_URL));
    let notify = s.typed::<bool>(Popup, Tag::NOTIFY);
    let trigger = s.typed::<PopupTrigger>(Popup, Tag::TRIGGER);
    if let (true, Some(span)) = (notify.value && global.noshowwindow.value, notify.span()) {
        diags.push(
            Diagnostic::warning(
                Code::NotifyOff,
                span,
                "no notification is shown: `<noshowwindow>1` turns them off",
            )
            .with_help("set `<noshowwindow>0` in `<global>` to see them"),
        );
    }
    if command.is_none() && open_url.is_none() && !notify.value {
        if let Some(h) = s.header(Popup) {
            diags.push(
                Diagnostic::warning(Code::PopupEmpty, h, "`<popup>` does nothing")
                    .with_help("set `<command>`, `<open_url>` or `<notify>1`"),
            );
        }
        return None;
    }
    Some(PopupSpec {
        command,
        open_url,
        notify,
        trigger,
    })
}

/// `<json_events>` or `<xml_events>`, as the answer type says.
fn events_list(
    s: &Settings,
    return_type: ReturnType,
    diags: &mut Vec<Diagnostic>,
) -> Option<Setting<String>> {
    let (used, other) = match return_type {
        ReturnType::Json => (Some(Tag::JSON_EVENTS), vec![Tag::XML_EVENTS]),
        ReturnType::Xml => (Some(Tag::XML_EVENTS), vec![Tag::JSON_EVENTS]),
        ReturnType::Text => (None, vec![Tag::JSON_EVENTS, Tag::XML_EVENTS]),
    };
    for tag in other {
        if let Some(span) = s.span_of(Section::Event, tag) {
            diags.push(Diagnostic::warning(
                Code::UnusedTag,
                span,
                format!(
                    "`<{tag}>` is not used: `<type_return>` is {}",
                    return_type.as_str()
                ),
            ));
        }
    }
    let tag = used?;
    s.is_set(Section::Event, tag)
        .then(|| s.text(Section::Event, tag))
}

/// An answer field that may be absent (`callid`, `called`, `cursor`):
/// `None` when its `json_`/`xml_` tag is not set for the answer type.
fn optional_answer_field(
    s: &Settings,
    section: Section,
    return_type: ReturnType,
    field: Field,
    diags: &mut Vec<Diagnostic>,
) -> Option<AnswerField> {
    let [json_tag, xml_tag, ..] = field.tags();
    let set = match return_type {
        ReturnType::Json => s.is_set(section, json_tag),
        ReturnType::Xml => s.is_set(section, xml_tag),
        ReturnType::Text => false,
    };
    if set {
        return Some(answer_field(s, section, return_type, field, diags));
    }
    for tag in field.tags() {
        let Some(span) = s.span_of(section, tag) else {
            continue;
        };
        let why = match return_type {
            ReturnType::Json if tag == json_tag => continue,
            ReturnType::Xml if tag != json_tag => format!("`<{xml_tag}>` is not set"),
            rt => format!("`<type_return>` is {}", rt.as_str()),
        };
        diags.push(Diagnostic::warning(
            Code::UnusedTag,
            span,
            format!("`<{tag}>` is not used: {why}"),
        ));
    }
    None
}

fn request(s: &Settings, section: Section) -> RequestSpec {
    let headers = match s.effective(section, Tag::HEADERS) {
        Some(v) => Setting {
            // Problems in the items were reported when the value was read.
            value: split_headers(&v.entry.value, &mut Vec::new()),
            origin: Origin::File(v.entry.value.span),
        },
        None => Setting {
            value: Vec::new(),
            origin: Origin::Default,
        },
    };
    RequestSpec {
        section,
        url: s.template(section, Tag::URL),
        method: s.typed(section, Tag::METHODE),
        data: s.template(section, Tag::DATA),
        dataencode: s.template(section, Tag::DATAENCODE),
        headers,
        content_type: s.text(section, Tag::CONTENTTYPE),
        auth: s.typed(section, Tag::AUTH),
        success_body: s.text(section, Tag::SUCCESS_BODY),
        retry_body: s.typed_with(section, Tag::RETRY_BODY, |t| {
            Ok(t.split('|')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect())
        }),
        min_interval: s.typed(section, Tag::MIN_INTERVAL),
    }
}

/// The request of a section turned on by `<with_…>1`, which needs a `<url>`.
fn required_request(
    s: &Settings,
    section: Section,
    switch: Tag,
    diags: &mut Vec<Diagnostic>,
) -> RequestSpec {
    if !s.is_set(section, Tag::URL) {
        let span = s.span_of(section, switch).expect("the switch is set");
        diags.push(
            Diagnostic::error(
                Code::MissingTag,
                span,
                format!("`<{switch}>1` but `<{}>` has no `<url>`", section.name()),
            )
            .with_help(format!(
                "add `<url>` under `<{}>`, or set `<{switch}>0`",
                section.name()
            )),
        );
    }
    request(s, section)
}

/// Where `what` (`tel`, `event`, `token`) is read in an answer of
/// `return_type`; reports the tags that are missing or set for nothing.
fn answer_field(
    s: &Settings,
    section: Section,
    return_type: ReturnType,
    field: Field,
    diags: &mut Vec<Diagnostic>,
) -> AnswerField {
    let what = field.name();
    let [json_tag, xml_tag, in_attrib_tag, attrib_tag] = field.tags();
    let type_span = s
        .span_of(section, Tag::TYPE_RETURN)
        .or(s.header(section))
        .or_else(|| s.span_of(section, Tag::URL));
    let missing = |tag: Tag, diags: &mut Vec<Diagnostic>| {
        if let Some(span) = type_span {
            let rt = match return_type {
                ReturnType::Json => "json",
                ReturnType::Xml => "xml",
                ReturnType::Text => "text",
            };
            diags.push(
                Diagnostic::error(
                    Code::MissingTag,
                    span,
                    format!(
                        "the answer is {rt} but `<{tag}>` is not set in `<{}>`",
                        section.name()
                    ),
                )
                .with_help(format!(
                    "set `<{tag}>` to the name of the {rt} field holding the {what}"
                )),
            );
        }
    };
    let unused = |tags: &[Tag], diags: &mut Vec<Diagnostic>| {
        for tag in tags {
            if let Some(span) = s.span_of(section, *tag) {
                diags.push(Diagnostic::warning(
                    Code::UnusedTag,
                    span,
                    format!(
                        "`<{tag}>` is not used: `<type_return>` is not {}",
                        if tag.name().starts_with("json") {
                            "json"
                        } else {
                            "xml"
                        }
                    ),
                ));
            }
        }
    };
    match return_type {
        ReturnType::Json => {
            unused(&[xml_tag, attrib_tag], diags);
            if !s.is_set(section, json_tag) {
                missing(json_tag, diags);
            }
            AnswerField::Json(s.text(section, json_tag))
        }
        ReturnType::Xml => {
            unused(&[json_tag], diags);
            if !s.is_set(section, xml_tag) {
                missing(xml_tag, diags);
            }
            let in_attrib = s.typed::<bool>(section, in_attrib_tag);
            let attribute = if in_attrib.value {
                if !s.is_set(section, attrib_tag) {
                    let span = in_attrib.span().expect("set to 1");
                    diags.push(
                        Diagnostic::error(
                            Code::MissingTag,
                            span,
                            format!("`<{in_attrib_tag}>1` but `<{attrib_tag}>` is not set"),
                        )
                        .with_help(format!(
                            "set `<{attrib_tag}>` to the attribute's name, e.g. `value`"
                        )),
                    );
                }
                Some(s.text(section, attrib_tag))
            } else {
                if let Some(span) = s.span_of(section, attrib_tag) {
                    diags.push(
                        Diagnostic::warning(
                            Code::UnusedTag,
                            span,
                            format!(
                                "`<{attrib_tag}>` is not used while `<{in_attrib_tag}>` is not 1"
                            ),
                        )
                        .with_help(format!(
                            "set `<{in_attrib_tag}>1` to read the {what} from this attribute"
                        )),
                    );
                }
                None
            };
            AnswerField::Xml {
                element: s.text(section, xml_tag),
                attribute,
            }
        }
        ReturnType::Text => {
            unused(&[json_tag, xml_tag, attrib_tag], diags);
            AnswerField::Text
        }
    }
}

fn body_on_get(s: &Settings, spec: &RequestSpec, diags: &mut Vec<Diagnostic>) {
    if spec.method.value != Method::Get {
        return;
    }
    for tag in [Tag::DATA, Tag::DATAENCODE] {
        if let Some(span) = s.span_of(spec.section, tag) {
            diags.push(
                Diagnostic::warning(
                    Code::BodyIgnored,
                    span,
                    format!("`<{tag}>` is not sent: a GET request has no body"),
                )
                .with_help(format!(
                    "set `<methode>POST` in `<{}>` to send it",
                    spec.section.name()
                )),
            );
        }
    }
}

fn choose_interface(
    s: &Settings,
    has_dial: bool,
    has_callto: bool,
    watch_only: bool,
    main_file: FileId,
    diags: &mut Vec<Diagnostic>,
) -> (Setting<Interface>, &'static str) {
    let explicit = s
        .effective(Section::Station, Tag::INTERFACE)
        .or_else(|| s.effective(Section::Global, Tag::INTERFACE));
    if let Some(v) = explicit {
        if let Ok(interface) = value::parse_interface(&v.entry.value.text) {
            let span = v.entry.value.span;
            match interface {
                Interface::ClickToCall if !has_dial => diags.push(
                    Diagnostic::error(
                        Code::MissingTag,
                        span,
                        "the clicktocall interface needs `<url>` in `<cliktocalldial>`",
                    )
                    .with_help(
                        "add a `<cliktocalldial>` section with the `<url>` of the dial command",
                    ),
                ),
                Interface::Callto if !has_callto => diags.push(
                    Diagnostic::error(
                        Code::MissingTag,
                        span,
                        "the callto interface needs `cmd=` in `<callto>`",
                    )
                    .with_help(
                        "add a `<callto>` section with a line such as `cmd=callto:$teldest$`",
                    ),
                ),
                _ => {}
            }
            return (
                Setting {
                    value: interface,
                    origin: Origin::File(span),
                },
                "set by <interface>",
            );
        }
    }
    let (value, reason) = if has_dial {
        (Interface::ClickToCall, "<cliktocalldial> has a <url>")
    } else if has_callto {
        (
            Interface::Callto,
            "<callto> has a cmd and <cliktocalldial> has no <url>",
        )
    } else {
        // A file that only follows events is useful (`watch`), but it is
        // probably unfinished.
        let d = if watch_only {
            Diagnostic::warning(
                Code::NoInterface,
                Span::file(main_file),
                "this file can place no call, only follow events or look callers up: it has no usable dial section and no callto section",
            )
        } else {
            Diagnostic::error(
                Code::NoInterface,
                Span::file(main_file),
                "this file can place no call: it has no usable dial section and no callto section",
            )
        };
        diags.push(d.with_help(
            "add `<cliktocalldial>` with a `<url>`, or `<callto>` with `cmd=callto:$teldest$`",
        ));
        (Interface::ClickToCall, "nothing can dial")
    };
    (
        Setting {
            value,
            origin: Origin::Default,
        },
        reason,
    )
}

fn station(s: &Settings, tapi: &Tapi) -> Station {
    use Section::Station as S;
    let lines = s.typed_with(S, Tag::LINES, |t| Ok(value::split_lines(t)));
    let model = (!tapi.model.value.is_empty()).then_some(tapi.model.value.as_str());
    let selected_line = select_line(model, &lines.value);
    let mut telorg = s.text(S, Tag::TELORG);
    let mut telorg_from_line = false;
    if telorg.is_default() {
        if let Some(i) = selected_line {
            telorg = Setting {
                value: lines.value[i].clone(),
                origin: lines.origin,
            };
            telorg_from_line = true;
        }
    }
    Station {
        user: s.text(S, Tag::USER),
        mdp: s.typed_with(S, Tag::MDP, |t| Ok(Secret::new(t.trim()))),
        telorg,
        telorg_from_line,
        ident: s.text(S, Tag::IDENT),
        prefix: s.text(S, Tag::PREFIX),
        lines,
        selected_line,
        account: s.text(S, Tag::ACCOUNT),
        event_token: s.typed_with(S, Tag::EVENT_TOKEN, |t| Ok(Secret::new(t.trim()))),
        app_key: s.text(S, Tag::APP_KEY),
        app_secret: s.typed_with(S, Tag::APP_SECRET, |t| Ok(Secret::new(t.trim()))),
        consumer_key: s.typed_with(S, Tag::CONSUMER_KEY, |t| Ok(Secret::new(t.trim()))),
    }
}

fn merge_tapi(files: &[&TapiFile]) -> Tapi {
    let mut model = Setting {
        value: String::new(),
        origin: Origin::Default,
    };
    let mut connector = Setting {
        value: DEFAULT_CONNECTOR.to_owned(),
        origin: Origin::Default,
    };
    let mut params: Vec<(String, String, Span)> = Vec::new();
    for f in files {
        if let Some((m, span)) = &f.model {
            model = Setting {
                value: m.clone(),
                origin: Origin::File(*span),
            };
        }
        if let Some((c, span)) = &f.connector {
            connector = Setting {
                value: c.clone(),
                origin: Origin::File(*span),
            };
        }
        for p in &f.params {
            match params
                .iter_mut()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(&p.name))
            {
                Some(slot) => *slot = (p.name.clone(), p.value.clone(), p.span),
                None => params.push((p.name.clone(), p.value.clone(), p.span)),
            }
        }
    }
    Tapi {
        model,
        params,
        connector,
    }
}

/// Pass 3: every `$keyword$` of every winning value: known, spelt right,
/// available in its section, and with a value this station can give.
fn check_keywords(
    s: &Settings,
    station: &Station,
    with_token: bool,
    line_per_request: bool,
    active: &dyn Fn(Section) -> bool,
    diags: &mut Vec<Diagnostic>,
) -> Vec<KeywordUse> {
    let mut uses = Vec::new();
    // The sections `dial` sends: its own, and the token's when it sends
    // `$token$`. A keyword with no value there is an error (every dial
    // would be refused); elsewhere (events, pop, sms) a warning, as `dial`
    // still works.
    let dial_sends_token = s.values.values().filter_map(|l| l.last()).any(|v| {
        v.section == Section::Dial
            && v.def.kind.has_keywords()
            && v.entry
                .value
                .keywords()
                .any(|(n, _)| KeywordDef::lookup(n).is_some_and(|(k, _)| k.name == "token"))
    });
    let dial_sends = |section: Section| {
        section == Section::Dial || (section == Section::Token && dial_sends_token)
    };
    for list in s.values.values() {
        let Some(v) = list.last() else { continue };
        if !v.def.kind.has_keywords() {
            continue;
        }
        for (name, span) in v.entry.value.keywords() {
            let Some((kw, alias)) = KeywordDef::lookup(name) else {
                let mut d = Diagnostic::error(
                    Code::UnknownKeyword,
                    span,
                    format!("unknown keyword `${name}$`"),
                );
                if diags.len() >= SUGGEST_WITHIN {
                    // Hundreds of problems: no slip of the pen to help with.
                    diags.push(d);
                    continue;
                }
                d = match did_you_mean(name, keyword_names()) {
                    Some(g) => d.with_help(format!("did you mean `${g}$`?")),
                    None => d.with_help(format!(
                        "the keywords are {}",
                        keyword_names()
                            .map(|k| format!("${k}$"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )),
                };
                diags.push(d);
                continue;
            };
            if alias {
                diags.push(
                    Diagnostic::warning(
                        Code::KeywordAlias,
                        span,
                        format!("`${name}$` is read as `${}$`", kw.name),
                    )
                    .with_help(format!("write `${}$`", kw.name)),
                );
            }
            uses.push(KeywordUse {
                keyword: kw,
                section: v.section,
                span,
            });
            if !active(v.section) {
                continue;
            }
            if !kw.known_in(v.section) {
                let where_known = kw
                    .known_in
                    .iter()
                    .map(|s| format!("`<{}>`", s.name()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let help = if kw.secret && v.section == Section::Popup {
                    "secrets are never put on a screen-pop command line or page address, where other programs can read them".to_owned()
                } else {
                    format!("{} It is known in {where_known}.", kw.doc)
                };
                diags.push(
                    Diagnostic::error(
                        Code::KeywordNotAvailable,
                        span,
                        format!("`${}$` has no value in `<{}>`", kw.name, v.section.name()),
                    )
                    .with_help(help),
                );
                continue;
            }
            if kw.source == KeywordSource::TokenAnswer && !with_token {
                diags.push(
                    Diagnostic::error(Code::TokenWithoutWithToken, span, "`$token$` is used but no token is requested")
                        .with_help("set `<with_token>1` in `<cliktocalltoken>` with the `<url>` that gives the token"),
                );
            }
            let per_request = line_per_request && kw.source == KeywordSource::Station("telorg");
            let unset = unset_station_tags(kw, station);
            // A request of a section that runs refuses to go with a keyword
            // that has no value: `$auth$` needs one of user and password.
            let refused = dial_sends(v.section)
                && match kw.source {
                    KeywordSource::UserAndPassword => unset.len() == 2,
                    _ => !unset.is_empty(),
                };
            for tag in unset.into_iter().filter(|_| !per_request) {
                let message = format!(
                    "`${}$` has no value: the station settings have no `<{tag}>`",
                    kw.name
                );
                let d = if refused {
                    Diagnostic::error(Code::KeywordUnset, span, message)
                } else {
                    Diagnostic::warning(Code::KeywordUnset, span, message)
                };
                diags.push(d.with_help(format!(
                    "set `<{tag}>` in `<station>` or in the user's station.txt"
                )));
            }
        }
    }
    uses.sort_by_key(|u| (u.span.file, u.span.line, u.span.col));
    uses
}

fn unset_station_tags(kw: &KeywordDef, station: &Station) -> Vec<&'static str> {
    let unset = |tag: &'static str| -> Option<&'static str> {
        let empty = station
            .keyword_value(tag)
            .is_some_and(|(v, _)| v.is_empty());
        empty.then_some(tag)
    };
    match kw.source {
        KeywordSource::Station(tag) => unset(tag).into_iter().collect(),
        KeywordSource::UserAndPassword => ["user", "mdp"].into_iter().filter_map(unset).collect(),
        _ => Vec::new(),
    }
}

/// The default of every tag parses as its kind: a test, and documentation
/// that a default is a value like any other.
#[cfg(test)]
pub(crate) fn check_defaults() -> Result<(), String> {
    for t in TAGS.iter().filter(|t| !t.default.is_empty()) {
        let r = value::check_text(t.kind, t.default).unwrap_or(Ok(()));
        r.map_err(|e| format!("<{}>: {}", t.name, e.message))?;
    }
    Ok(())
}

/// How a configuration's effective value is shown: secrets masked.
pub(crate) fn shown(def: &TagDef, text: &str) -> String {
    if def.secret && !text.is_empty() {
        "********".to_owned()
    } else {
        match def.kind {
            crate::schema::Kind::Headers => crate::redact::mask_literals(text, true),
            crate::schema::Kind::Url | crate::schema::Kind::PageUrl => {
                crate::redact::mask_literals(text, false)
            }
            _ => text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
