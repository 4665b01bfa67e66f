//! `khutulun service …`: deploy a template as a service, watch it, read its outputs and logs,
//! delete it. A thin client: the local agent does the work.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use indexmap::IndexMap;
use indicatif::{ProgressBar, ProgressStyle};

use super::progress::Changes;

use super::connect::{AgentAddress, unexpected};
use super::interrupt::{self, EXIT_INTERRUPTED};
use super::output::{Format, cell, print_document, print_table, write_out};
use crate::control::ClientError;
use crate::control::protocol::{
    FailureKind, InstanceAction, InstanceStatus, LogCommand, LogFile, LogOutput, Request, Response,
    ServiceStatus, ServiceSummary, state_label,
};
use crate::state::records::{InstanceState, OnFailure, ServicePhase};

/// The exit code of `service status` when an instance failed, as `systemctl status` exits
/// for a unit that is not active: scripts tell "unhealthy" from "could not ask" (1, 2).
pub const EXIT_UNHEALTHY: u8 = 3;

/// `khutulun service …`.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ServiceCommand,
    /// The agent to talk to.
    #[command(flatten)]
    pub agent: AgentAddress,
    /// The namespace of the service (or template, or profile).
    #[command(flatten)]
    pub namespace: super::NamespaceArg,
}

/// The service subcommands.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Deploy a service template (a YAML file, a CSAR, or a registered template's name) as a
    /// new service, and wait until every instance runs.
    Deploy {
        /// The template.
        #[arg(value_name = "FILE_OR_CSAR")]
        template: String,
        /// The service's name.
        #[arg(long)]
        name: String,
        /// An input value, as KEY=VALUE (VALUE is read as YAML: 8080 is a number); repeatable.
        #[arg(long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Return once the service is recorded, without waiting for its instances.
        #[arg(long)]
        no_wait: bool,
        /// Give up waiting after this many seconds (the service stays recorded and goes on).
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        timeout: u64,
        /// What a failed deploy leaves: `rollback` removes what it made (dependents first),
        /// `keep` leaves every instance as it is for inspection. Nothing is retried either way.
        #[arg(long, value_name = "CHOICE", default_value = "rollback",
              value_parser = clap::builder::TypedValueParser::map(
                  clap::builder::PossibleValuesParser::new(OnFailure::NAMES),
                  |name| name.parse::<OnFailure>().expect("a listed name")))]
        on_failure: OnFailure,
        /// When a service of that name exists, update it to the template instead (as
        /// `service update` does).
        #[arg(long)]
        update: bool,
        /// With --update: how many instances are made again at once.
        #[arg(long, value_name = "N", default_value_t = 1, requires = "update")]
        max_parallel: u32,
        /// How to print the outputs at the end.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Update a service to a template: only the instances whose definition changed are made
    /// again (dependencies first, each once the one before is ready), instances the template
    /// adds are made and those it drops removed; when one fails the update is rolled back.
    Update {
        /// The service.
        name: String,
        /// The new template.
        #[arg(value_name = "FILE_OR_CSAR")]
        template: String,
        /// An input value, as KEY=VALUE (VALUE is read as YAML); repeatable. The inputs of the
        /// deploy are not kept: give every input again.
        #[arg(long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// How many instances are made again at once.
        #[arg(long, value_name = "N", default_value_t = 1)]
        max_parallel: u32,
        /// Return once the update is recorded, without waiting for it.
        #[arg(long)]
        no_wait: bool,
        /// Give up waiting after this many seconds (the update goes on).
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        timeout: u64,
        /// How to print the outputs at the end.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List the services of the namespace.
    List {
        /// List the services of every namespace.
        #[arg(long, short = 'A')]
        all_namespaces: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show a service's instances and outputs; exits with 3 when an instance failed.
    Status {
        /// The service.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// Print the status again at every change, until interrupted (Ctrl-C) or the service
        /// is gone.
        #[arg(long)]
        watch: bool,
    },
    /// Print the last changes of state of a service's instances (20 each), oldest first.
    Events {
        /// The service.
        name: String,
        /// Go on printing changes as they come, until interrupted or the service is gone.
        #[arg(long, short)]
        follow: bool,
        /// Output format (with --follow, json prints one object per line).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Run a command in an instance on this host, the way it runs (a process: its environment
    /// and directory; a container or pod: inside it); exits with the command's code.
    Exec {
        /// The service.
        name: String,
        /// The instance.
        instance: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Show what updating a service to a template would add, change and remove, instance by
    /// instance, without changing anything.
    Plan {
        /// The service.
        name: String,
        /// The new template.
        #[arg(value_name = "FILE_OR_CSAR")]
        template: String,
        /// An input value, as KEY=VALUE (VALUE is read as YAML); repeatable.
        #[arg(long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Print a service's outputs.
    Output {
        /// The service.
        name: String,
        /// Output format (json: one object, output name → value).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Delete a service: its instances (dependents first), then its records.
    Delete {
        /// The service.
        name: String,
        /// Return once deletion has started.
        #[arg(long)]
        no_wait: bool,
        /// Give up waiting after this many seconds (the deletion goes on).
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        timeout: u64,
        /// Delete it even when other services select its node instances (they are left
        /// pointing at nothing).
        #[arg(long)]
        force: bool,
    },
    /// Stop a service's instances (or one), dependents first, keeping what they have: they
    /// are not checked or restarted until started again.
    Stop(ControlArgs),
    /// Start a service's stopped instances (or one) again, dependencies first.
    Start(ControlArgs),
    /// Stop a service's instances (or one), then start them again.
    Restart(ControlArgs),
    /// Print the output of a service's instances.
    Logs {
        /// The service.
        name: String,
        /// One instance (all when left out).
        instance: Option<String>,
        /// Keep printing what they write.
        #[arg(long, short)]
        follow: bool,
        /// Print only the last N lines of each instance's output (then go on with --follow).
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
        /// Print only what was written since T: an RFC 3339 time or a duration back from now
        /// (30s, 10m, 2h, 1d, 1h30m). Only for containers: processes write plain files with no
        /// time on each line.
        #[arg(long, value_name = "T", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Print the time each line was written before it (only for containers, as --since).
        #[arg(long)]
        timestamps: bool,
    },
}

/// What `service logs` prints of each instance's output.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOptions {
    /// Go on printing what is written.
    pub follow: bool,
    /// Only the last lines.
    pub tail: Option<usize>,
    /// Only what was written since then.
    pub since: Option<DateTime<Utc>>,
    /// The time before each line.
    pub timestamps: bool,
}

impl LogOptions {
    /// Whether these need a time for each line, which only some sources have.
    fn need_times(&self) -> bool {
        self.since.is_some() || self.timestamps
    }

    /// The options as `podman logs` takes them (log commands take them that way).
    fn command_options(&self) -> Vec<String> {
        let mut options = Vec::new();
        if let Some(lines) = self.tail {
            options.extend(["--tail".to_owned(), lines.to_string()]);
        }
        if let Some(since) = self.since {
            let time = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            options.extend(["--since".to_owned(), time]);
        }
        if self.timestamps {
            options.push("--timestamps".to_owned());
        }
        options
    }
}

/// Reads `--since`: an RFC 3339 time, or a duration back from now (`30s`, `10m`, `1h30m`).
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let refused = || {
        format!(
            "{text:?} is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a duration such as \
             30s, 10m, 2h or 1d"
        )
    };
    let seconds = parse_duration(text).ok_or_else(refused)?;
    let back = chrono::Duration::try_seconds(seconds).ok_or_else(refused)?;
    Utc::now().checked_sub_signed(back).ok_or_else(refused)
}

/// `1h30m` in seconds: numbers each followed by `s`, `m`, `h` or `d` (also `khutulun sim`'s
/// times).
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        let value: i64 = number.parse().ok()?;
        total = total.checked_add(value.checked_mul(unit)?)?;
        number.clear();
    }
    (number.is_empty() && !text.is_empty()).then_some(total)
}

/// Parses `KEY=VALUE` inputs; values are YAML scalars or documents.
pub fn parse_inputs(inputs: &[String]) -> Result<IndexMap<String, serde_json::Value>, String> {
    let mut parsed = IndexMap::new();
    for input in inputs {
        let Some((key, value)) = input.split_once('=') else {
            return Err(format!("--input {input:?} is not KEY=VALUE"));
        };
        if key.is_empty() {
            return Err(format!("--input {input:?} has no name before '='"));
        }
        let value = serde_yaml_ng::from_str::<serde_json::Value>(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        let value = if value.is_null() && !value_is_null_literal(input) {
            serde_json::Value::String(String::new())
        } else {
            value
        };
        parsed.insert(key.to_owned(), value);
    }
    Ok(parsed)
}

fn value_is_null_literal(input: &str) -> bool {
    matches!(
        input.split_once('=').map(|(_, v)| v.trim()),
        Some("null" | "~")
    )
}

/// The template as the agent takes it: a file's absolute path, or a registered template's
/// name.
pub fn template_argument(template: String) -> Result<String, ClientError> {
    let path = Path::new(&template);
    if path.exists() {
        return Ok(path
            .canonicalize()
            .map_err(|e| invalid(format!("cannot read {template}: {e}")))?
            .to_string_lossy()
            .into_owned());
    }
    let a_file = [".yaml", ".yml", ".csar"]
        .iter()
        .any(|e| template.ends_with(e))
        || template.contains(std::path::MAIN_SEPARATOR);
    if a_file {
        return Err(invalid(format!("there is no file {template}")));
    }
    Ok(template)
}

/// Runs a service subcommand; its exit code when it could ask the agent.
pub fn run(args: ServiceArgs) -> Result<ExitCode, ClientError> {
    let agent = &args.agent;
    let namespace = args.namespace.name.clone();
    match args.command {
        ServiceCommand::Deploy {
            template,
            name,
            inputs,
            no_wait,
            timeout,
            on_failure,
            update,
            max_parallel,
            format,
        } => {
            let inputs = parse_inputs(&inputs).map_err(invalid)?;
            let template = template_argument(template)?;
            if update && super::update::exists(agent, &namespace, &name)? {
                let update = super::update::Update {
                    name,
                    template,
                    inputs,
                    max_parallel,
                    no_wait,
                    timeout,
                    format,
                };
                return super::update::run(agent, &namespace, update);
            }
            if !no_wait {
                interrupt::catch();
            }
            let response = agent.request(Request::Deploy {
                template,
                namespace: namespace.clone(),
                name: name.clone(),
                inputs,
                on_failure,
            })?;
            let Response::Deployed { status } = response else {
                return Err(invalid(unexpected(response)));
            };
            if no_wait {
                eprintln!("service {name} recorded; its instances are being made real");
                return Ok(ExitCode::SUCCESS);
            }
            let deadline = Instant::now() + Duration::from_secs(timeout);
            match wait_until_running(agent, &namespace, &name, status, deadline)? {
                Waited::Done(status) => print_outputs(&status, format).map(|()| ExitCode::SUCCESS),
                Waited::Interrupted => Ok(interrupted("deployment", &namespace, &name)),
            }
        }
        ServiceCommand::List {
            all_namespaces,
            format,
        } => {
            let response = agent.request(Request::ListServices {
                namespace: (!all_namespaces).then_some(namespace),
            })?;
            let Response::Services { services } = response else {
                return Err(invalid(unexpected(response)));
            };
            if format != Format::Table {
                return print_document(format, &services)
                    .map(|()| ExitCode::SUCCESS)
                    .map_err(invalid);
            }
            let rows: Vec<Vec<String>> = services.iter().map(list_row).collect();
            print_table(
                &[
                    "NAME",
                    "NAMESPACE",
                    "PHASE",
                    "RUNNING",
                    "FAILED",
                    "TEMPLATE",
                ],
                &rows,
            );
            Ok(ExitCode::SUCCESS)
        }
        ServiceCommand::Status {
            name,
            format,
            watch: false,
        } => print_status(&status(agent, &namespace, &name)?, format),
        ServiceCommand::Status {
            name,
            format,
            watch: true,
        } => watch_status(agent, &namespace, &name, format),
        ServiceCommand::Events {
            name,
            follow,
            format,
        } => super::events::run(agent, &namespace, &name, follow, format),
        ServiceCommand::Exec {
            name,
            instance,
            command,
        } => super::exec::run(agent, &namespace, &name, &instance, &command),
        ServiceCommand::Update {
            name,
            template,
            inputs,
            max_parallel,
            no_wait,
            timeout,
            format,
        } => {
            let inputs = parse_inputs(&inputs).map_err(invalid)?;
            let template = template_argument(template)?;
            let update = super::update::Update {
                name,
                template,
                inputs,
                max_parallel,
                no_wait,
                timeout,
                format,
            };
            super::update::run(agent, &namespace, update)
        }
        ServiceCommand::Plan {
            name,
            template,
            inputs,
            format,
        } => {
            let inputs = parse_inputs(&inputs).map_err(invalid)?;
            let template = template_argument(template)?;
            super::plan::run(agent, &namespace, &name, template, inputs, format)
        }
        ServiceCommand::Output { name, format } => {
            let status = status(agent, &namespace, &name)?;
            print_outputs(&status, format).map(|()| ExitCode::SUCCESS)
        }
        ServiceCommand::Stop(args) => control(agent, &namespace, InstanceAction::Stop, args),
        ServiceCommand::Start(args) => control(agent, &namespace, InstanceAction::Start, args),
        ServiceCommand::Restart(args) => control(agent, &namespace, InstanceAction::Restart, args),
        ServiceCommand::Delete {
            name,
            no_wait,
            timeout,
            force,
        } => {
            if !no_wait {
                interrupt::catch();
            }
            let response = agent.request(Request::Delete {
                namespace: namespace.clone(),
                name: name.clone(),
                force,
            })?;
            let Response::Deleting { orphaned } = response else {
                return Err(invalid(unexpected(response)));
            };
            if !orphaned.is_empty() {
                let list: Vec<String> = orphaned.iter().map(ToString::to_string).collect();
                eprintln!(
                    "warning: service {name} is deleted although other services select its \
                     node instances, which now point at nothing: {}",
                    list.join(", ")
                );
            }
            if no_wait {
                eprintln!("service {name} is being deleted");
                return Ok(ExitCode::SUCCESS);
            }
            let deadline = Instant::now() + Duration::from_secs(timeout);
            match wait_until_deleted(agent, &namespace, &name, deadline)? {
                Waited::Done(()) => {
                    eprintln!("service {name} deleted");
                    Ok(ExitCode::SUCCESS)
                }
                Waited::Interrupted => Ok(interrupted("deletion", &namespace, &name)),
            }
        }
        ServiceCommand::Logs {
            name,
            instance,
            follow,
            tail,
            since,
            timestamps,
        } => {
            let options = LogOptions {
                follow,
                tail,
                since,
                timestamps,
            };
            let response = agent.request(Request::Logs {
                namespace,
                name: name.clone(),
                instance,
            })?;
            let Response::Logs {
                logs,
                commands,
                output,
                missing,
            } = response
            else {
                return Err(invalid(unexpected(response)));
            };
            for why in &missing {
                eprintln!("output missing: {why}");
            }
            let done = match missing.is_empty() {
                true => ExitCode::SUCCESS,
                false => ExitCode::FAILURE,
            };
            if logs.is_empty() && commands.is_empty() && output.is_empty() {
                if missing.is_empty() {
                    eprintln!("the instances of {name} have no output");
                }
                return Ok(done);
            }
            if options.need_times() && !logs.is_empty() {
                return Err(invalid(no_times(&logs)));
            }
            if options.need_times() && !output.is_empty() {
                return Err(invalid(no_times_elsewhere(&output)));
            }
            let prefix = logs.len() + commands.len() + output.len() > 1;
            print_output(&output, &options, prefix);
            for command in &commands {
                print_command_log(command, &options, prefix);
            }
            print_logs(&logs, &options, prefix).map(|()| done)
        }
    }
}

/// How a wait that did not fail ended.
pub(super) enum Waited<T> {
    /// What was waited for happened.
    Done(T),
    /// Ctrl-C: the person stopped waiting; the agent goes on.
    Interrupted,
}

/// Says the work goes on in the agent and how to watch it; the exit code of an interruption.
pub(super) fn interrupted(work: &str, namespace: &str, name: &str) -> ExitCode {
    eprintln!(
        "interrupted: the {work} of service {name} goes on in the agent; watch it with `{}`",
        interrupt::status_command(namespace, name)
    );
    ExitCode::from(EXIT_INTERRUPTED)
}

/// Why `--since` and `--timestamps` are refused for these instances.
fn no_times(logs: &[LogFile]) -> String {
    let instances: Vec<&str> = logs.iter().map(|l| l.instance.as_str()).collect();
    format!(
        "--since and --timestamps need the time each line was written, and the output of {} \
         is a plain file its programs write with no times in it; use --tail, or name a \
         container instance",
        instances.join(", ")
    )
}

/// Why `--since` and `--timestamps` are refused for instances on other hosts.
fn no_times_elsewhere(output: &[LogOutput]) -> String {
    let instances: Vec<String> = output
        .iter()
        .map(|o| format!("{} (on {})", o.instance, o.host))
        .collect();
    format!(
        "--since and --timestamps need the time each line was written, which other hosts do not \
         send: ask the agent on the host of {}, or use --tail",
        instances.join(", ")
    )
}

/// Prints what other hosts sent of their instances' output (its last `--tail` lines). It is
/// printed once: following goes on for this host's instances only.
fn print_output(output: &[LogOutput], options: &LogOptions, prefix: bool) {
    for log in output {
        let lines: Vec<&str> = log.text.split_inclusive('\n').collect();
        let from = options
            .tail
            .map_or(0, |tail| lines.len().saturating_sub(tail));
        for line in &lines[from..] {
            match prefix {
                true => write_out(&format!("{} | {line}", log.instance)),
                false => write_out(line),
            }
        }
    }
    if options.follow && !output.is_empty() {
        let hosts: std::collections::BTreeSet<&str> =
            output.iter().map(|o| o.host.as_str()).collect();
        let hosts: Vec<&str> = hosts.into_iter().collect();
        eprintln!(
            "(the output of instances on {} was shown once; --follow them on their host)",
            hosts.join(", ")
        );
    }
}

/// One row of `service list`: an unreadable service shows why in place of its template.
fn list_row(summary: &ServiceSummary) -> Vec<String> {
    let phase = match summary.phase {
        Some(phase) => format!("{phase:?}").to_lowercase(),
        None => "unreadable".to_owned(),
    };
    vec![
        summary.name.clone(),
        summary.namespace.clone(),
        phase,
        format!("{}/{}", summary.running, summary.instances),
        summary.failed.to_string(),
        summary
            .problem
            .clone()
            .unwrap_or_else(|| summary.template.clone()),
    ]
}

/// Whether the instance runs but its health checks fail.
fn unhealthy(instance: &crate::control::protocol::InstanceStatus) -> bool {
    instance.state == InstanceState::Running
        && instance.health == Some(crate::state::records::Health::Unhealthy)
}

/// [`EXIT_UNHEALTHY`] when the service's deploy or one of its instances failed (or its health
/// checks fail), else success.
fn health_code(status: &ServiceStatus) -> ExitCode {
    if status.phase == ServicePhase::Failed
        || status
            .instances
            .iter()
            .any(|i| i.state == InstanceState::Failed || i.host_down || unhealthy(i))
    {
        ExitCode::from(EXIT_UNHEALTHY)
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) fn invalid(message: impl Into<String>) -> ClientError {
    ClientError::Failed(crate::control::protocol::Failure {
        kind: FailureKind::BadRequest,
        message: message.into(),
    })
}

fn status(agent: &AgentAddress, namespace: &str, name: &str) -> Result<ServiceStatus, ClientError> {
    let response = agent.request(Request::Status {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })?;
    match response {
        Response::Status { status } => Ok(status),
        other => Err(invalid(unexpected(other))),
    }
}

/// Which instances `service stop|start|restart` acts on.
#[derive(Debug, clap::Args)]
pub struct ControlArgs {
    /// The service.
    name: String,
    /// One instance (all of the service's when left out).
    instance: Option<String>,
    /// Return once the agent took the request, without waiting for it to be done.
    #[arg(long)]
    no_wait: bool,
}

/// `service stop|start|restart`: asks the agent, waits until it is done (unless `--no-wait`),
/// and says which instances it applied to.
fn control(
    agent: &AgentAddress,
    namespace: &str,
    action: InstanceAction,
    args: ControlArgs,
) -> Result<ExitCode, ClientError> {
    let response = agent.request(Request::Control {
        namespace: namespace.to_owned(),
        name: args.name.clone(),
        action,
        instance: args.instance,
        wait: !args.no_wait,
    })?;
    let Response::Controlled { instances } = response else {
        return Err(invalid(unexpected(response)));
    };
    let done = match (action, args.no_wait) {
        (_, true) => "asked to",
        (InstanceAction::Stop, false) => "stopped",
        (InstanceAction::Start, false) => "started",
        (InstanceAction::Restart, false) => "restarted",
    };
    let verb = match (action, args.no_wait) {
        (InstanceAction::Stop, true) => " stop",
        (InstanceAction::Start, true) => " start",
        (InstanceAction::Restart, true) => " restart",
        (_, false) => "",
    };
    eprintln!("{done}{verb} {}: {}", args.name, instances.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// Prints a service's status; exits 0 when it is healthy, [`EXIT_UNHEALTHY`] when not.
fn print_status(status: &ServiceStatus, format: Format) -> Result<ExitCode, ClientError> {
    let code = health_code(status);
    if format != Format::Table {
        return print_document(format, status)
            .map(|()| code)
            .map_err(invalid);
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = status
        .instances
        .iter()
        .map(|i| {
            let attributes = i
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={}", cell(v)))
                .collect::<Vec<_>>()
                .join(" ");
            let detail = match &i.message {
                Some(message) => format!("{message} {attributes}"),
                None => attributes,
            };
            vec![
                i.id.clone(),
                i.node.clone(),
                i.host.clone(),
                match i.host_down {
                    true => format!("{} (host down)", i.state),
                    false => state_label(i.state, i.health),
                },
                i.since
                    .as_deref()
                    .map_or_else(|| "-".into(), |since| super::events::age(since, now)),
                detail,
            ]
        })
        .collect();
    print_table(
        &["INSTANCE", "NODE", "HOST", "STATE", "AGE", "ATTRIBUTES"],
        &rows,
    );
    if let Some(update) = &status.update {
        write_out(&format!("\nupdate: {update}\n"));
    }
    match (&status.message, status.phase) {
        (Some(message), ServicePhase::Failed) => {
            write_out(&format!("\ndeploy failed: {message}\n"))
        }
        (Some(message), _) => write_out(&format!("\n{message}\n")),
        (None, _) => {}
    }
    if !status.outputs.is_empty() {
        write_out("\n");
        print_outputs(status, Format::Table)?;
    }
    Ok(code)
}

/// `status --watch`: the status at every change (the agent pushes them), until Ctrl-C or
/// the service is gone; exits as the last status says.
fn watch_status(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
    format: Format,
) -> Result<ExitCode, ClientError> {
    interrupt::catch();
    let mut watch = ServiceWatch::new(agent, namespace, name);
    let (mut printed, mut code) = (false, ExitCode::SUCCESS);
    while !interrupt::interrupted() {
        let (status, changed) = match watch.next() {
            Ok(answer) => answer,
            Err(ClientError::Failed(failure))
                if failure.kind == FailureKind::NotFound && printed =>
            {
                write_out(&format!("service {name} is gone\n"));
                return Ok(ExitCode::SUCCESS);
            }
            Err(error) => return Err(error),
        };
        if changed {
            if printed && format == Format::Table {
                write_out("\n");
            }
            code = print_status(&status, format)?;
            printed = true;
        }
    }
    Ok(code)
}

/// How often at most the CLI asks for a service's changes: a progress display needs no more,
/// and a deploy of thousands of instances is not slowed by its own watcher.
const WATCH_PACE: Duration = Duration::from_millis(100);

/// Hears of one service's changes from the agent, which answers a watch when the service
/// changed (or after a second without change).
pub(super) struct ServiceWatch<'a> {
    agent: &'a AgentAddress,
    namespace: &'a str,
    name: &'a str,
    version: u64,
    asked: Option<Instant>,
}

impl<'a> ServiceWatch<'a> {
    pub(super) fn new(agent: &'a AgentAddress, namespace: &'a str, name: &'a str) -> Self {
        ServiceWatch {
            agent,
            namespace,
            name,
            version: 0,
            asked: None,
        }
    }

    /// The service's status (at once the first time, then once it changed) and whether it
    /// changed since the last.
    pub(super) fn next(&mut self) -> Result<(ServiceStatus, bool), ClientError> {
        if let Some(asked) = self.asked {
            std::thread::sleep(WATCH_PACE.saturating_sub(asked.elapsed()));
        }
        self.asked = Some(Instant::now());
        let response = self.agent.request(Request::Watch {
            namespace: self.namespace.to_owned(),
            name: self.name.to_owned(),
            after: self.version,
        })?;
        let Response::Watched { status, version } = response else {
            return Err(invalid(unexpected(response)));
        };
        let changed = version != self.version;
        self.version = version;
        Ok((status, changed))
    }
}

pub(super) fn print_outputs(status: &ServiceStatus, format: Format) -> Result<(), ClientError> {
    if format != Format::Table {
        return print_document(format, &status.outputs).map_err(invalid);
    }
    let rows: Vec<Vec<String>> = status
        .outputs
        .iter()
        .map(|(name, value)| vec![name.clone(), cell(value)])
        .collect();
    print_table(&["OUTPUT", "VALUE"], &rows);
    Ok(())
}

/// Shows progress until every instance runs (Ok) or one failed (an error naming it).
fn wait_until_running(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
    mut current: ServiceStatus,
    deadline: Instant,
) -> Result<Waited<ServiceStatus>, ClientError> {
    let total = current.instances.len() as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} running {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let (mut failed_since, mut watch) = (None, ServiceWatch::new(agent, namespace, name));
    let mut changes = Changes::default();
    loop {
        changes.show(&bar, &current);
        let running = current.instances.iter().filter(|i| i.is_ready()).count();
        bar.set_position(running as u64);
        let busy: Vec<String> = current
            .instances
            .iter()
            .filter(|i| !i.is_ready())
            .map(|i| format!("{} {}", i.id, state_label(i.state, i.health)))
            .collect();
        bar.set_message(busy.join(", "));
        if let Some(failure) = deploy_failure(&current, &mut failed_since) {
            bar.finish_and_clear();
            return Err(ClientError::Failed(crate::control::protocol::Failure {
                kind: FailureKind::Internal,
                message: failure,
            }));
        }
        if running as u64 == total {
            bar.finish_and_clear();
            return Ok(Waited::Done(current));
        }
        if interrupt::interrupted() {
            bar.finish_and_clear();
            return Ok(Waited::Interrupted);
        }
        if Instant::now() >= deadline {
            bar.finish_and_clear();
            return Err(invalid(format!(
                "service {name} is still not running ({}); it stays recorded and goes on: \
                 see `khutulun service status {name}`",
                busy.join(", ")
            )));
        }
        current = watch.next()?.0;
    }
}

/// How long `deploy` waits, once an instance failed, for the agent to record the deploy as
/// failed (it first undoes what the deploy made): past it, the instance's failure is reported.
const FAILURE_GRACE: Duration = Duration::from_secs(30);

/// Why the deploy of `status`'s service failed, once that is settled: the agent recorded the
/// failure (after undoing what the deploy made, unless the service keeps it), or an instance
/// failed `failed_since` more than [`FAILURE_GRACE`] ago (e.g. it crashed after its step).
fn deploy_failure(status: &ServiceStatus, failed_since: &mut Option<Instant>) -> Option<String> {
    let name = &status.name;
    if status.phase == ServicePhase::Failed {
        let why = status.message.as_deref().unwrap_or("no reason given");
        return Some(format!(
            "the deploy of service {name} failed: {why}; `khutulun service delete {name}` \
             removes its record"
        ));
    }
    let failed = status
        .instances
        .iter()
        .find(|i| i.state == InstanceState::Failed)?;
    let since = *failed_since.get_or_insert_with(Instant::now);
    (since.elapsed() >= FAILURE_GRACE).then(|| {
        format!(
            "instance {} of service {name} failed: {}",
            failed.id,
            failed.message.as_deref().unwrap_or("no reason given")
        )
    })
}

/// Which failed instance a delete failed on. An instance seen failed from the start may have
/// failed before the delete (a one-shot job that ended): it counts once it was seen in another
/// state during this delete (deleting, then failed), or after [`FAILURE_GRACE`] of staying
/// failed (a delete that failed before the first look), never at once.
#[derive(Default)]
struct DeleteFailures {
    /// Instances seen in a state other than failed during this delete.
    moved: std::collections::HashSet<String>,
    /// When each instance was first seen failed.
    failed_since: std::collections::HashMap<String, Instant>,
}

impl DeleteFailures {
    fn of_this_delete<'s>(&mut self, status: &'s ServiceStatus) -> Option<&'s InstanceStatus> {
        for instance in &status.instances {
            if instance.state == InstanceState::Failed {
                self.failed_since
                    .entry(instance.id.clone())
                    .or_insert_with(Instant::now);
            } else {
                self.moved.insert(instance.id.clone());
                self.failed_since.remove(&instance.id);
            }
        }
        status.instances.iter().find(|i| {
            i.state == InstanceState::Failed
                && (self.moved.contains(&i.id)
                    || self.failed_since[&i.id].elapsed() >= FAILURE_GRACE)
        })
    }
}

fn wait_until_deleted(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
    deadline: Instant,
) -> Result<Waited<()>, ClientError> {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut watch = ServiceWatch::new(agent, namespace, name);
    let mut changes = Changes::default();
    let mut failures = DeleteFailures::default();
    loop {
        match watch.next() {
            Err(ClientError::Failed(failure)) if failure.kind == FailureKind::NotFound => {
                changes.all_gone(&bar);
                bar.finish_and_clear();
                return Ok(Waited::Done(()));
            }
            Err(error) => {
                bar.finish_and_clear();
                return Err(error);
            }
            Ok((status, _)) => {
                changes.show(&bar, &status);
                if let Some(failed) = failures.of_this_delete(&status) {
                    bar.finish_and_clear();
                    return Err(invalid(format!(
                        "instance {} of service {name} could not be deleted: {}; the agent \
                         tries again later (see `khutulun service status {name}`)",
                        failed.id,
                        failed.message.as_deref().unwrap_or("no reason given")
                    )));
                }
                let left = status.instances.len();
                if interrupt::interrupted() {
                    bar.finish_and_clear();
                    return Ok(Waited::Interrupted);
                }
                if Instant::now() >= deadline {
                    bar.finish_and_clear();
                    return Err(invalid(format!(
                        "service {name} is still being deleted ({left} instances left); \
                         the deletion goes on: see `khutulun service status {name}`"
                    )));
                }
                bar.set_message(format!("deleting {name}: {left} instances left"));
            }
        }
    }
}

/// Runs the command that prints an instance's output (standard output and error both), with
/// the instance's name before each line when `prefix`. Following, it goes on in threads of its
/// own while the files are followed.
fn print_command_log(log: &LogCommand, options: &LogOptions, prefix: bool) {
    let follow = options.follow;
    let mut arguments = if follow {
        log.follow_arguments.clone()
    } else {
        log.arguments.clone()
    };
    let at = log.options_at.min(arguments.len());
    arguments.splice(at..at, options.command_options());
    let mut command = std::process::Command::new(&log.program);
    command.args(&arguments);
    let shown = format!("`{} {}`", log.program, arguments.join(" "));
    let print = move |instance: &str, text: &str| {
        if prefix {
            let mut prefixed = String::new();
            for line in text.split_inclusive('\n') {
                prefixed.push_str(&format!("{instance} | {line}"));
            }
            write_out(&prefixed);
        } else {
            write_out(text);
        }
    };
    if !follow {
        match command.stdin(std::process::Stdio::null()).output() {
            Ok(output) => {
                print(&log.instance, &String::from_utf8_lossy(&output.stdout));
                print(&log.instance, &String::from_utf8_lossy(&output.stderr));
            }
            Err(error) => eprintln!("{}: could not run {shown}: {error}", log.instance),
        }
        return;
    }
    let spawned = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            eprintln!("{}: could not run {shown}: {error}", log.instance);
            return;
        }
    };
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let instance = log.instance.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                print(&instance, &format!("{line}\n"));
            }
        });
    }
}

/// Prints the files (from the last `--tail` lines when given), following them when asked.
fn print_logs(logs: &[LogFile], options: &LogOptions, prefix: bool) -> Result<(), ClientError> {
    let follow = options.follow;
    let mut offsets: Vec<u64> = logs
        .iter()
        .map(|log| {
            options
                .tail
                .map_or(0, |lines| tail_offset(&log.path, lines))
        })
        .collect();
    loop {
        for (log, offset) in logs.iter().zip(offsets.iter_mut()) {
            let Ok(mut file) = std::fs::File::open(&log.path) else {
                continue;
            };
            if file.seek(SeekFrom::Start(*offset)).is_err() {
                continue;
            }
            let mut bytes = Vec::new();
            if file.read_to_end(&mut bytes).is_err() {
                continue;
            }
            *offset += bytes.len() as u64;
            let text = String::from_utf8_lossy(&bytes);
            if prefix {
                let mut prefixed = String::new();
                for line in text.split_inclusive('\n') {
                    prefixed.push_str(&format!("{} | {line}", log.instance));
                }
                write_out(&prefixed);
            } else {
                write_out(&text);
            }
        }
        if !follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Where the last `lines` lines of the file begin (0 when it has fewer, or cannot be read).
fn tail_offset(path: &Path, lines: usize) -> u64 {
    let Ok(bytes) = std::fs::read(path) else {
        return 0;
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if lines == 0 {
        return bytes.len() as u64;
    }
    let mut seen = 0;
    for (index, byte) in body.iter().enumerate().rev() {
        if *byte == b'\n' {
            seen += 1;
            if seen == lines {
                return index as u64 + 1;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_read_as_yaml_values() {
        let inputs = parse_inputs(&[
            "port=8080".into(),
            "name=web".into(),
            "flag=true".into(),
            "empty=".into(),
            "text=a=b".into(),
        ])
        .unwrap();
        assert_eq!(inputs["port"], 8080);
        assert_eq!(inputs["name"], "web");
        assert_eq!(inputs["flag"], true);
        assert_eq!(inputs["empty"], "");
        assert_eq!(inputs["text"], "a=b");
        assert!(parse_inputs(&["novalue".into()]).is_err());
        assert!(parse_inputs(&["=x".into()]).is_err());
    }

    #[test]
    fn since_takes_a_time_or_a_duration() {
        let time = parse_since("2026-01-02T15:04:05+01:00").unwrap();
        assert_eq!(time.to_rfc3339(), "2026-01-02T14:04:05+00:00");
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("10m"), Some(600));
        assert_eq!(parse_duration("2d"), Some(172_800));
        let ago = Utc::now() - parse_since("30s").unwrap();
        assert!((29..=31).contains(&ago.num_seconds()));
        for wrong in ["", "10", "m", "10x", "yesterday", "1h30"] {
            assert!(parse_since(wrong).is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn tail_starts_at_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
        assert_eq!(tail_offset(&path, 1), 8);
        assert_eq!(tail_offset(&path, 2), 4);
        assert_eq!(tail_offset(&path, 3), 0);
        assert_eq!(tail_offset(&path, 9), 0);
        assert_eq!(tail_offset(&path, 0), 14);
        std::fs::write(&path, "one\ntwo").unwrap();
        assert_eq!(tail_offset(&path, 1), 4);
    }
}
