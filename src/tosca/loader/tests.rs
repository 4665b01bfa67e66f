//! Loader tests over real files and archives built in temporary directories.

use std::path::Path;

use super::csar::Format;
use super::csar::tests::build;
use super::*;

const V: &str = "tosca_definitions_version: tosca_2_0\n";

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

struct Run {
    loaded: Option<Loaded>,
    problems: Problems,
    sources: Sources,
}

impl Run {
    fn codes(&self) -> Vec<(&'static str, String)> {
        self.problems
            .iter()
            .map(|p| (p.code, p.path.clone()))
            .collect()
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.as_ref().expect("the entry loads")
    }

    /// Location suffixes of the loaded files, in load order.
    fn names(&self, base: &Path) -> Vec<String> {
        let base = Location::file(base).resolved().canonical();
        self.loaded()
            .files
            .iter()
            .map(|f| f.location.replace(&base, ""))
            .collect()
    }

    fn by_suffix(&self, suffix: &str) -> &LoadedFile {
        self.loaded()
            .files
            .iter()
            .find(|f| f.location.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} was not loaded"))
    }

    fn assert_clean(&self) {
        assert!(
            self.problems.is_empty(),
            "{}",
            self.problems.render_text(&self.sources)
        );
    }
}

fn run_with(entry: &Path, options: LoadOptions) -> Run {
    let sources = Sources::default();
    let mut problems = Problems::new();
    let loaded = load(entry.to_str().unwrap(), &options, &sources, &mut problems);
    Run {
        loaded,
        problems,
        sources,
    }
}

fn run(entry: &Path) -> Run {
    run_with(entry, LoadOptions::default())
}

#[test]
fn loads_imports_transitively_each_once_with_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "main.yaml",
        &format!("{V}imports:\n- types/a.yaml\n- url: types/b.yaml\n  namespace: b\n"),
    );
    write(d, "types/a.yaml", &format!("{V}imports:\n- c.yaml\n"));
    write(
        d,
        "types/b.yaml",
        &format!("{V}imports:\n- url: ./c.yaml\n  namespace: y\n- ../main.yaml\n"),
    );
    write(d, "types/c.yaml", V);
    let r = run(&d.join("main.yaml"));
    r.assert_clean();
    assert_eq!(
        r.names(d),
        [
            "/main.yaml",
            "/types/a.yaml",
            "/types/b.yaml",
            "/types/c.yaml"
        ]
    );
    let loaded = r.loaded();
    assert_eq!(loaded.entry, loaded.files[0].id);
    let c = r.by_suffix("/c.yaml").id;
    let b = r.by_suffix("/b.yaml");
    assert_eq!(
        b.imports
            .iter()
            .map(|i| (i.file, i.namespace.clone()))
            .collect::<Vec<_>>(),
        [(c, Some("y".to_string())), (loaded.entry, None)],
        "the cycle back to main.yaml is an import, not a second copy"
    );
    assert_eq!(loaded.files[0].imports[1].namespace.as_deref(), Some("b"));
    assert_eq!(loaded.files[0].imports[0].span.line, 3);
}

#[test]
fn load_text_resolves_imports_against_its_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "lib.yaml", V);
    let sources = Sources::default();
    let mut problems = Problems::new();
    let name = dir.path().join("virtual.yaml");
    let loaded = load_text(
        name.to_str().unwrap(),
        &format!("{V}imports: [lib.yaml]\n"),
        &LoadOptions::default(),
        &sources,
        &mut problems,
    )
    .unwrap();
    assert!(problems.is_empty(), "{}", problems.render_text(&sources));
    assert_eq!(loaded.files.len(), 2);
    assert!(
        sources
            .get(loaded.entry)
            .unwrap()
            .name
            .ends_with("virtual.yaml")
    );
}

#[test]
fn a_missing_import_is_reported_at_its_url() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.yaml",
        &format!("{V}imports:\n- ok.yaml\n- url: missing.yaml\n"),
    );
    write(dir.path(), "ok.yaml", V);
    let r = run(&dir.path().join("main.yaml"));
    assert_eq!(
        r.codes(),
        [("import-not-found", "imports[1].url".to_string())]
    );
    let problem = r.problems.iter().next().unwrap();
    assert_eq!((problem.span.line, problem.span.column), (4, 8));
    assert_eq!(r.loaded().files.len(), 2, "the good import still loads");
}

#[test]
fn an_import_that_is_not_tosca_is_reported_at_the_import() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.yaml",
        &format!("{V}imports:\n- list.yaml\n- plain.yaml\n- again.yaml\n"),
    );
    write(
        dir.path(),
        "again.yaml",
        &format!("{V}imports:\n- plain.yaml\n"),
    );
    write(dir.path(), "list.yaml", "- a\n");
    write(dir.path(), "plain.yaml", "name: x\n");
    let r = run(&dir.path().join("main.yaml"));
    assert_eq!(
        r.codes(),
        [
            ("import-not-tosca", "imports[0].url".to_string()),
            ("import-not-tosca", "imports[1].url".to_string()),
            ("import-not-tosca", "imports[0].url".to_string()),
        ]
    );
    assert_eq!(r.loaded().files.len(), 2, "main.yaml and again.yaml");
}

#[test]
fn every_file_is_checked_and_syntax_errors_do_not_stop_the_load() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.yaml",
        &format!("{V}imports:\n- broken.yaml\n- old.yaml\n- late.yaml\n- profile.yaml\n"),
    );
    write(dir.path(), "broken.yaml", &format!("{V}x: [1, 2\n"));
    write(
        dir.path(),
        "old.yaml",
        "tosca_definitions_version: tosca_simple_yaml_1_3\n",
    );
    write(dir.path(), "late.yaml", &format!("description: x\n{V}"));
    write(
        dir.path(),
        "profile.yaml",
        &format!("{V}profile: p\nservice_template: {{}}\n"),
    );
    let r = run(&dir.path().join("main.yaml"));
    let codes: Vec<_> = r.codes().into_iter().map(|(c, _)| c).collect();
    assert_eq!(
        codes,
        [
            "yaml-syntax",
            "unsupported-tosca-version",
            "tosca-version-not-first",
            "profile-with-service-template"
        ]
    );
    let syntax = r.problems.iter().next().unwrap();
    assert!(
        r.sources.locate(syntax.span).contains("broken.yaml:"),
        "{syntax:?}"
    );
    assert_eq!(r.loaded().files.len(), 4);
    assert_eq!(r.by_suffix("profile.yaml").profile.as_deref(), Some("p"));
}

#[test]
fn the_entry_without_a_version_still_loads_with_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "main.yaml", "description: x\n");
    let r = run(&dir.path().join("main.yaml"));
    assert_eq!(r.codes(), [("tosca-version-missing", String::new())]);
    assert!(r.loaded.is_some());
}

#[test]
fn a_leading_slash_is_the_entry_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.yaml",
        &format!("{V}imports: [deep/er/a.yaml]\n"),
    );
    write(
        dir.path(),
        "deep/er/a.yaml",
        &format!("{V}imports: [/common.yaml]\n"),
    );
    write(dir.path(), "common.yaml", V);
    let r = run(&dir.path().join("main.yaml"));
    r.assert_clean();
    assert_eq!(r.names(dir.path())[2], "/common.yaml");
}

#[test]
fn dot_dot_stops_at_the_entry_directory_as_inside_a_csar() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "svc/main.yaml",
        &format!("{V}imports: [../types/t.yaml]\n"),
    );
    write(dir.path(), "svc/types/t.yaml", V);
    write(dir.path(), "types/t.yaml", "not: read\n");
    let r = run(&dir.path().join("svc/main.yaml"));
    r.assert_clean();
    assert_eq!(r.names(dir.path())[1], "/svc/types/t.yaml");

    write(
        dir.path(),
        "other/main.yaml",
        &format!("{V}imports: [../common.yaml]\n"),
    );
    write(dir.path(), "common.yaml", V);
    let r = run(&dir.path().join("other/main.yaml"));
    assert_eq!(
        r.codes(),
        [("import-not-found", "imports[0].url".to_string())]
    );
    let message = &r.problems.iter().next().unwrap().message;
    assert!(message.contains("define a repository"), "{message}");
}

#[test]
fn repositories_resolve_imports_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "app/main.yaml",
        &format!(
            "{V}repositories:\n  local: ../lib\n  remote: {{url: 'https:x', description: r}}\n  bad: {{url: x, credential: {{user: u}}}}\nimports:\n- url: a.yaml\n  repository: local\n- url: b.yaml\n  repository: remote\n- url: c.yaml\n  repository: nowhere\n- url: https://example.com/c.yaml\n  repository: local\n- 'https:d.yaml'\n- ftp://example.com/e.yaml\n"
        ),
    );
    write(d, "lib/a.yaml", &format!("{V}imports: [/sub/z.yaml]\n"));
    write(d, "lib/sub/z.yaml", V);
    let r = run(&d.join("app/main.yaml"));
    assert_eq!(
        r.codes(),
        [
            (
                "invalid-repository",
                "repositories.bad.credential".to_string()
            ),
            ("invalid-repository", "repositories.remote.url".to_string()),
            ("unknown-repository", "imports[2].repository".to_string()),
            ("invalid-import", "imports[3].url".to_string()),
            ("invalid-import", "imports[4].url".to_string()),
            ("unsupported-url", "imports[5].url".to_string()),
        ]
    );
    assert!(
        r.problems
            .iter()
            .any(|p| p.message.contains("\"https:x\" has no host"))
    );
    assert_eq!(
        r.names(d),
        ["/app/main.yaml", "/lib/a.yaml", "/lib/sub/z.yaml"],
        "a leading / inside a repository is the repository's root"
    );
}

#[test]
fn repositories_defined_in_imported_files_are_the_importers_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // defs/repos.yaml defines `lib` relative to itself and imports a file that defines `deep`;
    // main.yaml uses both after importing it, and under a namespace as `ns:lib`; an import that
    // comes before the definitions cannot use them yet.
    write(
        d,
        "app/defs/repos.yaml",
        &format!("{V}repositories:\n  lib: ../../lib\nimports: [more.yaml]\n"),
    );
    write(
        d,
        "app/defs/more.yaml",
        &format!("{V}repositories:\n  deep: ../../lib/sub\n"),
    );
    write(
        d,
        "app/main.yaml",
        &format!(
            "{V}imports:\n- url: early.yaml\n  repository: lib\n- defs/repos.yaml\n- url: a.yaml\n  repository: lib\n- url: z.yaml\n  repository: deep\n- url: defs/repos.yaml\n  namespace: ns\n- url: b.yaml\n  repository: ns:lib\n"
        ),
    );
    write(d, "lib/a.yaml", V);
    write(d, "lib/b.yaml", V);
    write(d, "lib/sub/z.yaml", V);
    let r = run(&d.join("app/main.yaml"));
    assert_eq!(
        r.codes(),
        [("unknown-repository", "imports[0].repository".to_string())]
    );
    for file in ["/lib/a.yaml", "/lib/b.yaml", "/lib/sub/z.yaml"] {
        assert!(r.names(d).iter().any(|n| n == file), "{:?}", r.names(d));
    }
    let main = r.by_suffix("/app/main.yaml").id;
    let names: Vec<String> = repositories::visible(&r.loaded().files, main)
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["lib", "deep", "ns:lib", "ns:deep"]);
}

#[test]
fn file_urls_work_for_entries_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib.yaml");
    write(dir.path(), "lib.yaml", V);
    write(
        dir.path(),
        "main.yaml",
        &format!("{V}imports: ['file://{}']\n", lib.display()),
    );
    let sources = Sources::default();
    let mut problems = Problems::new();
    let entry = format!("file://{}", dir.path().join("main.yaml").display());
    let loaded = load(&entry, &LoadOptions::default(), &sources, &mut problems).unwrap();
    assert!(problems.is_empty(), "{}", problems.render_text(&sources));
    assert_eq!(loaded.files.len(), 2);
}

#[test]
fn an_unreadable_entry_gives_none_and_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&dir.path().join("nope.yaml"));
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("entry-not-found", String::new())]);
    let r = run(dir.path());
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("entry-unreadable", String::new())]);
    write(dir.path(), "bad.yaml", "a: [\n");
    let r = run(&dir.path().join("bad.yaml"));
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("yaml-syntax", String::new())]);
    let sources = Sources::default();
    let options = LoadOptions::default();
    let mut problems = Problems::new();
    assert!(
        load(
            "ftp://example.com/a.yaml",
            &options,
            &sources,
            &mut problems
        )
        .is_none()
    );
    assert_eq!(problems.iter().next().unwrap().code, "unsupported-url");
}

fn declares(name: &str) -> String {
    format!("{V}profile: {name}\n")
}

#[test]
fn profiles_come_from_profile_paths_and_siblings() {
    let profiles = tempfile::tempdir().unwrap();
    let app = tempfile::tempdir().unwrap();
    write(
        profiles.path(),
        "org.x-1/profile.yaml",
        &format!("{}imports: [types.yaml]\n", declares("org.x:1")),
    );
    write(profiles.path(), "org.x-1/types.yaml", V);
    write(app.path(), "sibling.yaml", &declares("org.sibling:1"));
    write(
        app.path(),
        "main.yaml",
        &format!(
            "{V}imports:\n- profile: org.x:1\n  namespace: x\n- profile: org.sibling:1\n- profile: org.unknown:9\n"
        ),
    );
    let options = LoadOptions {
        profile_paths: vec![profiles.path().to_path_buf()],
        ..Default::default()
    };
    let r = run_with(&app.path().join("main.yaml"), options);
    assert_eq!(
        r.codes(),
        [("unknown-profile", "imports[2].profile".to_string())]
    );
    let message = &r.problems.iter().next().unwrap().message;
    assert!(
        message.contains("org.unknown:9") && message.contains("org.x:1"),
        "{message}"
    );
    let main = &r.loaded().files[0];
    assert_eq!(main.imports.len(), 2);
    assert_eq!(main.imports[0].namespace.as_deref(), Some("x"));
    let profile = r.by_suffix("org.x-1/profile.yaml");
    assert_eq!(profile.profile.as_deref(), Some("org.x:1"));
    assert_eq!(main.imports[0].file, profile.id);
    assert_eq!(
        profile.imports[0].file,
        r.by_suffix("types.yaml").id,
        "a profile spans its imports"
    );
    assert_eq!(
        r.by_suffix("sibling.yaml").profile.as_deref(),
        Some("org.sibling:1")
    );
    let loaded = r.loaded();
    assert_eq!(
        r.by_suffix("types.yaml").profile,
        None,
        "it declares none itself"
    );
    assert_eq!(
        loaded.profile_of(r.by_suffix("types.yaml").id),
        Some("org.x:1")
    );
    assert_eq!(loaded.profile_of(loaded.entry), None);
}

#[test]
fn a_nested_profile_keeps_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "outer.yaml",
        &format!("{}imports: [inner.yaml, helper.yaml]\n", declares("outer")),
    );
    write(
        dir.path(),
        "inner.yaml",
        &format!("{}imports: [deep.yaml]\n", declares("inner")),
    );
    write(dir.path(), "helper.yaml", V);
    write(dir.path(), "deep.yaml", V);
    let r = run(&dir.path().join("outer.yaml"));
    r.assert_clean();
    let loaded = r.loaded();
    let of = |suffix: &str| loaded.profile_of(r.by_suffix(suffix).id);
    assert_eq!(of("/outer.yaml"), Some("outer"));
    assert_eq!(of("/helper.yaml"), Some("outer"));
    assert_eq!(of("/inner.yaml"), Some("inner"));
    assert_eq!(of("/deep.yaml"), Some("inner"));
}

#[test]
fn built_in_profiles_are_indexed_from_the_profiles_folder() {
    let mut store = Store::default();
    let mut catalog = Catalog::new(Vec::new(), None);
    for path in built_in::paths() {
        let text = built_in::get(path).unwrap();
        if let Some(name) = catalog::declared_profile(text) {
            let found = catalog.find(&name, &mut store);
            assert!(found.iter().any(|l| l.path == path), "{name} → {found:?}");
        }
    }
}

const META: &str = "CSAR-Version: 2.0\nCreated-By: test\nEntry-Definitions: app/main.yaml\nOther-Definitions: other.yaml\n";

fn csar_files(meta_path: Option<&str>) -> Vec<(&str, String)> {
    let mut files = vec![
        (
            "app/main.yaml",
            format!("{V}imports:\n- ../types/t.yaml\n- /types/u.yaml\n- profile: inside:1\n"),
        ),
        ("types/t.yaml", V.to_string()),
        ("types/u.yaml", V.to_string()),
        ("profiles/inside.yaml", declares("inside:1")),
        ("other.yaml", format!("{V}imports: [types/t.yaml]\n")),
    ];
    if let Some(path) = meta_path {
        files.push((path, META.to_string()));
    }
    files
}

fn write_archive(
    dir: &Path,
    name: &str,
    format: Format,
    files: &[(&str, String)],
) -> std::path::PathBuf {
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let path = dir.join(name);
    std::fs::write(&path, build(format, &borrowed)).unwrap();
    path
}

#[test]
fn csars_load_in_every_format_with_tosca_meta() {
    let dir = tempfile::tempdir().unwrap();
    for (format, name, meta) in [
        (Format::Zip, "a.csar", "TOSCA.meta"),
        (Format::Tar, "b.tar", "TOSCA-Metadata/TOSCA.meta"),
        (Format::TarGz, "c.tgz", "TOSCA.meta"),
        (Format::Zip, "no-extension.bin", "TOSCA-Metadata/TOSCA.meta"),
    ] {
        let path = write_archive(dir.path(), name, format, &csar_files(Some(meta)));
        let r = run(&path);
        r.assert_clean();
        let loaded = r.loaded();
        let entry = &loaded.files[0];
        assert!(
            entry.location.ends_with(&format!("{name}!/app/main.yaml")),
            "{}",
            entry.location
        );
        assert_eq!(entry.imports.len(), 3, "{name}");
        assert_eq!(
            r.by_suffix("!/profiles/inside.yaml").profile.as_deref(),
            Some("inside:1")
        );
        assert_eq!(loaded.other_definitions, [r.by_suffix("!/other.yaml").id]);
        assert_eq!(loaded.files.len(), 5, "t.yaml is shared, so it loads once");
    }
}

#[test]
fn a_csar_without_tosca_meta_needs_exactly_one_root_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let one = [
        ("service.yaml", format!("{V}imports: [types/t.yaml]\n")),
        ("types/t.yaml", V.to_string()),
    ];
    let r = run(&write_archive(dir.path(), "one.zip", Format::Zip, &one));
    r.assert_clean();
    assert_eq!(r.loaded().files.len(), 2);

    let two = [("a.yaml", V.to_string()), ("b.yml", V.to_string())];
    let r = run(&write_archive(
        dir.path(),
        "two.tar.gz",
        Format::TarGz,
        &two,
    ));
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("invalid-csar", String::new())]);
    assert!(
        r.problems
            .iter()
            .next()
            .unwrap()
            .message
            .contains("a.yaml, b.yml")
    );

    let none = [("types/t.yaml", V.to_string())];
    let r = run(&write_archive(dir.path(), "none.tar", Format::Tar, &none));
    assert!(r.loaded.is_none());
    assert!(
        r.problems
            .iter()
            .next()
            .unwrap()
            .message
            .contains("no YAML file at its root")
    );
}

#[test]
fn csar_problems_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let escaping = [("main.yaml", format!("{V}imports: [../../outside.yaml]\n"))];
    let r = run(&write_archive(
        dir.path(),
        "escape.zip",
        Format::Zip,
        &escaping,
    ));
    // `../` stops at the archive root, so nothing outside the archive is ever read.
    assert_eq!(
        r.codes(),
        [("import-not-found", "imports[0].url".to_string())]
    );
    assert!(
        r.problems
            .iter()
            .next()
            .unwrap()
            .message
            .contains("stops at the repository root")
    );

    let wrong_entry = [
        (
            "TOSCA.meta",
            "CSAR-Version: 2.0\nCreated-By: t\nEntry-Definitions: nope.yaml\n".to_string(),
        ),
        ("main.yaml", V.to_string()),
    ];
    let r = run(&write_archive(
        dir.path(),
        "wrong.zip",
        Format::Zip,
        &wrong_entry,
    ));
    assert!(r.loaded.is_none());
    assert_eq!(
        r.codes(),
        [("invalid-csar", "Entry-Definitions".to_string())]
    );
    let problem = r.problems.iter().next().unwrap();
    assert!(
        r.sources
            .locate(problem.span)
            .ends_with("wrong.zip!/TOSCA.meta:3:1")
    );

    let both = [
        ("TOSCA.meta", META.to_string()),
        ("TOSCA-Metadata/TOSCA.meta", META.to_string()),
    ];
    let r = run(&write_archive(dir.path(), "both.zip", Format::Zip, &both));
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("invalid-csar", String::new())]);

    let path = dir.path().join("corrupt.csar");
    let mut bytes = build(Format::Zip, &[("a.yaml", V)]);
    bytes.truncate(30);
    std::fs::write(&path, bytes).unwrap();
    let r = run(&path);
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("invalid-csar", String::new())]);
}

#[test]
fn the_built_in_khutulun_profile_loads_by_name() {
    if !built_in::paths().any(|p| p.starts_with("/khutulun/")) {
        println!("skipped: profiles/khutulun is not in this checkout");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sources = Sources::default();
    let mut problems = Problems::new();
    let loaded = load_text(
        dir.path().join("main.yaml").to_str().unwrap(),
        &format!("{V}imports:\n- profile: khutulun\n  namespace: k\n"),
        &LoadOptions::default(),
        &sources,
        &mut problems,
    )
    .unwrap();
    assert!(problems.is_empty(), "{}", problems.render_text(&sources));
    let imported = &loaded.files[0].imports;
    assert!(!imported.is_empty());
    assert!(imported.iter().all(|i| i.namespace.as_deref() == Some("k")));
    let profile = loaded
        .files
        .iter()
        .find(|f| f.location == "builtin:/khutulun/profile.yaml")
        .expect("the profile's main file is loaded");
    assert_eq!(profile.profile.as_deref(), Some("khutulun"));
}

#[test]
fn a_missing_profile_path_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "main.yaml", V);
    let options = LoadOptions {
        profile_paths: vec![dir.path().join("no-such-dir")],
        ..Default::default()
    };
    let r = run_with(&dir.path().join("main.yaml"), options);
    assert_eq!(r.codes(), [("profile-path-not-found", String::new())]);
    assert!(r.loaded.is_some());
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Pieces an import list is made of, good and bad.
    fn piece() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "- a.yaml\n",
            "- ../a.yaml\n",
            "- /a.yaml\n",
            "- sub/b.yaml\n",
            "- main.yaml\n",
            "- file:///nonexistent/x.yaml\n",
            "- https://example.com/x.yaml\n",
            "- profile: p:1\n",
            "- {profile: p:1, namespace: n}\n",
            "- {url: a.yaml, repository: r}\n",
            "- {url: a.yaml, profile: p:1}\n",
            "- {url: ''}\n",
            "- [1, 2]\n",
            "- ~\n",
            "- {url: a.yaml, metadata: 3}\n",
            "- {url: 'file:x'}\n",
        ])
        .prop_map(str::to_string)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn loading_any_import_list_terminates_without_panicking(
            pieces in prop::collection::vec(piece(), 0..8),
            a_imports in prop::collection::vec(piece(), 0..4),
            repositories in prop::sample::select(vec!["", "repositories: {r: sub}\n", "repositories: 3\n"]),
        ) {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "a.yaml", &format!("{V}{repositories}imports:\n{}", a_imports.concat()));
            write(dir.path(), "sub/b.yaml", &format!("{V}imports: [../a.yaml, /main.yaml]\n"));
            write(dir.path(), "sub/a.yaml", &declares("p:1"));
            let text = format!("{V}{repositories}imports:\n{}", pieces.concat());
            let sources = Sources::default();
            let mut problems = Problems::new();
            let name = dir.path().join("main.yaml");
            let loaded = load_text(name.to_str().unwrap(), &text, &LoadOptions::default(), &sources, &mut problems);
            let loaded = loaded.expect("the entry always parses");
            let mut locations: Vec<&str> = loaded.files.iter().map(|f| f.location.as_str()).collect();
            let count = locations.len();
            locations.sort();
            locations.dedup();
            prop_assert_eq!(locations.len(), count, "each file loads once");
        }
    }
}

#[test]
fn profiles_packed_as_csars_in_a_profile_path_are_found() {
    let profiles = tempfile::tempdir().unwrap();
    let app = tempfile::tempdir().unwrap();
    let packed = [
        (
            "TOSCA.meta",
            "CSAR-Version: 2.0\nCreated-By: t\nEntry-Definitions: profile.yaml\n".to_string(),
        ),
        (
            "profile.yaml",
            format!("{}imports: [/types/t.yaml]\n", declares("org.z:1")),
        ),
        ("types/t.yaml", V.to_string()),
    ];
    std::fs::create_dir(profiles.path().join("nested")).unwrap();
    write_archive(
        &profiles.path().join("nested"),
        "z.tgz",
        Format::TarGz,
        &packed,
    );
    write(profiles.path(), "garbage.zip", "not an archive at all");
    write(
        app.path(),
        "main.yaml",
        &format!("{V}imports:\n- profile: org.z:1\n"),
    );
    let options = LoadOptions {
        profile_paths: vec![profiles.path().to_path_buf()],
        ..Default::default()
    };
    let r = run_with(&app.path().join("main.yaml"), options);
    r.assert_clean();
    let profile = r.by_suffix("z.tgz!/profile.yaml");
    assert_eq!(profile.profile.as_deref(), Some("org.z:1"));
    assert_eq!(
        profile.imports[0].file,
        r.by_suffix("z.tgz!/types/t.yaml").id,
        "a leading / inside a packed profile is the archive root"
    );
}
