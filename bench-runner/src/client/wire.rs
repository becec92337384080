//! `--client wire`: HTTP/1.1 written and read by bench-runner itself on pooled tokio TCP
//! streams, in the request's own task: no connection task, no channel between the request and
//! its connection, no body stream. Each request costs the sender a write, a read and its part
//! of the reactor's wait, as in wrk. Measured on the generator's real-time thread at 16,000
//! requests/s, three runs each, interleaved: 52–57 µs of CPU per request against hyper's
//! client's 58 µs. The larger cost was the thread's wake-up per request, which the generator's
//! resolution removes (`harness::generator::RESOLUTION`; docs/results-format.md, the
//! generator's ceiling).
//!
//! What it reads: a status line and headers (httparse), then a body framed by
//! `content-length`, by `transfer-encoding: chunked`, or by the server closing the connection;
//! none for `HEAD`, 1xx, 204 and 304. A connection is reused unless the answer says
//! `connection: close`, is HTTP/1.0, or ran to the connection's end. A reused connection the
//! server had closed unseen fails before any byte of an answer: a `GET` is then sent once more
//! on a new connection (as browsers and hyper's pooled clients do for idempotent requests).

use std::time::Duration;

use conformance::{ClientError, HttpClient, HttpResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::pool::{Connection, Pool};
use super::{ResponseFuture, Target, within};

/// Headers read from one answer, at most.
const MAX_HEADERS: usize = 64;
/// Bytes read per read call, at least.
const READ_CHUNK: usize = 8 * 1024;

/// The wire client: [`Pool`]ed [`Wire`] connections, a timeout per request.
#[derive(Debug)]
pub struct WireClient {
    timeout: Duration,
    pool: Pool<Wire>,
}

/// One connection and what was read from it but not yet used.
#[derive(Debug)]
pub(super) struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
    /// `buf[pos..]` is unread.
    pos: usize,
}

impl Connection for Wire {
    fn is_closed(&self) -> bool {
        // Readable while idle means the server closed it (or sent what nobody asked for):
        // either way it cannot serve a request. The reactor's cached readiness answers
        // without a system call while nothing arrived.
        let mut byte = [0u8; 1];
        let idle = self.stream.try_read(&mut byte);
        !matches!(idle, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

/// How an answer's body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// What a request's exchange came to.
enum Failure {
    /// The connection ended before any byte of an answer: on a reused connection, the server
    /// had closed it; a `GET` may be sent again.
    Unanswered(String),
    /// Anything else.
    Other(ClientError),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Other(e)
    }
}

fn io(url: &str, what: &str, e: &std::io::Error) -> ClientError {
    ClientError::Connection(format!("{url}: {what}: {e}"))
}

impl Wire {
    async fn open(origin: &str) -> Result<Wire, ClientError> {
        let stream = TcpStream::connect(origin)
            .await
            .map_err(|e| ClientError::Connection(format!("connecting to {origin}: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| ClientError::Connection(format!("TCP_NODELAY: {e}")))?;
        Ok(Wire {
            stream,
            buf: Vec::with_capacity(READ_CHUNK),
            pos: 0,
        })
    }

    /// Reads more into the buffer; 0 at the connection's end.
    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.reserve(READ_CHUNK);
        self.stream.read_buf(&mut self.buf).await
    }

    /// At least `n` unread bytes, or an error at the connection's end.
    async fn want(&mut self, n: usize, url: &str) -> Result<(), ClientError> {
        while self.buf.len() - self.pos < n {
            if self.fill().await.map_err(|e| io(url, "reading", &e))? == 0 {
                return Err(ClientError::Connection(format!(
                    "{url}: the connection ended inside the answer"
                )));
            }
        }
        Ok(())
    }

    /// Takes `n` unread bytes (which must be there).
    fn take(&mut self, n: usize) -> &[u8] {
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        bytes
    }

    /// One line of a chunked body, without its CRLF.
    async fn line(&mut self, url: &str) -> Result<String, ClientError> {
        loop {
            if let Some(end) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(self.take(end)).into_owned();
                self.pos += 2;
                return Ok(line);
            }
            if self.fill().await.map_err(|e| io(url, "reading", &e))? == 0 {
                return Err(ClientError::Connection(format!(
                    "{url}: the connection ended inside a chunked body"
                )));
            }
        }
    }

    /// Sends one request and reads its answer whole. `Ok(true)` with the answer when the
    /// connection can serve another request.
    async fn exchange(
        &mut self,
        request: &[u8],
        head_only: bool,
        url: &str,
    ) -> Result<(HttpResponse, bool), Failure> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| Failure::Unanswered(format!("{url}: writing: {e}")))?;
        // The head: parsed again as more arrives (answers here are one read).
        let (mut answer, framing, mut reusable) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut head = httparse::Response::new(&mut headers);
            match head.parse(&self.buf[self.pos..]) {
                Ok(httparse::Status::Complete(len)) => {
                    let parsed = read_head(&head, head_only, url)?;
                    self.pos += len;
                    break parsed;
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => {
                    return Err(
                        ClientError::Other(format!("{url}: a malformed answer: {e}")).into(),
                    );
                }
            }
            let nothing_yet = self.pos == self.buf.len();
            match self.fill().await {
                Ok(0) | Err(_) if nothing_yet => {
                    return Err(Failure::Unanswered(format!(
                        "{url}: the connection ended before an answer"
                    )));
                }
                Ok(0) => {
                    return Err(ClientError::Connection(format!(
                        "{url}: the connection ended inside the answer's head"
                    ))
                    .into());
                }
                Ok(_) => {}
                Err(e) => return Err(io(url, "reading", &e).into()),
            }
        };
        let body = match framing {
            Framing::None => Vec::new(),
            Framing::Length(n) => {
                self.want(n, url).await?;
                self.take(n).to_vec()
            }
            Framing::Chunked => {
                let mut body = Vec::new();
                loop {
                    let line = self.line(url).await?;
                    let size = line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size, 16).map_err(|_| {
                        ClientError::Other(format!("{url}: a bad chunk size {line:?}"))
                    })?;
                    if size == 0 {
                        // Trailers, if any, up to the empty line.
                        while !self.line(url).await?.is_empty() {}
                        break;
                    }
                    self.want(size + 2, url).await?;
                    body.extend_from_slice(self.take(size));
                    self.pos += 2;
                }
                body
            }
            Framing::UntilClose => {
                while self.fill().await.map_err(|e| io(url, "reading", &e))? > 0 {}
                reusable = false;
                let rest = self.buf.len() - self.pos;
                self.take(rest).to_vec()
            }
        };
        // Bytes beyond the answer were never asked for: the connection is out of step.
        reusable &= self.pos == self.buf.len();
        answer.body = String::from_utf8(body)
            .map_err(|e| ClientError::Other(format!("{url}: the body is not UTF-8: {e}")))?;
        Ok((answer, reusable))
    }
}

/// The answer's status and the headers the checks read, how its body is framed, and whether
/// the connection may be reused.
fn read_head(
    head: &httparse::Response<'_, '_>,
    head_only: bool,
    url: &str,
) -> Result<(HttpResponse, Framing, bool), ClientError> {
    let status = head
        .code
        .ok_or_else(|| ClientError::Other(format!("{url}: an answer without a status")))?;
    let mut map = http::HeaderMap::new();
    let mut framing = Framing::UntilClose;
    let mut reusable = head.version == Some(1);
    for h in head.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = value.parse().map_err(|_| {
                ClientError::Other(format!("{url}: a bad content-length {value:?}"))
            })?;
            if framing != Framing::Chunked {
                framing = Framing::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().ends_with("chunked") {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            reusable &= !value.eq_ignore_ascii_case("close");
        } else if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(h.name.as_bytes()),
            http::HeaderValue::from_bytes(h.value),
        ) {
            map.append(name, value);
        }
    }
    if head_only || matches!(status, 100..=199 | 204 | 304) {
        framing = Framing::None;
    }
    Ok((HttpResponse::head(status, &map), framing, reusable))
}

impl WireClient {
    /// A client whose every request gives up after `timeout`, with at most `max` connections
    /// per origin (at least 1).
    pub fn new(timeout: Duration, max: usize) -> WireClient {
        WireClient {
            timeout,
            pool: Pool::new(max),
        }
    }

    async fn exchange(&self, method: &str, url: &str) -> Result<HttpResponse, ClientError> {
        let target = Target::parse(url)?;
        let mut request = format!(
            "{method} {} HTTP/1.1\r\nhost: {}\r\n",
            target.path_and_query, target.authority
        );
        if !matches!(method, "GET" | "HEAD") {
            request.push_str("content-length: 0\r\n");
        }
        request.push_str("\r\n");
        // A GET may be sent twice: once more when a reused connection turns out closed.
        let mut tries = if method == "GET" { 2 } else { 1 };
        loop {
            tries -= 1;
            let mut lease = self
                .pool
                .lease(&target.origin, || Wire::open(&target.origin))
                .await?;
            let reused = lease.reused();
            let Some(wire) = lease.conn() else {
                return Err(ClientError::Connection(format!("{url}: no connection")));
            };
            match wire
                .exchange(request.as_bytes(), method == "HEAD", url)
                .await
            {
                Ok((answer, reusable)) => {
                    if reusable {
                        lease.finish();
                    }
                    return Ok(answer);
                }
                Err(Failure::Unanswered(_)) if reused && tries > 0 => continue,
                Err(Failure::Unanswered(message)) => {
                    return Err(ClientError::Connection(message));
                }
                Err(Failure::Other(e)) => return Err(e),
            }
        }
    }
}

impl HttpClient for WireClient {
    fn send<'a>(&'a self, method: &'a str, url: &'a str) -> ResponseFuture<'a> {
        Box::pin(within(self.timeout, url, self.exchange(method, url)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A server on port 0 that answers each request on a connection with the next of
    /// `answers` (written in pieces of `piece` bytes, to split heads and bodies across reads),
    /// then closes the connection; counts the connections it accepted.
    fn scripted(answers: Vec<&'static str>, piece: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let answers = answers.clone();
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut chunk = [0u8; 1024];
                    for answer in answers {
                        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                            match conn.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(k) => seen.extend_from_slice(&chunk[..k]),
                            }
                        }
                        let end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
                        seen.drain(..end + 4);
                        for part in answer.as_bytes().chunks(piece) {
                            if conn.write_all(part).is_err() {
                                return;
                            }
                            let _ = conn.flush();
                            std::thread::sleep(Duration::from_millis(2));
                        }
                    }
                });
            }
        });
        (format!("http://{addr}/x"), accepted)
    }

    #[tokio::test]
    async fn reads_lengths_chunks_and_heads_split_across_reads() {
        let (url, accepted) = scripted(
            vec![
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello",
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nbus\r\n1\r\ny\r\n0\r\ntrailer: t\r\n\r\n",
                "HTTP/1.1 204 No Content\r\n\r\n",
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            ],
            7,
        );
        let client = WireClient::new(Duration::from_secs(5), 4);
        let a = client.get(&url).await.expect("first");
        assert_eq!((a.status, a.body.as_str()), (200, "hello"));
        assert_eq!(a.content_type.as_deref(), Some("text/plain"));
        let b = client.get(&url).await.expect("chunked");
        assert_eq!((b.status, b.body.as_str()), (503, "busy"));
        assert_eq!(b.retry_after.as_deref(), Some("1"));
        let c = client.get(&url).await.expect("no content");
        assert_eq!((c.status, c.body.as_str()), (204, ""));
        let d = client.get(&url).await.expect("fourth");
        assert_eq!((d.status, d.body.as_str()), (200, "ok"));
        // All four on one kept-alive connection.
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    /// The server closes the connection after each answer (unannounced, or with
    /// `connection: close`, or by ending a body that had no length): every next GET still gets
    /// its answer, on a new connection.
    #[tokio::test]
    async fn a_connection_the_server_closed_is_not_reused() {
        for answer in [
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
            "HTTP/1.1 200 OK\r\n\r\nok",
        ] {
            let (url, accepted) = scripted(vec![answer], 64);
            let client = WireClient::new(Duration::from_secs(5), 4);
            for _ in 0..3 {
                let r = client.get(&url).await.expect("answer");
                assert_eq!((r.status, r.body.as_str()), (200, "ok"), "{answer:?}");
            }
            assert_eq!(accepted.load(Ordering::SeqCst), 3, "{answer:?}");
        }
    }

    #[tokio::test]
    async fn a_malformed_answer_is_an_error() {
        let (url, _) = scripted(vec!["SMTP ready\r\n\r\n"], 64);
        let client = WireClient::new(Duration::from_secs(5), 1);
        let e = client.get(&url).await.expect_err("not HTTP");
        assert!(e.to_string().contains("malformed"), "{e}");
    }
}
