//! Checks a read service template against the type registry and resolves its names.
//!
//! Every assignment is checked against its definition (undeclared names, fixed values,
//! missing required values, literal values against their schemas, function names and
//! argument counts, `$get_input` names), every name is resolved (types, templates,
//! capabilities, requirements), and `count_range` sums are checked. The result is
//! [`Resolved`], which fulfilment and instantiation read.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::artifact::{Places, ResolvedArtifact};
use super::interface::{ResolvedInterface, Resolving};
use super::model::*;
use super::read::child;
use super::resolved::*;
use crate::tosca::functions::{self, Call, Expr};
use crate::tosca::grammar;
use crate::tosca::limits::{Limits, OVER_LIMIT};
use crate::tosca::parallel;
use crate::tosca::problem::Problems;
use crate::tosca::source::{FileId, Span};
use crate::tosca::topology;
use crate::tosca::types::{self, CapabilityRef, PropertyDef, TypeId, TypeKind, TypeRegistry};
use crate::tosca::value::{Value, ValueKind};

mod substitution;

/// Checks `st` and resolves it; every problem goes to `problems`. `places` says where the
/// loaded files are, to locate artifact files.
pub fn check(
    st: &ServiceTemplate,
    registry: &TypeRegistry,
    places: &Places,
    limits: &Limits,
    problems: &mut Problems,
) -> Resolved {
    Checker::new(st, registry, places, limits, problems).run()
}

/// What a value may refer to while it is checked.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    /// Node and relationship templates, outputs: `$get_input` names service inputs.
    Service,
    /// A workflow: `$get_input` names the workflow's inputs (and the service's).
    Workflow,
}

struct Checker<'a, 'p> {
    st: &'a ServiceTemplate,
    registry: &'a TypeRegistry,
    places: &'a Places,
    /// The budgets; a constant `count` is held to them here, before any instance exists.
    limits: &'a Limits,
    file: FileId,
    problems: &'p mut Problems,
    /// Type lookups already done: `(kind, name) → id`.
    names: HashMap<(TypeKind, String), Option<TypeId>>,
    /// Names `$get_input` may use here.
    inputs: Vec<String>,
    /// The node type SELF stands for in the value being checked, when SELF is a node.
    self_node: Option<TypeId>,
    /// The artifacts of the node template being checked (its relationships' implementations
    /// may name them).
    artifacts: IndexMap<String, ResolvedArtifact>,
}

impl<'a, 'p> Checker<'a, 'p> {
    fn new(
        st: &'a ServiceTemplate,
        registry: &'a TypeRegistry,
        places: &'a Places,
        limits: &'a Limits,
        problems: &'p mut Problems,
    ) -> Self {
        Checker {
            st,
            registry,
            places,
            limits,
            file: st.file,
            problems,
            names: HashMap::new(),
            inputs: st.inputs.keys().cloned().collect(),
            self_node: None,
            artifacts: IndexMap::new(),
        }
    }

    fn run(&mut self) -> Resolved {
        let st = self.st;
        let mut resolved = Resolved::default();
        for (name, p) in &st.inputs {
            self.parameter(p, &format!("service_template.inputs.{name}"), true);
        }
        for (name, p) in &st.outputs {
            self.parameter(p, &format!("service_template.outputs.{name}"), false);
        }
        for (name, rel) in &st.relationship_templates {
            if let Some(r) = self.relationship_template(
                rel,
                &format!("service_template.relationship_templates.{name}"),
            ) {
                resolved.relationships.insert(name.clone(), r);
            }
        }
        resolved.nodes.reserve(st.node_templates.len());
        for (name, node) in self.node_templates(&resolved.relationships) {
            resolved.by_name.insert(name.clone(), resolved.nodes.len());
            resolved.nodes.push(node);
        }
        for (name, g) in &st.groups {
            self.group(g, &resolved, &format!("service_template.groups.{name}"));
        }
        for (i, p) in st.policies.iter().enumerate() {
            let path = format!("service_template.policies[{i}].{}", p.name);
            if let Some(policy) = self.policy(p, &resolved, &path) {
                resolved.policies.push(policy);
            }
        }
        if let Some(sm) = &st.substitution_mappings {
            self.substitution(sm, &resolved, "service_template.substitution_mappings");
        }
        for (name, w) in &st.workflows {
            self.workflow(w, &resolved, &format!("service_template.workflows.{name}"));
        }
        resolved
    }

    /// Checks every node template, in parts beside each other when there are many (each
    /// reads only the template, the registry and the relationship templates); the checked
    /// templates and the problems come in the templates' order.
    fn node_templates(
        &mut self,
        relationships: &IndexMap<String, ResolvedRelationship>,
    ) -> Vec<(&'a String, ResolvedNode)> {
        let (st, registry, places, limits) = (self.st, self.registry, self.places, self.limits);
        let templates: Vec<(&'a String, &'a NodeTemplate)> = st.node_templates.iter().collect();
        let parts = parallel::in_parts(&templates, |part| {
            let mut problems = Problems::new();
            let mut checker = Checker::new(st, registry, places, limits, &mut problems);
            let checked: Vec<_> = part
                .iter()
                .filter_map(|&(name, node)| {
                    let path = format!("service_template.node_templates.{name}");
                    Some((name, checker.node_template(node, &path, relationships)?))
                })
                .collect();
            (checked, problems)
        });
        let mut checked = Vec::with_capacity(templates.len());
        for (part, problems) in parts {
            checked.extend(part);
            self.problems.extend(problems);
        }
        checked
    }

    fn report(
        &mut self,
        code: &'static str,
        span: Span,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.report(code, span, path, message);
    }

    /// Resolves a type name of a kind, once per name.
    fn lookup(&mut self, kind: TypeKind, name: &str) -> Option<TypeId> {
        if let Some(id) = self.names.get(&(kind, name.to_string())) {
            return *id;
        }
        let id = self.registry.lookup(self.file, kind, name);
        self.names.insert((kind, name.to_string()), id);
        id
    }

    /// Resolves a type name, reporting an unknown one.
    fn resolve(&mut self, kind: TypeKind, name: &(String, Span), path: &str) -> Option<TypeId> {
        let id = self.lookup(kind, &name.0);
        if id.is_none() {
            self.report(
                "unknown-type",
                name.1,
                path,
                format!("`{}` is not a {} known here", name.0, kind.noun()),
            );
        }
        id
    }

    // ---- values ------------------------------------------------------------------------

    /// Checks a value that may hold function calls: the calls' names and argument counts,
    /// and the names they refer to. Returns the parsed expression.
    fn expression(&mut self, value: &Value, path: &str, scope: Scope) -> Option<Expr> {
        let expr = match functions::parse_expr(value) {
            Ok(expr) => expr,
            Err(e) => {
                self.report("malformed-function", e.span, path, e.message);
                return None;
            }
        };
        if expr.is_constant() {
            return Some(expr);
        }
        let registry = self.registry;
        let file = self.file;
        for e in functions::check_expr(&expr, &|name| {
            registry.lookup_function(file, name).is_some()
        }) {
            self.report("function", e.span, path, e.message);
        }
        let mut mismatches = Vec::new();
        expr.walk_calls(&mut |call| {
            if functions::builtin(&call.name).is_none()
                && let Some(def) = registry.lookup_function(file, &call.name)
                && let Some(why) = types::signature_mismatch(registry, def, call)
            {
                mismatches.push((call.span, why));
            }
        });
        for (span, why) in mismatches {
            self.report("function", span, path, why);
        }
        let mut refs = Vec::new();
        let mut paths = Vec::new();
        let mut artifacts = Vec::new();
        expr.walk_calls(&mut |call| {
            let first = call
                .args
                .first()
                .and_then(|a| a.as_literal())
                .and_then(|v| v.as_str());
            if let Some(first) = first {
                refs.push((call.name.as_str(), first, call.span));
            }
            if call.name == "get_property" || call.name == "get_attribute" {
                let literal: Option<Vec<&Value>> =
                    call.args.iter().map(|a| a.as_literal()).collect();
                if let Some(args) = literal {
                    paths.push((call.name == "get_attribute", args, call.span));
                }
            }
            if call.name == "get_artifact" {
                let literal: Option<Vec<&Value>> =
                    call.args.iter().map(|a| a.as_literal()).collect();
                if let Some(args) = literal {
                    artifacts.push((args, call.span));
                }
            }
        });
        for (args, span) in artifacts {
            self.own_artifact(&args, span, path);
        }
        for (attribute, args, span) in paths {
            self.static_path(attribute, &args, span, path);
        }
        for (function, first, span) in refs {
            match function {
                "get_input"
                    if !(self.inputs.iter().any(|i| i == first)
                        || scope == Scope::Workflow && self.st.inputs.contains_key(first)) =>
                {
                    self.report(
                        "unknown-input",
                        span,
                        path,
                        format!("$get_input names `{first}`, which is not an input here"),
                    );
                }
                "get_property" | "get_attribute" | "get_artifact" | "available_allocation"
                    if first != "SELF"
                        && !self.st.node_templates.contains_key(first)
                        && !self.st.relationship_templates.contains_key(first) =>
                {
                    self.report(
                            "unknown-template",
                            span,
                            path,
                            format!(
                                "${function} starts at `{first}`, which is neither SELF nor a node or relationship template"
                            ),
                        );
                }
                _ => {}
            }
        }
        Some(expr)
    }

    /// `$get_artifact: [SELF, name, …]` on a node: the node must have the artifact (a copy's
    /// `location` and `remove` are checked when the call is evaluated). Other paths lead to
    /// nodes not known yet and are checked when they are evaluated.
    fn own_artifact(&mut self, args: &[&Value], span: Span, path: &str) {
        let (Some("SELF"), Some(name)) = (
            args.first().and_then(|v| v.as_str()),
            args.get(1).and_then(|v| v.as_str()),
        ) else {
            return;
        };
        if self.self_node.is_none() || matches!(name, "RELATIONSHIP" | "CAPABILITY") {
            return;
        }
        if !self.artifacts.contains_key(name) {
            let known: Vec<&str> = self.artifacts.keys().map(String::as_str).collect();
            let message = format!(
                "$get_artifact names `{name}`, which is not an artifact of this node ({})",
                if known.is_empty() {
                    "it has none".to_string()
                } else {
                    format!("it has {}", known.join(", "))
                }
            );
            self.report("unknown-artifact", span, path, message);
        }
    }

    /// Checks what can be checked of a TOSCA path before requirements are fulfilled: the
    /// node template it starts at, the requirement or capability it names on that node's
    /// type, and the property (or attribute) it reads there. Paths through relationships
    /// lead to nodes not known yet and are checked when they are evaluated.
    fn static_path(&mut self, attribute: bool, args: &[&Value], span: Span, path: &str) {
        let Some(first) = args.first().and_then(|v| v.as_str()) else {
            return;
        };
        let mut at = 1;
        let node_type = if first == "SELF" {
            match self.self_node {
                Some(t) => t,
                None => return,
            }
        } else {
            let Some(template) = self.st.node_templates.get(first) else {
                return;
            };
            let Some(t) = template
                .type_name
                .as_ref()
                .and_then(|t| self.lookup(TypeKind::Node, &t.0))
            else {
                return;
            };
            if matches!(args.get(1).map(|v| &v.kind), Some(ValueKind::Integer(_)))
                || args.get(1).and_then(|v| v.as_str()) == Some("ALL")
            {
                at = 2;
            }
            t
        };
        let registry = self.registry;
        let nt = registry.node_type(node_type);
        let (mut properties, mut attributes) = (&nt.properties, &nt.attributes);
        let mut owner = format!("node type `{}`", registry.display_name(node_type));
        match args.get(at).and_then(|v| v.as_str()) {
            Some("RELATIONSHIP") => {
                if let Some(req) = args.get(at + 1).and_then(|v| v.as_str())
                    && !nt.requirements.iter().any(|r| r.name == req)
                {
                    self.report(
                        "unknown-requirement",
                        span,
                        path,
                        format!("{owner} has no requirement `{req}`"),
                    );
                }
                return;
            }
            Some("CAPABILITY") => {
                let Some(cap) = args.get(at + 1).and_then(|v| v.as_str()) else {
                    return;
                };
                let Some(def) = nt.capabilities.get(cap) else {
                    self.report(
                        "unknown-capability",
                        span,
                        path,
                        format!("{owner} has no capability `{cap}`"),
                    );
                    return;
                };
                if args.get(at + 2).and_then(|v| v.as_str()) == Some("RELATIONSHIP") {
                    return;
                }
                properties = &def.properties;
                attributes = &def.attributes;
                owner = format!("capability `{cap}`");
                at += 2;
            }
            _ => {}
        }
        let Some(name) = args.get(at).and_then(|v| v.as_str()) else {
            return;
        };
        let found = properties.contains_key(name) || (attribute && attributes.contains_key(name));
        if !found {
            let what = if attribute {
                "property or attribute"
            } else {
                "property"
            };
            self.report(
                "unknown-property",
                span,
                path,
                format!("{owner} has no {what} `{name}`"),
            );
        }
    }

    /// Checks an assigned value against its definition.
    fn assigned_value(&mut self, def: &PropertyDef, value: &Value, path: &str) {
        if def.fixed.is_some() {
            self.report(
                "fixed-value",
                value.span,
                path,
                format!(
                    "`{}` has a fixed value in its definition and cannot be assigned",
                    def.name
                ),
            );
            return;
        }
        if !functions::has_dollar(value) {
            return self.assigned_literal(def, value, path);
        }
        let Some(expr) = self.expression(value, path, Scope::Service) else {
            return;
        };
        if let Expr::Call(call) = &expr {
            self.call_result(call, def.schema.data_type, path);
        }
        if let Some(literal) = expr.as_literal() {
            self.assigned_literal(def, literal, path);
        }
    }

    /// Checks a literal assigned to `def` against its schema and its own validation clauses.
    fn assigned_literal(&mut self, def: &PropertyDef, literal: &Value, path: &str) {
        if def.validation.len() > def.schema.validation.len() {
            let mut schema = def.schema.clone();
            schema.validation = def.validation.clone();
            types::check_value(self.registry, &schema, literal, self.problems, path);
        } else {
            types::check_value(self.registry, &def.schema, literal, self.problems, path);
        }
    }

    /// A declared function's call assigned whole to a value of type `expected` must return
    /// that type (by its signature's `result`); built-ins are checked on the value they give.
    fn call_result(&mut self, call: &Call, expected: TypeId, path: &str) {
        if functions::builtin(&call.name).is_some() {
            return;
        }
        let registry = self.registry;
        if let Some(def) = registry.lookup_function(self.file, &call.name)
            && let Some(why) = types::result_mismatch(registry, def, call, expected)
        {
            self.report("function", call.span, path, why);
        }
    }

    /// Checks assignments against definitions and returns the complete values: assigned,
    /// else fixed, else default. Reports undeclared names and missing required values.
    fn values(
        &mut self,
        defs: &IndexMap<String, PropertyDef>,
        assigned: &IndexMap<String, Value>,
        span: Span,
        path: &str,
        what: &str,
        check_required: bool,
    ) -> IndexMap<String, Value> {
        let mut out = IndexMap::with_capacity(defs.len());
        for (name, value) in assigned {
            let p = child(path, name);
            match defs.get(name) {
                Some(def) => self.assigned_value(def, value, &p),
                None => {
                    self.report(
                        "undeclared",
                        value.span,
                        &p,
                        format!("`{name}` is not a declared {what} of the type"),
                    );
                    continue;
                }
            }
        }
        for (name, def) in defs {
            let value = assigned
                .get(name)
                .filter(|_| def.fixed.is_none())
                .or(def.fixed.as_ref())
                .or(def.default.as_ref());
            match value {
                Some(v) => {
                    out.insert(name.clone(), v.clone());
                }
                None if check_required && def.required => self.report(
                    "missing-required",
                    span,
                    child(path, name),
                    format!("the required {what} `{name}` has no value and no default"),
                ),
                None => {}
            }
        }
        out
    }

    /// An input or output of the service.
    fn parameter(&mut self, p: &Parameter, path: &str, is_input: bool) {
        let schema_type = p
            .type_name
            .as_ref()
            .and_then(|t| self.resolve(TypeKind::Data, t, &child(path, "type")));
        if let Some(ty) = schema_type {
            self.parameter_schemas(ty, Some(&p.definition), path);
        }
        if let Some(v) = &p.value {
            let expr = self.expression(v, &child(path, "value"), Scope::Service);
            // §9.7: the value must match the parameter's type; a literal is checked here,
            // a computed one once the topology evaluates it.
            if let (Some(ty), Some(literal)) =
                (schema_type, expr.as_ref().and_then(|e| e.as_literal()))
            {
                let schema = parameter_schema(self.registry, self.file, ty, p);
                types::check_value(
                    self.registry,
                    &schema,
                    literal,
                    self.problems,
                    &child(path, "value"),
                );
            }
        } else if !is_input && p.value.is_none() {
            self.report(
                "missing-keyname",
                p.span,
                path,
                "an output must have a `value`",
            );
        }
        if let Some(d) = &p.default
            && let Some(ty) = schema_type
        {
            let schema = parameter_schema(self.registry, self.file, ty, p);
            types::check_value(
                self.registry,
                &schema,
                d,
                self.problems,
                &child(path, "default"),
            );
        }
        if let Some(v) = &p.validation {
            self.expression(v, &child(path, "validation"), Scope::Service);
        }
    }

    /// The entry and key schemas written in a service parameter's definition, at any depth
    /// (§9.7 gives parameters the property rules of §9.3): a list or map needs an
    /// `entry_schema` (unless its type has one), only lists and maps may have one, only maps
    /// a `key_schema`, whose type must derive from `string`; schema types must be known.
    fn parameter_schemas(&mut self, data_type: TypeId, definition: Option<&Value>, path: &str) {
        let registry = self.registry;
        let dt = registry.data_type(data_type);
        let is_list = matches!(dt.kind, types::DataKind::List);
        let is_map = matches!(dt.kind, types::DataKind::Map);
        let type_name = &registry.header(data_type).name;
        for (key, allowed) in [("entry_schema", is_list || is_map), ("key_schema", is_map)] {
            let p = child(path, key);
            match definition.and_then(|d| d.get(key)) {
                Some(v) if !allowed => {
                    let what = if key == "key_schema" {
                        "maps"
                    } else {
                        "lists and maps"
                    };
                    self.report(
                        "misplaced-keyname",
                        v.span,
                        &p,
                        format!("`{key}` is only for {what}, not for `{type_name}`"),
                    );
                }
                Some(v) => {
                    let Some(name) = v.as_str().or_else(|| v.get("type").and_then(Value::as_str))
                    else {
                        self.report(
                            "missing-keyname",
                            v.span,
                            &p,
                            "a schema definition must have the keyname `type`",
                        );
                        continue;
                    };
                    let Some(id) = registry.lookup(self.file, TypeKind::Data, name) else {
                        self.report(
                            "unknown-type",
                            v.get("type").unwrap_or(v).span,
                            &p,
                            format!("`{name}` is not a data type known here"),
                        );
                        continue;
                    };
                    if key == "key_schema"
                        && !registry
                            .builtin("string")
                            .is_some_and(|s| registry.derives_from(id, s))
                    {
                        self.report(
                            "invalid-key-schema",
                            v.span,
                            &p,
                            format!("a key schema's type must derive from `string`, and `{name}` does not"),
                        );
                    }
                    self.parameter_schemas(id, v.as_map().map(|_| v), &p);
                }
                None if key == "entry_schema" && allowed && dt.entry_schema.is_none() => {
                    self.report(
                        "missing-keyname",
                        definition.map_or(Span::NONE, |d| d.span),
                        path,
                        format!(
                            "`{type_name}` is a {}, so it needs an `entry_schema` saying what its entries are",
                            if is_list { "list" } else { "map" }
                        ),
                    );
                }
                None => {}
            }
        }
    }

    // ---- node templates -------------------------------------------------------------------

    fn node_template(
        &mut self,
        node: &NodeTemplate,
        path: &str,
        relationships: &IndexMap<String, ResolvedRelationship>,
    ) -> Option<ResolvedNode> {
        let type_name = node.type_name.as_ref()?;
        let id = self.resolve(TypeKind::Node, type_name, &child(path, "type"))?;
        let registry = self.registry;
        let nt = registry.node_type(id);
        self.self_node = Some(id);
        // Before any value is checked: `$get_artifact` on SELF must name one of them.
        self.artifacts = self.node_artifacts(nt, node, &child(path, "artifacts"));
        // `select` picks an existing node: its other keynames are not assignments to check.
        let selecting = node.directives.first().is_some_and(|d| d == "select");
        let properties = self.values(
            &nt.properties,
            &node.properties,
            node.span,
            &child(path, "properties"),
            "property",
            !selecting,
        );
        let attributes = self.values(
            &with_reflected(&nt.attributes, &nt.properties, &node.attributes),
            &node.attributes,
            node.span,
            &child(path, "attributes"),
            "attribute",
            false,
        );
        for (name, cap) in &node.capabilities {
            if !nt.capabilities.contains_key(name) {
                self.report(
                    "undeclared",
                    cap.span,
                    child(&child(path, "capabilities"), name),
                    format!(
                        "`{name}` is not a capability of node type `{}`",
                        registry.display_name(id)
                    ),
                );
            }
        }
        let mut capabilities = IndexMap::with_capacity(nt.capabilities.len());
        for (name, def) in &nt.capabilities {
            let cp = child(&child(path, "capabilities"), name);
            let empty = IndexMap::new();
            let (props, attrs, span) = match node.capabilities.get(name) {
                Some(c) => (&c.properties, &c.attributes, c.span),
                None => (&empty, &empty, node.span),
            };
            let properties = self.values(
                &def.properties,
                props,
                span,
                &child(&cp, "properties"),
                "property",
                !selecting,
            );
            let attributes = self.values(
                &with_reflected(&def.attributes, &def.properties, attrs),
                attrs,
                span,
                &child(&cp, "attributes"),
                "attribute",
                false,
            );
            capabilities.insert(
                name.clone(),
                ResolvedCapability {
                    capability_type: def.capability_type,
                    properties,
                    attributes,
                },
            );
        }
        for (iname, interface) in &nt.interfaces {
            for (kind, ops) in [
                ("operations", &interface.operations),
                ("notifications", &interface.notifications),
            ] {
                for (oname, op) in ops {
                    for (pname, parameter) in &op.outputs {
                        if let Some(mapping) = &parameter.mapping {
                            let p = format!("interfaces.{iname}.{kind}.{oname}.outputs.{pname}");
                            self.output_mapping(mapping, &p);
                        }
                    }
                }
            }
        }
        for (name, value) in &node.interfaces {
            self.interface_assignment(
                &nt.interfaces,
                name,
                value,
                &child(&child(path, "interfaces"), name),
            );
        }
        let interfaces = self.resolve_interfaces(
            &nt.interfaces,
            &[&node.interfaces],
            &child(path, "interfaces"),
        );
        if let Some(count) = &node.count {
            self.count(count, &child(path, "count"));
        }
        if let Some(filter) = &node.node_filter {
            self.expression(filter, &child(path, "node_filter"), Scope::Service);
        }
        // In requirements SELF is the relationship.
        self.self_node = None;
        let requirements = self.requirements(node, id, &child(path, "requirements"), relationships);
        Some(ResolvedNode {
            name: node.name.clone(),
            span: node.span,
            node_type: id,
            directives: node.directives.clone(),
            properties,
            attributes,
            capabilities,
            requirements,
            count: node.count.clone(),
            node_filter: node.node_filter.clone(),
            artifacts: std::mem::take(&mut self.artifacts),
            interfaces,
        })
    }

    /// The node type's artifacts, replaced or added to by the template's, each located.
    fn node_artifacts(
        &mut self,
        nt: &types::NodeType,
        node: &NodeTemplate,
        path: &str,
    ) -> IndexMap<String, ResolvedArtifact> {
        let mut artifacts = IndexMap::with_capacity(nt.artifacts.len() + node.artifacts.len());
        for (name, def) in &nt.artifacts {
            match ResolvedArtifact::of_definition(def, self.registry, self.places) {
                Ok(a) => {
                    artifacts.insert(name.clone(), a);
                }
                Err(m) => self.report("invalid-artifact", def.span, child(path, name), m),
            }
        }
        for (name, value) in &node.artifacts {
            let apath = child(path, name);
            let inherited = nt.artifacts.get(name).map(|d| d.artifact_type);
            self.artifact(value, &apath, inherited);
            let resolved = if value.as_str().is_some() {
                ResolvedArtifact::of_file(value, self.places).map(|mut a| {
                    a.artifact_type = inherited;
                    a
                })
            } else if value.get("file").is_some() {
                ResolvedArtifact::of_value(value, inherited, self.registry, self.places)
            } else {
                continue;
            };
            match resolved {
                Ok(a) => {
                    artifacts.insert(name.clone(), a);
                }
                Err(m) => self.report("invalid-artifact", value.span, apath, m),
            }
        }
        artifacts
    }

    /// Interface definitions with assignments applied (see [`Resolving::interfaces`]).
    fn resolve_interfaces(
        &mut self,
        definitions: &IndexMap<String, types::InterfaceDef>,
        assignments: &[&IndexMap<String, Value>],
        path: &str,
    ) -> IndexMap<String, ResolvedInterface> {
        let resolving = Resolving {
            registry: self.registry,
            places: self.places,
            artifacts: &self.artifacts,
        };
        let mut failures = Vec::new();
        let interfaces = resolving.interfaces(definitions, assignments, &mut |span, message| {
            failures.push((span, message))
        });
        for (span, message) in failures {
            self.report("invalid-artifact", span, path, message);
        }
        interfaces
    }

    /// `count`: a non-negative integer or an expression.
    fn count(&mut self, count: &Value, path: &str) {
        match &count.kind {
            ValueKind::Integer(n) if *n > i64::from(self.limits.count) => {
                let message = topology::count_over_limit(*n, self.limits);
                self.report(OVER_LIMIT, count.span, path, message);
            }
            ValueKind::Integer(n) if *n >= 0 => {}
            ValueKind::Map(_) | ValueKind::String(_) => {
                if let Some(expr) = self.expression(count, path, Scope::Service)
                    && expr.is_constant()
                {
                    self.report(
                        "wrong-type",
                        count.span,
                        path,
                        "`count` must be a non-negative integer or an expression",
                    );
                }
            }
            _ => self.report(
                "wrong-type",
                count.span,
                path,
                "`count` must be a non-negative integer or an expression",
            ),
        }
    }

    /// An artifact definition in a node template.
    /// `inherited` is the node type's artifact type of the same name, used when the template's
    /// definition gives no `type`.
    fn artifact(&mut self, value: &Value, path: &str, inherited: Option<TypeId>) {
        let Some(entries) = value.as_map() else {
            if value.as_str().is_none() {
                self.report(
                    "wrong-kind",
                    value.span,
                    path,
                    "an artifact must be a map with `type` and `file`",
                );
            }
            return;
        };
        let keys = [
            "type",
            "file",
            "repository",
            "description",
            "metadata",
            "artifact_version",
            "checksum",
            "checksum_algorithm",
            "properties",
        ];
        let mut artifact_type = inherited;
        for (k, v) in entries {
            let Some(key) = k.as_str() else { continue };
            if !keys.contains(&key) {
                self.report(
                    "unknown-keyname",
                    k.span,
                    child(path, key),
                    format!("`{key}` is not a keyname of an artifact"),
                );
            } else if key == "type"
                && let Some(t) = v.as_str()
            {
                artifact_type = self.resolve(
                    TypeKind::Artifact,
                    &(t.to_string(), v.span),
                    &child(path, "type"),
                );
            }
        }
        if value.get("file").is_none() {
            self.report(
                "missing-keyname",
                value.span,
                path,
                "an artifact must have `file`",
            );
        }
        if value.get("type").is_none() && inherited.is_none() {
            self.report(
                "missing-keyname",
                value.span,
                path,
                "an artifact must have `type` (only one the node type defines may leave it out)",
            );
        }
        // A checksum of digits alone reads as a number, which would otherwise go unchecked.
        for key in ["checksum", "checksum_algorithm"] {
            if let Some(v) = value.get(key).filter(|v| v.as_str().is_none()) {
                self.report(
                    "wrong-kind",
                    v.span,
                    child(path, key),
                    format!("`{key}` must be a string (quote it)"),
                );
            }
        }
        if let Some(t) = artifact_type {
            self.artifact_properties(t, value, path);
        }
    }

    /// An artifact's `properties` against its artifact type: declared, of the right type, and
    /// every required one without a default given.
    fn artifact_properties(&mut self, artifact_type: TypeId, value: &Value, path: &str) {
        let registry = self.registry;
        let declared = &registry.artifact_type(artifact_type).properties;
        let given = value.get("properties").and_then(Value::as_map);
        let path = child(path, "properties");
        for (k, v) in given.unwrap_or_default() {
            let Some(name) = k.as_str() else { continue };
            let p = child(&path, name);
            let Some(def) = declared.get(name) else {
                self.report(
                    "undeclared",
                    k.span,
                    &p,
                    format!(
                        "the artifact type `{}` has no property `{name}`",
                        registry.display_name(artifact_type)
                    ),
                );
                continue;
            };
            if self
                .expression(v, &p, Scope::Service)
                .is_some_and(|e| e.is_constant())
            {
                let mut schema = def.schema.clone();
                schema.validation = def.validation.clone();
                types::check_value(registry, &schema, v, self.problems, &p);
            }
        }
        for (name, def) in declared {
            let is_given = given
                .unwrap_or_default()
                .iter()
                .any(|(k, _)| k.as_str() == Some(name));
            if def.required && def.default.is_none() && def.fixed.is_none() && !is_given {
                self.report(
                    "missing-required",
                    value.span,
                    &path,
                    format!(
                        "the artifact type `{}` requires the property `{name}`, which has no default",
                        registry.display_name(artifact_type)
                    ),
                );
            }
        }
    }

    /// An interface assignment: the interface, its operations and notifications must be
    /// declared; inputs are checked as expressions.
    fn interface_assignment(
        &mut self,
        defs: &IndexMap<String, types::InterfaceDef>,
        name: &str,
        value: &Value,
        path: &str,
    ) {
        let Some(def) = defs.get(name) else {
            self.report(
                "undeclared",
                value.span,
                path,
                format!("`{name}` is not an interface of the type"),
            );
            return;
        };
        if value.is_null() {
            return;
        }
        let Some(entries) = value.as_map() else {
            self.report(
                "wrong-kind",
                value.span,
                path,
                "an interface assignment must be a map",
            );
            return;
        };
        for (k, v) in entries {
            let Some(key) = k.as_str() else { continue };
            let p = child(path, key);
            match key {
                "inputs" => self.inputs_assignment(v, &p, &def.inputs),
                "operations" | "notifications" => {
                    let declared = if key == "operations" { &def.operations } else { &def.notifications };
                    let Some(ops) = v.as_map() else {
                        if !v.is_null() {
                            self.report("wrong-kind", v.span, &p, format!("`{key}` must be a map"));
                        }
                        continue;
                    };
                    for (ok, ov) in ops {
                        let Some(op) = ok.as_str() else { continue };
                        let opath = child(&p, op);
                        if !declared.contains_key(op) {
                            self.report("undeclared", ok.span, &opath, format!("`{op}` is not declared in interface `{name}`"));
                            continue;
                        }
                        self.operation_assignment(ov, &opath, &declared[op]);
                    }
                }
                "description" | "metadata" => {}
                other => self.report(
                    "unknown-keyname",
                    k.span,
                    &p,
                    format!("`{other}` is not a keyname of an interface assignment; expected inputs, operations or notifications"),
                ),
            }
        }
    }

    /// Input values: expressions are checked as such, literals against the input's
    /// definition when it has a type (inputs the definitions do not declare may be added).
    fn inputs_assignment(
        &mut self,
        value: &Value,
        path: &str,
        definitions: &IndexMap<String, types::ParameterDef>,
    ) {
        if let Some(entries) = value.as_map() {
            for (k, v) in entries {
                let name = k.as_str().unwrap_or("?");
                let p = child(path, name);
                if let Some(def) = definitions.get(name)
                    && def.value.is_some()
                {
                    // §9.8: a parameter with a fixed value may not be assigned.
                    self.report(
                        "fixed-value",
                        v.span,
                        &p,
                        format!(
                            "`{name}` has a fixed value in its definition and cannot be assigned"
                        ),
                    );
                    continue;
                }
                let literal = self
                    .expression(v, &p, Scope::Service)
                    .is_some_and(|e| e.is_constant());
                if let Some(def) = definitions.get(name)
                    && let Some(schema) = &def.schema
                    && literal
                {
                    let mut schema = schema.clone();
                    schema.validation = def.validation.clone();
                    types::check_value(self.registry, &schema, v, self.problems, &p);
                }
            }
        } else if !value.is_null() {
            self.report("wrong-kind", value.span, path, "`inputs` must be a map");
        }
    }

    /// An output mapping `[SELF, attribute, nested…]` written for a node (§9.9): the attribute
    /// must be one the node has (declared, or a property's reflection). Other paths lead
    /// elsewhere in the graph and are left to the runtime.
    fn output_mapping(&mut self, mapping: &Value, path: &str) {
        let Some(node_type) = self.self_node else {
            return;
        };
        let Some(list) = mapping.as_list() else {
            return;
        };
        let (Some("SELF"), Some(name)) = (
            list.first().and_then(Value::as_str),
            list.get(1).and_then(Value::as_str),
        ) else {
            return;
        };
        if matches!(name, "RELATIONSHIP" | "CAPABILITY" | "SOURCE" | "TARGET") {
            return;
        }
        let nt = self.registry.node_type(node_type);
        if !nt.attributes.contains_key(name) && !nt.properties.contains_key(name) {
            self.report(
                "unknown-attribute",
                list[1].span,
                path,
                format!(
                    "the output is mapped to `{name}`, which is not an attribute of node type `{}`",
                    self.registry.display_name(node_type)
                ),
            );
        }
    }

    fn operation_assignment(&mut self, value: &Value, path: &str, operation: &types::OperationDef) {
        let inputs = &operation.inputs;
        let Some(entries) = value.as_map() else {
            if !value.is_null() && value.as_str().is_none() {
                self.report(
                    "wrong-kind",
                    value.span,
                    path,
                    "an operation assignment must be a map or an artifact name",
                );
            }
            return;
        };
        for (k, v) in entries {
            let Some(key) = k.as_str() else { continue };
            let p = child(path, key);
            match key {
                "inputs" => self.inputs_assignment(v, &p, inputs),
                "implementation" => {
                    grammar::shape::check(v, &grammar::keynames::IMPLEMENTATION, &p, self.problems);
                    if let Some(primary) = v.get("primary")
                        && let Some(t) = primary.get("type").and_then(Value::as_str)
                    {
                        let span = primary.get("type").map_or(v.span, |t| t.span);
                        self.resolve(
                            TypeKind::Artifact,
                            &(t.to_string(), span),
                            &child(&p, "primary.type"),
                        );
                    }
                }
                "outputs" => {
                    for (ok, ov) in v.as_map().unwrap_or_default() {
                        let name = ok.as_str().unwrap_or("?");
                        let op = child(&p, name);
                        if operation
                            .outputs
                            .get(name)
                            .is_some_and(|d| d.mapping.is_some())
                        {
                            // §9.9: an output mapped in its definition may not be mapped again.
                            self.report(
                                "fixed-value",
                                ov.span,
                                &op,
                                format!("`{name}` is already mapped in its definition and cannot be mapped again"),
                            );
                            continue;
                        }
                        self.output_mapping(ov, &op);
                    }
                }
                "description" => {}
                other => self.report(
                    "unknown-keyname",
                    k.span,
                    &p,
                    format!("`{other}` is not a keyname of an operation assignment"),
                ),
            }
        }
    }

    // ---- requirements -----------------------------------------------------------------------

    fn requirements(
        &mut self,
        node: &NodeTemplate,
        node_type: TypeId,
        path: &str,
        relationships: &IndexMap<String, ResolvedRelationship>,
    ) -> Vec<ResolvedRequirement> {
        let registry = self.registry;
        let nt = registry.node_type(node_type);
        let mut out = Vec::with_capacity(node.requirements.len());
        // Sums of `count` per definition: (all, non-optional, any unknown).
        let mut sums: Vec<(u64, u64, bool)> = vec![(0, 0, false); nt.requirements.len()];
        for (i, a) in node.requirements.iter().enumerate() {
            let p = format!("{path}[{i}].{}", a.name);
            let Some(def_index) = nt.requirements.iter().position(|d| d.name == a.name) else {
                self.report(
                    "undeclared",
                    a.span,
                    &p,
                    format!(
                        "`{}` is not a requirement of node type `{}`",
                        a.name,
                        registry.display_name(node_type)
                    ),
                );
                continue;
            };
            let count = match &a.count {
                None => Some(1),
                Some(v) => match v.kind {
                    ValueKind::Integer(n) if n >= 0 => Some(n as u64),
                    _ => {
                        self.count(v, &child(&p, "count"));
                        None
                    }
                },
            };
            let sum = &mut sums[def_index];
            match count {
                Some(c) => {
                    sum.0 += c;
                    if !a.optional {
                        sum.1 += c;
                    }
                }
                None => sum.2 = true,
            }
            if let Some(r) = self.requirement(a, def_index, node_type, &p, relationships) {
                out.push(r);
            }
        }
        for (def_index, def) in nt.requirements.iter().enumerate() {
            let (all, mandatory, unknown) = sums[def_index];
            let assigned = node.requirements.iter().any(|a| a.name == def.name);
            let range = def.count_range;
            if !assigned {
                if range.min > 0 {
                    let implicit = RequirementAssignment {
                        name: def.name.clone(),
                        span: node.span,
                        node: None,
                        capability: None,
                        relationship: None,
                        allocation: IndexMap::new(),
                        count: Some(Value::new(ValueKind::Integer(range.min as i64))),
                        node_filter: None,
                        directives: Vec::new(),
                        optional: false,
                        implicit: true,
                    };
                    let p = format!("{path}.{}", def.name);
                    if let Some(r) =
                        self.requirement(&implicit, def_index, node_type, &p, relationships)
                    {
                        out.push(r);
                    }
                }
                continue;
            }
            if unknown {
                continue;
            }
            let p = format!("{path}.{}", def.name);
            let bounds = match range.max {
                Some(max) => format!("[{}, {max}]", range.min),
                None => format!("[{}, UNBOUNDED]", range.min),
            };
            for (sum, which) in [
                (all, "all assignments"),
                (mandatory, "non-optional assignments"),
            ] {
                let over = range.max.is_some_and(|max| sum > max);
                let under = sum < range.min && (which == "all assignments" || mandatory > 0);
                if over || under {
                    self.report(
                        "count-range",
                        node.span,
                        &p,
                        format!(
                            "requirement `{}` is assigned {sum} time(s) over its {which}, outside its count_range {bounds}",
                            def.name
                        ),
                    );
                    break;
                }
            }
        }
        out
    }

    fn requirement(
        &mut self,
        a: &RequirementAssignment,
        def_index: usize,
        node_type: TypeId,
        path: &str,
        relationships: &IndexMap<String, ResolvedRelationship>,
    ) -> Option<ResolvedRequirement> {
        let registry = self.registry;
        let def = &registry.node_type(node_type).requirements[def_index];
        // The target node.
        let node = match &a.node {
            None => match def.node {
                Some(t) => NodeTarget::Type(t),
                None => NodeTarget::Any,
            },
            Some((r, span)) => {
                let name = r.name();
                if self.st.node_templates.contains_key(name) {
                    let index = match r {
                        NodeRef::Indexed(_, i) => {
                            self.index(i, &child(path, "node"));
                            Some(i.clone())
                        }
                        NodeRef::Name(_) => None,
                    };
                    NodeTarget::Template(name.to_string(), index)
                } else if let Some(t) = self.lookup(TypeKind::Node, name) {
                    if let NodeRef::Indexed(..) = r {
                        self.report(
                            "unknown-template",
                            *span,
                            child(path, "node"),
                            format!("`{name}` is a node type; an index needs a node template"),
                        );
                    }
                    NodeTarget::Type(t)
                } else {
                    self.report(
                        "unknown-template",
                        *span,
                        child(path, "node"),
                        format!("`{name}` is neither a node template nor a node type"),
                    );
                    return None;
                }
            }
        };
        // The target capability: a symbolic name of the target node's type first, else a
        // capability type, else a symbolic name to find on whatever node is chosen.
        let named_on_target = |name: &str| match &node {
            NodeTarget::Template(t, _) => self
                .st
                .node_templates
                .get(t)
                .and_then(|t| t.type_name.as_ref())
                .and_then(|(n, _)| registry.lookup(self.file, TypeKind::Node, n))
                .is_some_and(|id| registry.node_type(id).capabilities.contains_key(name)),
            NodeTarget::Type(id) => registry.node_type(*id).capabilities.contains_key(name),
            NodeTarget::Any => false,
        };
        let capability = match &a.capability {
            Some((name, _)) if named_on_target(name) => CapabilityTarget::Name(name.clone()),
            Some((name, span)) => match self.lookup(TypeKind::Capability, name) {
                Some(t) => {
                    if let CapabilityRef::Type(d) = def.capability
                        && !registry.derives_from(t, d)
                    {
                        self.report(
                            "wrong-type",
                            *span,
                            child(path, "capability"),
                            format!(
                                "capability type `{name}` does not derive from `{}`, which the requirement definition asks for",
                                registry.display_name(d)
                            ),
                        );
                    }
                    CapabilityTarget::Type(t)
                }
                None => CapabilityTarget::Name(name.clone()),
            },
            None => match &def.capability {
                CapabilityRef::Type(t) => CapabilityTarget::Type(*t),
                CapabilityRef::Name(n) => CapabilityTarget::Name(n.clone()),
            },
        };
        if let Some(required) = def.node
            && let NodeTarget::Type(t) = node
            && !registry.derives_from(t, required)
        {
            self.report(
                "wrong-type",
                a.span,
                child(path, "node"),
                format!(
                    "node type `{}` does not derive from `{}`, which the requirement definition asks for",
                    registry.display_name(t),
                    registry.display_name(required)
                ),
            );
        }
        // A node template named outright must be able to fulfil the requirement: be of the
        // definition's node type and offer the capability.
        if let NodeTarget::Template(name, _) = &node
            && let Some(target_type) = self
                .st
                .node_templates
                .get(name)
                .and_then(|t| t.type_name.as_ref())
                .and_then(|(n, _)| registry.lookup(self.file, TypeKind::Node, n))
        {
            let target = registry.node_type(target_type);
            let span = a.node.as_ref().map_or(a.span, |(_, s)| *s);
            if let Some(required) = def.node
                && !registry.derives_from(target_type, required)
            {
                self.report(
                    "wrong-type",
                    span,
                    child(path, "node"),
                    format!(
                        "node template `{name}` is a `{}`, but the requirement asks for a `{}`",
                        registry.display_name(target_type),
                        registry.display_name(required)
                    ),
                );
            }
            let offered = match &capability {
                CapabilityTarget::Name(c) => target.capabilities.contains_key(c),
                CapabilityTarget::Type(t) => target
                    .capabilities
                    .values()
                    .any(|c| registry.derives_from(c.capability_type, *t)),
            };
            if !offered {
                let wanted = match &capability {
                    CapabilityTarget::Name(c) => format!("a capability named `{c}`"),
                    CapabilityTarget::Type(t) => {
                        format!("a `{}` capability", registry.display_name(*t))
                    }
                };
                self.report(
                    "no-capability",
                    span,
                    child(path, "node"),
                    format!("node template `{name}` offers no {wanted}"),
                );
            }
        }
        // The relationship: a type, or a relationship template.
        let def_rel = def.relationship.as_ref();
        let mut relationship_type = def_rel.map(|r| r.relationship_type);
        let mut relationship_template = None;
        let mut relationship_properties = IndexMap::new();
        let empty = IndexMap::new();
        let rel_defs = def_rel.map_or(&empty, |r| &r.properties);
        if let Some(rel) = &a.relationship {
            if let Some((name, span)) = &rel.name {
                if let Some(t) = self.lookup(TypeKind::Relationship, name) {
                    if let Some(d) = def_rel.map(|r| r.relationship_type)
                        && !registry.derives_from(t, d)
                    {
                        self.report(
                            "wrong-type",
                            *span,
                            child(path, "relationship"),
                            format!(
                                "relationship type `{name}` does not derive from `{}`, which the requirement definition asks for",
                                registry.display_name(d)
                            ),
                        );
                    }
                    relationship_type = Some(t);
                } else if let Some(r) = relationships.get(name) {
                    relationship_type = Some(r.relationship_type);
                    relationship_template = Some(name.clone());
                    relationship_properties = r.properties.clone();
                } else if !self.st.relationship_templates.contains_key(name) {
                    self.report(
                        "unknown-type",
                        *span,
                        child(path, "relationship"),
                        format!(
                            "`{name}` is neither a relationship type nor a relationship template"
                        ),
                    );
                }
            }
            let rp = child(path, "relationship");
            let rt_defs = match relationship_type {
                Some(t) if Some(t) != def_rel.map(|r| r.relationship_type) => {
                    &registry.relationship_type(t).properties
                }
                _ => rel_defs,
            };
            let values = self.values(
                rt_defs,
                &rel.properties,
                a.span,
                &child(&rp, "properties"),
                "property",
                false,
            );
            for (k, v) in values {
                relationship_properties.insert(k, v);
            }
            if let Some(t) = relationship_type {
                let rt = registry.relationship_type(t);
                self.values(
                    &with_reflected(&rt.attributes, &rt.properties, &rel.attributes),
                    &rel.attributes,
                    a.span,
                    &child(&rp, "attributes"),
                    "attribute",
                    false,
                );
                let interfaces = match def_rel {
                    Some(d) if d.relationship_type == t => &d.interfaces,
                    _ => &rt.interfaces,
                };
                for (name, value) in &rel.interfaces {
                    self.interface_assignment(
                        interfaces,
                        name,
                        value,
                        &child(&child(&rp, "interfaces"), name),
                    );
                }
            }
        } else if relationship_type.is_some() {
            relationship_properties = self.values(
                rel_defs,
                &IndexMap::new(),
                a.span,
                &child(path, "relationship"),
                "property",
                false,
            );
        }
        let mut node_filters = Vec::new();
        if let Some(f) = &def.node_filter {
            node_filters.push(f.clone());
        }
        if let Some(f) = &a.node_filter {
            self.expression(f, &child(path, "node_filter"), Scope::Service);
            node_filters.push(f.clone());
        }
        for (name, v) in &a.allocation {
            self.expression(v, &child(&child(path, "allocation"), name), Scope::Service);
        }
        let relationship_interfaces = match relationship_type {
            Some(t) => {
                let definitions = match def_rel {
                    Some(d) if d.relationship_type == t => &d.interfaces,
                    _ => &registry.relationship_type(t).interfaces,
                };
                let mut assignments = Vec::new();
                if let Some(template) = relationship_template
                    .as_ref()
                    .and_then(|name| self.st.relationship_templates.get(name))
                {
                    assignments.push(&template.interfaces);
                }
                if let Some(rel) = &a.relationship {
                    assignments.push(&rel.interfaces);
                }
                self.resolve_interfaces(
                    definitions,
                    &assignments,
                    &child(&child(path, "relationship"), "interfaces"),
                )
            }
            None => IndexMap::new(),
        };
        Some(ResolvedRequirement {
            name: a.name.clone(),
            span: a.span,
            definition: def_index,
            node,
            capability,
            node_type: def.node,
            relationship_type,
            relationship_template,
            relationship_properties,
            relationship_interfaces,
            node_filters,
            allocation: a.allocation.clone(),
            count: a.count.clone(),
            optional: a.optional,
            implicit: a.implicit,
        })
    }

    /// The index of `[template, index]`: a non-negative integer or an expression.
    fn index(&mut self, index: &Value, path: &str) {
        match &index.kind {
            ValueKind::Integer(n) if *n >= 0 => {}
            _ => {
                if let Some(expr) = self.expression(index, path, Scope::Service)
                    && expr.is_constant()
                {
                    self.report(
                        "wrong-type",
                        index.span,
                        path,
                        "a node index must be a non-negative integer or an expression",
                    );
                }
            }
        }
    }

    // ---- relationship templates, groups, policies ---------------------------------------

    fn relationship_template(
        &mut self,
        rel: &RelationshipTemplate,
        path: &str,
    ) -> Option<ResolvedRelationship> {
        let id = self.resolve(
            TypeKind::Relationship,
            rel.type_name.as_ref()?,
            &child(path, "type"),
        )?;
        let rt = self.registry.relationship_type(id);
        let properties = self.values(
            &rt.properties,
            &rel.properties,
            rel.span,
            &child(path, "properties"),
            "property",
            true,
        );
        let attributes = self.values(
            &rt.attributes,
            &rel.attributes,
            rel.span,
            &child(path, "attributes"),
            "attribute",
            false,
        );
        for (name, value) in &rel.interfaces {
            self.interface_assignment(
                &rt.interfaces,
                name,
                value,
                &child(&child(path, "interfaces"), name),
            );
        }
        Some(ResolvedRelationship {
            relationship_type: id,
            properties,
            attributes,
        })
    }

    fn group(&mut self, g: &Group, resolved: &Resolved, path: &str) {
        let Some(id) = g
            .type_name
            .as_ref()
            .and_then(|t| self.resolve(TypeKind::Group, t, &child(path, "type")))
        else {
            return;
        };
        let registry = self.registry;
        let gt = registry.group_type(id);
        self.values(
            &gt.properties,
            &g.properties,
            g.span,
            &child(path, "properties"),
            "property",
            true,
        );
        self.values(
            &gt.attributes,
            &g.attributes,
            g.span,
            &child(path, "attributes"),
            "attribute",
            false,
        );
        for (member, span) in &g.members {
            let Some(&index) = resolved.by_name.get(member) else {
                if !self.st.node_templates.contains_key(member) {
                    self.report(
                        "unknown-template",
                        *span,
                        child(path, "members"),
                        format!("`{member}` is not a node template"),
                    );
                }
                continue;
            };
            let node_type = resolved.nodes[index].node_type;
            if let Some(allowed) = &gt.members
                && !allowed.iter().any(|a| registry.derives_from(node_type, *a))
            {
                self.report(
                    "wrong-type",
                    *span,
                    child(path, "members"),
                    format!(
                        "`{member}` is a `{}`, which group type `{}` does not allow as a member",
                        registry.display_name(node_type),
                        registry.display_name(id)
                    ),
                );
            }
        }
    }

    fn policy(&mut self, p: &Policy, resolved: &Resolved, path: &str) -> Option<ResolvedPolicy> {
        let id = p
            .type_name
            .as_ref()
            .and_then(|t| self.resolve(TypeKind::Policy, t, &child(path, "type")))?;
        let registry = self.registry;
        let pt = registry.policy_type(id);
        let properties = self.values(
            &pt.properties,
            &p.properties,
            p.span,
            &child(path, "properties"),
            "property",
            true,
        );
        for (target, span) in &p.targets {
            let target_type = if let Some(&i) = resolved.by_name.get(target) {
                Some(resolved.nodes[i].node_type)
            } else if let Some(g) = self.st.groups.get(target) {
                g.type_name
                    .as_ref()
                    .and_then(|t| self.lookup(TypeKind::Group, &t.0))
            } else {
                if !self.st.node_templates.contains_key(target) {
                    self.report(
                        "unknown-template",
                        *span,
                        child(path, "targets"),
                        format!("`{target}` is neither a node template nor a group"),
                    );
                }
                None
            };
            if let (Some(t), Some(allowed)) = (target_type, &pt.targets)
                && !allowed.iter().any(|a| registry.derives_from(t, *a))
            {
                self.report(
                    "wrong-type",
                    *span,
                    child(path, "targets"),
                    format!(
                        "`{target}` is a `{}`, which policy type `{}` does not allow as a target",
                        registry.display_name(t),
                        registry.display_name(id)
                    ),
                );
            }
        }
        for (name, trigger) in &p.triggers {
            if let Some(c) = trigger.get("condition") {
                self.expression(
                    c,
                    &format!("{path}.triggers.{name}.condition"),
                    Scope::Service,
                );
            }
        }
        Some(ResolvedPolicy {
            name: p.name.clone(),
            policy_type: id,
            properties,
            targets: self.policy_targets(p),
        })
    }

    /// A policy's targets as node template names: a group stands for its members.
    fn policy_targets(&self, p: &Policy) -> Vec<String> {
        let mut targets: Vec<String> = Vec::new();
        for (target, _) in &p.targets {
            let members: Vec<&String> = match self.st.groups.get(target) {
                Some(group) => group.members.iter().map(|(name, _)| name).collect(),
                None => vec![target],
            };
            for member in members {
                if !targets.contains(member) {
                    targets.push(member.clone());
                }
            }
        }
        targets
    }

    // ---- substitution mappings --------------------------------------------------------------

    // ---- workflows --------------------------------------------------------------------------

    fn workflow(&mut self, w: &Workflow, resolved: &Resolved, path: &str) {
        let saved = std::mem::replace(&mut self.inputs, w.inputs.keys().cloned().collect());
        for (name, p) in &w.inputs {
            self.parameter(p, &format!("{path}.inputs.{name}"), true);
        }
        if let Some(condition) = &w.precondition {
            self.expression(condition, &child(path, "precondition"), Scope::Workflow);
        }
        for (sname, step) in &w.steps {
            let sp = format!("{path}.steps.{sname}");
            for (i, condition) in step.filter.iter().enumerate() {
                self.expression(condition, &format!("{sp}.filter[{i}]"), Scope::Workflow);
            }
            for (next, span) in step.on_success.iter().chain(&step.on_failure) {
                if !w.steps.contains_key(next) {
                    self.report(
                        "unknown-step",
                        *span,
                        &sp,
                        format!("`{next}` is not a step of this workflow"),
                    );
                }
            }
            let target_type = match &step.target {
                Some((t, span)) => match resolved.by_name.get(t) {
                    Some(&i) => Some(resolved.nodes[i].node_type),
                    None => {
                        if !self.st.node_templates.contains_key(t)
                            && !self.st.groups.contains_key(t)
                        {
                            self.report(
                                "unknown-template",
                                *span,
                                child(&sp, "target"),
                                format!("`{t}` is neither a node template nor a group"),
                            );
                        }
                        None
                    }
                },
                None => None,
            };
            if let (Some((req, span)), Some(t)) = (&step.target_relationship, target_type)
                && !self
                    .registry
                    .node_type(t)
                    .requirements
                    .iter()
                    .any(|r| r.name == *req)
            {
                self.report(
                    "undeclared",
                    *span,
                    child(&sp, "target_relationship"),
                    format!("the target has no requirement `{req}`"),
                );
            }
            for (i, activity) in step.activities.iter().enumerate() {
                let ap = format!("{sp}.activities[{i}]");
                self.activity(activity, w, target_type, &ap);
            }
        }
        self.inputs = saved;
    }

    fn activity(&mut self, activity: &Activity, w: &Workflow, target: Option<TypeId>, path: &str) {
        match activity {
            Activity::Delegate { inputs, .. } => {
                for (k, v) in inputs {
                    self.expression(v, &child(path, k), Scope::Workflow);
                }
            }
            Activity::Inline { workflow, inputs } => {
                if !self.st.workflows.contains_key(&workflow.0) {
                    self.report(
                        "unknown-workflow",
                        workflow.1,
                        path,
                        format!("`{}` is not a workflow of the service", workflow.0),
                    );
                }
                for (k, v) in inputs {
                    self.expression(v, &child(path, k), Scope::Workflow);
                }
            }
            Activity::SetState(..) => {}
            Activity::CallOperation { operation, inputs } => {
                let path = &child(path, "call_operation");
                for (k, (v, _)) in inputs {
                    self.expression(v, &child(path, k), Scope::Workflow);
                }
                let Some(t) = target else { return };
                let Some((iface, op)) = operation.0.split_once('.') else {
                    self.report(
                        "wrong-kind",
                        operation.1,
                        path,
                        "an operation is named `interface.operation`",
                    );
                    return;
                };
                let registry = self.registry;
                let Some(idef) = registry.node_type(t).interfaces.get(iface) else {
                    self.report(
                        "undeclared",
                        operation.1,
                        path,
                        format!("the target has no interface `{iface}`"),
                    );
                    return;
                };
                let Some(odef) = idef.operations.get(op) else {
                    self.report(
                        "undeclared",
                        operation.1,
                        path,
                        format!("interface `{iface}` has no operation `{op}`"),
                    );
                    return;
                };
                let declared: IndexMap<&String, &types::ParameterDef> =
                    idef.inputs.iter().chain(&odef.inputs).collect();
                for (k, (v, span)) in inputs {
                    let Some(def) = declared.get(k) else {
                        self.report(
                            "undeclared",
                            *span,
                            child(path, k),
                            format!("`{k}` is not an input of operation `{}`", operation.0),
                        );
                        continue;
                    };
                    self.operation_input(def, v, w, *span, &child(path, k));
                }
                for (k, def) in &declared {
                    if def.required
                        && def.default.is_none()
                        && def.value.is_none()
                        && !inputs.contains_key(*k)
                    {
                        self.report(
                            "missing-required",
                            operation.1,
                            path,
                            format!(
                                "the required input `{k}` of operation `{}` is not given",
                                operation.0
                            ),
                        );
                    }
                }
            }
        }
    }

    /// A value passed to a declared operation input: a literal must fit its type; a
    /// `$get_input` of a workflow input must have a compatible type and be given whenever the
    /// operation needs it.
    fn operation_input(
        &mut self,
        def: &types::ParameterDef,
        value: &Value,
        w: &Workflow,
        span: Span,
        path: &str,
    ) {
        let Some(schema) = &def.schema else { return };
        if let Ok(expr) = functions::parse_expr(value) {
            if let Some(lit) = expr.as_literal() {
                types::check_value(self.registry, schema, lit, self.problems, path);
                return;
            }
            if let Expr::Call(call) = &expr
                && call.name == "get_input"
                && call.args.len() == 1
                && let Some(name) = call.args[0].as_literal().and_then(Value::as_str)
                && let Some(input) = w.inputs.get(name)
            {
                if let Some(t) = &input.type_name
                    && let Some(it) = self.lookup(TypeKind::Data, &t.0)
                    && !self.registry.derives_from(it, schema.data_type)
                {
                    self.report(
                        "wrong-type",
                        span,
                        path,
                        format!(
                            "workflow input `{name}` is a `{}`, but the operation input is a `{}`",
                            t.0,
                            self.registry.display_name(schema.data_type)
                        ),
                    );
                }
                if def.required && !input.required && input.default.is_none() {
                    self.report(
                        "missing-required",
                        span,
                        path,
                        format!("workflow input `{name}` is optional, but the operation input it feeds is required"),
                    );
                }
            }
        }
    }
}

/// The attribute definitions of an entity with its properties reflected as attributes
/// (§9.5: every property also has an attribute of the same name, which a template may assign,
/// §9.6), for checking attribute assignments. A reflected attribute has the property's type
/// and validation but no default or fixed value: its initial value is the property's.
/// Borrows `attributes` unchanged when every assigned name is declared there.
fn with_reflected<'a>(
    attributes: &'a IndexMap<String, PropertyDef>,
    properties: &IndexMap<String, PropertyDef>,
    assigned: &IndexMap<String, Value>,
) -> std::borrow::Cow<'a, IndexMap<String, PropertyDef>> {
    if assigned.keys().all(|name| attributes.contains_key(name)) {
        return std::borrow::Cow::Borrowed(attributes);
    }
    let mut all = attributes.clone();
    for (name, def) in properties {
        if !all.contains_key(name) {
            let mut reflected = def.clone();
            reflected.required = false;
            reflected.default = None;
            reflected.fixed = None;
            all.insert(name.clone(), reflected);
        }
    }
    std::borrow::Cow::Owned(all)
}

/// The schema of a service or workflow parameter: its type, its `entry_schema` and
/// `key_schema` at any depth (a type name or `{type, entry_schema, key_schema, validation}`),
/// and its validation clause, so a default or an input value is checked all the way down.
pub fn parameter_schema(
    registry: &TypeRegistry,
    file: FileId,
    data_type: TypeId,
    p: &Parameter,
) -> types::Schema {
    let mut schema = nested_schema(registry, file, data_type, Some(&p.definition));
    schema.validation = p.validation.iter().cloned().collect();
    schema
}

/// The schema written at `definition` (a schema definition's map, if any) for `data_type`;
/// what it does not say about entries and keys comes from the data type itself.
fn nested_schema(
    registry: &TypeRegistry,
    file: FileId,
    data_type: TypeId,
    definition: Option<&Value>,
) -> types::Schema {
    let sub = |key: &str| -> Option<Box<types::Schema>> {
        let v = definition?.get(key)?;
        let name = v
            .as_str()
            .or_else(|| v.get("type").and_then(Value::as_str))?;
        let id = registry.lookup(file, TypeKind::Data, name)?;
        Some(Box::new(nested_schema(
            registry,
            file,
            id,
            v.as_map().map(|_| v),
        )))
    };
    let own = registry.data_type(data_type);
    types::Schema {
        data_type,
        entry_schema: sub("entry_schema").or_else(|| own.entry_schema.clone().map(Box::new)),
        key_schema: sub("key_schema").or_else(|| own.key_schema.clone().map(Box::new)),
        validation: definition
            .and_then(|d| d.get("validation"))
            .into_iter()
            .cloned()
            .collect(),
    }
}
