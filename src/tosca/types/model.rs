//! The resolved type system: every type of a service, with its inheritance already applied.
//!
//! The grammar stage reads type definitions from YAML; derivation then fills these structures
//! so that each type carries its *complete* definitions (its own plus every inherited,
//! augmented or refined one). Later stages — template normalisation, requirement fulfilment,
//! instantiation and the runtime — only ever read this model; they never walk `derived_from`
//! chains or YAML themselves.
//!
//! Types are identified by [`TypeId`] (kind + index into that kind's arena) because the same
//! name may be defined in several files and namespaces; [`TypeRegistry::lookup`] turns a name as
//! written in one file (`Type`, `ns:Type`, `a:b:Type`) into an id.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::tosca::data::{Primitive, ScalarUnits};
use crate::tosca::functions::Expr;
use crate::tosca::source::{FileId, Span};
use crate::tosca::value::Value;

/// The eight kinds of TOSCA types; names are unique per kind and namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeKind {
    /// `artifact_types`
    Artifact,
    /// `data_types` and the built-in data types
    Data,
    /// `capability_types`
    Capability,
    /// `interface_types`
    Interface,
    /// `relationship_types`
    Relationship,
    /// `node_types`
    Node,
    /// `group_types`
    Group,
    /// `policy_types`
    Policy,
}

impl TypeKind {
    /// Every kind, in the order the registry completes them (data types first: every other
    /// kind uses them; node types after the kinds their definitions refer to).
    pub const ALL: [TypeKind; 8] = [
        TypeKind::Data,
        TypeKind::Artifact,
        TypeKind::Capability,
        TypeKind::Interface,
        TypeKind::Relationship,
        TypeKind::Node,
        TypeKind::Group,
        TypeKind::Policy,
    ];

    /// The top-level keyname that defines types of this kind.
    pub fn section(self) -> &'static str {
        match self {
            TypeKind::Artifact => "artifact_types",
            TypeKind::Data => "data_types",
            TypeKind::Capability => "capability_types",
            TypeKind::Interface => "interface_types",
            TypeKind::Relationship => "relationship_types",
            TypeKind::Node => "node_types",
            TypeKind::Group => "group_types",
            TypeKind::Policy => "policy_types",
        }
    }

    /// The kind's name in messages ("node type").
    pub fn noun(self) -> &'static str {
        match self {
            TypeKind::Artifact => "artifact type",
            TypeKind::Data => "data type",
            TypeKind::Capability => "capability type",
            TypeKind::Interface => "interface type",
            TypeKind::Relationship => "relationship type",
            TypeKind::Node => "node type",
            TypeKind::Group => "group type",
            TypeKind::Policy => "policy type",
        }
    }
}

/// A type's identity: its kind and its index in that kind's arena of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId {
    /// Which arena.
    pub kind: TypeKind,
    /// Index into the arena.
    pub index: u32,
}

/// What every type has, whatever its kind.
#[derive(Clone, Debug)]
pub struct TypeHeader {
    /// The name as declared in its file (without namespace prefix).
    pub name: String,
    /// The profile the defining file belongs to (`profile:`), if any: with `name` it is the
    /// type's stable identity outside this run (the runtime dispatches on it).
    pub profile: Option<String>,
    /// The file that defines it; `None` for built-in types.
    pub file: Option<FileId>,
    /// Where the definition starts.
    pub span: Span,
    /// The parent type, if any.
    pub parent: Option<TypeId>,
    /// This type and its ancestors, most derived first (so `ancestors[0]` is the type itself).
    pub ancestors: Vec<TypeId>,
    /// `description` (not inherited).
    pub description: Option<String>,
    /// `metadata` (not inherited).
    pub metadata: IndexMap<String, Value>,
    /// `version` (not inherited).
    pub version: Option<String>,
}

impl TypeHeader {
    /// A header for a type named `name`, before derivation fills `parent` and `ancestors`.
    pub fn new(name: impl Into<String>, file: Option<FileId>, span: Span) -> Self {
        TypeHeader {
            name: name.into(),
            profile: None,
            file,
            span,
            parent: None,
            ancestors: Vec::new(),
            description: None,
            metadata: IndexMap::new(),
            version: None,
        }
    }
}

/// A reference to a data type with the schemas a list or map needs.
#[derive(Clone, Debug)]
pub struct Schema {
    /// The data type.
    pub data_type: TypeId,
    /// For lists and maps: the type of the entries.
    pub entry_schema: Option<Box<Schema>>,
    /// For maps: the type of the keys (a string type; `string` when not given).
    pub key_schema: Option<Box<Schema>>,
    /// Validation clauses of this use (ANDed with the data type's own).
    pub validation: Vec<Value>,
}

/// A property or attribute definition, complete after refinement.
#[derive(Clone, Debug)]
pub struct PropertyDef {
    /// Its name.
    pub name: String,
    /// Where it was (last) defined or refined.
    pub span: Span,
    /// Its type and schemas.
    pub schema: Schema,
    /// `description`.
    pub description: Option<String>,
    /// `required` (properties default to true; attributes are never required).
    pub required: bool,
    /// `default`, used when no value is assigned.
    pub default: Option<Value>,
    /// `value`: a fixed value that cannot be assigned or refined.
    pub fixed: Option<Value>,
    /// Every validation clause of this definition and of the definitions it refines, ANDed
    /// (the same list as `schema.validation`, so that checking a value against `schema` applies
    /// them; the data type's own clauses are in [`DataType::validation`], which
    /// [`super::check_value`] applies as well).
    pub validation: Vec<Value>,
    /// `status` (supported, unsupported, experimental, deprecated).
    pub status: Option<String>,
    /// `metadata`.
    pub metadata: IndexMap<String, Value>,
}

/// A parameter definition (service inputs/outputs, operation inputs/outputs): like a property,
/// but its type is optional and it may carry a `value` or a `mapping`.
#[derive(Clone, Debug)]
pub struct ParameterDef {
    /// Its name.
    pub name: String,
    /// Where it was defined.
    pub span: Span,
    /// Its type, when declared.
    pub schema: Option<Schema>,
    /// `description`.
    pub description: Option<String>,
    /// `required` (default true).
    pub required: bool,
    /// `default`.
    pub default: Option<Value>,
    /// `value` (outgoing parameters): an expression.
    pub value: Option<Value>,
    /// `mapping` (incoming parameters): a TOSCA path to an attribute.
    pub mapping: Option<Value>,
    /// Every validation clause, ANDed (also in `schema.validation` when there is a schema).
    pub validation: Vec<Value>,
}

/// What a concrete scalar type measures in, or what other built-in a data type stands on.
#[derive(Clone, Debug)]
pub enum DataKind {
    /// A primitive (string, integer, float, boolean, bytes, nil, timestamp, version).
    Primitive(Primitive),
    /// A scalar with its unit table.
    Scalar(Arc<ScalarUnits>),
    /// A list (entries per `entry_schema`).
    List,
    /// A map (keys per `key_schema`, entries per `entry_schema`).
    Map,
    /// A complex type: a struct of `properties`.
    Complex,
}

/// A data type.
#[derive(Clone, Debug)]
pub struct DataType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// What its values are made of.
    pub kind: DataKind,
    /// Complex types: fields (complete).
    pub properties: IndexMap<String, PropertyDef>,
    /// Lists and maps: the entry schema (complete).
    pub entry_schema: Option<Schema>,
    /// Maps: the key schema.
    pub key_schema: Option<Schema>,
    /// Validation clauses of the type and its ancestors, ANDed.
    pub validation: Vec<Value>,
    /// Scalar types: the data type their numbers are (`float`, `integer`, or one derived from
    /// them such as `PositiveInteger`, whose validation applies to the number).
    pub scalar_number: Option<TypeId>,
}

/// An artifact type.
#[derive(Clone, Debug)]
pub struct ArtifactType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// `mime_type`.
    pub mime_type: Option<String>,
    /// `file_ext`.
    pub file_ext: Vec<String>,
    /// `properties` (complete).
    pub properties: IndexMap<String, PropertyDef>,
}

/// A capability type.
#[derive(Clone, Debug)]
pub struct CapabilityType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// `properties` (complete).
    pub properties: IndexMap<String, PropertyDef>,
    /// `attributes` (complete).
    pub attributes: IndexMap<String, PropertyDef>,
    /// `valid_source_node_types` (`None`: any).
    pub valid_source_node_types: Option<Vec<TypeId>>,
    /// `valid_relationship_types` (`None`: any).
    pub valid_relationship_types: Option<Vec<TypeId>>,
}

/// An operation or notification definition inside an interface.
#[derive(Clone, Debug)]
pub struct OperationDef {
    /// Its name.
    pub name: String,
    /// Where it was defined.
    pub span: Span,
    /// `description`.
    pub description: Option<String>,
    /// `implementation`: the artifact name or definition, as written.
    pub implementation: Option<Value>,
    /// `inputs` (complete).
    pub inputs: IndexMap<String, ParameterDef>,
    /// `outputs` (complete).
    pub outputs: IndexMap<String, ParameterDef>,
}

/// An interface type.
#[derive(Clone, Debug)]
pub struct InterfaceType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// `inputs` common to all operations (complete).
    pub inputs: IndexMap<String, ParameterDef>,
    /// `operations` (complete).
    pub operations: IndexMap<String, OperationDef>,
    /// `notifications` (complete).
    pub notifications: IndexMap<String, OperationDef>,
}

/// An interface definition on a node or relationship type.
#[derive(Clone, Debug)]
pub struct InterfaceDef {
    /// Its name.
    pub name: String,
    /// Where it was (last) defined.
    pub span: Span,
    /// Its interface type.
    pub interface_type: TypeId,
    /// `inputs` (complete: the type's, refined).
    pub inputs: IndexMap<String, ParameterDef>,
    /// `operations` (complete).
    pub operations: IndexMap<String, OperationDef>,
    /// `notifications` (complete).
    pub notifications: IndexMap<String, OperationDef>,
}

/// An artifact definition on a node type or template.
#[derive(Clone, Debug)]
pub struct ArtifactDef {
    /// Its name.
    pub name: String,
    /// Where it was defined.
    pub span: Span,
    /// Its artifact type.
    pub artifact_type: TypeId,
    /// `file` (mandatory): the location, relative to the defining file or its repository.
    pub file: String,
    /// `repository`, when given.
    pub repository: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `artifact_version`.
    pub artifact_version: Option<String>,
    /// `checksum` and `checksum_algorithm`.
    pub checksum: Option<(String, String)>,
    /// `properties` as assigned (checked against the artifact type).
    pub properties: IndexMap<String, Value>,
}

/// A capability definition on a node type.
#[derive(Clone, Debug)]
pub struct CapabilityDef {
    /// Its name.
    pub name: String,
    /// Where it was (last) defined.
    pub span: Span,
    /// Its capability type.
    pub capability_type: TypeId,
    /// `description`.
    pub description: Option<String>,
    /// Property definitions (the type's, refined here).
    pub properties: IndexMap<String, PropertyDef>,
    /// Attribute definitions (the type's, refined here).
    pub attributes: IndexMap<String, PropertyDef>,
    /// `valid_source_node_types` (`None`: any).
    pub valid_source_node_types: Option<Vec<TypeId>>,
    /// `valid_relationship_types` (`None`: any).
    pub valid_relationship_types: Option<Vec<TypeId>>,
}

/// What a requirement asks for in its `capability` keyname.
#[derive(Clone, Debug, PartialEq)]
pub enum CapabilityRef {
    /// A capability type: any capability of this type (or derived) fulfils it.
    Type(TypeId),
    /// A capability's symbolic name on the target node type (only allowed with `node`).
    Name(String),
}

/// The relationship a requirement creates, with its refinements.
#[derive(Clone, Debug)]
pub struct RelationshipRefinement {
    /// The relationship type.
    pub relationship_type: TypeId,
    /// Property definitions (the type's, refined).
    pub properties: IndexMap<String, PropertyDef>,
    /// Attribute definitions (the type's, refined).
    pub attributes: IndexMap<String, PropertyDef>,
    /// Interface definitions (the type's, refined).
    pub interfaces: IndexMap<String, InterfaceDef>,
}

/// `count_range`: how many relationships a requirement makes; `max: None` is UNBOUNDED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountRange {
    /// Lower bound.
    pub min: u64,
    /// Upper bound; `None` is UNBOUNDED.
    pub max: Option<u64>,
}

impl Default for CountRange {
    /// The spec's default: `[0, UNBOUNDED]`.
    fn default() -> Self {
        CountRange { min: 0, max: None }
    }
}

/// A requirement definition on a node type.
#[derive(Clone, Debug)]
pub struct RequirementDef {
    /// Its name (unique among the type's requirements).
    pub name: String,
    /// Where it was (last) defined.
    pub span: Span,
    /// `description`.
    pub description: Option<String>,
    /// `capability`.
    pub capability: CapabilityRef,
    /// `node`: the node type the target must be.
    pub node: Option<TypeId>,
    /// `relationship`: type and refinements; `None` when neither this definition nor the one
    /// it refines names a relationship type (the keyname is optional in TOSCA 2.0).
    pub relationship: Option<RelationshipRefinement>,
    /// `node_filter`: a condition clause, as written.
    pub node_filter: Option<Value>,
    /// `count_range`.
    pub count_range: CountRange,
}

/// A node type.
#[derive(Clone, Debug)]
pub struct NodeType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// `properties` (complete).
    pub properties: IndexMap<String, PropertyDef>,
    /// `attributes` (complete).
    pub attributes: IndexMap<String, PropertyDef>,
    /// `capabilities` (complete).
    pub capabilities: IndexMap<String, CapabilityDef>,
    /// `requirements` (complete, in order: inherited first, refined in place).
    pub requirements: Vec<RequirementDef>,
    /// `interfaces` (complete).
    pub interfaces: IndexMap<String, InterfaceDef>,
    /// `artifacts` (complete; a redefinition replaces the parent's entirely).
    pub artifacts: IndexMap<String, ArtifactDef>,
}

/// A relationship type.
#[derive(Clone, Debug)]
pub struct RelationshipType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// `properties` (complete).
    pub properties: IndexMap<String, PropertyDef>,
    /// `attributes` (complete).
    pub attributes: IndexMap<String, PropertyDef>,
    /// `interfaces` (complete).
    pub interfaces: IndexMap<String, InterfaceDef>,
    /// `valid_capability_types` (`None`: any).
    pub valid_capability_types: Option<Vec<TypeId>>,
    /// `valid_target_node_types` (`None`: any).
    pub valid_target_node_types: Option<Vec<TypeId>>,
    /// `valid_source_node_types` (`None`: any).
    pub valid_source_node_types: Option<Vec<TypeId>>,
}

/// A group type.
#[derive(Clone, Debug)]
pub struct GroupType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// `properties` (complete).
    pub properties: IndexMap<String, PropertyDef>,
    /// `attributes` (complete).
    pub attributes: IndexMap<String, PropertyDef>,
    /// `members`: node types allowed as members (`None`: any).
    pub members: Option<Vec<TypeId>>,
}

/// A policy type.
#[derive(Clone, Debug)]
pub struct PolicyType {
    /// Name, parent, ancestors…
    pub header: TypeHeader,
    /// `properties` (complete).
    pub properties: IndexMap<String, PropertyDef>,
    /// `targets`: node or group types allowed as targets (`None`: any).
    pub targets: Option<Vec<TypeId>>,
    /// `triggers`, as written (checked by the grammar stage).
    pub triggers: IndexMap<String, Value>,
}

/// A declared function (`functions:`), with its signatures.
#[derive(Clone, Debug)]
pub struct FunctionDef {
    /// Its name (without `$`).
    pub name: String,
    /// Where it was defined.
    pub span: Span,
    /// `signatures`, tried in order.
    pub signatures: Vec<FunctionSignature>,
}

/// One signature of a declared function.
#[derive(Clone, Debug)]
pub struct FunctionSignature {
    /// `arguments`.
    pub arguments: Vec<Schema>,
    /// `optional_arguments`.
    pub optional_arguments: Vec<Schema>,
    /// `variadic`.
    pub variadic: bool,
    /// `result`.
    pub result: Option<Schema>,
    /// `implementation`, as written.
    pub implementation: Option<Value>,
}

/// Every type of a service, by kind, with name lookup per file.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    /// Data types (built-ins first).
    pub data: Vec<DataType>,
    /// Artifact types.
    pub artifact: Vec<ArtifactType>,
    /// Capability types.
    pub capability: Vec<CapabilityType>,
    /// Interface types.
    pub interface: Vec<InterfaceType>,
    /// Relationship types.
    pub relationship: Vec<RelationshipType>,
    /// Node types.
    pub node: Vec<NodeType>,
    /// Group types.
    pub group: Vec<GroupType>,
    /// Policy types.
    pub policy: Vec<PolicyType>,
    /// Declared functions, by the name a file uses for them (`fn`, `ns:fn`).
    pub functions: HashMap<(FileId, String), FunctionDef>,
    /// Names as seen from each file: `(file, kind, "ns:Name") → id`. Built-ins are found from
    /// every file.
    pub names: HashMap<(FileId, TypeKind, String), TypeId>,
    /// Built-in data types by name (`string`, `integer`, …).
    pub builtins: HashMap<String, TypeId>,
    /// Every validation clause of the type definitions, parsed once, by its position: checking
    /// a value (for each of 100,000 templates) then only evaluates.
    pub clauses: HashMap<Span, Expr>,
}

impl TypeRegistry {
    /// Resolves a type name as written in `file` (`Name`, `ns:Name`, a built-in data type).
    pub fn lookup(&self, file: FileId, kind: TypeKind, name: &str) -> Option<TypeId> {
        if kind == TypeKind::Data
            && let Some(id) = self.builtins.get(name)
        {
            return Some(*id);
        }
        self.names.get(&(file, kind, name.to_string())).copied()
    }

    /// The header of any type.
    pub fn header(&self, id: TypeId) -> &TypeHeader {
        let i = id.index as usize;
        match id.kind {
            TypeKind::Artifact => &self.artifact[i].header,
            TypeKind::Data => &self.data[i].header,
            TypeKind::Capability => &self.capability[i].header,
            TypeKind::Interface => &self.interface[i].header,
            TypeKind::Relationship => &self.relationship[i].header,
            TypeKind::Node => &self.node[i].header,
            TypeKind::Group => &self.group[i].header,
            TypeKind::Policy => &self.policy[i].header,
        }
    }

    /// Whether `id` is `ancestor` or derives from it.
    pub fn derives_from(&self, id: TypeId, ancestor: TypeId) -> bool {
        id.kind == ancestor.kind && self.header(id).ancestors.contains(&ancestor)
    }

    /// The name to show people: `profile:Name` when the type belongs to a profile.
    pub fn display_name(&self, id: TypeId) -> String {
        let h = self.header(id);
        match &h.profile {
            Some(p) => format!("{}:{}", p, h.name),
            None => h.name.clone(),
        }
    }

    /// A data type by id.
    pub fn data_type(&self, id: TypeId) -> &DataType {
        &self.data[id.index as usize]
    }

    /// A node type by id.
    pub fn node_type(&self, id: TypeId) -> &NodeType {
        &self.node[id.index as usize]
    }

    /// A capability type by id.
    pub fn capability_type(&self, id: TypeId) -> &CapabilityType {
        &self.capability[id.index as usize]
    }

    /// A relationship type by id.
    pub fn relationship_type(&self, id: TypeId) -> &RelationshipType {
        &self.relationship[id.index as usize]
    }
}

impl TypeRegistry {
    /// An artifact type by id.
    pub fn artifact_type(&self, id: TypeId) -> &ArtifactType {
        &self.artifact[id.index as usize]
    }

    /// An interface type by id.
    pub fn interface_type(&self, id: TypeId) -> &InterfaceType {
        &self.interface[id.index as usize]
    }

    /// A group type by id.
    pub fn group_type(&self, id: TypeId) -> &GroupType {
        &self.group[id.index as usize]
    }

    /// A policy type by id.
    pub fn policy_type(&self, id: TypeId) -> &PolicyType {
        &self.policy[id.index as usize]
    }

    /// A built-in data type by name (`string`, `map`…).
    pub fn builtin(&self, name: &str) -> Option<TypeId> {
        self.builtins.get(name).copied()
    }

    /// A declared function as named in `file` (`fn` or `ns:fn`, without the `$`).
    pub fn lookup_function(&self, file: FileId, name: &str) -> Option<&FunctionDef> {
        self.functions.get(&(file, name.to_string()))
    }

    /// The built-in type a data type stands on (`string` for a `ShortString`), or `None` for
    /// complex types.
    pub fn primitive_of(&self, id: TypeId) -> Option<Primitive> {
        match &self.data_type(id).kind {
            DataKind::Primitive(p) => Some(*p),
            DataKind::Scalar(_) => Some(Primitive::Scalar),
            DataKind::List => Some(Primitive::List),
            DataKind::Map => Some(Primitive::Map),
            DataKind::Complex => None,
        }
    }

    /// How many types of every kind the registry holds (built-ins included).
    pub fn len(&self) -> usize {
        self.data.len()
            + self.artifact.len()
            + self.capability.len()
            + self.interface.len()
            + self.relationship.len()
            + self.node.len()
            + self.group.len()
            + self.policy.len()
    }

    /// Whether the registry holds no types at all (not even built-ins).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
