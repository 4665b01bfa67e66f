//! `TOSCA.meta`: the manifest that names a CSAR's entry file.
//!
//! The file is a list of `Keyname: value` lines in blocks separated by blank lines; only the
//! first block (block_0) means anything in TOSCA 2.0. It must give `CSAR-Version: 2.0`,
//! `Created-By` and `Entry-Definitions`; `Other-Definitions` lists further service templates
//! (used for substitution), separated by spaces. Keynames beginning with `TOSCA` are reserved
//! by the standard, so an unknown one is a mistake rather than an extension. A line that
//! starts with a space continues the previous value.

use crate::tosca::problem::Problems;
use crate::tosca::source::{FileId, Span};

/// The meaning of a `TOSCA.meta` block_0.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// The entry service template, relative to the archive root, with where it is written.
    pub entry_definitions: (String, Span),
    /// The other service templates, with where each is written.
    pub other_definitions: Vec<(String, Span)>,
}

const KNOWN: &[&str] = &[
    "CSAR-Version",
    "Created-By",
    "Entry-Definitions",
    "Other-Definitions",
];

/// Reads block_0 of a `TOSCA.meta` text (registered as `file`). Everything wrong is reported;
/// the result is `None` when no usable entry is named.
pub fn parse(text: &str, file: FileId, problems: &mut Problems) -> Option<Meta> {
    let mut fields: Vec<(String, String, Span)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let span = Span {
            file,
            line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            column: 1,
        };
        if line.trim().is_empty() {
            if fields.is_empty() {
                continue;
            }
            break;
        }
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some((_, value, _)) => value.push_str(&line[1..]),
                None => report(
                    problems,
                    span,
                    "",
                    "the file starts with a continuation line",
                ),
            }
            continue;
        }
        match line.split_once(':') {
            Some((key, value)) => {
                fields.push((key.trim().to_string(), value.trim().to_string(), span))
            }
            None => report(
                problems,
                span,
                "",
                format!("\"{line}\" is not a `Keyname: value` line"),
            ),
        }
    }
    for (index, (key, _, span)) in fields.iter().enumerate() {
        if fields[..index].iter().any(|(k, _, _)| k == key) {
            report(problems, *span, key, format!("{key} appears twice"));
        } else if !KNOWN.contains(&key.as_str()) && key.to_ascii_lowercase().starts_with("tosca") {
            report(
                problems,
                *span,
                key,
                format!(
                    "{key} is not a TOSCA.meta keyname, and names starting with TOSCA are reserved; expected one of {}",
                    KNOWN.join(", ")
                ),
            );
        }
    }
    let field = |name: &str| fields.iter().find(|(k, _, _)| k == name);
    let file_start = Span {
        file,
        line: 1,
        column: 1,
    };
    match field("CSAR-Version") {
        Some((_, version, _)) if version == "2.0" => {}
        Some((key, version, span)) => report(
            problems,
            *span,
            key,
            format!("CSAR-Version is \"{version}\", but this processor reads only 2.0"),
        ),
        None => report(
            problems,
            file_start,
            "",
            "block_0 has no CSAR-Version, which is required",
        ),
    }
    if field("Created-By").is_none() {
        report(
            problems,
            file_start,
            "",
            "block_0 has no Created-By, which is required",
        );
    }
    let other_definitions = field("Other-Definitions")
        .map(|(_, value, span)| {
            value
                .split_whitespace()
                .map(|path| (path.to_string(), *span))
                .collect()
        })
        .unwrap_or_default();
    let entry_definitions = match field("Entry-Definitions") {
        Some((key, value, span)) if value.is_empty() => {
            report(
                problems,
                *span,
                key,
                "Entry-Definitions is empty; it must name the entry file",
            );
            return None;
        }
        Some((_, value, span)) => (value.clone(), *span),
        None => {
            report(
                problems,
                file_start,
                "",
                "block_0 has no Entry-Definitions, which is required",
            );
            return None;
        }
    };
    Some(Meta {
        entry_definitions,
        other_definitions,
    })
}

fn report(problems: &mut Problems, span: Span, key: &str, message: impl Into<String>) {
    problems.report("invalid-csar", span, key, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> (Option<Meta>, Vec<String>) {
        let mut problems = Problems::new();
        let meta = parse(text, FileId(0), &mut problems);
        (meta, problems.iter().map(|p| p.message.clone()).collect())
    }

    #[test]
    fn reads_block_0() {
        let (meta, problems) = parse_text(
            "CSAR-Version: 2.0\nCreated-By: me\nEntry-Definitions: a/main.yaml\nOther-Definitions: b.yaml\n  c.yaml\n\nName: ignored\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let meta = meta.unwrap();
        assert_eq!(meta.entry_definitions.0, "a/main.yaml");
        let others: Vec<_> = meta
            .other_definitions
            .iter()
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(others, ["b.yaml", "c.yaml"]);
    }

    #[test]
    fn requires_version_author_and_entry() {
        let (meta, problems) = parse_text("Foo: bar\n");
        assert!(meta.is_none());
        assert_eq!(problems.len(), 3, "{problems:?}");
        let (_, problems) =
            parse_text("CSAR-Version: 1.1\nCreated-By: me\nEntry-Definitions: a.yaml\n");
        assert!(problems[0].contains("only 2.0"), "{problems:?}");
    }

    #[test]
    fn reserved_and_malformed_lines_are_problems() {
        let (meta, problems) = parse_text(
            "CSAR-Version: 2.0\nCreated-By: me\nEntry-Definitions: a.yaml\nTOSCA-Extra: x\nno colon here\n",
        );
        assert!(meta.is_some());
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
