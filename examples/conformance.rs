//! Prints the OASIS TOSCA 2.0 conformance summary: one line per case whose verdict disagrees
//! with the suite's expectation, then `N passed, M failed`. With `--update`, also rewrites
//! `tests/conformance/passing.txt` with the cases that agree. Run it as `scripts/conformance`.
//!
//! An example rather than a binary, so the `khutulun` command does not carry it.

use std::process::ExitCode;

#[path = "../tests/conformance/harness.rs"]
mod harness;

fn main() -> ExitCode {
    let mut update = false;
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--update" => update = true,
            "-h" | "--help" => {
                println!("usage: scripts/conformance [--update]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!(
                    "conformance: unknown argument {other:?}; usage: scripts/conformance [--update]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let Some(suite) = harness::suite_dir() else {
        eprintln!(
            "conformance: the OASIS suite was not found; set {} to the directory holding \
             expectations.tsv",
            harness::SUITE_DIR_VARIABLE
        );
        return ExitCode::from(2);
    };
    let cases = match harness::read_expectations(&suite) {
        Ok(cases) => cases,
        Err(error) => {
            eprintln!("conformance: {error}");
            return ExitCode::from(2);
        }
    };

    let outcomes = harness::run_cases(&suite, &cases, harness::tosca_verdict);
    for outcome in outcomes.iter().filter(|outcome| !outcome.agrees()) {
        println!("{}", outcome.describe_disagreement());
    }
    let agreeing = harness::agreeing_cases(&outcomes);
    let listed_path = harness::passing_list_path();
    let listed = harness::read_passing_list(&listed_path).unwrap_or_default();
    let comparison = harness::compare(&agreeing, &listed);
    println!(
        "{} passed, {} failed ({} regressions against tests/conformance/passing.txt, {} newly passing)",
        agreeing.len(),
        cases.len() - agreeing.len(),
        comparison.regressions.len(),
        comparison.newly_passing.len()
    );

    if update {
        if let Err(error) = std::fs::write(&listed_path, harness::render_case_list(&agreeing)) {
            eprintln!(
                "conformance: cannot write {}: {error}",
                listed_path.display()
            );
            return ExitCode::from(2);
        }
        println!(
            "wrote {} cases to {}",
            agreeing.len(),
            listed_path.display()
        );
    }
    ExitCode::SUCCESS
}
