//! Property tests on hostile input beyond YAML text: CSAR archives (zip, tar, tar.gz) as the
//! CLI's `tosca validate` reads them, import graphs inside a CSAR (the loader's in-memory
//! container), control request lines as the agent's server parses them, and store documents
//! as the store reads each record type. Each property runs a fixed number of cases; whatever
//! the input, the answer is a report, a request or an error that says what is wrong, never a
//! panic.

use std::io::{Cursor, Write};
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value as Json, json};

use khutulun::control::protocol::{Envelope, FailureKind, Request};
use khutulun::control::server::parse_request;
use khutulun::state::document;
use khutulun::state::records::{
    HostRecord, InstanceRecord, InstanceState, PlanRecord, ServicePhase, ServiceRecord,
};
use khutulun::tosca::{self, Options, Report};

const TOKEN: &str = "0123456789abcdef";
const TEMPLATE: &str = "tosca_definitions_version: tosca_2_0\n";
const META: &str = "CSAR-Version: 2.0\nCreated-By: fuzz\nEntry-Definitions: service.yaml\n";

/// `cases` cases per property, or `PROPTEST_CASES` when set (for a longer run by hand).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// The archive formats a CSAR comes in, with the extension the test gives each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zip,
    Tar,
    TarGz,
}

impl Kind {
    fn extension(self) -> &'static str {
        match self {
            Kind::Zip => "csar",
            Kind::Tar => "tar",
            Kind::TarGz => "tar.gz",
        }
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Zip), Just(Kind::Tar), Just(Kind::TarGz)]
}

/// An archive of `kind` holding `files` under their raw names (no checks on the names).
fn archive(kind: Kind, files: &[(String, String)]) -> Vec<u8> {
    match kind {
        Kind::Zip => zip_bytes(files),
        Kind::Tar => tar_bytes(files),
        Kind::TarGz => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tar_bytes(files)).unwrap();
            gz.finish().unwrap()
        }
    }
}

fn zip_bytes(files: &[(String, String)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in files {
        let options = zip::write::SimpleFileOptions::default();
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Tar entries whose name is written straight into the header (cut at 100 bytes), so that
/// names the `tar` builder would refuse (`../x`, `/etc/x`) can be tried.
fn tar_bytes(files: &[(String, String)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in files {
        let mut header = tar::Header::new_ustar();
        let raw = name.as_bytes();
        let n = raw.len().min(100);
        header.as_old_mut().name[..n].copy_from_slice(&raw[..n]);
        header.set_size(content.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, content.as_bytes()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn small_csar(kind: Kind) -> Vec<u8> {
    archive(
        kind,
        &[
            ("TOSCA-Metadata/TOSCA.meta".into(), META.into()),
            ("service.yaml".into(), TEMPLATE.into()),
        ],
    )
}

/// Validates `bytes` saved as `name` in a fresh directory, as `khutulun tosca validate` does,
/// and renders the report both ways.
fn validate_bytes(name: &str, bytes: &[u8]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let report = tosca::validate(path.to_str().unwrap(), &Options::default());
    let _ = report.render_text();
    let _ = report.render_json();
    report
}

/// Every problem says something, and an invalid report names the file it was given.
fn assert_clear(report: &Report, name: &str) {
    let json = report.render_json();
    for problem in json["problems"].as_array().unwrap() {
        let message = problem["message"].as_str().unwrap_or_default();
        assert!(
            !message.trim().is_empty(),
            "a problem without a message: {problem}"
        );
    }
    let text = report.render_text();
    assert!(
        report.is_valid() || text.contains(name),
        "{name} is not named:\n{text}"
    );
}

/// Bytes that start like one of the archive formats, or like nothing.
fn archive_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(b"PK\x03\x04".to_vec()),
        Just(b"PK\x05\x06".to_vec()),
        Just(vec![0x1f, 0x8b, 0x08, 0x00]),
        Just(Vec::new()),
    ];
    (prefix, prop::collection::vec(any::<u8>(), 0..1200)).prop_map(|(mut p, rest)| {
        p.extend(rest);
        p
    })
}

/// A valid small CSAR with bytes overwritten and maybe cut short.
fn mutated_csar() -> impl Strategy<Value = (Kind, Vec<u8>)> {
    let flips = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8);
    let cut = prop::option::of(any::<prop::sample::Index>());
    (kind(), flips, cut).prop_map(|(kind, flips, cut)| {
        let mut bytes = small_csar(kind);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        (kind, bytes)
    })
}

/// Entry names an archive should never be allowed to use, and some odd legal ones.
fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("../x.yaml".to_string()),
        Just("a/../../x.yaml".to_string()),
        Just("/etc/passwd".to_string()),
        Just("\\windows\\x.yaml".to_string()),
        Just("..".to_string()),
        Just("./.".to_string()),
        Just(String::new()),
        (1usize..5000).prop_map(|n| "a".repeat(n)),
        (1usize..400).prop_map(|n| "d/".repeat(n) + "x.yaml"),
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn arbitrary_bytes_as_an_archive_get_a_report(
        bytes in archive_like_bytes(),
        ext in prop_oneof![Just("csar"), Just("zip"), Just("tar"), Just("tar.gz")],
    ) {
        let name = format!("fuzz.{ext}");
        assert_clear(&validate_bytes(&name, &bytes), &name);
    }

    #[test]
    fn a_mutated_csar_gets_a_report((kind, bytes) in mutated_csar()) {
        let name = format!("fuzz.{}", kind.extension());
        assert_clear(&validate_bytes(&name, &bytes), &name);
    }

    #[test]
    fn hostile_entry_names_are_refused_or_harmless(kind in kind(), name in hostile_name()) {
        let files = vec![
            ("TOSCA-Metadata/TOSCA.meta".to_string(), META.to_string()),
            ("service.yaml".to_string(), TEMPLATE.to_string()),
            (name.clone(), TEMPLATE.to_string()),
        ];
        let csar = format!("fuzz.{}", kind.extension());
        let report = validate_bytes(&csar, &archive(kind, &files));
        assert_clear(&report, &csar);
        // A name ending in `/` (in a zip also `\\`) is a directory, skipped like every
        // non-file entry: nothing is made of it.
        let directory = name.ends_with('/') || (kind == Kind::Zip && name.ends_with('\\'));
        let climbs = name.starts_with('/') || name.starts_with("../") || name.starts_with("a/../../");
        if climbs && !directory {
            prop_assert!(!report.is_valid(), "{name:?} was accepted");
            prop_assert!(report.render_text().contains("fuzz."), "{}", report.render_text());
        }
    }
}

/// One import reference: a file of the graph, one that is missing, or one that climbs out.
fn reference(files: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        (0..files).prop_map(|i| format!("f{i}.yaml")),
        (0..files).prop_map(|i| format!("/f{i}.yaml")),
        (0..files).prop_map(|i| format!("sub/../f{i}.yaml")),
        (0..files).prop_map(|i| format!("missing{i}.yaml")),
        Just("../outside.yaml".to_string()),
        Just("../../../../etc/hostname".to_string()),
        Just("TOSCA-Metadata/TOSCA.meta".to_string()),
    ]
}

/// A graph of files `f0.yaml`… in a CSAR, each importing a few references (cycles included).
fn import_graph() -> impl Strategy<Value = Vec<Vec<String>>> {
    (1usize..6).prop_flat_map(|files| {
        prop::collection::vec(prop::collection::vec(reference(files), 0..4), files)
    })
}

fn graph_csar(graph: &[Vec<String>]) -> Vec<u8> {
    let meta = "CSAR-Version: 2.0\nCreated-By: fuzz\nEntry-Definitions: f0.yaml\n";
    let mut files = vec![("TOSCA-Metadata/TOSCA.meta".to_string(), meta.to_string())];
    for (i, imports) in graph.iter().enumerate() {
        let mut text = TEMPLATE.to_string();
        if !imports.is_empty() {
            text.push_str("imports:\n");
        }
        for reference in imports {
            text.push_str(&format!("  - url: {}\n", Json::String(reference.clone())));
        }
        files.push((format!("f{i}.yaml"), text));
    }
    zip_bytes(&files)
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn import_graphs_in_a_csar_get_a_report_naming_the_missing(graph in import_graph()) {
        let report = validate_bytes("graph.csar", &graph_csar(&graph));
        assert_clear(&report, "graph.csar");
        let text = report.render_text();
        for reference in &graph[0] {
            if reference.starts_with("missing") {
                prop_assert!(!report.is_valid());
                prop_assert!(text.contains(reference.as_str()), "{reference} not named:\n{text}");
            }
        }
    }
}

/// JSON trees a few levels deep, with keys the protocol uses now and then.
fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        prop_oneof![
            Just("ping".to_string()),
            Just("deploy".to_string()),
            Just(TOKEN.to_string()),
            "\\PC{0,12}",
        ]
        .prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        let key = prop_oneof![
            Just("token".to_string()),
            Just("request".to_string()),
            Just("service".to_string()),
            Just("namespace".to_string()),
            "[a-z_]{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// A request line: arbitrary JSON, or an envelope with the right token around an arbitrary body.
fn request_line() -> impl Strategy<Value = String> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        json_value().prop_map(|body| json!({"token": TOKEN, "request": body}).to_string()),
        "\\PC{0,200}",
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// A valid ping line with bytes overwritten (kept UTF-8, as the server reads only text).
fn mutated_line() -> impl Strategy<Value = String> {
    let envelope = Envelope {
        token: TOKEN.into(),
        request: Request::Ping,
    };
    let line = serde_json::to_string(&envelope).unwrap();
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6).prop_map(
        move |flips| {
            let mut bytes = line.clone().into_bytes();
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        },
    )
}

/// Parses `line` as the server does; a refusal is a bad request or a wrong token, said.
fn check_line(line: &str) {
    match parse_request(line, TOKEN) {
        Ok(_) => assert!(line.contains(TOKEN), "accepted without the token: {line}"),
        Err(failure) => {
            assert!(matches!(
                failure.kind,
                FailureKind::BadRequest | FailureKind::Unauthorized
            ));
            assert!(!failure.message.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_request_line_is_parsed_or_refused(line in request_line()) {
        check_line(&line);
        check_line(&format!("{line}\n"));
    }

    #[test]
    fn a_mutated_request_line_is_parsed_or_refused(line in mutated_line()) {
        check_line(&line);
    }
}

/// Valid store documents of each record type the store reads, rendered as the store writes.
fn valid_documents() -> Vec<(&'static str, Vec<u8>)> {
    let now = "2026-01-01T00:00:00Z";
    let host = HostRecord::new("h1", now);
    let plan = PlanRecord {
        version: 3,
        placements: [("web-0".to_string(), "h1".to_string())]
            .into_iter()
            .collect(),
        reasons: [("web-0".to_string(), "the only host".to_string())]
            .into_iter()
            .collect(),
    };
    let instance = InstanceRecord {
        state: InstanceState::Running,
        ..InstanceRecord::pending("web-0", "web", "h1", now)
    };
    vec![
        ("host", document::render(&host, 1).unwrap()),
        ("plan", document::render(&plan, 2).unwrap()),
        ("instance", document::render(&instance, 3).unwrap()),
        ("service", service_document(now)),
    ]
}

fn service_document(now: &str) -> Vec<u8> {
    let text = "tosca_definitions_version: tosca_2_0\nnode_types:\n  Web: {}\nservice_template:\n  node_templates:\n    web:\n      type: Web\n";
    let report = tosca::compile_text("service.yaml", text, &Options::default());
    let compiled = report
        .compiled
        .as_ref()
        .expect("the small service compiles");
    let service = ServiceRecord {
        namespace: "default".into(),
        name: "s".into(),
        template: "service.yaml".into(),
        inputs: Default::default(),
        created: now.into(),
        phase: ServicePhase::Active,
        on_failure: Default::default(),
        message: None,
        update: None,
        instantiation: compiled.instantiate().expect("it instantiates"),
    };
    document::render(&service, 4).unwrap()
}

/// Reads `bytes` as every record type; each answer is a record or an error naming the path.
fn check_document(bytes: &[u8]) {
    let path = Path::new("/store/services/default/s/fuzz.yaml");
    let errors = [
        document::parse::<ServiceRecord>(path, bytes).err(),
        document::parse::<InstanceRecord>(path, bytes).err(),
        document::parse::<PlanRecord>(path, bytes).err(),
        document::parse::<HostRecord>(path, bytes).err(),
        document::check(path, bytes).err(),
    ];
    for error in errors.into_iter().flatten() {
        let said = error.to_string();
        assert!(
            said.contains("fuzz.yaml"),
            "the error does not name the file: {said}"
        );
    }
}

fn mutated_document() -> impl Strategy<Value = Vec<u8>> {
    let flips = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6);
    let cut = prop::option::of(any::<prop::sample::Index>());
    (0usize..4, flips, cut).prop_map(|(which, flips, cut)| {
        let mut bytes = valid_documents().swap_remove(which).1;
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Some(at) = cut {
            bytes.truncate(at.index(bytes.len()));
        }
        bytes
    })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn arbitrary_bytes_as_a_store_document_are_an_error_naming_it(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        check_document(&bytes);
    }

    #[test]
    fn arbitrary_yaml_as_a_store_document_is_read_or_refused(value in json_value()) {
        let mut text = format!("format_version: 1\n{}", serde_yaml_ng::to_string(&value).unwrap());
        check_document(text.as_bytes());
        text.insert_str(0, "---\n");
        check_document(text.as_bytes());
    }

    #[test]
    fn a_mutated_store_document_is_read_or_refused(bytes in mutated_document()) {
        check_document(&bytes);
    }
}

#[test]
fn the_valid_store_documents_read_back() {
    let path = Path::new("/store/x.yaml");
    for (which, bytes) in valid_documents() {
        let read = match which {
            "host" => document::parse::<HostRecord>(path, &bytes).map(|_| ()),
            "plan" => document::parse::<PlanRecord>(path, &bytes).map(|_| ()),
            "instance" => document::parse::<InstanceRecord>(path, &bytes).map(|_| ()),
            _ => document::parse::<ServiceRecord>(path, &bytes).map(|_| ()),
        };
        assert!(read.is_ok(), "{which}: {read:?}");
    }
}

#[test]
fn the_small_csar_is_valid_in_every_format() {
    for kind in [Kind::Zip, Kind::Tar, Kind::TarGz] {
        let report = validate_bytes(&format!("ok.{}", kind.extension()), &small_csar(kind));
        assert!(report.is_valid(), "{kind:?}: {}", report.render_text());
    }
}
