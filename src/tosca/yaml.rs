//! Reading YAML text into spanned [`Value`]s.
//!
//! We build on `yaml-rust2`'s event parser rather than a serde deserializer: it is maintained,
//! pure Rust, reports a line and column for every event, and hands us each scalar's style and
//! explicit tag, which TOSCA needs (quoted `"1"` is a string; `!!binary` must be refused).
//! `serde_yaml` is archived and its forks lose positions behind serde; `saphyr` is the same
//! parser's successor but its API is still moving. Scalars are resolved by the YAML 1.2 core
//! schema, narrowed as TOSCA asks: only lowercase `true`/`false` are booleans.

use std::collections::HashSet;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::limits::{Limits, OVER_LIMIT};
use super::source::{FileId, Span};
use super::value::{Value, ValueKind};

/// Why a text is not YAML we can read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// The problem code: [`SYNTAX`] for text that is not YAML we read, [`OVER_LIMIT`] for
    /// text that goes over one of the [`Limits`].
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is wrong.
    pub span: Span,
}

/// The code of a text that is not YAML we can read.
pub const SYNTAX: &str = "yaml-syntax";

/// Parses one YAML document from `text` (read from `file`) within the default [`Limits`]. An
/// empty text is `null`.
pub fn parse(text: &str, file: FileId) -> Result<Value, YamlError> {
    parse_within(text, file, &Limits::default())
}

/// Like [`parse`], within `limits`: a text that is too large, nests too deeply, or whose
/// aliases expand past [`Limits::yaml_nodes`] is refused where it goes over.
pub fn parse_within(text: &str, file: FileId, limits: &Limits) -> Result<Value, YamlError> {
    if text.len() > limits.document_bytes {
        return Err(YamlError {
            code: OVER_LIMIT,
            message: format!(
                "this file is {} bytes, over the limit of {} bytes on a TOSCA file",
                text.len(),
                limits.document_bytes
            ),
            span: Span {
                file,
                line: 1,
                column: 1,
            },
        });
    }
    let mut builder = Builder {
        file,
        limits: *limits,
        nodes: 0,
        stack: Vec::new(),
        anchors: Vec::new(),
        documents: Vec::new(),
    };
    // Events are pulled one at a time rather than through `Parser::load`, which recurses once
    // per nesting level: this way a deep document cannot overflow the stack, and the first
    // problem stops the parse.
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError {
            code: SYNTAX,
            message: format!("this is not valid YAML: {}", e.info()),
            span: span_of(file, *e.marker()),
        })?;
        if event == Event::StreamEnd {
            break;
        }
        builder.on_event(event, mark)?;
    }
    let first = builder.documents.pop().unwrap_or_else(|| {
        Value::at(
            ValueKind::Null,
            Span {
                file,
                line: 1,
                column: 1,
            },
        )
    });
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
/// Each carries its anchor and [`Builder::nodes`] when it opened, so an anchored
/// collection knows its size.
enum Open {
    List(Value, usize, usize),
    /// The map, its anchor, the nodes before it, the key waiting for its value, and, once the
    /// map is large, the identities of its keys (a set, so that duplicate detection stays
    /// linear in the map's size; small maps are scanned, which spares an allocation per key).
    Map(
        Value,
        usize,
        usize,
        Option<Value>,
        Option<HashSet<KeyIdentity>>,
    ),
}

/// An anchored value, with how many nodes an alias to it produces.
struct Anchor {
    id: usize,
    value: Value,
    nodes: usize,
}

struct Builder {
    file: FileId,
    limits: Limits,
    /// The nodes produced so far, aliases counted at their expanded size.
    nodes: usize,
    stack: Vec<Open>,
    anchors: Vec<Anchor>,
    documents: Vec<Value>,
}

impl Builder {
    /// Counts `added` more nodes, refusing (at `span`) to go over [`Limits::yaml_nodes`].
    fn spend(&mut self, added: usize, span: Span) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > self.limits.yaml_nodes {
            return Err(YamlError {
                code: OVER_LIMIT,
                message: format!(
                    "this file expands to more than {} YAML nodes (the limit on nodes after aliases are expanded); an alias costs the size of what it names",
                    self.limits.yaml_nodes
                ),
                span,
            });
        }
        Ok(())
    }

    /// Opens a collection, refusing to nest deeper than [`Limits::yaml_depth`].
    fn open(&mut self, open: Open, span: Span) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.yaml_depth {
            return Err(YamlError {
                code: OVER_LIMIT,
                message: format!(
                    "lists and maps nest here more than {} deep (the limit on nesting)",
                    self.limits.yaml_depth
                ),
                span,
            });
        }
        self.spend(1, span)?;
        self.stack.push(open);
        Ok(())
    }

    /// Places a completed value in its parent; `anchor` (when not 0) names it and `nodes` is
    /// its size, for later aliases.
    fn finish(&mut self, value: Value, anchor: usize, nodes: usize) -> Result<(), YamlError> {
        if anchor > 0 {
            // The copy kept for aliases is memory too: nested anchors would otherwise copy
            // one subtree once per level.
            self.spend(nodes, value.span)?;
            self.anchors.push(Anchor {
                id: anchor,
                value: value.clone(),
                nodes,
            });
        }
        match self.stack.last_mut() {
            None if self.documents.is_empty() => self.documents.push(value),
            None => {
                return Err(YamlError {
                    code: SYNTAX,
                    message: "a TOSCA file holds one YAML document, but this file has more".into(),
                    span: value.span,
                });
            }
            Some(Open::List(list, _, _)) => {
                if let ValueKind::List(items) = &mut list.kind {
                    items.push(value);
                }
            }
            Some(Open::Map(map, _, _, pending_key, seen)) => match pending_key.take() {
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
                            return Err(YamlError {
                                code: SYNTAX,
                                message: format!("the key {key} appears twice in this map"),
                                span: key.span,
                            });
                        }
                        entries.push((key, value));
                    }
                }
            },
        }
        Ok(())
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

impl Builder {
    /// Takes in one parser event.
    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), YamlError> {
        let span = span_of(self.file, mark);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.spend(1, span)?;
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let value = resolve_scalar(text, style, tag.as_deref(), span);
                self.finish(value, anchor, 1)
            }
            Event::SequenceStart(anchor, tag) => {
                let mut value = Value::at(ValueKind::List(Vec::new()), span);
                value.tag = extra_tag(tag.map(|t| format!("{}{}", t.handle, t.suffix)));
                self.open(Open::List(value, anchor, self.nodes), span)
            }
            Event::MappingStart(anchor, tag) => {
                let mut value = Value::at(ValueKind::Map(Vec::new()), span);
                value.tag = extra_tag(tag.map(|t| format!("{}{}", t.handle, t.suffix)));
                self.open(Open::Map(value, anchor, self.nodes, None, None), span)
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(
                    Open::List(value, anchor, before) | Open::Map(value, anchor, before, _, _),
                ) => {
                    let nodes = self.nodes - before;
                    self.finish(value, anchor, nodes)
                }
                None => Ok(()),
            },
            Event::Alias(id) => self.alias(id, span),
            _ => Ok(()),
        }
    }

    /// Expands an alias, its size counted before anything is copied.
    fn alias(&mut self, id: usize, span: Span) -> Result<(), YamlError> {
        let Some(found) = self.anchors.iter().rposition(|a| a.id == id) else {
            return Err(YamlError {
                code: SYNTAX,
                message: "this alias names no anchor defined before it".into(),
                span,
            });
        };
        self.spend(self.anchors[found].nodes, span)?;
        let value = self.anchors[found].value.clone();
        self.finish(value, 0, 0)
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

    /// Nine levels of nine aliases each: a few hundred bytes naming 9^9 scalars.
    fn alias_bomb() -> String {
        let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x]\n");
        for level in 1..=9 {
            let previous = format!("*l{}", level - 1);
            let items = [previous.as_str(); 9].join(", ");
            text.push_str(&format!("l{level}: &l{level} [{items}]\n"));
        }
        text
    }

    fn small(yaml_nodes: usize, yaml_depth: usize) -> Limits {
        Limits {
            yaml_nodes,
            yaml_depth,
            ..Limits::default()
        }
    }

    #[test]
    fn an_alias_bomb_is_refused_by_size_where_it_goes_over() {
        let bomb = alias_bomb();
        assert!(bomb.len() < 600, "{} bytes", bomb.len());
        let e = parse(&bomb, FileId(0)).unwrap_err();
        assert_eq!(e.code, OVER_LIMIT);
        assert!(e.message.contains("2000000"), "{}", e.message);
        assert!(e.span.line > 1 && e.span.column > 1, "{:?}", e.span);
    }

    #[test]
    fn aliases_cost_the_size_of_what_they_name() {
        // The root map, three keys, the anchored list (4 nodes) and the copy kept for
        // aliases (4 more), then 4 per alias.
        let text = "a: &a [1, 2, 3]\nb: *a\nc: *a\n";
        let needed = 1 + 3 + 4 + 4 + 4 + 4;
        assert!(parse_within(text, FileId(0), &small(needed, 10)).is_ok());
        let e = parse_within(text, FileId(0), &small(needed - 1, 10)).unwrap_err();
        assert_eq!(e.code, OVER_LIMIT);
        assert_eq!((e.span.line, e.span.column), (3, 4));
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let deep = "- ".repeat(100_000) + "x\n";
        let e = parse(&deep, FileId(0)).unwrap_err();
        assert_eq!(e.code, OVER_LIMIT);
        assert!(e.message.contains("128"), "{}", e.message);
        assert!(parse_within("[[[1]]]", FileId(0), &small(100, 3)).is_ok());
        assert!(parse_within("[[[[1]]]]", FileId(0), &small(100, 3)).is_err());
    }

    #[test]
    fn a_text_over_the_size_limit_is_refused_before_parsing() {
        let limits = Limits {
            document_bytes: 8,
            ..Limits::default()
        };
        assert!(parse_within("a: 1234", FileId(0), &limits).is_ok());
        let e = parse_within("a: 123456", FileId(0), &limits).unwrap_err();
        assert_eq!(e.code, OVER_LIMIT);
        assert!(e.message.contains("8 bytes"), "{}", e.message);
    }

    #[test]
    fn a_second_document_is_refused() {
        let e = parse("a: 1\n---\nb: 2\n", FileId(0)).unwrap_err();
        assert_eq!((e.code, e.span.line), (SYNTAX, 3));
    }
}
