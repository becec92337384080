//! Where the server's threads run and how urgently: CPU affinity for the whole process
//! (`--cpus`) and a lower OS priority for the CPU pool's threads (`--cpu-pool-nice`). Linux
//! only, through rustix's safe wrappers (no `unsafe` here).
//!
//! # Affinity
//! On Linux `sched_setaffinity` applies to one thread, and a thread inherits its creator's mask.
//! So [`pin_process`] must run in `main` before any other thread exists (runtime, CPU pool,
//! signal handler): then every thread of the process inherits it. What is in force is read
//! back and kept for `/stats` ([`pinned`]): a process-wide fact, kept process-wide.
//!
//! # Nice
//! Nice is per thread on Linux. [`lower_this_thread`] sets the calling thread's nice value; the
//! CPU pool calls it in each thread's start handler. Raising nice (lowering priority) needs no
//! privilege. With CFS, a nice-10 thread gets ~10 % of a core against a nice-0 one that wants it.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// A set of CPU numbers as `taskset -c` and `/sys/devices/system/cpu/online` write it:
/// `1`, `0-3`, `0,2`, `0-1,4`. Sorted, without duplicates, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(Vec<usize>);

/// Why a CPU list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    /// Nothing in it.
    #[error("empty CPU list")]
    Empty,
    /// A part that is not `N` or `N-M` with N ≤ M.
    #[error("{0:?} is not a CPU number or range N-M (e.g. 1, 0-3, 0,2)")]
    Malformed(String),
    /// A CPU the machine does not have online.
    #[error("CPU {cpu} is not online (online: {online})")]
    Offline {
        /// The CPU asked for.
        cpu: usize,
        /// The machine's online CPUs.
        online: CpuList,
    },
}

impl CpuList {
    /// The CPU numbers, ascending.
    pub fn cpus(&self) -> &[usize] {
        &self.0
    }

    /// How many CPUs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a parsed list; here because clippy asks for it beside `len`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The machine's online CPUs (`/sys/devices/system/cpu/online`), or `None` if unreadable.
    pub fn online() -> Option<CpuList> {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Parses `s` and checks every CPU is online (when that can be read): what `--cpus` takes.
    pub fn parse_online(s: &str) -> Result<CpuList, CpuListError> {
        let list: CpuList = s.parse()?;
        if let Some(online) = CpuList::online()
            && let Some(&cpu) = list.0.iter().find(|c| !online.0.contains(c))
        {
            return Err(CpuListError::Offline { cpu, online });
        }
        Ok(list)
    }
}

impl FromStr for CpuList {
    type Err = CpuListError;

    fn from_str(s: &str) -> Result<CpuList, CpuListError> {
        let number = |p: &str| {
            p.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n < CpuSet::MAX_CPU)
        };
        let mut cpus = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let range = match part.split_once('-') {
                Some((a, b)) => number(a).zip(number(b)).filter(|(a, b)| a <= b),
                None => number(part).map(|n| (n, n)),
            };
            let (first, last) = range.ok_or_else(|| CpuListError::Malformed(part.to_owned()))?;
            cpus.extend(first..=last);
        }
        cpus.sort_unstable();
        cpus.dedup();
        if cpus.is_empty() {
            return Err(CpuListError::Empty);
        }
        Ok(CpuList(cpus))
    }
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

static PINNED: OnceLock<Vec<usize>> = OnceLock::new();

/// Pins the calling thread, and so every thread it starts afterwards, to `cpus`; returns the
/// affinity read back. Call it first thing in `main` (see [Affinity](self#affinity)).
pub fn pin_process(cpus: &CpuList) -> std::io::Result<Vec<usize>> {
    let mut set = CpuSet::new();
    for &cpu in cpus.cpus() {
        set.set(cpu);
    }
    sched_setaffinity(None, &set)?;
    let in_force = this_thread_affinity()?;
    let _ = PINNED.set(in_force.clone());
    Ok(in_force)
}

/// The affinity [`pin_process`] read back, or `None` if the process was not pinned.
pub fn pinned() -> Option<Vec<usize>> {
    PINNED.get().cloned()
}

/// The CPUs the calling thread may run on.
pub fn this_thread_affinity() -> std::io::Result<Vec<usize>> {
    let set = sched_getaffinity(None)?;
    Ok((0..CpuSet::MAX_CPU).filter(|c| set.is_set(*c)).collect())
}

/// Sets the calling thread's nice value (0..=19; higher is less urgent).
pub fn lower_this_thread(nice: u8) -> std::io::Result<()> {
    let tid = rustix::thread::gettid();
    rustix::process::setpriority_process(Some(tid), i32::from(nice))?;
    Ok(())
}

/// Makes the calling thread more urgent: nice -`by` (needs root or CAP_SYS_NICE; an error
/// otherwise). For a load generator's pacing threads, which must wake on time on a busy machine.
pub fn raise_this_thread(by: u8) -> std::io::Result<()> {
    let tid = rustix::thread::gettid();
    rustix::process::setpriority_process(Some(tid), -i32::from(by))?;
    Ok(())
}

/// The calling thread's nice value.
pub fn this_thread_nice() -> std::io::Result<i32> {
    Ok(rustix::process::getpriority_process(Some(
        rustix::thread::gettid(),
    ))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_like_taskset() {
        let p = |s: &str| s.parse::<CpuList>().map(|l| l.cpus().to_vec());
        assert_eq!(p("1"), Ok(vec![1]));
        assert_eq!(p("0-3"), Ok(vec![0, 1, 2, 3]));
        assert_eq!(p("0,2"), Ok(vec![0, 2]));
        assert_eq!(p("3,0-1,1"), Ok(vec![0, 1, 3]));
        assert_eq!(p(" 0 - 1 "), Ok(vec![0, 1]));
        assert_eq!(p(""), Err(CpuListError::Empty));
        assert_eq!(p(","), Err(CpuListError::Empty));
        for bad in ["a", "1-", "-1", "3-1", "1.5", "0-1-2", "99999"] {
            assert!(
                matches!(p(bad), Err(CpuListError::Malformed(_))),
                "{bad}: {:?}",
                p(bad)
            );
        }
        assert_eq!(
            "0-2,5".parse::<CpuList>().map(|l| l.to_string()),
            Ok("0,1,2,5".into())
        );
    }

    #[test]
    fn offline_cpus_are_refused() {
        let online = CpuList::online().expect("Linux lists its online CPUs");
        let beyond = online.cpus().last().expect("one CPU at least") + 1;
        let e = CpuList::parse_online(&beyond.to_string()).expect_err("refused");
        assert!(
            matches!(e, CpuListError::Offline { cpu, .. } if cpu == beyond),
            "{e}"
        );
        assert_eq!(CpuList::parse_online("0").map(|l| l.len()), Ok(1));
    }

    #[test]
    fn a_thread_lowers_its_own_priority_only() {
        let before = this_thread_nice().expect("nice");
        let lowered = std::thread::spawn(|| {
            lower_this_thread(7).expect("raising nice needs no privilege");
            this_thread_nice().expect("nice")
        })
        .join()
        .expect("thread");
        assert_eq!(lowered, 7);
        assert_eq!(
            this_thread_nice().expect("nice"),
            before,
            "per thread, not per process"
        );
    }

    #[test]
    fn a_pinned_thread_reads_its_affinity_back() {
        // In a thread of its own: pinning is per thread, and the test runner's must stay free.
        let cpu = this_thread_affinity().expect("affinity")[0];
        let got = std::thread::spawn(move || {
            let list: CpuList = cpu.to_string().parse().expect("list");
            pin_process(&list).expect("pin")
        })
        .join()
        .expect("thread");
        assert_eq!(got, vec![cpu]);
        assert_eq!(pinned(), Some(vec![cpu]));
    }
}
