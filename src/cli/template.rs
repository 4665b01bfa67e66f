//! `khutulun template register|list|delist`: service templates kept in the store's registry, so
//! `service deploy NAME` can use them from any host.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::connect::AgentAddress;
use super::output::Format;
use super::registry;
use crate::control::ClientError;
use crate::state::RegistryKind;

/// `khutulun template …`.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TemplateCommand,
    /// The agent to talk to.
    #[command(flatten)]
    pub agent: AgentAddress,
    /// The namespace of the service (or template, or profile).
    #[command(flatten)]
    pub namespace: super::NamespaceArg,
}

/// The template subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Check a service template (YAML file or CSAR) and register it.
    Register {
        /// The file.
        file: PathBuf,
        /// The name to register it under [default: the file name without extension].
        #[arg(long)]
        name: Option<String>,
    },
    /// List the registered templates.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove a registered template.
    Delist {
        /// Its name.
        name: String,
    },
}

/// Runs a template subcommand.
pub fn run(args: TemplateArgs) -> Result<(), ClientError> {
    let kind = RegistryKind::Templates;
    match args.command {
        TemplateCommand::Register { file, name } => {
            registry::register(&args.agent, kind, &file, args.namespace.name, name)
        }
        TemplateCommand::List { format } => registry::list(&args.agent, kind, format),
        TemplateCommand::Delist { name } => {
            registry::delist(&args.agent, kind, args.namespace.name, name)
        }
    }
}
