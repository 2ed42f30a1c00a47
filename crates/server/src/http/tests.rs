//! The routes in process: the router the server runs, on the state it
//! builds (the simulator as provider, the journal in memory), asked with
//! `tower`'s `oneshot` — no socket, no child process. The wire, the
//! listener and TLS are the scenario tests' (tests/serve.rs and others).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::config::server::ServerOptions;
use crate::config::settings::{Desk, CTI_PATH};
use crate::http::state::{AppState, Https, Parts};
use crate::sources::provider::Provider;
use crate::store::journal::{Journal, SharedJournal, Writer};

/// The test desk: paul, on line 1003.
const PAUL: &str = "Basic cGF1bDpwYXVsLWRlc2stc2VjcmV0";

/// A server's state and router, as `serve` builds them.
struct App {
    state: Arc<AppState>,
    router: axum::Router,
    writer: Arc<Writer>,
    writing: Option<std::thread::JoinHandle<()>>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.state.hub.close();
        self.writer.finish();
        if let Some(w) = self.writing.take() {
            let _ = w.join();
        }
    }
}

fn app() -> App {
    app_with(|_| {})
}

/// [`app`] with its options changed by `change`.
fn app_with(change: impl FnOnce(&mut ServerOptions)) -> App {
    let journal = SharedJournal::new(Journal::in_memory().expect("journal"), None);
    let metrics = Arc::new(crate::infra::metrics::Metrics::default());
    let (writer, writing) = Writer::start(journal.writing().clone(), None, metrics.clone());
    let writer = Arc::new(writer);
    let hub = Arc::new(crate::store::hub::Hub::new());
    let ingest = Arc::new(crate::store::ingest::Ingest::new(
        hub.clone(),
        writer.clone(),
        metrics,
    ));
    let opts = ServerOptions {
        desks: vec![Desk {
            ident: "paul".into(),
            secret: ctibridge_lang::config::Secret::new("paul-desk-secret"),
            lines: vec!["1003".into()],
            supervisor: false,
            lines_span: None,
        }],
        hold: std::time::Duration::from_millis(50),
        ..ServerOptions::default()
    };
    let mut opts = opts;
    change(&mut opts);
    if opts.has_supervisor() {
        // As `serve` does (its journal is empty here).
        hub.follow_wall(opts.all_lines(), Vec::new());
    }
    let sim = crate::sources::sim::Sim::new(ingest.clone(), Default::default());
    let state = Arc::new(AppState::new(Parts {
        ingest,
        provider: Provider::Simulator(sim),
        opts,
        journal,
        writer: writer.clone(),
        seen: Default::default(),
        relay_status: None,
        max_connections: 64,
    }));
    App {
        router: crate::http::front::router(state.clone()),
        state,
        writer,
        writing: Some(writing),
    }
}

const HERE: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5000);

impl App {
    /// `method uri` from `from`, with `headers`; the status and the body.
    async fn ask_from(
        &self,
        from: SocketAddr,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, String) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Body::from(body.to_owned())).expect("request");
        req.extensions_mut().insert(ConnectInfo(from));
        req.extensions_mut().insert(Https(false));
        let answer = self.router.clone().oneshot(req).await.expect("answer");
        let status = answer.status();
        let bytes = axum::body::to_bytes(answer.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn ask(&self, method: &str, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let (status, body) = self.ask_from(HERE, method, uri, headers, "").await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// A Keyyo notification of call k1 ringing at +33972101010, from
    /// `from` with `secret`, taken as the listener takes it.
    async fn notify(&self, from: SocketAddr, secret: &str) -> StatusCode {
        let uri = format!(
            "/keyyo/notify?secret={secret}&account=33972101010&caller=33388202020&callee=33972101010\
             &callref=k1&type=SETUP&version=1&tsms=1700000000000"
        );
        let req = Request::builder()
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let source = crate::wire::keyyo::Source::new(from, false, false);
        let taken = crate::http::front::take(&self.state, &source, req);
        crate::http::front::respond(&self.state, &self.router, taken)
            .await
            .status()
    }

    /// The session cookie of a login with `form`.
    async fn log_in(&self, form: &str) -> String {
        let mut req = Request::builder()
            .method("POST")
            .uri("/desk/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .expect("request");
        req.extensions_mut().insert(ConnectInfo(HERE));
        req.extensions_mut().insert(Https(false));
        let answer = self.router.clone().oneshot(req).await.expect("answer");
        assert_eq!(answer.status(), StatusCode::OK);
        answer
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned()
    }

    /// A token for paul.
    async fn token(&self) -> String {
        let (st, v) = self
            .ask(
                "GET",
                &format!("{CTI_PATH}/gettoken"),
                &[("authorization", PAUL)],
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        format!("Bearer {}", v["token"].as_str().expect("token"))
    }
}

/// gettoken, setevent, getevent, calls, call, history: a call placed by
/// the simulator, followed and acted on through the CTI routes.
#[tokio::test]
async fn the_cti_routes_place_follow_and_act_on_a_call() {
    let app = app();
    let (st, _) = app
        .ask(
            "GET",
            &format!("{CTI_PATH}/gettoken"),
            &[("authorization", "Basic cGF1bDp3cm9uZy1zZWNyZXQtNzc3")],
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a wrong secret");
    let token = app.token().await;
    let auth = [("authorization", token.as_str())];
    let (st, v) = app
        .ask(
            "GET",
            &format!("{CTI_PATH}/setevent?telorg=1003&tel=9902"),
            &auth,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let callref = v["callref"]
        .as_str()
        .expect("the simulator's callref")
        .to_owned();
    let (st, v) = app
        .ask(
            "GET",
            &format!("{CTI_PATH}/getevent?telorg=1003&cursor="),
            &auth,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["events"][0]["event"], "DIAL", "{v}");
    assert_eq!(v["events"][0]["callref"], callref.as_str(), "{v}");
    let (st, v) = app
        .ask("GET", &format!("{CTI_PATH}/calls?telorg=1003"), &auth)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["calls"][0]["callref"], callref.as_str(), "{v}");
    assert_eq!(v["calls"][0]["state"], "SETUP", "{v}");
    assert_eq!(v["calls"][0]["caller"], "1003", "outgoing: the line calls");
    let (st, v) = app
        .ask(
            "POST",
            &format!("{CTI_PATH}/call?telorg=1003&callref={callref}&op=hangup"),
            &auth,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = app
        .ask("GET", &format!("{CTI_PATH}/history?telorg=1003"), &auth)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["calls"][0]["callref"], callref.as_str(), "{v}");
    // Hung up before the callee answered.
    assert_eq!(v["calls"][0]["state"], "missed", "{v}");
    assert!(v["calls"][0]["release_at"].is_i64(), "{v}");
    // Another desk's line is refused.
    let (st, _) = app
        .ask("GET", &format!("{CTI_PATH}/calls?telorg=1004"), &auth)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // No token, no line.
    let (st, _) = app
        .ask("GET", &format!("{CTI_PATH}/calls?telorg=1003"), &[])
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

/// `/healthz` and `/metrics`: this machine only, by default.
#[tokio::test]
async fn the_operators_routes_answer_this_machine_only() {
    let app = app();
    let (st, body) = app.ask_from(HERE, "GET", "/healthz", &[], "").await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = app.ask_from(HERE, "GET", "/metrics", &[], "").await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(body.contains("ctibridge_"), "{body}");
    let away: SocketAddr = "192.0.2.7:5000".parse().expect("addr");
    for path in ["/healthz", "/metrics"] {
        let (st, _) = app.ask_from(away, "GET", path, &[], "").await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
    }
}

/// The simulator's routes: this machine only.
#[tokio::test]
async fn the_simulators_routes_answer_this_machine_only() {
    let app = app();
    let (st, body) = app
        .ask_from(HERE, "POST", "/sim/call?from=0612345678&to=1003", &[], "")
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let away: SocketAddr = "192.0.2.7:5000".parse().expect("addr");
    let (st, _) = app
        .ask_from(away, "POST", "/sim/call?from=0612345678&to=1003", &[], "")
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// The browser desk: a login sets the session's cookie, which reads the
/// desk's data; without it, nothing.
#[tokio::test]
async fn the_desk_logs_in_and_reads_its_lines() {
    let app = app();
    let (st, _) = app.ask("GET", "/desk/api/me", &[]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let cookie = app.log_in("ident=paul&secret=paul-desk-secret").await;
    let (st, v) = app.ask("GET", "/desk/api/me", &[("cookie", &cookie)]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["ident"], "paul", "{v}");
    assert_eq!(v["lines"][0]["line"], "1003", "{v}");
    assert_eq!(v["can"]["provider"], "the simulator", "{v}");
}

/// Keyyo's notifications, answered before the router as on the wire
/// (`front::take`, then `front::respond`): from an allowed address with the
/// secret, a call rings on its line once, however often Keyyo sends it;
/// a wrong secret or another address, nothing.
#[tokio::test]
async fn keyyo_notifications_are_checked_and_taken_once() {
    const SECRET: &str = "0123456789abcdef-secret";
    let app = app_with(|o| {
        o.keyyo = Some(
            crate::config::keyyo::KeyyoOptions::new(SECRET, r"127\.0\.0\.1")
                .expect("keyyo options"),
        );
    });
    assert_eq!(app.notify(HERE, SECRET).await, StatusCode::OK);
    assert_eq!(
        app.notify(HERE, SECRET).await,
        StatusCode::OK,
        "a repeat is taken, not published"
    );
    let away: SocketAddr = "192.0.2.7:5000".parse().expect("addr");
    assert_eq!(app.notify(away, SECRET).await, StatusCode::FORBIDDEN);
    assert_eq!(
        app.notify(HERE, "not-the-secret-at-all").await,
        StatusCode::FORBIDDEN
    );
    let events = app.state.hub.after("+33972101010", 0, 10);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, crate::model::event::Event::Ring);
    assert_eq!(events[0].tel, "+33388202020");
}

/// The supervisor's wall: read once from the hub, then its changes on the
/// events stream (`view=wall`): the line that changed, the day's counts,
/// numbered as the events, and the same as the wall read again.
#[tokio::test]
async fn the_wall_is_sent_its_changes() {
    use futures_util::StreamExt as _;
    let app = app_with(|o| {
        o.desks.push(Desk {
            ident: "chef".into(),
            secret: ctibridge_lang::config::Secret::new("chef-desk-secret"),
            lines: vec!["1004".into()],
            supervisor: true,
            lines_span: None,
        })
    });
    let cookie = app.log_in("ident=chef&secret=chef-desk-secret").await;
    let (st, wall) = app
        .ask("GET", "/desk/api/wall", &[("cookie", &cookie)])
        .await;
    assert_eq!(st, StatusCode::OK, "{wall}");
    assert_eq!(wall["lines"].as_array().map(Vec::len), Some(2), "{wall}");
    assert_eq!(wall["today"]["received"], 0, "{wall}");
    let cursor = wall["cursor"].as_str().expect("cursor").to_owned();
    let mut req = Request::builder()
        .uri(format!(
            "/desk/api/events?scope=all&view=wall&cursor={cursor}"
        ))
        .header("cookie", &cookie)
        .body(Body::empty())
        .expect("request");
    req.extensions_mut().insert(ConnectInfo(HERE));
    req.extensions_mut().insert(Https(false));
    let answer = app.router.clone().oneshot(req).await.expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
    let mut stream = answer.into_body().into_data_stream();
    let opened = stream.next().await.expect("open").expect("bytes");
    assert!(String::from_utf8_lossy(&opened).contains(": open"));
    let (st, call) = app
        .ask("POST", "/sim/call?from=0612345678&to=1003&answer=wait", &[])
        .await;
    assert_eq!(st, StatusCode::OK, "{call}");
    // The change: one write, at most a few keep-alives before it.
    let mut text = String::new();
    for _ in 0..10 {
        let chunk = stream.next().await.expect("a change").expect("bytes");
        text = String::from_utf8_lossy(&chunk).into_owned();
        if text.contains("event: wall") {
            break;
        }
    }
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .expect("an id")
        .to_owned();
    let data: Value = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .and_then(|d| serde_json::from_str(d).ok())
        .expect("the change");
    assert_eq!(data["cursor"], id.as_str(), "{data}");
    let lines = data["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "only the line that changed: {data}");
    assert_eq!(lines[0]["line"], "1003");
    assert_eq!(lines[0]["calls"][0]["callref"], call["callref"], "{data}");
    assert_eq!(lines[0]["calls"][0]["state"], "SETUP", "{data}");
    assert_eq!(data["today"]["received"], 1, "{data}");
    // The wall read again says the same.
    let (_, again) = app
        .ask("GET", "/desk/api/wall", &[("cookie", &cookie)])
        .await;
    assert_eq!(again["today"], data["today"]);
    assert_eq!(again["lines"][0]["calls"], lines[0]["calls"]);
    // A desk is not a supervisor: no wall, no wall stream.
    let paul = app.log_in("ident=paul&secret=paul-desk-secret").await;
    let (st, _) = app.ask("GET", "/desk/api/wall", &[("cookie", &paul)]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}
