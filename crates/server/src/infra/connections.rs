//! The server's open connections, bounded below the process's file
//! descriptor limit: when the bound is reached, the connection idle the
//! longest (between two requests, or still sending its first) is closed to
//! make room; when every connection is busy (held polls), the newcomer is
//! refused with 503. Valid desks keep being served whatever a flood of
//! idle connections does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One connection, as the registry sees it.
pub struct Connection {
    /// In a request (its answer not yet given): never shed.
    busy: AtomicBool,
    /// When it last started or ended a request (ms since the registry's
    /// start), or was accepted.
    last: AtomicU64,
    /// Told to close.
    close: tokio::sync::Notify,
    epoch: Instant,
}

impl Connection {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A request starts on it.
    pub fn start(&self) {
        self.busy.store(true, Ordering::SeqCst);
        self.last.store(self.now(), Ordering::SeqCst);
    }

    /// Its request is answered.
    pub fn end(&self) {
        self.busy.store(false, Ordering::SeqCst);
        self.last.store(self.now(), Ordering::SeqCst);
    }

    /// Resolves when the registry closes it to make room.
    pub async fn closed(&self) {
        self.close.notified().await;
    }
}

/// The registry.
pub struct Connections {
    max: usize,
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    epoch: Instant,
}

/// Unregisters its connection when dropped.
pub struct Registered {
    id: u64,
    pub conn: Arc<Connection>,
    registry: Arc<Connections>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max: max.max(1),
            next: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the bound is reached: the next [`Connections::admit`] closes
    /// a connection (or refuses).
    pub fn is_full(&self) -> bool {
        self.lock().len() >= self.max
    }

    /// Closes every connection that has been idle (between two requests,
    /// or still sending its first) for `limit` or more: a client has that
    /// long to send a request's headers. Called now and then (every
    /// second), rather than a timer per request, which would cost every
    /// request a wake-up of the runtime.
    pub fn close_idle(&self, limit: std::time::Duration) -> usize {
        let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut open = self.lock();
        let before = open.len();
        open.retain(|id, c| {
            let idle = !c.busy.load(Ordering::SeqCst)
                && now.saturating_sub(c.last.load(Ordering::SeqCst)) >= limit;
            if idle {
                tracing::debug!(connection = id, "closed: no request within the time limit");
                c.close.notify_one();
            }
            !idle
        });
        before - open.len()
    }

    /// Room for one more: registered, after closing the connection idle
    /// the longest if the bound is reached; `None` when every connection
    /// is busy (the newcomer is refused).
    pub fn admit(self: &Arc<Self>) -> Option<Registered> {
        let mut open = self.lock();
        if open.len() >= self.max {
            let idle = open
                .iter()
                .filter(|(_, c)| !c.busy.load(Ordering::SeqCst))
                .min_by_key(|(_, c)| c.last.load(Ordering::SeqCst))
                .map(|(id, _)| *id)?;
            if let Some(c) = open.remove(&idle) {
                tracing::debug!(connection = idle, "closed to make room: idle the longest");
                c.close.notify_one();
            }
        }
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let conn = Arc::new(Connection {
            busy: AtomicBool::new(false),
            last: AtomicU64::new(0),
            close: tokio::sync::Notify::new(),
            epoch: self.epoch,
        });
        conn.last.store(conn.now(), Ordering::SeqCst);
        open.insert(id, conn.clone());
        Some(Registered {
            id,
            conn,
            registry: self.clone(),
        })
    }
}

/// The default bound: the process's open-file limit less a reserve for
/// what else needs descriptors — the journal and its write-ahead log, the
/// listener, certificates read again, DNS, outgoing requests (dials,
/// lookups, reports, Keyyo's CTI socket) and the connection being refused
/// or made room for: an eighth of the limit, 64 at least.
pub fn default_max() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit(2) fills the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0
            && lim.rlim_cur != libc::RLIM_INFINITY
        {
            return usize::try_from(bound_for(lim.rlim_cur)).unwrap_or(usize::MAX);
        }
    }
    100_000
}

/// The connections kept under an open-file limit of `limit`.
#[cfg(any(unix, test))]
fn bound_for(limit: u64) -> u64 {
    let reserve = (limit / 8).max(64);
    limit.saturating_sub(reserve).max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_descriptors_keep_an_eighth_of_the_limit() {
        assert_eq!(bound_for(128), 64);
        assert_eq!(bound_for(1024), 896);
        assert_eq!(bound_for(65_536), 57_344);
        assert_eq!(bound_for(40), 16);
    }

    #[test]
    fn the_longest_idle_makes_room_and_busy_ones_stay() {
        let reg = Connections::new(2);
        let a = reg.admit().expect("a");
        let b = reg.admit().expect("b");
        b.conn.start();
        // Full: `a` (idle) is closed for `c`.
        let c = reg.admit().expect("c");
        assert_eq!(reg.len(), 2);
        c.conn.start();
        // Both busy: refused.
        assert!(reg.admit().is_none());
        b.conn.end();
        let d = reg.admit().expect("b is idle again");
        drop((a, d));
        assert_eq!(reg.len(), 1);
    }

    #[test]
    fn idle_ones_are_closed_past_the_limit_and_busy_ones_are_not() {
        let reg = Connections::new(10);
        let idle = reg.admit().expect("idle");
        let busy = reg.admit().expect("busy");
        busy.conn.start();
        assert_eq!(reg.close_idle(std::time::Duration::from_secs(3600)), 0);
        assert_eq!(reg.close_idle(std::time::Duration::ZERO), 1);
        assert_eq!(reg.len(), 1);
        // The one closed is told (the notice is kept until it looks).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(60), idle.conn.closed())
                .await
                .expect("told to close");
        });
        drop((idle, busy));
    }
}
