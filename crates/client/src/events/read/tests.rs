//! Answers of each type, single and listed, as the param file names their fields.

use super::*;
use crate::load::load_text;

/// The event spec of a `<cliktocallevent>` section (with_event and url added).
fn spec(tags: &str) -> EventSpec {
    let param =
        format!("<cliktocallevent>\n<with_event>1\n<url>http://127.0.0.1:1/ev?c=$cursor$\n{tags}");
    let loaded = load_text(&param, None);
    assert_eq!(
        loaded.diagnostics.error_count(),
        0,
        "{}",
        loaded.diagnostics.render(&loaded.sources)
    );
    loaded
        .checked
        .and_then(|c| c.config.event)
        .expect("event spec")
}

fn ev(name: &str, caller: Option<&str>, called: Option<&str>, id: Option<&str>) -> RawEvent {
    RawEvent {
        name: name.into(),
        caller: caller.map(Into::into),
        called: called.map(Into::into),
        call_id: id.map(Into::into),
        ..RawEvent::default()
    }
}

#[test]
fn json_single_event_as_the_seed_writes_it() {
    let s = spec("<type_return>json\n<json_tel>tel\n<json_event>event\n");
    let a = read_answer(r#"{"event":"RING","tel":"03 88 20 20 20"}"#, &s).unwrap();
    assert_eq!(a.events, vec![ev("RING", Some("0388202020"), None, None)]);
    assert_eq!(a.cursor, None);
    // No event field, an empty event, an empty body: empty polls.
    for empty in ["{}", r#"{"event":""}"#, "", "  \n", r#"{"tel":"0388"}"#] {
        assert_eq!(
            read_answer(empty, &s).unwrap(),
            Answer::default(),
            "{empty}"
        );
    }
    assert!(matches!(
        read_answer("<html>502</html>", &s),
        Err(AnswerError::NotJson(_))
    ));
}

#[test]
fn json_list_with_cursor_and_jsonpath_fields() {
    // OVH events v1.
    let s = spec(
        "<json_events>Events\n<json_event>Event\n<json_tel>$.Data.Calling\n<json_called>Data.Called\n<json_callid>Data.CallId\n<json_cursor>Session\n",
    );
    let body = r#"{"Session":"s-42","Message":"","Events":[
        {"Event":"start_ringing","Data":{"Calling":"0033388202020","Called":"0033972101010","CallId":"c1"}},
        {"Event":"registered","Data":{}},
        {"Data":{"Calling":"0033100"}}
    ]}"#;
    let a = read_answer(body, &s).unwrap();
    assert_eq!(
        a.events,
        vec![
            ev(
                "start_ringing",
                Some("0033388202020"),
                Some("0033972101010"),
                Some("c1")
            ),
            ev("registered", None, None, None),
        ]
    );
    assert_eq!(a.cursor.as_deref(), Some("s-42"));
    // The same list selected by a JSONPath, elements or array.
    for path in ["$.Events[*]", "$.Events"] {
        let s2 = spec(&format!(
            "<json_events>{path}\n<json_event>Event\n<json_tel>Data.Calling\n"
        ));
        assert_eq!(read_answer(body, &s2).unwrap().events.len(), 2, "{path}");
    }
    // A top-level array is a list without <json_events> (OVH events v2).
    let s3 = spec("<json_event>event\n<json_tel>data.calling\n");
    let a = read_answer(
        r#"[{"event":"start_ringing","data":{"calling":"0033388"}},{"event":"end_ringing"}]"#,
        &s3,
    )
    .unwrap();
    assert_eq!(a.events.len(), 2);
    assert_eq!(a.events[0].caller.as_deref(), Some("0033388"));
}

#[test]
fn xml_elements_attributes_and_lists() {
    let s = spec("<type_return>xml\n<xml_tel>tel\n<xml_event>evt\n");
    let a = read_answer(
        "<?xml version='1.0'?><r><evt>RING</evt><tel>0388202020</tel></r>",
        &s,
    )
    .unwrap();
    assert_eq!(a.events, vec![ev("RING", Some("0388202020"), None, None)]);

    // Seed 003's attribute forms.
    let s = spec("<type_return>xml\n<xml_tel>tel\n<xml_result_tel_in_attrib>1\n<xml_tel_attrib>value\n<xml_event>evt\n<xml_result_event_in_attrib>1\n<xml_event_attrib>name\n");
    let a = read_answer("<r><tel value='0388202020'/><evt name='call'/></r>", &s).unwrap();
    assert_eq!(a.events, vec![ev("call", Some("0388202020"), None, None)]);

    let s = spec("<type_return>xml\n<xml_events>call\n<xml_tel>from\n<xml_called>to\n<xml_event>state\n<xml_callid>call\n<xml_result_callid_in_attrib>1\n<xml_callid_attrib>id\n<xml_cursor>next\n");
    let body = "<events><next>7</next><call id='a'><state>RING</state><from>0388</from><to>1003</to></call><call id=\"b\"><state>RELEASE</state><from>0399</from></call><other><state>X</state></other></events>";
    let a = read_answer(body, &s).unwrap();
    assert_eq!(
        a.events,
        vec![
            ev("RING", Some("0388"), Some("1003"), Some("a")),
            ev("RELEASE", Some("0399"), None, Some("b"))
        ]
    );
    assert_eq!(a.cursor.as_deref(), Some("7"));
    for garbage in [
        "RING 0388",
        "<r><evt>RING</evt>",
        "<r/>trailing",
        "{\"event\":1}",
    ] {
        assert!(
            matches!(read_answer(garbage, &s), Err(AnswerError::NotXml(_))),
            "{garbage}"
        );
    }
}

#[test]
fn text_lines() {
    let s = spec("<type_return>text\n");
    let body = "# comment\nCURSOR 12\nRING 0388202020 1003 c1\n\nRELEASE;03 88 20 20 20;1003;c1\nOTHER|0399\nHANGUP\n";
    let a = read_answer(body, &s).unwrap();
    assert_eq!(
        a.events,
        vec![
            ev("RING", Some("0388202020"), Some("1003"), Some("c1")),
            ev("RELEASE", Some("0388202020"), Some("1003"), Some("c1")),
            ev("OTHER", Some("0399"), None, None),
            ev("HANGUP", None, None, None),
        ]
    );
    assert_eq!(a.cursor.as_deref(), Some("12"));
    assert!(matches!(
        read_answer("<html><body>Bad gateway</body></html>", &s),
        Err(AnswerError::NotText(_))
    ));
}

#[test]
fn numbers_are_cleaned_but_names_kept() {
    assert_eq!(
        clean_number("+33 (0)3.88-20".into()),
        "+330388 20".replace(' ', "")
    );
    assert_eq!(clean_number("anonymous".into()), "anonymous");
    assert_eq!(clean_number("sip:100@pbx".into()), "sip:100@pbx");
}

#[test]
fn an_events_time_in_any_unit_or_as_a_date() {
    let ms = 1_764_000_000_123_i64;
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap();
    for text in [
        "1764000000123",
        "1764000000123000",
        "1764000000123000000",
        "1764000000.123",
        "2025-11-24T16:00:00.123Z",
        "2025-11-24T17:00:00.123+01:00",
    ] {
        assert_eq!(event_time(text), Some(t), "{text}");
    }
    assert_eq!(
        event_time("1764000000"),
        chrono::DateTime::from_timestamp(1_764_000_000, 0)
    );
    for bad in ["", "soon", "-5", "0", "1e400", "NaN"] {
        assert_eq!(event_time(bad), None, "{bad}");
    }
    // Read where <json_time> says, per event.
    let s = spec(
        "<type_return>json\n<json_events>events\n<json_tel>tel\n<json_event>event\n<json_time>at\n",
    );
    let a = read_answer(
        r#"{"events":[{"event":"RING","tel":"0388","at":1764000000123},{"event":"RELEASE","tel":"0388"}]}"#,
        &s,
    )
    .unwrap();
    assert_eq!(a.events[0].at, Some(t));
    assert_eq!(a.events[1].at, None);
}
