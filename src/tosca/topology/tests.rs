//! Fulfilment, topology output and instantiation, through the facade.

use indexmap::IndexMap;

use crate::tosca::instance::Expression;
use crate::tosca::{Compiled, Options, Report, compile_text};

const TYPES: &str = "tosca_definitions_version: tosca_2_0
capability_types:
  Feature:
    properties:
      slots: { type: integer, required: false }
  Other: {}
relationship_types:
  Uses:
    properties:
      weight: { type: integer, default: 1 }
  Picky:
    valid_capability_types: [ Other ]
node_types:
  Right:
    properties:
      name: { type: string, default: r }
    attributes:
      address: { type: string }
    capabilities:
      feature: Feature
  Left:
    properties:
      target_name: { type: string, required: false }
      peer: { type: string, required: false }
    requirements:
      - uses:
          capability: Feature
          relationship: Uses
  Fussy:
    requirements:
      - uses:
          capability: Feature
          relationship: Picky
";

fn compile(service: &str, inputs: &[(&str, serde_json::Value)]) -> Report {
    let text = format!("{TYPES}service_template:\n{service}");
    let options = Options {
        profile_paths: Vec::new(),
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<IndexMap<_, _>>(),
        ..Options::default()
    };
    compile_text("/tmp/khutulun-topology.yaml", &text, &options)
}

fn compiled(report: &Report) -> &Compiled {
    let problems: Vec<_> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.code, p.message))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    report.compiled.as_ref().expect("compiled")
}

#[test]
fn fulfils_by_capability_type_and_draws_one_edge_per_requirement() {
    let report = compile(
        "  node_templates:\n    r: { type: Right }\n    l: { type: Left, requirements: [ { uses: {} } ] }\n",
        &[],
    );
    let dot = compiled(&report).to_dot();
    assert!(dot.contains("\"r\" [label="), "{dot}");
    assert!(dot.contains("\"l\" -> \"r\" [label=\"uses\"]"), "{dot}");
    assert_eq!(dot.matches("->").count(), 1);
}

#[test]
fn unsatisfiable_requirement_is_a_problem_but_optional_is_not() {
    let report = compile(
        "  node_templates:\n    l: { type: Left, requirements: [ { uses: {} } ] }\n",
        &[],
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.code == "unfulfilled-requirement")
    );
    let report = compile(
        "  node_templates:\n    l:\n      type: Left\n      requirements:\n        - uses: { optional: true }\n",
        &[],
    );
    compiled(&report);
}

#[test]
fn relationship_valid_capability_types_are_enforced() {
    let report = compile(
        "  node_templates:\n    r: { type: Right }\n    f: { type: Fussy, requirements: [ { uses: {} } ] }\n",
        &[],
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.code == "unfulfilled-requirement")
    );
}

#[test]
fn node_filter_chooses_the_matching_target() {
    let report = compile(
        "  node_templates:\n    a: { type: Right, properties: { name: a } }\n    b: { type: Right, properties: { name: b } }\n    l:\n      type: Left\n      requirements:\n        - uses:\n            node_filter: { $equal: [ { $get_property: [ SELF, TARGET, name ] }, b ] }\n",
        &[],
    );
    let json = compiled(&report).to_json();
    assert_eq!(
        json["node_templates"]["l"]["requirements"][0]["uses"]["node"],
        "b"
    );
}

#[test]
fn inputs_drive_counts_and_values() {
    let service = "  inputs:\n    n: { type: integer }\n  node_templates:\n    r: { type: Right, count: { $get_input: n } }\n    l:\n      type: Left\n      count: { $get_input: n }\n      requirements:\n        - uses: [ r, $node_index ]\n      properties:\n        target_name: { $get_property: [ SELF, RELATIONSHIP, uses, TARGET, name ] }\n        peer: { $get_attribute: [ SELF, RELATIONSHIP, uses, TARGET, address ] }\n";
    let report = compile(service, &[]);
    assert!(report.problems.iter().any(|p| p.code == "missing-input"));
    let report = compile(service, &[("n", serde_json::json!(3))]);
    let inst = compiled(&report).instantiate().expect("instantiates");
    let ids: Vec<_> = inst.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["r-0", "r-1", "r-2", "l-0", "l-1", "l-2"]);
    let l2 = &inst.nodes[5];
    assert_eq!(l2.relationships[0].target, "r-2");
    assert_eq!(
        l2.properties["target_name"],
        Expression::Resolved(serde_json::json!("r"))
    );
    assert!(matches!(l2.properties["peer"], Expression::Deferred(_)));
    assert_eq!(
        l2.relationships[0].properties["weight"],
        Expression::Resolved(serde_json::json!(1))
    );
    // The runtime resolves the deferred value once the target's attribute is known.
    let resolved = inst
        .resolve(
            &l2.properties["peer"],
            Some("l-2"),
            &|instance, attribute| {
                (instance == "r-2" && attribute == "address").then(|| serde_json::json!("10.0.0.2"))
            },
        )
        .expect("resolves");
    assert_eq!(resolved, serde_json::json!("10.0.0.2"));
}

#[test]
fn a_requirement_count_makes_a_full_mesh() {
    let report = compile(
        "  node_templates:\n    r: { type: Right, count: 3 }\n    l:\n      type: Left\n      count: 2\n      requirements:\n        - uses: { node: Right, count: 3 }\n",
        &[],
    );
    let inst = compiled(&report).instantiate().expect("instantiates");
    for left in inst.nodes.iter().filter(|n| n.template == "l") {
        let targets: Vec<_> = left
            .relationships
            .iter()
            .map(|r| r.target.as_str())
            .collect();
        assert_eq!(targets, ["r-0", "r-1", "r-2"]);
        let indexes: Vec<_> = left.relationships.iter().map(|r| r.index).collect();
        assert_eq!(indexes, [0, 1, 2]);
    }
}

#[test]
fn allocation_spreads_sources_over_targets() {
    let report = compile(
        "  node_templates:\n    r:\n      type: Right\n      count: 2\n      capabilities:\n        feature: { properties: { slots: 1 } }\n    l:\n      type: Left\n      count: 2\n      requirements:\n        - uses: { node: Right, allocation: { slots: 1 } }\n",
        &[],
    );
    let inst = compiled(&report).instantiate().expect("instantiates");
    let targets: Vec<_> = inst
        .nodes
        .iter()
        .filter(|n| n.template == "l")
        .map(|n| n.relationships[0].target.as_str())
        .collect();
    assert_eq!(targets, ["r-0", "r-1"]);
    let over = compile(
        "  node_templates:\n    r:\n      type: Right\n      capabilities:\n        feature: { properties: { slots: 1 } }\n    l:\n      type: Left\n      count: 2\n      requirements:\n        - uses: { node: Right, allocation: { slots: 1 } }\n",
        &[],
    );
    assert!(
        over.problems
            .iter()
            .any(|p| p.code == "unfulfilled-requirement")
    );
}

#[test]
fn outputs_are_evaluated_or_deferred() {
    let report = compile(
        "  node_templates:\n    r: { type: Right, properties: { name: web } }\n  outputs:\n    name: { value: { $get_property: [ r, name ] } }\n    address: { value: { $get_attribute: [ r, address ] } }\n",
        &[],
    );
    let json = compiled(&report).to_json();
    assert_eq!(json["outputs"]["name"], "web");
    assert!(json["outputs"]["address"]["$deferred"].is_object());
}

#[test]
fn dependency_order_puts_targets_first() {
    let report = compile(
        "  node_templates:\n    l: { type: Left, requirements: [ { uses: r } ] }\n    r: { type: Right }\n",
        &[],
    );
    let inst = compiled(&report).instantiate().expect("instantiates");
    let ids: Vec<_> = inst.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["r-0", "l-0"]);
}

#[test]
fn given_inputs_are_checked_against_type_and_validation() {
    let service = "  inputs:\n    n: { type: integer, validation: { $less_than: [ $value, 5 ] } }\n  node_templates:\n    r: { type: Right, count: { $get_input: n } }\n";
    compiled(&compile(service, &[("n", serde_json::json!(2))]));
    let too_big = compile(service, &[("n", serde_json::json!(7))]);
    assert!(
        too_big
            .problems
            .iter()
            .any(|p| p.code == "validation-failed"),
        "{:?}",
        too_big.problems
    );
    let wrong = compile(service, &[("n", serde_json::json!("two"))]);
    assert!(wrong.problems.iter().any(|p| p.code == "wrong-type"));
    let unknown = compile(
        service,
        &[("n", serde_json::json!(1)), ("m", serde_json::json!(1))],
    );
    assert!(unknown.problems.iter().any(|p| p.code == "unknown-input"));
}

#[test]
fn one_resolver_serves_many_expressions() {
    let report = compile(
        "  node_templates:\n    r: { type: Right, count: 2 }\n    l:\n      type: Left\n      count: 2\n      requirements:\n        - uses: [ r, $node_index ]\n      properties:\n        peer: { $get_attribute: [ SELF, RELATIONSHIP, uses, TARGET, address ] }\n",
        &[],
    );
    let inst = compiled(&report).instantiate().expect("instantiates");
    let resolver = crate::tosca::instance::Resolver::new(&inst);
    let address = |instance: &str, attribute: &str| {
        (attribute == "address").then(|| serde_json::json!(format!("ip-of-{instance}")))
    };
    for left in inst.nodes.iter().filter(|n| n.template == "l") {
        let got = resolver
            .resolve(&left.properties["peer"], Some(&left.id), &address)
            .expect("resolves");
        assert_eq!(got, serde_json::json!(format!("ip-of-r-{}", left.index)));
    }
    assert!(
        resolver
            .resolve(&inst.nodes[0].properties["name"], Some("nobody"), &address)
            .is_ok()
    );
    let missing = Expression::Deferred(serde_json::json!({"$get_attribute": ["SELF", "address"]}));
    assert!(
        resolver
            .resolve(&missing, Some("nobody"), &address)
            .is_err()
    );
}

#[test]
fn computed_values_are_checked_against_their_definitions() {
    let report = compile(
        "  node_templates:\n    l:\n      type: Left\n      properties:\n        target_name: { $sum: [ 1, 2 ] }\n      requirements:\n        - uses: { optional: true }\n",
        &[],
    );
    let problems = compiled(&report)
        .instantiate()
        .expect_err("a number is not a string");
    assert!(problems.iter().any(|p| p.code == "wrong-type"));
}

#[test]
fn list_inputs_are_checked_entry_by_entry() {
    let service =
        "  inputs:\n    names: { type: list, entry_schema: string }\n  node_templates: {}\n";
    compiled(&compile(
        service,
        &[("names", serde_json::json!(["a", "b"]))],
    ));
    let wrong = compile(service, &[("names", serde_json::json!(["a", 2]))]);
    assert!(wrong.problems.iter().any(|p| p.code == "wrong-type"));
}

#[test]
fn counts_are_held_to_the_limits_per_template_and_per_service() {
    let text = format!(
        "{TYPES}service_template:\n  node_templates:\n    a: {{ type: Right, count: 3 }}\n    b: {{ type: Right, count: 3 }}\n"
    );
    let limits = crate::tosca::limits::Limits {
        count: 3,
        instances: 5,
        ..Default::default()
    };
    let options = Options {
        limits,
        ..Options::default()
    };
    let report = compile_text("/tmp/khutulun-limits.yaml", &text, &options);
    let over: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.code == "limit-exceeded")
        .map(|p| (p.path.clone(), p.span.line))
        .collect();
    // `a` fits; `b` takes the service to 6 instances, over 5.
    let b_line = text.lines().position(|l| l.contains("b: {")).unwrap() as u32 + 1;
    assert_eq!(
        over,
        [(
            "service_template.node_templates.b.count".to_string(),
            b_line
        )]
    );
    let topology = report.compiled.unwrap().topology.unwrap();
    assert_eq!(topology.counts, [3, 0]);

    let options = Options {
        limits: crate::tosca::limits::Limits { count: 2, ..limits },
        ..Options::default()
    };
    let report = compile_text("/tmp/khutulun-limits.yaml", &text, &options);
    let codes: Vec<_> = report.problems.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        ["limit-exceeded", "limit-exceeded"],
        "{}",
        report.render_text()
    );
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.message.contains("limit of 2"))
    );
}
