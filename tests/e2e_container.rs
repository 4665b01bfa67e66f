//! End to end through the `khutulun` command: deploy examples/hello-container.yaml (a busybox
//! Podman container serving a page that a process keeps fresh) on a fresh agent and store,
//! fetch its URL, see the container in `podman ps` and its output in `service logs`, kill -9
//! the agent and see the page still served, restart the agent and see `status` right with the
//! same container, delete the service and see no container, page or directory left. Then the
//! same for examples/hello-docker.yaml, run by the docker delegate on Podman's
//! Docker-compatible API, and for examples/hello-pod.yaml, a pod whose second container
//! fetches the page from the first through the pod's shared network, on Podman and, with a
//! Delegation policy, on the Docker API (containers sharing the first one's network).
//!
//! It needs Podman's API; it says loudly that it skips without it, and fails instead when
//! scripts/test requires it (KHUTULUN_REQUIRE_PODMAN=1).

#[path = "support/podman.rs"]
mod podman;
#[path = "support/cluster.rs"]
mod support;

use std::path::Path;

use support::*;

fn container_state(name: &str) -> Option<String> {
    let output = podman::podman(&["inspect", "--format", "{{.State.Status}}", name]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The first line of `output` that starts with `prefix` (read in a thread, given up after
/// [`PATIENCE`]).
fn first_line_with(output: impl std::io::Read + Send + 'static, prefix: &str) -> Option<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let prefix = prefix.to_owned();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(output).lines() {
            let Ok(line) = line else { break };
            if line.starts_with(&prefix) {
                let _ = sender.send(line);
                break;
            }
        }
    });
    receiver.recv_timeout(PATIENCE).ok()
}

#[test]
fn hello_from_a_container() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let service = format!("hello-podman-{}", std::process::id());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    hello_from(cluster, "hello-container.yaml", &service);
}

/// The docker delegate, on Podman's Docker-compatible API: Podman's own API is out of the
/// agent's reach (its CONTAINER_HOST names no socket), so the container that serves the page
/// can only be the docker delegate's; a service whose policy names podman fails, and one
/// without a policy runs on docker, the first available.
#[test]
fn hello_from_a_docker_container() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.env = vec![
        (
            "CONTAINER_HOST".into(),
            "unix:///nonexistent/podman.sock".into(),
        ),
        ("DOCKER_HOST".into(), podman::socket_uri()),
    ];
    cluster.start_agent();
    let delegates = cluster.json(&["delegate", "list"]);
    let row = |name: &str| {
        let rows = delegates.as_array().expect("a list of delegates");
        rows.iter()
            .find(|row| row["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {delegates:#}"))
    };
    assert_eq!(row("docker")["running"], true, "{delegates:#}");
    assert_eq!(row("podman")["running"], false, "{delegates:#}");
    // Kata, a runtime the container delegates pass on, is listed beside them: not installed
    // on these machines, with what is missing.
    assert_eq!(row("kata")["running"], false, "{delegates:#}");
    let kata = row("kata")["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(kata.contains("Kata Containers is not installed"), "{kata}");

    // A Delegation policy that names podman: refused, as Podman is not there.
    let podmans = format!("hello-no-podman-{}", std::process::id());
    let by_podman = cluster.dir().join("hello-by-podman.yaml");
    let example_text = std::fs::read_to_string(example("hello-container.yaml")).unwrap();
    std::fs::write(
        &by_podman,
        format!(
            "{example_text}
  policies:
    - by-podman:
        type: Delegation
        properties: {{ delegate: podman }}
        targets: [ web ]
"
        ),
    )
    .unwrap();
    cluster.deployed = Some(podmans.clone());
    let refused = cluster.run(&[
        "service",
        "deploy",
        by_podman.to_str().unwrap(),
        "--name",
        &podmans,
        "--input",
        &format!("image={}", podman::TEST_IMAGE),
    ]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "deployed without Podman: {said}");
    assert!(said.contains("Podman's API does not answer"), "{said}");
    let _ = cluster.run(&["service", "delete", &podmans]);
    let web = khutulun::delegates::podman::container_name("default", &podmans, "web-0");
    assert_eq!(container_state(&web), None, "{web} was made");

    // No policy: the first available of podman and docker runs it, and says which.
    let first = format!("hello-first-available-{}", std::process::id());
    cluster.deployed = Some(first.clone());
    cluster.ok(&[
        "service",
        "deploy",
        &example("hello-container.yaml"),
        "--name",
        &first,
        "--input",
        &format!("image={}", podman::TEST_IMAGE),
    ]);
    let status = cluster.status(&first);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(
        attribute(&status, "web", "delegate"),
        "docker",
        "{status:#}"
    );
    let web = khutulun::delegates::podman::container_name("default", &first, "web-0");
    assert_eq!(container_state(&web).as_deref(), Some("running"));
    cluster.ok(&["service", "delete", &first]);
    cluster.deployed = None;
    assert_eq!(container_state(&web), None, "{web} is still there");

    let service = format!("hello-docker-{}", std::process::id());
    hello_from(cluster, "hello-docker.yaml", &service);
}

/// Deploys `example` (a page served from a container `web`) as `service` and follows it through
/// its life: served, shown in `podman ps`, logged, outliving a killed agent, adopted as it is by
/// a new one, and deleted without a trace.
fn hello_from(mut cluster: Cluster, example_file: &str, service: &str) {
    let service = service.to_owned();
    let name = khutulun::delegates::podman::container_name("default", &service, "web-0");

    let greeting = format!("Hello from {service}!");
    cluster.deployed = Some(service.clone());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example(example_file),
        "--name",
        &service,
        "--input",
        &format!("image={}", podman::TEST_IMAGE),
        "--input",
        &format!("greeting={greeting}"),
    ]);
    let url = outputs["url"].as_str().expect("a url output").to_string();
    assert_eq!(outputs["container"], name.as_str());
    wait_for("the page to be served", || serves_the_page(&url, &greeting));
    let running = podman::podman_ok(&["ps", "--format", "{{.Names}}"]);
    assert!(
        running.lines().any(|line| line == name),
        "podman ps: {running}"
    );

    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "web", "name"), name.as_str());
    let id = attribute(&status, "web", "container_id")
        .as_str()
        .expect("a container id")
        .to_string();
    let site = attribute(&status, "site", "path")
        .as_str()
        .expect("the site has a path")
        .to_string();
    let port = attribute(&status, "port", "port").to_string();
    let logs = cluster.ok(&["service", "logs", &service, "web-0"]);
    assert!(
        logs.contains(&format!("serving {site} on port {port}")),
        "service logs: {logs}"
    );

    let mut follow = cluster
        .command(&["service", "logs", &service, "web-0", "--follow"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("khutulun runs");
    let followed = first_line_with(follow.stdout.take().unwrap(), "serving ");
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(
        followed.as_deref(),
        Some(format!("serving {site} on port {port}").as_str()),
        "service logs --follow"
    );

    // A crashed agent leaves the container serving; a restarted one adopts it as it is.
    cluster.kill_agent();
    assert_eq!(container_state(&name).as_deref(), Some("running"));
    assert!(
        serves_the_page(&url, &greeting),
        "the page is gone with the agent"
    );
    cluster.start_agent();
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "web", "container_id"), id.as_str());

    // Delete: nothing is left.
    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert_eq!(container_state(&name), None, "{name} is still there");
    assert!(
        !serves_the_page(&url, &greeting),
        "{url} still serves the page"
    );
    assert!(!Path::new(&site).exists(), "{site} is still there");
}

fn pod_state(name: &str) -> Option<String> {
    let output = podman::podman(&["pod", "inspect", "--format", "{{.State}}", name]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn hello_from_a_pod() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let service = format!("hello-pod-{}", std::process::id());
    let pod = khutulun::delegates::podman::container_name("default", &service, "app-0");
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();

    let greeting = format!("Hello from {service}!");
    cluster.deployed = Some(service.clone());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example("hello-pod.yaml"),
        "--name",
        &service,
        "--input",
        &format!("image={}", podman::TEST_IMAGE),
        "--input",
        &format!("greeting={greeting}"),
    ]);
    let url = outputs["url"].as_str().expect("a url output").to_string();
    assert_eq!(outputs["pod"], pod.as_str());
    wait_for("the page to be served", || serves_the_page(&url, &greeting));
    assert_eq!(pod_state(&pod).as_deref(), Some("Running"));
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    let id = attribute(&status, "app", "pod_id")
        .as_str()
        .expect("a pod id")
        .to_string();
    // The probe container reaches the web container at 127.0.0.1 inside the pod.
    let fetched = format!("{pod}-probe | <h1>{greeting}</h1>");
    wait_for("the probe to fetch the page", || {
        cluster
            .ok(&["service", "logs", &service, "app-0"])
            .contains(&fetched)
    });

    cluster.kill_agent();
    assert_eq!(pod_state(&pod).as_deref(), Some("Running"));
    assert!(
        serves_the_page(&url, &greeting),
        "the page is gone with the agent"
    );
    cluster.start_agent();
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "app", "pod_id"), id.as_str());

    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert_eq!(pod_state(&pod), None, "{pod} is still there");
    let left = podman::podman_ok(&["ps", "--all", "--format", "{{.Names}}"]);
    assert!(!left.contains(&pod), "containers left: {left}");
    assert!(
        !serves_the_page(&url, &greeting),
        "{url} still serves the page"
    );
}

/// examples/hello-pod.yaml with a Delegation policy naming `docker` for its pod: the docker
/// delegate, on Podman's Docker-compatible API (Podman's own is out of the agent's reach),
/// makes no pod but two containers, the probe joined to the network of the first (`probe` and
/// `web` in name order), which publishes the port.
#[test]
fn hello_from_a_pod_on_docker() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let service = format!("hello-docker-pod-{}", std::process::id());
    let pod = khutulun::delegates::podman::container_name("default", &service, "app-0");
    let (holder, web) = (format!("{pod}-probe"), format!("{pod}-web"));
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.env = vec![
        (
            "CONTAINER_HOST".into(),
            "unix:///nonexistent/podman.sock".into(),
        ),
        ("DOCKER_HOST".into(), podman::socket_uri()),
    ];
    let template = cluster.dir().join("hello-docker-pod.yaml");
    let example_text = std::fs::read_to_string(example("hello-pod.yaml")).unwrap();
    std::fs::write(
        &template,
        format!(
            "{example_text}
  policies:
    - by-docker:
        type: Delegation
        properties: {{ delegate: docker }}
        targets: [ app ]
"
        ),
    )
    .unwrap();
    cluster.start_agent();

    let greeting = format!("Hello from {service}!");
    cluster.deployed = Some(service.clone());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        &service,
        "--input",
        &format!("image={}", podman::TEST_IMAGE),
        "--input",
        &format!("greeting={greeting}"),
    ]);
    let url = outputs["url"].as_str().expect("a url output").to_string();
    wait_for("the page to be served", || serves_the_page(&url, &greeting));
    assert_eq!(pod_state(&pod), None, "Docker has no pods");
    assert_eq!(container_state(&holder).as_deref(), Some("running"));
    assert_eq!(container_state(&web).as_deref(), Some("running"));
    let network = podman::podman_ok(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &web]);
    let holder_id = podman::podman_ok(&["inspect", "--format", "{{.Id}}", &holder]);
    assert!(
        network.trim() == format!("container:{}", holder_id.trim())
            || network.trim() == format!("container:{holder}"),
        "{web} has the network {network}"
    );
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "app", "pod_id"), holder_id.trim());
    // The probe reaches the web container at 127.0.0.1 through the shared network.
    let fetched = format!("{holder} | <h1>{greeting}</h1>");
    wait_for("the probe to fetch the page", || {
        cluster
            .ok(&["service", "logs", &service, "app-0"])
            .contains(&fetched)
    });

    cluster.kill_agent();
    assert!(
        serves_the_page(&url, &greeting),
        "the page is gone with the agent"
    );
    cluster.start_agent();
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "app", "pod_id"), holder_id.trim());

    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    assert_eq!(container_state(&holder), None, "{holder} is still there");
    assert_eq!(container_state(&web), None, "{web} is still there");
    assert!(
        !serves_the_page(&url, &greeting),
        "{url} still serves the page"
    );
}
