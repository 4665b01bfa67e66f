//! TOSCA processor benchmarks on generated services of 1,000, 10,000 and 100,000 node
//! templates: parsing alone (the floor the later stages are compared with) and validation.
//! Compile and instantiate join as the processor grows them. Throughput is
//! reported in node templates, so criterion prints the cost per template directly.
//!
//! Run with `cargo bench --bench tosca`; record results in benches/RESULTS.md.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use khutulun::tosca::source::FileId;
use khutulun::tosca::{Options, validate_text, yaml};

#[path = "support/service.rs"]
mod service;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for size in SIZES {
        let text = service::service(size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| yaml::parse(text, FileId(0)).expect("the generated service is YAML"));
        });
    }
    group.finish();
}

fn validate(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    let options = Options::default();
    for size in SIZES {
        let text = service::service(size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| validate_text("generated.yaml", text, &options));
        });
    }
    group.finish();
}

criterion_group!(benches, parse, validate);
criterion_main!(benches);
