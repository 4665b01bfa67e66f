//! The OASIS TOSCA 2.0 conformance harness, shared by the regression test
//! (`tests/conformance.rs`) and the summary runner (`examples/conformance.rs`).
//!
//! The suite lives outside the repository: `expectations.tsv` lists each case (a path relative
//! to the suite) and whether it is `valid` or `invalid`; profiles imported by name are under
//! `profiles/`. The harness runs every case through a verdict function on all cores, turns a
//! panic into a disagreement, and compares the agreeing cases with the committed list
//! `tests/conformance/passing.txt`.

// Each includer uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment variable that points at the suite, overriding the default location.
pub const SUITE_DIR_VARIABLE: &str = "KHUTULUN_CONFORMANCE_DIR";

/// One case of the suite: a TOSCA file and what the standard says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The case's path relative to the suite directory, as written in `expectations.tsv`.
    pub name: String,
    /// Whether the suite expects the file to be valid.
    pub expect_valid: bool,
}

/// What our processor said about one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The processor found the file valid.
    Valid,
    /// The processor found problems; the text summarises the first few.
    Invalid(String),
    /// The processor panicked; the text is the panic's message.
    Panicked(String),
}

/// One case with our verdict on it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case that ran.
    pub case: Case,
    /// What the processor said.
    pub verdict: Verdict,
}

impl Outcome {
    /// True when our verdict matches the suite's expectation (a panic never agrees).
    pub fn agrees(&self) -> bool {
        match &self.verdict {
            Verdict::Valid => self.case.expect_valid,
            Verdict::Invalid(_) => !self.case.expect_valid,
            Verdict::Panicked(_) => false,
        }
    }

    /// One line saying why this case disagrees, for people.
    pub fn describe_disagreement(&self) -> String {
        let name = &self.case.name;
        match &self.verdict {
            Verdict::Valid => format!("{name}: expected invalid, but we found no problem"),
            Verdict::Invalid(problems) => format!("{name}: expected valid, but {problems}"),
            Verdict::Panicked(message) => format!("{name}: the processor panicked: {message}"),
        }
    }
}

/// The repository's root (where Cargo.toml is).
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the suite is: `$KHUTULUN_CONFORMANCE_DIR`, else `<repo>/../shared/conformance/oasis`
/// (or `<repo>/../../shared/...`, for a git worktree one folder deeper); `None` when none of
/// them holds an `expectations.tsv`.
pub fn suite_dir() -> Option<PathBuf> {
    let candidates = match std::env::var_os(SUITE_DIR_VARIABLE) {
        Some(dir) => vec![PathBuf::from(dir)],
        None => [
            "../shared/conformance/oasis",
            "../../shared/conformance/oasis",
        ]
        .iter()
        .map(|relative| repository_root().join(relative))
        .collect(),
    };
    candidates
        .into_iter()
        .find(|dir| dir.join("expectations.tsv").is_file())
        .map(|dir| std::fs::canonicalize(&dir).unwrap_or(dir))
}

/// The committed list of the cases we agree with.
pub fn passing_list_path() -> PathBuf {
    repository_root().join("tests/conformance/passing.txt")
}

/// Reads `expectations.tsv`: one `path<TAB>valid|invalid` per line; blank lines and `#`
/// comments are skipped. Any other line is an error naming its number.
pub fn parse_expectations(text: &str) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(name), Some(expectation), None) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!(
                "line {} of expectations.tsv is not `path<TAB>valid|invalid`",
                index + 1
            ));
        };
        let expect_valid = match expectation.trim() {
            "valid" => true,
            "invalid" => false,
            other => {
                return Err(format!(
                    "line {} of expectations.tsv expects {other:?}, not valid or invalid",
                    index + 1
                ));
            }
        };
        cases.push(Case {
            name: name.trim().to_string(),
            expect_valid,
        });
    }
    Ok(cases)
}

/// Reads the suite's cases from `<dir>/expectations.tsv`.
pub fn read_expectations(dir: &Path) -> Result<Vec<Case>, String> {
    let path = dir.join("expectations.tsv");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_expectations(&text)
}

/// Reads a list of case names, one per line (blank lines and `#` comments skipped).
pub fn parse_case_list(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Reads the committed passing list; a missing file is an empty list.
pub fn read_passing_list(path: &Path) -> Result<BTreeSet<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_case_list(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Renders a passing list in the committed format: a header, then one sorted case per line.
pub fn render_case_list(cases: &BTreeSet<String>) -> String {
    let mut text = String::from(
        "# OASIS TOSCA 2.0 conformance cases whose verdict agrees with expectations.tsv.\n\
         # A case listed here that stops agreeing fails `cargo test --test conformance`.\n\
         # Regenerate with `scripts/conformance --update`.\n",
    );
    for case in cases {
        text.push_str(case);
        text.push('\n');
    }
    text
}

/// How the agreeing cases compare with the committed list.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Listed as passing, but no longer agreeing (or no longer in the suite).
    pub regressions: Vec<String>,
    /// Agreeing, but not yet listed.
    pub newly_passing: Vec<String>,
}

/// Compares the cases that agree now with the committed list.
pub fn compare(agreeing: &BTreeSet<String>, listed: &BTreeSet<String>) -> Comparison {
    Comparison {
        regressions: listed.difference(agreeing).cloned().collect(),
        newly_passing: agreeing.difference(listed).cloned().collect(),
    }
}

/// Runs every case through `verdict` (given the case's file and the suite's profile
/// directory) on all available cores, in the order of `cases`. A panic inside `verdict`
/// becomes [`Verdict::Panicked`] for that case only; the default panic report is silenced
/// while the suite runs so the summary stays readable.
pub fn run_cases<F>(suite: &Path, cases: &[Case], verdict: F) -> Vec<Outcome>
where
    F: Fn(&Path, &Path) -> Verdict + Sync,
{
    let profiles = suite.join("profiles");
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Verdict>>> = Mutex::new(vec![None; cases.len()]);
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(cases.len().max(1));

    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(index) else { break };
                    let file = suite.join(&case.name);
                    let outcome =
                        panic::catch_unwind(AssertUnwindSafe(|| verdict(&file, &profiles)))
                            .unwrap_or_else(|payload| Verdict::Panicked(panic_message(&*payload)));
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(outcome);
                }
            });
        }
    });
    panic::set_hook(previous_hook);

    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    cases
        .iter()
        .zip(results)
        .map(|(case, verdict)| Outcome {
            case: case.clone(),
            verdict: verdict.unwrap_or_else(|| Verdict::Panicked("the case never ran".into())),
        })
        .collect()
}

/// The text of a panic's payload (a `&str` or a `String`), or a placeholder.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// The names of the agreeing cases.
pub fn agreeing_cases(outcomes: &[Outcome]) -> BTreeSet<String> {
    outcomes
        .iter()
        .filter(|outcome| outcome.agrees())
        .map(|outcome| outcome.case.name.clone())
        .collect()
}

/// Shortens a processor's problem text to its first line, for one-line summaries.
pub fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line = line.trim();
    if line.chars().count() > 160 {
        let short: String = line.chars().take(157).collect();
        format!("{short}...")
    } else {
        line.to_string()
    }
}

/// Our processor's verdict on one case: `khutulun::tosca::validate` with the suite's profiles.
pub fn tosca_verdict(file: &Path, profiles: &Path) -> Verdict {
    let options = khutulun::tosca::Options {
        profile_paths: vec![profiles.to_path_buf()],
        ..Default::default()
    };
    let report = khutulun::tosca::validate(&file.to_string_lossy(), &options);
    if report.is_valid() {
        Verdict::Valid
    } else {
        Verdict::Invalid(first_line(&report.render_text()))
    }
}
