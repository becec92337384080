//! Raw HTTP/1.1 over a TCP socket, for what a well-behaved client library will not do: hold a
//! thousand connections open at once, send headers that never end, or headers far too large.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The status line's code, the headers the checks read, and the body of one response read
/// from `stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// The `Allow` header, if any (405s).
    pub allow: Option<String>,
    /// Body (by `Content-Length`).
    pub body: String,
}

/// Sends `GET path` on an open connection (keep-alive) and reads one response.
pub async fn get(stream: &mut TcpStream, path: &str) -> std::io::Result<RawResponse> {
    send(stream, "GET", path).await
}

/// Sends `method path` with no body on an open connection (keep-alive) and reads one response.
pub async fn send(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
) -> std::io::Result<RawResponse> {
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    read_response(stream).await
}

/// Reads one response with a `Content-Length` body.
pub async fn read_response(stream: &mut TcpStream) -> std::io::Result<RawResponse> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let header = |wanted: &str| {
        head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case(wanted)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let allow = header("allow");
    while buf.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..read]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    Ok(RawResponse {
        status,
        allow,
        body,
    })
}

/// What the server did with a request it should refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It answered with this status.
    Status(u16),
    /// It closed (or reset) the connection without an answer.
    Closed,
}

/// Sends `bytes` (which may never complete a request) and waits up to `timeout` for the server
/// to answer or close. `None` if it did neither: the connection is still held.
pub async fn send_and_wait(
    addr: std::net::SocketAddr,
    bytes: &[u8],
    timeout: Duration,
) -> Option<Refusal> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    // A server may close before reading everything: a failed write is a close.
    if stream.write_all(bytes).await.is_err() {
        return Some(Refusal::Closed);
    }
    match tokio::time::timeout(timeout, read_response(&mut stream)).await {
        Err(_) => None,
        Ok(Ok(r)) => Some(Refusal::Status(r.status)),
        Ok(Err(_)) => Some(Refusal::Closed),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
