//! `khutulun sim`: deploys a service on a simulated cluster, with faults, and prints what
//! happened and whether the invariants held (see [`crate::sim`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::output::write_out;
use super::service::parse_duration;
use crate::sim::{Fault, SimOptions, simulate};

/// `khutulun sim TEMPLATE …`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// The service template to deploy on the simulated cluster.
    pub template: PathBuf,
    /// How many hosts (`host-1` … `host-N`).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub hosts: u16,
    /// The seed every random choice follows from: the same seed gives the same report.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// How much virtual time to simulate (`90s`, `10m`, `1h`).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = virtual_time)]
    pub duration: Duration,
    /// A fault: `kill HOST at TIME [for DURATION]`, `crash-agent HOST at TIME [for DURATION]`,
    /// `partition HOST,HOST… at TIME for DURATION`, `cut-store HOST at TIME for DURATION`,
    /// `fail-starts HOST at TIME for DURATION`, `slow-starts HOST:90s at TIME for DURATION`,
    /// `crash INSTANCE at TIME`, `skew HOST:+30s at
    /// TIME for DURATION`, `loss 10% at TIME for DURATION`, `duplicate 5% at TIME for
    /// DURATION`, `one-way HOST->HOST at TIME for DURATION` or `full-disk store at TIME for
    /// DURATION`. Repeatable.
    #[arg(long = "fault", value_name = "FAULT", value_parser = Fault::parse)]
    pub faults: Vec<Fault>,
    /// About RATE random faults of hosts, agents and workloads per 10 minutes of virtual time,
    /// and a quarter as many of the network, the disk and the engines, drawn from the seed
    /// (none in the last 3 minutes, so that recovery is checked).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub random_faults: f64,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t)]
    pub format: SimFormat,
}

/// The report's form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SimFormat {
    /// A timeline and the verdicts, for people.
    #[default]
    Text,
    /// One JSON document with `timeline` and `invariants`.
    Json,
}

fn virtual_time(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .and_then(|seconds| u64::try_from(seconds).ok())
        .filter(|&seconds| seconds > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a duration such as 90s, 10m or 1h"))
}

/// Runs the simulation on one thread in virtual time; exit 0 when every invariant held, 1 when
/// one broke, 2 when the run could not be made.
pub fn run(args: SimArgs) -> ExitCode {
    if !(0.0..=600.0).contains(&args.random_faults) {
        eprintln!("error: --random-faults must be between 0 and 600");
        return ExitCode::from(2);
    }
    let options = SimOptions {
        template: args.template,
        hosts: usize::from(args.hosts),
        seed: args.seed,
        duration: args.duration,
        faults: args.faults,
        random_faults: args.random_faults,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime starts");
    let report = match runtime.block_on(simulate(&options)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match args.format {
        SimFormat::Text => write_out(&report.text()),
        SimFormat::Json => write_out(&(report.json() + "\n")),
    }
    match report.held() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}
