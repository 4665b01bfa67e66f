//! Checks of `substitution_mappings` (chapter 15): every mapping names what the substituted
//! node type declares on one side and what the substituting template has on the other.

use indexmap::IndexMap;

use super::super::model::Parameter;
use super::super::resolved::Resolved;
use super::super::substitution::*;
use super::{Checker, Scope, child};
use crate::tosca::types::{NodeType, PropertyDef, TypeKind};

/// Which side of the substituting template a value mapping reaches.
#[derive(Clone, Copy)]
enum Side {
    /// A property flows to an input.
    Input,
    /// An output flows to an attribute.
    Output,
}

impl Side {
    /// The kind of value a mapping of this side names on the node.
    fn member(self) -> &'static str {
        match self {
            Side::Input => "property",
            Side::Output => "attribute",
        }
    }

    /// The same, with its article.
    fn a_member(self) -> &'static str {
        match self {
            Side::Input => "a property",
            Side::Output => "an attribute",
        }
    }
}

impl Checker<'_, '_> {
    pub(super) fn substitution(
        &mut self,
        sm: &SubstitutionMappings,
        resolved: &Resolved,
        path: &str,
    ) {
        let Some(id) = sm
            .node_type
            .as_ref()
            .and_then(|t| self.resolve(TypeKind::Node, t, &child(path, "node_type")))
        else {
            return;
        };
        if let Some(f) = &sm.substitution_filter {
            self.expression(f, &child(path, "substitution_filter"), Scope::Service);
        }
        let nt = self.registry.node_type(id);
        let type_name = self.registry.display_name(id);
        let (inputs, outputs) = (&self.st.inputs, &self.st.outputs);
        for m in &sm.properties {
            let p = child(&child(path, "properties"), &m.at.describe());
            self.value_mapping(m, nt, &type_name, Side::Input, inputs, &p);
        }
        for m in &sm.attributes {
            let p = child(&child(path, "attributes"), &m.at.describe());
            self.value_mapping(m, nt, &type_name, Side::Output, outputs, &p);
        }
        for (name, mapping) in &sm.capabilities {
            let p = child(&child(path, "capabilities"), name);
            if !nt.capabilities.contains_key(name) {
                let message = format!("`{name}` is not a capability of node type `{type_name}`");
                self.report("undeclared", mapping.span, &p, message);
            }
            self.capability_mapping(mapping, resolved, &p);
        }
        for (i, m) in sm.requirements.iter().enumerate() {
            let p = format!("{path}.requirements[{i}].{}", m.requirement);
            if !nt.requirements.iter().any(|r| r.name == m.requirement) {
                let message = format!(
                    "`{}` is not a requirement of node type `{type_name}`",
                    m.requirement
                );
                self.report("undeclared", m.span, &p, message);
            }
            for target in &m.targets {
                self.mapping_target(target, m, resolved, &p);
            }
        }
        for m in &sm.interfaces {
            let p = format!("{path}.interfaces.{}.{}", m.interface, m.operation);
            self.interface_mapping(m, nt, &type_name, &p);
        }
    }

    /// One property → input or attribute ← output mapping: the node type declares the value,
    /// and the service has the parameter.
    fn value_mapping(
        &mut self,
        m: &ValueMapping,
        nt: &NodeType,
        type_name: &str,
        side: Side,
        parameters: &IndexMap<String, Parameter>,
        path: &str,
    ) {
        if let Err(why) = declared(&m.at, nt, side) {
            let message = format!("{why} of node type `{type_name}`");
            self.report("undeclared", m.key_span, path, message);
        }
        if !parameters.contains_key(&m.parameter) {
            let (code, kind) = match side {
                Side::Input => ("unknown-input", "an input"),
                Side::Output => ("unknown-output", "an output"),
            };
            let message = format!("`{}` is not {kind} of the service", m.parameter);
            self.report(code, m.span, path, message);
        }
    }

    fn capability_mapping(
        &mut self,
        mapping: &crate::tosca::value::Value,
        resolved: &Resolved,
        path: &str,
    ) {
        let pair = mapping.as_list().and_then(|l| match l {
            [node, cap] => Some((node.as_str()?, cap.as_str()?)),
            _ => None,
        });
        let Some((node, cap)) = pair else {
            let message = "a capability mapping must be [node_template, capability]";
            self.report("wrong-kind", mapping.span, path, message);
            return;
        };
        match resolved.by_name.get(node) {
            Some(&i) if !resolved.nodes[i].capabilities.contains_key(cap) => {
                let message = format!("node template `{node}` has no capability `{cap}`");
                self.report("undeclared", mapping.span, path, message);
            }
            Some(_) => {}
            None => self.known_template(node, mapping.span, path),
        }
    }

    /// A requirement mapping's target: the node template exists, and has the requirement or
    /// is selectable.
    fn mapping_target(
        &mut self,
        target: &MappingTarget,
        m: &RequirementMapping,
        resolved: &Resolved,
        path: &str,
    ) {
        let node = target.node();
        let Some(&n) = resolved.by_name.get(node) else {
            self.known_template(node, m.span, path);
            return;
        };
        let template = &resolved.nodes[n];
        match target {
            MappingTarget::Requirement { requirement, .. } => {
                let declared = self
                    .registry
                    .node_type(template.node_type)
                    .requirements
                    .iter();
                if !declared.clone().any(|r| r.name == *requirement) {
                    let message =
                        format!("node template `{node}` has no requirement `{requirement}`");
                    self.report("undeclared", m.span, path, message);
                }
            }
            MappingTarget::Selectable(_) => {
                if !template.directives.iter().any(|d| d == "select") {
                    let message = format!(
                        "`{node}` stands for the target of `{}` only if it is selectable: give it `directives: [ select ]`, or map to [node_template, requirement]",
                        m.requirement
                    );
                    self.report("not-selectable", m.span, path, message);
                }
            }
        }
    }

    /// An operation of the substituted node carried out by a workflow of the service.
    fn interface_mapping(
        &mut self,
        m: &InterfaceMapping,
        nt: &NodeType,
        type_name: &str,
        path: &str,
    ) {
        match nt.interfaces.get(&m.interface) {
            None => {
                let message = format!(
                    "`{}` is not an interface of node type `{type_name}`",
                    m.interface
                );
                self.report("undeclared", m.span, path, message);
            }
            Some(i) if !i.operations.contains_key(&m.operation) => {
                let message = format!(
                    "`{}` is not an operation of interface `{}`",
                    m.operation, m.interface
                );
                self.report("undeclared", m.span, path, message);
            }
            Some(_) => {}
        }
        if !self.st.workflows.contains_key(&m.workflow) {
            let message = format!("`{}` is not a workflow of the service", m.workflow);
            self.report("unknown-workflow", m.span, path, message);
        }
    }

    /// Reports `node` unless the service has a node template by that name (one that failed
    /// its own checks is not resolved, but was reported already).
    fn known_template(&mut self, node: &str, span: crate::tosca::source::Span, path: &str) {
        if !self.st.node_templates.contains_key(node) {
            let message = format!("`{node}` is not a node template");
            self.report("unknown-template", span, path, message);
        }
    }
}

/// Whether the node type declares the value a mapping names, or what it lacks.
fn declared(at: &NodeValue, nt: &NodeType, side: Side) -> Result<(), String> {
    let member = side.member();
    let has = |defs: (
        &IndexMap<String, PropertyDef>,
        &IndexMap<String, PropertyDef>,
    ),
               name| {
        match side {
            Side::Input => defs.0.contains_key(name),
            Side::Output => defs.1.contains_key(name),
        }
    };
    match at {
        NodeValue::Own(name) if has((&nt.properties, &nt.attributes), name) => Ok(()),
        NodeValue::Own(name) => Err(format!("`{name}` is not {}", side.a_member())),
        NodeValue::Capability { capability, name } => match nt.capabilities.get(capability) {
            None => Err(format!("`{capability}` is not a capability")),
            Some(c) if has((&c.properties, &c.attributes), name) => Ok(()),
            Some(_) => Err(format!(
                "capability `{capability}` has no {member} `{name}`"
            )),
        },
        NodeValue::Relationship {
            requirement, name, ..
        } => match nt.requirements.iter().find(|r| r.name == *requirement) {
            None => Err(format!("`{requirement}` is not a requirement")),
            Some(r) => match &r.relationship {
                Some(rel) if !has((&rel.properties, &rel.attributes), name) => Err(format!(
                    "the relationship of requirement `{requirement}` has no {member} `{name}`"
                )),
                _ => Ok(()),
            },
        },
    }
}
