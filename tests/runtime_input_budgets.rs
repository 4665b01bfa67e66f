//! Input budgets at the agent: a few hundred bytes of YAML alias bomb and a `count` of ten
//! million are refused by `service deploy` with the limit named, nothing is recorded, and the
//! agent stays up and answers (`validate` and `compile` refuse them the same way:
//! tests/tosca_cli.rs).

#[path = "support/cluster.rs"]
mod support;

use support::*;

/// Nine levels of nine aliases each: about 400 bytes that would expand to 387 million nodes.
fn alias_bomb() -> String {
    let mut bomb = String::from(
        "tosca_definitions_version: tosca_2_0\nb0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..=9 {
        let aliases = vec![format!("*b{}", level - 1); 9].join(", ");
        bomb.push_str(&format!("b{level}: &b{level} [{aliases}]\n"));
    }
    bomb.push_str("service_template:\n  node_templates: {}\n");
    bomb
}

/// The napper (tests/support/cluster.rs) ten million times.
fn ten_million() -> String {
    NAPPER.replace("type: Process\n", "type: Process\n      count: 10000000\n")
}

#[test]
fn an_alias_bomb_and_a_huge_count_are_refused_by_deploy_and_the_agent_stays_up() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    for (name, text, limit) in [
        ("bomb", alias_bomb(), "2000000 YAML nodes"),
        ("many", ten_million(), "10000"),
    ] {
        let file = cluster.dir().join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        let file = file.to_str().unwrap();
        let out = cluster.run(&["service", "deploy", file, "--name", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(limit), "{name} names the limit: {stderr}");
        assert!(
            stderr.contains(&format!("{file}:")),
            "{name} says where: {stderr}"
        );
        let listed = cluster.ok(&["service", "list", "--format", "json"]);
        assert_eq!(
            listed.trim(),
            "[]",
            "nothing is recorded, and the agent answers"
        );
    }
}
