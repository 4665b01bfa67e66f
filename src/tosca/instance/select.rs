//! The `select` directive: a node template that stands for a node another service already
//! runs, chosen from an [`Inventory`] by the template's `node_filter`.
//!
//! A candidate must be of the template's node type (or a derived one) and make the
//! `node_filter` true with SELF = the candidate. The first such candidate is chosen, in the
//! inventory's order. The selected node keeps the template's name and instance id in this
//! service, so requirements fulfilled by it point at it, but carries the chosen node's types
//! and values and is marked [`SelectedFrom`]: the runtime does not deploy it.
//!
//! Selection happens before requirement fulfilment ([`build_topology`]), so other templates'
//! `node_filter`s and property reads see the chosen node's values, not the template's; a
//! template that tries `substitute` first is decided with a first topology, then fulfilment
//! runs again with what it selected.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::model::{Expression, Instantiation, NodeInstance, SelectedFrom, TypeRef};
use super::resolve::Resolver;
use super::substitute::{self, Candidate};
use crate::tosca::limits::Limits;
use crate::tosca::problem::Problems;
use crate::tosca::template::{Resolved, ResolvedNode, ServiceTemplate};
use crate::tosca::topology::{self, Topology};
use crate::tosca::types::TypeRegistry;
use crate::tosca::value::Value;

/// The node instances of other services that `select` may pick from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Existing node instances, in the order they are considered.
    pub nodes: Vec<Existing>,
}

/// A node instance of another service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Existing {
    /// The service that owns it.
    pub service: String,
    /// The instance as that service's instantiation holds it.
    pub node: NodeInstance,
}

impl Inventory {
    /// Adds every node of `service`'s instantiation (selected ones excepted: they belong to
    /// yet another service, which is where to select them from).
    pub fn add_service(&mut self, service: &str, instantiation: &Instantiation) {
        self.nodes.extend(
            instantiation
                .nodes
                .iter()
                .filter(|n| n.selected_from.is_none())
                .map(|node| Existing {
                    service: service.to_string(),
                    node: node.clone(),
                }),
        );
    }

    /// The first node that `template` (of type `wanted`) may select, or why each candidate
    /// of the right type was turned down; `$get_input` in the filter reads `inputs` (the
    /// selecting service's).
    pub fn choose(
        &self,
        template: &ResolvedNode,
        wanted: &TypeRef,
        inputs: &IndexMap<String, serde_json::Value>,
    ) -> Result<usize, Vec<String>> {
        let mut reasons = Vec::new();
        for (i, existing) in self.nodes.iter().enumerate() {
            if !existing.node.types.contains(wanted) {
                continue;
            }
            let name = format!("`{}` of service `{}`", existing.node.id, existing.service);
            match &template.node_filter {
                None => return Ok(i),
                Some(filter) => match passes(filter, &existing.node, inputs) {
                    Ok(true) => return Ok(i),
                    Ok(false) => reasons.push(format!("{name}: its node_filter is false")),
                    Err(e) => {
                        reasons.push(format!("{name}: its node_filter cannot be evaluated: {e}"))
                    }
                },
            }
        }
        Err(reasons)
    }
}

/// Whether `filter` is true with SELF = `node` (its stored values; its relationships lead
/// into its own service, so they are not followed).
fn passes(
    filter: &Value,
    node: &NodeInstance,
    inputs: &IndexMap<String, serde_json::Value>,
) -> Result<bool, String> {
    let mut alone = node.clone();
    alone.relationships.clear();
    let single = Instantiation {
        inputs: inputs.clone(),
        nodes: vec![alone],
        ..Instantiation::default()
    };
    let value = Resolver::new(&single).resolve(
        &Expression::Deferred(filter.to_json()),
        Some(&node.id),
        &|_, _| None,
    )?;
    Ok(value == serde_json::Value::Bool(true))
}

fn value_of(e: &Expression) -> Value {
    match e {
        Expression::Resolved(v) | Expression::Deferred(v) => Value::from_json(v),
    }
}

/// Builds the topology of `st` (its templates `resolved`, inputs `given`) with the nodes
/// its `select` directives pick from `inventory` standing in: the inputs are worked out
/// first (node filters may read them), then every template that tries `select` before
/// `substitute` and finds a node takes that node's values, then requirements are fulfilled
/// and values evaluated against them. Returns the templates as fulfilled and the topology.
///
/// A template that tries `substitute` first can be decided only with the topology (a
/// substitution filter may read it), so fulfilment runs once with its own values, the
/// `substitute` candidates are tried against that topology, and if a template then selects
/// a node after all, fulfilment runs again with the chosen values (the first run's problems
/// are then moot).
#[allow(clippy::too_many_arguments)]
pub fn build_topology<'r>(
    st: &ServiceTemplate,
    resolved: &'r Resolved,
    registry: &TypeRegistry,
    given: &IndexMap<String, Value>,
    inventory: &Inventory,
    candidates: &[Candidate],
    limits: &Limits,
    problems: &mut Problems,
) -> (Cow<'r, Resolved>, Topology) {
    let inputs = topology::inputs(st, registry, given, problems);
    let mut fulfilled = Cow::Borrowed(resolved);
    if inventory.nodes.is_empty() {
        let topology =
            topology::build_with_inputs(st, resolved, registry, inputs, limits, problems);
        return (fulfilled, topology);
    }
    let as_json = inputs
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    for (t, node) in resolved.nodes.iter().enumerate() {
        if let Some(i) = selected_before_fulfilment(node, registry, inventory, &as_json) {
            adopt_values(&mut fulfilled.to_mut().nodes[t], &inventory.nodes[i].node);
        }
    }
    let late = |n: &ResolvedNode| n.directives.first().is_some_and(|d| d == "substitute");
    if !fulfilled
        .nodes
        .iter()
        .any(|n| late(n) && n.directives.iter().any(|d| d == "select"))
    {
        let topology =
            topology::build_with_inputs(st, &fulfilled, registry, inputs, limits, problems);
        return (fulfilled, topology);
    }
    let mut first_problems = Problems::new();
    let first = topology::build_with_inputs(
        st,
        &fulfilled,
        registry,
        inputs.clone(),
        limits,
        &mut first_problems,
    );
    let choice = Choice {
        resolved: &fulfilled,
        topology: &first,
        registry,
        candidates,
        inventory,
        inputs: &as_json,
    };
    let chosen: Vec<(usize, usize)> = (0..fulfilled.nodes.len())
        .filter(|&t| late(&fulfilled.nodes[t]))
        .filter_map(|t| choice.selected_after_substitute(t).map(|i| (t, i)))
        .collect();
    if chosen.is_empty() {
        problems.extend(first_problems);
        return (fulfilled, first);
    }
    for (t, i) in chosen {
        adopt_values(&mut fulfilled.to_mut().nodes[t], &inventory.nodes[i].node);
    }
    let topology = topology::build_with_inputs(st, &fulfilled, registry, inputs, limits, problems);
    (fulfilled, topology)
}

/// What deciding a template's directives against a first topology draws on.
struct Choice<'a> {
    resolved: &'a Resolved,
    topology: &'a Topology,
    registry: &'a TypeRegistry,
    candidates: &'a [Candidate],
    inventory: &'a Inventory,
    inputs: &'a IndexMap<String, serde_json::Value>,
}

impl Choice<'_> {
    /// The inventory node template `t` selects after no candidate would substitute it, if
    /// its directives get that far.
    fn selected_after_substitute(&self, t: usize) -> Option<usize> {
        let node = &self.resolved.nodes[t];
        for directive in &node.directives {
            match directive.as_str() {
                "substitute" => {
                    let chosen = substitute::choose(
                        self.candidates,
                        self.registry,
                        self.resolved,
                        self.topology,
                        t,
                    );
                    if chosen.is_ok() {
                        return None;
                    }
                }
                "select" => {
                    let wanted = type_ref(self.registry, node);
                    if let Ok(i) = self.inventory.choose(node, &wanted, self.inputs) {
                        return Some(i);
                    }
                }
                _ => return None,
            }
        }
        None
    }
}

/// The inventory node `node` selects, when its directives try `select` before anything
/// that needs the topology to decide (`substitute`) and a node passes its filter.
fn selected_before_fulfilment(
    node: &ResolvedNode,
    registry: &TypeRegistry,
    inventory: &Inventory,
    inputs: &IndexMap<String, serde_json::Value>,
) -> Option<usize> {
    for directive in &node.directives {
        if directive != "select" {
            return None;
        }
        if let Ok(i) = inventory.choose(node, &type_ref(registry, node), inputs) {
            return Some(i);
        }
    }
    None
}

/// Gives `template` the chosen node's values, so what other templates read from it while
/// they are instantiated is the chosen node's.
pub fn adopt_values(template: &mut ResolvedNode, chosen: &NodeInstance) {
    let convert = |m: &IndexMap<String, Expression>| {
        m.iter()
            .map(|(k, v)| (k.clone(), value_of(v)))
            .collect::<IndexMap<_, _>>()
    };
    template.properties = convert(&chosen.properties);
    template.attributes = convert(&chosen.attributes);
    for (name, cap) in &mut template.capabilities {
        if let Some(theirs) = chosen.capabilities.get(name) {
            cap.properties = convert(&theirs.properties);
            cap.attributes = convert(&theirs.attributes);
        }
    }
}

/// Turns an instance of a selecting template into the stand-in for `chosen`.
pub fn mark(instance: &mut NodeInstance, chosen: &Existing) {
    instance.types = chosen.node.types.clone();
    instance.properties = chosen.node.properties.clone();
    instance.attributes = chosen.node.attributes.clone();
    instance.capabilities = chosen.node.capabilities.clone();
    instance.artifacts = chosen.node.artifacts.clone();
    // Its requirements and operations are the other service's business.
    instance.relationships.clear();
    instance.interfaces.clear();
    instance.selected_from = Some(SelectedFrom {
        service: chosen.service.clone(),
        instance: chosen.node.id.clone(),
    });
}

/// The identity of `registry`'s node type `template.node_type`, as instances name types.
pub fn type_ref(registry: &TypeRegistry, template: &ResolvedNode) -> TypeRef {
    let h = registry.header(template.node_type);
    TypeRef {
        profile: h.profile.clone(),
        name: h.name.clone(),
    }
}
