//! `service deploy` and `service delete` on a terminal print one line per instance as its state
//! changes, above their progress bar; in a pipe they print none of it. The terminal is a real
//! pseudo-terminal, made by `script` (util-linux).

#[path = "support/cluster.rs"]
mod support;

use std::process::Command;

use support::*;

/// Runs `khutulun ARGS` for `cluster` on a pseudo-terminal; everything it printed there.
fn on_a_terminal(cluster: &Cluster, args: &[&str]) -> String {
    let khutulun = cluster.command(args);
    let line = std::iter::once(khutulun.get_program().to_string_lossy().into_owned())
        .chain(args.iter().map(|arg| format!("'{arg}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script.args(["--quiet", "--return", "--command", &line, "/dev/null"]);
    for (key, value) in khutulun.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let output = script.output().expect("script(1) runs");
    assert!(
        output.status.success(),
        "`khutulun {}`: {output:?}",
        args.join(" ")
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_terminal_sees_each_instance_change_and_a_pipe_sees_none() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = cluster.dir().join("napper.yaml");
    std::fs::write(&template, NAPPER).unwrap();
    let template = template.to_str().unwrap();

    cluster.deployed = Some("shown".into());
    let shown = on_a_terminal(
        &cluster,
        &["service", "deploy", template, "--name", "shown"],
    );
    assert!(shown.contains("napper-0 running on "), "{shown}");
    let shown = on_a_terminal(&cluster, &["service", "delete", "shown"]);
    assert!(shown.contains("napper-0 deleted"), "{shown}");
    cluster.deployed = None;

    cluster.deployed = Some("piped".into());
    let piped = cluster.run(&["service", "deploy", template, "--name", "piped"]);
    assert!(piped.status.success(), "{piped:?}");
    let said = String::from_utf8_lossy(&piped.stderr);
    assert!(!said.contains("napper-0"), "{said}");
    let piped = cluster.run(&["service", "delete", "piped"]);
    let said = String::from_utf8_lossy(&piped.stderr);
    assert!(!said.contains("napper-0 deleted"), "{said}");
    cluster.deployed = None;
}
