//! Whatever the bytes, checking yields diagnostics and never panics.

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
