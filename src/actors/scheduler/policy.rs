//! The placement policies of `profiles/khutulun`, read from a service's instantiation into
//! typed rules. A policy whose values make no sense is an error that names it.

use std::collections::BTreeMap;

use crate::delegates::profile::types;
use crate::delegates::protocol::is_a;
use crate::tosca::instance::{Expression, PolicyInstance};

use super::PlacementError;

/// Which hosts a selector picks (exactly one way, as `HostSelector` says).
#[derive(Clone, Debug, PartialEq)]
pub enum HostSelector {
    /// The host of this name.
    Name(String),
    /// The hosts of these names.
    Names(Vec<String>),
    /// The hosts that carry every one of these labels with these values.
    Labels(BTreeMap<String, String>),
    /// This many hosts, the least loaded first.
    Count(u32),
    /// This share of the eligible hosts (rounded up), the least loaded first.
    Ratio(f64),
}

/// What a policy asks of its targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Run on hosts that have this delegate, and by it.
    Delegation(String),
    /// Run at least `minimum` and at most `maximum` instances of each target.
    Redundancy {
        /// The fewest instances.
        minimum: u32,
        /// The most instances, if limited.
        maximum: Option<u32>,
    },
    /// Run every instance of the targets on one host.
    Colocation,
    /// Run no two instances of the targets on one host; `strict` refuses rather than share.
    Separation {
        /// Whether too few hosts is an error (else hosts are shared as little as possible).
        strict: bool,
    },
    /// Run only on the selected hosts.
    Placement(HostSelector),
    /// Run one instance of each target on every selected host.
    Distribution {
        /// The hosts.
        hosts: HostSelector,
        /// Whether to run on the selected hosts that can take an instance when some cannot.
        allow_partial: bool,
    },
}

/// One policy of a service.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Its name in the template, for messages.
    pub name: String,
    /// What it asks.
    pub rule: Rule,
    /// The node templates it applies to.
    pub targets: Vec<String>,
}

impl Policy {
    /// The placement policies among a service's policies (others are not the scheduler's).
    pub fn read_all(policies: &[PolicyInstance]) -> Result<Vec<Policy>, PlacementError> {
        policies
            .iter()
            .filter_map(|policy| {
                let rule = Rule::read(policy).transpose()?;
                Some(rule.map(|rule| Policy {
                    name: policy.name.clone(),
                    rule,
                    targets: policy.targets.clone(),
                }))
            })
            .collect()
    }

    /// Whether it applies to node template `template`.
    pub fn targets(&self, template: &str) -> bool {
        self.targets.iter().any(|target| target == template)
    }
}

/// The property values of a policy, known at deploy time.
struct Values<'a> {
    policy: &'a PolicyInstance,
}

impl Values<'_> {
    fn error(&self, message: String) -> PlacementError {
        PlacementError::policy(&self.policy.name, message)
    }

    fn get(&self, name: &str) -> Result<Option<&serde_json::Value>, PlacementError> {
        match self.policy.properties.get(name) {
            None => Ok(None),
            Some(Expression::Resolved(serde_json::Value::Null)) => Ok(None),
            Some(Expression::Resolved(value)) => Ok(Some(value)),
            Some(Expression::Deferred(_)) => Err(self.error(format!(
                "property `{name}` must be known at deploy time, not computed from attributes"
            ))),
        }
    }

    fn count(&self, name: &str) -> Result<Option<u32>, PlacementError> {
        self.get(name)?
            .map(|value| {
                value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| self.error(format!("`{name}` is not a count: {value}")))
            })
            .transpose()
    }

    fn boolean(&self, name: &str, default: bool) -> Result<bool, PlacementError> {
        Ok(self.get(name)?.and_then(|v| v.as_bool()).unwrap_or(default))
    }

    fn text(&self, name: &str) -> Result<Option<String>, PlacementError> {
        Ok(self.get(name)?.and_then(|v| v.as_str()).map(str::to_owned))
    }

    fn selector(&self) -> Result<HostSelector, PlacementError> {
        let value = self
            .get("hosts")?
            .ok_or_else(|| self.error("it selects no hosts (`hosts` is missing)".into()))?;
        HostSelector::read(value).map_err(|message| self.error(message))
    }
}

impl Rule {
    /// The rule of a policy of Khutulun's profile; `None` for other policies.
    fn read(policy: &PolicyInstance) -> Result<Option<Rule>, PlacementError> {
        let values = Values { policy };
        let is = |name| is_a(&policy.types, name);
        let rule = if is(types::DISTRIBUTION) {
            Rule::Distribution {
                hosts: values.selector()?,
                allow_partial: values.boolean("allow_partial", false)?,
            }
        } else if is(types::PLACEMENT) {
            Rule::Placement(values.selector()?)
        } else if is(types::SEPARATION) {
            Rule::Separation {
                strict: values.boolean("strict", true)?,
            }
        } else if is(types::COLOCATION) {
            Rule::Colocation
        } else if is(types::REDUNDANCY) {
            let minimum = values.count("minimum_count")?.unwrap_or(1);
            let maximum = values.count("maximum_count")?;
            if maximum.is_some_and(|maximum| maximum < minimum) {
                return Err(values.error(format!(
                    "maximum_count {} is below minimum_count {minimum}",
                    maximum.unwrap_or_default()
                )));
            }
            Rule::Redundancy { minimum, maximum }
        } else if is(types::DELEGATION) {
            let delegate = values
                .text("delegate")?
                .ok_or_else(|| values.error("it names no `delegate`".into()))?;
            Rule::Delegation(delegate)
        } else {
            return Ok(None);
        };
        Ok(Some(rule))
    }
}

impl HostSelector {
    /// Reads a `HostSelector` value: a map with exactly one of its keys.
    fn read(value: &serde_json::Value) -> Result<HostSelector, String> {
        let map = value
            .as_object()
            .filter(|map| map.len() == 1)
            .ok_or_else(|| {
                format!(
                    "`hosts` must have exactly one of name, names, labels, count, ratio: {value}"
                )
            })?;
        let (key, value) = map.iter().next().expect("one entry");
        let wrong = || format!("`hosts.{key}` has the wrong kind of value: {value}");
        let selector = match key.as_str() {
            "name" => HostSelector::Name(value.as_str().ok_or_else(wrong)?.to_owned()),
            "names" => HostSelector::Names(
                value
                    .as_array()
                    .and_then(|names| {
                        names
                            .iter()
                            .map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .ok_or_else(wrong)?,
            ),
            "labels" => HostSelector::Labels(
                value
                    .as_object()
                    .and_then(|labels| {
                        labels
                            .iter()
                            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .ok_or_else(wrong)?,
            ),
            "count" => HostSelector::Count(
                value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(wrong)?,
            ),
            "ratio" => HostSelector::Ratio(
                value
                    .as_f64()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(wrong)?,
            ),
            _ => return Err(format!("`hosts` has an unknown key `{key}`")),
        };
        Ok(selector)
    }
}
