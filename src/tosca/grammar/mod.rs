//! The TOSCA 2.0 grammar: the YAML shape of every top-level keyname and type definition.
//!
//! [`check_file`] walks one parsed file against the static tables in [`keynames`] and reports
//! wrong YAML kinds, unknown keynames and missing required keynames, each with its span and
//! dotted path. It does not resolve names or derive types: [`crate::tosca::types`] does, on
//! values this stage has already vetted. The `service_template` section is left to the
//! templates stage: [`service_template`] hands it over.

pub mod keynames;
pub mod shape;

use crate::tosca::problem::Problems;
use crate::tosca::value::Value;

/// Checks the grammar of one file's top level and of every type and function definition in it.
pub fn check_file(root: &Value, problems: &mut Problems) {
    shape::check(root, &shape::Shape::Map(&keynames::FILE), "", problems);
}

/// The raw `service_template` of a file, for the templates stage.
pub fn service_template(root: &Value) -> Option<&Value> {
    root.get("service_template")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn codes(text: &str) -> Vec<(&'static str, String)> {
        let root = yaml::parse(text, FileId(0)).unwrap();
        let mut problems = Problems::new();
        check_file(&root, &mut problems);
        problems.iter().map(|p| (p.code, p.path.clone())).collect()
    }

    #[test]
    fn accepts_every_top_level_keyname() {
        let text = "tosca_definitions_version: tosca_2_0\ndescription: d\nmetadata: {a: 1}\n\
            dsl_definitions: {x: {a: 1}}\nartifact_types: {}\ndata_types: {}\ncapability_types: {}\n\
            interface_types: {}\nrelationship_types: {}\nnode_types: {}\ngroup_types: {}\n\
            policy_types: {}\nrepositories: {}\nfunctions: {}\nimports: []\nservice_template: {}\n";
        assert_eq!(codes(text), vec![]);
    }

    #[test]
    fn refuses_unknown_top_level_keynames_and_null_sections() {
        let found =
            codes("tosca_definitions_version: tosca_2_0\ntopology_template: {}\nnode_types:\n");
        assert!(found.contains(&("unknown-keyname", "topology_template".into())));
        assert!(found.contains(&("wrong-shape", "node_types".into())));
    }

    #[test]
    fn checks_inside_type_definitions() {
        let found = codes(
            "node_types:\n  A:\n    properties:\n      - p: {type: string}\n    requirements:\n      r: {capability: C}\n    colour: red\n",
        );
        assert!(found.contains(&("wrong-shape", "node_types.A.properties".into())));
        assert!(found.contains(&("wrong-shape", "node_types.A.requirements".into())));
        assert!(found.contains(&("unknown-keyname", "node_types.A.colour".into())));
    }

    #[test]
    fn checks_versions_and_descriptions() {
        let found = codes("description: {complex: x}\nartifact_types:\n  A: {version: 1..0.abc}\n");
        assert!(found.contains(&("wrong-shape", "description".into())));
        assert!(found.contains(&("invalid-version", "artifact_types.A.version".into())));
    }

    #[test]
    fn functions_must_be_a_map_with_signatures() {
        assert!(
            codes("functions:\n  - f: {signatures: []}\n")
                .contains(&("wrong-shape", "functions".into()))
        );
        assert!(
            codes("functions:\n  f: {description: x}\n")
                .contains(&("missing-keyname", "functions.f".into()))
        );
    }

    #[test]
    fn dsl_entries_are_blocks() {
        assert!(codes("dsl_definitions:\n  a: &A {x: 1}\n").is_empty());
        assert_eq!(codes("dsl_definitions:\n  a: 1\n").len(), 1);
        assert_eq!(codes("dsl_definitions:\n  a:\n").len(), 1);
    }
}
