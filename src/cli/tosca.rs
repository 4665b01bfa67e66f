//! `khutulun tosca`: validate and compile TOSCA 2.0 service templates.
//!
//! Exit codes: 0 valid, 1 invalid (problems on stderr), 2 could not run (missing file, bad
//! arguments — clap itself exits with 2 on bad arguments).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use indexmap::IndexMap;
use serde::Serialize;

use super::output;

use crate::tosca::instance::{Instantiation, Inventory};
use crate::tosca::{self, Options, Report};

/// The `tosca` subcommands.
#[derive(Debug, Subcommand)]
pub enum ToscaCommand {
    /// Checks a service template (file or CSAR) and reports every problem.
    Validate(ValidateArgs),
    /// Compiles a service template into its topology (or, with --instantiate, its instances).
    Compile(CompileArgs),
}

/// How `validate` reports problems.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum ProblemFormat {
    /// For people: location, message, element path and the source line.
    #[default]
    Text,
    /// A JSON document `{valid, problems: [{code, message, path, file, line, column}]}`.
    Json,
}

/// What `compile` prints.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum OutputFormat {
    /// YAML.
    #[default]
    Yaml,
    /// JSON.
    Json,
    /// A Graphviz DOT graph: one node per node template, one edge per fulfilled requirement.
    Dot,
}

/// Arguments shared by both subcommands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// A directory of profiles importable by name (repeatable).
    #[arg(long = "profile-path", value_name = "DIR")]
    pub profile_paths: Vec<PathBuf>,
    /// A service template that may substitute nodes with the `substitute` directive
    /// (repeatable; a CSAR's Other-Definitions are always candidates).
    #[arg(long = "substitution", value_name = "FILE")]
    pub substitutions: Vec<PathBuf>,
    /// The service template: a YAML file or a CSAR archive, as a path or a file:, http: or
    /// https: URL.
    #[arg(value_name = "FILE_OR_CSAR")]
    pub entry: String,
}

/// `khutulun tosca validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// How to report problems.
    #[arg(long, value_enum, default_value_t)]
    format: ProblemFormat,
}

/// `khutulun tosca compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// An input value, `KEY=VALUE`; VALUE is read as YAML (`3`, `true`, `[a, b]`, `{k: v}`).
    #[arg(long = "input", value_name = "KEY=VALUE")]
    inputs: Vec<String>,
    /// A YAML or JSON file mapping input names to values (`--input` wins over it).
    #[arg(long = "inputs-file", value_name = "F")]
    inputs_file: Option<PathBuf>,
    /// Print the node and relationship instances instead of the topology.
    #[arg(long)]
    instantiate: bool,
    /// Another service's instantiation (YAML or JSON, as `--instantiate` prints it) whose
    /// nodes `select` directives may pick; the service is named after the file (repeatable;
    /// needs --instantiate).
    #[arg(long = "select-from", value_name = "FILE", requires = "instantiate")]
    select_from: Vec<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// Runs a `tosca` subcommand.
pub fn run(command: ToscaCommand) -> ExitCode {
    match command {
        ToscaCommand::Validate(args) => validate(args),
        ToscaCommand::Compile(args) => compile(args),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn emit(text: &str) {
    output::write_with(|out| out.write_all(text.as_bytes()));
}

/// Writes `value` to stdout as pretty JSON and a newline.
fn emit_json<T: Serialize + ?Sized>(value: &T) {
    output::write_with(|out| output::write_json(out, value));
}

/// Writes `value` to stdout as YAML.
fn emit_yaml<T: Serialize + ?Sized>(value: &T) {
    output::write_with(|out| {
        serde_yaml_ng::to_writer(out, value).map_err(|e| std::io::Error::other(e.to_string()))
    });
}

/// Leaves `value` to be reclaimed when the process exits instead of freeing it now.
///
/// `compile` ends the process right after printing: freeing a compiled service of thousands
/// of node templates piece by piece (millions of small allocations) took a fifth of the
/// command's time, for memory the operating system takes back at once anyway. Only for data
/// that holds nothing but memory (no file, lock or temporary directory to clean up), as the
/// processor's reports and instantiations do.
fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Says why the command could not run, and exits with 2.
fn cannot_run(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Whether the entry is something we can try to read (a local path must exist).
fn entry_exists(entry: &str) -> bool {
    entry.contains("://") || Path::new(entry).exists()
}

fn validate(args: ValidateArgs) -> ExitCode {
    if !entry_exists(&args.common.entry) {
        return cannot_run(format!("{} does not exist", args.common.entry));
    }
    let options = Options {
        profile_paths: args.common.profile_paths,
        inputs: IndexMap::new(),
        substitutions: args.common.substitutions,
        inventory: Inventory::default(),
        ..Options::default()
    };
    let report = tosca::validate(&args.common.entry, &options);
    match args.format {
        ProblemFormat::Text => {
            if !report.is_valid() {
                eprint!("{}", report.render_text());
            }
        }
        ProblemFormat::Json => {
            emit_json(&report.render_json());
            if !report.is_valid() {
                eprint!("{}", report.render_text());
            }
        }
    }
    exit_for(&report)
}

fn exit_for(report: &Report) -> ExitCode {
    if report.is_valid() {
        ExitCode::SUCCESS
    } else if entry_unavailable(report) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Whether the entry itself could not be fetched (a URL that answers 404, an unreachable
/// host): the command could not run, which is not the same as an invalid template.
fn entry_unavailable(report: &Report) -> bool {
    report
        .problems
        .iter()
        .any(|p| matches!(p.code, "entry-not-found" | "entry-unreachable"))
}

/// Parses `--inputs-file` and `--input` values into JSON values.
fn read_inputs(args: &CompileArgs) -> Result<IndexMap<String, serde_json::Value>, String> {
    let mut inputs = IndexMap::new();
    if let Some(file) = &args.inputs_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read the inputs file {}: {e}", file.display()))?;
        let value: serde_json::Value = serde_yaml_ng::from_str(&text).map_err(|e| {
            format!(
                "the inputs file {} is not YAML or JSON: {e}",
                file.display()
            )
        })?;
        match value {
            serde_json::Value::Object(map) => inputs.extend(map),
            serde_json::Value::Null => {}
            _ => {
                return Err(format!(
                    "the inputs file {} must hold a map of input names to values",
                    file.display()
                ));
            }
        }
    }
    for pair in &args.inputs {
        let (key, text) = pair
            .split_once('=')
            .ok_or_else(|| format!("--input {pair:?} must be KEY=VALUE"))?;
        let value: serde_json::Value = if text.is_empty() {
            serde_json::Value::String(String::new())
        } else {
            serde_yaml_ng::from_str(text)
                .map_err(|e| format!("--input {key}: the value is not YAML: {e}"))?
        };
        inputs.insert(key.to_string(), value);
    }
    Ok(inputs)
}

/// Reads `--select-from` files into the nodes `select` may pick, each file one service
/// named after the file.
fn read_inventory(files: &[PathBuf]) -> Result<Inventory, String> {
    let mut inventory = Inventory::default();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        // Through JSON values: YAML maps stand for the enums, as `--instantiate` prints them.
        let instantiation: Instantiation = serde_yaml_ng::from_str::<serde_json::Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
            .map_err(|e| {
                format!(
                    "{} is not an instantiation as `compile --instantiate` prints it: {e}",
                    file.display()
                )
            })?;
        let service = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        inventory.add_service(&service, &instantiation);
    }
    Ok(inventory)
}

fn compile(args: CompileArgs) -> ExitCode {
    if !entry_exists(&args.common.entry) {
        return cannot_run(format!("{} does not exist", args.common.entry));
    }
    let inputs = match read_inputs(&args) {
        Ok(inputs) => inputs,
        Err(message) => return cannot_run(message),
    };
    let inventory = match read_inventory(&args.select_from) {
        Ok(inventory) => inventory,
        Err(message) => return cannot_run(message),
    };
    let options = Options {
        profile_paths: args.common.profile_paths.clone(),
        inputs,
        substitutions: args.common.substitutions.clone(),
        inventory,
        ..Options::default()
    };
    let report = tosca::compile(&args.common.entry, &options);
    let code = print_compiled(&args, &report);
    leave_to_exit(report);
    code
}

/// Prints what `compile` made of the service template (or its problems) as `args` ask.
fn print_compiled(args: &CompileArgs, report: &Report) -> ExitCode {
    if !report.is_valid() {
        eprint!("{}", report.render_text());
        return exit_for(report);
    }
    let Some(compiled) = &report.compiled else {
        return cannot_run("the file has no service_template to compile");
    };
    if args.instantiate {
        let instances = match compiled.instantiate() {
            Ok(instances) => instances,
            Err(problems) => {
                eprint!("{}", problems.render_text(&report.sources));
                return ExitCode::from(1);
            }
        };
        match args.format {
            // Straight from the instances: the same text as through a `serde_json::Value`
            // (its maps keep their order), without building that copy.
            OutputFormat::Json => emit_json(&instances),
            // Through JSON values: serde_yaml_ng would write the `Expression` enum's
            // variants as YAML tags (`!resolved`), where the JSON form has a map.
            OutputFormat::Yaml => {
                let json = serde_json::to_value(&instances).unwrap_or_default();
                emit_yaml(&json);
                leave_to_exit(json);
            }
            OutputFormat::Dot => emit(&instances.to_dot()),
        }
        leave_to_exit(instances);
        return ExitCode::SUCCESS;
    }
    match args.format {
        OutputFormat::Json => {
            let json = compiled.to_json();
            emit_json(&json);
            leave_to_exit(json);
        }
        OutputFormat::Yaml => {
            let json = compiled.to_json();
            emit_yaml(&json);
            leave_to_exit(json);
        }
        OutputFormat::Dot => emit(&compiled.to_dot()),
    }
    ExitCode::SUCCESS
}
