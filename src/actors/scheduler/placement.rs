//! Placement: which live host runs each instance of a service, as a pure function of the
//! hosts (their labels, delegates, capacity and load), the instances and the service's
//! policies. Like Nomad's scheduler it filters (feasibility: alive, has the delegate, selected
//! by Placement and Distribution, room left, Separation), then ranks (the least loaded first,
//! then by name, so the answer is deterministic), and explains each choice.
//!
//! Instances that use a host-local resource (a port reserved on the host, a local directory,
//! a HostedOn target) go where that resource goes: such instances form one bundle, placed as
//! a whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use indexmap::IndexMap;

use super::PlacementError;
use super::policy::{HostSelector, Policy, Rule};

/// A live host the scheduler may place on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidate {
    /// Its name.
    pub name: String,
    /// Its labels (`khutulun agent --label KEY=VALUE`).
    pub labels: BTreeMap<String, String>,
    /// The delegates its agent runs.
    pub delegates: BTreeSet<String>,
    /// The most instances it takes, if limited.
    pub max_instances: Option<u32>,
    /// The instances it runs already.
    pub load: u32,
}

impl Candidate {
    /// A host with no load, no labels and every delegate Khutulun has (tests' one host).
    #[cfg(test)]
    pub fn with_every_delegate(name: &str) -> Candidate {
        Candidate {
            name: name.into(),
            delegates: crate::delegates::protocol::DelegateKind::ALL
                .iter()
                .map(|kind| kind.name().to_owned())
                .collect(),
            ..Candidate::default()
        }
    }
}

/// An instance to place.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// Its id (`<template>-<index>`).
    pub id: String,
    /// Its node template.
    pub template: String,
    /// Its index among its template's instances.
    pub index: u32,
    /// The delegate its type needs, if any (a Delegation policy may name another).
    pub delegate: Option<String>,
    /// Instances whose host it must share (the host-local resources it uses).
    pub local_to: Vec<String>,
}

/// Where an instance goes, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The host.
    pub host: String,
    /// Why there, for `service status`.
    pub why: String,
}

/// The instance count of each template once Redundancy and Distribution are applied to the
/// counts the template wrote (`counts`); `delegates` says which delegate each template needs.
pub fn counts(
    policies: &[Policy],
    counts: &IndexMap<String, u32>,
    delegates: &IndexMap<String, Option<String>>,
    hosts: &[Candidate],
) -> Result<IndexMap<String, u32>, PlacementError> {
    let mut out = counts.clone();
    for (template, count) in out.iter_mut() {
        let delegate = delegate_of(
            policies,
            template,
            delegates.get(template).cloned().flatten(),
        );
        for policy in policies.iter().filter(|p| p.targets(template)) {
            if let Rule::Distribution {
                hosts: selector,
                allow_partial,
            } = &policy.rule
            {
                let eligible = with_delegate(hosts, delegate.as_deref());
                let selected = select(policy, selector, &eligible, *allow_partial)?;
                *count = u32::try_from(selected.len()).unwrap_or(u32::MAX);
            }
        }
        for policy in policies.iter().filter(|p| p.targets(template)) {
            if let Rule::Redundancy { minimum, maximum } = policy.rule {
                let distributed = policies
                    .iter()
                    .any(|p| p.targets(template) && matches!(p.rule, Rule::Distribution { .. }));
                let bounded = (*count).max(minimum).min(maximum.unwrap_or(u32::MAX));
                if distributed && bounded != *count {
                    return Err(PlacementError::policy(
                        &policy.name,
                        format!(
                            "`{template}` is distributed over {count} hosts, outside its bounds"
                        ),
                    ));
                }
                *count = bounded;
            }
        }
    }
    Ok(out)
}

/// Places every unit, or says which policy cannot be met.
pub fn place(
    units: &[Unit],
    policies: &[Policy],
    hosts: &[Candidate],
) -> Result<IndexMap<String, Placed>, PlacementError> {
    place_beside(units, policies, hosts, &[])
}

/// Places `units` beside instances of the same service that stay where they are (`staying`:
/// template and host of each), as a failover does: Separation avoids their hosts and
/// Colocation joins them.
pub fn place_beside(
    units: &[Unit],
    policies: &[Policy],
    hosts: &[Candidate],
    staying: &[(String, String)],
) -> Result<IndexMap<String, Placed>, PlacementError> {
    let mut used: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for policy in policies {
        if matches!(policy.rule, Rule::Separation { .. }) {
            let hosts = staying.iter().filter(|(t, _)| policy.targets(t));
            used.entry(policy.name.as_str())
                .or_default()
                .extend(hosts.map(|(_, host)| host.clone()));
        }
    }
    let mut state = Placing {
        policies,
        loads: hosts.iter().map(|h| (h.name.clone(), h.load)).collect(),
        used,
        staying,
        hosts,
    };
    let mut placed = IndexMap::new();
    for bundle in bundles(units, policies) {
        let members: Vec<&Unit> = bundle.iter().map(|&i| &units[i]).collect();
        let (host, why) = state.choose(&members)?;
        for (n, unit) in members.iter().enumerate() {
            let why = match n {
                0 => why.clone(),
                _ => format!(
                    "with {} (a host-local resource or Colocation)",
                    members[0].id
                ),
            };
            placed.insert(
                unit.id.clone(),
                Placed {
                    host: host.clone(),
                    why,
                },
            );
        }
    }
    Ok(placed)
}

/// The delegate that runs `template`: a Delegation policy's, else its type's.
fn delegate_of(policies: &[Policy], template: &str, by_type: Option<String>) -> Option<String> {
    policies
        .iter()
        .filter(|p| p.targets(template))
        .find_map(|p| match &p.rule {
            Rule::Delegation(delegate) => Some(delegate.clone()),
            _ => None,
        })
        .or(by_type)
}

fn with_delegate<'a>(hosts: &'a [Candidate], delegate: Option<&str>) -> Vec<&'a Candidate> {
    hosts
        .iter()
        .filter(|h| delegate.is_none_or(|d| h.delegates.contains(d)))
        .collect()
}

/// The hosts a selector picks among `eligible`, in rank order for Count and Ratio.
fn select<'a>(
    policy: &Policy,
    selector: &HostSelector,
    eligible: &[&'a Candidate],
    allow_partial: bool,
) -> Result<Vec<&'a Candidate>, PlacementError> {
    let named = |names: &[String]| -> Result<Vec<&'a Candidate>, PlacementError> {
        let mut found = Vec::new();
        for name in names {
            match eligible.iter().find(|h| &h.name == name) {
                Some(host) => found.push(*host),
                None if allow_partial => {}
                None => {
                    return Err(PlacementError::policy(
                        &policy.name,
                        format!(
                            "host `{name}` is not alive, or lacks the delegate its targets need"
                        ),
                    ));
                }
            }
        }
        Ok(found)
    };
    let mut ranked = eligible.to_vec();
    ranked.sort_by(|a, b| (a.load, &a.name).cmp(&(b.load, &b.name)));
    let selected = match selector {
        HostSelector::Name(name) => named(std::slice::from_ref(name))?,
        HostSelector::Names(names) => named(names)?,
        HostSelector::Labels(labels) => ranked
            .into_iter()
            .filter(|h| labels.iter().all(|(k, v)| h.labels.get(k) == Some(v)))
            .collect(),
        HostSelector::Count(count) => {
            if ranked.len() < *count as usize && !allow_partial {
                return Err(PlacementError::policy(
                    &policy.name,
                    format!(
                        "it selects {count} hosts, but only {} can run its targets",
                        ranked.len()
                    ),
                ));
            }
            ranked.into_iter().take(*count as usize).collect()
        }
        HostSelector::Ratio(ratio) => {
            let take = (ratio * ranked.len() as f64).ceil() as usize;
            ranked.into_iter().take(take).collect()
        }
    };
    if selected.is_empty() {
        return Err(PlacementError::policy(
            &policy.name,
            "it selects no live host that can run its targets".into(),
        ));
    }
    Ok(selected)
}

/// The units as bundles that must share a host (by index, each in unit order), in the order
/// of their first unit.
fn bundles(units: &[Unit], policies: &[Policy]) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.as_str(), i))
        .collect();
    let mut parent: Vec<usize> = (0..units.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    fn join(parent: &mut [usize], a: usize, b: usize) {
        let (ra, rb) = (root(parent, a), root(parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    for (i, unit) in units.iter().enumerate() {
        for other in &unit.local_to {
            if let Some(&j) = index.get(other.as_str()) {
                join(&mut parent, i, j);
            }
        }
    }
    for policy in policies.iter().filter(|p| p.rule == Rule::Colocation) {
        let members: Vec<usize> = (0..units.len())
            .filter(|&i| policy.targets(&units[i].template))
            .collect();
        for pair in members.windows(2) {
            join(&mut parent, pair[0], pair[1]);
        }
    }
    let mut groups: IndexMap<usize, Vec<usize>> = IndexMap::new();
    for i in 0..units.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().collect()
}

/// The scheduler's working state while it places one service.
struct Placing<'a> {
    policies: &'a [Policy],
    hosts: &'a [Candidate],
    /// Each host's load, this placement's units included.
    loads: HashMap<String, u32>,
    /// The hosts each Separation policy has used so far.
    used: HashMap<&'a str, BTreeSet<String>>,
    /// Instances of the service that stay where they are: template, host.
    staying: &'a [(String, String)],
}

impl<'a> Placing<'a> {
    fn applying(&self, members: &[&Unit]) -> Vec<&'a Policy> {
        self.policies
            .iter()
            .filter(|p| members.iter().any(|u| p.targets(&u.template)))
            .collect()
    }

    /// Chooses the host of one bundle: feasible hosts (delegates, selecting policies, room,
    /// Separation), then the least loaded, then the first by name.
    fn choose(&mut self, members: &[&Unit]) -> Result<(String, String), PlacementError> {
        let applying = self.applying(members);
        let size = members.len() as u32;
        let mut reasons = Vec::new();
        let mut eligible = self.with_delegates(members);
        if eligible.is_empty() {
            return Err(self.nothing_fits(members, &applying));
        }
        for policy in &applying {
            eligible = self.selected(policy, members, eligible, &mut reasons)?;
        }
        eligible.retain(|h| {
            h.max_instances
                .is_none_or(|max| self.loads[&h.name] + size <= max)
        });
        if eligible.is_empty() {
            return Err(self.nothing_fits(members, &applying));
        }
        for policy in &applying {
            eligible = self.separated(policy, members, eligible, &mut reasons)?;
        }
        let count = eligible.len();
        let host = eligible
            .into_iter()
            .min_by(|a, b| (self.loads[&a.name], &a.name).cmp(&(self.loads[&b.name], &b.name)))
            .expect("not empty")
            .name
            .clone();
        self.take(&host, size, &applying);
        reasons.push(format!("the least loaded of {count} eligible host(s)"));
        Ok((host, reasons.join("; ")))
    }

    /// The hosts that have the delegate of every member.
    fn with_delegates(&self, members: &[&Unit]) -> Vec<&'a Candidate> {
        let mut eligible: Vec<&Candidate> = self.hosts.iter().collect();
        for unit in members {
            let delegate = delegate_of(self.policies, &unit.template, unit.delegate.clone());
            eligible.retain(|h| delegate.as_deref().is_none_or(|d| h.delegates.contains(d)));
        }
        eligible
    }

    /// `eligible` narrowed by one policy that says where its targets go (Placement,
    /// Distribution, Colocation with instances that stay); others leave it as it is.
    fn selected(
        &self,
        policy: &Policy,
        members: &[&Unit],
        mut eligible: Vec<&'a Candidate>,
        reasons: &mut Vec<String>,
    ) -> Result<Vec<&'a Candidate>, PlacementError> {
        match &policy.rule {
            Rule::Placement(selector) => {
                let selected = select(policy, selector, &eligible, false)?;
                eligible.retain(|h| selected.iter().any(|s| s.name == h.name));
                reasons.push(format!("Placement `{}` selects it", policy.name));
            }
            Rule::Distribution {
                hosts,
                allow_partial,
            } => {
                let selected = select(policy, hosts, &eligible, *allow_partial)?;
                let unit = members
                    .iter()
                    .find(|u| policy.targets(&u.template))
                    .expect("a target");
                let Some(host) = selected.get(unit.index as usize) else {
                    let message = format!(
                        "`{}` has more instances than it selects hosts",
                        unit.template
                    );
                    return Err(PlacementError::policy(&policy.name, message));
                };
                let name = host.name.clone();
                eligible.retain(|h| h.name == name);
                reasons.push(format!(
                    "Distribution `{}`: one instance per selected host",
                    policy.name
                ));
            }
            Rule::Colocation => {
                let joined = self.staying.iter().find(|(t, _)| policy.targets(t));
                if let Some((_, host)) = joined {
                    eligible.retain(|h| &h.name == host);
                    reasons.push(format!(
                        "Colocation `{}` with the instances on {host}",
                        policy.name
                    ));
                }
            }
            _ => {}
        }
        Ok(eligible)
    }

    /// `eligible` narrowed by a Separation policy to the hosts none of its targets uses yet;
    /// when there are none, an error if it is strict, else `eligible` as it is.
    fn separated(
        &self,
        policy: &Policy,
        members: &[&Unit],
        eligible: Vec<&'a Candidate>,
        reasons: &mut Vec<String>,
    ) -> Result<Vec<&'a Candidate>, PlacementError> {
        let Rule::Separation { strict } = policy.rule else {
            return Ok(eligible);
        };
        let targets = members
            .iter()
            .filter(|u| policy.targets(&u.template))
            .count();
        let used = self.used.get(policy.name.as_str());
        let fresh: Vec<&Candidate> = eligible
            .iter()
            .copied()
            .filter(|h| used.is_none_or(|used| !used.contains(&h.name)))
            .collect();
        if (fresh.is_empty() || targets > 1) && strict {
            let message = format!(
                "its targets need a host each, and there are too few ({} live host(s) can run them)",
                self.hosts.len()
            );
            return Err(PlacementError::policy(&policy.name, message));
        }
        if fresh.is_empty() {
            return Ok(eligible);
        }
        reasons.push(format!(
            "Separation `{}`: a host none of its targets uses",
            policy.name
        ));
        Ok(fresh)
    }

    /// Counts a bundle of `size` on `host`, for the load and the Separation policies.
    fn take(&mut self, host: &str, size: u32, applying: &[&'a Policy]) {
        *self.loads.get_mut(host).expect("a candidate") += size;
        for policy in applying {
            if matches!(policy.rule, Rule::Separation { .. }) {
                self.used
                    .entry(policy.name.as_str())
                    .or_default()
                    .insert(host.to_owned());
            }
        }
    }

    fn nothing_fits(&self, members: &[&Unit], applying: &[&Policy]) -> PlacementError {
        let ids: Vec<&str> = members.iter().map(|u| u.id.as_str()).collect();
        let delegates: BTreeSet<String> = members
            .iter()
            .filter_map(|u| delegate_of(self.policies, &u.template, u.delegate.clone()))
            .collect();
        let message = format!(
            "no live host can run {} (delegates needed: {}; {} live host(s), full ones excluded)",
            ids.join(", "),
            delegates.into_iter().collect::<Vec<_>>().join(", "),
            self.hosts.len()
        );
        match applying
            .iter()
            .find(|p| matches!(p.rule, Rule::Delegation(_)))
        {
            Some(policy) => PlacementError::policy(&policy.name, message),
            None => PlacementError::unplaceable(message),
        }
    }
}
