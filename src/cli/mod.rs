//! The `khutulun` command line: one clap definition that gives parsing, `--help`, and later the
//! man page and completions. Each subcommand lives in its own module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
pub enum Command {}

/// Runs the command line; the exit code follows each subcommand's contract.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {}
}
