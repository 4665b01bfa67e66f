//! The service template as the author wrote it, read into plain structures.
//!
//! Reading (see [`super::parse`]) only checks the grammar: keynames, shapes and names. The
//! checks that need types (property values, requirement definitions, member types) run later,
//! in [`super::check`], against the type registry. Values stay spanned [`Value`]s so every
//! later problem can still point at file:line:column.

use indexmap::IndexMap;

use super::substitution::SubstitutionMappings;

use crate::tosca::source::{FileId, Span};
use crate::tosca::value::Value;

/// A `service_template`, read.
#[derive(Clone, Debug, Default)]
pub struct ServiceTemplate {
    /// The file it was read from (names of types are looked up as this file sees them).
    pub file: FileId,
    /// Where `service_template:` starts.
    pub span: Span,
    /// `description`.
    pub description: Option<String>,
    /// `inputs`.
    pub inputs: IndexMap<String, Parameter>,
    /// `outputs`.
    pub outputs: IndexMap<String, Parameter>,
    /// `node_templates`, in source order.
    pub node_templates: IndexMap<String, NodeTemplate>,
    /// `relationship_templates`.
    pub relationship_templates: IndexMap<String, RelationshipTemplate>,
    /// `groups`.
    pub groups: IndexMap<String, Group>,
    /// `policies`, in order.
    pub policies: Vec<Policy>,
    /// `substitution_mappings`.
    pub substitution_mappings: Option<SubstitutionMappings>,
    /// `workflows`.
    pub workflows: IndexMap<String, Workflow>,
}

/// An input or output parameter definition of the service.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// The definition as written (type, schemas, validation… are checked with the types).
    pub definition: Value,
    /// `type`, when given.
    pub type_name: Option<(String, Span)>,
    /// `required` (default true).
    pub required: bool,
    /// `default`.
    pub default: Option<Value>,
    /// `value` (outputs; or a fixed input value).
    pub value: Option<Value>,
    /// `validation`.
    pub validation: Option<Value>,
}

/// A node template.
#[derive(Clone, Debug)]
pub struct NodeTemplate {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// `type` as written (after `copy`, the copied template's when not given).
    pub type_name: Option<(String, Span)>,
    /// `directives` (create, select, substitute), in order of preference.
    pub directives: Vec<String>,
    /// `properties` as assigned.
    pub properties: IndexMap<String, Value>,
    /// `attributes` as assigned.
    pub attributes: IndexMap<String, Value>,
    /// `requirements`, in order (one name may repeat).
    pub requirements: Vec<RequirementAssignment>,
    /// `capabilities`.
    pub capabilities: IndexMap<String, CapabilityAssignment>,
    /// `interfaces` as written (checked against the type's interface definitions).
    pub interfaces: IndexMap<String, Value>,
    /// `artifacts` as written.
    pub artifacts: IndexMap<String, Value>,
    /// `count`: an integer or an expression (default 1).
    pub count: Option<Value>,
    /// `node_filter` (with `select`).
    pub node_filter: Option<Value>,
    /// `copy`: the template this one copies.
    pub copy: Option<(String, Span)>,
}

/// A capability assignment in a node template.
#[derive(Clone, Debug)]
pub struct CapabilityAssignment {
    /// The capability's name.
    pub name: String,
    /// Where it is assigned.
    pub span: Span,
    /// `properties`.
    pub properties: IndexMap<String, Value>,
    /// `attributes`.
    pub attributes: IndexMap<String, Value>,
    /// `directives` (internal, external).
    pub directives: Vec<String>,
}

/// Which node a requirement assignment names.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeRef {
    /// A node template or a node type name.
    Name(String),
    /// `[template, index]`: one representation of a template (index an integer or an
    /// expression such as `$node_index`).
    Indexed(String, Value),
}

impl NodeRef {
    /// The template or type name.
    pub fn name(&self) -> &str {
        match self {
            NodeRef::Name(n) | NodeRef::Indexed(n, _) => n,
        }
    }
}

/// The relationship of a requirement assignment: a type or template name, or a long form.
#[derive(Clone, Debug, Default)]
pub struct RelationshipAssignment {
    /// `type` (or the short form's name: a type, else a relationship template).
    pub name: Option<(String, Span)>,
    /// `properties`.
    pub properties: IndexMap<String, Value>,
    /// `attributes`.
    pub attributes: IndexMap<String, Value>,
    /// `interfaces` as written.
    pub interfaces: IndexMap<String, Value>,
}

/// A requirement assignment in a node template.
#[derive(Clone, Debug)]
pub struct RequirementAssignment {
    /// The requirement's name.
    pub name: String,
    /// Where it is assigned.
    pub span: Span,
    /// `node`.
    pub node: Option<(NodeRef, Span)>,
    /// `capability`: a symbolic name or a capability type.
    pub capability: Option<(String, Span)>,
    /// `relationship`.
    pub relationship: Option<RelationshipAssignment>,
    /// `allocation`: capacity taken from the target capability, by property.
    pub allocation: IndexMap<String, Value>,
    /// `count`: how many relationships (default 1); an integer or an expression.
    pub count: Option<Value>,
    /// `node_filter`, ANDed with the definition's.
    pub node_filter: Option<Value>,
    /// `directives` (internal, external).
    pub directives: Vec<String>,
    /// `optional` (default false).
    pub optional: bool,
    /// Made by the processor for a definition whose `count_range` minimum is above zero.
    pub implicit: bool,
}

/// A relationship template.
#[derive(Clone, Debug)]
pub struct RelationshipTemplate {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// `type`.
    pub type_name: Option<(String, Span)>,
    /// `properties`.
    pub properties: IndexMap<String, Value>,
    /// `attributes`.
    pub attributes: IndexMap<String, Value>,
    /// `interfaces` as written.
    pub interfaces: IndexMap<String, Value>,
    /// `copy`.
    pub copy: Option<(String, Span)>,
}

/// A group.
#[derive(Clone, Debug)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// `type`.
    pub type_name: Option<(String, Span)>,
    /// `properties`.
    pub properties: IndexMap<String, Value>,
    /// `attributes`.
    pub attributes: IndexMap<String, Value>,
    /// `members`: node template names.
    pub members: Vec<(String, Span)>,
}

/// A policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// `type`.
    pub type_name: Option<(String, Span)>,
    /// `properties`.
    pub properties: IndexMap<String, Value>,
    /// `targets`: node template or group names.
    pub targets: Vec<(String, Span)>,
    /// `triggers` as written.
    pub triggers: IndexMap<String, Value>,
}

/// An imperative workflow.
#[derive(Clone, Debug)]
pub struct Workflow {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// `inputs`.
    pub inputs: IndexMap<String, Parameter>,
    /// `steps`.
    /// `precondition`: a condition clause.
    pub precondition: Option<Value>,
    pub steps: IndexMap<String, WorkflowStep>,
}

/// One step of a workflow.
#[derive(Clone, Debug)]
pub struct WorkflowStep {
    /// Its name.
    pub name: String,
    /// Where it is defined.
    pub span: Span,
    /// `target`: a node template or group.
    pub target: Option<(String, Span)>,
    /// `target_relationship`: a requirement of the target.
    pub target_relationship: Option<(String, Span)>,
    /// `activities`, in order.
    /// `filter`: condition clauses.
    pub filter: Vec<Value>,
    pub activities: Vec<Activity>,
    /// `on_success` step names.
    pub on_success: Vec<(String, Span)>,
    /// `on_failure` step names.
    pub on_failure: Vec<(String, Span)>,
}

/// A workflow activity.
#[derive(Clone, Debug)]
pub enum Activity {
    /// `delegate`: a declarative workflow by name, with inputs.
    Delegate {
        /// The workflow.
        workflow: (String, Span),
        /// `inputs`.
        inputs: IndexMap<String, Value>,
    },
    /// `set_state`.
    SetState(String, Span),
    /// `call_operation`: `interface.operation` with inputs.
    CallOperation {
        /// `interface.operation`.
        operation: (String, Span),
        /// `inputs`.
        inputs: IndexMap<String, (Value, Span)>,
    },
    /// `inline`: another workflow of this service, with inputs.
    Inline {
        /// The workflow.
        workflow: (String, Span),
        /// `inputs`.
        inputs: IndexMap<String, Value>,
    },
}
