//! A service template after its names are resolved against the type registry: each node
//! template with its node type, its complete property, attribute and capability values
//! (assigned, else fixed, else default), and each requirement assignment paired with the
//! requirement definition it assigns.
//!
//! Requirement fulfilment, the topology and instantiation read only this model.

use indexmap::IndexMap;

use super::artifact::ResolvedArtifact;
use super::interface::ResolvedInterface;
use crate::tosca::source::Span;
use crate::tosca::types::TypeId;
use crate::tosca::value::Value;

/// Every node template of the service, resolved, in source order.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Node templates whose type is known, in source order.
    pub nodes: Vec<ResolvedNode>,
    /// Index of `nodes` by template name.
    pub by_name: std::collections::HashMap<String, usize>,
    /// Relationship templates whose type is known, by name.
    pub relationships: IndexMap<String, ResolvedRelationship>,
    /// Policies whose type is known, in source order.
    pub policies: Vec<ResolvedPolicy>,
}

/// A policy with its type, complete property values and the node templates it applies to.
#[derive(Clone, Debug)]
pub struct ResolvedPolicy {
    /// The policy's name.
    pub name: String,
    /// Its policy type.
    pub policy_type: TypeId,
    /// Every property with a value (assigned, fixed or default).
    pub properties: IndexMap<String, Value>,
    /// The node templates it targets, groups replaced by their members, in order, once each.
    pub targets: Vec<String>,
}

/// A node template with its type and complete values.
#[derive(Clone, Debug)]
pub struct ResolvedNode {
    /// The template's name.
    pub name: String,
    /// Where the template is defined.
    pub span: Span,
    /// Its node type.
    pub node_type: TypeId,
    /// `directives`.
    pub directives: Vec<String>,
    /// Every property with a value (assigned, fixed or default).
    pub properties: IndexMap<String, Value>,
    /// Every attribute with a value (assigned or default).
    pub attributes: IndexMap<String, Value>,
    /// Every capability of the type, with its values.
    pub capabilities: IndexMap<String, ResolvedCapability>,
    /// Requirement assignments (explicit ones in order, then implicit ones).
    pub requirements: Vec<ResolvedRequirement>,
    /// `count` as written (an integer or an expression); `None` is 1.
    pub count: Option<Value>,
    /// `node_filter` (with `select`).
    pub node_filter: Option<Value>,
    /// Artifacts, by name: the node type's, replaced or added to by the template's, each
    /// with its file located.
    pub artifacts: IndexMap<String, ResolvedArtifact>,
    /// Every interface of the node type, with the template's assignments applied.
    pub interfaces: IndexMap<String, ResolvedInterface>,
}

/// A capability of a node template.
#[derive(Clone, Debug)]
pub struct ResolvedCapability {
    /// Its capability type.
    pub capability_type: TypeId,
    /// Every property with a value.
    pub properties: IndexMap<String, Value>,
    /// Every attribute with a value.
    pub attributes: IndexMap<String, Value>,
}

/// What node a requirement assignment targets.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeTarget {
    /// Any node template (of the definition's node type, if any).
    Any,
    /// This node template, optionally one representation of it (`[name, index]`).
    Template(String, Option<Value>),
    /// Any node template of this node type (or a derived one).
    Type(TypeId),
}

/// What capability a requirement assignment targets.
#[derive(Clone, Debug, PartialEq)]
pub enum CapabilityTarget {
    /// A capability of this type (or a derived one).
    Type(TypeId),
    /// The capability with this name on the target node.
    Name(String),
}

/// A requirement assignment paired with its definition.
#[derive(Clone, Debug)]
pub struct ResolvedRequirement {
    /// The requirement's name.
    pub name: String,
    /// Where it is assigned (or, for an implicit one, where the template is defined).
    pub span: Span,
    /// Index of its definition in the node type's `requirements`.
    pub definition: usize,
    /// The target node: the assignment's, else the definition's node type.
    pub node: NodeTarget,
    /// The target capability: the assignment's, else the definition's.
    pub capability: CapabilityTarget,
    /// When the definition names a node type, targets must be of it.
    pub node_type: Option<TypeId>,
    /// The relationship type (the assignment's, else the definition's), if any.
    pub relationship_type: Option<TypeId>,
    /// A relationship template named by the assignment.
    pub relationship_template: Option<String>,
    /// Relationship property values (assigned, template, fixed or default).
    pub relationship_properties: IndexMap<String, Value>,
    /// Every interface of the relationship, with the relationship template's and the
    /// assignment's values applied.
    pub relationship_interfaces: IndexMap<String, ResolvedInterface>,
    /// The definition's and the assignment's `node_filter`s (ANDed).
    pub node_filters: Vec<Value>,
    /// `allocation`, by capability property.
    pub allocation: IndexMap<String, Value>,
    /// `count` as written; `None` is 1.
    pub count: Option<Value>,
    /// `optional`.
    pub optional: bool,
    /// Whether the processor created it from the definition's `count_range`.
    pub implicit: bool,
}

/// A relationship template with its type and complete values.
#[derive(Clone, Debug)]
pub struct ResolvedRelationship {
    /// Its relationship type.
    pub relationship_type: TypeId,
    /// Every property with a value.
    pub properties: IndexMap<String, Value>,
    /// Every attribute with a value.
    pub attributes: IndexMap<String, Value>,
}
