//! `service update` (and `service deploy --update`): asks the agent to update a service to a
//! template, prints what changes, and follows the update to its end, one line per instance
//! as it changes; exits non-zero when the update failed (it was rolled back).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use indicatif::ProgressBar;

use super::connect::{AgentAddress, unexpected};
use super::interrupt;
use super::output::Format;
use super::progress::Changes;
use super::service::{ServiceWatch, Waited, interrupted, invalid, print_outputs};
use crate::control::ClientError;
use crate::control::protocol::{FailureKind, Request, Response, ServiceStatus};
use crate::state::records::ServicePhase;

/// An update as asked on the command line.
pub struct Update {
    /// The service.
    pub name: String,
    /// The template, as the agent takes it.
    pub template: String,
    /// Its inputs.
    pub inputs: IndexMap<String, serde_json::Value>,
    /// How many instances are made again at once.
    pub max_parallel: u32,
    /// Return once it is recorded.
    pub no_wait: bool,
    /// How long to follow it, in seconds.
    pub timeout: u64,
    /// How to print the outputs at the end.
    pub format: Format,
}

/// Whether service `name` exists (`deploy --update` updates it then).
pub fn exists(agent: &AgentAddress, namespace: &str, name: &str) -> Result<bool, ClientError> {
    let asked = agent.request(Request::Status {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    });
    match asked {
        Ok(_) => Ok(true),
        Err(ClientError::Failed(failure)) if failure.kind == FailureKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// Asks for the update, prints its plan, and follows it unless told not to.
pub fn run(agent: &AgentAddress, namespace: &str, update: Update) -> Result<ExitCode, ClientError> {
    let name = update.name.clone();
    if !update.no_wait {
        interrupt::catch();
    }
    let response = agent.request(Request::Update {
        template: update.template,
        namespace: namespace.to_owned(),
        name: name.clone(),
        inputs: update.inputs,
        max_parallel: update.max_parallel,
    })?;
    let Response::Updating { diff } = response else {
        return Err(invalid(unexpected(response)));
    };
    if diff.is_empty() {
        eprintln!("service {name}: nothing to change");
        return Ok(ExitCode::SUCCESS);
    }
    eprint!("{}", super::plan::text(&name, &diff));
    if update.no_wait {
        eprintln!("service {name} is being updated");
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + Duration::from_secs(update.timeout);
    match follow(agent, namespace, &name, deadline)? {
        Waited::Done(status) => {
            eprintln!("service {name} updated");
            print_outputs(&status, update.format).map(|()| ExitCode::SUCCESS)
        }
        Waited::Interrupted => Ok(interrupted("update", namespace, &name)),
    }
}

/// Shows the instances' changes until the update is over: its status then, or why it failed.
fn follow(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
    deadline: Instant,
) -> Result<Waited<ServiceStatus>, ClientError> {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut watch = ServiceWatch::new(agent, namespace, name);
    let mut changes = Changes::default();
    let ended = loop {
        let (status, _) = watch.next()?;
        changes.show(&bar, &status);
        match &status.update {
            None => break status,
            Some(update) => bar.set_message(format!("service {name}: {update}")),
        }
        if interrupt::interrupted() {
            bar.finish_and_clear();
            return Ok(Waited::Interrupted);
        }
        if Instant::now() >= deadline {
            bar.finish_and_clear();
            return Err(invalid(format!(
                "the update of service {name} is not over yet; it goes on: see `khutulun \
                 service status {name}`"
            )));
        }
    };
    bar.finish_and_clear();
    match (ended.phase, &ended.message) {
        (ServicePhase::Active, None) => Ok(Waited::Done(ended)),
        (_, message) => Err(ClientError::Failed(crate::control::protocol::Failure {
            kind: FailureKind::Internal,
            message: format!(
                "service {name}: {}",
                message.as_deref().unwrap_or("the update failed")
            ),
        })),
    }
}
