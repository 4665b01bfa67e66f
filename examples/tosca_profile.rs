//! A small driver for profiling the TOSCA processor: generates a service of N node templates
//! (default 10,000), then parses, compiles and instantiates it, printing the time of each stage.
//! Meant for `valgrind --tool=callgrind` or `perf record`, which need a plain process rather
//! than criterion's harness:
//!
//! `cargo build --release --example tosca_profile && valgrind --tool=callgrind
//! target/release/examples/tosca_profile 10000`
//!
//! Usage: `tosca_profile [N] [all|parse|compile]` runs the stages (default: 10,000, all);
//! `tosca_profile N write FILE` only writes the generated service to FILE (for timing the
//! command line on it: `benches/tosca-cli.sh`, with `examples/yaml_parse.rs` as the floor).

use std::time::Instant;

use khutulun::tosca::source::FileId;
use khutulun::tosca::{Options, compile_text, yaml};

#[path = "../benches/support/service.rs"]
mod service;

fn main() {
    let size: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("the size is a number"))
        .unwrap_or(10_000);
    let stage = std::env::args().nth(2).unwrap_or_else(|| "all".into());
    let text = service::service(size);
    if stage == "write" {
        let file = std::env::args()
            .nth(3)
            .expect("usage: tosca_profile N write FILE");
        std::fs::write(&file, &text).expect("the file can be written");
        return;
    }
    let options = Options::default();

    if stage == "all" || stage == "parse" {
        let start = Instant::now();
        let value = yaml::parse(&text, FileId(0)).expect("the generated service is YAML");
        println!("parse: {:?}", start.elapsed());
        drop(value);
    }
    if stage == "all" || stage == "compile" {
        let start = Instant::now();
        let report = compile_text("generated.yaml", &text, &options);
        let compiled = report.compiled.expect("a compiled service");
        let compiled_at = start.elapsed();
        let instances = compiled
            .instantiate()
            .expect("the generated service instantiates");
        println!(
            "compile: {compiled_at:?}, compile+instantiate: {:?}",
            start.elapsed()
        );
        drop(instances);
    }
}
