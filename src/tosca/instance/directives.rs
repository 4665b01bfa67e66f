//! Realising node template `directives`: each template's list is an ordered fallback
//! (`[select, substitute, create]`), and the first directive that can be honoured decides
//! how its instances come to be.
//!
//! `create` (and no directives) instantiates the template as written. `select` stands for a
//! node of another service (see [`super::select`]). `substitute` replaces each instance by a
//! substituting service template's instances (see [`super::substitute`]); that template is
//! instantiated the same way, so it may substitute in turn, as deep as [`MAX_DEPTH`], and a
//! template that would end up substituting itself is a cycle. A template none of whose
//! directives can be honoured is a problem at the template.

use std::collections::HashSet;

use super::instantiate;
use super::model::{Instantiation, NodeInstance};
use super::select::{self, Inventory};
use super::substitute::{self, Candidate};
use crate::tosca::limits::{Limits, OVER_LIMIT};
use crate::tosca::problem::Problems;
use crate::tosca::template::{Resolved, ResolvedNode};
use crate::tosca::topology::Topology;
use crate::tosca::types::TypeRegistry;

/// How many substituting templates may nest inside each other.
pub const MAX_DEPTH: usize = 8;

/// What was decided for one node template.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decision {
    /// Instantiate it as written.
    Create,
    /// It stands for this inventory node.
    Select(usize),
    /// This candidate substitutes each of its instances.
    Substitute(usize),
}

/// Everything directives may draw on besides the service itself.
pub struct Realiser<'a> {
    /// The types of every loaded file.
    pub registry: &'a TypeRegistry,
    /// The templates that may substitute nodes.
    pub candidates: &'a [Candidate],
    /// The nodes of other services that may be selected.
    pub inventory: &'a Inventory,
    /// The budgets: substituting templates' instances count towards
    /// [`Limits::instances`] with the service's own.
    pub limits: &'a Limits,
}

impl Realiser<'_> {
    /// Instantiates `topology` with every template's directives realised.
    pub fn instantiate(
        &self,
        resolved: &Resolved,
        topology: &Topology,
    ) -> Result<Instantiation, Problems> {
        let mut problems = Problems::new();
        let none = HashSet::new();
        let out = self.level(resolved, topology, &none, &mut Vec::new(), &mut problems);
        match out {
            Some(instantiation) if problems.is_empty() => Ok(instantiation),
            _ => Err(problems),
        }
    }

    /// Instantiates one service (the entry, or a substituting template inside `chain`).
    /// `provided` are selectable templates the substituted node's targets stand for.
    fn level(
        &self,
        resolved: &Resolved,
        topology: &Topology,
        provided: &HashSet<String>,
        chain: &mut Vec<usize>,
        problems: &mut Problems,
    ) -> Option<Instantiation> {
        let decisions = self.decide(resolved, topology, provided, problems);
        // Templates selected before fulfilment hold the chosen values already; this also
        // gives them to templates selected only after `substitute` failed.
        let adopted;
        let values = if decisions.iter().any(|d| matches!(d, Decision::Select(_))) {
            let mut copy = resolved.clone();
            for (t, d) in decisions.iter().enumerate() {
                if let Decision::Select(i) = d {
                    select::adopt_values(&mut copy.nodes[t], &self.inventory.nodes[*i].node);
                }
            }
            adopted = copy;
            &adopted
        } else {
            resolved
        };
        let mut out = match instantiate::instantiate(values, self.registry, topology) {
            Ok(out) => out,
            Err(found) => {
                problems.extend(found);
                return None;
            }
        };
        let decision_of = |node: &NodeInstance| {
            resolved
                .by_name
                .get(&node.template)
                .map(|&t| (t, decisions[t]))
        };
        for node in &mut out.nodes {
            if let Some((_, Decision::Select(i))) = decision_of(node) {
                select::mark(node, &self.inventory.nodes[i]);
            }
        }
        let mut i = 0;
        while i < out.nodes.len() {
            let Some((t, Decision::Substitute(c))) = decision_of(&out.nodes[i]) else {
                i += 1;
                continue;
            };
            let node = &resolved.nodes[t];
            match self.substitute(&out.nodes[i], node, c, chain, problems) {
                Some(inner) => {
                    let spliced = inner.nodes.len();
                    let candidate = &self.candidates[c];
                    substitute::splice(&mut out, i, candidate, inner, node.span, problems);
                    i += spliced;
                    if out.nodes.len() > self.limits.instances {
                        self.report_too_many(node, problems);
                        return None;
                    }
                }
                None => i += 1,
            }
        }
        Some(out)
    }

    /// The substituting template's instances for `outer`, an instance of `node`.
    fn substitute(
        &self,
        outer: &NodeInstance,
        node: &ResolvedNode,
        c: usize,
        chain: &mut Vec<usize>,
        problems: &mut Problems,
    ) -> Option<Instantiation> {
        let candidate = &self.candidates[c];
        let path = format!("service_template.node_templates.{}", node.name);
        if chain.contains(&c) {
            let mut files: Vec<&str> = chain
                .iter()
                .map(|&c| self.candidates[c].location.as_str())
                .collect();
            files.push(&candidate.location);
            problems.report(
                "substitution-cycle",
                node.span,
                path,
                format!(
                    "`{}` would be substituted by {}, which is already being substituted: {}",
                    node.name,
                    candidate.location,
                    files.join(" → ")
                ),
            );
            return None;
        }
        if chain.len() >= MAX_DEPTH {
            problems.report(
                "substitution-too-deep",
                node.span,
                path,
                format!(
                    "`{}` would be substituted {} templates deep; at most {MAX_DEPTH} may nest",
                    node.name,
                    chain.len() + 1
                ),
            );
            return None;
        }
        let given = substitute::inputs(candidate, outer, problems);
        let mut found = Problems::new();
        let (resolved, topology) = select::build_topology(
            &candidate.service,
            &candidate.resolved,
            self.registry,
            &given,
            self.inventory,
            self.candidates,
            self.limits,
            &mut found,
        );
        if !found.is_empty() {
            problems.extend(found);
            return None;
        }
        let provided = substitute::provided_templates(candidate, outer);
        chain.push(c);
        let inner = self.level(&resolved, &topology, &provided, chain, problems);
        chain.pop();
        inner
    }

    /// Reports that substituting `node` takes the service over [`Limits::instances`].
    fn report_too_many(&self, node: &ResolvedNode, problems: &mut Problems) {
        problems.report(
            OVER_LIMIT,
            node.span,
            format!("service_template.node_templates.{}", node.name),
            format!(
                "substituting `{}` takes the service over {} node instances (the limit on instances per service)",
                node.name, self.limits.instances
            ),
        );
    }

    /// The first directive of each template that can be honoured.
    fn decide(
        &self,
        resolved: &Resolved,
        topology: &Topology,
        provided: &HashSet<String>,
        problems: &mut Problems,
    ) -> Vec<Decision> {
        let mut decisions = Vec::with_capacity(resolved.nodes.len());
        let inputs = topology
            .inputs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        'templates: for (t, node) in resolved.nodes.iter().enumerate() {
            let mut tried = Vec::new();
            for directive in &node.directives {
                match directive.as_str() {
                    // The substituted node's target takes its place (see `splice`).
                    "select" if provided.contains(&node.name) => {
                        decisions.push(Decision::Create);
                        continue 'templates;
                    }
                    "select" => {
                        let wanted = select::type_ref(self.registry, node);
                        match self.inventory.choose(node, &wanted, &inputs) {
                            Ok(i) => {
                                decisions.push(Decision::Select(i));
                                continue 'templates;
                            }
                            Err(reasons) => tried.push(format!(
                                "no node of another service is a `{}` that matches its node_filter ({})",
                                self.registry.display_name(node.node_type),
                                considered(&reasons, "the inventory of other services' nodes has none of that type")
                            )),
                        }
                    }
                    "substitute" => {
                        match substitute::choose(
                            self.candidates,
                            self.registry,
                            resolved,
                            topology,
                            t,
                        ) {
                            Ok(c) => {
                                let needed = &self.candidates[c].mappings().requirements;
                                let location = &self.candidates[c].location;
                                unfulfilled(resolved, topology, t, problems, |name| {
                                    needed.iter().any(|m| m.requirement == name).then(|| {
                                        format!("{location} maps it to one of its nodes")
                                    })
                                });
                                decisions.push(Decision::Substitute(c));
                                continue 'templates;
                            }
                            Err(reasons) => tried.push(format!(
                                "no substituting template matches type `{}` ({})",
                                self.registry.display_name(node.node_type),
                                considered(&reasons, "no substituting templates were given: add one with --substitution FILE or to the CSAR's Other-Definitions")
                            )),
                        }
                    }
                    _ => {
                        if !tried.is_empty() {
                            self.created_after_all(resolved, topology, t, problems);
                        }
                        decisions.push(Decision::Create);
                        continue 'templates;
                    }
                }
            }
            if !node.directives.is_empty() {
                problems.report(
                    "unrealisable-node",
                    node.span,
                    format!("service_template.node_templates.{}.directives", node.name),
                    format!(
                        "node template `{}` cannot be realised: {}",
                        node.name,
                        tried.join("; ")
                    ),
                );
            }
            decisions.push(Decision::Create);
        }
        decisions
    }
}

impl Realiser<'_> {
    /// A template created after its other directives failed must be complete after all:
    /// the check forgave a selecting template its required properties, and fulfilment forgave
    /// a selecting or substituted one its requirements.
    fn created_after_all(
        &self,
        resolved: &Resolved,
        topology: &Topology,
        t: usize,
        problems: &mut Problems,
    ) {
        let node = &resolved.nodes[t];
        if node.directives.first().is_some_and(|d| d == "select") {
            let node_type = self.registry.node_type(node.node_type);
            for (name, def) in &node_type.properties {
                if def.required && !node.properties.contains_key(name) {
                    problems.report(
                        "missing-property",
                        node.span,
                        format!("service_template.node_templates.{}.properties", node.name),
                        format!(
                            "nothing was selected for `{}`, so it is created, but its required property `{name}` has no value",
                            node.name
                        ),
                    );
                }
            }
        }
        unfulfilled(resolved, topology, t, problems, |_| {
            Some("nothing was selected or substituted for it, so it is created".to_string())
        });
    }
}

/// Reports every non-optional requirement of template `t` that fulfilment left without a
/// target, when `why(name)` says why it needs one after all.
fn unfulfilled(
    resolved: &Resolved,
    topology: &Topology,
    t: usize,
    problems: &mut Problems,
    why: impl Fn(&str) -> Option<String>,
) {
    if topology.counts[t] == 0 {
        return;
    }
    let node = &resolved.nodes[t];
    for (r, req) in node.requirements.iter().enumerate() {
        if req.optional || !topology.outgoing[t][r].is_empty() {
            continue;
        }
        if let Some(why) = why(&req.name) {
            problems.report(
                "unfulfilled-requirement",
                req.span,
                format!(
                    "service_template.node_templates.{}.requirements.{}",
                    node.name, req.name
                ),
                format!(
                    "requirement `{}` of `{}` cannot be fulfilled, and it must be: {why}",
                    req.name, node.name
                ),
            );
        }
    }
}

/// "considered: …" for a message, or `none` when nothing was.
fn considered(reasons: &[String], none: &str) -> String {
    if reasons.is_empty() {
        none.to_string()
    } else {
        format!("considered: {}", reasons.join("; "))
    }
}

#[cfg(test)]
#[path = "directives_tests.rs"]
mod tests;
