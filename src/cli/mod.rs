//! The `khutulun` command line: one clap definition that gives parsing, `--help`, and later the
//! man page and completions. Each subcommand lives in its own module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod tosca;

/// Khutulun: a declarative orchestrator for services, speaking TOSCA 2.0.
#[derive(Debug, Parser)]
#[command(name = "khutulun", version, about)]
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
}

/// Runs the command line; the exit code follows each subcommand's contract.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Tosca(command) => tosca::run(command),
    }
}
