//! Timing that holds on a shared, noisy machine (used by the CPU benchmarks).
//!
//! A figure is the median of many short runs (about 0.2 ms each: most fall between two
//! preemptions, so a busy neighbour shows in a few runs rather than in all of them), and the
//! functions compared are timed round-robin, run by run, so that whatever load there is falls
//! on all of them alike. A benchmark repeats this several times and reports, per figure, the
//! minimum and the median over the repetitions.

#![allow(dead_code)] // each benchmark uses part of it

use std::time::Instant;

/// Short runs per function in one repetition.
pub const RUNS: usize = 150;
/// The length of one run.
const RUN_NS: f64 = 200_000.0;

/// The repetitions to make: `FORESIGHT_BENCH_REPS`, 7 by default.
pub fn repetitions() -> usize {
    std::env::var("FORESIGHT_BENCH_REPS").ok().and_then(|r| r.parse().ok()).filter(|r| *r > 0).unwrap_or(7)
}

/// One measured function.
pub struct Subject<'a> {
    pub name: &'static str,
    pub run: Box<dyn FnMut() + 'a>,
    iterations: u32,
}

impl<'a> Subject<'a> {
    pub fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Subject { name, run: Box::new(run), iterations: 0 }
    }

    /// Warms up and sizes a run to about [`RUN_NS`].
    fn calibrate(&mut self) {
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed().as_nanos() < 20_000_000 || calls < 10 {
            (self.run)();
            calls += 1;
        }
        let per_call = start.elapsed().as_nanos() as f64 / f64::from(calls);
        self.iterations = ((RUN_NS / per_call) as u32).clamp(1, 1_000_000);
    }
}

/// The minimum and median run of one repetition, in ns per call.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub min: f64,
    pub median: f64,
}

/// Times every subject round-robin, [`RUNS`] runs each; one [`Timing`] per subject.
pub fn repetition(subjects: &mut [Subject<'_>]) -> Vec<Timing> {
    for s in subjects.iter_mut().filter(|s| s.iterations == 0) {
        s.calibrate();
    }
    let mut runs: Vec<Vec<f64>> = vec![Vec::with_capacity(RUNS); subjects.len()];
    for _ in 0..RUNS {
        for (s, out) in subjects.iter_mut().zip(runs.iter_mut()) {
            let start = Instant::now();
            for _ in 0..s.iterations {
                (s.run)();
            }
            out.push(start.elapsed().as_nanos() as f64 / f64::from(s.iterations));
        }
    }
    runs.into_iter().map(|r| Timing { min: min(&r), median: median(&r) }).collect()
}

pub fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

pub fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The CPU model, as `lscpu` names it.
pub fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|l| l.strip_prefix("model name").or_else(|| l.strip_prefix("CPU part")));
    let model = model.and_then(|m| m.split_once(':')).map(|(_, m)| m.trim().to_owned());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{} ({}, {cores} cores)", model.unwrap_or_else(|| "unknown CPU".into()), std::env::consts::ARCH)
}

/// The header every CPU benchmark prints: the machine and the hash backend.
pub fn print_machine() {
    println!("machine: {}", cpu_model());
    println!("SHA backend: {}", foresight_shared::sources::sha_backend::sha_backend());
}

/// A figure over the repetitions: minimum and median of the per-repetition medians.
pub fn line(name: &str, medians: &[f64], unit: &str) -> String {
    format!("{name:<44} median {:>9.0} {unit}   min {:>9.0} {unit}", median(medians), min(medians))
}
