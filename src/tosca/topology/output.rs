//! What `khutulun tosca compile` prints: the topology as JSON/YAML (node templates with
//! their types, counts, values and fulfilled requirements, plus the inputs and outputs) or as
//! a Graphviz DOT graph.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json, json};

use super::eval::{self, Outcome};
use super::path::Entity;
use super::{TemplateView, Topology};
use crate::tosca::template::Resolved;
use crate::tosca::types::TypeRegistry;
use crate::tosca::value::Value;

/// An evaluated value as JSON; a deferred one as `{"$deferred": <expression>}`.
pub fn outcome_json(outcome: &Outcome) -> Json {
    match outcome {
        Outcome::Known(v) => v.to_json(),
        Outcome::Deferred(v) => json!({ "$deferred": v.to_json() }),
    }
}

fn values_json(values: &indexmap::IndexMap<String, Value>) -> Json {
    Json::Object(
        values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    )
}

/// Values evaluated where the template alone decides them; the others (per-instance
/// `$node_index`, runtime attributes, values behind unfulfilled requirements) as written.
fn evaluated_json(values: &indexmap::IndexMap<String, Value>, view: &TemplateView<'_>) -> Json {
    Json::Object(
        values
            .iter()
            .map(|(k, v)| {
                let json = match eval::evaluate(v, view) {
                    Ok(Outcome::Known(known)) => known.to_json(),
                    _ => v.to_json(),
                };
                (k.clone(), json)
            })
            .collect(),
    )
}

/// The topology as a JSON document.
pub fn to_json(topology: &Topology, resolved: &Resolved, registry: &TypeRegistry) -> Json {
    let mut nodes = Map::with_capacity(resolved.nodes.len());
    for (i, node) in resolved.nodes.iter().enumerate() {
        let mut requirements = Vec::new();
        for (r, req) in node.requirements.iter().enumerate() {
            for &rel in &topology.outgoing[i][r] {
                let rel = &topology.relationships[rel];
                let mut entry = Map::new();
                entry.insert("node".into(), json!(resolved.nodes[rel.target].name));
                entry.insert("capability".into(), json!(rel.capability));
                if let Some(t) = rel.relationship_type {
                    entry.insert("relationship".into(), json!(registry.display_name(t)));
                }
                requirements.push(json!({ req.name.clone(): entry }));
            }
        }
        let capabilities: Map<String, Json> = node
            .capabilities
            .iter()
            .map(|(name, c)| {
                let mut entry = Map::new();
                entry.insert(
                    "type".into(),
                    json!(registry.display_name(c.capability_type)),
                );
                if !c.properties.is_empty() {
                    entry.insert("properties".into(), values_json(&c.properties));
                }
                (name.clone(), Json::Object(entry))
            })
            .collect();
        let mut entry = Map::new();
        entry.insert("type".into(), json!(registry.display_name(node.node_type)));
        entry.insert("count".into(), json!(topology.counts[i]));
        if !node.directives.is_empty() {
            entry.insert("directives".into(), json!(node.directives));
        }
        if !node.properties.is_empty() {
            let view = TemplateView::new(resolved, registry, topology, Some(Entity::Node(i)));
            entry.insert("properties".into(), evaluated_json(&node.properties, &view));
        }
        if !node.attributes.is_empty() {
            entry.insert("attributes".into(), values_json(&node.attributes));
        }
        if !capabilities.is_empty() {
            entry.insert("capabilities".into(), Json::Object(capabilities));
        }
        if !requirements.is_empty() {
            entry.insert("requirements".into(), Json::Array(requirements));
        }
        nodes.insert(node.name.clone(), Json::Object(entry));
    }
    json!({
        "inputs": values_json(&topology.inputs),
        "node_templates": nodes,
        "outputs": Json::Object(topology.outputs.iter().map(|(k, o)| (k.clone(), outcome_json(o))).collect()),
    })
}

/// Quotes a DOT identifier.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The topology as a DOT graph: one node per node template (named after it), one edge per
/// fulfilled requirement, from the requiring template to the fulfilling one.
pub fn to_dot(topology: &Topology, resolved: &Resolved, registry: &TypeRegistry) -> String {
    let mut out = String::from("digraph topology {\n    rankdir=BT;\n    node [shape=box];\n");
    for node in &resolved.nodes {
        let _ = writeln!(
            out,
            "    {} [label={}];",
            quoted(&node.name),
            quoted(&format!(
                "{}\\n{}",
                node.name,
                registry.display_name(node.node_type)
            ))
            .replace("\\\\n", "\\n")
        );
    }
    for rel in &topology.relationships {
        let req = &resolved.nodes[rel.source].requirements[rel.requirement];
        let _ = writeln!(
            out,
            "    {} -> {} [label={}];",
            quoted(&resolved.nodes[rel.source].name),
            quoted(&resolved.nodes[rel.target].name),
            quoted(&req.name)
        );
    }
    out.push_str("}\n");
    out
}
