//! How fast the simulator runs: virtual time against wall time, for whole agents
//! (`khutulun sim`'s harness) and for the membership layer alone, at growing cluster sizes.
//! Printed as Markdown for benches/RESULTS.md.
//!
//! - agents: `examples/sim-web.yaml` on N hosts for 10 virtual minutes with about 10 random
//!   faults per 10 minutes (seed 1); wall time, compression (virtual ÷ wall), verdicts;
//! - membership: N `Membership` actors for 60 virtual seconds with one crash at 20 s; wall
//!   time, compression, datagrams per member per probe period (1 s), and the virtual time
//!   from the crash until every survivor sees it down.
//!
//! Usage: `cargo bench --bench simulation -- [AGENT_HOSTS…] [-- MEMBERSHIP_HOSTS…]`
//! (default agents 10 20 50 100, membership 100 300 1000).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use khutulun::sim::{MembershipSim, NetworkFaults, SimOptions, simulate};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

fn agents(hosts: usize) {
    let options = SimOptions {
        template: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sim-web.yaml"),
        hosts,
        seed: 1,
        duration: Duration::from_secs(600),
        faults: Vec::new(),
        random_faults: 10.0,
    };
    let started = Instant::now();
    let report = runtime()
        .block_on(simulate(&options))
        .expect("the run is made");
    let wall = started.elapsed();
    let faults = report.timeline.iter().filter(|e| e.kind == "fault").count();
    println!(
        "| {hosts} | {:.1} s | {:.1}× | {faults} | {} |",
        wall.as_secs_f64(),
        600.0 / wall.as_secs_f64(),
        if report.held() { "all held" } else { "BROKEN" }
    );
}

fn membership(hosts: usize) {
    let started = Instant::now();
    let (sent, detected) = runtime().block_on(async {
        let mut sim = MembershipSim::start(1, hosts, NetworkFaults::lan()).await;
        sim.run_for(Duration::from_secs(20)).await;
        let before = sim.network().stats().sent;
        sim.crash(hosts / 2).await;
        let all = sim.all();
        let detected = sim.until_agreement(&all, Duration::from_secs(40)).await;
        let left =
            Duration::from_secs(40).saturating_sub(*detected.as_ref().unwrap_or(&Duration::ZERO));
        sim.run_for(left).await;
        (sim.network().stats().sent - before, detected)
    });
    let wall = started.elapsed();
    let per_member = sent as f64 / (hosts as f64 * 40.0);
    let detected = match detected {
        Ok(took) => format!("{:.1} s", took.as_secs_f64()),
        Err(_) => "not within 40 s".into(),
    };
    println!(
        "| {hosts} | {:.1} s | {:.2}× | {per_member:.1} | {detected} |",
        wall.as_secs_f64(),
        60.0 / wall.as_secs_f64()
    );
}

fn main() {
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let split = arguments.iter().position(|a| a == "--");
    let sizes =
        |words: &[String]| -> Vec<usize> { words.iter().filter_map(|w| w.parse().ok()).collect() };
    let (agent_sizes, membership_sizes) = match split {
        Some(at) => (sizes(&arguments[..at]), sizes(&arguments[at + 1..])),
        None if arguments.is_empty() => (vec![10, 20, 50, 100], vec![100, 300, 1000]),
        None => (sizes(&arguments), Vec::new()),
    };
    if !agent_sizes.is_empty() {
        println!(
            "| hosts | wall time for 10 virtual minutes | compression | faults | invariants |"
        );
        println!("|---|---|---|---|---|");
        for hosts in agent_sizes {
            agents(hosts);
        }
    }
    if !membership_sizes.is_empty() {
        println!();
        println!(
            "| hosts | wall time for 60 virtual seconds | compression | datagrams per member per second | crash → down everywhere |"
        );
        println!("|---|---|---|---|---|");
        for hosts in membership_sizes {
            membership(hosts);
        }
    }
}
