//! Three real `khutulun agent` processes, each in its own network namespace with its own
//! address (10.77.0.1–3 on a bridge of their own), sharing one store directory: membership
//! finds every host through the store's records; an agent killed with SIGKILL is declared down;
//! it comes back as a new identity; a host whose link is cut sees the others down and is seen
//! down by them; restoring the link brings everybody back alive; an agent stopped with SIGTERM
//! exits cleanly and is seen down.
//!
//! Needs root and iproute2. When either is missing the test says loudly that it skips, and
//! fails instead when KHUTULUN_REQUIRE_NETNS=1 (scripts/test sets it). Namespaces, links and
//! the bridge carry a name unique to the run and are removed even when the test fails. Waiting
//! is by polling with a generous deadline; nothing here asserts how long SWIM takes.

#[path = "support/netns.rs"]
mod netns;

use std::time::{Duration, Instant};

use netns::*;

#[test]
fn agents_in_three_namespaces_see_each_other_lose_each_other_and_recover() {
    if !netns_usable("membership_netns") {
        return;
    }
    let mut testbed = Testbed::new(3);
    let Testbed {
        agents, network, ..
    } = &mut testbed;
    for agent in agents.iter_mut() {
        agent.start();
    }
    let [one, two, three] = &mut agents[..] else {
        unreachable!()
    };

    // Everybody finds everybody through the store's host records.
    wait_all_alive(&[one, two, three]);
    let (_, first_life) = one.sees("host3").unwrap();

    // host3's agent is killed: the others declare it down.
    three.kill();
    wait_until(&[one, two], "host3", "down");
    wait_until(&[one], "host2", "alive");

    // It comes back under the same name: alive again, as a newer identity.
    three.start();
    wait_all_alive(&[one, two, three]);
    let (_, second_life) = one.sees("host3").unwrap();
    assert!(
        second_life > first_life,
        "host3 came back as generation {second_life:?}, not newer than {first_life:?}"
    );

    // host2's link is cut: both sides see the other down; host1 and host3 still see each other.
    let generation = |observer: &Agent, host: &str| observer.sees(host).unwrap().1;
    let before = [1, 2, 3].map(|h| generation(three, &format!("host{h}")));
    network.set_link(2, false);
    wait_until(&[one, three], "host2", "down");
    wait_until(&[two], "host1", "down");
    wait_until(&[two], "host3", "down");
    wait_until(&[one], "host3", "alive");
    wait_until(&[three], "host1", "alive");

    // The link comes back: everybody is alive again. Only the host that was cut off comes
    // back as a newer identity: the hosts that stayed connected were never told they are down.
    network.set_link(2, true);
    wait_all_alive(&[one, two, three]);
    let after = [1, 2, 3].map(|h| generation(one, &format!("host{h}")));
    assert_eq!(after[0], before[0], "host1 churned: {before:?} → {after:?}");
    assert_eq!(after[2], before[2], "host3 churned: {before:?} → {after:?}");
    assert!(
        after[1] > before[1],
        "host2 kept its identity: {before:?} → {after:?}"
    );
    let log = two.log();
    assert!(
        log.contains("this host is cut off"),
        "host2 never knew it was alone:\n{log}"
    );

    // host1's agent is stopped the way systemd stops it: it leaves, and the others see it down.
    one.terminate();
    wait_until(&[two, three], "host1", "down");
}

#[test]
fn agents_with_no_record_in_common_find_each_other_by_multicast() {
    if !netns_usable("membership_netns") {
        return;
    }
    let mut testbed = Testbed::new(3);
    let Testbed { agents, dir, .. } = &mut testbed;
    for (h, agent) in (1..).zip(agents.iter_mut()) {
        agent.state = dir.path().join(format!("state-{h}"));
        agent.extra = vec!["--discover".into()];
    }
    // host1 and host2 share the cluster's secret, not their stores; host3 has its own secret.
    agents[0].start();
    std::fs::create_dir_all(&agents[1].state).unwrap();
    std::fs::copy(
        agents[0].state.join("cluster-secret.yaml"),
        agents[1].state.join("cluster-secret.yaml"),
    )
    .unwrap();
    agents[1].start();
    agents[2].start();
    let [one, two, three] = &agents[..] else {
        unreachable!()
    };
    wait_until(&[one], "host2", "alive");
    wait_until(&[two], "host1", "alive");

    // host3's beacons are heard and refused: it never becomes a member.
    let began = Instant::now();
    while !one
        .log()
        .contains("not authenticated by the cluster's secret")
    {
        assert!(
            began.elapsed() < PATIENCE,
            "host1 never heard host3's beacon:\n{}",
            one.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for (agent, stranger) in [(one, "host3"), (two, "host3"), (three, "host1")] {
        assert_eq!(agent.sees(stranger), None, "{} sees {stranger}", agent.name);
    }
}
