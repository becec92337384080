//! The HTTP client the checks go through: a minimal trait, so bench-runner can run the same
//! verification with reqwest or surf, and its reqwest implementation.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What the checks need of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body as text.
    pub body: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Retry-After` header, if any (503s).
    pub retry_after: Option<String>,
    /// The `Allow` header, if any (405s).
    pub allow: Option<String>,
}

impl HttpResponse {
    /// A response's status and the headers the checks read, from any client built on the
    /// `http` crate (hyper, reqwest); its body is set once read.
    pub fn head(status: u16, headers: &http::HeaderMap) -> HttpResponse {
        let header = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        HttpResponse {
            status,
            body: String::new(),
            content_type: header(http::header::CONTENT_TYPE),
            retry_after: header(http::header::RETRY_AFTER),
            allow: header(http::header::ALLOW),
        }
    }
}

/// A request that got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer within the client's timeout.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Connection refused, reset, closed early...
    #[error("connection: {0}")]
    Connection(String),
    /// Anything else (a bad URL, a body that is not text).
    #[error("{0}")]
    Other(String),
}

impl ClientError {
    /// A short label for counting errors by kind: `timeout`, `connection` or `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Timeout(_) => "timeout",
            ClientError::Connection(_) => "connection",
            ClientError::Other(_) => "other",
        }
    }
}

/// A boxed response future.
pub type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, ClientError>> + Send + 'a>>;

/// An HTTP/1.1 client: enough for the checks and for load.
pub trait HttpClient: Send + Sync {
    /// Sends a request with an empty body and reads the whole response.
    fn send<'a>(&'a self, method: &'a str, url: &'a str) -> ResponseFuture<'a>;

    /// `GET url`.
    fn get<'a>(&'a self, url: &'a str) -> ResponseFuture<'a> {
        self.send("GET", url)
    }
}

/// reqwest (pure Rust, no TLS). Needs a tokio runtime.
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    /// A client whose every request gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<ReqwestClient, ClientError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Other(e.to_string()))?;
        Ok(ReqwestClient { client })
    }
}

impl HttpClient for ReqwestClient {
    fn send<'a>(&'a self, method: &'a str, url: &'a str) -> ResponseFuture<'a> {
        Box::pin(async move {
            let method = reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|e| ClientError::Other(e.to_string()))?;
            let response = self
                .client
                .request(method, url)
                .send()
                .await
                .map_err(classify)?;
            let mut answer = HttpResponse::head(response.status().as_u16(), response.headers());
            answer.body = response.text().await.map_err(classify)?;
            Ok(answer)
        })
    }
}

fn classify(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        ClientError::Timeout(e.to_string())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ClientError::Connection(format!("{e:#}"))
    } else {
        ClientError::Other(e.to_string())
    }
}
