//! A container plan in the Docker Engine API's words: the body of `POST /containers/create`.
//! Pure, so it is tested without an engine. The plan itself is the podman delegate's
//! ([`ContainerPlan`]): the same container, asked of another API.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use podman_api::opts::ContainerRestartPolicy;

use crate::delegates::podman::{ContainerPlan, PublishedPort};

/// The engine's restart policy for the plan's.
fn restart_policy(policy: ContainerRestartPolicy) -> RestartPolicy {
    let name = match policy {
        ContainerRestartPolicy::No => RestartPolicyNameEnum::NO,
        ContainerRestartPolicy::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
        ContainerRestartPolicy::Always => RestartPolicyNameEnum::ALWAYS,
        ContainerRestartPolicy::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: None,
    }
}

/// `<port>/<protocol>`, the engine's key for a container port.
fn port_key(port: &PublishedPort) -> String {
    format!("{}/{}", port.port, port.protocol)
}

/// Each reserved port published at its host address, on the same port in the container.
fn port_bindings(ports: &[PublishedPort]) -> HashMap<String, Option<Vec<PortBinding>>> {
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in ports {
        let binding = PortBinding {
            host_ip: Some(port.address.to_string()),
            host_port: Some(port.port.to_string()),
        };
        bindings
            .entry(port_key(port))
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    bindings
}

fn some_unless_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

/// The create body for `plan`, from `image` (a name or id the engine has). A container of a
/// pod joins the network of `network_of` (the container that holds the pod's namespace: the
/// plan's `pod`, on an engine without pods).
pub fn create_body(
    plan: &ContainerPlan,
    image: &str,
    network_of: Option<&str>,
) -> ContainerCreateBody {
    let binds = plan.mounts.iter().map(|mount| {
        let mode = if mount.read_only { "ro" } else { "rw" };
        format!("{0}:{0}:{mode}", mount.path)
    });
    let host_config = HostConfig {
        binds: some_unless_empty(binds.collect()),
        port_bindings: (!plan.ports.is_empty()).then(|| port_bindings(&plan.ports)),
        restart_policy: Some(restart_policy(plan.restart)),
        runtime: plan.runtime.clone(),
        network_mode: network_of.map(|holder| format!("container:{holder}")),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: plan.entrypoint.clone().map(|entrypoint| vec![entrypoint]),
        cmd: some_unless_empty(plan.arguments.clone()),
        env: some_unless_empty(
            plan.environment
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect(),
        ),
        working_dir: plan.working_directory.clone(),
        user: plan.user.clone(),
        labels: Some(plan.identity.labels.clone().into_iter().collect()),
        exposed_ports: some_unless_empty(plan.ports.iter().map(port_key).collect()),
        host_config: Some(host_config),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::delegates::podman::{BindMount, ContainerIdentity, ImageSource};
    use crate::delegates::profile::Protocol;

    fn plan() -> ContainerPlan {
        ContainerPlan {
            identity: ContainerIdentity {
                instance: "shop/web-0".into(),
                name: "khutulun-shop-web-0".into(),
                labels: BTreeMap::from([("khutulun.service".into(), "shop".into())]),
            },
            image: ImageSource::Reference("localhost/busybox:test".into()),
            entrypoint: Some("/bin/sh".into()),
            arguments: vec!["-c".into(), "httpd -f".into()],
            environment: BTreeMap::from([("HTTP_PORT".into(), "20001".into())]),
            working_directory: Some("/srv".into()),
            user: None,
            restart: ContainerRestartPolicy::OnFailure,
            runtime: Some("kata".into()),
            ports: vec![PublishedPort {
                address: "127.0.0.1".parse().unwrap(),
                port: 20001,
                protocol: Protocol::Tcp,
            }],
            mounts: vec![
                BindMount {
                    path: "/srv/site".into(),
                    read_only: true,
                },
                BindMount {
                    path: "/srv/data".into(),
                    read_only: false,
                },
            ],
            pod: None,
        }
    }

    #[test]
    fn a_plan_becomes_the_engines_create_body() {
        let body = create_body(&plan(), "sha256:abc", None);
        assert_eq!(body.image.as_deref(), Some("sha256:abc"));
        assert_eq!(body.entrypoint, Some(vec!["/bin/sh".to_owned()]));
        assert_eq!(body.cmd, Some(vec!["-c".to_owned(), "httpd -f".to_owned()]));
        assert_eq!(body.env, Some(vec!["HTTP_PORT=20001".to_owned()]));
        assert_eq!(body.working_dir.as_deref(), Some("/srv"));
        assert_eq!(body.user, None);
        assert_eq!(body.exposed_ports, Some(vec!["20001/tcp".to_owned()]));
        assert_eq!(
            body.labels
                .unwrap()
                .get("khutulun.service")
                .map(String::as_str),
            Some("shop")
        );
        let host = body.host_config.unwrap();
        assert_eq!(
            host.binds,
            Some(vec![
                "/srv/site:/srv/site:ro".to_owned(),
                "/srv/data:/srv/data:rw".to_owned()
            ])
        );
        let bindings = host.port_bindings.unwrap();
        let binding = &bindings["20001/tcp"].as_ref().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("20001"));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::ON_FAILURE)
        );
        assert_eq!(host.runtime.as_deref(), Some("kata"));
        assert_eq!(host.network_mode, None);
    }

    #[test]
    fn a_pods_container_joins_the_holders_network_and_publishes_nothing_itself() {
        let mut member = plan();
        member.ports.clear();
        member.entrypoint = None;
        member.arguments.clear();
        let body = create_body(&member, "img", Some("khutulun-shop-pod-0"));
        assert_eq!(body.entrypoint, None);
        assert_eq!(body.cmd, None);
        assert_eq!(body.exposed_ports, None);
        let host = body.host_config.unwrap();
        assert_eq!(
            host.network_mode.as_deref(),
            Some("container:khutulun-shop-pod-0")
        );
        assert_eq!(host.port_bindings, None);
    }
}
