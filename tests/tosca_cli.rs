//! `khutulun tosca` as a user runs it: the real binary on fixture files.

#[path = "support/tosca_cli.rs"]
mod support;
#[path = "support/web_server.rs"]
mod web_server;

use web_server::WebServer;

use std::path::PathBuf;

use support::{fixture, instantiate, khutulun, node, text};

#[test]
fn a_valid_file_validates_with_exit_code_0() {
    let out = khutulun(&["tosca", "validate", &fixture("web.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn an_invalid_file_exits_1_with_its_location() {
    let file = fixture("invalid.yaml");
    let out = khutulun(&["tosca", "validate", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{file}:13:15")), "{stderr}");
    assert!(
        stderr.contains("service_template.node_templates.server.properties.port"),
        "{stderr}"
    );
    assert!(stderr.contains("port: eighty"), "{stderr}");
}

#[test]
fn json_problems_name_file_line_and_column() {
    let out = khutulun(&[
        "tosca",
        "validate",
        "--format",
        "json",
        &fixture("invalid.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["valid"], false);
    assert_eq!(json["problems"][0]["line"], 13);
    assert_eq!(json["problems"][0]["column"], 15);
}

#[test]
fn a_missing_file_exits_2() {
    let out = khutulun(&["tosca", "validate", "/nonexistent/service.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = khutulun(&["tosca", "compile", "/nonexistent/service.yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_arguments_exit_2() {
    let out = khutulun(&["tosca", "validate", "--format", "xml", &fixture("web.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    let out = khutulun(&[
        "tosca",
        "compile",
        "--input",
        "no-equals-sign",
        &fixture("web.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compile_draws_the_topology_as_dot() {
    let out = khutulun(&["tosca", "compile", "--format", "dot", &fixture("web.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("\"server\" [label="), "{dot}");
    assert!(dot.contains("\"web\" -> \"server\""), "{dot}");
}

#[test]
fn compile_prints_inputs_and_outputs() {
    let out = khutulun(&[
        "tosca",
        "compile",
        "--format",
        "json",
        "--input",
        "replicas=3",
        &fixture("web.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["inputs"]["replicas"], 3);
    assert_eq!(json["node_templates"]["web"]["count"], 3);
    assert!(json["outputs"]["first_address"]["$deferred"].is_object());
}

#[test]
fn instantiate_pairs_instances_and_evaluates_values() {
    let web = fixture("web.yaml");
    let json = instantiate(&web, &["--input", "replicas=2", "--input", "site=west"]);
    let nodes = json["nodes"].as_array().expect("nodes");
    let web1 = nodes.iter().find(|n| n["id"] == "web-1").expect("web-1");
    assert_eq!(web1["relationships"][0]["target"], "server-1");
    assert_eq!(web1["properties"]["server"]["resolved"], "srv-west");
}

#[test]
fn inputs_file_and_input_flags_combine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = dir.path().join("inputs.yaml");
    std::fs::write(&inputs, "replicas: 4\nsite: north\n").expect("write inputs");
    let out = khutulun(&[
        "tosca",
        "compile",
        "--format",
        "json",
        "--inputs-file",
        &inputs.display().to_string(),
        "--input",
        "replicas=1",
        &fixture("web.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["inputs"]["replicas"], 1);
    assert_eq!(json["inputs"]["site"], "north");
}

#[test]
fn an_unfulfillable_requirement_fails_compile_but_not_validate() {
    let file = fixture("unfulfilled.yaml");
    assert_eq!(
        khutulun(&["tosca", "validate", &file]).status.code(),
        Some(0)
    );
    let out = khutulun(&["tosca", "compile", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unfulfilled-requirement"));
}

#[test]
fn instantiate_as_dot_draws_instances() {
    let out = khutulun(&[
        "tosca",
        "compile",
        "--instantiate",
        "--format",
        "dot",
        "--input",
        "replicas=2",
        &fixture("web.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dot = text(&out.stdout);
    assert!(dot.contains("\"web-1\" -> \"server-1\""), "{dot}");
    assert!(dot.contains("\"web-0\" -> \"server-0\""), "{dot}");
    assert_eq!(dot.matches("->").count(), 2, "{dot}");
}

#[test]
fn the_topology_shows_values_the_templates_decide() {
    let out = khutulun(&[
        "tosca",
        "compile",
        "--format",
        "json",
        "--input",
        "site=west",
        &fixture("web.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        json["node_templates"]["server"]["properties"]["name"],
        "srv-west"
    );
}

#[test]
fn instantiate_carries_artifacts_and_interfaces() {
    let file = fixture("operations.yaml");
    let json = instantiate(&file, &[]);
    let dir = std::fs::canonicalize(PathBuf::from(&file).parent().unwrap()).unwrap();
    let site = format!("{}/files/site.zip", dir.display());
    let blog = &json["nodes"][0];
    let artifact = &blog["artifacts"]["site"];
    assert_eq!(artifact["location"]["kind"], "file");
    assert_eq!(artifact["location"]["path"], site.as_str());
    assert_eq!(artifact["types"][0]["name"], "Archive");
    let lifecycle = &blog["interfaces"]["Lifecycle"];
    assert_eq!(lifecycle["inputs"]["verbose"]["resolved"], true);
    let install = &lifecycle["operations"]["install"];
    assert_eq!(install["inputs"]["archive"]["resolved"], site.as_str());
    assert!(
        install["inputs"]["listen"]["deferred"].is_object(),
        "{install}"
    );
    assert_eq!(
        install["implementation"]["primary"]["inline"]["location"]["path"],
        format!("{}/scripts/install.sh", dir.display()).as_str()
    );
    assert_eq!(
        lifecycle["operations"]["remove"]["implementation"]["primary"]["inline"]["file"],
        "scripts/remove.sh"
    );
}

#[test]
fn a_template_and_its_imports_validate_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let v = "tosca_definitions_version: tosca_2_0\n";
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::write(
        dir.path().join("app/main.yaml"),
        format!("{v}imports: [../lib/types.yaml]\nservice_template:\n  node_templates:\n    s: {{type: Server, properties: {{name: a}}}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("lib/types.yaml"),
        format!("{v}node_types:\n  Server:\n    properties:\n      name: {{type: string}}\n"),
    )
    .unwrap();
    let server = WebServer::serve(dir.path());
    let main = format!("{}/app/main.yaml", server.origin);
    let out = khutulun(&["tosca", "validate", &main]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    std::fs::write(
        dir.path().join("app/broken.yaml"),
        format!("{v}imports:\n- ../lib/missing.yaml\n"),
    )
    .unwrap();
    let out = khutulun(&[
        "tosca",
        "validate",
        &format!("{}/app/broken.yaml", server.origin),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}/app/broken.yaml:3:3: error[import-not-found]",
            server.origin
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "cannot fetch {}/lib/missing.yaml: the server answered HTTP 404 Not Found",
            server.origin
        )),
        "{stderr}"
    );

    // An entry the server does not have could not be validated at all: exit 2, not 1.
    for command in ["validate", "compile"] {
        let missing = format!("{}/app/absent.yaml", server.origin);
        let out = khutulun(&["tosca", command, &missing]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("404"), "{}", text(&out.stderr));
    }
}

/// Writes `text` as `name` in `dir` and returns its path, as the CLI takes it.
fn write(dir: &std::path::Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn an_alias_bomb_is_a_problem_naming_the_limit_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from(
        "tosca_definitions_version: tosca_2_0\nb0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..=9 {
        let alias = format!("*b{}", level - 1);
        bomb.push_str(&format!(
            "b{level}: &b{level} [{}]\n",
            vec![alias; 9].join(", ")
        ));
    }
    let file = write(dir.path(), "bomb.yaml", bomb.as_bytes());
    for command in ["validate", "compile"] {
        let out = khutulun(&["tosca", command, &file]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.contains("error[limit-exceeded]"), "{stderr}");
        assert!(stderr.contains("2000000 YAML nodes"), "{stderr}");
        assert!(stderr.contains(&format!("{file}:")), "{stderr}");
    }
}

#[test]
fn a_count_over_the_limit_is_refused_by_validate_and_compile() {
    let dir = tempfile::tempdir().unwrap();
    let service = |count: &str| {
        format!(
            "tosca_definitions_version: tosca_2_0\nnode_types:\n  Worker: {{}}\nservice_template:\n  inputs:\n    n: {{type: integer, default: {count}}}\n  node_templates:\n    fixed:\n      type: Worker\n      count: {count}\n    given:\n      type: Worker\n      count: {{$get_input: n}}\n"
        )
    };
    let file = write(dir.path(), "many.yaml", service("10000000").as_bytes());
    let out = khutulun(&["tosca", "validate", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{file}:10:14")), "{stderr}");
    assert!(stderr.contains("10000"), "{stderr}");
    // A count computed from an input is only known when compiling.
    let out = khutulun(&["tosca", "compile", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{file}:13:14")), "{stderr}");

    let file = write(dir.path(), "some.yaml", service("3").as_bytes());
    let out = khutulun(&["tosca", "compile", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn an_artifact_outside_the_templates_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let service = |file: &str| {
        format!(
            "tosca_definitions_version: tosca_2_0\nartifact_types:\n  Config: {{}}\nnode_types:\n  App: {{}}\nservice_template:\n  node_templates:\n    app:\n      type: App\n      artifacts:\n        conf: {{type: Config, file: {file}}}\n"
        )
    };
    let file = write(
        dir.path(),
        "app/service.yaml",
        service("../../etc/passwd").as_bytes(),
    );
    for command in ["validate", "compile"] {
        let out = khutulun(&["tosca", command, &file]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.contains("error[invalid-artifact]"), "{stderr}");
        assert!(stderr.contains("../../etc/passwd"), "{stderr}");
        assert!(stderr.contains("repository root"), "{stderr}");
    }
    // Inside the repository, and an explicit absolute file: URL, are fine.
    write(dir.path(), "app/conf/app.ini", b"x=1\n");
    for allowed in ["conf/../conf/app.ini", "file:///etc/hostname"] {
        let file = write(dir.path(), "app/service.yaml", service(allowed).as_bytes());
        let out = khutulun(&["tosca", "validate", &file]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{allowed}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn problems_about_a_file_that_is_not_tosca_do_not_quote_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8]); 2] = [
        ("secrets.env", b"db_password: hunter2: leaked\nother: 1\n"),
        ("tool.bin", b"\x7fELF\x02\x01\x01 private-bytes-here\n"),
    ];
    for (name, bytes) in cases {
        let file = write(dir.path(), name, bytes);
        let first_line = text(bytes).lines().next().unwrap().to_string();
        let out = khutulun(&["tosca", "validate", &file]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(&format!("{file}:1:")), "{name}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{name}: {stderr}");
        assert!(!stderr.contains("private-bytes"), "{name}: {stderr}");
        assert!(!stderr.contains(&first_line), "{name}: {stderr}");
    }
    // A TOSCA file the user wrote is still quoted.
    let file = write(
        dir.path(),
        "mine.yaml",
        b"tosca_definitions_version: tosca_2_0\nservice_template: a: b\n",
    );
    let out = khutulun(&["tosca", "validate", &file]);
    assert!(text(&out.stderr).contains(" | "), "{}", text(&out.stderr));
}

#[test]
fn an_artifact_may_name_a_repository_an_imported_file_defines() {
    let dir = tempfile::tempdir().unwrap();
    // shared/repos.yaml defines `scripts` relative to itself; the service imports it (once
    // plainly, once under a namespace) and names the repository both ways.
    write(
        dir.path(),
        "shared/repos.yaml",
        b"tosca_definitions_version: tosca_2_0\nrepositories:\n  scripts: ../tools\n",
    );
    write(dir.path(), "tools/run.sh", b"#!/bin/sh\n");
    let file = write(
        dir.path(),
        "service.yaml",
        b"tosca_definitions_version: tosca_2_0\nimports:\n  - shared/repos.yaml\n  - url: shared/repos.yaml\n    namespace: s\nartifact_types:\n  Script: {}\nnode_types:\n  App: {}\nservice_template:\n  node_templates:\n    app:\n      type: App\n      artifacts:\n        plain: { type: Script, file: run.sh, repository: scripts }\n        spaced: { type: Script, file: run.sh, repository: s:scripts }\n        unknown: { type: Script, file: run.sh, repository: nowhere }\n",
    );
    let out = khutulun(&["tosca", "validate", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no repository named `nowhere`"), "{stderr}");
    assert_eq!(stderr.matches("error[").count(), 1, "{stderr}");
    let fixed = std::fs::read_to_string(&file).unwrap().replace(
        "        unknown: { type: Script, file: run.sh, repository: nowhere }\n",
        "",
    );
    let file = write(dir.path(), "service.yaml", fixed.as_bytes());
    let json = instantiate(&file, &[]);
    let tools = std::fs::canonicalize(dir.path().join("tools")).unwrap();
    let expected = format!("{}/run.sh", tools.display());
    for artifact in ["plain", "spaced"] {
        let location = &json["nodes"][0]["artifacts"][artifact]["location"];
        assert_eq!(
            location["path"],
            expected.as_str(),
            "{artifact}: {location}"
        );
    }
}

/// A zip CSAR at `path` holding `files`, as a user's packaging tool would make it.
fn write_zip(path: &std::path::Path, files: &[(&str, &str)]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, content) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

const CSAR_META: &str =
    "CSAR-Version: 2.0\nCreated-By: a test\nEntry-Definitions: app/service.yaml\n";
const CSAR_TYPES: &str = "tosca_definitions_version: tosca_2_0\nnode_types:\n  Box:\n    properties:\n      size: { type: integer }\n";
const CSAR_SERVICE: &str = "tosca_definitions_version: tosca_2_0\nimports: [ ../types/box.yaml ]\nservice_template:\n  inputs:\n    size: { type: integer, default: 3 }\n  node_templates:\n    box:\n      type: Box\n      properties:\n        size: { $get_input: size }\n";

#[test]
fn a_csar_validates_and_compiles_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let csar = dir.path().join("app.csar");
    write_zip(
        &csar,
        &[
            ("TOSCA-Metadata/TOSCA.meta", CSAR_META),
            ("app/service.yaml", CSAR_SERVICE),
            ("types/box.yaml", CSAR_TYPES),
        ],
    );
    let csar = csar.display().to_string();
    let out = khutulun(&["tosca", "validate", &csar]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = instantiate(&csar, &["--input", "size=5"]);
    let box_node = node(&json, "box-0");
    assert_eq!(
        box_node["properties"]["size"]["resolved"], 5,
        "{box_node:#}"
    );
}

#[test]
fn a_problem_inside_a_csar_names_the_archive_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let csar = dir.path().join("broken.csar");
    let broken = CSAR_SERVICE.replace("{ $get_input: size }", "many");
    write_zip(
        &csar,
        &[
            ("TOSCA.meta", CSAR_META),
            ("app/service.yaml", &broken),
            ("types/box.yaml", CSAR_TYPES),
        ],
    );
    let out = khutulun(&["tosca", "validate", &csar.display().to_string()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("broken.csar!/app/service.yaml:10:15"),
        "{stderr}"
    );

    let lost = dir.path().join("lost.csar");
    let meta = CSAR_META.replace("app/service.yaml", "app/missing.yaml");
    write_zip(
        &lost,
        &[("TOSCA.meta", &meta), ("app/service.yaml", CSAR_SERVICE)],
    );
    let out = khutulun(&["tosca", "compile", &lost.display().to_string()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("lost.csar!/TOSCA.meta:3:1"), "{stderr}");
    assert!(stderr.contains("app/missing.yaml"), "{stderr}");
}

/// A service of `n` node templates of one type, those in `bad` given a size that is no
/// integer, the others each requiring the one before it.
fn many_boxes(n: usize, bad: &[usize]) -> String {
    let mut text = String::from(
        "tosca_definitions_version: tosca_2_0\ncapability_types:\n  Slot: {}\nnode_types:\n  Box:\n    properties:\n      size: { type: integer }\n    capabilities:\n      slot: Slot\n    requirements:\n      - after:\n          capability: Slot\n          count_range: [ 0, 1 ]\nservice_template:\n  node_templates:\n",
    );
    for i in 0..n {
        let size = if bad.contains(&i) {
            "many".to_string()
        } else {
            i.to_string()
        };
        text.push_str(&format!(
            "    n{i}:\n      type: Box\n      properties:\n        size: {size}\n"
        ));
        if i > 0 {
            text.push_str(&format!(
                "      requirements:\n        - after: n{}\n",
                i - 1
            ));
        }
    }
    text
}

#[test]
fn thousands_of_templates_keep_their_order_and_every_problem() {
    // Past 1,000 templates the processor checks and instantiates in parts beside each other:
    // what it reports must not show it.
    let dir = tempfile::tempdir().unwrap();
    let bad = [17, 1_600, 2_950];
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, many_boxes(3_000, &bad)).unwrap();
    let out = khutulun(&[
        "tosca",
        "validate",
        "--format",
        "json",
        &broken.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let paths: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = bad
        .iter()
        .map(|i| format!("service_template.node_templates.n{i}.properties.size"))
        .collect();
    assert_eq!(paths, expected);

    let fine = dir.path().join("fine.yaml");
    std::fs::write(&fine, many_boxes(3_000, &[])).unwrap();
    let json = instantiate(&fine.display().to_string(), &[]);
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3_000);
    for (i, node) in nodes.iter().enumerate() {
        // Each node after the one it requires, each requiring the one before it.
        assert_eq!(node["id"], format!("n{i}-0"), "at {i}");
        assert_eq!(node["properties"]["size"]["resolved"], i, "at {i}");
        if i > 0 {
            assert_eq!(node["relationships"][0]["target"], format!("n{}-0", i - 1));
        }
    }
}
