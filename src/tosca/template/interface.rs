//! Interfaces of node templates and relationships: the type's interface definitions with
//! the template's interface assignments on top, so instantiation has, per operation, what
//! runs it and what it is given.
//!
//! Values come from the most specific place that gives one: an assignment's input, else the
//! definition's `value`, else its `default`. An assignment's `implementation` replaces the
//! definition's. An implementation names its artifacts: a name among the node's `artifacts`
//! stays a name; any other string is a file, located like an artifact's; a map is an
//! artifact definition. The assignments themselves were checked by [`super::check`].

use indexmap::IndexMap;

use super::artifact::{Places, ResolvedArtifact};
use crate::tosca::source::Span;
use crate::tosca::types::{InterfaceDef, OperationDef, ParameterDef, Schema, TypeId, TypeRegistry};
use crate::tosca::value::Value;

/// An interface with its values.
#[derive(Clone, Debug)]
pub struct ResolvedInterface {
    /// Its interface type.
    pub interface_type: TypeId,
    /// Interface-wide input values.
    pub inputs: IndexMap<String, Value>,
    /// The declared types of inputs (with their validation), to check computed values.
    pub input_schemas: IndexMap<String, Schema>,
    /// Every operation the interface declares.
    pub operations: IndexMap<String, ResolvedOperation>,
    /// Every notification the interface declares.
    pub notifications: IndexMap<String, ResolvedOperation>,
}

/// An operation (or notification) with its values.
#[derive(Clone, Debug)]
pub struct ResolvedOperation {
    /// What runs it, if anything does yet.
    pub implementation: Option<ResolvedImplementation>,
    /// Input values.
    pub inputs: IndexMap<String, Value>,
    /// The declared types of inputs (with their validation), to check computed values.
    pub input_schemas: IndexMap<String, Schema>,
    /// Output mappings: output name → the attribute it sets (a TOSCA path, as written).
    pub outputs: IndexMap<String, Value>,
}

/// An operation's implementation with its artifacts resolved.
#[derive(Clone, Debug)]
pub struct ResolvedImplementation {
    /// `primary`.
    pub primary: Option<ResolvedArtifactRef>,
    /// `dependencies`, in order.
    pub dependencies: Vec<ResolvedArtifactRef>,
    /// `timeout`, in seconds.
    pub timeout: Option<i64>,
}

/// An artifact an implementation uses.
#[derive(Clone, Debug)]
pub enum ResolvedArtifactRef {
    /// One of the node's artifacts, by name.
    Artifact(String),
    /// An artifact (or bare file) written in the implementation.
    Inline(Box<ResolvedArtifact>),
}

/// What resolving interfaces needs besides the definitions and assignments.
pub struct Resolving<'a> {
    /// The types.
    pub registry: &'a TypeRegistry,
    /// Where the TOSCA files are, to locate implementation files.
    pub places: &'a Places,
    /// The artifact names of the node (for a relationship, of its source node).
    pub artifacts: &'a IndexMap<String, ResolvedArtifact>,
}

impl Resolving<'_> {
    /// Every interface of `definitions`, with `assignments` applied in order (later ones
    /// win). An implementation whose file cannot be located is reported through `report`
    /// (where it is written, why) and left out.
    pub fn interfaces(
        &self,
        definitions: &IndexMap<String, InterfaceDef>,
        assignments: &[&IndexMap<String, Value>],
        report: &mut dyn FnMut(Span, String),
    ) -> IndexMap<String, ResolvedInterface> {
        definitions
            .iter()
            .map(|(name, def)| {
                let given: Vec<&Value> = assignments.iter().filter_map(|a| a.get(name)).collect();
                (name.clone(), self.interface(def, &given, report))
            })
            .collect()
    }

    fn interface(
        &self,
        def: &InterfaceDef,
        given: &[&Value],
        report: &mut dyn FnMut(Span, String),
    ) -> ResolvedInterface {
        let mut inputs = parameter_values(&def.inputs);
        for assignment in given {
            assign(&mut inputs, assignment.get("inputs"));
        }
        let section =
            |key: &str| -> Vec<&Value> { given.iter().filter_map(|a| a.get(key)).collect() };
        ResolvedInterface {
            interface_type: def.interface_type,
            inputs,
            input_schemas: schemas(&def.inputs),
            operations: self.operations(&def.operations, &section("operations"), report),
            notifications: self.operations(&def.notifications, &section("notifications"), report),
        }
    }

    fn operations(
        &self,
        definitions: &IndexMap<String, OperationDef>,
        given: &[&Value],
        report: &mut dyn FnMut(Span, String),
    ) -> IndexMap<String, ResolvedOperation> {
        definitions
            .iter()
            .map(|(name, def)| {
                let mut implementation = def.implementation.as_ref();
                let mut inputs = parameter_values(&def.inputs);
                let mut outputs: IndexMap<String, Value> = def
                    .outputs
                    .iter()
                    .filter_map(|(k, d)| Some((k.clone(), d.mapping.clone()?)))
                    .collect();
                for assignment in given.iter().filter_map(|ops| ops.get(name)) {
                    if assignment.as_str().is_some() {
                        implementation = Some(assignment);
                    } else if assignment.as_map().is_some() {
                        if let Some(i) = assignment.get("implementation") {
                            implementation = Some(i);
                        }
                        assign(&mut inputs, assignment.get("inputs"));
                        assign(&mut outputs, assignment.get("outputs"));
                    }
                }
                let operation = ResolvedOperation {
                    implementation: implementation.and_then(|i| self.implementation(i, report)),
                    inputs,
                    input_schemas: schemas(&def.inputs),
                    outputs,
                };
                (name.clone(), operation)
            })
            .collect()
    }

    fn implementation(
        &self,
        value: &Value,
        report: &mut dyn FnMut(Span, String),
    ) -> Option<ResolvedImplementation> {
        if value.as_map().is_none() {
            return Some(ResolvedImplementation {
                primary: self.artifact_ref(value, report),
                dependencies: Vec::new(),
                timeout: None,
            });
        }
        Some(ResolvedImplementation {
            primary: value
                .get("primary")
                .and_then(|p| self.artifact_ref(p, report)),
            dependencies: value
                .get("dependencies")
                .and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(|d| self.artifact_ref(d, report))
                .collect(),
            timeout: value.get("timeout").and_then(Value::as_i64),
        })
    }

    fn artifact_ref(
        &self,
        value: &Value,
        report: &mut dyn FnMut(Span, String),
    ) -> Option<ResolvedArtifactRef> {
        let resolved = match value.as_str() {
            Some(name) if self.artifacts.contains_key(name) => {
                return Some(ResolvedArtifactRef::Artifact(name.to_string()));
            }
            Some(_) => ResolvedArtifact::of_file(value, self.places),
            None if value.as_map().is_some() => {
                ResolvedArtifact::of_value(value, None, self.registry, self.places)
            }
            None => return None,
        };
        match resolved {
            Ok(artifact) => Some(ResolvedArtifactRef::Inline(Box::new(artifact))),
            Err(message) => {
                report(value.span, message);
                None
            }
        }
    }
}

/// The schemas of the typed parameters, each with the parameter's validation.
fn schemas(definitions: &IndexMap<String, ParameterDef>) -> IndexMap<String, Schema> {
    definitions
        .iter()
        .filter_map(|(name, def)| {
            let mut schema = def.schema.clone()?;
            schema.validation = def.validation.clone();
            Some((name.clone(), schema))
        })
        .collect()
}

/// The values parameter definitions give: `value`, else `default`.
fn parameter_values(definitions: &IndexMap<String, ParameterDef>) -> IndexMap<String, Value> {
    definitions
        .iter()
        .filter_map(|(name, def)| {
            let value = def.value.as_ref().or(def.default.as_ref())?;
            Some((name.clone(), value.clone()))
        })
        .collect()
}

/// Applies an assignment's `inputs` (or `outputs`) map on top of `values`.
fn assign(values: &mut IndexMap<String, Value>, given: Option<&Value>) {
    for (k, v) in given.and_then(Value::as_map).unwrap_or_default() {
        if let Some(name) = k.as_str() {
            values.insert(name.to_string(), v.clone());
        }
    }
}
