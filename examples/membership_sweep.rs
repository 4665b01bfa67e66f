//! A sweep of [`random_faults`] over many seeds: prints each seed's outcome, the disagreement
//! of each that fails, and a summary.
//!
//! `cargo run --release -p khutulun-sim --example sweep -- [FIRST_SEED] [COUNT]`

use khutulun::sim::random_faults;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let mut arguments = std::env::args().skip(1);
    let first: u64 = arguments.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let count: u64 = arguments.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let mut failed = Vec::new();
    for seed in first..first + count {
        match random_faults(seed).await {
            Ok(took) => println!("seed {seed}: agreed {took:?} after the faults"),
            Err(why) => {
                println!("seed {seed}: FAILED: {why}");
                failed.push(seed);
            }
        }
    }
    println!("{} of {count} seeds failed: {failed:?}", failed.len());
}
