//! Requirement definitions on node types: an ordered list whose names are unique. A
//! definition with the name of an inherited one refines it in place (capability type, node
//! type and relationship type may only be the same or derived; `count_range` must stay within
//! the inherited range); others are appended.
//!
//! The specification makes `relationship` mandatory and gives requirement definitions no short
//! form, yet the conformance suite (two dozen cases, several of them the spec's own snippets)
//! writes `name: CapabilityType` and omits `relationship`. We accept both: a definition
//! without a relationship type has `relationship: None`, and the templates stage decides what
//! relationship, if any, a fulfilment creates.

use std::collections::HashSet;

use super::builder::Builder;
use super::model::{CapabilityRef, CountRange, RelationshipRefinement, RequirementDef, TypeKind};
use super::property::{Role, text};
use crate::tosca::grammar::shape::join;
use crate::tosca::source::FileId;
use crate::tosca::value::{Value, ValueKind};

impl Builder<'_, '_> {
    /// Reads a node type's `requirements` on top of the inherited ones.
    pub fn read_requirements(
        &mut self,
        file: FileId,
        section: Option<&Value>,
        mut inherited: Vec<RequirementDef>,
        path: &str,
    ) -> Vec<RequirementDef> {
        let Some(items) = section.and_then(Value::as_list) else {
            return inherited;
        };
        let mut seen = HashSet::new();
        for item in items {
            let Some([(key, value)]) = item.as_map() else {
                continue;
            };
            let Some(name) = key.as_str().filter(|n| !n.is_empty()) else {
                continue;
            };
            let entry_path = join(path, name);
            if !seen.insert(name) {
                self.report(
                    "duplicate-name",
                    key.span,
                    &entry_path,
                    format!("the requirement `{name}` is defined twice in this list; requirement names are unique"),
                );
                continue;
            }
            let position = inherited.iter().position(|r| r.name == name);
            let parent = position.map(|i| inherited[i].clone());
            if let Some(def) =
                self.read_requirement(file, name, value, parent.as_ref(), &entry_path)
            {
                match position {
                    Some(i) => inherited[i] = def,
                    None => inherited.push(def),
                }
            }
        }
        inherited
    }

    fn read_requirement(
        &mut self,
        file: FileId,
        name: &str,
        value: &Value,
        parent: Option<&RequirementDef>,
        path: &str,
    ) -> Option<RequirementDef> {
        let map = value.as_map().map(|_| value);
        let capability_value = match map {
            Some(m) => m.get("capability"),
            None => Some(value),
        };
        let node = match map.and_then(|m| m.get("node")) {
            Some(n) => {
                let id = self.resolve(file, TypeKind::Node, n, &join(path, "node"));
                if let (Some(id), Some(Some(parent_node))) = (id, parent.map(|p| p.node))
                    && !self.reg.derives_from(id, parent_node)
                {
                    self.report(
                        "invalid-refinement",
                        n.span,
                        &join(path, "node"),
                        format!("a refinement may only keep the node type `{}` or use one derived from it", self.reg.header(parent_node).name),
                    );
                }
                id
            }
            None => parent.and_then(|p| p.node),
        };
        let capability = match capability_value {
            Some(c) => {
                let c_path = join(path, "capability");
                let Some(text) = c.as_str() else {
                    self.report(
                        "wrong-shape",
                        c.span,
                        &c_path,
                        "expected the name of a capability type or of a capability",
                    );
                    return None;
                };
                match self.reg.lookup(file, TypeKind::Capability, text) {
                    Some(id) => {
                        if let Some(CapabilityRef::Type(parent_type)) =
                            parent.map(|p| &p.capability)
                            && !self.reg.derives_from(id, *parent_type)
                        {
                            self.report(
                                "invalid-refinement",
                                c.span,
                                &c_path,
                                format!("a refinement may only keep the capability type `{}` or use one derived from it", self.reg.header(*parent_type).name),
                            );
                        }
                        CapabilityRef::Type(id)
                    }
                    None if node.is_some() => CapabilityRef::Name(text.to_string()),
                    None => {
                        self.resolve_str(file, TypeKind::Capability, text, c.span, &c_path);
                        return None;
                    }
                }
            }
            None => {
                match parent {
                    Some(p) => p.capability.clone(),
                    None => {
                        self.report(
                        "missing-keyname",
                        value.span,
                        path,
                        format!("the requirement definition `{name}` must have the keyname `capability`"),
                    );
                        return None;
                    }
                }
            }
        };
        let relationship = match map.and_then(|m| m.get("relationship")) {
            Some(r) => self.read_requirement_relationship(
                file,
                r,
                parent.and_then(|p| p.relationship.as_ref()),
                &join(path, "relationship"),
            ),
            None => parent.and_then(|p| p.relationship.clone()),
        };
        let count_range = match map.and_then(|m| m.get("count_range")) {
            Some(r) => match read_range(r) {
                Some(range) => {
                    if let Some(p) = parent
                        && !within(range, p.count_range)
                    {
                        self.report(
                            "invalid-refinement",
                            r.span,
                            &join(path, "count_range"),
                            format!(
                                "a refined count_range must lie within the inherited one, {}",
                                show(p.count_range)
                            ),
                        );
                    }
                    range
                }
                None => parent.map(|p| p.count_range).unwrap_or_default(),
            },
            None => parent.map(|p| p.count_range).unwrap_or_default(),
        };
        Some(RequirementDef {
            name: name.to_string(),
            span: value.span,
            description: map
                .and_then(|m| text(m, "description"))
                .or_else(|| parent.and_then(|p| p.description.clone())),
            capability,
            node,
            relationship,
            node_filter: and_filters(
                parent.and_then(|p| p.node_filter.clone()),
                map.and_then(|m| m.get("node_filter")).cloned(),
            ),
            count_range,
        })
    }

    fn read_requirement_relationship(
        &mut self,
        file: FileId,
        value: &Value,
        parent: Option<&RelationshipRefinement>,
        path: &str,
    ) -> Option<RelationshipRefinement> {
        let (type_value, map) = match value.as_map() {
            Some(_) => (value.get("type"), Some(value)),
            None => (Some(value), None),
        };
        let relationship_type = match type_value {
            Some(t) => {
                let id = self.resolve(file, TypeKind::Relationship, t, &join(path, "type"))?;
                if let Some(parent) = parent
                    && !self.reg.derives_from(id, parent.relationship_type)
                {
                    self.report(
                        "invalid-refinement",
                        t.span,
                        &join(path, "type"),
                        format!("a refinement may only keep the relationship type `{}` or use one derived from it", self.reg.header(parent.relationship_type).name),
                    );
                }
                id
            }
            None => {
                match parent {
                    Some(p) => p.relationship_type,
                    None => {
                        self.report("missing-keyname", value.span, path, "the relationship of a requirement definition must have the keyname `type`");
                        return None;
                    }
                }
            }
        };
        let declared = self.reg.relationship_type(relationship_type).clone();
        let mut def = match parent {
            Some(p) if p.relationship_type == relationship_type => p.clone(),
            _ => RelationshipRefinement {
                relationship_type,
                properties: declared.properties.clone(),
                attributes: declared.attributes.clone(),
                interfaces: declared.interfaces.clone(),
            },
        };
        let Some(map) = map else {
            return Some(def);
        };
        def.properties = self.read_properties(
            file,
            map.get("properties"),
            def.properties,
            Role::Property,
            &join(path, "properties"),
            false,
        );
        def.attributes = self.read_properties(
            file,
            map.get("attributes"),
            def.attributes,
            Role::Attribute,
            &join(path, "attributes"),
            false,
        );
        def.interfaces = self.read_interfaces(
            file,
            map.get("interfaces"),
            def.interfaces,
            &join(path, "interfaces"),
        );
        Some(def)
    }
}

/// A refined node filter holds in addition to the inherited one: `{ $and: [inherited, new] }`.
fn and_filters(inherited: Option<Value>, new: Option<Value>) -> Option<Value> {
    match (inherited, new) {
        (Some(old), Some(new)) => {
            let span = new.span;
            let clauses = Value::at(ValueKind::List(vec![old, new]), span);
            Some(Value::at(
                ValueKind::Map(vec![(
                    Value::at(ValueKind::String("$and".into()), span),
                    clauses,
                )]),
                span,
            ))
        }
        (old, new) => new.or(old),
    }
}

/// Checks that a requirement's `node` type offers what its `capability` asks for: a
/// capability of that name, or one of that type (or derived). Run once every node type is
/// complete; only requirements a type defines or refines itself are checked.
pub fn check_targets(b: &mut Builder<'_, '_>) {
    let mut found = Vec::new();
    for node_type in &b.reg.node {
        let parent = node_type
            .header
            .parent
            .map(|p| &b.reg.node[p.index as usize]);
        for requirement in &node_type.requirements {
            let inherited = parent.is_some_and(|p| {
                p.requirements
                    .iter()
                    .any(|r| r.name == requirement.name && r.span == requirement.span)
            });
            let Some(target) = requirement.node.filter(|_| !inherited) else {
                continue;
            };
            let target_type = &b.reg.node[target.index as usize];
            let offered = match &requirement.capability {
                CapabilityRef::Name(name) => target_type.capabilities.contains_key(name),
                CapabilityRef::Type(wanted) => target_type
                    .capabilities
                    .values()
                    .any(|c| b.reg.derives_from(c.capability_type, *wanted)),
            };
            if !offered {
                let what = match &requirement.capability {
                    CapabilityRef::Name(name) => format!("a capability named `{name}`"),
                    CapabilityRef::Type(t) => {
                        format!("a capability of type `{}`", b.reg.header(*t).name)
                    }
                };
                found.push((
                    requirement.span,
                    format!(
                        "node_types.{}.requirements.{}",
                        node_type.header.name, requirement.name
                    ),
                    format!(
                        "the node type `{}` has no {what}, so it cannot fulfil this requirement",
                        target_type.header.name
                    ),
                ));
            }
        }
    }
    for (span, path, message) in found {
        b.report("invalid-requirement", span, &path, message);
    }
}

/// A `count_range` as written (the grammar has checked its shape).
pub fn read_range(value: &Value) -> Option<CountRange> {
    let [min, max] = value.as_list()? else {
        return None;
    };
    let min = match min.kind {
        ValueKind::Integer(i) if i >= 0 => i as u64,
        _ => return None,
    };
    let max = match &max.kind {
        ValueKind::Integer(i) if *i >= 0 => Some(*i as u64),
        ValueKind::String(s) if s == "UNBOUNDED" => None,
        _ => return None,
    };
    Some(CountRange { min, max })
}

fn within(inner: CountRange, outer: CountRange) -> bool {
    inner.min >= outer.min
        && match (inner.max, outer.max) {
            (_, None) => true,
            (Some(i), Some(o)) => i <= o,
            (None, Some(_)) => false,
        }
}

fn show(range: CountRange) -> String {
    match range.max {
        Some(max) => format!("[{}, {max}]", range.min),
        None => format!("[{}, UNBOUNDED]", range.min),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const TYPES: &str = "capability_types:\n  Host: {}\n  BigHost: {derived_from: Host}\nrelationship_types:\n  HostedOn: {}\nnode_types:\n  Compute:\n    capabilities:\n      host: Host\n";

    #[test]
    fn requirements_keep_their_order_and_refine_in_place() {
        let registry = assert_valid(&format!(
            "{TYPES}  A:\n    requirements:\n      - host: {{capability: Host, relationship: HostedOn, count_range: [0, 3]}}\n      - other: Host\n  B:\n    derived_from: A\n    requirements:\n      - extra: Host\n      - host: {{capability: BigHost, count_range: [1, 2]}}\n"
        ));
        let b = registry.node_type(id(&registry, TypeKind::Node, "B"));
        let names: Vec<&str> = b.requirements.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["host", "other", "extra"]);
        assert_eq!(
            b.requirements[0].count_range,
            CountRange {
                min: 1,
                max: Some(2)
            }
        );
        assert!(b.requirements[0].relationship.is_some());
        assert_eq!(b.requirements[1].count_range, CountRange::default());
    }

    #[test]
    fn refinement_rules() {
        let base = format!(
            "{TYPES}  A:\n    requirements:\n      - host: {{capability: BigHost, count_range: [1, 2]}}\n  B:\n    derived_from: A\n    requirements:\n"
        );
        assert_problem(
            &format!("{base}      - host: {{capability: Host}}\n"),
            "invalid-refinement",
        );
        assert_problem(
            &format!("{base}      - host: {{count_range: [0, 5]}}\n"),
            "invalid-refinement",
        );
    }

    #[test]
    fn names_are_unique_and_capabilities_known() {
        assert_problem(
            &format!("{TYPES}  A:\n    requirements:\n      - r: Host\n      - r: Host\n"),
            "duplicate-name",
        );
        assert_problem(
            &format!("{TYPES}  A:\n    requirements:\n      - r: Nope\n"),
            "unknown-type",
        );
        let registry = assert_valid(&format!(
            "{TYPES}  A:\n    requirements:\n      - r: {{capability: host, node: Compute}}\n"
        ));
        let a = registry.node_type(id(&registry, TypeKind::Node, "A"));
        assert_eq!(
            a.requirements[0].capability,
            CapabilityRef::Name("host".into())
        );
    }

    #[test]
    fn the_node_type_must_offer_the_capability() {
        assert_problem(
            &format!(
                "{TYPES}  A:\n    requirements:\n      - r: {{capability: nope, node: Compute}}\n"
            ),
            "invalid-requirement",
        );
        assert_problem(
            &format!(
                "{TYPES}  Empty: {{}}\n  A:\n    requirements:\n      - r: {{capability: Host, node: Empty}}\n"
            ),
            "invalid-requirement",
        );
        assert_valid(&format!(
            "{TYPES}  A:\n    requirements:\n      - r: {{capability: Host, node: Compute}}\n"
        ));
    }

    #[test]
    fn refined_node_filters_are_anded() {
        let registry = assert_valid(&format!(
            "{TYPES}  A:\n    requirements:\n      - r: {{capability: Host, node_filter: {{$equal: [1, 1]}}}}\n  B:\n    derived_from: A\n    requirements:\n      - r: {{node_filter: {{$equal: [2, 2]}}}}\n"
        ));
        let b = registry.node_type(id(&registry, TypeKind::Node, "B"));
        let filter = b.requirements[0].node_filter.as_ref().unwrap();
        assert_eq!(
            filter.get("$and").and_then(Value::as_list).map(<[_]>::len),
            Some(2)
        );
    }

    #[test]
    fn count_ranges_are_integers() {
        assert_problem(
            &format!(
                "{TYPES}  A:\n    requirements:\n      - r: {{capability: Host, count_range: [1.0, 2.5]}}\n"
            ),
            "invalid-range",
        );
    }
}
