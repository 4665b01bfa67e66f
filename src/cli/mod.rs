//! The `khutulun` command line: one clap definition that gives parsing, `--help`, and later the
//! man page and completions. Each subcommand lives in its own module.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub mod agent;
mod connect;
pub mod delegate;
mod events;
mod exec;
pub mod generate;
pub mod host;
mod interrupt;
pub mod logging;
pub mod output;
mod plan;
pub mod profile;
mod progress;
mod registry;
pub mod service;
pub mod sim;
pub mod template;
pub mod tosca;
mod update;

/// The version `--version` prints: the package's, and the commit it was built from (`unknown`
/// when built outside a git checkout), so a bug report names the exact build.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KHUTULUN_COMMIT"),
    ")"
);

/// Khutulun: a declarative orchestrator for services, speaking TOSCA 2.0.
#[derive(Debug, Parser)]
#[command(name = "khutulun", version = VERSION, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and compile TOSCA 2.0 service templates.
    #[command(subcommand)]
    Tosca(tosca::ToscaCommand),
    /// Run this host's agent (the long-running service the other commands talk to).
    Agent(agent::AgentArgs),
    /// Deploy, inspect and delete services.
    Service(service::ServiceArgs),
    /// Register, list and delist service templates.
    Template(template::TemplateArgs),
    /// Register and list TOSCA profiles.
    Profile(profile::ProfileArgs),
    /// The cluster's hosts: list them, drain one, leave the cluster.
    Host(host::HostArgs),
    /// List the delegates.
    Delegate(delegate::DelegateArgs),
    /// Deploy a service on a simulated cluster, with faults, and see what it does.
    Sim(sim::SimArgs),
    /// Print a shell completion script.
    Completions(generate::CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

/// `--namespace`, one flag with one meaning on every command that names a service, template
/// or profile.
#[derive(Debug, Args)]
pub struct NamespaceArg {
    /// The namespace: letters, digits, `.`, `_` and `-`, starting with a letter or digit.
    #[arg(
        id = "namespace",
        long = "namespace",
        value_name = "NAMESPACE",
        default_value = crate::state::records::DEFAULT_NAMESPACE,
        global = true,
        value_parser = namespace_name
    )]
    pub name: String,
}

/// Refuses a namespace the store would refuse, before anything is sent.
fn namespace_name(text: &str) -> Result<String, String> {
    crate::state::check_name("namespace", text)
        .map(|()| text.to_owned())
        .map_err(|error| error.to_string())
}

/// Prints a client command's error as one sentence (a TOSCA problem as the processor renders
/// it) and gives the exit code: 1 for a refused or failed request, 2 when the agent could not
/// be reached.
fn client_exit(result: Result<ExitCode, crate::control::ClientError>) -> ExitCode {
    use crate::control::ClientError;
    match result {
        Ok(code) => code,
        Err(error) => {
            let text = error.to_string();
            eprintln!("error: {}", text.trim_end());
            match error {
                ClientError::NotRunning { .. } | ClientError::Token { .. } => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Runs the command line; the exit code follows each subcommand's contract.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Tosca(command) => tosca::run(command),
        Command::Agent(args) => agent::run(args),
        Command::Service(args) => client_exit(service::run(args)),
        Command::Template(args) => client_exit(template::run(args).map(|()| ExitCode::SUCCESS)),
        Command::Profile(args) => client_exit(profile::run(args).map(|()| ExitCode::SUCCESS)),
        Command::Host(args) => client_exit(host::run(args).map(|()| ExitCode::SUCCESS)),
        Command::Delegate(args) => client_exit(delegate::run(args).map(|()| ExitCode::SUCCESS)),
        Command::Sim(args) => sim::run(args),
        Command::Completions(args) => generate::completions(args),
        Command::Man => generate::man(),
    }
}
