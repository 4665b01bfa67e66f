//! `service exec NAME INSTANCE -- COMMAND…` through the `khutulun` command on a real agent: a
//! process's command runs with the instance's environment (its requirements' variables
//! included) and directory, a container's inside the container; the command's output and exit
//! code are the CLI's; an instance that runs nothing (a port) is refused with the reason.

#[path = "support/podman.rs"]
mod podman;
#[path = "support/cluster.rs"]
mod support;

use support::*;

const GREETER: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    port:
      type: TCPPort
    greeter:
      type: Process
      properties:
        command: sleep
        arguments: [ '600' ]
        environment:
          GREETING: hello
      requirements:
        - connection: { node: port, relationship: { type: ConnectsTo, properties: { variable: WEB } } }
";

const BOX: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  inputs:
    image:
      type: string
  node_templates:
    box:
      type: Container
      properties:
        image:
          reference: { $get_input: image }
        command: /bin/sh
        arguments: [ -c, \"trap 'exit 0' TERM; sleep 600 & wait\" ]
";

fn exec(
    cluster: &Cluster,
    service: &str,
    instance: &str,
    command: &[&str],
) -> std::process::Output {
    let mut args = vec!["service", "exec", service, instance, "--"];
    args.extend(command);
    cluster.run(&args)
}

#[test]
fn a_process_s_command_gets_its_environment_and_directory_and_its_exit_code_is_the_cli_s() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = cluster.dir().join("greeter.yaml");
    std::fs::write(&template, GREETER).unwrap();
    cluster.deployed = Some("greet".into());
    cluster.ok(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        "greet",
    ]);
    let status = cluster.status("greet");
    let port = attribute(&status, "port", "port").to_string();

    let output = exec(
        &cluster,
        "greet",
        "greeter-0",
        &["sh", "-c", "echo \"$GREETING $WEB_PORT\"; pwd"],
    );
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = printed.lines();
    assert_eq!(
        lines.next(),
        Some(format!("hello {port}").as_str()),
        "{printed}"
    );
    let directory = lines.next().expect("the working directory");
    let pid = pid_of(&status, "greeter");
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(
        std::path::Path::new(directory),
        cwd,
        "the process's own directory"
    );

    let output = exec(&cluster, "greet", "greeter-0", &["sh", "-c", "exit 7"]);
    assert_eq!(output.status.code(), Some(7));

    let output = exec(&cluster, "greet", "port-0", &["true"]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("runs nothing a command can join"), "{error}");

    let output = exec(&cluster, "greet", "nobody-0", &["true"]);
    assert!(!output.status.success());

    cluster.ok(&["service", "delete", "greet"]);
    cluster.deployed = None;
}

#[test]
fn a_container_s_command_runs_inside_it() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = cluster.dir().join("box.yaml");
    std::fs::write(&template, BOX).unwrap();
    let image = format!("image={}", podman::TEST_IMAGE);
    cluster.deployed = Some("box".into());
    cluster.ok(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        "box",
        "--input",
        &image,
    ]);

    // Podman marks the inside of its containers with /run/.containerenv.
    let output = exec(
        &cluster,
        "box",
        "box-0",
        &["sh", "-c", "test -e /run/.containerenv && echo inside"],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "inside\n");

    cluster.ok(&["service", "delete", "box"]);
    cluster.deployed = None;
}
