//! `GET /metrics` over HTTP/1.1 (hyper), rendered from the latest
//! snapshot ([`Snapshot`]: a daemon's `Status`) on each scrape. Runs on the daemon's runtime, current-thread
//! included. Anything but `/metrics` is 404; `/metrics` with a method
//! other than GET or HEAD is 405.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::metrics::Format;
use super::Snapshot;

/// Connections served at once; more are closed on accept. A scraper needs
/// one; the bound keeps a misbehaving client from exhausting the daemon.
const MAX_CONNECTIONS: usize = 32;

/// How long a client may take to send a request's headers: a connection
/// that says nothing is closed rather than held forever.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds the `/metrics` listener (port 0 picks a free port; see
/// [`TcpListener::local_addr`]).
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `/metrics` on `listener` from the snapshots of `status`, until
/// the task running it is dropped or aborted (which closes every
/// connection too).
pub async fn serve_metrics<S: Snapshot>(listener: TcpListener, status: watch::Receiver<S>) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: back off and go on
                // rather than end the endpoint for good.
                tracing::warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            tracing::debug!(%peer, "metrics: too many connections, closing");
            continue;
        }
        let status = status.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let response = respond(&req, &status);
                async move { Ok::<_, Infallible>(response) }
            });
            let result = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "metrics: connection ended with an error");
            }
        });
    }
}

/// The response to one request.
fn respond<S: Snapshot>(
    req: &Request<Incoming>,
    status: &watch::Receiver<S>,
) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "not found: try /metrics\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    // Render under the borrow (no await here), so the daemon's next
    // publication is not held up by more than one rendering.
    let body = status.borrow().render_metrics(format);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    r
}

fn plain(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = code;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
