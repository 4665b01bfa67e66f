//! TOSCA processor benchmarks on generated services of 1,000, 10,000 and 100,000 node
//! templates: parsing alone (the floor the later stages are compared with), validation,
//! compilation (validation, requirement fulfilment, topology), instantiation of a compiled
//! topology, and compile + instantiate together (the bar). Throughput is reported in
//! node templates, so criterion prints the cost per template directly.
//!
//! Run with `cargo bench --bench tosca`; record results in benches/RESULTS.md.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use khutulun::tosca::source::FileId;
use khutulun::tosca::{Options, compile_text, validate_text, yaml};

#[path = "support/service.rs"]
mod service;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Measures `stage` on generated services of every size, 10 samples each.
fn stage<T, R>(
    c: &mut Criterion,
    name: &str,
    prepare: impl Fn(String) -> T,
    mut run: impl FnMut(&T) -> R,
) {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for size in SIZES {
        let input = prepare(service::service(size));
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &input, |b, input| {
            b.iter(|| run(input));
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    stage(
        c,
        "parse",
        |text| text,
        |text| yaml::parse(text, FileId(0)).expect("the generated service is YAML"),
    );
}

fn validate(c: &mut Criterion) {
    let options = Options::default();
    stage(
        c,
        "validate",
        |text| text,
        |text| validate_text("generated.yaml", text, &options),
    );
}

fn compile(c: &mut Criterion) {
    let options = Options::default();
    stage(
        c,
        "compile",
        |text| text,
        |text| compile_text("generated.yaml", text, &options),
    );
}

fn instantiate(c: &mut Criterion) {
    let options = Options::default();
    stage(
        c,
        "instantiate",
        |text| {
            let report = compile_text("generated.yaml", &text, &options);
            assert!(report.is_valid(), "{}", report.render_text());
            report.compiled.expect("a compiled service")
        },
        |compiled| {
            compiled
                .instantiate()
                .expect("the generated service instantiates")
        },
    );
}

fn compile_and_instantiate(c: &mut Criterion) {
    let options = Options::default();
    stage(
        c,
        "compile+instantiate",
        |text| text,
        |text| {
            let report = compile_text("generated.yaml", text, &options);
            report
                .compiled
                .expect("a compiled service")
                .instantiate()
                .expect("the generated service instantiates")
        },
    );
}

criterion_group!(
    benches,
    parse,
    validate,
    compile,
    instantiate,
    compile_and_instantiate
);
criterion_main!(benches);
