//! Requirement fulfilment: for each requirement assignment, the node templates and
//! capabilities that satisfy it.
//!
//! Candidates come from indexes (node templates by every ancestor of their type,
//! capabilities by every ancestor of theirs), so a search costs what it finds, not the size
//! of the service. A candidate must offer the capability asked for (by name or type), be of
//! the definition's node type, be allowed by the relationship type's and the capability's
//! `valid_*` lists, pass the definition's and the assignment's `node_filter` (evaluated with
//! SELF = the prospective relationship), and have capacity left for the `allocation`.
//! Non-optional requirements are fulfilled before optional ones. A non-optional requirement
//! nobody satisfies is a problem, except on nodes that are selected or substituted elsewhere
//! and for requirements the substitution mappings expose.

use std::collections::{HashMap, HashSet};

use super::eval::{self, Outcome};
use super::{Relationship, TemplateView, Topology};
use crate::tosca::data::Number;
use crate::tosca::problem::Problems;
use crate::tosca::template::{
    CapabilityTarget, MappingTarget, NodeTarget, Resolved, ServiceTemplate,
};
use crate::tosca::types::{DataKind, TypeId, TypeRegistry};
use crate::tosca::value::{Value, ValueKind};

/// Fulfils every requirement of `resolved` into `topology`.
pub fn fulfil(
    st: &ServiceTemplate,
    resolved: &Resolved,
    registry: &TypeRegistry,
    topology: &mut Topology,
    problems: &mut Problems,
) {
    let mut by_node_type: HashMap<TypeId, Vec<usize>> = HashMap::new();
    let mut by_capability_type: HashMap<TypeId, Vec<(usize, &str)>> = HashMap::new();
    for (i, node) in resolved.nodes.iter().enumerate() {
        if topology.counts[i] == 0 {
            continue;
        }
        for t in &registry.header(node.node_type).ancestors {
            by_node_type.entry(*t).or_default().push(i);
        }
        for (name, cap) in &node.capabilities {
            for t in &registry.header(cap.capability_type).ancestors {
                by_capability_type.entry(*t).or_default().push((i, name));
            }
        }
    }
    let exposed = exposed_requirements(st);
    let mut order: Vec<(usize, usize)> = Vec::new();
    for optional in [false, true] {
        for (n, node) in resolved.nodes.iter().enumerate() {
            // A node that can only be selected has no requirements of its own; with a
            // fallback it needs them in case nothing is selected.
            if node.directives.iter().all(|d| d == "select") && !node.directives.is_empty() {
                continue;
            }
            for (r, req) in node.requirements.iter().enumerate() {
                if req.optional == optional {
                    order.push((n, r));
                }
            }
        }
    }
    let mut used: HashMap<(usize, String, String), f64> = HashMap::new();
    for (n, r) in order {
        let node = &resolved.nodes[n];
        let req = &node.requirements[r];
        let path = format!(
            "service_template.node_templates.{}.requirements.{}",
            node.name, req.name
        );
        let wanted = match &req.count {
            None => 1,
            Some(c) => {
                let view = TemplateView::new(
                    resolved,
                    registry,
                    topology,
                    Some(super::path::Entity::Node(n)),
                );
                match eval::evaluate(c, &view) {
                    Ok(Outcome::Known(v)) => v.as_i64().filter(|n| *n >= 0).unwrap_or(1) as u64,
                    _ => 1,
                }
            }
        };
        if wanted == 0 {
            continue;
        }
        // Candidate (node, capability) pairs.
        // Lazily: the search stops as soon as enough targets are found.
        let empty: &[(usize, &str)] = &[];
        let candidates: Box<dyn Iterator<Item = (usize, &str)>> = match &req.node {
            NodeTarget::Template(name, _) => match resolved.by_name.get(name) {
                Some(&t) => {
                    Box::new(capabilities_of(resolved, registry, t, &req.capability).into_iter())
                }
                None => Box::new(empty.iter().copied()),
            },
            NodeTarget::Type(t) => Box::new(
                by_node_type
                    .get(t)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .flat_map(|&m| capabilities_of(resolved, registry, m, &req.capability)),
            ),
            NodeTarget::Any => match &req.capability {
                CapabilityTarget::Type(t) => Box::new(
                    by_capability_type
                        .get(t)
                        .map_or(empty, Vec::as_slice)
                        .iter()
                        .copied(),
                ),
                CapabilityTarget::Name(_) => Box::new(
                    (0..resolved.nodes.len())
                        .flat_map(|m| capabilities_of(resolved, registry, m, &req.capability)),
                ),
            },
        };
        let explicit = matches!(req.node, NodeTarget::Template(..));
        let mut chosen: Vec<(usize, String)> = Vec::new();
        let mut covered: u64 = 0;
        let mut reasons: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for (m, cap) in candidates {
            if covered >= wanted {
                break;
            }
            if (m == n && !explicit) || !seen.insert(m) {
                continue;
            }
            match acceptable(resolved, registry, topology, n, r, m, cap, &used) {
                Ok(()) => {
                    reserve(resolved, registry, topology, n, r, m, cap, &mut used);
                    chosen.push((m, cap.to_string()));
                    covered += u64::from(topology.counts[m]).max(1);
                }
                Err(why) => reasons.push(format!("`{}`: {why}", resolved.nodes[m].name)),
            }
        }
        if chosen.is_empty() {
            let excused = req.optional
                || node
                    .directives
                    .iter()
                    .any(|d| d == "substitute" || d == "select")
                || exposed.contains(&(node.name.as_str(), req.name.as_str()));
            if !excused {
                let why = if reasons.is_empty() {
                    "no node template offers what it asks for".to_string()
                } else {
                    reasons.join("; ")
                };
                problems.report(
                    "unfulfilled-requirement",
                    req.span,
                    path,
                    format!(
                        "requirement `{}` of `{}` cannot be fulfilled: {why}",
                        req.name, node.name
                    ),
                );
            }
            continue;
        }
        for (m, cap) in chosen {
            topology.connect(Relationship {
                source: n,
                requirement: r,
                target: m,
                capability: cap,
                relationship_type: req.relationship_type,
            });
        }
    }
    topology.left = used
        .into_iter()
        .filter_map(|((m, cap, prop), taken)| {
            let capability = resolved.nodes[m].capabilities.get(&cap)?;
            let left = remaining(registry, capability, &prop, topology.counts[m], taken)?;
            Some(((m, cap, prop), left))
        })
        .collect();
}

/// `(node template, requirement)` pairs that the substitution mappings expose: they are
/// fulfilled by whoever uses the substituted node, not here.
fn exposed_requirements(st: &ServiceTemplate) -> HashSet<(&str, &str)> {
    let mut out = HashSet::new();
    if let Some(sm) = &st.substitution_mappings {
        for target in sm.requirements.iter().flat_map(|m| &m.targets) {
            if let MappingTarget::Requirement { node, requirement } = target {
                out.insert((node.as_str(), requirement.as_str()));
            }
        }
    }
    out
}

/// The capabilities of node `m` that match the target capability (at most one: the named
/// one, or the first of the type).
fn capabilities_of<'a>(
    resolved: &'a Resolved,
    registry: &TypeRegistry,
    m: usize,
    target: &CapabilityTarget,
) -> Vec<(usize, &'a str)> {
    let node = &resolved.nodes[m];
    match target {
        CapabilityTarget::Name(name) => node
            .capabilities
            .get_key_value(name)
            .map(|(k, _)| vec![(m, k.as_str())])
            .unwrap_or_default(),
        CapabilityTarget::Type(t) => node
            .capabilities
            .iter()
            .find(|(_, c)| registry.derives_from(c.capability_type, *t))
            .map(|(k, _)| vec![(m, k.as_str())])
            .unwrap_or_default(),
    }
}

fn allowed(registry: &TypeRegistry, list: Option<&Vec<TypeId>>, t: TypeId) -> bool {
    list.is_none_or(|l| l.iter().any(|a| registry.derives_from(t, *a)))
}

/// Whether node `m`'s capability `cap` may fulfil requirement `r` of node `n`.
#[allow(clippy::too_many_arguments)]
fn acceptable(
    resolved: &Resolved,
    registry: &TypeRegistry,
    topology: &Topology,
    n: usize,
    r: usize,
    m: usize,
    cap: &str,
    used: &HashMap<(usize, String, String), f64>,
) -> Result<(), String> {
    let source = &resolved.nodes[n];
    let req = &source.requirements[r];
    let target = &resolved.nodes[m];
    let capability = &target.capabilities[cap];
    if let Some(t) = req.node_type
        && !registry.derives_from(target.node_type, t)
    {
        return Err(format!("it is not a `{}`", registry.display_name(t)));
    }
    // The target node type's capability definition may narrow its type's `valid_*` lists.
    let cap_type = registry.capability_type(capability.capability_type);
    let cap_def = registry.node_type(target.node_type).capabilities.get(cap);
    let valid_sources = cap_def
        .and_then(|d| d.valid_source_node_types.as_ref())
        .or(cap_type.valid_source_node_types.as_ref());
    let valid_relationships = cap_def
        .and_then(|d| d.valid_relationship_types.as_ref())
        .or(cap_type.valid_relationship_types.as_ref());
    if !allowed(registry, valid_sources, source.node_type) {
        return Err(format!(
            "capability `{cap}` does not accept `{}` sources",
            registry.display_name(source.node_type)
        ));
    }
    if let Some(rt) = req.relationship_type {
        if !allowed(registry, valid_relationships, rt) {
            return Err(format!(
                "capability `{cap}` does not accept `{}` relationships",
                registry.display_name(rt)
            ));
        }
        let rel = registry.relationship_type(rt);
        if !allowed(
            registry,
            rel.valid_capability_types.as_ref(),
            capability.capability_type,
        ) {
            return Err(format!(
                "relationship `{}` cannot target capability `{cap}`",
                registry.display_name(rt)
            ));
        }
        if !allowed(
            registry,
            rel.valid_target_node_types.as_ref(),
            target.node_type,
        ) {
            return Err(format!(
                "relationship `{}` cannot target a `{}`",
                registry.display_name(rt),
                registry.display_name(target.node_type)
            ));
        }
        if !allowed(
            registry,
            rel.valid_source_node_types.as_ref(),
            source.node_type,
        ) {
            return Err(format!(
                "relationship `{}` cannot start at a `{}`",
                registry.display_name(rt),
                registry.display_name(source.node_type)
            ));
        }
    }
    for filter in &req.node_filters {
        let view = TemplateView::considering(resolved, registry, topology, n, r, m, cap);
        match eval::evaluate(filter, &view) {
            Ok(Outcome::Known(v)) => {
                if v.as_bool() != Some(true) {
                    return Err("its node_filter is false".to_string());
                }
            }
            // Depends on runtime state: fulfilment waits for the runtime to decide.
            Ok(Outcome::Deferred(_)) => {}
            Err(m) => return Err(format!("its node_filter cannot be evaluated: {m}")),
        }
    }
    let demand = u64::from(topology.counts[n]).max(1) as f64;
    for (prop, value) in &req.allocation {
        let Some(need) = amount(registry, capability, prop, value) else {
            continue;
        };
        let Some(have) = capability
            .properties
            .get(prop)
            .and_then(|v| amount(registry, capability, prop, v))
        else {
            return Err(format!(
                "capability `{cap}` has no `{prop}` to allocate from"
            ));
        };
        let capacity = have * f64::from(topology.counts[m].max(1));
        let taken = used
            .get(&(m, cap.to_string(), prop.clone()))
            .copied()
            .unwrap_or(0.0);
        if taken + need * demand > capacity + 1e-9 {
            return Err(format!("capability `{cap}` has not enough `{prop}` left"));
        }
    }
    Ok(())
}

/// Records the allocation of requirement `r` of node `n` on node `m`'s capability.
#[allow(clippy::too_many_arguments)]
fn reserve(
    resolved: &Resolved,
    registry: &TypeRegistry,
    topology: &Topology,
    n: usize,
    r: usize,
    m: usize,
    cap: &str,
    used: &mut HashMap<(usize, String, String), f64>,
) {
    let req = &resolved.nodes[n].requirements[r];
    let capability = &resolved.nodes[m].capabilities[cap];
    let demand = u64::from(topology.counts[n]).max(1) as f64;
    for (prop, value) in &req.allocation {
        if let Some(need) = amount(registry, capability, prop, value) {
            *used.entry((m, cap.to_string(), prop.clone())).or_default() += need * demand;
        }
    }
}

/// What is left of capability property `prop` over `copies` representations of its node once
/// `taken` (as [`amount`] counts it) is allocated (§10.2.1.8 `$available_allocation`): an
/// integer, a float, or a scalar in its type's canonical unit.
pub fn remaining(
    registry: &TypeRegistry,
    capability: &crate::tosca::template::ResolvedCapability,
    prop: &str,
    copies: u32,
    taken: f64,
) -> Option<Value> {
    let have = capability.properties.get(prop)?;
    let copies = f64::from(copies.max(1));
    let left = amount(registry, capability, prop, have)? * copies - taken;
    let whole = left.fract() == 0.0 && left.abs() < 9.0e15;
    match &have.kind {
        ValueKind::Integer(_) => Some(Value::new(ValueKind::Integer(left as i64))),
        ValueKind::Float(_) => Some(Value::new(ValueKind::Float(left))),
        _ => {
            let def = registry
                .capability_type(capability.capability_type)
                .properties
                .get(prop)?;
            let DataKind::Scalar(units) = &registry.data_type(def.schema.data_type).kind else {
                return None;
            };
            let number = if whole {
                Number::Integer(left as i64)
            } else {
                Number::Float(left)
            };
            Some(units.canonical_value(units.scalar_of(number).amount))
        }
    }
}

/// A number to allocate: an integer, a float, or a scalar of the property's type (in its
/// canonical unit).
pub fn amount(
    registry: &TypeRegistry,
    capability: &crate::tosca::template::ResolvedCapability,
    prop: &str,
    value: &Value,
) -> Option<f64> {
    match &value.kind {
        ValueKind::Integer(i) => Some(*i as f64),
        ValueKind::Float(f) => Some(*f),
        ValueKind::String(_) => {
            let def = registry
                .capability_type(capability.capability_type)
                .properties
                .get(prop)?;
            match &registry.data_type(def.schema.data_type).kind {
                DataKind::Scalar(units) => units.parse(value).ok().map(|s| s.amount.as_f64()),
                _ => None,
            }
        }
        _ => None,
    }
}
