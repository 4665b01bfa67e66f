//! End to end through the `khutulun` command, with an agent run by a regular user (distrobox
//! refuses root): deploy examples/hello-distrobox.yaml (busybox's httpd inside a Debian box,
//! chosen by a Delegation policy), fetch its page, see the box and the user unit running its
//! command, run a command inside with `service exec`, kill -9 the agent and see the page still
//! served, restart it and see `status` right, delete and see no box, unit or directory left.
//! Then a box made from an image archive artifact (imported for it, removed with it), and a
//! box whose image does not exist (a clear failure, nothing left).
//!
//! scripts/test makes the user, its user manager and rootless Podman ready, and the Debian
//! image (`start_box_user` in scripts/lib/common.sh), and sets KHUTULUN_REQUIRE_DISTROBOX=1
//! so that these tests fail instead of skipping.

#[path = "support/cluster.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use support::*;

/// The regular user the agent runs as, from the variables `start_box_user` exports.
struct BoxUser {
    uid: u32,
    gid: u32,
    environment: Vec<(String, String)>,
    /// The Debian root filesystem archive the test image was made from.
    archive: PathBuf,
}

impl BoxUser {
    /// The user, or `None` (said loudly; a failure under KHUTULUN_REQUIRE_DISTROBOX=1).
    fn from_environment() -> Option<BoxUser> {
        let found = Self::find();
        if let Err(why) = &found {
            assert!(
                std::env::var_os("KHUTULUN_REQUIRE_DISTROBOX").is_none(),
                "KHUTULUN_REQUIRE_DISTROBOX is set, but {why}"
            );
            eprintln!("\n!!! SKIPPED: {why} (scripts/test makes it ready)\n");
        }
        found.ok()
    }

    fn find() -> Result<BoxUser, String> {
        let variable = |name: &str| {
            std::env::var(name).map_err(|_| format!("{name} is not set: no distrobox user"))
        };
        let name = variable("KHUTULUN_BOX_USER")?;
        let runtime = variable("KHUTULUN_BOX_RUNTIME_DIR")?;
        let archive = PathBuf::from(variable("KHUTULUN_BOX_IMAGE_ARCHIVE")?);
        let user = nix::unistd::User::from_name(&name)
            .ok()
            .flatten()
            .ok_or_else(|| format!("there is no user {name}"))?;
        let environment = [
            ("HOME", user.dir.display().to_string()),
            ("USER", name.clone()),
            ("LOGNAME", name.clone()),
            ("XDG_RUNTIME_DIR", runtime.clone()),
            (
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={runtime}/bus"),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec();
        Ok(BoxUser {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            environment,
            archive,
        })
    }

    /// `program args…` run as the user, in its session.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        use std::os::unix::process::CommandExt;
        Command::new(program)
            .args(args)
            .envs(self.environment.iter().map(|(k, v)| (k, v)))
            .uid(self.uid)
            .gid(self.gid)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program} does not run: {e}"))
    }

    /// A cluster whose agent and commands run as the user.
    fn cluster(&self) -> Cluster {
        let mut cluster = Cluster::new(Supervisor::Systemd);
        nix::unistd::chown(
            cluster.dir(),
            Some(nix::unistd::Uid::from_raw(self.uid)),
            Some(nix::unistd::Gid::from_raw(self.gid)),
        )
        .expect("the cluster's directory is handed to the user");
        cluster.env = self.environment.clone();
        cluster.run_as = Some((self.uid, self.gid));
        cluster
    }

    fn box_exists(&self, name: &str) -> bool {
        self.run("podman", &["container", "exists", name])
            .status
            .success()
    }

    fn image_exists(&self, image: &str) -> bool {
        self.run("podman", &["image", "exists", image])
            .status
            .success()
    }

    fn unit_is_loaded(&self, unit: &str) -> bool {
        let output = self.run(
            "systemctl",
            &[
                "--user",
                "list-units",
                "--all",
                "--no-legend",
                "--no-pager",
                unit,
            ],
        );
        !String::from_utf8_lossy(&output.stdout).trim().is_empty()
    }
}

#[test]
fn hello_from_a_distrobox() {
    let Some(user) = BoxUser::from_environment() else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let service = format!("hello-box-{}", std::process::id());
    let mut cluster = user.cluster();
    cluster.start_agent();
    let greeting = format!("Hello from {service}!");
    cluster.deployed = Some(service.clone());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example("hello-distrobox.yaml"),
        "--name",
        &service,
        "--input",
        &format!("greeting={greeting}"),
    ]);
    let url = outputs["url"].as_str().expect("a url output").to_owned();
    let name = outputs["box"].as_str().expect("a box output").to_owned();
    let unit = outputs["unit"].as_str().expect("a unit output").to_owned();
    assert_eq!(
        name,
        khutulun::delegates::nspawn::machine_name("default", &service, "web-0")
    );
    wait_for("the page to be served", || serves_the_page(&url, &greeting));
    assert!(user.box_exists(&name), "no box {name}");
    assert!(user.unit_is_loaded(&unit), "its command runs as {unit}");
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "web", "machine"), name.as_str());
    let command = pid_of(&status, "web");

    // `service exec` runs inside the box, whose host name is its own.
    let output = cluster.run(&["service", "exec", &service, "web-0", "--", "hostname"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), name);

    // A crashed agent leaves the box serving; a restarted one adopts it as it is.
    cluster.kill_agent();
    assert!(process_exists(command));
    assert!(
        serves_the_page(&url, &greeting),
        "the page went with the agent"
    );
    cluster.start_agent();
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(pid_of(&status, "web"), command);
    let site = attribute(&status, "site", "path")
        .as_str()
        .expect("the site has a path")
        .to_owned();

    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert!(!serves_the_page(&url, &greeting), "{url} still serves");
    assert!(!user.box_exists(&name), "the box {name} is left");
    assert!(!user.unit_is_loaded(&unit), "{unit} is still loaded");
    assert!(!std::path::Path::new(&site).exists(), "{site} is left");
    assert!(
        user.image_exists("localhost/khutulun-debian:12"),
        "the image named by reference is not the service's to remove"
    );
}

/// A box from the node's own image archive, and one whose image does not exist.
#[test]
fn a_box_from_an_archive_and_a_box_without_an_image() {
    let Some(user) = BoxUser::from_environment() else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let service = format!("archive-box-{}", std::process::id());
    let mut cluster = user.cluster();
    cluster.start_agent();
    let template = cluster.dir().join("box.yaml");
    std::fs::write(&template, box_template("artifact: debian", &user.archive)).unwrap();
    nix::unistd::chown(&template, Some(nix::unistd::Uid::from_raw(user.uid)), None).unwrap();
    cluster.deployed = Some(service.clone());
    cluster.ok(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        &service,
    ]);
    let name = khutulun::delegates::nspawn::machine_name("default", &service, "box-0");
    let image = format!("localhost/{name}:khutulun");
    assert!(
        user.image_exists(&image),
        "the archive was not imported as {image}"
    );
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    // The quoted command and the variable with a space reached it whole. The box may still
    // be starting when the deploy is through (`distrobox enter` starts it, then runs the
    // command): its output is waited for.
    let said = || cluster.ok(&["service", "logs", &service, "box-0"]);
    wait_for("the box's command to write its greeting", || {
        said().contains("inside Debian GNU/Linux, hello there")
    });
    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert!(!user.box_exists(&name), "the box {name} is left");
    assert!(
        !user.image_exists(&image),
        "the imported image {image} is left"
    );

    // An image that is nowhere: the deploy fails naming the instance, and leaves no box.
    let missing = format!("missing-box-{}", std::process::id());
    std::fs::write(
        &template,
        box_template("reference: localhost/khutulun-none:0", &user.archive),
    )
    .unwrap();
    let output = cluster.run(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        &missing,
    ]);
    assert!(!output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("box-0"), "{said}");
    let name = khutulun::delegates::nspawn::machine_name("default", &missing, "box-0");
    assert!(!user.box_exists(&name), "a half-made box {name} is left");
    // Its record stays, failed, until it is deleted.
    let list = cluster.ok(&["service", "list"]);
    assert!(list.contains(&missing) && list.contains("failed"), "{list}");
    cluster.ok(&["service", "delete", &missing]);
    let list = cluster.ok(&["service", "list"]);
    assert!(!list.contains(&missing), "{list}");
}

/// A service of one box from `image` (a SystemImageReference's keyname and value) that says
/// where it runs, with `archive` as its artifact `debian`.
fn box_template(image: &str, archive: &std::path::Path) -> String {
    format!(
        r#"tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    box:
      type: SystemContainer
      properties:
        image: {{ {image} }}
        command: [ sh, -c, 'echo "inside $(. /etc/os-release; echo $NAME), $GREETING"; exec sleep 600' ]
        environment: {{ GREETING: "hello there" }}
        restart: "no"
      artifacts:
        debian:
          type: SystemImage
          file: file://{}
  policies:
    - by-distrobox:
        type: Delegation
        properties:
          delegate: distrobox
        targets: [ box ]
"#,
        archive.display()
    )
}

/// An agent run by root cannot run a box: the deploy fails saying so, and leaves nothing.
#[test]
fn a_root_agent_refuses_a_box_and_says_why() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("\n!!! SKIPPED: this test is about an agent run by root\n");
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Systemd);
    cluster.start_agent();
    let template = cluster.dir().join("box.yaml");
    let archive = std::path::Path::new("/nonexistent/debian.tar");
    std::fs::write(
        &template,
        box_template("reference: localhost/debian:12", archive),
    )
    .unwrap();
    let service = format!("root-box-{}", std::process::id());
    cluster.deployed = Some(service.clone());
    let output = cluster.run(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        &service,
    ]);
    assert!(!output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("box-0"), "{said}");
    assert!(
        said.contains("refuses to run as root") || said.contains("distrobox is not installed"),
        "{said}"
    );
    let status = cluster.status(&service);
    assert_eq!(instance(&status, "box")["state"], "failed", "{status:#}");
}
