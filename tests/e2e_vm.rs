//! End to end through the `khutulun` command: deploy examples/hello-vm.yaml (a libvirt domain
//! booting a Debian cloud kernel and a busybox initramfs that serves a page on the reserved
//! port) on a fresh agent and store, fetch the page through the forwarded port, see the domain
//! in `virsh` and the guest's serial console in `service logs`, kill -9 the agent and see the
//! page still served, restart the agent and see `status` right, delete and see no domain, page
//! or directory left. A kernel that is not there is a clear error that leaves no domain. A
//! machine with a disk image boots with its own copy of it (a qcow2 overlay), which goes with
//! it while the image stays, and reads the cloud-init seed it was given. A machine on a bridge
//! of the host (made by the test, as root) serves its page at its own address there.
//!
//! It needs libvirt at qemu:///system and an unpacked cloud kernel in $KHUTULUN_TEST_KERNEL
//! (scripts/test provides both); it says loudly that it skips without them, and fails instead
//! when KHUTULUN_REQUIRE_LIBVIRT=1. Guests are emulated (TCG): KVM hangs on these machines.

#[path = "support/cluster.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn virsh(args: &[&str]) -> std::process::Output {
    Command::new("virsh")
        .args(["-c", "qemu:///system"])
        .args(args)
        .output()
        .expect("virsh runs")
}

/// The unpacked kernel package to boot, when libvirt answers too; `None` (said loudly) when
/// either is missing and the test may skip.
fn test_kernel() -> Option<PathBuf> {
    let kernel = std::env::var_os("KHUTULUN_TEST_KERNEL").filter(|k| !k.is_empty());
    let answers = Command::new("virsh")
        .args(["-c", "qemu:///system", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = match (&kernel, answers) {
        (Some(_), true) => return kernel.map(PathBuf::from),
        (None, _) => "KHUTULUN_TEST_KERNEL names no unpacked kernel package",
        (_, false) => "libvirt does not answer at qemu:///system",
    };
    assert!(
        std::env::var_os("KHUTULUN_REQUIRE_LIBVIRT").is_none(),
        "KHUTULUN_REQUIRE_LIBVIRT is set, but {missing}"
    );
    eprintln!("SKIPPED: {missing} (scripts/test provides both)");
    None
}

/// Makes the example's guest (kernel and initramfs) in `dir` with its own script.
fn make_guest(kernel_package: &Path, dir: &Path) -> (String, String) {
    let status = Command::new(example("vm/make-guest.sh"))
        .arg(kernel_package)
        .arg(dir)
        .status()
        .expect("make-guest.sh runs");
    assert!(status.success(), "make-guest.sh failed");
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    (path("vmlinuz"), path("initrd.gz"))
}

/// A service template of one VirtualMachine `vm` of 256 MiB with `properties` (YAML lines
/// indented for them), written in `dir`; its path.
fn vm_template(dir: &Path, properties: &str) -> String {
    let path = dir.join("vm.yaml");
    let template = format!(
        "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    vm:
      type: VirtualMachine
      properties:
        memory: 256 MiB
{properties}"
    );
    std::fs::write(&path, template).unwrap();
    path.to_string_lossy().into_owned()
}

fn domain_state(domain: &str) -> Option<String> {
    let output = virsh(&["domstate", domain]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn hello_from_a_virtual_machine() {
    let Some(kernel_package) = test_kernel() else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.env = vec![("KHUTULUN_VM_ACCELERATOR".into(), "tcg".into())];
    let (kernel, initrd) = make_guest(&kernel_package, &cluster.dir().join("guest"));
    cluster.start_agent();
    let service = format!("hello-vm-{}", std::process::id());

    // A kernel that is not there: refused, and no domain is left.
    let bad = format!("{service}-bad");
    cluster.deployed = Some(bad.clone());
    let missing = cluster.dir().join("no-such-vmlinuz");
    let refused = cluster.run(&[
        "service",
        "deploy",
        &example("hello-vm.yaml"),
        "--name",
        &bad,
        "--input",
        &format!("kernel={}", missing.display()),
        "--input",
        &format!("initrd={initrd}"),
    ]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "deployed without a kernel: {said}"
    );
    assert!(
        said.contains(&format!("{} is not a file on this host", missing.display())),
        "{said}"
    );
    let _ = cluster.run(&["service", "delete", &bad]);
    let bad_domain = khutulun::delegates::naming::workload_name("default", &bad, "vm-0");
    assert_eq!(domain_state(&bad_domain), None, "{bad_domain} was left");

    cluster.deployed = Some(service.clone());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example("hello-vm.yaml"),
        "--name",
        &service,
        "--input",
        &format!("kernel={kernel}"),
        "--input",
        &format!("initrd={initrd}"),
    ]);
    let url = outputs["url"].as_str().expect("a url output").to_owned();
    let domain = outputs["domain"]
        .as_str()
        .expect("a domain output")
        .to_owned();
    assert_eq!(
        domain,
        khutulun::delegates::naming::workload_name("default", &service, "vm-0")
    );
    let page = "Hello from a Khutulun virtual machine!";
    wait_for("the guest to serve its page", || {
        serves_the_page(&url, page)
    });
    assert_eq!(domain_state(&domain).as_deref(), Some("running"));
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    let port = attribute(&status, "port", "port").to_string();
    let log = attribute(&status, "vm", "log")
        .as_str()
        .expect("a serial log")
        .to_owned();
    let logs = cluster.ok(&["service", "logs", &service, "vm-0"]);
    assert!(
        logs.contains(&format!("khutulun guest: serving on port {port}")),
        "service logs: {logs}"
    );

    // A crashed agent leaves the guest serving; a restarted one adopts it as it is.
    cluster.kill_agent();
    assert_eq!(domain_state(&domain).as_deref(), Some("running"));
    assert!(
        serves_the_page(&url, page),
        "the page is gone with the agent"
    );
    cluster.start_agent();
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");

    // Delete: no domain, page or directory is left.
    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert_eq!(domain_state(&domain), None, "{domain} is still defined");
    assert!(!serves_the_page(&url, page), "{url} still serves the page");
    let directory = Path::new(&log).parent().expect("the instance's directory");
    assert!(
        !directory.exists(),
        "{} is still there",
        directory.display()
    );
}

/// A machine with a disk image and a cloud-init seed: the guest reads the disk, which is the
/// instance's own qcow2 overlay on the image, and the seed's user-data; delete removes the
/// overlay and the seed and leaves the image.
#[test]
fn a_virtual_machine_boots_with_its_own_copy_of_a_disk_image() {
    let Some(kernel_package) = test_kernel() else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.env = vec![("KHUTULUN_VM_ACCELERATOR".into(), "tcg".into())];
    let (kernel, initrd) = make_guest(&kernel_package, &cluster.dir().join("guest"));
    let image = cluster.dir().join("disk.img");
    let marker = "KHUTULUN-DISK-MARKER";
    let seed_marker = "KHUTULUN-SEED-MARKER";
    let mut content = marker.as_bytes().to_vec();
    content.resize(1 << 20, 0);
    std::fs::write(&image, &content).unwrap();
    let template = vm_template(
        cluster.dir(),
        &format!(
            "        kernel: {{ path: {kernel} }}
        initrd: {{ path: {initrd} }}
        image: {{ path: {} }}
        kernel_arguments: console=ttyS0 quiet
        cloud_init:
          user_data: |
            #cloud-config
            # {seed_marker}
",
            image.display()
        ),
    );
    cluster.start_agent();
    let service = format!("disk-vm-{}", std::process::id());
    cluster.deployed = Some(service.clone());
    cluster.ok(&["service", "deploy", &template, "--name", &service]);
    wait_for("the guest to read its disk", || {
        cluster
            .ok(&["service", "logs", &service, "vm-0"])
            .contains(&format!("khutulun guest: disk says {marker}"))
    });
    // Its cloud-init seed, a second disk labelled cidata, holds the user-data given.
    let logs = cluster.ok(&["service", "logs", &service, "vm-0"]);
    assert!(
        logs.contains(&format!("khutulun guest: user-data: # {seed_marker}")),
        "{logs}"
    );
    let status = cluster.status(&service);
    let log = attribute(&status, "vm", "log")
        .as_str()
        .expect("a serial log")
        .to_owned();
    let directory = Path::new(&log)
        .parent()
        .expect("the instance's directory")
        .to_owned();
    let copy = directory.join("disk.qcow2");
    // -U: the running guest holds the disk's write lock.
    let info = Command::new("qemu-img")
        .args(["info", "-U", "--output=json"])
        .arg(&copy)
        .output()
        .expect("qemu-img runs");
    assert!(
        info.status.success(),
        "qemu-img info {}: {}",
        copy.display(),
        String::from_utf8_lossy(&info.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("qemu-img's JSON");
    assert_eq!(info["format"], "qcow2", "{info:#}");
    assert_eq!(
        info["backing-filename"].as_str(),
        Some(image.to_str().unwrap()),
        "{info:#}"
    );

    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert!(
        !directory.exists(),
        "{} is still there",
        directory.display()
    );
    assert_eq!(std::fs::read(&image).unwrap(), content, "the image changed");
}

/// A bridge of the host with an address, removed when dropped.
struct Bridge(String);

impl Bridge {
    fn make(name: &str, address: &str) -> Bridge {
        let ip = |args: &[&str]| {
            let status = Command::new("ip").args(args).status().expect("ip runs");
            assert!(status.success(), "ip {args:?} failed (root is needed)");
        };
        let _ = Command::new("ip").args(["link", "del", name]).status();
        ip(&["link", "add", name, "type", "bridge"]);
        let bridge = Bridge(name.to_owned());
        ip(&["addr", "add", address, "dev", name]);
        ip(&["link", "set", name, "up"]);
        bridge
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

/// A machine on a bridge of the host: it has an address of its own there (given on its
/// kernel's command line), where the host reaches its page and which its `address` attribute
/// shows; delete leaves no domain.
#[test]
fn a_virtual_machine_on_a_bridge_is_reached_at_its_own_address() {
    let Some(kernel_package) = test_kernel() else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bridge = Bridge::make(
        &format!("khbr{}", std::process::id() % 100_000),
        "10.231.7.1/24",
    );
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.env = vec![("KHUTULUN_VM_ACCELERATOR".into(), "tcg".into())];
    let (kernel, initrd) = make_guest(&kernel_package, &cluster.dir().join("guest"));
    let template = vm_template(
        cluster.dir(),
        &format!(
            "        kernel: {{ path: {kernel} }}
        initrd: {{ path: {initrd} }}
        kernel_arguments: console=ttyS0 quiet GUEST_ADDRESS=10.231.7.2/24 GUEST_GATEWAY=10.231.7.1
        bridge: {}
",
            bridge.0
        ),
    );
    cluster.start_agent();
    let service = format!("bridged-vm-{}", std::process::id());
    cluster.deployed = Some(service.clone());
    cluster.ok(&["service", "deploy", &template, "--name", &service]);
    let url = "http://10.231.7.2:80/";
    wait_for("the guest's page on the bridge", || {
        http_get(url).is_some_and(|page| page.contains("Hello from a Khutulun virtual machine!"))
    });
    let domain = khutulun::delegates::naming::workload_name("default", &service, "vm-0");
    let interfaces = String::from_utf8_lossy(&virsh(&["domiflist", &domain]).stdout).into_owned();
    assert!(interfaces.contains(&bridge.0), "{interfaces}");
    // The host has spoken to it on the bridge, so its address is known, and shown.
    wait_for("the guest's address among its attributes", || {
        attribute(&cluster.status(&service), "vm", "address") == "10.231.7.2"
    });

    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert_eq!(domain_state(&domain), None, "{domain} was left");
    assert!(http_get(url).is_none(), "{url} still answers");
}
