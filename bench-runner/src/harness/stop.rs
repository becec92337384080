//! The run's stop request. The first SIGINT or SIGTERM ([`Stop::request`], from `lib.rs`)
//! asks every experiment to stop: it schedules no further visit, and the visit under way is
//! dropped ([`Stop::or_stop`]: its server is killed on drop) and rolled back by the experiment,
//! so the files an interrupted run writes hold finished visits only, each as complete as in a
//! run that got to its end.

use std::sync::Arc;

use tokio::sync::watch;

/// A stop request shared by the run and its experiments (cheap to clone).
#[derive(Debug, Clone)]
pub struct Stop(Arc<watch::Sender<Option<&'static str>>>);

impl Default for Stop {
    fn default() -> Stop {
        Stop::new()
    }
}

impl Stop {
    /// Not requested yet.
    pub fn new() -> Stop {
        Stop(Arc::new(watch::channel(None).0))
    }

    /// Asks the run to stop, naming the signal; later requests keep the first name.
    pub fn request(&self, signal: &'static str) {
        self.0.send_if_modified(|s| {
            let first = s.is_none();
            if first {
                *s = Some(signal);
            }
            first
        });
    }

    /// The signal that asked the run to stop, if one did.
    pub fn requested(&self) -> Option<&'static str> {
        *self.0.borrow()
    }

    /// Resolves once a stop is requested.
    pub async fn wait(&self) -> &'static str {
        let mut rx = self.0.subscribe();
        match rx.wait_for(Option::is_some).await.ok().and_then(|s| *s) {
            Some(signal) => signal,
            // The sender lives in `self`: never closed while this waits.
            None => std::future::pending().await,
        }
    }

    /// Runs `work` to its end (`Some`), or drops it when a stop is requested first (`None`).
    pub async fn or_stop<F: Future>(&self, work: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            out = work => Some(out),
            _ = self.wait() => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_drops_the_work_under_way_and_keeps_its_first_signal() {
        let stop = Stop::new();
        assert_eq!(stop.requested(), None);
        assert_eq!(stop.or_stop(async { 7 }).await, Some(7));
        let later = stop.clone();
        let asker = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            later.request("SIGINT");
            later.request("SIGTERM");
        });
        let never = stop.or_stop(std::future::pending::<()>());
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), never).await,
            Ok(None)
        );
        asker.await.expect("asker");
        assert_eq!(stop.requested(), Some("SIGINT"));
        assert_eq!(stop.wait().await, "SIGINT");
        // Once requested, work that is ready still finishes (biased towards the work).
        assert_eq!(stop.or_stop(async { 1 }).await, Some(1));
    }
}
