//! What exactly to create for a pod instance: the pod (its name, labels and the reserved ports
//! it publishes, shared by its containers) and one container plan per member, each joining the
//! pod with the pod's environment, mounts, restart policy and runtime. Pure, like
//! [`super::plan`].

use std::collections::BTreeMap;

use podman_api::opts::PodCreateOpts;

use super::plan::{
    ContainerIdentity, ContainerPlan, PublishedPort, bind_mounts, image_source,
    podman_restart_policy, published_ports,
};
use crate::delegates::naming;
use crate::delegates::profile::{PodProperties, PropertySet};
use crate::delegates::protocol::{DelegateError, InstanceSpec};
use crate::delegates::wiring::Wiring;

/// The label each container of a pod carries with its name in the template's `containers`.
pub const MEMBER_LABEL: &str = "khutulun.member";

/// Everything needed to create one pod instance.
#[derive(Clone, Debug, PartialEq)]
pub struct PodPlan {
    /// Which pod it is (the pod's name and labels).
    pub identity: ContainerIdentity,
    /// The reserved ports the pod publishes for its containers.
    pub ports: Vec<PublishedPort>,
    /// Its containers, in name order.
    pub members: Vec<ContainerPlan>,
}

impl PodPlan {
    /// Works out the plan from the instance, or says what is wrong with it.
    pub fn of(spec: &InstanceSpec) -> Result<PodPlan, DelegateError> {
        let instance = spec.qualified_name();
        let properties = PodProperties::from_properties(&spec.properties, &instance)?;
        let invalid = |message: String| DelegateError::InvalidProperties {
            instance: instance.clone(),
            message,
        };
        if properties.containers.is_empty() {
            return Err(invalid("its `containers` are empty".into()));
        }
        let restart = podman_restart_policy(properties.restart).map_err(&invalid)?;
        let identity = ContainerIdentity::of(spec);
        let wiring = Wiring::of(spec)?;
        let mounts = bind_mounts(&wiring);
        let mut members = Vec::new();
        for (member, container) in &properties.containers {
            let invalid_member =
                |message: String| invalid(format!("its container {member:?}: {message}"));
            if let Some(directory) = &container.working_directory
                && !directory.starts_with('/')
            {
                return Err(invalid_member(format!(
                    "its working directory {directory:?} must be an absolute path"
                )));
            }
            let mut environment = wiring.environment.clone();
            environment.extend(properties.environment.clone());
            environment.extend(container.environment.clone());
            let mut labels = identity.labels.clone();
            labels.insert(MEMBER_LABEL.to_owned(), member.clone());
            members.push(ContainerPlan {
                identity: ContainerIdentity {
                    instance: format!("{instance} (container {member})"),
                    name: naming::fit(
                        format!("{}-{}", identity.name, naming::clean(member)),
                        naming::MAX_NAME,
                    ),
                    labels,
                },
                image: image_source(spec, &container.image, &invalid_member)?,
                entrypoint: container.command.clone().filter(|c| !c.is_empty()),
                arguments: container.arguments.clone(),
                environment,
                working_directory: container.working_directory.clone(),
                user: None,
                restart,
                runtime: properties.runtime.clone().filter(|r| !r.is_empty()),
                ports: Vec::new(),
                mounts: mounts.clone(),
                pod: Some(identity.name.clone()),
            });
        }
        Ok(PodPlan {
            ports: published_ports(spec)?,
            identity,
            members,
        })
    }

    /// Podman's options to create the pod.
    pub fn create_opts(&self) -> PodCreateOpts {
        let mut builder = PodCreateOpts::builder()
            .name(&self.identity.name)
            .labels(self.identity.labels.iter());
        if !self.ports.is_empty() {
            builder = builder.portmappings(self.ports.iter().map(PublishedPort::mapping));
        }
        builder.build()
    }

    /// Each member's name by its name in the template.
    pub fn member_names(&self) -> BTreeMap<String, String> {
        self.members
            .iter()
            .map(|member| {
                (
                    member.identity.labels[MEMBER_LABEL].clone(),
                    member.identity.name.clone(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::profile::types;
    use crate::delegates::protocol::Dependency;
    use crate::delegates::testing;

    fn spec(properties: serde_json::Value, requirements: Vec<Dependency>) -> InstanceSpec {
        testing::spec("shop", "app-0", types::POD, properties, requirements)
    }

    fn dependency(requirement: &str, types: &[&str], attributes: serde_json::Value) -> Dependency {
        testing::dependency(requirement, types, attributes, serde_json::json!({}))
    }

    #[test]
    fn the_pod_publishes_the_ports_and_every_container_joins_it() {
        let plan = PodPlan::of(&spec(
            serde_json::json!({
                "containers": {
                    "web": {"image": {"reference": "localhost/web:1"}, "command": "httpd", "environment": {"ROLE": "web"}},
                    "side car": {"image": {"reference": "localhost/side:1"}, "arguments": ["-v"]},
                },
                "environment": {"ROLE": "pod", "SHARED": "yes"},
                "restart": "always",
                "runtime": "runc",
            }),
            vec![
                dependency(
                    "connection",
                    &["TCPPort", "Port", "Endpoint"],
                    serde_json::json!({"address": "127.0.0.1", "port": 20005}),
                ),
                dependency(
                    "storage",
                    &["LocalDirectory", "Directory"],
                    serde_json::json!({"path": "/srv/data"}),
                ),
            ],
        ))
        .unwrap();
        assert_eq!(plan.identity.name, "khutulun-default.shop.app-0");
        let pod: serde_json::Value =
            serde_json::from_str(&plan.create_opts().serialize().unwrap()).unwrap();
        assert_eq!(pod["name"], "khutulun-default.shop.app-0");
        assert_eq!(pod["labels"]["khutulun.instance"], "app-0");
        assert_eq!(pod["portmappings"][0]["host_port"], 20005);
        assert_eq!(
            plan.member_names(),
            BTreeMap::from([
                (
                    "side car".to_owned(),
                    "khutulun-default.shop.app-0-side_car".to_owned()
                ),
                (
                    "web".to_owned(),
                    "khutulun-default.shop.app-0-web".to_owned()
                ),
            ])
        );
        let web = &plan.members[1];
        let json: serde_json::Value =
            serde_json::from_str(&web.create_opts("localhost/web:1").serialize().unwrap()).unwrap();
        assert_eq!(json["pod"], "khutulun-default.shop.app-0");
        assert_eq!(json["labels"][MEMBER_LABEL], "web");
        assert_eq!(
            json["env"]["ROLE"], "web",
            "the container's own environment wins"
        );
        assert_eq!(json["env"]["SHARED"], "yes");
        assert_eq!(json["env"]["CONNECTION_PORT"], "20005");
        assert_eq!(json["env"]["STORAGE_PATH"], "/srv/data");
        assert_eq!(json["mounts"][0]["destination"], "/srv/data");
        assert_eq!(json["restart_policy"], "always");
        assert_eq!(json["oci_runtime"], "runc");
        assert!(json.get("portmappings").is_none(), "the pod publishes them");
    }

    #[test]
    fn empty_pods_and_bad_containers_are_explained() {
        let cases = [
            (serde_json::json!({"containers": {}}), "empty"),
            (
                serde_json::json!({"containers": {"a": {"image": {}}}}),
                "its container \"a\": its image must give exactly one",
            ),
            (
                serde_json::json!({"containers": {"a": {"image": {"reference": "x"}, "working_directory": "rel"}}}),
                "absolute",
            ),
            (
                serde_json::json!({"containers": {"a": {"image": {"reference": "x"}}}, "restart": "on-abnormal"}),
                "Podman has no",
            ),
        ];
        for (properties, expected) in cases {
            let error = PodPlan::of(&spec(properties, vec![]))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("default/shop/app-0: "), "{error}");
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
