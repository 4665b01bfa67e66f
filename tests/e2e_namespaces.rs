//! Namespaces through the `khutulun` command: the same service name deployed in two namespaces
//! makes two separate workloads (own port, own processes, own units), `service list` shows one
//! namespace unless asked for all, a bad namespace is refused before anything is sent, and
//! deleting one service leaves the other running as it was.

#[path = "support/cluster.rs"]
mod support;

use std::path::Path;

use serde_json::Value as Json;
use support::*;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/hello-world.yaml")
        .to_string_lossy()
        .into_owned()
}

/// Deploys hello-world as `name` in `namespace` with a greeting of its own; returns its URL.
fn deploy(cluster: &Cluster, namespace: &str, name: &str, greeting: &str) -> String {
    let input = format!("greeting={greeting}");
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example(),
        "--name",
        name,
        "--namespace",
        namespace,
        "--input",
        &input,
    ]);
    outputs["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no url output in {outputs:#}"))
        .to_owned()
}

fn status_in(cluster: &Cluster, namespace: &str, name: &str) -> Json {
    cluster.json(&["service", "status", name, "--namespace", namespace])
}

/// `(namespace, name)` of each service `service list` prints with `extra` arguments.
fn listed(cluster: &Cluster, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["service", "list"];
    args.extend_from_slice(extra);
    let list = cluster.json(&args);
    let mut found: Vec<(String, String)> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            (
                s["namespace"].as_str().unwrap_or_default().to_owned(),
                s["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn one_service_name_in_two_namespaces_is_two_services() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let systemd = user_manager_answers();
    let supervisor = if systemd {
        Supervisor::Systemd
    } else {
        Supervisor::Agent
    };
    let mut cluster = Cluster::new(supervisor);
    cluster.start_agent();
    let name = format!("dup-{}", std::process::id());
    let (first, second) = ("Hello from the default namespace!", "Hello from ns2!");

    cluster.deployed = Some(name.clone());
    let default_url = deploy(&cluster, "default", &name, first);
    cluster
        .deployed_elsewhere
        .push(("ns2".to_owned(), name.clone()));
    let ns2_url = deploy(&cluster, "ns2", &name, second);
    assert_ne!(default_url, ns2_url, "both services got the same port");
    wait_for("the default service's page", || {
        serves_the_page(&default_url, first)
    });
    wait_for("ns2's page", || serves_the_page(&ns2_url, second));

    let default_status = status_in(&cluster, "default", &name);
    let ns2_status = status_in(&cluster, "ns2", &name);
    let default_pids = [
        pid_of(&default_status, "web"),
        pid_of(&default_status, "writer"),
    ];
    let ns2_pids = [pid_of(&ns2_status, "web"), pid_of(&ns2_status, "writer")];
    assert!(default_pids.iter().all(|pid| !ns2_pids.contains(pid)));
    let sites = [&default_status, &ns2_status].map(|status| {
        attribute(status, "site", "path")
            .as_str()
            .expect("a site path")
            .to_owned()
    });
    assert_ne!(sites[0], sites[1], "both services share one directory");
    if systemd {
        let unit = |status: &Json| {
            attribute(status, "web", "unit")
                .as_str()
                .expect("a unit")
                .to_owned()
        };
        let units = [unit(&default_status), unit(&ns2_status)];
        cluster.units.extend(units.iter().cloned());
        assert_ne!(units[0], units[1]);
        assert!(units[0].contains("default"), "{}", units[0]);
        assert!(units[1].contains("ns2"), "{}", units[1]);
        assert!(units.iter().all(|unit| unit_is_loaded(unit)));
    }

    assert_eq!(
        listed(&cluster, &[]),
        vec![("default".to_owned(), name.clone())]
    );
    assert_eq!(
        listed(&cluster, &["--namespace", "ns2"]),
        vec![("ns2".to_owned(), name.clone())]
    );
    assert_eq!(
        listed(&cluster, &["--all-namespaces"]),
        vec![
            ("default".to_owned(), name.clone()),
            ("ns2".to_owned(), name.clone())
        ]
    );
    let refused = cluster.run(&["service", "list", "--namespace", "../x"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("namespace"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Deleting ns2's service takes its processes and page and leaves the other untouched.
    cluster.ok(&["service", "delete", &name, "--namespace", "ns2"]);
    cluster.deployed_elsewhere.clear();
    wait_for("ns2's processes to end", || {
        ns2_pids.iter().all(|pid| !process_exists(*pid))
    });
    assert!(!serves_the_page(&ns2_url, second));
    assert!(!Path::new(&sites[1]).exists(), "ns2's directory is left");
    assert!(default_pids.iter().all(|pid| process_exists(*pid)));
    assert!(serves_the_page(&default_url, first));
    assert!(Path::new(&sites[0]).is_dir());
    let after = status_in(&cluster, "default", &name);
    assert!(all_running(&after), "{after:#}");
    assert_eq!(pid_of(&after, "web"), default_pids[0]);

    cluster.ok(&["service", "delete", &name]);
    cluster.deployed = None;
    wait_for("the default service's processes to end", || {
        default_pids.iter().all(|pid| !process_exists(*pid))
    });
}
