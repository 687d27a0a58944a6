//! Timing helpers shared by the benches: warm up, take sorted samples, read medians and 95th percentiles.

// Each bench uses only some of these helpers.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Runs `work` a few times to warm up, then `rounds` times, and returns the durations sorted.
pub fn timings(rounds: usize, mut work: impl FnMut()) -> Vec<Duration> {
    for _ in 0..rounds.min(20) {
        work();
    }
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples
}

/// [`timings`] for asynchronous work.
pub async fn async_timings<F: Future<Output = ()>>(rounds: usize, mut work: impl FnMut() -> F) -> Vec<Duration> {
    for _ in 0..rounds.min(20) {
        work().await;
    }
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        work().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

pub fn median(samples: &[Duration]) -> Duration {
    samples[samples.len() / 2]
}

pub fn p95(samples: &[Duration]) -> Duration {
    samples[samples.len() * 95 / 100]
}

pub fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

pub fn p99(samples: &[Duration]) -> Duration {
    samples[samples.len() * 99 / 100]
}

/// The processor time this process has used so far, user and system, across all its threads.
pub fn process_cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is handed, which is plain data that may start zeroed.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Adds one figure to the `make bench` report, when `TETHER_BENCH_REPORT` names the file the report collects in:
/// one line of tab-separated figure, value, target and the command that measured it.
pub fn record_figure(figure: &str, value: &str, target: &str, command: &str) {
    use std::io::Write;
    let Some(path) = std::env::var_os("TETHER_BENCH_REPORT") else { return };
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("the report file opens");
    writeln!(file, "{figure}\t{value}\t{target}\t{command}").expect("the report file takes the line");
}
