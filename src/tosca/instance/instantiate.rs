//! From a topology to instances: `count` node instances per node template
//! (`<template>-<index>`), relationship instances per fulfilled requirement, values
//! evaluated per instance (`$node_index`, `$relationship_index`), and the nodes in
//! dependency order.
//!
//! Which target instances a relationship goes to follows the multiplicity patterns of the
//! specification: `[template, $node_index]` pairs instances by index (matched pairs); a
//! requirement `count` of N connects to N distinct instances (full mesh when N is the
//! target's count); an `allocation` spreads sources over targets with capacity left (random
//! pairs); otherwise every source goes to the first target instance (many-to-one).

use std::collections::HashMap;

use indexmap::IndexMap;

use super::interfaces::Carrying;
use super::model::{
    CapabilityInstance, Expression, Instantiation, NodeInstance, PolicyInstance,
    RelationshipInstance, TypeRef,
};
use crate::tosca::functions::TypeHint;
use crate::tosca::parallel;
use crate::tosca::problem::Problems;
use crate::tosca::template::{NodeTarget, Resolved};
use crate::tosca::topology::Topology;
use crate::tosca::topology::eval::{self, Definer, Outcome, View};
use crate::tosca::topology::fulfil::{amount, remaining};
use crate::tosca::topology::path::{Entity, Graph};
use crate::tosca::types::{self, PropertyDef, Schema, TypeId, TypeRegistry};
use crate::tosca::value::Value;

/// One node instance while instantiating.
struct Node {
    template: usize,
    index: u32,
}

/// One relationship instance while instantiating.
struct Rel {
    source: usize,
    /// The requirement assignment (index into the template's requirements).
    requirement: usize,
    target: usize,
    capability: String,
    /// Its `$relationship_index` among the source's relationships of this requirement.
    index: u32,
    relationship_type: Option<TypeId>,
}

/// Instances and their relationships, seen by functions.
struct Instances<'a> {
    resolved: &'a Resolved,
    registry: &'a TypeRegistry,
    inputs: &'a IndexMap<String, Value>,
    nodes: Vec<Node>,
    /// First instance of each template (instances of a template are contiguous).
    first: Vec<usize>,
    counts: Vec<u32>,
    rels: Vec<Rel>,
    outgoing: Vec<Vec<usize>>,
    incoming: HashMap<(usize, String), Vec<usize>>,
    /// What is left of the capability properties allocations took from, per (instance,
    /// capability, property).
    left: HashMap<(usize, String, String), Value>,
}

struct At<'a, 'b> {
    all: &'b Instances<'a>,
    this: Option<Entity>,
}

impl Graph for At<'_, '_> {
    fn this(&self) -> Option<Entity> {
        self.this.clone()
    }
    fn nodes_named(&self, name: &str) -> Vec<usize> {
        match self.all.resolved.by_name.get(name) {
            Some(&t) => {
                let first = self.all.first[t];
                (first..first + self.all.counts[t] as usize).collect()
            }
            None => Vec::new(),
        }
    }
    fn relationship_named(&self, _: &str) -> Option<usize> {
        None
    }
    fn relationships(&self, node: usize, requirement: &str) -> Vec<usize> {
        let template = &self.all.resolved.nodes[self.all.nodes[node].template];
        self.all.outgoing[node]
            .iter()
            .copied()
            .filter(|r| template.requirements[self.all.rels[*r].requirement].name == requirement)
            .collect()
    }
    fn incoming(&self, node: usize, capability: &str) -> Vec<usize> {
        self.all
            .incoming
            .get(&(node, capability.to_string()))
            .cloned()
            .unwrap_or_default()
    }
    fn source(&self, relationship: usize) -> Option<usize> {
        self.all.rels.get(relationship).map(|r| r.source)
    }
    fn target(&self, relationship: usize) -> Option<(usize, String)> {
        self.all
            .rels
            .get(relationship)
            .map(|r| (r.target, r.capability.clone()))
    }
}

impl View for At<'_, '_> {
    fn inputs(&self) -> &IndexMap<String, Value> {
        self.all.inputs
    }
    fn property(&self, entity: &Entity, name: &str) -> Option<Value> {
        let nodes = &self.all.resolved.nodes;
        match entity {
            Entity::Node(n) => nodes[self.all.nodes[*n].template]
                .properties
                .get(name)
                .cloned(),
            Entity::Capability(n, c) => nodes[self.all.nodes[*n].template]
                .capabilities
                .get(c)?
                .properties
                .get(name)
                .cloned(),
            Entity::Relationship(r) => {
                let rel = self.all.rels.get(*r)?;
                nodes[self.all.nodes[rel.source].template].requirements[rel.requirement]
                    .relationship_properties
                    .get(name)
                    .cloned()
            }
        }
    }
    fn attribute(&self, entity: &Entity, name: &str) -> Option<Value> {
        let nodes = &self.all.resolved.nodes;
        match entity {
            Entity::Node(n) => nodes[self.all.nodes[*n].template]
                .attributes
                .get(name)
                .cloned(),
            Entity::Capability(n, c) => nodes[self.all.nodes[*n].template]
                .capabilities
                .get(c)?
                .attributes
                .get(name)
                .cloned(),
            Entity::Relationship(_) => None,
        }
    }
    fn artifact(&self, node: usize, name: &str) -> Option<Value> {
        let template = &self.all.resolved.nodes[self.all.nodes[node].template];
        let artifact = template.artifacts.get(name)?;
        Some(Value::string(artifact.location.to_string()))
    }
    fn available(&self, node: usize, capability: &str, property: &str) -> Option<Value> {
        let key = (node, capability.to_string(), property.to_string());
        if let Some(left) = self.all.left.get(&key) {
            return Some(left.clone());
        }
        self.all.resolved.nodes[self.all.nodes[node].template]
            .capabilities
            .get(capability)?
            .properties
            .get(property)
            .cloned()
    }
    fn node_index(&self) -> Option<u32> {
        match &self.this {
            Some(Entity::Node(n)) | Some(Entity::Capability(n, _)) => {
                Some(self.all.nodes[*n].index)
            }
            Some(Entity::Relationship(r)) => self
                .all
                .rels
                .get(*r)
                .map(|r| self.all.nodes[r.source].index),
            None => None,
        }
    }
    fn relationship_index(&self) -> Option<u32> {
        match &self.this {
            Some(Entity::Relationship(r)) => self.all.rels.get(*r).map(|r| r.index),
            _ => None,
        }
    }
    fn at(&self, this: Entity) -> Box<dyn View + '_> {
        Box::new(At {
            all: self.all,
            this: Some(this),
        })
    }
    fn hint(
        &self,
        entity: &Entity,
        name: &str,
        attribute: bool,
        keys: &[Value],
    ) -> Option<TypeHint> {
        let all = self.all;
        let node = |n: usize| &all.resolved.nodes[all.nodes[n].template];
        let definer = match entity {
            Entity::Node(n) => Definer::Node(node(*n).node_type),
            Entity::Capability(n, c) => {
                Definer::Capability(node(*n).capabilities.get(c)?.capability_type)
            }
            Entity::Relationship(r) => Definer::Relationship(all.rels.get(*r)?.relationship_type?),
        };
        eval::hint_of(all.registry, definer, name, attribute, keys)
    }
}

/// The declared types of named values, so computed values can be checked.
trait Schemas {
    /// The schema (with its validation) of the value `name`, if declared with one.
    fn schema(&self, name: &str) -> Option<&Schema>;
}

impl Schemas for IndexMap<String, PropertyDef> {
    fn schema(&self, name: &str) -> Option<&Schema> {
        // A definition's schema carries its validation (`PropertyDef::validation`).
        self.get(name).map(|def| &def.schema)
    }
}

impl Schemas for IndexMap<String, Schema> {
    fn schema(&self, name: &str) -> Option<&Schema> {
        self.get(name)
    }
}

fn type_refs(registry: &TypeRegistry, id: TypeId) -> Vec<TypeRef> {
    registry
        .header(id)
        .ancestors
        .iter()
        .map(|a| {
            let h = registry.header(*a);
            TypeRef {
                profile: h.profile.clone(),
                name: h.name.clone(),
            }
        })
        .collect()
}

fn expression(outcome: Outcome) -> Expression {
    match outcome {
        Outcome::Known(v) => Expression::Resolved(v.to_json()),
        Outcome::Deferred(v) => Expression::Deferred(v.to_json()),
    }
}

/// Instantiates a topology.
pub fn instantiate(
    resolved: &Resolved,
    registry: &TypeRegistry,
    topology: &Topology,
) -> Result<Instantiation, Problems> {
    let mut problems = Problems::new();
    let order = match petgraph::algo::toposort(&topology.graph, None) {
        Ok(order) => order,
        Err(cycle) => {
            let node = &resolved.nodes[topology.graph[cycle.node_id()]];
            problems.report(
                "dependency-cycle",
                node.span,
                format!("service_template.node_templates.{}", node.name),
                format!(
                    "node template `{}` depends on itself through its requirements",
                    node.name
                ),
            );
            return Err(problems);
        }
    };
    let mut all = Instances {
        resolved,
        registry,
        inputs: &topology.inputs,
        nodes: Vec::new(),
        first: vec![0; resolved.nodes.len()],
        counts: topology.counts.clone(),
        rels: Vec::new(),
        outgoing: Vec::new(),
        incoming: HashMap::new(),
        left: HashMap::new(),
    };
    for (t, &count) in topology.counts.iter().enumerate() {
        all.first[t] = all.nodes.len();
        for index in 0..count {
            all.nodes.push(Node { template: t, index });
        }
    }
    all.outgoing = vec![Vec::new(); all.nodes.len()];
    connect(&mut all, registry, topology, &mut problems);
    // Node instances, each after the ones it requires (toposort puts requirers first).
    // Each template's instances read only the finished graph, so many templates are
    // instantiated in parts beside each other; nodes and problems keep the templates' order.
    let templates: Vec<usize> = order
        .into_iter()
        .rev()
        .map(|graph_node| topology.graph[graph_node])
        .collect();
    let all = &all;
    let parts = parallel::in_parts(&templates, |part| {
        let mut found = Problems::new();
        let mut types_of = type_refs_cached(registry);
        let mut nodes = Vec::new();
        for &t in part {
            template_instances(all, t, &mut types_of, &mut found, &mut nodes);
        }
        (nodes, found)
    });
    let mut nodes = Vec::with_capacity(all.nodes.len());
    for (part, found) in parts {
        nodes.extend(part);
        problems.extend(found);
    }
    let outputs = topology
        .outputs
        .iter()
        .map(|(k, o)| (k.clone(), expression(o.clone())))
        .collect();
    let policies = policies(all, &mut type_refs_cached(registry), &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Instantiation {
        inputs: topology
            .inputs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
        nodes,
        outputs,
        substitutions: IndexMap::new(),
        policies,
    })
}

/// The instances of node template `t`, each with its values evaluated, appended to `nodes`.
fn template_instances(
    all: &Instances<'_>,
    t: usize,
    types_of: &mut impl FnMut(TypeId) -> Vec<TypeRef>,
    problems: &mut Problems,
    nodes: &mut Vec<NodeInstance>,
) {
    let (resolved, registry) = (all.resolved, all.registry);
    let template = &resolved.nodes[t];
    let path = format!("service_template.node_templates.{}", template.name);
    for i in all.first[t]..all.first[t] + all.counts[t] as usize {
        let at = At {
            all,
            this: Some(Entity::Node(i)),
        };
        // Evaluates values; what a function computed is checked against its definition
        // (literals were checked with the template).
        let mut evaluate = |values: &IndexMap<String, Value>,
                            at: &At<'_, '_>,
                            what: &str,
                            defs: Option<&dyn Schemas>|
         -> IndexMap<String, Expression> {
            let mut out = IndexMap::with_capacity(values.len());
            for (name, v) in values {
                match eval::evaluate(v, at) {
                    Ok(o) => {
                        // §9.10: clauses that read the graph (`$get_property: [SELF, …]`)
                        // are decided here, where the graph is known.
                        if let (Outcome::Known(known), Some(schema)) =
                            (&o, defs.and_then(|d| d.schema(name)))
                            && !schema.validation.is_empty()
                        {
                            types::check_graph_clauses(
                                registry,
                                schema,
                                known,
                                problems,
                                &format!("{path}.{what}.{name}"),
                                &mut |clause, value, nested| {
                                    eval::evaluate_clause(clause, value, nested, at)
                                },
                            );
                        }
                        if let (Outcome::Known(known), Some(schema)) =
                            (&o, defs.and_then(|d| d.schema(name)))
                            && known != v
                        {
                            // Found problems are reported at the value as written, under
                            // its own path: the path is built only then.
                            let mut found = Problems::new();
                            types::check_value(registry, schema, known, &mut found, "");
                            for f in found.iter() {
                                problems.report(
                                    f.code,
                                    v.span,
                                    format!("{path}.{what}.{name}"),
                                    format!(
                                        "the value computed here, {known}, is wrong: {}",
                                        f.message
                                    ),
                                );
                            }
                        }
                        out.insert(name.clone(), expression(o));
                    }
                    Err(m) => {
                        problems.report("evaluation", v.span, format!("{path}.{what}.{name}"), m)
                    }
                }
            }
            out
        };
        let node_type = registry.node_type(template.node_type);
        let properties = evaluate(
            &template.properties,
            &at,
            "properties",
            Some(&node_type.properties),
        );
        let mut attributes = properties.clone();
        for (k, v) in evaluate(
            &template.attributes,
            &at,
            "attributes",
            Some(&node_type.attributes),
        ) {
            attributes.insert(k, v);
        }
        let mut capabilities = IndexMap::with_capacity(template.capabilities.len());
        for (name, cap) in &template.capabilities {
            let at = At {
                all,
                this: Some(Entity::Capability(i, name.clone())),
            };
            let def = node_type.capabilities.get(name);
            let properties = evaluate(
                &cap.properties,
                &at,
                "capabilities",
                def.map(|d| &d.properties as &dyn Schemas),
            );
            let attributes = evaluate(
                &cap.attributes,
                &at,
                "capabilities",
                def.map(|d| &d.attributes as &dyn Schemas),
            );
            capabilities.insert(
                name.clone(),
                CapabilityInstance {
                    types: types_of(cap.capability_type),
                    properties,
                    attributes,
                },
            );
        }
        let mut relationships = Vec::with_capacity(all.outgoing[i].len());
        for &r in &all.outgoing[i] {
            let rel = &all.rels[r];
            let at = At {
                all,
                this: Some(Entity::Relationship(r)),
            };
            let req = &template.requirements[rel.requirement];
            let interfaces = Carrying {
                types_of,
                evaluate: &mut |values, what, schemas| {
                    let what = format!("requirements.{}.relationship.{what}", req.name);
                    evaluate(values, &at, &what, Some(schemas))
                },
            }
            .interfaces(&req.relationship_interfaces);
            relationships.push(RelationshipInstance {
                requirement: req.name.clone(),
                target: instance_id(all, rel.target),
                capability: rel.capability.clone(),
                index: rel.index,
                types: rel
                    .relationship_type
                    .map(&mut *types_of)
                    .unwrap_or_default(),
                properties: evaluate(
                    &req.relationship_properties,
                    &at,
                    "requirements",
                    rel.relationship_type
                        .map(|t| &registry.relationship_type(t).properties as &dyn Schemas),
                ),
                attributes: IndexMap::new(),
                interfaces,
            });
        }
        let mut carrying = Carrying {
            types_of,
            evaluate: &mut |values, what, schemas| evaluate(values, &at, what, Some(schemas)),
        };
        let artifacts = carrying.artifacts(&template.artifacts);
        let interfaces = carrying.interfaces(&template.interfaces);
        nodes.push(NodeInstance {
            id: instance_id(all, i),
            template: template.name.clone(),
            index: all.nodes[i].index,
            types: types_of(template.node_type),
            properties,
            attributes,
            capabilities,
            relationships,
            directives: template.directives.clone(),
            selected_from: None,
            artifacts,
            interfaces,
            artifact_copies: super::artifact_copies::asked(template),
        });
    }
}

/// `type_refs`, computed once per type.
fn type_refs_cached(registry: &TypeRegistry) -> impl FnMut(TypeId) -> Vec<TypeRef> + '_ {
    let mut cache: HashMap<TypeId, Vec<TypeRef>> = HashMap::new();
    move |id| {
        cache
            .entry(id)
            .or_insert_with(|| type_refs(registry, id))
            .clone()
    }
}

/// The service's policies, their values evaluated in the service's scope.
fn policies(
    all: &Instances<'_>,
    types_of: &mut impl FnMut(TypeId) -> Vec<TypeRef>,
    problems: &mut Problems,
) -> Vec<PolicyInstance> {
    let at = At { all, this: None };
    let mut instances = Vec::with_capacity(all.resolved.policies.len());
    for (i, policy) in all.resolved.policies.iter().enumerate() {
        let mut properties = IndexMap::with_capacity(policy.properties.len());
        for (name, value) in &policy.properties {
            match eval::evaluate(value, &at) {
                Ok(outcome) => {
                    properties.insert(name.clone(), expression(outcome));
                }
                Err(message) => problems.report(
                    "evaluation",
                    value.span,
                    format!(
                        "service_template.policies[{i}].{}.properties.{name}",
                        policy.name
                    ),
                    message,
                ),
            }
        }
        instances.push(PolicyInstance {
            name: policy.name.clone(),
            types: types_of(policy.policy_type),
            properties,
            targets: policy.targets.clone(),
        });
    }
    instances
}

fn instance_id(all: &Instances<'_>, i: usize) -> String {
    let node = &all.nodes[i];
    format!("{}-{}", all.resolved.nodes[node.template].name, node.index)
}

/// Creates the relationship instances of every fulfilled requirement.
fn connect(
    all: &mut Instances<'_>,
    registry: &TypeRegistry,
    topology: &Topology,
    problems: &mut Problems,
) {
    let resolved = all.resolved;
    // Capacity used per (instance, capability, property).
    let mut used: HashMap<(usize, String, String), f64> = HashMap::new();
    // Per fulfilled requirement: the first target instance that may still have capacity.
    let mut full_before: HashMap<usize, usize> = HashMap::new();
    for (t, template) in resolved.nodes.iter().enumerate() {
        for (r, req) in template.requirements.iter().enumerate() {
            let targets = &topology.outgoing[t][r];
            if targets.is_empty() {
                continue;
            }
            let path = format!(
                "service_template.node_templates.{}.requirements.{}",
                template.name, req.name
            );
            for s in all.first[t]..all.first[t] + all.counts[t] as usize {
                let at = At {
                    all,
                    this: Some(Entity::Node(s)),
                };
                let wanted = match &req.count {
                    None => 1,
                    Some(c) => match eval::evaluate(c, &at) {
                        Ok(Outcome::Known(v)) => {
                            v.as_i64().filter(|n| *n >= 0).unwrap_or(1) as usize
                        }
                        _ => 1,
                    },
                };
                let mut chosen: Vec<(usize, String)> = Vec::with_capacity(wanted);
                if let NodeTarget::Template(_, Some(index)) = &req.node {
                    let rel = &topology.relationships[targets[0]];
                    match eval::evaluate(index, &at) {
                        Ok(Outcome::Known(v)) => match v.as_i64() {
                            Some(k) if k >= 0 && (k as u32) < all.counts[rel.target] => {
                                chosen.push((
                                    all.first[rel.target] + k as usize,
                                    rel.capability.clone(),
                                ));
                            }
                            _ => problems.report(
                                "unfulfilled-requirement",
                                index.span,
                                &path,
                                format!(
                                    "`{}` has no representation {v}",
                                    resolved.nodes[rel.target].name
                                ),
                            ),
                        },
                        Ok(Outcome::Deferred(_)) => {}
                        Err(m) => problems.report("evaluation", index.span, &path, m),
                    }
                } else {
                    'targets: for &rt in targets {
                        let rel = &topology.relationships[rt];
                        let cap = &resolved.nodes[rel.target].capabilities[&rel.capability];
                        let end = all.first[rel.target] + all.counts[rel.target] as usize;
                        // Target instances before the cursor have no capacity left.
                        let start = *full_before.get(&rt).unwrap_or(&all.first[rel.target]);
                        let mut cursor = start;
                        for target in start..end {
                            if chosen.len() >= wanted {
                                break 'targets;
                            }
                            if target == s {
                                continue;
                            }
                            let fits = req.allocation.iter().all(|(prop, v)| {
                                let (Some(need), Some(have)) = (
                                    amount(registry, cap, prop, v),
                                    cap.properties
                                        .get(prop)
                                        .and_then(|h| amount(registry, cap, prop, h)),
                                ) else {
                                    return true;
                                };
                                let taken = used
                                    .get(&(target, rel.capability.clone(), prop.clone()))
                                    .copied()
                                    .unwrap_or(0.0);
                                taken + need <= have + 1e-9
                            });
                            if !fits {
                                if cursor == target {
                                    cursor = target + 1;
                                    full_before.insert(rt, cursor);
                                }
                                continue;
                            }
                            for (prop, v) in &req.allocation {
                                if let Some(need) = amount(registry, cap, prop, v) {
                                    *used
                                        .entry((target, rel.capability.clone(), prop.clone()))
                                        .or_default() += need;
                                }
                            }
                            chosen.push((target, rel.capability.clone()));
                        }
                    }
                    if chosen.len() < wanted && !req.optional {
                        problems.report(
                            "unfulfilled-requirement",
                            req.span,
                            &path,
                            format!(
                                "`{}` needs {wanted} relationship(s) for `{}` but only {} target instance(s) are available",
                                instance_id(all, s),
                                req.name,
                                chosen.len()
                            ),
                        );
                    }
                }
                // §14.4: a relationship's index counts every relationship created from the
                // same requirement definition, so repeated assignments of one requirement
                // number on (as `[SELF, RELATIONSHIP, req, idx]` does), not from 0 each.
                let before = all.outgoing[s]
                    .iter()
                    .filter(|&&o| template.requirements[all.rels[o].requirement].name == req.name)
                    .count();
                for (index, (target, capability)) in chosen.into_iter().enumerate() {
                    let index = before + index;
                    let id = all.rels.len();
                    all.incoming
                        .entry((target, capability.clone()))
                        .or_default()
                        .push(id);
                    all.outgoing[s].push(id);
                    all.rels.push(Rel {
                        source: s,
                        requirement: r,
                        target,
                        capability,
                        index: index as u32,
                        relationship_type: req.relationship_type,
                    });
                }
            }
        }
    }
    all.left = used
        .into_iter()
        .filter_map(|((i, cap, prop), taken)| {
            let capability = resolved.nodes[all.nodes[i].template]
                .capabilities
                .get(&cap)?;
            let left = remaining(registry, capability, &prop, 1, taken)?;
            Some(((i, cap, prop), left))
        })
        .collect();
}
