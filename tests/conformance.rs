//! The OASIS TOSCA 2.0 conformance suite as a regression test.
//!
//! Every case of the suite's `expectations.tsv` runs through the processor; the cases whose
//! verdict agrees with the expectation must include every case committed in
//! `tests/conformance/passing.txt`. A case that newly agrees is printed as a hint to add it
//! (`scripts/conformance --update`). `scripts/conformance` prints the whole suite's summary.

#[path = "conformance/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::path::Path;

use harness::{Case, Comparison, Verdict};

fn case(name: &str, expect_valid: bool) -> Case {
    Case {
        name: name.to_string(),
        expect_valid,
    }
}

#[test]
fn expectations_are_read_line_by_line() {
    let cases =
        harness::parse_expectations("# a comment\n\na/b.yaml\tvalid\nc.yaml\tinvalid\n").unwrap();
    assert_eq!(cases, vec![case("a/b.yaml", true), case("c.yaml", false)]);
}

#[test]
fn a_malformed_expectation_names_its_line() {
    let error = harness::parse_expectations("a.yaml\tvalid\nb.yaml\tmaybe\n").unwrap_err();
    assert!(error.contains("line 2"), "{error}");
    let error = harness::parse_expectations("a.yaml valid\n").unwrap_err();
    assert!(error.contains("line 1"), "{error}");
}

#[test]
fn a_listed_case_that_stops_agreeing_is_a_regression() {
    let agreeing: BTreeSet<String> = ["a", "c"].map(String::from).into();
    let listed: BTreeSet<String> = ["a", "b"].map(String::from).into();
    assert_eq!(
        harness::compare(&agreeing, &listed),
        Comparison {
            regressions: vec!["b".into()],
            newly_passing: vec!["c".into()],
        }
    );
}

#[test]
fn the_passing_list_reads_back_what_was_rendered() {
    let cases: BTreeSet<String> = ["x/1.yaml", "a/2.yaml"].map(String::from).into();
    let text = harness::render_case_list(&cases);
    assert_eq!(harness::parse_case_list(&text), cases);
}

#[test]
fn every_case_runs_once_in_order_and_a_panic_is_a_disagreement() {
    let cases: Vec<Case> = (0..50)
        .map(|i| case(&format!("case-{i}.yaml"), i % 2 == 0))
        .collect();
    let outcomes = harness::run_cases(Path::new("/suite"), &cases, |file, profiles| {
        assert_eq!(profiles, Path::new("/suite/profiles"));
        let name = file.file_name().unwrap().to_str().unwrap();
        let number: usize = name["case-".len()..name.len() - ".yaml".len()]
            .parse()
            .unwrap();
        match number % 5 {
            0 => panic!("case {number} exploded"),
            1 | 2 => Verdict::Valid,
            _ => Verdict::Invalid("a problem".into()),
        }
    });
    assert_eq!(outcomes.len(), cases.len());
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.case, cases[i]);
        match i % 5 {
            0 => {
                assert_eq!(
                    outcome.verdict,
                    Verdict::Panicked(format!("case {i} exploded"))
                );
                assert!(!outcome.agrees());
                assert!(outcome.describe_disagreement().contains("panicked"));
            }
            1 | 2 => assert_eq!(outcome.agrees(), i % 2 == 0),
            _ => assert_eq!(outcome.agrees(), i % 2 == 1),
        }
    }
}

#[test]
fn no_listed_case_regresses() {
    let Some(suite) = harness::suite_dir() else {
        eprintln!(
            "SKIPPED: the OASIS conformance suite is not on this machine; set {} to its \
             directory (the one holding expectations.tsv)",
            harness::SUITE_DIR_VARIABLE
        );
        return;
    };
    let cases = harness::read_expectations(&suite).unwrap();
    assert!(!cases.is_empty(), "{} lists no case", suite.display());
    let outcomes = harness::run_cases(&suite, &cases, harness::tosca_verdict);
    let agreeing = harness::agreeing_cases(&outcomes);
    let listed = harness::read_passing_list(&harness::passing_list_path()).unwrap();
    let comparison = harness::compare(&agreeing, &listed);

    println!("{} of {} cases agree", agreeing.len(), cases.len());
    if !comparison.newly_passing.is_empty() {
        println!(
            "{} cases newly agree; add them with `scripts/conformance --update`:",
            comparison.newly_passing.len()
        );
        for name in &comparison.newly_passing {
            println!("  {name}");
        }
    }
    let regressions: Vec<String> = outcomes
        .iter()
        .filter(|outcome| comparison.regressions.contains(&outcome.case.name))
        .map(harness::Outcome::describe_disagreement)
        .chain(
            // Listed cases that are no longer in the suite at all.
            comparison
                .regressions
                .iter()
                .filter(|name| !cases.iter().any(|case| &case.name == *name))
                .map(|name| format!("{name}: listed as passing but not in the suite")),
        )
        .collect();
    assert!(
        regressions.is_empty(),
        "{} cases listed in tests/conformance/passing.txt no longer agree:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
}
