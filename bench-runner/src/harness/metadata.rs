//! metadata.json: what a reader needs to trust or compare the CSVs beside it: when, which
//! commit, which compiler, which machine, which command, which build profile, and the caveat
//! that the load generator and the servers share the same cores.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::settings::{Settings, Subjects};

/// The contents of metadata.json: one struct, declared in `results-format` (report reads it too).
pub use results_format::Metadata;

/// What the run knows that [`collect`] cannot find out.
#[derive(Debug, Clone)]
pub struct RunFacts<'a> {
    /// The resolved settings.
    pub settings: &'a Settings,
    /// The command line.
    pub args: Vec<String>,
    /// Server build profile.
    pub server_build_profile: String,
    /// The binaries (or URL) measured.
    pub servers: Vec<String>,
    /// Start of the run.
    pub started: SystemTime,
    /// Its length.
    pub duration: Duration,
    /// Pairs measured.
    pub pairs: usize,
    /// Pairs failed.
    pub pairs_failed: usize,
    /// Pairs not applicable (the target's runtime cannot run the strategy).
    pub pairs_not_applicable: usize,
    /// The /queue broker measured with (empty: none).
    pub broker: String,
    /// What an interrupted run did not measure (`None`: the run got to its end).
    pub interrupted: Option<results_format::Interruption>,
}

/// Gathers the machine's facts around `facts`. Facts that cannot be read are `unknown`.
pub fn collect(facts: RunFacts<'_>, workspace: &Path) -> Metadata {
    let s = facts.settings;
    let cores = s.plan.cores;
    let note = match &s.subjects {
        Subjects::Servers { .. } if s.server_cpus.is_some() && s.client_cpus.is_some() => {
            let plural = if cores == 1 { "" } else { "s" };
            format!(
                "The servers ran on {cores} CPU{plural} of their own (--server-cpus), bench-runner \
                 on others (--client-cpus): the load generator did not take the servers' cores \
                 (memory, caches and the kernel are still shared)."
            )
        }
        Subjects::Servers { .. } => format!(
            "bench-runner (the load generator and the /health probe) and the server under test \
             run on the same {cores} cores: client overhead, thread pools and the OS scheduler \
             move the numbers. Compare ratios measured in one run (efficiency, probe latency \
             against T1) rather than absolute times across machines."
        ),
        Subjects::External { .. } => format!(
            "external target: if it runs on this machine it shares the same {cores} cores with \
             bench-runner; its build, runtime and worker count are unknown here."
        ),
    };
    Metadata {
        date_utc: rfc3339(facts.started),
        duration_s: facts.duration.as_secs_f64(),
        // The experiments whose files the run writes: an interrupted run's not-run ones left out.
        experiments: s
            .experiments
            .iter()
            .map(|e| e.name().to_owned())
            .filter(|e| {
                facts
                    .interrupted
                    .as_ref()
                    .is_none_or(|i| !i.experiments_not_run.contains(e))
            })
            .collect(),
        git_commit: git_commit(workspace),
        rustc: command_line(workspace, "rustc", &["-V"]),
        cpu_model: std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| cpu_model(&c))
            .unwrap_or_else(|| "unknown".into()),
        cores,
        server_cpus: s.server_cpus.as_ref().map(|l| l.cpus()),
        client_cpus: s.client_cpus.as_ref().map(|l| l.cpus()),
        cpu_pool_nice: arg_value(&s.server_args, "--cpu-pool-nice").and_then(|v| v.parse().ok()),
        arrivals: Some(s.rate.arrivals.name().to_owned()),
        lag_interval_us: match &s.subjects {
            Subjects::External { .. } => None,
            Subjects::Servers { .. } if s.server_args.iter().any(|a| a == "--no-lag-monitor") => {
                None
            }
            Subjects::Servers { .. } => Some(
                arg_value(&s.server_args, "--lag-interval-us")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(DEFAULT_LAG_INTERVAL_US),
            ),
        },
        server_args: s.server_args.clone(),
        // Where CPU times come from (crate::sched): an external server's are not read.
        cpu_clock: match &s.subjects {
            Subjects::External { .. } => String::new(),
            Subjects::Servers { .. } if crate::sched::available() => {
                results_format::CPU_CLOCK_SCHEDSTAT.to_owned()
            }
            Subjects::Servers { .. } => results_format::CPU_CLOCK_TICKS.to_owned(),
        },
        os: std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|c| os_name(&c))
            .unwrap_or_else(|| std::env::consts::OS.into()),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned()),
        args: redact_broker(facts.args),
        server_build_profile: facts.server_build_profile,
        servers: facts.servers,
        bench_runner_profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .to_owned(),
        client: s.client.name().to_owned(),
        compute_kernel: s.plan.kernel.name().into(),
        n: s.plan.n,
        concurrency: s.plan.concurrency,
        rounds: s.plan.rounds,
        seed: Some(s.seed),
        probe_interval_ms: Some(s.plan.probe_interval.as_secs_f64() * 1e3),
        calibration: Some(s.plan.calibration),
        request_timeout_s: Some(s.plan.request_timeout.as_secs_f64()),
        probe_timeout_s: Some(s.plan.request_timeout.as_secs_f64()),
        queue_workers: s.queue.workers.clone(),
        queue_worker_threads: Some(s.queue.threads),
        probe: format!(
            "own threads (a pacer sleeping to each scheduled time, a current-thread tokio \
             runtime sending), own pool of {pool} connections (a client each) opened before \
             the batch's clock; open loop: each probe sent at its scheduled time on a free \
             connection, a new one when all are busy (probes.csv connection, {pool} and up); \
             latency from send to answer, the harness's lateness (scheduled to sent) recorded \
             apart (probes.csv harness_late_us)",
            pool = crate::harness::probe::POOL
        ),
        quick: s.quick,
        pairs: Some(facts.pairs),
        pairs_failed: Some(facts.pairs_failed),
        pairs_not_applicable: Some(facts.pairs_not_applicable),
        note,
        broker: facts.broker,
        partial: facts.interrupted.is_some(),
        interrupted: facts.interrupted,
    }
}

/// Pretty JSON, as metadata.json holds it.
pub fn to_json(m: &Metadata) -> String {
    serde_json::to_string_pretty(m).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The servers' default heartbeat interval (`--lag-interval-us`), µs.
const DEFAULT_LAG_INTERVAL_US: u64 = 1000;

/// The value of `flag` in `args`: `--flag VALUE` or `--flag=VALUE` (the last one given).
fn arg_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let mut found = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == flag {
            found = it.next().map(String::as_str);
        } else if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            found = Some(v);
        }
    }
    found
}

/// The command line with `--broker`'s password hidden (`redis://***@HOST:PORT`): metadata.json
/// is committed and shared.
fn redact_broker(args: Vec<String>) -> Vec<String> {
    let hide = |url: &str| {
        common::queue::BrokerUrl::parse(url).map_or_else(|_| url.to_owned(), |u| u.redacted())
    };
    let mut out: Vec<String> = Vec::with_capacity(args.len());
    for a in args {
        let redacted = if out.last().is_some_and(|prev| prev == "--broker") {
            hide(&a)
        } else if let Some(url) = a.strip_prefix("--broker=") {
            format!("--broker={}", hide(url))
        } else {
            a
        };
        out.push(redacted);
    }
    out
}

fn command_line(dir: &Path, program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        )
}

fn git_commit(dir: &Path) -> String {
    let head = command_line(dir, "git", &["rev-parse", "HEAD"]);
    if head == "unknown" {
        return head;
    }
    // The code measured is what `-dirty` is about: results/ is data bench-runner writes (make
    // all-bench's second run would otherwise see the first run's files as changes).
    let dirty = Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)results",
        ])
        .current_dir(dir)
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

/// The first `model name` of /proc/cpuinfo.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

/// PRETTY_NAME of /etc/os-release.
fn os_name(os_release: &str) -> Option<String> {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

/// `2023-11-14T22:13:20Z` (seconds precision, UTC) without a date crate.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of `days` since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(0),
        u32::try_from(d).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let at = |s| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn server_flags_from_the_server_args() {
        let args: Vec<String> = [
            "--cpus",
            "1",
            "--cpu-pool-nice",
            "19",
            "--lag-interval-us=500",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(arg_value(&args, "--cpu-pool-nice"), Some("19"));
        assert_eq!(arg_value(&args, "--lag-interval-us"), Some("500"));
        assert_eq!(arg_value(&args, "--cpus"), Some("1"));
        assert_eq!(arg_value(&args, "--workers"), None);
    }

    #[test]
    fn the_brokers_password_stays_out_of_the_metadata() {
        let args = [
            "bench-runner",
            "--broker",
            "redis://:secret@10.0.0.5:6379",
            "--quick",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            redact_broker(args),
            [
                "bench-runner",
                "--broker",
                "redis://***@10.0.0.5:6379",
                "--quick"
            ]
        );
        let args = vec![
            "--broker=redis://u:pw@h:1".to_owned(),
            "--broker".to_owned(),
        ];
        assert_eq!(
            redact_broker(args),
            ["--broker=redis://***@h:1", "--broker"]
        );
        let plain = vec!["--broker".to_owned(), "redis://127.0.0.1:6379".to_owned()];
        assert_eq!(redact_broker(plain.clone()), plain);
    }

    #[test]
    fn machine_facts_parse() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Some CPU @ 2.0GHz\nprocessor\t: 1\nmodel name\t: Some CPU @ 2.0GHz\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Some CPU @ 2.0GHz"));
        assert_eq!(cpu_model("nothing"), None);
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n";
        assert_eq!(os_name(os).as_deref(), Some("Debian GNU/Linux 13 (trixie)"));
    }
}
