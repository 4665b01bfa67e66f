//! Artifacts and interfaces carried into instances, and `$get_artifact` answered the same at
//! compile time, at instantiation and at runtime; through the facade, on real files.

use std::path::Path;

use serde_json::json;

use crate::tosca::instance::{
    ArtifactLocation, ArtifactRef, Expression, Instantiation, NodeInstance, Resolver,
};
use crate::tosca::problem::Problems;
use crate::tosca::{Options, Report, compile};

const TYPES: &str = "tosca_definitions_version: tosca_2_0
artifact_types:
  Root: {}
  Script:
    derived_from: Root
    properties:
      shell: { type: string, default: sh }
interface_types:
  Lifecycle:
    inputs:
      mode: { type: string, default: slow }
    operations:
      create:
        inputs:
          port: { type: integer, default: 80 }
      delete: {}
    notifications:
      crashed:
        outputs:
          reason: { type: string }
  Configure:
    operations:
      pre_configure_source: {}
relationship_types:
  Uses:
    interfaces:
      Configure:
        type: Configure
node_types:
  App:
    properties:
      name: { type: string, default: app }
      mixed: { type: string, required: false }
      copied: { type: string, required: false }
      tool_path: { type: string, required: false }
    attributes:
      host: { type: string }
    capabilities:
      feature: { type: Feature }
    requirements:
      - peer: { capability: Feature, relationship: Uses, count_range: [ 0, 1 ] }
    artifacts:
      tool: { type: Script, file: bin/tool.sh }
    interfaces:
      Standard:
        type: Lifecycle
        operations:
          delete: delete.sh
capability_types:
  Feature: {}
";

/// Writes the type file and a service file importing it in a fresh directory, compiles
/// with the service's `node_templates` and `outputs`, and instantiates.
fn instantiate(service: &str) -> (tempfile::TempDir, Result<Instantiation, Problems>) {
    let (dir, report) = compile_service(service);
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {} ({})", p.code, p.message, p.path))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let compiled = report.compiled.expect("compiled");
    (dir, compiled.instantiate())
}

/// Writes the type file and a service file importing it in a fresh directory, and compiles.
fn compile_service(service: &str) -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("types")).unwrap();
    std::fs::write(dir.path().join("types/app.yaml"), TYPES).unwrap();
    let text = format!(
        "tosca_definitions_version: tosca_2_0\nimports:\n  - types/app.yaml\nservice_template:\n{service}"
    );
    let entry = dir.path().join("service.yaml");
    std::fs::write(&entry, text).unwrap();
    let report = compile(&entry.display().to_string(), &Options::default());
    (dir, report)
}

/// The directory as the loader names it (symbolic links resolved).
fn real(dir: &Path) -> String {
    std::fs::canonicalize(dir).unwrap().display().to_string()
}

fn node<'a>(inst: &'a Instantiation, id: &str) -> &'a NodeInstance {
    inst.nodes
        .iter()
        .find(|n| n.id == id)
        .expect("the instance")
}

fn no_attributes(_: &str, _: &str) -> Option<serde_json::Value> {
    None
}

#[test]
fn artifacts_are_located_against_the_file_that_declares_them() {
    let (dir, inst) = instantiate(
        "  node_templates:
    app:
      type: App
      properties:
        tool_path: { $get_artifact: [ SELF, tool ] }
      artifacts:
        conf:
          type: Script
          file: conf/app.conf
          artifact_version: '2'
          checksum: abc123
          checksum_algorithm: SHA-256
          properties: { shell: { $concat: [ ba, sh ] } }
  outputs:
    tool: { value: { $get_artifact: [ app, tool ] } }
",
    );
    let inst = inst.expect("instantiates");
    let root = real(dir.path());
    let app = node(&inst, "app-0");
    // The type's artifact resolves against the type file's directory, the template's
    // against the service file's.
    let tool = &app.artifacts["tool"];
    assert_eq!(
        tool.location,
        ArtifactLocation::File {
            path: format!("{root}/types/bin/tool.sh")
        }
    );
    assert_eq!(tool.file, "bin/tool.sh");
    assert_eq!(
        tool.types
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["Script", "Root"]
    );
    assert_eq!(tool.properties["shell"], Expression::Resolved(json!("sh")));
    let conf = &app.artifacts["conf"];
    assert_eq!(conf.location.to_string(), format!("{root}/conf/app.conf"));
    assert_eq!(conf.artifact_version.as_deref(), Some("2"));
    assert_eq!(conf.checksum.as_deref(), Some("abc123"));
    assert_eq!(conf.checksum_algorithm.as_deref(), Some("SHA-256"));
    assert_eq!(
        conf.properties["shell"],
        Expression::Resolved(json!("bash"))
    );
    // Compile time (the output), instantiation (the property) and the runtime agree.
    let located = json!(format!("{root}/types/bin/tool.sh"));
    assert_eq!(inst.outputs["tool"], Expression::Resolved(located.clone()));
    assert_eq!(
        app.properties["tool_path"],
        Expression::Resolved(located.clone())
    );
    let asked = Expression::Deferred(json!({ "$get_artifact": [ "SELF", "tool" ] }));
    assert_eq!(
        inst.resolve(&asked, Some("app-0"), &no_attributes),
        Ok(located)
    );
}

#[test]
fn a_deferred_expression_mixing_attributes_and_artifacts_resolves_at_runtime() {
    let (dir, inst) = instantiate(
        "  node_templates:
    app:
      type: App
      properties:
        mixed: { $concat: [ { $get_attribute: [ SELF, host ] }, ':', { $get_artifact: [ SELF, tool ] } ] }
",
    );
    let inst = inst.expect("instantiates");
    let mixed = node(&inst, "app-0").properties["mixed"].clone();
    assert!(matches!(mixed, Expression::Deferred(_)), "{mixed:?}");
    // The stored form survives the store (JSON) and still resolves.
    let stored: Instantiation =
        serde_json::from_str(&serde_json::to_string(&inst).unwrap()).unwrap();
    let resolver = Resolver::new(&stored);
    let attributes =
        |id: &str, name: &str| (id == "app-0" && name == "host").then(|| json!("10.0.0.7"));
    assert_eq!(
        resolver.resolve(&mixed, Some("app-0"), &attributes),
        Ok(json!(format!(
            "10.0.0.7:{}/types/bin/tool.sh",
            real(dir.path())
        )))
    );
}

#[test]
fn get_artifact_asking_for_a_copy_answers_its_path_or_says_why_not() {
    // On SELF, a copy is asked for: the value is its path, and the instance records it…
    let (_dir, inst) = instantiate(
        "  node_templates:
    app:
      type: App
      properties:
        tool_path: { $get_artifact: [ SELF, tool, /tmp/tool.sh, true ] }
",
    );
    let inst = inst.expect("instantiates");
    let app = &inst.nodes[0];
    assert_eq!(
        app.properties["tool_path"],
        Expression::Resolved(json!("/tmp/tool.sh"))
    );
    assert_eq!(app.artifact_copies.len(), 1);
    assert!(app.artifact_copies[0].remove);
    // …through another template it is refused when the value is evaluated…
    let (_dir, inst) = instantiate(
        "  node_templates:
    app: { type: App }
    other:
      type: App
      properties:
        tool_path: { $get_artifact: [ app, tool, /tmp/tool.sh ] }
",
    );
    let problems = inst.expect_err("a copy for another node");
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("for the node that asks for it")),
        "{messages:?}"
    );
    // …and the runtime answers a deferred one alike, or refuses a location that is no path.
    let (_dir, inst) = instantiate("  node_templates:\n    app: { type: App }\n");
    let inst = inst.expect("instantiates");
    let attributes = |_: &str, _: &str| Some(json!("h"));
    let copy = |location: &str| {
        Expression::Deferred(json!({ "$concat": [
            { "$get_attribute": [ "SELF", "host" ] },
            { "$get_artifact": [ "SELF", "tool", location ] },
        ] }))
    };
    let resolved = inst.resolve(&copy("/tmp/tool.sh"), Some("app-0"), &attributes);
    assert_eq!(resolved, Ok(json!("h/tmp/tool.sh")));
    let error = inst
        .resolve(&copy("LOCAL_FILE"), Some("app-0"), &attributes)
        .expect_err("not a path");
    assert!(error.contains("absolute path"), "{error}");
}

#[test]
fn get_artifact_on_self_must_name_an_artifact_of_the_node() {
    let (_dir, report) = compile_service(
        "  node_templates:
    app:
      type: App
      properties:
        tool_path: { $get_artifact: [ SELF, tol ] }
",
    );
    let found: Vec<(&str, &str)> = report
        .problems
        .iter()
        .map(|p| (p.code, p.message.as_str()))
        .collect();
    assert!(
        matches!(&found[..], [("unknown-artifact", m)] if m.contains("`tol`") && m.contains("tool")),
        "{found:?}"
    );
}

#[test]
fn interfaces_carry_inputs_and_implementations_into_instances() {
    let (dir, inst) = instantiate(
        "  node_templates:
    db: { type: App, properties: { name: db } }
    app:
      type: App
      requirements:
        - peer:
            node: db
            relationship:
              type: Uses
              interfaces:
                Configure:
                  operations:
                    pre_configure_source:
                      implementation: link.sh
                      inputs:
                        target_name: { $get_property: [ SELF, TARGET, name ] }
                        target_host: { $get_attribute: [ SELF, TARGET, host ] }
      interfaces:
        Standard:
          inputs:
            mode: fast
          operations:
            create:
              implementation:
                primary: tool
                dependencies: [ lib/common.sh ]
                timeout: 30
              inputs:
                address: { $get_attribute: [ SELF, host ] }
                tool: { $get_artifact: [ SELF, tool ] }
              outputs:
                bound: [ SELF, host ]
",
    );
    let inst = inst.expect("instantiates");
    let root = real(dir.path());
    let app = node(&inst, "app-0");
    let standard = &app.interfaces["Standard"];
    assert_eq!(standard.types[0].name, "Lifecycle");
    assert_eq!(standard.inputs["mode"], Expression::Resolved(json!("fast")));
    assert_eq!(
        standard.operations.keys().collect::<Vec<_>>(),
        ["create", "delete"]
    );
    assert!(standard.notifications.contains_key("crashed"));
    assert_eq!(
        standard.operations["create"].outputs["bound"],
        json!(["SELF", "host"])
    );
    let create = &standard.operations["create"];
    let implementation = create.implementation.as_ref().expect("implemented");
    assert_eq!(
        implementation.primary,
        Some(ArtifactRef::Artifact("tool".into()))
    );
    assert_eq!(implementation.timeout, Some(30));
    match &implementation.dependencies[..] {
        [ArtifactRef::Inline(lib)] => {
            assert_eq!(lib.location.to_string(), format!("{root}/lib/common.sh"));
            assert!(lib.types.is_empty());
        }
        other => panic!("one inline dependency, not {other:?}"),
    }
    // The type's input default and the template's inputs; the attribute waits.
    assert_eq!(create.inputs["port"], Expression::Resolved(json!(80)));
    assert_eq!(
        create.inputs["tool"],
        Expression::Resolved(json!(format!("{root}/types/bin/tool.sh")))
    );
    let address = &create.inputs["address"];
    assert!(matches!(address, Expression::Deferred(_)), "{address:?}");
    let attributes = |id: &str, name: &str| (id == "app-0" && name == "host").then(|| json!("h7"));
    assert_eq!(
        inst.resolve(address, Some("app-0"), &attributes),
        Ok(json!("h7"))
    );
    // The type's implementation, located against the type file.
    let delete = standard.operations["delete"].implementation.as_ref();
    match delete.and_then(|i| i.primary.as_ref()) {
        Some(ArtifactRef::Inline(script)) => assert_eq!(
            script.location.to_string(),
            format!("{root}/types/delete.sh")
        ),
        other => panic!("delete.sh, not {other:?}"),
    }
    // The relationship's interface, evaluated with SELF the relationship.
    let configure = &app.relationships[0].interfaces["Configure"];
    let pre = &configure.operations["pre_configure_source"];
    assert_eq!(pre.inputs["target_name"], Expression::Resolved(json!("db")));
    let target_host = &pre.inputs["target_host"];
    assert!(
        matches!(target_host, Expression::Deferred(_)),
        "{target_host:?}"
    );
    let hosts = |id: &str, name: &str| (name == "host").then(|| json!(format!("host-of-{id}")));
    assert_eq!(
        Resolver::new(&inst).resolve_on_relationship(target_host, "app-0", 0, &hosts),
        Ok(json!("host-of-db-0"))
    );
    match pre.implementation.as_ref().and_then(|i| i.primary.as_ref()) {
        Some(ArtifactRef::Inline(script)) => {
            assert_eq!(script.location.to_string(), format!("{root}/link.sh"))
        }
        other => panic!("link.sh, not {other:?}"),
    }
}

#[test]
fn instances_stored_before_artifacts_and_interfaces_still_load() {
    let stored = json!({
        "id": "web-0", "template": "web", "index": 0, "types": [],
        "properties": {}, "attributes": {}, "capabilities": {},
        "relationships": [ {
            "requirement": "host", "target": "box-0", "capability": "host", "index": 0,
            "types": [], "properties": {}, "attributes": {}
        } ],
        "directives": []
    });
    let node: NodeInstance = serde_json::from_value(stored.clone()).expect("loads");
    assert!(node.artifacts.is_empty() && node.interfaces.is_empty());
    assert!(node.relationships[0].interfaces.is_empty());
    // And an instance without them is written as before.
    assert_eq!(serde_json::to_value(&node).unwrap(), stored);
}

#[test]
fn artifacts_in_a_csar_name_the_archive_and_the_inner_path() {
    use crate::tosca::loader::csar::Format;
    use crate::tosca::loader::csar::tests::build;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let meta = "CSAR-Version: 2.0\nCreated-By: test\nEntry-Definitions: defs/service.yaml\n";
    let service = "tosca_definitions_version: tosca_2_0
imports:
  - /types/app.yaml
service_template:
  node_templates:
    app:
      type: App
      artifacts:
        conf: { type: Script, file: ../files/app.conf }
";
    let files = [
        ("TOSCA.meta", meta),
        ("types/app.yaml", TYPES),
        ("defs/service.yaml", service),
        ("types/bin/tool.sh", "#!/bin/sh\n"),
        ("files/app.conf", "x=1\n"),
    ];
    let archive = dir.path().join("app.csar");
    std::fs::write(&archive, build(Format::Zip, &files)).unwrap();
    let report = compile(&archive.display().to_string(), &Options::default());
    assert!(report.problems.is_empty(), "{}", report.render_text());
    let inst = report
        .compiled
        .expect("compiled")
        .instantiate()
        .expect("instantiates");
    let archive = std::fs::canonicalize(&archive)
        .unwrap()
        .display()
        .to_string();
    let app = node(&inst, "app-0");
    assert_eq!(
        app.artifacts["tool"].location,
        ArtifactLocation::Archive {
            archive: archive.clone(),
            path: "/types/bin/tool.sh".into()
        }
    );
    assert_eq!(
        app.artifacts["conf"].location.to_string(),
        format!("{archive}!/files/app.conf")
    );
}

#[test]
fn literal_inputs_are_checked_against_their_definitions() {
    let (_dir, report) = compile_service(
        "  node_templates:
    app:
      type: App
      interfaces:
        Standard:
          inputs:
            mode: [ not, a, string ]
            extra: anything
          operations:
            create:
              inputs:
                port: eighty
                computed: { $concat: [ a, b ] }
",
    );
    let mut found: Vec<(&str, &str)> = report
        .problems
        .iter()
        .map(|p| (p.code, p.path.as_str()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (
                "wrong-type",
                "service_template.node_templates.app.interfaces.Standard.inputs.mode"
            ),
            (
                "wrong-type",
                "service_template.node_templates.app.interfaces.Standard.operations.create.inputs.port"
            ),
        ]
    );
}

#[test]
fn computed_inputs_are_checked_against_their_definitions() {
    let (_dir, inst) = instantiate(
        "  node_templates:
    app:
      type: App
      interfaces:
        Standard:
          operations:
            create:
              inputs:
                port: { $concat: [ '80', '80' ] }
",
    );
    let problems = inst.expect_err("a string is no port");
    let found: Vec<(&str, &str)> = problems.iter().map(|p| (p.code, p.path.as_str())).collect();
    assert_eq!(
        found,
        [(
            "wrong-type",
            "service_template.node_templates.app.interfaces.Standard.operations.create.inputs.port"
        )]
    );
    let (_dir, inst) = instantiate(
        "  node_templates:
    app:
      type: App
      interfaces:
        Standard:
          operations:
            create:
              inputs:
                port: { $sum: [ 8000, 80 ] }
",
    );
    let inst = inst.expect("an integer is a port");
    let create = &node(&inst, "app-0").interfaces["Standard"].operations["create"];
    assert_eq!(create.inputs["port"], Expression::Resolved(json!(8080)));
}

#[test]
fn template_artifact_properties_follow_their_artifact_type() {
    let (_dir, report) = compile_service(
        "  node_templates:
    app:
      type: App
      artifacts:
        conf: { type: Script, file: a.conf, properties: { shell: [ 1 ], nope: x } }
        tool: { file: other.sh, properties: { shell: 5 } }
",
    );
    let mut found: Vec<(&str, &str)> = report
        .problems
        .iter()
        .map(|p| (p.code, p.path.as_str()))
        .collect();
    found.sort();
    let at = "service_template.node_templates.app.artifacts";
    assert_eq!(
        found,
        [
            ("undeclared", format!("{at}.conf.properties.nope").as_str()),
            ("wrong-type", format!("{at}.conf.properties.shell").as_str()),
            ("wrong-type", format!("{at}.tool.properties.shell").as_str()),
        ]
    );
    let (_dir, inst) = instantiate(
        "  node_templates:
    app:
      type: App
      artifacts:
        conf: { type: Script, file: a.conf, properties: { shell: { $sum: [ 1, 2 ] } } }
",
    );
    let problems = inst.expect_err("a number is no shell");
    let found: Vec<(&str, &str)> = problems.iter().map(|p| (p.code, p.path.as_str())).collect();
    assert_eq!(
        found,
        [("wrong-type", format!("{at}.conf.properties.shell").as_str())]
    );
}
