//! The scheduler's per-thread figures against the process's clock ticks (issue: "Over a window
//! of at least 2 s of load, the process CPU from schedstat agrees with /proc/PID/stat within
//! 3 %"). A test binary of its own, so that no other test's threads come and go in the window.

use std::thread::JoinHandle;
use std::time::Duration;

use bench_runner::cpu::{CpuTime, clock_ticks_per_second};
use bench_runner::sched::{self, Party, Watch};

/// This thread's CPU time so far, from its own schedstat.
fn cpu_of_this_thread() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .expect("on-CPU ns");
    Duration::from_nanos(ns)
}

/// `threads` threads, each spinning until it has used `each` of CPU time.
fn spin(threads: usize, each: Duration) -> Vec<JoinHandle<()>> {
    (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let start = cpu_of_this_thread();
                let mut x = 0u64;
                while cpu_of_this_thread().saturating_sub(start) < each {
                    for _ in 0..100_000 {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                }
            })
        })
        .collect()
}

/// Over 2.2 s of CPU, by threads born and ended inside the window (two of 0.7 s at once, then
/// one of 0.8 s), this process's CPU time from schedstat agrees with `/proc/PID/stat`'s ticks
/// (which keep exited threads' time) within 3 %, and nothing passes the cores × the wall time.
#[test]
fn agrees_with_the_process_clock_ticks_over_two_seconds() {
    if !sched::available() {
        eprintln!("no per-thread schedstat on this machine: skipped");
        return;
    }
    let tck = clock_ticks_per_second();
    let ticks0 = CpuTime::of(None).expect("stat");
    let watch = Watch::open(vec![(Party::Client, std::process::id())]);
    for t in spin(2, Duration::from_millis(700)) {
        t.join().expect("spin");
    }
    for t in spin(1, Duration::from_millis(800)) {
        t.join().expect("spin");
    }
    let usage = watch.close();
    let ticks = CpuTime::of(None).expect("stat").since(ticks0, tck);
    let sched = usage.client.oncpu;
    assert!(sched >= Duration::from_secs(2), "{sched:?}");
    let ratio = sched.as_secs_f64() / ticks.as_secs_f64();
    eprintln!("schedstat {sched:?}, ticks {ticks:?}: {ratio:.4}");
    assert!(
        (0.97..=1.03).contains(&ratio),
        "schedstat {sched:?} against ticks {ticks:?}: {ratio:.3}"
    );
    let cores = common::cli::cores() as f64;
    assert!(
        sched.as_secs_f64() <= cores * usage.wall.as_secs_f64() * 1.01,
        "{sched:?} in {:?}",
        usage.wall
    );
}
