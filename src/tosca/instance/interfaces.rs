//! Artifacts and interfaces of one instance, from its template's resolved ones: types named
//! by their stable identity, values evaluated where the instance stands (deferred where
//! they need runtime attributes).

use indexmap::IndexMap;

use super::model::{
    ArtifactInstance, ArtifactRef, Expression, Implementation, InterfaceInstance,
    OperationInstance, TypeRef,
};
use crate::tosca::template::artifact::ResolvedArtifact;
use crate::tosca::template::interface::{
    ResolvedArtifactRef, ResolvedImplementation, ResolvedInterface, ResolvedOperation,
};
use crate::tosca::types::{Schema, TypeId};
use crate::tosca::value::Value;

/// Evaluates named values at one instance; the text says where they are written, the
/// schemas what computed values must be.
pub type Evaluate<'a> = dyn FnMut(&IndexMap<String, Value>, &str, &IndexMap<String, Schema>) -> IndexMap<String, Expression>
    + 'a;

/// What carrying values into an instance needs from the instantiation.
pub struct Carrying<'a> {
    /// A type's identity and ancestors.
    pub types_of: &'a mut dyn FnMut(TypeId) -> Vec<TypeRef>,
    /// Evaluates values at the instance; the text says where they are written (for
    /// problems), e.g. `interfaces.Standard.inputs`.
    pub evaluate: &'a mut Evaluate<'a>,
}

impl Carrying<'_> {
    /// The instance's artifacts.
    pub fn artifacts(
        &mut self,
        artifacts: &IndexMap<String, ResolvedArtifact>,
    ) -> IndexMap<String, ArtifactInstance> {
        artifacts
            .iter()
            .map(|(name, a)| {
                let instance = self.artifact(a, &format!("artifacts.{name}.properties"));
                (name.clone(), instance)
            })
            .collect()
    }

    fn artifact(&mut self, a: &ResolvedArtifact, what: &str) -> ArtifactInstance {
        ArtifactInstance {
            types: a.artifact_type.map(&mut *self.types_of).unwrap_or_default(),
            file: a.file.clone(),
            location: a.location.clone(),
            repository: a.repository.clone(),
            artifact_version: a.artifact_version.clone(),
            checksum: a.checksum.clone(),
            checksum_algorithm: a.checksum_algorithm.clone(),
            properties: (self.evaluate)(&a.properties, what, &a.property_schemas),
        }
    }

    /// The instance's interfaces that carry something: an input, or an operation or
    /// notification with an implementation, inputs or outputs. One that carries nothing (a
    /// type's interface no template uses) would only weigh down every stored instance.
    pub fn interfaces(
        &mut self,
        interfaces: &IndexMap<String, ResolvedInterface>,
    ) -> IndexMap<String, InterfaceInstance> {
        interfaces
            .iter()
            .filter(|(_, i)| carries_something(i))
            .map(|(name, i)| {
                let at = format!("interfaces.{name}");
                let instance = InterfaceInstance {
                    types: (self.types_of)(i.interface_type),
                    inputs: (self.evaluate)(&i.inputs, &format!("{at}.inputs"), &i.input_schemas),
                    operations: self.operations(&i.operations, &format!("{at}.operations")),
                    notifications: self
                        .operations(&i.notifications, &format!("{at}.notifications")),
                };
                (name.clone(), instance)
            })
            .collect()
    }

    fn operations(
        &mut self,
        operations: &IndexMap<String, ResolvedOperation>,
        at: &str,
    ) -> IndexMap<String, OperationInstance> {
        operations
            .iter()
            .map(|(name, o)| {
                let at = format!("{at}.{name}");
                let instance = OperationInstance {
                    implementation: o
                        .implementation
                        .as_ref()
                        .map(|i| self.implementation(i, &format!("{at}.implementation"))),
                    inputs: (self.evaluate)(&o.inputs, &format!("{at}.inputs"), &o.input_schemas),
                    outputs: o
                        .outputs
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                };
                (name.clone(), instance)
            })
            .collect()
    }

    fn implementation(&mut self, i: &ResolvedImplementation, at: &str) -> Implementation {
        Implementation {
            primary: i
                .primary
                .as_ref()
                .map(|p| self.artifact_ref(p, &format!("{at}.primary.properties"))),
            dependencies: i
                .dependencies
                .iter()
                .enumerate()
                .map(|(n, d)| self.artifact_ref(d, &format!("{at}.dependencies[{n}].properties")))
                .collect(),
            timeout: i.timeout,
        }
    }

    fn artifact_ref(&mut self, r: &ResolvedArtifactRef, what: &str) -> ArtifactRef {
        match r {
            ResolvedArtifactRef::Artifact(name) => ArtifactRef::Artifact(name.clone()),
            ResolvedArtifactRef::Inline(a) => ArtifactRef::Inline(Box::new(self.artifact(a, what))),
        }
    }
}

#[cfg(test)]
#[path = "interfaces_tests.rs"]
mod tests;

fn carries_something(interface: &ResolvedInterface) -> bool {
    let used = |operation: &ResolvedOperation| {
        operation.implementation.is_some()
            || !operation.inputs.is_empty()
            || !operation.outputs.is_empty()
    };
    !interface.inputs.is_empty()
        || interface.operations.values().any(used)
        || interface.notifications.values().any(used)
}
