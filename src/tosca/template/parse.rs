//! Reading `service_template` into [`ServiceTemplate`]: keynames, shapes and names only.
//!
//! Type-dependent checks come later ([`super::check`]); here a problem means the text does not
//! follow the grammar of chapter 8 (a list where a map is expected, an unknown keyname, a
//! missing `type`, an empty section…).

use indexmap::IndexMap;

use super::model::*;
use super::read::{self, child};
use crate::tosca::problem::Problems;
use crate::tosca::source::FileId;
use crate::tosca::value::{Value, ValueKind};

const SERVICE_KEYS: &[&str] = &[
    "description",
    "metadata",
    "inputs",
    "outputs",
    "node_templates",
    "relationship_templates",
    "groups",
    "policies",
    "substitution_mappings",
    "workflows",
];

const NODE_KEYS: &[&str] = &[
    "type",
    "description",
    "metadata",
    "directives",
    "properties",
    "attributes",
    "requirements",
    "capabilities",
    "interfaces",
    "artifacts",
    "count",
    "node_filter",
    "copy",
];

const PARAMETER_KEYS: &[&str] = &[
    "type",
    "description",
    "metadata",
    "required",
    "default",
    "value",
    "mapping",
    "validation",
    "key_schema",
    "entry_schema",
];

/// Reads a `service_template` value found in `file`.
/// The value is taken, not borrowed: what the template keeps (property values and the like)
/// is moved out of it rather than copied.
pub fn service_template(
    value: Value,
    file: FileId,
    path: &str,
    problems: &mut Problems,
) -> ServiceTemplate {
    let mut st = ServiceTemplate {
        file,
        span: value.span,
        ..ServiceTemplate::default()
    };
    read::require(
        &value,
        "node_templates",
        path,
        "a service template",
        problems,
    );
    let Some(entries) = read::into_map(value, path, "a service template", problems) else {
        return st;
    };
    for (key, v) in read::keyed_owned(entries, SERVICE_KEYS, path, "a service template", problems) {
        let p = child(path, key);
        match key {
            "description" => st.description = read::string(&v, &p, "a description", problems),
            "metadata" => read::metadata(&v, &p, problems),
            "inputs" => st.inputs = parameters(&v, &p, "inputs", problems),
            "outputs" => st.outputs = parameters(&v, &p, "outputs", problems),
            "node_templates" => {
                if let Some(nodes) = read::into_map(v, &p, "node_templates", problems) {
                    st.node_templates = IndexMap::with_capacity(nodes.len());
                    for (name, node) in read::named_owned(nodes, &p, problems) {
                        let np = child(&p, &name);
                        let t = node_template(name.clone(), node, &np, problems);
                        st.node_templates.insert(name, t);
                    }
                }
            }
            "relationship_templates" => {
                if let Some(rels) = read::map(&v, &p, "relationship_templates", problems) {
                    for (name, rel) in named(rels, &p, problems) {
                        let rp = child(&p, &name);
                        let t = relationship_template(name.clone(), rel, &rp, problems);
                        st.relationship_templates.insert(name, t);
                    }
                }
            }
            "groups" => {
                if let Some(groups) = read::map(&v, &p, "groups", problems) {
                    for (name, g) in named(groups, &p, problems) {
                        let gp = child(&p, &name);
                        let g = group(name.clone(), g, &gp, problems);
                        st.groups.insert(name, g);
                    }
                }
            }
            "policies" => {
                for (i, (name, _, pv)) in read::single_key_maps(&v, &p, "policies", problems)
                    .into_iter()
                    .enumerate()
                {
                    let pp = format!("{p}[{i}].{name}");
                    st.policies.push(policy(name, pv, &pp, problems));
                }
            }
            "substitution_mappings" => {
                st.substitution_mappings = super::substitution::read(&v, &p, problems)
            }
            "workflows" => {
                if let Some(wfs) = read::map(&v, &p, "workflows", problems) {
                    for (name, w) in named(wfs, &p, problems) {
                        let wp = child(&p, &name);
                        let w = workflow(name.clone(), w, &wp, problems);
                        st.workflows.insert(name, w);
                    }
                }
            }
            _ => {}
        }
    }
    resolve_node_copies(&mut st, path, problems);
    resolve_relationship_copies(&mut st, path, problems);
    st
}

/// The string-named entries of a map of definitions.
fn named<'a>(
    entries: &'a [(Value, Value)],
    path: &str,
    problems: &mut Problems,
) -> Vec<(String, &'a Value)> {
    entries
        .iter()
        .filter_map(|(k, v)| read::string(k, path, "a name", problems).map(|n| (n, v)))
        .collect()
}

/// A map of assignments (`properties`, `attributes`, `inputs`…) keyed by name.
pub(super) fn assignments(
    value: Value,
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> IndexMap<String, Value> {
    if value.is_null() {
        return IndexMap::new();
    }
    read::into_map(value, path, what, problems)
        .map(|entries| {
            read::named_owned(entries, path, problems)
                .into_iter()
                .collect()
        })
        .unwrap_or_default()
}

/// A type name as written, with its span.
pub(super) fn type_name(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<(String, crate::tosca::source::Span)> {
    read::string(value, path, "a type name", problems).map(|s| (s, value.span))
}

/// `inputs`/`outputs` (of the service or of a workflow).
pub fn parameters(
    value: &Value,
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> IndexMap<String, Parameter> {
    let mut out = IndexMap::new();
    let Some(entries) = read::map(value, path, what, problems) else {
        return out;
    };
    for (name, def) in named(entries, path, problems) {
        let p = child(path, &name);
        let mut param = Parameter {
            name: name.clone(),
            span: def.span,
            definition: def.clone(),
            type_name: None,
            required: true,
            default: None,
            value: None,
            validation: None,
        };
        if def.is_null() {
            out.insert(name, param);
            continue;
        }
        // §9.7: an outgoing parameter (an output) may be written as just its value, a literal
        // or a function call (a map whose only key starts with one `$`).
        let is_call = def.as_map().is_some_and(|m| {
            m.len() == 1
                && m[0]
                    .0
                    .as_str()
                    .is_some_and(|k| k.starts_with('$') && !k.starts_with("$$"))
        });
        if what == "outputs" && (def.as_map().is_none() || is_call) {
            param.value = Some(def.clone());
            out.insert(name, param);
            continue;
        }
        let Some(fields) = read::map(def, &p, "a parameter definition", problems) else {
            continue;
        };
        for (key, _, v) in read::keyed(
            fields,
            PARAMETER_KEYS,
            &p,
            "a parameter definition",
            problems,
        ) {
            let kp = child(&p, key);
            match key {
                "type" => param.type_name = type_name(v, &kp, problems),
                "description" => {
                    read::string(v, &kp, "a description", problems);
                }
                "metadata" => read::metadata(v, &kp, problems),
                "required" => {
                    param.required = read::boolean(v, &kp, "`required`", problems).unwrap_or(true)
                }
                "default" => param.default = Some(v.clone()),
                "value" => param.value = Some(v.clone()),
                "validation" => param.validation = Some(v.clone()),
                _ => {}
            }
        }
        if param.value.is_some() && fields.iter().any(|(k, _)| k.as_str() == Some("mapping")) {
            problems.report(
                "conflicting-keynames",
                def.span,
                &p,
                "a parameter cannot have both `value` and `mapping`",
            );
        }
        out.insert(name, param);
    }
    out
}

/// One node template.
fn node_template(name: String, value: Value, path: &str, problems: &mut Problems) -> NodeTemplate {
    let span = value.span;
    let mut t = NodeTemplate {
        name,
        span,
        type_name: None,
        directives: Vec::new(),
        properties: IndexMap::new(),
        attributes: IndexMap::new(),
        requirements: Vec::new(),
        capabilities: IndexMap::new(),
        interfaces: IndexMap::new(),
        artifacts: IndexMap::new(),
        count: None,
        node_filter: None,
        copy: None,
    };
    let Some(entries) = read::into_map(value, path, "a node template", problems) else {
        return t;
    };
    for (key, v) in read::keyed_owned(entries, NODE_KEYS, path, "a node template", problems) {
        let p = child(path, key);
        match key {
            "type" => t.type_name = type_name(&v, &p, problems),
            "description" => {
                read::string(&v, &p, "a description", problems);
            }
            "metadata" => read::metadata(&v, &p, problems),
            "directives" => {
                t.directives = read::strings(&v, &p, "directives", problems);
                for (i, d) in t.directives.iter().enumerate() {
                    if !matches!(d.as_str(), "create" | "select" | "substitute") {
                        let span = v
                            .as_list()
                            .and_then(|l| l.get(i))
                            .map_or(v.span, |e| e.span);
                        problems.report(
                            "unknown-directive",
                            span,
                            &p,
                            format!("`{d}` is not a node template directive; expected create, select or substitute"),
                        );
                    }
                }
            }
            "properties" => t.properties = assignments(v, &p, "properties", problems),
            "attributes" => t.attributes = assignments(v, &p, "attributes", problems),
            "requirements" => {
                let entries = read::single_key_maps(&v, &p, "requirements", problems);
                // Sized once: an assignment is large, and growing from one to four of them
                // for every node template is most of a large service's templates in memory.
                t.requirements.reserve_exact(entries.len());
                for (i, (rname, _, rv)) in entries.into_iter().enumerate() {
                    let rp = format!("{p}[{i}].{rname}");
                    t.requirements.push(requirement(rname, rv, &rp, problems));
                }
            }
            "capabilities" => {
                if let Some(caps) = read::into_map(v, &p, "capabilities", problems) {
                    for (cname, cv) in read::named_owned(caps, &p, problems) {
                        let cp = child(&p, &cname);
                        let c = capability(cname.clone(), cv, &cp, problems);
                        t.capabilities.insert(cname, c);
                    }
                }
            }
            "interfaces" => t.interfaces = assignments(v, &p, "interfaces", problems),
            "artifacts" => t.artifacts = assignments(v, &p, "artifacts", problems),
            "count" => t.count = Some(v),
            "node_filter" => t.node_filter = Some(v),
            "copy" => t.copy = read::string(&v, &p, "`copy`", problems).map(|s| (s, v.span)),
            _ => {}
        }
    }
    if t.type_name.is_none() && t.copy.is_none() {
        problems.report(
            "missing-keyname",
            span,
            path,
            "a node template must have `type`",
        );
    }
    t
}

/// One capability assignment.
fn capability(
    name: String,
    value: Value,
    path: &str,
    problems: &mut Problems,
) -> CapabilityAssignment {
    let mut c = CapabilityAssignment {
        name,
        span: value.span,
        properties: IndexMap::new(),
        attributes: IndexMap::new(),
        directives: Vec::new(),
    };
    if value.is_null() {
        return c;
    }
    let Some(entries) = read::into_map(value, path, "a capability assignment", problems) else {
        return c;
    };
    // `type` is not part of the 2.0 assignment grammar, but the suite uses it to restate the
    // definition's type; it is accepted and checked to be that type.
    let keys = ["properties", "attributes", "directives", "type"];
    for (key, v) in read::keyed_owned(entries, &keys, path, "a capability assignment", problems) {
        let p = child(path, key);
        match key {
            "properties" => c.properties = assignments(v, &p, "properties", problems),
            "attributes" => c.attributes = assignments(v, &p, "attributes", problems),
            "directives" => {
                c.directives = read::strings(&v, &p, "directives", problems);
                check_scope_directives(&c.directives, &v, &p, problems);
            }
            _ => {}
        }
    }
    c
}

/// `directives` of capability and requirement assignments: `internal` and `external`.
fn check_scope_directives(
    directives: &[String],
    value: &Value,
    path: &str,
    problems: &mut Problems,
) {
    for d in directives {
        if d != "internal" && d != "external" {
            problems.report(
                "unknown-directive",
                value.span,
                path,
                format!("`{d}` is not a directive here; expected internal or external"),
            );
        }
    }
}

/// A `node` value: a name or `[name, index]`.
fn node_ref(value: &Value, path: &str, problems: &mut Problems) -> Option<NodeRef> {
    match &value.kind {
        ValueKind::String(s) => Some(NodeRef::Name(s.clone())),
        ValueKind::List(l) if l.len() == 2 && l[0].as_str().is_some() => Some(NodeRef::Indexed(
            l[0].as_str().unwrap_or_default().to_string(),
            l[1].clone(),
        )),
        _ => {
            problems.report(
                "wrong-kind",
                value.span,
                path,
                "`node` must be a node template or type name, or a [template, index] pair",
            );
            None
        }
    }
}

/// One requirement assignment (short or long form).
fn requirement(
    name: String,
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> RequirementAssignment {
    let mut r = RequirementAssignment {
        name,
        span: value.span,
        node: None,
        capability: None,
        relationship: None,
        allocation: IndexMap::new(),
        count: None,
        node_filter: None,
        directives: Vec::new(),
        optional: false,
        implicit: false,
    };
    match &value.kind {
        ValueKind::String(_) | ValueKind::List(_) => {
            r.node = node_ref(value, path, problems).map(|n| (n, value.span));
            return r;
        }
        ValueKind::Null => return r,
        _ => {}
    }
    let Some(entries) = read::map(value, path, "a requirement assignment", problems) else {
        return r;
    };
    let keys = [
        "node",
        "capability",
        "relationship",
        "allocation",
        "count",
        "node_filter",
        "directives",
        "optional",
    ];
    for (key, _, v) in read::keyed(entries, &keys, path, "a requirement assignment", problems) {
        let p = child(path, key);
        match key {
            "node" => r.node = node_ref(v, &p, problems).map(|n| (n, v.span)),
            "capability" => {
                r.capability = read::string(v, &p, "`capability`", problems).map(|s| (s, v.span))
            }
            "relationship" => r.relationship = Some(relationship_assignment(v, &p, problems)),
            "allocation" => r.allocation = assignments(v.clone(), &p, "allocation", problems),
            "count" => r.count = Some(v.clone()),
            "node_filter" => r.node_filter = Some(v.clone()),
            "directives" => {
                r.directives = read::strings(v, &p, "directives", problems);
                check_scope_directives(&r.directives, v, &p, problems);
            }
            "optional" => {
                r.optional = read::boolean(v, &p, "`optional`", problems).unwrap_or(false)
            }
            _ => {}
        }
    }
    r
}

/// The `relationship` of a requirement assignment.
fn relationship_assignment(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> RelationshipAssignment {
    let mut r = RelationshipAssignment::default();
    if let Some(s) = value.as_str() {
        r.name = Some((s.to_string(), value.span));
        return r;
    }
    let Some(entries) = read::map(value, path, "a relationship assignment", problems) else {
        return r;
    };
    let keys = ["type", "properties", "attributes", "interfaces"];
    for (key, _, v) in read::keyed(entries, &keys, path, "a relationship assignment", problems) {
        let p = child(path, key);
        match key {
            "type" => r.name = type_name(v, &p, problems),
            "properties" => r.properties = assignments(v.clone(), &p, "properties", problems),
            "attributes" => r.attributes = assignments(v.clone(), &p, "attributes", problems),
            "interfaces" => r.interfaces = assignments(v.clone(), &p, "interfaces", problems),
            _ => {}
        }
    }
    r
}

/// One relationship template.
fn relationship_template(
    name: String,
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> RelationshipTemplate {
    let mut t = RelationshipTemplate {
        name,
        span: value.span,
        type_name: None,
        properties: IndexMap::new(),
        attributes: IndexMap::new(),
        interfaces: IndexMap::new(),
        copy: None,
    };
    let Some(entries) = read::map(value, path, "a relationship template", problems) else {
        return t;
    };
    let keys = [
        "type",
        "description",
        "metadata",
        "properties",
        "attributes",
        "interfaces",
        "copy",
    ];
    for (key, _, v) in read::keyed(entries, &keys, path, "a relationship template", problems) {
        let p = child(path, key);
        match key {
            "type" => t.type_name = type_name(v, &p, problems),
            "description" => {
                read::string(v, &p, "a description", problems);
            }
            "metadata" => read::metadata(v, &p, problems),
            "properties" => t.properties = assignments(v.clone(), &p, "properties", problems),
            "attributes" => t.attributes = assignments(v.clone(), &p, "attributes", problems),
            "interfaces" => t.interfaces = assignments(v.clone(), &p, "interfaces", problems),
            "copy" => t.copy = read::string(v, &p, "`copy`", problems).map(|s| (s, v.span)),
            _ => {}
        }
    }
    if t.type_name.is_none() && t.copy.is_none() {
        problems.report(
            "missing-keyname",
            value.span,
            path,
            "a relationship template must have `type`",
        );
    }
    t
}

/// One group.
fn group(name: String, value: &Value, path: &str, problems: &mut Problems) -> Group {
    let mut g = Group {
        name,
        span: value.span,
        type_name: None,
        properties: IndexMap::new(),
        attributes: IndexMap::new(),
        members: Vec::new(),
    };
    let Some(entries) = read::map(value, path, "a group", problems) else {
        return g;
    };
    read::require(value, "type", path, "a group", problems);
    let keys = [
        "type",
        "description",
        "metadata",
        "properties",
        "attributes",
        "members",
    ];
    for (key, _, v) in read::keyed(entries, &keys, path, "a group", problems) {
        let p = child(path, key);
        match key {
            "type" => g.type_name = type_name(v, &p, problems),
            "description" => {
                read::string(v, &p, "a description", problems);
            }
            "metadata" => read::metadata(v, &p, problems),
            "properties" => g.properties = assignments(v.clone(), &p, "properties", problems),
            "attributes" => g.attributes = assignments(v.clone(), &p, "attributes", problems),
            "members" => g.members = spanned_strings(v, &p, "members", problems),
            _ => {}
        }
    }
    g
}

/// A list of names, each with its span.
fn spanned_strings(
    value: &Value,
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Vec<(String, crate::tosca::source::Span)> {
    read::list(value, path, what, problems)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| read::string(v, path, "a name", problems).map(|s| (s, v.span)))
        .collect()
}

/// One policy.
fn policy(name: String, value: &Value, path: &str, problems: &mut Problems) -> Policy {
    let mut pol = Policy {
        name,
        span: value.span,
        type_name: None,
        properties: IndexMap::new(),
        targets: Vec::new(),
        triggers: IndexMap::new(),
    };
    let Some(entries) = read::map(value, path, "a policy", problems) else {
        return pol;
    };
    read::require(value, "type", path, "a policy", problems);
    let keys = [
        "type",
        "description",
        "metadata",
        "properties",
        "targets",
        "triggers",
    ];
    for (key, _, v) in read::keyed(entries, &keys, path, "a policy", problems) {
        let p = child(path, key);
        match key {
            "type" => pol.type_name = type_name(v, &p, problems),
            "description" => {
                read::string(v, &p, "a description", problems);
            }
            "metadata" => read::metadata(v, &p, problems),
            "properties" => pol.properties = assignments(v.clone(), &p, "properties", problems),
            "targets" => pol.targets = spanned_strings(v, &p, "targets", problems),
            "triggers" => {
                pol.triggers = assignments(v.clone(), &p, "triggers", problems);
                for (tname, trigger) in &pol.triggers {
                    check_trigger(trigger, &child(&p, tname), problems);
                }
            }
            _ => {}
        }
    }
    pol
}

/// A trigger: `event` and `action` are mandatory; `condition` is a condition clause.
fn check_trigger(value: &Value, path: &str, problems: &mut Problems) {
    let Some(entries) = read::map(value, path, "a trigger", problems) else {
        return;
    };
    read::require(value, "event", path, "a trigger", problems);
    read::require(value, "action", path, "a trigger", problems);
    let keys = ["description", "metadata", "event", "condition", "action"];
    for (key, _, v) in read::keyed(entries, &keys, path, "a trigger", problems) {
        let p = child(path, key);
        match key {
            "event" => {
                read::string(v, &p, "`event`", problems);
            }
            "action" => {
                read::list(v, &p, "`action`", problems);
            }
            _ => {}
        }
    }
}

/// One workflow.
fn workflow(name: String, value: &Value, path: &str, problems: &mut Problems) -> Workflow {
    let mut w = Workflow {
        name,
        span: value.span,
        inputs: IndexMap::new(),
        precondition: None,
        steps: IndexMap::new(),
    };
    let Some(entries) = read::map(value, path, "a workflow", problems) else {
        return w;
    };
    let keys = [
        "description",
        "metadata",
        "inputs",
        "precondition",
        "steps",
        "implementation",
        "outputs",
    ];
    let fields = read::keyed(entries, &keys, path, "a workflow", problems);
    if fields.iter().any(|(k, _, _)| *k == "steps")
        && fields.iter().any(|(k, _, _)| *k == "implementation")
    {
        problems.report(
            "conflicting-keynames",
            value.span,
            path,
            "a workflow has either `steps` or `implementation`, not both",
        );
    }
    for (key, _, v) in fields {
        let p = child(path, key);
        match key {
            "description" => {
                read::string(v, &p, "a description", problems);
            }
            "metadata" => read::metadata(v, &p, problems),
            "inputs" => w.inputs = parameters(v, &p, "inputs", problems),
            "precondition" => w.precondition = Some(v.clone()),
            "outputs" => {
                read::map(v, &p, "outputs", problems);
            }
            "steps" => {
                // An empty `steps:` is a workflow with no steps yet (spec snippet s43).
                if v.is_null() {
                    continue;
                }
                if let Some(steps) = read::map(v, &p, "steps", problems) {
                    for (sname, sv) in named(steps, &p, problems) {
                        let sp = child(&p, &sname);
                        let step = step(sname.clone(), sv, &sp, problems);
                        w.steps.insert(sname, step);
                    }
                }
            }
            _ => {}
        }
    }
    w
}

/// One workflow step.
fn step(name: String, value: &Value, path: &str, problems: &mut Problems) -> WorkflowStep {
    let mut s = WorkflowStep {
        name,
        span: value.span,
        target: None,
        target_relationship: None,
        activities: Vec::new(),
        filter: Vec::new(),
        on_success: Vec::new(),
        on_failure: Vec::new(),
    };
    let Some(entries) = read::map(value, path, "a workflow step", problems) else {
        return s;
    };
    read::require(value, "target", path, "a workflow step", problems);
    read::require(value, "activities", path, "a workflow step", problems);
    let keys = [
        "target",
        "target_relationship",
        "filter",
        "activities",
        "on_success",
        "on_failure",
    ];
    for (key, _, v) in read::keyed(entries, &keys, path, "a workflow step", problems) {
        let p = child(path, key);
        match key {
            "target" => s.target = read::string(v, &p, "`target`", problems).map(|t| (t, v.span)),
            "target_relationship" => {
                s.target_relationship =
                    read::string(v, &p, "`target_relationship`", problems).map(|t| (t, v.span))
            }
            "filter" => {
                s.filter = read::list(v, &p, "`filter`", problems)
                    .unwrap_or_default()
                    .to_vec()
            }
            "activities" => {
                for (i, (kind, _, av)) in read::single_key_maps(v, &p, "activities", problems)
                    .into_iter()
                    .enumerate()
                {
                    let ap = format!("{p}[{i}].{kind}");
                    if let Some(a) = activity(&kind, av, &ap, problems) {
                        s.activities.push(a);
                    }
                }
            }
            "on_success" | "on_failure" => {
                let names = match &v.kind {
                    ValueKind::String(n) => vec![(n.clone(), v.span)],
                    _ => spanned_strings(v, &p, key, problems),
                };
                if key == "on_success" {
                    s.on_success = names;
                } else {
                    s.on_failure = names;
                }
            }
            _ => {}
        }
    }
    s
}

/// One activity: `delegate`, `set_state`, `call_operation` or `inline`.
fn activity(kind: &str, value: &Value, path: &str, problems: &mut Problems) -> Option<Activity> {
    // The short form is a string; the long form names the target and gives inputs.
    let long = |target: &str,
                problems: &mut Problems|
     -> Option<(
        (String, crate::tosca::source::Span),
        IndexMap<String, Value>,
    )> {
        if let Some(s) = value.as_str() {
            return Some(((s.to_string(), value.span), IndexMap::new()));
        }
        let entries = read::map(value, path, "an activity", problems)?;
        read::require(value, target, path, "an activity", problems);
        let mut name = None;
        let mut inputs = IndexMap::new();
        for (key, _, v) in read::keyed(entries, &[target, "inputs"], path, "an activity", problems)
        {
            let p = child(path, key);
            if key == "inputs" {
                inputs = assignments(v.clone(), &p, "inputs", problems);
            } else {
                name = read::string(v, &p, target, problems).map(|s| (s, v.span));
            }
        }
        Some((name?, inputs))
    };
    match kind {
        "delegate" => long("workflow", problems)
            .map(|(workflow, inputs)| Activity::Delegate { workflow, inputs }),
        "inline" => long("workflow", problems)
            .map(|(workflow, inputs)| Activity::Inline { workflow, inputs }),
        "call_operation" => {
            long("operation", problems).map(|(operation, inputs)| Activity::CallOperation {
                operation,
                inputs: inputs
                    .into_iter()
                    .map(|(k, v)| {
                        let span = v.span;
                        (k, (v, span))
                    })
                    .collect(),
            })
        }
        "set_state" => read::string(value, path, "`set_state`", problems)
            .map(|s| Activity::SetState(s, value.span)),
        other => {
            problems.report(
                "unknown-keyname",
                value.span,
                path,
                format!("`{other}` is not an activity; expected delegate, set_state, call_operation or inline"),
            );
            None
        }
    }
}

/// Applies `copy` to node templates: a template takes every keyname of the copied one that it
/// does not set itself.
fn resolve_node_copies(st: &mut ServiceTemplate, path: &str, problems: &mut Problems) {
    let path = format!("{path}.node_templates");
    resolve_copies(
        &mut st.node_templates,
        "node",
        &path,
        problems,
        |t| t.copy.as_ref(),
        |t, original| {
            if t.type_name.is_none() {
                t.type_name = original.type_name;
            }
            if t.directives.is_empty() {
                t.directives = original.directives;
            }
            merge(&mut t.properties, original.properties);
            merge(&mut t.attributes, original.attributes);
            if t.requirements.is_empty() {
                t.requirements = original.requirements;
            }
            for (k, v) in original.capabilities {
                t.capabilities.entry(k).or_insert(v);
            }
            merge(&mut t.interfaces, original.interfaces);
            merge(&mut t.artifacts, original.artifacts);
            if t.count.is_none() {
                t.count = original.count;
            }
            if t.node_filter.is_none() {
                t.node_filter = original.node_filter;
            }
        },
    );
}

/// `copy` for relationship templates.
fn resolve_relationship_copies(st: &mut ServiceTemplate, path: &str, problems: &mut Problems) {
    let path = format!("{path}.relationship_templates");
    resolve_copies(
        &mut st.relationship_templates,
        "relationship",
        &path,
        problems,
        |t| t.copy.as_ref(),
        |t, original| {
            if t.type_name.is_none() {
                t.type_name = original.type_name;
            }
            merge(&mut t.properties, original.properties);
            merge(&mut t.attributes, original.attributes);
            merge(&mut t.interfaces, original.interfaces);
        },
    );
}

/// The rule both kinds of `copy` share: the copied template must exist and must not itself be
/// a copy; `fill` then gives the copying template what it does not set.
fn resolve_copies<T: Clone>(
    templates: &mut IndexMap<String, T>,
    kind: &str,
    path: &str,
    problems: &mut Problems,
    copy_of: fn(&T) -> Option<&(String, crate::tosca::source::Span)>,
    fill: fn(&mut T, T),
) {
    let copies: Vec<(String, String, crate::tosca::source::Span)> = templates
        .iter()
        .filter_map(|(name, t)| copy_of(t).map(|(c, s)| (name.clone(), c.clone(), *s)))
        .collect();
    for (name, source, span) in copies {
        let p = format!("{path}.{name}.copy");
        let Some(original) = templates.get(&source) else {
            problems.report(
                "unknown-template",
                span,
                p,
                format!("`{source}` is not a {kind} template"),
            );
            continue;
        };
        if copy_of(original).is_some() {
            problems.report(
                "chained-copy",
                span,
                p,
                format!("`{source}` is itself a copy; a template can only copy one that is not"),
            );
            continue;
        }
        let original = original.clone();
        let t = templates.get_mut(&name).expect("copying template exists");
        fill(t, original);
    }
}

/// Adds the entries of `from` that `into` does not have.
fn merge(into: &mut IndexMap<String, Value>, from: IndexMap<String, Value>) {
    for (k, v) in from {
        into.entry(k).or_insert(v);
    }
}
