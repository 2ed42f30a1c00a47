//! The journal's writer: events queued by the runtime, written in
//! batches on a thread of their own, each acknowledged once committed.

use crate::model::clock::now_ms;
use crate::model::event::LineEvent;
use crate::store::journal::log::{Journal, BUSY_TIMEOUT, WAL_EVENTS};

/// The journal's writing side: events committed in batches (one
/// transaction per batch: a group commit) on the journal's own thread,
/// each with an acknowledgement sent once its transaction is committed or
/// has failed. The server answers a notification, and hands an event to
/// desks, only once it is committed ([`crate::store::ingest`]); its runtime never
/// touches the disk.
///
/// A batch is what the server gathered before it ran out of work: the
/// runtime tells the writer when it is about to wait ([`Idle`]), and the
/// thread then takes every event queued. Without that signal (a runtime
/// built elsewhere: the tests) the thread is woken by the first event,
/// and takes what came meanwhile. The thread waits for another process's
/// lock up to [`BUSY_TIMEOUT`]; it also copies the write-ahead log into the
/// journal, and, while the journal cannot be written, tries it again every
/// [`PROBE_EVERY`].
pub struct Writer {
    pub(super) shared: std::sync::Arc<Shared>,
}

/// What the server's tasks and the journal's thread share.
pub(crate) struct Shared {
    queue: std::sync::Mutex<Queue>,
    /// The thread waits on it for work.
    wake: std::sync::Condvar,
    /// Set while the journal cannot be written (a commit failed, and no
    /// probe has succeeded since): new notifications are refused at once.
    down: std::sync::atomic::AtomicBool,
    /// Whether the runtime says when it is idle ([`Idle`]); if not, the
    /// first event of a batch wakes the thread.
    told_idle: std::sync::atomic::AtomicBool,
    /// Events written (or not), whose waiters are told by a task on the
    /// runtime: one wake-up of the runtime per batch, not one per event.
    done: std::sync::Mutex<Vec<(Pending, bool)>>,
    written: tokio::sync::Notify,
    /// The thread has ended: nothing more is written.
    ended: std::sync::atomic::AtomicBool,
    /// How long an event waits for the runtime to be idle at most.
    hold: std::time::Duration,
    /// Batches taken when the runtime said it was idle.
    pub(super) idle_batches: std::sync::atomic::AtomicU64,
    /// Commit times, the queue's length: `/metrics`.
    metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
}

/// The events waiting for the thread, and what else it is asked.
#[derive(Default)]
pub(crate) struct Queue {
    events: Vec<Pending>,
    /// The thread may take the events now.
    go: bool,
    /// Asked to say when everything queued before is written.
    flushes: Vec<tokio::sync::oneshot::Sender<()>>,
    stop: bool,
    /// When the oldest event waiting was queued.
    since: Option<std::time::Instant>,
    /// `go` was said by the idle runtime.
    idle: bool,
}

/// An event, its time, and who waits for its commit (and gets the event
/// back with the answer: committed or not).
pub(crate) struct Pending {
    event: LineEvent,
    at: i64,
    ack: tokio::sync::oneshot::Sender<(bool, LineEvent)>,
}

impl Pending {
    fn answer(self, committed: bool) {
        let _ = self.ack.send((committed, self.event));
    }
}

/// Why an event was not journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
    /// The journal cannot be written at the moment.
    Down,
    /// The writer has stopped.
    Closed,
}

/// While the journal is down, how often the thread tries it again.
pub(crate) const PROBE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// How long the server must be quiet before the write-ahead log is copied
/// into the journal (a checkpoint): in quiet times rather than in the
/// middle of a burst of calls.
pub(crate) const SETTLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Events waiting for the thread at most; beyond, new ones are refused.
pub(crate) const QUEUE: usize = 65_536;

/// Events that make a batch whether or not the runtime is idle.
pub(crate) const FULL_BATCH: usize = 1024;

/// How long an event waits for the runtime to be idle at most: a runtime
/// that never runs out of work still has its events written.
pub(crate) const MAX_HOLD: std::time::Duration = std::time::Duration::from_millis(2);

/// Tells the journal's writer that the server's runtime has nothing left
/// to do and is about to wait: the events queued so far are the batch.
/// Called from the runtime's park hook (`serve::runtime`); until a
/// writer is bound to it, does nothing.
#[derive(Clone, Default)]
pub struct Idle(std::sync::Arc<std::sync::OnceLock<std::sync::Weak<Shared>>>);

impl Idle {
    /// The runtime is about to wait.
    pub fn now(&self) {
        if let Some(shared) = self.0.get().and_then(std::sync::Weak::upgrade) {
            let mut q = shared.lock_queue();
            if !q.events.is_empty() && !q.go {
                q.go = true;
                q.idle = true;
                shared.wake.notify_one();
            }
        }
    }
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Idle")
    }
}

impl Shared {
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Commits `batch` in one transaction and tells each waiter — a failure
/// only once `down` says so: whoever is told "not kept" sees new events
/// refused.
pub(crate) fn write_batch(journal: &Journal, batch: Vec<Pending>, shared: &Shared) {
    use std::sync::atomic::Ordering::SeqCst;
    let n = batch.len();
    let started = std::time::Instant::now();
    let recorded = journal.record_all(batch.iter().map(|p| (&p.event, p.at)));
    shared
        .metrics
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    let written = match recorded {
        Ok(()) => {
            if shared.down.swap(false, SeqCst) {
                tracing::warn!("the call journal can be written again");
            }
            true
        }
        Err(e) => {
            if !shared.down.swap(true, SeqCst) {
                tracing::error!(
                    "the call journal cannot be written ({e}): {n} call events refused; new notifications are answered 503 until it can"
                );
            }
            false
        }
    };
    shared
        .done
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(batch.into_iter().map(|p| (p, written)));
    shared.written.notify_one();
}

impl Writer {
    /// Starts the journal's thread on `journal` (shared with the readers);
    /// `idle`, when given, is the runtime's signal that a batch is
    /// complete.
    pub fn start(
        journal: std::sync::Arc<std::sync::Mutex<Journal>>,
        idle: Option<&Idle>,
        metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        Writer::start_holding(journal, idle, MAX_HOLD, metrics)
    }

    /// [`Writer::start`], an event waiting for the runtime's idle moment
    /// `hold` at most.
    pub(super) fn start_holding(
        journal: std::sync::Arc<std::sync::Mutex<Journal>>,
        idle: Option<&Idle>,
        hold: std::time::Duration,
        metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        use std::sync::atomic::Ordering::SeqCst;
        let shared = std::sync::Arc::new(Shared {
            queue: std::sync::Mutex::new(Queue::default()),
            wake: std::sync::Condvar::new(),
            down: std::sync::atomic::AtomicBool::new(false),
            told_idle: std::sync::atomic::AtomicBool::new(false),
            done: std::sync::Mutex::new(Vec::new()),
            written: tokio::sync::Notify::new(),
            ended: std::sync::atomic::AtomicBool::new(false),
            hold,
            idle_batches: std::sync::atomic::AtomicU64::new(0),
            metrics,
        });
        tokio::spawn(tell_waiters(shared.clone()));
        if let Some(idle) = idle {
            if idle.0.set(std::sync::Arc::downgrade(&shared)).is_ok() {
                shared.told_idle.store(true, SeqCst);
            }
        }
        let inner = shared.clone();
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_until_stopped(&inner, &journal))
            .expect("the journal thread starts");
        (Writer { shared }, handle)
    }

    /// Events waiting for the next commit.
    pub fn queued(&self) -> usize {
        self.shared.lock_queue().events.len()
    }

    /// Whether the journal cannot be written at the moment.
    pub fn is_down(&self) -> bool {
        self.shared.down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Journals `event` (its time taken now) with the other events of the
    /// moment; resolves to the event once its transaction is committed.
    /// Never touches the disk on the caller's thread. While the journal is
    /// down a new event is refused at once; a retry (`retrying`, the
    /// relay's) goes through, to find out whether it is back.
    pub async fn commit(&self, event: LineEvent, retrying: bool) -> Result<LineEvent, NotQueued> {
        use std::sync::atomic::Ordering::SeqCst;
        if !retrying && self.is_down() {
            return Err(NotQueued::Down);
        }
        let (ack, committed) = tokio::sync::oneshot::channel();
        {
            let mut q = self.shared.lock_queue();
            if q.stop {
                return Err(NotQueued::Closed);
            }
            if q.events.len() >= QUEUE {
                return Err(NotQueued::Down);
            }
            if q.events.is_empty() {
                q.since = Some(std::time::Instant::now());
            }
            // The event's time is when the server took it: the same for
            // the journal and for every desk, whenever it reads it.
            let mut event = event;
            if event.at <= 0 {
                event.at = now_ms();
            }
            q.events.push(Pending {
                at: event.at,
                event,
                ack,
            });
            let told_idle = self.shared.told_idle.load(SeqCst);
            if !q.go && (!told_idle || q.events.len() >= FULL_BATCH) {
                q.go = true;
                self.shared.wake.notify_one();
            }
        }
        match committed.await {
            Ok((true, event)) => Ok(event),
            Ok((false, _)) => Err(NotQueued::Down),
            Err(_) => Err(NotQueued::Closed),
        }
    }

    /// Writes what waits and stops the thread (join its handle to wait).
    pub fn finish(&self) {
        let mut q = self.shared.lock_queue();
        q.stop = true;
        self.shared.wake.notify_one();
    }

    /// Resolves once every event queued before is written.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        {
            let mut q = self.shared.lock_queue();
            if q.stop {
                return;
            }
            q.go = true;
            q.flushes.push(done);
            self.shared.wake.notify_one();
        }
        let _ = wait.await;
    }
}

/// Tells the waiters of each batch written, on the runtime; ends once the
/// thread has ended and its last batch is told.
async fn tell_waiters(shared: std::sync::Arc<Shared>) {
    use std::sync::atomic::Ordering::SeqCst;
    loop {
        shared.written.notified().await;
        let ended = shared.ended.load(SeqCst);
        let done = std::mem::take(&mut *shared.done.lock().unwrap_or_else(|p| p.into_inner()));
        for (p, written) in done {
            p.answer(written);
        }
        if ended {
            break;
        }
    }
}

/// What the thread takes from the queue at once.
struct Taken {
    batch: Vec<Pending>,
    flushes: Vec<tokio::sync::oneshot::Sender<()>>,
    stop: bool,
}

impl Shared {
    /// Waits for a batch (the runtime idle, a full batch, an event held
    /// long enough), a flush, the stop, or a quiet while; takes it.
    /// `room`: the largest batch so far, the next one's capacity.
    fn take(&self, room: &mut usize) -> Taken {
        use std::sync::atomic::Ordering::SeqCst;
        let mut q = self.lock_queue();
        let wait = if self.down.load(SeqCst) {
            PROBE_EVERY
        } else {
            SETTLE_AFTER
        };
        let since = std::time::Instant::now();
        while !(q.go || q.stop || !q.flushes.is_empty()) {
            let left = match q.since {
                Some(first) => self.hold.saturating_sub(first.elapsed()),
                None => wait.saturating_sub(since.elapsed()),
            };
            if left.is_zero() {
                break;
            }
            q = self
                .wake
                .wait_timeout(q, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if std::mem::take(&mut q.idle) && !q.events.is_empty() {
            self.idle_batches.fetch_add(1, SeqCst);
        }
        q.go = false;
        q.since = None;
        // The next batch starts as large as the largest so far: not grown
        // an event at a time.
        *room = (*room).max(q.events.len());
        let batch = if q.events.is_empty() {
            Vec::new()
        } else {
            std::mem::replace(&mut q.events, Vec::with_capacity(*room))
        };
        Taken {
            batch,
            flushes: std::mem::take(&mut q.flushes),
            stop: q.stop,
        }
    }
}

/// The journal's thread: batches written as they come, the journal probed
/// while it is down, the write-ahead log copied in quiet times; at the
/// stop, what is left, then a checkpoint for the road.
fn write_until_stopped(
    shared: &std::sync::Arc<Shared>,
    journal: &std::sync::Arc<std::sync::Mutex<Journal>>,
) {
    use std::sync::atomic::Ordering::SeqCst;
    let lock = || journal.lock().unwrap_or_else(|p| p.into_inner());
    let _ = lock().db.busy_timeout(BUSY_TIMEOUT);
    // Events written since the write-ahead log was last copied, and when
    // the last of them was.
    let mut unsettled: u64 = 0;
    let mut last_write = std::time::Instant::now();
    let mut room = 64;
    loop {
        let Taken {
            batch,
            flushes,
            stop,
        } = shared.take(&mut room);
        if !batch.is_empty() {
            let n = batch.len() as u64;
            write_batch(&lock(), batch, shared);
            if !shared.down.load(SeqCst) {
                unsettled += n;
                last_write = std::time::Instant::now();
            }
        } else if flushes.is_empty() && !stop {
            // Quiet (or down) for a while.
            let j = lock();
            if shared.down.load(SeqCst) {
                if j.probe().is_ok() {
                    // Up before it is said: whoever reads the line finds
                    // the journal taking events.
                    shared.down.store(false, SeqCst);
                    tracing::warn!("the call journal can be written again");
                }
            } else if unsettled > 0 && last_write.elapsed() >= SETTLE_AFTER {
                if let Err(e) = j.settle() {
                    tracing::warn!("journal checkpoint: {e}");
                }
                unsettled = 0;
            }
        }
        if unsettled >= WAL_EVENTS {
            // A long burst: the log is copied without waiting for a quiet
            // moment.
            if let Err(e) = lock().settle() {
                tracing::warn!("journal checkpoint: {e}");
            }
            unsettled = 0;
        }
        for done in flushes {
            let _ = done.send(());
        }
        if stop {
            break;
        }
    }
    // Whatever came with the stop, then a checkpoint for the road.
    let rest = std::mem::take(&mut shared.lock_queue().events);
    if !rest.is_empty() {
        write_batch(&lock(), rest, shared);
        unsettled += 1;
    }
    if unsettled > 0 {
        let _ = lock().settle();
    }
    shared.ended.store(true, SeqCst);
    shared.written.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;
    use crate::store::journal::log::tests::ev;

    /// Commits `n` events from as many tasks at once, on `journal` with a
    /// commit hook; the names of the threads each commit ran on.
    async fn commit_from_tasks(n: usize, idle: Option<&Idle>) -> (Vec<Option<String>>, u64) {
        let journal = Journal::in_memory().expect("journal");
        let threads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = threads.clone();
        journal.db.commit_hook(Some(move || {
            let name = std::thread::current().name().map(str::to_owned);
            seen.lock().expect("threads").push(name);
            false
        }));
        let journal = std::sync::Arc::new(std::sync::Mutex::new(journal));
        // An event would wait a minute for an idle moment that does not
        // come: no batch here is taken because time passed.
        let (writer, thread) = Writer::start_holding(
            journal.clone(),
            idle,
            std::time::Duration::from_secs(60),
            Default::default(),
        );
        let writer = std::sync::Arc::new(writer);
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move {
                    w.commit(ev(&format!("c{i}"), Event::Ring, "in"), false)
                        .await
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let event = t.await.expect("task").expect("committed");
            assert_eq!(event.callref, format!("c{i}"));
        }
        let idle_batches = writer
            .shared
            .idle_batches
            .load(std::sync::atomic::Ordering::SeqCst);
        writer.finish();
        thread.join().expect("journal thread");
        let j = journal.lock().expect("journal");
        let rows: i64 =
            j.db.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
                .expect("count");
        assert_eq!(rows, n as i64, "every event written once");
        let names = threads.lock().expect("threads").clone();
        (names, idle_batches)
    }

    /// The runtime that serves requests never writes the journal itself:
    /// every commit runs on the journal's thread.
    #[tokio::test(flavor = "current_thread")]
    async fn commits_run_on_the_journals_thread_never_the_runtimes() {
        let (names, _) = commit_from_tasks(50, None).await;
        assert!(!names.is_empty());
        assert!(
            names.iter().all(|n| n.as_deref() == Some("journal")),
            "{names:?}"
        );
    }

    /// On the server's runtime, which says when it is idle, the events
    /// gathered are written when it is (by the journal's thread).
    #[test]
    fn on_the_servers_runtime_a_batch_is_written_when_it_is_idle() {
        let idle = Idle::default();
        let rt = crate::infra::runtime::one_thread({
            let idle = idle.clone();
            move || idle.now()
        })
        .expect("runtime");
        let (names, idle_batches) = rt.block_on(commit_from_tasks(50, Some(&idle)));
        assert!(idle_batches >= 1, "no batch taken at an idle moment");
        assert!(
            names.iter().all(|n| n.as_deref() == Some("journal")),
            "{names:?}"
        );
    }
}
