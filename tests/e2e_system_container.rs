//! End to end through the `khutulun` command: deploy examples/hello-system-container.yaml (a
//! busybox system container serving a page that a process keeps fresh) on a fresh agent and
//! store, fetch its URL, see the container as a user unit, kill -9 the agent and see the page
//! still served, restart the agent and see `status` right, delete the service and see no unit,
//! process or directory left.
//!
//! It needs systemd-nspawn, a static busybox and a systemd user manager; it says loudly that it
//! skips without them, and fails instead when scripts/test requires them
//! (KHUTULUN_REQUIRE_NSPAWN=1, KHUTULUN_REQUIRE_SYSTEMD=1).

#[path = "support/busybox.rs"]
mod busybox;
#[path = "support/cluster.rs"]
mod support;

use std::path::Path;

use khutulun::delegates::process::find_program;
use support::*;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/hello-system-container.yaml")
        .to_string_lossy()
        .into_owned()
}

/// Whether everything the scenario needs is here (says loudly what is not).
fn runnable() -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let mut missing: Vec<&str> = ["systemd-nspawn", "busybox"]
        .into_iter()
        .filter(|program| find_program(program, &path, Path::new("/")).is_none())
        .collect();
    let required = std::env::var_os("KHUTULUN_REQUIRE_NSPAWN").is_some();
    if !user_manager_answers() {
        missing.push("a systemd user manager");
    }
    if missing.is_empty() {
        return true;
    }
    assert!(
        !required,
        "KHUTULUN_REQUIRE_NSPAWN is set, but {} missing",
        missing.join(", ")
    );
    eprintln!(
        "SKIPPED: {} missing (scripts/test installs and starts them)",
        missing.join(", ")
    );
    false
}

#[test]
fn hello_from_a_system_container() {
    if !runnable() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let service = format!("hello-nspawn-{}", std::process::id());
    let mut cluster = Cluster::new(Supervisor::Systemd);
    let root = busybox::busybox_root(cluster.dir());
    cluster.start_agent();

    let greeting = format!("Hello from {service}!");
    cluster.deployed = Some(service.clone());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example(),
        "--name",
        &service,
        "--input",
        &format!("root={}", root.display()),
        "--input",
        &format!("greeting={greeting}"),
    ]);
    let url = outputs["url"].as_str().expect("a url output").to_string();
    let unit = outputs["unit"].as_str().expect("a unit output").to_string();
    cluster.units.push(unit.clone());
    assert_eq!(
        unit,
        khutulun::delegates::systemd::unit_name("default", &service, "web-0")
    );
    wait_for("the page to be served", || serves_the_page(&url, &greeting));
    assert!(unit_is_loaded(&unit), "the container runs as {unit}");

    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(
        attribute(&status, "web", "machine"),
        khutulun::delegates::nspawn::machine_name("default", &service, "web-0").as_str()
    );
    let container = pid_of(&status, "web");
    // `service exec` runs a command inside it: its host name is the machine's.
    let output = cluster.run(&["service", "exec", &service, "web-0", "--", "hostname"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        khutulun::delegates::nspawn::machine_name("default", &service, "web-0")
    );
    let site = attribute(&status, "site", "path")
        .as_str()
        .expect("the site has a path")
        .to_string();

    // A crashed agent leaves the container serving; a restarted one adopts it as it is.
    cluster.kill_agent();
    assert!(process_exists(container));
    assert!(
        serves_the_page(&url, &greeting),
        "the page is gone with the agent"
    );
    cluster.start_agent();
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(pid_of(&status, "web"), container);

    // Delete: nothing is left.
    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    wait_for("the container to end", || !process_exists(container));
    assert!(
        !serves_the_page(&url, &greeting),
        "{url} still serves the page"
    );
    assert!(!unit_is_loaded(&unit), "{unit} is still loaded");
    assert!(!Path::new(&site).exists(), "{site} is still there");
    assert!(
        root.join("bin/busybox").is_file(),
        "the image is not the service's"
    );
}
