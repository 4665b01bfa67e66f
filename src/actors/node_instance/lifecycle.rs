//! The node's `Lifecycle` operations (Khutulun profile's interface type): which one runs at
//! which step, with what environment, and which attributes its outputs set.
//!
//! Deploy runs create and configure after the delegate (if any) created the instance, and
//! start after it started it; delete runs stop before the delegate deletes it and delete after.
//! An operation whose interface is not a Khutulun `Lifecycle`, or which has no implementation,
//! is skipped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::delegates::profile::{PROFILE, types::LIFECYCLE};
use crate::delegates::protocol::{Attributes, InstanceSpec};
use crate::delegates::wiring::Wiring;
use crate::state::ServiceView;
use crate::tosca::instance::Resolver;
use crate::tosca::instance::model::{
    ArtifactLocation, ArtifactRef, InterfaceInstance, NodeInstance,
};

use super::super::RuntimeError;
use super::spec::{evaluate, node};

/// How long an operation may run when its implementation sets no `timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// One operation, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationRun {
    /// `service/instance`, for messages.
    pub instance: String,
    /// `Interface.operation`, for messages and the log.
    pub name: String,
    /// The script or program: a file on disk, or one inside the template's CSAR (copied into
    /// the instance's directory to run).
    pub program: ArtifactLocation,
    /// Its environment (besides PATH, HOME and KHUTULUN_OUTPUTS).
    pub environment: BTreeMap<String, String>,
    /// Output name → the attribute of the instance it sets.
    pub outputs: BTreeMap<String, String>,
    /// When it is stopped and counted as failed.
    pub timeout: Duration,
    /// Where it runs: the instance's private directory.
    pub directory: PathBuf,
}

/// The operation `operation` of the instance's Lifecycle interfaces, if one is implemented.
pub fn prepare(
    view: &ServiceView,
    spec: &InstanceSpec,
    operation: &str,
) -> Result<Option<OperationRun>, RuntimeError> {
    let node = node(view, &spec.instance)?;
    let instance = spec.qualified_name();
    let resolver = Resolver::new(&view.service.instantiation);
    for (interface_name, interface) in &node.interfaces {
        if !is_lifecycle(interface) {
            continue;
        }
        let Some(definition) = interface.operations.get(operation) else {
            continue;
        };
        let Some(implementation) = definition.implementation.as_ref() else {
            continue;
        };
        let Some(primary) = implementation.primary.as_ref() else {
            continue;
        };
        let name = format!("{interface_name}.{operation}");
        if !implementation.dependencies.is_empty() {
            return Err(RuntimeError::Invalid(format!(
                "{instance}: {name} lists dependencies, which Khutulun does not put in place yet"
            )));
        }
        let program = program_of(node, spec, primary, &name)?;
        let this = &spec.instance;
        let mut inputs = evaluate(view, &resolver, this, &interface.inputs, "input")?;
        inputs.extend(evaluate(
            view,
            &resolver,
            this,
            &definition.inputs,
            "input",
        )?);
        let mut environment: BTreeMap<String, String> = Wiring::of(spec)?.environment;
        environment.extend(inputs.into_iter().map(|(k, v)| (k, as_text(v))));
        let mut outputs = BTreeMap::new();
        for (output, target) in &definition.outputs {
            outputs.insert(output.clone(), self_attribute(target).ok_or_else(|| {
                RuntimeError::Invalid(format!(
                    "{instance}: {name} maps its output {output} to {target}, but only [ SELF, <attribute> ] is supported"
                ))
            })?);
        }
        let timeout = implementation
            .timeout
            .and_then(|seconds| u64::try_from(seconds).ok())
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        return Ok(Some(OperationRun {
            instance,
            name,
            program,
            environment,
            outputs,
            timeout,
            directory: spec.state_dir.clone(),
        }));
    }
    Ok(None)
}

/// The attributes the instance's Lifecycle operations set, which the runtime keeps when a
/// delegate reports its own.
pub fn output_attributes(node: &NodeInstance) -> Vec<String> {
    lifecycle_interfaces(node)
        .flat_map(|interface| interface.operations.values())
        .flat_map(|operation| operation.outputs.values())
        .filter_map(self_attribute)
        .collect()
}

/// `[SELF, name]` → `name`.
fn self_attribute(target: &serde_json::Value) -> Option<String> {
    match target.as_array()?.as_slice() {
        [entity, attribute] if entity == "SELF" => attribute.as_str().map(str::to_owned),
        _ => None,
    }
}

/// The file that implements operation `name`: an artifact of the node (its downloaded copy
/// when it is at a URL: see [`super::artifacts`]), or one written inline.
fn program_of(
    node: &NodeInstance,
    spec: &InstanceSpec,
    primary: &ArtifactRef,
    name: &str,
) -> Result<ArtifactLocation, RuntimeError> {
    let instance = spec.qualified_name();
    let location = match primary {
        ArtifactRef::Artifact(artifact) => spec
            .artifacts
            .get(artifact)
            .map(|a| &a.location)
            .or_else(|| node.artifacts.get(artifact).map(|a| &a.location))
            .ok_or_else(|| {
                RuntimeError::Invalid(format!(
                    "{instance}: {name} is implemented by the artifact {artifact:?}, which the node does not have"
                ))
            })?,
        ArtifactRef::Inline(artifact) => &artifact.location,
    };
    match location {
        ArtifactLocation::Url { url } => Err(RuntimeError::Invalid(format!(
            "{instance}: {name} is implemented by {url}, which Khutulun downloads only for an artifact of the node (declare it under `artifacts` and name it)"
        ))),
        location => Ok(location.clone()),
    }
}

/// An input as an environment variable's value: text as is, anything else as JSON.
fn as_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// `reported` (what a delegate says the attributes are now) with the operation outputs
/// (`outputs`, the attributes the node's operations set) of `previous` that it does not
/// mention: a delegate knows nothing of them.
pub fn keep_outputs(
    outputs: &[String],
    previous: &Attributes,
    mut reported: Attributes,
) -> Attributes {
    for attribute in outputs {
        if !reported.contains_key(attribute)
            && let Some(value) = previous.get(attribute)
        {
            reported.insert(attribute.clone(), value.clone());
        }
    }
    reported
}

/// Whether the node has a Lifecycle operation with an implementation (then deploying and
/// deleting it runs something besides its delegate).
pub fn has_operations(node: &NodeInstance) -> bool {
    lifecycle_interfaces(node).any(|interface| {
        interface
            .operations
            .values()
            .any(|operation| operation.implementation.is_some())
    })
}

fn lifecycle_interfaces(node: &NodeInstance) -> impl Iterator<Item = &InterfaceInstance> {
    node.interfaces
        .values()
        .filter(|interface| is_lifecycle(interface))
}

fn is_lifecycle(interface: &InterfaceInstance) -> bool {
    interface
        .types
        .iter()
        .any(|t| t.name == LIFECYCLE && t.profile.as_deref() == Some(PROFILE))
}
