//! Helpers shared by the unit tests.

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Drives a future to completion by polling it in a loop. Enough for our futures, which wait
/// only on their own yields or on pool threads that make progress by themselves.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
