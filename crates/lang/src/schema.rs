//! The one table of the param language: sections, tags and `$keywords$`.
//!
//! The parser, the checker, `check`'s explanation and the format reference
//! (`docs/param-format.md`) all read these rows. A new tag, section or keyword
//! is a new row here (plus the typed field that uses it).

use serde::Serialize;

/// A `<section>` of a param file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    Global,
    Dial,
    Event,
    Token,
    Callto,
    Station,
    Popup,
    Sms,
    Forward,
    /// Who a number belongs to: a directory file or the ERP's web API.
    Lookup,
    /// Each finished call written back into the ERP (or a webhook).
    Report,
    /// The bridge server's own settings (`server_param.txt`).
    Server,
    KeyyoNotify,
    /// Keyyo's CTI WebSocket: the server acts on calls and receives them.
    KeyyoCti,
    Desk,
}

#[derive(Debug)]
pub struct SectionDef {
    pub section: Section,
    /// The spelling written by `check` and the docs.
    pub name: &'static str,
    /// Other spellings accepted silently (the real world writes both).
    pub aliases: &'static [&'static str],
    /// Ours, not Divalto's.
    pub ours: bool,
    /// A section of the bridge server's file (`server_param.txt`), not of a
    /// desk's.
    pub server: bool,
    pub doc: &'static str,
}

pub(crate) static SECTIONS: &[SectionDef] = &[
    SectionDef {
        section: Section::Global,
        name: "global",
        aliases: &[],
        ours: false,
        server: false,
        doc: "Timeouts, event names and display settings shared by every request.",
    },
    SectionDef {
        section: Section::Dial,
        name: "cliktocalldial",
        aliases: &["clicktocalldial"],
        ours: false,
        server: false,
        doc: "The web request that places a call.",
    },
    SectionDef {
        section: Section::Event,
        name: "cliktocallevent",
        aliases: &["clicktocallevent"],
        ours: false,
        server: false,
        doc: "The web request polled for call events (incoming call, screen pop).",
    },
    SectionDef {
        section: Section::Token,
        name: "cliktocalltoken",
        aliases: &["clicktocalltoken"],
        ours: false,
        server: false,
        doc: "The web request that obtains an authentication token (`$token$`).",
    },
    SectionDef {
        section: Section::Callto,
        name: "callto",
        aliases: &[],
        ours: false,
        server: false,
        doc: "The CALLTO/TEL interface: a command or URI launched with the number. \
              Its lines may also be written `key=value`.",
    },
    SectionDef {
        section: Section::Station,
        name: "station",
        aliases: &[],
        ours: true,
        server: false,
        doc: "This desk's settings (the per-user part of the Divalto CTI screen): \
              user, password, line, identifier, outside-line prefix. \
              `station.txt` in the user's config folder overrides it tag by tag.",
    },
    SectionDef {
        section: Section::Popup,
        name: "popup",
        aliases: &[],
        ours: true,
        server: false,
        doc: "The screen pop (\"montée de fiche\") that `ctibridge watch` runs once per \
              incoming call: a command, a page to open, a desktop notification. \
              May also be written in the user's station.txt.",
    },
    SectionDef {
        section: Section::Sms,
        name: "sms",
        aliases: &[],
        ours: true,
        server: false,
        doc: "The web request of `ctibridge sms NUMBER MESSAGE` (Keyyo `sendsms.html`).",
    },
    SectionDef {
        section: Section::Forward,
        name: "forward",
        aliases: &[],
        ours: true,
        server: false,
        doc: "The web request of `ctibridge forward-profile NAME`: choose the line's \
              forwarding profile (Keyyo `setprofil.html`).",
    },
    SectionDef {
        section: Section::Lookup,
        name: "lookup",
        aliases: &[],
        ours: true,
        server: false,
        doc: "Who a caller is: `<directory>` (a vCard or CSV file of names, companies, \
              numbers and records) or a web request to the ERP (`<url>` and the other request \
              tags, with the caller's number in `$tel$`, `$tele164$` or `$tel9$`) whose answer \
              gives `<json_name>`, `<json_company>` and `<json_record>` (or their xml forms). \
              `ctibridge lookup NUMBER` runs it.",
    },
    SectionDef {
        section: Section::Report,
        name: "report",
        aliases: &[],
        ours: true,
        server: false,
        doc:
            "Each finished call written back: a web request to the ERP (or an e-mail gateway, \
              a chat webhook) sent once per call that `<report_when>` chooses, with the call in \
              `$direction$`, `$kind$`, `$state$`, `$tel$`, `$line$`, `$setup$`, `$ringing$`, \
              `$talk$`, `$callref$`, `$name$`… A report is done only when the answer meets \
              `<success_body>`; the bridge server keeps it in its journal and sends it again \
              (with back-off) until it is. `ctibridge report --dry-run` shows it for a sample call.",
    },
    SectionDef {
        section: Section::Server,
        name: "server",
        aliases: &[],
        ours: true,
        server: true,
        doc: "Server file only: where `ctibridge serve` listens, how long it holds a poll, \
              its journal, the simulator and the provider event relay. The server dials \
              through the `<global>`, `<station>` and request sections of the same file, \
              as a desk does (usually `<global><provider>` and the account's `<station>` \
              credentials).",
    },
    SectionDef {
        section: Section::KeyyoNotify,
        name: "keyyo_notify",
        aliases: &[],
        ours: true,
        server: true,
        doc: "Server file only: Keyyo's pushed call notifications — the secret of the \
              notification URL and the addresses Keyyo sends from.",
    },
    SectionDef {
        section: Section::KeyyoCti,
        name: "keyyo_cti",
        aliases: &[],
        ours: true,
        server: true,
        doc: "Server file only: Keyyo's CTI WebSocket — the server keeps a session, follows the \
              desks' lines (their calls arrive without a public URL) and acts on calls \
              (`ctibridge call`). Needs the account's CSI token, given or minted by the server with an OAuth2 refresh token.",
    },
    SectionDef {
        section: Section::Desk,
        name: "desk",
        aliases: &[],
        ours: true,
        server: true,
        doc: "Server file only, once per desk allowed to connect: its identifier, its \
              secret and the lines it may follow and dial from. A desk proves who it is \
              to `gettoken` with `Authorization: Basic` (ident:secret, the sample's \
              `$auth$` when the desk's `<user>`/`<mdp>` are its ident and secret) or with \
              `?ident=` and the header `X-Ctibridge-Secret`.",
    },
];

impl Section {
    pub fn def(self) -> &'static SectionDef {
        SECTIONS
            .iter()
            .find(|d| d.section == self)
            .expect("every section has a row")
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Looks a section up by any accepted spelling, case-insensitively.
    pub fn lookup(name: &str) -> Option<Section> {
        SECTIONS
            .iter()
            .find(|d| {
                d.name.eq_ignore_ascii_case(name)
                    || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|d| d.section)
    }

    /// Sections that send a web request.
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Section::Dial
                | Section::Event
                | Section::Token
                | Section::Sms
                | Section::Forward
                | Section::Lookup
                | Section::Report
        )
    }
}

/// What a tag's value must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `0` or `1`.
    Bool,
    /// A number of seconds, decimals allowed.
    Seconds,
    /// Free text, taken as is.
    Text,
    /// Text with `$keywords$`.
    Template,
    /// A `$keyword$` template that must give an absolute http(s) URL.
    Url,
    /// `|`-separated `Name: value` or `Name=value` items, with `$keywords$`.
    Headers,
    /// `GET`, `PUT` or `POST`.
    Method,
    /// `json`, `xml` or `text`.
    ReturnType,
    /// Empty (run the command) or `OPEN` (hand it to the desktop opener).
    ShellExecute,
    /// `clicktocall` or `callto`.
    Interface,
    /// Digits, `*`, `#` or `+`: the outside-line prefix.
    Prefix,
    /// `|`-separated names of the telephone lines of a station.
    LineList,
    /// A JSON field name, a dotted path, or a JSONPath starting with `$`.
    JsonField,
    /// `asdialled`, `national`, `e164`, `international` (`33…`) or
    /// `international00` (`0033…`).
    NumberFormat,
    /// Two letters, ISO 3166: `FR`.
    Country,
    /// An XML element or attribute name.
    XmlName,
    /// `ring`, `popup` or `connect`: which event of a call runs the screen pop.
    PopupTrigger,
    /// `all`, or `made`, `received`, `missed` `|`-separated.
    ReportWhen,
    /// A URL of any scheme with `$keywords$` (a page of the ERP).
    PageUrl,
    /// An absolute http(s) URL with no keyword: a server's base address.
    BaseUrl,
    /// `none`, `basic`, `digest` or `ovh`.
    Auth,
    /// A built-in provider profile's name.
    Provider,
    /// An address and port to listen on: `127.0.0.1:8082`, `[::]:8082`.
    Listen,
    /// A regular expression matched against a whole source address.
    Regex,
    /// A whole number, 1 or more.
    Count,
}

impl Kind {
    /// Values of these kinds are scanned for `$keywords$`.
    pub fn has_keywords(self) -> bool {
        matches!(
            self,
            Kind::Template | Kind::Url | Kind::Headers | Kind::PageUrl
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::Bool => "0/1",
            Kind::Seconds => "seconds",
            Kind::Text => "text",
            Kind::Template => "text with keywords",
            Kind::Url => "URL with keywords",
            Kind::Headers => "headers with keywords",
            Kind::Method => "GET/PUT/POST",
            Kind::ReturnType => "json/xml/text",
            Kind::ShellExecute => "empty/OPEN",
            Kind::Interface => "clicktocall/callto",
            Kind::Prefix => "digits",
            Kind::LineList => "line names, `|`-separated",
            Kind::JsonField => "JSON field",
            Kind::NumberFormat => "asdialled/national/e164/international/international00",
            Kind::Country => "ISO country code",
            Kind::XmlName => "XML name",
            Kind::PopupTrigger => "ring/popup/connect",
            Kind::ReportWhen => "all or made|received|missed",
            Kind::PageUrl => "URL with keywords",
            Kind::BaseUrl => "http(s) URL",
            Kind::Auth => "none/basic/digest/ovh",
            Kind::Provider => "profile name",
            Kind::Listen => "address:port",
            Kind::Regex => "regular expression",
            Kind::Count => "whole number",
        }
    }
}

/// One tag of the param language in the sections it is allowed in.
#[derive(Debug)]
pub struct TagDef {
    pub name: &'static str,
    /// Other spellings accepted silently.
    pub aliases: &'static [&'static str],
    pub sections: &'static [Section],
    pub kind: Kind,
    /// The value when the tag is absent or empty; `""` when there is none.
    pub default: &'static str,
    /// Masked in every output.
    pub secret: bool,
    /// Ours, not Divalto's.
    pub ours: bool,
    pub doc: &'static str,
}

use Section::{
    Callto, Desk, Dial, Event, Forward, Global, KeyyoCti, KeyyoNotify, Lookup, Popup, Report,
    Server, Sms, Station, Token,
};

const REQUEST: &[Section] = &[Dial, Event, Token, Sms, Forward, Lookup, Report];

pub static TAGS: &[TagDef] = &[
    // <global>
    TagDef {
        name: "timeout1",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Seconds,
        default: "1",
        secret: false,
        ours: false,
        doc: "Minimum interval between two requests to the server: slows the \
              poll loop down when the server is saturated.",
    },
    TagDef {
        name: "timeout2",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Seconds,
        default: "1",
        secret: false,
        ours: false,
        doc: "Pause after an event answer that held no event, before the next poll.",
    },
    TagDef {
        name: "timeout3",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Seconds,
        default: "1",
        secret: false,
        ours: false,
        doc: "Read timeout of an event poll (raise it for long-polling sources).",
    },
    TagDef {
        name: "event_ring",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Text,
        default: "RING",
        secret: false,
        ours: false,
        doc: "One or more names, `|`-separated. Event name that means an incoming call is ringing.",
    },
    TagDef {
        name: "event_popup",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Text,
        default: "POPUP",
        secret: false,
        ours: false,
        doc: "One or more names, `|`-separated. Event name that asks for a screen pop (\"montée de fiche\").",
    },
    TagDef {
        name: "even_connect",
        aliases: &["event_connect"],
        sections: &[Global],
        kind: Kind::Text,
        default: "CONNECT",
        secret: false,
        ours: false,
        doc: "One or more names, `|`-separated. Event name that means a call was answered. Divalto spells it \
              `even_connect`; `event_connect` is accepted too.",
    },
    TagDef {
        name: "event_release",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Text,
        default: "RELEASE",
        secret: false,
        ours: true,
        doc: "One or more names, `|`-separated. Event name that means a call ended (hung up). A call that ends \
              before it was answered is missed.",
    },
    TagDef {
        name: "event_dial",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Text,
        default: "DIAL",
        secret: false,
        ours: true,
        doc: "One or more names, `|`-separated. Event name that means the line is calling out (an outgoing \
              call being set up): the number the event gives is the one called.",
    },
    TagDef {
        name: "event_missed",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Text,
        default: "MISSED",
        secret: false,
        ours: true,
        doc: "One or more names, `|`-separated. Event name that means a call ended unanswered.",
    },
    TagDef {
        name: "noshowwindow",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: false,
        doc: "1: show no CTI window or notification (another display is in use).",
    },
    TagDef {
        name: "debug",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: false,
        doc: "1: write a trace to DhDivaltoClickToCall.log.",
    },
    TagDef {
        name: "interface",
        aliases: &[],
        sections: &[Global, Station],
        kind: Kind::Interface,
        default: "",
        secret: false,
        ours: true,
        doc: "Which interface dials: `clicktocall` (the web request of \
              `<cliktocalldial>`) or `callto` (the command of `<callto>`). \
              Empty: `clicktocall` when `<cliktocalldial>` has a `<url>`, else `callto`.",
    },
    TagDef {
        name: "cafile",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "A PEM file of certificate authorities trusted for https, besides the \
              built-in ones (what curl calls CURLOPT_CAINFO).",
    },
    TagDef {
        name: "insecure",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: do not verify https certificates. Only for a test server; \
              every request then warns.",
    },
    TagDef {
        name: "number_format",
        aliases: &[],
        sections: &[Global],
        kind: Kind::NumberFormat,
        default: "asdialled",
        secret: false,
        ours: true,
        doc: "The form `$teldest$` and `$telorg$` take: `asdialled` (as clicked, separators removed), \
              `national` (`0388202020`; a foreign number keeps its country after the \
              international call prefix: `0041446681800`), `e164` (`+33388202020`), `international` \
              (`33388202020`, Keyyo) or `international00` (`0033388202020`, OVH). A trunk \
              `(0)` after the country code goes away (`+33 (0)3…`), and a number too long or too \
              short for its country is refused, except `asdialled`. \
              The outside-line prefix is added only to `asdialled` and `national` numbers.",
    },
    TagDef {
        name: "country",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Country,
        default: "FR",
        secret: false,
        ours: true,
        doc: "The country of numbers dialled without an international prefix.",
    },
    TagDef {
        name: "provider",
        aliases: &[],
        sections: &[Global],
        kind: Kind::Provider,
        default: "",
        secret: false,
        ours: true,
        doc: "A built-in provider profile (`keyyo`, `ovh`, …; `ctibridge profiles` lists them) \
              read before this file: every tag it sets is a default that this file and \
              station.txt override tag by tag. `--provider NAME` does the same.",
    },
    TagDef {
        name: "api_url",
        aliases: &[],
        sections: &[Global],
        kind: Kind::BaseUrl,
        default: "",
        secret: false,
        ours: true,
        doc: "The provider's API address (`$api$`), e.g. `https://ssl.keyyo.com`. Profiles set it; \
              override it to reach a test server or a proxy.",
    },
    TagDef {
        name: "events_url",
        aliases: &[],
        sections: &[Global],
        kind: Kind::BaseUrl,
        default: "",
        secret: false,
        ours: true,
        doc: "The provider's event service address (`$events$`), e.g. `https://events.voip.ovh.net`.",
    },
    // Request sections.
    TagDef {
        name: "url",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Url,
        default: "",
        secret: false,
        ours: false,
        doc: "URL of the telephony server and command.",
    },
    TagDef {
        name: "methode",
        aliases: &[],
        sections: &[Dial],
        kind: Kind::Method,
        default: "POST",
        secret: false,
        ours: false,
        doc: "HTTP method of the dial request.",
    },
    TagDef {
        name: "methode",
        aliases: &[],
        sections: &[Event, Token, Sms, Forward, Lookup],
        kind: Kind::Method,
        default: "GET",
        secret: false,
        ours: false,
        doc: "HTTP method of the event or token request.",
    },
    TagDef {
        name: "methode",
        aliases: &[],
        sections: &[Report],
        kind: Kind::Method,
        default: "POST",
        secret: false,
        ours: false,
        doc: "HTTP method of the report.",
    },
    TagDef {
        name: "data",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Template,
        default: "",
        secret: false,
        ours: false,
        doc: "Body of a PUT or POST, sent as is.",
    },
    TagDef {
        name: "dataencode",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Template,
        default: "",
        secret: false,
        ours: false,
        doc: "Text URL-encoded and appended to `<data>`: `<data>XML=` with \
              `<dataencode>x y` sends `XML=x%20y`.",
    },
    TagDef {
        name: "headers",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Headers,
        default: "",
        secret: false,
        ours: false,
        doc: "Request headers separated by `|`, each `Name: value` or `Name=value`.",
    },
    TagDef {
        name: "contenttype",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Text,
        default: "application/x-www-form-urlencoded",
        secret: false,
        ours: false,
        doc: "Content type of the body.",
    },
    TagDef {
        name: "auth",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Auth,
        default: "none",
        secret: false,
        ours: true,
        doc: "How the request authenticates: `none` (only what `<headers>` and the URL say), \
              `basic` (HTTP Basic with `<user>`/`<mdp>`), `digest` (HTTP Digest with `<user>`/`<mdp>` \
              after the server's challenge, MD5 or SHA-256, qop=auth; with no `<user>`, nothing is \
              sent and the server must know this computer's address) or `ovh` (an OVH API signature \
              with `<app_key>`, `<app_secret>`, `<consumer_key>`).",
    },
    TagDef {
        name: "success_body",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The exact answer that means success (Keyyo: `OK`; OVH: `null`). Empty: any 2xx status. \
              `2xx`: any 2xx status, said explicitly (`<report>` needs this tag: a report is \
              marked done only on it).",
    },
    TagDef {
        name: "retry_body",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "Texts, `|`-separated, of a refusal that certainly placed nothing (Keyyo: \
              `Come Back Later`): the request is sent again after `<min_interval>` (at least 1 s), \
              at most 3 times. Any other failure is never retried.",
    },
    TagDef {
        name: "min_interval",
        aliases: &[],
        sections: REQUEST,
        kind: Kind::Seconds,
        default: "0",
        secret: false,
        ours: true,
        doc: "The shortest time between two requests of this section for one line, kept \
              across every ctibridge process of this user (Keyyo: one request per second), \
              plus a margin of 0.15 s. With Digest the request that answers the challenge \
              is the one paced.",
    },
    // <cliktocallevent>
    TagDef {
        name: "with_event",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: false,
        doc: "1: poll for events to detect incoming calls.",
    },
    TagDef {
        name: "type_return",
        aliases: &[],
        sections: &[Event, Token, Lookup],
        kind: Kind::ReturnType,
        default: "json",
        secret: false,
        ours: false,
        doc: "Format of the answer.",
    },
    TagDef {
        name: "json_tel",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: false,
        doc: "JSON answer: the field holding the caller's number.",
    },
    TagDef {
        name: "json_event",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: false,
        doc: "JSON answer: the field holding the event name.",
    },
    TagDef {
        name: "xml_tel",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: false,
        doc: "XML answer: the element holding the caller's number.",
    },
    TagDef {
        name: "xml_event",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: false,
        doc: "XML answer: the element holding the event name.",
    },
    TagDef {
        name: "xml_result_tel_in_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: false,
        doc: "1: the number is an attribute of `<xml_tel>` (`<tel value='…'/>`).",
    },
    TagDef {
        name: "xml_tel_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: false,
        doc: "The attribute holding the number, with `<xml_result_tel_in_attrib>1`.",
    },
    TagDef {
        name: "xml_result_event_in_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: false,
        doc: "1: the event name is an attribute of `<xml_event>` (`<evt name='call'/>`).",
    },
    TagDef {
        name: "xml_event_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: false,
        doc: "The attribute holding the event name, with `<xml_result_event_in_attrib>1`.",
    },
    TagDef {
        name: "json_events",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer holding several events: the list of events (e.g. `Events` or `$.Events[*]`); `<json_event>`, `<json_tel>`, `<json_called>` and `<json_callid>` are then read in each. Unset: an answer that is a JSON array is a list of events, any other answer is one event.",
    },
    TagDef {
        name: "xml_events",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer holding several events: the element of one event; the other `xml_*` elements are then read inside each.",
    },
    TagDef {
        name: "session_url",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Url,
        default: "",
        secret: false,
        ours: true,
        doc: "For sources that poll inside a session (OVH events v2): the URL POSTed to \
              create one; `<json_session>` reads its id from the JSON answer into `$session$`. \
              A poll answered 404 or with a `<session_lost>` text drops the session, and a \
              new one is made after the back-off pause.",
    },
    TagDef {
        name: "json_session",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "The field of the `<session_url>` answer holding the session id (OVH: `id`).",
    },
    TagDef {
        name: "subscribe_url",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Url,
        default: "",
        secret: false,
        ours: true,
        doc: "A URL POSTed once a session is made, before the first poll (OVH: \
              `…/session/$session$/subscribe/$eventtoken$`).",
    },
    TagDef {
        name: "session_lost",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "Texts, `|`-separated, of a poll answer meaning the session is gone \
              (OVH: `Timeout, please reconnect`).",
    },
    TagDef {
        name: "tel_format",
        aliases: &[],
        sections: &[Event],
        kind: Kind::NumberFormat,
        default: "national",
        secret: false,
        ours: true,
        doc: "The form of the numbers of events (`$tel$`, `caller`, `callee`): `national` \
              (the default, as a French ERP stores them) turns OVH's `0033388202020` and \
              Keyyo's `33388202020` into `0388202020`; `asdialled` keeps them as received \
              (separators removed); the others as in `<number_format>`.",
    },
    TagDef {
        name: "directory",
        aliases: &[],
        sections: &[Lookup],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "A local directory instead of a web request: a vCard file (`.vcf`) or a CSV file \
              whose header row names its columns (name/nom, company/société, record/fiche, \
              phone/téléphone/mobile…). Its numbers may be in any form; they are read once.",
    },
    TagDef {
        name: "lookup_timeout",
        aliases: &[],
        sections: &[Lookup],
        kind: Kind::Seconds,
        default: "0.4",
        secret: false,
        ours: true,
        doc: "The longest a lookup may take, in seconds: past it the caller is unknown.",
    },
    TagDef {
        name: "report_when",
        aliases: &[],
        sections: &[Report],
        kind: Kind::ReportWhen,
        default: "all",
        secret: false,
        ours: true,
        doc: "Which finished calls are reported, `|`-separated: `all`, `made` (outgoing), \
              `received` (incoming, answered) or `missed` (incoming, not answered).",
    },
    TagDef {
        name: "lookup_cache",
        aliases: &[],
        sections: &[Lookup],
        kind: Kind::Seconds,
        default: "600",
        secret: false,
        ours: true,
        doc: "How long, in seconds, a name found is kept and not asked again (an unknown caller: \
              a tenth of it, at most 60 s; 0: nothing kept). At most 10 000 numbers are kept.",
    },
    TagDef {
        name: "lookup_parallel",
        aliases: &[],
        sections: &[Lookup],
        kind: Kind::Count,
        default: "8",
        secret: false,
        ours: true,
        doc: "Lookups sent to the ERP at the same time, at most. A call beyond waits its turn \
              within `<lookup_timeout>`, then pops with the number.",
    },
    TagDef {
        name: "json_name",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding the caller's name (e.g. `contact.name`); in `<cliktocallevent>`, the name a bridge server looked up.",
    },
    TagDef {
        name: "xml_name",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding the caller's name.",
    },
    TagDef {
        name: "xml_result_name_in_attrib",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_name>`.",
    },
    TagDef {
        name: "xml_name_attrib",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_name_in_attrib>1`.",
    },
    TagDef {
        name: "json_company",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding the caller's company (e.g. `company.name`).",
    },
    TagDef {
        name: "xml_company",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding the caller's company.",
    },
    TagDef {
        name: "xml_result_company_in_attrib",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_company>`.",
    },
    TagDef {
        name: "xml_company_attrib",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_company_in_attrib>1`.",
    },
    TagDef {
        name: "json_record",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding the caller's record in the ERP, an id or a URL (e.g. `id`).",
    },
    TagDef {
        name: "xml_record",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding the caller's record in the ERP, an id or a URL.",
    },
    TagDef {
        name: "xml_result_record_in_attrib",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_record>`.",
    },
    TagDef {
        name: "xml_record_attrib",
        aliases: &[],
        sections: &[Lookup, Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_record_in_attrib>1`.",
    },
    TagDef {
        name: "json_callid",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding the call identifier that ties the events of one call together (OVH `CallId`, Keyyo `CALLREF`).",
    },
    TagDef {
        name: "xml_callid",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding the call identifier that ties the events of one call together (OVH `CallId`, Keyyo `CALLREF`).",
    },
    TagDef {
        name: "xml_result_callid_in_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_callid>` (`<call id='…'/>`).",
    },
    TagDef {
        name: "xml_callid_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_callid_in_attrib>1`.",
    },
    TagDef {
        name: "json_time",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding when the event happened (a bridge server's `at`, OVH `Timestamp`): seconds, milliseconds, microseconds or nanoseconds since 1970, or an RFC 3339 date. `watch`, the screen pop and the reports then show the event's time and durations, not when the desk read it.",
    },
    TagDef {
        name: "xml_time",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding when the event happened (as `<json_time>`).",
    },
    TagDef {
        name: "xml_result_time_in_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_time>` (`<time ms='…'/>`).",
    },
    TagDef {
        name: "xml_time_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_time_in_attrib>1`.",
    },
    TagDef {
        name: "json_line",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding the line the event is for (OVH `Ressource`): the bridge server's relay hands the event to that line's desks. Unset: the called number, or the caller for an outgoing call.",
    },
    TagDef {
        name: "xml_line",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding the line the event is for.",
    },
    TagDef {
        name: "xml_result_line_in_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_line>` (`<line number='…'/>`).",
    },
    TagDef {
        name: "xml_line_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_line_in_attrib>1`.",
    },
    TagDef {
        name: "json_called",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding the number that was called (the line that rings).",
    },
    TagDef {
        name: "xml_called",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding the number that was called (the line that rings).",
    },
    TagDef {
        name: "xml_result_called_in_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_called>` (`<called value='…'/>`).",
    },
    TagDef {
        name: "xml_called_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_called_in_attrib>1`.",
    },
    TagDef {
        name: "json_cursor",
        aliases: &[],
        sections: &[Event],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: true,
        doc: "JSON answer: the field holding a value sent back on the next poll as `$cursor$` (OVH's `Session`), read from the whole answer.",
    },
    TagDef {
        name: "xml_cursor",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "XML answer: the element holding a value sent back on the next poll as `$cursor$` (OVH's `Session`), read from the whole answer.",
    },
    TagDef {
        name: "xml_result_cursor_in_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: that value is an attribute of `<xml_cursor>` (`<session id='…'/>`).",
    },
    TagDef {
        name: "xml_cursor_attrib",
        aliases: &[],
        sections: &[Event],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: true,
        doc: "The attribute holding it, with `<xml_result_cursor_in_attrib>1`.",
    },
    // <cliktocalltoken>
    TagDef {
        name: "with_token",
        aliases: &[],
        sections: &[Token],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: false,
        doc: "1: fetch a token before the web requests that use `$token$`.",
    },
    TagDef {
        name: "json_token",
        aliases: &[],
        sections: &[Token],
        kind: Kind::JsonField,
        default: "",
        secret: false,
        ours: false,
        doc: "JSON answer: the field holding the token.",
    },
    TagDef {
        name: "xml_token",
        aliases: &[],
        sections: &[Token],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: false,
        doc: "XML answer: the element holding the token.",
    },
    TagDef {
        name: "xml_result_token_in_attrib",
        aliases: &[],
        sections: &[Token],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: false,
        doc: "1: the token is an attribute of `<xml_token>` (`<token value='…'/>`).",
    },
    TagDef {
        name: "xml_token_attrib",
        aliases: &[],
        sections: &[Token],
        kind: Kind::XmlName,
        default: "",
        secret: false,
        ours: false,
        doc: "The attribute holding the token, with `<xml_result_token_in_attrib>1`.",
    },
    // <callto>
    TagDef {
        name: "cmd",
        aliases: &[],
        sections: &[Callto],
        kind: Kind::Template,
        default: "",
        secret: false,
        ours: false,
        doc: "The command or URI to launch, e.g. `callto:$teldest$ org=$telorg$`.",
    },
    TagDef {
        name: "cmdshellexecute",
        aliases: &[],
        sections: &[Callto],
        kind: Kind::ShellExecute,
        default: "",
        secret: false,
        ours: false,
        doc: "`OPEN`: hand the command to the desktop's opener as a URI; empty: \
              run it as a program with arguments (never through a shell).",
    },
    // <station>
    TagDef {
        name: "user",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "Account name at the telephony provider (`$user$`).",
    },
    TagDef {
        name: "mdp",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "Password of that account (`$mdp$`). Keep the file readable by its owner only.",
    },
    TagDef {
        name: "telorg",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "This desk's number or extension (`$telorg$`). Empty: the line \
              selected by the line-name model of tapi_param.txt.",
    },
    TagDef {
        name: "ident",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "Identifier of this desk at the CTI server (`$ident$`).",
    },
    TagDef {
        name: "prefix",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Prefix,
        default: "",
        secret: false,
        ours: true,
        doc: "Outside-line prefix put before every number dialled.",
    },
    TagDef {
        name: "lines",
        aliases: &[],
        sections: &[Station],
        kind: Kind::LineList,
        default: "",
        secret: false,
        ours: true,
        doc: "The telephone lines of this desk, `|`-separated; line 1 of \
              tapi_param.txt selects one of them.",
    },
    TagDef {
        name: "account",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The provider account of the line (`$account$`): OVH's billing account, e.g. `ab12345-ovh-1`.",
    },
    TagDef {
        name: "event_token",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "The token of the provider's event service (`$eventtoken$`): OVH's eventToken; \
              with the Keyyo profile, this desk's secret on the bridge server \
              (its `<desk><secret>`).",
    },
    TagDef {
        name: "app_key",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "OVH API application key, for `<auth>ovh`.",
    },
    TagDef {
        name: "app_secret",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "OVH API application secret, for `<auth>ovh`.",
    },
    TagDef {
        name: "consumer_key",
        aliases: &[],
        sections: &[Station],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "OVH API consumer key, for `<auth>ovh`.",
    },
    // <popup>
    TagDef {
        name: "command",
        aliases: &[],
        sections: &[Popup],
        kind: Kind::Template,
        default: "",
        secret: false,
        ours: true,
        doc: "A program and its arguments run for the screen pop, split into words as a \
              shell would but never run by one, e.g. `/opt/erp/fiche --tel $tel$`. \
              Keywords: `$tel$` (caller), `$called$`, `$callref$`, `$event$`, and the \
              station's `$user$`, `$telorg$`, `$ident$`. Started and never waited for.",
    },
    TagDef {
        name: "open_url",
        aliases: &[],
        sections: &[Popup],
        kind: Kind::PageUrl,
        default: "",
        secret: false,
        ours: true,
        doc: "A page opened with the desktop's opener for the screen pop, e.g. the ERP's \
              customer page `https://erp.example/tiers?tel=$tel$`. Keyword values are URL-encoded.",
    },
    TagDef {
        name: "notify",
        aliases: &[],
        sections: &[Popup],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: show a desktop notification with the caller's number and the time. \
              `<noshowwindow>1` turns it off.",
    },
    TagDef {
        name: "trigger",
        aliases: &[],
        sections: &[Popup],
        kind: Kind::PopupTrigger,
        default: "ring",
        secret: false,
        ours: true,
        doc: "Which event of a call runs the screen pop, once per call: `ring` (the first \
              ring or popup event), `popup` (the first `<event_popup>` event only) or \
              `connect` (when the call is answered).",
    },
    // Server file: <server>
    TagDef {
        name: "listen",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Listen,
        default: "127.0.0.1:8082",
        secret: false,
        ours: true,
        doc: "The address and port the bridge server listens on (`--listen` wins). \
              `0.0.0.0:8082` accepts desks of the whole network.",
    },
    TagDef {
        name: "simulator",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: dial through the built-in simulator instead of a provider, and accept \
              simulated incoming calls (`ctibridge sim call`). `--sim` does the same.",
    },
    TagDef {
        name: "max_connections",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Count,
        default: "",
        secret: false,
        ours: true,
        doc: "Connections kept open at most. Beyond, the connection idle the longest \
              (between two requests) is closed to make room, or, when every one is in a \
              request, the newcomer is answered 503. Requests held open (long polls, \
              the browser desk's event streams) take at most nine tenths of them. \
              Default: the process's open-file limit less an eighth of it (64 at least), \
              for the journal, certificates and outgoing requests.",
    },
    TagDef {
        name: "tel_format",
        aliases: &[],
        sections: &[Server],
        kind: Kind::NumberFormat,
        default: "national",
        secret: false,
        ours: true,
        doc: "The form of the numbers desks receive (`tel`, `called` of `getevent`, \
              `history`): `national` (`0612345678`, as a French ERP stores them; a foreign \
              number keeps its country: `0041446681800`), `e164`, `international`, \
              `international00` or `asdialled` (E.164, as the server keeps them). The same \
              caller reaches every desk in the same form, whatever the provider.",
    },
    TagDef {
        name: "hold",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Seconds,
        default: "25",
        secret: false,
        ours: true,
        doc: "How long `getevent` holds a poll that sends its cursor before answering \
              that nothing happened. Polls without a cursor (Divalto's engine, which \
              reads with a one-second timeout) are held 0.8 s.",
    },
    TagDef {
        name: "token_ttl",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Seconds,
        default: "3600",
        secret: false,
        ours: true,
        doc: "How long a token given by `gettoken` is valid. A desk with an expired \
              token gets 401 and asks for a new one.",
    },
    TagDef {
        name: "journal",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The call journal, an SQLite file (relative to the server file's folder). \
              Unset: kept in memory, lost when the server stops.",
    },
    TagDef {
        name: "public_url",
        aliases: &[],
        sections: &[Server],
        kind: Kind::BaseUrl,
        default: "",
        secret: false,
        ours: true,
        doc: "The server's address as the Internet reaches it (`https://cti.example.com`), \
              for the Keyyo notification URL that `serve` and `check --server` print.",
    },
    TagDef {
        name: "tls_cert",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "HTTPS: the server's certificate chain, a PEM file (relative to the server \
              file's folder; the server's certificate first, then the intermediates), with \
              `<tls_key>`. Unset: plain HTTP. Read again, without dropping a connection, when \
              the files change or on SIGHUP.",
    },
    TagDef {
        name: "tls_key",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "HTTPS: the private key of `<tls_cert>`, a PEM file (PKCS#8, PKCS#1 or SEC1; \
              readable by the server only).",
    },
    TagDef {
        name: "monitoring",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "Who besides this machine may read `/healthz` and `/metrics` (a Prometheus \
              server, a load balancer): addresses or ranges (`10.0.0.0/8`), as \
              `<trusted_proxies>` is written. Behind a trusted proxy, the client it names \
              is checked.",
    },
    TagDef {
        name: "trusted_proxies",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The reverse proxies in front of the server (nginx, Caddy): addresses or \
              ranges (`127.0.0.1, 10.0.0.0/8`). Only for a connection from one of them, the \
              client's address is taken from `Forwarded` or `X-Forwarded-For` (the rightmost \
              hop that is not a trusted proxy) and the scheme from `X-Forwarded-Proto`; \
              Keyyo's `<sources>`, rate limits and \"this machine\" use that address. From \
              anyone else those headers are ignored.",
    },
    TagDef {
        name: "relay",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Bool,
        default: "0",
        secret: false,
        ours: true,
        doc: "1: the server polls the provider's events itself (the `<cliktocallevent>` \
              of this file: OVH's events of the whole billing account, with \
              `<station><event_token>`), once for all desks, and hands each event to \
              the desks of its line.",
    },
    TagDef {
        name: "rate",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Count,
        default: "200",
        secret: false,
        ours: true,
        doc: "Requests per second one address may make to the CTI web service (bursts of \
              twice as many); beyond, 429. An office behind one address polls about once \
              a second per desk.",
    },
    // <keyyo_notify>
    TagDef {
        name: "secret",
        aliases: &[],
        sections: &[KeyyoNotify],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "The secret carried by the notification URL set in the Keyyo manager \
              (at least 16 characters). Notifications without it are refused.",
    },
    TagDef {
        name: "cti_url",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::BaseUrl,
        default: "https://ws.keyyo.com/cti",
        secret: false,
        ours: true,
        doc: "The SockJS endpoint of Keyyo's CTI service.",
    },
    TagDef {
        name: "csi_token",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "The CSI token of the account (the Keyyo Manager API makes it; it lives one hour). \
              For a server that runs for months, give `<csi>`, `<oauth_client_id>`, \
              `<oauth_client_secret>` and `<refresh_token>` instead: the server mints its own.",
    },
    TagDef {
        name: "csi",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The account's service identifier (CSI) in the Keyyo Manager API: the server \
              asks `POST <manager_url>/services/<csi>/csi_token` for a CSI token each hour.",
    },
    TagDef {
        name: "oauth_client_id",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The OAuth2 client the Manager API is used with (made by Keyyo for the integrator).",
    },
    TagDef {
        name: "oauth_client_secret",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "The OAuth2 client's secret.",
    },
    TagDef {
        name: "refresh_token",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "An OAuth2 refresh token of the account (scope `cti_admin`), got once through \
              Keyyo's authorization page. Keyyo may give a new one each time it is used: \
              the server keeps the newest in `<refresh_token_file>` and uses it from then on, \
              until this value is changed.",
    },
    TagDef {
        name: "refresh_token_file",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "Where the newest refresh token is kept (mode 0600, replaced atomically; relative \
              to the server file's folder). Unset: `keyyo_refresh_token.json` in the journal's \
              folder, or in the server file's folder without a journal file.",
    },
    TagDef {
        name: "manager_url",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::BaseUrl,
        default: "https://api.keyyo.com/manager/1.0",
        secret: false,
        ours: true,
        doc: "The Keyyo Manager API.",
    },
    TagDef {
        name: "oauth_token_url",
        aliases: &[],
        sections: &[KeyyoCti],
        kind: Kind::BaseUrl,
        default: "https://ssl.keyyo.com/oauth2/token.php",
        secret: false,
        ours: true,
        doc: "Keyyo's OAuth2 token endpoint (a refresh token is exchanged there).",
    },
    TagDef {
        name: "sources",
        aliases: &[],
        sections: &[KeyyoNotify],
        kind: Kind::Regex,
        default: "127\\.0\\.0\\.1|::1",
        secret: false,
        ours: true,
        doc: "The addresses Keyyo notifies from, as the Keyyo manager writes them: a \
              regular expression matched against the whole address, such as \
              `62\\.39\\.136\\.157|83\\.136\\.160\\.79`.",
    },
    TagDef {
        name: "rate",
        aliases: &[],
        sections: &[KeyyoNotify],
        kind: Kind::Count,
        default: "200",
        secret: false,
        ours: true,
        doc: "Notifications per second one address may send (bursts of twice as many); \
              beyond, 429. A busy Keyyo account sends a few a second.",
    },
    // <desk>
    TagDef {
        name: "ident",
        aliases: &[],
        sections: &[Desk],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The desk's identifier, as its `<ident>` (or `<user>`) says.",
    },
    TagDef {
        name: "secret",
        aliases: &[],
        sections: &[Desk],
        kind: Kind::Text,
        default: "",
        secret: true,
        ours: true,
        doc: "The desk's secret (at least 12 characters, not a common word or password however dressed): its `<mdp>` in Basic \
              authentication, or its `<event_token>` for the Keyyo profile.",
    },
    TagDef {
        name: "lines",
        aliases: &[],
        sections: &[Desk],
        kind: Kind::LineList,
        default: "",
        secret: false,
        ours: true,
        doc: "The lines the desk may follow and dial from, `|`-separated, in any form \
              (`0388202020`, `+33 3 88 20 20 20`, `33388202020`, `0033388202020`, an \
              extension `1003`): every line the server meets — desks, `telorg`, Keyyo's \
              and OVH's numbers, the simulator — is read into one form (E.164) before \
              it is compared.",
    },
    TagDef {
        name: "role",
        aliases: &[],
        sections: &[Desk],
        kind: Kind::Text,
        default: "desk",
        secret: false,
        ours: true,
        doc: "`desk` (its own lines) or `supervisor`: in the browser (`/desk/`), a \
              supervisor also has the wall, every line of the server at a glance.",
    },
    TagDef {
        name: "record_url",
        aliases: &[],
        sections: &[Server],
        kind: Kind::Text,
        default: "",
        secret: false,
        ours: true,
        doc: "The ERP's page of a caller, linked from the browser desk's banner and \
              history: an http(s) URL with `$record$`, `$tel$`, `$tele164$`, `$name$` or \
              `$company$` (URL-encoded), e.g. `https://erp.example/tiers/$record$`.",
    },
];

/// A tag of [`TAGS`] as the code names it: `Tag::TIMEOUT1`, never the
/// string `"timeout1"` — a misspelt constant does not compile, and
/// `every_tag_constant_is_a_row` checks each against the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(&'static str);

macro_rules! tags {
    ($($constant:ident = $name:literal,)*) => {
        #[allow(missing_docs)]
        impl Tag {
            $(pub const $constant: Tag = Tag($name);)*
            /// Every tag constant.
            pub const ALL: &'static [Tag] = &[$(Tag::$constant,)*];
        }
    };
}

tags! {
    ACCOUNT = "account",
    API_URL = "api_url",
    APP_KEY = "app_key",
    APP_SECRET = "app_secret",
    AUTH = "auth",
    CAFILE = "cafile",
    CMD = "cmd",
    CMDSHELLEXECUTE = "cmdshellexecute",
    COMMAND = "command",
    CONSUMER_KEY = "consumer_key",
    CONTENTTYPE = "contenttype",
    COUNTRY = "country",
    DATA = "data",
    DATAENCODE = "dataencode",
    DEBUG = "debug",
    EVEN_CONNECT = "even_connect",
    EVENT_DIAL = "event_dial",
    DIRECTORY = "directory",
    LOOKUP_TIMEOUT = "lookup_timeout",
    LOOKUP_CACHE = "lookup_cache",
    CTI_URL = "cti_url",
    CSI_TOKEN = "csi_token",
    CSI = "csi",
    ROLE = "role",
    RECORD_URL = "record_url",
    OAUTH_CLIENT_ID = "oauth_client_id",
    OAUTH_CLIENT_SECRET = "oauth_client_secret",
    REFRESH_TOKEN = "refresh_token",
    REFRESH_TOKEN_FILE = "refresh_token_file",
    MANAGER_URL = "manager_url",
    OAUTH_TOKEN_URL = "oauth_token_url",
    REPORT_WHEN = "report_when",
    LOOKUP_PARALLEL = "lookup_parallel",
    JSON_NAME = "json_name",
    XML_NAME = "xml_name",
    XML_RESULT_NAME_IN_ATTRIB = "xml_result_name_in_attrib",
    XML_NAME_ATTRIB = "xml_name_attrib",
    JSON_COMPANY = "json_company",
    XML_COMPANY = "xml_company",
    XML_RESULT_COMPANY_IN_ATTRIB = "xml_result_company_in_attrib",
    XML_COMPANY_ATTRIB = "xml_company_attrib",
    JSON_RECORD = "json_record",
    XML_RECORD = "xml_record",
    XML_RESULT_RECORD_IN_ATTRIB = "xml_result_record_in_attrib",
    XML_RECORD_ATTRIB = "xml_record_attrib",
    EVENT_MISSED = "event_missed",
    EVENT_POPUP = "event_popup",
    EVENT_RELEASE = "event_release",
    EVENT_RING = "event_ring",
    EVENT_TOKEN = "event_token",
    EVENTS_URL = "events_url",
    HEADERS = "headers",
    HOLD = "hold",
    IDENT = "ident",
    INSECURE = "insecure",
    INTERFACE = "interface",
    JOURNAL = "journal",
    JSON_CALLED = "json_called",
    JSON_CALLID = "json_callid",
    JSON_CURSOR = "json_cursor",
    JSON_EVENT = "json_event",
    JSON_EVENTS = "json_events",
    JSON_LINE = "json_line",
    JSON_SESSION = "json_session",
    JSON_TEL = "json_tel",
    JSON_TOKEN = "json_token",
    JSON_TIME = "json_time",
    LINES = "lines",
    LISTEN = "listen",
    MAX_CONNECTIONS = "max_connections",
    MDP = "mdp",
    METHODE = "methode",
    MIN_INTERVAL = "min_interval",
    NOSHOWWINDOW = "noshowwindow",
    NOTIFY = "notify",
    NUMBER_FORMAT = "number_format",
    OPEN_URL = "open_url",
    PREFIX = "prefix",
    PROVIDER = "provider",
    PUBLIC_URL = "public_url",
    RATE = "rate",
    RELAY = "relay",
    RETRY_BODY = "retry_body",
    SECRET = "secret",
    SESSION_LOST = "session_lost",
    SESSION_URL = "session_url",
    SIMULATOR = "simulator",
    SOURCES = "sources",
    SUBSCRIBE_URL = "subscribe_url",
    SUCCESS_BODY = "success_body",
    TEL_FORMAT = "tel_format",
    TELORG = "telorg",
    TIMEOUT1 = "timeout1",
    TIMEOUT2 = "timeout2",
    TIMEOUT3 = "timeout3",
    TLS_CERT = "tls_cert",
    TLS_KEY = "tls_key",
    TRUSTED_PROXIES = "trusted_proxies",
    MONITORING = "monitoring",
    TOKEN_TTL = "token_ttl",
    TRIGGER = "trigger",
    TYPE_RETURN = "type_return",
    URL = "url",
    USER = "user",
    WITH_EVENT = "with_event",
    WITH_TOKEN = "with_token",
    XML_CALLED = "xml_called",
    XML_CALLED_ATTRIB = "xml_called_attrib",
    XML_CALLID = "xml_callid",
    XML_CALLID_ATTRIB = "xml_callid_attrib",
    XML_CURSOR = "xml_cursor",
    XML_CURSOR_ATTRIB = "xml_cursor_attrib",
    XML_EVENT = "xml_event",
    XML_EVENT_ATTRIB = "xml_event_attrib",
    XML_EVENTS = "xml_events",
    XML_LINE = "xml_line",
    XML_LINE_ATTRIB = "xml_line_attrib",
    XML_RESULT_CALLED_IN_ATTRIB = "xml_result_called_in_attrib",
    XML_RESULT_CALLID_IN_ATTRIB = "xml_result_callid_in_attrib",
    XML_RESULT_CURSOR_IN_ATTRIB = "xml_result_cursor_in_attrib",
    XML_RESULT_EVENT_IN_ATTRIB = "xml_result_event_in_attrib",
    XML_RESULT_LINE_IN_ATTRIB = "xml_result_line_in_attrib",
    XML_RESULT_TEL_IN_ATTRIB = "xml_result_tel_in_attrib",
    XML_RESULT_TOKEN_IN_ATTRIB = "xml_result_token_in_attrib",
    XML_TEL = "xml_tel",
    XML_TEL_ATTRIB = "xml_tel_attrib",
    XML_TOKEN = "xml_token",
    XML_TIME = "xml_time",
    XML_TIME_ATTRIB = "xml_time_attrib",
    XML_RESULT_TIME_IN_ATTRIB = "xml_result_time_in_attrib",
    XML_TOKEN_ATTRIB = "xml_token_attrib",
}

impl Tag {
    /// Its name in the table (and in param files).
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Its row for `section`, if it is a tag of that section.
    pub fn def(self, section: Section) -> Option<&'static TagDef> {
        TAGS.iter()
            .find(|t| t.name == self.0 && t.sections.contains(&section))
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A field read in a provider's answer, and the tags that say where: one
/// for JSON, three for XML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Tel,
    Event,
    Token,
    Callid,
    Time,
    Line,
    Called,
    Cursor,
    Name,
    Company,
    Record,
}

impl Field {
    /// As the tags spell it (`tel` in `<json_tel>`).
    pub fn name(self) -> &'static str {
        self.tags()[0].0.trim_start_matches("json_")
    }

    /// `<json_…>`, `<xml_…>`, `<xml_result_…_in_attrib>`, `<xml_…_attrib>`.
    pub fn tags(self) -> [Tag; 4] {
        match self {
            Field::Tel => [
                Tag::JSON_TEL,
                Tag::XML_TEL,
                Tag::XML_RESULT_TEL_IN_ATTRIB,
                Tag::XML_TEL_ATTRIB,
            ],
            Field::Event => [
                Tag::JSON_EVENT,
                Tag::XML_EVENT,
                Tag::XML_RESULT_EVENT_IN_ATTRIB,
                Tag::XML_EVENT_ATTRIB,
            ],
            Field::Token => [
                Tag::JSON_TOKEN,
                Tag::XML_TOKEN,
                Tag::XML_RESULT_TOKEN_IN_ATTRIB,
                Tag::XML_TOKEN_ATTRIB,
            ],
            Field::Callid => [
                Tag::JSON_CALLID,
                Tag::XML_CALLID,
                Tag::XML_RESULT_CALLID_IN_ATTRIB,
                Tag::XML_CALLID_ATTRIB,
            ],
            Field::Time => [
                Tag::JSON_TIME,
                Tag::XML_TIME,
                Tag::XML_RESULT_TIME_IN_ATTRIB,
                Tag::XML_TIME_ATTRIB,
            ],
            Field::Line => [
                Tag::JSON_LINE,
                Tag::XML_LINE,
                Tag::XML_RESULT_LINE_IN_ATTRIB,
                Tag::XML_LINE_ATTRIB,
            ],
            Field::Called => [
                Tag::JSON_CALLED,
                Tag::XML_CALLED,
                Tag::XML_RESULT_CALLED_IN_ATTRIB,
                Tag::XML_CALLED_ATTRIB,
            ],
            Field::Cursor => [
                Tag::JSON_CURSOR,
                Tag::XML_CURSOR,
                Tag::XML_RESULT_CURSOR_IN_ATTRIB,
                Tag::XML_CURSOR_ATTRIB,
            ],
            Field::Name => [
                Tag::JSON_NAME,
                Tag::XML_NAME,
                Tag::XML_RESULT_NAME_IN_ATTRIB,
                Tag::XML_NAME_ATTRIB,
            ],
            Field::Company => [
                Tag::JSON_COMPANY,
                Tag::XML_COMPANY,
                Tag::XML_RESULT_COMPANY_IN_ATTRIB,
                Tag::XML_COMPANY_ATTRIB,
            ],
            Field::Record => [
                Tag::JSON_RECORD,
                Tag::XML_RECORD,
                Tag::XML_RESULT_RECORD_IN_ATTRIB,
                Tag::XML_RECORD_ATTRIB,
            ],
        }
    }
}

impl TagDef {
    /// The row of tag `name` (any spelling, case-insensitive) in `section`.
    pub fn lookup(section: Section, name: &str) -> Option<&'static TagDef> {
        TAGS.iter()
            .find(|t| t.sections.contains(&section) && t.is_named(name))
    }

    /// Every row of tag `name`, whatever its section.
    pub fn lookup_any(name: &str) -> impl Iterator<Item = &'static TagDef> + '_ {
        TAGS.iter().filter(move |t| t.is_named(name))
    }

    /// Its [`Tag`].
    pub fn tag(&self) -> Tag {
        Tag(self.name)
    }

    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// Where a keyword's value comes from at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "tag")]
pub enum KeywordSource {
    /// A tag of the station settings.
    Station(&'static str),
    /// The number the ERP or the user asks to call.
    Dialled,
    /// The answer of the token request.
    TokenAnswer,
    /// Base64 of `user:mdp`.
    UserAndPassword,
    /// The kind of request: `DIAL` for the dial request.
    RequestKind,
    /// The other party's name: `dial --name`, or the caller looked up.
    CalleeName,
    /// The caller's company, looked up.
    Company,
    /// A field of the finished call being reported (`direction`, `kind`…).
    CallField(&'static str),
    /// The value read with `<json_cursor>`/`<xml_cursor>` from the last event answer.
    Cursor,
    /// The caller's number of the call being popped.
    Caller,
    /// The caller's number in E.164 (`+33388202020`), for a lookup.
    CallerE164,
    /// The last nine digits of the caller's number, for a lookup.
    CallerTail,
    /// The caller's number in international digits (`33388202020`).
    CallerIntl,
    /// The called number of the call being popped.
    Called,
    /// The call identifier of the call being popped.
    CallRef,
    /// A base address set in `<global>` (`<api_url>`, `<events_url>`),
    /// put in URLs as is.
    BaseUrl(&'static str),
    /// `dial --from`: the number rung first ("mise en relation").
    From,
    /// `dial --record`: `1`, else empty; in a pop, the caller's record.
    Record,
    /// `sms`'s message.
    Message,
    /// `forward-profile`'s profile name.
    Profile,
    /// The id read from the `<session_url>` answer.
    Session,
}

#[derive(Debug)]
pub struct KeywordDef {
    /// Written `$name$`.
    pub name: &'static str,
    /// Other spellings accepted with a warning.
    pub aliases: &'static [&'static str],
    /// Sections where the keyword has a value.
    pub known_in: &'static [Section],
    pub source: KeywordSource,
    /// Masked in every output.
    pub secret: bool,
    pub ours: bool,
    pub doc: &'static str,
}

const STATION_KNOWN: &[Section] = &[
    Dial, Event, Token, Callto, Popup, Sms, Forward, Lookup, Report,
];
/// Secrets are not put on a screen-pop command line, where any local user
/// can read them.
const SECRET_KNOWN: &[Section] = &[Dial, Event, Token, Callto, Sms, Forward, Lookup, Report];

pub(crate) static KEYWORDS: &[KeywordDef] = &[
    KeywordDef {
        name: "user",
        aliases: &[],
        known_in: STATION_KNOWN,
        source: KeywordSource::Station("user"),
        secret: false,
        ours: false,
        doc: "The station's user name.",
    },
    KeywordDef {
        name: "mdp",
        aliases: &["mpd"],
        known_in: SECRET_KNOWN,
        source: KeywordSource::Station("mdp"),
        secret: true,
        ours: false,
        doc: "The station's password (`$mpd$`, a spelling seen in Divalto's own text, is read as `$mdp$`).",
    },
    KeywordDef {
        name: "telorg",
        aliases: &[],
        known_in: STATION_KNOWN,
        source: KeywordSource::Station("telorg"),
        secret: false,
        ours: false,
        doc: "The station's own number or extension.",
    },
    KeywordDef {
        name: "teldest",
        aliases: &[],
        known_in: &[Dial, Callto, Sms],
        source: KeywordSource::Dialled,
        secret: false,
        ours: false,
        doc: "The number to call, after the outside-line prefix and formatting.",
    },
    KeywordDef {
        name: "token",
        aliases: &[],
        known_in: &[Dial, Event],
        source: KeywordSource::TokenAnswer,
        secret: true,
        ours: false,
        doc: "The token read from the answer of `<cliktocalltoken>` (needs `<with_token>1`).",
    },
    KeywordDef {
        name: "ident",
        aliases: &[],
        known_in: STATION_KNOWN,
        source: KeywordSource::Station("ident"),
        secret: false,
        ours: false,
        doc: "The station's identifier.",
    },
    KeywordDef {
        name: "auth",
        aliases: &[],
        known_in: SECRET_KNOWN,
        source: KeywordSource::UserAndPassword,
        secret: true,
        ours: false,
        doc: "Base64 of `user:mdp`, e.g. for `Authorization: Basic $auth$`.",
    },
    KeywordDef {
        name: "event",
        aliases: &[],
        known_in: &[Dial, Popup],
        source: KeywordSource::RequestKind,
        secret: false,
        ours: false,
        doc: "The command sent: `DIAL` in the dial request; in `<popup>`, the name of the event that runs the screen pop.",
    },
    KeywordDef {
        name: "name",
        aliases: &[],
        known_in: &[Dial, Callto, Popup, Report],
        source: KeywordSource::CalleeName,
        secret: false,
        ours: true,
        doc: "The other party's name. In a dial: the person called, from `dial --name` (empty without it), for providers that show it. In `<popup>`: the caller's name, as the `<lookup>` (or the bridge server's) found it; empty for an unknown caller.",
    },
    KeywordDef {
        name: "company",
        aliases: &[],
        known_in: &[Popup, Report],
        source: KeywordSource::Company,
        secret: false,
        ours: true,
        doc: "The caller's company, as the `<lookup>` (or the bridge server's) found it; empty for an unknown caller.",
    },
    KeywordDef {
        name: "cursor",
        aliases: &[],
        known_in: &[Event],
        source: KeywordSource::Cursor,
        secret: false,
        ours: true,
        doc: "The value read with `<json_cursor>`/`<xml_cursor>` from the last event answer, sent back so the source resumes where it left off (OVH's `Session`); empty on the first poll, when a URL parameter `NAME=$cursor$` is left out.",
    },
    KeywordDef {
        name: "session",
        aliases: &[],
        known_in: &[Event],
        source: KeywordSource::Session,
        secret: false,
        ours: true,
        doc: "The id of the event session made with `<session_url>` (OVH events v2).",
    },
    KeywordDef {
        name: "tel",
        aliases: &[],
        known_in: &[Popup, Lookup, Report],
        source: KeywordSource::Caller,
        secret: false,
        ours: true,
        doc: "The caller's number (empty when withheld), in the form the ERP stores (`<tel_format>`, national by default).",
    },
    KeywordDef {
        name: "tele164",
        aliases: &[],
        known_in: &[Lookup, Report],
        source: KeywordSource::CallerE164,
        secret: false,
        ours: true,
        doc: "The caller's number in E.164 (`+33388202020`).",
    },
    KeywordDef {
        name: "tel9",
        aliases: &[],
        known_in: &[Lookup, Report],
        source: KeywordSource::CallerTail,
        secret: false,
        ours: true,
        doc: "The last nine digits of the caller's number (`388202020`), for an ERP that matches on them.",
    },
    KeywordDef {
        name: "telintl",
        aliases: &[],
        known_in: &[Lookup, Report],
        source: KeywordSource::CallerIntl,
        secret: false,
        ours: true,
        doc: "The caller's number in international digits, without `+` (`33388202020`), as Keyyo writes it.",
    },
    KeywordDef {
        name: "called",
        aliases: &[],
        known_in: &[Popup, Report],
        source: KeywordSource::Called,
        secret: false,
        ours: true,
        doc: "The number that was called (empty when the source does not say).",
    },
    KeywordDef {
        name: "callref",
        aliases: &[],
        known_in: &[Popup, Report],
        source: KeywordSource::CallRef,
        secret: false,
        ours: true,
        doc: "The call identifier (empty when the source gives none).",
    },
    KeywordDef {
        name: "direction",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("direction"),
        secret: false,
        ours: true,
        doc: "`in` (the line was called) or `out` (it called).",
    },
    KeywordDef {
        name: "kind",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("kind"),
        secret: false,
        ours: true,
        doc: "What the call was for the line: `made`, `received` or `missed`.",
    },
    KeywordDef {
        name: "state",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("state"),
        secret: false,
        ours: true,
        doc: "How it ended: `answered`, `missed` (incoming, not answered) or `unanswered` (outgoing, not answered).",
    },
    KeywordDef {
        name: "line",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("line"),
        secret: false,
        ours: true,
        doc: "The line of the call, in the form the ERP stores (`<tel_format>`, national by default).",
    },
    KeywordDef {
        name: "linee164",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("linee164"),
        secret: false,
        ours: true,
        doc: "The line of the call in E.164.",
    },
    KeywordDef {
        name: "setup",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("setup"),
        secret: false,
        ours: true,
        doc: "When the call began, local time, RFC 3339 (`2026-12-02T10:15:00+01:00`).",
    },
    KeywordDef {
        name: "setupunix",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("setupunix"),
        secret: false,
        ours: true,
        doc: "When the call began, in seconds since 1970.",
    },
    KeywordDef {
        name: "ringing",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("ringing"),
        secret: false,
        ours: true,
        doc: "Seconds it rang (to the answer, or to the end of an unanswered call).",
    },
    KeywordDef {
        name: "talk",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("talk"),
        secret: false,
        ours: true,
        doc: "Seconds of conversation (0 when it was not answered).",
    },
    KeywordDef {
        name: "replaces",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("replaces"),
        secret: false,
        ours: true,
        doc: "The reference of the call this one replaced (picked up by a colleague, transferred); empty.",
    },
    KeywordDef {
        name: "reportid",
        aliases: &[],
        known_in: &[Report],
        source: KeywordSource::CallField("reportid"),
        secret: false,
        ours: true,
        doc: "A key that names this report and stays the same when it is sent again (`<line>-<callref>`): send it as an `Idempotency-Key` header and the ERP can tell a repeat.",
    },
    KeywordDef {
        name: "api",
        aliases: &[],
        known_in: REQUEST,
        source: KeywordSource::BaseUrl("api_url"),
        secret: false,
        ours: true,
        doc: "The provider's API address, `<api_url>` of `<global>`, put in the URL as is.",
    },
    KeywordDef {
        name: "events",
        aliases: &[],
        known_in: REQUEST,
        source: KeywordSource::BaseUrl("events_url"),
        secret: false,
        ours: true,
        doc: "The provider's event service address, `<events_url>` of `<global>`, put in the URL as is.",
    },
    KeywordDef {
        name: "account",
        aliases: &[],
        known_in: STATION_KNOWN,
        source: KeywordSource::Station("account"),
        secret: false,
        ours: true,
        doc: "The provider account of the line (OVH billing account).",
    },
    KeywordDef {
        name: "eventtoken",
        aliases: &[],
        known_in: &[Event, Token],
        source: KeywordSource::Station("event_token"),
        secret: true,
        ours: true,
        doc: "The token of the provider's event service (OVH eventToken); with the Keyyo \
              profile, the desk's secret on the bridge server.",
    },
    KeywordDef {
        name: "from",
        aliases: &[],
        known_in: &[Dial],
        source: KeywordSource::From,
        secret: false,
        ours: true,
        doc: "`dial --from NUMBER`: the number the provider rings first and then connects to the callee (Keyyo's \"mise en relation\"); empty without it. A URL parameter `NAME=$from$` is left out when it is empty.",
    },
    KeywordDef {
        name: "record",
        aliases: &[],
        known_in: &[Dial, Popup, Report],
        source: KeywordSource::Record,
        secret: false,
        ours: true,
        doc: "In a dial: `1` with `dial --record`, else empty (a URL parameter `NAME=$record$` is then left out). In `<popup>`: the caller's record in the ERP (an id or a URL), as the `<lookup>` found it; empty for an unknown caller.",
    },
    KeywordDef {
        name: "message",
        aliases: &[],
        known_in: &[Sms],
        source: KeywordSource::Message,
        secret: false,
        ours: true,
        doc: "The text of `ctibridge sms NUMBER MESSAGE`.",
    },
    KeywordDef {
        name: "profile",
        aliases: &[],
        known_in: &[Forward],
        source: KeywordSource::Profile,
        secret: false,
        ours: true,
        doc: "The forwarding profile of `ctibridge forward-profile NAME`.",
    },
];

impl KeywordDef {
    /// Whether `name` is a keyword that gives a server's base address
    /// (`$api_url$`, `$events_url$`).
    pub fn is_base_url(name: &str) -> bool {
        KeywordDef::lookup(name).is_some_and(|(k, _)| matches!(k.source, KeywordSource::BaseUrl(_)))
    }

    /// Finds a keyword by exact name or alias. Returns the row and whether an
    /// alias was used.
    pub fn lookup(name: &str) -> Option<(&'static KeywordDef, bool)> {
        KEYWORDS.iter().find_map(|k| {
            if k.name == name {
                Some((k, false))
            } else if k.aliases.contains(&name) {
                Some((k, true))
            } else {
                None
            }
        })
    }

    pub fn known_in(&self, section: Section) -> bool {
        self.known_in.contains(&section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_constant_is_a_row() {
        let constants: std::collections::BTreeSet<&str> =
            Tag::ALL.iter().map(|t| t.name()).collect();
        let rows: std::collections::BTreeSet<&str> = TAGS.iter().map(|t| t.name).collect();
        assert_eq!(constants, rows);
        for f in [
            Field::Tel,
            Field::Event,
            Field::Token,
            Field::Callid,
            Field::Time,
            Field::Line,
            Field::Called,
            Field::Cursor,
        ] {
            let [json, xml, in_attrib, attrib] = f.tags();
            assert_eq!(json.name(), format!("json_{}", f.name()));
            assert_eq!(xml.name(), format!("xml_{}", f.name()));
            assert_eq!(
                in_attrib.name(),
                format!("xml_result_{}_in_attrib", f.name())
            );
            assert_eq!(attrib.name(), format!("xml_{}_attrib", f.name()));
        }
    }

    #[test]
    fn every_tag_is_reachable_and_unique_per_section() {
        for s in SECTIONS {
            let mut seen = std::collections::HashSet::new();
            for t in TAGS.iter().filter(|t| t.sections.contains(&s.section)) {
                assert!(seen.insert(t.name), "{} twice in {}", t.name, s.name);
                for a in t.aliases {
                    assert!(seen.insert(a), "{a} twice in {}", s.name);
                }
            }
        }
    }

    #[test]
    fn every_request_section_has_every_request_tag() {
        for s in SECTIONS.iter().filter(|s| s.section.is_request()) {
            for tag in ["url", "methode", "data", "headers", "contenttype", "auth"] {
                assert!(
                    TagDef::lookup(s.section, tag).is_some(),
                    "<{tag}> in <{}>",
                    s.name
                );
            }
        }
    }

    #[test]
    fn no_tag_shares_a_name_with_a_section() {
        for t in TAGS {
            assert!(Section::lookup(t.name).is_none(), "{}", t.name);
        }
    }

    #[test]
    fn both_spellings() {
        assert_eq!(Section::lookup("clicktocalldial"), Some(Section::Dial));
        assert_eq!(Section::lookup("cliktocalldial"), Some(Section::Dial));
        assert_eq!(
            TagDef::lookup(Section::Global, "event_connect").map(|t| t.name),
            Some("even_connect")
        );
        assert_eq!(
            KeywordDef::lookup("mpd").map(|(k, a)| (k.name, a)),
            Some(("mdp", true))
        );
    }
}
