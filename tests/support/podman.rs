//! What the Podman tests share: whether Podman's API answers (failing when
//! KHUTULUN_REQUIRE_PODMAN=1, skipping loudly otherwise), the `podman` command aimed at the
//! socket the delegate uses, and a busybox test image made locally, with no registry.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use khutulun::delegates::podman::PodmanSocket;

/// The test image: busybox-static's binary, imported as a root filesystem.
pub const TEST_IMAGE: &str = "localhost/khutulun-busybox:test";

/// The socket the delegate finds in this environment, as `unix://…`.
pub fn socket_uri() -> String {
    PodmanSocket::from_environment()
        .map(|socket| socket.uri())
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Runs `podman --url <socket> args…` and returns its output.
pub fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .arg("--url")
        .arg(socket_uri())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("podman {args:?} does not run: {e}"))
}

/// Runs `podman args…`, which must succeed; its standard output, trimmed.
pub fn podman_ok(args: &[&str]) -> String {
    let output = podman(args);
    assert!(
        output.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Why Podman cannot be used here, or `None` when its API answers.
fn unavailable() -> Option<String> {
    let output = Command::new("podman")
        .arg("--url")
        .arg(PodmanSocket::from_environment().ok()?.uri())
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output();
    match output {
        Err(error) => Some(format!("the podman command does not run ({error})")),
        Ok(output) if !output.status.success() => Some(format!(
            "Podman's API does not answer at {} ({}); scripts/test starts it",
            socket_uri(),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// Whether Podman can be used; if not, says so loudly (and fails when
/// KHUTULUN_REQUIRE_PODMAN=1, as scripts/test sets it).
pub fn podman_available() -> bool {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    match WHY.get_or_init(unavailable) {
        None => true,
        Some(why) if std::env::var("KHUTULUN_REQUIRE_PODMAN").as_deref() == Ok("1") => {
            panic!("KHUTULUN_REQUIRE_PODMAN=1 but {why}")
        }
        Some(why) => {
            eprintln!("\n!!! SKIPPED: {why}\n");
            false
        }
    }
}

/// Makes [`TEST_IMAGE`] present: busybox-static's binary with its applets linked, as a root
/// filesystem tarball imported into Podman. Idempotent; no registry involved.
pub fn ensure_test_image() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if podman(&["image", "exists", TEST_IMAGE]).status.success() {
            return;
        }
        let busybox = Path::new("/bin/busybox");
        assert!(
            busybox.exists(),
            "/bin/busybox is missing: install busybox-static (scripts/test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("root/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(busybox, bin.join("busybox")).unwrap();
        for applet in [
            "sh", "echo", "sleep", "cat", "httpd", "wget", "touch", "ls", "kill", "ps",
        ] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
        let tarball = dir.path().join("busybox.tar");
        let tar = Command::new("tar")
            .arg("-C")
            .arg(dir.path().join("root"))
            .arg("-cf")
            .arg(&tarball)
            .arg(".")
            .status()
            .unwrap();
        assert!(tar.success(), "tar failed");
        podman_ok(&["import", tarball.to_str().unwrap(), TEST_IMAGE]);
    });
}

/// Writes an image archive (`podman save`) of the test image under the name `name`, and
/// leaves no image of that name in Podman, so loading the archive is what brings it.
pub fn save_archive(name: &str, archive: &Path) {
    ensure_test_image();
    podman_ok(&["tag", TEST_IMAGE, name]);
    podman_ok(&["save", "-o", archive.to_str().unwrap(), name]);
    podman_ok(&["untag", name, name]);
    assert!(
        !podman(&["image", "exists", name]).status.success(),
        "{name} is still there"
    );
}

/// Removes the containers of these names, whatever state they are in (for failed tests).
pub fn remove_containers(names: &[String]) {
    for name in names {
        let _ = podman(&["rm", "--force", "--time", "0", name]);
    }
}
