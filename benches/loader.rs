//! How fast the TOSCA loader reads a template with many imports, as plain files and as a CSAR.
//!
//! The fixture is generated: an entry importing 100 type files (each with 20 node types, about
//! 4 KB), half of them also importing a shared file, so dedupe is exercised too.

use std::hint::black_box;
use std::io::Write as _;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use khutulun::tosca::loader::{LoadOptions, load};
use khutulun::tosca::problem::Problems;
use khutulun::tosca::source::Sources;

const FILES: usize = 100;

fn fixture() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut entry = String::from("tosca_definitions_version: tosca_2_0\nimports:\n");
    for i in 0..FILES {
        entry.push_str(&format!("- url: types/t{i}.yaml\n  namespace: n{i}\n"));
        let mut text = String::from("tosca_definitions_version: tosca_2_0\n");
        if i % 2 == 0 {
            text.push_str("imports: [shared.yaml]\n");
        }
        text.push_str("node_types:\n");
        for j in 0..20 {
            text.push_str(&format!(
                "  Type{j}:\n    properties:\n      p:\n        type: string\n        default: value {j}\n"
            ));
        }
        files.push((format!("types/t{i}.yaml"), text));
    }
    files.push((
        "types/shared.yaml".into(),
        "tosca_definitions_version: tosca_2_0\n".into(),
    ));
    files.push(("main.yaml".into(), entry));
    files
}

fn load_once(entry: &Path) {
    let sources = Sources::default();
    let mut problems = Problems::new();
    let loaded = load(
        entry.to_str().expect("UTF-8 path"),
        &LoadOptions::default(),
        &sources,
        &mut problems,
    )
    .expect("loads");
    assert!(problems.is_empty());
    assert_eq!(loaded.files.len(), FILES + 2);
    black_box(loaded);
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let files = fixture();
    for (name, text) in &files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let csar = dir.path().join("service.csar");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&csar).expect("create"));
    for (name, text) in &files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.start_file("TOSCA.meta", zip::write::SimpleFileOptions::default())
        .expect("zip entry");
    zip.write_all(b"CSAR-Version: 2.0\nCreated-By: bench\nEntry-Definitions: main.yaml\n")
        .expect("zip write");
    zip.finish().expect("zip finish");

    let entry = dir.path().join("main.yaml");
    c.bench_function("load 102 plain files", |b| b.iter(|| load_once(&entry)));
    c.bench_function("load 102 files from a zip CSAR", |b| {
        b.iter(|| load_once(&csar))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
