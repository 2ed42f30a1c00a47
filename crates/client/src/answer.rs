//! Reading a value out of a provider's answer, as the param file says:
//! a JSON field (a name, a dotted path, or a JSONPath starting with `$`),
//! an XML element's text or one of its attributes, or the whole text.

use jsonpath_rust::JsonPath;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;

use crate::config::AnswerField;

/// Why an answer could not be read at all (not: the field is absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerError {
    NotJson(String),
    NotXml(String),
    /// A text answer that does not follow the line format.
    NotText(String),
    BadJsonPath(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::NotJson(e) => write!(f, "the answer is not JSON: {e}"),
            AnswerError::NotXml(e) => write!(f, "the answer is not XML: {e}"),
            AnswerError::NotText(e) => write!(f, "the answer is not in the event line format: {e}"),
            AnswerError::BadJsonPath(e) => write!(f, "the JSONPath cannot be read: {e}"),
        }
    }
}

impl std::error::Error for AnswerError {}

/// The value `field` designates in `body`; `Ok(None)` when it is absent.
pub(crate) fn read(body: &str, field: &AnswerField) -> Result<Option<String>, AnswerError> {
    match field {
        AnswerField::Json(f) => read_json(body, &f.value),
        AnswerField::Xml { element, attribute } => read_xml(
            body,
            &element.value,
            attribute.as_ref().map(|a| a.value.as_str()),
        ),
        AnswerField::Text => Ok(Some(body.trim().to_owned()).filter(|s| !s.is_empty())),
    }
}

/// A JSON field: `token`, `data.token`, `items.0.tel` or `$.data.token`.
pub fn read_json(body: &str, field: &str) -> Result<Option<String>, AnswerError> {
    let json: Value =
        serde_json::from_str(body.trim()).map_err(|e| AnswerError::NotJson(e.to_string()))?;
    Ok(find_json(&json, field)?.and_then(scalar))
}

/// The node `field` designates in a parsed document.
pub(crate) fn find_json<'a>(
    json: &'a Value,
    field: &str,
) -> Result<Option<&'a Value>, AnswerError> {
    if field.starts_with('$') {
        let found = json
            .query(field)
            .map_err(|e| AnswerError::BadJsonPath(e.to_string()))?;
        return Ok(found.into_iter().next());
    }
    if let Some(v) = json.get(field) {
        return Ok(Some(v));
    }
    let mut node = json;
    for step in field.split('.') {
        node = match node {
            Value::Object(m) => match m.get(step) {
                Some(v) => v,
                None => return Ok(None),
            },
            Value::Array(a) => match step.parse::<usize>().ok().and_then(|i| a.get(i)) {
                Some(v) => v,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
    }
    Ok(Some(node))
}

/// A JSON scalar as text; objects, arrays and null are no value.
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The text of the first element named `element` (namespace prefix
/// ignored), or its attribute `attribute`.
pub(crate) fn read_xml(
    body: &str,
    element: &str,
    attribute: Option<&str>,
) -> Result<Option<String>, AnswerError> {
    let mut reader = Reader::from_str(body);
    let bad = |e: &dyn std::fmt::Display| AnswerError::NotXml(e.to_string());
    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        let (start, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::Eof => return Ok(None),
            _ => continue,
        };
        if start.local_name().as_ref() != element.as_bytes() {
            continue;
        }
        if let Some(attr) = attribute {
            let found = start.try_get_attribute(attr).map_err(|e| bad(&e))?;
            return match found {
                Some(a) => Ok(Some(a.unescape_value().map_err(|e| bad(&e))?.into_owned())),
                None => Ok(None),
            };
        }
        if empty {
            return Ok(None);
        }
        let end = start.to_end().into_owned();
        let raw = reader.read_text(end.name()).map_err(|e| bad(&e))?;
        let text = quick_xml::escape::unescape(&raw).map_err(|e| bad(&e))?;
        let text = text.trim();
        return Ok((!text.is_empty()).then(|| text.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields() {
        let body = r#"{"token":"abc","data":{"token":"nested","list":[{"tel":"0388"}]},"n":42,"nul":null}"#;
        assert_eq!(read_json(body, "token").unwrap().as_deref(), Some("abc"));
        assert_eq!(
            read_json(body, "data.token").unwrap().as_deref(),
            Some("nested")
        );
        assert_eq!(
            read_json(body, "data.list.0.tel").unwrap().as_deref(),
            Some("0388")
        );
        assert_eq!(
            read_json(body, "$.data.list[0].tel").unwrap().as_deref(),
            Some("0388")
        );
        assert_eq!(read_json(body, "n").unwrap().as_deref(), Some("42"));
        assert_eq!(read_json(body, "nul").unwrap(), None);
        assert_eq!(read_json(body, "data").unwrap(), None);
        assert_eq!(read_json(body, "missing").unwrap(), None);
        assert_eq!(read_json(body, "$.missing").unwrap(), None);
        assert!(matches!(
            read_json("<html>", "token"),
            Err(AnswerError::NotJson(_))
        ));
        assert!(matches!(
            read_json(body, "$[?(@.x =="),
            Err(AnswerError::BadJsonPath(_))
        ));
        // A field whose name holds a dot is found as is first.
        assert_eq!(
            read_json(r#"{"a.b":"1"}"#, "a.b").unwrap().as_deref(),
            Some("1")
        );
    }

    #[test]
    fn xml_elements_and_attributes() {
        let body = "<?xml version='1.0'?><r><tel value='0388202020'/><evt name=\"call\"/><token> ab&amp;c </token><ns:x>1</ns:x></r>";
        assert_eq!(
            read_xml(body, "token", None).unwrap().as_deref(),
            Some("ab&c")
        );
        assert_eq!(
            read_xml(body, "tel", Some("value")).unwrap().as_deref(),
            Some("0388202020")
        );
        assert_eq!(
            read_xml(body, "evt", Some("name")).unwrap().as_deref(),
            Some("call")
        );
        assert_eq!(read_xml(body, "evt", Some("other")).unwrap(), None);
        assert_eq!(read_xml(body, "tel", None).unwrap(), None);
        assert_eq!(read_xml(body, "x", None).unwrap().as_deref(), Some("1"));
        assert_eq!(read_xml(body, "nothing", None).unwrap(), None);
        assert!(matches!(
            read_xml("<a><b></a>", "c", None),
            Err(AnswerError::NotXml(_))
        ));
    }

    #[test]
    fn whole_text() {
        assert_eq!(
            read(" abc \n", &AnswerField::Text).unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(read("  ", &AnswerField::Text).unwrap(), None);
    }
}
