//! A server of your own, measured by bench-runner with `--url`: `/health` for the probe and one
//! CPU-bound kernel run two ways, `/cycle` in the async handler and `/rayon` on rayon's pool
//! (sized to the cores) awaited through a oneshot channel. Both answer `?n=N` with
//! `{"total":"<decimal>"}`, the sum of `i * i` for `i` in `0..n`: what bench-runner checks
//! (docs/servers.md, "Measuring your own server"). It serves no other route: bench-runner
//! measures these two and names the strategies it skipped.
//!
//! Run with
//! ```text
//! cargo run --release -p server-tokio-axum --example own_server -- --bind 127.0.0.1:8001
//! cargo run --release -p bench-runner -- --url http://127.0.0.1:8001
//! ```

use axum::http::{StatusCode, header};
use axum::{Router, extract::RawQuery, response::IntoResponse, routing::get};

/// The work: `black_box` keeps the loop a loop (LLVM folds the plain sum into a closed form).
fn sum_squares(n: u64) -> u128 {
    (0..n)
        .map(|i| std::hint::black_box(u128::from(i) * u128::from(i)))
        .sum()
}

/// `n` from `?n=N` (10^7 without it), and the answer.
fn n(query: Option<String>) -> u64 {
    let q = query.unwrap_or_default();
    q.split('&')
        .find_map(|kv| kv.strip_prefix("n=")?.parse().ok())
        .unwrap_or(10_000_000)
}
fn answer(total: u128) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"total":"{total}"}}"#),
    )
}

async fn cycle(RawQuery(q): RawQuery) -> impl IntoResponse {
    answer(sum_squares(n(q)))
}

async fn rayon(RawQuery(q): RawQuery) -> Result<impl IntoResponse, StatusCode> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let n = n(q);
    rayon::spawn(move || {
        let _ = tx.send(sum_squares(n));
    });
    rx.await
        .map(answer)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().skip_while(|a| a != "--bind").nth(1);
    let addr = addr.unwrap_or_else(|| "127.0.0.1:8001".into());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/cycle", get(cycle))
        .route("/rayon", get(rayon));
    axum::serve(listener, app).await?;
    Ok(())
}
