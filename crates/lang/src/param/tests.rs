//! Table-driven parser tests: input, then the tree or the diagnostics with
//! code, line, column and width.

use super::*;
use crate::source::{FileRole, TextEncoding};

fn parse_str(text: &str, implicit: Option<Section>) -> (ParamFile, Vec<Diagnostic>) {
    let f = SourceFile::from_text(
        "t.txt".into(),
        FileRole::Inline,
        text.into(),
        TextEncoding::Utf8,
    );
    parse(
        FileId(0),
        &f,
        ParseOptions {
            implicit_section: implicit,
        },
    )
}

/// (code, line, col, width) of each diagnostic.
fn diag_positions(text: &str) -> Vec<(&'static str, u32, u32, u32)> {
    parse_str(text, None)
        .1
        .iter()
        .map(|d| (d.code.as_str(), d.span.line, d.span.col, d.span.len))
        .collect()
}

/// (code, line, column, width) of an expected diagnostic.
type Expected = (&'static str, u32, u32, u32);

#[test]
fn syntax_errors_table() {
    let cases: &[(&str, &[Expected])] = &[
        ("<global>\n<timeout1>2\n", &[]),
        ("; comment <url>\n   ; indented comment\n\n\t\n", &[]),
        ("<global>\n<url http://x\n", &[("unclosed-tag", 2, 1, 13)]),
        ("<global>\n  <>1\n", &[("empty-tag", 2, 3, 2)]),
        ("<global>\n<ur l>x\n", &[("bad-tag-name", 2, 1, 6)]),
        ("<global>\n<ur-l>x\n", &[("bad-tag-name", 2, 1, 6)]),
        ("<clicktocalldail>\n", &[("unknown-section", 1, 1, 17)]),
        (
            "<global> <timeout1>\n",
            &[("text-after-section", 1, 10, 10)],
        ),
        ("<global> ; a comment\n", &[]),
        ("<global>\nurl http://x\n", &[("stray-line", 2, 1, 12)]),
        ("<global>\n  hello world  \n", &[("stray-line", 2, 3, 11)]),
        (
            "<cliktocalldial>\n<url>http://x/$teldest\n",
            &[("unclosed-keyword", 2, 15, 8)],
        ),
        ("<cliktocalldial>\n<url>http://x/?a=$5&b=$ $\n", &[]),
        // Columns count characters, not bytes.
        ("<global>\n<éé>x\n", &[("bad-tag-name", 2, 1, 4)]),
        (
            "<cliktocalldial>\n<data>é$teldest\n",
            &[("unclosed-keyword", 2, 8, 8)],
        ),
    ];
    for (input, want) in cases {
        assert_eq!(diag_positions(input), want.to_vec(), "input: {input:?}");
    }
}

#[test]
fn tree_of_a_small_file() {
    let (tree, diags) = parse_str(
        "<global>\r\n<timeout1>2  \r\n<cliktocalldial>\r\n<url>http://h/x?t=$teldest$&o=$telorg$\r\n<callto>\r\ncmd = callto:$teldest$ org=$telorg$\r\n",
        None,
    );
    assert!(diags.is_empty(), "{diags:?}");
    let sections: Vec<_> = tree.blocks.iter().map(|b| b.section).collect();
    assert_eq!(
        sections,
        vec![
            Some(Section::Global),
            Some(Section::Dial),
            Some(Section::Callto)
        ]
    );

    let t1 = &tree.blocks[0].entries[0];
    assert_eq!(
        (t1.name.as_str(), t1.value.text.as_str()),
        ("timeout1", "2")
    );
    assert_eq!(
        (t1.name_span.line, t1.name_span.col, t1.name_span.len),
        (2, 1, 10)
    );
    assert_eq!((t1.value.span.col, t1.value.span.len), (11, 1));

    let url = &tree.blocks[1].entries[0].value;
    let kws: Vec<_> = url
        .keywords()
        .map(|(n, s)| (n, s.line, s.col, s.len))
        .collect();
    assert_eq!(kws, vec![("teldest", 4, 19, 9), ("telorg", 4, 31, 8)]);
    assert_eq!(
        url.parts,
        vec![
            Part::Text("http://h/x?t=".into()),
            Part::Keyword {
                name: "teldest".into(),
                span: Span {
                    file: FileId(0),
                    line: 4,
                    col: 19,
                    len: 9
                }
            },
            Part::Text("&o=".into()),
            Part::Keyword {
                name: "telorg".into(),
                span: Span {
                    file: FileId(0),
                    line: 4,
                    col: 31,
                    len: 8
                }
            },
        ]
    );

    let cmd = &tree.blocks[2].entries[0];
    assert_eq!(cmd.form, EntryForm::KeyValue);
    assert_eq!(
        (cmd.name.as_str(), cmd.value.text.as_str()),
        ("cmd", "callto:$teldest$ org=$telorg$")
    );
    assert_eq!((cmd.value.span.col, cmd.value.span.len), (7, 29));
}

#[test]
fn values_are_verbatim() {
    let (tree, _) = parse_str(
        "<cliktocalldial>\n<data>  <?xml version='1.0'?><a b=\"c\">x;y</a>  \t\n<headers>A: b|C=d\n",
        None,
    );
    let e = &tree.blocks[0].entries;
    assert_eq!(e[0].value.text, "  <?xml version='1.0'?><a b=\"c\">x;y</a>");
    assert_eq!(e[1].value.text, "A: b|C=d");
}

#[test]
fn keywords_only_in_tags_that_take_them() {
    let (tree, _) = parse_str(
        "<cliktocallevent>\n<json_tel>$.data.tel$x$\n<url>http://h/$ident$\n",
        None,
    );
    let e = &tree.blocks[0].entries;
    assert_eq!(e[0].value.parts, vec![]);
    assert_eq!(e[1].value.keywords().count(), 1);
}

#[test]
fn adjacent_and_repeated_keywords() {
    let (tree, _) = parse_str("<cliktocalldial>\n<data>$user$$mdp$:$$user$\n", None);
    let names: Vec<_> = tree.blocks[0].entries[0]
        .value
        .keywords()
        .map(|(n, s)| (n.to_owned(), s.col))
        .collect();
    assert_eq!(
        names,
        vec![("user".into(), 7), ("mdp".into(), 13), ("user".into(), 20)]
    );
}

#[test]
fn empty_values_and_lines_before_any_section() {
    let (tree, diags) = parse_str("<url>http://x\n<global>\n<timeout1>\n", None);
    assert!(diags.is_empty());
    assert_eq!(tree.blocks[0].section, None);
    assert!(tree.blocks[0].header.is_none());
    assert!(!tree.blocks[1].entries[0].value.is_set());
}

#[test]
fn station_file_has_an_implicit_section() {
    let (tree, diags) = parse_str("<user>paul\nmdp=secret\n", Some(Section::Station));
    assert!(diags.is_empty());
    assert_eq!(tree.blocks.len(), 1);
    assert_eq!(tree.blocks[0].section, Some(Section::Station));
    assert_eq!(tree.blocks[0].entries[1].form, EntryForm::KeyValue);
}

#[test]
fn both_spellings_of_sections() {
    let (tree, diags) = parse_str(
        "<clicktocalldial>\n<CLIKTOCALLEVENT>\n<ClickToCallToken>\n",
        None,
    );
    assert!(diags.is_empty());
    let s: Vec<_> = tree.blocks.iter().map(|b| b.section).collect();
    assert_eq!(
        s,
        vec![
            Some(Section::Dial),
            Some(Section::Event),
            Some(Section::Token)
        ]
    );
}
