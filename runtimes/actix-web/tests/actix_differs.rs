//! Where actix-web differs from the work-stealing servers by design (see the crate docs): the
//! accept thread deals connections out to the workers in turn, busy or not, and a connection
//! stays on its worker. So with two workers and one of them blocked by an inline request, a
//! request on a connection of the blocked worker waits for it (keep-alive connections opened
//! before the block, and new connections dealt to it after) while the other worker answers at
//! once. On a work-stealing runtime an idle worker would take those connections' tasks.

use std::path::Path;
use std::time::{Duration, Instant};

use conformance::{ServerProcess, raw};
use tokio::net::TcpStream;

const BINARY: &str = env!("CARGO_BIN_EXE_server-actix-web");
/// How long the blocking request should take alone.
const HEAVY: Duration = Duration::from_millis(800);

async fn timed_health(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let r = raw::get(stream, "/health").await.expect("/health answered");
    assert_eq!(r.status, 200, "{}", r.body);
    start.elapsed()
}

#[test]
fn a_blocked_worker_holds_up_its_own_connections_while_the_other_worker_answers() {
    let server = ServerProcess::start(
        Path::new(BINARY),
        &["--workers".into(), "2".into()],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let addr = server.addr();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Four keep-alive connections, opened one after another: dealt out w, w', w, w'.
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(TcpStream::connect(addr).await.expect("connect"));
        }
        // Calibrate on connection 0: n such that a lone /cycle takes about HEAVY.
        let mut n: u64 = 1_000_000;
        let mut alone = Duration::ZERO;
        for _ in 0..10 {
            let start = Instant::now();
            let r = raw::get(&mut conns[0], &format!("/cycle?n={n}"))
                .await
                .expect("/cycle");
            assert_eq!(r.status, 200, "{}", r.body);
            alone = start.elapsed();
            if alone >= HEAVY {
                break;
            }
            let factor = (HEAVY.as_secs_f64() / alone.as_secs_f64().max(1e-4)).clamp(2.0, 50.0);
            n = (n as f64 * factor) as u64;
        }
        assert!(alone >= HEAVY, "could not calibrate: {alone:?} at n={n}");

        let (first, rest) = conns.split_first_mut().expect("four connections");
        let heavy = async {
            let r = raw::get(first, &format!("/cycle?n={n}"))
                .await
                .expect("/cycle");
            assert_eq!(r.status, 200, "{}", r.body);
        };
        let probes = async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            // Two new connections, opened while worker w is blocked: dealt to w and w'.
            let mut fresh = Vec::new();
            for _ in 0..2 {
                fresh.push(TcpStream::connect(addr).await.expect("connect"));
            }
            let kept = futures::future::join_all(rest.iter_mut().map(timed_health));
            let new = futures::future::join_all(fresh.iter_mut().map(timed_health));
            tokio::join!(kept, new)
        };
        let ((), (kept, new)) = tokio::join!(heavy, probes);
        eprintln!(
            "lone /cycle {alone:?}; /health meanwhile on kept connections {kept:?}, on new ones {new:?}"
        );
        // Wide margins: waiting means most of the ~650 ms left of the block, answering at once
        // means well under a quarter of it (debug build, shared cores).
        let waited = |d: &Duration| *d >= alone / 3;
        let prompt = |d: &Duration| *d < alone / 4;
        assert!(
            kept.iter().any(waited) && kept.iter().any(prompt),
            "keep-alive connections: one on the blocked worker should wait, one on the other \
             should not: {kept:?} (lone /cycle {alone:?})"
        );
        assert!(
            new.iter().any(waited) && new.iter().any(prompt),
            "new connections: dealt to both workers, busy or not: {new:?} (lone /cycle {alone:?})"
        );
    });
}
