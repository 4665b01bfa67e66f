//! Evaluating template values: the graph functions (`$get_input`, `$get_property`,
//! `$get_attribute`, `$get_artifact`, `$node_index`, `$relationship_index`,
//! `$available_allocation`) answered from a [`View`] of templates or instances; every other
//! built-in is computed by [`functions::evaluate`].
//!
//! A value that reads runtime attributes (`$get_attribute`) or calls a declared custom
//! function is not evaluated here: it is [`Outcome::Deferred`] and kept as written.

use indexmap::IndexMap;

use super::path::{self, Entity, Graph};
use crate::tosca::functions::{self, Call, Context, Expr, FunctionError, TypeHint, Typed};
use crate::tosca::types::{self, TypeId, TypeRegistry};
use crate::tosca::value::{Value, ValueKind};

/// What a graph function can read, on top of the [`Graph`] its paths walk.
pub trait View: Graph {
    /// The service's input values.
    fn inputs(&self) -> &IndexMap<String, Value>;
    /// A property of an entity.
    fn property(&self, entity: &Entity, name: &str) -> Option<Value>;
    /// An attribute of an entity, when known.
    fn attribute(&self, entity: &Entity, name: &str) -> Option<Value>;
    /// Where an artifact of a node is (its `file`, located), as `$get_artifact` answers.
    fn artifact(&self, node: usize, name: &str) -> Option<Value>;
    /// What is left of a capability's property after allocations.
    fn available(&self, node: usize, capability: &str, property: &str) -> Option<Value>;
    /// `$node_index` where the value is written.
    fn node_index(&self) -> Option<u32>;
    /// `$relationship_index` where the value is written.
    fn relationship_index(&self) -> Option<u32>;
    /// The same graph seen from another entity (to evaluate a value written there).
    fn at(&self, this: Entity) -> Box<dyn View + '_>;
    /// How to read value `name` of `entity` (a property, or an attribute when `attribute`) at
    /// `keys` below it: its declared type's hint (a scalar's units…), where the view knows
    /// the types.
    fn hint(
        &self,
        entity: &Entity,
        name: &str,
        attribute: bool,
        keys: &[Value],
    ) -> Option<TypeHint> {
        let _ = (entity, name, attribute, keys);
        None
    }
}

/// The type that declares an entity's values.
pub enum Definer {
    /// A node type.
    Node(TypeId),
    /// A capability type.
    Capability(TypeId),
    /// A relationship type.
    Relationship(TypeId),
}

/// How to read value `name` declared by `definer` (a property, or an attribute when
/// `attribute`; an attribute may be a reflected property) at `keys` below it: the hint of its
/// declared type, if that type needs one (so `$sum` of two scalars read by `$get_property`
/// knows their units, as in validation clauses).
pub fn hint_of(
    registry: &TypeRegistry,
    definer: Definer,
    name: &str,
    attribute: bool,
    keys: &[Value],
) -> Option<TypeHint> {
    let (properties, attributes) = match definer {
        Definer::Node(t) => {
            let d = registry.node_type(t);
            (&d.properties, &d.attributes)
        }
        Definer::Capability(t) => {
            let d = registry.capability_type(t);
            (&d.properties, &d.attributes)
        }
        Definer::Relationship(t) => {
            let d = registry.relationship_type(t);
            (&d.properties, &d.attributes)
        }
    };
    let def = if attribute {
        attributes.get(name).or_else(|| properties.get(name))
    } else {
        properties.get(name)
    }?;
    types::hint_at(registry, def.schema.data_type, keys)
}

/// How deep values that read other values may nest before we call it a cycle.
const MAX_DEPTH: u32 = 64;

/// The result of evaluating a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Fully evaluated.
    Known(Value),
    /// Needs runtime attributes or a custom function: kept as written.
    Deferred(Value),
}

/// Evaluates `value` against `view`.
pub fn evaluate(value: &Value, view: &dyn View) -> Result<Outcome, String> {
    let expr = match functions::parse_expr(value).map_err(|e| e.message)? {
        functions::Expr::Literal(literal) => return Ok(Outcome::Known(literal)),
        expr => expr,
    };
    if must_wait(&expr) {
        return Ok(Outcome::Deferred(value.clone()));
    }
    let mut ctx = ViewContext {
        view,
        depth: 0,
        runtime: false,
        deferred: false,
    };
    match functions::evaluate(&expr, &mut ctx) {
        Ok(t) => Ok(Outcome::Known(t.value)),
        Err(_) if ctx.deferred => Ok(Outcome::Deferred(value.clone())),
        Err(e) => Err(e.message),
    }
}

/// Evaluates `value`, reading attributes through the view too (the runtime's resolve).
pub fn evaluate_now(value: &Value, view: &dyn View) -> Result<Value, String> {
    let expr = functions::parse_expr(value).map_err(|e| e.message)?;
    let mut ctx = ViewContext {
        view,
        depth: 0,
        runtime: true,
        deferred: false,
    };
    functions::evaluate(&expr, &mut ctx)
        .map(|t| t.value)
        .map_err(|e| e.message)
}

/// Evaluates a validation clause that reads the graph (`$get_property: [SELF, …]`…), with
/// `$value` bound to `value` (`nested` gives the hints of its fields): `Some(holds)`, or
/// `None` when it must wait for runtime attributes or a custom function (§9.10).
pub fn evaluate_clause(
    clause: &Expr,
    value: Typed,
    nested: Option<functions::NestedHint<'_>>,
    view: &dyn View,
) -> Result<Option<bool>, String> {
    if must_wait(clause) {
        return Ok(None);
    }
    let mut graph = ViewContext {
        view,
        depth: 0,
        runtime: false,
        deferred: false,
    };
    let mut ctx = functions::ValueContext::new(value);
    ctx.nested_hint = nested;
    ctx.outer = Some(&mut graph);
    let result = functions::evaluate_condition(clause, &mut ctx);
    drop(ctx);
    match result {
        Ok(holds) => Ok(Some(holds)),
        Err(_) if graph.deferred => Ok(None),
        Err(e) => Err(e.message),
    }
}

/// Whether an expression reads runtime state or calls a function we cannot run.
pub fn must_wait(expr: &Expr) -> bool {
    expr.calls()
        .iter()
        .any(|c| c.name == "get_attribute" || functions::builtin(&c.name).is_none())
}

/// Where `$get_artifact` answers when it asks for a copy (`[SELF, name, location]`, optionally
/// with `remove`): the copy's path, which the runtime writes before the instance is made (see
/// [`crate::tosca::instance::ArtifactCopy`]); `None` without a location.
fn copy_location(call: &Call, rest: &[Value]) -> Result<Option<Value>, FunctionError> {
    let Some(location) = rest.get(1) else {
        return Ok(None);
    };
    let refuse = |why: &str| Err(FunctionError::new(call.span, format!("{call}: {why}")));
    let literal: Option<Vec<&Value>> = call.args.iter().map(|a| a.as_literal()).collect();
    let Some(args) = literal else {
        return refuse(
            "a copy of an artifact is asked for with literal arguments only (the runtime reads them from the template)",
        );
    };
    if args.first().and_then(|a| a.as_str()) != Some("SELF") {
        return refuse(
            "a copy of an artifact is made for the node that asks for it: write [ SELF, artifact, location ]",
        );
    }
    if rest.len() > 3 || rest.get(2).is_some_and(|remove| remove.as_bool().is_none()) {
        return refuse("after the location comes only `remove`, a boolean");
    }
    match location.as_str() {
        Some(path) if path.starts_with('/') && !path.ends_with('/') => Ok(Some(location.clone())),
        _ => refuse("the location of a copy is the absolute path of a file"),
    }
}

struct ViewContext<'a> {
    view: &'a dyn View,
    /// How many values deep this evaluation is.
    depth: u32,
    /// Whether attributes may be read (the runtime resolves), or make the value wait.
    runtime: bool,
    /// Set when a value read on the way needs runtime attributes.
    deferred: bool,
}

impl ViewContext<'_> {
    fn args(&mut self, call: &Call) -> Result<Vec<Value>, FunctionError> {
        Ok(functions::evaluate_args(call, self)?
            .into_iter()
            .map(|t| t.value)
            .collect())
    }

    fn read(&mut self, call: &Call, attribute: bool) -> Result<Typed, FunctionError> {
        let args = self.args(call)?;
        let walked = path::walk(self.view, &args)
            .map_err(|m| FunctionError::new(call.span, format!("{call}: {m}")))?;
        let Some((name, keys)) = walked.rest.split_first() else {
            return Err(FunctionError::new(
                call.span,
                format!("{call} needs the name of what to read after the path"),
            ));
        };
        let name = name.as_str().ok_or_else(|| {
            FunctionError::new(
                call.span,
                format!("{call}: the name to read must be a string"),
            )
        })?;
        let mut results = Vec::with_capacity(walked.entities.len());
        let mut hint = None;
        for entity in &walked.entities {
            let found = if attribute {
                self.view
                    .attribute(entity, name)
                    .or_else(|| self.view.property(entity, name))
            } else {
                self.view.property(entity, name)
            };
            let raw = found.ok_or_else(|| {
                FunctionError::new(call.span, format!("{call}: `{name}` has no value there"))
            })?;
            let value = self.settle(raw, entity, call)?;
            if !walked.all {
                hint = self.view.hint(entity, name, attribute, keys);
            }
            results.push(
                path::nested(&value, keys)
                    .map_err(|m| FunctionError::new(call.span, format!("{call}: {m}")))?,
            );
        }
        if walked.all {
            Ok(Typed::plain(Value::new(ValueKind::List(results))))
        } else {
            results
                .pop()
                .map(|value| Typed { value, hint })
                .ok_or_else(|| {
                    FunctionError::new(call.span, format!("{call}: the path leads nowhere"))
                })
        }
    }
}

impl ViewContext<'_> {
    /// A value read from the graph may itself be an expression written at `entity`:
    /// evaluates it there.
    fn settle(&mut self, raw: Value, entity: &Entity, call: &Call) -> Result<Value, FunctionError> {
        if !functions::has_dollar(&raw) {
            return Ok(raw);
        }
        let expr =
            functions::parse_expr(&raw).map_err(|e| FunctionError::new(call.span, e.message))?;
        if let Some(literal) = expr.as_literal() {
            return Ok(literal.clone());
        }
        if !self.runtime && must_wait(&expr) {
            self.deferred = true;
            return Err(FunctionError::new(
                call.span,
                format!("{call} reads a value that needs runtime attributes"),
            ));
        }
        if self.depth >= MAX_DEPTH {
            return Err(FunctionError::new(
                call.span,
                format!("{call}: values refer to each other in a cycle"),
            ));
        }
        let there = self.view.at(entity.clone());
        let mut inner = ViewContext {
            view: &*there,
            depth: self.depth + 1,
            runtime: self.runtime,
            deferred: false,
        };
        let result = functions::evaluate(&expr, &mut inner);
        self.deferred |= inner.deferred;
        result.map(|t| t.value)
    }
}

impl Context for ViewContext<'_> {
    fn graph_call(&mut self, call: &Call) -> Option<Result<Typed, FunctionError>> {
        let answer = match call.name.as_str() {
            "get_input" => (|| {
                let args = self.args(call)?;
                let name = args.first().and_then(Value::as_str).ok_or_else(|| {
                    FunctionError::new(call.span, "$get_input needs an input name")
                })?;
                let value = self.view.inputs().get(name).ok_or_else(|| {
                    FunctionError::new(call.span, format!("input `{name}` has no value"))
                })?;
                path::nested(value, &args[1..])
                    .map(Typed::plain)
                    .map_err(|m| FunctionError::new(call.span, format!("$get_input: {m}")))
            })(),
            "get_property" => self.read(call, false),
            "get_attribute" => self.read(call, true),
            "get_artifact" => (|| {
                let args = self.args(call)?;
                let walked =
                    path::walk(self.view, &args).map_err(|m| FunctionError::new(call.span, m))?;
                let name = walked
                    .rest
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let copy = copy_location(call, walked.rest)?;
                match walked.entities.first() {
                    Some(Entity::Node(n)) => self
                        .view
                        .artifact(*n, &name)
                        .map(|location| Typed::plain(copy.unwrap_or(location)))
                        .ok_or_else(|| {
                            FunctionError::new(call.span, format!("there is no artifact `{name}`"))
                        }),
                    _ => Err(FunctionError::new(
                        call.span,
                        "$get_artifact needs a path to a node",
                    )),
                }
            })(),
            "available_allocation" => (|| {
                let args = self.args(call)?;
                let walked =
                    path::walk(self.view, &args).map_err(|m| FunctionError::new(call.span, m))?;
                let name = walked
                    .rest
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                match walked.entities.first() {
                    Some(Entity::Capability(n, c)) => self
                        .view
                        .available(*n, c, &name)
                        .map(Typed::plain)
                        .ok_or_else(|| {
                            FunctionError::new(
                                call.span,
                                format!("capability `{c}` has no property `{name}`"),
                            )
                        }),
                    _ => Err(FunctionError::new(
                        call.span,
                        "$available_allocation needs a path to a capability",
                    )),
                }
            })(),
            "node_index" | "relationship_index" => {
                let index = if call.name == "node_index" {
                    self.view.node_index()
                } else {
                    self.view.relationship_index()
                };
                // A value read from another template (`$get_property: [n, p]` where `p` is
                // `$node_index`) has an index only per representation: it waits for them.
                if index.is_none() && self.depth > 0 {
                    self.deferred = true;
                }
                index
                    .map(|i| Typed::plain(Value::new(ValueKind::Integer(i64::from(i)))))
                    .ok_or_else(|| {
                        FunctionError::new(call.span, format!("{call} has no meaning here"))
                    })
            }
            _ => return None,
        };
        Some(answer)
    }
}
