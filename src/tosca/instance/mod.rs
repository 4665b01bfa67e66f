//! Instantiation: node templates times their `count`, with relationships between the
//! instances, as the runtime deploys them.

pub mod model;

pub use model::{
    ArtifactCopy, ArtifactInstance, ArtifactLocation, ArtifactRef, CapabilityInstance, Expression,
    Implementation, Instantiation, InterfaceInstance, NodeInstance, OperationInstance,
    PolicyInstance, RelationshipInstance, SelectedFrom, Substitution, TypeRef,
};

mod artifact_copies;
mod artifact_file;
pub mod checksum;
pub mod diff;
pub mod directives;
pub mod instantiate;
pub mod interfaces;
pub mod resolve;
pub mod select;
pub mod substitute;

pub use select::Inventory;

pub use resolve::Resolver;

impl Instantiation {
    /// The instances as a Graphviz DOT graph: one node per node instance (named by its id),
    /// one edge per relationship instance, from source to target.
    pub fn to_dot(&self) -> String {
        use std::fmt::Write as _;
        let quoted = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = String::from("digraph instances {\n    rankdir=BT;\n    node [shape=box];\n");
        for node in &self.nodes {
            let _ = writeln!(out, "    {};", quoted(&node.id));
        }
        for node in &self.nodes {
            for r in &node.relationships {
                let _ = writeln!(
                    out,
                    "    {} -> {} [label={}];",
                    quoted(&node.id),
                    quoted(&r.target),
                    quoted(&r.requirement)
                );
            }
        }
        out.push_str("}\n");
        out
    }

    /// Resolves a deferred expression once runtime attributes are known: `this` is the node
    /// instance the expression belongs to (SELF), `attributes(instance, attribute)` reads the
    /// runtime's current attribute values. This indexes the instantiation on every call that
    /// must compute: to resolve many expressions, build one [`Resolver`] for all of them.
    pub fn resolve(
        &self,
        expr: &Expression,
        this: Option<&str>,
        attributes: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        Resolver::new(self).resolve(expr, this, attributes)
    }
}
