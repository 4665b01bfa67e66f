//! A small driver for profiling the TOSCA processor: generates a service of N node templates
//! (default 10,000), then parses, compiles and instantiates it, printing the time of each stage.
//! Meant for `valgrind --tool=callgrind` or `perf record`, which need a plain process rather
//! than criterion's harness:
//!
//! `cargo build --release --example tosca_profile && valgrind --tool=callgrind
//! target/release/examples/tosca_profile 10000`

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
