//! Mounting a networked directory on this host for the instances here that attach it, and
//! unmounting it when the last of them goes.
//!
//! Every instance that attaches the directory is a holder of its mount on its host (see
//! `holders`). The first holder mounts it, the others share the mount, the last one unmounts
//! it and removes the mount point if Khutulun made it. What is mounted is read from the mount
//! table, never assumed: an attach after an agent restart finds the mount there and adopts
//! it, and one whose sshfs died (the mount answers "transport endpoint is not connected") is
//! unmounted and mounted again. A mount that fails or passes its deadline leaves nothing
//! behind: no half-made mount, no mount point, no holder. The mount point is also claimed in
//! the host's directory claims, so no temporary directory of another instance can contain
//! it (deleting that would reach through the mount into the server's files).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::actor::{DirectoryConfig, claim_path, release_claims};
use super::claims::canonical;
use super::holders::{self, MountRecord};
use super::mount::{CommandLine, Protocol};
use super::mountinfo;
use super::network::NetworkPlan;
use crate::delegates::protocol::DelegateError;

/// How long a mount (sshfs logging in, the NFS client reaching its server), an unmount, or a
/// look at a mount that may hang may take unless the agent is configured otherwise.
pub const MOUNT_DEADLINE: Duration = Duration::from_secs(30);

/// Mounts `plan` on this host for `holder` (`namespace/service/instance`), or shares or adopts
/// the mount already there; returns the mount point.
pub async fn attach(
    config: &DirectoryConfig,
    plan: &NetworkPlan,
    holder: &str,
) -> Result<PathBuf, DelegateError> {
    let mut record = current_record(plan)?;
    if record.holders.is_empty() {
        claim(config, plan).await?;
    }
    record.add(holder);
    holders::save(&plan.record_path(), &record)?;
    match mount_here(plan, &mut record, config.mount_deadline).await {
        Ok(()) => {
            holders::save(&plan.record_path(), &record)?;
            tracing::info!(directory = %plan.name, %holder, mount_point = %plan.mount_point.display(), holders = record.holders.len(), "attached");
            Ok(plan.mount_point.clone())
        }
        Err(error) => {
            record.remove(holder);
            if let Err(cleanup) = forget_if_unused(config, plan, &record).await {
                tracing::warn!(directory = %plan.name, %cleanup, "could not clean up after a failed mount");
            }
            Err(error)
        }
    }
}

/// Takes `holder` off the mount of `plan` on this host, unmounting it when no holder is left.
/// A holder that was never there, or a mount gone already, is fine.
pub async fn detach(
    config: &DirectoryConfig,
    plan: &NetworkPlan,
    holder: &str,
) -> Result<(), DelegateError> {
    let Some(mut record) = holders::load(&plan.record_path())? else {
        return Ok(());
    };
    let was_holder = record.remove(holder);
    if !record.holders.is_empty() {
        if was_holder {
            holders::save(&plan.record_path(), &record)?;
        }
        return Ok(());
    }
    unmount(plan, config.mount_deadline).await?;
    forget_if_unused(config, plan, &record).await?;
    tracing::info!(directory = %plan.name, %holder, mount_point = %plan.mount_point.display(), "unmounted: its last holder on this host is gone");
    Ok(())
}

/// What the directory instance's own delete must find: no holder of its mount left on this
/// host (its workloads are deleted first); then any leftover of the mount is removed.
pub async fn delete_unused(
    config: &DirectoryConfig,
    plan: &NetworkPlan,
) -> Result<(), DelegateError> {
    let record = holders::load(&plan.record_path())?;
    if let Some(record) = record.as_ref().filter(|r| !r.holders.is_empty()) {
        return Err(DelegateError::Failed(format!(
            "{}: its mount at {} is still used on this host by {}; delete those first",
            plan.name,
            plan.mount_point.display(),
            record.holders.join(", ")
        )));
    }
    unmount(plan, config.mount_deadline).await?;
    let record = record.unwrap_or_else(|| fresh(plan));
    forget_if_unused(config, plan, &record).await
}

/// The record of this host, or a fresh one; a record of another source or mount point that is
/// still used is a conflict.
fn current_record(plan: &NetworkPlan) -> Result<MountRecord, DelegateError> {
    match holders::load(&plan.record_path())? {
        Some(record)
            if record.source == plan.source_text && record.mount_point == plan.mount_point =>
        {
            Ok(record)
        }
        Some(record) if !record.holders.is_empty() => Err(DelegateError::Failed(format!(
            "{}: {} is mounted at {} on this host for {}; it cannot change while they use it",
            plan.name,
            record.source,
            record.mount_point.display(),
            record.holders.join(", ")
        ))),
        _ => Ok(fresh(plan)),
    }
}

fn fresh(plan: &NetworkPlan) -> MountRecord {
    MountRecord {
        source: plan.source_text.clone(),
        mount_point: plan.mount_point.clone(),
        made_mount_point: false,
        holders: Vec::new(),
    }
}

/// What the mount point holds now.
enum Found {
    /// This directory's mount, answering.
    Ours,
    /// This directory's mount, whose server side is gone.
    Stale,
    /// Another filesystem.
    Other(mountinfo::MountEntry),
    /// Nothing is mounted there.
    Nothing,
}

/// Looks at the mount point without hanging on it longer than `deadline` (a dead server can
/// make a look at a mount block).
async fn look(plan: &NetworkPlan, deadline: Duration) -> Result<Found, DelegateError> {
    let plan = plan.clone();
    let look = tokio::task::spawn_blocking(move || {
        let entries =
            mountinfo::read().map_err(|e| DelegateError::io("read /proc/self/mountinfo", e))?;
        let Some(entry) = mountinfo::at(&entries, &canonical(&plan.mount_point)).cloned() else {
            return Ok(Found::Nothing);
        };
        if !plan.source.is_mounted_as(&entry.fstype, &entry.source) {
            return Ok(Found::Other(entry));
        }
        Ok(match std::fs::metadata(&plan.mount_point) {
            Ok(_) => Found::Ours,
            Err(_) => Found::Stale,
        })
    });
    match tokio::time::timeout(deadline, look).await {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => Err(DelegateError::Failed(format!(
            "looking at a mount failed: {error}"
        ))),
        Err(_) => Ok(Found::Stale),
    }
}

/// Makes sure `plan` is mounted at its mount point: adopts a live mount, replaces a stale one,
/// mounts when nothing is there; each command within `deadline`.
async fn mount_here(
    plan: &NetworkPlan,
    record: &mut MountRecord,
    deadline: Duration,
) -> Result<(), DelegateError> {
    match look(plan, deadline).await? {
        Found::Ours => return Ok(()),
        Found::Other(entry) => {
            return Err(DelegateError::Failed(format!(
                "{}: {} already has {} ({}) mounted on it",
                plan.name,
                plan.mount_point.display(),
                entry.source,
                entry.fstype
            )));
        }
        Found::Stale => {
            tracing::warn!(directory = %plan.name, mount_point = %plan.mount_point.display(), "its mount no longer answers; mounting it again");
            let mut lazy = plan.unmount.clone();
            if plan.source.protocol == Protocol::Sshfs {
                lazy.arguments.insert(0, "-z".into());
            } else {
                lazy.arguments.insert(0, "-l".into());
            }
            run(&lazy, deadline)
                .await
                .map_err(|e| failed(plan, "unmount", &e))?;
        }
        Found::Nothing => {}
    }
    make_mount_point(plan, record)?;
    if let Err(error) = run(&plan.mount, deadline).await {
        // A mount cut off by its deadline may have been made meanwhile.
        let _ = unmount(plan, deadline).await;
        return Err(failed(plan, "mount", &format!("{error}{}", hint(plan))));
    }
    Ok(())
}

fn make_mount_point(plan: &NetworkPlan, record: &mut MountRecord) -> Result<(), DelegateError> {
    match std::fs::create_dir(&plan.mount_point) {
        Ok(()) => {
            record.made_mount_point = true;
            Ok(())
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(error) if error.kind() == ErrorKind::NotFound => {
            std::fs::create_dir_all(&plan.mount_point).map_err(|e| {
                DelegateError::io(format!("create {}", plan.mount_point.display()), e)
            })?;
            record.made_mount_point = true;
            Ok(())
        }
        Err(error) => Err(DelegateError::io(
            format!("create {}", plan.mount_point.display()),
            error,
        )),
    }
}

/// Unmounts this directory's mount at the mount point, if it is there.
async fn unmount(plan: &NetworkPlan, deadline: Duration) -> Result<(), DelegateError> {
    if matches!(
        look(plan, deadline).await?,
        Found::Nothing | Found::Other(_)
    ) {
        return Ok(());
    }
    run(&plan.unmount, deadline)
        .await
        .map_err(|e| failed(plan, "unmount", &e))
}

/// Once no holder is left: removes the record, the mount point if Khutulun made it, and the
/// directory instance's private directory on this host if nothing else is in it, then gives
/// up the claim. Never removes anything recursively: a mount point that is still mounted
/// stays.
async fn forget_if_unused(
    config: &DirectoryConfig,
    plan: &NetworkPlan,
    record: &MountRecord,
) -> Result<(), DelegateError> {
    if !record.holders.is_empty() {
        return holders::save(&plan.record_path(), record);
    }
    if record.made_mount_point {
        remove_empty(&plan.mount_point)?;
    }
    holders::remove(&plan.record_path())?;
    let _ = std::fs::remove_dir(&plan.state_dir);
    release(config, plan).await
}

fn remove_empty(dir: &Path) -> Result<(), DelegateError> {
    match std::fs::remove_dir(dir) {
        Err(error) if error.kind() != ErrorKind::NotFound => Err(DelegateError::io(
            format!("remove {}", dir.display()),
            error,
        )),
        _ => Ok(()),
    }
}

/// Claims the mount point for the directory instance on this host (one directory per mount
/// point, and none inside another's temporary directory).
async fn claim(config: &DirectoryConfig, plan: &NetworkPlan) -> Result<(), DelegateError> {
    let path = canonical(&plan.mount_point);
    claim_path(config, plan.name.clone(), path, true).await
}

async fn release(config: &DirectoryConfig, plan: &NetworkPlan) -> Result<(), DelegateError> {
    release_claims(config, plan.name.clone()).await
}

fn failed(plan: &NetworkPlan, what: &str, reason: &str) -> DelegateError {
    DelegateError::Failed(format!(
        "{}: could not {what} {} at {} on this host: {reason}",
        plan.name,
        plan.source_text,
        plan.mount_point.display()
    ))
}

/// What to add to a failed mount's reason: NFS cannot work on a kernel without its client.
fn hint(plan: &NetworkPlan) -> &'static str {
    let kernel_has_nfs = std::fs::read_to_string("/proc/filesystems").is_ok_and(|text| {
        text.lines()
            .any(|line| line.ends_with("\tnfs") || line.ends_with("\tnfs4"))
    });
    if plan.source.protocol == Protocol::Nfs && !kernel_has_nfs {
        " (this host's kernel has no NFS client: there is no nfs in /proc/filesystems, so NFS directories cannot be mounted here; use an sshfs:// source or a kernel with NFS)"
    } else {
        ""
    }
}

/// Runs `command` to its end within `deadline` (killing it then); its standard error when it
/// fails.
async fn run(command: &CommandLine, deadline: Duration) -> Result<(), String> {
    tracing::debug!(%command, "running");
    let child = tokio::process::Command::new(&command.program)
        .args(&command.arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| match error.kind() {
            ErrorKind::NotFound => format!(
                "{} is not installed on this host (Debian: apt-get install {})",
                command.program,
                package_of(&command.program)
            ),
            _ => format!("{} could not start: {error}", command.program),
        })?;
    match tokio::time::timeout(deadline, child.wait_with_output()).await {
        Err(_) => Err(format!(
            "`{command}` did not finish within {} s",
            deadline.as_secs()
        )),
        Ok(Err(error)) => Err(format!("`{command}` failed: {error}")),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stderr = stderr.trim().replace('\n', "; ");
            Err(format!("`{}` {}: {stderr}", command.program, output.status))
        }
    }
}

fn package_of(program: &str) -> &'static str {
    match program {
        "sshfs" => "sshfs",
        "fusermount" => "fuse3",
        _ => "nfs-common",
    }
}
