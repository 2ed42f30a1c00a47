//! Helpers of `benches/serve.py` (not part of ctibridge):
//!
//! - `hello ADDR [multi]`: a bare hyper HTTP/1.1 hello-world, on a
//!   current-thread runtime or (`multi`) on every core as `ctibridge serve`
//!   runs: the anchor of the ingest rate;
//! - `load ADDR PATH CONNS SECONDS [CAFILE]`: keep-alive GETs of `PATH`
//!   followed by a request counter, from CONNS connections for SECONDS,
//!   over HTTPS trusting CAFILE when given; prints `{"requests", "seconds",
//!   "rate", "not_200"}`;
//! - `latency ADDR SECRET LINE N IDLE`: IDLE long polls held on other lines,
//!   then N times: one station waits on LINE, one Keyyo notification for
//!   LINE is sent, and the time from sending it to the station reading its
//!   answer is measured; prints the median, p99 and max in ms.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("hello") => hello(
            args[1].parse().expect("ADDR"),
            args.get(2).is_some_and(|a| a == "multi"),
        ),
        Some("load") => load(
            args[1].parse().expect("ADDR"),
            &args[2],
            args[3].parse().expect("CONNS"),
            args[4].parse().expect("SECONDS"),
            args.get(5).map(String::as_str),
        ),
        Some("latency") => latency(
            args[1].parse().expect("ADDR"),
            &args[2],
            &args[3],
            args[4].parse().expect("N"),
            args[5].parse().expect("IDLE"),
        ),
        _ => eprintln!("usage: serve_bench hello|load|latency …"),
    }
}

fn hello(addr: SocketAddr, multi: bool) {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    let rt = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            tokio::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("OK")))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

/// A TLS client trusting the authorities of `cafile` (PEM).
fn tls_client(cafile: &str) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(cafile).expect("cafile") {
        roots.add(cert.expect("certificate")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// A connection, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(addr: SocketAddr, tls: Option<&tokio_rustls::TlsConnector>) -> Box<dyn Stream> {
    let s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    match tls {
        None => Box::new(s),
        Some(t) => {
            let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
            Box::new(t.connect(name, s).await.expect("TLS handshake"))
        }
    }
}

/// One keep-alive request and its answer: status and body.
async fn request<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(
    s: &mut S,
    buf: &mut Vec<u8>,
    target: &str,
) -> (u16, String) {
    let req = format!("GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    read_answer(s, buf).await
}

fn load(addr: SocketAddr, path: &str, conns: usize, seconds: f64, cafile: Option<&str>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let path = path.to_owned();
    let tls = cafile.map(tls_client);
    let (total, bad, took) = rt.block_on(async move {
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..conns)
            .map(|c| {
                let path = path.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let mut s = connect(addr, tls.as_ref()).await;
                    let mut buf = Vec::new();
                    let (mut n, mut bad) = (0u64, 0u64);
                    while Instant::now() < end {
                        let target = format!("{path}{c}x{n}");
                        let (status, _) = request(&mut s, &mut buf, &target).await;
                        n += 1;
                        if status != 200 {
                            bad += 1;
                        }
                    }
                    (n, bad)
                })
            })
            .collect();
        let (mut total, mut bad) = (0, 0);
        for t in tasks {
            let (n, b) = t.await.expect("task");
            total += n;
            bad += b;
        }
        (total, bad, start.elapsed().as_secs_f64())
    });
    println!(
        "{{\"requests\": {total}, \"seconds\": {took:.3}, \"rate\": {:.0}, \"not_200\": {bad}}}",
        total as f64 / took
    );
}

fn latency(addr: SocketAddr, secret: &str, line: &str, n: usize, idle: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let secret = secret.to_owned();
    let line = line.to_owned();
    rt.block_on(async move {
        let cti = "/DhDivaltoServerCTI/api/cti";
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let mut buf = Vec::new();
        let (_, body) = request(&mut s, &mut buf, &format!("{cti}/gettoken?ident=bench")).await;
        let v: serde_json::Value = serde_json::from_str(&body).expect("token");
        let token = v["token"].as_str().expect("token").to_owned();
        // Idle long polls on other lines, held for the whole run.
        let mut idlers = Vec::new();
        for i in 0..idle {
            // From 127.0.1.2, 127.0.1.3…: 200 each, within the server's
            // bound of held requests per address (256).
            let k = i / 200;
            let from = std::net::SocketAddr::from(([127, 0, 1 + (k / 250) as u8, 2 + (k % 250) as u8], 0));
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(from).expect("bind idle");
            let mut c = socket.connect(addr).await.expect("connect idle");
            let req = format!(
                "GET {cti}/getevent?ident=idle&telorg=09{i:08}&cursor=0 HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\n\r\n"
            );
            c.write_all(req.as_bytes()).await.expect("idle");
            idlers.push(c);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut station = TcpStream::connect(addr).await.expect("station");
        station.set_nodelay(true).expect("nodelay");
        let mut sbuf = Vec::new();
        let mut notifier = TcpStream::connect(addr).await.expect("notifier");
        notifier.set_nodelay(true).expect("nodelay");
        let mut nbuf = Vec::new();
        let mut cursor = "0".to_owned();
        let mut times = Vec::with_capacity(n);
        for k in 0..n {
            let poll = format!(
                "GET {cti}/getevent?ident=bench&telorg={line}&cursor={cursor} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\n\r\n"
            );
            station.write_all(poll.as_bytes()).await.expect("poll");
            // Let the poll reach the server and wait there.
            tokio::time::sleep(Duration::from_millis(3)).await;
            let t0 = Instant::now();
            // Keyyo's time of the event is now (an old one is checked
            // against the journal, as a notification sent again long after).
            let tsms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let notify = format!(
                "/keyyo/notify?secret={secret}&account={line}&caller=33388202020&callee={line}&callref=b{line}-{k}&type=SETUP&version=1&dref=&dref_replace=&session=&is_acd=0&redirecting=&tsms={tsms}"
            );
            let req = format!("GET {notify} HTTP/1.1\r\nHost: b\r\n\r\n");
            notifier.write_all(req.as_bytes()).await.expect("notify");
            // The station's answer, then the notifier's.
            let (_, answer) = read_answer(&mut station, &mut sbuf).await;
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            let _ = read_answer(&mut notifier, &mut nbuf).await;
            let v: serde_json::Value = serde_json::from_str(&answer).expect("answer");
            assert_eq!(v["events"].as_array().map(Vec::len), Some(1), "{answer}");
            cursor = v["cursor"].as_str().expect("cursor").to_owned();
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "{{\"n\": {n}, \"idle\": {idle}, \"median_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}}}",
            pct(0.5),
            pct(0.99),
            times[times.len() - 1]
        );
        drop(idlers);
    });
}

/// The next answer on `s`: status and body (Content-Length framed).
async fn read_answer<S: AsyncRead + Unpin + ?Sized>(s: &mut S, buf: &mut Vec<u8>) -> (u16, String) {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap_or(0));
        while buf.len() < end + 4 + len {
            let n = s.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed");
            buf.extend_from_slice(&chunk[..n]);
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
        return (status, body);
    }
}
