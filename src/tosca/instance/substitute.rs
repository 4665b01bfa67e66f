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

use std::collections::HashSet;

use indexmap::IndexMap;

use super::model::{Expression, Instantiation, NodeInstance, RelationshipInstance, Substitution};
use crate::tosca::grammar;
use crate::tosca::limits::Limits;
use crate::tosca::loader::Loaded;
use crate::tosca::problem::Problems;
use crate::tosca::source::Span;
use crate::tosca::template::{self, Resolved, ServiceTemplate, SubstitutionMappings};
use crate::tosca::topology::eval::{self, Outcome};
use crate::tosca::topology::path::Entity;
use crate::tosca::topology::{TemplateView, Topology};
use crate::tosca::types::{TypeId, TypeKind, TypeRegistry};
use crate::tosca::value::{Value, ValueKind};

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
        let service = template::parse::service_template(st, id, "service_template", problems);
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
        if !sm.interfaces.is_empty() {
            problems.report(
                "unsupported",
                sm.span,
                "service_template.substitution_mappings.interfaces",
                "interface mappings (operation → workflow) are not carried out yet",
            );
        }
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
    let mapped: HashSet<&str> = sm
        .properties
        .values()
        .filter_map(|m| match m.as_list() {
            Some([single]) => single.as_str(),
            _ => m.as_str(),
        })
        .collect();
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
        let view = TemplateView::new(resolved, topology, Some(Entity::Node(t)));
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

/// The substituting template's input values for substituting `outer`, from its properties
/// (`properties: {node_property: input}`); a mapping we cannot follow is a problem at it.
pub fn inputs(
    candidate: &Candidate,
    outer: &NodeInstance,
    problems: &mut Problems,
) -> IndexMap<String, Value> {
    let mut given = IndexMap::new();
    for (property, mapping) in &candidate.mappings().properties {
        let path = format!("service_template.substitution_mappings.properties.{property}");
        let input = match &mapping.kind {
            ValueKind::String(input) => input,
            ValueKind::List(l) if l.len() == 1 && l[0].as_str().is_some() => {
                l[0].as_str().unwrap_or_default()
            }
            _ => {
                problems.report(
                    "unsupported",
                    mapping.span,
                    path,
                    "only a property mapped to an input name can be substituted yet",
                );
                continue;
            }
        };
        match outer.properties.get(property) {
            Some(Expression::Resolved(v)) => {
                given.insert(input.to_string(), Value::from_json(v));
            }
            Some(Expression::Deferred(_)) => problems.report(
                "evaluation",
                mapping.span,
                path,
                format!(
                    "property `{property}` of `{}` depends on runtime attributes, so it cannot be the input `{input}`",
                    outer.id
                ),
            ),
            None => {}
        }
    }
    given
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
    let outer = out.nodes.remove(at);
    let prefix = outer.id.as_str();
    let sm = candidate.mappings();
    let path = format!("service_template.node_templates.{}", outer.template);
    let templates: HashSet<String> = inner.nodes.iter().map(|n| n.template.clone()).collect();
    let renamed = |name: &str| format!("{prefix}.{name}");
    let mut nodes: Vec<NodeInstance> = inner.nodes;
    // Inner requirement → outer relationships, from the `requirements` mappings in order.
    let mut moved: Vec<(String, String, RelationshipInstance)> = Vec::new();
    let mut seen: IndexMap<&str, usize> = IndexMap::new();
    for rel in &outer.relationships {
        let k = seen.entry(rel.requirement.as_str()).or_default();
        let mapped: Vec<&Value> = sm
            .requirements
            .iter()
            .filter(|(name, _)| *name == rel.requirement)
            .map(|(_, v)| v)
            .collect();
        *k += 1;
        let Some(mapping) = mapped.get(*k - 1).or(mapped.last()) else {
            tracing::debug!(requirement = %rel.requirement, node = %outer.id, "requirement not mapped by the substituting template");
            continue;
        };
        match mapping.as_list() {
            Some([node, req]) if node.as_str().is_some() && req.as_str().is_some() => moved.push((
                node.as_str().unwrap_or_default().to_string(),
                req.as_str().unwrap_or_default().to_string(),
                rel.clone(),
            )),
            _ => problems.report(
                "unsupported",
                mapping.span,
                format!(
                    "service_template.substitution_mappings.requirements.{}",
                    rel.requirement
                ),
                "only a requirement mapped to [node_template, requirement] can be substituted yet",
            ),
        }
    }
    let inner_ids: HashSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    for node in &mut nodes {
        for r in &mut node.relationships {
            if inner_ids.contains(&r.target) {
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
        let mine: Vec<_> = moved
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
    // Relationships to the node's capabilities go to the mapped inner capabilities.
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
    let mut attributes = IndexMap::new();
    for (attribute, mapping) in &sm.attributes {
        let output = match mapping.as_list() {
            Some([single]) => single.as_str(),
            _ => mapping.as_str(),
        };
        let Some(output) = output else {
            problems.report(
                "unsupported",
                mapping.span,
                format!("service_template.substitution_mappings.attributes.{attribute}"),
                "only an attribute mapped to an output name can be substituted yet",
            );
            continue;
        };
        if let Some(value) = inner.outputs.get(output) {
            let mut value = value.clone();
            prefix_expression(&mut value, &templates, prefix);
            attributes.insert(attribute.clone(), value);
        }
    }
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    for (id, mut nested) in inner.substitutions {
        nested.template = renamed(&nested.template);
        nested.nodes = nested.nodes.iter().map(|n| renamed(n)).collect();
        for a in nested.attributes.values_mut() {
            prefix_expression(a, &templates, prefix);
        }
        out.substitutions.insert(renamed(&id), nested);
    }
    out.substitutions.insert(
        outer.id.clone(),
        Substitution {
            template: outer.template.clone(),
            file: candidate.location.clone(),
            types: outer.types.clone(),
            properties: outer.properties.clone(),
            inputs: inner.inputs,
            attributes,
            nodes: ids,
        },
    );
    let tail = out.nodes.split_off(at);
    out.nodes.extend(nodes);
    out.nodes.extend(tail);
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
