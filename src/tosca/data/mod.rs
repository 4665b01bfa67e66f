//! TOSCA 2.0 built-in data values: the primitive types, versions, timestamps and scalars.
//!
//! This is a leaf library: it knows the rules of each built-in type and nothing of the type
//! registry. The type system resolves names (`PositiveInteger` derives from `integer`) and
//! calls in here with the primitive it found; entries of lists and maps are checked by the
//! caller against their `entry_schema`/`key_schema`. No function converts one type to another:
//! TOSCA forbids it (an unquoted `0.1` is a float, never a string).

mod bytes;
mod error;
mod number;
mod primitive;
mod scalar;
mod timestamp;
mod version;

pub use bytes::decode_bytes;
pub use error::DataError;
pub use number::Number;
pub(crate) use primitive::describe;
pub use primitive::{Primitive, check_primitive};
pub use scalar::{Scalar, ScalarNumberType, ScalarUnits};
pub use timestamp::Timestamp;
pub use version::Version;
