//! The TOSCA 2.0 text, section by section, against the processor: for each keyname, the valid
//! form and the invalid forms the text rules out (chapters 6–8 and 11–16; chapters 9 and 10,
//! values and functions, are in `tosca_spec_values.rs`). Each case is a small document of our
//! own, written for the rule it checks, not taken from the OASIS suite.
//!
//! Every case imports `base.yaml` (a few types most cases use) unless it spells out its own
//! version line. A valid case must compile and instantiate with no problem; an invalid one
//! must be refused with the problem code given. All cases of a table run before it fails, so
//! one run lists every disagreement.

use std::path::{Path, PathBuf};

use khutulun::tosca::{self, Options};

/// Types most cases build on.
const BASE: &str = r#"tosca_definitions_version: tosca_2_0
capability_types:
  Host:
    properties:
      cores: { type: integer, default: 1 }
  Endpoint:
    properties:
      port: { type: integer, default: 80 }
  Storage: {}
relationship_types:
  HostedOn:
    valid_capability_types: [ Host ]
  ConnectsTo:
    properties:
      secure: { type: boolean, default: false }
interface_types:
  Ops:
    inputs:
      verbose: { type: boolean, default: false }
    operations:
      start: {}
      stop: {}
    notifications:
      ready: {}
artifact_types:
  File:
    properties:
      mode: { type: string, required: false }
node_types:
  Server:
    properties:
      name: { type: string, required: false }
    attributes:
      address: { type: string }
    capabilities:
      host: Host
      endpoint: Endpoint
  App:
    properties:
      port: { type: integer, default: 8080 }
    requirements:
      - host:
          capability: Host
          relationship: HostedOn
    interfaces:
      ops:
        type: Ops
"#;

/// What a case must come to.
enum Expect {
    /// Compiles and instantiates with no problem.
    Valid,
    /// Is refused with a problem of this code.
    Invalid(&'static str),
}

use Expect::{Invalid, Valid};

/// One document and what the text says of it.
struct Case {
    /// The section of TOSCA 2.0 the rule is in.
    section: &'static str,
    /// The rule, in a few words.
    rule: &'static str,
    /// The document: below the version line and the import of `base.yaml`, unless it starts
    /// with its own version line.
    text: &'static str,
    expect: Expect,
}

const fn case(
    section: &'static str,
    rule: &'static str,
    text: &'static str,
    expect: Expect,
) -> Case {
    Case {
        section,
        rule,
        text,
        expect,
    }
}

/// Runs every case in a directory holding `base.yaml`; panics listing every disagreement.
fn run(cases: &[Case]) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("base.yaml"), BASE).expect("base.yaml");
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|c| disagreement(dir.path(), c))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} cases disagree:\n\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n\n")
    );
}

/// What is wrong with how the processor took `c`, if anything.
fn disagreement(dir: &Path, c: &Case) -> Option<String> {
    let text = if c.text.starts_with("tosca_definitions_version") {
        c.text.to_string()
    } else {
        format!(
            "tosca_definitions_version: tosca_2_0\nimports: [ base.yaml ]\n{}",
            c.text
        )
    };
    let codes = problems(&dir.join("case.yaml"), &text, &Options::default());
    let agrees = match c.expect {
        Valid => codes.is_empty(),
        Invalid(code) => codes.iter().any(|(found, _)| found == code),
    };
    (!agrees).then(|| {
        let expected = match c.expect {
            Valid => "valid".to_string(),
            Invalid(code) => format!("invalid ({code})"),
        };
        let found: Vec<String> = codes.iter().map(|(c, m)| format!("{c}: {m}")).collect();
        format!(
            "§{} {}: expected {expected}, found {:?}\n{text}",
            c.section, c.rule, found
        )
    })
}

/// The problems (code, message) of compiling and instantiating `text` as the file `path`.
fn problems(path: &Path, text: &str, options: &Options) -> Vec<(String, String)> {
    let name = path.display().to_string();
    let report = tosca::compile_text(&name, text, options);
    let mut found: Vec<(String, String)> = report
        .problems
        .iter()
        .map(|p| (p.code.to_string(), p.message.clone()))
        .collect();
    if found.is_empty()
        && let Some(compiled) = &report.compiled
        && let Err(problems) = compiled.instantiate()
    {
        found.extend(
            problems
                .iter()
                .map(|p| (p.code.to_string(), p.message.clone())),
        );
    }
    found
}

#[test]
fn chapter_6_tosca_files_types_and_imports() {
    run(&[
        case(
            "6.1",
            "every top-level keyname of the table",
            "description: All the sections.\nmetadata: { author: us, revision: 3 }\ndsl_definitions:\n  small: &small { cores: 1 }\nrepositories:\n  here: ./\nfunctions: {}\ndata_types:\n  Pair: { properties: { a: { type: string } } }\ngroup_types:\n  Bunch: {}\npolicy_types:\n  Rule: {}\nservice_template:\n  node_templates:\n    s:\n      type: Server\n      capabilities:\n        host: { properties: *small }\n",
            Valid,
        ),
        case(
            "6.1",
            "an unknown top-level keyname",
            "node_template:\n  s: { type: Server }\n",
            Invalid("unknown-keyname"),
        ),
        case(
            "6.2",
            "a 1.x version is not TOSCA 2.0",
            "tosca_definitions_version: tosca_simple_yaml_1_3\nnode_types:\n  N: {}\n",
            Invalid("unsupported-tosca-version"),
        ),
        case(
            "6.2",
            "the version line is mandatory",
            "tosca_definitions_version: tosca_2_0\ndescription: x\n",
            Valid,
        ),
        case(
            "6.4",
            "a type derived from an unknown type",
            "node_types:\n  N:\n    derived_from: Nowhere\n",
            Invalid("unknown-type"),
        ),
        case(
            "6.4",
            "derivation may not loop",
            "node_types:\n  A: { derived_from: B }\n  B: { derived_from: A }\n",
            Invalid("derivation-cycle"),
        ),
        case(
            "6.4",
            "a node type may only derive from a node type",
            "node_types:\n  N:\n    derived_from: Host\n",
            Invalid("unknown-type"),
        ),
        case(
            "6.4",
            "version, metadata and description of a type",
            "node_types:\n  N:\n    version: 2.1.0\n    description: d\n    metadata: { k: v }\n",
            Valid,
        ),
        case(
            "6.4",
            "a version outside the grammar",
            "node_types:\n  N:\n    version: two\n",
            Invalid("invalid-version"),
        ),
        case(
            "6.7",
            "profile names a profile",
            "profile: com.example.spec:1.0\nnode_types:\n  N: {}\n",
            Valid,
        ),
        case(
            "6.8.1",
            "an import names a url or a profile, not both",
            "tosca_definitions_version: tosca_2_0\nimports:\n  - url: base.yaml\n    profile: x.y\n",
            Invalid("invalid-import"),
        ),
        case(
            "6.8.4",
            "a namespaced import's types are used with their prefix",
            "tosca_definitions_version: tosca_2_0\nimports:\n  - url: base.yaml\n    namespace: b\nservice_template:\n  node_templates:\n    s: { type: b:Server }\n",
            Valid,
        ),
        case(
            "6.8.4",
            "an unknown namespace prefix",
            "service_template:\n  node_templates:\n    s: { type: nope:Server }\n",
            Invalid("unknown-type"),
        ),
        case(
            "6.9",
            "service template inputs, outputs and their values",
            "service_template:\n  inputs:\n    n: { type: string, default: x }\n  outputs:\n    o: { type: string, value: { $get_input: n } }\n  node_templates:\n    s: { type: Server, properties: { name: { $get_input: n } } }\n",
            Valid,
        ),
        case(
            "6.9",
            "an unknown service template keyname",
            "service_template:\n  node_templates: {}\n  nodes: {}\n",
            Invalid("unknown-keyname"),
        ),
        case(
            "6.9",
            "an input that is not a parameter definition",
            "service_template:\n  inputs:\n    n: string\n  node_templates: {}\n",
            Invalid("wrong-kind"),
        ),
        case(
            "6.9",
            "policies are a list, not a map",
            "policy_types:\n  Rule: {}\nservice_template:\n  node_templates: {}\n  policies:\n    r: { type: Rule }\n",
            Invalid("wrong-kind"),
        ),
    ]);
}

#[test]
fn chapter_7_nodes_and_relationships() {
    run(&[
        case(
            "7.1",
            "a node type with every keyname",
            "node_types:\n  N:\n    derived_from: Server\n    description: d\n    metadata: { k: v }\n    version: 1.0.0\n    properties:\n      p: { type: string, default: x }\n    attributes:\n      a: { type: integer }\n    capabilities:\n      disk: Storage\n    requirements:\n      - peer: { capability: Endpoint }\n    interfaces:\n      ops: { type: Ops }\n    artifacts:\n      conf: { type: File, file: base.yaml }\n",
            Valid,
        ),
        case(
            "7.1",
            "requirements are a list of single-key maps, not a map",
            "node_types:\n  N:\n    requirements:\n      peer: { capability: Endpoint }\n",
            Invalid("wrong-shape"),
        ),
        case(
            "7.1",
            "an unknown node type keyname",
            "node_types:\n  N:\n    occurrences: [ 1, 1 ]\n",
            Invalid("unknown-keyname"),
        ),
        case(
            "7.2",
            "a node template needs its type",
            "service_template:\n  node_templates:\n    s: { properties: { name: x } }\n",
            Invalid("missing-keyname"),
        ),
        case(
            "7.2",
            "a node template of an unknown type",
            "service_template:\n  node_templates:\n    s: { type: Nowhere }\n",
            Invalid("unknown-type"),
        ),
        case(
            "7.2",
            "a property the type does not declare",
            "service_template:\n  node_templates:\n    s: { type: Server, properties: { colour: red } }\n",
            Invalid("undeclared"),
        ),
        case(
            "7.2",
            "a required property left without a value",
            "node_types:\n  N:\n    properties:\n      p: { type: string }\nservice_template:\n  node_templates:\n    n: { type: N }\n",
            Invalid("missing-required"),
        ),
        case(
            "7.2",
            "copy takes another template's definition and may override it",
            "service_template:\n  node_templates:\n    a: { type: Server, properties: { name: a } }\n    b: { copy: a, properties: { name: b } }\n",
            Valid,
        ),
        case(
            "7.2",
            "copy of a template that does not exist",
            "service_template:\n  node_templates:\n    b: { copy: nowhere }\n",
            Invalid("unknown-template"),
        ),
        case(
            "7.2",
            "directives other than create, select and substitute",
            "service_template:\n  node_templates:\n    s: { type: Server, directives: [ replicate ] }\n",
            Invalid("unknown-directive"),
        ),
        case(
            "7.2",
            "count as an input",
            "service_template:\n  inputs:\n    n: { type: integer, default: 3 }\n  node_templates:\n    s: { type: Server, count: { $get_input: n } }\n",
            Valid,
        ),
        case(
            "7.2",
            "a negative count",
            "service_template:\n  node_templates:\n    s: { type: Server, count: -1 }\n",
            Invalid("wrong-type"),
        ),
        case(
            "7.3",
            "a relationship type with its valid_* lists",
            "relationship_types:\n  R:\n    derived_from: ConnectsTo\n    valid_capability_types: [ Endpoint ]\n    valid_target_node_types: [ Server ]\n    valid_source_node_types: [ App ]\n",
            Valid,
        ),
        case(
            "7.3",
            "valid_capability_types naming an unknown type",
            "relationship_types:\n  R:\n    valid_capability_types: [ Nowhere ]\n",
            Invalid("unknown-type"),
        ),
        case(
            "7.3",
            "a relationship cannot reach a capability outside its valid_capability_types",
            "node_types:\n  N:\n    requirements:\n      - disk: { capability: Endpoint, relationship: HostedOn }\nservice_template:\n  node_templates:\n    s: { type: Server }\n    n: { type: N, requirements: [ { disk: s } ] }\n",
            Invalid("unfulfilled-requirement"),
        ),
        case(
            "7.4",
            "a relationship template used by a requirement assignment",
            "service_template:\n  relationship_templates:\n    on: { type: HostedOn }\n  node_templates:\n    s: { type: Server }\n    a:\n      type: App\n      requirements:\n        - host: { node: s, relationship: on }\n",
            Valid,
        ),
        case(
            "7.4",
            "a relationship template needs its type",
            "service_template:\n  relationship_templates:\n    on: { properties: {} }\n  node_templates: {}\n",
            Invalid("missing-keyname"),
        ),
    ]);
}

#[test]
fn chapter_8_capabilities_and_requirements() {
    run(&[
        case(
            "8.1",
            "a capability type with valid_source_node_types and valid_relationship_types",
            "capability_types:\n  C:\n    derived_from: Endpoint\n    valid_source_node_types: [ App ]\n    valid_relationship_types: [ ConnectsTo ]\n",
            Valid,
        ),
        case(
            "8.2",
            "the short form of a capability definition is its type",
            "node_types:\n  N:\n    capabilities:\n      c: Endpoint\n",
            Valid,
        ),
        case(
            "8.2",
            "a capability definition of an unknown type",
            "node_types:\n  N:\n    capabilities:\n      c: Nowhere\n",
            Invalid("unknown-type"),
        ),
        case(
            "8.2",
            "occurrences is TOSCA 1.x, not a 2.0 capability keyname",
            "node_types:\n  N:\n    capabilities:\n      c: { type: Endpoint, occurrences: [ 1, 2 ] }\n",
            Invalid("unknown-keyname"),
        ),
        case(
            "8.3",
            "a derived node type refines a capability to a derived type",
            "capability_types:\n  Fast: { derived_from: Host }\nnode_types:\n  Big:\n    derived_from: Server\n    capabilities:\n      host: Fast\n",
            Valid,
        ),
        case(
            "8.3",
            "a refinement may not change a capability to an unrelated type",
            "node_types:\n  Big:\n    derived_from: Server\n    capabilities:\n      host: Storage\n",
            Invalid("invalid-refinement"),
        ),
        case(
            "8.4",
            "a capability assignment gives the capability's properties",
            "service_template:\n  node_templates:\n    s:\n      type: Server\n      capabilities:\n        host: { properties: { cores: 4 } }\n",
            Valid,
        ),
        case(
            "8.4",
            "assigning a capability the type does not have",
            "service_template:\n  node_templates:\n    s:\n      type: Server\n      capabilities:\n        gpu: { properties: {} }\n",
            Invalid("undeclared"),
        ),
        case(
            "8.5",
            "a requirement definition needs its capability",
            "node_types:\n  N:\n    requirements:\n      - peer: { node: Server }\n",
            Invalid("missing-keyname"),
        ),
        case(
            "8.5",
            "count_range with UNBOUNDED",
            "node_types:\n  N:\n    requirements:\n      - peers: { capability: Endpoint, count_range: [ 0, UNBOUNDED ] }\n",
            Valid,
        ),
        case(
            "8.5",
            "count_range's lower bound above its upper",
            "node_types:\n  N:\n    requirements:\n      - peers: { capability: Endpoint, count_range: [ 3, 1 ] }\n",
            Invalid("invalid-range"),
        ),
        case(
            "8.7",
            "the short form of a requirement assignment names the node",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a: { type: App, requirements: [ { host: s } ] }\n",
            Valid,
        ),
        case(
            "8.7",
            "a requirement assignment the type does not define",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a: { type: App, requirements: [ { host: s }, { disk: s } ] }\n",
            Invalid("undeclared"),
        ),
        case(
            "8.7",
            "the named node must offer the capability",
            "node_types:\n  Bare: {}\nservice_template:\n  node_templates:\n    b: { type: Bare }\n    a: { type: App, requirements: [ { host: b } ] }\n",
            Invalid("unfulfilled-requirement"),
        ),
        case(
            "8.7",
            "an optional requirement may stay unfulfilled",
            "service_template:\n  node_templates:\n    a:\n      type: App\n      requirements:\n        - host: { node: Server, optional: true }\n",
            Valid,
        ),
        case(
            "8.7",
            "a node_filter chooses among candidates",
            "service_template:\n  node_templates:\n    small: { type: Server, capabilities: { host: { properties: { cores: 1 } } } }\n    big: { type: Server, capabilities: { host: { properties: { cores: 8 } } } }\n    a:\n      type: App\n      requirements:\n        - host:\n            node_filter: { $greater_than: [ { $get_property: [ SELF, CAPABILITY, cores ] }, 4 ] }\n",
            Valid,
        ),
        case(
            "8.7",
            "assignment counts that add up to more than the count_range allows",
            "node_types:\n  One:\n    requirements:\n      - host: { capability: Host, count_range: [ 1, 1 ] }\nservice_template:\n  node_templates:\n    s: { type: Server, count: 3 }\n    o:\n      type: One\n      requirements:\n        - host: { node: Server, count: 2 }\n",
            Invalid("count-range"),
        ),
        case(
            "8.6",
            "a derived node type narrows a requirement's count_range",
            "node_types:\n  Many:\n    requirements:\n      - peers: { capability: Endpoint, count_range: [ 0, 5 ] }\n  Few:\n    derived_from: Many\n    requirements:\n      - peers: { count_range: [ 1, 2 ] }\n",
            Valid,
        ),
        case(
            "8.6",
            "a refinement may not widen the count_range",
            "node_types:\n  Many:\n    requirements:\n      - peers: { capability: Endpoint, count_range: [ 0, 5 ] }\n  More:\n    derived_from: Many\n    requirements:\n      - peers: { count_range: [ 0, 9 ] }\n",
            Invalid("invalid-refinement"),
        ),
        case(
            "8.7",
            "a requirement assignment gives its relationship's properties",
            "node_types:\n  Client:\n    requirements:\n      - api: { capability: Endpoint, relationship: ConnectsTo }\nservice_template:\n  node_templates:\n    s: { type: Server }\n    c:\n      type: Client\n      requirements:\n        - api: { node: s, relationship: { properties: { secure: true } } }\n",
            Valid,
        ),
        case(
            "8.7",
            "a relationship property the relationship type does not declare",
            "node_types:\n  Client:\n    requirements:\n      - api: { capability: Endpoint, relationship: ConnectsTo }\nservice_template:\n  node_templates:\n    s: { type: Server }\n    c:\n      type: Client\n      requirements:\n        - api: { node: s, relationship: { properties: { colour: red } } }\n",
            Invalid("undeclared"),
        ),
    ]);
}

#[test]
fn chapters_11_and_12_interfaces_and_artifacts() {
    run(&[
        case(
            "11.1",
            "an interface type derived, with inputs, operations and notifications",
            "interface_types:\n  More:\n    derived_from: Ops\n    inputs:\n      level: { type: integer, default: 1 }\n    operations:\n      restart:\n        inputs:\n          hard: { type: boolean, default: false }\n    notifications:\n      crashed: {}\n",
            Valid,
        ),
        case(
            "11.1",
            "an unknown interface type keyname",
            "interface_types:\n  Bad:\n    ops:\n      start: {}\n",
            Invalid("unknown-keyname"),
        ),
        case(
            "11.2",
            "an interface definition needs its type",
            "node_types:\n  N:\n    interfaces:\n      ops: { operations: { start: {} } }\n",
            Invalid("missing-keyname"),
        ),
        case(
            "11.2",
            "an interface definition may not add operations its type lacks",
            "node_types:\n  N:\n    interfaces:\n      ops:\n        type: Ops\n        operations:\n          dance: {}\n",
            Invalid("undeclared"),
        ),
        case(
            "11.3",
            "an interface assignment gives inputs and implementations",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a:\n      type: App\n      requirements: [ { host: s } ]\n      interfaces:\n        ops:\n          inputs: { verbose: true }\n          operations:\n            start: { implementation: base.yaml }\n            stop: base.yaml\n",
            Valid,
        ),
        case(
            "11.3",
            "assigning an operation the interface does not have",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a:\n      type: App\n      requirements: [ { host: s } ]\n      interfaces:\n        ops:\n          operations:\n            dance: base.yaml\n",
            Invalid("undeclared"),
        ),
        case(
            "11.4",
            "operation outputs map to attributes",
            "node_types:\n  N:\n    attributes:\n      pid: { type: integer }\n    interfaces:\n      ops:\n        type: Ops\n        operations:\n          start:\n            outputs:\n              pid: { type: integer }\n",
            Valid,
        ),
        case(
            "11.8",
            "an implementation with a primary and dependencies",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a:\n      type: App\n      requirements: [ { host: s } ]\n      artifacts:\n        run: { type: File, file: base.yaml }\n      interfaces:\n        ops:\n          operations:\n            start:\n              implementation:\n                primary: run\n                dependencies: [ base.yaml ]\n",
            Valid,
        ),
        case(
            "11.8",
            "an unknown implementation keyname",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a:\n      type: App\n      requirements: [ { host: s } ]\n      interfaces:\n        ops:\n          operations:\n            start:\n              implementation:\n                main: base.yaml\n",
            Invalid("unknown-keyname"),
        ),
        case(
            "12.1",
            "an artifact type with mime_type, file_ext and properties, derived",
            "artifact_types:\n  Script:\n    derived_from: File\n    mime_type: text/x-sh\n    file_ext: [ sh ]\n    properties:\n      shell: { type: string, default: sh }\n",
            Valid,
        ),
        case(
            "12.1",
            "an artifact type's properties include those it derives",
            "artifact_types:\n  Script:\n    derived_from: File\nservice_template:\n  node_templates:\n    s:\n      type: Server\n      artifacts:\n        run: { type: Script, file: base.yaml, properties: { mode: '0755' } }\n",
            Valid,
        ),
        case(
            "12.2",
            "an artifact definition needs its type",
            "service_template:\n  node_templates:\n    s:\n      type: Server\n      artifacts:\n        run: { file: base.yaml }\n",
            Invalid("missing-keyname"),
        ),
        case(
            "12.2",
            "an artifact definition needs its file",
            "service_template:\n  node_templates:\n    s:\n      type: Server\n      artifacts:\n        run: { type: File }\n",
            Invalid("missing-keyname"),
        ),
        case(
            "12.2",
            "every artifact keyname",
            "service_template:\n  node_templates:\n    s:\n      type: Server\n      artifacts:\n        run:\n          type: File\n          file: base.yaml\n          description: d\n          metadata: { k: v }\n          artifact_version: 1.2.0\n          checksum: 0123abcd\n          checksum_algorithm: SHA-256\n          properties: { mode: '0644' }\n",
            Valid,
        ),
        case(
            "12.2",
            "a property the artifact type does not declare",
            "service_template:\n  node_templates:\n    s:\n      type: Server\n      artifacts:\n        run: { type: File, file: base.yaml, properties: { colour: red } }\n",
            Invalid("undeclared"),
        ),
        case(
            "11.5",
            "an operation assignment maps outputs to attributes",
            "node_types:\n  Proc:\n    attributes:\n      pid: { type: integer }\n    interfaces:\n      ops:\n        type: Ops\n        operations:\n          start:\n            outputs:\n              pid: { type: integer }\nservice_template:\n  node_templates:\n    p:\n      type: Proc\n      interfaces:\n        ops:\n          operations:\n            start:\n              implementation: base.yaml\n              outputs: { pid: [ SELF, pid ] }\n",
            Valid,
        ),
        case(
            "11.7",
            "a notification assignment gives its implementation",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a:\n      type: App\n      requirements: [ { host: s } ]\n      interfaces:\n        ops:\n          notifications:\n            ready: { implementation: base.yaml }\n",
            Valid,
        ),
        case(
            "11.7",
            "assigning a notification the interface does not have",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a:\n      type: App\n      requirements: [ { host: s } ]\n      interfaces:\n        ops:\n          notifications:\n            gone: { implementation: base.yaml }\n",
            Invalid("undeclared"),
        ),
    ]);
}

#[test]
fn chapters_13_and_14_workflows_and_representations() {
    run(&[
        case(
            "13.2",
            "a workflow whose inputs its precondition, filter and activities read",
            "service_template:\n  node_templates:\n    s: { type: Server }\n    a: { type: App, requirements: [ { host: s } ] }\n  workflows:\n    deploy:\n      inputs:\n        level: { type: integer, default: 2 }\n      precondition: { $greater_than: [ { $get_input: level }, 0 ] }\n      steps:\n        one:\n          target: a\n          filter:\n            - $less_than: [ { $get_input: level }, 10 ]\n          activities:\n            - set_state: configuring\n            - call_operation:\n                operation: ops.start\n                inputs: { verbose: { $equal: [ { $get_input: level }, 3 ] } }\n            - inline:\n                workflow: tidy\n                inputs: { depth: { $get_input: level } }\n          on_success: [ two ]\n        two:\n          target: a\n          activities:\n            - delegate: undeploy\n    tidy:\n      inputs:\n        depth: { type: integer }\n      steps:\n        only:\n          target: s\n          activities:\n            - set_state: tidy\n",
            Valid,
        ),
        case(
            "13.2",
            "a workflow input that is not defined",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    w:\n      steps:\n        one:\n          target: s\n          filter:\n            - $equal: [ { $get_input: nothing }, 1 ]\n          activities:\n            - set_state: x\n",
            Invalid("unknown-input"),
        ),
        case(
            "13.2.2",
            "a step needs its target",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    w:\n      steps:\n        one:\n          activities:\n            - set_state: x\n",
            Invalid("missing-keyname"),
        ),
        case(
            "13.2.2",
            "on_success naming a step that does not exist",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    w:\n      steps:\n        one:\n          target: s\n          activities: [ { set_state: x } ]\n          on_success: [ nowhere ]\n",
            Invalid("unknown-step"),
        ),
        case(
            "13.2.3",
            "an activity with two kinds at once",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    w:\n      steps:\n        one:\n          target: s\n          activities:\n            - { set_state: x, delegate: y }\n",
            Invalid("wrong-kind"),
        ),
        case(
            "13.2.3",
            "calling an operation the target does not have",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    w:\n      steps:\n        one:\n          target: s\n          activities:\n            - call_operation: ops.start\n",
            Invalid("undeclared"),
        ),
        case(
            "13.2.3",
            "inlining a workflow that does not exist",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    w:\n      steps:\n        one:\n          target: s\n          activities:\n            - inline: nowhere\n",
            Invalid("unknown-workflow"),
        ),
        case(
            "14.1",
            "$node_index tells representations apart",
            "node_types:\n  Replica:\n    properties:\n      index: { type: integer }\nservice_template:\n  node_templates:\n    r:\n      type: Replica\n      count: 3\n      properties:\n        index: { $node_index: [] }\n",
            Valid,
        ),
        case(
            "14.3",
            "a requirement of count 2 is fulfilled twice",
            "node_types:\n  Pair:\n    requirements:\n      - peer: { capability: Endpoint, count_range: [ 2, 2 ] }\nservice_template:\n  node_templates:\n    s: { type: Server, count: 2 }\n    p:\n      type: Pair\n      requirements:\n        - peer: { node: Server, count: 2 }\n",
            Valid,
        ),
        case(
            "13.2",
            "a workflow given by an implementation instead of steps",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    external:\n      implementation: base.yaml\n",
            Valid,
        ),
        case(
            "13.2",
            "steps and implementation exclude each other",
            "service_template:\n  node_templates:\n    s: { type: Server }\n  workflows:\n    both:\n      implementation: base.yaml\n      steps:\n        one: { target: s, activities: [ { set_state: x } ] }\n",
            Invalid("conflicting-keynames"),
        ),
    ]);
}

#[test]
fn chapter_16_groups_and_policies() {
    run(&[
        case(
            "16.1",
            "a group type with members, properties and derivation",
            "group_types:\n  Tier:\n    properties:\n      size: { type: integer, default: 1 }\n    members: [ Server ]\n  Front: { derived_from: Tier }\n",
            Valid,
        ),
        case(
            "16.2",
            "a group's members must be of its member types",
            "group_types:\n  Servers: { members: [ Server ] }\nservice_template:\n  node_templates:\n    s: { type: Server }\n    a: { type: App, requirements: [ { host: s } ] }\n  groups:\n    g: { type: Servers, members: [ s, a ] }\n",
            Invalid("wrong-type"),
        ),
        case(
            "16.2",
            "a group member that is not a node template",
            "group_types:\n  Servers: {}\nservice_template:\n  node_templates:\n    s: { type: Server }\n  groups:\n    g: { type: Servers, members: [ ghost ] }\n",
            Invalid("unknown-template"),
        ),
        case(
            "16.3",
            "a policy type with targets and triggers",
            "policy_types:\n  Scale:\n    properties:\n      max: { type: integer }\n    targets: [ Server ]\n    triggers:\n      grow:\n        event: high_load\n        action:\n          - set_state: growing\n",
            Valid,
        ),
        case(
            "16.4",
            "a policy whose target is not among its type's targets",
            "policy_types:\n  Scale: { targets: [ Server ] }\nservice_template:\n  node_templates:\n    s: { type: Server }\n    a: { type: App, requirements: [ { host: s } ] }\n  policies:\n    - grow: { type: Scale, targets: [ a ] }\n",
            Invalid("wrong-type"),
        ),
        case(
            "16.5",
            "a trigger needs its event",
            "policy_types:\n  Scale:\n    triggers:\n      grow:\n        action:\n          - set_state: growing\n",
            Invalid("missing-keyname"),
        ),
        case(
            "16.5",
            "a trigger with a condition on its target",
            "policy_types:\n  Scale:\n    targets: [ Server ]\n    triggers:\n      grow:\n        event: high_load\n        condition: { $equal: [ 1, 1 ] }\n        action:\n          - set_state: growing\nservice_template:\n  node_templates:\n    s: { type: Server }\n  policies:\n    - grow: { type: Scale, targets: [ s ] }\n",
            Valid,
        ),
        case(
            "16.5",
            "a trigger needs its action",
            "policy_types:\n  Scale:\n    triggers:\n      grow:\n        event: high_load\n",
            Invalid("missing-keyname"),
        ),
    ]);
}

/// Files written into a temporary directory for cases that span several files.
/// The problem codes of `text` compiled as the file `entry` (beside the files around it).
fn codes_of(entry: &Path, text: &str) -> Vec<String> {
    problems(entry, text, &Options::default())
        .into_iter()
        .map(|(code, _)| code)
        .collect()
}

fn files(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    dir.join(files[0].0)
}

#[test]
fn section_6_7_a_profile_may_import_other_profiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = "tosca_definitions_version: tosca_2_0\n";
    let entry = files(
        dir.path(),
        &[
            (
                "service.yaml",
                &format!(
                    "{v}imports:\n  - profile: com.example.apps:2.0\nservice_template:\n  node_templates:\n    w: {{ type: Web, properties: {{ port: 80 }} }}\n"
                ),
            ),
            (
                "profiles/apps/profile.yaml",
                &format!(
                    "{v}profile: com.example.apps:2.0\nimports:\n  - profile: com.example.base:1.0\n  - url: extra.yaml\nnode_types:\n  Web:\n    derived_from: Software\n    properties:\n      port: {{ type: Port }}\n"
                ),
            ),
            (
                "profiles/apps/extra.yaml",
                &format!(
                    "{v}data_types:\n  Port:\n    derived_from: integer\n    validation: {{ $less_than: [ $value, 65536 ] }}\n"
                ),
            ),
            (
                "profiles/base/profile.yaml",
                &format!("{v}profile: com.example.base:1.0\nnode_types:\n  Software: {{}}\n"),
            ),
        ],
    );
    let options = Options {
        profile_paths: vec![dir.path().join("profiles")],
        ..Options::default()
    };
    let text = std::fs::read_to_string(&entry).expect("read");
    assert_eq!(problems(&entry, &text, &options), []);
    // The nested profile's validation still applies through the tree.
    let too_big = text.replace("port: 80", "port: 70000");
    let found = problems(&entry, &too_big, &options);
    assert!(
        found.iter().any(|(code, _)| code == "validation-failed"),
        "{found:?}"
    );
}

#[test]
fn section_10_4_functions_imported_under_a_namespace_are_called_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = "tosca_definitions_version: tosca_2_0\n";
    let service = |call: &str| {
        format!(
            "{v}imports:\n  - url: lib.yaml\n    namespace: lib\nnode_types:\n  N:\n    properties:\n      f: {{ type: float }}\nservice_template:\n  node_templates:\n    n: {{ type: N, properties: {{ f: {call} }} }}\n"
        )
    };
    let library = format!(
        "{v}functions:\n  root:\n    signatures:\n      - arguments: [ integer ]\n        result: float\n"
    );
    let entry = files(
        dir.path(),
        &[
            ("service.yaml", &service("{ $lib:root: [ 4 ] }")),
            ("lib.yaml", &library),
        ],
    );
    let codes = |text: &str| codes_of(&entry, text);
    assert_eq!(
        codes(&service("{ $lib:root: [ 4 ] }")),
        Vec::<String>::new()
    );
    // Without its namespace, or under another, the name is unknown.
    assert_eq!(codes(&service("{ $root: [ 4 ] }")), ["function"]);
    assert_eq!(codes(&service("{ $other:root: [ 4 ] }")), ["function"]);
    // Its signatures apply through the namespace.
    assert_eq!(codes(&service("{ $lib:root: [ four ] }")), ["function"]);
}

/// §10.4: a function the service's file defines under the name of one it imports refines it:
/// the imported signatures stay (an empty `{}` keeps one as it is, an implementation may
/// replace its own), new ones follow, and changing an imported signature's arguments is an
/// error.
#[test]
fn section_10_4_a_function_defined_again_in_the_service_file_refines_the_imported_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = "tosca_definitions_version: tosca_2_0\n";
    let service = |signatures: &str, call: &str| {
        format!(
            "{v}imports:\n  - url: lib.yaml\nfunctions:\n  shout:\n    description: here\n    signatures:\n{signatures}node_types:\n  N: {{}}\nservice_template:\n  node_templates:\n    n: {{ type: N }}\n  outputs:\n    o: {{ value: {call} }}\n"
        )
    };
    let library = format!(
        "{v}functions:\n  shout:\n    signatures:\n      - arguments: [ string ]\n        result: string\n        implementation: lib.py\n"
    );
    let kept = "      - {}\n      - arguments: [ integer ]\n        result: string\n";
    let entry = files(
        dir.path(),
        &[
            ("service.yaml", &service(kept, "{ $shout: [ hello ] }")),
            ("lib.yaml", &library),
        ],
    );
    let codes = |text: &str| codes_of(&entry, text);
    // The imported signature (a string) and the new one (an integer) both accept.
    assert_eq!(
        codes(&service(kept, "{ $shout: [ hello ] }")),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&service(kept, "{ $shout: [ 3 ] }")),
        Vec::<String>::new()
    );
    assert_eq!(codes(&service(kept, "{ $shout: [ [ 1 ] ] }")), ["function"]);
    // Only its implementation may change.
    let implementation = "      - implementation: here.py\n";
    assert_eq!(
        codes(&service(implementation, "{ $shout: [ hello ] }")),
        Vec::<String>::new()
    );
    let changed = "      - arguments: [ integer ]\n";
    assert_eq!(
        codes(&service(changed, "{ $shout: [ hello ] }")),
        ["invalid-refinement"]
    );
}
