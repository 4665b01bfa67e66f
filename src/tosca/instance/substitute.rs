//! The `substitute` directive: a node realised by a whole substituting service template.
//!
//! Candidates are the service templates loaded beside the entry (a CSAR's
//! `Other-Definitions`, `--substitution FILE`), each checked on its own. One matches a node
//! when its `substitution_mappings.node_type` is the node's type or derives from it, and the
//! node satisfies its `substitution_filter` (evaluated with SELF = the node).
//!
//! Instantiating a substituted node instance instantiates the substituting template with
//! inputs taken from the node's properties (`properties` mappings), then [`splice`]s its
//! instances in place of the node: their ids and template names are prefixed by the node's
//! instance id (`db-0.mysql-0`), the node's relationships move to the mapped inner
//! requirements, relationships to the node's capabilities move to the mapped inner
//! capabilities, and the inner outputs become the node's attributes (recorded in
//! [`Instantiation::substitutions`]).

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use super::model::{Expression, Instantiation, NodeInstance, RelationshipInstance, Substitution};
use crate::tosca::grammar;
use crate::tosca::limits::Limits;
use crate::tosca::loader::Loaded;
use crate::tosca::problem::Problems;
use crate::tosca::source::Span;
use crate::tosca::template::{
    self, MappingTarget, NodeValue, RelationshipIndex, RequirementMapping, Resolved,
    ServiceTemplate, SubstitutionMappings,
};
use crate::tosca::topology::eval::{self, Outcome};
use crate::tosca::topology::path::Entity;
use crate::tosca::topology::{TemplateView, Topology};
use crate::tosca::types::{TypeId, TypeKind, TypeRegistry};
use crate::tosca::value::Value;

/// A service template that may substitute nodes, checked on its own.
#[derive(Debug)]
pub struct Candidate {
    /// Where it was loaded from, for messages.
    pub location: String,
    /// The template as written.
    pub service: ServiceTemplate,
    /// Its node templates, resolved.
    pub resolved: Resolved,
    /// `substitution_mappings.node_type`, resolved.
    pub node_type: TypeId,
}

impl Candidate {
    /// Its `substitution_mappings` (every candidate has them).
    pub fn mappings(&self) -> &SubstitutionMappings {
        self.service
            .substitution_mappings
            .as_ref()
            .expect("candidates have substitution_mappings")
    }
}

/// Reads and checks the substituting templates loaded beside the entry. A file that cannot
/// substitute anything (no `service_template`, no `substitution_mappings`) is a problem: it was
/// given for that.
pub fn candidates(
    loaded: &Loaded,
    registry: &TypeRegistry,
    limits: &Limits,
    problems: &mut Problems,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let places = template::artifact::Places::of(loaded);
    for &id in &loaded.other_definitions {
        let Some(file) = loaded.file(id) else {
            continue;
        };
        let Some(st) = grammar::service_template(&file.root) else {
            problems.report(
                "not-substituting",
                Span::NONE,
                "",
                format!(
                    "{} has no service_template, so it cannot substitute a node",
                    file.location
                ),
            );
            continue;
        };
        let service =
            template::parse::service_template(st.clone(), id, "service_template", problems);
        let resolved = template::check::check(&service, registry, &places, limits, problems);
        let Some(sm) = &service.substitution_mappings else {
            problems.report(
                "not-substituting",
                service.span,
                "service_template",
                format!(
                    "{} has no substitution_mappings, so it cannot substitute a node",
                    file.location
                ),
            );
            continue;
        };
        unmapped_inputs(&service, sm, &file.location, problems);
        // An unknown node type was reported by the check.
        let Some(node_type) = sm
            .node_type
            .as_ref()
            .and_then(|(name, _)| registry.lookup(id, TypeKind::Node, name))
        else {
            continue;
        };
        out.push(Candidate {
            location: file.location.clone(),
            service,
            resolved,
            node_type,
        });
    }
    out
}

/// A required input without a default that no property maps to could never get a value
/// when the template substitutes a node.
fn unmapped_inputs(
    service: &ServiceTemplate,
    sm: &SubstitutionMappings,
    location: &str,
    problems: &mut Problems,
) {
    let mapped: HashSet<&str> = sm.properties.iter().map(|m| m.parameter.as_str()).collect();
    for (name, input) in &service.inputs {
        if input.required
            && input.default.is_none()
            && input.value.is_none()
            && !mapped.contains(name.as_str())
        {
            problems.report(
                "unmapped-input",
                input.span,
                format!("service_template.inputs.{name}"),
                format!(
                    "input `{name}` of {location} is required and has no default, but no property maps to it in substitution_mappings.properties"
                ),
            );
        }
    }
}

/// The first candidate that may substitute node template `t` of `resolved`, or what every
/// candidate considered was turned down for.
pub fn choose(
    candidates: &[Candidate],
    registry: &TypeRegistry,
    resolved: &Resolved,
    topology: &Topology,
    t: usize,
) -> Result<usize, Vec<String>> {
    let node = &resolved.nodes[t];
    let mut reasons = Vec::new();
    for (c, candidate) in candidates.iter().enumerate() {
        let name = &candidate.location;
        if !registry.derives_from(candidate.node_type, node.node_type) {
            reasons.push(format!(
                "{name} substitutes `{}`",
                registry.display_name(candidate.node_type)
            ));
            continue;
        }
        let Some(filter) = &candidate.mappings().substitution_filter else {
            return Ok(c);
        };
        let view = TemplateView::new(resolved, registry, topology, Some(Entity::Node(t)));
        match eval::evaluate(filter, &view) {
            Ok(Outcome::Known(v)) if v.as_bool() == Some(true) => return Ok(c),
            Ok(Outcome::Known(_)) => {
                reasons.push(format!("{name}: its substitution_filter is false"))
            }
            Ok(Outcome::Deferred(_)) => reasons.push(format!(
                "{name}: its substitution_filter depends on runtime attributes"
            )),
            Err(m) => reasons.push(format!(
                "{name}: its substitution_filter cannot be evaluated: {m}"
            )),
        }
    }
    Err(reasons)
}

/// The substituting template's input values for substituting `outer`, from the values its
/// `properties` mappings name (the node's own, a capability's, or its relationships'); a value
/// known only at runtime cannot be an input, which is a problem at the mapping.
pub fn inputs(
    candidate: &Candidate,
    outer: &NodeInstance,
    problems: &mut Problems,
) -> IndexMap<String, Value> {
    let mut given = IndexMap::new();
    for m in &candidate.mappings().properties {
        let path = format!(
            "service_template.substitution_mappings.properties.{}",
            m.at.describe()
        );
        match property_of(outer, &m.at) {
            Ok(Some(v)) => {
                given.insert(m.parameter.clone(), Value::from_json(&v));
            }
            Ok(None) => {}
            Err(()) => problems.report(
                "evaluation",
                m.span,
                path,
                format!(
                    "{} of `{}` depends on runtime attributes, so it cannot be the input `{}`",
                    m.at.describe(),
                    outer.id,
                    m.parameter
                ),
            ),
        }
    }
    given
}

/// The property value `at` names on `outer`: `Ok(None)` when it has none, `Err` when it is
/// known only at runtime. `[RELATIONSHIP, req, ALL, p]` is the list of every relationship's.
fn property_of(outer: &NodeInstance, at: &NodeValue) -> Result<Option<serde_json::Value>, ()> {
    let known = |e: Option<&Expression>| match e {
        Some(Expression::Resolved(v)) => Ok(Some(v.clone())),
        Some(Expression::Deferred(_)) => Err(()),
        None => Ok(None),
    };
    match at {
        NodeValue::Own(name) => known(outer.properties.get(name)),
        NodeValue::Capability { capability, name } => known(
            outer
                .capabilities
                .get(capability)
                .and_then(|c| c.properties.get(name)),
        ),
        NodeValue::Relationship {
            requirement,
            index,
            name,
        } => {
            let mut made = outer
                .relationships
                .iter()
                .filter(|r| r.requirement == *requirement);
            match index {
                RelationshipIndex::At(i) => known(
                    made.find(|r| r.index == *i)
                        .and_then(|r| r.properties.get(name)),
                ),
                RelationshipIndex::All => {
                    let values: Result<Vec<_>, ()> = made
                        .map(|r| known(r.properties.get(name)))
                        .filter_map(Result::transpose)
                        .collect();
                    values.map(|v| Some(serde_json::Value::Array(v)))
                }
            }
        }
    }
}

/// Replaces the instance at `at` in `out` by `inner` (the substituting template's instances
/// for it), as the module doc says. Problems are reported at `span` (the node template).
pub fn splice(
    out: &mut Instantiation,
    at: usize,
    candidate: &Candidate,
    inner: Instantiation,
    span: Span,
    problems: &mut Problems,
) {
    let mut outer = out.nodes.remove(at);
    let sm = candidate.mappings();
    let templates: HashSet<String> = inner.nodes.iter().map(|n| n.template.clone()).collect();
    let mut outputs = inner.outputs;
    for value in outputs.values_mut() {
        prefix_expression(value, &templates, &outer.id);
    }
    // Set on the node's own relationships before they move inside.
    let attributes = mapped_attributes(sm, &outputs, &mut outer, problems);
    let prefix = outer.id.as_str();
    let renamed = |name: &str| format!("{prefix}.{name}");
    let routes = route_relationships(&outer, sm);
    // Instances of a selectable template the outer node's target stands for give way to it.
    let mut standing_in: HashMap<String, String> = HashMap::new();
    let mut nodes: Vec<NodeInstance> = Vec::with_capacity(inner.nodes.len());
    for node in inner.nodes {
        match routes.provided.get(&node.template) {
            Some(target) => {
                standing_in.insert(node.id, target.clone());
            }
            None => nodes.push(node),
        }
    }
    let inner_ids: HashSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    for node in &mut nodes {
        for r in &mut node.relationships {
            if let Some(target) = standing_in.get(&r.target) {
                r.target = target.clone();
            } else if inner_ids.contains(&r.target) {
                r.target = renamed(&r.target);
            }
            prefix_all(&mut r.properties, &templates, prefix);
        }
        prefix_all(&mut node.properties, &templates, prefix);
        prefix_all(&mut node.attributes, &templates, prefix);
        for cap in node.capabilities.values_mut() {
            prefix_all(&mut cap.properties, &templates, prefix);
            prefix_all(&mut cap.attributes, &templates, prefix);
        }
        // The outer fulfilment wins over whatever the inner template found for itself.
        let mine: Vec<&(String, String, RelationshipInstance)> = routes
            .moved
            .iter()
            .filter(|(n, _, _)| *n == node.template)
            .collect();
        for (_, req, _) in &mine {
            node.relationships.retain(|r| r.requirement != *req);
        }
        for (_, req, rel) in mine {
            node.relationships.push(RelationshipInstance {
                requirement: req.clone(),
                ..rel.clone()
            });
        }
        node.id = renamed(&node.id);
        node.template = renamed(&node.template);
    }
    retarget_incoming(out, &outer, candidate, &nodes, span, problems);
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    for (id, mut nested) in inner.substitutions {
        nested.template = renamed(&nested.template);
        nested.nodes = nested.nodes.iter().map(|n| renamed(n)).collect();
        for a in nested.attributes.values_mut() {
            prefix_expression(a, &templates, prefix);
        }
        out.substitutions.insert(renamed(&id), nested);
    }
    let mut interfaces: IndexMap<String, IndexMap<String, String>> = IndexMap::new();
    for m in &sm.interfaces {
        let operations = interfaces.entry(m.interface.clone()).or_default();
        operations.insert(m.operation.clone(), m.workflow.clone());
    }
    out.substitutions.insert(
        outer.id.clone(),
        Substitution {
            template: outer.template.clone(),
            file: candidate.location.clone(),
            types: outer.types.clone(),
            properties: outer.properties.clone(),
            inputs: inner.inputs,
            attributes: attributes.own,
            capabilities: attributes.capabilities,
            interfaces,
            nodes: ids,
        },
    );
    let tail = out.nodes.split_off(at);
    out.nodes.extend(nodes);
    out.nodes.extend(tail);
}

/// Where the substituted node's relationships go inside the substituting template.
#[derive(Default)]
struct Routes {
    /// `(inner template, its requirement, the relationship)`: relationships that become the
    /// inner template's.
    moved: Vec<(String, String, RelationshipInstance)>,
    /// Selectable inner template → the outer target instance that stands for it.
    provided: HashMap<String, String>,
}

/// Follows the `requirements` mappings for each of `outer`'s relationships, counting the
/// assignments of each requirement in order (see [`RequirementMapping::for_assignment`]).
fn route_relationships(outer: &NodeInstance, sm: &SubstitutionMappings) -> Routes {
    let mut routes = Routes::default();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for rel in &outer.relationships {
        let k = seen.entry(rel.requirement.as_str()).or_default();
        let mapping = RequirementMapping::for_assignment(&sm.requirements, &rel.requirement, *k);
        *k += 1;
        let Some(mapping) = mapping else {
            tracing::debug!(requirement = %rel.requirement, node = %outer.id, "requirement not mapped by the substituting template");
            continue;
        };
        for target in &mapping.targets {
            match target {
                MappingTarget::Requirement { node, requirement } => {
                    routes
                        .moved
                        .push((node.clone(), requirement.clone(), rel.clone()))
                }
                MappingTarget::Selectable(node) => {
                    routes
                        .provided
                        .entry(node.clone())
                        .or_insert_with(|| rel.target.clone());
                }
            }
        }
    }
    routes
}

/// The selectable inner templates whose place `outer`'s relationships take, so the
/// substituting template is instantiated without looking for them elsewhere.
pub fn provided_templates(candidate: &Candidate, outer: &NodeInstance) -> HashSet<String> {
    route_relationships(outer, candidate.mappings())
        .provided
        .into_keys()
        .collect()
}

/// Relationships of other instances to `outer`'s capabilities go to the mapped inner
/// capabilities (`nodes` are the inner instances, already renamed).
fn retarget_incoming(
    out: &mut Instantiation,
    outer: &NodeInstance,
    candidate: &Candidate,
    nodes: &[NodeInstance],
    span: Span,
    problems: &mut Problems,
) {
    let sm = candidate.mappings();
    let path = format!("service_template.node_templates.{}", outer.template);
    let renamed = |name: &str| format!("{}.{name}", outer.id);
    for source in out.nodes.iter_mut() {
        for r in &mut source.relationships {
            if r.target != outer.id {
                continue;
            }
            let mapping = sm.capabilities.get(&r.capability);
            match mapping.and_then(|m| m.as_list()) {
                Some([node, cap]) if node.as_str().is_some() && cap.as_str().is_some() => {
                    let node = node.as_str().unwrap_or_default();
                    match nodes.iter().find(|n| n.template == renamed(node)) {
                        Some(target) => {
                            r.target = target.id.clone();
                            r.capability = cap.as_str().unwrap_or_default().to_string();
                        }
                        None => problems.report(
                            "unfulfilled-requirement",
                            span,
                            &path,
                            format!(
                                "`{}` needs capability `{}` of `{}`, which {} maps to `{node}`, but it has no instances",
                                source.id, r.capability, outer.id, candidate.location
                            ),
                        ),
                    }
                }
                _ => problems.report(
                    "unfulfilled-requirement",
                    span,
                    &path,
                    format!(
                        "`{}` needs capability `{}` of `{}`, but {} does not map it to one of its nodes",
                        source.id, r.capability, outer.id, candidate.location
                    ),
                ),
            }
        }
    }
}

/// What the `attributes` mappings give the substituted node.
#[derive(Default)]
struct MappedAttributes {
    own: IndexMap<String, Expression>,
    capabilities: IndexMap<String, IndexMap<String, Expression>>,
}

/// Carries the outputs the `attributes` mappings name to the substituted node: its own
/// attributes and its capabilities' are returned; its relationships' are set on `outer`'s
/// relationships (an `ALL` mapping takes a list output, one entry each).
fn mapped_attributes(
    sm: &SubstitutionMappings,
    outputs: &IndexMap<String, Expression>,
    outer: &mut NodeInstance,
    problems: &mut Problems,
) -> MappedAttributes {
    let mut mapped = MappedAttributes::default();
    for m in &sm.attributes {
        let Some(value) = outputs.get(&m.parameter) else {
            continue;
        };
        match &m.at {
            NodeValue::Own(name) => {
                mapped.own.insert(name.clone(), value.clone());
            }
            NodeValue::Capability { capability, name } => {
                let attributes = mapped.capabilities.entry(capability.clone()).or_default();
                attributes.insert(name.clone(), value.clone());
            }
            NodeValue::Relationship {
                requirement,
                index,
                name,
            } => {
                let relationships: Vec<&mut RelationshipInstance> = outer
                    .relationships
                    .iter_mut()
                    .filter(|r| r.requirement == *requirement && matches(index, r.index))
                    .collect();
                let values = match (index, value) {
                    (RelationshipIndex::All, Expression::Resolved(serde_json::Value::Array(v))) => {
                        v.iter().cloned().map(Expression::Resolved).collect()
                    }
                    (RelationshipIndex::All, _) => {
                        problems.report(
                            "wrong-kind",
                            m.span,
                            format!(
                                "service_template.substitution_mappings.attributes.{}",
                                m.at.describe()
                            ),
                            format!(
                                "output `{}` must be a list known at deploy time to give each relationship of `{requirement}` its `{name}`",
                                m.parameter
                            ),
                        );
                        continue;
                    }
                    _ => vec![value.clone()],
                };
                for (r, v) in relationships.into_iter().zip(values) {
                    r.attributes.insert(name.clone(), v);
                }
            }
        }
    }
    mapped
}

fn matches(index: &RelationshipIndex, i: u32) -> bool {
    match index {
        RelationshipIndex::All => true,
        RelationshipIndex::At(at) => *at == i,
    }
}

fn prefix_all(values: &mut IndexMap<String, Expression>, templates: &HashSet<String>, p: &str) {
    for v in values.values_mut() {
        prefix_expression(v, templates, p);
    }
}

/// Renames inner template names in a deferred expression's `$get_*` paths, so the runtime
/// finds the renamed instances.
fn prefix_expression(e: &mut Expression, templates: &HashSet<String>, prefix: &str) {
    if let Expression::Deferred(json) = e {
        prefix_json(json, templates, prefix);
    }
}

fn prefix_json(json: &mut serde_json::Value, templates: &HashSet<String>, prefix: &str) {
    match json {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if matches!(
                    key.as_str(),
                    "$get_attribute" | "$get_property" | "$get_artifact"
                ) && let Some(first) = value.as_array_mut().and_then(|a| a.first_mut())
                    && let Some(name) = first.as_str()
                    && templates.contains(name)
                {
                    *first = serde_json::Value::String(format!("{prefix}.{name}"));
                }
                prefix_json(value, templates, prefix);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                prefix_json(item, templates, prefix);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_template_names_in_deferred_paths_get_the_prefix() {
        let templates: HashSet<String> = ["mysql".to_string()].into();
        let mut e = Expression::Deferred(serde_json::json!({
            "$concat": [
                {"$get_attribute": ["mysql", "address"]},
                {"$get_attribute": ["SELF", "port"]},
                {"$get_property": ["web", "name"]},
            ]
        }));
        prefix_expression(&mut e, &templates, "db-0");
        assert_eq!(
            e,
            Expression::Deferred(serde_json::json!({
                "$concat": [
                    {"$get_attribute": ["db-0.mysql", "address"]},
                    {"$get_attribute": ["SELF", "port"]},
                    {"$get_property": ["web", "name"]},
                ]
            }))
        );
        // Known values are data, not paths.
        let mut known = Expression::Resolved(serde_json::json!({"$get_attribute": ["mysql"]}));
        prefix_expression(&mut known, &templates, "db-0");
        assert_eq!(
            known,
            Expression::Resolved(serde_json::json!({"$get_attribute": ["mysql"]}))
        );
    }
}
