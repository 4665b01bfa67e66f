//! TOSCA 2.0 chapters 9 (properties, attributes, parameters) and 10 (functions), held to the
//! text section by section with our own small documents.
//!
//! Each case names its section, says in a few words why it is valid or which rule it breaks,
//! and gives the expected outcome: valid, invalid with a problem code (optionally at the line
//! holding a given piece of text), or valid with the output `result` evaluating to a value.
//! Documents run in-process through `tosca::compile_text`; a document without problems is
//! also instantiated, so problems found while evaluating values count too.
//!
//! Where the text leaves a choice open, the case keeps what the processor does and a comment
//! says why. The generic `scalar` type with `units` follows the OASIS Standard text (csd06
//! still has `scalar-unit.*`), as the rest of the processor does.

use khutulun::tosca::instance::model::Expression;
use khutulun::tosca::{Options, compile_text};
use serde_json::{Value as Json, json};

/// What a case must come to.
enum Expect {
    /// No problem at all.
    Valid,
    /// At least one problem with this code.
    Invalid(&'static str),
    /// A problem with this code on the first line whose text contains the second string.
    InvalidAt(&'static str, &'static str),
    /// No problem, and the output `result` evaluates to this value.
    Yields(Json),
}

use Expect::*;

struct Case {
    section: &'static str,
    why: &'static str,
    doc: String,
    expect: Expect,
}

fn case(section: &'static str, why: &'static str, doc: impl Into<String>, expect: Expect) -> Case {
    Case {
        section,
        why,
        doc: doc.into(),
        expect,
    }
}

/// Runs every case of a table and fails once, listing each case that disagrees.
fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    let total = cases.len();
    for c in &cases {
        if let Err(why) = check(c) {
            failures.push(format!(
                "§{} {}: {why}\n--- document ---\n{}",
                c.section, c.why, c.doc
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases disagree:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `(code, line, rendered)` of every problem, from compiling and (when clean) instantiating.
fn problems_and_result(doc: &str) -> (Vec<(String, u32)>, String, Option<Json>) {
    let report = compile_text("/spec/case.yaml", doc, &Options::default());
    let mut problems: Vec<(String, u32)> = report
        .problems
        .iter()
        .map(|p| (p.code.to_string(), p.span.line))
        .collect();
    let mut rendered = report.render_text();
    let mut result = None;
    if problems.is_empty()
        && let Some(compiled) = &report.compiled
    {
        match compiled.instantiate() {
            Ok(inst) => {
                result = inst.outputs.get("result").map(|e| match e {
                    Expression::Resolved(v) => v.clone(),
                    Expression::Deferred(v) => json!({ "deferred": v }),
                });
            }
            Err(ps) => {
                for p in ps.iter() {
                    problems.push((p.code.to_string(), p.span.line));
                    rendered.push_str(&format!(
                        "instantiate: {}:{}: [{}] {}\n",
                        p.span.line, p.span.column, p.code, p.message
                    ));
                }
            }
        }
    }
    (problems, rendered, result)
}

fn check(c: &Case) -> Result<(), String> {
    let (problems, rendered, result) = problems_and_result(&c.doc);
    match &c.expect {
        Valid if problems.is_empty() => Ok(()),
        Valid => Err(format!("expected valid, got:\n{rendered}")),
        Invalid(code) if problems.iter().any(|(p, _)| p == code) => Ok(()),
        Invalid(code) => Err(format!("expected a `{code}` problem, got:\n{rendered}")),
        InvalidAt(code, needle) => {
            let line = c
                .doc
                .lines()
                .position(|l| l.contains(needle))
                .map(|i| i as u32 + 1)
                .ok_or_else(|| format!("the document has no line with {needle:?}"))?;
            if problems.iter().any(|(p, l)| p == code && *l == line) {
                Ok(())
            } else {
                Err(format!(
                    "expected a `{code}` problem on line {line}, got:\n{rendered}"
                ))
            }
        }
        Yields(expected) => {
            if !problems.is_empty() {
                return Err(format!("expected {expected}, got problems:\n{rendered}"));
            }
            match result {
                Some(r) if &r == expected => Ok(()),
                other => Err(format!("expected {expected}, got {other:?}")),
            }
        }
    }
}

// ---- document builders -------------------------------------------------------------------

const HEAD: &str = "tosca_definitions_version: tosca_2_0\n";

/// A node type `N` with one property `p` (its definition written as a YAML flow map or short
/// form), `types` (whole top-level sections) before it, and a node `n` assigning `p: value`
/// (no assignment when `value` is empty).
fn prop(types: &str, definition: &str, value: &str) -> String {
    let assignment = if value.is_empty() {
        String::new()
    } else {
        format!("      properties:\n        p: {value}\n")
    };
    format!(
        "{HEAD}{types}node_types:\n  N:\n    properties:\n      p: {definition}\n\
         service_template:\n  node_templates:\n    n:\n      type: N\n{assignment}"
    )
}

/// A property of `type_name` assigned `value`.
fn typed(type_name: &str, value: &str) -> String {
    prop("", &format!("{{ type: {type_name} }}"), value)
}

/// `typed` with data types defined first (`data` is the body of `data_types`).
fn with_data(data: &str, definition: &str, value: &str) -> String {
    prop(&format!("data_types:\n{data}"), definition, value)
}

/// A service whose output `result` is `expr`, with the inputs given (the body of `inputs`).
fn output_with_inputs(inputs: &str, expr: &str) -> String {
    let inputs = if inputs.is_empty() {
        String::new()
    } else {
        format!("  inputs:\n{inputs}")
    };
    format!(
        "{HEAD}node_types:\n  Empty: {{}}\nservice_template:\n{inputs}  node_templates:\n    \
         thing:\n      type: Empty\n  outputs:\n    result:\n      value: {expr}\n"
    )
}

/// A service whose output `result` is `expr`.
fn output(expr: &str) -> String {
    output_with_inputs("", expr)
}

/// Data types shared by the scalar and comparison cases.
const SIZE: &str =
    "  Size:\n    derived_from: scalar\n    units: { B: 1, kB: 1000, MB: 1000000 }\n";

/// A small graph for the graph query functions and TOSCA paths: a `client` using a
/// `server` through the requirement `uses`, and the output `result` set to `expr`.
fn graph(expr: &str) -> String {
    format!(
        r#"{HEAD}capability_types:
  Socket:
    properties:
      port: {{ type: integer, default: 80 }}
relationship_types:
  Plug:
    properties:
      weight: {{ type: integer, default: 1 }}
artifact_types:
  Blob: {{}}
node_types:
  Server:
    properties:
      name: {{ type: string }}
      tags: {{ type: list, entry_schema: string, default: [] }}
      limits: {{ type: map, entry_schema: integer, default: {{}} }}
    attributes:
      state: {{ type: string, default: idle }}
    capabilities:
      socket: Socket
    artifacts:
      image:
        type: Blob
        file: image.bin
  Client:
    properties:
      name: {{ type: string }}
    requirements:
      - uses:
          capability: Socket
          relationship: Plug
          count_range: [0, UNBOUNDED]
service_template:
  inputs:
    size:
      type: integer
      default: 3
    names:
      type: list
      entry_schema: string
      default: [alpha, beta]
    info:
      type: map
      entry_schema: string
      default: {{ zone: north }}
  node_templates:
    server:
      type: Server
      properties:
        name: big
        tags: [fast, cheap]
        limits: {{ cpu: 4 }}
      capabilities:
        socket:
          properties:
            port: 8080
    client:
      type: Client
      properties:
        name: small
      requirements:
        - uses:
            node: server
            relationship:
              type: Plug
              properties:
                weight: 7
  outputs:
    result:
      value: {expr}
"#
    )
}

// ---- 9.1.1 primitive types ---------------------------------------------------------------

#[test]
fn primitive_types_9_1_1() {
    run(vec![
        // string
        case(
            "9.1.1.1",
            "a plain YAML string",
            typed("string", "hello"),
            Valid,
        ),
        case(
            "9.1.1.1",
            "an empty string is a string",
            typed("string", "\"\""),
            Valid,
        ),
        case(
            "9.1.1.1",
            "a quoted number is a string",
            typed("string", "\"0.1\""),
            Valid,
        ),
        case(
            "9.1.1.1",
            "an unquoted 0.1 is a YAML float, never converted to a string",
            typed("string", "0.1"),
            InvalidAt("wrong-type", "p: 0.1"),
        ),
        case(
            "9.1.1.1",
            "an integer is not converted to a string",
            typed("string", "42"),
            InvalidAt("wrong-type", "p: 42"),
        ),
        case(
            "9.1.1.1",
            "a boolean is not converted to a string",
            typed("string", "true"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.1",
            "a string cannot be null",
            typed("string", "null"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.1",
            "unquoted nan is a float, not a string",
            typed("string", ".nan"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.1",
            "a list is not a string",
            typed("string", "[a]"),
            Invalid("wrong-type"),
        ),
        // integer
        case(
            "9.1.1.2",
            "a decimal integer",
            typed("integer", "-17"),
            Valid,
        ),
        case(
            "9.1.1.2",
            "hexadecimal is YAML integer notation",
            typed("integer", "0x1F"),
            Valid,
        ),
        case(
            "9.1.1.2",
            "octal is YAML integer notation",
            typed("integer", "0o17"),
            Valid,
        ),
        case(
            "9.1.1.2",
            "a float is not an integer",
            typed("integer", "1.5"),
            InvalidAt("wrong-type", "p: 1.5"),
        ),
        case(
            "9.1.1.2",
            "a float with no fraction is still a YAML float",
            typed("integer", "2.0"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.2",
            "a quoted number is a string",
            typed("integer", "\"7\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.2",
            "integers are 64-bit: 2^63 does not fit",
            typed("integer", "9223372036854775808"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.2",
            "the largest 64-bit signed integer fits",
            typed("integer", "9223372036854775807"),
            Valid,
        ),
        // float
        case("9.1.1.3", "a decimal float", typed("float", "2.5"), Valid),
        case(
            "9.1.1.3",
            "scientific notation",
            typed("float", "6.02e+23"),
            Valid,
        ),
        case(
            "9.1.1.3",
            "positive infinity",
            typed("float", ".inf"),
            Valid,
        ),
        case(
            "9.1.1.3",
            "negative infinity",
            typed("float", "-.inf"),
            Valid,
        ),
        case("9.1.1.3", "not-a-number", typed("float", ".nan"), Valid),
        case(
            "9.1.1.3",
            "an integer given for a float property is accepted (the one allowed conversion)",
            typed("float", "12"),
            Valid,
        ),
        case(
            "9.1.1.3",
            "a quoted number is a string, not a float",
            typed("float", "\"2.5\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.3",
            "a boolean is not a float",
            typed("float", "false"),
            Invalid("wrong-type"),
        ),
        // boolean
        case("9.1.1.4", "true", typed("boolean", "true"), Valid),
        case("9.1.1.4", "false", typed("boolean", "false"), Valid),
        case(
            "9.1.1.4",
            "yes is not a boolean",
            typed("boolean", "yes"),
            InvalidAt("wrong-type", "p: yes"),
        ),
        case(
            "9.1.1.4",
            "a quoted \"true\" is a string",
            typed("boolean", "\"true\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.4",
            "1 is not converted to a boolean",
            typed("boolean", "1"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.4",
            "off is not a boolean",
            typed("boolean", "off"),
            Invalid("wrong-type"),
        ),
        // bytes
        case(
            "9.1.1.5",
            "Base64 text",
            typed("bytes", "\"a2h1dHVsdW4=\""),
            Valid,
        ),
        case(
            "9.1.1.5",
            "no bytes at all (empty)",
            typed("bytes", "\"\""),
            Valid,
        ),
        case(
            "9.1.1.5",
            "text that is not Base64",
            typed("bytes", "\"not base64!\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.5",
            "the YAML !!binary tag is refused",
            typed("bytes", "!!binary a2h1dHVsdW4="),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.5",
            "bytes cannot be null",
            typed("bytes", "null"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.5",
            "an integer is not bytes",
            typed("bytes", "12"),
            Invalid("wrong-type"),
        ),
        // nil
        case(
            "9.1.1.6",
            "null for a nil property",
            typed("nil", "null"),
            Valid,
        ),
        case(
            "9.1.1.6",
            "a tilde is YAML null too",
            typed("nil", "~"),
            Valid,
        ),
        case(
            "9.1.1.6",
            "a required nil property must still be assigned",
            typed("nil", ""),
            Invalid("missing-required"),
        ),
        case(
            "9.1.1.6",
            "an optional nil property may stay unassigned",
            prop("", "{ type: nil, required: false }", ""),
            Valid,
        ),
        case(
            "9.1.1.6",
            "only null is nil",
            typed("nil", "0"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.6",
            "the string \"null\" is not nil",
            typed("nil", "\"null\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1",
            "built-in type names are reserved",
            format!("{HEAD}data_types:\n  integer:\n    derived_from: string\n"),
            Invalid("reserved-name"),
        ),
    ]);
}

// ---- 9.1.2 special types -----------------------------------------------------------------

#[test]
fn special_types_9_1_2() {
    run(vec![
        // timestamp
        case(
            "9.1.2.1",
            "RFC 3339 with a Z offset",
            typed("timestamp", "\"2024-02-29T10:00:00Z\""),
            Valid,
        ),
        case(
            "9.1.2.1",
            "RFC 3339 with a numeric offset and fraction",
            typed("timestamp", "\"2024-02-29T10:00:00.25+05:30\""),
            Valid,
        ),
        case(
            "9.1.2.1",
            "a space instead of T is YAML's relaxed notation, not RFC 3339",
            typed("timestamp", "\"2024-02-29 10:00:00Z\""),
            Invalid("wrong-type"),
        ),
        // RFC 3339 also defines `full-date`; the processor reads a date alone as midnight UTC,
        // as the OASIS suite's timestamp.yaml expects. §9.1.2.1 speaks of an instant with an
        // offset, but only names RFC 3339 as the grammar: kept.
        case(
            "9.1.2.1",
            "a date alone is read as midnight UTC (kept, see above)",
            typed("timestamp", "\"2024-02-29\""),
            Valid,
        ),
        case(
            "9.1.2.1",
            "no such day",
            typed("timestamp", "\"2023-02-29T10:00:00Z\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.1",
            "an instant needs its offset",
            typed("timestamp", "\"2024-02-29T10:00:00\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.1",
            "a number is not a timestamp",
            typed("timestamp", "1700000000"),
            Invalid("wrong-type"),
        ),
        // scalar (OS text: concrete types derive from `scalar` and list their `units`)
        case(
            "9.1.2.2",
            "a number, a space and a unit of the type",
            with_data(SIZE, "{ type: Size }", "10 kB"),
            Valid,
        ),
        case(
            "9.1.2.2",
            "a float amount",
            with_data(SIZE, "{ type: Size }", "1.5 MB"),
            Valid,
        ),
        case(
            "9.1.2.2",
            "a unit the type does not define",
            with_data(SIZE, "{ type: Size }", "10 GB"),
            InvalidAt("wrong-type", "p: 10 GB"),
        ),
        case(
            "9.1.2.2",
            "units are case-sensitive",
            with_data(SIZE, "{ type: Size }", "10 kb"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.2",
            "the unit is mandatory",
            with_data(SIZE, "{ type: Size }", "10"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.2",
            "the number is mandatory",
            with_data(SIZE, "{ type: Size }", "kB"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.2",
            "the abstract scalar type cannot be used as is",
            typed("scalar", "\"1 m\""),
            Invalid("abstract-type"),
        ),
        case(
            "9.1.2.2",
            "a concrete scalar type needs units",
            format!("{HEAD}data_types:\n  Length:\n    derived_from: scalar\n"),
            Invalid("missing-keyname"),
        ),
        case(
            "9.1.2.2",
            "a scalar's number type is float or integer",
            format!(
                "{HEAD}data_types:\n  Length:\n    derived_from: scalar\n    data_type: string\n    units: {{ m: 1 }}\n"
            ),
            Invalid("invalid-value"),
        ),
        case(
            "9.1.2.2",
            "an integer scalar refuses a fractional amount",
            with_data(
                "  Count:\n    derived_from: scalar\n    data_type: integer\n    units: { items: 1, dozen: 12 }\n",
                "{ type: Count }",
                "2.5 dozen",
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.2",
            "a derived scalar type may add units",
            with_data(
                &format!(
                    "{SIZE}  BigSize:\n    derived_from: Size\n    units: {{ GB: 1000000000 }}\n"
                ),
                "{ type: BigSize }",
                "2 GB",
            ),
            Valid,
        ),
        // version
        case(
            "9.1.2.3",
            "major.minor, quoted",
            typed("version", "\"6.1\""),
            Valid,
        ),
        case(
            "9.1.2.3",
            "major.minor.fix",
            typed("version", "2.0.1"),
            Valid,
        ),
        case(
            "9.1.2.3",
            "with a qualifier",
            typed("version", "2.0.1.rc"),
            Valid,
        ),
        case(
            "9.1.2.3",
            "with a qualifier and a build number",
            typed("version", "2.0.1.rc-4"),
            Valid,
        ),
        case(
            "9.1.2.3",
            "an unquoted major.minor is a YAML float",
            typed("version", "6.1"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.3",
            "a major version alone is not a version",
            typed("version", "\"6\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.3",
            "version components are numbers",
            typed("version", "\"one.two\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.3",
            "the build number follows a qualifier, with a hyphen",
            typed("version", "\"1.2.3-4\""),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.2.3",
            "a build number is an integer",
            typed("version", "\"1.2.3.beta-x\""),
            Invalid("wrong-type"),
        ),
    ]);
}

// ---- 9.1.3 collection types --------------------------------------------------------------

#[test]
fn collection_types_9_1_3() {
    let list_of_int = "{ type: list, entry_schema: integer }";
    let map_of_int = "{ type: map, entry_schema: integer }";
    run(vec![
        case(
            "9.1.3.1",
            "a flow list",
            prop("", list_of_int, "[ 1, 2, 3 ]"),
            Valid,
        ),
        case(
            "9.1.3.1",
            "a block list",
            prop("", list_of_int, "\n          - 1\n          - 2"),
            Valid,
        ),
        case(
            "9.1.3.1",
            "an empty list",
            prop("", list_of_int, "[]"),
            Valid,
        ),
        case(
            "9.1.3.1",
            "every entry must match the entry schema",
            prop("", list_of_int, "[ 1, two, 3 ]"),
            InvalidAt("wrong-type", "p: [ 1, two, 3 ]"),
        ),
        case(
            "9.1.3.1",
            "a map is not a list",
            prop("", list_of_int, "{ a: 1 }"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.3.1",
            "a single value is not a list of one",
            prop("", list_of_int, "1"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.3.1",
            "entry_schema is mandatory for a list",
            prop("", "{ type: list }", "[ 1 ]"),
            Invalid("missing-keyname"),
        ),
        case(
            "9.1.3.1",
            "the entry schema's validation applies to each entry",
            prop(
                "",
                "{ type: list, entry_schema: { type: integer, validation: { $less_or_equal: [ $value, 10 ] } } }",
                "[ 5, 50 ]",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.1.3.1",
            "lists of lists: schemas nest",
            prop(
                "",
                "{ type: list, entry_schema: { type: list, entry_schema: string } }",
                "[ [ a, b ], [] ]",
            ),
            Valid,
        ),
        case(
            "9.1.3.1",
            "a nested entry of the wrong type",
            prop(
                "",
                "{ type: list, entry_schema: { type: list, entry_schema: string } }",
                "[ [ a, 2 ] ]",
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.3.2",
            "a flow map",
            prop("", map_of_int, "{ a: 1, b: 2 }"),
            Valid,
        ),
        case(
            "9.1.3.2",
            "a block map",
            prop("", map_of_int, "\n          a: 1\n          b: 2"),
            Valid,
        ),
        case("9.1.3.2", "an empty map", prop("", map_of_int, "{}"), Valid),
        case(
            "9.1.3.2",
            "every entry must match the entry schema",
            prop("", map_of_int, "{ a: 1, b: x }"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.3.2",
            "a list is not a map",
            prop("", map_of_int, "[ 1 ]"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.3.2",
            "entry_schema is mandatory for a map",
            prop("", "{ type: map }", "{ a: 1 }"),
            Invalid("missing-keyname"),
        ),
        case(
            "9.1.3.2",
            "map keys are strings: an integer key is refused",
            prop("", map_of_int, "{ 1: 1 }"),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.3.2",
            "a key schema derived from string validates the keys",
            with_data(
                "  Word:\n    derived_from: string\n    validation: { $matches: [ $value, \"^[a-z]+$\" ] }\n",
                "{ type: map, key_schema: Word, entry_schema: integer }",
                "{ good: 1 }",
            ),
            Valid,
        ),
        case(
            "9.1.3.2",
            "a key that breaks the key schema's validation",
            with_data(
                "  Word:\n    derived_from: string\n    validation: { $matches: [ $value, \"^[a-z]+$\" ] }\n",
                "{ type: map, key_schema: Word, entry_schema: integer }",
                "{ Bad9: 1 }",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.1.3.2",
            "a key schema must derive from string",
            prop(
                "",
                "{ type: map, key_schema: integer, entry_schema: integer }",
                "{}",
            ),
            Invalid("invalid-key-schema"),
        ),
        case(
            "9.1.3.2",
            "key_schema is only for maps",
            prop(
                "",
                "{ type: list, key_schema: string, entry_schema: integer }",
                "[]",
            ),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.1.3.2",
            "entry_schema is not for a scalar type",
            prop("", "{ type: integer, entry_schema: integer }", "1"),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.1.3.2",
            "a map of lists",
            prop(
                "",
                "{ type: map, entry_schema: { type: list, entry_schema: integer } }",
                "{ a: [ 1 ], b: [] }",
            ),
            Valid,
        ),
    ]);
}

// ---- 9.2 data types ----------------------------------------------------------------------

#[test]
fn data_types_9_2() {
    let point = "  Point:\n    properties:\n      x: { type: integer }\n      y: { type: integer, required: false }\n";
    run(vec![
        case(
            "9.2",
            "a complex type's value gives its properties",
            with_data(point, "{ type: Point }", "{ x: 1, y: 2 }"),
            Valid,
        ),
        case(
            "9.2",
            "a property of a complex type that is not required may be left out",
            with_data(point, "{ type: Point }", "{ x: 1 }"),
            Valid,
        ),
        case(
            "9.2",
            "a required property of a complex type must be given",
            with_data(point, "{ type: Point }", "{ y: 1 }"),
            Invalid("missing-required"),
        ),
        case(
            "9.2",
            "a field the complex type does not define",
            with_data(point, "{ type: Point }", "{ x: 1, z: 3 }"),
            Invalid("undeclared"),
        ),
        case(
            "9.2",
            "a field of the wrong type",
            with_data(point, "{ type: Point }", "{ x: one }"),
            Invalid("wrong-type"),
        ),
        case(
            "9.2",
            "a scalar is not a complex value",
            with_data(point, "{ type: Point }", "5"),
            Invalid("wrong-type"),
        ),
        case(
            "9.2",
            "a complex type's property default fills the value",
            with_data(
                "  Opts:\n    properties:\n      level: { type: integer, default: 3 }\n",
                "{ type: Opts }",
                "{}",
            ),
            Valid,
        ),
        case(
            "9.2",
            "a derived complex type adds properties",
            with_data(
                &format!(
                    "{point}  Point3:\n    derived_from: Point\n    properties:\n      z: {{ type: integer }}\n"
                ),
                "{ type: Point3 }",
                "{ x: 1, z: 2 }",
            ),
            Valid,
        ),
        case(
            "9.2",
            "the parent's required properties stay required",
            with_data(
                &format!(
                    "{point}  Point3:\n    derived_from: Point\n    properties:\n      z: {{ type: integer }}\n"
                ),
                "{ type: Point3 }",
                "{ z: 2 }",
            ),
            Invalid("missing-required"),
        ),
        case(
            "9.2",
            "a type derived from a primitive takes values of that primitive",
            with_data(
                "  Name:\n    derived_from: string\n",
                "{ type: Name }",
                "abc",
            ),
            Valid,
        ),
        case(
            "9.2",
            "... and refuses others",
            with_data(
                "  Name:\n    derived_from: string\n",
                "{ type: Name }",
                "12",
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.2",
            "a type needs derived_from or at least one property",
            format!("{HEAD}data_types:\n  Nothing:\n    description: empty\n"),
            Invalid("missing-keyname"),
        ),
        case(
            "9.2",
            "properties may not be added to a type derived from a primitive",
            format!(
                "{HEAD}data_types:\n  Name:\n    derived_from: string\n    properties:\n      x: {{ type: integer }}\n"
            ),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.2",
            "a properties keyname must hold at least one definition",
            format!("{HEAD}data_types:\n  Empty:\n    properties: {{}}\n"),
            Invalid("missing-value"),
        ),
        case(
            "9.2",
            "derived_from must name a known type",
            format!("{HEAD}data_types:\n  Name:\n    derived_from: Strung\n"),
            InvalidAt("unknown-type", "derived_from: Strung"),
        ),
        case(
            "9.2",
            "a derivation cycle",
            format!("{HEAD}data_types:\n  A:\n    derived_from: B\n  B:\n    derived_from: A\n"),
            Invalid("derivation-cycle"),
        ),
        case(
            "9.2",
            "an unknown keyname in a data type",
            format!("{HEAD}data_types:\n  Name:\n    derived_from: string\n    constraints: []\n"),
            InvalidAt("unknown-keyname", "constraints"),
        ),
        case(
            "9.2",
            "a type derived from list needs an entry_schema",
            format!("{HEAD}data_types:\n  Names:\n    derived_from: list\n"),
            Invalid("missing-keyname"),
        ),
        case(
            "9.2",
            "a type derived from list with its entry_schema",
            with_data(
                "  Names:\n    derived_from: list\n    entry_schema: string\n",
                "{ type: Names }",
                "[ a, b ]",
            ),
            Valid,
        ),
        case(
            "9.2",
            "its entries follow the type's entry_schema",
            with_data(
                "  Names:\n    derived_from: list\n    entry_schema: string\n",
                "{ type: Names }",
                "[ a, 2 ]",
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.2",
            "entry_schema is not allowed on a type that is no list or map",
            format!(
                "{HEAD}data_types:\n  Name:\n    derived_from: string\n    entry_schema: string\n"
            ),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.2",
            "key_schema is only for types derived from map",
            format!(
                "{HEAD}data_types:\n  Names:\n    derived_from: list\n    entry_schema: string\n    key_schema: string\n"
            ),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.2",
            "a map type's key_schema must derive from string",
            format!(
                "{HEAD}data_types:\n  Table:\n    derived_from: map\n    entry_schema: string\n    key_schema: float\n"
            ),
            Invalid("invalid-key-schema"),
        ),
        case(
            "9.2",
            "a type's validation clause applies to its values",
            with_data(
                "  Small:\n    derived_from: integer\n    validation: { $less_than: [ $value, 10 ] }\n",
                "{ type: Small }",
                "12",
            ),
            InvalidAt("validation-failed", "p: 12"),
        ),
        case(
            "9.2",
            "a derived type's validation adds to the parent's (both hold)",
            with_data(
                "  Small:\n    derived_from: integer\n    validation: { $less_than: [ $value, 10 ] }\n  SmallEven:\n    derived_from: Small\n    validation: { $equal: [ { $remainder: [ $value, 2 ] }, 0 ] }\n",
                "{ type: SmallEven }",
                "12",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.2",
            "... and a value meeting both is valid",
            with_data(
                "  Small:\n    derived_from: integer\n    validation: { $less_than: [ $value, 10 ] }\n  SmallEven:\n    derived_from: Small\n    validation: { $equal: [ { $remainder: [ $value, 2 ] }, 0 ] }\n",
                "{ type: SmallEven }",
                "8",
            ),
            Valid,
        ),
        case(
            "9.2",
            "the derived validation alone fails",
            with_data(
                "  Small:\n    derived_from: integer\n    validation: { $less_than: [ $value, 10 ] }\n  SmallEven:\n    derived_from: Small\n    validation: { $equal: [ { $remainder: [ $value, 2 ] }, 0 ] }\n",
                "{ type: SmallEven }",
                "7",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.2",
            "a complex type's validation reads its fields with $value",
            with_data(
                "  Span:\n    properties:\n      low: { type: integer }\n      high: { type: integer }\n    validation: { $less_or_equal: [ { $value: [ low ] }, { $value: [ high ] } ] }\n",
                "{ type: Span }",
                "{ low: 5, high: 1 }",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.2",
            "a refined property in a derived complex type must keep a compatible type",
            format!(
                "{HEAD}data_types:\n  A:\n    properties:\n      x: {{ type: integer }}\n  B:\n    derived_from: A\n    properties:\n      x: {{ type: string }}\n"
            ),
            Invalid("invalid-refinement"),
        ),
        case(
            "9.2",
            "a recursive complex type",
            with_data(
                "  Tree:\n    properties:\n      label: { type: string }\n      children: { type: list, entry_schema: Tree, required: false }\n",
                "{ type: Tree }",
                "{ label: root, children: [ { label: leaf } ] }",
            ),
            Valid,
        ),
        case(
            "9.2",
            "a wrong value deep inside a recursive type",
            with_data(
                "  Tree:\n    properties:\n      label: { type: string }\n      children: { type: list, entry_schema: Tree, required: false }\n",
                "{ type: Tree }",
                "{ label: root, children: [ { label: 3 } ] }",
            ),
            Invalid("wrong-type"),
        ),
    ]);
}

// ---- 9.3 schema definitions --------------------------------------------------------------

#[test]
fn schema_definitions_9_3() {
    run(vec![
        case(
            "9.3",
            "the short form names the type",
            prop("", "{ type: list, entry_schema: string }", "[ a ]"),
            Valid,
        ),
        case(
            "9.3",
            "the long form with description and validation",
            prop(
                "",
                "{ type: list, entry_schema: { type: string, description: a word, validation: { $has_prefix: [ $value, w ] } } }",
                "[ word, wide ]",
            ),
            Valid,
        ),
        case(
            "9.3",
            "an entry breaking the schema's validation",
            prop(
                "",
                "{ type: list, entry_schema: { type: string, validation: { $has_prefix: [ $value, w ] } } }",
                "[ word, narrow ]",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.3",
            "type is mandatory in a schema definition",
            prop(
                "",
                "{ type: list, entry_schema: { description: no type } }",
                "[]",
            ),
            Invalid("missing-keyname"),
        ),
        case(
            "9.3",
            "an unknown keyname in a schema definition",
            prop(
                "",
                "{ type: list, entry_schema: { type: string, required: true } }",
                "[]",
            ),
            Invalid("unknown-keyname"),
        ),
        case(
            "9.3",
            "a schema naming an unknown type",
            prop("", "{ type: list, entry_schema: Strin }", "[]"),
            Invalid("unknown-type"),
        ),
        case(
            "9.3",
            "a schema of type map needs its own entry_schema",
            prop("", "{ type: list, entry_schema: { type: map } }", "[]"),
            Invalid("missing-keyname"),
        ),
        case(
            "9.3",
            "a schema of type map with a key_schema",
            prop(
                "",
                "{ type: list, entry_schema: { type: map, key_schema: string, entry_schema: integer } }",
                "[ { a: 1 } ]",
            ),
            Valid,
        ),
        case(
            "9.3",
            "a key_schema in a schema that is not a map",
            prop(
                "",
                "{ type: list, entry_schema: { type: string, key_schema: string } }",
                "[]",
            ),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.3",
            "a schema's key_schema must derive from string",
            prop(
                "",
                "{ type: list, entry_schema: { type: map, key_schema: boolean, entry_schema: integer } }",
                "[]",
            ),
            Invalid("invalid-key-schema"),
        ),
        case(
            "9.3",
            "a refined entry_schema must derive from the parent's",
            format!(
                "{HEAD}data_types:\n  Word:\n    derived_from: string\nnode_types:\n  A:\n    properties:\n      p: {{ type: list, entry_schema: Word }}\n  B:\n    derived_from: A\n    properties:\n      p: {{ type: list, entry_schema: integer }}\n"
            ),
            Invalid("invalid-refinement"),
        ),
        case(
            "9.3",
            "a refined entry_schema may narrow to a derived type",
            format!(
                "{HEAD}data_types:\n  Word:\n    derived_from: string\nnode_types:\n  A:\n    properties:\n      p: {{ type: list, entry_schema: string }}\n  B:\n    derived_from: A\n    properties:\n      p: {{ type: list, entry_schema: Word }}\n"
            ),
            Valid,
        ),
    ]);
}

// ---- 9.3/9.4 property definitions and assignments ----------------------------------------

/// A node type `A` with property `p` defined by `parent`, `B` derived from it refining `p`
/// with `child`, and a node of type `B` assigning `value` (none when empty).
fn refined(parent: &str, child: &str, value: &str) -> String {
    let assignment = if value.is_empty() {
        String::new()
    } else {
        format!("      properties:\n        p: {value}\n")
    };
    format!(
        "{HEAD}node_types:\n  A:\n    properties:\n      p: {parent}\n  B:\n    derived_from: A\n    \
         properties:\n      p: {child}\nservice_template:\n  node_templates:\n    n:\n      type: B\n{assignment}"
    )
}

#[test]
fn property_definitions_9_3() {
    run(vec![
        case(
            "9.3",
            "type, description, metadata, required, default, status and validation together",
            prop(
                "",
                "{ type: integer, description: a count, metadata: { owner: me }, required: true, default: 2, status: supported, validation: { $greater_than: [ $value, 0 ] } }",
                "",
            ),
            Valid,
        ),
        case(
            "9.3",
            "type is mandatory in a property definition",
            prop("", "{ description: untyped }", ""),
            InvalidAt("missing-keyname", "p: { description: untyped }"),
        ),
        case(
            "9.3",
            "an unknown keyname in a property definition",
            prop("", "{ type: integer, mandatory: true }", "1"),
            Invalid("unknown-keyname"),
        ),
        case(
            "9.3",
            "a property type that is not a data type",
            prop("", "{ type: Nowhere }", "1"),
            Invalid("unknown-type"),
        ),
        case(
            "9.3",
            "required must be a boolean",
            prop("", "{ type: integer, required: yes }", "1"),
            Invalid("wrong-shape"),
        ),
        case(
            "9.3",
            "required defaults to true: an unassigned property without default is missing",
            prop("", "{ type: integer }", ""),
            Invalid("missing-required"),
        ),
        case(
            "9.3",
            "a required property's default is used when it is not assigned",
            prop("", "{ type: integer, default: 4 }", ""),
            Valid,
        ),
        case(
            "9.3",
            "a default must match the property type",
            prop("", "{ type: integer, default: four }", ""),
            InvalidAt("wrong-type", "default: four"),
        ),
        case(
            "9.3",
            "a default must meet the property's validation",
            prop(
                "",
                "{ type: integer, default: 0, validation: { $greater_than: [ $value, 0 ] } }",
                "",
            ),
            Invalid("validation-failed"),
        ),
        // §9.3 says `default` SHALL NOT be defined when `required` is false, but the same
        // section's own example (the Endpoint capability's `secure`) does exactly that, and
        // the OASIS suite expects it valid (s85, all_elements): the text contradicts itself,
        // so the processor keeps accepting it (the default is then simply not used).
        case(
            "9.3",
            "a default on a property that is not required (see above: accepted)",
            prop("", "{ type: integer, required: false, default: 4 }", ""),
            Valid,
        ),
        case(
            "9.3",
            "a property that is not required may stay unassigned",
            prop("", "{ type: integer, required: false }", ""),
            Valid,
        ),
        case(
            "9.3",
            "status takes one of the status values",
            prop("", "{ type: integer, status: experimental }", "1"),
            Valid,
        ),
        case(
            "9.3",
            "an unknown status value",
            prop("", "{ type: integer, status: shiny }", "1"),
            Invalid("invalid-value"),
        ),
        case(
            "9.3",
            "a fixed value needs no assignment",
            prop("", "{ type: integer, value: 9 }", ""),
            Valid,
        ),
        case(
            "9.3",
            "a fixed value must match the type",
            prop("", "{ type: integer, value: nine }", ""),
            Invalid("wrong-type"),
        ),
        case(
            "9.3",
            "a fixed value cannot be assigned",
            prop("", "{ type: integer, value: 9 }", "10"),
            InvalidAt("fixed-value", "p: 10"),
        ),
        case(
            "9.3",
            "the short form in a refinement fixes the value",
            refined("{ type: integer }", "5", ""),
            Valid,
        ),
        case(
            "9.3",
            "... which then cannot be assigned",
            refined("{ type: integer }", "5", "6"),
            Invalid("fixed-value"),
        ),
        case(
            "9.3",
            "the short form is only for refinements: a new property needs a definition",
            prop("", "5", ""),
            Invalid("missing-keyname"),
        ),
        case(
            "9.3",
            "a fixed value cannot be refined",
            refined(
                "{ type: integer, value: 1 }",
                "{ type: integer, value: 2 }",
                "",
            ),
            Invalid("fixed-value"),
        ),
        case(
            "9.3",
            "a refinement may narrow the type to a derived one",
            format!(
                "{HEAD}data_types:\n  Small:\n    derived_from: integer\nnode_types:\n  A:\n    properties:\n      p: {{ type: integer }}\n  B:\n    derived_from: A\n    properties:\n      p: {{ type: Small }}\n"
            ),
            Valid,
        ),
        case(
            "9.3",
            "a refinement may not change the type to an unrelated one",
            refined("{ type: integer }", "{ type: string }", "x"),
            Invalid("invalid-refinement"),
        ),
        case(
            "9.3",
            "required may go from false to true",
            refined(
                "{ type: integer, required: false }",
                "{ type: integer, required: true }",
                "1",
            ),
            Valid,
        ),
        case(
            "9.3",
            "required may not go from true back to false",
            refined(
                "{ type: integer }",
                "{ type: integer, required: false }",
                "",
            ),
            Invalid("invalid-refinement"),
        ),
        case(
            "9.3",
            "a refinement may replace the default",
            refined(
                "{ type: integer, default: 1 }",
                "{ type: integer, default: 2 }",
                "",
            ),
            Valid,
        ),
        case(
            "9.3",
            "a refined validation adds to the parent's: the parent's still holds",
            refined(
                "{ type: integer, validation: { $less_than: [ $value, 10 ] } }",
                "{ type: integer, validation: { $greater_than: [ $value, 0 ] } }",
                "20",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.3",
            "a refined validation adds to the parent's: the new one holds too",
            refined(
                "{ type: integer, validation: { $less_than: [ $value, 10 ] } }",
                "{ type: integer, validation: { $greater_than: [ $value, 0 ] } }",
                "-1",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.3",
            "a refinement may leave the type out (it is inherited)",
            refined("{ type: integer }", "{ default: 3 }", ""),
            Valid,
        ),
        case(
            "9.3",
            "property definitions in a capability type follow the same rules",
            format!(
                "{HEAD}capability_types:\n  C:\n    properties:\n      size: {{ type: integer }}\nnode_types:\n  N:\n    capabilities:\n      c: C\nservice_template:\n  node_templates:\n    n:\n      type: N\n      capabilities:\n        c:\n          properties:\n            size: big\n"
            ),
            InvalidAt("wrong-type", "size: big"),
        ),
    ]);
}

#[test]
fn property_assignments_9_4() {
    run(vec![
        case(
            "9.4",
            "a property the type does not define",
            format!(
                "{HEAD}node_types:\n  N: {{}}\nservice_template:\n  node_templates:\n    n:\n      type: N\n      properties:\n        extra: 1\n"
            ),
            InvalidAt("undeclared", "extra: 1"),
        ),
        case(
            "9.4",
            "an assignment may be an expression",
            format!(
                "{HEAD}node_types:\n  N:\n    properties:\n      p: {{ type: integer }}\nservice_template:\n  inputs:\n    i: {{ type: integer, default: 2 }}\n  node_templates:\n    n:\n      type: N\n      properties:\n        p: {{ $get_input: i }}\n"
            ),
            Valid,
        ),
        case(
            "9.4",
            "an expression's value must match the property type",
            format!(
                "{HEAD}node_types:\n  N:\n    properties:\n      p: {{ type: integer }}\nservice_template:\n  inputs:\n    i: {{ type: string, default: two }}\n  node_templates:\n    n:\n      type: N\n      properties:\n        p: {{ $get_input: i }}\n"
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.4",
            "an expression's value must meet the property's validation",
            format!(
                "{HEAD}node_types:\n  N:\n    properties:\n      p: {{ type: integer, validation: {{ $less_than: [ $value, 2 ] }} }}\nservice_template:\n  inputs:\n    i: {{ type: integer, default: 5 }}\n  node_templates:\n    n:\n      type: N\n      properties:\n        p: {{ $get_input: i }}\n"
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.4",
            "an assigned value must meet the property's validation",
            prop(
                "",
                "{ type: string, validation: { $valid_values: [ $value, [ red, green ] ] } }",
                "blue",
            ),
            InvalidAt("validation-failed", "p: blue"),
        ),
        case(
            "9.4",
            "an assigned value meeting the validation",
            prop(
                "",
                "{ type: string, validation: { $valid_values: [ $value, [ red, green ] ] } }",
                "green",
            ),
            Valid,
        ),
        case(
            "9.4",
            "an assignment replaces the default",
            prop("", "{ type: integer, default: 1 }", "2"),
            Valid,
        ),
        case(
            "9.4",
            "null is not a value for an integer property",
            prop("", "{ type: integer, required: false }", "null"),
            Invalid("wrong-type"),
        ),
    ]);
}

// ---- 9.5/9.6 attribute definitions and assignments ---------------------------------------

/// A node type `N` with attribute `a` (its definition as given) and property `q`, and a node
/// assigning `a: value` (none when empty).
fn attr(definition: &str, value: &str) -> String {
    let assignment = if value.is_empty() {
        String::new()
    } else {
        format!("      attributes:\n        a: {value}\n")
    };
    format!(
        "{HEAD}node_types:\n  N:\n    properties:\n      q: {{ type: integer, default: 1 }}\n    \
         attributes:\n      a: {definition}\nservice_template:\n  node_templates:\n    n:\n      type: N\n{assignment}"
    )
}

#[test]
fn attributes_9_5_and_9_6() {
    run(vec![
        case(
            "9.5",
            "type, description, metadata, default, validation",
            attr(
                "{ type: integer, description: d, metadata: { k: v }, default: 0, validation: { $greater_or_equal: [ $value, 0 ] } }",
                "",
            ),
            Valid,
        ),
        case(
            "9.5",
            "an attribute without default and without assignment is fine (no required)",
            attr("{ type: string }", ""),
            Valid,
        ),
        case(
            "9.5",
            "type is mandatory",
            attr("{ description: untyped }", ""),
            Invalid("missing-keyname"),
        ),
        case(
            "9.5",
            "an unknown keyname",
            attr("{ type: string, constraints: [] }", ""),
            Invalid("unknown-keyname"),
        ),
        case(
            "9.5",
            "a default of the wrong type",
            attr("{ type: integer, default: none }", ""),
            InvalidAt("wrong-type", "default: none"),
        ),
        case(
            "9.5",
            "a list attribute needs an entry_schema",
            attr("{ type: list }", ""),
            Invalid("missing-keyname"),
        ),
        case(
            "9.5",
            "an attribute of an unknown type",
            attr("{ type: Nothing }", ""),
            Invalid("unknown-type"),
        ),
        case(
            "9.5",
            "a refined attribute must keep a compatible type",
            format!(
                "{HEAD}node_types:\n  A:\n    attributes:\n      a: {{ type: integer }}\n  B:\n    derived_from: A\n    attributes:\n      a: {{ type: boolean }}\n"
            ),
            Invalid("invalid-refinement"),
        ),
        case(
            "9.6",
            "an assignment of the attribute's type",
            attr("{ type: integer }", "3"),
            Valid,
        ),
        case(
            "9.6",
            "an assignment of the wrong type",
            attr("{ type: integer }", "three"),
            InvalidAt("wrong-type", "a: three"),
        ),
        case(
            "9.6",
            "an assignment breaking the attribute's validation",
            attr(
                "{ type: integer, validation: { $greater_or_equal: [ $value, 0 ] } }",
                "-3",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.6",
            "the extended 1.3 form {description, value} is gone: the map is the value",
            attr("{ type: integer }", "{ value: 3 }"),
            Invalid("wrong-type"),
        ),
        case(
            "9.6",
            "an attribute the type does not define",
            attr("{ type: integer }", "3\n        b: 4"),
            InvalidAt("undeclared", "b: 4"),
        ),
        case(
            "9.5",
            "every property is reflected as an attribute, which may be assigned",
            format!(
                "{HEAD}node_types:\n  N:\n    properties:\n      q: {{ type: integer, default: 1 }}\nservice_template:\n  node_templates:\n    n:\n      type: N\n      attributes:\n        q: 2\n"
            ),
            Valid,
        ),
        case(
            "9.5",
            "... with the property's type",
            format!(
                "{HEAD}node_types:\n  N:\n    properties:\n      q: {{ type: integer, default: 1 }}\nservice_template:\n  node_templates:\n    n:\n      type: N\n      attributes:\n        q: two\n"
            ),
            Invalid("wrong-type"),
        ),
    ]);
}

// ---- 9.7–9.9 parameters ------------------------------------------------------------------

/// A service with the given inputs (body of `inputs`) and outputs (body of `outputs`).
fn params(inputs: &str, outputs: &str) -> String {
    let inputs = if inputs.is_empty() {
        String::new()
    } else {
        format!("  inputs:\n{inputs}")
    };
    let outputs = if outputs.is_empty() {
        String::new()
    } else {
        format!("  outputs:\n{outputs}")
    };
    format!(
        "{HEAD}node_types:\n  N:\n    attributes:\n      state: {{ type: string, default: up }}\nservice_template:\n{inputs}  node_templates:\n    n:\n      type: N\n{outputs}"
    )
}

/// A node type with an interface whose operation `run` has the given inputs and outputs
/// definitions (bodies), and a node assigning `assigned` to the operation (body, may be empty).
fn operation(inputs: &str, outputs: &str, assigned: &str) -> String {
    let assigned = if assigned.is_empty() {
        String::new()
    } else {
        format!(
            "      interfaces:\n        ops:\n          operations:\n            run:\n{assigned}"
        )
    };
    format!(
        "{HEAD}interface_types:\n  Ops:\n    operations:\n      run:\n        inputs:\n{inputs}        outputs:\n{outputs}\
         node_types:\n  N:\n    attributes:\n      state: {{ type: string, default: up }}\n      \
         count: {{ type: integer, default: 0 }}\n    interfaces:\n      ops:\n        type: Ops\n\
         service_template:\n  node_templates:\n    n:\n      type: N\n{assigned}"
    )
}

#[test]
fn parameters_9_7_to_9_9() {
    run(vec![
        case(
            "9.7",
            "an input with type, description, default and validation",
            params(
                "    n: { type: integer, description: how many, default: 2, validation: { $greater_than: [ $value, 0 ] } }\n",
                "",
            ),
            Valid,
        ),
        case(
            "9.7",
            "a required input without default and not given",
            params("    n: { type: integer }\n", ""),
            Invalid("missing-input"),
        ),
        case(
            "9.7",
            "an input that is not required may be left without value",
            params("    n: { type: integer, required: false }\n", ""),
            Valid,
        ),
        case(
            "9.7",
            "an input's default of the wrong type",
            params("    n: { type: integer, default: many }\n", ""),
            InvalidAt("wrong-type", "default: many"),
        ),
        case(
            "9.7",
            "an input's default breaking its validation",
            params(
                "    n: { type: integer, default: 0, validation: { $greater_than: [ $value, 0 ] } }\n",
                "",
            ),
            Invalid("validation-failed"),
        ),
        // As for properties (§9.3, see there): the text forbids it, its own examples do it.
        case(
            "9.7",
            "a default on an input that is not required (accepted, as for properties)",
            params(
                "    n: { type: integer, required: false, default: 1 }\n",
                "",
            ),
            Valid,
        ),
        case(
            "9.7",
            "an unknown keyname in a parameter definition",
            params("    n: { type: integer, default: 1, hidden: true }\n", ""),
            Invalid("unknown-keyname"),
        ),
        case(
            "9.7",
            "a parameter type that is not known",
            params("    n: { type: Integer, default: 1 }\n", ""),
            Invalid("unknown-type"),
        ),
        case(
            "9.7",
            "a list input needs its entry_schema",
            params("    n: { type: list, default: [] }\n", ""),
            Invalid("missing-keyname"),
        ),
        case(
            "9.7",
            "an output without a type takes its value's",
            params("", "    o: { value: { $get_attribute: [ n, state ] } }\n"),
            Valid,
        ),
        case(
            "9.7",
            "an output in the single-line grammar",
            params("", "    o: { $concat: [ a, b ] }\n"),
            Valid,
        ),
        case(
            "9.7",
            "an output in the single-line grammar, a literal",
            params("", "    o: ready\n"),
            Valid,
        ),
        case(
            "9.7",
            "an output without a value",
            params("", "    o: { type: string }\n"),
            Invalid("missing-keyname"),
        ),
        case(
            "9.7",
            "a typed output whose value does not match",
            params(
                "",
                "    o: { type: integer, value: { $concat: [ a, b ] } }\n",
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.7",
            "a typed output with a literal of the wrong type",
            params("", "    o: { type: boolean, value: maybe }\n"),
            Invalid("wrong-type"),
        ),
        case(
            "9.7",
            "value and mapping are mutually exclusive",
            operation(
                "          i: { type: integer, value: 1 }\n",
                "          o: { type: string, value: x, mapping: [ SELF, state ] }\n",
                "",
            ),
            Invalid("conflicting-keynames"),
        ),
        case(
            "9.9",
            "an operation output mapped to an attribute of SELF",
            operation(
                "          i: { type: integer, default: 1 }\n",
                "          o: { type: string, mapping: [ SELF, state ] }\n",
                "",
            ),
            Valid,
        ),
        case(
            "9.9",
            "a mapping in the single-line grammar, in a node type's interface definition",
            format!(
                "{HEAD}interface_types:\n  Ops:\n    operations:\n      run: {{}}\nnode_types:\n  N:\n    attributes:\n      state: {{ type: string, default: up }}\n    interfaces:\n      ops:\n        type: Ops\n        operations:\n          run:\n            outputs:\n              o: [ SELF, state ]\nservice_template:\n  node_templates:\n    n:\n      type: N\n"
            ),
            Valid,
        ),
        case(
            "9.9",
            "a single-line mapping onto an attribute the node does not have",
            format!(
                "{HEAD}interface_types:\n  Ops:\n    operations:\n      run: {{}}\nnode_types:\n  N:\n    attributes:\n      state: {{ type: string, default: up }}\n    interfaces:\n      ops:\n        type: Ops\n        operations:\n          run:\n            outputs:\n              o: [ SELF, status ]\nservice_template:\n  node_templates:\n    n:\n      type: N\n"
            ),
            InvalidAt("unknown-attribute", "o: [ SELF, status ]"),
        ),
        // An interface type only declares: its parameters must be definitions (maps), a rule
        // taken earlier for chapter 11 (see the `interface_type` unit tests); kept.
        case(
            "9.9",
            "a single-line mapping in an interface type itself (refused, see above)",
            operation(
                "          i: { type: integer, default: 1 }\n",
                "          o: [ SELF, state ]\n",
                "",
            ),
            Invalid("wrong-shape"),
        ),
        case(
            "9.9",
            "a template's output mapping onto an attribute the node has",
            operation(
                "          i: { type: integer, default: 1 }\n",
                "          o: { type: string }\n",
                "              outputs:\n                o: [ SELF, state ]\n",
            ),
            Valid,
        ),
        case(
            "9.9",
            "a template's output mapping onto an attribute the node does not have",
            operation(
                "          i: { type: integer, default: 1 }\n",
                "          o: { type: string }\n",
                "              outputs:\n                o: [ SELF, nowhere ]\n",
            ),
            InvalidAt("unknown-attribute", "o: [ SELF, nowhere ]"),
        ),
        case(
            "9.9",
            "a mapping onto an attribute the node does not have",
            operation(
                "          i: { type: integer, default: 1 }\n",
                "          o: { type: string, mapping: [ SELF, nothing ] }\n",
                "",
            ),
            Invalid("unknown-attribute"),
        ),
        case(
            "9.8",
            "an operation input assigned a value of its type",
            operation(
                "          i: { type: integer, required: false }\n",
                "          o: { mapping: [ SELF, state ] }\n",
                "              inputs:\n                i: 4\n",
            ),
            Valid,
        ),
        case(
            "9.8",
            "an operation input assigned a value of the wrong type",
            operation(
                "          i: { type: integer, required: false }\n",
                "          o: { mapping: [ SELF, state ] }\n",
                "              inputs:\n                i: four\n",
            ),
            InvalidAt("wrong-type", "i: four"),
        ),
        case(
            "9.8",
            "an operation input with a fixed value cannot be assigned",
            operation(
                "          i: { type: integer, value: 1 }\n",
                "          o: { mapping: [ SELF, state ] }\n",
                "              inputs:\n                i: 2\n",
            ),
            Invalid("fixed-value"),
        ),
        case(
            "9.9",
            "an output with a mapping cannot be mapped again in the template",
            operation(
                "          i: { type: integer, default: 1 }\n",
                "          o: { type: string, mapping: [ SELF, state ] }\n",
                "              outputs:\n                o: [ SELF, count ]\n",
            ),
            Invalid("fixed-value"),
        ),
    ]);
}

// ---- 9.10 validation clauses -------------------------------------------------------------

#[test]
fn validation_clauses_9_10() {
    run(vec![
        case(
            "9.10",
            "$value in its long form with no arguments",
            prop(
                "",
                "{ type: integer, validation: { $greater_or_equal: [ { $value: [] }, 0 ] } }",
                "-1",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "$value with a nested key reads into a complex value",
            with_data(
                "  Pair:\n    properties:\n      a: { type: integer }\n      b: { type: integer }\n",
                "{ type: Pair, validation: { $less_than: [ { $value: [ a ] }, { $value: [ b ] } ] } }",
                "{ a: 2, b: 1 }",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "$value with an index reads into a list",
            prop(
                "",
                "{ type: list, entry_schema: integer, validation: { $equal: [ { $value: [ 0 ] }, 1 ] } }",
                "[ 1, 5 ]",
            ),
            Valid,
        ),
        case(
            "9.10",
            "a clause reading a sibling property through SELF",
            format!(
                "{HEAD}node_types:\n  N:\n    properties:\n      low: {{ type: integer }}\n      high:\n        type: integer\n        validation: {{ $greater_or_equal: [ $value, {{ $get_property: [ SELF, low ] }} ] }}\nservice_template:\n  node_templates:\n    n:\n      type: N\n      properties:\n        low: 5\n        high: 3\n"
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "any nesting of boolean functions",
            prop(
                "",
                "{ type: integer, validation: { $or: [ { $and: [ { $greater_than: [ $value, 0 ] }, { $less_than: [ $value, 10 ] } ] }, { $equal: [ $value, 100 ] } ] } }",
                "100",
            ),
            Valid,
        ),
        case(
            "9.10",
            "the same clause refusing a value",
            prop(
                "",
                "{ type: integer, validation: { $or: [ { $and: [ { $greater_than: [ $value, 0 ] }, { $less_than: [ $value, 10 ] } ] }, { $equal: [ $value, 100 ] } ] } }",
                "50",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "$in_range is not a TOSCA 2.0 function",
            prop(
                "",
                "{ type: integer, validation: { $in_range: [ $value, [ 0, 9 ] ] } }",
                "1",
            ),
            Invalid("function"),
        ),
        case(
            "9.10",
            "a TOSCA 1.x constraint list is not a validation clause",
            prop(
                "",
                "{ type: integer, validation: [ { greater_than: 0 } ] }",
                "1",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "a clause must be a boolean expression: a plain number is none",
            prop("", "{ type: integer, validation: 5 }", "1"),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "a clause with a comparison on scalars, in the type's units",
            with_data(
                SIZE,
                "{ type: Size, validation: { $less_than: [ $value, 2 MB ] } }",
                "3000 kB",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "... which a smaller amount in another unit meets",
            with_data(
                SIZE,
                "{ type: Size, validation: { $less_than: [ $value, 2 MB ] } }",
                "1500 kB",
            ),
            Valid,
        ),
        case(
            "9.10",
            "a clause on an attribute default",
            attr(
                "{ type: integer, default: 5, validation: { $less_than: [ $value, 5 ] } }",
                "",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "a clause comparing versions",
            prop(
                "",
                "{ type: version, validation: { $greater_or_equal: [ $value, 1.2.0 ] } }",
                "1.10.0",
            ),
            Valid,
        ),
        case(
            "9.10",
            "a clause comparing versions, refused",
            prop(
                "",
                "{ type: version, validation: { $greater_or_equal: [ $value, 1.2.0 ] } }",
                "1.1.9",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "9.10",
            "a qualified version is older than the same version without qualifier",
            prop(
                "",
                "{ type: version, validation: { $less_than: [ $value, 2.0.0 ] } }",
                "2.0.0.beta",
            ),
            Valid,
        ),
        case(
            "9.10",
            "timestamps compare as instants in UTC",
            prop(
                "",
                "{ type: timestamp, validation: { $less_than: [ $value, \"2024-01-01T12:00:00Z\" ] } }",
                "\"2024-01-01T13:00:00+02:00\"",
            ),
            Valid,
        ),
    ]);
}

// ---- 10.1 function syntax ----------------------------------------------------------------

#[test]
fn function_syntax_10_1() {
    run(vec![
        gives("$$name", json!("$name")).at("10.1", "$$ escapes a leading dollar"),
        gives("$$$item", json!("$$item")).at("10.1", "only the first dollar is escaped"),
        gives(
            "{ $$key: $$value, plain: $$ }",
            json!({ "$key": "$value", "plain": "$" }),
        )
        .at("10.1", "escaped keys and values in a map are literal"),
        gives("\"costs 5$\"", json!("costs 5$")).at("10.1", "a dollar inside a string is no call"),
        gives("{ $concat: [ a, b ] }", json!("ab"))
            .at("10.1", "a single-key map whose key starts with $ is a call"),
        refused("{ $concat: [ a, b ], other: 1 }", "malformed-function")
            .at("10.1", "a $ key beside other keys is a malformed function"),
        gives("{ $length: [ { $concat: [ ab, cd ] } ] }", json!(4)).at(
            "10.1",
            "calls nest: an inner call's result is the outer's argument",
        ),
        gives("{ { $concat: [ k, x ] }: v }", json!({ "kx": "v" }))
            .at("10.1", "a call producing a map key"),
        gives(
            "{ { $concat: [ a, b ] }: 1, { $concat$1: [ c, d ] }: 2 }",
            json!({ "ab": 1, "cd": 2 }),
        )
        .at(
            "10.1",
            "the same call twice as keys, told apart by a $ suffix",
        ),
        case(
            "10.1",
            "an unknown function",
            output("{ $frobnicate: [ 1 ] }"),
            InvalidAt("function", "$frobnicate"),
        ),
        refused("$frobnicate", "function")
            .at("10.1", "a function without arguments as a plain string"),
        refused("{ $lib:random: [ 1 ] }", "function")
            .at("10.1", "a namespaced function nobody declares"),
        case(
            "10.1",
            "a function may give a keyname's value",
            format!(
                "{HEAD}node_types:\n  N: {{}}\nservice_template:\n  inputs:\n    k: {{ type: integer, default: 2 }}\n  node_templates:\n    n:\n      type: N\n      count: {{ $get_input: k }}\n"
            ),
            Valid,
        ),
        case(
            "10.1",
            "a function in a complex value's field",
            format!(
                "{HEAD}data_types:\n  P:\n    properties:\n      a: {{ type: string }}\nnode_types:\n  N:\n    properties:\n      p: {{ type: P }}\nservice_template:\n  node_templates:\n    n:\n      type: N\n      properties:\n        p: {{ a: {{ $concat: [ x, y ] }} }}\n"
            ),
            Valid,
        ),
        case(
            "10.1",
            "a function in a complex value's field gives the wrong type",
            format!(
                "{HEAD}data_types:\n  P:\n    properties:\n      a: {{ type: integer }}\nnode_types:\n  N:\n    properties:\n      p: {{ type: P }}\nservice_template:\n  node_templates:\n    n:\n      type: N\n      properties:\n        p: {{ a: {{ $concat: [ x, y ] }} }}\n"
            ),
            Invalid("wrong-type"),
        ),
    ]);
}

// ---- 10.2.1 representation graph query functions -----------------------------------------

#[test]
fn graph_query_functions_10_2_1() {
    let inputs = "    size: { type: integer, default: 3 }\n    names: { type: list, entry_schema: string, default: [ alpha, beta ] }\n    info: { type: map, entry_schema: string, default: { zone: north } }\n";
    run(vec![
        // $get_input
        case(
            "10.2.1.1",
            "an input by name",
            output_with_inputs(inputs, "{ $get_input: size }"),
            Yields(json!(3)),
        ),
        case(
            "10.2.1.1",
            "the list form with just the name",
            output_with_inputs(inputs, "{ $get_input: [ size ] }"),
            Yields(json!(3)),
        ),
        case(
            "10.2.1.1",
            "an index into a list input",
            output_with_inputs(inputs, "{ $get_input: [ names, 1 ] }"),
            Yields(json!("beta")),
        ),
        case(
            "10.2.1.1",
            "a key into a map input",
            output_with_inputs(inputs, "{ $get_input: [ info, zone ] }"),
            Yields(json!("north")),
        ),
        case(
            "10.2.1.1",
            "an input that is not declared",
            output_with_inputs(inputs, "{ $get_input: colour }"),
            InvalidAt("unknown-input", "$get_input: colour"),
        ),
        case(
            "10.2.1.1",
            "an index past the end of a list input",
            output_with_inputs(inputs, "{ $get_input: [ names, 5 ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.1",
            "a key a map input does not have",
            output_with_inputs(inputs, "{ $get_input: [ info, height ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.1",
            "$get_input needs the input's name",
            output_with_inputs(inputs, "{ $get_input: [] }"),
            Invalid("function"),
        ),
        case(
            "10.2.1.1",
            "an index is a non-negative integer",
            output_with_inputs(inputs, "{ $get_input: [ names, -1 ] }"),
            Invalid("evaluation"),
        ),
        // $get_property
        case(
            "10.2.1.2",
            "a property of a node template by name",
            graph("{ $get_property: [ server, name ] }"),
            Yields(json!("big")),
        ),
        case(
            "10.2.1.2",
            "an index into a list property",
            graph("{ $get_property: [ server, tags, 1 ] }"),
            Yields(json!("cheap")),
        ),
        case(
            "10.2.1.2",
            "a key into a map property",
            graph("{ $get_property: [ server, limits, cpu ] }"),
            Yields(json!(4)),
        ),
        case(
            "10.2.1.2",
            "a property of a node's capability",
            graph("{ $get_property: [ server, CAPABILITY, socket, port ] }"),
            Yields(json!(8080)),
        ),
        case(
            "10.2.1.2",
            "a property of a relationship",
            graph("{ $get_property: [ client, RELATIONSHIP, uses, weight ] }"),
            Yields(json!(7)),
        ),
        case(
            "10.2.1.2",
            "through a relationship to its target node",
            graph("{ $get_property: [ client, RELATIONSHIP, uses, 0, TARGET, name ] }"),
            Yields(json!("big")),
        ),
        case(
            "10.2.1.2",
            "a property of a relationship's target capability",
            graph("{ $get_property: [ client, RELATIONSHIP, uses, 0, CAPABILITY, port ] }"),
            Yields(json!(8080)),
        ),
        case(
            "10.2.1.2",
            "backwards from a capability to the source of an incoming relationship",
            graph(
                "{ $get_property: [ server, CAPABILITY, socket, RELATIONSHIP, 0, SOURCE, name ] }",
            ),
            Yields(json!("small")),
        ),
        case(
            "10.2.1.2",
            "ALL gives a list, one entry per relationship",
            graph("{ $get_property: [ client, RELATIONSHIP, uses, ALL, weight ] }"),
            Yields(json!([7])),
        ),
        case(
            "10.2.1.2",
            "an index after the node template's name picks its representation",
            graph("{ $get_property: [ server, 0, name ] }"),
            Yields(json!("big")),
        ),
        case(
            "10.2.1.2",
            "a node template that does not exist",
            graph("{ $get_property: [ nobody, name ] }"),
            InvalidAt("unknown-template", "nobody"),
        ),
        case(
            "10.2.1.2",
            "a property the node does not have",
            graph("{ $get_property: [ server, colour ] }"),
            Invalid("unknown-property"),
        ),
        case(
            "10.2.1.2",
            "a path without a property name",
            graph("{ $get_property: [ server ] }"),
            Invalid("function"),
        ),
        case(
            "10.2.1.2",
            "a requirement the node does not have",
            graph("{ $get_property: [ client, RELATIONSHIP, needs, weight ] }"),
            Invalid("unknown-requirement"),
        ),
        case(
            "10.2.1.2",
            "a capability the node does not have",
            graph("{ $get_property: [ server, CAPABILITY, plug, port ] }"),
            Invalid("unknown-capability"),
        ),
        case(
            "10.2.1.2",
            "a relationship index past the relationships there are",
            graph("{ $get_property: [ client, RELATIONSHIP, uses, 3, weight ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.2",
            "the TOSCA 1.x first step SOURCE is gone (now SELF, SOURCE)",
            graph("{ $get_property: [ SOURCE, name ] }"),
            Invalid("unknown-template"),
        ),
        // $get_attribute
        case(
            "10.2.1.3",
            "an attribute of a node template by name",
            graph("{ $get_attribute: [ server, state ] }"),
            Valid,
        ),
        case(
            "10.2.1.3",
            "an attribute the node does not have",
            graph("{ $get_attribute: [ server, colour ] }"),
            Invalid("unknown-property"),
        ),
        case(
            "10.2.1.3",
            "a property's reflected attribute",
            graph("{ $get_attribute: [ server, name ] }"),
            Valid,
        ),
        case(
            "10.2.1.3",
            "$get_attribute needs a path and a name",
            graph("{ $get_attribute: [ server ] }"),
            Invalid("function"),
        ),
        // $get_artifact
        case(
            "10.2.1.4",
            "an artifact of a node",
            graph("{ $get_artifact: [ server, image ] }"),
            Valid,
        ),
        case(
            "10.2.1.4",
            "an artifact the node does not have",
            graph("{ $get_artifact: [ server, kernel ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.4",
            "$get_artifact needs a path and an artifact name",
            graph("{ $get_artifact: [ server ] }"),
            Invalid("function"),
        ),
        // Khutulun keeps TOSCA 1.3's location and remove: a copy the node asks for.
        case(
            "10.2.1.4",
            "a copy at a location answers the copy's path",
            from_server("{ $get_artifact: [ SELF, image, /srv/copies/image.bin ] }"),
            Yields(json!("/srv/copies/image.bin")),
        ),
        case(
            "10.2.1.4",
            "a copy removed with the instance",
            from_server("{ $get_artifact: [ SELF, image, /srv/copies/image.bin, true ] }"),
            Yields(json!("/srv/copies/image.bin")),
        ),
        case(
            "10.2.1.4",
            "a copy's location is an absolute file path",
            from_server("{ $get_artifact: [ SELF, image, copies/image.bin ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.4",
            "remove is a boolean",
            from_server("{ $get_artifact: [ SELF, image, /srv/image.bin, later ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.4",
            "nothing comes after remove",
            from_server("{ $get_artifact: [ SELF, image, /srv/image.bin, true, 1 ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.4",
            "a copy is made only for the node that asks for it (SELF)",
            graph("{ $get_artifact: [ server, image, /srv/image.bin ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.1.4",
            "a copy's arguments are written as they are, not computed",
            from_server("{ $get_artifact: [ SELF, image, { $get_input: [ names, 0 ] } ] }"),
            Invalid("evaluation"),
        ),
        // $node_index, $relationship_index
        case(
            "10.2.1.6",
            "$node_index takes no arguments",
            graph("{ $node_index: [ 1 ] }"),
            Invalid("function"),
        ),
        case(
            "10.2.1.7",
            "$relationship_index takes no arguments",
            graph("{ $relationship_index: [ 1 ] }"),
            Invalid("function"),
        ),
        // $available_allocation
        case(
            "10.2.1.8",
            "a capability property with nothing allocated yet has its whole value left",
            graph("{ $available_allocation: [ server, CAPABILITY, socket, port ] }"),
            Yields(json!(8080)),
        ),
        case(
            "10.2.1.8",
            "what requirements' allocations took is no longer available",
            allocated("cores: 1", "cores: 2", "integer", "4", "cores"),
            Yields(json!(1)),
        ),
        case(
            "10.2.1.8",
            "a scalar capacity, allocated in other units, is left in the canonical unit",
            allocated("memory: 500 kB", "memory: 0.5 MB", "Size", "2 MB", "memory"),
            Yields(json!("1000000.0 B")),
        ),
        case(
            "10.2.1.8",
            "an allocation over what is left cannot be fulfilled",
            allocated("cores: 3", "cores: 2", "integer", "4", "cores"),
            Invalid("unfulfilled-requirement"),
        ),
        case(
            "10.2.1.8",
            "$available_allocation needs a path and a property",
            graph("{ $available_allocation: [ server ] }"),
            Invalid("function"),
        ),
    ]);
}

/// A node `n` with the scalar properties `a` (1 kB) and `b` (200 B), and the output `result`
/// set to `expr`.
fn scalars(expr: &str) -> String {
    format!(
        "{HEAD}data_types:\n{SIZE}node_types:\n  N:\n    properties:\n      a: {{ type: Size }}\n      b: {{ type: Size }}\nservice_template:\n  node_templates:\n    n: {{ type: N, properties: {{ a: 1 kB, b: 200 B }} }}\n  outputs:\n    result:\n      value: {expr}\n"
    )
}

/// A host whose capability property `property` (of `type_`) holds `capacity`, two apps that
/// allocate `first` and `second` from it, and the output `result` reading what is left.
fn allocated(first: &str, second: &str, type_: &str, capacity: &str, property: &str) -> String {
    format!(
        r#"{HEAD}data_types:
{SIZE}capability_types:
  Compute:
    properties:
      {property}: {{ type: {type_} }}
relationship_types:
  HostedOn: {{}}
node_types:
  Host:
    capabilities:
      host: Compute
  App:
    requirements:
      - host: {{ capability: Compute, relationship: HostedOn }}
service_template:
  node_templates:
    box:
      type: Host
      capabilities:
        host:
          properties: {{ {property}: {capacity} }}
    a:
      type: App
      requirements:
        - host: {{ node: box, allocation: {{ {first} }} }}
    b:
      type: App
      requirements:
        - host: {{ node: box, allocation: {{ {second} }} }}
  outputs:
    result:
      value: {{ $available_allocation: [ box, CAPABILITY, host, {property} ] }}
"#
    )
}

// ---- 10.2.2 boolean functions ------------------------------------------------------------

#[test]
fn boolean_functions_10_2_2() {
    let t = |expr: &str, v: bool| Yields(json!(v)).with(output(expr));
    run(vec![
        // logic
        t("{ $and: [ true, true, true ] }", true).at("10.2.2.1.1", "all true"),
        t("{ $and: [ true, false ] }", false).at("10.2.2.1.1", "one false"),
        refused("{ $and: [ true ] }", "function")
            .at("10.2.2.1.1", "$and takes two or more arguments"),
        refused("{ $and: [ true, 1 ] }", "evaluation").at("10.2.2.1.1", "$and takes booleans"),
        t("{ $or: [ false, false, true ] }", true).at("10.2.2.1.2", "one true"),
        t("{ $or: [ false, false ] }", false).at("10.2.2.1.2", "all false"),
        refused("{ $or: [ false ] }", "function")
            .at("10.2.2.1.2", "$or takes two or more arguments"),
        refused("{ $or: [ false, yes ] }", "evaluation").at("10.2.2.1.2", "$or takes booleans"),
        t("{ $not: [ false ] }", true).at("10.2.2.1.3", "negation"),
        refused("{ $not: [ true, true ] }", "function").at("10.2.2.1.3", "$not takes one argument"),
        refused("{ $not: [ 0 ] }", "evaluation").at("10.2.2.1.3", "$not takes a boolean"),
        t("{ $xor: [ true, false ] }", true).at("10.2.2.1.4", "different"),
        t("{ $xor: [ true, true ] }", false).at("10.2.2.1.4", "same"),
        refused("{ $xor: [ true, false, true ] }", "function")
            .at("10.2.2.1.4", "$xor takes exactly two"),
        // comparison
        t("{ $equal: [ 3, 3 ] }", true).at("10.2.2.2.1", "equal integers"),
        t("{ $equal: [ abc, abd ] }", false).at("10.2.2.2.1", "different strings"),
        t("{ $equal: [ [ 1, 2 ], [ 1, 2 ] ] }", true).at("10.2.2.2.1", "equal lists"),
        refused("{ $equal: [ 1, \"1\" ] }", "evaluation").at(
            "10.2.2.2.1",
            "arguments of different types SHOULD be flagged",
        ),
        refused("{ $equal: [ 1 ] }", "function").at("10.2.2.2.1", "$equal takes exactly two"),
        t("{ $greater_than: [ 5, 3 ] }", true).at("10.2.2.2.2", "integers"),
        t("{ $greater_than: [ 3, 3 ] }", false).at("10.2.2.2.2", "equal is not greater"),
        t("{ $greater_than: [ 2.5, 2 ] }", true)
            .at("10.2.2.2.2", "a float and an integer compare as numbers"),
        t("{ $greater_than: [ b, a ] }", true).at("10.2.2.2.2", "strings"),
        refused("{ $greater_than: [ [ 2 ], [ 1 ] ] }", "evaluation")
            .at("10.2.2.2.2", "lists are not comparable"),
        refused("{ $greater_than: [ 2, a ] }", "evaluation")
            .at("10.2.2.2.2", "a number and a string do not compare"),
        refused("{ $greater_than: [ 3, 2, 1 ] }", "function")
            .at("10.2.2.2.2", "$greater_than takes exactly two"),
        t("{ $greater_or_equal: [ 3, 3 ] }", true).at("10.2.2.2.3", "equal"),
        t("{ $greater_or_equal: [ 2, 3 ] }", false).at("10.2.2.2.3", "less"),
        t("{ $less_than: [ 2, 3 ] }", true).at("10.2.2.2.4", "less"),
        t("{ $less_than: [ 3, 3 ] }", false).at("10.2.2.2.4", "equal"),
        t("{ $less_or_equal: [ 3, 3 ] }", true).at("10.2.2.2.5", "equal"),
        t("{ $less_or_equal: [ 4, 3 ] }", false).at("10.2.2.2.5", "greater"),
        refused("{ $less_or_equal: [ 3 ] }", "function")
            .at("10.2.2.2.5", "$less_or_equal takes exactly two"),
        t("{ $valid_values: [ b, [ a, b, c ] ] }", true).at("10.2.2.2.6", "listed"),
        t("{ $valid_values: [ d, [ a, b, c ] ] }", false).at("10.2.2.2.6", "not listed"),
        refused("{ $valid_values: [ a, a ] }", "evaluation")
            .at("10.2.2.2.6", "the second argument is a list"),
        refused("{ $valid_values: [ a ] }", "function")
            .at("10.2.2.2.6", "$valid_values takes exactly two"),
        t("{ $matches: [ abc123, \"^[a-z]+[0-9]+$\" ] }", true).at("10.2.2.2.7", "whole string"),
        t("{ $matches: [ x-abc, \"abc\" ] }", true)
            .at("10.2.2.2.7", "unanchored: a match anywhere"),
        t("{ $matches: [ abc, \"^b\" ] }", false).at("10.2.2.2.7", "no match"),
        refused("{ $matches: [ abc, \"(\" ] }", "evaluation")
            .at("10.2.2.2.7", "the pattern must be a regular expression"),
        refused("{ $matches: [ 12, \"1\" ] }", "evaluation")
            .at("10.2.2.2.7", "the first argument is a string"),
        // list, map and string predicates
        t("{ $has_suffix: [ filename.txt, .txt ] }", true).at("10.2.2.3.1", "string suffix"),
        t("{ $has_suffix: [ [ 1, 2, 3 ], [ 2, 3 ] ] }", true).at("10.2.2.3.1", "list suffix"),
        t("{ $has_suffix: [ [ 1, 2, 3 ], [ 3, 2 ] ] }", false).at("10.2.2.3.1", "order matters"),
        refused("{ $has_suffix: [ abc, [ c ] ] }", "evaluation")
            .at("10.2.2.3.1", "a string and a list do not mix"),
        t("{ $has_prefix: [ filename.txt, file ] }", true).at("10.2.2.3.2", "string prefix"),
        t("{ $has_prefix: [ [ 1, 2, 3 ], [ 1, 2 ] ] }", true).at("10.2.2.3.2", "list prefix"),
        t("{ $has_prefix: [ [ 1, 2, 3 ], [ 2 ] ] }", false).at("10.2.2.3.2", "not a prefix"),
        refused("{ $has_prefix: [ abc ] }", "function")
            .at("10.2.2.3.2", "$has_prefix takes exactly two"),
        t("{ $contains: [ haystack, yst ] }", true).at("10.2.2.3.3", "substring"),
        t("{ $contains: [ [ 1, 2, 3, 4 ], [ 2, 3 ] ] }", true)
            .at("10.2.2.3.3", "uninterrupted sequence"),
        t("{ $contains: [ [ 1, 2, 3, 4 ], [ 2, 4 ] ] }", false)
            .at("10.2.2.3.3", "interrupted sequence"),
        refused("{ $contains: [ 123, 2 ] }", "evaluation")
            .at("10.2.2.3.3", "numbers are neither strings nor lists"),
        t("{ $has_entry: [ [ a, b ], b ] }", true).at("10.2.2.3.4", "a list entry"),
        t("{ $has_entry: [ { k: v }, v ] }", true).at("10.2.2.3.4", "a map value"),
        t("{ $has_entry: [ { k: v }, k ] }", false).at("10.2.2.3.4", "a key is not an entry"),
        refused("{ $has_entry: [ abc, a ] }", "evaluation")
            .at("10.2.2.3.4", "the first argument is a list or a map"),
        t("{ $has_key: [ { k: v }, k ] }", true).at("10.2.2.3.5", "a key"),
        t("{ $has_key: [ { k: v }, v ] }", false).at("10.2.2.3.5", "a value is not a key"),
        refused("{ $has_key: [ [ k ], k ] }", "evaluation")
            .at("10.2.2.3.5", "the first argument is a map"),
        t("{ $has_all_entries: [ [ a, b, c ], [ c, a ] ] }", true).at("10.2.2.3.6", "all present"),
        t("{ $has_all_entries: [ { x: 1, y: 2 }, [ 1, 3 ] ] }", false)
            .at("10.2.2.3.6", "one missing"),
        refused("{ $has_all_entries: [ [ a ], a ] }", "evaluation")
            .at("10.2.2.3.6", "the second argument is a list"),
        t("{ $has_all_keys: [ { x: 1, y: 2 }, [ y, x ] ] }", true).at("10.2.2.3.7", "all keys"),
        t("{ $has_all_keys: [ { x: 1 }, [ x, z ] ] }", false).at("10.2.2.3.7", "one missing"),
        refused("{ $has_all_keys: [ [ x ], [ x ] ] }", "evaluation")
            .at("10.2.2.3.7", "the first argument is a map"),
        t("{ $has_any_entry: [ [ a, b ], [ z, b ] ] }", true).at("10.2.2.3.8", "one shared"),
        t("{ $has_any_entry: [ [ a, b ], [ z ] ] }", false).at("10.2.2.3.8", "none shared"),
        refused("{ $has_any_entry: [ [ a ], { a: 1 } ] }", "evaluation")
            .at("10.2.2.3.8", "the second argument is a list"),
        t("{ $has_any_key: [ { x: 1 }, [ z, x ] ] }", true).at("10.2.2.3.9", "one key"),
        t("{ $has_any_key: [ { x: 1 }, [ z ] ] }", false).at("10.2.2.3.9", "no key"),
        refused("{ $has_any_key: [ { x: 1 } ] }", "function")
            .at("10.2.2.3.9", "$has_any_key takes exactly two"),
    ]);
}

/// Small builders so the function tables read as one line per case.
trait At {
    fn at(self, section: &'static str, why: &'static str) -> Case;
}

struct Pending(Expect, String);

impl At for Pending {
    fn at(self, section: &'static str, why: &'static str) -> Case {
        case(section, why, self.1, self.0)
    }
}

impl Expect {
    fn with(self, doc: String) -> Pending {
        Pending(self, doc)
    }
}

/// `expr` as the output `result`, expected to give `value`.
fn gives(expr: &str, value: Json) -> Pending {
    Yields(value).with(output(expr))
}

/// `expr` as the output `result`, expected to be refused with `code`.
fn refused(expr: &str, code: &'static str) -> Pending {
    Invalid(code).with(output(expr))
}

// ---- 10.2.3 string, list and map functions; 10.2.4 sets; 10.2.5 arithmetic ---------------

#[test]
fn string_list_map_and_set_functions_10_2_3_and_10_2_4() {
    run(vec![
        gives("{ $length: [ abc ] }", json!(3)).at("10.2.3.1", "a string's length"),
        gives("{ $length: [ \"héllo→\" ] }", json!(6)).at("10.2.3.1", "runes, not bytes"),
        gives("{ $length: [ [ 1, 2 ] ] }", json!(2)).at("10.2.3.1", "a list's length"),
        gives("{ $length: [ { a: 1, b: 2, c: 3 } ] }", json!(3)).at("10.2.3.1", "a map's length"),
        gives("{ $length: [ \"\" ] }", json!(0)).at("10.2.3.1", "the empty string"),
        refused("{ $length: [ 42 ] }", "evaluation").at("10.2.3.1", "an integer has no length"),
        refused("{ $length: [ a, b ] }", "function").at("10.2.3.1", "$length takes one argument"),
        gives("{ $concat: [ a, b, c ] }", json!("abc")).at("10.2.3.2", "strings"),
        gives("{ $concat: [ ab ] }", json!("ab")).at("10.2.3.2", "one argument is enough"),
        gives("{ $concat: [ [ 1 ], [ 2, 3 ] ] }", json!([1, 2, 3]))
            .at("10.2.3.2", "lists, in order"),
        gives("{ $concat: [ [ [ 1 ] ], [ [ 2 ] ] ] }", json!([[1], [2]]))
            .at("10.2.3.2", "no recursion into entries"),
        refused("{ $concat: [ a, [ b ] ] }", "evaluation")
            .at("10.2.3.2", "strings and lists do not mix"),
        refused("{ $concat: [ port, 80 ] }", "evaluation")
            .at("10.2.3.2", "an integer is not converted to a string"),
        refused("{ $concat: [] }", "function").at("10.2.3.2", "$concat takes one or more"),
        gives("{ $join: [ [ a, b, c ] ] }", json!("abc")).at("10.2.3.3", "no delimiter"),
        gives("{ $join: [ [ a, b, c ], \", \" ] }", json!("a, b, c"))
            .at("10.2.3.3", "with a delimiter"),
        gives("{ $join: [ [], \"-\" ] }", json!("")).at("10.2.3.3", "an empty list"),
        refused("{ $join: [ abc ] }", "evaluation").at("10.2.3.3", "the first argument is a list"),
        refused("{ $join: [ [ a ], 1 ] }", "evaluation")
            .at("10.2.3.3", "the delimiter is a string"),
        refused("{ $join: [ [ a ], \"-\", x ] }", "function")
            .at("10.2.3.3", "one or two arguments"),
        gives("{ $token: [ \"a:b:c\", \":\", 1 ] }", json!("b"))
            .at("10.2.3.4", "the second substring"),
        gives("{ $token: [ \"a,b;c\", \",;\", 2 ] }", json!("c"))
            .at("10.2.3.4", "any of several token characters"),
        gives("{ $token: [ \"a:b\", \":\", 0 ] }", json!("a"))
            .at("10.2.3.4", "the first index is 0"),
        refused("{ $token: [ \"a:b\", \":\", 2 ] }", "evaluation")
            .at("10.2.3.4", "an index past the last substring"),
        refused("{ $token: [ \"a:b\", \":\", x ] }", "evaluation")
            .at("10.2.3.4", "the index is an integer"),
        refused("{ $token: [ \"a:b\", \":\" ] }", "function").at("10.2.3.4", "three arguments"),
        gives("{ $union: [ [ 1, 1, 2 ] ] }", json!([1, 2]))
            .at("10.2.4.1", "one list: duplicates removed"),
        gives("{ $union: [ [ 1, 2 ], [ 2, 3 ] ] }", json!([1, 2, 3])).at("10.2.4.1", "two lists"),
        refused("{ $union: [ [ 1 ], 2 ] }", "evaluation")
            .at("10.2.4.1", "every argument is a list"),
        refused("{ $union: [] }", "function").at("10.2.4.1", "one or more lists"),
        gives(
            "{ $intersection: [ [ 1, 2, 3 ], [ 3, 2, 4 ] ] }",
            json!([2, 3]),
        )
        .at("10.2.4.2", "common entries"),
        gives("{ $intersection: [ [ 1, 1, 2 ] ] }", json!([1, 2]))
            .at("10.2.4.2", "one list: duplicates removed"),
        gives("{ $intersection: [ [ 1 ], [ 2 ] ] }", json!([])).at("10.2.4.2", "nothing in common"),
        refused("{ $intersection: [ a, [ a ] ] }", "evaluation")
            .at("10.2.4.2", "every argument is a list"),
    ]);
}

#[test]
fn arithmetic_functions_10_2_5() {
    run(vec![
        gives("{ $sum: [ 1, 2, 3 ] }", json!(6)).at("10.2.5.1", "integers give an integer"),
        gives("{ $sum: [ 1.5, 2.25 ] }", json!(3.75)).at("10.2.5.1", "floats"),
        gives("{ $sum: [ 4 ] }", json!(4)).at("10.2.5.1", "one argument"),
        refused("{ $sum: [ 1, a ] }", "evaluation").at("10.2.5.1", "a string is no number"),
        refused("{ $sum: [] }", "function").at("10.2.5.1", "one or more"),
        gives("{ $difference: [ 5, 7 ] }", json!(-2)).at("10.2.5.2", "integers"),
        gives("{ $difference: [ 5.5, 0.5 ] }", json!(5.0)).at("10.2.5.2", "floats"),
        refused("{ $difference: [ 5 ] }", "function").at("10.2.5.2", "exactly two"),
        refused("{ $difference: [ 5, true ] }", "evaluation")
            .at("10.2.5.2", "a boolean is no number"),
        gives("{ $product: [ 2, 3, 4 ] }", json!(24)).at("10.2.5.3", "integers give an integer"),
        gives("{ $product: [ 2, 1.5 ] }", json!(3.0)).at("10.2.5.3", "any float gives a float"),
        refused("{ $product: [ 2, b ] }", "evaluation").at("10.2.5.3", "a string is no number"),
        gives("{ $quotient: [ 7, 2 ] }", json!(3.5)).at("10.2.5.4", "integers give a float"),
        gives("{ $quotient: [ 6, 3 ] }", json!(2.0)).at("10.2.5.4", "a float even when exact"),
        refused("{ $quotient: [ 1, 0 ] }", "evaluation").at("10.2.5.4", "division by zero"),
        refused("{ $quotient: [ 1 ] }", "function").at("10.2.5.4", "exactly two"),
        gives("{ $remainder: [ 7, 3 ] }", json!(1)).at("10.2.5.5", "integers"),
        refused("{ $remainder: [ 7.5, 2 ] }", "evaluation")
            .at("10.2.5.5", "the first argument is an integer or scalar"),
        refused("{ $remainder: [ 7, 2.0 ] }", "evaluation")
            .at("10.2.5.5", "the second argument is an integer"),
        refused("{ $remainder: [ 7, 0 ] }", "evaluation").at("10.2.5.5", "by zero"),
        gives("{ $round: [ 3.5 ] }", json!(3)).at("10.2.5.6", "a tie rounds down"),
        gives("{ $round: [ 3.53 ] }", json!(4)).at("10.2.5.6", "closest integer"),
        gives("{ $round: [ 2.2 ] }", json!(2)).at("10.2.5.6", "closest integer, below"),
        refused("{ $round: [ x ] }", "evaluation").at("10.2.5.6", "a float argument"),
        refused("{ $round: [ 1.5, 2 ] }", "function").at("10.2.5.6", "one argument"),
        gives("{ $floor: [ 2.7 ] }", json!(2)).at("10.2.5.7", "down"),
        gives("{ $floor: [ -2.2 ] }", json!(-3)).at("10.2.5.7", "down, for negatives too"),
        refused("{ $floor: [] }", "function").at("10.2.5.7", "one argument"),
        gives("{ $ceil: [ 2.1 ] }", json!(3)).at("10.2.5.8", "up"),
        gives("{ $ceil: [ -2.7 ] }", json!(-2)).at("10.2.5.8", "up, for negatives too"),
        refused("{ $ceil: [ \"2.1\" ] }", "evaluation").at("10.2.5.8", "a string is no float"),
        case(
            "10.2.5",
            "arithmetic on scalars keeps their unit (in a validation clause)",
            with_data(
                SIZE,
                "{ type: Size, validation: { $less_than: [ { $sum: [ $value, 1 kB ] }, 2 kB ] } }",
                "1500 B",
            ),
            Invalid("validation-failed"),
        ),
        case(
            "10.2.5",
            "scalars read by $get_property add up in their type's units",
            scalars("{ $sum: [ { $get_property: [ n, a ] }, { $get_property: [ n, b ] } ] }"),
            Yields(json!("1200.0 B")),
        ),
        case(
            "10.2.5",
            "a scalar read by $get_property times an integer",
            scalars("{ $product: [ { $get_property: [ n, a ] }, 3 ] }"),
            Yields(json!("3000.0 B")),
        ),
        case(
            "10.2.5.4",
            "a scalar read by $get_property over an integer stays a scalar",
            scalars("{ $quotient: [ { $get_property: [ n, a ] }, 4 ] }"),
            Yields(json!("250.0 B")),
        ),
        case(
            "10.2.5.4",
            "the divisor is an integer or a float, never a scalar",
            scalars("{ $quotient: [ { $get_property: [ n, a ] }, { $get_property: [ n, b ] } ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.5",
            "a scalar and an integer do not add up",
            scalars("{ $sum: [ { $get_property: [ n, a ] }, 3 ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.2.5",
            "... and a smaller scalar meets it",
            with_data(
                SIZE,
                "{ type: Size, validation: { $less_than: [ { $sum: [ $value, 1 kB ] }, 2 kB ] } }",
                "500 B",
            ),
            Valid,
        ),
    ]);
}

// ---- 10.3 TOSCA paths --------------------------------------------------------------------

/// The graph of [`graph`], with the client's property `name` replaced by `expr` (so SELF is
/// the client node) and the output reading it back.
fn from_client(expr: &str) -> String {
    graph("{ $get_property: [ client, name ] }").replacen(
        "        name: small\n",
        &format!("        name: {expr}\n"),
        1,
    )
}

/// The graph of [`graph`], with the server's `name` replaced by `expr` (so SELF is the
/// server, which has the artifact `image`) and the output reading it back.
fn from_server(expr: &str) -> String {
    graph("{ $get_property: [ server, name ] }").replacen(
        "        name: big\n",
        &format!("        name: {expr}\n"),
        1,
    )
}

/// The graph of [`graph`], with the relationship's `weight` replaced by `expr` (so SELF is
/// the relationship) and the output reading it back.
fn from_relationship(expr: &str) -> String {
    graph("{ $get_property: [ client, RELATIONSHIP, uses, weight ] }").replacen(
        "                weight: 7\n",
        &format!("                weight: {expr}\n"),
        1,
    )
}

#[test]
fn tosca_paths_10_3() {
    run(vec![
        case(
            "10.3",
            "SELF in a node is the node",
            from_client(
                "{ $concat: [ { $get_property: [ SELF, RELATIONSHIP, uses, TARGET, name ] }, \"!\" ] }",
            ),
            Yields(json!("big!")),
        ),
        case(
            "10.3",
            "SELF, CAPABILITY ends in the node's own capability",
            graph("{ $get_property: [ server, limits, cpu ] }").replacen(
                "        limits: { cpu: 4 }\n",
                "        limits: { cpu: { $get_property: [ SELF, CAPABILITY, socket, port ] } }\n",
                1,
            ),
            Yields(json!(8080)),
        ),
        case(
            "10.3",
            "SELF in a relationship is the relationship: SELF, TARGET is its target node",
            from_relationship("{ $length: [ { $get_property: [ SELF, TARGET, name ] } ] }"),
            Yields(json!(3)),
        ),
        case(
            "10.3",
            "SELF, SOURCE is the relationship's source node",
            from_relationship("{ $length: [ { $get_property: [ SELF, SOURCE, name ] } ] }"),
            Yields(json!(5)),
        ),
        case(
            "10.3",
            "SELF, CAPABILITY in a relationship ends in its target capability",
            from_relationship("{ $get_property: [ SELF, CAPABILITY, port ] }"),
            Yields(json!(8080)),
        ),
        case(
            "10.3",
            "SOURCE does not follow from a node",
            from_client("{ $get_property: [ SELF, SOURCE, name ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.3",
            "a keyword where a requirement name is expected",
            graph("{ $get_property: [ client, RELATIONSHIP, TARGET, name ] }"),
            Invalid("unknown-requirement"),
        ),
        case(
            "10.3",
            "multi-step: client → server → back to the client through the capability",
            graph(
                "{ $get_property: [ client, RELATIONSHIP, uses, TARGET, CAPABILITY, socket, RELATIONSHIP, 0, SOURCE, name ] }",
            ),
            Yields(json!("small")),
        ),
        case(
            "10.3",
            "ALL on the incoming relationships of a capability",
            graph(
                "{ $get_property: [ server, CAPABILITY, socket, RELATIONSHIP, ALL, SOURCE, name ] }",
            ),
            Yields(json!(["small"])),
        ),
        case(
            "10.3",
            "ALL over a node template's representations",
            graph("{ $get_property: [ server, ALL, name ] }"),
            Yields(json!(["big"])),
        ),
        case(
            "10.3",
            "an index past a node template's representations",
            graph("{ $get_property: [ server, 1, name ] }"),
            Invalid("evaluation"),
        ),
        case(
            "10.3",
            "a negative index",
            graph("{ $get_property: [ client, RELATIONSHIP, uses, -1, weight ] }"),
            Invalid("evaluation"),
        ),
    ]);
}

// ---- 10.2.1.6/7 indexes, at instance level -----------------------------------------------

#[test]
fn node_and_relationship_indexes_10_2_1_6_and_7() {
    let doc = format!(
        r#"{HEAD}capability_types:
  Socket: {{}}
relationship_types:
  Plug:
    properties:
      index: {{ type: integer, default: {{ $relationship_index }} }}
node_types:
  Server:
    properties:
      index: {{ type: integer }}
      label: {{ type: string }}
    capabilities:
      socket: Socket
  Client:
    requirements:
      - uses:
          capability: Socket
          relationship: Plug
          count_range: [0, UNBOUNDED]
service_template:
  inputs:
    labels:
      type: list
      entry_schema: string
      default: [ first, second, third ]
  node_templates:
    server:
      type: Server
      count: 3
      properties:
        index: $node_index
        label: {{ $get_input: [ labels, $node_index ] }}
    client:
      type: Client
      requirements:
        - uses: server
        - uses: server
"#
    );
    let report = compile_text("/spec/indexes.yaml", &doc, &Options::default());
    assert!(report.is_valid(), "{}", report.render_text());
    let inst = report
        .compiled
        .as_ref()
        .expect("compiled")
        .instantiate()
        .unwrap_or_else(|p| panic!("instantiates: {p:?}"));
    let servers: Vec<_> = inst
        .nodes
        .iter()
        .filter(|n| n.template == "server")
        .collect();
    assert_eq!(servers.len(), 3);
    for (i, s) in servers.iter().enumerate() {
        assert_eq!(
            s.properties["index"],
            Expression::Resolved(json!(i)),
            "§10.2.1.6: $node_index of server {i}"
        );
        let label = ["first", "second", "third"][i];
        assert_eq!(
            s.properties["label"],
            Expression::Resolved(json!(label)),
            "§10.2.1.1/14: an input list indexed by $node_index"
        );
    }
    let client = inst
        .nodes
        .iter()
        .find(|n| n.template == "client")
        .expect("client");
    let indexes: Vec<_> = client
        .relationships
        .iter()
        .map(|r| r.properties["index"].clone())
        .collect();
    assert_eq!(
        indexes,
        vec![
            Expression::Resolved(json!(0)),
            Expression::Resolved(json!(1))
        ],
        "§10.2.1.7: $relationship_index of each relationship of the same requirement"
    );
}

// ---- 10.4 function definitions -----------------------------------------------------------

/// A file declaring `functions` (the body) and using `use` as the output `result`.
fn declared(functions: &str, use_: &str) -> String {
    format!(
        "{HEAD}functions:\n{functions}node_types:\n  Empty: {{}}\nservice_template:\n  node_templates:\n    thing:\n      type: Empty\n  outputs:\n    result:\n      value: {use_}\n"
    )
}

#[test]
fn function_definitions_10_4() {
    let sqrt = "  root:\n    description: a square root\n    metadata: { owner: me }\n    signatures:\n      - arguments: [ integer ]\n        result: float\n      - arguments:\n          - type: float\n            validation: { $greater_or_equal: [ $value, 0.0 ] }\n        result: { type: float }\n";
    let variadic = "  pick:\n    signatures:\n      - arguments: [ string, integer ]\n        optional_arguments: [ boolean ]\n        variadic: true\n";
    run(vec![
        case(
            "10.4",
            "a declared function with two signatures, used",
            declared(sqrt, "{ $root: [ 4 ] }"),
            Valid,
        ),
        case(
            "10.4",
            "the second signature matches a float",
            declared(sqrt, "{ $root: [ 2.25 ] }"),
            Valid,
        ),
        case(
            "10.4",
            "no signature takes a string",
            declared(sqrt, "{ $root: [ four ] }"),
            Invalid("function"),
        ),
        case(
            "10.4",
            "no signature takes two arguments",
            declared(sqrt, "{ $root: [ 1, 2 ] }"),
            Invalid("function"),
        ),
        case(
            "10.4",
            "the mandatory arguments must all be given",
            declared(variadic, "{ $pick: [ a ] }"),
            Invalid("function"),
        ),
        case(
            "10.4",
            "mandatory arguments, no optional ones",
            declared(variadic, "{ $pick: [ a, 1 ] }"),
            Valid,
        ),
        case(
            "10.4",
            "variadic: the last optional argument repeats",
            declared(variadic, "{ $pick: [ a, 1, true, false, true ] }"),
            Valid,
        ),
        case(
            "10.4",
            "arguments in the declared order",
            declared(variadic, "{ $pick: [ 1, a ] }"),
            Invalid("function"),
        ),
        case(
            "10.4",
            "a signature with no arguments and variadic false takes none",
            declared(
                "  now:\n    signatures:\n      - result: timestamp\n",
                "{ $now: [ 1 ] }",
            ),
            Invalid("function"),
        ),
        case(
            "10.4",
            "... and is called without any",
            declared(
                "  now:\n    signatures:\n      - result: timestamp\n",
                "$now",
            ),
            Valid,
        ),
        case(
            "10.4",
            "no arguments and variadic true: anything goes",
            declared(
                "  any:\n    signatures:\n      - variadic: true\n",
                "{ $any: [ 1, a, [ 2 ] ] }",
            ),
            Valid,
        ),
        case(
            "10.4",
            "signatures is mandatory",
            declared(
                "  broken:\n    description: no signatures\n",
                "{ $broken: [] }",
            ),
            Invalid("missing-keyname"),
        ),
        case(
            "10.4",
            "signatures must hold at least one signature",
            declared("  broken:\n    signatures: []\n", "$broken"),
            Invalid("empty-section"),
        ),
        case(
            "10.4",
            "functions is a map, not a list",
            format!("{HEAD}functions:\n  - root:\n      signatures:\n        - result: float\n"),
            Invalid("wrong-shape"),
        ),
        case(
            "10.4",
            "an unknown keyname in a function definition",
            declared(
                "  f:\n    signatures:\n      - result: float\n    returns: float\n",
                "$f",
            ),
            Invalid("unknown-keyname"),
        ),
        case(
            "10.4",
            "an unknown keyname in a signature",
            declared(
                "  f:\n    signatures:\n      - result: float\n        returns: float\n",
                "$f",
            ),
            Invalid("unknown-keyname"),
        ),
        case(
            "10.4",
            "variadic is a boolean",
            declared("  f:\n    signatures:\n      - variadic: often\n", "$f"),
            Invalid("wrong-shape"),
        ),
        case(
            "10.4",
            "argument schemas name known types",
            declared(
                "  f:\n    signatures:\n      - arguments: [ Whole ]\n",
                "{ $f: [ 1 ] }",
            ),
            Invalid("unknown-type"),
        ),
        case(
            "10.4",
            "arguments is a list of schema definitions",
            declared(
                "  f:\n    signatures:\n      - arguments: integer\n",
                "{ $f: [ 1 ] }",
            ),
            Invalid("wrong-shape"),
        ),
        case(
            "10.4",
            "a function name may not contain $",
            declared("  f$g:\n    signatures:\n      - result: float\n", "1"),
            Invalid("invalid-name"),
        ),
        case(
            "10.4",
            "result: the call is a value of the declared result type",
            format!(
                "{HEAD}functions:\n{sqrt}node_types:\n  N:\n    properties:\n      f: {{ type: float }}\nservice_template:\n  node_templates:\n    n: {{ type: N, properties: {{ f: {{ $root: [ 4 ] }} }} }}\n"
            ),
            Valid,
        ),
        case(
            "10.4",
            "result: a float result cannot be an integer property",
            format!(
                "{HEAD}functions:\n{sqrt}node_types:\n  N:\n    properties:\n      i: {{ type: integer }}\nservice_template:\n  node_templates:\n    n: {{ type: N, properties: {{ i: {{ $root: [ 4 ] }} }} }}\n"
            ),
            InvalidAt("function", "$root"),
        ),
        case(
            "10.4",
            "result: a derived result type is a value of its parent",
            format!(
                "{HEAD}data_types:\n  Count:\n    derived_from: integer\nfunctions:\n  tally:\n    signatures:\n      - result: Count\nnode_types:\n  N:\n    properties:\n      i: {{ type: integer }}\nservice_template:\n  node_templates:\n    n: {{ type: N, properties: {{ i: $tally }} }}\n"
            ),
            Valid,
        ),
        case(
            "10.4",
            "result: a signature without result may return anything",
            format!(
                "{HEAD}functions:\n  any:\n    signatures:\n      - variadic: true\nnode_types:\n  N:\n    properties:\n      s: {{ type: string }}\nservice_template:\n  node_templates:\n    n: {{ type: N, properties: {{ s: {{ $any: [ 1 ] }} }} }}\n"
            ),
            Valid,
        ),
        case(
            "10.4",
            "a declared function used in a validation clause",
            format!(
                "{HEAD}functions:\n  is_even:\n    signatures:\n      - arguments: [ integer ]\n        result: boolean\nnode_types:\n  N:\n    properties:\n      p: {{ type: integer, validation: {{ $is_even: [ $value ] }} }}\n"
            ),
            Valid,
        ),
    ]);
}

// ---- more: schemas of service parameters, typed functions in clauses, reflections --------

#[test]
fn parameter_schemas_and_typed_clauses() {
    run(vec![
        case(
            "9.7",
            "an input map with a key schema derived from string",
            params(
                "    m: { type: map, key_schema: string, entry_schema: integer, default: { a: 1 } }\n",
                "",
            ),
            Valid,
        ),
        case(
            "9.7",
            "an input's key schema must derive from string",
            params(
                "    m: { type: map, key_schema: integer, entry_schema: integer, default: {} }\n",
                "",
            ),
            Invalid("invalid-key-schema"),
        ),
        case(
            "9.7",
            "an input that is no collection cannot have an entry_schema",
            params(
                "    s: { type: string, entry_schema: string, default: x }\n",
                "",
            ),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.7",
            "a list input's key_schema is misplaced",
            params(
                "    l: { type: list, key_schema: string, entry_schema: string, default: [] }\n",
                "",
            ),
            Invalid("misplaced-keyname"),
        ),
        case(
            "9.7",
            "an input's entry schema naming an unknown type",
            params(
                "    l: { type: list, entry_schema: Text, default: [] }\n",
                "",
            ),
            Invalid("unknown-type"),
        ),
        case(
            "9.7",
            "a list of lists needs the inner entry_schema too",
            params(
                "    l: { type: list, entry_schema: { type: list }, default: [] }\n",
                "",
            ),
            Invalid("missing-keyname"),
        ),
        case(
            "9.7",
            "an input's default checked against its entry schema",
            params(
                "    l: { type: list, entry_schema: integer, default: [ 1, x ] }\n",
                "",
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.7",
            "a typed output whose value is a list of the right entries",
            params(
                "",
                "    o: { type: list, entry_schema: string, value: { $concat: [ [ a ], [ b ] ] } }\n",
            ),
            Valid,
        ),
        case(
            "9.7",
            "a typed output whose value's entries are of the wrong type",
            params(
                "",
                "    o: { type: list, entry_schema: integer, value: { $concat: [ [ a ], [ b ] ] } }\n",
            ),
            Invalid("wrong-type"),
        ),
        case(
            "9.1.1.1/10.2.3.1",
            "$length counts runes in a validation clause",
            prop(
                "",
                "{ type: string, validation: { $less_or_equal: [ { $length: [ $value ] }, 3 ] } }",
                "\"héé\"",
            ),
            Valid,
        ),
        case(
            "9.1.1.5/10.2.3.1",
            "$length counts the bytes of a bytes value, not its Base64 text",
            prop(
                "",
                "{ type: bytes, validation: { $equal: [ { $length: [ $value ] }, 3 ] } }",
                "\"YWJj\"",
            ),
            Valid,
        ),
        case(
            "10.2.2.2.1",
            "scalars are equal by amount, whatever their units",
            with_data(
                SIZE,
                "{ type: Size, validation: { $equal: [ $value, 1000 B ] } }",
                "1 kB",
            ),
            Valid,
        ),
        case(
            "10.2.2.2.6",
            "$valid_values compares scalars by amount",
            with_data(
                SIZE,
                "{ type: Size, validation: { $valid_values: [ $value, [ 1 MB, 2 MB ] ] } }",
                "2000 kB",
            ),
            Valid,
        ),
        case(
            "9.5",
            "a capability's property is reflected as an attribute of the capability too",
            format!(
                "{HEAD}capability_types:\n  C:\n    properties:\n      size: {{ type: integer, default: 1 }}\nnode_types:\n  N:\n    capabilities:\n      c: C\nservice_template:\n  node_templates:\n    n:\n      type: N\n      capabilities:\n        c:\n          attributes:\n            size: 2\n"
            ),
            Valid,
        ),
        case(
            "9.6",
            "a capability attribute nobody declares or reflects",
            format!(
                "{HEAD}capability_types:\n  C:\n    properties:\n      size: {{ type: integer, default: 1 }}\nnode_types:\n  N:\n    capabilities:\n      c: C\nservice_template:\n  node_templates:\n    n:\n      type: N\n      capabilities:\n        c:\n          attributes:\n            weight: 2\n"
            ),
            Invalid("undeclared"),
        ),
        case(
            "10.4",
            "a declared function's call is kept for the orchestrator (its value is deferred)",
            declared(
                "  random:\n    signatures:\n      - arguments: [ integer ]\n        result: integer\n",
                "{ $random: [ 6 ] }",
            ),
            Yields(json!({ "deferred": { "$random": [6] } })),
        ),
        case(
            "10.4",
            "a declared function's argument computed by a built-in is taken on trust",
            declared(
                "  random:\n    signatures:\n      - arguments: [ integer ]\n        result: integer\n",
                "{ $random: [ { $sum: [ 1, 2 ] } ] }",
            ),
            Valid,
        ),
    ]);
}

// ---- more: contexts of $value and the indexes, suffixes, schema metadata -----------------

#[test]
fn function_contexts() {
    run(vec![
        case(
            "9.3",
            "a schema definition may carry metadata (its grammar lists it)",
            prop(
                "",
                "{ type: list, entry_schema: { type: string, metadata: { unit: none } } }",
                "[ a ]",
            ),
            Valid,
        ),
        gives("{ $concat$2: [ a, b ] }", json!("ab")).at(
            "10.1",
            "a $ suffix only tells keys apart: the call is the same function",
        ),
        case(
            "10.2.1.1",
            "an input name is a string",
            output_with_inputs(
                "    size: { type: integer, default: 3 }\n",
                "{ $get_input: { size: 1 } }",
            ),
            Invalid("evaluation"),
        ),
        refused("{ $length: [ $value ] }", "evaluation").at(
            "10.2.1.5",
            "$value has a meaning only where a value is validated",
        ),
        refused("$node_index", "evaluation")
            .at("10.2.1.6", "$node_index has no meaning outside a node"),
        case(
            "10.2.1.7",
            "$relationship_index has no meaning in a node's property",
            prop("", "{ type: integer }", "$relationship_index"),
            Invalid("evaluation"),
        ),
        // The output is computed from templates, where a representation's index is not yet
        // known: it is kept (deferred) for the runtime rather than refused; the property
        // itself is 0 on the instance (see node_and_relationship_indexes).
        case(
            "10.2.1.6",
            "an output reading a property that is $node_index is not refused",
            format!(
                "{HEAD}node_types:\n  N:\n    properties:\n      p: {{ type: integer }}\nservice_template:\n  node_templates:\n    n:\n      type: N\n      properties:\n        p: $node_index\n  outputs:\n    result:\n      value: {{ $get_property: [ n, p ] }}\n"
            ),
            Valid,
        ),
    ]);
}

/// A copy a node asks for is recorded on each of its instances for the runtime, with
/// `remove`, once per destination.
#[test]
fn a_copy_asked_for_is_recorded_on_the_instance() {
    let doc = from_server("{ $get_artifact: [ SELF, image, /srv/image.bin, true ] }").replacen(
        "        limits: { cpu: 4 }\n",
        "        limits: { cpu: 4 }\n        tags: [ { $get_artifact: [ SELF, image, /srv/image.bin ] } ]\n",
        1,
    );
    let doc = doc.replacen("        tags: [fast, cheap]\n", "", 1);
    let report = compile_text("/spec/case.yaml", &doc, &Options::default());
    assert!(report.problems.is_empty(), "{}", report.render_text());
    let instantiation = report.compiled.unwrap().instantiate().unwrap();
    let server = instantiation
        .nodes
        .iter()
        .find(|n| n.template == "server")
        .unwrap();
    assert_eq!(
        server.artifact_copies,
        [khutulun::tosca::instance::ArtifactCopy {
            artifact: "image".into(),
            destination: "/srv/image.bin".into(),
            remove: true,
        }]
    );
    let client = instantiation
        .nodes
        .iter()
        .find(|n| n.template == "client")
        .unwrap();
    assert!(client.artifact_copies.is_empty());
}
