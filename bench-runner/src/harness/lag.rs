//! The server's own executor lag, one window per round (`POST /lag/window`).
//!
//! Our servers run a heartbeat task on their own executor that sleeps a fixed interval and
//! records how late it wakes (`--lag-interval-us`, 1 ms by default). `POST /lag/window`
//! closes the current window and opens the next in one step, under one lock, and answers the
//! closed window's figures: every heartbeat sample belongs to exactly one window. bench-runner
//! calls it right before a batch's clock starts (discarding the answer: everything before the
//! batch) and right after the batch, and for `/background` the jobs' completion, ends; the
//! second answer is that round's window, plus the few milliseconds until the call is served.
//!
//! A server without `/lag` (404; an external target is never asked) leaves the lag columns
//! blank; one started with `--no-lag-monitor` answers `"enabled": false` and no samples.

/// The figures of one closed lag window, as the server sent them: the servers' own type.
pub use common::LagReport as LagWindow;

/// What `POST /lag/window` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LagAnswer {
    /// The closed window.
    Window(LagWindow),
    /// The server has no `/lag` (404 or 405): the lag columns stay blank.
    Unsupported(u16),
}

/// Reads the answer to `POST /lag/window`: status and body.
pub fn parse_answer(status: u16, body: &str) -> Result<LagAnswer, String> {
    match status {
        200 => serde_json::from_str(body)
            .map(LagAnswer::Window)
            .map_err(|e| format!("POST /lag/window: unreadable body: {e}")),
        404 | 405 => Ok(LagAnswer::Unsupported(status)),
        other => Err(format!("POST /lag/window: status {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specified_answer_is_read() {
        // The shape of /tmp/plan/lag.md, with the tokio server's extra object.
        let body = r#"{"enabled":true,"interval_us":1000,"window":7,"window_age_us":123456,
            "samples":812,"p50_us":62,"p90_us":80,"p99_us":140,"max_us":2100,
            "since_start":{"samples":9000,"p50_us":60,"p99_us":150,"max_us":5000},
            "tokio":{"workers":2,"busy_us":[1,2],"busy_us_total":3,"window_busy_us_total":3}}"#;
        let LagAnswer::Window(w) = parse_answer(200, body).expect("read") else {
            panic!("not a window")
        };
        assert_eq!(
            (w.window, w.samples, w.p50_us, w.p99_us, w.max_us),
            (7, 812, 62, 140, 2100)
        );
        assert!(w.has_samples());
        let off = r#"{"enabled":false,"interval_us":1000,"window":2,"window_age_us":5,
            "samples":0,"p50_us":0,"p90_us":0,"p99_us":0,"max_us":0,
            "since_start":{"samples":0,"p50_us":0,"p99_us":0,"max_us":0}}"#;
        let LagAnswer::Window(w) = parse_answer(200, off).expect("read") else {
            panic!("not a window")
        };
        assert!(!w.has_samples());
    }

    #[test]
    fn servers_without_lag_and_bad_answers() {
        assert_eq!(parse_answer(404, "{}"), Ok(LagAnswer::Unsupported(404)));
        assert_eq!(parse_answer(405, ""), Ok(LagAnswer::Unsupported(405)));
        assert!(parse_answer(500, "{}").is_err());
        assert!(parse_answer(200, "{\"samples\":1}").is_err());
    }
}
