//! Run with `make generator-ceiling` (or `cargo run --release -p bench-runner --bin
//! generator-ceiling -- --help`).
//!
//! The load generator's ceiling: up to which rate the rate experiment's curves are the
//! server's. One release tokio server (all cores), `GET /health` at rising rates with the rate
//! experiment's own pacer, client and cap ([`bench_runner::experiments::rate::health_step`]): the highest
//! rate at which every request was sent on time (lateness p99 ≤ 1 ms), answered 200 and at
//! least 95 % of the rate achieved. Then, when `wrk` is on the PATH, wrk's throughput against
//! the same server in the same run (closed loop: as many requests as its connections can
//! carry; wrk is optional and never needed to build or test). Both figures are printed and
//! written to `--out`.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, bail};
use bench_runner::client::ClientKind;
use bench_runner::experiments::rate;
use bench_runner::servers::{self, ServerSource};
use bench_runner::settings::{RatePlan, Steps};
use bench_runner::targets::TARGETS;
use clap::Parser;

/// Measures bench-runner's highest sustained /health rate (and wrk's, if installed) against
/// one of our servers.
#[derive(Debug, Parser)]
#[command(name = "generator-ceiling")]
struct Args {
    /// Rates to try, requests per second, in this order; the ramp stops at the first one not
    /// sustained.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "250,500,1000,2000,3000,4000,6000,8000,12000,16000,24000,32000"
    )]
    rates: Vec<f64>,
    /// Seconds per rate (after a warm-up of a tenth of it).
    #[arg(long, default_value_t = 1.0)]
    duration: f64,
    /// Most requests in flight (as --max-in-flight).
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// Seconds of wrk's run.
    #[arg(long, default_value_t = 3)]
    wrk_seconds: u32,
    /// File the figures are written to.
    #[arg(long, default_value = "results/generator-ceiling.txt")]
    out: PathBuf,
    /// Take the server from DIR instead of `cargo build --release`.
    #[arg(long, value_name = "DIR")]
    server_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !positive(args.duration) || !args.rates.iter().all(|r| positive(*r)) {
        bail!("--duration and every --rates value must be above 0");
    }
    let target = TARGETS[0];
    let source = match &args.server_dir {
        Some(dir) => ServerSource::Dir {
            dir: dir.clone(),
            allow_debug: false,
        },
        None => ServerSource::Build,
    };
    let binaries = servers::prepare(&[target], &source)?;
    let binary = binaries
        .path(&target)
        .context("no server binary")?
        .to_path_buf();
    let cores = common::cli::cores();
    let server_args = vec![
        "--workers".into(),
        cores.to_string(),
        "--exit-with-parent".into(),
        std::process::id().to_string(),
    ];
    let server =
        bench_runner::harness::spawner::start(binary.clone(), server_args, Duration::from_secs(10))
            .await
            .map_err(anyhow::Error::msg)?
            .with_context(|| format!("starting {}", binary.display()))?;
    let base = server.base_url();
    let timeout = Duration::from_secs(10);
    let client = ClientKind::Reqwest
        .build(timeout, args.max_in_flight)
        .context("building the client")?;
    let plan = RatePlan::new(
        Steps::Rate(args.rates.clone()),
        Some(Duration::from_secs_f64(args.duration)),
        args.max_in_flight,
        false,
    );
    println!(
        "{} ({} + {}, {cores} workers) at {base}; {cores} cores shared with the generator",
        target.name, target.runtime, target.framework
    );
    let mut ours = None;
    for &r in &args.rates {
        let f = rate::health_step(&client, &base, r, &plan, timeout)
            .await
            .map_err(anyhow::Error::msg)?;
        let ok = rate::sustained(&f, r);
        println!(
            "bench-runner {r:>7.0} req/s: achieved {:>7.0}/s, {} of {} answered 200, {} refused, \
             send late p99 {:.2} ms, latency p99 {:.2} ms: {}",
            f.achieved_rps,
            f.verified,
            f.scheduled,
            f.refused,
            f.late_us.map_or(0.0, |l| l[0] as f64 / 1e3),
            f.latency_us.map_or(0.0, |l| l[1] as f64 / 1e3),
            if ok { "sustained" } else { "NOT sustained" }
        );
        if !ok {
            break;
        }
        ours = Some(r);
    }
    let wrk = wrk(&base, args.wrk_seconds);
    let _ = tokio::task::spawn_blocking(move || server.stop(Duration::from_secs(5))).await;

    let mut text = format!(
        "Generator ceiling: GET /health on {} ({} + {}, {cores} workers, release), client and \
         server sharing {cores} cores\n",
        target.name, target.runtime, target.framework
    );
    text.push_str(&match ours {
        Some(r) => format!(
            "bench-runner: {r:.0} requests/s sustained (open loop, constant intervals, \
             {:.1} s per rate, send lateness p99 <= 1 ms, every request answered 200)\n",
            args.duration
        ),
        None => format!(
            "bench-runner: not even {:.0} requests/s sustained\n",
            args.rates.first().copied().unwrap_or(0.0)
        ),
    });
    text.push_str(&match &wrk {
        Ok(w) => format!("{w}\n"),
        Err(why) => format!("wrk: not measured ({why})\n"),
    });
    print!("{text}");
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.out, &text).with_context(|| format!("writing {}", args.out.display()))?;
    println!("written to {}", args.out.display());
    Ok(())
}

/// wrk's throughput against `base`/health, closed loop, 2 threads, 64 connections.
fn wrk(base: &str, seconds: u32) -> Result<String, String> {
    let output = Command::new("wrk")
        .args([
            "-t2",
            "-c64",
            &format!("-d{seconds}s"),
            &format!("{base}/health"),
        ])
        .output()
        .map_err(|e| format!("wrk is not installed or does not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rps = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .map(str::trim)
        .ok_or_else(|| format!("no Requests/sec in wrk's output: {stdout}"))?;
    let version = Command::new("wrk")
        .arg("-v")
        .output()
        .map(|o| {
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            all.lines().next().unwrap_or("wrk").trim().to_owned()
        })
        .unwrap_or_else(|_| "wrk".into());
    Ok(format!(
        "wrk: {rps} requests/s ({version}; closed loop, 2 threads, 64 connections, {seconds} s: \
         its maximum throughput, not a schedule kept)"
    ))
}
