//! `serve` with `<keyyo_cti>` against a stand-in of Keyyo's CTI WebSocket
//! service on 127.0.0.1, speaking SockJS framing and the protocol as
//! PROVIDERS.md describes it: the session made and its lines subscribed,
//! pushed calls reaching a desk's `getevent`, an operation sent as its
//! action with the call's reference, "Cannot treat action" explained, a
//! dropped socket restored, a forgotten session made anew.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ctibridge, free_addr, listening, TempDir};
use serde_json::{json, Value};

/// What the test tells the stand-in.
enum Command {
    /// A message pushed to the client, as the service pushes a call.
    Push(Value),
    /// The socket closed under the client.
    Drop,
    /// Every session forgotten (then the socket closed).
    Forget,
}

struct StandIn {
    addr: SocketAddr,
    /// Every request received, in order.
    log: Arc<Mutex<Vec<Value>>>,
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
}

fn push(callref: &str, state: &str, slot: Option<&str>) -> Value {
    let mut call = json!({
        "callref": callref, "state": state, "caller": "33388202020",
        "callee": "33972101010", "setup_date": 1_700_000_000
    });
    if let Some(s) = slot {
        call["callpark_slot"] = json!(s);
    }
    json!({ "notify": "call", "call": call })
}

impl StandIn {
    fn start() -> StandIn {
        let log: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let l = log.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(stand_in(l, rx, ready_tx));
        });
        let addr = ready_rx.recv().expect("stand-in ready");
        StandIn {
            addr,
            log,
            commands: tx,
        }
    }

    fn send(&self, c: Command) {
        let _ = self.commands.send(c);
    }

    /// Waits until the log holds `n` requests of `action`; returns them.
    fn wait_for(&self, action: &str, n: usize) -> Vec<Value> {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let found: Vec<Value> = self
                .log
                .lock()
                .expect("log")
                .iter()
                .filter(|r| r["action"] == action)
                .cloned()
                .collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                Instant::now() < end,
                "{n} {action} never came: {:?}",
                self.log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

async fn stand_in(
    log: Arc<Mutex<Vec<Value>>>,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<Command>,
    ready: std::sync::mpsc::Sender<SocketAddr>,
) {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio::io::AsyncWriteExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let _ = ready.send(listener.local_addr().expect("addr"));
    let mut sessions: Vec<String> = Vec::new();
    let mut made = 0;
    loop {
        let (mut tcp, _) = tokio::select! {
            a = listener.accept() => a.expect("accept"),
            c = commands.recv() => {
                // No socket open: nothing to push or drop.
                if let Some(Command::Forget) = c { sessions.clear(); }
                continue;
            }
        };
        // SockJS's /info is plain HTTP; anything else is the WebSocket.
        let mut head = [0u8; 64];
        let n = tcp.peek(&mut head).await.unwrap_or(0);
        if String::from_utf8_lossy(&head[..n]).starts_with("GET /cti/info") {
            let body = r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":1}"#;
            let _ = tcp
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
            let mut rest = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut rest).await;
            continue;
        }
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            continue;
        };
        let _ = ws.send(Message::Text("o".into())).await;
        let mut parked = false;
        loop {
            tokio::select! {
                msg = ws.next() => {
                    let Some(Ok(Message::Text(text))) = msg else { break };
                    let texts: Vec<String> = serde_json::from_str(&text).expect("a client frame");
                    for t in texts {
                        let req: Value = serde_json::from_str(&t).expect("a request");
                        log.lock().expect("log").push(req.clone());
                        let id = req["id"].clone();
                        let ok = |result: Value| json!({ "id": id, "result": result });
                        let err = |m: &str, code: u16| json!({ "id": id, "error": { "message": m, "status_code": code } });
                        let call_ref = req["call_ref"].as_str().unwrap_or("").to_owned();
                        let (reply, then) = match req["action"].as_str().unwrap_or("") {
                            "create_session" if req["token"] == "csi-token-123" => {
                                made += 1;
                                let s = format!("s{made}");
                                sessions.push(s.clone());
                                (ok(json!({ "session_id": s, "number": "33972101010", "now": 1_700_000_000 })), None)
                            }
                            "create_session" => (err("Invalid token", 400), None),
                            "restore_session" => {
                                if sessions.iter().any(|s| req["session_id"] == s.as_str()) {
                                    (ok(json!({ "number": "33972101010", "now": 1_700_000_000 })), None)
                                } else {
                                    (err("Unknown session_id", 401), None)
                                }
                            }
                            "answer_call" => (ok(json!(1)), Some(push(&call_ref, "CONNECT", None))),
                            "park_call" => {
                                parked = true;
                                (ok(json!(1)), Some(push(&call_ref, "CONNECT", Some("5"))))
                            }
                            "unpark_call" if parked => (ok(json!(1)), Some(push(&call_ref, "CONNECT", None))),
                            "reject_call" => (err("Cannot treat action", 400), None),
                            "transfer_call" if req["to"].as_str().is_some_and(|t| !t.starts_with('+')) => (ok(json!(1)), None),
                            "subscribe" | "ping" | "set_auto_answer" => (ok(json!(1)), None),
                            "get_auto_answer" => (ok(json!({ "auto_answer": true })), None),
                            "get_subscriptions" => (ok(json!({ "numbers": ["33972101010", "callpark"] })), None),
                            _ => (err("Malformed request (missing required parameters)", 400), None),
                        };
                        let mut out = vec![reply.to_string()];
                        out.extend(then.map(|p| p.to_string()));
                        let frame = format!("a{}", serde_json::to_string(&out).expect("json"));
                        let _ = ws.send(Message::Text(frame.into())).await;
                    }
                }
                c = commands.recv() => match c {
                    Some(Command::Push(v)) => {
                        let frame = format!("a{}", serde_json::to_string(&vec![v.to_string()]).expect("json"));
                        let _ = ws.send(Message::Text(frame.into())).await;
                    }
                    Some(Command::Forget) => {
                        sessions.clear();
                        break;
                    }
                    Some(Command::Drop) | None => break,
                }
            }
        }
        // The socket goes away under the client.
        drop(ws);
    }
}

/// `serve` on `addr` with `<keyyo_cti>` at the stand-in, one desk (paul,
/// line 09 72 10 10 10), and `server_tags` in `<server>` (and after it).
fn serve(dir: &TempDir, cti: &StandIn, addr: SocketAddr, server_tags: &str) -> common::Server {
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n{server_tags}<keyyo_cti>\n<cti_url>http://{}/cti\n<csi_token>csi-token-123\n\
             <desk>\n<ident>paul\n<secret>changeme\n<lines>09 72 10 10 10\n",
            cti.addr
        ),
    );
    // At -vv, everything the server says is kept: the CSI token must be in
    // none of it.
    let log = std::fs::File::create(dir.path().join("serve.log")).expect("log");
    let mut cmd = ctibridge(dir);
    cmd.args(["-vv", "serve", "--listen", &addr.to_string(), "--server"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(log);
    listening(cmd, addr)
}

fn http(addr: SocketAddr, method: &str, target: &str, auth: &str) -> (u16, String) {
    common::exchange(
        std::net::TcpStream::connect(addr).expect("connect"),
        &format!(
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// The events a desk's `getevent` gives after `cursor`, and the next cursor.
fn events(addr: SocketAddr, auth: &str, cursor: &str) -> (Vec<Value>, String) {
    let (st, body) = http(
        addr,
        "GET",
        &format!("/DhDivaltoServerCTI/api/cti/getevent?telorg=0972101010&cursor={cursor}"),
        auth,
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    (
        v["events"].as_array().cloned().unwrap_or_default(),
        v["cursor"].as_str().unwrap_or(cursor).to_owned(),
    )
}

#[test]
fn the_cti_session_brings_calls_and_acts_on_them() {
    let cti = StandIn::start();
    let dir = TempDir::new("keyyo-cti");
    let addr = free_addr();
    let _srv = serve(
        &dir,
        &cti,
        addr,
        "<hold>5\n<keyyo_notify>\n<secret>0123456789abcdef-notify\n<sources>127\\.0\\.0\\.1\n",
    );

    // The session, then the desk's line followed.
    let created = cti.wait_for("create_session", 1);
    assert_eq!(created[0]["protocol_version"], 1);
    let subscribed = cti.wait_for("subscribe", 1);
    assert_eq!(subscribed[0]["number"], "33972101010");

    let (st, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken",
        "Basic cGF1bDpjaGFuZ2VtZQ==",
    );
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let auth = format!("Bearer {}", v["token"].as_str().expect("token"));

    // A pushed call reaches the desk: no public URL needed.
    cti.send(Command::Push(push("k1", "SETUP", None)));
    let (seen, cursor) = events(addr, &auth, "0");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["event"], "RING");
    assert_eq!(seen[0]["tel"], "0388202020");
    assert_eq!(seen[0]["callref"], "k1");

    // Answered from the desk: the action with the call's reference, and
    // the service's push of the answer.
    let act = |op: &str| {
        http(
            addr,
            "POST",
            &format!("/DhDivaltoServerCTI/api/cti/call?telorg=0972101010&callref=k1&op={op}"),
            &auth,
        )
    };
    let (st, body) = act("answer");
    assert_eq!(st, 200, "{body}");
    assert_eq!(cti.wait_for("answer_call", 1)[0]["call_ref"], "k1");
    let (seen, cursor) = events(addr, &auth, &cursor);
    assert_eq!(seen[0]["event"], "CONNECT", "{seen:?}");
    // Parked: the push with its slot is a PARK for the desk; back: UNPARK.
    let (st, body) = act("park&slot=5");
    assert_eq!(st, 200, "{body}");
    assert_eq!(cti.wait_for("park_call", 1)[0]["slot"], 5);
    let (seen, cursor) = events(addr, &auth, &cursor);
    assert_eq!(
        (&seen[0]["event"], &seen[0]["slot"]),
        (&json!("PARK"), &json!("5")),
        "{seen:?}"
    );
    act("unpark");
    let (seen, _) = events(addr, &auth, &cursor);
    assert_eq!(seen[0]["event"], "UNPARK", "{seen:?}");
    // A transfer's number goes international, without +.
    let (st, body) = act("transfer&to=01%2044%2055%2066%2077");
    assert_eq!(st, 200, "{body}");
    assert_eq!(cti.wait_for("transfer_call", 1)[0]["to"], "33144556677");
    // A line whose websocket plugin is off: 502, saying what to enable.
    let (st, body) = act("reject");
    assert_eq!(st, 502, "{body}");
    assert!(body.contains("websocket\\\" CTI plugin"), "{body}");

    // The line's operations, as the session's actions.
    let line_op = |method: &str, q: &str| {
        http(
            addr,
            method,
            &format!("/DhDivaltoServerCTI/api/cti/line?telorg=0972101010&{q}"),
            &auth,
        )
    };
    let (st, body) = line_op("GET", "op=subscriptions");
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["numbers"],
        json!(["0972101010", "callpark"])
    );
    let (st, body) = line_op("POST", "op=auto-answer&value=0");
    assert_eq!(st, 200, "{body}");
    assert_eq!(cti.wait_for("set_auto_answer", 1)[0]["auto_answer"], false);

    // The socket dropped: the session is restored (subscriptions kept).
    let started = Instant::now();
    cti.send(Command::Drop);
    let restored = cti.wait_for("restore_session", 1);
    let back_in = started.elapsed();
    assert_eq!(restored[0]["session_id"], "s1");
    assert_eq!(cti.wait_for("subscribe", 1).len(), 1);
    // The session forgotten: a new one, its line subscribed again.
    cti.send(Command::Forget);
    cti.wait_for("restore_session", 2);
    assert_eq!(
        cti.wait_for("create_session", 2)[1]["token"],
        "csi-token-123"
    );
    cti.wait_for("subscribe", 2);
    // Calls still arrive. A call both notified (webhook) and pushed is
    // one call: its RING once.
    let (st, _) = http(
        addr,
        "GET",
        "/keyyo/notify?secret=0123456789abcdef-notify&account=33972101010&caller=33388202020&callee=33972101010&callref=k3&type=SETUP&version=1&tsms=1700000000000",
        "none",
    );
    assert_eq!(st, 200);
    cti.send(Command::Push(push("k3", "SETUP", None)));
    cti.send(Command::Push(push("k2", "SETUP", None)));
    let end = Instant::now() + Duration::from_secs(20);
    let mut cursor = "0".to_owned();
    let mut all = Vec::new();
    loop {
        let (seen, next) = events(addr, &auth, &cursor);
        all.extend(seen);
        if all.iter().any(|e| e["callref"] == "k2") {
            break;
        }
        assert!(Instant::now() < end, "k2 never reached the desk");
        cursor = next;
    }
    let k3: Vec<&Value> = all.iter().filter(|e| e["callref"] == "k3").collect();
    assert_eq!(k3.len(), 1, "{k3:?}");
    // A figure, not a check (issue 16: under 2 s).
    eprintln!("reconnected and restored in {back_in:?}");
    // The server said a great deal at -vv, the CSI token never.
    let said = std::fs::read_to_string(dir.path().join("serve.log")).expect("log");
    assert!(said.contains("DEBUG"), "the log is at -vv");
    assert!(!said.contains("csi-token-123"), "the CSI token leaked");
}

/// The figure of issue 16: from a call pushed by Keyyo's CTI service to a
/// desk waiting in `getevent` having it, for 200 calls one after the
/// other. A benchmark, not a check: `cargo test --release --test
/// keyyo_cti -- --ignored --nocapture`.
#[test]
#[ignore]
fn push_to_waiting_desk_latency() {
    let cti = StandIn::start();
    let dir = TempDir::new("keyyo-cti-bench");
    let addr = free_addr();
    let _srv = serve(&dir, &cti, addr, "<hold>25\n<rate>100000\n");
    cti.wait_for("subscribe", 1);
    let (_, body) = http(
        addr,
        "GET",
        "/DhDivaltoServerCTI/api/cti/gettoken",
        "Basic cGF1bDpjaGFuZ2VtZQ==",
    );
    let v: Value = serde_json::from_str(&body).expect("json");
    let auth = format!("Bearer {}", v["token"].as_str().expect("token"));
    // The desk: polls with its cursor, says when each call arrives.
    let (got_tx, got) = std::sync::mpsc::channel::<(String, Instant)>();
    let (polling_tx, polling) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut cursor = "0".to_owned();
        loop {
            let _ = polling_tx.send(());
            let (seen, next) = events(addr, &auth, &cursor);
            let at = Instant::now();
            for e in seen {
                let _ = got_tx.send((e["callref"].as_str().unwrap_or("").to_owned(), at));
            }
            cursor = next;
        }
    });
    let mut ms = Vec::new();
    for i in 0..200 {
        // Once the desk is asking (its poll held, or on its way: either
        // way the figure is push → desk).
        polling.recv().expect("polling");
        let callref = format!("b{i}");
        let t0 = Instant::now();
        cti.send(Command::Push(push(&callref, "SETUP", None)));
        loop {
            let (c, at) = got.recv_timeout(Duration::from_secs(10)).expect("the call");
            if c == callref {
                ms.push((at - t0).as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "push → waiting desk, 200 calls: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms[ms.len() / 2],
        ms[ms.len() * 99 / 100 - 1],
        ms[ms.len() - 1]
    );
}
