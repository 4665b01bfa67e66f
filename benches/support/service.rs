//! Generates large, valid TOSCA 2.0 service templates for benchmarks and their sanity tests.
//!
//! A service of `n` node templates uses a small self-contained type library (a capability type,
//! a relationship type, and a chain of three derived node types) so it needs no profile. Node
//! template `i` requires node template `(i - 1) / 2`, which makes the requirement graph a
//! balanced tree; properties use `$concat`, `$get_input` and `$get_property`, and a validation
//! clause runs on every `weight`.

// Each includer (the benchmark, the tests) uses a different part of this module.
#![allow(dead_code)]

use std::fmt::Write;

/// The type library every generated service starts with.
const TYPES: &str = r#"tosca_definitions_version: tosca_2_0

description: A generated service for benchmarks.

capability_types:
  Endpoint:
    properties:
      port:
        type: integer
        default: 80

relationship_types:
  ConnectsTo:
    valid_capability_types: [ Endpoint ]

node_types:
  Base:
    properties:
      name:
        type: string
      label:
        type: string
        required: false
    capabilities:
      endpoint:
        type: Endpoint
    requirements:
      - dependency:
          capability: Endpoint
          relationship: ConnectsTo
          count_range: [ 0, UNBOUNDED ]
  Server:
    derived_from: Base
    properties:
      weight:
        type: integer
        default: 1
        validation: { $greater_or_equal: [ $value, 0 ] }
  WebServer:
    derived_from: Server
    properties:
      greeting:
        type: string
        default: hello

service_template:
  inputs:
    domain:
      type: string
      default: example.org
  outputs:
    root_name:
      type: string
      value: { $get_property: [ n0, name ] }
  node_templates:
"#;

/// The text of a service template with `node_templates` node templates (at least 1).
pub fn service(node_templates: usize) -> String {
    let mut text = String::with_capacity(TYPES.len() + node_templates * 260);
    text.push_str(TYPES);
    for i in 0..node_templates.max(1) {
        let node_type = ["Base", "Server", "WebServer"][i % 3];
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "    n{i}:\n      type: {node_type}\n      properties:"
        );
        let _ = writeln!(
            text,
            "        name: {{ $concat: [ n{i}, \".\", {{ $get_input: domain }} ] }}"
        );
        let _ = writeln!(text, "        label: {{ $get_property: [ SELF, name ] }}");
        if node_type != "Base" {
            let _ = writeln!(text, "        weight: {}", i % 7);
        }
        if i > 0 {
            let _ = writeln!(
                text,
                "      requirements:\n        - dependency: n{}",
                (i - 1) / 2
            );
        }
    }
    text
}
