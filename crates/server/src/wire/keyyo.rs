//! Keyyo's pushed call notifications: Keyyo sends a GET to a URL set in the
//! Keyyo manager, with its keywords replaced (seed 000). This route checks
//! where it comes from and its secret, validates every field strictly,
//! drops repeats, and publishes the event for the line's stations.
//!
//! The URL to paste in the Keyyo manager ([`manager_url`]):
//! `http(s)://SERVER/keyyo/notify?secret=SECRET&account=_ACCOUNT_&caller=_CALLER_&callee=_CALLEE_&callref=_CALLREF_&type=_N_TYPE_&version=_N_VERSION_&dref=_DREF_&dref_replace=_DREF_REPLACE_&session=_SESSION_ID_&is_acd=_IS_ACD_&redirecting=_REDIRECTING_NUMBER_&tsms=_TSMS_`

use std::net::{IpAddr, SocketAddr};

use subtle::ConstantTimeEq as _;

use crate::config::keyyo::{KeyyoOptions, KEYWORDS};
use crate::model::event::{Direction, Event, LineEvent};

/// Why a notification is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 403: not from an allowed address, or a wrong secret.
    Forbidden,
    /// 400: a field is wrong.
    Invalid(String),
}

/// The secret's slot in [`Query`], after the keywords'.
const SECRET: usize = KEYWORDS.len();

/// A notification's query string, decoded without copying what needs no
/// decoding: one slot per parameter of [`KEYWORDS`] and the secret (a
/// repeated name: the last wins). This route is the one hit at a
/// provider's rate, so it reads its dozen parameters without a map.
pub struct Query<'a> {
    values: [std::borrow::Cow<'a, str>; KEYWORDS.len() + 1],
    /// The first parameter that is none of ours.
    unknown: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Query<'a> {
    pub fn parse(query: &'a str) -> Query<'a> {
        let mut q = Query {
            values: Default::default(),
            unknown: None,
        };
        // One pass over the bytes: each pair's end, its first `=`, and
        // whether it needs decoding (as `split('&')` then a scan of each
        // pair would, reading everything twice).
        let all = query.as_bytes();
        let mut start = 0;
        while start <= all.len() {
            let mut end = start;
            let mut equals = None;
            let mut encoded = false;
            while let Some(&b) = all.get(end) {
                match b {
                    b'&' => break,
                    b'=' if equals.is_none() => equals = Some(end - start),
                    b'%' | b'+' => encoded = true,
                    _ => {}
                }
                end += 1;
            }
            let pair = &query[start..end];
            start = end + 1;
            // Keyyo's values are digits and references: nothing to decode,
            // borrowed as they are; a pair with `%` or `+` is decoded.
            let bytes = pair.as_bytes();
            let (name, value) = if encoded {
                match url::form_urlencoded::parse(bytes).next() {
                    Some(decoded) => decoded,
                    None => continue,
                }
            } else {
                match equals {
                    Some(i) => (pair[..i].into(), pair[i + 1..].into()),
                    None if pair.is_empty() => continue,
                    None => (pair.into(), "".into()),
                }
            };
            let slot = slot(&name);
            match slot {
                Some(i) => q.values[i] = value,
                None => {
                    q.unknown.get_or_insert(name);
                }
            }
        }
        q
    }

    /// The value of `name` (a parameter of [`KEYWORDS`]), trimmed; empty
    /// when absent.
    fn get(&self, name: &str) -> &str {
        slot(name).map_or("", |i| self.values[i].trim())
    }
}

/// The slot of parameter `name` in [`Query`]: its index in [`KEYWORDS`], or
/// [`SECRET`] (a `match`: no string compared more than once).
fn slot(name: &str) -> Option<usize> {
    Some(match name {
        "account" => 0,
        "caller" => 1,
        "callee" => 2,
        "callref" => 3,
        "type" => 4,
        "version" => 5,
        "dref" => 6,
        "dref_replace" => 7,
        "session" => 8,
        "is_acd" => 9,
        "redirecting" => 10,
        "tsms" => 11,
        "secret" => SECRET,
        _ => return None,
    })
}

/// What a notification says happened to the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Setup,
    Connect,
    Release,
}

impl Kind {
    /// The events a notification of this kind is journaled as.
    pub fn events(self) -> &'static [crate::model::event::Event] {
        use crate::model::event::Event;
        match self {
            Kind::Setup => &[Event::Ring, Event::Dial],
            Kind::Connect => &[Event::Connect],
            Kind::Release => &[Event::Release, Event::Missed],
        }
    }

    /// The kind of notification a journaled event came from.
    pub fn of(event: crate::model::event::Event) -> Option<Kind> {
        use crate::model::event::Event;
        match event {
            Event::Ring | Event::Dial => Some(Kind::Setup),
            Event::Connect => Some(Kind::Connect),
            Event::Release | Event::Missed => Some(Kind::Release),
            Event::Park | Event::Unpark => None,
        }
    }
}

/// A validated notification, borrowing from its [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification<'q> {
    pub account: &'q str,
    pub caller: &'q str,
    pub callee: &'q str,
    pub callref: &'q str,
    pub kind: Kind,
    pub dref: Option<&'q str>,
    pub dref_replace: Option<&'q str>,
    /// When Keyyo says it happened (`tsms`, ms since 1970).
    pub tsms: Option<i64>,
}

/// Whether `opts` allows notifications from `peer` (its address written
/// on the stack: no allocation per request).
fn allowed_source(opts: &KeyyoOptions, peer: IpAddr) -> bool {
    use std::io::Write as _;
    let mut buf = [0u8; 48];
    let mut w = &mut buf[..];
    if write!(w, "{peer}").is_err() {
        return false;
    }
    let len = 48 - w.len();
    std::str::from_utf8(&buf[..len]).is_ok_and(|a| opts.sources_re.is_match(a))
}

/// Where a connection comes from, and whether Keyyo's notifications are
/// allowed from there: matched against the allowed sources once per
/// connection (its address does not change), not once per notification —
/// unless the connection is a trusted proxy's, whose requests each say
/// which client they carry.
pub struct Source {
    peer: SocketAddr,
    /// The connection is a trusted proxy's.
    proxy: bool,
    /// The connection is HTTPS.
    https: bool,
    allowed: std::sync::OnceLock<bool>,
}

impl Source {
    pub fn new(peer: SocketAddr, proxy: bool, https: bool) -> Source {
        Source {
            peer,
            proxy,
            https,
            allowed: std::sync::OnceLock::new(),
        }
    }

    /// The connection's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the connection is a trusted proxy's.
    pub fn is_proxy(&self) -> bool {
        self.proxy
    }

    /// Whether the connection is HTTPS.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether notifications from `client` (this connection's peer, or
    /// the client a trusted proxy names) are allowed.
    fn allowed(&self, opts: &KeyyoOptions, client: std::net::IpAddr) -> bool {
        if self.proxy {
            return allowed_source(opts, client);
        }
        *self
            .allowed
            .get_or_init(|| allowed_source(opts, self.peer.ip()))
    }
}

/// Checks source, secret and fields; nothing is kept from a refusal.
pub fn validate<'q>(
    opts: &KeyyoOptions,
    source: &Source,
    client: std::net::IpAddr,
    q: &'q Query<'_>,
) -> Result<Notification<'q>, Refusal> {
    if !source.allowed(opts, client) {
        return Err(Refusal::Forbidden);
    }
    let secret = &q.values[SECRET];
    if !bool::from(secret.as_bytes().ct_eq(opts.secret.expose().as_bytes())) {
        return Err(Refusal::Forbidden);
    }
    if let Some(key) = &q.unknown {
        return Err(Refusal::Invalid(format!("unknown parameter `{key}`")));
    }
    let invalid = |m: String| Err(Refusal::Invalid(m));
    let number = |k: &str, required: bool| -> Result<&'q str, Refusal> {
        let v = q.get(k);
        if v.is_empty() && !required {
            return Ok("");
        }
        // Digits only; a Keyyo voicemail callee has 22, nothing has over 64.
        if v.is_empty() || v.len() > 64 || !v.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Refusal::Invalid(format!("`{k}` is not a number")));
        }
        Ok(v)
    };
    let reference = |k: &str, required: bool| -> Result<Option<&'q str>, Refusal> {
        let v = q.get(k);
        if v.is_empty() {
            return if required {
                Err(Refusal::Invalid(format!("`{k}` is missing")))
            } else {
                Ok(None)
            };
        }
        if v.len() > 64
            || !v
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        {
            return Err(Refusal::Invalid(format!("`{k}` is not a call reference")));
        }
        Ok(Some(v))
    };
    let account = number("account", true)?;
    let caller = number("caller", false)?;
    let callee = number("callee", true)?;
    let callref = reference("callref", true)?.unwrap_or_default();
    let kind = q.get("type");
    let kind = if kind.eq_ignore_ascii_case("SETUP") {
        Kind::Setup
    } else if kind.eq_ignore_ascii_case("CONNECT") {
        Kind::Connect
    } else if kind.eq_ignore_ascii_case("RELEASE") {
        Kind::Release
    } else {
        return invalid("`type` is SETUP, CONNECT or RELEASE".into());
    };
    if !matches!(q.get("version"), "" | "1") {
        return invalid("`version` is 1".into());
    }
    let tsms = q.get("tsms");
    if !tsms.is_empty() && (tsms.len() != 13 || !tsms.bytes().all(|c| c.is_ascii_digit())) {
        return invalid("`tsms` is 13 digits (milliseconds)".into());
    }
    if !matches!(q.get("is_acd"), "" | "0" | "1") {
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
        tsms: tsms.parse().ok(),
    })
}

impl Notification<'_> {
    /// The event for the line's stations: an outgoing call when the caller
    /// is the line itself.
    /// The event for the account's line; numbers (Keyyo writes them
    /// `33…`) in their one identity, E.164.
    pub fn line_event(&self) -> LineEvent {
        use ctibridge_client::number::identity_of_international as identity;
        let outgoing = self.caller == self.account;
        let event = match (self.kind, outgoing) {
            (Kind::Setup, true) => Event::Dial,
            (Kind::Setup, false) => Event::Ring,
            (Kind::Connect, _) => Event::Connect,
            (Kind::Release, _) => Event::Release,
        };
        let callee = identity(self.callee);
        LineEvent {
            seq: 0,
            line: identity(self.account),
            event,
            tel: if outgoing {
                callee.clone()
            } else {
                identity(self.caller)
            },
            called: callee,
            callref: self.callref.to_owned(),
            direction: if outgoing {
                Direction::Out
            } else {
                Direction::In
            },
            replaces: self.dref_replace.map(str::to_owned),
            person: None,
            slot: None,
            at: 0,
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

    /// A notification's query string: the usual fields, with `pairs`
    /// replacing or adding some.
    fn q(pairs: &[(&str, &str)]) -> String {
        let mut fields: Vec<(&str, &str)> = vec![
            ("secret", "0123456789abcdef-secret"),
            ("account", "33972101010"),
            ("caller", "33388202020"),
            ("callee", "33972101010"),
            ("callref", "123456"),
            ("type", "SETUP"),
            ("version", "1"),
            ("tsms", "1700000000000"),
        ];
        for (k, v) in pairs {
            fields.retain(|(f, _)| f != k);
            fields.push((k, v));
        }
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish()
    }

    /// Validates the notification of `pairs`; its event.
    fn v(o: &KeyyoOptions, ip: IpAddr, pairs: &[(&str, &str)]) -> Result<LineEvent, Refusal> {
        let text = q(pairs);
        let query = Query::parse(&text);
        validate(
            o,
            &Source::new(SocketAddr::new(ip, 0), false, false),
            ip,
            &query,
        )
        .map(|n| n.line_event())
    }

    #[test]
    fn sources_and_secret() {
        let o = opts();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(v(&o, local, &[]).is_ok());
        assert_eq!(
            v(&o, "127.0.0.2".parse().unwrap(), &[]),
            Err(Refusal::Forbidden)
        );
        // Anchored: a longer address that contains an allowed one is refused.
        assert_eq!(
            v(&o, "162.39.136.157".parse().unwrap(), &[]),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            v(&o, local, &[("secret", "wrong")]),
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
                matches!(v(&o, ip, &[bad]), Err(Refusal::Invalid(_))),
                "{bad:?}"
            );
        }
        // A voicemail callee has 22 digits; a withheld caller is empty.
        assert!(v(&o, ip, &[("callee", &"1".repeat(22))]).is_ok());
        assert!(v(&o, ip, &[("caller", "")]).is_ok());
    }

    #[test]
    fn outgoing_replacing_and_repeats() {
        let o = opts();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let e = v(
            &o,
            ip,
            &[("caller", "33972101010"), ("callee", "33388202020")],
        )
        .unwrap();
        assert_eq!(
            (e.event.as_str(), e.direction.as_str(), e.tel.as_str()),
            ("DIAL", "out", "+33388202020")
        );
        // Numbers in their one identity: E.164, or as written when no plan
        // knows them (a voicemail's 22 digits), extensions as they are.
        assert_eq!(e.line, "+33972101010");
        let e = v(&o, ip, &[("callee", &"1".repeat(22)), ("caller", "1003")]).unwrap();
        assert_eq!(
            (e.called.as_str(), e.tel.as_str()),
            ("1".repeat(22).as_str(), "1003")
        );
        let e = v(&o, ip, &[("dref_replace", "99")]).unwrap();
        assert_eq!(e.replaces.as_deref(), Some("99"));
    }

    #[test]
    fn every_keyword_has_its_own_slot() {
        for (i, (name, _)) in KEYWORDS.iter().enumerate() {
            assert_eq!(slot(name), Some(i), "{name}");
        }
        assert_eq!(slot("secret"), Some(SECRET));
        assert_eq!(slot("extra"), None);
    }

    #[test]
    fn the_query_is_decoded_and_a_repeated_name_keeps_its_last_value() {
        let q = Query::parse("callref=a%2Db&type=SETUP&callref=x+y&caller=%33%33&zz=1&yy=2");
        assert_eq!(q.get("callref"), "x y");
        assert_eq!(q.get("caller"), "33");
        assert_eq!(q.get("type"), "SETUP");
        assert_eq!(q.get("callee"), "");
        assert_eq!(q.unknown.as_deref(), Some("zz"));
    }

    /// Query strings read in one pass as `url`'s form reader reads them
    /// (pair by pair, the last value of a name winning), empty pairs,
    /// names without `=` and values with `=` included.
    #[test]
    fn the_query_reads_pairs_as_the_form_reader_does() {
        let cases = [
            "",
            "&",
            "&&account=1&&",
            "account",
            "account=",
            "=1",
            "account=1=2&caller=3",
            "caller=+33%20&callee=%",
            "secret=s&extra=1&other=2",
            "type=SETUP&type=RELEASE&",
            "callref=a%26b&dref=x",
        ];
        for case in cases {
            let q = Query::parse(case);
            let mut want: Vec<String> = vec![String::new(); KEYWORDS.len() + 1];
            let mut unknown = None;
            for (name, value) in url::form_urlencoded::parse(case.as_bytes()) {
                match slot(&name) {
                    Some(i) => want[i] = value.into_owned(),
                    None => {
                        unknown.get_or_insert(name.into_owned());
                    }
                }
            }
            let got: Vec<&str> = q.values.iter().map(|v| v.as_ref()).collect();
            assert_eq!(got, want, "{case:?}");
            assert_eq!(q.unknown.as_deref(), unknown.as_deref(), "{case:?}");
        }
    }
}
