//! A root filesystem for system container tests, made on the spot from the host's static
//! busybox (Debian's busybox-static): no image registry, no download.

use std::path::{Path, PathBuf};

use khutulun::delegates::process::find_program;

/// A root filesystem systemd-nspawn accepts, under `at`: a static busybox as every program the
/// container runs (sh, httpd, sleep, touch, echo, hostname), `/usr` and `/etc/os-release`.
pub fn busybox_root(at: &Path) -> PathBuf {
    let root = at.join("root");
    for directory in ["bin", "usr", "etc", "tmp"] {
        std::fs::create_dir_all(root.join(directory)).unwrap();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let busybox = find_program("busybox", &path, Path::new("/")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for applet in ["sh", "httpd", "sleep", "touch", "echo", "hostname"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(root.join("etc/os-release"), "ID=busybox\n").unwrap();
    root
}
