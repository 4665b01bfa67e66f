//! Resolving deferred expressions for the runtime, once the attributes they read are known.
//!
//! A [`Resolver`] indexes a stored [`Instantiation`] once (instances by id and by template,
//! relationships by source and by target capability) so that each expression costs what its
//! path walks, however large the service. It indexes only when an expression must be computed:
//! a value already resolved (most of a service's) is a copy, with no index of its thousands
//! of instances built for it.
//!
//! A node realised by a substituting template is still reachable by its own template name and
//! instance id: it stands after the real instances, with its properties and the attributes its
//! substitute's outputs give it, and no relationships.

use std::cell::OnceCell;
use std::collections::HashMap;

use indexmap::IndexMap;

use super::model::{Expression, Instantiation, NodeInstance, Substitution};
use crate::tosca::topology::eval::{self, View};
use crate::tosca::topology::path::{Entity, Graph};
use crate::tosca::value::Value;

/// One stored relationship: source and target instances, target capability, requirement.
struct Rel<'a> {
    source: usize,
    target: usize,
    capability: &'a str,
    requirement: &'a str,
    /// Position in the source's `relationships`.
    position: usize,
}

/// An instantiation, indexed on first need, for resolving many expressions.
pub struct Resolver<'a> {
    inst: &'a Instantiation,
    index: OnceCell<Index<'a>>,
}

/// The instantiation's instances and relationships, by what expressions look them up by.
struct Index<'a> {
    inst: &'a Instantiation,
    /// Substituted nodes, by index minus the number of real instances.
    substituted: Vec<(&'a str, &'a Substitution)>,
    by_id: HashMap<&'a str, usize>,
    by_template: HashMap<&'a str, Vec<usize>>,
    rels: Vec<Rel<'a>>,
    outgoing: Vec<Vec<usize>>,
    incoming: HashMap<(usize, &'a str), Vec<usize>>,
    inputs: IndexMap<String, Value>,
}

impl<'a> Resolver<'a> {
    /// Resolves expressions of `inst` (indexing it when the first one must be computed).
    pub fn new(inst: &'a Instantiation) -> Self {
        Resolver {
            inst,
            index: OnceCell::new(),
        }
    }

    fn index(&self) -> &Index<'a> {
        self.index.get_or_init(|| Index::new(self.inst))
    }
}

impl<'a> Index<'a> {
    fn new(inst: &'a Instantiation) -> Self {
        let substituted: Vec<(&str, &Substitution)> = inst
            .substitutions
            .iter()
            .map(|(id, s)| (id.as_str(), s))
            .collect();
        let real = inst.nodes.len();
        let mut by_id: HashMap<&str, usize> = inst
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut by_template: HashMap<&str, Vec<usize>> = HashMap::new();
        for (k, (id, s)) in substituted.iter().enumerate() {
            by_id.insert(id, real + k);
            by_template
                .entry(s.template.as_str())
                .or_default()
                .push(real + k);
        }
        let mut rels = Vec::new();
        let mut outgoing = vec![Vec::new(); real + substituted.len()];
        let mut incoming: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
        for (i, n) in inst.nodes.iter().enumerate() {
            by_template.entry(n.template.as_str()).or_default().push(i);
            for (position, r) in n.relationships.iter().enumerate() {
                if let Some(&t) = by_id.get(r.target.as_str()) {
                    outgoing[i].push(rels.len());
                    incoming
                        .entry((t, r.capability.as_str()))
                        .or_default()
                        .push(rels.len());
                    rels.push(Rel {
                        source: i,
                        target: t,
                        capability: &r.capability,
                        requirement: &r.requirement,
                        position,
                    });
                }
            }
        }
        Index {
            inst,
            substituted,
            by_id,
            by_template,
            rels,
            outgoing,
            incoming,
            inputs: inst
                .inputs
                .iter()
                .map(|(k, v)| (k.clone(), Value::from_json(v)))
                .collect(),
        }
    }
}

impl Resolver<'_> {
    /// Evaluates `expr` with SELF = the instance `this`, reading runtime attributes through
    /// `attributes(instance, attribute)` (stored initial values are the fallback).
    pub fn resolve(
        &self,
        expr: &Expression,
        this: Option<&str>,
        attributes: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        let value = match expr {
            Expression::Resolved(v) => return Ok(v.clone()),
            Expression::Deferred(v) => v,
        };
        let index = self.index();
        let this = match this {
            Some(id) => Some(Entity::Node(index.instance(id)?)),
            None => None,
        };
        index.evaluate(value, this, attributes)
    }

    /// Evaluates `expr` written on a relationship (its properties, its interfaces' inputs)
    /// with SELF = the relationship at `position` in the `relationships` of the instance
    /// `source`.
    pub fn resolve_on_relationship(
        &self,
        expr: &Expression,
        source: &str,
        position: usize,
        attributes: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        let value = match expr {
            Expression::Resolved(v) => return Ok(v.clone()),
            Expression::Deferred(v) => v,
        };
        let index = self.index();
        let node = index.instance(source)?;
        let relationship = index.outgoing[node]
            .iter()
            .copied()
            .find(|r| index.rels[*r].position == position)
            .ok_or_else(|| format!("instance `{source}` has no relationship {position}"))?;
        index.evaluate(value, Some(Entity::Relationship(relationship)), attributes)
    }
}

impl<'a> Index<'a> {
    fn instance(&self, id: &str) -> Result<usize, String> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| format!("there is no instance `{id}`"))
    }

    /// Computes the deferred value `value` as seen from `this`.
    fn evaluate(
        &self,
        value: &serde_json::Value,
        this: Option<Entity>,
        attributes: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        let view = Stored {
            index: self,
            attributes,
            this,
        };
        eval::evaluate_now(&Value::from_json(value), &view).map(|v| v.to_json())
    }

    /// A real instance, or `None` for a substituted node.
    fn real(&self, n: usize) -> Option<&'a NodeInstance> {
        self.inst.nodes.get(n)
    }

    /// The substituted node with index `n`, with its instance id.
    fn substituted(&self, n: usize) -> Option<(&'a str, &'a Substitution)> {
        self.substituted
            .get(n.checked_sub(self.inst.nodes.len())?)
            .copied()
    }
}

/// The indexed instantiation seen from one entity.
struct Stored<'r, 'a> {
    index: &'r Index<'a>,
    attributes: &'r dyn Fn(&str, &str) -> Option<serde_json::Value>,
    this: Option<Entity>,
}

fn stored_value(e: &Expression) -> Value {
    match e {
        Expression::Resolved(v) | Expression::Deferred(v) => Value::from_json(v),
    }
}

impl Graph for Stored<'_, '_> {
    fn this(&self) -> Option<Entity> {
        self.this.clone()
    }
    fn nodes_named(&self, name: &str) -> Vec<usize> {
        self.index
            .by_template
            .get(name)
            .cloned()
            .unwrap_or_default()
    }
    fn relationship_named(&self, _: &str) -> Option<usize> {
        None
    }
    fn relationships(&self, node: usize, requirement: &str) -> Vec<usize> {
        self.index.outgoing[node]
            .iter()
            .copied()
            .filter(|r| self.index.rels[*r].requirement == requirement)
            .collect()
    }
    fn incoming(&self, node: usize, capability: &str) -> Vec<usize> {
        self.index
            .incoming
            .get(&(node, capability))
            .cloned()
            .unwrap_or_default()
    }
    fn source(&self, relationship: usize) -> Option<usize> {
        self.index.rels.get(relationship).map(|r| r.source)
    }
    fn target(&self, relationship: usize) -> Option<(usize, String)> {
        self.index
            .rels
            .get(relationship)
            .map(|r| (r.target, r.capability.to_string()))
    }
}

impl View for Stored<'_, '_> {
    fn inputs(&self) -> &IndexMap<String, Value> {
        &self.index.inputs
    }
    fn property(&self, entity: &Entity, name: &str) -> Option<Value> {
        let nodes = &self.index.inst.nodes;
        match entity {
            Entity::Node(n) => match self.index.real(*n) {
                Some(node) => node.properties.get(name).map(stored_value),
                None => self
                    .index
                    .substituted(*n)?
                    .1
                    .properties
                    .get(name)
                    .map(stored_value),
            },
            Entity::Capability(n, c) => self
                .index
                .real(*n)?
                .capabilities
                .get(c)?
                .properties
                .get(name)
                .map(stored_value),
            Entity::Relationship(r) => {
                let rel = self.index.rels.get(*r)?;
                nodes[rel.source].relationships[rel.position]
                    .properties
                    .get(name)
                    .map(stored_value)
            }
        }
    }
    fn attribute(&self, entity: &Entity, name: &str) -> Option<Value> {
        let nodes = &self.index.inst.nodes;
        match entity {
            Entity::Node(n) => match self.index.real(*n) {
                Some(node) => (self.attributes)(&node.id, name)
                    .map(|v| Value::from_json(&v))
                    .or_else(|| node.attributes.get(name).map(stored_value)),
                None => {
                    let (id, s) = self.index.substituted(*n)?;
                    (self.attributes)(id, name)
                        .map(|v| Value::from_json(&v))
                        .or_else(|| s.attributes.get(name).map(stored_value))
                }
            },
            Entity::Capability(n, c) => match self.index.real(*n) {
                Some(node) => node.capabilities.get(c)?.attributes.get(name),
                // What `[CAPABILITY, c, name]` attribute mappings gave it.
                None => self.index.substituted(*n)?.1.capabilities.get(c)?.get(name),
            }
            .map(stored_value),
            Entity::Relationship(r) => {
                let rel = self.index.rels.get(*r)?;
                nodes[rel.source].relationships[rel.position]
                    .attributes
                    .get(name)
                    .map(stored_value)
            }
        }
    }
    fn artifact(&self, node: usize, name: &str) -> Option<Value> {
        let artifact = self.index.real(node)?.artifacts.get(name)?;
        Some(Value::string(artifact.location.to_string()))
    }
    fn available(&self, node: usize, capability: &str, property: &str) -> Option<Value> {
        self.index
            .real(node)?
            .capabilities
            .get(capability)?
            .properties
            .get(property)
            .map(stored_value)
    }
    fn node_index(&self) -> Option<u32> {
        match &self.this {
            Some(Entity::Node(n)) | Some(Entity::Capability(n, _)) => {
                self.index.real(*n).map(|node| node.index)
            }
            Some(Entity::Relationship(r)) => self
                .index
                .rels
                .get(*r)
                .map(|r| self.index.inst.nodes[r.source].index),
            None => None,
        }
    }
    fn relationship_index(&self) -> Option<u32> {
        match &self.this {
            Some(Entity::Relationship(r)) => self
                .index
                .rels
                .get(*r)
                .map(|r| self.index.inst.nodes[r.source].relationships[r.position].index),
            _ => None,
        }
    }
    fn at(&self, this: Entity) -> Box<dyn View + '_> {
        Box::new(Stored {
            index: self.index,
            attributes: self.attributes,
            this: Some(this),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn no_attributes(_: &str, _: &str) -> Option<serde_json::Value> {
        None
    }

    /// Two instances; `b-0`'s `port` is deferred: it reads `a-0`'s `port` property.
    fn two_instances() -> Instantiation {
        let mut a = NodeInstance::bare("a", 0);
        a.properties
            .insert("port".into(), Expression::Resolved(json!(8080)));
        let mut b = NodeInstance::bare("b", 0);
        b.properties.insert(
            "port".into(),
            Expression::Deferred(json!({ "$get_property": ["a", "port"] })),
        );
        Instantiation {
            nodes: vec![a, b],
            ..Instantiation::default()
        }
    }

    #[test]
    fn only_a_value_that_must_be_computed_indexes_the_instantiation() {
        let inst = two_instances();
        let resolver = Resolver::new(&inst);
        let resolved = &inst.nodes[0].properties["port"];
        assert_eq!(
            resolver.resolve(resolved, Some("a-0"), &no_attributes),
            Ok(json!(8080))
        );
        assert!(
            resolver.index.get().is_none(),
            "a resolved value needs no index"
        );
        let deferred = &inst.nodes[1].properties["port"];
        assert_eq!(
            resolver.resolve(deferred, Some("b-0"), &no_attributes),
            Ok(json!(8080))
        );
        assert!(resolver.index.get().is_some());
        assert_eq!(
            resolver.resolve(deferred, Some("c-0"), &no_attributes),
            Err("there is no instance `c-0`".to_owned())
        );
    }
}
