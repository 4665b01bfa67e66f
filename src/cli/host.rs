//! `khutulun host …`: `list` the hosts that run (or ran) an agent on this store, and how the
//! answering agent's membership sees each (alive, suspect, down, or unknown); `drain` and
//! `undrain` a host; `leave` the cluster.

use clap::{Args, Subcommand};

use super::connect::{AgentAddress, unexpected};
use super::output::{Format, print_document, print_table};
use crate::control::ClientError;
use crate::control::protocol::{Failure, FailureKind, Request, Response};

/// `khutulun host …`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HostCommand,
    /// The agent to talk to.
    #[command(flatten)]
    pub agent: AgentAddress,
}

/// The host subcommands.
#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List the hosts.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Move every instance off a host (the cluster's leading host moves them within seconds)
    /// and keep new ones away, until `host undrain`.
    Drain {
        /// The host.
        name: String,
    },
    /// Let a drained host take instances again (those moved away stay where they are).
    Undrain {
        /// The host.
        name: String,
    },
    /// This host leaves the cluster: drained, and once its instances run elsewhere (within
    /// 100 s), its records removed and its agent stopped.
    Leave,
}

/// Runs a host subcommand.
pub fn run(args: HostArgs) -> Result<(), ClientError> {
    let format = match args.command {
        HostCommand::List { format } => format,
        HostCommand::Drain { name } => return drain(&args.agent, name, true),
        HostCommand::Undrain { name } => return drain(&args.agent, name, false),
        HostCommand::Leave => return leave(&args.agent),
    };
    let response = args.agent.request(Request::ListHosts)?;
    let Response::Hosts { hosts } = response else {
        return Err(ClientError::Failed(Failure {
            kind: FailureKind::Internal,
            message: unexpected(response),
        }));
    };
    if format != Format::Table {
        return print_document(format, &hosts).map_err(|message| {
            ClientError::Failed(Failure {
                kind: FailureKind::Internal,
                message,
            })
        });
    }
    let rows: Vec<Vec<String>> = hosts
        .iter()
        .map(|h| {
            vec![
                h.record.name.clone(),
                h.record.address.clone().unwrap_or_default(),
                match h.record.drained {
                    true => format!("{} (drained)", h.membership.word()),
                    false => h.membership.word().to_owned(),
                },
                match h.linked {
                    true => "yes".to_owned(),
                    false => "no".to_owned(),
                },
                h.instances.to_string(),
                labels(&h.record.offer.labels),
                h.record.version.clone(),
                h.record.started.clone(),
                h.record.delegates.join(","),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "ADDRESS",
            "STATE",
            "LINKED",
            "INSTANCES",
            "LABELS",
            "VERSION",
            "STARTED",
            "DELEGATES",
        ],
        &rows,
    );
    Ok(())
}

/// Labels as `key=value,…` (`-` for none).
fn labels(labels: &std::collections::BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "-".into();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// `host drain` and `host undrain`.
fn drain(agent: &AgentAddress, name: String, drained: bool) -> Result<(), ClientError> {
    let host = name.clone();
    match agent.request(Request::DrainHost { name, drained })? {
        Response::Drained if drained => {
            eprintln!("drained {host}: its instances move to other hosts within seconds");
            Ok(())
        }
        Response::Drained => {
            eprintln!("{host} takes instances again");
            Ok(())
        }
        other => Err(ClientError::Failed(Failure {
            kind: FailureKind::Internal,
            message: unexpected(other),
        })),
    }
}

/// `host leave`.
fn leave(agent: &AgentAddress) -> Result<(), ClientError> {
    match agent.request(Request::Leave)? {
        Response::Left => {
            eprintln!("left the cluster: its instances run elsewhere and its agent stopped");
            Ok(())
        }
        other => Err(ClientError::Failed(Failure {
            kind: FailureKind::Internal,
            message: unexpected(other),
        })),
    }
}
