//! `substitution_mappings` (chapter 15): what a substituting service template says about the
//! node it stands in for, read into typed mappings once so the check and the substitution
//! itself never reinterpret YAML.
//!
//! - Property and attribute mappings name a value of the substituted node (its own, one of a
//!   capability's as `[CAPABILITY, cap, name]`, or one of the relationships a requirement made
//!   as `[RELATIONSHIP, req, idx, name]`, `idx` a number or `ALL`, 0 when left out) and the
//!   template's input (properties) or output (attributes) it flows to or from.
//! - Requirement mappings are a list: each entry maps `requirement` (or `[requirement, count]`,
//!   count a number or `UNBOUNDED`) to `[node_template, requirement]`, to a selectable node
//!   template's name, or to a list of those (the same requirement mapped several times).
//!   [`RequirementMapping::for_assignment`] says which entry maps the k-th assignment.
//! - Interface mappings name, per operation of the substituted node, the workflow of the
//!   substituting template that carries it out.

use indexmap::IndexMap;

use super::parse;
use super::read::{self, child};
use crate::tosca::problem::Problems;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// `substitution_mappings`.
#[derive(Clone, Debug)]
pub struct SubstitutionMappings {
    /// Where it is defined.
    pub span: Span,
    /// `node_type`.
    pub node_type: Option<(String, Span)>,
    /// `substitution_filter`.
    pub substitution_filter: Option<Value>,
    /// `properties`: a value of the substituted node → an input.
    pub properties: Vec<ValueMapping>,
    /// `attributes`: an output → a value of the substituted node.
    pub attributes: Vec<ValueMapping>,
    /// `capabilities`: capability → `[node_template, capability]`.
    pub capabilities: IndexMap<String, Value>,
    /// `requirements`, in order.
    pub requirements: Vec<RequirementMapping>,
    /// `interfaces`: one entry per mapped operation.
    pub interfaces: Vec<InterfaceMapping>,
}

/// One property or attribute mapping.
#[derive(Clone, Debug)]
pub struct ValueMapping {
    /// The substituted node's side.
    pub at: NodeValue,
    /// The substituting template's input (properties) or output (attributes).
    pub parameter: String,
    /// Where the substituted node's side is written (the key).
    pub key_span: Span,
    /// Where the parameter's name is written.
    pub span: Span,
}

/// A value of the substituted node, as a mapping's key names it.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// Its own property or attribute.
    Own(String),
    /// A property or attribute of one of its capabilities.
    Capability {
        /// The capability's name.
        capability: String,
        /// The property's or attribute's name.
        name: String,
    },
    /// A property or attribute of the relationships one of its requirements made.
    Relationship {
        /// The requirement's name.
        requirement: String,
        /// Which of them.
        index: RelationshipIndex,
        /// The property's or attribute's name.
        name: String,
    },
}

impl NodeValue {
    /// How a message names it: `port`, `[CAPABILITY, host, port]`…
    pub fn describe(&self) -> String {
        match self {
            NodeValue::Own(name) => name.clone(),
            NodeValue::Capability { capability, name } => {
                format!("[CAPABILITY, {capability}, {name}]")
            }
            NodeValue::Relationship {
                requirement,
                index,
                name,
            } => format!("[RELATIONSHIP, {requirement}, {index}, {name}]"),
        }
    }
}

/// Which of a requirement's relationships a mapping means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RelationshipIndex {
    /// The one with this `$relationship_index`.
    At(u32),
    /// All of them, as a list.
    All,
}

impl std::fmt::Display for RelationshipIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelationshipIndex::At(i) => write!(f, "{i}"),
            RelationshipIndex::All => f.write_str("ALL"),
        }
    }
}

/// One entry of substitution `requirements`.
#[derive(Clone, Debug)]
pub struct RequirementMapping {
    /// The substituted node's requirement.
    pub requirement: String,
    /// How many of its assignments this entry maps.
    pub count: MappedCount,
    /// Where the outer relationship goes inside the substituting template.
    pub targets: Vec<MappingTarget>,
    /// Where the entry is written.
    pub span: Span,
}

/// The count of a `[requirement, count]` mapping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MappedCount {
    /// No count: one assignment, or every assignment when it is the requirement's only entry.
    Unstated,
    /// This many assignments.
    Exactly(u64),
    /// Every assignment left.
    Unbounded,
}

/// Where a mapped requirement's relationship goes.
#[derive(Clone, Debug, PartialEq)]
pub enum MappingTarget {
    /// It becomes this requirement of this node template.
    Requirement {
        /// The inner node template.
        node: String,
        /// Its requirement.
        requirement: String,
    },
    /// Its target stands in for this selectable node template.
    Selectable(String),
}

impl MappingTarget {
    /// The inner node template it names.
    pub fn node(&self) -> &str {
        match self {
            MappingTarget::Requirement { node, .. } | MappingTarget::Selectable(node) => node,
        }
    }
}

/// One interface operation of the substituted node and the workflow that carries it out.
#[derive(Clone, Debug)]
pub struct InterfaceMapping {
    /// The interface's name.
    pub interface: String,
    /// The operation's name.
    pub operation: String,
    /// The substituting template's workflow.
    pub workflow: String,
    /// Where the workflow's name is written.
    pub span: Span,
}

impl RequirementMapping {
    /// The entry of `mappings` that maps the `k`-th assignment (from 0) of `requirement`, as
    /// chapter 15.5 counts them: a lone entry without a count maps every assignment; otherwise
    /// an entry without a count maps one, `[name, n]` maps n and `[name, UNBOUNDED]` the rest.
    pub fn for_assignment<'a>(
        mappings: &'a [RequirementMapping],
        requirement: &str,
        k: usize,
    ) -> Option<&'a RequirementMapping> {
        let mine: Vec<&RequirementMapping> = mappings
            .iter()
            .filter(|m| m.requirement == requirement)
            .collect();
        if let [only] = mine.as_slice()
            && only.count == MappedCount::Unstated
        {
            return Some(only);
        }
        let mut first = 0u64;
        for m in mine {
            let covers = match m.count {
                MappedCount::Unstated => 1,
                MappedCount::Exactly(n) => n,
                MappedCount::Unbounded => return Some(m),
            };
            if (k as u64) < first + covers {
                return Some(m);
            }
            first += covers;
        }
        None
    }
}

/// Reads `substitution_mappings`.
pub fn read(value: &Value, path: &str, problems: &mut Problems) -> Option<SubstitutionMappings> {
    let entries = read::map(value, path, "substitution_mappings", problems)?;
    read::require(value, "node_type", path, "substitution_mappings", problems);
    let mut s = SubstitutionMappings {
        span: value.span,
        node_type: None,
        substitution_filter: None,
        properties: Vec::new(),
        attributes: Vec::new(),
        capabilities: IndexMap::new(),
        requirements: Vec::new(),
        interfaces: Vec::new(),
    };
    let keys = [
        "node_type",
        "substitution_filter",
        "properties",
        "attributes",
        "capabilities",
        "requirements",
        "interfaces",
    ];
    for (key, _, v) in read::keyed(entries, &keys, path, "substitution_mappings", problems) {
        let p = child(path, key);
        match key {
            "node_type" => s.node_type = parse::type_name(v, &p, problems),
            "substitution_filter" => s.substitution_filter = Some(v.clone()),
            "properties" => s.properties = value_mappings(v, &p, Parameter::Input, problems),
            "attributes" => s.attributes = value_mappings(v, &p, Parameter::Output, problems),
            "capabilities" => {
                s.capabilities = parse::assignments(v.clone(), &p, "capabilities", problems)
            }
            "requirements" => s.requirements = requirement_mappings(v, &p, problems),
            "interfaces" => s.interfaces = interface_mappings(v, &p, problems),
            _ => {}
        }
    }
    Some(s)
}

/// Which parameters of the substituting template a value mapping names.
#[derive(Clone, Copy)]
enum Parameter {
    Input,
    Output,
}

fn value_mappings(
    value: &Value,
    path: &str,
    parameter: Parameter,
    problems: &mut Problems,
) -> Vec<ValueMapping> {
    let Some(entries) = read::map(value, path, "a map of mappings", problems) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    for (key, target) in entries {
        let Some(at) = node_value(key, path, problems) else {
            continue;
        };
        let p = child(path, &at.describe());
        let name = match &target.kind {
            ValueKind::String(name) => Some(name.clone()),
            // `[name]`, as TOSCA 1.3 wrote it.
            ValueKind::List(l) if l.len() == 1 => l[0].as_str().map(str::to_string),
            _ => None,
        };
        let Some(parameter_name) = name else {
            let shape = match parameter {
                Parameter::Input => "a property mapping must name an input",
                Parameter::Output => "an attribute mapping must name an output",
            };
            problems.report("wrong-kind", target.span, p, shape);
            continue;
        };
        out.push(ValueMapping {
            at,
            parameter: parameter_name,
            key_span: key.span,
            span: target.span,
        });
    }
    out
}

/// A mapping's key: a name, `[CAPABILITY, cap, name]` or `[RELATIONSHIP, req, idx?, name]`.
fn node_value(key: &Value, path: &str, problems: &mut Problems) -> Option<NodeValue> {
    if let Some(name) = key.as_str() {
        return Some(NodeValue::Own(name.to_string()));
    }
    // Each element as text, so the index may be written as a number or as ALL.
    let words: Vec<String> = key
        .as_list()
        .unwrap_or_default()
        .iter()
        .map_while(|v| {
            v.as_str()
                .map(str::to_string)
                .or(v.as_i64().map(|i| i.to_string()))
        })
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let relationship = |requirement: &str, index, name: &str| NodeValue::Relationship {
        requirement: requirement.to_string(),
        index,
        name: name.to_string(),
    };
    let found = match words.as_slice() {
        _ if words.len() != key.as_list().map_or(0, <[Value]>::len) => None,
        ["CAPABILITY", capability, name] => Some(NodeValue::Capability {
            capability: capability.to_string(),
            name: name.to_string(),
        }),
        ["RELATIONSHIP", requirement, name] => {
            Some(relationship(requirement, RelationshipIndex::At(0), name))
        }
        ["RELATIONSHIP", requirement, "ALL", name] => {
            Some(relationship(requirement, RelationshipIndex::All, name))
        }
        ["RELATIONSHIP", requirement, index, name] => index
            .parse()
            .ok()
            .map(|i| relationship(requirement, RelationshipIndex::At(i), name)),
        _ => None,
    };
    if found.is_none() {
        problems.report(
            "wrong-kind",
            key.span,
            path,
            "a mapping is keyed by a name, [CAPABILITY, capability, name] or [RELATIONSHIP, requirement, index, name] (index a number or ALL)",
        );
    }
    found
}

/// Substitution `requirements`: a list of single-key maps, each keyed by a requirement name or
/// `[name, count]`.
fn requirement_mappings(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Vec<RequirementMapping> {
    let Some(entries) = read::list(value, path, "requirements", problems) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut unbounded: Vec<String> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Some([(key, mapping)]) = entry.as_map() else {
            problems.report(
                "wrong-kind",
                entry.span,
                &p,
                "each requirement mapping must be a map with a single key",
            );
            continue;
        };
        let Some((requirement, count)) = requirement_key(key) else {
            problems.report(
                "wrong-kind",
                key.span,
                &p,
                "a requirement mapping is named by a requirement name or [name, count] (count a number or UNBOUNDED)",
            );
            continue;
        };
        let p = child(&p, &requirement);
        if unbounded.contains(&requirement) {
            problems.report(
                "wrong-kind",
                key.span,
                &p,
                format!(
                    "an earlier [{requirement}, UNBOUNDED] already maps every assignment of `{requirement}`, so no mapping of it may follow"
                ),
            );
        }
        if count == MappedCount::Unbounded {
            unbounded.push(requirement.clone());
        }
        let Some(targets) = mapping_targets(mapping, &p, problems) else {
            continue;
        };
        out.push(RequirementMapping {
            requirement,
            count,
            targets,
            span: mapping.span,
        });
    }
    out
}

fn requirement_key(key: &Value) -> Option<(String, MappedCount)> {
    match &key.kind {
        ValueKind::String(name) => Some((name.clone(), MappedCount::Unstated)),
        ValueKind::List(l) => match l.as_slice() {
            [name, count] => {
                let count = match (count.as_i64(), count.as_str()) {
                    (Some(n), _) if n >= 0 => MappedCount::Exactly(n as u64),
                    (_, Some("UNBOUNDED")) => MappedCount::Unbounded,
                    _ => return None,
                };
                Some((name.as_str()?.to_string(), count))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `[node, requirement]`, `selectable_node`, or a list of those.
fn mapping_targets(
    mapping: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<Vec<MappingTarget>> {
    if let Some(one) = mapping_target(mapping) {
        return Some(vec![one]);
    }
    let shape = "a requirement mapping must be [node_template, requirement], a selectable node template, or a list of those";
    let Some(list) = mapping.as_list().filter(|l| !l.is_empty()) else {
        problems.report("wrong-kind", mapping.span, path, shape);
        return None;
    };
    let mut targets = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        match mapping_target(item) {
            Some(target) => targets.push(target),
            None => {
                problems.report("wrong-kind", item.span, format!("{path}[{i}]"), shape);
                return None;
            }
        }
    }
    Some(targets)
}

fn mapping_target(value: &Value) -> Option<MappingTarget> {
    match &value.kind {
        ValueKind::String(node) => Some(MappingTarget::Selectable(node.clone())),
        ValueKind::List(l) => match l.as_slice() {
            [node, requirement] => Some(MappingTarget::Requirement {
                node: node.as_str()?.to_string(),
                requirement: requirement.as_str()?.to_string(),
            }),
            _ => None,
        },
        _ => None,
    }
}

/// `interfaces: {interface: {operation: workflow}}`.
fn interface_mappings(value: &Value, path: &str, problems: &mut Problems) -> Vec<InterfaceMapping> {
    let mut out = Vec::new();
    let Some(entries) = read::map(value, path, "interfaces", problems) else {
        return out;
    };
    for (key, operations) in entries {
        let Some(interface) = read::string(key, path, "an interface name", problems) else {
            continue;
        };
        let p = child(path, &interface);
        let Some(operations) = read::map(operations, &p, "an interface mapping", problems) else {
            continue;
        };
        for (key, workflow) in operations {
            let Some(operation) = read::string(key, &p, "an operation name", problems) else {
                continue;
            };
            let op_path = child(&p, &operation);
            if let Some(workflow_name) =
                read::string(workflow, &op_path, "a workflow name", problems)
            {
                out.push(InterfaceMapping {
                    interface: interface.clone(),
                    operation,
                    workflow: workflow_name,
                    span: workflow.span,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(requirement: &str, count: MappedCount, node: &str) -> RequirementMapping {
        RequirementMapping {
            requirement: requirement.into(),
            count,
            targets: vec![MappingTarget::Selectable(node.into())],
            span: Span::NONE,
        }
    }

    /// The inner node each of the first `n` assignments of `service` is mapped to.
    fn assigned(mappings: &[RequirementMapping], n: usize) -> Vec<Option<&str>> {
        (0..n)
            .map(|k| {
                RequirementMapping::for_assignment(mappings, "service", k)
                    .map(|m| m.targets[0].node())
            })
            .collect()
    }

    #[test]
    fn assignments_are_counted_out_to_the_mappings_in_order() {
        use MappedCount::*;
        let cases: Vec<(Vec<RequirementMapping>, Vec<Option<&str>>)> = vec![
            // A lone entry without a count maps every assignment.
            (vec![mapping("service", Unstated, "a")], vec![Some("a"); 3]),
            // Several entries without a count map one each, and no more.
            (
                vec![
                    mapping("service", Unstated, "a"),
                    mapping("service", Unstated, "b"),
                ],
                vec![Some("a"), Some("b"), None],
            ),
            // A lone counted entry maps that many.
            (
                vec![mapping("service", Exactly(2), "a")],
                vec![Some("a"), Some("a"), None],
            ),
            // Counts and single entries interleave.
            (
                vec![
                    mapping("service", Exactly(2), "a"),
                    mapping("service", Unstated, "b"),
                    mapping("service", Unbounded, "c"),
                ],
                vec![Some("a"), Some("a"), Some("b"), Some("c"), Some("c")],
            ),
            // A count of 0 maps nothing.
            (
                vec![
                    mapping("service", Exactly(0), "a"),
                    mapping("service", Unbounded, "b"),
                ],
                vec![Some("b"), Some("b")],
            ),
            // Other requirements' entries do not count.
            (
                vec![
                    mapping("host", Unstated, "h"),
                    mapping("service", Unstated, "a"),
                ],
                vec![Some("a"), Some("a")],
            ),
        ];
        for (mappings, expected) in cases {
            assert_eq!(
                assigned(&mappings, expected.len()),
                expected,
                "{mappings:?}"
            );
        }
    }
}
