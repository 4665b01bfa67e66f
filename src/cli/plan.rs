//! `service plan`: what updating a service to a template would add, change and remove, as the
//! agent compiles it, instance by instance; nothing is changed.

use std::process::ExitCode;

use indexmap::IndexMap;

use super::connect::{AgentAddress, unexpected};
use super::output::{Format, print_document, write_out};
use super::service::invalid;
use crate::control::ClientError;
use crate::control::protocol::{Request, Response};
use crate::tosca::instance::diff::InstantiationDiff;

/// Asks the agent for the plan and prints it.
pub fn run(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
    template: String,
    inputs: IndexMap<String, serde_json::Value>,
    format: Format,
) -> Result<ExitCode, ClientError> {
    let response = agent.request(Request::Plan {
        template,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        inputs,
    })?;
    let Response::Planned { diff } = response else {
        return Err(invalid(unexpected(response)));
    };
    match format {
        Format::Table => write_out(&text(name, &diff)),
        document => print_document(document, &diff).map_err(invalid)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The plan for people: a summary line, then `+ id` (added), `~ id: fields` (changed) and
/// `- id` (removed), one instance a line.
pub(super) fn text(name: &str, diff: &InstantiationDiff) -> String {
    let mut text = format!(
        "service {name}: {} to add, {} to change, {} to remove, {} unchanged\n",
        diff.added.len(),
        diff.changed.len(),
        diff.removed.len(),
        diff.unchanged
    );
    for id in &diff.added {
        text.push_str(&format!("+ {id}\n"));
    }
    for changed in &diff.changed {
        text.push_str(&format!(
            "~ {}: {}\n",
            changed.id,
            changed.fields.join(", ")
        ));
    }
    for id in &diff.removed {
        text.push_str(&format!("- {id}\n"));
    }
    text
}
