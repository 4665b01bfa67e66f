//! The copies of its own artifacts a node asks for: `$get_artifact: [SELF, name, location]`
//! (or `[…, location, remove]`) in its properties, attributes or operation inputs. The checker
//! holds such calls to literal arguments, so they are found in the template as written,
//! whether the value around them is known when instantiating or only at run time.

use crate::tosca::functions::{mentions, parse_expr};
use crate::tosca::template::ResolvedNode;
use crate::tosca::value::Value;

use super::model::ArtifactCopy;

/// The copies `node` asks for, each destination once, in the order written.
pub fn asked(node: &ResolvedNode) -> Vec<ArtifactCopy> {
    let mut copies: Vec<ArtifactCopy> = Vec::new();
    for value in written(node).filter(|v| mentions(v, "$get_artifact")) {
        let Ok(expr) = parse_expr(value) else {
            continue;
        };
        expr.walk_calls(&mut |call| {
            if call.name != "get_artifact" || call.args.len() < 3 {
                return;
            }
            let literal: Option<Vec<&Value>> = call.args.iter().map(|a| a.as_literal()).collect();
            if let Some(copy) = literal.as_deref().and_then(copy_of)
                && !copies.iter().any(|c| c.destination == copy.destination)
            {
                copies.push(copy);
            }
        });
    }
    copies
}

/// `[SELF, name, location]` or `[SELF, name, location, remove]` as a copy.
fn copy_of(args: &[&Value]) -> Option<ArtifactCopy> {
    let [first, name, location, rest @ ..] = args else {
        return None;
    };
    if first.as_str() != Some("SELF") || rest.len() > 1 {
        return None;
    }
    Some(ArtifactCopy {
        artifact: name.as_str()?.to_owned(),
        destination: location.as_str()?.to_owned(),
        remove: rest.first().and_then(|v| v.as_bool()).unwrap_or(false),
    })
}

/// Every value written on the node that may hold a call.
fn written(node: &ResolvedNode) -> impl Iterator<Item = &Value> {
    let interfaces = node.interfaces.values().flat_map(|interface| {
        let operations = interface
            .operations
            .values()
            .chain(interface.notifications.values())
            .flat_map(|operation| operation.inputs.values());
        interface.inputs.values().chain(operations)
    });
    node.properties
        .values()
        .chain(node.attributes.values())
        .chain(interfaces)
}
