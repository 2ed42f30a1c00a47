//! `tapi_param.txt`: three lines, by position.
//!
//! 1. the line-name model (a bare word means `*word*`; `*` and `?` are
//!    wildcards; case-insensitive; empty means "the last line");
//! 2. parameters for the TAPI connector, several `<tag>value` on one line
//!    (`<image>null`);
//! 3. the connector's name (default `DhDivaltoTapi.dll`).

use crate::diag::{Code, Diagnostic};
use crate::source::{char_len, FileId, SourceFile, Span};

/// The connector Divalto loads when line 3 is empty.
pub(crate) const DEFAULT_CONNECTOR: &str = "DhDivaltoTapi.dll";

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TapiFile {
    pub file: FileId,
    /// Line 1, when not empty.
    pub model: Option<(String, Span)>,
    /// Line 2.
    pub params: Vec<TapiParam>,
    /// Line 3, when not empty.
    pub connector: Option<(String, Span)>,
}

/// One `<tag>value` of line 2.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TapiParam {
    pub name: String,
    pub value: String,
    /// The span of `<name>value`.
    pub span: Span,
}

pub(crate) fn parse_tapi(file_id: FileId, file: &SourceFile) -> (TapiFile, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let line_span = |n: u32, text: &str| {
        let lead = text.len() - text.trim_start().len();
        Span {
            file: file_id,
            line: n,
            col: char_len(&text[..lead]) + 1,
            len: char_len(text.trim()),
        }
    };
    let nonempty = |n: u32| {
        file.line(n)
            .filter(|t| !t.trim().is_empty())
            .map(|t| (t.trim().to_owned(), line_span(n, t)))
    };
    let params = match file.line(2) {
        Some(text) => parse_params(file_id, text, &mut diags),
        None => Vec::new(),
    };
    for (n, text) in file.lines().skip(3) {
        if !text.trim().is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::TapiExtraLine,
                    line_span(n, text),
                    "tapi_param.txt has three lines; this one is ignored",
                )
                .with_help("line 1: line-name model, line 2: parameters, line 3: connector name"),
            );
        }
    }
    let tapi = TapiFile {
        file: file_id,
        model: nonempty(1),
        params,
        connector: nonempty(3),
    };
    (tapi, diags)
}

fn parse_params(file_id: FileId, line: &str, diags: &mut Vec<Diagnostic>) -> Vec<TapiParam> {
    let mut params = Vec::new();
    let span_of = |start: usize, end: usize| Span {
        file: file_id,
        line: 2,
        col: char_len(&line[..start]) + 1,
        len: char_len(&line[start..end]),
    };
    let mut pos = 0;
    while pos < line.len() {
        let Some(open) = line[pos..].find('<').map(|i| pos + i) else {
            break;
        };
        let before = line[pos..open].trim();
        if !before.is_empty() {
            let start = pos + (line[pos..].len() - line[pos..].trim_start().len());
            diags.push(
                Diagnostic::warning(
                    Code::TapiStrayText,
                    span_of(start, start + before.len()),
                    "text outside a `<tag>value` is ignored",
                )
                .with_help("line 2 holds parameters written `<tag>value`, e.g. `<image>null`"),
            );
        }
        let Some(close) = line[open..].find('>').map(|i| open + i) else {
            diags.push(Diagnostic::warning(
                Code::TapiUnclosedTag,
                span_of(open, line.trim_end().len().max(open + 1)),
                "`<` opens a parameter that is never closed by `>`",
            ));
            return params;
        };
        let name = &line[open + 1..close];
        let value_end = line[close + 1..]
            .find('<')
            .map_or(line.len(), |i| close + 1 + i);
        if name.is_empty() || name.contains(char::is_whitespace) {
            diags.push(Diagnostic::warning(
                Code::TapiBadTag,
                span_of(open, close + 1),
                format!("`<{name}>` is not a parameter name"),
            ));
        } else {
            params.push(TapiParam {
                name: name.to_owned(),
                value: line[close + 1..value_end].trim().to_owned(),
                span: span_of(open, line[..value_end].trim_end().len().max(close + 1)),
            });
        }
        pos = value_end;
    }
    let tail = line[pos..].trim();
    if !tail.is_empty() && params.is_empty() {
        let start = pos + (line[pos..].len() - line[pos..].trim_start().len());
        diags.push(
            Diagnostic::warning(
                Code::TapiStrayText,
                span_of(start, start + tail.len()),
                "text outside a `<tag>value` is ignored",
            )
            .with_help("line 2 holds parameters written `<tag>value`, e.g. `<image>null`"),
        );
    }
    params
}

/// Whether `line_name` matches the line-name `model`: a bare word matches
/// any name containing it; with `*` or `?` the model must match the whole
/// name. Case-insensitive, as Divalto's "Like".
pub(crate) fn line_matches(model: &str, line_name: &str) -> bool {
    let model = model.trim().to_lowercase();
    let name = line_name.to_lowercase();
    if model.contains(['*', '?']) {
        wildcard(
            &model.chars().collect::<Vec<_>>(),
            &name.chars().collect::<Vec<_>>(),
        )
    } else {
        name.contains(&model)
    }
}

/// Glob match of `*` (any run) and `?` (one character), without recursion
/// blow-up: the classic two-pointer algorithm with one backtrack point.
fn wildcard(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The line a model selects among a station's lines: the first that
/// matches, or the last line when the model is empty.
pub(crate) fn select_line(model: Option<&str>, lines: &[String]) -> Option<usize> {
    match model.map(str::trim).filter(|m| !m.is_empty()) {
        None => lines.len().checked_sub(1),
        Some(m) => lines.iter().position(|l| line_matches(m, l)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileRole, TextEncoding};

    #[test]
    fn matching_table() {
        let cases = [
            ("cisco", "Cisco Line:[Paul] (1003)", true),
            ("CISCO", "cisco line", true),
            ("paul", "Cisco Line:[Paul] (1003)", true),
            ("pierre", "Cisco Line:[Paul] (1003)", false),
            ("cisco*", "Cisco Line:[Paul] (1003)", true),
            ("*1003)", "Cisco Line:[Paul] (1003)", true),
            ("*100?)", "Cisco Line:[Paul] (1004)", true),
            ("line*", "Cisco Line:[Paul] (1003)", false),
            ("?isco*", "Cisco", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("*", "", true),
            ("1003", "1003", true),
        ];
        for (model, name, want) in cases {
            assert_eq!(line_matches(model, name), want, "{model} ~ {name}");
        }
    }

    #[test]
    fn selection() {
        let lines: Vec<String> = [
            "Modem A",
            "Cisco Line:[Paul] (1003)",
            "Cisco Line:[Anne] (1004)",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(select_line(None, &lines), Some(2));
        assert_eq!(select_line(Some("  "), &lines), Some(2));
        assert_eq!(select_line(Some("cisco"), &lines), Some(1));
        assert_eq!(select_line(Some("anne"), &lines), Some(2));
        assert_eq!(select_line(Some("bob"), &lines), None);
        assert_eq!(select_line(None, &[]), None);
    }

    fn parse_text(text: &str) -> (TapiFile, Vec<Diagnostic>) {
        let f = SourceFile::from_text(
            "tapi_param.txt".into(),
            FileRole::TapiGlobal,
            text.into(),
            TextEncoding::Utf8,
        );
        parse_tapi(FileId(0), &f)
    }

    #[test]
    fn three_lines() {
        let (t, d) = parse_text("cisco\r\n<image>null <couleur>255\r\nMyTapi.dll\r\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t.model.as_ref().map(|m| m.0.as_str()), Some("cisco"));
        assert_eq!(
            t.connector.as_ref().map(|m| m.0.as_str()),
            Some("MyTapi.dll")
        );
        let p: Vec<_> = t
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(p, vec![("image", "null"), ("couleur", "255")]);
        assert_eq!((t.params[1].span.col, t.params[1].span.len), (13, 12));
    }

    #[test]
    fn missing_lines_and_extra_lines() {
        let (t, d) = parse_text("");
        assert_eq!((t.model, t.params.len(), t.connector), (None, 0, None));
        assert!(d.is_empty());
        let (_, d) = parse_text("\n\n\nextra\n");
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].code.as_str(), d[0].span.line), ("tapi-extra-line", 4));
        let (_, d) = parse_text("\nnoise <image>null <broken\n");
        let codes: Vec<_> = d.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, vec!["tapi-stray-text", "tapi-unclosed-tag"]);
    }
}
