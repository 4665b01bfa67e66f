//! The runtime's call into the TOSCA processor: compile + instantiate a template. (Deferred
//! expressions are resolved, once attributes are known, by the processor's `Resolver`.)

use std::path::PathBuf;

use indexmap::IndexMap;

use crate::tosca::instance::{Instantiation, Inventory};
use crate::tosca::{self, Compiled, Options};

use super::RuntimeError;

/// Compiles the template at `entry` with `inputs` and instantiates it, `select` directives
/// picking from the inventory `inventory` gathers; a problem comes back as the processor's
/// rendering (file:line:column and what is wrong). The inventory is gathered, and the
/// template compiled again with it, only when some template asks to `select`: gathering it
/// reads every deployed service, which most deploys do not need. `counts` replace node
/// templates' own `count` (the scheduler's, by the service's policies).
pub fn instantiate(
    entry: &str,
    inputs: IndexMap<String, serde_json::Value>,
    profile_paths: Vec<PathBuf>,
    counts: IndexMap<String, u32>,
    inventory: impl FnOnce() -> Result<Inventory, RuntimeError>,
) -> Result<Instantiation, RuntimeError> {
    let mut options = Options {
        profile_paths,
        inputs,
        counts,
        ..Options::default()
    };
    let mut report = tosca::compile(entry, &options);
    if report.compiled.as_ref().is_some_and(Compiled::uses_select) {
        options.inventory = inventory()?;
        report = tosca::compile(entry, &options);
    }
    if !report.is_valid() {
        return Err(RuntimeError::Template(report.render_text()));
    }
    let Some(compiled) = report.compiled.as_ref() else {
        return Err(RuntimeError::Template(format!(
            "{entry}: the template did not compile"
        )));
    };
    compiled
        .instantiate()
        .map_err(|problems| RuntimeError::Template(problems.render_text(&report.sources)))
}
