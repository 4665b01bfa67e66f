//! Loader tests over http: entries, imports and repositories served by a real HTTP server on
//! 127.0.0.1 (see [`super::test_server`]).

use super::csar::Format;
use super::csar::tests::build;
use super::test_server::TestServer;
use super::*;

const V: &str = "tosca_definitions_version: tosca_2_0\n";

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

    fn locations(&self) -> Vec<&str> {
        let loaded = self.loaded.as_ref().expect("the entry loads");
        loaded.files.iter().map(|f| f.location.as_str()).collect()
    }

    fn assert_clean(&self) {
        assert!(
            self.problems.is_empty(),
            "{}",
            self.problems.render_text(&self.sources)
        );
    }

    fn only_message(&self) -> &str {
        let mut problems = self.problems.iter();
        let first = problems.next().expect("a problem");
        assert!(problems.next().is_none(), "{}", self.render());
        &first.message
    }

    fn render(&self) -> String {
        self.problems.render_text(&self.sources)
    }
}

fn run(entry: &str) -> Run {
    run_with(entry, &LoadOptions::default())
}

fn run_with(entry: &str, options: &LoadOptions) -> Run {
    let sources = Sources::default();
    let mut problems = Problems::new();
    let loaded = load(entry, options, &sources, &mut problems);
    Run {
        loaded,
        problems,
        sources,
    }
}

#[test]
fn an_entry_fetched_by_url_imports_relative_parent_and_rooted_files() {
    let server = TestServer::start();
    server.put(
        "app/main.yaml",
        format!("{V}imports:\n- types/t.yaml\n- ../common/c.yaml\n- /top.yaml\n- ../../../common/c.yaml\n"),
    );
    // A network-path reference (`//host:port/…`) keeps the scheme: the entry, once more.
    let network_path = server.origin.replace("http:", "");
    server.put(
        "app/types/t.yaml",
        format!("{V}imports: [../../top.yaml, '{network_path}/app/main.yaml']\n"),
    );
    server.put("common/c.yaml", V);
    server.put("top.yaml", V);
    let r = run(&server.url("/app/main.yaml"));
    r.assert_clean();
    let o = &server.origin;
    assert_eq!(
        r.locations(),
        [
            format!("{o}/app/main.yaml"),
            format!("{o}/app/types/t.yaml"),
            format!("{o}/common/c.yaml"),
            format!("{o}/top.yaml"),
        ],
        "`../` past the server's root stays at the root"
    );
    for path in [
        "/app/main.yaml",
        "/app/types/t.yaml",
        "/common/c.yaml",
        "/top.yaml",
    ] {
        assert_eq!(server.requests(path), 1, "{path} is fetched once");
    }
}

#[test]
fn a_repository_url_is_the_root_of_what_is_imported_through_it() {
    let server = TestServer::start();
    server.put(
        "base/lib/a.yaml",
        format!("{V}imports: [/b.yaml, ../../c.yaml, d.yaml]\n"),
    );
    server.put("base/b.yaml", V);
    server.put("base/c.yaml", V);
    server.put("base/lib/d.yaml", V);
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.yaml");
    std::fs::write(
        &main,
        format!(
            "{V}repositories:\n  r: {}/base/\nimports:\n- url: lib/a.yaml\n  repository: r\n- {}/base/b.yaml\n",
            server.origin, server.origin
        ),
    )
    .unwrap();
    let r = run(main.to_str().unwrap());
    r.assert_clean();
    let o = &server.origin;
    assert_eq!(
        &r.locations()[1..],
        [
            format!("{o}/base/lib/a.yaml"),
            format!("{o}/base/b.yaml"),
            format!("{o}/base/c.yaml"),
            format!("{o}/base/lib/d.yaml"),
        ],
        "a leading / and a clamped ../ are the repository's URL"
    );
    let loaded = r.loaded.as_ref().unwrap();
    assert_eq!(loaded.files[0].imports.len(), 2);
    assert_eq!(
        loaded.files[0].imports[1].file, loaded.files[2].id,
        "one file imported by URL and through the repository is one file"
    );
}

#[test]
fn a_missing_import_is_reported_at_the_import_with_the_status() {
    let server = TestServer::start();
    server.put(
        "main.yaml",
        format!("{V}imports:\n- ok.yaml\n- url: gone.yaml\n"),
    );
    server.put("ok.yaml", V);
    let r = run(&server.url("/main.yaml"));
    assert_eq!(
        r.codes(),
        [("import-not-found", "imports[1].url".to_string())]
    );
    let problem = r.problems.iter().next().unwrap();
    assert_eq!((problem.span.line, problem.span.column), (4, 8));
    assert_eq!(
        problem.message,
        format!(
            "cannot import \"gone.yaml\": cannot fetch {}: the server answered HTTP 404 Not Found",
            server.url("/gone.yaml")
        )
    );
    assert!(
        r.render().starts_with(&format!(
            "{}:4:8: error[import-not-found]",
            server.url("/main.yaml")
        )),
        "{}",
        r.render()
    );
    assert_eq!(r.locations().len(), 2, "the good import still loads");
}

#[test]
fn an_unreachable_server_is_reported_clearly() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.yaml");
    std::fs::write(
        &main,
        format!("{V}imports: ['http://127.0.0.1:{port}/a.yaml']\n"),
    )
    .unwrap();
    let r = run(main.to_str().unwrap());
    assert_eq!(
        r.codes(),
        [("import-unreachable", "imports[0].url".to_string())]
    );
    assert!(
        r.only_message().contains("the connection was refused"),
        "{}",
        r.render()
    );
    let r = run(&format!("http://127.0.0.1:{port}/main.yaml"));
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("entry-unreachable", String::new())]);
    assert!(r.only_message().contains("refused"), "{}", r.render());
}

#[test]
fn a_missing_entry_and_a_binary_file_are_problems() {
    let server = TestServer::start();
    server.put("binary.yaml", [0xff, 0xfe, 0x00]);
    server.put("main.yaml", format!("{V}imports: [binary.yaml]\n"));
    let r = run(&server.url("/nope.yaml"));
    assert!(r.loaded.is_none());
    assert_eq!(r.codes(), [("entry-not-found", String::new())]);
    assert!(r.only_message().contains("HTTP 404"), "{}", r.render());
    let r = run(&server.url("/binary.yaml"));
    assert_eq!(r.codes(), [("entry-unreadable", String::new())]);
    let r = run(&server.url("/main.yaml"));
    assert_eq!(
        r.codes(),
        [("import-unreadable", "imports[0].url".to_string())]
    );
    assert!(r.only_message().contains("not UTF-8"), "{}", r.render());
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let server = TestServer::start();
    server.put("main.yaml", format!("{V}imports: [big.yaml]\n"));
    server.put("big.yaml", format!("{V}description: {}\n", "x".repeat(100)));
    let options = LoadOptions {
        fetch: FetchLimits {
            max_bytes: 64,
            ..FetchLimits::default()
        },
        ..LoadOptions::default()
    };
    let r = run_with(&server.url("/main.yaml"), &options);
    assert_eq!(
        r.codes(),
        [("import-unreadable", "imports[0].url".to_string())]
    );
    assert!(
        r.only_message().ends_with("is larger than 64 bytes"),
        "{}",
        r.render()
    );
}

#[test]
fn other_schemes_stay_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.yaml");
    std::fs::write(
        &main,
        format!("{V}repositories:\n  g: git://example.com/r\nimports:\n- ftp://example.com/a.yaml\n- url: b.yaml\n  repository: g\n- 'https:no-host.yaml'\n"),
    )
    .unwrap();
    let r = run(main.to_str().unwrap());
    assert_eq!(
        r.codes(),
        [
            ("unsupported-url", "imports[0].url".to_string()),
            ("unsupported-url", "repositories.g.url".to_string()),
            ("invalid-import", "imports[2].url".to_string()),
        ]
    );
    let r = run("ftp://example.com/a.yaml");
    assert_eq!(r.codes(), [("unsupported-url", String::new())]);
}

#[test]
fn a_csar_given_by_url_is_downloaded_and_opened() {
    let server = TestServer::start();
    let files = [
        (
            "TOSCA.meta",
            "CSAR-Version: 2.0\nCreated-By: test\nEntry-Definitions: app/main.yaml\n".to_string(),
        ),
        ("app/main.yaml", format!("{V}imports: [../types/t.yaml]\n")),
        ("types/t.yaml", V.to_string()),
    ];
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    server.put("pkg/app.csar", build(Format::Zip, &borrowed));
    let r = run(&server.url("/pkg/app.csar"));
    r.assert_clean();
    let csar = server.url("/pkg/app.csar");
    assert_eq!(
        r.locations(),
        [
            format!("{csar}!/app/main.yaml"),
            format!("{csar}!/types/t.yaml")
        ]
    );
}
