//! The budgets one run of the processor keeps to, in one place.
//!
//! A template is input from whoever deploys it, and the agent compiles it in its own process,
//! so a few hundred hostile bytes (a YAML alias bomb, `count: 10000000`) must not exhaust
//! memory. Every stage that could grow without bound checks one of these limits and reports a
//! problem naming it, at the file:line:column that went over, instead of aborting. `validate`,
//! `compile` and the agent's deploy share them through [`crate::tosca::Options::limits`].

/// The code of every problem about going over a limit.
pub const OVER_LIMIT: &str = "limit-exceeded";

/// The limits of one run. The defaults are far above what real services need and far below
/// what would exhaust a host:
///
/// | limit              | default    | what it bounds                                          |
/// |--------------------|------------|---------------------------------------------------------|
/// | `document_bytes`   | 16 MiB     | the text of each TOSCA file                             |
/// | `yaml_nodes`       | 2,000,000  | YAML nodes of one file, after aliases are expanded      |
/// | `yaml_depth`       | 128        | how deeply collections nest in one file                 |
/// | `count`            | 10,000     | the `count` of one node template                        |
/// | `instances`        | 100,000    | node instances of one service (substitutions included)  |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest TOSCA file read, in bytes.
    pub document_bytes: usize,
    /// The most YAML nodes (scalars and collections) one file may produce once its aliases
    /// are expanded: an alias costs the size of what it names, so a bomb is caught by size,
    /// not only by depth.
    pub yaml_nodes: usize,
    /// How deeply lists and maps may nest in one file (later stages walk values recursively).
    pub yaml_depth: usize,
    /// The largest `count` of one node template.
    pub count: u32,
    /// The most node instances one service may have, counting those of substituting
    /// templates.
    pub instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            document_bytes: 16 * 1024 * 1024,
            yaml_nodes: 2_000_000,
            yaml_depth: 128,
            count: 10_000,
            instances: 100_000,
        }
    }
}
