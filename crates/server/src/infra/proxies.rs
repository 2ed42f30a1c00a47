//! Trusted reverse proxies (`<trusted_proxies>`): only for a connection
//! from one of them is the client's address taken from `Forwarded` (RFC
//! 7239) or `X-Forwarded-For` — the rightmost hop that is not itself a
//! trusted proxy — and the scheme from `X-Forwarded-Proto` (or
//! `Forwarded: proto=`). From anyone else those headers are ignored: a
//! client cannot make itself look like Keyyo, or like this machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The addresses and ranges whose forwarded headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// Who a request comes from, once the trusted proxies are looked through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client's address (port 0 when a proxy did not say it).
    pub addr: SocketAddr,
    /// Whether the client reached the server (or its proxy) over HTTPS.
    pub https: bool,
}

/// A hop a proxy could not name (`unknown`, an obfuscated identifier):
/// an address of nowhere, never this machine, never an allowed source.
const UNNAMED: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl TrustedProxies {
    /// Reads `text`: addresses or ranges (`127.0.0.1`, `10.0.0.0/8`,
    /// `::1`), separated by commas or spaces. The error names the first
    /// item that is neither.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            let net = match item.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(format!(
                            "`{item}` is neither an address nor a range (`10.0.0.0/8`)"
                        ))
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The addresses and ranges, as written back (`127.0.0.1/32`).
    pub fn ranges(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// Who sent a request that came on a connection from `peer` with
    /// `headers`, the connection being `https` itself.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap, https: bool) -> Client {
        if !self.trusts(peer.ip()) {
            return Client { addr: peer, https };
        }
        let forwarded = forwarded(headers);
        let (hops, proto) = match forwarded {
            Some(f) => f,
            None => (x_forwarded_for(headers), None),
        };
        // From the right: the first hop that is not a trusted proxy is the
        // client; if every hop is one, the leftmost.
        let mut client = peer;
        for hop in hops.iter().rev() {
            client = *hop;
            if !self.trusts(hop.ip()) {
                break;
            }
        }
        let proto = proto.or_else(|| {
            headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(|v| v.trim().to_ascii_lowercase())
        });
        Client {
            addr: client,
            https: match proto.as_deref() {
                Some("https") => true,
                Some(_) => false,
                None => https,
            },
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops of `Forwarded` (every header line, in order) and the `proto`
/// of its last element; `None` without the header.
fn forwarded(headers: &HeaderMap) -> Option<(Vec<SocketAddr>, Option<String>)> {
    let mut lines = headers.get_all("forwarded").iter().peekable();
    lines.peek()?;
    let mut hops = Vec::new();
    let mut proto = None;
    for line in lines {
        let Ok(line) = line.to_str() else {
            hops.push(SocketAddr::new(UNNAMED, 0));
            continue;
        };
        for element in line.split(',') {
            let mut for_ = None;
            let mut this_proto = None;
            for pair in element.split(';') {
                let Some((name, value)) = pair.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "for" => for_ = Some(node(value)),
                    "proto" => this_proto = Some(value.to_ascii_lowercase()),
                    _ => {}
                }
            }
            // An element without `for` still is a hop, of nobody known.
            hops.push(for_.unwrap_or(SocketAddr::new(UNNAMED, 0)));
            proto = this_proto;
        }
    }
    Some((hops, proto))
}

/// The hops of `X-Forwarded-For` (every header line, in order).
fn x_forwarded_for(headers: &HeaderMap) -> Vec<SocketAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap_or("unknown")
                .split(',')
                .map(|h| node(h.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A node as a proxy writes it: `192.0.2.60`, `192.0.2.60:4711`,
/// `[2001:db8::1]:4711`, `2001:db8::1`; anything else is unnamed.
fn node(text: &str) -> SocketAddr {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return SocketAddr::new(canonical(a.ip()), a.port());
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(canonical(ip), 0),
        Err(_) => SocketAddr::new(UNNAMED, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).expect("parses")
    }

    const PROXY: &str = "127.0.0.1:40000";

    #[test]
    fn forwarded_headers_from_anyone_else_are_ignored() {
        let p = proxies("127.0.0.1");
        let from: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "62.39.136.157"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(
            p.client(from, &h, false),
            Client {
                addr: from,
                https: false
            }
        );
        // No proxy trusted: the same, even from loopback.
        let local: SocketAddr = PROXY.parse().unwrap();
        assert_eq!(
            TrustedProxies::default().client(local, &h, false),
            Client {
                addr: local,
                https: false
            }
        );
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let p = proxies("127.0.0.1, 10.0.0.0/8");
        let peer: SocketAddr = PROXY.parse().unwrap();
        // A client that writes its own X-Forwarded-For cannot hide behind it.
        let h = headers(&[("x-forwarded-for", "62.39.136.157, 198.51.100.7, 10.1.2.3")]);
        let c = p.client(peer, &h, false);
        assert_eq!(c.addr.ip(), "198.51.100.7".parse::<IpAddr>().unwrap());
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "62.39.136.157"),
            ("x-forwarded-for", "10.9.9.9"),
        ]);
        assert_eq!(
            p.client(peer, &h, false).addr.ip(),
            "62.39.136.157".parse::<IpAddr>().unwrap()
        );
        // Every hop trusted: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(
            p.client(peer, &h, false).addr.ip(),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        assert_eq!(p.client(peer, &HeaderMap::new(), false).addr, peer);
    }

    #[test]
    fn forwarded_wins_and_is_read_as_rfc_7239_writes_it() {
        let p = proxies("127.0.0.1");
        let peer: SocketAddr = PROXY.parse().unwrap();
        let h = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\";proto=https",
            ),
            ("x-forwarded-for", "62.39.136.157"),
        ]);
        let c = p.client(peer, &h, false);
        assert_eq!(
            c.addr,
            "[2001:db8:cafe::17]:4711".parse::<SocketAddr>().unwrap()
        );
        assert!(c.https);
        // An unnamed hop is nobody: not this machine, not a source.
        let h = headers(&[("forwarded", "for=unknown")]);
        let c = p.client(peer, &h, true);
        assert_eq!(c.addr.ip(), UNNAMED);
        assert!(c.https, "no proto said: the connection's");
    }

    #[test]
    fn the_scheme_comes_from_x_forwarded_proto() {
        let p = proxies("::1 127.0.0.0/8");
        let peer: SocketAddr = "[::ffff:127.0.0.1]:1".parse().unwrap();
        let h = headers(&[
            ("x-forwarded-for", "62.39.136.157"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = p.client(peer, &h, false);
        assert!(c.https);
        assert_eq!(c.addr.ip(), "62.39.136.157".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_bad_item_is_named() {
        assert_eq!(
            TrustedProxies::parse("127.0.0.1, nginx").unwrap_err(),
            "`nginx` is neither an address nor a range (`10.0.0.0/8`)"
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(proxies("10.1.2.3/8").trusts("10.200.0.1".parse().unwrap()));
    }
}
