//! Errors of function syntax and evaluation.

use crate::tosca::source::Span;

/// A value that looks like a function call but is not written as one (a `$name` key sharing
/// its map with other keys).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct FunctionSyntaxError {
    /// What is wrong and how a call is written.
    pub message: String,
    /// Where the malformed call is.
    pub span: Span,
}

/// A call that cannot be checked or evaluated: unknown name, wrong argument count, arguments of
/// the wrong type, or a failure inside the function.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct FunctionError {
    /// What went wrong, in one sentence naming the function.
    pub message: String,
    /// The call (or argument) it is about.
    pub span: Span,
}

impl FunctionError {
    /// An error at a span.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        FunctionError {
            message: message.into(),
            span,
        }
    }
}
