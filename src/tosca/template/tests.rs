//! Checks of service templates against their types, through the facade.

use crate::tosca::{Options, validate_text};

const TYPES: &str = "tosca_definitions_version: tosca_2_0
capability_types:
  Host:
    properties:
      cpus: { type: integer, required: false }
  Endpoint:
    properties:
      protocol: { type: string, value: tcp }
relationship_types:
  HostedOn: {}
artifact_types:
  Script: {}
node_types:
  Server:
    properties:
      name: { type: string }
      port: { type: integer, default: 80 }
    capabilities:
      host: Host
      endpoint: Endpoint
  App:
    requirements:
      - host:
          capability: Host
          relationship: HostedOn
          count_range: [1, 2]
group_types:
  Servers:
    members: [ Server ]
policy_types:
  Placement:
    targets: [ Server ]
";

fn codes(service: &str) -> Vec<&'static str> {
    let text = format!("{TYPES}service_template:\n{service}");
    let report = validate_text("/tmp/khutulun-test.yaml", &text, &Options::default());
    report.problems.iter().map(|p| p.code).collect()
}

#[test]
fn a_complete_template_is_valid() {
    let found = codes(
        "  inputs:\n    n: { type: string, default: web }\n  node_templates:\n    s:\n      type: Server\n      properties:\n        name: { $get_input: n }\n    a:\n      type: App\n      requirements:\n        - host: s\n",
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn unknown_node_type() {
    assert!(codes("  node_templates:\n    s: { type: Nope }\n").contains(&"unknown-type"));
}

#[test]
fn undeclared_property_and_missing_required() {
    let found = codes(
        "  node_templates:\n    s:\n      type: Server\n      properties:\n        colour: red\n",
    );
    assert!(found.contains(&"undeclared"), "{found:?}");
    assert!(found.contains(&"missing-required"), "{found:?}");
}

#[test]
fn wrong_literal_type() {
    let found = codes(
        "  node_templates:\n    s:\n      type: Server\n      properties: { name: x, port: eighty }\n",
    );
    assert!(found.contains(&"wrong-type"), "{found:?}");
}

#[test]
fn fixed_value_cannot_be_assigned() {
    let found = codes(
        "  node_templates:\n    s:\n      type: Server\n      properties: { name: x }\n      capabilities:\n        endpoint:\n          properties: { protocol: udp }\n",
    );
    assert!(found.contains(&"fixed-value"), "{found:?}");
}

#[test]
fn unknown_function_and_unknown_input() {
    let found = codes(
        "  node_templates:\n    s:\n      type: Server\n      properties:\n        name: { $in_range: [1, 2] }\n",
    );
    assert!(found.contains(&"function"), "{found:?}");
    let found = codes(
        "  node_templates:\n    s:\n      type: Server\n      properties:\n        name: { $get_input: missing }\n",
    );
    assert!(found.contains(&"unknown-input"), "{found:?}");
}

#[test]
fn requirement_count_over_its_range() {
    let found = codes(
        "  node_templates:\n    s: { type: Server, properties: { name: x } }\n    a:\n      type: App\n      requirements:\n        - host: s\n        - host: s\n        - host: s\n",
    );
    assert!(found.contains(&"count-range"), "{found:?}");
}

#[test]
fn undeclared_requirement_and_unknown_target() {
    let found = codes(
        "  node_templates:\n    a:\n      type: App\n      requirements:\n        - storage: x\n        - host: nobody\n",
    );
    assert!(found.contains(&"undeclared"), "{found:?}");
    assert!(found.contains(&"unknown-template"), "{found:?}");
}

#[test]
fn group_members_and_policy_targets_follow_their_types() {
    let found = codes(
        "  node_templates:\n    a: { type: App, requirements: [ { host: { node: Server } } ] }\n  groups:\n    g: { type: Servers, members: [ a ] }\n  policies:\n    - p: { type: Placement, targets: [ a ] }\n",
    );
    assert_eq!(
        found.iter().filter(|c| **c == "wrong-type").count(),
        2,
        "{found:?}"
    );
}

#[test]
fn chained_copy_is_refused() {
    let found = codes(
        "  node_templates:\n    s: { type: Server, properties: { name: x } }\n    t: { copy: s }\n    u: { copy: t }\n",
    );
    assert_eq!(found, vec!["chained-copy"]);
}

#[test]
fn empty_sections_are_problems() {
    assert!(codes("  node_templates: {}\n  workflows:\n").contains(&"empty-section"));
    assert!(codes("  node_templates:\n").contains(&"empty-section"));
}

#[test]
fn substitution_mappings_refer_to_what_exists() {
    let found = codes(
        "  node_templates:\n    s: { type: Server, properties: { name: x } }\n  substitution_mappings:\n    node_type: Server\n    capabilities:\n      host: [ s, nothing ]\n    properties:\n      name: no_such_input\n",
    );
    assert!(found.contains(&"undeclared"), "{found:?}");
    assert!(found.contains(&"unknown-input"), "{found:?}");
}

#[test]
fn workflow_call_operation_inputs_are_checked() {
    let text = "tosca_definitions_version: tosca_2_0
interface_types:
  Backup:
    operations:
      backup:
        inputs:
          name: { type: string }
node_types:
  Entity:
    interfaces:
      backup: { type: Backup }
service_template:
  node_templates:
    c: { type: Entity }
  workflows:
    w:
      inputs:
        id: { type: integer }
      steps:
        one:
          target: c
          activities:
            - call_operation:
                operation: backup.backup
                inputs:
                  name: { $get_input: id }
                  guid: x
";
    let report = validate_text("/tmp/khutulun-wf.yaml", text, &Options::default());
    let found: Vec<_> = report.problems.iter().map(|p| p.code).collect();
    assert!(found.contains(&"undeclared"), "{found:?}");
    assert!(found.contains(&"wrong-type"), "{found:?}");
}

#[test]
fn get_property_paths_are_checked_before_fulfilment() {
    let ok = codes(
        "  node_templates:\n    s:\n      type: Server\n      properties:\n        name: { $get_property: [ SELF, CAPABILITY, host, cpus ] }\n    t:\n      type: Server\n      properties:\n        name: { $get_property: [ s, name ] }\n",
    );
    assert!(ok.is_empty(), "{ok:?}");
    let found = codes(
        "  node_templates:\n    s:\n      type: Server\n      properties:\n        name: { $get_property: [ SELF, colour ] }\n    t:\n      type: Server\n      properties:\n        name: { $get_property: [ s, CAPABILITY, storage, size ] }\n",
    );
    assert!(found.contains(&"unknown-property"), "{found:?}");
    assert!(found.contains(&"unknown-capability"), "{found:?}");
}

#[test]
fn triggers_need_event_and_action() {
    let found = codes(
        "  node_templates:\n    s: { type: Server, properties: { name: x } }\n  policies:\n    - p:\n        type: Placement\n        targets: [ s ]\n        triggers:\n          t: { condition: { $equal: [ 1, 1 ] } }\n",
    );
    assert_eq!(
        found.iter().filter(|c| **c == "missing-keyname").count(),
        2,
        "{found:?}"
    );
}

#[test]
fn policies_are_a_sequence_and_unknown_keynames_are_problems() {
    let found = codes("  node_templates: {}\n  policies:\n    p: { type: Placement }\n");
    assert!(found.contains(&"wrong-kind"), "{found:?}");
    let found = codes(
        "  node_templates:\n    s: { type: Server, properties: { name: x }, colour: red }\n  topology: {}\n",
    );
    assert_eq!(found, vec!["unknown-keyname", "unknown-keyname"]);
}

#[test]
fn workflow_steps_name_known_targets_and_activities() {
    let found = codes(
        "  node_templates:\n    s: { type: Server, properties: { name: x } }\n  workflows:\n    w:\n      steps:\n        one:\n          target: nobody\n          activities:\n            - dance: now\n          on_success: [ two ]\n",
    );
    assert!(found.contains(&"unknown-template"), "{found:?}");
    assert!(found.contains(&"unknown-keyname"), "{found:?}");
    assert!(found.contains(&"unknown-step"), "{found:?}");
}

#[test]
fn requirement_mappings_may_name_a_count() {
    let found = codes(
        "  node_templates:\n    a: { type: App, requirements: [ { host: { node: Server } } ] }\n  substitution_mappings:\n    node_type: App\n    requirements:\n      - [ host, 2 ]: [ a, host ]\n",
    );
    assert!(found.is_empty(), "{found:?}");
    let found = codes(
        "  node_templates:\n    a: { type: App, requirements: [ { host: { node: Server } } ] }\n  substitution_mappings:\n    node_type: App\n    requirements:\n      - [ host, many ]: [ a, host ]\n",
    );
    assert!(found.contains(&"wrong-kind"), "{found:?}");
}

#[test]
fn a_named_target_must_offer_the_capability() {
    let found = codes(
        "  node_templates:\n    s: { type: Server, properties: { name: x } }\n    a1: { type: App, requirements: [ { host: s } ] }\n    a2: { type: App, requirements: [ { host: a1 } ] }\n",
    );
    assert_eq!(found, vec!["no-capability"]);
}

#[test]
fn input_defaults_are_checked_through_nested_entry_schemas() {
    let nested = |default: &str| {
        codes(&format!(
            "  inputs:\n    grid:\n      type: list\n      entry_schema:\n        type: map\n        entry_schema: {{ type: list, entry_schema: integer }}\n      default: {default}\n  node_templates: {{}}\n"
        ))
    };
    assert_eq!(nested("[ { a: [1, 2] }, { b: [] } ]"), Vec::<&str>::new());
    assert_eq!(nested("[ { a: [1, x] } ]"), ["wrong-type"]);
}

#[test]
fn substitution_mappings_name_declared_members_and_service_parameters() {
    let found = codes(
        "  inputs:\n    n: { type: string }\n  outputs:\n    o: { value: x }\n  substitution_mappings:\n    node_type: Server\n    properties:\n      name: n\n      nope: n\n      port: missing\n    attributes:\n      name: o\n      gone: absent\n      port: 3\n  node_templates: {}\n",
    );
    assert_eq!(
        found,
        // Server declares properties but no attributes, so every attribute mapping is
        // undeclared besides what else is wrong with it (problems come in source order); a
        // mapping to a number is no mapping at all.
        [
            "undeclared",
            "unknown-input",
            "undeclared",
            "undeclared",
            "unknown-output",
            "wrong-kind",
        ]
    );
}

#[test]
fn a_compiled_service_says_whether_it_selects() {
    let uses_select = |directives: &str| {
        let text = format!(
            "{TYPES}service_template:\n  node_templates:\n    s:\n      type: Server\n      directives: {directives}\n      properties: {{ name: a }}\n"
        );
        let report = crate::tosca::compile_text("/tmp/k.yaml", &text, &Options::default());
        report.compiled.expect("compiled").uses_select()
    };
    assert!(uses_select("[ select, create ]"));
    assert!(!uses_select("[ create ]"));
}

#[test]
fn an_artifact_checksum_must_be_a_string() {
    let artifact = |checksum: &str| {
        codes(&format!(
            "  node_templates:\n    s:\n      type: Server\n      properties: {{ name: x }}\n      artifacts:\n        run: {{ type: Script, file: run.sh, checksum: {checksum}, checksum_algorithm: SHA-256 }}\n"
        ))
    };
    assert_eq!(artifact("\"0000\""), Vec::<&str>::new());
    assert_eq!(artifact("ab12"), Vec::<&str>::new());
    // Digits alone read as a number: refused rather than left unchecked.
    assert_eq!(artifact("0000"), ["wrong-kind"]);
}
