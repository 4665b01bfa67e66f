//! What the distrobox delegate does on the host: import a box's image, make the box, stop it,
//! remove it. Every command runs within a deadline and is killed past it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::plan::{BoxName, BoxPlan, DISTROBOX, INSTANCE_LABEL, ImageSource};
use crate::delegates::process::find_program;
use crate::delegates::protocol::DelegateError;

/// How long importing an image (a root filesystem of a few hundred MiB) may take.
const IMPORT_DEADLINE: Duration = Duration::from_secs(240);
/// How long `distrobox create`, `podman stop` or `podman rm` may take.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// Why this host cannot run boxes, or `None` when it can: `distrobox` and `podman` installed,
/// and the agent not root (distrobox refuses to run as root).
pub fn missing() -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    if find_program(DISTROBOX, &path, Path::new("/")).is_none() {
        return Some(
            "distrobox is not installed on this host (Debian: apt-get install distrobox)".into(),
        );
    }
    if find_program("podman", &path, Path::new("/")).is_none() {
        return Some("distrobox makes its boxes with Podman, which is not installed on this host (Debian: apt-get install podman)".into());
    }
    if nix::unistd::geteuid().is_root() {
        return Some("distrobox refuses to run as root: run the agent as a regular user (with its own user manager) to use it".into());
    }
    None
}

/// Makes the box unless it is there already (a Create run again): imports its image when it
/// is an archive or a directory, then `distrobox create`. A box of that name that Khutulun did
/// not make is refused, untouched.
pub async fn make(plan: &BoxPlan) -> Result<(), DelegateError> {
    let id = &plan.id;
    if owned(id).await? {
        return Ok(());
    }
    if plan.imports_image() && !image_present(&plan.image).await? {
        import(plan).await?;
    }
    run(id, DISTROBOX, &plan.create_arguments, COMMAND_DEADLINE).await
}

/// Stops the box (what its command left running with it), if it is Khutulun's.
pub async fn stop(id: &BoxName) -> Result<(), DelegateError> {
    if owned(id).await? {
        let arguments = ["stop", "--time", "5", &id.name].map(String::from);
        run(id, "podman", &arguments, COMMAND_DEADLINE).await?;
    }
    Ok(())
}

/// Removes the box (if it is Khutulun's) and the image imported for it, if any.
pub async fn remove(id: &BoxName) -> Result<(), DelegateError> {
    if owned(id).await? {
        let arguments = ["rm", "--force", "--time", "5", &id.name].map(String::from);
        run(id, "podman", &arguments, COMMAND_DEADLINE).await?;
    }
    let image = id.imported_image();
    if image_present(&image).await? {
        let arguments = ["rmi", &image].map(String::from);
        run(id, "podman", &arguments, COMMAND_DEADLINE).await?;
    }
    Ok(())
}

/// Whether the box exists and carries this instance's label; an error when a box of that name
/// belongs to something else.
async fn owned(id: &BoxName) -> Result<bool, DelegateError> {
    let format = format!("{{{{index .Config.Labels \"{INSTANCE_LABEL}\"}}}}");
    let arguments = ["container", "inspect", "--format", &format, &id.name].map(String::from);
    let output = output("podman", &arguments, COMMAND_DEADLINE).await;
    let output = output.map_err(|why| failed(id, why))?;
    if !output.status.success() {
        return Ok(false);
    }
    let label = String::from_utf8_lossy(&output.stdout);
    if label.trim() == id.instance {
        Ok(true)
    } else {
        Err(failed(
            id,
            format!(
                "a container named {} exists that Khutulun did not make for it; it is left untouched (remove or rename it)",
                id.name
            ),
        ))
    }
}

async fn image_present(image: &str) -> Result<bool, DelegateError> {
    let arguments = ["image", "exists", image].map(String::from);
    let output = output("podman", &arguments, COMMAND_DEADLINE).await;
    Ok(output.map_err(DelegateError::Failed)?.status.success())
}

/// Imports the root filesystem (an archive, or a directory packed by `tar` on the way) as the
/// box's image.
async fn import(plan: &BoxPlan) -> Result<(), DelegateError> {
    let archive = match &plan.source {
        ImageSource::Reference(_) => return Ok(()),
        ImageSource::Directory(directory) => {
            let script = r#"tar --create --directory "$1" . | podman import --quiet - "$2""#;
            let arguments = [
                "-c",
                script,
                "sh",
                &directory.display().to_string(),
                &plan.image,
            ]
            .map(String::from);
            return run(&plan.id, "sh", &arguments, IMPORT_DEADLINE).await;
        }
        ImageSource::Archive(location) => location,
    };
    let path = match archive.local_path() {
        Some(path) => path.to_owned(),
        None => {
            let location = archive.clone();
            let content = tokio::task::spawn_blocking(move || location.read())
                .await
                .map_err(|e| failed(&plan.id, e.to_string()))?
                .map_err(|why| failed(&plan.id, why))?;
            tokio::fs::write(&plan.archive_copy, content)
                .await
                .map_err(|e| failed(&plan.id, format!("{}: {e}", plan.archive_copy.display())))?;
            plan.archive_copy.clone()
        }
    };
    let arguments = [
        "import".to_owned(),
        "--quiet".to_owned(),
        path.display().to_string(),
        plan.image.clone(),
    ];
    let imported = run(&plan.id, "podman", &arguments, IMPORT_DEADLINE).await;
    let _ = tokio::fs::remove_file(&plan.archive_copy).await;
    imported
}

/// Runs `program arguments…`, which must succeed within `deadline`.
async fn run(
    id: &BoxName,
    program: &str,
    arguments: &[String],
    deadline: Duration,
) -> Result<(), DelegateError> {
    let done = output(program, arguments, deadline)
        .await
        .map_err(|why| failed(id, why))?;
    if done.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&done.stderr);
    let said = said.trim().lines().last().unwrap_or_default().to_owned();
    let what = match program {
        "sh" => "importing its image directory".to_owned(),
        _ => format!(
            "`{program} {}`",
            arguments.first().map_or("", String::as_str)
        ),
    };
    Err(failed(id, format!("{what}: {}: {said}", done.status)))
}

async fn output(
    program: &str,
    arguments: &[String],
    deadline: Duration,
) -> Result<std::process::Output, String> {
    let child = tokio::process::Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("{program} could not start: {error}"))?;
    match tokio::time::timeout(deadline, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "`{program} {}` did not finish within {} s",
            arguments.first().map_or("", String::as_str),
            deadline.as_secs()
        )),
        Ok(result) => result.map_err(|error| format!("{program} failed: {error}")),
    }
}

fn failed(id: &BoxName, why: String) -> DelegateError {
    DelegateError::Failed(format!("{}: {why}", id.instance))
}
