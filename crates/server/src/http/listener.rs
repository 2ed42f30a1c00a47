//! The listener: connections accepted, bounded, upgraded to TLS, and
//! served HTTP/1.1 until the server stops.

use std::sync::Arc;

use crate::http::front;
use crate::http::state::AppState;
use crate::infra::connections;

/// The answer to a connection that cannot be taken: 503, then closed.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    let body = "{\"error\":\"this server has as many connections as it can keep: try again\"}";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        stream.write_all(answer.as_bytes()),
    )
    .await;
}

/// How long a client may take to send a request's headers, from its
/// connection or its previous answer (a connection that sends nothing, or
/// a byte now and then, is closed, within a second past the limit).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What serves a connection's requests: the server's service, never
/// failing (an error is an answer).
trait Answers:
    hyper::service::Service<
        axum::http::Request<hyper::body::Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
    > + Send
    + 'static
{
}

impl<S> Answers for S where
    S: hyper::service::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static
{
}

/// Serves HTTP/1.1 on `io` until it closes, the server stops, or the
/// connection is closed to make room for a newer one.
async fn drive<I, S>(
    io: I,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
    registered: connections::Registered,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: Answers,
    S::Future: Send + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        // Not hyper's header_read_timeout: its timer, set anew for
        // every request, wakes the runtime each time (an eventfd write
        // per request, measured); the registry's sweep does the same
        // job once a second.
        .header_read_timeout(None)
        // Answers are a few hundred bytes: copied into one buffer and
        // written with one write() (measured: ~4 % more notifications
        // per second than a writev of head and body).
        .writev(false)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    let conn = watcher.watch(conn);
    tokio::select! {
        _ = conn => {}
        // Closed to make room for a newer connection: dropped here.
        _ = registered.conn.closed() => {}
    }
    drop(registered);
}

/// The connection's request ends when its answer's body is dropped:
/// written whole, or the client gone.
struct Busy(std::sync::Arc<connections::Connection>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// An answer's body that keeps its connection busy while it is written.
struct Answering {
    body: axum::body::Body,
    _busy: Busy,
}

impl hyper::body::Body for Answering {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The answer to a plain HTTP request on the HTTPS port: what to do, in
/// words a person and a client's error message can show.
async fn speaks_https(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    const BODY: &str = "this server speaks HTTPS on this port: write the URL with https://\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(HEADER_READ_TIMEOUT, async {
        use tokio::io::AsyncReadExt as _;
        // The request's head read first: a socket closed with unread
        // data is reset, and the answer lost with it.
        let mut head = Vec::new();
        let mut buf = [0u8; 2048];
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Accepts connections until `stop` resolves, runs `stopping` (which
/// answers held polls), then lets the open connections finish.
pub(crate) async fn accept(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<AppState>,
    app: axum::Router,
    connections: Arc<connections::Connections>,
    stop: impl std::future::Future<Output = ()>,
    stopping: impl FnOnce(),
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    // The header time limit: idle connections closed once a second.
    let sweeping = {
        let connections = connections.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                connections.close_idle(HEADER_READ_TIMEOUT);
            }
        })
    };
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Answers are small and awaited: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let making_room = connections.is_full();
        let Some(registered) = connections.admit() else {
            tracing::debug!(%peer, "refused: every connection is in a request");
            // Every connection is in a request: this one cannot be taken.
            tokio::spawn(refuse(stream));
            continue;
        };
        let (state, app) = (state.clone(), app.clone());
        let conn_state = registered.conn.clone();
        let source = crate::wire::keyyo::Source::new(
            peer,
            state.opts.trusted_proxies.trusts(peer.ip()),
            tls.is_some(),
        );
        let service = hyper::service::service_fn(move |req| {
            let (state, app, conn_state) = (state.clone(), app.clone(), conn_state.clone());
            conn_state.start();
            // What can be done at once is, before hyper reads on.
            let taken = front::take(&state, &source, req);
            async move {
                let answer = front::respond(&state, &app, taken).await;
                // Busy until the answer's body is written whole (an
                // event stream is one long answer), not when its head is.
                let answer = answer.map(|body| {
                    axum::body::Body::new(Answering {
                        body,
                        _busy: Busy(conn_state),
                    })
                });
                Ok::<_, std::convert::Infallible>(answer)
            }
        });
        let watcher = graceful.watcher();
        match &tls {
            None => {
                tokio::spawn(drive(stream, service, watcher, registered));
            }
            Some(acceptor) => {
                tokio::spawn(serve_tls(
                    stream,
                    peer,
                    acceptor.clone(),
                    service,
                    watcher,
                    registered,
                ));
            }
        }
        if making_room {
            // The connection told to close does so before the next accept
            // takes another descriptor.
            tokio::task::yield_now().await;
        }
    }
    drop(listener);
    sweeping.abort();
    stopping();
    let _ = tokio::time::timeout(crate::infra::lifecycle::STOP_GRACE, graceful.shutdown()).await;
}

/// A connection on the HTTPS port: told so in plain HTTP when it speaks
/// it (a TLS handshake starts with byte 0x16, a request with a letter),
/// else its handshake within the header time limit, then served.
async fn serve_tls<S>(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
    registered: connections::Registered,
) where
    S: Answers,
    S::Future: Send + 'static,
{
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        p = tokio::time::timeout(HEADER_READ_TIMEOUT, stream.peek(&mut first)) => p,
        _ = registered.conn.closed() => return,
    };
    match peeked {
        Ok(Ok(1)) if first[0].is_ascii_alphabetic() => {
            speaks_https(stream).await;
            return;
        }
        Ok(Ok(1)) => {}
        _ => return,
    }
    let handshake = acceptor.accept(stream);
    // The handshake within the header time limit.
    let stream = tokio::select! {
        done = tokio::time::timeout(HEADER_READ_TIMEOUT, handshake) => match done {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                return;
            }
            Err(_) => return,
        },
        _ = registered.conn.closed() => return,
    };
    drive(stream, service, watcher, registered).await;
}
