//! `ctibridge check`: the diagnostics, then what the configuration means:
//! files read, interface chosen, every section's effective values (defaults
//! marked, secrets masked), every keyword and where its value comes from.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::{shown, Config, Origin, Settings};
use crate::diag::JsonDiagnostic;
use crate::load::{FileRead, FileStatus, Loaded};
use crate::schema::{KeywordSource, Section, Tag, SECTIONS, TAGS};
use crate::source::{SourceMap, Span};

/// Everything `check --json` prints.
#[derive(Serialize)]
pub struct Report {
    /// No error (warnings allowed).
    pub ok: bool,
    pub errors: usize,
    pub warnings: usize,
    /// The first [`crate::diag::SHOWN`] problems.
    pub diagnostics: Vec<JsonDiagnostic>,
    /// Problems not in `diagnostics`.
    pub not_shown: usize,
    /// Present when there is no error.
    pub explanation: Option<Explanation>,
}

#[derive(Serialize)]
pub struct Explanation {
    pub files: Vec<FileRead>,
    pub interface: InterfaceView,
    pub sections: Vec<SectionView>,
    pub keywords: Vec<KeywordView>,
    pub station: StationView,
    pub tapi: TapiView,
}

#[derive(Serialize)]
pub struct InterfaceView {
    pub name: &'static str,
    pub reason: &'static str,
}

#[derive(Serialize)]
pub struct SectionView {
    pub section: &'static str,
    pub values: Vec<ValueView>,
}

#[derive(Serialize)]
pub struct ValueView {
    pub tag: &'static str,
    /// Secrets are masked.
    pub value: String,
    /// `default`, or `path:line` of the line that sets it.
    pub origin: String,
    /// A tag of ours, not Divalto's.
    pub extension: bool,
}

#[derive(Serialize)]
pub struct KeywordView {
    pub keyword: String,
    /// `path:line:col` of each use.
    pub used_at: Vec<String>,
    pub value_from: String,
}

#[derive(Serialize)]
pub struct StationView {
    pub lines: Vec<String>,
    /// The line the tapi line-name model selects.
    pub selected_line: Option<String>,
    pub telorg: String,
    pub telorg_from: String,
}

#[derive(Serialize)]
pub struct TapiView {
    pub line_model: String,
    pub line_model_from: String,
    pub parameters: Vec<(String, String)>,
    pub connector: String,
    pub connector_from: String,
}

fn at(sources: &SourceMap, span: Span) -> String {
    let path = sources.get(span.file).path.display();
    if span.line == 0 {
        path.to_string()
    } else {
        format!("{path}:{}", span.line)
    }
}

fn origin(sources: &SourceMap, o: Origin) -> String {
    match o {
        Origin::Default => "default".to_owned(),
        Origin::File(span) => at(sources, span),
    }
}

/// Builds the report of a load.
pub fn report(loaded: &Loaded) -> Report {
    let sources = &loaded.sources;
    let diagnostics = loaded
        .diagnostics
        .shown()
        .into_iter()
        .map(|d| d.to_json(sources))
        .collect();
    let explanation = match &loaded.checked {
        Some(c) if !loaded.has_errors() => {
            Some(explain(sources, &loaded.files, &c.config, &c.settings))
        }
        _ => None,
    };
    Report {
        ok: !loaded.has_errors(),
        errors: loaded.diagnostics.error_count(),
        warnings: loaded.diagnostics.warning_count(),
        not_shown: loaded.diagnostics.not_shown(),
        diagnostics,
        explanation,
    }
}

/// Defaults of `json_*` / `xml_*` tags are shown only for the section's
/// answer type: an xml flag is noise in a json section.
fn answer_type_matches(settings: &Settings, section: Section, tag: &str) -> bool {
    let answer_type = settings
        .effective(section, Tag::TYPE_RETURN)
        .map(|v| v.entry.value.text.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "json".to_owned());
    if tag.starts_with("xml_") {
        answer_type == "xml"
    } else if tag.starts_with("json_") {
        answer_type == "json"
    } else {
        true
    }
}

fn explain(
    sources: &SourceMap,
    files: &[FileRead],
    config: &Config,
    settings: &Settings,
) -> Explanation {
    let sections = SECTIONS
        .iter()
        .filter(|d| {
            d.section == Section::Global
                || d.section == Section::Station
                || settings.has_section(d.section)
        })
        .map(|d| SectionView {
            section: d.name,
            values: TAGS
                .iter()
                .filter(|t| t.sections.contains(&d.section))
                .filter_map(|t| match settings.effective(d.section, t.tag()) {
                    Some(v) => Some(ValueView {
                        tag: t.name,
                        value: shown(t, v.entry.value.text.trim()),
                        origin: at(sources, v.entry.value.span),
                        extension: t.ours,
                    }),
                    None if !t.default.is_empty()
                        && answer_type_matches(settings, d.section, t.name) =>
                    {
                        Some(ValueView {
                            tag: t.name,
                            value: t.default.to_owned(),
                            origin: "default".to_owned(),
                            extension: t.ours,
                        })
                    }
                    None => None,
                })
                .collect(),
        })
        .collect();

    let mut keywords: Vec<KeywordView> = Vec::new();
    for u in &config.keyword_uses {
        let name = format!("${}$", u.keyword.name);
        let loc = format!("{}:{}", at(sources, u.span), u.span.col);
        match keywords.iter_mut().find(|k| k.keyword == name) {
            Some(k) => k.used_at.push(loc),
            None => keywords.push(KeywordView {
                keyword: name,
                used_at: vec![loc],
                value_from: value_from(sources, config, u.keyword.source),
            }),
        }
    }

    let st = &config.station;
    let station = StationView {
        lines: st.lines.value.clone(),
        selected_line: st.selected_line.map(|i| st.lines.value[i].clone()),
        telorg: st.telorg.value.clone(),
        telorg_from: if st.telorg_from_line {
            "the line selected by the tapi line-name model".to_owned()
        } else {
            origin(sources, st.telorg.origin)
        },
    };
    let tapi = TapiView {
        line_model: config.tapi.model.value.clone(),
        line_model_from: match config.tapi.model.origin {
            Origin::Default => "default: the last line".to_owned(),
            o => origin(sources, o),
        },
        parameters: config
            .tapi
            .params
            .iter()
            .map(|(n, v, _)| (n.clone(), v.clone()))
            .collect(),
        connector: config.tapi.connector.value.clone(),
        connector_from: origin(sources, config.tapi.connector.origin),
    };
    Explanation {
        files: files.to_vec(),
        interface: InterfaceView {
            name: config.interface.value.as_str(),
            reason: config.interface_reason,
        },
        sections,
        keywords,
        station,
        tapi,
    }
}

fn value_from(sources: &SourceMap, config: &Config, source: KeywordSource) -> String {
    let st = &config.station;
    match source {
        KeywordSource::Station(tag) => {
            let (set, o) = st
                .keyword_value(tag)
                .map_or((false, Origin::Default), |(v, o)| (!v.is_empty(), o));
            if tag == "telorg" && st.telorg_from_line {
                format!("the line selected among <lines> ({})", origin(sources, o))
            } else if set {
                format!("<{tag}> at {}", origin(sources, o))
            } else {
                format!("not set: give <{tag}> in <station> or station.txt")
            }
        }
        KeywordSource::Dialled => {
            let prefix = &st.prefix.value;
            if prefix.is_empty() {
                "the number to call (command line or ERP)".to_owned()
            } else {
                format!("the number to call, after the outside-line prefix {prefix}")
            }
        }
        KeywordSource::TokenAnswer => match &config.token {
            Some(t) => {
                let field = t.token.describe();
                format!(
                    "{field} of the answer to <cliktocalltoken> <url> ({})",
                    origin(sources, t.request.url.origin)
                )
            }
            None => "no token is requested".to_owned(),
        },
        KeywordSource::UserAndPassword => "base64 of <user>:<mdp> of the station".to_owned(),
        KeywordSource::RequestKind => {
            "DIAL in the dial request; the event's name in <popup>".to_owned()
        }
        KeywordSource::CalleeName => {
            "the name given with dial --name; in <popup>, the caller's name looked up".to_owned()
        }
        KeywordSource::Company => "the caller's company looked up".to_owned(),
        KeywordSource::CallField(name) => format!("the finished call reported ({name})"),
        KeywordSource::Cursor => match &config.event {
            Some(e) => match &e.cursor {
                Some(f) => format!("{} of the last event answer", f.describe()),
                None => {
                    "nothing: no <json_cursor> or <xml_cursor> is set, so it stays empty".to_owned()
                }
            },
            None => "no events are polled".to_owned(),
        },
        KeywordSource::Caller => "the caller of the call being popped".to_owned(),
        KeywordSource::CallerE164 => "the caller looked up, in E.164".to_owned(),
        KeywordSource::CallerTail => "the last nine digits of the caller looked up".to_owned(),
        KeywordSource::CallerIntl => {
            "the caller looked up, in international digits without +".to_owned()
        }
        KeywordSource::Called => "the number called by the call being popped".to_owned(),
        KeywordSource::CallRef => "the identifier of the call being popped".to_owned(),
        KeywordSource::BaseUrl(tag) => {
            let v = if tag == "api_url" {
                &config.global.api_url
            } else {
                &config.global.events_url
            };
            if v.value.is_empty() {
                format!("not set: give <{tag}> in <global>")
            } else {
                format!("<{tag}> {} at {}", v.value, origin(sources, v.origin))
            }
        }
        KeywordSource::From => "the number given with dial --from (else empty)".to_owned(),
        KeywordSource::Record => "1 with dial --record (else empty)".to_owned(),
        KeywordSource::Message => "the text given to ctibridge sms".to_owned(),
        KeywordSource::Profile => "the name given to ctibridge forward-profile".to_owned(),
        KeywordSource::Session => "the id read from the <session_url> answer".to_owned(),
    }
}

/// The readable form of an explanation.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "files read:");
    for f in &e.files {
        let role = serde_json::to_value(f.role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let status = match &f.status {
            FileStatus::Read { encoding } => format!("({encoding})"),
            FileStatus::NotFound => "(not found: not used)".to_owned(),
            FileStatus::Unreadable { reason } => format!("(unreadable: {reason})"),
        };
        let _ = writeln!(out, "  {role:<12} {}  {status}", f.path.display());
    }
    let _ = writeln!(
        out,
        "\ninterface: {} ({})",
        e.interface.name, e.interface.reason
    );
    for s in &e.sections {
        let _ = writeln!(out, "\n<{}>", s.section);
        if s.values.is_empty() {
            let _ = writeln!(out, "  (nothing set)");
        }
        for v in &s.values {
            let _ = writeln!(out, "  {:<27} {}  [{}]", v.tag, v.value, v.origin);
        }
    }
    let _ = writeln!(out, "\nkeywords:");
    if e.keywords.is_empty() {
        let _ = writeln!(out, "  (none used)");
    }
    for k in &e.keywords {
        let _ = writeln!(out, "  {:<10} {}", k.keyword, k.value_from);
        // A keyword used thousands of times: the first places, then a count.
        const PLACES: usize = 10;
        let more = k.used_at.len().saturating_sub(PLACES);
        let places = k.used_at[..k.used_at.len().min(PLACES)].join(", ");
        if more > 0 {
            let _ = writeln!(out, "  {:<10} used at {places} and {more} more places", "");
        } else {
            let _ = writeln!(out, "  {:<10} used at {places}", "");
        }
    }
    let _ = writeln!(out, "\nstation:");
    let lines = if e.station.lines.is_empty() {
        "(none declared)".to_owned()
    } else {
        e.station.lines.join(" | ")
    };
    let _ = writeln!(out, "  lines        {lines}");
    if let Some(sel) = &e.station.selected_line {
        let _ = writeln!(out, "  selected     {sel}");
    } else if !e.station.lines.is_empty() {
        let _ = writeln!(out, "  selected     (no line matches the line-name model)");
    }
    let telorg = if e.station.telorg.is_empty() {
        "(not set)"
    } else {
        e.station.telorg.as_str()
    };
    let _ = writeln!(out, "  telorg       {telorg}  [{}]", e.station.telorg_from);
    let _ = writeln!(out, "\ntapi:");
    let model = if e.tapi.line_model.is_empty() {
        "(empty)"
    } else {
        e.tapi.line_model.as_str()
    };
    let _ = writeln!(out, "  line model   {model}  [{}]", e.tapi.line_model_from);
    let _ = writeln!(
        out,
        "  connector    {}  [{}]",
        e.tapi.connector, e.tapi.connector_from
    );
    if !e.tapi.parameters.is_empty() {
        let params: Vec<String> = e
            .tapi
            .parameters
            .iter()
            .map(|(n, v)| format!("<{n}>{v}"))
            .collect();
        let _ = writeln!(out, "  parameters   {}", params.join(" "));
    }
    out
}
