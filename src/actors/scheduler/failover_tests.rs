//! Failover decisions as tables: who is live, who failed, who leads, and where instances move.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use indexmap::IndexMap;

use super::failover::{LEASE_TERM, Liveness, moves};
use super::placement::Candidate;
use crate::actors::membership::{MemberState, MemberView};
use crate::delegates::protocol::TypeRef;
use crate::state::ServiceView;
use crate::state::records::{HostRecord, PlanRecord, ServicePhase, ServiceRecord};
use crate::tosca::instance::{Expression, Instantiation, NodeInstance, PolicyInstance};

const NOW: u64 = 1_800_000_000_000;

fn view(name: &str, state: MemberState) -> MemberView {
    MemberView {
        name: name.into(),
        address: "10.0.0.1:7946".parse().unwrap(),
        generation: 1,
        state,
        since: None,
    }
}

fn names(set: &BTreeSet<String>) -> Vec<&str> {
    set.iter().map(String::as_str).collect()
}

#[test]
fn a_host_fails_only_when_unseen_and_its_lease_ran_out() {
    let stale = NOW - LEASE_TERM.as_millis() as u64 - 1;
    let hosts: Vec<HostRecord> = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]
        .map(|name| HostRecord::new(name, "t"))
        .into();
    let views = [
        view("beta", MemberState::Alive),
        view("gamma", MemberState::Down),
        view("delta", MemberState::Down),
        view("eps", MemberState::Suspect),
    ];
    let leases = BTreeMap::from([
        ("beta".to_string(), NOW - 1000),
        ("gamma".to_string(), stale),
        ("delta".to_string(), NOW - 1000), // cut off from us, still renewing: not failed
        ("eps".to_string(), stale),        // suspected, not yet down
                                           // zeta: never seen, no lease
    ]);
    let liveness = Liveness::judge("alpha", &hosts, &views, &leases, NOW);
    assert_eq!(names(&liveness.live), ["alpha", "beta"]);
    assert_eq!(names(&liveness.failed), ["gamma", "zeta"]);
    assert!(liveness.leads("alpha"));
    assert!(!liveness.leads("beta"));
}

fn node(template: &str, index: u32) -> NodeInstance {
    NodeInstance {
        types: vec![TypeRef::khutulun("Process")],
        ..NodeInstance::bare(template, index)
    }
}

fn policy(name: &str, kind: &str, properties: serde_json::Value, target: &str) -> PolicyInstance {
    PolicyInstance {
        name: name.into(),
        types: vec![TypeRef::khutulun(kind)],
        properties: properties
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), Expression::Resolved(v.clone())))
            .collect(),
        targets: vec![target.into()],
    }
}

/// A service of `template` instances placed as given, with `policies`.
fn service(
    placed: &[(&str, &str)],
    policies: Vec<PolicyInstance>,
    phase: ServicePhase,
) -> ServiceView {
    let nodes = placed
        .iter()
        .map(|(id, _)| {
            let (template, index) = id.rsplit_once('-').unwrap();
            node(template, index.parse().unwrap())
        })
        .collect();
    let record = ServiceRecord {
        phase,
        ..ServiceRecord::sample(
            "svc",
            Instantiation {
                nodes,
                policies,
                ..Instantiation::default()
            },
        )
    };
    let plan = PlanRecord {
        version: 4,
        placements: placed
            .iter()
            .map(|(id, host)| (id.to_string(), host.to_string()))
            .collect(),
        reasons: IndexMap::new(),
    };
    ServiceView {
        service: Arc::new(record),
        plan: Arc::new(plan),
        instances: Vec::new(),
    }
}

fn candidate(name: &str, load: u32) -> Candidate {
    let mut host = Candidate::with_every_delegate(name);
    host.load = load;
    host
}

fn failed(host: &str) -> BTreeMap<String, &'static str> {
    BTreeMap::from([(host.to_string(), "failed")])
}

#[test]
fn the_instances_of_a_failed_host_move_to_the_least_loaded_live_host() {
    let svc = service(
        &[("app-0", "alpha"), ("app-1", "gamma"), ("app-2", "gamma")],
        Vec::new(),
        ServicePhase::Active,
    );
    let moved = moves(
        &svc,
        &failed("gamma"),
        &[candidate("alpha", 3), candidate("beta", 0)],
    )
    .unwrap();
    let to: Vec<(&str, &str)> = moved
        .iter()
        .map(|m| (m.id.as_str(), m.host.as_str()))
        .collect();
    assert_eq!(to, [("app-1", "beta"), ("app-2", "beta")]);
    assert!(
        moved[0].why.starts_with("moved from gamma, which failed"),
        "{}",
        moved[0].why
    );
}

#[test]
fn separation_keeps_holding_for_moved_instances() {
    let apart = policy(
        "apart",
        "Separation",
        serde_json::json!({ "strict": true }),
        "app",
    );
    let svc = service(
        &[("app-0", "alpha"), ("app-1", "gamma")],
        vec![apart],
        ServicePhase::Active,
    );
    let live = [candidate("alpha", 0), candidate("beta", 5)];
    let moved = moves(&svc, &failed("gamma"), &live).unwrap();
    assert_eq!(moved[0].host, "beta", "alpha already runs one");
    let error = moves(&svc, &failed("gamma"), &live[..1]).unwrap_err();
    assert_eq!(error.policy.as_deref(), Some("apart"));
}

#[test]
fn distributed_instances_and_services_being_deleted_stay() {
    let everywhere = policy(
        "everywhere",
        "Distribution",
        serde_json::json!({ "hosts": { "ratio": 1.0 } }),
        "app",
    );
    let svc = service(
        &[("app-0", "alpha"), ("app-1", "gamma")],
        vec![everywhere],
        ServicePhase::Active,
    );
    assert!(
        moves(&svc, &failed("gamma"), &[candidate("alpha", 0)])
            .unwrap()
            .is_empty()
    );
    let deleting = service(&[("app-0", "gamma")], Vec::new(), ServicePhase::Deleting);
    assert!(
        moves(&deleting, &failed("gamma"), &[candidate("alpha", 0)])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_drained_host_leads_nothing_away_from_it_and_takes_no_instance() {
    let mut hosts: Vec<HostRecord> = ["alpha", "beta"].map(|n| HostRecord::new(n, "t")).into();
    hosts[1].drained = true;
    let views = [view("beta", MemberState::Alive)];
    let leases = BTreeMap::from([("beta".to_string(), NOW)]);
    let liveness = Liveness::judge("alpha", &hosts, &views, &leases, NOW);
    assert_eq!(names(&liveness.drained), ["beta"]);
    assert!(liveness.eligible("alpha") && !liveness.eligible("beta"));
    assert_eq!(liveness.leaving().get("beta"), Some(&"is drained"));

    let svc = service(&[("app-0", "beta")], Vec::new(), ServicePhase::Active);
    let moved = moves(&svc, &liveness.leaving(), &[candidate("alpha", 0)]).unwrap();
    assert_eq!(moved[0].host, "alpha");
    assert!(
        moved[0]
            .why
            .starts_with("moved from beta, which is drained"),
        "{}",
        moved[0].why
    );
}
