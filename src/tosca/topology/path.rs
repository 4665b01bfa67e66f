//! TOSCA paths: how `$get_property`, `$get_attribute`, `$get_artifact` and
//! `$available_allocation` find the entity whose value they read.
//!
//! ```text
//! path     = (SELF | <node_template> [idx]) ctx
//! node ctx = RELATIONSHIP <requirement> [idx] rel ctx | CAPABILITY <capability> cap ctx | ε
//! rel ctx  = SOURCE node ctx | TARGET node ctx | CAPABILITY cap ctx | ε
//! cap ctx  = RELATIONSHIP [idx] rel ctx | ε          (incoming relationships)
//! idx      = <integer> | ALL | ε (0)
//! ```
//!
//! The same walker serves node templates (compile) and node instances (instantiation and the
//! runtime): each implements [`Graph`] over its own indexes.

use crate::tosca::value::{Value, ValueKind};

/// Something a path can stand on.
#[derive(Clone, Debug, PartialEq)]
pub enum Entity {
    /// A node (template or instance), by index.
    Node(usize),
    /// A relationship, by index.
    Relationship(usize),
    /// A capability of a node, by name.
    Capability(usize, String),
}

/// The graph a path walks.
pub trait Graph {
    /// What `SELF` is where the expression is written.
    fn this(&self) -> Option<Entity>;
    /// The nodes a template name designates (its instances, or the template itself).
    fn nodes_named(&self, name: &str) -> Vec<usize>;
    /// A relationship template by name, when a path starts at one.
    fn relationship_named(&self, name: &str) -> Option<usize>;
    /// The outgoing relationships of a node for one requirement, in order.
    fn relationships(&self, node: usize, requirement: &str) -> Vec<usize>;
    /// The relationships that target a node's capability.
    fn incoming(&self, node: usize, capability: &str) -> Vec<usize>;
    /// A relationship's source node.
    fn source(&self, relationship: usize) -> Option<usize>;
    /// A relationship's target node and capability.
    fn target(&self, relationship: usize) -> Option<(usize, String)>;
}

/// Where a walk ended, and the arguments after the path (the value's name and nested keys).
#[derive(Debug)]
pub struct Walked<'v> {
    /// Every entity the path designates (several with `ALL`).
    pub entities: Vec<Entity>,
    /// Whether an `ALL` was used, so the result is a list.
    pub all: bool,
    /// The remaining arguments: a name, then nested keys or indexes.
    pub rest: &'v [Value],
}

enum Idx {
    One(usize),
    All,
}

/// Reads an optional index at `args[*at]`.
fn index(args: &[Value], at: &mut usize) -> Option<Idx> {
    match args.get(*at).map(|v| &v.kind) {
        Some(ValueKind::Integer(i)) if *i >= 0 => {
            *at += 1;
            Some(Idx::One(*i as usize))
        }
        Some(ValueKind::String(s)) if s == "ALL" => {
            *at += 1;
            Some(Idx::All)
        }
        _ => None,
    }
}

fn pick(list: Vec<usize>, idx: Option<Idx>, all: &mut bool) -> Result<Vec<usize>, String> {
    match idx {
        Some(Idx::All) => {
            *all = true;
            Ok(list)
        }
        Some(Idx::One(i)) => list
            .get(i)
            .map(|x| vec![*x])
            .ok_or_else(|| format!("index {i} is out of range (there are {})", list.len())),
        None => list
            .first()
            .map(|x| vec![*x])
            .ok_or_else(|| "nothing is there".to_string()),
    }
}

fn word(args: &[Value], at: usize) -> Option<&str> {
    args.get(at).and_then(Value::as_str)
}

/// Walks the path at the start of `args` (already evaluated).
pub fn walk<'v>(graph: &dyn Graph, args: &'v [Value]) -> Result<Walked<'v>, String> {
    let mut at = 1;
    let mut all = false;
    let first = word(args, 0).ok_or("a TOSCA path starts with SELF or a template name")?;
    let mut current: Vec<Entity> = if first == "SELF" {
        vec![graph.this().ok_or("SELF has no meaning here")?]
    } else if let Some(r) = graph.relationship_named(first) {
        vec![Entity::Relationship(r)]
    } else {
        let nodes = graph.nodes_named(first);
        if nodes.is_empty() {
            return Err(format!("`{first}` is not a node or relationship template"));
        }
        let idx = index(args, &mut at);
        pick(nodes, idx, &mut all)?
            .into_iter()
            .map(Entity::Node)
            .collect()
    };
    while let Some(step) = word(args, at) {
        // Only keywords that fit the current entity are steps; anything else is the name.
        let mut next = Vec::new();
        match step {
            "RELATIONSHIP" => {
                let mut advanced = false;
                for e in &current {
                    match e {
                        Entity::Node(n) => {
                            let req = word(args, at + 1)
                                .ok_or("RELATIONSHIP needs a requirement name")?;
                            let mut a = at + 2;
                            let idx = index(args, &mut a);
                            let rels = graph.relationships(*n, req);
                            if rels.is_empty() {
                                return Err(format!("requirement `{req}` has no relationship"));
                            }
                            next.extend(
                                pick(rels, idx, &mut all)?
                                    .into_iter()
                                    .map(Entity::Relationship),
                            );
                            advanced = true;
                            at = a;
                        }
                        Entity::Capability(n, c) => {
                            let mut a = at + 1;
                            let idx = index(args, &mut a);
                            let rels = graph.incoming(*n, c);
                            next.extend(
                                pick(rels, idx, &mut all)?
                                    .into_iter()
                                    .map(Entity::Relationship),
                            );
                            advanced = true;
                            at = a;
                        }
                        Entity::Relationship(_) => {}
                    }
                }
                if !advanced {
                    break;
                }
            }
            "CAPABILITY" => {
                let mut advanced = false;
                let mut consumed = at + 1;
                for e in &current {
                    match e {
                        Entity::Node(n) => {
                            let cap =
                                word(args, at + 1).ok_or("CAPABILITY needs a capability name")?;
                            next.push(Entity::Capability(*n, cap.to_string()));
                            consumed = at + 2;
                            advanced = true;
                        }
                        Entity::Relationship(r) => {
                            let (n, c) = graph
                                .target(*r)
                                .ok_or("the relationship has no target yet")?;
                            next.push(Entity::Capability(n, c));
                            advanced = true;
                        }
                        Entity::Capability(..) => {}
                    }
                }
                if !advanced {
                    break;
                }
                at = consumed;
            }
            "SOURCE" | "TARGET" => {
                let mut advanced = false;
                for e in &current {
                    if let Entity::Relationship(r) = e {
                        let n = if step == "SOURCE" {
                            graph.source(*r)
                        } else {
                            graph.target(*r).map(|(n, _)| n)
                        };
                        next.push(Entity::Node(
                            n.ok_or("the relationship has no such end yet")?,
                        ));
                        advanced = true;
                    }
                }
                if !advanced {
                    break;
                }
                at += 1;
            }
            _ => break,
        }
        current = next;
    }
    Ok(Walked {
        entities: current,
        all,
        rest: &args[at.min(args.len())..],
    })
}

/// Follows nested keys and indexes into a value.
pub fn nested(value: &Value, keys: &[Value]) -> Result<Value, String> {
    let mut v = value;
    for key in keys {
        v = match (&v.kind, &key.kind) {
            (ValueKind::List(l), ValueKind::Integer(i)) => l
                .get(usize::try_from(*i).map_err(|_| format!("index {i} is negative"))?)
                .ok_or_else(|| format!("index {i} is out of range"))?,
            (ValueKind::Map(m), _) => m
                .iter()
                .find(|(k, _)| k.kind == key.kind)
                .map(|(_, v)| v)
                .ok_or_else(|| format!("there is no key {key}"))?,
            _ => return Err(format!("cannot look up {key} in a {}", v.kind_name())),
        };
    }
    Ok(v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two nodes: 0 requires 1's `host` capability through relationship 0.
    struct Two;

    impl Graph for Two {
        fn this(&self) -> Option<Entity> {
            Some(Entity::Node(0))
        }
        fn nodes_named(&self, name: &str) -> Vec<usize> {
            match name {
                "app" => vec![0],
                "server" => vec![1],
                _ => vec![],
            }
        }
        fn relationship_named(&self, _: &str) -> Option<usize> {
            None
        }
        fn relationships(&self, node: usize, req: &str) -> Vec<usize> {
            if node == 0 && req == "host" {
                vec![0]
            } else {
                vec![]
            }
        }
        fn incoming(&self, node: usize, cap: &str) -> Vec<usize> {
            if node == 1 && cap == "host" {
                vec![0]
            } else {
                vec![]
            }
        }
        fn source(&self, _: usize) -> Option<usize> {
            Some(0)
        }
        fn target(&self, _: usize) -> Option<(usize, String)> {
            Some((1, "host".into()))
        }
    }

    fn args(words: &[&str]) -> Vec<Value> {
        words
            .iter()
            .map(|w| match w.parse::<i64>() {
                Ok(i) => Value::new(ValueKind::Integer(i)),
                Err(_) => Value::string(*w),
            })
            .collect()
    }

    #[test]
    fn walks_relationship_to_target_capability() {
        let a = args(&["SELF", "RELATIONSHIP", "host", "0", "CAPABILITY", "port"]);
        let w = walk(&Two, &a).unwrap();
        assert_eq!(w.entities, vec![Entity::Capability(1, "host".into())]);
        assert_eq!(w.rest[0].as_str(), Some("port"));
    }

    #[test]
    fn walks_back_from_capability_to_source() {
        let a = args(&[
            "server",
            "CAPABILITY",
            "host",
            "RELATIONSHIP",
            "SOURCE",
            "name",
        ]);
        let w = walk(&Two, &a).unwrap();
        assert_eq!(w.entities, vec![Entity::Node(0)]);
        assert_eq!(w.rest.len(), 1);
    }

    #[test]
    fn unknown_template_is_an_error() {
        assert!(walk(&Two, &args(&["nobody", "x"])).is_err());
    }

    #[test]
    fn nested_keys_follow_maps_and_lists() {
        let v = Value::from_json(&serde_json::json!({"a": [1, {"b": 7}]}));
        let got = nested(
            &v,
            &[
                Value::string("a"),
                Value::new(ValueKind::Integer(1)),
                Value::string("b"),
            ],
        )
        .unwrap();
        assert_eq!(got.as_i64(), Some(7));
    }
}
