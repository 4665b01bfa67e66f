//! Property, attribute and parameter definitions, and the schemas they carry, with the
//! refinement rules that apply when a derived type (or a capability, requirement or interface
//! definition) refines an inherited definition:
//!
//! - a refined `type` must be the same as, or derived from, the inherited one;
//! - `required` may only go from false to true;
//! - a definition with a fixed `value` cannot be refined at all;
//! - `validation` clauses are ANDed with the inherited ones; `default` and `description`
//!   replace the inherited ones;
//! - `entry_schema` and `key_schema` are refined by the same rules, recursively.
//!
//! The short form `name: value` fixes the value of an inherited property; it is not a
//! definition. The specification also says `default` SHALL NOT be given with
//! `required: false`, but its own examples (and the conformance suite) do exactly that, so we
//! accept it.

use indexmap::IndexMap;

use super::builder::{Builder, read_metadata};
use super::model::{DataKind, ParameterDef, PropertyDef, Schema, TypeId, TypeKind};
use crate::tosca::grammar::shape::join;
use crate::tosca::source::{FileId, Span};
use crate::tosca::value::Value;

/// Which kind of definition is being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A property: may be required, may have a fixed value.
    Property,
    /// An attribute: never required, no fixed value.
    Attribute,
}

impl<'a> Builder<'a, '_> {
    /// Reads a map of property (or attribute) definitions on top of the inherited ones.
    /// When `allow_new` is false (capability and relationship refinements inside node types)
    /// only inherited definitions may be refined.
    pub fn read_properties(
        &mut self,
        file: FileId,
        section: Option<&Value>,
        inherited: IndexMap<String, PropertyDef>,
        role: Role,
        path: &str,
        allow_new: bool,
    ) -> IndexMap<String, PropertyDef> {
        self.read_over(section, inherited, path, |b, e| {
            if e.parent.is_none() && !allow_new {
                let what = if role == Role::Property {
                    "property"
                } else {
                    "attribute"
                };
                b.report(
                    "undeclared",
                    e.key.span,
                    &e.path,
                    format!(
                        "`{}` is not an {what} of the type being refined; new ones cannot be added here",
                        e.name
                    ),
                );
                return None;
            }
            b.read_property(file, e.name, e.value, e.parent.as_ref(), role, &e.path)
        })
    }

    /// Reads one property or attribute definition, refining `parent` when there is one.
    pub fn read_property(
        &mut self,
        file: FileId,
        name: &str,
        value: &Value,
        parent: Option<&PropertyDef>,
        role: Role,
        path: &str,
    ) -> Option<PropertyDef> {
        if let Some(parent) = parent
            && parent.fixed.is_some()
        {
            self.report(
                "fixed-value",
                value.span,
                path,
                format!("`{name}` has a fixed value, so it cannot be refined"),
            );
            return Some(parent.clone());
        }
        if value.as_map().is_none() {
            let Some(parent) = parent else {
                self.report(
                    "missing-keyname",
                    value.span,
                    path,
                    format!(
                        "`{name}` is a new definition, so it needs the long form with a `type`; the short form `name: value` only refines an inherited one"
                    ),
                );
                return None;
            };
            let mut def = parent.clone();
            def.span = value.span;
            match role {
                Role::Property => def.fixed = Some(value.clone()),
                Role::Attribute => def.default = Some(value.clone()),
            }
            self.queue_check(&def.schema, &def.validation, value, path);
            return Some(def);
        }
        let type_value = value.get("type");
        let data_type = match type_value {
            Some(t) => {
                self.resolve_schema_type(file, t, parent.map(|p| &p.schema), &join(path, "type"))?
            }
            None => match parent {
                Some(p) => p.schema.data_type,
                None => {
                    self.report(
                        "missing-keyname",
                        value.span,
                        path,
                        format!("the definition of `{name}` must have the keyname `type`"),
                    );
                    return None;
                }
            },
        };
        let (entry_schema, key_schema) = self.collection_schemas(
            file,
            data_type,
            value.get("entry_schema"),
            value.get("key_schema"),
            parent.map(|p| &p.schema),
            value.span,
            path,
        );
        let mut validation = parent.map(|p| p.validation.clone()).unwrap_or_default();
        if let Some(v) = value.get("validation") {
            self.check_clause_syntax(file, v, &join(path, "validation"));
            validation.push(v.clone());
        }
        let inherited_required = parent.map_or(role == Role::Property, |p| p.required);
        let required = match (role, value.get("required").and_then(Value::as_bool)) {
            (Role::Attribute, _) => false,
            (Role::Property, Some(false)) if parent.is_some_and(|p| p.required) => {
                self.report(
                    "invalid-refinement",
                    value.get("required").map_or(value.span, |v| v.span),
                    &join(path, "required"),
                    format!("`{name}` is required by the definition it refines; a refinement may not make it optional"),
                );
                true
            }
            (Role::Property, Some(r)) => r,
            (Role::Property, None) => inherited_required,
        };
        let schema = Schema {
            data_type,
            entry_schema,
            key_schema,
            validation: validation.clone(),
        };
        let default = value
            .get("default")
            .cloned()
            .or_else(|| parent.and_then(|p| p.default.clone()));
        let fixed = value.get("value").cloned();
        if let Some(d) = value.get("default") {
            self.queue_check(&schema, &validation, d, &join(path, "default"));
        }
        if let Some(v) = value.get("value") {
            self.queue_check(&schema, &validation, v, &join(path, "value"));
        }
        if let Some(status) = value.get("status").and_then(Value::as_str) {
            check_status(
                self,
                status,
                value.get("status").map_or(value.span, |v| v.span),
                &join(path, "status"),
            );
        }
        Some(PropertyDef {
            name: name.to_string(),
            span: value.span,
            schema,
            description: text(value, "description")
                .or_else(|| parent.and_then(|p| p.description.clone())),
            required,
            default,
            fixed,
            validation,
            status: text(value, "status").or_else(|| parent.and_then(|p| p.status.clone())),
            metadata: match value.get("metadata") {
                Some(m) => read_metadata(Some(m)),
                None => parent.map(|p| p.metadata.clone()).unwrap_or_default(),
            },
        })
    }

    /// Reads a map of parameter definitions (interface and operation inputs and outputs) on
    /// top of inherited ones; new parameters may always be added. Where `values` is false (an
    /// interface type, which only declares), a parameter must be a definition (a map), not a
    /// value.
    pub fn read_parameters(
        &mut self,
        file: FileId,
        section: Option<&Value>,
        inherited: IndexMap<String, ParameterDef>,
        path: &str,
        values: bool,
        incoming: bool,
    ) -> IndexMap<String, ParameterDef> {
        self.read_over(section, inherited, path, |b, e| {
            if !values && e.value.as_map().is_none() {
                b.report(
                    "wrong-shape",
                    e.value.span,
                    &e.path,
                    format!(
                        "the parameter `{}` of an interface type must be a definition (a map with its `type`), not a value; values belong in the interface definitions of node and relationship types",
                        e.name
                    ),
                );
                return None;
            }
            b.read_parameter(file, e.name, e.value, e.parent.as_ref(), &e.path, incoming)
        })
    }

    /// Reads one parameter definition; its type is optional, a non-map is its `value`, or,
    /// for an `incoming` parameter (an operation's or notification's output), its `mapping`
    /// (§9.7's single-line grammars).
    pub fn read_parameter(
        &mut self,
        file: FileId,
        name: &str,
        value: &Value,
        parent: Option<&ParameterDef>,
        path: &str,
        incoming: bool,
    ) -> Option<ParameterDef> {
        if value.as_map().is_none() {
            let mut def = parent.cloned().unwrap_or_else(|| ParameterDef {
                name: name.to_string(),
                span: value.span,
                schema: None,
                description: None,
                required: true,
                default: None,
                value: None,
                mapping: None,
                validation: Vec::new(),
            });
            def.span = value.span;
            if incoming {
                def.mapping = Some(value.clone());
                return Some(def);
            }
            def.value = Some(value.clone());
            if let Some(schema) = &def.schema {
                let schema = schema.clone();
                let validation = def.validation.clone();
                self.queue_check(&schema, &validation, value, path);
            }
            return Some(def);
        }
        let schema = match value.get("type") {
            Some(t) => {
                let data_type = self.resolve_schema_type(
                    file,
                    t,
                    parent.and_then(|p| p.schema.as_ref()),
                    &join(path, "type"),
                )?;
                let (entry_schema, key_schema) = self.collection_schemas(
                    file,
                    data_type,
                    value.get("entry_schema"),
                    value.get("key_schema"),
                    parent.and_then(|p| p.schema.as_ref()),
                    value.span,
                    path,
                );
                Some(Schema {
                    data_type,
                    entry_schema,
                    key_schema,
                    validation: Vec::new(),
                })
            }
            None => parent.and_then(|p| p.schema.clone()),
        };
        if value.get("value").is_some() && value.get("mapping").is_some() {
            self.report(
                "conflicting-keynames",
                value.span,
                path,
                format!("the parameter `{name}` may have a `value` or a `mapping`, not both"),
            );
        }
        let mut validation = parent.map(|p| p.validation.clone()).unwrap_or_default();
        if let Some(v) = value.get("validation") {
            self.check_clause_syntax(file, v, &join(path, "validation"));
            validation.push(v.clone());
        }
        let schema = schema.map(|s| Schema {
            validation: validation.clone(),
            ..s
        });
        if let Some(schema) = &schema {
            for key in ["default", "value"] {
                if let Some(v) = value.get(key) {
                    self.queue_check(schema, &validation, v, &join(path, key));
                }
            }
        }
        Some(ParameterDef {
            name: name.to_string(),
            span: value.span,
            schema,
            description: text(value, "description")
                .or_else(|| parent.and_then(|p| p.description.clone())),
            required: value
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or_else(|| parent.is_none_or(|p| p.required)),
            default: value
                .get("default")
                .cloned()
                .or_else(|| parent.and_then(|p| p.default.clone())),
            value: value
                .get("value")
                .cloned()
                .or_else(|| parent.and_then(|p| p.value.clone())),
            mapping: value
                .get("mapping")
                .cloned()
                .or_else(|| parent.and_then(|p| p.mapping.clone())),
            validation,
        })
    }

    /// Reads a schema definition (short form: a type name), refining `parent` when given.
    /// A key schema's type must derive from `string`.
    pub fn read_schema(
        &mut self,
        file: FileId,
        value: &Value,
        parent: Option<&Schema>,
        path: &str,
        for_key: bool,
    ) -> Option<Schema> {
        let (type_value, map) = match value.as_map() {
            Some(_) => (value.get("type"), Some(value)),
            None => (Some(value), None),
        };
        let data_type = match type_value {
            Some(t) => self.resolve_schema_type(file, t, parent, &join(path, "type"))?,
            None => match parent {
                Some(p) => p.data_type,
                None => {
                    self.report(
                        "missing-keyname",
                        value.span,
                        path,
                        "a schema definition must have the keyname `type`",
                    );
                    return None;
                }
            },
        };
        if for_key && !self.derives_from_builtin(data_type, "string") {
            self.report(
                "invalid-key-schema",
                type_value.map_or(value.span, |v| v.span),
                path,
                format!(
                    "map keys are strings, so a key schema's type must derive from string, but `{}` does not",
                    self.reg.header(data_type).name
                ),
            );
        }
        let (entry_schema, key_schema) = self.collection_schemas(
            file,
            data_type,
            map.and_then(|m| m.get("entry_schema")),
            map.and_then(|m| m.get("key_schema")),
            parent,
            value.span,
            path,
        );
        let mut validation = parent.map(|p| p.validation.clone()).unwrap_or_default();
        if let Some(v) = map.and_then(|m| m.get("validation")) {
            self.check_clause_syntax(file, v, &join(path, "validation"));
            validation.push(v.clone());
        }
        Some(Schema {
            data_type,
            entry_schema,
            key_schema,
            validation,
        })
    }

    /// Resolves the data type of a definition or schema, checking it refines `parent`'s and
    /// is not the abstract `scalar`.
    fn resolve_schema_type(
        &mut self,
        file: FileId,
        name: &Value,
        parent: Option<&Schema>,
        path: &str,
    ) -> Option<TypeId> {
        let id = self.resolve(file, TypeKind::Data, name, path)?;
        if let Some(parent) = parent
            && !self.reg.derives_from(id, parent.data_type)
        {
            self.report(
                "invalid-refinement",
                name.span,
                path,
                format!(
                    "a refinement may only keep the type `{}` or use a type derived from it, not `{}`",
                    self.reg.header(parent.data_type).name,
                    self.reg.header(id).name
                ),
            );
        }
        if self.reg.builtin("scalar") == Some(id) {
            self.report(
                "abstract-type",
                name.span,
                path,
                "`scalar` is abstract: use a scalar type derived from it, which defines units",
            );
        }
        Some(id)
    }

    /// The entry and key schemas of a use of `data_type`: written here, else inherited from
    /// the refined definition, else the data type's own. Lists and maps need an entry schema;
    /// other types may have neither, and only maps may have a key schema.
    #[allow(clippy::too_many_arguments)]
    pub fn collection_schemas(
        &mut self,
        file: FileId,
        data_type: TypeId,
        entry: Option<&Value>,
        key: Option<&Value>,
        parent: Option<&Schema>,
        span: Span,
        path: &str,
    ) -> (Option<Box<Schema>>, Option<Box<Schema>>) {
        super::data_type::ensure_complete(self, data_type);
        let kind = self.reg.data_type(data_type).kind.clone();
        let is_list = matches!(kind, DataKind::List);
        let is_map = matches!(kind, DataKind::Map);
        let own_entry = self.reg.data_type(data_type).entry_schema.clone();
        let own_key = self.reg.data_type(data_type).key_schema.clone();
        let inherited_entry = parent
            .and_then(|p| p.entry_schema.as_deref().cloned())
            .filter(|_| parent.is_some_and(|p| self.reg.derives_from(data_type, p.data_type)))
            .or(own_entry);
        let inherited_key = parent
            .and_then(|p| p.key_schema.as_deref().cloned())
            .filter(|_| parent.is_some_and(|p| self.reg.derives_from(data_type, p.data_type)))
            .or(own_key);
        let entry_schema = match entry {
            Some(e) if !(is_list || is_map) => {
                self.report(
                    "misplaced-keyname",
                    e.span,
                    &join(path, "entry_schema"),
                    format!(
                        "`entry_schema` is only for lists and maps, not for `{}`",
                        self.reg.header(data_type).name
                    ),
                );
                None
            }
            Some(e) => self.read_schema(
                file,
                e,
                inherited_entry.as_ref(),
                &join(path, "entry_schema"),
                false,
            ),
            None => inherited_entry,
        };
        if (is_list || is_map) && entry_schema.is_none() && entry.is_none() {
            self.report(
                "missing-keyname",
                span,
                path,
                format!(
                    "`{}` is a {}, so it needs an `entry_schema` saying what its entries are",
                    self.reg.header(data_type).name,
                    if is_list { "list" } else { "map" }
                ),
            );
        }
        let key_schema = match key {
            Some(k) if !is_map => {
                self.report(
                    "misplaced-keyname",
                    k.span,
                    &join(path, "key_schema"),
                    format!(
                        "`key_schema` is only for maps, not for `{}`",
                        self.reg.header(data_type).name
                    ),
                );
                None
            }
            Some(k) => self.read_schema(
                file,
                k,
                inherited_key.as_ref(),
                &join(path, "key_schema"),
                true,
            ),
            None => inherited_key,
        };
        (entry_schema.map(Box::new), key_schema.map(Box::new))
    }

    /// Whether a data type is (or derives from) the named built-in.
    pub fn derives_from_builtin(&self, id: TypeId, builtin: &str) -> bool {
        self.reg
            .builtin(builtin)
            .is_some_and(|b| self.reg.derives_from(id, b))
    }
}

/// A string keyname's value, if present.
pub fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn check_status(b: &mut Builder<'_, '_>, status: &str, span: Span, path: &str) {
    const STATUSES: [&str; 4] = ["supported", "unsupported", "experimental", "deprecated"];
    if !STATUSES.iter().any(|s| s.eq_ignore_ascii_case(status)) {
        b.report(
            "invalid-value",
            span,
            path,
            format!("`{status}` is not a status; expected one of supported, unsupported, experimental, deprecated"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn a_refined_type_must_derive_from_the_inherited_one() {
        let base = "data_types:\n  S: {derived_from: string}\n  P:\n    properties:\n      a: {type: string}\n";
        assert_valid(&format!(
            "{base}  Q:\n    derived_from: P\n    properties:\n      a: {{type: S}}\n"
        ));
        assert_problem(
            &format!(
                "{base}  Q:\n    derived_from: P\n    properties:\n      a: {{type: integer}}\n"
            ),
            "invalid-refinement",
        );
    }

    #[test]
    fn required_only_goes_from_false_to_true() {
        let base = "node_types:\n  A:\n    properties:\n      r: {type: string}\n      o: {type: string, required: false}\n";
        assert_valid(&format!(
            "{base}  B:\n    derived_from: A\n    properties:\n      o: {{required: true}}\n"
        ));
        assert_problem(
            &format!(
                "{base}  B:\n    derived_from: A\n    properties:\n      r: {{required: false}}\n"
            ),
            "invalid-refinement",
        );
    }

    #[test]
    fn a_fixed_value_cannot_be_refined() {
        let base = "node_types:\n  A:\n    properties:\n      p: {type: integer, value: 3}\n";
        assert_problem(
            &format!("{base}  B:\n    derived_from: A\n    properties:\n      p: 4\n"),
            "fixed-value",
        );
        assert_problem(
            &format!("{base}  B:\n    derived_from: A\n    properties:\n      p: {{default: 4}}\n"),
            "fixed-value",
        );
    }

    #[test]
    fn the_short_form_only_refines() {
        let registry = assert_valid(
            "capability_types:\n  E:\n    properties:\n      secure: {type: boolean, required: false}\n  F:\n    derived_from: E\n    properties:\n      secure: true\n",
        );
        let f = registry.capability_type(id(&registry, TypeKind::Capability, "F"));
        assert_eq!(
            f.properties["secure"]
                .fixed
                .as_ref()
                .and_then(Value::as_bool),
            Some(true)
        );
        assert_problem(
            "node_types:\n  A:\n    properties:\n      p: 5\n",
            "missing-keyname",
        );
    }

    #[test]
    fn validation_clauses_accumulate_and_defaults_override() {
        let registry = assert_valid(
            "node_types:\n  A:\n    properties:\n      p:\n        type: integer\n        default: 1\n        validation: {$greater_than: [$value, 0]}\n  B:\n    derived_from: A\n    properties:\n      p:\n        default: 5\n        validation: {$less_than: [$value, 10]}\n",
        );
        let b = registry.node_type(id(&registry, TypeKind::Node, "B"));
        assert_eq!(b.properties["p"].validation.len(), 2);
        assert_eq!(
            b.properties["p"].default.as_ref().and_then(Value::as_i64),
            Some(5)
        );
        assert!(b.properties["p"].required);
    }

    #[test]
    fn lists_and_maps_need_entry_schemas_and_only_maps_key_schemas() {
        assert_problem(
            "node_types:\n  A:\n    properties:\n      l: {type: list}\n",
            "missing-keyname",
        );
        assert_valid(
            "node_types:\n  A:\n    properties:\n      l: {type: list, entry_schema: string}\n",
        );
        assert_problem(
            "node_types:\n  A:\n    properties:\n      s: {type: string, entry_schema: string}\n",
            "misplaced-keyname",
        );
        assert_problem(
            "node_types:\n  A:\n    properties:\n      l: {type: list, entry_schema: string, key_schema: string}\n",
            "misplaced-keyname",
        );
        assert_problem(
            "node_types:\n  A:\n    properties:\n      m: {type: map, entry_schema: string, key_schema: integer}\n",
            "invalid-key-schema",
        );
        assert_problem(
            "node_types:\n  A:\n    properties:\n      m: {type: list, entry_schema: scalar}\n",
            "abstract-type",
        );
    }

    #[test]
    fn schemas_are_refined_without_repeating_their_type() {
        let registry = assert_valid(
            "node_types:\n  A:\n    properties:\n      m:\n        type: map\n        entry_schema: {type: integer}\n  B:\n    derived_from: A\n    properties:\n      m:\n        entry_schema:\n          validation: {$greater_or_equal: [$value, 0]}\n",
        );
        let b = registry.node_type(id(&registry, TypeKind::Node, "B"));
        let entry = b.properties["m"].schema.entry_schema.as_ref().unwrap();
        assert_eq!(entry.data_type, registry.builtin("integer").unwrap());
        assert_eq!(entry.validation.len(), 1);
    }

    #[test]
    fn unknown_property_types_are_reported_where_used() {
        let (_, problems) =
            build_one("data_types:\n  P:\n    properties:\n      a:\n        type: Nope\n");
        let p = problems
            .iter()
            .find(|p| p.code == "unknown-type")
            .expect("reported");
        assert_eq!(
            (p.span.line, p.path.as_str()),
            (5, "data_types.P.properties.a.type")
        );
    }
}
