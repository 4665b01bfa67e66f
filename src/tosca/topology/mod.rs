//! The topology: node templates as a graph, one edge per fulfilled requirement.
//!
//! [`build`] applies the input values, evaluates each template's `count`, fulfils every
//! requirement ([`fulfil`]) and evaluates the outputs. The result feeds the `compile` output
//! (YAML, JSON or DOT, see [`output`]) and instantiation.

pub mod eval;
pub mod fulfil;
pub mod output;
pub mod path;

use std::collections::HashMap;

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};

use self::eval::{Definer, Outcome, View};
use self::path::{Entity, Graph};
use crate::tosca::functions::{self, TypeHint};
use crate::tosca::limits::{Limits, OVER_LIMIT};
use crate::tosca::problem::Problems;
use crate::tosca::source::Span;
use crate::tosca::template::{Resolved, ServiceTemplate};
use crate::tosca::types::{self, TypeId, TypeRegistry};
use crate::tosca::value::{Value, ValueKind};

/// A fulfilled requirement between two node templates.
#[derive(Clone, Debug)]
pub struct Relationship {
    /// The requiring node (index into [`Resolved::nodes`]).
    pub source: usize,
    /// The requirement (index into the source's `requirements`).
    pub requirement: usize,
    /// The fulfilling node.
    pub target: usize,
    /// The target capability's name.
    pub capability: String,
    /// The relationship type, when one is known.
    pub relationship_type: Option<TypeId>,
}

/// The service's node templates, their counts and fulfilled requirements.
#[derive(Debug, Default)]
pub struct Topology {
    /// Input values (given, else defaults).
    pub inputs: IndexMap<String, Value>,
    /// How many representations each node template has (its evaluated `count`).
    pub counts: Vec<u32>,
    /// Every fulfilled requirement.
    pub relationships: Vec<Relationship>,
    /// Per node, per requirement assignment: its relationships.
    pub outgoing: Vec<Vec<Vec<usize>>>,
    /// Per (node, capability): the relationships that target it.
    pub incoming: HashMap<(usize, String), Vec<usize>>,
    /// The graph: node weights index [`Resolved::nodes`], edge weights index `relationships`.
    pub graph: DiGraph<usize, usize>,
    /// Output values, evaluated or deferred.
    pub outputs: IndexMap<String, Outcome>,
    /// What is left of the capability properties the fulfilled requirements' `allocation`s
    /// take from, per (node, capability, property), over all of the node's representations.
    pub left: HashMap<(usize, String, String), Value>,
}

impl Topology {
    /// Adds a fulfilled requirement.
    pub fn connect(&mut self, relationship: Relationship) {
        let index = self.relationships.len();
        self.graph.add_edge(
            NodeIndex::new(relationship.source),
            NodeIndex::new(relationship.target),
            index,
        );
        self.outgoing[relationship.source][relationship.requirement].push(index);
        self.incoming
            .entry((relationship.target, relationship.capability.clone()))
            .or_default()
            .push(index);
        self.relationships.push(relationship);
    }
}

/// Builds the topology of a checked service template.
pub fn build(
    st: &ServiceTemplate,
    resolved: &Resolved,
    registry: &TypeRegistry,
    given: &IndexMap<String, Value>,
    limits: &Limits,
    problems: &mut Problems,
) -> Topology {
    let inputs = inputs(st, registry, given, problems);
    build_with_inputs(st, resolved, registry, inputs, limits, problems)
}

/// Like [`build`], with the input values already worked out by [`inputs`] (for callers that
/// need them before fulfilment, such as `select`'s node filters).
pub fn build_with_inputs(
    st: &ServiceTemplate,
    resolved: &Resolved,
    registry: &TypeRegistry,
    inputs: IndexMap<String, Value>,
    limits: &Limits,
    problems: &mut Problems,
) -> Topology {
    let mut topology = Topology {
        inputs,
        counts: vec![1; resolved.nodes.len()],
        outgoing: resolved
            .nodes
            .iter()
            .map(|n| vec![Vec::new(); n.requirements.len()])
            .collect(),
        ..Topology::default()
    };
    topology.graph = DiGraph::with_capacity(resolved.nodes.len(), resolved.nodes.len());
    for i in 0..resolved.nodes.len() {
        topology.graph.add_node(i);
    }
    let mut total = 0usize;
    for (i, node) in resolved.nodes.iter().enumerate() {
        if let Some(count) = &node.count {
            topology.counts[i] =
                evaluate_count(count, resolved, registry, &topology, i, limits, problems);
        }
        total += topology.counts[i] as usize;
        if total > limits.instances {
            let span = node.count.as_ref().map_or(node.span, |c| c.span);
            problems.report(
                OVER_LIMIT,
                span,
                format!("service_template.node_templates.{}.count", node.name),
                format!(
                    "with `{}` the service would have more than {} node instances (the limit on instances per service)",
                    node.name, limits.instances
                ),
            );
            topology.counts[i] = 0;
        }
    }
    fulfil::fulfil(st, resolved, registry, &mut topology, problems);
    let mut outputs = IndexMap::new();
    for (name, p) in &st.outputs {
        let Some(value) = &p.value else { continue };
        let view = TemplateView::new(resolved, registry, &topology, None);
        match eval::evaluate(value, &view) {
            Ok(o) => {
                // §9.7: a typed output's value must match its type (literals were checked
                // with the template; this is what a function gave).
                if let (Outcome::Known(v), Some((t, _))) = (&o, &p.type_name)
                    && !functions::parse_expr(value).is_ok_and(|e| e.as_literal().is_some())
                    && let Some(id) = registry.lookup(st.file, types::TypeKind::Data, t)
                {
                    let schema =
                        crate::tosca::template::check::parameter_schema(registry, st.file, id, p);
                    types::check_value(
                        registry,
                        &schema,
                        v,
                        problems,
                        &format!("service_template.outputs.{name}"),
                    );
                }
                outputs.insert(name.clone(), o);
            }
            Err(m) => problems.report(
                "evaluation",
                value.span,
                format!("service_template.outputs.{name}"),
                m,
            ),
        }
    }
    topology.outputs = outputs;
    topology
}

/// The number of instances `count` (node template `i`'s) asks for, at most [`Limits::count`];
/// 1 after reporting why it cannot be used, 0 when it is over the limit.
fn evaluate_count(
    count: &Value,
    resolved: &Resolved,
    registry: &TypeRegistry,
    topology: &Topology,
    i: usize,
    limits: &Limits,
    problems: &mut Problems,
) -> u32 {
    let path = format!(
        "service_template.node_templates.{}.count",
        resolved.nodes[i].name
    );
    let view = TemplateView::new(resolved, registry, topology, Some(Entity::Node(i)));
    let message = match eval::evaluate(count, &view) {
        Ok(Outcome::Known(v)) => match v.kind {
            ValueKind::Integer(n) if (0..=i64::from(limits.count)).contains(&n) => return n as u32,
            ValueKind::Integer(n) if n > 0 => {
                problems.report(OVER_LIMIT, count.span, path, count_over_limit(n, limits));
                return 0;
            }
            _ => format!("`count` evaluates to {v}, not a non-negative integer"),
        },
        Ok(Outcome::Deferred(_)) => "`count` cannot depend on runtime attributes".into(),
        Err(m) => {
            problems.report("evaluation", count.span, path, m);
            return 1;
        }
    };
    problems.report("wrong-type", count.span, path, message);
    1
}

/// Why a `count` of `n` is refused.
pub fn count_over_limit(n: i64, limits: &Limits) -> String {
    format!(
        "`count` is {n}, over the limit of {} instances per node template",
        limits.count
    )
}

/// The input values: given ones checked against their definitions, else defaults; a
/// required input with neither is a problem.
pub fn inputs(
    st: &ServiceTemplate,
    registry: &TypeRegistry,
    given: &IndexMap<String, Value>,
    problems: &mut Problems,
) -> IndexMap<String, Value> {
    let mut out = IndexMap::with_capacity(st.inputs.len());
    for name in given.keys() {
        if !st.inputs.contains_key(name) {
            problems.report(
                "unknown-input",
                Span::NONE,
                format!("inputs.{name}"),
                format!("`{name}` is not an input of the service"),
            );
        }
    }
    for (name, p) in &st.inputs {
        let path = format!("service_template.inputs.{name}");
        let value = given.get(name).or(p.value.as_ref()).or(p.default.as_ref());
        match value {
            Some(v) => {
                if given.contains_key(name)
                    && let Some((t, _)) = &p.type_name
                    && let Some(id) = registry.lookup(st.file, types::TypeKind::Data, t)
                {
                    let schema = crate::tosca::template::check::parameter_schema(registry, st.file, id, p);
                    types::check_value(registry, &schema, v, problems, &path);
                }
                out.insert(name.clone(), v.clone());
            }
            None if p.required => problems.report(
                "missing-input",
                p.span,
                path,
                format!("input `{name}` is required and has no default: give it with --input {name}=VALUE"),
            ),
            None => {}
        }
    }
    out
}

/// The templates seen by functions: nodes are node templates, relationships are fulfilled
/// requirements (and, while a requirement is being fulfilled, the prospective one).
pub struct TemplateView<'a> {
    resolved: &'a Resolved,
    registry: &'a TypeRegistry,
    topology: &'a Topology,
    this: Option<Entity>,
    /// A relationship being considered: (source, requirement, target, capability).
    pub prospective: Option<(usize, usize, usize, String)>,
}

/// The index that stands for the prospective relationship.
const PROSPECTIVE: usize = usize::MAX;

impl<'a> TemplateView<'a> {
    /// A view where SELF is `this`.
    pub fn new(
        resolved: &'a Resolved,
        registry: &'a TypeRegistry,
        topology: &'a Topology,
        this: Option<Entity>,
    ) -> Self {
        TemplateView {
            resolved,
            registry,
            topology,
            this,
            prospective: None,
        }
    }

    /// A view where SELF is a relationship being considered.
    pub fn considering(
        resolved: &'a Resolved,
        registry: &'a TypeRegistry,
        topology: &'a Topology,
        source: usize,
        requirement: usize,
        target: usize,
        capability: &str,
    ) -> Self {
        TemplateView {
            resolved,
            registry,
            topology,
            this: Some(Entity::Relationship(PROSPECTIVE)),
            prospective: Some((source, requirement, target, capability.to_string())),
        }
    }
}

impl Graph for TemplateView<'_> {
    fn this(&self) -> Option<Entity> {
        self.this.clone()
    }
    fn nodes_named(&self, name: &str) -> Vec<usize> {
        self.resolved
            .by_name
            .get(name)
            .map(|i| vec![*i])
            .unwrap_or_default()
    }
    fn relationship_named(&self, _name: &str) -> Option<usize> {
        None
    }
    fn relationships(&self, node: usize, requirement: &str) -> Vec<usize> {
        let reqs = &self.resolved.nodes[node].requirements;
        reqs.iter()
            .enumerate()
            .filter(|(_, r)| r.name == requirement)
            .flat_map(|(i, _)| {
                self.topology
                    .outgoing
                    .get(node)
                    .and_then(|o| o.get(i))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }
    fn incoming(&self, node: usize, capability: &str) -> Vec<usize> {
        self.topology
            .incoming
            .get(&(node, capability.to_string()))
            .cloned()
            .unwrap_or_default()
    }
    fn source(&self, relationship: usize) -> Option<usize> {
        if relationship == PROSPECTIVE {
            return self.prospective.as_ref().map(|p| p.0);
        }
        self.topology
            .relationships
            .get(relationship)
            .map(|r| r.source)
    }
    fn target(&self, relationship: usize) -> Option<(usize, String)> {
        if relationship == PROSPECTIVE {
            return self.prospective.as_ref().map(|p| (p.2, p.3.clone()));
        }
        self.topology
            .relationships
            .get(relationship)
            .map(|r| (r.target, r.capability.clone()))
    }
}

impl View for TemplateView<'_> {
    fn inputs(&self) -> &IndexMap<String, Value> {
        &self.topology.inputs
    }
    fn property(&self, entity: &Entity, name: &str) -> Option<Value> {
        match entity {
            Entity::Node(n) => self.resolved.nodes[*n].properties.get(name).cloned(),
            Entity::Capability(n, c) => self.resolved.nodes[*n]
                .capabilities
                .get(c)?
                .properties
                .get(name)
                .cloned(),
            Entity::Relationship(r) => {
                let (source, requirement) = if *r == PROSPECTIVE {
                    let p = self.prospective.as_ref()?;
                    (p.0, p.1)
                } else {
                    let rel = self.topology.relationships.get(*r)?;
                    (rel.source, rel.requirement)
                };
                self.resolved.nodes[source].requirements[requirement]
                    .relationship_properties
                    .get(name)
                    .cloned()
            }
        }
    }
    fn attribute(&self, entity: &Entity, name: &str) -> Option<Value> {
        match entity {
            Entity::Node(n) => self.resolved.nodes[*n].attributes.get(name).cloned(),
            Entity::Capability(n, c) => self.resolved.nodes[*n]
                .capabilities
                .get(c)?
                .attributes
                .get(name)
                .cloned(),
            Entity::Relationship(_) => None,
        }
    }
    fn artifact(&self, node: usize, name: &str) -> Option<Value> {
        let artifact = self.resolved.nodes[node].artifacts.get(name)?;
        Some(Value::string(artifact.location.to_string()))
    }
    fn available(&self, node: usize, capability: &str, property: &str) -> Option<Value> {
        let key = (node, capability.to_string(), property.to_string());
        if let Some(left) = self.topology.left.get(&key) {
            return Some(left.clone());
        }
        self.resolved.nodes[node]
            .capabilities
            .get(capability)?
            .properties
            .get(property)
            .cloned()
    }
    fn node_index(&self) -> Option<u32> {
        None
    }
    fn relationship_index(&self) -> Option<u32> {
        None
    }
    fn at(&self, this: Entity) -> Box<dyn View + '_> {
        Box::new(TemplateView {
            resolved: self.resolved,
            registry: self.registry,
            topology: self.topology,
            this: Some(this),
            prospective: self.prospective.clone(),
        })
    }
    fn hint(
        &self,
        entity: &Entity,
        name: &str,
        attribute: bool,
        keys: &[Value],
    ) -> Option<TypeHint> {
        let definer = match entity {
            Entity::Node(n) => Definer::Node(self.resolved.nodes[*n].node_type),
            Entity::Capability(n, c) => {
                Definer::Capability(self.resolved.nodes[*n].capabilities.get(c)?.capability_type)
            }
            Entity::Relationship(r) => {
                Definer::Relationship(self.topology.relationships.get(*r)?.relationship_type?)
            }
        };
        eval::hint_of(self.registry, definer, name, attribute, keys)
    }
}

#[cfg(test)]
mod tests;
