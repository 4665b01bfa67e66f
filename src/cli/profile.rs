//! `khutulun profile register|list`: TOSCA profiles kept in the store's registry, which
//! templates then import by name (`imports: [{profile: NAME}]`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::connect::AgentAddress;
use super::output::Format;
use super::registry;
use crate::control::ClientError;
use crate::state::RegistryKind;

/// `khutulun profile …`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ProfileCommand,
    /// The agent to talk to.
    #[command(flatten)]
    pub agent: AgentAddress,
    /// The namespace of the service (or template, or profile).
    #[command(flatten)]
    pub namespace: super::NamespaceArg,
}

/// The profile subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Register a profile file (it must declare `profile: NAME`).
    Register {
        /// The file.
        file: PathBuf,
        /// The name to register it under [default: the file name without extension].
        #[arg(long)]
        name: Option<String>,
    },
    /// List the registered profiles.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// Runs a profile subcommand.
pub fn run(args: ProfileArgs) -> Result<(), ClientError> {
    let kind = RegistryKind::Profiles;
    match args.command {
        ProfileCommand::Register { file, name } => {
            registry::register(&args.agent, kind, &file, args.namespace.name, name)
        }
        ProfileCommand::List { format } => registry::list(&args.agent, kind, format),
    }
}
