//! A JSON text read once into a flat list of nodes, each with its exact byte span.
//!
//! Splitting a Meta body needs every item's exact bytes and a handful of fields from each,
//! in whatever key order Meta sent them (WhatsApp puts `value` before `field`; the Graph
//! API examples put `entry` before `object`). Parsing into `serde_json::Value` copies every
//! string; nesting borrowed `RawValue`s re-scans each level. This reads the text once,
//! validates it as strictly as serde_json does, and allocates one vector: objects and
//! arrays know where their subtree ends, so lookups skip whole values without reading them.

use std::borrow::Cow;

use super::string_scan::plain_prefix;

/// Deeper nesting is refused, as serde_json does by default.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct TapeError {
    what: &'static str,
    at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    /// A string with backslash escapes: its text needs decoding.
    EscapedString,
    Number,
    Bool,
    Null,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    start: u32,
    end: u32,
    /// The index just past this node's subtree: its next sibling, when it has one.
    after: u32,
    kind: Kind,
}

/// A node of a [`Tape`]: an index into it.
pub type NodeId = usize;

pub struct Tape<'a> {
    text: &'a str,
    nodes: Vec<Node>,
}

impl<'a> Tape<'a> {
    /// Reads a whole JSON text: one value, surrounded by whitespace only.
    pub fn parse(text: &'a str) -> Result<Self, TapeError> {
        if text.len() > u32::MAX as usize {
            return Err(TapeError {
                what: "text too long",
                at: 0,
            });
        }
        let mut reader = Reader {
            bytes: text.as_bytes(),
            pos: 0,
            // Most of a Meta body is strings of a dozen bytes or more.
            nodes: Vec::with_capacity(text.len() / 12 + 4),
        };
        reader.read()?;
        Ok(Self {
            text,
            nodes: reader.nodes,
        })
    }

    pub const ROOT: NodeId = 0;

    #[inline(always)]
    pub fn kind(&self, node: NodeId) -> Kind {
        self.nodes[node].kind
    }

    /// The node exactly as it appears in the text.
    #[inline(always)]
    pub fn raw(&self, node: NodeId) -> &'a str {
        let n = self.nodes[node];
        &self.text[n.start as usize..n.end as usize]
    }

    /// The value of `key` in an object (the last one, as serde_json keeps, if repeated).
    pub fn get(&self, object: NodeId, key: &str) -> Option<NodeId> {
        if self.kind(object) != Kind::Object {
            return None;
        }
        let mut found = None;
        let end = self.nodes[object].after as usize;
        let mut at = object + 1;
        while at < end {
            let value = at + 1;
            if self.key_is(at, key) {
                found = Some(value);
            }
            at = self.nodes[value].after as usize;
        }
        found
    }

    /// The values of several keys of an object, found in one walk over it.
    #[inline(always)]
    pub fn fields<const N: usize>(&self, object: NodeId, keys: [&str; N]) -> [Option<NodeId>; N] {
        let mut found = [None; N];
        if self.kind(object) != Kind::Object {
            return found;
        }
        let end = self.nodes[object].after as usize;
        let mut at = object + 1;
        while at < end {
            let value = at + 1;
            let key = self.key_text(at);
            if let Some(slot) = keys.iter().position(|k| same_text(k, &key)) {
                found[slot] = Some(value);
            }
            at = self.nodes[value].after as usize;
        }
        found
    }

    /// Follows a path of keys from `node`.
    #[inline(always)]
    pub fn path(&self, node: NodeId, keys: &[&str]) -> Option<NodeId> {
        keys.iter().try_fold(node, |at, key| self.get(at, key))
    }

    /// An array's elements; nothing for anything else.
    #[inline(always)]
    pub fn elements(&self, array: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let (mut at, end) = if self.kind(array) == Kind::Array {
            (array + 1, self.nodes[array].after as usize)
        } else {
            (0, 0)
        };
        std::iter::from_fn(move || {
            (at < end).then(|| {
                let element = at;
                at = self.nodes[element].after as usize;
                element
            })
        })
    }

    /// A string's text, decoded.
    #[inline(always)]
    pub fn str(&self, node: NodeId) -> Option<Cow<'a, str>> {
        match self.kind(node) {
            Kind::String => Some(Cow::Borrowed(self.between_quotes(node))),
            Kind::EscapedString => self.decode(node),
            _ => None,
        }
    }

    #[inline(always)]
    fn between_quotes(&self, node: NodeId) -> &'a str {
        let n = self.nodes[node];
        &self.text[n.start as usize + 1..n.end as usize - 1]
    }

    #[cold]
    fn decode(&self, node: NodeId) -> Option<Cow<'a, str>> {
        // Lone surrogates pass the scan (as in serde_json's) but do not decode.
        serde_json::from_str::<String>(self.raw(node))
            .ok()
            .map(Cow::Owned)
    }

    pub fn bool(&self, node: NodeId) -> Option<bool> {
        (self.kind(node) == Kind::Bool).then(|| self.raw(node) == "true")
    }

    /// A number's text, as written.
    pub fn number(&self, node: NodeId) -> Option<&'a str> {
        (self.kind(node) == Kind::Number).then(|| self.raw(node))
    }

    #[inline(always)]
    fn key_is(&self, key: NodeId, expected: &str) -> bool {
        same_text(&self.key_text(key), expected)
    }

    #[inline(always)]
    fn key_text(&self, key: NodeId) -> Cow<'a, str> {
        match self.kind(key) {
            Kind::String => Cow::Borrowed(self.between_quotes(key)),
            _ => self.decode(key).unwrap_or_default(),
        }
    }
}

/// Keys are a few bytes long: compared inline rather than through a call to `memcmp`.
///
/// The tape's small accessors and scanners are `inline(always)`: the release profile is
/// optimised for size, which would otherwise leave them as calls in the per-byte loops.
#[inline(always)]
fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

struct Reader<'b> {
    bytes: &'b [u8],
    pos: usize,
    nodes: Vec<Node>,
}

impl Reader<'_> {
    fn fail<T>(&self, what: &'static str) -> Result<T, TapeError> {
        Err(TapeError { what, at: self.pos })
    }

    #[inline(always)]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn push(&mut self, start: usize, kind: Kind) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node {
            start: start as u32,
            end: self.pos as u32,
            after: index as u32 + 1,
            kind,
        });
        index
    }

    /// Containers are read without recursion: `open` holds the containers not yet closed.
    fn read(&mut self) -> Result<(), TapeError> {
        // The containers not yet closed, and whether each is an object.
        let mut open: Vec<(usize, bool)> = Vec::new();
        self.skip_whitespace();
        'value: loop {
            // A value is expected here.
            let start = self.pos;
            match self.bytes.get(self.pos) {
                Some(b'{') | Some(b'[') => {
                    if open.len() >= MAX_DEPTH {
                        return self.fail("nesting too deep");
                    }
                    let object = self.bytes[self.pos] == b'{';
                    self.pos += 1;
                    let index = self.push(start, if object { Kind::Object } else { Kind::Array });
                    open.push((index, object));
                    self.skip_whitespace();
                    let close = if object { b'}' } else { b']' };
                    if self.bytes.get(self.pos) != Some(&close) {
                        if object {
                            self.key()?;
                        }
                        continue 'value;
                    }
                    // Empty: closed below.
                }
                Some(b'"') => {
                    let kind = self.string()?;
                    self.push(start, kind);
                }
                Some(b't') => self.literal(b"true", Kind::Bool)?,
                Some(b'f') => self.literal(b"false", Kind::Bool)?,
                Some(b'n') => self.literal(b"null", Kind::Null)?,
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                    self.push(start, Kind::Number);
                }
                Some(_) => return self.fail("expected a value"),
                None => return self.fail("unexpected end of text"),
            }
            // After a value: a separator, or the end of containers.
            loop {
                self.skip_whitespace();
                let Some(&(container, object)) = open.last() else {
                    return if self.pos == self.bytes.len() {
                        Ok(())
                    } else {
                        self.fail("trailing characters")
                    };
                };
                match self.bytes.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_whitespace();
                        if object {
                            self.key()?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    Some(_) => return self.fail("expected ',' or the end of a container"),
                    None => return self.fail("unexpected end of text"),
                }
                self.pos += 1;
                let after = self.nodes.len() as u32;
                let node = &mut self.nodes[container];
                node.end = self.pos as u32;
                node.after = after;
                open.pop();
            }
        }
    }

    /// An object key and its colon; leaves the reader at the value.
    #[inline(always)]
    fn key(&mut self) -> Result<(), TapeError> {
        let start = self.pos;
        if self.bytes.get(self.pos) != Some(&b'"') {
            return self.fail("expected a key");
        }
        let kind = self.string()?;
        self.push(start, kind);
        self.skip_whitespace();
        if self.bytes.get(self.pos) != Some(&b':') {
            return self.fail("expected ':'");
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<(), TapeError> {
        let start = self.pos;
        if !self.bytes[self.pos..].starts_with(word) {
            return self.fail("invalid literal");
        }
        self.pos += word.len();
        self.push(start, kind);
        Ok(())
    }

    #[inline(always)]
    fn digits(&mut self) -> usize {
        let from = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - from
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), TapeError> {
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.fail("invalid number"),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        Ok(())
    }

    /// From the opening quote to just past the closing one. The text is already known to
    /// be UTF-8, so only quotes, backslashes and control characters matter; sixteen bytes
    /// are looked at a time for them.
    #[inline(always)]
    fn string(&mut self) -> Result<Kind, TapeError> {
        self.pos += 1;
        let mut escaped = false;
        loop {
            self.pos += plain_prefix(&self.bytes[self.pos..]);
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(if escaped {
                        Kind::EscapedString
                    } else {
                        Kind::String
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    match self.bytes.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            let hex = self.bytes.get(self.pos + 1..self.pos + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return self.fail("invalid \\u escape");
                            }
                            self.pos += 5;
                        }
                        _ => return self.fail("invalid escape"),
                    }
                }
                Some(0..=0x1f) => return self.fail("control character in string"),
                Some(_) => self.pos += 1,
                None => return self.fail("unterminated string"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_lookups_and_key_order() {
        let text =
            r#" {"b": [1, {"x": "y"}, []], "a": "z\u00e9", "a": -1.5e3, "t": true, "n": null} "#;
        let tape = Tape::parse(text).unwrap();
        let root = Tape::ROOT;
        assert_eq!(tape.raw(root), text.trim());
        let b = tape.get(root, "b").unwrap();
        let items: Vec<_> = tape.elements(b).map(|n| tape.raw(n)).collect();
        assert_eq!(items, ["1", r#"{"x": "y"}"#, "[]"]);
        let second = tape.elements(b).nth(1).unwrap();
        assert_eq!(tape.str(tape.get(second, "x").unwrap()).unwrap(), "y");
        assert_eq!(tape.number(tape.get(root, "a").unwrap()), Some("-1.5e3"));
        assert_eq!(tape.bool(tape.get(root, "t").unwrap()), Some(true));
        assert_eq!(tape.kind(tape.get(root, "n").unwrap()), Kind::Null);
        assert_eq!(tape.get(root, "missing"), None);
        assert_eq!(tape.path(root, &["b", "x"]), None);
        assert_eq!(tape.elements(root).count(), 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// Texts from JSON's own alphabet: accepted exactly when serde_json accepts them, and
        /// then every node's span is itself a JSON value.
        #[test]
        fn agrees_with_serde_json(text in r#"[ \[\]{}",:0-9.eE+\-a-z\\/é\t]{0,40}"#) {
            let ours = Tape::parse(&text);
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(&text);
            proptest::prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}: {:?}", text, ours.err());
            if let Ok(tape) = ours {
                for node in 0..tape.nodes.len() {
                    let raw = tape.raw(node);
                    proptest::prop_assert!(serde_json::from_str::<serde::de::IgnoredAny>(raw).is_ok(), "{:?}", raw);
                }
            }
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\\\\\"é]{0,4}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Serialised values, then up to three bytes replaced from JSON's alphabet: same
        /// verdict as serde_json, and a valid text's root spans all of it.
        #[test]
        fn agrees_with_serde_json_on_mangled_values(
            value in json_value(),
            edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0..15usize), 0..3),
        ) {
            let mut bytes = serde_json::to_vec(&value).unwrap();
            for (at, pick) in edits {
                let at = at.index(bytes.len());
                bytes[at] = b"{}[]\",:0-.e\\u \t"[pick];
            }
            let Ok(text) = std::str::from_utf8(&bytes) else { return Ok(()) };
            let ours = Tape::parse(text);
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(text);
            proptest::prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}: {:?}", text, ours.err());
            if let Ok(tape) = ours {
                proptest::prop_assert_eq!(tape.raw(Tape::ROOT), text.trim_matches([' ', '\t', '\n', '\r']));
            }
        }
    }

    #[test]
    fn escaped_strings_and_keys_decode() {
        let tape = Tape::parse(r#"{"k\u0065y": "Caf\u00e9 \ud83d\ude00 \"q\""}"#).unwrap();
        let value = tape.get(Tape::ROOT, "key").unwrap();
        assert_eq!(tape.kind(value), Kind::EscapedString);
        assert_eq!(tape.str(value).unwrap(), "Café 😀 \"q\"");
    }

    #[test]
    fn accepts_and_refuses_what_serde_json_does() {
        let long = "x".repeat(37);
        for text in [
            "0",
            "-0.0e+1",
            "\"\"",
            "[]",
            "{}",
            " [ 1 , [ ] , { } ] ",
            &format!("\"{long}\\n{long}\""),
            &format!("{{\"{long}\":\"é{long}\"}}"),
        ] {
            assert!(serde_json::from_str::<serde_json::Value>(text).is_ok());
            assert!(Tape::parse(text).is_ok(), "{text}");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        for text in [
            "",
            " ",
            "01",
            "1.",
            "-",
            "1e",
            ".5",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a\tb\"",
            &format!("\"{long}\u{1}\""),
            "\"unterminated",
            "{} {}",
            "[}",
            "{]",
            &deep,
        ] {
            assert!(serde_json::from_str::<serde_json::Value>(text).is_err());
            assert!(Tape::parse(text).is_err(), "{text:?}");
        }
    }
}
