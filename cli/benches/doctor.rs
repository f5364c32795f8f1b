//! How long `timmybot doctor` takes on a healthy AWS deployment (moto and the fake Discord,
//! on loopback): the whole process, start to exit, over 10 runs.
//!
//! Run: `cargo bench -p timmybot --bench doctor`

use std::time::{Duration, Instant};

use timmybot_tests::deployment::Deployment;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let took: Vec<Duration> = rt.block_on(async {
        let d = Deployment::healthy(env!("CARGO_BIN_EXE_timmybot")).await;
        let mut took = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let (ok, failed, _) = d.doctor();
            took.push(started.elapsed());
            assert!(ok, "the deployment is not healthy: {failed:?}");
        }
        took
    });
    let mut ms: Vec<f64> = took.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "timmybot doctor, healthy AWS deployment on loopback, 10 runs: min {:.0} ms, p50 {:.0} ms, max {:.0} ms",
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() - 1]
    );
}
