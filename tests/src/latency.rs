//! Latency samples as the benches print them: a Markdown table of min, p50, p90 and max.

use std::time::Duration;

/// One row per measure: min, p50, p90 and max in milliseconds.
pub fn print_table(rows: Vec<(&str, Vec<Duration>)>) {
    println!("| measure | min ms | p50 ms | p90 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (name, mut samples) in rows {
        if samples.is_empty() {
            continue;
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            ms(samples[0]),
            ms(at(0.5)),
            ms(at(0.9)),
            ms(samples[samples.len() - 1]),
        );
    }
}
