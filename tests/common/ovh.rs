//! A stand-in of the OVH API that behaves as ../shared/PROVIDERS.md says:
//! `/1.0/auth/time` with its own clock, and click2Call with the request
//! signature checked exactly (tests/ovh.rs, tests/serve.rs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha1::{Digest as _, Sha1};

use super::{Recorded, StandIn};

pub const AK: &str = "app-key-1";
pub const AS: &str = "app-secret-1";
pub const CK: &str = "consumer-key-1";
pub const ACCOUNT: &str = "ab12345-ovh-1";
pub const LINE: &str = "0033972101010";
pub const EVENT_TOKEN: &str = "evt-token-1";
/// The stand-in's clock runs this far ahead of ours: the signature must
/// use its time.
pub const SKEW: i64 = 1000;

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

pub fn station() -> String {
    format!(
        "<account>{ACCOUNT}\n<telorg>{LINE}\n<event_token>{EVENT_TOKEN}\n<app_key>{AK}\n<app_secret>{AS}\n<consumer_key>{CK}\n"
    )
}

/// The OVH API: `/1.0/auth/time` and click2Call, signature checked.
pub struct Api {
    pub srv: StandIn,
    pub dials: Arc<AtomicUsize>,
    pub times: Arc<AtomicUsize>,
}

pub fn api() -> Api {
    let dials = Arc::new(AtomicUsize::new(0));
    let times = Arc::new(AtomicUsize::new(0));
    let base = Arc::new(Mutex::new(String::new()));
    let (d, t, b) = (dials.clone(), times.clone(), base.clone());
    let srv = StandIn::start(move |r: &Recorded| {
        if r.target == "/1.0/auth/time" {
            t.fetch_add(1, Ordering::SeqCst);
            return (200, (now() + SKEW).to_string());
        }
        if r.target == "/1.0/auth/currentCredential" {
            return current_credential(r, &b.lock().expect("base"));
        }
        let expected_path = format!("/1.0/telephony/{ACCOUNT}/line/{LINE}/click2Call");
        if r.method != "POST" || r.target != expected_path {
            return (404, r#"{"message":"Got an invalid (or empty) URL"}"#.into());
        }
        if let Err(refused) = signed(r, &b.lock().expect("base")) {
            return refused;
        }
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        if body["calledNumber"] != "0033388202020" || body["callingNumber"] != LINE {
            return (400, r#"{"message":"Invalid number"}"#.into());
        }
        d.fetch_add(1, Ordering::SeqCst);
        (200, "null".into())
    });
    *base.lock().expect("base") = format!("http://{}", srv.addr);
    Api { srv, dials, times }
}

/// The signature of `r` as the OVH API checks it, or its refusal.
fn signed(r: &Recorded, base: &str) -> Result<(), (u16, String)> {
    let h = |n: &str| r.header(n).unwrap_or_default().to_owned();
    if h("X-Ovh-Application") != AK {
        return Err((403, r#"{"message":"Invalid application key"}"#.into()));
    }
    if h("X-Ovh-Consumer") != CK {
        return Err((403, r#"{"message":"Invalid credential"}"#.into()));
    }
    let ts: i64 = h("X-Ovh-Timestamp").parse().unwrap_or(0);
    if (ts - (now() + SKEW)).abs() > 5 {
        return Err((400, r#"{"message":"Query out of time"}"#.into()));
    }
    let material = format!("{AS}+{CK}+{}+{base}{}+{}+{ts}", r.method, r.target, r.body);
    let sig: String = Sha1::digest(material.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    if h("X-Ovh-Signature") != format!("$1${sig}") {
        return Err((400, r#"{"message":"Invalid signature"}"#.into()));
    }
    Ok(())
}

/// `GET /auth/currentCredential`: the consumer key's state and rules.
fn current_credential(r: &Recorded, base: &str) -> (u16, String) {
    if let Err(refused) = signed(r, base) {
        return refused;
    }
    let cred = serde_json::json!({
        "credentialId": 1234,
        "applicationId": 42,
        "status": "validated",
        "creation": "2026-01-01T00:00:00+01:00",
        "expiration": null,
        "lastUse": null,
        "ovhSupport": false,
        "allowedIPs": null,
        "rules": [
            {"method": "GET", "path": "/telephony/*"},
            {"method": "POST", "path": "/telephony/*/line/*/click2Call"}
        ]
    });
    (200, cred.to_string())
}
