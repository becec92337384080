//! CPU time and CPU affinity: how much processor a batch used, on which cores.
//!
//! - [`CpuTime`]: user + system time of a process from `/proc/PID/stat` (`utime` + `stime`, in
//!   clock ticks of `sysconf(_SC_CLK_TCK)`, 100 Hz on Linux: a 10 ms resolution, so only ever
//!   read over a whole batch, never per request). bench-runner reads the server's and its own
//!   (`/proc/self/stat`, every thread: the batch's client, the probe's thread, the runtime) at
//!   each batch's start and end.
//! - [`CpuList`]: a list of CPUs as `taskset`/`--cpus` write it (`1`, `0-7`, `0,2`), checked
//!   against the machine's online CPUs; [`check_apart`] refuses a server list and a client
//!   list that share a CPU; [`pin_self`] pins bench-runner (called in `main` before its
//!   runtime starts threads, which then inherit the mask).

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// Clock ticks per second assumed when `sysconf(_SC_CLK_TCK)` cannot be read (Linux's USER_HZ).
const DEFAULT_CLK_TCK: u64 = 100;

/// Ticks per second of the `utime`/`stime` fields of `/proc/PID/stat`.
pub fn clock_ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => u64::try_from(t).unwrap_or(DEFAULT_CLK_TCK),
        _ => DEFAULT_CLK_TCK,
    }
}

/// The CPU time a process has used so far (all its threads, user + system).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpuTime {
    /// `utime` + `stime`, clock ticks.
    pub ticks: u64,
}

impl CpuTime {
    /// Of process `pid` (`None`: bench-runner itself). `None` if it cannot be read (the process
    /// has exited, or this is not Linux).
    pub fn of(pid: Option<u32>) -> Option<CpuTime> {
        let path = match pid {
            Some(pid) => format!("/proc/{pid}/stat"),
            None => "/proc/self/stat".to_owned(),
        };
        let stat = std::fs::read_to_string(path).ok()?;
        parse_stat(&stat).map(|ticks| CpuTime { ticks })
    }

    /// The time used from `earlier` to `self`, with `tck` ticks per second.
    pub fn since(self, earlier: CpuTime, tck: u64) -> Duration {
        let ticks = self.ticks.saturating_sub(earlier.ticks);
        Duration::from_micros(ticks.saturating_mul(1_000_000) / tck.max(1))
    }
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line. The command name (field 2)
/// is in parentheses and may hold spaces and parentheses, so fields are counted after the
/// last `)`.
fn parse_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field k is fields[k - 3].
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// A set of CPU numbers, in the `1`, `0-7`, `0,2-3` notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(BTreeSet<usize>);

/// Why a CPU list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    /// Nothing in it.
    #[error("empty CPU list")]
    Empty,
    /// Not numbers, ranges and commas.
    #[error(
        "malformed CPU list {0:?}: expected numbers and ranges separated by commas (`1`, `0-7`, `0,2`)"
    )]
    Malformed(String),
    /// A CPU this machine does not have online.
    #[error("CPU {cpu} is not online on this machine (online: {online})")]
    Offline {
        /// The CPU asked for.
        cpu: usize,
        /// The online CPUs.
        online: CpuList,
    },
}

impl CpuList {
    /// Parses `text` (no check against the machine).
    pub fn parse(text: &str) -> Result<CpuList, CpuListError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CpuListError::Empty);
        }
        let bad = || CpuListError::Malformed(text.to_owned());
        let mut set = BTreeSet::new();
        for part in text.split(',') {
            let part = part.trim();
            let number = |s: &str| {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                s.parse::<usize>().map_err(|_| bad())
            };
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (number(lo)?, number(hi)?),
                None => (number(part)?, number(part)?),
            };
            // Bounded so that `0-99999999` cannot allocate a huge set before the online check.
            if lo > hi || hi >= 1 << 16 {
                return Err(bad());
            }
            set.extend(lo..=hi);
        }
        Ok(CpuList(set))
    }

    /// Parses `text` and checks every CPU is in `online`.
    pub fn parse_online(text: &str, online: &CpuList) -> Result<CpuList, CpuListError> {
        let list = CpuList::parse(text)?;
        match list.0.iter().find(|c| !online.0.contains(c)) {
            Some(&cpu) => Err(CpuListError::Offline {
                cpu,
                online: online.clone(),
            }),
            None => Ok(list),
        }
    }

    /// The machine's online CPUs (`/sys/devices/system/cpu/online`; if unreadable, 0 to the
    /// available parallelism - 1).
    pub fn online() -> CpuList {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|s| CpuList::parse(&s).ok())
            .unwrap_or_else(|| CpuList((0..common::cli::cores()).collect()))
    }

    /// How many CPUs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a parsed list.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The CPUs, ascending.
    pub fn cpus(&self) -> Vec<usize> {
        self.0.iter().copied().collect()
    }

    /// The CPUs both lists hold.
    pub fn overlap(&self, other: &CpuList) -> CpuList {
        CpuList(self.0.intersection(&other.0).copied().collect())
    }
}

impl fmt::Display for CpuList {
    /// Compact: `0-3,6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpus = self.cpus();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < cpus.len() {
            let mut j = i;
            while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
                j += 1;
            }
            parts.push(if i == j {
                cpus[i].to_string()
            } else {
                format!("{}-{}", cpus[i], cpus[j])
            });
            i = j + 1;
        }
        f.write_str(&parts.join(","))
    }
}

/// Refuses a server list and a client list that share a CPU: the point of giving both is that
/// the load generator does not take the server's cores.
pub fn check_apart(server: Option<&CpuList>, client: Option<&CpuList>) -> Result<(), String> {
    if let (Some(s), Some(c)) = (server, client) {
        let both = s.overlap(c);
        if !both.is_empty() {
            return Err(format!(
                "--server-cpus {s} and --client-cpus {c} overlap on CPU {both}: the two lists \
                 must be disjoint"
            ));
        }
    }
    Ok(())
}

/// Pins the calling thread (in `main`, before any other thread starts: bench-runner as a
/// whole) to `cpus`.
pub fn pin_self(cpus: &CpuList) -> Result<(), String> {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    for cpu in cpus.cpus() {
        set.set(cpu)
            .map_err(|e| format!("--client-cpus {cpus}: CPU {cpu}: {e}"))?;
    }
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|e| format!("--client-cpus {cpus}: sched_setaffinity: {e}"))
}

/// Pins every thread of process `pid` (a child already running: redis-server) to `cpus`;
/// threads it starts afterwards inherit the mask of the thread that starts them.
pub fn pin_pid(pid: u32, cpus: &CpuList) -> Result<(), String> {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    for cpu in cpus.cpus() {
        set.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
    }
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| format!("/proc/{pid}/task: {e}"))?;
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i32>().ok())
        else {
            continue;
        };
        sched_setaffinity(nix::unistd::Pid::from_raw(tid), &set)
            .map_err(|e| format!("thread {tid}: sched_setaffinity: {e}"))?;
    }
    Ok(())
}

impl std::iter::Sum for CpuTime {
    fn sum<I: Iterator<Item = CpuTime>>(iter: I) -> CpuTime {
        CpuTime {
            ticks: iter.map(|t| t.ticks).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_the_command_name() {
        // A command name with spaces and parentheses; utime 1234, stime 56.
        let stat = "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 \
                    5 0 100 0 0";
        assert_eq!(parse_stat(stat), Some(1290));
        assert_eq!(parse_stat("4242 (x) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn cpu_time_of_this_process_and_differences() {
        let now = CpuTime::of(None).expect("/proc/self/stat");
        let later = CpuTime {
            ticks: now.ticks + 25,
        };
        assert_eq!(later.since(now, 100), Duration::from_millis(250));
        assert_eq!(now.since(later, 100), Duration::ZERO);
        assert!(CpuTime::of(Some(u32::MAX)).is_none());
        assert!(clock_ticks_per_second() >= 1);
    }

    /// Burns CPU and sees it counted: the reading moves by 100 ms of CPU within a few seconds
    /// of spinning (other tests may share the cores, so no bound on how fast).
    #[test]
    fn spent_cpu_is_counted() {
        let tck = clock_ticks_per_second();
        let before = CpuTime::of(None).expect("stat");
        let wall = std::time::Instant::now();
        let mut x = 0u64;
        let mut used = Duration::ZERO;
        while used < Duration::from_millis(100) && wall.elapsed() < Duration::from_secs(20) {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            used = CpuTime::of(None).expect("stat").since(before, tck);
        }
        assert!(
            used >= Duration::from_millis(100),
            "{used:?} in {:?}",
            wall.elapsed()
        );
    }

    #[test]
    fn lists_parse() {
        let p = |s| CpuList::parse(s).map(|l| l.cpus());
        assert_eq!(p("1"), Ok(vec![1]));
        assert_eq!(p("0-3"), Ok(vec![0, 1, 2, 3]));
        assert_eq!(p("0,2"), Ok(vec![0, 2]));
        assert_eq!(p(" 4-5,0\n"), Ok(vec![0, 4, 5]));
        assert_eq!(p("1,1"), Ok(vec![1]));
        assert_eq!(p(""), Err(CpuListError::Empty));
        for bad in [
            "a", "1-", "-1", "3-1", "1,,2", "1.5", "+1", "0-70000", "1 2",
        ] {
            assert!(
                matches!(CpuList::parse(bad), Err(CpuListError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            CpuList::parse("0-2,4,6-7").expect("list").to_string(),
            "0-2,4,6-7"
        );
    }

    #[test]
    fn lists_are_checked_against_the_online_cpus() {
        let online = CpuList::parse("0-1").expect("online");
        assert_eq!(
            CpuList::parse_online("1", &online).map(|l| l.cpus()),
            Ok(vec![1])
        );
        let err = CpuList::parse_online("0-2", &online).expect_err("offline");
        assert_eq!(
            err.to_string(),
            "CPU 2 is not online on this machine (online: 0-1)"
        );
        assert!(!CpuList::online().is_empty());
    }

    #[test]
    fn overlapping_lists_are_refused_naming_the_overlap() {
        let l = |s| CpuList::parse(s).expect("list");
        assert_eq!(check_apart(Some(&l("1")), Some(&l("0"))), Ok(()));
        assert_eq!(check_apart(Some(&l("0-3")), None), Ok(()));
        let err = check_apart(Some(&l("0-3")), Some(&l("3-5"))).expect_err("overlap");
        assert!(
            err.contains("--server-cpus 0-3")
                && err.contains("--client-cpus 3-5")
                && err.contains("overlap on CPU 3"),
            "{err}"
        );
    }
}
