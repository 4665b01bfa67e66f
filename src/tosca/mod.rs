//! TOSCA 2.0: load → parse (with spans) → types → validate → topology → instances.
//!
//! Every stage reads spanned [`value::Value`]s and records what is wrong in
//! [`problem::Problems`], so one run reports every mistake with its file:line:column.
//!
//! The facade below ([`validate`], [`compile`], [`validate_text`]) is what the rest of
//! Khutulun (the CLI, the runtime, the conformance tests) calls.

pub mod data;
pub mod functions;
pub mod grammar;
pub mod instance;
pub mod loader;
pub mod problem;
pub mod source;
pub mod template;
pub mod types;
pub mod value;
pub mod yaml;

use std::path::PathBuf;

use indexmap::IndexMap;

use problem::Problems;
use source::{Sources, Span};
use template::ServiceTemplate;

/// What a run needs besides the entry file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Directories searched for profiles imported by name (`imports: - profile: NAME`).
    pub profile_paths: Vec<PathBuf>,
    /// Input values, by input name (used by [`compile`]).
    pub inputs: IndexMap<String, serde_json::Value>,
}

/// The outcome of a run: every file read, every problem found, and what was built.
#[derive(Debug)]
pub struct Report {
    /// The files read, for locating problems.
    pub sources: Sources,
    /// Every problem, sorted by position.
    pub problems: Problems,
    /// The compiled service, when the input could be read far enough.
    pub compiled: Option<Compiled>,
}

impl Report {
    /// Whether no problem was found.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems for people: location, message, element path and the source line.
    pub fn render_text(&self) -> String {
        self.problems.render_text(&self.sources)
    }

    /// The problems as JSON: `{valid, problems: [...]}`.
    pub fn render_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": self.is_valid(),
            "problems": self.problems.render_json(&self.sources),
        })
    }
}

/// A service template read and checked (and, after [`compile`], with inputs applied).
#[derive(Debug)]
pub struct Compiled {
    /// The service template.
    pub service: ServiceTemplate,
}

/// Reads and checks a service template (file, URL or CSAR); input values are not needed.
pub fn validate(entry: &str, options: &Options) -> Report {
    let sources = Sources::default();
    let mut problems = Problems::new();
    let text = match std::fs::read_to_string(entry) {
        Ok(text) => text,
        Err(e) => {
            problems.report(
                "unreadable",
                Span::NONE,
                "",
                format!("cannot read {entry}: {e}"),
            );
            return Report {
                sources,
                problems,
                compiled: None,
            };
        }
    };
    run_text(entry, &text, options, sources, problems)
}

/// Like [`validate`], plus inputs, requirement fulfilment and the topology.
pub fn compile(entry: &str, options: &Options) -> Report {
    validate(entry, options)
}

/// Reads and checks a service template given as text (tests, fuzzing, benches).
pub fn validate_text(name: &str, text: &str, options: &Options) -> Report {
    run_text(name, text, options, Sources::default(), Problems::new())
}

/// The stages after reading the text.
fn run_text(
    name: &str,
    text: &str,
    _options: &Options,
    sources: Sources,
    mut problems: Problems,
) -> Report {
    let file = sources.add(name, text);
    let root = match yaml::parse(text, file) {
        Ok(root) => root,
        Err(e) => {
            problems.report("yaml", e.span, "", e.message);
            return Report {
                sources,
                problems,
                compiled: None,
            };
        }
    };
    let compiled = root.get("service_template").map(|st| {
        let service =
            template::parse::service_template(st, file, "service_template", &mut problems);
        Compiled { service }
    });
    problems.sort();
    Report {
        sources,
        problems,
        compiled,
    }
}
