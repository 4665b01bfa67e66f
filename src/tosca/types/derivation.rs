//! Derivation: each type's parent (`derived_from`, of the same kind) and its ancestors.
//!
//! Parents are resolved as the defining file sees names. A chain that comes back to itself
//! is a derivation cycle: it is reported once and broken where it was found, so that every
//! later step can rely on finite, acyclic ancestor lists.

use std::collections::HashSet;

use super::builder::{Builder, header_mut};
use super::model::{DataKind, TypeId, TypeKind};
use crate::tosca::data::Primitive;

/// Resolves every parent, breaks cycles, fills `ancestors`, and classifies data types by the
/// built-in they stand on.
pub fn derive(b: &mut Builder<'_, '_>) {
    let mut ids: Vec<TypeId> = b.defs.keys().copied().collect();
    ids.sort();
    for id in &ids {
        let def = b.defs[id].clone();
        if let Some(parent_name) = def.value.get("derived_from") {
            let path = Builder::path(&def, "derived_from");
            if let Some(parent) = b.resolve(def.file, id.kind, parent_name, &path) {
                header_mut(&mut b.reg, *id).parent = Some(parent);
            }
        }
    }
    for id in &ids {
        let mut chain = vec![*id];
        let mut on_chain: HashSet<TypeId> = HashSet::from([*id]);
        let mut current = *id;
        while let Some(parent) = b.reg.header(current).parent {
            if !on_chain.insert(parent) {
                let def = b.defs[&current].clone();
                let span = def
                    .value
                    .get("derived_from")
                    .map_or(def.value.span, |v| v.span);
                let names: Vec<String> = chain
                    .iter()
                    .map(|t| format!("`{}`", b.reg.header(*t).name))
                    .collect();
                b.report(
                    "derivation-cycle",
                    span,
                    &Builder::path(&def, "derived_from"),
                    format!(
                        "the {} derives from itself through {}",
                        id.kind.noun(),
                        names.join(" → ")
                    ),
                );
                header_mut(&mut b.reg, current).parent = None;
                break;
            }
            chain.push(parent);
            current = parent;
        }
    }
    for id in &ids {
        let mut ancestors = vec![*id];
        let mut current = *id;
        while let Some(parent) = b.reg.header(current).parent {
            ancestors.push(parent);
            current = parent;
        }
        header_mut(&mut b.reg, *id).ancestors = ancestors;
    }
    for id in ids.iter().filter(|id| id.kind == TypeKind::Data) {
        let root = *b
            .reg
            .header(*id)
            .ancestors
            .last()
            .expect("a type is its own ancestor");
        let kind = if b.reg.header(root).file.is_none() {
            b.reg.data_type(root).kind.clone()
        } else {
            DataKind::Complex
        };
        b.reg.data[id.index as usize].kind = kind;
    }
}

/// Whether a data type stands on the abstract `scalar` (directly or through other scalars).
pub fn is_scalar(b: &Builder<'_, '_>, id: TypeId) -> bool {
    matches!(
        b.reg.data_type(id).kind,
        DataKind::Primitive(Primitive::Scalar) | DataKind::Scalar(_)
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn ancestors_of_any_depth_most_derived_first() {
        let registry =
            assert_valid("node_types:\n  C: {derived_from: B}\n  B: {derived_from: A}\n  A: {}\n");
        let c = id(&registry, TypeKind::Node, "C");
        let names: Vec<&str> = registry
            .header(c)
            .ancestors
            .iter()
            .map(|a| registry.header(*a).name.as_str())
            .collect();
        assert_eq!(names, ["C", "B", "A"]);
        assert!(registry.derives_from(c, id(&registry, TypeKind::Node, "A")));
        assert!(!registry.derives_from(id(&registry, TypeKind::Node, "A"), c));
    }

    #[test]
    fn cycles_are_reported_and_broken() {
        let (registry, problems) = build_one(
            "node_types:\n  A: {derived_from: B}\n  B: {derived_from: A}\n  C: {derived_from: C}\n",
        );
        assert_eq!(
            problems
                .iter()
                .filter(|p| p.code == "derivation-cycle")
                .count(),
            2,
            "{problems:?}"
        );
        assert!(
            registry
                .header(id(&registry, TypeKind::Node, "A"))
                .ancestors
                .len()
                <= 2
        );
    }

    #[test]
    fn a_parent_must_be_of_the_same_kind() {
        assert_problem(
            "capability_types:\n  C: {}\nnode_types:\n  N: {derived_from: C}\n",
            "unknown-type",
        );
        assert_problem(
            "artifact_types:\n  A: {derived_from: UnknownType}\n",
            "unknown-type",
        );
    }

    #[test]
    fn data_types_are_classified_by_their_root() {
        let registry = assert_valid(
            "data_types:\n  S: {derived_from: string}\n  T: {derived_from: S}\n  L: {derived_from: list, entry_schema: T}\n",
        );
        assert_eq!(
            registry.primitive_of(id(&registry, TypeKind::Data, "T")),
            Some(Primitive::String)
        );
        assert_eq!(
            registry.primitive_of(id(&registry, TypeKind::Data, "L")),
            Some(Primitive::List)
        );
    }
}
