//! Where a value came from: the files a run has read and positions inside them.
//!
//! Every parsed value keeps a [`Span`] so that any problem found later, however deep in the
//! processor, can point at file:line:column. Spans are small (`Copy`, 12 bytes) because there is
//! one per YAML node; the file names and texts live once in [`Sources`].

use std::sync::{Arc, RwLock};

/// Identifies one loaded source file inside a [`Sources`] registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A position in a source file (1-based line and column), the start of a YAML node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file the node was read from.
    pub file: FileId,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Span {
    /// A span for values that were not read from any file (built-ins, command-line inputs).
    pub const NONE: Span = Span {
        file: FileId(u32::MAX),
        line: 0,
        column: 0,
    };

    /// Whether this span points into a real file.
    pub fn is_known(&self) -> bool {
        self.file.0 != u32::MAX
    }
}

/// One file the processor has read: its name as shown to people, and its text for excerpts.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in problems (a path, a URL, or `archive.csar!/inner/path`).
    pub name: String,
    /// The full text, kept to show the offending line.
    pub text: String,
    /// Whether problems may quote its lines: only a file that declares itself TOSCA is
    /// something the user wrote; any other (a binary, a secret, a stray config) is named by
    /// its file:line:column but never shown.
    pub quoted: bool,
}

/// The registry of every file read in one run, shared by all stages of the processor.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Arc<RwLock<Vec<Arc<SourceFile>>>>,
}

impl Sources {
    /// Records a file whose lines problems may quote and returns its id for spans.
    pub fn add(&self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.push(name.into(), text.into(), true)
    }

    /// Records a file whose lines problems must not quote (see [`SourceFile::quoted`]).
    pub fn add_unquoted(&self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.push(name.into(), text.into(), false)
    }

    fn push(&self, name: String, text: String, quoted: bool) -> FileId {
        let mut files = self.files.write().expect("sources lock poisoned");
        files.push(Arc::new(SourceFile { name, text, quoted }));
        FileId(u32::try_from(files.len() - 1).expect("more than 4 billion source files"))
    }

    /// The file behind an id, if the id is known.
    pub fn get(&self, id: FileId) -> Option<Arc<SourceFile>> {
        let files = self.files.read().expect("sources lock poisoned");
        files.get(id.0 as usize).cloned()
    }

    /// `name:line:column` for a span, or `<unknown>` for a span outside any file.
    pub fn locate(&self, span: Span) -> String {
        match self.get(span.file) {
            Some(file) if span.is_known() => {
                format!("{}:{}:{}", file.name, span.line, span.column)
            }
            _ => "<built-in>".to_string(),
        }
    }

    /// The text of the line a span points at, for excerpts; `None` for a file that must
    /// not be quoted.
    pub fn line_text(&self, span: Span) -> Option<String> {
        let file = self.get(span.file)?;
        if !span.is_known() || !file.quoted {
            return None;
        }
        file.text
            .lines()
            .nth(span.line.saturating_sub(1) as usize)
            .map(str::to_string)
    }
}
