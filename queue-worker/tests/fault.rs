//! End to end, with real processes: a `queue-worker` killed with SIGKILL mid-job loses no job.
//! Jobs go in through `common::broker::Broker`, the same bridge the servers use; a
//! `redis-server` of the test's own is the broker (skipped, saying why, only when none is on
//! PATH).

use std::time::{Duration, Instant};

use common::broker::Broker;
use common::queue::BrokerUrl;
use conformance::broker::{RedisServer, Worker, skip_reason};

const WORKER: &str = env!("CARGO_BIN_EXE_queue-worker");

/// About a second per job in a debug build (~45 ns per iteration): long enough to be killed in.
const N: u64 = 20_000_000;

#[test]
fn a_worker_killed_mid_job_loses_no_job() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let redis = RedisServer::start().expect("redis-server");
    let url = BrokerUrl::parse(&redis.url()).expect("url");
    let broker = Broker::connect(&url, common::kernel::DEFAULT.name()).expect("connect");
    let lease = ["--threads", "2", "--lease", "1"];
    let first = Worker::start(WORKER.as_ref(), &redis.url(), &lease).expect("worker");
    futures::executor::block_on(async {
        let mut ids = Vec::new();
        for i in 0..6 {
            let id = broker.enqueue(N + i, 100).await.expect("enqueue");
            ids.push((id.expect("queued, not refused"), N + i));
        }
        // Kill the worker once it is computing a job.
        let until = Instant::now() + Duration::from_secs(60);
        let running = loop {
            let mut found = None;
            for (id, _) in &ids {
                let job = broker.status(*id, false).await.expect("status");
                if job.is_some_and(|j| j.status == "running") {
                    found = Some(*id);
                    break;
                }
            }
            if let Some(id) = found {
                break id;
            }
            assert!(Instant::now() < until, "no job started running");
            std::thread::sleep(Duration::from_millis(20));
        };
        first.kill_hard();
        let job = broker
            .status(running, false)
            .await
            .expect("status")
            .expect("job");
        assert_eq!(job.status, "running", "still running when its worker died");

        // A second worker takes over the dead one's jobs once their lease runs out.
        let second = Worker::start(WORKER.as_ref(), &redis.url(), &lease).expect("worker");
        // Polled rather than waited for, so that a job never taken over fails the test (after a
        // minute: the jobs need a few seconds) instead of hanging it.
        let until = Instant::now() + Duration::from_secs(60);
        for (id, n) in &ids {
            let job = loop {
                let job = broker
                    .status(*id, false)
                    .await
                    .expect("status")
                    .expect("job");
                if job.finished() || Instant::now() > until {
                    break job;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            assert_eq!(
                (job.status.as_str(), job.total),
                ("done", Some(common::kernel::closed_form(*n).to_string())),
                "job {id}"
            );
        }
        let mut second = second;
        assert_eq!(
            second
                .stop_in_place(Duration::from_secs(30))
                .map(|s| s.success()),
            Some(true)
        );
        // The running job (at least) came to the second worker by taking it over, and its
        // own tally, printed when it stops, says so (bench-runner's fault run reads it).
        let taken_over = second.taken_over();
        assert!(
            taken_over.is_some_and(|k| k >= 1),
            "taken over: {taken_over:?}; stderr: {:?}",
            second.stderr()
        );
    });
}
