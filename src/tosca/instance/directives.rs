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

use super::instantiate;
use super::model::{Instantiation, NodeInstance};
use super::select::{self, Inventory};
use super::substitute::{self, Candidate};
use crate::tosca::problem::Problems;
use crate::tosca::template::{Resolved, ResolvedNode};
use crate::tosca::topology::{self, Topology};
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
}

impl Realiser<'_> {
    /// Instantiates `topology` with every template's directives realised.
    pub fn instantiate(
        &self,
        resolved: &Resolved,
        topology: &Topology,
    ) -> Result<Instantiation, Problems> {
        let mut problems = Problems::new();
        let out = self.level(resolved, topology, &mut Vec::new(), &mut problems);
        match out {
            Some(instantiation) if problems.is_empty() => Ok(instantiation),
            _ => Err(problems),
        }
    }

    /// Instantiates one service (the entry, or a substituting template inside `chain`).
    fn level(
        &self,
        resolved: &Resolved,
        topology: &Topology,
        chain: &mut Vec<usize>,
        problems: &mut Problems,
    ) -> Option<Instantiation> {
        let decisions = self.decide(resolved, topology, problems);
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
        let topology = topology::build(
            &candidate.service,
            &candidate.resolved,
            self.registry,
            &given,
            &mut found,
        );
        if !found.is_empty() {
            problems.extend(found);
            return None;
        }
        chain.push(c);
        let inner = self.level(&candidate.resolved, &topology, chain, problems);
        chain.pop();
        inner
    }

    /// The first directive of each template that can be honoured.
    fn decide(
        &self,
        resolved: &Resolved,
        topology: &Topology,
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
