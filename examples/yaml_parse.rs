//! The parse floor of `benches/tosca-cli.sh`: reads one YAML file and parses it into
//! Khutulun's spanned YAML tree (`khutulun::tosca::yaml::parse`, the parser `khutulun tosca`
//! reads every file with), then exits. Nothing else: no TOSCA checks, no output. Timed as a
//! whole process, like the command line, so process start and reading the file count too.
//!
//! Usage: `yaml_parse FILE` (exits with 1 if the file cannot be read or is not YAML).

use std::process::ExitCode;

use khutulun::tosca::source::FileId;
use khutulun::tosca::yaml;

fn main() -> ExitCode {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: yaml_parse FILE");
        return ExitCode::FAILURE;
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match yaml::parse(&text, FileId(0)) {
        Ok(tree) => {
            // The floor is the parse alone: the tree is left for the operating system to
            // reclaim at exit instead of being freed node by node (as `khutulun tosca`
            // leaves its own large structures).
            std::mem::forget(tree);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{file}: {e}");
            ExitCode::FAILURE
        }
    }
}
