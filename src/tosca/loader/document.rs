//! The rules every loaded TOSCA file must follow before anything else reads it.
//!
//! `tosca_definitions_version` picks the language, so it must be there, must be `tosca_2_0`
//! (the only version this processor reads), and must be the first key so that a reader (or a
//! tool sniffing the first line) knows the language before anything else. A file that declares
//! a `profile` is a type library and must not hold a `service_template`.

use crate::tosca::problem::Problems;
use crate::tosca::value::Value;

/// The keyname that names the TOSCA version.
pub const VERSION_KEY: &str = "tosca_definitions_version";

/// The only `tosca_definitions_version` this processor reads.
pub const SUPPORTED_VERSION: &str = "tosca_2_0";

/// Whether a parsed document looks like TOSCA at all: a map with a
/// `tosca_definitions_version` key. Imports of anything else are refused.
pub fn is_tosca(root: &Value) -> bool {
    root.get(VERSION_KEY).is_some()
}

/// Whether a text declares itself TOSCA: one of its lines starts with
/// `tosca_definitions_version` (after indentation, `{` or a quote). Only such files are quoted
/// in problems; anything else handed to the processor may be a binary or a secret.
pub fn declares_tosca(text: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start_matches([' ', '\t', '{', '"', '\''])
            .starts_with(VERSION_KEY)
    })
}

/// Checks the version rules and the profile rule on one file's root, and returns the
/// `profile:` name the file declares, if any.
pub fn check(root: &Value, problems: &mut Problems) -> Option<String> {
    check_version(root, problems);
    declared_profile(root, problems)
}

fn check_version(root: &Value, problems: &mut Problems) {
    let Some(entries) = root.as_map() else {
        problems.report(
            "not-tosca",
            root.span,
            "",
            format!(
                "a TOSCA file must be a map starting with {VERSION_KEY}, but this one is a {}",
                root.kind_name()
            ),
        );
        return;
    };
    let Some(position) = entries
        .iter()
        .position(|(k, _)| k.as_str() == Some(VERSION_KEY))
    else {
        problems.report(
            "tosca-version-missing",
            root.span,
            "",
            format!("this file has no {VERSION_KEY}; its first line must be `{VERSION_KEY}: {SUPPORTED_VERSION}`"),
        );
        return;
    };
    let (key, value) = &entries[position];
    if position != 0 {
        problems.report(
            "tosca-version-not-first",
            key.span,
            VERSION_KEY,
            format!(
                "{VERSION_KEY} must be the first key of the file, but it comes after other keys"
            ),
        );
    }
    if value.as_str() != Some(SUPPORTED_VERSION) {
        problems.report(
            "unsupported-tosca-version",
            value.span,
            VERSION_KEY,
            format!("{VERSION_KEY} is {value}, but this processor reads only {SUPPORTED_VERSION}"),
        );
    }
}

fn declared_profile(root: &Value, problems: &mut Problems) -> Option<String> {
    let profile = root.get("profile")?;
    let Some(name) = profile.as_str().filter(|n| !n.trim().is_empty()) else {
        problems.report(
            "invalid-profile",
            profile.span,
            "profile",
            format!(
                "profile must be a non-empty string naming the profile, found {}",
                profile.kind_name()
            ),
        );
        return None;
    };
    if let Some((key, _)) = root.as_map().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.as_str() == Some("service_template"))
    }) {
        problems.report(
            "profile-with-service-template",
            key.span,
            "service_template",
            format!(
                "this file declares the profile \"{name}\", so it is a type library and must not have a service_template"
            ),
        );
    }
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn codes(text: &str) -> (Vec<&'static str>, Option<String>) {
        let root = yaml::parse(text, FileId(0)).unwrap();
        let mut problems = Problems::new();
        let profile = check(&root, &mut problems);
        (problems.iter().map(|p| p.code).collect(), profile)
    }

    #[test]
    fn accepts_a_plain_file_with_comments_before_the_version() {
        let (codes, profile) = codes("# comment\ntosca_definitions_version: tosca_2_0\n");
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(profile, None);
    }

    #[test]
    fn the_version_is_required() {
        assert_eq!(codes("description: x\n").0, ["tosca-version-missing"]);
    }

    #[test]
    fn the_version_must_be_first() {
        let (codes, _) = codes("description: x\ntosca_definitions_version: tosca_2_0\n");
        assert_eq!(codes, ["tosca-version-not-first"]);
    }

    #[test]
    fn only_tosca_2_0_is_read() {
        let (c, _) = codes("tosca_definitions_version: tosca_simple_yaml_1_3\n");
        assert_eq!(c, ["unsupported-tosca-version"]);
        let (c, _) = codes("tosca_definitions_version: 2.0\n");
        assert_eq!(c, ["unsupported-tosca-version"]);
    }

    #[test]
    fn a_document_must_be_a_map() {
        assert_eq!(codes("- a\n- b\n").0, ["not-tosca"]);
    }

    #[test]
    fn a_profile_file_must_not_have_a_service_template() {
        let text = "tosca_definitions_version: tosca_2_0\nprofile: p:1\nservice_template: {}\n";
        let (c, profile) = codes(text);
        assert_eq!(c, ["profile-with-service-template"]);
        assert_eq!(profile.as_deref(), Some("p:1"));
        let (c, profile) = codes("tosca_definitions_version: tosca_2_0\nprofile: [a]\n");
        assert_eq!(c, ["invalid-profile"]);
        assert_eq!(profile, None);
    }

    #[test]
    fn a_text_declares_tosca_by_a_line_starting_with_the_version() {
        assert!(declares_tosca(
            "# c\ntosca_definitions_version: tosca_2_0\n"
        ));
        assert!(declares_tosca(
            "{ \"tosca_definitions_version\": tosca_2_0 }"
        ));
        assert!(declares_tosca(
            "description: x\n  tosca_definitions_version: y\n"
        ));
        assert!(!declares_tosca("password: hunter2\n"));
        assert!(!declares_tosca("x: see tosca_definitions_version\n"));
        assert!(!declares_tosca("\u{7f}ELF\u{2}\u{1}"));
    }
}
