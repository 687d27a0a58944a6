//! Serves the router on a listener, connection by connection, with the limits axum's own `serve` leaves out: a
//! client gets a bounded time to send a request's headers and its body, so slow clients cannot hold connections
//! open; on shutdown, in-flight requests finish first.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::Request;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long clients may take to send what they send.
#[derive(Clone, Copy, Debug)]
pub struct ReadTimeouts {
    pub headers: Duration,
    pub body: Duration,
}

/// Accepts connections on `listener` and serves `router` on each until `shutdown` resolves; then stops accepting
/// and waits for the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: ReadTimeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router =
        router.layer(axum::middleware::from_fn(move |request, next| body_deadline(request, next, timeouts.body)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(timeouts.headers);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "a connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// Gives the request's body a deadline: reading it fails once `limit` has passed since the request arrived. A
/// request without a body (most calls through the proxy) is passed on as it is, with no timer to set.
async fn body_deadline(request: Request<Body>, next: axum::middleware::Next, limit: Duration) -> Response {
    if http_body::Body::is_end_stream(request.body()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(DeadlineBody { inner: body, deadline: Box::pin(tokio::time::sleep(limit)), expired: false });
    next.run(Request::from_parts(parts, body)).await
}

/// Why a body read failed: the client took too long.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// A body that fails with [`BodyTimedOut`] when its deadline passes before it has all arrived.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.expired {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                self.expired = true;
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
