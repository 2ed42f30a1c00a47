//! Checks that need the whole table: placement, kinds, keywords, layering.

use std::time::Duration;

use super::*;
use crate::diag::Diagnostics;
use crate::load::check_sources;
use crate::source::{FileRole, SourceFile, SourceMap, TextEncoding};

struct Run {
    checked: Checked,
    diags: Diagnostics,
}

fn run(param: &str, station: Option<&str>, tapi: &[&str]) -> Run {
    let mut sm = SourceMap::new();
    let add = |sm: &mut SourceMap, name: &str, role, text: &str| {
        sm.add(SourceFile::from_text(
            name.into(),
            role,
            text.into(),
            TextEncoding::Utf8,
        ))
    };
    let p = add(&mut sm, "p.txt", FileRole::Param, param);
    let s = station.map(|t| add(&mut sm, "station.txt", FileRole::Station, t));
    let t: Vec<_> = tapi
        .iter()
        .enumerate()
        .map(|(i, t)| add(&mut sm, &format!("tapi{i}.txt"), FileRole::TapiGlobal, t))
        .collect();
    let mut diags = Diagnostics::new();
    let checked = check_sources(&mut sm, p, s, &t, &mut diags);
    Run { checked, diags }
}

fn codes(param: &str) -> Vec<(&'static str, u32, u32, u32)> {
    run(param, None, &[])
        .diags
        .sorted()
        .iter()
        .map(|d| (d.code.as_str(), d.span.line, d.span.col, d.span.len))
        .collect()
}

const DIAL: &str = "<cliktocalldial>\n<url>http://cti:8080/dial?tel=$teldest$\n";

/// (code, line, column, width) of an expected diagnostic.
type Expected = (&'static str, u32, u32, u32);

#[test]
fn semantic_errors_table() {
    let cases: Vec<(String, Vec<Expected>)> = vec![
        (DIAL.to_owned(), vec![]),
        (format!("{DIAL}<methdoe>GET\n"), vec![("unknown-tag", 3, 1, 9)]),
        (format!("{DIAL}<with_token>1\n"), vec![("wrong-section", 3, 1, 12)]),
        (format!("{DIAL}<methode>GET\n<methode>PUT\n"), vec![("duplicate-tag", 4, 1, 9)]),
        (format!("{DIAL}<methode>GET\n<methode>\n"), vec![]),
        (format!("{DIAL}<methode>PATCH\n"), vec![("bad-method", 3, 10, 5)]),
        (format!("<global>\n<timeout1> abc \n{DIAL}"), vec![("bad-number", 2, 12, 3)]),
        (format!("<global>\n<debug>yes\n{DIAL}"), vec![("bad-bool", 2, 8, 3)]),
        ("<cliktocalldial>\n<url>http://h/?t=$tledest$\n".to_owned(), vec![("unknown-keyword", 2, 18, 9)]),
        ("<cliktocalldial>\n<url>http://h/?t=$teldest$&p=$mpd$\n<station>\n<mdp>x\n".to_owned(), vec![("keyword-alias", 2, 30, 5)]),
        (format!("{DIAL}<headers>Authorization: Bearer $token$\n"), vec![("token-without-with-token", 3, 32, 7)]),
        ("<cliktocalldial>\n<url>localhost:8082/x\n".to_owned(), vec![("bad-url", 2, 6, 16)]),
        ("<cliktocalldial>\n<url>/api/dial\n".to_owned(), vec![("bad-url", 2, 6, 9)]),
        ("<global>\n".to_owned(), vec![("no-interface", 0, 0, 0)]),
        (format!("{DIAL}<cliktocallevent>\n<with_event>1\n"), vec![("missing-tag", 3, 1, 17), ("missing-tag", 3, 1, 17), ("missing-tag", 4, 13, 1)]),
        (
            format!("{DIAL}<cliktocallevent>\n<with_event>1\n<url>http://h/ev?d=$teldest$\n<json_tel>tel\n<json_event>ev\n"),
            vec![("keyword-not-available", 5, 20, 9)],
        ),
        (format!("{DIAL}<data>x=1\n<methode>GET\n"), vec![("body-ignored", 3, 7, 3)]),
        (format!("{DIAL}<headers>A: 1|B 2|$x$: 3\n"), vec![("bad-header", 3, 15, 3), ("bad-header", 3, 19, 3), ("unknown-keyword", 3, 19, 3)]),
    ];
    for (input, want) in cases {
        assert_eq!(codes(&input), want, "input:\n{input}");
    }
}

#[test]
fn typed_values_and_defaults() {
    let r = run(
        "<global>\n<timeout1>0.5\n<even_connect>ANSWER\n<cliktocalldial>\n<url>http://h/d?t=$teldest$\n<methode>get\n",
        None,
        &[],
    );
    assert!(!r.diags.has_errors());
    let c = &r.checked.config;
    assert_eq!(c.global.timeout1.value, Duration::from_millis(500));
    assert!(!c.global.timeout1.is_default());
    assert_eq!(c.global.timeout2.value, Duration::from_secs(1));
    assert!(c.global.timeout2.is_default());
    assert_eq!(c.global.event_connect.value, "ANSWER");
    assert_eq!(c.global.event_ring.value, "RING");
    let dial = c.dial.as_ref().expect("dial");
    assert_eq!(dial.method.value, Method::Get);
    assert_eq!(dial.content_type.value, "application/x-www-form-urlencoded");
    assert_eq!(c.interface.value, Interface::ClickToCall);
    assert!(c.event.is_none() && c.token.is_none() && c.callto.is_none());
}

#[test]
fn event_connect_alias_and_methode_defaults_per_section() {
    let r = run(
        "<global>\n<event_connect>UP\n<cliktocalldial>\n<url>http://h/d\n<cliktocallevent>\n<with_event>1\n<url>http://h/e\n<type_return>text\n",
        None,
        &[],
    );
    assert!(r.diags.is_empty(), "{:?}", r.diags.sorted());
    let c = &r.checked.config;
    assert_eq!(c.global.event_connect.value, "UP");
    assert_eq!(c.dial.as_ref().map(|d| d.method.value), Some(Method::Post));
    let ev = c.event.as_ref().expect("event");
    assert_eq!(ev.request.method.value, Method::Get);
    assert_eq!(ev.tel, AnswerField::Text);
}

#[test]
fn xml_fields_with_attributes() {
    let r = run(
        "<cliktocalldial>\n<url>http://h/d\n<cliktocallevent>\n<with_event>1\n<url>http://h/e\n<type_return>xml\n\
         <xml_tel>tel\n<xml_result_tel_in_attrib>1\n<xml_tel_attrib>value\n<xml_event>evt\n",
        None,
        &[],
    );
    assert!(r.diags.is_empty(), "{:?}", r.diags.sorted());
    let ev = r.checked.config.event.as_ref().expect("event");
    match &ev.tel {
        AnswerField::Xml {
            element,
            attribute: Some(a),
        } => assert_eq!((element.value.as_str(), a.value.as_str()), ("tel", "value")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &ev.event,
        AnswerField::Xml {
            attribute: None,
            ..
        }
    ));
}

#[test]
fn station_file_overrides_station_section_tag_by_tag() {
    let r = run(
        "<cliktocalldial>\n<url>http://h/d?u=$user$&o=$telorg$&i=$ident$\n<station>\n<user>global\n<ident>desk1\n",
        Some("<user>paul\nmdp=s3cret\n"),
        &[],
    );
    // $telorg$ has no value: no <telorg> and no <lines>. A warning, not an error.
    let got: Vec<_> = r
        .diags
        .sorted()
        .iter()
        .map(|d| (d.code.as_str(), d.span.col))
        .collect();
    assert_eq!(got, vec![("keyword-unset", 28)]);
    let st = &r.checked.config.station;
    assert_eq!(st.user.value, "paul");
    assert_eq!(st.user.span().map(|s| s.file), Some(FileId(1)));
    assert_eq!(st.ident.value, "desk1");
    assert_eq!(st.mdp.value.expose(), "s3cret");
    assert_eq!(format!("{:?}", st.mdp.value), "\"********\"");
    assert!(st.telorg.value.is_empty());
}

/// In the request `dial` sends, a keyword the station leaves empty is an
/// error (every dial would be refused); `$auth$` needs only one of user and
/// password. In a section `dial` does not send (the events), a warning.
#[test]
fn unset_station_keywords_are_errors_where_dial_sends_them() {
    let r = run(
        "<cliktocalldial>\n<url>http://h/d?i=$ident$&a=$auth$\n",
        None,
        &[],
    );
    let got: Vec<_> = r
        .diags
        .sorted()
        .iter()
        .map(|d| (d.code.as_str(), d.severity == crate::diag::Severity::Error))
        .collect();
    assert_eq!(
        got,
        vec![
            ("keyword-unset", true),
            ("keyword-unset", true),
            ("keyword-unset", true)
        ]
    );
    let r = run(
        "<cliktocalldial>\n<url>http://h/d?a=$auth$\n",
        Some("<user>paul\n"),
        &[],
    );
    assert!(
        !r.diags.has_errors(),
        "a user without a password is a warning"
    );
}

#[test]
fn unset_station_keywords_warn_where_dial_does_not_send_them() {
    let r = run(
        "<callto>\ncmd=callto:$teldest$\n<cliktocallevent>\n<with_event>1\n<url>http://h/d?i=$ident$&a=$auth$\n<json_tel>t\n<json_event>e\n",
        None,
        &[],
    );
    let got: Vec<_> = r
        .diags
        .sorted()
        .iter()
        .map(|d| (d.code.as_str(), d.span.col))
        .collect();
    assert_eq!(
        got,
        vec![
            ("keyword-unset", 19),
            ("keyword-unset", 29),
            ("keyword-unset", 29)
        ]
    );
    assert!(!r.diags.has_errors());
}

#[test]
fn telorg_from_the_selected_line() {
    let r = run(
        "<cliktocalldial>\n<url>http://h/d?o=$telorg$\n",
        Some("<lines>Modem|Cisco Line:[Paul] (1003)|Cisco Line:[Anne] (1004)\n"),
        &[
            "paul\n<image>null\n",
            "\n<image>logo.png <couleur>1\nMy.dll\n",
        ],
    );
    assert!(r.diags.is_empty(), "{:?}", r.diags.sorted());
    let c = &r.checked.config;
    assert_eq!(c.station.selected_line, Some(1));
    assert_eq!(c.station.telorg.value, "Cisco Line:[Paul] (1003)");
    assert!(c.station.telorg_from_line);
    assert_eq!(c.tapi.model.value, "paul");
    assert_eq!(c.tapi.connector.value, "My.dll");
    let params: Vec<_> = c
        .tapi
        .params
        .iter()
        .map(|(n, v, _)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(params, vec![("image", "logo.png"), ("couleur", "1")]);
}

#[test]
fn interface_choice() {
    let both = "<cliktocalldial>\n<url>http://h/d\n<callto>\ncmd=callto:$teldest$\n";
    assert_eq!(
        run(both, None, &[]).checked.config.interface.value,
        Interface::ClickToCall
    );
    let r = run(both, Some("<interface>callto\n"), &[]);
    assert_eq!(r.checked.config.interface.value, Interface::Callto);
    assert!(r.diags.is_empty());
    let only_callto = "<callto>\ncmd=callto:$teldest$\ncmdshellexecute=OPEN\n";
    let r = run(only_callto, None, &[]);
    assert_eq!(r.checked.config.interface.value, Interface::Callto);
    assert_eq!(
        r.checked.config.callto.as_ref().map(|c| c.launch.value),
        Some(Launch::Open)
    );
    let r = run(only_callto, Some("<interface>clicktocall\n"), &[]);
    assert!(r.diags.has_errors());
}

#[test]
fn station_file_refuses_other_sections() {
    let r = run(
        DIAL,
        Some("<user>paul\n<cliktocalldial>\n<url>http://evil/\n"),
        &[],
    );
    let got: Vec<_> = r
        .diags
        .sorted()
        .iter()
        .map(|d| (d.code.as_str(), d.span.line))
        .collect();
    assert_eq!(got, vec![("wrong-section", 2)]);
    assert_eq!(
        r.checked
            .settings
            .effective(Section::Dial, Tag::URL)
            .map(|v| v.entry.value.text.as_str()),
        Some("http://cti:8080/dial?tel=$teldest$")
    );
}

#[test]
fn table_defaults_parse() {
    check_defaults().unwrap();
}

#[test]
fn line_model_matching_nothing_is_warned() {
    let r = run(DIAL, Some("<lines>1003|1004\n"), &["anne\n"]);
    let got: Vec<_> = r
        .diags
        .sorted()
        .iter()
        .map(|d| (d.code.as_str(), d.span.line, d.span.col, d.span.len))
        .collect();
    assert_eq!(got, vec![("no-line-matches", 1, 1, 4)]);
    assert_eq!(r.checked.config.station.selected_line, None);
    // No lines declared: nothing to match, nothing to say.
    assert!(run(DIAL, None, &["anne\n"]).diags.is_empty());
}

/// A file of hundreds of mistakes is answered in time linear in its size:
/// past `SUGGEST_WITHIN` problems, no "did you mean" is looked for (each
/// compares the word with every tag or keyword).
#[test]
fn no_suggestion_is_looked_for_past_hundreds_of_problems() {
    let mut text = String::from("<global>\n");
    for _ in 0..(SUGGEST_WITHIN + 50) {
        text.push_str("<timeoutt1>1\n");
    }
    let r = run(&text, None, &[]);
    let unknown: Vec<&Diagnostic> = r
        .diags
        .iter()
        .filter(|d| d.code == Code::UnknownTag)
        .collect();
    assert_eq!(unknown.len(), SUGGEST_WITHIN + 50);
    assert!(unknown[0]
        .help
        .as_deref()
        .is_some_and(|h| h.contains("<timeout1>")));
    assert!(unknown.last().is_some_and(|d| d.help.is_none()));
}
