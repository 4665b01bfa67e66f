//! Completing policy types: properties, `targets` (node or group types; a derived type may
//! only narrow the list) and `triggers` (kept as written, after the grammar check).

use super::builder::Builder;
use super::model::{TypeId, TypeKind, TypeRegistry};
use crate::tosca::value::Value;

/// Completes policy type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some((def, mut record)) = b.begin(id, TypeRegistry::policy_type) else {
        return;
    };
    record.header = b.reg.header(id).clone();
    record.properties = b.read_own(&def, "properties", record.properties);
    if let Some(list) = def.value.get("targets").and_then(Value::as_list) {
        let path = Builder::path(&def, "targets");
        let mut ids = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let Some(name) = item.as_str() else { continue };
            let found = b
                .reg
                .lookup(def.file, TypeKind::Node, name)
                .or_else(|| b.reg.lookup(def.file, TypeKind::Group, name));
            match found {
                Some(target) => ids.push(target),
                None => b.report(
                    "unknown-type",
                    item.span,
                    &format!("{path}[{i}]"),
                    format!("there is no node type or group type named `{name}` (is it defined or imported?)"),
                ),
            }
        }
        let written = def.value.get("targets").expect("just read");
        b.check_narrowing(&ids, &record.targets, written, &path);
        record.targets = Some(ids);
    }
    if let Some(triggers) = def.value.get("triggers").and_then(Value::as_map) {
        for (k, v) in triggers {
            if let Some(name) = k.as_str() {
                record.triggers.insert(name.to_string(), v.clone());
            }
        }
    }
    b.reg.policy[id.index as usize] = record;
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn targets_are_node_or_group_types() {
        let registry = assert_valid(
            "node_types:\n  Compute: {}\ngroup_types:\n  Redundant: {}\npolicy_types:\n  Backup:\n    targets: [Compute, Redundant]\n    triggers:\n      t: {event: failure, action: [{call_operation: x.y}]}\n  Continuous:\n    derived_from: Backup\n",
        );
        let c = registry.policy_type(id(&registry, TypeKind::Policy, "Continuous"));
        assert_eq!(c.targets.as_ref().map(Vec::len), Some(2));
        assert!(c.triggers.contains_key("t"));
        assert_problem("policy_types:\n  P:\n    targets: [Nope]\n", "unknown-type");
        assert_problem(
            "policy_types:\n  P:\n    triggers:\n      t: {event: e}\n",
            "missing-keyname",
        );
        assert_problem("policy_types:\n  99: {}\n", "invalid-name");
    }
}
