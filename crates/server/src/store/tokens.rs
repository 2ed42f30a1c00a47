//! The tokens `gettoken` hands out: each to a desk, from a source address,
//! valid a while. Bounded without ever refusing a newcomer: a desk keeps
//! its last [`PER_DESK`], an address its last [`PER_SOURCE`], the server
//! its last [`MAX_TOKENS`]; past a bound the oldest token goes (its desk,
//! answered 401, asks a new one). A flood of `gettoken` cannot lock a real
//! desk out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Valid tokens one desk may hold.
pub const PER_DESK: usize = 8;
/// Valid tokens given to one source address.
pub const PER_SOURCE: usize = 1000;
/// Valid tokens in all.
pub const MAX_TOKENS: usize = 10_000;

struct Issued {
    token: String,
    ident: String,
    source: IpAddr,
    expires: Instant,
}

#[derive(Default)]
pub struct Tokens {
    /// Token → its issue number.
    by_token: HashMap<String, u64>,
    /// Issue number → what was issued, oldest first.
    issued: BTreeMap<u64, Issued>,
    /// Issue numbers per desk and per source, oldest first (numbers whose
    /// token is gone are skipped as they come).
    per_desk: HashMap<String, VecDeque<u64>>,
    per_source: HashMap<IpAddr, VecDeque<u64>>,
    next: u64,
}

impl Tokens {
    /// Records `token`, given to `ident` at `source`, valid `ttl`.
    pub fn issue(
        &mut self,
        token: String,
        ident: &str,
        source: IpAddr,
        ttl: Duration,
        now: Instant,
    ) {
        self.expire(now);
        let seq = self.next;
        self.next += 1;
        // A desk keeps its last few, an address its last many.
        let mut drop_now = Vec::new();
        let desk = self.per_desk.entry(ident.to_owned()).or_default();
        drop_now.extend(make_room(desk, &self.issued, PER_DESK));
        desk.push_back(seq);
        let from = self.per_source.entry(source).or_default();
        drop_now.extend(make_room(from, &self.issued, PER_SOURCE));
        from.push_back(seq);
        for s in drop_now {
            self.remove(s);
        }
        while self.issued.len() >= MAX_TOKENS {
            let Some((&oldest, _)) = self.issued.iter().next() else {
                break;
            };
            self.remove(oldest);
        }
        self.by_token.insert(token.clone(), seq);
        self.issued.insert(
            seq,
            Issued {
                token,
                ident: ident.to_owned(),
                source,
                expires: now + ttl,
            },
        );
    }

    /// The desk `token` was given to, if it is still valid. The token is
    /// then the most recently used: past a bound, the least recently used
    /// go first, so a flood of new tokens never recycles the one a desk is
    /// using.
    pub fn holder(&mut self, token: &str, now: Instant) -> Option<&str> {
        let seq = *self.by_token.get(token)?;
        if self.issued.get(&seq)?.expires <= now {
            return None;
        }
        let fresh = self.next;
        self.next += 1;
        let i = self.issued.remove(&seq)?;
        // Its old number is skipped in the queues as a gone one.
        if let Some(q) = self.per_desk.get_mut(&i.ident) {
            q.push_back(fresh);
        }
        if let Some(q) = self.per_source.get_mut(&i.source) {
            q.push_back(fresh);
        }
        self.by_token.insert(i.token.clone(), fresh);
        let i = self.issued.entry(fresh).or_insert(i);
        Some(i.ident.as_str())
    }

    /// How many desks hold a valid token at `now`.
    pub fn desks_holding(&self, now: Instant) -> usize {
        self.issued
            .values()
            .filter(|i| i.expires > now)
            .map(|i| i.ident.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.issued.len()
    }

    fn remove(&mut self, seq: u64) {
        let Some(i) = self.issued.remove(&seq) else {
            return;
        };
        self.by_token.remove(&i.token);
        // A desk or an address with no token left is forgotten.
        let issued = &self.issued;
        let gone = |q: &VecDeque<u64>| !q.iter().any(|s| issued.contains_key(s));
        if self.per_desk.get(&i.ident).is_some_and(gone) {
            self.per_desk.remove(&i.ident);
        }
        if self.per_source.get(&i.source).is_some_and(gone) {
            self.per_source.remove(&i.source);
        }
    }

    /// Tokens expire about in the order they were used (one lifetime for
    /// all): the least recently used first; one used lately but given long
    /// ago waits for its turn (its holder checks the time itself).
    fn expire(&mut self, now: Instant) {
        while let Some((&seq, i)) = self.issued.iter().next() {
            if i.expires > now {
                break;
            }
            self.remove(seq);
        }
    }
}

/// The oldest tokens of a queue to remove so that one more fits within
/// `bound`. Numbers of tokens already gone are dropped from the front as
/// they come, and all at once when the queue has grown to twice the bound
/// (so that it stays within that, at a cost spread over as many issues).
fn make_room(q: &mut VecDeque<u64>, issued: &BTreeMap<u64, Issued>, bound: usize) -> Vec<u64> {
    if q.len() >= 2 * bound {
        q.retain(|s| issued.contains_key(s));
    }
    let mut out = Vec::new();
    loop {
        while q.front().is_some_and(|s| !issued.contains_key(s)) {
            q.pop_front();
        }
        // Few are gone in the middle: counting them as live only makes
        // room a little early.
        if q.len() < bound {
            return out;
        }
        out.extend(q.pop_front());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(3600);

    #[test]
    fn a_flood_recycles_the_oldest_and_never_refuses() {
        let mut t = Tokens::default();
        let now = Instant::now();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        t.issue("desk-token".into(), "accueil", here, TTL, now);
        for i in 0..(MAX_TOKENS * 2) {
            t.issue(format!("f{i}"), &format!("filler{i}"), here, TTL, now);
        }
        // Bounded per source: the desk's token was recycled, not the
        // newcomer refused; the desk asks again and gets one.
        assert!(t.len() <= PER_SOURCE);
        assert_eq!(t.holder("desk-token", now), None);
        t.issue("again".into(), "accueil", here, TTL, now);
        assert_eq!(t.holder("again", now), Some("accueil"));
        // Other sources are not touched by one source's flood.
        let other: IpAddr = "10.0.0.7".parse().unwrap();
        t.issue("other".into(), "compta", other, TTL, now);
        for i in 0..PER_SOURCE {
            t.issue(format!("g{i}"), "x", here, TTL, now);
        }
        assert_eq!(t.holder("other", now), Some("compta"));
        // A desk keeps its last few; tokens expire.
        for i in 0..20 {
            t.issue(format!("c{i}"), "compta", other, TTL, now);
        }
        assert_eq!(t.holder("c11", now), None);
        assert_eq!(t.holder("c19", now), Some("compta"));
        assert_eq!(t.holder("c19", now + TTL), None);
        t.issue("late".into(), "y", here, TTL, now + TTL);
        assert!(t.holder("late", now + TTL).is_some());
    }

    /// A desk that uses its token keeps it through a flood of newcomers
    /// from its own address (the zero-configuration setup: any desk of
    /// this machine): the least recently used go, not the oldest given.
    #[test]
    fn a_token_in_use_outlives_a_flood() {
        let mut t = Tokens::default();
        let now = Instant::now();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        t.issue("desk-token".into(), "accueil", here, TTL, now);
        for i in 0..(MAX_TOKENS * 2) {
            t.issue(format!("f{i}"), &format!("filler{i}"), here, TTL, now);
            if i % 100 == 0 {
                assert_eq!(t.holder("desk-token", now), Some("accueil"), "after {i}");
            }
        }
        assert!(t.len() <= PER_SOURCE + 1);
    }
}
