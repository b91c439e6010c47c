//! Reading request bodies field by field, so a 422 lists every bad field at once rather than
//! the first one serde trips on. Unknown fields are refused the same way everywhere.

use serde_json::{Map, Value};

/// One field's problem, as it appears in an error's `details`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// Not JSON, or not the JSON shape at all: 400.
    #[error("{0}")]
    Malformed(String),
    /// JSON, but with bad values: 422 with every field's problem.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
}

impl InputError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        InputError::Invalid(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }
}

/// Parses a body that must be a JSON object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::Malformed(
            "request body is empty; expected a JSON object".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => match unstorable(&map) {
            Some((path, problem)) => Err(InputError::field(&path, problem)),
            None => Ok(map),
        },
        Ok(_) => Err(InputError::Malformed(
            "request body must be a JSON object".into(),
        )),
        Err(e) => Err(InputError::Malformed(format!("malformed JSON: {e}"))),
    }
}

/// The first value anywhere in the body that DynamoDB could not store as sent, with its path:
/// free-form fields (metadata, event data, custom fields) are stored as they come, and one
/// bad value would otherwise fail the write as a server error. DynamoDB numbers range from
/// 1e-130 to 1e126 in magnitude; a map key must not be empty.
fn unstorable(map: &Map<String, Value>) -> Option<(String, &'static str)> {
    fn walk(value: &Value, path: &str) -> Option<(String, &'static str)> {
        match value {
            Value::Number(n) => {
                let magnitude = n.as_f64().map(f64::abs).unwrap_or(f64::INFINITY);
                let storable = magnitude == 0.0 || (1e-130..1e125).contains(&magnitude);
                (!storable).then(|| {
                    (
                        path.to_string(),
                        "numbers must be 0 or between 1e-130 and 1e125 in magnitude",
                    )
                })
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            Value::Object(map) => object(map, path),
            _ => None,
        }
    }
    fn object(map: &Map<String, Value>, path: &str) -> Option<(String, &'static str)> {
        map.iter().find_map(|(k, v)| {
            if k.is_empty() {
                let at = if path.is_empty() { "body" } else { path };
                return Some((at.to_string(), "object keys must not be empty"));
            }
            let inner = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            walk(v, &inner)
        })
    }
    object(map, "")
}

/// Takes fields out of an object, collecting every problem.
pub struct Fields {
    map: Map<String, Value>,
    prefix: String,
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn new(map: Map<String, Value>) -> Self {
        Self {
            map,
            prefix: String::new(),
            errors: Vec::new(),
        }
    }

    fn nested(map: Map<String, Value>, prefix: String) -> Self {
        Self {
            map,
            prefix,
            errors: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub fn error(&mut self, name: &str, message: impl Into<String>) {
        let field = self.path(name);
        self.errors.push(FieldError {
            field,
            message: message.into(),
        });
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The names of the fields sent (what an audit entry records of a change).
    pub fn names(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    /// Whether the field was sent at all (null counts as sent).
    /// Reads `alias` as `name` (another product's spelling of the same field); both at
    /// once is an error.
    pub fn alias(&mut self, alias: &str, name: &str) {
        let Some(value) = self.map.remove(alias) else {
            return;
        };
        if self.map.contains_key(name) {
            self.error(
                alias,
                format!("is another spelling of {name}; give one of them"),
            );
        } else {
            self.map.insert(name.to_string(), value);
        }
    }

    /// The text of `name` as given, without reading it.
    pub fn peek_str(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(|v| v.as_str())
    }

    pub fn present(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// An optional string of at most `max` characters as sent (as the document's `maxLength`
    /// counts them), trimmed.
    pub fn string(&mut self, name: &str, max: usize) -> Option<String> {
        match self.take(name)? {
            Value::String(s) => {
                if s.chars().count() > max {
                    self.error(name, format!("must be at most {max} characters"));
                    None
                } else {
                    Some(s.trim().to_string())
                }
            }
            _ => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// A string that must be present and non-blank.
    pub fn required_string(&mut self, name: &str, max: usize) -> Option<String> {
        let present = self.map.get(name).is_some_and(|v| !v.is_null());
        match self.string(name, max) {
            Some(s) if !s.is_empty() => Some(s),
            Some(_) => {
                self.error(name, "must not be blank");
                None
            }
            None => {
                if !present {
                    self.error(name, "is required");
                }
                None
            }
        }
    }

    pub fn bool(&mut self, name: &str) -> Option<bool> {
        match self.take(name)? {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(name, "must be true or false");
                None
            }
        }
    }

    /// An optional whole number within `min..=max`.
    pub fn integer(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        match self.take(name)? {
            Value::Number(n) => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    self.error(name, format!("must be a whole number from {min} to {max}"));
                    None
                }
            },
            _ => {
                self.error(name, "must be a number");
                None
            }
        }
    }

    /// An optional array of strings, each trimmed and at most `max_len` characters.
    pub fn string_list(
        &mut self,
        name: &str,
        max_items: usize,
        max_len: usize,
    ) -> Option<Vec<String>> {
        match self.take(name)? {
            Value::Array(items) => {
                if items.len() > max_items {
                    self.error(name, format!("must have at most {max_items} items"));
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    match item {
                        Value::String(s)
                            if s.chars().count() <= max_len && !s.trim().is_empty() =>
                        {
                            out.push(s.trim().to_string())
                        }
                        Value::String(_) => {
                            self.error(
                                &format!("{name}[{i}]"),
                                format!("must be 1 to {max_len} characters"),
                            );
                        }
                        _ => self.error(&format!("{name}[{i}]"), "must be a string"),
                    }
                }
                Some(out)
            }
            _ => {
                self.error(name, "must be an array of strings");
                None
            }
        }
    }

    /// An optional object of string values (headers, tags, custom fields).
    pub fn string_map(
        &mut self,
        name: &str,
        max_items: usize,
        max_len: usize,
    ) -> Option<Vec<(String, String)>> {
        match self.take(name)? {
            Value::Object(map) => {
                if map.len() > max_items {
                    self.error(name, format!("must have at most {max_items} entries"));
                    return None;
                }
                let mut out = Vec::with_capacity(map.len());
                for (k, v) in map {
                    match v {
                        Value::String(s) if s.chars().count() <= max_len => out.push((k, s)),
                        Value::String(_) => self.error(
                            &format!("{name}.{k}"),
                            format!("must be at most {max_len} characters"),
                        ),
                        _ => self.error(&format!("{name}.{k}"), "must be a string"),
                    }
                }
                Some(out)
            }
            _ => {
                self.error(name, "must be an object of strings");
                None
            }
        }
    }

    /// An optional nested object, read with its own `Fields`; its errors join this one's.
    pub fn object<T>(&mut self, name: &str, read: impl FnOnce(&mut Fields) -> T) -> Option<T> {
        match self.take(name)? {
            Value::Object(map) => {
                let mut inner = Fields::nested(map, self.path(name));
                let value = read(&mut inner);
                inner.reject_unknown();
                let failed = inner.has_errors();
                self.errors.append(&mut inner.errors);
                (!failed).then_some(value)
            }
            _ => {
                self.error(name, "must be an object");
                None
            }
        }
    }

    /// Any JSON value, as sent.
    pub fn raw(&mut self, name: &str) -> Option<Value> {
        self.take(name)
    }

    fn reject_unknown(&mut self) {
        let unknown: Vec<String> = self.map.keys().cloned().collect();
        for name in unknown {
            self.error(&name, "unknown field");
        }
        self.map.clear();
    }

    /// Everything not yet taken, as sent: for bodies that are free-form payloads.
    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }

    /// Ends reading: unknown fields are errors; any error makes the whole input invalid.
    pub fn finish(mut self) -> Result<(), InputError> {
        self.reject_unknown();
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(InputError::Invalid(self.errors))
        }
    }
}

/// One `@` with something before it, a dot inside the domain, no spaces or control
/// characters.
pub fn is_email_address(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// E.164: `+`, then 8 to 15 digits, the first not 0.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        Fields::new(v.as_object().unwrap().clone())
    }

    #[test]
    fn lengths_count_the_characters_sent_before_trimming() {
        // As JSON Schema's maxLength does: trailing whitespace (here U+0085) counts.
        let long = format!("abc{}", "\u{85}".repeat(8));
        let mut f = fields(json!({"a": long, "b": " ok ", "c": ["ab\u{85}\u{85}"]}));
        assert_eq!(f.string("a", 10), None);
        assert_eq!(f.string("b", 4), Some("ok".to_string()));
        assert_eq!(f.string_list("c", 5, 3), Some(Vec::new()));
        let Err(InputError::Invalid(errors)) = f.finish() else {
            panic!("the long ones are refused");
        };
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["a", "c[0]"]);
    }

    #[test]
    fn collects_every_error_and_unknown_fields() {
        let mut f = fields(json!({"name": 5, "enabled": "yes", "count": 99, "extra": 1}));
        assert_eq!(f.required_string("name", 10), None);
        assert_eq!(f.bool("enabled"), None);
        assert_eq!(f.integer("count", 0, 10), None);
        assert_eq!(f.required_string("missing", 10), None);
        let Err(InputError::Invalid(errors)) = f.finish() else {
            panic!("expected errors")
        };
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["name", "enabled", "count", "missing", "extra"]);
    }

    #[test]
    fn malformed_bodies() {
        assert!(matches!(parse_object(b""), Err(InputError::Malformed(_))));
        assert!(matches!(parse_object(b"{"), Err(InputError::Malformed(_))));
        assert!(matches!(
            parse_object(b"[1]"),
            Err(InputError::Malformed(_))
        ));
        assert!(parse_object(br#"{"a":1}"#).is_ok());
        assert!(parse_object(br#"{"a":{"b":[0, -2.5e-3, 1e124]}}"#).is_ok());
        for huge in [
            r#"{"a":{"b":[1, 8e239]}}"#,
            r#"{"a":1e-200}"#,
            r#"{"a":{"":"x"}}"#,
            r#"{"a":[{"b":{"":1}}]}"#,
        ] {
            match parse_object(huge.as_bytes()) {
                Err(InputError::Invalid(errors)) => assert!(errors[0].field.starts_with("a")),
                other => panic!("{huge}: {other:?}"),
            }
        }
    }

    #[test]
    fn nested_errors_carry_their_path() {
        let mut f = fields(json!({"template": {"name": 1, "x": true}}));
        f.object("template", |t| t.required_string("name", 10));
        let Err(InputError::Invalid(errors)) = f.finish() else {
            panic!()
        };
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["template.name", "template.x"]);
    }

    #[test]
    fn e164() {
        assert!(is_e164("+15551234567"));
        assert!(is_e164("+447700900123"));
        for bad in [
            "15551234567",
            "+1555",
            "+0155512345",
            "+1 555 123 4567",
            "+1234567890123456",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
