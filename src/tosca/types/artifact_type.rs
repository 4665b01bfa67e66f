//! Completing artifact types: `mime_type`, `file_ext` (inherited unless redefined) and
//! properties.

use super::builder::Builder;
use super::model::{TypeId, TypeRegistry};
use super::property::text;

/// Completes artifact type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some((def, mut record)) = b.begin(id, TypeRegistry::artifact_type) else {
        return;
    };
    record.header = b.reg.header(id).clone();
    if let Some(mime) = text(def.value, "mime_type") {
        record.mime_type = Some(mime);
    }
    if let Some(exts) = def.value.get("file_ext").and_then(|v| v.as_list()) {
        record.file_ext = exts
            .iter()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect();
    }
    record.properties = b.read_own(&def, "properties", record.properties);
    b.reg.artifact[id.index as usize] = record;
}

#[cfg(test)]
mod tests {
    use super::super::model::TypeKind;
    use super::super::testing::*;

    #[test]
    fn inherits_mime_type_and_properties() {
        let registry = assert_valid(
            "artifact_types:\n  Root: {description: r}\n  Jar:\n    derived_from: Root\n    mime_type: application/java-archive\n    file_ext: [jar]\n    version: '1.0'\n    properties:\n      id: {type: string}\n  Fat:\n    derived_from: Jar\n",
        );
        let fat = registry.artifact_type(id(&registry, TypeKind::Artifact, "Fat"));
        assert_eq!(fat.mime_type.as_deref(), Some("application/java-archive"));
        assert_eq!(fat.file_ext, ["jar"]);
        assert!(fat.properties.contains_key("id"));
        assert_eq!(fat.header.name, "Fat");
        assert!(fat.header.version.is_none());
    }

    #[test]
    fn wrong_shapes_are_problems() {
        assert_problem(
            "artifact_types:\n  A:\n    metadata: not a map\n",
            "wrong-shape",
        );
        assert_problem(
            "artifact_types:\n  A:\n    derived_from: 42\n",
            "wrong-shape",
        );
        assert_problem("artifact_types:\n  - A: {}\n", "wrong-shape");
    }
}
