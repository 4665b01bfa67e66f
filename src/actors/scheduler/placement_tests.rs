//! Placement as a table: hosts, instances and policies in; hosts and reasons, or the policy
//! that cannot be met, out.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::placement::{Candidate, Unit, counts, place};
use super::policy::{HostSelector, Policy, Rule};

fn host(name: &str, load: u32) -> Candidate {
    Candidate {
        name: name.into(),
        labels: BTreeMap::new(),
        delegates: ["process", "ipport", "directory"].map(String::from).into(),
        max_instances: None,
        load,
    }
}

fn labelled(name: &str, key: &str, value: &str) -> Candidate {
    let mut host = host(name, 0);
    host.labels.insert(key.into(), value.into());
    host
}

fn unit(template: &str, index: u32) -> Unit {
    Unit {
        id: format!("{template}-{index}"),
        template: template.into(),
        index,
        delegate: Some("process".into()),
        local_to: Vec::new(),
    }
}

fn policy(name: &str, rule: Rule, targets: &[&str]) -> Policy {
    Policy {
        name: name.into(),
        rule,
        targets: targets.iter().map(|t| t.to_string()).collect(),
    }
}

/// Instance id → host, in placement order.
fn hosts_of(units: &[Unit], policies: &[Policy], hosts: &[Candidate]) -> Vec<(String, String)> {
    place(units, policies, hosts)
        .unwrap_or_else(|error| panic!("placement failed: {error}"))
        .into_iter()
        .map(|(id, placed)| (id, placed.host))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn refusal(units: &[Unit], policies: &[Policy], hosts: &[Candidate]) -> String {
    place(units, policies, hosts).unwrap_err().to_string()
}

#[test]
fn without_policies_instances_spread_to_the_least_loaded_hosts() {
    let units = [unit("web", 0), unit("web", 1), unit("web", 2)];
    let hosts = [host("alpha", 2), host("beta", 0), host("gamma", 1)];
    assert_eq!(
        hosts_of(&units, &[], &hosts),
        pairs(&[("web-0", "beta"), ("web-1", "beta"), ("web-2", "gamma")])
    );
    let reason = &place(&units, &[], &hosts).unwrap()["web-0"].why;
    assert!(reason.contains("least loaded of 3"), "{reason}");
}

#[test]
fn an_instance_goes_where_its_host_local_resources_go() {
    let port = unit("port", 0);
    let mut web = unit("web", 0);
    web.local_to = vec!["port-0".into()];
    let mut other = unit("web", 1);
    other.local_to = vec!["port-1".into()];
    let units = [port, unit("port", 1), web, other];
    let placed = hosts_of(&units, &[], &[host("alpha", 0), host("beta", 0)]);
    let on = |id: &str| placed.iter().find(|(i, _)| i == id).unwrap().1.clone();
    assert_eq!(on("web-0"), on("port-0"));
    assert_eq!(on("web-1"), on("port-1"));
    assert_ne!(on("web-0"), on("web-1"), "two bundles spread");
}

#[test]
fn placement_selects_by_name_names_labels_count_and_ratio() {
    let hosts = [
        labelled("alpha", "zone", "a"),
        labelled("beta", "zone", "b"),
        labelled("gamma", "zone", "a"),
    ];
    let units = [unit("db", 0), unit("db", 1)];
    let cases: [(HostSelector, &[&str]); 5] = [
        (HostSelector::Name("beta".into()), &["beta", "beta"]),
        (
            HostSelector::Names(vec!["gamma".into(), "beta".into()]),
            &["beta", "gamma"],
        ),
        (
            HostSelector::Labels([("zone".to_string(), "a".to_string())].into()),
            &["alpha", "gamma"],
        ),
        (HostSelector::Count(1), &["alpha", "alpha"]),
        (HostSelector::Ratio(0.5), &["alpha", "beta"]),
    ];
    for (selector, expected) in cases {
        let policies = [policy("where", Rule::Placement(selector.clone()), &["db"])];
        let got: Vec<String> = hosts_of(&units, &policies, &hosts)
            .into_iter()
            .map(|(_, h)| h)
            .collect();
        assert_eq!(got, expected, "{selector:?}");
    }
}

#[test]
fn a_placement_on_a_host_that_is_not_alive_names_the_policy() {
    let policies = [policy(
        "pin",
        Rule::Placement(HostSelector::Name("delta".into())),
        &["db"],
    )];
    let message = refusal(&[unit("db", 0)], &policies, &[host("alpha", 0)]);
    assert!(
        message.starts_with("policy `pin`:") && message.contains("delta"),
        "{message}"
    );
}

#[test]
fn distribution_runs_one_instance_per_selected_host() {
    let hosts = [host("alpha", 5), host("beta", 0), host("gamma", 1)];
    let everywhere = policy(
        "everywhere",
        Rule::Distribution {
            hosts: HostSelector::Ratio(1.0),
            allow_partial: false,
        },
        &["agent"],
    );
    let counted = counts(
        std::slice::from_ref(&everywhere),
        &IndexMap::from([("agent".to_string(), 1)]),
        &IndexMap::from([("agent".to_string(), Some("process".to_string()))]),
        &hosts,
    )
    .unwrap();
    assert_eq!(counted["agent"], 3);
    let units: Vec<Unit> = (0..3).map(|i| unit("agent", i)).collect();
    let placed: BTreeSet<String> = hosts_of(&units, &[everywhere], &hosts)
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    assert_eq!(placed.len(), 3);
}

#[test]
fn distribution_over_a_missing_host_is_refused_unless_partial_is_allowed() {
    let hosts = [host("alpha", 0)];
    let names = HostSelector::Names(vec!["alpha".into(), "beta".into()]);
    let template = IndexMap::from([("agent".to_string(), 1)]);
    let delegates = IndexMap::from([("agent".to_string(), Some("process".to_string()))]);
    let strict = policy(
        "both",
        Rule::Distribution {
            hosts: names.clone(),
            allow_partial: false,
        },
        &["agent"],
    );
    let error = counts(&[strict], &template, &delegates, &hosts).unwrap_err();
    assert_eq!(error.policy.as_deref(), Some("both"));
    let partial = policy(
        "both",
        Rule::Distribution {
            hosts: names,
            allow_partial: true,
        },
        &["agent"],
    );
    assert_eq!(
        counts(&[partial], &template, &delegates, &hosts).unwrap()["agent"],
        1
    );
}

#[test]
fn redundancy_raises_and_caps_the_count() {
    let delegates = IndexMap::from([("app".to_string(), None)]);
    let cases = [(1, 3, None, 3), (5, 1, Some(2), 2), (2, 1, None, 2)];
    for (written, minimum, maximum, expected) in cases {
        let rule = Rule::Redundancy { minimum, maximum };
        let got = counts(
            &[policy("r", rule, &["app"])],
            &IndexMap::from([("app".to_string(), written)]),
            &delegates,
            &[host("alpha", 0)],
        )
        .unwrap();
        assert_eq!(
            got["app"], expected,
            "{written} with [{minimum}, {maximum:?}]"
        );
    }
}

#[test]
fn strict_separation_needs_a_host_per_instance() {
    let units = [unit("app", 0), unit("app", 1), unit("app", 2)];
    let apart = [policy("apart", Rule::Separation { strict: true }, &["app"])];
    let three = [host("alpha", 0), host("beta", 0), host("gamma", 0)];
    let placed: BTreeSet<String> = hosts_of(&units, &apart, &three)
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    assert_eq!(placed.len(), 3);
    let message = refusal(&units, &apart, &three[..2]);
    assert!(message.starts_with("policy `apart`:"), "{message}");
}

#[test]
fn preferred_separation_shares_hosts_only_when_it_must() {
    let units = [unit("app", 0), unit("app", 1), unit("app", 2)];
    let apart = [policy(
        "apart",
        Rule::Separation { strict: false },
        &["app"],
    )];
    let hosts = [host("alpha", 0), host("beta", 0)];
    let placed: Vec<String> = hosts_of(&units, &apart, &hosts)
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    assert_eq!(placed, ["alpha", "beta", "alpha"]);
}

#[test]
fn colocation_puts_every_target_on_one_host() {
    let units = [unit("a", 0), unit("b", 0), unit("b", 1)];
    let together = [policy("together", Rule::Colocation, &["a", "b"])];
    let placed: BTreeSet<String> =
        hosts_of(&units, &together, &[host("alpha", 0), host("beta", 0)])
            .into_iter()
            .map(|(_, h)| h)
            .collect();
    assert_eq!(placed.len(), 1);
}

#[test]
fn delegation_limits_the_hosts_to_those_with_the_delegate() {
    let mut docker = host("beta", 9);
    docker.delegates.insert("docker".into());
    let hosts = [host("alpha", 0), docker];
    let units = [unit("box", 0)];
    let by_docker = [policy(
        "engine",
        Rule::Delegation("docker".into()),
        &["box"],
    )];
    assert_eq!(
        hosts_of(&units, &by_docker, &hosts),
        pairs(&[("box-0", "beta")])
    );
    let message = refusal(&units, &by_docker, &hosts[..1]);
    assert!(
        message.starts_with("policy `engine`:") && message.contains("docker"),
        "{message}"
    );
}

#[test]
fn a_full_host_takes_no_more() {
    let mut small = host("alpha", 1);
    small.max_instances = Some(2);
    let units = [unit("app", 0), unit("app", 1)];
    assert_eq!(
        hosts_of(&units, &[], &[small.clone(), host("beta", 3)]),
        pairs(&[("app-0", "alpha"), ("app-1", "beta")])
    );
    let message = refusal(&units, &[], &[small]);
    assert!(message.contains("no live host can run app-1"), "{message}");
}

#[test]
fn placement_is_deterministic() {
    let units: Vec<Unit> = (0..20).map(|i| unit("app", i)).collect();
    let hosts: Vec<Candidate> = ["d", "b", "a", "c"].iter().map(|n| host(n, 0)).collect();
    let first = hosts_of(&units, &[], &hosts);
    let mut reversed = hosts.clone();
    reversed.reverse();
    assert_eq!(hosts_of(&units, &[], &reversed), first);
}

#[test]
fn a_moved_instance_avoids_the_hosts_its_separated_siblings_stay_on() {
    let apart = [policy("apart", Rule::Separation { strict: true }, &["app"])];
    let hosts = [host("alpha", 0), host("beta", 0), host("gamma", 9)];
    let staying = [
        ("app".to_string(), "alpha".to_string()),
        ("app".to_string(), "beta".to_string()),
    ];
    let placed =
        super::placement::place_beside(&[unit("app", 2)], &apart, &hosts, &staying).unwrap();
    assert_eq!(
        placed["app-2"].host, "gamma",
        "the only host none of them uses"
    );
    let error = super::placement::place_beside(&[unit("app", 2)], &apart, &hosts[..2], &staying)
        .unwrap_err();
    assert_eq!(error.policy.as_deref(), Some("apart"));
}

#[test]
fn a_moved_instance_joins_the_host_its_colocated_siblings_stay_on() {
    let together = [policy("together", Rule::Colocation, &["a", "b"])];
    let hosts = [host("alpha", 0), host("beta", 5)];
    let staying = [("a".to_string(), "beta".to_string())];
    let placed =
        super::placement::place_beside(&[unit("b", 0)], &together, &hosts, &staying).unwrap();
    assert_eq!(placed["b-0"].host, "beta");
    assert!(
        placed["b-0"].why.contains("Colocation `together`"),
        "{}",
        placed["b-0"].why
    );
}
