//! Directives through the facade: nested and repeated substitution, cycles, depth, CSAR
//! candidates, and `select` against an inventory built in Rust.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::MAX_DEPTH;
use crate::tosca::instance::select::Existing;
use crate::tosca::instance::{Expression, Instantiation, Inventory, NodeInstance, TypeRef};
use crate::tosca::loader::csar::Format;
use crate::tosca::loader::csar::tests::build;
use crate::tosca::{Options, Report, compile};

const TYPES: &str = "tosca_definitions_version: tosca_2_0
capability_types:
  Endpoint: {}
node_types:
  Store:
    properties:
      size: { type: integer, default: 1 }
      zone: { type: string, default: a }
    capabilities:
      endpoint: Endpoint
  Cache:
    derived_from: Store
  Disk:
    properties:
      bytes: { type: integer, default: 0 }
  User:
    requirements:
      - store:
          capability: Endpoint
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A service template importing the test types.
fn service(body: &str) -> String {
    format!(
        "tosca_definitions_version: tosca_2_0\nimports: [types.yaml]\nservice_template:\n{body}"
    )
}

fn compile_in(dir: &Path, entry: &str, substitutions: &[&str]) -> Report {
    compile_selecting(dir, entry, substitutions, Inventory::default())
}

/// Like [`compile_in`], with `select` picking from `inventory`.
fn compile_selecting(
    dir: &Path,
    entry: &str,
    substitutions: &[&str],
    inventory: Inventory,
) -> Report {
    write(dir, "types.yaml", TYPES);
    let options = Options {
        substitutions: substitutions.iter().map(|s| dir.join(s)).collect(),
        inventory,
        ..Options::default()
    };
    compile(&dir.join(entry).display().to_string(), &options)
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.problems.iter().map(|p| p.code).collect()
}

fn instantiate(report: &Report) -> Result<Instantiation, Vec<String>> {
    assert!(report.is_valid(), "{}", report.render_text());
    report
        .compiled
        .as_ref()
        .expect("compiled")
        .instantiate()
        .map_err(|p| {
            p.iter()
                .map(|p| format!("{}: {}", p.code, p.message))
                .collect()
        })
}

fn ids(inst: &Instantiation) -> Vec<&str> {
    inst.nodes.iter().map(|n| n.id.as_str()).collect()
}

/// `store.yaml` substitutes a Store by a Cache (to substitute again) and a Disk sized from
/// the Store's size; `cache.yaml` substitutes a Cache by a Disk.
fn nested(dir: &Path) {
    write(
        dir,
        "store.yaml",
        &service(
            "  inputs:\n    size: { type: integer }\n  node_templates:\n    cache:\n      type: Cache\n      directives: [ substitute ]\n      properties: { size: { $get_input: size } }\n    disk:\n      type: Disk\n      properties: { bytes: { $get_input: size } }\n  substitution_mappings:\n    node_type: Store\n    properties: { size: size }\n    capabilities: { endpoint: [ cache, endpoint ] }\n",
        ),
    );
    write(
        dir,
        "cache.yaml",
        &service(
            "  inputs:\n    size: { type: integer }\n  node_templates:\n    ram:\n      type: Disk\n      properties: { bytes: { $get_input: size } }\n  substitution_mappings:\n    node_type: Cache\n    substitution_filter: { $less_than: [ { $get_property: [ SELF, size ] }, 100 ] }\n    properties: { size: size }\n",
        ),
    );
}

#[test]
fn substitution_nests_and_each_instance_gets_its_own_prefix() {
    let dir = tempfile::tempdir().unwrap();
    nested(dir.path());
    write(
        dir.path(),
        "main.yaml",
        &service(
            "  node_templates:\n    db:\n      type: Store\n      count: 2\n      directives: [ substitute ]\n      properties: { size: { $sum: [ 10, $node_index ] } }\n",
        ),
    );
    let report = compile_in(dir.path(), "main.yaml", &["store.yaml", "cache.yaml"]);
    let inst = instantiate(&report).unwrap();
    assert_eq!(
        ids(&inst),
        [
            "db-0.cache-0.ram-0",
            "db-0.disk-0",
            "db-1.cache-0.ram-0",
            "db-1.disk-0"
        ]
    );
    // Each instance's own property value reached its substitute, through two levels.
    let bytes =
        |id: &str| inst.nodes.iter().find(|n| n.id == id).unwrap().properties["bytes"].clone();
    assert_eq!(bytes("db-0.cache-0.ram-0"), Expression::Resolved(10.into()));
    assert_eq!(bytes("db-1.cache-0.ram-0"), Expression::Resolved(11.into()));
    assert_eq!(bytes("db-1.disk-0"), Expression::Resolved(11.into()));
    let nested = &inst.substitutions["db-1.cache-0"];
    assert_eq!(nested.template, "db-1.cache");
    assert_eq!(nested.nodes, ["db-1.cache-0.ram-0"]);
    assert_eq!(inst.substitutions["db-0"].nodes.len(), 2);
}

#[test]
fn a_substitution_filter_chooses_between_candidates() {
    let dir = tempfile::tempdir().unwrap();
    nested(dir.path());
    // A Cache of 500 fails cache.yaml's filter; a big-cache.yaml without a filter takes it.
    write(
        dir.path(),
        "big-cache.yaml",
        &service(
            "  node_templates:\n    ssd:\n      type: Disk\n  substitution_mappings:\n    node_type: Cache\n",
        ),
    );
    write(
        dir.path(),
        "main.yaml",
        &service(
            "  node_templates:\n    small:\n      type: Cache\n      directives: [ substitute ]\n      properties: { size: 5 }\n    big:\n      type: Cache\n      directives: [ substitute ]\n      properties: { size: 500 }\n",
        ),
    );
    let report = compile_in(dir.path(), "main.yaml", &["cache.yaml", "big-cache.yaml"]);
    let inst = instantiate(&report).unwrap();
    assert_eq!(ids(&inst), ["small-0.ram-0", "big-0.ssd-0"]);
    assert!(inst.substitutions["big-0"].file.ends_with("big-cache.yaml"));
}

#[test]
fn a_cycle_through_two_templates_is_found() {
    let dir = tempfile::tempdir().unwrap();
    // store.yaml's Cache goes to loop.yaml, whose Store goes back to store.yaml.
    write(
        dir.path(),
        "store.yaml",
        &service(
            "  inputs:\n    size: { type: integer }\n  node_templates:\n    cache:\n      type: Cache\n      directives: [ substitute ]\n  substitution_mappings:\n    node_type: Store\n    properties: { size: size }\n",
        ),
    );
    write(
        dir.path(),
        "loop.yaml",
        &service(
            "  node_templates:\n    again:\n      type: Store\n      directives: [ substitute, create ]\n  substitution_mappings:\n    node_type: Cache\n",
        ),
    );
    write(
        dir.path(),
        "main.yaml",
        &service(
            "  node_templates:\n    db:\n      type: Store\n      directives: [ substitute ]\n",
        ),
    );
    let report = compile_in(dir.path(), "main.yaml", &["store.yaml", "loop.yaml"]);
    let problems = instantiate(&report).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("substitution-cycle"),
        "{problems:#?}"
    );
    assert!(
        problems[0].contains("store.yaml → ") && problems[0].contains("loop.yaml → "),
        "{problems:#?}"
    );
}

#[test]
fn substitution_depth_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // Types L0 … Ln, each Lk substituted by a template holding one Lk+1 to substitute.
    let levels = MAX_DEPTH + 2;
    let mut types = String::from("tosca_definitions_version: tosca_2_0\nnode_types:\n");
    for k in 0..=levels {
        types.push_str(&format!("  L{k}: {{}}\n"));
    }
    write(dir.path(), "levels.yaml", &types);
    let mut files = Vec::new();
    for k in 0..levels {
        let name = format!("l{k}.yaml");
        write(
            dir.path(),
            &name,
            &format!(
                "tosca_definitions_version: tosca_2_0\nimports: [levels.yaml]\nservice_template:\n  node_templates:\n    n:\n      type: L{}\n      directives: [ substitute ]\n  substitution_mappings:\n    node_type: L{k}\n",
                k + 1
            ),
        );
        files.push(name);
    }
    write(
        dir.path(),
        "main.yaml",
        "tosca_definitions_version: tosca_2_0\nimports: [levels.yaml]\nservice_template:\n  node_templates:\n    top:\n      type: L0\n      directives: [ substitute ]\n",
    );
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let report = compile_in(dir.path(), "main.yaml", &names);
    let problems = instantiate(&report).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("substitution-too-deep"),
        "{problems:#?}"
    );
}

#[test]
fn a_file_without_substitution_mappings_is_no_candidate() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "plain.yaml",
        &service("  node_templates:\n    d:\n      type: Disk\n"),
    );
    write(
        dir.path(),
        "main.yaml",
        &service("  node_templates:\n    d:\n      type: Disk\n"),
    );
    let report = compile_in(dir.path(), "main.yaml", &["plain.yaml"]);
    assert_eq!(codes(&report), ["not-substituting"]);
}

#[test]
fn a_csars_other_definitions_are_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let meta = "CSAR-Version: 2.0\nCreated-By: test\nEntry-Definitions: main.yaml\nOther-Definitions: cache.yaml\n";
    let cache = service(
        "  node_templates:\n    ram:\n      type: Disk\n  substitution_mappings:\n    node_type: Cache\n",
    );
    let main =
        service("  node_templates:\n    c:\n      type: Cache\n      directives: [ substitute ]\n");
    let files = [
        ("TOSCA.meta", meta),
        ("types.yaml", TYPES),
        ("cache.yaml", cache.as_str()),
        ("main.yaml", main.as_str()),
    ];
    let path = write(dir.path(), "app.csar", "");
    std::fs::write(&path, build(Format::Zip, &files)).unwrap();
    let report = compile(&path.display().to_string(), &Options::default());
    let inst = instantiate(&report).unwrap();
    assert_eq!(ids(&inst), ["c-0.ram-0"]);
    assert!(inst.substitutions["c-0"].file.ends_with("!/cache.yaml"));
}

fn existing(service: &str, id: &str, type_name: &str, zone: &str) -> Existing {
    Existing {
        service: service.into(),
        node: NodeInstance {
            id: id.into(),
            types: vec![TypeRef {
                profile: None,
                name: type_name.into(),
            }],
            properties: IndexMap::from([("zone".into(), Expression::Resolved(zone.into()))]),
            ..NodeInstance::bare(id, 0)
        },
    }
}

#[test]
fn select_takes_the_first_node_of_the_type_its_filter_accepts() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.yaml",
        &service(
            "  node_templates:\n    s:\n      type: Store\n      directives: [ select ]\n      node_filter: { $equal: [ { $get_property: [ SELF, zone ] }, b ] }\n    u:\n      type: User\n      requirements: [ { store: s } ]\n",
        ),
    );
    let inventory = Inventory {
        nodes: vec![
            existing("other", "disk-0", "Disk", "b"),
            existing("other", "a-0", "Store", "a"),
            existing("third", "b-0", "Store", "b"),
            existing("third", "b-1", "Store", "b"),
        ],
    };
    let report = compile_selecting(dir.path(), "main.yaml", &[], inventory);
    let inst = instantiate(&report).unwrap();
    let s = &inst.nodes[0];
    assert_eq!(s.id, "s-0");
    let from = s.selected_from.as_ref().expect("selected");
    assert_eq!(
        (from.service.as_str(), from.instance.as_str()),
        ("third", "b-0")
    );
    assert_eq!(inst.nodes[1].relationships[0].target, "s-0");
    // Without a match and without a fallback, the node cannot be realised.
    let report = compile_in(dir.path(), "main.yaml", &[]);
    let problems = instantiate(&report).unwrap_err();
    assert!(
        problems[0].starts_with("unrealisable-node"),
        "{problems:#?}"
    );
    assert!(problems[0].contains("inventory"), "{problems:#?}");
}

#[test]
fn fulfilment_and_evaluation_see_the_selected_nodes_values() {
    let dir = tempfile::tempdir().unwrap();
    // The template says zone a; only the chosen node's zone b passes the consumer's filter,
    // and the consumer's size is read from the selected node.
    write(
        dir.path(),
        "main.yaml",
        &service(
            "  node_templates:\n    s:\n      type: Store\n      directives: [ select, create ]\n      properties: { zone: a, size: 1 }\n    u:\n      type: User\n      requirements:\n        - store:\n            node: s\n            node_filter: { $equal: [ { $get_property: [ SELF, TARGET, zone ] }, b ] }\n    d:\n      type: Disk\n      properties: { bytes: { $get_property: [ s, size ] } }\n",
        ),
    );
    let mut chosen = existing("producer", "big-0", "Store", "b");
    chosen
        .node
        .properties
        .insert("size".into(), Expression::Resolved(64.into()));
    let inventory = Inventory {
        nodes: vec![chosen],
    };
    let report = compile_selecting(dir.path(), "main.yaml", &[], inventory);
    let inst = instantiate(&report).unwrap();
    let s = &inst.nodes[0];
    assert_eq!(
        s.selected_from.as_ref().map(|f| f.instance.as_str()),
        Some("big-0")
    );
    let u = inst.nodes.iter().find(|n| n.id == "u-0").unwrap();
    assert_eq!(u.relationships.len(), 1);
    assert_eq!(u.relationships[0].target, "s-0");
    let d = inst.nodes.iter().find(|n| n.id == "d-0").unwrap();
    assert_eq!(d.properties["bytes"], Expression::Resolved(64.into()));
    // With nothing to select, `s` is created with the template's zone a, which the
    // consumer's filter turns down.
    let report = compile_in(dir.path(), "main.yaml", &[]);
    assert_eq!(
        codes(&report),
        ["unfulfilled-requirement"],
        "{}",
        report.render_text()
    );
}

#[test]
fn the_substituted_nodes_attributes_come_from_its_substitutes_outputs() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tosca/directives");
    let options = Options {
        substitutions: vec![fixtures.join("database.yaml")],
        ..Options::default()
    };
    let report = compile(&fixtures.join("app.yaml").display().to_string(), &options);
    let inst = instantiate(&report).unwrap();
    // An output known at instantiation.
    let none = |_: &str, _: &str| None;
    assert_eq!(
        inst.resolve(&inst.outputs["db_url"], None, &none),
        Ok("mysql://mysqld".into())
    );
    // An output that waits for the inner node's runtime attribute.
    let address = |id: &str, name: &str| {
        (id == "db-0.mysqld-0" && name == "address").then(|| "10.0.0.7".into())
    };
    assert_eq!(
        inst.resolve(&inst.outputs["db_address"], None, &address),
        Ok("10.0.0.7".into())
    );
    assert!(
        inst.resolve(&inst.outputs["db_address"], None, &none)
            .is_err()
    );
    // The substituted node is SELF-addressable by its instance id.
    let size = Expression::Deferred(serde_json::json!({"$get_property": ["SELF", "size"]}));
    assert_eq!(inst.resolve(&size, Some("db-0"), &none), Ok(20.into()));
}

#[test]
fn a_required_input_no_property_maps_is_a_problem_of_the_candidate() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cache.yaml",
        &service(
            "  inputs:\n    size: { type: integer }\n    zone: { type: string, default: a }\n  node_templates:\n    ram:\n      type: Disk\n      properties: { bytes: { $get_input: size } }\n  substitution_mappings:\n    node_type: Cache\n",
        ),
    );
    write(
        dir.path(),
        "main.yaml",
        &service("  node_templates:\n    d:\n      type: Disk\n"),
    );
    let report = compile_in(dir.path(), "main.yaml", &["cache.yaml"]);
    assert_eq!(
        codes(&report),
        ["unmapped-input"],
        "{}",
        report.render_text()
    );
    assert!(report.render_text().contains("input `size`"));
}

#[test]
fn a_fallback_to_create_must_be_complete_after_all() {
    let dir = tempfile::tempdir().unwrap();
    // `size` has a default, so only the requirement is missing for the created User; the
    // selecting Disk lacks nothing; a Needy lacks its required `name`.
    write(
        dir.path(),
        "needy.yaml",
        "tosca_definitions_version: tosca_2_0\nimports: [types.yaml]\nnode_types:\n  Needy:\n    properties:\n      name: { type: string }\n",
    );
    write(
        dir.path(),
        "main.yaml",
        "tosca_definitions_version: tosca_2_0\nimports: [types.yaml, needy.yaml]\nservice_template:\n  node_templates:\n    u:\n      type: User\n      directives: [ substitute, create ]\n      requirements: [ { store: { node: Store } } ]\n    n:\n      type: Needy\n      directives: [ select, create ]\n",
    );
    let report = compile_in(dir.path(), "main.yaml", &[]);
    let problems = instantiate(&report).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("unfulfilled-requirement") && p.contains("`store` of `u`")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("missing-property") && p.contains("`name`")),
        "{problems:#?}"
    );
}

#[test]
fn a_requirement_the_substitute_maps_must_be_fulfilled() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "user.yaml",
        &service(
            "  node_templates:\n    inner:\n      type: User\n  substitution_mappings:\n    node_type: User\n    requirements:\n      - store: [ inner, store ]\n",
        ),
    );
    write(
        dir.path(),
        "main.yaml",
        &service(
            "  node_templates:\n    u:\n      type: User\n      directives: [ substitute ]\n      requirements: [ { store: { node: Store } } ]\n",
        ),
    );
    let report = compile_in(dir.path(), "main.yaml", &["user.yaml"]);
    let problems = instantiate(&report).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("unfulfilled-requirement")
            && problems[0].contains("user.yaml maps it to one of its nodes"),
        "{problems:#?}"
    );
}

#[test]
fn a_substituted_nodes_capability_attribute_comes_from_the_output_mapped_to_it() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tosca/substitution");
    let options = Options {
        substitutions: vec![fixtures.join("split.yaml")],
        ..Options::default()
    };
    let report = compile(&fixtures.join("shop.yaml").display().to_string(), &options);
    let inst = instantiate(&report).unwrap();
    let none = |_: &str, _: &str| None;
    let url = |capability: &str| {
        Expression::Deferred(serde_json::json!({
            "$get_attribute": ["shop", "CAPABILITY", capability, "url"]
        }))
    };
    assert_eq!(
        inst.resolve(&url("api"), None, &none),
        Ok("http://corner".into())
    );
    assert!(inst.resolve(&url("nothing"), None, &none).is_err());
}
