//! `khutulun delegate list`: the delegates Khutulun knows and which ones this host runs.

use clap::{Args, Subcommand};

use super::connect::{AgentAddress, unexpected};
use super::output::{Format, print_document, print_table};
use crate::control::ClientError;
use crate::control::protocol::{Failure, FailureKind, Request, Response};

/// `khutulun delegate …`.
#[derive(Debug, Args)]
pub struct DelegateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DelegateCommand,
    /// The agent to talk to.
    #[command(flatten)]
    pub agent: AgentAddress,
}

/// The delegate subcommands.
#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// List the delegates.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// Runs a delegate subcommand.
pub fn run(args: DelegateArgs) -> Result<(), ClientError> {
    let DelegateCommand::List { format } = args.command;
    let response = args.agent.request(Request::ListDelegates)?;
    let Response::Delegates { delegates } = response else {
        return Err(ClientError::Failed(Failure {
            kind: FailureKind::Internal,
            message: unexpected(response),
        }));
    };
    if format != Format::Table {
        return print_document(format, &delegates).map_err(|message| {
            ClientError::Failed(Failure {
                kind: FailureKind::Internal,
                message,
            })
        });
    }
    let rows: Vec<Vec<String>> = delegates
        .iter()
        .map(|d| {
            let state = if d.running {
                "running"
            } else {
                "not available"
            };
            let reason = d.reason.clone().unwrap_or_default();
            vec![d.name.clone(), state.to_owned(), reason]
        })
        .collect();
    print_table(&["DELEGATE", "STATE", "REASON"], &rows);
    Ok(())
}
