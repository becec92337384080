//! The two HTTP clients behind `--client`, both as [`conformance::HttpClient`] so that the
//! conformance checks and the measurement run the same code with either: reqwest (hyper) comes
//! from the conformance crate, surf (async-h1, pure Rust, no TLS) is implemented here.
//!
//! Clients are built once per run and reused for every pair, so building them (and their
//! connection pools) stays off the timed path. The probe gets clients of its own, one per
//! connection of its pool, never queued behind the batch's requests inside the client.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use conformance::{ClientError, HttpClient, HttpResponse, ReqwestClient};

/// `--client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientKind {
    /// reqwest 0.13 (hyper underneath), on bench-runner's tokio runtime.
    Reqwest,
    /// surf 2.3 with its pure-Rust h1 backend (async-h1 on async-std's IO reactor).
    Surf,
}

impl ClientKind {
    /// The name in metadata and CSVs.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Reqwest => "reqwest",
            ClientKind::Surf => "surf",
        }
    }

    /// A new client with its own connection pool. `connections` sizes surf's per-host pool
    /// (reqwest's is unbounded); `timeout` bounds every request.
    pub fn build(
        self,
        timeout: Duration,
        connections: usize,
    ) -> Result<Arc<dyn HttpClient>, ClientError> {
        Ok(match self {
            ClientKind::Reqwest => Arc::new(ReqwestClient::new(timeout)?),
            ClientKind::Surf => Arc::new(SurfClient::new(timeout, connections)?),
        })
    }
}

/// surf's client as a [`HttpClient`]. Keep-alive on, `TCP_NODELAY` on (as reqwest), a pool of
/// `connections` per host (surf's h1 default is 50, which would queue batches above 50 inside
/// the client and charge the queueing to the server).
pub struct SurfClient {
    client: surf::Client,
}

impl std::fmt::Debug for SurfClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SurfClient").finish_non_exhaustive()
    }
}

impl SurfClient {
    /// A client whose every request times out after `timeout`.
    pub fn new(timeout: Duration, connections: usize) -> Result<SurfClient, ClientError> {
        let client = surf::Config::new()
            .set_timeout(Some(timeout))
            .set_http_keep_alive(true)
            .set_tcp_no_delay(true)
            // 0 would deadlock async-h1's pool (it asserts against it).
            .set_max_connections_per_host(connections.max(1))
            .try_into()
            .map_err(|e| transport(&e))?;
        Ok(SurfClient { client })
    }
}

impl HttpClient for SurfClient {
    fn send<'a>(
        &'a self,
        method: &'a str,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, ClientError>> + Send + 'a>> {
        Box::pin(async move {
            let method: surf::http::Method = method.parse().map_err(|e| transport(&e))?;
            let url = surf::Url::parse(url).map_err(|e| transport(&e))?;
            let mut response = self
                .client
                .send(surf::Request::new(method, url))
                .await
                .map_err(|e| transport(&e))?;
            let status = u16::from(response.status());
            let content_type = response.content_type().map(|m| m.to_string());
            let retry_after = response
                .header("retry-after")
                .map(|v| v.as_str().to_owned());
            let allow = response.header("allow").map(|v| v.as_str().to_owned());
            let body = response.body_string().await.map_err(|e| transport(&e))?;
            Ok(HttpResponse {
                status,
                body,
                content_type,
                retry_after,
                allow,
            })
        })
    }
}

/// surf's errors carry no kind; its timeout message is `Request timed out` (http-client's h1).
fn transport(e: &dyn std::fmt::Display) -> ClientError {
    let message = e.to_string();
    if message.to_ascii_lowercase().contains("timed out") {
        ClientError::Timeout(message)
    } else {
        ClientError::Connection(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A one-shot HTTP/1.1 server on port 0 answering every request with `body`.
    fn tiny_server(body: &'static str) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let k = stream.read(&mut buf).expect("read");
                if k == 0 {
                    return;
                }
                seen.extend_from_slice(&buf[..k]);
            }
            let reply = format!(
                "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).expect("write");
        });
        (format!("http://{addr}/x?n=1"), handle)
    }

    #[tokio::test]
    async fn both_clients_read_status_and_body() {
        for kind in ClientKind::value_variants() {
            let (url, server) = tiny_server(r#"{"status":"accepted"}"#);
            let client = kind.build(Duration::from_secs(5), 4).expect("client");
            let response = client.get(&url).await.expect("response");
            assert_eq!(response.status, 202, "{kind:?}");
            assert_eq!(response.body, r#"{"status":"accepted"}"#, "{kind:?}");
            server.join().expect("server thread");
        }
    }

    #[tokio::test]
    async fn surf_reports_refused_connections_as_errors() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let client = SurfClient::new(Duration::from_secs(2), 1).expect("client");
        let result = client.get(&format!("http://127.0.0.1:{port}/health")).await;
        assert!(result.is_err(), "{result:?}");
    }
}
