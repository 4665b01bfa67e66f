//! The keynames of every TOSCA 2.0 construct this stage reads, as [`Keys`] tables.
//!
//! Keynames whose presence depends on context (a property's `type` is mandatory in a
//! definition but not in a refinement) are marked optional here; the type stage, which knows
//! the context, reports them.

use super::shape::{Field, Keys, Shape};

const fn opt(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
    }
}

const fn req(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
    }
}

/// A schema definition (`entry_schema`, `key_schema`, function arguments): a type name or a map.
pub static SCHEMA: Shape = Shape::ShortOr(&Shape::String, &SCHEMA_KEYS);
static SCHEMA_KEYS: Keys = Keys {
    what: "a schema definition",
    fields: &[
        opt("type", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("validation", Shape::Any),
        opt("key_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
        opt("entry_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
    ],
};

/// A property definition; a non-map is the refinement short form (`name: value`).
pub static PROPERTY: Shape = Shape::ShortOr(&Shape::Any, &PROPERTY_KEYS);
static PROPERTY_KEYS: Keys = Keys {
    what: "a property definition",
    fields: &[
        opt("type", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("required", Shape::Bool),
        opt("default", Shape::Any),
        opt("value", Shape::Any),
        opt("status", Shape::String),
        opt("validation", Shape::Any),
        opt("key_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
        opt("entry_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
    ],
};

/// An attribute definition; a non-map is the refinement short form.
pub static ATTRIBUTE: Shape = Shape::ShortOr(&Shape::Any, &ATTRIBUTE_KEYS);
static ATTRIBUTE_KEYS: Keys = Keys {
    what: "an attribute definition",
    fields: &[
        opt("type", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("default", Shape::Any),
        opt("status", Shape::String),
        opt("validation", Shape::Any),
        opt("key_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
        opt("entry_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
    ],
};

/// A parameter definition (operation inputs and outputs, interface inputs).
pub static PARAMETER: Shape = Shape::ShortOr(&Shape::Any, &PARAMETER_KEYS);
static PARAMETER_KEYS: Keys = Keys {
    what: "a parameter definition",
    fields: &[
        opt("type", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("required", Shape::Bool),
        opt("default", Shape::Any),
        opt("value", Shape::Any),
        opt("mapping", Shape::Any),
        opt("status", Shape::String),
        opt("validation", Shape::Any),
        opt("key_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
        opt("entry_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
    ],
};

/// An artifact definition (node types, implementations).
pub static ARTIFACT: Shape = Shape::Map(&ARTIFACT_KEYS);
static ARTIFACT_KEYS: Keys = Keys {
    what: "an artifact definition",
    fields: &[
        req("type", Shape::String),
        req("file", Shape::String),
        opt("repository", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("artifact_version", Shape::String),
        opt("checksum", Shape::String),
        opt("checksum_algorithm", Shape::String),
        opt("properties", Shape::MapOf(&Shape::Any)),
    ],
};

/// An operation or notification implementation: an artifact name or a definition.
pub static IMPLEMENTATION: Shape = Shape::ShortOr(&Shape::String, &IMPLEMENTATION_KEYS);
static IMPLEMENTATION_KEYS: Keys = Keys {
    what: "an implementation definition",
    fields: &[
        req("primary", Shape::ShortOr(&Shape::String, &ARTIFACT_KEYS)),
        opt(
            "dependencies",
            Shape::ListOf(&Shape::ShortOr(&Shape::String, &ARTIFACT_KEYS)),
        ),
        opt("timeout", Shape::Count),
    ],
};

/// An operation definition in an interface type or definition (short form: implementation).
pub static OPERATION: Shape = Shape::ShortOr(&Shape::String, &OPERATION_KEYS);
static OPERATION_KEYS: Keys = Keys {
    what: "an operation definition",
    fields: &[
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("implementation", IMPLEMENTATION_SHAPE),
        opt("inputs", Shape::MapOf(&PARAMETER)),
        opt("outputs", Shape::MapOf(&PARAMETER)),
    ],
};
const IMPLEMENTATION_SHAPE: Shape = Shape::ShortOr(&Shape::String, &IMPLEMENTATION_KEYS);

/// A notification definition (short form: implementation).
pub static NOTIFICATION: Shape = Shape::ShortOr(&Shape::String, &NOTIFICATION_KEYS);
static NOTIFICATION_KEYS: Keys = Keys {
    what: "a notification definition",
    fields: &[
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("implementation", IMPLEMENTATION_SHAPE),
        opt("outputs", Shape::MapOf(&PARAMETER)),
    ],
};

/// An interface definition on a node or relationship type.
pub static INTERFACE: Shape = Shape::Map(&INTERFACE_KEYS);
static INTERFACE_KEYS: Keys = Keys {
    what: "an interface definition",
    fields: &[
        opt("type", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("inputs", Shape::MapOf(&PARAMETER)),
        opt("operations", Shape::MapOf(&OPERATION)),
        opt("notifications", Shape::MapOf(&NOTIFICATION)),
    ],
};

/// A capability definition on a node type (short form: the capability type name).
pub static CAPABILITY: Shape = Shape::ShortOr(&Shape::String, &CAPABILITY_KEYS);
static CAPABILITY_KEYS: Keys = Keys {
    what: "a capability definition",
    fields: &[
        opt("type", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("properties", Shape::MapOf(&PROPERTY)),
        opt("attributes", Shape::MapOf(&ATTRIBUTE)),
        opt("valid_source_node_types", Shape::ListOf(&Shape::String)),
        opt("valid_relationship_types", Shape::ListOf(&Shape::String)),
    ],
};

/// The relationship of a requirement definition (short form: the relationship type name).
pub static REQUIREMENT_RELATIONSHIP: Shape =
    Shape::ShortOr(&Shape::String, &REQUIREMENT_RELATIONSHIP_KEYS);
static REQUIREMENT_RELATIONSHIP_KEYS: Keys = Keys {
    what: "a relationship definition",
    fields: &[
        opt("type", Shape::String),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("properties", Shape::MapOf(&PROPERTY)),
        opt("attributes", Shape::MapOf(&ATTRIBUTE)),
        opt("interfaces", Shape::MapOf(&INTERFACE)),
    ],
};

/// A requirement definition on a node type (short form: the capability type name).
pub static REQUIREMENT: Shape = Shape::ShortOr(&Shape::String, &REQUIREMENT_KEYS);
static REQUIREMENT_KEYS: Keys = Keys {
    what: "a requirement definition",
    fields: &[
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("capability", Shape::String),
        opt("node", Shape::String),
        opt(
            "relationship",
            Shape::ShortOr(&Shape::String, &REQUIREMENT_RELATIONSHIP_KEYS),
        ),
        opt("node_filter", Shape::NotNull),
        opt("count_range", Shape::Range),
    ],
};

/// A trigger definition in a policy type.
pub static TRIGGER: Shape = Shape::Map(&TRIGGER_KEYS);
static TRIGGER_KEYS: Keys = Keys {
    what: "a trigger definition",
    fields: &[
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        req("event", Shape::String),
        opt("condition", Shape::Any),
        req("action", Shape::ListOf(&Shape::NotNull)),
    ],
};

macro_rules! type_keys {
    ($what:literal $(, $field:expr)* $(,)?) => {
        Keys {
            what: $what,
            fields: &[
                opt("derived_from", Shape::String),
                opt("version", Shape::Version),
                opt("metadata", Shape::Metadata),
                opt("description", Shape::String),
                $($field,)*
            ],
        }
    };
}

/// An artifact type.
pub static ARTIFACT_TYPE: Keys = type_keys!(
    "an artifact type",
    opt("mime_type", Shape::String),
    opt("file_ext", Shape::ListOf(&Shape::String)),
    opt("properties", Shape::MapOf(&PROPERTY)),
);

/// A data type, including the scalar keynames.
pub static DATA_TYPE: Keys = type_keys!(
    "a data type",
    opt("validation", Shape::Any),
    opt("properties", Shape::MapOf(&PROPERTY)),
    opt("key_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
    opt("entry_schema", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
    opt("data_type", Shape::String),
    opt("units", Shape::MapOf(&Shape::NotNull)),
    opt("canonical_unit", Shape::String),
    opt("prefixes", Shape::Metadata),
);

/// A capability type.
pub static CAPABILITY_TYPE: Keys = type_keys!(
    "a capability type",
    opt("properties", Shape::MapOf(&PROPERTY)),
    opt("attributes", Shape::MapOf(&ATTRIBUTE)),
    opt("valid_source_node_types", Shape::ListOf(&Shape::String)),
    opt("valid_relationship_types", Shape::ListOf(&Shape::String)),
);

/// An interface type.
pub static INTERFACE_TYPE: Keys = type_keys!(
    "an interface type",
    opt("inputs", Shape::MapOf(&PARAMETER)),
    opt("operations", Shape::MapOf(&OPERATION)),
    opt("notifications", Shape::MapOf(&NOTIFICATION)),
);

/// A relationship type.
pub static RELATIONSHIP_TYPE: Keys = type_keys!(
    "a relationship type",
    opt("properties", Shape::MapOf(&PROPERTY)),
    opt("attributes", Shape::MapOf(&ATTRIBUTE)),
    opt("interfaces", Shape::MapOf(&INTERFACE)),
    opt("valid_capability_types", Shape::ListOf(&Shape::String)),
    opt("valid_target_node_types", Shape::ListOf(&Shape::String)),
    opt("valid_source_node_types", Shape::ListOf(&Shape::String)),
);

/// A node type.
pub static NODE_TYPE: Keys = type_keys!(
    "a node type",
    opt("properties", Shape::MapOf(&PROPERTY)),
    opt("attributes", Shape::MapOf(&ATTRIBUTE)),
    opt("capabilities", Shape::MapOf(&CAPABILITY)),
    opt("requirements", Shape::SequencedMapOf(&REQUIREMENT)),
    opt("interfaces", Shape::MapOf(&INTERFACE)),
    opt("artifacts", Shape::MapOf(&ARTIFACT)),
);

/// A group type.
pub static GROUP_TYPE: Keys = type_keys!(
    "a group type",
    opt("properties", Shape::MapOf(&PROPERTY)),
    opt("attributes", Shape::MapOf(&ATTRIBUTE)),
    opt("members", Shape::ListOf(&Shape::String)),
);

/// A policy type.
pub static POLICY_TYPE: Keys = type_keys!(
    "a policy type",
    opt("properties", Shape::MapOf(&PROPERTY)),
    opt("targets", Shape::ListOf(&Shape::String)),
    opt("triggers", Shape::MapOf(&TRIGGER)),
);

/// One signature of a function definition.
pub static SIGNATURE: Shape = Shape::Map(&SIGNATURE_KEYS);
static SIGNATURE_KEYS: Keys = Keys {
    what: "a function signature",
    fields: &[
        opt("arguments", Shape::ListOf(&SCHEMA)),
        opt("optional_arguments", Shape::ListOf(&SCHEMA)),
        opt("variadic", Shape::Bool),
        opt("result", Shape::ShortOr(&Shape::String, &SCHEMA_KEYS)),
        opt("implementation", IMPLEMENTATION_SHAPE),
    ],
};

/// A function definition (`functions:`).
pub static FUNCTION: Keys = Keys {
    what: "a function definition",
    fields: &[
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        req("signatures", Shape::ListOf(&SIGNATURE)),
    ],
};

/// The top level of a TOSCA file. Keynames read by other stages (`imports`, `repositories`,
/// `profile`, `service_template`, `tosca_definitions_version`) are only checked for presence
/// here; their owners check their content.
pub static FILE: Keys = Keys {
    what: "a TOSCA file",
    fields: &[
        opt("tosca_definitions_version", Shape::Any),
        opt("description", Shape::String),
        opt("metadata", Shape::Metadata),
        opt("dsl_definitions", Shape::MapOf(&DSL_ENTRY)),
        opt("artifact_types", Shape::MapOf(&Shape::Map(&ARTIFACT_TYPE))),
        opt("data_types", Shape::MapOf(&Shape::Map(&DATA_TYPE))),
        opt(
            "capability_types",
            Shape::MapOf(&Shape::Map(&CAPABILITY_TYPE)),
        ),
        opt(
            "interface_types",
            Shape::MapOf(&Shape::Map(&INTERFACE_TYPE)),
        ),
        opt(
            "relationship_types",
            Shape::MapOf(&Shape::Map(&RELATIONSHIP_TYPE)),
        ),
        opt("node_types", Shape::MapOf(&Shape::Map(&NODE_TYPE))),
        opt("group_types", Shape::MapOf(&Shape::Map(&GROUP_TYPE))),
        opt("policy_types", Shape::MapOf(&Shape::Map(&POLICY_TYPE))),
        opt("repositories", Shape::Any),
        opt("functions", Shape::MapOf(&Shape::Map(&FUNCTION))),
        opt("profile", Shape::Any),
        opt("imports", Shape::Any),
        opt("service_template", Shape::Any),
    ],
};

/// An entry of `dsl_definitions`: a block of YAML (a map or a list) to be aliased elsewhere;
/// a scalar or an empty entry defines nothing worth an anchor.
static DSL_ENTRY: Shape = Shape::Collection;
