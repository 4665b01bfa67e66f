//! TOSCA 2.0 functions: the `$name` call syntax, the built-in signatures, and evaluation.
//!
//! A value is first parsed into an [`Expr`] ([`parse_expr`]), which separates literal data from
//! calls. The template checker then walks the calls to report unknown functions and wrong
//! argument counts ([`check_expr`]) without evaluating anything. Later, the resolver evaluates
//! expressions with [`evaluate`], answering the graph functions (`$get_input`, `$get_property`…)
//! through its [`Context`] while this module computes every other built-in.

mod deferred;
mod error;
mod eval;
mod nested;
mod signature;
mod syntax;
mod validation;

pub use deferred::partially_evaluate;
pub use error::{FunctionError, FunctionSyntaxError};
pub use eval::{Context, NoGraph, TypeHint, Typed, evaluate, evaluate_args, needs_runtime};
pub use nested::nested_value;
pub use signature::{BUILTINS, Builtin, builtin, check_call, check_expr};
pub use syntax::{Call, Expr, has_dollar, mentions, parse_expr};
pub use validation::{NestedHint, ValueContext, depends_on_graph, evaluate_condition};
