//! Keyyo's CTI session: the loop that drives the wire (`wire::keyyo_cti`)
//! — connect, create or restore, subscribe, ping, reconnect — and hands
//! the desks' actions to it.

use serde_json::{json, Value};

use crate::wire::keyyo_cti::{
    client_frame, e164, logged, read_frame, read_message, request, session_url, CtiError, CtiState,
    Frame, Incoming, PushedCall,
};

/// The first pause after a lost connection; it doubles up to
/// [`MAX_BACKOFF`], with jitter.
pub const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(250);
pub const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(10);
/// The SDK pings every five minutes.
pub const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// How long an action's reply is waited for.
pub const REPLY_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

type Reply = tokio::sync::oneshot::Sender<Result<Value, CtiError>>;

/// A handle on the session: actions go through it.
#[derive(Clone)]
pub struct Cti {
    asks: tokio::sync::mpsc::UnboundedSender<(&'static str, Value, Reply)>,
    /// The session's own line (international, no `+`), once made.
    own: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Cti {
    /// The line the session belongs to (the CSI token's service), as
    /// `create_session` named it: the one line it dials from.
    pub fn own_line(&self) -> Option<String> {
        self.own.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Dials `number` (E.164) from the session's own line, which must be
    /// `line` (E.164): a call placed from another line would be a misdial.
    pub async fn dial(
        &self,
        line: &str,
        number: &str,
    ) -> Result<(), crate::model::control::ControlError> {
        use crate::model::control::ControlError;
        let own = self.own_line().ok_or_else(|| {
            ControlError::Provider(
                "Keyyo's CTI session is not open yet: try again in a moment".into(),
            )
        })?;
        if own != line.trim_start_matches('+') {
            return Err(ControlError::NotNow(format!(
                "Keyyo's CTI session belongs to line +{own}: it cannot dial from {line} (give the server a <provider> to dial from every line)"
            )));
        }
        self.ask("call", json!({ "number": number.trim_start_matches('+') }))
            .await
            .map(drop)
            .map_err(|e| ControlError::Provider(format!("Keyyo CTI: {e}")))
    }

    /// Sends `action` and waits for its reply.
    pub async fn ask(&self, action: &'static str, params: Value) -> Result<Value, CtiError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.asks
            .send((action, params, tx))
            .map_err(|_| CtiError::Other("the CTI session is stopped".into()))?;
        match tokio::time::timeout(REPLY_WITHIN, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(CtiError::Other(
                "the connection to Keyyo's CTI service was lost before its answer".into(),
            )),
            Err(_) => Err(CtiError::Other(format!(
                "Keyyo's CTI service did not answer within {} s",
                REPLY_WITHIN.as_secs()
            ))),
        }
    }

    /// Starts the session loop: follows `lines` (their one identity), and
    /// with `park` the account's call park (every line's parked calls, to
    /// the hub's park); hands their calls to `ingest`, until `stop` says so.
    ///
    /// Fails only when a minted token's kept refresh token cannot be read.
    pub fn start(
        settings: crate::config::keyyo::CtiSettings,
        lines: Vec<String>,
        park: bool,
        ingest: std::sync::Arc<crate::store::ingest::Ingest>,
        seen: std::sync::Arc<std::sync::Mutex<crate::store::seen::Seen>>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(Cti, tokio::task::JoinHandle<()>), String> {
        let tokens = std::sync::Arc::new(crate::sources::keyyo_token::Tokens::new(
            settings.token.clone(),
        )?);
        {
            let (tokens, stop) = (tokens.clone(), stop.clone());
            tokio::spawn(supervised(
                "the CSI token's renewal",
                stop.clone(),
                move || crate::sources::keyyo_token::renew(tokens.clone(), stop.clone()),
            ));
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // The desks' actions wait here, whichever run of the session takes them.
        let asks = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let own = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (o, endpoint) = (own.clone(), settings.endpoint);
        let supervisor_stop = stop.clone();
        let run = move || {
            let session = Session {
                own: o.clone(),
                endpoint: endpoint.clone(),
                tokens: tokens.clone(),
                lines: lines.clone(),
                park,
                ingest: ingest.clone(),
                seen: seen.clone(),
                id: None,
                next_id: 0,
                parked: std::collections::HashSet::new(),
            };
            let (asks, stop) = (asks.clone(), stop.clone());
            async move {
                let mut asks = asks.lock().await;
                session.run(&mut asks, stop).await;
            }
        };
        Ok((
            Cti { asks: tx, own },
            tokio::spawn(supervised("the Keyyo CTI session", supervisor_stop, run)),
        ))
    }
}

/// Runs the task `start` makes until it ends or the server stops; a task
/// that dies of a fault (a panic) is said so in the log and started
/// again, a second later: a long-running part of the server never
/// vanishes silently.
pub async fn supervised<F, Fut>(
    name: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
    start: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(start()).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                let p = e.into_panic();
                let why = p
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "an unknown fault".to_owned());
                tracing::error!(
                    "{name} stopped on a fault ({}): started again",
                    ctibridge_lang::redact::mask(&why)
                );
            }
            Err(_) => return,
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<Box<dyn Stream>>;

/// A byte stream the WebSocket runs over: TCP, or TLS on TCP.
pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

struct Session {
    /// The session's own line, shared with the handle.
    own: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    endpoint: String,
    tokens: std::sync::Arc<crate::sources::keyyo_token::Tokens>,
    lines: Vec<String>,
    /// The account's call park followed too (`subscribe callpark`).
    park: bool,
    ingest: std::sync::Arc<crate::store::ingest::Ingest>,
    /// The Keyyo calls kept (shared with the webhook notifications).
    seen: std::sync::Arc<std::sync::Mutex<crate::store::seen::Seen>>,
    /// The session to restore after a lost connection.
    id: Option<String>,
    next_id: u64,
    /// Calls seen in the park (a CONNECT after it is an UNPARK).
    parked: std::collections::HashSet<String>,
}

/// Why a connection ended.
enum Ended {
    Stopped,
    Lost(String),
}

impl Session {
    async fn run(
        mut self,
        asks: &mut tokio::sync::mpsc::UnboundedReceiver<(&'static str, Value, Reply)>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = ctibridge_client::backoff::Backoff::new(
            FIRST_BACKOFF,
            MAX_BACKOFF,
            ctibridge_client::backoff::Jitter::Fifth,
        );
        let mut down: Option<(std::time::Instant, String)> = None;
        loop {
            let (ended, was_up) = self.connection(asks, &mut stop, &mut down).await;
            match ended {
                Ended::Stopped => return,
                Ended::Lost(why) => {
                    if was_up {
                        backoff.reset();
                    }
                    // Each reason once an outage: a new one is told (the
                    // plugin switched off, then the token refused…), a
                    // repeat is not.
                    match &mut down {
                        Some((_, told)) if *told == why => {}
                        Some((_, told)) => {
                            tracing::warn!("Keyyo's CTI service, still down: {why}");
                            *told = why;
                        }
                        None => {
                            tracing::warn!(
                                "Keyyo's CTI service: {why}; connecting again with back-off (at most every {} s)",
                                MAX_BACKOFF.as_secs()
                            );
                            down = Some((std::time::Instant::now(), why));
                        }
                    }
                }
            }
            let pause = backoff.next_delay();
            tracing::debug!("Keyyo CTI: next try in {pause:.1?}");
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stopped(&mut stop) => return,
            }
        }
    }

    /// One connection: open, session, subscriptions, then pushes and
    /// actions until it is lost or the server stops. Also says whether a
    /// session was up.
    async fn connection(
        &mut self,
        asks: &mut tokio::sync::mpsc::UnboundedReceiver<(&'static str, Value, Reply)>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        down: &mut Option<(std::time::Instant, String)>,
    ) -> (Ended, bool) {
        use futures_util::{SinkExt as _, StreamExt as _};
        let mut ws = match connect(&self.endpoint).await {
            Ok(ws) => ws,
            Err(why) => return (Ended::Lost(why), false),
        };
        if let Err(why) = self.open_session(&mut ws).await {
            return (Ended::Lost(why), false);
        }
        if let Some((since, _)) = down.take() {
            tracing::info!("Keyyo's CTI service is back, after {:.0?}", since.elapsed());
        }
        let mut pending: std::collections::HashMap<u64, Reply> = Default::default();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let text = match frame {
                        Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => t.to_string(),
                        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None => {
                            return (Ended::Lost("the connection was closed".into()), true)
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return (Ended::Lost(e.to_string()), true),
                    };
                    match read_frame(&text) {
                        Ok(Frame::Messages(list)) => {
                            for m in list {
                                match read_message(&m) {
                                    Ok(Incoming::Reply { id, result }) => {
                                        tracing::debug!("Keyyo CTI: reply to {id}: {}", match &result {
                                            Ok(v) => ctibridge_lang::redact::mask(&v.to_string()).into_owned(),
                                            Err(e) => e.to_string(),
                                        });
                                        if let Some(tx) = pending.remove(&id) {
                                            let _ = tx.send(result);
                                        }
                                    }
                                    Ok(Incoming::Call(call)) => self.pushed(call).await,
                                    Ok(Incoming::Other(_)) => {}
                                    Err(e) => tracing::debug!("Keyyo CTI: {}", e.0),
                                }
                            }
                        }
                        Ok(Frame::Close(code, reason)) => {
                            return (Ended::Lost(format!("closed by the service ({code} {reason})")), true)
                        }
                        Ok(_) => {}
                        Err(e) => tracing::debug!("Keyyo CTI: {}", e.0),
                    }
                }
                ask = asks.recv() => {
                    let Some((action, params, reply)) = ask else { return (Ended::Stopped, true) };
                    self.next_id += 1;
                    let id = self.next_id;
                    let req = request(action, id, params);
                    tracing::debug!("Keyyo CTI: sent {action} {}", logged(&req));
                    let frame = client_frame(&[req]);
                    if let Err(e) = ws.send(tokio_tungstenite::tungstenite::Message::Text(frame.into())).await {
                        let _ = reply.send(Err(CtiError::Other(e.to_string())));
                        return (Ended::Lost(e.to_string()), true);
                    }
                    pending.insert(id, reply);
                }
                _ = ping.tick() => {
                    self.next_id += 1;
                    let frame = client_frame(&[request("ping", self.next_id, json!({}))]);
                    if let Err(e) = ws.send(tokio_tungstenite::tungstenite::Message::Text(frame.into())).await {
                        return (Ended::Lost(e.to_string()), true);
                    }
                }
                _ = stopped(stop) => return (Ended::Stopped, true),
            }
        }
    }

    /// `o`, then the session restored (or made anew) and the lines
    /// subscribed.
    async fn open_session(&mut self, ws: &mut Socket) -> Result<(), String> {
        match self.next_frame(ws).await? {
            Frame::Open => {}
            other => return Err(format!("the service did not open the session: {other:?}")),
        }
        let token = self.tokens.current().await?;
        let token = token.expose();
        if let Some(id) = self.id.clone() {
            let restored = self
                .call(
                    ws,
                    "restore_session",
                    json!({ "token": token, "session_id": id, "protocol_version": 1 }),
                )
                .await?;
            match restored {
                Ok(restored) => {
                    self.owned(&restored);
                    return Ok(());
                }
                Err(e) if e.needs_new_session() => self.id = None,
                Err(e) => return Err(self.refused(e).await),
            }
        }
        let made = match self
            .call(
                ws,
                "create_session",
                json!({ "token": token, "protocol_version": 1 }),
            )
            .await?
        {
            Ok(made) => made,
            Err(e) => return Err(self.refused(e).await),
        };
        self.id = made["session_id"].as_str().map(str::to_owned);
        self.owned(&made);
        for line in self.lines.clone() {
            let number = line.trim_start_matches('+').to_owned();
            self.call(ws, "subscribe", json!({ "number": number }))
                .await?
                .map_err(|e| format!("subscribe {number}: {e}"))?;
        }
        if self.park {
            // Without it the wall shows the park of our lines only: said,
            // not fatal.
            if let Err(e) = self
                .call(ws, "subscribe", json!({ "number": "callpark" }))
                .await?
            {
                tracing::warn!("Keyyo's CTI service: subscribe callpark: {e}: the wall shows the calls parked by the server file's lines only");
            }
        }
        Ok(())
    }

    /// Keeps the line a session's answer names (`number`).
    fn owned(&self, answer: &Value) {
        if let Some(n) = answer["number"].as_str().filter(|n| !n.is_empty()) {
            let n = n.trim_start_matches('+').to_owned();
            *self.own.lock().unwrap_or_else(|p| p.into_inner()) = Some(n);
        }
    }

    /// Why a session could not be had; a refused token is minted anew
    /// before the next try.
    async fn refused(&self, e: CtiError) -> String {
        if matches!(e, CtiError::InvalidToken(_)) {
            self.tokens.refused().await;
        }
        e.to_string()
    }

    /// Sends `action` and reads frames until its reply (pushes meanwhile
    /// are handled).
    async fn call(
        &mut self,
        ws: &mut Socket,
        action: &str,
        params: Value,
    ) -> Result<Result<Value, CtiError>, String> {
        use futures_util::SinkExt as _;
        self.next_id += 1;
        let id = self.next_id;
        let req = request(action, id, params);
        tracing::debug!("Keyyo CTI: sent {action} {}", logged(&req));
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            client_frame(&[req]).into(),
        ))
        .await
        .map_err(|e| e.to_string())?;
        loop {
            let Frame::Messages(list) = self.next_frame(ws).await? else {
                continue;
            };
            for m in list {
                match read_message(&m) {
                    Ok(Incoming::Reply { id: got, result }) if got == id => {
                        tracing::debug!(
                            "Keyyo CTI: reply to {action}: {}",
                            match &result {
                                Ok(v) => ctibridge_lang::redact::mask(&v.to_string()).into_owned(),
                                Err(e) => e.to_string(),
                            }
                        );
                        return Ok(result);
                    }
                    Ok(Incoming::Call(call)) => self.pushed(call).await,
                    _ => {}
                }
            }
        }
    }

    async fn next_frame(&mut self, ws: &mut Socket) -> Result<Frame, String> {
        use futures_util::StreamExt as _;
        let wait = tokio::time::timeout(REPLY_WITHIN, ws.next());
        match wait.await {
            Err(_) => Err("no answer in time".into()),
            Ok(None) => Err("the connection was closed".into()),
            Ok(Some(Err(e))) => Err(e.to_string()),
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                match read_frame(&t) {
                    Ok(Frame::Close(code, reason)) => {
                        Err(format!("closed by the service ({code} {reason})"))
                    }
                    Ok(f) => Ok(f),
                    Err(e) => Err(e.0),
                }
            }
            Ok(Some(Ok(_))) => Ok(Frame::Heartbeat),
        }
    }

    /// A pushed call: an event for each of our lines it is about.
    async fn pushed(&mut self, call: PushedCall) {
        tracing::debug!(
            "Keyyo CTI: push call {} {} {} → {}{}",
            call.callref,
            call.state,
            call.caller,
            call.callee,
            call.slot
                .as_deref()
                .map_or(String::new(), |s| format!(" (park slot {s})"))
        );
        let was_parked = self.parked.contains(&call.callref);
        // The account's call park, whichever line the call is on.
        let hub = self.ingest.hub();
        match &call.slot {
            Some(slot) => hub.parked(crate::model::event::ParkedCall {
                callref: call.callref.clone(),
                slot: slot.clone(),
                caller: e164(&call.caller),
                callee: e164(&call.callee),
                since: crate::model::clock::now_ms(),
            }),
            None if call.state.ends_a_park() => {
                hub.unparked(&call.callref);
            }
            None => {}
        }
        // A webhook notification of the same call and state may have come
        // first (or come later): the two are one.
        use crate::wire::keyyo::Kind;
        let kind = match (&call.state, &call.slot, was_parked) {
            (CtiState::Setup, _, _) => Some(Kind::Setup),
            (CtiState::Connect, None, false) => Some(Kind::Connect),
            (CtiState::Release | CtiState::Missed, _, _) => Some(Kind::Release),
            _ => None,
        };
        let seen = self.seen.clone();
        let lock = || seen.lock().unwrap_or_else(|p| p.into_inner());
        for line in &self.lines {
            if let Some(ev) = call.line_event(line, was_parked) {
                // Per line, as the webhook's notifications are.
                if let Some(k) = kind {
                    if !lock().first_time(&ev.line, &call.callref, k) {
                        continue;
                    }
                }
                let line = ev.line.clone();
                match self.ingest.accept(ev).await {
                    Ok(_) => self
                        .ingest
                        .metrics()
                        .published(crate::infra::metrics::Origin::keyyo_cti),
                    Err(why) => {
                        tracing::warn!(?why, "a Keyyo CTI call event was not journaled");
                        if let Some(k) = kind {
                            lock().forget(&line, &call.callref, k);
                        }
                    }
                }
            }
        }
        match &call.slot {
            Some(_) => {
                self.parked.insert(call.callref.clone());
            }
            None if call.state.ends_a_park() => {
                self.parked.remove(&call.callref);
            }
            None => {}
        }
    }
}

/// Resolves once the server stops.
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Opens the SockJS session's WebSocket at `endpoint`: `/info` first, as a
/// SockJS client does, then `/NNN/xxxxxxxx/websocket`.
async fn connect(endpoint: &str) -> Result<Socket, String> {
    let info = format!("{}/info", endpoint.trim_end_matches('/'));
    let client =
        ctibridge_client::http::HttpClient::new(&ctibridge_client::http::ClientOptions::plain())
            .map_err(|e| e.to_string())?;
    let req = ctibridge_client::request::HttpRequest::get(info.clone());
    let resp = client
        .send(&req)
        .await
        .map_err(|e| format!("{info}: {e}"))?;
    if !resp.is_success() {
        return Err(format!("{info}: HTTP {}", resp.status));
    }
    let session: String = (0..8)
        .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
        .collect();
    let url = session_url(endpoint, fastrand::u16(0..1000), &session);
    let parsed = url::Url::parse(&url).map_err(|e| format!("{url}: {e}"))?;
    let host = parsed.host_str().ok_or("no host")?.to_owned();
    let tls = parsed.scheme() == "wss";
    let port = parsed.port().unwrap_or(if tls { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("{host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Stream> = if tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("{host}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("{host}: {e}"))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (ws, _) = tokio_tungstenite::client_async(url.as_str(), stream)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that dies of a fault is started again (said in the log);
    /// one that ends is not.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_task_that_dies_is_started_again() {
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (_keep, stop) = tokio::sync::watch::channel(false);
        let r = runs.clone();
        supervised("a test task", stop, move || {
            let n = r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("fault number {n}");
                }
            }
        })
        .await;
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
