//! Whatever the bytes, checking yields diagnostics and never panics; and
//! whatever an event source answers, reading it never panics.

use std::path::PathBuf;

use proptest::prelude::*;

use ctibridge::explain;
use ctibridge::load::load_sources;
use ctibridge::source::{FileRole, SourceFile, SourceMap};

/// Parses and checks `param`, `station` and `tapi`, then renders every
/// diagnostic and the explanation, as `check` and `check --json` do.
fn check_all(param: &[u8], station: &[u8], tapi: &[u8]) {
    let mut sources = SourceMap::new();
    let p = sources.add(SourceFile::new(
        PathBuf::from("p.txt"),
        FileRole::Param,
        param,
    ));
    let s = sources.add(SourceFile::new(
        PathBuf::from("s.txt"),
        FileRole::Station,
        station,
    ));
    let t = sources.add(SourceFile::new(
        PathBuf::from("t.txt"),
        FileRole::TapiGlobal,
        tapi,
    ));
    let loaded = load_sources(sources, p, Some(s), &[t]);
    let _ = loaded.diagnostics.render(&loaded.sources);
    let report = explain::report(&loaded);
    let _ = serde_json::to_string(&report).expect("serialisable");
    if let Some(e) = &report.explanation {
        let _ = explain::render(e);
    }
    for d in loaded.diagnostics.iter() {
        // A diagnostic about a line points inside that line.
        if d.span.line > 0 {
            let line = loaded
                .sources
                .get(d.span.file)
                .line(d.span.line)
                .expect("line exists");
            let chars = line.chars().count() as u32;
            assert!(
                d.span.col >= 1 && d.span.col - 1 + d.span.len <= chars.max(d.span.col),
                "{d:?} on {line:?}"
            );
        }
    }
}

/// Fragments that make the parser and checker go deep.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<global>".to_owned()),
        Just("<cliktocalldial>".to_owned()),
        Just("<clicktocallevent>".to_owned()),
        Just("<cliktocalltoken>".to_owned()),
        Just("<callto>".to_owned()),
        Just("<station>".to_owned()),
        Just("<url>".to_owned()),
        Just("<methode>".to_owned()),
        Just("<headers>".to_owned()),
        Just("<with_event>1".to_owned()),
        Just("<with_token>1".to_owned()),
        Just("<type_return>xml".to_owned()),
        Just("<xml_result_tel_in_attrib>1".to_owned()),
        Just("<interface>callto".to_owned()),
        Just("<popup>".to_owned()),
        Just("<command>".to_owned()),
        Just("<open_url>".to_owned()),
        Just("<json_events>$.".to_owned()),
        Just("$cursor$".to_owned()),
        Just("$tel$".to_owned()),
        Just("cmd=".to_owned()),
        Just("http://h/".to_owned()),
        Just("$teldest$".to_owned()),
        Just("$token$".to_owned()),
        Just("$mpd$".to_owned()),
        Just("$".to_owned()),
        Just("|".to_owned()),
        Just(":".to_owned()),
        Just("=".to_owned()),
        Just(";".to_owned()),
        Just("\r\n".to_owned()),
        Just("\n".to_owned()),
        Just("\t".to_owned()),
        Just("é".to_owned()),
        "[a-z<>$ ]{0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes(param in proptest::collection::vec(any::<u8>(), 0..600),
                 station in proptest::collection::vec(any::<u8>(), 0..100),
                 tapi in proptest::collection::vec(any::<u8>(), 0..100)) {
        check_all(&param, &station, &tapi);
    }

    #[test]
    fn any_arrangement_of_fragments(param in proptest::collection::vec(fragment(), 0..80),
                                    station in proptest::collection::vec(fragment(), 0..20),
                                    tapi in proptest::collection::vec(fragment(), 0..12)) {
        check_all(param.concat().as_bytes(), station.concat().as_bytes(), tapi.concat().as_bytes());
    }
}

/// The event sections of each answer type, with lists, attributes and cursor.
const EVENT_SPECS: &[&str] = &[
    "<json_event>e\n<json_tel>$.d.n\n<json_callid>id\n<json_cursor>s\n",
    "<json_events>$.Events[*]\n<json_event>Event\n<json_tel>Data.Calling\n<json_called>Data.Called\n",
    "<type_return>xml\n<xml_events>call\n<xml_event>evt\n<xml_tel>tel\n<xml_result_tel_in_attrib>1\n<xml_tel_attrib>v\n<xml_cursor>next\n",
    "<type_return>xml\n<xml_event>evt\n<xml_tel>tel\n",
    "<type_return>text\n",
];

fn event_spec(i: usize) -> ctibridge::config::EventSpec {
    let param = format!(
        "<cliktocallevent>\n<with_event>1\n<url>http://127.0.0.1:1/e\n{}",
        EVENT_SPECS[i % EVENT_SPECS.len()]
    );
    ctibridge::load::load_text(&param, None)
        .checked
        .and_then(|c| c.config.event)
        .expect("event spec")
}

/// Pieces of JSON, XML and text answers.
fn answer_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\"Events\":".to_owned()),
        Just("\"e\":\"RING\"".to_owned()),
        Just("\"Event\":\"start_ringing\"".to_owned()),
        Just(",".to_owned()),
        Just("<call>".to_owned()),
        Just("</call>".to_owned()),
        Just("<evt>RING</evt>".to_owned()),
        Just("<tel v='0388'/>".to_owned()),
        Just("<?xml version='1.0'?>".to_owned()),
        Just("RING 0388 1003\n".to_owned()),
        Just("CURSOR 1\n".to_owned()),
        Just("&amp;".to_owned()),
        Just("\u{feff}".to_owned()),
        "[a-z0-9<>/\"'{}:; ]{0,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_event_answer(spec in 0..EVENT_SPECS.len(),
                        body in proptest::collection::vec(answer_piece(), 0..40),
                        junk in proptest::collection::vec(any::<u8>(), 0..64)) {
        let spec = event_spec(spec);
        let mut text = body.concat();
        text.push_str(&String::from_utf8_lossy(&junk));
        if let Ok(answer) = ctibridge::events::read::read_answer(&text, &spec) {
            prop_assert!(answer.events.iter().all(|e| !e.name.is_empty()));
        }
    }
}
