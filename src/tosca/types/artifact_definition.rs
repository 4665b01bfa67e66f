//! Artifact definitions on node types: a redefinition replaces the inherited artifact
//! entirely. Property values are checked against the artifact type's property definitions,
//! and required properties without a default must be given.

use indexmap::IndexMap;

use super::builder::Builder;
use super::model::{ArtifactDef, TypeKind};
use super::property::text;
use crate::tosca::grammar::shape::join;
use crate::tosca::source::FileId;
use crate::tosca::value::Value;

impl Builder<'_, '_> {
    /// Reads a node type's `artifacts` on top of (replacing) the inherited ones.
    pub fn read_artifacts(
        &mut self,
        file: FileId,
        section: Option<&Value>,
        inherited: IndexMap<String, ArtifactDef>,
        path: &str,
    ) -> IndexMap<String, ArtifactDef> {
        self.read_over(section, inherited, path, |b, e| {
            b.read_artifact(file, e.name, e.value, &e.path)
        })
    }

    /// Reads one artifact definition (its `type` and `file` are mandatory).
    pub fn read_artifact(
        &mut self,
        file: FileId,
        name: &str,
        value: &Value,
        path: &str,
    ) -> Option<ArtifactDef> {
        value.as_map()?;
        let artifact_type = self.resolve(
            file,
            TypeKind::Artifact,
            value.get("type")?,
            &join(path, "type"),
        )?;
        let location = text(value, "file")?;
        // A checksum of digits alone reads as a number, which would otherwise go unchecked.
        for key in ["checksum", "checksum_algorithm"] {
            if let Some(v) = value.get(key).filter(|v| v.as_str().is_none()) {
                self.report(
                    "wrong-kind",
                    v.span,
                    &join(path, key),
                    format!("`{key}` must be a string (quote it)"),
                );
            }
        }
        let checksum = match (text(value, "checksum"), text(value, "checksum_algorithm")) {
            (Some(sum), Some(algorithm)) => Some((sum, algorithm)),
            (Some(_), None) => {
                self.report(
                    "missing-keyname",
                    value.span,
                    path,
                    "an artifact with a `checksum` must say its `checksum_algorithm`",
                );
                None
            }
            _ => None,
        };
        let declared = self.reg.artifact_type(artifact_type).properties.clone();
        let mut properties = IndexMap::new();
        if let Some(entries) = value.get("properties").and_then(Value::as_map) {
            for (k, v) in entries {
                let Some(prop) = k.as_str() else { continue };
                let prop_path = join(&join(path, "properties"), prop);
                match declared.get(prop) {
                    Some(def) => {
                        let def = def.clone();
                        self.queue_check(&def.schema, &def.validation, v, &prop_path);
                    }
                    None => self.report(
                        "undeclared",
                        k.span,
                        &prop_path,
                        format!(
                            "the artifact type `{}` has no property `{prop}`",
                            self.reg.header(artifact_type).name
                        ),
                    ),
                }
                properties.insert(prop.to_string(), v.clone());
            }
        }
        for (prop, def) in &declared {
            if def.required
                && def.default.is_none()
                && def.fixed.is_none()
                && !properties.contains_key(prop)
            {
                self.report(
                    "missing-required",
                    value.span,
                    &join(path, "properties"),
                    format!(
                        "the artifact type `{}` requires the property `{prop}`, which has no default",
                        self.reg.header(artifact_type).name
                    ),
                );
            }
        }
        Some(ArtifactDef {
            name: name.to_string(),
            span: value.span,
            artifact_type,
            file: location,
            repository: text(value, "repository"),
            description: text(value, "description"),
            artifact_version: text(value, "artifact_version"),
            checksum,
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn a_redefinition_replaces_the_inherited_artifact() {
        let registry = assert_valid(
            "artifact_types:\n  Image:\n    properties:\n      tag: {type: string, required: false}\nnode_types:\n  A:\n    artifacts:\n      img: {type: Image, file: a.tar, properties: {tag: v1}}\n  B:\n    derived_from: A\n    artifacts:\n      img: {type: Image, file: b.tar}\n",
        );
        let b = registry.node_type(id(&registry, TypeKind::Node, "B"));
        assert_eq!(b.artifacts["img"].file, "b.tar");
        assert!(b.artifacts["img"].properties.is_empty());
    }

    #[test]
    fn artifact_properties_follow_the_type() {
        let base = "artifact_types:\n  Image:\n    properties:\n      tag: {type: string, required: false}\nnode_types:\n  A:\n    artifacts:\n";
        assert_problem(
            &format!("{base}      img: {{type: Image, file: a, properties: {{nope: 1}}}}\n"),
            "undeclared",
        );
        assert_problem(
            &format!("{base}      img: {{type: Image, file: a, properties: {{tag: 1}}}}\n"),
            "wrong-type",
        );
        assert_problem(
            &format!("{base}      img: {{type: Image}}\n"),
            "missing-keyname",
        );
        assert_problem(
            &format!("{base}      img: {{type: Image, file: a, checksum: abc}}\n"),
            "missing-keyname",
        );
        assert_problem(
            &format!(
                "{base}      img: {{type: Image, file: a, checksum: 1234, checksum_algorithm: SHA-256}}\n"
            ),
            "wrong-kind",
        );
        assert_problem(
            "artifact_types:\n  Jar:\n    properties:\n      id: {type: string}\nnode_types:\n  A:\n    artifacts:\n      jar: {type: Jar, file: a.jar}\n",
            "missing-required",
        );
        assert_valid(
            "artifact_types:\n  Jar:\n    properties:\n      id: {type: string}\nnode_types:\n  A:\n    artifacts:\n      jar: {type: Jar, file: a.jar, properties: {id: x}}\n",
        );
    }
}
