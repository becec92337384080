//! The four HTTP clients behind `--client`, all as [`conformance::HttpClient`] so that the
//! conformance checks and the measurement run the same code with any:
//! - [`WireClient`] (`wire`, the default): HTTP/1.1 written and read by bench-runner itself in
//!   the request's own task (`client/wire.rs`): the leanest, so the client takes the least
//!   from the cores it shares with the server;
//! - [`HyperClient`] (`hyper`): hyper's own HTTP/1 connections, each with a task of its own;
//! - reqwest (hyper underneath, with its own pool, URL handling and timers) from the
//!   conformance crate;
//! - surf (async-h1, pure Rust, no TLS), implemented here.
//!
//! The wire and hyper clients share one connection pool (`client/pool.rs`). Clients are built
//! once per run and reused for every pair, so building them (and their connection pools)
//! stays off the timed path. The probe gets clients of its own, one per connection of its
//! pool, never queued behind the batch's requests inside the client.

mod pool;
mod wire;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use conformance::{ClientError, HttpClient, HttpResponse, ReqwestClient};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

pub use pool::MAX_CONNECTING;
use pool::{Connection, Pool};
pub use wire::WireClient;

/// What a client's `send` returns.
type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, ClientError>> + Send + 'a>>;

/// `--client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientKind {
    /// HTTP/1.1 written and read by bench-runner on pooled TCP connections, in the request's
    /// own task.
    Wire,
    /// hyper 1's HTTP/1 connections (`hyper::client::conn::http1`), pooled by bench-runner on
    /// the runtime that uses them.
    Hyper,
    /// reqwest 0.13 (hyper underneath), on bench-runner's tokio runtime.
    Reqwest,
    /// surf 2.3 with its pure-Rust h1 backend (async-h1 on async-std's IO reactor).
    Surf,
}

impl ClientKind {
    /// The name in metadata and CSVs.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Wire => "wire",
            ClientKind::Hyper => "hyper",
            ClientKind::Reqwest => "reqwest",
            ClientKind::Surf => "surf",
        }
    }

    /// A new client with its own connection pool. `connections` bounds the wire, hyper and
    /// surf clients' connections per host (reqwest's are unbounded); `timeout` bounds every
    /// request.
    pub fn build(
        self,
        timeout: Duration,
        connections: usize,
    ) -> Result<Arc<dyn HttpClient>, ClientError> {
        Ok(match self {
            ClientKind::Wire => Arc::new(WireClient::new(timeout, connections)),
            ClientKind::Hyper => Arc::new(HyperClient::new(timeout, connections)),
            ClientKind::Reqwest => Arc::new(ReqwestClient::new(timeout)?),
            ClientKind::Surf => Arc::new(SurfClient::new(timeout, connections)?),
        })
    }
}

/// `exchange`, given up after `timeout`: the wire and hyper clients' `send`.
async fn within(
    timeout: Duration,
    url: &str,
    exchange: impl Future<Output = Result<HttpResponse, ClientError>>,
) -> Result<HttpResponse, ClientError> {
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ClientError::Timeout(format!("{url}: no answer within {timeout:?}")))?
}

/// Where an `http://` URL's request goes: the origin to connect to (`host:port`), the
/// `Host` header's authority, and the request target.
struct Target {
    origin: String,
    authority: String,
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, ClientError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| ClientError::Other(format!("{url}: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(ClientError::Other(format!("{url}: only http:// URLs")));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| ClientError::Other(format!("{url}: no host")))?;
        Ok(Target {
            origin: match authority.port_u16() {
                Some(_) => authority.as_str().to_owned(),
                None => format!("{}:80", authority.host()),
            },
            authority: authority.as_str().to_owned(),
            path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        })
    }
}

/// hyper's HTTP/1 connections as a [`HttpClient`]: one request at a time per connection
/// (no pipelining), taken from the [`Pool`] or opened (`TCP_NODELAY`), and given back once its
/// answer is read whole. Each connection's task runs on the runtime that opened it, so a
/// client is used on one runtime (bench-runner builds one per runtime: the generator's, the
/// probe's, the main one). No URL crate, no timer but the timeout, no header it does not need.
#[derive(Debug)]
pub struct HyperClient {
    timeout: Duration,
    pool: Pool<Sender>,
}

/// One connection's request side.
type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

impl Connection for Sender {
    fn is_closed(&self) -> bool {
        hyper::client::conn::http1::SendRequest::is_closed(self)
    }
}

impl HyperClient {
    /// A client whose every request gives up after `timeout`, with at most `max` connections
    /// per origin (at least 1).
    pub fn new(timeout: Duration, max: usize) -> HyperClient {
        HyperClient {
            timeout,
            pool: Pool::new(max),
        }
    }

    async fn open(origin: &str) -> Result<Sender, ClientError> {
        let stream = tokio::net::TcpStream::connect(origin)
            .await
            .map_err(|e| ClientError::Connection(format!("connecting to {origin}: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| ClientError::Connection(format!("TCP_NODELAY: {e}")))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Connection(format!("handshake with {origin}: {e}")))?;
        // Ends when the server closes the connection or every sender is dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    async fn exchange(&self, method: &str, url: &str) -> Result<HttpResponse, ClientError> {
        let target = Target::parse(url)?;
        let method = hyper::Method::from_bytes(method.as_bytes())
            .map_err(|e| ClientError::Other(e.to_string()))?;
        let request = hyper::Request::builder()
            .method(method)
            .uri(target.path_and_query.as_str())
            .header(hyper::header::HOST, target.authority.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(|e| ClientError::Other(e.to_string()))?;
        let mut lease = self
            .pool
            .lease(&target.origin, || Self::open(&target.origin))
            .await?;
        let Some(sender) = lease.conn() else {
            return Err(ClientError::Connection(format!("{url}: no connection")));
        };
        sender
            .ready()
            .await
            .map_err(|e| ClientError::Connection(format!("{url}: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Connection(format!("{url}: {e}")))?;
        let mut answer = HttpResponse::head(response.status().as_u16(), response.headers());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Connection(format!("{url}: reading the body: {e}")))?
            .to_bytes();
        // Read whole: the connection can serve the next request.
        lease.finish();
        answer.body = String::from_utf8(Vec::from(body))
            .map_err(|e| ClientError::Other(format!("{url}: the body is not UTF-8: {e}")))?;
        Ok(answer)
    }
}

impl HttpClient for HyperClient {
    fn send<'a>(&'a self, method: &'a str, url: &'a str) -> ResponseFuture<'a> {
        Box::pin(within(self.timeout, url, self.exchange(method, url)))
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
    fn send<'a>(&'a self, method: &'a str, url: &'a str) -> ResponseFuture<'a> {
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

    /// A keep-alive HTTP/1.1 server on port 0 answering every request with 200 after `delay`,
    /// a thread per connection; counts the connections it accepted.
    fn counting_server(delay: Duration) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while let Ok(read) = conn.read(&mut chunk) {
                        if read == 0 {
                            return;
                        }
                        seen.extend_from_slice(&chunk[..read]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            std::thread::sleep(delay);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if conn.write_all(answer).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (format!("http://{addr}/health"), accepted)
    }

    /// hyper's pool reuses a connection for requests one after another, opens one per
    /// request in flight when they overlap, up to its bound, and answers them all.
    #[tokio::test]
    async fn the_hyper_pool_reuses_its_connections() {
        use std::sync::atomic::Ordering;
        let (url, accepted) = counting_server(Duration::ZERO);
        let client = HyperClient::new(Duration::from_secs(5), 12);
        for _ in 0..10 {
            let r = client.get(&url).await.expect("answer");
            assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        // 12 at once against a server that takes 200 ms each: 12 connections, each opened
        // while at most MAX_CONNECTING others were being opened.
        let (url, accepted) = counting_server(Duration::from_millis(200));
        let all = futures::future::join_all((0..12).map(|_| client.get(&url))).await;
        assert!(all.iter().all(|r| matches!(r, Ok(r) if r.status == 200)));
        assert_eq!(accepted.load(Ordering::SeqCst), 12);
        // Then reused, and bounded: 24 at once go over the same 12 connections, the last 12
        // waiting for one, and are all answered.
        let again = futures::future::join_all((0..24).map(|_| client.get(&url))).await;
        assert!(again.iter().all(|r| r.is_ok()));
        assert_eq!(accepted.load(Ordering::SeqCst), 12);
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
