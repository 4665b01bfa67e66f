//! The state shared by every step of building a registry, and the lookups they all use.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::model::{PropertyDef, Schema, TypeId, TypeKind, TypeRegistry};
use super::property::Role;
use crate::tosca::functions::Expr;
use crate::tosca::grammar::shape::join;
use crate::tosca::problem::Problems;
use crate::tosca::source::{FileId, Span};
use crate::tosca::value::Value;

/// Where a user-defined type is written.
#[derive(Clone, Debug)]
pub struct Definition<'a> {
    /// The defining file (names inside the definition are resolved as this file sees them).
    pub file: FileId,
    /// The definition map.
    pub value: &'a Value,
    /// Its dotted path (`node_types.Server`).
    pub path: String,
}

/// One entry of a section read by [`Builder::read_over`].
pub struct NamedEntry<'v, D> {
    /// The entry's name.
    pub name: &'v str,
    /// The key as written (where to report an entry that may not be added).
    pub key: &'v Value,
    /// The definition as written.
    pub value: &'v Value,
    /// The inherited definition of the same name, which this one refines.
    pub parent: Option<D>,
    /// The entry's dotted path.
    pub path: String,
}

/// Whether a data type has been completed (data types are completed on demand, since a
/// property may use a data type defined anywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Not yet looked at.
    Pending,
    /// Being completed (a recursive use sees it as it is).
    Running,
    /// Complete.
    Done,
}

/// A literal to check against a schema once every data type is complete.
#[derive(Clone, Debug)]
pub struct ValueCheck {
    /// The schema, with every validation clause that applies.
    pub schema: Schema,
    /// The value as written.
    pub value: Value,
    /// The element's path, for problems.
    pub path: String,
}

/// Everything the steps of [`super::build`] share.
pub struct Builder<'a, 'p> {
    /// The registry being filled.
    pub reg: TypeRegistry,
    /// Where problems go.
    pub problems: &'p mut Problems,
    /// The definition of every user-defined type.
    pub defs: HashMap<TypeId, Definition<'a>>,
    /// Completion progress of data types, by arena index.
    pub data_progress: Vec<Progress>,
    /// Literals to check at the end.
    pub checks: Vec<ValueCheck>,
    /// Validation clauses whose functions are checked once every function definition is read:
    /// the file each is written in (which decides the functions it sees) and its path.
    pub clause_sites: Vec<(FileId, Expr, String)>,
}

impl<'a, 'p> Builder<'a, 'p> {
    /// An empty builder.
    pub fn new(problems: &'p mut Problems) -> Self {
        Builder {
            reg: TypeRegistry::default(),
            problems,
            defs: HashMap::new(),
            data_progress: Vec::new(),
            checks: Vec::new(),
            clause_sites: Vec::new(),
        }
    }

    /// Records a problem.
    pub fn report(
        &mut self,
        code: &'static str,
        span: Span,
        path: &str,
        message: impl Into<String>,
    ) {
        self.problems.report(code, span, path, message);
    }

    /// The user-defined types of one kind, parents before children.
    pub fn in_derivation_order(&self, kind: TypeKind) -> Vec<TypeId> {
        let mut ids: Vec<TypeId> = self
            .defs
            .keys()
            .filter(|id| id.kind == kind)
            .copied()
            .collect();
        ids.sort_by_key(|id| (self.reg.header(*id).ancestors.len(), id.index));
        ids
    }

    /// Resolves a type name written at `name` (a string value) in `file`, reporting a name
    /// that is not a string or not a type of this kind.
    pub fn resolve(
        &mut self,
        file: FileId,
        kind: TypeKind,
        name: &Value,
        path: &str,
    ) -> Option<TypeId> {
        let Some(text) = name.as_str() else {
            self.report(
                "wrong-shape",
                name.span,
                path,
                format!(
                    "expected the name of a {}, found the {} {name}",
                    kind.noun(),
                    name.kind_name()
                ),
            );
            return None;
        };
        self.resolve_str(file, kind, text, name.span, path)
    }

    /// Resolves a type name in `file`, reporting an unknown one at `span`.
    pub fn resolve_str(
        &mut self,
        file: FileId,
        kind: TypeKind,
        name: &str,
        span: Span,
        path: &str,
    ) -> Option<TypeId> {
        if let Some(id) = self.reg.lookup(file, kind, name) {
            return Some(id);
        }
        let elsewhere = TypeKind::ALL
            .into_iter()
            .find(|other| *other != kind && self.reg.lookup(file, *other, name).is_some());
        let message = match elsewhere {
            Some(other) => format!(
                "`{name}` is a {}, but a {} is expected here",
                other.noun(),
                kind.noun()
            ),
            None => format!(
                "there is no {} named `{name}` (is it defined or imported?)",
                kind.noun()
            ),
        };
        self.report("unknown-type", span, path, message);
        None
    }

    /// Resolves a list of type names of one kind (`valid_*_types`, `members`).
    pub fn resolve_list(
        &mut self,
        file: FileId,
        kind: TypeKind,
        list: &Value,
        path: &str,
    ) -> Option<Vec<TypeId>> {
        let items = list.as_list()?;
        let mut ids = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(id) = self.resolve(file, kind, item, &format!("{path}[{i}]")) {
                ids.push(id);
            }
        }
        Some(ids)
    }

    /// Checks that a refined list of types only narrows the inherited one: each new entry is
    /// one of the inherited types or derives from one of them.
    pub fn check_narrowing(
        &mut self,
        new: &[TypeId],
        inherited: &Option<Vec<TypeId>>,
        list: &Value,
        path: &str,
    ) {
        let Some(inherited) = inherited else {
            return;
        };
        let items = list.as_list().unwrap_or_default();
        for (i, id) in new.iter().enumerate() {
            if !inherited
                .iter()
                .any(|parent| self.reg.derives_from(*id, *parent))
            {
                let span = items.get(i).map_or(list.span, |v| v.span);
                let allowed: Vec<String> = inherited
                    .iter()
                    .map(|p| format!("`{}`", self.reg.header(*p).name))
                    .collect();
                self.report(
                    "invalid-refinement",
                    span,
                    &format!("{path}[{i}]"),
                    format!(
                        "`{}` is not among the inherited types ({}) nor derived from one of them; a refinement may only narrow this list",
                        self.reg.header(*id).name,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// The definition of type `id` and the record its completion starts from: the parent's
    /// completed record, so everything is inherited before the type's own keynames augment or
    /// refine it (a root type starts from its own empty record). Reads the header keynames too,
    /// which every kind has.
    pub fn begin<R: Clone>(
        &mut self,
        id: TypeId,
        records: for<'r> fn(&'r TypeRegistry, TypeId) -> &'r R,
    ) -> Option<(Definition<'a>, R)> {
        let def = self.defs.get(&id).cloned()?;
        self.read_header_keynames(id);
        let from = self.reg.header(id).parent.unwrap_or(id);
        Some((def, records(&self.reg, from).clone()))
    }

    /// A type's own `properties` or `attributes` (named by `key`) over those it inherits.
    pub fn read_own(
        &mut self,
        def: &Definition<'_>,
        key: &str,
        inherited: IndexMap<String, PropertyDef>,
    ) -> IndexMap<String, PropertyDef> {
        let role = if key == "attributes" {
            Role::Attribute
        } else {
            Role::Property
        };
        let path = Self::path(def, key);
        self.read_properties(def.file, def.value.get(key), inherited, role, &path, true)
    }

    /// Reads a map of named definitions (`section`) over the inherited ones, the rule every
    /// refinable section follows: each entry gets the inherited definition of the same name
    /// (if any) and `read_one` returns what replaces or joins it, or `None` to leave the entry
    /// out after reporting why. Names that are not non-empty strings were already reported by
    /// the grammar and are skipped.
    pub fn read_over<D: Clone>(
        &mut self,
        section: Option<&Value>,
        mut inherited: IndexMap<String, D>,
        path: &str,
        mut read_one: impl FnMut(&mut Self, NamedEntry<'_, D>) -> Option<D>,
    ) -> IndexMap<String, D> {
        let Some(entries) = section.and_then(Value::as_map) else {
            return inherited;
        };
        for (key, value) in entries {
            let Some(name) = key.as_str().filter(|n| !n.is_empty()) else {
                continue;
            };
            let entry = NamedEntry {
                name,
                key,
                value,
                parent: inherited.get(name).cloned(),
                path: join(path, name),
            };
            if let Some(def) = read_one(self, entry) {
                inherited.insert(name.to_string(), def);
            }
        }
        inherited
    }

    /// A list of type names (`valid_*_types`, `members`) written under `key`, which may only
    /// narrow the inherited list; the inherited list stays when nothing usable is written.
    pub fn read_narrowed(
        &mut self,
        def: &Definition<'_>,
        key: &str,
        kind: TypeKind,
        inherited: Option<Vec<TypeId>>,
    ) -> Option<Vec<TypeId>> {
        let Some(list) = def.value.get(key) else {
            return inherited;
        };
        let path = Self::path(def, key);
        let Some(ids) = self.resolve_list(def.file, kind, list, &path) else {
            return inherited;
        };
        self.check_narrowing(&ids, &inherited, list, &path);
        Some(ids)
    }

    /// Reads the common keynames `description`, `metadata` and `version` into a type's header.
    pub fn read_header_keynames(&mut self, id: TypeId) {
        let Some(def) = self.defs.get(&id).cloned() else {
            return;
        };
        let description = def
            .value
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string);
        let metadata = read_metadata(def.value.get("metadata"));
        let version = def
            .value
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_string);
        let header = header_mut(&mut self.reg, id);
        header.description = description;
        header.metadata = metadata;
        header.version = version;
    }

    /// Queues a literal for checking against `schema` once every data type is complete
    /// (expressions are skipped: their results are checked when evaluated).
    pub fn queue_check(
        &mut self,
        schema: &Schema,
        validation: &[Value],
        value: &Value,
        path: &str,
    ) {
        if super::check_value::is_expression(value) {
            return;
        }
        let mut schema = schema.clone();
        schema.validation = validation.to_vec();
        self.checks.push(ValueCheck {
            schema,
            value: value.clone(),
            path: path.to_string(),
        });
    }

    /// Parses a validation clause (written in `file`) once, keeping it for value checks, and
    /// reports one that is not written as a function call should be; the functions it calls
    /// are checked by [`Builder::check_clause_functions`].
    pub fn check_clause_syntax(&mut self, file: FileId, clause: &Value, path: &str) {
        match crate::tosca::functions::parse_expr(clause) {
            Ok(expr) => {
                if clause.span.is_known() {
                    self.reg.clauses.insert(clause.span, expr.clone());
                }
                self.clause_sites.push((file, expr, path.to_string()));
            }
            Err(e) => self.report("function-syntax", e.span, path, e.message),
        }
    }

    /// Reports every validation clause that calls a function TOSCA 2.0 does not define and
    /// its file does not declare (a TOSCA 1.x name such as `$in_range`, a misspelling), or a
    /// built-in with the wrong number of arguments. Runs once function definitions are read.
    pub fn check_clause_functions(&mut self) {
        for (file, expr, path) in std::mem::take(&mut self.clause_sites) {
            let registry = &self.reg;
            let errors = crate::tosca::functions::check_expr(&expr, &|name| {
                registry.lookup_function(file, name).is_some()
            });
            for e in errors {
                self.report("function", e.span, &path, e.message);
            }
        }
    }

    /// Resolves the artifact types named in an implementation definition (`primary` and
    /// `dependencies` written as artifact definitions); names of artifacts (strings) are
    /// left to the templates stage, which knows the artifacts of each node.
    pub fn check_implementation(&mut self, file: FileId, implementation: &Value, path: &str) {
        let mut artifacts: Vec<(&Value, String)> = Vec::new();
        if let Some(primary) = implementation.get("primary") {
            artifacts.push((primary, join(path, "primary")));
        }
        if let Some(dependencies) = implementation.get("dependencies").and_then(Value::as_list) {
            for (i, d) in dependencies.iter().enumerate() {
                artifacts.push((d, format!("{}[{i}]", join(path, "dependencies"))));
            }
        }
        for (artifact, artifact_path) in artifacts {
            if let Some(type_name) = artifact.get("type") {
                self.resolve(
                    file,
                    TypeKind::Artifact,
                    type_name,
                    &join(&artifact_path, "type"),
                );
            }
        }
    }

    /// Checks every queued literal.
    pub fn run_value_checks(&mut self) {
        let checks = std::mem::take(&mut self.checks);
        for check in checks {
            super::check_value(
                &self.reg,
                &check.schema,
                &check.value,
                self.problems,
                &check.path,
            );
        }
    }

    /// The path of a keyname inside a definition.
    pub fn path(def: &Definition<'_>, key: &str) -> String {
        join(&def.path, key)
    }
}

/// A `metadata` map as an ordered map (non-string keys were reported by the grammar).
pub fn read_metadata(value: Option<&Value>) -> indexmap::IndexMap<String, Value> {
    value
        .and_then(Value::as_map)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The header of any type, for writing.
pub fn header_mut(reg: &mut TypeRegistry, id: TypeId) -> &mut super::model::TypeHeader {
    let i = id.index as usize;
    match id.kind {
        TypeKind::Artifact => &mut reg.artifact[i].header,
        TypeKind::Data => &mut reg.data[i].header,
        TypeKind::Capability => &mut reg.capability[i].header,
        TypeKind::Interface => &mut reg.interface[i].header,
        TypeKind::Relationship => &mut reg.relationship[i].header,
        TypeKind::Node => &mut reg.node[i].header,
        TypeKind::Group => &mut reg.group[i].header,
        TypeKind::Policy => &mut reg.policy[i].header,
    }
}
