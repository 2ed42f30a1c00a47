//! One answer of the event source → the events it holds and the cursor to
//! send back, as `<type_return>` and the `json_*` / `xml_*` tags say.
//!
//! The text format (ours, for `<type_return>text`): one event per line,
//! `EVENT CALLER [CALLED [CALLID]]`. Fields are separated by `;`, `|` or
//! `,` when the line holds one of them (the first found is the separator),
//! else by spaces. A line `CURSOR value` gives the cursor. Empty lines and
//! lines starting with `#` are skipped.

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;
use serde_json::Value;

use crate::answer::{find_json, read_xml, scalar, AnswerError};
use crate::config::{AnswerField, EventSpec, ReturnType};

/// One event as the source wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawEvent {
    pub name: String,
    pub caller: Option<String>,
    pub called: Option<String>,
    pub call_id: Option<String>,
    /// The line it is for, when the source says (`<json_line>`).
    pub line: Option<String>,
    /// Who the caller is, when the source looked it up (a bridge
    /// server's `name`, `company`, `record`).
    pub person: Option<crate::names::Person>,
    /// When it happened, when the source says (`<json_time>`).
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What one answer holds. No event is an empty poll.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub events: Vec<RawEvent>,
    pub cursor: Option<String>,
}

/// Reads an answer. An empty body is an empty poll; a body that is not of
/// the configured type is an error.
pub fn read_answer(body: &str, spec: &EventSpec) -> Result<Answer, AnswerError> {
    let body = body.trim_start_matches('\u{feff}');
    if body.trim().is_empty() {
        return Ok(Answer::default());
    }
    match spec.return_type.value {
        ReturnType::Json => read_json_answer(body, spec),
        ReturnType::Xml => read_xml_answer(body, spec),
        ReturnType::Text => read_text_answer(body),
    }
}

fn read_json_answer(body: &str, spec: &EventSpec) -> Result<Answer, AnswerError> {
    let doc: Value =
        serde_json::from_str(body.trim()).map_err(|e| AnswerError::NotJson(e.to_string()))?;
    let json_field =
        |node: &Value, field: Option<&AnswerField>| -> Result<Option<String>, AnswerError> {
            match field {
                Some(AnswerField::Json(f)) => Ok(find_json(node, &f.value)?.and_then(scalar)),
                _ => Ok(None),
            }
        };
    let cursor = json_field(&doc, spec.cursor.as_ref())?.filter(|c| !c.is_empty());
    let nodes: Vec<&Value> = match &spec.events {
        Some(list) => json_list(&doc, &list.value)?,
        None => match &doc {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        },
    };
    let mut events = Vec::new();
    for node in nodes {
        let Some(name) = json_field(node, Some(&spec.event))? else {
            continue;
        };
        events.push(
            RawEvent {
                name,
                caller: json_field(node, Some(&spec.tel))?,
                called: json_field(node, spec.called.as_ref())?,
                call_id: json_field(node, spec.callid.as_ref())?,
                at: json_field(node, spec.time.as_ref())?
                    .as_deref()
                    .and_then(event_time),
                line: json_field(node, spec.line.as_ref())?,
                person: person(
                    json_field(node, spec.name.as_ref())?,
                    json_field(node, spec.company.as_ref())?,
                    json_field(node, spec.record.as_ref())?,
                ),
            }
            .cleaned(),
        );
    }
    events.retain(|e| !e.name.is_empty());
    Ok(Answer { events, cursor })
}

/// The event nodes `<json_events>` designates: the elements of the array
/// it names, or every node a JSONPath selects.
fn json_list<'a>(doc: &'a Value, path: &str) -> Result<Vec<&'a Value>, AnswerError> {
    let spread = |v: &'a Value| -> Vec<&'a Value> {
        match v {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![v],
            _ => Vec::new(),
        }
    };
    if path.starts_with('$') {
        use jsonpath_rust::JsonPath as _;
        let found = doc
            .query(path)
            .map_err(|e| AnswerError::BadJsonPath(e.to_string()))?;
        return Ok(match found.as_slice() {
            [one] => spread(one),
            many => many.iter().copied().filter(|v| v.is_object()).collect(),
        });
    }
    Ok(find_json(doc, path)?.map(spread).unwrap_or_default())
}

fn read_xml_answer(body: &str, spec: &EventSpec) -> Result<Answer, AnswerError> {
    let slices = xml_slices(body, spec.events.as_ref().map(|e| e.value.as_str()))?;
    let xml_field =
        |text: &str, field: Option<&AnswerField>| -> Result<Option<String>, AnswerError> {
            match field {
                Some(AnswerField::Xml { element, attribute }) => read_xml(
                    text,
                    &element.value,
                    attribute.as_ref().map(|a| a.value.as_str()),
                ),
                _ => Ok(None),
            }
        };
    let cursor = xml_field(body, spec.cursor.as_ref())?.filter(|c| !c.is_empty());
    let mut events = Vec::new();
    for slice in slices {
        let Some(name) = xml_field(slice, Some(&spec.event))? else {
            continue;
        };
        events.push(
            RawEvent {
                name,
                caller: xml_field(slice, Some(&spec.tel))?,
                called: xml_field(slice, spec.called.as_ref())?,
                call_id: xml_field(slice, spec.callid.as_ref())?,
                at: xml_field(slice, spec.time.as_ref())?
                    .as_deref()
                    .and_then(event_time),
                line: xml_field(slice, spec.line.as_ref())?,
                person: person(
                    xml_field(slice, spec.name.as_ref())?,
                    xml_field(slice, spec.company.as_ref())?,
                    xml_field(slice, spec.record.as_ref())?,
                ),
            }
            .cleaned(),
        );
    }
    events.retain(|e| !e.name.is_empty());
    Ok(Answer { events, cursor })
}

/// Checks that `body` is well-formed XML and cuts out every element named
/// `element` (namespace prefix ignored); without one, the whole body.
fn xml_slices<'a>(body: &'a str, element: Option<&str>) -> Result<Vec<&'a str>, AnswerError> {
    let bad = |e: &dyn std::fmt::Display| AnswerError::NotXml(e.to_string());
    if !body.trim_start().starts_with('<') {
        return Err(AnswerError::NotXml("it does not start with `<`".to_owned()));
    }
    let mut reader = Reader::from_str(body);
    let mut slices = Vec::new();
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| bad(&e))?;
        match &event {
            XmlEvent::Start(e) | XmlEvent::Empty(e) => {
                if depth == 0 {
                    roots += 1;
                }
                let wanted = element.is_some_and(|w| e.local_name().as_ref() == w.as_bytes());
                if matches!(event, XmlEvent::Start(_)) {
                    if wanted {
                        let end = e.to_end().into_owned();
                        reader.read_to_end(end.name()).map_err(|e| bad(&e))?;
                        let after = usize::try_from(reader.buffer_position()).unwrap_or(0);
                        slices.push(body.get(before..after).unwrap_or(""));
                    } else {
                        depth += 1;
                    }
                } else if wanted {
                    let after = usize::try_from(reader.buffer_position()).unwrap_or(0);
                    slices.push(body.get(before..after).unwrap_or(""));
                }
            }
            XmlEvent::End(_) => depth = depth.saturating_sub(1),
            XmlEvent::Text(t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(AnswerError::NotXml(
                    "text outside the root element".to_owned(),
                ));
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if depth != 0 || roots == 0 {
        return Err(AnswerError::NotXml(
            "the document is not complete".to_owned(),
        ));
    }
    if element.is_none() {
        slices.push(body);
    }
    Ok(slices)
}

fn read_text_answer(body: &str) -> Result<Answer, AnswerError> {
    let mut answer = Answer::default();
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_text_line(line);
        let name = fields.first().copied().unwrap_or_default();
        if name.is_empty() {
            return Err(AnswerError::NotText(format!(
                "the line `{}` has no event name",
                crate::diag::excerpt(line, 40)
            )));
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        {
            return Err(AnswerError::NotText(format!(
                "`{}` is not an event name",
                crate::diag::excerpt(name, 40)
            )));
        }
        let field = |i: usize| fields.get(i).map(|s| (*s).to_owned());
        if name.eq_ignore_ascii_case("cursor") {
            answer.cursor = field(1).filter(|c| !c.is_empty());
            continue;
        }
        answer.events.push(
            RawEvent {
                name: name.to_owned(),
                caller: field(1),
                called: field(2),
                call_id: field(3),
                ..RawEvent::default()
            }
            .cleaned(),
        );
    }
    Ok(answer)
}

/// The fields of a text line: split on the first of `;`, `|`, `,` it
/// holds, else on spaces.
pub(crate) fn split_text_line(line: &str) -> Vec<&str> {
    match line.find([';', '|', ',']) {
        Some(i) => {
            let sep = line[i..].chars().next().unwrap_or(';');
            line.split(sep).map(str::trim).collect()
        }
        None => line.split_whitespace().collect(),
    }
}

impl RawEvent {
    /// Trimmed values, numbers without separators, empty values absent.
    fn cleaned(self) -> RawEvent {
        let tidy = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        RawEvent {
            name: self.name.trim().to_owned(),
            caller: tidy(self.caller).map(clean_number),
            called: tidy(self.called).map(clean_number),
            call_id: tidy(self.call_id),
            line: tidy(self.line).map(clean_number),
            person: self.person,
            at: self.at,
        }
    }
}

/// When an event happened, as a source writes it: a number of seconds,
/// milliseconds, microseconds or nanoseconds since 1970 (told apart by
/// their size: a bridge server's `at` is in ms, OVH's `Timestamp` in ns),
/// or an RFC 3339 date. Anything else is no time (the desk's own is used).
pub(crate) fn event_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, Utc};
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        if n <= 0 {
            return None;
        }
        // 10^11 s is the year 5138; 10^14 ms, 10^17 µs the same.
        let nanos = if n < 100_000_000_000 {
            n.checked_mul(1_000_000_000)?
        } else if n < 100_000_000_000_000 {
            n.checked_mul(1_000_000)?
        } else if n < 100_000_000_000_000_000 {
            n.checked_mul(1_000)?
        } else {
            n
        };
        return Some(DateTime::<Utc>::from_timestamp_nanos(nanos));
    }
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 && secs < 1e11 {
            return DateTime::<Utc>::from_timestamp_millis((secs * 1000.0).round() as i64);
        }
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The caller's name, company and record an event carries: none when it
/// names neither a person nor a company.
fn person(
    name: Option<String>,
    company: Option<String>,
    record: Option<String>,
) -> Option<crate::names::Person> {
    let tidy = |v: Option<String>| v.map(|s| s.trim().to_owned()).unwrap_or_default();
    let p = crate::names::Person {
        name: tidy(name),
        company: tidy(company),
        record: tidy(record),
    };
    (!p.name.is_empty() || !p.company.is_empty()).then_some(p)
}

/// `03 88 20-20.20` → `0388202020`; anything that is not a written number
/// (`anonymous`, a SIP URI) is kept as it is.
pub(crate) fn clean_number(s: String) -> String {
    let is_written_number = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '.' | '-' | '(' | ')' | '/'))
        && s.chars().any(|c| c.is_ascii_digit());
    if is_written_number {
        s.chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    } else {
        s
    }
}

#[cfg(test)]
mod tests;
