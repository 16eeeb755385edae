//! The daemon's HTTP endpoint (hyper, HTTP/1.1): `GET /metrics` and `GET /healthz`.
//! Each connection is a task of its own with a deadline for its request headers, so
//! a client that connects and stalls holds only its own task.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use netlens_collectors::metrics::{Format, render};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::Ask;

/// Connections served at once; more wait in the kernel's accept queue.
const CONNECTIONS: usize = 256;

/// How long a client may take to send its request headers.
const HEADER_DEADLINE: Duration = Duration::from_secs(10);

/// How long one connection may stay open, however busy.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(60);

/// Accept connections until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, asks: mpsc::Sender<Ask>) {
    let slots = Arc::new(Semaphore::new(CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // EMFILE and the like: say so, and do not spin.
                tracing::warn!(%error, "accepting a metrics connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let asks = asks.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| respond(request, asks.clone()));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_DEADLINE)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_DEADLINE, connection).await;
            drop(slot);
        });
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

async fn respond(
    request: Request<Incoming>,
    asks: mpsc::Sender<Ask>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        response.headers_mut().insert(ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
        return Ok(response);
    }
    let response = match request.uri().path() {
        "/metrics" => {
            let accept = request.headers().get(ACCEPT).and_then(|value| value.to_str().ok());
            let format = Format::from_accept(accept);
            let (reply, families) = oneshot::channel();
            match asks.send(Ask::Families(reply)).await.ok().and(families.await.ok()) {
                Some(families) => {
                    let body = render(families, format);
                    let mut response = text(StatusCode::OK, body);
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(format.content_type()));
                    response
                }
                None => text(StatusCode::SERVICE_UNAVAILABLE, "netlens is stopping\n"),
            }
        }
        "/healthz" => {
            let (reply, health) = oneshot::channel();
            match asks.send(Ask::Health(reply)).await.ok().and(health.await.ok()) {
                Some(Ok(())) => text(StatusCode::OK, "ok\n"),
                Some(Err(failed)) => text(StatusCode::SERVICE_UNAVAILABLE, format!("failed:\n{failed}\n")),
                None => text(StatusCode::SERVICE_UNAVAILABLE, "netlens is stopping\n"),
            }
        }
        "/" => text(StatusCode::OK, "netlens daemon: /metrics (Prometheus, OpenMetrics), /healthz\n"),
        other => text(StatusCode::NOT_FOUND, format!("{other}: not here; try /metrics or /healthz\n")),
    };
    Ok(response)
}
