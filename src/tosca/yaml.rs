//! Reading YAML text into spanned [`Value`]s.
//!
//! We build on `yaml-rust2`'s event parser rather than a serde deserializer: it is maintained,
//! pure Rust, reports a line and column for every event, and hands us each scalar's style and
//! explicit tag, which TOSCA needs (quoted `"1"` is a string; `!!binary` must be refused).
//! `serde_yaml` is archived and its forks lose positions behind serde; `saphyr` is the same
//! parser's successor but its API is still moving. Scalars are resolved by the YAML 1.2 core
//! schema, narrowed as TOSCA asks: only lowercase `true`/`false` are booleans.

use std::collections::HashSet;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::source::{FileId, Span};
use super::value::{Value, ValueKind};

/// Why a text is not YAML we can read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is wrong.
    pub span: Span,
}

/// Parses one YAML document from `text` (read from `file`). An empty text is `null`.
pub fn parse(text: &str, file: FileId) -> Result<Value, YamlError> {
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        anchors: Vec::new(),
        documents: Vec::new(),
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(YamlError {
            message: format!("this is not valid YAML: {}", e.info()),
            span: span_of(file, *e.marker()),
        });
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    let mut documents = builder.documents.into_iter();
    let first = documents.next().unwrap_or_else(|| {
        Value::at(
            ValueKind::Null,
            Span {
                file,
                line: 1,
                column: 1,
            },
        )
    });
    if let Some(second) = documents.next() {
        return Err(YamlError {
            message: "a TOSCA file holds one YAML document, but this file has more".into(),
            span: second.span,
        });
    }
    Ok(first)
}

fn span_of(file: FileId, mark: Marker) -> Span {
    Span {
        file,
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
    }
}

/// A collection being filled while its events arrive.
enum Open {
    List(Value, usize),
    /// The map, its anchor, the key waiting for its value, and, once the map is large, the
    /// identities of its keys (a set, so that duplicate detection stays linear in the map's
    /// size; small maps are scanned, which spares an allocation per key).
    Map(Value, usize, Option<Value>, Option<HashSet<KeyIdentity>>),
}

struct Builder {
    file: FileId,
    stack: Vec<Open>,
    anchors: Vec<(usize, Value)>,
    documents: Vec<Value>,
    error: Option<YamlError>,
}

impl Builder {
    fn finish(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, value.clone()));
        }
        match self.stack.last_mut() {
            None => self.documents.push(value),
            Some(Open::List(list, _)) => {
                if let ValueKind::List(items) = &mut list.kind {
                    items.push(value);
                }
            }
            Some(Open::Map(map, _, pending_key, seen)) => match pending_key.take() {
                None => {
                    // A block map's start event is marked at its first colon; its first key
                    // is where a reader sees the map begin.
                    if value.span < map.span {
                        map.span = value.span;
                    }
                    *pending_key = Some(value);
                }
                Some(key) => {
                    if let ValueKind::Map(entries) = &mut map.kind {
                        if !is_new_key(entries, seen, &key) {
                            if self.error.is_none() {
                                self.error = Some(YamlError {
                                    message: format!("the key {key} appears twice in this map"),
                                    span: key.span,
                                });
                            }
                        } else {
                            entries.push((key, value));
                        }
                    }
                }
            },
        }
    }
}

/// What makes two keys the same: their kind and their text (a string's own text, or the
/// rendering of any other value).
type KeyIdentity = (&'static str, String);

/// Maps with more entries than this keep a set of their keys' identities.
const SCAN_LIMIT: usize = 16;

fn key_identity(key: &Value) -> KeyIdentity {
    match &key.kind {
        ValueKind::String(s) => (key.kind_name(), s.clone()),
        _ => (key.kind_name(), key.to_string()),
    }
}

fn same_key(a: &Value, b: &Value) -> bool {
    match (&a.kind, &b.kind) {
        (ValueKind::String(x), ValueKind::String(y)) => x == y,
        (ValueKind::String(_), _) | (_, ValueKind::String(_)) => false,
        _ => a.kind_name() == b.kind_name() && a.to_string() == b.to_string(),
    }
}

/// Whether `key` differs from every key of `entries`, recording it in `seen` when the map has
/// grown large enough to keep one.
fn is_new_key(
    entries: &[(Value, Value)],
    seen: &mut Option<HashSet<KeyIdentity>>,
    key: &Value,
) -> bool {
    if let Some(set) = seen {
        return set.insert(key_identity(key));
    }
    if entries.iter().any(|(k, _)| same_key(k, key)) {
        return false;
    }
    if entries.len() >= SCAN_LIMIT {
        let mut set: HashSet<KeyIdentity> = entries.iter().map(|(k, _)| key_identity(k)).collect();
        set.insert(key_identity(key));
        *seen = Some(set);
    }
    true
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let span = span_of(self.file, mark);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let value = resolve_scalar(text, style, tag.as_deref(), span);
                self.finish(value, anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                let mut value = Value::at(ValueKind::List(Vec::new()), span);
                value.tag = extra_tag(tag.map(|t| format!("{}{}", t.handle, t.suffix)));
                self.stack.push(Open::List(value, anchor));
            }
            Event::MappingStart(anchor, tag) => {
                let mut value = Value::at(ValueKind::Map(Vec::new()), span);
                value.tag = extra_tag(tag.map(|t| format!("{}{}", t.handle, t.suffix)));
                self.stack.push(Open::Map(value, anchor, None, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    let (value, anchor) = match open {
                        Open::List(v, a) | Open::Map(v, a, _, _) => (v, a),
                    };
                    self.finish(value, anchor);
                }
            }
            Event::Alias(anchor) => {
                let found = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == anchor)
                    .map(|(_, v)| v.clone());
                match found {
                    Some(value) => self.finish(value, 0),
                    None => {
                        if self.error.is_none() {
                            self.error = Some(YamlError {
                                message: "this alias names no anchor defined before it".into(),
                                span,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Keeps a tag only when it is not one of the core tags resolved here.
fn extra_tag(tag: Option<String>) -> Option<Box<str>> {
    match tag.as_deref() {
        None
        | Some("tag:yaml.org,2002:str")
        | Some("tag:yaml.org,2002:int")
        | Some("tag:yaml.org,2002:float")
        | Some("tag:yaml.org,2002:bool")
        | Some("tag:yaml.org,2002:null")
        | Some("tag:yaml.org,2002:map")
        | Some("tag:yaml.org,2002:seq")
        | Some("!!str")
        | Some("!!int")
        | Some("!!float")
        | Some("!!bool")
        | Some("!!null")
        | Some("!!map")
        | Some("!!seq") => None,
        Some(other) => Some(other.replace("tag:yaml.org,2002:", "!!").into_boxed_str()),
    }
}

fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&str>, span: Span) -> Value {
    let short = tag.map(|t| t.replace("tag:yaml.org,2002:", "!!"));
    let kind = match short.as_deref() {
        Some("!!str") => ValueKind::String(text),
        Some("!!int") | Some("!!float") | Some("!!bool") | Some("!!null") => {
            plain_scalar(&text).unwrap_or(ValueKind::String(text))
        }
        Some(_) => ValueKind::String(text),
        None if style == TScalarStyle::Plain => {
            plain_scalar(&text).unwrap_or(ValueKind::String(text))
        }
        None => ValueKind::String(text),
    };
    let mut value = Value::at(kind, span);
    value.tag = extra_tag(short);
    value
}

/// YAML 1.2 core-schema resolution of a plain scalar; `None` means it is a string.
fn plain_scalar(text: &str) -> Option<ValueKind> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(ValueKind::Null),
        "true" => return Some(ValueKind::Bool(true)),
        "false" => return Some(ValueKind::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(ValueKind::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(ValueKind::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(ValueKind::Float(f64::NAN)),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(ValueKind::Integer);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(ValueKind::Integer);
    }
    let bytes = text.as_bytes();
    let digits = bytes.strip_prefix(b"-").or(bytes.strip_prefix(b"+"));
    let unsigned = digits.unwrap_or(bytes);
    if !unsigned.is_empty() && unsigned.iter().all(u8::is_ascii_digit) {
        return text.parse::<i64>().ok().map(ValueKind::Integer);
    }
    if is_core_float(unsigned) {
        return text.parse::<f64>().ok().map(ValueKind::Float);
    }
    None
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(s: &[u8]) -> bool {
    let mut i = 0;
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let f = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - f;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Value {
        parse(text, FileId(0)).expect("parses")
    }

    #[test]
    fn resolves_scalars_by_the_core_schema_without_yaml_1_1_booleans() {
        let v = p("a: 0.1\nb: '0.1'\nc: yes\nd: true\ne: 0x1F\nf: ~\ng: True\nh: 1e3\n");
        assert_eq!(v.get("a").unwrap().kind, ValueKind::Float(0.1));
        assert_eq!(v.get("b").unwrap().kind, ValueKind::String("0.1".into()));
        assert_eq!(v.get("c").unwrap().kind, ValueKind::String("yes".into()));
        assert_eq!(v.get("d").unwrap().kind, ValueKind::Bool(true));
        assert_eq!(v.get("e").unwrap().kind, ValueKind::Integer(31));
        assert_eq!(v.get("f").unwrap().kind, ValueKind::Null);
        assert_eq!(v.get("g").unwrap().kind, ValueKind::String("True".into()));
        assert_eq!(v.get("h").unwrap().kind, ValueKind::Float(1000.0));
    }

    #[test]
    fn keeps_positions_and_tags() {
        let v = p("top:\n  inner: !!binary aGVsbG8=\n");
        let inner = v.get("top").unwrap().get("inner").unwrap();
        assert_eq!((inner.span.line, inner.span.column), (2, 19));
        let top = v.get("top").unwrap();
        assert_eq!((top.span.line, top.span.column), (2, 3));
        assert_eq!(inner.tag.as_deref(), Some("!!binary"));
    }

    #[test]
    fn rejects_duplicate_keys_with_their_position() {
        let e = parse("a: 1\nb: 2\na: 3\n", FileId(0)).unwrap_err();
        assert_eq!(e.span.line, 3);
        assert!(e.message.contains("twice"), "{}", e.message);
    }

    #[test]
    fn rejects_duplicate_keys_in_large_maps_and_tells_kinds_apart() {
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        assert!(parse(&text, FileId(0)).is_ok());
        text.push_str("k3: again\n");
        let e = parse(&text, FileId(0)).unwrap_err();
        assert_eq!(e.span.line, 41);
        let v = p("1: int\n'1': string\n1.0: float\n");
        assert_eq!(v.as_map().map(|m| m.len()), Some(3));
        assert!(parse("{1: a, 1: b}", FileId(0)).is_err());
    }

    #[test]
    fn expands_aliases() {
        let v = p("x: &a {k: 1}\ny: *a\n");
        assert_eq!(v.get("y").unwrap().get("k").unwrap().as_i64(), Some(1));
    }

    #[test]
    fn reports_syntax_errors_with_a_position() {
        let e = parse("a: [1, 2\n", FileId(0)).unwrap_err();
        assert!(e.span.line >= 1);
    }
}
