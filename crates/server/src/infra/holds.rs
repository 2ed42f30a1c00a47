//! Requests held open — desks' long polls (`getevent`) and event streams
//! (`/desk/api/events`) — bounded so that they can never take every
//! connection: a reserve stays for what cannot wait (Keyyo's
//! notifications, which Keyyo does not send again; `/healthz`;
//! `gettoken`), and one address holds at most [`PER_ADDRESS`] of them.
//! A browser session's streams are bounded apart ([`Sessions`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Held requests one address may have open (an office behind one
/// address: a few hundred desks).
pub const PER_ADDRESS: usize = 256;
/// Event streams one browser session may have open (a few tabs); past
/// it, its oldest stream ends.
pub const PER_SESSION: usize = 4;

/// Why a held request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Every connection held requests may take is taken (503).
    Server,
    /// This address holds [`PER_ADDRESS`] already (429).
    Address,
}

pub struct Holds {
    /// Held requests at most: the connections less the reserve.
    max: usize,
    held: AtomicUsize,
    per_address: Mutex<HashMap<IpAddr, usize>>,
}

/// A held request, counted until dropped.
pub struct Hold {
    holds: Arc<Holds>,
    from: IpAddr,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.holds.held.fetch_sub(1, Ordering::SeqCst);
        let mut per = self.holds.lock();
        if let Some(n) = per.get_mut(&self.from) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per.remove(&self.from);
            }
        }
    }
}

impl Holds {
    /// For a server of `max_connections`: a tenth of them (16 at least)
    /// kept for requests that are answered at once.
    pub fn new(max_connections: usize) -> Arc<Holds> {
        let reserve = (max_connections / 10).max(16);
        Arc::new(Holds {
            max: max_connections.saturating_sub(reserve).max(1),
            held: AtomicUsize::new(0),
            per_address: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_address.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A held request from `from`, or why not.
    pub fn hold(self: &Arc<Self>, from: IpAddr) -> Result<Hold, Full> {
        let mut per = self.lock();
        let mine = per.get(&from).copied().unwrap_or(0);
        if mine >= PER_ADDRESS {
            return Err(Full::Address);
        }
        if self.held.load(Ordering::SeqCst) >= self.max {
            return Err(Full::Server);
        }
        self.held.fetch_add(1, Ordering::SeqCst);
        per.insert(from, mine + 1);
        Ok(Hold {
            holds: self.clone(),
            from,
        })
    }
}

/// A session's streams, oldest first: each one's number and what tells it
/// to end.
type Open = HashMap<String, VecDeque<(u64, Arc<tokio::sync::Notify>)>>;

/// The event streams of each browser session: past [`PER_SESSION`], the
/// oldest is told to end.
#[derive(Default)]
pub struct Sessions {
    next: AtomicU64,
    open: Mutex<Open>,
}

/// One session's stream, known until dropped.
pub struct Stream {
    sessions: Arc<Sessions>,
    session: String,
    id: u64,
    /// Told when the stream must end (a newer one took its place).
    pub ended: Arc<tokio::sync::Notify>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        let mut open = self.sessions.lock();
        if let Some(q) = open.get_mut(&self.session) {
            q.retain(|(id, _)| *id != self.id);
            if q.is_empty() {
                open.remove(&self.session);
            }
        }
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new stream of `session`; its oldest ends if it has too many.
    pub fn open(self: &Arc<Self>, session: &str) -> Stream {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let ended = Arc::new(tokio::sync::Notify::new());
        let mut open = self.lock();
        let q = open.entry(session.to_owned()).or_default();
        q.push_back((id, ended.clone()));
        while q.len() > PER_SESSION {
            if let Some((_, oldest)) = q.pop_front() {
                // Kept until it looks, whenever that is.
                oldest.notify_one();
            }
        }
        Stream {
            sessions: self.clone(),
            session: session.to_owned(),
            id,
            ended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_requests_leave_a_reserve_and_one_address_its_share() {
        // 100 connections: 16 kept, 84 for held requests.
        let holds = Holds::new(100);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let kept: Vec<Hold> = (0..84)
            .map(|i| {
                let from: IpAddr = format!("192.0.2.{}", 10 + i % 50).parse().unwrap();
                holds.hold(from).expect("room")
            })
            .collect();
        assert_eq!(holds.hold(a).err(), Some(Full::Server));
        drop(kept);
        assert!(holds.hold(a).is_ok());
        // One address: its share, however many connections there are.
        let big = Holds::new(10_000);
        let many: Vec<Hold> = (0..PER_ADDRESS)
            .map(|_| big.hold(a).expect("room"))
            .collect();
        assert_eq!(big.hold(a).err(), Some(Full::Address));
        drop(many);
        assert!(big.hold(a).is_ok());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_sessions_oldest_stream_ends_past_its_share() {
        let sessions = Arc::new(Sessions::default());
        let first = sessions.open("s1");
        let rest: Vec<Stream> = (0..PER_SESSION).map(|_| sessions.open("s1")).collect();
        // The first was told to end; another session's are not.
        first.ended.notified().await;
        let other = sessions.open("s2");
        drop((first, rest, other));
        assert!(sessions.lock().is_empty());
    }
}
