//! Runs one Lifecycle operation: its script or program as a child of the agent, in the
//! instance's private directory, its output appended to the instance's `operations.log`, with
//! a deadline; then reads the `name=value` lines it wrote for its outputs.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use crate::delegates::protocol::Attributes;

use super::super::RuntimeError;
use super::lifecycle::OperationRun;

/// The PATH operations get when the agent has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The log of an instance's operations, in its private directory.
pub fn log_file(directory: &Path) -> PathBuf {
    directory.join("operations.log")
}

/// The implementation as a file on disk: itself, or a copy of the file inside the CSAR in the
/// instance's `artifacts/` directory (executable when it starts with `#!`).
fn program_file(operation: &OperationRun) -> Result<PathBuf, RuntimeError> {
    if let Some(path) = operation.program.local_path() {
        return Ok(path.to_owned());
    }
    let failed = |why: String| {
        RuntimeError::Invalid(format!("{}: {} {why}", operation.instance, operation.name))
    };
    let content = operation
        .program
        .read()
        .map_err(|why| failed(format!("cannot be read: {why}")))?;
    let name = operation
        .program
        .to_string()
        .rsplit('/')
        .next()
        .unwrap_or("implementation")
        .to_owned();
    let directory = artifacts_dir(&operation.directory);
    let copy = directory.join(name);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&directory)?;
        std::fs::write(&copy, &content)?;
        let mode = if content.starts_with(b"#!") {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(mode))
    };
    write().map_err(|e| failed(format!("could not be copied to {}: {e}", copy.display())))?;
    Ok(copy)
}

fn artifacts_dir(directory: &Path) -> PathBuf {
    directory.join("artifacts")
}

/// Removes what operations left in the instance's private directory (their log), and the
/// directory itself when nothing else is in it: what a delegate keeps there (a persistent
/// directory's content) stays.
pub fn forget(directory: &Path) {
    let _ = std::fs::remove_file(log_file(directory));
    let _ = std::fs::remove_dir_all(artifacts_dir(directory));
    let _ = std::fs::remove_dir(directory);
}

/// Runs the operation; the attributes its outputs set.
pub async fn run(operation: &OperationRun) -> Result<Attributes, RuntimeError> {
    let failed = |what: String| {
        RuntimeError::Invalid(format!("{}: {} {what}", operation.instance, operation.name))
    };
    let io = |action: &str, path: &Path, error: std::io::Error| {
        failed(format!("could not {action} {}: {error}", path.display()))
    };
    let directory = &operation.directory;
    std::fs::create_dir_all(directory).map_err(|e| io("create", directory, e))?;
    let log_path = log_file(directory);
    let mut log = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .await
        .map_err(|e| io("open", &log_path, e))?;
    let header = format!("== {} ({})\n", operation.name, operation.program);
    log.write_all(header.as_bytes())
        .await
        .map_err(|e| io("write", &log_path, e))?;
    let log = log.into_std().await;
    let log_too = log.try_clone().map_err(|e| io("open", &log_path, e))?;
    let outputs_path = directory.join(format!(".outputs-{}", operation.name));
    std::fs::write(&outputs_path, "").map_err(|e| io("create", &outputs_path, e))?;

    let program = program_file(operation)?;
    let executable = std::fs::metadata(&program)
        .map_err(|e| io("read", &program, e))?
        .permissions()
        .mode()
        & 0o111
        != 0;
    let mut command = if executable {
        tokio::process::Command::new(&program)
    } else {
        let mut shell = tokio::process::Command::new("/bin/sh");
        shell.arg(&program);
        shell
    };
    command
        .env_clear()
        .env(
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.into()),
        )
        .env("HOME", std::env::var("HOME").unwrap_or_else(|_| "/".into()))
        .envs(&operation.environment)
        .env("KHUTULUN_OUTPUTS", &outputs_path)
        .current_dir(directory)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| io("start", &program, e))?;
    let status = match tokio::time::timeout(operation.timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| io("wait for", &program, e))?,
        Err(_) => {
            if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.wait().await;
            return Err(failed(format!(
                "did not end within {} s and was killed; see {}",
                operation.timeout.as_secs(),
                log_path.display()
            )));
        }
    };
    if !status.success() {
        let how = match status.code() {
            Some(code) => format!("exit code {code}"),
            None => "a signal".to_owned(),
        };
        return Err(failed(format!(
            "failed with {how}; see {}",
            log_path.display()
        )));
    }
    let written =
        std::fs::read_to_string(&outputs_path).map_err(|e| io("read", &outputs_path, e))?;
    let _ = std::fs::remove_file(&outputs_path);
    let values: BTreeMap<&str, &str> = written
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let mut attributes = Attributes::new();
    for (output, attribute) in &operation.outputs {
        let value = values.get(output.as_str()).ok_or_else(|| {
            failed(format!(
                "did not write its output {output} (a line `{output}=VALUE` in $KHUTULUN_OUTPUTS)"
            ))
        })?;
        attributes.insert(
            attribute.clone(),
            serde_json::Value::String((*value).to_owned()),
        );
    }
    Ok(attributes)
}
