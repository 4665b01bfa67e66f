//! The instantiated service: node and relationship instances, as the runtime stores and runs
//! them.
//!
//! This is the contract between the TOSCA processor and the rest of Khutulun. It is plain,
//! serialisable data (it is written to the shared store) and names types by their stable
//! identity (profile + name), never by processor-internal ids. Values that need runtime
//! attributes (`$get_attribute`) stay [`Expression::Deferred`] until the runtime resolves them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A type's identity outside the processor: the profile that defines it (if any) and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypeRef {
    /// The `profile:` of the defining file, e.g. `khutulun`.
    pub profile: Option<String>,
    /// The type's name in its defining file, e.g. `Process`.
    pub name: String,
}

/// A value that is known now, or a TOSCA expression that must wait for runtime attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expression {
    /// A fully evaluated value.
    Resolved(serde_json::Value),
    /// The expression as written (function calls as `{"$name": args}`), to evaluate later.
    Deferred(serde_json::Value),
}

/// Every node and relationship instance of one service, plus its inputs and outputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Instantiation {
    /// The evaluated inputs.
    pub inputs: IndexMap<String, serde_json::Value>,
    /// The node instances, in dependency order (every instance after the instances it
    /// requires), so deploying in order and deleting in reverse order is always safe.
    pub nodes: Vec<NodeInstance>,
    /// The service's outputs.
    pub outputs: IndexMap<String, Expression>,
    /// The node instances realised by a substituting template (their own instances are in
    /// `nodes`), by the substituted instance's id.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub substitutions: IndexMap<String, Substitution>,
    /// The service's policies (where its instances run, how many, by which delegate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyInstance>,
}

/// A policy of the service, its values evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyInstance {
    /// The policy's name in the template.
    pub name: String,
    /// Its type, then the types it derives from.
    pub types: Vec<TypeRef>,
    /// Its property values.
    pub properties: IndexMap<String, Expression>,
    /// The node templates it applies to (groups replaced by their members).
    pub targets: Vec<String>,
}

/// One node instance (a node template times its `count`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeInstance {
    /// Unique in the service: `<template>-<index>`, e.g. `web-0`.
    pub id: String,
    /// The node template it comes from.
    pub template: String,
    /// Its `$node_index`.
    pub index: u32,
    /// Its node type and that type's ancestors, most derived first.
    pub types: Vec<TypeRef>,
    /// Property values.
    pub properties: IndexMap<String, Expression>,
    /// Initial attribute values (every property is reflected as an attribute too).
    pub attributes: IndexMap<String, Expression>,
    /// Capabilities with their types and values.
    pub capabilities: IndexMap<String, CapabilityInstance>,
    /// Outgoing relationships (fulfilled requirements), in requirement order.
    pub relationships: Vec<RelationshipInstance>,
    /// `directives` of the template.
    pub directives: Vec<String>,
    /// Set when `select` chose an existing node of another service: this instance stands for
    /// it, so the runtime must not deploy it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_from: Option<SelectedFrom>,
    /// Artifacts (the node type's, replaced or added to by the template's), by name, with
    /// their files located so the runtime can open them and `$get_artifact` can answer.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub artifacts: IndexMap<String, ArtifactInstance>,
    /// Interfaces (the type's definitions with the template's assignments), by name: what
    /// the runtime calls to manage this instance. An interface with nothing in it (no input,
    /// no operation implemented or given inputs or outputs) is left out.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub interfaces: IndexMap<String, InterfaceInstance>,
    /// Copies of its artifacts it asks for (`$get_artifact: [SELF, name, location, remove]`),
    /// which the runtime makes before the instance is created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifact_copies: Vec<ArtifactCopy>,
}

/// A copy of one of a node's artifacts at a path it names, made on its host before it is
/// created (TOSCA 1.3's `location` and `remove` arguments of `get_artifact`, which Khutulun
/// keeps for TOSCA 2.0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactCopy {
    /// The artifact's name on the node.
    pub artifact: String,
    /// The absolute path the copy is written to (its directories are made).
    pub destination: String,
    /// Whether the copy is removed when the instance is deleted.
    #[serde(default)]
    pub remove: bool,
}

#[cfg(test)]
impl RelationshipInstance {
    /// A `requirement` relationship to instance `target`, with nothing else, for tests.
    pub fn bare(requirement: &str, target: &str) -> RelationshipInstance {
        RelationshipInstance {
            requirement: requirement.into(),
            target: target.into(),
            capability: "feature".into(),
            index: 0,
            types: Vec::new(),
            properties: IndexMap::new(),
            attributes: IndexMap::new(),
            interfaces: IndexMap::new(),
        }
    }
}

#[cfg(test)]
impl NodeInstance {
    /// Instance `index` of `template`, with nothing else, for tests to fill in.
    pub fn bare(template: &str, index: u32) -> NodeInstance {
        NodeInstance {
            id: format!("{template}-{index}"),
            template: template.into(),
            index,
            types: Vec::new(),
            properties: IndexMap::new(),
            attributes: IndexMap::new(),
            capabilities: IndexMap::new(),
            relationships: Vec::new(),
            directives: Vec::new(),
            selected_from: None,
            artifacts: IndexMap::new(),
            interfaces: IndexMap::new(),
            artifact_copies: Vec::new(),
        }
    }
}

/// The existing node a `select` directive chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectedFrom {
    /// The service that owns it.
    pub service: String,
    /// Its instance id in that service.
    pub instance: String,
}

/// A node instance that a substituting service template realises: what the outer service
/// knew of it, and the instances that replaced it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Substitution {
    /// The node template it comes from.
    pub template: String,
    /// The substituting template's file.
    pub file: String,
    /// Its node type and ancestors, most derived first.
    pub types: Vec<TypeRef>,
    /// The node's property values.
    pub properties: IndexMap<String, Expression>,
    /// The substituting template's inputs (from the node's properties).
    pub inputs: IndexMap<String, serde_json::Value>,
    /// The node's attributes, from the substituting template's outputs.
    pub attributes: IndexMap<String, Expression>,
    /// Its capabilities' attributes (capability → attribute → value), from outputs mapped
    /// with `[CAPABILITY, cap, attribute]`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub capabilities: IndexMap<String, IndexMap<String, Expression>>,
    /// The workflows of the substituting template that carry out its operations
    /// (interface → operation → workflow).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub interfaces: IndexMap<String, IndexMap<String, String>>,
    /// The ids of the instances that replaced it, in dependency order.
    pub nodes: Vec<String>,
}

/// A capability of a node instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapabilityInstance {
    /// Its capability type and ancestors, most derived first.
    pub types: Vec<TypeRef>,
    /// Property values.
    pub properties: IndexMap<String, Expression>,
    /// Attribute values.
    pub attributes: IndexMap<String, Expression>,
}

/// A fulfilled requirement: a relationship from one node instance to another's capability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelationshipInstance {
    /// The requirement's name on the source node.
    pub requirement: String,
    /// The target node instance's id.
    pub target: String,
    /// The target capability's name.
    pub capability: String,
    /// Its `$relationship_index` among the source's relationships of this requirement.
    pub index: u32,
    /// Its relationship type and ancestors, most derived first.
    pub types: Vec<TypeRef>,
    /// Property values.
    pub properties: IndexMap<String, Expression>,
    /// Attribute values.
    pub attributes: IndexMap<String, Expression>,
    /// Interfaces (the relationship type's or the requirement's definitions, with the
    /// relationship template's and the assignment's values), by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub interfaces: IndexMap<String, InterfaceInstance>,
}

/// A file a node carries (a script, an image, a package), located for the runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtifactInstance {
    /// Its artifact type and ancestors, most derived first (empty for a bare file named by
    /// an operation's implementation).
    pub types: Vec<TypeRef>,
    /// `file` as written, for messages.
    pub file: String,
    /// Where the file is: `file` resolved against the TOSCA file (or repository) that
    /// declared the artifact.
    pub location: ArtifactLocation,
    /// The `repository` it is relative to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `artifact_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_version: Option<String>,
    /// `checksum`, so the runtime can verify what it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// `checksum_algorithm` (given whenever `checksum` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// Property values (given, else the artifact type's defaults).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub properties: IndexMap<String, Expression>,
}

/// Where an artifact's file is, in a form the runtime can open without the TOSCA files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArtifactLocation {
    /// A file on the local file system, by absolute path.
    File {
        /// The absolute, normalized path.
        path: String,
    },
    /// A file inside a CSAR archive on the local file system.
    Archive {
        /// The archive's absolute path.
        archive: String,
        /// The file's path inside the archive, starting with `/`.
        path: String,
    },
    /// A file among the profiles compiled into Khutulun.
    BuiltIn {
        /// The file's path among the built-in profiles, starting with `/`.
        path: String,
    },
    /// A URL Khutulun does not fetch itself (`https:`, `oci:`…), for a runtime that can.
    Url {
        /// The URL (a repository's URL joined with `file`).
        url: String,
    },
}

impl std::fmt::Display for ArtifactLocation {
    /// The one-string form `$get_artifact` answers: a path, `archive.csar!/inner/path`,
    /// `builtin:/path` or the URL (the loader names TOSCA files the same way).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArtifactLocation::File { path } => write!(f, "{path}"),
            ArtifactLocation::Archive { archive, path } => write!(f, "{archive}!{path}"),
            ArtifactLocation::BuiltIn { path } => write!(f, "builtin:{path}"),
            ArtifactLocation::Url { url } => write!(f, "{url}"),
        }
    }
}

/// An interface of a node or relationship instance: the operations the runtime may call,
/// with the values they are given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InterfaceInstance {
    /// Its interface type and ancestors, most derived first.
    pub types: Vec<TypeRef>,
    /// Inputs every operation of the interface receives.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub inputs: IndexMap<String, Expression>,
    /// Operations, by name (every one the interface type declares).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub operations: IndexMap<String, OperationInstance>,
    /// Notifications, by name (every one the interface type declares).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub notifications: IndexMap<String, OperationInstance>,
}

/// An operation (or notification) of an interface instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationInstance {
    /// What runs it; `None` when neither type nor template implements it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<Implementation>,
    /// Its own inputs (on top of the interface's).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub inputs: IndexMap<String, Expression>,
    /// What the runtime records once it has run: output name → the attribute it sets, a
    /// TOSCA path as written (e.g. `[SELF, address]`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, serde_json::Value>,
}

/// An operation's implementation: the artifact that runs, and what it needs beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Implementation {
    /// The artifact that runs (a script, a program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<ArtifactRef>,
    /// Artifacts the primary one needs in place to run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<ArtifactRef>,
    /// `timeout` in seconds, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

/// An artifact an implementation uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactRef {
    /// One of the node's `artifacts`, by name (for a relationship, of its source node).
    Artifact(String),
    /// An artifact written in place, or a file that names no artifact of the node.
    Inline(Box<ArtifactInstance>),
}

impl NodeInstance {
    /// Whether this instance's type is, or derives from, `profile:name`.
    pub fn is_a(&self, profile: &str, name: &str) -> bool {
        self.types
            .iter()
            .any(|t| t.name == name && t.profile.as_deref() == Some(profile))
    }
}
