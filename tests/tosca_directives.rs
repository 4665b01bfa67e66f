//! Node template directives through `khutulun tosca compile --instantiate`: `substitute` with
//! `--substitution FILE`, `select` with `--select-from FILE`, and their fallbacks.

#[path = "support/tosca_cli.rs"]
mod support;

use support::{instantiate, khutulun, node, text};

use serde_json::Value;

/// A fixture of these tests, under `tests/fixtures/tosca/directives/`.
fn fixture(name: &str) -> String {
    support::fixture(&format!("directives/{name}"))
}

fn ids(instantiation: &Value) -> Vec<String> {
    instantiation["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn targets(node: &Value) -> Vec<(String, String, String)> {
    node["relationships"]
        .as_array()
        .expect("relationships")
        .iter()
        .map(|r| {
            (
                r["requirement"].as_str().unwrap_or_default().to_string(),
                r["target"].as_str().unwrap_or_default().to_string(),
                r["capability"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_substituted_node_becomes_the_substituting_templates_nodes() {
    let database = fixture("database.yaml");
    let out = instantiate(&fixture("app.yaml"), &["--substitution", &database]);
    // The outer `db` is gone; its substitute's node carries its prefix, in dependency order.
    assert_eq!(ids(&out), ["server-0", "db-0.mysqld-0", "app-0"]);
    let mysqld = node(&out, "db-0.mysqld-0");
    assert_eq!(mysqld["template"], "db-0.mysqld");
    // size (20) → input memory → $get_input inside the substituting template.
    assert_eq!(mysqld["properties"]["memory"]["resolved"], 20);
    // The outer node's requirement `host` is the inner node's.
    assert_eq!(
        targets(mysqld),
        [("host".into(), "server-0".into(), "host".into())]
    );
    // Who used the outer node's capability now uses the inner one.
    assert_eq!(
        targets(node(&out, "app-0")),
        [("db".into(), "db-0.mysqld-0".into(), "endpoint".into())]
    );
    // The inner output is the outer node's attribute.
    let substitution = &out["substitutions"]["db-0"];
    assert_eq!(substitution["template"], "db");
    assert_eq!(substitution["file"], database.as_str());
    assert_eq!(substitution["inputs"]["memory"], 20);
    assert_eq!(
        substitution["attributes"]["url"]["resolved"],
        "mysql://mysqld"
    );
    assert_eq!(substitution["nodes"], serde_json::json!(["db-0.mysqld-0"]));
}

#[test]
fn a_node_no_template_substitutes_falls_back_to_create() {
    let out = instantiate(
        &fixture("fallback.yaml"),
        &["--substitution", &fixture("database.yaml")],
    );
    assert_eq!(ids(&out), ["server-0", "db-0", "app-0"]);
    assert!(out.get("substitutions").is_none(), "{out:#}");
    assert_eq!(
        targets(node(&out, "db-0")),
        [("host".into(), "server-0".into(), "host".into())]
    );
}

#[test]
fn a_node_nothing_substitutes_is_a_problem_at_the_node() {
    let file = fixture("no-match.yaml");
    let out = khutulun(&[
        "tosca",
        "compile",
        "--instantiate",
        "--substitution",
        &fixture("database.yaml"),
        &file,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{file}:13:7")), "{stderr}");
    assert!(
        stderr.contains("no substituting template matches type `Database`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("database.yaml: its substitution_filter is false"),
        "{stderr}"
    );
}

#[test]
fn without_candidates_the_problem_says_how_to_give_one() {
    let out = khutulun(&[
        "tosca",
        "compile",
        "--instantiate",
        &fixture("no-match.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--substitution FILE"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_template_that_substitutes_itself_is_a_cycle() {
    let cycle = fixture("cycle.yaml");
    let out = khutulun(&[
        "tosca",
        "compile",
        "--instantiate",
        "--substitution",
        &cycle,
        &fixture("app.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[substitution-cycle]"), "{stderr}");
    assert!(stderr.contains(&format!("{cycle}:12:7")), "{stderr}");
}

#[test]
fn a_missing_substitution_file_is_reported() {
    let out = khutulun(&[
        "tosca",
        "compile",
        "--substitution",
        "/no/such/substitute.yaml",
        &fixture("app.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("/no/such/substitute.yaml"),
        "{}",
        text(&out.stderr)
    );
}

/// The instantiation of the producer service, written where `--select-from` can read it.
fn producer(dir: &tempfile::TempDir) -> String {
    let out = khutulun(&[
        "tosca",
        "compile",
        "--instantiate",
        &fixture("producer.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let path = dir.path().join("producer.yaml");
    std::fs::write(&path, &out.stdout).expect("write");
    path.display().to_string()
}

#[test]
fn select_picks_the_node_its_node_filter_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = producer(&dir);
    let out = instantiate(&fixture("select.yaml"), &["--select-from", &inventory]);
    let db = node(&out, "db-0");
    assert_eq!(
        db["selected_from"],
        serde_json::json!({"service": "producer", "instance": "fast-0"})
    );
    // It carries the chosen node's values, not the template's.
    assert_eq!(db["properties"]["flavour"]["resolved"], "fast");
    assert_eq!(db["properties"]["size"]["resolved"], 2);
    assert_eq!(targets(db), []);
    assert_eq!(
        targets(node(&out, "app-0")),
        [("db".into(), "db-0".into(), "endpoint".into())]
    );
}

#[test]
fn select_without_a_match_falls_back_to_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = producer(&dir);
    let out = instantiate(
        &fixture("select.yaml"),
        &["--select-from", &inventory, "--input", "flavour=gold"],
    );
    let db = node(&out, "db-0");
    assert!(db.get("selected_from").is_none(), "{db:#}");
    assert_eq!(db["properties"]["size"]["resolved"], 3);
    assert_eq!(
        targets(db),
        [("host".into(), "server-0".into(), "host".into())]
    );
}

#[test]
fn a_requirement_node_filter_sees_the_selected_nodes_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = producer(&dir);
    let file = fixture("select-filtered.yaml");
    // The selected `fast` node has size 2, which the app's filter accepts.
    let out = instantiate(&file, &["--select-from", &inventory]);
    assert_eq!(node(&out, "db-0")["properties"]["size"]["resolved"], 2);
    assert_eq!(
        targets(node(&out, "app-0")),
        [("db".into(), "db-0".into(), "endpoint".into())]
    );
    // Created from the template instead, the database has size 1: the filter turns it down.
    let out = khutulun(&["tosca", "compile", "--instantiate", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[unfulfilled-requirement]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`db`: its node_filter is false"),
        "{stderr}"
    );
}

#[test]
fn select_from_a_file_that_is_no_instantiation_cannot_run() {
    let out = khutulun(&[
        "tosca",
        "compile",
        "--instantiate",
        "--select-from",
        &fixture("types.yaml"),
        &fixture("select.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not an instantiation"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validate_checks_substitution_files_too() {
    let types = fixture("types.yaml");
    let out = khutulun(&[
        "tosca",
        "validate",
        "--substitution",
        &types,
        &fixture("app.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[not-substituting]"), "{stderr}");
    assert!(stderr.contains("has no service_template"), "{stderr}");
    let out = khutulun(&[
        "tosca",
        "validate",
        "--substitution",
        &fixture("database.yaml"),
        &fixture("app.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_node_selected_after_substitute_failed_is_fulfilled_with_the_selected_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inventory = producer(&dir);
    let database = fixture("database.yaml");
    let file = fixture("select-late.yaml");
    // Size 1 is too small for database.yaml, so `fast` (size 2) is selected, and the app's
    // filter (size 2 or more) sees 2, not the template's 1.
    let out = instantiate(
        &file,
        &["--select-from", &inventory, "--substitution", &database],
    );
    let db = node(&out, "db-0");
    assert_eq!(
        db["selected_from"],
        serde_json::json!({"service": "producer", "instance": "fast-0"})
    );
    assert_eq!(
        targets(node(&out, "app-0")),
        [("db".into(), "db-0".into(), "endpoint".into())]
    );
    // With nothing to select, it is created with size 1 and the filter turns it down.
    let out = khutulun(&[
        "tosca",
        "compile",
        "--instantiate",
        "--substitution",
        &database,
        &file,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`db`: its node_filter is false"),
        "{stderr}"
    );
}
