//! How long the firewalld delegate takes to open and close one ingress port: the real
//! delegate actor, sent the same `Open` and `Close` messages the ipport delegate sends, against
//! a real Firewalld (each Open queries the port, writes the instance's record durably and adds
//! the port; each Close reads the record, queries and removes the port). Printed as Markdown
//! for benches/RESULTS.md.
//!
//! Usage: `KHUTULUN_FIREWALLD_BUS=unix:path=… cargo bench --bench firewalld -- [PORTS]`
//! (default 200 ports; the permanent row uses a quarter of them). benches/firewalld.sh starts
//! an isolated Firewalld (its own network namespace and bus) and runs this against it.

use std::time::{Duration, Instant};

use khutulun::delegates::firewalld::{
    FirewallPort, FirewalldConfig, FirewalldDelegate, FirewalldMsg,
};
use khutulun::delegates::profile::Protocol;
use ractor::{Actor, ActorRef};

/// The first port opened; the others follow it.
const FIRST_PORT: u16 = 25000;

/// A call that takes longer than this has failed.
const PATIENCE: Duration = Duration::from_secs(30);

async fn open_and_close(
    delegate: &ActorRef<FirewalldMsg>,
    dir: &std::path::Path,
    number: u16,
    permanent: bool,
) -> (Duration, Duration) {
    let port = FirewallPort {
        number,
        protocol: Protocol::Tcp,
    };
    let record = dir.join(format!("{number}.json"));
    let began = Instant::now();
    let opened = delegate
        .call(
            |reply| FirewalldMsg::Open {
                port,
                permanent,
                record: record.clone(),
                known: None,
                reply,
            },
            Some(PATIENCE),
        )
        .await
        .expect("the delegate answers")
        .expect("within its deadline");
    let opening = opened.unwrap_or_else(|e| panic!("open {port}: {e}"));
    assert!(opening.owned.runtime, "{port} was open before the bench");
    let open = began.elapsed();
    let began = Instant::now();
    delegate
        .call(
            |reply| FirewalldMsg::Close {
                record,
                known: None,
                reply,
            },
            Some(PATIENCE),
        )
        .await
        .expect("the delegate answers")
        .expect("within its deadline")
        .unwrap_or_else(|e| panic!("close {port}: {e}"));
    (open, began.elapsed())
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

async fn row(delegate: &ActorRef<FirewalldMsg>, ports: u16, permanent: bool) {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let mut opens = Vec::new();
    let mut both = Vec::new();
    for number in FIRST_PORT..FIRST_PORT + ports {
        let (open, close) = open_and_close(delegate, dir.path(), number, permanent).await;
        opens.push(open);
        both.push(open + close);
    }
    opens.sort();
    both.sort();
    println!(
        "| {} | {ports} | {} | {} | {} | {} |",
        if permanent {
            "runtime+permanent"
        } else {
            "runtime"
        },
        ms(percentile(&opens, 0.5)),
        ms(percentile(&both, 0.5)),
        ms(percentile(&both, 0.95)),
        ms(*both.last().expect("at least one port")),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Ok(bus) = std::env::var("KHUTULUN_FIREWALLD_BUS") else {
        eprintln!("set KHUTULUN_FIREWALLD_BUS (benches/firewalld.sh starts a Firewalld and does)");
        return;
    };
    let ports: u16 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(200);
    let config = FirewalldConfig {
        zone: None,
        bus: Some(bus),
    };
    let (delegate, _) = Actor::spawn(None, FirewalldDelegate, config)
        .await
        .expect("the delegate starts");
    // The connection is made once, by the first request.
    let version = delegate
        .call(|reply| FirewalldMsg::Available { reply }, Some(PATIENCE))
        .await
        .expect("the delegate answers")
        .expect("within its deadline")
        .expect("firewalld answers");
    println!("Firewalld {version}, one port at a time, medians and tails of open + close:\n");
    println!("| layers | ports | open (median) | open + close (median) | p95 | max |");
    println!("|---|---|---|---|---|---|");
    row(&delegate, ports, false).await;
    row(&delegate, (ports / 4).max(1), true).await;
    delegate.stop(None);
}
