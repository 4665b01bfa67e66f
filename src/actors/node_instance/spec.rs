//! Builds what a delegate needs for one node instance from the service as the store holds it:
//! properties evaluated (deferred ones from other instances' attributes), requirements with
//! their targets' attributes.

use crate::delegates::protocol::{
    self, Artifact, Attributes, Dependency, InstanceSpec, Properties,
};
use crate::state::ServiceView;
use crate::tosca::instance::{Expression, NodeInstance, Resolver, TypeRef};

use super::super::RuntimeError;
use super::super::status::attribute_of;

fn type_refs(types: &[TypeRef]) -> Vec<protocol::TypeRef> {
    types
        .iter()
        .map(|t| protocol::TypeRef {
            profile: t.profile.clone(),
            name: t.name.clone(),
        })
        .collect()
}

/// The values of `values` for instance `this` (deferred ones read the stored attributes),
/// resolved by `resolver`, one for all the evaluations of a view (it indexes the service's
/// instances at its first deferred value).
pub fn evaluate(
    view: &ServiceView,
    resolver: &Resolver,
    this: &str,
    values: &indexmap::IndexMap<String, Expression>,
    what: &str,
) -> Result<Properties, RuntimeError> {
    let lookup = |id: &str, name: &str| attribute_of(view, id, name);
    let mut evaluated = Properties::new();
    for (name, expression) in values {
        let value = resolver
            .resolve(expression, Some(this), &lookup)
            .map_err(|e| RuntimeError::Invalid(format!("{this}: {what} {name}: {e}")))?;
        evaluated.insert(name.clone(), value);
    }
    Ok(evaluated)
}

/// The node instance `id` of the service in `view`.
pub fn node<'a>(view: &'a ServiceView, id: &str) -> Result<&'a NodeInstance, RuntimeError> {
    view.service
        .instantiation
        .nodes
        .iter()
        .find(|node| node.id == id)
        .ok_or_else(|| {
            RuntimeError::NotFound(format!(
                "service {} has no node instance {id}",
                view.service.name
            ))
        })
}

/// What instance `id` is wired with: each requirement's target and the address, port and path
/// it reports (what a delegate turns into environment variables and mounts), as one string.
pub fn wiring(view: &ServiceView, id: &str) -> String {
    let Ok(node) = node(view, id) else {
        return String::new();
    };
    let mut wiring = String::new();
    for relationship in &node.relationships {
        let target = view.instances.iter().find(|i| i.id == relationship.target);
        let attribute = |name: &str| {
            target
                .and_then(|t| t.attributes.get(name))
                .map(|value| value.to_string())
                .unwrap_or_default()
        };
        let (address, port, path) = (attribute("address"), attribute("port"), attribute("path"));
        wiring.push_str(&format!("{}={address},{port},{path};", relationship.target));
    }
    wiring
}

/// The delegate's view of instance `id`, with `state_dir` as its private directory.
pub fn instance_spec(
    view: &ServiceView,
    id: &str,
    state_dir: std::path::PathBuf,
) -> Result<InstanceSpec, RuntimeError> {
    let node = node(view, id)?;
    let resolver = Resolver::new(&view.service.instantiation);
    let properties = evaluate(view, &resolver, id, &node.properties, "property")?;
    let mut requirements = Vec::new();
    for relationship in &node.relationships {
        let target = self::node(view, &relationship.target)?;
        let target_attributes: Attributes = view
            .instances
            .iter()
            .find(|instance| instance.id == target.id)
            .map(|instance| instance.attributes.clone())
            .unwrap_or_default();
        requirements.push(Dependency {
            requirement: relationship.requirement.clone(),
            target: target.id.clone(),
            target_node: target.template.clone(),
            target_types: type_refs(&target.types),
            target_attributes,
            relationship_types: type_refs(&relationship.types),
            relationship_properties: evaluate(
                view,
                &resolver,
                id,
                &relationship.properties,
                "relationship property",
            )?,
        });
    }
    let artifacts = node
        .artifacts
        .iter()
        .map(|(name, artifact)| {
            let artifact = Artifact {
                types: type_refs(&artifact.types),
                file: artifact.file.clone(),
                location: artifact.location.clone(),
            };
            (name.clone(), artifact)
        })
        .collect();
    Ok(InstanceSpec {
        namespace: view.service.namespace.clone(),
        service: view.service.name.clone(),
        instance: id.to_owned(),
        node: node.template.clone(),
        types: type_refs(&node.types),
        properties,
        requirements,
        state_dir,
        artifacts,
    })
}
