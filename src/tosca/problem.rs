//! Problems found in TOSCA input, collected rather than thrown.
//!
//! A person fixing a template wants every mistake from one run, so each stage records what is
//! wrong in [`Problems`] and carries on with what it can still check. Each problem says where
//! (file:line:column), which element (a dotted path such as
//! `service_template.node_templates.web.properties.port`), and what was expected.

use std::fmt::Write as _;

use serde::Serialize;

use super::source::{Sources, Span};

/// One thing wrong with the input.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// A stable, kebab-case name for the kind of problem (`unknown-type`, `wrong-type`…), for
    /// tools that match on it.
    pub code: &'static str,
    /// What is wrong and what was expected, in one sentence.
    pub message: String,
    /// The element the problem is about, as a dotted path from the file's root.
    pub path: String,
    /// Where in the source it is.
    #[serde(skip)]
    pub span: Span,
}

/// Every problem of one run, in the order found.
#[derive(Clone, Debug, Default)]
pub struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem.
    pub fn report(
        &mut self,
        code: &'static str,
        span: Span,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let problem = Problem {
            code,
            message: message.into(),
            path: path.into(),
            span,
        };
        if !self.list.contains(&problem) {
            self.list.push(problem);
        }
    }

    /// Whether nothing was found wrong.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many problems were found.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.list.iter()
    }

    /// Adds every problem of another collection.
    pub fn extend(&mut self, other: Problems) {
        for p in other.list {
            if !self.list.contains(&p) {
                self.list.push(p);
            }
        }
    }

    /// Sorts problems by file and position, for stable output.
    pub fn sort(&mut self) {
        self.list
            .sort_by(|a, b| a.span.cmp(&b.span).then_with(|| a.message.cmp(&b.message)));
    }

    /// Renders the problems for people: location, message, element path and the source line.
    pub fn render_text(&self, sources: &Sources) -> String {
        let mut out = String::new();
        for p in &self.list {
            let _ = writeln!(
                out,
                "{}: error[{}]: {}",
                sources.locate(p.span),
                p.code,
                p.message
            );
            if !p.path.is_empty() {
                let _ = writeln!(out, "    at {}", p.path);
            }
            if let Some(line) = sources.line_text(p.span) {
                let _ = writeln!(out, "{:>5} | {}", p.span.line, line);
                let _ = writeln!(
                    out,
                    "      | {}^",
                    " ".repeat(p.span.column.saturating_sub(1) as usize)
                );
            }
        }
        let n = self.list.len();
        let _ = writeln!(out, "{n} problem{} found", if n == 1 { "" } else { "s" });
        out
    }

    /// Renders the problems as a JSON array of `{code, message, path, file, line, column}`.
    pub fn render_json(&self, sources: &Sources) -> serde_json::Value {
        serde_json::Value::Array(
            self.list
                .iter()
                .map(|p| {
                    let file = sources
                        .get(p.span.file)
                        .filter(|_| p.span.is_known())
                        .map(|f| f.name.clone());
                    serde_json::json!({
                        "code": p.code,
                        "message": p.message,
                        "path": p.path,
                        "file": file,
                        "line": p.span.line,
                        "column": p.span.column,
                    })
                })
                .collect(),
        )
    }
}
