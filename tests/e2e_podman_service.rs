//! `khutulun agent --start-podman`: with nothing answering at the socket the podman delegate
//! uses (a socket of the test's own, through CONTAINER_HOST), the agent starts Podman's API
//! there itself; a container deploys and serves; the service stops with the agent while the
//! container keeps serving; a new agent starts it again and deletes the container. (An agent
//! killed with SIGKILL leaves the service running; the next agent finds it answering and uses
//! it as it is.)

#[path = "support/podman.rs"]
mod podman;
#[path = "support/cluster.rs"]
mod support;

use std::os::unix::net::UnixStream;

use support::*;

#[test]
fn the_agent_starts_podmans_api_when_nothing_answers() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    let socket = cluster.dir().join("podman/podman.sock");
    cluster.env.push((
        "CONTAINER_HOST".into(),
        format!("unix://{}", socket.display()),
    ));
    cluster.agent_args.push("--start-podman".into());
    assert!(UnixStream::connect(&socket).is_err(), "something answers");
    cluster.start_agent();
    assert!(
        UnixStream::connect(&socket).is_ok(),
        "{}",
        cluster.agent_log()
    );
    let delegates = cluster.json(&["delegate", "list"]);
    let podman_row = delegates
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["name"] == "podman"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(podman_row["running"], true, "{delegates:#}");

    let service = format!("own-podman-{}", std::process::id());
    cluster.deployed = Some(service.clone());
    let greeting = format!("Hello from {service}!");
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example("hello-container.yaml"),
        "--name",
        &service,
        "--input",
        &format!("image={}", podman::TEST_IMAGE),
        "--input",
        &format!("greeting={greeting}"),
    ]);
    let url = outputs["url"].as_str().expect("a url output").to_owned();
    wait_for("the page to be served", || serves_the_page(&url, &greeting));

    // The service goes with the agent; the container stays.
    cluster.terminate_agent();
    wait_for("Podman's API to stop with the agent", || {
        UnixStream::connect(&socket).is_err()
    });
    assert!(serves_the_page(&url, &greeting), "the container went too");

    cluster.start_agent();
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert!(!serves_the_page(&url, &greeting), "{url} still serves");
    cluster.terminate_agent();
    wait_for("Podman's API to stop with the agent", || {
        UnixStream::connect(&socket).is_err()
    });
}
