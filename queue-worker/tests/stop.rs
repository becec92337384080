//! End to end, with real processes: a `queue-worker` stopped with SIGTERM while a job runs
//! strands no job. A job queued within the second after the signal (while the stopping worker
//! may still have a read in flight) is done before its lease could run out: by the stopping
//! worker, which was handed it, or by the next worker, which finds it unread. And the stopping
//! worker exits 0 owning no pending entry (`XPENDING` for its consumer is empty).
//!
//! Against the loop that raced its read against the stop signal (`select! { biased; stop =>
//! break, take(..) }`), the read was dropped while Redis still handed it the new job: the job
//! sat in the exited worker's pending list until a lease (here 30 s) ran out.

use std::time::{Duration, Instant};

use common::broker::Broker;
use common::queue::{BrokerUrl, GROUP, Keys};
use conformance::broker::{RedisServer, Worker, skip_reason};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const WORKER: &str = env!("CARGO_BIN_EXE_queue-worker");

/// About 3 s in a debug build (~45 ns per iteration): the job in hand when the signal comes.
const LONG_N: u64 = 60_000_000;

/// Long enough that no takeover by lease can happen while the test looks: a job done in time
/// was done by a worker that held or read it, not by `XAUTOCLAIM`.
const LEASE: &str = "30";

/// How long the job queued after the signal may take to be done (far below the lease).
const IN_TIME: Duration = Duration::from_secs(15);

#[test]
fn a_stopping_worker_strands_no_job() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let redis = RedisServer::start().expect("redis-server");
    let url = BrokerUrl::parse(&redis.url()).expect("url");
    let kernel = common::kernel::DEFAULT.name();
    let broker = Broker::connect(&url, kernel).expect("connect");
    // Two threads: while the long job runs, the other thread's read waits on the stream.
    let args = ["--threads", "2", "--lease", LEASE, "--consumer", "stopping"];
    let mut stopping = Worker::start(WORKER.as_ref(), &redis.url(), &args).expect("worker");
    futures::executor::block_on(async {
        let long = broker
            .enqueue(LONG_N, 100)
            .await
            .expect("enqueue")
            .expect("queued");
        let until = Instant::now() + Duration::from_secs(60);
        while broker
            .status(long, false)
            .await
            .expect("status")
            .is_none_or(|j| j.status != "running")
        {
            assert!(Instant::now() < until, "the long job never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = Pid::from_raw(i32::try_from(stopping.pid()).expect("pid"));
        kill(pid, Signal::SIGTERM).expect("SIGTERM");
        // Within the second: the stopping worker's read (it blocks up to 1 s) is most likely
        // still waiting on the stream.
        std::thread::sleep(Duration::from_millis(20));
        let queued_at = Instant::now();
        let late = broker
            .enqueue(10, 100)
            .await
            .expect("enqueue")
            .expect("queued");

        let exit = stopping
            .stop_in_place(Duration::from_secs(60))
            .expect("the stopping worker exits");
        assert!(
            exit.success(),
            "exit {exit}; stderr: {:?}",
            stopping.stderr()
        );
        let mut redis_conn = redis::Client::open(redis.url())
            .expect("client")
            .get_connection()
            .expect("connection");
        let owned: Vec<redis::Value> = redis::cmd("XPENDING")
            .arg(Keys::for_kernel(kernel).stream)
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(100)
            .arg("stopping")
            .query(&mut redis_conn)
            .expect("XPENDING");
        assert!(
            owned.is_empty(),
            "the exited worker still owns {owned:?}; stderr: {:?}",
            stopping.stderr()
        );

        // The next worker, started once the first is gone: it finds what was left unread.
        let next = Worker::start(
            WORKER.as_ref(),
            &redis.url(),
            &["--lease", LEASE, "--consumer", "next"],
        )
        .expect("worker");
        for (id, n) in [(long, LONG_N), (late, 10)] {
            let job = loop {
                let job = broker
                    .status(id, false)
                    .await
                    .expect("status")
                    .expect("job");
                if job.finished() || queued_at.elapsed() > IN_TIME {
                    break job;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            assert_eq!(
                (job.status.as_str(), job.total),
                ("done", Some(common::kernel::closed_form(n).to_string())),
                "job {id} (n = {n}), {:?} after the late one was queued; stopping worker: {:?}; next: {:?}",
                queued_at.elapsed(),
                stopping.stderr(),
                next.stderr()
            );
        }
        eprintln!(
            "stopping worker: {:?}; next worker: {:?}",
            stopping.stderr(),
            next.stderr()
        );
        drop(next);
    });
}
