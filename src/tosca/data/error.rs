//! The error every data check returns.

use crate::tosca::source::Span;

/// Why a value or a scalar definition breaks a built-in type's rules, in one sentence that says
/// what was found and what was expected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DataError {
    /// What is wrong and what was expected.
    pub message: String,
    /// The node the problem is about (the value, or the offending entry of a definition).
    pub span: Span,
}

impl DataError {
    /// An error at a span.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        DataError {
            message: message.into(),
            span,
        }
    }
}
