//! Which delegate runs a node: the one a Delegation policy that targets its template names
//! (when that delegate can run its type), else the first of its type's delegates that is
//! available on the host, in this order: for a `Container` or `Pod`, podman then docker; for
//! a `SystemContainer`, nspawn then distrobox; for every other type its own (see
//! [`crate::delegates::protocol::delegate_for`]). Pure: the deploy step asks which of the
//! [`alternatives`] are available and records its choice in the instance's `delegate`
//! attribute, which every later step, a restarted agent and a failover read back
//! ([`chosen`]).

use crate::delegates::profile::types;
use crate::delegates::protocol::{DelegateKind, delegate_for, is_a};
use crate::tosca::instance::{Expression, NodeInstance, PolicyInstance, TypeRef};

/// A Delegation policy that cannot be followed: it names no delegate, an unknown one, or one
/// that cannot run a node it targets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("policy {policy}: {message}")]
pub struct DelegationError {
    /// The policy's name in the template.
    pub policy: String,
    /// What is wrong.
    pub message: String,
}

/// The node types each delegate runs (a delegate named for another type is refused).
fn runs(kind: DelegateKind) -> &'static [&'static str] {
    match kind {
        DelegateKind::Process => &[types::PROCESS, types::LOAD_BALANCER],
        DelegateKind::Podman => &[types::CONTAINER, types::POD],
        DelegateKind::Docker => &[types::CONTAINER, types::POD],
        DelegateKind::Nspawn | DelegateKind::Distrobox => &[types::SYSTEM_CONTAINER],
        DelegateKind::Libvirt => &[types::VIRTUAL_MACHINE],
        DelegateKind::IpPort => &[types::PORT, types::IP_ENDPOINT],
        DelegateKind::Directory => &[types::LOCAL_DIRECTORY, types::NETWORK_DIRECTORY],
        DelegateKind::Systemd | DelegateKind::Firewalld => &[],
    }
}

/// The Delegation policy among `policies` that targets `template`, with the delegate it
/// names (`None` when it names none).
fn naming<'a>(
    policies: &'a [PolicyInstance],
    template: &str,
) -> Option<(&'a PolicyInstance, Option<&'a str>)> {
    let policy = policies.iter().find(|policy| {
        is_a(&policy.types, types::DELEGATION) && policy.targets.iter().any(|t| t == template)
    })?;
    let named = match policy.properties.get("delegate") {
        Some(Expression::Resolved(serde_json::Value::String(name))) => Some(name.as_str()),
        _ => None,
    };
    Some((policy, named))
}

/// The delegate that runs `node` of a service with `policies`; `None` for a node of an
/// abstract type, which nothing makes real.
pub fn delegate_of(
    policies: &[PolicyInstance],
    node: &NodeInstance,
) -> Result<Option<DelegateKind>, DelegationError> {
    let Some((policy, named)) = naming(policies, &node.template) else {
        return Ok(delegate_for(&node.types));
    };
    let refuse = |message: String| DelegationError {
        policy: policy.name.clone(),
        message,
    };
    let named = named.ok_or_else(|| refuse("it names no `delegate`".into()))?;
    let kind: DelegateKind = named.parse().map_err(|e| refuse(format!("{e}")))?;
    if !can_run(kind, &node.types) {
        return Err(refuse(format!(
            "the {kind} delegate cannot run {} ({}); it runs {}",
            node.template,
            type_name(&node.types),
            match runs(kind) {
                [] => "no node templates itself".to_owned(),
                names => names.join(" and ") + " nodes",
            }
        )));
    }
    Ok(Some(kind))
}

/// The attribute in which an instance records the delegate its deploy chose.
pub const DELEGATE_ATTRIBUTE: &str = "delegate";

/// The delegates that may run `node`, in the order a deploy tries them: the one its
/// Delegation policy names, else its type's own and then those that stand in for it.
pub fn alternatives(
    policies: &[PolicyInstance],
    node: &NodeInstance,
) -> Result<Vec<DelegateKind>, DelegationError> {
    let Some(first) = delegate_of(policies, node)? else {
        return Ok(Vec::new());
    };
    let mut kinds = vec![first];
    if naming(policies, &node.template).is_none() {
        let stand_ins: &[DelegateKind] = match first {
            DelegateKind::Podman => &[DelegateKind::Docker],
            DelegateKind::Nspawn => &[DelegateKind::Distrobox],
            _ => &[],
        };
        kinds.extend(stand_ins.iter().filter(|kind| can_run(**kind, &node.types)));
    }
    Ok(kinds)
}

/// The delegate that runs `node`: the one its deploy recorded (`recorded`, its `delegate`
/// attribute) when that is still one of its [`alternatives`], else the first of them.
pub fn chosen(
    policies: &[PolicyInstance],
    node: &NodeInstance,
    recorded: Option<&str>,
) -> Result<Option<DelegateKind>, DelegationError> {
    let alternatives = alternatives(policies, node)?;
    let recorded = recorded.and_then(|name| name.parse::<DelegateKind>().ok());
    Ok(recorded
        .filter(|kind| alternatives.contains(kind))
        .or_else(|| alternatives.first().copied()))
}

/// Whether delegate `kind` runs a node of these types.
pub fn can_run(kind: DelegateKind, node_types: &[TypeRef]) -> bool {
    runs(kind).iter().any(|name| is_a(node_types, name))
}

fn type_name(node_types: &[TypeRef]) -> &str {
    node_types.first().map_or("no type", |t| t.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_policy_a_stand_in_follows_the_types_own_and_a_recorded_choice_holds() {
        let web = node("web", &[types::CONTAINER, types::WORKLOAD]);
        let pod = node("pod", &[types::POD, types::WORKLOAD]);
        let balancer = node("lb", &[types::LOAD_BALANCER, types::WORKLOAD]);
        let box_ = node("box", &[types::SYSTEM_CONTAINER, types::WORKLOAD]);
        let process = node("p", &[types::PROCESS]);
        let by_podman = [delegation(Some("podman"), "web")];
        use DelegateKind::*;
        let cases: &[(&NodeInstance, &[PolicyInstance], Vec<DelegateKind>)] = &[
            (&web, &[], vec![Podman, Docker]),
            (&pod, &[], vec![Podman, Docker]),
            (&balancer, &[], vec![Process]),
            (&box_, &[], vec![Nspawn, Distrobox]),
            (&process, &[], vec![Process]),
            (&web, &by_podman, vec![Podman]),
        ];
        for (node, policies, expected) in cases {
            assert_eq!(
                &alternatives(policies, node).unwrap(),
                expected,
                "{}",
                node.template
            );
        }
        assert_eq!(chosen(&[], &web, Some("docker")), Ok(Some(Docker)));
        assert_eq!(chosen(&[], &web, None), Ok(Some(Podman)));
        // A choice the template no longer allows gives way to the first it does.
        assert_eq!(chosen(&by_podman, &web, Some("docker")), Ok(Some(Podman)));
        assert_eq!(chosen(&[], &web, Some("libvirt")), Ok(Some(Podman)));
        assert_eq!(chosen(&[], &web, Some("nonsense")), Ok(Some(Podman)));
    }

    fn node(template: &str, types: &[&str]) -> NodeInstance {
        NodeInstance {
            types: types.iter().map(|t| TypeRef::khutulun(t)).collect(),
            ..NodeInstance::bare(template, 0)
        }
    }

    fn delegation(delegate: Option<&str>, target: &str) -> PolicyInstance {
        PolicyInstance {
            name: "by-docker".into(),
            types: vec![TypeRef::khutulun(types::DELEGATION)],
            properties: delegate
                .map(|d| ("delegate".to_owned(), Expression::Resolved(d.into())))
                .into_iter()
                .collect(),
            targets: vec![target.into()],
        }
    }

    /// A node, the delegate a policy names, the template it targets, and what is chosen (or
    /// a part of the error).
    type Case<'a> = (
        &'a NodeInstance,
        Option<&'a str>,
        &'a str,
        Result<Option<DelegateKind>, &'a str>,
    );

    #[test]
    fn a_delegation_policy_chooses_among_the_delegates_that_run_the_type() {
        let web = node("web", &[types::CONTAINER, types::WORKLOAD]);
        let pod = node("pod", &[types::POD, types::WORKLOAD]);
        let box_ = node("box", &[types::SYSTEM_CONTAINER, types::WORKLOAD]);
        let cases: &[Case] = &[
            // No policy for the template: its type's delegate.
            (
                &web,
                Some("docker"),
                "other",
                Ok(Some(DelegateKind::Podman)),
            ),
            (&box_, None, "other", Ok(Some(DelegateKind::Nspawn))),
            (&web, Some("docker"), "web", Ok(Some(DelegateKind::Docker))),
            (&web, Some("podman"), "web", Ok(Some(DelegateKind::Podman))),
            (
                &box_,
                Some("distrobox"),
                "box",
                Ok(Some(DelegateKind::Distrobox)),
            ),
            (&pod, Some("docker"), "pod", Ok(Some(DelegateKind::Docker))),
            (
                &pod,
                Some("nspawn"),
                "pod",
                Err("the nspawn delegate cannot run pod (Pod); it runs SystemContainer nodes"),
            ),
            (
                &web,
                Some("nspawn"),
                "web",
                Err("the nspawn delegate cannot run web (Container)"),
            ),
            (
                &web,
                Some("systemd"),
                "web",
                Err("it runs no node templates itself"),
            ),
            (
                &web,
                Some("kubernetes"),
                "web",
                Err("there is no delegate named \"kubernetes\""),
            ),
            (&web, None, "web", Err("it names no `delegate`")),
        ];
        for (node, delegate, target, expected) in cases {
            let policies = [delegation(*delegate, target)];
            let got = delegate_of(&policies, node);
            match (expected, &got) {
                (Ok(kind), Ok(got)) => assert_eq!(kind, got, "{delegate:?} for {}", node.template),
                (Err(text), Err(error)) => {
                    assert!(error.to_string().contains(text), "{error} lacks {text}");
                    assert!(
                        error.to_string().starts_with("policy by-docker: "),
                        "{error}"
                    );
                }
                _ => panic!(
                    "{delegate:?} for {}: {got:?}, not {expected:?}",
                    node.template
                ),
            }
        }
    }
}
