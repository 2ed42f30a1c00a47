//! The param text: a syntax tree of `clicktocall_param.txt` (and of
//! `station.txt`, same syntax) in which every node keeps its position.
//!
//! A line is blank, a comment (first non-blank character `;`), a section
//! header (`<global>`), a value line `<tag>value` whose value is the rest of
//! the line, or, inside `<callto>`, a `key=value` line. Everything the
//! grammar alone can say is said here; what the table of tags says about a
//! line is the checker's job ([`crate::config`]).

pub(crate) mod tapi;

use nom::bytes::complete::{take_till, take_while1};
use nom::character::complete::{char, space0};
use nom::sequence::{delimited, terminated};
use nom::{IResult, Parser};

use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::schema::{KeywordDef, Section, TagDef, KEYWORDS, SECTIONS};
use crate::source::{char_len, FileId, SourceFile, Span};

/// A parsed param file: its sections in file order. Lines before the first
/// section header form a block with no header.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamFile {
    pub file: FileId,
    pub blocks: Vec<Block>,
}

/// A section header and the value lines under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub header: Option<SectionHeader>,
    /// The section the lines belong to; `None` before any header of a file
    /// that has no implicit section.
    pub section: Option<Section>,
    pub entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SectionHeader {
    /// As written, without the brackets.
    pub name: String,
    /// The span of `<name>`.
    pub span: Span,
}

/// How a value line was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryForm {
    /// `<tag>value`
    Tag,
    /// `key=value`
    KeyValue,
}

/// One value line.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub form: EntryForm,
    /// The tag name as written.
    pub name: String,
    /// The span of `<name>` or `name`.
    pub name_span: Span,
    pub value: Value,
}

/// A value: the rest of the line, trailing white space removed.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub text: String,
    /// Where the value starts; its width is the value's length.
    pub span: Span,
    /// The value cut into literal text and `$keywords$`, for the tags whose
    /// values take keywords; empty otherwise.
    pub parts: Vec<Part>,
}

impl Value {
    /// An empty value means "not set".
    pub fn is_set(&self) -> bool {
        !self.text.trim().is_empty()
    }

    pub fn keywords(&self) -> impl Iterator<Item = (&str, Span)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Keyword { name, span } => Some((name.as_str(), *span)),
            Part::Text(_) => None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Text(String),
    /// `$name$`; the span covers both dollars.
    Keyword {
        name: String,
        span: Span,
    },
}

/// What kind of file is parsed.
#[derive(Clone, Copy, Debug)]
pub struct ParseOptions {
    /// The section of lines before any header: `Some(Station)` for
    /// `station.txt`, `None` for `clicktocall_param.txt`.
    pub implicit_section: Option<Section>,
}

/// Parses one decoded file. Never fails: problems become diagnostics.
pub fn parse(
    file_id: FileId,
    file: &SourceFile,
    opts: ParseOptions,
) -> (ParamFile, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut blocks = vec![Block {
        header: None,
        section: opts.implicit_section,
        entries: Vec::new(),
    }];
    for (line_no, line) in file.lines() {
        let at = |byte: usize, len_chars: u32| Span {
            file: file_id,
            line: line_no,
            col: char_len(&line[..byte]) + 1,
            len: len_chars,
        };
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.trim_end().is_empty() || trimmed.starts_with(';') {
            continue;
        }
        let current = blocks.last().and_then(|b| b.section);
        if trimmed.starts_with('<') {
            match tag_head(trimmed) {
                Ok((rest, name)) => {
                    let name_span = at(indent, char_len(name) + 2);
                    let value_start = line.len() - rest.len();
                    if name.is_empty() {
                        diags.push(
                            Diagnostic::error(Code::EmptyTag, name_span, "empty tag `<>`")
                                .with_help("a value line is `<tag>value`"),
                        );
                        continue;
                    }
                    if !name.chars().all(is_name_char) {
                        diags.push(
                            Diagnostic::error(
                                Code::BadTagName,
                                name_span,
                                format!("`<{name}>` is not a tag name"),
                            )
                            .with_help("tag names are letters, digits and `_`"),
                        );
                        continue;
                    }
                    if let Some(section) = section_of_header(name, rest, name_span, &mut diags) {
                        let trailing = rest.trim();
                        if !trailing.is_empty()
                            && (!trailing.starts_with(';') || holds_tags(trailing))
                        {
                            diags.push(
                                Diagnostic::warning(
                                    Code::TextAfterSection,
                                    at(
                                        value_start + (rest.len() - rest.trim_start().len()),
                                        char_len(trailing),
                                    ),
                                    format!("text after the section header `<{name}>` is ignored"),
                                )
                                .with_help("write each tag on its own line"),
                            );
                        }
                        blocks.push(Block {
                            header: Some(SectionHeader {
                                name: name.to_owned(),
                                span: name_span,
                            }),
                            section: Some(section),
                            entries: Vec::new(),
                        });
                        continue;
                    }
                    let value = make_value(
                        name,
                        current,
                        rest.trim_end(),
                        at(value_start, 0),
                        &mut diags,
                    );
                    push_entry(&mut blocks, EntryForm::Tag, name, name_span, value);
                }
                Err(_) => {
                    diags.push(
                        Diagnostic::error(
                            Code::UnclosedTag,
                            at(indent, char_len(trimmed.trim_end())),
                            "`<` opens a tag that is never closed by `>`",
                        )
                        .with_help("a value line is `<tag>value`"),
                    );
                }
            }
            continue;
        }
        if let Ok((rest, key)) = key_head(trimmed) {
            let name_span = at(indent, char_len(key));
            // `key = value`: the spaces around `=` are layout, not value.
            let rest = rest.trim_start();
            let value_start = line.len() - rest.len();
            let value = make_value(
                key,
                current,
                rest.trim_end(),
                at(value_start, 0),
                &mut diags,
            );
            push_entry(&mut blocks, EntryForm::KeyValue, key, name_span, value);
            continue;
        }
        let mut d = Diagnostic::warning(
            Code::StrayLine,
            at(indent, char_len(trimmed.trim_end())),
            "line ignored: it is not a `<tag>value`, a `;` comment or a `<section>`",
        );
        let first_word: String = trimmed.chars().take_while(|&c| is_name_char(c)).collect();
        if TagDef::lookup_any(&first_word).next().is_some() {
            d = d.with_help(format!("did you mean `<{first_word}>…`?"));
        } else {
            d = d.with_help("start a comment with `;`");
        }
        diags.push(d);
    }
    blocks.retain(|b| b.header.is_some() || !b.entries.is_empty());
    (
        ParamFile {
            file: file_id,
            blocks,
        },
        diags,
    )
}

fn push_entry(blocks: &mut [Block], form: EntryForm, name: &str, name_span: Span, value: Value) {
    if let Some(block) = blocks.last_mut() {
        block.entries.push(Entry {
            form,
            name: name.to_owned(),
            name_span,
            value,
        });
    }
}

/// `<name>` at the start of `i`; the name may be anything but `<` and `>`.
fn tag_head(i: &str) -> IResult<&str, &str> {
    delimited(char('<'), take_till(|c| c == '>' || c == '<'), char('>')).parse(i)
}

/// `name=` at the start of `i`, spaces allowed before `=`.
fn key_head(i: &str) -> IResult<&str, &str> {
    terminated(take_while1(is_name_char), (space0, char('='))).parse(i)
}

/// `$name$` at the start of `i`.
fn keyword(i: &str) -> IResult<&str, &str> {
    delimited(char('$'), take_while1(is_name_char), char('$')).parse(i)
}

/// Whether `text` holds a `<name>` of a known tag or section: the mark of
/// a file flattened onto one line, as the extraction of seed 003 was.
fn holds_tags(text: &str) -> bool {
    text.match_indices('<').any(|(i, _)| {
        tag_head(&text[i..]).is_ok_and(|(_, name)| {
            Section::lookup(name).is_some() || TagDef::lookup_any(name).next().is_some()
        })
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Decides whether `<name>` starts a section. A name that is no tag and is
/// close to a section name, alone on its line, is taken for a misspelt
/// section, so that the lines under it are not all reported as misplaced.
fn section_of_header(
    name: &str,
    rest: &str,
    span: Span,
    diags: &mut Vec<Diagnostic>,
) -> Option<Section> {
    if let Some(s) = Section::lookup(name) {
        return Some(s);
    }
    if !rest.trim().is_empty() || TagDef::lookup_any(name).next().is_some() {
        return None;
    }
    let names = SECTIONS
        .iter()
        .flat_map(|d| std::iter::once(d.name).chain(d.aliases.iter().copied()));
    let guess = did_you_mean(name, names)?;
    diags.push(
        Diagnostic::error(
            Code::UnknownSection,
            span,
            format!("unknown section `<{name}>`"),
        )
        .with_help(format!("did you mean `<{guess}>`?")),
    );
    Section::lookup(guess)
}

/// Builds a value, cutting it into text and keywords when its tag takes
/// keywords in `section` (or anywhere, for a tag in the wrong section).
fn make_value(
    tag: &str,
    section: Option<Section>,
    text: &str,
    start: Span,
    diags: &mut Vec<Diagnostic>,
) -> Value {
    let span = Span {
        len: char_len(text),
        ..start
    };
    let takes_keywords = match section.and_then(|s| TagDef::lookup(s, tag)) {
        Some(def) => def.kind.has_keywords(),
        None => TagDef::lookup_any(tag).any(|d| d.kind.has_keywords()),
    };
    let parts = if takes_keywords {
        scan_keywords(text, span, diags)
    } else {
        Vec::new()
    };
    Value {
        text: text.to_owned(),
        span,
        parts,
    }
}

/// Cuts a value into literal text and `$keyword$` references, each with its
/// span. A `$` that does not open `$name$` is literal text.
pub fn scan_keywords(text: &str, span: Span, diags: &mut Vec<Diagnostic>) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut literal_start = 0;
    let mut search_from = 0;
    // The column of `search_from`, counted as the scan goes (counting from
    // the start of the value at each `$` would be quadratic).
    let (mut counted_to, mut counted) = (0, 0);
    while let Some(rel) = text[search_from..].find('$') {
        let at = search_from + rel;
        counted += char_len(&text[counted_to..at]);
        counted_to = at;
        let col_offset = counted;
        if let Ok((_, name)) = keyword(&text[at..]) {
            if at > literal_start {
                parts.push(Part::Text(text[literal_start..at].to_owned()));
            }
            let width = name.len() + 2;
            parts.push(Part::Keyword {
                name: name.to_owned(),
                span: span.sub(col_offset, char_len(name) + 2),
            });
            literal_start = at + width;
            search_from = literal_start;
            continue;
        }
        let word: String = text[at + 1..]
            .chars()
            .take_while(|&c| is_name_char(c))
            .collect();
        if !word.is_empty() && KeywordDef::lookup(&word).is_some() {
            diags.push(
                Diagnostic::warning(
                    Code::UnclosedKeyword,
                    span.sub(col_offset, char_len(&word) + 1),
                    format!("`${word}` is missing its closing `$` and is sent as literal text"),
                )
                .with_help(format!("write `${word}$`")),
            );
        }
        search_from = at + 1;
    }
    if literal_start < text.len() || parts.is_empty() {
        parts.push(Part::Text(text[literal_start..].to_owned()));
    }
    parts
}

/// Every keyword name, for "did you mean".
pub(crate) fn keyword_names() -> impl Iterator<Item = &'static str> {
    KEYWORDS.iter().map(|k| k.name)
}

#[cfg(test)]
mod tests;
