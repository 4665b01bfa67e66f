//! Kata Containers, the OCI runtime that runs each container in its own lightweight VM. A
//! container or pod whose `runtime` is `kata` needs it on the host; where it is not installed
//! (Debian 12 has no package, so not on these machines) the deploy is refused before anything
//! is created, naming what is missing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The `runtime` a node names for Kata.
pub const KATA: &str = "kata";

/// The programs through which an engine runs Kata: Podman's OCI runtime, containerd's shim.
const PROGRAMS: [&str; 2] = ["kata-runtime", "containerd-shim-kata-v2"];

/// Where Kata's release archive installs them, besides the directories of `PATH`.
const RELEASE_DIR: &str = "/opt/kata/bin";

/// Whether Kata is installed on this host; `Err` says what is missing, in one sentence.
pub fn available() -> Result<(), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain([PathBuf::from(RELEASE_DIR)]);
    available_in(dirs)
}

/// Refuses `runtime` when it is Kata and Kata is not installed here.
pub fn check(runtime: Option<&str>) -> Result<(), String> {
    match runtime {
        Some(KATA) => {
            available().map_err(|missing| format!("its runtime is {KATA:?}, but {missing}"))
        }
        _ => Ok(()),
    }
}

fn available_in(dirs: impl Iterator<Item = PathBuf>) -> Result<(), String> {
    let mut dirs = dirs;
    if dirs.any(|dir| {
        PROGRAMS
            .iter()
            .any(|program| is_executable(&dir.join(program)))
    }) {
        return Ok(());
    }
    Err(format!(
        "Kata Containers is not installed: neither {} is on PATH or in {RELEASE_DIR} (Debian 12 \
         has no package; install a release from \
         https://github.com/kata-containers/kata-containers/releases)",
        PROGRAMS.join(" nor ")
    ))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kata_is_found_by_either_program_and_missing_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let (empty, runtime, shim) = (
            dir.path().join("empty"),
            dir.path().join("a"),
            dir.path().join("b"),
        );
        for d in [&empty, &runtime, &shim] {
            std::fs::create_dir(d).unwrap();
        }
        let install = |at: &Path, mode: u32| {
            std::fs::write(at, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(at, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        install(&runtime.join("kata-runtime"), 0o755);
        install(&shim.join("containerd-shim-kata-v2"), 0o755);
        install(&empty.join("kata-runtime"), 0o644);

        assert_eq!(available_in([empty.clone(), runtime].into_iter()), Ok(()));
        assert_eq!(available_in([shim].into_iter()), Ok(()));
        let missing = available_in([empty].into_iter()).unwrap_err();
        assert!(
            missing.contains("neither kata-runtime nor containerd-shim-kata-v2 is on PATH"),
            "{missing}"
        );
        assert_eq!(check(Some("runc")), Ok(()));
        assert_eq!(check(None), Ok(()));
    }
}
