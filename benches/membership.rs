//! How fast membership converges and detects a dead host: Membership actors on real UDP
//! sockets on 127.0.0.1, finding each other through one store's host records, with the LAN
//! configuration the agent uses (src/actors/membership/tuning.rs). Printed as Markdown for
//! benches/RESULTS.md.
//!
//! Each round, for a cluster of N hosts:
//! - convergence: all N actors start at once; the time until every one sees the N−1 others
//!   alive;
//! - detection: after the cluster has run for a few seconds, one actor is killed (no goodbye,
//!   at a different moment of the probe period each round); the time until the first survivor
//!   suspects it (SWIM's "first detection") and until every survivor has declared it down.
//!
//! Usage: `cargo bench --bench membership -- [ROUNDS]` (default 10 rounds per cluster size).
//! The figures are set by SWIM's timers, not by CPU, so a debug build measures the same
//! (`cargo bench --profile dev --bench membership`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use khutulun::actors::membership::{
    MemberState, MemberView, Membership, MembershipArgs, MembershipMsg, Transport, UdpTransport,
    lan_config,
};
use khutulun::state::Store;
use khutulun::state::records::HostRecord;
use ractor::{Actor, ActorRef};

/// Polling step: the resolution of every figure.
const STEP: Duration = Duration::from_millis(20);

/// How long a converged cluster runs before one host is killed.
const SETTLE: Duration = Duration::from_secs(3);

/// A round that takes longer than this has failed.
const PATIENCE: Duration = Duration::from_secs(60);

async fn members(actor: &ActorRef<MembershipMsg>) -> Vec<MemberView> {
    match actor
        .call(MembershipMsg::Members, Some(Duration::from_secs(5)))
        .await
    {
        Ok(ractor::rpc::CallResult::Success(views)) => views,
        other => panic!("a membership actor did not answer: {other:?}"),
    }
}

async fn state_of(observer: &ActorRef<MembershipMsg>, name: &str) -> Option<MemberState> {
    MemberView::latest(&members(observer).await, name).map(|view| view.state)
}

/// Polls until `done` holds; the time it took.
async fn time_until<F, Fut>(began: Instant, mut done: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if done().await {
            return began.elapsed();
        }
        assert!(began.elapsed() < PATIENCE, "a round did not finish");
        tokio::time::sleep(STEP).await;
    }
}

struct Round {
    converge: Duration,
    first_suspect: Duration,
    all_down: Duration,
}

async fn round(hosts: usize, seed: u64) -> Round {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let names: Vec<String> = (0..hosts).map(|i| format!("host{i}")).collect();
    let mut transports = Vec::new();
    for name in &names {
        let transport = UdpTransport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut record = HostRecord::new(name, &store.now());
        record.address = Some(transport.local_address().to_string());
        store.put_host(&record).unwrap();
        transports.push(Arc::new(transport));
    }

    let began = Instant::now();
    let mut actors = Vec::new();
    for (i, (name, transport)) in names.iter().zip(&transports).enumerate() {
        let args = MembershipArgs {
            name: name.clone(),
            transport: transport.clone(),
            store: store.clone(),
            seeds: Vec::new(),
            random_seed: Some(seed * 1000 + i as u64),
            generation: None,
            discovery: None,
        };
        actors.push(Actor::spawn(None, Membership, args).await.unwrap().0);
    }
    let converge = time_until(began, || async {
        for actor in &actors {
            let views = members(actor).await;
            let alive = names.iter().all(|name| {
                MemberView::latest(&views, name).is_some_and(|v| v.state == MemberState::Alive)
            });
            if !alive {
                return false;
            }
        }
        true
    })
    .await;

    // Steady state first, and the kill at a different phase of the probe period each round.
    tokio::time::sleep(SETTLE + Duration::from_millis(seed * 137 % 1000)).await;
    let victim = actors.pop().unwrap();
    let victim_name = names.last().unwrap().clone();
    let began = Instant::now();
    victim.kill();
    let first_suspect = time_until(began, || async {
        for actor in &actors {
            if matches!(
                state_of(actor, &victim_name).await,
                Some(MemberState::Suspect | MemberState::Down)
            ) {
                return true;
            }
        }
        false
    })
    .await;
    let all_down = time_until(began, || async {
        for actor in &actors {
            if state_of(actor, &victim_name).await != Some(MemberState::Down) {
                return false;
            }
        }
        true
    })
    .await;
    for actor in actors {
        actor.stop(None);
    }
    Round {
        converge,
        first_suspect,
        all_down,
    }
}

fn summary(mut values: Vec<Duration>) -> String {
    values.sort();
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize].as_secs_f64();
    format!(
        "{:.2} s / {:.2} s / {:.2} s",
        at(0.5),
        at(0.9),
        values.last().unwrap().as_secs_f64()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(10);
    let config = lan_config(3);
    println!(
        "SWIM configuration: probe period {:?}, probe rtt {:?}, suspect→down {:?} \
         (for up to 10 hosts); {rounds} rounds per size; median / p90 / max.\n",
        config.probe_period, config.probe_rtt, config.suspect_to_down_after
    );
    println!(
        "| hosts | converge (all see all alive) | kill → first suspect | kill → down everywhere |"
    );
    println!(
        "|-------|------------------------------|----------------------|------------------------|"
    );
    for hosts in [3, 10] {
        let mut results = Vec::new();
        for seed in 0..rounds {
            results.push(round(hosts, seed as u64).await);
        }
        println!(
            "| {hosts} | {} | {} | {} |",
            summary(results.iter().map(|r| r.converge).collect()),
            summary(results.iter().map(|r| r.first_suspect).collect()),
            summary(results.iter().map(|r| r.all_down).collect()),
        );
    }
}
