//! One way of showing everything the user caused: `error: message`, then
//! `--> path:line:col`, the line itself with a caret under the spot, then a
//! `help:` line when we can say more.

use std::fmt::Write as _;

use serde::Serialize;

use crate::source::{SourceMap, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Declares [`Code`]: each kind of problem and its stable kebab-case name.
macro_rules! codes {
    ($($variant:ident = $name:literal,)*) => {
        /// The kind of a problem: a stable kebab-case name (`unknown-tag`)
        /// in `--json` and in tests, an enum in the code (a misspelt code
        /// does not compile).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the order of their names.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// Its name in `--json`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    AuthFailed = "auth-failed",
    AuthKeysMissing = "auth-keys-missing",
    AuthNeeded = "auth-needed",
    AuthUserUnset = "auth-user-unset",
    BadAddress = "bad-address",
    BadAuth = "bad-auth",
    BadBool = "bad-bool",
    BadCommand = "bad-command",
    BadCount = "bad-count",
    BadCountry = "bad-country",
    BadHeader = "bad-header",
    BadInterface = "bad-interface",
    BadJsonpath = "bad-jsonpath",
    BadMethod = "bad-method",
    BadNumber = "bad-number",
    BadNumberFormat = "bad-number-format",
    BadPrefix = "bad-prefix",
    BadRegex = "bad-regex",
    BadReturnType = "bad-return-type",
    BadShellexecute = "bad-shellexecute",
    BadTagName = "bad-tag-name",
    BadTelorg = "bad-telorg",
    BadTrigger = "bad-trigger",
    BadReportWhen = "bad-report-when",
    BadUrl = "bad-url",
    BadXmlName = "bad-xml-name",
    BodyIgnored = "body-ignored",
    BridgeRefused = "bridge-refused",
    BridgeUnreachable = "bridge-unreachable",
    CannotLaunch = "cannot-launch",
    CannotRead = "cannot-read",
    ComeBackLater = "come-back-later",
    CursorUnset = "cursor-unset",
    DeskIncomplete = "desk-incomplete",
    DeskLine = "desk-line",
    DeskSecretShort = "desk-secret-short",
    DialRefused = "dial-refused",
    DialUnreachable = "dial-unreachable",
    DuplicateDesk = "duplicate-desk",
    DuplicateTag = "duplicate-tag",
    EmptyTag = "empty-tag",
    HttpSetup = "http-setup",
    KeyValueForm = "key-value-form",
    KeywordAlias = "keyword-alias",
    KeywordNotAvailable = "keyword-not-available",
    KeywordUnset = "keyword-unset",
    KeyyoNoSecret = "keyyo-no-secret",
    KeyyoSecret = "keyyo-secret",
    ListenInClear = "listen-in-clear",
    TlsAuthority = "tls-authority",
    LookupSource = "lookup-source",
    MissingTag = "missing-tag",
    NameWithoutLookup = "name-without-lookup",
    ReportSuccess = "report-success",
    NoDesk = "no-desk",
    NoEventSource = "no-event-source",
    NoForward = "no-forward",
    NoInterface = "no-interface",
    NoLineMatches = "no-line-matches",
    NoProvider = "no-provider",
    NoSms = "no-sms",
    NotABridge = "not-a-bridge",
    NotConfirmed = "not-confirmed",
    NotifyOff = "notify-off",
    PopupEmpty = "popup-empty",
    RelayToItself = "relay-to-itself",
    RelayWithoutEvents = "relay-without-events",
    Runtime = "runtime",
    SecretReadable = "secret-readable",
    ServerSection = "server-section",
    SimulatorIgnores = "simulator-ignores",
    StrayLine = "stray-line",
    TagOutsideSection = "tag-outside-section",
    TapiBadTag = "tapi-bad-tag",
    TapiExtraLine = "tapi-extra-line",
    TapiStrayText = "tapi-stray-text",
    Tls = "tls",
    TlsHalf = "tls-half",
    TrustedProxies = "trusted-proxies",
    TapiUnclosedTag = "tapi-unclosed-tag",
    TextAfterSection = "text-after-section",
    TokenNotFound = "token-not-found",
    TokenRefused = "token-refused",
    TokenUnreachable = "token-unreachable",
    TokenUnused = "token-unused",
    TokenWithoutWithToken = "token-without-with-token",
    UnclosedKeyword = "unclosed-keyword",
    UnclosedTag = "unclosed-tag",
    UnknownKeyword = "unknown-keyword",
    UnknownProvider = "unknown-provider",
    UnknownSection = "unknown-section",
    UnknownTag = "unknown-tag",
    UnsafeValue = "unsafe-value",
    UnusedTag = "unused-tag",
    WrongSection = "wrong-section",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A problem found in something the user wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, kebab-case name of the kind of problem (`unknown-tag`),
    /// for tests and for `--json` consumers.
    pub code: Code,
    pub message: String,
    pub span: Span,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The rustc-style text of this diagnostic.
    pub fn render(&self, sources: &SourceMap) -> String {
        let file = sources.get(self.span.file);
        let path = file.path.display();
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}: {}", self.message);
        let line_text = file.line(self.span.line).map(masked_secret_line);
        match line_text {
            Some(text) if self.span.line > 0 => {
                let text = text.as_ref();
                let number = self.span.line.to_string();
                let pad = " ".repeat(number.len());
                let _ = writeln!(
                    out,
                    "{pad}--> {path}:{}:{}",
                    self.span.line,
                    self.span.col.max(1)
                );
                let _ = writeln!(out, "{pad} |");
                let (shown, before, width) = window(
                    text,
                    self.span.col.saturating_sub(1) as usize,
                    self.span.len.max(1) as usize,
                );
                let _ = writeln!(out, "{number} | {}", expand_tabs(&shown).trim_end());
                let indent = expand_tabs(&before).chars().count();
                let _ = writeln!(out, "{pad} | {}{}", " ".repeat(indent), "^".repeat(width));
                if let Some(help) = &self.help {
                    let _ = writeln!(out, "{pad} = help: {help}");
                }
            }
            _ => {
                let _ = writeln!(out, " --> {path}");
                if let Some(help) = &self.help {
                    let _ = writeln!(out, "  = help: {help}");
                }
            }
        }
        out
    }

    pub fn to_json(&self, sources: &SourceMap) -> JsonDiagnostic {
        let file = sources.get(self.span.file);
        JsonDiagnostic {
            severity: self.severity,
            code: self.code,
            message: self.message.clone(),
            file: file.path.display().to_string(),
            line: self.span.line,
            column: self.span.col,
            width: self.span.len,
            help: self.help.clone(),
        }
    }
}

/// The `--json` form of a [`Diagnostic`].
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub file: String,
    /// 1-based; 0 when the problem is about the file as a whole.
    pub line: u32,
    /// 1-based character column; 0 with line 0.
    pub column: u32,
    /// Characters underlined.
    pub width: u32,
    pub help: Option<String>,
}

/// Characters of a source line shown at most: a long line is shown around
/// the spot, `…` marking what is left out.
pub(crate) const LINE_SHOWN: usize = 120;
/// Characters shown before the spot in a long line.
const LEAD: usize = 40;

/// The part of `text` shown for a spot at character `col` (0-based) of
/// `len` characters: the text, what precedes the spot in it, and the
/// caret's width.
fn window(text: &str, col: usize, len: usize) -> (String, String, usize) {
    let total = text.chars().count();
    if total <= LINE_SHOWN {
        let before: String = text.chars().take(col).collect();
        return (text.to_owned(), before, len);
    }
    let start = col.saturating_sub(LEAD);
    let end = (start + LINE_SHOWN).min(total);
    let mut shown = String::new();
    let mut before = String::new();
    if start > 0 {
        shown.push('…');
        before.push('…');
    }
    shown.extend(text.chars().skip(start).take(end - start));
    before.extend(text.chars().skip(start).take(col - start));
    if end < total {
        shown.push('…');
    }
    let width = len.min(end.saturating_sub(col)).max(1);
    (shown, before, width)
}

fn expand_tabs(s: &str) -> String {
    s.replace('\t', "    ")
}

/// Diagnostics collected over all the files of a run.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

/// Problems reported at most (every one is counted): a file with thousands
/// of the same mistake gets a readable answer, in time linear in its size.
pub const SHOWN: usize = 50;

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// In file order, then line, then column: the order a reader goes through
    /// the files.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut v: Vec<&Diagnostic> = self.items.iter().collect();
        v.sort_by_key(|d| (d.span.file, d.span.line, d.span.col));
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Every diagnostic, rendered, blank-line separated, with a summary line.
    /// The problems reported, in order: the first [`SHOWN`].
    pub fn shown(&self) -> Vec<&Diagnostic> {
        let mut all = self.sorted();
        all.truncate(SHOWN);
        all
    }

    /// How many problems are not reported ([`Diagnostics::shown`]).
    pub fn not_shown(&self) -> usize {
        self.items.len().saturating_sub(SHOWN)
    }

    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        for d in self.shown() {
            out.push_str(&d.render(sources));
            out.push('\n');
        }
        if self.not_shown() > 0 {
            let _ = writeln!(
                out,
                "… and {} more {} (only the first {SHOWN} are shown: mend these first)\n",
                self.not_shown(),
                if self.not_shown() == 1 {
                    "problem"
                } else {
                    "problems"
                }
            );
        }
        let (e, w) = (self.error_count(), self.warning_count());
        if e > 0 {
            let _ = writeln!(
                out,
                "{} found, {}",
                plural(e, "error"),
                plural(w, "warning")
            );
        } else if w > 0 {
            let _ = writeln!(out, "{} found, no error", plural(w, "warning"));
        }
        out
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The start of a text, on one line.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = one_line.chars().take(max_chars).collect();
    if one_line.chars().count() > max_chars {
        out.push('…');
    }
    out
}

/// The closest candidate to `word`, if one is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let within = |c: &str| 2.max(c.len() / 4);
    candidates
        .into_iter()
        // The distance is at least the difference of lengths: a candidate
        // too long or too short is not measured (a file of a hundred
        // thousand unknown tags is checked in a second, not in five).
        .filter(|c| lower.len().abs_diff(c.len()) <= within(c))
        .map(|c| (strsim::damerau_levenshtein(&lower, c), c))
        .filter(|&(d, c)| d <= within(c) && d < c.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// A line of a param file as a diagnostic shows it: the value of a secret
/// tag (`<mdp>`, `<secret>`…) masked, whatever it is — a value refused as
/// too weak to be a secret is not masked elsewhere, but never shown.
fn masked_secret_line(line: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = line.trim_start();
    let lead = line.len() - trimmed.len();
    let Some(rest) = trimmed.strip_prefix('<') else {
        return line.into();
    };
    let Some(end) = rest.find('>') else {
        return line.into();
    };
    let name = &rest[..end];
    let secret = crate::schema::TagDef::lookup_any(name).any(|t| t.secret);
    let value = &rest[end + 1..];
    if !secret || value.trim().is_empty() {
        return line.into();
    }
    format!("{}<{name}>{}", &line[..lead], crate::redact::MASK).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileRole, SourceFile, TextEncoding};

    #[test]
    fn every_code_has_its_own_kebab_case_name() {
        let names: std::collections::BTreeSet<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len());
        for name in names {
            assert!(
                !name.is_empty()
                    && name.split('-').all(|w| !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{name}"
            );
        }
        assert_eq!(
            serde_json::to_string(&Code::UnknownTag).expect("json"),
            "\"unknown-tag\""
        );
    }

    #[test]
    fn renders_rustc_style() {
        let mut sm = SourceMap::new();
        let id = sm.add(SourceFile::from_text(
            "p.txt".into(),
            FileRole::Inline,
            "<global>\n<methode>PATCH\n".into(),
            TextEncoding::Utf8,
        ));
        let d = Diagnostic::error(
            Code::BadMethod,
            Span {
                file: id,
                line: 2,
                col: 10,
                len: 5,
            },
            "`PATCH` is not a method",
        )
        .with_help("use GET, PUT or POST");
        assert_eq!(
            d.render(&sm),
            "error: `PATCH` is not a method\n --> p.txt:2:10\n  |\n2 | <methode>PATCH\n  |          ^^^^^\n  = help: use GET, PUT or POST\n"
        );
    }

    #[test]
    fn suggestions() {
        let tags = ["methode", "url", "headers"];
        assert_eq!(did_you_mean("method", tags), Some("methode"));
        assert_eq!(did_you_mean("header", tags), Some("headers"));
        assert_eq!(did_you_mean("zzz", tags), None);
    }
}
