//! Ingress ports through a real Firewalld: a real agent opens them when they start and closes
//! them when they are deleted, as `firewall-cmd --list-ports` and `nft list ruleset` show;
//! the administrator's own openings are never taken over nor removed; an agent killed and
//! restarted adopts its openings (re-opening what a Firewalld reload removed) and duplicates
//! nothing; permanent openings reach Firewalld's permanent configuration and leave it on
//! delete. Where no Firewalld answers, an ingress port is refused and nothing stays reserved.
//!
//! Firewalld runs isolated (tests/support/firewalld.rs): in a network namespace of its own,
//! on a bus of its own, with its permanent configuration in a scratch directory, so it never
//! filters the traffic of the tests running beside these and never writes /etc/firewalld.
//! The agent runs in that namespace too. These tests need root, iproute2, dbus, firewalld and
//! nftables; without them they say loudly that they skip, and fail instead when
//! KHUTULUN_REQUIRE_FIREWALLD=1 (scripts/test sets it).

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/delegates.rs"]
mod delegates;
#[path = "support/firewalld.rs"]
mod firewalld;
#[path = "support/netns.rs"]
mod netns;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use khutulun::delegates::protocol::{self, Attributes, DelegateKind, InstanceHealth};
use serde_json::Value as Json;

use firewalld::{PrivateFirewalld, firewalld_usable};
use netns::{Agent, Network, Testbed};

/// Three ingress ports: one only Khutulun opens, one the administrator opened before, one
/// permanent.
const THREE_PORTS: &str = r#"
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    web:
      type: TCPPort
      properties: { port: 24000, exposure: ingress }
    admins:
      type: TCPPort
      properties: { port: 24001, exposure: ingress }
    kept:
      type: TCPPort
      properties: { port: 24002, exposure: ingress, permanent: true }
"#;

/// A template of one ingress port, `port`.
fn one_port(port: u16) -> String {
    format!(
        r#"
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    web:
      type: TCPPort
      properties: {{ port: {port}, exposure: ingress }}
"#
    )
}

fn usable(test: &str) -> bool {
    firewalld_usable(test, netns::netns_unavailable())
}

/// A namespace per host, Firewalld in host 1's, and host 1's agent using it (not started).
fn testbed(hosts: usize) -> (Testbed, PrivateFirewalld) {
    let mut testbed = Testbed::new(hosts);
    let firewalld = PrivateFirewalld::start(&testbed.network.namespace(1), testbed.dir.path());
    testbed.agents[0].extra = vec!["--firewalld-bus".into(), firewalld.bus_address()];
    (testbed, firewalld)
}

fn succeeded(output: &Output, what: &str, agent: &Agent) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n--- agent log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        agent.log()
    );
}

fn status(agent: &Agent, service: &str) -> Json {
    let output = agent.khutulun(&["service", "status", service, "--format", "json"]);
    serde_json::from_slice(&output.stdout).expect("status is JSON")
}

fn running_status(agent: &Agent, service: &str) -> Json {
    let mut seen = Json::Null;
    cluster::wait_for(&format!("{service} running"), || {
        seen = status(agent, service);
        cluster::all_running(&seen)
    });
    seen
}

/// Whether `url` answers from host `host`'s namespace.
fn reachable_from(network: &Network, host: usize, url: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", &network.namespace(host)])
        .args(["curl", "-sf", "--max-time", "3", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[test]
fn an_ingress_port_is_opened_in_firewalld_reached_from_outside_and_closed_on_delete() {
    if !usable("an_ingress_port_is_opened_in_firewalld") {
        return;
    }
    let (mut testbed, firewalld) = testbed(2);
    let agent = &mut testbed.agents[0];
    agent.start();
    let example = cluster::example("hello-ingress.yaml");
    let deployed = agent.khutulun(&[
        "service",
        "deploy",
        &example,
        "--name",
        "hello",
        "--input",
        "port=24003",
    ]);
    succeeded(&deployed, "deploy", agent);
    let seen = running_status(agent, "hello");
    assert_eq!(
        cluster::attribute(&seen, "port", "firewalld_zone"),
        "public"
    );
    assert_eq!(
        cluster::attribute(&seen, "port", "firewalld_port"),
        "24003/tcp"
    );
    assert_eq!(
        cluster::attribute(&seen, "port", "firewalld_opened"),
        "runtime"
    );
    assert!(
        firewalld
            .ports("public", false)
            .contains(&"24003/tcp".into())
    );
    assert!(
        !firewalld
            .ports("public", true)
            .contains(&"24003/tcp".into())
    );
    assert_eq!(firewalld.accept_rules(24003), 1, "{}", firewalld.ruleset());

    // From the other host: served while open, refused by the firewall once closed by hand.
    let url = format!("http://{}:24003/", Network::address(1));
    let network = &testbed.network;
    cluster::wait_for("the page from host 2", || reachable_from(network, 2, &url));
    firewalld.firewall_cmd_ok(&["--remove-port", "24003/tcp"]);
    assert!(
        !reachable_from(network, 2, &url),
        "the firewall let it through"
    );

    // A crashed agent, restarted, adopts the port and opens it again, once.
    let agent = &mut testbed.agents[0];
    agent.kill();
    agent.start();
    cluster::wait_for("the port open again", || {
        firewalld
            .ports("public", false)
            .contains(&"24003/tcp".into())
    });
    running_status(agent, "hello");
    assert_eq!(firewalld.accept_rules(24003), 1, "{}", firewalld.ruleset());
    assert!(reachable_from(&testbed.network, 2, &url));

    let agent = &testbed.agents[0];
    succeeded(
        &agent.khutulun(&["service", "delete", "hello"]),
        "delete",
        agent,
    );
    assert!(
        !firewalld
            .ports("public", false)
            .contains(&"24003/tcp".into())
    );
    assert_eq!(firewalld.accept_rules(24003), 0, "{}", firewalld.ruleset());
}

#[test]
fn the_administrators_openings_stay_and_khutuluns_own_are_adopted_and_removed() {
    if !usable("the_administrators_openings_stay") {
        return;
    }
    let (mut testbed, firewalld) = testbed(1);
    // The administrator's own opening, in the running firewall and the configuration.
    firewalld.firewall_cmd_ok(&["--add-port", "24001/tcp"]);
    firewalld.firewall_cmd_ok(&["--permanent", "--add-port", "24001/tcp"]);
    let template = testbed.dir.path().join("three-ports.yaml");
    std::fs::write(&template, THREE_PORTS).unwrap();
    let agent = &mut testbed.agents[0];
    agent.start();
    let deployed = agent.khutulun(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        "ports",
    ]);
    succeeded(&deployed, "deploy", agent);
    let seen = running_status(agent, "ports");
    let opened = |node: &str| cluster::attribute(&seen, node, "firewalld_opened").clone();
    assert_eq!(opened("web"), "runtime");
    assert_eq!(opened("admins"), "none");
    assert_eq!(opened("kept"), "runtime+permanent");
    let note = cluster::attribute(&seen, "admins", "firewalld_note");
    assert!(
        note.as_str().is_some_and(|n| n.contains("administrator's")),
        "{note}"
    );
    let mut runtime = firewalld.ports("public", false);
    runtime.sort();
    assert_eq!(runtime, ["24000/tcp", "24001/tcp", "24002/tcp"]);
    let mut permanent = firewalld.ports("public", true);
    permanent.sort();
    assert_eq!(permanent, ["24001/tcp", "24002/tcp"]);

    // The agent dies; Firewalld reloads (the running firewall becomes the configuration:
    // 24000 goes); the restarted agent adopts every port and opens 24000 again, once.
    agent.kill();
    firewalld.firewall_cmd_ok(&["--reload"]);
    assert!(
        !firewalld
            .ports("public", false)
            .contains(&"24000/tcp".into())
    );
    agent.start();
    cluster::wait_for("24000 open again", || {
        firewalld
            .ports("public", false)
            .contains(&"24000/tcp".into())
    });
    let seen = running_status(agent, "ports");
    assert_eq!(
        cluster::attribute(&seen, "admins", "firewalld_opened"),
        "none"
    );
    for port in [24000, 24001, 24002] {
        assert_eq!(firewalld.accept_rules(port), 1, "{}", firewalld.ruleset());
    }

    succeeded(
        &agent.khutulun(&["service", "delete", "ports"]),
        "delete",
        agent,
    );
    assert_eq!(firewalld.ports("public", false), ["24001/tcp"]);
    assert_eq!(firewalld.ports("public", true), ["24001/tcp"]);
    assert_eq!(firewalld.accept_rules(24000), 0, "{}", firewalld.ruleset());
    assert_eq!(firewalld.accept_rules(24002), 0, "{}", firewalld.ruleset());
    assert_eq!(firewalld.accept_rules(24001), 1, "{}", firewalld.ruleset());
    let zone_file = firewalld.config_dir().join("zones/public.xml");
    let zone = std::fs::read_to_string(&zone_file).unwrap();
    assert!(!zone.contains("24002"), "{zone}");
    assert_no_reservation(&agent.state, "default/ports/");
}

#[test]
fn a_zone_given_to_the_agent_is_the_one_opened_while_firewalld_answers() {
    if !usable("a_zone_given_to_the_agent") {
        return;
    }
    let (mut testbed, mut firewalld) = testbed(1);
    let template = testbed.dir.path().join("one-port.yaml");
    std::fs::write(&template, one_port(24010)).unwrap();
    let agent = &mut testbed.agents[0];
    agent
        .extra
        .extend(["--firewalld-zone".into(), "work".into()]);
    agent.start();
    let template = template.to_str().unwrap();
    let deployed = agent.khutulun(&["service", "deploy", template, "--name", "z"]);
    succeeded(&deployed, "deploy", agent);
    let seen = running_status(agent, "z");
    assert_eq!(cluster::attribute(&seen, "web", "firewalld_zone"), "work");
    assert_eq!(firewalld.ports("work", false), ["24010/tcp"]);
    assert!(firewalld.ports("public", false).is_empty());
    succeeded(
        &agent.khutulun(&["service", "delete", "z"]),
        "delete",
        agent,
    );
    assert!(firewalld.ports("work", false).is_empty());

    // Firewalld stops while the agent runs (its bus stays): the next ingress port is refused,
    // saying so; started again, it is opened.
    firewalld.stop_firewalld();
    let refused = agent.khutulun(&["service", "deploy", template, "--name", "z2"]);
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "the deploy went through: {said}");
    assert!(
        said.contains("FirewallD1 is not on the system bus"),
        "{said}"
    );
    firewalld.start_firewalld();
    let deployed = agent.khutulun(&["service", "deploy", template, "--name", "z3"]);
    succeeded(&deployed, "deploy", agent);
    assert_eq!(firewalld.ports("work", false), ["24010/tcp"]);
    let deleted = agent.khutulun(&["service", "delete", "z3"]);
    succeeded(&deleted, "delete", agent);
    assert!(firewalld.ports("work", false).is_empty());
}

/// Asserts that no port of the store's tables is held by an owner starting with `owner`.
fn assert_no_reservation(state: &Path, owner: &str) {
    let Ok(tables) = std::fs::read_dir(state.join("ports")) else {
        return;
    };
    for table in tables {
        let text = std::fs::read_to_string(table.unwrap().path()).unwrap();
        assert!(!text.contains(owner), "a port is still reserved:\n{text}");
    }
}

#[test]
fn without_firewalld_an_ingress_port_is_refused_and_nothing_stays_reserved() {
    if !firewalld_usable("without_firewalld", None) {
        return;
    }
    let mut cluster = cluster::Cluster::new(cluster::Supervisor::Agent);
    let template = cluster.dir().join("one-port.yaml");
    // This agent runs in the machine's namespace: a port nothing else holds here.
    let port = delegates::free_port();
    std::fs::write(&template, one_port(port)).unwrap();
    let template = template.to_str().unwrap().to_owned();
    let nowhere = format!("unix:path={}", cluster.dir().join("no-bus").display());
    cluster.agent_args = vec!["--firewalld-bus".into(), nowhere];
    cluster.start_agent();
    let refused = cluster.run(&["service", "deploy", &template, "--name", "refused"]);
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "the deploy went through: {said}");
    assert!(
        said.contains("firewalld") && said.contains("does not answer"),
        "{said}"
    );
    assert_no_reservation(&cluster.state(), "default/refused/");

    // A bus without Firewalld on it says that instead.
    let bus_dir = cluster.dir().join("bus-only");
    let mut bus = firewalld::start_bus(None, &bus_dir);
    cluster.kill_agent();
    cluster.agent_args = vec![
        "--firewalld-bus".into(),
        format!("unix:path={}", bus_dir.join("bus").display()),
    ];
    cluster.start_agent();
    let refused = cluster.run(&["service", "deploy", &template, "--name", "refused-2"]);
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    let _ = bus.kill();
    let _ = bus.wait();
    assert!(!refused.status.success(), "the deploy went through: {said}");
    assert!(
        said.contains("org.fedoraproject.FirewallD1 is not on the system bus"),
        "{said}"
    );
    assert_no_reservation(&cluster.state(), "default/refused-2/");

    // Told to go on without Firewalld, the agent reserves the port and says it is not exposed.
    cluster.kill_agent();
    cluster
        .agent_args
        .push("--ingress-without-firewalld".into());
    cluster.start_agent();
    cluster.ok(&["service", "deploy", &template, "--name", "unexposed"]);
    cluster.deployed = Some("unexposed".into());
    let seen = cluster.status("unexposed");
    assert!(cluster::all_running(&seen), "{seen:#}");
    assert_eq!(cluster::attribute(&seen, "web", "firewalld_opened"), "none");
    let note = cluster::attribute(&seen, "web", "firewalld_note");
    assert!(
        note.as_str()
            .is_some_and(|n| n.starts_with("not exposed: ")),
        "{note}"
    );
    let table = cluster::instance(&seen, "web")["attributes"]["port"].clone();
    assert_eq!(table, port);
    cluster.ok(&["service", "delete", "unexposed"]);
    cluster.deployed = None;
    assert_no_reservation(&cluster.state(), "default/unexposed/");
}

/// The ipport delegate itself, as the runtime drives it, against the isolated Firewalld: what
/// an agent that died, or a host an instance moved away from, is left with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_alone_tells_khutuluns_opening_after_a_crash_or_a_move() {
    if !usable("the_record_alone_tells_khutuluns_opening") {
        return;
    }
    let network = Network::build(1);
    let dir = tempfile::tempdir().unwrap();
    let firewalld = PrivateFirewalld::start(&network.namespace(1), dir.path());
    let bus = firewalld.bus_address();
    let agent = delegates::Agent::start_configured(|config| config.firewalld.bus = Some(bus)).await;
    let delegate = agent.delegate(DelegateKind::IpPort);
    // The delegates run in the machine's namespace: a port nothing else holds here.
    let port = delegates::free_port();
    let spec = delegates::named_instance_spec(
        dir.path(),
        "moved",
        "edge-0",
        &["TCPPort", "Port", "Endpoint", "Root"],
        serde_json::json!({"port": port, "exposure": "ingress"}),
        Vec::new(),
    );
    let created = protocol::create(&delegate, spec.clone()).await.unwrap();
    let started = protocol::start(&delegate, spec.clone(), created.clone())
        .await
        .unwrap();
    assert_eq!(started["firewalld_opened"], "runtime", "{started:?}");

    // The agent died before it recorded what Start reported: the deploy is made again from
    // Create's attributes, and the opening it finds is still its own, not the admin's.
    let again = protocol::start(&delegate, spec.clone(), created)
        .await
        .unwrap();
    assert_eq!(again["firewalld_opened"], "runtime", "{again:?}");
    assert_eq!(firewalld.accept_rules(port), 1, "{}", firewalld.ruleset());

    // A reload drops it: status says so, and adopting opens it again.
    firewalld.firewall_cmd_ok(&["--reload"]);
    let seen = protocol::status(&delegate, spec.clone(), again.clone())
        .await
        .unwrap();
    let InstanceHealth::Failed { reason } = &seen.health else {
        panic!("a closed port looked {:?}", seen.health);
    };
    assert!(
        reason.contains(&format!("{port}/tcp is no longer open")),
        "{reason}"
    );
    let adopted = protocol::adopt(&delegate, spec.clone(), again)
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_eq!(firewalld.ports("public", false), [format!("{port}/tcp")]);

    // Its record lost (the directory wiped), the attributes still say whose the opening is.
    std::fs::remove_file(spec.state_dir.join("firewalld.json")).unwrap();
    let adopted = protocol::adopt(&delegate, spec.clone(), adopted.attributes)
        .await
        .unwrap();
    assert_eq!(
        adopted.attributes["firewalld_opened"], "runtime",
        "{adopted:?}"
    );

    // The instance moved to another host: this one deletes its leftover knowing no attributes;
    // the record in its directory is enough to close what Khutulun opened.
    protocol::delete(&delegate, spec.clone(), Attributes::new())
        .await
        .unwrap();
    assert!(firewalld.ports("public", false).is_empty());
    assert_eq!(firewalld.accept_rules(port), 0, "{}", firewalld.ruleset());
    assert!(!spec.state_dir.exists());
    agent.stop();
}
