//! Scalar types: a concrete type derived from `scalar` defines its units (and optionally
//! prefixes, a canonical unit and the number type); a type derived from a concrete scalar may
//! only add units and prefixes. The rules themselves are the data layer's
//! ([`ScalarUnits::from_definition`], [`ScalarUnits::refine`]); this file resolves the
//! `data_type` name and says where the rule was broken.

use std::sync::Arc;

use super::builder::{Builder, Definition};
use super::model::{DataKind, TypeId, TypeKind};
use crate::tosca::data::{DataError, ScalarUnits};

/// Reads the unit table of scalar type `id`; returns it with the data type of its numbers.
pub fn read(
    b: &mut Builder<'_, '_>,
    id: TypeId,
    parent: Option<TypeId>,
    def: &Definition<'_>,
) -> Option<(Arc<ScalarUnits>, TypeId)> {
    let value = def.value;
    let number_type = match value.get("data_type") {
        Some(name) => {
            let number = b.resolve(
                def.file,
                TypeKind::Data,
                name,
                &Builder::path(def, "data_type"),
            )?;
            if !(b.derives_from_builtin(number, "float")
                || b.derives_from_builtin(number, "integer"))
            {
                b.report(
                    "invalid-value",
                    name.span,
                    &Builder::path(def, "data_type"),
                    format!(
                        "a scalar counts in `float` or `integer` (or a type derived from them), not `{}`",
                        b.reg.header(number).name
                    ),
                );
                return None;
            }
            Some(number)
        }
        None => None,
    };
    let primitive_name = number_type.map(|n| {
        if b.derives_from_builtin(n, "integer") {
            "integer"
        } else {
            "float"
        }
    });
    let parent_units = parent.and_then(|p| match &b.reg.data_type(p).kind {
        DataKind::Scalar(units) => Some(units.clone()),
        _ => None,
    });
    let result = match &parent_units {
        Some(units) => units.refine(
            value.get("units"),
            value.get("prefixes"),
            value.get("canonical_unit"),
            primitive_name,
        ),
        None => match value.get("units") {
            Some(units) => ScalarUnits::from_definition(
                units,
                value.get("prefixes"),
                value.get("canonical_unit"),
                primitive_name,
            ),
            None => {
                b.report(
                    "missing-keyname",
                    value.span,
                    &def.path,
                    format!(
                        "the scalar type `{}` must define its `units`",
                        b.reg.header(id).name
                    ),
                );
                return None;
            }
        },
    };
    match result {
        Ok(units) => {
            let number = number_type
                .or_else(|| parent.and_then(|p| b.reg.data_type(p).scalar_number))
                .or_else(|| b.reg.builtin(primitive_name.unwrap_or("float")))?;
            Some((Arc::new(units), number))
        }
        Err(DataError { message, span }) => {
            let span = if span.is_known() { span } else { value.span };
            b.report("invalid-scalar-type", span, &def.path, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    const MASS: &str = "data_types:\n  Mass:\n    derived_from: scalar\n    units: {g: 1}\n    prefixes: {'': 1, k: 1000, m: 0.001}\n";

    #[test]
    fn reads_units_and_prefixes() {
        assert_valid(MASS);
        assert_valid(&format!(
            "{MASS}  Limited:\n    derived_from: Mass\n    validation: {{$less_or_equal: [$value, 10 kg]}}\n"
        ));
    }

    #[test]
    fn units_are_mandatory_and_data_type_frozen() {
        assert_problem(
            "data_types:\n  S:\n    derived_from: scalar\n",
            "missing-keyname",
        );
        assert_problem(
            &format!("{MASS}  Counted:\n    derived_from: Mass\n    data_type: integer\n"),
            "invalid-scalar-type",
        );
        assert_problem(
            "data_types:\n  S:\n    derived_from: scalar\n    data_type: Nope\n    units: {b: 1}\n",
            "unknown-type",
        );
        assert_problem(
            "data_types:\n  S:\n    derived_from: scalar\n    data_type: string\n    units: {b: 1}\n",
            "invalid-value",
        );
    }

    #[test]
    fn scalars_have_no_properties() {
        assert_problem(
            "data_types:\n  S:\n    derived_from: scalar\n    units: {b: 1}\n    properties:\n      a: {type: string}\n",
            "misplaced-keyname",
        );
    }
}
