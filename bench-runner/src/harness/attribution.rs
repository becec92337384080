//! Whose stall a probe saw, decided once here for rounds.csv and summary.csv (`attribution`;
//! report reads the value and never decides it again).
//!
//! A round (or a pair) *stalled* when its probe's wait reached T1: a `/health` request waited as
//! long as a whole request's work. Why, from the executor threads' own figures in the same
//! window ([`crate::sched`]: the kernel's per-thread on-CPU and run-queue times):
//! - **executor busy** ([`Attribution::ExecutorBusy`]): the executor threads were on a CPU for
//!   at least [`BUSY_SHARE`] of the window. They were running handlers' work themselves
//!   (inline kernels): a ready task found no executor thread free.
//! - **waiting for a CPU** ([`Attribution::WaitingForCpu`]): not that, but each executor
//!   thread was runnable and waiting on a run queue longer than it ran, and for at least
//!   [`WAIT_SHARE`] of the stall or of the window: the executor was free, the processor was not
//!   (pool threads, worker processes, the load generator took it). Of the window too, because
//!   a stall can outlast it: probes queued behind a busy executor are answered after the
//!   batch, when the window has closed.
//! - **executor busy** again when, short of half the window, each executor thread still ran
//!   for at least [`WAIT_SHARE`] of the stall (and longer than it waited).
//! - **elsewhere** ([`Attribution::Elsewhere`]): neither; the wait was on the probe's own path
//!   (its connection's wake-up, the load generator, the network stack).
//!
//! The heartbeat's lag stays beside it in the files as an independent check. Where the kernel
//! has no schedstat ([`crate::sched::available`]), [`from_heartbeat`] decides from the lag and
//! the cores used, as before the scheduler's figures (metadata.json's `cpu_clock` says which).

pub use results_format::Attribution;

/// Executor busy when its threads were on a CPU at least this share of the window (on-CPU
/// time ÷ (executor threads × window)). Measured in a run with the load generator (and other
/// builds) on the same 2 cores: executor threads running inline kernels were on a CPU 0.37–0.97
/// of the window (0.4 each with 2 workers sharing the cores; more of it queued), those of
/// offloading handlers 0.01–0.13: they only dispatch.
pub const BUSY_SHARE: f64 = 0.25;
/// Waiting for a CPU when each executor thread's run-queue time reached this share of the
/// stall.
pub const WAIT_SHARE: f64 = 0.5;
/// Fallback: executor busy when the heartbeat's lag p99 reached this share of the stall.
pub const LAG_SHARE: f64 = 0.5;
/// Fallback: waiting for a CPU when the server and bench-runner kept this share of the
/// machine's cores busy.
pub const CORES_FULL: f64 = 0.9;

/// What the executor threads did in a window, from the scheduler's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExecutorFigures {
    /// On-CPU time ÷ (executor threads × window).
    pub busy_share: f64,
    /// Run-queue time ÷ (executor threads × window).
    pub runq_share: f64,
    /// On-CPU time per executor thread, ms.
    pub oncpu_ms_per_thread: f64,
    /// Run-queue time per executor thread, ms.
    pub runq_ms_per_thread: f64,
}

/// A probe's wait in a window: the worst one (did anything stall: at least T1?) and the stall
/// the causes are weighed against (a round's worst probe; a pair's pooled p99).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// The longest wait, ms.
    pub worst_ms: f64,
    /// The wait the causes must explain, ms.
    pub stall_ms: f64,
    /// One request's work alone, ms: T1 ([`Measurement::work_alone`]: for `/background` its
    /// job's end): no stall below it.
    ///
    /// [`Measurement::work_alone`]: crate::harness::records::Measurement::work_alone
    pub work_alone_ms: f64,
}

/// From the scheduler's figures.
pub fn from_scheduler(stall: Stall, e: ExecutorFigures) -> Attribution {
    let Stall {
        worst_ms,
        stall_ms,
        work_alone_ms,
    } = stall;
    let explains = |ms: f64| ms >= WAIT_SHARE * stall_ms;
    if worst_ms < work_alone_ms {
        Attribution::None
    } else if e.busy_share >= BUSY_SHARE {
        Attribution::ExecutorBusy
    } else if (explains(e.runq_ms_per_thread) || e.runq_share >= WAIT_SHARE)
        && e.runq_ms_per_thread >= e.oncpu_ms_per_thread
    {
        Attribution::WaitingForCpu
    } else if explains(e.oncpu_ms_per_thread) {
        Attribution::ExecutorBusy
    } else {
        Attribution::Elsewhere
    }
}

/// Without the scheduler's figures: from the heartbeat's lag p99 and the share of the
/// machine's cores the server and bench-runner kept busy. `None` without a lag figure.
pub fn from_heartbeat(
    stall: Stall,
    lag_p99_ms: Option<f64>,
    cores_busy_share: Option<f64>,
) -> Option<Attribution> {
    let lag = lag_p99_ms?;
    let Stall {
        worst_ms,
        stall_ms,
        work_alone_ms,
    } = stall;
    Some(if worst_ms < work_alone_ms {
        Attribution::None
    } else if lag >= LAG_SHARE * stall_ms {
        Attribution::ExecutorBusy
    } else if cores_busy_share.is_some_and(|c| c >= CORES_FULL) {
        Attribution::WaitingForCpu
    } else {
        Attribution::Elsewhere
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round's stall: its worst probe is the stall.
    fn at(stall_ms: f64, work_alone_ms: f64) -> Stall {
        Stall {
            worst_ms: stall_ms,
            stall_ms,
            work_alone_ms,
        }
    }

    #[test]
    fn a_pair_whose_p99_is_below_t1_but_one_probe_waited_longer_is_still_attributed() {
        let pair = Stall {
            worst_ms: 12.0,
            stall_ms: 4.0,
            work_alone_ms: 5.0,
        };
        assert_eq!(
            from_scheduler(pair, e(0.01, 2.0)),
            Attribution::WaitingForCpu
        );
        assert_eq!(
            from_scheduler(
                Stall {
                    worst_ms: 4.5,
                    ..pair
                },
                e(0.01, 2.0)
            ),
            Attribution::None
        );
    }

    /// A 100 ms window: on a CPU `busy_share` of it, queued `runq_ms_per_thread`.
    fn e(busy_share: f64, runq_ms_per_thread: f64) -> ExecutorFigures {
        ExecutorFigures {
            busy_share,
            runq_share: runq_ms_per_thread / 100.0,
            oncpu_ms_per_thread: busy_share * 100.0,
            runq_ms_per_thread,
        }
    }

    #[test]
    fn the_scheduler_s_rule() {
        // No stall: nothing to attribute, whatever the figures.
        assert_eq!(
            from_scheduler(at(4.0, 5.0), e(1.0, 50.0)),
            Attribution::None
        );
        // Inline work: the executor on a CPU most of the window.
        assert_eq!(
            from_scheduler(at(60.0, 5.0), e(0.95, 2.0)),
            Attribution::ExecutorBusy
        );
        // A free executor kept off the CPU for half the stall or more.
        assert_eq!(
            from_scheduler(at(20.0, 5.0), e(0.05, 10.0)),
            Attribution::WaitingForCpu
        );
        assert_eq!(
            from_scheduler(at(20.0, 5.0), e(0.05, 9.9)),
            Attribution::Elsewhere
        );
        // A stall longer than the window (200 ms, in a 100 ms window): queued most of the
        // window, and longer than it ran, the executor was waiting for a CPU.
        assert_eq!(
            from_scheduler(at(200.0, 5.0), e(0.2, 75.0)),
            Attribution::WaitingForCpu
        );
        assert_eq!(
            from_scheduler(at(200.0, 5.0), e(0.2, 45.0)),
            Attribution::Elsewhere
        );
        // Queued half the stall but ran longer still: its own work (12 ms of a 20 ms stall).
        assert_eq!(
            from_scheduler(at(20.0, 5.0), e(0.12, 11.0)),
            Attribution::ExecutorBusy
        );
        // Busy wins over waiting: inline work on shared cores is still inline work (two
        // workers, each on a CPU 40 % of the window and queued 55 %).
        assert_eq!(
            from_scheduler(at(60.0, 5.0), e(0.4, 55.0)),
            Attribution::ExecutorBusy
        );
    }

    #[test]
    fn the_heartbeat_s_rule() {
        assert_eq!(from_heartbeat(at(10.0, 5.0), None, Some(1.0)), None);
        assert_eq!(
            from_heartbeat(at(10.0, 5.0), Some(5.0), None),
            Some(Attribution::ExecutorBusy)
        );
        assert_eq!(
            from_heartbeat(at(10.0, 5.0), Some(4.9), Some(0.9)),
            Some(Attribution::WaitingForCpu)
        );
        assert_eq!(
            from_heartbeat(at(10.0, 5.0), Some(4.9), Some(0.85)),
            Some(Attribution::Elsewhere)
        );
        assert_eq!(
            from_heartbeat(at(4.0, 5.0), Some(4.0), Some(1.0)),
            Some(Attribution::None)
        );
    }
}
