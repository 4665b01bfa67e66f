//! Instantiation: node templates times their `count`, with relationships between the
//! instances, as the runtime deploys them.

pub mod model;

pub use model::{
    CapabilityInstance, Expression, Instantiation, NodeInstance, RelationshipInstance, TypeRef,
};

pub mod instantiate;

impl Instantiation {
    /// Resolves a deferred expression once runtime attributes are known: `this` is the node
    /// instance the expression belongs to (SELF), `attributes(instance, attribute)` reads the
    /// runtime's current attribute values.
    pub fn resolve(
        &self,
        expr: &Expression,
        this: Option<&str>,
        attributes: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        match expr {
            Expression::Resolved(v) => Ok(v.clone()),
            Expression::Deferred(v) => instantiate::resolve_value(self, v, this, attributes),
        }
    }
}
