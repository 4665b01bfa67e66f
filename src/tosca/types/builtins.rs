//! The built-in data types every file sees: `string`, `integer`, `float`, `boolean`, `bytes`,
//! `nil`, `timestamp`, `version`, `scalar`, `list` and `map`.
//!
//! They are registered first, without a file, so that a data type of any file can derive from
//! them and so that their names are reserved: a user-defined data type may not reuse them.

use super::model::{DataKind, DataType, TypeHeader, TypeId, TypeKind, TypeRegistry};
use crate::tosca::data::Primitive;
use crate::tosca::source::Span;

/// Adds the built-in data types to an empty registry.
pub fn install(registry: &mut TypeRegistry) {
    for primitive in Primitive::ALL {
        let id = TypeId {
            kind: TypeKind::Data,
            index: registry.data.len() as u32,
        };
        let mut header = TypeHeader::new(primitive.name(), None, Span::NONE);
        header.ancestors = vec![id];
        let kind = match primitive {
            Primitive::List => DataKind::List,
            Primitive::Map => DataKind::Map,
            other => DataKind::Primitive(other),
        };
        registry.data.push(DataType {
            header,
            kind,
            properties: Default::default(),
            entry_schema: None,
            key_schema: None,
            validation: Vec::new(),
            scalar_number: None,
        });
        registry.builtins.insert(primitive.name().to_string(), id);
    }
}

/// Whether `name` is reserved for a built-in data type.
pub fn is_reserved(name: &str) -> bool {
    Primitive::from_name(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;

    #[test]
    fn every_file_sees_the_built_ins() {
        let mut registry = TypeRegistry::default();
        install(&mut registry);
        for name in [
            "string",
            "integer",
            "float",
            "boolean",
            "bytes",
            "nil",
            "timestamp",
            "version",
            "scalar",
            "list",
            "map",
        ] {
            let id = registry
                .lookup(FileId(7), TypeKind::Data, name)
                .expect(name);
            assert_eq!(registry.header(id).name, name);
            assert!(is_reserved(name));
        }
        assert!(
            registry
                .lookup(FileId(7), TypeKind::Node, "string")
                .is_none()
        );
        assert!(!is_reserved("String"));
    }
}
