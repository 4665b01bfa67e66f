//! Shell completions and the man page, both generated from the one clap definition
//! ([`super::Cli`]), so they never disagree with what the command accepts.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// `khutulun completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script for the shell on standard output (e.g. `khutulun completions
/// bash > /etc/bash_completion.d/khutulun`).
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut command = super::Cli::command();
    clap_complete::generate(args.shell, &mut command, "khutulun", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints the man page (roff) of `khutulun` on standard output (e.g. `khutulun man >
/// /usr/share/man/man1/khutulun.1`), with a section for each subcommand.
pub fn man() -> ExitCode {
    let command = super::Cli::command();
    let mut page = Vec::new();
    let rendered = clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .and_then(|()| subcommand_sections(&command, &mut page));
    match rendered.and_then(|()| std::io::stdout().write_all(&page)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: could not write the man page: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One section per subcommand, nested ones included (`khutulun service deploy`), with its
/// synopsis, description and options.
fn subcommand_sections(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{} {}", command.get_name(), sub.get_name());
        let sub = sub.clone().name(name.clone()).bin_name(name.clone());
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let man = clap_mangen::Man::new(sub.clone());
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
        subcommand_sections(&sub, out)?;
    }
    Ok(())
}
