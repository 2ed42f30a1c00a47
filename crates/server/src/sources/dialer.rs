//! The calls asked with `setevent`, placed on a thread of their own: one
//! [`Dialer`] built when the server starts (one HTTP client, `<cafile>`
//! read once), on a runtime of its own, so that the file work of a dial
//! (the token cache, the pace shared with the desks that dial directly,
//! OVH's clock offset) never holds up the server's thread, and a provider
//! that is slow to answer holds up nothing but its own calls.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use ctibridge_client::context::Context;
use ctibridge_client::dial::{DialRequest, Dialer, Outcome};
use ctibridge_client::failure::Failure;
use ctibridge_lang::config::Config;

/// Dials waiting for the thread at most; beyond, `setevent` is refused.
const QUEUE: usize = 1024;

/// One call to place, and where its outcome goes.
struct Job {
    line: String,
    request: DialRequest,
    reply: oneshot::Sender<Result<Outcome, Failure>>,
}

/// Why a call was not handed to the dial thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDialled {
    /// [`QUEUE`] calls already wait.
    Busy,
    /// The thread has stopped (the server is stopping).
    Stopped,
}

/// A thread or runtime that cannot be had.
fn cannot_start(e: std::io::Error) -> Failure {
    Failure::Network(ctibridge_lang::diag::Diagnostic::error(
        ctibridge_lang::diag::Code::Runtime,
        ctibridge_lang::source::Span::first_file(),
        format!("the dial thread cannot start: {e}"),
    ))
}

/// The server's side of the dial thread.
pub struct DialThread {
    jobs: mpsc::Sender<Job>,
}

impl DialThread {
    /// Builds the dialer of `config` and starts its thread; a bad
    /// `<cafile>` is reported at once. The thread ends once the
    /// [`DialThread`] is dropped and the calls in flight are done.
    pub fn start(config: Arc<Config>, context: Context) -> Result<DialThread, Failure> {
        let dialer = Arc::new(Dialer::new(config, context)?);
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(cannot_start)?;
        std::thread::Builder::new()
            .name("dialer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut calls = tokio::task::JoinSet::new();
                    while let Some(job) = queue.recv().await {
                        let dialer = dialer.clone();
                        calls.spawn(async move {
                            let placed = dialer.dial(&job.line, &job.request).await;
                            let _ = job.reply.send(placed);
                        });
                        // Calls done meanwhile are let go.
                        while calls.try_join_next().is_some() {}
                    }
                    while calls.join_next().await.is_some() {}
                });
            })
            .map_err(cannot_start)?;
        Ok(DialThread { jobs })
    }

    /// Places the call of `request` from `line` on the dial thread and
    /// waits for its outcome.
    pub async fn dial(
        &self,
        line: String,
        request: DialRequest,
    ) -> Result<Result<Outcome, Failure>, NotDialled> {
        let (reply, outcome) = oneshot::channel();
        self.jobs
            .try_send(Job {
                line,
                request,
                reply,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => NotDialled::Busy,
                mpsc::error::TrySendError::Closed(_) => NotDialled::Stopped,
            })?;
        outcome.await.map_err(|_| NotDialled::Stopped)
    }
}
