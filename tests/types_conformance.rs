//! Runs the grammar and type stages over the OASIS conformance cases about types and
//! definitions, and reports how many agree with the suite's expectation.
//!
//! The full pipeline (loader, templates) is exercised by the main conformance harness through
//! `tosca::validate`; this test covers what the type stages alone can decide, with a minimal
//! import reader (relative `url` imports and namespaces) standing in for the loader. Cases
//! whose expected problem lies in a service template are counted separately: deciding them
//! is the templates stage's job.
//!
//! With `KHUTULUN_TYPES_ALL_FOLDERS` set, every folder runs (to find false problems this stage
//! would raise in cases about templates).
//!
//! The suite is found through `KHUTULUN_CONFORMANCE_DIR`, else `<repo>/../shared/conformance/oasis`
//! (or the same further up, for worktrees); the test is skipped (with a message) when neither
//! exists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use khutulun::tosca::grammar;
use khutulun::tosca::problem::Problems;
use khutulun::tosca::source::{FileId, Sources, Span};
use khutulun::tosca::types::{self, FileInput, ImportInput};
use khutulun::tosca::value::Value;
use khutulun::tosca::yaml;

const FOLDERS: &[&str] = &[
    "artifact-type",
    "artifact-types",
    "attribute-definition",
    "capability-type",
    "capability-types",
    "capability-definition",
    "capability-refinement",
    "data-type",
    "data-types",
    "group-type",
    "group-types",
    "interface-type",
    "interface-types",
    "node-type",
    "node-types",
    "policy-type",
    "policy-types",
    "relationship-types",
    "property-definition",
    "schema-definition",
    "scalar",
    "description",
    "metadata",
    "dsl-definitions",
    "namespaces",
    "function-definitions",
    "tosca-definitions-version",
];

/// Cases in these folders decided by another stage (the minimal import reader here does not
/// run the loader's checks of `tosca_definitions_version` and repositories).
const OTHER_STAGES: &[&str] = &[
    "tosca_2_0/namespaces/imports/nginx.yaml",
    "tosca_2_0/namespaces/namespaces-duplicate-repo-root-inv.yaml",
];

fn suite_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KHUTULUN_CONFORMANCE_DIR") {
        return Some(PathBuf::from(dir));
    }
    // `<repo>/../shared/…`; worktrees sit one level deeper, so look further up too.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/conformance/oasis"))
        .find(|dir| dir.join("expectations.tsv").exists())
}

/// Reads a file and (recursively) what it imports; returns false when something cannot be read.
fn load(
    path: &Path,
    sources: &Sources,
    files: &mut Vec<(FileId, Value, Vec<ImportInput>)>,
    seen: &mut HashMap<PathBuf, FileId>,
    problems: &mut Problems,
) -> Option<FileId> {
    let path = path.canonicalize().ok()?;
    if let Some(id) = seen.get(&path) {
        return Some(*id);
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let id = sources.add(path.display().to_string(), text.clone());
    seen.insert(path.clone(), id);
    let root = match yaml::parse(&text, id) {
        Ok(root) => root,
        Err(e) => {
            problems.report("yaml", e.span, "", e.message);
            return Some(id);
        }
    };
    match root
        .get("tosca_definitions_version")
        .and_then(Value::as_str)
    {
        Some("tosca_2_0") => {}
        _ => problems.report(
            "version",
            root.span,
            "tosca_definitions_version",
            "not tosca_2_0",
        ),
    }
    let mut imports = Vec::new();
    for import in root
        .get("imports")
        .and_then(Value::as_list)
        .unwrap_or_default()
    {
        let (url, namespace) = match import.as_str() {
            Some(url) => (Some(url.to_string()), None),
            None => (
                import
                    .get("url")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                import
                    .get("namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
        };
        let Some(url) = url else { continue };
        match load(&path.parent()?.join(&url), sources, files, seen, problems) {
            Some(file) => imports.push(ImportInput {
                file,
                namespace,
                span: import.span,
            }),
            None => problems.report(
                "import",
                import.span,
                "imports",
                format!("cannot read {url}"),
            ),
        }
    }
    files.push((id, root, imports));
    Some(id)
}

#[test]
fn type_stage_agrees_with_the_conformance_suite() {
    let Some(dir) = suite_dir() else {
        eprintln!("conformance suite not found; skipping");
        return;
    };
    let expectations = std::fs::read_to_string(dir.join("expectations.tsv")).unwrap();
    let argued = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/DISAGREEMENTS.md"),
    )
    .unwrap_or_default();
    let argued: Vec<&str> = argued
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::trim)
        .collect();
    let (mut agree, mut disagree, mut templates) = (0, Vec::new(), Vec::new());
    let mut unexplained = Vec::new();
    for line in expectations.lines() {
        let Some((case, expected)) = line.split_once('\t') else {
            continue;
        };
        let folder = case.split('/').nth(1).unwrap_or_default();
        let all = std::env::var_os("KHUTULUN_TYPES_ALL_FOLDERS").is_some();
        if !all && !FOLDERS.contains(&folder) {
            continue;
        }
        let sources = Sources::default();
        let mut problems = Problems::new();
        let mut files = Vec::new();
        if load(
            &dir.join(case),
            &sources,
            &mut files,
            &mut HashMap::new(),
            &mut problems,
        )
        .is_none()
        {
            problems.report("unreadable", Span::NONE, "", "cannot read");
        }
        let inputs: Vec<FileInput<'_>> = files
            .iter()
            .map(|(id, root, imports)| FileInput {
                id: *id,
                root,
                profile: None,
                imports: imports.clone(),
            })
            .collect();
        for input in &inputs {
            grammar::check_file(input.root, &mut problems);
        }
        let _registry = types::build(&inputs, &mut problems);
        let valid = problems.is_empty();
        let has_template = files
            .iter()
            .any(|(_, root, _)| root.get("service_template").is_some());
        if valid == (expected == "valid") {
            agree += 1;
        } else if valid && has_template {
            templates.push(case.to_string());
        } else {
            let why: Vec<String> = problems
                .iter()
                .map(|p| format!("{} {}: {}", p.code, p.path, p.message))
                .collect();
            if FOLDERS.contains(&folder) && !argued.contains(&case) && !OTHER_STAGES.contains(&case)
            {
                unexplained.push(case.to_string());
            }
            disagree.push(format!("{case} (expected {expected}) {why:?}"));
        }
    }
    eprintln!(
        "agree: {agree}; left to the templates stage: {}; disagree: {}",
        templates.len(),
        disagree.len()
    );
    for case in &templates {
        eprintln!("  templates: {case}");
    }
    for case in &disagree {
        eprintln!("  DISAGREE: {case}");
    }
    assert!(agree > 0);
    assert!(
        unexplained.is_empty(),
        "cases about types that disagree with the suite without an argued entry in tests/conformance/DISAGREEMENTS.md: {unexplained:#?}"
    );
}

/// Loads a file with the real loader and builds its registry, returning the problems as text.
fn build_with_loader(entry: &Path, profile_paths: Vec<PathBuf>) -> Vec<String> {
    use khutulun::tosca::loader::{self, LoadOptions};
    let sources = Sources::default();
    let mut problems = Problems::new();
    let options = LoadOptions {
        profile_paths,
        ..Default::default()
    };
    if let Some(loaded) = loader::load(
        &entry.display().to_string(),
        &options,
        &sources,
        &mut problems,
    ) {
        let _registry = types::from_loaded(&loaded, &mut problems);
    }
    problems
        .iter()
        .map(|p| {
            format!(
                "{} {} {}: {}",
                sources.locate(p.span),
                p.code,
                p.path,
                p.message
            )
        })
        .collect()
}

#[test]
fn the_shipped_profiles_build_without_problems() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = build_with_loader(&repo.join("profiles/khutulun/profile.yaml"), vec![]);
    assert!(found.is_empty(), "{found:#?}");
    if let Some(dir) = suite_dir() {
        let simple = dir.join("profiles/org.oasis-open.simple-2.0/profile.yaml");
        let found = build_with_loader(&simple, vec![]);
        eprintln!("simple profile: {found:#?}");
    }
}
