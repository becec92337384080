//! The one list of strategies. Servers route with an exhaustive `match` on [`Strategy`] (no `_`
//! arm), so a new strategy does not compile until every server runs it; the conformance suite,
//! bench-runner and the tests iterate [`Strategy::ALL`].
//!
//! Which runtimes support a strategy is declared here too, once: [`Strategy::supported_on`],
//! over the [`RuntimeKind`]s the servers run. `common::App` answers 501 for a strategy its
//! server's kind does not support before the server's handler is called; the servers' match
//! still names the strategy (and answers the same 501 should it ever be reached), the
//! conformance suite checks each server's answers against the table, and bench-runner records
//! such a pair as *not applicable*.

use std::fmt;

/// One way of running the CPU-bound kernel inside a request handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    /// The iterator kernel inline in the async handler: blocks its executor thread.
    Generator,
    /// The manual-loop kernel inline in the async handler: blocks its executor thread.
    Cycle,
    /// The manual loop, yielding to the executor every `yield_every` iterations.
    CycleSleep,
    /// Offloaded to the runtime's blocking thread pool; the handler awaits the result.
    Thread,
    /// Started on the blocking pool without awaiting it; the handler answers 202 at once.
    Background,
    /// On a rayon pool sized to the cores, awaited through a oneshot channel.
    Rayon,
    /// Offloaded to the blocking pool behind a semaphore with one permit per core; a bounded
    /// queue waits for permits, and past it the answer is 503.
    Bounded,
    /// The job API: `POST /jobs` queues the kernel on the CPU pool and answers 202 with an id;
    /// `GET /jobs/{id}?wait=true` returns the result.
    Jobs,
    /// Inline on the worker thread inside `tokio::task::block_in_place`: the worker first hands
    /// its executor duties to another thread. tokio's multi-thread runtime only.
    BlockInPlace,
    /// The job API on a broker: `POST /queue` puts the job on a Redis queue, separate
    /// `queue-worker` processes compute it; `GET /queue/{id}?wait=true` returns the result.
    Queue,
    /// The `/rayon` offload behind a bounded cache of answers keyed by (kernel, n): a hit
    /// answers at once, and concurrent misses of one key run one kernel between them.
    Cached,
}

/// The kinds of executor the servers run: what decides whether a strategy can run at all
/// ([`Strategy::supported_on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    /// tokio's multi-thread runtime: N workers stealing from each other.
    TokioMultiThread,
    /// tokio's current-thread runtime: one thread runs tasks, timers and IO.
    TokioCurrentThread,
    /// async-std's global executor (async-global-executor): N threads, one shared queue.
    AsyncStd,
    /// smol's `Executor` on N threads: work stealing.
    Smol,
    /// actix-web: N workers, each a current-thread tokio runtime; a connection stays on the
    /// worker that accepted it, and no worker takes work from another.
    Actix,
}

impl RuntimeKind {
    /// Every kind.
    pub const ALL: [RuntimeKind; 5] = [
        RuntimeKind::TokioMultiThread,
        RuntimeKind::TokioCurrentThread,
        RuntimeKind::AsyncStd,
        RuntimeKind::Smol,
        RuntimeKind::Actix,
    ];

    /// The runtime's name, as `/stats` reports it (`tokio`).
    pub const fn runtime(self) -> &'static str {
        match self {
            RuntimeKind::TokioMultiThread | RuntimeKind::TokioCurrentThread => "tokio",
            RuntimeKind::AsyncStd => "async-std",
            RuntimeKind::Smol => "smol",
            RuntimeKind::Actix => "actix-rt",
        }
    }

    /// How its executor threads share work, as `/stats` reports it (`flavor`).
    pub const fn flavor(self) -> &'static str {
        match self {
            RuntimeKind::TokioMultiThread | RuntimeKind::AsyncStd | RuntimeKind::Smol => {
                "multi-thread"
            }
            RuntimeKind::TokioCurrentThread => "current-thread",
            RuntimeKind::Actix => "current-thread-per-worker",
        }
    }

    /// Whether an idle executor thread can run a task that became ready on a busy one (work
    /// stealing or one shared queue). Not on tokio current-thread (one thread) nor on actix
    /// (each worker its own runtime).
    pub const fn shares_work(self) -> bool {
        match self {
            RuntimeKind::TokioMultiThread | RuntimeKind::AsyncStd | RuntimeKind::Smol => true,
            RuntimeKind::TokioCurrentThread | RuntimeKind::Actix => false,
        }
    }

    /// The kind `/stats` describes with these `runtime` and `flavor` fields.
    pub fn of(runtime: &str, flavor: &str) -> Option<RuntimeKind> {
        RuntimeKind::ALL
            .into_iter()
            .find(|k| k.runtime() == runtime && k.flavor() == flavor)
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.runtime(), self.flavor())
    }
}

/// What a strategy's handler does with the executor thread while the kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// The kernel runs on the executor thread until it is done.
    Inline,
    /// The kernel runs on the executor thread in slices, yielding between them.
    Yielding,
    /// The kernel runs on another thread; the handler awaits it.
    Offloaded,
    /// The kernel runs on another thread; the handler answers before it finishes.
    Detached,
    /// The kernel is queued as a job; the client fetches the result with a second request.
    Job,
}

impl Execution {
    /// Every kind, in the order reports list them (the order of `Strategy::ALL`'s first uses).
    pub const ALL: [Execution; 5] = [
        Execution::Inline,
        Execution::Yielding,
        Execution::Offloaded,
        Execution::Detached,
        Execution::Job,
    ];
}

impl Strategy {
    /// Every strategy, in the order tables and reports list them.
    pub const ALL: [Strategy; 11] = [
        Strategy::Generator,
        Strategy::Cycle,
        Strategy::CycleSleep,
        Strategy::Thread,
        Strategy::Background,
        Strategy::Rayon,
        Strategy::Bounded,
        Strategy::Jobs,
        Strategy::BlockInPlace,
        Strategy::Queue,
        Strategy::Cached,
    ];

    /// The strategies of the original Python demo; the others are what experts recommend instead.
    pub const DEMO: [Strategy; 5] = [
        Strategy::Generator,
        Strategy::Cycle,
        Strategy::CycleSleep,
        Strategy::Thread,
        Strategy::Background,
    ];

    /// The name used in JSON bodies, CSV rows and the CLI (`cycle_sleep`).
    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Generator => "generator",
            Strategy::Cycle => "cycle",
            Strategy::CycleSleep => "cycle_sleep",
            Strategy::Thread => "thread",
            Strategy::Background => "background",
            Strategy::Rayon => "rayon",
            Strategy::Bounded => "bounded",
            Strategy::Jobs => "jobs",
            Strategy::BlockInPlace => "block_in_place",
            Strategy::Queue => "queue",
            Strategy::Cached => "cached",
        }
    }

    /// The endpoint that runs this strategy (`/cycle_sleep`).
    pub const fn path(self) -> &'static str {
        match self {
            Strategy::Generator => "/generator",
            Strategy::Cycle => "/cycle",
            Strategy::CycleSleep => "/cycle_sleep",
            Strategy::Thread => "/thread",
            Strategy::Background => "/background",
            Strategy::Rayon => "/rayon",
            Strategy::Bounded => "/bounded",
            Strategy::Jobs => "/jobs",
            Strategy::BlockInPlace => "/block_in_place",
            Strategy::Queue => "/queue",
            Strategy::Cached => "/cached",
        }
    }

    /// One sentence for the README, `--help` texts and reports.
    pub const fn description(self) -> &'static str {
        match self {
            Strategy::Generator => {
                "iterator kernel (map + sum) inline in the async handler: blocks its executor thread"
            }
            Strategy::Cycle => {
                "manual-loop kernel inline in the async handler: blocks its executor thread"
            }
            Strategy::CycleSleep => {
                "manual loop that yields to the executor every `yield_every` iterations (default 100000)"
            }
            Strategy::Thread => {
                "kernel offloaded to the runtime's blocking thread pool, result awaited"
            }
            Strategy::Background => {
                "kernel started on the blocking pool without awaiting; answers 202 at once, completion counted in /stats"
            }
            Strategy::Rayon => {
                "kernel on a rayon pool sized to the cores (--cpu-threads), awaited via a oneshot channel"
            }
            Strategy::Bounded => {
                "blocking-pool offload behind a semaphore with one permit per core; bounded queue, then 503 + Retry-After"
            }
            Strategy::Jobs => {
                "job API: POST /jobs?n= queues the kernel on the CPU pool (202 + id); GET /jobs/{id}?wait=true returns the result"
            }
            Strategy::BlockInPlace => {
                "kernel inline inside tokio::task::block_in_place (tokio multi-thread only; 501 elsewhere): the worker hands its executor duties to another thread first"
            }
            Strategy::Queue => {
                "task queue: POST /queue?n= puts the job on a Redis broker (--broker; 202 + id), queue-worker processes compute it; GET /queue/{id}?wait=true returns the result"
            }
            Strategy::Cached => {
                "the /rayon offload behind a bounded cache of answers keyed by (kernel, n) (--cache-capacity, --cache-ttl): a hit answers at once, concurrent misses of one n compute it once"
            }
        }
    }

    /// How the handler treats its executor thread: what the benchmark expects to see.
    pub const fn execution(self) -> Execution {
        match self {
            Strategy::Generator | Strategy::Cycle => Execution::Inline,
            Strategy::CycleSleep => Execution::Yielding,
            // block_in_place: the kernel stays on this thread, but the executor moves to
            // another one first, so for the runtime it is offloaded.
            Strategy::Thread
            | Strategy::Rayon
            | Strategy::Bounded
            | Strategy::BlockInPlace
            | Strategy::Cached => Execution::Offloaded,
            Strategy::Background => Execution::Detached,
            Strategy::Jobs | Strategy::Queue => Execution::Job,
        }
    }

    /// The query parameters this strategy's endpoint accepts; anything else is a 400.
    pub const fn parameters(self) -> &'static [&'static str] {
        match self {
            Strategy::CycleSleep => &["n", "yield_every"],
            Strategy::Generator
            | Strategy::Cycle
            | Strategy::Thread
            | Strategy::Background
            | Strategy::Rayon
            | Strategy::Bounded
            | Strategy::Jobs
            | Strategy::BlockInPlace
            | Strategy::Queue
            | Strategy::Cached => &["n"],
        }
    }

    /// The HTTP method of the request that starts the work: POST for the job API (it creates a
    /// resource), GET for the others.
    pub const fn method(self) -> &'static str {
        match self.execution() {
            Execution::Job => "POST",
            Execution::Inline
            | Execution::Yielding
            | Execution::Offloaded
            | Execution::Detached => "GET",
        }
    }

    /// The flag bounding what this strategy admits, for those that answer 503 with
    /// `Retry-After` past it; `None` for those that never refuse work.
    pub const fn admission_limit(self) -> Option<&'static str> {
        match self {
            Strategy::Background => Some("--max-background"),
            Strategy::Bounded | Strategy::Jobs | Strategy::Queue => Some("--max-queue"),
            Strategy::Generator
            | Strategy::Cycle
            | Strategy::CycleSleep
            | Strategy::Thread
            | Strategy::Rayon
            | Strategy::BlockInPlace
            | Strategy::Cached => None,
        }
    }

    /// The success status: 202 for the detached strategy (accepted, not done), 200 otherwise.
    pub const fn success_status(self) -> u16 {
        match self.execution() {
            Execution::Detached | Execution::Job => 202,
            Execution::Inline | Execution::Yielding | Execution::Offloaded => 200,
        }
    }

    /// Whether a server of this kind can run the strategy; where it cannot, the endpoint
    /// answers 501 `not_supported` ([`crate::Reply::not_supported`]). The one place this is
    /// declared.
    pub const fn supported_on(self, kind: RuntimeKind) -> bool {
        match self {
            // tokio panics in block_in_place on a current-thread runtime (actix's workers are
            // current-thread runtimes too), and the others have no such call.
            Strategy::BlockInPlace => matches!(kind, RuntimeKind::TokioMultiThread),
            Strategy::Generator
            | Strategy::Cycle
            | Strategy::CycleSleep
            | Strategy::Thread
            | Strategy::Background
            | Strategy::Rayon
            | Strategy::Bounded
            | Strategy::Jobs
            // Every server only talks to the broker (common::broker, on its own thread).
            | Strategy::Queue
            // moka's future cache has no runtime of its own (common::cache).
            | Strategy::Cached => true,
        }
    }

    /// Whether the strategy answers a repeated `n` from a cache (`/cached`). A benchmark must
    /// choose its keys for it: where every request asks for the same `n`, all but the first
    /// are hits, and what is measured is the cache, not the strategy's handling of the work.
    pub const fn caches_answers(self) -> bool {
        matches!(self, Strategy::Cached)
    }

    /// The strategy whose name is `name` (`"cycle_sleep"`), if any.
    pub fn from_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The strategy served at `path` (`"/cycle_sleep"`), if any.
    pub fn from_path(path: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.path() == path)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_paths_are_unique_and_round_trip() {
        let names: HashSet<_> = Strategy::ALL.iter().map(|s| s.name()).collect();
        let paths: HashSet<_> = Strategy::ALL.iter().map(|s| s.path()).collect();
        assert_eq!(names.len(), Strategy::ALL.len());
        assert_eq!(paths.len(), Strategy::ALL.len());
        for s in Strategy::ALL {
            assert_eq!(s.path(), format!("/{}", s.name()));
            assert_eq!(Strategy::from_name(s.name()), Some(s));
            assert_eq!(Strategy::from_path(s.path()), Some(s));
            assert!(!s.description().is_empty());
            assert_eq!(s.parameters()[0], "n", "every strategy takes n first");
        }
        assert_eq!(Strategy::from_path("/health"), None);
        assert_eq!(Strategy::from_name("nope"), None);
    }

    #[test]
    fn all_is_sorted_and_complete() {
        let mut sorted = Strategy::ALL;
        sorted.sort();
        assert_eq!(sorted, Strategy::ALL);
        // The exhaustive match in `execution` names every variant; ALL must hold each once.
        let inline = Strategy::ALL
            .iter()
            .filter(|s| s.execution() == Execution::Inline)
            .count();
        assert_eq!(inline, 2);
        // Execution::ALL holds every kind a strategy has, in the order the strategies use them.
        let mut used: Vec<Execution> = Vec::new();
        for s in Strategy::ALL {
            if !used.contains(&s.execution()) {
                used.push(s.execution());
            }
        }
        assert_eq!(used, Execution::ALL);
        assert_eq!(Strategy::Background.success_status(), 202);
        assert_eq!(
            (Strategy::Jobs.success_status(), Strategy::Jobs.method()),
            (202, "POST")
        );
        assert!(Strategy::DEMO.iter().all(|s| Strategy::ALL.contains(s)));
        assert_eq!(Strategy::Thread.success_status(), 200);
    }

    #[test]
    fn support_table() {
        for kind in RuntimeKind::ALL {
            assert_eq!(RuntimeKind::of(kind.runtime(), kind.flavor()), Some(kind));
            // Every kind runs every strategy of the demo and every expert recommendation.
            for s in Strategy::ALL {
                if s != Strategy::BlockInPlace {
                    assert!(s.supported_on(kind), "{s} on {kind}");
                }
            }
        }
        let block_in_place: Vec<RuntimeKind> = RuntimeKind::ALL
            .into_iter()
            .filter(|k| Strategy::BlockInPlace.supported_on(*k))
            .collect();
        assert_eq!(block_in_place, [RuntimeKind::TokioMultiThread]);
        assert_eq!(RuntimeKind::of("tokio", "nope"), None);
        assert_eq!(
            RuntimeKind::TokioCurrentThread.to_string(),
            "tokio current-thread"
        );
    }
}
