//! Substitution mappings (TOSCA 2.0 chapter 15) through `khutulun tosca compile --instantiate`
//! and `khutulun tosca validate`: every mapping form the text gives, and the forms it rules out.
//!
//! The fixtures under `tests/fixtures/tosca/substitution/`: `shop.yaml` has a `Shop` node on
//! `machine` using three services (the first with a relationship `weight` of 5) and used by a
//! `customer`; `split.yaml` splits a shop into a front and a back, `selectable.yaml` runs both
//! halves on a selectable node, and `wrong.yaml` breaks one rule per entry.

#[path = "support/tosca_cli.rs"]
mod support;

use serde_json::{Value, json};
use support::{instantiate, khutulun, node, text};

fn fixture(name: &str) -> String {
    support::fixture(&format!("substitution/{name}"))
}

/// The shop instantiated with `candidate` as its only substituting template.
fn shop_substituted_by(candidate: &str) -> Value {
    instantiate(
        &fixture("shop.yaml"),
        &["--substitution", &fixture(candidate)],
    )
}

/// `(requirement, target)` of each relationship of `node`.
fn targets(node: &Value) -> Vec<(&str, &str)> {
    node["relationships"]
        .as_array()
        .expect("relationships")
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default();
            (field("requirement"), field("target"))
        })
        .collect()
}

#[test]
fn a_requirement_mapped_to_two_inner_requirements_reaches_both() {
    let out = shop_substituted_by("split.yaml");
    for half in ["shop-0.front-0", "shop-0.back-0"] {
        assert!(
            targets(node(&out, half)).contains(&("host", "machine-0")),
            "{half}: {:?}",
            targets(node(&out, half))
        );
    }
}

#[test]
fn counted_requirement_mappings_share_out_the_assignments_in_order() {
    let out = shop_substituted_by("split.yaml");
    // [service, 1] → the front takes the first; [service, UNBOUNDED] → the back every other.
    let services = |id| {
        targets(node(&out, id))
            .into_iter()
            .filter(|(r, _)| *r == "service")
            .map(|(_, t)| t.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(services("shop-0.front-0"), ["payments-0"]);
    assert_eq!(services("shop-0.back-0"), ["stock-0", "mail-0"]);
}

#[test]
fn capability_and_relationship_values_become_inputs() {
    let out = shop_substituted_by("split.yaml");
    let inputs = &out["substitutions"]["shop-0"]["inputs"];
    assert_eq!(inputs["name"], "corner");
    // [CAPABILITY, api, port]: the shop's api capability was given port 8080.
    assert_eq!(inputs["port"], 8080);
    // [RELATIONSHIP, service, ALL, weight]: 5 on the first, the type's default 1 after.
    assert_eq!(inputs["weights"], json!([5, 1, 1]));
    // [RELATIONSHIP, service, weight]: no index means the first.
    assert_eq!(inputs["first_weight"], 5);
}

#[test]
fn outputs_become_the_attributes_of_the_node_its_capabilities_and_its_relationships() {
    let out = shop_substituted_by("split.yaml");
    let shop = &out["substitutions"]["shop-0"];
    assert_eq!(shop["attributes"]["status"]["resolved"], "open");
    assert_eq!(
        shop["capabilities"]["api"]["url"]["resolved"],
        "http://corner"
    );
    // [RELATIONSHIP, service, ALL, session]: one entry of the list output per relationship,
    // wherever the relationship went.
    let sessions: Vec<(String, Value)> = ["shop-0.front-0", "shop-0.back-0"]
        .iter()
        .flat_map(|id| {
            node(&out, id)["relationships"]
                .as_array()
                .expect("list")
                .clone()
        })
        .filter(|r| r["requirement"] == "service")
        .map(|r| {
            (
                r["target"].to_string(),
                r["attributes"]["session"]["resolved"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sessions,
        [
            ("\"payments-0\"".to_string(), json!("a")),
            ("\"stock-0\"".to_string(), json!("b")),
            ("\"mail-0\"".to_string(), json!("c")),
        ]
    );
}

#[test]
fn interface_mappings_name_the_workflow_that_carries_out_an_operation() {
    let out = shop_substituted_by("split.yaml");
    assert_eq!(
        out["substitutions"]["shop-0"]["interfaces"],
        json!({"admin": {"backup": "save"}})
    );
}

#[test]
fn a_selectable_node_is_stood_in_for_by_the_substituted_nodes_target() {
    let out = shop_substituted_by("selectable.yaml");
    let ids: Vec<&str> = out["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().unwrap_or_default())
        .collect();
    // No instance of `box`: the shop's host, `machine`, is what the halves run on.
    assert!(!ids.iter().any(|id| id.contains("box")), "{ids:?}");
    assert_eq!(
        targets(node(&out, "shop-0.front-0"))[0],
        ("host", "machine-0")
    );
    assert_eq!(
        targets(node(&out, "shop-0.back-0")),
        [("host", "machine-0"), ("service", "shop-0.front-0")]
    );
    // Who used the shop's api now uses the front's.
    assert_eq!(
        targets(node(&out, "customer-0"))[1],
        ("service", "shop-0.front-0")
    );
}

#[test]
fn each_mapping_that_breaks_the_rules_is_reported_where_it_is_written() {
    let wrong = fixture("wrong.yaml");
    let out = khutulun(&["tosca", "validate", "--format", "json", &wrong]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let found: Vec<(String, u64)> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            let code = p["code"].as_str().unwrap_or_default().to_string();
            (code, p["line"].as_u64().unwrap_or_default())
        })
        .collect();
    let expected = [
        ("undeclared", 11),       // [CAPABILITY, nope, port]: no such capability
        ("wrong-kind", 12),       // a negative relationship index
        ("wrong-kind", 13),       // neither CAPABILITY nor RELATIONSHIP
        ("unknown-input", 14),    // no such input
        ("wrong-kind", 17),       // a mapping after [service, UNBOUNDED]
        ("not-selectable", 18),   // `front` has no select directive
        ("undeclared", 19),       // `front` has no requirement `nothing`
        ("wrong-kind", 20),       // a count that is neither a number nor UNBOUNDED
        ("undeclared", 23),       // `admin` has no operation `nothing`
        ("unknown-workflow", 24), // no such workflow
    ];
    let expected: Vec<(String, u64)> = expected
        .iter()
        .map(|(code, line)| (code.to_string(), *line))
        .collect();
    assert_eq!(found, expected);
}
