//! Names and namespaces: which type (or function) a name written in a file means.
//!
//! Each file has one unnamed namespace holding its own definitions and, unprefixed, the
//! names of the files it imports without a namespace. A file imported with `namespace: x` is
//! seen through the prefix `x:`, and what that file itself sees through its own prefixes
//! nests (`x:y:Name`). Within one namespace and one kind a name may mean only one type: a
//! second, different type under the same name is a problem. The nearest definition shadows
//! farther ones (a file's own over an imported one, a direct import's over an indirect one):
//! the specification makes only duplicates within one file an error, and the conformance suite
//! redefines imported types locally; two imports at the same distance bringing different types
//! under one name remain a problem, since nothing says which is meant. Built-in data types are seen from everywhere and their names
//! are reserved.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use super::FileInput;
use super::builder::{Builder, Definition, Progress};
use super::builtins;
use super::model::{
    ArtifactType, CapabilityType, DataKind, DataType, GroupType, InterfaceType, NodeType,
    PolicyType, RelationshipType, TypeHeader, TypeId, TypeKind,
};
use crate::tosca::grammar::shape::join;
use crate::tosca::source::{FileId, Span};
use crate::tosca::value::Value;

/// What a visible name stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named {
    /// A type.
    Type(TypeId),
    /// A function declared in a file under a name.
    Function(FileId, String),
}

impl Named {
    /// The kind of type named, or `None` for a function.
    fn kind(&self) -> Option<TypeKind> {
        match self {
            Named::Type(id) => Some(id.kind),
            Named::Function(..) => None,
        }
    }
}

/// One name a file sees: as written in that file, what it is, and where to blame a clash.
#[derive(Clone, Debug)]
pub struct Visible {
    /// The name with its namespace prefixes (`k8s:Pod`).
    pub name: String,
    /// What it stands for.
    pub named: Named,
    /// The definition (own names) or the import (imported names) that brings it in.
    pub span: Span,
}

/// Every name every file sees.
pub type Visibility = HashMap<FileId, Rc<Vec<Visible>>>;

/// Registers every type of every file in the registry's arenas and builds the per-file name
/// tables; returns what each file sees (functions are resolved through it later).
pub fn register<'a>(b: &mut Builder<'a, '_>, files: &[FileInput<'a>]) -> Visibility {
    let mut own: HashMap<FileId, Vec<Visible>> = HashMap::new();
    for file in files {
        let list = own.entry(file.id).or_default();
        for kind in TypeKind::ALL {
            let Some(entries) = file.root.get(kind.section()).and_then(Value::as_map) else {
                continue;
            };
            for (key, value) in entries {
                let Some(name) = key.as_str().filter(|n| !n.is_empty()) else {
                    continue;
                };
                if value.as_map().is_none() {
                    continue;
                }
                let path = join(kind.section(), name);
                if kind == TypeKind::Data && builtins::is_reserved(name) {
                    b.report(
                        "reserved-name",
                        key.span,
                        &path,
                        format!(
                            "`{name}` is a built-in data type; a data type may not reuse its name"
                        ),
                    );
                    continue;
                }
                let mut header = TypeHeader::new(name, Some(file.id), key.span);
                header.profile = file.profile.clone();
                let id = push(b, kind, header);
                b.defs.insert(
                    id,
                    Definition {
                        file: file.id,
                        value,
                        path,
                    },
                );
                list.push(Visible {
                    name: name.to_string(),
                    named: Named::Type(id),
                    span: key.span,
                });
            }
        }
        if let Some(functions) = file.root.get("functions").and_then(Value::as_map) {
            for (key, value) in functions {
                if let Some(name) = key.as_str().filter(|n| !n.is_empty())
                    && value.as_map().is_some()
                {
                    list.push(Visible {
                        name: name.to_string(),
                        named: Named::Function(file.id, name.to_string()),
                        span: key.span,
                    });
                }
            }
        }
    }
    let by_id: HashMap<FileId, &FileInput<'a>> = files.iter().map(|f| (f.id, f)).collect();
    let seen: Visibility = files
        .iter()
        .map(|file| (file.id, Rc::new(visible(file.id, &by_id, &own))))
        .collect();
    for file in files {
        let names = seen[&file.id].clone();
        let mut taken: HashMap<(TypeKind, &str), TypeId> = HashMap::new();
        for v in names.iter() {
            let Named::Type(id) = &v.named else { continue };
            match taken.get(&(id.kind, v.name.as_str())) {
                Some(existing) if existing != id => {
                    let other = b.reg.header(*existing).file;
                    b.report(
                        "duplicate-name",
                        v.span,
                        &join(id.kind.section(), &v.name),
                        format!(
                            "the {} name `{}` is already used by another type in this namespace{}",
                            id.kind.noun(),
                            v.name,
                            if other == Some(file.id) {
                                ""
                            } else {
                                " (brought in by an import)"
                            }
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    taken.insert((id.kind, v.name.as_str()), *id);
                    b.reg.names.insert((file.id, id.kind, v.name.clone()), *id);
                }
            }
        }
    }
    b.data_progress = b
        .reg
        .data
        .iter()
        .map(|d| {
            if d.header.file.is_none() {
                Progress::Done
            } else {
                Progress::Pending
            }
        })
        .collect();
    seen
}

/// How deep namespace prefixes may nest (`a:b:c:…`): a namespace import cycle would otherwise
/// make them grow forever.
const MAX_NESTING: usize = 16;

/// What `file` sees: its own names, then, breadth first through its imports, every imported
/// file's names under the namespace prefixes of the path to it. The nearest definition of a
/// name wins (a file's own over an imported one, a direct import's over an indirect one);
/// different types at the same distance are both kept, for the caller to report. Import
/// cycles end because each file is visited once per prefix.
fn visible(
    file: FileId,
    files: &HashMap<FileId, &FileInput<'_>>,
    own: &HashMap<FileId, Vec<Visible>>,
) -> Vec<Visible> {
    let mut list = Vec::new();
    let mut nearest: HashMap<(Option<TypeKind>, String), usize> = HashMap::new();
    let mut visited: HashSet<(FileId, String)> = HashSet::from([(file, String::new())]);
    let mut queue: VecDeque<(FileId, String, usize, Option<Span>)> =
        VecDeque::from([(file, String::new(), 0, None)]);
    while let Some((current, prefix, depth, blame)) = queue.pop_front() {
        for v in own.get(&current).into_iter().flatten() {
            let name = format!("{prefix}{}", v.name);
            let distance = *nearest
                .entry((v.named.kind(), name.clone()))
                .or_insert(depth);
            if distance < depth {
                continue;
            }
            list.push(Visible {
                name,
                named: v.named.clone(),
                span: blame.unwrap_or(v.span),
            });
        }
        let Some(input) = files.get(&current) else {
            continue;
        };
        for import in &input.imports {
            let prefix = match &import.namespace {
                Some(ns) => format!("{prefix}{ns}:"),
                None => prefix.clone(),
            };
            if prefix.matches(':').count() > MAX_NESTING
                || !visited.insert((import.file, prefix.clone()))
            {
                continue;
            }
            let blame = blame.or(Some(import.span).filter(Span::is_known));
            queue.push_back((import.file, prefix, depth + 1, blame));
        }
    }
    list
}

/// Adds an empty record of a type to its kind's arena.
fn push(b: &mut Builder<'_, '_>, kind: TypeKind, header: TypeHeader) -> TypeId {
    let reg = &mut b.reg;
    let index = match kind {
        TypeKind::Data => {
            reg.data.push(DataType {
                header,
                kind: DataKind::Complex,
                properties: Default::default(),
                entry_schema: None,
                key_schema: None,
                validation: Vec::new(),
                scalar_number: None,
            });
            reg.data.len()
        }
        TypeKind::Artifact => {
            reg.artifact.push(ArtifactType {
                header,
                mime_type: None,
                file_ext: Vec::new(),
                properties: Default::default(),
            });
            reg.artifact.len()
        }
        TypeKind::Capability => {
            reg.capability.push(CapabilityType {
                header,
                properties: Default::default(),
                attributes: Default::default(),
                valid_source_node_types: None,
                valid_relationship_types: None,
            });
            reg.capability.len()
        }
        TypeKind::Interface => {
            reg.interface.push(InterfaceType {
                header,
                inputs: Default::default(),
                operations: Default::default(),
                notifications: Default::default(),
            });
            reg.interface.len()
        }
        TypeKind::Relationship => {
            reg.relationship.push(RelationshipType {
                header,
                properties: Default::default(),
                attributes: Default::default(),
                interfaces: Default::default(),
                valid_capability_types: None,
                valid_target_node_types: None,
                valid_source_node_types: None,
            });
            reg.relationship.len()
        }
        TypeKind::Node => {
            reg.node.push(NodeType {
                header,
                properties: Default::default(),
                attributes: Default::default(),
                capabilities: Default::default(),
                requirements: Vec::new(),
                interfaces: Default::default(),
                artifacts: Default::default(),
            });
            reg.node.len()
        }
        TypeKind::Group => {
            reg.group.push(GroupType {
                header,
                properties: Default::default(),
                attributes: Default::default(),
                members: None,
            });
            reg.group.len()
        }
        TypeKind::Policy => {
            reg.policy.push(PolicyType {
                header,
                properties: Default::default(),
                targets: None,
                triggers: Default::default(),
            });
            reg.policy.len()
        }
    };
    let id = TypeId {
        kind,
        index: (index - 1) as u32,
    };
    super::builder::header_mut(reg, id).ancestors = vec![id];
    id
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn imported_names_carry_their_namespace_prefixes() {
        let (registry, problems) = build_files(&[
            ("node_types:\n  Mine: {}\n", None),
            ("node_types:\n  Theirs: {}\n", Some("x")),
            ("node_types:\n  Plain: {}\n", None),
        ]);
        assert!(problems.is_empty());
        assert!(registry.lookup(FileId(0), TypeKind::Node, "Mine").is_some());
        assert!(
            registry
                .lookup(FileId(0), TypeKind::Node, "x:Theirs")
                .is_some()
        );
        assert!(
            registry
                .lookup(FileId(0), TypeKind::Node, "Theirs")
                .is_none()
        );
        assert!(
            registry
                .lookup(FileId(0), TypeKind::Node, "Plain")
                .is_some()
        );
        assert!(registry.lookup(FileId(1), TypeKind::Node, "Mine").is_none());
    }

    #[test]
    fn the_same_name_in_two_namespaces_is_fine_but_not_in_one() {
        let (_, problems) = build_files(&[
            ("node_types:\n  A: {}\n", None),
            ("node_types:\n  A: {}\n", Some("other")),
        ]);
        assert!(problems.is_empty());
        let (registry, problems) = build_files(&[
            ("node_types:\n  A: {description: mine}\n", None),
            ("node_types:\n  A: {}\n", None),
        ]);
        assert!(
            problems.is_empty(),
            "a local definition shadows an imported one"
        );
        let a = registry.lookup(FileId(0), TypeKind::Node, "A").unwrap();
        assert_eq!(registry.header(a).file, Some(FileId(0)));
        let (_, problems) = build_files(&[
            ("node_types: {}\n", None),
            ("node_types:\n  A: {}\n", None),
            ("node_types:\n  A: {}\n", None),
        ]);
        let duplicates = problems
            .iter()
            .filter(|p| p.code == "duplicate-name")
            .count();
        assert_eq!(
            duplicates, 1,
            "two imports bring different types under one name"
        );
    }

    #[test]
    fn import_cycles_and_nested_namespaces_end() {
        let (registry, problems) = build_graph(&[
            ("imports: []\nnode_types:\n  A: {}\n", &[(1, Some("b"))]),
            ("node_types:\n  B: {}\n", &[(0, Some("a"))]),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(registry.lookup(FileId(0), TypeKind::Node, "b:B").is_some());
        assert!(
            registry
                .lookup(FileId(0), TypeKind::Node, "b:a:A")
                .is_some()
        );
        assert!(
            registry
                .lookup(FileId(1), TypeKind::Node, "a:b:B")
                .is_some()
        );
    }

    #[test]
    fn nested_namespaces_reach_through_files() {
        let (registry, problems) = build_graph(&[
            (
                "node_types:\n  Mine: {derived_from: my:k8s:Pod}\n",
                &[(1, Some("my"))],
            ),
            ("node_types:\n  MyType: {}\n", &[(2, Some("k8s"))]),
            ("node_types:\n  Pod: {}\n", &[]),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            registry
                .lookup(FileId(0), TypeKind::Node, "my:k8s:Pod")
                .is_some()
        );
        assert!(
            registry
                .lookup(FileId(0), TypeKind::Node, "my:MyType")
                .is_some()
        );
        assert!(
            registry
                .lookup(FileId(0), TypeKind::Node, "k8s:Pod")
                .is_none()
        );
    }

    #[test]
    fn built_in_names_are_reserved_for_data_types() {
        assert_problem(
            "data_types:\n  string:\n    derived_from: integer\n",
            "reserved-name",
        );
        assert_valid("node_types:\n  string: {}\n");
    }
}
