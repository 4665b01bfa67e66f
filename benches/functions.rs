//! How fast validation clauses and scalar values are checked: the work the type checker does
//! once per property value.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use khutulun::tosca::data::ScalarUnits;
use khutulun::tosca::functions::{TypeHint, Typed, ValueContext, evaluate_condition, parse_expr};
use khutulun::tosca::source::FileId;
use khutulun::tosca::value::{Value, ValueKind};
use khutulun::tosca::yaml;

fn yaml(text: &str) -> Value {
    yaml::parse(text, FileId(0)).expect("bench YAML parses")
}

fn benches(c: &mut Criterion) {
    let clause = yaml(
        "$and:\n- $greater_or_equal: [ $value, 0 ]\n- $less_or_equal: [ $value, 0xFFFF ]\n- $valid_values: [ { $remainder: [ $value, 4 ] }, [ 0, 2 ] ]\n",
    );
    c.bench_function("parse and evaluate an integer validation clause", |b| {
        b.iter(|| {
            let expr = parse_expr(black_box(&clause)).expect("valid clause");
            let value = Typed::plain(Value::new(ValueKind::Integer(8080)));
            evaluate_condition(&expr, &mut ValueContext::new(value)).expect("evaluates")
        })
    });

    let units = Arc::new(
        ScalarUnits::from_definition(
            &yaml("{ B: 1 }"),
            Some(&yaml("{ '': 1, k: 1000, Ki: 1024, M: 1000000, Mi: 1048576, G: 1000000000, Gi: 1073741824 }")),
            None,
            Some("integer"),
        )
        .expect("valid units"),
    );
    let scalar_clause =
        parse_expr(&yaml("{ $less_or_equal: [ $value, 4 GiB ] }")).expect("valid clause");
    c.bench_function("evaluate a scalar validation clause", |b| {
        b.iter(|| {
            let value = Typed::hinted(Value::string("512 MiB"), TypeHint::Scalar(units.clone()));
            evaluate_condition(black_box(&scalar_clause), &mut ValueContext::new(value))
                .expect("evaluates")
        })
    });
}

criterion_group!(functions, benches);
criterion_main!(functions);
