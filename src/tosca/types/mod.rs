//! The TOSCA type system: every type of a service, resolved, derived and refined.
//!
//! [`build`] takes the files the loader read (their grammar already checked by
//! [`crate::tosca::grammar`]) and fills a [`TypeRegistry`]: names are registered per file and
//! namespace (`names.rs`), parents are resolved and cycles broken (`derivation.rs`), then every
//! type is completed, kind by kind, from its parent's complete definitions plus its own
//! augmentations and refinements (one file per kind). Literal `default` and fixed `value`s are
//! checked against their schemas at the end with [`check_value`], once every data type is
//! complete. The registry is built once per run; later stages only read it, and every lookup
//! is a hash map access, so templates of any number reuse it at no extra cost.
//!
//! [`from_loaded`] is the entry point for a loaded service: it checks the grammar of every
//! file, gives each file its effective profile, and builds the registry.

mod artifact_definition;
mod artifact_type;
mod builder;
mod builtins;
mod capability_definition;
mod capability_type;
mod check_value;
mod data_type;
mod derivation;
mod functions;
mod group_type;
mod interface_definition;
mod interface_type;
pub mod model;
mod names;
mod node_type;
mod policy_type;
mod property;
mod relationship_type;
mod requirement_definition;
#[cfg(test)]
mod robustness;
mod scalar_type;
mod validation;

pub use check_value::{check_value, is_expression};
pub use functions::{result_mismatch, signature_mismatch};
pub use model::*;
pub use validation::{check_graph_clauses, hint_at};

use crate::tosca::problem::Problems;
use crate::tosca::source::{FileId, Span};
use crate::tosca::value::Value;

/// One parsed file as the type stage reads it.
#[derive(Clone, Debug)]
pub struct FileInput<'a> {
    /// The file's id (its spans carry it).
    pub id: FileId,
    /// Its parsed content.
    pub root: &'a Value,
    /// The profile it belongs to (`profile:`, inherited by what it imports), if any.
    pub profile: Option<String>,
    /// What it imports, in order.
    pub imports: Vec<ImportInput>,
}

/// One import of a file: which file, and under which namespace its names are seen.
#[derive(Clone, Debug)]
pub struct ImportInput {
    /// The imported file.
    pub file: FileId,
    /// `namespace`, when given: the imported names are seen as `namespace:Name`.
    pub namespace: Option<String>,
    /// Where the import is written (duplicate names it brings in are reported here).
    pub span: Span,
}

/// Checks the grammar of every loaded file and builds the registry of their types: the entry
/// point for the facade. Each file's names belong to its effective profile (its own
/// `profile:`, else its importer's).
pub fn from_loaded(loaded: &crate::tosca::loader::Loaded, problems: &mut Problems) -> TypeRegistry {
    let inputs: Vec<FileInput<'_>> = loaded
        .files
        .iter()
        .map(|file| FileInput {
            id: file.id,
            root: &file.root,
            profile: loaded.profile_of(file.id).map(str::to_string),
            imports: file
                .imports
                .iter()
                .map(|import| ImportInput {
                    file: import.file,
                    namespace: import.namespace.clone(),
                    span: import.span,
                })
                .collect(),
        })
        .collect();
    for input in &inputs {
        crate::tosca::grammar::check_file(input.root, problems);
    }
    build(&inputs, problems)
}

/// Builds the registry of every type and function defined in `files`, reporting every
/// problem found. The registry is usable even when there are problems: a type whose
/// definition is wrong is kept with what could be read of it.
pub fn build(files: &[FileInput<'_>], problems: &mut Problems) -> TypeRegistry {
    let mut builder = builder::Builder::new(problems);
    builtins::install(&mut builder.reg);
    let visibility = names::register(&mut builder, files);
    derivation::derive(&mut builder);
    for kind in TypeKind::ALL {
        for id in builder.in_derivation_order(kind) {
            match kind {
                TypeKind::Data => data_type::complete(&mut builder, id),
                TypeKind::Artifact => artifact_type::complete(&mut builder, id),
                TypeKind::Capability => capability_type::complete(&mut builder, id),
                TypeKind::Interface => interface_type::complete(&mut builder, id),
                TypeKind::Relationship => relationship_type::complete(&mut builder, id),
                TypeKind::Node => node_type::complete(&mut builder, id),
                TypeKind::Group => group_type::complete(&mut builder, id),
                TypeKind::Policy => policy_type::complete(&mut builder, id),
            }
        }
    }
    requirement_definition::check_targets(&mut builder);
    functions::read(&mut builder, files, &visibility);
    builder.check_clause_functions();
    builder.run_value_checks();
    builder.reg
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builds registries from YAML snippets for the unit tests of this module.

    use super::*;
    use crate::tosca::grammar;
    use crate::tosca::yaml;

    /// A test file: its text and what it imports (file ids, each with a namespace or none).
    pub type TestFile<'t> = (&'t str, &'t [(u32, Option<&'t str>)]);

    /// Parses each text as a file (file ids 0, 1, …), file 0 importing the others with the
    /// given namespaces, checks the grammar, builds the registry.
    pub fn build_files(texts: &[(&str, Option<&str>)]) -> (TypeRegistry, Problems) {
        let others: Vec<(u32, Option<&str>)> = (1..texts.len() as u32)
            .map(|j| (j, texts[j as usize].1))
            .collect();
        let graph: Vec<TestFile<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, (text, _))| (*text, if i == 0 { &others[..] } else { &[][..] }))
            .collect();
        build_graph(&graph)
    }

    /// Parses each text as a file (file ids 0, 1, …) importing the listed files (by id, with
    /// a namespace or none), checks the grammar, builds the registry: any import graph,
    /// cycles included.
    pub fn build_graph(files: &[TestFile<'_>]) -> (TypeRegistry, Problems) {
        let roots: Vec<Value> = files
            .iter()
            .enumerate()
            .map(|(i, (text, _))| yaml::parse(text, FileId(i as u32)).expect("test YAML parses"))
            .collect();
        let mut problems = Problems::new();
        let mut inputs = Vec::new();
        for ((root, (_, imports)), i) in roots.iter().zip(files).zip(0u32..) {
            grammar::check_file(root, &mut problems);
            inputs.push(FileInput {
                id: FileId(i),
                root,
                profile: None,
                imports: imports
                    .iter()
                    .map(|(file, namespace)| ImportInput {
                        file: FileId(*file),
                        namespace: namespace.map(str::to_string),
                        span: Span::NONE,
                    })
                    .collect(),
            });
        }
        let registry = build(&inputs, &mut problems);
        (registry, problems)
    }

    /// Builds one file.
    pub fn build_one(text: &str) -> (TypeRegistry, Problems) {
        build_files(&[(text, None)])
    }

    /// Asserts one file has no problem at all.
    pub fn assert_valid(text: &str) -> TypeRegistry {
        let (registry, problems) = build_one(text);
        let list: Vec<String> = problems
            .iter()
            .map(|p| format!("{} {}: {}", p.code, p.path, p.message))
            .collect();
        assert!(list.is_empty(), "unexpected problems: {list:#?}");
        registry
    }

    /// Asserts one file has a problem with this code.
    pub fn assert_problem(text: &str, code: &str) {
        let (_, problems) = build_one(text);
        let list: Vec<String> = problems
            .iter()
            .map(|p| format!("{} {}: {}", p.code, p.path, p.message))
            .collect();
        assert!(
            problems.iter().any(|p| p.code == code),
            "expected a `{code}` problem, found {list:#?}"
        );
    }

    /// A type's id by name in file 0.
    pub fn id(registry: &TypeRegistry, kind: TypeKind, name: &str) -> TypeId {
        registry
            .lookup(FileId(0), kind, name)
            .unwrap_or_else(|| panic!("{name} is not a {}", kind.noun()))
    }
}
