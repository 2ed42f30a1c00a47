//! Keyyo's pushed call notifications: Keyyo sends a GET to a URL set in the
//! Keyyo manager, with its keywords replaced (seed 000). This route checks
//! where it comes from and its secret, validates every field strictly,
//! drops repeats, and publishes the event for the line's stations.
//!
//! The URL to paste in the Keyyo manager ([`manager_url`]):
//! `http(s)://SERVER/keyyo/notify?secret=SECRET&account=_ACCOUNT_&caller=_CALLER_&callee=_CALLEE_&callref=_CALLREF_&type=_N_TYPE_&version=_N_VERSION_&dref=_DREF_&dref_replace=_DREF_REPLACE_&session=_SESSION_ID_&is_acd=_IS_ACD_&redirecting=_REDIRECTING_NUMBER_&tsms=_TSMS_`

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use subtle::ConstantTimeEq as _;

use crate::server::hub::LineEvent;

/// The route.
pub const PATH: &str = "/keyyo/notify";

/// Every keyword of Keyyo's notification URL, with our parameter name.
pub const KEYWORDS: &[(&str, &str)] = &[
    ("account", "_ACCOUNT_"),
    ("caller", "_CALLER_"),
    ("callee", "_CALLEE_"),
    ("callref", "_CALLREF_"),
    ("type", "_N_TYPE_"),
    ("version", "_N_VERSION_"),
    ("dref", "_DREF_"),
    ("dref_replace", "_DREF_REPLACE_"),
    ("session", "_SESSION_ID_"),
    ("is_acd", "_IS_ACD_"),
    ("redirecting", "_REDIRECTING_NUMBER_"),
    ("tsms", "_TSMS_"),
];

/// The URL to paste in the Keyyo manager, for a server reachable at `base`.
pub fn manager_url(base: &str, secret: &str) -> String {
    let params: Vec<String> = KEYWORDS.iter().map(|(p, k)| format!("{p}={k}")).collect();
    format!(
        "{}{PATH}?secret={secret}&{}",
        base.trim_end_matches('/'),
        params.join("&")
    )
}

/// Who may send notifications.
#[derive(Clone, Debug)]
pub struct KeyyoOptions {
    pub secret: String,
    /// Source addresses as written (`62\.39\.136\.157|83\.136\.160\.79`).
    pub sources: String,
    /// The same, anchored: matched against the whole address.
    pub sources_re: regex::Regex,
}

impl KeyyoOptions {
    /// `sources` as the Keyyo manager writes them; anchored here.
    pub fn new(secret: &str, sources: &str) -> Result<KeyyoOptions, String> {
        if secret.len() < 16 {
            return Err("the Keyyo notification secret must have at least 16 characters".into());
        }
        let re = regex::Regex::new(&format!("^(?:{sources})$"))
            .map_err(|e| format!("the allowed sources are not a regular expression: {e}"))?;
        Ok(KeyyoOptions {
            secret: secret.to_owned(),
            sources: sources.to_owned(),
            sources_re: re,
        })
    }
}

/// Why a notification is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 403: not from an allowed address, or a wrong secret.
    Forbidden,
    /// 400: a field is wrong.
    Invalid(String),
}

/// A validated notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub account: String,
    pub caller: String,
    pub callee: String,
    pub callref: String,
    pub kind: String,
    pub dref: Option<String>,
    pub dref_replace: Option<String>,
}

/// Checks source, secret and fields; nothing is kept from a refusal.
pub fn validate(
    opts: &KeyyoOptions,
    peer: IpAddr,
    q: &HashMap<String, String>,
) -> Result<Notification, Refusal> {
    if !opts.sources_re.is_match(&peer.to_string()) {
        return Err(Refusal::Forbidden);
    }
    let secret = q.get("secret").map(String::as_str).unwrap_or("");
    if !bool::from(secret.as_bytes().ct_eq(opts.secret.as_bytes())) {
        return Err(Refusal::Forbidden);
    }
    for key in q.keys() {
        if key != "secret" && !KEYWORDS.iter().any(|(p, _)| p == key) {
            return Err(Refusal::Invalid(format!("unknown parameter `{key}`")));
        }
    }
    let get = |k: &str| q.get(k).map(|v| v.trim()).unwrap_or("");
    let invalid = |m: String| Err(Refusal::Invalid(m));
    let number = |k: &str, required: bool| -> Result<String, Refusal> {
        let v = get(k);
        if v.is_empty() && !required {
            return Ok(String::new());
        }
        // Digits only; a Keyyo voicemail callee has 22, nothing has over 64.
        if v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_digit()) {
            return Err(Refusal::Invalid(format!("`{k}` is not a number")));
        }
        Ok(v.to_owned())
    };
    let reference = |k: &str, required: bool| -> Result<Option<String>, Refusal> {
        let v = get(k);
        if v.is_empty() {
            return if required {
                Err(Refusal::Invalid(format!("`{k}` is missing")))
            } else {
                Ok(None)
            };
        }
        if v.len() > 64
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Refusal::Invalid(format!("`{k}` is not a call reference")));
        }
        Ok(Some(v.to_owned()))
    };
    let account = number("account", true)?;
    let caller = number("caller", false)?;
    let callee = number("callee", true)?;
    let callref = reference("callref", true)?.unwrap_or_default();
    let kind = get("type").to_ascii_uppercase();
    if !matches!(kind.as_str(), "SETUP" | "CONNECT" | "RELEASE") {
        return invalid("`type` is SETUP, CONNECT or RELEASE".into());
    }
    if !matches!(get("version"), "" | "1") {
        return invalid("`version` is 1".into());
    }
    let tsms = get("tsms");
    if !tsms.is_empty() && (tsms.len() != 13 || !tsms.chars().all(|c| c.is_ascii_digit())) {
        return invalid("`tsms` is 13 digits (milliseconds)".into());
    }
    if !matches!(get("is_acd"), "" | "0" | "1") {
        return invalid("`is_acd` is 0 or 1".into());
    }
    number("redirecting", false)?;
    reference("session", false)?;
    Ok(Notification {
        account,
        caller,
        callee,
        callref,
        kind,
        dref: reference("dref", false)?,
        dref_replace: reference("dref_replace", false)?,
    })
}

impl Notification {
    /// The event for the line's stations: an outgoing call when the caller
    /// is the line itself.
    pub fn line_event(&self) -> LineEvent {
        let outgoing = self.caller == self.account;
        let event = match (self.kind.as_str(), outgoing) {
            ("SETUP", true) => "DIAL",
            ("SETUP", false) => "RING",
            (k, _) => k,
        };
        LineEvent {
            seq: 0,
            line: self.account.clone(),
            event: event.to_owned(),
            tel: if outgoing {
                self.callee.clone()
            } else {
                self.caller.clone()
            },
            called: self.callee.clone(),
            callref: self.callref.clone(),
            direction: if outgoing { "out" } else { "in" },
            replaces: self.dref_replace.clone(),
        }
    }
}

/// Repeated notifications (same call ref and type) are ignored; the last
/// [`Seen::CAPACITY`] are remembered.
#[derive(Default)]
pub struct Seen {
    set: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

impl Seen {
    pub const CAPACITY: usize = 10_000;

    /// Whether this (call ref, type) is new; remembers it.
    pub fn first_time(&mut self, callref: &str, kind: &str) -> bool {
        let key = (callref.to_owned(), kind.to_owned());
        if self.set.contains(&key) {
            return false;
        }
        if self.order.len() >= Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(key.clone());
        self.order.push_back(key);
        true
    }
}

/// Requests per source address: a token bucket of `burst`, refilled at
/// `per_second`.
pub struct RateLimit {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    per_second: f64,
    burst: f64,
}

impl RateLimit {
    pub fn new(per_second: f64, burst: f64) -> RateLimit {
        RateLimit {
            buckets: Mutex::new(HashMap::new()),
            per_second,
            burst,
        }
    }

    /// Whether `ip` may make one more request now.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() > 10_000 {
            // Forget full buckets: they are the same as new ones.
            let (rate, burst) = (self.per_second, self.burst);
            b.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if b.len() > 10_000 {
                // A flood from many addresses: start every bucket afresh
                // rather than grow.
                b.clear();
            }
        }
        let (tokens, at) = b.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> KeyyoOptions {
        KeyyoOptions::new(
            "0123456789abcdef-secret",
            r"62\.39\.136\.157|83\.136\.160\.79|127\.0\.0\.1",
        )
        .unwrap()
    }

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("secret", "0123456789abcdef-secret"),
            ("account", "33972101010"),
            ("caller", "33388202020"),
            ("callee", "33972101010"),
            ("callref", "123456"),
            ("type", "SETUP"),
            ("version", "1"),
            ("tsms", "1700000000000"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in pairs {
            m.insert((*k).to_owned(), (*v).to_owned());
        }
        m
    }

    #[test]
    fn sources_and_secret() {
        let o = opts();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(validate(&o, local, &q(&[])).is_ok());
        assert_eq!(
            validate(&o, "127.0.0.2".parse().unwrap(), &q(&[])),
            Err(Refusal::Forbidden)
        );
        // Anchored: a longer address that contains an allowed one is refused.
        assert_eq!(
            validate(&o, "162.39.136.157".parse().unwrap(), &q(&[])),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            validate(&o, local, &q(&[("secret", "wrong")])),
            Err(Refusal::Forbidden)
        );
        assert!(KeyyoOptions::new("short", "1").is_err());
        assert!(KeyyoOptions::new("0123456789abcdef", "(").is_err());
    }

    #[test]
    fn strict_fields() {
        let o = opts();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for bad in [
            ("caller", "03 88"),
            ("caller", "+33388"),
            ("callee", ""),
            ("callee", &"1".repeat(65)),
            ("type", "RINGING"),
            ("tsms", "170000000000"),
            ("version", "2"),
            ("callref", "a b"),
            ("is_acd", "yes"),
            ("extra", "1"),
        ] {
            assert!(
                matches!(validate(&o, ip, &q(&[bad])), Err(Refusal::Invalid(_))),
                "{bad:?}"
            );
        }
        // A voicemail callee has 22 digits; a withheld caller is empty.
        assert!(validate(&o, ip, &q(&[("callee", &"1".repeat(22))])).is_ok());
        assert!(validate(&o, ip, &q(&[("caller", "")])).is_ok());
    }

    #[test]
    fn outgoing_replacing_and_repeats() {
        let o = opts();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let n = validate(
            &o,
            ip,
            &q(&[("caller", "33972101010"), ("callee", "33388202020")]),
        )
        .unwrap();
        let e = n.line_event();
        assert_eq!(
            (e.event.as_str(), e.direction, e.tel.as_str()),
            ("DIAL", "out", "33388202020")
        );
        let n = validate(&o, ip, &q(&[("dref_replace", "99")])).unwrap();
        assert_eq!(n.line_event().replaces.as_deref(), Some("99"));
        let mut seen = Seen::default();
        assert!(seen.first_time("1", "SETUP"));
        assert!(!seen.first_time("1", "SETUP"));
        assert!(seen.first_time("1", "CONNECT"));
    }

    #[test]
    fn rate_limit_per_source() {
        let r = RateLimit::new(1.0, 3.0);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| r.allow(a)));
        assert!(!r.allow(a));
        assert!(r.allow(b));
    }

    #[test]
    fn the_manager_url_names_every_keyword() {
        let u = manager_url("https://cti.example/", "S3CRET");
        for (_, k) in KEYWORDS {
            assert!(u.contains(k), "{k}");
        }
        assert!(u.starts_with("https://cti.example/keyyo/notify?secret=S3CRET&account=_ACCOUNT_"));
    }
}
